/* compile-gw.c — external networks, router gateways and NAT in the
 * incremental engine (docs/pipeline.md, "External networks and NAT").
 *
 * An external network is a logical switch of its own (struct cswitch with
 * 'external' set, its VNI shared with the switches' VNI space) whose only
 * port is the localnet port "localnet:NET": the provider-network interface
 * of the gateway host, bound there like a workload port (a PortBinding,
 * numbered like workload ports) but without port security.  The localnet
 * port's ip and MAC are the provider router's (gateway_ip/gateway_mac), so
 * that the ordinary table-41 neighbour code of compile-l3.c routes to it.
 * A router's gateway is an ordinary router port on that switch (the last of
 * its ports), so the router's ARP answer, MAC hit, ping reply and routes
 * (the topology appends the default route via gateway_ip) need nothing new,
 * and the gateway host joins the router's component.
 *
 * NAT is centralised on the gateway host: only there does the external
 * network touch the provider network.  Every other host of the component
 * routes traffic for the outside on the source host to the gateway port
 * and tunnels it (tun_id = the external VNI) to the gateway host, whose
 * external-switch block runs the NAT stages (tables 45-47) before the
 * localnet output, and un-NATs inbound traffic in the router's table 40
 * with ct(..., table=40) recirculation.  Those flows live in the external
 * switch's block on the gateway host; a change to a router's gateway,
 * snat, floating ips or port forwards dirties only that switch (its blocks
 * on other hosts come out byte-identical, so they are not in the delta).
 *
 * Conntrack zone: one per router, 1 + (datapath id & 0x7fff), stable while
 * the router lives.
 *
 * The provider router's MAC (the localnet port's) is the network's
 * configured gateway_mac, else the one learned by ARP
 * (compiler_set_neighbor()), else unknown (0).  While it is unknown the
 * flows that need it are absent (the tunnel to the gateway host and the
 * way into the NAT stages, both matching dl_dst = that MAC), and every
 * router with a gateway on the network sends packets for gateway_ip to the
 * agent (table 41, ARP_RESOLVE, compile-l3.c), which injects an ARP
 * request into the external switch's table 30.  The switch therefore
 * always floods broadcasts that do not come from the provider network:
 * out of the localnet port on the gateway host, through the tunnel to it
 * elsewhere.  On the gateway host every ARP reply addressed to a router's
 * gateway port goes to the agent (ARP_LEARN), MAC known or not, so that
 * the table of flows does not change when it is learned.  A router
 * gateway's two ARP packet actions take ids 0x1000 + 2 * slot + (kind -
 * 5), the slot (FNV-1a of "ROUTER:arp" mod 6144, probed) kept while the
 * router has a gateway.
 */
#include "controller/compile-private.h"

#include <stdlib.h>
#include <string.h>

#include "controller/topo.h"
#include "lib/addr.h"
#include "lib/util.h"

#define GW_ETH_IP 0x0800
#define GW_ETH_ARP 0x0806

/* ct_state bits (Nicira). */
#define GW_CS_NEW 0x01u
#define GW_CS_EST 0x02u
#define GW_CS_REL 0x04u
#define GW_CS_INV 0x10u
#define GW_CS_TRK 0x20u

#define GW_CT_COMMIT 1
#define GW_NAT_NONE 0
#define GW_NAT_SRC 1
#define GW_NAT_DST 2

uint16_t
compile_gw_zone(const struct crouter *r)
{
    return (uint16_t) (1 + (r->rid & 0x7fff));
}

/* --- model -------------------------------------------------------------- */

void
compile_gw_router_free(struct crouter *r)
{
    free(r->snat);
    free(r->fips);
    free(r->fwds);
    r->snat = NULL;
    r->fips = NULL;
    r->fwds = NULL;
    r->n_snat = r->n_fips = r->n_fwds = 0;
}

/* --- ARP slots and learned neighbours ------------------------------------- */

static bool
gw_slot_taken__(const struct compiler *c, uint32_t s)
{
    return c->arp_slot_taken[s / 8] & (1u << (s % 8));
}

static void
gw_slot_set__(struct compiler *c, uint32_t s, bool v)
{
    if (v) {
        c->arp_slot_taken[s / 8] |= (uint8_t) (1u << (s % 8));
    } else {
        c->arp_slot_taken[s / 8] &= (uint8_t) ~(1u << (s % 8));
    }
}

static uint32_t
gw_slot_alloc__(struct compiler *c, const char *router)
{
    char *key = xasprintf("%s:arp", router);
    uint32_t s = (uint32_t) (compile_hash64(key) % COMPILE_ARP_SLOTS);
    free(key);
    for (uint32_t i = 0; i < COMPILE_ARP_SLOTS && gw_slot_taken__(c, s);
         i++) {
        s = (s + 1) % COMPILE_ARP_SLOTS;
    }
    gw_slot_set__(c, s, true);
    return s;
}

