/* topo-sg.c — the security_groups: section of the topology YAML, the
 * security_groups: key of ports and the default_security_groups: key of
 * switches (topo.h, topo-private.h).
 *
 * Same three steps as the rest of the loader (topo.c): shape (every group
 * and every rule becomes a raw record), values and references (every check
 * on every rule it can run on, so one pass reports all problems), and the
 * model for an error-free file only.
 *
 * The model keeps rules in file order (the first matching rule of a group
 * decides), groups sorted by name, and every group list of a port or
 * switch as sorted, unique indexes into topo.groups.  A port's list is its
 * effective one: its own security_groups: if given, else its switch's
 * default_security_groups:, else none (the port is unfiltered).
 */
#include "controller/topo-private.h"

#include <stdio.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/log.h"

LOG_MODULE(topo_sg);

#define TOPO_SG_KEYS(X)                                    \
    X(GRK_NAME, "name", true, "name: web", TOPO_V_SCALAR)  \
    X(GRK_INGRESS, "ingress", false, "", TOPO_V_LIST)      \
    X(GRK_EGRESS, "egress", false, "", TOPO_V_LIST)
#define TOPO_SGRULE_KEYS(X)                                \
    X(RUK_PROTOCOL, "protocol", false, "", TOPO_V_SCALAR)  \
    X(RUK_PORTS, "ports", false, "", TOPO_V_SCALAR)        \
    X(RUK_ICMP_TYPE, "icmp_type", false, "", TOPO_V_SCALAR) \
    X(RUK_ICMP_CODE, "icmp_code", false, "", TOPO_V_SCALAR) \
    X(RUK_CIDRS, "remote_cidrs", false, "", TOPO_V_LIST)   \
    X(RUK_GROUP, "remote_group", false, "", TOPO_V_SCALAR) \
    X(RUK_ACTION, "action", false, "", TOPO_V_SCALAR)      \
    X(RUK_LOG, "log", false, "", TOPO_V_SCALAR)

enum { TOPO_SG_KEYS(TOPO_KEY_ENUM__) GRK_N };
enum { TOPO_SGRULE_KEYS(TOPO_KEY_ENUM__) RUK_N };
static const struct topo_keydef__ topo_sg_keys__[] = {
    TOPO_SG_KEYS(TOPO_KEY_DEF__)
};
static const struct topo_keydef__ topo_sgrule_keys__[] = {
    TOPO_SGRULE_KEYS(TOPO_KEY_DEF__)
};

/* --- shape ------------------------------------------------------------- */

/* Parses the rules of one direction ('dir' = "ingress" or "egress"). */
static struct topo_raw_sgrule__ *
topo_parse_rules__(struct topo_ctx__ *ctx, struct topo_raw_sg__ *g,
                   yaml_node_t *list, const char *dir, size_t *n_out)
{
    size_t len = topo_list_len__(list);
    struct topo_raw_sgrule__ *rules = xcalloc(len + 1, sizeof *rules);
    char *lpath = xasprintf("%s.%s", g->o.path, dir);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        yaml_node_t *item = yaml_document_get_node(
            &ctx->doc, list->data.sequence.items.start[i]);
        struct topo_raw_sgrule__ *r = &rules[n];
        if (topo_parse_object__(ctx, lpath, "security group rule", i, item,
                                topo_sgrule_keys__, RUK_N, &r->o)) {
            r->remote_group = -1;
            r->icmp_type = r->icmp_code = -1;
            n++;
        } else {
            free(r->o.path);
        }
    }
    free(lpath);
    *n_out = n;
    return rules;
}

void
topo_parse_groups__(struct topo_ctx__ *ctx, yaml_node_t *list)
{
    size_t len = topo_list_len__(list);
    ctx->groups = xcalloc(len + 1, sizeof *ctx->groups);
    ctx->n_groups = 0;
    for (size_t i = 0; i < len; i++) {
        yaml_node_t *item = yaml_document_get_node(
            &ctx->doc, list->data.sequence.items.start[i]);
        struct topo_raw_sg__ *g = &ctx->groups[ctx->n_groups];
        if (topo_parse_object__(ctx, "security_groups", "security group", i,
                                item, topo_sg_keys__, GRK_N, &g->o)) {
            g->ingress = topo_parse_rules__(ctx, g, g->o.val[GRK_INGRESS],
                                            "ingress", &g->n_ingress);
            g->egress = topo_parse_rules__(ctx, g, g->o.val[GRK_EGRESS],
                                           "egress", &g->n_egress);
            ctx->n_groups++;
        } else {
            free(g->o.path);
        }
    }
}

