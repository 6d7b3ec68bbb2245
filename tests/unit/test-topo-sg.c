/* test-topo-sg.c — security groups in the topology: the model (rules in
 * file order with defaults, resolved remote groups, effective group lists
 * of ports from their own list or their switch's default, sorted and
 * unique), and every validation error with its exact position and path,
 * several of them in one pass; plus the shipped three-tier-sg example. */
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

/* Lines 1..9; the security_groups: section starts on line 10. */
#define HEAD                                                    \
    "hosts:\n"                                                  \
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"              \
    "switches:\n"                                               \
    "  - {name: web, cidr: 10.1.0.0/24}\n"                      \
    "  - {name: db, cidr: 10.3.0.0/24}\n"                       \
    "ports:\n"                                                  \
    "  - {name: web1, host: hv1, switch: web, ip: 10.1.0.11}\n" \
    "  - {name: db1, host: hv1, switch: db, ip: 10.3.0.11}\n"   \
    "security_groups:\n"
/* A group 'g' (line 10) with one ingress rule (line 12) 'rule'. */
#define RULE(rule)                                              \
    HEAD "  - name: g\n"                                        \
         "    ingress:\n"                                       \
         "      - " rule "\n"

static void
test_valid(void **state)
{
    (void) state;
    struct topo *t = topo_test_load_ok(
        "hosts:\n"
        "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
        "switches:\n"
        "  - {name: web, cidr: 10.1.0.0/24, default_security_groups: [web]}\n"
        "  - {name: db, cidr: 10.3.0.0/24}\n"                          /* 5 */
        "ports:\n"
        "  - {name: web1, host: hv1, switch: web, ip: 10.1.0.11}\n"
        "  - {name: web2, host: hv1, switch: web, ip: 10.1.0.12,\n"
        "     security_groups: [web, admin]}\n"
        "  - {name: db1, host: hv1, switch: db, ip: 10.3.0.11,\n"     /* 10 */
        "     security_groups: [db]}\n"
        "  - {name: db2, host: hv1, switch: db, ip: 10.3.0.12}\n"
        "security_groups:\n"
        "  - name: web\n"
        "    ingress:\n"                                               /* 15 */
        "      - {protocol: tcp, ports: 80}\n"
        "      - {protocol: tcp, ports: \"8000-8099\", "
        "remote_cidrs: [10.0.0.0/8, 192.168.1.0/24]}\n"
        "      - {protocol: icmp, icmp_type: 8, remote_group: web}\n"
        "      - {protocol: udp, ports: 53, action: deny, log: true}\n"
        "      - {protocol: any, remote_cidrs: [10.9.0.0/16], "
        "action: reject}\n"                                            /* 20 */
        "    egress:\n"
        "      - {}\n"
        "  - name: db\n"
        "    ingress:\n"
        "      - {protocol: tcp, ports: 5432, remote_group: web}\n"   /* 25 */
        "      - {protocol: icmp, icmp_type: 3, icmp_code: 4}\n"
        "  - name: admin\n"
        "    egress: [{protocol: udp, remote_cidrs: [0.0.0.0/0]}]\n");

    /* Groups sorted by name: admin, db, web. */
    assert_int_equal(t->n_groups, 3);
    const struct topo_sg *admin = topo_find_group(t, "admin");
    const struct topo_sg *db = topo_find_group(t, "db");
    const struct topo_sg *web = topo_find_group(t, "web");
    assert_ptr_equal(admin, &t->groups[0]);
    assert_ptr_equal(db, &t->groups[1]);
    assert_ptr_equal(web, &t->groups[2]);
    assert_null(topo_find_group(t, "nope"));
    assert_int_equal(web->mark.line, 14);
    assert_int_equal(web->mark.col, 5);

    /* Rules in file order, with their defaults. */
    assert_int_equal(web->n_ingress, 5);
    const struct topo_sg_rule *r = &web->ingress[0];
    assert_int_equal(r->proto, TOPO_SG_TCP);
    assert_int_equal(r->port_min, 80);
    assert_int_equal(r->port_max, 80);
    assert_int_equal(r->icmp_type, -1);
    assert_int_equal(r->icmp_code, -1);
    assert_int_equal(r->n_cidrs, 0);
    assert_true(r->remote_group == SIZE_MAX);
    assert_int_equal(r->action, TOPO_SG_ALLOW);
    assert_false(r->log);
    assert_int_equal(r->mark.line, 16);
    assert_int_equal(r->mark.col, 9);

    r = &web->ingress[1];
    assert_int_equal(r->port_min, 8000);
    assert_int_equal(r->port_max, 8099);
    assert_int_equal(r->n_cidrs, 2);
    assert_int_equal(r->cidrs[0].net, topo_test_ip("10.0.0.0"));
    assert_int_equal(r->cidrs[0].plen, 8);
    assert_int_equal(r->cidrs[1].net, topo_test_ip("192.168.1.0"));
    assert_int_equal(r->cidrs[1].plen, 24);
    assert_true(r->remote_group == SIZE_MAX);

    r = &web->ingress[2];
    assert_int_equal(r->proto, TOPO_SG_ICMP);
    assert_int_equal(r->icmp_type, 8);
    assert_int_equal(r->icmp_code, -1);
    assert_int_equal(r->port_min, 0);
    assert_int_equal(r->port_max, 0);
    assert_true(r->remote_group == (size_t) (web - t->groups));

    r = &web->ingress[3];
    assert_int_equal(r->proto, TOPO_SG_UDP);
    assert_int_equal(r->action, TOPO_SG_DENY);
    assert_true(r->log);

    r = &web->ingress[4];
    assert_int_equal(r->proto, TOPO_SG_ANY);
    assert_int_equal(r->action, TOPO_SG_REJECT);
    assert_int_equal(r->n_cidrs, 1);
    assert_int_equal(r->cidrs[0].plen, 16);

    /* An empty rule: any protocol, anywhere, allow. */
    assert_int_equal(web->n_egress, 1);
    r = &web->egress[0];
    assert_int_equal(r->proto, TOPO_SG_ANY);
    assert_int_equal(r->port_min, 0);
    assert_int_equal(r->n_cidrs, 0);
    assert_true(r->remote_group == SIZE_MAX);
    assert_int_equal(r->action, TOPO_SG_ALLOW);

    assert_int_equal(db->n_ingress, 2);
    assert_int_equal(db->n_egress, 0);
    assert_true(db->ingress[0].remote_group == (size_t) (web - t->groups));
    assert_int_equal(db->ingress[1].icmp_type, 3);
    assert_int_equal(db->ingress[1].icmp_code, 4);
    assert_int_equal(admin->n_ingress, 0);
    assert_int_equal(admin->n_egress, 1);
    assert_int_equal(admin->egress[0].cidrs[0].plen, 0);

    /* Switch defaults and effective port lists (sorted indexes). */
    const struct topo_switch *sweb = topo_find_switch(t, "web");
    const struct topo_switch *sdb = topo_find_switch(t, "db");
    assert_int_equal(sweb->n_default_groups, 1);
    assert_int_equal(sweb->default_groups[0], 2);
    assert_int_equal(sdb->n_default_groups, 0);

    const struct topo_port *p = topo_find_port(t, "web1");
    assert_int_equal(p->n_groups, 1);               /* the switch default */
    assert_int_equal(p->groups[0], 2);
    p = topo_find_port(t, "web2");                  /* own list, sorted */
    assert_int_equal(p->n_groups, 2);
    assert_int_equal(p->groups[0], 0);
    assert_int_equal(p->groups[1], 2);
    p = topo_find_port(t, "db1");
    assert_int_equal(p->n_groups, 1);
    assert_string_equal(t->groups[p->groups[0]].name, "db");
    p = topo_find_port(t, "db2");                   /* unfiltered */
    assert_int_equal(p->n_groups, 0);
    topo_destroy(t);
}

