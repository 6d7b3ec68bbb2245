/* test-ofconn.c — OpenFlow connection and bundle sync against a private,
 * real Open vSwitch (netdev datapath), with ovs-ofctl as the oracle. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "datapath/flow.h"
#include "datapath/ofconn.h"
#include "datapath/ofp-msgs.h"
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
    return ovs_sandbox_start_switch(&ovs, "ofc");
}

#define REQUIRE_OVS() \
    do { if (!ovs_sandbox_is_up(&ovs)) { skip(); } } while (0)

/* Flow number 'i' of a generated table, of varied shapes.  'gen' changes
 * the actions (a modification) without changing the key. */
static void
make_flow(struct flow *f, int i, int gen)
{
    switch (i % 7) {
    case 0:
        flow_init(f, 30, 100, 0x1000 + i);
        flow_match_set(&f->match, FF_METADATA, i, 0);
        flow_match_set(&f->match, FF_ETH_DST, 0x0a0000000000ULL + i, 0);
        flow_output(f, 1 + gen);
        break;
    case 1:
        flow_init(f, 10, 50, 0x2000 + i);
        flow_match_set(&f->match, FF_REG14, i, 0xffff);
        flow_set_field(f, FF_TUN_ID, 0x100 + i);
        flow_set_field(f, FF_TUN_DST, 0x0ac80000 + i + gen);
        flow_resubmit(f, 40);
        break;
    case 2:
        flow_init(f, 20, 1000 + i, 0x3000);
        flow_match_set(&f->match, FF_ETH_TYPE, 0x0800, 0);
        flow_match_set(&f->match, FF_IP_PROTO, 6, 0);
        flow_match_set(&f->match, FF_IPV4_DST, 0x0a000000 + (i << 8),
                       0xffffff00);
        flow_match_set(&f->match, FF_TCP_DST, 80, 0);
        flow_add_action(f, FA_DEC_TTL, 0, 0, 0);
        flow_add_action(f, FA_CT, 1, 5 + gen, 20);
        break;
    case 3:
        flow_init(f, 5, 200 + i, 0x4000);
        flow_match_set(&f->match, FF_ETH_TYPE, 0x0806, 0);
        flow_match_set(&f->match, FF_ARP_OP, 1, 0);
        flow_match_set(&f->match, FF_ARP_TPA, 0x0a000001 + i, 0);
        flow_add_action(f, FA_MOVE, FF_REG14, FF_REG15, 0);
        flow_add_action(f, FA_CONTROLLER, 0, 0xffff, 7 + gen);
        break;
    case 4:
        flow_init(f, 0, 10 + i, 0);
        flow_match_set(&f->match, FF_IN_PORT, i, 0);
        flow_match_set(&f->match, FF_REG13, 1, 0);
        flow_match_set(&f->match, FF_REG15, 2, 0);
        if (gen) {
            flow_output(f, OFPP_CONTROLLER);
        }   /* else: drop */
        break;
    case 5:
        flow_init(f, 41, 1 + i, 0x6000);
        flow_match_set(&f->match, FF_ETH_SRC, 0x0a0000000000ULL + i,
                       0xffffffffff00ULL);
        flow_match_set(&f->match, FF_ETH_TYPE, 0x0800, 0);
        flow_match_set(&f->match, FF_VLAN_VID, 0x1005, 0);
        flow_match_set(&f->match, FF_IP_TTL, 1, 0);
        flow_match_set(&f->match, FF_CT_MARK, i, 0xff);
        flow_set_field(f, FF_ETH_SRC, 0x0a00000000ffULL);
        flow_add_action(f, FA_MOVE, FF_TUN_ID, FF_METADATA, 0);
        flow_add_action(f, FA_CONTROLLER, 0, 128 + gen, 0);
        flow_output(f, OFPP_CONTROLLER);
        break;
    default:
        flow_init(f, 40, 1 + i, 0x5000);
        flow_match_set(&f->match, FF_ETH_TYPE, 0x0800, 0);
        flow_match_set(&f->match, FF_CT_STATE, 0x21, 0x21);
        flow_match_set(&f->match, FF_CT_ZONE, 5, 0);
        flow_match_set(&f->match, FF_TUN_DST, 0x0ac80001 + i, 0);
        flow_add_action(f, FA_CT, 0, 5, 0xff);
        flow_output(f, OFPP_IN_PORT);
        break;
    }
}

