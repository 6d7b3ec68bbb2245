/* test-topo-router.c — routers and DHCP in the topology: the model (sorted,
 * resolved, defaults), stable derived router MACs, and every router/DHCP
 * validation error with its exact position and path. */
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
    "hosts:\n"                                              /* 1 */
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
    "switches:\n"                                           /* 3 */
    "  - name: web\n"                                       /* 4 */
    "    cidr: 10.1.0.0/24\n"
    "    dhcp:\n"                                           /* 6 */
    "      dns: [10.1.0.53, 10.9.9.9]\n"
    "      lease_time: 600\n"
    "      routes:\n"
    "        - {prefix: 10.50.0.0/16, next_hop: 10.1.0.1}\n" /* 10 */
    "  - name: transit\n"                                   /* 11 */
    "    cidr: 192.168.100.0/24\n"
    "    dhcp: {enabled: false}\n"
    "  - name: db\n"                                        /* 14 */
    "    cidr: 10.3.0.0/24\n"
    "  - name: bare\n"                                      /* 16 */
    "routers:\n"                                            /* 17 */
    "  - name: r2\n"                                        /* 18 */
    "    ports:\n"
    "      - {switch: transit, ip: 192.168.100.2/24}\n"     /* 20 */
    "      - {switch: db, ip: 10.3.0.1/24, mac: '0a:00:00:00:ff:01'}\n"
    "    routes:\n"
    "      - {prefix: 10.1.0.0/16, next_hop: 192.168.100.1}\n" /* 23 */
    "  - name: r1\n"                                        /* 24 */
    "    ports:\n"
    "      - switch: web\n"                                 /* 26 */
    "        ip: 10.1.0.1/24\n"
    "      - {switch: transit, ip: 192.168.100.1/24}\n"
    "    routes:\n"
    "      - {prefix: 0.0.0.0/0, next_hop: 192.168.100.2}\n" /* 30 */
    "      - {prefix: 10.3.0.0/16, next_hop: 192.168.100.2}\n"
    "ports:\n"
    "  - {name: web1, host: hv1, switch: web, ip: 10.1.0.11}\n"
    "  - {name: db1, host: hv1, switch: db, ip: 10.3.0.11}\n";

