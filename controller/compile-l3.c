/* compile-l3.c — distributed routers, ARP answers and DHCP in the
 * incremental engine (docs/pipeline.md, tables 30, 40 and 41).
 *
 * Routers are a model object of their own (struct crouter): ports (switch,
 * address, MAC, a packet-action slot) and static routes.  A router's flows
 * do not depend on the host (table 41 hands the packet to the destination
 * switch's L2, which knows where the destination lives), so one block is
 * generated per router and installed on every host of its component.
 *
 * Components: switches and routers linked by router ports.  Every host with
 * a port on any switch of a component, and the host of any firewall on one
 * of its routers, gets every router of the component and the L2 blocks of
 * every switch of it (so that a host with only web ports can route to db
 * through r1 and r2 and reach db's workloads through a transit switch it
 * has no port on).  compile_l3_prepare() runs before
 * each flush: it recomputes the components (union-find over router ports,
 * O(router ports)) and, for each component where anything is dirty, the
 * hosts it spans, and marks all its switches and routers dirty.  Switches
 * without routers keep the plain rule (blocks on the hosts of their ports)
 * and cost nothing extra.
 *
 * Ids: a router's datapath id (metadata = 0x1000000 | id) is FNV-1a of its
 * name, 24 bits, probed upwards past the ids of other routers; a router
 * port's ICMP packet actions use a slot (FNV-1a of "router:switch" mod
 * 12288, probed past taken slots).  Both are kept in the model while the
 * object lives, and allocated in name order, so that a full compile gives
 * the same ids.  DHCP packet actions use the port's OpenFlow number.
 */
#include "controller/compile-private.h"

#include <stdlib.h>
#include <string.h>

#include "controller/topo.h"
#include "lib/addr.h"
#include "lib/util.h"

#define L3_ETH_IP 0x0800
#define L3_ETH_ARP 0x0806

/* --- model -------------------------------------------------------------- */

void
compile_l3_dirty_router(struct compiler *c, uint32_t r)
{
    if (!c->routers[r].dirty) {
        c->routers[r].dirty = true;
        compile_push__(&c->dirty_rt, &c->n_dirty_rt, &c->cap_dirty_rt, r);
    }
}

static bool
l3_slot_taken__(const struct compiler *c, uint32_t s)
{
    return c->slot_taken[s / 8] & (1u << (s % 8));
}

static void
l3_slot_set__(struct compiler *c, uint32_t s, bool v)
{
    if (v) {
        c->slot_taken[s / 8] |= (uint8_t) (1u << (s % 8));
    } else {
        c->slot_taken[s / 8] &= (uint8_t) ~(1u << (s % 8));
    }
}

static uint32_t
l3_slot_alloc__(struct compiler *c, const char *router, const char *sw)
{
    char *key = xasprintf("%s:%s", router, sw);
    uint32_t s = (uint32_t) (compile_hash64(key) % COMPILE_PA_SLOTS);
    free(key);
    while (l3_slot_taken__(c, s)) {
        s = (s + 1) % COMPILE_PA_SLOTS;
    }
    l3_slot_set__(c, s, true);
    return s;
}

void
compile_l3_switch_settings(struct compiler *c, uint32_t id,
                           const struct topo_switch *ts)
{
    struct cswitch *s = &c->switches[id];
    bool dhcp = ts->dhcp.enabled && ts->plen > 0;
    bool same = s->net == ts->net && s->plen == ts->plen && s->mtu == ts->mtu
                && s->dhcp == dhcp && s->n_dns == ts->dhcp.n_dns
                && s->lease_time == ts->dhcp.lease_time
                && s->n_dhcp_routes == ts->dhcp.n_routes
                && !memcmp(s->dns, ts->dhcp.dns,
                           ts->dhcp.n_dns * sizeof *s->dns);
    for (size_t i = 0; same && i < ts->dhcp.n_routes; i++) {
        const struct topo_route *r = &ts->dhcp.routes[i];
        const struct compiled_route *o = &s->dhcp_routes[i];
        same = o->prefix == r->prefix && o->plen == r->plen
               && o->next_hop == r->next_hop;
    }
    if (same && s->lease_time) {
        return;
    }
    s->net = ts->net;
    s->plen = ts->plen;
    s->mtu = ts->mtu;
    s->dhcp = dhcp;
    s->n_dns = ts->dhcp.n_dns < 4 ? ts->dhcp.n_dns : 4;
    util_memcpy(s->dns, ts->dhcp.dns, s->n_dns * sizeof *s->dns);
    s->lease_time = ts->dhcp.lease_time ? ts->dhcp.lease_time : 3600;
    free(s->dhcp_routes);
    s->n_dhcp_routes = ts->dhcp.n_routes;
    s->dhcp_routes = xcalloc(s->n_dhcp_routes + 1, sizeof *s->dhcp_routes);
    for (size_t i = 0; i < s->n_dhcp_routes; i++) {
        s->dhcp_routes[i] = (struct compiled_route) {
            ts->dhcp.routes[i].prefix, ts->dhcp.routes[i].next_hop,
            ts->dhcp.routes[i].plen };
    }
    /* ARP answers, DHCP flows and leases depend on these. */
    compile_dirty_switch__(c, id);
    for (size_t i = 0; i < s->n_ports; i++) {
        compile_dirty_port__(c, s->ports[i]);
    }
}

static void
l3_router_dirty_switches__(struct compiler *c, const struct crouter *r)
{
    for (size_t i = 0; i < r->n_ports; i++) {
        compile_dirty_switch__(c, r->ports[i].sw);
    }
}

/* The ports a router should have: its switch ports in order, then its
 * gateway port on the external network (if any). */
struct l3_want {
    uint32_t sw, ip;
    unsigned int plen;
    uint64_t mac;
    const char *sw_name;
    uint32_t line, col;
};

