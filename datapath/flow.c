/* flow.c — see flow.h. */
#include "datapath/flow.h"
#include "lib/addr.h"
#include "lib/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct flow_field_info flow_fields__[FF_N_FIELDS] = {
#define FLOW_FIELD_INFO__(E, ID, NAME, CLS, FLD, W, M) \
    [ID] = { NAME, CLS, FLD, W, M },
    FLOW_FIELDS(FLOW_FIELD_INFO__)
#undef FLOW_FIELD_INFO__
};

static const char *const flow_action_names__[FA_N_TYPES] = {
#define FLOW_ACTION_NAME__(E, ID, NAME) [ID] = NAME,
    FLOW_ACTIONS(FLOW_ACTION_NAME__)
#undef FLOW_ACTION_NAME__
};

const struct flow_field_info *
flow_field_info(unsigned int id)
{
    return id < FF_N_FIELDS && flow_fields__[id].name ? &flow_fields__[id]
                                                      : NULL;
}

int
flow_field_by_name(const char *name)
{
    for (unsigned int i = 0; i < FF_N_FIELDS; i++) {
        if (flow_fields__[i].name && !strcmp(flow_fields__[i].name, name)) {
            return i;
        }
    }
    return -1;
}

uint64_t
flow_field_full_mask(unsigned int id)
{
    const struct flow_field_info *fi = flow_field_info(id);
    if (!fi) {
        return 0;
    }
    return fi->width >= 8 ? UINT64_MAX : (1ULL << (fi->width * 8)) - 1;
}

const char *
flow_action_name(unsigned int type)
{
    return type < FA_N_TYPES ? flow_action_names__[type] : NULL;
}

int
flow_match_set(struct flow_match *m, unsigned int id, uint64_t value,
               uint64_t mask)
{
    uint64_t full = flow_field_full_mask(id);
    size_t i;

    if (!full) {
        return -EINVAL;
    }
    mask = mask ? mask & full : full;
    for (i = 0; i < m->n && m->f[i].id < id; i++) {
        continue;
    }
    if (i < m->n && m->f[i].id == id) {
        m->f[i].value = value & mask;
        m->f[i].mask = mask;
        return 0;
    }
    if (m->n >= FLOW_MAX_FIELDS) {
        return -E2BIG;
    }
    memmove(&m->f[i + 1], &m->f[i], (m->n - i) * sizeof m->f[0]);
    m->f[i] = (struct flow_field) { .id = id, .value = value & mask,
                                    .mask = mask };
    m->n++;
    return 0;
}

const struct flow_field *
flow_match_get(const struct flow_match *m, unsigned int id)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->f[i].id == id) {
            return &m->f[i];
        }
    }
    return NULL;
}

void
flow_init(struct flow *f, uint8_t table, uint16_t priority, uint64_t cookie)
{
    memset(f, 0, sizeof *f);
    f->table = table;
    f->priority = priority;
    f->cookie = cookie;
}

/* Capacity of an action list of 'n' actions: 0, else the power of two of
 * at least 4 that holds 'n'.  Action lists are short and most have one to
 * four actions, which so take one allocation; the capacity follows from
 * n_actions alone, so no field is spent on it. */
static size_t
flow_actions_cap__(size_t n)
{
    size_t cap = 4;
    if (!n) {
        return 0;
    }
    while (cap < n) {
        cap *= 2;
    }
    return cap;
}

void
flow_alloc_actions(struct flow *f, size_t n)
{
    free(f->actions);
    f->actions = n ? xmalloc(flow_actions_cap__(n) * sizeof *f->actions)
                   : NULL;
}

void
flow_add_action(struct flow *f, uint8_t type, uint8_t field, uint32_t arg,
                uint64_t value)
{
    size_t n = f->n_actions;
    if (flow_actions_cap__(n) == n) {
        f->actions = xrealloc(f->actions,
                              flow_actions_cap__(n + 1) * sizeof *f->actions);
    }
    f->actions[n] = (struct flow_action) { .type = type, .field = field,
                                           .arg = arg, .value = value };
    f->n_actions++;
}

