/* test-nfv-vaf.c — the vAF engine on frames in memory: allow/deny/reject
 * per rule with replies forwarded by the connection table, the generated
 * RST and ICMP unreachable, non-IP and malformed frames, ICMP errors of
 * known connections, packets of one new flow in one burst, per-rule
 * counters, log events, and hitless reload (connections whose rule is gone
 * continue; counters of unchanged rules carry over; a bad policy is
 * refused and the old one keeps working). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "lib/packet.h"
#include "nfv/nfv-eal.h"
#include "nfv/vaf.h"

#define MAC_L 0x020000000001ULL
#define MAC_R 0x020000000002ULL
#define CLIENT 0x0a000005u          /* 10.0.0.5, on the left */
#define SERVER 0x0a010009u          /* 10.1.0.9, on the right */

struct fr {
    uint8_t buf[256];
    struct nfv_frame f;
};

static void
tcp_frame(struct fr *x, uint8_t port, uint32_t src, uint32_t dst,
          uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
          uint32_t ack)
{
    struct nfv_tcp_seg s = {
        .eth_dst = port == NFV_PORT_LEFT ? MAC_R : MAC_L,
        .eth_src = port == NFV_PORT_LEFT ? MAC_L : MAC_R,
        .src = src, .dst = dst, .sport = sport, .dport = dport,
        .seq = seq, .ack = ack, .flags = flags, .window = 100,
    };
    size_t len = nfv_pkt_build_tcp(x->buf, sizeof x->buf, &s);
    assert_true(len > 0);
    x->f = (struct nfv_frame) { x->buf, (uint16_t) len, sizeof x->buf, port };
}

/* UDP (proto 17) or an ICMP message (proto 1: 'sport' is the type, 'dport'
 * the identifier) with 'payload' bytes of 'data' (zeros if NULL). */
static void
ip_frame(struct fr *x, uint8_t port, uint8_t proto, uint32_t src, uint32_t dst,
         uint16_t sport, uint16_t dport, const uint8_t *data, size_t payload)
{
    memset(x->buf, 0, sizeof x->buf);
    packet_put_eth_header(x->buf, port == NFV_PORT_LEFT ? MAC_R : MAC_L,
                          port == NFV_PORT_LEFT ? MAC_L : MAC_R, 0x0800);
    size_t l4_len = 8 + payload;
    packet_put_ip_header(x->buf + 14, proto, 1, src, dst, l4_len);
    uint8_t *l4 = x->buf + 34;
    if (data) {
        memcpy(l4 + 8, data, payload);
    }
    if (proto == 17) {
        packet_put_be16(l4, sport);
        packet_put_be16(l4 + 2, dport);
        packet_put_be16(l4 + 4, (uint16_t) l4_len);
        packet_put_be16(l4 + 6, packet_udp_csum(src, dst, l4, l4_len));
    } else {
        l4[0] = (uint8_t) sport;
        packet_put_be16(l4 + 4, dport);
        packet_put_be16(l4 + 2, packet_csum(l4, l4_len));
    }
    size_t len = 34 + l4_len;
    x->f = (struct nfv_frame) { x->buf, (uint16_t) (len < 60 ? 60 : len),
                                sizeof x->buf, port };
}

struct gen {
    uint8_t mem[4][NFV_GEN_CAP];
    struct nfv_frame f[4];
    size_t n;
};

/* Runs one frame; returns its tx port.  Generated frames land in 'g'. */
static uint8_t
run(struct nfv_vaf *vaf, struct fr *x, uint64_t now, struct gen *g)
{
    struct gen local;
    if (!g) {
        g = &local;
    }
    for (int i = 0; i < 4; i++) {
        g->f[i] = (struct nfv_frame) { g->mem[i], 0, NFV_GEN_CAP, 0 };
    }
    g->n = 4;
    nfv_vaf_process(vaf, &x->f, 1, now, g->f, &g->n);
    return x->f.port;
}

static struct nfv_cidr client_net = { 0x0a000000, 24 };
static struct nfv_cidr server_net = { 0x0a010000, 16 };

/* 0: allow TCP 80 from 10.0.0.0/24 (logged); 1: reject TCP 23;
 * 2: reject UDP 69; 3: allow UDP 53 to 10.1/16; 4: allow ICMP echo;
 * default deny. */
