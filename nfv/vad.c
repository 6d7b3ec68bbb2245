/* vad.c — vAD, the L4 load balancer engine; see vad.h for the design. */
#include "nfv/vad.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include "lib/addr.h"
#include "lib/log.h"
#include "lib/packet.h"
#include "lib/util.h"
#include "nfv/maglev.h"

LOG_MODULE(vad);

#define VAD_ETH_TYPE_ARP 0x0806
#define VAD_ARP_LEN 42                  /* Ethernet + ARP for IPv4 */
#define VAD_SWEEP_PER_TICK 1024         /* connections checked per tick */
#define VAD_SNAT_TRIES 64
#define VAD_SMALL_TABLES_ABOVE 256      /* services: beyond, smaller Maglev */

/* A 5-tuple as it appears on the wire (host order); the key of both
 * directions of a connection in the hash. */
struct vad_key {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint8_t proto;
    uint8_t pad[3];
};

enum vad_conn_state {
    VAD_CONN_FREE,
    VAD_CONN_OPEN,
    VAD_CONN_CLOSING,                   /* FIN or RST seen */
};

struct vad_conn {
    uint32_t client_ip, vip, backend_ip, snat_ip;
    uint16_t client_port, vport, backend_port, snat_port;
    uint8_t proto;
    uint8_t state;                      /* enum vad_conn_state */
    uint16_t svc, be;                   /* indices in the current config */
    uint8_t client_mac[6], backend_mac[6];
    uint64_t last_ns;
    uint32_t next_free;                 /* free list link */
};

struct vad_backend {
    struct nfv_lb_backend cfg;
    uint8_t mac[6];
    bool up;
    uint8_t fails, succs;
    bool probe_out;                     /* a probe awaits its answer */
    bool probe_due;                     /* a probe waits for room in gen */
    uint16_t probe_port;
    uint32_t probe_seq;
    uint16_t snat_next;                 /* SNAT port allocation cursor */
    uint64_t conns;
};

struct vad_service {
    uint32_t vip;
    uint16_t port;
    uint8_t proto;
    uint32_t interval_ms;
    struct vad_backend *backends;
    size_t n_backends;
    struct maglev *maglev;
    uint16_t *pick;                     /* Maglev index -> backend index */
    bool dirty;                         /* healthy set changed: rebuild */
    uint64_t next_probe_ns;
    size_t n_due;
};

struct nfv_vad {
    uint32_t self_ip;
    uint8_t self_mac[6];
    struct vad_service *svcs;
    size_t n_svcs;
    uint32_t *svc_order;                /* svcs indexes by (vip, port,
                                         * proto): binary search */
    struct vad_backend **probe_map;     /* by probe port slot; chained by
                                         * global index (see probe_find) */
    size_t n_probe;                     /* backends in all services */
    struct rte_hash *table;
    struct vad_conn *conns;
    uint32_t max_conns;
    uint32_t free_head;                 /* UINT32_MAX: table full */
    uint32_t sweep;
    uint32_t rng;
    struct nfv_vad_stats st;
};

static uint32_t
vad_rand__(struct nfv_vad *v)
{
    /* xorshift32: probe sequence numbers and SNAT cursors only need to be
     * unpredictable enough not to collide by accident. */
    uint32_t x = v->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return v->rng = x;
}

static void
vad_mac_bytes__(uint8_t *p, uint64_t mac)
{
    packet_put_mac(p, mac);
}

/* ---- configuration --------------------------------------------------- */

static struct vad_service *
vad_find_service__(const struct vad_service *svcs, size_t n, uint32_t vip,
                   uint16_t port, uint8_t proto)
{
    for (size_t i = 0; i < n; i++) {
        if (svcs[i].vip == vip && svcs[i].port == port
            && svcs[i].proto == proto) {
            return (struct vad_service *) &svcs[i];
        }
    }
    return NULL;
}

static uint64_t
vad_svc_key__(uint32_t vip, uint16_t port, uint8_t proto)
{
    return (uint64_t) vip << 24 | (uint64_t) port << 8 | proto;
}

static int
vad_svc_cmp__(const void *a_, const void *b_, void *aux)
{
    const struct vad_service *s = aux;
    const struct vad_service *a = &s[*(const uint32_t *) a_];
    const struct vad_service *b = &s[*(const uint32_t *) b_];
    uint64_t ka = vad_svc_key__(a->vip, a->port, a->proto);
    uint64_t kb = vad_svc_key__(b->vip, b->port, b->proto);
    return ka < kb ? -1 : ka > kb;
}

