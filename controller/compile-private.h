/* compile-private.h — the compiler engine's internals, shared by
 * compile-engine.c (model, apply, dirty tracking, deltas), compile-flows.c
 * (flow generators and the compact flow encoding), compile-prov.c
 * (provenance on demand) and compile.c (the compile_result API).
 *
 * Objects live in arrays indexed by a 32-bit id; names map to ids through
 * open-addressing tables.  Compiled flows are stored as compact records
 * (struct cflows: one malloc'd byte string per producing object and host),
 * never as struct flow, which costs several hundred bytes each.
 */
#ifndef ANET_COMPILE_PRIVATE_H
#define ANET_COMPILE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/compile.h"

struct topo;
struct topo_router;
struct topo_switch;

#define CE_NONE UINT32_MAX
#define COMPILE_MAX_OFPORT 3999u

/* Cookie kinds and rules (docs/pipeline.md). */
enum compile_kind {
    COMPILE_KIND_PIPELINE = 1,
    COMPILE_KIND_HOST = 2,
    COMPILE_KIND_SWITCH = 3,
    COMPILE_KIND_PORT = 4,
    COMPILE_KIND_ROUTER = 5,
    COMPILE_KIND_GATEWAY = 6,
    COMPILE_KIND_SG = 7,        /* security group rule (compile-sg.c) */
    COMPILE_KIND_NFV = 8,       /* firewall steering (compile-nfv.c) */
};
/* Firewall flows (kind COMPILE_KIND_NFV, object "firewalls.NAME"). */
enum {
    COMPILE_NFV_STEER = 1,      /* table 41: routed traffic into the fw */
    COMPILE_NFV_TUNNEL = 2,     /* table 0 on its host: steering VNI in */
    COMPILE_NFV_OUT = 3,        /* table 0: its output into a switch */
    COMPILE_NFV_ANSWER = 4,     /* table 0: its own answers, routed back */
};
/* Gateway rules (compile-gw.c).  Their cookies hash the provenance path
 * itself: "external_networks.internet", "routers.r1.gateway",
 * "routers.r1.snat[web]", "routers.r1.floating_ips[0]",
 * "routers.r1.port_forwards[0]". */
enum {
    COMPILE_GW_LOCALNET_IN = 1,     /* network: classify from the localnet */
    COMPILE_GW_LOCALNET_OUT = 2,    /* network: table 70 to the localnet */
    COMPILE_GW_TUNNEL_IN = 3,       /* network: tunnel classify (gw host) */
    COMPILE_GW_TO_OUTSIDE = 4,      /* network: L2 to the provider router */
    COMPILE_GW_OUT_DONE = 5,        /* network: table 46 -> localnet */
    COMPILE_GW_OUT_REPLY = 6,       /* network: table 47 replies leave */
    COMPILE_GW_OWN = 7,             /* gateway: the router's own packets */
    COMPILE_GW_UNPRIV = 8,          /* gateway: un-NAT replies only */
    COMPILE_GW_UNNAT = 9,           /* gateway: inbound to gw ip: un-NAT */
    COMPILE_GW_DROP_NEW = 10,       /* gateway: no new connection inward */
    COMPILE_GW_SNAT = 11,           /* snat: source NAT of a switch */
    COMPILE_GW_FIP_OUT = 12,        /* floating ip: source NAT */
    COMPILE_GW_FIP_IN = 13,         /* floating ip: destination NAT */
    COMPILE_GW_FIP_ARP = 14,        /* floating ip: ARP answer */
    COMPILE_GW_FWD_IN = 15,         /* port forward: destination NAT */
    COMPILE_GW_FWD_ARP = 16,        /* port forward: ARP answer (own ip) */
    COMPILE_GW_ARP_LEARN = 17,      /* gateway: ARP replies -> agent */
    COMPILE_GW_FLOOD = 18,          /* network: broadcasts to the outside */
};
/* Router rules (compile-l3.c).  Cookies of router rules name the router
 * ("r1"), a router port ("r1:web" = routers.r1.ports[web]), a route
 * ("r1#0" = routers.r1.routes[0]) or, for DHCP and ARP answers, a switch
 * or port; the object string hashed into the cookie says which. */