static struct nfv_fw_rule base_rules[] = {
    { .src = &client_net, .n_src = 1, .proto = 6, .dport_min = 80,
      .dport_max = 80, .icmp_type = -1, .action = NFV_FW_ALLOW, .log = true },
    { .proto = 6, .dport_min = 23, .dport_max = 23, .icmp_type = -1,
      .action = NFV_FW_REJECT },
    { .proto = 17, .dport_min = 69, .dport_max = 69, .icmp_type = -1,
      .action = NFV_FW_REJECT },
    { .dst = &server_net, .n_dst = 1, .proto = 17, .dport_min = 53,
      .dport_max = 53, .icmp_type = -1, .action = NFV_FW_ALLOW },
    { .proto = 1, .icmp_type = 8, .action = NFV_FW_ALLOW },
};

static struct nfv_vaf *
make_vaf(bool pass_malformed)
{
    struct nfv_fw_config cfg = {
        .rules = base_rules, .n_rules = 5, .default_action = NFV_FW_DENY,
        .max_conns = 1024, .max_conns_per_source = 2000,
        .pass_malformed = pass_malformed,
    };
    struct nfv_vaf *vaf = nfv_vaf_create(&cfg);
    assert_non_null(vaf);
    return vaf;
}

/* A full TCP handshake client:cport -> SERVER:80 through 'vaf'. */
static void
open_http(struct nfv_vaf *vaf, uint16_t cport, uint64_t now)
{
    struct fr x;
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, cport, 80, NFV_TCP_SYN, 1000, 0);
    assert_int_equal(run(vaf, &x, now, NULL), NFV_PORT_RIGHT);
    tcp_frame(&x, NFV_PORT_RIGHT, SERVER, CLIENT, 80, cport,
              NFV_TCP_SYN | NFV_TCP_ACK, 7000, 1001);
    assert_int_equal(run(vaf, &x, now, NULL), NFV_PORT_LEFT);
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, cport, 80, NFV_TCP_ACK, 1001,
              7001);
    assert_int_equal(run(vaf, &x, now, NULL), NFV_PORT_RIGHT);
}