/* --- values and references ------------------------------------------------ */

static long
topo_group_lookup__(struct topo_ctx__ *ctx, const char *name)
{
    return topo_lookup__(ctx->gv, ctx->ngv, name, ctx->groups,
                         sizeof *ctx->groups);
}

/* Parses "N" or "A-B" (1..65535, A <= B), the value of key 'k' of 'o'
 * (a rule's ports); false (reported) when it is not one. */
bool
topo_parse_ports__(struct topo_ctx__ *ctx, struct topo_raw__ *o, int k,
                   const struct topo_keydef__ *keys, uint16_t *min,
                   uint16_t *max)
{
    const char *s = topo_scalar__(o->val[k]);
    const char *dash = strchr(s, '-');
    unsigned long a, b;
    bool ok;

    if (dash) {
        char *lo = xstrdup(s);
        lo[dash - s] = '\0';
        ok = topo_parse_uint__(lo, 65535, &a) && a
             && topo_parse_uint__(dash + 1, 65535, &b) && b;
        free(lo);
    } else {
        ok = topo_parse_uint__(s, 65535, &a) && a;
        b = a;
    }
    if (!ok) {
        topo_err_field__(ctx, o, k, keys,
                         "bad value: ports '%s' is not a port 1..65535 or a "
                         "range \"A-B\" of them; write e.g. 80 or "
                         "\"8000-8099\"", s);
        return false;
    }
    if (a > b) {
        topo_err_field__(ctx, o, k, keys,
                         "bad value: ports range '%s' is reversed (%lu > "
                         "%lu); did you mean \"%lu-%lu\"?", s, a, b, b, a);
        return false;
    }
    *min = (uint16_t) a;
    *max = (uint16_t) b;
    return true;
}

static void
topo_check_ports_range__(struct topo_ctx__ *ctx, struct topo_raw_sgrule__ *r)
{
    topo_parse_ports__(ctx, &r->o, RUK_PORTS, topo_sgrule_keys__,
                       &r->port_min, &r->port_max);
}

static int
topo_check_icmp_field__(struct topo_ctx__ *ctx, struct topo_raw_sgrule__ *r,
                        int k)
{
    const char *s = topo_scalar__(r->o.val[k]);
    unsigned long v;
    if (!topo_parse_uint__(s, 255, &v)) {
        topo_err_field__(ctx, &r->o, k, topo_sgrule_keys__,
                         "bad value: %s '%s' out of range; use an integer "
                         "0..255", topo_sgrule_keys__[k].key, s);
        return -1;
    }
    return (int) v;
}

/* The entries of 'list', the value of a rule's key 'key' at 'kpath':
 * networks, no host bits, each once ('dup_where' names the list in that
 * message), into '*out' ('*n_out' of them; malloc'd even when empty). */
void
topo_parse_cidr_list__(struct topo_ctx__ *ctx, yaml_node_t *list,
                       const char *kpath, const char *key,
                       const char *dup_where, struct topo_cidr **out,
                       size_t *n_out)
{
    size_t n = topo_list_len__(list);

    *out = xcalloc(n + 1, sizeof **out);
    *n_out = 0;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *c = yaml_document_get_node(
            &ctx->doc, list->data.sequence.items.start[i]);
        char *p = xasprintf("%s[%zu]", kpath, i);
        uint32_t net;
        unsigned int plen;
        char buf[IP4_STRLEN];
        if (c->type != YAML_SCALAR_NODE || !*topo_scalar__(c)) {
            topo_err__(ctx, c, p, "wrong node type: each %s entry is a "
                       "network like 10.0.0.0/8, not %s", key,
                       c->type == YAML_SCALAR_NODE ? "an empty value"
                                                   : topo_node_type_name__(c));
        } else if (ip4_parse_cidr(topo_scalar__(c), &net, &plen)
                   || plen > 32) {
            topo_err__(ctx, c, p, "bad value: '%s' is not an IPv4 network "
                       "with a prefix length; write e.g. 10.0.0.0/8 (or "
                       "10.1.0.5/32 for one address)", topo_scalar__(c));
        } else if (net & ~ip4_mask(plen)) {
            ip4_format(net & ip4_mask(plen), buf);
            topo_err__(ctx, c, p, "bad value: cidr '%s' has host bits set; "
                       "did you mean %s/%u?", topo_scalar__(c), buf, plen);
        } else {
            size_t j;
            for (j = 0; j < *n_out; j++) {
                if ((*out)[j].net == net && (*out)[j].plen == plen) {
                    break;
                }
            }
            if (j < *n_out) {
                topo_err__(ctx, c, p, "cidr %s is listed twice in %s; list "
                           "it once", topo_scalar__(c), dup_where);
            } else {
                (*out)[(*n_out)++] = (struct topo_cidr) { net, plen };
            }
        }
        free(p);
    }
}

