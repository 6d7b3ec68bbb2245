/* compile-sg.c — security groups: stateful ACLs of each port on its own
 * host (docs/pipeline.md, "Security groups").
 *
 * What: a port with groups sends its IPv4 traffic through conntrack in its
 * own zone (COMPILE_SG_ZONE_BASE + its OpenFlow number) twice: as the
 * sender in tables 20/21 (egress rules) before L2, and as the receiver in
 * tables 60/61 (ingress rules) before output.  Replies (+est, +rel) pass,
 * +inv drops, and a new connection is checked against the rules of the
 * port's groups.
 *
 * Semantics: a new connection is allowed when ANY of the port's groups
 * allows it, a group deciding by its first matching rule in file order.
 * The rules table evaluates one group at a time, the group's position
 * (slot, name order) in reg6: a rule of slot j matches reg6=j at priority
 * 30000 - index; allow commits and continues; deny or no match moves on to
 * slot j+1 (set reg6, resubmit to the same table); reject notes itself in
 * reg7 and moves on.  Past the last group, reg7=1 sends the packet to the
 * agent (REJECT packet action) and anything else drops.  So a deny or
 * reject in one group never overrides an allow in another.
 *
 * Conjunctions: a rule whose remote addresses (cidrs, or the addresses of
 * the members of its remote group) and destination port prefixes
 * (compile-ranges.c) both number more than one compiles to one flow per
 * address with conjunction(id,1/2), one per port prefix with
 * conjunction(id,2/2) and one conj_id=id flow with the verdict: N + M + 1
 * flows instead of N x M.  Ids are unique per host and table:
 * ofport << 20 | direction << 19 | slot << 15 | rule index.
 *
 * Reject: the agent answers from the packet alone (TCP RST, ICMP port
 * unreachable) and injects the answer into table 30 of the filtered port's
 * switch (the packet action's network_vni), so that it reaches a sender on
 * another host too.  Each host has one REJECT action per switch with a
 * port that rejects: id 4000 + k, the k-th such switch by VNI, assigned
 * before a flush for the hosts of dirty ports (ports whose id changes are
 * recompiled).  The agent's answers (in_port=CONTROLLER) skip the ingress
 * ACL of the port they go to: a reject of a connection that was never
 * committed would be +inv there.
 *
 * Logging: a rule with the log flag sends packets to the agent (the
 * host's LOG packet action, id COMPILE_PA_LOG_ID) under its own cookie,
 * which names the rule.  An allow rule does it in its verdict flow, so
 * only the first packet of each connection is logged (the others are
 * +est).  Whether a deny or reject rule's packet is denied is known only
 * past the last group (another group may allow it), so such a rule notes
 * itself in reg5 (slot << 15 | index, + 1) and moves on; past the last
 * group, one flow per logged rule (match reg5) sends the packet to the
 * agent with that rule's cookie, after the REJECT when reg7 says so.
 * The agent rate-limits what it reports (agent/pkt.h).
 *
 * Incrementality: a port's ACL flows are part of its own flows (struct
 * cport.fl).  A group whose rules change dirties its members; a group
 * whose members' addresses change (a port joins, leaves, or changes ip)
 * dirties the members of every group with a rule naming it as remote
 * group, nothing else: the hosts of other ports see no delta.
 */
#include "controller/compile-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/topo.h"
#include "lib/addr.h"
#include "lib/util.h"

#define SG_ETH_IP 0x0800
#define SG_ETH_ARP 0x0806
/* Priorities in the rules tables below the rules (30000 - i): */
#define SG_PRIO_LOG 3           /* logged deny/reject: LOG (and REJECT) */
#define SG_PRIO_NEXT 2          /* next group; REJECT past the last one */
#define SG_PRIO_DENY 1          /* the port's default deny */
#define SG_CS_NEW 0x01u
#define SG_CS_EST 0x02u
#define SG_CS_REL 0x04u
#define SG_CS_INV 0x10u
#define SG_CS_TRK 0x20u
#define SG_CT_COMMIT 1
#define SG_CT_NO_TABLE 0xff
#define SG_RULE_PRIO 30000
#define SG_MAX_RULES 20000     /* priorities stay above 1, ids in 15 bits */

/* --- model ------------------------------------------------------------- */

static void
sg_rules_free__(struct csg *g)
{
    for (int d = 0; d < 2; d++) {
        for (size_t i = 0; i < g->n_rules[d]; i++) {
            free(g->rules[d][i].cidrs);
        }
        free(g->rules[d]);
        g->rules[d] = NULL;
        g->n_rules[d] = 0;
    }
}

void
compile_sg_free(struct compiler *c)
{
    for (size_t i = 0; i < c->n_sgs; i++) {
        sg_rules_free__(&c->sgs[i]);
        free(c->sgs[i].name);
        free(c->sgs[i].members);
    }
    free(c->sgs);
    cmap_destroy(&c->sg_map);
}

