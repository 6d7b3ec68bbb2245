/* test-ofp.c — the OpenFlow 1.5 codec: flow-mods checked against an
 * independent decoder (`ovs-ofctl ofp-print`), decode/encode round trips,
 * and malformed input. */
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

#include "datapath/flow.h"
#include "datapath/ofp-msgs.h"

/* Runs `ovs-ofctl ofp-print` on the message in 'b' and returns its output. */
static char *
ofp_print(const struct ofp_buf *b)
{
    size_t cmdlen = 64 + 2 * b->size;
    char *cmd = malloc(cmdlen), *p;
    p = cmd + sprintf(cmd, "ovs-ofctl ofp-print ");
    for (size_t i = 0; i < b->size; i++) {
        p += sprintf(p, "%02x", b->data[i]);
    }
    strcpy(p, " 2>&1");
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char *out = calloc(1, 65536);
    size_t n = fread(out, 1, 65535, f);
    out[n] = '\0';
    pclose(f);
    free(cmd);
    return out;
}

static bool
have_ovs_ofctl(void)
{
    return system("ovs-ofctl --version >/dev/null 2>&1") == 0;
}

struct case__ {
    const char *expect[4];        /* substrings of the ofp-print output */
};

/* Builds the representative flows; returns how many. */
static int
make_flows(struct flow *fl, struct case__ *cs)
{
    int n = 0;

    /* metadata + dl_dst -> output */
    flow_init(&fl[n], 30, 100, 0xabc);
    flow_match_set(&fl[n].match, FF_METADATA, 5, 0);
    flow_match_set(&fl[n].match, FF_ETH_DST, 0x0a0000000001ULL, 0);
    flow_output(&fl[n], 3);
    cs[n] = (struct case__) { { "ADD table:30 priority=100",
                                "metadata=0x5,dl_dst=0a:00:00:00:00:01",
                                "cookie:0xabc", "actions=output:3" } };
    n++;

    /* reg14 with a mask, tun_id and tun_dst set_field, resubmit */
    flow_init(&fl[n], 10, 50, 1);
    flow_match_set(&fl[n].match, FF_REG14, 0x5, 0xff);
    flow_set_field(&fl[n], FF_TUN_ID, 0x1234);
    flow_set_field(&fl[n], FF_TUN_DST, 0x0ac80001);
    flow_resubmit(&fl[n], 40);
    cs[n] = (struct case__) { { "reg14=0x5/0xff",
                                "set_field:0x1234->tun_id",
                                "set_field:10.200.0.1->tun_dst",
                                "resubmit(,40)" } };
    n++;

    /* tcp + dec_ttl + ct(commit, zone 5, table 20) */
    flow_init(&fl[n], 20, 1000, 2);
    flow_match_set(&fl[n].match, FF_ETH_TYPE, 0x0800, 0);
    flow_match_set(&fl[n].match, FF_IP_PROTO, 6, 0);
    flow_match_set(&fl[n].match, FF_IPV4_DST, 0x0a000000, 0xffffff00);
    flow_match_set(&fl[n].match, FF_TCP_DST, 80, 0);
    flow_add_action(&fl[n], FA_DEC_TTL, 0, 0, 0);
    flow_add_action(&fl[n], FA_CT, 1, 5, 20);
    cs[n] = (struct case__) { { "tcp,nw_dst=10.0.0.0/24,tp_dst=80",
                                "dec_ttl", "ct(commit,table=20,zone=5)",
                                "priority=1000" } };
    n++;

    /* arp fields, controller with userdata, move */
    flow_init(&fl[n], 5, 200, 3);
    flow_match_set(&fl[n].match, FF_ETH_TYPE, 0x0806, 0);
    flow_match_set(&fl[n].match, FF_ARP_OP, 1, 0);
    flow_match_set(&fl[n].match, FF_ARP_TPA, 0x0a000001, 0);
    flow_match_set(&fl[n].match, FF_ARP_SHA, 0x0a0000000002ULL, 0);
    flow_add_action(&fl[n], FA_MOVE, FF_REG14, FF_REG15, 0);
    flow_add_action(&fl[n], FA_CONTROLLER, 0, 0xffff, 7);
    flow_output(&fl[n], OFPP_IN_PORT);
    cs[n] = (struct case__) { { "arp,arp_tpa=10.0.0.1,arp_op=1,"
                                "arp_sha=0a:00:00:00:00:02",
                                "move:NXM_NX_REG14[]->NXM_NX_REG15[]",
                                "controller(userdata=00.07)",
                                "IN_PORT" } };
    n++;

    /* an empty action list is a drop */
    flow_init(&fl[n], 0, 1, 0);
    flow_match_set(&fl[n].match, FF_IN_PORT, 7, 0);
    flow_match_set(&fl[n].match, FF_CT_STATE, 0x21, 0x21);
    cs[n] = (struct case__) { { "in_port=7", "ct_state=+new+trk",
                                "actions=drop", NULL } };
    n++;

    /* output to the controller, vlan, ct_mark */
    flow_init(&fl[n], 1, 2, 0);
    flow_match_set(&fl[n].match, FF_VLAN_VID, 0x1005, 0);
    flow_match_set(&fl[n].match, FF_CT_MARK, 3, 0);
    flow_output(&fl[n], OFPP_CONTROLLER);
    flow_set_field(&fl[n], FF_REG0, 9);
    cs[n] = (struct case__) { { "dl_vlan=5", "ct_mark=0x3",
                                "actions=CONTROLLER:65535",
                                "set_field:0x9->reg0" } };
    n++;
    return n;
}

