/* test-topo-nfv.c — firewalls and load balancers in the topology: the
 * model (firewalls and load balancers sorted by name with resolved
 * indexes and defaults, rules and services in file order, the port
 * synthesized for every load balancer), every validation error with its
 * exact position and path, many of them in one pass, and the shipped
 * three-tier-nfv example. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/topo.h"
#include "tests/unit/support/topo-test.h"
#include "lib/addr.h"
#include "lib/util.h"

/* Lines 1..20; the sections under test start on line 21.  hv1 and hv2
 * have ports on r1's switches, hv3 only on 'bare' (no router, no cidr);
 * app3 has no ip. */
#define HEAD                                                            \
    "hosts:\n"                                                          \
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"                      \
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n"                      \
    "  - {name: hv3, tunnel_ip: 10.200.0.13/24}\n"                      \
    "switches:\n"                                                       \
    "  - {name: web, cidr: 10.1.0.0/24}\n"                              \
    "  - {name: app, cidr: 10.2.0.0/24, default_security_groups: [g]}\n" \
    "  - {name: db, cidr: 10.3.0.0/24}\n"                               \
    "  - {name: bare}\n"                                                \
    "security_groups: [{name: g}]\n"                               /* 10 */ \
    "routers:\n"                                                        \
    "  - name: r1\n"                                                    \
    "    ports: [{switch: web, ip: 10.1.0.1/24}, {switch: app, ip: "    \
    "10.2.0.1/24}, {switch: db, ip: 10.3.0.1/24}]\n"                    \
    "ports:\n"                                                          \
    "  - {name: web1, host: hv1, switch: web, ip: 10.1.0.11}\n"    /* 15 */ \
    "  - {name: app1, host: hv2, switch: app, ip: 10.2.0.11}\n"         \
    "  - {name: app2, host: hv2, switch: app, ip: 10.2.0.12}\n"         \
    "  - {name: app3, host: hv2, switch: app}\n"                        \
    "  - {name: db1, host: hv1, switch: db, ip: 10.3.0.11}\n"           \
    "  - {name: bare1, host: hv3, switch: bare}\n"                 /* 20 */

/* A firewall fw1 (line 22) on hv2, r1, between app and db, whose one rule
 * (line 27, '{' at column 9) is 'rule'. */
#define RULE(rule)                                                      \
    HEAD "firewalls:\n"                                                 \
         "  - name: fw1\n"                                              \
         "    host: hv2\n"                                              \
         "    router: r1\n"                                             \
         "    between: [app, db]\n"                                /* 25 */ \
         "    rules:\n"                                                 \
         "      - " rule "\n"

/* One firewall in flow style on line 22 ('{' at column 5). */
#define FW(fw) HEAD "firewalls:\n  - " fw "\n"

/* A load balancer lb-ish on lines 22..: name (col 11), host (line 23,
 * col 11), switch (24, 13), vip (25, 10), services (26) and then 'svc'. */
#define LB(name, host, sw, vip, svc)                                    \
    HEAD "load_balancers:\n"                                            \
         "  - name: " name "\n"                                         \
         "    host: " host "\n"                                         \
         "    switch: " sw "\n"                                         \
         "    vip: " vip "\n"                                      /* 25 */ \
         "    services:\n"                                              \
         svc
/* A service on lines 27..30: protocol (27, col 19), port (28, col 15),
 * backends (29) with one backend (30, '{' col 13, its port col 20). */
#define SVC(proto, port, be)                                            \
    "      - protocol: " proto "\n"                                     \
    "        port: " port "\n"                                          \
    "        backends:\n"                                               \
    "          - " be "\n"
#define LB1(svc) LB("lb1", "hv1", "app", "10.2.0.100", svc)

