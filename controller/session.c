/* session.c — agent sessions: one bufferevent per TCP connection, carrying
 * length-prefixed anet.Envelope frames (proto/frame.h).
 *
 * An agent says Hello{host, version, applied_generation}; if the host is in
 * the running topology the session always gets the host's full DesiredState
 * (a restarted agent needs it in memory to attach interfaces and repair OVS;
 * one at its desired generation applies it as a no-op: the agent diffs
 * against OVS and sends nothing).  After an apply only sessions of hosts
 * whose generation moved are pushed: a delta (base_generation = the
 * session's sent_generation) when the host's stored delta starts exactly
 * there, else the full state.  Full states materialise the host's flows from
 * the engine for the time of one send.  An ApplyResult with need_full (the
 * agent could not take a delta) gets the full state, unless a full state of
 * that generation or later was already sent after that delta.  ApplyResult
 * and Heartbeat update what show reports.  A heartbeat timer sends a
 * Heartbeat to every session each interval and drops sessions silent for
 * longer than the dead interval.  Anything malformed (bad length, payload
 * that does not decode, a message the agent must not send) closes that one
 * connection with a rate-limited log; other sessions never notice.
 */
#include "controller/controller-private.h"
#include "controller/compile.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/flow-proto.h"
#include "proto/frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

LOG_MODULE(session);

/* A peer that does not read its frames is dropped rather than buffered
 * without bound. */
#define CTL_SESSION_MAX_OUTPUT (2 * (size_t) FRAME_MAX)

static void
ctl_session_clear_ports__(struct ctl_session *s)
{
    for (size_t i = 0; i < s->n_ports; i++) {
        free(s->ports[i].iface);
    }
    free(s->ports);
    s->ports = NULL;
    s->n_ports = 0;
}

static void
ctl_session_close__(struct ctl_session *s, const char *why)
{
    struct controller *ctl = s->ctl;

    LOG_INFO_RL("agent %s (%s) disconnected: %s", s->peer,
                s->host ? s->host : "no hello", why);
    if (s->prev) {
        s->prev->next = s->next;
    } else {
        ctl->sessions = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    }
    ctl->n_sessions--;
    bufferevent_free(s->bev);
    ctl_session_clear_ports__(s);
    ctl_nfv_status_free(s);
    free(s->host);
    free(s->version);
    free(s->last_error);
    free(s);
}

struct ctl_session *
ctl_session_find(const struct controller *ctl, const char *host)
{
    for (struct ctl_session *s = ctl->sessions; s; s = s->next) {
        if (s->hello && !strcmp(s->host, host)) {
            return s;
        }
    }
    return NULL;
}

/* Queues 'env'; returns false if the session had to be closed. */
static bool
ctl_session_send__(struct ctl_session *s, const Anet__Envelope *env)
{
    struct evbuffer *out = bufferevent_get_output(s->bev);

    if (evbuffer_get_length(out) > CTL_SESSION_MAX_OUTPUT) {
        ctl_session_close__(s, "peer does not read");
        return false;
    }
    if (frame_write(out, env)) {
        LOG_ERR("desired state for %s exceeds the frame limit", s->host);
        return true;
    }
    return true;
}

static void
ctl_flows_to_proto__(const struct flow_set *fs, Anet__Flow **bufp,
                     Anet__Flow ***ptrsp)
{
    Anet__Flow *fls = xcalloc(fs->n + 1, sizeof *fls);
    Anet__Flow **ptrs = xcalloc(fs->n + 1, sizeof *ptrs);
    for (size_t i = 0; i < fs->n; i++) {
        flow_to_proto(&fs->flows[i], &fls[i]);
        ptrs[i] = &fls[i];
    }
    *bufp = fls;
    *ptrsp = ptrs;
}

static void
ctl_flows_proto_free__(Anet__Flow *fls, Anet__Flow **ptrs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        flow_proto_clear(&fls[i]);
    }
    free(fls);
    free(ptrs);
}

/* The packet actions of 'ch' as protobuf, in 'pas' (n entries); strings
 * live in 'strs' (freed by ctl_packet_actions_free__()). */
struct ctl_pa_proto {
    Anet__PacketAction *pas, **ptrs;
    Anet__DhcpLease *leases;
    Anet__StaticRoute *routes, **route_ptrs;
    char **strs;
    size_t n, n_strs, n_routes;
};

