/* topo-router.c — the routers: section and the switches' dhcp: settings of
 * the topology YAML (topo.h, topo-private.h).
 *
 * Same three steps as the rest of the loader (topo.c): the shape of every
 * nested mapping and list is parsed into raw records; values and cross
 * references are checked, every check on every object it can run on, so
 * that one pass reports all problems; and only for an error-free file the
 * model is built.  Routers are sorted by name, their ports by switch name,
 * their static routes stay in file order.
 *
 * Router port MACs: a port's own mac: wins; else, when the router gives a
 * base mac:, the k-th port (0-based, in switch name order) gets base + k
 * (within the low 40 bits); else the MAC is derived like a workload's:
 * 0a: + the low 40 bits of FNV-1a-64("router:switch"), probing upwards past
 * every workload MAC, every MAC fixed by the file and every MAC derived
 * before it (routers in name order, ports in switch name order), so the
 * result never depends on list order.
 */
#include "controller/topo-private.h"

#include <stdio.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/log.h"

LOG_MODULE(topo_router);

#define TOPO_DHCP_LEASE_DEFAULT 3600u
#define TOPO_DHCP_LEASE_MIN 60u
#define TOPO_DHCP_LEASE_MAX 2147483647u

#define TOPO_DHCP_KEYS(X)                                  \
    X(DK_ENABLED, "enabled", false, "", TOPO_V_SCALAR)     \
    X(DK_DNS, "dns", false, "", TOPO_V_LIST)               \
    X(DK_LEASE, "lease_time", false, "", TOPO_V_SCALAR)    \
    X(DK_ROUTES, "routes", false, "", TOPO_V_LIST)
#define TOPO_ROUTE_KEYS(X)                                 \
    X(QK_PREFIX, "prefix", true, "prefix: 10.9.0.0/16", TOPO_V_SCALAR) \
    X(QK_NEXT_HOP, "next_hop", true, "next_hop: 192.168.100.2", \
      TOPO_V_SCALAR)
#define TOPO_RPORT_KEYS(X)                                 \
    X(YK_SWITCH, "switch", true, "switch: web", TOPO_V_SCALAR) \
    X(YK_IP, "ip", true, "ip: 10.1.0.1/24", TOPO_V_SCALAR) \
    X(YK_MAC, "mac", false, "", TOPO_V_SCALAR)

enum { TOPO_DHCP_KEYS(TOPO_KEY_ENUM__) DK_N };
enum { TOPO_ROUTE_KEYS(TOPO_KEY_ENUM__) QK_N };
enum { TOPO_RPORT_KEYS(TOPO_KEY_ENUM__) YK_N };
static const struct topo_keydef__ topo_dhcp_keys__[] = {
    TOPO_DHCP_KEYS(TOPO_KEY_DEF__)
};
static const struct topo_keydef__ topo_route_keys__[] = {
    TOPO_ROUTE_KEYS(TOPO_KEY_DEF__)
};
static const struct topo_keydef__ topo_router_keys__[] = {
    TOPO_ROUTER_KEYS(TOPO_KEY_DEF__)
};
static const struct topo_keydef__ topo_rport_keys__[] = {
    TOPO_RPORT_KEYS(TOPO_KEY_DEF__)
};

/* --- shared value parsers ------------------------------------------------- */

static bool
topo_unicast__(uint32_t ip)
{
    return ip && ip < 0xe0000000u;
}

/* Parses the items of 'list' as routes into a new array (*n of them). */
static struct topo_raw_route__ *
topo_parse_routes__(struct topo_ctx__ *ctx, yaml_node_t *list,
                    const char *owner, size_t *n)
{
    size_t len = topo_list_len__(list);
    struct topo_raw_route__ *v = xcalloc(len + 1, sizeof *v);
    char *lpath = xasprintf("%s.routes", owner);
    *n = 0;
    for (size_t i = 0; i < len; i++) {
        yaml_node_t *item = yaml_document_get_node(
            &ctx->doc, list->data.sequence.items.start[i]);
        struct topo_raw_route__ *r = &v[*n];
        if (!topo_parse_object__(ctx, lpath, "route", i, item,
                                 topo_route_keys__, QK_N, &r->o)) {
            free(r->o.path);
            continue;
        }
        (*n)++;
        if (r->o.val[QK_PREFIX]) {
            const char *s = topo_scalar__(r->o.val[QK_PREFIX]);
            char net[IP4_STRLEN];
            if (ip4_parse_cidr(s, &r->prefix, &r->plen)) {
                topo_err_field__(ctx, &r->o, QK_PREFIX, topo_route_keys__,
                                 "bad value: prefix '%s' is not an IPv4 "
                                 "network; write e.g. 10.9.0.0/16 (or "
                                 "0.0.0.0/0 for a default route)", s);
            } else if (r->prefix & ~ip4_mask(r->plen)) {
                ip4_format(r->prefix & ip4_mask(r->plen), net);
                topo_err_field__(ctx, &r->o, QK_PREFIX, topo_route_keys__,
                                 "bad prefix: '%s' has host bits set; did "
                                 "you mean %s/%u?", s, net, r->plen);
            } else {
                r->prefix_ok = true;
            }
        }
        if (r->o.val[QK_NEXT_HOP]) {
            const char *s = topo_scalar__(r->o.val[QK_NEXT_HOP]);
            if (ip4_parse(s, &r->next_hop) || !topo_unicast__(r->next_hop)) {
                topo_err_field__(ctx, &r->o, QK_NEXT_HOP, topo_route_keys__,
                                 "bad value: next_hop '%s' is not a unicast "
                                 "IPv4 address (no prefix length); write "
                                 "e.g. 192.168.100.2", s);
            } else {
                r->next_hop_ok = true;
            }
        }
    }
    free(lpath);
    return v;
}

