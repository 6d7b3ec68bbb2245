/* test-compile-sg.c — security groups in the pipeline (docs/pipeline.md,
 * "Security groups", tables 20/21 and 60/61) and port ranges as bitmasks.
 *
 * Port ranges: every range within 0..1023 and a few big ones compile to
 * an exact, disjoint cover whose size is the known optimum (maximal
 * subtrees of the binary trie).  Pipeline: exact flows of a small policy
 * (union of groups, deny moving on to the next group, reject through the
 * REJECT packet action, conjunctions), default deny, the flows of a port
 * without groups unchanged apart from the pass-through tables, linear
 * size of a 50 cidrs x wide port range rule, a remote group join that
 * changes only the hosts of the ports whose rules name the group, REJECT
 * packet actions per switch (ids follow the host's switches by VNI),
 * logged rules (LOG packet action, reg5 notes of denials) and the example
 * three-tier-sg.yaml.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/compile.h"
#include "controller/compile-private.h"
#include "controller/topo.h"
#include "tests/unit/support/compile-test.h"
#include "lib/util.h"

/* --- port ranges ---------------------------------------------------------- */

/* The optimum: the number of maximal aligned blocks of the binary trie of
 * [base, base + size) inside [lo, hi]. */
static size_t
trie_count(uint32_t base, uint32_t size, uint32_t lo, uint32_t hi)
{
    uint32_t end = base + size - 1;
    if (end < lo || base > hi) {
        return 0;
    }
    if (base >= lo && end <= hi) {
        return 1;
    }
    return trie_count(base, size / 2, lo, hi)
           + trie_count(base + size / 2, size / 2, lo, hi);
}

static void
check_range(uint32_t lo, uint32_t hi)
{
    struct compile_port_mask m[COMPILE_MAX_PORT_MASKS];
    size_t n = compile_port_range_masks((uint16_t) lo, (uint16_t) hi, m);
    uint32_t next = lo;

    assert_true(n >= 1 && n <= COMPILE_MAX_PORT_MASKS);
    for (size_t i = 0; i < n; i++) {
        uint32_t mask = m[i].mask, size = (~mask & 0xffffu) + 1;
        /* A prefix mask: ones from the top, then zeros. */
        assert_int_equal((mask | (size - 1)) & 0xffffu, 0xffffu);
        assert_int_equal(mask & (size - 1), 0);
        assert_int_equal(m[i].value & (size - 1), 0);
        /* Blocks follow each other exactly from lo to hi. */
        assert_int_equal(m[i].value, next);
        next = m[i].value + size;
    }
    assert_int_equal(next, hi + 1);
    if (n != trie_count(0, 0x10000, lo, hi)) {
        fail_msg("[%u, %u]: %zu prefixes, optimum %zu", lo, hi, n,
                 trie_count(0, 0x10000, lo, hi));
    }
}

