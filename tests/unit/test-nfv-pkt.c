/* test-nfv-pkt.c — the NFV packet parser on good frames and on every
 * malformed class (each prefix of a frame, in an exact-size buffer so that
 * a read past the end shows under ASan); the incremental checksum helpers
 * and the NAT rewrites checked against a full recompute on random packets;
 * the TCP reset and ICMP unreachable builders. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lib/packet.h"
#include "nfv/engine.h"
#include "nfv/pkt.h"

#define MAC_A 0x020000000001ULL
#define MAC_B 0x020000000002ULL

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint32_t
rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t) (rng_state >> 16);
}

/* Builds an independent oracle frame: Ethernet + IPv4 (ihl_words) + L4 of
 * 'proto' with 'payload' random bytes, valid checksums.  Returns its
 * length (no padding). */
static size_t
make_frame(uint8_t *f, uint8_t proto, uint32_t src, uint32_t dst,
           uint16_t sport, uint16_t dport, int ihl_words, size_t payload)
{
    size_t ihl = (size_t) ihl_words * 4;
    size_t l4h = proto == 6 ? 20 : proto == 17 || proto == 1 ? 8 : 0;
    size_t l4_len = l4h + payload;
    memset(f, 0, 14 + ihl + l4_len);
    packet_put_mac(f, MAC_B);
    packet_put_mac(f + 6, MAC_A);
    packet_put_be16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    ip[0] = (uint8_t) (0x40 | ihl_words);
    packet_put_be16(ip + 2, (uint16_t) (ihl + l4_len));
    packet_put_be16(ip + 4, (uint16_t) rnd());
    packet_put_be16(ip + 6, 0x4000);            /* DF: not a fragment */
    ip[8] = 64;
    ip[9] = proto;
    packet_put_be32(ip + 12, src);
    packet_put_be32(ip + 16, dst);
    for (size_t i = 20; i < ihl; i++) {
        ip[i] = 1;                              /* NOP options */
    }
    packet_put_be16(ip + 10, packet_csum(ip, ihl));
    uint8_t *l4 = ip + ihl;
    for (size_t i = l4h; i < l4_len; i++) {
        l4[i] = (uint8_t) rnd();
    }
    if (proto == 6) {
        packet_put_be16(l4, sport);
        packet_put_be16(l4 + 2, dport);
        packet_put_be32(l4 + 4, rnd());
        packet_put_be32(l4 + 8, rnd());
        l4[12] = 5 << 4;
        l4[13] = NFV_TCP_ACK | NFV_TCP_PSH;
        packet_put_be16(l4 + 16, nfv_l4_csum(src, dst, 6, l4, l4_len));
    } else if (proto == 17) {
        packet_put_be16(l4, sport);
        packet_put_be16(l4 + 2, dport);
        packet_put_be16(l4 + 4, (uint16_t) l4_len);
        packet_put_be16(l4 + 6, packet_udp_csum(src, dst, l4, l4_len));
        if (!packet_get_be16(l4 + 6)) {
            packet_put_be16(l4 + 6, 0xffff);
        }
    } else if (proto == 1) {
        l4[0] = NFV_ICMP_ECHO;
        packet_put_be16(l4 + 4, sport);
        packet_put_be16(l4 + 6, 1);
        packet_put_be16(l4 + 2, packet_csum(l4, l4_len));
    }
    return 14 + ihl + l4_len;
}

/* Parses a copy of 'len' bytes of 'f' in a buffer of exactly that size. */
static enum nfv_parse
parse_exact(const uint8_t *f, size_t len, struct nfv_pkt *pkt)
{
    uint8_t *copy = calloc(1, len ? len : 1);
    memcpy(copy, f, len);
    enum nfv_parse r = nfv_pkt_parse(copy, len, pkt);
    free(copy);
    return r;
}

