/* vaf.c — see vaf.h. */
#include "nfv/vaf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "lib/packet.h"
#include "lib/util.h"
#include "nfv/acl.h"

LOG_MODULE(nfv_vaf);

#define NFV_VAF_BURST 64
#define NFV_VAF_SWEEP_PER_BURST 32
#define NFV_VAF_SWEEP_PER_TICK 4096

/* A compiled policy: a deep copy of the config's rules, their classifier
 * and counters. */
struct nfv_vaf_policy {
    struct nfv_fw_rule *rules;
    size_t n_rules;
    struct nfv_cidr *cidrs;             /* all rules' CIDRs, one block */
    struct nfv_acl *acl;
    struct nfv_vaf_counters *counters;  /* per rule */
    enum nfv_fw_action default_action;
    bool pass_malformed;
};

struct nfv_vaf {
    struct nfv_vaf_policy pol;
    struct nfv_ct *ct;
    uint32_t max_conns;
    uint64_t born[16];                  /* see nfv_vaf_born__() */
    struct nfv_vaf_stats stats;
    struct nfv_vaf_log_event log[NFV_VAF_LOG_RING];
    size_t log_head, log_n;
    uint64_t pickup_until_ns;           /* 0: not started yet */
};

/* What the first pass decided for a frame. */
enum nfv_vaf_kind {
    NFV_VAF_DONE,               /* port already set */
    NFV_VAF_CONN,               /* looked up: a packet of a connection */
    NFV_VAF_RELATED,            /* looked up: an ICMP error's quote */
};

static void
nfv_vaf_policy_free__(struct nfv_vaf_policy *p)
{
    nfv_acl_destroy(p->acl);
    free(p->rules);
    free(p->cidrs);
    free(p->counters);
    memset(p, 0, sizeof *p);
}

static int
nfv_vaf_policy_init__(struct nfv_vaf_policy *p, const struct nfv_fw_config *cfg)
{
    memset(p, 0, sizeof *p);
    p->acl = nfv_acl_create(cfg->rules, cfg->n_rules);
    if (!p->acl) {
        return -errno;
    }
    size_t n_cidrs = 0;
    for (size_t i = 0; i < cfg->n_rules; i++) {
        n_cidrs += cfg->rules[i].n_src + cfg->rules[i].n_dst;
    }
    p->n_rules = cfg->n_rules;
    p->rules = xcalloc(MAX(cfg->n_rules, 1), sizeof *p->rules);
    p->cidrs = xcalloc(MAX(n_cidrs, 1), sizeof *p->cidrs);
    p->counters = xcalloc(MAX(cfg->n_rules, 1), sizeof *p->counters);
    struct nfv_cidr *c = p->cidrs;
    for (size_t i = 0; i < cfg->n_rules; i++) {
        const struct nfv_fw_rule *r = &cfg->rules[i];
        p->rules[i] = *r;
        p->rules[i].src = c;
        if (r->n_src) {
            memcpy(c, r->src, r->n_src * sizeof *c);
        }
        c += r->n_src;
        p->rules[i].dst = c;
        if (r->n_dst) {
            memcpy(c, r->dst, r->n_dst * sizeof *c);
        }
        c += r->n_dst;
    }
    p->default_action = cfg->default_action;
    p->pass_malformed = cfg->pass_malformed;
    return 0;
}

struct nfv_vaf *
nfv_vaf_create(const struct nfv_fw_config *cfg)
{
    struct nfv_vaf *vaf = xzalloc(sizeof *vaf);
    int err = nfv_vaf_policy_init__(&vaf->pol, cfg);
    if (err) {
        free(vaf);
        errno = -err;
        return NULL;
    }
    struct nfv_ct_params ctp = {
        .max_conns = cfg->max_conns ? cfg->max_conns : NFV_VAF_DEFAULT_MAX_CONNS,
        .max_per_source = cfg->max_conns_per_source,
    };
    vaf->max_conns = ctp.max_conns;
    vaf->ct = nfv_ct_create_table(&ctp);
    if (!vaf->ct) {
        err = errno;
        nfv_vaf_policy_free__(&vaf->pol);
        free(vaf);
        errno = err;
        return NULL;
    }
    return vaf;
}

