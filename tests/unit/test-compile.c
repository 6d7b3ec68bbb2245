/* test-compile.c — the compiler: the pipeline flows on each host, flooding
 * scope, isolation between switches, determinism, stable port numbers and
 * cookies across a move, and provenance. */
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
#include "lib/addr.h"
#include "lib/util.h"

/* hv1: web1, db1; hv2: web2, db2; hv3: db3 only; hv4: nothing.  web spans
 * hv1+hv2, db spans hv1..hv3.  db1 has no ip. */
#define BASE_HOSTS                                      \
    "hosts:\n"                                          \
    "  - name: hv1\n"                                   \
    "    tunnel_ip: 10.200.0.11/24\n"                   \
    "  - name: hv2\n"                                   \
    "    tunnel_ip: 10.200.0.12/24\n"                   \
    "  - name: hv3\n"                                   \
    "    tunnel_ip: 10.200.0.13/24\n"                   \
    "  - name: hv4\n"                                   \
    "    tunnel_ip: 10.200.0.14/24\n"                   \
    "switches:\n"                                       \
    "  - name: web\n"                                   \
    "    cidr: 10.1.0.0/24\n"                           \
    "    vni: 100\n"                                    \
    "  - name: db\n"                                    \
    "    cidr: 10.2.0.0/24\n"                           \
    "    vni: 200\n"                                    \
    "ports:\n"
#define WEB1_LINE 18
#define PORT_WEB1(host)                                 \
    "  - name: web1\n"                                  \
    "    host: " host "\n"                              \
    "    switch: web\n"                                 \
    "    ip: 10.1.0.11\n"                               \
    "    mac: 0a:00:00:00:01:11\n"
#define OTHER_PORTS                                                     \
    "  - {name: web2, host: hv2, switch: web, ip: 10.1.0.12,"           \
    " mac: '0a:00:00:00:01:12'}\n"                                      \
    "  - {name: db1, host: hv1, switch: db, mac: '0a:00:00:00:02:11'}\n"\
    "  - {name: db2, host: hv2, switch: db, ip: 10.2.0.12,"             \
    " mac: '0a:00:00:00:02:12'}\n"                                      \
    "  - {name: db3, host: hv3, switch: db, ip: 10.2.0.13,"             \
    " mac: '0a:00:00:00:02:13'}\n"

static const char base_yaml[] = BASE_HOSTS PORT_WEB1("hv1") OTHER_PORTS;
static const char moved_yaml[] = BASE_HOSTS PORT_WEB1("hv2") OTHER_PORTS;

static uint32_t
ofport(const struct compile_result *r, const char *hname, const char *pname)
{
    const struct compiled_host *h = compile_test_host(r, hname);
    for (size_t i = 0; i < h->n_ports; i++) {
        if (!strcmp(h->ports[i].name, pname)) {
            return h->ports[i].ofport;
        }
    }
    fail_msg("no port %s on %s", pname, hname);
    return 0;
}

static const struct flow *
find_flow(const struct compiled_host *h, uint8_t table, uint16_t prio,
          const struct flow_match *m)
{
    for (size_t i = 0; i < h->flows.n; i++) {
        const struct flow *f = &h->flows.flows[i];
        if (f->table == table && f->priority == prio
            && f->match.n == m->n
            && !memcmp(f->match.f, m->f, m->n * sizeof m->f[0])) {
            return f;
        }
    }
    return NULL;
}