static void
make_set(struct flow_set *s, int n)
{
    flow_set_init(s);
    for (int i = 0; i < n; i++) {
        struct flow f;
        make_flow(&f, i, 0);
        flow_set_take(s, &f);
    }
    flow_set_sort(s);
}

static void
assert_switch_equals(struct ofconn *c, const struct flow_set *want)
{
    struct flow_set got;
    flow_set_init(&got);
    assert_int_equal(ofconn_dump_flows(c, &got, NULL), 0);
    if (!flow_set_equal(&got, want)) {
        for (size_t i = 0; i < got.n || i < want->n; i++) {
            char *a = i < got.n ? flow_format(&got.flows[i]) : NULL;
            char *b = i < want->n ? flow_format(&want->flows[i]) : NULL;
            if (!a || !b || strcmp(a, b)) {
                print_error("got  %s\nwant %s\n", a ? a : "-", b ? b : "-");
            }
            free(a);
            free(b);
        }
        fail_msg("switch table differs from the desired set");
    }
    flow_set_destroy(&got);
}

static void
assert_sync(struct ofconn *c, const struct flow_set *want, unsigned int add,
            unsigned int mod, unsigned int rem)
{
    struct ofconn_sync_stats st;
    assert_int_equal(ofconn_sync(c, want, &st), 0);
    if (st.added != add || st.modified != mod || st.removed != rem) {
        fail_msg("sync stats %u/%u/%u, expected %u/%u/%u", st.added,
                 st.modified, st.removed, add, mod, rem);
    }
}

static void
test_open_and_echo(void **state)
{
    REQUIRE_OVS();
    struct ofconn *c = ofconn_open(ovs.br0, 2000);
    assert_non_null(c);
    assert_int_equal(ofconn_echo(c), 0);
    assert_int_equal(ofconn_echo(c), 0);
    ofconn_close(c);
    ofconn_close(NULL);

    errno = 0;
    assert_null(ofconn_open("unix:/tmp/anet-ofc-nonexistent/x.mgmt", 500));
    assert_int_equal(errno, ENOENT);
    assert_null(ofconn_open("tcp:127.0.0.1:6653", 500));
    assert_int_equal(errno, EINVAL);
}

