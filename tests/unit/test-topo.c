/* test-topo.c — topology loading: the model, derived values, and every
 * validation error with its exact position. */
#include <dirent.h>
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

static const char valid_yaml[] =
    "hosts:\n"                                  /* 1 */
    "  - name: hv2\n"                           /* 2 */
    "    tunnel_ip: 10.200.0.12/24\n"
    "    underlay_iface: eth1\n"
    "  - name: hv1\n"                           /* 5 */
    "    tunnel_ip: 10.200.0.11/24\n"
    "switches:\n"                               /* 7 */
    "  - name: web\n"                           /* 8 */
    "    cidr: 10.1.0.0/24\n"
    "    vni: 100\n"
    "  - name: db\n"                            /* 11 */
    "    cidr: 10.2.0.0/24\n"
    "    mtu: 1500\n"
    "ports:\n"                                  /* 14 */
    "  - name: web1\n"                          /* 15 */
    "    host: hv1\n"
    "    switch: web\n"
    "    ip: 10.1.0.11\n"
    "    mac: 0a:00:00:00:01:11\n"
    "  - name: db1\n"                           /* 20 */
    "    host: hv2\n"
    "    switch: db\n"
    "    iface: tapdb1\n";

static void
test_valid(void **state)
{
    struct topo_errors errs;
    topo_errors_init(&errs);
    struct topo *t = topo_test_load(valid_yaml, &errs);
    if (!t) {
        topo_test_print_errors(&errs);
    }
    assert_non_null(t);
    assert_int_equal(errs.n, 0);

    /* Sorted by name, cross references resolved to indexes. */
    assert_int_equal(t->n_hosts, 2);
    assert_string_equal(t->hosts[0].name, "hv1");
    assert_string_equal(t->hosts[1].name, "hv2");
    assert_int_equal(t->hosts[0].tunnel_ip, 0x0ac8000b);
    assert_int_equal(t->hosts[0].tunnel_plen, 24);
    assert_string_equal(t->hosts[0].underlay_iface, "ul0");
    assert_string_equal(t->hosts[1].underlay_iface, "eth1");
    assert_int_equal(t->hosts[0].mark.line, 5);
    assert_int_equal(t->hosts[0].mark.col, 5);
    assert_string_equal(t->hosts[0].mark.file, "t.yaml");

    assert_int_equal(t->n_switches, 2);
    const struct topo_switch *db = topo_find_switch(t, "db");
    const struct topo_switch *web = topo_find_switch(t, "web");
    assert_ptr_equal(db, &t->switches[0]);
    assert_ptr_equal(web, &t->switches[1]);
    assert_int_equal(web->vni, 100);
    assert_true(db->vni >= 1 && db->vni <= 16777215 && db->vni != 100);
    assert_int_equal(web->mtu, 1400);
    assert_int_equal(db->mtu, 1500);
    assert_int_equal(db->net, 0x0a020000);
    assert_int_equal(db->plen, 24);
    assert_int_equal(web->mark.line, 8);

    assert_int_equal(t->n_ports, 2);
    const struct topo_port *web1 = topo_find_port(t, "web1");
    const struct topo_port *db1 = topo_find_port(t, "db1");
    assert_non_null(web1);
    assert_non_null(db1);
    assert_ptr_equal(db1, &t->ports[0]);
    assert_int_equal(web1->host, 0);
    assert_int_equal(web1->sw, 1);
    assert_int_equal(web1->ip, 0x0a01000b);
    assert_true(web1->mac == 0x0a0000000111ULL);
    assert_string_equal(web1->iface, "web1");
    assert_int_equal(web1->mark.line, 15);
    assert_int_equal(db1->host, 1);
    assert_int_equal(db1->sw, 0);
    assert_int_equal(db1->ip, 0);
    assert_string_equal(db1->iface, "tapdb1");
    /* Derived MAC: 0a: prefix, unicast, locally administered. */
    assert_true((db1->mac >> 40) == 0x0a);
    assert_false(eth_is_multicast(db1->mac));
    assert_null(topo_find_port(t, "nope"));
    assert_null(topo_find_host(t, "hv3"));
    topo_destroy(t);
    topo_errors_destroy(&errs);
}

