/* topo-private.h — what the topology loader's files share (topo.c for
 * hosts, switches and ports and the loading steps; topo-router.c for
 * routers and DHCP).  Not a public API: everything here ends in "__".
 *
 * The loader keeps a "raw" record per YAML object (struct topo_raw__ first,
 * then the parsed values) in a context that lives for one load; errors are
 * collected in the context and sorted by position at the end.  Raw records
 * point into the libyaml document, so they are only valid during the load.
 */
#ifndef ANET_TOPO_PRIVATE_H
#define ANET_TOPO_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <yaml.h>

#include "controller/topo.h"
#include "lib/util.h"

#define TOPO_MAX_VNI 16777215u
#define TOPO_MAX_PORTS_PER_HOST 3999u
#define TOPO_IFNAMSIZ 15u
#define TOPO_MAX_KEYS 12

/* What a key's value must be. */
enum topo_vtype__ {
    TOPO_V_SCALAR,              /* a non-empty scalar */
    TOPO_V_LIST,                /* a sequence (or null = absent) */
    TOPO_V_MAP,                 /* a mapping (or null = absent) */
};

/* Keys of each object kind: X(enum, "key", required, "example for the
 * missing-key message", value type). */
#define TOPO_TOP_KEYS(X)                                   \
    X(TK_HOSTS, "hosts", false, "", TOPO_V_LIST)           \
    X(TK_SWITCHES, "switches", false, "", TOPO_V_LIST)     \
    X(TK_PORTS, "ports", false, "", TOPO_V_LIST)           \
    X(TK_ROUTERS, "routers", false, "", TOPO_V_LIST)       \
    X(TK_EXTERNALS, "external_networks", false, "", TOPO_V_LIST) \
    X(TK_GROUPS, "security_groups", false, "", TOPO_V_LIST) \
    X(TK_DEFAULT_GROUPS, "default_security_groups", false, "", TOPO_V_LIST) \
    X(TK_FIREWALLS, "firewalls", false, "", TOPO_V_LIST)   \
    X(TK_LBS, "load_balancers", false, "", TOPO_V_LIST)
#define TOPO_HOST_KEYS(X)                                  \
    X(HK_NAME, "name", true, "name: hv1", TOPO_V_SCALAR)   \
    X(HK_TUNNEL_IP, "tunnel_ip", true, "tunnel_ip: 10.200.0.11/24", \
      TOPO_V_SCALAR)                                       \
    X(HK_UNDERLAY, "underlay_iface", false, "", TOPO_V_SCALAR) \
    X(HK_DPDK, "dpdk", false, "", TOPO_V_MAP)
#define TOPO_SWITCH_KEYS(X)                                \
    X(SK_NAME, "name", true, "name: web", TOPO_V_SCALAR)   \
    X(SK_CIDR, "cidr", false, "", TOPO_V_SCALAR)           \
    X(SK_VNI, "vni", false, "", TOPO_V_SCALAR)             \
    X(SK_MTU, "mtu", false, "", TOPO_V_SCALAR)             \
    X(SK_DHCP, "dhcp", false, "", TOPO_V_MAP)             \
    X(SK_DEFAULT_GROUPS, "default_security_groups", false, "", TOPO_V_LIST)
#define TOPO_PORT_KEYS(X)                                  \
    X(PK_NAME, "name", true, "name: web1", TOPO_V_SCALAR)  \
    X(PK_HOST, "host", true, "host: hv1", TOPO_V_SCALAR)   \
    X(PK_SWITCH, "switch", true, "switch: web", TOPO_V_SCALAR) \
    X(PK_IP, "ip", false, "", TOPO_V_SCALAR)               \
    X(PK_MAC, "mac", false, "", TOPO_V_SCALAR)             \
    X(PK_IFACE, "iface", false, "", TOPO_V_SCALAR)         \
    X(PK_GROUPS, "security_groups", false, "", TOPO_V_LIST) \
    X(PK_KIND, "kind", false, "", TOPO_V_SCALAR)           \
    X(PK_SOCKET, "socket", false, "", TOPO_V_SCALAR)       \
    X(PK_VHOST_SERVER, "vhost_server", false, "", TOPO_V_SCALAR)

