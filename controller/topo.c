/* topo.c — loading, validating and resolving the topology YAML (topo.h).
 *
 * The loader works in three steps over libyaml's document (node tree, every
 * node with its start mark):
 *
 *   1. shape: the root and every list item are mappings with known keys and
 *      scalar values; each object becomes a "raw" record holding the value
 *      node of each key (so that any later error can point at it);
 *   2. values and cross references: names, addresses, ranges, uniqueness,
 *      host/switch references, CIDR membership — every check runs on every
 *      object it can, so that one pass reports all problems;
 *   3. only when there was no error at all: the model is built, sorted by
 *      name, and the derived VNIs and MACs are assigned in name order (so
 *      they do not depend on the order of the lists in the file).
 *
 * Errors are sorted by position before they are handed back.
 */
#include "controller/topo.h"
#include "controller/topo-private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(topo);

const struct topo_keydef__ topo_top_keys__[] = {
    TOPO_TOP_KEYS(TOPO_KEY_DEF__)
};
const struct topo_keydef__ topo_host_keys__[] = {
    TOPO_HOST_KEYS(TOPO_KEY_DEF__)
};
const struct topo_keydef__ topo_switch_keys__[] = {
    TOPO_SWITCH_KEYS(TOPO_KEY_DEF__)
};
const struct topo_keydef__ topo_port_keys__[] = {
    TOPO_PORT_KEYS(TOPO_KEY_DEF__)
};

/* --- errors ------------------------------------------------------------ */

void
topo_errors_init(struct topo_errors *e)
{
    e->n = 0;
    e->errs = NULL;
}

void
topo_errors_destroy(struct topo_errors *e)
{
    if (!e) {
        return;
    }
    for (size_t i = 0; i < e->n; i++) {
        free(e->errs[i].file);
        free(e->errs[i].path);
        free(e->errs[i].msg);
    }
    free(e->errs);
    topo_errors_init(e);
}

char *
topo_error_format(const struct topo_error *e)
{
    char pos[64] = "";
    if (e->line) {
        snprintf(pos, sizeof pos, ":%u:%u", e->line, e->col);
    }
    return xasprintf("%s%s: %s%s%s", e->file ? e->file : "-", pos,
                     e->path && e->path[0] ? e->path : "",
                     e->path && e->path[0] ? ": " : "", e->msg);
}

static void
topo_errors_add__(struct topo_errors *e, const char *file, unsigned int line,
                  unsigned int col, const char *path, char *msg)
{
    e->errs = xrealloc(e->errs, (e->n + 1) * sizeof *e->errs);
    struct topo_error *err = &e->errs[e->n++];
    err->file = xstrdup(file);
    err->line = line;
    err->col = col;
    err->path = xstrdup(path ? path : "");
    err->msg = msg;
}

void
topo_err__(struct topo_ctx__ *ctx, const yaml_node_t *node, const char *path,
           const char *fmt, ...)
{
    va_list ap;
    char *msg;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0) {
        abort();
    }
    va_end(ap);
    topo_errors_add__(&ctx->errs, ctx->file,
                      node ? node->start_mark.line + 1 : 0,
                      node ? node->start_mark.column + 1 : 0, path, msg);
}

static int
topo_error_cmp__(const void *a_, const void *b_)
{
    const struct topo_error *a = a_, *b = b_;
    if (a->line != b->line) {
        return a->line < b->line ? -1 : 1;
    }
    if (a->col != b->col) {
        return a->col < b->col ? -1 : 1;
    }
    return strcmp(a->msg, b->msg);
}

/* --- small parsers ------------------------------------------------------ */

bool
topo_name_valid__(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 31) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                  || (i > 0 && (c == '_' || c == '-'));
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool
topo_ifname_valid__(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > TOPO_IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, "..")) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) {
            return false;
        }
    }
    return true;
}

/* Strict unsigned decimal; false on anything else or above 'max'. */
bool
topo_parse_uint__(const char *s, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    if (!*s || strlen(s) > 10) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
        v = v * 10 + (unsigned long) (*p - '0');
    }
    if (v > max) {
        return false;
    }
    *out = v;
    return true;
}

const char *
topo_node_type_name__(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_SCALAR_NODE: return "a scalar";
    default: return "nothing";
    }
}

bool
topo_is_null__(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE
        || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        return false;
    }
    const char *s = topo_scalar__(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null");
}