static void
test_flow_mod_vs_ovs_ofctl(void **state)
{
    if (!have_ovs_ofctl()) {
        skip();
    }
    struct flow fl[8];
    struct case__ cs[8];
    int n = make_flows(fl, cs);
    for (int i = 0; i < n; i++) {
        struct ofp_buf b;
        ofp_buf_init(&b);
        assert_int_equal(ofp_put_flow_mod(&b, 0x42, &fl[i], OFPFC_ADD), 0);
        char *out = ofp_print(&b);
        assert_non_null(strstr(out, "OFPT_FLOW_MOD (OF1.5) (xid=0x42)"));
        for (int k = 0; k < 4 && cs[i].expect[k]; k++) {
            if (!strstr(out, cs[i].expect[k])) {
                fail_msg("flow %d: '%s' not in: %s", i, cs[i].expect[k], out);
            }
        }
        free(out);
        ofp_buf_destroy(&b);
        flow_destroy(&fl[i]);
    }
}

static void
test_other_messages_vs_ovs_ofctl(void **state)
{
    if (!have_ovs_ofctl()) {
        skip();
    }
    struct flow f;
    struct ofp_buf b;
    char *out;

    ofp_buf_init(&b);
    ofp_put_hello(&b, 1);
    out = ofp_print(&b);
    assert_non_null(strstr(out, "OFPT_HELLO (OF1.5)"));
    assert_non_null(strstr(out, "version bitmap: 0x06"));
    free(out);

    ofp_buf_clear(&b);
    ofp_put_flow_desc_request(&b, 2);
    out = ofp_print(&b);
    assert_non_null(strstr(out, "OFPST_FLOW request (OF1.5)"));
    free(out);

    ofp_buf_clear(&b);
    ofp_put_bundle_ctrl(&b, 3, 77, OFPBCT_OPEN_REQUEST,
                        OFPBF_ATOMIC | OFPBF_ORDERED);
    out = ofp_print(&b);
    assert_non_null(strstr(out, "bundle_id=0x4d type=OPEN_REQUEST"));
    assert_non_null(strstr(out, "flags=atomic ordered"));
    free(out);

    ofp_buf_clear(&b);
    flow_init(&f, 7, 300, 0x99);
    flow_match_set(&f.match, FF_REG15, 4, 0);
    flow_output(&f, 2);
    assert_int_equal(ofp_put_bundle_flow_mod(&b, 4, 77, OFPBF_ATOMIC
                                             | OFPBF_ORDERED, &f,
                                             OFPFC_DELETE_STRICT), 0);
    out = ofp_print(&b);
    assert_non_null(strstr(out, "OFPT_BUNDLE_ADD_MESSAGE (OF1.5)"));
    assert_non_null(strstr(out, "DEL_STRICT table:7 priority=300,reg15=0x4"));
    free(out);
    flow_destroy(&f);
    ofp_buf_destroy(&b);
}