static void
test_sync_round_trip(void **state)
{
    REQUIRE_OVS();
    struct ofconn *c = ofconn_open(ovs.br0, 2000);
    assert_non_null(c);
    struct flow_set want;
    make_set(&want, 50);

    /* The new bridge holds OVS's default NORMAL flow; sync removes it. */
    assert_sync(c, &want, 50, 0, 1);
    char *out = test_capture("ovs-ofctl -O OpenFlow15 dump-flows %s", ovs.br0);
    int lines = 0;
    for (char *p = out; (p = strstr(p, "cookie=")); p++) {
        lines++;
    }
    assert_int_equal(lines, 50);
    assert_non_null(strstr(out, "priority=100,metadata=0x7,"
                                "dl_dst=0a:00:00:00:00:07 actions=output:1"));
    assert_non_null(strstr(out, "reg14=0x8/0xffff actions="
                                "set_field:0x108->tun_id,"
                                "set_field:10.200.0.8->tun_dst,"
                                "resubmit(,40)"));
    assert_non_null(strstr(out, "ct(commit,table=20,zone=5)"));
    assert_non_null(strstr(out, "controller(userdata=00.07)"));
    assert_non_null(strstr(out, "move:NXM_NX_TUN_ID[]->OXM_OF_METADATA[],"
                                "controller(max_len=128,userdata=00.00),"
                                "CONTROLLER:65535"));
    assert_null(strstr(out, "NORMAL"));
    free(out);

    /* Exact round trip: what we dump is what we installed. */
    assert_switch_equals(c, &want);
    struct flow_set got;
    struct ofconn_flow_stats *st;
    flow_set_init(&got);
    assert_int_equal(ofconn_dump_flows(c, &got, &st), 0);
    assert_int_equal(got.n, 50);
    assert_true(st[0].packets == 0 && st[49].bytes == 0);
    free(st);
    flow_set_destroy(&got);
    assert_sync(c, &want, 0, 0, 0);

    /* Change a few: 2 action changes, 1 cookie change, 2 removals, 4
     * additions. */
    flow_set_destroy(&want);
    flow_set_init(&want);
    for (int i = 0; i < 54; i++) {
        struct flow f;
        if (i == 10 || i == 11) {
            continue;                       /* removed */
        }
        make_flow(&f, i, i == 12 || i == 15);
        if (i == 14) {
            f.cookie = 0xfeed;
        }
        flow_set_take(&want, &f);
    }
    flow_set_sort(&want);
    assert_sync(c, &want, 4, 3, 2);
    assert_switch_equals(c, &want);
    assert_sync(c, &want, 0, 0, 0);

    /* A flow the desired set lacks is removed. */
    assert_int_equal(test_run("ovs-ofctl -O OpenFlow15 add-flow %s "
                              "'table=77,priority=5,actions=drop'",
                              ovs.br0), 0);
    assert_sync(c, &want, 0, 0, 1);
    out = test_capture("ovs-ofctl -O OpenFlow15 dump-flows %s", ovs.br0);
    assert_null(strstr(out, "table=77"));
    free(out);

    /* A foreign flow whose match anet cannot represent (ipv6_dst) is dumped
     * with a placeholder action list, and a sync deletes it exactly. */
    assert_int_equal(test_run("ovs-ofctl -O OpenFlow15 add-flow %s "
                              "'table=78,priority=5,ipv6,ipv6_dst=::1,"
                              "actions=output:1'", ovs.br0), 0);
    struct flow_set dumped;
    flow_set_init(&dumped);
    assert_int_equal(ofconn_dump_flows(c, &dumped, NULL), 0);
    assert_int_equal(dumped.n, want.n + 1);
    const struct flow *last = &dumped.flows[dumped.n - 1];
    assert_int_equal(last->table, 78);
    assert_int_equal(last->n_actions, 1);
    assert_int_equal(last->actions[0].type, FA_N_TYPES);
    flow_set_destroy(&dumped);
    assert_sync(c, &want, 0, 0, 1);
    assert_switch_equals(c, &want);

    ofconn_close(c);
    flow_set_destroy(&want);
}

static void
test_failed_bundle_keeps_table(void **state)
{
    REQUIRE_OVS();
    struct ofconn *c = ofconn_open(ovs.br0, 2000);
    assert_non_null(c);
    struct flow_set old, bad;
    make_set(&old, 30);
    assert_int_equal(ofconn_sync(c, &old, NULL), 0);

    /* The new generation modifies one flow, removes one and adds an invalid
     * one (tcp_dst without its ip/tcp prerequisites). */
    flow_set_init(&bad);
    for (int i = 1; i < 30; i++) {
        struct flow f;
        make_flow(&f, i, i == 3);
        flow_set_take(&bad, &f);
    }
    struct flow inv;
    flow_init(&inv, 50, 9, 0);
    flow_match_set(&inv.match, FF_TCP_DST, 22, 0);
    flow_output(&inv, 1);
    flow_set_take(&bad, &inv);
    flow_set_sort(&bad);
    struct ofconn_sync_stats st = { 1, 1, 1 };
    assert_int_equal(ofconn_sync(c, &bad, &st), -EPROTO);
    assert_true(st.added == 0 && st.modified == 0 && st.removed == 0);

    /* The connection is still usable and the switch kept the old table. */
    assert_int_equal(ofconn_echo(c), 0);
    assert_switch_equals(c, &old);

    /* apply_delta is atomic too: a valid addition and removal next to the
     * invalid flow are not applied. */
    const struct flow *rem[1] = { &old.flows[0] };
    struct flow ok;
    flow_init(&ok, 60, 1, 0x77);
    flow_output(&ok, 2);
    const struct flow *add[2] = { &ok, &inv };
    flow_init(&inv, 50, 9, 0);
    flow_match_set(&inv.match, FF_TCP_DST, 22, 0);
    assert_int_equal(ofconn_apply_delta(c, add, 2, NULL, 0, rem, 1),
                     -EPROTO);
    assert_switch_equals(c, &old);

    /* apply_delta with only valid changes works. */
    assert_int_equal(ofconn_apply_delta(c, add, 1, NULL, 0, rem, 1), 0);
    struct flow_set now;
    flow_set_init(&now);
    for (size_t i = 1; i < old.n; i++) {
        struct flow f;
        flow_clone(&f, &old.flows[i]);
        flow_set_take(&now, &f);
    }
    struct flow f2;
    flow_clone(&f2, &ok);
    flow_set_take(&now, &f2);
    flow_set_sort(&now);
    assert_switch_equals(c, &now);

    flow_destroy(&ok);
    flow_destroy(&inv);
    flow_set_destroy(&now);
    flow_set_destroy(&old);
    flow_set_destroy(&bad);
    ofconn_close(c);
}