/* 64-bit FNV-1a: stable across runs and versions (derived VNIs and MACs). */
uint64_t
topo_hash64__(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (uint8_t) *s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* --- a small set of non-zero 64-bit integers (derivation probing) ------- */

void
topo_u64set_init__(struct topo_u64set__ *s, size_t n)
{
    s->cap = 16;
    while (s->cap < 2 * n + 2) {
        s->cap *= 2;
    }
    s->v = xcalloc(s->cap, sizeof *s->v);
}

bool
topo_u64set_has__(const struct topo_u64set__ *s, uint64_t x)
{
    for (size_t i = (x * 0x9e3779b97f4a7c15ULL) >> 20 & (s->cap - 1);;
         i = (i + 1) & (s->cap - 1)) {
        if (s->v[i] == x) {
            return true;
        } else if (!s->v[i]) {
            return false;
        }
    }
}

/* The set is sized for all insertions up front, so it never fills. */
void
topo_u64set_add__(struct topo_u64set__ *s, uint64_t x)
{
    size_t i = (x * 0x9e3779b97f4a7c15ULL) >> 20 & (s->cap - 1);
    while (s->v[i] && s->v[i] != x) {
        i = (i + 1) & (s->cap - 1);
    }
    s->v[i] = x;
}

/* --- step 1: shape -------------------------------------------------------- */

bool
topo_parse_object__(struct topo_ctx__ *ctx, const char *list,
                    const char *kind, size_t idx, yaml_node_t *node,
                    const struct topo_keydef__ *keys, size_t n_keys,
                    struct topo_raw__ *o)
{
    yaml_node_t *key_node[TOPO_MAX_KEYS] = { 0 };
    bool present[TOPO_MAX_KEYS] = { false };

    memset(o, 0, sizeof *o);
    o->node = node;
    o->idx = idx;
    o->path = idx == SIZE_MAX ? xstrdup(list)
                              : xasprintf("%s[%zu]", list, idx);
    if (node->type != YAML_MAPPING_NODE) {
        if (idx == SIZE_MAX) {
            topo_err__(ctx, node, o->path, "wrong node type: '%s' must be "
                       "a mapping of keys, not %s", kind,
                       topo_node_type_name__(node));
        } else {
            topo_err__(ctx, node, o->path,
                       "wrong node type: each %s must be a mapping "
                       "(\"- %s: ...\" with keys below it), not %s",
                       kind, keys[0].key, topo_node_type_name__(node));
        }
        return false;
    }

    /* The name first, so that every other message can use it in paths. */
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         idx != SIZE_MAX && !strcmp(keys[0].key, "name")
         && p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&ctx->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&ctx->doc, p->value);
        if (k->type == YAML_SCALAR_NODE && !strcmp(topo_scalar__(k), "name")
            && v->type == YAML_SCALAR_NODE
            && topo_name_valid__(topo_scalar__(v))) {
            free(o->path);
            o->path = xasprintf("%s.%s", list, topo_scalar__(v));
            break;
        }
    }

    for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
         p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&ctx->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&ctx->doc, p->value);
        if (k->type != YAML_SCALAR_NODE) {
            topo_err__(ctx, k, o->path,
                       "wrong node type: keys must be plain words, not %s",
                       topo_node_type_name__(k));
            continue;
        }
        const char *ks = topo_scalar__(k);
        size_t ki;
        for (ki = 0; ki < n_keys; ki++) {
            if (!strcmp(keys[ki].key, ks)) {
                break;
            }
        }
        char *kpath = xasprintf("%s.%s", o->path, ks);
        if (ki == n_keys) {
            char valid[256] = "";
            for (size_t j = 0; j < n_keys; j++) {
                strncat(valid, j ? ", " : "", sizeof valid - strlen(valid) - 1);
                strncat(valid, keys[j].key, sizeof valid - strlen(valid) - 1);
            }
            topo_err__(ctx, k, kpath,
                       "unknown key '%s' in %s; valid keys are: %s",
                       ks, kind, valid);
        } else if (present[ki]) {
            topo_err__(ctx, k, kpath,
                       "duplicate key '%s' (first given at line %lu); "
                       "remove one of them", ks,
                       (unsigned long) key_node[ki]->start_mark.line + 1);
        } else {
            present[ki] = true;
            key_node[ki] = k;
            if (keys[ki].type != TOPO_V_SCALAR) {
                yaml_node_type_t want = keys[ki].type == TOPO_V_LIST
                                        ? YAML_SEQUENCE_NODE
                                        : YAML_MAPPING_NODE;
                if (v->type == want) {
                    o->val[ki] = v;
                } else if (!topo_is_null__(v)) {
                    topo_err__(ctx, v, kpath, "wrong node type: '%s' must "
                               "be %s, not %s", ks, want == YAML_SEQUENCE_NODE
                               ? "a list" : "a mapping of keys",
                               topo_node_type_name__(v));
                }
            } else if (v->type != YAML_SCALAR_NODE) {
                topo_err__(ctx, v, kpath,
                           "wrong node type: '%s' must be a single value, "
                           "not %s", ks, topo_node_type_name__(v));
            } else if (!*topo_scalar__(v)) {
                topo_err__(ctx, v, kpath,
                           "bad value: '%s' is empty; give a value or "
                           "remove the key", ks);
            } else {
                o->val[ki] = v;
            }
        }
        free(kpath);
    }

    for (size_t ki = 0; ki < n_keys; ki++) {
        if (keys[ki].required && !present[ki]) {
            topo_err__(ctx, node, o->path,
                       "missing required key '%s' in %s; add e.g. '%s'",
                       keys[ki].key, kind, keys[ki].example);
        }
    }
    return true;
}

/* Returns the sequence of top-level section 'key', or NULL. */
static void
topo_parse_root__(struct topo_ctx__ *ctx, yaml_node_t *lists[TK_N])
{
    yaml_node_t *root = yaml_document_get_root_node(&ctx->doc);
    yaml_node_t *key_node[TK_N] = { 0 };

    if (!root || topo_is_null__(root)) {
        return;                 /* An empty document is an empty topology. */
    }
    if (root->type != YAML_MAPPING_NODE) {
        topo_err__(ctx, root, "",
                   "wrong node type: the topology must be a mapping with "
                   "the sections hosts:, switches:, ports:, routers:, "
                   "external_networks:, security_groups:, "
                   "default_security_groups:, firewalls: and "
                   "load_balancers:, not %s",
                   topo_node_type_name__(root));
        return;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&ctx->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&ctx->doc, p->value);
        if (k->type != YAML_SCALAR_NODE) {
            topo_err__(ctx, k, "", "wrong node type: section names must be "
                       "plain words, not %s", topo_node_type_name__(k));
            continue;
        }
        const char *ks = topo_scalar__(k);
        size_t ki;
        for (ki = 0; ki < TK_N; ki++) {
            if (!strcmp(topo_top_keys__[ki].key, ks)) {
                break;
            }
        }
        if (ki == TK_N) {
            topo_err__(ctx, k, ks, "unknown top-level key '%s'; valid "
                       "sections are: hosts, switches, ports, routers, "
                       "external_networks, security_groups, "
                       "default_security_groups, firewalls, "
                       "load_balancers", ks);
        } else if (key_node[ki]) {
            topo_err__(ctx, k, ks, "duplicate section '%s' (first given at "
                       "line %lu); merge the two lists", ks,
                       (unsigned long) key_node[ki]->start_mark.line + 1);
        } else {
            key_node[ki] = k;
            if (v->type == YAML_SEQUENCE_NODE) {
                lists[ki] = v;
            } else if (ki == TK_DEFAULT_GROUPS) {
                /* A list of names, not of objects: checked with the
                 * groups (topo_check_groups__). */
                if (topo_is_null__(v)) {
                    topo_err__(ctx, v, ks, "empty list: %s must name at "
                               "least one security group; remove the key "
                               "instead", ks);
                } else {
                    topo_err__(ctx, v, ks, "wrong node type: '%s' must be "
                               "a list of security group names, e.g. [web], "
                               "not %s", ks, topo_node_type_name__(v));
                }
            } else if (!topo_is_null__(v)) {
                topo_err__(ctx, v, ks, "wrong node type: '%s' must be a "
                           "list of '- name: ...' items, not %s", ks,
                           topo_node_type_name__(v));
            }
        }
    }
}

