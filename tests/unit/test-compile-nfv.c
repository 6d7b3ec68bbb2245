/* test-compile-nfv.c — anet-nfv instances in the pipeline (compile-nfv.c)
 * with topology-examples/three-tier-nfv.yaml: fw1 on router r1 between app
 * and db on hv2, lb1 on switch app (10.2.0.100) on hv1.
 *
 * Checks: the steering flows of both directions on every host (into the
 * instance's port on hv2, through the tunnel with the side's steering VNI
 * elsewhere), hv2's classification of the steering VNIs, of what the
 * instance sends (into the L2 table of the switch its port faces) and of
 * its own answers (back into the router with the flagged key), the
 * instances each host runs (ports, ofports, interface names), the load
 * balancer as an ordinary port of switch app, that a policy-only change is
 * a config change of hv2 alone with no flow changing anywhere, that moving
 * the firewall changes every host's steering, and that the incremental
 * engine equals a full compile throughout.
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
#include "lib/addr.h"
#include "lib/util.h"

static char *
example_text(void)
{
    const char *dir = getenv("ANET_SOURCE_DIR");
    char *path = xasprintf("%s/topology-examples/three-tier-nfv.yaml",
                           dir ? dir : ".");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = xcalloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    fclose(f);
    free(path);
    buf[n] = '\0';
    return buf;
}

/* 'text' with the first 'from' replaced by 'to'. */
static char *
edit(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    return xasprintf("%.*s%s%s", (int) (at - text), text, to,
                     at + strlen(from));
}

static const struct compiled_nfv *
find_nfv(const struct compiled_host *h, const char *name)
{
    for (size_t i = 0; i < h->n_nfv; i++) {
        if (!strcmp(h->nfv[i].name, name)) {
            return &h->nfv[i];
        }
    }
    return NULL;
}

static uint32_t
port_ofport(const struct compiled_host *h, const char *name)
{
    for (size_t i = 0; i < h->n_ports; i++) {
        if (!strcmp(h->ports[i].name, name)) {
            return h->ports[i].ofport;
        }
    }
    fail_msg("no port %s on %s", name, h->name);
    return 0;
}

/* Flows of table 'table' at 'prio' of 'h'. */
static size_t
count_prio(const struct compiled_host *h, unsigned int table,
           unsigned int prio)
{
    size_t n = 0;
    for (size_t i = 0; i < h->flows.n; i++) {
        n += h->flows.flows[i].table == table
             && h->flows.flows[i].priority == prio;
    }
    return n;
}

/* The value of action 'field' set by the first flow of 'h' in 'table' at
 * 'prio' that outputs to port 'out' (0: any). */
static uint64_t
set_value(const struct compiled_host *h, unsigned int table,
          unsigned int prio, unsigned int field)
{
    for (size_t i = 0; i < h->flows.n; i++) {
        const struct flow *f = &h->flows.flows[i];
        if (f->table != table || f->priority != prio) {
            continue;
        }
        for (size_t k = 0; k < f->n_actions; k++) {
            if (f->actions[k].type == FA_SET_FIELD
                && f->actions[k].field == field) {
                return f->actions[k].value;
            }
        }
    }
    return 0;
}

