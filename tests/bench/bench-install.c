/* bench-install.c — benchmark row 4: flow install into a real ovs-vswitchd.
 *
 * What: starts a private ovsdb-server + ovs-vswitchd (userspace datapath)
 * inside a network namespace of its own (the netdev datapath creates an
 * "ovs-netdev" tap device that would clash with other instances), creates
 * one bridge with ovs-vsctl (a peer tool, allowed in benchmarks), and
 * measures on the same switch in the same run:
 *
 *   a. anet: ofconn_sync() of 100k flows into an empty table (one bundle);
 *   b. ovs-ofctl -O OpenFlow15 --bundle add-flows of the same flows, as the
 *      text flow_format() prints;
 *   c. a 1% change (1000 flows added, modified or removed) applied with
 *      ofconn_apply_delta(), with ofconn_sync() (dump + diff + bundle), and
 *      with ovs-ofctl --bundle replace-flows of the changed table;
 *   d. ovs-vswitchd's VmRSS / VmHWM after the loads.
 *
 * Every measurement runs 3 times (best and median reported).  The flows are
 * synthetic but shaped like the compiler's L2 pipeline: per port a classify
 * flow (in_port -> metadata, reg14), a port-security flow (reg14 + dl_src),
 * an L2 lookup (metadata + dl_dst -> reg15) and an output flow (metadata +
 * reg15 -> output), 25k ports = 100k flows.
 *
 * Output: human-readable lines plus "RESULT key=value" lines for
 * scripts/bench.  The program exits non-zero only when something breaks
 * (a daemon does not start, a load fails, or the switch's table is not what
 * was installed); never on a threshold.
 *
 * Usage: bench-install [N_FLOWS]   (default 100000, rounded down to 4k)
 */
#include "datapath/flow.h"
#include "datapath/ofconn.h"
#include "lib/util.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BI_REPS 3
#define BI_SCHEMA "/usr/share/openvswitch/vswitch.ovsschema"

static char bi_dir[64];          /* run dir, also the OVS_* dirs */
static char bi_ns[48];           /* network namespace */
static char bi_env[512];         /* "env OVS_RUNDIR=... " prefix */
static char bi_target[128];      /* unix:DIR/br0.mgmt */
static bool bi_ns_created;

static double
bi_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Runs a shell command; returns its exit status (or -1). */
static int bi_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int
bi_sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    va_start(ap, fmt);
    if (vasprintf(&cmd, fmt, ap) < 0) {
        va_end(ap);
        return -1;
    }
    va_end(ap);
    int rc = system(cmd);
    free(cmd);
    return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void
bi_cleanup(void)
{
    if (!bi_dir[0]) {
        return;
    }
    /* Both daemons by pid file, then wait up to ~3 s, then SIGKILL. */
    bi_sh("for f in %s/ovs-vswitchd.pid %s/ovsdb-server.pid; do "
          "[ -f $f ] && kill $(cat $f) 2>/dev/null; done; "
          "for i in $(seq 30); do alive=0; for f in %s/*.pid; do "
          "[ -f $f ] && kill -0 $(cat $f) 2>/dev/null && alive=1; done; "
          "[ $alive = 0 ] && break; sleep 0.1; done; "
          "for f in %s/*.pid; do [ -f $f ] && kill -9 $(cat $f) 2>/dev/null; "
          "done; true", bi_dir, bi_dir, bi_dir, bi_dir);
    if (bi_ns_created) {
        bi_sh("ip netns delete %s 2>/dev/null; true", bi_ns);
    }
    bi_sh("rm -rf %s", bi_dir);
    bi_dir[0] = '\0';
}

static void
bi_on_signal(int sig)
{
    bi_cleanup();
    _exit(128 + sig);
}

static void bi_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void
bi_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench-install: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    if (bi_dir[0]) {
        bi_sh("tail -n 5 %s/ovs-vswitchd.log >&2 2>/dev/null; true", bi_dir);
    }
    exit(1);
}