static void
test_valid(void **state)
{
    (void) state;
    struct topo *t = topo_test_load_ok(
        HEAD
        "firewalls:\n"
        "  - name: fw1\n"
        "    host: hv2\n"
        "    router: r1\n"
        "    between: [db, app]\n"                                     /* 25 */
        "    default_action: reject\n"
        "    max_connections: 5000\n"
        "    rules:\n"
        "      - {protocol: tcp, ports: 5432, src: [10.2.0.0/24], "
        "dst: [10.3.0.0/24, 10.3.1.0/24]}\n"
        "      - {protocol: icmp, icmp_type: 8}\n"                     /* 30 */
        "      - {protocol: tcp, ports: \"20-23\", action: reject, "
        "log: true}\n"
        "      - {}\n"
        "  - {name: fw0, host: hv1, router: r1, between: [web, app], "
        "max_connections_per_source: 100, malformed: pass}\n"
        "load_balancers:\n"
        "  - name: lb1\n"                                              /* 35 */
        "    host: hv1\n"
        "    switch: app\n"
        "    vip: 10.2.0.100\n"
        "    services:\n"
        "      - protocol: tcp\n"                                      /* 40 */
        "        port: 80\n"
        "        health_interval_ms: 500\n"
        "        backends:\n"
        "          - {port: app1, to_port: 8080, weight: 3}\n"
        "          - {port: app2}\n"                                   /* 45 */
        "      - {protocol: udp, port: 53, backends: [{port: app1}]}\n"
        "  - {name: alb, host: hv3, switch: app, vip: 10.2.0.200, services: "
        "[{protocol: tcp, port: 443, health_interval_ms: 0, "
        "backends: [{port: app2, to_port: 8443}]}]}\n");

    const struct topo_host *hv1 = topo_find_host(t, "hv1");
    const struct topo_host *hv2 = topo_find_host(t, "hv2");
    const struct topo_host *hv3 = topo_find_host(t, "hv3");
    size_t app = (size_t) (topo_find_switch(t, "app") - t->switches);
    size_t db = (size_t) (topo_find_switch(t, "db") - t->switches);
    size_t web = (size_t) (topo_find_switch(t, "web") - t->switches);
    assert_true(app < db && db < web);

    /* Firewalls sorted by name; sw[0] < sw[1] whatever the file order. */
    assert_int_equal(t->n_firewalls, 2);
    const struct topo_firewall *fw0 = topo_find_firewall(t, "fw0");
    const struct topo_firewall *fw1 = topo_find_firewall(t, "fw1");
    assert_ptr_equal(fw0, &t->firewalls[0]);
    assert_ptr_equal(fw1, &t->firewalls[1]);
    assert_null(topo_find_firewall(t, "fw2"));
    assert_ptr_equal(&t->hosts[fw1->host], hv2);
    assert_ptr_equal(&t->routers[fw1->router], topo_find_router(t, "r1"));
    assert_int_equal(fw1->sw[0], app);
    assert_int_equal(fw1->sw[1], db);
    assert_int_equal(fw1->default_action, TOPO_SG_REJECT);
    assert_int_equal(fw1->max_connections, 5000);
    assert_int_equal(fw1->max_per_source, 312);     /* 5000 / 16 */
    assert_false(fw1->pass_malformed);
    assert_int_equal(fw1->mark.line, 22);
    assert_int_equal(fw1->mark.col, 5);

    assert_int_equal(fw1->n_rules, 4);
    const struct topo_fw_rule *r = &fw1->rules[0];
    assert_int_equal(r->proto, TOPO_SG_TCP);
    assert_int_equal(r->port_min, 5432);
    assert_int_equal(r->port_max, 5432);
    assert_int_equal(r->icmp_type, -1);
    assert_int_equal(r->n_src, 1);
    assert_int_equal(r->src[0].net, topo_test_ip("10.2.0.0"));
    assert_int_equal(r->src[0].plen, 24);
    assert_int_equal(r->n_dst, 2);
    assert_int_equal(r->dst[1].net, topo_test_ip("10.3.1.0"));
    assert_int_equal(r->action, TOPO_SG_ALLOW);
    assert_false(r->log);
    assert_int_equal(r->mark.line, 29);
    assert_int_equal(r->mark.col, 9);
    r = &fw1->rules[1];
    assert_int_equal(r->proto, TOPO_SG_ICMP);
    assert_int_equal(r->icmp_type, 8);
    assert_int_equal(r->port_min, 0);
    assert_int_equal(r->n_src + r->n_dst, 0);
    r = &fw1->rules[2];
    assert_int_equal(r->port_min, 20);
    assert_int_equal(r->port_max, 23);
    assert_int_equal(r->action, TOPO_SG_REJECT);
    assert_true(r->log);
    r = &fw1->rules[3];                     /* {}: anything, allow */
    assert_int_equal(r->proto, TOPO_SG_ANY);
    assert_int_equal(r->port_max, 0);
    assert_int_equal(r->icmp_type, -1);
    assert_int_equal(r->action, TOPO_SG_ALLOW);

    /* Defaults. */
    assert_ptr_equal(&t->hosts[fw0->host], hv1);
    assert_int_equal(fw0->sw[0], app);
    assert_int_equal(fw0->sw[1], web);
    assert_int_equal(fw0->n_rules, 0);
    assert_int_equal(fw0->default_action, TOPO_SG_DENY);
    assert_int_equal(fw0->max_connections, 100000);
    assert_int_equal(fw0->max_per_source, 100);
    assert_true(fw0->pass_malformed);

    /* Load balancers sorted by name. */
    assert_int_equal(t->n_lbs, 2);
    const struct topo_lb *alb = topo_find_lb(t, "alb");
    const struct topo_lb *lb1 = topo_find_lb(t, "lb1");
    assert_ptr_equal(alb, &t->lbs[0]);
    assert_ptr_equal(lb1, &t->lbs[1]);
    assert_null(topo_find_lb(t, "fw1"));
    assert_ptr_equal(&t->hosts[lb1->host], hv1);
    assert_int_equal(lb1->sw, app);
    assert_int_equal(lb1->vip, topo_test_ip("10.2.0.100"));
    assert_int_equal(lb1->mark.line, 35);
    assert_int_equal(lb1->n_services, 2);
    const struct topo_lb_service *v = &lb1->services[0];
    assert_int_equal(v->proto, 6);
    assert_int_equal(v->port, 80);
    assert_int_equal(v->health_interval_ms, 500);
    assert_int_equal(v->mark.line, 40);
    assert_int_equal(v->n_backends, 2);
    assert_ptr_equal(&t->ports[v->backends[0].port],
                     topo_find_port(t, "app1"));
    assert_int_equal(v->backends[0].to_port, 8080);
    assert_int_equal(v->backends[0].weight, 3);
    assert_int_equal(v->backends[0].mark.line, 44);
    assert_ptr_equal(&t->ports[v->backends[1].port],
                     topo_find_port(t, "app2"));
    assert_int_equal(v->backends[1].to_port, 80);     /* the service's */
    assert_int_equal(v->backends[1].weight, 1);
    v = &lb1->services[1];
    assert_int_equal(v->proto, 17);
    assert_int_equal(v->port, 53);
    assert_int_equal(v->health_interval_ms, 0);       /* udp: off */
    assert_int_equal(v->backends[0].to_port, 53);
    assert_ptr_equal(&t->hosts[alb->host], hv3);
    assert_int_equal(alb->services[0].health_interval_ms, 0);
    assert_int_equal(alb->services[0].backends[0].to_port, 8443);

    /* Each load balancer is also a port, sorted in among the others. */
    assert_int_equal(t->n_ports, 8);
    const struct topo_port *p = topo_find_port(t, "lb1");
    assert_non_null(p);
    assert_int_equal(lb1->port, (size_t) (p - t->ports));
    assert_true(p->nfv);
    assert_string_equal(p->iface, "lb-lb1");
    assert_int_equal(p->ip, lb1->vip);
    assert_int_equal(p->sw, app);
    assert_ptr_equal(&t->hosts[p->host], hv1);
    assert_int_equal(p->kind, TOPO_PORT_INTERFACE);
    assert_int_equal(p->mac >> 40, 0x0a);             /* derived */
    assert_int_equal(p->n_groups, 0);   /* not the switch's default */
    assert_int_equal(p->mark.line, 35);
    p = topo_find_port(t, "alb");
    assert_true(p->nfv);
    assert_string_equal(p->iface, "lb-alb");
    assert_ptr_equal(&t->hosts[p->host], hv3);
    assert_int_equal(alb->port, (size_t) (p - t->ports));
    for (size_t i = 0; i < t->n_ports; i++) {
        p = &t->ports[i];
        assert_int_equal(p->nfv, !strcmp(p->name, "lb1")
                                 || !strcmp(p->name, "alb"));
        for (size_t j = 0; j < i; j++) {
            assert_true(t->ports[j].mac != p->mac);
            assert_true(strcmp(t->ports[j].name, p->name) < 0);
        }
    }
    assert_int_equal(topo_find_port(t, "app1")->n_groups, 1);
    topo_destroy(t);
}