static void
test_parse_ok(void **state)
{
    (void) state;
    uint8_t f[256] = { 0 };
    struct nfv_pkt p;

    size_t n = make_frame(f, 6, 0x0a000001, 0x0a000002, 1234, 80, 5, 10);
    assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_OK);
    assert_int_equal(p.proto, 6);
    assert_int_equal(p.src, 0x0a000001);
    assert_int_equal(p.dst, 0x0a000002);
    assert_int_equal(p.sport, 1234);
    assert_int_equal(p.dport, 80);
    assert_int_equal(p.tcp_flags, NFV_TCP_ACK | NFV_TCP_PSH);
    assert_int_equal(p.l3_ofs, 14);
    assert_int_equal(p.l4_ofs, 34);
    assert_int_equal(p.l4_len, 30);

    /* Ethernet padding after the IP total length is ignored. */
    n = make_frame(f, 17, 0xc0a80101, 0xc0a80102, 53, 5353, 5, 2);
    assert_int_equal(n, 44);
    memset(f + n, 0, 60 - n);
    assert_int_equal(parse_exact(f, 60, &p), NFV_PARSE_OK);
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.sport, 53);
    assert_int_equal(p.dport, 5353);
    assert_int_equal(p.l4_len, 10);

    n = make_frame(f, 1, 1, 2, 0x4242, 0, 5, 0);
    assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_OK);
    assert_int_equal(p.icmp_type, NFV_ICMP_ECHO);
    assert_int_equal(p.icmp_code, 0);
    assert_int_equal(p.sport, 0x4242);
    assert_int_equal(p.dport, 0);

    /* Another protocol (GRE) parses with zero ports. */
    n = make_frame(f, 47, 1, 2, 0, 0, 5, 4);
    assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_OK);
    assert_int_equal(p.proto, 47);
    assert_int_equal(p.sport, 0);
    assert_int_equal(p.l4_len, 4);
    assert_string_equal(nfv_parse_name(NFV_PARSE_FRAGMENT), "fragment");
    assert_string_equal(nfv_parse_name(NFV_PARSE_N), "?");
}

static void
test_malformed_classes(void **state)
{
    (void) state;
    uint8_t f[256] = { 0 };
    struct nfv_pkt p;
    size_t n;

    /* Truncated Ethernet. */
    assert_int_equal(parse_exact(f, 0, &p), NFV_PARSE_TRUNCATED);
    n = make_frame(f, 6, 1, 2, 3, 4, 5, 0);
    assert_int_equal(parse_exact(f, 13, &p), NFV_PARSE_TRUNCATED);

    /* Not IPv4: ARP, a VLAN tag, IPv6. */
    static const uint16_t types[] = { 0x0806, 0x8100, 0x86dd };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        packet_put_be16(f + 12, types[i]);
        assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_NOT_IP);
        assert_int_equal(p.proto, 0);
    }
    packet_put_be16(f + 12, 0x0800);

    /* Truncated IP header. */
    assert_int_equal(parse_exact(f, 14 + 19, &p), NFV_PARSE_TRUNCATED);

    /* IHL < 5, version 6 inside an IPv4 EtherType, header past the frame. */
    f[14] = 0x44;
    assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_BAD_IHL);
    f[14] = 0x65;
    assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_BAD_IHL);
    f[14] = 0x4f;                                /* 60 bytes > 40 present */
    assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_BAD_IHL);
    f[14] = 0x45;
    assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_OK);

    /* Total length beyond the frame, and shorter than the header. */
    packet_put_be16(f + 16, 41);
    assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_BAD_LEN);
    packet_put_be16(f + 16, 19);
    assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_BAD_LEN);
    packet_put_be16(f + 16, 40);

    /* Fragments: MF, an offset, both; DF alone is fine. */
    static const uint16_t frags[] = { 0x2000, 0x0001, 0x2100, 0x4001 };
    for (size_t i = 0; i < sizeof frags / sizeof frags[0]; i++) {
        packet_put_be16(f + 20, frags[i]);
        assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_FRAGMENT);
        assert_int_equal(p.src, 1);              /* the addresses are read */
    }
    packet_put_be16(f + 20, 0x4000);
    assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_OK);

    /* IP options (NOPs and a record-route-sized header). */
    for (int words = 6; words <= 15; words++) {
        n = make_frame(f, 17, 1, 2, 3, 4, words, 8);
        assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_OPTIONS);
    }

    /* Truncated L4 per the total length, even with padding after it. */
    static const struct { uint8_t proto; size_t hlen; } l4s[] = {
        { 6, 20 }, { 17, 8 }, { 1, 8 },
    };
    for (size_t i = 0; i < sizeof l4s / sizeof l4s[0]; i++) {
        n = make_frame(f, l4s[i].proto, 1, 2, 3, 4, 5, 0);
        for (size_t cut = 0; cut < l4s[i].hlen; cut++) {
            packet_put_be16(f + 16, (uint16_t) (20 + cut));
            assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_TRUNCATED);
        }
        packet_put_be16(f + 16, (uint16_t) (20 + l4s[i].hlen));
        assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_OK);
    }

    /* TCP data offset below 5 or past the packet. */
    n = make_frame(f, 6, 1, 2, 3, 4, 5, 8);
    f[34 + 12] = 4 << 4;
    assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_TRUNCATED);
    f[34 + 12] = 8 << 4;                         /* 32 > 28 */
    assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_TRUNCATED);
    f[34 + 12] = 7 << 4;                         /* 28: options fill it */
    assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_OK);

    /* Every prefix of a valid frame: one class, never OK before the L4
     * header is complete, never a read past the end (exact buffers). */
    for (int proto_i = 0; proto_i < 3; proto_i++) {
        uint8_t proto = l4s[proto_i].proto;
        n = make_frame(f, proto, 1, 2, 3, 4, 5, 6);
        for (size_t len = 0; len < n; len++) {
            enum nfv_parse r = parse_exact(f, len, &p);
            assert_true(r == NFV_PARSE_TRUNCATED || r == NFV_PARSE_BAD_LEN);
        }
        assert_int_equal(parse_exact(f, n, &p), NFV_PARSE_OK);
    }
}

