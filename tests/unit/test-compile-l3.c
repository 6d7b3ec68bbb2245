/* test-compile-l3.c — routers, ARP suppression and DHCP in the pipeline
 * (docs/pipeline.md tables 30, 40, 41; packet actions).
 *
 * Exact flows for a router with two ports over two hosts; ARP answers for
 * every known address; a host with only web ports routes to db; two
 * routers linked by a transit switch are both on every host of their
 * component; packet actions and provenance of router flows.
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

static const char small_yaml[] =
    "hosts:\n"
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n"
    "switches:\n"
    "  - {name: app, cidr: 10.2.0.0/24, vni: 200}\n"
    "  - {name: web, cidr: 10.1.0.0/24, vni: 100,\n"
    "     dhcp: {dns: [10.1.0.53], lease_time: 600}}\n"
    "routers:\n"
    "  - name: r1\n"
    "    ports:\n"
    "      - {switch: app, ip: 10.2.0.1/24, mac: '0a:00:00:00:ff:02'}\n"
    "      - {switch: web, ip: 10.1.0.1/24, mac: '0a:00:00:00:ff:01'}\n"
    "    routes:\n"
    "      - {prefix: 10.9.0.0/16, next_hop: 10.2.0.99}\n"
    "ports:\n"
    "  - {name: app1, host: hv2, switch: app, ip: 10.2.0.11,"
    " mac: '0a:00:00:00:02:11'}\n"
    "  - {name: web1, host: hv1, switch: web, ip: 10.1.0.11,"
    " mac: '0a:00:00:00:01:11'}\n";

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

static void
test_router_flows(void **state)
{
    (void) state;
    struct topo *t = compile_test_load("l3.yaml", small_yaml);
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *hv1 = compile_test_host(r, "hv1");
    uint32_t md = compile_test_router_md("r1");
    uint32_t w1 = ofport(hv1, "web1");

    /* Table 30: ARP answer for the router's web address, router MAC hit
     * for both ports (port keys 1 = app, 2 = web: switch name order). */
    compile_test_expect_flow(hv1, xasprintf("table=30, priority=110,metadata=0x64,"
                               "dl_type=0x806,arp_op=1,arp_tpa=10.1.0.1,"
                               "reg13=0x0 actions=move:dl_src->dl_dst,"
                               "set_field:0a:00:00:00:ff:01->dl_src,"
                               "set_field:2->arp_op,move:arp_sha->arp_tha,"
                               "set_field:0a:00:00:00:ff:01->arp_sha,"
                                            "move:arp_spa->arp_tpa,"
                               "set_field:10.1.0.1->arp_spa,output:IN_PORT"));
    compile_test_expect_flow(hv1, xasprintf("table=30, priority=100,metadata=0x64,"
                                            "dl_dst=0a:00:00:00:ff:01 actions="
                               "set_field:0x%x->metadata,set_field:0x2->reg14,"
                                            "resubmit(,40)", md));
    compile_test_expect_flow(hv1, xasprintf("table=30, priority=100,metadata=0xc8,"
                                            "dl_dst=0a:00:00:00:ff:02 actions="
                               "set_field:0x%x->metadata,set_field:0x1->reg14,"
                                            "resubmit(,40)", md));
    /* Table 40: ping to the app address from the web side (turned into
     * the reply and routed back from the router), TTL checks, connected
     * and static routes, no route. */
    compile_test_expect_flow(hv1, xasprintf("table=40, priority=300,metadata=0x%x,"
                               "dl_type=0x800,nw_proto=1,nw_dst=10.2.0.1,"
                                            "icmp_type=8,reg14=0x2 actions="
                               "move:nw_src->nw_dst,set_field:10.2.0.1->nw_src,"
                               "set_field:0->icmp_type,set_field:65->nw_ttl,"
                               "set_field:0x0->nxm_in_port,resubmit(,40)", md));
    for (unsigned int ttl = 0; ttl < 2; ttl++) {
        bool found = false;
        for (size_t i = 0; i < hv1->flows.n; i++) {
            const struct flow *f = &hv1->flows.flows[i];
            const struct flow_field *m = flow_match_get(&f->match, FF_IP_TTL);
            const struct flow_field *k = flow_match_get(&f->match, FF_REG14);
            if (f->table == 40 && f->priority == 250 && m && m->value == ttl
                && k && k->value == 2) {
                assert_int_equal(f->actions[0].type, FA_CONTROLLER);
                found = true;
            }
        }
        assert_true(found);
    }
    compile_test_expect_flow(hv1, xasprintf("table=40, priority=149,metadata=0x%x,"
                               "dl_type=0x800,nw_dst=10.2.0.0/255.255.255.0 "
                                            "actions=move:nw_dst->reg0,"
                               "set_field:0x1->reg15,resubmit(,41)", md));
    compile_test_expect_flow(hv1, xasprintf("table=40, priority=132,metadata=0x%x,"
                               "dl_type=0x800,nw_dst=10.9.0.0/255.255.0.0 "
                               "actions=set_field:0xa020063->reg0,"
                               "set_field:0x1->reg15,resubmit(,41)", md));
    /* Table 41: app1 (on hv2) reached from hv1, which has no app port:
     * MACs rewritten, TTL decremented, then app's L2 tunnels it. */
    compile_test_expect_flow(hv1, xasprintf("table=41, priority=100,metadata=0x%x,"
                               "dl_type=0x800,reg0=0xa02000b,reg15=0x1 "
                                            "actions=dec_ttl,"
                               "set_field:0a:00:00:00:ff:02->dl_src,"
                               "set_field:0a:00:00:00:02:11->dl_dst,"
                               "set_field:0xc8->metadata,set_field:0x0->reg13,"
                               "set_field:0x0->reg14,resubmit(,30)", md));
    compile_test_expect_flow(hv1, xasprintf("table=30, priority=100,metadata=0xc8,"
                               "dl_dst=0a:00:00:00:02:11,reg13=0x0 actions="
                                            "set_field:0xc8->tun_id,"
                               "set_field:10.200.0.12->tun_dst,output:4000"));
    /* The same router flows on both hosts. */
    const struct compiled_host *hv2 = compile_test_host(r, "hv2");
    assert_int_equal(compile_test_count_table(hv1, 40), compile_test_count_table(hv2, 40));
    assert_int_equal(compile_test_count_table(hv1, 41), compile_test_count_table(hv2, 41));
    /* Table 40: 2x2 pings + 2x2 TTL + 2 connected + 1 static + 2 no route;
     * table 41: 1 neighbour per egress network + 2 misses. */
    assert_int_equal(compile_test_count_table(hv1, 40), 13);
    assert_int_equal(compile_test_count_table(hv1, 41), 4);

    /* Packet actions on hv1: DHCP for web1 and 3 ICMP errors per router
     * port. */
    assert_int_equal(hv1->n_actions, 1 + 6);
    const struct compiled_packet_action *d = &hv1->actions[0];
    assert_int_equal(d->id, w1);
    assert_int_equal(d->kind, COMPILE_PA_DHCP);
    assert_string_equal(d->port, "web1");
    assert_int_equal(d->ip, 0x0a01000b);
    assert_int_equal(d->plen, 24);
    assert_int_equal(d->gateway, 0x0a010001);
    assert_int_equal(d->server_ip, 0x0a010001);
    assert_true(d->server_mac == 0x0a000000ff01ULL);
    assert_int_equal(d->lease_time, 600);
    assert_int_equal(d->n_dns, 1);
    assert_int_equal(d->dns[0], 0x0a010035);
    assert_int_equal(d->mtu, 1400);
    size_t n_icmp = 0;
    for (size_t i = 1; i < hv1->n_actions; i++) {
        const struct compiled_packet_action *a = &hv1->actions[i];
        assert_true(a->id >= 0x4000 && a->id > hv1->actions[i - 1].id);
        assert_true(a->router_ip == 0x0a010001 || a->router_ip == 0x0a020001);
        n_icmp++;
        /* Every ICMP action id is used by a controller action on hv1. */
        bool used = false;
        for (size_t k = 0; k < hv1->flows.n; k++) {
            const struct flow *f = &hv1->flows.flows[k];
            for (size_t j = 0; j < f->n_actions; j++) {
                used |= f->actions[j].type == FA_CONTROLLER
                        && f->actions[j].value == a->id;
            }
        }
        assert_true(used);
    }
    assert_int_equal(n_icmp, 6);

    /* Provenance of a static route and of a DHCP flow. */
    struct compile_provenance p;
    bool found = false;
    for (size_t i = 0; i < hv1->flows.n; i++) {
        const struct flow *f = &hv1->flows.flows[i];
        if (f->table == 40 && f->priority == 132) {
            assert_true(compile_provenance(r, f->cookie, &p));
            assert_string_equal(p.kind, "router");
            assert_string_equal(p.object, "routers.r1.routes[0]");
            assert_int_equal(p.line, 14);
            found = true;
        }
        if (f->table == 30 && f->priority == 120) {
            assert_true(compile_provenance(r, f->cookie, &p));
            assert_string_equal(p.object, "switches.web.dhcp");
        }
        if (f->table == 30 && f->priority == 100
            && flow_match_get(&f->match, FF_ETH_DST)
            && flow_match_get(&f->match, FF_ETH_DST)->value
               == 0x0a000000ff01ULL) {
            assert_true(compile_provenance(r, f->cookie, &p));
            assert_string_equal(p.object, "routers.r1.ports[web]");
        }
    }
    assert_true(found);
    compile_result_destroy(r);
    topo_destroy(t);
}