static uint64_t
sg_mix__(uint64_t h, uint64_t x)
{
    for (int i = 0; i < 8; i++) {
        h ^= (x >> (8 * i)) & 0xff;
        h *= 1099511628211ULL;
    }
    return h;
}

/* Copies the rules of one direction, remote groups resolved to csg ids
 * through 'ids', and hashes them (remote groups by name) into '*h'. */
static void
sg_copy_rules__(const struct topo *t, const struct topo_sg_rule *tr,
                size_t n, const uint32_t *ids, struct csg_rule **out,
                size_t *n_out, uint64_t *h)
{
    *out = xcalloc(n + 1, sizeof **out);
    *n_out = n;
    *h = sg_mix__(*h, n);
    for (size_t i = 0; i < n; i++) {
        struct csg_rule *r = &(*out)[i];
        r->proto = (uint8_t) tr[i].proto;
        r->action = (uint8_t) tr[i].action;
        r->port_min = tr[i].port_min;
        r->port_max = tr[i].port_max;
        r->icmp_type = tr[i].icmp_type;
        r->icmp_code = tr[i].icmp_code;
        r->n_cidrs = tr[i].n_cidrs;
        r->cidrs = xcalloc(r->n_cidrs + 1, sizeof *r->cidrs);
        for (size_t k = 0; k < r->n_cidrs; k++) {
            r->cidrs[k].net = tr[i].cidrs[k].net;
            r->cidrs[k].plen = tr[i].cidrs[k].plen;
            *h = sg_mix__(*h, (uint64_t) r->cidrs[k].net << 8
                              | r->cidrs[k].plen);
        }
        r->remote = tr[i].remote_group == SIZE_MAX
                    ? CE_NONE : ids[tr[i].remote_group];
        r->line = tr[i].mark.line;
        r->col = tr[i].mark.col;
        r->log = tr[i].log;
        *h = sg_mix__(*h, (uint64_t) r->proto << 56 | (uint64_t) r->action << 48
                          | (uint64_t) r->port_min << 16 | r->port_max);
        *h = sg_mix__(*h, (uint64_t) (uint32_t) r->icmp_type << 32
                          | (uint32_t) r->icmp_code);
        *h = sg_mix__(*h, (uint64_t) r->n_cidrs << 1 | r->log);
        *h = sg_mix__(*h, tr[i].remote_group == SIZE_MAX ? 0
                      : compile_hash64(t->groups[tr[i].remote_group].name));
        /* Cookies and provenance name the line: a moved rule is a
         * changed rule. */
        *h = sg_mix__(*h, (uint64_t) r->line << 32 | r->col);
    }
}

uint32_t *
compile_sg_apply_groups(struct compiler *c, const struct topo *t)
{
    uint32_t *ids = xmalloc((t->n_groups + 1) * sizeof *ids);

    for (size_t i = 0; i < c->n_sgs; i++) {
        c->sgs[i].seen = false;
    }
    for (size_t i = 0; i < t->n_groups; i++) {
        uint32_t id = cmap_find(&c->sg_map, t->groups[i].name);
        if (id == CE_NONE) {
            c->sgs = xgrow(c->sgs, &c->cap_sgs, c->n_sgs + 1, sizeof *c->sgs);
            id = (uint32_t) c->n_sgs++;
            struct csg *g = &c->sgs[id];
            memset(g, 0, sizeof *g);
            g->name = xstrdup(t->groups[i].name);
            g->live = true;
            g->rules_dirty = true;
            cmap_insert(&c->sg_map, g->name, id);
        }
        c->sgs[id].seen = true;
        ids[i] = id;
    }
    for (size_t i = 0; i < t->n_groups; i++) {
        const struct topo_sg *tg = &t->groups[i];
        struct csg *g = &c->sgs[ids[i]];
        struct csg_rule *rules[2];
        size_t n_rules[2];
        uint64_t h = 14695981039346656037ULL;

        sg_copy_rules__(t, tg->ingress, tg->n_ingress, ids, &rules[0],
                        &n_rules[0], &h);
        sg_copy_rules__(t, tg->egress, tg->n_egress, ids, &rules[1],
                        &n_rules[1], &h);
        g->line = tg->mark.line;
        g->col = tg->mark.col;
        if (h != g->hash || g->rules_dirty) {
            g->hash = h;
            g->rules_dirty = true;
        }
        /* Keep the new copies in any case: their remote ids are current. */
        sg_rules_free__(g);
        for (int d = 0; d < 2; d++) {
            g->rules[d] = rules[d];
            g->n_rules[d] = n_rules[d];
        }
    }
    return ids;
}

void
compile_sg_finish_apply(struct compiler *c)
{
    for (size_t i = 0; i < c->n_sgs; i++) {
        struct csg *g = &c->sgs[i];
        if (g->live && !g->seen) {
            /* A validated topology has no port and no rule naming it. */
            cmap_remove(&c->sg_map, g->name);
            sg_rules_free__(g);
            g->live = false;
            g->rules_dirty = g->members_dirty = false;
            g->n_members = 0;
        }
    }
}

