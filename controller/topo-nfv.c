/* topo-nfv.c — the firewalls: and load_balancers: sections of the topology
 * YAML (topo.h: struct topo_firewall, struct topo_lb): anet-nfv instances
 * the controller inserts into traffic paths.
 *
 * A firewall (vAF) sits on router R between two of R's switches: routed
 * traffic between them, both directions, is steered through the instance
 * on its host.  The host must hold R's tables, i.e. have a port on one of
 * R's switches.  A load balancer (vAD) is one-armed on one switch with an
 * address there (its vip); its backends are workload ports with an ip on
 * that switch.
 *
 * A load balancer is also a port: step 1 appends a raw port per load
 * balancer to the raw ports (nfv = true; name, host and switch are the
 * load balancer's value nodes, iface "lb-NAME"), so that every port check
 * runs on it (unknown host or switch, iface clash, the per-host port
 * limit) and the model gets a port like any other, with a MAC derived from
 * its name.  Its ip (the vip) is checked here right after the ports, so
 * that the router checks (a router port on that address) and the NAT
 * checks (a floating ip to the vip) see it.  Load balancer names therefore
 * may not clash with workload port names; firewall and load balancer names
 * share one namespace (instance names) and are at most 9 characters (the
 * agent names interfaces "fwl-NAME-n" and "lb-NAME").
 *
 * Same three steps as the rest of the loader (topo.c); every check runs on
 * everything it can, so that one pass reports all problems, each at the
 * node it is about.
 */
#include "controller/topo.h"
#include "controller/topo-private.h"

#include <stdio.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(topo_nfv);

#define TOPO_NFV_MAX_CONNS 16777216u
#define TOPO_NFV_DEFAULT_CONNS 100000u
#define TOPO_LB_MAX_WEIGHT 256u
#define TOPO_LB_DEFAULT_HEALTH 1000u
#define TOPO_LB_MIN_HEALTH 100u
#define TOPO_LB_MAX_HEALTH 60000u

#define TOPO_FW_KEYS(X)                                        \
    X(FK_NAME, "name", true, "name: fw1", TOPO_V_SCALAR)       \
    X(FK_HOST, "host", true, "host: hv2", TOPO_V_SCALAR)       \
    X(FK_ROUTER, "router", true, "router: r1", TOPO_V_SCALAR)  \
    X(FK_BETWEEN, "between", true, "between: [web, db]", TOPO_V_LIST) \
    X(FK_DEFAULT, "default_action", false, "", TOPO_V_SCALAR)  \
    X(FK_MAXCONN, "max_connections", false, "", TOPO_V_SCALAR) \
    X(FK_PERSRC, "max_connections_per_source", false, "", TOPO_V_SCALAR) \
    X(FK_MALFORMED, "malformed", false, "", TOPO_V_SCALAR)     \
    X(FK_RULES, "rules", false, "", TOPO_V_LIST)
#define TOPO_FWRULE_KEYS(X)                                    \
    X(WK_PROTOCOL, "protocol", false, "", TOPO_V_SCALAR)       \
    X(WK_PORTS, "ports", false, "", TOPO_V_SCALAR)             \
    X(WK_ICMP_TYPE, "icmp_type", false, "", TOPO_V_SCALAR)     \
    X(WK_SRC, "src", false, "", TOPO_V_LIST)                   \
    X(WK_DST, "dst", false, "", TOPO_V_LIST)                   \
    X(WK_ACTION, "action", false, "", TOPO_V_SCALAR)           \
    X(WK_LOG, "log", false, "", TOPO_V_SCALAR)
#define TOPO_LB_KEYS(X)                                        \
    X(LK_NAME, "name", true, "name: lb1", TOPO_V_SCALAR)       \
    X(LK_HOST, "host", true, "host: hv1", TOPO_V_SCALAR)       \
    X(LK_SWITCH, "switch", true, "switch: app", TOPO_V_SCALAR) \
    X(LK_VIP, "vip", true, "vip: 10.2.0.100", TOPO_V_SCALAR)   \
    X(LK_SERVICES, "services", true,                           \
      "services: [{protocol: tcp, port: 80, backends: [{port: app1}]}]", \
      TOPO_V_LIST)
#define TOPO_LBSVC_KEYS(X)                                     \
    X(VK_PROTOCOL, "protocol", true, "protocol: tcp", TOPO_V_SCALAR) \
    X(VK_PORT, "port", true, "port: 80", TOPO_V_SCALAR)        \
    X(VK_HEALTH, "health_interval_ms", false, "", TOPO_V_SCALAR) \
    X(VK_BACKENDS, "backends", true, "backends: [{port: app1}]", \
      TOPO_V_LIST)
#define TOPO_LBBE_KEYS(X)                                      \
    X(BK_PORT, "port", true, "port: app1", TOPO_V_SCALAR)      \
    X(BK_TO_PORT, "to_port", false, "", TOPO_V_SCALAR)         \
    X(BK_WEIGHT, "weight", false, "", TOPO_V_SCALAR)

enum { TOPO_FW_KEYS(TOPO_KEY_ENUM__) FK_N };
enum { TOPO_FWRULE_KEYS(TOPO_KEY_ENUM__) WK_N };
enum { TOPO_LB_KEYS(TOPO_KEY_ENUM__) LK_N };
enum { TOPO_LBSVC_KEYS(TOPO_KEY_ENUM__) VK_N };
enum { TOPO_LBBE_KEYS(TOPO_KEY_ENUM__) BK_N };
static const struct topo_keydef__ topo_fw_keys__[] = {
    TOPO_FW_KEYS(TOPO_KEY_DEF__)
};
static const struct topo_keydef__ topo_fwrule_keys__[] = {
    TOPO_FWRULE_KEYS(TOPO_KEY_DEF__)
};
static const struct topo_keydef__ topo_lb_keys__[] = {
    TOPO_LB_KEYS(TOPO_KEY_DEF__)
};
static const struct topo_keydef__ topo_lbsvc_keys__[] = {
    TOPO_LBSVC_KEYS(TOPO_KEY_DEF__)
};
static const struct topo_keydef__ topo_lbbe_keys__[] = {
    TOPO_LBBE_KEYS(TOPO_KEY_DEF__)
};