static void
test_port_ranges(void **state)
{
    (void) state;
    for (uint32_t lo = 0; lo < 1024; lo++) {
        for (uint32_t hi = lo; hi < 1024; hi++) {
            check_range(lo, hi);
        }
    }
    static const uint32_t big[][2] = {
        { 0, 65535 }, { 1, 65535 }, { 1, 65534 }, { 1024, 65535 },
        { 80, 8080 }, { 32767, 32768 }, { 65535, 65535 }, { 1000, 1999 },
        { 49152, 65535 }, { 3, 60000 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(big); i++) {
        check_range(big[i][0], big[i][1]);
    }
    struct compile_port_mask m[COMPILE_MAX_PORT_MASKS];
    assert_int_equal(compile_port_range_masks(1, 65534, m), 30);
    assert_int_equal(compile_port_range_masks(0, 65535, m), 1);
    assert_int_equal(m[0].mask, 0);
    assert_int_equal(compile_port_range_masks(80, 83, m), 1);
    assert_int_equal(m[0].value, 80);
    assert_int_equal(m[0].mask, 0xfffc);
}

/* --- pipeline ------------------------------------------------------------------ */

static const char small_yaml[] =
    "hosts:\n"
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n"
    "switches:\n"
    "  - {name: net, cidr: 10.1.0.0/24, vni: 100}\n"
    "ports:\n"
    "  - {name: web1, host: hv1, switch: net, ip: 10.1.0.11,"
    " mac: '0a:00:00:00:01:11', security_groups: [ssh, web]}\n"
    "  - {name: app1, host: hv2, switch: net, ip: 10.1.0.21,"
    " mac: '0a:00:00:00:01:21', security_groups: [app]}\n"
    "  - {name: plain1, host: hv1, switch: net, ip: 10.1.0.31,"
    " mac: '0a:00:00:00:01:31'}\n"
    "security_groups:\n"
    "  - name: ssh\n"
    "    ingress:\n"
    "      - {protocol: tcp, ports: 22, action: deny}\n"
    "  - name: web\n"
    "    ingress:\n"
    "      - {protocol: tcp, ports: \"22-23\","
    " remote_cidrs: [10.1.0.0/24, 10.2.0.0/24]}\n"
    "      - {protocol: tcp, ports: \"80-84\","
    " remote_cidrs: [10.1.0.0/24, 10.2.0.0/24]}\n"
    "      - {protocol: udp, ports: 53, remote_group: app, action: reject}\n"
    "      - {protocol: icmp, icmp_type: 8}\n"
    "    egress:\n"
    "      - {protocol: any}\n"
    "  - name: app\n"
    "    ingress:\n"
    "      - {protocol: tcp, ports: 8080, remote_group: web}\n";

static uint32_t
ofport(const struct compiled_host *h, const char *port)
{
    for (size_t i = 0; i < h->n_ports; i++) {
        if (!strcmp(h->ports[i].name, port)) {
            return h->ports[i].ofport;
        }
    }
    fail_msg("no port %s on %s", port, h->name);
    return 0;
}

/* Flows of 'h' in 'table' matching reg14/reg15 = 'o' ('reg' "reg14"). */
static size_t
count_port_table(const struct compiled_host *h, unsigned int table,
                 unsigned int reg, uint32_t o)
{
    size_t n = 0;
    for (size_t i = 0; i < h->flows.n; i++) {
        const struct flow *f = &h->flows.flows[i];
        const struct flow_field *ff = flow_match_get(&f->match, reg);
        n += f->table == table && ff && ff->value == o;
    }
    return n;
}

static void
test_small_policy(void **state)
{
    (void) state;
    struct topo *t = compile_test_load("sg.yaml", small_yaml);
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *hv1 = compile_test_host(r, "hv1");
    const struct compiled_host *hv2 = compile_test_host(r, "hv2");
    uint32_t w = ofport(hv1, "web1"), p = ofport(hv1, "plain1");
    uint32_t a = ofport(hv2, "app1");
    uint32_t zw = 0xc000 + w;

    /* Every port: port security -> 20, local delivery -> 60; 20 and 60
     * pass ports without groups on. */
    compile_test_expect_flow(hv1, xasprintf("table=10, priority=100,"
        "dl_src=0a:00:00:00:01:31,dl_type=0x800,nw_src=10.1.0.31,"
        "reg14=%#x actions=resubmit(,20)", p));
    compile_test_expect_flow(hv1, xasprintf("table=10, priority=100,"
        "dl_src=0a:00:00:00:01:11,dl_type=0x806,arp_spa=10.1.0.11,"
        "arp_sha=0a:00:00:00:01:11,reg14=%#x actions=resubmit(,20)", w));
    compile_test_expect_flow(hv1, xasprintf("table=30, priority=100,"
        "metadata=0x64,dl_dst=0a:00:00:00:01:31 actions=set_field:%#x->reg15,"
        "resubmit(,60)", p));
    compile_test_expect_flow(hv1, xasprintf("table=20, priority=0 "
                                            "actions=resubmit(,30)"));
    compile_test_expect_flow(hv1, xasprintf("table=60, priority=0 "
                                            "actions=resubmit(,70)"));
    assert_int_equal(count_port_table(hv1, TBL_ACL_IN, FF_REG14, p), 0);
    assert_int_equal(count_port_table(hv1, TBL_ACL_OUT, FF_REG15, p), 0);

    /* web1: conntrack in its zone, both directions. */
    compile_test_expect_flow(hv1, xasprintf("table=20, priority=100,"
        "dl_type=0x800,reg14=%#x actions=set_field:0x0->reg6,"
        "set_field:0x0->reg7,ct(table=21,zone=%u)", w, zw));
    compile_test_expect_flow(hv1, xasprintf("table=60, priority=100,"
        "dl_type=0x800,reg15=%#x actions=set_field:0x0->reg6,"
        "set_field:0x0->reg7,ct(table=61,zone=%u)", w, zw));
    compile_test_expect_flow(hv1, xasprintf("table=20, priority=110,"
        "dl_type=0x800,nw_proto=17,udp_src=68,udp_dst=67,reg14=%#x "
        "actions=resubmit(,30)", w));
    compile_test_expect_flow(hv1, xasprintf("table=60, priority=110,"
        "in_port=4294967293,reg15=%#x actions=resubmit(,70)", w));
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=65000,"
        "reg15=%#x,ct_state=0x30/0x30 actions=drop", w));
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=64000,"
        "reg15=%#x,ct_state=0x22/0x22 actions=resubmit(,70)", w));
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=64000,"
        "reg15=%#x,ct_state=0x24/0x24 actions=resubmit(,70)", w));
    compile_test_expect_flow(hv1, xasprintf("table=21, priority=64000,"
        "reg14=%#x,ct_state=0x22/0x22 actions=resubmit(,30)", w));

    /* Group ssh (slot 0) denies tcp 22: that moves on to group web
     * (slot 1), whose first rule allows 22-23 (one prefix) from two
     * cidrs: a deny in one group does not override another's allow. */
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=30000,"
        "dl_type=0x800,nw_proto=6,tcp_dst=22,reg6=0x0,reg15=%#x "
        "actions=set_field:0x1->reg6,resubmit(,61)", w));
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=2,"
        "reg6=0x0,reg15=%#x actions=set_field:0x1->reg6,resubmit(,61)", w));
    for (int k = 1; k <= 2; k++) {
        compile_test_expect_flow(hv1, xasprintf("table=61, priority=30000,"
            "dl_type=0x800,nw_proto=6,nw_src=10.%d.0.0/255.255.255.0,"
            "tcp_dst=22/65534,reg6=0x1,reg15=%#x actions=ct(commit,zone=%u),"
            "resubmit(,70)", k, w, zw));
    }
    /* 80-84 is two prefixes x two cidrs: a conjunction, 2 + 2 + 1. */
    uint32_t id = w << 20 | 0 << 19 | 1 << 15 | 1;
    for (int k = 1; k <= 2; k++) {
        compile_test_expect_flow(hv1, xasprintf("table=61, priority=29999,"
            "dl_type=0x800,nw_proto=6,nw_src=10.%d.0.0/255.255.255.0,"
            "reg6=0x1,reg15=%#x actions=conjunction(%u,1/2)", k, w, id));
    }
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=29999,"
        "dl_type=0x800,nw_proto=6,tcp_dst=80/65532,reg6=0x1,reg15=%#x "
        "actions=conjunction(%u,2/2)", w, id));
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=29999,"
        "dl_type=0x800,nw_proto=6,tcp_dst=84,reg6=0x1,reg15=%#x "
        "actions=conjunction(%u,2/2)", w, id));
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=29999,"
        "dl_type=0x800,conj_id=%u actions=ct(commit,zone=%u),"
        "resubmit(,70)", id, zw));
    /* Reject: from group app's member, noted in reg7; past the last
     * group the REJECT packet action (id 4000). */
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=29998,"
        "dl_type=0x800,nw_proto=17,nw_src=10.1.0.21,udp_dst=53,reg6=0x1,"
        "reg15=%#x actions=set_field:0x1->reg7,set_field:0x2->reg6,"
        "resubmit(,61)", w));
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=29997,"
        "dl_type=0x800,nw_proto=1,icmp_type=8,reg6=0x1,reg15=%#x "
        "actions=ct(commit,zone=%u),resubmit(,70)", w, zw));
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=2,"
        "reg6=0x1,reg15=%#x actions=set_field:0x2->reg6,resubmit(,61)", w));
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=2,"
        "reg6=0x2,reg7=0x1,reg15=%#x actions=controller(userdata=0fa0)",
        w));
    /* Past every group: the port's default deny, under its own cookie. */
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=1,"
        "reg15=%#x actions=drop", w));
    compile_test_expect_flow(hv1, xasprintf("table=21, priority=1,"
        "reg14=%#x actions=drop", w));
    /* 3 conntrack states + 1 + 2 + 4 clauses + 1 + 1 rules + 2 next + 1
     * reject + 1 default deny match reg15 (the conj_id flow does not). */
    assert_int_equal(count_port_table(hv1, TBL_ACL_OUT_RULES, FF_REG15, w),
                     16);
    bool reject = false;
    for (size_t i = 0; i < hv1->n_actions; i++) {
        if (hv1->actions[i].id == 4000) {
            /* The agent injects the answer into web1's switch. */
            assert_int_equal(hv1->actions[i].kind, COMPILE_PA_REJECT);
            assert_int_equal(hv1->actions[i].network_vni, 100);
            reject = true;
        }
    }
    assert_true(reject);
    /* Egress of web1: ssh has none (next group), web allows any. */
    compile_test_expect_flow(hv1, xasprintf("table=21, priority=30000,"
        "dl_type=0x800,reg6=0x1,reg14=%#x actions=ct(commit,zone=%u),"
        "resubmit(,30)", w, zw));

    /* app1: ingress tcp 8080 from group web's member 10.1.0.11 only;
     * no egress rule at all: default deny (the conntrack state flows and
     * the default deny), and no REJECT action on hv2. */
    compile_test_expect_flow(hv2, xasprintf("table=61, priority=30000,"
        "dl_type=0x800,nw_proto=6,nw_src=10.1.0.11,tcp_dst=8080,reg6=0x0,"
        "reg15=%#x actions=ct(commit,zone=%u),resubmit(,70)", a,
        0xc000 + a));
    assert_int_equal(count_port_table(hv2, TBL_ACL_OUT_RULES, FF_REG15, a),
                     5);
    assert_int_equal(count_port_table(hv2, TBL_ACL_IN_RULES, FF_REG14, a),
                     4);
    for (size_t i = 0; i < hv2->flows.n; i++) {
        const struct flow *f = &hv2->flows.flows[i];
        for (size_t k = 0; f->table == TBL_ACL_IN_RULES && k < f->n_actions;
             k++) {
            assert_int_not_equal(f->actions[k].type, FA_CT);
        }
    }
    for (size_t i = 0; i < hv2->n_actions; i++) {
        assert_int_not_equal(hv2->actions[i].kind, COMPILE_PA_REJECT);
    }

    /* Provenance of a rule flow: the group's rule and its line. */
    struct compiler *c = compiler_create();
    assert_int_equal(compiler_apply(c, t, r, NULL), 0);
    struct compile_provenance pv;
    uint64_t ck = 0;
    for (size_t i = 0; i < hv1->flows.n; i++) {
        const struct flow_field *ff
            = flow_match_get(&hv1->flows.flows[i].match, FF_ICMP_TYPE);
        if (ff) {
            ck = hv1->flows.flows[i].cookie;
        }
    }
    assert_true(compiler_provenance(c, ck, &pv));
    assert_string_equal(pv.object, "security_groups.web.ingress[3]");
    assert_string_equal(pv.kind, "security_group");
    assert_int_equal(pv.line, 19);
    compiler_destroy(c);
    compile_result_destroy(r);
    topo_destroy(t);
}