uint16_t
compile_gw_arp_id(const struct crouter *r, unsigned int kind)
{
    return (uint16_t) (COMPILE_PA_ARP_BASE + 2 * r->arp_slot
                       + (kind - COMPILE_PA_ARP_RESOLVE));
}

void
compile_gw_router_remove(struct compiler *c, struct crouter *r)
{
    if (r->arp_slot != CE_NONE) {
        gw_slot_set__(c, r->arp_slot, false);
        r->arp_slot = CE_NONE;
    }
}

static struct cneigh *
gw_neigh_find__(const struct compiler *c, const char *network, uint32_t ip)
{
    for (size_t i = 0; i < c->n_neigh; i++) {
        if (c->neigh[i].ip == ip && !strcmp(c->neigh[i].network, network)) {
            return &c->neigh[i];
        }
    }
    return NULL;
}

uint64_t
compile_gw_effective_mac(const struct compiler *c, const char *name,
                         uint32_t ip, uint64_t cfg)
{
    if (cfg) {
        return cfg;
    }
    const struct cneigh *n = gw_neigh_find__(c, name, ip);
    return n ? n->mac : 0;
}

void
compile_gw_neigh_free(struct compiler *c)
{
    for (size_t i = 0; i < c->n_neigh; i++) {
        free(c->neigh[i].network);
    }
    free(c->neigh);
    c->neigh = NULL;
    c->n_neigh = c->cap_neigh = 0;
}

/* The localnet port of external switch 'sw', or NULL. */
static const struct cport *
gw_localnet__(const struct compiler *c, const struct cswitch *sw)
{
    for (size_t i = 0; i < sw->n_ports; i++) {
        if (c->ports[sw->ports[i]].localnet) {
            return &c->ports[sw->ports[i]];
        }
    }
    return NULL;
}

bool
compiler_set_neighbor(struct compiler *c, const char *network, uint32_t ip,
                      uint64_t mac)
{
    struct cneigh *n = gw_neigh_find__(c, network, ip);
    if (n && mac) {
        n->mac = mac;
    } else if (n) {
        free(n->network);
        *n = c->neigh[--c->n_neigh];
    } else if (mac) {
        c->neigh = xgrow(c->neigh, &c->cap_neigh, c->n_neigh + 1,
                         sizeof *c->neigh);
        c->neigh[c->n_neigh++] = (struct cneigh) { xstrdup(network), ip,
                                                   mac };
    }

    uint32_t s = cmap_find(&c->ext_map, network);
    if (s == CE_NONE || !c->switches[s].live) {
        return false;
    }
    struct cswitch *sw = &c->switches[s];
    uint64_t eff = compile_gw_effective_mac(c, network, sw->gw_ip,
                                            sw->gw_mac_cfg);
    struct cport *lp = (struct cport *) gw_localnet__(c, sw);
    if (!lp || lp->mac == eff) {
        return false;
    }
    /* The localnet port's MAC is the routers' next hop MAC (table 41 of
     * compile-l3.c) and the external switch's L2 key: dirtying the switch
     * recomputes its component (its routers) and nothing else. */
    lp->mac = eff;
    compile_dirty_switch__(c, s);
    return true;
}

void
compile_gw_host_actions(const struct compiler *c, uint32_t h,
                        struct compiled_packet_action **v, size_t *n,
                        size_t *cap)
{
    const struct chost *host = &c->hosts[h];
    for (size_t i = 0; i < host->n_owners; i++) {
        if (!(host->owners[i] & COMPILE_OWNER_ROUTER)) {
            continue;
        }
        const struct crouter *r
            = &c->routers[host->owners[i] & ~COMPILE_OWNER_ROUTER];
        if (!r->live || r->arp_slot == CE_NONE || r->gw_sw == CE_NONE
            || !r->gw_key || r->gw_key > r->n_ports) {
            continue;
        }
        const struct cswitch *sw = &c->switches[r->gw_sw];
        const struct crouter_port *gp = &r->ports[r->gw_key - 1];
        const struct cport *lp = gw_localnet__(c, sw);
        for (unsigned int kind = COMPILE_PA_ARP_RESOLVE;
             kind <= COMPILE_PA_ARP_LEARN; kind++) {
            if (kind == COMPILE_PA_ARP_LEARN && (!lp || lp->host != h)) {
                continue;
            }
            *v = xgrow(*v, cap, *n + 1, sizeof **v);
            struct compiled_packet_action *a = &(*v)[(*n)++];
            memset(a, 0, sizeof *a);
            a->id = compile_gw_arp_id(r, kind);
            a->kind = (uint8_t) kind;
            a->router_ip = gp->ip;
            a->router_mac = gp->mac;
            a->network = xstrdup(sw->name);
            a->network_vni = sw->vni;
            a->target_ip = sw->gw_ip;
        }
    }
}

