/* ct.c — see ct.h. */
#include "nfv/ct.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(nfv_ct);

struct nfv_ct {
    struct rte_hash *conns;
    struct rte_hash *sources;           /* orig source -> count by pos */
    struct nfv_ct_conn *tab;            /* by rte_hash position */
    uint32_t *src_count;                /* by 'sources' position */
    uint32_t n_slots;                   /* of 'tab' */
    uint32_t n_src_slots;
    uint32_t max_conns, max_per_source, max_embryonic;
    uint32_t emb_head, emb_tail;        /* oldest, newest */
    uint32_t cursor;                    /* of the sweep */
    uint64_t n_removed;
    struct nfv_ct_stats stats;
};

const char *
nfv_ct_state_name(enum nfv_ct_state s)
{
    static const char *const names[] = {
#define NFV_CT_STATE_NAME__(e, n) n,
        NFV_CT_STATES(NFV_CT_STATE_NAME__)
#undef NFV_CT_STATE_NAME__
    };
    return (unsigned) s < NFV_CT_N_STATES ? names[s] : "?";
}

static struct rte_hash *
nfv_ct_hash__(const char *what, uint32_t entries, uint32_t key_len)
{
    static unsigned int serial;         /* rte_hash names are global */
    char name[RTE_HASH_NAMESIZE];
    snprintf(name, sizeof name, "nfv-%s-%u", what, serial++);
    struct rte_hash_parameters p = {
        .name = name,
        .entries = entries,
        .key_len = key_len,
        .hash_func = rte_hash_crc,
        .socket_id = SOCKET_ID_ANY,
        .extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
    };
    return rte_hash_create(&p);
}

struct nfv_ct *
nfv_ct_create_table(const struct nfv_ct_params *params)
{
    if (params->max_conns < 8 || params->max_conns > (1u << 28)) {
        errno = EINVAL;
        return NULL;
    }
    struct nfv_ct *ct = xzalloc(sizeof *ct);
    ct->max_conns = params->max_conns;
    ct->max_per_source = params->max_per_source
                         ? params->max_per_source
                         : MAX(params->max_conns / 16, 1);
    ct->max_embryonic = params->max_embryonic
                        ? MIN(params->max_embryonic, params->max_conns)
                        : MAX(params->max_conns / 4, 1);
    ct->emb_head = ct->emb_tail = NFV_CT_NIL;

    /* rte_hash returns positions below its key-slot count (entries + 1
     * without multi-writer caches); a little slack keeps that safe. */
    ct->n_slots = ct->max_conns + 64;
    ct->n_src_slots = ct->max_conns + 64;
    ct->conns = nfv_ct_hash__("ct", ct->max_conns, sizeof(struct nfv_ct_key));
    ct->sources = nfv_ct_hash__("ctsrc", ct->max_conns, sizeof(uint32_t));
    ct->tab = rte_zmalloc("nfv-ct-tab", sizeof *ct->tab * ct->n_slots, 64);
    ct->src_count = rte_zmalloc("nfv-ct-src",
                                sizeof *ct->src_count * ct->n_src_slots, 64);
    if (!ct->conns || !ct->sources || !ct->tab || !ct->src_count) {
        LOG_WARN("connection table of %u entries: out of memory",
                 ct->max_conns);
        nfv_ct_destroy(ct);
        errno = ENOMEM;
        return NULL;
    }
    return ct;
}

void
nfv_ct_destroy(struct nfv_ct *ct)
{
    if (ct) {
        rte_hash_free(ct->conns);
        rte_hash_free(ct->sources);
        rte_free(ct->tab);
        rte_free(ct->src_count);
        free(ct);
    }
}

static bool
nfv_ct_icmp_query__(const struct nfv_pkt *pkt)
{
    return pkt->proto == NFV_IP_PROTO_ICMP && !nfv_icmp_is_error(pkt->icmp_type);
}

