/* test-agent-pkt.c — the agent's packet path: dispatch of packet-ins by
 * userdata id to the desired state's packet actions, rate limiting, echo;
 * and the live connection to a private, real ovs-vswitchd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "agent/arp.h"
#include "agent/dhcp.h"
#include "agent/pkt.h"
#include "datapath/ofp-msgs.h"
#include "datapath/ofp-packet.h"
#include "lib/log.h"
#include "lib/packet.h"
#include "tests/unit/support/ovs-sandbox.h"
#include "tests/unit/support/test-util.h"

#define IP(a, b, c, d) ((uint32_t) (a) << 24 | (b) << 16 | (c) << 8 | (d))

/* Appends a property (type, value) padded to 8 bytes. */
static size_t
prop(uint8_t *p, uint16_t type, const void *v, size_t len)
{
    packet_put_be16(p, type);
    packet_put_be16(p + 2, 4 + len);
    memcpy(p + 4, v, len);
    size_t total = (4 + len + 7) & ~7u;
    memset(p + 4 + len, 0, total - 4 - len);
    return total;
}

/* An NXT_PACKET_IN2 as Open vSwitch builds it (packet, table, cookie,
 * reason, metadata with in_port and, when not 0, reg14 and reg15,
 * userdata). */
static size_t
make_packet_in2_regs(uint8_t *m, const uint8_t *pkt, size_t len,
                     uint32_t in_port, const uint8_t *userdata, size_t ud_len,
                     uint64_t cookie, uint32_t reg14, uint32_t reg15)
{
    size_t n = 16;
    uint8_t v[32];
    memset(m, 0, 16);
    m[0] = OFP15_VERSION;
    m[1] = OFPT_EXPERIMENTER;
    packet_put_be32(m + 8, NX_EXPERIMENTER_ID);
    packet_put_be32(m + 12, NXT_PACKET_IN2);
    n += prop(m + n, 0, pkt, len);
    packet_put_be32(v, len);
    n += prop(m + n, 1, v, 4);
    v[0] = 40;
    n += prop(m + n, 3, v, 1);
    memset(v, 0, 4);
    packet_put_be32(v + 4, (uint32_t) (cookie >> 32));
    packet_put_be32(v + 8, (uint32_t) cookie);
    n += prop(m + n, 4, v, 12);
    v[0] = 1;
    n += prop(m + n, 5, v, 1);
    size_t k = 0;
    packet_put_be32(v, 0x80000004);                        /* OXM_OF_IN_PORT */
    packet_put_be32(v + 4, in_port);
    k = 8;
    if (reg14) {
        packet_put_be32(v + k, 0x00011c04);                /* NXM_NX_REG14 */
        packet_put_be32(v + k + 4, reg14);
        k += 8;
    }
    if (reg15) {
        packet_put_be32(v + k, 0x00011e04);                /* NXM_NX_REG15 */
        packet_put_be32(v + k + 4, reg15);
        k += 8;
    }
    n += prop(m + n, 6, v, k);
    if (userdata) {
        n += prop(m + n, 7, userdata, ud_len);
    }
    packet_put_be16(m + 2, n);
    return n;
}

static size_t
make_packet_in2(uint8_t *m, const uint8_t *pkt, size_t len, uint32_t in_port,
                const uint8_t *userdata, size_t ud_len)
{
    return make_packet_in2_regs(m, pkt, len, in_port, userdata, ud_len,
                                0x1234, 0, 0);
}

/* A DHCPDISCOVER from 0a:00:00:00:00:11. */
static size_t
make_discover(uint8_t *f)
{
    memset(f, 0, 400);
    memset(f, 0xff, 6);
    f[6] = 0x0a, f[11] = 0x11;
    packet_put_be16(f + 12, 0x0800);
    uint8_t *ip = f + 14, *udp = ip + 20, *b = udp + 8;
    b[0] = 1, b[1] = 1, b[2] = 6;
    packet_put_be32(b + 4, 77);
    b[28] = 0x0a, b[33] = 0x11;
    packet_put_be32(b + 236, 0x63825363);
    b[240] = 53, b[241] = 1, b[242] = DHCPDISCOVER, b[243] = 255;
    size_t blen = 244;
    packet_put_be16(udp, 68);
    packet_put_be16(udp + 2, 67);
    packet_put_be16(udp + 4, 8 + blen);
    ip[0] = 0x45;
    packet_put_be16(ip + 2, 28 + blen);
    ip[8] = 64;
    ip[9] = 17;
    packet_put_be32(ip + 16, 0xffffffff);
    return 14 + 28 + blen;
}

/* A UDP packet 10.1.0.11 -> 10.9.0.1 with TTL 1. */
static size_t
make_udp(uint8_t *f)
{
    memset(f, 0, 64);
    f[0] = 0x0a, f[4] = 0xff, f[5] = 0x01;
    f[6] = 0x0a, f[11] = 0x11;
    packet_put_be16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    packet_put_be16(ip + 2, 28);
    ip[8] = 1;
    ip[9] = 17;
    packet_put_be32(ip + 12, IP(10, 1, 0, 11));
    packet_put_be32(ip + 16, IP(10, 9, 0, 1));
    packet_put_be16(ip + 10, packet_csum(ip, 20));
    packet_put_be16(ip + 20, 1000);
    packet_put_be16(ip + 22, 53);
    packet_put_be16(ip + 24, 8);
    return 64;
}