static void
test_allow_deny_replies(void **state)
{
    (void) state;
    struct nfv_vaf *vaf = make_vaf(false);
    struct fr x;
    struct nfv_vaf_stats st;

    open_http(vaf, 40000, 1000000);
    tcp_frame(&x, NFV_PORT_RIGHT, SERVER, CLIENT, 80, 40000,
              NFV_TCP_ACK | NFV_TCP_PSH, 7001, 1001);
    assert_int_equal(run(vaf, &x, 2000000, NULL), NFV_PORT_LEFT);

    /* Another port, another source network, an unsolicited reply. */
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 40001, 22, NFV_TCP_SYN, 1, 0);
    assert_int_equal(run(vaf, &x, 3000000, NULL), NFV_PORT_DROP);
    tcp_frame(&x, NFV_PORT_LEFT, 0x0a000105, SERVER, 40001, 80, NFV_TCP_SYN, 1, 0);
    assert_int_equal(run(vaf, &x, 3000000, NULL), NFV_PORT_DROP);
    tcp_frame(&x, NFV_PORT_RIGHT, SERVER, CLIENT, 80, 40009,
              NFV_TCP_SYN | NFV_TCP_ACK, 1, 1);
    assert_int_equal(run(vaf, &x, 3000000, NULL), NFV_PORT_DROP);
    /* A blind ACK on the handshake of a new connection is invalid. */
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 40002, 80, NFV_TCP_SYN, 1, 0);
    assert_int_equal(run(vaf, &x, 3000000, NULL), NFV_PORT_RIGHT);
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 40002, 80, NFV_TCP_ACK, 2, 99);
    assert_int_equal(run(vaf, &x, 3000000, NULL), NFV_PORT_DROP);

    nfv_vaf_get_stats(vaf, &st);
    assert_int_equal(st.rx, 9);
    assert_int_equal(st.forwarded, 5);
    assert_int_equal(st.denied, 2);
    assert_int_equal(st.no_conn, 1);
    assert_int_equal(st.invalid, 1);
    assert_int_equal(st.default_action.conns, 2);
    assert_int_equal(st.ct.n_conns, 2);
    assert_int_equal(st.ct.by_state[NFV_CT_ESTABLISHED], 1);
    assert_int_equal(st.ct.by_state[NFV_CT_SYN_SENT], 1);

    size_t n;
    const struct nfv_vaf_counters *c = nfv_vaf_rule_counters(vaf, &n);
    assert_int_equal(n, 5);
    assert_int_equal(c[0].conns, 2);
    assert_int_equal(c[0].packets, 5);          /* 4 + the second SYN */
    assert_int_equal(c[0].bytes, 5 * 60);
    assert_int_equal(c[1].packets, 0);

    /* UDP to 53 and its reply; ICMP echo both ways. */
    ip_frame(&x, NFV_PORT_LEFT, 17, CLIENT, SERVER, 5000, 53, NULL, 10);
    assert_int_equal(run(vaf, &x, 4000000, NULL), NFV_PORT_RIGHT);
    ip_frame(&x, NFV_PORT_RIGHT, 17, SERVER, CLIENT, 53, 5000, NULL, 30);
    assert_int_equal(run(vaf, &x, 4000000, NULL), NFV_PORT_LEFT);
    ip_frame(&x, NFV_PORT_RIGHT, 1, SERVER, CLIENT, 8, 99, NULL, 0);
    assert_int_equal(run(vaf, &x, 4000000, NULL), NFV_PORT_LEFT);
    ip_frame(&x, NFV_PORT_LEFT, 1, CLIENT, SERVER, 0, 99, NULL, 0);
    assert_int_equal(run(vaf, &x, 4000000, NULL), NFV_PORT_RIGHT);
    nfv_vaf_get_stats(vaf, &st);
    assert_int_equal(st.ct.by_state[NFV_CT_REPLIED], 2);

    /* The UDP connection times out after 180 s without traffic. */
    ip_frame(&x, NFV_PORT_RIGHT, 17, SERVER, CLIENT, 53, 5000, NULL, 30);
    assert_int_equal(run(vaf, &x, 4000000 + 181000000000ull, NULL),
                     NFV_PORT_DROP);
    nfv_vaf_destroy(vaf);
}

/* Mid-stream pickup: in the first NFV_VAF_PICKUP_NS after its first
 * packet, an engine that never saw a connection's handshake (a restarted
 * instance) resumes the connections its rules allow, from the original
 * side; the reply direction alone, a denied port, a RST open nothing;
 * after the window, segments without a connection drop again. */