static void
gw_dirty_ext__(struct compiler *c, uint32_t s)
{
    if (s != CE_NONE && s < c->n_switches && c->switches[s].name) {
        compile_dirty_switch__(c, s);
    }
}

void
compile_gw_router_upsert(struct compiler *c, const struct topo *t,
                         const struct topo_router *tr, uint32_t id,
                         const uint32_t *ext_ids)
{
    struct crouter *r = &c->routers[id];
    uint32_t gw_sw = tr->has_gateway ? ext_ids[tr->gw_net] : CE_NONE;
    uint32_t gw_key = tr->has_gateway ? (uint32_t) tr->n_ports + 1 : 0;
    size_t ns = tr->has_gateway ? tr->n_snat : 0;
    size_t nf = tr->has_gateway ? tr->n_fips : 0;
    size_t nw = tr->has_gateway ? tr->n_forwards : 0;
    struct crouter_snat *snat = xcalloc(ns + 1, sizeof *snat);
    struct crouter_fip *fips = xcalloc(nf + 1, sizeof *fips);
    struct crouter_fwd *fwds = xcalloc(nw + 1, sizeof *fwds);

    for (size_t i = 0; i < ns; i++) {
        const struct topo_switch *ts = &t->switches[tr->snat[i]];
        snat[i] = (struct crouter_snat) {
            cmap_find(&c->switch_map, ts->name), ts->net, ts->plen };
    }
    for (size_t i = 0; i < nf; i++) {
        const struct topo_fip *tf = &tr->fips[i];
        fips[i] = (struct crouter_fip) {
            tf->ip, t->ports[tf->port].ip, tf->mark.line, tf->mark.col };
    }
    for (size_t i = 0; i < nw; i++) {
        const struct topo_port_forward *tw = &tr->forwards[i];
        fwds[i] = (struct crouter_fwd) {
            tw->ip, t->ports[tw->to].ip, tw->proto, tw->port, tw->to_port,
            tw->mark.line, tw->mark.col };
    }

    bool same = r->gw_sw == gw_sw && r->gw_key == gw_key
                && r->n_snat == ns && r->n_fips == nf && r->n_fwds == nw;
    for (size_t i = 0; same && i < ns; i++) {
        same = r->snat[i].sw == snat[i].sw && r->snat[i].net == snat[i].net
               && r->snat[i].plen == snat[i].plen;
    }
    for (size_t i = 0; same && i < nf; i++) {
        same = r->fips[i].ip == fips[i].ip
               && r->fips[i].inner == fips[i].inner;
    }
    for (size_t i = 0; same && i < nw; i++) {
        const struct crouter_fwd *a = &r->fwds[i], *b = &fwds[i];
        same = a->ip == b->ip && a->inner == b->inner && a->proto == b->proto
               && a->port == b->port && a->to_port == b->to_port;
    }
    if (!same) {
        gw_dirty_ext__(c, r->gw_sw);
        gw_dirty_ext__(c, gw_sw);
    }
    if (gw_sw != CE_NONE && r->arp_slot == CE_NONE) {
        r->arp_slot = gw_slot_alloc__(c, tr->name);
    } else if (gw_sw == CE_NONE) {
        compile_gw_router_remove(c, r);
    }
    compile_gw_router_free(r);
    r->gw_sw = gw_sw;
    r->gw_key = gw_key;
    r->snat = snat;
    r->n_snat = ns;
    r->fips = fips;
    r->n_fips = nf;
    r->fwds = fwds;
    r->n_fwds = nw;
    r->gw_line = tr->gw_mark.line;
    r->gw_col = tr->gw_mark.col;
}

/* --- flows ------------------------------------------------------------------ */

static uint64_t
gw_cookie__(unsigned int rule, const char *fmt, const char *a, size_t i)
{
    char *name = strstr(fmt, "%zu") ? xasprintf(fmt, a, i)
                                    : xasprintf(fmt, a);
    uint64_t cookie = compile_cookie(COMPILE_KIND_GATEWAY, rule, name);
    free(name);
    return cookie;
}

static uint64_t
gw_snat_cookie__(const char *router, const char *sw)
{
    char *name = xasprintf("routers.%s.snat[%s]", router, sw);
    uint64_t cookie = compile_cookie(COMPILE_KIND_GATEWAY, COMPILE_GW_SNAT,
                                     name);
    free(name);
    return cookie;
}

static void
gw_ct__(struct flow *f, bool commit, uint16_t zone, uint8_t table,
        unsigned int nat, uint32_t ip, uint16_t port)
{
    flow_add_action(f, FA_CT, commit ? GW_CT_COMMIT : 0, zone, table);
    flow_add_action(f, FA_NAT, (uint8_t) nat, ip,
                    port ? (uint64_t) port << 16 | port : 0);
}

