/* test-nfv-vad.c — vAD (nfv/vad.h) driven like the I/O loop drives it:
 * bursts of frames in plain memory.  Spread of 1,000 connections over 4
 * backends, both rewrite directions with checksums verified by a full
 * recompute (lib/packet.h, not the incremental code under test), stickiness
 * across a pool change, the health state machine with synthetic SYN-ACK /
 * RST / silence, connection end and expiry, a bounded table, ARP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/addr.h"
#include "lib/packet.h"
#include "nfv/nfv-eal.h"
#include "nfv/pkt.h"
#include "nfv/vad.h"

#define VIP 0x0a000064u             /* 10.0.0.100 */
#define SELF_IP 0x0a000002u
#define SELF_MAC 0x02000000aa01ull
#define CLIENT_MAC 0x02000000cc01ull
#define MS 1000000ull
#define S 1000000000ull

static struct nfv_lb_backend backends[5];
static struct nfv_lb_service service;
static struct nfv_lb_config config;

static void
make_config(size_t n_backends, uint32_t interval_ms, uint32_t max_conns)
{
    for (size_t i = 0; i < 5; i++) {
        backends[i] = (struct nfv_lb_backend) {
            .ip = 0x0a000a01u + (uint32_t) i, .port = 8080, .weight = 1,
            .mac = 0x02000000bb00ull + i,
        };
    }
    service = (struct nfv_lb_service) {
        .vip = VIP, .port = 80, .proto = NFV_IP_PROTO_TCP,
        .backends = backends, .n_backends = n_backends,
        .health_interval_ms = interval_ms,
    };
    config = (struct nfv_lb_config) {
        .self_ip = SELF_IP, .self_mac = SELF_MAC, .services = &service,
        .n_services = 1, .max_conns = max_conns,
    };
}

struct frame_buf {
    uint8_t data[256];
    struct nfv_frame f;
};

static void
tcp_frame(struct frame_buf *b, uint64_t smac, uint64_t dmac, uint32_t src,
          uint16_t sport, uint32_t dst, uint16_t dport, uint8_t flags,
          uint32_t seq, uint32_t ack)
{
    struct nfv_tcp_seg seg = {
        .eth_dst = dmac, .eth_src = smac, .src = src, .dst = dst,
        .sport = sport, .dport = dport, .seq = seq, .ack = ack,
        .flags = flags, .window = 512,
    };
    b->f.data = b->data;
    b->f.cap = sizeof b->data;
    b->f.len = (uint16_t) nfv_pkt_build_tcp(b->data, sizeof b->data, &seg);
    b->f.port = NFV_PORT_LEFT;
    assert_true(b->f.len >= 54);
}

static void
udp_frame(struct frame_buf *b, uint32_t src, uint16_t sport, uint32_t dst,
          uint16_t dport)
{
    static const char payload[] = "hello, vad";
    size_t ulen = PACKET_UDP_HLEN + sizeof payload;
    uint8_t *p = b->data;
    packet_put_eth_header(p, SELF_MAC, CLIENT_MAC, PACKET_ETH_TYPE_IPV4);
    packet_put_ip_header(p + 14, PACKET_IP_PROTO_UDP, 7, src, dst, ulen);
    uint8_t *u = p + 34;
    packet_put_be16(u, sport);
    packet_put_be16(u + 2, dport);
    packet_put_be16(u + 4, (uint16_t) ulen);
    packet_put_be16(u + 6, 0);
    memcpy(u + 8, payload, sizeof payload);
    packet_put_be16(u + 6, packet_udp_csum(src, dst, u, ulen));
    b->f = (struct nfv_frame) { .data = p, .len = (uint16_t) (34 + ulen),
                                .cap = sizeof b->data, .port = NFV_PORT_LEFT };
}

/* Verifies the IPv4 header checksum and the TCP/UDP checksum of a frame by
 * summing everything again. */