static struct pkt_action actions[3];

static void
make_actions(void)
{
    memset(actions, 0, sizeof actions);
    actions[0] = (struct pkt_action) {
        .id = 9, .kind = PKT_ICMP_TIME_EXCEEDED, .port = "",
        .router_ip = IP(10, 1, 0, 1), .router_mac = 0x0a000000ff01ULL,
    };
    actions[1] = (struct pkt_action) {
        .id = 7, .kind = PKT_DHCP, .port = "web1",
        .lease = { .ip = IP(10, 1, 0, 11), .plen = 24,
                   .gateway = IP(10, 1, 0, 1), .lease_time = 3600,
                   .server_ip = IP(10, 1, 0, 1),
                   .server_mac = 0x0a000000ff01ULL },
    };
    actions[2] = (struct pkt_action) { .id = 3, .kind = 99, .port = "" };
}

/* Feeds one packet-in; returns the number of bytes the path wants to send
 * and leaves them in 'out'. */
static size_t
feed(struct pkt_path *pp, const uint8_t *pkt, size_t len, uint32_t in_port,
     uint16_t id, struct ofp_buf *out)
{
    uint8_t m[2048];
    uint8_t ud[2] = { id >> 8, id & 0xff };
    struct ofp_msg msg;
    size_t n = make_packet_in2(m, pkt, len, in_port, ud, 2);
    assert_int_equal(ofp_msg_parse(m, n, &msg), 0);
    ofp_buf_clear(out);
    assert_int_equal(pkt_path_handle_msg(pp, &msg, out), 0);
    return out->size;
}

static void
test_dispatch(void **state)
{
    struct event_base *base = event_base_new();
    struct pkt_path *pp = pkt_path_create(base, NULL);
    struct ofp_buf out;
    struct pkt_stats st;
    uint8_t pkt[512];
    struct ofp_msg msg;
    struct flow acts;
    uint32_t in_port = 0;
    const uint8_t *reply;
    size_t reply_len;

    make_actions();
    pkt_path_set_actions(pp, actions, 3);
    ofp_buf_init(&out);

    /* DHCP: the reply is a packet-out from the packet's port back to it,
     * carrying an OFFER of the lease. */
    size_t n = make_discover(pkt);
    assert_true(feed(pp, pkt, n, 5, 7, &out) > 0);
    assert_int_equal(ofp_msg_parse(out.data, out.size, &msg), 0);
    assert_int_equal(ofp_decode_packet_out(&msg, &in_port, &acts, &reply,
                                           &reply_len), 0);
    assert_int_equal(in_port, 5);
    assert_int_equal(acts.n_actions, 1);
    assert_int_equal(acts.actions[0].type, FA_OUTPUT);
    assert_int_equal(acts.actions[0].arg, OFPP_IN_PORT);
    flow_destroy(&acts);
    struct dhcp_packet d;
    assert_int_equal(dhcp_parse(reply, reply_len, &d), 0);
    assert_int_equal(d.msg_type, DHCPOFFER);
    assert_int_equal(d.yiaddr, IP(10, 1, 0, 11));

    /* ICMP time exceeded for id 9. */
    n = make_udp(pkt);
    assert_true(feed(pp, pkt, n, 6, 9, &out) > 0);
    assert_int_equal(ofp_msg_parse(out.data, out.size, &msg), 0);
    assert_int_equal(ofp_decode_packet_out(&msg, &in_port, &acts, &reply,
                                           &reply_len), 0);
    flow_destroy(&acts);
    assert_int_equal(in_port, 6);
    assert_int_equal(reply[14 + 20], 11);
    assert_memory_equal(reply + 14 + 28, pkt + 14, 28);

    /* Unknown id, unknown kind, a DHCP action fed a non-DHCP packet, no
     * userdata at all: nothing is sent, each is counted. */
    assert_int_equal(feed(pp, pkt, n, 6, 1234, &out), 0);
    assert_int_equal(feed(pp, pkt, n, 6, 3, &out), 0);
    assert_int_equal(feed(pp, pkt, n, 6, 7, &out), 0);
    uint8_t m[256];
    size_t mlen = make_packet_in2(m, pkt, n, 6, NULL, 0);
    assert_int_equal(ofp_msg_parse(m, mlen, &msg), 0);
    ofp_buf_clear(&out);
    assert_int_equal(pkt_path_handle_msg(pp, &msg, &out), 0);
    assert_int_equal(out.size, 0);

    pkt_path_get_stats(pp, &st);
    assert_int_equal(st.rx, 6);
    assert_int_equal(st.replies, 2);
    assert_int_equal(st.per_kind[PKT_DHCP], 1);
    assert_int_equal(st.per_kind[PKT_ICMP_TIME_EXCEEDED], 1);
    assert_int_equal(st.unknown, 3);
    assert_int_equal(st.malformed, 1);

    /* Echo requests are answered with the same xid. */
    uint8_t echo[8] = { OFP15_VERSION, OFPT_ECHO_REQUEST, 0, 8, 0, 0, 1, 2 };
    assert_int_equal(ofp_msg_parse(echo, 8, &msg), 0);
    ofp_buf_clear(&out);
    assert_int_equal(pkt_path_handle_msg(pp, &msg, &out), 0);
    assert_int_equal(out.size, 8);
    assert_int_equal(out.data[1], OFPT_ECHO_REPLY);
    assert_int_equal(out.data[7], 2);

    ofp_buf_destroy(&out);
    pkt_path_destroy(pp);
    event_base_free(base);
}

