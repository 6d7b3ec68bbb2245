/* compile-engine.c — the incremental compiler (compile.h, struct compiler).
 *
 * compiler_apply() walks the new topology once, object by object, against
 * the model, and only marks what a change touches:
 *
 *   - a port's own flows (classify, port security, output) are dirty when
 *     the port is new, removed, moved, renumbered or its switch's VNI or its
 *     addresses change;
 *   - a switch's blocks (tunnel classify, the L2 entry of each of its ports,
 *     the floods) on every host it spans are dirty when one of its ports
 *     comes, goes or changes, its VNI changes, or the tunnel ip of a host it
 *     spans changes.
 *
 * compile_flush__() then recomputes each dirty object once and compares the
 * new encoded records with the stored ones.  When a delta is wanted, the
 * records of a block whose bytes changed are compared one by one, still
 * encoded; only those that differ are kept (as compact copies), paired by
 * key per host at the end of the apply, and decoded into struct flow when
 * they are really added, removed or modified.  A full compile is
 * the same walk from an empty model, where everything is new.  The cost of a
 * single-port change is the size of its switch times the hosts it spans,
 * independent of the size of the topology.
 */
#include "controller/compile-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/topo.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(compile_engine);

/* --- small vectors ------------------------------------------------------------ */

void
compile_push__(uint32_t **v, size_t *n, size_t *cap, uint32_t x)
{
    *v = xgrow(*v, cap, *n + 1, sizeof **v);
    (*v)[(*n)++] = x;
}

void
compile_dirty_port__(struct compiler *c, uint32_t p)
{
    if (!c->ports[p].dirty) {
        c->ports[p].dirty = true;
        compile_push__(&c->dirty_ports, &c->n_dirty_ports,
                       &c->cap_dirty_ports, p);
    }
}

void
compile_dirty_switch__(struct compiler *c, uint32_t s)
{
    if (!c->switches[s].dirty) {
        c->switches[s].dirty = true;
        compile_push__(&c->dirty_sw, &c->n_dirty_sw, &c->cap_dirty_sw, s);
    }
}

/* --- deltas --------------------------------------------------------------------- */

void
compile_delta_init(struct compile_delta *d)
{
    memset(d, 0, sizeof *d);
}

void
compile_delta_destroy(struct compile_delta *d)
{
    if (!d) {
        return;
    }
    for (size_t i = 0; i < d->n_hosts; i++) {
        struct compile_host_delta *hd = &d->hosts[i];
        free(hd->name);
        flow_set_destroy(&hd->added);
        flow_set_destroy(&hd->removed);
        flow_set_destroy(&hd->modified);
    }
    free(d->hosts);
    memset(d, 0, sizeof *d);
}

size_t
compile_delta_n_flows(const struct compile_delta *d)
{
    size_t n = 0;
    for (size_t i = 0; d && i < d->n_hosts; i++) {
        n += d->hosts[i].added.n + d->hosts[i].removed.n
             + d->hosts[i].modified.n;
    }
    return n;
}

/* The delta record of host 'h', created on first use.  While an apply runs
 * its flow sets stay empty: the changed records wait, encoded, in
 * c->drec until compile_delta_finish__() pairs and decodes them. */
static struct compile_host_delta *
compile_host_delta__(struct compiler *c, uint32_t h)
{
    struct compile_delta *d = c->delta;
    struct chost *ch = &c->hosts[h];
    if (!d) {
        return NULL;
    }
    if (ch->delta == CE_NONE) {
        d->hosts = xgrow(d->hosts, &c->delta_cap, d->n_hosts + 1,
                         sizeof *d->hosts);
        struct compile_host_delta *hd = &d->hosts[d->n_hosts];
        memset(hd, 0, sizeof *hd);
        hd->name = xstrdup(ch->name);
        flow_set_init(&hd->added);
        flow_set_init(&hd->removed);
        flow_set_init(&hd->modified);
        ch->delta = (uint32_t) d->n_hosts++;
    }
    return &d->hosts[ch->delta];
}

void
compile_config_changed__(struct compiler *c, uint32_t h)
{
    struct compile_host_delta *hd = compile_host_delta__(c, h);
    if (hd) {
        hd->config_changed = true;
    }
}

/* Keeps a copy of record 'rec' of host 'h' ('side' 0: old, 1: new) for
 * compile_delta_finish__(). */
static void
compile_delta_keep__(struct compiler *c, uint32_t h, uint32_t side,
                     const uint8_t *rec)
{
    compile_host_delta__(c, h);
    c->drec = xgrow(c->drec, &c->cap_drec, c->n_drec + 1, sizeof *c->drec);
    c->drec[c->n_drec++] = (struct cdelta_rec) {
        c->hosts[h].delta, side, c->drecs.len
    };
    cbuf_append(&c->drecs, rec, crec_len(rec));
}

static int
compile_rec_qsort_cmp__(const void *a, const void *b)
{
    return crec_cmp(*(const uint8_t *const *) a, *(const uint8_t *const *) b);
}

/* Notes the change from the records 'old' (on 'old_host', may be CE_NONE)
 * to 'new' (on 'new_host', may be CE_NONE) in the delta.  On the same host
 * both lists are sorted and merged so that records present on both sides
 * byte for byte are dropped here; everything else is kept encoded. */