static void
test_valid(void **state)
{
    struct topo *t = topo_test_load_ok(valid_yaml);

    /* Switches: bare, db, transit, web. */
    assert_int_equal(t->n_switches, 4);
    const struct topo_switch *web = topo_find_switch(t, "web");
    const struct topo_switch *db = topo_find_switch(t, "db");
    const struct topo_switch *tr = topo_find_switch(t, "transit");
    const struct topo_switch *bare = topo_find_switch(t, "bare");
    size_t iweb = (size_t) (web - t->switches), idb = (size_t) (db - t->switches);
    size_t itr = (size_t) (tr - t->switches);

    /* DHCP: given values, the defaults, off without a cidr. */
    assert_true(web->dhcp.enabled);
    assert_int_equal(web->dhcp.n_dns, 2);
    assert_int_equal(web->dhcp.dns[0], topo_test_ip("10.1.0.53"));
    assert_int_equal(web->dhcp.dns[1], topo_test_ip("10.9.9.9"));
    assert_int_equal(web->dhcp.lease_time, 600);
    assert_int_equal(web->dhcp.n_routes, 1);
    assert_int_equal(web->dhcp.routes[0].prefix, topo_test_ip("10.50.0.0"));
    assert_int_equal(web->dhcp.routes[0].plen, 16);
    assert_int_equal(web->dhcp.routes[0].next_hop, topo_test_ip("10.1.0.1"));
    assert_int_equal(web->dhcp.routes[0].mark.line, 10);
    assert_true(db->dhcp.enabled);
    assert_int_equal(db->dhcp.lease_time, 3600);
    assert_int_equal(db->dhcp.n_dns, 0);
    assert_int_equal(db->dhcp.n_routes, 0);
    assert_false(tr->dhcp.enabled);
    assert_false(bare->dhcp.enabled);

    /* Routers sorted by name, ports by switch name, routes in file order. */
    assert_int_equal(t->n_routers, 2);
    const struct topo_router *r1 = topo_find_router(t, "r1");
    const struct topo_router *r2 = topo_find_router(t, "r2");
    assert_ptr_equal(r1, &t->routers[0]);
    assert_ptr_equal(r2, &t->routers[1]);
    assert_null(topo_find_router(t, "r3"));
    assert_int_equal(r1->mark.line, 24);
    assert_int_equal(r1->mark.col, 5);

    assert_int_equal(r1->n_ports, 2);
    assert_int_equal(r1->ports[0].sw, itr);             /* transit < web */
    assert_int_equal(r1->ports[0].ip, topo_test_ip("192.168.100.1"));
    assert_int_equal(r1->ports[0].plen, 24);
    assert_int_equal(r1->ports[0].mark.line, 28);
    assert_int_equal(r1->ports[1].sw, iweb);
    assert_int_equal(r1->ports[1].ip, topo_test_ip("10.1.0.1"));
    assert_int_equal(r1->ports[1].mark.line, 26);
    assert_int_equal(r1->n_routes, 2);
    assert_int_equal(r1->routes[0].prefix, 0);
    assert_int_equal(r1->routes[0].plen, 0);
    assert_int_equal(r1->routes[0].next_hop, topo_test_ip("192.168.100.2"));
    assert_int_equal(r1->routes[0].mark.line, 30);
    assert_int_equal(r1->routes[1].prefix, topo_test_ip("10.3.0.0"));
    assert_int_equal(r1->routes[1].plen, 16);

    assert_int_equal(r2->n_ports, 2);
    assert_int_equal(r2->ports[0].sw, idb);             /* db < transit */
    assert_true(r2->ports[0].mac == 0x0a000000ff01ULL);
    assert_int_equal(r2->ports[1].sw, itr);
    assert_int_equal(r2->n_routes, 1);
    assert_int_equal(r2->routes[0].next_hop, topo_test_ip("192.168.100.1"));

    /* Derived MACs: 0a:, unicast, distinct from each other and workloads. */
    const uint64_t macs[] = { r1->ports[0].mac, r1->ports[1].mac,
                              r2->ports[0].mac, r2->ports[1].mac,
                              t->ports[0].mac, t->ports[1].mac };
    for (size_t i = 0; i < 6; i++) {
        assert_false(eth_is_multicast(macs[i]));
        if (i != 2) {
            assert_true(macs[i] >> 40 == 0x0a);
        }
        for (size_t j = 0; j < i; j++) {
            assert_true(macs[i] != macs[j]);
        }
    }

    /* The gateway of a switch: the first router port on it. */
    size_t ri = 99;
    assert_ptr_equal(topo_switch_router_port(t, itr, &ri), &r1->ports[0]);
    assert_int_equal(ri, 0);
    assert_ptr_equal(topo_switch_router_port(t, idb, &ri), &r2->ports[0]);
    assert_int_equal(ri, 1);
    assert_null(topo_switch_router_port(t, (size_t) (bare - t->switches),
                                        NULL));
    topo_destroy(t);
}

