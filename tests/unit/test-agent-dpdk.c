/* test-agent-dpdk.c — the ovs back-end on an OVS-DPDK host, against a
 * real, private ovs-vswitchd built with DPDK (ovs-vswitchd-dpdk), with
 * ovs-vsctl as the oracle:
 *
 *   - the Open_vSwitch other_config keys (dpdk-init, dpdk-socket-mem,
 *     pmd-cpu-mask, dpdk-lcore-mask, pmd-maxsleep, dpdk-extra with a file
 *     prefix of the host's own) are written and DPDK initialises;
 *   - a vhost-user port becomes a dpdkvhostuserclient interface with its
 *     vhost-server-path, a veth workload port and the underlay become
 *     type=dpdk ports through net_af_packet vdevs, and OVS opens them;
 *   - a later socket_mem change is applied but reported as waiting for a
 *     restart, pmd-maxsleep changes at once, a CPU mask naming a CPU the
 *     machine lacks is refused;
 *   - with the plain ovs-vswitchd, a DPDK host gets a clear "not built with
 *     DPDK" error, and a host without dpdk is left exactly as before (no
 *     other_config keys, system interfaces).
 *
 * The test runs in private network and mount namespaces (its own veths
 * and hugetlbfs mount), raises nr_hugepages by what it needs and lowers
 * it back by as much at the end.  It skips with a message when
 * ovs-vswitchd-dpdk is not installed or hugepages cannot be reserved.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "agent/agent-dp.h"
#include "agent/dp-ovs-dpdk.h"
#include "lib/util.h"
#include "tests/unit/support/ovs-sandbox.h"
#include "tests/unit/support/test-util.h"

#define DPDK_VSWITCHD "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
#define TEST_HOST "anetdpdktest"
#define TEST_SOCKET_MEM 128             /* MiB */
#define TEST_PAGES (TEST_SOCKET_MEM / 2 + 32)
#define NR_HUGEPAGES DP_OVS_DPDK_HUGEPAGES "/nr_hugepages"

static long pages_added;                /* our nr_hugepages increment */
static struct fixture *running;         /* stopped by the group teardown
                                         * when a test failed midway */
static struct fixture fx;               /* static: outlives a failed test */

/* --- pure checks ------------------------------------------------------- */

static void
test_check_mask(void **state)
{
    (void) state;
    assert_null(dp_ovs_dpdk_check_mask("0x3", "0-1\n"));
    assert_null(dp_ovs_dpdk_check_mask("0x2", "0-3,6"));
    assert_null(dp_ovs_dpdk_check_mask("0x40", "0-3,6"));
    char *why = dp_ovs_dpdk_check_mask("0x4", "0-1\n");
    assert_string_equal(why, "CPU 2 (this machine has CPUs 0-1)");
    free(why);
    why = dp_ovs_dpdk_check_mask("0x1a0", "0-3,6");
    assert_string_equal(why, "CPUs 5, 7, 8 (this machine has CPUs 0-3,6)");
    free(why);
    why = dp_ovs_dpdk_check_mask("0x2", "0");
    assert_string_equal(why, "CPU 1 (this machine has CPU 0)");
    free(why);
}

static void
test_check_hugepages(void **state)
{
    (void) state;
    assert_null(dp_ovs_dpdk_check_hugepages(512, 256, 256));
    assert_null(dp_ovs_dpdk_check_hugepages(3, 2, 2));
    char *why = dp_ovs_dpdk_check_hugepages(512, 100, 300);
    assert_non_null(strstr(why, "not enough free 2 MiB hugepages for "
                           "socket_mem 512 MiB: DPDK needs 256, 100 are free "
                           "(nr_hugepages 300)"));
    assert_non_null(strstr(why, "nr_hugepages to at least 456"));
    free(why);
    char *da = dp_ovs_dpdk_devargs(7, "veth1");
    assert_string_equal(da, "net_af_packet7,iface=veth1");
    free(da);
}

/* --- against a private OVS ----------------------------------------------- */

struct fixture {
    struct ovs_sandbox sb;
    struct event_base *base;
    struct agent_dp *dp;
    struct agent_desired *d;
};

static long
read_nr_hugepages(void)
{
    const char *s = test_output("cat " NR_HUGEPAGES " 2>/dev/null");
    return *s ? strtol(s, NULL, 10) : -1;
}

static void
release_hugepages(void)
{
    if (pages_added > 0) {
        long now = read_nr_hugepages();
        test_run("echo %ld > " NR_HUGEPAGES,
                 now > pages_added ? now - pages_added : 0);
        pages_added = 0;
    }
}

