/* agent-dp.h — the agent's datapath back-ends behind one small ops table.
 *
 * What: the agent core (agent.c) speaks to the controller and keeps the
 * host's desired state; a back-end makes that state real.  Two exist:
 *
 *   "ovs"   drives Open vSwitch: OVSDB (bridge.h) for br-phy, br-int and the
 *           workload ports, OpenFlow (ofconn.h) for the flow table, netlink
 *           (link.h) for link state, addresses and offloads.
 *   "null"  records the desired state and reports success; used to simulate
 *           hundreds of agents in one process without OVS, and by the unit
 *           tests of the agent core.
 *
 * Design: a back-end is a struct agent_dp embedded first in its private
 * struct and a const class of function pointers (nginx-style module shape,
 * "tables over if-chains").  The desired state handed to apply() is owned by
 * the agent core and stays valid until the next apply() or destroy(), so a
 * back-end may keep pointers into it (the ovs back-end does, for its
 * reconcile timer and link watch).
 *
 * Errors: 0 or negative errno; apply() also returns a malloc'd human
 * message in '*error'.  Thread-safety: none (one event loop).
 */
#ifndef ANET_AGENT_DP_H
#define ANET_AGENT_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "datapath/flow.h"
#include "datapath/flow-table.h"
#include "agent/pkt.h"
#include "agent/nfv.h"

struct event_base;

/* What a bound port is (anet.PortBinding.Kind). */
enum agent_port_kind {
    AGENT_PORT_INTERFACE,   /* a veth/tap that must exist on the host */
    AGENT_PORT_VHOST_USER,  /* a vhost-user socket (OVS-DPDK); 'iface' is
                             * only the OVS interface name */
};

/* One workload port the host must attach (from anet.PortBinding). */
struct agent_port {
    char *name;             /* logical port name */
    char *iface;            /* host interface name */
    char *mac;
    char *switch_name;
    uint32_t ofport;        /* OpenFlow port number the flows use */
    enum agent_port_kind kind;
    char *socket;           /* vhost-user socket path, "" otherwise */
    bool vhost_server_ovs;  /* OVS listens on 'socket' (dpdkvhostuser);
                             * false: the VM does (dpdkvhostuserclient) */
};

/* A host's OVS-DPDK settings (anet.HostConfig dpdk_*), a plain value. */
#define AGENT_DPDK_MASK_LEN 66  /* "0x" + up to 64 hex digits */
struct agent_dpdk {
    bool enabled;           /* false: the plain userspace datapath */
    uint32_t socket_mem;    /* MiB of hugepages */
    char pmd_cpu_mask[AGENT_DPDK_MASK_LEN + 1];
    char lcore_mask[AGENT_DPDK_MASK_LEN + 1];  /* "" = leave unset */
    uint32_t pmd_maxsleep_us;
    bool af_packet;         /* interface ports and the underlay as DPDK
                             * net_af_packet ports */
};

/* One host's whole desired state, as received in a DesiredState. */
struct agent_desired {
    uint64_t generation;
    char *host_name;
    char *tunnel_ip;        /* "a.b.c.d/len" or "" */
    char *underlay_iface;   /* "" when none */
    uint32_t tunnel_ofport;
    struct agent_dpdk dpdk;
    struct agent_port *ports;
    size_t n_ports;
    /* What to do with packets the pipeline sends to the agent (controller
     * actions with userdata = id); part of the header: always complete. */
    struct pkt_action *packet_actions;
    size_t n_packet_actions;
    /* The NFV instances this host runs (agent/nfv.h; always complete, part
     * of the header like the ports). */
    struct agent_nfv *nfv;
    size_t n_nfv;
    /* The flows, indexed by key: deltas change it in O(change).  'flows' is
     * a sorted copy built on demand by agent_desired_flows() for the full
     * syncs that need one (first apply, repair); read it only through that
     * function. */
    struct flow_table table;
    struct flow_set flows;
    bool flows_stale;
};

struct agent_desired *agent_desired_create(void);
void agent_desired_destroy(struct agent_desired *);      /* NULL-safe */
/* Deep copy. */
struct agent_desired *agent_desired_clone(const struct agent_desired *);
/* Replaces the host config, ports and packet actions of 'to' by copies of
 * those of 'from' (flows untouched). */
void agent_desired_copy_header(struct agent_desired *to,
                               const struct agent_desired *from);
/* The flows, sorted (rebuilt from 'table' when a delta changed it since the
 * last call; the result stays valid until the next change). */
const struct flow_set *agent_desired_flows(const struct agent_desired *);

/* The flow changes of one delta generation.  'add' holds flows whose key
 * the previous generation did not have, 'modify' the new versions of flows
 * it had, 'remove' the previous generation's flows that go away. */
struct agent_delta {
    const struct flow *const *add;
    size_t n_add;
    const struct flow *const *modify;
    size_t n_modify;
    const struct flow *const *remove;
    size_t n_remove;
};

/* Current state of one bound port, parallel to desired->ports. */
struct agent_port_status {
    const char *iface;      /* points into the desired state */
    bool up;                /* the iface exists and OVS numbered it */
    uint32_t ofport;        /* actual ofport, 0 when unknown */
};