static void
assert_checksums(const struct nfv_frame *f)
{
    const uint8_t *ip = f->data + 14;
    assert_int_equal(packet_csum(ip, 20), 0);
    size_t tot = packet_get_be16(ip + 2);
    uint32_t src = packet_get_be32(ip + 12), dst = packet_get_be32(ip + 16);
    size_t l4len = tot - 20;
    uint8_t pseudo[12] = { 0 };
    packet_put_be32(pseudo, src);
    packet_put_be32(pseudo + 4, dst);
    pseudo[9] = ip[9];
    packet_put_be16(pseudo + 10, (uint16_t) l4len);
    uint32_t sum = packet_csum_add(0, pseudo, sizeof pseudo);
    assert_int_equal(packet_csum_fold(packet_csum_add(sum, ip + 20, l4len)),
                     0);
}

static struct nfv_pkt
parse(const struct nfv_frame *f)
{
    struct nfv_pkt p;
    assert_int_equal(nfv_pkt_parse(f->data, f->len, &p), NFV_PARSE_OK);
    return p;
}

static size_t
process1(struct nfv_vad *v, struct frame_buf *b, uint64_t now,
         struct frame_buf *gen, size_t n_gen)
{
    struct nfv_frame g[8];
    for (size_t i = 0; i < n_gen; i++) {
        g[i] = (struct nfv_frame) { .data = gen[i].data,
                                    .cap = NFV_GEN_CAP };
    }
    size_t used = nfv_vad_process(v, &b->f, 1, now, g, n_gen);
    for (size_t i = 0; i < used; i++) {
        gen[i].f = g[i];
    }
    return used;
}

static int
backend_of(uint32_t ip)
{
    for (int i = 0; i < 5; i++) {
        if (backends[i].ip == ip) {
            return i;
        }
    }
    return -1;
}

static int
setup(void **state)
{
    (void) state;
    return nfv_eal_init_for_tests();
}

/* 1,000 client connections (SYNs from 50 clients x 20 ports, sent in
 * bursts of 32) spread over 4 backends within +-10% of 250 each. */
static void
test_spread(void **state)
{
    (void) state;
    make_config(4, 0, 0);
    struct nfv_vad *v = nfv_vad_create(&config);
    assert_non_null(v);
    static struct frame_buf bufs[1000];
    struct nfv_frame frames[1000];
    for (int i = 0; i < 1000; i++) {
        tcp_frame(&bufs[i], CLIENT_MAC, SELF_MAC, 0x0a010000u + i / 20,
                  (uint16_t) (33000 + i % 20 * 7), VIP, 80, NFV_TCP_SYN,
                  1000, 0);
        frames[i] = bufs[i].f;
    }
    for (int i = 0; i < 1000; i += 32) {
        nfv_vad_process(v, &frames[i], i + 32 <= 1000 ? 32 : 1000 - i, 1,
                        NULL, 0);
    }
    int counts[4] = { 0 };
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(frames[i].port, NFV_PORT_LEFT);
        struct nfv_pkt p = parse(&frames[i]);
        int b = backend_of(p.dst);
        assert_true(b >= 0 && b < 4);
        counts[b]++;
    }
    for (int b = 0; b < 4; b++) {
        struct nfv_vad_backend_info info;
        assert_int_equal(nfv_vad_backend_info(v, 0, b, &info), 0);
        printf("backend %d: %d connections\n", b, counts[b]);
        assert_int_equal(info.conns, counts[b]);
        assert_in_range(counts[b], 225, 275);
    }
    struct nfv_vad_stats st;
    nfv_vad_get_stats(v, &st);
    assert_int_equal(st.conns, 1000);
    nfv_vad_destroy(v);
}