static void
test_round_trip(void **state)
{
    struct flow fl[8];
    struct case__ cs[8];
    int n = make_flows(fl, cs);
    for (int i = 0; i < n; i++) {
        struct ofp_buf b, b2;
        struct ofp_msg msg;
        struct flow back;
        enum ofp_flow_mod_command cmd;

        ofp_buf_init(&b);
        ofp_buf_init(&b2);
        assert_int_equal(ofp_put_flow_mod(&b, 9, &fl[i], OFPFC_MODIFY_STRICT),
                         0);
        assert_int_equal(b.size % 8, 0);
        assert_int_equal(ofp_msg_parse(b.data, b.size, &msg), 0);
        assert_int_equal(msg.length, b.size);
        assert_int_equal(ofp_decode_flow_mod(&msg, &back, &cmd), 0);
        assert_int_equal(cmd, OFPFC_MODIFY_STRICT);
        assert_true(flow_equal(&back, &fl[i]));
        /* Re-encoding gives the same bytes. */
        assert_int_equal(ofp_put_flow_mod(&b2, 9, &back, OFPFC_MODIFY_STRICT),
                         0);
        assert_int_equal(b2.size, b.size);
        assert_memory_equal(b2.data, b.data, b.size);
        flow_destroy(&back);
        flow_destroy(&fl[i]);
        ofp_buf_destroy(&b);
        ofp_buf_destroy(&b2);
    }
}

/* Parses the hex text 'hex' into 'out'; returns the byte count. */
static size_t
unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned int v;
        sscanf(hex, "%2x", &v);
        out[n++] = v;
    }
    return n;
}

/* A FLOW_DESC reply as Open vSwitch 3.1 sent it (captured) for
 * "cookie=0x2a,table=3,priority=7,reg14=0x5/0xff,tcp,tcp_dst=80 actions=
 * set_field:10.0.0.1->tun_dst,ct(commit,zone=5,table=20),resubmit(,4),
 * dec_ttl,controller(userdata=00.05),output:3": OVS spells reg14 as xreg7
 * (class 0x8001) and sends OXS duration/idle/packet/byte counters.  Only the
 * counters were edited (duration 7 s, 11 packets, 200 bytes). */
static const char ovs_flow_desc_reply[] =
    "0613010000000002000100000000000000f00000030000070000000000000000"
    "000000000000002a0001002980000a020800800014010680001c02005080010f"
    "100000000500000000000000ff00000000000000000000000000003480020008"
    "0000000706bc3e4080020208000000000000000080020808000000000000000b"
    "80020a0800000000000000c80000000000040070000000000019001000014004"
    "0a00000100000000ffff00180000232000230001000000000005140000000000"
    "ffff001000002320000efff8040000000018000800000000ffff001800002320"
    "0025000000000000000300060005000000000010000000030000000000000000";

