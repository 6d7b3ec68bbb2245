/* topo-gateway.c — the external_networks: section and the gateway part of
 * routers (gateway:, snat:, floating_ips:, port_forwards:) of the topology
 * YAML (topo.h, topo-private.h).
 *
 * Same three steps as the rest of the loader (topo.c): shape, values and
 * references (every check on every object it can run on), and the model
 * for an error-free file only.
 *
 * An external network is a logical switch whose VNI shares the switches'
 * VNI space: a given vni must not clash with any switch's or other
 * external network's, and a derived one (FNV-1a-64(name) mod 16777215 + 1,
 * external networks in name order after every switch) probes past every
 * VNI already taken.  A router gateway's MAC, unless given, is derived
 * like a router port's from "ROUTER:NETWORK" (just after that router's
 * port MACs, routers in name order), probing past every MAC taken.
 *
 * NAT lives on the external network's gateway host in this design, so
 * everything NAT-related refers to the router's one external network:
 * floating IPs lie inside it, port forwards listen on the gateway ip.
 */
#include "controller/topo-private.h"

#include <stdio.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/log.h"

LOG_MODULE(topo_gateway);

#define TOPO_EXT_KEYS(X)                                   \
    X(EK_NAME, "name", true, "name: internet", TOPO_V_SCALAR) \
    X(EK_CIDR, "cidr", true, "cidr: 203.0.113.0/24", TOPO_V_SCALAR) \
    X(EK_GATEWAY_IP, "gateway_ip", true, "gateway_ip: 203.0.113.1", \
      TOPO_V_SCALAR)                                       \
    X(EK_GATEWAY_MAC, "gateway_mac", false, "", TOPO_V_SCALAR) \
    X(EK_HOST, "host", true, "host: hv1", TOPO_V_SCALAR)   \
    X(EK_IFACE, "iface", true, "iface: ext0", TOPO_V_SCALAR) \
    X(EK_VNI, "vni", false, "", TOPO_V_SCALAR)
#define TOPO_GW_KEYS(X)                                    \
    X(GK_NETWORK, "network", true, "network: internet", TOPO_V_SCALAR) \
    X(GK_IP, "ip", true, "ip: 203.0.113.10", TOPO_V_SCALAR) \
    X(GK_MAC, "mac", false, "", TOPO_V_SCALAR)
#define TOPO_FIP_KEYS(X)                                   \
    X(FK_IP, "ip", true, "ip: 203.0.113.20", TOPO_V_SCALAR) \
    X(FK_PORT, "port", true, "port: web1", TOPO_V_SCALAR)
#define TOPO_FWD_KEYS(X)                                   \
    X(WK_PROTOCOL, "protocol", true, "protocol: tcp", TOPO_V_SCALAR) \
    X(WK_PORT, "port", true, "port: 8080", TOPO_V_SCALAR)  \
    X(WK_TO, "to", true, "to: app1", TOPO_V_SCALAR)        \
    X(WK_TO_PORT, "to_port", true, "to_port: 80", TOPO_V_SCALAR) \
    X(WK_IP, "ip", false, "", TOPO_V_SCALAR)

enum { TOPO_EXT_KEYS(TOPO_KEY_ENUM__) EK_N };
enum { TOPO_GW_KEYS(TOPO_KEY_ENUM__) GK_N };
enum { TOPO_FIP_KEYS(TOPO_KEY_ENUM__) FK_N };
enum { TOPO_FWD_KEYS(TOPO_KEY_ENUM__) WK_N };
static const struct topo_keydef__ topo_ext_keys__[] = {
    TOPO_EXT_KEYS(TOPO_KEY_DEF__)
};
static const struct topo_keydef__ topo_gw_keys__[] = {
    TOPO_GW_KEYS(TOPO_KEY_DEF__)
};
static const struct topo_keydef__ topo_fip_keys__[] = {
    TOPO_FIP_KEYS(TOPO_KEY_DEF__)
};
static const struct topo_keydef__ topo_fwd_keys__[] = {
    TOPO_FWD_KEYS(TOPO_KEY_DEF__)
};

/* Indexes into the val[] slice topo_parse_gateway__() receives. */
enum { GV_GATEWAY, GV_SNAT, GV_FIPS, GV_FORWARDS };

static const char *
topo_rname__(const struct topo_raw_router__ *r)
{
    return r->o.name ? r->o.name : r->o.path;
}

/* Parses a plain unicast IPv4 address of key 'k'; 0 on error (reported). */
static uint32_t
topo_parse_addr__(struct topo_ctx__ *ctx, struct topo_raw__ *o, int k,
                  const struct topo_keydef__ *keys, const char *example)
{
    const char *s = topo_scalar__(o->val[k]);
    uint32_t ip;
    if (ip4_parse(s, &ip) || !ip || ip >= 0xe0000000u) {
        topo_err_field__(ctx, o, k, keys, "bad value: %s '%s' is not a "
                         "unicast IPv4 address (no prefix length); write "
                         "e.g. %s", keys[k].key, s, example);
        return 0;
    }
    return ip;
}

static uint64_t
topo_parse_umac__(struct topo_ctx__ *ctx, struct topo_raw__ *o, int k,
                  const struct topo_keydef__ *keys)
{
    const char *s = topo_scalar__(o->val[k]);
    uint64_t mac;
    if (eth_parse(s, &mac)) {
        topo_err_field__(ctx, o, k, keys, "bad value: %s '%s' is not a MAC "
                         "address; write e.g. 0a:00:00:00:00:fe",
                         keys[k].key, s);
    } else if (!mac || eth_is_multicast(mac)) {
        topo_err_field__(ctx, o, k, keys, "bad value: %s %s is %s; use a "
                         "unicast address (even first octet, e.g. 0a:...)",
                         keys[k].key, s, mac ? "multicast" : "all zeros");
    } else {
        return mac;
    }
    return 0;
}