/* Sorts the service indexes for vad_lookup_service__() (after every change
 * of v->svcs). */
static void
vad_index_services__(struct nfv_vad *v)
{
    free(v->svc_order);
    v->svc_order = xcalloc(v->n_svcs + 1, sizeof *v->svc_order);
    for (size_t i = 0; i < v->n_svcs; i++) {
        v->svc_order[i] = (uint32_t) i;
    }
    util_qsort_r(v->svc_order, v->n_svcs, sizeof *v->svc_order,
                 vad_svc_cmp__, v->svcs);
}

/* The service of a new connection: O(log services). */
static struct vad_service *
vad_lookup_service__(const struct nfv_vad *v, uint32_t vip, uint16_t port,
                     uint8_t proto)
{
    uint64_t key = vad_svc_key__(vip, port, proto);
    size_t lo = 0, hi = v->n_svcs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct vad_service *s = &v->svcs[v->svc_order[mid]];
        uint64_t k = vad_svc_key__(s->vip, s->port, s->proto);
        if (k == key) {
            return (struct vad_service *) s;
        }
        if (k < key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

static uint32_t
vad_small_prime__(size_t n_backends)
{
    uint32_t n = (uint32_t) (n_backends * 100 > 4099 ? n_backends * 100
                                                     : 4099) | 1;
    while (!maglev_is_prime(n)) {
        n += 2;
    }
    return n;
}

static void
vad_free_services__(struct vad_service *svcs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(svcs[i].backends);
        free(svcs[i].pick);
        maglev_destroy(svcs[i].maglev);
    }
    free(svcs);
}

/* Builds the service array of 'cfg', carrying over the health state of
 * backends that were in 'old'. */
static int
vad_build_services__(struct nfv_vad *v, const struct nfv_lb_config *cfg,
                     const struct vad_service *old, size_t n_old,
                     struct vad_service **svcsp)
{
    struct vad_service *svcs = calloc(cfg->n_services ? cfg->n_services : 1,
                                      sizeof *svcs);
    if (!svcs) {
        return -ENOMEM;
    }
    size_t n_probe = 0;
    for (size_t i = 0; i < cfg->n_services; i++) {
        const struct nfv_lb_service *c = &cfg->services[i];
        struct vad_service *s = &svcs[i];
        if ((c->proto != NFV_IP_PROTO_TCP && c->proto != NFV_IP_PROTO_UDP)
            || c->n_backends > MAGLEV_MAX_BACKENDS) {
            vad_free_services__(svcs, i);
            return -EINVAL;
        }
        s->vip = c->vip;
        s->port = c->port;
        s->proto = c->proto;
        s->interval_ms = c->health_interval_ms;
        s->n_backends = c->n_backends;
        s->dirty = true;
        s->backends = calloc(c->n_backends ? c->n_backends : 1,
                             sizeof *s->backends);
        s->pick = calloc(c->n_backends ? c->n_backends : 1,
                         sizeof *s->pick);
        uint32_t size = cfg->n_services > VAD_SMALL_TABLES_ABOVE
                        ? vad_small_prime__(c->n_backends)
                        : maglev_table_size_for(c->n_backends);
        s->maglev = maglev_create(size);
        if (!s->backends || !s->pick || !s->maglev) {
            vad_free_services__(svcs, i + 1);
            return -ENOMEM;
        }
        const struct vad_service *o = vad_find_service__(old, n_old, s->vip,
                                                         s->port, s->proto);
        for (size_t j = 0; j < c->n_backends; j++) {
            struct vad_backend *b = &s->backends[j];
            b->cfg = c->backends[j];
            vad_mac_bytes__(b->mac, b->cfg.mac);
            b->up = true;
            b->snat_next = (uint16_t) (NFV_VAD_SNAT_MIN
                                       + vad_rand__(v) % (NFV_VAD_SNAT_MAX
                                                          - NFV_VAD_SNAT_MIN));
            b->probe_port = (uint16_t) (NFV_VAD_PROBE_MIN
                                        + n_probe++ % NFV_VAD_PROBE_PORTS);
            for (size_t k = 0; o && k < o->n_backends; k++) {
                const struct vad_backend *ob = &o->backends[k];
                if (ob->cfg.ip == b->cfg.ip && ob->cfg.port == b->cfg.port) {
                    b->up = ob->up;
                    b->fails = ob->fails;
                    b->succs = ob->succs;
                    b->conns = ob->conns;
                    b->snat_next = ob->snat_next;
                    break;
                }
            }
        }
    }
    *svcsp = svcs;
    return 0;
}

/* Rebuilds the Maglev table of 's' over its healthy backends. */
static void
vad_rebuild__(struct vad_service *s)
{
    uint64_t keys_local[64];
    uint32_t weights_local[64];
    uint64_t *keys = s->n_backends <= 64 ? keys_local
                     : xmalloc(s->n_backends * sizeof *keys);
    uint32_t *weights = s->n_backends <= 64 ? weights_local
                        : xmalloc(s->n_backends * sizeof *weights);
    size_t n = 0;
    for (size_t j = 0; j < s->n_backends; j++) {
        const struct vad_backend *b = &s->backends[j];
        if (b->up) {
            keys[n] = (uint64_t) b->cfg.ip << 16 | b->cfg.port;
            weights[n] = b->cfg.weight ? b->cfg.weight : 1;
            s->pick[n++] = (uint16_t) j;
        }
    }
    int error = maglev_build(s->maglev, keys, weights, n);
    if (error) {
        LOG_WARN("maglev rebuild failed: %s", strerror(-error));
    }
    s->dirty = false;
    if (keys != keys_local) {
        free(keys);
        free(weights);
    }
}

static void
vad_index_probes__(struct nfv_vad *v)
{
    free(v->probe_map);
    v->n_probe = 0;
    for (size_t i = 0; i < v->n_svcs; i++) {
        v->n_probe += v->svcs[i].n_backends;
    }
    v->probe_map = xcalloc(v->n_probe ? v->n_probe : 1,
                           sizeof *v->probe_map);
    size_t k = 0;
    for (size_t i = 0; i < v->n_svcs; i++) {
        for (size_t j = 0; j < v->svcs[i].n_backends; j++) {
            v->probe_map[k++] = &v->svcs[i].backends[j];
        }
    }
}

struct nfv_vad *
nfv_vad_create(const struct nfv_lb_config *cfg)
{
    static unsigned int serial;
    struct nfv_vad *v = xzalloc(sizeof *v);
    v->self_ip = cfg->self_ip;
    vad_mac_bytes__(v->self_mac, cfg->self_mac);
    v->rng = (uint32_t) getpid() * 2654435761u ^ ++serial ^ 0x9e3779b9u;
    if (!v->rng) {
        v->rng = 1;
    }
    v->max_conns = cfg->max_conns ? cfg->max_conns : NFV_VAD_DEFAULT_CONNS;

    int error = vad_build_services__(v, cfg, NULL, 0, &v->svcs);
    if (error) {
        free(v);
        errno = -error;
        return NULL;
    }
    v->n_svcs = cfg->n_services;
    for (size_t i = 0; i < v->n_svcs; i++) {
        vad_rebuild__(&v->svcs[i]);
    }
    vad_index_probes__(v);
    vad_index_services__(v);

    char name[RTE_HASH_NAMESIZE];
    snprintf(name, sizeof name, "vad-%d-%u", (int) getpid(), serial);
    struct rte_hash_parameters params = {
        .name = name,
        .entries = v->max_conns * 2 + 64,
        .key_len = sizeof(struct vad_key),
        .hash_func = rte_hash_crc,
        .hash_func_init_val = 0,
        .socket_id = SOCKET_ID_ANY,
        .extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
    };
    v->table = rte_hash_create(&params);
    v->conns = calloc(v->max_conns, sizeof *v->conns);
    if (!v->table || !v->conns) {
        int e = v->table ? ENOMEM : (rte_errno ? rte_errno : ENOMEM);
        nfv_vad_destroy(v);
        errno = e;
        return NULL;
    }
    for (uint32_t i = 0; i < v->max_conns; i++) {
        v->conns[i].next_free = i + 1 < v->max_conns ? i + 1 : UINT32_MAX;
    }
    v->free_head = 0;
    return v;
}

void
nfv_vad_destroy(struct nfv_vad *v)
{
    if (v) {
        rte_hash_free(v->table);
        free(v->conns);
        vad_free_services__(v->svcs, v->n_svcs);
        free(v->svc_order);
        free(v->probe_map);
        free(v);
    }
}

/* ---- connections ------------------------------------------------------ */

static void
vad_conn_keys__(const struct vad_conn *c, struct vad_key *fwd,
                struct vad_key *rev)
{
    memset(fwd, 0, sizeof *fwd);
    fwd->src = c->client_ip;
    fwd->dst = c->vip;
    fwd->sport = c->client_port;
    fwd->dport = c->vport;
    fwd->proto = c->proto;
    memset(rev, 0, sizeof *rev);
    rev->src = c->backend_ip;
    rev->dst = c->snat_ip;
    rev->sport = c->backend_port;
    rev->dport = c->snat_port;
    rev->proto = c->proto;
}

static void
vad_conn_delete__(struct nfv_vad *v, uint32_t idx)
{
    struct vad_conn *c = &v->conns[idx];
    if (c->state == VAD_CONN_FREE) {
        return;
    }
    struct vad_key fwd, rev;
    vad_conn_keys__(c, &fwd, &rev);
    rte_hash_del_key(v->table, &fwd);
    rte_hash_del_key(v->table, &rev);
    c->state = VAD_CONN_FREE;
    c->next_free = v->free_head;
    v->free_head = idx;
    v->st.conns--;
}

static bool
vad_conn_expired__(const struct vad_conn *c, uint64_t now_ns)
{
    uint64_t idle = c->state == VAD_CONN_CLOSING ? NFV_VAD_CLOSE_NS
                    : c->proto == NFV_IP_PROTO_TCP ? NFV_VAD_TCP_IDLE_NS
                    : NFV_VAD_UDP_IDLE_NS;
    return now_ns - c->last_ns > idle;
}

static uint32_t
vad_flow_hash__(const struct vad_key *k)
{
    return rte_hash_crc(k, sizeof *k, 0x5bd1e995u);
}

/* Creates the connection of client packet 'k' to service 's'.  Returns its
 * index, or UINT32_MAX (counted). */
static uint32_t
vad_conn_create__(struct nfv_vad *v, struct vad_service *s,
                  const struct vad_key *k, const uint8_t *client_mac,
                  uint64_t now_ns)
{
    int m = maglev_lookup(s->maglev, vad_flow_hash__(k));
    if (m == MAGLEV_NONE) {
        v->st.no_backend++;
        return UINT32_MAX;
    }
    if (v->free_head == UINT32_MAX) {
        v->st.table_full++;
        return UINT32_MAX;
    }
    uint16_t be = s->pick[m];
    struct vad_backend *b = &s->backends[be];
    uint32_t idx = v->free_head;
    struct vad_conn *c = &v->conns[idx];
    c->client_ip = k->src;
    c->client_port = k->sport;
    c->vip = k->dst;
    c->vport = k->dport;
    c->proto = k->proto;
    c->backend_ip = b->cfg.ip;
    c->backend_port = b->cfg.port;
    c->snat_ip = v->self_ip;
    c->svc = (uint16_t) (s - v->svcs);
    c->be = be;
    memcpy(c->client_mac, client_mac, 6);
    memcpy(c->backend_mac, b->mac, 6);
    c->last_ns = now_ns;

    /* A SNAT port no other connection to this backend ip:port uses. */
    struct vad_key fwd, rev;
    for (int tries = 0;; tries++) {
        if (tries == VAD_SNAT_TRIES) {
            v->st.snat_exhausted++;
            return UINT32_MAX;
        }
        c->snat_port = b->snat_next;
        b->snat_next = (uint16_t) (b->snat_next >= NFV_VAD_SNAT_MAX
                                   ? NFV_VAD_SNAT_MIN : b->snat_next + 1u);
        vad_conn_keys__(c, &fwd, &rev);
        if (rte_hash_lookup(v->table, &rev) < 0) {
            break;
        }
    }
    if (rte_hash_add_key_data(v->table, &fwd,
                              (void *) (uintptr_t) ((uint64_t) idx << 1)) < 0) {
        v->st.table_full++;
        return UINT32_MAX;
    }
    if (rte_hash_add_key_data(v->table, &rev,
                              (void *) (uintptr_t) ((uint64_t) idx << 1 | 1))
        < 0) {
        rte_hash_del_key(v->table, &fwd);
        v->st.table_full++;
        return UINT32_MAX;
    }
    v->free_head = c->next_free;
    c->state = VAD_CONN_OPEN;
    b->conns++;
    v->st.conns++;
    v->st.conns_created++;
    return idx;
}

int
nfv_vad_reload(struct nfv_vad *v, const struct nfv_lb_config *cfg)
{
    struct vad_service *svcs;
    int error = vad_build_services__(v, cfg, v->svcs, v->n_svcs, &svcs);
    if (error) {
        return error;
    }
    struct vad_service *old = v->svcs;
    size_t n_old = v->n_svcs;
    v->svcs = svcs;
    v->n_svcs = cfg->n_services;
    v->self_ip = cfg->self_ip;
    vad_mac_bytes__(v->self_mac, cfg->self_mac);
    for (size_t i = 0; i < v->n_svcs; i++) {
        vad_rebuild__(&v->svcs[i]);
    }
    vad_index_probes__(v);
    vad_index_services__(v);

    /* Re-resolve every connection's backend in the new services. */
    for (uint32_t i = 0; i < v->max_conns; i++) {
        struct vad_conn *c = &v->conns[i];
        if (c->state == VAD_CONN_FREE) {
            continue;
        }
        const struct vad_service *o = &old[c->svc];
        struct vad_service *s = vad_find_service__(v->svcs, v->n_svcs,
                                                   o->vip, o->port, o->proto);
        size_t j = 0;
        while (s && j < s->n_backends
               && (s->backends[j].cfg.ip != c->backend_ip
                   || s->backends[j].cfg.port != c->backend_port)) {
            j++;
        }
        if (!s || j == s->n_backends) {
            vad_conn_delete__(v, i);
        } else {
            c->svc = (uint16_t) (s - v->svcs);
            c->be = (uint16_t) j;
        }
    }
    vad_free_services__(old, n_old);
    return 0;
}

/* ---- packets ---------------------------------------------------------- */

static struct nfv_frame *
vad_gen_slot__(struct nfv_vad *v, struct nfv_frame *gen, size_t n_gen,
               size_t *used)
{
    if (*used >= n_gen) {
        v->st.gen_overflow++;
        return NULL;
    }
    return &gen[(*used)++];
}

static bool
vad_owns_ip__(const struct nfv_vad *v, uint32_t ip)
{
    if (ip == v->self_ip) {
        return true;
    }
    for (size_t i = 0; i < v->n_svcs; i++) {
        if (v->svcs[i].vip == ip) {
            return true;
        }
    }
    return false;
}

/* An ARP request for one of our addresses: the reply into 'gen'. */
static void
vad_arp__(struct nfv_vad *v, struct nfv_frame *f, struct nfv_frame *gen,
          size_t n_gen, size_t *used)
{
    const uint8_t *p = f->data;
    uint8_t rx_port = f->port;
    f->port = NFV_PORT_DROP;
    if (f->len < VAD_ARP_LEN || packet_get_be16(p + 14) != 1
        || packet_get_be16(p + 16) != PACKET_ETH_TYPE_IPV4 || p[18] != 6
        || p[19] != 4 || packet_get_be16(p + 20) != 1) {
        v->st.malformed[NFV_PARSE_NOT_IP]++;
        return;
    }
    uint32_t spa = packet_get_be32(p + 28), tpa = packet_get_be32(p + 38);
    if (!vad_owns_ip__(v, tpa)) {
        v->st.malformed[NFV_PARSE_NOT_IP]++;
        return;
    }
    struct nfv_frame *g = vad_gen_slot__(v, gen, n_gen, used);
    if (!g || g->cap < NFV_MIN_FRAME) {
        return;
    }
    uint8_t *r = g->data;
    memset(r, 0, NFV_MIN_FRAME);
    memcpy(r, p + 22, 6);                       /* to the sender's MAC */
    memcpy(r + 6, v->self_mac, 6);
    packet_put_be16(r + 12, VAD_ETH_TYPE_ARP);
    packet_put_be16(r + 14, 1);
    packet_put_be16(r + 16, PACKET_ETH_TYPE_IPV4);
    r[18] = 6;
    r[19] = 4;
    packet_put_be16(r + 20, 2);                 /* reply */
    memcpy(r + 22, v->self_mac, 6);
    packet_put_be32(r + 28, tpa);
    memcpy(r + 32, p + 22, 6);
    packet_put_be32(r + 38, spa);
    g->len = NFV_MIN_FRAME;
    g->port = rx_port;
    v->st.arp_replies++;
}

static void vad_probe_answer__(struct nfv_vad *, const struct nfv_frame *,
                               const struct nfv_pkt *, struct nfv_frame *gen,
                               size_t n_gen, size_t *used);

/* Rewrites and sends frame 'f' of connection 'idx' in direction 'dir'
 * (0: client to VIP, 1: backend to us). */
static inline void
vad_forward__(struct nfv_vad *v, struct nfv_frame *f,
              const struct nfv_pkt *pkt, struct vad_conn *c, unsigned dir,
              uint64_t now_ns)
{
    uint8_t *d = f->data;
    if (!dir) {
        nfv_pkt_set_dst(d, pkt, c->backend_ip, c->backend_port);
        nfv_pkt_set_src(d, pkt, c->snat_ip, c->snat_port);
        memcpy(d, c->backend_mac, 6);
    } else {
        nfv_pkt_set_src(d, pkt, c->vip, c->vport);
        nfv_pkt_set_dst(d, pkt, c->client_ip, c->client_port);
        memcpy(d, c->client_mac, 6);
    }
    memcpy(d + 6, v->self_mac, 6);
    if (pkt->proto == NFV_IP_PROTO_TCP
        && pkt->tcp_flags & (NFV_TCP_FIN | NFV_TCP_RST)) {
        c->state = VAD_CONN_CLOSING;
    }
    c->last_ns = now_ns;
    v->st.forwarded++;
}

/* The slow path of one IPv4 TCP/UDP frame: no (valid) connection found. */
static void
vad_miss__(struct nfv_vad *v, struct nfv_frame *f, const struct nfv_pkt *pkt,
           const struct vad_key *k, uint64_t now_ns, struct nfv_frame *gen,
           size_t n_gen, size_t *used)
{
    if (pkt->dst == v->self_ip && pkt->proto == NFV_IP_PROTO_TCP
        && pkt->dport >= NFV_VAD_PROBE_MIN) {
        vad_probe_answer__(v, f, pkt, gen, n_gen, used);
        f->port = NFV_PORT_DROP;
        return;
    }
    struct vad_service *s = vad_lookup_service__(v, pkt->dst, pkt->dport,
                                                 pkt->proto);
    if (!s) {
        v->st.no_service++;
        f->port = NFV_PORT_DROP;
        return;
    }
    if (pkt->proto == NFV_IP_PROTO_TCP
        && (pkt->tcp_flags & (NFV_TCP_SYN | NFV_TCP_ACK | NFV_TCP_RST))
           != NFV_TCP_SYN) {
        v->st.no_conn++;
        f->port = NFV_PORT_DROP;
        return;
    }
    uint32_t idx = vad_conn_create__(v, s, k, f->data + 6, now_ns);
    if (idx == UINT32_MAX) {
        f->port = NFV_PORT_DROP;
        return;
    }
    vad_forward__(v, f, pkt, &v->conns[idx], 0, now_ns);
}

/* Whether a found connection is still good for this packet; deletes it
 * if not (expired, backend down, or a new SYN on a closing one). */
static bool
vad_conn_valid__(struct nfv_vad *v, uint32_t idx, unsigned dir,
                 const struct nfv_pkt *pkt, uint64_t now_ns)
{
    struct vad_conn *c = &v->conns[idx];
    bool ok = !vad_conn_expired__(c, now_ns)
              && v->svcs[c->svc].backends[c->be].up
              && !(dir == 0 && c->state == VAD_CONN_CLOSING
                   && pkt->proto == NFV_IP_PROTO_TCP
                   && (pkt->tcp_flags & (NFV_TCP_SYN | NFV_TCP_ACK))
                      == NFV_TCP_SYN);
    if (!ok) {
        vad_conn_delete__(v, idx);
    }
    return ok;
}

size_t
nfv_vad_process(struct nfv_vad *v, struct nfv_frame *frames, size_t n,
                uint64_t now_ns, struct nfv_frame *gen, size_t n_gen)
{
    size_t used = 0;
    for (size_t base = 0; base < n; base += RTE_HASH_LOOKUP_BULK_MAX) {
        size_t m = n - base < RTE_HASH_LOOKUP_BULK_MAX
                   ? n - base : RTE_HASH_LOOKUP_BULK_MAX;
        struct nfv_pkt pkts[RTE_HASH_LOOKUP_BULK_MAX];
        struct vad_key keys[RTE_HASH_LOOKUP_BULK_MAX];
        const void *kp[RTE_HASH_LOOKUP_BULK_MAX];
        void *data[RTE_HASH_LOOKUP_BULK_MAX];
        uint8_t which[RTE_HASH_LOOKUP_BULK_MAX];
        size_t nk = 0;

        for (size_t i = 0; i < m; i++) {
            struct nfv_frame *f = &frames[base + i];
            enum nfv_parse r = nfv_pkt_parse(f->data, f->len, &pkts[i]);
            if (r != NFV_PARSE_OK) {
                if (r == NFV_PARSE_NOT_IP && f->len >= PACKET_ETH_HLEN
                    && packet_get_be16(f->data + 12) == VAD_ETH_TYPE_ARP) {
                    vad_arp__(v, f, gen, n_gen, &used);
                } else {
                    v->st.malformed[r]++;
                    f->port = NFV_PORT_DROP;
                }
                continue;
            }
            if (pkts[i].proto != NFV_IP_PROTO_TCP
                && pkts[i].proto != NFV_IP_PROTO_UDP) {
                v->st.not_tcp_udp++;
                f->port = NFV_PORT_DROP;
                continue;
            }
            struct vad_key *k = &keys[nk];
            k->src = pkts[i].src;
            k->dst = pkts[i].dst;
            k->sport = pkts[i].sport;
            k->dport = pkts[i].dport;
            k->proto = pkts[i].proto;
            memset(k->pad, 0, sizeof k->pad);
            kp[nk] = k;
            which[nk++] = (uint8_t) i;
        }
        if (!nk) {
            continue;
        }

        uint64_t hits = 0;
        rte_hash_lookup_bulk_data(v->table, kp, (uint32_t) nk, &hits, data);

        /* Connections created or deleted by this chunk make the bulk
         * results stale for the frames after: look those up again. */
        bool stale = false;
        for (size_t j = 0; j < nk; j++) {
            struct nfv_frame *f = &frames[base + which[j]];
            const struct nfv_pkt *pkt = &pkts[which[j]];
            bool hit = hits >> j & 1;
            void *d = data[j];
            if (stale) {
                hit = rte_hash_lookup_data(v->table, kp[j], &d) >= 0;
            }
            if (hit) {
                uint32_t idx = (uint32_t) ((uintptr_t) d >> 1);
                unsigned dir = (uintptr_t) d & 1;
                if (vad_conn_valid__(v, idx, dir, pkt, now_ns)) {
                    vad_forward__(v, f, pkt, &v->conns[idx], dir, now_ns);
                    continue;
                }
            }
            stale = true;
            vad_miss__(v, f, pkt, &keys[j], now_ns, gen, n_gen, &used);
        }
    }
    return used;
}

/* ---- health checks ---------------------------------------------------- */

static void
vad_log_health__(const struct vad_service *s, const struct vad_backend *b)
{
    char ip[IP4_STRLEN], vip[IP4_STRLEN];
    ip4_format(b->cfg.ip, ip);
    ip4_format(s->vip, vip);
    LOG_INFO("backend %s:%u of %s:%u is %s", ip, b->cfg.port, vip, s->port,
             b->up ? "up" : "down");
}

static void
vad_health_result__(struct vad_service *s, struct vad_backend *b, bool ok)
{
    b->probe_out = false;
    if (ok) {
        b->fails = 0;
        if (b->succs < 255) {
            b->succs++;
        }
        if (!b->up && b->succs >= NFV_VAD_UP_AFTER) {
            b->up = true;
            s->dirty = true;
            vad_log_health__(s, b);
        }
    } else {
        b->succs = 0;
        if (b->fails < 255) {
            b->fails++;
        }
        if (b->up && b->fails >= NFV_VAD_DOWN_AFTER) {
            b->up = false;
            s->dirty = true;
            vad_log_health__(s, b);
        }
    }
}

static struct vad_service *
vad_service_of__(struct nfv_vad *v, const struct vad_backend *b)
{
    for (size_t i = 0; i < v->n_svcs; i++) {
        struct vad_service *s = &v->svcs[i];
        if (b >= s->backends && b < s->backends + s->n_backends) {
            return s;
        }
    }
    return NULL;
}

/* A TCP segment to self_ip at a probe port: the answer to a probe? */
static void
vad_probe_answer__(struct nfv_vad *v, const struct nfv_frame *f,
                   const struct nfv_pkt *pkt, struct nfv_frame *gen,
                   size_t n_gen, size_t *used)
{
    uint32_t ack = packet_get_be32(f->data + pkt->l4_ofs + 8);
    for (size_t k = pkt->dport - NFV_VAD_PROBE_MIN; k < v->n_probe;
         k += NFV_VAD_PROBE_PORTS) {
        struct vad_backend *b = v->probe_map[k];
        if (b->cfg.ip != pkt->src || b->cfg.port != pkt->sport
            || b->probe_port != pkt->dport || !b->probe_out
            || !(pkt->tcp_flags & NFV_TCP_ACK) || ack != b->probe_seq + 1) {
            continue;
        }
        struct vad_service *s = vad_service_of__(v, b);
        if ((pkt->tcp_flags & (NFV_TCP_SYN | NFV_TCP_RST)) == NFV_TCP_SYN) {
            vad_health_result__(s, b, true);
            /* Abort the half-open connection. */
            struct nfv_frame *g = vad_gen_slot__(v, gen, n_gen, used);
            if (g) {
                struct nfv_tcp_seg seg = {
                    .eth_dst = b->cfg.mac,
                    .eth_src = packet_get_mac(v->self_mac),
                    .src = v->self_ip, .dst = b->cfg.ip,
                    .sport = b->probe_port, .dport = b->cfg.port,
                    .seq = ack, .flags = NFV_TCP_RST,
                };
                g->len = (uint16_t) nfv_pkt_build_tcp(g->data, g->cap, &seg);
                g->port = f->port;
            }
        } else if (pkt->tcp_flags & NFV_TCP_RST) {
            vad_health_result__(s, b, false);
        }
        return;
    }
}

void
nfv_vad_tick(struct nfv_vad *v, uint64_t now_ns, struct nfv_frame *gen,
             size_t *n_gen)
{
    size_t cap = *n_gen, used = 0;
    for (size_t i = 0; i < v->n_svcs; i++) {
        struct vad_service *s = &v->svcs[i];
        if (s->interval_ms && now_ns >= s->next_probe_ns) {
            s->next_probe_ns = now_ns + s->interval_ms * 1000000ull;
            for (size_t j = 0; j < s->n_backends; j++) {
                struct vad_backend *b = &s->backends[j];
                if (b->probe_out) {
                    vad_health_result__(s, b, false);   /* no answer */
                }
                if (!b->probe_due) {
                    b->probe_due = true;
                    s->n_due++;
                }
            }
        }
        for (size_t j = 0; s->n_due && j < s->n_backends && used < cap;
             j++) {
            struct vad_backend *b = &s->backends[j];
            if (!b->probe_due) {
                continue;
            }
            b->probe_seq = vad_rand__(v);
            struct nfv_tcp_seg seg = {
                .eth_dst = b->cfg.mac,
                .eth_src = packet_get_mac(v->self_mac),
                .src = v->self_ip, .dst = b->cfg.ip,
                .sport = b->probe_port, .dport = b->cfg.port,
                .seq = b->probe_seq, .flags = NFV_TCP_SYN, .window = 1024,
            };
            struct nfv_frame *g = &gen[used];
            g->len = (uint16_t) nfv_pkt_build_tcp(g->data, g->cap, &seg);
            if (!g->len) {
                break;
            }
            g->port = NFV_PORT_LEFT;
            used++;
            b->probe_due = false;
            b->probe_out = true;
            s->n_due--;
            v->st.probes_sent++;
        }
        if (s->dirty) {
            vad_rebuild__(s);
        }
    }

    /* Reclaim expired connections, a bounded slice per tick. */
    for (uint32_t k = 0; k < VAD_SWEEP_PER_TICK && v->st.conns; k++) {
        uint32_t idx = v->sweep;
        v->sweep = idx + 1 < v->max_conns ? idx + 1 : 0;
        if (v->conns[idx].state != VAD_CONN_FREE
            && vad_conn_expired__(&v->conns[idx], now_ns)) {
            vad_conn_delete__(v, idx);
        }
    }
    *n_gen = used;
}

/* ---- introspection ---------------------------------------------------- */

void
nfv_vad_get_stats(const struct nfv_vad *v, struct nfv_vad_stats *st)
{
    *st = v->st;
}

size_t
nfv_vad_n_services(const struct nfv_vad *v)
{
    return v->n_svcs;
}

size_t
nfv_vad_n_backends(const struct nfv_vad *v, size_t service)
{
    return service < v->n_svcs ? v->svcs[service].n_backends : 0;
}

int
nfv_vad_backend_info(const struct nfv_vad *v, size_t service, size_t backend,
                     struct nfv_vad_backend_info *info)
{
    if (service >= v->n_svcs || backend >= v->svcs[service].n_backends) {
        return -ENOENT;
    }
    const struct vad_backend *b = &v->svcs[service].backends[backend];
    info->ip = b->cfg.ip;
    info->port = b->cfg.port;
    info->healthy = b->up;
    info->conns = b->conns;
    return 0;
}