static char *
ctl_pa_str__(struct ctl_pa_proto *pp, char *s)
{
    pp->strs[pp->n_strs++] = s;
    return s;
}

static char *
ctl_pa_ip__(struct ctl_pa_proto *pp, uint32_t ip, int plen)
{
    char b[IP4_STRLEN];
    ip4_format(ip, b);
    return ctl_pa_str__(pp, plen >= 0 ? xasprintf("%s/%d", b, plen)
                                      : xstrdup(b));
}

static char *
ctl_pa_mac__(struct ctl_pa_proto *pp, uint64_t mac)
{
    char b[ETH_ADDR_STRLEN];
    eth_format(mac, b);
    return ctl_pa_str__(pp, xstrdup(b));
}

static void
ctl_packet_actions_to_proto__(const struct compiled_host *ch,
                              struct ctl_pa_proto *pp)
{
    size_t n = ch->n_actions, n_routes = 0, n_strs = 0;
    for (size_t i = 0; i < n; i++) {
        n_routes += ch->actions[i].n_routes;
        n_strs += 8 + ch->actions[i].n_dns + 2 * ch->actions[i].n_routes;
    }
    memset(pp, 0, sizeof *pp);
    pp->pas = xcalloc(n + 1, sizeof *pp->pas);
    pp->ptrs = xcalloc(n + 1, sizeof *pp->ptrs);
    pp->leases = xcalloc(n + 1, sizeof *pp->leases);
    pp->routes = xcalloc(n_routes + 1, sizeof *pp->routes);
    pp->route_ptrs = xcalloc(n_routes + 1, sizeof *pp->route_ptrs);
    pp->strs = xcalloc(n_strs + 1, sizeof *pp->strs);
    pp->n = n;
    for (size_t i = 0; i < n; i++) {
        const struct compiled_packet_action *a = &ch->actions[i];
        Anet__PacketAction *m = &pp->pas[i];
        anet__packet_action__init(m);
        pp->ptrs[i] = m;
        m->id = a->id;
        m->kind = (Anet__PacketAction__Kind) a->kind;
        m->port = a->port ? a->port : "";
        if (a->kind != COMPILE_PA_DHCP) {
            m->router_ip = ctl_pa_ip__(pp, a->router_ip, -1);
            m->router_mac = ctl_pa_mac__(pp, a->router_mac);
            m->router_metadata = a->router_metadata;
            m->router_port_key = a->router_port_key;
            if (a->kind == COMPILE_PA_ARP_RESOLVE
                || a->kind == COMPILE_PA_ARP_LEARN) {
                m->network_vni = a->network_vni;
                m->target_ip = ctl_pa_ip__(pp, a->target_ip, -1);
                m->network = a->network ? a->network : "";
            }
            if (a->kind == COMPILE_PA_REJECT) {
                /* The switch to inject the answer into. */
                m->network_vni = a->network_vni;
            }
            continue;
        }
        Anet__DhcpLease *l = &pp->leases[i];
        anet__dhcp_lease__init(l);
        m->lease = l;
        l->ip = ctl_pa_ip__(pp, a->ip, (int) a->plen);
        l->gateway = a->gateway ? ctl_pa_ip__(pp, a->gateway, -1) : "";
        l->mtu = a->mtu;
        l->lease_time = a->lease_time;
        l->server_ip = ctl_pa_ip__(pp, a->server_ip, -1);
        l->server_mac = ctl_pa_mac__(pp, a->server_mac);
        l->n_dns = a->n_dns;
        l->dns = (char **) &pp->strs[pp->n_strs];
        for (size_t k = 0; k < a->n_dns; k++) {
            ctl_pa_ip__(pp, a->dns[k], -1);
        }
        l->n_routes = a->n_routes;
        l->routes = &pp->route_ptrs[pp->n_routes];
        for (size_t k = 0; k < a->n_routes; k++) {
            Anet__StaticRoute *sr = &pp->routes[pp->n_routes];
            anet__static_route__init(sr);
            sr->prefix = ctl_pa_ip__(pp, a->routes[k].prefix,
                                     (int) a->routes[k].plen);
            sr->next_hop = ctl_pa_ip__(pp, a->routes[k].next_hop, -1);
            pp->route_ptrs[pp->n_routes++] = sr;
        }
    }
}

