/* topo.h — the logical topology: what an operator wrote in YAML, loaded,
 * validated and resolved into a plain data model.
 *
 * What: topo_load_*() parses a YAML document with libyaml, keeping the
 * line/column mark of every node, and validates it completely: every problem
 * found is reported (not just the first), each as file:line:col, the object
 * path (e.g. "ports[3].ip" or "switches.web.cidr") and what is wrong.  A
 * topology with any error is refused as a whole (NULL); nothing partial is
 * ever returned.
 *
 * Design: the model is plain arrays of structs with resolved cross references
 * (indexes), sorted by name so that everything downstream is deterministic.
 * Strings and arrays belong to the topo and are freed by topo_destroy().
 * Routers (topo-router.c) are a top-level section of their own; their
 * ports refer to switches by index and carry resolved addresses, and every
 * switch carries its DHCP settings.  External networks (topo-gateway.c)
 * are provider networks reached through one gateway host; a router may
 * have a gateway on one of them, with SNAT, floating IPs and port
 * forwards.  Security groups (topo-sg.c) are a top-level section; ports
 * (or their switch, by default) refer to them by index.  A host may run
 * OVS-DPDK (hosts[].dpdk, topo-dpdk.c); only such hosts may have ports of
 * kind vhost-user, each with its own socket.  Firewalls and load
 * balancers (topo-nfv.c) are anet-nfv instances: a firewall sits on a
 * router between two of its switches, a load balancer is one-armed on a
 * switch and becomes a workload port (nfv = true) there.  Unknown keys are
 * errors so that typos never pass silently.
 *
 * Thread-safety: a loaded topo is immutable and may be read from anywhere.
 */
#ifndef ANET_TOPO_H
#define ANET_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a YAML object came from. */
struct topo_mark {
    const char *file;       /* owned by the topo */
    unsigned int line;      /* 1-based */
    unsigned int col;       /* 1-based */
};

/* OVS-DPDK settings of a host (topo-dpdk.c): hosts[].dpdk.  A plain
 * value (no pointers), so it is copied with '=' and compared with
 * topo_dpdk_equal().  When 'enabled' is false the host runs the plain
 * userspace datapath and every other field is zero. */
#define TOPO_DPDK_MASK_LEN 66       /* "0x" + up to 64 hex digits */

enum topo_dpdk_ifaces {
    TOPO_DPDK_IF_AF_PACKET,     /* interface ports and the underlay are DPDK
                                 * ports through the net_af_packet vdev */
    TOPO_DPDK_IF_SYSTEM,        /* they stay plain netdev (system) ports */
};

struct topo_dpdk {
    bool enabled;
    unsigned int socket_mem;                    /* MiB, > 0 */
    char pmd_cpu_mask[TOPO_DPDK_MASK_LEN + 1];  /* "0x..." lower case */
    char lcore_mask[TOPO_DPDK_MASK_LEN + 1];    /* "" when not given */
    unsigned int pmd_maxsleep_us;               /* 0..10000, default 500 */
    enum topo_dpdk_ifaces interfaces;           /* default af_packet */
};

bool topo_dpdk_equal(const struct topo_dpdk *, const struct topo_dpdk *);

struct topo_host {
    char *name;
    uint32_t tunnel_ip;         /* host order */
    unsigned int tunnel_plen;
    char *underlay_iface;       /* default "ul0" */
    struct topo_dpdk dpdk;      /* dpdk.enabled false: no dpdk: given */
    struct topo_mark mark;
};

/* A static route: traffic to prefix/plen goes to next_hop.  Used by
 * routers (on a connected network of the router) and by DHCP (option 121,
 * next hop inside the switch cidr). */
struct topo_route {
    uint32_t prefix;            /* host order, no host bits set */
    unsigned int plen;          /* 0..32; 0 = default route */
    uint32_t next_hop;
    struct topo_mark mark;
};

#define TOPO_DHCP_MAX_DNS 4

/* DHCP served by the agent on one switch.  On by default when the switch
 * has a cidr; always off on a switch without one.  A port gets a lease
 * only if it has an ip (the lease hands out exactly that address). */