/* A rule with 50 cidrs and a port range of many prefixes compiles to
 * 50 + prefixes + 1 flows per port and direction, not 50 x prefixes. */
static void
test_linear(void **state)
{
    (void) state;
    char *cidrs = xstrdup("");
    for (int i = 0; i < 50; i++) {
        char *n = xasprintf("%s%s10.%d.0.0/16", cidrs, i ? ", " : "", 100 + i);
        free(cidrs);
        cidrs = n;
    }
    char *yaml = xasprintf(
        "hosts:\n"
        "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
        "switches:\n"
        "  - {name: net, cidr: 10.1.0.0/24}\n"
        "ports:\n"
        "  - {name: p1, host: hv1, switch: net, ip: 10.1.0.11,"
        " security_groups: [big]}\n"
        "security_groups:\n"
        "  - name: big\n"
        "    ingress:\n"
        "      - {protocol: tcp, ports: \"3-60000\", remote_cidrs: [%s]}\n"
        "    egress:\n"
        "      - {protocol: udp, ports: \"3-60000\", remote_cidrs: [%s]}\n",
        cidrs, cidrs);
    struct topo *t = compile_test_load("big.yaml", yaml);
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *hv1 = compile_test_host(r, "hv1");
    uint32_t o = ofport(hv1, "p1");
    struct compile_port_mask m[COMPILE_MAX_PORT_MASKS];
    size_t nm = compile_port_range_masks(3, 60000, m);
    assert_true(nm >= 20);

    /* 3 conntrack state flows + clauses + the conj_id flow + the default
     * deny. */
    size_t in = count_port_table(hv1, TBL_ACL_OUT_RULES, FF_REG15, o);
    size_t conj_in = 0;
    for (size_t i = 0; i < hv1->flows.n; i++) {
        const struct flow *f = &hv1->flows.flows[i];
        if (f->table == TBL_ACL_OUT_RULES
            && flow_match_get(&f->match, FF_CONJ_ID)) {
            /* ct(commit) needs ip in the flow's own match, or OVS
             * refuses it (OFPBAC_MATCH_INCONSISTENT). */
            const struct flow_field *et = flow_match_get(&f->match,
                                                         FF_ETH_TYPE);
            assert_non_null(et);
            assert_int_equal(et->value, 0x0800);
            conj_in++;
        }
    }
    assert_int_equal(conj_in, 1);
    assert_int_equal(in + conj_in, 3 + 50 + nm + 1 + 1);
    assert_int_equal(count_port_table(hv1, TBL_ACL_IN_RULES, FF_REG14, o)
                     + 1, 3 + 50 + nm + 1 + 1);
    assert_true(in + conj_in < 50 * nm / 10);
    free(yaml);
    free(cidrs);
    compile_result_destroy(r);
    topo_destroy(t);
}