/* --- step 2: values and references --------------------------------------- */

static int
topo_raw_name_cmp__(const void *a_, const void *b_)
{
    const struct topo_raw__ *a = *(const struct topo_raw__ *const *) a_;
    const struct topo_raw__ *b = *(const struct topo_raw__ *const *) b_;
    int c = strcmp(a->name, b->name);
    return c ? c : (a->idx < b->idx ? -1 : a->idx > b->idx);
}

/* Validates names of 'n' objects (of 'stride' bytes each, starting with a
 * struct topo_raw__), flags duplicates and returns an array of the unique
 * ones sorted by name (for lookups); '*n_out' receives its size. */
struct topo_raw__ **
topo_check_names__(struct topo_ctx__ *ctx, void *objs, size_t n, size_t stride,
                   const char *kind, const struct topo_keydef__ *keys,
                   size_t *n_out)
{
    struct topo_raw__ **v = xcalloc(n ? n : 1, sizeof *v);
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        struct topo_raw__ *o = (struct topo_raw__ *) ((char *) objs + i * stride);
        if (!o->val[0]) {
            continue;           /* Missing or unusable: already reported. */
        }
        const char *s = topo_scalar__(o->val[0]);
        if (!topo_name_valid__(s)) {
            topo_err_field__(ctx, o, 0, keys,
                             "bad value: name '%s' is not valid; use 1 to 31 "
                             "characters a-z 0-9 _ -, starting with a letter "
                             "or digit", s);
            continue;
        }
        o->name = s;
        v[nv++] = o;
    }
    util_qsort(v, nv, sizeof *v, topo_raw_name_cmp__);
    size_t out = 0;
    for (size_t i = 0; i < nv; i++) {
        if (out && !strcmp(v[out - 1]->name, v[i]->name)) {
            v[i]->dup = true;
            topo_err_field__(ctx, v[i], 0, keys,
                             "duplicate %s name '%s' (first defined at line "
                             "%lu); names must be unique, rename one", kind,
                             v[i]->name, (unsigned long)
                             v[out - 1]->node->start_mark.line + 1);
        } else {
            v[out++] = v[i];
        }
    }
    *n_out = out;
    return v;
}

long
topo_lookup__(struct topo_raw__ **v, size_t n, const char *name, void *base,
              size_t stride)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, v[mid]->name);
        if (!c) {
            return (long) (((char *) v[mid] - (char *) base) / stride);
        } else if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return -1;
}