/* Without the sections nothing changes. */
static void
test_none(void **state)
{
    (void) state;
    struct topo *t = topo_test_load_ok(HEAD "firewalls:\nload_balancers: []\n");
    assert_int_equal(t->n_firewalls, 0);
    assert_int_equal(t->n_lbs, 0);
    assert_int_equal(t->n_ports, 6);
    for (size_t i = 0; i < t->n_ports; i++) {
        assert_false(t->ports[i].nfv);
    }
    topo_destroy(t);
}

/* Loads 'yaml', asserting it fails with (among others) an error at
 * line:col, 'path', containing 'what'. */
static void
expect_error(const char *yaml, unsigned int line, unsigned int col,
             const char *path, const char *what)
{
    struct topo_errors errs;
    topo_errors_init(&errs);
    struct topo *t = topo_test_load(yaml, &errs);
    assert_null(t);
    topo_test_expect_error(&errs, line, col, path, what);
    topo_errors_destroy(&errs);
}

static void
test_rule_errors(void **state)
{
    (void) state;
    const char *p = "firewalls.fw1.rules[0]";
    char path[128];
#define KP(k) (snprintf(path, sizeof path, "%s.%s", p, k), path)

    expect_error(RULE("{protocol: sctp}"), 27, 20, KP("protocol"),
                 "is not one of tcp, udp, icmp, any");
    expect_error(RULE("{ports: 80}"), 27, 17, KP("ports"),
                 "ports apply to tcp and udp only, not to protocol any");
    expect_error(RULE("{protocol: icmp, ports: 80}"), 27, 33, KP("ports"),
                 "not to protocol icmp");
    expect_error(RULE("{protocol: tcp, ports: 0}"), 27, 32, KP("ports"),
                 "is not a port 1..65535");
    expect_error(RULE("{protocol: tcp, ports: 65536}"), 27, 32, KP("ports"),
                 "is not a port 1..65535");
    expect_error(RULE("{protocol: udp, ports: \"90-80\"}"), 27, 32,
                 KP("ports"), "is reversed (90 > 80); did you mean \"80-90\"");
    expect_error(RULE("{protocol: tcp, icmp_type: 8}"), 27, 36,
                 KP("icmp_type"), "applies to protocol icmp only");
    expect_error(RULE("{protocol: icmp, icmp_type: 256}"), 27, 37,
                 KP("icmp_type"), "out of range; use an integer 0..255");
    expect_error(RULE("{src: [10.1.0.5/24]}"), 27, 16, KP("src[0]"),
                 "has host bits set; did you mean 10.1.0.0/24?");
    expect_error(RULE("{dst: [10.0.0.0/8, nonsense]}"), 27, 28, KP("dst[1]"),
                 "is not an IPv4 network");
    expect_error(RULE("{dst: [10.0.0.0/8, 10.0.0.0/8]}"), 27, 28,
                 KP("dst[1]"), "listed twice");
    expect_error(RULE("{src: [10.0.0.0/33]}"), 27, 16, KP("src[0]"),
                 "is not an IPv4 network");
    expect_error(RULE("{src: []}"), 27, 15, KP("src"),
                 "empty list: src must name at least one network");
    expect_error(RULE("{dst: [[1]]}"), 27, 16, KP("dst[0]"), "not a list");
    expect_error(RULE("{action: drop}"), 27, 18, KP("action"),
                 "is not one of allow, deny, reject");
    expect_error(RULE("{log: maybe}"), 27, 15, KP("log"),
                 "is not true or false");
    expect_error(RULE("{protocl: tcp}"), 27, 10, KP("protocl"),
                 "unknown key 'protocl' in firewall rule");
    expect_error(RULE("{protocol: icmp, icmp_code: 3}"), 27, 26,
                 KP("icmp_code"), "unknown key 'icmp_code'");
    expect_error(RULE("tcp"), 27, 9, p, "must be a mapping");
#undef KP
}