static size_t
l3_wanted_ports__(const struct topo *t, const struct topo_router *tr,
                  const uint32_t *sw_ids, const uint32_t *ext_ids,
                  struct l3_want **out)
{
    struct l3_want *w = xcalloc(tr->n_ports + 2, sizeof *w);
    size_t n = 0;
    for (size_t i = 0; i < tr->n_ports; i++) {
        const struct topo_router_port *tp = &tr->ports[i];
        w[n++] = (struct l3_want) { sw_ids[tp->sw], tp->ip, tp->plen, tp->mac,
                                    t->switches[tp->sw].name, tp->mark.line,
                                    tp->mark.col };
    }
    if (tr->has_gateway) {
        const struct topo_external *te = &t->externals[tr->gw_net];
        w[n++] = (struct l3_want) { ext_ids[tr->gw_net], tr->gw_ip, te->plen,
                                    tr->gw_mac, te->name, tr->gw_mark.line,
                                    tr->gw_mark.col };
    }
    *out = w;
    return n;
}

void
compile_l3_router_upsert(struct compiler *c, const struct topo *t,
                         const struct topo_router *tr, const uint32_t *sw_ids,
                         const uint32_t *ext_ids)
{
    struct l3_want *want;
    size_t n_want = l3_wanted_ports__(t, tr, sw_ids, ext_ids, &want);
    uint32_t id = cmap_find(&c->router_map, tr->name);
    struct crouter *r;

    if (id == CE_NONE) {
        c->routers = xgrow(c->routers, &c->cap_routers, c->n_routers + 1,
                           sizeof *c->routers);
        id = (uint32_t) c->n_routers++;
        r = &c->routers[id];
        memset(r, 0, sizeof *r);
        r->name = xstrdup(tr->name);
        r->live = true;
        r->gw_sw = CE_NONE;
        r->arp_slot = CE_NONE;
        uint32_t rid = (uint32_t) compile_hash64(tr->name) & 0xffffff;
        for (bool clash = true; clash;) {
            clash = false;
            for (size_t i = 0; i < c->n_routers; i++) {
                if (i != id && c->routers[i].live
                    && c->routers[i].rid == rid) {
                    clash = true;
                    rid = (rid + 1) & 0xffffff;
                    break;
                }
            }
        }
        r->rid = rid;
        cmap_insert(&c->router_map, r->name, id);
        compile_l3_dirty_router(c, id);
    }
    r = &c->routers[id];
    r->seen = true;
    r->line = tr->mark.line;
    r->col = tr->mark.col;

    bool same = r->n_ports == n_want && r->n_routes == tr->n_routes;
    for (size_t i = 0; same && i < n_want; i++) {
        const struct l3_want *tp = &want[i];
        const struct crouter_port *p = &r->ports[i];
        same = p->sw == tp->sw && p->ip == tp->ip
               && p->plen == tp->plen && p->mac == tp->mac;
    }
    for (size_t i = 0; same && i < tr->n_routes; i++) {
        const struct topo_route *tq = &tr->routes[i];
        const struct crouter_route *q = &r->routes[i];
        same = q->prefix == tq->prefix && q->plen == tq->plen
               && q->next_hop == tq->next_hop;
    }
    if (!same) {
        /* Ports that stay on a switch keep their slot; slots of ports gone
         * are freed before new ones are taken. */
        struct crouter_port *np = xcalloc(n_want + 1, sizeof *np);
        for (size_t i = 0; i < n_want; i++) {
            np[i].slot = CE_NONE;
            for (size_t k = 0; k < r->n_ports; k++) {
                if (r->ports[k].sw == want[i].sw
                    && r->ports[k].slot != CE_NONE) {
                    np[i].slot = r->ports[k].slot;
                    r->ports[k].slot = CE_NONE;
                }
            }
        }
        for (size_t k = 0; k < r->n_ports; k++) {
            if (r->ports[k].slot != CE_NONE) {
                l3_slot_set__(c, r->ports[k].slot, false);
            }
        }
        l3_router_dirty_switches__(c, r);
        for (size_t i = 0; i < n_want; i++) {
            const struct l3_want *tp = &want[i];
            np[i].sw = tp->sw;
            np[i].ip = tp->ip;
            np[i].plen = tp->plen;
            np[i].mac = tp->mac;
            if (np[i].slot == CE_NONE) {
                np[i].slot = l3_slot_alloc__(c, tr->name, tp->sw_name);
            }
        }
        free(r->ports);
        r->ports = np;
        r->n_ports = n_want;
        free(r->routes);
        r->n_routes = tr->n_routes;
        r->routes = xcalloc(tr->n_routes + 1, sizeof *r->routes);
        for (size_t i = 0; i < tr->n_routes; i++) {
            r->routes[i].prefix = tr->routes[i].prefix;
            r->routes[i].plen = tr->routes[i].plen;
            r->routes[i].next_hop = tr->routes[i].next_hop;
        }
        l3_router_dirty_switches__(c, r);
        compile_l3_dirty_router(c, id);
    }
    for (size_t i = 0; i < n_want; i++) {
        r->ports[i].line = want[i].line;
        r->ports[i].col = want[i].col;
    }
    free(want);
    compile_gw_router_upsert(c, t, tr, id, ext_ids);
    for (size_t i = 0; i < tr->n_routes; i++) {
        r->routes[i].line = tr->routes[i].mark.line;
        r->routes[i].col = tr->routes[i].mark.col;
    }
}

void
compile_l3_router_remove(struct compiler *c, uint32_t id)
{
    struct crouter *r = &c->routers[id];
    for (size_t k = 0; k < r->n_ports; k++) {
        l3_slot_set__(c, r->ports[k].slot, false);
    }
    compile_gw_router_remove(c, r);
    l3_router_dirty_switches__(c, r);
    cmap_remove(&c->router_map, r->name);
    r->live = false;
    compile_l3_dirty_router(c, id);
}