/* Table 30: answers an ARP request for 'ip' with 'mac', in place (as the
 * router ports' answers of compile-l3.c). */
static void
gw_arp_responder__(struct cbuf *out, uint64_t cookie, uint32_t vni,
                   uint32_t ip, uint64_t mac)
{
    struct flow f;
    flow_init(&f, TBL_L2, 110, cookie);
    compile_match__(&f, FF_METADATA, vni, 0);
    compile_match__(&f, FF_ETH_TYPE, GW_ETH_ARP, 0);
    compile_match__(&f, FF_ARP_OP, 1, 0);
    compile_match__(&f, FF_ARP_TPA, ip, 0);
    compile_match__(&f, FF_REG13, 0, 0);
    flow_add_action(&f, FA_MOVE, FF_ETH_SRC, FF_ETH_DST, 0);
    flow_set_field(&f, FF_ETH_SRC, mac);
    flow_set_field(&f, FF_ARP_OP, 2);
    flow_add_action(&f, FA_MOVE, FF_ARP_SHA, FF_ARP_THA, 0);
    flow_set_field(&f, FF_ARP_SHA, mac);
    flow_add_action(&f, FA_MOVE, FF_ARP_SPA, FF_ARP_TPA, 0);
    flow_set_field(&f, FF_ARP_SPA, ip);
    flow_output(&f, OFPP_IN_PORT);
    compile_emit__(out, &f);
}

/* The localnet port on the gateway host: classified into the external
 * switch without port security (anything from the provider network
 * belongs to it), and its table-70 output. */
void
compile_gw_gen_port(const struct compiler *c, const struct cport *p,
                    struct cbuf *out)
{
    const struct cswitch *sw = &c->switches[p->sw];
    uint32_t o = p->ofport;
    struct flow f;

    cbuf_reset(out);
    flow_init(&f, TBL_CLASSIFY, 100,
              gw_cookie__(COMPILE_GW_LOCALNET_IN, "external_networks.%s",
                          sw->name, 0));
    compile_match__(&f, FF_IN_PORT, o, 0);
    flow_set_field(&f, FF_METADATA, sw->vni);
    flow_set_field(&f, FF_REG14, o);
    flow_resubmit(&f, TBL_L2);
    compile_emit__(out, &f);

    flow_init(&f, TBL_OUTPUT, 100,
              gw_cookie__(COMPILE_GW_LOCALNET_OUT, "external_networks.%s",
                          sw->name, 0));
    compile_match__(&f, FF_REG15, o, 0);
    flow_output(&f, o);
    compile_emit__(out, &f);
}

/* A table-45 flow of router 'r': traffic of the router (source MAC = its
 * gateway port's) on external switch 'sw'. */
static void
gw_out_init__(struct flow *f, uint16_t prio, uint64_t cookie,
              const struct cswitch *sw, uint64_t gmac)
{
    flow_init(f, TBL_NAT_OUT, prio, cookie);
    compile_match__(f, FF_METADATA, sw->vni, 0);
    compile_match__(f, FF_ETH_SRC, gmac, 0);
    compile_match__(f, FF_ETH_TYPE, GW_ETH_IP, 0);
}

/* A table-40 flow of router 'r' for packets from the outside (ingress
 * the gateway port) addressed to 'dst'. */
static void
gw_in_init__(struct flow *f, uint16_t prio, uint64_t cookie,
             const struct crouter *r, uint32_t dst)
{
    flow_init(f, TBL_L3, prio, cookie);
    compile_match__(f, FF_METADATA, COMPILE_ROUTER_DP | r->rid, 0);
    compile_match__(f, FF_ETH_TYPE, GW_ETH_IP, 0);
    compile_match__(f, FF_IPV4_DST, dst, 0);
    compile_match__(f, FF_REG14, r->gw_key, 0);
}