/* Derived router MACs depend on router and switch names only. */
static void
test_macs_stable(void **state)
{
    static const char a[] =
        "hosts: [{name: h1, tunnel_ip: 10.0.0.1/24}]\n"
        "switches: [{name: s1, cidr: 10.1.0.0/24}, {name: s2, cidr: "
        "10.2.0.0/24}]\n"
        "routers:\n"
        "  - {name: ra, ports: [{switch: s1, ip: 10.1.0.1/24}, "
        "{switch: s2, ip: 10.2.0.1/24}]}\n"
        "  - {name: rb, ports: [{switch: s1, ip: 10.1.0.2/24}]}\n"
        "ports: [{name: p1, host: h1, switch: s1}]\n";
    static const char b[] =
        "routers:\n"
        "  - {name: rb, ports: [{switch: s1, ip: 10.1.0.2/24}]}\n"
        "  - {name: ra, ports: [{switch: s2, ip: 10.2.0.1/24}, "
        "{switch: s1, ip: 10.1.0.1/24}]}\n"
        "ports: [{name: p1, host: h1, switch: s1}]\n"
        "switches: [{name: s2, cidr: 10.2.0.0/24}, {name: s1, cidr: "
        "10.1.0.0/24}]\n"
        "hosts: [{name: h1, tunnel_ip: 10.0.0.1/24}]\n";
    struct topo *ta = topo_test_load_ok(a);
    struct topo *tb = topo_test_load_ok(b);
    struct topo *ta2 = topo_test_load_ok(a);
    for (size_t r = 0; r < 2; r++) {
        assert_string_equal(ta->routers[r].name, tb->routers[r].name);
        assert_int_equal(ta->routers[r].n_ports, tb->routers[r].n_ports);
        for (size_t k = 0; k < ta->routers[r].n_ports; k++) {
            assert_true(ta->routers[r].ports[k].mac
                        == tb->routers[r].ports[k].mac);
            assert_true(ta->routers[r].ports[k].mac
                        == ta2->routers[r].ports[k].mac);
            assert_int_equal(ta->routers[r].ports[k].ip,
                             tb->routers[r].ports[k].ip);
        }
    }
    uint64_t ra_s1 = ta->routers[0].ports[0].mac;
    assert_true(ra_s1 >> 40 == 0x0a);
    assert_true(ra_s1 != ta->routers[0].ports[1].mac);
    assert_true(ra_s1 != ta->routers[1].ports[0].mac);

    /* Probing: a workload given the MAC router ra would derive on s1 keeps
     * it, and the router's moves aside.  Conversely a router port given the
     * MAC workload p1 would derive keeps it, and p1's moves. */
    char mac[ETH_ADDR_STRLEN], pmac[ETH_ADDR_STRLEN];
    eth_format(ra_s1, mac);
    eth_format(ta->ports[0].mac, pmac);
    char *c = xasprintf(
        "hosts: [{name: h1, tunnel_ip: 10.0.0.1/24}]\n"
        "switches: [{name: s1, cidr: 10.1.0.0/24}, {name: s2, cidr: "
        "10.2.0.0/24}]\n"
        "routers:\n"
        "  - {name: ra, ports: [{switch: s1, ip: 10.1.0.1/24}, "
        "{switch: s2, ip: 10.2.0.1/24, mac: '%s'}]}\n"
        "ports: [{name: p1, host: h1, switch: s1}, "
        "{name: p2, host: h1, switch: s2, mac: '%s'}]\n", pmac, mac);
    struct topo *tc = topo_test_load_ok(c);
    assert_true(topo_find_port(tc, "p2")->mac == ra_s1);
    assert_true(tc->routers[0].ports[0].mac != ra_s1);
    assert_true(tc->routers[0].ports[1].mac == ta->ports[0].mac);
    assert_true(topo_find_port(tc, "p1")->mac != ta->ports[0].mac);
    free(c);

    /* A base MAC: the k-th port in switch name order gets base + k. */
    struct topo *td = topo_test_load_ok(
                  "switches: [{name: s1, cidr: 10.1.0.0/24}, {name: s2, cidr: "
                  "10.2.0.0/24}, {name: s3, cidr: 10.3.0.0/24}]\n"
                  "routers:\n"
                  "  - name: ra\n"
                  "    mac: 0a:00:00:00:ff:00\n"
                  "    ports:\n"
                  "      - {switch: s3, ip: 10.3.0.1/24}\n"
        "      - {switch: s1, ip: 10.1.0.1/24, mac: '02:00:00:00:00:01'}\n"
                  "      - {switch: s2, ip: 10.2.0.1/24}\n");
    assert_true(td->routers[0].ports[0].mac == 0x020000000001ULL);
    assert_true(td->routers[0].ports[1].mac == 0x0a000000ff01ULL);
    assert_true(td->routers[0].ports[2].mac == 0x0a000000ff02ULL);
    topo_destroy(ta);
    topo_destroy(tb);
    topo_destroy(ta2);
    topo_destroy(tc);
    topo_destroy(td);
}

struct error_case {
    const char *kind;
    const char *yaml;
    unsigned int line, col;
    const char *path;
    const char *what;
};

