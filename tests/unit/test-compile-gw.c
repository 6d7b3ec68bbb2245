/* test-compile-gw.c — external networks, router gateways and NAT in the
 * pipeline (docs/pipeline.md, "External networks and NAT").
 *
 * Exact flows on the gateway host (localnet classify/output, the NAT
 * stages 45-47, inbound DNAT / un-NAT / drop in table 40, ARP answers for
 * the gateway ip and the floating ip); the tunnel to the gateway host from
 * another host; the localnet port bound on the gateway host only; a
 * topology without gateway unchanged; incremental changes of snat, fips
 * and forwards recompute only the gateway host's block; provenance; an
 * unknown provider router MAC (ARP resolve and learn) and a learned one.
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
#include "controller/topo.h"
#include "tests/unit/support/compile-test.h"
#include "lib/util.h"

#define GW_YAML_HEAD \
    "hosts:\n" \
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n" \
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n" \
    "switches:\n" \
    "  - {name: app, cidr: 10.2.0.0/24, vni: 200}\n" \
    "  - {name: web, cidr: 10.1.0.0/24, vni: 100}\n" \
    "external_networks:\n" \
    "  - {name: internet, cidr: 203.0.113.0/24, gateway_ip: 203.0.113.1,\n" \
    "     gateway_mac: '0a:00:00:00:00:fe', host: hv1, iface: ext0," \
    " vni: 900}\n" \
    "ports:\n" \
    "  - {name: app1, host: hv2, switch: app, ip: 10.2.0.11," \
    " mac: '0a:00:00:00:02:11'}\n" \
    "  - {name: web1, host: hv2, switch: web, ip: 10.1.0.11," \
    " mac: '0a:00:00:00:01:11'}\n" \
    "routers:\n" \
    "  - name: r1\n" \
    "    ports:\n" \
    "      - {switch: app, ip: 10.2.0.1/24, mac: '0a:00:00:00:ff:02'}\n" \
    "      - {switch: web, ip: 10.1.0.1/24, mac: '0a:00:00:00:ff:01'}\n" \
    "    gateway: {network: internet, ip: 203.0.113.10," \
    " mac: '0a:00:00:00:ff:0e'}\n"

static const char gw_yaml[] = GW_YAML_HEAD
    "    snat: [web]\n"
    "    floating_ips:\n"
    "      - {ip: 203.0.113.20, port: app1}\n"
    "    port_forwards:\n"
    "      - {protocol: tcp, port: 8080, to: web1, to_port: 80}\n";

static const struct compiled_port *
find_port(const struct compiled_host *h, const char *port)
{
    for (size_t i = 0; i < h->n_ports; i++) {
        if (!strcmp(h->ports[i].name, port)) {
            return &h->ports[i];
        }
    }
    return NULL;
}

static unsigned int
zone_of(const char *router)
{
    return 1 + (compile_test_router_md(router) & 0x7fff);
}

static void
test_gateway_host_flows(void **state)
{
    (void) state;
    struct topo *t = compile_test_load("gw.yaml", gw_yaml);
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *h1 = compile_test_host(r, "hv1");
    uint32_t md = compile_test_router_md("r1");
    unsigned int z = zone_of("r1");

    /* The localnet port is bound on hv1 only, without a MAC of its own. */
    const struct compiled_port *lp = find_port(h1, "localnet:internet");
    assert_non_null(lp);
    assert_string_equal(lp->iface, "ext0");
    assert_string_equal(lp->switch_name, "internet");
    assert_int_equal(lp->mac, 0);
    assert_true(lp->ofport >= 1 && lp->ofport <= 3999);
    assert_null(find_port(compile_test_host(r, "hv2"), "localnet:internet"));
    uint32_t o = lp->ofport;

    /* Localnet: no port security, straight into the external switch. */
    compile_test_expect_flow(h1, xasprintf("table=0, priority=100,in_port=%u actions="
                              "set_field:0x384->metadata,set_field:%#x->reg14,"
                                           "resubmit(,30)", o, o));
    compile_test_expect_flow(h1, xasprintf("table=70, priority=100,reg15=%#x actions="
                                           "output:%u", o, o));
    compile_test_expect_flow(h1, xasprintf("table=0, priority=100,in_port=4000,"
                              "tun_id=0x384 actions=set_field:0x384->metadata,"
                              "set_field:0x1->reg13,resubmit(,30)"));
    /* To the provider router: through the NAT stages. */
    compile_test_expect_flow(h1, xasprintf("table=30, priority=100,metadata=0x384,"
                                           "dl_dst=0a:00:00:00:00:fe actions="
                                           "resubmit(,45)"));
    /* Egress NAT (table 45). */
    compile_test_expect_flow(h1, xasprintf("table=45, priority=300,metadata=0x384,"
                              "dl_src=0a:00:00:00:ff:0e,dl_type=0x800,"
                              "nw_src=10.2.0.11 actions=ct(commit,table=46,"
                              "zone=%u,nat(src=203.0.113.20))", z));
    compile_test_expect_flow(h1, xasprintf("table=45, priority=250,metadata=0x384,"
                              "dl_src=0a:00:00:00:ff:0e,dl_type=0x800,"
                              "nw_src=203.0.113.10 actions=resubmit(,46)"));
    compile_test_expect_flow(h1, xasprintf("table=45, priority=200,metadata=0x384,"
                              "dl_src=0a:00:00:00:ff:0e,dl_type=0x800,"
                              "nw_src=10.1.0.0/255.255.255.0 actions="
                                           "ct(commit,table=46,zone=%u,"
                                           "nat(src=203.0.113.10))", z));
    compile_test_expect_flow(h1, xasprintf("table=45, priority=100,metadata=0x384,"
                              "dl_src=0a:00:00:00:ff:0e,dl_type=0x800 "
                              "actions=ct(table=47,zone=%u,nat)", z));
    /* app is not snat'ed: no flow for its subnet. */
    assert_int_equal(compile_test_count_table(h1, TBL_NAT_OUT), 4);
    compile_test_expect_flow(h1, xasprintf("table=46, priority=100,metadata=0x384 "
                              "actions=set_field:%#x->reg15,resubmit(,70)",
                                           o));
    compile_test_expect_flow(h1, xasprintf("table=47, priority=100,metadata=0x384,"
                              "ct_state=0x22/0x22 actions=resubmit(,46)"));
    compile_test_expect_flow(h1, xasprintf("table=47, priority=100,metadata=0x384,"
                              "ct_state=0x24/0x24 actions=resubmit(,46)"));
    assert_int_equal(compile_test_count_table(h1, TBL_NAT_OUT_REPLY), 2);

    /* Ingress (table 40, gateway port key 3). */
    compile_test_expect_flow(h1, xasprintf("table=40, priority=410,metadata=%#x,"
                              "dl_type=0x800,nw_proto=6,nw_dst=203.0.113.10,"
                              "tcp_dst=8080,reg14=0x3,ct_state=0x0/0x20 "
                              "actions=ct(commit,table=40,zone=%u,"
                                           "nat(dst=10.1.0.11:80))", md, z));
    compile_test_expect_flow(h1, xasprintf("table=40, priority=400,metadata=%#x,"
                              "dl_type=0x800,nw_dst=203.0.113.20,reg14=0x3,"
                              "ct_state=0x0/0x20 actions=ct(commit,table=40,"
                              "zone=%u,nat(dst=10.2.0.11))", md, z));
    compile_test_expect_flow(h1, xasprintf("table=40, priority=390,metadata=%#x,"
                              "dl_type=0x800,nw_dst=203.0.113.10,reg14=0x3,"
                              "ct_state=0x0/0x20 actions=ct(table=40,"
                                           "zone=%u,nat)", md, z));
    /* Nothing else from the outside gets in: not even a packet addressed
     * to an internal address through the gateway port's MAC. */
    compile_test_expect_flow(h1, xasprintf("table=40, priority=380,metadata=%#x,"
                              "dl_type=0x800,reg14=0x3,ct_state=0x0/0x20 "
                                           "actions=drop", md));
    compile_test_expect_flow(h1, xasprintf("table=40, priority=260,metadata=%#x,"
                              "dl_type=0x800,nw_dst=203.0.113.10,reg14=0x3,"
                              "ct_state=0x21/0x21 actions=drop", md));
    compile_test_expect_flow(h1, xasprintf("table=40, priority=260,metadata=%#x,"
                              "dl_type=0x800,nw_dst=203.0.113.10,reg14=0x3,"
                              "ct_state=0x30/0x30 actions=drop", md));

    /* ARP answers for the gateway ip and the floating ip, with the
     * gateway port's MAC. */
    static const char *const ips[] = { "203.0.113.10", "203.0.113.20" };
    for (size_t i = 0; i < 2; i++) {
        compile_test_expect_flow(h1, xasprintf(
            "table=30, priority=110,metadata=0x384,dl_type=0x806,arp_op=1,"
                         "arp_tpa=%s,reg13=0x0 actions=move:dl_src->dl_dst,"
            "set_field:0a:00:00:00:ff:0e->dl_src,set_field:2->arp_op,"
            "move:arp_sha->arp_tha,set_field:0a:00:00:00:ff:0e->arp_sha,"
            "move:arp_spa->arp_tpa,set_field:%s->arp_spa,output:IN_PORT",
                         ips[i], ips[i]));
    }
    /* The implicit default route and the provider router as next hop. */
    compile_test_expect_flow(h1, xasprintf("table=40, priority=100,metadata=%#x,"
                              "dl_type=0x800 actions=set_field:0xcb007101->"
                              "reg0,set_field:0x3->reg15,resubmit(,41)", md));
    compile_test_expect_flow(h1, xasprintf("table=41, priority=100,metadata=%#x,"
                              "dl_type=0x800,reg0=0xcb007101,reg15=0x3 "
                              "actions=dec_ttl,set_field:0a:00:00:00:ff:0e->"
                              "dl_src,set_field:0a:00:00:00:00:fe->dl_dst,"
                              "set_field:0x384->metadata,set_field:0x0->"
                              "reg13,set_field:0x0->reg14,resubmit(,30)",
                                           md));
    compile_result_destroy(r);
    topo_destroy(t);
}

