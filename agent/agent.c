/* agent.c — the agent core: controller session, desired state, reconcile
 * timer.  See agent.h for the state machine. */
#include "agent/agent.h"
#include "agent/agent-dp.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/flow-proto.h"
#include "proto/frame.h"

#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

LOG_MODULE(agent);

#define AGENT_START_GRACE_MS 10000   /* wait this long for OVSDB at start */
#define AGENT_START_RETRY_MS 500
#define AGENT_PORT_FOLLOWUP_MS 500   /* second heartbeat after a port change */

enum agent_state {
    AGENT_STARTING,      /* reading the applied generation from the datapath */
    AGENT_BACKOFF,       /* waiting before the next connection attempt */
    AGENT_CONNECTING,
    AGENT_CONNECTED,     /* Hello sent */
};

struct agent {
    struct event_base *base;
    char *host;
    char *controller;
    int heartbeat_ms;
    int peer_timeout_ms;
    int reconcile_ms;
    int backoff_min_ms;
    int backoff_max_ms;

    struct sockaddr_storage ctl_addr;
    int ctl_addrlen;

    enum agent_state state;
    struct bufferevent *bev;
    struct event *retry_timer;       /* start-up retries, then backoff */
    struct event *hb_timer;          /* persistent, while connected */
    struct event *hb_soon_timer;     /* one-shot follow-up after a change */
    struct event *reconcile_timer;   /* persistent, always */
    int backoff_ms;
    uint32_t rng;
    long long start_msec;
    uint64_t hb_seq;
    unsigned int n_connects;

    struct agent_dp *dp;
    struct agent_desired *desired;   /* last accepted; NULL before any */
    uint64_t applied_generation;
    bool apply_pending;              /* 'desired' not yet applied fully */
};

static void agent_connect__(struct agent *);
static void agent_desired_take_header__(struct agent_desired *to,
                                        struct agent_desired *from);
static void agent_schedule_connect__(struct agent *);

/* ---- desired state ------------------------------------------------------ */

struct agent_desired *
agent_desired_create(void)
{
    struct agent_desired *d = xzalloc(sizeof *d);
    d->host_name = xstrdup("");
    d->tunnel_ip = xstrdup("");
    d->underlay_iface = xstrdup("");
    flow_table_init(&d->table);
    flow_set_init(&d->flows);
    return d;
}

static void
agent_port_clear__(struct agent_port *p)
{
    free(p->name);
    free(p->iface);
    free(p->mac);
    free(p->switch_name);
    free(p->socket);
}

static void
agent_packet_actions_free__(struct pkt_action *pa, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pkt_action_clear(&pa[i]);
    }
    free(pa);
}

static struct pkt_action *
agent_packet_actions_copy__(const struct pkt_action *src, size_t n)
{
    struct pkt_action *pa = xcalloc(n ? n : 1, sizeof *pa);
    for (size_t i = 0; i < n; i++) {
        pkt_action_copy(&pa[i], &src[i]);
    }
    return pa;
}

void
agent_desired_destroy(struct agent_desired *d)
{
    if (!d) {
        return;
    }
    for (size_t i = 0; i < d->n_ports; i++) {
        agent_port_clear__(&d->ports[i]);
    }
    free(d->ports);
    agent_packet_actions_free__(d->packet_actions, d->n_packet_actions);
    agent_nfv_free(d->nfv, d->n_nfv);
    free(d->host_name);
    free(d->tunnel_ip);
    free(d->underlay_iface);
    flow_table_destroy(&d->table);
    flow_set_destroy(&d->flows);
    free(d);
}

const struct flow_set *
agent_desired_flows(const struct agent_desired *d_)
{
    /* The sorted copy is a cache of 'table': rebuilding it does not change
     * the desired state, hence the cast. */
    struct agent_desired *d = (struct agent_desired *) d_;
    if (d->flows_stale) {
        flow_table_to_set(&d->table, &d->flows);
        d->flows_stale = false;
    }
    return &d->flows;
}

struct agent_desired *
agent_desired_clone(const struct agent_desired *src)
{
    struct agent_desired *d = xzalloc(sizeof *d);
    d->generation = src->generation;
    d->host_name = xstrdup(src->host_name);
    d->tunnel_ip = xstrdup(src->tunnel_ip);
    d->underlay_iface = xstrdup(src->underlay_iface);
    d->tunnel_ofport = src->tunnel_ofport;
    d->dpdk = src->dpdk;
    d->n_ports = src->n_ports;
    d->ports = xcalloc(src->n_ports ? src->n_ports : 1, sizeof *d->ports);
    for (size_t i = 0; i < src->n_ports; i++) {
        const struct agent_port *s = &src->ports[i];
        d->ports[i] = (struct agent_port) {
            .name = xstrdup(s->name), .iface = xstrdup(s->iface),
            .mac = xstrdup(s->mac), .switch_name = xstrdup(s->switch_name),
            .ofport = s->ofport, .kind = s->kind,
            .socket = xstrdup(s->socket ? s->socket : ""),
            .vhost_server_ovs = s->vhost_server_ovs,
        };
    }
    d->packet_actions = agent_packet_actions_copy__(src->packet_actions,
                                                    src->n_packet_actions);
    d->n_packet_actions = src->n_packet_actions;
    d->nfv = agent_nfv_copy(src->nfv, src->n_nfv);
    d->n_nfv = src->n_nfv;
    const struct flow_set *flows = agent_desired_flows(src);
    flow_set_init(&d->flows);
    for (size_t i = 0; i < flows->n; i++) {
        struct flow f;
        flow_clone(&f, &flows->flows[i]);
        flow_set_take(&d->flows, &f);
    }
    flow_table_init(&d->table);
    flow_table_from_set(&d->table, &d->flows);
    return d;
}

static const char *
str_or_empty__(const char *s)
{
    return s ? s : "";
}

static bool
agent_iface_name_ok__(const char *s)
{
    size_t len = strlen(s);
    return len > 0 && len < IFNAMSIZ && !strchr(s, '/')
           && strcmp(s, ".") && strcmp(s, "..");
}