static void
test_firewall_errors(void **state)
{
    (void) state;
    expect_error(FW("{name: fw1, host: hv9, router: r1, between: [app, db]}"),
                 22, 23, "firewalls.fw1.host", "unknown host 'hv9'");
    expect_error(FW("{name: fw1, host: hv2, router: r9, between: [app, db]}"),
                 22, 36, "firewalls.fw1.router", "unknown router 'r9'");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: [app]}"),
                 22, 49, "firewalls.fw1.between",
                 "between lists 1 switch; a firewall stands between exactly "
                 "two");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: []}"),
                 22, 49, "firewalls.fw1.between", "between lists 0 switches");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: "
                    "[app, web, db]}"), 22, 49, "firewalls.fw1.between",
                 "between lists 3 switches");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: [app, app]}"),
                 22, 55, "firewalls.fw1.between[1]",
                 "switch app is listed twice");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: [app, dbx]}"),
                 22, 55, "firewalls.fw1.between[1]", "unknown switch 'dbx'");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: "
                    "[app, bare]}"), 22, 55, "firewalls.fw1.between[1]",
                 "router r1 has no port on switch bare");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: a}"),
                 22, 49, "firewalls.fw1.between", "must be a list");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: }"),
                 22, 49, "firewalls.fw1.between", "empty list: between");
    /* A host without workloads may run a firewall (it then holds the
     * router's tables, see test-compile-nfv). */
    topo_destroy(topo_test_load_ok(FW("{name: fw1, host: hv3, router: r1, "
                                      "between: [app, db]}")));
    /* Names. */
    expect_error(FW("{name: firewall10, host: hv2, router: r1, between: "
                    "[app, db]}"), 22, 12, "firewalls.firewall10.name",
                 "firewall name 'firewall10' is longer than 9 characters");
    expect_error(FW("{name: Fw1, host: hv2, router: r1, between: [app, db]}"),
                 22, 12, "firewalls[0].name", "is not valid");
    expect_error(FW("{name: fw1, host: hv2, router: r1}"), 22, 5,
                 "firewalls.fw1", "missing required key 'between' in "
                 "firewall; add e.g. 'between: [web, db]'");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: [app, db], "
                    "colour: red}"), 22, 60, "firewalls.fw1.colour",
                 "unknown key 'colour' in firewall");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: [app, db], "
                    "default_action: drop}"), 22, 76,
                 "firewalls.fw1.default_action",
                 "default_action 'drop' is not one of allow, deny, reject");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: [app, db], "
                    "max_connections: 0}"), 22, 77,
                 "firewalls.fw1.max_connections",
                 "out of range; use an integer 1..16777216");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: [app, db], "
                    "max_connections: 16777217}"), 22, 77,
                 "firewalls.fw1.max_connections", "out of range");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: [app, db], "
                    "max_connections: 50, max_connections_per_source: 51}"),
                 22, 109, "firewalls.fw1.max_connections_per_source",
                 "'51' out of range; use an integer 1..50 (at most "
                 "max_connections, 50)");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: [app, db], "
                    "max_connections_per_source: 0}"), 22, 88,
                 "firewalls.fw1.max_connections_per_source",
                 "out of range; use an integer 1..100000");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: [app, db], "
                    "malformed: accept}"), 22, 71, "firewalls.fw1.malformed",
                 "malformed 'accept' is not one of drop, pass");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: [app, db], "
                    "rules: x}"), 22, 67, "firewalls.fw1.rules",
                 "must be a list");
    /* Duplicate names; two firewalls on one router and switch pair. */
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: [app, db]}\n"
                    "  - {name: fw1, host: hv2, router: r1, between: "
                    "[web, db]}"), 23, 12, "firewalls.fw1.name",
                 "duplicate firewall name 'fw1' (first defined at line 22)");
    expect_error(FW("{name: fw1, host: hv2, router: r1, between: [app, db]}\n"
                    "  - {name: fw2, host: hv1, router: r1, between: "
                    "[db, app]}"), 23, 49, "firewalls.fw2.between",
                 "firewall fw1 (line 22) already stands on router r1 between "
                 "switches app and db");
    expect_error("firewalls: {name: fw1}\n", 1, 12, "firewalls",
                 "must be a list");
}