static void
topo_free_routes__(struct topo_raw_route__ *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].o.path);
    }
    free(v);
}

/* Parses a MAC for a router (port); 0 when invalid (error reported). */
static uint64_t
topo_parse_rmac__(struct topo_ctx__ *ctx, struct topo_raw__ *o, int k,
                  const struct topo_keydef__ *keys)
{
    const char *s = topo_scalar__(o->val[k]);
    uint64_t mac;
    if (eth_parse(s, &mac)) {
        topo_err_field__(ctx, o, k, keys, "bad value: mac '%s' is not a MAC "
                         "address; write e.g. 0a:00:00:00:ff:01", s);
    } else if (!mac || eth_is_multicast(mac)) {
        topo_err_field__(ctx, o, k, keys, "bad value: mac %s is %s; a router "
                         "port needs a unicast address (even first octet, "
                         "e.g. 0a:...)", s, mac ? "multicast" : "all zeros");
    } else {
        return mac;
    }
    return 0;
}

/* --- dhcp ------------------------------------------------------------------ */

static void
topo_check_dhcp_one__(struct topo_ctx__ *ctx, struct topo_raw_switch__ *sw)
{
    struct topo_raw_dhcp__ *d = &sw->dhcp;
    char *path = xasprintf("%s.dhcp", sw->o.path);
    bool ok = topo_parse_object__(ctx, path, "dhcp", SIZE_MAX,
                                  sw->o.val[SK_DHCP], topo_dhcp_keys__, DK_N,
                                  &d->o);
    free(path);
    if (!ok) {
        return;
    }

    bool explicit_off = false;
    if (d->o.val[DK_ENABLED]) {
        const char *s = topo_scalar__(d->o.val[DK_ENABLED]);
        if (!strcmp(s, "true")) {
            d->enabled = true;
        } else if (!strcmp(s, "false")) {
            d->enabled = false;
            explicit_off = true;
        } else {
            topo_err_field__(ctx, &d->o, DK_ENABLED, topo_dhcp_keys__,
                             "bad value: enabled '%s' is not a boolean; "
                             "write true or false", s);
        }
    }
    if (!explicit_off && !sw->o.val[SK_CIDR]) {
        topo_err__(ctx, d->o.node, d->o.path, "DHCP needs the switch's "
                   "network but switch %s has no cidr; add cidr: to the "
                   "switch or set enabled: false", sw->o.name
                   ? sw->o.name : sw->o.path);
    }

    yaml_node_t *dns = d->o.val[DK_DNS];
    for (size_t i = 0; i < topo_list_len__(dns); i++) {
        yaml_node_t *n = yaml_document_get_node(
            &ctx->doc, dns->data.sequence.items.start[i]);
        char *p = xasprintf("%s.dns[%zu]", d->o.path, i);
        uint32_t ip;
        if (n->type != YAML_SCALAR_NODE) {
            topo_err__(ctx, n, p, "wrong node type: a DNS server is one "
                       "address, not %s", topo_node_type_name__(n));
        } else if (ip4_parse(topo_scalar__(n), &ip) || !topo_unicast__(ip)) {
            topo_err__(ctx, n, p, "bad DNS address '%s': not a unicast IPv4 "
                       "address; write e.g. 10.1.0.53", topo_scalar__(n));
        } else if (i >= TOPO_DHCP_MAX_DNS) {
            topo_err__(ctx, n, p, "too many DNS servers: DHCP hands out at "
                       "most %d; remove this one", TOPO_DHCP_MAX_DNS);
        } else {
            d->dns[d->n_dns++] = ip;
        }
        free(p);
    }

    if (d->o.val[DK_LEASE]) {
        const char *s = topo_scalar__(d->o.val[DK_LEASE]);
        unsigned long v;
        if (!topo_parse_uint__(s, TOPO_DHCP_LEASE_MAX, &v)
            || v < TOPO_DHCP_LEASE_MIN) {
            topo_err_field__(ctx, &d->o, DK_LEASE, topo_dhcp_keys__,
                             "bad value: lease_time '%s' out of range; use "
                             "an integer number of seconds %u..%u", s,
                             TOPO_DHCP_LEASE_MIN, TOPO_DHCP_LEASE_MAX);
        } else {
            d->lease_time = (uint32_t) v;
        }
    }

    d->routes = topo_parse_routes__(ctx, d->o.val[DK_ROUTES], d->o.path,
                                    &d->n_routes);
    for (size_t i = 0; i < d->n_routes; i++) {
        struct topo_raw_route__ *r = &d->routes[i];
        char net[IP4_STRLEN], nh[IP4_STRLEN];
        if (r->next_hop_ok && sw->has_cidr
            && !ip4_in_subnet(r->next_hop, sw->net, sw->plen)) {
            ip4_format(sw->net, net);
            ip4_format(r->next_hop, nh);
            topo_err_field__(ctx, &r->o, QK_NEXT_HOP, topo_route_keys__,
                             "next hop %s is outside switch %s's cidr "
                             "%s/%u; a DHCP client can only use a next hop "
                             "on its own network", nh, sw->o.name, net,
                             sw->plen);
        }
    }
}