static void
test_pickup(void **state)
{
    (void) state;
    struct nfv_vaf *vaf = make_vaf(false);
    struct fr x;
    struct nfv_vaf_stats st;
    const uint64_t t0 = 1000000000ull;

    /* The server's segment of an allowed connection comes first: as a new
     * connection SERVER:80 -> CLIENT it is not allowed, so it drops. */
    tcp_frame(&x, NFV_PORT_RIGHT, SERVER, CLIENT, 80, 41000,
              NFV_TCP_ACK | NFV_TCP_PSH, 7001, 1001);
    assert_int_equal(run(vaf, &x, t0, NULL), NFV_PORT_DROP);
    /* The client's next segment resumes it (rule 0 allows), and then the
     * server's passes. */
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 41000, 80,
              NFV_TCP_ACK | NFV_TCP_PSH, 1001, 7001);
    assert_int_equal(run(vaf, &x, t0 + 1000000, NULL), NFV_PORT_RIGHT);
    nfv_vaf_get_stats(vaf, &st);
    assert_int_equal(st.picked_up, 1);
    assert_int_equal(st.ct.picked_up, 1);
    assert_int_equal(st.ct.by_state[NFV_CT_ESTABLISHED], 1);
    assert_int_equal(st.ct.n_embryonic, 1);      /* nobody answered yet */
    tcp_frame(&x, NFV_PORT_RIGHT, SERVER, CLIENT, 80, 41000,
              NFV_TCP_ACK | NFV_TCP_PSH, 7001, 1001);
    assert_int_equal(run(vaf, &x, t0 + 2000000, NULL), NFV_PORT_LEFT);
    nfv_vaf_get_stats(vaf, &st);
    assert_int_equal(st.ct.n_embryonic, 0);
    assert_int_equal(st.ct.n_conns, 1);
    assert_int_equal(nfv_vaf_rule_counters(vaf, &(size_t) { 0 })[0].conns, 1);

    /* A denied port, a RST, the reply direction: nothing is opened. */
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 41001, 22, NFV_TCP_ACK, 5, 5);
    assert_int_equal(run(vaf, &x, t0 + 3000000, NULL), NFV_PORT_DROP);
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 41002, 80, NFV_TCP_RST, 5, 0);
    assert_int_equal(run(vaf, &x, t0 + 3000000, NULL), NFV_PORT_DROP);
    nfv_vaf_get_stats(vaf, &st);
    assert_int_equal(st.picked_up, 1);
    assert_int_equal(st.no_conn, 3);
    assert_int_equal(st.ct.n_conns, 1);

    /* The picked-up connection goes on and closes normally. */
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 41000, 80,
              NFV_TCP_FIN | NFV_TCP_ACK, 1100, 7001);
    assert_int_equal(run(vaf, &x, t0 + 4000000, NULL), NFV_PORT_RIGHT);
    tcp_frame(&x, NFV_PORT_RIGHT, SERVER, CLIENT, 80, 41000,
              NFV_TCP_FIN | NFV_TCP_ACK, 7001, 1101);
    assert_int_equal(run(vaf, &x, t0 + 4000000, NULL), NFV_PORT_LEFT);
    nfv_vaf_get_stats(vaf, &st);
    assert_int_equal(st.ct.by_state[NFV_CT_TIME_WAIT], 1);

    /* Past the window: a mid-stream segment without a connection drops,
     * allowed or not. */
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 41003, 80,
              NFV_TCP_ACK | NFV_TCP_PSH, 1001, 7001);
    assert_int_equal(run(vaf, &x, t0 + NFV_VAF_PICKUP_NS + 1, NULL),
                     NFV_PORT_DROP);
    nfv_vaf_get_stats(vaf, &st);
    assert_int_equal(st.picked_up, 1);
    assert_int_equal(st.no_conn, 4);
    nfv_vaf_destroy(vaf);
}

static void
test_reject(void **state)
{
    (void) state;
    struct nfv_vaf *vaf = make_vaf(false);
    struct fr x;
    struct gen g;
    struct nfv_pkt p;
    struct nfv_vaf_stats st;

    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 40000, 23, NFV_TCP_SYN, 500, 0);
    assert_int_equal(run(vaf, &x, 0, &g), NFV_PORT_DROP);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.f[0].port, NFV_PORT_LEFT);
    assert_int_equal(nfv_pkt_parse(g.f[0].data, g.f[0].len, &p), NFV_PARSE_OK);
    assert_int_equal(p.tcp_flags, NFV_TCP_RST | NFV_TCP_ACK);
    assert_int_equal(p.src, SERVER);
    assert_int_equal(p.dst, CLIENT);
    assert_int_equal(p.sport, 23);
    assert_int_equal(p.dport, 40000);
    assert_int_equal(p.tcp_ack, 501);
    assert_int_equal(packet_get_mac(g.f[0].data), MAC_L);

    ip_frame(&x, NFV_PORT_RIGHT, 17, SERVER, CLIENT, 7000, 69, NULL, 4);
    assert_int_equal(run(vaf, &x, 0, &g), NFV_PORT_DROP);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.f[0].port, NFV_PORT_RIGHT);
    assert_int_equal(nfv_pkt_parse(g.f[0].data, g.f[0].len, &p), NFV_PARSE_OK);
    assert_int_equal(p.proto, 1);
    assert_int_equal(p.icmp_type, NFV_ICMP_UNREACH);
    assert_int_equal(p.icmp_code, NFV_ICMP_UNREACH_PORT);
    assert_int_equal(p.dst, SERVER);

    /* No room for generated frames: counted, never overrun. */
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 40001, 23, NFV_TCP_SYN, 1, 0);
    size_t none = 0;
    nfv_vaf_process(vaf, &x.f, 1, 0, g.f, &none);
    assert_int_equal(none, 0);
    assert_int_equal(x.f.port, NFV_PORT_DROP);
    nfv_vaf_get_stats(vaf, &st);
    assert_int_equal(st.rejected, 3);
    assert_int_equal(st.generated, 2);
    assert_int_equal(st.gen_lost, 1);
    nfv_vaf_destroy(vaf);
}