static void
bi_start_ovs(void)
{
    snprintf(bi_dir, sizeof bi_dir, "/tmp/anet-bi-%d", (int) getpid());
    snprintf(bi_ns, sizeof bi_ns, "anet-bi-%d", (int) getpid());
    snprintf(bi_env, sizeof bi_env,
             "env OVS_RUNDIR=%s OVS_LOGDIR=%s OVS_DBDIR=%s OVS_SYSCONFDIR=%s "
             "OVS_PKGDATADIR=/usr/share/openvswitch", bi_dir, bi_dir, bi_dir,
             bi_dir);
    snprintf(bi_target, sizeof bi_target, "unix:%s/br0.mgmt", bi_dir);
    if (bi_sh("rm -rf %s && mkdir -p %s", bi_dir, bi_dir)) {
        bi_die("cannot create %s", bi_dir);
    }
    if (bi_sh("ip netns add %s", bi_ns)) {
        bi_die("cannot create network namespace %s", bi_ns);
    }
    bi_ns_created = true;
    bi_sh("ip -n %s link set lo up", bi_ns);
    if (bi_sh("%s ovsdb-tool create %s/conf.db %s", bi_env, bi_dir, BI_SCHEMA)
        || bi_sh("ip netns exec %s %s ovsdb-server %s/conf.db "
                 "--remote=punix:%s/db.sock --pidfile=%s/ovsdb-server.pid "
                 "--unixctl=%s/ovsdb-server.ctl "
                 "--log-file=%s/ovsdb-server.log --detach </dev/null",
                 bi_ns, bi_env, bi_dir, bi_dir, bi_dir, bi_dir, bi_dir)
        || bi_sh("%s ovs-vsctl --db=unix:%s/db.sock --no-wait init", bi_env,
                 bi_dir)) {
        bi_die("cannot start ovsdb-server");
    }
    if (bi_sh("ip netns exec %s %s ovs-vswitchd unix:%s/db.sock "
              "--pidfile=%s/ovs-vswitchd.pid --unixctl=%s/ovs-vswitchd.ctl "
              "--log-file=%s/ovs-vswitchd.log --disable-system --detach "
              "</dev/null", bi_ns, bi_env, bi_dir, bi_dir, bi_dir, bi_dir)) {
        bi_die("cannot start ovs-vswitchd");
    }
    if (bi_sh("%s ovs-vsctl --db=unix:%s/db.sock --timeout=20 add-br br0 "
              "-- set bridge br0 datapath_type=netdev fail_mode=secure "
              "protocols=OpenFlow10,OpenFlow13,OpenFlow15", bi_env, bi_dir)) {
        bi_die("cannot create bridge br0");
    }
    /* vswitchd creates the management socket while reconfiguring. */
    for (int i = 0; i < 100; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/br0.mgmt", bi_dir);
        if (!access(path, F_OK)) {
            return;
        }
        usleep(50 * 1000);
    }
    bi_die("no %s/br0.mgmt", bi_dir);
}

static pid_t
bi_vswitchd_pid(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/ovs-vswitchd.pid", bi_dir);
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (f) {
        if (fscanf(f, "%d", &pid) != 1) {
            pid = 0;
        }
        fclose(f);
    }
    return pid;
}

/* VmRSS and VmHWM of 'pid' in KiB. */
static void
bi_mem_kb(pid_t pid, long *rss, long *hwm)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    *rss = *hwm = -1;
    FILE *f = fopen(path, "r");
    if (!f) {
        return;
    }
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "VmRSS: %ld", rss);
        sscanf(line, "VmHWM: %ld", hwm);
    }
    fclose(f);
}

/* --- flows ----------------------------------------------------------- */

static uint64_t
bi_mac(size_t i)
{
    return 0x0a0000000000ULL | (i + 1);
}

static void
bi_add(struct flow_set *s, struct flow *f)
{
    flow_set_take(s, f);
}

/* The four flows of port 'i' (see the file comment).  'out_port' lets the
 * 1% change modify the output flow's action. */
static void
bi_port_flows(struct flow_set *s, size_t i, bool only_l2,
              uint32_t out_port)
{
    uint32_t ofport = i + 1;
    uint64_t sw = i / 20 + 1;
    struct flow f;

    if (!only_l2) {
        flow_init(&f, 0, 100, (0ULL << 32) | i);
        flow_match_set(&f.match, FF_IN_PORT, ofport, 0);
        flow_set_field(&f, FF_METADATA, sw);
        flow_set_field(&f, FF_REG14, ofport);
        flow_resubmit(&f, 10);
        bi_add(s, &f);

        flow_init(&f, 10, 100, (10ULL << 32) | i);
        flow_match_set(&f.match, FF_ETH_SRC, bi_mac(i), 0);
        flow_match_set(&f.match, FF_REG14, ofport, 0);
        flow_resubmit(&f, 20);
        bi_add(s, &f);
    }

    flow_init(&f, 30, 100, (30ULL << 32) | i);
    flow_match_set(&f.match, FF_METADATA, sw, 0);
    flow_match_set(&f.match, FF_ETH_DST, bi_mac(i), 0);
    flow_set_field(&f, FF_REG15, ofport);
    flow_resubmit(&f, 70);
    bi_add(s, &f);

    if (!only_l2) {
        flow_init(&f, 70, 100, (70ULL << 32) | i);
        flow_match_set(&f.match, FF_METADATA, sw, 0);
        flow_match_set(&f.match, FF_REG15, ofport, 0);
        flow_output(&f, out_port);
        bi_add(s, &f);
    }
}