/* --- REJECT ------------------------------------------------------------- */

#define CLIENT_MAC 0x0a0000000011ULL
#define SERVER_MAC 0x0a0000000022ULL
#define CLIENT_IP IP(10, 1, 0, 11)
#define SERVER_IP IP(10, 1, 0, 22)

/* A TCP segment 10.1.0.11:40000 -> 10.1.0.22:80 with 'flags', 'seq', 'ack'
 * and 'payload' bytes of data. */
static size_t
make_tcp(uint8_t *f, uint8_t flags, uint32_t seq, uint32_t ack,
         size_t payload)
{
    memset(f, 0, 128);
    packet_put_mac(f, SERVER_MAC);
    packet_put_mac(f + 6, CLIENT_MAC);
    packet_put_be16(f + 12, 0x0800);
    uint8_t *ip = f + 14, *tcp = ip + 20;
    ip[0] = 0x45;
    packet_put_be16(ip + 2, 20 + 20 + payload);
    packet_put_be16(ip + 4, 0x4321);
    ip[8] = 64;
    ip[9] = 6;
    packet_put_be32(ip + 12, CLIENT_IP);
    packet_put_be32(ip + 16, SERVER_IP);
    packet_put_be16(ip + 10, packet_csum(ip, 20));
    packet_put_be16(tcp, 40000);
    packet_put_be16(tcp + 2, 80);
    packet_put_be32(tcp + 4, seq);
    packet_put_be32(tcp + 8, ack);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    packet_put_be16(tcp + 14, 64240);
    memset(tcp + 20, 'x', payload);
    return 14 + 40 + payload;
}

/* The one's-complement sum of 'len' bytes, written here rather than taken
 * from lib/packet.h so that the check is independent of the builder. */
static uint32_t
sum16(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t) p[i] << 8 | p[i + 1];
    }
    if (len & 1) {
        sum += (uint32_t) p[len - 1] << 8;
    }
    return sum;
}

static bool
csum_ok(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum == 0xffff;
}

/* Feeds 'pkt' to the REJECT action (id 11) from port 4; returns the reply
 * frame's length (0: nothing sent) and copies it into 'reply'. */
static size_t
feed_reject(struct pkt_path *pp, const uint8_t *pkt, size_t n,
            uint8_t *reply, struct ofp_buf *out)
{
    struct ofp_msg msg;
    struct flow acts;
    uint32_t in_port = 0;
    const uint8_t *r;
    size_t rlen;

    if (!feed(pp, pkt, n, 4, 11, out)) {
        return 0;
    }
    assert_int_equal(ofp_msg_parse(out->data, out->size, &msg), 0);
    assert_int_equal(ofp_decode_packet_out(&msg, &in_port, &acts, &r, &rlen),
                     0);
    /* Straight back out of the port the packet came in on. */
    assert_int_equal(in_port, 4);
    assert_int_equal(acts.n_actions, 1);
    assert_int_equal(acts.actions[0].type, FA_OUTPUT);
    assert_int_equal(acts.actions[0].arg, OFPP_IN_PORT);
    flow_destroy(&acts);
    memcpy(reply, r, rlen);
    return rlen;
}

/* Checks a TCP reset answering make_tcp()'s segment: addresses swapped,
 * the rejecting host posing as the server, and both checksums valid. */