static void
test_csum_update_random(void **state)
{
    (void) state;
    uint8_t buf[64];
    for (int it = 0; it < 20000; it++) {
        size_t len = 4 + 2 * (rnd() % 29);
        for (size_t i = 0; i < len; i++) {
            buf[i] = (uint8_t) rnd();
        }
        if (it % 7 == 0) {
            memset(buf, 0xff, len);              /* edge: all ones */
        }
        uint16_t cs = packet_csum(buf, len);
        size_t at = 2 * (rnd() % ((len - 2) / 2));
        if (it & 1) {
            uint16_t old = packet_get_be16(buf + at), new_ = (uint16_t) rnd();
            packet_put_be16(buf + at, new_);
            assert_int_equal(nfv_csum_update16(cs, old, new_),
                             packet_csum(buf, len));
        } else {
            at = 2 * (rnd() % ((len - 4) / 2 + 1));
            uint32_t old = packet_get_be32(buf + at), new_ = rnd();
            packet_put_be32(buf + at, new_);
            assert_int_equal(nfv_csum_update32(cs, old, new_),
                             packet_csum(buf, len));
        }
    }
}

/* The IPv4 header and L4 checksums of a frame parsed as 'p' verify. */
static void
assert_csums_valid(const uint8_t *f, const struct nfv_pkt *p)
{
    assert_int_equal(packet_csum(f + p->l3_ofs, p->l4_ofs - p->l3_ofs), 0);
    if (p->proto == 17 && !packet_get_be16(f + p->l4_ofs + 6)) {
        return;
    }
    assert_int_equal(nfv_l4_csum(p->src, p->dst, p->proto, f + p->l4_ofs,
                                 p->l4_len), 0);
}