void
topo_check_dhcp__(struct topo_ctx__ *ctx)
{
    for (size_t i = 0; i < ctx->n_switches; i++) {
        struct topo_raw_switch__ *sw = &ctx->switches[i];
        sw->dhcp.enabled = sw->has_cidr;
        sw->dhcp.lease_time = TOPO_DHCP_LEASE_DEFAULT;
        if (sw->o.val[SK_DHCP]) {
            topo_check_dhcp_one__(ctx, sw);
        }
    }
}

void
topo_build_dhcp__(const struct topo *t, const struct topo_raw_switch__ *r,
                  struct topo_dhcp *dhcp)
{
    const struct topo_raw_dhcp__ *d = &r->dhcp;
    dhcp->enabled = d->enabled && r->has_cidr;
    util_memcpy(dhcp->dns, d->dns, sizeof dhcp->dns);
    dhcp->n_dns = d->n_dns;
    dhcp->lease_time = d->lease_time;
    dhcp->n_routes = d->n_routes;
    dhcp->routes = xcalloc(d->n_routes + 1, sizeof *dhcp->routes);
    for (size_t i = 0; i < d->n_routes; i++) {
        dhcp->routes[i] = (struct topo_route) {
            d->routes[i].prefix, d->routes[i].plen, d->routes[i].next_hop,
            topo_mark__(t, d->routes[i].o.node)
        };
    }
}

/* --- routers: shape ------------------------------------------------------- */

void
topo_parse_routers__(struct topo_ctx__ *ctx, yaml_node_t *list)
{
    size_t len = topo_list_len__(list);
    ctx->routers = xcalloc(len + 1, sizeof *ctx->routers);
    ctx->n_routers = 0;
    for (size_t i = 0; i < len; i++) {
        yaml_node_t *item = yaml_document_get_node(
            &ctx->doc, list->data.sequence.items.start[i]);
        struct topo_raw_router__ *r = &ctx->routers[ctx->n_routers];
        if (!topo_parse_object__(ctx, "routers", "router", i, item,
                                 topo_router_keys__, RK_N, &r->o)) {
            free(r->o.path);
            continue;
        }
        ctx->n_routers++;

        yaml_node_t *ports = r->o.val[RK_PORTS];
        size_t np = topo_list_len__(ports);
        char *lpath = xasprintf("%s.ports", r->o.path);
        r->ports = xcalloc(np + 1, sizeof *r->ports);
        for (size_t j = 0; j < np; j++) {
            yaml_node_t *pn = yaml_document_get_node(
                &ctx->doc, ports->data.sequence.items.start[j]);
            struct topo_raw_rport__ *p = &r->ports[r->n_ports];
            if (topo_parse_object__(ctx, lpath, "router port", j, pn,
                                    topo_rport_keys__, YK_N, &p->o)) {
                p->sw = -1;
                r->n_ports++;
            } else {
                free(p->o.path);
            }
        }
        free(lpath);
        r->routes = topo_parse_routes__(ctx, r->o.val[RK_ROUTES], r->o.path,
                                        &r->n_routes);
        topo_parse_gateway__(ctx, r, &r->o.val[RK_GATEWAY]);
    }
}