/* A port joining group app on hv3 changes hv3 (its own flows) and hv1
 * (db1's rule names app as remote group), not hv2 (app1 carries app but
 * no rule of its groups names app). */
static const char remote_yaml[] =
    "hosts:\n"
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n"
    "  - {name: hv3, tunnel_ip: 10.200.0.13/24}\n"
    "switches:\n"
    "  - {name: net, cidr: 10.1.0.0/24}\n"
    "ports:\n"
    "  - {name: db1, host: hv1, switch: net, ip: 10.1.0.11,"
    " security_groups: [db]}\n"
    "  - {name: app1, host: hv2, switch: net, ip: 10.1.0.21,"
    " security_groups: [app]}\n"
    "  - {name: x1, host: hv3, switch: net, ip: 10.1.0.31,"
    " security_groups: [%s]}\n"
    "security_groups:\n"
    "  - name: app\n"
    "    egress:\n"
    "      - {protocol: any}\n"
    "  - name: db\n"
    "    ingress:\n"
    "      - {protocol: tcp, ports: 5432, remote_group: app}\n"
    "  - name: web\n"
    "    ingress:\n"
    "      - {protocol: tcp, ports: 80}\n";

static void
test_remote_group_join(void **state)
{
    (void) state;
    char *y1 = xasprintf(remote_yaml, "web");
    char *y2 = xasprintf(remote_yaml, "app, web");
    struct topo *t1 = compile_test_load("r.yaml", y1);
    struct topo *t2 = compile_test_load("r.yaml", y2);
    struct compiler *c = compiler_create();
    struct compile_delta d;

    assert_int_equal(compiler_apply(c, t1, NULL, NULL), 0);
    compile_delta_init(&d);
    assert_int_equal(compiler_apply(c, t2, NULL, &d), 0);
    assert_int_equal(d.n_hosts, 2);
    assert_string_equal(d.hosts[0].name, "hv1");
    assert_string_equal(d.hosts[1].name, "hv3");
    /* hv1 gains exactly the allow from x1's address. */
    assert_int_equal(d.hosts[0].added.n, 1);
    assert_int_equal(d.hosts[0].removed.n + d.hosts[0].modified.n, 0);
    const struct flow *f = &d.hosts[0].added.flows[0];
    assert_int_equal(f->table, TBL_ACL_OUT_RULES);
    assert_int_equal(flow_match_get(&f->match, FF_IPV4_SRC)->value,
                     0x0a01001fu);
    compile_delta_destroy(&d);

    /* Leaving again removes it; an address change of a member too. */
    compile_delta_init(&d);
    assert_int_equal(compiler_apply(c, t1, NULL, &d), 0);
    assert_int_equal(d.n_hosts, 2);
    assert_int_equal(d.hosts[0].removed.n, 1);
    compile_delta_destroy(&d);

    /* Rule changes of a group reach only its members' hosts. */
    char *y3 = xasprintf(remote_yaml, "web");
    char *at = strstr(y3, "ports: 80}");
    at[7] = '8';
    at[8] = '1';
    struct topo *t3 = compile_test_load("r.yaml", y3);
    compile_delta_init(&d);
    assert_int_equal(compiler_apply(c, t3, NULL, &d), 0);
    assert_int_equal(d.n_hosts, 1);
    assert_string_equal(d.hosts[0].name, "hv3");
    assert_int_equal(d.hosts[0].modified.n + d.hosts[0].added.n, 1);
    compile_delta_destroy(&d);

    compiler_destroy(c);
    topo_destroy(t1);
    topo_destroy(t2);
    topo_destroy(t3);
    free(y1);
    free(y2);
    free(y3);
}

