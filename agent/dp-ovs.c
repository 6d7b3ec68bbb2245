/* dp-ovs.c — the Open vSwitch datapath back-end.
 *
 * An apply runs these steps in order, stopping at the first hard failure:
 *
 *   0. OVS-DPDK (only on a host with dpdk settings; dp-ovs-dpdk.c): check
 *      the CPU masks and free hugepages, write the other_config keys, wait
 *      for DPDK to initialise, report what needs a vswitchd restart.
 *   1. underlay: br-phy holding the underlay interface (when it exists),
 *      both links up, the host's tunnel IP on br-phy.  Netlink failures here
 *      are not fatal (local forwarding does not need the underlay); they are
 *      retried by every reconcile tick until they succeed.
 *   2. br-int with its Geneve port (bridge_ensure_integration()).
 *   3. workload ports: every bound interface that exists gets TX checksum
 *      offload off and is made a port of br-int; the others are left out
 *      (and reported down) until the link watch sees them appear.  The
 *      NFV instances (nfv.h) are synced first: their veths are made, and
 *      the host sides join the same port list; the processes start and get
 *      their configs from the event loop.
 *   4. flows: ofconn_sync(), one atomic bundle, only the difference.
 *   5. br-int external_ids:anet-generation = N, so a restarted agent tells
 *      the controller what it already has.
 *
 * Connections are made lazily and remade after failures: an OVSDB or
 * OpenFlow error other than a server-side refusal closes the connection and
 * the next apply or reconcile tick reopens it.  The reconcile tick re-runs
 * steps 2-4 against the last applied state; all of them are idempotent and
 * write nothing when OVS already matches, so this only repairs (e.g. a
 * restarted ovs-vswitchd gets its flows back).  Nothing is ever flushed.
 *
 * The back-end also owns the packet path (pkt.h): a second, non-blocking
 * OpenFlow connection to the bridge that answers DHCP and sends ICMP errors
 * for the packets the pipeline hands to the agent.  It connects on its own
 * (with backoff) and follows the packet actions of the state last handed
 * to apply() or reconcile().  The neighbours it learns by ARP are reported
 * through the ports-changed callback (the core then sends a heartbeat that
 * carries them) and read with the neighbors op.
 *
 * The flow_stats op dumps br-int's flows with their counters (at most every
 * DP_OVS_STATS_MIN_MS, otherwise it answers the cached figures) and sums
 * them per cookie for the Heartbeat: the controller maps cookies back to
 * the rules they were compiled from.
 */
#include "agent/agent-dp.h"
#include "agent/dp-ovs-dpdk.h"
#include "agent/link.h"
#include "agent/nfv.h"
#include "agent/pkt.h"
#include "datapath/bridge.h"
#include "datapath/ofconn.h"
#include "datapath/ovsdb.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

LOG_MODULE(dp_ovs);

#define DP_OVS_DB_TIMEOUT_MS 5000
#define DP_OVS_OF_TIMEOUT_MS 5000
#define DP_OVS_OF_OPEN_WAIT_MS 5000     /* mgmt socket appears after br add */
#define DP_OVS_LINK_WAIT_MS 3000        /* br-phy's internal iface appears */
#define DP_OVS_GEN_KEY "anet-generation"
#define DP_OVS_STATS_MIN_MS 2000        /* flow counters are cached this long */

struct dp_ovs {
    struct agent_dp up;
    char *db_target;                /* "unix:RUNDIR/db.sock" */
    char *of_target;                /* "unix:RUNDIR/BRIDGE.mgmt" */
    char *bridge;
    char *underlay_bridge;
    struct ovsdb_client *db;        /* NULL when not connected */
    struct ofconn *of;              /* NULL when not connected */
    struct link_watch *watch;       /* NULL if netlink failed: poll instead */
    struct pkt_path *pkt;           /* packet-ins and their replies */
    agent_dp_ports_changed_cb *ports_changed;
    void *aux;
    const struct agent_desired *desired;   /* last handed to apply() */
    bool underlay_done;             /* step 1 fully done for 'desired' */
    /* True while the bridge's flow table is known to equal the last applied
     * generation (set by a successful full sync or delta, cleared whenever
     * the OpenFlow connection is reopened: a restarted ovs-vswitchd may hold
     * anything).  Only then may a delta be applied without a dump. */
    bool flows_in_sync;
    /* Per-cookie flow counters of the last dump, refreshed at most every
     * DP_OVS_STATS_MIN_MS (a dump is cheap at these table sizes, but every
     * heartbeat and port change asks). */
    struct agent_flow_stats *stats;
    size_t n_stats;
    long long stats_msec;           /* time of the last dump attempt */
    struct dp_ovs_dpdk dpdk;        /* what DPDK runs with (dp-ovs-dpdk.h) */
    struct nfv_sup *nfv;            /* the host's NFV instances (nfv.h) */
};