void
nfv_vaf_destroy(struct nfv_vaf *vaf)
{
    if (vaf) {
        nfv_vaf_policy_free__(&vaf->pol);
        nfv_ct_destroy(vaf->ct);
        free(vaf);
    }
}

/* ---- reload ---------------------------------------------------------- */

static bool
nfv_vaf_rule_equal__(const struct nfv_fw_rule *a, const struct nfv_fw_rule *b)
{
    return a->proto == b->proto && a->dport_min == b->dport_min
           && a->dport_max == b->dport_max && a->icmp_type == b->icmp_type
           && a->action == b->action && a->log == b->log
           && a->n_src == b->n_src && a->n_dst == b->n_dst
           && (!a->n_src || !memcmp(a->src, b->src, a->n_src * sizeof *a->src))
           && (!a->n_dst || !memcmp(a->dst, b->dst, a->n_dst * sizeof *a->dst));
}

static uint32_t
nfv_vaf_rule_hash__(const struct nfv_fw_rule *r)
{
    uint32_t fields[4] = { r->proto | (uint32_t) r->action << 8
                           | (uint32_t) r->log << 16,
                           (uint32_t) r->dport_min << 16 | r->dport_max,
                           (uint32_t) (uint16_t) r->icmp_type,
                           (uint32_t) (r->n_src << 16 ^ r->n_dst) };
    uint32_t h = hash_bytes(fields, sizeof fields, 0);
    if (r->n_src) {
        h = hash_bytes(r->src, r->n_src * sizeof *r->src, h);
    }
    if (r->n_dst) {
        h = hash_bytes(r->dst, r->n_dst * sizeof *r->dst, h);
    }
    return h;
}

struct nfv_vaf_rule_ref {
    uint32_t hash;
    uint32_t index;
};

static int
nfv_vaf_ref_cmp__(const void *a_, const void *b_)
{
    const struct nfv_vaf_rule_ref *a = a_, *b = b_;
    if (a->hash != b->hash) {
        return a->hash < b->hash ? -1 : 1;
    }
    return a->index < b->index ? -1 : a->index > b->index;
}

/* map[i] = the index in 'new_' of a rule identical to old[i] (each new
 * rule taken once), or NFV_CT_RULE_NONE. */
