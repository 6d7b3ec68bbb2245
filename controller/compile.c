/* compile.c — logical topology -> per-host br-int flow sets (compile.h).
 *
 * The pipeline is described in docs/pipeline.md.  The compiler first builds
 * three indexes in one pass each: the ports of every switch, the ports of
 * every host and the distinct hosts of every switch.  Each host then gets
 * only the flows of the switches it has ports on, so the work is the sum
 * over hosts of the sizes of their switches, never all ports times all
 * ports.
 *
 * Cookies name the object and the rule a flow comes from, never a port
 * number or a position, so an object that did not change keeps
 * byte-identical flows when others change.  Provenance (cookie -> object,
 * YAML mark, rule text) is recorded once per object and rule rather than
 * once per flow, and kept sorted by cookie for binary search.
 */
#include "controller/compile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/topo.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(compile);

/* Cookie layout: kind (8 bits) << 56 | rule (8 bits) << 48 | 48-bit
 * FNV-1a 64 hash of the object name. */
enum compile_kind {
    COMPILE_KIND_PIPELINE = 1,
    COMPILE_KIND_HOST = 2,
    COMPILE_KIND_SWITCH = 3,
    COMPILE_KIND_PORT = 4,
};

static const char *const compile_kind_names__[] = {
    [COMPILE_KIND_PIPELINE] = "pipeline",
    [COMPILE_KIND_HOST] = "host",
    [COMPILE_KIND_SWITCH] = "switch",
    [COMPILE_KIND_PORT] = "port",
};

/* Rules of a port. */
enum {
    COMPILE_PORT_CLASSIFY = 1,
    COMPILE_PORT_SEC_IP = 2,
    COMPILE_PORT_SEC_ARP = 3,
    COMPILE_PORT_SEC_MAC = 4,
    COMPILE_PORT_L2_LOCAL = 5,
    COMPILE_PORT_L2_REMOTE = 6,
    COMPILE_PORT_OUTPUT = 7,
};

/* Rules of a switch. */
enum {
    COMPILE_SWITCH_TUNNEL_IN = 1,
    COMPILE_SWITCH_FLOOD_LOCAL = 2,
    COMPILE_SWITCH_FLOOD_TUNNEL = 3,
};

/* Pipeline defaults use the table number as rule and this object name. */
#define COMPILE_PIPELINE_NAME "pipeline"

#define COMPILE_MAX_OFPORT 3999u
#define COMPILE_ETH_MCAST 0x010000000000ULL
#define COMPILE_ETH_TYPE_IP 0x0800
#define COMPILE_ETH_TYPE_ARP 0x0806

struct compile_prov {
    uint64_t cookie;
    const char *kind;           /* static string */
    char *object;
    unsigned int line, col;
    char *rule;
};

/* The result with the storage only the compiler sees. */
struct compile_result_priv__ {
    struct compile_result pub;
    char *file;                 /* topology file named by provenance */
    size_t prov_cap;
};

/* Indexes over the topology built once per compile. */
struct compile_ctx__ {
    const struct topo *t;
    size_t *sw_start, *sw_ports;        /* ports of switch s, by name */
    size_t *host_start, *host_ports;    /* ports of host h, by name */
    size_t *swh_start, *swh_hosts;      /* hosts of switch s, by name */
    uint32_t *ofport;                   /* per port */
    struct compile_result_priv__ *res;
};

/* --- cookies and provenance ----------------------------------------------- */