static void
test_lb_errors(void **state)
{
    (void) state;
#define SVC0 SVC("tcp", "80", "{port: app1}")

    /* Host, switch, vip. */
    expect_error(LB("lb1", "hv9", "app", "10.2.0.100", SVC0), 23, 11,
                 "load_balancers.lb1.host", "unknown host 'hv9'");
    expect_error(LB("lb1", "hv1", "apx", "10.2.0.100", SVC0), 24, 13,
                 "load_balancers.lb1.switch", "unknown switch 'apx'");
    expect_error(LB("lb1", "hv1", "bare", "10.2.0.100", SVC0), 24, 13,
                 "load_balancers.lb1.switch",
                 "switch bare has no cidr, so a load balancer cannot have its "
                 "vip there; add cidr: to the switch");
    expect_error(LB1(""), 26, 14, "load_balancers.lb1.services",
                 "empty list: a load balancer needs at least one service");
    expect_error(LB("lb1", "hv1", "app", "10.3.0.100", SVC0), 25, 10,
                 "load_balancers.lb1.vip",
                 "vip 10.3.0.100 is outside switch app's cidr 10.2.0.0/24");
    expect_error(LB("lb1", "hv1", "app", "10.2.0.255", SVC0), 25, 10,
                 "load_balancers.lb1.vip",
                 "is the broadcast address of switch app's cidr");
    expect_error(LB("lb1", "hv1", "app", "10.2.0.0", SVC0), 25, 10,
                 "load_balancers.lb1.vip", "is the network address");
    expect_error(LB("lb1", "hv1", "app", "10.2.0.100/24", SVC0), 25, 10,
                 "load_balancers.lb1.vip", "is not an IPv4 address");
    expect_error(LB("lb1", "hv1", "app", "224.0.0.1", SVC0), 25, 10,
                 "load_balancers.lb1.vip", "is not a unicast host address");
    expect_error(LB("lb1", "hv1", "app", "10.2.0.11", SVC0), 25, 10,
                 "load_balancers.lb1.vip",
                 "vip 10.2.0.11 is workload port app1's address (line 16)");
    /* The router's port on that address: reported at the router port,
     * pointing at the vip. */
    expect_error(LB("lb1", "hv1", "app", "10.2.0.1", SVC0), 13, 63,
                 "routers.r1.ports[1].ip",
                 "router port ip 10.2.0.1 is workload port lb1's address "
                 "(line 25)");
    /* Same when the load balancer got no port (its name was refused). */
    expect_error(LB("app3", "hv1", "app", "10.2.0.1", SVC0), 25, 10,
                 "load_balancers.app3.vip",
                 "vip 10.2.0.1 is router r1's port address (line 13)");
    expect_error(LB1(SVC0 "  - {name: lb2, host: hv2, switch: app, vip: "
                     "10.2.0.100, services: [{protocol: udp, port: 53, "
                     "backends: [{port: app2}]}]}\n"), 31, 46,
                 "load_balancers.lb2.vip",
                 "vip 10.2.0.100 is already load balancer lb1's (line 25)");

    /* Names: the load balancer is also a port. */
    expect_error(LB("app3", "hv1", "app", "10.2.0.100", SVC0), 22, 11,
                 "load_balancers.app3.name",
                 "load balancer name 'app3' is already workload port app3's "
                 "(line 18); a load balancer is also a port on its switch");
    expect_error(LB("loadbal10", "hv1", "app", "10.2.0.100", SVC0)
                 "firewalls: [{name: loadbal10, host: hv2, router: r1, "
                 "between: [app, db]}]\n", 22, 11,
                 "load_balancers.loadbal10.name",
                 "is already firewall loadbal10's (line 31); firewalls and "
                 "load balancers share one namespace");
    expect_error(LB("loadbal100", "hv1", "app", "10.2.0.100", SVC0), 22, 11,
                 "load_balancers.loadbal100.name",
                 "load balancer name 'loadbal100' is longer than 9");
    expect_error(LB1(SVC0) "  - {name: lb1}\n", 31, 12,
                 "load_balancers.lb1.name",
                 "duplicate load balancer name 'lb1'");
    expect_error(HEAD "load_balancers:\n  - {name: lb1, host: hv1, "
                 "switch: app, services: []}\n", 22, 5, "load_balancers.lb1",
                 "missing required key 'vip' in load balancer");
    expect_error(LB1(SVC0 "      - {protocol: tcp, prot: 81}\n"), 31, 25,
                 "load_balancers.lb1.services[1].prot",
                 "unknown key 'prot' in load balancer service");

    /* Services. */
    expect_error(LB1(SVC("icmp", "80", "{port: app1}")), 27, 19,
                 "load_balancers.lb1.services[0].protocol",
                 "protocol 'icmp' is not one of tcp, udp");
    expect_error(LB1(SVC("tcp", "0", "{port: app1}")), 28, 15,
                 "load_balancers.lb1.services[0].port",
                 "port '0' out of range; use an integer 1..65535");
    expect_error(LB1(SVC0 "      - {protocol: tcp, port: 80, backends: "
                     "[{port: app2}]}\n"), 31, 31,
                 "load_balancers.lb1.services[1].port",
                 "duplicate service tcp 80: services[0] (line 28) already "
                 "has it");
    expect_error(LB1(SVC0 "      - {protocol: udp, port: 80, "
                     "health_interval_ms: 99, backends: [{port: app2}]}\n"),
                 31, 55, "load_balancers.lb1.services[1].health_interval_ms",
                 "use 0 (no health checks) or an integer 100..60000");
    expect_error(LB1(SVC0 "      - {protocol: udp, port: 80, "
                     "health_interval_ms: 60001, backends: [{port: app2}]}\n"),
                 31, 55, "load_balancers.lb1.services[1].health_interval_ms",
                 "out of range");
    expect_error(LB1("      - {protocol: tcp, port: 80, backends: []}\n"),
                 27, 45, "load_balancers.lb1.services[0].backends",
                 "empty list: a service needs at least one backend");
    expect_error(LB1("      - {protocol: tcp, port: 80}\n"), 27, 9,
                 "load_balancers.lb1.services[0]",
                 "missing required key 'backends'");

    /* Backends. */
    const char *bp = "load_balancers.lb1.services[0].backends[0].port";
    expect_error(LB1(SVC("tcp", "80", "{port: nope}")), 30, 20, bp,
                 "unknown port 'nope'");
    expect_error(LB1(SVC("tcp", "80", "{port: app3}")), 30, 20, bp,
                 "port app3 has no ip, so the load balancer has no address "
                 "to forward to");
    expect_error(LB1(SVC("tcp", "80", "{port: db1}")), 30, 20, bp,
                 "port db1 is on switch db, not on load balancer lb1's "
                 "switch app");
    expect_error(LB1(SVC("tcp", "80", "{port: lb2}")
                     "  - {name: lb2, host: hv2, switch: app, vip: "
                     "10.2.0.101, services: [{protocol: udp, port: 53, "
                     "backends: [{port: app2}]}]}\n"), 30, 20, bp,
                 "port lb2 is a load balancer, not a workload");
    expect_error(LB1(SVC("tcp", "80", "{port: app1, to_port: 65536}")), 30,
                 35, "load_balancers.lb1.services[0].backends[0].to_port",
                 "to_port '65536' out of range; use an integer 1..65535");
    expect_error(LB1(SVC("tcp", "80", "{port: app1, weight: 0}")), 30, 34,
                 "load_balancers.lb1.services[0].backends[0].weight",
                 "weight '0' out of range; use an integer 1..256");
    expect_error(LB1(SVC("tcp", "80", "{port: app1, weight: 257}")), 30, 34,
                 "load_balancers.lb1.services[0].backends[0].weight",
                 "out of range");
    expect_error(LB1(SVC("tcp", "80", "{port: app1, wieght: 2}")), 30, 26,
                 "load_balancers.lb1.services[0].backends[0].wieght",
                 "unknown key 'wieght' in load balancer backend");
    expect_error(LB1(SVC("tcp", "80", "{port: app1, to_port: 80}")
                     "          - {port: app1}\n"), 31, 20,
                 "load_balancers.lb1.services[0].backends[1].port",
                 "backend app1:80 is already backends[0] (line 30) of this "
                 "service; list it once");
#undef SVC0
}