void
flow_destroy(struct flow *f)
{
    if (f) {
        free(f->actions);
        f->actions = NULL;
        f->n_actions = 0;
    }
}

void
flow_clone(struct flow *dst, const struct flow *src)
{
    *dst = *src;
    dst->actions = NULL;
    if (src->n_actions) {
        size_t n = src->n_actions;
        dst->actions = xmalloc(flow_actions_cap__(n) * sizeof *dst->actions);
        memcpy(dst->actions, src->actions, n * sizeof *dst->actions);
    }
}

static int
u64_cmp__(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

int
flow_key_cmp(const struct flow *a, const struct flow *b)
{
    if (a->table != b->table) {
        return a->table < b->table ? -1 : 1;
    }
    if (a->priority != b->priority) {
        return a->priority > b->priority ? -1 : 1;
    }
    if (a->match.n != b->match.n) {
        return a->match.n < b->match.n ? -1 : 1;
    }
    for (size_t i = 0; i < a->match.n; i++) {
        const struct flow_field *x = &a->match.f[i], *y = &b->match.f[i];
        int c = u64_cmp__(x->id, y->id);
        if (!c) {
            c = u64_cmp__(x->value, y->value);
        }
        if (!c) {
            c = u64_cmp__(x->mask, y->mask);
        }
        if (c) {
            return c;
        }
    }
    return 0;
}

bool
flow_actions_equal(const struct flow *a, const struct flow *b)
{
    if (a->n_actions != b->n_actions) {
        return false;
    }
    for (size_t i = 0; i < a->n_actions; i++) {
        const struct flow_action *x = &a->actions[i], *y = &b->actions[i];
        if (x->type != y->type || x->field != y->field || x->arg != y->arg
            || x->value != y->value) {
            return false;
        }
    }
    return true;
}

bool
flow_equal(const struct flow *a, const struct flow *b)
{
    return !flow_key_cmp(a, b) && a->cookie == b->cookie
           && flow_actions_equal(a, b);
}

uint32_t
flow_key_hash(const struct flow *f)
{
    uint32_t h = hash_bytes(&f->table, sizeof f->table, 0);
    h = hash_bytes(&f->priority, sizeof f->priority, h);
    for (size_t i = 0; i < f->match.n; i++) {
        h = hash_bytes(&f->match.f[i].id, 1, h);
        h = hash_bytes(&f->match.f[i].value, 8, h);
        h = hash_bytes(&f->match.f[i].mask, 8, h);
    }
    return h;
}

/* --- text ------------------------------------------------------------- */

struct strbuf__ {
    char *s;
    size_t len, cap;
};

static void
sb_printf__(struct strbuf__ *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf__(struct strbuf__ *sb, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = sb->cap - sb->len;
        va_start(ap, fmt);
        int n = vsnprintf(sb->s ? sb->s + sb->len : NULL, room, fmt, ap);
        va_end(ap);
        if ((size_t) n < room) {
            sb->len += n;
            return;
        }
        sb->s = xgrow(sb->s, &sb->cap, sb->len + n + 1, 1);
    }
}

static void
format_value__(struct strbuf__ *sb, unsigned int id, uint64_t v)
{
    char buf[ETH_ADDR_STRLEN];
    switch (id) {
    case FF_ETH_DST: case FF_ETH_SRC: case FF_ARP_SHA: case FF_ARP_THA:
        eth_format(v, buf);
        sb_printf__(sb, "%s", buf);
        break;
    case FF_IPV4_SRC: case FF_IPV4_DST: case FF_ARP_SPA: case FF_ARP_TPA:
    case FF_TUN_SRC: case FF_TUN_DST:
        ip4_format((uint32_t) v, buf);
        sb_printf__(sb, "%s", buf);
        break;
    case FF_IN_PORT: case FF_IP_PROTO: case FF_ICMP_TYPE: case FF_ICMP_CODE:
    case FF_ARP_OP: case FF_TCP_SRC: case FF_TCP_DST: case FF_UDP_SRC:
    case FF_UDP_DST: case FF_CT_ZONE: case FF_IP_TTL: case FF_CONJ_ID:
        sb_printf__(sb, "%" PRIu64, v);
        break;
    default:
        sb_printf__(sb, "0x%" PRIx64, v);
        break;
    }
}

static void
format_match__(struct strbuf__ *sb, const struct flow_match *m)
{
    for (size_t i = 0; i < m->n; i++) {
        const struct flow_field *ff = &m->f[i];
        sb_printf__(sb, "%s%s=", i ? "," : "", flow_field_info(ff->id)->name);
        format_value__(sb, ff->id, ff->value);
        if (ff->mask != flow_field_full_mask(ff->id)) {
            sb_printf__(sb, "/");
            format_value__(sb, ff->id, ff->mask);
        }
    }
}

static void
format_port__(struct strbuf__ *sb, uint32_t port)
{
    switch (port) {
    case OFPP_IN_PORT: sb_printf__(sb, "IN_PORT"); break;
    case OFPP_NORMAL: sb_printf__(sb, "NORMAL"); break;
    case OFPP_FLOOD: sb_printf__(sb, "FLOOD"); break;
    case OFPP_CONTROLLER: sb_printf__(sb, "CONTROLLER"); break;
    case OFPP_LOCAL: sb_printf__(sb, "LOCAL"); break;
    default: sb_printf__(sb, "%" PRIu32, port); break;
    }
}

/* A nat as OVS prints it: "nat", "nat(src)", "nat(dst=10.1.0.11:80)",
 * "nat(src=1.2.3.4:1000-2000)". */
static void
format_nat__(struct strbuf__ *sb, const struct flow_action *a)
{
    uint16_t pmin = a->value >> 16, pmax = a->value & 0xffff;

    sb_printf__(sb, "nat");
    if (!(a->field & 3)) {
        return;
    }
    sb_printf__(sb, "(%s", a->field & 1 ? "src" : "dst");
    if (a->arg) {
        sb_printf__(sb, "=%" PRIu32 ".%" PRIu32 ".%" PRIu32 ".%" PRIu32,
                    a->arg >> 24, (a->arg >> 16) & 0xff, (a->arg >> 8) & 0xff,
                    a->arg & 0xff);
        if (pmin) {
            sb_printf__(sb, ":%u", pmin);
        }
        if (pmax && pmax != pmin) {
            sb_printf__(sb, "-%u", pmax);
        }
    }
    sb_printf__(sb, ")");
}

static void
format_actions__(struct strbuf__ *sb, const struct flow *f)
{
    if (!f->n_actions) {
        sb_printf__(sb, "drop");
        return;
    }
    for (size_t i = 0; i < f->n_actions; i++) {
        const struct flow_action *a = &f->actions[i];
        const struct flow_field_info *fi;
        if (i) {
            sb_printf__(sb, ",");
        }
        switch (a->type) {
        case FA_OUTPUT:
            sb_printf__(sb, "output:");
            format_port__(sb, a->arg);
            break;
        case FA_SET_FIELD:
            fi = flow_field_info(a->field);
            sb_printf__(sb, "set_field:");
            format_value__(sb, a->field, a->value);
            sb_printf__(sb, "->%s", fi ? fi->name : "?");
            break;
        case FA_RESUBMIT:
            sb_printf__(sb, "resubmit(,%" PRIu32 ")", a->arg);
            break;
        case FA_DEC_TTL:
            sb_printf__(sb, "dec_ttl");
            break;
        case FA_CONTROLLER:
            sb_printf__(sb, "controller(userdata=%04" PRIx64 ")", a->value);
            break;
        case FA_CT:
            /* OVS's order: commit, table, zone, then the nested nat. */
            sb_printf__(sb, "ct(%s", a->field & 1 ? "commit," : "");
            if (a->value != 0xff) {
                sb_printf__(sb, "table=%" PRIu64 ",", a->value);
            }
            sb_printf__(sb, "zone=%" PRIu32, a->arg);
            if (i + 1 < f->n_actions && a[1].type == FA_NAT) {
                sb_printf__(sb, ",");
                format_nat__(sb, &a[1]);
                i++;
            }
            sb_printf__(sb, ")");
            break;
        case FA_NAT:
            /* Not nested in a ct: the codec refuses it, but show it. */
            format_nat__(sb, a);
            break;
        case FA_MOVE:
            fi = flow_field_info(a->field);
            sb_printf__(sb, "move:%s->%s", fi ? fi->name : "?",
                        flow_field_info(a->arg) ? flow_field_info(a->arg)->name
                                                : "?");
            break;
        case FA_CONJUNCTION:
            sb_printf__(sb, "conjunction(%" PRIu32 ",%u/%" PRIu64 ")", a->arg,
                        a->field, a->value);
            break;
        default:
            sb_printf__(sb, "unknown(%u)", a->type);
            break;
        }
    }
}

char *
flow_format_match(const struct flow_match *m)
{
    struct strbuf__ sb = { 0 };
    sb_printf__(&sb, "%s", "");
    format_match__(&sb, m);
    return sb.s;
}

char *
flow_format_actions(const struct flow *f)
{
    struct strbuf__ sb = { 0 };
    format_actions__(&sb, f);
    return sb.s;
}

char *
flow_format(const struct flow *f)
{
    struct strbuf__ sb = { 0 };
    sb_printf__(&sb, "cookie=0x%" PRIx64 ", table=%u, priority=%u",
                f->cookie, f->table, f->priority);
    if (f->match.n) {
        sb_printf__(&sb, ",");
        format_match__(&sb, &f->match);
    }
    sb_printf__(&sb, " actions=");
    format_actions__(&sb, f);
    return sb.s;
}

/* --- sets ------------------------------------------------------------- */

void
flow_set_init(struct flow_set *s)
{
    memset(s, 0, sizeof *s);
}

void
flow_set_destroy(struct flow_set *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        flow_destroy(&s->flows[i]);
    }
    free(s->flows);
    memset(s, 0, sizeof *s);
}