/* Parses "a.b.c.d" into '*ip'; "" gives 0 when 'optional'. */
static bool
agent_ip_from_proto__(const char *s, bool optional, uint32_t *ip)
{
    *ip = 0;
    s = str_or_empty__(s);
    return (optional && !s[0]) || !ip4_parse(s, ip);
}

/* Converts one anet.PacketAction.  Returns false with a reason in
 * '*error'. */
static bool
agent_packet_action_from_proto__(const Anet__PacketAction *m,
                                 struct pkt_action *a, char **error)
{
    const Anet__DhcpLease *l = m->lease;
    unsigned int plen = 0;

    a->id = m->id;
    a->kind = m->kind;
    a->port = xstrdup(str_or_empty__(m->port));
    a->network = xstrdup(str_or_empty__(m->network));
    a->router_metadata = m->router_metadata;
    a->router_port_key = m->router_port_key;
    a->network_vni = m->network_vni;
    if (m->id > 0xffff) {
        *error = xasprintf("packet action %u: id exceeds 16 bits", m->id);
        return false;
    }
    if (a->kind >= PKT_ICMP_TIME_EXCEEDED && a->kind < PKT_N_KINDS
        && a->kind != PKT_REJECT
        && (!agent_ip_from_proto__(m->router_ip, false, &a->router_ip)
            || eth_parse(str_or_empty__(m->router_mac), &a->router_mac))) {
        *error = xasprintf("packet action %u: bad router address '%s' / "
                           "'%s'", m->id, str_or_empty__(m->router_ip),
                           str_or_empty__(m->router_mac));
        return false;
    }
    if ((a->kind == PKT_ARP_RESOLVE || a->kind == PKT_ARP_LEARN)
        && (!agent_ip_from_proto__(m->target_ip, false, &a->target_ip)
            || !a->network[0])) {
        *error = xasprintf("packet action %u: ARP needs a target address "
                           "and a network (got '%s' on '%s')", m->id,
                           str_or_empty__(m->target_ip), a->network);
        return false;
    }
    if (a->kind != PKT_DHCP) {
        return true;
    }
    struct dhcp_lease *dl = &a->lease;
    if (!l || ip4_parse_cidr(str_or_empty__(l->ip), &dl->ip, &plen)
        || !agent_ip_from_proto__(l->gateway, true, &dl->gateway)
        || !agent_ip_from_proto__(l->server_ip, false, &dl->server_ip)
        || eth_parse(str_or_empty__(l->server_mac), &dl->server_mac)
        || l->n_dns > DHCP_MAX_DNS || l->n_routes > DHCP_MAX_ROUTES
        || l->mtu > 0xffff) {
        *error = xasprintf("packet action %u (port %s): invalid DHCP lease",
                           m->id, a->port);
        return false;
    }
    dl->plen = plen;
    dl->mtu = l->mtu;
    dl->lease_time = l->lease_time;
    for (size_t i = 0; i < l->n_dns; i++) {
        if (!agent_ip_from_proto__(l->dns[i], false, &dl->dns[i])) {
            *error = xasprintf("packet action %u: bad DNS server '%s'",
                               m->id, str_or_empty__(l->dns[i]));
            return false;
        }
    }
    dl->n_dns = l->n_dns;
    for (size_t i = 0; i < l->n_routes; i++) {
        struct dhcp_route *r = &dl->routes[i];
        const Anet__StaticRoute *sr = l->routes[i];
        if (ip4_parse_cidr(str_or_empty__(sr->prefix), &r->prefix, &plen)
            || !agent_ip_from_proto__(sr->next_hop, false, &r->next_hop)) {
            *error = xasprintf("packet action %u: bad DHCP route '%s' via "
                               "'%s'", m->id, str_or_empty__(sr->prefix),
                               str_or_empty__(sr->next_hop));
            return false;
        }
        r->plen = plen;
        r->prefix &= ip4_mask(plen);
    }
    dl->n_routes = l->n_routes;
    return true;
}

/* True when 's' is a CPU mask as the controller sends it: "0x" and 1..64
 * hexadecimal digits. */
static bool
agent_mask_ok__(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > AGENT_DPDK_MASK_LEN || s[0] != '0' || s[1] != 'x') {
        return false;
    }
    return strspn(s + 2, "0123456789abcdefABCDEF") == n - 2;
}

/* Fills 'dpdk' from the dpdk_* fields of 'hc'.  Returns false with a
 * malloc'd reason in '*error' if they are invalid. */
static bool
agent_dpdk_from_proto__(struct agent_dpdk *dpdk, const Anet__HostConfig *hc,
                        char **error)
{
    const char *pmd = str_or_empty__(hc->dpdk_pmd_cpu_mask);
    const char *lcore = str_or_empty__(hc->dpdk_lcore_mask);

    memset(dpdk, 0, sizeof *dpdk);
    if (!hc->dpdk) {
        return true;
    }
    if (!hc->dpdk_socket_mem || !agent_mask_ok__(pmd)
        || (lcore[0] && !agent_mask_ok__(lcore))
        || hc->dpdk_pmd_maxsleep_us > 10000) {
        *error = xasprintf("invalid DPDK settings (socket_mem %u, "
                           "pmd_cpu_mask '%s', lcore_mask '%s', "
                           "pmd_maxsleep_us %u)", hc->dpdk_socket_mem, pmd,
                           lcore, hc->dpdk_pmd_maxsleep_us);
        return false;
    }
    dpdk->enabled = true;
    dpdk->socket_mem = hc->dpdk_socket_mem;
    snprintf(dpdk->pmd_cpu_mask, sizeof dpdk->pmd_cpu_mask, "%s", pmd);
    snprintf(dpdk->lcore_mask, sizeof dpdk->lcore_mask, "%s", lcore);
    dpdk->pmd_maxsleep_us = hc->dpdk_pmd_maxsleep_us;
    dpdk->af_packet = hc->dpdk_af_packet;
    return true;
}