static void
sg_member_add__(struct compiler *c, uint32_t g, uint32_t p)
{
    struct csg *sg = &c->sgs[g];
    compile_push__(&sg->members, &sg->n_members, &sg->cap_members, p);
    sg->members_dirty = true;
}

static void
sg_member_del__(struct compiler *c, uint32_t g, uint32_t p)
{
    struct csg *sg = &c->sgs[g];
    for (size_t i = 0; i < sg->n_members; i++) {
        if (sg->members[i] == p) {
            sg->members[i] = sg->members[--sg->n_members];
            break;
        }
    }
    sg->members_dirty = true;
}

static bool
sg_has__(const uint32_t *v, size_t n, uint32_t x)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] == x) {
            return true;
        }
    }
    return false;
}

void
compile_sg_port_set(struct compiler *c, uint32_t p, const uint32_t *ids,
                    size_t n)
{
    struct cport *cp = &c->ports[p];

    if (ids && (n != cp->n_sg
                || (n && memcmp(ids, cp->sg, n * sizeof *ids)))) {
        for (size_t i = 0; i < cp->n_sg; i++) {
            if (!sg_has__(ids, n, cp->sg[i])) {
                sg_member_del__(c, cp->sg[i], p);
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (!sg_has__(cp->sg, cp->n_sg, ids[i])) {
                sg_member_add__(c, ids[i], p);
            }
        }
        if (!cp->n_sg != !n && !cp->localnet) {
            /* Its switch's floods deliver to a filtered port through its
             * ingress ACL, to another one directly. */
            compile_dirty_switch__(c, cp->sw);
        }
        free(cp->sg);
        cp->sg = n ? xmalloc(n * sizeof *cp->sg) : NULL;
        if (n) {
            util_memcpy(cp->sg, ids, n * sizeof *ids);
        }
        cp->n_sg = n;
        compile_dirty_port__(c, p);
    }
    if (cp->sg_ip != cp->ip) {
        for (size_t i = 0; i < cp->n_sg; i++) {
            c->sgs[cp->sg[i]].members_dirty = true;
        }
        cp->sg_ip = cp->ip;
    }
}

void
compile_sg_port_forget(struct compiler *c, uint32_t p)
{
    struct cport *cp = &c->ports[p];
    for (size_t i = 0; i < cp->n_sg; i++) {
        sg_member_del__(c, cp->sg[i], p);
    }
    free(cp->sg);
    cp->sg = NULL;
    cp->n_sg = 0;
}

static void
sg_dirty_members__(struct compiler *c, const struct csg *g)
{
    for (size_t i = 0; i < g->n_members; i++) {
        compile_dirty_port__(c, g->members[i]);
    }
}

static bool
sg_references__(const struct csg *g, uint32_t remote)
{
    for (int d = 0; d < 2; d++) {
        for (size_t i = 0; i < g->n_rules[d]; i++) {
            if (g->rules[d][i].remote == remote) {
                return true;
            }
        }
    }
    return false;
}

static bool sg_port_rejects__(const struct compiler *, const struct cport *,
                              int d);

static bool
sg_port_rejects_any__(const struct compiler *c, const struct cport *cp)
{
    return cp->live && !cp->localnet && cp->n_sg
           && (sg_port_rejects__(c, cp, 0) || sg_port_rejects__(c, cp, 1));
}

static int
sg_vni_cmp__(const void *a_, const void *b_, void *c_)
{
    const struct compiler *c = c_;
    uint32_t a = c->switches[*(const uint32_t *) a_].vni;
    uint32_t b = c->switches[*(const uint32_t *) b_].vni;
    return a < b ? -1 : a > b;
}

/* Gives the ports of host 'h' the REJECT ids of their switches, dirtying
 * those whose id changes. */
static void
sg_assign_rejects__(struct compiler *c, uint32_t h)
{
    const struct chost *ch = &c->hosts[h];
    uint32_t *sws = xmalloc((ch->n_ports + 1) * sizeof *sws);
    size_t n = 0;

    for (size_t i = 0; i < ch->n_ports; i++) {
        const struct cport *cp = &c->ports[ch->ports[i]];
        if (sg_port_rejects_any__(c, cp) && !sg_has__(sws, n, cp->sw)) {
            sws[n++] = cp->sw;
        }
    }
    util_qsort_r(sws, n, sizeof *sws, sg_vni_cmp__, c);
    for (size_t i = 0; i < ch->n_ports; i++) {
        uint32_t p = ch->ports[i];
        struct cport *cp = &c->ports[p];
        uint16_t id = 0;
        if (sg_port_rejects_any__(c, cp)) {
            for (size_t k = 0; k < n && k < COMPILE_PA_REJECT_MAX; k++) {
                if (sws[k] == cp->sw) {
                    id = (uint16_t) (COMPILE_PA_REJECT_ID + k);
                }
            }
        }
        if (id != cp->reject_id) {
            cp->reject_id = id;
            compile_dirty_port__(c, p);
        }
    }
    free(sws);
}

void
compile_sg_prepare(struct compiler *c)
{
    for (size_t i = 0; i < c->n_sgs; i++) {
        struct csg *g = &c->sgs[i];
        if (g->rules_dirty) {
            g->rules_dirty = false;
            sg_dirty_members__(c, g);
        }
    }
    for (size_t i = 0; i < c->n_sgs; i++) {
        if (!c->sgs[i].members_dirty) {
            continue;
        }
        c->sgs[i].members_dirty = false;
        for (size_t k = 0; k < c->n_sgs; k++) {
            if (c->sgs[k].live && sg_references__(&c->sgs[k], (uint32_t) i)) {
                sg_dirty_members__(c, &c->sgs[k]);
            }
        }
    }

    /* REJECT ids of the hosts of dirty ports (before and after a move). */
    uint32_t *hosts = xmalloc((2 * c->n_dirty_ports + 1) * sizeof *hosts);
    size_t nh = 0;
    c->stamp++;
    for (size_t i = 0; i < c->n_dirty_ports; i++) {
        const struct cport *cp = &c->ports[c->dirty_ports[i]];
        uint32_t hs[2] = { cp->live ? cp->host : CE_NONE, cp->fl_host };
        for (int k = 0; k < 2; k++) {
            if (hs[k] != CE_NONE && c->hosts[hs[k]].live
                && c->hosts[hs[k]].stamp != c->stamp) {
                c->hosts[hs[k]].stamp = c->stamp;
                hosts[nh++] = hs[k];
            }
        }
    }
    for (size_t i = 0; i < nh; i++) {
        sg_assign_rejects__(c, hosts[i]);
    }
    free(hosts);
}

/* --- flows --------------------------------------------------------------- */

/* One direction of a port's ACL. */
struct sg_dir {
    int d;                      /* 0 ingress, 1 egress */
    uint8_t entry, rules, next; /* tables */
    unsigned int port_reg;      /* FF_REG15 / FF_REG14 */
    unsigned int remote_field;  /* FF_IPV4_SRC / FF_IPV4_DST */
};

static const struct sg_dir sg_dirs__[2] = {
    { 0, TBL_ACL_OUT, TBL_ACL_OUT_RULES, TBL_OUTPUT, FF_REG15, FF_IPV4_SRC },
    { 1, TBL_ACL_IN, TBL_ACL_IN_RULES, TBL_L2, FF_REG14, FF_IPV4_DST },
};

static const char *const sg_dir_names__[2] = { "ingress", "egress" };

static uint64_t
sg_rule_cookie__(unsigned int rule, const char *group, int d, size_t i)
{
    char path[256];
    snprintf(path, sizeof path, "security_groups.%s.%s[%zu]", group,
             sg_dir_names__[d], i);
    return compile_cookie(COMPILE_KIND_SG, rule, path);
}

static void
sg_port_flow__(struct flow *f, const struct sg_dir *dir, uint8_t table,
               uint16_t prio, unsigned int rule, const struct cport *cp)
{
    flow_init(f, table, prio, compile_cookie(COMPILE_KIND_PORT, rule,
                                             cp->name));
    compile_match__(f, dir->port_reg, cp->ofport, 0);
}

/* Continue with the next group (slot j + 1), noting a reject. */
static void
sg_next_group__(struct flow *f, const struct sg_dir *dir, size_t j,
                bool reject)
{
    if (reject) {
        flow_set_field(f, FF_REG7, 1);
    }
    flow_set_field(f, FF_REG6, j + 1);
    flow_resubmit(f, dir->rules);
}

static int
sg_u64_cmp__(const void *a_, const void *b_)
{
    uint64_t a = *(const uint64_t *) a_, b = *(const uint64_t *) b_;
    return a < b ? -1 : a > b;
}

/* The remote addresses of rule 'r' as (net << 8 | plen), sorted and
 * unique, into '*v'; returns their number, 0 for "none at all" (an empty
 * remote group) and sets '*any' when any address matches. */
static size_t
sg_remotes__(const struct compiler *c, const struct csg_rule *r,
             uint64_t **v, bool *any)
{
    size_t n = 0;
    *any = false;
    if (r->remote != CE_NONE) {
        const struct csg *g = &c->sgs[r->remote];
        *v = xcalloc(g->n_members + 1, sizeof **v);
        for (size_t i = 0; i < g->n_members; i++) {
            uint32_t ip = c->ports[g->members[i]].ip;
            if (ip) {
                (*v)[n++] = (uint64_t) ip << 8 | 32;
            }
        }
    } else if (r->n_cidrs) {
        *v = xcalloc(r->n_cidrs + 1, sizeof **v);
        for (size_t i = 0; i < r->n_cidrs; i++) {
            if (!r->cidrs[i].plen) {
                *any = true;
                return 1;
            }
            (*v)[n++] = (uint64_t) r->cidrs[i].net << 8 | r->cidrs[i].plen;
        }
    } else {
        *any = true;
        return 1;
    }
    if (n) {
        util_qsort(*v, n, sizeof **v, sg_u64_cmp__);
    }
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (!out || (*v)[out - 1] != (*v)[i]) {
            (*v)[out++] = (*v)[i];
        }
    }
    return out;
}