/* Counters of one apply. */
struct agent_apply_stats {
    unsigned int added;
    unsigned int modified;
    unsigned int removed;
};

struct agent_dp_config {
    const char *ovs_rundir;      /* OVSDB at DIR/db.sock, OpenFlow at DIR/BR.mgmt */
    const char *bridge;          /* integration bridge, "br-int" */
    const char *underlay_bridge; /* "br-phy" */
};

/* Called by a back-end when something the core reports changed on its own:
 * the status of a bound port (an interface appeared or disappeared), or the
 * learned neighbours (pkt.h, ARP_LEARN).  The core sends a heartbeat. */
typedef void agent_dp_ports_changed_cb(void *aux);

/* The counters of every flow of one cookie on this host, summed (several
 * flows may share a cookie: one rule can compile to many flows). */
struct agent_flow_stats {
    uint64_t cookie;
    uint64_t packets;
    uint64_t bytes;
};

/* Sums the per-flow counters 'stats' (parallel to 'flows') per cookie.
 * Returns the number of distinct cookies and '*out' (malloc'd, sorted by
 * cookie; NULL when there are none).  Flows with cookie 0 (not ours) are
 * left out. */
struct ofconn_flow_stats;
size_t agent_flow_stats_sum(const struct flow_set *flows,
                            const struct ofconn_flow_stats *stats,
                            struct agent_flow_stats **out);

struct agent_dp;

struct agent_dp_class {
    const char *name;
    /* Creates the back-end.  Must not fail because OVS is not up yet:
     * connections are (re)made lazily.  Returns 0 and '*dpp' or -errno. */
    int (*create)(struct event_base *, const struct agent_dp_config *,
                  agent_dp_ports_changed_cb *, void *aux,
                  struct agent_dp **dpp);
    void (*destroy)(struct agent_dp *);
    /* Reads the generation last applied on this host (survives agent
     * restarts).  0 and '*gen' (0 when none), or -errno when the datapath
     * cannot be asked yet (the caller retries). */
    int (*read_generation)(struct agent_dp *, uint64_t *gen);
    /* Makes 'desired' real.  'delta' is NULL for a full state; otherwise
     * the datapath is known to run the previous generation and only the
     * delta's flow changes need to be made (ports and host config are
     * always checked whole).  On failure '*error' gets a message. */
    int (*apply)(struct agent_dp *, const struct agent_desired *,
                 const struct agent_delta *delta,
                 struct agent_apply_stats *, char **error);
    /* Periodic repair towards the last applied state: no change when the
     * datapath already matches.  Never flushes. */
    void (*reconcile)(struct agent_dp *, const struct agent_desired *);
    /* Fills 'out' (desired->n_ports entries) with the ports' status. */
    void (*port_status)(struct agent_dp *, const struct agent_desired *,
                        struct agent_port_status *out);
    /* The neighbours the packet path learned ('*n' entries), reported in
     * every Heartbeat and ApplyResult.  Valid until the loop runs again. */
    const struct pkt_neighbor *(*neighbors)(struct agent_dp *, size_t *n);
    /* The per-cookie flow counters of the bridge ('*n' entries, sorted by
     * cookie), reported in every Heartbeat.  May be cached for a couple of
     * seconds; NULL with '*n' 0 when there are none or the datapath cannot
     * be asked.  Valid until the next call or destroy. */
    const struct agent_flow_stats *(*flow_stats)(struct agent_dp *,
                                                 size_t *n);
    /* Moves up to 'max' logged packets (pkt.h, LOG) into 'out' and returns
     * their number, '*suppressed' the LOG packets dropped so far.  May be
     * NULL (a back-end without a packet path logs nothing). */
    size_t (*take_acl_log)(struct agent_dp *, struct pkt_log_event *out,
                           size_t max, uint64_t *suppressed);
    /* The host's anet-nfv instances (agent/nfv.h) into 'out', at most
     * 'max'; pointers valid until the loop runs again.  May be NULL. */
    size_t (*nfv_status)(struct agent_dp *, struct nfv_sup_status *out,
                         size_t max);
};

struct agent_dp {
    const struct agent_dp_class *class;
};

extern const struct agent_dp_class agent_dp_ovs_class;
extern const struct agent_dp_class agent_dp_null_class;

/* Looks a back-end up by name ("ovs", "null"); NULL if unknown. */
const struct agent_dp_class *agent_dp_class_find(const char *name);

/* The null back-end's record of what it was asked to apply (NULL before the
 * first apply, or when 'dp' is not a null back-end), and how many applies
 * it saw.  For tests and simulations. */
const struct agent_desired *agent_dp_null_state(const struct agent_dp *);
unsigned int agent_dp_null_n_applies(const struct agent_dp *);
/* The null back-end's packet path: it has no switch connection, but it
 * follows the applied packet actions and learns neighbours like the real
 * one, so that tests and simulations feed it packet-ins with
 * pkt_path_handle_msg().  NULL when 'dp' is not a null back-end. */
struct pkt_path *agent_dp_null_pkt_path(struct agent_dp *);

#endif
