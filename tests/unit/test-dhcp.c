/* test-dhcp.c — the agent's DHCP server: requests built here, replies
 * checked byte by byte (addresses, checksums by recomputation, every option
 * value); malformed requests are refused without crashing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "agent/dhcp.h"
#include "lib/packet.h"

#define CLIENT_MAC 0x0a0000000011ULL
#define SERVER_MAC 0x0a000000ff01ULL
#define IP(a, b, c, d) ((uint32_t) (a) << 24 | (b) << 16 | (c) << 8 | (d))

/* A client request as a DHCP client sends it from 0.0.0.0 to broadcast.
 * Options: 53 = type, then 50 / 54 if nonzero, then 55, END. */
static size_t
make_request(uint8_t *f, uint8_t type, uint32_t ciaddr, uint32_t req_ip,
             uint32_t server_id, uint16_t flags)
{
    memset(f, 0, 600);
    packet_put_mac(f, 0xffffffffffffULL);
    packet_put_mac(f + 6, CLIENT_MAC);
    packet_put_be16(f + 12, 0x0800);
    uint8_t *ip = f + 14, *udp = ip + 20, *b = udp + 8;
    b[0] = 1;
    b[1] = 1;
    b[2] = 6;
    packet_put_be32(b + 4, 0xdeadbeef);
    packet_put_be16(b + 10, flags);
    packet_put_be32(b + 12, ciaddr);
    packet_put_mac(b + 28, CLIENT_MAC);
    packet_put_be32(b + 236, 0x63825363);
    uint8_t *o = b + 240;
    *o++ = 53, *o++ = 1, *o++ = type;
    if (req_ip) {
        *o++ = 50, *o++ = 4;
        packet_put_be32(o, req_ip);
        o += 4;
    }
    if (server_id) {
        *o++ = 54, *o++ = 4;
        packet_put_be32(o, server_id);
        o += 4;
    }
    *o++ = 55, *o++ = 3, *o++ = 1, *o++ = 3, *o++ = 121;
    *o++ = 255;
    size_t blen = o - b;
    packet_put_be16(udp, 68);
    packet_put_be16(udp + 2, 67);
    packet_put_be16(udp + 4, 8 + blen);
    ip[0] = 0x45;
    packet_put_be16(ip + 2, 28 + blen);
    ip[8] = 64;
    ip[9] = 17;
    packet_put_be32(ip + 16, 0xffffffff);
    packet_put_be16(ip + 10, packet_csum(ip, 20));
    return 14 + 28 + blen;
}

static void
make_lease(struct dhcp_lease *l)
{
    memset(l, 0, sizeof *l);
    l->ip = IP(10, 1, 0, 11);
    l->plen = 24;
    l->gateway = IP(10, 1, 0, 1);
    l->dns[0] = IP(10, 1, 0, 53);
    l->dns[1] = IP(10, 9, 9, 9);
    l->n_dns = 2;
    l->mtu = 1400;
    l->lease_time = 3600;
    l->routes[0] = (struct dhcp_route) { IP(10, 50, 0, 0), 16, IP(10, 1, 0, 1) };
    l->routes[1] = (struct dhcp_route) { IP(192, 168, 7, 128), 25,
                                         IP(10, 1, 0, 2) };
    l->n_routes = 2;
    l->server_ip = IP(10, 1, 0, 1);
    l->server_mac = SERVER_MAC;
}

/* Checks the IPv4 and UDP checksums of a reply by recomputing them. */
static void
check_checksums(const uint8_t *f, size_t len)
{
    const uint8_t *ip = f + 14, *udp = ip + 20;
    assert_int_equal(packet_csum(ip, 20), 0);
    size_t ulen = (size_t) (udp[4] << 8 | udp[5]);
    assert_int_equal(14 + 20 + ulen, len);
    assert_int_equal(packet_udp_csum(packet_get_be32(ip + 12),
                                     packet_get_be32(ip + 16), udp, ulen), 0);
}

static const uint8_t *
opt(const struct dhcp_packet *p, uint8_t code, size_t want_len)
{
    size_t len = 0;
    const uint8_t *v = dhcp_find_option(p, code, &len);
    if (!v) {
        fail_msg("option %u missing", code);
    }
    assert_int_equal(len, want_len);
    return v;
}