/* ct with a nested nat survives the trip through OVS: what we dump compares
 * equal to what we installed, and ovs-ofctl prints the actions as
 * flow_format() does. */
static void
test_ct_nat_round_trip(void **state)
{
    REQUIRE_OVS();
    struct ofconn *c = ofconn_open(ovs.br0, 2000);
    assert_non_null(c);
    static const struct {
        uint8_t commit, nat_flags;
        uint8_t table;
        uint32_t addr, ports;
        const char *text;
    } cases[] = {
        { 1, 1, 0xff, 0xcb00710a, 0,
          "ct(commit,zone=7,nat(src=203.0.113.10))" },
        { 1, 2, 40, 0x0a01000b, 80u << 16,
          "ct(commit,table=40,zone=7,nat(dst=10.1.0.11:80))" },
        { 0, 0, 40, 0, 0, "ct(table=40,zone=7,nat)" },
        { 1, 1, 0xff, 0x01020304, 1000u << 16 | 2000,
          "ct(commit,zone=7,nat(src=1.2.3.4:1000-2000))" },
    };
    struct flow_set want;
    flow_set_init(&want);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct flow f;
        flow_init(&f, 50, 100 + i, 0x7000 + i);
        flow_match_set(&f.match, FF_ETH_TYPE, 0x0800, 0);
        flow_match_set(&f.match, FF_REG13, i, 0);
        flow_add_action(&f, FA_CT, cases[i].commit, 7, cases[i].table);
        flow_add_action(&f, FA_NAT, cases[i].nat_flags, cases[i].addr,
                        cases[i].ports);
        if (i == 0) {
            flow_output(&f, 1);
        }
        char *acts = flow_format_actions(&f);
        assert_non_null(strstr(acts, cases[i].text));
        free(acts);
        flow_set_take(&want, &f);
    }
    flow_set_sort(&want);

    assert_int_equal(ofconn_sync(c, &want, NULL), 0);
    char *out = test_capture("ovs-ofctl -O OpenFlow15 dump-flows %s", ovs.br0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (!strstr(out, cases[i].text)) {
            fail_msg("'%s' not in:\n%s", cases[i].text, out);
        }
    }
    assert_non_null(strstr(out, "nat(src=203.0.113.10)),output:1"));
    free(out);
    assert_switch_equals(c, &want);
    assert_sync(c, &want, 0, 0, 0);

    /* A ct nesting something anet cannot represent (ct_mark) dumps as the
     * placeholder, and sync replaces it with the desired flow. */
    assert_int_equal(test_run("ovs-ofctl -O OpenFlow15 mod-flows --strict %s "
                              "'table=50,priority=102,ip,reg13=2,actions=ct("
                              "commit,table=40,zone=7,nat,"
                              "exec(set_field:1->ct_mark))'", ovs.br0), 0);
    assert_sync(c, &want, 0, 1, 0);
    assert_switch_equals(c, &want);

    flow_set_destroy(&want);
    ofconn_close(c);
}

/* A conjunctive match survives the trip through OVS: two clauses of
 * conjunction 7 on different fields and the conj_id=7 flow dump back equal
 * to what we installed, and ovs-ofctl spells them as flow_format() does. */
