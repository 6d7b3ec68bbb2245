/* nfv.c — see nfv.h.
 *
 * Per instance, a small state machine driven by the event loop:
 *
 *   WAIT --(restart time reached: veths, fork/exec)--> RUNNING
 *   RUNNING: connect to the control socket (retried every tick until it
 *            exists), send the config when connected or changed
 *   RUNNING --(pidfd readable / waitpid says it exited)--> WAIT (back-off)
 *
 * Removed instances move to a 'dying' list: SIGTERM at once, SIGKILL when
 * still there NFV_SUP_KILL_MS later, reaped by the tick.
 */
#include "agent/nfv.h"
#include "agent/link.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/anet.pb-c.h"
#include "proto/nfv.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

LOG_MODULE(agent_nfv);

#define NFV_SUP_TICK_MS 500
#define NFV_SUP_BACKOFF_MIN_MS 200
#define NFV_SUP_BACKOFF_MAX_MS 10000
#define NFV_SUP_STABLE_MS 30000
#define NFV_SUP_KILL_MS 2000
#define NFV_SUP_REPLY_MAX (4u << 20)
#define NFV_SUP_PEER_SUFFIX "-n"

struct nfv_inst {
    struct nfv_sup *sup;
    struct agent_nfv want;          /* owned copy */
    pid_t pid;                      /* 0 when not running */
    int pidfd;                      /* -1 when none */
    struct event *pid_ev;
    struct bufferevent *ctl;        /* NULL when not connected */
    bool ctl_up;
    bool config_sent;               /* 'want.config' sent on this session */
    long long started_ms;
    long long restart_ms;           /* WAIT: start at this time */
    int backoff_ms;
    unsigned int n_starts;
    uint64_t applied;
    long long kill_ms;              /* dying: SIGKILL at this time */
    long long stats_ms;             /* last stats request */
    uint8_t *stats;                 /* last anet.nfv.NfvStats, packed */
    size_t stats_len;
    bool vhost;                     /* vhost-user ports, no veths */
};

struct nfv_sup {
    struct event_base *base;
    struct event *tick;
    struct nfv_inst **inst;
    size_t n_inst;
    struct nfv_inst **dying;
    size_t n_dying;
    char *program;
    char *rundir;
    bool vhost;                     /* new instances get vhost-user ports */
};

/* ---- desired-state values --------------------------------------------- */

static bool
agent_nfv_ifname_ok__(const char *s, size_t max)
{
    size_t len = strlen(s);
    return len > 0 && len <= max && !strchr(s, '/') && s[0] != '.';
}

void
agent_nfv_free(struct agent_nfv *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].name);
        for (size_t j = 0; j < v[i].n_ports; j++) {
            free(v[i].ports[j].iface);
        }
        free(v[i].ports);
        free(v[i].config);
    }
    free(v);
}

static void
agent_nfv_copy1__(struct agent_nfv *d, const struct agent_nfv *s)
{
    d->name = xstrdup(s->name);
    d->kind = s->kind;
    d->n_ports = s->n_ports;
    d->ports = xcalloc(s->n_ports ? s->n_ports : 1, sizeof *d->ports);
    for (size_t j = 0; j < s->n_ports; j++) {
        d->ports[j].iface = xstrdup(s->ports[j].iface);
        d->ports[j].ofport = s->ports[j].ofport;
    }
    d->config_len = s->config_len;
    d->config = xmalloc(s->config_len ? s->config_len : 1);
    memcpy(d->config, s->config, s->config_len);
}

struct agent_nfv *
agent_nfv_copy(const struct agent_nfv *src, size_t n)
{
    struct agent_nfv *v = xcalloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        agent_nfv_copy1__(&v[i], &src[i]);
    }
    return v;
}

bool
agent_nfv_from_proto(Anet__NfvInstance *const *m, size_t n,
                     struct agent_nfv **out, size_t *n_out, char **error)
{
    struct agent_nfv *v = xcalloc(n ? n : 1, sizeof *v);
    size_t k = 0;