static void
sg_match_remote__(struct flow *f, const struct sg_dir *dir, uint64_t rem)
{
    unsigned int plen = rem & 0xff;
    compile_match__(f, dir->remote_field, rem >> 8,
                    plen >= 32 ? 0 : ip4_mask(plen));
}

static void
sg_match_port__(struct flow *f, const struct csg_rule *r,
                const struct compile_port_mask *m)
{
    unsigned int field = r->proto == TOPO_SG_TCP ? FF_TCP_DST : FF_UDP_DST;
    compile_match__(f, field, m->value, m->mask == 0xffff ? 0 : m->mask);
}

/* The fields every flow of rule 'r' (slot j) matches. */
static void
sg_rule_base__(struct flow *f, const struct sg_dir *dir,
               const struct cport *cp, size_t j, const struct csg_rule *r)
{
    static const uint8_t protos[] = {
        [TOPO_SG_TCP] = 6, [TOPO_SG_UDP] = 17, [TOPO_SG_ICMP] = 1,
    };
    compile_match__(f, dir->port_reg, cp->ofport, 0);
    compile_match__(f, FF_REG6, j, 0);
    compile_match__(f, FF_ETH_TYPE, SG_ETH_IP, 0);
    if (r->proto != TOPO_SG_ANY) {
        compile_match__(f, FF_IP_PROTO, protos[r->proto], 0);
    }
    if (r->proto == TOPO_SG_ICMP && r->icmp_type >= 0) {
        compile_match__(f, FF_ICMP_TYPE, (uint64_t) r->icmp_type, 0);
    }
    if (r->proto == TOPO_SG_ICMP && r->icmp_code >= 0) {
        compile_match__(f, FF_ICMP_CODE, (uint64_t) r->icmp_code, 0);
    }
}