/* 'base': 4 flows per port.  'changed': the same with N/250 output flows
 * modified, N/333 L2 flows removed and as many new L2 flows added (1% of N
 * in total).  Both sorted. */
static void
bi_build(size_t n_ports, struct flow_set *base, struct flow_set *changed,
         size_t *n_mod, size_t *n_del, size_t *n_add)
{
    size_t n = n_ports * 4;
    *n_mod = n * 4 / 1000;
    *n_del = n * 3 / 1000;
    *n_add = n * 3 / 1000;

    for (size_t i = 0; i < n_ports; i++) {
        bi_port_flows(base, i, false, i + 1);
    }
    for (size_t i = 0; i < n_ports; i++) {
        bi_port_flows(changed, i, false, i < *n_mod ? i + 1 + 30000 : i + 1);
    }
    for (size_t i = 0; i < *n_add; i++) {
        bi_port_flows(changed, n_ports + i, true, 0);
    }
    flow_set_sort(base);
    flow_set_sort(changed);

    /* Remove the L2 flows of ports [n_mod, n_mod + n_del) from 'changed'. */
    size_t out = 0;
    for (size_t i = 0; i < changed->n; i++) {
        struct flow *f = &changed->flows[i];
        size_t port = f->cookie & 0xffffffffu;
        if (f->table == 30 && port >= *n_mod && port < *n_mod + *n_del) {
            flow_destroy(f);
            continue;
        }
        changed->flows[out++] = *f;
    }
    changed->n = out;
}

struct bi_delta {
    const struct flow **add, **mod, **del;
    size_t n_add, n_mod, n_del;
};

static void
bi_delta_cb(void *aux, const struct flow *o, const struct flow *n)
{
    struct bi_delta *d = aux;
    if (!o) {
        d->add[d->n_add++] = n;
    } else if (!n) {
        d->del[d->n_del++] = o;
    } else {
        d->mod[d->n_mod++] = n;
    }
}

static void
bi_write_text(const struct flow_set *s, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        bi_die("cannot write %s: %s", path, strerror(errno));
    }
    for (size_t i = 0; i < s->n; i++) {
        char *t = flow_format(&s->flows[i]);
        fprintf(f, "%s\n", t);
        free(t);
    }
    if (fclose(f)) {
        bi_die("cannot write %s", path);
    }
}

/* --- measurements ---------------------------------------------------- */

static int
bi_cmp_double(const void *a_, const void *b_)
{
    double a = *(const double *) a_, b = *(const double *) b_;
    return a < b ? -1 : a > b;
}

static void
bi_stats(double v[BI_REPS], double *best, double *median)
{
    qsort(v, BI_REPS, sizeof *v, bi_cmp_double);
    *best = v[0];
    *median = v[BI_REPS / 2];
}

/* Number of flows the switch holds (ovs-ofctl as the independent oracle). */
static long
bi_flow_count(void)
{
    char cmd[512], line[512];
    long n = -1;
    snprintf(cmd, sizeof cmd, "ovs-ofctl -O OpenFlow15 dump-aggregate %s",
             bi_target);
    FILE *p = popen(cmd, "r");
    if (!p) {
        return -1;
    }
    while (fgets(line, sizeof line, p)) {
        char *s = strstr(line, "flow_count=");
        if (s) {
            n = strtol(s + 11, NULL, 10);
        }
    }
    pclose(p);
    return n;
}

static void
bi_clear(void)
{
    if (bi_sh("ovs-ofctl -O OpenFlow15 del-flows %s", bi_target)) {
        bi_die("ovs-ofctl del-flows failed");
    }
}

static void
bi_expect_count(long want, const char *after)
{
    long n = bi_flow_count();
    if (n != want) {
        bi_die("after %s the switch holds %ld flows, expected %ld", after, n,
               want);
    }
}

static void
bi_sync(struct ofconn *c, const struct flow_set *s, const char *what)
{
    int error = ofconn_sync(c, s, NULL);
    if (error) {
        bi_die("ofconn_sync (%s): %s", what, strerror(-error));
    }
}

static void
bi_result(const char *key, double v)
{
    printf("RESULT %s=%.3f\n", key, v);
}