/* Both directions of one TCP and one UDP connection. */
static void
test_rewrite(void **state)
{
    (void) state;
    make_config(4, 0, 0);
    service.proto = NFV_IP_PROTO_TCP;
    struct nfv_lb_service svcs[2] = { service, service };
    svcs[1].proto = NFV_IP_PROTO_UDP;
    svcs[1].port = 53;
    config.services = svcs;
    config.n_services = 2;
    struct nfv_vad *v = nfv_vad_create(&config);
    assert_non_null(v);

    for (int udp = 0; udp < 2; udp++) {
        struct frame_buf b;
        uint32_t client = 0x0a0200aau;
        uint16_t cport = 40000, vport = udp ? 53 : 80;
        if (udp) {
            udp_frame(&b, client, cport, VIP, vport);
        } else {
            tcp_frame(&b, CLIENT_MAC, SELF_MAC, client, cport, VIP, vport,
                      NFV_TCP_SYN, 77, 0);
        }
        assert_int_equal(process1(v, &b, 1, NULL, 0), 0);
        assert_int_equal(b.f.port, NFV_PORT_LEFT);
        struct nfv_pkt p = parse(&b.f);
        int be = backend_of(p.dst);
        assert_true(be >= 0);
        assert_int_equal(p.dport, 8080);
        assert_int_equal(p.src, SELF_IP);
        assert_true(p.sport >= NFV_VAD_SNAT_MIN
                    && p.sport <= NFV_VAD_SNAT_MAX);
        assert_true(packet_get_mac(b.data) == backends[be].mac);
        assert_true(packet_get_mac(b.data + 6) == SELF_MAC);
        assert_checksums(&b.f);

        /* The backend answers self_ip:snat_port. */
        struct frame_buf r;
        if (udp) {
            udp_frame(&r, backends[be].ip, 8080, SELF_IP, p.sport);
        } else {
            tcp_frame(&r, backends[be].mac, SELF_MAC, backends[be].ip, 8080,
                      SELF_IP, p.sport, NFV_TCP_SYN | NFV_TCP_ACK, 5000, 78);
        }
        process1(v, &r, 2, NULL, 0);
        assert_int_equal(r.f.port, NFV_PORT_LEFT);
        struct nfv_pkt q = parse(&r.f);
        assert_int_equal(q.src, VIP);
        assert_int_equal(q.sport, vport);
        assert_int_equal(q.dst, client);
        assert_int_equal(q.dport, cport);
        assert_true(packet_get_mac(r.data) == CLIENT_MAC);
        assert_true(packet_get_mac(r.data + 6) == SELF_MAC);
        assert_checksums(&r.f);

        /* A reply to a SNAT port nobody uses is dropped. */
        if (!udp) {
            tcp_frame(&r, backends[be].mac, SELF_MAC, backends[be].ip, 8080,
                      SELF_IP, (uint16_t) (p.sport + 1), NFV_TCP_ACK, 1, 1);
            process1(v, &r, 2, NULL, 0);
            assert_int_equal(r.f.port, NFV_PORT_DROP);
        }
    }
    /* A non-SYN segment without a connection is dropped, not created. */
    struct frame_buf b;
    tcp_frame(&b, CLIENT_MAC, SELF_MAC, 0x0a0300aau, 1234, VIP, 80,
              NFV_TCP_ACK, 1, 1);
    process1(v, &b, 3, NULL, 0);
    assert_int_equal(b.f.port, NFV_PORT_DROP);
    struct nfv_vad_stats st;
    nfv_vad_get_stats(v, &st);
    assert_int_equal(st.no_conn, 1);        /* the ACK above */
    assert_int_equal(st.no_service, 1);     /* the stray backend reply */
    assert_int_equal(st.conns, 2);
    nfv_vad_destroy(v);
}

/* Connections keep their backend across a pool change (a backend added,
 * one removed); those of the removed backend end. */