struct topo_keydef__ {
    const char *key;
    bool required;
    const char *example;
    enum topo_vtype__ type;
};

#define TOPO_KEY_ENUM__(E, K, R, EX, T) E,
#define TOPO_KEY_DEF__(E, K, R, EX, T) { K, R, EX, T },
enum { TOPO_TOP_KEYS(TOPO_KEY_ENUM__) TK_N };
enum { TOPO_HOST_KEYS(TOPO_KEY_ENUM__) HK_N };
enum { TOPO_SWITCH_KEYS(TOPO_KEY_ENUM__) SK_N };
enum { TOPO_PORT_KEYS(TOPO_KEY_ENUM__) PK_N };
extern const struct topo_keydef__ topo_top_keys__[];
extern const struct topo_keydef__ topo_host_keys__[];
extern const struct topo_keydef__ topo_switch_keys__[];
extern const struct topo_keydef__ topo_port_keys__[];

/* One object (list item or nested mapping) as found in the file. */
struct topo_raw__ {
    yaml_node_t *node;                  /* the item (mapping if usable) */
    yaml_node_t *val[TOPO_MAX_KEYS];    /* value per key, or NULL */
    size_t idx;                         /* position in its list */
    char *path;                         /* "ports.web1" or "ports[2]" */
    const char *name;                   /* valid name, or NULL */
    bool dup;                           /* a later duplicate of a name */
};

struct topo_raw_host__ {
    struct topo_raw__ o;
    uint32_t ip;
    unsigned int plen;
    bool ip_ok;
    struct topo_dpdk dpdk;      /* dpdk: parsed (topo-dpdk.c) */
};

/* A static route of a router or of DHCP. */
struct topo_raw_route__ {
    struct topo_raw__ o;
    uint32_t prefix;
    unsigned int plen;
    bool prefix_ok;
    uint32_t next_hop;
    bool next_hop_ok;
};

struct topo_raw_dhcp__ {
    struct topo_raw__ o;                /* o.node == NULL: no dhcp: given */
    bool enabled;
    uint32_t dns[TOPO_DHCP_MAX_DNS];
    size_t n_dns;
    uint32_t lease_time;
    struct topo_raw_route__ *routes;
    size_t n_routes;
};

struct topo_raw_switch__ {
    struct topo_raw__ o;
    uint32_t net;
    unsigned int plen;
    bool has_cidr;              /* present and valid */
    uint32_t vni;               /* 0 = none given (or invalid) */
    unsigned int mtu;
    struct topo_raw_dhcp__ dhcp;
    long *groups;               /* default_security_groups: raw group
                                 * indexes (topo-sg.c), -1 = unresolved */
    size_t n_groups;
};

struct topo_raw_port__ {
    struct topo_raw__ o;
    long host;                  /* raw host index, -1 = unresolved */
    long sw;                    /* raw switch index, -1 = unresolved */
    uint32_t ip;                /* 0 = none or invalid */
    uint64_t mac;               /* 0 = none or invalid */
    const char *iface;          /* valid iface (given or the name), or NULL */
    long *groups;               /* security_groups: raw group indexes
                                 * (topo-sg.c), -1 = unresolved */
    size_t n_groups;
    enum topo_port_kind kind;   /* kind:, socket:, vhost_server: */
    const char *socket;         /* valid socket, or NULL (topo-dpdk.c) */
    enum topo_vhost_server vhost_server;
    bool nfv;                   /* synthesized for a load balancer
                                 * (topo-nfv.c): o.path and o.node are the
                                 * load balancer's */
    char *nfv_iface;            /* its iface "lb-NAME" (owned), or NULL */
};

struct topo_raw_rport__ {
    struct topo_raw__ o;
    long sw;                    /* raw switch index, -1 = unresolved */
    uint32_t ip;                /* 0 = none or invalid */
    unsigned int plen;
    uint64_t mac;               /* given or from the base; 0 = derive */
};