/* The NAT flows of router 'r' on its gateway host. */
static void
gw_gen_router_nat__(const struct compiler *c, const struct cswitch *sw,
                    const struct crouter *r, struct cbuf *out)
{
    const struct crouter_port *gp = &r->ports[r->gw_key - 1];
    uint16_t zone = compile_gw_zone(r);
    uint32_t g = gp->ip;
    struct flow f;

    /* Egress (table 45).  The router's own packets (ping replies from the
     * gateway ip) leave as they are. */
    gw_out_init__(&f, 250, gw_cookie__(COMPILE_GW_OWN, "routers.%s.gateway",
                                       r->name, 0), sw, gp->mac);
    compile_match__(&f, FF_IPV4_SRC, g, 0);
    flow_resubmit(&f, TBL_NAT_OUT_DONE);
    compile_emit__(out, &f);

    /* Sources without snat or floating ip: only the replies of connections
     * the outside opened (port forwards) get out, translated back. */
    gw_out_init__(&f, 100, gw_cookie__(COMPILE_GW_UNPRIV,
                                       "routers.%s.gateway", r->name, 0),
                  sw, gp->mac);
    gw_ct__(&f, false, zone, TBL_NAT_OUT_REPLY, GW_NAT_NONE, 0, 0);
    compile_emit__(out, &f);

    for (size_t i = 0; i < r->n_snat; i++) {
        const struct crouter_snat *s = &r->snat[i];
        if (s->sw == CE_NONE || !s->plen) {
            continue;
        }
        gw_out_init__(&f, 200, gw_snat_cookie__(r->name,
                                                c->switches[s->sw].name),
                      sw, gp->mac);
        compile_match__(&f, FF_IPV4_SRC, s->net, ip4_mask(s->plen));
        gw_ct__(&f, true, zone, TBL_NAT_OUT_DONE, GW_NAT_SRC, g, 0);
        compile_emit__(out, &f);
    }

    /* Ingress (table 40, before recirculation: ct_state=-trk).  Replies of
     * SNATed connections are translated back by ct(nat); after the
     * recirculation whatever is still addressed to the gateway ip and not
     * part of a connection is dropped (pings to it are answered by the
     * router's priority-300 flow first). */
    gw_in_init__(&f, 390, gw_cookie__(COMPILE_GW_UNNAT, "routers.%s.gateway",
                                      r->name, 0), r, g);
    compile_match__(&f, FF_CT_STATE, 0, GW_CS_TRK);
    gw_ct__(&f, false, zone, TBL_L3, GW_NAT_NONE, 0, 0);
    compile_emit__(out, &f);

    uint64_t drop = gw_cookie__(COMPILE_GW_DROP_NEW, "routers.%s.gateway",
                                r->name, 0);
    /* Anything else from the outside, before conntrack has seen it (an
     * internal address, another router port), is dropped: the outside
     * reaches the inside only through the gateway ip (replies, port
     * forwards) and floating ips, whose flows above take precedence. */
    flow_init(&f, TBL_L3, 380, drop);
    compile_match__(&f, FF_METADATA, COMPILE_ROUTER_DP | r->rid, 0);
    compile_match__(&f, FF_ETH_TYPE, GW_ETH_IP, 0);
    compile_match__(&f, FF_REG14, r->gw_key, 0);
    compile_match__(&f, FF_CT_STATE, 0, GW_CS_TRK);
    compile_emit__(out, &f);

    gw_in_init__(&f, 260, drop, r, g);
    compile_match__(&f, FF_CT_STATE, GW_CS_NEW | GW_CS_TRK,
                    GW_CS_NEW | GW_CS_TRK);
    compile_emit__(out, &f);
    gw_in_init__(&f, 260, drop, r, g);
    compile_match__(&f, FF_CT_STATE, GW_CS_INV | GW_CS_TRK,
                    GW_CS_INV | GW_CS_TRK);
    compile_emit__(out, &f);

    for (size_t i = 0; i < r->n_fips; i++) {
        const struct crouter_fip *fp = &r->fips[i];
        if (!fp->inner) {
            continue;
        }
        gw_out_init__(&f, 300, gw_cookie__(COMPILE_GW_FIP_OUT,
                                           "routers.%s.floating_ips[%zu]",
                                           r->name, i), sw, gp->mac);
        compile_match__(&f, FF_IPV4_SRC, fp->inner, 0);
        gw_ct__(&f, true, zone, TBL_NAT_OUT_DONE, GW_NAT_SRC, fp->ip, 0);
        compile_emit__(out, &f);

        gw_in_init__(&f, 400, gw_cookie__(COMPILE_GW_FIP_IN,
                                          "routers.%s.floating_ips[%zu]",
                                          r->name, i), r, fp->ip);
        compile_match__(&f, FF_CT_STATE, 0, GW_CS_TRK);
        gw_ct__(&f, true, zone, TBL_L3, GW_NAT_DST, fp->inner, 0);
        compile_emit__(out, &f);

        gw_arp_responder__(out, gw_cookie__(COMPILE_GW_FIP_ARP,
                                            "routers.%s.floating_ips[%zu]",
                                            r->name, i),
                           sw->vni, fp->ip, gp->mac);
    }

    for (size_t i = 0; i < r->n_fwds; i++) {
        const struct crouter_fwd *w = &r->fwds[i];
        if (!w->inner) {
            continue;
        }
        uint64_t cookie = gw_cookie__(COMPILE_GW_FWD_IN,
                                      "routers.%s.port_forwards[%zu]",
                                      r->name, i);
        gw_in_init__(&f, 410, cookie, r, w->ip);
        compile_match__(&f, FF_IP_PROTO, w->proto, 0);
        compile_match__(&f, w->proto == 17 ? FF_UDP_DST : FF_TCP_DST,
                        w->port, 0);
        compile_match__(&f, FF_CT_STATE, 0, GW_CS_TRK);
        gw_ct__(&f, true, zone, TBL_L3, GW_NAT_DST, w->inner, w->to_port);
        compile_emit__(out, &f);

        /* An address of its own (not the gateway ip nor a floating ip, and
         * the first forward to use it) needs an ARP answer. */
        bool known = w->ip == g;
        for (size_t k = 0; !known && k < r->n_fips; k++) {
            known = r->fips[k].ip == w->ip;
        }
        for (size_t k = 0; !known && k < i; k++) {
            known = r->fwds[k].ip == w->ip && r->fwds[k].inner;
        }
        if (!known) {
            gw_arp_responder__(out, gw_cookie__(COMPILE_GW_FWD_ARP,
                                                "routers.%s.port_forwards[%zu]",
                                                r->name, i),
                               sw->vni, w->ip, gp->mac);
        }
    }
}