/* Lines 1..20; a case appends from line 21 (a port of r1, then more). */
#define BASE                                                    \
    "hosts:\n"                                                  \
    "  - name: hv1\n"                                           \
    "    tunnel_ip: 10.200.0.11/24\n"                           \
    "switches:\n"                                               \
    "  - name: web\n"                                           \
    "    cidr: 10.1.0.0/24\n"                                   \
    "  - name: db\n"                                            \
    "    cidr: 10.3.0.0/24\n"                                   \
    "  - name: tr\n"                                            \
    "    cidr: 192.168.100.0/24\n"                              \
    "  - name: wide\n"                                          \
    "    cidr: 10.0.0.0/8\n"                                    \
    "  - name: bare\n"                                          \
    "ports:\n"                                                  \
    "  - {name: web1, host: hv1, switch: web, ip: 10.1.0.11, "  \
    "mac: '0a:00:00:00:01:11'}\n"                               \
    "routers:\n"                                                \
    "  - name: r1\n"                                            \
    "    ports:\n"                                              \
    "      - {switch: web, ip: 10.1.0.1/24}\n"                  \
    "      - {switch: tr, ip: 192.168.100.1/24}\n"
#define R1P(x) BASE "      - " x "\n"
#define R1ROUTES(x) BASE "    routes:\n" x
#define R2(x) BASE "  - name: r2\n    ports:\n" x
#define SW(x) "switches:\n  - name: web\n    cidr: 10.1.0.0/24\n" x