/* Raw index of the usable, uniquely named object 'name' among 'n' objects
 * of 'stride' bytes, or -1. */
static long
topo_find_raw__(void *objs, size_t n, size_t stride, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        const struct topo_raw__ *o = (const void *) ((char *) objs
                                                     + i * stride);
        if (o->name && !o->dup && !strcmp(o->name, name)) {
            return (long) i;
        }
    }
    return -1;
}

/* --- external networks ---------------------------------------------------- */

void
topo_parse_externals__(struct topo_ctx__ *ctx, yaml_node_t *list)
{
    size_t len = topo_list_len__(list);
    ctx->externals = xcalloc(len + 1, sizeof *ctx->externals);
    ctx->n_externals = 0;
    for (size_t i = 0; i < len; i++) {
        yaml_node_t *item = yaml_document_get_node(
            &ctx->doc, list->data.sequence.items.start[i]);
        struct topo_raw_ext__ *e = &ctx->externals[ctx->n_externals];
        if (topo_parse_object__(ctx, "external_networks", "external network",
                                i, item, topo_ext_keys__, EK_N, &e->o)) {
            e->host = -1;
            ctx->n_externals++;
        } else {
            free(e->o.path);
        }
    }
}

static void
topo_check_external__(struct topo_ctx__ *ctx, struct topo_raw_ext__ *e,
                      struct topo_raw__ **hv, size_t nhv)
{
    char net[IP4_STRLEN], b[IP4_STRLEN];

    if (e->o.val[EK_CIDR]) {
        const char *s = topo_scalar__(e->o.val[EK_CIDR]);
        if (ip4_parse_cidr(s, &e->net, &e->plen)) {
            topo_err_field__(ctx, &e->o, EK_CIDR, topo_ext_keys__,
                             "bad value: cidr '%s' is not an IPv4 network; "
                             "write e.g. 203.0.113.0/24", s);
        } else if (e->plen < 1 || e->plen > 30) {
            topo_err_field__(ctx, &e->o, EK_CIDR, topo_ext_keys__,
                             "bad value: cidr '%s' prefix length out of "
                             "range; use /1 to /30", s);
        } else if (e->net & ~ip4_mask(e->plen)) {
            ip4_format(e->net & ip4_mask(e->plen), net);
            topo_err_field__(ctx, &e->o, EK_CIDR, topo_ext_keys__,
                             "bad value: cidr '%s' has host bits set; did "
                             "you mean %s/%u?", s, net, e->plen);
        } else {
            e->has_cidr = true;
        }
    }
    if (e->has_cidr) {
        ip4_format(e->net, net);
        for (size_t i = 0; i < ctx->n_switches; i++) {
            const struct topo_raw_switch__ *s = &ctx->switches[i];
            unsigned int m = s->plen < e->plen ? s->plen : e->plen;
            if (s->has_cidr && ip4_in_subnet(s->net, e->net, m)) {
                ip4_format(s->net, b);
                topo_err_field__(ctx, &e->o, EK_CIDR, topo_ext_keys__,
                                 "external cidr %s/%u overlaps switch %s's "
                                 "cidr %s/%u (line %lu); give the external "
                                 "network a range no switch uses", net,
                                 e->plen, s->o.name ? s->o.name : s->o.path,
                                 b, s->plen, topo_line__(&s->o, SK_CIDR));
            }
        }
    }
    if (e->o.val[EK_GATEWAY_IP]) {
        uint32_t ip = topo_parse_addr__(ctx, &e->o, EK_GATEWAY_IP,
                                        topo_ext_keys__, "203.0.113.1");
        if (ip && e->has_cidr) {
            ip4_format(ip, b);
            if (!ip4_in_subnet(ip, e->net, e->plen)) {
                topo_err_field__(ctx, &e->o, EK_GATEWAY_IP, topo_ext_keys__,
                                 "gateway_ip %s is outside the network's "
                                 "cidr %s/%u; use an address inside it", b,
                                 net, e->plen);
            } else if (ip == e->net || ip == (e->net | ~ip4_mask(e->plen))) {
                topo_err_field__(ctx, &e->o, EK_GATEWAY_IP, topo_ext_keys__,
                                 "bad value: gateway_ip %s is the %s address "
                                 "of cidr %s/%u; use a host address", b,
                                 ip == e->net ? "network" : "broadcast", net,
                                 e->plen);
            } else {
                e->gw_ip = ip;
            }
        }
    }
    if (e->o.val[EK_GATEWAY_MAC]) {
        e->gw_mac = topo_parse_umac__(ctx, &e->o, EK_GATEWAY_MAC,
                                      topo_ext_keys__);
    }
    if (e->o.val[EK_HOST]) {
        const char *s = topo_scalar__(e->o.val[EK_HOST]);
        e->host = topo_lookup__(hv, nhv, s, ctx->hosts, sizeof *ctx->hosts);
        if (e->host < 0) {
            topo_err_field__(ctx, &e->o, EK_HOST, topo_ext_keys__,
                             "unknown host '%s'; define it under hosts: or "
                             "fix the name", s);
        }
    }
    if (e->o.val[EK_IFACE]) {
        const char *s = topo_scalar__(e->o.val[EK_IFACE]);
        size_t n = strlen(s);
        bool ok = n >= 1 && n <= TOPO_IFNAMSIZ && strcmp(s, ".")
                  && strcmp(s, "..") && strspn(s, "abcdefghijklmnopqrstuvwxyz"
                                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                               "0123456789_-.") == n;
        if (!ok) {
            topo_err_field__(ctx, &e->o, EK_IFACE, topo_ext_keys__,
                             "bad value: iface '%s' is not a valid interface "
                             "name (1..15 characters A-Z a-z 0-9 _ - .)", s);
        }
        for (size_t i = 0; ok && e->host >= 0 && i < ctx->n_ports; i++) {
            const struct topo_raw_port__ *p = &ctx->ports[i];
            if (p->host == e->host && p->iface && !strcmp(p->iface, s)) {
                topo_err_field__(ctx, &e->o, EK_IFACE, topo_ext_keys__,
                                 "iface '%s' on host %s is already workload "
                                 "port %s's (line %lu); give the external "
                                 "network its own interface", s,
                                 ctx->hosts[e->host].o.name,
                                 p->o.name ? p->o.name : p->o.path,
                                 topo_line__(&p->o, p->o.val[PK_IFACE]
                                                    ? PK_IFACE : PK_NAME));
                break;
            }
        }
        for (struct topo_raw_ext__ *f = ctx->externals; ok && f < e; f++) {
            if (f->host == e->host && e->host >= 0 && f->o.val[EK_IFACE]
                && !strcmp(topo_scalar__(f->o.val[EK_IFACE]), s)) {
                topo_err_field__(ctx, &e->o, EK_IFACE, topo_ext_keys__,
                                 "iface '%s' on host %s is already external "
                                 "network %s's (line %lu); give each "
                                 "external network its own interface", s,
                                 ctx->hosts[e->host].o.name,
                                 f->o.name ? f->o.name : f->o.path,
                                 topo_line__(&f->o, EK_IFACE));
                break;
            }
        }
    }
    if (e->o.val[EK_VNI]) {
        const char *s = topo_scalar__(e->o.val[EK_VNI]);
        unsigned long v;
        if (!topo_parse_uint__(s, TOPO_MAX_VNI, &v) || !v) {
            topo_err_field__(ctx, &e->o, EK_VNI, topo_ext_keys__,
                             "bad value: vni '%s' out of range; use an "
                             "integer 1..%u", s, TOPO_MAX_VNI);
            return;
        }
        const struct topo_raw__ *who = NULL;
        const char *kind = "switch";
        int wk = SK_VNI;
        for (size_t i = 0; !who && i < ctx->n_switches; i++) {
            if (ctx->switches[i].vni == v) {
                who = &ctx->switches[i].o;
            }
        }
        for (struct topo_raw_ext__ *f = ctx->externals; !who && f < e; f++) {
            if (f->vni == v) {
                who = &f->o;
                kind = "external network";
                wk = EK_VNI;
            }
        }
        if (who) {
            topo_err_field__(ctx, &e->o, EK_VNI, topo_ext_keys__,
                             "VNI clash: vni %lu is already given to %s %s "
                             "(line %lu); external networks share the "
                             "switches' VNIs, choose another vni or remove "
                             "it to have one derived", v, kind,
                             who->name ? who->name : who->path,
                             topo_line__(who, wk));
        } else {
            e->vni = (uint32_t) v;
        }
    }
}

