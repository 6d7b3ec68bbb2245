/* compile.h — the compiler: logical topology -> one typed flow set per host.
 *
 * What: compile_topology() turns a validated topo into, for every host, the
 * flows of its br-int pipeline (see docs/pipeline.md), the workload ports it
 * must attach (interface -> OpenFlow port number) and its underlay settings.
 * Every flow carries a cookie naming the object and rule it came from;
 * compile_provenance() maps a cookie back to the object path and YAML line.
 *
 * Design: deterministic — the same topology (and the same previous result)
 * gives byte-identical flow sets.  OpenFlow port numbers are allocated per
 * host and kept stable across recompiles when a previous result is given
 * (a port keeps its number; new ports take free ones), so that a change
 * touches only the flows of the objects that changed.
 * compile_changed_hosts() says which hosts' outputs differ between two
 * results: the basis of `anetctl plan` and of what the controller pushes.
 *
 * Thread-safety: results are immutable once returned.
 */
#ifndef ANET_COMPILE_H
#define ANET_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "datapath/flow.h"
#include "controller/topo.h"

struct topo;

/* Pipeline tables (br-int). */
enum compile_table {
    TBL_CLASSIFY = 0,
    TBL_PORT_SEC = 10,
    TBL_ACL_IN = 20,            /* egress ACL of the sending port: ct */
    TBL_ACL_IN_RULES = 21,      /* its rules, after conntrack */
    TBL_L2 = 30,
    TBL_L3 = 40,
    TBL_NEIGH = 41,
    TBL_NAT_OUT = 45,           /* gateway host: source NAT towards the outside */
    TBL_NAT_OUT_DONE = 46,      /* gateway host: out through the localnet port */
    TBL_NAT_OUT_REPLY = 47,     /* gateway host: only replies may leave */
    TBL_SERVICE = 50,
    TBL_ACL_OUT = 60,           /* ingress ACL of the receiving port: ct */
    TBL_ACL_OUT_RULES = 61,     /* its rules, after conntrack */
    TBL_OUTPUT = 70,
};

/* The Geneve port's OpenFlow number on every host. */
#define COMPILE_TUNNEL_OFPORT 4000

struct compiled_port {
    char *name;            /* logical port */
    char *iface;           /* interface to attach */
    uint32_t ofport;
    uint64_t mac;
    char *switch_name;
    enum topo_port_kind kind;   /* vhost-user ports: 'iface' is the OVS */
    char *socket;               /* interface, 'socket' (else NULL) its */
    enum topo_vhost_server vhost_server;    /* socket */
};

/* A packet the pipeline hands to the agent (a controller action whose
 * userdata is 'id') and what the agent does with it: anet.PacketAction.
 * Ids are 16-bit and stable per object: a DHCP action's id is its port's
 * OpenFlow number (1..3999); a router port's ICMP errors take
 * 0x4000 + 4 * slot + (kind - 2), the slot probed per router port over all
 * routers (compile-l3.c); a router gateway's ARP actions take
 * 0x1000 + 2 * slot + (kind - 5), the slot (0..6143) probed per router
 * gateway (compile-gw.c), so the three ranges never meet.  REJECT ids
 * are 4000 + k (k < 96), the k-th switch by VNI of the host with a port
 * that has a reject rule (compile-sg.c), between DHCP's and ARP's.  A
 * host's one LOG action is 0xffff (an ICMP slot's fourth id, never used). */
enum compiled_packet_kind {
    COMPILE_PA_DHCP = 1,
    COMPILE_PA_TIME_EXCEEDED = 2,
    COMPILE_PA_NET_UNREACHABLE = 3,
    COMPILE_PA_HOST_UNREACHABLE = 4,
    COMPILE_PA_ARP_RESOLVE = 5,     /* every host of a router with a gateway */
    COMPILE_PA_ARP_LEARN = 6,       /* the external network's gateway host */
    COMPILE_PA_REJECT = 7,          /* a security group rejects: TCP RST /
                                     * ICMP port unreachable, injected into
                                     * switch network_vni's table 30 */
    COMPILE_PA_LOG = 8,             /* a logged security-group rule saw the
                                     * packet (its cookie names the rule) */
};

struct compiled_route {
    uint32_t prefix, next_hop;
    unsigned int plen;
};

struct compiled_packet_action {
    uint16_t id;
    uint8_t kind;               /* enum compiled_packet_kind */
    char *port;                 /* DHCP: logical port; NULL otherwise */
    uint32_t router_ip;         /* ICMP errors: the router port's address */
    uint64_t router_mac;
    uint64_t router_metadata;   /* ICMP errors: the router's datapath and */
    uint32_t router_port_key;   /* port, to route the error back (table 40) */
    /* ARP_RESOLVE / ARP_LEARN: router_ip/router_mac are the router's
     * gateway port's; the external network (name, VNI) and the address to
     * resolve (its gateway_ip).  REJECT: network_vni only. */
    char *network;
    uint32_t network_vni;
    uint32_t target_ip;
    /* DHCP lease (host order). */
    uint32_t ip, gateway, server_ip;
    unsigned int plen, mtu;
    uint32_t lease_time;
    uint64_t server_mac;
    uint32_t dns[4];
    size_t n_dns;
    struct compiled_route *routes;
    size_t n_routes;
};