struct topo_raw_ext__ {
    struct topo_raw__ o;
    uint32_t net;
    unsigned int plen;
    bool has_cidr;              /* present and valid */
    uint32_t gw_ip;             /* 0 = none or invalid */
    uint64_t gw_mac;            /* 0 = none or invalid */
    long host;                  /* raw host index, -1 = unresolved */
    uint32_t vni;               /* 0 = none given (or invalid) */
};

/* A router's gateway: (o.node == NULL: none given). */
struct topo_raw_gw__ {
    struct topo_raw__ o;
    long net;                   /* raw external index, -1 = unresolved */
    uint32_t ip;                /* 0 = none or invalid */
    uint64_t mac;               /* 0 = none, invalid: derive */
};

struct topo_raw_fip__ {
    struct topo_raw__ o;
    uint32_t ip;                /* 0 = invalid */
    long port;                  /* raw port index, -1 = unresolved */
};

struct topo_raw_fwd__ {
    struct topo_raw__ o;
    uint32_t ip;                /* 0 = invalid */
    uint8_t proto;              /* 0 = invalid */
    uint16_t port, to_port;     /* 0 = invalid */
    long to;                    /* raw port index, -1 = unresolved */
};

struct topo_raw_router__ {
    struct topo_raw__ o;
    uint64_t base_mac;          /* 0 = none or invalid */
    struct topo_raw_rport__ *ports;     size_t n_ports;
    struct topo_raw_route__ *routes;    size_t n_routes;
    struct topo_raw_gw__ gw;
    long *snat;                 /* raw switch indexes, -1 = unresolved */
    yaml_node_t **snat_nodes;
    size_t n_snat;
    struct topo_raw_fip__ *fips;        size_t n_fips;
    struct topo_raw_fwd__ *fwds;        size_t n_fwds;
};

/* One rule of a security group (topo-sg.c). */
struct topo_raw_sgrule__ {
    struct topo_raw__ o;
    bool ok;                    /* protocol and action valid */
    enum topo_sg_proto proto;
    uint16_t port_min, port_max;
    int icmp_type, icmp_code;
    struct topo_cidr *cidrs;
    size_t n_cidrs;
    long remote_group;          /* raw group index, -1 = none/unresolved */
    enum topo_sg_action action;
    bool log;
};

struct topo_raw_sg__ {
    struct topo_raw__ o;
    struct topo_raw_sgrule__ *ingress;  size_t n_ingress;
    struct topo_raw_sgrule__ *egress;   size_t n_egress;
};

/* Firewalls and load balancers (topo-nfv.c). */
struct topo_raw_fwrule__ {
    struct topo_raw__ o;
    enum topo_sg_proto proto;
    uint16_t port_min, port_max;
    int icmp_type;
    struct topo_cidr *src;  size_t n_src;
    struct topo_cidr *dst;  size_t n_dst;
    enum topo_sg_action action;
    bool log;
};

struct topo_raw_fw__ {
    struct topo_raw__ o;
    long host, router;          /* raw indexes, -1 = unresolved */
    long sw[2];                 /* between:, raw switch indexes */
    struct topo_raw_fwrule__ *rules;    size_t n_rules;
    enum topo_sg_action default_action;
    uint32_t max_connections;
    uint32_t max_per_source;
    bool pass_malformed;
};

struct topo_raw_lbbe__ {
    struct topo_raw__ o;
    long port;                  /* raw port index, -1 = unresolved */
    uint16_t to_port;           /* 0 = the service port */
    uint16_t weight;
};

struct topo_raw_lbsvc__ {
    struct topo_raw__ o;
    uint8_t proto;              /* 0 = invalid */
    uint16_t port;              /* 0 = invalid */
    struct topo_raw_lbbe__ *backends;   size_t n_backends;
    uint32_t health_interval_ms;
};

struct topo_raw_lb__ {
    struct topo_raw__ o;
    long host, sw;              /* raw indexes, -1 = unresolved */
    long port;                  /* its synthesized raw port, or -1 */
    uint32_t vip;               /* 0 = none or invalid */
    struct topo_raw_lbsvc__ *services;  size_t n_services;
};