static void
test_sticky_reload(void **state)
{
    (void) state;
    make_config(4, 0, 0);
    struct nfv_vad *v = nfv_vad_create(&config);
    enum { N = 400 };
    int first[N];
    for (int i = 0; i < N; i++) {
        struct frame_buf b;
        tcp_frame(&b, CLIENT_MAC, SELF_MAC, 0x0a050000u + i, 5555, VIP, 80,
                  NFV_TCP_SYN, 1, 0);
        process1(v, &b, 1, NULL, 0);
        first[i] = backend_of(parse(&b.f).dst);
    }
    /* New pool: backends 1, 2, 3 and 4 (0 removed, 4 added). */
    struct nfv_lb_backend pool[4] = { backends[1], backends[2], backends[3],
                                      backends[4] };
    service.backends = pool;
    service.n_backends = 4;
    assert_int_equal(nfv_vad_reload(v, &config), 0);
    int kept = 0, dropped = 0;
    for (int i = 0; i < N; i++) {
        struct frame_buf b;
        tcp_frame(&b, CLIENT_MAC, SELF_MAC, 0x0a050000u + i, 5555, VIP, 80,
                  NFV_TCP_ACK, 2, 1);
        process1(v, &b, 2, NULL, 0);
        if (first[i] == 0) {
            assert_int_equal(b.f.port, NFV_PORT_DROP);
            dropped++;
        } else {
            assert_int_equal(b.f.port, NFV_PORT_LEFT);
            assert_int_equal(backend_of(parse(&b.f).dst), first[i]);
            kept++;
        }
    }
    printf("kept %d, ended with removed backend %d\n", kept, dropped);
    assert_true(dropped > 0 && kept > 0);
    /* New connections use the new backend too. */
    int on4 = 0;
    for (int i = 0; i < N; i++) {
        struct frame_buf b;
        tcp_frame(&b, CLIENT_MAC, SELF_MAC, 0x0a060000u + i, 5555, VIP, 80,
                  NFV_TCP_SYN, 1, 0);
        process1(v, &b, 3, NULL, 0);
        int be = backend_of(parse(&b.f).dst);
        assert_true(be >= 1 && be <= 4);
        on4 += be == 4;
    }
    assert_true(on4 > N / 8);
    nfv_vad_destroy(v);
}