static void
topo_check_cidrs__(struct topo_ctx__ *ctx, struct topo_raw_sgrule__ *r)
{
    yaml_node_t *list = r->o.val[RUK_CIDRS];
    char *kpath = xasprintf("%s.remote_cidrs", r->o.path);

    if (!topo_list_len__(list)) {
        topo_err__(ctx, list, kpath, "empty list: remote_cidrs must name at "
                   "least one network; remove the key to match anywhere");
    }
    topo_parse_cidr_list__(ctx, list, kpath, "remote_cidrs", "this rule",
                           &r->cidrs, &r->n_cidrs);
    free(kpath);
}

static void
topo_check_rule__(struct topo_ctx__ *ctx, struct topo_raw_sgrule__ *r)
{
    static const char *const protos[] = { "any", "tcp", "udp", "icmp" };
    static const char *const actions[] = { "allow", "deny", "reject" };
    bool proto_ok = true, action_ok = true;
    const char *s;

    r->proto = TOPO_SG_ANY;
    if (r->o.val[RUK_PROTOCOL]) {
        s = topo_scalar__(r->o.val[RUK_PROTOCOL]);
        size_t i;
        for (i = 0; i < ARRAY_SIZE(protos) && strcmp(s, protos[i]); i++) {
            continue;
        }
        if (i == ARRAY_SIZE(protos)) {
            topo_err_field__(ctx, &r->o, RUK_PROTOCOL, topo_sgrule_keys__,
                             "bad value: protocol '%s' is not one of tcp, "
                             "udp, icmp, any", s);
            proto_ok = false;
        } else {
            r->proto = (enum topo_sg_proto) i;
        }
    }
    if (r->o.val[RUK_PORTS]) {
        if (proto_ok && r->proto != TOPO_SG_TCP && r->proto != TOPO_SG_UDP) {
            topo_err_field__(ctx, &r->o, RUK_PORTS, topo_sgrule_keys__,
                             "ports apply to tcp and udp only, not to "
                             "protocol %s; set protocol: tcp or udp, or "
                             "remove ports", protos[r->proto]);
        } else {
            topo_check_ports_range__(ctx, r);
        }
    }
    for (int k = RUK_ICMP_TYPE; k <= RUK_ICMP_CODE; k++) {
        if (!r->o.val[k]) {
            continue;
        }
        if (proto_ok && r->proto != TOPO_SG_ICMP) {
            topo_err_field__(ctx, &r->o, k, topo_sgrule_keys__,
                             "%s applies to protocol icmp only, not to %s; "
                             "set protocol: icmp or remove %s",
                             topo_sgrule_keys__[k].key, protos[r->proto],
                             topo_sgrule_keys__[k].key);
        } else {
            int v = topo_check_icmp_field__(ctx, r, k);
            if (k == RUK_ICMP_TYPE) {
                r->icmp_type = v;
            } else {
                r->icmp_code = v;
            }
        }
    }
    if (r->o.val[RUK_CIDRS] && r->o.val[RUK_GROUP]) {
        topo_err_field__(ctx, &r->o, RUK_GROUP, topo_sgrule_keys__,
                         "a rule takes remote_cidrs or remote_group, not "
                         "both; split it into two rules");
    }
    if (r->o.val[RUK_CIDRS]) {
        topo_check_cidrs__(ctx, r);
    } else if (r->o.node->type == YAML_MAPPING_NODE) {
        /* Present but null ("remote_cidrs:" with nothing): also empty. */
        for (yaml_node_pair_t *p = r->o.node->data.mapping.pairs.start;
             p < r->o.node->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(&ctx->doc, p->key);
            yaml_node_t *v = yaml_document_get_node(&ctx->doc, p->value);
            if (k->type == YAML_SCALAR_NODE
                && !strcmp(topo_scalar__(k), "remote_cidrs")
                && topo_is_null__(v)) {
                char *kp = xasprintf("%s.remote_cidrs", r->o.path);
                topo_err__(ctx, v, kp, "empty list: remote_cidrs must name "
                           "at least one network; remove the key to match "
                           "anywhere");
                free(kp);
            }
        }
    }
    if (r->o.val[RUK_GROUP]) {
        s = topo_scalar__(r->o.val[RUK_GROUP]);
        r->remote_group = topo_group_lookup__(ctx, s);
        if (r->remote_group < 0) {
            topo_err_field__(ctx, &r->o, RUK_GROUP, topo_sgrule_keys__,
                             "unknown security group '%s'; define it under "
                             "security_groups: or fix the name", s);
        }
    }
    r->action = TOPO_SG_ALLOW;
    if (r->o.val[RUK_ACTION]) {
        s = topo_scalar__(r->o.val[RUK_ACTION]);
        size_t i;
        for (i = 0; i < ARRAY_SIZE(actions) && strcmp(s, actions[i]); i++) {
            continue;
        }
        if (i == ARRAY_SIZE(actions)) {
            topo_err_field__(ctx, &r->o, RUK_ACTION, topo_sgrule_keys__,
                             "bad value: action '%s' is not one of allow, "
                             "deny, reject", s);
            action_ok = false;
        } else {
            r->action = (enum topo_sg_action) i;
        }
    }
    if (r->o.val[RUK_LOG]) {
        s = topo_scalar__(r->o.val[RUK_LOG]);
        if (!strcmp(s, "true")) {
            r->log = true;
        } else if (strcmp(s, "false")) {
            topo_err_field__(ctx, &r->o, RUK_LOG, topo_sgrule_keys__,
                             "bad value: log '%s' is not true or false", s);
        }
    }
    r->ok = proto_ok && action_ok;
}

