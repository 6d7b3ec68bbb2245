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
    bool same_actions;            /* flow_format_actions() spells them too */
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
    cs[n] = (struct case__) {
        .expect = { "ADD table:30 priority=100",
                    "metadata=0x5,dl_dst=0a:00:00:00:00:01",
                    "cookie:0xabc", "actions=output:3" },
    };
    n++;

    /* reg14 with a mask, tun_id and tun_dst set_field, resubmit */
    flow_init(&fl[n], 10, 50, 1);
    flow_match_set(&fl[n].match, FF_REG14, 0x5, 0xff);
    flow_set_field(&fl[n], FF_TUN_ID, 0x1234);
    flow_set_field(&fl[n], FF_TUN_DST, 0x0ac80001);
    flow_resubmit(&fl[n], 40);
    cs[n] = (struct case__) {
        .expect = { "reg14=0x5/0xff",
                    "set_field:0x1234->tun_id",
                    "set_field:10.200.0.1->tun_dst",
                    "resubmit(,40)" },
    };
    n++;

    /* tcp + dec_ttl + ct(commit, zone 5, table 20) */
    flow_init(&fl[n], 20, 1000, 2);
    flow_match_set(&fl[n].match, FF_ETH_TYPE, 0x0800, 0);
    flow_match_set(&fl[n].match, FF_IP_PROTO, 6, 0);
    flow_match_set(&fl[n].match, FF_IPV4_DST, 0x0a000000, 0xffffff00);
    flow_match_set(&fl[n].match, FF_TCP_DST, 80, 0);
    flow_add_action(&fl[n], FA_DEC_TTL, 0, 0, 0);
    flow_add_action(&fl[n], FA_CT, 1, 5, 20);
    cs[n] = (struct case__) {
        .expect = { "tcp,nw_dst=10.0.0.0/24,tp_dst=80",
                    "dec_ttl", "ct(commit,table=20,zone=5)",
                    "priority=1000" },
    };
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
    cs[n] = (struct case__) {
        .expect = { "arp,arp_tpa=10.0.0.1,arp_op=1,"
                    "arp_sha=0a:00:00:00:00:02",
                    "move:NXM_NX_REG14[]->NXM_NX_REG15[]",
                    "controller(userdata=00.07)",
                    "IN_PORT" },
    };
    n++;

    /* an empty action list is a drop */
    flow_init(&fl[n], 0, 1, 0);
    flow_match_set(&fl[n].match, FF_IN_PORT, 7, 0);
    flow_match_set(&fl[n].match, FF_CT_STATE, 0x21, 0x21);
    cs[n] = (struct case__) {
        .expect = { "in_port=7", "ct_state=+new+trk",
                    "actions=drop", NULL },
    };
    n++;

    /* output to the controller, vlan, ct_mark */
    flow_init(&fl[n], 1, 2, 0);
    flow_match_set(&fl[n].match, FF_VLAN_VID, 0x1005, 0);
    flow_match_set(&fl[n].match, FF_CT_MARK, 3, 0);
    flow_output(&fl[n], OFPP_CONTROLLER);
    flow_set_field(&fl[n], FF_REG0, 9);
    cs[n] = (struct case__) {
        .expect = { "dl_vlan=5", "ct_mark=0x3",
                    "actions=CONTROLLER:65535",
                    "set_field:0x9->reg0" },
    };
    n++;

    /* ct with a nested nat, in each shape anet uses: source NAT to an
     * address, destination NAT to address:port with recirculation, plain
     * "nat" (apply the existing translation), and a port range. */
    flow_init(&fl[n], 50, 10, 4);
    flow_match_set(&fl[n].match, FF_ETH_TYPE, 0x0800, 0);
    flow_add_action(&fl[n], FA_CT, 1, 7, 0xff);
    flow_add_action(&fl[n], FA_NAT, 1, 0xcb00710a, 0);    /* 203.0.113.10 */
    flow_output(&fl[n], 2);
    cs[n] = (struct case__) {
        .expect = { "ADD table:50 priority=10,ip",
                    "actions=ct(commit,zone=7,"
                    "nat(src=203.0.113.10)),output:2" },
        .same_actions = true,
    };
    n++;

    flow_init(&fl[n], 51, 11, 5);
    flow_match_set(&fl[n].match, FF_ETH_TYPE, 0x0800, 0);
    flow_add_action(&fl[n], FA_CT, 1, 7, 40);
    flow_add_action(&fl[n], FA_NAT, 2, 0x0a01000b, 80u << 16); /* 10.1.0.11 */
    cs[n] = (struct case__) {
        .expect = { "actions=ct(commit,table=40,zone=7,"
                    "nat(dst=10.1.0.11:80))" },
        .same_actions = true,
    };
    n++;

    flow_init(&fl[n], 52, 12, 6);
    flow_match_set(&fl[n].match, FF_ETH_TYPE, 0x0800, 0);
    flow_add_action(&fl[n], FA_CT, 0, 7, 40);
    flow_add_action(&fl[n], FA_NAT, 0, 0, 0);
    cs[n] = (struct case__) {
        .expect = { "actions=ct(table=40,zone=7,nat)" },
        .same_actions = true,
    };
    n++;

    flow_init(&fl[n], 53, 13, 7);
    flow_match_set(&fl[n].match, FF_ETH_TYPE, 0x0800, 0);
    flow_set_field(&fl[n], FF_REG0, 1);
    flow_add_action(&fl[n], FA_CT, 1, 7, 0xff);
    flow_add_action(&fl[n], FA_NAT, 1, 0x01020304, 1000u << 16 | 2000);
    flow_add_action(&fl[n], FA_CT, 0, 8, 0xff);     /* a ct without nat */
    cs[n] = (struct case__) {
        .expect = { "actions=set_field:0x1->reg0,"
                    "ct(commit,zone=7,"
                    "nat(src=1.2.3.4:1000-2000)),ct(zone=8)" },
        .same_actions = true,
    };
    n++;

    /* A conjunctive match: two clauses of conjunction 7 on different
     * fields, and the flow matching conj_id=7 that acts on it. */
    flow_init(&fl[n], 61, 200, 8);
    flow_match_set(&fl[n].match, FF_ETH_TYPE, 0x0800, 0);
    flow_match_set(&fl[n].match, FF_IPV4_SRC, 0x0a000000, 0xff000000);
    flow_add_action(&fl[n], FA_CONJUNCTION, 1, 7, 2);
    cs[n] = (struct case__) {
        .expect = { "ip,nw_src=10.0.0.0/8", "actions=conjunction(7,1/2)" },
        .same_actions = true,
    };
    n++;

    flow_init(&fl[n], 61, 200, 9);
    flow_match_set(&fl[n].match, FF_ETH_TYPE, 0x0800, 0);
    flow_match_set(&fl[n].match, FF_IP_PROTO, 6, 0);
    flow_match_set(&fl[n].match, FF_TCP_DST, 0x1f40, 0xffe0);
    flow_add_action(&fl[n], FA_CONJUNCTION, 2, 7, 2);
    flow_add_action(&fl[n], FA_CONJUNCTION, 3, 0xfffffff0, 64);
    cs[n] = (struct case__) {
        .expect = { "tcp,tp_dst=0x1f40/0xffe0",
                    "actions=conjunction(7,2/2),"
                    "conjunction(4294967280,3/64)" },
        .same_actions = true,
    };
    n++;

    flow_init(&fl[n], 61, 200, 10);
    flow_match_set(&fl[n].match, FF_CONJ_ID, 7, 0);
    flow_match_set(&fl[n].match, FF_ETH_TYPE, 0x0800, 0);
    flow_resubmit(&fl[n], 70);
    cs[n] = (struct case__) {
        .expect = { "conj_id=7,ip", "actions=resubmit(,70)" },
        .same_actions = true,
    };
    n++;
    return n;
}