static int
gw_router_name_cmp__(const void *a_, const void *b_, void *c_)
{
    const struct compiler *c = c_;
    uint32_t a = *(const uint32_t *) a_, b = *(const uint32_t *) b_;
    return strcmp(c->routers[a].name, c->routers[b].name);
}

/* The block of external switch 'sw' on host 'h': on the gateway host the
 * tunnel classification, the way to the provider router through the NAT
 * stages and every NAT flow of the routers with a gateway on it; on every
 * other host of its component only the tunnel to the gateway host. */
void
compile_gw_switch_block(const struct compiler *c, const struct cswitch *sw,
                        uint32_t h, struct cbuf *out)
{
    const struct cport *lp = gw_localnet__(c, sw);
    struct flow f;

    cbuf_reset(out);
    if (!lp || !sw->live) {
        return;
    }
    uint64_t to_out = gw_cookie__(COMPILE_GW_TO_OUTSIDE, "external_networks.%s",
                                  sw->name, 0);
    uint64_t flood = gw_cookie__(COMPILE_GW_FLOOD, "external_networks.%s",
                                 sw->name, 0);
    if (lp->host != h) {
        if (lp->mac) {
            flow_init(&f, TBL_L2, 100, to_out);
            compile_match__(&f, FF_METADATA, sw->vni, 0);
            compile_match__(&f, FF_ETH_DST, lp->mac, 0);
            compile_match__(&f, FF_REG13, 0, 0);
            flow_set_field(&f, FF_TUN_ID, sw->vni);
            flow_set_field(&f, FF_TUN_DST, c->hosts[lp->host].tunnel_ip);
            flow_output(&f, COMPILE_TUNNEL_OFPORT);
            compile_emit__(out, &f);
        }
        /* Broadcasts (the agent's ARP requests) go to the gateway host. */
        flow_init(&f, TBL_L2, 90, flood);
        compile_match__(&f, FF_METADATA, sw->vni, 0);
        compile_match__(&f, FF_ETH_DST, 0xffffffffffffULL, 0);
        compile_match__(&f, FF_REG13, 0, 0);
        flow_set_field(&f, FF_TUN_ID, sw->vni);
        flow_set_field(&f, FF_TUN_DST, c->hosts[lp->host].tunnel_ip);
        flow_output(&f, COMPILE_TUNNEL_OFPORT);
        compile_emit__(out, &f);
        return;
    }

    /* Broadcasts not from the provider network (reg14 = 0: injected by the
     * agent or tunnelled here) leave through the localnet port. */
    flow_init(&f, TBL_L2, 90, flood);
    compile_match__(&f, FF_METADATA, sw->vni, 0);
    compile_match__(&f, FF_ETH_DST, 0xffffffffffffULL, 0);
    compile_match__(&f, FF_REG14, 0, 0);
    flow_set_field(&f, FF_REG15, lp->ofport);
    flow_resubmit(&f, TBL_OUTPUT);
    compile_emit__(out, &f);

    flow_init(&f, TBL_CLASSIFY, 100,
              gw_cookie__(COMPILE_GW_TUNNEL_IN, "external_networks.%s",
                          sw->name, 0));
    compile_match__(&f, FF_IN_PORT, COMPILE_TUNNEL_OFPORT, 0);
    compile_match__(&f, FF_TUN_ID, sw->vni, 0);
    flow_set_field(&f, FF_METADATA, sw->vni);
    flow_set_field(&f, FF_REG13, 1);
    flow_resubmit(&f, TBL_L2);
    compile_emit__(out, &f);

    if (lp->mac) {
        flow_init(&f, TBL_L2, 100, to_out);
        compile_match__(&f, FF_METADATA, sw->vni, 0);
        compile_match__(&f, FF_ETH_DST, lp->mac, 0);
        flow_resubmit(&f, TBL_NAT_OUT);
        compile_emit__(out, &f);
    }

    flow_init(&f, TBL_NAT_OUT_DONE, 100,
              gw_cookie__(COMPILE_GW_OUT_DONE, "external_networks.%s",
                          sw->name, 0));
    compile_match__(&f, FF_METADATA, sw->vni, 0);
    flow_set_field(&f, FF_REG15, lp->ofport);
    flow_resubmit(&f, TBL_OUTPUT);
    compile_emit__(out, &f);

    uint64_t reply = gw_cookie__(COMPILE_GW_OUT_REPLY, "external_networks.%s",
                                 sw->name, 0);
    static const uint32_t ok[] = { GW_CS_EST, GW_CS_REL };
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        flow_init(&f, TBL_NAT_OUT_REPLY, 100, reply);
        compile_match__(&f, FF_METADATA, sw->vni, 0);
        compile_match__(&f, FF_CT_STATE, ok[i] | GW_CS_TRK,
                        ok[i] | GW_CS_TRK);
        flow_resubmit(&f, TBL_NAT_OUT_DONE);
        compile_emit__(out, &f);
    }

    uint32_t *rs = xcalloc(c->n_routers + 1, sizeof *rs);
    size_t n = 0;
    for (size_t i = 0; i < c->n_routers; i++) {
        const struct crouter *r = &c->routers[i];
        if (r->live && r->gw_key && r->gw_key <= r->n_ports
            && r->gw_sw == (uint32_t) (sw - c->switches)) {
            rs[n++] = (uint32_t) i;
        }
    }
    util_qsort_r(rs, n, sizeof *rs, gw_router_name_cmp__, (void *) c);
    for (size_t i = 0; i < n; i++) {
        const struct crouter *r = &c->routers[rs[i]];
        gw_gen_router_nat__(c, sw, r, out);
        if (r->arp_slot == CE_NONE) {
            continue;
        }
        /* ARP replies to the router's gateway port: to the agent, which
         * reports the provider router's MAC (before the router MAC hit,
         * priority 100, that would take them to table 40). */
        flow_init(&f, TBL_L2, 120,
                  gw_cookie__(COMPILE_GW_ARP_LEARN, "routers.%s.gateway",
                              r->name, 0));
        compile_match__(&f, FF_METADATA, sw->vni, 0);
        compile_match__(&f, FF_ETH_DST, r->ports[r->gw_key - 1].mac, 0);
        compile_match__(&f, FF_ETH_TYPE, GW_ETH_ARP, 0);
        compile_match__(&f, FF_ARP_OP, 2, 0);
        flow_add_action(&f, FA_CONTROLLER, 0, 0xffff,
                        compile_gw_arp_id(r, COMPILE_PA_ARP_LEARN));
        compile_emit__(out, &f);
    }
    free(rs);
}