enum {
    COMPILE_RT_ARP = 1,         /* router port: ARP responder (table 30) */
    COMPILE_RT_MAC = 2,         /* router port: router MAC hit (table 30) */
    COMPILE_RT_ECHO = 3,        /* router port: ping reply (table 40) */
    COMPILE_RT_TTL = 4,         /* router port: time exceeded (table 40) */
    COMPILE_RT_CONNECTED = 5,   /* router port: connected route */
    COMPILE_RT_STATIC = 6,      /* route: static route (table 40) */
    COMPILE_RT_NO_ROUTE = 7,    /* router port: net unreachable */
    COMPILE_RT_NEIGH = 8,       /* router port: next hop -> MAC (table 41) */
    COMPILE_RT_NO_NEIGH = 9,    /* router port: host unreachable */
    COMPILE_RT_PORT_ARP = 10,   /* port: ARP responder for its ip */
    COMPILE_RT_DHCP_SEC = 11,   /* port: DHCP discover from 0.0.0.0 */
    COMPILE_RT_DHCP = 12,       /* port: DHCP to the agent */
    COMPILE_RT_RESOLVE = 13,    /* router port: next hop MAC unknown ->
                                 * agent (ARP_RESOLVE) */
};
#define COMPILE_ROUTER_DP 0x1000000u
#define COMPILE_PA_SLOTS 12288u
#define COMPILE_PA_ICMP_BASE 0x4000u
#define COMPILE_ARP_SLOTS 6144u
#define COMPILE_PA_ARP_BASE 0x1000u
enum {
    COMPILE_PORT_CLASSIFY = 1,
    COMPILE_PORT_SEC_IP = 2,
    COMPILE_PORT_SEC_ARP = 3,
    COMPILE_PORT_SEC_MAC = 4,
    COMPILE_PORT_L2_LOCAL = 5,
    COMPILE_PORT_L2_REMOTE = 6,
    COMPILE_PORT_OUTPUT = 7,
    /* Security groups (compile-sg.c), tables 20/21 and 60/61. */
    COMPILE_PORT_ACL_CT = 8,        /* IPv4 into conntrack (port zone) */
    COMPILE_PORT_ACL_DHCP = 9,      /* DHCP to the agent bypasses egress */
    COMPILE_PORT_ACL_EST = 10,      /* +est / +rel pass */
    COMPILE_PORT_ACL_INV = 11,      /* +inv drops */
    COMPILE_PORT_ACL_NEXT = 12,     /* no rule of a group matched: next */
    COMPILE_PORT_ACL_REJECT = 13,   /* no group allowed, one rejected */
    COMPILE_PORT_ACL_AGENT = 14,    /* the agent's answers skip ingress */
    COMPILE_PORT_ACL_ARP = 15,      /* ARP passes */
    COMPILE_PORT_ACL_OTHER = 16,    /* neither IPv4 nor ARP: drop */
    COMPILE_PORT_ACL_DENY_IN = 17,  /* no group allows (ingress): drop */
    COMPILE_PORT_ACL_DENY_OUT = 18, /* no group allows (egress): drop */
};
/* Security group rule flows (kind COMPILE_KIND_SG, object
 * "security_groups.web.ingress[2]"). */
enum {
    COMPILE_SG_RULE = 1,            /* the rule's verdict (direct match or
                                     * conj_id) */
    COMPILE_SG_CLAUSE = 2,          /* a conjunction clause */
};
enum {
    COMPILE_SWITCH_TUNNEL_IN = 1,
    COMPILE_SWITCH_FLOOD_LOCAL = 2,
    COMPILE_SWITCH_FLOOD_TUNNEL = 3,
};
#define COMPILE_PIPELINE_NAME "pipeline"

/* A packed list of flow records.  Record: u32 total length, u16 key length,
 * key (table, priority, fields), value (cookie, actions); integers as
 * LEB128 varints. */
struct cflows {
    uint8_t *buf;
    uint32_t len, n;
};

/* A growable scratch buffer. */
struct cbuf {
    uint8_t *p;
    size_t len, cap;
    uint32_t n;
};

/* A changed record waiting in the current apply for compile_delta_finish__()
 * to pair it with the other side by key: 'host' is the index of its host in
 * the delta, 'side' 0 for an old record and 1 for a new one, 'off' where its
 * copy starts in struct compiler's 'drecs'. */