/* Derived values depend only on names: not on list order, not on the load. */
static void
test_derived_stable(void **state)
{
    static const char a[] =
        "hosts: [{name: h1, tunnel_ip: 10.0.0.1/24}]\n"
        "switches: [{name: s1}, {name: s2}, {name: s3}]\n"
        "ports:\n"
        "  - {name: p1, host: h1, switch: s1}\n"
        "  - {name: p2, host: h1, switch: s2}\n"
        "  - {name: p3, host: h1, switch: s3}\n";
    static const char b[] =
        "ports:\n"
        "  - {name: p3, host: h1, switch: s3}\n"
        "  - {name: p1, host: h1, switch: s1}\n"
        "  - {name: p2, host: h1, switch: s2}\n"
        "switches: [{name: s3}, {name: s2}, {name: s1}]\n"
        "hosts: [{name: h1, tunnel_ip: 10.0.0.1/24}]\n";
    struct topo *ta = topo_test_load(a, NULL);
    struct topo *tb = topo_test_load(b, NULL);
    struct topo *ta2 = topo_test_load(a, NULL);
    assert_non_null(ta);
    assert_non_null(tb);
    assert_non_null(ta2);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(ta->switches[i].name, tb->switches[i].name);
        assert_int_equal(ta->switches[i].vni, tb->switches[i].vni);
        assert_int_equal(ta->switches[i].vni, ta2->switches[i].vni);
        assert_true(ta->ports[i].mac == tb->ports[i].mac);
        assert_true(ta->ports[i].mac == ta2->ports[i].mac);
        assert_int_equal(ta->ports[i].sw, tb->ports[i].sw);
    }
    assert_int_not_equal(ta->switches[0].vni, ta->switches[1].vni);
    assert_true(ta->ports[0].mac != ta->ports[1].mac);

    /* Probing: a given VNI/MAC equal to a derived one pushes the derived one
     * aside instead of clashing. */
    uint32_t s1_vni = ta->switches[0].vni;
    uint64_t p1_mac = ta->ports[0].mac;
    char mac[ETH_ADDR_STRLEN];
    eth_format(p1_mac, mac);
    char *c = xasprintf(
        "hosts: [{name: h1, tunnel_ip: 10.0.0.1/24}]\n"
        "switches: [{name: s1}, {name: zz, vni: %u}]\n"
        "ports:\n"
        "  - {name: p1, host: h1, switch: s1}\n"
        "  - {name: zz, host: h1, switch: zz, mac: '%s'}\n", s1_vni, mac);
    struct topo *tc = topo_test_load(c, NULL);
    assert_non_null(tc);
    assert_int_equal(topo_find_switch(tc, "zz")->vni, s1_vni);
    assert_int_not_equal(topo_find_switch(tc, "s1")->vni, s1_vni);
    assert_true(topo_find_port(tc, "zz")->mac == p1_mac);
    assert_true(topo_find_port(tc, "p1")->mac != p1_mac);
    free(c);
    topo_destroy(ta);
    topo_destroy(tb);
    topo_destroy(ta2);
    topo_destroy(tc);
}

struct error_case {
    const char *kind;
    const char *yaml;
    unsigned int line, col;
    const char *path;
    const char *what;
};

#define HOST1 "hosts:\n  - name: hv1\n    tunnel_ip: 10.200.0.11/24\n"
#define WEB "switches:\n  - name: web\n    cidr: 10.1.0.0/24\n"