static void
test_other_host_tunnels(void **state)
{
    (void) state;
    struct topo *t = compile_test_load("gw.yaml", gw_yaml);
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *h2 = compile_test_host(r, "hv2");

    compile_test_expect_flow(h2, xasprintf("table=30, priority=100,metadata=0x384,"
                              "dl_dst=0a:00:00:00:00:fe,reg13=0x0 actions="
                              "set_field:0x384->tun_id,set_field:10.200.0.11"
                                           "->tun_dst,output:4000"));
    /* No NAT, no localnet, no external tunnel classify there. */
    assert_int_equal(compile_test_count_table(h2, TBL_NAT_OUT), 0);
    assert_int_equal(compile_test_count_table(h2, TBL_NAT_OUT_DONE), 0);
    assert_int_equal(compile_test_count_table(h2, TBL_NAT_OUT_REPLY), 0);
    for (size_t i = 0; i < h2->flows.n; i++) {
        const struct flow *f = &h2->flows.flows[i];
        const struct flow_field *ct = flow_match_get(&f->match, FF_CT_STATE);
        assert_null(ct);
        const struct flow_field *tun = flow_match_get(&f->match, FF_TUN_ID);
        assert_true(!tun || tun->value != 900);
    }
    /* The router (with its gateway port) is on hv2 too: routing happens
     * on the source host. */
    compile_test_expect_flow(h2, xasprintf("table=40, priority=100,metadata=%#x,"
                              "dl_type=0x800 actions=set_field:0xcb007101->"
                              "reg0,set_field:0x3->reg15,resubmit(,41)",
                                           compile_test_router_md("r1")));
    compile_result_destroy(r);
    topo_destroy(t);
}