static const char *const topo_nfv_protos__[] = { "any", "tcp", "udp",
                                                  "icmp" };
static const char *const topo_nfv_actions__[] = { "allow", "deny",
                                                   "reject" };
static const char *const topo_nfv_malformed__[] = { "drop", "pass" };

/* --- shape --------------------------------------------------------------- */

/* Parses every item of 'list' (at path 'lpath') into a new array of raw
 * objects of 'stride' bytes, each starting with a struct topo_raw__;
 * '*n_out' receives the number of usable ones. */
static void *
topo_nfv_list__(struct topo_ctx__ *ctx, yaml_node_t *list, const char *lpath,
                const char *kind, const struct topo_keydef__ *keys,
                size_t n_keys, size_t stride, size_t *n_out)
{
    size_t len = topo_list_len__(list);
    char *objs = xcalloc(len + 1, stride);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        yaml_node_t *item = yaml_document_get_node(
            &ctx->doc, list->data.sequence.items.start[i]);
        struct topo_raw__ *o = (struct topo_raw__ *) (objs + n * stride);
        if (topo_parse_object__(ctx, lpath, kind, i, item, keys, n_keys, o)) {
            n++;
        } else {
            free(o->path);
        }
    }
    *n_out = n;
    return objs;
}

/* The value node of key 'key' of object 'o' when it is given but null
 * ("key:" or "key: ~"), else NULL. */
static yaml_node_t *
topo_nfv_null_key__(struct topo_ctx__ *ctx, const struct topo_raw__ *o,
                    const char *key)
{
    if (!o->node || o->node->type != YAML_MAPPING_NODE) {
        return NULL;
    }
    for (yaml_node_pair_t *p = o->node->data.mapping.pairs.start;
         p < o->node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&ctx->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&ctx->doc, p->value);
        if (k->type == YAML_SCALAR_NODE && !strcmp(topo_scalar__(k), key)
            && topo_is_null__(v)) {
            return v;
        }
    }
    return NULL;
}

/* A required list that is empty ("key: []", or "key:" with nothing). */
static void
topo_nfv_check_empty__(struct topo_ctx__ *ctx, const struct topo_raw__ *o,
                       yaml_node_t *val, const char *key, const char *what)
{
    yaml_node_t *n = val && !topo_list_len__(val) ? val
                     : !val ? topo_nfv_null_key__(ctx, o, key) : NULL;
    if (n) {
        char *p = xasprintf("%s.%s", o->path, key);
        topo_err__(ctx, n, p, "empty list: %s", what);
        free(p);
    }
}

static void
topo_parse_firewalls__(struct topo_ctx__ *ctx, yaml_node_t *list)
{
    ctx->firewalls = topo_nfv_list__(ctx, list, "firewalls", "firewall",
                                     topo_fw_keys__, FK_N,
                                     sizeof *ctx->firewalls,
                                     &ctx->n_firewalls);
    for (size_t i = 0; i < ctx->n_firewalls; i++) {
        struct topo_raw_fw__ *f = &ctx->firewalls[i];
        char *lpath = xasprintf("%s.rules", f->o.path);
        f->host = f->router = f->sw[0] = f->sw[1] = -1;
        f->rules = topo_nfv_list__(ctx, f->o.val[FK_RULES], lpath,
                                   "firewall rule", topo_fwrule_keys__, WK_N,
                                   sizeof *f->rules, &f->n_rules);
        free(lpath);
    }
}

static void
topo_parse_lbs__(struct topo_ctx__ *ctx, yaml_node_t *list)
{
    ctx->lbs = topo_nfv_list__(ctx, list, "load_balancers", "load balancer",
                               topo_lb_keys__, LK_N, sizeof *ctx->lbs,
                               &ctx->n_lbs);
    for (size_t i = 0; i < ctx->n_lbs; i++) {
        struct topo_raw_lb__ *lb = &ctx->lbs[i];
        char *lpath = xasprintf("%s.services", lb->o.path);
        lb->host = lb->sw = lb->port = -1;
        lb->services = topo_nfv_list__(ctx, lb->o.val[LK_SERVICES], lpath,
                                       "load balancer service",
                                       topo_lbsvc_keys__, VK_N,
                                       sizeof *lb->services,
                                       &lb->n_services);
        free(lpath);
        for (size_t j = 0; j < lb->n_services; j++) {
            struct topo_raw_lbsvc__ *v = &lb->services[j];
            char *bpath = xasprintf("%s.backends", v->o.path);
            v->backends = topo_nfv_list__(ctx, v->o.val[VK_BACKENDS], bpath,
                                          "load balancer backend",
                                          topo_lbbe_keys__, BK_N,
                                          sizeof *v->backends,
                                          &v->n_backends);
            free(bpath);
            for (size_t k = 0; k < v->n_backends; k++) {
                v->backends[k].port = -1;
            }
        }
    }
}

/* Reports a firewall or load balancer name longer than 9 characters;
 * returns whether it fits. */
static bool
topo_nfv_name_fits__(struct topo_ctx__ *ctx, struct topo_raw__ *o,
                     const struct topo_keydef__ *keys, const char *kind,
                     const char *ifname)
{
    if (strlen(o->name) <= TOPO_NFV_NAME_MAX) {
        return true;
    }
    topo_err_field__(ctx, o, 0, keys, "bad value: %s name '%s' is longer "
                     "than %u characters (it names the instance's "
                     "interfaces, %s); use a shorter name", kind, o->name,
                     TOPO_NFV_NAME_MAX, ifname);
    return false;
}