/* --- provenance -------------------------------------------------------------- */

static bool
gw_hash_is__(uint64_t cookie, const char *name)
{
    return (compile_hash64(name) & 0xffffffffffffULL)
           == (cookie & 0xffffffffffffULL);
}

static char *
gw_ip__(uint32_t ip)
{
    char s[IP4_STRLEN];
    ip4_format(ip, s);
    return xstrdup(s);
}

static bool
gw_prov_network__(struct compiler *c, uint64_t cookie, unsigned int rule,
                  char **object, char **rule_text, uint32_t *line,
                  uint32_t *col)
{
    for (size_t i = 0; i < c->n_switches; i++) {
        const struct cswitch *sw = &c->switches[i];
        if (!sw->live || !sw->external) {
            continue;
        }
        char *name = xasprintf("external_networks.%s", sw->name);
        if (!gw_hash_is__(cookie, name)) {
            free(name);
            continue;
        }
        switch (rule) {
        case COMPILE_GW_LOCALNET_IN:
            *rule_text = xasprintf("classify: localnet port of %s into "
                                   "external network (vni %u)", sw->name,
                                   sw->vni);
            break;
        case COMPILE_GW_LOCALNET_OUT:
            *rule_text = xasprintf("output: to the localnet port of %s",
                                   sw->name);
            break;
        case COMPILE_GW_TUNNEL_IN:
            *rule_text = xasprintf("classify: tunnel packets with vni %u "
                                   "into external network %s", sw->vni,
                                   sw->name);
            break;
        case COMPILE_GW_TO_OUTSIDE:
            *rule_text = xasprintf("l2: to the provider router of %s "
                                   "(NAT on the gateway host)", sw->name);
            break;
        case COMPILE_GW_OUT_DONE:
            *rule_text = xasprintf("nat: out of %s through its localnet "
                                   "port", sw->name);
            break;
        case COMPILE_GW_OUT_REPLY:
            *rule_text = xasprintf("nat: only replies leave %s without "
                                   "snat or floating ip", sw->name);
            break;
        case COMPILE_GW_FLOOD:
            *rule_text = xasprintf("l2: broadcasts (ARP requests for the "
                                   "provider router) out to %s", sw->name);
            break;
        default:
            free(name);
            return false;
        }
        *object = name;
        *line = sw->line;
        *col = sw->col;
        return true;
    }
    return false;
}