/* The load balancer's port counts toward its host's limit of 3999. */
static void
test_port_limit(void **state)
{
    (void) state;
    size_t cap = 300000, len = 0;
    char *buf = xmalloc(cap);
    len += (size_t) snprintf(buf + len, cap - len, "%s", HEAD);
    for (int i = 0; i < 3997; i++) {        /* hv1 already has 2 */
        len += (size_t) snprintf(buf + len, cap - len,
                                 "  - {name: p%d, host: hv1, switch: bare}\n",
                                 i);
    }
    len += (size_t) snprintf(buf + len, cap - len, "load_balancers:\n");
    size_t lb_at = len;
    len += (size_t) snprintf(buf + len, cap - len, "  - {name: lb1, host: "
                             "hv2, switch: app, vip: 10.2.0.100, services: "
                             "[{protocol: tcp, port: 80, backends: "
                             "[{port: app1}]}]}\n");
    assert_true(len < cap);

    /* 3999 on hv1 and the load balancer on hv2: fine. */
    struct topo *t = topo_test_load_ok(buf);
    assert_int_equal(t->n_ports, 6 + 3997 + 1);
    topo_destroy(t);

    /* On hv1 it is the 4000th. */
    memcpy(strstr(buf + lb_at, "hv2"), "hv1", 3);
    struct topo_errors errs;
    topo_errors_init(&errs);
    assert_null(topo_test_load(buf, &errs));
    topo_test_expect_error(&errs, 2, 5, "hosts.hv1",
                           "host hv1 has 4000 ports, more than the 3999");
    assert_int_equal(errs.n, 1);
    topo_errors_destroy(&errs);
    free(buf);
}