int
main(int argc, char *argv[])
{
    size_t n_flows = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    size_t n_ports = n_flows / 4;
    struct flow_set base, changed;
    size_t n_mod, n_del, n_add;
    double t[BI_REPS], best, med;
    char base_txt[128], changed_txt[128];
    long rss, hwm;

    if (n_ports < 250) {
        fprintf(stderr, "usage: %s [N_FLOWS >= 1000]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGINT, bi_on_signal);
    signal(SIGTERM, bi_on_signal);
    signal(SIGPIPE, SIG_IGN);
    atexit(bi_cleanup);

    flow_set_init(&base);
    flow_set_init(&changed);
    bi_build(n_ports, &base, &changed, &n_mod, &n_del, &n_add);
    n_flows = base.n;

    bi_start_ovs();
    pid_t vpid = bi_vswitchd_pid();
    snprintf(base_txt, sizeof base_txt, "%s/base.txt", bi_dir);
    snprintf(changed_txt, sizeof changed_txt, "%s/changed.txt", bi_dir);
    bi_write_text(&base, base_txt);
    bi_write_text(&changed, changed_txt);

    struct ofconn *c = ofconn_open(bi_target, 60000);
    if (!c) {
        bi_die("ofconn_open %s: %s", bi_target, strerror(errno));
    }
    bi_mem_kb(vpid, &rss, &hwm);
    printf("row 4: flow install into ovs-vswitchd (netdev), %zu flows; "
           "1%% change = %zu modified + %zu removed + %zu added\n",
           n_flows, n_mod, n_del, n_add);
    printf("  vswitchd empty: VmRSS %ld KiB, VmHWM %ld KiB\n", rss, hwm);
    bi_result("install_flows", n_flows);
    bi_result("install_vswitchd_empty_rss_kb", rss);

    /* (a) anet full load. */
    for (int r = 0; r < BI_REPS; r++) {
        bi_clear();
        double t0 = bi_now_ms();
        bi_sync(c, &base, "full load");
        t[r] = bi_now_ms() - t0;
        bi_expect_count(n_flows, "ofconn_sync");
    }
    {
        /* The codec round trip: what the switch holds is what we sent. */
        struct flow_set dumped;
        flow_set_init(&dumped);
        int error = ofconn_dump_flows(c, &dumped, NULL);
        if (error) {
            bi_die("ofconn_dump_flows: %s", strerror(-error));
        }
        bool eq = flow_set_equal(&dumped, &base);
        flow_set_destroy(&dumped);
        if (!eq) {
            bi_die("the dumped table differs from the installed flows");
        }
    }
    bi_stats(t, &best, &med);
    bi_mem_kb(vpid, &rss, &hwm);
    double anet_rate = n_flows / (best / 1e3);
    printf("  anet ofconn_sync full load: best %.1f ms, median %.1f ms "
           "= %.0f flow-mods/s (best)\n", best, med, anet_rate);
    printf("  vswitchd after anet load: VmRSS %ld KiB, VmHWM %ld KiB\n",
           rss, hwm);
    bi_result("install_anet_full_ms", best);
    bi_result("install_anet_full_median_ms", med);
    bi_result("install_anet_flowmods_per_s", anet_rate);
    bi_result("install_vswitchd_rss_anet_kb", rss);
    bi_result("install_vswitchd_hwm_anet_kb", hwm);

    /* (b) ovs-ofctl --bundle add-flows of the same flows. */
    for (int r = 0; r < BI_REPS; r++) {
        bi_clear();
        double t0 = bi_now_ms();
        if (bi_sh("ovs-ofctl -O OpenFlow15 --bundle add-flows %s %s "
                  "2>>%s/ofctl.log",
                  bi_target, base_txt, bi_dir)) {
            bi_die("ovs-ofctl --bundle add-flows failed");
        }
        t[r] = bi_now_ms() - t0;
        bi_expect_count(n_flows, "ovs-ofctl add-flows");
    }
    bi_stats(t, &best, &med);
    bi_mem_kb(vpid, &rss, &hwm);
    double ofctl_rate = n_flows / (best / 1e3);
    printf("  ovs-ofctl --bundle add-flows: best %.1f ms, median %.1f ms "
           "= %.0f flow-mods/s (best)\n", best, med, ofctl_rate);
    printf("  vswitchd after ovs-ofctl load: VmRSS %ld KiB, VmHWM %ld KiB\n",
           rss, hwm);
    printf("  ratio anet/ovs-ofctl (flow-mods/s): %.2fx\n",
           anet_rate / ofctl_rate);
    bi_result("install_ofctl_full_ms", best);
    bi_result("install_ofctl_full_median_ms", med);
    bi_result("install_ofctl_flowmods_per_s", ofctl_rate);
    bi_result("install_vswitchd_rss_ofctl_kb", rss);
    bi_result("install_vswitchd_hwm_ofctl_kb", hwm);

    /* (c) the 1% change, three ways, each from the base table. */
    struct bi_delta d = {
        .add = xcalloc(changed.n + 1, sizeof *d.add),
        .mod = xcalloc(changed.n + 1, sizeof *d.mod),
        .del = xcalloc(base.n + 1, sizeof *d.del),
    };
    flow_set_diff(&base, &changed, bi_delta_cb, &d);
    if (d.n_add != n_add || d.n_mod != n_mod || d.n_del != n_del) {
        bi_die("internal: delta is +%zu ~%zu -%zu", d.n_add, d.n_mod,
               d.n_del);
    }
    {
        /* ovs-ofctl parsed flow_format()'s text into the same rules: a sync
         * to the typed set finds nothing to change. */
        struct ofconn_sync_stats st;
        int error = ofconn_sync(c, &base, &st);
        if (error) {
            bi_die("ofconn_sync after ovs-ofctl: %s", strerror(-error));
        }
        printf("  ovs-ofctl's table vs anet's flows: %u added, %u modified, "
               "%u removed by a sync (0/0/0 = the same rules)\n", st.added,
               st.modified, st.removed);
    }
    for (int r = 0; r < BI_REPS; r++) {
        double t0 = bi_now_ms();
        int error = ofconn_apply_delta(c, d.add, d.n_add, d.mod, d.n_mod,
                                       d.del, d.n_del);
        t[r] = bi_now_ms() - t0;
        if (error) {
            bi_die("ofconn_apply_delta: %s", strerror(-error));
        }
        if (!r) {
            struct flow_set dumped;
            flow_set_init(&dumped);
            error = ofconn_dump_flows(c, &dumped, NULL);
            bool eq = !error && flow_set_equal(&dumped, &changed);
            flow_set_destroy(&dumped);
            if (!eq) {
                bi_die("after ofconn_apply_delta the table is not the "
                       "changed set");
            }
        }
        bi_sync(c, &base, "restore");
    }
    bi_stats(t, &best, &med);
    double delta_ms = best;
    printf("  anet ofconn_apply_delta 1%%: best %.2f ms, median %.2f ms\n",
           best, med);
    bi_result("install_anet_delta1pct_ms", best);
    bi_result("install_anet_delta1pct_median_ms", med);

    for (int r = 0; r < BI_REPS; r++) {
        struct ofconn_sync_stats st;
        double t0 = bi_now_ms();
        int error = ofconn_sync(c, &changed, &st);
        t[r] = bi_now_ms() - t0;
        if (error) {
            bi_die("ofconn_sync 1%%: %s", strerror(-error));
        }
        if (st.added != n_add || st.modified != n_mod
            || st.removed != n_del) {
            bi_die("ofconn_sync 1%% sent +%u ~%u -%u", st.added, st.modified,
                   st.removed);
        }
        bi_sync(c, &base, "restore");
    }
    bi_stats(t, &best, &med);
    printf("  anet ofconn_sync 1%% (dump + diff + bundle): best %.2f ms, "
           "median %.2f ms\n", best, med);
    bi_result("install_anet_sync1pct_ms", best);
    bi_result("install_anet_sync1pct_median_ms", med);

    for (int r = 0; r < BI_REPS; r++) {
        double t0 = bi_now_ms();
        if (bi_sh("ovs-ofctl -O OpenFlow15 --bundle replace-flows %s %s "
                  "2>>%s/ofctl.log",
                  bi_target, changed_txt, bi_dir)) {
            bi_die("ovs-ofctl --bundle replace-flows failed");
        }
        t[r] = bi_now_ms() - t0;
        if (!r) {
            bi_expect_count(changed.n, "ovs-ofctl replace-flows");
        }
        bi_sync(c, &base, "restore");
    }
    bi_stats(t, &best, &med);
    printf("  ovs-ofctl --bundle replace-flows 1%%: best %.2f ms, "
           "median %.2f ms\n", best, med);
    printf("  ratio ovs-ofctl/anet (1%% change time, delta): %.2fx\n",
           best / delta_ms);
    bi_result("install_ofctl_replace1pct_ms", best);
    bi_result("install_ofctl_replace1pct_median_ms", med);
    bi_mem_kb(vpid, &rss, &hwm);
    bi_result("install_vswitchd_rss_end_kb", rss);
    bi_result("install_vswitchd_hwm_end_kb", hwm);

    free(d.add);
    free(d.mod);
    free(d.del);
    ofconn_close(c);
    flow_set_destroy(&base);
    flow_set_destroy(&changed);
    bi_cleanup();
    return 0;
}