/* The reg5 note of a logged deny or reject rule 'i' of slot 'j': nonzero,
 * unique within the port and direction. */
static uint32_t
sg_log_tag__(size_t j, size_t i)
{
    return (uint32_t) (j << 15 | i) + 1;
}

/* Sends the packet to the agent as a LOG (the flow's cookie names the
 * rule); the packet goes on with the next action. */
static void
sg_log__(struct flow *f)
{
    flow_add_action(f, FA_CONTROLLER, 0, 0xffff, COMPILE_PA_LOG_ID);
}

static void
sg_verdict__(struct flow *f, const struct sg_dir *dir, uint16_t zone,
             size_t j, size_t i, const struct csg_rule *r)
{
    if (r->log && r->action != TOPO_SG_ALLOW) {
        /* Whether the packet is denied is known past the last group. */
        flow_set_field(f, FF_REG5, sg_log_tag__(j, i));
    }
    switch (r->action) {
    case TOPO_SG_ALLOW:
        flow_add_action(f, FA_CT, SG_CT_COMMIT, zone, SG_CT_NO_TABLE);
        if (r->log) {
            sg_log__(f);
        }
        flow_resubmit(f, dir->next);
        break;
    case TOPO_SG_REJECT:
        sg_next_group__(f, dir, j, true);
        break;
    default:
        sg_next_group__(f, dir, j, false);
        break;
    }
}