static int
topo_dupkey_cmp__(const void *a_, const void *b_)
{
    const struct topo_dupkey__ *a = a_, *b = b_;
    if (a->key != b->key) {
        return a->key < b->key ? -1 : 1;
    }
    int c = a->skey && b->skey ? strcmp(a->skey, b->skey) : 0;
    if (c) {
        return c;
    }
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Sorts 'k' and calls 'report' for every entry equal to an earlier one
 * (with the first of its run). */
void
topo_find_dups__(struct topo_ctx__ *ctx, struct topo_dupkey__ *k, size_t n,
                 void (*report)(struct topo_ctx__ *, size_t first, size_t dup))
{
    util_qsort(k, n, sizeof *k, topo_dupkey_cmp__);
    size_t first = 0;
    for (size_t i = 1; i < n; i++) {
        bool same = k[i].key == k[first].key
                    && (!k[i].skey || !strcmp(k[i].skey, k[first].skey));
        if (same) {
            report(ctx, k[first].idx, k[i].idx);
        } else {
            first = i;
        }
    }
}

unsigned long
topo_line__(const struct topo_raw__ *o, int k)
{
    const yaml_node_t *n = k >= 0 && o->val[k] ? o->val[k] : o->node;
    return (unsigned long) n->start_mark.line + 1;
}

static void
topo_report_dup_tunnel_ip__(struct topo_ctx__ *ctx, size_t first, size_t dup)
{
    struct topo_raw_host__ *a = &ctx->hosts[first], *b = &ctx->hosts[dup];
    char ip[IP4_STRLEN];
    ip4_format(b->ip, ip);
    topo_err_field__(ctx, &b->o, HK_TUNNEL_IP, topo_host_keys__,
                     "duplicate tunnel_ip %s: host %s (line %lu) already "
                     "uses it; give every host its own underlay address", ip,
                     a->o.name ? a->o.name : a->o.path,
                     topo_line__(&a->o, HK_TUNNEL_IP));
}

static void
topo_check_hosts__(struct topo_ctx__ *ctx)
{
    struct topo_dupkey__ *k = xcalloc(ctx->n_hosts + 1, sizeof *k);
    size_t nk = 0;
    for (size_t i = 0; i < ctx->n_hosts; i++) {
        struct topo_raw_host__ *h = &ctx->hosts[i];
        if (h->o.val[HK_TUNNEL_IP]) {
            const char *s = topo_scalar__(h->o.val[HK_TUNNEL_IP]);
            if (ip4_parse_cidr(s, &h->ip, &h->plen)) {
                topo_err_field__(ctx, &h->o, HK_TUNNEL_IP, topo_host_keys__,
                                 "bad value: tunnel_ip '%s' is not an IPv4 "
                                 "address with a prefix length; write e.g. "
                                 "10.200.0.11/24", s);
            } else if (h->plen < 1 || h->plen > 32 || !h->ip
                       || h->ip >= 0xe0000000u) {
                topo_err_field__(ctx, &h->o, HK_TUNNEL_IP, topo_host_keys__,
                                 "bad value: tunnel_ip '%s' out of range; "
                                 "use a unicast address with a prefix length "
                                 "1..32", s);
            } else {
                h->ip_ok = true;
                k[nk++] = (struct topo_dupkey__) { h->ip, NULL, i };
            }
        }
        if (h->o.val[HK_UNDERLAY]) {
            const char *s = topo_scalar__(h->o.val[HK_UNDERLAY]);
            if (!topo_ifname_valid__(s)) {
                topo_err_field__(ctx, &h->o, HK_UNDERLAY, topo_host_keys__,
                                 "bad value: underlay_iface '%s' is not a "
                                 "valid interface name (1..15 characters "
                                 "A-Z a-z 0-9 _ - .)", s);
            }
        }
    }
    topo_find_dups__(ctx, k, nk, topo_report_dup_tunnel_ip__);
    free(k);
}

static void
topo_report_dup_vni__(struct topo_ctx__ *ctx, size_t first, size_t dup)
{
    struct topo_raw_switch__ *a = &ctx->switches[first];
    struct topo_raw_switch__ *b = &ctx->switches[dup];
    topo_err_field__(ctx, &b->o, SK_VNI, topo_switch_keys__,
                     "VNI clash: vni %u is already given to switch %s "
                     "(line %lu); choose another vni or remove it to have "
                     "one derived", (unsigned) b->vni,
                     a->o.name ? a->o.name : a->o.path,
                     topo_line__(&a->o, SK_VNI));
}

static void
topo_check_switches__(struct topo_ctx__ *ctx)
{
    struct topo_dupkey__ *k = xcalloc(ctx->n_switches + 1, sizeof *k);
    size_t nk = 0;
    for (size_t i = 0; i < ctx->n_switches; i++) {
        struct topo_raw_switch__ *s = &ctx->switches[i];
        unsigned long v;
        s->mtu = 1400;
        if (s->o.val[SK_CIDR]) {
            const char *str = topo_scalar__(s->o.val[SK_CIDR]);
            char net[IP4_STRLEN];
            if (ip4_parse_cidr(str, &s->net, &s->plen)) {
                topo_err_field__(ctx, &s->o, SK_CIDR, topo_switch_keys__,
                                 "bad value: cidr '%s' is not an IPv4 "
                                 "network; write e.g. 10.1.0.0/24", str);
            } else if (s->plen < 1 || s->plen > 30) {
                topo_err_field__(ctx, &s->o, SK_CIDR, topo_switch_keys__,
                                 "bad value: cidr '%s' prefix length out of "
                                 "range; use /1 to /30", str);
            } else if (s->net & ~ip4_mask(s->plen)) {
                ip4_format(s->net & ip4_mask(s->plen), net);
                topo_err_field__(ctx, &s->o, SK_CIDR, topo_switch_keys__,
                                 "bad value: cidr '%s' has host bits set; "
                                 "did you mean %s/%u?", str, net, s->plen);
            } else {
                s->has_cidr = true;
            }
        }
        if (s->o.val[SK_VNI]) {
            const char *str = topo_scalar__(s->o.val[SK_VNI]);
            if (!topo_parse_uint__(str, TOPO_MAX_VNI, &v) || !v) {
                topo_err_field__(ctx, &s->o, SK_VNI, topo_switch_keys__,
                                 "bad value: vni '%s' out of range; use an "
                                 "integer 1..%u", str, TOPO_MAX_VNI);
            } else {
                s->vni = (uint32_t) v;
                k[nk++] = (struct topo_dupkey__) { s->vni, NULL, i };
            }
        }
        if (s->o.val[SK_MTU]) {
            const char *str = topo_scalar__(s->o.val[SK_MTU]);
            if (!topo_parse_uint__(str, 9000, &v) || v < 576) {
                topo_err_field__(ctx, &s->o, SK_MTU, topo_switch_keys__,
                                 "bad value: mtu '%s' out of range; use an "
                                 "integer 576..9000", str);
            } else {
                s->mtu = (unsigned int) v;
            }
        }
    }
    topo_find_dups__(ctx, k, nk, topo_report_dup_vni__);
    free(k);
}

static void
topo_report_dup_ip__(struct topo_ctx__ *ctx, size_t first, size_t dup)
{
    struct topo_raw_port__ *a = &ctx->ports[first], *b = &ctx->ports[dup];
    char ip[IP4_STRLEN];
    ip4_format(b->ip, ip);
    topo_err_field__(ctx, &b->o, PK_IP, topo_port_keys__,
                     "duplicate ip %s on switch %s: port %s (line %lu) "
                     "already has it; give each port its own address", ip,
                     ctx->switches[b->sw].o.name,
                     a->o.name ? a->o.name : a->o.path, topo_line__(&a->o, PK_IP));
}

static void
topo_report_dup_mac__(struct topo_ctx__ *ctx, size_t first, size_t dup)
{
    struct topo_raw_port__ *a = &ctx->ports[first], *b = &ctx->ports[dup];
    char mac[ETH_ADDR_STRLEN];
    eth_format(b->mac, mac);
    topo_err_field__(ctx, &b->o, PK_MAC, topo_port_keys__,
                     "duplicate mac %s: port %s (line %lu) already has it; "
                     "change one or remove it to have one derived", mac,
                     a->o.name ? a->o.name : a->o.path,
                     topo_line__(&a->o, PK_MAC));
}

static void
topo_report_dup_iface__(struct topo_ctx__ *ctx, size_t first, size_t dup)
{
    struct topo_raw_port__ *a = &ctx->ports[first], *b = &ctx->ports[dup];
    int k = b->o.val[PK_IFACE] ? PK_IFACE : PK_NAME;
    topo_err_field__(ctx, &b->o, k, topo_port_keys__,
                     "duplicate iface '%s' on host %s: port %s (line %lu) "
                     "already uses it; set a distinct iface", b->iface,
                     ctx->hosts[b->host].o.name,
                     a->o.name ? a->o.name : a->o.path,
                     topo_line__(&a->o, a->o.val[PK_IFACE] ? PK_IFACE : PK_NAME));
}

static void
topo_check_ports__(struct topo_ctx__ *ctx, struct topo_raw__ **hv, size_t nhv,
                   struct topo_raw__ **sv, size_t nsv)
{
    size_t n = ctx->n_ports;
    struct topo_dupkey__ *kip = xcalloc(n + 1, sizeof *kip);
    struct topo_dupkey__ *kmac = xcalloc(n + 1, sizeof *kmac);
    struct topo_dupkey__ *kif = xcalloc(n + 1, sizeof *kif);
    size_t *per_host = xcalloc(ctx->n_hosts + 1, sizeof *per_host);
    size_t nip = 0, nmac = 0, nif = 0;

    for (size_t i = 0; i < n; i++) {
        struct topo_raw_port__ *p = &ctx->ports[i];
        const char *s;
        p->host = p->sw = -1;
        if (p->o.val[PK_HOST]) {
            s = topo_scalar__(p->o.val[PK_HOST]);
            p->host = topo_lookup__(hv, nhv, s, ctx->hosts, sizeof *ctx->hosts);
            if (p->host < 0) {
                topo_err_field__(ctx, &p->o, PK_HOST, topo_port_keys__,
                                 "unknown host '%s'; define it under hosts: "
                                 "or fix the name", s);
            } else {
                per_host[p->host]++;
            }
        }
        if (p->o.val[PK_SWITCH]) {
            s = topo_scalar__(p->o.val[PK_SWITCH]);
            p->sw = topo_lookup__(sv, nsv, s, ctx->switches,
                                  sizeof *ctx->switches);
            if (p->sw < 0) {
                topo_err_field__(ctx, &p->o, PK_SWITCH, topo_port_keys__,
                                 "unknown switch '%s'; define it under "
                                 "switches: or fix the name", s);
            }
        }
        if (p->o.val[PK_IP]) {
            uint32_t ip;
            char buf[IP4_STRLEN];
            s = topo_scalar__(p->o.val[PK_IP]);
            const struct topo_raw_switch__ *sw = p->sw >= 0
                                                 ? &ctx->switches[p->sw] : NULL;
            if (ip4_parse(s, &ip)) {
                topo_err_field__(ctx, &p->o, PK_IP, topo_port_keys__,
                                 "bad value: ip '%s' is not an IPv4 address "
                                 "(no prefix length); write e.g. 10.1.0.11",
                                 s);
            } else if (!ip || ip >= 0xe0000000u) {
                topo_err_field__(ctx, &p->o, PK_IP, topo_port_keys__,
                                 "bad value: ip %s is not a unicast host "
                                 "address", s);
            } else if (sw && sw->has_cidr
                       && !ip4_in_subnet(ip, sw->net, sw->plen)) {
                ip4_format(sw->net, buf);
                topo_err_field__(ctx, &p->o, PK_IP, topo_port_keys__,
                                 "ip %s is outside switch %s's cidr %s/%u; "
                                 "use an address inside it or move the port "
                                 "to another switch", s, sw->o.name, buf,
                                 sw->plen);
            } else if (sw && sw->has_cidr
                       && (ip == sw->net
                           || ip == (sw->net | ~ip4_mask(sw->plen)))) {
                ip4_format(sw->net, buf);
                topo_err_field__(ctx, &p->o, PK_IP, topo_port_keys__,
                                 "bad value: ip %s is the %s address of "
                                 "switch %s's cidr %s/%u; use a host address",
                                 s, ip == sw->net ? "network" : "broadcast",
                                 sw->o.name, buf, sw->plen);
            } else {
                p->ip = ip;
                if (sw) {
                    kip[nip++] = (struct topo_dupkey__) {
                        ((uint64_t) p->sw << 32) | ip, NULL, i };
                }
            }
        }
        if (p->o.val[PK_MAC]) {
            uint64_t mac;
            s = topo_scalar__(p->o.val[PK_MAC]);
            if (eth_parse(s, &mac)) {
                topo_err_field__(ctx, &p->o, PK_MAC, topo_port_keys__,
                                 "bad value: mac '%s' is not a MAC address; "
                                 "write e.g. 0a:00:00:00:01:11", s);
            } else if (eth_is_multicast(mac) || !mac) {
                topo_err_field__(ctx, &p->o, PK_MAC, topo_port_keys__,
                                 "bad value: mac %s is %s; a port needs a "
                                 "unicast address (even first octet, e.g. "
                                 "0a:...)", s, mac ? "multicast" : "all zeros");
            } else {
                p->mac = mac;
                kmac[nmac++] = (struct topo_dupkey__) { mac, NULL, i };
            }
        }
        if (p->o.val[PK_IFACE]) {
            s = topo_scalar__(p->o.val[PK_IFACE]);
            if (!topo_ifname_valid__(s)) {
                topo_err_field__(ctx, &p->o, PK_IFACE, topo_port_keys__,
                                 "bad value: iface '%s' is not a valid "
                                 "interface name (1..15 characters A-Z a-z "
                                 "0-9 _ - .)", s);
            } else {
                p->iface = s;
            }
        } else if (p->o.name && !p->nfv) {   /* nfv: iface preset */
            if (strlen(p->o.name) > TOPO_IFNAMSIZ) {
                topo_err_field__(ctx, &p->o, PK_NAME, topo_port_keys__,
                                 "bad value: port name '%s' is longer than "
                                 "an interface name may be (15 characters); "
                                 "set iface: to a shorter name", p->o.name);
            } else {
                p->iface = p->o.name;
            }
        }
        if (p->iface && p->host >= 0) {
            kif[nif++] = (struct topo_dupkey__) { (uint64_t) p->host,
                                                  p->iface, i };
        }
    }
    topo_find_dups__(ctx, kip, nip, topo_report_dup_ip__);
    topo_find_dups__(ctx, kmac, nmac, topo_report_dup_mac__);
    topo_find_dups__(ctx, kif, nif, topo_report_dup_iface__);
    for (size_t h = 0; h < ctx->n_hosts; h++) {
        if (per_host[h] > TOPO_MAX_PORTS_PER_HOST) {
            topo_err__(ctx, ctx->hosts[h].o.node, ctx->hosts[h].o.path,
                       "host %s has %zu ports, more than the %u a host can "
                       "hold; spread them over more hosts",
                       ctx->hosts[h].o.name, per_host[h],
                       TOPO_MAX_PORTS_PER_HOST);
        }
    }
    free(kip);
    free(kmac);
    free(kif);
    free(per_host);
}

/* --- step 3: the model ---------------------------------------------------- */

/* Returns the permutation of 'v' (n unique objects sorted by name) as raw
 * index -> sorted index. */
static size_t *
topo_inverse__(struct topo_raw__ **v, size_t n, void *base, size_t stride)
{
    size_t *inv = xcalloc(n + 1, sizeof *inv);
    for (size_t i = 0; i < n; i++) {
        inv[((char *) v[i] - (char *) base) / stride] = i;
    }
    return inv;
}

struct topo_mark
topo_mark__(const struct topo *t, const yaml_node_t *n)
{
    return (struct topo_mark) { t->file, n->start_mark.line + 1,
                                n->start_mark.column + 1 };
}

static struct topo *
topo_build__(struct topo_ctx__ *ctx, struct topo_raw__ **hv,
             struct topo_raw__ **sv, struct topo_raw__ **pv)
{
    struct topo *t = xzalloc(sizeof *t);
    size_t *hinv = topo_inverse__(hv, ctx->n_hosts, ctx->hosts,
                                  sizeof *ctx->hosts);
    size_t *sinv = topo_inverse__(sv, ctx->n_switches, ctx->switches,
                                  sizeof *ctx->switches);
    struct topo_u64set__ set;

    t->file = xstrdup(ctx->file);
    t->n_hosts = ctx->n_hosts;
    t->hosts = xcalloc(t->n_hosts + 1, sizeof *t->hosts);
    for (size_t i = 0; i < t->n_hosts; i++) {
        const struct topo_raw_host__ *r = (const void *) hv[i];
        struct topo_host *h = &t->hosts[i];
        h->name = xstrdup(r->o.name);
        h->tunnel_ip = r->ip;
        h->tunnel_plen = r->plen;
        h->underlay_iface = xstrdup(r->o.val[HK_UNDERLAY]
                                    ? topo_scalar__(r->o.val[HK_UNDERLAY])
                                    : "ul0");
        h->dpdk = r->dpdk;
        h->mark = topo_mark__(t, r->o.node);
    }

    /* Switches; derived VNIs avoid every given one and each other. */
    t->n_switches = ctx->n_switches;
    t->switches = xcalloc(t->n_switches + 1, sizeof *t->switches);
    topo_u64set_init__(&set, t->n_switches + ctx->n_externals);
    topo_external_vnis__(ctx, &set);
    for (size_t i = 0; i < t->n_switches; i++) {
        const struct topo_raw_switch__ *r = (const void *) sv[i];
        if (r->vni) {
            topo_u64set_add__(&set, r->vni);
        }
    }
    for (size_t i = 0; i < t->n_switches; i++) {
        const struct topo_raw_switch__ *r = (const void *) sv[i];
        struct topo_switch *s = &t->switches[i];
        s->name = xstrdup(r->o.name);
        s->vni = r->vni;
        if (!s->vni) {
            uint32_t v = (uint32_t) (topo_hash64__(s->name) % TOPO_MAX_VNI) + 1;
            while (topo_u64set_has__(&set, v)) {
                v = v % TOPO_MAX_VNI + 1;
            }
            topo_u64set_add__(&set, v);
            s->vni = v;
        }
        s->net = r->has_cidr ? r->net : 0;
        s->plen = r->has_cidr ? r->plen : 0;
        s->mtu = r->mtu;
        topo_build_dhcp__(t, r, &s->dhcp);
        s->mark = topo_mark__(t, r->o.node);
    }
    topo_build_externals__(ctx, t, hinv, &set);
    free(set.v);

    /* Ports; derived MACs (0a:xx:xx:xx:xx:xx) avoid given ones, the
     * routers' included. */
    t->n_ports = ctx->n_ports;
    t->ports = xcalloc(t->n_ports + 1, sizeof *t->ports);
    topo_u64set_init__(&set, t->n_ports + topo_router_port_count__(ctx)
                             + topo_gateway_mac_count__(ctx));
    topo_router_fixed_macs__(ctx, &set);
    topo_gateway_fixed_macs__(ctx, &set);
    for (size_t i = 0; i < t->n_ports; i++) {
        const struct topo_raw_port__ *r = (const void *) pv[i];
        if (r->mac) {
            topo_u64set_add__(&set, r->mac);
        }
    }
    for (size_t i = 0; i < t->n_ports; i++) {
        const struct topo_raw_port__ *r = (const void *) pv[i];
        struct topo_port *p = &t->ports[i];
        p->name = xstrdup(r->o.name);
        p->iface = xstrdup(r->iface);
        p->kind = r->kind;
        p->socket = r->socket ? xstrdup(r->socket) : NULL;
        p->vhost_server = r->vhost_server;
        p->host = hinv[r->host];
        p->sw = sinv[r->sw];
        p->ip = r->ip;
        p->nfv = r->nfv;
        p->mac = r->mac;
        if (!p->mac) {
            const uint64_t low = 0xffffffffffULL, top = 0x0aULL << 40;
            uint64_t m = top | (topo_hash64__(p->name) & low);
            while (topo_u64set_has__(&set, m)) {
                m = top | ((m + 1) & low);
            }
            topo_u64set_add__(&set, m);
            p->mac = m;
        }
        p->mark = topo_mark__(t, r->o.node);
    }
    free(set.v);
    topo_build_routers__(ctx, t, sinv);
    topo_build_groups__(ctx, t, sv, pv);
    topo_build_nfv__(ctx, t);
    free(hinv);
    free(sinv);
    return t;
}

/* --- loading ---------------------------------------------------------------- */

static void
topo_ctx_destroy__(struct topo_ctx__ *ctx)
{
    for (size_t i = 0; i < ctx->n_hosts; i++) {
        free(ctx->hosts[i].o.path);
    }
    for (size_t i = 0; i < ctx->n_switches; i++) {
        free(ctx->switches[i].o.path);
    }
    for (size_t i = 0; i < ctx->n_ports; i++) {
        free(ctx->ports[i].o.path);
    }
    topo_ctx_routers_destroy__(ctx);
    topo_ctx_externals_destroy__(ctx);
    topo_ctx_groups_destroy__(ctx);
    topo_ctx_nfv_destroy__(ctx);
    free(ctx->hosts);
    free(ctx->switches);
    free(ctx->ports);
}

size_t
topo_list_len__(const yaml_node_t *list)
{
    return list ? (size_t) (list->data.sequence.items.top
                            - list->data.sequence.items.start) : 0;
}

/* Parses every item of 'list' into consecutive raw objects; returns how many
 * usable ones there are. */
static size_t
topo_parse_list__(struct topo_ctx__ *ctx, yaml_node_t *list, const char *name,
                  const char *kind, const struct topo_keydef__ *keys,
                  size_t n_keys, void *out, size_t stride)
{
    size_t n = 0;
    for (size_t i = 0; i < topo_list_len__(list); i++) {
        yaml_node_t *item = yaml_document_get_node(
            &ctx->doc, list->data.sequence.items.start[i]);
        struct topo_raw__ *o = (struct topo_raw__ *) ((char *) out + n * stride);
        if (topo_parse_object__(ctx, name, kind, i, item, keys, n_keys, o)) {
            n++;
        } else {
            free(o->path);
        }
    }
    return n;
}

static struct topo *
topo_load_doc__(struct topo_ctx__ *ctx)
{
    yaml_node_t *lists[TK_N] = { 0 };
    struct topo *t = NULL;

    topo_parse_root__(ctx, lists);
    ctx->hosts = xcalloc(topo_list_len__(lists[TK_HOSTS]) + 1,
                         sizeof *ctx->hosts);
    ctx->switches = xcalloc(topo_list_len__(lists[TK_SWITCHES]) + 1,
                            sizeof *ctx->switches);
    ctx->ports = xcalloc(topo_list_len__(lists[TK_PORTS]) + 1,
                         sizeof *ctx->ports);
    ctx->n_hosts = topo_parse_list__(ctx, lists[TK_HOSTS], "hosts", "host",
                                     topo_host_keys__, HK_N, ctx->hosts,
                                     sizeof *ctx->hosts);
    ctx->n_switches = topo_parse_list__(ctx, lists[TK_SWITCHES], "switches",
                                        "switch", topo_switch_keys__, SK_N,
                                        ctx->switches, sizeof *ctx->switches);
    ctx->n_ports = topo_parse_list__(ctx, lists[TK_PORTS], "ports", "port",
                                     topo_port_keys__, PK_N, ctx->ports,
                                     sizeof *ctx->ports);
    topo_parse_routers__(ctx, lists[TK_ROUTERS]);
    topo_parse_externals__(ctx, lists[TK_EXTERNALS]);
    topo_parse_groups__(ctx, lists[TK_GROUPS]);
    ctx->top_groups_node = lists[TK_DEFAULT_GROUPS];
    topo_parse_nfv__(ctx, lists[TK_FIREWALLS], lists[TK_LBS]);

    size_t nhv, nsv, npv;
    struct topo_raw__ **hv = topo_check_names__(ctx, ctx->hosts, ctx->n_hosts,
                                                sizeof *ctx->hosts, "host",
                                                topo_host_keys__, &nhv);
    struct topo_raw__ **sv = topo_check_names__(ctx, ctx->switches,
                                                ctx->n_switches,
                                                sizeof *ctx->switches,
                                                "switch", topo_switch_keys__,
                                                &nsv);
    struct topo_raw__ **pv = topo_check_names__(ctx, ctx->ports, ctx->n_ports,
                                                sizeof *ctx->ports, "port",
                                                topo_port_keys__, &npv);
    topo_check_hosts__(ctx);
    topo_check_switches__(ctx);
    topo_check_dhcp__(ctx);
    topo_check_ports__(ctx, hv, nhv, sv, nsv);
    topo_check_nfv_ports__(ctx, hv, nhv, sv, nsv);
    topo_check_dpdk__(ctx);
    topo_check_externals__(ctx, hv, nhv);
    topo_check_routers__(ctx, sv, nsv);
    topo_check_groups__(ctx);
    topo_check_nfv__(ctx, hv, nhv, sv, nsv);

    if (!ctx->errs.n) {
        /* No error means every object is usable, named and unique. */
        t = topo_build__(ctx, hv, sv, pv);
    }
    free(hv);
    free(sv);
    free(pv);
    return t;
}

struct topo *
topo_load_buffer(const char *name, const char *yaml, size_t len,
                 struct topo_errors *errs)
{
    struct topo_ctx__ ctx;
    yaml_parser_t parser;
    struct topo *t = NULL;

    memset(&ctx, 0, sizeof ctx);
    ctx.file = name;
    topo_errors_init(&ctx.errs);

    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *) yaml, len);
    if (!yaml_parser_load(&parser, &ctx.doc)) {
        topo_errors_add__(&ctx.errs, name, parser.problem_mark.line + 1,
                          parser.problem_mark.column + 1, "",
                          xasprintf("YAML syntax error: %s%s%s; fix the "
                                    "syntax (indentation, ':' after keys, "
                                    "'- ' before list items)",
                                    parser.problem ? parser.problem : "?",
                                    parser.context ? " " : "",
                                    parser.context ? parser.context : ""));
    } else {
        yaml_document_t extra;
        t = topo_load_doc__(&ctx);
        if (yaml_parser_load(&parser, &extra)) {
            yaml_node_t *root = yaml_document_get_root_node(&extra);
            if (root) {
                topo_errors_add__(&ctx.errs, name, root->start_mark.line + 1,
                                  root->start_mark.column + 1, "",
                                  xstrdup("a topology file holds one YAML "
                                          "document; remove the '---' and "
                                          "what follows"));
            }
            yaml_document_delete(&extra);
        } else {
            topo_errors_add__(&ctx.errs, name, parser.problem_mark.line + 1,
                              parser.problem_mark.column + 1, "",
                              xasprintf("YAML syntax error: %s; fix the "
                                        "syntax", parser.problem
                                        ? parser.problem : "?"));
        }
        if (ctx.errs.n) {
            topo_destroy(t);
            t = NULL;
        }
        yaml_document_delete(&ctx.doc);
        topo_ctx_destroy__(&ctx);
    }
    yaml_parser_delete(&parser);

    if (ctx.errs.n) {
        util_qsort(ctx.errs.errs, ctx.errs.n, sizeof *ctx.errs.errs,
              topo_error_cmp__);
        LOG_DBG("%s: %zu errors", name, ctx.errs.n);
    }
    if (errs && ctx.errs.n) {
        errs->errs = xrealloc(errs->errs,
                              (errs->n + ctx.errs.n + 1) * sizeof *errs->errs);
        util_memcpy(errs->errs + errs->n, ctx.errs.errs,
               ctx.errs.n * sizeof *ctx.errs.errs);
        errs->n += ctx.errs.n;
        free(ctx.errs.errs);
    } else if (!errs) {
        topo_errors_destroy(&ctx.errs);
    }
    return t;
}