/* An anet-nfv instance a host runs (anet.NfvInstance): its ports are
 * veth ends in br-int; the policy is sent from the topology ('policy' is
 * its hash, so that a change shows). */
enum { COMPILED_NFV_VAF = 0, COMPILED_NFV_VAD = 1 };
struct compiled_nfv_port {
    char *iface;
    uint32_t ofport;
};
struct compiled_nfv {
    char *name;
    int kind;                   /* COMPILED_NFV_* */
    struct compiled_nfv_port ports[2];
    size_t n_ports;
    uint64_t policy;
};
void compiled_nfv_clear(struct compiled_nfv *);

struct compiled_host {
    char *name;
    uint32_t tunnel_ip;
    unsigned int tunnel_plen;
    char *underlay_iface;
    struct topo_dpdk dpdk;                          /* OVS-DPDK settings */
    struct compiled_port *ports;  size_t n_ports;   /* sorted by name */
    struct flow_set flows;                          /* sorted */
    struct compiled_packet_action *actions;         /* sorted by id */
    size_t n_actions;
    struct compiled_nfv *nfv;  size_t n_nfv;        /* firewalls, then LBs */
};

struct compile_result {
    struct compiled_host *hosts;  size_t n_hosts;   /* sorted by name */
    /* unused (kept for layout); provenance is answered by the engine */
    struct compile_prov *prov;    size_t n_prov;
};

/* Compiles 'topo'.  'prev' (may be NULL) keeps OpenFlow port numbers
 * stable.  Never fails on a validated topology. */
struct compile_result *compile_topology(const struct topo *,
                                        const struct compile_result *prev);
void compile_result_destroy(struct compile_result *);   /* NULL-safe */

const struct compiled_host *compile_find_host(const struct compile_result *,
                                              const char *name);

/* Where a flow came from. */
struct compile_provenance {
    const char *kind;       /* "switch", "port", "host", "pipeline",
                             * "router" */
    const char *object;     /* object path, e.g. "ports.web1" */
    const char *file;
    unsigned int line, col;
    const char *rule;       /* what the flow does, e.g. "l2: deliver to web1" */
};
/* Returns false when the cookie is unknown to this result. */
bool compile_provenance(const struct compile_result *, uint64_t cookie,
                        struct compile_provenance *out);

/* Whether 'cookie' is a port's security-group default deny (no group of
 * the port allows the packet): 1 ingress, 2 egress, 0 neither. */
int compile_cookie_default_deny(uint64_t cookie);

/* Per host: true if its ports, underlay settings, packet actions or flows
 * differ between 'a' and 'b' (a host present in only one of them counts as changed).
 * Calls 'cb' for each changed host with the two versions (either may be
 * NULL). */
typedef void compile_host_cb(void *aux, const struct compiled_host *old_host,
                             const struct compiled_host *new_host);
void compile_changed_hosts(const struct compile_result *a,
                           const struct compile_result *b,
                           compile_host_cb *, void *aux);

/* --- The incremental engine ----------------------------------------------
 *
 * A struct compiler holds the model of the topology it last compiled
 * (hosts, switches and ports by name, each port with its OpenFlow number)
 * and every host's flows, compactly encoded (about 40-60 bytes per flow)
 * and grouped by the object that produced them: a port's own flows on its
 * host (classify, port security, output), a switch's block on each host it
 * spans (tunnel classify, the L2 entry of every port of the switch, the two
 * flood flows) and each host's table defaults.  compiler_apply() diffs a
 * new topology against the model object by object (by name), marks dirty
 * only the objects whose inputs changed and recomputes those; a full
 * compile is compiler_apply() on an empty compiler.  The flows of a host
 * are materialised as a sorted struct flow_set only on request.
 *
 * Port numbers: a port keeps its number while it stays on its host; ports
 * new to a host (added or moved) take a number in name order, first the
 * one given by 'seed' (a previous compile_result) when it is free, else
 * FNV-1a-64(name) mod 3999 + 1 probing upwards — the same numbers
 * compile_topology(new, prev) gives.
 *
 * Thread-safety: none; one compiler is used from one thread. */
struct compiler;

/* What one compiler_apply() changed on one host.  'modified' holds the new
 * versions of flows whose key stayed and whose cookie or actions changed.
 * The three sets are sorted. */
struct compile_host_delta {
    char *name;
    bool host_added, host_removed;
    bool config_changed;        /* ports, tunnel ip, underlay or packet
                                 * actions differ */
    struct flow_set added, removed, modified;
};