/* Without any security group, nothing changes: every port unfiltered. */
static void
test_none(void **state)
{
    (void) state;
    struct topo *t = topo_test_load_ok(HEAD);
    assert_int_equal(t->n_groups, 0);
    for (size_t i = 0; i < t->n_ports; i++) {
        assert_int_equal(t->ports[i].n_groups, 0);
    }
    for (size_t i = 0; i < t->n_switches; i++) {
        assert_int_equal(t->switches[i].n_default_groups, 0);
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
    const char *p = "security_groups.g.ingress[0]";
    char path[128];
#define KP(k) (snprintf(path, sizeof path, "%s.%s", p, k), path)

    expect_error(RULE("{protocol: sctp}"), 12, 20, KP("protocol"),
                 "is not one of tcp, udp, icmp, any");
    expect_error(RULE("{ports: 80}"), 12, 17, KP("ports"),
                 "ports apply to tcp and udp only, not to protocol any");
    expect_error(RULE("{protocol: icmp, ports: 80}"), 12, 33, KP("ports"),
                 "not to protocol icmp");
    expect_error(RULE("{protocol: tcp, ports: 0}"), 12, 32, KP("ports"),
                 "is not a port 1..65535");
    expect_error(RULE("{protocol: tcp, ports: 65536}"), 12, 32, KP("ports"),
                 "is not a port 1..65535");
    expect_error(RULE("{protocol: udp, ports: \"90-80\"}"), 12, 32,
                 KP("ports"), "is reversed (90 > 80); did you mean \"80-90\"");
    expect_error(RULE("{protocol: udp, ports: \"1-\"}"), 12, 32, KP("ports"),
                 "is not a port 1..65535");
    expect_error(RULE("{protocol: tcp, icmp_type: 8}"), 12, 36,
                 KP("icmp_type"), "applies to protocol icmp only");
    expect_error(RULE("{icmp_code: 1}"), 12, 21, KP("icmp_code"),
                 "applies to protocol icmp only, not to any");
    expect_error(RULE("{protocol: icmp, icmp_type: 256}"), 12, 37,
                 KP("icmp_type"), "out of range; use an integer 0..255");
    expect_error(RULE("{protocol: icmp, icmp_code: -1}"), 12, 37,
                 KP("icmp_code"), "out of range");
    expect_error(RULE("{remote_cidrs: [10.0.0.0/8], remote_group: g}"), 12,
                 52, KP("remote_group"), "not both");
    expect_error(RULE("{remote_cidrs: [10.1.0.5/24]}"), 12, 25,
                 KP("remote_cidrs[0]"),
                 "has host bits set; did you mean 10.1.0.0/24?");
    expect_error(RULE("{remote_cidrs: [10.0.0.0/8, nonsense]}"), 12, 37,
                 KP("remote_cidrs[1]"), "is not an IPv4 network");
    expect_error(RULE("{remote_cidrs: [10.0.0.0/33]}"), 12, 25,
                 KP("remote_cidrs[0]"), "is not an IPv4 network");
    expect_error(RULE("{remote_cidrs: [10.0.0.0/8, 10.0.0.0/8]}"), 12, 37,
                 KP("remote_cidrs[1]"), "listed twice");
    expect_error(RULE("{remote_cidrs: []}"), 12, 24, KP("remote_cidrs"),
                 "empty list");
    expect_error(RULE("{remote_cidrs: [[1]]}"), 12, 25,
                 KP("remote_cidrs[0]"), "not a list");
    expect_error(RULE("{remote_group: nope}"), 12, 24, KP("remote_group"),
                 "unknown security group 'nope'");
    expect_error(RULE("{action: drop}"), 12, 18, KP("action"),
                 "is not one of allow, deny, reject");
    expect_error(RULE("{log: maybe}"), 12, 15, KP("log"),
                 "is not true or false");
    expect_error(RULE("{protocl: tcp}"), 12, 10, KP("protocl"),
                 "unknown key 'protocl' in security group rule");
    expect_error(RULE("tcp"), 12, 9, p, "must be a mapping");
#undef KP
}

static void
test_group_errors(void **state)
{
    (void) state;
    /* Duplicate group names. */
    expect_error(HEAD "  - {name: g}\n"
                      "  - {name: g}\n", 11, 12,
                 "security_groups.g.name", "duplicate security group name");
    /* A bad name, a missing name, an unknown key. */
    expect_error(HEAD "  - {name: Web}\n", 10, 12,
                 "security_groups[0].name", "is not valid");
    expect_error(HEAD "  - {ingress: []}\n", 10, 5, "security_groups[0]",
                 "missing required key 'name'");
    expect_error(HEAD "  - {name: g, rules: []}\n", 10, 15,
                 "security_groups.g.rules", "unknown key 'rules'");
    expect_error(HEAD "  - {name: g, ingress: {protocol: tcp}}\n", 10, 24,
                 "security_groups.g.ingress", "must be a list");
    /* The section itself must be a list. */
    expect_error("security_groups: {name: g}\n", 1, 18, "security_groups",
                 "must be a list");
}

/* 17 names of groups g0..g16, defined on the lines after HEAD. */
#define GROUPS17                                                \
    "  - {name: g0}\n  - {name: g1}\n  - {name: g2}\n"          \
    "  - {name: g3}\n  - {name: g4}\n  - {name: g5}\n"          \
    "  - {name: g6}\n  - {name: g7}\n  - {name: g8}\n"          \
    "  - {name: g9}\n  - {name: g10}\n  - {name: g11}\n"        \
    "  - {name: g12}\n  - {name: g13}\n  - {name: g14}\n"       \
    "  - {name: g15}\n  - {name: g16}\n"
#define LIST17 "[g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10, g11, g12, " \
               "g13, g14, g15, g16]"

static void
test_list_errors(void **state)
{
    (void) state;
    const char *head =
        "hosts:\n"
        "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
        "switches:\n"
        "  - {name: web, cidr: 10.1.0.0/24}\n"
        "security_groups:\n"
        "  - {name: g}\n"
        "  - {name: h}\n"
        "ports:\n";
    char buf[2048];
#define PORT(x) (snprintf(buf, sizeof buf, "%s  - {name: p1, host: hv1, " \
                          "switch: web, security_groups: %s}\n", head, x), buf)

    expect_error(PORT("[g, nope]"), 9, 61, "ports.p1.security_groups[1]",
                 "unknown security group 'nope'");
    expect_error(PORT("[g, h, g]"), 9, 64, "ports.p1.security_groups[2]",
                 "listed twice");
    expect_error(PORT("[]"), 9, 57, "ports.p1.security_groups",
                 "empty list");
    expect_error(PORT("[[g]]"), 9, 58, "ports.p1.security_groups[0]",
                 "not a list");
    expect_error(PORT("g"), 9, 57, "ports.p1.security_groups",
                 "must be a list");