/* Without gateways the flows are exactly those of the same topology
 * compiled with the external network removed. */
static void
test_no_gateway_unchanged(void **state)
{
    (void) state;
    static const char plain[] =
        "hosts:\n"
        "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
        "switches:\n"
        "  - {name: web, cidr: 10.1.0.0/24, vni: 100}\n"
        "routers:\n"
        "  - name: r1\n"
        "    ports:\n"
        "      - {switch: web, ip: 10.1.0.1/24}\n"
        "ports:\n"
        "  - {name: web1, host: hv1, switch: web, ip: 10.1.0.11}\n";
    struct topo *t = compile_test_load("gw.yaml", plain);
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *h = compile_test_host(r, "hv1");
    assert_int_equal(h->n_ports, 1);
    for (size_t i = 0; i < h->flows.n; i++) {
        assert_true(h->flows.flows[i].table < TBL_NAT_OUT
                    || h->flows.flows[i].table == TBL_ACL_OUT
                    || h->flows.flows[i].table == TBL_ACL_OUT_RULES
                    || h->flows.flows[i].table == TBL_OUTPUT);
        assert_true(h->flows.flows[i].cookie >> 56 != 6);
    }
    compile_result_destroy(r);
    topo_destroy(t);
}

/* Changing a floating ip touches only the gateway host, and the engine
 * equals a full compile. */