static void
check_lease_options(const struct dhcp_packet *r)
{
    assert_int_equal(packet_get_be32(opt(r, DHCP_OPT_SERVER_ID, 4)),
                     IP(10, 1, 0, 1));
    assert_int_equal(packet_get_be32(opt(r, DHCP_OPT_LEASE_TIME, 4)), 3600);
    assert_int_equal(packet_get_be32(opt(r, DHCP_OPT_SUBNET_MASK, 4)),
                     0xffffff00);
    assert_int_equal(packet_get_be32(opt(r, DHCP_OPT_ROUTER, 4)),
                     IP(10, 1, 0, 1));
    const uint8_t *dns = opt(r, DHCP_OPT_DNS, 8);
    assert_int_equal(packet_get_be32(dns), IP(10, 1, 0, 53));
    assert_int_equal(packet_get_be32(dns + 4), IP(10, 9, 9, 9));
    const uint8_t *mtu = opt(r, DHCP_OPT_MTU, 2);
    assert_int_equal(mtu[0] << 8 | mtu[1], 1400);
    /* RFC 3442: 16 10.50 via 10.1.0.1; 25 192.168.7.128 via 10.1.0.2;
     * and the default route via the gateway (option 3 is then ignored). */
    static const uint8_t routes[] = {
        16, 10, 50, 10, 1, 0, 1,
        25, 192, 168, 7, 128, 10, 1, 0, 2,
        0, 10, 1, 0, 1,
    };
    const uint8_t *r121 = opt(r, DHCP_OPT_CLASSLESS_ROUTES, sizeof routes);
    assert_memory_equal(r121, routes, sizeof routes);
}

static void
test_discover_offer(void **state)
{
    uint8_t req[600], out[DHCP_REPLY_MAX_LEN];
    struct dhcp_lease l;
    struct dhcp_packet r;
    size_t out_len = 0;
    uint8_t type = 0;

    make_lease(&l);
    size_t n = make_request(req, DHCPDISCOVER, 0, 0, 0, 0);
    assert_int_equal(dhcp_reply(&l, req, n, out, sizeof out, &out_len, &type),
                     0);
    assert_int_equal(type, DHCPOFFER);
    check_checksums(out, out_len);
    assert_true(out_len >= 14 + 28 + 300);       /* BOOTP minimum */
    assert_int_equal(dhcp_parse(out, out_len, &r), 0);
    /* No broadcast flag: unicast to chaddr / yiaddr. */
    assert_int_equal(r.eth_dst, CLIENT_MAC);
    assert_int_equal(r.eth_src, SERVER_MAC);
    assert_int_equal(r.ip_src, IP(10, 1, 0, 1));
    assert_int_equal(r.ip_dst, IP(10, 1, 0, 11));
    assert_int_equal(r.udp_src, 67);
    assert_int_equal(r.udp_dst, 68);
    assert_int_equal(r.op, 2);
    assert_int_equal(r.xid, 0xdeadbeef);
    assert_int_equal(r.yiaddr, IP(10, 1, 0, 11));
    assert_int_equal(r.ciaddr, 0);
    assert_int_equal(r.chaddr, CLIENT_MAC);
    assert_int_equal(r.msg_type, DHCPOFFER);
    assert_int_equal(out[14 + 8], 64);            /* TTL */
    check_lease_options(&r);

    /* With the broadcast flag: broadcast at L2 and L3. */
    n = make_request(req, DHCPDISCOVER, 0, 0, 0, DHCP_FLAG_BROADCAST);
    assert_int_equal(dhcp_reply(&l, req, n, out, sizeof out, &out_len, NULL),
                     0);
    assert_int_equal(dhcp_parse(out, out_len, &r), 0);
    assert_int_equal(r.eth_dst, 0xffffffffffffULL);
    assert_int_equal(r.ip_dst, 0xffffffff);
    assert_int_equal(r.flags, DHCP_FLAG_BROADCAST);
    check_checksums(out, out_len);
}