static void
check_rst(const uint8_t *f, size_t len, uint8_t flags, uint32_t seq,
          uint32_t ack)
{
    assert_int_equal(len, 14 + 20 + 20);
    assert_int_equal(packet_get_mac(f), CLIENT_MAC);
    assert_int_equal(packet_get_mac(f + 6), SERVER_MAC);
    assert_int_equal(packet_get_be16(f + 12), 0x0800);
    const uint8_t *ip = f + 14, *tcp = ip + 20;
    assert_int_equal(ip[0], 0x45);
    assert_int_equal(packet_get_be16(ip + 2), 40);
    assert_int_equal(packet_get_be16(ip + 6) & 0x1fff, 0);
    assert_int_equal(ip[8], 64);
    assert_int_equal(ip[9], 6);
    assert_int_equal(packet_get_be32(ip + 12), SERVER_IP);
    assert_int_equal(packet_get_be32(ip + 16), CLIENT_IP);
    assert_true(csum_ok(sum16(0, ip, 20)));
    assert_int_equal(packet_get_be16(tcp), 80);
    assert_int_equal(packet_get_be16(tcp + 2), 40000);
    assert_int_equal(packet_get_be32(tcp + 4), seq);
    assert_int_equal(packet_get_be32(tcp + 8), ack);
    assert_int_equal(tcp[12], 5 << 4);
    assert_int_equal(tcp[13], flags);
    assert_int_equal(packet_get_be16(tcp + 18), 0);
    /* Pseudo-header: source, destination, protocol 6, TCP length 20. */
    uint32_t sum = (SERVER_IP >> 16) + (SERVER_IP & 0xffff)
                   + (CLIENT_IP >> 16) + (CLIENT_IP & 0xffff) + 6 + 20;
    assert_true(csum_ok(sum16(sum, tcp, 20)));
}

static void
test_reject(void **state)
{
    struct event_base *base = event_base_new();
    struct pkt_path *pp = pkt_path_create(base, NULL);
    struct ofp_buf out;
    struct pkt_stats st;
    uint8_t pkt[512], reply[512];
    size_t n, len;

    /* A router datapath on the action must not divert the reject's answer
     * into a router pipeline. */
    struct pkt_action rej = { .id = 11, .kind = PKT_REJECT, .port = "",
                              .router_metadata = 9 };
    assert_string_equal(pkt_kind_name(PKT_REJECT), "reject");
    assert_int_equal(PKT_REJECT, 7);
    pkt_path_set_actions(pp, &rej, 1);
    ofp_buf_init(&out);

    /* A SYN: RST|ACK, seq 0, ack = its seq + 1. */
    n = make_tcp(pkt, 0x02, 1000, 0, 0);
    len = feed_reject(pp, pkt, n, reply, &out);
    check_rst(reply, len, 0x14, 0, 1001);

    /* A SYN carrying 5 bytes of data (and a FIN): both count. */
    n = make_tcp(pkt, 0x03, 0xfffffffe, 0, 5);
    len = feed_reject(pp, pkt, n, reply, &out);
    check_rst(reply, len, 0x14, 0, 0xfffffffeu + 5 + 2);

    /* A segment with an ACK: a bare RST whose seq is that ack number. */
    n = make_tcp(pkt, 0x18, 7777, 5555, 10);
    len = feed_reject(pp, pkt, n, reply, &out);
    check_rst(reply, len, 0x04, 5555, 0);

    /* A reset is never answered. */
    n = make_tcp(pkt, 0x04, 1, 0, 0);
    assert_int_equal(feed_reject(pp, pkt, n, reply, &out), 0);
    n = make_tcp(pkt, 0x14, 1, 2, 0);
    assert_int_equal(feed_reject(pp, pkt, n, reply, &out), 0);
    /* Nor a SYN to a broadcast MAC, or a truncated TCP header. */
    n = make_tcp(pkt, 0x02, 1000, 0, 0);
    packet_put_mac(pkt, 0xffffffffffffULL);
    assert_int_equal(feed_reject(pp, pkt, n, reply, &out), 0);
    n = make_tcp(pkt, 0x02, 1000, 0, 0);
    assert_int_equal(feed_reject(pp, pkt, 14 + 20 + 12, reply, &out), 0);

    /* UDP: an ICMP port unreachable from the packet's destination (MAC
     * and IP) to its source, quoting the datagram. */
    n = make_udp(pkt);
    len = feed_reject(pp, pkt, n, reply, &out);
    assert_int_equal(len, 14 + 20 + 8 + 28);
    assert_int_equal(packet_get_mac(reply), 0x0a0000000011ULL);
    assert_int_equal(packet_get_mac(reply + 6), 0x0a000000ff01ULL);
    const uint8_t *ip = reply + 14;
    assert_int_equal(ip[9], 1);
    assert_int_equal(packet_get_be32(ip + 12), IP(10, 9, 0, 1));
    assert_int_equal(packet_get_be32(ip + 16), IP(10, 1, 0, 11));
    assert_true(csum_ok(sum16(0, ip, 20)));
    assert_int_equal(ip[20], 3);
    assert_int_equal(ip[21], 3);
    assert_true(csum_ok(sum16(0, ip + 20, 8 + 28)));
    assert_memory_equal(ip + 28, pkt + 14, 28);

    pkt_path_get_stats(pp, &st);
    assert_int_equal(st.per_kind[PKT_REJECT], 4);
    assert_int_equal(st.replies, 4);
    assert_int_equal(st.ignored, 3);
    assert_int_equal(st.malformed, 1);

    /* Rejects have a bucket of their own: with a burst of 2 per kind, two
     * more are answered and the third is not. */
    pkt_path_set_limits(pp, 1, 2, 100, 100);
    n = make_tcp(pkt, 0x02, 1000, 0, 0);
    assert_true(feed_reject(pp, pkt, n, reply, &out) > 0);
    assert_true(feed_reject(pp, pkt, n, reply, &out) > 0);
    assert_int_equal(feed_reject(pp, pkt, n, reply, &out), 0);
    pkt_path_get_stats(pp, &st);
    assert_int_equal(st.rate_limited, 1);

    ofp_buf_destroy(&out);
    pkt_path_destroy(pp);
    event_base_free(base);
}