void
topo_parse_nfv__(struct topo_ctx__ *ctx, yaml_node_t *fws, yaml_node_t *lbs)
{
    topo_parse_firewalls__(ctx, fws);
    topo_parse_lbs__(ctx, lbs);

    ctx->fwv = topo_check_names__(ctx, ctx->firewalls, ctx->n_firewalls,
                                  sizeof *ctx->firewalls, "firewall",
                                  topo_fw_keys__, &ctx->nfwv);
    ctx->lbv = topo_check_names__(ctx, ctx->lbs, ctx->n_lbs,
                                  sizeof *ctx->lbs, "load balancer",
                                  topo_lb_keys__, &ctx->nlbv);
    for (size_t i = 0; i < ctx->nfwv; i++) {
        topo_nfv_name_fits__(ctx, ctx->fwv[i], topo_fw_keys__, "firewall",
                             "fwl-NAME-n");
    }

    /* A load balancer's name is also a port name: unique among the
     * firewalls (instance names) and the workload ports. */
    size_t n_file_ports = ctx->n_ports;
    ctx->ports = xrealloc(ctx->ports, (n_file_ports + ctx->nlbv + 1)
                                      * sizeof *ctx->ports);
    memset(ctx->ports + n_file_ports, 0,
           (ctx->nlbv + 1) * sizeof *ctx->ports);
    for (size_t i = 0; i < ctx->nlbv; i++) {
        struct topo_raw_lb__ *lb = (struct topo_raw_lb__ *) (void *)
                                   ctx->lbv[i];
        bool ok = topo_nfv_name_fits__(ctx, &lb->o, topo_lb_keys__,
                                       "load balancer", "lb-NAME");
        long f = topo_lookup__(ctx->fwv, ctx->nfwv, lb->o.name,
                               ctx->firewalls, sizeof *ctx->firewalls);
        if (f >= 0) {
            topo_err_field__(ctx, &lb->o, LK_NAME, topo_lb_keys__,
                             "load balancer name '%s' is already firewall "
                             "%s's (line %lu); firewalls and load balancers "
                             "share one namespace, rename one", lb->o.name,
                             lb->o.name,
                             topo_line__(&ctx->firewalls[f].o, FK_NAME));
            ok = false;
        }
        for (size_t j = 0; j < n_file_ports; j++) {
            const struct topo_raw_port__ *p = &ctx->ports[j];
            if (p->o.val[PK_NAME]
                && !strcmp(topo_scalar__(p->o.val[PK_NAME]), lb->o.name)) {
                topo_err_field__(ctx, &lb->o, LK_NAME, topo_lb_keys__,
                                 "load balancer name '%s' is already "
                                 "workload port %s's (line %lu); a load "
                                 "balancer is also a port on its switch, "
                                 "rename one", lb->o.name, lb->o.name,
                                 topo_line__(&p->o, PK_NAME));
                ok = false;
                break;
            }
        }
        if (!ok) {
            continue;
        }
        struct topo_raw_port__ *p = &ctx->ports[ctx->n_ports];
        p->o.node = lb->o.node;
        p->o.val[PK_NAME] = lb->o.val[LK_NAME];
        p->o.val[PK_HOST] = lb->o.val[LK_HOST];
        p->o.val[PK_SWITCH] = lb->o.val[LK_SWITCH];
        p->o.idx = ctx->n_ports;
        p->o.path = xstrdup(lb->o.path);
        p->host = p->sw = -1;
        p->nfv = true;
        p->nfv_iface = xasprintf("lb-%s", lb->o.name);
        p->iface = p->nfv_iface;
        lb->port = (long) ctx->n_ports++;
    }
}

/* --- values and references: load balancer ports ---------------------------- */

static void
topo_check_vip__(struct topo_ctx__ *ctx, struct topo_raw_lb__ *lb)
{
    const char *s = topo_scalar__(lb->o.val[LK_VIP]);
    const struct topo_raw_switch__ *sw = lb->sw >= 0
                                         ? &ctx->switches[lb->sw] : NULL;
    char buf[IP4_STRLEN];
    uint32_t ip;

    if (ip4_parse(s, &ip)) {
        topo_err_field__(ctx, &lb->o, LK_VIP, topo_lb_keys__,
                         "bad value: vip '%s' is not an IPv4 address (no "
                         "prefix length); write e.g. 10.2.0.100", s);
        return;
    } else if (!ip || ip >= 0xe0000000u) {
        topo_err_field__(ctx, &lb->o, LK_VIP, topo_lb_keys__,
                         "bad value: vip %s is not a unicast host address",
                         s);
        return;
    } else if (!sw) {
        return;                 /* Unknown switch: reported. */
    } else if (!sw->has_cidr) {
        topo_err_field__(ctx, &lb->o, LK_SWITCH, topo_lb_keys__,
                         "switch %s has no cidr, so a load balancer cannot "
                         "have its vip there; add cidr: to the switch",
                         sw->o.name);
        return;
    }
    ip4_format(sw->net, buf);
    if (!ip4_in_subnet(ip, sw->net, sw->plen)) {
        topo_err_field__(ctx, &lb->o, LK_VIP, topo_lb_keys__,
                         "vip %s is outside switch %s's cidr %s/%u; use an "
                         "address inside it", s, sw->o.name, buf, sw->plen);
        return;
    } else if (ip == sw->net || ip == (sw->net | ~ip4_mask(sw->plen))) {
        topo_err_field__(ctx, &lb->o, LK_VIP, topo_lb_keys__,
                         "bad value: vip %s is the %s address of switch %s's "
                         "cidr %s/%u; use a host address", s,
                         ip == sw->net ? "network" : "broadcast", sw->o.name,
                         buf, sw->plen);
        return;
    }
    for (size_t i = 0; i < ctx->n_ports; i++) {
        const struct topo_raw_port__ *p = &ctx->ports[i];
        if (!p->nfv && p->sw == lb->sw && p->ip == ip) {
            topo_err_field__(ctx, &lb->o, LK_VIP, topo_lb_keys__,
                             "vip %s is workload port %s's address (line "
                             "%lu); give the load balancer an address no "
                             "port uses", s, p->o.name ? p->o.name
                                                       : p->o.path,
                             topo_line__(&p->o, PK_IP));
            return;
        }
    }
    for (const struct topo_raw_lb__ *o = ctx->lbs; o < lb; o++) {
        if (o->sw == lb->sw && o->vip == ip) {
            topo_err_field__(ctx, &lb->o, LK_VIP, topo_lb_keys__,
                             "vip %s is already load balancer %s's (line "
                             "%lu); give each load balancer its own vip", s,
                             o->o.name ? o->o.name : o->o.path,
                             topo_line__(&o->o, LK_VIP));
            return;
        }
    }
    lb->vip = ip;
    if (lb->port >= 0) {
        /* The port's ip, pointing at the vip for later messages. */
        ctx->ports[lb->port].ip = ip;
        ctx->ports[lb->port].o.val[PK_IP] = lb->o.val[LK_VIP];
    }
}