static void
test_request_ack_nak(void **state)
{
    uint8_t req[600], out[DHCP_REPLY_MAX_LEN];
    struct dhcp_lease l;
    struct dhcp_packet r;
    size_t out_len = 0, len;
    uint8_t type = 0;

    make_lease(&l);
    /* SELECTING: our server id, the leased IP -> ACK. */
    size_t n = make_request(req, DHCPREQUEST, 0, IP(10, 1, 0, 11),
                            IP(10, 1, 0, 1), 0);
    assert_int_equal(dhcp_reply(&l, req, n, out, sizeof out, &out_len, &type),
                     0);
    assert_int_equal(type, DHCPACK);
    check_checksums(out, out_len);
    assert_int_equal(dhcp_parse(out, out_len, &r), 0);
    assert_int_equal(r.msg_type, DHCPACK);
    assert_int_equal(r.yiaddr, IP(10, 1, 0, 11));
    check_lease_options(&r);

    /* Another IP -> NAK, broadcast, without lease options. */
    n = make_request(req, DHCPREQUEST, 0, IP(10, 1, 0, 99), 0, 0);
    assert_int_equal(dhcp_reply(&l, req, n, out, sizeof out, &out_len, &type),
                     0);
    assert_int_equal(type, DHCPNAK);
    check_checksums(out, out_len);
    assert_int_equal(dhcp_parse(out, out_len, &r), 0);
    assert_int_equal(r.msg_type, DHCPNAK);
    assert_int_equal(r.yiaddr, 0);
    assert_int_equal(r.eth_dst, 0xffffffffffffULL);
    assert_int_equal(r.ip_dst, 0xffffffff);
    assert_int_equal(packet_get_be32(opt(&r, DHCP_OPT_SERVER_ID, 4)),
                     IP(10, 1, 0, 1));
    assert_null(dhcp_find_option(&r, DHCP_OPT_LEASE_TIME, &len));
    assert_null(dhcp_find_option(&r, DHCP_OPT_ROUTER, &len));

    /* RENEWING: ciaddr, no option 50 -> ACK unicast to ciaddr. */
    n = make_request(req, DHCPREQUEST, IP(10, 1, 0, 11), 0, 0, 0);
    assert_int_equal(dhcp_reply(&l, req, n, out, sizeof out, &out_len, &type),
                     0);
    assert_int_equal(type, DHCPACK);
    assert_int_equal(dhcp_parse(out, out_len, &r), 0);
    assert_int_equal(r.ip_dst, IP(10, 1, 0, 11));
    assert_int_equal(r.ciaddr, IP(10, 1, 0, 11));
    assert_int_equal(r.eth_dst, CLIENT_MAC);
    /* Renewing a foreign address -> NAK. */
    n = make_request(req, DHCPREQUEST, IP(10, 1, 0, 12), 0, 0, 0);
    assert_int_equal(dhcp_reply(&l, req, n, out, sizeof out, &out_len, &type),
                     0);
    assert_int_equal(type, DHCPNAK);

    /* A request for another server, and messages that get no answer. */
    n = make_request(req, DHCPREQUEST, 0, IP(10, 1, 0, 11), IP(10, 1, 0, 2),
                     0);
    assert_int_equal(dhcp_reply(&l, req, n, out, sizeof out, &out_len, NULL),
                     -ENOMSG);
    n = make_request(req, DHCPRELEASE, IP(10, 1, 0, 11), 0, IP(10, 1, 0, 1), 0);
    assert_int_equal(dhcp_reply(&l, req, n, out, sizeof out, &out_len, NULL),
                     -ENOMSG);
    n = make_request(req, DHCPDECLINE, 0, IP(10, 1, 0, 11), 0, 0);
    assert_int_equal(dhcp_reply(&l, req, n, out, sizeof out, &out_len, NULL),
                     -ENOMSG);
}