static void
test_flow_mod_vs_ovs_ofctl(void **state)
{
    if (!have_ovs_ofctl()) {
        skip();
    }
    struct flow fl[16];
    struct case__ cs[16];
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
        if (cs[i].same_actions) {
            /* flow_format() prints the actions exactly as OVS does. */
            char *acts = flow_format_actions(&fl[i]);
            char *want = malloc(strlen(acts) + 16);
            sprintf(want, "actions=%s\n", acts);
            if (!strstr(out, want)) {
                fail_msg("flow %d: '%s' not in: %s", i, want, out);
            }
            free(want);
            free(acts);
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
    struct flow fl[16];
    struct case__ cs[16];
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

    /* A nat must follow a ct, and hold what NXAST_NAT can say. */
    static const struct {
        bool ct_before;
        uint8_t field;
        uint32_t addr;
        uint32_t ports;
    } bad_nat[] = {
        { false, 1, 0x01020304, 0 },          /* no ct before it */
        { true, 3, 0x01020304, 0 },           /* both src and dst */
        { true, 0, 0x01020304, 0 },           /* plain nat with an address */
        { true, 1, 0, 80u << 16 },            /* a port without an address */
        { true, 1, 0x01020304, 80 },          /* a port max without a min */
        { true, 1, 0x01020304, 2000u << 16 | 1000 },  /* max < min */
    };
    for (size_t i = 0; i < sizeof bad_nat / sizeof *bad_nat; i++) {
        flow_init(&f, 0, 0, 0);
        flow_output(&f, 1);
        if (bad_nat[i].ct_before) {
            flow_add_action(&f, FA_CT, 1, 7, 0xff);
        }
        flow_add_action(&f, FA_NAT, bad_nat[i].field, bad_nat[i].addr,
                        bad_nat[i].ports);
        assert_int_equal(ofp_put_flow_mod(&b, 1, &f, OFPFC_ADD), -EINVAL);
        assert_int_equal(b.size, 0);
        flow_destroy(&f);
    }
    /* A conjunction needs 2..64 clauses and 1 <= k <= n. */
    static const struct {
        uint8_t k;
        uint8_t n;
    } bad_conj[] = { { 0, 2 }, { 3, 2 }, { 1, 1 }, { 1, 0 }, { 1, 65 } };
    for (size_t i = 0; i < sizeof bad_conj / sizeof *bad_conj; i++) {
        flow_init(&f, 0, 0, 0);
        flow_add_action(&f, FA_CONJUNCTION, bad_conj[i].k, 7, bad_conj[i].n);
        assert_int_equal(ofp_put_flow_mod(&b, 1, &f, OFPFC_ADD), -EINVAL);
        assert_int_equal(b.size, 0);
        flow_destroy(&f);
    }
    /* A second nat after a ct's nat is not nested in anything. */
    flow_init(&f, 0, 0, 0);
    flow_add_action(&f, FA_CT, 1, 7, 0xff);
    flow_add_action(&f, FA_NAT, 1, 0x01020304, 0);
    flow_add_action(&f, FA_NAT, 2, 0x01020304, 0);
    assert_int_equal(ofp_put_flow_mod(&b, 1, &f, OFPFC_ADD), -EINVAL);
    assert_int_equal(b.size, 0);
    flow_destroy(&f);
    ofp_buf_destroy(&b);
}

/* Encodes 'f''s actions into 'acts' and returns their length. */
static size_t
encode_actions(const struct flow *f, uint8_t *acts, size_t size)
{
    struct ofp_buf b;
    ofp_buf_init(&b);
    assert_int_equal(ofp_put_actions(&b, f), 0);
    assert_true(b.size <= size);
    memcpy(acts, b.data, b.size);
    size_t n = b.size;
    ofp_buf_destroy(&b);
    return n;
}

/* Decodes 'size' bytes of actions; returns the first action's type and
 * stores the count in '*n'. */
static unsigned int
decode_first(const uint8_t *acts, size_t size, size_t *n)
{
    struct flow f;
    flow_init(&f, 0, 0, 0);
    assert_int_equal(ofp_decode_actions(acts, size, &f), 0);
    *n = f.n_actions;
    unsigned int type = f.n_actions ? f.actions[0].type : FA_N_TYPES;
    flow_destroy(&f);
    return type;
}

static void
test_ct_nat_wire(void **state)
{
    struct flow f;
    uint8_t acts[64];
    size_t len, n;

    /* ct(commit,zone=7,nat(src=1.2.3.4:1000-2000)): a 24-byte NXAST_CT whose
     * length covers the nested 24-byte NXAST_NAT (16 + 4 + 2 + 2). */
    flow_init(&f, 0, 0, 0);
    flow_add_action(&f, FA_CT, 1, 7, 0xff);
    flow_add_action(&f, FA_NAT, 1, 0x01020304, 1000u << 16 | 2000);
    len = encode_actions(&f, acts, sizeof acts);
    flow_destroy(&f);
    static const uint8_t want[48] = {
        0xff, 0xff, 0x00, 0x30, 0x00, 0x00, 0x23, 0x20, 0x00, 35,
        0x00, 0x01, 0, 0, 0, 0, 0x00, 0x07, 0xff, 0, 0, 0, 0, 0,
        0xff, 0xff, 0x00, 0x18, 0x00, 0x00, 0x23, 0x20, 0x00, 36, 0, 0,
        0x00, 0x01, 0x00, 0x31, 1, 2, 3, 4, 0x03, 0xe8, 0x07, 0xd0,
    };
    assert_int_equal(len, sizeof want);
    assert_memory_equal(acts, want, sizeof want);
    assert_int_equal(decode_first(acts, len, &n), FA_CT);
    assert_int_equal(n, 2);

    /* Plain "nat": a 16-byte NXAST_NAT with no flags and no range. */
    flow_init(&f, 0, 0, 0);
    flow_add_action(&f, FA_CT, 0, 7, 40);
    flow_add_action(&f, FA_NAT, 0, 0, 0);
    len = encode_actions(&f, acts, sizeof acts);
    flow_destroy(&f);
    assert_int_equal(len, 40);
    assert_int_equal(acts[24 + 3], 16);
    assert_int_equal(acts[24 + 13] | acts[24 + 15], 0);

    /* Nested content anet does not represent makes the list a placeholder:
     * a persistent flag, an address range, and a trailing nested action. */
    memcpy(acts, want, sizeof want);
    acts[24 + 13] |= 4;                       /* NX_NAT_F_PERSISTENT */
    assert_int_equal(decode_first(acts, sizeof want, &n), FA_N_TYPES);
    assert_int_equal(n, 1);
    memcpy(acts, want, sizeof want);
    acts[24 + 15] |= 2;                       /* NX_NAT_RANGE_IPV4_MAX */
    assert_int_equal(decode_first(acts, sizeof want, &n), FA_N_TYPES);
    memcpy(acts, want, sizeof want);
    acts[24 + 15] = 0;                        /* no range, but 24 bytes */
    assert_int_equal(decode_first(acts, sizeof want, &n), FA_N_TYPES);
    memcpy(acts, want, sizeof want);
    acts[3] = 0x38;                           /* a dec_ttl after the nat */
    static const uint8_t dec_ttl[8] = { 0x00, 0x18, 0x00, 0x08 };
    memcpy(acts + 48, dec_ttl, 8);
    assert_int_equal(decode_first(acts, 56, &n), FA_N_TYPES);
    /* The same dec_ttl outside the ct is fine. */
    memcpy(acts, want, sizeof want);
    assert_int_equal(decode_first(acts, 56, &n), FA_CT);
    assert_int_equal(n, 3);
    /* A nested length that disagrees with the ct's is refused too. */
    memcpy(acts, want, sizeof want);
    acts[24 + 3] = 0x10;
    assert_int_equal(decode_first(acts, sizeof want, &n), FA_N_TYPES);
}

static void
test_conjunction_wire(void **state)
{
    struct flow f;
    uint8_t acts[32];
    size_t len, n;

    /* conjunction(0x01020304,2/3): a 16-byte NXAST_CONJUNCTION (subtype
     * 34) with the 0-based clause 1, 3 clauses and the id. */
    flow_init(&f, 0, 0, 0);
    flow_add_action(&f, FA_CONJUNCTION, 2, 0x01020304, 3);
    len = encode_actions(&f, acts, sizeof acts);
    flow_destroy(&f);
    static const uint8_t want[16] = {
        0xff, 0xff, 0x00, 0x10, 0x00, 0x00, 0x23, 0x20, 0x00, 34,
        1, 3, 0x01, 0x02, 0x03, 0x04,
    };
    assert_int_equal(len, sizeof want);
    assert_memory_equal(acts, want, sizeof want);
    flow_init(&f, 0, 0, 0);
    assert_int_equal(ofp_decode_actions(acts, len, &f), 0);
    assert_int_equal(f.n_actions, 1);
    assert_int_equal(f.actions[0].type, FA_CONJUNCTION);
    assert_int_equal(f.actions[0].field, 2);
    assert_int_equal(f.actions[0].arg, 0x01020304);
    assert_int_equal(f.actions[0].value, 3);
    flow_destroy(&f);

    /* What OVS itself would refuse has no representation: clause >= n,
     * fewer than 2 or more than 64 clauses, a wrong length. */
    memcpy(acts, want, sizeof want);
    acts[10] = 3;
    assert_int_equal(decode_first(acts, sizeof want, &n), FA_N_TYPES);
    memcpy(acts, want, sizeof want);
    acts[10] = 0;
    acts[11] = 1;
    assert_int_equal(decode_first(acts, sizeof want, &n), FA_N_TYPES);
    acts[11] = 65;
    assert_int_equal(decode_first(acts, sizeof want, &n), FA_N_TYPES);
    acts[11] = 64;
    assert_int_equal(decode_first(acts, sizeof want, &n), FA_CONJUNCTION);
    memcpy(acts, want, sizeof want);
    acts[3] = 24;
    memset(acts + 16, 0, 8);
    assert_int_equal(decode_first(acts, 24, &n), FA_N_TYPES);

    /* conj_id is the NXM_NX_CONJ_ID TLV (class 1, field 37, 4 bytes). */
    struct flow_match m = { .n = 0 }, back;
    struct ofp_buf b;
    size_t used;
    flow_match_set(&m, FF_CONJ_ID, 7, 0);
    ofp_buf_init(&b);
    assert_int_equal(ofp_put_match(&b, &m), 0);
    static const uint8_t want_match[16] = {
        0x00, 0x01, 0x00, 0x0c, 0x00, 0x01, 0x4a, 0x04, 0, 0, 0, 7,
    };
    assert_int_equal(b.size, sizeof want_match);
    assert_memory_equal(b.data, want_match, sizeof want_match);
    assert_int_equal(ofp_decode_match(b.data, b.size, &used, &back), 0);
    assert_int_equal(back.n, 1);
    assert_int_equal(back.f[0].id, FF_CONJ_ID);
    assert_int_equal(back.f[0].value, 7);
    ofp_buf_destroy(&b);

    char *text = flow_format_match(&m);
    assert_string_equal(text, "conj_id=7");
    free(text);
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
        cmocka_unit_test(test_ct_nat_wire),
        cmocka_unit_test(test_conjunction_wire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