/* Resolves a list of group names (a port's security_groups:, a switch's
 * default_security_groups: or, with 'o' NULL, the topology's) at value
 * node 'list' of object 'o' into '*out' (raw group indexes). */
static void
topo_check_group_list__(struct topo_ctx__ *ctx, struct topo_raw__ *o,
                        yaml_node_t *list, const char *key, long **out,
                        size_t *n_out)
{
    size_t n = topo_list_len__(list);
    char *kpath = o ? xasprintf("%s.%s", o->path, key) : xstrdup(key);

    *out = xcalloc(n + 1, sizeof **out);
    *n_out = 0;
    if (!n) {
        topo_err__(ctx, list, kpath, "empty list: %s must name at least one "
                   "security group; remove the key instead", key);
    } else if (n > TOPO_SG_MAX_PER_PORT) {
        topo_err__(ctx, list, kpath, "%zu security groups listed, more than "
                   "the %u a port may carry; merge some groups", n,
                   TOPO_SG_MAX_PER_PORT);
    }
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *c = yaml_document_get_node(
            &ctx->doc, list->data.sequence.items.start[i]);
        char *p = xasprintf("%s[%zu]", kpath, i);
        long g;
        if (c->type != YAML_SCALAR_NODE || !*topo_scalar__(c)) {
            topo_err__(ctx, c, p, "wrong node type: each %s entry is a "
                       "security group name, not %s", key,
                       c->type == YAML_SCALAR_NODE ? "an empty value"
                                                   : topo_node_type_name__(c));
        } else if ((g = topo_group_lookup__(ctx, topo_scalar__(c))) < 0) {
            topo_err__(ctx, c, p, "unknown security group '%s'; define it "
                       "under security_groups: or fix the name",
                       topo_scalar__(c));
        } else {
            size_t j;
            for (j = 0; j < *n_out && (*out)[j] != g; j++) {
                continue;
            }
            if (j < *n_out) {
                topo_err__(ctx, c, p, "security group %s is listed twice; "
                           "list it once", topo_scalar__(c));
            } else {
                (*out)[(*n_out)++] = g;
            }
        }
        free(p);
    }
    free(kpath);
}

/* A list key given as "key:" with no value or "key: []": both mean an
 * empty list, which is an error for group lists. */