/* Three tiers: every host answers ARP for every known address of the
 * switches it serves, routes to every tier, and delivers cross-switch
 * traffic between its own ports without a tunnel. */
static void
test_three_tier(void **state)
{
    (void) state;
    struct topo *t = compile_test_load_example("three-tier.yaml");
    struct compile_result *r = compile_topology(t, NULL);

    for (size_t h = 0; h < r->n_hosts; h++) {
        const struct compiled_host *ch = &r->hosts[h];
        /* One router component: every switch's L2 on every host. */
        for (size_t s = 0; s < t->n_switches; s++) {
            const struct topo_switch *sw = &t->switches[s];
            for (size_t p = 0; p < t->n_ports; p++) {
                if (t->ports[p].sw != s) {
                    continue;
                }
                char ip[16];
                snprintf(ip, sizeof ip, "%u.%u.%u.%u", t->ports[p].ip >> 24,
                         (t->ports[p].ip >> 16) & 0xff,
                         (t->ports[p].ip >> 8) & 0xff, t->ports[p].ip & 0xff);
                bool found = false;
                for (size_t i = 0; i < ch->flows.n; i++) {
                    char *f = flow_format(&ch->flows.flows[i]);
                    char *want = xasprintf("priority=110,metadata=0x%x,"
                                           "dl_type=0x806,arp_op=1,"
                                           "arp_tpa=%s,", sw->vni, ip);
                    found |= strstr(f, want) != NULL;
                    free(want);
                    free(f);
                }
                if (!found) {
                    fail_msg("%s does not answer ARP for %s", ch->name, ip);
                }
            }
        }
        assert_int_equal(compile_test_count_table(ch, 41), 3 * 2 + 3);
    }
    printf("three-tier flows:");
    for (size_t h = 0; h < r->n_hosts; h++) {
        printf(" %s %zu (%zu packet actions)", r->hosts[h].name,
               r->hosts[h].flows.n, r->hosts[h].n_actions);
    }
    printf("\n");

    /* hv1 has web1 and db2: routed web1 -> db2 ends in db's L2, which
     * delivers db2 locally (no tunnel). */
    const struct compiled_host *hv1 = compile_test_host(r, "hv1");
    const struct topo_port *db2 = topo_find_port(t, "db2");
    const struct topo_switch *db = topo_find_switch(t, "db");
    for (size_t i = 0; i < hv1->flows.n; i++) {
        const struct flow *f = &hv1->flows.flows[i];
        const struct flow_field *m = flow_match_get(&f->match, FF_METADATA);
        const struct flow_field *d = flow_match_get(&f->match, FF_ETH_DST);
        if (f->table == 30 && m && m->value == db->vni && d
            && d->value == db2->mac) {
            for (size_t j = 0; j < f->n_actions; j++) {
                assert_false(f->actions[j].type == FA_OUTPUT
                             && f->actions[j].arg == COMPILE_TUNNEL_OFPORT);
            }
            assert_int_equal(f->actions[0].field, FF_REG15);
            assert_int_equal(f->actions[0].value, ofport(hv1, "db2"));
        }
    }
    compile_result_destroy(r);
    topo_destroy(t);
}

