/* controller-private.h — the controller's internal state, shared by
 * server.c (state, apply, persistence), session.c (agent sessions) and
 * http.c (the HTTP API).  Not for use outside controller/.
 *
 * Design: per host of the running topology there is one ctl_host record,
 * kept in the same order as compile_result.hosts (sorted by name).  It holds
 * the desired generation and what the host's agent last reported, so that
 * show still tells the applied generation while the agent is away.  Sessions
 * are a plain doubly-linked list; a session refers to its host by name (the
 * host records are rebuilt on every apply), and a session whose host is not
 * in the topology is kept and shown as an unknown agent.
 */
#ifndef ANET_CONTROLLER_PRIVATE_H
#define ANET_CONTROLLER_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include "controller/controller.h"

struct bufferevent;
struct evconnlistener;
struct evhttp;
struct event;
struct compiled_host;

/* A port state reported by an agent (ApplyResult / Heartbeat). */
struct ctl_port_status {
    char *iface;
    bool up;
    uint32_t ofport;
};

struct ctl_host {
    char *name;
    uint64_t desired_generation;
    /* Last reported by this host's agent; kept across disconnects. */
    uint64_t applied_generation;
    char *agent_version;        /* NULL until an agent said Hello */
    char *last_error;           /* NULL when the last apply was ok */
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
    char *last_error;
    struct ctl_port_status *ports;
    size_t n_ports;
    long long last_rx;          /* msec, time_msec() */
};

struct controller {
    struct event_base *base;
    char *state_dir;
    unsigned int heartbeat_ms, dead_ms;

    /* Running state. */
    struct topo *topo;                  /* NULL before the first apply */
    struct compile_result *result;      /* NULL before the first apply */
    char *topology_file;                /* name given at apply */
    uint64_t generation;
    struct ctl_host *hosts;             /* parallel to result->hosts */
    size_t n_hosts;

    /* Agents. */
    struct evconnlistener *listener;
    uint16_t agent_port;
    struct ctl_session *sessions;       /* list head */
    size_t n_sessions;
    struct event *hb_timer;
    uint64_t hb_seq;

    /* HTTP. */
    struct evhttp *http;
    uint16_t http_port;
};

/* server.c */
struct ctl_host *ctl_find_host(const struct controller *, const char *name);
const struct compiled_host *ctl_find_compiled(const struct controller *,
                                              const char *name);

/* session.c */
int ctl_sessions_start(struct controller *, const struct sockaddr_in *);
void ctl_sessions_stop(struct controller *);
/* Sends the DesiredState of 'host' to every session of that host whose
 * applied generation differs from the desired one. */
void ctl_sessions_push(struct controller *, const char *host);
/* The connected session of 'host', or NULL. */
struct ctl_session *ctl_session_find(const struct controller *,
                                     const char *host);

/* http.c */
struct flow;
/* One flow as the API shows it: table, priority, cookie, match, actions
 * and provenance looked up in 'r' (may be NULL). */
json_t *ctl_flow_json(const struct compile_result *r, const struct flow *);
int ctl_http_start(struct controller *, const struct sockaddr_in *);
void ctl_http_stop(struct controller *);

#endif