static void
l3_router_free__(struct crouter *r)
{
    free(r->name);
    free(r->ports);
    free(r->routes);
    compile_gw_router_free(r);
    for (size_t j = 0; j < r->n_blocks; j++) {
        cflows_clear(&r->blocks[j].fl);
    }
    free(r->blocks);
    free(r->span);
    memset(r, 0, sizeof *r);
}

void
compile_l3_free(struct compiler *c)
{
    for (size_t i = 0; i < c->n_routers; i++) {
        l3_router_free__(&c->routers[i]);
    }
    free(c->routers);
    free(c->dirty_rt);
    free(c->spanned_sw);
    cmap_destroy(&c->router_map);
}

/* --- components ------------------------------------------------------------ */

static uint32_t
l3_find__(struct compiler *c, uint32_t s)
{
    while (c->switches[s].uf != s) {
        c->switches[s].uf = c->switches[c->switches[s].uf].uf;
        s = c->switches[s].uf;
    }
    return s;
}

static uint32_t *
xmemdup__(const uint32_t *v, size_t n)
{
    uint32_t *d = xcalloc(n + 1, sizeof *d);
    util_memcpy(d, v, n * sizeof *d);
    return d;
}

static int
l3_port_name_cmp__(const void *a_, const void *b_, void *c_)
{
    const struct compiler *c = c_;
    uint32_t a = *(const uint32_t *) a_, b = *(const uint32_t *) b_;
    return strcmp(c->ports[a].name, c->ports[b].name);
}

void
compile_l3_prepare(struct compiler *c)
{
    if (!c->n_routers && !c->n_spanned_sw) {
        return;
    }
    uint32_t stamp = ++c->stamp;
    uint32_t *msw = NULL;
    size_t n_msw = 0, cap_msw = 0;

    for (size_t i = 0; i < c->n_routers; i++) {
        const struct crouter *r = &c->routers[i];
        for (size_t k = 0; r->live && k < r->n_ports; k++) {
            struct cswitch *s = &c->switches[r->ports[k].sw];
            if (s->stamp != stamp) {
                s->stamp = stamp;
                s->uf = r->ports[k].sw;
                compile_push__(&msw, &n_msw, &cap_msw, r->ports[k].sw);
            }
        }
    }
    for (size_t i = 0; i < c->n_routers; i++) {
        const struct crouter *r = &c->routers[i];
        for (size_t k = 1; r->live && k < r->n_ports; k++) {
            uint32_t a = l3_find__(c, r->ports[0].sw);
            uint32_t b = l3_find__(c, r->ports[k].sw);
            if (a != b) {
                c->switches[b].uf = a;
            }
        }
    }

    /* Switches that left every component go back to the plain rule. */
    for (size_t i = 0; i < c->n_spanned_sw; i++) {
        struct cswitch *s = &c->switches[c->spanned_sw[i]];
        if (s->stamp != stamp && s->spanned) {
            s->spanned = false;
            s->n_span = 0;
            if (s->live) {
                compile_dirty_switch__(c, c->spanned_sw[i]);
            }
        }
    }
    free(c->spanned_sw);
    c->spanned_sw = msw;
    c->n_spanned_sw = n_msw;
    c->cap_spanned_sw = cap_msw;

    /* Affected components: any member dirty. */
    bool *aff = xcalloc(c->n_switches + 1, sizeof *aff);
    for (size_t i = 0; i < n_msw; i++) {
        if (c->switches[msw[i]].dirty || !c->switches[msw[i]].spanned) {
            aff[l3_find__(c, msw[i])] = true;
        }
    }
    for (size_t i = 0; i < c->n_routers; i++) {
        const struct crouter *r = &c->routers[i];
        if (r->live && r->dirty && r->n_ports) {
            aff[l3_find__(c, r->ports[0].sw)] = true;
        }
    }
    uint32_t *hosts = NULL;
    size_t n_hosts = 0, cap_hosts = 0;
    for (size_t i = 0; i < n_msw; i++) {
        uint32_t root = msw[i];
        if (l3_find__(c, root) != root || !aff[root]) {
            continue;
        }
        uint32_t hs = ++c->stamp;
        n_hosts = 0;
        for (size_t j = 0; j < n_msw; j++) {
            const struct cswitch *s = &c->switches[msw[j]];
            if (l3_find__(c, msw[j]) != root) {
                continue;
            }
            for (size_t p = 0; p < s->n_ports; p++) {
                struct chost *h = &c->hosts[c->ports[s->ports[p]].host];
                if (h->stamp != hs) {
                    h->stamp = hs;
                    compile_push__(&hosts, &n_hosts, &cap_hosts,
                                   c->ports[s->ports[p]].host);
                }
            }
        }
        /* The host of a firewall on one of the component's routers holds
         * it too (its instance's traffic is routed there), workloads or
         * not. */
        for (size_t k = 0; k < c->n_fws; k++) {
            const struct cfw *fw = &c->fws[k];
            const struct crouter *r = fw->router < c->n_routers
                                      ? &c->routers[fw->router] : NULL;
            if (r && r->live && r->n_ports
                && l3_find__(c, r->ports[0].sw) == root
                && c->hosts[fw->host].stamp != hs) {
                c->hosts[fw->host].stamp = hs;
                compile_push__(&hosts, &n_hosts, &cap_hosts, fw->host);
            }
        }
        util_qsort_r(hosts, n_hosts, sizeof *hosts, compile_host_name_cmp__, c);
        for (size_t j = 0; j < n_msw; j++) {
            struct cswitch *s = &c->switches[msw[j]];
            if (l3_find__(c, msw[j]) != root) {
                continue;
            }
            s->spanned = true;
            free(s->span);
            s->span = xmemdup__(hosts, n_hosts);
            s->n_span = n_hosts;
            compile_dirty_switch__(c, msw[j]);
        }
        for (size_t j = 0; j < c->n_routers; j++) {
            struct crouter *r = &c->routers[j];
            if (r->live && r->n_ports && l3_find__(c, r->ports[0].sw) == root) {
                free(r->span);
                r->span = xmemdup__(hosts, n_hosts);
                r->n_span = n_hosts;
                compile_l3_dirty_router(c, (uint32_t) j);
            }
        }
    }
    for (size_t i = 0; i < c->n_routers; i++) {
        struct crouter *r = &c->routers[i];
        if (r->live && !r->n_ports) {
            r->n_span = 0;
        }
    }
    free(hosts);
    free(aff);
}