/* --- routers: values and references --------------------------------------- */

/* Router port identities packed into a duplicate key's index. */
#define TOPO_RP_TAG__ (1ULL << 62)
#define TOPO_RP_IDX__(r, p) (TOPO_RP_TAG__ | ((uint64_t) (r) << 24) | (p))
#define TOPO_RP_ROUTER__(x) ((size_t) (((x) & ~TOPO_RP_TAG__) >> 24))
#define TOPO_RP_PORT__(x) ((size_t) ((x) & 0xffffff))

static struct topo_raw_rport__ *
topo_rport_at__(struct topo_ctx__ *ctx, size_t x)
{
    return &ctx->routers[TOPO_RP_ROUTER__(x)].ports[TOPO_RP_PORT__(x)];
}

static void
topo_check_rport__(struct topo_ctx__ *ctx, struct topo_raw_rport__ *p,
                   struct topo_raw__ **sv, size_t nsv)
{
    const struct topo_raw_switch__ *sw = NULL;
    char net[IP4_STRLEN];

    if (p->o.val[YK_SWITCH]) {
        const char *s = topo_scalar__(p->o.val[YK_SWITCH]);
        p->sw = topo_lookup__(sv, nsv, s, ctx->switches,
                              sizeof *ctx->switches);
        if (p->sw < 0) {
            topo_err_field__(ctx, &p->o, YK_SWITCH, topo_rport_keys__,
                             "unknown switch '%s'; define it under switches: "
                             "or fix the name", s);
        } else {
            sw = &ctx->switches[p->sw];
            if (!sw->o.val[SK_CIDR]) {
                topo_err_field__(ctx, &p->o, YK_SWITCH, topo_rport_keys__,
                                 "switch %s has no cidr, so a router cannot "
                                 "have an address on it; add cidr: to the "
                                 "switch", s);
            }
        }
    }
    if (p->o.val[YK_IP]) {
        const char *s = topo_scalar__(p->o.val[YK_IP]);
        uint32_t ip;
        unsigned int plen;
        if (ip4_parse_cidr(s, &ip, &plen)) {
            topo_err_field__(ctx, &p->o, YK_IP, topo_rport_keys__,
                             "bad value: ip '%s' is not an IPv4 address with "
                             "the switch's prefix length; write e.g. "
                             "10.1.0.1/24", s);
        } else if (!topo_unicast__(ip)) {
            topo_err_field__(ctx, &p->o, YK_IP, topo_rport_keys__,
                             "bad value: ip %s is not a unicast host "
                             "address", s);
        } else if (sw && sw->has_cidr) {
            ip4_format(sw->net, net);
            if (!ip4_in_subnet(ip, sw->net, sw->plen)) {
                topo_err_field__(ctx, &p->o, YK_IP, topo_rport_keys__,
                                 "router port ip %s is outside switch %s's "
                                 "cidr %s/%u; use an address inside it", s,
                                 sw->o.name, net, sw->plen);
            } else if (plen != sw->plen) {
                char a[IP4_STRLEN];
                ip4_format(ip, a);
                topo_err_field__(ctx, &p->o, YK_IP, topo_rport_keys__,
                                 "router port ip %s has prefix length /%u "
                                 "but switch %s's cidr is %s/%u; write "
                                 "%s/%u", s, plen, sw->o.name, net, sw->plen,
                                 a, sw->plen);
            } else if (ip == sw->net
                       || ip == (sw->net | ~ip4_mask(sw->plen))) {
                topo_err_field__(ctx, &p->o, YK_IP, topo_rport_keys__,
                                 "bad value: router port ip %s is the %s "
                                 "address of switch %s's cidr %s/%u; use a "
                                 "host address (e.g. .1)", s,
                                 ip == sw->net ? "network" : "broadcast",
                                 sw->o.name, net, sw->plen);
            } else {
                p->ip = ip;
                p->plen = plen;
            }
        }
    }
    if (p->o.val[YK_MAC]) {
        p->mac = topo_parse_rmac__(ctx, &p->o, YK_MAC, topo_rport_keys__);
    }
}

