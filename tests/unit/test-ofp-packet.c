/* test-ofp-packet.c — packet-in / packet-out codec.  Encodings are checked
 * with `ovs-ofctl ofp-print` as the oracle; the packet-in decoder is fed
 * what a private, real ovs-vswitchd (netdev datapath, own network
 * namespace) sends for a controller(userdata=...) action. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "datapath/flow.h"
#include "datapath/ofp-msgs.h"
#include "datapath/ofp-packet.h"
#include "tests/unit/support/ovs-sandbox.h"
#include "tests/unit/support/test-util.h"

static struct ovs_sandbox ovs;

static int
group_teardown(void **state)
{
    ovs_sandbox_stop(&ovs);
    return 0;
}

/* ovs-vswitchd with br0, in its own network namespace; without OVS the
 * OVS tests skip. */
static int
group_setup(void **state)
{
    return ovs_sandbox_start_switch(&ovs, "ofpk");
}

#define REQUIRE_OVS() \
    do { if (!ovs_sandbox_is_up(&ovs)) { skip(); } } while (0)

/* `ovs-ofctl ofp-print` of the bytes [p, p + n). */
static char *
ofp_print(const uint8_t *p, size_t n)
{
    char *hex = test_hex(p, n);
    char *out = test_capture("ovs-ofctl ofp-print %s 2>&1", hex);
    free(hex);
    return out;
}

/* A UDP frame 10.0.0.5 -> 10.0.0.1, TTL 1, 'n' bytes long. */
static void
make_frame(uint8_t *f, size_t n)
{
    static const uint8_t hdr[] = {
        0x0a, 0, 0, 0, 0xff, 1, 0x0a, 0, 0, 0, 0, 5, 0x08, 0x00,
        0x45, 0, 0, 28, 0, 1, 0, 0, 1, 17, 0, 0, 10, 0, 0, 5, 10, 0, 0, 1,
        0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0,
    };
    memset(f, 0, n);
    memcpy(f, hdr, sizeof hdr);
    f[17] = n - 14;
}

static void
test_packet_out_encoding(void **state)
{
    uint8_t frame[60];
    struct ofp_buf b;
    struct flow_action acts[2] = {
        { .type = FA_OUTPUT, .arg = OFPP_IN_PORT },
        { .type = FA_OUTPUT, .arg = 7 },
    };

    make_frame(frame, sizeof frame);
    ofp_buf_init(&b);
    assert_int_equal(ofp_put_packet_out(&b, 0x42, 5, acts, 1, frame,
                                        sizeof frame), 0);
    char *txt = ofp_print(b.data, b.size);
    assert_non_null(strstr(txt, "OFPT_PACKET_OUT (OF1.5) (xid=0x42): "
                                "in_port=5 actions=IN_PORT data_len=60"));
    assert_non_null(strstr(txt, "udp,vlan_tci=0x0000,dl_src=0a:00:00:00:00:05,"
                                "dl_dst=0a:00:00:00:ff:01,nw_src=10.0.0.5,"
                                "nw_dst=10.0.0.1"));
    assert_null(strstr(txt, "only uses"));
    free(txt);

    /* Two actions, in_port LOCAL, and our own decoder agrees. */
    ofp_buf_clear(&b);
    assert_int_equal(ofp_put_packet_out(&b, 1, OFPP_LOCAL, acts, 2, frame,
                                        sizeof frame), 0);
    txt = ofp_print(b.data, b.size);
    assert_non_null(strstr(txt, "in_port=LOCAL actions=IN_PORT,output:7 "
                                "data_len=60"));
    free(txt);
    struct ofp_msg msg;
    struct flow f;
    uint32_t in_port = 0;
    const uint8_t *pkt;
    size_t pkt_len;
    assert_int_equal(ofp_msg_parse(b.data, b.size, &msg), 0);
    assert_int_equal(ofp_decode_packet_out(&msg, &in_port, &f, &pkt,
                                           &pkt_len), 0);
    assert_int_equal(in_port, OFPP_LOCAL);
    assert_int_equal(f.n_actions, 2);
    assert_int_equal(f.actions[1].arg, 7);
    assert_int_equal(pkt_len, sizeof frame);
    assert_memory_equal(pkt, frame, sizeof frame);
    flow_destroy(&f);
    ofp_buf_destroy(&b);
}