struct cdelta_rec {
    uint32_t host, side;
    size_t off;
};

/* Name -> id, open addressing, linear probing; 'names' points into the
 * owning object. */
struct cmap {
    struct cmap_slot { uint32_t hash, id; const char *name; } *slots;
    size_t n, cap;          /* cap is 0 or a power of two */
};

struct cport {
    char *name, *iface;
    enum topo_port_kind kind;   /* vhost-user: 'socket' (else NULL) */
    char *socket;
    enum topo_vhost_server vhost_server;
    uint32_t *sg;  size_t n_sg; /* security groups (csg ids, name order) */
    uint32_t sg_ip;             /* the ip its groups' members know */
    uint16_t reject_id;         /* its switch's REJECT packet action on its
                                 * host, 0 when it has no reject rule */
    uint32_t host, sw;          /* ids */
    uint32_t ip;
    uint64_t mac;
    uint32_t line, col;
    uint32_t ofport;
    uint32_t host_pos, sw_pos;  /* positions in the host's / switch's list */
    uint32_t fl_host;           /* where 'fl' is installed, CE_NONE if not */
    struct cflows fl;           /* classify, port security, output */
    bool live, dirty, seen, pending;
    bool localnet;              /* an external network's localnet port
                                 * ("localnet:NET", ip/mac = the provider
                                 * router's) */
};

struct chost {
    char *name, *underlay;
    struct topo_dpdk dpdk;
    uint32_t tunnel_ip;
    unsigned int plen;
    uint32_t line, col;
    uint32_t *ports;  size_t n_ports, cap_ports;
    uint8_t taken[(COMPILE_MAX_OFPORT + 8) / 8];
    struct cflows defaults;
    uint32_t *owners;  size_t n_owners, cap_owners;  /* switch id or
                                 * COMPILE_OWNER_ROUTER | router id */
    uint64_t pa_hash;           /* of its packet actions */
    bool touched;
    uint32_t stamp;             /* scratch for set membership */
    uint32_t delta;             /* index in the apply's delta or CE_NONE */
    bool live, seen, dirty;
};

struct cswitch_block {
    uint32_t host;
    struct cflows fl;
};

struct cswitch {
    char *name;
    uint32_t vni;
    uint32_t net;               /* cidr, 0/0 when none */
    unsigned int plen, mtu;
    bool dhcp;                  /* DHCP enabled (and a cidr) */
    uint32_t dns[4];
    size_t n_dns;
    uint32_t lease_time;
    struct compiled_route *dhcp_routes;
    size_t n_dhcp_routes;
    /* Hosts the switch's blocks live on when it belongs to a component
     * with routers (every host with a port on any of its switches); when
     * 'spanned' is false, the hosts with ports on it. */
    uint32_t *span;  size_t n_span;
    bool spanned;
    uint32_t uf;                /* scratch: union-find parent */
    uint32_t line, col;
    uint32_t *ports;  size_t n_ports, cap_ports;
    struct cswitch_block *blocks;  size_t n_blocks, cap_blocks;
    uint32_t stamp;             /* scratch for set membership */
    bool live, seen, dirty;
    bool external;              /* an external network (in ext_map): its
                                 * only port is the localnet port */
    uint32_t gw_ip;             /* external: the provider router's ip */
    uint64_t gw_mac_cfg;        /* external: its configured MAC, 0 = none */
};

/* A learned neighbour (compiler_set_neighbor()). */
struct cneigh {
    char *network;
    uint32_t ip;
    uint64_t mac;
};

struct crouter_port {
    uint32_t sw;                /* switch id */
    uint32_t ip;
    unsigned int plen;
    uint64_t mac;
    uint32_t slot;              /* packet action slot */
    uint32_t line, col;
};

struct crouter_route {
    uint32_t prefix, next_hop;
    unsigned int plen;
    uint32_t line, col;
};

/* Gateway data of a router, resolved against the topology (compile-gw.c):
 * snat switches with their cidr, floating ips and port forwards with the
 * address of their workload. */
struct crouter_snat {
    uint32_t sw, net;
    unsigned int plen;
};