/* REJECT packet actions: one per switch with a rejecting port on the
 * host, 4000 + k by VNI, carrying the switch's VNI; a switch with a lower
 * VNI gaining a rejecting port moves the other's id, and its port's
 * reject flow follows. */
static const char reject_yaml[] =
    "hosts:\n"
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
    "switches:\n"
    "  - {name: a, cidr: 10.1.0.0/24, vni: 300}\n"
    "  - {name: b, cidr: 10.2.0.0/24, vni: 200}\n"
    "ports:\n"
    "  - {name: pa, host: hv1, switch: a, ip: 10.1.0.11,"
    " security_groups: [rej]}\n"
    "  - {name: pb, host: hv1, switch: b, ip: 10.2.0.11,"
    " security_groups: [%s]}\n"
    "security_groups:\n"
    "  - name: open\n"
    "    ingress:\n"
    "      - {protocol: any}\n"
    "  - name: rej\n"
    "    ingress:\n"
    "      - {protocol: udp, action: reject}\n";

static uint16_t
reject_userdata(const struct compiled_host *h, uint32_t o)
{
    for (size_t i = 0; i < h->flows.n; i++) {
        const struct flow *f = &h->flows.flows[i];
        const struct flow_field *ff = flow_match_get(&f->match, FF_REG15);
        if (f->table == TBL_ACL_OUT_RULES && ff && ff->value == o
            && f->n_actions == 1 && f->actions[0].type == FA_CONTROLLER) {
            return (uint16_t) f->actions[0].value;
        }
    }
    return 0;
}

static void
test_reject_ids(void **state)
{
    (void) state;
    char *y1 = xasprintf(reject_yaml, "open");
    char *y2 = xasprintf(reject_yaml, "rej");
    struct topo *t1 = compile_test_load("rej.yaml", y1);
    struct topo *t2 = compile_test_load("rej.yaml", y2);
    struct compiler *c = compiler_create();
    struct compiled_packet_action *pa;
    size_t n;
    struct flow_set fs;

    assert_int_equal(compiler_apply(c, t1, NULL, NULL), 0);
    struct compile_result *r1 = compile_topology(t1, NULL);
    const struct compiled_host *h1 = compile_test_host(r1, "hv1");
    assert_int_equal(reject_userdata(h1, ofport(h1, "pa")), 4000);
    assert_int_equal(reject_userdata(h1, ofport(h1, "pb")), 0);

    struct compile_delta d;
    compile_delta_init(&d);
    assert_int_equal(compiler_apply(c, t2, NULL, &d), 0);
    assert_int_equal(d.n_hosts, 1);
    assert_true(d.hosts[0].config_changed);
    compile_delta_destroy(&d);
    assert_true(compiler_host_actions(c, "hv1", &pa, &n));
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        if (pa[i].kind == COMPILE_PA_REJECT) {
            /* b (vni 200) first, then a (vni 300). */
            assert_int_equal(pa[i].id, 4000 + found);
            assert_int_equal(pa[i].network_vni, found ? 300 : 200);
            found++;
        }
        compiled_packet_action_clear(&pa[i]);
    }
    free(pa);
    assert_int_equal(found, 2);
    /* The engine's flows equal a full compile's: pa moved to 4001. */
    struct compile_result *r2 = compile_topology(t2, r1);
    const struct compiled_host *h2 = compile_test_host(r2, "hv1");
    assert_int_equal(reject_userdata(h2, ofport(h2, "pa")), 4001);
    assert_int_equal(reject_userdata(h2, ofport(h2, "pb")), 4000);
    flow_set_init(&fs);
    assert_true(compiler_host_flows(c, "hv1", &fs));
    assert_true(flow_set_equal(&fs, &h2->flows));
    flow_set_destroy(&fs);

    compiler_destroy(c);
    compile_result_destroy(r1);
    compile_result_destroy(r2);
    topo_destroy(t1);
    topo_destroy(t2);
    free(y1);
    free(y2);
}