void
flow_set_take(struct flow_set *s, struct flow *f)
{
    s->flows = xgrow(s->flows, &s->cap, s->n + 1, sizeof *s->flows);
    s->flows[s->n++] = *f;
    f->actions = NULL;
    f->n_actions = 0;
}

static int
flow_qsort_cmp__(const void *a, const void *b)
{
    return flow_key_cmp(a, b);
}

void
flow_set_sort(struct flow_set *s)
{
    if (s->n < 2) {
        return;
    }
    qsort(s->flows, s->n, sizeof *s->flows, flow_qsort_cmp__);
    /* Remove duplicate keys, keeping the last of each run. */
    size_t out = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (i + 1 < s->n && !flow_key_cmp(&s->flows[i], &s->flows[i + 1])) {
            flow_destroy(&s->flows[i]);
            continue;
        }
        s->flows[out++] = s->flows[i];
    }
    s->n = out;
}

void
flow_set_diff(const struct flow_set *o, const struct flow_set *n,
              flow_diff_cb *cb, void *aux)
{
    size_t i = 0, j = 0;
    while (i < o->n || j < n->n) {
        int c = i >= o->n ? 1 : j >= n->n ? -1
                : flow_key_cmp(&o->flows[i], &n->flows[j]);
        if (c < 0) {
            cb(aux, &o->flows[i++], NULL);
        } else if (c > 0) {
            cb(aux, NULL, &n->flows[j++]);
        } else {
            if (!flow_equal(&o->flows[i], &n->flows[j])) {
                cb(aux, &o->flows[i], &n->flows[j]);
            }
            i++;
            j++;
        }
    }
}

bool
flow_set_equal(const struct flow_set *a, const struct flow_set *b)
{
    if (a->n != b->n) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (!flow_equal(&a->flows[i], &b->flows[i])) {
            return false;
        }
    }
    return true;
}