    for (size_t i = 0; i < n; i++, k++) {
        const Anet__NfvInstance *mi = m[i];
        struct agent_nfv *a = &v[i];
        size_t want = mi->kind == ANET__NFV_INSTANCE__KIND__VAD ? 1 : 2;

        a->name = xstrdup(mi->name ? mi->name : "");
        a->kind = want == 1 ? AGENT_NFV_VAD : AGENT_NFV_VAF;
        a->ports = xcalloc(mi->n_ports ? mi->n_ports : 1, sizeof *a->ports);
        a->config_len = mi->config.len;
        a->config = xmalloc(mi->config.len ? mi->config.len : 1);
        memcpy(a->config, mi->config.data, mi->config.len);
        for (size_t j = 0; j < mi->n_ports; j++) {
            a->ports[j].iface = xstrdup(mi->ports[j]->iface
                                        ? mi->ports[j]->iface : "");
            a->ports[j].ofport = mi->ports[j]->ofport;
            a->n_ports++;
        }
        if (!agent_nfv_ifname_ok__(a->name, 64)) {
            *error = xasprintf("nfv instance %zu: invalid name '%s'", i,
                               a->name);
            goto error;
        }
        if (a->n_ports != want) {
            *error = xasprintf("nfv instance %s: a %s takes %zu port(s), not "
                               "%zu", a->name, want == 1 ? "vAD" : "vAF",
                               want, a->n_ports);
            goto error;
        }
        for (size_t j = 0; j < a->n_ports; j++) {
            /* Room for the peer's suffix within IFNAMSIZ. */
            if (!agent_nfv_ifname_ok__(a->ports[j].iface, IFNAMSIZ - 1
                                       - strlen(NFV_SUP_PEER_SUFFIX))) {
                *error = xasprintf("nfv instance %s: invalid port interface "
                                   "name '%s' (at most %zu characters)",
                                   a->name, a->ports[j].iface,
                                   IFNAMSIZ - 1
                                   - strlen(NFV_SUP_PEER_SUFFIX));
                goto error;
            }
        }
    }
    *out = v;
    *n_out = n;
    return true;

error:
    agent_nfv_free(v, k + 1);
    *out = NULL;
    *n_out = 0;
    return false;
}

/* ---- veths (libnl) ---------------------------------------------------------- */

static int
nfv_sup_nl_err__(int err)
{
    return err == -NLE_EXIST ? -EEXIST : err == -NLE_OBJ_NOTFOUND ? -ENODEV
           : err == -NLE_PERM ? -EPERM : -EIO;
}

/* Ensures the veth pair iface <-> iface-n, both up, TX offload off. */
static int
nfv_sup_veth_ensure__(const char *iface)
{
    char peer[IFNAMSIZ];
    int r = 0;

    snprintf(peer, sizeof peer, "%s%s", iface, NFV_SUP_PEER_SUFFIX);
    if (!link_exists(iface) || !link_exists(peer)) {
        struct nl_sock *sock = nl_socket_alloc();
        if (!sock) {
            return -ENOMEM;
        }
        int err = nl_connect(sock, NETLINK_ROUTE);
        if (!err) {
            err = rtnl_link_veth_add(sock, iface, peer, getpid());
        }
        nl_socket_free(sock);
        if (err < 0) {
            r = nfv_sup_nl_err__(err);
            LOG_WARN_RL("cannot create veth %s/%s: %s", iface, peer,
                        nl_geterror(err));
            return r;
        }
        LOG_INFO("created veth pair %s <-> %s", iface, peer);
    }
    const char *ends[] = { iface, peer };
    for (int i = 0; i < 2; i++) {
        int e = link_disable_tx_offload(ends[i]);
        if (e && e != -EOPNOTSUPP) {
            LOG_WARN_RL("cannot turn TX offload off on %s: %s", ends[i],
                        strerror(-e));
        }
        if ((e = link_set_up(ends[i]))) {
            LOG_WARN_RL("cannot set %s up: %s", ends[i], strerror(-e));
            r = e;
        }
    }
    return r;
}