static void
test_incremental(void **state)
{
    (void) state;
    static const char changed[] = GW_YAML_HEAD
        "    snat: [web, app]\n"
        "    floating_ips:\n"
        "      - {ip: 203.0.113.21, port: app1}\n";
    struct topo *a = compile_test_load("gw.yaml", gw_yaml), *b = compile_test_load("gw.yaml", changed);
    struct compiler *c = compiler_create();
    struct compile_delta d;

    compiler_apply(c, a, NULL, NULL);
    compile_delta_init(&d);
    compiler_apply(c, b, NULL, &d);
    assert_int_equal(d.n_hosts, 1);
    assert_string_equal(d.hosts[0].name, "hv1");
    assert_false(d.hosts[0].config_changed);
    assert_true(d.hosts[0].added.n > 0 && d.hosts[0].removed.n > 0);

    struct compile_result *full = compile_topology(b, NULL);
    for (size_t i = 0; i < full->n_hosts; i++) {
        struct flow_set fs;
        flow_set_init(&fs);
        assert_true(compiler_host_flows(c, full->hosts[i].name, &fs));
        assert_true(flow_set_equal(&fs, &full->hosts[i].flows));
        flow_set_destroy(&fs);
    }
    compile_delta_destroy(&d);

    /* And back: the engine again equals a full compile. */
    struct topo *a2 = compile_test_load("gw.yaml", gw_yaml);
    compile_delta_init(&d);
    compiler_apply(c, a2, NULL, &d);
    struct compile_result *fa = compile_topology(a2, NULL);
    for (size_t i = 0; i < fa->n_hosts; i++) {
        struct flow_set fs;
        flow_set_init(&fs);
        assert_true(compiler_host_flows(c, fa->hosts[i].name, &fs));
        assert_true(flow_set_equal(&fs, &fa->hosts[i].flows));
        flow_set_destroy(&fs);
    }
    compile_delta_destroy(&d);
    compile_result_destroy(fa);
    compile_result_destroy(full);
    compiler_destroy(c);
    topo_destroy(a);
    topo_destroy(a2);
    topo_destroy(b);
}

static void
test_provenance(void **state)
{
    (void) state;
    struct topo *t = compile_test_load("gw.yaml", gw_yaml);
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *h1 = compile_test_host(r, "hv1");
    bool seen_fip = false, seen_fwd = false, seen_net = false,
         seen_snat = false;
    for (size_t i = 0; i < h1->flows.n; i++) {
        struct compile_provenance p;
        assert_true(compile_provenance(r, h1->flows.flows[i].cookie, &p));
        seen_fip |= !strcmp(p.object, "routers.r1.floating_ips[0]");
        seen_fwd |= !strcmp(p.object, "routers.r1.port_forwards[0]");
        seen_net |= !strcmp(p.object, "external_networks.internet");
        seen_snat |= !strcmp(p.object, "routers.r1.snat[web]");
        if (!strcmp(p.object, "routers.r1.port_forwards[0]")) {
            assert_string_equal(p.rule,
                                "nat: tcp 203.0.113.10:8080 -> 10.1.0.11:80");
            assert_int_equal(p.line, 23);
        }
    }
    assert_true(seen_fip && seen_fwd && seen_net && seen_snat);
    compile_result_destroy(r);
    topo_destroy(t);
}

/* --- the provider router's MAC learned by ARP ----------------------------- */