static void
test_flows(void **state)
{
    struct topo *t = compile_test_load("c.yaml", base_yaml);
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *hv1 = compile_test_host(r, "hv1");
    uint32_t w1 = ofport(r, "hv1", "web1"), d1 = ofport(r, "hv1", "db1");

    assert_int_equal(r->n_hosts, 4);
    assert_int_equal(hv1->n_ports, 2);
    assert_string_equal(hv1->ports[0].name, "db1");
    assert_string_equal(hv1->ports[1].iface, "web1");
    assert_string_equal(hv1->ports[1].switch_name, "web");
    assert_true(hv1->ports[1].mac == 0x0a0000000111ULL);
    assert_true(w1 >= 1 && w1 <= 3999 && d1 >= 1 && d1 <= 3999 && w1 != d1);
    assert_int_equal(hv1->tunnel_ip, 0x0ac8000b);
    assert_string_equal(hv1->underlay_iface, "ul0");

    /* Table 0. */
    compile_test_expect_flow(hv1, xasprintf("table=0, priority=100,in_port=%u actions="
                               "set_field:0x64->metadata,set_field:0x%x->reg14,"
                                            "resubmit(,10)", w1, w1));
    compile_test_expect_flow(hv1, xasprintf("table=0, priority=100,in_port=4000,tun_id=0x64"
                               " actions=set_field:0x64->metadata,"
                               "set_field:0x1->reg13,resubmit(,30)"));
    compile_test_expect_flow(hv1, xasprintf("table=0, priority=100,in_port=4000,tun_id=0xc8"
                               " actions=set_field:0xc8->metadata,"
                               "set_field:0x1->reg13,resubmit(,30)"));
    compile_test_expect_flow(hv1, xasprintf("table=0, priority=0 actions=drop"));
    /* Table 10: IP + ARP for a port with ip, MAC only without; on to
     * the egress ACL (table 20), which passes ports without groups. */
    compile_test_expect_flow(hv1, xasprintf("table=10, priority=100,dl_src=0a:00:00:00:01:11,"
                               "dl_type=0x800,nw_src=10.1.0.11,reg14=0x%x "
                                            "actions=resubmit(,20)", w1));
    compile_test_expect_flow(hv1, xasprintf("table=10, priority=100,dl_src=0a:00:00:00:01:11,"
                                            "dl_type=0x806,arp_spa=10.1.0.11,"
                               "arp_sha=0a:00:00:00:01:11,reg14=0x%x "
                                            "actions=resubmit(,20)", w1));
    compile_test_expect_flow(hv1, xasprintf("table=10, priority=90,dl_src=0a:00:00:00:02:11,"
                               "reg14=0x%x actions=resubmit(,20)", d1));
    compile_test_expect_flow(hv1, xasprintf("table=20, priority=0 actions=resubmit(,30)"));
    compile_test_expect_flow(hv1, xasprintf("table=60, priority=0 actions=resubmit(,70)"));
    compile_test_expect_flow(hv1, xasprintf("table=21, priority=0 actions=drop"));
    compile_test_expect_flow(hv1, xasprintf("table=61, priority=0 actions=drop"));
    compile_test_expect_flow(hv1, xasprintf("table=10, priority=0 actions=drop"));
    /* Table 30: local delivery (through the ingress ACL, table 60),
     * remote tunnel, flooding. */
    compile_test_expect_flow(hv1, xasprintf("table=30, priority=100,metadata=0x64,"
                                            "dl_dst=0a:00:00:00:01:11 actions="
                               "set_field:0x%x->reg15,resubmit(,60)", w1));
    compile_test_expect_flow(hv1, xasprintf("table=30, priority=100,metadata=0x64,"
                               "dl_dst=0a:00:00:00:01:12,reg13=0x0 actions="
                                            "set_field:0x64->tun_id,"
                               "set_field:10.200.0.12->tun_dst,output:4000"));
    compile_test_expect_flow(hv1, xasprintf("table=30, priority=100,metadata=0xc8,"
                               "dl_dst=0a:00:00:00:02:13,reg13=0x0 actions="
                                            "set_field:0xc8->tun_id,"
                               "set_field:10.200.0.13->tun_dst,output:4000"));
    compile_test_expect_flow(hv1, xasprintf("table=30, priority=100,metadata=0x64,"
                               "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,"
                                            "reg13=0x0 actions=output:%u,"
                                            "set_field:0x64->tun_id,"
                               "set_field:10.200.0.12->tun_dst,output:4000",
                                            w1));
    compile_test_expect_flow(hv1, xasprintf("table=30, priority=100,metadata=0x64,"
                               "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,"
                               "reg13=0x1 actions=output:%u", w1));
    compile_test_expect_flow(hv1, xasprintf("table=30, priority=0 actions=drop"));
    /* Table 70. */
    compile_test_expect_flow(hv1, xasprintf("table=70, priority=100,reg15=0x%x "
                                            "actions=output:%u", d1, d1));
    compile_test_expect_flow(hv1, xasprintf("table=70, priority=0 actions=drop"));

    /* DHCP for web1 (it has an ip on a switch with a cidr): discover from
     * 0.0.0.0 allowed, requests to the agent with its port number as id. */
    compile_test_expect_flow(hv1, xasprintf("table=10, priority=110,dl_src=0a:00:00:00:01:11,"
                               "dl_type=0x800,nw_proto=17,nw_src=0.0.0.0,"
                               "nw_dst=255.255.255.255,udp_src=68,udp_dst=67,"
                               "reg14=0x%x actions=resubmit(,30)", w1));
    compile_test_expect_flow(hv1, xasprintf("table=30, priority=120,dl_type=0x800,"
                               "nw_proto=17,udp_src=68,udp_dst=67,reg14=0x%x "
                               "actions=controller(userdata=%04x)", w1, w1));
    /* ARP suppression: every workload ip is answered in place. */
    compile_test_expect_flow(hv1, xasprintf("table=30, priority=110,metadata=0xc8,"
                               "dl_type=0x806,arp_op=1,arp_tpa=10.2.0.13,"
                               "reg13=0x0 actions=move:dl_src->dl_dst,"
                               "set_field:0a:00:00:00:02:13->dl_src,"
                               "set_field:2->arp_op,move:arp_sha->arp_tha,"
                               "set_field:0a:00:00:00:02:13->arp_sha,"
                                            "move:arp_spa->arp_tpa,"
                               "set_field:10.2.0.13->arp_spa,output:IN_PORT"));

    /* hv1: 8 defaults (4 drops, 2 ACL drops, 2 ACL pass-throughs) + 2 ports x (classify, output) + web1 2 port-sec +
     * db1 1 + 2 tunnel classify + L2 for web (2 ports) and db (3 ports) +
     * 2 x 2 flood + web1's 2 DHCP flows + ARP answers for the 4 ports
     * with an ip (web1, web2, db2, db3). */
    assert_int_equal(hv1->flows.n, 8 + 4 + 3 + 2 + 5 + 4 + 2 + 4);
    /* hv3 has only db3: nothing of web at all. */
    const struct compiled_host *hv3 = compile_test_host(r, "hv3");
    for (size_t i = 0; i < hv3->flows.n; i++) {
        const struct flow_field *m = flow_match_get(&hv3->flows.flows[i].match,
                                                    FF_METADATA);
        const struct flow_field *tun = flow_match_get(
            &hv3->flows.flows[i].match, FF_TUN_ID);
        assert_false(m && m->value == 100);
        assert_false(tun && tun->value == 100);
    }
    /* A host without ports still has the eight table defaults, and only:
     * drops, except the ACL entry tables 20 and 60, which pass on. */
    const struct compiled_host *hv4 = compile_test_host(r, "hv4");
    assert_int_equal(hv4->flows.n, 8);
    assert_int_equal(hv4->n_ports, 0);
    for (size_t i = 0; i < 8; i++) {
        const struct flow *f = &hv4->flows.flows[i];
        assert_int_equal(f->priority, 0);
        assert_int_equal(f->n_actions,
                         f->table == TBL_ACL_IN || f->table == TBL_ACL_OUT);
    }
    compile_result_destroy(r);
    topo_destroy(t);
}