/* Raises nr_hugepages by TEST_PAGES; false when the kernel refuses. */
static bool
reserve_hugepages(void)
{
    long before = read_nr_hugepages();
    if (before < 0) {
        return false;
    }
    test_run("echo %ld > " NR_HUGEPAGES, before + TEST_PAGES);
    pages_added = read_nr_hugepages() - before;
    atexit(release_hugepages);
    return pages_added == TEST_PAGES;
}

static void
ports_changed(void *aux)
{
    (void) aux;
}

/* A desired state for TEST_HOST: underlay ul0, a veth port "ve-a"
 * (ofport 7) and a vhost-user port "vm1" (ofport 8, the VM's socket in the
 * sandbox directory). */
static struct agent_desired *
make_desired(const char *dir, bool dpdk)
{
    struct agent_desired *d = agent_desired_create();
    free(d->host_name);
    free(d->tunnel_ip);
    free(d->underlay_iface);
    d->generation = 1;
    d->host_name = xstrdup(TEST_HOST);
    d->tunnel_ip = xstrdup("10.200.0.11/24");
    d->underlay_iface = xstrdup("ul0");
    d->tunnel_ofport = 4000;
    if (dpdk) {
        d->dpdk = (struct agent_dpdk) {
            .enabled = true, .socket_mem = TEST_SOCKET_MEM,
            .pmd_cpu_mask = "0x2", .lcore_mask = "0x1",
            .pmd_maxsleep_us = 500, .af_packet = true,
        };
    }
    d->n_ports = dpdk ? 2 : 1;
    d->ports = xcalloc(2, sizeof *d->ports);
    d->ports[0] = (struct agent_port) {
        .name = xstrdup("web1"), .iface = xstrdup("ve-a"),
        .mac = xstrdup("0a:00:00:00:00:01"), .switch_name = xstrdup("web"),
        .ofport = 7, .socket = xstrdup(""),
    };
    if (dpdk) {
        d->ports[1] = (struct agent_port) {
            .name = xstrdup("vm1"), .iface = xstrdup("vm1"),
            .mac = xstrdup("0a:00:00:00:00:02"), .switch_name = xstrdup("web"),
            .ofport = 8, .kind = AGENT_PORT_VHOST_USER,
            .socket = xasprintf("%s/vm1.sock", dir),
        };
    }
    return d;
}

/* Private namespaces, veths, an empty database (no Open_vSwitch row: the
 * agent must cope, as on a freshly installed host) and 'vswitchd' on it,
 * the ovs back-end. */
static int
fixture_start(struct fixture *f, const char *vswitchd)
{
    memset(f, 0, sizeof *f);
    if (ovs_sandbox_init(&f->sb, "dpk") || ovs_sandbox_start_db(&f->sb)
        || test_run("%s unix:%s/db.sock --pidfile=%s/ovs-vswitchd.pid "
                    "--detach --log-file=%s/ovs-vswitchd.log 2>/dev/null",
                    vswitchd, f->sb.dir, f->sb.dir, f->sb.dir)) {
        ovs_sandbox_stop(&f->sb);
        return -1;
    }
    running = f;
    f->base = event_base_new();
    struct agent_dp_config cfg = {
        .ovs_rundir = f->sb.dir, .bridge = "br-int",
        .underlay_bridge = "br-phy",
    };
    assert_int_equal(agent_dp_ovs_class.create(f->base, &cfg, ports_changed,
                                               NULL, &f->dp), 0);
    return 0;
}

static void
fixture_stop(struct fixture *f)
{
    running = NULL;
    if (f->dp) {
        agent_dp_ovs_class.destroy(f->dp);
    }
    agent_desired_destroy(f->d);
    if (f->base) {
        event_base_free(f->base);
    }
    ovs_sandbox_stop(&f->sb);
    test_run("rm -rf /var/run/dpdk/anet-" TEST_HOST);
}

static int
apply(struct fixture *f, char **error)
{
    struct agent_apply_stats st;
    *error = NULL;
    return agent_dp_ovs_class.apply(f->dp, f->d, NULL, &st, error);
}

static const char *
vsctl(const char *args)
{
    return test_output("ovs-vsctl %s 2>&1", args);
}

/* ovs-vswitchd numbers and opens ports a moment after the transaction:
 * waits up to 5 s for 'args' to print 'want', then asserts it. */
static void
wait_vsctl(const char *args, const char *want)
{
    for (int i = 0; i < 100 && strcmp(vsctl(args), want); i++) {
        usleep(50000);
    }
    assert_string_equal(vsctl(args), want);
}