static void
test_decode_ovs_dump(void **state)
{
    uint8_t buf[512];
    size_t len = unhex(ovs_flow_desc_reply, buf);
    struct ofp_msg msg;
    uint16_t mp_type, flags;
    const uint8_t *body;
    size_t body_len, used;
    struct flow got, want;
    struct ofp_flow_counters c;

    assert_int_equal(len, 256);
    assert_int_equal(ofp_msg_parse(buf, len, &msg), 0);
    assert_int_equal(ofp_decode_multipart_reply(&msg, &mp_type, &flags, &body,
                                                &body_len), 0);
    assert_int_equal(mp_type, OFPMP_FLOW_DESC);
    assert_int_equal(flags, 0);
    assert_int_equal(ofp_decode_flow_desc(body, body_len, &used, &got, &c), 0);
    assert_int_equal(used, body_len);
    assert_true(c.packets == 11 && c.bytes == 200);
    assert_int_equal(c.duration_sec, 7);

    flow_init(&want, 3, 7, 42);
    flow_match_set(&want.match, FF_ETH_TYPE, 0x0800, 0);
    flow_match_set(&want.match, FF_IP_PROTO, 6, 0);
    flow_match_set(&want.match, FF_TCP_DST, 80, 0);
    flow_match_set(&want.match, FF_REG14, 5, 0xff);
    flow_set_field(&want, FF_TUN_DST, 0x0a000001);
    flow_add_action(&want, FA_CT, 1, 5, 20);
    flow_resubmit(&want, 4);
    flow_add_action(&want, FA_DEC_TTL, 0, 0, 0);
    flow_add_action(&want, FA_CONTROLLER, 0, 0xffff, 5);
    flow_output(&want, 3);
    if (!flow_equal(&got, &want)) {
        fail_msg("got %s\nwant %s", flow_format(&got), flow_format(&want));
    }
    flow_destroy(&got);
    flow_destroy(&want);
}