/* Broadcast from a local port on hv1 goes to the switch's local ports and
 * to exactly the other hosts with ports on that switch. */
static void
test_flood_scope(void **state)
{
    struct topo *t = compile_test_load("c.yaml", base_yaml);
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *hv1 = compile_test_host(r, "hv1");
    static const struct { uint32_t vni; const char *local;
                          uint32_t tun_dsts[3]; size_t n_dsts; } want[] = {
        { 100, "web1", { 0x0ac8000c }, 1 },
        { 200, "db1", { 0x0ac8000c, 0x0ac8000d }, 2 },
    };
    for (size_t w = 0; w < 2; w++) {
        struct flow_match m = { 0 };
        flow_match_set(&m, FF_METADATA, want[w].vni, 0);
        flow_match_set(&m, FF_ETH_DST, 0x010000000000ULL, 0x010000000000ULL);
        flow_match_set(&m, FF_REG13, 0, 0);
        const struct flow *f = find_flow(hv1, 30, 100, &m);
        assert_non_null(f);
        size_t n_local = 0, n_tun = 0;
        for (size_t i = 0; i < f->n_actions; i++) {
            const struct flow_action *a = &f->actions[i];
            if (a->type == FA_OUTPUT && a->arg != COMPILE_TUNNEL_OFPORT) {
                assert_int_equal(a->arg, ofport(r, "hv1", want[w].local));
                n_local++;
            } else if (a->type == FA_SET_FIELD && a->field == FF_TUN_DST) {
                assert_true(n_tun < want[w].n_dsts);
                assert_int_equal(a->value, want[w].tun_dsts[n_tun]);
                n_tun++;
            } else if (a->type == FA_SET_FIELD && a->field == FF_TUN_ID) {
                assert_int_equal(a->value, want[w].vni);
            }
        }
        assert_int_equal(n_local, 1);
        assert_int_equal(n_tun, want[w].n_dsts);

        /* From a tunnel: local ports only, never back into the overlay. */
        flow_match_set(&m, FF_REG13, 1, 0);
        f = find_flow(hv1, 30, 100, &m);
        assert_non_null(f);
        assert_int_equal(f->n_actions, 1);
        assert_int_equal(f->actions[0].type, FA_OUTPUT);
        assert_int_equal(f->actions[0].arg, ofport(r, "hv1", want[w].local));
    }
    compile_result_destroy(r);
    topo_destroy(t);
}