static void
nfv_sup_veth_delete__(const char *iface)
{
    struct nl_sock *sock = nl_socket_alloc();
    if (!sock) {
        return;
    }
    if (!nl_connect(sock, NETLINK_ROUTE) && link_exists(iface)) {
        struct rtnl_link *link = rtnl_link_alloc();
        rtnl_link_set_name(link, iface);
        int err = rtnl_link_delete(sock, link);
        if (err < 0) {
            LOG_WARN_RL("cannot delete %s: %s", iface, nl_geterror(err));
        } else {
            LOG_INFO("deleted veth %s", iface);
        }
        rtnl_link_put(link);
    }
    nl_socket_free(sock);
}

/* ---- processes ----------------------------------------------------------- */

static char *
nfv_sup_ctl_path__(const struct nfv_sup *s, const char *name)
{
    return xasprintf("%s/%s.ctl", s->rundir, name);
}

static void
nfv_sup_ctl_close__(struct nfv_inst *in)
{
    if (in->ctl) {
        bufferevent_free(in->ctl);
        in->ctl = NULL;
    }
    in->ctl_up = false;
    in->config_sent = false;
}

static void
nfv_sup_pidfd_close__(struct nfv_inst *in)
{
    if (in->pid_ev) {
        event_free(in->pid_ev);
        in->pid_ev = NULL;
    }
    if (in->pidfd >= 0) {
        close(in->pidfd);
        in->pidfd = -1;
    }
}

/* The instance's process is gone (reaped): schedule a restart. */
static void
nfv_sup_exited__(struct nfv_inst *in, int status)
{
    long long now = time_msec();

    if (WIFSIGNALED(status)) {
        LOG_WARN("nfv %s (pid %d) killed by signal %d", in->want.name,
                 (int) in->pid, WTERMSIG(status));
    } else {
        LOG_WARN("nfv %s (pid %d) exited with status %d", in->want.name,
                 (int) in->pid, WEXITSTATUS(status));
    }
    in->pid = 0;
    in->applied = 0;
    nfv_sup_pidfd_close__(in);
    nfv_sup_ctl_close__(in);
    if (now - in->started_ms >= NFV_SUP_STABLE_MS) {
        in->backoff_ms = NFV_SUP_BACKOFF_MIN_MS;
    }
    in->restart_ms = now + in->backoff_ms;
    in->backoff_ms = in->backoff_ms * 2 > NFV_SUP_BACKOFF_MAX_MS
                     ? NFV_SUP_BACKOFF_MAX_MS : in->backoff_ms * 2;
}

/* Reaps the instance's process if it exited. */
static void
nfv_sup_check_child__(struct nfv_inst *in)
{
    int status;

    if (in->pid && waitpid(in->pid, &status, WNOHANG) == in->pid) {
        nfv_sup_exited__(in, status);
    }
}

static void
nfv_sup_pidfd_cb__(evutil_socket_t fd, short what, void *aux)
{
    nfv_sup_check_child__(aux);
}

static void nfv_sup_tick_inst__(struct nfv_inst *);