void
topo_check_nfv_ports__(struct topo_ctx__ *ctx, struct topo_raw__ **hv,
                       size_t nhv, struct topo_raw__ **sv, size_t nsv)
{
    for (size_t i = 0; i < ctx->n_lbs; i++) {
        struct topo_raw_lb__ *lb = &ctx->lbs[i];
        if (lb->port >= 0) {
            /* The port checks resolved (and reported) both. */
            lb->host = ctx->ports[lb->port].host;
            lb->sw = ctx->ports[lb->port].sw;
        } else {
            if (lb->o.val[LK_HOST]) {
                const char *s = topo_scalar__(lb->o.val[LK_HOST]);
                lb->host = topo_lookup__(hv, nhv, s, ctx->hosts,
                                         sizeof *ctx->hosts);
                if (lb->host < 0) {
                    topo_err_field__(ctx, &lb->o, LK_HOST, topo_lb_keys__,
                                     "unknown host '%s'; define it under "
                                     "hosts: or fix the name", s);
                }
            }
            if (lb->o.val[LK_SWITCH]) {
                const char *s = topo_scalar__(lb->o.val[LK_SWITCH]);
                lb->sw = topo_lookup__(sv, nsv, s, ctx->switches,
                                       sizeof *ctx->switches);
                if (lb->sw < 0) {
                    topo_err_field__(ctx, &lb->o, LK_SWITCH, topo_lb_keys__,
                                     "unknown switch '%s'; define it under "
                                     "switches: or fix the name", s);
                }
            }
        }
        if (lb->o.val[LK_VIP]) {
            topo_check_vip__(ctx, lb);
        }
    }
}

/* --- values and references: the rest ---------------------------------------- */

/* Parses an unsigned integer of key 'k' of 'o' in min..max; false (and
 * reported, 'hint' telling what it is) otherwise. */
static bool
topo_nfv_uint__(struct topo_ctx__ *ctx, struct topo_raw__ *o, int k,
                const struct topo_keydef__ *keys, unsigned long min,
                unsigned long max, const char *hint, unsigned long *out)
{
    const char *s = topo_scalar__(o->val[k]);
    if (!topo_parse_uint__(s, max, out) || *out < min) {
        topo_err_field__(ctx, o, k, keys, "bad value: %s '%s' out of range; "
                         "use an integer %lu..%lu%s", keys[k].key, s, min,
                         max, hint);
        return false;
    }
    return true;
}

/* One of 'names' (n of them) for key 'k' of 'o'; -1 (reported) if none. */
static int
topo_nfv_enum__(struct topo_ctx__ *ctx, struct topo_raw__ *o, int k,
                const struct topo_keydef__ *keys, const char *const *names,
                size_t n, const char *valid)
{
    const char *s = topo_scalar__(o->val[k]);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(s, names[i])) {
            return (int) i;
        }
    }
    topo_err_field__(ctx, o, k, keys, "bad value: %s '%s' is not one of %s",
                     keys[k].key, s, valid);
    return -1;
}

static void
topo_check_fw_ports__(struct topo_ctx__ *ctx, struct topo_raw_fwrule__ *r)
{
    topo_parse_ports__(ctx, &r->o, WK_PORTS, topo_fwrule_keys__,
                       &r->port_min, &r->port_max);
}

/* A rule's src: or dst: list of networks. */
static void
topo_check_fw_cidrs__(struct topo_ctx__ *ctx, struct topo_raw_fwrule__ *r,
                      int k, struct topo_cidr **out, size_t *n_out)
{
    const char *key = topo_fwrule_keys__[k].key;
    yaml_node_t *list = r->o.val[k];
    char *kpath = xasprintf("%s.%s", r->o.path, key);
    char *what = xasprintf("%s must name at least one network; remove the "
                           "key to match any address", key);
    topo_nfv_check_empty__(ctx, &r->o, list, key, what);
    free(what);
    char *where = xasprintf("this rule's %s", key);
    topo_parse_cidr_list__(ctx, list, kpath, key, where, out, n_out);
    free(where);
    free(kpath);
}

static void
topo_check_fw_rule__(struct topo_ctx__ *ctx, struct topo_raw_fwrule__ *r)
{
    bool proto_ok = true;
    int v;

    r->proto = TOPO_SG_ANY;
    r->icmp_type = -1;
    r->action = TOPO_SG_ALLOW;
    if (r->o.val[WK_PROTOCOL]) {
        v = topo_nfv_enum__(ctx, &r->o, WK_PROTOCOL, topo_fwrule_keys__,
                            topo_nfv_protos__, 4, "tcp, udp, icmp, any");
        proto_ok = v >= 0;
        r->proto = v >= 0 ? (enum topo_sg_proto) v : TOPO_SG_ANY;
    }
    if (r->o.val[WK_PORTS]) {
        if (proto_ok && r->proto != TOPO_SG_TCP && r->proto != TOPO_SG_UDP) {
            topo_err_field__(ctx, &r->o, WK_PORTS, topo_fwrule_keys__,
                             "ports apply to tcp and udp only, not to "
                             "protocol %s; set protocol: tcp or udp, or "
                             "remove ports", topo_nfv_protos__[r->proto]);
        } else {
            topo_check_fw_ports__(ctx, r);
        }
    }
    if (r->o.val[WK_ICMP_TYPE]) {
        unsigned long t;
        if (proto_ok && r->proto != TOPO_SG_ICMP) {
            topo_err_field__(ctx, &r->o, WK_ICMP_TYPE, topo_fwrule_keys__,
                             "icmp_type applies to protocol icmp only, not "
                             "to %s; set protocol: icmp or remove icmp_type",
                             topo_nfv_protos__[r->proto]);
        } else if (topo_nfv_uint__(ctx, &r->o, WK_ICMP_TYPE,
                                   topo_fwrule_keys__, 0, 255, "", &t)) {
            r->icmp_type = (int) t;
        }
    }
    if (r->o.val[WK_SRC] || topo_nfv_null_key__(ctx, &r->o, "src")) {
        topo_check_fw_cidrs__(ctx, r, WK_SRC, &r->src, &r->n_src);
    }
    if (r->o.val[WK_DST] || topo_nfv_null_key__(ctx, &r->o, "dst")) {
        topo_check_fw_cidrs__(ctx, r, WK_DST, &r->dst, &r->n_dst);
    }
    if (r->o.val[WK_ACTION]) {
        v = topo_nfv_enum__(ctx, &r->o, WK_ACTION, topo_fwrule_keys__,
                            topo_nfv_actions__, 3, "allow, deny, reject");
        r->action = v >= 0 ? (enum topo_sg_action) v : TOPO_SG_ALLOW;
    }
    if (r->o.val[WK_LOG]) {
        const char *s = topo_scalar__(r->o.val[WK_LOG]);
        if (!strcmp(s, "true")) {
            r->log = true;
        } else if (strcmp(s, "false")) {
            topo_err_field__(ctx, &r->o, WK_LOG, topo_fwrule_keys__,
                             "bad value: log '%s' is not true or false", s);
        }
    }
}