static void
test_non_ip_malformed_related(void **state)
{
    (void) state;
    for (int pass = 0; pass < 2; pass++) {
        struct nfv_vaf *vaf = make_vaf(pass);
        struct fr x;
        struct nfv_vaf_stats st;

        /* ARP goes through both ways. */
        memset(x.buf, 0, 60);
        packet_put_eth_header(x.buf, 0xffffffffffffULL, MAC_L, 0x0806);
        x.f = (struct nfv_frame) { x.buf, 60, sizeof x.buf, NFV_PORT_LEFT };
        assert_int_equal(run(vaf, &x, 0, NULL), NFV_PORT_RIGHT);
        x.f.port = NFV_PORT_RIGHT;
        assert_int_equal(run(vaf, &x, 0, NULL), NFV_PORT_LEFT);

        /* A fragment of an allowed flow and a truncated frame. */
        tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 1, 80, NFV_TCP_SYN, 1, 0);
        packet_put_be16(x.buf + 20, 0x2000);
        uint8_t want = pass ? NFV_PORT_RIGHT : NFV_PORT_DROP;
        assert_int_equal(run(vaf, &x, 0, NULL), want);
        x.f.len = 30;
        x.f.port = NFV_PORT_LEFT;
        assert_int_equal(run(vaf, &x, 0, NULL), want);
        nfv_vaf_get_stats(vaf, &st);
        assert_int_equal(st.non_ip, 2);
        assert_int_equal(st.malformed[NFV_PARSE_FRAGMENT], 1);
        assert_int_equal(st.malformed[NFV_PARSE_TRUNCATED], 1);
        assert_int_equal(st.malformed_passed, pass ? 2 : 0);

        /* An ICMP error about a known UDP flow passes; about an unknown
         * flow it meets the default deny. */
        struct fr u;
        ip_frame(&u, NFV_PORT_LEFT, 17, CLIENT, SERVER, 5000, 53, NULL, 4);
        assert_int_equal(run(vaf, &u, 0, NULL), NFV_PORT_RIGHT);
        ip_frame(&u, NFV_PORT_LEFT, 17, CLIENT, SERVER, 5000, 53, NULL, 4);
        ip_frame(&x, NFV_PORT_RIGHT, 1, SERVER, CLIENT, NFV_ICMP_UNREACH, 0,
                 u.buf + 14, 28);
        assert_int_equal(run(vaf, &x, 0, NULL), NFV_PORT_LEFT);
        ip_frame(&u, NFV_PORT_LEFT, 17, CLIENT, SERVER, 5001, 53, NULL, 4);
        ip_frame(&x, NFV_PORT_RIGHT, 1, SERVER, CLIENT, NFV_ICMP_UNREACH, 0,
                 u.buf + 14, 28);
        assert_int_equal(run(vaf, &x, 0, NULL), NFV_PORT_DROP);
        nfv_vaf_get_stats(vaf, &st);
        assert_int_equal(st.related, 1);
        assert_int_equal(st.ct.n_conns, 1);     /* errors open nothing */
        nfv_vaf_destroy(vaf);
    }
}