/* Probes, SYN-ACK / RST / silence, down after 3 failures, up after 2. */
static void
test_health(void **state)
{
    (void) state;
    make_config(2, 100, 0);
    struct nfv_vad *v = nfv_vad_create(&config);
    struct frame_buf gb[8];
    struct nfv_frame gen[8];
    uint32_t seq[2];
    uint16_t pport[2];
    uint64_t now = 0;

    /* One probe round: returns the SYNs in 'seq'/'pport' per backend. */
#define ROUND()                                                         \
    do {                                                                \
        for (int i = 0; i < 8; i++) {                                   \
            gen[i] = (struct nfv_frame) { .data = gb[i].data,           \
                                          .cap = NFV_GEN_CAP };         \
        }                                                               \
        size_t n_gen = 8;                                               \
        nfv_vad_tick(v, now, gen, &n_gen);                              \
        assert_int_equal(n_gen, 2);                                     \
        for (size_t i = 0; i < n_gen; i++) {                            \
            struct nfv_pkt p = parse(&gen[i]);                          \
            int be = backend_of(p.dst);                                 \
            assert_true(be == 0 || be == 1);                            \
            assert_int_equal(p.tcp_flags, NFV_TCP_SYN);                 \
            assert_int_equal(p.src, SELF_IP);                           \
            assert_int_equal(p.dport, 8080);                            \
            assert_true(p.sport >= NFV_VAD_PROBE_MIN);                  \
            assert_true(packet_get_mac(gen[i].data) == backends[be].mac); \
            assert_checksums(&gen[i]);                                  \
            seq[be] = packet_get_be32(gen[i].data + p.l4_ofs + 4);      \
            pport[be] = p.sport;                                        \
        }                                                               \
    } while (0)
#define ANSWER(be, flags)                                               \
    do {                                                                \
        struct frame_buf a, g2[2];                                      \
        tcp_frame(&a, backends[be].mac, SELF_MAC, backends[be].ip,      \
                  8080, SELF_IP, pport[be], (flags), 999,               \
                  seq[be] + 1);                                         \
        size_t ng = process1(v, &a, now + MS, g2, 2);                   \
        assert_int_equal(a.f.port, NFV_PORT_DROP);                      \
        if ((flags) & NFV_TCP_SYN) {                                    \
            assert_int_equal(ng, 1);                                    \
            struct nfv_pkt rp = parse(&g2[0].f);                        \
            assert_int_equal(rp.tcp_flags, NFV_TCP_RST);                \
            assert_int_equal(rp.dst, backends[be].ip);                  \
            assert_int_equal(packet_get_be32(g2[0].data + rp.l4_ofs + 4), \
                             seq[be] + 1);                              \
        } else {                                                        \
            assert_int_equal(ng, 0);                                    \
        }                                                               \
    } while (0)

    struct nfv_vad_backend_info info;
    /* Backend 0 answers SYN-ACK; backend 1 is silent: down at the 3rd
     * missed answer, i.e. the tick 3 intervals after its first probe. */
    for (int round = 0; round < 4; round++) {
        ROUND();
        nfv_vad_backend_info(v, 0, 1, &info);
        assert_int_equal(info.healthy, round < 3);
        ANSWER(0, NFV_TCP_SYN | NFV_TCP_ACK);
        now += 100 * MS;
    }
    nfv_vad_backend_info(v, 0, 0, &info);
    assert_true(info.healthy);
    /* Every new connection now goes to backend 0. */
    for (int i = 0; i < 50; i++) {
        struct frame_buf b;
        tcp_frame(&b, CLIENT_MAC, SELF_MAC, 0x0a070000u + i, 999, VIP, 80,
                  NFV_TCP_SYN, 1, 0);
        process1(v, &b, now, NULL, 0);
        assert_int_equal(backend_of(parse(&b.f).dst), 0);
    }
    /* Backend 1 answers again: up after 2 successes. */
    ROUND();
    ANSWER(0, NFV_TCP_SYN | NFV_TCP_ACK);
    ANSWER(1, NFV_TCP_SYN | NFV_TCP_ACK);
    nfv_vad_backend_info(v, 0, 1, &info);
    assert_false(info.healthy);
    now += 100 * MS;
    ROUND();
    ANSWER(0, NFV_TCP_SYN | NFV_TCP_ACK);
    ANSWER(1, NFV_TCP_SYN | NFV_TCP_ACK);
    nfv_vad_backend_info(v, 0, 1, &info);
    assert_true(info.healthy);

    /* Backend 0 refuses (RST): down after 3 RSTs, in the third round. */
    for (int round = 0; round < 3; round++) {
        now += 100 * MS;
        ROUND();
        ANSWER(0, NFV_TCP_RST | NFV_TCP_ACK);
        ANSWER(1, NFV_TCP_SYN | NFV_TCP_ACK);
        nfv_vad_backend_info(v, 0, 0, &info);
        assert_int_equal(info.healthy, round < 2);
    }
    /* A SYN-ACK with the wrong acknowledgment number is ignored: no RST
     * answers it and it counts as no answer. */
    now += 100 * MS;
    ROUND();
    struct frame_buf a, g2[2];
    tcp_frame(&a, backends[1].mac, SELF_MAC, backends[1].ip, 8080, SELF_IP,
              pport[1], NFV_TCP_SYN | NFV_TCP_ACK, 999, seq[1] + 6);
    assert_int_equal(process1(v, &a, now + MS, g2, 2), 0);
    struct nfv_vad_stats st;
    nfv_vad_get_stats(v, &st);
    assert_int_equal(st.probes_sent, 2 * 10);
#undef ROUND
#undef ANSWER
    nfv_vad_destroy(v);
}

/* FIN/RST end a connection after the short close timeout; idle UDP
 * connections expire; the table is bounded. */