/* --- flows ------------------------------------------------------------------- */

static uint64_t
l3_cookie__(unsigned int rule, const char *fmt, const char *a, const char *b)
{
    char *name = b ? xasprintf(fmt, a, b) : xstrdup(a);
    uint64_t cookie = compile_cookie(COMPILE_KIND_ROUTER, rule, name);
    free(name);
    return cookie;
}

static uint64_t
l3_route_cookie__(const char *router, size_t i)
{
    char *name = xasprintf("%s#%zu", router, i);
    uint64_t cookie = compile_cookie(COMPILE_KIND_ROUTER, COMPILE_RT_STATIC,
                                     name);
    free(name);
    return cookie;
}

static void
l3_move__(struct flow *f, unsigned int src, unsigned int dst)
{
    flow_add_action(f, FA_MOVE, (uint8_t) src, dst, 0);
}

static void
l3_controller__(struct flow *f, uint32_t id)
{
    flow_add_action(f, FA_CONTROLLER, 0, 0xffff, id);
}

/* Table 30: answers an ARP request for 'ip' with 'mac', in place. */
static void
l3_arp_responder__(struct cbuf *out, uint64_t cookie, uint32_t vni,
                   uint32_t ip, uint64_t mac)
{
    struct flow f;
    flow_init(&f, TBL_L2, 110, cookie);
    compile_match__(&f, FF_METADATA, vni, 0);
    compile_match__(&f, FF_ETH_TYPE, L3_ETH_ARP, 0);
    compile_match__(&f, FF_ARP_OP, 1, 0);
    compile_match__(&f, FF_ARP_TPA, ip, 0);
    compile_match__(&f, FF_REG13, 0, 0);
    l3_move__(&f, FF_ETH_SRC, FF_ETH_DST);
    flow_set_field(&f, FF_ETH_SRC, mac);
    flow_set_field(&f, FF_ARP_OP, 2);
    l3_move__(&f, FF_ARP_SHA, FF_ARP_THA);
    flow_set_field(&f, FF_ARP_SHA, mac);
    l3_move__(&f, FF_ARP_SPA, FF_ARP_TPA);
    flow_set_field(&f, FF_ARP_SPA, ip);
    flow_output(&f, OFPP_IN_PORT);
    compile_emit__(out, &f);
}

static uint16_t
l3_icmp_id__(const struct crouter_port *p, unsigned int kind)
{
    return (uint16_t) (COMPILE_PA_ICMP_BASE + 4 * p->slot + (kind - 2));
}

/* DHCP for a port with an ip on a switch with DHCP: table 10 lets the
 * DISCOVER from 0.0.0.0 through, table 30 hands DHCP to the agent. */
void
compile_l3_port_extra(const struct compiler *c, const struct cport *tp,
                      struct cbuf *out)
{
    const struct cswitch *sw = &c->switches[tp->sw];
    struct flow f;
    if (!sw->dhcp || !tp->ip) {
        return;
    }
    flow_init(&f, TBL_PORT_SEC, 110,
              compile_cookie(COMPILE_KIND_ROUTER, COMPILE_RT_DHCP_SEC,
                             tp->name));
    compile_match__(&f, FF_REG14, tp->ofport, 0);
    compile_match__(&f, FF_ETH_SRC, tp->mac, 0);
    compile_match__(&f, FF_ETH_TYPE, L3_ETH_IP, 0);
    compile_match__(&f, FF_IP_PROTO, 17, 0);
    compile_match__(&f, FF_IPV4_SRC, 0, 0);
    compile_match__(&f, FF_IPV4_DST, 0xffffffffu, 0);
    compile_match__(&f, FF_UDP_SRC, 68, 0);
    compile_match__(&f, FF_UDP_DST, 67, 0);
    flow_resubmit(&f, TBL_L2);
    compile_emit__(out, &f);

    flow_init(&f, TBL_L2, 120,
              compile_cookie(COMPILE_KIND_ROUTER, COMPILE_RT_DHCP, tp->name));
    compile_match__(&f, FF_REG14, tp->ofport, 0);
    compile_match__(&f, FF_ETH_TYPE, L3_ETH_IP, 0);
    compile_match__(&f, FF_IP_PROTO, 17, 0);
    compile_match__(&f, FF_UDP_SRC, 68, 0);
    compile_match__(&f, FF_UDP_DST, 67, 0);
    l3_controller__(&f, tp->ofport);
    compile_emit__(out, &f);
}

/* ARP suppression: every workload ip of a switch with a cidr is answered
 * on the host that asks. */
void
compile_l3_switch_extra(const struct compiler *c, const struct cswitch *sw,
                        const uint32_t *ports, size_t n_ports,
                        struct cbuf *out)
{
    if (!sw->plen) {
        return;
    }
    for (size_t i = 0; i < n_ports; i++) {
        const struct cport *q = &c->ports[ports[i]];
        if (q->ip) {
            l3_arp_responder__(out, compile_cookie(COMPILE_KIND_ROUTER,
                                                   COMPILE_RT_PORT_ARP,
                                                   q->name),
                               sw->vni, q->ip, q->mac);
        }
    }
}