static void
test_burst(void **state)
{
    (void) state;
    struct nfv_vaf *vaf = make_vaf(false);
    enum { N = 150 };
    static struct fr xs[N];
    struct nfv_frame f[N];
    /* 50 UDP flows, 3 packets each, interleaved: one burst (over 64). */
    for (int i = 0; i < N; i++) {
        int flow = i % 50;
        ip_frame(&xs[i], NFV_PORT_LEFT, 17, CLIENT, SERVER,
                 (uint16_t) (6000 + flow), 53, NULL, 0);
        f[i] = xs[i].f;
    }
    struct gen g;
    g.n = 0;
    nfv_vaf_process(vaf, f, N, 0, g.f, &g.n);
    for (int i = 0; i < N; i++) {
        assert_int_equal(f[i].port, NFV_PORT_RIGHT);
    }
    struct nfv_vaf_stats st;
    nfv_vaf_get_stats(vaf, &st);
    assert_int_equal(st.ct.n_conns, 50);
    assert_int_equal(st.ct.created, 50);
    size_t n;
    const struct nfv_vaf_counters *c = nfv_vaf_rule_counters(vaf, &n);
    assert_int_equal(c[3].conns, 50);
    assert_int_equal(c[3].packets, N);

    /* A SYN, the SYN|ACK and a RST, then a SYN again, in one burst. */
    struct fr t[4];
    tcp_frame(&t[0], NFV_PORT_LEFT, CLIENT, SERVER, 9, 80, NFV_TCP_SYN, 1, 0);
    tcp_frame(&t[1], NFV_PORT_RIGHT, SERVER, CLIENT, 80, 9,
              NFV_TCP_SYN | NFV_TCP_ACK, 5, 2);
    tcp_frame(&t[2], NFV_PORT_RIGHT, SERVER, CLIENT, 80, 9, NFV_TCP_RST, 6, 0);
    tcp_frame(&t[3], NFV_PORT_LEFT, CLIENT, SERVER, 9, 80, NFV_TCP_SYN, 1, 0);
    struct nfv_frame tf[4] = { t[0].f, t[1].f, t[2].f, t[3].f };
    g.n = 0;
    nfv_vaf_process(vaf, tf, 4, 0, g.f, &g.n);
    assert_int_equal(tf[0].port, NFV_PORT_RIGHT);
    assert_int_equal(tf[1].port, NFV_PORT_LEFT);
    assert_int_equal(tf[2].port, NFV_PORT_LEFT);
    assert_int_equal(tf[3].port, NFV_PORT_RIGHT);
    nfv_vaf_get_stats(vaf, &st);
    assert_int_equal(st.ct.by_state[NFV_CT_SYN_SENT], 1);
    assert_int_equal(st.ct.closed, 1);
    nfv_vaf_destroy(vaf);
}

static void
test_log(void **state)
{
    (void) state;
    struct nfv_vaf *vaf = make_vaf(false);
    struct fr x;
    for (int i = 0; i < NFV_VAF_LOG_RING + 5; i++) {
        tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, (uint16_t) (1000 + i), 80,
                  NFV_TCP_SYN, 1, 0);
        assert_int_equal(run(vaf, &x, 42, NULL), NFV_PORT_RIGHT);
    }
    /* Rule 3 (UDP 53) does not log. */
    ip_frame(&x, NFV_PORT_LEFT, 17, CLIENT, SERVER, 5000, 53, NULL, 4);
    assert_int_equal(run(vaf, &x, 0, NULL), NFV_PORT_RIGHT);

    struct nfv_vaf_log_event ev[8];
    assert_int_equal(nfv_vaf_drain_log(vaf, ev, 2), 2);
    assert_int_equal(ev[0].rule, 0);
    assert_int_equal(ev[0].src, CLIENT);
    assert_int_equal(ev[0].dst, SERVER);
    assert_int_equal(ev[0].sport, 1000);
    assert_int_equal(ev[1].sport, 1001);
    assert_int_equal(ev[0].dport, 80);
    assert_int_equal(ev[0].action, NFV_FW_ALLOW);
    assert_int_equal(ev[0].time_ns, 42);
    size_t total = 2, k;
    while ((k = nfv_vaf_drain_log(vaf, ev, 8))) {
        total += k;
    }
    assert_int_equal(total, NFV_VAF_LOG_RING);
    struct nfv_vaf_stats st;
    nfv_vaf_get_stats(vaf, &st);
    assert_int_equal(st.log_lost, 5);
    nfv_vaf_destroy(vaf);
}