static void
test_rewrite_random(void **state)
{
    (void) state;
    static const uint8_t protos[] = { 6, 17, 1 };
    uint8_t f[256] = { 0 };
    for (int it = 0; it < 5000; it++) {
        uint8_t proto = protos[rnd() % 3];
        size_t n = make_frame(f, proto, rnd(), rnd(), (uint16_t) rnd(),
                              (uint16_t) rnd(), 5, rnd() % 61);
        bool no_udp_csum = proto == 17 && it % 10 == 0;
        if (no_udp_csum) {
            packet_put_be16(f + 34 + 6, 0);
        }
        struct nfv_pkt p, q;
        assert_int_equal(nfv_pkt_parse(f, n, &p), NFV_PARSE_OK);
        assert_csums_valid(f, &p);
        uint32_t ip = rnd();
        uint16_t port = (uint16_t) rnd();
        bool src = rnd() & 1;
        if (src) {
            nfv_pkt_set_src(f, &p, ip, port);
        } else {
            nfv_pkt_set_dst(f, &p, ip, port);
        }
        assert_int_equal(nfv_pkt_parse(f, n, &q), NFV_PARSE_OK);
        assert_int_equal(src ? q.src : q.dst, ip);
        assert_int_equal(src ? q.dst : q.src, src ? p.dst : p.src);
        if (proto != 1) {
            assert_int_equal(src ? q.sport : q.dport, port);
            assert_int_equal(src ? q.dport : q.sport, src ? p.dport : p.sport);
        } else {
            assert_int_equal(q.sport, port);     /* the echo identifier */
        }
        assert_csums_valid(f, &q);
        if (no_udp_csum) {
            assert_int_equal(packet_get_be16(f + 34 + 6), 0);
        }
    }
}

static void
test_build_rst(void **state)
{
    (void) state;
    uint8_t f[128], out[NFV_GEN_CAP];
    struct nfv_pkt p, r;

    /* A SYN (no ACK): RST|ACK acknowledging seq + 1, sequence 0. */
    size_t n = make_frame(f, 6, 0x0a000001, 0x0a000002, 40000, 22, 5, 0);
    f[34 + 13] = NFV_TCP_SYN;
    packet_put_be32(f + 34 + 4, 1000);
    packet_put_be16(f + 34 + 16, 0);
    packet_put_be16(f + 34 + 16, nfv_l4_csum(0x0a000001, 0x0a000002, 6,
                                             f + 34, 20));
    assert_int_equal(nfv_pkt_parse(f, n, &p), NFV_PARSE_OK);
    size_t m = nfv_pkt_build_rst(f, &p, out, sizeof out);
    assert_int_equal(m, 60);
    assert_int_equal(nfv_pkt_parse(out, m, &r), NFV_PARSE_OK);
    assert_int_equal(r.src, 0x0a000002);
    assert_int_equal(r.dst, 0x0a000001);
    assert_int_equal(r.sport, 22);
    assert_int_equal(r.dport, 40000);
    assert_int_equal(r.tcp_flags, NFV_TCP_RST | NFV_TCP_ACK);
    assert_int_equal(packet_get_be32(out + 34 + 4), 0);
    assert_int_equal(packet_get_be32(out + 34 + 8), 1001);
    assert_int_equal(packet_get_mac(out), MAC_A);
    assert_int_equal(packet_get_mac(out + 6), MAC_B);
    assert_csums_valid(out, &r);

    /* A data segment with ACK: RST with its ack number as sequence. */
    n = make_frame(f, 6, 0x0a000001, 0x0a000002, 40000, 22, 5, 10);
    assert_int_equal(nfv_pkt_parse(f, n, &p), NFV_PARSE_OK);
    m = nfv_pkt_build_rst(f, &p, out, sizeof out);
    assert_int_equal(nfv_pkt_parse(out, m, &r), NFV_PARSE_OK);
    assert_int_equal(r.tcp_flags, NFV_TCP_RST);
    assert_int_equal(packet_get_be32(out + 34 + 4), packet_get_be32(f + 34 + 8));
    assert_csums_valid(out, &r);

    /* Never a reset for a reset, nor for UDP, nor into a small buffer. */
    assert_int_equal(nfv_pkt_build_rst(f, &p, out, 59), 0);
    f[34 + 13] = NFV_TCP_RST;
    assert_int_equal(nfv_pkt_parse(f, n, &p), NFV_PARSE_OK);
    assert_int_equal(nfv_pkt_build_rst(f, &p, out, sizeof out), 0);
    n = make_frame(f, 17, 1, 2, 3, 4, 5, 0);
    assert_int_equal(nfv_pkt_parse(f, n, &p), NFV_PARSE_OK);
    assert_int_equal(nfv_pkt_build_rst(f, &p, out, sizeof out), 0);
}

