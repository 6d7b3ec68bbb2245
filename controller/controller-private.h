/* controller-private.h — the controller's internal state, shared by
 * server.c (state, apply, persistence), session.c (agent sessions) and
 * http.c (the HTTP API).  Not for use outside controller/.
 *
 * Design: the running engine (struct compiler, compile.h) is the one
 * source of every host's flows; they are materialised only to be sent in
 * full, listed (/api/v1/flows) or planned against.  Beside it the
 * controller keeps a light 'view' of every host (a compile_result whose
 * hosts hold name, underlay settings and ports with their OpenFlow numbers
 * but no flows): what DesiredState headers, show and hosts.json need, and
 * the seed that keeps port numbers.  The view is built by server.c only;
 * it is not a result of compile_topology(), so it must never be handed to
 * compile_result_destroy() or compile_provenance().
 *
 * Per host of the running topology there is one ctl_host record, kept in
 * the same order as view->hosts (sorted by name).  It holds the desired
 * generation, the delta that led to it (from the previous desired
 * generation, while it may still be pushed) and what the host's agent last
 * reported, so that show still tells the applied generation while the
 * agent is away.  Sessions are a plain doubly-linked list; a session refers
 * to its host by name (the host records are rebuilt on every apply), and a
 * session whose host is not in the topology is kept and shown as an unknown
 * agent.  A session tracks the generation its agent will run once it has
 * processed everything sent so far (sent_generation): a host's delta is
 * sent only to a session at exactly the delta's base, anything else gets
 * the full state.
 */
#ifndef ANET_CONTROLLER_PRIVATE_H
#define ANET_CONTROLLER_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include "controller/controller.h"
#include "datapath/flow.h"

struct bufferevent;
struct evconnlistener;
struct evhttp;
struct event;
struct compiled_host;
struct compiler;
struct compile_result;

/* A port state reported by an agent (ApplyResult / Heartbeat). */
struct ctl_port_status {
    char *iface;
    bool up;
    uint32_t ofport;
};

/* A neighbour learned by an agent on an external network (the provider
 * router's MAC when the topology does not give it), kept in the state dir
 * (neighbors.json). */
struct ctl_neighbor {
    char *network;
    uint32_t ip;
    uint64_t mac;
};

/* How a host's flows went from generation 'base' to its desired one. */
struct ctl_delta {
    uint64_t base;
    struct flow_set flows;      /* added and modified, sorted */
    struct flow_set removed;    /* removed (their keys matter), sorted */
};

struct ctl_host {
    char *name;
    uint64_t desired_generation;
    /* The last change of this host, from the previous desired generation;
     * NULL when there is none worth sending (host new, change larger than
     * the host's flows) or once it has been pushed. */
    struct ctl_delta *delta;
    /* Last reported by this host's agent; kept across disconnects. */
    uint64_t applied_generation;
    char *agent_version;        /* NULL until an agent said Hello */
    char *last_error;           /* NULL when the last apply was ok */
    /* The per-cookie flow counters of the agent's last Heartbeat, sorted
     * by cookie; kept when the agent goes away (as OVS keeps counting
     * without it), replaced whole by the next Heartbeat. */
    struct ctl_flow_counter *counters;
    size_t n_counters;
    long long counters_msec;    /* time_msec() of that Heartbeat; 0: none */
    uint64_t acl_log_suppressed;  /* LOG packets the agent dropped so far */
};

/* One cookie's counters on one host, as its agent last reported them. */
struct ctl_flow_counter {
    uint64_t cookie;
    uint64_t packets;
    uint64_t bytes;
};

struct ctl_session {
    struct ctl_session *prev, *next;
    struct controller *ctl;
    struct bufferevent *bev;
    char peer[64];              /* "ip:port", for logs */
    bool hello;                 /* Hello received */
    char *host;                 /* from Hello */
    char *version;
    uint64_t applied_generation;
    /* What the agent runs once it has processed every DesiredState sent on
     * this session, and the generation of the last full state sent. */
    uint64_t sent_generation;
    uint64_t full_generation;
    char *last_error;
    struct ctl_port_status *ports;
    size_t n_ports;
    long long last_rx;          /* msec, time_msec() */
    /* The anet-nfv instances of the last Heartbeat (gone with the
     * session: live telemetry). */
    struct ctl_nfv_status *nfv;
    size_t n_nfv;
};

/* One anet-nfv instance as its agent last reported it (nfv-view.c). */
struct ctl_nfv_status {
    char *name;
    bool running;
    uint32_t starts;
    uint64_t applied;           /* policy generation it runs */
    uint8_t *stats;             /* packed anet.nfv.NfvStats, or NULL */
    size_t stats_len;
};

/* A packet a logged security-group rule decided on, as reported by the
 * agent of 'host' and resolved when it arrived (acl-log.c). */
struct ctl_acl_event {
    uint64_t seq;               /* 1, 2, ... in arrival order */
    uint64_t time_ms;           /* Unix time at the agent */
    char *host, *port;          /* port: "" when unknown */
    char *object;               /* security_groups.G.DIR[i], or "" */
    char *direction, *action;   /* "" when the rule is gone */
    char *file;
    unsigned int line, col;
    uint8_t ip_proto;
    char src[16], dst[16];
    uint16_t src_port, dst_port;
    uint32_t length;
    uint64_t cookie;
};