static void
test_setup_messages(void **state)
{
    struct ofp_buf b;
    struct ofp_msg m1, m2;

    ofp_buf_init(&b);
    ofp_put_packet_in_setup(&b, 9);
    assert_int_equal(ofp_msg_parse(b.data, b.size, &m1), 0);
    assert_int_equal(ofp_msg_parse(b.data + m1.length, b.size - m1.length,
                                   &m2), 0);
    assert_int_equal(m1.length + m2.length, b.size);
    char *t1 = ofp_print(m1.data, m1.length);
    char *t2 = ofp_print(m2.data, m2.length);
    assert_non_null(strstr(t1, "NXT_SET_PACKET_IN_FORMAT (OF1.5) (xid=0x9): "
                               "format=nxt_packet_in2"));
    assert_non_null(strstr(t2, "OFPT_SET_CONFIG (OF1.5) (xid=0xa): "
                               "frags=normal miss_send_len=65535"));
    free(t1);
    free(t2);
    ofp_buf_destroy(&b);
}

static void
test_decode_rejects_garbage(void **state)
{
    uint8_t buf[64] = { 6, 4, 0, 24, 0, 0, 0, 1, 0, 0, 0x23, 0x20, 0, 0, 0,
                        30, 0, 0, 0, 200 /* property longer than message */ };
    struct ofp_msg msg;
    struct ofp_packet_in pin;

    assert_int_equal(ofp_msg_parse(buf, sizeof buf, &msg), 0);
    assert_true(ofp_is_packet_in(&msg));
    assert_int_equal(ofp_decode_packet_in(&msg, &pin), -EBADMSG);
    /* Every truncation of the message is refused, never read past. */
    for (uint16_t len = 8; len < 24; len++) {
        buf[3] = len;
        assert_int_equal(ofp_msg_parse(buf, len, &msg), 0);
        assert_int_not_equal(ofp_decode_packet_in(&msg, &pin), 0);
    }
    buf[1] = OFPT_ECHO_REQUEST;
    buf[3] = 8;
    assert_int_equal(ofp_msg_parse(buf, 8, &msg), 0);
    assert_false(ofp_is_packet_in(&msg));
    assert_int_equal(ofp_decode_packet_in(&msg, &pin), -ENOMSG);
}

/* Connects to br0, sends HELLO and the packet-in setup. */
static int
connect_packet_conn(void)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct ofp_buf b;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    strcpy(sun.sun_path, ovs.br0_sock);
    assert_int_equal(connect(fd, (struct sockaddr *) &sun, sizeof sun), 0);
    ofp_buf_init(&b);
    ofp_put_hello(&b, 1);
    ofp_put_packet_in_setup(&b, 2);
    ofp_put_empty(&b, OFPT_BARRIER_REQUEST, 4);
    assert_int_equal(write(fd, b.data, b.size), (ssize_t) b.size);
    ofp_buf_destroy(&b);
    return fd;
}

/* Reads messages until one of 'type' (or a packet-in when type is 0xff)
 * arrives; returns it in 'buf' (a copy).  Fails the test after 3 s or on an
 * OpenFlow error. */
static size_t
read_until(int fd, uint8_t type, uint8_t *buf, size_t cap, uint8_t *types,
           size_t *n_types)
{
    static uint8_t rx[1 << 16];
    static size_t have;
    for (int rounds = 0; rounds < 300; rounds++) {
        struct ofp_msg msg;
        while (!ofp_msg_parse(rx, have, &msg)) {
            size_t len = msg.length;
            if (types && *n_types < 16) {
                types[(*n_types)++] = msg.type;
            }
            assert_int_not_equal(msg.type, OFPT_ERROR);
            bool hit = type == 0xff ? ofp_is_packet_in(&msg)
                                    : msg.type == type;
            if (hit) {
                assert_true(len <= cap);
                memcpy(buf, rx, len);
            }
            memmove(rx, rx + len, have - len);
            have -= len;
            if (hit) {
                return len;
            }
        }
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, 10) == 1) {
            ssize_t n = read(fd, rx + have, sizeof rx - have);
            assert_true(n > 0);
            have += n;
        }
    }
    fail_msg("no message of type %u from the switch", type);
    return 0;
}