static void
compile_delta_note__(struct compiler *c, const struct cflows *old,
                     uint32_t old_host, const struct cflows *new,
                     uint32_t new_host)
{
    size_t no = old_host == CE_NONE ? 0
                : cflows_index(old, &c->rold, &c->cap_rold);
    size_t nn = new_host == CE_NONE ? 0
                : cflows_index(new, &c->rnew, &c->cap_rnew);
    size_t i = 0, j = 0;

    if (old_host == new_host) {
        util_qsort(c->rold, no, sizeof *c->rold, compile_rec_qsort_cmp__);
        util_qsort(c->rnew, nn, sizeof *c->rnew, compile_rec_qsort_cmp__);
        while (i < no && j < nn) {
            int cmp = crec_cmp(c->rold[i], c->rnew[j]);
            if (!cmp) {
                i++;
                j++;
            } else if (cmp < 0) {
                compile_delta_keep__(c, old_host, 0, c->rold[i++]);
            } else {
                compile_delta_keep__(c, new_host, 1, c->rnew[j++]);
            }
        }
    }
    for (; i < no; i++) {
        compile_delta_keep__(c, old_host, 0, c->rold[i]);
    }
    for (; j < nn; j++) {
        compile_delta_keep__(c, new_host, 1, c->rnew[j]);
    }
}

/* Replaces the records 'slot' (installed on 'old_host', may be CE_NONE)
 * by 'nb' on 'new_host' (CE_NONE: remove), recording the change. */
static void
compile_touch__(struct compiler *c, uint32_t h)
{
    if (h != CE_NONE && !c->hosts[h].touched) {
        c->hosts[h].touched = true;
        compile_push__(&c->touched, &c->n_touched, &c->cap_touched, h);
    }
}

void
compile_replace__(struct compiler *c, struct cflows *slot, uint32_t old_host,
                  const struct cbuf *nb, uint32_t new_host)
{
    struct cflows nf = { NULL, 0, 0 };
    compile_touch__(c, old_host);
    compile_touch__(c, new_host);
    if (new_host != CE_NONE) {
        nf = (struct cflows) { nb->p, (uint32_t) nb->len, nb->n };
    }
    if (old_host == new_host && cflows_equal(slot, &nf)) {
        return;
    }
    if (c->delta) {
        compile_delta_note__(c, slot, old_host, &nf, new_host);
    }
    c->n_flows -= slot->n;
    if (new_host != CE_NONE) {
        cflows_set(slot, nb);
        c->n_flows += slot->n;
    } else {
        cflows_clear(slot);
    }
}

static int
compile_drec_cmp__(const void *a_, const void *b_, void *base_)
{
    const struct cdelta_rec *a = a_, *b = b_;
    const uint8_t *base = base_;
    if (a->host != b->host) {
        return a->host < b->host ? -1 : 1;
    }
    int cmp = crec_key_cmp(base + a->off, base + b->off);
    if (cmp) {
        return cmp;
    }
    if (a->side != b->side) {
        return a->side < b->side ? -1 : 1;
    }
    return crec_cmp(base + a->off, base + b->off);
}

/* Pairs the kept old and new records of each host by key: same key and
 * equal -> no change; same key otherwise -> modified; a key on one side
 * only -> removed or added.  Only those are decoded.  Then sorts and drops
 * hosts that did not change after all. */
static void
compile_delta_finish__(struct compiler *c)
{
    struct compile_delta *d = c->delta;
    const uint8_t *base = c->drecs.p;
    size_t out = 0;

    if (c->n_drec) {
        util_qsort_r(c->drec, c->n_drec, sizeof *c->drec, compile_drec_cmp__,
                (void *) base);
    }
    for (size_t i = 0; i < c->n_drec;) {
        /* One run of records with the same host and key: old ones first.
         * Like flow_set_sort(), the last of each side wins. */
        const struct cdelta_rec *o = NULL, *n = NULL;
        size_t k = i;
        for (; k < c->n_drec && c->drec[k].host == c->drec[i].host
               && !crec_key_cmp(base + c->drec[k].off,
                                base + c->drec[i].off); k++) {
            if (c->drec[k].side) {
                n = &c->drec[k];
            } else {
                o = &c->drec[k];
            }
        }
        struct compile_host_delta *hd = &d->hosts[c->drec[i].host];
        if (!n) {
            crec_decode(base + o->off, &hd->removed);
        } else if (!o) {
            crec_decode(base + n->off, &hd->added);
        } else if (crec_cmp(base + o->off, base + n->off)) {
            crec_decode(base + n->off, &hd->modified);
        }
        i = k;
    }
    c->n_drec = 0;
    cbuf_reset(&c->drecs);

    for (size_t i = 0; i < d->n_hosts; i++) {
        struct compile_host_delta *hd = &d->hosts[i];
        flow_set_sort(&hd->added);
        flow_set_sort(&hd->removed);
        flow_set_sort(&hd->modified);
        if (!hd->added.n && !hd->removed.n && !hd->modified.n
            && !hd->config_changed && !hd->host_added && !hd->host_removed) {
            free(hd->name);
            flow_set_destroy(&hd->added);
            flow_set_destroy(&hd->removed);
            flow_set_destroy(&hd->modified);
        } else {
            d->hosts[out++] = *hd;
        }
    }
    d->n_hosts = out;
    for (size_t i = 1; i < d->n_hosts; i++) {
        struct compile_host_delta x = d->hosts[i];
        size_t j = i;
        for (; j > 0 && strcmp(d->hosts[j - 1].name, x.name) > 0; j--) {
            d->hosts[j] = d->hosts[j - 1];
        }
        d->hosts[j] = x;
    }
}

/* --- model ------------------------------------------------------------------ */

struct compiler *
compiler_create(void)
{
    return xzalloc(sizeof(struct compiler));
}

static void
compile_port_free__(struct cport *p)
{
    free(p->name);
    free(p->iface);
    free(p->socket);
    free(p->sg);
    p->sg = NULL;
    p->n_sg = 0;
    cflows_clear(&p->fl);
}