/* Two routers through a transit switch: hv1 (web only) routes web -> db
 * through r1 then r2, so it holds both routers, the transit switch's L2
 * and db's workloads in r2's table 41. */
static void
test_two_routers(void **state)
{
    (void) state;
    struct topo *t = compile_test_load_example("two-routers.yaml");
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *hv1 = compile_test_host(r, "hv1");
    uint32_t md1 = compile_test_router_md("r1"), md2 = compile_test_router_md("r2");
    size_t n1 = 0, n2 = 0;

    assert_int_equal(hv1->n_ports, 1);
    for (size_t i = 0; i < hv1->flows.n; i++) {
        const struct flow_field *m = flow_match_get(&hv1->flows.flows[i].match,
                                                    FF_METADATA);
        n1 += m && m->value == md1;
        n2 += m && m->value == md2;
    }
    assert_true(n1 > 0);
    assert_true(n2 > 0);
    /* r1 -> r2's transit address; r2 -> db1 (10.3.0.11, on hv2) and
     * db2 (10.3.0.12, on hv3), each into the next switch's L2. */
    const struct topo_switch *transit = topo_find_switch(t, "transit");
    const struct topo_switch *db = topo_find_switch(t, "db");
    static const struct { int router; uint32_t ip; } hops[] = {
        { 1, 0xc0a86402 }, { 2, 0x0a03000b }, { 2, 0x0a03000c },
    };
    for (size_t k = 0; k < 3; k++) {
        bool found = false;
        uint32_t md = hops[k].router == 1 ? md1 : md2;
        uint32_t vni = hops[k].router == 1 ? transit->vni : db->vni;
        for (size_t i = 0; i < hv1->flows.n; i++) {
            const struct flow *f = &hv1->flows.flows[i];
            const struct flow_field *m = flow_match_get(&f->match,
                                                        FF_METADATA);
            const struct flow_field *r0 = flow_match_get(&f->match, FF_REG0);
            if (f->table != 41 || !m || m->value != md || !r0
                || r0->value != hops[k].ip) {
                continue;
            }
            assert_int_equal(f->actions[0].type, FA_DEC_TTL);
            assert_int_equal(f->actions[3].field, FF_METADATA);
            assert_int_equal(f->actions[3].value, vni);
            found = true;
        }
        assert_true(found);
    }
    /* The transit switch's router MAC entry of r2 on hv1. */
    const struct topo_router *r2 = topo_find_router(t, "r2");
    bool hit = false;
    for (size_t i = 0; i < hv1->flows.n; i++) {
        const struct flow *f = &hv1->flows.flows[i];
        const struct flow_field *m = flow_match_get(&f->match, FF_METADATA);
        const struct flow_field *d = flow_match_get(&f->match, FF_ETH_DST);
        for (size_t k = 0; k < r2->n_ports; k++) {
            if (f->table == 30 && m && m->value == transit->vni && d
                && d->value == r2->ports[k].mac) {
                assert_int_equal(f->actions[0].value, md2);
                hit = true;
            }
        }
    }
    assert_true(hit);
    compile_result_destroy(r);
    topo_destroy(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_flows),
        cmocka_unit_test(test_three_tier),
        cmocka_unit_test(test_two_routers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