/* Rule 'i' of group 'g' in slot 'j' for port 'cp'. */
static void
sg_gen_rule__(const struct compiler *c, const struct cport *cp,
              const struct sg_dir *dir, size_t j, const struct csg *g,
              size_t i, struct cbuf *out)
{
    const struct csg_rule *r = &g->rules[dir->d][i];
    uint16_t prio = (uint16_t) (SG_RULE_PRIO - i);
    uint16_t zone = (uint16_t) (COMPILE_SG_ZONE_BASE + cp->ofport);
    uint64_t verdict = sg_rule_cookie__(COMPILE_SG_RULE, g->name, dir->d, i);
    struct compile_port_mask masks[COMPILE_MAX_PORT_MASKS];
    size_t n_masks = 0;
    uint64_t *rem = NULL;
    bool any_rem;
    struct flow f;

    size_t n_rem = sg_remotes__(c, r, &rem, &any_rem);
    if (!n_rem) {
        free(rem);
        return;                 /* an empty remote group matches nothing */
    }
    if ((r->proto == TOPO_SG_TCP || r->proto == TOPO_SG_UDP)
        && (r->port_min || r->port_max)) {
        n_masks = compile_port_range_masks(r->port_min, r->port_max, masks);
        if (n_masks == 1 && !masks[0].mask) {
            n_masks = 0;        /* 0-65535: any port */
        }
    }

    if (n_rem > 1 && n_masks > 1) {
        uint32_t id = cp->ofport << 20 | (uint32_t) dir->d << 19
                      | (uint32_t) j << 15 | (uint32_t) i;
        uint64_t clause = sg_rule_cookie__(COMPILE_SG_CLAUSE, g->name,
                                           dir->d, i);
        for (size_t k = 0; k < n_rem; k++) {
            flow_init(&f, dir->rules, prio, clause);
            sg_rule_base__(&f, dir, cp, j, r);
            sg_match_remote__(&f, dir, rem[k]);
            flow_add_action(&f, FA_CONJUNCTION, 1, id, 2);
            compile_emit__(out, &f);
        }
        for (size_t k = 0; k < n_masks; k++) {
            flow_init(&f, dir->rules, prio, clause);
            sg_rule_base__(&f, dir, cp, j, r);
            sg_match_port__(&f, r, &masks[k]);
            flow_add_action(&f, FA_CONJUNCTION, 2, id, 2);
            compile_emit__(out, &f);
        }
        /* OVS checks the verdict's actions against this flow's own
         * match: ct() needs the IPv4 prerequisite here too. */
        flow_init(&f, dir->rules, prio, verdict);
        compile_match__(&f, FF_CONJ_ID, id, 0);
        compile_match__(&f, FF_ETH_TYPE, SG_ETH_IP, 0);
        sg_verdict__(&f, dir, zone, j, i, r);
        compile_emit__(out, &f);
    } else {
        /* One dimension has a single value: the product is linear. */
        for (size_t a = 0; a < n_rem; a++) {
            for (size_t k = 0; k < (n_masks ? n_masks : 1); k++) {
                flow_init(&f, dir->rules, prio, verdict);
                sg_rule_base__(&f, dir, cp, j, r);
                if (!any_rem) {
                    sg_match_remote__(&f, dir, rem[a]);
                }
                if (n_masks) {
                    sg_match_port__(&f, r, &masks[k]);
                }
                sg_verdict__(&f, dir, zone, j, i, r);
                compile_emit__(out, &f);
            }
        }
    }
    free(rem);
}

static bool
sg_port_rejects__(const struct compiler *c, const struct cport *cp, int d)
{
    for (size_t j = 0; j < cp->n_sg; j++) {
        const struct csg *g = &c->sgs[cp->sg[j]];
        for (size_t i = 0; i < g->n_rules[d]; i++) {
            if (g->rules[d][i].action == TOPO_SG_REJECT) {
                return true;
            }
        }
    }
    return false;
}

/* True if a rule of the port's groups in direction 'd' (either when 'd' is
 * -1) has the log flag, only deny and reject rules counting when
 * 'denials'. */
static bool
sg_port_logs__(const struct compiler *c, const struct cport *cp, int d,
               bool denials)
{
    for (size_t j = 0; j < cp->n_sg; j++) {
        const struct csg *g = &c->sgs[cp->sg[j]];
        for (int k = 0; k < 2; k++) {
            for (size_t i = 0; (d < 0 || d == k) && i < g->n_rules[k]; i++) {
                const struct csg_rule *r = &g->rules[k][i];
                if (r->log && (!denials || r->action != TOPO_SG_ALLOW)) {
                    return true;
                }
            }
        }
    }
    return false;
}

/* Past the last group, a packet no group allowed that a logged deny or
 * reject rule noted in reg5 goes to the agent as a LOG, under the cookie
 * of that rule (rejected: after its REJECT). */
static void
sg_gen_denial_logs__(const struct compiler *c, const struct cport *cp,
                     const struct sg_dir *dir, bool rejects,
                     struct cbuf *out)
{
    for (size_t j = 0; j < cp->n_sg; j++) {
        const struct csg *g = &c->sgs[cp->sg[j]];
        size_t n = g->n_rules[dir->d] < SG_MAX_RULES ? g->n_rules[dir->d]
                                                     : SG_MAX_RULES;
        for (size_t i = 0; i < n; i++) {
            const struct csg_rule *r = &g->rules[dir->d][i];
            if (!r->log || r->action == TOPO_SG_ALLOW) {
                continue;
            }
            uint64_t cookie = sg_rule_cookie__(COMPILE_SG_RULE, g->name,
                                               dir->d, i);
            for (uint32_t rej = 0; rej <= (rejects && cp->reject_id); rej++) {
                struct flow f;
                flow_init(&f, dir->rules, SG_PRIO_LOG, cookie);
                compile_match__(&f, dir->port_reg, cp->ofport, 0);
                compile_match__(&f, FF_REG6, cp->n_sg, 0);
                compile_match__(&f, FF_REG7, rej, 0);
                compile_match__(&f, FF_REG5, sg_log_tag__(j, i), 0);
                if (rej) {
                    flow_add_action(&f, FA_CONTROLLER, 0, 0xffff,
                                    cp->reject_id);
                }
                sg_log__(&f);
                compile_emit__(out, &f);
            }
        }
    }
}