static void
test_example(void **state)
{
    (void) state;
    struct topo *t = compile_test_load_example("three-tier-nfv.yaml");
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *hv1 = compile_test_host(r, "hv1");
    const struct compiled_host *hv2 = compile_test_host(r, "hv2");
    const struct compiled_host *hv3 = compile_test_host(r, "hv3");
    uint32_t md = compile_test_router_md("r1");

    /* The instances: fw1 on hv2 (two ports), lb1 on hv1 (its port). */
    const struct compiled_nfv *fw = find_nfv(hv2, "fw1");
    assert_non_null(fw);
    assert_int_equal(fw->kind, COMPILED_NFV_VAF);
    assert_int_equal(fw->n_ports, 2);
    assert_string_equal(fw->ports[0].iface, "fwl-fw1");
    assert_string_equal(fw->ports[1].iface, "fwr-fw1");
    assert_true(fw->ports[0].ofport >= 4100 && fw->ports[0].ofport < 8100);
    assert_int_equal(fw->ports[1].ofport, fw->ports[0].ofport + 1);
    assert_null(find_nfv(hv1, "fw1"));
    assert_null(find_nfv(hv3, "fw1"));
    assert_int_equal(hv3->n_nfv, 0);
    const struct compiled_nfv *lb = find_nfv(hv1, "lb1");
    assert_non_null(lb);
    assert_int_equal(lb->kind, COMPILED_NFV_VAD);
    assert_int_equal(lb->n_ports, 1);
    assert_string_equal(lb->ports[0].iface, "lb-lb1");
    assert_int_equal(lb->ports[0].ofport, port_ofport(hv1, "lb1"));
    uint32_t left = fw->ports[0].ofport, right = fw->ports[1].ofport;

    /* The load balancer is a port of app: ARP for the VIP on every host
     * of app, its MAC in app's L2 table. */
    const struct topo_port *lbp = topo_find_port(t, "lb1");
    assert_non_null(lbp);
    assert_true(lbp->nfv);
    char mac[ETH_ADDR_STRLEN];
    eth_format(lbp->mac, mac);
    for (size_t h = 0; h < r->n_hosts; h++) {
        bool arp = false;
        for (size_t i = 0; i < r->hosts[h].flows.n; i++) {
            char *s = flow_format(&r->hosts[h].flows.flows[i]);
            arp |= strstr(s, "arp_tpa=10.2.0.100") != NULL;
            free(s);
        }
        assert_true(arp);
    }

    /* Steering: app (10.2.0.x, 3 addresses with the VIP) <-> db (2), on
     * every host, priority 110 in table 41. */
    for (size_t h = 0; h < r->n_hosts; h++) {
        assert_int_equal(count_prio(&r->hosts[h], TBL_NEIGH, 110), 5);
    }
    /* app -> db on hv2: into the left port; on hv1 and hv3 the tunnel
     * to hv2 (10.200.0.12) with the side's steering VNI. */
    const struct topo_firewall *tf = topo_find_firewall(t, "fw1");
    assert_non_null(tf);
    const char *a = t->switches[tf->sw[0]].name;
    assert_string_equal(a, "app");
    /* r1's keys follow its switches by name: app 1, db 2, web 3. */
    char db1_mac[ETH_ADDR_STRLEN];
    eth_format(topo_find_port(t, "db1")->mac, db1_mac);
    compile_test_expect_flow(hv2, xasprintf("table=41, priority=110,"
        "metadata=%#x,dl_type=0x800,reg0=0xa03000b,reg14=0x1,reg15=0x2 "
        "actions=dec_ttl,set_field:0a:a2:40:4c:25:b0->dl_src,"
        "set_field:%s->dl_dst,output:%u", md, db1_mac, left));
    /* The first steering flow (flows sort by reg0: app's addresses) is
     * db -> app, into the right port. */
    uint64_t vni_right = set_value(hv1, TBL_NEIGH, 110, FF_TUN_ID);
    assert_true(vni_right != 0);
    assert_int_equal(set_value(hv1, TBL_NEIGH, 110, FF_TUN_DST),
                     0x0ac8000c);
    assert_int_equal(set_value(hv3, TBL_NEIGH, 110, FF_TUN_DST),
                     0x0ac8000c);
    for (size_t i = 0; i < t->n_switches; i++) {
        assert_true(t->switches[i].vni != vni_right);
    }

    /* hv2: the steering VNIs into the ports, the ports into their
     * switches, the answers back into r1; no other host has them. */
    assert_int_equal(count_prio(hv2, TBL_CLASSIFY, 110), 4);
    assert_int_equal(count_prio(hv1, TBL_CLASSIFY, 110), 0);
    compile_test_expect_flow(hv2, xasprintf("table=0, priority=110,"
        "in_port=4000,tun_id=%#llx actions=output:%u",
        (unsigned long long) vni_right, right));
    uint32_t app_vni = t->switches[tf->sw[0]].vni;
    uint32_t db_vni = t->switches[tf->sw[1]].vni;
    compile_test_expect_flow(hv2, xasprintf("table=0, priority=100,"
        "in_port=%u actions=set_field:%#x->metadata,set_field:%#x->reg14,"
        "set_field:0x0->reg13,resubmit(,30)", right, db_vni, right));
    compile_test_expect_flow(hv2, xasprintf("table=0, priority=100,"
        "in_port=%u actions=set_field:%#x->metadata,set_field:%#x->reg14,"
        "set_field:0x0->reg13,resubmit(,30)", left, app_vni, left));

    /* Provenance. */
    struct compiler *c = compiler_create();
    assert_int_equal(compiler_apply(c, t, r, NULL), 0);
    struct compile_provenance pv;
    bool prov = false;
    for (size_t i = 0; i < hv2->flows.n; i++) {
        const struct flow *f = &hv2->flows.flows[i];
        if (f->table == TBL_NEIGH && f->priority == 110) {
            assert_true(compiler_provenance(c, f->cookie, &pv));
            assert_string_equal(pv.object, "firewalls.fw1");
            assert_string_equal(pv.kind, "firewall");
            assert_int_equal(pv.line, tf->mark.line);
            prov = true;
        }
    }
    assert_true(prov);
    compiler_destroy(c);
    compile_result_destroy(r);
    topo_destroy(t);
}