static void
test_expiry_and_bound(void **state)
{
    (void) state;
    make_config(2, 0, 8);
    struct nfv_vad *v = nfv_vad_create(&config);
    struct nfv_vad_stats st;
    for (int i = 0; i < 10; i++) {
        struct frame_buf b;
        tcp_frame(&b, CLIENT_MAC, SELF_MAC, 0x0a080000u + i, 999, VIP, 80,
                  NFV_TCP_SYN, 1, 0);
        process1(v, &b, S, NULL, 0);
        assert_int_equal(b.f.port, i < 8 ? NFV_PORT_LEFT : NFV_PORT_DROP);
    }
    nfv_vad_get_stats(v, &st);
    assert_int_equal(st.conns, 8);
    assert_int_equal(st.table_full, 2);

    /* Client 0 sends a FIN: gone NFV_VAD_CLOSE_NS later; the others stay
     * until their idle timeout. */
    struct frame_buf b;
    tcp_frame(&b, CLIENT_MAC, SELF_MAC, 0x0a080000u, 999, VIP, 80,
              NFV_TCP_FIN | NFV_TCP_ACK, 2, 1);
    process1(v, &b, 2 * S, NULL, 0);
    assert_int_equal(b.f.port, NFV_PORT_LEFT);
    size_t n_gen = 0;
    nfv_vad_tick(v, 2 * S + NFV_VAD_CLOSE_NS + 1, NULL, &n_gen);
    nfv_vad_get_stats(v, &st);
    assert_int_equal(st.conns, 7);
    nfv_vad_tick(v, S + NFV_VAD_TCP_IDLE_NS + 1, NULL, &n_gen);
    nfv_vad_get_stats(v, &st);
    assert_int_equal(st.conns, 0);
    nfv_vad_destroy(v);
}

static void
arp_request(struct frame_buf *b, uint32_t target)
{
    uint8_t *p = b->data;
    memset(p, 0, 60);
    packet_put_mac(p, ETH_BROADCAST);
    packet_put_mac(p + 6, CLIENT_MAC);
    packet_put_be16(p + 12, 0x0806);
    packet_put_be16(p + 14, 1);
    packet_put_be16(p + 16, 0x0800);
    p[18] = 6;
    p[19] = 4;
    packet_put_be16(p + 20, 1);
    packet_put_mac(p + 22, CLIENT_MAC);
    packet_put_be32(p + 28, 0x0a0900aau);
    packet_put_be32(p + 38, target);
    b->f = (struct nfv_frame) { .data = p, .len = 60, .cap = sizeof b->data,
                                .port = NFV_PORT_LEFT };
}

static void
test_arp(void **state)
{
    (void) state;
    make_config(2, 0, 0);
    struct nfv_vad *v = nfv_vad_create(&config);
    static const uint32_t targets[] = { VIP, SELF_IP, 0x0a000063u };
    for (size_t t = 0; t < 3; t++) {
        struct frame_buf b, g[2];
        arp_request(&b, targets[t]);
        size_t n = process1(v, &b, 1, g, 2);
        assert_int_equal(b.f.port, NFV_PORT_DROP);
        if (t == 2) {
            assert_int_equal(n, 0);     /* not ours */
            continue;
        }
        assert_int_equal(n, 1);
        const uint8_t *r = g[0].data;
        assert_int_equal(g[0].f.port, NFV_PORT_LEFT);
        assert_true(packet_get_mac(r) == CLIENT_MAC);
        assert_true(packet_get_mac(r + 6) == SELF_MAC);
        assert_int_equal(packet_get_be16(r + 12), 0x0806);
        assert_int_equal(packet_get_be16(r + 20), 2);
        assert_true(packet_get_mac(r + 22) == SELF_MAC);
        assert_int_equal(packet_get_be32(r + 28), targets[t]);
        assert_true(packet_get_mac(r + 32) == CLIENT_MAC);
        assert_int_equal(packet_get_be32(r + 38), 0x0a0900aau);
    }
    nfv_vad_destroy(v);
}