/* Logged rules: an allow logs in its verdict (first packet of each
 * connection), a deny or reject notes itself in reg5 and the packet is
 * logged past the last group, under the rule's own cookie, only when no
 * group allowed it; the host gets the LOG packet action, a host without
 * logged rules does not. */
static const char log_yaml[] =
    "hosts:\n"
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n"
    "switches:\n"
    "  - {name: a, cidr: 10.1.0.0/24, vni: 100}\n"
    "ports:\n"
    "  - {name: p1, host: hv1, switch: a, ip: 10.1.0.11,"
    " security_groups: [logged, other]}\n"
    "  - {name: p2, host: hv2, switch: a, ip: 10.1.0.12,"
    " security_groups: [other]}\n"
    "security_groups:\n"
    "  - name: logged\n"
    "    ingress:\n"
    "      - {protocol: tcp, ports: 22, action: deny, log: true}\n"
    "      - {protocol: tcp, ports: 80, log: true}\n"
    "      - {protocol: udp, ports: 53, action: reject, log: true}\n"
    "  - name: other\n"
    "    ingress:\n"
    "      - {protocol: icmp}\n"
    "    egress:\n"
    "      - {protocol: any}\n";

static void
test_log(void **state)
{
    (void) state;
    struct topo *t = compile_test_load("log.yaml", log_yaml);
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *hv1 = compile_test_host(r, "hv1");
    const struct compiled_host *hv2 = compile_test_host(r, "hv2");
    uint32_t w = ofport(hv1, "p1"), zw = 0xc000 + w;

    /* Ingress of p1 logs denials: reg5 starts at 0; egress does not. */
    compile_test_expect_flow(hv1, xasprintf("table=60, priority=100,"
        "dl_type=0x800,reg15=%#x actions=set_field:0x0->reg6,"
        "set_field:0x0->reg7,set_field:0x0->reg5,ct(table=61,zone=%u)",
        w, zw));
    compile_test_expect_flow(hv1, xasprintf("table=20, priority=100,"
        "dl_type=0x800,reg14=%#x actions=set_field:0x0->reg6,"
        "set_field:0x0->reg7,ct(table=21,zone=%u)", w, zw));
    /* The deny notes tag 1 (slot 0, rule 0), the reject tag 3. */
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=30000,"
        "dl_type=0x800,nw_proto=6,tcp_dst=22,reg6=0x0,reg15=%#x "
        "actions=set_field:0x1->reg5,set_field:0x1->reg6,resubmit(,61)", w));
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=29998,"
        "dl_type=0x800,nw_proto=17,udp_dst=53,reg6=0x0,reg15=%#x "
        "actions=set_field:0x3->reg5,set_field:0x1->reg7,"
        "set_field:0x1->reg6,resubmit(,61)", w));
    /* The allow logs as it commits. */
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=29999,"
        "dl_type=0x800,nw_proto=6,tcp_dst=80,reg6=0x0,reg15=%#x "
        "actions=ct(commit,zone=%u),controller(userdata=ffff),"
        "resubmit(,70)", w, zw));
    /* The last group moves on too, so that past it the notes are read. */
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=2,"
        "reg6=0x1,reg15=%#x actions=set_field:0x2->reg6,resubmit(,61)", w));
    const char *finals[] = {
        "reg5=0x1,reg6=0x2,reg7=0x0,reg15=%#x actions=controller(userdata=ffff)",
        "reg5=0x1,reg6=0x2,reg7=0x1,reg15=%#x actions=controller("
        "userdata=0fa0),controller(userdata=ffff)",
        "reg5=0x3,reg6=0x2,reg7=0x0,reg15=%#x actions=controller(userdata=ffff)",
        "reg5=0x3,reg6=0x2,reg7=0x1,reg15=%#x actions=controller("
        "userdata=0fa0),controller(userdata=ffff)",
    };
    for (size_t i = 0; i < ARRAY_SIZE(finals); i++) {
        char *m = xasprintf(finals[i], w);
        compile_test_expect_flow(hv1, xasprintf("table=61, priority=3,%s", m));
        free(m);
    }

    /* The final flows carry the cookies of their rules. */
    struct compiler *c = compiler_create();
    assert_int_equal(compiler_apply(c, t, r, NULL), 0);
    size_t n_final = 0;
    for (size_t i = 0; i < hv1->flows.n; i++) {
        const struct flow *f = &hv1->flows.flows[i];
        const struct flow_field *tag = flow_match_get(&f->match, FF_REG5);
        struct compile_sg_rule_info info;
        if (f->table != TBL_ACL_OUT_RULES || !tag) {
            continue;
        }
        assert_true(compiler_sg_rule(c, f->cookie, &info));
        assert_string_equal(info.group, "logged");
        assert_string_equal(info.direction, "ingress");
        assert_int_equal(info.index, tag->value == 1 ? 0 : 2);
        assert_string_equal(info.action, tag->value == 1 ? "deny" : "reject");
        assert_true(info.log);
        assert_int_equal(info.line, tag->value == 1 ? 12 : 14);
        n_final++;
    }
    assert_int_equal(n_final, 4);

    /* LOG action on hv1 only. */
    bool log1 = false;
    for (size_t i = 0; i < hv1->n_actions; i++) {
        log1 |= hv1->actions[i].kind == COMPILE_PA_LOG
                && hv1->actions[i].id == 0xffff;
    }
    assert_true(log1);
    for (size_t i = 0; i < hv2->n_actions; i++) {
        assert_int_not_equal(hv2->actions[i].kind, COMPILE_PA_LOG);
    }
    compiler_destroy(c);
    compile_result_destroy(r);
    topo_destroy(t);
}