static const struct error_case error_cases[] = {
    { "syntax", "hosts:\n  - name: hv1\n   tunnel_ip: [\n", 3, 4, "",
      "YAML syntax error" },
    { "node type (section)", "hosts:\n  name: hv1\n", 2, 3, "hosts",
      "must be a list" },
    { "node type (item)", "hosts:\n  - hv1\n", 2, 5, "hosts[0]",
      "must be a mapping" },
    { "node type (value)", "hosts:\n  - name: hv1\n    tunnel_ip: [a]\n",
      3, 16, "hosts.hv1.tunnel_ip", "must be a single value" },
    { "node type (root)", "- a\n", 1, 1, "", "must be a mapping" },
    { "unknown key", HOST1 "    colour: blue\n", 4, 5, "hosts.hv1.colour",
      "unknown key 'colour'" },
    { "unknown top-level key", HOST1 "gateways: []\n", 4, 1, "gateways",
      "unknown top-level key 'gateways'" },
    { "missing required key", "hosts:\n  - name: hv1\n", 2, 5, "hosts.hv1",
      "missing required key 'tunnel_ip'" },
    { "missing name", HOST1 WEB "ports:\n  - host: hv1\n    switch: web\n",
      8, 5, "ports[0]", "missing required key 'name'" },
    { "duplicate name", HOST1 "  - name: hv1\n    tunnel_ip: 10.200.0.12/24\n",
      4, 11, "hosts.hv1.name", "duplicate host name 'hv1'" },
    { "duplicate key", HOST1 "    name: hv2\n", 4, 5, "hosts.hv1.name",
      "duplicate key 'name'" },
    { "bad name", "hosts:\n  - name: Hv1\n    tunnel_ip: 10.200.0.11/24\n",
      2, 11, "hosts[0].name", "name 'Hv1' is not valid" },
    { "bad tunnel_ip", "hosts:\n  - name: hv1\n    tunnel_ip: 10.200.0.11\n",
      3, 16, "hosts.hv1.tunnel_ip", "not an IPv4 address with a prefix" },
    { "bad cidr", HOST1 "switches:\n  - name: web\n    cidr: 10.1.0.1/24\n",
      6, 11, "switches.web.cidr", "did you mean 10.1.0.0/24" },
    { "bad int", HOST1 WEB "    vni: ten\n", 7, 10, "switches.web.vni",
      "vni 'ten' out of range" },
    { "out of range", HOST1 WEB "    mtu: 100\n", 7, 10, "switches.web.mtu",
      "576..9000" },
    { "bad ip", HOST1 WEB "ports:\n  - name: p1\n    host: hv1\n"
      "    switch: web\n    ip: 10.1.0.300\n", 11, 9, "ports.p1.ip",
      "not an IPv4 address" },
    { "bad mac", HOST1 WEB "ports:\n  - name: p1\n    host: hv1\n"
      "    switch: web\n    mac: 0a:00:00:00:01\n", 11, 10, "ports.p1.mac",
      "not a MAC address" },
    { "multicast mac", HOST1 WEB "ports:\n  - name: p1\n    host: hv1\n"
      "    switch: web\n    mac: 01:00:5e:00:00:01\n", 11, 10,
      "ports.p1.mac", "is multicast" },
    { "ip outside cidr", HOST1 WEB "ports:\n  - name: p1\n    host: hv1\n"
      "    switch: web\n    ip: 10.2.0.5\n", 11, 9, "ports.p1.ip",
      "ip 10.2.0.5 is outside switch web's cidr 10.1.0.0/24" },
    { "network address", HOST1 WEB "ports:\n  - name: p1\n    host: hv1\n"
      "    switch: web\n    ip: 10.1.0.255\n", 11, 9, "ports.p1.ip",
      "broadcast address" },
    { "duplicate ip", HOST1 WEB "ports:\n"
      "  - {name: p1, host: hv1, switch: web, ip: 10.1.0.5}\n"
      "  - {name: p2, host: hv1, switch: web, ip: 10.1.0.5}\n", 9, 44,
      "ports.p2.ip", "duplicate ip 10.1.0.5 on switch web" },
    { "duplicate mac", HOST1 WEB "ports:\n"
      "  - {name: p1, host: hv1, switch: web, mac: '0a:00:00:00:00:01'}\n"
      "  - {name: p2, host: hv1, switch: web, mac: '0a:00:00:00:00:01'}\n",
      9, 45, "ports.p2.mac", "duplicate mac 0a:00:00:00:00:01" },
    { "unknown host", HOST1 WEB "ports:\n"
      "  - {name: p1, host: hv9, switch: web}\n", 8, 22, "ports.p1.host",
      "unknown host 'hv9'" },
    { "unknown switch", HOST1 WEB "ports:\n"
      "  - {name: p1, host: hv1, switch: wbe}\n", 8, 35, "ports.p1.switch",
      "unknown switch 'wbe'" },
    { "vni clash", HOST1 "switches:\n  - name: a\n    vni: 7\n"
      "  - name: b\n    vni: 7\n", 8, 10, "switches.b.vni",
      "vni 7 is already given to switch a" },
    { "duplicate iface", HOST1 WEB "ports:\n"
      "  - {name: p1, host: hv1, switch: web, iface: tap0}\n"
      "  - {name: p2, host: hv1, switch: web, iface: tap0}\n", 9, 47,
      "ports.p2.iface", "duplicate iface 'tap0' on host hv1" },
    { "iface too long", HOST1 WEB "ports:\n"
      "  - {name: abcdefghijklmnopq, host: hv1, switch: web}\n", 8, 12,
      "ports.abcdefghijklmnopq.name", "set iface:" },
    { "duplicate tunnel_ip", HOST1 "  - name: hv2\n"
      "    tunnel_ip: 10.200.0.11/16\n", 5, 16, "hosts.hv2.tunnel_ip",
      "duplicate tunnel_ip 10.200.0.11: host hv1" },
};

