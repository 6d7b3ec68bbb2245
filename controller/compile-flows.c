/* compile-flows.c — the flows of each object (docs/pipeline.md) and their
 * compact encoding.
 *
 * Generators build ordinary struct flow values (the same code the compiler
 * always had) and encode each into a packed record at once: LEB128 varints
 * for every integer, a mask only when it is not the field's full mask.  A
 * record is typically 30-60 bytes where a struct flow is ~330 bytes plus
 * its heap action list.  Encoding is canonical (match fields are sorted by
 * id), so two records are the same flow exactly when their bytes are equal.
 */
#include "controller/compile-private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define COMPILE_ETH_MCAST 0x010000000000ULL
#define COMPILE_ETH_TYPE_IP 0x0800
#define COMPILE_ETH_TYPE_ARP 0x0806

/* --- name maps ------------------------------------------------------------ */

uint32_t
cmap_find(const struct cmap *m, const char *name)
{
    if (!m->cap) {
        return CE_NONE;
    }
    uint32_t h = hash_str(name);
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const struct cmap_slot *s = &m->slots[i];
        if (!s->name) {
            return CE_NONE;
        }
        if (s->hash == h && !strcmp(s->name, name)) {
            return s->id;
        }
    }
}

static void
cmap_put__(struct cmap *m, uint32_t h, const char *name, uint32_t id)
{
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i].name) {
            m->slots[i] = (struct cmap_slot) { h, id, name };
            m->n++;
            return;
        }
    }
}

void
cmap_insert(struct cmap *m, const char *name, uint32_t id)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct cmap old = *m;
        m->cap = old.cap ? old.cap * 2 : 64;
        m->slots = xcalloc(m->cap, sizeof *m->slots);
        m->n = 0;
        for (size_t i = 0; i < old.cap; i++) {
            if (old.slots[i].name) {
                cmap_put__(m, old.slots[i].hash, old.slots[i].name,
                           old.slots[i].id);
            }
        }
        free(old.slots);
    }
    cmap_put__(m, hash_str(name), name, id);
}