static void
ctl_packet_actions_free__(struct ctl_pa_proto *pp)
{
    for (size_t i = 0; i < pp->n_strs; i++) {
        free(pp->strs[i]);
    }
    free(pp->strs);
    free(pp->pas);
    free(pp->ptrs);
    free(pp->leases);
    free(pp->routes);
    free(pp->route_ptrs);
}

/* Sends generation 'generation' of host 'ch' (its light view): the full
 * state when 'delta' is NULL ('flows' = every flow), else a delta from
 * delta->base ('flows' = added and modified flows). */
static bool
ctl_session_send_desired__(struct ctl_session *s,
                           const struct compiled_host *ch,
                           uint64_t generation, const struct flow_set *flows,
                           const struct ctl_delta *delta)
{
    Anet__Envelope env = ANET__ENVELOPE__INIT;
    Anet__DesiredState ds = ANET__DESIRED_STATE__INIT;
    Anet__HostConfig hc = ANET__HOST_CONFIG__INIT;
    Anet__Flow *fls, *rms = NULL;
    char ip[IP4_STRLEN];

    ip4_format(ch->tunnel_ip, ip);
    char *tunnel_ip = xasprintf("%s/%u", ip, ch->tunnel_plen);
    hc.name = ch->name;
    hc.tunnel_ip = tunnel_ip;
    hc.underlay_iface = ch->underlay_iface ? ch->underlay_iface : "";
    hc.tunnel_ofport = COMPILE_TUNNEL_OFPORT;
    if (ch->dpdk.enabled) {
        hc.dpdk = true;
        hc.dpdk_socket_mem = ch->dpdk.socket_mem;
        hc.dpdk_pmd_cpu_mask = (char *) ch->dpdk.pmd_cpu_mask;
        hc.dpdk_lcore_mask = (char *) ch->dpdk.lcore_mask;
        hc.dpdk_pmd_maxsleep_us = ch->dpdk.pmd_maxsleep_us;
        hc.dpdk_af_packet = ch->dpdk.interfaces == TOPO_DPDK_IF_AF_PACKET;
    }
    ds.generation = generation;
    ds.host = &hc;

    Anet__PortBinding *pbs = xcalloc(ch->n_ports + 1, sizeof *pbs);
    char (*macs)[ETH_ADDR_STRLEN] = xcalloc(ch->n_ports + 1, sizeof *macs);
    ds.ports = xcalloc(ch->n_ports + 1, sizeof *ds.ports);
    ds.n_ports = ch->n_ports;
    for (size_t i = 0; i < ch->n_ports; i++) {
        const struct compiled_port *cp = &ch->ports[i];
        anet__port_binding__init(&pbs[i]);
        eth_format(cp->mac, macs[i]);
        pbs[i].name = cp->name;
        pbs[i].iface = cp->iface;
        pbs[i].ofport = cp->ofport;
        pbs[i].mac = macs[i];
        pbs[i].switch_name = cp->switch_name;
        if (cp->kind == TOPO_PORT_VHOST_USER) {
            pbs[i].kind = ANET__PORT_BINDING__KIND__VHOST_USER;
            pbs[i].socket = cp->socket ? cp->socket : "";
            pbs[i].vhost_server =
                cp->vhost_server == TOPO_VHOST_SERVER_OVS
                ? ANET__PORT_BINDING__VHOST_SERVER__OVS
                : ANET__PORT_BINDING__VHOST_SERVER__VM;
        }
        ds.ports[i] = &pbs[i];
    }

    ctl_flows_to_proto__(flows, &fls, &ds.flows);
    ds.n_flows = flows->n;
    if (delta) {
        ds.base_generation = delta->base;
        ctl_flows_to_proto__(&delta->removed, &rms, &ds.removed_flows);
        ds.n_removed_flows = delta->removed.n;
    }

    /* Packet actions are always complete, in full states and deltas. */
    struct ctl_pa_proto pp;
    ctl_packet_actions_to_proto__(ch, &pp);
    ds.packet_actions = pp.ptrs;
    ds.n_packet_actions = pp.n;

    /* anet-nfv instances, with the policy each runs (always complete). */
    Anet__NfvInstance *nis = xcalloc(ch->n_nfv + 1, sizeof *nis);
    Anet__NfvPort *nps = xcalloc(2 * ch->n_nfv + 1, sizeof *nps);
    Anet__NfvPort **npp = xcalloc(2 * ch->n_nfv + 1, sizeof *npp);
    ds.nfv = xcalloc(ch->n_nfv + 1, sizeof *ds.nfv);
    ds.n_nfv = ch->n_nfv;
    for (size_t i = 0; i < ch->n_nfv; i++) {
        const struct compiled_nfv *x = &ch->nfv[i];
        size_t len;
        anet__nfv_instance__init(&nis[i]);
        nis[i].name = x->name;
        nis[i].kind = x->kind == COMPILED_NFV_VAF
                      ? ANET__NFV_INSTANCE__KIND__VAF
                      : ANET__NFV_INSTANCE__KIND__VAD;
        nis[i].ports = &npp[2 * i];
        nis[i].n_ports = x->n_ports;
        for (size_t k = 0; k < x->n_ports; k++) {
            Anet__NfvPort *np = &nps[2 * i + k];
            anet__nfv_port__init(np);
            np->iface = x->ports[k].iface;
            np->ofport = x->ports[k].ofport;
            npp[2 * i + k] = np;
        }
        nis[i].config.data = ctl_nfv_policy(s->ctl->topo, x, &len);
        nis[i].config.len = len;
        ds.nfv[i] = &nis[i];
    }

    env.msg_case = ANET__ENVELOPE__MSG_DESIRED;
    env.desired = &ds;
    if (delta) {
        LOG_INFO("sending generation %llu to %s as a delta from %llu "
                 "(%zu ports, %zu flows put, %zu removed)",
                 (unsigned long long) generation, ch->name,
                 (unsigned long long) delta->base, ch->n_ports, flows->n,
                 delta->removed.n);
    } else {
        LOG_INFO("sending generation %llu to %s (%zu ports, %zu flows)",
                 (unsigned long long) generation, ch->name, ch->n_ports,
                 flows->n);
    }
    /* Recorded before the send: the frame is queued (or the session is
     * gone and nothing reads these). */
    s->sent_generation = generation;
    if (!delta) {
        s->full_generation = generation;
    }
    bool alive = ctl_session_send__(s, &env);
    ctl_packet_actions_free__(&pp);
    for (size_t i = 0; i < ch->n_nfv; i++) {
        free(nis[i].config.data);
    }
    free(nis);
    free(nps);
    free(npp);
    free(ds.nfv);

    ctl_flows_proto_free__(fls, ds.flows, flows->n);
    if (delta) {
        ctl_flows_proto_free__(rms, ds.removed_flows, delta->removed.n);
    }
    free(ds.ports);
    free(pbs);
    free(macs);
    free(tunnel_ip);
    return alive;
}