#undef PORT

    /* "security_groups:" with nothing is also empty. */
    snprintf(buf, sizeof buf, "%s  - name: p1\n    host: hv1\n"
             "    switch: web\n    security_groups:\n", head);
    expect_error(buf, 12, 21, "ports.p1.security_groups", "empty list");

    /* Switch defaults. */
    expect_error(
        "security_groups:\n"
        "  - {name: g}\n"
        "switches:\n"
        "  - {name: web, default_security_groups: [g, x]}\n", 4, 46,
        "switches.web.default_security_groups[1]",
        "unknown security group 'x'");
    expect_error(
        "switches:\n"
        "  - {name: web, default_security_groups: []}\n", 2, 42,
        "switches.web.default_security_groups", "empty list");

    /* More than 16 groups on a port or as a switch default. */
    snprintf(buf, sizeof buf,
             "hosts:\n"
             "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
             "switches:\n"
             "  - {name: web, default_security_groups: " LIST17 "}\n"
             "ports:\n"
             "  - {name: p1, host: hv1, switch: web, security_groups: "
             LIST17 "}\n"
             "security_groups:\n" GROUPS17);
    struct topo_errors errs;
    topo_errors_init(&errs);
    assert_null(topo_test_load(buf, &errs));
    topo_test_expect_error(&errs, 4, 42,
                           "switches.web.default_security_groups",
                           "17 security groups listed, more than the 16");
    topo_test_expect_error(&errs, 6, 57, "ports.p1.security_groups",
                           "17 security groups listed, more than the 16");
    assert_int_equal(errs.n, 2);
    topo_errors_destroy(&errs);
}

