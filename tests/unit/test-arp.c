/* test-arp.c — the ARP request the agent sends to resolve a gateway, byte
 * for byte, and the strict parser of the replies it learns from. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "agent/arp.h"

#define IP(a, b, c, d) ((uint32_t) (a) << 24 | (b) << 16 | (c) << 8 | (d))

static void
test_request_bytes(void **state)
{
    static const uint8_t want[ARP_FRAME_LEN] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,       /* broadcast */
        0x0a, 0x00, 0x00, 0x00, 0xfe, 0x01,       /* router gw port MAC */
        0x08, 0x06,                               /* ARP */
        0x00, 0x01, 0x08, 0x00, 6, 4,             /* Ethernet/IPv4 */
        0x00, 0x01,                               /* request */
        0x0a, 0x00, 0x00, 0x00, 0xfe, 0x01,       /* sha */
        203, 0, 113, 10,                          /* spa */
        0, 0, 0, 0, 0, 0,                         /* tha unknown */
        203, 0, 113, 1,                           /* tpa: the gateway */
    };
    uint8_t out[64];
    size_t len = 0;

    memset(out, 0xee, sizeof out);
    assert_int_equal(arp_build_request(0x0a000000fe01ULL, IP(203, 0, 113, 10),
                                       IP(203, 0, 113, 1), out, sizeof out,
                                       &len), 0);
    assert_int_equal(len, 42);
    assert_memory_equal(out, want, sizeof want);
    assert_int_equal(out[42], 0xee);              /* nothing written past */

    /* Too small a buffer is refused, nothing claimed written. */
    len = 0;
    assert_int_equal(arp_build_request(1, 2, 3, out, 41, &len), -ENOSPC);
    assert_int_equal(len, 0);

    /* The request parses back into what was asked. */
    struct arp_packet p;
    assert_int_equal(arp_build_request(0x0a000000fe01ULL, IP(203, 0, 113, 10),
                                       IP(203, 0, 113, 1), out, sizeof out,
                                       &len), 0);
    assert_int_equal(arp_parse(out, len, &p), 0);
    assert_int_equal(p.op, ARP_OP_REQUEST);
    assert_int_equal(p.tpa, IP(203, 0, 113, 1));
    assert_int_equal(p.tha, 0);
}

/* A reply from the gateway 203.0.113.1 at 02:42:ac:11:00:01 to the router
 * port, padded to 60 bytes as on the wire. */
static size_t
make_reply(uint8_t *f)
{
    static const uint8_t reply[ARP_FRAME_LEN] = {
        0x0a, 0x00, 0x00, 0x00, 0xfe, 0x01,
        0x02, 0x42, 0xac, 0x11, 0x00, 0x01,
        0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 6, 4,
        0x00, 0x02,
        0x02, 0x42, 0xac, 0x11, 0x00, 0x01,
        203, 0, 113, 1,
        0x0a, 0x00, 0x00, 0x00, 0xfe, 0x01,
        203, 0, 113, 10,
    };
    memset(f, 0, 60);
    memcpy(f, reply, sizeof reply);
    return 60;
}

static void
test_parse_reply(void **state)
{
    uint8_t f[64];
    struct arp_packet p;
    size_t n = make_reply(f);

    assert_int_equal(arp_parse(f, n, &p), 0);
    assert_int_equal(p.op, ARP_OP_REPLY);
    assert_int_equal(p.sha, 0x0242ac110001ULL);
    assert_int_equal(p.spa, IP(203, 0, 113, 1));
    assert_int_equal(p.tha, 0x0a000000fe01ULL);
    assert_int_equal(p.tpa, IP(203, 0, 113, 10));
    assert_int_equal(p.eth_dst, 0x0a000000fe01ULL);
    assert_int_equal(p.eth_src, 0x0242ac110001ULL);
    /* Without padding: exactly 42 bytes suffice. */
    assert_int_equal(arp_parse(f, ARP_FRAME_LEN, &p), 0);
}

static void
test_parse_refuses(void **state)
{
    uint8_t f[64];
    struct arp_packet p;
    size_t n;

    /* Truncated anywhere: refused. */
    n = make_reply(f);
    for (size_t len = 0; len < ARP_FRAME_LEN; len++) {
        assert_int_equal(arp_parse(f, len, &p), -EBADMSG);
    }
    /* Not ARP (IPv4 ethertype), or VLAN-tagged. */
    f[12] = 0x08, f[13] = 0x00;
    assert_int_equal(arp_parse(f, n, &p), -EBADMSG);
    f[12] = 0x81, f[13] = 0x00;
    assert_int_equal(arp_parse(f, n, &p), -EBADMSG);
    /* Wrong hardware type, protocol type, address lengths. */
    static const struct { size_t ofs; uint8_t v; } bad[] = {
        { 14, 0x00 }, { 15, 0x06 },       /* htype 6 (IEEE 802) */
        { 16, 0x86 }, { 17, 0xdd },       /* ptype IPv6 */
        { 18, 8 }, { 19, 16 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i += 2) {
        n = make_reply(f);
        f[bad[i].ofs] = bad[i].v;
        f[bad[i + 1].ofs] = bad[i + 1].v;
        assert_int_equal(arp_parse(f, n, &p), -EBADMSG);
    }
    n = make_reply(f);
    f[18] = 8;
    assert_int_equal(arp_parse(f, n, &p), -EBADMSG);
    n = make_reply(f);
    f[19] = 16;
    assert_int_equal(arp_parse(f, n, &p), -EBADMSG);

    /* A wrong operation is well-formed ARP: the parser reports it and the
     * caller (pkt.c) refuses anything but a reply. */
    n = make_reply(f);
    f[21] = 3;                            /* RARP request */
    assert_int_equal(arp_parse(f, n, &p), 0);
    assert_int_equal(p.op, 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_bytes),
        cmocka_unit_test(test_parse_reply),
        cmocka_unit_test(test_parse_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