/* Sends the host's full state, its flows materialised from the engine. */
static bool
ctl_session_send_full__(struct ctl_session *s, const struct ctl_host *h,
                        const struct compiled_host *ch)
{
    struct flow_set fs;

    flow_set_init(&fs);
    compiler_host_flows(s->ctl->engine, h->name, &fs);
    bool alive = ctl_session_send_desired__(s, ch, h->desired_generation,
                                            &fs, NULL);
    flow_set_destroy(&fs);
    return alive;
}

/* Brings the session to the host's desired generation: always the full
 * state when 'force' (right after Hello or on need_full), else nothing if
 * it is there already, the delta if it starts at the session's
 * sent_generation, the full state otherwise. */
static bool
ctl_session_sync__(struct ctl_session *s, bool force)
{
    struct controller *ctl = s->ctl;
    const struct ctl_host *h = ctl_find_host(ctl, s->host);
    const struct compiled_host *ch = ctl_find_compiled(ctl, s->host);

    if (!h || !ch) {
        return true;
    }
    if (!force) {
        if (s->sent_generation == h->desired_generation) {
            return true;
        }
        if (h->delta && h->delta->base == s->sent_generation) {
            return ctl_session_send_desired__(s, ch, h->desired_generation,
                                              &h->delta->flows, h->delta);
        }
    }
    return ctl_session_send_full__(s, h, ch);
}

void
ctl_sessions_push(struct controller *ctl, const char *host)
{
    struct ctl_session *s = ctl_session_find(ctl, host);
    if (s) {
        ctl_session_sync__(s, false);
    }
}