/* Fills the host config and ports of 'd' (freshly created) from 'm'.
 * Returns false with a malloc'd reason in '*error' if any is invalid. */
static bool
agent_desired_header_from_proto__(struct agent_desired *d,
                                  const Anet__DesiredState *m, char **error)
{
    d->generation = m->generation;
    if (m->host) {
        free(d->host_name);
        free(d->tunnel_ip);
        free(d->underlay_iface);
        d->host_name = xstrdup(str_or_empty__(m->host->name));
        d->tunnel_ip = xstrdup(str_or_empty__(m->host->tunnel_ip));
        d->underlay_iface = xstrdup(str_or_empty__(m->host->underlay_iface));
        d->tunnel_ofport = m->host->tunnel_ofport;
        if (d->underlay_iface[0] && !agent_iface_name_ok__(d->underlay_iface)) {
            *error = xasprintf("invalid underlay interface name '%s'",
                               d->underlay_iface);
            return false;
        }
        if (!agent_dpdk_from_proto__(&d->dpdk, m->host, error)) {
            return false;
        }
    }
    d->ports = xcalloc(m->n_ports ? m->n_ports : 1, sizeof *d->ports);
    for (size_t i = 0; i < m->n_ports; i++) {
        const Anet__PortBinding *pb = m->ports[i];
        struct agent_port *p = &d->ports[d->n_ports++];
        p->name = xstrdup(str_or_empty__(pb->name));
        p->iface = xstrdup(str_or_empty__(pb->iface));
        p->mac = xstrdup(str_or_empty__(pb->mac));
        p->switch_name = xstrdup(str_or_empty__(pb->switch_name));
        p->ofport = pb->ofport;
        p->socket = xstrdup(str_or_empty__(pb->socket));
        if (!agent_iface_name_ok__(p->iface)) {
            *error = xasprintf("port %zu (%s): invalid interface name '%s'",
                               i, p->name, p->iface);
            return false;
        }
        if (pb->kind == ANET__PORT_BINDING__KIND__VHOST_USER) {
            p->kind = AGENT_PORT_VHOST_USER;
            p->vhost_server_ovs =
                pb->vhost_server == ANET__PORT_BINDING__VHOST_SERVER__OVS;
            if (p->socket[0] != '/' || strlen(p->socket) > 107) {
                *error = xasprintf("port %zu (%s): invalid vhost-user socket "
                                   "'%s'", i, p->name, p->socket);
                return false;
            }
        } else if (pb->kind != ANET__PORT_BINDING__KIND__INTERFACE) {
            *error = xasprintf("port %zu (%s): unknown port kind %d", i,
                               p->name, (int) pb->kind);
            return false;
        }
    }
    d->packet_actions = xcalloc(m->n_packet_actions ? m->n_packet_actions : 1,
                                sizeof *d->packet_actions);
    for (size_t i = 0; i < m->n_packet_actions; i++) {
        if (!agent_packet_action_from_proto__(
                m->packet_actions[i], &d->packet_actions[d->n_packet_actions++],
                error)) {
            return false;
        }
    }
    return agent_nfv_from_proto(m->nfv, m->n_nfv, &d->nfv, &d->n_nfv, error);
}

/* Converts the flows 'msgs' into 'out' (n_msgs entries).  Returns false with
 * a malloc'd reason in '*error' (and 'out' destroyed) if any is invalid. */
static bool
agent_flows_from_proto__(Anet__Flow *const *msgs, size_t n_msgs,
                         struct flow *out, const char *what, char **error)
{
    for (size_t i = 0; i < n_msgs; i++) {
        int r = flow_from_proto(msgs[i], &out[i]);
        if (r) {
            *error = xasprintf("%s %zu (table %u, priority %u, cookie "
                               "0x%"PRIx64"): %s", what, i, msgs[i]->table,
                               msgs[i]->priority, msgs[i]->cookie,
                               strerror(-r));
            for (size_t j = 0; j < i; j++) {
                flow_destroy(&out[j]);
            }
            return false;
        }
    }
    return true;
}

/* Converts a received full DesiredState.  Returns NULL with a malloc'd
 * reason in '*error' when anything in it is invalid: the state is taken
 * whole or not at all. */
static struct agent_desired *
agent_desired_from_proto__(const Anet__DesiredState *m, char **error)
{
    struct agent_desired *d = agent_desired_create();
    struct flow *flows = xcalloc(m->n_flows ? m->n_flows : 1, sizeof *flows);

    if (!agent_desired_header_from_proto__(d, m, error)
        || !agent_flows_from_proto__(m->flows, m->n_flows, flows, "flow",
                                     error)) {
        free(flows);
        agent_desired_destroy(d);
        return NULL;
    }
    for (size_t i = 0; i < m->n_flows; i++) {
        flow_set_take(&d->flows, &flows[i]);
    }
    free(flows);
    flow_set_sort(&d->flows);
    flow_table_from_set(&d->table, &d->flows);
    return d;
}

/* ---- datapath back-ends -------------------------------------------------- */

static const struct agent_dp_class *const agent_dp_classes[] = {
    &agent_dp_ovs_class,
    &agent_dp_null_class,
};

const struct agent_dp_class *
agent_dp_class_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(agent_dp_classes); i++) {
        if (!strcmp(agent_dp_classes[i]->name, name)) {
            return agent_dp_classes[i];
        }
    }
    return NULL;
}

/* ---- sending -------------------------------------------------------------- */

static struct timeval
ms_to_tv__(int ms)
{
    return (struct timeval) { .tv_sec = ms / 1000,
                              .tv_usec = (ms % 1000) * 1000 };
}

static void
agent_send__(struct agent *a, const Anet__Envelope *env)
{
    if (a->state != AGENT_CONNECTED || !a->bev) {
        return;
    }
    int r = frame_write(bufferevent_get_output(a->bev), env);
    if (r) {
        LOG_WARN_RL("cannot send to controller: %s", strerror(-r));
    }
}

/* Port statuses of the current desired state, as protobuf messages. */
struct agent_ports_msg {
    size_t n;
    Anet__PortStatus *st;
    Anet__PortStatus **ptrs;
};