static void
test_rate_limit(void **state)
{
    struct event_base *base = event_base_new();
    struct pkt_path *pp = pkt_path_create(base, NULL);
    struct ofp_buf out;
    struct pkt_stats st;
    uint8_t pkt[512];
    unsigned int sent = 0;

    make_actions();
    pkt_path_set_actions(pp, actions, 3);
    /* 1 per second, burst 10 per kind; global 1/s burst 15. */
    pkt_path_set_limits(pp, 1, 10, 1, 15);
    ofp_buf_init(&out);
    size_t n = make_udp(pkt);
    for (int i = 0; i < 30; i++) {
        sent += feed(pp, pkt, n, 6, 9, &out) > 0;
    }
    assert_int_equal(sent, 10);
    pkt_path_get_stats(pp, &st);
    assert_int_equal(st.rate_limited, 20);
    /* Another kind has its own bucket, but the global one caps it. */
    n = make_discover(pkt);
    sent = 0;
    for (int i = 0; i < 10; i++) {
        sent += feed(pp, pkt, n, 5, 7, &out) > 0;
    }
    assert_int_equal(sent, 5);
    ofp_buf_destroy(&out);
    pkt_path_destroy(pp);
    event_base_free(base);
}

/* LOG: each packet-in becomes an event with the flow's cookie, the port
 * registers, addresses, protocol and ports; nothing is sent back; events
 * leave oldest first; beyond the kind's bucket they are counted as
 * suppressed, as they are when the queue is full. */
static void
test_log(void **state)
{
    (void) state;
    struct event_base *base = event_base_new();
    struct pkt_path *pp = pkt_path_create(base, NULL);
    struct pkt_action la = { .id = 0xffff, .kind = PKT_LOG, .port = "" };
    struct pkt_log_event ev[PKT_LOG_QUEUE];
    struct ofp_buf out;
    struct ofp_msg msg;
    uint8_t pkt[64], m[2048];
    uint8_t ud[2] = { 0xff, 0xff };
    uint64_t suppressed = 99;

    pkt_path_set_actions(pp, &la, 1);
    pkt_path_set_limits(pp, 1, 5, 1000, 1000);
    ofp_buf_init(&out);
    size_t n = make_udp(pkt);
    for (uint32_t i = 0; i < 8; i++) {
        size_t mlen = make_packet_in2_regs(m, pkt, n, 4000, ud, 2,
                                           0x0701020304050607ULL + i, 0,
                                           17 + i);
        assert_int_equal(ofp_msg_parse(m, mlen, &msg), 0);
        ofp_buf_clear(&out);
        assert_int_equal(pkt_path_handle_msg(pp, &msg, &out), 0);
        assert_int_equal(out.size, 0);
    }
    /* Burst 5: five events, three suppressed. */
    assert_int_equal(pkt_path_take_log(pp, ev, 3, &suppressed), 3);
    assert_int_equal(suppressed, 3);
    assert_int_equal(ev[0].cookie, 0x0701020304050607ULL);
    assert_int_equal(ev[0].in_ofport, 0);
    assert_int_equal(ev[0].out_ofport, 17);
    assert_int_equal(ev[0].ip_proto, 17);
    assert_int_equal(ev[0].src, IP(10, 1, 0, 11));
    assert_int_equal(ev[0].dst, IP(10, 9, 0, 1));
    assert_int_equal(ev[0].src_port, 1000);
    assert_int_equal(ev[0].dst_port, 53);
    assert_int_equal(ev[0].length, 64);
    assert_true(ev[0].time_ms > 1700000000000ULL);
    assert_int_equal(ev[2].out_ofport, 19);
    assert_int_equal(pkt_path_take_log(pp, ev, PKT_LOG_QUEUE, NULL), 2);
    assert_int_equal(ev[1].cookie, 0x0701020304050607ULL + 4);
    assert_int_equal(pkt_path_take_log(pp, ev, PKT_LOG_QUEUE, NULL), 0);

    /* A full queue suppresses too. */
    pkt_path_set_limits(pp, 1000000, 1000000, 1000000, 1000000);
    size_t mlen = make_packet_in2_regs(m, pkt, n, 4000, ud, 2, 1, 5, 0);
    assert_int_equal(ofp_msg_parse(m, mlen, &msg), 0);
    for (size_t i = 0; i < PKT_LOG_QUEUE + 10; i++) {
        assert_int_equal(pkt_path_handle_msg(pp, &msg, &out), 0);
    }
    assert_int_equal(pkt_path_take_log(pp, ev, PKT_LOG_QUEUE, &suppressed),
                     PKT_LOG_QUEUE);
    assert_int_equal(suppressed, 13);
    assert_int_equal(ev[0].in_ofport, 5);
    ofp_buf_destroy(&out);
    pkt_path_destroy(pp);
    event_base_free(base);
}