struct crouter_fip {
    uint32_t ip, inner;
    uint32_t line, col;
};

struct crouter_fwd {
    uint32_t ip, inner;
    uint8_t proto;
    uint16_t port, to_port;
    uint32_t line, col;
};

struct crouter {
    char *name;
    uint32_t rid;               /* 24-bit datapath id */
    uint32_t line, col;
    struct crouter_port *ports;    size_t n_ports;   /* by switch name, then
                                                      * the gateway port */
    struct crouter_route *routes;  size_t n_routes;
    struct cswitch_block *blocks;  size_t n_blocks, cap_blocks;
    uint32_t *span;  size_t n_span;                  /* hosts, by name */
    bool live, seen, dirty;

    /* Gateway (gw_sw == CE_NONE: none).  The gateway port is the last
     * entry of 'ports', key gw_key. */
    uint32_t gw_sw, gw_key;
    uint32_t gw_line, gw_col;
    struct crouter_snat *snat;  size_t n_snat;
    struct crouter_fip *fips;   size_t n_fips;
    struct crouter_fwd *fwds;   size_t n_fwds;
    uint32_t arp_slot;          /* ARP packet action slot, CE_NONE if none */
};

/* Security groups (compile-sg.c). */
struct csg_cidr {
    uint32_t net;
    unsigned int plen;
};

struct csg_rule {
    uint8_t proto;              /* enum topo_sg_proto */
    uint8_t action;             /* enum topo_sg_action */
    uint16_t port_min, port_max;        /* 0/0: any */
    int icmp_type, icmp_code;           /* -1: any */
    struct csg_cidr *cidrs;  size_t n_cidrs;
    uint32_t remote;            /* csg id of the remote group, CE_NONE */
    uint32_t line, col;
    bool log;                   /* report the packets it decides on */
};

/* Direction 0 = ingress (tables 60/61), 1 = egress (tables 20/21). */
struct csg {
    char *name;
    struct csg_rule *rules[2];  size_t n_rules[2];
    uint64_t hash;              /* of the rules, remote groups by name */
    uint32_t line, col;
    uint32_t *members;  size_t n_members, cap_members;   /* port ids */
    bool live, seen, rules_dirty, members_dirty;
};

/* A firewall (compile-nfv.c): side 0 (LEFT) faces sw[0], 1 faces sw[1]. */
struct cfw {
    char *name;
    uint32_t router, host;      /* crouter, chost ids */
    uint32_t host_ip;           /* the host's tunnel ip */
    uint32_t sw[2];             /* cswitch ids */
    uint32_t key[2];            /* the router's port keys on them */
    uint32_t vni[2];            /* steering VNIs, into side 0 / 1 */
    uint32_t slot;
    uint32_t ofport[2];         /* the instance's ports on its host */
    uint64_t policy;            /* hash of the rules it runs */
    uint32_t line, col;
};

/* A load balancer: its port is a workload port (cport 'port'). */
struct clb {
    char *name;
    uint32_t host, port;
    uint64_t policy;
};

#define COMPILE_NFV_OFPORT_BASE 4100u
#define COMPILE_NFV_SLOTS 2000u         /* ofports 4100..8099 */
#define COMPILE_NFV_FROM_FW 0x8000u     /* reg14 flag: a fw's own answer */

/* A host's extra owners: blocks of switches and routers on it. */
#define COMPILE_OWNER_ROUTER 0x80000000u