static void
agent_ports_msg_init__(struct agent *a, struct agent_ports_msg *m)
{
    memset(m, 0, sizeof *m);
    if (!a->desired || !a->desired->n_ports) {
        return;
    }
    size_t n = a->desired->n_ports;
    struct agent_port_status *ps = xcalloc(n, sizeof *ps);
    a->dp->class->port_status(a->dp, a->desired, ps);
    m->n = n;
    m->st = xcalloc(n, sizeof *m->st);
    m->ptrs = xcalloc(n, sizeof *m->ptrs);
    for (size_t i = 0; i < n; i++) {
        anet__port_status__init(&m->st[i]);
        /* The iface strings live in a->desired, which outlives the send. */
        m->st[i].iface = (char *) ps[i].iface;
        m->st[i].up = ps[i].up;
        m->st[i].ofport = ps[i].ofport;
        m->ptrs[i] = &m->st[i];
    }
    free(ps);
}

static void
agent_ports_msg_destroy__(struct agent_ports_msg *m)
{
    free(m->st);
    free(m->ptrs);
}

/* The learned neighbours, as protobuf messages. */
struct agent_neighbors_msg {
    size_t n;
    Anet__Neighbor *nb;
    Anet__Neighbor **ptrs;
    char (*ip)[IP4_STRLEN];
    char (*mac)[ETH_ADDR_STRLEN];
};

static void
agent_neighbors_msg_init__(struct agent *a, struct agent_neighbors_msg *m)
{
    size_t n = 0;
    const struct pkt_neighbor *nbs = a->dp->class->neighbors(a->dp, &n);

    memset(m, 0, sizeof *m);
    if (!n) {
        return;
    }
    m->n = n;
    m->nb = xcalloc(n, sizeof *m->nb);
    m->ptrs = xcalloc(n, sizeof *m->ptrs);
    m->ip = xcalloc(n, sizeof *m->ip);
    m->mac = xcalloc(n, sizeof *m->mac);
    for (size_t i = 0; i < n; i++) {
        anet__neighbor__init(&m->nb[i]);
        ip4_format(nbs[i].ip, m->ip[i]);
        eth_format(nbs[i].mac, m->mac[i]);
        /* The network names live in the packet path, which outlives the
         * send. */
        m->nb[i].network = nbs[i].network;
        m->nb[i].ip = m->ip[i];
        m->nb[i].mac = m->mac[i];
        m->ptrs[i] = &m->nb[i];
    }
}

static void
agent_neighbors_msg_destroy__(struct agent_neighbors_msg *m)
{
    free(m->nb);
    free(m->ptrs);
    free(m->ip);
    free(m->mac);
}

static void
agent_send_hello__(struct agent *a)
{
    Anet__Envelope env = ANET__ENVELOPE__INIT;
    Anet__Hello hello = ANET__HELLO__INIT;
    hello.host = a->host;
    hello.version = (char *) ANET_VERSION;
    hello.applied_generation = a->applied_generation;
    env.msg_case = ANET__ENVELOPE__MSG_HELLO;
    env.hello = &hello;
    agent_send__(a, &env);
}

/* The datapath's per-cookie flow counters, as protobuf messages. */
struct agent_flow_stats_msg {
    size_t n;
    Anet__FlowStats *fs;
    Anet__FlowStats **ptrs;
};

static void
agent_flow_stats_msg_init__(struct agent *a, struct agent_flow_stats_msg *m)
{
    size_t n = 0;
    const struct agent_flow_stats *st = a->dp->class->flow_stats
                                        ? a->dp->class->flow_stats(a->dp, &n)
                                        : NULL;

    memset(m, 0, sizeof *m);
    if (!st || !n) {
        return;
    }
    m->n = n;
    m->fs = xcalloc(n, sizeof *m->fs);
    m->ptrs = xcalloc(n, sizeof *m->ptrs);
    for (size_t i = 0; i < n; i++) {
        anet__flow_stats__init(&m->fs[i]);
        m->fs[i].cookie = st[i].cookie;
        m->fs[i].packets = st[i].packets;
        m->fs[i].bytes = st[i].bytes;
        m->ptrs[i] = &m->fs[i];
    }
}

static void
agent_flow_stats_msg_destroy__(struct agent_flow_stats_msg *m)
{
    free(m->fs);
    free(m->ptrs);
}

/* The packets logged since the last heartbeat, as protobuf messages. */
struct agent_acl_log_msg {
    size_t n;
    uint64_t suppressed;
    Anet__AclLogEvent *ev;
    Anet__AclLogEvent **ptrs;
    char (*addr)[2][IP4_STRLEN];
};

static void
agent_acl_log_msg_init__(struct agent *a, struct agent_acl_log_msg *m)
{
    memset(m, 0, sizeof *m);
    if (!a->dp->class->take_acl_log) {
        return;
    }
    struct pkt_log_event *v = xcalloc(PKT_LOG_QUEUE, sizeof *v);
    m->n = a->dp->class->take_acl_log(a->dp, v, PKT_LOG_QUEUE,
                                      &m->suppressed);
    if (m->n) {
        m->ev = xcalloc(m->n, sizeof *m->ev);
        m->ptrs = xcalloc(m->n, sizeof *m->ptrs);
        m->addr = xcalloc(m->n, sizeof *m->addr);
    }
    for (size_t i = 0; i < m->n; i++) {
        Anet__AclLogEvent *e = &m->ev[i];
        anet__acl_log_event__init(e);
        ip4_format(v[i].src, m->addr[i][0]);
        ip4_format(v[i].dst, m->addr[i][1]);
        e->cookie = v[i].cookie;
        e->time_ms = v[i].time_ms;
        e->in_ofport = v[i].in_ofport;
        e->out_ofport = v[i].out_ofport;
        e->ip_proto = v[i].ip_proto;
        e->src = m->addr[i][0];
        e->dst = m->addr[i][1];
        e->src_port = v[i].src_port;
        e->dst_port = v[i].dst_port;
        e->length = v[i].length;
        m->ptrs[i] = e;
    }
    free(v);
}