/* No flow of one switch can deliver to a port of another: every table-30
 * flow matching metadata=V sends only to ports of V's switch or tunnels
 * with tun_id V, and every table-0 flow tags with the right VNI. */
static void
test_isolation(void **state)
{
    struct topo *t = compile_test_load("c.yaml", base_yaml);
    struct compile_result *r = compile_topology(t, NULL);
    size_t checked = 0;
    for (size_t h = 0; h < r->n_hosts; h++) {
        const struct compiled_host *ch = &r->hosts[h];
        for (size_t i = 0; i < ch->flows.n; i++) {
            const struct flow *f = &ch->flows.flows[i];
            uint64_t vni = 0;
            if (f->table == 30) {
                const struct flow_field *m = flow_match_get(&f->match,
                                                            FF_METADATA);
                if (!m) {
                    /* The default drop, or DHCP to the agent. */
                    assert_true(f->n_actions == 0
                                || (f->n_actions == 1
                                    && f->actions[0].type == FA_CONTROLLER));
                    continue;
                }
                vni = m->value;
                const struct flow_field *dst = flow_match_get(&f->match,
                                                              FF_ETH_DST);
                if (dst && dst->mask == 0xffffffffffffULL) {
                    /* The destination MAC belongs to a port of V. */
                    bool found = false;
                    for (size_t p = 0; p < t->n_ports; p++) {
                        if (t->ports[p].mac == dst->value) {
                            assert_int_equal(
                                t->switches[t->ports[p].sw].vni, vni);
                            found = true;
                        }
                    }
                    assert_true(found);
                }
            } else if (f->table == 0 && f->n_actions) {
                const struct flow_field *in = flow_match_get(&f->match,
                                                             FF_IN_PORT);
                const struct flow_field *tun = flow_match_get(&f->match,
                                                              FF_TUN_ID);
                assert_int_equal(f->actions[0].field, FF_METADATA);
                if (tun) {
                    assert_int_equal(f->actions[0].value, tun->value);
                    continue;
                }
                for (size_t p = 0; p < ch->n_ports; p++) {
                    if (ch->ports[p].ofport == in->value) {
                        const struct topo_switch *sw = topo_find_switch(
                            t, ch->ports[p].switch_name);
                        assert_int_equal(f->actions[0].value, sw->vni);
                    }
                }
                continue;
            } else {
                continue;
            }
            for (size_t a = 0; a < f->n_actions; a++) {
                const struct flow_action *act = &f->actions[a];
                uint32_t port = 0;
                /* output:IN_PORT (ARP answers) returns to the asker. */
                if (act->type == FA_OUTPUT
                    && act->arg != COMPILE_TUNNEL_OFPORT
                    && act->arg != OFPP_IN_PORT) {
                    port = act->arg;
                } else if (act->type == FA_SET_FIELD
                           && act->field == FF_REG15) {
                    port = (uint32_t) act->value;
                } else if (act->type == FA_SET_FIELD
                           && act->field == FF_TUN_ID) {
                    assert_int_equal(act->value, vni);
                }
                if (port) {
                    bool found = false;
                    for (size_t p = 0; p < ch->n_ports; p++) {
                        if (ch->ports[p].ofport == port) {
                            const struct topo_switch *sw = topo_find_switch(
                                t, ch->ports[p].switch_name);
                            assert_int_equal(sw->vni, vni);
                            found = true;
                        }
                    }
                    assert_true(found);
                    checked++;
                }
            }
        }
    }
    assert_true(checked >= 8);
    compile_result_destroy(r);
    topo_destroy(t);
}