/* The egress port key (1-based) of a next hop, 0 when none. */
static uint32_t
l3_egress__(const struct crouter *r, uint32_t nh)
{
    for (size_t k = 0; k < r->n_ports; k++) {
        if (ip4_in_subnet(nh, r->ports[k].ip & ip4_mask(r->ports[k].plen),
                          r->ports[k].plen)) {
            return (uint32_t) k + 1;
        }
    }
    return 0;
}

size_t
compile_l3_neighbors(const struct compiler *c, const struct crouter *r,
                     size_t k, struct compile_l3_neigh **out,
                     uint32_t *unresolved)
{
    const struct crouter_port *p = &r->ports[k];
    const struct cswitch *sw = &c->switches[p->sw];
    uint32_t *ports = xcalloc(sw->n_ports + 1, sizeof *ports);
    util_memcpy(ports, sw->ports, sw->n_ports * sizeof *ports);
    util_qsort_r(ports, sw->n_ports, sizeof *ports, l3_port_name_cmp__,
            (void *) c);

    struct compile_l3_neigh *nb = NULL;
    size_t n = 0, cap = 0;
    if (unresolved) {
        *unresolved = 0;
    }
    for (size_t i = 0; i < sw->n_ports; i++) {
        const struct cport *q = &c->ports[ports[i]];
        if (q->ip && q->localnet && !q->mac) {
            if (unresolved) {
                *unresolved = q->ip;
            }
        } else if (q->ip) {
            nb = xgrow(nb, &cap, n + 1, sizeof *nb);
            nb[n++] = (struct compile_l3_neigh) { q->ip, q->mac };
        }
    }
    free(ports);
    for (size_t i = 0; i < c->n_routers; i++) {
        const struct crouter *o = &c->routers[i];
        for (size_t j = 0; o != r && o->live && j < o->n_ports; j++) {
            if (o->ports[j].sw == p->sw) {
                nb = xgrow(nb, &cap, n + 1, sizeof *nb);
                nb[n++] = (struct compile_l3_neigh) { o->ports[j].ip,
                                                      o->ports[j].mac };
            }
        }
    }
    *out = nb;
    return n;
}

/* Table 41 entries of egress port 'k' of 'r' (on switch 'sw'): every
 * workload ip of the switch and every other router's port on it.  On the
 * router's gateway port, the provider router (the localnet port) while its
 * MAC is unknown: to the agent, which resolves it by ARP. */
static void
l3_gen_neigh__(const struct compiler *c, const struct crouter *r, size_t k,
               uint32_t md, struct cbuf *out)
{
    const struct crouter_port *p = &r->ports[k];
    const struct cswitch *sw = &c->switches[p->sw];
    uint64_t cookie = l3_cookie__(COMPILE_RT_NEIGH, "%s:%s", r->name,
                                  sw->name);
    struct compile_l3_neigh *nb;
    uint32_t unresolved;
    size_t n = compile_l3_neighbors(c, r, k, &nb, &unresolved);

    if (unresolved && r->gw_sw == p->sw && r->arp_slot != CE_NONE) {
        struct flow f;
        flow_init(&f, TBL_NEIGH, 100,
                  l3_cookie__(COMPILE_RT_RESOLVE, "%s:%s", r->name,
                              sw->name));
        compile_match__(&f, FF_METADATA, md, 0);
        compile_match__(&f, FF_ETH_TYPE, L3_ETH_IP, 0);
        compile_match__(&f, FF_REG0, unresolved, 0);
        compile_match__(&f, FF_REG15, k + 1, 0);
        l3_controller__(&f, compile_gw_arp_id(r, COMPILE_PA_ARP_RESOLVE));
        compile_emit__(out, &f);
    }
    for (size_t i = 0; i < n; i++) {
        struct flow f;
        flow_init(&f, TBL_NEIGH, 100, cookie);
        compile_match__(&f, FF_METADATA, md, 0);
        compile_match__(&f, FF_ETH_TYPE, L3_ETH_IP, 0);
        compile_match__(&f, FF_REG0, nb[i].ip, 0);
        compile_match__(&f, FF_REG15, k + 1, 0);
        flow_add_action(&f, FA_DEC_TTL, 0, 0, 0);
        flow_set_field(&f, FF_ETH_SRC, p->mac);
        flow_set_field(&f, FF_ETH_DST, nb[i].mac);
        flow_set_field(&f, FF_METADATA, sw->vni);
        flow_set_field(&f, FF_REG13, 0);
        flow_set_field(&f, FF_REG14, 0);
        flow_resubmit(&f, TBL_L2);
        compile_emit__(out, &f);
    }
    free(nb);
}

/* Every flow of router 'r' (the same on every host of its component). */
static void
l3_gen_router__(const struct compiler *c, const struct crouter *r,
                struct cbuf *out)
{
    uint32_t md = COMPILE_ROUTER_DP | r->rid;
    struct flow f;