bool
compile_gw_prov(struct compiler *c, uint64_t cookie, char **object,
                char **rule_text, uint32_t *line, uint32_t *col)
{
    unsigned int rule = (cookie >> 48) & 0xff;
    if (rule <= COMPILE_GW_OUT_REPLY || rule == COMPILE_GW_FLOOD) {
        return gw_prov_network__(c, cookie, rule, object, rule_text, line,
                                 col);
    }
    for (size_t i = 0; i < c->n_routers; i++) {
        const struct crouter *r = &c->routers[i];
        if (!r->live || !r->gw_key || r->gw_key > r->n_ports) {
            continue;
        }
        char *g = gw_ip__(r->ports[r->gw_key - 1].ip);
        char *name = NULL, *text = NULL;
        uint32_t l = r->gw_line, k = r->gw_col;

        if (rule == COMPILE_GW_OWN || rule == COMPILE_GW_UNPRIV
            || rule == COMPILE_GW_UNNAT || rule == COMPILE_GW_DROP_NEW
            || rule == COMPILE_GW_ARP_LEARN) {
            name = xasprintf("routers.%s.gateway", r->name);
            if (gw_hash_is__(cookie, name)) {
                text = rule == COMPILE_GW_ARP_LEARN
                       ? xasprintf("l2: ARP replies to %s's gateway port "
                                   "-> agent (learn the provider router's "
                                   "MAC)", r->name)
                       : rule == COMPILE_GW_OWN
                       ? xasprintf("nat: packets of %s itself leave as %s",
                                   r->name, g)
                       : rule == COMPILE_GW_UNPRIV
                       ? xasprintf("nat: sources of %s without snat or "
                                   "floating ip: replies only", r->name)
                       : rule == COMPILE_GW_UNNAT
                       ? xasprintf("nat: inbound to %s: translate replies "
                                   "back", g)
                       : xasprintf("nat: drop new connections to %s", g);
            }
        }
        for (size_t j = 0; !text && rule == COMPILE_GW_SNAT
                           && j < r->n_snat; j++) {
            const char *sw = r->snat[j].sw != CE_NONE
                             ? c->switches[r->snat[j].sw].name : "";
            free(name);
            name = xasprintf("routers.%s.snat[%s]", r->name, sw);
            if (gw_hash_is__(cookie, name)) {
                text = xasprintf("nat: switch %s leaves as %s", sw, g);
            }
        }
        for (size_t j = 0; !text && j < r->n_fips
                           && rule >= COMPILE_GW_FIP_OUT
                           && rule <= COMPILE_GW_FIP_ARP; j++) {
            free(name);
            name = xasprintf("routers.%s.floating_ips[%zu]", r->name, j);
            if (gw_hash_is__(cookie, name)) {
                char *fip = gw_ip__(r->fips[j].ip);
                char *in = gw_ip__(r->fips[j].inner);
                text = rule == COMPILE_GW_FIP_OUT
                       ? xasprintf("nat: %s leaves as %s", in, fip)
                       : rule == COMPILE_GW_FIP_IN
                       ? xasprintf("nat: %s -> %s", fip, in)
                       : xasprintf("l2: answer ARP for floating ip %s", fip);
                free(fip);
                free(in);
                l = r->fips[j].line;
                k = r->fips[j].col;
            }
        }
        for (size_t j = 0; !text && j < r->n_fwds
                           && (rule == COMPILE_GW_FWD_IN
                               || rule == COMPILE_GW_FWD_ARP); j++) {
            free(name);
            name = xasprintf("routers.%s.port_forwards[%zu]", r->name, j);
            if (gw_hash_is__(cookie, name)) {
                const struct crouter_fwd *w = &r->fwds[j];
                char *ip = gw_ip__(w->ip), *in = gw_ip__(w->inner);
                text = rule == COMPILE_GW_FWD_IN
                       ? xasprintf("nat: %s %s:%u -> %s:%u",
                                   w->proto == 17 ? "udp" : "tcp", ip,
                                   w->port, in, w->to_port)
                       : xasprintf("l2: answer ARP for %s", ip);
                free(ip);
                free(in);
                l = w->line;
                k = w->col;
            }
        }
        free(g);
        if (text) {
            *object = name;
            *rule_text = text;
            *line = l;
            *col = k;
            return true;
        }
        free(name);
    }
    return false;
}