static void
agent_acl_log_msg_destroy__(struct agent_acl_log_msg *m)
{
    free(m->ev);
    free(m->ptrs);
    free(m->addr);
}

/* The host's anet-nfv instances, as protobuf messages. */
#define AGENT_NFV_MAX 64
struct agent_nfv_msg {
    size_t n;
    Anet__NfvStatus st[AGENT_NFV_MAX];
    Anet__NfvStatus *ptrs[AGENT_NFV_MAX];
};

static void
agent_nfv_msg_init__(struct agent *a, struct agent_nfv_msg *m)
{
    struct nfv_sup_status v[AGENT_NFV_MAX];
    m->n = a->dp->class->nfv_status
           ? a->dp->class->nfv_status(a->dp, v, AGENT_NFV_MAX) : 0;
    for (size_t i = 0; i < m->n; i++) {
        anet__nfv_status__init(&m->st[i]);
        m->st[i].name = (char *) v[i].name;
        m->st[i].running = v[i].pid != 0;
        m->st[i].starts = v[i].n_starts;
        m->st[i].applied_generation = v[i].applied;
        m->st[i].stats.data = (uint8_t *) v[i].stats;
        m->st[i].stats.len = v[i].stats_len;
        m->ptrs[i] = &m->st[i];
    }
}

static void
agent_send_heartbeat__(struct agent *a)
{
    Anet__Envelope env = ANET__ENVELOPE__INIT;
    Anet__Heartbeat hb = ANET__HEARTBEAT__INIT;
    struct agent_ports_msg pm;
    struct agent_neighbors_msg nm;
    struct agent_flow_stats_msg fm;
    struct agent_acl_log_msg lm;
    struct agent_nfv_msg vm;

    if (a->state != AGENT_CONNECTED) {
        return;
    }
    agent_nfv_msg_init__(a, &vm);
    hb.n_nfv = vm.n;
    hb.nfv = vm.ptrs;
    agent_ports_msg_init__(a, &pm);
    agent_neighbors_msg_init__(a, &nm);
    agent_flow_stats_msg_init__(a, &fm);
    agent_acl_log_msg_init__(a, &lm);
    hb.seq = ++a->hb_seq;
    hb.n_ports = pm.n;
    hb.ports = pm.ptrs;
    hb.n_neighbors = nm.n;
    hb.neighbors = nm.ptrs;
    hb.n_flow_stats = fm.n;
    hb.flow_stats = fm.ptrs;
    hb.n_acl_log = lm.n;
    hb.acl_log = lm.ptrs;
    hb.acl_log_suppressed = lm.suppressed;
    env.msg_case = ANET__ENVELOPE__MSG_HEARTBEAT;
    env.heartbeat = &hb;
    agent_send__(a, &env);
    agent_acl_log_msg_destroy__(&lm);
    agent_ports_msg_destroy__(&pm);
    agent_neighbors_msg_destroy__(&nm);
    agent_flow_stats_msg_destroy__(&fm);
}

static void
agent_send_result__(struct agent *a, uint64_t generation, bool ok,
                    const char *error, const struct agent_apply_stats *st,
                    bool need_full)
{
    Anet__Envelope env = ANET__ENVELOPE__INIT;
    Anet__ApplyResult res = ANET__APPLY_RESULT__INIT;
    struct agent_ports_msg pm;
    struct agent_neighbors_msg nm;

    if (a->state != AGENT_CONNECTED) {
        return;
    }
    agent_ports_msg_init__(a, &pm);
    agent_neighbors_msg_init__(a, &nm);
    res.generation = generation;
    res.ok = ok;
    res.error = (char *) (error ? error : "");
    res.need_full = need_full;
    if (st) {
        res.flows_added = st->added;
        res.flows_modified = st->modified;
        res.flows_removed = st->removed;
    }
    res.n_ports = pm.n;
    res.ports = pm.ptrs;
    res.n_neighbors = nm.n;
    res.neighbors = nm.ptrs;
    env.msg_case = ANET__ENVELOPE__MSG_RESULT;
    env.result = &res;
    agent_send__(a, &env);
    agent_ports_msg_destroy__(&pm);
    agent_neighbors_msg_destroy__(&nm);
}

/* ---- applying --------------------------------------------------------- */

/* Applies a->desired through the back-end and reports the outcome. */
static void
agent_apply__(struct agent *a)
{
    struct agent_apply_stats st = { 0, 0, 0 };
    char *error = NULL;
    const struct agent_desired *d = a->desired;

    int r = a->dp->class->apply(a->dp, d, NULL, &st, &error);
    if (!r) {
        LOG_INFO("applied generation %"PRIu64": %zu flows (%u added, %u "
                 "modified, %u removed), %zu ports", d->generation,
                 flow_table_count(&d->table), st.added, st.modified,
                 st.removed, d->n_ports);
        a->applied_generation = d->generation;
        a->apply_pending = false;
    } else {
        if (!error) {
            error = xstrdup(strerror(-r));
        }
        LOG_WARN("applying generation %"PRIu64" failed: %s (retrying every "
                 "reconcile)", d->generation, error);
        a->apply_pending = true;
    }
    agent_send_result__(a, d->generation, !r, error, &st, false);
    free(error);
}

static void
agent_handle_desired__(struct agent *a, const Anet__DesiredState *m)
{
    char *error = NULL;
    struct agent_desired *d = agent_desired_from_proto__(m, &error);

    if (!d) {
        LOG_WARN_RL("rejecting desired state generation %"PRIu64": %s "
                    "(keeping generation %"PRIu64")", m->generation, error,
                    a->applied_generation);
        agent_send_result__(a, m->generation, false, error, NULL, false);
        free(error);
        return;
    }
    agent_desired_destroy(a->desired);
    a->desired = d;
    agent_apply__(a);
}