/* ---- ARP: resolving and learning the provider gateway ------------------- */

#define GW_IP IP(203, 0, 113, 1)
#define GW_MAC 0x0242ac110001ULL
#define RTR_IP IP(203, 0, 113, 10)
#define RTR_MAC 0x0a000000fe01ULL

static struct pkt_action arp_actions[2];

static void
make_arp_actions(void)
{
    memset(arp_actions, 0, sizeof arp_actions);
    arp_actions[0] = (struct pkt_action) {
        .id = 20, .kind = PKT_ARP_RESOLVE, .port = "",
        .router_ip = RTR_IP, .router_mac = RTR_MAC,
        .network_vni = 0x1234, .target_ip = GW_IP, .network = "provider",
    };
    arp_actions[1] = (struct pkt_action) {
        .id = 21, .kind = PKT_ARP_LEARN, .port = "",
        .router_ip = RTR_IP, .router_mac = RTR_MAC,
        .network_vni = 0x1234, .target_ip = GW_IP, .network = "provider",
    };
}

/* An ARP reply from 'spa' at 'sha' to the router's gateway port. */
static size_t
make_arp_reply(uint8_t *f, uint16_t op, uint32_t spa, uint64_t sha)
{
    memset(f, 0, 60);
    packet_put_eth_header(f, RTR_MAC, sha, 0x0806);
    uint8_t *a = f + 14;
    packet_put_be16(a, 1);
    packet_put_be16(a + 2, 0x0800);
    a[4] = 6, a[5] = 4;
    packet_put_be16(a + 6, op);
    packet_put_mac(a + 8, sha);
    packet_put_be32(a + 14, spa);
    packet_put_mac(a + 18, RTR_MAC);
    packet_put_be32(a + 24, RTR_IP);
    return 60;
}

static unsigned int n_changes;

static void
count_changes(void *aux)
{
    assert_ptr_equal(aux, &n_changes);
    n_changes++;
}

static void
test_arp_resolve(void **state)
{
    struct event_base *base = event_base_new();
    struct pkt_path *pp = pkt_path_create(base, NULL);
    struct ofp_buf out;
    struct ofp_msg msg;
    struct flow acts;
    uint32_t in_port = 0;
    const uint8_t *frame;
    size_t frame_len;
    uint8_t pkt[64];

    make_arp_actions();
    pkt_path_set_actions(pp, arp_actions, 2);
    ofp_buf_init(&out);

    /* Any packet routed to the unresolved gateway (its content does not
     * matter) becomes a broadcast ARP request injected into the external
     * switch's L2 table from CONTROLLER. */
    size_t n = make_udp(pkt);
    assert_true(feed(pp, pkt, n, 6, 20, &out) > 0);
    assert_int_equal(ofp_msg_parse(out.data, out.size, &msg), 0);
    assert_int_equal(msg.length, out.size);        /* one message only */
    assert_int_equal(ofp_decode_packet_out(&msg, &in_port, &acts, &frame,
                                           &frame_len), 0);
    assert_int_equal(in_port, OFPP_CONTROLLER);
    assert_int_equal(acts.n_actions, 4);
    assert_int_equal(acts.actions[0].type, FA_SET_FIELD);
    assert_int_equal(acts.actions[0].field, FF_METADATA);
    assert_int_equal(acts.actions[0].value, 0x1234);
    assert_int_equal(acts.actions[1].type, FA_SET_FIELD);
    assert_int_equal(acts.actions[1].field, FF_REG13);
    assert_int_equal(acts.actions[1].value, 0);
    assert_int_equal(acts.actions[2].type, FA_SET_FIELD);
    assert_int_equal(acts.actions[2].field, FF_REG14);
    assert_int_equal(acts.actions[2].value, 0);
    assert_int_equal(acts.actions[3].type, FA_RESUBMIT);
    assert_int_equal(acts.actions[3].arg, 30);
    flow_destroy(&acts);

    uint8_t want[ARP_FRAME_LEN];
    size_t want_len;
    assert_int_equal(arp_build_request(RTR_MAC, RTR_IP, GW_IP, want,
                                       sizeof want, &want_len), 0);
    assert_int_equal(frame_len, want_len);
    assert_memory_equal(frame, want, want_len);
    struct arp_packet ap;
    assert_int_equal(arp_parse(frame, frame_len, &ap), 0);
    assert_int_equal(ap.op, ARP_OP_REQUEST);
    assert_int_equal(ap.eth_dst, 0xffffffffffffULL);
    assert_int_equal(ap.eth_src, RTR_MAC);
    assert_int_equal(ap.sha, RTR_MAC);
    assert_int_equal(ap.spa, RTR_IP);
    assert_int_equal(ap.tpa, GW_IP);

    /* A burst of traffic to the gateway: at most 5 requests, even with
     * generous general limits (the first one above counts). */
    unsigned int sent = 1;
    for (int i = 0; i < 50; i++) {
        sent += feed(pp, pkt, n, 6, 20, &out) > 0;
    }
    assert_int_equal(sent, PKT_ARP_RESOLVE_BURST);
    struct pkt_stats st;
    pkt_path_get_stats(pp, &st);
    assert_int_equal(st.per_kind[PKT_ARP_RESOLVE], PKT_ARP_RESOLVE_BURST);
    assert_int_equal(st.rate_limited, 51 - PKT_ARP_RESOLVE_BURST);
    /* Other kinds keep their own bucket. */
    make_actions();
    pkt_path_set_actions(pp, actions, 3);
    assert_true(feed(pp, pkt, n, 6, 9, &out) > 0);

    /* Even lower general limits win over the ARP bucket. */
    pkt_path_set_actions(pp, arp_actions, 2);
    pkt_path_set_limits(pp, 1, 2, 100, 100);
    sent = 0;
    for (int i = 0; i < 10; i++) {
        sent += feed(pp, pkt, n, 6, 20, &out) > 0;
    }
    assert_int_equal(sent, 2);

    ofp_buf_destroy(&out);
    pkt_path_destroy(pp);
    event_base_free(base);
}

