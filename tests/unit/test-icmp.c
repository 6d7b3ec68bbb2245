/* test-icmp.c — ICMP errors built by the agent: addresses, type/code, the
 * quote of the offending packet, checksums verified by recomputation; and
 * the RFC 1812 packets that must never get an error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "agent/icmp.h"
#include "lib/packet.h"

#define HOST_MAC 0x0a0000000005ULL
#define ROUTER_MAC 0x0a000000ff01ULL
#define ROUTER_IP 0x0a000001u
#define HOST_IP 0x0a000005u

/* An offending frame: HOST -> 'dst', protocol 'proto', IHL 'ihl_words',
 * 'payload' bytes of payload (0x11, 0x22, ...), TTL 1. */
static size_t
make_packet(uint8_t *f, uint32_t dst, uint8_t proto, int ihl_words,
            size_t payload)
{
    memset(f, 0, 256);
    packet_put_mac(f, ROUTER_MAC);
    packet_put_mac(f + 6, HOST_MAC);
    packet_put_be16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    size_t ihl = ihl_words * 4;
    ip[0] = 0x40 | ihl_words;
    packet_put_be16(ip + 2, ihl + payload);
    packet_put_be16(ip + 4, 0x1234);
    ip[8] = 1;
    ip[9] = proto;
    packet_put_be32(ip + 12, HOST_IP);
    packet_put_be32(ip + 16, dst);
    for (size_t i = 20; i < ihl; i++) {
        ip[i] = 1;                               /* NOP options */
    }
    for (size_t i = 0; i < payload; i++) {
        ip[ihl + i] = 0x11 * (i + 1);
    }
    packet_put_be16(ip + 10, packet_csum(ip, ihl));
    return 14 + ihl + payload;
}

static void
check_error(const uint8_t *in, size_t in_len, enum icmp_error_kind kind,
            uint8_t type, uint8_t code, size_t quote_len)
{
    uint8_t out[ICMP_ERROR_MAX_LEN];
    size_t len = 0;

    assert_int_equal(icmp_build_error(kind, ROUTER_IP, ROUTER_MAC, in, in_len,
                                      out, sizeof out, &len), 0);
    assert_int_equal(len, 14 + 20 + 8 + quote_len);
    assert_int_equal(packet_get_mac(out), HOST_MAC);
    assert_int_equal(packet_get_mac(out + 6), ROUTER_MAC);
    assert_int_equal(out[12] << 8 | out[13], 0x0800);
    const uint8_t *ip = out + 14;
    assert_int_equal(ip[0], 0x45);
    assert_int_equal(ip[2] << 8 | ip[3], 20 + 8 + quote_len);
    assert_int_equal(ip[8], 64);
    assert_int_equal(ip[9], 1);
    assert_int_equal(packet_get_be32(ip + 12), ROUTER_IP);
    assert_int_equal(packet_get_be32(ip + 16), HOST_IP);
    assert_int_equal(packet_csum(ip, 20), 0);      /* header checksum valid */
    const uint8_t *icmp = ip + 20;
    assert_int_equal(icmp[0], type);
    assert_int_equal(icmp[1], code);
    assert_int_equal(packet_get_be32(icmp + 4), 0);
    assert_int_equal(packet_csum(icmp, 8 + quote_len), 0);
    /* The quote: the offending IP header and up to 8 bytes after it. */
    assert_memory_equal(icmp + 8, in + 14, quote_len);
}

static void
test_errors_built(void **state)
{
    uint8_t f[256];

    size_t n = make_packet(f, 0x0a090001, 17, 5, 30);
    check_error(f, n, ICMP_ERR_TIME_EXCEEDED, 11, 0, 28);
    check_error(f, n, ICMP_ERR_NET_UNREACHABLE, 3, 0, 28);
    check_error(f, n, ICMP_ERR_HOST_UNREACHABLE, 3, 1, 28);
    check_error(f, n, ICMP_ERR_PORT_UNREACHABLE, 3, 3, 28);
    /* IP options are quoted whole; a short payload is quoted as is. */
    n = make_packet(f, 0x0a090001, 6, 7, 40);
    check_error(f, n, ICMP_ERR_TIME_EXCEEDED, 11, 0, 28 + 8);
    n = make_packet(f, 0x0a090001, 17, 5, 3);
    check_error(f, n, ICMP_ERR_NET_UNREACHABLE, 3, 0, 23);
    /* Ethernet padding after the IP packet is not quoted. */
    n = make_packet(f, 0x0a090001, 17, 5, 3);
    check_error(f, 60, ICMP_ERR_NET_UNREACHABLE, 3, 0, 23);
    /* An echo request is answered; a first fragment (MF, offset 0) too. */
    n = make_packet(f, 0x0a090001, 1, 5, 16);
    f[14 + 20] = 8;
    check_error(f, n, ICMP_ERR_TIME_EXCEEDED, 11, 0, 28);
    n = make_packet(f, 0x0a090001, 17, 5, 30);
    packet_put_be16(f + 14 + 6, 0x2000);
    check_error(f, n, ICMP_ERR_TIME_EXCEEDED, 11, 0, 28);
}

static int
build(const uint8_t *f, size_t n)
{
    uint8_t out[ICMP_ERROR_MAX_LEN];
    size_t len;
    return icmp_build_error(ICMP_ERR_TIME_EXCEEDED, ROUTER_IP, ROUTER_MAC, f,
                            n, out, sizeof out, &len);
}