static void
test_minimal_lease(void **state)
{
    uint8_t req[600], out[DHCP_REPLY_MAX_LEN];
    struct dhcp_lease l = {
        .ip = IP(172, 16, 5, 9), .plen = 20, .lease_time = 60,
        .server_ip = IP(172, 16, 0, 1), .server_mac = SERVER_MAC,
    };
    struct dhcp_packet r;
    size_t out_len = 0, len;

    size_t n = make_request(req, DHCPDISCOVER, 0, 0, 0, 0);
    assert_int_equal(dhcp_reply(&l, req, n, out, sizeof out, &out_len, NULL),
                     0);
    assert_int_equal(dhcp_parse(out, out_len, &r), 0);
    assert_int_equal(packet_get_be32(opt(&r, DHCP_OPT_SUBNET_MASK, 4)),
                     0xfffff000);
    assert_int_equal(packet_get_be32(opt(&r, DHCP_OPT_LEASE_TIME, 4)), 60);
    assert_null(dhcp_find_option(&r, DHCP_OPT_ROUTER, &len));
    assert_null(dhcp_find_option(&r, DHCP_OPT_DNS, &len));
    assert_null(dhcp_find_option(&r, DHCP_OPT_MTU, &len));
    assert_null(dhcp_find_option(&r, DHCP_OPT_CLASSLESS_ROUTES, &len));
    check_checksums(out, out_len);
}

static void
test_malformed(void **state)
{
    uint8_t req[600], bad[600], out[DHCP_REPLY_MAX_LEN];
    struct dhcp_lease l;
    size_t out_len;

    make_lease(&l);
    size_t n = make_request(req, DHCPDISCOVER, 0, 0, 0, 0);

    /* Every truncation (the IP/UDP lengths still claim the full size). */
    for (size_t len = 0; len < n; len++) {
        memcpy(bad, req, len);
        assert_int_equal(dhcp_reply(&l, bad, len, out, sizeof out, &out_len,
                                    NULL), -EBADMSG);
    }
    /* Missing magic cookie. */
    memcpy(bad, req, n);
    bad[14 + 28 + 236] = 0;
    assert_int_equal(dhcp_reply(&l, bad, n, out, sizeof out, &out_len, NULL),
                     -EBADMSG);
    /* An option length running past the end. */
    memcpy(bad, req, n);
    bad[14 + 28 + 240 + 1] = 200;
    assert_int_equal(dhcp_reply(&l, bad, n, out, sizeof out, &out_len, NULL),
                     -EBADMSG);
    /* Option 53 of length 2. */
    memcpy(bad, req, n);
    bad[14 + 28 + 240 + 1] = 2;
    assert_int_equal(dhcp_reply(&l, bad, n, out, sizeof out, &out_len, NULL),
                     -EBADMSG);
    /* UDP length beyond the IP packet. */
    memcpy(bad, req, n);
    packet_put_be16(bad + 14 + 20 + 4, 1000);
    assert_int_equal(dhcp_reply(&l, bad, n, out, sizeof out, &out_len, NULL),
                     -EBADMSG);
    /* A fragment, a non-UDP protocol, an IPv6 ethertype, a bad IHL. */
    memcpy(bad, req, n);
    packet_put_be16(bad + 14 + 6, 0x2000);
    assert_int_equal(dhcp_reply(&l, bad, n, out, sizeof out, &out_len, NULL),
                     -EBADMSG);
    memcpy(bad, req, n);
    bad[14 + 9] = 6;
    assert_int_equal(dhcp_reply(&l, bad, n, out, sizeof out, &out_len, NULL),
                     -EBADMSG);
    memcpy(bad, req, n);
    packet_put_be16(bad + 12, 0x86dd);
    assert_int_equal(dhcp_reply(&l, bad, n, out, sizeof out, &out_len, NULL),
                     -EBADMSG);
    memcpy(bad, req, n);
    bad[14] = 0x4f;
    assert_int_equal(dhcp_reply(&l, bad, n, out, sizeof out, &out_len, NULL),
                     -EBADMSG);
    /* A BOOTREPLY sent to the server is ignored; too small an output
     * buffer is refused. */
    memcpy(bad, req, n);
    bad[14 + 28] = 2;
    assert_int_equal(dhcp_reply(&l, bad, n, out, sizeof out, &out_len, NULL),
                     -ENOMSG);
    assert_int_equal(dhcp_reply(&l, req, n, out, 100, &out_len, NULL),
                     -ENOSPC);
    /* The intact request still works. */
    assert_int_equal(dhcp_reply(&l, req, n, out, sizeof out, &out_len, NULL),
                     0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discover_offer),
        cmocka_unit_test(test_request_ack_nak),
        cmocka_unit_test(test_minimal_lease),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