static long
topo_nfv_find_router__(const struct topo_ctx__ *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->n_routers; i++) {
        const struct topo_raw_router__ *r = &ctx->routers[i];
        if (r->o.name && !r->o.dup && !strcmp(r->o.name, name)) {
            return (long) i;
        }
    }
    return -1;
}

static bool
topo_nfv_router_on__(const struct topo_raw_router__ *r, long sw)
{
    for (size_t i = 0; i < r->n_ports; i++) {
        if (r->ports[i].sw == sw) {
            return true;
        }
    }
    return false;
}

/* The firewall's between: two distinct switches with a port of its
 * router (when the router is known). */
static void
topo_check_between__(struct topo_ctx__ *ctx, struct topo_raw_fw__ *f,
                     struct topo_raw__ **sv, size_t nsv)
{
    yaml_node_t *list = f->o.val[FK_BETWEEN];
    size_t n = topo_list_len__(list);
    const struct topo_raw_router__ *r = f->router >= 0
                                        ? &ctx->routers[f->router] : NULL;
    if (!list) {
        yaml_node_t *null = topo_nfv_null_key__(ctx, &f->o, "between");
        if (null) {
            char *p = xasprintf("%s.between", f->o.path);
            topo_err__(ctx, null, p, "empty list: between must name the two "
                       "switches the firewall stands between; write e.g. "
                       "between: [web, db]");
            free(p);
        }
        return;
    }
    if (n != 2) {
        topo_err_field__(ctx, &f->o, FK_BETWEEN, topo_fw_keys__,
                         "between lists %zu switch%s; a firewall stands "
                         "between exactly two switches of its router, write "
                         "e.g. between: [web, db]", n, n == 1 ? "" : "es");
    }
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *c = yaml_document_get_node(
            &ctx->doc, list->data.sequence.items.start[i]);
        char *p = xasprintf("%s.between[%zu]", f->o.path, i);
        long sw;
        if (c->type != YAML_SCALAR_NODE || !*topo_scalar__(c)) {
            topo_err__(ctx, c, p, "wrong node type: each between entry is a "
                       "switch name, not %s", c->type == YAML_SCALAR_NODE
                       ? "an empty value" : topo_node_type_name__(c));
        } else if ((sw = topo_lookup__(sv, nsv, topo_scalar__(c),
                                       ctx->switches,
                                       sizeof *ctx->switches)) < 0) {
            topo_err__(ctx, c, p, "unknown switch '%s'; define it under "
                       "switches: or fix the name", topo_scalar__(c));
        } else if (i == 1 && f->sw[0] == sw) {
            topo_err__(ctx, c, p, "switch %s is listed twice; a firewall "
                       "stands between two distinct switches",
                       topo_scalar__(c));
        } else if (r && !topo_nfv_router_on__(r, sw)) {
            topo_err__(ctx, c, p, "router %s has no port on switch %s, so no "
                       "routed traffic of it crosses this firewall; add a "
                       "router port on %s or name another switch", r->o.name,
                       topo_scalar__(c), topo_scalar__(c));
        } else if (i < 2 && n == 2) {
            f->sw[i] = sw;
        }
        free(p);
    }
    if (f->sw[0] < 0 || f->sw[1] < 0) {
        f->sw[0] = f->sw[1] = -1;
    } else if (f->sw[0] > f->sw[1]) {
        long t = f->sw[0];
        f->sw[0] = f->sw[1];
        f->sw[1] = t;
    }
}


static void
topo_report_dup_fw__(struct topo_ctx__ *ctx, size_t first, size_t dup)
{
    struct topo_raw_fw__ *a = &ctx->firewalls[first];
    struct topo_raw_fw__ *b = &ctx->firewalls[dup];
    topo_err_field__(ctx, &b->o, FK_BETWEEN, topo_fw_keys__,
                     "firewall %s (line %lu) already stands on router %s "
                     "between switches %s and %s; one firewall per router "
                     "and switch pair, put both policies into one",
                     a->o.name ? a->o.name : a->o.path,
                     topo_line__(&a->o, FK_BETWEEN),
                     ctx->routers[b->router].o.name,
                     ctx->switches[b->sw[0]].o.name,
                     ctx->switches[b->sw[1]].o.name);
}