struct topo *
topo_load_file(const char *path, struct topo_errors *errs)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int err = 0;

    if (f) {
        for (;;) {
            buf = xgrow(buf, &cap, len + 65536, 1);
            size_t n = fread(buf + len, 1, cap - len, f);
            len += n;
            if (n == 0) {
                err = ferror(f) ? EIO : 0;
                break;
            }
        }
        fclose(f);
    } else {
        err = errno;
    }
    if (err) {
        free(buf);
        if (errs) {
            topo_errors_add__(errs, path, 0, 0, "",
                              xasprintf("cannot read the topology file: %s; "
                                        "check the path and permissions",
                                        strerror(err)));
        }
        return NULL;
    }
    struct topo *t = topo_load_buffer(path, buf, len, errs);
    free(buf);
    return t;
}

void
topo_destroy(struct topo *t)
{
    if (!t) {
        return;
    }
    for (size_t i = 0; i < t->n_hosts; i++) {
        free(t->hosts[i].name);
        free(t->hosts[i].underlay_iface);
    }
    for (size_t i = 0; i < t->n_switches; i++) {
        free(t->switches[i].name);
        free(t->switches[i].dhcp.routes);
    }
    for (size_t i = 0; i < t->n_ports; i++) {
        free(t->ports[i].name);
        free(t->ports[i].iface);
        free(t->ports[i].socket);
    }
    topo_routers_free__(t);
    topo_externals_free__(t);
    topo_groups_free__(t);
    topo_nfv_free__(t);
    free(t->hosts);
    free(t->switches);
    free(t->ports);
    free(t->file);
    free(t);
}