struct topo_ctx__ {
    const char *file;
    yaml_document_t doc;
    struct topo_errors errs;
    struct topo_raw_host__ *hosts;      size_t n_hosts;
    struct topo_raw_switch__ *switches; size_t n_switches;
    struct topo_raw_port__ *ports;      size_t n_ports;
    struct topo_raw_router__ *routers;  size_t n_routers;
    struct topo_raw_ext__ *externals;   size_t n_externals;
    struct topo_raw__ **ev;             size_t nev;  /* sorted, unique */
    struct topo_raw_sg__ *groups;       size_t n_groups;
    struct topo_raw__ **gv;             size_t ngv;  /* sorted, unique */
    yaml_node_t *top_groups_node;       /* default_security_groups: list */
    long *top_groups;                   size_t n_top_groups;
    struct topo_raw_fw__ *firewalls;    size_t n_firewalls;
    struct topo_raw__ **fwv;            size_t nfwv; /* sorted, unique */
    struct topo_raw_lb__ *lbs;          size_t n_lbs;
    struct topo_raw__ **lbv;            size_t nlbv; /* sorted, unique */
};

/* Rule values shared by security groups and firewalls (topo-sg.c): a
 * ports key ("N" or "A-B") and a list of networks. */
bool topo_parse_ports__(struct topo_ctx__ *, struct topo_raw__ *o, int k,
                        const struct topo_keydef__ *keys, uint16_t *min,
                        uint16_t *max);
void topo_parse_cidr_list__(struct topo_ctx__ *, yaml_node_t *list,
                            const char *kpath, const char *key,
                            const char *dup_where, struct topo_cidr **out,
                            size_t *n_out);

/* --- errors (topo.c) --- */