static uint32_t *
nfv_vaf_map_rules__(const struct nfv_vaf_policy *old,
                    const struct nfv_vaf_policy *new_)
{
    struct nfv_vaf_rule_ref *refs = xcalloc(MAX(new_->n_rules, 1), sizeof *refs);
    bool *taken = xcalloc(MAX(new_->n_rules, 1), sizeof *taken);
    uint32_t *map = xcalloc(MAX(old->n_rules, 1), sizeof *map);
    for (size_t j = 0; j < new_->n_rules; j++) {
        refs[j] = (struct nfv_vaf_rule_ref) {
            nfv_vaf_rule_hash__(&new_->rules[j]), (uint32_t) j };
    }
    util_qsort(refs, new_->n_rules, sizeof *refs, nfv_vaf_ref_cmp__);
    for (size_t i = 0; i < old->n_rules; i++) {
        uint32_t h = nfv_vaf_rule_hash__(&old->rules[i]);
        size_t lo = 0, hi = new_->n_rules;
        while (lo < hi) {                       /* first ref with hash >= h */
            size_t mid = (lo + hi) / 2;
            if (refs[mid].hash < h) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        map[i] = NFV_CT_RULE_NONE;
        for (; lo < new_->n_rules && refs[lo].hash == h; lo++) {
            uint32_t j = refs[lo].index;
            if (!taken[j] && nfv_vaf_rule_equal__(&old->rules[i],
                                                  &new_->rules[j])) {
                taken[j] = true;
                map[i] = j;
                break;
            }
        }
    }
    free(refs);
    free(taken);
    return map;
}

struct nfv_vaf_remap {
    const uint32_t *map;
    size_t n_old;
};

static void
nfv_vaf_remap_conn__(struct nfv_ct_conn *c, void *aux)
{
    const struct nfv_vaf_remap *r = aux;
    if (c->rule != NFV_CT_RULE_NONE) {
        c->rule = c->rule < r->n_old ? r->map[c->rule] : NFV_CT_RULE_NONE;
    }
}

int
nfv_vaf_reload(struct nfv_vaf *vaf, const struct nfv_fw_config *cfg)
{
    struct nfv_vaf_policy pol;
    int err = nfv_vaf_policy_init__(&pol, cfg);
    if (err) {
        LOG_WARN("reload refused (%s): the previous policy stays",
                 strerror(-err));
        return err;
    }
    uint32_t *map = nfv_vaf_map_rules__(&vaf->pol, &pol);
    for (size_t i = 0; i < vaf->pol.n_rules; i++) {
        if (map[i] != NFV_CT_RULE_NONE) {
            pol.counters[map[i]] = vaf->pol.counters[i];
        }
    }
    struct nfv_vaf_remap remap = { map, vaf->pol.n_rules };
    nfv_ct_for_each(vaf->ct, nfv_vaf_remap_conn__, &remap);
    free(map);
    nfv_vaf_policy_free__(&vaf->pol);
    vaf->pol = pol;

    struct nfv_ct_stats st;
    nfv_ct_get_stats(vaf->ct, &st);
    uint32_t want = cfg->max_conns ? cfg->max_conns : NFV_VAF_DEFAULT_MAX_CONNS;
    if (want != vaf->max_conns) {
        LOG_WARN("max_conns %u -> %u takes effect at the next restart (the "
                 "connection table cannot be resized without losing it)",
                 vaf->max_conns, want);
    }
    nfv_ct_set_max_per_source(vaf->ct, cfg->max_conns_per_source);
    LOG_INFO("reloaded: %zu rules, %u connections kept", cfg->n_rules,
             st.n_conns);
    return 0;
}

/* ---- the packet path ---------------------------------------------------- */

static uint8_t
nfv_vaf_other__(uint8_t port)
{
    return port == NFV_PORT_LEFT ? NFV_PORT_RIGHT : NFV_PORT_LEFT;
}

static void
nfv_vaf_count__(struct nfv_vaf_counters *c, const struct nfv_frame *f)
{
    c->packets++;
    c->bytes += f->len;
}

/* The counters of the connection or rule 'rule' (NONE: orphan). */
static struct nfv_vaf_counters *
nfv_vaf_conn_counters__(struct nfv_vaf *vaf, uint32_t rule)
{
    return rule < vaf->pol.n_rules ? &vaf->pol.counters[rule]
                                   : &vaf->stats.orphan;
}

static void
nfv_vaf_log__(struct nfv_vaf *vaf, uint32_t rule, const struct nfv_pkt *p,
              const struct nfv_frame *f, uint64_t now_ns)
{
    if (vaf->log_n == NFV_VAF_LOG_RING) {
        vaf->stats.log_lost++;
        return;
    }
    struct nfv_vaf_log_event *e
        = &vaf->log[(vaf->log_head + vaf->log_n++) % NFV_VAF_LOG_RING];
    *e = (struct nfv_vaf_log_event) {
        .time_ns = now_ns, .rule = rule, .src = p->src, .dst = p->dst,
        .sport = p->sport, .dport = p->dport, .proto = p->proto,
        .action = (uint8_t) vaf->pol.rules[rule].action, .port = f->port,
    };
}

static void
nfv_vaf_reject__(struct nfv_vaf *vaf, const struct nfv_frame *f,
                 const struct nfv_pkt *p, struct nfv_frame *gen,
                 size_t cap_gen, size_t *n_gen)
{
    if (*n_gen >= cap_gen) {
        vaf->stats.gen_lost++;
        return;
    }
    struct nfv_frame *g = &gen[*n_gen];
    size_t len;
    if (p->proto == NFV_IP_PROTO_TCP) {
        len = nfv_pkt_build_rst(f->data, p, g->data, g->cap);
    } else {
        uint8_t code = p->proto == NFV_IP_PROTO_UDP ? NFV_ICMP_UNREACH_PORT
                                                    : NFV_ICMP_UNREACH_ADMIN;
        len = nfv_pkt_build_unreach(f->data, p, code, g->data, g->cap);
    }
    if (len) {
        g->len = (uint16_t) len;
        g->port = f->port;
        (*n_gen)++;
        vaf->stats.generated++;
    }
}

/* The burst's filter of connections created so far (a 1024-bit Bloom
 * filter with one hash): a packet that missed in the bulk lookup needs a
 * second lookup only if an entry with its key may have been created by an
 * earlier packet of the same burst.  Sets the key's bit if 'set', else
 * tests it. */
static bool
nfv_vaf_born__(struct nfv_vaf *vaf, const struct nfv_ct_key *k, bool set)
{
    uint32_t h = k->ip_lo * 0x9e3779b1u ^ k->ip_hi * 0x85ebca77u
                 ^ ((uint32_t) k->port_lo << 16 | k->port_hi) * 0xc2b2ae3du
                 ^ k->proto;
    h = (h ^ h >> 15) * 0x2c1b3c6du;
    h = (h >> 22) & 1023;
    uint64_t bit = 1ull << (h & 63);
    if (set) {
        vaf->born[h >> 6] |= bit;
        return true;
    }
    return vaf->born[h >> 6] & bit;
}

/* The first packet of a connection, classified as 'rule' (or NO_MATCH). */
static void
nfv_vaf_new__(struct nfv_vaf *vaf, struct nfv_frame *f, const struct nfv_pkt *p,
              const struct nfv_ct_key *key, uint32_t rule, bool stateless,
              uint32_t now_ms, uint64_t now_ns, struct nfv_frame *gen,
              size_t cap_gen, size_t *n_gen)
{
    enum nfv_fw_action action;
    struct nfv_vaf_counters *cnt;
    if (rule == NFV_ACL_NO_MATCH) {
        action = vaf->pol.default_action;
        cnt = &vaf->stats.default_action;
        rule = NFV_CT_RULE_NONE;
    } else {
        action = vaf->pol.rules[rule].action;
        cnt = &vaf->pol.counters[rule];
        if (vaf->pol.rules[rule].log) {
            nfv_vaf_log__(vaf, rule, p, f, now_ns);
        }
    }
    cnt->conns++;
    nfv_vaf_count__(cnt, f);
    switch (action) {
    case NFV_FW_ALLOW:
        if (!stateless) {
            if (nfv_ct_create(vaf->ct, key, p, rule, now_ms) < 0) {
                vaf->stats.refused++;
                f->port = NFV_PORT_DROP;
                return;
            }
            nfv_vaf_born__(vaf, key, true);
        }
        f->port = nfv_vaf_other__(f->port);
        return;
    case NFV_FW_REJECT:
        vaf->stats.rejected++;
        nfv_vaf_reject__(vaf, f, p, gen, cap_gen, n_gen);
        f->port = NFV_PORT_DROP;
        return;
    case NFV_FW_DENY:
    default:
        vaf->stats.denied++;
        f->port = NFV_PORT_DROP;
        return;
    }
}

/* Builds the connection key of the packet an ICMP error 'p' quotes;
 * false if the quote is too short to say. */
static bool
nfv_vaf_quote_key__(const struct nfv_frame *f, const struct nfv_pkt *p,
                    struct nfv_ct_key *key)
{
    const uint8_t *q = f->data + p->l4_ofs + 8;
    size_t avail = (size_t) p->l4_len - 8;
    if (p->l4_len < 8 + 20 + 8 || q[0] >> 4 != 4) {
        return false;
    }
    size_t ihl = (size_t) (q[0] & 0x0f) * 4;
    if (ihl < 20 || avail < ihl + 8) {
        return false;
    }
    struct nfv_pkt in = {
        .proto = q[9],
        .src = packet_get_be32(q + 12),
        .dst = packet_get_be32(q + 16),
    };
    if (in.src != p->dst) {
        return false;           /* an error goes to the quoted sender */
    }
    const uint8_t *l4 = q + ihl;
    if (in.proto == NFV_IP_PROTO_TCP || in.proto == NFV_IP_PROTO_UDP) {
        in.sport = packet_get_be16(l4);
        in.dport = packet_get_be16(l4 + 2);
    } else if (in.proto == NFV_IP_PROTO_ICMP) {
        in.icmp_type = l4[0];
        in.sport = packet_get_be16(l4 + 4);
    }
    nfv_ct_key_init(key, &in);
    return true;
}

/* The rule of 'p': from the burst's bulk classification when it was in
 * it ('cls' its index), else (its entry vanished within the burst)
 * classified now. */
static uint32_t
nfv_vaf_rule_of__(const struct nfv_vaf *vaf, const struct nfv_pkt *p,
                  const uint32_t *rules, uint8_t cls)
{
    if (cls != UINT8_MAX) {
        return rules[cls];
    }
    uint32_t rule;
    struct nfv_acl_key ak;
    const struct nfv_acl_key *akp = &ak;
    nfv_acl_key_init(&ak, p);
    nfv_acl_classify(vaf->pol.acl, &akp, &rule, 1);
    return rule;
}

/* A TCP packet without a connection entry, 'rule' what the rules say of
 * it as if it opened one: in the pickup window after the instance starts,
 * an allowed one resumes its connection (its entry was lost with the
 * previous instance); anything else drops. */
static void
nfv_vaf_pickup__(struct nfv_vaf *vaf, struct nfv_frame *f,
                 const struct nfv_pkt *p, const struct nfv_ct_key *key,
                 uint32_t rule, uint32_t now_ms)
{
    enum nfv_fw_action action = rule == NFV_ACL_NO_MATCH
                                ? vaf->pol.default_action
                                : vaf->pol.rules[rule].action;
    if (action != NFV_FW_ALLOW
        || nfv_ct_pickup(vaf->ct, key, p, rule == NFV_ACL_NO_MATCH
                         ? NFV_CT_RULE_NONE : rule, now_ms) < 0) {
        vaf->stats.no_conn++;
        f->port = NFV_PORT_DROP;
        return;
    }
    nfv_vaf_born__(vaf, key, true);
    struct nfv_vaf_counters *cnt = rule == NFV_ACL_NO_MATCH
                                   ? &vaf->stats.default_action
                                   : &vaf->pol.counters[rule];
    cnt->conns++;
    nfv_vaf_count__(cnt, f);
    vaf->stats.picked_up++;
    f->port = nfv_vaf_other__(f->port);
}

static void
nfv_vaf_burst__(struct nfv_vaf *vaf, struct nfv_frame *f, size_t n,
                uint64_t now_ns, struct nfv_frame *gen, size_t cap_gen,
                size_t *n_gen)
{
    uint32_t now_ms = (uint32_t) (now_ns / 1000000);
    if (!vaf->pickup_until_ns) {
        vaf->pickup_until_ns = now_ns + NFV_VAF_PICKUP_NS;
    }
    bool pickup = now_ns < vaf->pickup_until_ns;
    struct nfv_pkt pkts[NFV_VAF_BURST];
    struct nfv_ct_key keys[NFV_VAF_BURST];
    const struct nfv_ct_key *kp[NFV_VAF_BURST];
    int32_t pos[NFV_VAF_BURST];
    uint8_t idx[NFV_VAF_BURST], kind[NFV_VAF_BURST];
    size_t n_look = 0;

    /* Parse; frames that need no lookup are decided at once. */
    for (size_t i = 0; i < n; i++) {
        struct nfv_pkt *p = &pkts[i];
        vaf->stats.rx++;
        enum nfv_parse r = nfv_pkt_parse(f[i].data, f[i].len, p);
        kind[i] = NFV_VAF_DONE;
        if (r == NFV_PARSE_NOT_IP) {
            vaf->stats.non_ip++;
            f[i].port = nfv_vaf_other__(f[i].port);
        } else if (r != NFV_PARSE_OK) {
            vaf->stats.malformed[r]++;
            if (vaf->pol.pass_malformed) {
                vaf->stats.malformed_passed++;
                f[i].port = nfv_vaf_other__(f[i].port);
            } else {
                f[i].port = NFV_PORT_DROP;
            }
        } else if (p->proto == NFV_IP_PROTO_ICMP
                   && nfv_icmp_is_error(p->icmp_type)) {
            kind[i] = NFV_VAF_RELATED;
            if (!nfv_vaf_quote_key__(&f[i], p, &keys[n_look])) {
                /* No usable quote: a key no packet can produce (key_init
                 * zeroes the padding), so the lookup misses. */
                memset(&keys[n_look], 0xff, sizeof keys[n_look]);
            }
            kp[n_look] = &keys[n_look];
            idx[n_look++] = (uint8_t) i;
        } else {
            kind[i] = NFV_VAF_CONN;
            nfv_ct_key_init(&keys[n_look], p);
            kp[n_look] = &keys[n_look];
            idx[n_look++] = (uint8_t) i;
        }
    }
    if (!n_look) {
        return;
    }
    nfv_ct_lookup_bulk(vaf->ct, kp, n_look, pos, now_ms);
    uint64_t removed0 = nfv_ct_n_removed(vaf->ct);
    memset(vaf->born, 0, sizeof vaf->born);

    /* Classify every miss that may open a connection in one call. */
    struct nfv_acl_key akeys[NFV_VAF_BURST];
    const struct nfv_acl_key *akp[NFV_VAF_BURST];
    uint32_t rules[NFV_VAF_BURST], n_cls = 0;
    uint8_t cls_of[NFV_VAF_BURST];
    for (size_t j = 0; j < n_look; j++) {
        const struct nfv_pkt *p = &pkts[idx[j]];
        cls_of[j] = UINT8_MAX;
        if (pos[j] < 0 && (kind[idx[j]] == NFV_VAF_RELATED
                           || nfv_ct_may_create(p)
                           || (pickup && nfv_ct_may_pickup(p)))) {
            nfv_acl_key_init(&akeys[n_cls], p);
            akp[n_cls] = &akeys[n_cls];
            cls_of[j] = (uint8_t) n_cls++;
        }
    }
    if (n_cls) {
        nfv_acl_classify(vaf->pol.acl, akp, rules, n_cls);
        uint32_t srcs[NFV_VAF_BURST];
        for (size_t k = 0; k < n_cls; k++) {
            srcs[k] = ntohl(akeys[k].src_be);
        }
        nfv_ct_prefetch_sources(vaf->ct, srcs, n_cls);
    }

    for (size_t j = 0; j < n_look; j++) {
        size_t i = idx[j];
        struct nfv_frame *fr = &f[i];
        const struct nfv_pkt *p = &pkts[i];
        int32_t at = pos[j];
        bool recheck = at >= 0 ? nfv_ct_n_removed(vaf->ct) != removed0
                               : nfv_vaf_born__(vaf, &keys[j], false);
        if (recheck) {
            /* An earlier packet of the burst opened or closed entries. */
            at = nfv_ct_lookup(vaf->ct, &keys[j], now_ms);
        }
        if (kind[i] == NFV_VAF_RELATED) {
            if (at >= 0) {
                vaf->stats.related++;
                fr->port = nfv_vaf_other__(fr->port);
            } else {
                nfv_vaf_new__(vaf, fr, p, &keys[j],
                              nfv_vaf_rule_of__(vaf, p, rules, cls_of[j]), true,
                              now_ms, now_ns, gen, cap_gen, n_gen);
            }
            continue;
        }
        if (at >= 0) {
            struct nfv_ct_conn *c = nfv_ct_conn(vaf->ct, at);
            struct nfv_vaf_counters *cnt = nfv_vaf_conn_counters__(vaf, c->rule);
            enum nfv_ct_verdict v = nfv_ct_track(vaf->ct, at, p, now_ms);
            if (v == NFV_CT_FORWARD) {
                nfv_vaf_count__(cnt, fr);
                fr->port = nfv_vaf_other__(fr->port);
                continue;
            }
            if (v == NFV_CT_INVALID) {
                vaf->stats.invalid++;
                fr->port = NFV_PORT_DROP;
                continue;
            }
            /* RESTART: a new connection on a reused port. */
            nfv_vaf_new__(vaf, fr, p, &keys[j],
                          nfv_vaf_rule_of__(vaf, p, rules, UINT8_MAX), false,
                          now_ms, now_ns, gen, cap_gen, n_gen);
            continue;
        }
        if (!nfv_ct_may_create(p)) {
            if (pickup && nfv_ct_may_pickup(p)) {
                nfv_vaf_pickup__(vaf, fr, p, &keys[j],
                                 nfv_vaf_rule_of__(vaf, p, rules, cls_of[j]),
                                 now_ms);
                continue;
            }
            vaf->stats.no_conn++;
            fr->port = NFV_PORT_DROP;
            continue;
        }
        nfv_vaf_new__(vaf, fr, p, &keys[j],
                      nfv_vaf_rule_of__(vaf, p, rules, cls_of[j]), false,
                      now_ms, now_ns, gen, cap_gen, n_gen);
    }
}

void
nfv_vaf_process(struct nfv_vaf *vaf, struct nfv_frame *f, size_t n,
                uint64_t now_ns, struct nfv_frame *gen, size_t *n_gen)
{
    size_t cap_gen = *n_gen;
    *n_gen = 0;
    for (size_t i = 0; i < n; i += NFV_VAF_BURST) {
        nfv_vaf_burst__(vaf, f + i, MIN(n - i, (size_t) NFV_VAF_BURST), now_ns,
                        gen, cap_gen, n_gen);
    }
    for (size_t i = 0; i < n; i++) {
        if (f[i].port == NFV_PORT_DROP) {
            vaf->stats.dropped++;
        } else {
            vaf->stats.forwarded++;
        }
    }
    nfv_ct_sweep(vaf->ct, (uint32_t) (now_ns / 1000000), NFV_VAF_SWEEP_PER_BURST);
}

void
nfv_vaf_tick(struct nfv_vaf *vaf, uint64_t now_ns)
{
    nfv_ct_sweep(vaf->ct, (uint32_t) (now_ns / 1000000), NFV_VAF_SWEEP_PER_TICK);
}

size_t
nfv_vaf_drain_log(struct nfv_vaf *vaf, struct nfv_vaf_log_event *out,
                  size_t max)
{
    size_t k = 0;
    while (k < max && vaf->log_n) {
        out[k++] = vaf->log[vaf->log_head];
        vaf->log_head = (vaf->log_head + 1) % NFV_VAF_LOG_RING;
        vaf->log_n--;
    }
    return k;
}

void
nfv_vaf_get_stats(const struct nfv_vaf *vaf, struct nfv_vaf_stats *s)
{
    *s = vaf->stats;
    nfv_ct_get_stats(vaf->ct, &s->ct);
}

const struct nfv_vaf_counters *
nfv_vaf_rule_counters(const struct nfv_vaf *vaf, size_t *n_rules)
{
    *n_rules = vaf->pol.n_rules;
    return vaf->pol.counters;
}