static int
topo_rport_order_cmp__(const void *a_, const void *b_, void *r_)
{
    const struct topo_raw_router__ *r = r_;
    const struct topo_raw_rport__ *a = &r->ports[*(const size_t *) a_];
    const struct topo_raw_rport__ *b = &r->ports[*(const size_t *) b_];
    const char *as = a->o.val[YK_SWITCH] ? topo_scalar__(a->o.val[YK_SWITCH])
                                         : "";
    const char *bs = b->o.val[YK_SWITCH] ? topo_scalar__(b->o.val[YK_SWITCH])
                                         : "";
    int c = strcmp(as, bs);
    return c ? c : (a->o.idx < b->o.idx ? -1 : a->o.idx > b->o.idx);
}

/* The router's ports in switch name order (ties in file order). */
static size_t *
topo_rport_order__(struct topo_raw_router__ *r)
{
    size_t *order = xcalloc(r->n_ports + 1, sizeof *order);
    for (size_t i = 0; i < r->n_ports; i++) {
        order[i] = i;
    }
    util_qsort_r(order, r->n_ports, sizeof *order, topo_rport_order_cmp__, r);
    return order;
}

static uint64_t
topo_mac_add__(uint64_t base, uint64_t k)
{
    const uint64_t low = 0xffffffffffULL;
    return (base & ~low) | ((base + k) & low);
}

/* Everything about one router that needs only the router itself. */
static void
topo_check_router__(struct topo_ctx__ *ctx, struct topo_raw_router__ *r,
                    struct topo_raw__ **sv, size_t nsv)
{
    bool ports_ok = true;
    char a[IP4_STRLEN], b[IP4_STRLEN];

    if (r->o.val[RK_MAC]) {
        r->base_mac = topo_parse_rmac__(ctx, &r->o, RK_MAC,
                                        topo_router_keys__);
    }
    for (size_t i = 0; i < r->n_ports; i++) {
        struct topo_raw_rport__ *p = &r->ports[i];
        topo_check_rport__(ctx, p, sv, nsv);
        ports_ok &= p->sw >= 0 && p->ip;
    }

    /* MACs fixed by the file: the port's own, or base + rank. */
    size_t *order = topo_rport_order__(r);
    for (size_t k = 0; k < r->n_ports; k++) {
        struct topo_raw_rport__ *p = &r->ports[order[k]];
        if (!p->o.val[YK_MAC] && r->base_mac) {
            p->mac = topo_mac_add__(r->base_mac, k);
        }
    }
    free(order);

    for (size_t j = 0; j < r->n_ports; j++) {
        struct topo_raw_rport__ *q = &r->ports[j];
        for (size_t i = 0; i < j && q->sw >= 0; i++) {
            struct topo_raw_rport__ *p = &r->ports[i];
            if (p->sw == q->sw) {
                topo_err_field__(ctx, &q->o, YK_SWITCH, topo_rport_keys__,
                                 "router %s already has a port on switch %s "
                                 "(line %lu); a router has at most one port "
                                 "per switch", r->o.name ? r->o.name
                                 : r->o.path, ctx->switches[q->sw].o.name,
                                 topo_line__(&p->o, YK_SWITCH));
                break;
            }
            if (p->ip && q->ip) {
                const struct topo_raw_switch__ *ps = &ctx->switches[p->sw];
                const struct topo_raw_switch__ *qs = &ctx->switches[q->sw];
                unsigned int m = ps->plen < qs->plen ? ps->plen : qs->plen;
                if (ip4_in_subnet(ps->net, qs->net, m)) {
                    ip4_format(qs->net, a);
                    ip4_format(ps->net, b);
                    topo_err_field__(ctx, &q->o, YK_IP, topo_rport_keys__,
                                     "connected network %s/%u (switch %s) "
                                     "overlaps %s/%u (switch %s, line %lu) "
                                     "on the same router; give the switches "
                                     "of one router disjoint cidrs", a,
                                     qs->plen, qs->o.name, b, ps->plen,
                                     ps->o.name, topo_line__(&p->o, YK_IP));
                    break;
                }
            }
        }
    }