/* hv3 has a switch of its own, outside the router's component. */
#define ARP_YAML(MAC) \
    "hosts:\n" \
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n" \
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n" \
    "  - {name: hv3, tunnel_ip: 10.200.0.13/24}\n" \
    "switches:\n" \
    "  - {name: lone, cidr: 10.9.0.0/24, vni: 300}\n" \
    "  - {name: web, cidr: 10.1.0.0/24, vni: 100}\n" \
    "external_networks:\n" \
    "  - {name: internet, cidr: 203.0.113.0/24, gateway_ip: 203.0.113.1,\n" \
    "     " MAC "host: hv1, iface: ext0, vni: 900}\n" \
    "ports:\n" \
    "  - {name: lone1, host: hv3, switch: lone, ip: 10.9.0.11}\n" \
    "  - {name: web1, host: hv2, switch: web, ip: 10.1.0.11," \
    " mac: '0a:00:00:00:01:11'}\n" \
    "routers:\n" \
    "  - name: r1\n" \
    "    ports:\n" \
    "      - {switch: web, ip: 10.1.0.1/24, mac: '0a:00:00:00:ff:01'}\n" \
    "    gateway: {network: internet, ip: 203.0.113.10," \
    " mac: '0a:00:00:00:ff:0e'}\n" \
    "    snat: [web]\n"

static const char arp_yaml[] = ARP_YAML("");
static const char arp_yaml_mac[] = ARP_YAML("gateway_mac: '0a:00:00:00:00:fe', ");
#define ARP_GW_IP 0xcb007101u           /* 203.0.113.1 */
#define ARP_GW_MAC 0x0a00000000feULL

static const struct compiled_packet_action *
find_action(const struct compiled_host *h, unsigned int kind)
{
    const struct compiled_packet_action *found = NULL;
    for (size_t i = 0; i < h->n_actions; i++) {
        if (h->actions[i].kind == kind) {
            assert_null(found);         /* one router: one of each */
            found = &h->actions[i];
        }
    }
    return found;
}

static void
check_arp_action(const struct compiled_packet_action *a, unsigned int kind)
{
    assert_non_null(a);
    assert_int_equal(a->kind, kind);
    assert_true(a->id >= 0x1000 && a->id < 0x4000);
    assert_int_equal(a->router_ip, 0xcb00710au);        /* 203.0.113.10 */
    assert_true(a->router_mac == 0x0a000000ff0eULL);
    assert_string_equal(a->network, "internet");
    assert_int_equal(a->network_vni, 900);
    assert_int_equal(a->target_ip, ARP_GW_IP);
}

/* True if some flow of 'h' mentions the provider router's MAC. */
static bool
mentions_gw_mac(const struct compiled_host *h)
{
    for (size_t i = 0; i < h->flows.n; i++) {
        char *s = flow_format(&h->flows.flows[i]);
        bool hit = strstr(s, "0a:00:00:00:00:fe") != NULL;
        free(s);
        if (hit) {
            return true;
        }
    }
    return false;
}

static void
expect_same_flows(const struct compiler *c, const struct compile_result *r)
{
    for (size_t i = 0; i < r->n_hosts; i++) {
        struct flow_set fs;
        flow_set_init(&fs);
        assert_true(compiler_host_flows(c, r->hosts[i].name, &fs));
        assert_true(flow_set_equal(&fs, &r->hosts[i].flows));
        flow_set_destroy(&fs);
        struct compiled_packet_action *pa;
        size_t n;
        assert_true(compiler_host_actions(c, r->hosts[i].name, &pa, &n));
        assert_true(compiled_packet_actions_equal(pa, n, r->hosts[i].actions,
                                                  r->hosts[i].n_actions));
        for (size_t k = 0; k < n; k++) {
            compiled_packet_action_clear(&pa[k]);
        }
        free(pa);
    }
}

/* Unknown MAC: table 41 sends packets for the provider router to the agent
 * on every host of the router, the gateway host hands ARP replies to the
 * agent, broadcasts reach the localnet port, and no flow needs the MAC. */