static void
count_any(void *aux, const struct compiled_host *o,
          const struct compiled_host *n)
{
    (*(int *) aux)++;
}

static void
test_determinism(void **state)
{
    static const char reordered[] = BASE_HOSTS OTHER_PORTS PORT_WEB1("hv1");
    struct topo *t = compile_test_load("c.yaml", base_yaml), *t2 = compile_test_load("c.yaml", reordered);
    struct compile_result *a = compile_topology(t, NULL);
    struct compile_result *b = compile_topology(t, NULL);
    struct compile_result *c = compile_topology(t, a);
    struct compile_result *d = compile_topology(t2, NULL);
    for (size_t h = 0; h < a->n_hosts; h++) {
        assert_true(flow_set_equal(&a->hosts[h].flows, &b->hosts[h].flows));
        assert_true(flow_set_equal(&a->hosts[h].flows, &c->hosts[h].flows));
        assert_true(flow_set_equal(&a->hosts[h].flows, &d->hosts[h].flows));
    }
    int n = 0;
    compile_changed_hosts(a, d, count_any, &n);
    assert_int_equal(n, 0);
    compile_result_destroy(a);
    compile_result_destroy(b);
    compile_result_destroy(c);
    compile_result_destroy(d);
    topo_destroy(t);
    topo_destroy(t2);
}

struct changed {
    int n;
    char names[8][16];
};

static void
collect_changed(void *aux, const struct compiled_host *o,
                const struct compiled_host *n)
{
    struct changed *c = aux;
    assert_non_null(o);
    assert_non_null(n);
    assert_true(c->n < 8);
    snprintf(c->names[c->n++], sizeof c->names[0], "%s", n->name);
}

struct diff_aux {
    const struct compile_result *r1, *r2;
    int n;
    bool ok;
};

/* Every differing flow must come from web1 or switch web. */
static void
check_diff(void *aux_, const struct flow *o, const struct flow *n)
{
    struct diff_aux *aux = aux_;
    struct compile_provenance p;
    const struct flow *f = n ? n : o;
    bool known = compile_provenance(n ? aux->r2 : aux->r1, f->cookie, &p);
    aux->n++;
    if (!known || (strcmp(p.object, "ports.web1")
                   && strcmp(p.object, "switches.web")
                   && strcmp(p.object, "switches.web.dhcp"))) {
        char *s = flow_format(f);
        fprintf(stderr, "unexpected change: %s (%s)\n", s,
                known ? p.object : "?");
        free(s);
        aux->ok = false;
    }
}

/* Moving web1 from hv1 to hv2 changes hv1 and hv2 only; untouched ports
 * keep their numbers and (on hv2) their flows byte for byte. */
static void
test_move(void **state)
{
    struct topo *t1 = compile_test_load("c.yaml", base_yaml), *t2 = compile_test_load("c.yaml", moved_yaml);
    struct compile_result *r1 = compile_topology(t1, NULL);
    struct compile_result *r2 = compile_topology(t2, r1);
    struct changed c = { 0 };

    compile_changed_hosts(r1, r2, collect_changed, &c);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.names[0], "hv1");
    assert_string_equal(c.names[1], "hv2");

    assert_int_equal(ofport(r1, "hv1", "db1"), ofport(r2, "hv1", "db1"));
    assert_int_equal(ofport(r1, "hv2", "web2"), ofport(r2, "hv2", "web2"));
    assert_int_equal(ofport(r1, "hv2", "db2"), ofport(r2, "hv2", "db2"));
    assert_int_equal(ofport(r1, "hv3", "db3"), ofport(r2, "hv3", "db3"));
    uint32_t w1 = ofport(r2, "hv2", "web1");
    assert_int_not_equal(w1, ofport(r2, "hv2", "web2"));
    assert_int_not_equal(w1, ofport(r2, "hv2", "db2"));
    assert_int_equal(compile_test_host(r2, "hv1")->n_ports, 1);
    assert_int_equal(compile_test_host(r2, "hv2")->n_ports, 3);

    /* On hv2 only web1's and switch web's flows changed. */
    struct diff_aux aux = { r1, r2, 0, true };
    flow_set_diff(&compile_test_host(r1, "hv2")->flows, &compile_test_host(r2, "hv2")->flows,
                                            check_diff, &aux);
    assert_true(aux.ok);
    assert_true(aux.n >= 5);

    /* Moving it back with the moved result as 'prev' gives hv2's old
     * numbers back to the ports that stayed. */
    struct compile_result *r3 = compile_topology(t1, r2);
    assert_int_equal(ofport(r3, "hv2", "web2"), ofport(r1, "hv2", "web2"));
    c.n = 0;
    compile_changed_hosts(r2, r3, collect_changed, &c);
    assert_int_equal(c.n, 2);

    compile_result_destroy(r1);
    compile_result_destroy(r2);
    compile_result_destroy(r3);
    topo_destroy(t1);
    topo_destroy(t2);
}