/* Only hosts whose output changed appear, sorted by name. */
struct compile_delta {
    struct compile_host_delta *hosts;
    size_t n_hosts;
};
void compile_delta_init(struct compile_delta *);
void compile_delta_destroy(struct compile_delta *);     /* NULL-safe */
size_t compile_delta_n_flows(const struct compile_delta *);

struct compiler *compiler_create(void);
void compiler_destroy(struct compiler *);               /* NULL-safe */

/* Brings the compiler to 'topo' (validated).  'seed' (may be NULL) gives
 * port numbers for ports new to a host.  'delta' (may be NULL; initialised
 * by the caller) receives what changed.  Never fails on a validated
 * topology; returns 0. */
int compiler_apply(struct compiler *, const struct topo *,
                   const struct compile_result *seed,
                   struct compile_delta *delta);

/* Single-object operations, O(size of the object's switch) whatever the
 * size of the topology: compiler_begin() starts a batch (its delta goes to
 * 'delta', may be NULL), compiler_port_set() adds or updates (moves) port
 * 'tp' onto existing host 'host' and switch 'sw' (tp->host and tp->sw are
 * ignored), compiler_port_remove() removes one; compiler_commit()
 * recomputes what they touched and finishes the delta.  Return -ENOENT for
 * an unknown host, switch or port; compiler_port_remove() returns -EBUSY
 * for a port added or moved in the same batch.  compiler_apply() is a batch of these
 * operations found by diffing a whole topology (O(topology) to diff). */
struct topo_port;
void compiler_begin(struct compiler *, struct compile_delta *delta);
int compiler_port_set(struct compiler *, const struct topo_port *tp,
                      const char *host, const char *sw);
int compiler_port_remove(struct compiler *, const char *name);
void compiler_commit(struct compiler *);

/* Learned neighbours (ARP, when an external network's gateway_mac is not
 * in the topology).  compiler_set_neighbor() records that 'ip' on external
 * network 'network' has MAC 'mac' (0 forgets it).  The compiler keeps the
 * record across compiler_apply() calls, also for a network it does not
 * know yet.  An external network's effective gateway MAC is its configured
 * gateway_mac, else the MAC learned for its gateway_ip, else unknown (its
 * routers then send packets for the outside to the agent to resolve it).
 * Inside a batch (compiler_begin() .. compiler_commit()) a change of an
 * effective MAC dirties only the external network, hence its component;
 * outside a batch it takes effect at the next compiler_apply().  Returns
 * true when the effective gateway MAC of 'network' changed. */
bool compiler_set_neighbor(struct compiler *, const char *network,
                           uint32_t ip, uint64_t mac);

/* Number of flows over all hosts, and of hosts. */
size_t compiler_n_flows(const struct compiler *);
size_t compiler_n_hosts(const struct compiler *);

/* Fills '*out' with the packet actions of 'host' (sorted by id; free
 * each with compiled_packet_action_clear() and the array with free()).
 * Returns false for an unknown host. */
bool compiler_host_actions(const struct compiler *, const char *host,
                           struct compiled_packet_action **out, size_t *n);
void compiled_packet_action_clear(struct compiled_packet_action *);
bool compiled_packet_actions_equal(const struct compiled_packet_action *,
                                   size_t, const struct compiled_packet_action *,
                                   size_t);

/* Materialises the sorted flows of 'host' into 'out' (initialised by the
 * caller, destroyed by the caller).  Returns false for an unknown host. */
bool compiler_host_flows(const struct compiler *, const char *host,
                         struct flow_set *out);

/* Light views of one host, without materialising flows.
 * compiler_host_config() fills 'out' with copies of the host's name,
 * underlay settings, ports (sorted by name, with their OpenFlow numbers)
 * and packet actions, and leaves out->flows empty; false for an unknown
 * host.
 * compiled_host_clear() frees what a compiled_host holds (NULL-safe).
 * compiler_host_n_flows() counts the host's flows (0 for an unknown host). */
bool compiler_host_config(const struct compiler *, const char *host,
                          struct compiled_host *out);
void compiled_host_clear(struct compiled_host *);
size_t compiler_host_n_flows(const struct compiler *, const char *host);

/* Provenance of a cookie from the engine's model.  The strings stay valid
 * until the next compiler_apply() or compiler_destroy(). */
bool compiler_provenance(struct compiler *, uint64_t cookie,
                         struct compile_provenance *out);

/* The security-group rule a cookie was compiled from (its verdict flows or
 * its conjunction clauses).  The strings stay valid until the next
 * compiler_apply() or compiler_destroy(). */
struct compile_sg_rule_info {
    const char *group;
    const char *direction;      /* "ingress" or "egress" */
    size_t index;               /* in the group's list of that direction */
    const char *action;         /* "allow", "deny" or "reject" */
    bool log;
    unsigned int line, col;
};
bool compiler_sg_rule(const struct compiler *, uint64_t cookie,
                      struct compile_sg_rule_info *out);

#endif