static void
test_conjunction_round_trip(void **state)
{
    REQUIRE_OVS();
    struct ofconn *c = ofconn_open(ovs.br0, 2000);
    assert_non_null(c);
    struct flow_set want;
    struct flow f;
    flow_set_init(&want);

    flow_init(&f, 61, 200, 0x8001);
    flow_match_set(&f.match, FF_ETH_TYPE, 0x0800, 0);
    flow_match_set(&f.match, FF_IPV4_SRC, 0x0a000000, 0xff000000);
    flow_add_action(&f, FA_CONJUNCTION, 1, 7, 2);
    flow_set_take(&want, &f);

    flow_init(&f, 61, 200, 0x8002);
    flow_match_set(&f.match, FF_ETH_TYPE, 0x0800, 0);
    flow_match_set(&f.match, FF_IP_PROTO, 6, 0);
    flow_match_set(&f.match, FF_TCP_DST, 0x1f40, 0xffe0);
    flow_add_action(&f, FA_CONJUNCTION, 2, 7, 2);
    flow_set_take(&want, &f);

    flow_init(&f, 61, 200, 0x8003);
    flow_match_set(&f.match, FF_ETH_TYPE, 0x0800, 0);
    flow_match_set(&f.match, FF_CONJ_ID, 7, 0);
    flow_add_action(&f, FA_CT, 1, 5, 0xff);
    flow_resubmit(&f, 70);
    flow_set_take(&want, &f);
    flow_set_sort(&want);

    assert_int_equal(ofconn_sync(c, &want, NULL), 0);
    char *out = test_capture("ovs-ofctl -O OpenFlow15 dump-flows %s", ovs.br0);
    static const char *const texts[] = {
        "ip,nw_src=10.0.0.0/8 actions=conjunction(7,1/2)",
        "tcp,tp_dst=0x1f40/0xffe0 actions=conjunction(7,2/2)",
        "conj_id=7,ip actions=ct(commit,zone=5),resubmit(,70)",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        if (!strstr(out, texts[i])) {
            fail_msg("'%s' not in:\n%s", texts[i], out);
        }
    }
    free(out);
    for (size_t i = 0; i < want.n; i++) {
        char *acts = flow_format_actions(&want.flows[i]);
        if (want.flows[i].actions[0].type == FA_CONJUNCTION) {
            assert_non_null(strstr(acts, "conjunction(7,"));
        }
        free(acts);
    }
    assert_switch_equals(c, &want);
    assert_sync(c, &want, 0, 0, 0);

    /* Changing a clause number is a modification of that flow only. */
    for (size_t i = 0; i < want.n; i++) {
        struct flow_action *a = &want.flows[i].actions[0];
        if (a->type == FA_CONJUNCTION && a->field == 2) {
            a->value = 3;
            a->field = 3;
        }
    }
    assert_sync(c, &want, 0, 1, 0);
    assert_switch_equals(c, &want);
    out = test_capture("ovs-ofctl -O OpenFlow15 dump-flows %s", ovs.br0);
    assert_non_null(strstr(out, "actions=conjunction(7,3/3)"));
    free(out);

    flow_set_destroy(&want);
    ofconn_close(c);
}