static void
test_error_kinds(void **state)
{
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *c = &error_cases[i];
        struct topo_errors errs;
        topo_errors_init(&errs);
        struct topo *t = topo_test_load(c->yaml, &errs);
        if (t || !errs.n) {
            fprintf(stderr, "case '%s' was accepted\n", c->kind);
        }
        assert_null(t);
        assert_true(errs.n >= 1);
        topo_test_expect_error(&errs, c->line, c->col, c->path, c->what);
        /* The formatted form is "file:line:col: path: message". */
        char *s = topo_error_format(&errs.errs[0]);
        assert_true(!strncmp(s, "t.yaml:", 7));
        free(s);
        topo_errors_destroy(&errs);
    }
}

static void
test_format(void **state)
{
    struct topo_errors errs;
    topo_errors_init(&errs);
    assert_null(topo_test_load(HOST1 WEB "ports:\n  - {name: p1, host: hv1, "
                               "switch: web, ip: 10.2.0.5}\n", &errs));
    assert_int_equal(errs.n, 1);
    char *s = topo_error_format(&errs.errs[0]);
    assert_string_equal(s, "t.yaml:8:44: ports.p1.ip: ip 10.2.0.5 is outside "
                        "switch web's cidr 10.1.0.0/24; use an address "
                        "inside it or move the port to another switch");
    free(s);
    topo_errors_destroy(&errs);
}

/* One file with many mistakes: every one is reported, in file order, and
 * nothing is returned. */
static void
test_many_errors(void **state)
{
    struct topo_errors errs;
    topo_errors_init(&errs);
    char *path = topo_test_source_path("tests/unit/data/bad-topology.yaml");
    struct topo *t = topo_load_file(path, &errs);
    assert_null(t);
    topo_test_expect_error(&errs, 7, 16, "hosts.hv2.tunnel_ip",
                           "duplicate tunnel_ip");
    topo_test_expect_error(&errs, 8, 5, "hosts.hv2.colour",
                           "unknown key 'colour'");
    topo_test_expect_error(&errs, 15, 10, "switches.db.vni", "VNI clash");
    topo_test_expect_error(&errs, 20, 9, "ports.web1.ip",
                           "outside switch web's cidr");
    topo_test_expect_error(&errs, 22, 11, "ports.web2.host",
                           "unknown host 'hv9'");
    topo_test_expect_error(&errs, 24, 10, "ports.web2.mac", "multicast");
    topo_test_expect_error(&errs, 25, 5, "ports[2]",
                           "missing required key 'name'");
    topo_test_expect_error(&errs, 26, 13, "ports[2].switch",
                           "unknown switch 'dbx'");
    assert_int_equal(errs.n, 8);
    for (size_t i = 1; i < errs.n; i++) {
        assert_true(errs.errs[i - 1].line <= errs.errs[i].line);
        assert_string_equal(errs.errs[i].file, path);
    }
    free(path);
    topo_errors_destroy(&errs);
}

static void
test_missing_file(void **state)
{
    struct topo_errors errs;
    topo_errors_init(&errs);
    assert_null(topo_load_file("/nonexistent/anet/topo.yaml", &errs));
    assert_int_equal(errs.n, 1);
    char *s = topo_error_format(&errs.errs[0]);
    assert_non_null(strstr(s, "/nonexistent/anet/topo.yaml"));
    assert_non_null(strstr(s, "No such file or directory"));
    free(s);
    topo_errors_destroy(&errs);
    assert_null(topo_load_file("/nonexistent/anet/topo.yaml", NULL));
}

/* Every shipped example (every .yaml in topology-examples) loads. */
static void
test_examples(void **state)
{
    char *dir = topo_test_source_path("topology-examples");
    DIR *d = opendir(dir);
    size_t n = 0;
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".yaml")) {
            continue;
        }
        struct topo_errors errs;
        topo_errors_init(&errs);
        char *path = xasprintf("%s/%s", dir, e->d_name);
        struct topo *t = topo_load_file(path, &errs);
        if (!t) {
            fprintf(stderr, "%s:\n", path);
            topo_test_print_errors(&errs);
        }
        assert_non_null(t);
        assert_true(t->n_hosts >= 2 && t->n_ports >= 3);
        topo_destroy(t);
        free(path);
        topo_errors_destroy(&errs);
        n++;
    }
    closedir(d);
    free(dir);
    /* single-switch, two-switches(-moved), three-tier, two-routers. */
    assert_true(n >= 5);
}

static void
test_empty(void **state)
{
    struct topo *t = topo_test_load("", NULL);
    assert_non_null(t);
    assert_int_equal(t->n_hosts + t->n_switches + t->n_ports, 0);
    topo_destroy(t);
    t = topo_test_load("hosts:\nswitches: []\n", NULL);
    assert_non_null(t);
    topo_destroy(t);
    topo_destroy(NULL);
    topo_errors_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_derived_stable),
        cmocka_unit_test(test_error_kinds),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_many_errors),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