static const struct error_case error_cases[] = {
    { "unknown switch", R1P("{switch: wbe, ip: 10.1.0.2/24}"), 21, 18,
      "routers.r1.ports[2].switch", "unknown switch 'wbe'" },
    { "switch without cidr", R1P("{switch: bare, ip: 10.9.0.1/24}"), 21, 18,
      "routers.r1.ports[2].switch", "switch bare has no cidr" },
    { "ip outside cidr", R1P("{switch: db, ip: 10.4.0.1/24}"), 21, 26,
      "routers.r1.ports[2].ip",
      "router port ip 10.4.0.1/24 is outside switch db's cidr 10.3.0.0/24" },
    { "prefix length differs", R1P("{switch: db, ip: 10.3.0.1/16}"), 21, 26,
      "routers.r1.ports[2].ip", "has prefix length /16 but switch db's cidr "
      "is 10.3.0.0/24; write 10.3.0.1/24" },
    { "broadcast address", R1P("{switch: db, ip: 10.3.0.255/24}"), 21, 26,
      "routers.r1.ports[2].ip", "broadcast address" },
    { "ip without prefix", R1P("{switch: db, ip: 10.3.0.1}"), 21, 26,
      "routers.r1.ports[2].ip", "not an IPv4 address with the switch's "
      "prefix length" },
    { "two ports on one switch", R1P("{switch: web, ip: 10.1.0.2/24}"), 21, 18,
      "routers.r1.ports[2].switch", "router r1 already has a port on switch "
      "web (line 19)" },
    { "overlapping connected subnets", R1P("{switch: wide, ip: 10.0.0.1/8}"),
      21, 28, "routers.r1.ports[2].ip", "connected network 10.0.0.0/8 "
      "(switch wide) overlaps 10.1.0.0/24 (switch web, line 19)" },
    { "two routers, one ip", R2("      - {switch: tr, ip: 192.168.100.1/24}\n"),
      23, 26, "routers.r2.ports[0].ip", "router port ip 192.168.100.1 on "
      "switch tr is already router r1's (line 20)" },
    { "router ip is a workload's", R2("      - {switch: web, ip: 10.1.0.11/24}\n"),
      23, 27, "routers.r2.ports[0].ip", "is workload port web1's address" },
    { "router MAC duplicates a port MAC",
      R2("      - {switch: db, ip: 10.3.0.1/24, mac: '0a:00:00:00:01:11'}\n"),
      23, 44, "routers.r2.ports[0].mac", "router MAC 0a:00:00:00:01:11 "
      "duplicates the mac of port web1" },
    { "router base MAC duplicates a port MAC",
      BASE "  - name: r2\n    mac: 0a:00:00:00:01:10\n    ports:\n"
      "      - {switch: tr, ip: 192.168.100.2/24}\n"
      "      - {switch: web, ip: 10.1.0.2/24}\n", 22, 10, "routers.r2.mac",
      "duplicates the mac of port web1" },
    { "two routers, one MAC",
      BASE "  - name: r2\n    ports:\n"
      "      - {switch: tr, ip: 192.168.100.2/24, mac: '0a:00:00:00:09:01'}\n"
      "  - name: r3\n    ports:\n"
      "      - {switch: db, ip: 10.3.0.2/24, mac: '0a:00:00:00:09:01'}\n",
      26, 44, "routers.r3.ports[0].mac", "a port of router r2 (line 23)" },
    { "multicast router mac", R1P("{switch: db, ip: 10.3.0.1/24, mac: "
      "'01:00:00:00:00:01'}"), 21, 44, "routers.r1.ports[2].mac",
      "is multicast" },
    { "next hop not connected",
      R1ROUTES("      - {prefix: 10.9.0.0/16, next_hop: 10.5.0.1}\n"), 22, 41,
      "routers.r1.routes[0].next_hop", "next hop 10.5.0.1 is not on a "
      "network router r1 has a port on (10.1.0.0/24, 192.168.100.0/24)" },
    { "next hop is the router's own",
      R1ROUTES("      - {prefix: 10.9.0.0/16, next_hop: 192.168.100.1}\n"),
      22, 41, "routers.r1.routes[0].next_hop", "is router r1's own address "
      "(its port on switch tr)" },
    { "duplicate route prefix",
      R1ROUTES("      - {prefix: 10.9.0.0/16, next_hop: 192.168.100.2}\n"
               "      - {prefix: 10.9.0.0/16, next_hop: 192.168.100.3}\n"),
      23, 18, "routers.r1.routes[1].prefix", "duplicate route prefix "
      "10.9.0.0/16: routes[0] (line 22)" },
    { "bad prefix (host bits)",
      R1ROUTES("      - {prefix: 10.9.0.1/16, next_hop: 192.168.100.2}\n"),
      22, 18, "routers.r1.routes[0].prefix", "host bits set; did you mean "
      "10.9.0.0/16?" },
    { "bad prefix (syntax)",
      R1ROUTES("      - {prefix: default, next_hop: 192.168.100.2}\n"),
      22, 18, "routers.r1.routes[0].prefix", "not an IPv4 network" },
    { "bad next hop", R1ROUTES("      - {prefix: 0.0.0.0/0, next_hop: x}\n"),
      22, 39, "routers.r1.routes[0].next_hop", "not a unicast IPv4 address" },
    { "route without next hop", R1ROUTES("      - {prefix: 0.0.0.0/0}\n"),
      22, 9, "routers.r1.routes[0]", "missing required key 'next_hop'" },
    { "duplicate router name", BASE "  - name: r1\n    ports: []\n", 21, 11,
      "routers.r1.name", "duplicate router name 'r1' (first defined at "
      "line 17)" },
    { "bad router name", BASE "  - name: R2\n    ports: []\n", 21, 11,
      "routers[1].name", "name 'R2' is not valid" },
    { "router without ports", BASE "  - name: r2\n", 21, 5, "routers.r2",
      "missing required key 'ports' in router" },
    { "router port without ip", R1P("{switch: db}"), 21, 9,
      "routers.r1.ports[2]", "missing required key 'ip' in router port" },
    { "router ports not a list", BASE "  - name: r2\n    ports: web\n", 22, 12,
      "routers.r2.ports", "'ports' must be a list" },
    { "router item not a mapping", BASE "  - r2\n", 21, 5, "routers[1]",
      "each router must be a mapping" },
    { "external network key refused", BASE "    external: {ip: 1.2.3.4}\n",
      21, 5, "routers.r1.external", "unknown key 'external' in router; valid "
      "keys are: name, mac, ports, routes" },
    { "nat key refused", R1P("{switch: db, ip: 10.3.0.1/24, snat: true}"), 21,
      39, "routers.r1.ports[2].snat", "unknown key 'snat' in router port" },
    { "top-level gateways refused", BASE "gateways: []\n", 21, 1, "gateways",
      "unknown top-level key 'gateways'" },
    { "dhcp route next hop outside cidr",
      SW("    dhcp:\n      routes:\n"
         "        - {prefix: 10.50.0.0/16, next_hop: 10.2.0.1}\n"), 6, 44,
      "switches.web.dhcp.routes[0].next_hop", "next hop 10.2.0.1 is outside "
      "switch web's cidr 10.1.0.0/24" },
    { "dhcp route bad prefix",
      SW("    dhcp:\n      routes:\n"
         "        - {prefix: 10.50.0.1/16, next_hop: 10.1.0.1}\n"), 6, 20,
      "switches.web.dhcp.routes[0].prefix", "host bits set" },
    { "bad dns address", SW("    dhcp:\n      dns: [10.1.0.53, 10.1.0.999]\n"),
      5, 24, "switches.web.dhcp.dns[1]", "bad DNS address '10.1.0.999'" },
    { "dns not a list", SW("    dhcp:\n      dns: 10.1.0.53\n"), 5, 12,
      "switches.web.dhcp.dns", "'dns' must be a list" },
    { "too many dns servers",
      SW("    dhcp:\n      dns: [1.1.1.1, 1.0.0.1, 8.8.8.8, 8.8.4.4, "
         "9.9.9.9]\n"), 5, 49, "switches.web.dhcp.dns[4]",
      "too many DNS servers" },
    { "lease_time too short", SW("    dhcp:\n      lease_time: 59\n"), 5, 19,
      "switches.web.dhcp.lease_time", "60..2147483647" },
    { "lease_time too long", SW("    dhcp:\n      lease_time: 2147483648\n"),
      5, 19, "switches.web.dhcp.lease_time", "out of range" },
    { "dhcp enabled not a boolean", SW("    dhcp: {enabled: yes}\n"), 4, 21,
      "switches.web.dhcp.enabled", "write true or false" },
    { "dhcp without cidr",
      "switches:\n  - name: bare\n    dhcp:\n      enabled: true\n", 4, 7,
      "switches.bare.dhcp", "switch bare has no cidr; add cidr:" },
    { "dhcp not a mapping", SW("    dhcp: [a]\n"), 4, 11,
      "switches.web.dhcp", "'dhcp' must be a mapping" },
    { "dhcp unknown key", SW("    dhcp:\n      gateway: 10.1.0.1\n"), 5, 7,
      "switches.web.dhcp.gateway", "unknown key 'gateway' in dhcp; valid "
      "keys are: enabled, dns, lease_time, routes" },
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
        topo_test_expect_error(&errs, c->line, c->col, c->path, c->what);
        topo_errors_destroy(&errs);
    }
}