/* Deletes with backward shifting so that probes never need tombstones. */
void
cmap_remove(struct cmap *m, const char *name)
{
    if (!m->cap) {
        return;
    }
    size_t mask = m->cap - 1;
    uint32_t h = hash_str(name);
    size_t i = h & mask;
    for (;; i = (i + 1) & mask) {
        if (!m->slots[i].name) {
            return;
        }
        if (m->slots[i].hash == h && !strcmp(m->slots[i].name, name)) {
            break;
        }
    }
    for (size_t j = (i + 1) & mask; m->slots[j].name; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        /* Move j into the hole at i unless its home lies in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].name = NULL;
    m->n--;
}

void
cmap_destroy(struct cmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* --- cookies ---------------------------------------------------------------- */

uint64_t
compile_hash64(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (uint8_t) *s;
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t
compile_cookie(unsigned int kind, unsigned int rule, const char *name)
{
    return (uint64_t) kind << 56 | (uint64_t) (rule & 0xff) << 48
           | (compile_hash64(name) & 0xffffffffffffULL);
}

/* --- encoding ----------------------------------------------------------------- */

static void
cbuf_reserve__(struct cbuf *b, size_t more)
{
    if (b->len + more > b->cap) {
        b->p = xgrow(b->p, &b->cap, b->len + more, 1);
    }
}

static void
cbuf_varint__(struct cbuf *b, uint64_t v)
{
    while (v >= 0x80) {
        b->p[b->len++] = (uint8_t) (v | 0x80);
        v >>= 7;
    }
    b->p[b->len++] = (uint8_t) v;
}

static uint64_t
cflows_varint__(const uint8_t **pp)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    unsigned int shift = 0;
    while (*p & 0x80) {
        v |= (uint64_t) (*p++ & 0x7f) << shift;
        shift += 7;
    }
    v |= (uint64_t) *p++ << shift;
    *pp = p;
    return v;
}

void
cbuf_reset(struct cbuf *b)
{
    b->len = 0;
    b->n = 0;
}

void
cbuf_add_flow(struct cbuf *b, const struct flow *f)
{
    /* Worst case: header 6 + table, priority, field count 4 + cookie 8 +
     * action count varint 3 = 21; per field 1 + 1 + 10 + 10; per action
     * 2 + 5 + 10. */
    cbuf_reserve__(b, 24 + 22 * (size_t) f->match.n + 17 * (size_t) f->n_actions);
    size_t start = b->len;
    b->len += 6;
    b->p[b->len++] = f->table;
    b->p[b->len++] = (uint8_t) (f->priority >> 8);
    b->p[b->len++] = (uint8_t) f->priority;
    b->p[b->len++] = f->match.n;
    for (size_t i = 0; i < f->match.n; i++) {
        const struct flow_field *ff = &f->match.f[i];
        bool full = ff->mask == flow_field_full_mask(ff->id);
        b->p[b->len++] = ff->id;
        b->p[b->len++] = full ? 0 : 1;
        cbuf_varint__(b, ff->value);
        if (!full) {
            cbuf_varint__(b, ff->mask);
        }
    }
    uint32_t klen = (uint32_t) (b->len - start - 6);
    util_memcpy(b->p + b->len, &f->cookie, 8);
    b->len += 8;
    cbuf_varint__(b, f->n_actions);
    for (size_t i = 0; i < f->n_actions; i++) {
        const struct flow_action *a = &f->actions[i];
        b->p[b->len++] = a->type;
        b->p[b->len++] = a->field;
        cbuf_varint__(b, a->arg);
        cbuf_varint__(b, a->value);
    }
    uint32_t total = (uint32_t) (b->len - start);
    util_memcpy(b->p + start, &total, 4);
    b->p[start + 4] = (uint8_t) klen;
    b->p[start + 5] = (uint8_t) (klen >> 8);
    b->n++;
}

void
cflows_set(struct cflows *c, const struct cbuf *b)
{
    free(c->buf);
    c->buf = b->len ? xmalloc(b->len) : NULL;
    if (b->len) {
        util_memcpy(c->buf, b->p, b->len);
    }
    c->len = (uint32_t) b->len;
    c->n = b->n;
}

void
cflows_clear(struct cflows *c)
{
    free(c->buf);
    memset(c, 0, sizeof *c);
}

bool
cflows_equal(const struct cflows *a, const struct cflows *b)
{
    return a->len == b->len && a->n == b->n
           && (!a->len || !memcmp(a->buf, b->buf, a->len));
}

void
crec_decode(const uint8_t *rec, struct flow_set *out)
{
    const uint8_t *p = rec + 6;
    struct flow f;
    uint8_t table = *p++;
    uint16_t prio = (uint16_t) (p[0] << 8 | p[1]);
    p += 2;
    uint8_t nf = *p++;
    flow_init(&f, table, prio, 0);
    f.match.n = nf;
    for (size_t i = 0; i < nf; i++) {
        struct flow_field *ff = &f.match.f[i];
        ff->id = *p++;
        bool masked = *p++;
        ff->value = cflows_varint__(&p);
        ff->mask = masked ? cflows_varint__(&p)
                          : flow_field_full_mask(ff->id);
    }
    util_memcpy(&f.cookie, p, 8);
    p += 8;
    uint64_t na = cflows_varint__(&p);
    flow_alloc_actions(&f, na);
    for (size_t i = 0; i < na; i++) {
        struct flow_action *a = &f.actions[i];
        a->type = *p++;
        a->field = *p++;
        a->arg = (uint32_t) cflows_varint__(&p);
        a->value = cflows_varint__(&p);
    }
    f.n_actions = (uint16_t) na;
    flow_set_take(out, &f);
}

void
cflows_decode(const struct cflows *c, struct flow_set *out)
{
    const uint8_t *p = c->buf, *end = c->buf + c->len;
    while (p < end) {
        crec_decode(p, out);
        p += crec_len(p);
    }
}

size_t
cflows_index(const struct cflows *c, const uint8_t ***v, size_t *cap)
{
    const uint8_t *p = c->buf, *end = c->buf + c->len;
    size_t n = 0;
    *v = xgrow(*v, cap, (size_t) c->n + 1, sizeof **v);
    for (; p < end && n < c->n; p += crec_len(p)) {
        (*v)[n++] = p;
    }
    return n;
}

uint32_t
crec_len(const uint8_t *rec)
{
    uint32_t total;
    util_memcpy(&total, rec, 4);
    return total;
}

static uint32_t
crec_klen__(const uint8_t *rec)
{
    return (uint32_t) rec[4] | (uint32_t) rec[5] << 8;
}

/* Encoding is canonical (fields sorted by id, a mask only when it is not
 * the full one), so equal key bytes mean equal keys and vice versa. */
int
crec_key_cmp(const uint8_t *a, const uint8_t *b)
{
    uint32_t ka = crec_klen__(a), kb = crec_klen__(b);
    if (ka != kb) {
        return ka < kb ? -1 : 1;
    }
    return memcmp(a + 6, b + 6, ka);
}

int
crec_cmp(const uint8_t *a, const uint8_t *b)
{
    int c = crec_key_cmp(a, b);
    if (c) {
        return c;
    }
    uint32_t la = crec_len(a), lb = crec_len(b);
    if (la != lb) {
        return la < lb ? -1 : 1;
    }
    return memcmp(a, b, la);
}

void
cbuf_append(struct cbuf *b, const void *p, size_t n)
{
    cbuf_reserve__(b, n);
    util_memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* --- generators ------------------------------------------------------------- */

void
compile_match__(struct flow *f, unsigned int id, uint64_t value, uint64_t mask)
{
    /* The pipeline never uses more than a handful of fields or unknown
     * ones, so a failure here is a bug in this file. */
    if (flow_match_set(&f->match, id, value, mask)) {
        abort();
    }
}

void
compile_emit__(struct cbuf *out, struct flow *f)
{
    cbuf_add_flow(out, f);
    flow_destroy(f);
}

void
compile_gen_defaults(struct cbuf *out)
{
    /* Drops, except in the ACL entry tables 20 and 60: traffic of ports
     * without security groups passes on to L2 and output. */
    static const uint8_t tables[] = { TBL_CLASSIFY, TBL_PORT_SEC,
                                      TBL_ACL_IN, TBL_ACL_IN_RULES, TBL_L2,
                                      TBL_ACL_OUT, TBL_ACL_OUT_RULES,
                                      TBL_OUTPUT };
    cbuf_reset(out);
    for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
        struct flow f;
        flow_init(&f, tables[i], 0,
                  compile_cookie(COMPILE_KIND_PIPELINE, tables[i],
                                 COMPILE_PIPELINE_NAME));
        if (tables[i] == TBL_ACL_IN) {
            flow_resubmit(&f, TBL_L2);
        } else if (tables[i] == TBL_ACL_OUT) {
            flow_resubmit(&f, TBL_OUTPUT);
        }
        compile_emit__(out, &f);
    }
}

static void
compile_tunnel_to__(struct flow *f, uint32_t vni, uint32_t ip)
{
    flow_set_field(f, FF_TUN_ID, vni);
    flow_set_field(f, FF_TUN_DST, ip);
    flow_output(f, COMPILE_TUNNEL_OFPORT);
}

/* Flows of a port on its own host in tables 0, 10 and 70. */
void
compile_gen_port(const struct compiler *c, const struct cport *tp,
                 struct cbuf *out)
{
    uint32_t vni = c->switches[tp->sw].vni;
    uint32_t o = tp->ofport;
    struct flow f;

    cbuf_reset(out);
    flow_init(&f, TBL_CLASSIFY, 100,
              compile_cookie(COMPILE_KIND_PORT, COMPILE_PORT_CLASSIFY,
                             tp->name));
    compile_match__(&f, FF_IN_PORT, o, 0);
    flow_set_field(&f, FF_METADATA, vni);
    flow_set_field(&f, FF_REG14, o);
    flow_resubmit(&f, TBL_PORT_SEC);
    compile_emit__(out, &f);

    if (tp->ip) {
        flow_init(&f, TBL_PORT_SEC, 100,
                  compile_cookie(COMPILE_KIND_PORT, COMPILE_PORT_SEC_IP,
                                 tp->name));
        compile_match__(&f, FF_REG14, o, 0);
        compile_match__(&f, FF_ETH_SRC, tp->mac, 0);
        compile_match__(&f, FF_ETH_TYPE, COMPILE_ETH_TYPE_IP, 0);
        compile_match__(&f, FF_IPV4_SRC, tp->ip, 0);
        flow_resubmit(&f, TBL_ACL_IN);
        compile_emit__(out, &f);

        flow_init(&f, TBL_PORT_SEC, 100,
                  compile_cookie(COMPILE_KIND_PORT, COMPILE_PORT_SEC_ARP,
                                 tp->name));
        compile_match__(&f, FF_REG14, o, 0);
        compile_match__(&f, FF_ETH_SRC, tp->mac, 0);
        compile_match__(&f, FF_ETH_TYPE, COMPILE_ETH_TYPE_ARP, 0);
        compile_match__(&f, FF_ARP_SHA, tp->mac, 0);
        compile_match__(&f, FF_ARP_SPA, tp->ip, 0);
        flow_resubmit(&f, TBL_ACL_IN);
        compile_emit__(out, &f);
    } else {
        flow_init(&f, TBL_PORT_SEC, 90,
                  compile_cookie(COMPILE_KIND_PORT, COMPILE_PORT_SEC_MAC,
                                 tp->name));
        compile_match__(&f, FF_REG14, o, 0);
        compile_match__(&f, FF_ETH_SRC, tp->mac, 0);
        flow_resubmit(&f, TBL_ACL_IN);
        compile_emit__(out, &f);
    }

    flow_init(&f, TBL_OUTPUT, 100,
              compile_cookie(COMPILE_KIND_PORT, COMPILE_PORT_OUTPUT,
                             tp->name));
    compile_match__(&f, FF_REG15, o, 0);
    flow_output(&f, o);
    compile_emit__(out, &f);
    compile_l3_port_extra(c, tp, out);
    compile_sg_gen_port(c, tp, out);
}

/* A flood's copy for local port 'tq': straight out, or, when security
 * groups filter the port, through its ingress ACL (table 60, which ends in
 * table 70's output).  Its conntrack forks the copy (ct(table=61)), so the
 * flood goes on with the next port. */
static void
compile_flood_to__(struct flow *f, const struct cport *tq)
{
    if (compile_port_filtered(tq)) {
        flow_set_field(f, FF_REG15, tq->ofport);
        flow_resubmit(f, TBL_ACL_OUT);
    } else {
        flow_output(f, tq->ofport);
    }
}

/* Flows of switch 'sw' on host 'h' (which has ports on it): tunnel
 * classification, L2 for every port of the switch, and flooding. */
void
compile_gen_switch_block(const struct compiler *c, const struct cswitch *sw,
                         uint32_t h, const uint32_t *ports, size_t n_ports,
                         const uint32_t *hosts, size_t n_hosts,
                         struct cbuf *out)
{
    struct flow f, fl, ft;

    cbuf_reset(out);
    flow_init(&f, TBL_CLASSIFY, 100,
              compile_cookie(COMPILE_KIND_SWITCH, COMPILE_SWITCH_TUNNEL_IN,
                             sw->name));
    compile_match__(&f, FF_IN_PORT, COMPILE_TUNNEL_OFPORT, 0);
    compile_match__(&f, FF_TUN_ID, sw->vni, 0);
    flow_set_field(&f, FF_METADATA, sw->vni);
    flow_set_field(&f, FF_REG13, 1);
    flow_resubmit(&f, TBL_L2);
    compile_emit__(out, &f);

    /* Flooding: from a local port to local ports and every other host of
     * the switch; from a tunnel to local ports only. */
    flow_init(&fl, TBL_L2, 100,
              compile_cookie(COMPILE_KIND_SWITCH, COMPILE_SWITCH_FLOOD_LOCAL,
                             sw->name));
    compile_match__(&fl, FF_METADATA, sw->vni, 0);
    compile_match__(&fl, FF_ETH_DST, COMPILE_ETH_MCAST, COMPILE_ETH_MCAST);
    compile_match__(&fl, FF_REG13, 0, 0);
    flow_init(&ft, TBL_L2, 100,
              compile_cookie(COMPILE_KIND_SWITCH, COMPILE_SWITCH_FLOOD_TUNNEL,
                             sw->name));
    compile_match__(&ft, FF_METADATA, sw->vni, 0);
    compile_match__(&ft, FF_ETH_DST, COMPILE_ETH_MCAST, COMPILE_ETH_MCAST);
    compile_match__(&ft, FF_REG13, 1, 0);

    for (size_t i = 0; i < n_ports; i++) {
        const struct cport *tq = &c->ports[ports[i]];
        bool local = tq->host == h;

        flow_init(&f, TBL_L2, 100,
                  compile_cookie(COMPILE_KIND_PORT,
                                 local ? COMPILE_PORT_L2_LOCAL
                                       : COMPILE_PORT_L2_REMOTE, tq->name));
        compile_match__(&f, FF_METADATA, sw->vni, 0);
        compile_match__(&f, FF_ETH_DST, tq->mac, 0);
        if (local) {
            flow_set_field(&f, FF_REG15, tq->ofport);
            flow_resubmit(&f, TBL_ACL_OUT);
            compile_flood_to__(&fl, tq);
            compile_flood_to__(&ft, tq);
        } else {
            /* Never send back into the overlay what came from it. */
            compile_match__(&f, FF_REG13, 0, 0);
            compile_tunnel_to__(&f, sw->vni, c->hosts[tq->host].tunnel_ip);
        }
        compile_emit__(out, &f);
    }
    for (size_t i = 0; i < n_hosts; i++) {
        if (hosts[i] != h) {
            compile_tunnel_to__(&fl, sw->vni, c->hosts[hosts[i]].tunnel_ip);
        }
    }
    compile_emit__(out, &fl);
    compile_emit__(out, &ft);
    /* The switch's ARP answers (compile_l3_switch_extra) are the same on
     * every host: the engine encodes them once and appends them. */
}