void
agent_desired_copy_header(struct agent_desired *to,
                          const struct agent_desired *from)
{
    struct agent_desired *tmp = agent_desired_create();
    free(tmp->host_name);
    free(tmp->tunnel_ip);
    free(tmp->underlay_iface);
    tmp->host_name = xstrdup(from->host_name);
    tmp->tunnel_ip = xstrdup(from->tunnel_ip);
    tmp->underlay_iface = xstrdup(from->underlay_iface);
    tmp->tunnel_ofport = from->tunnel_ofport;
    tmp->dpdk = from->dpdk;
    tmp->n_ports = from->n_ports;
    tmp->ports = xcalloc(from->n_ports ? from->n_ports : 1, sizeof *tmp->ports);
    for (size_t i = 0; i < from->n_ports; i++) {
        const struct agent_port *s = &from->ports[i];
        tmp->ports[i] = (struct agent_port) {
            .name = xstrdup(s->name), .iface = xstrdup(s->iface),
            .mac = xstrdup(s->mac), .switch_name = xstrdup(s->switch_name),
            .ofport = s->ofport, .kind = s->kind,
            .socket = xstrdup(s->socket ? s->socket : ""),
            .vhost_server_ovs = s->vhost_server_ovs,
        };
    }
    tmp->packet_actions = agent_packet_actions_copy__(from->packet_actions,
                                                      from->n_packet_actions);
    tmp->n_packet_actions = from->n_packet_actions;
    tmp->nfv = agent_nfv_copy(from->nfv, from->n_nfv);
    tmp->n_nfv = from->n_nfv;
    agent_desired_take_header__(to, tmp);
    agent_desired_destroy(tmp);
}

/* Moves the host config and ports of 'from' into 'to'. */
static void
agent_desired_take_header__(struct agent_desired *to,
                            struct agent_desired *from)
{
    for (size_t i = 0; i < to->n_ports; i++) {
        agent_port_clear__(&to->ports[i]);
    }
    free(to->ports);
    free(to->host_name);
    free(to->tunnel_ip);
    free(to->underlay_iface);
    agent_packet_actions_free__(to->packet_actions, to->n_packet_actions);
    to->packet_actions = from->packet_actions;
    to->n_packet_actions = from->n_packet_actions;
    from->packet_actions = NULL;
    from->n_packet_actions = 0;
    agent_nfv_free(to->nfv, to->n_nfv);
    to->nfv = from->nfv;
    to->n_nfv = from->n_nfv;
    from->nfv = NULL;
    from->n_nfv = 0;
    to->ports = from->ports;
    to->n_ports = from->n_ports;
    to->host_name = from->host_name;
    to->tunnel_ip = from->tunnel_ip;
    to->underlay_iface = from->underlay_iface;
    to->tunnel_ofport = from->tunnel_ofport;
    to->dpdk = from->dpdk;
    from->ports = NULL;
    from->n_ports = 0;
    from->host_name = from->tunnel_ip = from->underlay_iface = NULL;
}

/* A delta (generation base -> N): valid only on top of exactly 'base'.
 * The flows it names are looked up in the key-indexed table, so the work
 * is proportional to the change, not to the host's table. */
static void
agent_handle_delta__(struct agent *a, const Anet__DesiredState *m)
{
    struct agent_desired *d = a->desired;
    struct agent_desired *hdr = NULL;
    struct flow *put = NULL, *del = NULL;
    const struct flow **add = NULL, **mod = NULL, **rm = NULL;
    struct agent_delta delta = { 0 };
    struct agent_apply_stats st = { 0, 0, 0 };
    char *error = NULL;

    if (!d || d->generation != m->base_generation || a->apply_pending) {
        error = xasprintf("delta %"PRIu64" -> %"PRIu64" does not apply: this "
                          "agent runs %s generation %"PRIu64,
                          m->base_generation, m->generation,
                          a->apply_pending ? "a partly applied" : "",
                          d ? d->generation : 0);
        LOG_INFO_RL("%s; asking for the full state", error);
        agent_send_result__(a, m->generation, false, error, NULL, true);
        free(error);
        return;
    }

    /* Convert everything first: a delta is taken whole or not at all. */
    hdr = agent_desired_create();
    put = xcalloc(m->n_flows ? m->n_flows : 1, sizeof *put);
    del = xcalloc(m->n_removed_flows ? m->n_removed_flows : 1, sizeof *del);
    if (!agent_desired_header_from_proto__(hdr, m, &error)
        || !agent_flows_from_proto__(m->flows, m->n_flows, put, "flow",
                                     &error)) {
        goto refuse;
    }
    if (!agent_flows_from_proto__(m->removed_flows, m->n_removed_flows, del,
                                  "removed flow", &error)) {
        for (size_t i = 0; i < m->n_flows; i++) {
            flow_destroy(&put[i]);
        }
        goto refuse;
    }

    add = xcalloc(m->n_flows + 1, sizeof *add);
    mod = xcalloc(m->n_flows + 1, sizeof *mod);
    rm = xcalloc(m->n_removed_flows + 1, sizeof *rm);
    for (size_t i = 0; i < m->n_flows; i++) {
        const struct flow *old = flow_table_find(&d->table, &put[i]);
        if (!old) {
            add[delta.n_add++] = &put[i];
        } else if (!flow_equal(old, &put[i])) {
            mod[delta.n_modify++] = &put[i];
        }
    }
    for (size_t i = 0; i < m->n_removed_flows; i++) {
        const struct flow *old = flow_table_find(&d->table, &del[i]);
        if (old) {
            rm[delta.n_remove++] = old;
        }
    }
    delta.add = add;
    delta.modify = mod;
    delta.remove = rm;

    agent_desired_take_header__(d, hdr);
    d->generation = m->generation;
    int r = a->dp->class->apply(a->dp, d, &delta, &st, &error);

    /* The desired state moves to N whatever the datapath said: it is what
     * the controller wants, and a failed apply is retried whole. */
    for (size_t i = 0; i < m->n_removed_flows; i++) {
        flow_table_remove(&d->table, &del[i]);
        flow_destroy(&del[i]);
    }
    for (size_t i = 0; i < m->n_flows; i++) {
        flow_table_put(&d->table, &put[i]);
    }
    d->flows_stale = true;
    if (!r) {
        LOG_INFO("applied delta %"PRIu64" -> %"PRIu64": %zu flows (%u added, "
                 "%u modified, %u removed), %zu ports", m->base_generation,
                 m->generation, flow_table_count(&d->table), st.added,
                 st.modified, st.removed, d->n_ports);
        a->applied_generation = d->generation;
        a->apply_pending = false;
    } else {
        if (!error) {
            error = xstrdup(strerror(-r));
        }
        LOG_WARN("applying delta to generation %"PRIu64" failed: %s "
                 "(retrying whole every reconcile)", d->generation, error);
        a->apply_pending = true;
    }
    agent_send_result__(a, d->generation, !r, error, &st, false);
    goto out;

refuse:
    LOG_WARN_RL("rejecting delta to generation %"PRIu64": %s (keeping "
                "generation %"PRIu64")", m->generation, error,
                a->applied_generation);
    agent_send_result__(a, m->generation, false, error, NULL, true);
out:
    free(error);
    free(put);
    free(del);
    free(add);
    free(mod);
    free(rm);
    agent_desired_destroy(hdr);
}