static uint64_t
compile_hash64__(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (uint8_t) *s;
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t
compile_cookie__(unsigned int kind, unsigned int rule, const char *name)
{
    return (uint64_t) kind << 56 | (uint64_t) (rule & 0xff) << 48
           | (compile_hash64__(name) & 0xffffffffffffULL);
}

static void __attribute__((format(printf, 6, 7)))
compile_prov_add__(struct compile_ctx__ *ctx, unsigned int kind,
                   unsigned int rule, const char *name,
                   const struct topo_mark *mark, const char *fmt, ...)
{
    struct compile_result_priv__ *r = ctx->res;
    struct compile_prov *p;
    va_list ap;

    r->pub.prov = xgrow(r->pub.prov, &r->prov_cap, r->pub.n_prov + 1,
                        sizeof *r->pub.prov);
    p = &r->pub.prov[r->pub.n_prov++];
    p->cookie = compile_cookie__(kind, rule, name);
    p->kind = compile_kind_names__[kind];
    p->object = kind == COMPILE_KIND_PIPELINE
                ? xasprintf("pipeline.table%u", rule)
                : xasprintf("%s.%s", kind == COMPILE_KIND_PORT ? "ports"
                            : kind == COMPILE_KIND_SWITCH ? "switches"
                            : "hosts", name);
    p->line = mark ? mark->line : 0;
    p->col = mark ? mark->col : 0;
    va_start(ap, fmt);
    if (vasprintf(&p->rule, fmt, ap) < 0) {
        abort();
    }
    va_end(ap);
}

static int
compile_prov_cmp__(const void *a_, const void *b_)
{
    const struct compile_prov *a = a_, *b = b_;
    return a->cookie < b->cookie ? -1 : a->cookie > b->cookie;
}

static void
compile_prov_free__(struct compile_prov *p)
{
    free(p->object);
    free(p->rule);
}

/* Sorts the provenance table and drops repeated cookies (a 48-bit name hash
 * collision), keeping the first. */
static void
compile_prov_finish__(struct compile_result *r)
{
    qsort(r->prov, r->n_prov, sizeof *r->prov, compile_prov_cmp__);
    size_t out = 0;
    for (size_t i = 0; i < r->n_prov; i++) {
        if (out && r->prov[out - 1].cookie == r->prov[i].cookie) {
            LOG_WARN("cookie %#llx names both %s and %s",
                     (unsigned long long) r->prov[i].cookie,
                     r->prov[out - 1].object, r->prov[i].object);
            compile_prov_free__(&r->prov[i]);
        } else {
            r->prov[out++] = r->prov[i];
        }
    }
    r->n_prov = out;
}

bool
compile_provenance(const struct compile_result *r, uint64_t cookie,
                   struct compile_provenance *out)
{
    const struct compile_result_priv__ *priv = (const void *) r;
    size_t lo = 0, hi = r ? r->n_prov : 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct compile_prov *p = &r->prov[mid];
        if (p->cookie == cookie) {
            out->kind = p->kind;
            out->object = p->object;
            out->file = priv->file;
            out->line = p->line;
            out->col = p->col;
            out->rule = p->rule;
            return true;
        } else if (p->cookie < cookie) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return false;
}

/* --- indexes ---------------------------------------------------------------- */

/* Groups 'n' items by key (key_of(i) < n_keys) keeping their order:
 * items of key k are out[start[k]..start[k+1]). */
static void
compile_group__(size_t n, size_t n_keys, const struct topo *t, bool by_host,
                size_t **start_out, size_t **items_out)
{
    size_t *start = xcalloc(n_keys + 2, sizeof *start);
    size_t *items = xcalloc(n + 1, sizeof *items);
    for (size_t i = 0; i < n; i++) {
        start[(by_host ? t->ports[i].host : t->ports[i].sw) + 2]++;
    }
    for (size_t k = 2; k < n_keys + 2; k++) {
        start[k] += start[k - 1];
    }
    for (size_t i = 0; i < n; i++) {
        items[start[(by_host ? t->ports[i].host : t->ports[i].sw) + 1]++] = i;
    }
    *start_out = start;
    *items_out = items;
}

static int
compile_size_cmp__(const void *a_, const void *b_)
{
    size_t a = *(const size_t *) a_, b = *(const size_t *) b_;
    return a < b ? -1 : a > b;
}

static void
compile_index__(struct compile_ctx__ *ctx)
{
    const struct topo *t = ctx->t;
    compile_group__(t->n_ports, t->n_switches, t, false, &ctx->sw_start,
                    &ctx->sw_ports);
    compile_group__(t->n_ports, t->n_hosts, t, true, &ctx->host_start,
                    &ctx->host_ports);

    /* Distinct hosts per switch: a stamp per host avoids a set. */
    size_t *stamp = xcalloc(t->n_hosts + 1, sizeof *stamp);
    ctx->swh_start = xcalloc(t->n_switches + 1, sizeof *ctx->swh_start);
    ctx->swh_hosts = xcalloc(t->n_ports + 1, sizeof *ctx->swh_hosts);
    size_t n = 0;
    for (size_t s = 0; s < t->n_switches; s++) {
        ctx->swh_start[s] = n;
        for (size_t i = ctx->sw_start[s]; i < ctx->sw_start[s + 1]; i++) {
            size_t h = t->ports[ctx->sw_ports[i]].host;
            if (stamp[h] != s + 1) {
                stamp[h] = s + 1;
                ctx->swh_hosts[n++] = h;
            }
        }
        qsort(ctx->swh_hosts + ctx->swh_start[s], n - ctx->swh_start[s],
              sizeof *ctx->swh_hosts, compile_size_cmp__);
    }
    ctx->swh_start[t->n_switches] = n;
    free(stamp);
    ctx->ofport = xcalloc(t->n_ports + 1, sizeof *ctx->ofport);
}

static void
compile_ctx_destroy__(struct compile_ctx__ *ctx)
{
    free(ctx->sw_start);
    free(ctx->sw_ports);
    free(ctx->host_start);
    free(ctx->host_ports);
    free(ctx->swh_start);
    free(ctx->swh_hosts);
    free(ctx->ofport);
}

/* --- OpenFlow port numbers ---------------------------------------------------- */

static const struct compiled_port *
compile_find_port__(const struct compiled_host *h, const char *name)
{
    size_t lo = 0, hi = h ? h->n_ports : 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, h->ports[mid].name);
        if (!c) {
            return &h->ports[mid];
        } else if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

/* Numbers the ports of host 'h': a port that existed on this host in 'prev'
 * keeps its number; the others take hash(name) with linear probing, in
 * name order. */
static void
compile_alloc_ofports__(struct compile_ctx__ *ctx, size_t h,
                        const struct compile_result *prev)
{
    const struct topo *t = ctx->t;
    const struct compiled_host *ph = prev
        ? compile_find_host(prev, t->hosts[h].name) : NULL;
    bool taken[COMPILE_MAX_OFPORT + 1] = { false };

    for (size_t i = ctx->host_start[h]; i < ctx->host_start[h + 1]; i++) {
        size_t p = ctx->host_ports[i];
        const struct compiled_port *cp = compile_find_port__(ph,
                                                             t->ports[p].name);
        if (cp && cp->ofport >= 1 && cp->ofport <= COMPILE_MAX_OFPORT
            && !taken[cp->ofport]) {
            taken[cp->ofport] = true;
            ctx->ofport[p] = cp->ofport;
        }
    }
    for (size_t i = ctx->host_start[h]; i < ctx->host_start[h + 1]; i++) {
        size_t p = ctx->host_ports[i];
        if (ctx->ofport[p]) {
            continue;
        }
        uint32_t o = (uint32_t) (compile_hash64__(t->ports[p].name)
                                 % COMPILE_MAX_OFPORT) + 1;
        while (taken[o]) {
            o = o % COMPILE_MAX_OFPORT + 1;
        }
        taken[o] = true;
        ctx->ofport[p] = o;
    }
}

/* --- flows -------------------------------------------------------------------- */

static void
compile_match__(struct flow *f, unsigned int id, uint64_t value, uint64_t mask)
{
    /* The pipeline never uses more than a handful of fields or unknown
     * ones, so a failure here is a bug in this file. */
    if (flow_match_set(&f->match, id, value, mask)) {
        abort();
    }
}

static void
compile_default__(struct flow_set *fs, uint8_t table)
{
    struct flow f;
    flow_init(&f, table, 0, compile_cookie__(COMPILE_KIND_PIPELINE, table,
                                             COMPILE_PIPELINE_NAME));
    flow_set_take(fs, &f);
}

static void
compile_tunnel_to__(struct flow *f, uint32_t vni, uint32_t ip)
{
    flow_set_field(f, FF_TUN_ID, vni);
    flow_set_field(f, FF_TUN_DST, ip);
    flow_output(f, COMPILE_TUNNEL_OFPORT);
}

/* Flows of local port 'p' in tables 0, 10 and 70. */
static void
compile_local_port__(struct compile_ctx__ *ctx, size_t p, struct flow_set *fs)
{
    const struct topo_port *tp = &ctx->t->ports[p];
    uint32_t vni = ctx->t->switches[tp->sw].vni;
    uint32_t o = ctx->ofport[p];
    struct flow f;

    flow_init(&f, TBL_CLASSIFY, 100,
              compile_cookie__(COMPILE_KIND_PORT, COMPILE_PORT_CLASSIFY,
                               tp->name));
    compile_match__(&f, FF_IN_PORT, o, 0);
    flow_set_field(&f, FF_METADATA, vni);
    flow_set_field(&f, FF_REG14, o);
    flow_resubmit(&f, TBL_PORT_SEC);
    flow_set_take(fs, &f);

    if (tp->ip) {
        flow_init(&f, TBL_PORT_SEC, 100,
                  compile_cookie__(COMPILE_KIND_PORT, COMPILE_PORT_SEC_IP,
                                   tp->name));
        compile_match__(&f, FF_REG14, o, 0);
        compile_match__(&f, FF_ETH_SRC, tp->mac, 0);
        compile_match__(&f, FF_ETH_TYPE, COMPILE_ETH_TYPE_IP, 0);
        compile_match__(&f, FF_IPV4_SRC, tp->ip, 0);
        flow_resubmit(&f, TBL_L2);
        flow_set_take(fs, &f);

        flow_init(&f, TBL_PORT_SEC, 100,
                  compile_cookie__(COMPILE_KIND_PORT, COMPILE_PORT_SEC_ARP,
                                   tp->name));
        compile_match__(&f, FF_REG14, o, 0);
        compile_match__(&f, FF_ETH_SRC, tp->mac, 0);
        compile_match__(&f, FF_ETH_TYPE, COMPILE_ETH_TYPE_ARP, 0);
        compile_match__(&f, FF_ARP_SHA, tp->mac, 0);
        compile_match__(&f, FF_ARP_SPA, tp->ip, 0);
        flow_resubmit(&f, TBL_L2);
        flow_set_take(fs, &f);
    } else {
        flow_init(&f, TBL_PORT_SEC, 90,
                  compile_cookie__(COMPILE_KIND_PORT, COMPILE_PORT_SEC_MAC,
                                   tp->name));
        compile_match__(&f, FF_REG14, o, 0);
        compile_match__(&f, FF_ETH_SRC, tp->mac, 0);
        flow_resubmit(&f, TBL_L2);
        flow_set_take(fs, &f);
    }

    flow_init(&f, TBL_OUTPUT, 100,
              compile_cookie__(COMPILE_KIND_PORT, COMPILE_PORT_OUTPUT,
                               tp->name));
    compile_match__(&f, FF_REG15, o, 0);
    flow_output(&f, o);
    flow_set_take(fs, &f);
}

/* Flows of switch 's' on host 'h' (which has ports on it): tunnel
 * classification, L2 for every port of the switch, and flooding. */
static void
compile_local_switch__(struct compile_ctx__ *ctx, size_t h, size_t s,
                       struct flow_set *fs)
{
    const struct topo *t = ctx->t;
    const struct topo_switch *sw = &t->switches[s];
    struct flow f, fl, ft;

    flow_init(&f, TBL_CLASSIFY, 100,
              compile_cookie__(COMPILE_KIND_SWITCH, COMPILE_SWITCH_TUNNEL_IN,
                               sw->name));
    compile_match__(&f, FF_IN_PORT, COMPILE_TUNNEL_OFPORT, 0);
    compile_match__(&f, FF_TUN_ID, sw->vni, 0);
    flow_set_field(&f, FF_METADATA, sw->vni);
    flow_set_field(&f, FF_REG13, 1);
    flow_resubmit(&f, TBL_L2);
    flow_set_take(fs, &f);

    /* Flooding: from a local port to local ports and every other host of
     * the switch; from a tunnel to local ports only. */
    flow_init(&fl, TBL_L2, 100,
              compile_cookie__(COMPILE_KIND_SWITCH, COMPILE_SWITCH_FLOOD_LOCAL,
                               sw->name));
    compile_match__(&fl, FF_METADATA, sw->vni, 0);
    compile_match__(&fl, FF_ETH_DST, COMPILE_ETH_MCAST, COMPILE_ETH_MCAST);
    compile_match__(&fl, FF_REG13, 0, 0);
    flow_init(&ft, TBL_L2, 100,
              compile_cookie__(COMPILE_KIND_SWITCH, COMPILE_SWITCH_FLOOD_TUNNEL,
                               sw->name));
    compile_match__(&ft, FF_METADATA, sw->vni, 0);
    compile_match__(&ft, FF_ETH_DST, COMPILE_ETH_MCAST, COMPILE_ETH_MCAST);
    compile_match__(&ft, FF_REG13, 1, 0);

    for (size_t i = ctx->sw_start[s]; i < ctx->sw_start[s + 1]; i++) {
        size_t q = ctx->sw_ports[i];
        const struct topo_port *tq = &t->ports[q];
        bool local = tq->host == h;

        flow_init(&f, TBL_L2, 100,
                  compile_cookie__(COMPILE_KIND_PORT,
                                   local ? COMPILE_PORT_L2_LOCAL
                                         : COMPILE_PORT_L2_REMOTE, tq->name));
        compile_match__(&f, FF_METADATA, sw->vni, 0);
        compile_match__(&f, FF_ETH_DST, tq->mac, 0);
        if (local) {
            flow_set_field(&f, FF_REG15, ctx->ofport[q]);
            flow_resubmit(&f, TBL_OUTPUT);
            flow_output(&fl, ctx->ofport[q]);
            flow_output(&ft, ctx->ofport[q]);
        } else {
            /* Never send back into the overlay what came from it. */
            compile_match__(&f, FF_REG13, 0, 0);
            compile_tunnel_to__(&f, sw->vni, t->hosts[tq->host].tunnel_ip);
        }
        flow_set_take(fs, &f);
    }
    for (size_t i = ctx->swh_start[s]; i < ctx->swh_start[s + 1]; i++) {
        size_t oh = ctx->swh_hosts[i];
        if (oh != h) {
            compile_tunnel_to__(&fl, sw->vni, t->hosts[oh].tunnel_ip);
        }
    }
    flow_set_take(fs, &fl);
    flow_set_take(fs, &ft);
}

static void
compile_host__(struct compile_ctx__ *ctx, size_t h, size_t *sw_stamp,
               struct compiled_host *ch)
{
    const struct topo *t = ctx->t;
    const struct topo_host *th = &t->hosts[h];
    size_t n_local = ctx->host_start[h + 1] - ctx->host_start[h];
    struct flow_set *fs = &ch->flows;

    ch->name = xstrdup(th->name);
    ch->tunnel_ip = th->tunnel_ip;
    ch->tunnel_plen = th->tunnel_plen;
    ch->underlay_iface = xstrdup(th->underlay_iface);
    ch->n_ports = n_local;
    ch->ports = xcalloc(n_local + 1, sizeof *ch->ports);
    flow_set_init(fs);

    /* Reserve: 4 defaults, 5 per local port, and per local switch 3 plus
     * one per port of the switch. */
    size_t need = 4 + 5 * n_local;
    size_t *local_sw = xcalloc(n_local + 1, sizeof *local_sw);
    size_t n_sw = 0;
    for (size_t i = 0; i < n_local; i++) {
        size_t p = ctx->host_ports[ctx->host_start[h] + i];
        size_t s = t->ports[p].sw;
        if (sw_stamp[s] != h + 1) {
            sw_stamp[s] = h + 1;
            local_sw[n_sw++] = s;
            need += 3 + ctx->sw_start[s + 1] - ctx->sw_start[s];
        }
    }
    qsort(local_sw, n_sw, sizeof *local_sw, compile_size_cmp__);
    fs->flows = xgrow(fs->flows, &fs->cap, need, sizeof *fs->flows);

    compile_default__(fs, TBL_CLASSIFY);
    compile_default__(fs, TBL_PORT_SEC);
    compile_default__(fs, TBL_L2);
    compile_default__(fs, TBL_OUTPUT);
    for (size_t i = 0; i < n_local; i++) {
        size_t p = ctx->host_ports[ctx->host_start[h] + i];
        const struct topo_port *tp = &t->ports[p];
        struct compiled_port *cp = &ch->ports[i];
        cp->name = xstrdup(tp->name);
        cp->iface = xstrdup(tp->iface);
        cp->ofport = ctx->ofport[p];
        cp->mac = tp->mac;
        cp->switch_name = xstrdup(t->switches[tp->sw].name);
        compile_local_port__(ctx, p, fs);
    }
    for (size_t i = 0; i < n_sw; i++) {
        compile_local_switch__(ctx, h, local_sw[i], fs);
    }
    free(local_sw);
    flow_set_sort(fs);
}

/* Provenance, once per object and rule. */
static void
compile_provenance_all__(struct compile_ctx__ *ctx)
{
    const struct topo *t = ctx->t;
    char mac[ETH_ADDR_STRLEN], ip[IP4_STRLEN];

    compile_prov_add__(ctx, COMPILE_KIND_PIPELINE, TBL_CLASSIFY,
                       COMPILE_PIPELINE_NAME, NULL,
                       "classify: drop packets from unknown ports and VNIs");
    compile_prov_add__(ctx, COMPILE_KIND_PIPELINE, TBL_PORT_SEC,
                       COMPILE_PIPELINE_NAME, NULL,
                       "port security: drop spoofed source MAC/IP");
    compile_prov_add__(ctx, COMPILE_KIND_PIPELINE, TBL_L2,
                       COMPILE_PIPELINE_NAME, NULL,
                       "l2: drop unknown unicast destinations");
    compile_prov_add__(ctx, COMPILE_KIND_PIPELINE, TBL_OUTPUT,
                       COMPILE_PIPELINE_NAME, NULL,
                       "output: drop packets without an out port");

    for (size_t s = 0; s < t->n_switches; s++) {
        const struct topo_switch *sw = &t->switches[s];
        compile_prov_add__(ctx, COMPILE_KIND_SWITCH, COMPILE_SWITCH_TUNNEL_IN,
                           sw->name, &sw->mark,
                           "classify: tunnel packets with vni %u into switch "
                           "%s", sw->vni, sw->name);
        compile_prov_add__(ctx, COMPILE_KIND_SWITCH,
                           COMPILE_SWITCH_FLOOD_LOCAL, sw->name, &sw->mark,
                           "l2: flood broadcast/multicast of switch %s to its "
                           "local ports and hosts", sw->name);
        compile_prov_add__(ctx, COMPILE_KIND_SWITCH,
                           COMPILE_SWITCH_FLOOD_TUNNEL, sw->name, &sw->mark,
                           "l2: flood broadcast/multicast of switch %s from "
                           "a tunnel to its local ports", sw->name);
    }
    for (size_t p = 0; p < t->n_ports; p++) {
        const struct topo_port *tp = &t->ports[p];
        const struct topo_host *th = &t->hosts[tp->host];
        const struct topo_switch *sw = &t->switches[tp->sw];
        const struct topo_mark *m = &tp->mark;
        uint32_t o = ctx->ofport[p];
        eth_format(tp->mac, mac);
        ip4_format(tp->ip, ip);

        compile_prov_add__(ctx, COMPILE_KIND_PORT, COMPILE_PORT_CLASSIFY,
                           tp->name, m, "classify: port %s (port %u on %s) "
                           "into switch %s (vni %u)", tp->name, o, th->name,
                           sw->name, sw->vni);
        if (tp->ip) {
            compile_prov_add__(ctx, COMPILE_KIND_PORT, COMPILE_PORT_SEC_IP,
                               tp->name, m, "port security: allow %s from %s",
                               ip, mac);
            compile_prov_add__(ctx, COMPILE_KIND_PORT, COMPILE_PORT_SEC_ARP,
                               tp->name, m, "port security: allow ARP for %s "
                               "from %s", ip, mac);
        } else {
            compile_prov_add__(ctx, COMPILE_KIND_PORT, COMPILE_PORT_SEC_MAC,
                               tp->name, m, "port security: allow any "
                               "address from %s (port has no ip)", mac);
        }
        compile_prov_add__(ctx, COMPILE_KIND_PORT, COMPILE_PORT_L2_LOCAL,
                           tp->name, m, "l2: deliver to %s (local port %u)",
                           tp->name, o);
        ip4_format(th->tunnel_ip, ip);
        compile_prov_add__(ctx, COMPILE_KIND_PORT, COMPILE_PORT_L2_REMOTE,
                           tp->name, m, "l2: tunnel to %s on %s (%s)",
                           tp->name, th->name, ip);
        compile_prov_add__(ctx, COMPILE_KIND_PORT, COMPILE_PORT_OUTPUT,
                           tp->name, m, "output: to %s (port %u)", tp->name,
                           o);
    }
}

struct compile_result *
compile_topology(const struct topo *t, const struct compile_result *prev)
{
    struct compile_ctx__ ctx = { .t = t };
    struct compile_result_priv__ *res = xzalloc(sizeof *res);
    long long start = time_msec();

    ctx.res = res;
    res->file = xstrdup(t->file ? t->file : "");
    compile_index__(&ctx);
    for (size_t h = 0; h < t->n_hosts; h++) {
        compile_alloc_ofports__(&ctx, h, prev);
    }

    res->pub.n_hosts = t->n_hosts;
    res->pub.hosts = xcalloc(t->n_hosts + 1, sizeof *res->pub.hosts);
    size_t *sw_stamp = xcalloc(t->n_switches + 1, sizeof *sw_stamp);
    for (size_t h = 0; h < t->n_hosts; h++) {
        compile_host__(&ctx, h, sw_stamp, &res->pub.hosts[h]);
    }
    free(sw_stamp);

    compile_provenance_all__(&ctx);
    compile_prov_finish__(&res->pub);
    compile_ctx_destroy__(&ctx);
    LOG_DBG("compiled %zu hosts, %zu switches, %zu ports in %lld ms",
            t->n_hosts, t->n_switches, t->n_ports, time_msec() - start);
    return &res->pub;
}

void
compile_result_destroy(struct compile_result *r)
{
    if (!r) {
        return;
    }
    struct compile_result_priv__ *priv = (struct compile_result_priv__ *) r;
    for (size_t h = 0; h < r->n_hosts; h++) {
        struct compiled_host *ch = &r->hosts[h];
        for (size_t i = 0; i < ch->n_ports; i++) {
            free(ch->ports[i].name);
            free(ch->ports[i].iface);
            free(ch->ports[i].switch_name);
        }
        free(ch->ports);
        free(ch->name);
        free(ch->underlay_iface);
        flow_set_destroy(&ch->flows);
    }
    free(r->hosts);
    for (size_t i = 0; i < r->n_prov; i++) {
        compile_prov_free__(&r->prov[i]);
    }
    free(r->prov);
    free(priv->file);
    free(priv);
}

const struct compiled_host *
compile_find_host(const struct compile_result *r, const char *name)
{
    size_t lo = 0, hi = r ? r->n_hosts : 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, r->hosts[mid].name);
        if (!c) {
            return &r->hosts[mid];
        } else if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

/* --- change detection ------------------------------------------------------- */

static bool
compile_ports_equal__(const struct compiled_host *a,
                      const struct compiled_host *b)
{
    if (a->n_ports != b->n_ports) {
        return false;
    }
    for (size_t i = 0; i < a->n_ports; i++) {
        const struct compiled_port *x = &a->ports[i], *y = &b->ports[i];
        if (strcmp(x->name, y->name) || strcmp(x->iface, y->iface)
            || x->ofport != y->ofport || x->mac != y->mac
            || strcmp(x->switch_name, y->switch_name)) {
            return false;
        }
    }
    return true;
}

static bool
compile_host_equal__(const struct compiled_host *a,
                     const struct compiled_host *b)
{
    return a->tunnel_ip == b->tunnel_ip && a->tunnel_plen == b->tunnel_plen
           && !strcmp(a->underlay_iface, b->underlay_iface)
           && compile_ports_equal__(a, b)
           && flow_set_equal(&a->flows, &b->flows);
}

void
compile_changed_hosts(const struct compile_result *a,
                      const struct compile_result *b,
                      compile_host_cb *cb, void *aux)
{
    size_t na = a ? a->n_hosts : 0, nb = b ? b->n_hosts : 0;
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        int c = i >= na ? 1 : j >= nb ? -1
                : strcmp(a->hosts[i].name, b->hosts[j].name);
        if (c < 0) {
            cb(aux, &a->hosts[i++], NULL);
        } else if (c > 0) {
            cb(aux, NULL, &b->hosts[j++]);
        } else {
            if (!compile_host_equal__(&a->hosts[i], &b->hosts[j])) {
                cb(aux, &a->hosts[i], &b->hosts[j]);
            }
            i++;
            j++;
        }
    }
}
