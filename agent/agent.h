/* agent.h — the anet agent core: one controller session, the host's desired
 * state, and the loops that keep the datapath equal to it.
 *
 * What: an agent connects to the controller over TCP (length-prefixed
 * protobuf frames, proto/frame.h), says Hello{host, version, applied
 * generation}, applies every DesiredState it receives through a datapath
 * back-end (agent-dp.h) and answers ApplyResult.  Heartbeats go both ways
 * every 2 s; a controller silent for 6 s is dropped.  Every 5 s a reconcile
 * tick repairs the datapath towards the last desired state (a restarted
 * ovs-vswitchd gets its flows back), and link events re-run the port step.
 *
 * Session state machine:
 *
 *     STARTING --(applied generation read)--> BACKOFF
 *     BACKOFF --(timer)--> CONNECTING --(connected: send Hello)--> CONNECTED
 *     CONNECTING/CONNECTED --(error, EOF, bad frame, silence)--> BACKOFF
 *
 * The backoff starts at 100 ms, doubles up to 5 s, has jitter (each wait is
 * drawn from [b/2, b]) and is reset by the first valid frame of a session.
 * Losing the controller never touches the datapath: OVS keeps forwarding
 * with the installed flows (fail_mode=secure), and the only thing the agent
 * does to OVS meanwhile is the repairing reconcile.
 *
 * Design: no globals; everything hangs off struct agent and one caller-owned
 * event_base, so a test drives the loop itself and a simulation runs many
 * agents (null back-end) in one process.  Datapath calls are blocking with
 * timeouts (see ofconn.h for why that is the honest choice).
 *
 * Thread-safety: none; call everything from the event_base's thread.
 */
#ifndef ANET_AGENT_H
#define ANET_AGENT_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct agent;
struct agent_dp;
struct agent_desired;

struct agent_options {
    const char *host;             /* host name sent in Hello (required) */
    const char *controller;       /* "IP:PORT" or "[IPv6]:PORT" (required) */
    const char *datapath;         /* "ovs" (default) or "null" */
    const char *ovs_rundir;       /* default $OVS_RUNDIR or /var/run/openvswitch */
    const char *bridge;           /* default "br-int" */
    const char *underlay_bridge;  /* default "br-phy" */
    /* Timings in milliseconds; 0 selects the default given in brackets. */
    int heartbeat_ms;             /* [2000] */
    int peer_timeout_ms;          /* [6000] */
    int reconcile_ms;             /* [5000] */
    int backoff_min_ms;           /* [100] */
    int backoff_max_ms;           /* [5000] */
};

/* Creates an agent on 'base' and starts it (the first connection attempt
 * happens from the loop).  Strings in 'opt' are copied.  Returns NULL and
 * sets errno: EINVAL for a missing host, a bad controller address or an
 * unknown datapath; or the back-end's error. */
struct agent *agent_create(struct event_base *base,
                           const struct agent_options *opt);
void agent_destroy(struct agent *);                     /* NULL-safe */

/* Introspection (tests, simulations, logs). */
bool agent_is_connected(const struct agent *);
uint64_t agent_applied_generation(const struct agent *);
/* The last desired state accepted (NULL before the first one). */
const struct agent_desired *agent_desired_state(const struct agent *);
struct agent_dp *agent_datapath(struct agent *);
/* Number of TCP connections established to the controller so far. */
unsigned int agent_n_connects(const struct agent *);

#endif