static void
ctl_session_set_ports__(struct ctl_session *s, Anet__PortStatus **ports,
                        size_t n)
{
    ctl_session_clear_ports__(s);
    s->ports = xcalloc(n + 1, sizeof *s->ports);
    for (size_t i = 0; i < n; i++) {
        s->ports[i].iface = xstrdup(ports[i]->iface ? ports[i]->iface : "");
        s->ports[i].up = ports[i]->up;
        s->ports[i].ofport = ports[i]->ofport;
    }
    s->n_ports = n;
}

/* Copies what the session reported into its host's record (if any). */
static void
ctl_session_record__(struct ctl_session *s)
{
    struct ctl_host *h = ctl_find_host(s->ctl, s->host);
    if (h) {
        h->applied_generation = s->applied_generation;
        free(h->agent_version);
        h->agent_version = xstrdup(s->version ? s->version : "");
        free(h->last_error);
        h->last_error = s->last_error ? xstrdup(s->last_error) : NULL;
    }
}

static bool
ctl_session_hello__(struct ctl_session *s, const Anet__Hello *hello)
{
    if (!hello->host || !*hello->host) {
        ctl_session_close__(s, "Hello without a host name");
        return false;
    }
    /* A host has one agent: a new Hello replaces an older session. */
    struct ctl_session *old = ctl_session_find(s->ctl, hello->host);
    if (old && old != s) {
        ctl_session_close__(old, "replaced by a new session");
    }
    free(s->host);
    free(s->version);
    s->host = xstrdup(hello->host);
    s->version = xstrdup(hello->version ? hello->version : "");
    s->applied_generation = hello->applied_generation;
    s->hello = true;
    LOG_INFO("agent %s says hello: host %s, version %s, generation %llu",
             s->peer, s->host, s->version,
             (unsigned long long) s->applied_generation);
    if (!ctl_find_host(s->ctl, s->host)) {
        LOG_WARN_RL("agent %s claims host %s, which is not in the topology",
                    s->peer, s->host);
        return true;
    }
    ctl_session_record__(s);
    return ctl_session_sync__(s, true);
}

/* Neighbours an agent learned (the provider router's MAC): to server.c,
 * which recompiles later from the event loop if one is new. */
static void
ctl_session_neighbors__(struct ctl_session *s, Anet__Neighbor **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ctl_learn_neighbor(s->ctl, s->host, v[i]->network, v[i]->ip,
                           v[i]->mac);
    }
}

/* Handles ApplyResult; returns false if the session was closed. */
static bool
ctl_session_result__(struct ctl_session *s, const Anet__ApplyResult *r)
{
    ctl_session_neighbors__(s, r->neighbors, r->n_neighbors);
    if (r->need_full) {
        /* The agent could not take a delta: it keeps what it ran.  A full
         * state sent after that delta makes the request moot. */
        ctl_session_set_ports__(s, r->ports, r->n_ports);
        if (r->generation <= s->full_generation) {
            LOG_DBG("%s asks for the full state of generation %llu, already "
                    "sent at %llu", s->host, (unsigned long long) r->generation,
                    (unsigned long long) s->full_generation);
            return true;
        }
        LOG_INFO_RL("%s cannot apply the delta to generation %llu: sending "
                    "the full state", s->host,
                    (unsigned long long) r->generation);
        return ctl_session_sync__(s, true);
    }
    free(s->last_error);
    s->last_error = NULL;
    if (r->ok) {
        s->applied_generation = r->generation;
        LOG_INFO("%s applied generation %llu (+%u ~%u -%u flows)", s->host,
                 (unsigned long long) r->generation, r->flows_added,
                 r->flows_modified, r->flows_removed);
        if (r->error && *r->error) {
            /* Applied, with something the operator must still do (e.g.
             * restart OVS-DPDK for new memory settings): shown as the
             * host's last error until an apply comes back clean. */
            s->last_error = xstrdup(r->error);
            LOG_WARN_RL("%s: %s", s->host, s->last_error);
        }
    } else {
        s->last_error = xstrdup(r->error && *r->error ? r->error
                                : "apply failed");
        LOG_WARN_RL("%s failed to apply generation %llu: %s", s->host,
                    (unsigned long long) r->generation, s->last_error);
    }
    ctl_session_set_ports__(s, r->ports, r->n_ports);
    ctl_session_record__(s);
    return true;
}