/* The last CTL_ACL_LOG_KEEP events, oldest first from 'head'. */
#define CTL_ACL_LOG_KEEP 1000
struct ctl_acl_log {
    struct ctl_acl_event *ring;
    size_t head, n;
    uint64_t next_seq;
};

struct controller {
    struct event_base *base;
    char *state_dir;
    unsigned int heartbeat_ms, dead_ms;

    /* Running state. */
    struct topo *topo;                  /* NULL before the first apply */
    struct compiler *engine;            /* every host's flows */
    struct compile_result *view;        /* light hosts, no flows; never NULL */
    char *topology_file;                /* name given at apply */
    uint64_t generation;
    struct ctl_host *hosts;             /* parallel to view->hosts */
    size_t n_hosts;

    /* Learned neighbours; a change is recompiled from 'neigh_ev' (the
     * event loop, outside the session that reported it). */
    struct ctl_neighbor *neighbors;
    size_t n_neighbors, cap_neighbors;
    struct event *neigh_ev;
    bool neigh_pending;

    /* Agents. */
    struct evconnlistener *listener;
    uint16_t agent_port;
    struct ctl_session *sessions;       /* list head */
    size_t n_sessions;
    struct event *hb_timer;
    uint64_t hb_seq;

    struct ctl_acl_log acl_log;

    /* HTTP. */
    struct evhttp *http;
    uint16_t http_port;
};

/* server.c */
struct ctl_host *ctl_find_host(const struct controller *, const char *name);
/* Frees the host's delta (once pushed: later sessions get full states). */
void ctl_host_drop_delta(struct ctl_host *);
/* A neighbour reported by the agent of 'host' (strings from the wire).
 * Kept when it is the gateway_ip of an external network of the running
 * topology whose gateway_mac is not configured; a new or changed one is
 * stored, persisted and recompiled (new generation, deltas pushed) from
 * the event loop.  Anything else is ignored (rate-limited log). */
void ctl_learn_neighbor(struct controller *, const char *host,
                        const char *network, const char *ip,
                        const char *mac);
/* The MAC in use for external network 'e': configured, else learned
 * ('*learned' true), else 0. */
struct topo_external;
uint64_t ctl_gateway_mac(const struct controller *,
                         const struct topo_external *, bool *learned);
/* The light view of 'name' (ports and underlay settings; flows empty). */
const struct compiled_host *ctl_find_compiled(const struct controller *,
                                              const char *name);

/* session.c */
int ctl_sessions_start(struct controller *, const struct sockaddr_in *);
void ctl_sessions_stop(struct controller *);
/* Sends the session of 'host' (if any) what moves it from its
 * sent_generation to the host's desired generation: the host's delta when
 * it starts there, else the full state. */
void ctl_sessions_push(struct controller *, const char *host);
/* The connected session of 'host', or NULL. */
struct ctl_session *ctl_session_find(const struct controller *,
                                     const char *host);

/* The counters the agent of 'h' last reported for 'cookie': true and
 * '*packets', '*bytes', or false when it reported none for it. */
bool ctl_host_counter(const struct ctl_host *, uint64_t cookie,
                      uint64_t *packets, uint64_t *bytes);

/* nfv-policy.c: the serialized anet.nfv.NfvConfig of instance 'x' from
 * topology 't' (malloc'd, '*len' bytes); NULL when 't' has no such
 * instance. */
struct compiled_nfv;
uint8_t *ctl_nfv_policy(const struct topo *t, const struct compiled_nfv *x,
                        size_t *len);

/* nfv-view.c: the instances a Heartbeat reported replace the session's;
 * GET /api/v1/nfv: every instance of the running topology with its host,
 * ports, the policy generation wanted and run, and its last counters. */
struct Anet__NfvStatus;
void ctl_nfv_set_status(struct ctl_session *, struct Anet__NfvStatus *const *,
                        size_t n);
void ctl_nfv_status_free(struct ctl_session *);
json_t *ctl_nfv_json(const struct controller *);

/* acl-log.c */
struct Anet__AclLogEvent;
/* Records the logged packets a Heartbeat of 'host' carried (resolving rule
 * and port now, while the topology that logged them runs) and logs each
 * one, rate-limited. */
void ctl_acl_log_add(struct controller *, const char *host,
                     struct Anet__AclLogEvent *const *v, size_t n);
/* GET /api/v1/acl-log: {"events": [...], "next": SEQ, "suppressed": N}
 * with the events after 'since' (at most 'limit', the newest). */
json_t *ctl_acl_log_json(const struct controller *, uint64_t since,
                         size_t limit);
void ctl_acl_log_destroy(struct ctl_acl_log *);

/* http.c */
struct flow;
/* One flow as the API shows it: table, priority, cookie, match, actions
 * and provenance, looked up in 'r' when it is not NULL (a scratch result
 * of compile_topology()), else in 'engine' (may be NULL too). */
json_t *ctl_flow_json(struct compiler *engine, const struct compile_result *r,
                      const struct flow *);
/* GET /api/v1/rules: [{object, file, line, col, rule, packets, bytes,
 * hosts}], every security-group rule some connected agent reported
 * counters for, summed over those hosts, in YAML order. */
json_t *ctl_rules_json(const struct controller *);
int ctl_http_start(struct controller *, const struct sockaddr_in *);
void ctl_http_stop(struct controller *);

#endif