/* Called by the back-end when a bound port appeared or disappeared, or a
 * neighbour was learned.  The news goes out at once; OVS numbers a new
 * port a moment later, so a second heartbeat follows shortly to report it
 * up. */
static void
agent_ports_changed__(void *aux)
{
    struct agent *a = aux;
    struct timeval tv = ms_to_tv__(AGENT_PORT_FOLLOWUP_MS);

    agent_send_heartbeat__(a);
    evtimer_add(a->hb_soon_timer, &tv);
}

/* ---- session ------------------------------------------------------------ */

static uint32_t
agent_rand__(struct agent *a)
{
    /* xorshift32: jitter only needs to decorrelate agents. */
    uint32_t x = a->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return a->rng = x;
}

static void
agent_close__(struct agent *a)
{
    if (a->bev) {
        bufferevent_free(a->bev);
        a->bev = NULL;
    }
    evtimer_del(a->hb_timer);
    evtimer_del(a->hb_soon_timer);
}

/* Ends the current session (if any) and schedules the next attempt. */
static void
agent_drop__(struct agent *a)
{
    agent_close__(a);
    agent_schedule_connect__(a);
}

static void
agent_schedule_connect__(struct agent *a)
{
    int b = a->backoff_ms;
    int delay = b / 2 + (int) (agent_rand__(a) % (uint32_t) (b / 2 + 1));
    struct timeval tv = ms_to_tv__(delay);

    a->backoff_ms = MIN(b * 2, a->backoff_max_ms);
    a->state = AGENT_BACKOFF;
    LOG_DBG("next connection attempt in %d ms", delay);
    evtimer_add(a->retry_timer, &tv);
}

static void
agent_handle_msg__(struct agent *a, const Anet__Envelope *env)
{
    switch (env->msg_case) {
    case ANET__ENVELOPE__MSG_DESIRED:
        if (env->desired->base_generation) {
            agent_handle_delta__(a, env->desired);
        } else {
            agent_handle_desired__(a, env->desired);
        }
        break;
    case ANET__ENVELOPE__MSG_HEARTBEAT:
        /* Its arrival already restarted the read timeout. */
        break;
    case ANET__ENVELOPE__MSG_HELLO:
    case ANET__ENVELOPE__MSG_RESULT:
    default:
        LOG_WARN_RL("ignoring unexpected message %d from the controller",
                    (int) env->msg_case);
        break;
    }
}

static void
agent_read_cb__(struct bufferevent *bev, void *aux)
{
    struct agent *a = aux;
    struct evbuffer *in = bufferevent_get_input(bev);

    while (a->bev == bev) {
        Anet__Envelope *env;
        int r = frame_read(in, FRAME_MAX, &env);
        if (r == 0) {
            break;
        } else if (r < 0) {
            LOG_WARN_RL("bad frame from controller %s (%s); reconnecting",
                        a->controller, strerror(-r));
            agent_drop__(a);
            break;
        }
        /* A valid frame: the controller is really there. */
        a->backoff_ms = a->backoff_min_ms;
        agent_handle_msg__(a, env);
        anet__envelope__free_unpacked(env, NULL);
    }
}

static void
agent_event_cb__(struct bufferevent *bev, short what, void *aux)
{
    struct agent *a = aux;

    if (a->bev != bev) {
        return;
    }
    if (what & BEV_EVENT_CONNECTED) {
        struct timeval hb = ms_to_tv__(a->heartbeat_ms);
        a->state = AGENT_CONNECTED;
        a->n_connects++;
        LOG_INFO("connected to controller %s (applied generation %"PRIu64")",
                 a->controller, a->applied_generation);
        agent_send_hello__(a);
        evtimer_add(a->hb_timer, &hb);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        LOG_WARN_RL("controller %s silent for %d ms; reconnecting",
                    a->controller, a->peer_timeout_ms);
    } else if (what & BEV_EVENT_EOF) {
        LOG_WARN_RL("controller %s closed the connection; reconnecting",
                    a->controller);
    } else {
        int err = EVUTIL_SOCKET_ERROR();
        LOG_WARN_RL("connection to controller %s failed: %s",
                    a->controller, evutil_socket_error_to_string(err));
    }
    agent_drop__(a);
}

static void
agent_connect__(struct agent *a)
{
    struct timeval to = ms_to_tv__(a->peer_timeout_ms);
    struct bufferevent *bev;

    bev = bufferevent_socket_new(a->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        LOG_WARN_RL("cannot create a socket for the controller");
        agent_schedule_connect__(a);
        return;
    }
    a->bev = bev;
    a->state = AGENT_CONNECTING;
    bufferevent_setcb(bev, agent_read_cb__, NULL, agent_event_cb__, a);
    bufferevent_set_timeouts(bev, &to, &to);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(bev, (struct sockaddr *) &a->ctl_addr,
                                   a->ctl_addrlen) < 0) {
        /* libevent may already have reported the error through
         * agent_event_cb__, which then dropped the session. */
        if (a->bev == bev) {
            LOG_WARN_RL("cannot connect to controller %s", a->controller);
            agent_drop__(a);
        }
    }
}