static int
ctl_flow_counter_cmp__(const void *a_, const void *b_)
{
    const struct ctl_flow_counter *a = a_, *b = b_;
    return a->cookie < b->cookie ? -1 : a->cookie > b->cookie;
}

/* Replaces the host's flow counters by those of a Heartbeat.  The agent
 * sends them sorted and summed per cookie, but the wire is not trusted:
 * they are sorted and duplicates summed again here. */
static void
ctl_host_set_counters__(struct ctl_host *h, Anet__FlowStats **v, size_t n)
{
    free(h->counters);
    h->counters = NULL;
    h->n_counters = 0;
    h->counters_msec = time_msec();
    if (!n) {
        return;
    }
    struct ctl_flow_counter *c = xcalloc(n, sizeof *c);
    for (size_t i = 0; i < n; i++) {
        c[i] = (struct ctl_flow_counter) {
            .cookie = v[i]->cookie, .packets = v[i]->packets,
            .bytes = v[i]->bytes,
        };
    }
    qsort(c, n, sizeof *c, ctl_flow_counter_cmp__);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k && c[k - 1].cookie == c[i].cookie) {
            c[k - 1].packets += c[i].packets;
            c[k - 1].bytes += c[i].bytes;
        } else {
            c[k++] = c[i];
        }
    }
    h->counters = c;
    h->n_counters = k;
}

bool
ctl_host_counter(const struct ctl_host *h, uint64_t cookie,
                 uint64_t *packets, uint64_t *bytes)
{
    struct ctl_flow_counter key = { .cookie = cookie };
    const struct ctl_flow_counter *c;

    if (!h || !h->n_counters) {
        return false;
    }
    c = bsearch(&key, h->counters, h->n_counters, sizeof *c,
                ctl_flow_counter_cmp__);
    if (!c) {
        return false;
    }
    *packets = c->packets;
    *bytes = c->bytes;
    return true;
}

/* Handles one message; returns false if the session was closed. */
static bool
ctl_session_handle__(struct ctl_session *s, const Anet__Envelope *env)
{
    switch (env->msg_case) {
    case ANET__ENVELOPE__MSG_HELLO:
        return ctl_session_hello__(s, env->hello);
    case ANET__ENVELOPE__MSG_RESULT:
        if (!s->hello) {
            break;
        }
        return ctl_session_result__(s, env->result);
    case ANET__ENVELOPE__MSG_HEARTBEAT:
        if (s->hello && env->heartbeat->n_ports) {
            ctl_session_set_ports__(s, env->heartbeat->ports,
                                    env->heartbeat->n_ports);
        }
        if (s->hello) {
            ctl_session_neighbors__(s, env->heartbeat->neighbors,
                                    env->heartbeat->n_neighbors);
            struct ctl_host *h = ctl_find_host(s->ctl, s->host);
            if (h) {
                ctl_host_set_counters__(h, env->heartbeat->flow_stats,
                                        env->heartbeat->n_flow_stats);
                h->acl_log_suppressed = env->heartbeat->acl_log_suppressed;
            }
            ctl_acl_log_add(s->ctl, s->host, env->heartbeat->acl_log,
                            env->heartbeat->n_acl_log);
            ctl_nfv_set_status(s, env->heartbeat->nfv, env->heartbeat->n_nfv);
        }
        return true;
    case ANET__ENVELOPE__MSG_DESIRED:
    case ANET__ENVELOPE__MSG__NOT_SET:
    default:
        break;
    }
    LOG_WARN_RL("agent %s sent an unexpected message (case %d)", s->peer,
                (int) env->msg_case);
    ctl_session_close__(s, "protocol error");
    return false;
}

static void
ctl_session_read_cb__(struct bufferevent *bev, void *s_)
{
    struct ctl_session *s = s_;
    struct evbuffer *in = bufferevent_get_input(bev);

    for (;;) {
        Anet__Envelope *env;
        int r = frame_read(in, FRAME_MAX, &env);
        if (r == 0) {
            return;
        }
        if (r < 0) {
            LOG_WARN_RL("agent %s sent a bad frame: %s", s->peer,
                        strerror(-r));
            ctl_session_close__(s, "bad frame");
            return;
        }
        s->last_rx = time_msec();
        bool alive = ctl_session_handle__(s, env);
        anet__envelope__free_unpacked(env, NULL);
        if (!alive) {
            return;
        }
    }
}