/* One file with many problems reports each, in one pass. */
static void
test_many(void **state)
{
    (void) state;
    struct topo_errors errs;
    topo_errors_init(&errs);
    assert_null(topo_test_load(
        HEAD
        "firewalls:\n"
        "  - name: fw1\n"
        "    host: hv9\n"
        "    router: r1\n"
        "    between: [app, bare]\n"                                   /* 25 */
        "    rules:\n"
        "      - {protocol: tcp, ports: 99999}\n"
        "      - {protocol: icmp, icmp_type: 300}\n"
        "      - {src: [10.0.0.1/8]}\n"
        "load_balancers:\n"                                            /* 30 */
        "  - name: lb1\n"
        "    host: hv1\n"
        "    switch: app\n"
        "    vip: 10.2.0.11\n"
        "    services:\n"                                              /* 35 */
        "      - protocol: sctp\n"
        "        port: 80\n"
        "        backends:\n"
        "          - {port: db1, weight: 300}\n", &errs));
    topo_test_expect_error(&errs, 23, 11, "firewalls.fw1.host",
                           "unknown host 'hv9'");
    topo_test_expect_error(&errs, 25, 20, "firewalls.fw1.between[1]",
                           "router r1 has no port on switch bare");
    topo_test_expect_error(&errs, 27, 32, "firewalls.fw1.rules[0].ports",
                           "is not a port");
    topo_test_expect_error(&errs, 28, 37, "firewalls.fw1.rules[1].icmp_type",
                           "out of range");
    topo_test_expect_error(&errs, 29, 16, "firewalls.fw1.rules[2].src[0]",
                           "did you mean 10.0.0.0/8?");
    topo_test_expect_error(&errs, 34, 10, "load_balancers.lb1.vip",
                           "is workload port app1's address");
    topo_test_expect_error(&errs, 36, 19,
                           "load_balancers.lb1.services[0].protocol",
                           "is not one of tcp, udp");
    topo_test_expect_error(&errs, 39, 20,
                           "load_balancers.lb1.services[0].backends[0].port",
                           "port db1 is on switch db");
    topo_test_expect_error(&errs, 39, 33,
                           "load_balancers.lb1.services[0].backends[0].weight",
                           "out of range");
    assert_int_equal(errs.n, 9);
    topo_errors_destroy(&errs);
}