/* Exactly 16 is fine; one file with many problems reports each. */
static void
test_limits_and_many(void **state)
{
    (void) state;
    char buf[2048];
    snprintf(buf, sizeof buf,
             "hosts:\n"
             "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
             "switches:\n"
             "  - {name: web}\n"
             "ports:\n"
             "  - {name: p1, host: hv1, switch: web, security_groups: "
             "[g16, g15, g14, g13, g12, g11, g10, g9, g8, g7, g6, g5, g4, "
             "g3, g2, g1]}\n"
             "security_groups:\n" GROUPS17);
    struct topo *t = topo_test_load_ok(buf);
    assert_int_equal(t->ports[0].n_groups, 16);
    for (size_t i = 1; i < 16; i++) {
        assert_true(t->ports[0].groups[i - 1] < t->ports[0].groups[i]);
    }
    for (size_t i = 0; i < 16; i++) {
        assert_string_not_equal(t->groups[t->ports[0].groups[i]].name, "g0");
    }
    topo_destroy(t);

    struct topo_errors errs;
    topo_errors_init(&errs);
    assert_null(topo_test_load(
        HEAD "  - name: g\n"
             "    ingress:\n"
             "      - {protocol: tcp, ports: 99999}\n"              /* 12 */
             "      - {protocol: icmp, icmp_type: 300}\n"
             "    egress:\n"
             "      - {remote_group: ghost}\n"                      /* 15 */
             "      - {remote_cidrs: [10.0.0.1/8]}\n", &errs));
    topo_test_expect_error(&errs, 12, 32, "security_groups.g.ingress[0].ports",
                           "is not a port");
    topo_test_expect_error(&errs, 13, 37,
                           "security_groups.g.ingress[1].icmp_type",
                           "out of range");
    topo_test_expect_error(&errs, 15, 24,
                           "security_groups.g.egress[0].remote_group",
                           "unknown security group 'ghost'");
    topo_test_expect_error(&errs, 16, 25,
                           "security_groups.g.egress[1].remote_cidrs[0]",
                           "did you mean 10.0.0.0/8?");
    assert_int_equal(errs.n, 4);
    topo_errors_destroy(&errs);
}