void
compile_sg_gen_port(const struct compiler *c, const struct cport *cp,
                    struct cbuf *out)
{
    if (!compile_port_filtered(cp)) {
        return;
    }
    uint16_t zone = (uint16_t) (COMPILE_SG_ZONE_BASE + cp->ofport);
    for (int d = 0; d < 2; d++) {
        const struct sg_dir *dir = &sg_dirs__[d];
        bool rejects = sg_port_rejects__(c, cp, d);
        bool logs = sg_port_logs__(c, cp, d, true);
        struct flow f;

        /* Entry: IPv4 into conntrack in the port's zone; the group slot,
         * the reject note and the log note (if the port has one) start
         * at 0.  ARP passes; any other EtherType (IPv6, ...) is dropped:
         * no rule can allow it, and the port is default-deny. */
        sg_port_flow__(&f, dir, dir->entry, 100, COMPILE_PORT_ACL_CT, cp);
        compile_match__(&f, FF_ETH_TYPE, SG_ETH_IP, 0);
        flow_set_field(&f, FF_REG6, 0);
        flow_set_field(&f, FF_REG7, 0);
        if (logs) {
            flow_set_field(&f, FF_REG5, 0);
        }
        flow_add_action(&f, FA_CT, 0, zone, dir->rules);
        compile_emit__(out, &f);
        sg_port_flow__(&f, dir, dir->entry, 90, COMPILE_PORT_ACL_ARP, cp);
        compile_match__(&f, FF_ETH_TYPE, SG_ETH_ARP, 0);
        flow_resubmit(&f, dir->next);
        compile_emit__(out, &f);
        sg_port_flow__(&f, dir, dir->entry, 80, COMPILE_PORT_ACL_OTHER, cp);
        compile_emit__(out, &f);

        if (dir->d == 1) {
            /* DHCP (renewals from the port's ip) reaches the agent
             * whatever the egress rules say. */
            sg_port_flow__(&f, dir, dir->entry, 110, COMPILE_PORT_ACL_DHCP,
                           cp);
            compile_match__(&f, FF_ETH_TYPE, SG_ETH_IP, 0);
            compile_match__(&f, FF_IP_PROTO, 17, 0);
            compile_match__(&f, FF_UDP_SRC, 68, 0);
            compile_match__(&f, FF_UDP_DST, 67, 0);
            flow_resubmit(&f, dir->next);
            compile_emit__(out, &f);
        }

        sg_port_flow__(&f, dir, dir->rules, 65000, COMPILE_PORT_ACL_INV, cp);
        compile_match__(&f, FF_CT_STATE, SG_CS_INV | SG_CS_TRK,
                        SG_CS_INV | SG_CS_TRK);
        compile_emit__(out, &f);
        static const uint32_t ok[] = { SG_CS_EST, SG_CS_REL };
        for (size_t k = 0; k < ARRAY_SIZE(ok); k++) {
            sg_port_flow__(&f, dir, dir->rules, 64000, COMPILE_PORT_ACL_EST,
                           cp);
            compile_match__(&f, FF_CT_STATE, ok[k] | SG_CS_TRK,
                            ok[k] | SG_CS_TRK);
            flow_resubmit(&f, dir->next);
            compile_emit__(out, &f);
        }

        for (size_t j = 0; j < cp->n_sg; j++) {
            const struct csg *g = &c->sgs[cp->sg[j]];
            size_t n = g->n_rules[d] < SG_MAX_RULES ? g->n_rules[d]
                                                    : SG_MAX_RULES;
            for (size_t i = 0; i < n; i++) {
                sg_gen_rule__(c, cp, dir, j, g, i, out);
            }
            if (j + 1 < cp->n_sg || rejects || logs) {
                sg_port_flow__(&f, dir, dir->rules, SG_PRIO_NEXT,
                               COMPILE_PORT_ACL_NEXT,
                               cp);
                compile_match__(&f, FF_REG6, j, 0);
                sg_next_group__(&f, dir, j, false);
                compile_emit__(out, &f);
            }
        }
        if (rejects && cp->reject_id) {
            sg_port_flow__(&f, dir, dir->rules, SG_PRIO_NEXT,
                           COMPILE_PORT_ACL_REJECT,
                           cp);
            compile_match__(&f, FF_REG6, cp->n_sg, 0);
            compile_match__(&f, FF_REG7, 1, 0);
            flow_add_action(&f, FA_CONTROLLER, 0, 0xffff, cp->reject_id);
            compile_emit__(out, &f);
        }
        if (logs) {
            sg_gen_denial_logs__(c, cp, dir, rejects, out);
        }
        /* No group allowed (nor logged, nor rejected): drop, under the
         * port's own cookie, so its counters tell how much the port's
         * default deny dropped in this direction. */
        sg_port_flow__(&f, dir, dir->rules, SG_PRIO_DENY,
                       dir->d ? COMPILE_PORT_ACL_DENY_OUT
                              : COMPILE_PORT_ACL_DENY_IN, cp);
        compile_emit__(out, &f);
        if (dir->d == 0) {
            /* The agent's answers (DHCP, ICMP errors, rejects) are not
             * filtered on their way in. */
            sg_port_flow__(&f, dir, dir->entry, 110, COMPILE_PORT_ACL_AGENT,
                           cp);
            compile_match__(&f, FF_IN_PORT, OFPP_CONTROLLER, 0);
            flow_resubmit(&f, dir->next);
            compile_emit__(out, &f);
        }
    }
}