struct topo_dhcp {
    bool enabled;
    uint32_t dns[TOPO_DHCP_MAX_DNS];    /* option 6, in file order */
    size_t n_dns;
    uint32_t lease_time;                /* seconds, default 3600 */
    struct topo_route *routes;          /* option 121, in file order */
    size_t n_routes;
};

struct topo_switch {
    char *name;
    uint32_t vni;               /* given, or derived stably from the name */
    uint32_t net;               /* CIDR (0/0 when the switch has none) */
    unsigned int plen;
    unsigned int mtu;           /* default 1400 */
    struct topo_dhcp dhcp;
    size_t *default_groups;     /* security groups of ports that list none:
                                 * indexes into topo.groups, sorted, unique */
    size_t n_default_groups;
    struct topo_mark mark;
};

/* What a workload port is on its host (ports[].kind). */
enum topo_port_kind {
    TOPO_PORT_INTERFACE,        /* a veth/tap that exists on the host */
    TOPO_PORT_VHOST_USER,       /* a vhost-user socket (DPDK hosts only) */
};

/* Which side of a vhost-user port owns (listens on) the socket. */
enum topo_vhost_server {
    TOPO_VHOST_SERVER_VM,       /* the VM: OVS connects as client
                                 * (dpdkvhostuserclient) */
    TOPO_VHOST_SERVER_OVS,      /* OVS (dpdkvhostuser) */
};

#define TOPO_SOCKET_MAX 107     /* longest unix socket path (sun_path) */

struct topo_port {
    char *name;
    char *iface;                /* host interface; default = name.  For
                                 * vhost-user: the OVS interface name */
    enum topo_port_kind kind;
    char *socket;               /* vhost-user socket path; NULL otherwise */
    enum topo_vhost_server vhost_server;    /* vhost-user only */
    size_t host;                /* index into topo.hosts */
    size_t sw;                  /* index into topo.switches */
    uint32_t ip;                /* 0 = none */
    uint64_t mac;               /* given, or derived stably from the name */
    size_t *groups;             /* effective security groups: the port's own
                                 * list, else its switch's default; indexes
                                 * into topo.groups, sorted, unique */
    size_t n_groups;            /* 0 = unfiltered */
    bool nfv;                   /* synthesized for a load balancer
                                 * (topo-nfv.c): name, ip = its vip */
    struct topo_mark mark;
};

/* One port of a router: an address on a switch that has a cidr (the
 * prefix length is the switch's).  Its port key in the pipeline is its
 * index + 1 (ports are sorted by switch name). */
struct topo_router_port {
    size_t sw;                  /* index into topo.switches */
    uint32_t ip;
    unsigned int plen;          /* == the switch's plen */
    uint64_t mac;               /* given, from the router's base, or derived */
    struct topo_mark mark;
};

/* A provider network reached through one gateway host: a logical switch
 * (its VNI shares the switches' VNI space) whose only port is the localnet
 * interface 'iface' on host 'host'. */
struct topo_external {
    char *name;
    uint32_t net;               /* host order, no host bits set */
    unsigned int plen;
    uint32_t gateway_ip;        /* the provider's router on that network */
    uint64_t gateway_mac;       /* its MAC (a static neighbour); 0 when
                                 * not given: learned by ARP at run time */
    size_t host;                /* index into topo.hosts */
    char *iface;                /* the localnet interface on that host */
    uint32_t vni;               /* given, or derived stably from the name */
    struct topo_mark mark;
};

/* One-to-one NAT: outside address 'ip' <-> workload port 'port'. */
struct topo_fip {
    uint32_t ip;
    size_t port;                /* index into topo.ports */
    struct topo_mark mark;
};

/* Destination NAT: ip:port (protocol 'proto', 6 = TCP, 17 = UDP) from the
 * outside goes to workload port 'to', port 'to_port'. */
struct topo_port_forward {
    uint32_t ip;                /* == the router's gw_ip */
    uint8_t proto;
    uint16_t port;
    size_t to;                  /* index into topo.ports */
    uint16_t to_port;
    struct topo_mark mark;
};