void
compiler_destroy(struct compiler *c)
{
    if (!c) {
        return;
    }
    for (size_t i = 0; i < c->n_ports; i++) {
        compile_port_free__(&c->ports[i]);
    }
    for (size_t i = 0; i < c->n_hosts; i++) {
        free(c->hosts[i].name);
        free(c->hosts[i].underlay);
        free(c->hosts[i].ports);
        free(c->hosts[i].owners);
        cflows_clear(&c->hosts[i].defaults);
    }
    for (size_t i = 0; i < c->n_switches; i++) {
        struct cswitch *s = &c->switches[i];
        free(s->name);
        free(s->ports);
        free(s->span);
        free(s->dhcp_routes);
        for (size_t j = 0; j < s->n_blocks; j++) {
            cflows_clear(&s->blocks[j].fl);
        }
        free(s->blocks);
    }
    compile_l3_free(c);
    compile_gw_neigh_free(c);
    compile_sg_free(c);
    compile_nfv_free(c);
    free(c->scratch_nfv.p);
    free(c->touched);
    compile_prov_invalidate(c);
    free(c->ports);
    free(c->hosts);
    free(c->switches);
    free(c->free_ports);
    free(c->dirty_ports);
    free(c->dirty_sw);
    free(c->pending);
    free(c->scratch.p);
    free(c->scratch_shared.p);
    free(c->drecs.p);
    free(c->drec);
    free(c->rold);
    free(c->rnew);
    cmap_destroy(&c->port_map);
    cmap_destroy(&c->host_map);
    cmap_destroy(&c->switch_map);
    cmap_destroy(&c->ext_map);
    free(c->file);
    free(c);
}

size_t
compiler_n_flows(const struct compiler *c)
{
    return c->n_flows;
}

size_t
compiler_n_hosts(const struct compiler *c)
{
    return c->host_map.n;
}

static void
compile_taken_set__(struct chost *h, uint32_t o, bool v)
{
    if (v) {
        h->taken[o / 8] |= (uint8_t) (1u << (o % 8));
    } else {
        h->taken[o / 8] &= (uint8_t) ~(1u << (o % 8));
    }
}

static bool
compile_taken__(const struct chost *h, uint32_t o)
{
    return h->taken[o / 8] & (1u << (o % 8));
}