/* The base of the error cases is itself valid (so each case shows exactly
 * the error it adds), and one file with many router/DHCP mistakes reports
 * them all in one pass. */
static void
test_many_errors(void **state)
{
    topo_destroy(topo_test_load_ok(BASE));
    topo_destroy(topo_test_load_ok(SW("")));

    static const char yaml[] =
        "switches:\n"                                           /* 1 */
        "  - name: web\n"
        "    cidr: 10.1.0.0/24\n"
        "    dhcp: {lease_time: 5, dns: [x]}\n"                 /* 4 */
        "  - name: db\n"
        "    cidr: 10.3.0.0/24\n"
        "routers:\n"                                            /* 7 */
        "  - name: r1\n"
        "    ports:\n"
        "      - {switch: web, ip: 10.1.0.1/24}\n"              /* 10 */
        "      - {switch: db, ip: 10.3.0.1/25}\n"
        "    routes:\n"
        "      - {prefix: 10.8.0.1/16, next_hop: 10.1.0.254}\n"  /* 13 */
        "  - name: r2\n"
        "    ports:\n"
        "      - {switch: web, ip: 10.1.0.1/24}\n"              /* 16 */
        "    routes:\n"
        "      - {prefix: 0.0.0.0/0, next_hop: 10.9.0.1}\n";    /* 18 */
    struct topo_errors errs;
    topo_errors_init(&errs);
    assert_null(topo_test_load(yaml, &errs));
    topo_test_expect_error(&errs, 4, 24, "switches.web.dhcp.lease_time",
                           "out of range");
    topo_test_expect_error(&errs, 4, 33, "switches.web.dhcp.dns[0]",
                           "bad DNS address");
    topo_test_expect_error(&errs, 11, 26, "routers.r1.ports[1].ip",
                           "prefix length /25");
    topo_test_expect_error(&errs, 13, 18, "routers.r1.routes[0].prefix",
                           "host bits");
    topo_test_expect_error(&errs, 16, 27, "routers.r2.ports[0].ip",
                           "already router r1's");
    topo_test_expect_error(&errs, 18, 39, "routers.r2.routes[0].next_hop",
                 "not on a network router r2 has a port on (10.1.0.0/24)");
    assert_int_equal(errs.n, 6);
    for (size_t i = 1; i < errs.n; i++) {
        assert_true(errs.errs[i - 1].line <= errs.errs[i].line);
    }
    topo_errors_destroy(&errs);
}