/* The example: every port filtered, db1's ssh rule rejects, web's other
 * traffic to db is dropped, both logged. */
static void
test_three_tier_sg(void **state)
{
    (void) state;
    struct topo *t = compile_test_load_example("three-tier-sg.yaml");
    struct compile_result *r = compile_topology(t, NULL);
    for (size_t h = 0; h < r->n_hosts; h++) {
        const struct compiled_host *ch = &r->hosts[h];
        for (size_t i = 0; i < ch->n_ports; i++) {
            assert_true(count_port_table(ch, TBL_ACL_IN, FF_REG14,
                                         ch->ports[i].ofport) >= 1);
            /* conntrack entry, ARP, other drop, the agent's answers. */
            assert_true(count_port_table(ch, TBL_ACL_OUT, FF_REG15,
                                         ch->ports[i].ofport) == 4);
        }
    }
    const struct compiled_host *hv3 = compile_test_host(r, "hv3");
    uint32_t db1 = ofport(hv3, "db1");
    compile_test_expect_flow(hv3, xasprintf("table=61, priority=30000,"
        "dl_type=0x800,nw_proto=6,nw_src=10.1.0.0/255.255.255.0,tcp_dst=22,"
        "reg6=0x0,reg15=%#x actions=set_field:0x1->reg5,"
        "set_field:0x1->reg7,set_field:0x1->reg6,resubmit(,61)", db1));
    /* Anything else from the web network: dropped and logged. */
    compile_test_expect_flow(hv3, xasprintf("table=61, priority=29998,"
        "dl_type=0x800,nw_src=10.1.0.0/255.255.255.0,reg6=0x0,reg15=%#x "
        "actions=set_field:0x3->reg5,set_field:0x1->reg6,resubmit(,61)",
        db1));
    for (int k = 11; k <= 12; k++) {
        compile_test_expect_flow(hv3, xasprintf("table=61, priority=29999,"
            "dl_type=0x800,nw_proto=6,nw_src=10.2.0.%d,tcp_dst=5432,"
            "reg6=0x0,reg15=%#x actions=ct(commit,zone=%u),resubmit(,70)",
            k, db1, 0xc000 + db1));
    }
    compile_result_destroy(r);
    topo_destroy(t);
}

/* Non-IPv4 traffic and floods.  A filtered port passes ARP and drops any
 * other EtherType in both directions; a switch's floods reach a filtered
 * port through its ingress ACL (reg15 + table 60), an unfiltered one
 * directly; a port gaining or losing its groups changes the floods of its
 * host only. */
static const char flood_yaml[] =
    "hosts:\n"
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n"
    "switches:\n"
    "  - {name: net, cidr: 10.1.0.0/24}\n"
    "ports:\n"
    "  - {name: a1, host: hv1, switch: net, ip: 10.1.0.11,"
    " security_groups: [web]}\n"
    "  - {name: a2, host: hv1, switch: net, ip: 10.1.0.12%s}\n"
    "  - {name: b1, host: hv2, switch: net, ip: 10.1.0.21,"
    " security_groups: [web]}\n"
    "security_groups:\n"
    "  - name: web\n"
    "    ingress:\n"
    "      - {protocol: udp, ports: 5000}\n";