/* A distributed logical router.  Connected routes (one per port) are
 * implicit; 'routes' are the static ones, in file order (no two with the
 * same prefix/plen, every next hop on a connected network or on the
 * router's external network).  A router with a gateway and no 0.0.0.0/0
 * route gets one appended: 0.0.0.0/0 via the external network's
 * gateway_ip, marked with gw_mark. */
struct topo_router {
    char *name;
    struct topo_router_port *ports;  size_t n_ports;  /* sorted by switch name */
    struct topo_route *routes;       size_t n_routes;
    struct topo_mark mark;

    /* External gateway (valid when has_gateway). */
    bool has_gateway;
    size_t gw_net;              /* index into topo.externals */
    uint32_t gw_ip;
    uint64_t gw_mac;            /* given, or derived from "router:network" */
    struct topo_mark gw_mark;
    size_t *snat; size_t n_snat;                    /* switch indexes, sorted */
    struct topo_fip *fips; size_t n_fips;           /* sorted by ip */
    struct topo_port_forward *forwards; size_t n_forwards;
                                        /* sorted by (ip, proto, port) */
};

/* Security groups (topo-sg.c).  A port with groups is default-deny for
 * new connections in both directions; a packet is allowed when any of its
 * groups allows it, each group deciding by its first matching rule (deny
 * and reject act only within their group).  Replies of allowed
 * connections pass; invalid conntrack state is dropped. */
#define TOPO_SG_MAX_PER_PORT 16    /* groups on one port (or switch default) */

enum topo_sg_proto { TOPO_SG_ANY, TOPO_SG_TCP, TOPO_SG_UDP, TOPO_SG_ICMP };
enum topo_sg_action { TOPO_SG_ALLOW, TOPO_SG_DENY, TOPO_SG_REJECT };

/* An IPv4 prefix, host order, no host bits set. */
struct topo_cidr {
    uint32_t net;
    unsigned int plen;          /* 0..32 */
};

struct topo_sg_rule {
    enum topo_sg_proto proto;
    uint16_t port_min, port_max;        /* 0/0 = any port (tcp/udp) */
    int icmp_type, icmp_code;           /* -1 = any */
    struct topo_cidr *cidrs; size_t n_cidrs;   /* remote cidrs; 0 = anywhere
                                                * unless remote_group */
    size_t remote_group;                /* index into topo.groups, or
                                         * SIZE_MAX */
    enum topo_sg_action action;
    bool log;
    struct topo_mark mark;
};

struct topo_sg {                        /* topo.groups / n_groups, sorted by
                                         * name */
    char *name;
    struct topo_sg_rule *ingress; size_t n_ingress;   /* file order */
    struct topo_sg_rule *egress;  size_t n_egress;
    struct topo_mark mark;
};

/* Firewalls and load balancers (topo-nfv.c): anet-nfv instances (vAF,
 * vAD) that the controller inserts into traffic paths. */
#define TOPO_NFV_NAME_MAX 9         /* names interfaces "fwl-NAME-n" */

/* One rule of a firewall (firewalls[].rules[i]). */
struct topo_fw_rule {
    enum topo_sg_proto proto;           /* any, tcp, udp, icmp */
    uint16_t port_min, port_max;        /* destination ports, 0/0 any */
    int icmp_type;                      /* -1 any */
    struct topo_cidr *src;  size_t n_src;   /* none: any */
    struct topo_cidr *dst;  size_t n_dst;   /* none: any */
    enum topo_sg_action action;
    bool log;
    struct topo_mark mark;
};

/* A vAF instance inserted on router 'router' between switches sw[0] and
 * sw[1]: routed traffic between them, both directions, passes through it.
 * sw[0] < sw[1] (model order). */
struct topo_firewall {
    char *name;
    size_t host, router, sw[2];          /* indexes into the topology */
    struct topo_fw_rule *rules;  size_t n_rules;   /* file order */
    enum topo_sg_action default_action;  /* default deny */
    uint32_t max_connections;            /* default 100000 */
    uint32_t max_per_source;             /* default max_connections / 16 */
    bool pass_malformed;                 /* malformed: pass (default drop) */
    struct topo_mark mark;
};