struct compiler {
    char *file;
    struct crouter *routers;  size_t n_routers, cap_routers;
    struct cmap router_map;
    struct cmap ext_map;        /* external networks -> cswitch id */
    uint32_t *dirty_rt;       size_t n_dirty_rt, cap_dirty_rt;
    uint32_t *spanned_sw;     size_t n_spanned_sw, cap_spanned_sw;
    uint8_t slot_taken[COMPILE_PA_SLOTS / 8];
    uint8_t arp_slot_taken[COMPILE_ARP_SLOTS / 8];
    struct cneigh *neigh;     size_t n_neigh, cap_neigh;
    uint32_t *touched;        size_t n_touched, cap_touched;
    struct cport *ports;      size_t n_ports, cap_ports;
    struct chost *hosts;      size_t n_hosts, cap_hosts;
    struct cswitch *switches; size_t n_switches, cap_switches;
    uint32_t *free_ports;     size_t n_free_ports, cap_free_ports;
    struct cmap port_map, host_map, switch_map;
    uint32_t *dirty_ports;    size_t n_dirty_ports, cap_dirty_ports;
    uint32_t *dirty_sw;       size_t n_dirty_sw, cap_dirty_sw;
    uint32_t *pending;        size_t n_pending, cap_pending;  /* to number */
    size_t n_dead;            /* hosts/switches to free at commit */
    uint32_t stamp;
    size_t n_flows;
    struct cbuf scratch;
    /* A switch's host-independent records (ARP answers for its workload
     * addresses), encoded once per recompute and appended to the switch's
     * block on every host it spans. */
    struct cbuf scratch_shared;

    /* Delta being built by the current apply (NULL when not wanted): the
     * changed records are kept encoded (copies in 'drecs', listed in
     * 'drec') and decoded only once paired; 'rold'/'rnew' are scratch
     * record lists. */
    struct compile_delta *delta;
    size_t delta_cap;
    struct cbuf drecs;
    struct cdelta_rec *drec;  size_t n_drec, cap_drec;
    const uint8_t **rold;     size_t cap_rold;
    const uint8_t **rnew;     size_t cap_rnew;

    /* Security groups (compile-sg.c). */
    struct csg *sgs;          size_t n_sgs, cap_sgs;
    struct cmap sg_map;

    /* anet-nfv instances (compile-nfv.c), rebuilt by every apply. */
    struct cfw *fws;          size_t n_fws;
    struct clb *lbs;          size_t n_lbs;
    struct cbuf scratch_nfv;

    /* Provenance: lookup index and string cache (compile-prov.c). */
    struct compile_prov_cache *prov;
};

/* Name maps. */
uint32_t cmap_find(const struct cmap *, const char *name);
void cmap_insert(struct cmap *, const char *name, uint32_t id);
void cmap_remove(struct cmap *, const char *name);
void cmap_destroy(struct cmap *);

/* Cookies. */
uint64_t compile_hash64(const char *);
uint64_t compile_cookie(unsigned int kind, unsigned int rule,
                        const char *name);

/* Encoding. */
void cbuf_reset(struct cbuf *);
void cbuf_add_flow(struct cbuf *, const struct flow *);
void cflows_set(struct cflows *, const struct cbuf *);
void cflows_clear(struct cflows *);
bool cflows_equal(const struct cflows *, const struct cflows *);
/* Appends the decoded flows to 'out' (unsorted). */
void cflows_decode(const struct cflows *, struct flow_set *out);

/* Single records.  cflows_index() stores pointers to the records of 'c' in
 * '*v' (grown as needed) and returns their number.  crec_len() is a
 * record's size in bytes.  crec_key_cmp() orders records by their key
 * bytes (table, priority, match): 0 exactly when flow_key_cmp() of the
 * decoded flows is 0, though the order differs.  crec_cmp() orders by key,
 * then by the whole record: 0 exactly when flow_equal().  crec_decode()
 * appends the decoded flow to 'out'. */
size_t cflows_index(const struct cflows *c, const uint8_t ***v, size_t *cap);
uint32_t crec_len(const uint8_t *rec);
int crec_key_cmp(const uint8_t *a, const uint8_t *b);
int crec_cmp(const uint8_t *a, const uint8_t *b);
void crec_decode(const uint8_t *rec, struct flow_set *out);
/* Appends raw bytes to 'b'. */
void cbuf_append(struct cbuf *, const void *, size_t);

/* Generators: encode into 'out' (reset first). */
void compile_gen_defaults(struct cbuf *out);
void compile_gen_port(const struct compiler *, const struct cport *,
                      struct cbuf *out);
/* 'ports' are the switch's ports sorted by name, 'hosts' the distinct
 * hosts with ports on it sorted by name. */
void compile_gen_switch_block(const struct compiler *, const struct cswitch *,
                              uint32_t host, const uint32_t *ports,
                              size_t n_ports, const uint32_t *hosts,
                              size_t n_hosts, struct cbuf *out);