/* 300 TCP services on ports 1000..1299 and a UDP one on port 1000, each
 * with a backend of its own: a new connection finds its own service (the
 * sorted index, not a scan), the protocol counts, a port without a service
 * drops; after a reload that drops half of them the index follows. */
static void
test_many_services(void **state)
{
    (void) state;
    enum { N = 300 };
    static struct nfv_lb_backend bes[N + 1];
    static struct nfv_lb_service svcs[N + 1];
    for (size_t i = 0; i <= N; i++) {
        bes[i] = (struct nfv_lb_backend) {
            .ip = 0x0a001000u + (uint32_t) i, .port = (uint16_t) (8000 + i),
            .weight = 1, .mac = 0x02000000bb00ull + i,
        };
        /* Listed in reverse port order: the index sorts them. */
        svcs[i] = (struct nfv_lb_service) {
            .vip = VIP, .port = (uint16_t) (1000 + N - 1 - i),
            .proto = NFV_IP_PROTO_TCP, .backends = &bes[i], .n_backends = 1,
        };
    }
    svcs[N].port = 1000;
    svcs[N].proto = NFV_IP_PROTO_UDP;
    make_config(1, 0, 0);
    config.services = svcs;
    config.n_services = N + 1;
    struct nfv_vad *v = nfv_vad_create(&config);
    assert_non_null(v);

    static const int ks[] = { 0, 1, 150, 298, 299 };
    for (size_t t = 0; t < 2; t++) {
        for (size_t j = 0; j < sizeof ks / sizeof *ks; j++) {
            int k = ks[j];                      /* port 1000 + k */
            size_t i = (size_t) (N - 1 - k);    /* its service */
            bool gone = t == 1 && (i % 2);
            struct frame_buf b;
            tcp_frame(&b, CLIENT_MAC, SELF_MAC, 0x0a0200aau,
                      (uint16_t) (30000 + 10 * t + j), VIP,
                      (uint16_t) (1000 + k), NFV_TCP_SYN, 1, 0);
            process1(v, &b, 1, NULL, 0);
            if (gone) {
                assert_int_equal(b.f.port, NFV_PORT_DROP);
                continue;
            }
            assert_int_equal(b.f.port, NFV_PORT_LEFT);
            struct nfv_pkt p = parse(&b.f);
            assert_int_equal(p.dst, bes[i].ip);
            assert_int_equal(p.dport, bes[i].port);
        }
        struct frame_buf b;
        udp_frame(&b, 0x0a0200abu, 40000, VIP, 1000);
        process1(v, &b, 1, NULL, 0);
        assert_int_equal(b.f.port, NFV_PORT_LEFT);
        assert_int_equal(parse(&b.f).dst, bes[N].ip);
        for (int port = 999; port <= 1300; port += 301) {
            tcp_frame(&b, CLIENT_MAC, SELF_MAC, 0x0a0200aau, 31000, VIP,
                      (uint16_t) port, NFV_TCP_SYN, 1, 0);
            process1(v, &b, 1, NULL, 0);
            assert_int_equal(b.f.port, NFV_PORT_DROP);
        }
        if (t == 0) {
            /* Reload with every other TCP service gone (odd i). */
            static struct nfv_lb_service half[N + 1];
            size_t n = 0;
            for (size_t i = 0; i <= N; i++) {
                if (i == N || !(i % 2)) {
                    half[n++] = svcs[i];
                }
            }
            config.services = half;
            config.n_services = n;
            assert_int_equal(nfv_vad_reload(v, &config), 0);
        }
    }
    struct nfv_vad_stats st;
    nfv_vad_get_stats(v, &st);
    assert_true(st.no_service >= 2 + 2 + 2);    /* 999, 1300 twice, gone */
    nfv_vad_destroy(v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spread),
        cmocka_unit_test(test_rewrite),
        cmocka_unit_test(test_sticky_reload),
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_expiry_and_bound),
        cmocka_unit_test(test_arp),
        cmocka_unit_test(test_many_services),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