static void
test_large_sync(void **state)
{
    REQUIRE_OVS();
    struct ofconn *c = ofconn_open(ovs.br0, 10000);
    assert_non_null(c);
    struct flow_set want;
    const int n = 20000;
    flow_set_init(&want);
    for (int i = 0; i < n; i++) {
        struct flow f;
        flow_init(&f, 30, 100, 0xc0de);
        flow_match_set(&f.match, FF_METADATA, i / 100, 0);
        flow_match_set(&f.match, FF_ETH_DST, 0x0a0000000000ULL + i, 0);
        flow_set_field(&f, FF_REG15, i);
        flow_resubmit(&f, 31);
        flow_set_take(&want, &f);
    }
    flow_set_sort(&want);

    /* Start from an empty table (this removes the earlier tests' flows). */
    struct flow_set empty;
    flow_set_init(&empty);
    assert_int_equal(ofconn_sync(c, &empty, NULL), 0);
    assert_switch_equals(c, &empty);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct ofconn_sync_stats st;
    assert_int_equal(ofconn_sync(c, &want, &st), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_int_equal(st.added, n);
    print_message("synced %d new flows in %.3f s (%.0f flow-mods/s)\n", n,
                  secs, (st.added + st.modified + st.removed) / secs);

    /* The dump spans many multipart replies and still round-trips. */
    assert_switch_equals(c, &want);
    assert_sync(c, &want, 0, 0, 0);
    flow_set_destroy(&want);
    ofconn_close(c);
}

/* --- a fake switch, for behaviour OVS does not show on demand ----------- */

/* Reads exactly 'n' bytes. */
static bool
read_full(int fd, uint8_t *buf, size_t n)
{
    while (n) {
        ssize_t k = read(fd, buf, n);
        if (k <= 0) {
            return false;
        }
        buf += k;
        n -= k;
    }
    return true;
}

/* Reads one whole OpenFlow message from 'fd' into 'buf'; returns its type or
 * -1. */
static int
fake_read_msg(int fd, uint8_t *buf, size_t size, struct ofp_msg *msg)
{
    if (!read_full(fd, buf, 8)) {
        return -1;
    }
    size_t len = buf[2] << 8 | buf[3];
    if (len < 8 || len > size || !read_full(fd, buf + 8, len - 8)
        || ofp_msg_parse(buf, len, msg)) {
        return -1;
    }
    return msg->type;
}

/* The fake switch's behaviour in the child process. */
static int
fake_switch(int lfd, int mode)
{
    int fd = accept(lfd, NULL, NULL);
    uint8_t buf[4096];
    struct ofp_msg msg;
    if (fd < 0 || fake_read_msg(fd, buf, sizeof buf, &msg) != OFPT_HELLO) {
        return 10;
    }
    if (mode == 1) {
        /* Hello from an OpenFlow 1.3-only switch. */
        static const uint8_t hello13[] = { 4, 0, 0, 8, 0, 0, 0, 1 };
        write(fd, hello13, sizeof hello13);
        sleep(1);
        return 0;
    }
    /* Hello, then an echo request and an unsolicited message before the
     * barrier reply: the client must answer the echo and skip the rest. */
    struct ofp_buf b;
    ofp_buf_init(&b);
    ofp_put_hello(&b, 1);
    ofp_put_empty(&b, OFPT_ECHO_REQUEST, 99);
    ofp_put_empty(&b, OFPT_PORT_STATUS, 0);
    write(fd, b.data, b.size);
    ofp_buf_clear(&b);
    bool echoed = false, barrier = false;
    while (!echoed || !barrier) {
        int type = fake_read_msg(fd, buf, sizeof buf, &msg);
        if (type == OFPT_ECHO_REPLY && msg.xid == 99) {
            echoed = true;
        } else if (type == OFPT_BARRIER_REQUEST) {
            ofp_put_empty(&b, OFPT_BARRIER_REPLY, msg.xid);
            write(fd, b.data, b.size);
            barrier = true;
        } else {
            return 11;
        }
    }
    ofp_buf_destroy(&b);
    return 0;
}

static void
test_fake_switch(void **state)
{
    char dir[] = "/tmp/anet-ofc-fXXXXXX";
    assert_non_null(mkdtemp(dir));
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s/s", dir);
    char target[128];
    snprintf(target, sizeof target, "unix:%s", sun.sun_path);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *) &sun, sizeof sun), 0);
    assert_int_equal(listen(lfd, 4), 0);

    /* Nobody answers: a timeout, not a hang. */
    errno = 0;
    assert_null(ofconn_open(target, 200));
    assert_int_equal(errno, ETIMEDOUT);

    for (int mode = 1; mode <= 2; mode++) {
        /* Drop the connection left in the backlog by the case above. */
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (!pid) {
            if (mode == 1) {
                int junk = accept(lfd, NULL, NULL);
                close(junk);
            }
            _exit(fake_switch(lfd, mode));
        }
        struct ofconn *c = ofconn_open(target, 3000);
        int open_errno = errno;
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        if (mode == 1) {
            assert_null(c);
            assert_int_equal(open_errno, EPROTONOSUPPORT);
        } else if (!c) {
            fail_msg("ofconn_open: %s", strerror(open_errno));
        }
        ofconn_close(c);
    }
    close(lfd);
    test_run("rm -rf %s", dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_switch),
        cmocka_unit_test(test_open_and_echo),
        cmocka_unit_test(test_sync_round_trip),
        cmocka_unit_test(test_failed_bundle_keeps_table),
        cmocka_unit_test(test_ct_nat_round_trip),
        cmocka_unit_test(test_conjunction_round_trip),
        cmocka_unit_test(test_large_sync),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