void
nfv_ct_key_init(struct nfv_ct_key *k, const struct nfv_pkt *pkt)
{
    uint16_t sport = pkt->sport, dport = pkt->dport;
    if (pkt->proto == NFV_IP_PROTO_ICMP) {
        dport = sport;                  /* the identifier, both ways */
    }
    bool lo = pkt->src < pkt->dst || (pkt->src == pkt->dst && sport <= dport);
    k->ip_lo = lo ? pkt->src : pkt->dst;
    k->ip_hi = lo ? pkt->dst : pkt->src;
    k->port_lo = lo ? sport : dport;
    k->port_hi = lo ? dport : sport;
    k->proto = pkt->proto;
    k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

bool
nfv_ct_may_create(const struct nfv_pkt *pkt)
{
    switch (pkt->proto) {
    case NFV_IP_PROTO_TCP:
        return (pkt->tcp_flags & (NFV_TCP_SYN | NFV_TCP_ACK | NFV_TCP_RST
                                  | NFV_TCP_FIN)) == NFV_TCP_SYN;
    case NFV_IP_PROTO_ICMP:
        return nfv_ct_icmp_query__(pkt);
    default:
        return true;
    }
}

bool
nfv_ct_may_pickup(const struct nfv_pkt *pkt)
{
    return pkt->proto == NFV_IP_PROTO_TCP
           && !(pkt->tcp_flags & (NFV_TCP_SYN | NFV_TCP_RST));
}

struct nfv_ct_conn *
nfv_ct_conn(struct nfv_ct *ct, int32_t pos)
{
    return &ct->tab[pos];
}

static bool
nfv_ct_expired__(const struct nfv_ct_conn *c, uint32_t now_ms)
{
    return (int32_t) (now_ms - c->expires_ms) >= 0;
}

static void
nfv_ct_set_state__(struct nfv_ct *ct, struct nfv_ct_conn *c, uint8_t state)
{
    ct->stats.by_state[c->state]--;
    c->state = state;
    ct->stats.by_state[state]++;
}

/* The embryonic FIFO. */
static void
nfv_ct_emb_push__(struct nfv_ct *ct, uint32_t pos)
{
    struct nfv_ct_conn *c = &ct->tab[pos];
    c->flags |= NFV_CT_F_EMBRYONIC;
    c->emb_prev = ct->emb_tail;
    c->emb_next = NFV_CT_NIL;
    if (ct->emb_tail != NFV_CT_NIL) {
        ct->tab[ct->emb_tail].emb_next = pos;
    } else {
        ct->emb_head = pos;
    }
    ct->emb_tail = pos;
    ct->stats.n_embryonic++;
}

static void
nfv_ct_emb_unlink__(struct nfv_ct *ct, uint32_t pos)
{
    struct nfv_ct_conn *c = &ct->tab[pos];
    if (!(c->flags & NFV_CT_F_EMBRYONIC)) {
        return;
    }
    if (c->emb_prev != NFV_CT_NIL) {
        ct->tab[c->emb_prev].emb_next = c->emb_next;
    } else {
        ct->emb_head = c->emb_next;
    }
    if (c->emb_next != NFV_CT_NIL) {
        ct->tab[c->emb_next].emb_prev = c->emb_prev;
    } else {
        ct->emb_tail = c->emb_prev;
    }
    c->flags &= (uint8_t) ~NFV_CT_F_EMBRYONIC;
    ct->stats.n_embryonic--;
}

static void
nfv_ct_source_put__(struct nfv_ct *ct, uint32_t src)
{
    int32_t sp = rte_hash_lookup(ct->sources, &src);
    if (sp >= 0 && !--ct->src_count[sp]) {
        rte_hash_del_key(ct->sources, &src);
        ct->stats.n_sources--;
    }
}

void
nfv_ct_remove(struct nfv_ct *ct, int32_t pos)
{
    struct nfv_ct_conn *c = &ct->tab[pos];
    if (c->state == NFV_CT_NONE) {
        return;
    }
    void *key;
    if (rte_hash_get_key_with_position(ct->conns, pos, &key) == 0) {
        rte_hash_del_key(ct->conns, key);
    }
    nfv_ct_emb_unlink__(ct, (uint32_t) pos);
    nfv_ct_source_put__(ct, c->orig_src);
    ct->stats.by_state[c->state]--;
    ct->stats.n_conns--;
    ct->n_removed++;
    c->state = NFV_CT_NONE;
}

static void
nfv_ct_expire__(struct nfv_ct *ct, int32_t pos)
{
    nfv_ct_remove(ct, pos);
    ct->stats.expired++;
}

void
nfv_ct_lookup_bulk(struct nfv_ct *ct, const struct nfv_ct_key *const *keys,
                   size_t n, int32_t *pos, uint32_t now_ms)
{
    for (size_t i = 0; i < n; i += RTE_HASH_LOOKUP_BULK_MAX) {
        size_t m = MIN(n - i, (size_t) RTE_HASH_LOOKUP_BULK_MAX);
        rte_hash_lookup_bulk(ct->conns, (const void **) (keys + i),
                             (uint32_t) m, pos + i);
    }
    for (size_t i = 0; i < n; i++) {
        if (pos[i] >= 0) {
            if (nfv_ct_expired__(&ct->tab[pos[i]], now_ms)) {
                nfv_ct_expire__(ct, pos[i]);
                pos[i] = -1;
            }
        } else {
            pos[i] = -1;
        }
    }
}

int32_t
nfv_ct_lookup(struct nfv_ct *ct, const struct nfv_ct_key *key, uint32_t now_ms)
{
    int32_t pos;
    nfv_ct_lookup_bulk(ct, &key, 1, &pos, now_ms);
    return pos;
}

/* Makes room for one new embryonic entry; false if there is none. */
static bool
nfv_ct_make_room__(struct nfv_ct *ct, uint32_t now_ms)
{
    if (ct->stats.n_embryonic >= ct->max_embryonic
        || ct->stats.n_conns >= ct->max_conns) {
        if (ct->stats.n_conns >= ct->max_conns
            && ct->stats.n_embryonic < ct->max_embryonic) {
            /* Full of non-embryonic entries: some may have expired. */
            nfv_ct_sweep(ct, now_ms, 256);
            if (ct->stats.n_conns < ct->max_conns) {
                return true;
            }
        }
        if (ct->emb_head == NFV_CT_NIL) {
            return false;
        }
        nfv_ct_remove(ct, (int32_t) ct->emb_head);
        ct->stats.evicted_embryonic++;
    }
    return true;
}

static uint32_t
nfv_ct_timeout__(const struct nfv_ct_conn *c)
{
    if (c->state == NFV_CT_ESTABLISHED && c->flags & NFV_CT_F_EMBRYONIC) {
        return NFV_CT_TIMEOUT_SYN_MS;           /* picked up, unanswered */
    }
    switch (c->state) {
    case NFV_CT_SYN_SENT:
    case NFV_CT_SYN_RECV:
        return NFV_CT_TIMEOUT_SYN_MS;
    case NFV_CT_ESTABLISHED:
        return NFV_CT_TIMEOUT_EST_MS;
    case NFV_CT_FIN_WAIT:
    case NFV_CT_TIME_WAIT:
        return NFV_CT_TIMEOUT_FIN_MS;
    case NFV_CT_REPLIED:
        return c->proto == NFV_IP_PROTO_ICMP ? NFV_CT_TIMEOUT_ICMP_MS
                                             : NFV_CT_TIMEOUT_UDP_REPLIED_MS;
    default:
        return c->proto == NFV_IP_PROTO_ICMP ? NFV_CT_TIMEOUT_ICMP_MS
                                             : NFV_CT_TIMEOUT_UDP_MS;
    }
}

static int32_t
nfv_ct_create__(struct nfv_ct *ct, const struct nfv_ct_key *key,
                const struct nfv_pkt *pkt, uint32_t rule, uint32_t now_ms,
                bool pickup)
{
    uint32_t src = pkt->src;
    int32_t sp = rte_hash_lookup(ct->sources, &src);
    if (sp >= 0 && ct->src_count[sp] >= ct->max_per_source) {
        ct->stats.refused_source++;
        return -EDQUOT;
    }
    uint64_t removals = ct->stats.expired + ct->stats.evicted_embryonic;
    if (!nfv_ct_make_room__(ct, now_ms)) {
        ct->stats.refused_full++;
        return -ENOSPC;
    }
    if (sp >= 0
        && removals != ct->stats.expired + ct->stats.evicted_embryonic) {
        /* Making room may have removed the source's last connection (it
         * cannot have added a source that was not there). */
        sp = rte_hash_lookup(ct->sources, &src);
    }
    if (sp < 0) {
        sp = rte_hash_add_key(ct->sources, &src);
        if (sp < 0 || (uint32_t) sp >= ct->n_src_slots) {
            ct->stats.refused_full++;
            return -ENOSPC;
        }
        ct->src_count[sp] = 0;
        ct->stats.n_sources++;
    }
    int32_t pos = rte_hash_add_key(ct->conns, key);
    if (pos < 0 || (uint32_t) pos >= ct->n_slots) {
        if (!ct->src_count[sp]) {
            rte_hash_del_key(ct->sources, &src);
            ct->stats.n_sources--;
        }
        ct->stats.refused_full++;
        return -ENOSPC;
    }
    ct->src_count[sp]++;

    struct nfv_ct_conn *c = &ct->tab[pos];
    memset(c, 0, sizeof *c);
    c->orig_src = src;
    c->orig_sport = pkt->sport;
    c->proto = pkt->proto;
    c->rule = rule;
    c->state = pickup ? NFV_CT_ESTABLISHED
               : pkt->proto == NFV_IP_PROTO_TCP ? NFV_CT_SYN_SENT : NFV_CT_NEW;
    ct->stats.by_state[c->state]++;
    ct->stats.n_conns++;
    ct->stats.created++;
    ct->stats.picked_up += pickup;
    nfv_ct_emb_push__(ct, (uint32_t) pos);
    c->expires_ms = now_ms + nfv_ct_timeout__(c);
    return pos;
}

int32_t
nfv_ct_create(struct nfv_ct *ct, const struct nfv_ct_key *key,
              const struct nfv_pkt *pkt, uint32_t rule, uint32_t now_ms)
{
    return nfv_ct_create__(ct, key, pkt, rule, now_ms, false);
}

int32_t
nfv_ct_pickup(struct nfv_ct *ct, const struct nfv_ct_key *key,
              const struct nfv_pkt *pkt, uint32_t rule, uint32_t now_ms)
{
    return nfv_ct_create__(ct, key, pkt, rule, now_ms, true);
}

static enum nfv_ct_verdict
nfv_ct_track_tcp__(struct nfv_ct *ct, int32_t pos, struct nfv_ct_conn *c,
                   const struct nfv_pkt *pkt, bool orig)
{
    uint8_t f = pkt->tcp_flags;
    bool syn = f & NFV_TCP_SYN, ack = f & NFV_TCP_ACK, fin = f & NFV_TCP_FIN;

    if (f & NFV_TCP_RST) {
        nfv_ct_remove(ct, pos);
        ct->stats.closed++;
        return NFV_CT_FORWARD;
    }
    switch (c->state) {
    case NFV_CT_SYN_SENT:
        if (orig && syn && !ack && !fin) {
            return NFV_CT_FORWARD;              /* retransmitted SYN */
        }
        if (!orig && syn && ack && !fin) {
            c->isn_reply = pkt->tcp_seq;
            nfv_ct_set_state__(ct, c, NFV_CT_SYN_RECV);
            return NFV_CT_FORWARD;
        }
        return NFV_CT_INVALID;
    case NFV_CT_SYN_RECV:
        if (orig && syn && !ack) {
            return NFV_CT_FORWARD;
        }
        if (!orig && syn && ack) {
            c->isn_reply = pkt->tcp_seq;        /* retransmitted SYN|ACK */
            return NFV_CT_FORWARD;
        }
        if (orig && !syn && ack && pkt->tcp_ack == c->isn_reply + 1) {
            nfv_ct_emb_unlink__(ct, (uint32_t) pos);
            nfv_ct_set_state__(ct, c, NFV_CT_ESTABLISHED);
            break;                              /* may carry a FIN too */
        }
        return NFV_CT_INVALID;
    case NFV_CT_ESTABLISHED:
    case NFV_CT_FIN_WAIT:
        if (!orig && !syn) {
            /* A picked-up connection's peer answers: it is real. */
            nfv_ct_emb_unlink__(ct, (uint32_t) pos);
        }
        if (syn) {
            /* A SYN|ACK retransmitted because the final ACK was lost. */
            return !orig && ack && c->state == NFV_CT_ESTABLISHED
                   ? NFV_CT_FORWARD : NFV_CT_INVALID;
        }
        break;
    case NFV_CT_TIME_WAIT:
        if (orig && syn && !ack) {
            nfv_ct_remove(ct, pos);             /* the port is reused */
            ct->stats.closed++;
            return NFV_CT_RESTART;
        }
        return syn ? NFV_CT_INVALID : NFV_CT_FORWARD;
    default:
        return NFV_CT_INVALID;
    }
    if (fin) {
        c->flags |= orig ? NFV_CT_F_FIN_ORIG : NFV_CT_F_FIN_REPLY;
        uint8_t both = NFV_CT_F_FIN_ORIG | NFV_CT_F_FIN_REPLY;
        nfv_ct_set_state__(ct, c, (c->flags & both) == both
                                  ? NFV_CT_TIME_WAIT : NFV_CT_FIN_WAIT);
    }
    return NFV_CT_FORWARD;
}

enum nfv_ct_verdict
nfv_ct_track(struct nfv_ct *ct, int32_t pos, const struct nfv_pkt *pkt,
             uint32_t now_ms)
{
    struct nfv_ct_conn *c = &ct->tab[pos];
    bool orig = pkt->src == c->orig_src && pkt->sport == c->orig_sport;
    enum nfv_ct_verdict v;

    if (c->proto == NFV_IP_PROTO_TCP) {
        v = nfv_ct_track_tcp__(ct, pos, c, pkt, orig);
        if (c->state == NFV_CT_NONE) {
            return v;                           /* removed */
        }
    } else {
        if (!orig && c->state == NFV_CT_NEW) {
            nfv_ct_emb_unlink__(ct, (uint32_t) pos);
            nfv_ct_set_state__(ct, c, NFV_CT_REPLIED);
        }
        v = NFV_CT_FORWARD;
    }
    if (v == NFV_CT_FORWARD) {
        c->expires_ms = now_ms + nfv_ct_timeout__(c);
    } else if (v == NFV_CT_INVALID) {
        ct->stats.invalid++;
    }
    return v;
}

size_t
nfv_ct_sweep(struct nfv_ct *ct, uint32_t now_ms, size_t budget)
{
    size_t removed = 0;
    for (size_t i = 0; i < budget; i++) {
        uint32_t pos = ct->cursor;
        ct->cursor = pos + 1 < ct->n_slots ? pos + 1 : 0;
        struct nfv_ct_conn *c = &ct->tab[pos];
        if (c->state != NFV_CT_NONE && nfv_ct_expired__(c, now_ms)) {
            nfv_ct_expire__(ct, (int32_t) pos);
            removed++;
        }
    }
    return removed;
}

void
nfv_ct_for_each(struct nfv_ct *ct, void (*fn)(struct nfv_ct_conn *, void *),
                void *aux)
{
    for (uint32_t pos = 0; pos < ct->n_slots; pos++) {
        if (ct->tab[pos].state != NFV_CT_NONE) {
            fn(&ct->tab[pos], aux);
        }
    }
}

void
nfv_ct_get_stats(const struct nfv_ct *ct, struct nfv_ct_stats *s)
{
    *s = ct->stats;
    s->by_state[NFV_CT_NONE] = 0;
}

void
nfv_ct_set_max_per_source(struct nfv_ct *ct, uint32_t max)
{
    ct->max_per_source = max ? max : MAX(ct->max_conns / 16, 1);
}

uint64_t
nfv_ct_n_created(const struct nfv_ct *ct)
{
    return ct->stats.created;
}

uint64_t
nfv_ct_n_removed(const struct nfv_ct *ct)
{
    return ct->n_removed;
}

void
nfv_ct_prefetch_sources(struct nfv_ct *ct, const uint32_t *srcs, size_t n)
{
    const void *keys[RTE_HASH_LOOKUP_BULK_MAX];
    int32_t pos[RTE_HASH_LOOKUP_BULK_MAX];
    n = MIN(n, (size_t) RTE_HASH_LOOKUP_BULK_MAX);
    for (size_t i = 0; i < n; i++) {
        keys[i] = &srcs[i];
    }
    if (n) {
        rte_hash_lookup_bulk(ct->sources, keys, (uint32_t) n, pos);
    }
}