/* Engine after 'yaml' == a full compile of it. */
static void
check_engine(struct compiler *c, const struct topo *t)
{
    struct compile_result *r = compile_topology(t, NULL);
    for (size_t h = 0; h < r->n_hosts; h++) {
        struct flow_set fs;
        flow_set_init(&fs);
        assert_true(compiler_host_flows(c, r->hosts[h].name, &fs));
        assert_true(flow_set_equal(&fs, &r->hosts[h].flows));
        flow_set_destroy(&fs);
    }
    compile_result_destroy(r);
}

static void
test_changes(void **state)
{
    (void) state;
    char *y0 = example_text();
    struct topo *t0 = compile_test_load("three-tier-nfv.yaml", y0);
    struct compiler *c = compiler_create();
    struct compile_delta d;

    assert_int_equal(compiler_apply(c, t0, NULL, NULL), 0);
    check_engine(c, t0);

    /* A rule's port: hv2's instance policy changes, no flow anywhere. */
    char *y1 = edit(y0, "ports: 5432,", "ports: 5433,");
    struct topo *t1 = compile_test_load("three-tier-nfv.yaml", y1);
    compile_delta_init(&d);
    assert_int_equal(compiler_apply(c, t1, NULL, &d), 0);
    assert_int_equal(d.n_hosts, 1);
    assert_string_equal(d.hosts[0].name, "hv2");
    assert_true(d.hosts[0].config_changed);
    assert_int_equal(compile_delta_n_flows(&d), 0);
    compile_delta_destroy(&d);
    check_engine(c, t1);

    /* The firewall moves to hv3: every host's steering changes. */
    char *y2 = edit(y1, "name: fw1\n    host: hv2", "name: fw1\n    host: hv3");
    struct topo *t2 = compile_test_load("three-tier-nfv.yaml", y2);
    compile_delta_init(&d);
    assert_int_equal(compiler_apply(c, t2, NULL, &d), 0);
    assert_int_equal(d.n_hosts, 3);
    compile_delta_destroy(&d);
    check_engine(c, t2);

    /* The firewall moves to hv4, a host without any workload: hv4 now
     * holds r1 (its steering flows) and the L2 blocks of r1's switches
     * (tunnel classification of their VNIs), classifies the steering
     * VNIs into the instance, and the other hosts tunnel to it. */
    char *y4 = edit(y2, "hosts:\n", "hosts:\n  - name: hv4\n"
                    "    tunnel_ip: 10.200.0.14/24\n");
    char *y4b = edit(y4, "name: fw1\n    host: hv3", "name: fw1\n    host: hv4");
    struct topo *t4 = compile_test_load("three-tier-nfv.yaml", y4b);
    assert_int_equal(compiler_apply(c, t4, NULL, NULL), 0);
    check_engine(c, t4);
    struct compile_result *r4 = compile_topology(t4, NULL);
    const struct compiled_host *hv4 = compile_test_host(r4, "hv4");
    const struct compiled_host *hv1 = compile_test_host(r4, "hv1");
    assert_int_equal(hv4->n_ports, 0);
    assert_true(count_prio(hv4, TBL_NEIGH, 110) > 0);
    assert_int_equal(count_prio(hv4, TBL_NEIGH, 110),
                     count_prio(hv1, TBL_NEIGH, 110));
    /* Table 0: the three switches' VNIs and the two steering VNIs from
     * the tunnel, and the instance's two ports (plus its answers). */
    size_t tun_in = 0;
    for (size_t i = 0; i < hv4->flows.n; i++) {
        const struct flow *f = &hv4->flows.flows[i];
        const struct flow_field *ip = flow_match_get(&f->match, FF_IN_PORT);
        tun_in += f->table == 0 && ip && ip->value == COMPILE_TUNNEL_OFPORT;
    }
    assert_int_equal(tun_in, 3 + 2);
    assert_non_null(find_nfv(hv4, "fw1"));
    assert_null(find_nfv(compile_test_host(r4, "hv3"), "fw1"));
    /* hv1 steers db -> app traffic through the tunnel to hv4. */
    bool to_hv4 = false;
    for (size_t i = 0; i < hv1->flows.n; i++) {
        const struct flow *f = &hv1->flows.flows[i];
        for (size_t k = 0; f->table == TBL_NEIGH && f->priority == 110
                           && k < f->n_actions; k++) {
            to_hv4 |= f->actions[k].type == FA_SET_FIELD
                      && f->actions[k].field == FF_TUN_DST
                      && f->actions[k].value == 0x0ac8000e;
        }
    }
    assert_true(to_hv4);
    compile_result_destroy(r4);

    /* Back to hv3: hv4 holds nothing of r1 any more. */
    char *y5 = edit(y4, "name: fw1\n    host: hv3", "name: fw1\n    host: hv3");
    struct topo *t5 = compile_test_load("three-tier-nfv.yaml", y5);
    assert_int_equal(compiler_apply(c, t5, NULL, NULL), 0);
    check_engine(c, t5);
    struct compile_result *r5 = compile_topology(t5, NULL);
    hv4 = compile_test_host(r5, "hv4");
    assert_int_equal(count_prio(hv4, TBL_NEIGH, 110), 0);
    assert_int_equal(compile_test_count_table(hv4, TBL_NEIGH), 0);
    compile_result_destroy(r5);
    assert_int_equal(compiler_apply(c, t2, NULL, NULL), 0);
    check_engine(c, t2);
    topo_destroy(t4);
    topo_destroy(t5);
    free(y4);
    free(y4b);
    free(y5);

    /* No firewall at all: its flows go, the rest stays. */
    char *y3 = edit(y2, "firewalls:", "firewalls: []\nunused_fws:");
    char *cut = strstr(y3, "unused_fws:");
    char *lbs = strstr(y3, "load_balancers:");
    assert_true(cut && lbs && lbs > cut);
    memmove(cut, lbs, strlen(lbs) + 1);
    struct topo *t3 = compile_test_load("three-tier-nfv.yaml", y3);
    assert_int_equal(compiler_apply(c, t3, NULL, NULL), 0);
    check_engine(c, t3);
    struct compile_result *r3 = compile_topology(t3, NULL);
    for (size_t h = 0; h < r3->n_hosts; h++) {
        assert_int_equal(count_prio(&r3->hosts[h], TBL_NEIGH, 110), 0);
    }
    compile_result_destroy(r3);

    compiler_destroy(c);
    topo_destroy(t0);
    topo_destroy(t1);
    topo_destroy(t2);
    topo_destroy(t3);
    free(y0);
    free(y1);
    free(y2);
    free(y3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