void
topo_check_externals__(struct topo_ctx__ *ctx, struct topo_raw__ **hv,
                       size_t nhv)
{
    ctx->ev = topo_check_names__(ctx, ctx->externals, ctx->n_externals,
                                 sizeof *ctx->externals, "external network",
                                 topo_ext_keys__, &ctx->nev);
    for (size_t i = 0; i < ctx->n_externals; i++) {
        topo_check_external__(ctx, &ctx->externals[i], hv, nhv);
    }
}

/* --- router gateways: shape ---------------------------------------------- */

void
topo_parse_gateway__(struct topo_ctx__ *ctx, struct topo_raw_router__ *r,
                     yaml_node_t *const val[4])
{
    r->gw.net = -1;
    if (val[GV_GATEWAY]) {
        char *p = xasprintf("%s.gateway", r->o.path);
        if (!topo_parse_object__(ctx, p, "gateway", SIZE_MAX,
                                 val[GV_GATEWAY], topo_gw_keys__, GK_N,
                                 &r->gw.o)) {
            free(r->gw.o.path);
            memset(&r->gw.o, 0, sizeof r->gw.o);
        }
        free(p);
    }

    yaml_node_t *list = val[GV_SNAT];
    size_t n = topo_list_len__(list);
    r->snat = xcalloc(n + 1, sizeof *r->snat);
    r->snat_nodes = xcalloc(n + 1, sizeof *r->snat_nodes);
    r->n_snat = n;
    for (size_t i = 0; i < n; i++) {
        r->snat_nodes[i] = yaml_document_get_node(
            &ctx->doc, list->data.sequence.items.start[i]);
        r->snat[i] = -1;
    }

    list = val[GV_FIPS];
    n = topo_list_len__(list);
    r->fips = xcalloc(n + 1, sizeof *r->fips);
    char *lpath = xasprintf("%s.floating_ips", r->o.path);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = yaml_document_get_node(
            &ctx->doc, list->data.sequence.items.start[i]);
        struct topo_raw_fip__ *f = &r->fips[r->n_fips];
        if (topo_parse_object__(ctx, lpath, "floating ip", i, item,
                                topo_fip_keys__, FK_N, &f->o)) {
            f->port = -1;
            r->n_fips++;
        } else {
            free(f->o.path);
        }
    }
    free(lpath);

    list = val[GV_FORWARDS];
    n = topo_list_len__(list);
    r->fwds = xcalloc(n + 1, sizeof *r->fwds);
    lpath = xasprintf("%s.port_forwards", r->o.path);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = yaml_document_get_node(
            &ctx->doc, list->data.sequence.items.start[i]);
        struct topo_raw_fwd__ *w = &r->fwds[r->n_fwds];
        if (topo_parse_object__(ctx, lpath, "port forward", i, item,
                                topo_fwd_keys__, WK_N, &w->o)) {
            w->to = -1;
            r->n_fwds++;
        } else {
            free(w->o.path);
        }
    }
    free(lpath);
}