static void
topo_check_null_list__(struct topo_ctx__ *ctx, struct topo_raw__ *o,
                       const char *key)
{
    if (!o->node || o->node->type != YAML_MAPPING_NODE) {
        return;
    }
    for (yaml_node_pair_t *p = o->node->data.mapping.pairs.start;
         p < o->node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&ctx->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&ctx->doc, p->value);
        if (k->type == YAML_SCALAR_NODE && !strcmp(topo_scalar__(k), key)
            && topo_is_null__(v)) {
            char *kp = xasprintf("%s.%s", o->path, key);
            topo_err__(ctx, v, kp, "empty list: %s must name at least one "
                       "security group; remove the key instead", key);
            free(kp);
        }
    }
}

void
topo_check_groups__(struct topo_ctx__ *ctx)
{
    ctx->gv = topo_check_names__(ctx, ctx->groups, ctx->n_groups,
                                 sizeof *ctx->groups, "security group",
                                 topo_sg_keys__, &ctx->ngv);
    for (size_t i = 0; i < ctx->n_groups; i++) {
        struct topo_raw_sg__ *g = &ctx->groups[i];
        for (size_t j = 0; j < g->n_ingress; j++) {
            topo_check_rule__(ctx, &g->ingress[j]);
        }
        for (size_t j = 0; j < g->n_egress; j++) {
            topo_check_rule__(ctx, &g->egress[j]);
        }
    }
    for (size_t i = 0; i < ctx->n_ports; i++) {
        struct topo_raw_port__ *p = &ctx->ports[i];
        if (p->o.val[PK_GROUPS]) {
            topo_check_group_list__(ctx, &p->o, p->o.val[PK_GROUPS],
                                    "security_groups", &p->groups,
                                    &p->n_groups);
        } else {
            topo_check_null_list__(ctx, &p->o, "security_groups");
        }
    }
    for (size_t i = 0; i < ctx->n_switches; i++) {
        struct topo_raw_switch__ *s = &ctx->switches[i];
        if (s->o.val[SK_DEFAULT_GROUPS]) {
            topo_check_group_list__(ctx, &s->o, s->o.val[SK_DEFAULT_GROUPS],
                                    "default_security_groups", &s->groups,
                                    &s->n_groups);
        } else {
            topo_check_null_list__(ctx, &s->o, "default_security_groups");
        }
    }
    if (ctx->top_groups_node) {
        topo_check_group_list__(ctx, NULL, ctx->top_groups_node,
                                "default_security_groups", &ctx->top_groups,
                                &ctx->n_top_groups);
    }
}

/* --- the model ------------------------------------------------------------- */

static int
topo_sg_size_cmp__(const void *a_, const void *b_)
{
    size_t a = *(const size_t *) a_, b = *(const size_t *) b_;
    return a < b ? -1 : a > b;
}

/* Raw group indexes -> sorted, unique model indexes. */
static size_t *
topo_sg_list__(const long *raw, size_t n, const size_t *ginv)
{
    size_t *v = xcalloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v[i] = ginv[raw[i]];
    }
    qsort(v, n, sizeof *v, topo_sg_size_cmp__);
    return v;
}

static struct topo_sg_rule *
topo_build_rules__(const struct topo *t, const struct topo_raw_sgrule__ *raw,
                   size_t n, const size_t *ginv)
{
    struct topo_sg_rule *rules = xcalloc(n + 1, sizeof *rules);
    for (size_t i = 0; i < n; i++) {
        const struct topo_raw_sgrule__ *r = &raw[i];
        struct topo_sg_rule *q = &rules[i];
        q->proto = r->proto;
        q->port_min = r->port_min;
        q->port_max = r->port_max;
        q->icmp_type = r->icmp_type;
        q->icmp_code = r->icmp_code;
        q->n_cidrs = r->n_cidrs;
        q->cidrs = xcalloc(r->n_cidrs + 1, sizeof *q->cidrs);
        if (r->n_cidrs) {
            memcpy(q->cidrs, r->cidrs, r->n_cidrs * sizeof *q->cidrs);
        }
        q->remote_group = r->remote_group >= 0 ? ginv[r->remote_group]
                                               : SIZE_MAX;
        q->action = r->action;
        q->log = r->log;
        q->mark = topo_mark__(t, r->o.node);
    }
    return rules;
}