static const struct compiled_port *
compile_seed_port__(const struct compile_result *seed, const char *host,
                    const char *port)
{
    const struct compiled_host *h = seed ? compile_find_host(seed, host)
                                         : NULL;
    size_t lo = 0, hi = h ? h->n_ports : 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(port, h->ports[mid].name);
        if (!cmp) {
            return &h->ports[mid];
        } else if (cmp < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

/* Attaches port 'p' (its host, switch and number already chosen) to its
 * host's and switch's lists. */
static void
compile_attach_host__(struct compiler *c, uint32_t p)
{
    struct cport *cp = &c->ports[p];
    struct chost *h = &c->hosts[cp->host];
    cp->host_pos = (uint32_t) h->n_ports;
    compile_push__(&h->ports, &h->n_ports, &h->cap_ports, p);
    compile_taken_set__(h, cp->ofport, true);
    compile_config_changed__(c, cp->host);
    compile_dirty_port__(c, p);
    compile_dirty_switch__(c, cp->sw);
}

static void
compile_detach_host__(struct compiler *c, uint32_t p)
{
    struct cport *cp = &c->ports[p];
    struct chost *h = &c->hosts[cp->host];
    uint32_t last = h->ports[--h->n_ports];
    h->ports[cp->host_pos] = last;
    c->ports[last].host_pos = cp->host_pos;
    compile_taken_set__(h, cp->ofport, false);
    cp->ofport = 0;
    compile_config_changed__(c, cp->host);
    compile_dirty_port__(c, p);
    compile_dirty_switch__(c, cp->sw);
}

static void
compile_attach_switch__(struct compiler *c, uint32_t p)
{
    struct cport *cp = &c->ports[p];
    struct cswitch *s = &c->switches[cp->sw];
    cp->sw_pos = (uint32_t) s->n_ports;
    compile_push__(&s->ports, &s->n_ports, &s->cap_ports, p);
    compile_dirty_switch__(c, cp->sw);
}

static void
compile_detach_switch__(struct compiler *c, uint32_t p)
{
    struct cport *cp = &c->ports[p];
    struct cswitch *s = &c->switches[cp->sw];
    uint32_t last = s->ports[--s->n_ports];
    s->ports[cp->sw_pos] = last;
    c->ports[last].sw_pos = cp->sw_pos;
    compile_dirty_switch__(c, cp->sw);
}

static uint32_t
compile_host_id__(struct compiler *c, const struct topo_host *th)
{
    uint32_t id = cmap_find(&c->host_map, th->name);
    struct chost *h;

    if (id == CE_NONE) {
        c->hosts = xgrow(c->hosts, &c->cap_hosts, c->n_hosts + 1,
                         sizeof *c->hosts);
        id = (uint32_t) c->n_hosts++;
        h = &c->hosts[id];
        memset(h, 0, sizeof *h);
        h->name = xstrdup(th->name);
        h->underlay = xstrdup(th->underlay_iface);
        h->dpdk = th->dpdk;
        h->tunnel_ip = th->tunnel_ip;
        h->plen = th->tunnel_plen;
        h->live = true;
        h->delta = CE_NONE;
        cmap_insert(&c->host_map, h->name, id);
        compile_gen_defaults(&c->scratch);
        compile_replace__(c, &h->defaults, CE_NONE, &c->scratch, id);
        struct compile_host_delta *hd = compile_host_delta__(c, id);
        if (hd) {
            hd->host_added = true;
        }
    } else {
        h = &c->hosts[id];
        if (h->tunnel_ip != th->tunnel_ip) {
            h->tunnel_ip = th->tunnel_ip;
            for (size_t i = 0; i < h->n_ports; i++) {
                compile_dirty_switch__(c, c->ports[h->ports[i]].sw);
            }
            compile_config_changed__(c, id);
        }
        if (h->plen != th->tunnel_plen
            || strcmp(h->underlay, th->underlay_iface)) {
            h->plen = th->tunnel_plen;
            free(h->underlay);
            h->underlay = xstrdup(th->underlay_iface);
            compile_config_changed__(c, id);
        }
        if (!topo_dpdk_equal(&h->dpdk, &th->dpdk)) {
            h->dpdk = th->dpdk;
            compile_config_changed__(c, id);
        }
    }
    h->line = th->mark.line;
    h->col = th->mark.col;
    h->seen = true;
    return id;
}

/* A new live switch slot named 'name' (with 'vni'), entered in 'map'. */
static uint32_t
compile_switch_new__(struct compiler *c, struct cmap *map, const char *name,
                     uint32_t vni)
{
    c->switches = xgrow(c->switches, &c->cap_switches, c->n_switches + 1,
                        sizeof *c->switches);
    uint32_t id = (uint32_t) c->n_switches++;
    struct cswitch *s = &c->switches[id];
    memset(s, 0, sizeof *s);
    s->name = xstrdup(name);
    s->vni = vni;
    s->live = true;
    cmap_insert(map, s->name, id);
    return id;
}

/* A switch whose VNI or network changed: its blocks and its ports' flows. */
static void
compile_switch_redo__(struct compiler *c, uint32_t id)
{
    struct cswitch *s = &c->switches[id];
    compile_dirty_switch__(c, id);
    for (size_t i = 0; i < s->n_ports; i++) {
        compile_dirty_port__(c, s->ports[i]);
    }
}

static uint32_t
compile_switch_id__(struct compiler *c, const struct topo_switch *ts)
{
    uint32_t id = cmap_find(&c->switch_map, ts->name);
    struct cswitch *s;

    if (id == CE_NONE) {
        id = compile_switch_new__(c, &c->switch_map, ts->name, ts->vni);
        s = &c->switches[id];
    } else {
        s = &c->switches[id];
        if (s->vni != ts->vni) {
            s->vni = ts->vni;
            compile_switch_redo__(c, id);
        }
    }
    compile_l3_switch_settings(c, id, ts);
    s->line = ts->mark.line;
    s->col = ts->mark.col;
    s->seen = true;
    return id;
}

/* An external network is a switch of its own kind, named in 'ext_map'
 * (its name may equal a switch's).  Its only port is the localnet port. */
static uint32_t
compile_external_id__(struct compiler *c, const struct topo_external *te)
{
    uint32_t id = cmap_find(&c->ext_map, te->name);
    struct cswitch *s;

    if (id == CE_NONE) {
        id = compile_switch_new__(c, &c->ext_map, te->name, te->vni);
        s = &c->switches[id];
        s->net = te->net;
        s->plen = te->plen;
        s->lease_time = 3600;
        s->external = true;
    } else {
        s = &c->switches[id];
        if (s->vni != te->vni || s->net != te->net || s->plen != te->plen) {
            s->vni = te->vni;
            s->net = te->net;
            s->plen = te->plen;
            compile_switch_redo__(c, id);
        }
    }
    /* A change of the provider router shows as a change of the localnet
     * port (its ip and MAC) below. */
    s->gw_ip = te->gateway_ip;
    s->gw_mac_cfg = te->gateway_mac;
    s->line = te->mark.line;
    s->col = te->mark.col;
    s->seen = true;
    return id;
}

static uint32_t
compile_new_port__(struct compiler *c, const struct topo_port *tp)
{
    uint32_t id;
    if (c->n_free_ports) {
        id = c->free_ports[--c->n_free_ports];
    } else {
        c->ports = xgrow(c->ports, &c->cap_ports, c->n_ports + 1,
                         sizeof *c->ports);
        id = (uint32_t) c->n_ports++;
    }
    struct cport *cp = &c->ports[id];
    memset(cp, 0, sizeof *cp);
    cp->name = xstrdup(tp->name);
    cp->iface = xstrdup(tp->iface);
    cp->kind = tp->kind;
    cp->socket = tp->socket ? xstrdup(tp->socket) : NULL;
    cp->vhost_server = tp->vhost_server;
    cp->fl_host = CE_NONE;
    cp->live = true;
    cmap_insert(&c->port_map, cp->name, id);
    return id;
}

/* Chooses numbers for the ports waiting for one, in name order: first the
 * seeded numbers that are free, then hash probing. */
static void
compile_number_pending__(struct compiler *c, const uint32_t *pending,
                         size_t n, const struct compile_result *seed)
{
    for (size_t i = 0; seed && i < n; i++) {
        struct cport *cp = &c->ports[pending[i]];
        struct chost *h = &c->hosts[cp->host];
        const struct compiled_port *sp = compile_seed_port__(seed, h->name,
                                                             cp->name);
        if (sp && sp->ofport >= 1 && sp->ofport <= COMPILE_MAX_OFPORT
            && !compile_taken__(h, sp->ofport)) {
            cp->ofport = sp->ofport;
            compile_taken_set__(h, sp->ofport, true);
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct cport *cp = &c->ports[pending[i]];
        struct chost *h = &c->hosts[cp->host];
        if (!cp->ofport) {
            uint32_t o = (uint32_t) (compile_hash64(cp->name)
                                     % COMPILE_MAX_OFPORT) + 1;
            while (compile_taken__(h, o)) {
                o = o % COMPILE_MAX_OFPORT + 1;
            }
            cp->ofport = o;
        }
        cp->pending = false;
        compile_attach_host__(c, pending[i]);
    }
}

/* --- recomputation ---------------------------------------------------------- */

static int
compile_port_name_cmp__(const void *a_, const void *b_, void *c_)
{
    const struct compiler *c = c_;
    uint32_t a = *(const uint32_t *) a_, b = *(const uint32_t *) b_;
    return strcmp(c->ports[a].name, c->ports[b].name);
}

int
compile_host_name_cmp__(const void *a_, const void *b_, void *c_)
{
    const struct compiler *c = c_;
    uint32_t a = *(const uint32_t *) a_, b = *(const uint32_t *) b_;
    return strcmp(c->hosts[a].name, c->hosts[b].name);
}

static void
compile_flush_switch__(struct compiler *c, uint32_t s)
{
    struct cswitch *sw = &c->switches[s];
    size_t np = sw->n_ports;
    uint32_t *ports = xmalloc((np + 1) * sizeof *ports);
    uint32_t *hosts = xmalloc((np + 1) * sizeof *hosts);
    size_t nh = 0;

    if (np) {
        util_memcpy(ports, sw->ports, np * sizeof *ports);
        util_qsort_r(ports, np, sizeof *ports, compile_port_name_cmp__, c);
    }
    c->stamp++;
    for (size_t i = 0; i < np; i++) {
        struct chost *h = &c->hosts[c->ports[ports[i]].host];
        if (h->stamp != c->stamp) {
            h->stamp = c->stamp;
            hosts[nh++] = c->ports[ports[i]].host;
        }
    }
    util_qsort_r(hosts, nh, sizeof *hosts, compile_host_name_cmp__, c);

    /* The blocks live on the hosts with ports on the switch, or on every
     * host of its router component (compile-l3.c).  Floods go to the
     * hosts with ports only. */
    const uint32_t *span = hosts;
    size_t n_span = nh;
    if (sw->spanned && sw->live) {
        span = sw->span;
        n_span = sw->n_span;
        c->stamp++;
        for (size_t i = 0; i < n_span; i++) {
            c->hosts[span[i]].stamp = c->stamp;
        }
    }

    /* Blocks on hosts the switch left go away. */
    size_t out = 0;
    for (size_t i = 0; i < sw->n_blocks; i++) {
        struct cswitch_block *b = &sw->blocks[i];
        if (c->hosts[b->host].stamp != c->stamp) {
            compile_replace__(c, &b->fl, b->host, NULL, CE_NONE);
            compile_owner_del__(c, b->host, s);
        } else {
            sw->blocks[out++] = *b;
        }
    }
    sw->n_blocks = out;
    for (size_t i = 0; i < n_span; i++) {
        struct cswitch_block *b = NULL;
        for (size_t j = 0; j < sw->n_blocks; j++) {
            if (sw->blocks[j].host == span[i]) {
                b = &sw->blocks[j];
                break;
            }
        }
        uint32_t old_host = span[i];
        if (!b) {
            sw->blocks = xgrow(sw->blocks, &sw->cap_blocks, sw->n_blocks + 1,
                               sizeof *sw->blocks);
            b = &sw->blocks[sw->n_blocks++];
            memset(b, 0, sizeof *b);
            b->host = span[i];
            old_host = CE_NONE;
            compile_owner_add__(c, span[i], s);
        }
        if (sw->external) {
            compile_gw_switch_block(c, sw, span[i], &c->scratch);
        } else {
            compile_gen_switch_block(c, sw, span[i], ports, np, hosts, nh,
                                     &c->scratch);
            if (i == 0) {
                cbuf_reset(&c->scratch_shared);
                compile_l3_switch_extra(c, sw, ports, np, &c->scratch_shared);
            }
            cbuf_append(&c->scratch, c->scratch_shared.p,
                        c->scratch_shared.len);
            c->scratch.n += c->scratch_shared.n;
        }
        compile_replace__(c, &b->fl, old_host, &c->scratch, span[i]);
    }
    free(ports);
    free(hosts);
}

static void
compile_flush__(struct compiler *c)
{
    compile_sg_prepare(c);
    compile_l3_prepare(c);
    for (size_t i = 0; i < c->n_dirty_ports; i++) {
        struct cport *cp = &c->ports[c->dirty_ports[i]];
        cp->dirty = false;
        if (cp->live) {
            if (cp->localnet) {
                compile_gw_gen_port(c, cp, &c->scratch);
            } else {
                compile_gen_port(c, cp, &c->scratch);
            }
            compile_replace__(c, &cp->fl, cp->fl_host, &c->scratch, cp->host);
            cp->fl_host = cp->host;
        } else {
            compile_replace__(c, &cp->fl, cp->fl_host, NULL, CE_NONE);
            cp->fl_host = CE_NONE;
            compile_port_free__(cp);
            memset(cp, 0, sizeof *cp);
            compile_push__(&c->free_ports, &c->n_free_ports,
                           &c->cap_free_ports, c->dirty_ports[i]);
        }
    }
    c->n_dirty_ports = 0;
    for (size_t i = 0; i < c->n_dirty_sw; i++) {
        c->switches[c->dirty_sw[i]].dirty = false;
        compile_flush_switch__(c, c->dirty_sw[i]);
    }
    c->n_dirty_sw = 0;
    compile_l3_flush(c);
}

void
compile_owner_add__(struct compiler *c, uint32_t host, uint32_t owner)
{
    struct chost *h = &c->hosts[host];
    compile_push__(&h->owners, &h->n_owners, &h->cap_owners, owner);
}

void
compile_owner_del__(struct compiler *c, uint32_t host, uint32_t owner)
{
    struct chost *h = &c->hosts[host];
    for (size_t i = 0; i < h->n_owners; i++) {
        if (h->owners[i] == owner) {
            h->owners[i] = h->owners[--h->n_owners];
            return;
        }
    }
}

/* The records of owner 'owner' on host 'id'. */
static const struct cflows *
compile_owner_flows__(const struct compiler *c, uint32_t id, uint32_t owner)
{
    const struct cswitch_block *blocks;
    size_t n;
    if (owner & COMPILE_OWNER_ROUTER) {
        const struct crouter *r = &c->routers[owner & ~COMPILE_OWNER_ROUTER];
        blocks = r->blocks;
        n = r->n_blocks;
    } else {
        blocks = c->switches[owner].blocks;
        n = c->switches[owner].n_blocks;
    }
    for (size_t j = 0; j < n; j++) {
        if (blocks[j].host == id) {
            return &blocks[j].fl;
        }
    }
    return NULL;
}

/* The packet actions of host 'h': the routers' and DHCP's
 * (compile_l3_host_actions()) plus the REJECT actions of security groups
 * when a local port has a reject rule and their LOG action when one has a
 * logged rule, sorted by id. */
static int
compile_action_id_cmp__(const void *a_, const void *b_)
{
    const struct compiled_packet_action *a = a_, *b = b_;
    return a->id < b->id ? -1 : a->id > b->id;
}

static size_t
compile_host_actions__(const struct compiler *c, uint32_t h,
                       struct compiled_packet_action **out)
{
    size_t n = compile_l3_host_actions(c, h, out);
    size_t cap = n, n0 = n;
    compile_sg_host_actions(c, h, out, &n, &cap);
    if (n != n0) {
        util_qsort(*out, n, sizeof **out, compile_action_id_cmp__);
    }
    return n;
}

/* Hosts whose owners were recomputed get their packet actions compared:
 * a change counts as a config change even when no flow changed. */
static void
compile_check_actions__(struct compiler *c)
{
    for (size_t i = 0; i < c->n_touched; i++) {
        struct chost *h = &c->hosts[c->touched[i]];
        h->touched = false;
        if (!h->live) {
            continue;
        }
        struct compiled_packet_action *pa;
        size_t n = compile_host_actions__(c, c->touched[i], &pa);
        uint64_t hash = compile_l3_actions_hash(pa, n);
        for (size_t k = 0; k < n; k++) {
            compiled_packet_action_clear(&pa[k]);
        }
        free(pa);
        if (hash != h->pa_hash) {
            h->pa_hash = hash;
            compile_config_changed__(c, c->touched[i]);
        }
    }
    c->n_touched = 0;
}

/* --- apply -------------------------------------------------------------------- */

/* Starts a batch of changes whose delta goes to 'delta' (may be NULL). */
static void
compile_begin__(struct compiler *c, struct compile_delta *delta)
{
    c->delta = delta;
    c->delta_cap = delta ? delta->n_hosts : 0;
    for (size_t i = 0; i < c->n_hosts; i++) {
        c->hosts[i].delta = CE_NONE;
    }
    compile_prov_invalidate(c);
}

/* Creates or updates port 'tp' on host 'host' in switch 'sw' (ids). */
static void
compile_port_upsert__(struct compiler *c, const struct topo_port *tp,
                      uint32_t host, uint32_t sw)
{
    uint32_t p = cmap_find(&c->port_map, tp->name);
    struct cport *cp;

    if (p == CE_NONE) {
        p = compile_new_port__(c, tp);
        cp = &c->ports[p];
        cp->host = host;
        cp->sw = sw;
        cp->ip = tp->ip;
        cp->mac = tp->mac;
        compile_attach_switch__(c, p);
        cp->pending = true;
        compile_push__(&c->pending, &c->n_pending, &c->cap_pending, p);
    } else {
        cp = &c->ports[p];
        if (cp->host != host) {
            compile_detach_host__(c, p);
            cp->host = host;
            cp->pending = true;
            compile_push__(&c->pending, &c->n_pending, &c->cap_pending, p);
        }
        if (cp->sw != sw) {
            compile_detach_switch__(c, p);
            cp->sw = sw;
            compile_attach_switch__(c, p);
            compile_dirty_port__(c, p);
            compile_config_changed__(c, host);
        }
        if (cp->ip != tp->ip || cp->mac != tp->mac) {
            cp->ip = tp->ip;
            if (cp->mac != tp->mac) {
                cp->mac = tp->mac;
                compile_config_changed__(c, host);
            }
            compile_dirty_port__(c, p);
            compile_dirty_switch__(c, sw);
        }
        if (strcmp(cp->iface, tp->iface)) {
            free(cp->iface);
            cp->iface = xstrdup(tp->iface);
            compile_config_changed__(c, host);
        }
        if (cp->kind != tp->kind || cp->vhost_server != tp->vhost_server
            || strcmp(cp->socket ? cp->socket : "",
                      tp->socket ? tp->socket : "")) {
            cp->kind = tp->kind;
            cp->vhost_server = tp->vhost_server;
            free(cp->socket);
            cp->socket = tp->socket ? xstrdup(tp->socket) : NULL;
            compile_config_changed__(c, host);
        }
    }
    cp->line = tp->mark.line;
    cp->col = tp->mark.col;
    cp->seen = true;
}

static void
compile_port_remove__(struct compiler *c, uint32_t p)
{
    struct cport *cp = &c->ports[p];
    compile_sg_port_forget(c, p);
    compile_detach_host__(c, p);
    compile_detach_switch__(c, p);
    cmap_remove(&c->port_map, cp->name);
    cp->live = false;
}

/* Numbers the ports waiting for one, recomputes what is dirty, frees dead
 * objects and finishes the delta. */
static void
compile_commit__(struct compiler *c, const struct compile_result *seed)
{
    compile_number_pending__(c, c->pending, c->n_pending, seed);
    c->n_pending = 0;
    compile_flush__(c);
    compile_check_actions__(c);
    /* Dead hosts and switches keep their slot; free what they hold.  A
     * dead host's name stays for the delta until here. */
    for (size_t i = 0; c->n_dead && i < c->n_hosts; i++) {
        struct chost *h = &c->hosts[i];
        if (!h->live && h->name) {
            free(h->name);
            free(h->underlay);
            free(h->ports);
            free(h->owners);
            memset(h, 0, sizeof *h);
            h->delta = CE_NONE;
        }
    }
    for (size_t i = 0; c->n_dead && i < c->n_switches; i++) {
        struct cswitch *s = &c->switches[i];
        if (!s->live && s->name) {
            free(s->name);
            free(s->ports);
            free(s->blocks);
            free(s->span);
            free(s->dhcp_routes);
            memset(s, 0, sizeof *s);
        }
    }
    c->n_dead = 0;
    if (c->delta) {
        compile_delta_finish__(c);
        c->delta = NULL;
    }
}

int
compiler_apply(struct compiler *c, const struct topo *t,
               const struct compile_result *seed, struct compile_delta *delta)
{
    long long start = time_msec();
    uint32_t *host_ids = xmalloc((t->n_hosts + 1) * sizeof *host_ids);
    uint32_t *sw_ids = xmalloc((t->n_switches + 1) * sizeof *sw_ids);
    uint32_t *ext_ids = xmalloc((t->n_externals + 1) * sizeof *ext_ids);

    compile_begin__(c, delta);
    for (size_t i = 0; i < c->n_hosts; i++) {
        c->hosts[i].seen = false;
    }
    for (size_t i = 0; i < c->n_switches; i++) {
        c->switches[i].seen = false;
    }
    for (size_t i = 0; i < c->n_ports; i++) {
        c->ports[i].seen = false;
    }
    free(c->file);
    c->file = xstrdup(t->file ? t->file : "");

    for (size_t i = 0; i < t->n_hosts; i++) {
        host_ids[i] = compile_host_id__(c, &t->hosts[i]);
    }
    for (size_t i = 0; i < t->n_switches; i++) {
        sw_ids[i] = compile_switch_id__(c, &t->switches[i]);
    }
    for (size_t i = 0; i < t->n_externals; i++) {
        ext_ids[i] = compile_external_id__(c, &t->externals[i]);
    }
    uint32_t *sg_ids = compile_sg_apply_groups(c, t);

    /* Ports, in name order.  Ports that leave a host free their number
     * before any port new to a host takes one (at commit). */
    for (size_t i = 0; i < t->n_ports; i++) {
        const struct topo_port *tp = &t->ports[i];
        compile_port_upsert__(c, tp, host_ids[tp->host], sw_ids[tp->sw]);
    }
    /* Each external network's localnet port: bound like a workload port
     * on the gateway host; its ip and MAC are the provider router's (the
     * routers' next hop on that network), the MAC configured or learned,
     * 0 while unknown. */
    for (size_t i = 0; i < t->n_externals; i++) {
        const struct topo_external *te = &t->externals[i];
        char *name = xasprintf(COMPILE_LOCALNET_PREFIX "%s", te->name);
        struct topo_port lp = {
            .name = name, .iface = te->iface, .host = te->host,
            .ip = te->gateway_ip,
            .mac = compile_gw_effective_mac(c, te->name, te->gateway_ip,
                                            te->gateway_mac),
            .mark = te->mark,
        };
        compile_port_upsert__(c, &lp, host_ids[te->host], ext_ids[i]);
        c->ports[cmap_find(&c->port_map, name)].localnet = true;
        free(name);
    }
    /* Security groups of the ports (name order, as topo lists them). */
    uint32_t groups[64];
    for (size_t i = 0; i < t->n_ports; i++) {
        const struct topo_port *tp = &t->ports[i];
        size_t n = tp->n_groups < ARRAY_SIZE(groups) ? tp->n_groups
                                                    : ARRAY_SIZE(groups);
        for (size_t k = 0; k < n; k++) {
            groups[k] = sg_ids[tp->groups[k]];
        }
        compile_sg_port_set(c, cmap_find(&c->port_map, tp->name), groups, n);
    }
    for (size_t i = 0; i < c->n_ports; i++) {
        if (c->ports[i].live && !c->ports[i].seen) {
            compile_port_remove__(c, (uint32_t) i);
        }
    }
    compile_sg_finish_apply(c);
    free(sg_ids);

    /* Routers: the ones gone first (they free their ids), then the others
     * in name order. */
    for (size_t i = 0; i < c->n_routers; i++) {
        c->routers[i].seen = false;
    }
    for (size_t i = 0; i < t->n_routers; i++) {
        uint32_t r = cmap_find(&c->router_map, t->routers[i].name);
        if (r != CE_NONE) {
            c->routers[r].seen = true;
        }
    }
    for (size_t i = 0; i < c->n_routers; i++) {
        if (c->routers[i].live && !c->routers[i].seen) {
            compile_l3_router_remove(c, (uint32_t) i);
        }
    }
    for (size_t i = 0; i < t->n_routers; i++) {
        compile_l3_router_upsert(c, t, &t->routers[i], sw_ids, ext_ids);
    }
    compile_nfv_apply(c, t);

    /* Hosts and switches that are gone have no ports left. */
    for (size_t i = 0; i < c->n_hosts; i++) {
        struct chost *h = &c->hosts[i];
        if (h->live && !h->seen) {
            struct compile_host_delta *hd = compile_host_delta__(c,
                                                                 (uint32_t) i);
            if (hd) {
                hd->host_removed = true;
            }
            compile_replace__(c, &h->defaults, (uint32_t) i, NULL, CE_NONE);
            cmap_remove(&c->host_map, h->name);
            h->live = false;
            c->n_dead++;
        }
    }
    for (size_t i = 0; i < c->n_switches; i++) {
        struct cswitch *s = &c->switches[i];
        if (s->live && !s->seen) {
            cmap_remove(s->external ? &c->ext_map : &c->switch_map, s->name);
            s->live = false;
            c->n_dead++;
        }
    }
    compile_commit__(c, seed);
    free(host_ids);
    free(sw_ids);
    free(ext_ids);
    LOG_DBG("applied %zu hosts, %zu switches, %zu ports in %lld ms: "
            "%zu flows", t->n_hosts, t->n_switches, t->n_ports,
            time_msec() - start, c->n_flows);
    return 0;
}

/* --- single-object operations ---------------------------------------------- */

void
compiler_begin(struct compiler *c, struct compile_delta *delta)
{
    compile_begin__(c, delta);
}

int
compiler_port_set(struct compiler *c, const struct topo_port *tp,
                  const char *host, const char *sw)
{
    uint32_t h = cmap_find(&c->host_map, host);
    uint32_t s = cmap_find(&c->switch_map, sw);
    if (h == CE_NONE || s == CE_NONE) {
        return -ENOENT;
    }
    compile_port_upsert__(c, tp, h, s);
    compile_sg_port_set(c, cmap_find(&c->port_map, tp->name), NULL, 0);
    return 0;
}

int
compiler_port_remove(struct compiler *c, const char *name)
{
    uint32_t p = cmap_find(&c->port_map, name);
    if (p == CE_NONE) {
        return -ENOENT;
    }
    if (c->ports[p].pending) {
        return -EBUSY;      /* added or moved in this batch: commit first */
    }
    compile_port_remove__(c, p);
    return 0;
}

void
compiler_commit(struct compiler *c)
{
    compile_commit__(c, NULL);
}

/* --- materialisation ---------------------------------------------------------- */

bool
compiler_host_flows(const struct compiler *c, const char *name,
                    struct flow_set *out)
{
    uint32_t id = cmap_find(&c->host_map, name);
    if (id == CE_NONE) {
        return false;
    }
    const struct chost *h = &c->hosts[id];
    size_t need = out->n + h->defaults.n;
    for (size_t i = 0; i < h->n_ports; i++) {
        need += c->ports[h->ports[i]].fl.n;
    }
    for (size_t i = 0; i < h->n_owners; i++) {
        const struct cflows *fl = compile_owner_flows__(c, id, h->owners[i]);
        need += fl ? fl->n : 0;
    }
    out->flows = xgrow(out->flows, &out->cap, need + 1, sizeof *out->flows);
    cflows_decode(&h->defaults, out);
    for (size_t i = 0; i < h->n_ports; i++) {
        cflows_decode(&c->ports[h->ports[i]].fl, out);
    }
    for (size_t i = 0; i < h->n_owners; i++) {
        const struct cflows *fl = compile_owner_flows__(c, id, h->owners[i]);
        if (fl) {
            cflows_decode(fl, out);
        }
    }
    flow_set_sort(out);
    return true;
}

bool
compiler_host_actions(const struct compiler *c, const char *name,
                      struct compiled_packet_action **out, size_t *n)
{
    uint32_t id = cmap_find(&c->host_map, name);
    if (id == CE_NONE) {
        *out = NULL;
        *n = 0;
        return false;
    }
    *n = compile_host_actions__(c, id, out);
    return true;
}

/* --- light per-host views -------------------------------------------------- */

static int
compile_cport_name_cmp__(const void *a_, const void *b_)
{
    const struct compiled_port *a = a_, *b = b_;
    return strcmp(a->name, b->name);
}

bool
compiler_host_config(const struct compiler *c, const char *name,
                     struct compiled_host *out)
{
    uint32_t id = cmap_find(&c->host_map, name);
    if (id == CE_NONE) {
        return false;
    }
    const struct chost *h = &c->hosts[id];
    memset(out, 0, sizeof *out);
    out->name = xstrdup(h->name);
    out->tunnel_ip = h->tunnel_ip;
    out->tunnel_plen = h->plen;
    out->underlay_iface = xstrdup(h->underlay);
    out->dpdk = h->dpdk;
    out->n_ports = h->n_ports;
    out->ports = xcalloc(h->n_ports + 1, sizeof *out->ports);
    for (size_t i = 0; i < h->n_ports; i++) {
        const struct cport *p = &c->ports[h->ports[i]];
        struct compiled_port *cp = &out->ports[i];
        cp->name = xstrdup(p->name);
        cp->iface = xstrdup(p->iface);
        cp->ofport = p->ofport;
        cp->mac = p->localnet ? 0 : p->mac;
        cp->switch_name = xstrdup(c->switches[p->sw].name);
        cp->kind = p->kind;
        cp->socket = p->socket ? xstrdup(p->socket) : NULL;
        cp->vhost_server = p->vhost_server;
    }
    util_qsort(out->ports, out->n_ports, sizeof *out->ports,
          compile_cport_name_cmp__);
    flow_set_init(&out->flows);
    out->n_actions = compile_host_actions__(c, id, &out->actions);
    out->n_nfv = compile_nfv_host_instances(c, id, &out->nfv);
    return true;
}

void
compiled_host_clear(struct compiled_host *ch)
{
    if (!ch) {
        return;
    }
    for (size_t i = 0; i < ch->n_ports; i++) {
        free(ch->ports[i].name);
        free(ch->ports[i].iface);
        free(ch->ports[i].switch_name);
        free(ch->ports[i].socket);
    }
    free(ch->ports);
    free(ch->name);
    free(ch->underlay_iface);
    flow_set_destroy(&ch->flows);
    for (size_t i = 0; i < ch->n_actions; i++) {
        compiled_packet_action_clear(&ch->actions[i]);
    }
    free(ch->actions);
    for (size_t i = 0; i < ch->n_nfv; i++) {
        compiled_nfv_clear(&ch->nfv[i]);
    }
    free(ch->nfv);
    memset(ch, 0, sizeof *ch);
}

size_t
compiler_host_n_flows(const struct compiler *c, const char *name)
{
    uint32_t id = cmap_find(&c->host_map, name);
    if (id == CE_NONE) {
        return 0;
    }
    const struct chost *h = &c->hosts[id];
    size_t n = h->defaults.n;
    for (size_t i = 0; i < h->n_ports; i++) {
        n += c->ports[h->ports[i]].fl.n;
    }
    for (size_t i = 0; i < h->n_owners; i++) {
        const struct cflows *fl = compile_owner_flows__(c, id, h->owners[i]);
        n += fl ? fl->n : 0;
    }
    return n;
}