/* --- router gateways: values and references ------------------------------- */

/* True when router 'r' has a port on raw switch 'sw'. */
static bool
topo_router_on__(const struct topo_raw_router__ *r, long sw)
{
    for (size_t i = 0; i < r->n_ports; i++) {
        if (r->ports[i].sw == sw) {
            return true;
        }
    }
    return false;
}

/* Resolves a workload port reference that NAT targets: it must exist,
 * have an ip and sit on a switch of router 'r'.  Returns the raw index or
 * -1 (reported). */
static long
topo_nat_target__(struct topo_ctx__ *ctx, struct topo_raw_router__ *r,
                  struct topo_raw__ *o, int k,
                  const struct topo_keydef__ *keys)
{
    const char *s = topo_scalar__(o->val[k]);
    long i = topo_find_raw__(ctx->ports, ctx->n_ports, sizeof *ctx->ports, s);
    if (i < 0) {
        topo_err_field__(ctx, o, k, keys, "unknown port '%s'; define it "
                         "under ports: or fix the name", s);
        return -1;
    }
    const struct topo_raw_port__ *p = &ctx->ports[i];
    if (p->sw < 0) {
        return -1;              /* Its own error was reported. */
    }
    if (!topo_router_on__(r, p->sw)) {
        topo_err_field__(ctx, o, k, keys, "port %s is on switch %s, which "
                         "router %s has no port on; NAT of a router only "
                         "reaches workloads on its own switches", s,
                         ctx->switches[p->sw].o.name, topo_rname__(r));
        return -1;
    }
    if (!p->ip && !p->o.val[PK_IP]) {
        topo_err_field__(ctx, o, k, keys, "port %s has no ip, so NAT has "
                         "no address to translate to; give the port an ip",
                         s);
        return -1;
    }
    return p->ip ? i : -1;
}

/* Checks an address 'ip' of key 'k' of 'o' against the external network
 * 'e': inside it, not its network/broadcast/gateway address. */
static bool
topo_ext_addr_ok__(struct topo_ctx__ *ctx, const struct topo_raw_ext__ *e,
                   struct topo_raw__ *o, int k,
                   const struct topo_keydef__ *keys, const char *what,
                   uint32_t ip)
{
    char a[IP4_STRLEN], net[IP4_STRLEN];
    ip4_format(ip, a);
    ip4_format(e->net, net);
    if (!ip4_in_subnet(ip, e->net, e->plen)) {
        topo_err_field__(ctx, o, k, keys, "%s %s is outside external "
                         "network %s's cidr %s/%u; use an address inside "
                         "it", what, a, e->o.name, net, e->plen);
    } else if (ip == e->net || ip == (e->net | ~ip4_mask(e->plen))) {
        topo_err_field__(ctx, o, k, keys, "bad value: %s %s is the %s "
                         "address of external network %s's cidr %s/%u; use "
                         "a host address", what, a, ip == e->net
                         ? "network" : "broadcast", e->o.name, net, e->plen);
    } else if (ip == e->gw_ip) {
        topo_err_field__(ctx, o, k, keys, "%s %s is external network %s's "
                         "gateway_ip (the provider's router); use another "
                         "address", what, a, e->o.name);
    } else {
        return true;
    }
    return false;
}

static void
topo_check_gw__(struct topo_ctx__ *ctx, struct topo_raw_router__ *r)
{
    struct topo_raw_gw__ *g = &r->gw;
    const struct topo_raw_ext__ *e = NULL;

    if (g->o.val[GK_NETWORK]) {
        const char *s = topo_scalar__(g->o.val[GK_NETWORK]);
        g->net = topo_lookup__(ctx->ev, ctx->nev, s, ctx->externals,
                               sizeof *ctx->externals);
        if (g->net < 0) {
            topo_err_field__(ctx, &g->o, GK_NETWORK, topo_gw_keys__,
                             "unknown external network '%s'; define it "
                             "under external_networks: or fix the name", s);
        } else {
            e = &ctx->externals[g->net];
        }
    }
    if (g->o.val[GK_IP]) {
        uint32_t ip = topo_parse_addr__(ctx, &g->o, GK_IP, topo_gw_keys__,
                                        "203.0.113.10");
        if (ip && e && e->has_cidr && e->gw_ip
            && topo_ext_addr_ok__(ctx, e, &g->o, GK_IP, topo_gw_keys__,
                                  "gateway ip", ip)) {
            g->ip = ip;
        }
    }
    if (g->o.val[GK_MAC]) {
        g->mac = topo_parse_umac__(ctx, &g->o, GK_MAC, topo_gw_keys__);
    }
}