static void
nfv_sup_start__(struct nfv_inst *in)
{
    struct nfv_sup *s = in->sup;
    const struct agent_nfv *w = &in->want;
    char *ctl = nfv_sup_ctl_path__(s, w->name);
    char *prefix = xasprintf("anet-nfv-%s", w->name);
    char peers[2][IFNAMSIZ];
    char *socks[2] = { NULL, NULL };
    char *argv[16];
    int argc = 0;

    for (size_t i = 0; in->vhost && i < w->n_ports && i < 2; i++) {
        socks[i] = nfv_sup_vhost_path(s, w->ports[i].iface);
    }
    for (size_t i = 0; !in->vhost && i < w->n_ports; i++) {
        if (nfv_sup_veth_ensure__(w->ports[i].iface)) {
            in->restart_ms = time_msec() + in->backoff_ms;
            goto out;
        }
        snprintf(peers[i], sizeof peers[i], "%s%s", w->ports[i].iface,
                 NFV_SUP_PEER_SUFFIX);
    }
    argv[argc++] = s->program;
    argv[argc++] = "--name";
    argv[argc++] = w->name;
    argv[argc++] = "--kind";
    argv[argc++] = w->kind == AGENT_NFV_VAD ? "vad" : "vaf";
    for (size_t i = 0; i < w->n_ports; i++) {
        argv[argc++] = in->vhost ? "--vhost" : "--port";
        argv[argc++] = in->vhost ? socks[i] : peers[i];
    }
    argv[argc++] = "--ctl";
    argv[argc++] = ctl;
    argv[argc++] = "--file-prefix";
    argv[argc++] = prefix;
    argv[argc] = NULL;

    unlink(ctl);        /* a stale socket must not be mistaken for ready */
    pid_t pid = fork();
    if (pid < 0) {
        LOG_WARN_RL("nfv %s: fork: %s", w->name, strerror(errno));
        in->restart_ms = time_msec() + in->backoff_ms;
        goto out;
    }
    if (!pid) {
        /* The child: default signal dispositions, no inherited mask. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        if (strchr(argv[0], '/')) {
            execv(argv[0], argv);
        } else {
            execvp(argv[0], argv);
        }
        _exit(127);
    }
    in->pid = pid;
    in->n_starts++;
    in->started_ms = time_msec();
    LOG_INFO("nfv %s: started %s (pid %d, %s%s)", w->name, s->program,
             (int) pid, w->kind == AGENT_NFV_VAD ? "vad" : "vaf",
             in->vhost ? ", vhost-user" : "");
    in->pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
    if (in->pidfd >= 0) {
        in->pid_ev = event_new(s->base, in->pidfd, EV_READ | EV_PERSIST,
                               nfv_sup_pidfd_cb__, in);
        event_add(in->pid_ev, NULL);
    }
out:
    free(socks[0]);
    free(socks[1]);
    free(ctl);
    free(prefix);
}

/* ---- control connection ---------------------------------------------------- */

/* Sends NfvRequest{config = want.config}: field 1, length-delimited, so
 * the controller's bytes go through without re-encoding. */
static void
nfv_sup_send_config__(struct nfv_inst *in)
{
    struct evbuffer *out = bufferevent_get_output(in->ctl);
    uint8_t hdr[4 + 1 + 10];
    size_t len = in->want.config_len, n = 0, total;
    uint8_t varint[10];

    do {
        varint[n++] = (len & 0x7f) | (len > 0x7f ? 0x80 : 0);
        len >>= 7;
    } while (len);
    total = 1 + n + in->want.config_len;
    hdr[0] = total >> 24;
    hdr[1] = total >> 16;
    hdr[2] = total >> 8;
    hdr[3] = total;
    hdr[4] = 0x0a;                      /* field 1, wire type 2 */
    memcpy(hdr + 5, varint, n);
    evbuffer_add(out, hdr, 5 + n);
    evbuffer_add(out, in->want.config, in->want.config_len);
    in->config_sent = true;
}

static void
nfv_sup_ctl_read_cb__(struct bufferevent *bev, void *aux)
{
    struct nfv_inst *in = aux;
    struct evbuffer *buf = bufferevent_get_input(bev);
    uint8_t hdr[4];

    while (evbuffer_get_length(buf) >= 4) {
        evbuffer_copyout(buf, hdr, 4);
        uint32_t len = (uint32_t) hdr[0] << 24 | (uint32_t) hdr[1] << 16
                       | (uint32_t) hdr[2] << 8 | hdr[3];
        if (len > NFV_SUP_REPLY_MAX) {
            LOG_WARN_RL("nfv %s: %u-byte reply; closing", in->want.name, len);
            nfv_sup_ctl_close__(in);
            return;
        }
        if (evbuffer_get_length(buf) < 4 + (size_t) len) {
            return;
        }
        evbuffer_drain(buf, 4);
        Anet__Nfv__NfvReply *r = anet__nfv__nfv_reply__unpack(
            NULL, len, evbuffer_pullup(buf, len));
        evbuffer_drain(buf, len);
        if (!r) {
            LOG_WARN_RL("nfv %s: undecodable reply; closing", in->want.name);
            nfv_sup_ctl_close__(in);
            return;
        }
        if (r->error && r->error[0]) {
            LOG_WARN_RL("nfv %s: %s", in->want.name, r->error);
        } else if (r->applied_generation != in->applied) {
            LOG_INFO("nfv %s: config generation %"PRIu64" applied",
                     in->want.name, r->applied_generation);
        }
        in->applied = r->applied_generation;
        if (r->stats) {
            free(in->stats);
            in->stats_len = anet__nfv__nfv_stats__get_packed_size(r->stats);
            in->stats = xmalloc(in->stats_len + 1);
            anet__nfv__nfv_stats__pack(r->stats, in->stats);
        }
        anet__nfv__nfv_reply__free_unpacked(r, NULL);
    }
}

static void
nfv_sup_ctl_event_cb__(struct bufferevent *bev, short what, void *aux)
{
    struct nfv_inst *in = aux;

    if (what & BEV_EVENT_CONNECTED) {
        in->ctl_up = true;
        LOG_INFO("nfv %s: control socket connected", in->want.name);
        nfv_sup_send_config__(in);
        return;
    }
    if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
        /* Not there yet, or the process is going: retried by the tick. */
        nfv_sup_ctl_close__(in);
    }
}

static void
nfv_sup_ctl_connect__(struct nfv_inst *in)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    char *path = nfv_sup_ctl_path__(in->sup, in->want.name);
    struct stat st;

    if (strlen(path) < sizeof sun.sun_path && !stat(path, &st)
        && S_ISSOCK(st.st_mode)) {
        strcpy(sun.sun_path, path);
        in->ctl = bufferevent_socket_new(in->sup->base, -1,
                                         BEV_OPT_CLOSE_ON_FREE);
        bufferevent_setcb(in->ctl, nfv_sup_ctl_read_cb__, NULL,
                          nfv_sup_ctl_event_cb__, in);
        bufferevent_enable(in->ctl, EV_READ | EV_WRITE);
        if (bufferevent_socket_connect(in->ctl, (struct sockaddr *) &sun,
                                       sizeof sun)) {
            nfv_sup_ctl_close__(in);
        }
    }
    free(path);
}