/* The topology's default_security_groups: ports that list none and whose
 * switch names none get it; a switch default or a port's own list wins;
 * errors in it are reported at their position. */
static void
test_topology_default(void **state)
{
    (void) state;
    struct topo *t = topo_test_load_ok(
        "hosts:\n"
        "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
        "default_security_groups: [base, admin]\n"
        "switches:\n"
        "  - {name: web, cidr: 10.1.0.0/24}\n"                         /* 5 */
        "  - {name: db, cidr: 10.3.0.0/24, default_security_groups: [db]}\n"
        "ports:\n"
        "  - {name: web1, host: hv1, switch: web, ip: 10.1.0.11}\n"
        "  - {name: web2, host: hv1, switch: web, ip: 10.1.0.12,\n"
        "     security_groups: [db]}\n"                                /* 10 */
        "  - {name: db1, host: hv1, switch: db, ip: 10.3.0.11}\n"
        "security_groups:\n"
        "  - {name: admin, ingress: [{protocol: tcp, ports: 22}]}\n"
        "  - {name: base, ingress: [{protocol: icmp}]}\n"
        "  - {name: db, ingress: [{protocol: tcp, ports: 5432}]}\n");
    assert_int_equal(t->n_default_groups, 2);
    assert_string_equal(t->groups[t->default_groups[0]].name, "admin");
    assert_string_equal(t->groups[t->default_groups[1]].name, "base");
    const struct topo_port *web1 = topo_find_port(t, "web1");
    const struct topo_port *web2 = topo_find_port(t, "web2");
    const struct topo_port *db1 = topo_find_port(t, "db1");
    assert_int_equal(web1->n_groups, 2);           /* the topology's */
    assert_string_equal(t->groups[web1->groups[0]].name, "admin");
    assert_string_equal(t->groups[web1->groups[1]].name, "base");
    assert_int_equal(web2->n_groups, 1);           /* its own */
    assert_string_equal(t->groups[web2->groups[0]].name, "db");
    assert_int_equal(db1->n_groups, 1);            /* its switch's */
    assert_string_equal(t->groups[db1->groups[0]].name, "db");
    topo_destroy(t);

    const char *groups = "security_groups:\n  - {name: g}\n";
    char buf[512];
#define TOP(x) (snprintf(buf, sizeof buf, "%sdefault_security_groups: %s\n", \
                         groups, x), buf)
    expect_error(TOP("[g, nope]"), 3, 30, "default_security_groups[1]",
                 "unknown security group 'nope'");
    expect_error(TOP("[g, g]"), 3, 30, "default_security_groups[1]",
                 "listed twice");
    expect_error(TOP("[]"), 3, 26, "default_security_groups", "empty list");
    expect_error(TOP(""), 3, 25, "default_security_groups", "empty list");
    expect_error(TOP("g"), 3, 26, "default_security_groups",
                 "must be a list of security group names");
    expect_error(TOP("[[g]]"), 3, 27, "default_security_groups[0]",
                 "not a list");