static void
test_arp_learn(void **state)
{
    struct event_base *base = event_base_new();
    struct pkt_path *pp = pkt_path_create(base, NULL);
    struct ofp_buf out;
    struct pkt_stats st;
    const struct pkt_neighbor *nb;
    uint8_t pkt[64];
    size_t n_nb;

    make_arp_actions();
    pkt_path_set_actions(pp, arp_actions, 2);
    n_changes = 0;
    pkt_path_set_neighbor_cb(pp, count_changes, &n_changes);
    ofp_buf_init(&out);

    nb = pkt_path_neighbors(pp, &n_nb);
    assert_int_equal(n_nb, 0);

    /* A reply from someone else, a request from the gateway, garbage: no
     * neighbour, nothing sent. */
    size_t n = make_arp_reply(pkt, 2, IP(203, 0, 113, 66), 0x0242ac110066ULL);
    assert_int_equal(feed(pp, pkt, n, 1, 21, &out), 0);
    n = make_arp_reply(pkt, 1, GW_IP, GW_MAC);
    assert_int_equal(feed(pp, pkt, n, 1, 21, &out), 0);
    n = make_arp_reply(pkt, 2, GW_IP, GW_MAC);
    assert_int_equal(feed(pp, pkt, 30, 1, 21, &out), 0);     /* truncated */
    pkt[14] = 0x00, pkt[15] = 0x06;                          /* htype 6 */
    assert_int_equal(feed(pp, pkt, n, 1, 21, &out), 0);
    n = make_arp_reply(pkt, 2, GW_IP, 0xffffffffffffULL);    /* bcast sha */
    assert_int_equal(feed(pp, pkt, n, 1, 21, &out), 0);
    nb = pkt_path_neighbors(pp, &n_nb);
    assert_int_equal(n_nb, 0);
    assert_int_equal(n_changes, 0);
    pkt_path_get_stats(pp, &st);
    assert_int_equal(st.ignored, 3);
    assert_int_equal(st.malformed, 2);

    /* The gateway's reply: learned, reported once. */
    n = make_arp_reply(pkt, 2, GW_IP, GW_MAC);
    assert_int_equal(feed(pp, pkt, n, 1, 21, &out), 0);
    nb = pkt_path_neighbors(pp, &n_nb);
    assert_int_equal(n_nb, 1);
    assert_string_equal(nb[0].network, "provider");
    assert_int_equal(nb[0].ip, GW_IP);
    assert_int_equal(nb[0].mac, GW_MAC);
    assert_int_equal(n_changes, 1);

    /* The same again changes nothing; a new MAC replaces the old one. */
    assert_int_equal(feed(pp, pkt, n, 1, 21, &out), 0);
    assert_int_equal(n_changes, 1);
    n = make_arp_reply(pkt, 2, GW_IP, 0x0242ac1100ffULL);
    assert_int_equal(feed(pp, pkt, n, 1, 21, &out), 0);
    nb = pkt_path_neighbors(pp, &n_nb);
    assert_int_equal(n_nb, 1);
    assert_int_equal(nb[0].mac, 0x0242ac1100ffULL);
    assert_int_equal(n_changes, 2);
    pkt_path_get_stats(pp, &st);
    assert_int_equal(st.neighbor_changes, 2);
    assert_int_equal(st.per_kind[PKT_ARP_LEARN], 3);

    /* Learned neighbours outlive the action set they came from. */
    pkt_path_set_actions(pp, NULL, 0);
    nb = pkt_path_neighbors(pp, &n_nb);
    assert_int_equal(n_nb, 1);

    ofp_buf_destroy(&out);
    pkt_path_destroy(pp);
    event_base_free(base);
}

/* ---- live: a private ovs-vswitchd -------------------------------------- */

static struct ovs_sandbox ovs;