void
topo_build_groups__(struct topo_ctx__ *ctx, struct topo *t,
                    struct topo_raw__ **sv, struct topo_raw__ **pv)
{
    /* ctx->gv is sorted by name and, without errors, holds them all. */
    size_t *ginv = xcalloc(ctx->n_groups + 1, sizeof *ginv);
    for (size_t i = 0; i < ctx->ngv; i++) {
        ginv[(struct topo_raw_sg__ *) (void *) ctx->gv[i] - ctx->groups] = i;
    }

    t->n_groups = ctx->ngv;
    t->groups = xcalloc(ctx->ngv + 1, sizeof *t->groups);
    for (size_t i = 0; i < ctx->ngv; i++) {
        const struct topo_raw_sg__ *r = (const void *) ctx->gv[i];
        struct topo_sg *g = &t->groups[i];
        g->name = xstrdup(r->o.name);
        g->n_ingress = r->n_ingress;
        g->ingress = topo_build_rules__(t, r->ingress, r->n_ingress, ginv);
        g->n_egress = r->n_egress;
        g->egress = topo_build_rules__(t, r->egress, r->n_egress, ginv);
        g->mark = topo_mark__(t, r->o.node);
    }

    t->n_default_groups = ctx->n_top_groups;
    t->default_groups = topo_sg_list__(ctx->top_groups, ctx->n_top_groups,
                                       ginv);
    for (size_t i = 0; i < t->n_switches; i++) {
        const struct topo_raw_switch__ *r = (const void *) sv[i];
        struct topo_switch *s = &t->switches[i];
        s->n_default_groups = r->n_groups;
        s->default_groups = topo_sg_list__(r->groups, r->n_groups, ginv);
    }
    /* A port's groups: its own list, else its switch's default, else the
     * topology's. */
    for (size_t i = 0; i < t->n_ports; i++) {
        const struct topo_raw_port__ *r = (const void *) pv[i];
        struct topo_port *p = &t->ports[i];
        if (r->o.val[PK_GROUPS]) {
            p->n_groups = r->n_groups;
            p->groups = topo_sg_list__(r->groups, r->n_groups, ginv);
        } else {
            const struct topo_switch *s = &t->switches[p->sw];
            const size_t *from = s->default_groups;
            size_t n = s->n_default_groups;
            if (!n) {
                from = t->default_groups;
                n = t->n_default_groups;
            }
            p->n_groups = n;
            p->groups = xcalloc(n + 1, sizeof *p->groups);
            if (n) {
                memcpy(p->groups, from, n * sizeof *p->groups);
            }
        }
    }
    free(ginv);
    LOG_DBG("%s: %zu security groups", ctx->file, t->n_groups);
}

static void
topo_rules_free__(struct topo_sg_rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rules[i].cidrs);
    }
    free(rules);
}

void
topo_groups_free__(struct topo *t)
{
    for (size_t i = 0; i < t->n_groups; i++) {
        free(t->groups[i].name);
        topo_rules_free__(t->groups[i].ingress, t->groups[i].n_ingress);
        topo_rules_free__(t->groups[i].egress, t->groups[i].n_egress);
    }
    free(t->groups);
    free(t->default_groups);
    for (size_t i = 0; i < t->n_switches; i++) {
        free(t->switches[i].default_groups);
    }
    for (size_t i = 0; i < t->n_ports; i++) {
        free(t->ports[i].groups);
    }
}

static void
topo_ctx_rules_destroy__(struct topo_raw_sgrule__ *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rules[i].o.path);
        free(rules[i].cidrs);
    }
    free(rules);
}

void
topo_ctx_groups_destroy__(struct topo_ctx__ *ctx)
{
    for (size_t i = 0; i < ctx->n_groups; i++) {
        free(ctx->groups[i].o.path);
        topo_ctx_rules_destroy__(ctx->groups[i].ingress,
                                 ctx->groups[i].n_ingress);
        topo_ctx_rules_destroy__(ctx->groups[i].egress,
                                 ctx->groups[i].n_egress);
    }
    free(ctx->groups);
    free(ctx->gv);
    free(ctx->top_groups);
    for (size_t i = 0; i < ctx->n_ports; i++) {
        free(ctx->ports[i].groups);
    }
    for (size_t i = 0; i < ctx->n_switches; i++) {
        free(ctx->switches[i].groups);
    }
}