static void
topo_check_firewalls__(struct topo_ctx__ *ctx, struct topo_raw__ **hv,
                       size_t nhv, struct topo_raw__ **sv, size_t nsv)
{
    struct topo_dupkey__ *k = xcalloc(ctx->n_firewalls + 1, sizeof *k);
    size_t nk = 0;
    for (size_t i = 0; i < ctx->n_firewalls; i++) {
        struct topo_raw_fw__ *f = &ctx->firewalls[i];
        unsigned long v;
        if (f->o.val[FK_HOST]) {
            const char *s = topo_scalar__(f->o.val[FK_HOST]);
            f->host = topo_lookup__(hv, nhv, s, ctx->hosts,
                                    sizeof *ctx->hosts);
            if (f->host < 0) {
                topo_err_field__(ctx, &f->o, FK_HOST, topo_fw_keys__,
                                 "unknown host '%s'; define it under hosts: "
                                 "or fix the name", s);
            }
        }
        if (f->o.val[FK_ROUTER]) {
            const char *s = topo_scalar__(f->o.val[FK_ROUTER]);
            f->router = topo_nfv_find_router__(ctx, s);
            if (f->router < 0) {
                topo_err_field__(ctx, &f->o, FK_ROUTER, topo_fw_keys__,
                                 "unknown router '%s'; define it under "
                                 "routers: or fix the name", s);
            }
        }
        topo_check_between__(ctx, f, sv, nsv);
        if (f->router >= 0 && f->sw[0] >= 0) {
            k[nk++] = (struct topo_dupkey__) {
                (uint64_t) f->router << 42 | (uint64_t) f->sw[0] << 21
                | (uint64_t) f->sw[1], NULL, i };
        }
        f->default_action = TOPO_SG_DENY;
        if (f->o.val[FK_DEFAULT]) {
            int a = topo_nfv_enum__(ctx, &f->o, FK_DEFAULT, topo_fw_keys__,
                                    topo_nfv_actions__, 3,
                                    "allow, deny, reject");
            f->default_action = a >= 0 ? (enum topo_sg_action) a
                                       : TOPO_SG_DENY;
        }
        f->max_connections = TOPO_NFV_DEFAULT_CONNS;
        if (f->o.val[FK_MAXCONN]
            && topo_nfv_uint__(ctx, &f->o, FK_MAXCONN, topo_fw_keys__, 1,
                               TOPO_NFV_MAX_CONNS, " (the connection "
                               "table's size)", &v)) {
            f->max_connections = (uint32_t) v;
        }
        /* Default: a sixteenth of the table, as the engine's. */
        f->max_per_source = f->max_connections / 16 ? f->max_connections / 16
                                                    : 1;
        if (f->o.val[FK_PERSRC]) {
            char *hint = xasprintf(" (at most max_connections, %u)",
                                   f->max_connections);
            if (topo_nfv_uint__(ctx, &f->o, FK_PERSRC, topo_fw_keys__, 1,
                                f->max_connections, hint, &v)) {
                f->max_per_source = (uint32_t) v;
            }
            free(hint);
        }
        f->pass_malformed = false;
        if (f->o.val[FK_MALFORMED]) {
            f->pass_malformed = topo_nfv_enum__(ctx, &f->o, FK_MALFORMED,
                                                topo_fw_keys__,
                                                topo_nfv_malformed__, 2,
                                                "drop, pass") == 1;
        }
        for (size_t j = 0; j < f->n_rules; j++) {
            topo_check_fw_rule__(ctx, &f->rules[j]);
        }
    }
    topo_find_dups__(ctx, k, nk, topo_report_dup_fw__);
    free(k);
}

/* A backend's port: a workload port with an ip on the load balancer's
 * switch. */
static void
topo_check_backend_port__(struct topo_ctx__ *ctx, struct topo_raw_lb__ *lb,
                          struct topo_raw_lbbe__ *b)
{
    const char *s = topo_scalar__(b->o.val[BK_PORT]);
    long i;
    for (i = 0; i < (long) ctx->n_ports; i++) {
        const struct topo_raw_port__ *p = &ctx->ports[i];
        if (p->o.name && !p->o.dup && !strcmp(p->o.name, s)) {
            break;
        }
    }
    if (i == (long) ctx->n_ports) {
        topo_err_field__(ctx, &b->o, BK_PORT, topo_lbbe_keys__,
                         "unknown port '%s'; define it under ports: or fix "
                         "the name", s);
        return;
    }
    const struct topo_raw_port__ *p = &ctx->ports[i];
    if (p->nfv) {
        topo_err_field__(ctx, &b->o, BK_PORT, topo_lbbe_keys__,
                         "port %s is a load balancer, not a workload; a "
                         "backend is a workload port", s);
    } else if (p->sw < 0 || lb->sw < 0) {
        return;                 /* Reported with the port or the LB. */
    } else if (p->sw != lb->sw) {
        topo_err_field__(ctx, &b->o, BK_PORT, topo_lbbe_keys__,
                         "port %s is on switch %s, not on load balancer %s's "
                         "switch %s; a one-armed load balancer reaches "
                         "backends on its own switch only, move the port or "
                         "the load balancer", s, ctx->switches[p->sw].o.name,
                         lb->o.name ? lb->o.name : lb->o.path,
                         ctx->switches[lb->sw].o.name);
    } else if (!p->ip) {
        if (!p->o.val[PK_IP]) {
            topo_err_field__(ctx, &b->o, BK_PORT, topo_lbbe_keys__,
                             "port %s has no ip, so the load balancer has "
                             "no address to forward to; give the port an ip",
                             s);
        }
    } else {
        b->port = i;
    }
}

static void
topo_check_service__(struct topo_ctx__ *ctx, struct topo_raw_lb__ *lb,
                     struct topo_raw_lbsvc__ *v)
{
    static const char *const protos[] = { "tcp", "udp" };
    unsigned long x;
    int pr = -1;