static void
test_build_unreach(void **state)
{
    (void) state;
    uint8_t f[256], out[NFV_GEN_CAP];
    struct nfv_pkt p, r;

    size_t n = make_frame(f, 17, 0x0a000001, 0x0a000002, 5000, 53, 5, 100);
    assert_int_equal(nfv_pkt_parse(f, n, &p), NFV_PARSE_OK);
    size_t m = nfv_pkt_build_unreach(f, &p, NFV_ICMP_UNREACH_PORT, out,
                                     sizeof out);
    assert_int_equal(m, sizeof out);             /* quote cut to fit */
    assert_int_equal(nfv_pkt_parse(out, m, &r), NFV_PARSE_OK);
    assert_int_equal(r.proto, 1);
    assert_int_equal(r.icmp_type, NFV_ICMP_UNREACH);
    assert_int_equal(r.icmp_code, NFV_ICMP_UNREACH_PORT);
    assert_int_equal(r.src, 0x0a000002);
    assert_int_equal(r.dst, 0x0a000001);
    assert_memory_equal(out + 42, f + 14, m - 42);   /* the quote */
    assert_csums_valid(out, &r);

    /* A short packet is quoted whole; the frame is padded to 60. */
    n = make_frame(f, 17, 0x0a000001, 0x0a000002, 5000, 53, 5, 0);
    assert_int_equal(nfv_pkt_parse(f, n, &p), NFV_PARSE_OK);
    m = nfv_pkt_build_unreach(f, &p, 13, out, sizeof out);
    assert_int_equal(m, 14 + 20 + 8 + 28);
    assert_int_equal(nfv_pkt_parse(out, m, &r), NFV_PARSE_OK);
    assert_int_equal(r.icmp_code, 13);
    assert_csums_valid(out, &r);

    /* No error for an error, a multicast destination, a zero source. */
    n = make_frame(f, 1, 1, 2, 0, 0, 5, 28);
    f[34] = NFV_ICMP_UNREACH;
    assert_int_equal(nfv_pkt_parse(f, n, &p), NFV_PARSE_OK);
    assert_int_equal(nfv_pkt_build_unreach(f, &p, 3, out, sizeof out), 0);
    n = make_frame(f, 17, 0x0a000001, 0xe0000001, 1, 2, 5, 0);
    assert_int_equal(nfv_pkt_parse(f, n, &p), NFV_PARSE_OK);
    assert_int_equal(nfv_pkt_build_unreach(f, &p, 3, out, sizeof out), 0);
    n = make_frame(f, 17, 0, 0x0a000001, 1, 2, 5, 0);
    assert_int_equal(nfv_pkt_parse(f, n, &p), NFV_PARSE_OK);
    assert_int_equal(nfv_pkt_build_unreach(f, &p, 3, out, sizeof out), 0);
}

static void
test_build_tcp(void **state)
{
    (void) state;
    uint8_t out[64];
    struct nfv_tcp_seg s = {
        .eth_dst = MAC_B, .eth_src = MAC_A, .src = 0x0a000001,
        .dst = 0x0a000009, .sport = 33333, .dport = 8080, .seq = 77,
        .flags = NFV_TCP_SYN, .window = 1024,
    };
    size_t m = nfv_pkt_build_tcp(out, sizeof out, &s);
    struct nfv_pkt r;
    assert_int_equal(m, 60);
    assert_int_equal(nfv_pkt_parse(out, m, &r), NFV_PARSE_OK);
    assert_int_equal(r.tcp_flags, NFV_TCP_SYN);
    assert_int_equal(r.sport, 33333);
    assert_int_equal(r.dport, 8080);
    assert_int_equal(r.l4_len, 20);
    assert_int_equal(packet_get_be32(out + 34 + 4), 77);
    assert_csums_valid(out, &r);
    assert_int_equal(nfv_pkt_build_tcp(out, 59, &s), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_malformed_classes),
        cmocka_unit_test(test_csum_update_random),
        cmocka_unit_test(test_rewrite_random),
        cmocka_unit_test(test_build_rst),
        cmocka_unit_test(test_build_unreach),
        cmocka_unit_test(test_build_tcp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