/* ---- instances --------------------------------------------------------------- */

static void
nfv_sup_tick_inst__(struct nfv_inst *in)
{
    nfv_sup_check_child__(in);
    if (!in->pid) {
        if (time_msec() >= in->restart_ms) {
            nfv_sup_start__(in);
        }
        return;
    }
    if (!in->ctl) {
        nfv_sup_ctl_connect__(in);
    } else if (in->ctl_up && !in->config_sent) {
        nfv_sup_send_config__(in);
    } else if (in->ctl_up && time_msec() - in->stats_ms >= NFV_SUP_STATS_MS) {
        /* NfvRequest{stats = {}}: field 2, empty; the reply refreshes
         * what the heartbeat reports. */
        static const uint8_t req[] = { 0, 0, 0, 2, 0x12, 0x00 };
        evbuffer_add(bufferevent_get_output(in->ctl), req, sizeof req);
        in->stats_ms = time_msec();
    }
}

static void
nfv_sup_inst_free__(struct nfv_inst *in)
{
    nfv_sup_ctl_close__(in);
    nfv_sup_pidfd_close__(in);
    free(in->want.name);
    for (size_t j = 0; j < in->want.n_ports; j++) {
        free(in->want.ports[j].iface);
    }
    free(in->want.ports);
    free(in->want.config);
    free(in->stats);
    free(in);
}