static void
test_reload(void **state)
{
    (void) state;
    struct nfv_vaf *vaf = make_vaf(false);
    struct fr x;
    struct nfv_vaf_stats st;
    size_t n;

    open_http(vaf, 40000, 0);
    ip_frame(&x, NFV_PORT_LEFT, 17, CLIENT, SERVER, 5000, 53, NULL, 4);
    assert_int_equal(run(vaf, &x, 0, NULL), NFV_PORT_RIGHT);

    /* New policy: HTTP rule gone; a new first rule; DNS rule unchanged. */
    struct nfv_fw_rule rules2[] = {
        { .proto = 6, .dport_min = 443, .dport_max = 443, .icmp_type = -1,
          .action = NFV_FW_ALLOW },
        base_rules[3],
    };
    struct nfv_fw_config cfg2 = { .rules = rules2, .n_rules = 2,
                                  .default_action = NFV_FW_DENY,
                                  .max_conns = 1024 };
    assert_int_equal(nfv_vaf_reload(vaf, &cfg2), 0);
    const struct nfv_vaf_counters *c = nfv_vaf_rule_counters(vaf, &n);
    assert_int_equal(n, 2);
    assert_int_equal(c[0].packets, 0);
    assert_int_equal(c[1].conns, 1);            /* carried over */
    assert_int_equal(c[1].packets, 1);

    /* The established HTTP connection continues (both ways), as orphan;
     * a new HTTP connection is denied; DNS counts on its rule. */
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 40000, 80,
              NFV_TCP_ACK | NFV_TCP_PSH, 1001, 7001);
    assert_int_equal(run(vaf, &x, 1, NULL), NFV_PORT_RIGHT);
    tcp_frame(&x, NFV_PORT_RIGHT, SERVER, CLIENT, 80, 40000, NFV_TCP_ACK,
              7001, 1011);
    assert_int_equal(run(vaf, &x, 1, NULL), NFV_PORT_LEFT);
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 40001, 80, NFV_TCP_SYN, 1, 0);
    assert_int_equal(run(vaf, &x, 1, NULL), NFV_PORT_DROP);
    ip_frame(&x, NFV_PORT_RIGHT, 17, SERVER, CLIENT, 53, 5000, NULL, 4);
    assert_int_equal(run(vaf, &x, 1, NULL), NFV_PORT_LEFT);
    nfv_vaf_get_stats(vaf, &st);
    assert_int_equal(st.orphan.packets, 2);
    assert_int_equal(st.ct.by_state[NFV_CT_ESTABLISHED], 1);
    c = nfv_vaf_rule_counters(vaf, &n);
    assert_int_equal(c[1].packets, 2);

    /* The orphan connection still ends normally. */
    tcp_frame(&x, NFV_PORT_RIGHT, SERVER, CLIENT, 80, 40000, NFV_TCP_RST, 1, 0);
    assert_int_equal(run(vaf, &x, 2, NULL), NFV_PORT_LEFT);
    nfv_vaf_get_stats(vaf, &st);
    assert_int_equal(st.ct.by_state[NFV_CT_ESTABLISHED], 0);

    /* A bad policy is refused; the running one is untouched. */
    struct nfv_cidr bad = { 0, 40 };
    struct nfv_fw_rule rules3[] = { { .src = &bad, .n_src = 1,
                                      .icmp_type = -1 } };
    struct nfv_fw_config cfg3 = { .rules = rules3, .n_rules = 1,
                                  .default_action = NFV_FW_ALLOW };
    assert_int_equal(nfv_vaf_reload(vaf, &cfg3), -EINVAL);
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 40002, 443, NFV_TCP_SYN, 1, 0);
    assert_int_equal(run(vaf, &x, 3, NULL), NFV_PORT_RIGHT);
    tcp_frame(&x, NFV_PORT_LEFT, CLIENT, SERVER, 40003, 80, NFV_TCP_SYN, 1, 0);
    assert_int_equal(run(vaf, &x, 3, NULL), NFV_PORT_DROP);
    c = nfv_vaf_rule_counters(vaf, &n);
    assert_int_equal(n, 2);
    assert_int_equal(c[0].conns, 1);
    nfv_vaf_destroy(vaf);
}

static int
setup(void **state)
{
    (void) state;
    return nfv_eal_init_for_tests();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allow_deny_replies),
        cmocka_unit_test(test_pickup),
        cmocka_unit_test(test_reject),
        cmocka_unit_test(test_non_ip_malformed_related),
        cmocka_unit_test(test_burst),
        cmocka_unit_test(test_log),
        cmocka_unit_test(test_reload),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