struct topo_lb_backend {
    size_t port;                         /* workload port index */
    uint16_t to_port;                    /* default: the service port */
    uint16_t weight;                     /* default 1, 1..256 */
    struct topo_mark mark;
};

struct topo_lb_service {
    uint8_t proto;                       /* 6 tcp, 17 udp */
    uint16_t port;
    struct topo_lb_backend *backends;  size_t n_backends;  /* file order */
    uint32_t health_interval_ms;         /* default 1000; 0 = off */
    struct topo_mark mark;
};

/* A vAD instance: one-armed on switch 'sw' with address 'vip' (the VIP of
 * all its services and its SNAT source).  The loader also adds a workload
 * port for it to t->ports (name = the load balancer's name, ip = vip,
 * iface "lb-NAME", nfv = true), so that L2, ARP, routing and DHCP treat it
 * as any port; 'port' is that port's index. */
struct topo_lb {
    char *name;
    size_t host, sw, port;
    uint32_t vip;
    struct topo_lb_service *services;  size_t n_services;  /* file order */
    struct topo_mark mark;
};

struct topo {
    char *file;
    struct topo_host *hosts;     size_t n_hosts;     /* sorted by name */
    struct topo_switch *switches; size_t n_switches; /* sorted by name */
    struct topo_port *ports;     size_t n_ports;     /* sorted by name */
    struct topo_router *routers; size_t n_routers;   /* sorted by name */
    struct topo_external *externals; size_t n_externals; /* sorted by name */
    struct topo_sg *groups;      size_t n_groups;    /* sorted by name */
    size_t *default_groups;      /* default_security_groups: of ports whose
                                  * switch names none and that list none:
                                  * indexes into groups, sorted, unique */
    size_t n_default_groups;
    struct topo_firewall *firewalls; size_t n_firewalls; /* sorted by name */
    struct topo_lb *lbs;         size_t n_lbs;       /* sorted by name */
};

struct topo_error {
    char *file;
    unsigned int line, col;
    char *path;                 /* object path, e.g. "ports.web1.ip" */
    char *msg;                  /* what is wrong and what to do */
};

struct topo_errors {
    size_t n;
    struct topo_error *errs;
};

void topo_errors_init(struct topo_errors *);
void topo_errors_destroy(struct topo_errors *);   /* NULL-safe */
/* "file:line:col: path: msg" — one error, heap string. */
char *topo_error_format(const struct topo_error *);

/* Loads and validates.  Returns NULL if there were errors (all of them in
 * 'errs'; errs may be NULL to discard them). */
struct topo *topo_load_file(const char *path, struct topo_errors *errs);
/* Same from memory; 'name' is the file name used in marks and messages. */
struct topo *topo_load_buffer(const char *name, const char *yaml, size_t len,
                              struct topo_errors *errs);
void topo_destroy(struct topo *);                 /* NULL-safe */

/* Lookups by name; NULL when absent. */
const struct topo_host *topo_find_host(const struct topo *, const char *);
const struct topo_switch *topo_find_switch(const struct topo *, const char *);
const struct topo_port *topo_find_port(const struct topo *, const char *);
const struct topo_router *topo_find_router(const struct topo *, const char *);
const struct topo_external *topo_find_external(const struct topo *,
                                               const char *);
const struct topo_sg *topo_find_group(const struct topo *, const char *);
const struct topo_firewall *topo_find_firewall(const struct topo *,
                                               const char *);
const struct topo_lb *topo_find_lb(const struct topo *, const char *);

/* The first router port (in router name order) on switch index 'sw', e.g.
 * the gateway a DHCP lease announces; NULL when no router has a port there.
 * '*router' (if not NULL) receives the router's index. */
const struct topo_router_port *topo_switch_router_port(const struct topo *,
                                                       size_t sw,
                                                       size_t *router);

#endif