    cbuf_reset(out);
    for (size_t k = 0; k < r->n_ports; k++) {
        const struct crouter_port *p = &r->ports[k];
        const struct cswitch *sw = &c->switches[p->sw];
        uint32_t key = (uint32_t) k + 1;

        l3_arp_responder__(out, l3_cookie__(COMPILE_RT_ARP, "%s:%s", r->name,
                                            sw->name),
                           sw->vni, p->ip, p->mac);

        flow_init(&f, TBL_L2, 100, l3_cookie__(COMPILE_RT_MAC, "%s:%s",
                                               r->name, sw->name));
        compile_match__(&f, FF_METADATA, sw->vni, 0);
        compile_match__(&f, FF_ETH_DST, p->mac, 0);
        flow_set_field(&f, FF_METADATA, md);
        flow_set_field(&f, FF_REG14, key);
        flow_resubmit(&f, TBL_L3);
        compile_emit__(out, &f);

        /* Pings to any of the router's addresses: the request becomes the
         * reply (addresses swapped, fresh TTL) and is routed back to the
         * sender like any packet the router sends, so that it also finds a
         * sender several routers away.  in_port is cleared so that the
         * final output may use the port the request came in on. */
        uint64_t echo = l3_cookie__(COMPILE_RT_ECHO, "%s:%s", r->name,
                                    sw->name);
        for (size_t t = 0; t < r->n_ports; t++) {
            flow_init(&f, TBL_L3, 300, echo);
            compile_match__(&f, FF_METADATA, md, 0);
            compile_match__(&f, FF_ETH_TYPE, L3_ETH_IP, 0);
            compile_match__(&f, FF_IP_PROTO, 1, 0);
            compile_match__(&f, FF_IPV4_DST, r->ports[t].ip, 0);
            compile_match__(&f, FF_ICMP_TYPE, 8, 0);
            compile_match__(&f, FF_REG14, key, 0);
            l3_move__(&f, FF_IPV4_SRC, FF_IPV4_DST);
            flow_set_field(&f, FF_IPV4_SRC, r->ports[t].ip);
            flow_set_field(&f, FF_ICMP_TYPE, 0);
            /* 65: table 41 decrements the TTL of all it forwards, this
             * router's own reply included, which so leaves with 64. */
            flow_set_field(&f, FF_IP_TTL, 65);
            flow_set_field(&f, FF_NXM_IN_PORT, 0);      /* "no port" */
            flow_resubmit(&f, TBL_L3);
            compile_emit__(out, &f);
        }

        uint64_t ttl = l3_cookie__(COMPILE_RT_TTL, "%s:%s", r->name,
                                   sw->name);
        for (unsigned int v = 0; v < 2; v++) {
            flow_init(&f, TBL_L3, 250, ttl);
            compile_match__(&f, FF_METADATA, md, 0);
            compile_match__(&f, FF_ETH_TYPE, L3_ETH_IP, 0);
            compile_match__(&f, FF_REG14, key, 0);
            compile_match__(&f, FF_IP_TTL, v, 0);
            l3_controller__(&f, l3_icmp_id__(p, COMPILE_PA_TIME_EXCEEDED));
            compile_emit__(out, &f);
        }

        flow_init(&f, TBL_L3, 100 + 2 * p->plen + 1,
                  l3_cookie__(COMPILE_RT_CONNECTED, "%s:%s", r->name,
                              sw->name));
        compile_match__(&f, FF_METADATA, md, 0);
        compile_match__(&f, FF_ETH_TYPE, L3_ETH_IP, 0);
        if (p->plen) {
            compile_match__(&f, FF_IPV4_DST, p->ip & ip4_mask(p->plen),
                            ip4_mask(p->plen));
        }
        l3_move__(&f, FF_IPV4_DST, FF_REG0);
        flow_set_field(&f, FF_REG15, key);
        flow_resubmit(&f, TBL_NEIGH);
        compile_emit__(out, &f);

        flow_init(&f, TBL_L3, 1, l3_cookie__(COMPILE_RT_NO_ROUTE, "%s:%s",
                                             r->name, sw->name));
        compile_match__(&f, FF_METADATA, md, 0);
        compile_match__(&f, FF_ETH_TYPE, L3_ETH_IP, 0);
        compile_match__(&f, FF_REG14, key, 0);
        l3_controller__(&f, l3_icmp_id__(p, COMPILE_PA_NET_UNREACHABLE));
        compile_emit__(out, &f);

        flow_init(&f, TBL_NEIGH, 1, l3_cookie__(COMPILE_RT_NO_NEIGH,
                                                "%s:%s", r->name, sw->name));
        compile_match__(&f, FF_METADATA, md, 0);
        compile_match__(&f, FF_REG14, key, 0);
        l3_controller__(&f, l3_icmp_id__(p, COMPILE_PA_HOST_UNREACHABLE));
        compile_emit__(out, &f);

        l3_gen_neigh__(c, r, k, md, out);
    }
    for (size_t i = 0; i < r->n_routes; i++) {
        const struct crouter_route *rt = &r->routes[i];
        uint32_t egress = l3_egress__(r, rt->next_hop);
        if (!egress) {
            continue;       /* the loader refuses such routes */
        }
        flow_init(&f, TBL_L3, 100 + 2 * rt->plen,
                  l3_route_cookie__(r->name, i));
        compile_match__(&f, FF_METADATA, md, 0);
        compile_match__(&f, FF_ETH_TYPE, L3_ETH_IP, 0);
        if (rt->plen) {
            compile_match__(&f, FF_IPV4_DST, rt->prefix, ip4_mask(rt->plen));
        }
        flow_set_field(&f, FF_REG0, rt->next_hop);
        flow_set_field(&f, FF_REG15, egress);
        flow_resubmit(&f, TBL_NEIGH);
        compile_emit__(out, &f);
    }
}