void
compile_sg_host_actions(const struct compiler *c, uint32_t h,
                        struct compiled_packet_action **v, size_t *n,
                        size_t *cap)
{
    const struct chost *ch = &c->hosts[h];
    uint8_t seen[COMPILE_PA_REJECT_MAX] = { 0 };
    bool log = false;
    for (size_t i = 0; i < ch->n_ports; i++) {
        const struct cport *cp = &c->ports[ch->ports[i]];
        log = log || (!cp->localnet && sg_port_logs__(c, cp, -1, false));
        if (!cp->reject_id || seen[cp->reject_id - COMPILE_PA_REJECT_ID]) {
            continue;
        }
        seen[cp->reject_id - COMPILE_PA_REJECT_ID] = 1;
        *v = xgrow(*v, cap, *n + 1, sizeof **v);
        struct compiled_packet_action *a = &(*v)[(*n)++];
        memset(a, 0, sizeof *a);
        a->id = cp->reject_id;
        a->kind = COMPILE_PA_REJECT;
        a->network_vni = c->switches[cp->sw].vni;
    }
    if (log) {
        *v = xgrow(*v, cap, *n + 1, sizeof **v);
        struct compiled_packet_action *a = &(*v)[(*n)++];
        memset(a, 0, sizeof *a);
        a->id = COMPILE_PA_LOG_ID;
        a->kind = COMPILE_PA_LOG;
    }
}

/* --- provenance ------------------------------------------------------------ */

static const char *const sg_proto_names__[] = {
    [TOPO_SG_ANY] = "any", [TOPO_SG_TCP] = "tcp", [TOPO_SG_UDP] = "udp",
    [TOPO_SG_ICMP] = "icmp",
};
static const char *const sg_action_names__[] = {
    [TOPO_SG_ALLOW] = "allow", [TOPO_SG_DENY] = "deny",
    [TOPO_SG_REJECT] = "reject",
};

/* The live group, direction and rule index 'cookie' names: true and
 * '*g', '*d', '*i', or false. */
static bool
sg_find_rule__(const struct compiler *c, uint64_t cookie,
               const struct csg **g_, int *d_, size_t *i_)
{
    unsigned int sub = (cookie >> 48) & 0xff;
    if (sub != COMPILE_SG_RULE && sub != COMPILE_SG_CLAUSE) {
        return false;
    }
    for (size_t k = 0; k < c->n_sgs; k++) {
        const struct csg *g = &c->sgs[k];
        for (int d = 0; g->live && d < 2; d++) {
            for (size_t i = 0; i < g->n_rules[d]; i++) {
                if (sg_rule_cookie__(sub, g->name, d, i) == cookie) {
                    *g_ = g;
                    *d_ = d;
                    *i_ = i;
                    return true;
                }
            }
        }
    }
    return false;
}

bool
compiler_sg_rule(const struct compiler *c, uint64_t cookie,
                 struct compile_sg_rule_info *out)
{
    const struct csg *g;
    int d;
    size_t i;

    if (!c || !sg_find_rule__(c, cookie, &g, &d, &i)) {
        return false;
    }
    const struct csg_rule *r = &g->rules[d][i];
    *out = (struct compile_sg_rule_info) {
        .group = g->name, .direction = sg_dir_names__[d], .index = i,
        .action = sg_action_names__[r->action], .log = r->log,
        .line = r->line, .col = r->col,
    };
    return true;
}

bool
compile_sg_prov(struct compiler *c, uint64_t cookie, char **object,
                char **rule, uint32_t *line, uint32_t *col)
{
    unsigned int sub = (cookie >> 48) & 0xff;
    const struct csg *g;
    int d;
    size_t i;

    if (!sg_find_rule__(c, cookie, &g, &d, &i)) {
        return false;
    }
    const struct csg_rule *r = &g->rules[d][i];
    char ports[32] = "";
    if (r->port_min || r->port_max) {
        snprintf(ports, sizeof ports, r->port_min == r->port_max
                 ? " port %u" : " ports %u-%u", (unsigned int) r->port_min,
                 (unsigned int) r->port_max);
    }
    *object = xasprintf("security_groups.%s.%s[%zu]", g->name,
                        sg_dir_names__[d], i);
    *rule = xasprintf("acl: %s%s %s%s %s %s%s",
                      sub == COMPILE_SG_CLAUSE ? "(conjunction clause) " : "",
                      sg_action_names__[r->action], sg_proto_names__[r->proto],
                      ports, d ? "to" : "from",
                      r->remote != CE_NONE ? "group "
                      : r->n_cidrs ? "listed cidrs" : "anywhere",
                      r->remote != CE_NONE ? c->sgs[r->remote].name : "");
    *line = r->line;
    *col = r->col;
    return true;
}