/* Engine helpers shared with compile-l3.c. */
void compile_push__(uint32_t **v, size_t *n, size_t *cap, uint32_t x);
void compile_dirty_switch__(struct compiler *, uint32_t s);
/* Whether port 'cp' is filtered by security groups (compile-sg.c). */
static inline bool
compile_port_filtered(const struct cport *cp)
{
    return cp->n_sg && !cp->localnet;
}
void compile_dirty_port__(struct compiler *, uint32_t p);
void compile_config_changed__(struct compiler *, uint32_t h);
void compile_replace__(struct compiler *, struct cflows *slot,
                       uint32_t old_host, const struct cbuf *nb,
                       uint32_t new_host);
void compile_owner_add__(struct compiler *, uint32_t host, uint32_t owner);
void compile_owner_del__(struct compiler *, uint32_t host, uint32_t owner);
int compile_host_name_cmp__(const void *a, const void *b, void *c);
void compile_match__(struct flow *, unsigned int id, uint64_t value,
                     uint64_t mask);
void compile_emit__(struct cbuf *, struct flow *);

/* L3 (compile-l3.c): routers in the model, their components and flows,
 * DHCP and ARP answers, packet actions. */
void compile_l3_router_upsert(struct compiler *, const struct topo *,
                              const struct topo_router *,
                              const uint32_t *sw_ids,
                              const uint32_t *ext_ids);
void compile_l3_router_remove(struct compiler *, uint32_t r);
void compile_l3_switch_settings(struct compiler *, uint32_t s,
                                const struct topo_switch *);
/* Before a flush: recomputes components and spans, marks dirty. */
void compile_l3_dirty_router(struct compiler *, uint32_t r);
void compile_l3_prepare(struct compiler *);
void compile_l3_flush(struct compiler *);
/* The resolved neighbours of router port 'k' (0-based) of 'r': every
 * workload ip of its switch (name order) and every other router's port on
 * it; '*out' malloc'd.  '*unresolved' (may be NULL) receives the ip of a
 * localnet port whose MAC is not known yet (0 if none). */
struct compile_l3_neigh {
    uint32_t ip;
    uint64_t mac;
};
size_t compile_l3_neighbors(const struct compiler *, const struct crouter *,
                            size_t k, struct compile_l3_neigh **out,
                            uint32_t *unresolved);

/* compile-nfv.c: anet-nfv instances.  compile_nfv_apply() (each apply,
 * after the routers) rebuilds the firewalls and load balancers from 't',
 * dirtying the routers whose firewalls changed and noting a config change
 * of the hosts whose instances changed; compile_nfv_gen_router_host()
 * appends router 'r''s firewall flows for 'host' to its block. */
void compile_nfv_apply(struct compiler *, const struct topo *);
void compile_nfv_gen_router_host(const struct compiler *, uint32_t r,
                                 uint32_t host, struct cbuf *out);
bool compile_nfv_router_has_fw(const struct compiler *, uint32_t r);
size_t compile_nfv_host_instances(const struct compiler *, uint32_t host,
                                  struct compiled_nfv **out);
bool compile_nfv_prov(struct compiler *, uint64_t cookie, char **object,
                      char **rule, uint32_t *line, uint32_t *col);
void compile_nfv_free(struct compiler *);
void compile_l3_free(struct compiler *);
void compile_l3_port_extra(const struct compiler *, const struct cport *,
                           struct cbuf *out);
void compile_l3_switch_extra(const struct compiler *, const struct cswitch *,
                             const uint32_t *ports, size_t n_ports,
                             struct cbuf *out);
size_t compile_l3_host_actions(const struct compiler *, uint32_t host,
                               struct compiled_packet_action **out);
uint64_t compile_l3_actions_hash(const struct compiled_packet_action *,
                                 size_t n);

bool compile_l3_prov(struct compiler *, uint64_t cookie, char **object,
                     char **rule, uint32_t *line, uint32_t *col);

/* Gateways (compile-gw.c): external networks, their localnet port, NAT on
 * the gateway host.  compile_gw_router_upsert() resolves a router's
 * gateway data ('ext_ids': cswitch ids of topo.externals) and dirties the
 * external networks it changes; compile_gw_router_free() frees it. */