/* Start-up: learn the applied generation, then connect.  OVSDB may not be
 * up yet; wait for it a while, then carry on with generation 0 (the
 * controller then resends the full state, which is harmless). */
static void
agent_start__(struct agent *a)
{
    uint64_t gen = 0;
    int r = a->dp->class->read_generation(a->dp, &gen);

    if (r) {
        if (time_msec() - a->start_msec < AGENT_START_GRACE_MS) {
            struct timeval tv = ms_to_tv__(AGENT_START_RETRY_MS);
            LOG_WARN_RL("cannot read the applied generation yet (%s); "
                        "retrying", strerror(-r));
            evtimer_add(a->retry_timer, &tv);
            return;
        }
        LOG_WARN("cannot read the applied generation (%s); assuming 0",
                 strerror(-r));
        gen = 0;
    }
    a->applied_generation = gen;
    LOG_INFO("host %s starting, applied generation %"PRIu64", controller %s",
             a->host, gen, a->controller);
    agent_connect__(a);
}

static void
agent_retry_cb__(evutil_socket_t fd, short what, void *aux)
{
    struct agent *a = aux;

    if (a->state == AGENT_STARTING) {
        agent_start__(a);
    } else {
        agent_connect__(a);
    }
}

static void
agent_hb_cb__(evutil_socket_t fd, short what, void *aux)
{
    agent_send_heartbeat__(aux);
}

static void
agent_reconcile_cb__(evutil_socket_t fd, short what, void *aux)
{
    struct agent *a = aux;

    if (!a->desired) {
        return;
    }
    if (a->apply_pending) {
        /* The last desired state did not make it fully; retry it whole.
         * This is still only the last state the controller asked for. */
        agent_apply__(a);
    } else {
        a->dp->class->reconcile(a->dp, a->desired);
    }
}

/* ---- life cycle -------------------------------------------------------- */

static int
default_ms__(int v, int def)
{
    return v > 0 ? v : def;
}

struct agent *
agent_create(struct event_base *base, const struct agent_options *opt)
{
    const struct agent_dp_class *class;
    struct agent *a;

    if (!opt->host || !opt->host[0] || !opt->controller) {
        errno = EINVAL;
        return NULL;
    }
    class = agent_dp_class_find(opt->datapath ? opt->datapath : "ovs");
    if (!class) {
        errno = EINVAL;
        return NULL;
    }

    a = xzalloc(sizeof *a);
    a->ctl_addrlen = sizeof a->ctl_addr;
    if (evutil_parse_sockaddr_port(opt->controller,
                                   (struct sockaddr *) &a->ctl_addr,
                                   &a->ctl_addrlen)) {
        free(a);
        errno = EINVAL;
        return NULL;
    }
    a->base = base;
    a->host = xstrdup(opt->host);
    a->controller = xstrdup(opt->controller);
    a->heartbeat_ms = default_ms__(opt->heartbeat_ms, 2000);
    a->peer_timeout_ms = default_ms__(opt->peer_timeout_ms, 6000);
    a->reconcile_ms = default_ms__(opt->reconcile_ms, 5000);
    a->backoff_min_ms = default_ms__(opt->backoff_min_ms, 100);
    a->backoff_max_ms = MAX(default_ms__(opt->backoff_max_ms, 5000),
                            a->backoff_min_ms);
    a->backoff_ms = a->backoff_min_ms;
    a->rng = hash_str(opt->host) ^ (uint32_t) time_msec()
             ^ (uint32_t) (uintptr_t) a;
    if (!a->rng) {
        a->rng = 0x9e3779b9u;
    }
    a->start_msec = time_msec();
    a->state = AGENT_STARTING;

    const char *rundir = opt->ovs_rundir;
    if (!rundir) {
        rundir = getenv("OVS_RUNDIR");
    }
    struct agent_dp_config cfg = {
        .ovs_rundir = rundir && rundir[0] ? rundir : "/var/run/openvswitch",
        .bridge = opt->bridge ? opt->bridge : "br-int",
        .underlay_bridge = opt->underlay_bridge ? opt->underlay_bridge
                                                : "br-phy",
    };
    int r = class->create(base, &cfg, agent_ports_changed__, a, &a->dp);
    if (r) {
        free(a->host);
        free(a->controller);
        free(a);
        errno = -r;
        return NULL;
    }

    a->retry_timer = evtimer_new(base, agent_retry_cb__, a);
    a->hb_timer = event_new(base, -1, EV_PERSIST, agent_hb_cb__, a);
    a->hb_soon_timer = evtimer_new(base, agent_hb_cb__, a);
    a->reconcile_timer = event_new(base, -1, EV_PERSIST,
                                   agent_reconcile_cb__, a);
    struct timeval now = { 0, 0 };
    struct timeval rec = ms_to_tv__(a->reconcile_ms);
    evtimer_add(a->retry_timer, &now);
    evtimer_add(a->reconcile_timer, &rec);
    return a;
}

void
agent_destroy(struct agent *a)
{
    if (!a) {
        return;
    }
    agent_close__(a);
    event_free(a->retry_timer);
    event_free(a->hb_timer);
    event_free(a->hb_soon_timer);
    event_free(a->reconcile_timer);
    a->dp->class->destroy(a->dp);
    agent_desired_destroy(a->desired);
    free(a->host);
    free(a->controller);
    free(a);
}

bool
agent_is_connected(const struct agent *a)
{
    return a->state == AGENT_CONNECTED;
}

uint64_t
agent_applied_generation(const struct agent *a)
{
    return a->applied_generation;
}

const struct agent_desired *
agent_desired_state(const struct agent *a)
{
    return a->desired;
}

struct agent_dp *
agent_datapath(struct agent *a)
{
    return a->dp;
}

unsigned int
agent_n_connects(const struct agent *a)
{
    return a->n_connects;
}