    topo_check_gateway__(ctx, r, sv, nsv);
    for (size_t j = 0; j < r->n_routes; j++) {
        struct topo_raw_route__ *q = &r->routes[j];
        for (size_t i = 0; i < j && q->prefix_ok; i++) {
            struct topo_raw_route__ *p = &r->routes[i];
            if (p->prefix_ok && p->prefix == q->prefix && p->plen == q->plen) {
                ip4_format(q->prefix, a);
                topo_err_field__(ctx, &q->o, QK_PREFIX, topo_route_keys__,
                                 "duplicate route prefix %s/%u: routes[%zu] "
                                 "(line %lu) already has it; a router has "
                                 "one next hop per prefix, remove one", a,
                                 q->plen, p->o.idx,
                                 topo_line__(&p->o, QK_PREFIX));
                break;
            }
        }
        if (!q->next_hop_ok || !ports_ok
            || (r->gw.o.node && (r->gw.net < 0 || !r->gw.ip))) {
            continue;   /* Unresolved ports: the check would be guesswork. */
        }
        const struct topo_raw_rport__ *on = NULL, *own = NULL;
        for (size_t i = 0; i < r->n_ports; i++) {
            const struct topo_raw_rport__ *p = &r->ports[i];
            if (ip4_in_subnet(q->next_hop, p->ip, p->plen)) {
                on = p;
            }
            if (q->next_hop == p->ip) {
                own = p;
            }
        }
        ip4_format(q->next_hop, a);
        if (!own && r->gw.ip && q->next_hop == r->gw.ip) {
            topo_err_field__(ctx, &q->o, QK_NEXT_HOP, topo_route_keys__,
                             "next hop %s is router %s's own gateway "
                             "address; use the address of the neighbour "
                             "that forwards this prefix", a,
                             r->o.name ? r->o.name : r->o.path);
        } else if (!on && topo_gateway_connected__(ctx, r, q->next_hop)) {
            continue;           /* On the external network: connected. */
        } else if (own) {
            topo_err_field__(ctx, &q->o, QK_NEXT_HOP, topo_route_keys__,
                             "next hop %s is router %s's own address (its "
                             "port on switch %s); use the address of the "
                             "neighbour that forwards this prefix", a,
                             r->o.name ? r->o.name : r->o.path,
                             ctx->switches[own->sw].o.name);
        } else if (!on) {
            char nets[200] = "";
            for (size_t i = 0; i < r->n_ports; i++) {
                const struct topo_raw_switch__ *s =
                    &ctx->switches[r->ports[i].sw];
                size_t l = strlen(nets);
                ip4_format(s->net, b);
                snprintf(nets + l, sizeof nets - l, "%s%s/%u", i ? ", " : "",
                         b, s->plen);
            }
            topo_err_field__(ctx, &q->o, QK_NEXT_HOP, topo_route_keys__,
                             "next hop %s is not on a network router %s has "
                             "a port on (%s); use a neighbour's address on "
                             "one of them or add a port on the next hop's "
                             "switch", a, r->o.name ? r->o.name : r->o.path,
                             r->n_ports ? nets : "none");
        }
    }
}

static void
topo_report_dup_rport_ip__(struct topo_ctx__ *ctx, size_t first, size_t dup)
{
    struct topo_raw_rport__ *a = topo_rport_at__(ctx, first);
    struct topo_raw_rport__ *b = topo_rport_at__(ctx, dup);
    struct topo_raw_router__ *ra = &ctx->routers[TOPO_RP_ROUTER__(first)];
    char ip[IP4_STRLEN];
    ip4_format(b->ip, ip);
    topo_err_field__(ctx, &b->o, YK_IP, topo_rport_keys__,
                     "router port ip %s on switch %s is already router %s's "
                     "(line %lu); give each router port its own address", ip,
                     ctx->switches[b->sw].o.name,
                     ra->o.name ? ra->o.name : ra->o.path,
                     topo_line__(&a->o, YK_IP));
}

static void
topo_report_dup_rmac__(struct topo_ctx__ *ctx, size_t first, size_t dup)
{
    if (!(dup & TOPO_RP_TAG__)) {
        return;         /* Two workload ports: topo.c reported it. */
    }
    struct topo_raw_router__ *r = &ctx->routers[TOPO_RP_ROUTER__(dup)];
    struct topo_raw_rport__ *b = topo_rport_at__(ctx, dup);
    char mac[ETH_ADDR_STRLEN], who[160];
    eth_format(b->mac, mac);
    if (first & TOPO_RP_TAG__) {
        struct topo_raw_router__ *ra = &ctx->routers[TOPO_RP_ROUTER__(first)];
        struct topo_raw_rport__ *a = topo_rport_at__(ctx, first);
        snprintf(who, sizeof who, "a port of router %s (line %lu)",
                 ra->o.name ? ra->o.name : ra->o.path,
                 topo_line__(&a->o, a->o.val[YK_MAC] ? YK_MAC : -1));
    } else {
        struct topo_raw_port__ *a = &ctx->ports[first];
        snprintf(who, sizeof who, "port %s (line %lu)",
                 a->o.name ? a->o.name : a->o.path,
                 topo_line__(&a->o, PK_MAC));
    }
    if (b->o.val[YK_MAC]) {
        topo_err_field__(ctx, &b->o, YK_MAC, topo_rport_keys__,
                         "router MAC %s duplicates the mac of %s; change "
                         "one or remove it to have one derived", mac, who);
    } else {
        topo_err_field__(ctx, &r->o, RK_MAC, topo_router_keys__,
                         "router MAC %s, which this base mac gives to %s, "
                         "duplicates the mac of %s; choose another base "
                         "mac", mac, b->o.path, who);
    }
}