/* Removes 'in' from service: SIGTERM, veths deleted, reaped later. */
static void
nfv_sup_retire__(struct nfv_sup *s, struct nfv_inst *in)
{
    LOG_INFO("nfv %s: stopping", in->want.name);
    nfv_sup_ctl_close__(in);
    for (size_t j = 0; j < in->want.n_ports; j++) {
        if (in->vhost) {
            /* The process serves the socket; its file stays behind. */
            char *sock = nfv_sup_vhost_path(s, in->want.ports[j].iface);
            unlink(sock);
            free(sock);
        } else {
            nfv_sup_veth_delete__(in->want.ports[j].iface);
        }
    }
    char *ctl = nfv_sup_ctl_path__(s, in->want.name);
    unlink(ctl);
    free(ctl);
    if (!in->pid) {
        nfv_sup_inst_free__(in);
        return;
    }
    kill(in->pid, SIGTERM);
    in->kill_ms = time_msec() + NFV_SUP_KILL_MS;
    s->dying = xrealloc(s->dying, (s->n_dying + 1) * sizeof *s->dying);
    s->dying[s->n_dying++] = in;
}

static void
nfv_sup_reap_dying__(struct nfv_sup *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_dying; i++) {
        struct nfv_inst *in = s->dying[i];
        if (waitpid(in->pid, NULL, WNOHANG) == in->pid
            || (kill(in->pid, 0) && errno == ESRCH)) {
            nfv_sup_inst_free__(in);
            continue;
        }
        if (time_msec() >= in->kill_ms) {
            kill(in->pid, SIGKILL);
        }
        s->dying[k++] = in;
    }
    s->n_dying = k;
}

static void
nfv_sup_tick_cb__(evutil_socket_t fd, short what, void *aux)
{
    struct nfv_sup *s = aux;

    for (size_t i = 0; i < s->n_inst; i++) {
        nfv_sup_tick_inst__(s->inst[i]);
    }
    nfv_sup_reap_dying__(s);
}

/* Same process needed (kind and ports), only the config may differ? */
static bool
nfv_sup_same_shape__(const struct agent_nfv *a, const struct agent_nfv *b)
{
    if (a->kind != b->kind || a->n_ports != b->n_ports) {
        return false;
    }
    for (size_t j = 0; j < a->n_ports; j++) {
        if (strcmp(a->ports[j].iface, b->ports[j].iface)) {
            return false;
        }
    }
    return true;
}

void
nfv_sup_sync(struct nfv_sup *s, const struct agent_nfv *want, size_t n)
{
    struct nfv_inst **next = xcalloc(n ? n : 1, sizeof *next);

    for (size_t i = 0; i < n; i++) {
        const struct agent_nfv *w = &want[i];
        struct nfv_inst *in = NULL;

        for (size_t j = 0; j < s->n_inst; j++) {
            if (s->inst[j] && !strcmp(s->inst[j]->want.name, w->name)) {
                in = s->inst[j];
                s->inst[j] = NULL;
                break;
            }
        }
        if (in && (!nfv_sup_same_shape__(&in->want, w)
                   || in->vhost != s->vhost)) {
            nfv_sup_retire__(s, in);    /* kind or ports changed */
            in = NULL;
        }
        if (!in) {
            in = xzalloc(sizeof *in);
            in->sup = s;
            in->vhost = s->vhost;
            in->pidfd = -1;
            in->backoff_ms = NFV_SUP_BACKOFF_MIN_MS;
            agent_nfv_copy1__(&in->want, w);
        } else if (in->want.config_len != w->config_len
                   || memcmp(in->want.config, w->config, w->config_len)) {
            free(in->want.config);
            in->want.config_len = w->config_len;
            in->want.config = xmalloc(w->config_len ? w->config_len : 1);
            memcpy(in->want.config, w->config, w->config_len);
            in->config_sent = false;
            LOG_INFO("nfv %s: config changed", w->name);
        }
        for (size_t j = 0; !in->vhost && j < in->want.n_ports; j++) {
            nfv_sup_veth_ensure__(in->want.ports[j].iface);
        }
        next[i] = in;
    }
    for (size_t j = 0; j < s->n_inst; j++) {
        if (s->inst[j]) {
            nfv_sup_retire__(s, s->inst[j]);
        }
    }
    free(s->inst);
    s->inst = next;
    s->n_inst = n;
    for (size_t i = 0; i < n; i++) {
        nfv_sup_tick_inst__(s->inst[i]);
    }
}