    if (v->o.val[VK_PROTOCOL]) {
        pr = topo_nfv_enum__(ctx, &v->o, VK_PROTOCOL, topo_lbsvc_keys__,
                             protos, 2, "tcp, udp (a load balancer "
                             "balances TCP and UDP only)");
        v->proto = pr == 0 ? 6 : pr == 1 ? 17 : 0;
    }
    if (v->o.val[VK_PORT]
        && topo_nfv_uint__(ctx, &v->o, VK_PORT, topo_lbsvc_keys__, 1, 65535,
                           "", &x)) {
        v->port = (uint16_t) x;
    }
    /* Health probes are TCP connection attempts: on by default for tcp,
     * off for udp unless asked for (the backend then also listens on TCP
     * at its to_port). */
    v->health_interval_ms = pr == 1 ? 0 : TOPO_LB_DEFAULT_HEALTH;
    if (v->o.val[VK_HEALTH]) {
        const char *s = topo_scalar__(v->o.val[VK_HEALTH]);
        if (!topo_parse_uint__(s, TOPO_LB_MAX_HEALTH, &x)
            || (x && x < TOPO_LB_MIN_HEALTH)) {
            topo_err_field__(ctx, &v->o, VK_HEALTH, topo_lbsvc_keys__,
                             "bad value: health_interval_ms '%s' out of "
                             "range; use 0 (no health checks) or an integer "
                             "%u..%u", s, TOPO_LB_MIN_HEALTH,
                             TOPO_LB_MAX_HEALTH);
        } else {
            v->health_interval_ms = (uint32_t) x;
        }
    }
    topo_nfv_check_empty__(ctx, &v->o, v->o.val[VK_BACKENDS], "backends",
                           "a service needs at least one backend; add e.g. "
                           "backends: [{port: app1}]");
    for (size_t i = 0; i < v->n_backends; i++) {
        struct topo_raw_lbbe__ *b = &v->backends[i];
        b->weight = 1;
        if (b->o.val[BK_PORT]) {
            topo_check_backend_port__(ctx, lb, b);
        }
        if (b->o.val[BK_TO_PORT]
            && topo_nfv_uint__(ctx, &b->o, BK_TO_PORT, topo_lbbe_keys__, 1,
                               65535, "", &x)) {
            b->to_port = (uint16_t) x;
        }
        if (b->o.val[BK_WEIGHT]
            && topo_nfv_uint__(ctx, &b->o, BK_WEIGHT, topo_lbbe_keys__, 1,
                               TOPO_LB_MAX_WEIGHT, "", &x)) {
            b->weight = (uint16_t) x;
        }
        /* The same backend (port and to_port) twice in one service. */
        for (size_t j = 0; b->port >= 0 && j < i; j++) {
            const struct topo_raw_lbbe__ *a = &v->backends[j];
            uint16_t ta = a->to_port ? a->to_port : v->port;
            uint16_t tb = b->to_port ? b->to_port : v->port;
            if (a->port == b->port && ta == tb) {
                topo_err_field__(ctx, &b->o, BK_PORT, topo_lbbe_keys__,
                                 "backend %s:%u is already backends[%zu] "
                                 "(line %lu) of this service; list it once "
                                 "(use weight to give it more traffic)",
                                 ctx->ports[b->port].o.name, (unsigned) tb,
                                 a->o.idx, topo_line__(&a->o, BK_PORT));
                break;
            }
        }
    }
}

static void
topo_check_lbs__(struct topo_ctx__ *ctx)
{
    for (size_t i = 0; i < ctx->n_lbs; i++) {
        struct topo_raw_lb__ *lb = &ctx->lbs[i];
        /* A load balancer with a port had its vip checked against the
         * router ports by the router checks; one without (its name was
         * refused) is checked here. */
        for (size_t j = 0; lb->port < 0 && lb->vip && j < ctx->n_routers;
             j++) {
            const struct topo_raw_router__ *r = &ctx->routers[j];
            for (size_t k = 0; k < r->n_ports; k++) {
                if (r->ports[k].sw == lb->sw && r->ports[k].ip == lb->vip) {
                    topo_err_field__(ctx, &lb->o, LK_VIP, topo_lb_keys__,
                                     "vip %s is router %s's port address "
                                     "(line %lu); give the load balancer an "
                                     "address no port uses",
                                     topo_scalar__(lb->o.val[LK_VIP]),
                                     r->o.name ? r->o.name : r->o.path,
                                     (unsigned long) r->ports[k].o.node
                                     ->start_mark.line + 1);
                }
            }
        }
        topo_nfv_check_empty__(ctx, &lb->o, lb->o.val[LK_SERVICES],
                               "services", "a load balancer needs at least "
                               "one service; add e.g. services: [{protocol: "
                               "tcp, port: 80, backends: [{port: app1}]}]");
        for (size_t j = 0; j < lb->n_services; j++) {
            struct topo_raw_lbsvc__ *v = &lb->services[j];
            topo_check_service__(ctx, lb, v);
            for (size_t k = 0; v->proto && v->port && k < j; k++) {
                const struct topo_raw_lbsvc__ *u = &lb->services[k];
                if (u->proto == v->proto && u->port == v->port) {
                    topo_err_field__(ctx, &v->o, VK_PORT, topo_lbsvc_keys__,
                                     "duplicate service %s %u: services[%zu] "
                                     "(line %lu) already has it; one service "
                                     "per protocol and port, merge their "
                                     "backends", v->proto == 6 ? "tcp"
                                     : "udp", (unsigned) v->port, u->o.idx,
                                     topo_line__(&u->o, VK_PORT));
                    break;
                }
            }
        }
    }
}

void
topo_check_nfv__(struct topo_ctx__ *ctx, struct topo_raw__ **hv, size_t nhv,
                 struct topo_raw__ **sv, size_t nsv)
{
    topo_check_firewalls__(ctx, hv, nhv, sv, nsv);
    topo_check_lbs__(ctx);
}

/* --- the model ---------------------------------------------------------------- */

static struct topo_cidr *
topo_nfv_cidrs__(const struct topo_cidr *c, size_t n)
{
    struct topo_cidr *v = xcalloc(n + 1, sizeof *v);
    if (n) {
        memcpy(v, c, n * sizeof *v);
    }
    return v;
}

static size_t
topo_nfv_index__(const void *found, const void *base, size_t size)
{
    return (size_t) ((const char *) found - (const char *) base) / size;
}

static void
topo_build_firewall__(struct topo_ctx__ *ctx, struct topo *t,
                      const struct topo_raw_fw__ *r, struct topo_firewall *f)
{
    f->name = xstrdup(r->o.name);
    f->host = topo_nfv_index__(topo_find_host(t, ctx->hosts[r->host].o.name),
                               t->hosts, sizeof *t->hosts);
    f->router = topo_nfv_index__(
        topo_find_router(t, ctx->routers[r->router].o.name), t->routers,
        sizeof *t->routers);
    for (int i = 0; i < 2; i++) {
        f->sw[i] = topo_nfv_index__(
            topo_find_switch(t, ctx->switches[r->sw[i]].o.name),
            t->switches, sizeof *t->switches);
    }
    if (f->sw[0] > f->sw[1]) {
        size_t x = f->sw[0];
        f->sw[0] = f->sw[1];
        f->sw[1] = x;
    }
    f->n_rules = r->n_rules;
    f->rules = xcalloc(r->n_rules + 1, sizeof *f->rules);
    for (size_t i = 0; i < r->n_rules; i++) {
        const struct topo_raw_fwrule__ *q = &r->rules[i];
        struct topo_fw_rule *w = &f->rules[i];
        w->proto = q->proto;
        w->port_min = q->port_min;
        w->port_max = q->port_max;
        w->icmp_type = q->icmp_type;
        w->src = topo_nfv_cidrs__(q->src, q->n_src);
        w->n_src = q->n_src;
        w->dst = topo_nfv_cidrs__(q->dst, q->n_dst);
        w->n_dst = q->n_dst;
        w->action = q->action;
        w->log = q->log;
        w->mark = topo_mark__(t, q->o.node);
    }
    f->default_action = r->default_action;
    f->max_connections = r->max_connections;
    f->max_per_source = r->max_per_source;
    f->pass_malformed = r->pass_malformed;
    f->mark = topo_mark__(t, r->o.node);
}