void topo_err__(struct topo_ctx__ *, const yaml_node_t *, const char *path,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* An error about key 'k' of object 'o', at its value node. */
#define topo_err_field__(ctx, o, k, keys, ...)                          \
    do {                                                                \
        char *p__ = xasprintf("%s.%s", (o)->path, (keys)[k].key);       \
        topo_err__(ctx, (o)->val[k], p__, __VA_ARGS__);                 \
        free(p__);                                                      \
    } while (0)

/* --- small parsers and helpers (topo.c) --- */

static inline const char *
topo_scalar__(const yaml_node_t *n)
{
    return (const char *) n->data.scalar.value;
}

bool topo_name_valid__(const char *);
bool topo_parse_uint__(const char *, unsigned long max, unsigned long *out);
const char *topo_node_type_name__(const yaml_node_t *);
bool topo_is_null__(const yaml_node_t *);
uint64_t topo_hash64__(const char *);
size_t topo_list_len__(const yaml_node_t *list);
unsigned long topo_line__(const struct topo_raw__ *, int k);
struct topo_mark topo_mark__(const struct topo *, const yaml_node_t *);

/* A small open-addressing set of non-zero 64-bit integers, sized for all
 * insertions up front (derivation probing). */
struct topo_u64set__ {
    uint64_t *v;
    size_t cap;         /* power of two */
};
void topo_u64set_init__(struct topo_u64set__ *, size_t n);
bool topo_u64set_has__(const struct topo_u64set__ *, uint64_t);
void topo_u64set_add__(struct topo_u64set__ *, uint64_t);

/* Parses mapping 'node' with keys 'keys' into 'o'.  'list' + 'idx' name
 * it ("list[idx]", or "list.NAME" when it has a valid name); idx ==
 * SIZE_MAX means a single nested mapping whose path is 'list' itself.
 * Returns false if it is not a usable mapping. */
bool topo_parse_object__(struct topo_ctx__ *, const char *list,
                         const char *kind, size_t idx, yaml_node_t *node,
                         const struct topo_keydef__ *keys, size_t n_keys,
                         struct topo_raw__ *o);

/* Validates names of 'n' objects of 'stride' bytes (each starting with a
 * struct topo_raw__), reports bad and duplicate ones and returns the unique
 * ones sorted by name; '*n_out' receives their number. */
struct topo_raw__ **topo_check_names__(struct topo_ctx__ *, void *objs,
                                       size_t n, size_t stride,
                                       const char *kind,
                                       const struct topo_keydef__ *,
                                       size_t *n_out);
/* Raw index of the object called 'name' in 'v' (from topo_check_names__),
 * or -1. */
long topo_lookup__(struct topo_raw__ **v, size_t n, const char *name,
                   void *base, size_t stride);

/* A (key, object) pair for duplicate detection by sorting. */
struct topo_dupkey__ {
    uint64_t key;
    const char *skey;           /* secondary string key, or NULL */
    size_t idx;
};
/* Sorts 'k' and calls 'report' for every entry equal to an earlier one
 * (with the first of its run). */
void topo_find_dups__(struct topo_ctx__ *, struct topo_dupkey__ *, size_t n,
                      void (*report)(struct topo_ctx__ *, size_t first,
                                     size_t dup));

/* --- routers and DHCP (topo-router.c) --- */

/* Step 1+2 for the dhcp: mapping of every switch (after the switches were
 * checked), and for the routers: section (after ports were checked). */
void topo_check_dhcp__(struct topo_ctx__ *);
void topo_parse_routers__(struct topo_ctx__ *, yaml_node_t *list);
void topo_check_routers__(struct topo_ctx__ *, struct topo_raw__ **sv,
                          size_t nsv);
/* The number of router ports, and adding every router MAC fixed by the
 * file (given or from a base) to 'set', so that derived workload MACs
 * avoid them. */
size_t topo_router_port_count__(const struct topo_ctx__ *);
void topo_router_fixed_macs__(const struct topo_ctx__ *,
                              struct topo_u64set__ *set);
/* Step 3: fills 'dhcp' from raw switch 'r'. */
void topo_build_dhcp__(const struct topo *, const struct topo_raw_switch__ *r,
                       struct topo_dhcp *dhcp);
/* Step 3: builds t->routers; 'sinv' maps raw switch index -> sorted index;
 * every port MAC of 't' is already final. */
void topo_build_routers__(struct topo_ctx__ *, struct topo *t,
                          const size_t *sinv);
void topo_routers_free__(struct topo *);
void topo_ctx_routers_destroy__(struct topo_ctx__ *);

/* --- external networks and router gateways (topo-gateway.c) --- */

/* Router keys (topo-router.c parses them; the last four, the gateway part,
 * are topo-gateway.c's). */
#define TOPO_ROUTER_KEYS(X)                                \
    X(RK_NAME, "name", true, "name: r1", TOPO_V_SCALAR)    \
    X(RK_MAC, "mac", false, "", TOPO_V_SCALAR)             \
    X(RK_PORTS, "ports", true, "ports: [{switch: web, ip: 10.1.0.1/24}]", \
      TOPO_V_LIST)                                         \
    X(RK_ROUTES, "routes", false, "", TOPO_V_LIST)         \
    X(RK_GATEWAY, "gateway", false, "", TOPO_V_MAP)        \
    X(RK_SNAT, "snat", false, "", TOPO_V_LIST)             \
    X(RK_FIPS, "floating_ips", false, "", TOPO_V_LIST)     \
    X(RK_FORWARDS, "port_forwards", false, "", TOPO_V_LIST)
enum { TOPO_ROUTER_KEYS(TOPO_KEY_ENUM__) RK_N };

/* Steps 1+2 for external_networks: (after the ports were checked). */
void topo_parse_externals__(struct topo_ctx__ *, yaml_node_t *list);
void topo_check_externals__(struct topo_ctx__ *, struct topo_raw__ **hv,
                            size_t nhv);
/* Step 1 for router 'r''s gateway, snat, floating_ips and port_forwards
 * ('val' holds the router's value nodes of those keys, from RK_GATEWAY
 * on). */
void topo_parse_gateway__(struct topo_ctx__ *, struct topo_raw_router__ *r,
                          yaml_node_t *const val[4]);
/* Step 2 for one router's gateway part (after its ports were checked),
 * then across all routers. */
void topo_check_gateway__(struct topo_ctx__ *, struct topo_raw_router__ *r,
                          struct topo_raw__ **sv, size_t nsv);
void topo_check_gateways__(struct topo_ctx__ *);
/* True when next hop 'ip' is on router 'r''s external network. */
bool topo_gateway_connected__(const struct topo_ctx__ *,
                              const struct topo_raw_router__ *r, uint32_t ip);
/* The number of MACs gateways and external networks fix or derive, and
 * adding the fixed ones to 'set'. */
size_t topo_gateway_mac_count__(const struct topo_ctx__ *);
void topo_gateway_fixed_macs__(const struct topo_ctx__ *,
                               struct topo_u64set__ *set);
/* Step 3: adds every given external VNI to 'set' (before the switches
 * derive theirs), then builds t->externals deriving the others. */
void topo_external_vnis__(const struct topo_ctx__ *, struct topo_u64set__ *);
void topo_build_externals__(struct topo_ctx__ *, struct topo *t,
                            const size_t *hinv, struct topo_u64set__ *vnis);
/* Step 3: the gateway part of router 'tr' (built from raw 'r'; its ports
 * and static routes are built); 'macs' holds every MAC taken so far. */
void topo_build_gateway__(struct topo_ctx__ *, struct topo *t,
                          const struct topo_raw_router__ *r,
                          struct topo_router *tr, const size_t *sinv,
                          struct topo_u64set__ *macs);
void topo_gateway_free__(struct topo_router *);
void topo_externals_free__(struct topo *);
void topo_ctx_gateway_destroy__(struct topo_raw_router__ *r);
void topo_ctx_externals_destroy__(struct topo_ctx__ *);

/* --- DPDK hosts and vhost-user ports (topo-dpdk.c) --- */

/* Step 2: the dpdk: mapping of every host, and kind:, socket: and
 * vhost_server: of every port (after the ports' hosts were resolved and
 * their iface set). */
void topo_check_dpdk__(struct topo_ctx__ *);

/* --- security groups (topo-sg.c) --- */

/* Step 1 for security_groups:, step 2 for the groups and for the
 * security_groups: of ports and default_security_groups: of switches
 * (after the ports were checked). */
void topo_parse_groups__(struct topo_ctx__ *, yaml_node_t *list);
void topo_check_groups__(struct topo_ctx__ *);
/* Step 3: builds t->groups and the group lists of every switch and port
 * ('sv'/'pv': the raw switches and ports in model order). */
void topo_build_groups__(struct topo_ctx__ *, struct topo *t,
                         struct topo_raw__ **sv, struct topo_raw__ **pv);
void topo_groups_free__(struct topo *);
void topo_ctx_groups_destroy__(struct topo_ctx__ *);

/* --- firewalls and load balancers (topo-nfv.c) --- */

/* Step 1 for firewalls: and load_balancers: (after the ports were parsed,
 * before their names are checked): parses both sections, checks their
 * names and appends one raw port per load balancer to ctx->ports (nfv =
 * true), so that every port check also runs on it. */
void topo_parse_nfv__(struct topo_ctx__ *, yaml_node_t *firewalls,
                      yaml_node_t *lbs);
/* Step 2, right after the ports were checked: the load balancers' host,
 * switch and vip (which becomes their port's ip, so that the router and
 * NAT checks see it); then, after everything else, the rest of both
 * sections.  'hv'/'sv': the unique hosts and switches sorted by name. */
void topo_check_nfv_ports__(struct topo_ctx__ *, struct topo_raw__ **hv,
                            size_t nhv, struct topo_raw__ **sv, size_t nsv);
void topo_check_nfv__(struct topo_ctx__ *, struct topo_raw__ **hv,
                      size_t nhv, struct topo_raw__ **sv, size_t nsv);
/* Step 3: builds t->firewalls and t->lbs (every other part of 't' is
 * built) and takes the security groups off load balancer ports. */
void topo_build_nfv__(struct topo_ctx__ *, struct topo *t);
void topo_nfv_free__(struct topo *);
void topo_ctx_nfv_destroy__(struct topo_ctx__ *);

#endif