static void
test_dpdk_host(void **state)
{
    (void) state;
    struct fixture *const fp = &fx;
#define f (*fp)
    char *error;

    if (access(DPDK_VSWITCHD, X_OK)) {
        print_message("SKIP: %s is missing (install the Debian package "
                      "openvswitch-switch-dpdk)\n", DPDK_VSWITCHD);
        skip();
    }
    if (!reserve_hugepages()) {
        release_hugepages();
        print_message("SKIP: cannot reserve %d hugepages of 2 MiB\n",
                      TEST_PAGES);
        skip();
    }
    test_run("ip link del ve-a 2>/dev/null; ip link del ul0 2>/dev/null");
    assert_int_equal(test_run("ip link add ve-a type veth peer name ve-a-p"
                              " && ip link add ul0 type veth peer name ul0-p"
                              " && ip link set ve-a up && ip link set ve-a-p "
                              "up && ip link set ul0 up && ip link set ul0-p "
                              "up"), 0);
    assert_int_equal(fixture_start(&f, DPDK_VSWITCHD), 0);
    f.d = make_desired(f.sb.dir, true);

    int r = apply(&f, &error);
    if (r) {
        fprintf(stderr, "apply: %s\n%s\n", error,
                test_output("tail -20 %s/ovs-vswitchd.log", f.sb.dir));
    }
    assert_int_equal(r, 0);
    assert_null(error);

    /* The other_config keys, and DPDK running. */
    assert_string_equal(vsctl("get Open_vSwitch . dpdk_initialized"), "true");
    assert_string_equal(vsctl("get Open_vSwitch . other_config:dpdk-init"),
                        "\"true\"");
    assert_string_equal(vsctl("get Open_vSwitch . "
                              "other_config:dpdk-socket-mem"), "\"128\"");
    assert_string_equal(vsctl("get Open_vSwitch . "
                              "other_config:pmd-cpu-mask"), "\"0x2\"");
    assert_string_equal(vsctl("get Open_vSwitch . "
                              "other_config:dpdk-lcore-mask"), "\"0x1\"");
    assert_string_equal(vsctl("get Open_vSwitch . "
                              "other_config:pmd-maxsleep"), "\"500\"");
    assert_string_equal(vsctl("get Open_vSwitch . other_config:dpdk-extra"),
                        "\"--file-prefix=anet-" TEST_HOST " --no-pci\"");
    /* The hugepage ceiling equals socket_mem. */
    assert_string_equal(vsctl("get Open_vSwitch . "
                              "other_config:dpdk-socket-limit"), "\"128\"");

    /* The ports: types, options, and OVS opened them (ofport > 0). */
    assert_string_equal(vsctl("get Interface vm1 type"),
                        "dpdkvhostuserclient");
    char *want = xasprintf("\"%s/vm1.sock\"", f.sb.dir);
    assert_string_equal(vsctl("get Interface vm1 "
                              "options:vhost-server-path"), want);
    free(want);
    wait_vsctl("get Interface vm1 ofport", "8");
    assert_string_equal(vsctl("get Interface ve-a type"), "dpdk");
    assert_string_equal(vsctl("get Interface ve-a options:dpdk-devargs"),
                        "\"net_af_packet7,iface=ve-a\"");
    wait_vsctl("get Interface ve-a ofport", "7");
    assert_string_equal(vsctl("get Interface ve-a error"), "[]");
    assert_string_equal(vsctl("port-to-br ul0"), "br-phy");
    assert_string_equal(vsctl("get Interface ul0 type"), "dpdk");
    assert_string_equal(vsctl("get Interface ul0 options:dpdk-devargs"),
                        "\"net_af_packet0,iface=ul0\"");
    for (int i = 0; i < 100 && atoi(vsctl("get Interface ul0 ofport")) <= 0;
         i++) {
        usleep(50000);          /* opened: a positive ofport */
    }
    assert_true(atoi(vsctl("get Interface ul0 ofport")) > 0);
    assert_string_equal(vsctl("get Interface ul0 error"), "[]");
    assert_string_equal(vsctl("get Bridge br-int datapath_type"), "netdev");

    /* The port status the agent reports. */
    struct agent_port_status ps[2];
    agent_dp_ovs_class.port_status(f.dp, f.d, ps);
    assert_true(ps[0].up);
    assert_int_equal(ps[0].ofport, 7);
    assert_true(ps[1].up);
    assert_int_equal(ps[1].ofport, 8);

    /* The operator's own dpdk-extra is kept; pmd-maxsleep changes at
     * once; socket_mem waits for a restart, and the apply says so. */
    assert_int_equal(test_run("ovs-vsctl set Open_vSwitch . "
                              "other_config:dpdk-extra=--no-telemetry"), 0);
    f.d->dpdk.pmd_maxsleep_us = 300;
    f.d->dpdk.socket_mem = 256;
    r = apply(&f, &error);
    assert_int_equal(r, 0);
    assert_non_null(error);
    assert_non_null(strstr(error, "dpdk-socket-mem 128 -> 256 take effect "
                           "only when ovs-vswitchd restarts"));
    free(error);
    assert_string_equal(vsctl("get Open_vSwitch . "
                              "other_config:pmd-maxsleep"), "\"300\"");
    assert_string_equal(vsctl("get Open_vSwitch . "
                              "other_config:dpdk-socket-mem"), "\"256\"");
    assert_string_equal(vsctl("get Open_vSwitch . other_config:dpdk-extra"),
                        "\"--no-telemetry\"");

    /* A CPU this machine lacks: refused before anything is written. */
    f.d->dpdk.socket_mem = TEST_SOCKET_MEM;
    snprintf(f.d->dpdk.pmd_cpu_mask, sizeof f.d->dpdk.pmd_cpu_mask,
             "0x10000000000");
    r = apply(&f, &error);
    assert_int_equal(r, -EINVAL);
    assert_non_null(strstr(error, "pmd_cpu_mask 0x10000000000 names CPU 40 "
                           "(this machine has CPU"));
    assert_non_null(strstr(error, "fix hosts." TEST_HOST
                           ".dpdk.pmd_cpu_mask"));
    free(error);
    assert_string_equal(vsctl("get Open_vSwitch . "
                              "other_config:pmd-cpu-mask"), "\"0x2\"");

    fixture_stop(&f);
    test_run("ip link del ve-a; ip link del ul0");
    release_hugepages();
#undef f
}