void
compile_l3_flush(struct compiler *c)
{
    for (size_t i = 0; i < c->n_dirty_rt; i++) {
        uint32_t id = c->dirty_rt[i];
        struct crouter *r = &c->routers[id];
        uint32_t owner = COMPILE_OWNER_ROUTER | id;
        const uint32_t *span = r->live ? r->span : NULL;
        size_t n_span = r->live ? r->n_span : 0;

        r->dirty = false;
        uint32_t stamp = ++c->stamp;
        for (size_t j = 0; j < n_span; j++) {
            c->hosts[span[j]].stamp = stamp;
        }
        size_t out = 0;
        for (size_t j = 0; j < r->n_blocks; j++) {
            struct cswitch_block *b = &r->blocks[j];
            if (c->hosts[b->host].stamp != stamp) {
                compile_replace__(c, &b->fl, b->host, NULL, CE_NONE);
                compile_owner_del__(c, b->host, owner);
            } else {
                r->blocks[out++] = *b;
            }
        }
        r->n_blocks = out;
        if (!r->live) {
            l3_router_free__(r);
            continue;
        }
        l3_gen_router__(c, r, &c->scratch);
        bool fw = compile_nfv_router_has_fw(c, id);
        for (size_t j = 0; j < n_span; j++) {
            struct cswitch_block *b = NULL;
            for (size_t k = 0; k < r->n_blocks; k++) {
                if (r->blocks[k].host == span[j]) {
                    b = &r->blocks[k];
                    break;
                }
            }
            uint32_t old_host = span[j];
            if (!b) {
                r->blocks = xgrow(r->blocks, &r->cap_blocks, r->n_blocks + 1,
                                  sizeof *r->blocks);
                b = &r->blocks[r->n_blocks++];
                memset(b, 0, sizeof *b);
                b->host = span[j];
                old_host = CE_NONE;
                compile_owner_add__(c, span[j], owner);
            }
            if (fw) {
                /* Firewalls on this router: host-specific steering and
                 * instance flows after the router's shared ones. */
                cbuf_reset(&c->scratch_nfv);
                cbuf_append(&c->scratch_nfv, c->scratch.p, c->scratch.len);
                c->scratch_nfv.n = c->scratch.n;
                compile_nfv_gen_router_host(c, id, span[j], &c->scratch_nfv);
                compile_replace__(c, &b->fl, old_host, &c->scratch_nfv,
                                  span[j]);
            } else {
                compile_replace__(c, &b->fl, old_host, &c->scratch, span[j]);
            }
        }
    }
    c->n_dirty_rt = 0;
}

/* --- packet actions ------------------------------------------------------- */

void
compiled_packet_action_clear(struct compiled_packet_action *a)
{
    if (a) {
        free(a->port);
        free(a->routes);
        free(a->network);
        memset(a, 0, sizeof *a);
    }
}

/* The gateway of switch 's': the port of the first router (by name) on
 * it, as topo_switch_router_port() says; NULL when none. */
static const struct crouter_port *
l3_gateway__(const struct compiler *c, uint32_t s)
{
    const struct crouter *best = NULL;
    const struct crouter_port *bp = NULL;
    for (size_t i = 0; i < c->n_routers; i++) {
        const struct crouter *r = &c->routers[i];
        for (size_t k = 0; r->live && k < r->n_ports; k++) {
            if (r->ports[k].sw == s
                && (!best || strcmp(r->name, best->name) < 0)) {
                best = r;
                bp = &r->ports[k];
            }
        }
    }
    return bp;
}

static int
l3_action_cmp__(const void *a_, const void *b_)
{
    const struct compiled_packet_action *a = a_, *b = b_;
    return a->id < b->id ? -1 : a->id > b->id;
}

size_t
compile_l3_host_actions(const struct compiler *c, uint32_t id,
                        struct compiled_packet_action **out)
{
    const struct chost *h = &c->hosts[id];
    struct compiled_packet_action *v = NULL;
    size_t n = 0, cap = 0;

    for (size_t i = 0; i < h->n_ports; i++) {
        const struct cport *p = &c->ports[h->ports[i]];
        const struct cswitch *sw = &c->switches[p->sw];
        if (!sw->dhcp || !p->ip) {
            continue;
        }
        const struct crouter_port *gw = l3_gateway__(c, p->sw);
        v = xgrow(v, &cap, n + 1, sizeof *v);
        struct compiled_packet_action *a = &v[n++];
        memset(a, 0, sizeof *a);
        a->id = (uint16_t) p->ofport;
        a->kind = COMPILE_PA_DHCP;
        a->port = xstrdup(p->name);
        a->ip = p->ip;
        a->plen = sw->plen;
        a->gateway = gw ? gw->ip : 0;
        a->mtu = sw->mtu;
        a->lease_time = sw->lease_time;
        a->n_dns = sw->n_dns;
        util_memcpy(a->dns, sw->dns, sw->n_dns * sizeof *a->dns);
        a->n_routes = sw->n_dhcp_routes;
        a->routes = xcalloc(a->n_routes + 1, sizeof *a->routes);
        util_memcpy(a->routes, sw->dhcp_routes, a->n_routes * sizeof *a->routes);
        a->server_ip = gw ? gw->ip : (sw->net & ip4_mask(sw->plen)) + 1;
        a->server_mac = gw ? gw->mac
                           : 0x0a5800000000ULL
                             | (compile_hash64(sw->name) & 0xffffffffULL);
    }
    for (size_t i = 0; i < h->n_owners; i++) {
        if (!(h->owners[i] & COMPILE_OWNER_ROUTER)) {
            continue;
        }
        const struct crouter *r
            = &c->routers[h->owners[i] & ~COMPILE_OWNER_ROUTER];
        for (size_t k = 0; k < r->n_ports; k++) {
            for (unsigned int kind = COMPILE_PA_TIME_EXCEEDED;
                 kind <= COMPILE_PA_HOST_UNREACHABLE; kind++) {
                v = xgrow(v, &cap, n + 1, sizeof *v);
                struct compiled_packet_action *a = &v[n++];
                memset(a, 0, sizeof *a);
                a->id = l3_icmp_id__(&r->ports[k], kind);
                a->kind = (uint8_t) kind;
                a->router_ip = r->ports[k].ip;
                a->router_mac = r->ports[k].mac;
                a->router_metadata = COMPILE_ROUTER_DP | r->rid;
                a->router_port_key = (uint32_t) k + 1;
            }
        }
    }
    compile_gw_host_actions(c, id, &v, &n, &cap);
    if (n) {
        util_qsort(v, n, sizeof *v, l3_action_cmp__);
    }
    *out = v;
    return n;
}