/* ---- supervisor ---------------------------------------------------------------- */

void
nfv_sup_set_vhost(struct nfv_sup *s, bool on)
{
    if (s->vhost != on) {
        LOG_INFO("NFV instance ports: %s", on ? "vhost-user (OVS-DPDK)"
                                              : "veth pairs");
    }
    s->vhost = on;
}

bool
nfv_sup_vhost(const struct nfv_sup *s)
{
    return s->vhost;
}

char *
nfv_sup_vhost_path(const struct nfv_sup *s, const char *iface)
{
    return xasprintf("%s/%s.sock", s->rundir, iface);
}

static char *
nfv_sup_find_program__(void)
{
    const char *env = getenv("ANET_NFV_PROGRAM");
    char self[PATH_MAX];
    ssize_t n;

    if (env && env[0]) {
        return xstrdup(env);
    }
    n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *p = xasprintf("%s/anet-nfv", dirname(self));
        if (!access(p, X_OK)) {
            return p;
        }
        free(p);
    }
    return xstrdup("anet-nfv");
}

struct nfv_sup *
nfv_sup_create(struct event_base *base)
{
    struct nfv_sup *s = xzalloc(sizeof *s);
    const char *rundir = getenv("ANET_NFV_RUNDIR");
    struct timeval tv = { 0, NFV_SUP_TICK_MS * 1000 };

    s->base = base;
    s->program = nfv_sup_find_program__();
    s->rundir = xstrdup(rundir && rundir[0] ? rundir : "/run/anet-nfv");
    if (mkdir(s->rundir, 0700) && errno != EEXIST) {
        LOG_WARN("cannot create %s: %s", s->rundir, strerror(errno));
    }
    s->tick = event_new(base, -1, EV_PERSIST, nfv_sup_tick_cb__, s);
    event_add(s->tick, &tv);
    return s;
}

void
nfv_sup_destroy(struct nfv_sup *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n_inst; i++) {
        nfv_sup_retire__(s, s->inst[i]);
    }
    /* Wait (bounded) for the processes to exit: the agent is stopping. */
    for (int i = 0; i < (NFV_SUP_KILL_MS + 1000) / 50 && s->n_dying; i++) {
        nfv_sup_reap_dying__(s);
        if (s->n_dying) {
            usleep(50 * 1000);
        }
    }
    free(s->inst);
    free(s->dying);
    event_free(s->tick);
    free(s->program);
    free(s->rundir);
    free(s);
}

static const struct nfv_inst *
nfv_sup_find__(const struct nfv_sup *s, const char *name)
{
    for (size_t i = 0; i < s->n_inst; i++) {
        if (!strcmp(s->inst[i]->want.name, name)) {
            return s->inst[i];
        }
    }
    return NULL;
}

int
nfv_sup_pid(const struct nfv_sup *s, const char *name)
{
    const struct nfv_inst *in = nfv_sup_find__(s, name);
    return in ? in->pid : 0;
}

unsigned int
nfv_sup_n_starts(const struct nfv_sup *s, const char *name)
{
    const struct nfv_inst *in = nfv_sup_find__(s, name);
    return in ? in->n_starts : 0;
}

uint64_t
nfv_sup_applied(const struct nfv_sup *s, const char *name)
{
    const struct nfv_inst *in = nfv_sup_find__(s, name);
    return in ? in->applied : 0;
}

size_t
nfv_sup_status(const struct nfv_sup *s, struct nfv_sup_status *out,
               size_t max)
{
    size_t n = 0;
    for (size_t i = 0; s && i < s->n_inst && n < max; i++) {
        const struct nfv_inst *in = s->inst[i];
        out[n++] = (struct nfv_sup_status) {
            .name = in->want.name, .kind = in->want.kind,
            .pid = in->pid, .n_starts = in->n_starts,
            .applied = in->applied, .stats = in->stats,
            .stats_len = in->stats_len,
        };
    }
    return n;
}