static void
ctl_session_event_cb__(struct bufferevent *bev, short what, void *s_)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        ctl_session_close__(s_, what & BEV_EVENT_EOF ? "connection closed"
                                                     : "socket error");
    }
}

static void
ctl_accept_cb__(struct evconnlistener *l, evutil_socket_t fd,
                struct sockaddr *sa, int salen, void *ctl_)
{
    struct controller *ctl = ctl_;
    struct ctl_session *s = xzalloc(sizeof *s);
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->ctl = ctl;
    s->last_rx = time_msec();
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *) sa;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
        snprintf(s->peer, sizeof s->peer, "%s:%u", ip, ntohs(sin->sin_port));
    } else {
        snprintf(s->peer, sizeof s->peer, "fd %d", (int) fd);
    }
    s->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!s->bev) {
        evutil_closesocket(fd);
        free(s);
        return;
    }
    bufferevent_setcb(s->bev, ctl_session_read_cb__, NULL,
                      ctl_session_event_cb__, s);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    s->next = ctl->sessions;
    if (ctl->sessions) {
        ctl->sessions->prev = s;
    }
    ctl->sessions = s;
    ctl->n_sessions++;
    LOG_DBG("agent connection from %s", s->peer);
}

static void
ctl_heartbeat_cb__(evutil_socket_t fd, short what, void *ctl_)
{
    struct controller *ctl = ctl_;
    long long now = time_msec();
    Anet__Envelope env = ANET__ENVELOPE__INIT;
    Anet__Heartbeat hb = ANET__HEARTBEAT__INIT;

    hb.seq = ++ctl->hb_seq;
    env.msg_case = ANET__ENVELOPE__MSG_HEARTBEAT;
    env.heartbeat = &hb;
    for (struct ctl_session *s = ctl->sessions, *next; s; s = next) {
        next = s->next;
        if (now - s->last_rx > (long long) ctl->dead_ms) {
            LOG_WARN_RL("agent %s (%s) silent for %lld ms", s->peer,
                        s->host ? s->host : "no hello", now - s->last_rx);
            ctl_session_close__(s, "peer silent");
        } else {
            ctl_session_send__(s, &env);
        }
    }
}

int
ctl_sessions_start(struct controller *ctl, const struct sockaddr_in *sin)
{
    struct sockaddr_in bound;
    socklen_t len = sizeof bound;

    /* A full backlog: after a controller restart every agent of the
     * cluster reconnects at once, and libevent's default (128) would drop
     * the rest into a second of backoff. */
    ctl->listener = evconnlistener_new_bind(ctl->base, ctl_accept_cb__, ctl,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        SOMAXCONN, (const struct sockaddr *) sin, sizeof *sin);
    if (!ctl->listener) {
        int error = errno ? -errno : -EADDRINUSE;
        LOG_ERR("cannot listen for agents: %s", strerror(-error));
        return error;
    }
    getsockname(evconnlistener_get_fd(ctl->listener),
                (struct sockaddr *) &bound, &len);
    ctl->agent_port = ntohs(bound.sin_port);

    struct timeval tv = {
        .tv_sec = ctl->heartbeat_ms / 1000,
        .tv_usec = (ctl->heartbeat_ms % 1000) * 1000,
    };
    ctl->hb_timer = event_new(ctl->base, -1, EV_PERSIST, ctl_heartbeat_cb__,
                              ctl);
    event_add(ctl->hb_timer, &tv);
    LOG_INFO("listening for agents on port %u", ctl->agent_port);
    return 0;
}

void
ctl_sessions_stop(struct controller *ctl)
{
    while (ctl->sessions) {
        ctl_session_close__(ctl->sessions, "controller stopping");
    }
    if (ctl->hb_timer) {
        event_free(ctl->hb_timer);
        ctl->hb_timer = NULL;
    }
    if (ctl->listener) {
        evconnlistener_free(ctl->listener);
        ctl->listener = NULL;
    }
}

uint16_t
controller_agent_port(const struct controller *ctl)
{
    return ctl->agent_port;
}