static void
topo_check_snat__(struct topo_ctx__ *ctx, struct topo_raw_router__ *r,
                  struct topo_raw__ **sv, size_t nsv)
{
    for (size_t i = 0; i < r->n_snat; i++) {
        yaml_node_t *n = r->snat_nodes[i];
        char *p = xasprintf("%s.snat[%zu]", r->o.path, i);
        if (n->type != YAML_SCALAR_NODE || !*topo_scalar__(n)) {
            topo_err__(ctx, n, p, "wrong node type: each snat entry is a "
                       "switch name, not %s", n->type == YAML_SCALAR_NODE
                       ? "an empty value" : topo_node_type_name__(n));
        } else {
            const char *s = topo_scalar__(n);
            long sw = topo_lookup__(sv, nsv, s, ctx->switches,
                                    sizeof *ctx->switches);
            if (sw < 0) {
                topo_err__(ctx, n, p, "unknown switch '%s'; define it under "
                           "switches: or fix the name", s);
            } else if (!topo_router_on__(r, sw)) {
                topo_err__(ctx, n, p, "router %s has no port on switch %s, "
                           "so it cannot SNAT its traffic; add a router "
                           "port on %s or remove it from snat",
                           topo_rname__(r), s, s);
            } else {
                size_t j;
                for (j = 0; j < i && r->snat[j] != sw; j++) {
                    continue;
                }
                if (j < i) {
                    topo_err__(ctx, n, p, "switch %s is already in snat "
                               "(line %lu); list it once", s,
                               (unsigned long) r->snat_nodes[j]
                               ->start_mark.line + 1);
                } else {
                    r->snat[i] = sw;
                }
            }
        }
        free(p);
    }
}

/* Parses a port number of key 'k' (1..65535); 0 on error (reported). */
static uint16_t
topo_parse_l4port__(struct topo_ctx__ *ctx, struct topo_raw__ *o, int k)
{
    const char *s = topo_scalar__(o->val[k]);
    unsigned long v;
    if (!topo_parse_uint__(s, 65535, &v) || !v) {
        topo_err_field__(ctx, o, k, topo_fwd_keys__, "bad value: %s '%s' "
                         "out of range; use an integer 1..65535",
                         topo_fwd_keys__[k].key, s);
        return 0;
    }
    return (uint16_t) v;
}

static void
topo_check_fwd__(struct topo_ctx__ *ctx, struct topo_raw_router__ *r,
                 struct topo_raw_fwd__ *w)
{
    if (w->o.val[WK_PROTOCOL]) {
        const char *s = topo_scalar__(w->o.val[WK_PROTOCOL]);
        if (!strcmp(s, "tcp")) {
            w->proto = 6;
        } else if (!strcmp(s, "udp")) {
            w->proto = 17;
        } else {
            topo_err_field__(ctx, &w->o, WK_PROTOCOL, topo_fwd_keys__,
                             "bad value: protocol '%s' is not tcp or udp; "
                             "port forwards translate TCP and UDP only", s);
        }
    }
    if (w->o.val[WK_PORT]) {
        w->port = topo_parse_l4port__(ctx, &w->o, WK_PORT);
    }
    if (w->o.val[WK_TO_PORT]) {
        w->to_port = topo_parse_l4port__(ctx, &w->o, WK_TO_PORT);
    }
    if (w->o.val[WK_TO]) {
        w->to = topo_nat_target__(ctx, r, &w->o, WK_TO, topo_fwd_keys__);
    }
    w->ip = r->gw.ip;
    if (w->o.val[WK_IP]) {
        uint32_t ip = topo_parse_addr__(ctx, &w->o, WK_IP, topo_fwd_keys__,
                                        "203.0.113.10");
        if (ip && r->gw.ip && ip != r->gw.ip) {
            char a[IP4_STRLEN], g[IP4_STRLEN];
            ip4_format(ip, a);
            ip4_format(r->gw.ip, g);
            topo_err_field__(ctx, &w->o, WK_IP, topo_fwd_keys__,
                             "port forward ip %s is not router %s's gateway "
                             "ip %s; port forwards listen on the gateway ip "
                             "only (leave ip out to use it)", a,
                             topo_rname__(r), g);
        }
        if (ip != r->gw.ip) {
            w->ip = 0;
        }
    }
}

void
topo_check_gateway__(struct topo_ctx__ *ctx, struct topo_raw_router__ *r,
                     struct topo_raw__ **sv, size_t nsv)
{
    static const struct { int k; const char *what; } needs_gw[] = {
        { RK_SNAT, "snat" }, { RK_FIPS, "floating_ips" },
        { RK_FORWARDS, "port_forwards" },
    };
    /* A gateway: of the wrong type still counts as given (its own error
     * was reported). */
    bool has_gw = r->o.val[RK_GATEWAY] != NULL;

    for (size_t i = 0; !has_gw && i < ARRAY_SIZE(needs_gw); i++) {
        int k = needs_gw[i].k;
        if (r->o.val[k] && topo_list_len__(r->o.val[k])) {
            char *p = xasprintf("%s.%s", r->o.path, needs_gw[i].what);
            yaml_node_t *n = r->o.val[k];
            topo_err__(ctx, n, p, "router %s has %s but no gateway; add "
                       "gateway: {network: ..., ip: ...} to the router",
                       topo_rname__(r), needs_gw[i].what);
            free(p);
        }
    }
    if (r->gw.o.node) {
        topo_check_gw__(ctx, r);
    }
    topo_check_snat__(ctx, r, sv, nsv);