static int
topo_u64_cmp__(const void *a_, const void *b_)
{
    const struct topo_dupkey__ *a = a_, *b = b_;
    return a->key < b->key ? -1 : a->key > b->key;
}

void
topo_check_routers__(struct topo_ctx__ *ctx, struct topo_raw__ **sv,
                     size_t nsv)
{
    size_t nrv, nrp = topo_router_port_count__(ctx);
    free(topo_check_names__(ctx, ctx->routers, ctx->n_routers,
                            sizeof *ctx->routers, "router",
                            topo_router_keys__, &nrv));
    for (size_t i = 0; i < ctx->n_routers; i++) {
        topo_check_router__(ctx, &ctx->routers[i], sv, nsv);
    }

    /* Workload addresses, sorted by (switch, ip), for the lookups below. */
    struct topo_dupkey__ *wip = xcalloc(ctx->n_ports + 1, sizeof *wip);
    size_t nw = 0;
    for (size_t i = 0; i < ctx->n_ports; i++) {
        const struct topo_raw_port__ *p = &ctx->ports[i];
        if (p->ip && p->sw >= 0) {
            wip[nw++] = (struct topo_dupkey__) {
                ((uint64_t) p->sw << 32) | p->ip, NULL, i };
        }
    }
    util_qsort(wip, nw, sizeof *wip, topo_u64_cmp__);

    struct topo_dupkey__ *kip = xcalloc(nrp + 1, sizeof *kip);
    struct topo_dupkey__ *kmac = xcalloc(nrp + ctx->n_ports + 1, sizeof *kmac);
    size_t nip = 0, nmac = 0;
    for (size_t i = 0; i < ctx->n_ports; i++) {
        if (ctx->ports[i].mac) {
            kmac[nmac++] = (struct topo_dupkey__) { ctx->ports[i].mac, NULL,
                                                    i };
        }
    }
    for (size_t r = 0; r < ctx->n_routers; r++) {
        for (size_t i = 0; i < ctx->routers[r].n_ports; i++) {
            struct topo_raw_rport__ *p = &ctx->routers[r].ports[i];
            if (p->mac) {
                kmac[nmac++] = (struct topo_dupkey__) {
                    p->mac, NULL, TOPO_RP_IDX__(r, i) };
            }
            if (!p->ip) {
                continue;
            }
            struct topo_dupkey__ key = { ((uint64_t) p->sw << 32) | p->ip,
                                         NULL, 0 };
            kip[nip++] = (struct topo_dupkey__) { key.key, NULL,
                                                  TOPO_RP_IDX__(r, i) };
            const struct topo_dupkey__ *w = bsearch(&key, wip, nw, sizeof *wip,
                                                    topo_u64_cmp__);
            if (w) {
                const struct topo_raw_port__ *wp = &ctx->ports[w->idx];
                char ip[IP4_STRLEN];
                ip4_format(p->ip, ip);
                topo_err_field__(ctx, &p->o, YK_IP, topo_rport_keys__,
                                 "router port ip %s is workload port %s's "
                                 "address (line %lu); give the router port "
                                 "an address no workload uses", ip,
                                 wp->o.name ? wp->o.name : wp->o.path,
                                 topo_line__(&wp->o, PK_IP));
            }
        }
    }
    topo_find_dups__(ctx, kip, nip, topo_report_dup_rport_ip__);
    topo_find_dups__(ctx, kmac, nmac, topo_report_dup_rmac__);
    topo_check_gateways__(ctx);
    free(wip);
    free(kip);
    free(kmac);
}

size_t
topo_router_port_count__(const struct topo_ctx__ *ctx)
{
    size_t n = 0;
    for (size_t r = 0; r < ctx->n_routers; r++) {
        n += ctx->routers[r].n_ports;
    }
    return n;
}

void
topo_router_fixed_macs__(const struct topo_ctx__ *ctx,
                         struct topo_u64set__ *set)
{
    for (size_t r = 0; r < ctx->n_routers; r++) {
        for (size_t i = 0; i < ctx->routers[r].n_ports; i++) {
            if (ctx->routers[r].ports[i].mac) {
                topo_u64set_add__(set, ctx->routers[r].ports[i].mac);
            }
        }
    }
}

/* --- routers: the model --------------------------------------------------- */

static int
topo_router_name_cmp__(const void *a_, const void *b_)
{
    const struct topo_raw_router__ *a = *(const void *const *) a_;
    const struct topo_raw_router__ *b = *(const void *const *) b_;
    return strcmp(a->o.name, b->o.name);
}