/* The shipped example. */
static void
test_example(void **state)
{
    (void) state;
    struct topo_errors errs;
    topo_errors_init(&errs);
    char *path = topo_test_source_path("topology-examples/three-tier-nfv.yaml");
    struct topo *t = topo_load_file(path, &errs);
    if (!t) {
        topo_test_print_errors(&errs);
    }
    assert_non_null(t);
    assert_int_equal(t->n_ports, 7);
    assert_int_equal(t->n_firewalls, 1);
    const struct topo_firewall *fw = topo_find_firewall(t, "fw1");
    assert_non_null(fw);
    assert_string_equal(t->hosts[fw->host].name, "hv2");
    assert_string_equal(t->routers[fw->router].name, "r1");
    assert_string_equal(t->switches[fw->sw[0]].name, "app");
    assert_string_equal(t->switches[fw->sw[1]].name, "db");
    assert_int_equal(fw->default_action, TOPO_SG_DENY);
    assert_int_equal(fw->n_rules, 3);
    assert_int_equal(fw->rules[0].port_min, 5432);
    assert_int_equal(fw->rules[0].src[0].net, topo_test_ip("10.2.0.0"));
    assert_int_equal(fw->rules[0].dst[0].net, topo_test_ip("10.3.0.0"));
    assert_int_equal(fw->rules[1].icmp_type, 8);
    assert_int_equal(fw->rules[2].port_min, 22);
    assert_int_equal(fw->rules[2].action, TOPO_SG_REJECT);
    assert_true(fw->rules[2].log);

    assert_int_equal(t->n_lbs, 1);
    const struct topo_lb *lb = topo_find_lb(t, "lb1");
    assert_non_null(lb);
    assert_string_equal(t->hosts[lb->host].name, "hv1");
    assert_string_equal(t->switches[lb->sw].name, "app");
    assert_int_equal(lb->vip, topo_test_ip("10.2.0.100"));
    assert_int_equal(lb->n_services, 1);
    assert_int_equal(lb->services[0].proto, 6);
    assert_int_equal(lb->services[0].port, 80);
    assert_int_equal(lb->services[0].n_backends, 2);
    assert_string_equal(t->ports[lb->services[0].backends[0].port].name,
                        "app1");
    assert_string_equal(t->ports[lb->services[0].backends[1].port].name,
                        "app2");
    assert_true(t->ports[lb->port].nfv);
    assert_string_equal(t->ports[lb->port].iface, "lb-lb1");
    topo_destroy(t);
    free(path);
    topo_errors_destroy(&errs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_none),
        cmocka_unit_test(test_rule_errors),
        cmocka_unit_test(test_firewall_errors),
        cmocka_unit_test(test_lb_errors),
        cmocka_unit_test(test_port_limit),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