/* The formatted flood of 'h' from local ports (reg13=0) or from the
 * tunnel (reg13=1); heap. */
static char *
flood_of(const struct compiled_host *h, unsigned int reg13)
{
    for (size_t i = 0; i < h->flows.n; i++) {
        const struct flow *f = &h->flows.flows[i];
        const struct flow_field *dst = flow_match_get(&f->match, FF_ETH_DST);
        const struct flow_field *r13 = flow_match_get(&f->match, FF_REG13);
        if (f->table == TBL_L2 && dst && dst->mask == 0x010000000000ULL
            && r13 && r13->value == reg13) {
            return flow_format(f);
        }
    }
    fail_msg("%s has no flood with reg13=%u", h->name, reg13);
    return NULL;
}

static void
test_non_ip_and_floods(void **state)
{
    (void) state;
    char *y1 = xasprintf(flood_yaml, "");
    char *y2 = xasprintf(flood_yaml, ", security_groups: [web]");
    struct topo *t1 = compile_test_load("f.yaml", y1);
    struct topo *t2 = compile_test_load("f.yaml", y2);
    struct compile_result *r = compile_topology(t1, NULL);
    const struct compiled_host *hv1 = compile_test_host(r, "hv1");
    uint32_t a1 = ofport(hv1, "a1"), a2 = ofport(hv1, "a2");

    compile_test_expect_flow(hv1, xasprintf("table=20, priority=90,"
        "dl_type=0x806,reg14=%#x actions=resubmit(,30)", a1));
    compile_test_expect_flow(hv1, xasprintf("table=20, priority=80,"
        "reg14=%#x actions=drop", a1));
    compile_test_expect_flow(hv1, xasprintf("table=60, priority=90,"
        "dl_type=0x806,reg15=%#x actions=resubmit(,70)", a1));
    compile_test_expect_flow(hv1, xasprintf("table=60, priority=80,"
        "reg15=%#x actions=drop", a1));
    /* The unfiltered a2 has no ACL flows at all. */
    assert_int_equal(count_port_table(hv1, TBL_ACL_OUT, FF_REG15, a2), 0);
    assert_int_equal(count_port_table(hv1, TBL_ACL_IN, FF_REG14, a2), 0);

    char *via_acl = xasprintf("set_field:%#x->reg15,resubmit(,60)", a1);
    char *direct = xasprintf("output:%u", a2);
    char *a1_out = xasprintf("output:%u", a1);
    for (unsigned int r13 = 0; r13 <= 1; r13++) {
        char *fl = flood_of(hv1, r13);
        assert_non_null(strstr(fl, via_acl));
        assert_non_null(strstr(fl, direct));
        assert_null(strstr(fl, a1_out));
        free(fl);
    }
    compile_result_destroy(r);

    /* a2 gains group web: hv1's two floods change (and a2's ACL flows
     * appear); hv2 (b1 only) sees no delta. */
    struct compiler *c = compiler_create();
    struct compile_delta d;
    assert_int_equal(compiler_apply(c, t1, NULL, NULL), 0);
    compile_delta_init(&d);
    assert_int_equal(compiler_apply(c, t2, NULL, &d), 0);
    assert_int_equal(d.n_hosts, 1);
    assert_string_equal(d.hosts[0].name, "hv1");
    size_t n_floods = 0;
    char *a2_acl = xasprintf("set_field:%#x->reg15,resubmit(,60)", a2);
    for (size_t i = 0; i < d.hosts[0].modified.n; i++) {
        const struct flow *f = &d.hosts[0].modified.flows[i];
        if (f->table == TBL_L2) {
            char *s = flow_format(f);
            assert_non_null(strstr(s, a2_acl));
            assert_null(strstr(s, direct));
            free(s);
            n_floods++;
        }
    }
    assert_int_equal(n_floods, 2);
    assert_true(d.hosts[0].added.n >= 4);
    compile_delta_destroy(&d);

    /* And back: a2 is delivered to directly again. */
    compile_delta_init(&d);
    assert_int_equal(compiler_apply(c, t1, NULL, &d), 0);
    assert_int_equal(d.n_hosts, 1);
    n_floods = 0;
    for (size_t i = 0; i < d.hosts[0].modified.n; i++) {
        const struct flow *f = &d.hosts[0].modified.flows[i];
        if (f->table == TBL_L2) {
            char *s = flow_format(f);
            assert_non_null(strstr(s, direct));
            free(s);
            n_floods++;
        }
    }
    assert_int_equal(n_floods, 2);
    compile_delta_destroy(&d);

    compiler_destroy(c);
    free(via_acl);
    free(direct);
    free(a1_out);
    free(a2_acl);
    topo_destroy(t1);
    topo_destroy(t2);
    free(y1);
    free(y2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_port_ranges),
        cmocka_unit_test(test_small_policy),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_remote_group_join),
        cmocka_unit_test(test_reject_ids),
        cmocka_unit_test(test_log),
        cmocka_unit_test(test_three_tier_sg),
        cmocka_unit_test(test_non_ip_and_floods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