static int
ovs_teardown(void **state)
{
    ovs_sandbox_stop(&ovs);
    return 0;
}

/* Runs the loop until 'done' says so or 'ms' elapse. */
static bool
loop_until(struct event_base *base, bool (*done)(struct pkt_path *),
           struct pkt_path *pp, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (done(pp)) {
            return true;
        }
        struct timeval tv = { 0, 10000 };
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return done(pp);
}

static bool
one_reply__(struct pkt_path *pp)
{
    struct pkt_stats st;
    pkt_path_get_stats(pp, &st);
    return st.replies >= 1;
}

static bool
connected__(struct pkt_path *pp)
{
    return pkt_path_is_connected(pp);
}

static bool
disconnected__(struct pkt_path *pp)
{
    return !pkt_path_is_connected(pp);
}

static struct pkt_log_event live_log;

static bool
one_log__(struct pkt_path *pp)
{
    return pkt_path_take_log(pp, &live_log, 1, NULL) == 1;
}

static void
test_live_ovs(void **state)
{
    if (!ovs_sandbox_available()) {
        skip();
    }
    assert_int_equal(ovs_sandbox_init(&ovs, "pkt"), 0);

    /* The path starts before the bridge exists: it must keep retrying. */
    struct event_base *base = event_base_new();
    struct pkt_path *pp = pkt_path_create(base, ovs.br0);
    make_actions();
    pkt_path_set_actions(pp, actions, 3);
    assert_false(loop_until(base, connected__, pp, 200));

    assert_int_equal(ovs_sandbox_start_db(&ovs), 0);
    assert_int_equal(ovs_sandbox_start_vswitchd(&ovs, true), 0);
    assert_int_equal(ovs_sandbox_add_br0(&ovs), 0);
    assert_true(loop_until(base, connected__, pp, 8000));

    /* TTL 1 from LOCAL -> controller(userdata = 9) -> time exceeded. */
    assert_int_equal(test_run("ovs-ofctl -O OpenFlow15 add-flow br0 "
                              "'priority=10,udp,nw_ttl=1,"
                              "actions=controller(userdata=00.09)'"), 0);
    uint8_t pkt[64];
    size_t n = make_udp(pkt);
    char *hex = test_hex(pkt, n);
    assert_int_equal(test_run("ovs-ofctl -O OpenFlow15 packet-out br0 "
                              "'in_port=LOCAL,packet=%s,actions=table'",
                              hex), 0);
    free(hex);
    assert_true(loop_until(base, one_reply__, pp, 3000));
    /* Give the switch a moment to refuse the packet-out, if it would. */
    loop_until(base, connected__, pp, 100);
    struct pkt_stats st;
    pkt_path_get_stats(pp, &st);
    assert_int_equal(st.rx, 1);
    assert_int_equal(st.replies, 1);
    assert_int_equal(st.switch_errors, 0);
    assert_int_equal(st.connects, 1);

    /* LOG through the real switch: the cookie of the flow and reg15 reach
     * the event through NXT_PACKET_IN2's metadata. */
    struct pkt_action both[4];
    memcpy(both, actions, sizeof actions);
    both[3] = (struct pkt_action) { .id = 0xffff, .kind = PKT_LOG, .port = "" };
    pkt_path_set_actions(pp, both, 4);
    assert_int_equal(test_run("ovs-ofctl -O OpenFlow15 add-flow br0 "
                              "'cookie=0xab0001,priority=20,udp,nw_ttl=2,"
                              "actions=set_field:0x2a->reg15,"
                              "controller(userdata=ff.ff)'"), 0);
    pkt[14 + 8] = 2;
    pkt[14 + 10] = pkt[14 + 11] = 0;
    packet_put_be16(pkt + 14 + 10, packet_csum(pkt + 14, 20));
    hex = test_hex(pkt, n);
    assert_int_equal(test_run("ovs-ofctl -O OpenFlow15 packet-out br0 "
                              "'in_port=LOCAL,packet=%s,actions=table'",
                              hex), 0);
    free(hex);
    assert_true(loop_until(base, one_log__, pp, 3000));
    assert_int_equal(live_log.cookie, 0xab0001);
    assert_int_equal(live_log.out_ofport, 0x2a);
    assert_int_equal(live_log.dst_port, 53);

    /* ovs-vswitchd restarts: the path reconnects on its own. */
    ovs_sandbox_kill(&ovs, "ovs-vswitchd");
    assert_true(loop_until(base, disconnected__, pp, 2000));
    assert_int_equal(ovs_sandbox_start_vswitchd(&ovs, true), 0);
    assert_true(loop_until(base, connected__, pp, 10000));
    pkt_path_get_stats(pp, &st);
    assert_int_equal(st.connects, 2);

    pkt_path_destroy(pp);
    event_base_free(base);
}

int
main(void)
{
    log_set_level(LOG_LEVEL_ERR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_reject),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_log),
        cmocka_unit_test(test_arp_resolve),
        cmocka_unit_test(test_arp_learn),
        cmocka_unit_test_teardown(test_live_ovs, ovs_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