static void
test_plain_vswitchd(void **state)
{
    (void) state;
    struct fixture *const fp = &fx;
#define f (*fp)
    char *error;

    if (!ovs_sandbox_available()) {
        print_message("SKIP: Open vSwitch is not installed\n");
        skip();
    }
    test_run("ip link del ve-a 2>/dev/null; ip link del ul0 2>/dev/null");
    assert_int_equal(test_run("ip link add ve-a type veth peer name ve-a-p"
                              " && ip link set ve-a up"), 0);
    assert_int_equal(fixture_start(&f, "ovs-vswitchd"), 0);

    /* A DPDK host on a switch without DPDK: a clear error, nothing
     * written. */
    f.d = make_desired(f.sb.dir, true);
    int r = apply(&f, &error);
    assert_int_equal(r, -ENOTSUP);
    assert_non_null(strstr(error, "ovs-vswitchd on host " TEST_HOST " is "
                           "not built with DPDK"));
    assert_non_null(strstr(error, "openvswitch-switch-dpdk"));
    free(error);
    assert_string_equal(vsctl("get Open_vSwitch . other_config"), "{}");

    /* Without dpdk: today's behaviour, no DPDK key, a system port. */
    agent_desired_destroy(f.d);
    f.d = make_desired(f.sb.dir, false);
    r = apply(&f, &error);
    assert_int_equal(r, 0);
    assert_null(error);
    assert_string_equal(vsctl("get Open_vSwitch . other_config"), "{}");
    assert_string_equal(vsctl("get Interface ve-a type"), "\"\"");
    assert_string_equal(vsctl("get Interface ve-a options"), "{}");
    wait_vsctl("get Interface ve-a ofport", "7");

    fixture_stop(&f);
    test_run("ip link del ve-a");
#undef f
}

static int
group_setup(void **state)
{
    (void) state;
    /* Own network namespace (veths, the netdev datapath's tap) and own
     * mount namespace (hugetlbfs, gone with the namespace). */
    if (unshare(CLONE_NEWNET | CLONE_NEWNS)) {
        perror("unshare (the test must run as root)");
        return -1;
    }
    test_run("ip link set lo up");
    test_run("mount --make-rprivate / && mkdir -p /dev/hugepages "
             "&& mount -t hugetlbfs nodev /dev/hugepages");
    return 0;
}

static int
group_teardown(void **state)
{
    (void) state;
    if (running) {
        fixture_stop(running);
    }
    release_hugepages();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_mask),
        cmocka_unit_test(test_check_hugepages),
        cmocka_unit_test(test_dpdk_host),
        cmocka_unit_test(test_plain_vswitchd),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