static void
test_arp_unknown_mac(void **state)
{
    (void) state;
    struct topo *t = compile_test_load("gw.yaml", arp_yaml);
    assert_int_equal(t->externals[0].gateway_mac, 0);
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *h1 = compile_test_host(r, "hv1"), *h2 = compile_test_host(r, "hv2");
    const struct compiled_host *h3 = compile_test_host(r, "hv3");
    uint32_t md = compile_test_router_md("r1");

    const struct compiled_packet_action *res1 = find_action(
        h1, COMPILE_PA_ARP_RESOLVE);
    const struct compiled_packet_action *res2 = find_action(
        h2, COMPILE_PA_ARP_RESOLVE);
    check_arp_action(res1, COMPILE_PA_ARP_RESOLVE);
    check_arp_action(res2, COMPILE_PA_ARP_RESOLVE);
    assert_int_equal(res1->id, res2->id);
    const struct compiled_packet_action *learn = find_action(
        h1, COMPILE_PA_ARP_LEARN);
    check_arp_action(learn, COMPILE_PA_ARP_LEARN);
    assert_int_not_equal(learn->id, res1->id);
    assert_null(find_action(h2, COMPILE_PA_ARP_LEARN));
    assert_null(find_action(h3, COMPILE_PA_ARP_RESOLVE));
    /* No collision with the other packet actions of the host. */
    for (size_t i = 0; i < h1->n_actions; i++) {
        for (size_t k = i + 1; k < h1->n_actions; k++) {
            assert_int_not_equal(h1->actions[i].id, h1->actions[k].id);
        }
    }

    const struct compiled_host *both[] = { h1, h2 };
    for (size_t i = 0; i < 2; i++) {
        compile_test_expect_flow(both[i], xasprintf(
                         "table=41, priority=100,metadata=%#x,dl_type=0x800,"
            "reg0=0xcb007101,reg15=0x2 actions=controller(userdata=%04x)",
                         md, res1->id));
        assert_false(mentions_gw_mac(both[i]));
    }
    compile_test_expect_flow(h1, xasprintf("table=30, priority=120,metadata=0x384,"
                              "dl_dst=0a:00:00:00:ff:0e,dl_type=0x806,"
                              "arp_op=2 actions=controller(userdata=%04x)",
                                           learn->id));
    uint32_t o = find_port(h1, "localnet:internet")->ofport;
    compile_test_expect_flow(h1, xasprintf("table=30, priority=90,metadata=0x384,"
                              "dl_dst=ff:ff:ff:ff:ff:ff,reg14=0x0 actions="
                              "set_field:%#x->reg15,resubmit(,70)", o));
    compile_test_expect_flow(h2, xasprintf("table=30, priority=90,metadata=0x384,"
                              "dl_dst=ff:ff:ff:ff:ff:ff,reg13=0x0 actions="
                              "set_field:0x384->tun_id,set_field:10.200.0.11"
                                           "->tun_dst,output:4000"));
    /* Nothing leads into the NAT stages while the MAC is unknown. */
    for (size_t i = 0; i < h1->flows.n; i++) {
        const struct flow *f = &h1->flows.flows[i];
        for (size_t k = 0; f->table == TBL_L2 && k < f->n_actions; k++) {
            assert_false(f->actions[k].type == FA_RESUBMIT
                         && f->actions[k].arg == TBL_NAT_OUT);
        }
    }

    /* Provenance of the new flows. */
    bool seen_resolve = false, seen_learn = false;
    for (size_t i = 0; i < h1->flows.n; i++) {
        struct compile_provenance p;
        assert_true(compile_provenance(r, h1->flows.flows[i].cookie, &p));
        seen_resolve |= strstr(p.rule, "(ARP)") != NULL;
        seen_learn |= strstr(p.rule, "ARP replies") != NULL;
    }
    assert_true(seen_resolve && seen_learn);

    /* With the MAC configured, the learn flow and actions stay. */
    struct topo *tm = compile_test_load("gw.yaml", arp_yaml_mac);
    struct compile_result *rm = compile_topology(tm, NULL);
    assert_true(mentions_gw_mac(compile_test_host(rm, "hv2")));
    compile_test_expect_flow(compile_test_host(rm, "hv1"), xasprintf(
        "table=30, priority=120,metadata=0x384,dl_dst=0a:00:00:00:ff:0e,"
        "dl_type=0x806,arp_op=2 actions=controller(userdata=%04x)",
                                  learn->id));
    compile_result_destroy(rm);
    topo_destroy(tm);
    compile_result_destroy(r);
    topo_destroy(t);
}

/* A learned MAC gives exactly the flows of a configured one, touching only
 * the hosts of the router; forgetting it goes back; a configured MAC wins
 * over a learned one. */