static struct dp_ovs *
dp_ovs_cast__(struct agent_dp *dp)
{
    return CONTAINER_OF(dp, struct dp_ovs, up);
}

static void
dp_ovs_sleep_ms__(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void
dp_ovs_set_error__(char **error, const char *fmt, const char *what, int r)
{
    if (error && !*error) {
        *error = xasprintf(fmt, what, strerror(-r));
    }
}

/* ---- connections -------------------------------------------------------- */

static struct ovsdb_client *
dp_ovs_db__(struct dp_ovs *o)
{
    if (!o->db) {
        o->db = ovsdb_client_open(o->db_target, DP_OVS_DB_TIMEOUT_MS);
        if (!o->db) {
            LOG_WARN_RL("cannot connect to OVSDB at %s: %s", o->db_target,
                        strerror(errno));
        } else {
            LOG_INFO("connected to OVSDB at %s", o->db_target);
        }
    }
    return o->db;
}

/* After an OVSDB call failed with 'r': a refusal by the server or a "not
 * found" leaves the session usable; anything else (timeout, reset, ...)
 * means it is gone, so drop it and reconnect next time. */
static void
dp_ovs_db_error__(struct dp_ovs *o, int r)
{
    if (r && r != -EPROTO && r != -ENOENT && r != -EAGAIN && r != -ENODEV
        && r != -EINVAL) {
        LOG_WARN_RL("OVSDB session to %s lost (%s); reconnecting",
                    o->db_target, strerror(-r));
        ovsdb_client_destroy(o->db);
        o->db = NULL;
    }
}

static void
dp_ovs_of_error__(struct dp_ovs *o, int r)
{
    if (r && r != -EPROTO) {
        LOG_WARN_RL("OpenFlow connection to %s lost (%s); reconnecting",
                    o->of_target, strerror(-r));
        ofconn_close(o->of);
        o->of = NULL;
        /* ovs-vswitchd probably restarted: DPDK re-read its settings. */
        dp_ovs_dpdk_forget(&o->dpdk);
    }
    if (r) {
        o->flows_in_sync = false;
    }
}

/* Opens the OpenFlow connection, retrying for up to 'wait_ms': after a
 * bridge is added, ovs-vswitchd creates its mgmt socket a moment later. */
static int
dp_ovs_of_open__(struct dp_ovs *o, int wait_ms)
{
    long long deadline = time_msec() + wait_ms;
    int err;

    if (o->of) {
        return 0;
    }
    for (;;) {
        o->of = ofconn_open(o->of_target, DP_OVS_OF_TIMEOUT_MS);
        if (o->of) {
            o->flows_in_sync = false;
            LOG_INFO("connected to OpenFlow at %s", o->of_target);
            return 0;
        }
        err = errno ? errno : EIO;
        if (time_msec() >= deadline) {
            LOG_WARN_RL("cannot connect to OpenFlow at %s: %s",
                        o->of_target, strerror(err));
            return -err;
        }
        dp_ovs_sleep_ms__(100);
    }
}

static bool
dp_ovs_iface_exists__(const struct dp_ovs *o, const char *ifname)
{
    return o->watch ? link_watch_exists(o->watch, ifname)
                    : link_exists(ifname);
}

/* ---- steps ----------------------------------------------------------- */

/* Step 1.  Returns 0 or -errno for an OVSDB failure (hard); netlink trouble
 * only leaves o->underlay_done false so that the reconcile retries. */
static int
dp_ovs_underlay__(struct dp_ovs *o, const struct agent_desired *d,
                  char **error)
{
    const char *iface = NULL;
    bool complete = true;
    int r;

    if (!d->tunnel_ip[0] && !d->underlay_iface[0]) {
        o->underlay_done = true;
        return 0;
    }
    if (d->underlay_iface[0]) {
        if (link_exists(d->underlay_iface)) {
            iface = d->underlay_iface;
        } else {
            LOG_WARN_RL("underlay interface %s does not exist (yet)",
                        d->underlay_iface);
            complete = false;
        }
    }
    if (iface && d->dpdk.enabled && d->dpdk.af_packet) {
        /* An OVS-DPDK host: the underlay is a poll-mode port too. */
        char *devargs = dp_ovs_dpdk_devargs(DP_OVS_DPDK_UNDERLAY_VDEV, iface);
        const char *opts[] = { "dpdk-devargs", devargs, NULL };
        r = link_disable_tx_offload(iface);
        if (r && r != -EOPNOTSUPP && r != -ENODEV) {
            LOG_WARN_RL("cannot turn TX offload off on %s: %s", iface,
                        strerror(-r));
        }
        r = bridge_ensure_underlay_typed(o->db, o->underlay_bridge, iface,
                                         "dpdk", opts);
        free(devargs);
    } else {
        r = bridge_ensure_underlay(o->db, o->underlay_bridge, iface);
    }
    if (r) {
        dp_ovs_db_error__(o, r);
        dp_ovs_set_error__(error, "OVSDB: ensuring bridge %s: %s",
                           o->underlay_bridge, r);
        return r;
    }
    if (iface && (r = link_set_up(iface))) {
        LOG_WARN_RL("cannot set %s up: %s", iface, strerror(-r));
        complete = false;
    }
    /* ovs-vswitchd creates the bridge's internal interface shortly after
     * the OVSDB transaction. */
    long long deadline = time_msec() + DP_OVS_LINK_WAIT_MS;
    while (!link_exists(o->underlay_bridge) && time_msec() < deadline) {
        dp_ovs_sleep_ms__(50);
    }
    if ((r = link_set_up(o->underlay_bridge))) {
        LOG_WARN_RL("cannot set %s up: %s", o->underlay_bridge, strerror(-r));
        complete = false;
    } else if (d->tunnel_ip[0]
               && (r = link_add_ipv4(o->underlay_bridge, d->tunnel_ip))
               && r != -EEXIST) {
        LOG_WARN_RL("cannot add %s to %s: %s", d->tunnel_ip,
                    o->underlay_bridge, strerror(-r));
        complete = false;
    }
    if (complete && !o->underlay_done) {
        LOG_INFO("underlay ready: %s%s%s with %s", o->underlay_bridge,
                 iface ? " holding " : "", iface ? iface : "",
                 d->tunnel_ip[0] ? d->tunnel_ip : "no tunnel IP");
    }
    o->underlay_done = complete;
    return 0;
}

/* Is 'iface' a port of an NFV instance that has vhost-user ports (an
 * OVS-DPDK host, nfv.h)? */
static bool
dp_ovs_nfv_vhost_port__(const struct dp_ovs *o, const struct agent_desired *d,
                        const char *iface)
{
    if (!nfv_sup_vhost(o->nfv)) {
        return false;
    }
    for (size_t i = 0; i < d->n_nfv; i++) {
        for (size_t j = 0; j < d->nfv[i].n_ports; j++) {
            if (!strcmp(d->nfv[i].ports[j].iface, iface)) {
                return true;
            }
        }
    }
    return false;
}

/* Step 3. */
static int
dp_ovs_ports__(struct dp_ovs *o, const struct agent_desired *d, char **error)
{
    size_t n_nfv_ports = 0;
    for (size_t i = 0; i < d->n_nfv; i++) {
        n_nfv_ports += d->nfv[i].n_ports;
    }
    struct bridge_port *bp = xcalloc(d->n_ports + n_nfv_ports + 1,
                                     sizeof *bp);
    /* Per port: its options (key, value, NULL) and DPDK devargs. */
    const char *(*opts)[3] = xcalloc(d->n_ports ? d->n_ports : 1,
                                     sizeof *opts);
    char **devargs = xcalloc(d->n_ports ? d->n_ports : 1, sizeof *devargs);
    /* The same for NFV vhost-user ports: options and socket paths. */
    const char *(*nfv_opts)[3] = xcalloc(n_nfv_ports ? n_nfv_ports : 1,
                                         sizeof *nfv_opts);
    char **nfv_socks = xcalloc(n_nfv_ports ? n_nfv_ports : 1,
                               sizeof *nfv_socks);
    size_t n = 0, n_socks = 0;
    int r;

    for (size_t i = 0; i < d->n_ports; i++) {
        const struct agent_port *p = &d->ports[i];
        if (p->kind == AGENT_PORT_VHOST_USER) {
            /* A socket, not a netdev: attached at once (OVS retries the
             * connection to a VM's socket on its own). */
            if (!d->dpdk.enabled) {
                LOG_WARN_RL("port %s: vhost-user needs OVS-DPDK on this "
                            "host; not attached", p->name);
                continue;
            }
            bp[n] = (struct bridge_port) {
                .iface = p->iface, .ofport = p->ofport, .logical = p->name,
                .type = p->vhost_server_ovs ? "dpdkvhostuser"
                                            : "dpdkvhostuserclient",
            };
            if (!p->vhost_server_ovs) {
                opts[i][0] = "vhost-server-path";
                opts[i][1] = p->socket;
                bp[n].options = opts[i];
            }
            n++;
            continue;
        }
        if (!dp_ovs_iface_exists__(o, p->iface)
            || dp_ovs_nfv_vhost_port__(o, d, p->iface)) {
            /* (A load balancer's vhost-user port joins below.) */
            continue;
        }
        r = link_disable_tx_offload(p->iface);
        if (r && r != -EOPNOTSUPP && r != -ENODEV) {
            LOG_WARN_RL("cannot turn TX offload off on %s: %s", p->iface,
                        strerror(-r));
        }
        bp[n] = (struct bridge_port) {
            .iface = p->iface, .ofport = p->ofport, .logical = p->name,
        };
        if (d->dpdk.enabled && d->dpdk.af_packet) {
            /* The port's OpenFlow number makes its vdev name unique on
             * the host and stable across applies. */
            devargs[i] = dp_ovs_dpdk_devargs(p->ofport, p->iface);
            opts[i][0] = "dpdk-devargs";
            opts[i][1] = devargs[i];
            bp[n].type = "dpdk";
            bp[n].options = opts[i];
        }
        n++;
    }
    /* The host sides of the NFV instances' veths (nfv.c made them, with
     * TX offload off): plain system interfaces.  A load balancer's port is
     * also a bound port (the topology gives it an address): once only. */
    size_t n_bound = n;
    for (size_t i = 0; i < d->n_nfv; i++) {
        for (size_t j = 0; j < d->nfv[i].n_ports; j++) {
            const struct agent_nfv_port *np = &d->nfv[i].ports[j];
            bool dup = false;
            for (size_t k = 0; k < n_bound && !dup; k++) {
                dup = !strcmp(bp[k].iface, np->iface);
            }
            if (!dup && nfv_sup_vhost(o->nfv)) {
                /* vhost-user (nfv.h): the instance serves the socket, OVS
                 * connects as client; attached at once, like a VM's. */
                char *sock = nfv_sup_vhost_path(o->nfv, np->iface);
                nfv_socks[n_socks] = sock;
                nfv_opts[n_socks][0] = "vhost-server-path";
                nfv_opts[n_socks][1] = sock;
                bp[n++] = (struct bridge_port) {
                    .iface = np->iface, .ofport = np->ofport,
                    .logical = d->nfv[i].name,
                    .type = "dpdkvhostuserclient",
                    .options = nfv_opts[n_socks],
                };
                n_socks++;
            } else if (!dup && dp_ovs_iface_exists__(o, np->iface)) {
                bp[n++] = (struct bridge_port) {
                    .iface = np->iface, .ofport = np->ofport,
                    .logical = d->nfv[i].name,
                };
            }
        }
    }
    r = bridge_sync_ports(o->db, o->bridge, bp, n);
    for (size_t i = 0; i < d->n_ports; i++) {
        free(devargs[i]);
    }
    free(devargs);
    free(opts);
    for (size_t i = 0; i < n_socks; i++) {
        free(nfv_socks[i]);
    }
    free(nfv_socks);
    free(nfv_opts);
    free(bp);
    if (r) {
        dp_ovs_db_error__(o, r);
        dp_ovs_set_error__(error, "OVSDB: syncing ports of %s: %s",
                           o->bridge, r);
    }
    return r;
}

/* ---- ops --------------------------------------------------------------- */

static void
dp_ovs_link_cb__(void *aux, const char *ifname, bool exists)
{
    struct dp_ovs *o = aux;
    const struct agent_desired *d = o->desired;
    bool bound = false;

    if (!d) {
        return;
    }
    for (size_t i = 0; i < d->n_ports && !bound; i++) {
        bound = !strcmp(d->ports[i].iface, ifname);
    }
    for (size_t i = 0; i < d->n_nfv && !bound; i++) {
        for (size_t j = 0; j < d->nfv[i].n_ports && !bound; j++) {
            bound = !strcmp(d->nfv[i].ports[j].iface, ifname);
        }
    }
    if (!bound && !(d->underlay_iface[0]
                    && !strcmp(d->underlay_iface, ifname))) {
        return;
    }
    LOG_INFO("interface %s %s", ifname, exists ? "appeared" : "disappeared");
    if (!dp_ovs_db__(o)) {
        return;
    }
    if (!bound) {
        if (exists) {
            dp_ovs_underlay__(o, d, NULL);
        }
        return;
    }
    dp_ovs_ports__(o, d, NULL);
    o->ports_changed(o->aux);
}

static int
dp_ovs_create(struct event_base *base, const struct agent_dp_config *cfg,
              agent_dp_ports_changed_cb *cb, void *aux, struct agent_dp **dpp)
{
    struct dp_ovs *o = xzalloc(sizeof *o);

    o->up.class = &agent_dp_ovs_class;
    o->db_target = xasprintf("unix:%s/db.sock", cfg->ovs_rundir);
    o->of_target = xasprintf("unix:%s/%s.mgmt", cfg->ovs_rundir, cfg->bridge);
    o->bridge = xstrdup(cfg->bridge);
    o->underlay_bridge = xstrdup(cfg->underlay_bridge);
    o->ports_changed = cb;
    o->aux = aux;
    o->pkt = pkt_path_create(base, o->of_target);
    pkt_path_set_neighbor_cb(o->pkt, cb, aux);
    o->watch = link_watch_create(base, dp_ovs_link_cb__, o);
    o->nfv = nfv_sup_create(base);
    if (!o->watch) {
        LOG_WARN("cannot watch links (%s); checking them on each reconcile "
                 "instead", strerror(errno));
    }
    *dpp = &o->up;
    return 0;
}

static void
dp_ovs_destroy(struct agent_dp *dp)
{
    if (!dp) {
        return;
    }
    struct dp_ovs *o = dp_ovs_cast__(dp);
    nfv_sup_destroy(o->nfv);
    link_watch_destroy(o->watch);
    pkt_path_destroy(o->pkt);
    ofconn_close(o->of);
    ovsdb_client_destroy(o->db);
    free(o->db_target);
    free(o->of_target);
    free(o->bridge);
    free(o->underlay_bridge);
    free(o->stats);
    free(o);
}

static int
dp_ovs_read_generation(struct agent_dp *dp, uint64_t *gen)
{
    struct dp_ovs *o = dp_ovs_cast__(dp);
    char *s, *end;

    *gen = 0;
    if (!dp_ovs_db__(o)) {
        return errno ? -errno : -ECONNREFUSED;
    }
    s = bridge_get_external_id(o->db, o->bridge, DP_OVS_GEN_KEY);
    if (!s) {
        int r = errno ? -errno : -ENOENT;
        if (r == -ENOENT) {
            return 0;       /* no bridge or no generation yet: a new host */
        }
        dp_ovs_db_error__(o, r);
        return r;
    }
    errno = 0;
    *gen = strtoull(s, &end, 10);
    if (errno || end == s || *end) {
        LOG_WARN("ignoring malformed %s:%s=\"%s\"", o->bridge,
                 DP_OVS_GEN_KEY, s);
        *gen = 0;
    }
    free(s);
    return 0;
}

static int dp_ovs_apply_steps__(struct dp_ovs *, const struct agent_desired *,
                                const struct agent_delta *,
                                struct agent_apply_stats *, char **error);

static int
dp_ovs_apply(struct agent_dp *dp, const struct agent_desired *d,
             const struct agent_delta *delta,
             struct agent_apply_stats *st, char **error)
{
    struct dp_ovs *o = dp_ovs_cast__(dp);
    int r;

    o->desired = d;
    o->underlay_done = false;
    pkt_path_set_actions(o->pkt, d->packet_actions, d->n_packet_actions);
    *st = (struct agent_apply_stats) { 0, 0, 0 };
    if (!dp_ovs_db__(o)) {
        r = errno ? -errno : -ECONNREFUSED;
        dp_ovs_set_error__(error, "cannot connect to OVSDB at %s: %s",
                           o->db_target, r);
        return r;
    }
    char *dpdk_warning = NULL;
    if (d->dpdk.enabled) {
        r = dp_ovs_dpdk_apply(&o->dpdk, o->db, d, error, &dpdk_warning);
        if (r) {
            if (r != -EINVAL && r != -ENOMEM && r != -ENOTSUP
                && r != -ETIMEDOUT) {
                dp_ovs_db_error__(o, r);    /* an OVSDB failure */
            }
            return r;
        }
    }
    r = dp_ovs_apply_steps__(o, d, delta, st, error);
    if (!r && dpdk_warning && error && !*error) {
        /* Applied, with something the operator must still do. */
        *error = dpdk_warning;
        dpdk_warning = NULL;
    }
    free(dpdk_warning);
    return r;
}

/* Steps 1-5 of an apply. */
static int
dp_ovs_apply_steps__(struct dp_ovs *o, const struct agent_desired *d,
                     const struct agent_delta *delta,
                     struct agent_apply_stats *st, char **error)
{
    struct ofconn_sync_stats ss = { 0, 0, 0 };
    int r;

    r = dp_ovs_underlay__(o, d, error);
    if (r) {
        return r;
    }
    r = bridge_ensure_integration(o->db, o->bridge, d->tunnel_ofport);
    if (r) {
        dp_ovs_db_error__(o, r);
        dp_ovs_set_error__(error, "OVSDB: ensuring bridge %s: %s", o->bridge,
                           r);
        return r;
    }
    r = dp_ovs_of_open__(o, DP_OVS_OF_OPEN_WAIT_MS);
    if (r) {
        dp_ovs_set_error__(error, "cannot connect to OpenFlow at %s: %s",
                           o->of_target, r);
        return r;
    }
    nfv_sup_set_vhost(o->nfv, d->dpdk.enabled);
    nfv_sup_sync(o->nfv, d->nfv, d->n_nfv);
    r = dp_ovs_ports__(o, d, error);
    if (r) {
        return r;
    }
    if (delta && o->flows_in_sync) {
        /* The table holds the previous generation: send just the change,
         * in one atomic bundle, without dumping the table. */
        r = ofconn_apply_delta(o->of, delta->add, delta->n_add, delta->modify,
                               delta->n_modify, delta->remove,
                               delta->n_remove);
        ss = (struct ofconn_sync_stats) { delta->n_add, delta->n_modify,
                                          delta->n_remove };
    } else {
        r = ofconn_sync(o->of, agent_desired_flows(d), &ss);
    }
    o->flows_in_sync = !r;
    if (r) {
        dp_ovs_of_error__(o, r);
        dp_ovs_set_error__(error, "OpenFlow: installing flows on %s: %s",
                           o->bridge, r);
        return r;
    }
    st->added = ss.added;
    st->modified = ss.modified;
    st->removed = ss.removed;

    char *gen = xasprintf("%"PRIu64, d->generation);
    r = bridge_set_external_id(o->db, o->bridge, DP_OVS_GEN_KEY, gen);
    free(gen);
    if (r) {
        dp_ovs_db_error__(o, r);
        dp_ovs_set_error__(error, "OVSDB: recording generation on %s: %s",
                           o->bridge, r);
        return r;
    }
    return 0;
}

static void
dp_ovs_reconcile(struct agent_dp *dp, const struct agent_desired *d)
{
    struct dp_ovs *o = dp_ovs_cast__(dp);
    struct ofconn_sync_stats ss = { 0, 0, 0 };
    char *error = NULL;
    int r;

    o->desired = d;
    pkt_path_set_actions(o->pkt, d->packet_actions, d->n_packet_actions);
    if (!dp_ovs_db__(o)) {
        return;
    }
    if (!o->underlay_done && dp_ovs_underlay__(o, d, NULL)) {
        return;
    }

    /* A missing generation means br-int was recreated (or wiped): say so,
     * and put the generation back once everything is repaired. */
    char *want = xasprintf("%"PRIu64, d->generation);
    char *have = bridge_get_external_id(o->db, o->bridge, DP_OVS_GEN_KEY);
    bool gen_ok = have && !strcmp(have, want);
    if (!have && errno != ENOENT) {
        dp_ovs_db_error__(o, errno ? -errno : -EIO);
        goto out;
    }
    if (!gen_ok) {
        LOG_INFO("reconcile: %s lacks %s=%s; repairing the bridge", o->bridge,
                 DP_OVS_GEN_KEY, want);
    }

    r = bridge_ensure_integration(o->db, o->bridge, d->tunnel_ofport);
    if (r) {
        dp_ovs_db_error__(o, r);
        LOG_WARN_RL("reconcile: ensuring %s: %s", o->bridge, strerror(-r));
        goto out;
    }
    nfv_sup_set_vhost(o->nfv, d->dpdk.enabled);
    nfv_sup_sync(o->nfv, d->nfv, d->n_nfv);
    if (dp_ovs_ports__(o, d, &error)) {
        LOG_WARN_RL("reconcile: %s", error);
        goto out;
    }
    /* A connection that broke (ovs-vswitchd restarted) gets one immediate
     * reopen; when even that fails, the next tick tries again. */
    for (int attempt = 0; ; attempt++) {
        if (dp_ovs_of_open__(o, 0)) {
            goto out;
        }
        r = ofconn_sync(o->of, agent_desired_flows(d), &ss);
        if (!r) {
            o->flows_in_sync = true;
            break;
        }
        LOG_WARN_RL("reconcile: syncing flows of %s: %s", o->bridge,
                    strerror(-r));
        dp_ovs_of_error__(o, r);
        if (o->of || attempt) {
            goto out;
        }
    }
    if (ss.added || ss.modified || ss.removed) {
        LOG_INFO("reconcile: repaired flows of %s (generation %"PRIu64"): "
                 "%u added, %u modified, %u removed", o->bridge,
                 d->generation, ss.added, ss.modified, ss.removed);
    }
    if (!gen_ok) {
        r = bridge_set_external_id(o->db, o->bridge, DP_OVS_GEN_KEY, want);
        if (r) {
            dp_ovs_db_error__(o, r);
            LOG_WARN_RL("reconcile: recording generation on %s: %s",
                        o->bridge, strerror(-r));
        }
    }

out:
    free(error);
    free(have);
    free(want);
}

static void
dp_ovs_port_status(struct agent_dp *dp, const struct agent_desired *d,
                   struct agent_port_status *out)
{
    struct dp_ovs *o = dp_ovs_cast__(dp);

    for (size_t i = 0; i < d->n_ports; i++) {
        const char *iface = d->ports[i].iface;
        int32_t ofport = 0;

        out[i] = (struct agent_port_status) { .iface = iface };
        bool socket = d->ports[i].kind == AGENT_PORT_VHOST_USER
                      || dp_ovs_nfv_vhost_port__(o, d, iface);
        if ((!socket && !dp_ovs_iface_exists__(o, iface)) || !o->db) {
            continue;
        }
        int r = bridge_get_ofport(o->db, iface, &ofport);
        if (r) {
            dp_ovs_db_error__(o, r);
            if (!o->db) {
                continue;
            }
        } else if (ofport > 0) {
            out[i].up = true;
            out[i].ofport = ofport;
        }
    }
}

static const struct pkt_neighbor *
dp_ovs_neighbors(struct agent_dp *dp, size_t *n)
{
    return pkt_path_neighbors(dp_ovs_cast__(dp)->pkt, n);
}

static size_t
dp_ovs_take_acl_log(struct agent_dp *dp, struct pkt_log_event *out,
                    size_t max, uint64_t *suppressed)
{
    return pkt_path_take_log(dp_ovs_cast__(dp)->pkt, out, max, suppressed);
}

static size_t
dp_ovs_nfv_status(struct agent_dp *dp, struct nfv_sup_status *out,
                  size_t max)
{
    return nfv_sup_status(dp_ovs_cast__(dp)->nfv, out, max);
}

static int
agent_flow_stats_cmp__(const void *a_, const void *b_)
{
    const struct agent_flow_stats *a = a_, *b = b_;
    return a->cookie < b->cookie ? -1 : a->cookie > b->cookie;
}

size_t
agent_flow_stats_sum(const struct flow_set *flows,
                     const struct ofconn_flow_stats *stats,
                     struct agent_flow_stats **out)
{
    struct agent_flow_stats *v = NULL;
    size_t n = 0;

    *out = NULL;
    if (!flows->n || !stats) {
        return 0;
    }
    v = xcalloc(flows->n, sizeof *v);
    for (size_t i = 0; i < flows->n; i++) {
        if (flows->flows[i].cookie) {
            v[n++] = (struct agent_flow_stats) {
                .cookie = flows->flows[i].cookie,
                .packets = stats[i].packets,
                .bytes = stats[i].bytes,
            };
        }
    }
    qsort(v, n, sizeof *v, agent_flow_stats_cmp__);

    /* Merge runs of one cookie in place. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && v[k - 1].cookie == v[i].cookie) {
            v[k - 1].packets += v[i].packets;
            v[k - 1].bytes += v[i].bytes;
        } else {
            v[k++] = v[i];
        }
    }
    if (!k) {
        free(v);
        return 0;
    }
    *out = v;
    return k;
}

static const struct agent_flow_stats *
dp_ovs_flow_stats(struct agent_dp *dp, size_t *n)
{
    struct dp_ovs *o = dp_ovs_cast__(dp);
    long long now = time_msec();

    if (o->stats_msec && now - o->stats_msec < DP_OVS_STATS_MIN_MS) {
        *n = o->n_stats;
        return o->stats;
    }
    o->stats_msec = now;
    /* Never block a heartbeat waiting for a bridge that is not there yet:
     * only an open connection is asked. */
    if (o->of) {
        struct ofconn_flow_stats *fst = NULL;
        struct flow_set fs;

        flow_set_init(&fs);
        int r = ofconn_dump_flows(o->of, &fs, &fst);
        if (!r) {
            free(o->stats);
            o->n_stats = agent_flow_stats_sum(&fs, fst, &o->stats);
        } else {
            LOG_WARN_RL("dumping flow counters of %s: %s", o->bridge,
                        strerror(-r));
            dp_ovs_of_error__(o, r);
        }
        free(fst);
        flow_set_destroy(&fs);
    }
    *n = o->n_stats;
    return o->stats;
}

const struct agent_dp_class agent_dp_ovs_class = {
    .name = "ovs",
    .create = dp_ovs_create,
    .destroy = dp_ovs_destroy,
    .read_generation = dp_ovs_read_generation,
    .apply = dp_ovs_apply,
    .reconcile = dp_ovs_reconcile,
    .port_status = dp_ovs_port_status,
    .neighbors = dp_ovs_neighbors,
    .flow_stats = dp_ovs_flow_stats,
    .take_acl_log = dp_ovs_take_acl_log,
    .nfv_status = dp_ovs_nfv_status,
};