static void
test_real_packet_in2(void **state)
{
    REQUIRE_OVS();
    uint8_t frame[64], msgbuf[4096];
    uint8_t types[16];
    size_t n_types = 0;

    /* A flow sending UDP from LOCAL to the controller with userdata 0x2a,
     * and a packet injected through the pipeline. */
    assert_int_equal(test_run("ovs-ofctl -O OpenFlow15 add-flow br0 "
                              "'table=0,priority=10,cookie=0xabc,udp,nw_ttl=1,"
                              "actions=controller(userdata=00.2a)'"), 0);
    int fd = connect_packet_conn();
    read_until(fd, OFPT_BARRIER_REPLY, msgbuf, sizeof msgbuf, types,
               &n_types);

    make_frame(frame, sizeof frame);
    char *hex = test_hex(frame, sizeof frame);
    assert_int_equal(test_run("ovs-ofctl -O OpenFlow15 packet-out br0 "
                              "'in_port=LOCAL,packet=%s,actions=table'",
                              hex), 0);
    free(hex);

    size_t len = read_until(fd, 0xff, msgbuf, sizeof msgbuf, types, &n_types);
    struct ofp_msg msg;
    struct ofp_packet_in pin;
    assert_int_equal(ofp_msg_parse(msgbuf, len, &msg), 0);
    /* OVS honoured NXT_SET_PACKET_IN_FORMAT: an NXT_PACKET_IN2. */
    assert_int_equal(msg.type, OFPT_EXPERIMENTER);
    assert_int_equal(ofp_decode_packet_in(&msg, &pin), 0);
    assert_true(pin.is_packet_in2);
    assert_int_equal(pin.packet_len, sizeof frame);
    assert_memory_equal(pin.packet, frame, sizeof frame);
    assert_true(pin.has_in_port);
    assert_int_equal(pin.in_port, OFPP_LOCAL);
    assert_int_equal(pin.table_id, 0);
    assert_int_equal(pin.cookie, 0xabc);
    uint16_t id = 0;
    assert_true(ofp_packet_in_userdata16(&pin, &id));
    assert_int_equal(id, 0x2a);
    /* The oracle decodes the same bytes the same way. */
    char *txt = ofp_print(msgbuf, len);
    assert_non_null(strstr(txt, "NXT_PACKET_IN2"));
    assert_non_null(strstr(txt, "userdata=00.2a"));
    assert_non_null(strstr(txt, "in_port=LOCAL"));
    free(txt);

    /* The packet-out answering it is accepted (a barrier, no error). */
    struct ofp_buf b;
    struct flow_action out = { .type = FA_OUTPUT, .arg = OFPP_IN_PORT };
    ofp_buf_init(&b);
    assert_int_equal(ofp_put_packet_out(&b, 77, pin.in_port, &out, 1,
                                        pin.packet, pin.packet_len), 0);
    ofp_put_empty(&b, OFPT_BARRIER_REQUEST, 78);
    assert_int_equal(write(fd, b.data, b.size), (ssize_t) b.size);
    read_until(fd, OFPT_BARRIER_REPLY, msgbuf, sizeof msgbuf, NULL, NULL);
    ofp_buf_destroy(&b);
    close(fd);
    print_message("message types seen from OVS:");
    for (size_t i = 0; i < n_types; i++) {
        print_message(" %u", types[i]);
    }
    print_message("\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packet_out_encoding),
        cmocka_unit_test(test_setup_messages),
        cmocka_unit_test(test_decode_rejects_garbage),
        cmocka_unit_test(test_real_packet_in2),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