static uint64_t
l3_mix__(uint64_t h, uint64_t x)
{
    for (int i = 0; i < 8; i++) {
        h ^= (x >> (8 * i)) & 0xff;
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t
compile_l3_actions_hash(const struct compiled_packet_action *v, size_t n)
{
    uint64_t h = l3_mix__(14695981039346656037ULL, n);
    for (size_t i = 0; i < n; i++) {
        const struct compiled_packet_action *a = &v[i];
        h = l3_mix__(h, (uint64_t) a->id << 8 | a->kind);
        h = l3_mix__(h, a->port ? compile_hash64(a->port) : 0);
        h = l3_mix__(h, (uint64_t) a->router_ip << 32 | a->ip);
        h = l3_mix__(h, a->router_mac);
        h = l3_mix__(h, a->router_metadata << 16 ^ a->router_port_key);
        h = l3_mix__(h, (uint64_t) a->gateway << 32 | a->server_ip);
        h = l3_mix__(h, (uint64_t) a->plen << 48 | (uint64_t) a->mtu << 32
                        | a->lease_time);
        h = l3_mix__(h, a->server_mac);
        h = l3_mix__(h, a->network ? compile_hash64(a->network) : 0);
        h = l3_mix__(h, (uint64_t) a->network_vni << 32 | a->target_ip);
        for (size_t k = 0; k < a->n_dns; k++) {
            h = l3_mix__(h, a->dns[k]);
        }
        h = l3_mix__(h, a->n_dns << 16 | a->n_routes);
        for (size_t k = 0; k < a->n_routes; k++) {
            h = l3_mix__(h, (uint64_t) a->routes[k].prefix << 32
                            | a->routes[k].next_hop);
            h = l3_mix__(h, a->routes[k].plen);
        }
    }
    return h;
}

bool
compiled_packet_actions_equal(const struct compiled_packet_action *a,
                              size_t na,
                              const struct compiled_packet_action *b,
                              size_t nb)
{
    return na == nb && compile_l3_actions_hash(a, na)
                       == compile_l3_actions_hash(b, nb);
}

/* --- provenance -------------------------------------------------------------- */

static const char *const l3_rule_texts__[] = {
    [COMPILE_RT_ARP] = "l2: answer ARP for router port %s",
    [COMPILE_RT_MAC] = "l2: router MAC of %s -> router",
    [COMPILE_RT_ECHO] = "l3: answer pings to the router from port %s",
    [COMPILE_RT_TTL] = "l3: TTL exceeded at router port %s -> agent",
    [COMPILE_RT_CONNECTED] = "l3: connected route of router port %s",
    [COMPILE_RT_STATIC] = "l3: static route %s",
    [COMPILE_RT_NO_ROUTE] = "l3: no route (from port %s) -> agent",
    [COMPILE_RT_NEIGH] = "l3: next hop -> MAC on router port %s",
    [COMPILE_RT_NO_NEIGH] = "l3: unknown next hop (from port %s) -> agent",
    [COMPILE_RT_RESOLVE] = "l3: provider router's MAC unknown on %s -> "
                           "agent (ARP)",
    [COMPILE_RT_PORT_ARP] = "l2: answer ARP for port %s",
    [COMPILE_RT_DHCP_SEC] = "port security: allow DHCP discover from %s",
    [COMPILE_RT_DHCP] = "dhcp: requests of port %s -> agent",
};

static bool
l3_hash_is__(uint64_t cookie, const char *name)
{
    return (compile_hash64(name) & 0xffffffffffffULL)
           == (cookie & 0xffffffffffffULL);
}

bool
compile_l3_prov(struct compiler *c, uint64_t cookie, char **object,
                char **rule, uint32_t *line, uint32_t *col)
{
    unsigned int r = (cookie >> 48) & 0xff;
    if (r >= sizeof l3_rule_texts__ / sizeof *l3_rule_texts__
        || !l3_rule_texts__[r]) {
        return false;
    }
    if (r >= COMPILE_RT_PORT_ARP && r <= COMPILE_RT_DHCP) {
        for (size_t i = 0; i < c->n_ports; i++) {
            const struct cport *p = &c->ports[i];
            if (p->live && l3_hash_is__(cookie, p->name)) {
                const struct cswitch *sw = &c->switches[p->sw];
                *object = r == COMPILE_RT_PORT_ARP
                          ? xasprintf("ports.%s", p->name)
                          : xasprintf("switches.%s.dhcp", sw->name);
                *rule = xasprintf(l3_rule_texts__[r], p->name);
                *line = p->line;
                *col = p->col;
                return true;
            }
        }
        return false;
    }
    for (size_t i = 0; i < c->n_routers; i++) {
        const struct crouter *rt = &c->routers[i];
        if (!rt->live) {
            continue;
        }
        if (r == COMPILE_RT_STATIC) {
            for (size_t k = 0; k < rt->n_routes; k++) {
                char *name = xasprintf("%s#%zu", rt->name, k);
                bool hit = l3_hash_is__(cookie, name);
                free(name);
                if (hit) {
                    char ip[IP4_STRLEN], nh[IP4_STRLEN];
                    ip4_format(rt->routes[k].prefix, ip);
                    ip4_format(rt->routes[k].next_hop, nh);
                    char *what = xasprintf("%s/%u via %s", ip,
                                           rt->routes[k].plen, nh);
                    *object = xasprintf("routers.%s.routes[%zu]", rt->name, k);
                    *rule = xasprintf(l3_rule_texts__[r], what);
                    free(what);
                    *line = rt->routes[k].line;
                    *col = rt->routes[k].col;
                    return true;
                }
            }
            continue;
        }
        for (size_t k = 0; k < rt->n_ports; k++) {
            const char *sw = c->switches[rt->ports[k].sw].name;
            char *name = xasprintf("%s:%s", rt->name, sw);
            bool hit = l3_hash_is__(cookie, name);
            if (hit) {
                *object = c->switches[rt->ports[k].sw].external
                          ? xasprintf("routers.%s.gateway", rt->name)
                          : xasprintf("routers.%s.ports[%s]", rt->name, sw);
                *rule = xasprintf(l3_rule_texts__[r], name);
                *line = rt->ports[k].line;
                *col = rt->ports[k].col;
            }
            free(name);
            if (hit) {
                return true;
            }
        }
    }
    return false;
}