static void
test_unknown_action_placeholder(void **state)
{
    /* output, then an unknown Nicira action (subtype 99): the whole list
     * becomes one placeholder. */
    uint8_t acts[32] = {
        0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 0,
        0xff, 0xff, 0x00, 0x10, 0x00, 0x00, 0x23, 0x20, 0x00, 99,
    };
    struct flow f;
    flow_init(&f, 0, 0, 0);
    assert_int_equal(ofp_decode_actions(acts, sizeof acts, &f), 0);
    assert_int_equal(f.n_actions, 1);
    assert_int_equal(f.actions[0].type, FA_N_TYPES);
    flow_destroy(&f);

    /* An unknown OXM class in a match is reported, known fields kept. */
    uint8_t m[24] = { 0x00, 0x01, 0x00, 0x11,
                      0x80, 0x00, 0x0a, 0x02, 0x08, 0x00,
                      0x00, 0x05, 0x00, 0x02, 0x12, 0x34,
                      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
    struct flow_match fm;
    size_t used;
    assert_int_equal(ofp_decode_match(m, 16, &used, &fm), -EBADMSG);
    m[3] = 0x10;    /* 4 + 6 + 6 = 16 */
    assert_int_equal(ofp_decode_match(m, 16, &used, &fm), -EOPNOTSUPP);
    assert_int_equal(used, 16);
    assert_int_equal(fm.n, 1);
    assert_int_equal(fm.f[0].id, FF_ETH_TYPE);
}

static void
test_malformed(void **state)
{
    struct ofp_buf b;
    struct ofp_msg msg;
    struct flow f, back;
    enum ofp_flow_mod_command cmd;

    /* Truncated header and bad header lengths. */
    uint8_t hdr[8] = { 6, OFPT_FLOW_MOD, 0x00, 0x40, 0, 0, 0, 1 };
    assert_int_equal(ofp_msg_parse(hdr, 5, &msg), -EAGAIN);
    assert_int_equal(ofp_msg_parse(hdr, 8, &msg), -EAGAIN);   /* len 64 */
    hdr[3] = 4;
    assert_int_equal(ofp_msg_parse(hdr, 8, &msg), -EBADMSG);

    flow_init(&f, 1, 2, 3);
    flow_match_set(&f.match, FF_ETH_DST, 0x0a0000000001ULL, 0);
    flow_match_set(&f.match, FF_REG3, 1, 0);
    flow_set_field(&f, FF_ETH_SRC, 0x0a0000000009ULL);
    flow_output(&f, 1);
    ofp_buf_init(&b);
    assert_int_equal(ofp_put_flow_mod(&b, 1, &f, OFPFC_ADD), 0);

    /* Every truncation of a valid message, with its length field patched to
     * claim the truncated size, fails cleanly. */
    for (size_t cut = 8; cut < b.size; cut++) {
        uint8_t *copy = malloc(cut);
        memcpy(copy, b.data, cut);
        copy[2] = cut >> 8;
        copy[3] = cut & 0xff;
        assert_int_equal(ofp_msg_parse(copy, cut, &msg), 0);
        int e = ofp_decode_flow_mod(&msg, &back, &cmd);
        assert_true(e == -EBADMSG || e == 0);
        flow_destroy(&back);
        free(copy);
    }

    /* A length field larger than the buffer. */
    assert_int_equal(ofp_msg_parse(b.data, b.size - 1, &msg), -EAGAIN);

    /* A bad OXM length: the first TLV (eth_dst, at offset 48 + 4) claims
     * more bytes than the match holds. */
    uint8_t *bad = malloc(b.size);
    memcpy(bad, b.data, b.size);
    bad[48 + 4 + 3] = 0xf0;
    assert_int_equal(ofp_msg_parse(bad, b.size, &msg), 0);
    assert_int_equal(ofp_decode_flow_mod(&msg, &back, &cmd), -EBADMSG);
    flow_destroy(&back);
    /* An odd masked length. */
    memcpy(bad, b.data, b.size);
    bad[48 + 4 + 2] |= 1;
    bad[48 + 4 + 3] = 5;
    assert_int_equal(ofp_decode_flow_mod(&msg, &back, &cmd), -EBADMSG);
    flow_destroy(&back);
    /* An action length that is not a multiple of 8. */
    memcpy(bad, b.data, b.size);
    size_t act = b.size - 16;          /* the output action */
    bad[act + 3] = 12;
    assert_int_equal(ofp_decode_flow_mod(&msg, &back, &cmd), -EBADMSG);
    flow_destroy(&back);
    free(bad);

    /* Garbage flow-desc bodies never crash. */
    uint8_t junk[64];
    for (unsigned int seed = 1; seed < 300; seed++) {
        srand(seed);
        for (size_t i = 0; i < sizeof junk; i++) {
            junk[i] = rand();
        }
        junk[0] = 0;
        junk[1] = rand() % 64;
        size_t used;
        struct ofp_flow_counters c;
        ofp_decode_flow_desc(junk, sizeof junk, &used, &back, &c);
        flow_destroy(&back);
    }
    flow_destroy(&f);
    ofp_buf_destroy(&b);
}

static void
test_encode_errors(void **state)
{
    struct ofp_buf b;
    struct flow f;
    ofp_buf_init(&b);
    flow_init(&f, 0, 0, 0);
    flow_add_action(&f, FA_SET_FIELD, 200, 0, 1);     /* unknown field */
    assert_int_equal(ofp_put_flow_mod(&b, 1, &f, OFPFC_ADD), -EINVAL);
    assert_int_equal(b.size, 0);
    flow_destroy(&f);

    flow_init(&f, 0, 0, 0);
    for (int i = 0; i < 5000; i++) {
        flow_output(&f, i);                            /* 80 kB of actions */
    }
    assert_int_equal(ofp_put_flow_mod(&b, 1, &f, OFPFC_ADD), -E2BIG);
    assert_int_equal(b.size, 0);
    flow_destroy(&f);
    ofp_buf_destroy(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_mod_vs_ovs_ofctl),
        cmocka_unit_test(test_other_messages_vs_ovs_ofctl),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_decode_ovs_dump),
        cmocka_unit_test(test_unknown_action_placeholder),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_encode_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