/* The router examples load with the model they describe. */
static void
test_examples(void **state)
{
    struct topo_errors errs;
    topo_errors_init(&errs);
    char *path = topo_test_source_path("topology-examples/three-tier.yaml");
    struct topo *t = topo_load_file(path, &errs);
    if (!t) {
        topo_test_print_errors(&errs);
    }
    assert_non_null(t);
    assert_int_equal(t->n_hosts, 3);
    assert_int_equal(t->n_switches, 3);
    assert_int_equal(t->n_ports, 6);
    assert_int_equal(t->n_routers, 1);
    const struct topo_router *r1 = topo_find_router(t, "r1");
    assert_int_equal(r1->n_ports, 3);
    assert_int_equal(r1->n_routes, 0);
    for (size_t k = 0; k < 3; k++) {
        const struct topo_switch *s = &t->switches[r1->ports[k].sw];
        assert_int_equal(r1->ports[k].ip, s->net | 1);
        assert_int_equal(r1->ports[k].plen, 24);
        assert_true(s->dhcp.enabled);
    }
    assert_string_equal(t->switches[r1->ports[0].sw].name, "app");
    const struct topo_switch *web = topo_find_switch(t, "web");
    assert_int_equal(web->dhcp.n_dns, 1);
    assert_int_equal(web->dhcp.dns[0], topo_test_ip("10.1.0.53"));
    assert_int_equal(topo_find_switch(t, "db")->dhcp.n_dns, 0);
    assert_int_equal(topo_find_port(t, "db2")->host, 0);
    topo_destroy(t);
    free(path);

    path = topo_test_source_path("topology-examples/two-routers.yaml");
    t = topo_load_file(path, &errs);
    if (!t) {
        topo_test_print_errors(&errs);
    }
    assert_non_null(t);
    assert_int_equal(t->n_routers, 2);
    const struct topo_router *a = topo_find_router(t, "r1");
    const struct topo_router *b = topo_find_router(t, "r2");
    const struct topo_switch *tr = topo_find_switch(t, "transit");
    assert_false(tr->dhcp.enabled);
    assert_int_equal(a->n_routes, 1);
    assert_int_equal(a->routes[0].prefix, topo_test_ip("10.3.0.0"));
    assert_int_equal(a->routes[0].plen, 16);
    assert_int_equal(a->routes[0].next_hop, topo_test_ip("192.168.100.2"));
    assert_int_equal(b->routes[0].next_hop, topo_test_ip("192.168.100.1"));
    assert_ptr_equal(&t->switches[a->ports[0].sw], tr);    /* transit < web */
    assert_ptr_equal(&t->switches[b->ports[1].sw], tr);    /* db < transit */
    assert_true(a->ports[0].mac != b->ports[1].mac);
    assert_int_equal(errs.n, 0);
    topo_destroy(t);
    free(path);
    topo_errors_destroy(&errs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_macs_stable),
        cmocka_unit_test(test_error_kinds),
        cmocka_unit_test(test_many_errors),
        cmocka_unit_test(test_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