    const struct topo_raw_ext__ *e = r->gw.net >= 0
                                     ? &ctx->externals[r->gw.net] : NULL;
    for (size_t i = 0; i < r->n_fips; i++) {
        struct topo_raw_fip__ *f = &r->fips[i];
        if (f->o.val[FK_IP]) {
            uint32_t ip = topo_parse_addr__(ctx, &f->o, FK_IP,
                                            topo_fip_keys__, "203.0.113.20");
            if (ip && e && e->has_cidr && e->gw_ip
                && topo_ext_addr_ok__(ctx, e, &f->o, FK_IP, topo_fip_keys__,
                                      "floating ip", ip)) {
                f->ip = ip;
            }
        }
        if (f->o.val[FK_PORT]) {
            f->port = topo_nat_target__(ctx, r, &f->o, FK_PORT,
                                        topo_fip_keys__);
        }
    }

    for (size_t i = 0; i < r->n_fwds; i++) {
        struct topo_raw_fwd__ *w = &r->fwds[i];
        topo_check_fwd__(ctx, r, w);
        for (size_t j = 0; j < i && w->ip && w->proto && w->port; j++) {
            const struct topo_raw_fwd__ *v = &r->fwds[j];
            if (v->ip == w->ip && v->proto == w->proto && v->port == w->port) {
                char a[IP4_STRLEN];
                ip4_format(w->ip, a);
                topo_err_field__(ctx, &w->o, WK_PORT, topo_fwd_keys__,
                                 "duplicate port forward %s %s:%u: "
                                 "port_forwards[%zu] (line %lu) already "
                                 "forwards it; remove one",
                                 w->proto == 6 ? "tcp" : "udp", a,
                                 (unsigned) w->port, v->o.idx,
                                 topo_line__(&v->o, WK_PORT));
                break;
            }
        }
    }
}

bool
topo_gateway_connected__(const struct topo_ctx__ *ctx,
                         const struct topo_raw_router__ *r, uint32_t ip)
{
    if (r->gw.net < 0 || !r->gw.ip) {
        return false;
    }
    const struct topo_raw_ext__ *e = &ctx->externals[r->gw.net];
    return e->has_cidr && ip4_in_subnet(ip, e->net, e->plen);
}

/* Addresses taken on external networks, for the duplicate checks: key =
 * external << 32 | ip; idx = router << 24 | item, item 0 = the gateway
 * (so that it comes first), else the floating ip's index + 1. */
#define TOPO_GWK_GW__ 0u
#define TOPO_GWK_IDX__(r, i) (((uint64_t) (r) << 24) | (i))

static void
topo_report_dup_ext_ip__(struct topo_ctx__ *ctx, size_t first, size_t dup)
{
    struct topo_raw_router__ *ra = &ctx->routers[first >> 24];
    struct topo_raw_router__ *rb = &ctx->routers[dup >> 24];
    size_t ia = first & 0xffffff, ib = dup & 0xffffff;
    char ip[IP4_STRLEN], who[160];

    if (ia == TOPO_GWK_GW__) {
        snprintf(who, sizeof who, "router %s's gateway ip (line %lu)",
                 topo_rname__(ra), topo_line__(&ra->gw.o, GK_IP));
    } else {
        snprintf(who, sizeof who, "a floating ip of router %s (line %lu)",
                 topo_rname__(ra), topo_line__(&ra->fips[ia - 1].o, FK_IP));
    }
    if (ib == TOPO_GWK_GW__) {
        ip4_format(rb->gw.ip, ip);
        topo_err_field__(ctx, &rb->gw.o, GK_IP, topo_gw_keys__,
                         "gateway ip %s is already %s; give every router "
                         "its own gateway address", ip, who);
    } else {
        ip4_format(rb->fips[ib - 1].ip, ip);
        topo_err_field__(ctx, &rb->fips[ib - 1].o, FK_IP, topo_fip_keys__,
                         "floating ip %s is already %s; use each address "
                         "once", ip, who);
    }
}

static void
topo_report_dup_fip_port__(struct topo_ctx__ *ctx, size_t first, size_t dup)
{
    struct topo_raw_router__ *ra = &ctx->routers[first >> 24];
    struct topo_raw_router__ *rb = &ctx->routers[dup >> 24];
    struct topo_raw_fip__ *a = &ra->fips[first & 0xffffff];
    struct topo_raw_fip__ *b = &rb->fips[dup & 0xffffff];
    topo_err_field__(ctx, &b->o, FK_PORT, topo_fip_keys__,
                     "port %s already has a floating ip (router %s, line "
                     "%lu); a floating ip is one-to-one, give a port at "
                     "most one", topo_scalar__(b->o.val[FK_PORT]),
                     topo_rname__(ra), topo_line__(&a->o, FK_PORT));
}

/* A gateway MAC clashing with any workload, router port, other gateway or
 * external gateway_mac given in the file. */