static void
test_never_answered(void **state)
{
    uint8_t f[256];
    size_t n;

    /* ICMP errors (unreachable, time exceeded, parameter problem, ...). */
    static const uint8_t error_types[] = { 3, 4, 5, 11, 12 };
    for (size_t i = 0; i < sizeof error_types; i++) {
        n = make_packet(f, 0x0a090001, 1, 5, 36);
        f[14 + 20] = error_types[i];
        assert_int_equal(build(f, n), -EPERM);
    }
    /* A non-first fragment. */
    n = make_packet(f, 0x0a090001, 17, 5, 30);
    packet_put_be16(f + 14 + 6, 185);
    assert_int_equal(build(f, n), -EPERM);
    /* Broadcast / multicast / bogus sources and destinations. */
    static const uint32_t bad_src[] = { 0, 0xffffffff, 0x7f000001, 0xe0000001,
                                        0xf0000001 };
    for (size_t i = 0; i < sizeof bad_src / sizeof bad_src[0]; i++) {
        n = make_packet(f, 0x0a090001, 17, 5, 30);
        packet_put_be32(f + 14 + 12, bad_src[i]);
        assert_int_equal(build(f, n), -EPERM);
    }
    n = make_packet(f, 0xffffffff, 17, 5, 30);
    assert_int_equal(build(f, n), -EPERM);
    n = make_packet(f, 0xe00000fb, 17, 5, 30);
    assert_int_equal(build(f, n), -EPERM);
    n = make_packet(f, 0x0a090001, 17, 5, 30);
    packet_put_mac(f, 0xffffffffffffULL);                /* L2 broadcast */
    assert_int_equal(build(f, n), -EPERM);
    n = make_packet(f, 0x0a090001, 17, 5, 30);
    packet_put_mac(f + 6, 0x010000000001ULL);   /* multicast source MAC */
    assert_int_equal(build(f, n), -EPERM);
}

/* The reject rule's port unreachable follows the same RFC 1812 rules, and
 * icmp_may_answer() agrees with icmp_build_error() on the address rules. */
static void
test_port_unreachable_rules(void **state)
{
    uint8_t f[256], out[ICMP_ERROR_MAX_LEN];
    size_t n, len;
    struct packet_ipv4 pkt;

    n = make_packet(f, 0x0a090001, 17, 5, 30);
    assert_int_equal(packet_parse_ipv4(f, n, &pkt), 0);
    assert_true(icmp_may_answer(&pkt));
    assert_int_equal(icmp_build_error(ICMP_ERR_PORT_UNREACHABLE, ROUTER_IP,
                                      ROUTER_MAC, f, n, out, sizeof out,
                                      &len), 0);

    /* An ICMP error is never answered, not even by a reject. */
    n = make_packet(f, 0x0a090001, 1, 5, 36);
    f[14 + 20] = 3;
    assert_int_equal(icmp_build_error(ICMP_ERR_PORT_UNREACHABLE, ROUTER_IP,
                                      ROUTER_MAC, f, n, out, sizeof out,
                                      &len), -EPERM);

    /* Each address rule, through both functions. */
    for (int c = 0; c < 5; c++) {
        n = make_packet(f, c == 0 ? 0xe00000fb : 0x0a090001, 17, 5, 30);
        if (c == 1) {
            packet_put_be32(f + 14 + 12, 0x7f000001);   /* loopback source */
        } else if (c == 2) {
            packet_put_mac(f, 0xffffffffffffULL);       /* L2 broadcast */
        } else if (c == 3) {
            packet_put_be16(f + 14 + 6, 185);           /* non-first frag */
        } else if (c == 4) {
            packet_put_be32(f + 14 + 16, 0xffffffff);   /* IP broadcast */
        }
        assert_int_equal(packet_parse_ipv4(f, n, &pkt), 0);
        assert_false(icmp_may_answer(&pkt));
        assert_int_equal(icmp_build_error(ICMP_ERR_PORT_UNREACHABLE,
                                          ROUTER_IP, ROUTER_MAC, f, n, out,
                                          sizeof out, &len), -EPERM);
    }
}

static void
test_malformed(void **state)
{
    uint8_t f[256];
    size_t n = make_packet(f, 0x0a090001, 17, 5, 30);

    for (size_t len = 0; len < 14 + 20; len++) {
        assert_int_equal(build(f, len), -EBADMSG);
    }
    f[14] = 0x65;                                /* IPv6 version */
    assert_int_equal(build(f, n), -EBADMSG);
    f[14] = 0x44;                                /* IHL 16 bytes */
    assert_int_equal(build(f, n), -EBADMSG);
    make_packet(f, 0x0a090001, 17, 5, 30);
    packet_put_be16(f + 12, 0x0806);                       /* ARP */
    assert_int_equal(build(f, n), -EBADMSG);
    make_packet(f, 0x0a090001, 17, 5, 30);
    uint8_t out[20];
    size_t len;
    assert_int_equal(icmp_build_error(ICMP_ERR_TIME_EXCEEDED, ROUTER_IP,
                                      ROUTER_MAC, f, n, out, sizeof out, &len),
                     -ENOSPC);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_built),
        cmocka_unit_test(test_never_answered),
        cmocka_unit_test(test_port_unreachable_rules),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