static void
count_added(void *aux, const struct compiled_host *o,
            const struct compiled_host *n)
{
    int *c = aux;
    assert_null(o);
    assert_non_null(n);
    (*c)++;
}

static void
test_added_hosts(void **state)
{
    struct topo *t = compile_test_load("c.yaml", base_yaml);
    struct compile_result *r = compile_topology(t, NULL);
    int c = 0;
    compile_changed_hosts(NULL, r, count_added, &c);
    assert_int_equal(c, 4);
    compile_result_destroy(r);
    compile_result_destroy(NULL);
    topo_destroy(t);
}

static void
test_provenance(void **state)
{
    struct topo *t = compile_test_load("c.yaml", base_yaml);
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *hv1 = compile_test_host(r, "hv1");
    struct compile_provenance p;

    /* Every flow on every host explains itself. */
    for (size_t h = 0; h < r->n_hosts; h++) {
        for (size_t i = 0; i < r->hosts[h].flows.n; i++) {
            assert_true(compile_provenance(r, r->hosts[h].flows.flows[i].cookie,
                                           &p));
        }
    }

    struct flow_match m = { 0 };
    flow_match_set(&m, FF_REG14, ofport(r, "hv1", "web1"), 0);
    flow_match_set(&m, FF_ETH_SRC, 0x0a0000000111ULL, 0);
    flow_match_set(&m, FF_ETH_TYPE, 0x0800, 0);
    flow_match_set(&m, FF_IPV4_SRC, 0x0a01000b, 0);
    const struct flow *f = find_flow(hv1, 10, 100, &m);
    assert_non_null(f);
    assert_true(f->cookie >> 56 == 4);
    assert_true(compile_provenance(r, f->cookie, &p));
    assert_string_equal(p.kind, "port");
    assert_string_equal(p.object, "ports.web1");
    assert_string_equal(p.file, "c.yaml");
    assert_int_equal(p.line, WEB1_LINE);
    assert_int_equal(p.col, 5);
    assert_string_equal(p.rule, "port security: allow 10.1.0.11 from "
                        "0a:00:00:00:01:11");

    /* The flood flow names the switch. */
    memset(&m, 0, sizeof m);
    flow_match_set(&m, FF_METADATA, 100, 0);
    flow_match_set(&m, FF_ETH_DST, 0x010000000000ULL, 0x010000000000ULL);
    flow_match_set(&m, FF_REG13, 0, 0);
    f = find_flow(hv1, 30, 100, &m);
    assert_non_null(f);
    assert_true(compile_provenance(r, f->cookie, &p));
    assert_string_equal(p.kind, "switch");
    assert_string_equal(p.object, "switches.web");
    assert_int_equal(p.line, 11);

    /* The local delivery rule names the port and its number. */
    memset(&m, 0, sizeof m);
    flow_match_set(&m, FF_METADATA, 100, 0);
    flow_match_set(&m, FF_ETH_DST, 0x0a0000000111ULL, 0);
    f = find_flow(hv1, 30, 100, &m);
    assert_non_null(f);
    assert_true(compile_provenance(r, f->cookie, &p));
    char *want = xasprintf("l2: deliver to web1 (local port %u)",
                           ofport(r, "hv1", "web1"));
    assert_string_equal(p.rule, want);
    free(want);

    /* Defaults are the pipeline's. */
    assert_true(compile_provenance(r, hv1->flows.flows[hv1->flows.n - 1].cookie,
                                   &p));
    assert_string_equal(p.kind, "pipeline");
    assert_false(compile_provenance(r, 0x1234, &p));
    compile_result_destroy(r);
    topo_destroy(t);
}