static void
topo_check_gw_macs__(struct topo_ctx__ *ctx)
{
    char mac[ETH_ADDR_STRLEN];
    for (size_t r = 0; r < ctx->n_routers; r++) {
        struct topo_raw_router__ *rt = &ctx->routers[r];
        uint64_t m = rt->gw.mac;
        const char *kind = NULL, *name = NULL;
        unsigned long line = 0;
        if (!m) {
            continue;
        }
        for (size_t i = 0; !kind && i < ctx->n_ports; i++) {
            if (ctx->ports[i].mac == m) {
                kind = "port";
                name = ctx->ports[i].o.name ? ctx->ports[i].o.name
                                            : ctx->ports[i].o.path;
                line = topo_line__(&ctx->ports[i].o, PK_MAC);
            }
        }
        for (size_t q = 0; !kind && q < ctx->n_routers; q++) {
            const struct topo_raw_router__ *o = &ctx->routers[q];
            for (size_t i = 0; !kind && i < o->n_ports; i++) {
                if (o->ports[i].mac == m) {
                    kind = "a port of router";
                    name = topo_rname__(o);
                    line = topo_line__(&o->ports[i].o, -1);
                }
            }
            if (!kind && q < r && o->gw.mac == m) {
                kind = "the gateway of router";
                name = topo_rname__(o);
                line = topo_line__(&o->gw.o, GK_MAC);
            }
        }
        for (size_t i = 0; !kind && i < ctx->n_externals; i++) {
            if (ctx->externals[i].gw_mac == m) {
                kind = "the gateway_mac of external network";
                name = ctx->externals[i].o.name ? ctx->externals[i].o.name
                                                : ctx->externals[i].o.path;
                line = topo_line__(&ctx->externals[i].o, EK_GATEWAY_MAC);
            }
        }
        if (kind) {
            eth_format(m, mac);
            topo_err_field__(ctx, &rt->gw.o, GK_MAC, topo_gw_keys__,
                             "gateway mac %s duplicates the mac of %s %s "
                             "(line %lu); change it or remove it to have "
                             "one derived", mac, kind, name, line);
        }
    }
}

void
topo_check_gateways__(struct topo_ctx__ *ctx)
{
    size_t n = 0;
    for (size_t r = 0; r < ctx->n_routers; r++) {
        n += 1 + ctx->routers[r].n_fips;
    }
    struct topo_dupkey__ *kip = xcalloc(n + 1, sizeof *kip);
    struct topo_dupkey__ *kport = xcalloc(n + 1, sizeof *kport);
    size_t nip = 0, nport = 0;
    for (size_t r = 0; r < ctx->n_routers; r++) {
        const struct topo_raw_router__ *rt = &ctx->routers[r];
        if (rt->gw.net < 0) {
            continue;
        }
        uint64_t net = (uint64_t) rt->gw.net << 32;
        if (rt->gw.ip) {
            kip[nip++] = (struct topo_dupkey__) {
                net | rt->gw.ip, NULL, TOPO_GWK_IDX__(r, TOPO_GWK_GW__) };
        }
        for (size_t i = 0; i < rt->n_fips; i++) {
            if (rt->fips[i].ip) {
                kip[nip++] = (struct topo_dupkey__) {
                    net | rt->fips[i].ip, NULL, TOPO_GWK_IDX__(r, i + 1) };
            }
            if (rt->fips[i].port >= 0) {
                kport[nport++] = (struct topo_dupkey__) {
                    (uint64_t) rt->fips[i].port, NULL, TOPO_GWK_IDX__(r, i) };
            }
        }
    }
    topo_find_dups__(ctx, kip, nip, topo_report_dup_ext_ip__);
    topo_find_dups__(ctx, kport, nport, topo_report_dup_fip_port__);
    topo_check_gw_macs__(ctx);
    free(kip);
    free(kport);
}

size_t
topo_gateway_mac_count__(const struct topo_ctx__ *ctx)
{
    return ctx->n_routers + ctx->n_externals;
}

void
topo_gateway_fixed_macs__(const struct topo_ctx__ *ctx,
                          struct topo_u64set__ *set)
{
    for (size_t r = 0; r < ctx->n_routers; r++) {
        if (ctx->routers[r].gw.mac) {
            topo_u64set_add__(set, ctx->routers[r].gw.mac);
        }
    }
    for (size_t i = 0; i < ctx->n_externals; i++) {
        if (ctx->externals[i].gw_mac) {
            topo_u64set_add__(set, ctx->externals[i].gw_mac);
        }
    }
}

/* --- the model ------------------------------------------------------------- */

void
topo_external_vnis__(const struct topo_ctx__ *ctx, struct topo_u64set__ *set)
{
    for (size_t i = 0; i < ctx->n_externals; i++) {
        if (ctx->externals[i].vni) {
            topo_u64set_add__(set, ctx->externals[i].vni);
        }
    }
}

void
topo_build_externals__(struct topo_ctx__ *ctx, struct topo *t,
                       const size_t *hinv, struct topo_u64set__ *vnis)
{
    /* ctx->ev is sorted by name and, without errors, holds them all. */
    t->n_externals = ctx->nev;
    t->externals = xcalloc(ctx->nev + 1, sizeof *t->externals);
    for (size_t i = 0; i < ctx->nev; i++) {
        const struct topo_raw_ext__ *r = (const void *) ctx->ev[i];
        struct topo_external *e = &t->externals[i];
        e->name = xstrdup(r->o.name);
        e->net = r->net;
        e->plen = r->plen;
        e->gateway_ip = r->gw_ip;
        e->gateway_mac = r->gw_mac;
        e->host = hinv[r->host];
        e->iface = xstrdup(topo_scalar__(r->o.val[EK_IFACE]));
        e->vni = r->vni;
        if (!e->vni) {
            uint32_t v = (uint32_t) (topo_hash64__(e->name) % TOPO_MAX_VNI) + 1;
            while (topo_u64set_has__(vnis, v)) {
                v = v % TOPO_MAX_VNI + 1;
            }
            topo_u64set_add__(vnis, v);
            e->vni = v;
        }
        e->mark = topo_mark__(t, r->o.node);
    }
    LOG_DBG("%s: %zu external networks", ctx->file, t->n_externals);
}

