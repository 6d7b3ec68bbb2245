/* controller.h — the anet controller core: running topology, generations,
 * agent sessions and the HTTP/JSON API, all on one libevent event_base.
 *
 * What: a controller holds the running topology and its incremental
 * compiler engine (every host's flows, compactly), a generation number that
 * grows by one on every apply that changes some host's compiled output, and
 * per host the generation at which that host's output last changed (its
 * desired generation).  Agents connect over TCP (length-prefixed protobuf
 * frames, proto/frame.h), say Hello with the generation they run, and get
 * the host's full DesiredState; after an apply, a connected agent gets the
 * host's change as a delta (generation N-1 -> N) when it stands at the
 * delta's base, else the full state, and the full state whenever it answers
 * need_full.  Operators talk to the HTTP API (apply, plan, show, flows,
 * /metrics); anetctl is its command-line client.
 *
 * Design: the state dir (topology.yaml, generation, hosts.json) is written
 * atomically (tmp file, fsync, rename) before an apply is answered, and is
 * reloaded by controller_create(), so a restart changes nothing for agents
 * whose applied generation already matches.  The apply/plan/show/flows
 * functions below are what the HTTP handlers call; they are public so that
 * tests and tools can drive the core without HTTP.
 *
 * Thread-safety: none.  Everything runs on the event_base's thread.
 */
#ifndef ANET_CONTROLLER_H
#define ANET_CONTROLLER_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct event_base;
struct sockaddr_in;

#define CONTROLLER_DEFAULT_LISTEN "0.0.0.0:7470"
#define CONTROLLER_DEFAULT_HTTP "127.0.0.1:7471"
#define CONTROLLER_DEFAULT_STATE_DIR "/var/lib/anet"
#define CONTROLLER_HEARTBEAT_MS 2000
#define CONTROLLER_DEAD_MS 6000
#define CONTROLLER_MAX_BODY (16u << 20)   /* HTTP request body limit */

struct controller_options {
    const char *listen;          /* agents' endpoint "IP:PORT" (port 0 ok) */
    const char *http;            /* HTTP endpoint "IP:PORT" (port 0 ok) */
    const char *state_dir;       /* NULL: no persistence */
    unsigned int heartbeat_ms;   /* 0: CONTROLLER_HEARTBEAT_MS */
    unsigned int dead_ms;        /* 0: CONTROLLER_DEAD_MS */
};

/* Creates a controller on 'base': reloads the state dir (if it holds a
 * topology), binds both listeners.  Returns NULL with errno set on failure
 * (EINVAL for a bad endpoint or an unloadable saved topology, or the
 * socket error). */
struct controller *controller_create(struct event_base *,
                                     const struct controller_options *);
/* Closes every session and listener and frees everything.  NULL-safe. */
void controller_destroy(struct controller *);

/* The ports actually bound (useful with port 0). */
uint16_t controller_agent_port(const struct controller *);
uint16_t controller_http_port(const struct controller *);
uint64_t controller_generation(const struct controller *);
/* Desired generation of 'host', or 0 if the host is not in the topology. */
uint64_t controller_host_desired_generation(const struct controller *,
                                            const char *host);

/* Applies a topology.  'file' names the document in marks.  On success
 * returns 0 and '*reply' is the 200 body ({"generation", "changed_hosts",
 * "plan"}).  Returns -EINVAL with '*reply' = {"errors": [...]} when the
 * topology is refused (nothing changes), or another -errno with '*reply' =
 * {"error": "..."} when the state could not be persisted (nothing changes
 * either).  '*reply' is always set; the caller owns it. */
int controller_apply(struct controller *, const char *file,
                     const char *yaml, size_t len, json_t **reply);
/* Same input; never changes anything.  0 with {"hosts": {...}} or -EINVAL
 * with {"errors": [...]}. */
int controller_plan(struct controller *, const char *file,
                    const char *yaml, size_t len, json_t **reply);
/* GET /api/v1/show body.  Never NULL. */
json_t *controller_show(const struct controller *);
/* GET /api/v1/flows body, or NULL when 'host' is not in the topology. */
json_t *controller_flows(const struct controller *, const char *host);
/* Prometheus text for /metrics (heap string). */
char *controller_metrics(const struct controller *);

/* Parses "IP:PORT" (IPv4 only).  Returns 0 or -EINVAL. */
int controller_parse_endpoint(const char *, struct sockaddr_in *);

#endif