#undef TOP
}

/* The shipped example: three tiers, each port with its tier's group. */
static void
test_example(void **state)
{
    (void) state;
    struct topo_errors errs;
    topo_errors_init(&errs);
    char *path = topo_test_source_path("topology-examples/three-tier-sg.yaml");
    struct topo *t = topo_load_file(path, &errs);
    if (!t) {
        topo_test_print_errors(&errs);
    }
    assert_non_null(t);
    assert_int_equal(t->n_groups, 3);
    assert_int_equal(t->n_ports, 6);
    for (size_t i = 0; i < t->n_ports; i++) {
        const struct topo_port *p = &t->ports[i];
        assert_int_equal(p->n_groups, 1);
        /* Every port carries its tier's group (its switch's name). */
        assert_string_equal(t->groups[p->groups[0]].name,
                            t->switches[p->sw].name);
    }
    const struct topo_sg *web = topo_find_group(t, "web");
    const struct topo_sg *app = topo_find_group(t, "app");
    const struct topo_sg *db = topo_find_group(t, "db");
    assert_int_equal(web->n_ingress, 2);
    assert_int_equal(web->ingress[0].proto, TOPO_SG_TCP);
    assert_int_equal(web->ingress[0].port_min, 80);
    assert_int_equal(web->ingress[1].proto, TOPO_SG_ICMP);
    assert_true(web->ingress[1].remote_group == SIZE_MAX);
    assert_int_equal(app->n_ingress, 2);
    assert_int_equal(app->ingress[0].port_min, 8080);
    assert_true(app->ingress[0].remote_group == (size_t) (web - t->groups));
    assert_true(app->ingress[1].remote_group == (size_t) (web - t->groups));
    assert_int_equal(db->n_ingress, 3);
    assert_int_equal(db->ingress[0].action, TOPO_SG_REJECT);
    assert_true(db->ingress[0].log);
    assert_int_equal(db->ingress[0].port_min, 22);
    assert_int_equal(db->ingress[0].cidrs[0].net, topo_test_ip("10.1.0.0"));
    assert_int_equal(db->ingress[1].port_min, 5432);
    assert_false(db->ingress[1].log);
    assert_true(db->ingress[1].remote_group == (size_t) (app - t->groups));
    assert_int_equal(db->ingress[2].proto, TOPO_SG_ANY);
    assert_int_equal(db->ingress[2].action, TOPO_SG_DENY);
    assert_true(db->ingress[2].log);
    for (size_t i = 0; i < t->n_groups; i++) {
        assert_int_equal(t->groups[i].n_egress, 1);
        assert_int_equal(t->groups[i].egress[0].proto, TOPO_SG_ANY);
        assert_int_equal(t->groups[i].egress[0].action, TOPO_SG_ALLOW);
    }
    const struct topo_switch *sdb = topo_find_switch(t, "db");
    assert_int_equal(sdb->n_default_groups, 1);
    assert_ptr_equal(&t->groups[sdb->default_groups[0]], db);
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
        cmocka_unit_test(test_group_errors),
        cmocka_unit_test(test_list_errors),
        cmocka_unit_test(test_limits_and_many),
        cmocka_unit_test(test_topology_default),
        cmocka_unit_test(test_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