#define COMPILE_LOCALNET_PREFIX "localnet:"
void compile_gw_router_upsert(struct compiler *, const struct topo *,
                              const struct topo_router *, uint32_t r,
                              const uint32_t *ext_ids);
void compile_gw_router_free(struct crouter *);
/* Frees router 'r''s ARP slot (the router goes away). */
void compile_gw_router_remove(struct compiler *, struct crouter *r);
/* The packet action id of kind 'kind' (ARP_RESOLVE or ARP_LEARN) of
 * router 'r''s gateway. */
uint16_t compile_gw_arp_id(const struct crouter *r, unsigned int kind);
/* The effective gateway MAC of external network 'name' whose provider
 * router is 'ip' with configured MAC 'cfg' (0 = unknown). */
uint64_t compile_gw_effective_mac(const struct compiler *, const char *name,
                                  uint32_t ip, uint64_t cfg);
/* Appends the ARP packet actions of the routers on host 'h' to '*v'. */
void compile_gw_host_actions(const struct compiler *, uint32_t h,
                             struct compiled_packet_action **v, size_t *n,
                             size_t *cap);
void compile_gw_neigh_free(struct compiler *);
void compile_gw_gen_port(const struct compiler *, const struct cport *,
                         struct cbuf *out);
void compile_gw_switch_block(const struct compiler *, const struct cswitch *,
                             uint32_t host, struct cbuf *out);
uint16_t compile_gw_zone(const struct crouter *);
bool compile_gw_prov(struct compiler *, uint64_t cookie, char **object,
                     char **rule, uint32_t *line, uint32_t *col);

/* Port ranges (compile-ranges.c): the minimal set of (value, mask)
 * prefixes whose union is exactly [lo, hi], in ascending order; returns
 * their number (1..30).  A mask of 0 (the whole range) means any port. */
#define COMPILE_MAX_PORT_MASKS 30
struct compile_port_mask {
    uint16_t value, mask;
};
size_t compile_port_range_masks(uint16_t lo, uint16_t hi,
                                struct compile_port_mask
                                out[COMPILE_MAX_PORT_MASKS]);

/* Security groups (compile-sg.c).  compile_sg_apply_groups() brings the
 * groups to 'topo' and returns topo group index -> csg id (free()d by the
 * caller); compile_sg_port_set() gives port 'p' the groups 'ids' (name
 * order; ids == NULL keeps them and only notes an address change);
 * compile_sg_port_forget() takes a removed port out of its groups;
 * compile_sg_finish_apply() drops the groups 'topo' no longer has;
 * compile_sg_prepare() (before a flush) dirties the ports whose rules
 * changed or reference a group whose members' addresses changed. */
#define COMPILE_SG_ZONE_BASE 0xc000u    /* port zone = base + ofport */
#define COMPILE_PA_REJECT_ID 4000u      /* REJECT ids: 4000 + k, k-th
                                         * switch (by VNI) of a host with
                                         * a port that rejects */
#define COMPILE_PA_REJECT_MAX 96u       /* up to 4095 */
#define COMPILE_PA_LOG_ID 0xffffu       /* LOG: one per host; ICMP ids
                                         * 0x4000 + 4 * slot + 3 are
                                         * never used */
uint32_t *compile_sg_apply_groups(struct compiler *, const struct topo *);
void compile_sg_port_set(struct compiler *, uint32_t p, const uint32_t *ids,
                         size_t n);
void compile_sg_port_forget(struct compiler *, uint32_t p);
void compile_sg_finish_apply(struct compiler *);
void compile_sg_prepare(struct compiler *);
void compile_sg_free(struct compiler *);
/* Appends the port's tables 20/21/60/61 flows (none without groups). */
void compile_sg_gen_port(const struct compiler *, const struct cport *,
                         struct cbuf *out);
/* Appends the REJECT packet actions of host 'h' to '*v' (unsorted). */
void compile_sg_host_actions(const struct compiler *, uint32_t h,
                             struct compiled_packet_action **v, size_t *n,
                             size_t *cap);
bool compile_sg_prov(struct compiler *, uint64_t cookie, char **object,
                     char **rule, uint32_t *line, uint32_t *col);

/* Provenance. */
void compile_prov_invalidate(struct compiler *);

#endif