static void
topo_build_lb__(struct topo_ctx__ *ctx, struct topo *t,
                const struct topo_raw_lb__ *r, struct topo_lb *lb)
{
    lb->name = xstrdup(r->o.name);
    lb->host = topo_nfv_index__(topo_find_host(t, ctx->hosts[r->host].o.name),
                                t->hosts, sizeof *t->hosts);
    lb->sw = topo_nfv_index__(
        topo_find_switch(t, ctx->switches[r->sw].o.name), t->switches,
        sizeof *t->switches);
    lb->port = topo_nfv_index__(topo_find_port(t, r->o.name), t->ports,
                                sizeof *t->ports);
    lb->vip = r->vip;
    lb->n_services = r->n_services;
    lb->services = xcalloc(r->n_services + 1, sizeof *lb->services);
    for (size_t i = 0; i < r->n_services; i++) {
        const struct topo_raw_lbsvc__ *q = &r->services[i];
        struct topo_lb_service *v = &lb->services[i];
        v->proto = q->proto;
        v->port = q->port;
        v->health_interval_ms = q->health_interval_ms;
        v->n_backends = q->n_backends;
        v->backends = xcalloc(q->n_backends + 1, sizeof *v->backends);
        for (size_t j = 0; j < q->n_backends; j++) {
            const struct topo_raw_lbbe__ *b = &q->backends[j];
            struct topo_lb_backend *w = &v->backends[j];
            w->port = topo_nfv_index__(
                topo_find_port(t, ctx->ports[b->port].o.name), t->ports,
                sizeof *t->ports);
            w->to_port = b->to_port ? b->to_port : q->port;
            w->weight = b->weight;
            w->mark = topo_mark__(t, b->o.node);
        }
        v->mark = topo_mark__(t, q->o.node);
    }
    lb->mark = topo_mark__(t, r->o.node);

    /* The vAD's services are its policy: its port carries no security
     * groups (not even its switch's default ones). */
    struct topo_port *p = &t->ports[lb->port];
    p->n_groups = 0;
}

void
topo_build_nfv__(struct topo_ctx__ *ctx, struct topo *t)
{
    /* Without errors, fwv and lbv hold every object, sorted by name. */
    t->n_firewalls = ctx->nfwv;
    t->firewalls = xcalloc(ctx->nfwv + 1, sizeof *t->firewalls);
    for (size_t i = 0; i < ctx->nfwv; i++) {
        topo_build_firewall__(ctx, t, (const void *) ctx->fwv[i],
                              &t->firewalls[i]);
    }
    t->n_lbs = ctx->nlbv;
    t->lbs = xcalloc(ctx->nlbv + 1, sizeof *t->lbs);
    for (size_t i = 0; i < ctx->nlbv; i++) {
        topo_build_lb__(ctx, t, (const void *) ctx->lbv[i], &t->lbs[i]);
    }
    LOG_DBG("%s: %zu firewalls, %zu load balancers", ctx->file,
            t->n_firewalls, t->n_lbs);
}

void
topo_nfv_free__(struct topo *t)
{
    for (size_t i = 0; i < t->n_firewalls; i++) {
        struct topo_firewall *f = &t->firewalls[i];
        for (size_t j = 0; j < f->n_rules; j++) {
            free(f->rules[j].src);
            free(f->rules[j].dst);
        }
        free(f->rules);
        free(f->name);
    }
    free(t->firewalls);
    for (size_t i = 0; i < t->n_lbs; i++) {
        struct topo_lb *lb = &t->lbs[i];
        for (size_t j = 0; j < lb->n_services; j++) {
            free(lb->services[j].backends);
        }
        free(lb->services);
        free(lb->name);
    }
    free(t->lbs);
}

void
topo_ctx_nfv_destroy__(struct topo_ctx__ *ctx)
{
    for (size_t i = 0; i < ctx->n_firewalls; i++) {
        struct topo_raw_fw__ *f = &ctx->firewalls[i];
        for (size_t j = 0; j < f->n_rules; j++) {
            free(f->rules[j].o.path);
            free(f->rules[j].src);
            free(f->rules[j].dst);
        }
        free(f->rules);
        free(f->o.path);
    }
    free(ctx->firewalls);
    free(ctx->fwv);
    for (size_t i = 0; i < ctx->n_lbs; i++) {
        struct topo_raw_lb__ *lb = &ctx->lbs[i];
        for (size_t j = 0; j < lb->n_services; j++) {
            struct topo_raw_lbsvc__ *v = &lb->services[j];
            for (size_t k = 0; k < v->n_backends; k++) {
                free(v->backends[k].o.path);
            }
            free(v->backends);
            free(v->o.path);
        }
        free(lb->services);
        free(lb->o.path);
    }
    free(ctx->lbs);
    free(ctx->lbv);
    for (size_t i = 0; i < ctx->n_ports; i++) {
        free(ctx->ports[i].nfv_iface);
    }
}

/* --- lookups ---------------------------------------------------------------- */

const struct topo_firewall *
topo_find_firewall(const struct topo *t, const char *name)
{
    size_t lo = 0, hi = t->n_firewalls;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, t->firewalls[mid].name);
        if (!c) {
            return &t->firewalls[mid];
        } else if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

const struct topo_lb *
topo_find_lb(const struct topo *t, const char *name)
{
    size_t lo = 0, hi = t->n_lbs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, t->lbs[mid].name);
        if (!c) {
            return &t->lbs[mid];
        } else if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}