/* --- lookups ---------------------------------------------------------------- */

#define TOPO_BSEARCH__(ARR, N, NAME)                            \
    do {                                                        \
        size_t lo = 0, hi = (N);                                \
        while (lo < hi) {                                       \
            size_t mid = (lo + hi) / 2;                         \
            int c = strcmp((NAME), (ARR)[mid].name);            \
            if (!c) {                                           \
                return &(ARR)[mid];                             \
            } else if (c < 0) {                                 \
                hi = mid;                                       \
            } else {                                            \
                lo = mid + 1;                                   \
            }                                                   \
        }                                                       \
        return NULL;                                            \
    } while (0)

const struct topo_host *
topo_find_host(const struct topo *t, const char *name)
{
    TOPO_BSEARCH__(t->hosts, t->n_hosts, name);
}

const struct topo_switch *
topo_find_switch(const struct topo *t, const char *name)
{
    TOPO_BSEARCH__(t->switches, t->n_switches, name);
}

const struct topo_port *
topo_find_port(const struct topo *t, const char *name)
{
    TOPO_BSEARCH__(t->ports, t->n_ports, name);
}

const struct topo_router *
topo_find_router(const struct topo *t, const char *name)
{
    TOPO_BSEARCH__(t->routers, t->n_routers, name);
}

const struct topo_external *
topo_find_external(const struct topo *t, const char *name)
{
    TOPO_BSEARCH__(t->externals, t->n_externals, name);
}

const struct topo_sg *
topo_find_group(const struct topo *t, const char *name)
{
    TOPO_BSEARCH__(t->groups, t->n_groups, name);
}