static int
topo_size_cmp__(const void *a_, const void *b_)
{
    size_t a = *(const size_t *) a_, b = *(const size_t *) b_;
    return a < b ? -1 : a > b;
}

static int
topo_fip_cmp__(const void *a_, const void *b_)
{
    const struct topo_fip *a = a_, *b = b_;
    return a->ip < b->ip ? -1 : a->ip > b->ip;
}

static int
topo_fwd_cmp__(const void *a_, const void *b_)
{
    const struct topo_port_forward *a = a_, *b = b_;
    uint64_t x = (uint64_t) a->ip << 24 | (uint64_t) a->proto << 16 | a->port;
    uint64_t y = (uint64_t) b->ip << 24 | (uint64_t) b->proto << 16 | b->port;
    return x < y ? -1 : x > y;
}

static size_t
topo_port_index__(const struct topo_ctx__ *ctx, const struct topo *t,
                  long raw)
{
    return (size_t) (topo_find_port(t, ctx->ports[raw].o.name) - t->ports);
}

void
topo_build_gateway__(struct topo_ctx__ *ctx, struct topo *t,
                     const struct topo_raw_router__ *r,
                     struct topo_router *tr, const size_t *sinv,
                     struct topo_u64set__ *macs)
{
    if (!r->gw.o.node) {
        return;
    }
    const struct topo_external *e = topo_find_external(
        t, ctx->externals[r->gw.net].o.name);
    tr->has_gateway = true;
    tr->gw_net = (size_t) (e - t->externals);
    tr->gw_ip = r->gw.ip;
    tr->gw_mark = topo_mark__(t, r->gw.o.node);
    tr->gw_mac = r->gw.mac;
    if (!tr->gw_mac) {
        const uint64_t low = 0xffffffffffULL, top = 0x0aULL << 40;
        char *key = xasprintf("%s:%s", tr->name, e->name);
        uint64_t m = top | (topo_hash64__(key) & low);
        free(key);
        while (topo_u64set_has__(macs, m)) {
            m = top | ((m + 1) & low);
        }
        topo_u64set_add__(macs, m);
        tr->gw_mac = m;
    }

    tr->n_snat = r->n_snat;
    tr->snat = xcalloc(r->n_snat + 1, sizeof *tr->snat);
    for (size_t i = 0; i < r->n_snat; i++) {
        tr->snat[i] = sinv[r->snat[i]];
    }
    qsort(tr->snat, tr->n_snat, sizeof *tr->snat, topo_size_cmp__);

    tr->n_fips = r->n_fips;
    tr->fips = xcalloc(r->n_fips + 1, sizeof *tr->fips);
    for (size_t i = 0; i < r->n_fips; i++) {
        tr->fips[i] = (struct topo_fip) {
            r->fips[i].ip, topo_port_index__(ctx, t, r->fips[i].port),
            topo_mark__(t, r->fips[i].o.node)
        };
    }
    qsort(tr->fips, tr->n_fips, sizeof *tr->fips, topo_fip_cmp__);

    tr->n_forwards = r->n_fwds;
    tr->forwards = xcalloc(r->n_fwds + 1, sizeof *tr->forwards);
    for (size_t i = 0; i < r->n_fwds; i++) {
        const struct topo_raw_fwd__ *w = &r->fwds[i];
        tr->forwards[i] = (struct topo_port_forward) {
            w->ip, w->proto, w->port, topo_port_index__(ctx, t, w->to),
            w->to_port, topo_mark__(t, w->o.node)
        };
    }
    qsort(tr->forwards, tr->n_forwards, sizeof *tr->forwards,
          topo_fwd_cmp__);

    /* The implicit default route through the provider's router. */
    for (size_t i = 0; i < tr->n_routes; i++) {
        if (!tr->routes[i].plen) {
            return;
        }
    }
    tr->routes = xrealloc(tr->routes, (tr->n_routes + 1) * sizeof *tr->routes);
    tr->routes[tr->n_routes++] = (struct topo_route) {
        0, 0, e->gateway_ip, tr->gw_mark
    };
}

void
topo_gateway_free__(struct topo_router *tr)
{
    free(tr->snat);
    free(tr->fips);
    free(tr->forwards);
}

void
topo_externals_free__(struct topo *t)
{
    for (size_t i = 0; i < t->n_externals; i++) {
        free(t->externals[i].name);
        free(t->externals[i].iface);
    }
    free(t->externals);
}

void
topo_ctx_gateway_destroy__(struct topo_raw_router__ *r)
{
    free(r->gw.o.path);
    free(r->snat);
    free(r->snat_nodes);
    for (size_t i = 0; i < r->n_fips; i++) {
        free(r->fips[i].o.path);
    }
    free(r->fips);
    for (size_t i = 0; i < r->n_fwds; i++) {
        free(r->fwds[i].o.path);
    }
    free(r->fwds);
}

void
topo_ctx_externals_destroy__(struct topo_ctx__ *ctx)
{
    for (size_t i = 0; i < ctx->n_externals; i++) {
        free(ctx->externals[i].o.path);
    }
    free(ctx->externals);
    free(ctx->ev);
}