static void
test_arp_learned_mac(void **state)
{
    (void) state;
    struct topo *t = compile_test_load("gw.yaml", arp_yaml), *tm = compile_test_load("gw.yaml", arp_yaml_mac);
    struct compile_result *unknown = compile_topology(t, NULL);
    struct compile_result *known = compile_topology(tm, NULL);
    struct compiler *c = compiler_create();
    struct compile_delta d;

    compiler_apply(c, t, NULL, NULL);
    expect_same_flows(c, unknown);

    /* A neighbour that is not the gateway changes nothing. */
    compile_delta_init(&d);
    compiler_begin(c, &d);
    assert_false(compiler_set_neighbor(c, "internet", 0xcb007105u,
                                       0x0a0000000005ULL));
    compiler_commit(c);
    assert_int_equal(d.n_hosts, 0);
    compile_delta_destroy(&d);

    compile_delta_init(&d);
    compiler_begin(c, &d);
    assert_true(compiler_set_neighbor(c, "internet", ARP_GW_IP, ARP_GW_MAC));
    compiler_commit(c);
    assert_int_equal(d.n_hosts, 2);
    assert_string_equal(d.hosts[0].name, "hv1");
    assert_string_equal(d.hosts[1].name, "hv2");
    for (size_t i = 0; i < d.n_hosts; i++) {
        assert_false(d.hosts[i].config_changed);
        assert_true(d.hosts[i].added.n + d.hosts[i].modified.n > 0);
    }
    compile_delta_destroy(&d);
    expect_same_flows(c, known);

    /* The same again: nothing. */
    compile_delta_init(&d);
    compiler_begin(c, &d);
    assert_false(compiler_set_neighbor(c, "internet", ARP_GW_IP, ARP_GW_MAC));
    compiler_commit(c);
    assert_int_equal(d.n_hosts, 0);
    compile_delta_destroy(&d);

    /* The learned MAC survives a re-apply of the same topology. */
    compile_delta_init(&d);
    compiler_apply(c, t, NULL, &d);
    assert_int_equal(d.n_hosts, 0);
    compile_delta_destroy(&d);
    expect_same_flows(c, known);

    /* Configured wins: a different learned MAC changes nothing. */
    compiler_apply(c, tm, NULL, NULL);
    compile_delta_init(&d);
    compiler_begin(c, &d);
    assert_false(compiler_set_neighbor(c, "internet", ARP_GW_IP,
                                       0x0a00000000aaULL));
    compiler_commit(c);
    assert_int_equal(d.n_hosts, 0);
    compile_delta_destroy(&d);
    expect_same_flows(c, known);

    /* Back to the topology without MAC: the learned 0a:..:aa is used. */
    compiler_apply(c, t, NULL, NULL);
    struct flow_set fs;
    flow_set_init(&fs);
    assert_true(compiler_host_flows(c, "hv2", &fs));
    bool aa = false;
    for (size_t i = 0; i < fs.n; i++) {
        char *s = flow_format(&fs.flows[i]);
        aa |= strstr(s, "set_field:0a:00:00:00:00:aa->dl_dst") != NULL;
        free(s);
    }
    assert_true(aa);
    flow_set_destroy(&fs);

    /* Forgotten: unknown again. */
    compile_delta_init(&d);
    compiler_begin(c, &d);
    assert_true(compiler_set_neighbor(c, "internet", ARP_GW_IP, 0));
    compiler_commit(c);
    assert_int_equal(d.n_hosts, 2);
    compile_delta_destroy(&d);
    expect_same_flows(c, unknown);

    /* Learned before the network exists: used once it appears. */
    struct compiler *c2 = compiler_create();
    assert_false(compiler_set_neighbor(c2, "internet", ARP_GW_IP,
                                       ARP_GW_MAC));
    compiler_apply(c2, t, NULL, NULL);
    expect_same_flows(c2, known);
    compiler_destroy(c2);

    compiler_destroy(c);
    compile_result_destroy(unknown);
    compile_result_destroy(known);
    topo_destroy(t);
    topo_destroy(tm);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gateway_host_flows),
        cmocka_unit_test(test_other_host_tunnels),
        cmocka_unit_test(test_no_gateway_unchanged),
        cmocka_unit_test(test_incremental),
        cmocka_unit_test(test_provenance),
        cmocka_unit_test(test_arp_unknown_mac),
        cmocka_unit_test(test_arp_learned_mac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