void
topo_build_routers__(struct topo_ctx__ *ctx, struct topo *t,
                     const size_t *sinv)
{
    size_t n = ctx->n_routers, nrp = topo_router_port_count__(ctx);
    struct topo_raw_router__ **v = xcalloc(n + 1, sizeof *v);
    struct topo_u64set__ set;

    for (size_t i = 0; i < n; i++) {
        v[i] = &ctx->routers[i];
    }
    util_qsort(v, n, sizeof *v, topo_router_name_cmp__);

    /* Derived MACs avoid every workload MAC and every fixed router MAC. */
    topo_u64set_init__(&set, t->n_ports + nrp + topo_gateway_mac_count__(ctx));
    for (size_t i = 0; i < t->n_ports; i++) {
        topo_u64set_add__(&set, t->ports[i].mac);
    }
    topo_router_fixed_macs__(ctx, &set);
    topo_gateway_fixed_macs__(ctx, &set);

    t->n_routers = n;
    t->routers = xcalloc(n + 1, sizeof *t->routers);
    for (size_t i = 0; i < n; i++) {
        struct topo_raw_router__ *r = v[i];
        struct topo_router *tr = &t->routers[i];
        size_t *order = topo_rport_order__(r);

        tr->name = xstrdup(r->o.name);
        tr->mark = topo_mark__(t, r->o.node);
        tr->n_ports = r->n_ports;
        tr->ports = xcalloc(r->n_ports + 1, sizeof *tr->ports);
        for (size_t k = 0; k < r->n_ports; k++) {
            const struct topo_raw_rport__ *p = &r->ports[order[k]];
            struct topo_router_port *tp = &tr->ports[k];
            tp->sw = sinv[p->sw];
            tp->ip = p->ip;
            tp->plen = p->plen;
            tp->mac = p->mac;
            tp->mark = topo_mark__(t, p->o.node);
            if (!tp->mac) {
                const uint64_t low = 0xffffffffffULL, top = 0x0aULL << 40;
                char *key = xasprintf("%s:%s", tr->name,
                                      t->switches[tp->sw].name);
                uint64_t m = top | (topo_hash64__(key) & low);
                free(key);
                while (topo_u64set_has__(&set, m)) {
                    m = top | ((m + 1) & low);
                }
                topo_u64set_add__(&set, m);
                tp->mac = m;
            }
        }
        free(order);

        tr->n_routes = r->n_routes;
        tr->routes = xcalloc(r->n_routes + 1, sizeof *tr->routes);
        for (size_t k = 0; k < r->n_routes; k++) {
            const struct topo_raw_route__ *q = &r->routes[k];
            tr->routes[k] = (struct topo_route) {
                q->prefix, q->plen, q->next_hop, topo_mark__(t, q->o.node)
            };
        }
        topo_build_gateway__(ctx, t, r, tr, sinv, &set);
    }
    LOG_DBG("%s: %zu routers, %zu router ports", ctx->file, n, nrp);
    free(set.v);
    free(v);
}

void
topo_routers_free__(struct topo *t)
{
    for (size_t i = 0; i < t->n_routers; i++) {
        free(t->routers[i].name);
        free(t->routers[i].ports);
        free(t->routers[i].routes);
        topo_gateway_free__(&t->routers[i]);
    }
    free(t->routers);
}

void
topo_ctx_routers_destroy__(struct topo_ctx__ *ctx)
{
    for (size_t i = 0; i < ctx->n_switches; i++) {
        struct topo_raw_dhcp__ *d = &ctx->switches[i].dhcp;
        free(d->o.path);
        topo_free_routes__(d->routes, d->n_routes);
    }
    for (size_t i = 0; i < ctx->n_routers; i++) {
        struct topo_raw_router__ *r = &ctx->routers[i];
        free(r->o.path);
        for (size_t j = 0; j < r->n_ports; j++) {
            free(r->ports[j].o.path);
        }
        free(r->ports);
        topo_free_routes__(r->routes, r->n_routes);
        topo_ctx_gateway_destroy__(r);
    }
    free(ctx->routers);
}

/* --- lookups ---------------------------------------------------------------- */

const struct topo_router_port *
topo_switch_router_port(const struct topo *t, size_t sw, size_t *router)
{
    for (size_t i = 0; i < t->n_routers; i++) {
        for (size_t k = 0; k < t->routers[i].n_ports; k++) {
            if (t->routers[i].ports[k].sw == sw) {
                if (router) {
                    *router = i;
                }
                return &t->routers[i].ports[k];
            }
        }
    }
    return NULL;
}