/* Ports that already had numbers keep them; new ones take free ones. */
static void
test_ofport_stability(void **state)
{
    struct topo *t1 = compile_test_load("c.yaml", BASE_HOSTS PORT_WEB1("hv1") OTHER_PORTS);
    struct compile_result *r1 = compile_topology(t1, NULL);
    char *more = xasprintf("%s", BASE_HOSTS PORT_WEB1("hv1") OTHER_PORTS);
    for (int i = 0; i < 40; i++) {
        char *n = xasprintf("%s  - {name: x%d, host: hv1, switch: web}\n",
                            more, i);
        free(more);
        more = n;
    }
    struct topo *t2 = compile_test_load("c.yaml", more);
    struct compile_result *r2 = compile_topology(t2, r1);
    assert_int_equal(ofport(r1, "hv1", "web1"), ofport(r2, "hv1", "web1"));
    assert_int_equal(ofport(r1, "hv1", "db1"), ofport(r2, "hv1", "db1"));
    const struct compiled_host *h = compile_test_host(r2, "hv1");
    assert_int_equal(h->n_ports, 42);
    for (size_t i = 0; i < h->n_ports; i++) {
        assert_true(h->ports[i].ofport >= 1 && h->ports[i].ofport <= 3999);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(h->ports[i].ofport, h->ports[j].ofport);
        }
    }
    free(more);
    compile_result_destroy(r1);
    compile_result_destroy(r2);
    topo_destroy(t1);
    topo_destroy(t2);
}

/* 10,000 ports over 100 hosts and 200 switches: load and compile times. */
static void
test_scale(void **state)
{
    size_t cap = 0, len = 0;
    char *y = NULL;
#define APPEND(...) do {                                            \
        char *s__ = xasprintf(__VA_ARGS__);                         \
        size_t n__ = strlen(s__);                                   \
        y = xgrow(y, &cap, len + n__ + 1, 1);                       \
        memcpy(y + len, s__, n__ + 1);                              \
        len += n__;                                                 \
        free(s__);                                                  \
    } while (0)
    APPEND("hosts:\n");
    for (int h = 0; h < 100; h++) {
        APPEND("  - {name: h%d, tunnel_ip: 10.200.%d.%d/16}\n", h, h / 200,
               h % 200 + 1);
    }
    APPEND("switches:\n");
    for (int s = 0; s < 200; s++) {
        APPEND("  - {name: s%d, cidr: 10.%d.%d.0/24}\n", s, s / 250, s % 250);
    }
    APPEND("ports:\n");
    for (int p = 0; p < 10000; p++) {
        int s = p % 200;
        APPEND("  - {name: p%d, host: h%d, switch: s%d, ip: 10.%d.%d.%d}\n",
               p, (p * 7) % 100, s, s / 250, s % 250, p / 200 + 2);
    }
    long long t0 = time_msec();
    struct topo *t = compile_test_load("c.yaml", y);
    long long t1 = time_msec();
    struct compile_result *r = compile_topology(t, NULL);
    long long t2 = time_msec();
    size_t flows = 0;
    for (size_t h = 0; h < r->n_hosts; h++) {
        flows += r->hosts[h].flows.n;
    }
    fprintf(stderr, "scale: 10000 ports: load %lld ms, compile %lld ms, "
            "%zu flows\n", t1 - t0, t2 - t1, flows);
    assert_true(flows > 10000);
    /* Generous bounds: sanitizers and a shared machine. */
    assert_true(t1 - t0 < 5000);
    assert_true(t2 - t1 < 5000);
    compile_result_destroy(r);
    topo_destroy(t);
    free(y);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flows),
        cmocka_unit_test(test_flood_scope),
        cmocka_unit_test(test_isolation),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_move),
        cmocka_unit_test(test_added_hosts),
        cmocka_unit_test(test_provenance),
        cmocka_unit_test(test_ofport_stability),
        cmocka_unit_test(test_scale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
