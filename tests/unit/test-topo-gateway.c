/* test-topo-gateway.c — external networks and router gateways in the
 * topology: the model (resolved indexes, sorted NAT lists, the implicit
 * default route), stable derived external VNIs and gateway MACs, the
 * relaxed next-hop rule, and every new validation error with its exact
 * position and path, several of them in one pass. */
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

/* Lines 1..24; the gateway goes on line 25. */
#define HEAD                                                    \
    "hosts:\n"                                                  \
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"              \
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n"              \
    "switches:\n"                                               \
    "  - {name: web, cidr: 10.1.0.0/24}\n"                      \
    "  - {name: app, cidr: 10.2.0.0/24}\n"                      \
    "  - {name: other, cidr: 10.9.0.0/24}\n"                    \
    "ports:\n"                                                  \
    "  - {name: web1, host: hv1, switch: web, ip: 10.1.0.11}\n" \
    "  - {name: app1, host: hv2, switch: app, ip: 10.2.0.11}\n" \
    "  - {name: oth1, host: hv1, switch: other, ip: 10.9.0.11}\n" \
    "  - {name: noip, host: hv1, switch: web}\n"                \
    "external_networks:\n"                                      \
    "  - name: internet\n"                                      \
    "    cidr: 203.0.113.0/24\n"                                \
    "    gateway_ip: 203.0.113.1\n"                             \
    "    gateway_mac: 0a:00:00:00:00:fe\n"                      \
    "    host: hv1\n"                                           \
    "    iface: ext0\n"                                         \
    "routers:\n"                                                \
    "  - name: r1\n"                                            \
    "    ports:\n"                                              \
    "      - {switch: web, ip: 10.1.0.1/24}\n"                  \
    "      - {switch: app, ip: 10.2.0.1/24}\n"
#define GW(x) HEAD "    gateway: {network: " x "}\n"
/* A valid gateway on line 25; a case appends from line 26. */
#define BASE GW("internet, ip: 203.0.113.10")

static void
test_valid(void **state)
{
    struct topo *t = topo_test_load_ok(
                  BASE
        "    snat: [web, app]\n"                                    /* 26 */
                  "    floating_ips:\n"
                  "      - {ip: 203.0.113.21, port: app1}\n"
                  "      - {ip: 203.0.113.20, port: web1}\n"
        "    port_forwards:\n"                                      /* 30 */
        "      - {protocol: udp, port: 53, to: app1, to_port: 5353}\n"
                  "      - {protocol: tcp, port: 8080, to: app1, to_port: 80, "
                  "ip: 203.0.113.10}\n"
                  "    routes:\n"
        "      - {prefix: 198.51.100.0/24, next_hop: 203.0.113.5}\n" /* 34 */
                  "  - name: r2\n"
                  "    ports: [{switch: other, ip: 10.9.0.1/24}]\n"
                  "    gateway: {network: internet, ip: 203.0.113.11, "
        "mac: '0a:00:00:00:ee:01'}\n"                               /* 37 */
                  "    routes:\n"
                  "      - {prefix: 0.0.0.0/0, next_hop: 203.0.113.2}\n");
    assert_int_equal(t->n_externals, 1);
    const struct topo_external *e = topo_find_external(t, "internet");
    assert_ptr_equal(e, &t->externals[0]);
    assert_null(topo_find_external(t, "web"));
    assert_int_equal(e->net, topo_test_ip("203.0.113.0"));
    assert_int_equal(e->plen, 24);
    assert_int_equal(e->gateway_ip, topo_test_ip("203.0.113.1"));
    assert_true(e->gateway_mac == 0x0a00000000feULL);
    assert_string_equal(t->hosts[e->host].name, "hv1");
    assert_string_equal(e->iface, "ext0");
    assert_int_equal(e->mark.line, 14);
    assert_int_equal(e->mark.col, 5);
    for (size_t i = 0; i < t->n_switches; i++) {
        assert_true(e->vni >= 1 && e->vni != t->switches[i].vni);
    }

    const struct topo_router *r1 = topo_find_router(t, "r1");
    const struct topo_router *r2 = topo_find_router(t, "r2");
    assert_true(r1->has_gateway);
    assert_int_equal(r1->gw_net, 0);
    assert_int_equal(r1->gw_ip, topo_test_ip("203.0.113.10"));
    assert_true(r1->gw_mac >> 40 == 0x0a);
    assert_true(r1->gw_mac != r1->ports[0].mac && r1->gw_mac != r1->ports[1].mac);
    assert_int_equal(r1->gw_mark.line, 25);
    assert_int_equal(r1->gw_mark.col, 14);
    assert_true(r2->gw_mac == 0x0a000000ee01ULL);

    /* SNAT switches as sorted indexes (app < web). */
    assert_int_equal(r1->n_snat, 2);
    assert_string_equal(t->switches[r1->snat[0]].name, "app");
    assert_string_equal(t->switches[r1->snat[1]].name, "web");
    assert_int_equal(r2->n_snat, 0);

    /* Floating IPs sorted by address, ports resolved. */
    assert_int_equal(r1->n_fips, 2);
    assert_int_equal(r1->fips[0].ip, topo_test_ip("203.0.113.20"));
    assert_string_equal(t->ports[r1->fips[0].port].name, "web1");
    assert_int_equal(r1->fips[0].mark.line, 29);
    assert_int_equal(r1->fips[1].ip, topo_test_ip("203.0.113.21"));
    assert_string_equal(t->ports[r1->fips[1].port].name, "app1");

    /* Port forwards sorted by (ip, protocol, port); ip defaults. */
    assert_int_equal(r1->n_forwards, 2);
    const struct topo_port_forward *f = &r1->forwards[0];
    assert_int_equal(f->ip, topo_test_ip("203.0.113.10"));
    assert_int_equal(f->proto, 6);
    assert_int_equal(f->port, 8080);
    assert_string_equal(t->ports[f->to].name, "app1");
    assert_int_equal(f->to_port, 80);
    assert_int_equal(f->mark.line, 32);
    f = &r1->forwards[1];
    assert_int_equal(f->ip, topo_test_ip("203.0.113.10"));
    assert_int_equal(f->proto, 17);
    assert_int_equal(f->port, 53);
    assert_int_equal(f->to_port, 5353);

    /* r1: its static route (next hop on the external network counts as
     * connected), then the implicit default route via gateway_ip. */
    assert_int_equal(r1->n_routes, 2);
    assert_int_equal(r1->routes[0].prefix, topo_test_ip("198.51.100.0"));
    assert_int_equal(r1->routes[0].next_hop, topo_test_ip("203.0.113.5"));
    assert_int_equal(r1->routes[1].prefix, 0);
    assert_int_equal(r1->routes[1].plen, 0);
    assert_int_equal(r1->routes[1].next_hop, topo_test_ip("203.0.113.1"));
    assert_int_equal(r1->routes[1].mark.line, 25);
    assert_int_equal(r1->routes[1].mark.col, 14);
    /* r2 has its own default route: none is added. */
    assert_int_equal(r2->n_routes, 1);
    assert_int_equal(r2->routes[0].next_hop, topo_test_ip("203.0.113.2"));
    topo_destroy(t);

    /* A router without gateway has none of it. */
    t = topo_test_load_ok(HEAD);
    assert_false(t->routers[0].has_gateway);
    assert_int_equal(t->routers[0].n_routes, 0);
    assert_int_equal(t->routers[0].n_snat + t->routers[0].n_fips
                     + t->routers[0].n_forwards, 0);
    topo_destroy(t);
}

/* Derived external VNIs and gateway MACs depend on names only. */
static void
test_derived_stable(void **state)
{
    static const char a[] =
        "hosts: [{name: h1, tunnel_ip: 10.0.0.1/24}]\n"
        "switches: [{name: s1, cidr: 10.1.0.0/24}, {name: s2}]\n"
        "external_networks:\n"
        "  - {name: net-a, cidr: 203.0.113.0/24, gateway_ip: 203.0.113.1, "
        "gateway_mac: '0a:00:00:00:00:fe', host: h1, iface: ext0}\n"
        "  - {name: net-b, cidr: 198.51.100.0/24, gateway_ip: 198.51.100.1, "
        "gateway_mac: '0a:00:00:00:00:fd', host: h1, iface: ext1}\n"
        "routers:\n"
        "  - {name: ra, ports: [{switch: s1, ip: 10.1.0.1/24}], "
        "gateway: {network: net-a, ip: 203.0.113.10}}\n"
        "  - {name: rb, ports: [], gateway: {network: net-b, "
        "ip: 198.51.100.10}}\n";
    static const char b[] =
        "routers:\n"
        "  - {name: rb, ports: [], gateway: {network: net-b, "
        "ip: 198.51.100.10}}\n"
        "  - {name: ra, ports: [{switch: s1, ip: 10.1.0.1/24}], "
        "gateway: {network: net-a, ip: 203.0.113.10}}\n"
        "external_networks:\n"
        "  - {name: net-b, cidr: 198.51.100.0/24, gateway_ip: 198.51.100.1, "
        "gateway_mac: '0a:00:00:00:00:fd', host: h1, iface: ext1}\n"
        "  - {name: net-a, cidr: 203.0.113.0/24, gateway_ip: 203.0.113.1, "
        "gateway_mac: '0a:00:00:00:00:fe', host: h1, iface: ext0}\n"
        "switches: [{name: s2}, {name: s1, cidr: 10.1.0.0/24}]\n"
        "hosts: [{name: h1, tunnel_ip: 10.0.0.1/24}]\n";
    struct topo *ta = topo_test_load_ok(a);
    struct topo *tb = topo_test_load_ok(b);
    struct topo *ta2 = topo_test_load_ok(a);
    assert_int_equal(ta->n_externals, 2);
    assert_string_equal(ta->externals[0].name, "net-a");
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(ta->externals[i].vni, tb->externals[i].vni);
        assert_int_equal(ta->externals[i].vni, ta2->externals[i].vni);
        assert_true(ta->routers[i].gw_mac == tb->routers[i].gw_mac);
        assert_true(ta->routers[i].gw_mac == ta2->routers[i].gw_mac);
        assert_true(ta->routers[i].gw_mac >> 40 == 0x0a);
        assert_int_equal(ta->routers[i].gw_net, i);
    }
    assert_true(ta->externals[0].vni != ta->externals[1].vni);
    assert_true(ta->routers[0].gw_mac != ta->routers[1].gw_mac);
    assert_true(ta->routers[0].gw_mac != ta->routers[0].ports[0].mac);

    /* A switch given the VNI net-a would derive keeps it; net-a's moves
     * aside (the two share one VNI space).  A workload given the MAC ra's
     * gateway would derive keeps it; the gateway's moves. */
    uint32_t vni = ta->externals[0].vni;
    char mac[ETH_ADDR_STRLEN];
    eth_format(ta->routers[0].gw_mac, mac);
    char *c = xasprintf(
        "hosts: [{name: h1, tunnel_ip: 10.0.0.1/24}]\n"
        "switches: [{name: s1, cidr: 10.1.0.0/24}, {name: s2, vni: %u}]\n"
        "ports: [{name: p1, host: h1, switch: s2, mac: '%s'}]\n"
        "external_networks:\n"
        "  - {name: net-a, cidr: 203.0.113.0/24, gateway_ip: 203.0.113.1, "
        "gateway_mac: '0a:00:00:00:00:fe', host: h1, iface: ext0}\n"
        "routers:\n"
        "  - {name: ra, ports: [{switch: s1, ip: 10.1.0.1/24}], "
        "gateway: {network: net-a, ip: 203.0.113.10}}\n", (unsigned) vni, mac);
    struct topo *tc = topo_test_load_ok(c);
    assert_int_equal(topo_find_switch(tc, "s2")->vni, vni);
    assert_true(tc->externals[0].vni != vni);
    assert_true(tc->externals[0].vni != topo_find_switch(tc, "s1")->vni);
    assert_true(tc->ports[0].mac == ta->routers[0].gw_mac);
    assert_true(tc->routers[0].gw_mac != ta->routers[0].gw_mac);
    assert_true(tc->routers[0].gw_mac >> 40 == 0x0a);
    free(c);

    /* A given external VNI is kept. */
    struct topo *td = topo_test_load_ok(
                  "hosts: [{name: h1, tunnel_ip: 10.0.0.1/24}]\n"
                  "external_networks:\n"
        "  - {name: net-a, cidr: 203.0.113.0/24, gateway_ip: 203.0.113.1, "
        "gateway_mac: '0a:00:00:00:00:fe', host: h1, iface: ext0, vni: 900}\n");
    assert_int_equal(td->externals[0].vni, 900);
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

/* External-network cases: lines 1..5, then the keys on lines 6..10 and
 * extra keys from line 11. */
#define EXT(c, g, m, h, i, extra)                                       \
    "hosts: [{name: hv1, tunnel_ip: 10.200.0.11/24}]\n"                 \
    "switches: [{name: web, cidr: 10.1.0.0/24, vni: 900}]\n"            \
    "ports: [{name: web1, host: hv1, switch: web, iface: tap1}]\n"      \
    "external_networks:\n"                                              \
    "  - name: internet\n"                                              \
    "    cidr: " c "\n"                                                 \
    "    gateway_ip: " g "\n"                                           \
    "    gateway_mac: " m "\n"                                          \
    "    host: " h "\n"                                                 \
    "    iface: " i "\n" extra
#define EXTOK(extra) EXT("203.0.113.0/24", "203.0.113.1",              \
                         "0a:00:00:00:00:fe", "hv1", "ext0", extra)
#define FIPS(a, b) BASE "    floating_ips:\n      - " a "\n      - " b "\n"
#define FWD(a) BASE "    port_forwards:\n      - " a "\n"
#define NOGW HEAD

static const struct error_case error_cases[] = {
    /* external networks */
    { "external host unknown", EXT("203.0.113.0/24", "203.0.113.1",
      "0a:00:00:00:00:fe", "hv9", "ext0", ""), 9, 11,
      "external_networks.internet.host", "unknown host 'hv9'" },
    { "iface clash with a workload port", EXT("203.0.113.0/24",
      "203.0.113.1", "0a:00:00:00:00:fe", "hv1", "tap1", ""), 10, 12,
      "external_networks.internet.iface", "iface 'tap1' on host hv1 is "
      "already workload port web1's (line 3)" },
    { "external cidr overlaps a switch", EXT("10.0.0.0/8", "10.200.1.1",
      "0a:00:00:00:00:fe", "hv1", "ext0", ""), 6, 11,
      "external_networks.internet.cidr", "external cidr 10.0.0.0/8 overlaps "
      "switch web's cidr 10.1.0.0/24" },
    { "external gateway_ip outside the cidr", EXT("203.0.113.0/24",
      "198.51.100.1", "0a:00:00:00:00:fe", "hv1", "ext0", ""), 7, 17,
      "external_networks.internet.gateway_ip", "gateway_ip 198.51.100.1 is "
      "outside the network's cidr 203.0.113.0/24" },
    { "external gateway_mac multicast", EXT("203.0.113.0/24", "203.0.113.1",
      "01:00:00:00:00:01", "hv1", "ext0", ""), 8, 18,
      "external_networks.internet.gateway_mac", "is multicast" },
    { "external VNI clashes with a switch", EXTOK("    vni: 900\n"), 11, 10,
      "external_networks.internet.vni", "VNI clash: vni 900 is already given "
      "to switch web (line 2)" },
    { "external network without iface",
      "hosts: [{name: hv1, tunnel_ip: 10.200.0.11/24}]\n"
      "external_networks:\n"
      "  - {name: internet, cidr: 203.0.113.0/24, gateway_ip: 203.0.113.1, "
      "host: hv1}\n", 3, 5, "external_networks.internet",
      "missing required key 'iface' in external network" },
    { "external network unknown key", EXTOK("    colour: red\n"), 11, 5,
      "external_networks.internet.colour", "unknown key 'colour' in external "
      "network" },
    /* gateway */
    { "unknown external network", GW("internt, ip: 203.0.113.10"), 25, 24,
      "routers.r1.gateway.network", "unknown external network 'internt'" },
    { "gateway ip outside the network", GW("internet, ip: 198.51.100.10"),
      25, 38, "routers.r1.gateway.ip", "gateway ip 198.51.100.10 is outside "
      "external network internet's cidr 203.0.113.0/24" },
    { "gateway ip is the network address", GW("internet, ip: 203.0.113.0"),
      25, 38, "routers.r1.gateway.ip", "is the network address" },
    { "gateway ip is the broadcast address",
      GW("internet, ip: 203.0.113.255"), 25, 38, "routers.r1.gateway.ip",
      "is the broadcast address" },
    { "gateway ip is the provider's", GW("internet, ip: 203.0.113.1"), 25,
      38, "routers.r1.gateway.ip", "is external network internet's "
      "gateway_ip" },
    { "gateway ip with a prefix", GW("internet, ip: 203.0.113.10/24"), 25,
      38, "routers.r1.gateway.ip", "not a unicast IPv4 address (no prefix "
      "length)" },
    { "two routers, one gateway ip",
      BASE "  - name: r2\n    ports: [{switch: other, ip: 10.9.0.1/24}]\n"
      "    gateway: {network: internet, ip: 203.0.113.10}\n", 28, 38,
      "routers.r2.gateway.ip", "gateway ip 203.0.113.10 is already router "
      "r1's gateway ip (line 25)" },
    { "gateway mac clashes", GW("internet, ip: 203.0.113.10, "
      "mac: '0a:00:00:00:00:fe'"), 25, 57, "routers.r1.gateway.mac",
      "duplicates the mac of the gateway_mac of external network internet" },
    { "gateway without ip", GW("internet"), 25, 14, "routers.r1.gateway",
      "missing required key 'ip' in gateway" },
    /* floating ips */
    { "floating ip outside the network",
      BASE "    floating_ips: [{ip: 198.51.100.20, port: web1}]\n", 26, 25,
      "routers.r1.floating_ips[0].ip", "floating ip 198.51.100.20 is outside "
      "external network internet's cidr" },
    { "floating ip used twice", FIPS("{ip: 203.0.113.20, port: web1}",
      "{ip: 203.0.113.20, port: app1}"), 28, 14,
      "routers.r1.floating_ips[1].ip", "floating ip 203.0.113.20 is already "
      "a floating ip of router r1 (line 27)" },
    { "floating ip is the gateway ip", FIPS("{ip: 203.0.113.10, port: web1}",
      "{ip: 203.0.113.21, port: app1}"), 27, 14,
      "routers.r1.floating_ips[0].ip", "floating ip 203.0.113.10 is already "
      "router r1's gateway ip (line 25)" },
    { "floating ip of another router's gateway",
      BASE "  - name: r2\n    ports: [{switch: other, ip: 10.9.0.1/24}]\n"
      "    gateway: {network: internet, ip: 203.0.113.11}\n"
      "    floating_ips: [{ip: 203.0.113.10, port: oth1}]\n", 29, 25,
      "routers.r2.floating_ips[0].ip", "already router r1's gateway ip" },
    { "floating ip on a foreign port", FIPS("{ip: 203.0.113.20, port: oth1}",
      "{ip: 203.0.113.21, port: app1}"), 27, 34,
      "routers.r1.floating_ips[0].port", "port oth1 is on switch other, "
      "which router r1 has no port on" },
    { "floating ip on an unknown port", FIPS("{ip: 203.0.113.20, port: nope}",
      "{ip: 203.0.113.21, port: app1}"), 27, 34,
      "routers.r1.floating_ips[0].port", "unknown port 'nope'" },
    { "floating ip on a port without ip",
      FIPS("{ip: 203.0.113.20, port: noip}", "{ip: 203.0.113.21, port: app1}"),
      27, 34, "routers.r1.floating_ips[0].port", "port noip has no ip" },
    { "two floating ips on one port", FIPS("{ip: 203.0.113.20, port: web1}",
      "{ip: 203.0.113.21, port: web1}"), 28, 34,
      "routers.r1.floating_ips[1].port", "port web1 already has a floating "
      "ip (router r1, line 27)" },
    /* snat */
    { "snat of a switch not on the router", BASE "    snat: [web, other]\n",
      26, 17, "routers.r1.snat[1]", "router r1 has no port on switch other" },
    { "snat of an unknown switch", BASE "    snat: [wbe]\n", 26, 12,
      "routers.r1.snat[0]", "unknown switch 'wbe'" },
    { "snat twice", BASE "    snat: [web, web]\n", 26, 17,
      "routers.r1.snat[1]", "switch web is already in snat (line 26)" },
    { "snat without gateway", NOGW "    snat: [web]\n", 25, 11,
      "routers.r1.snat", "router r1 has snat but no gateway" },
    { "floating ips without gateway",
      NOGW "    floating_ips: [{ip: 203.0.113.20, port: web1}]\n", 25, 19,
      "routers.r1.floating_ips", "router r1 has floating_ips but no gateway" },
    { "port forwards without gateway", NOGW "    port_forwards: "
      "[{protocol: tcp, port: 80, to: app1, to_port: 80}]\n", 25, 20,
      "routers.r1.port_forwards", "has port_forwards but no gateway" },
    /* port forwards */
    { "duplicate port forward",
      FWD("{protocol: tcp, port: 8080, to: app1, to_port: 80}\n"
          "      - {protocol: tcp, port: 8080, to: web1, to_port: 80}"), 28, 31,
      "routers.r1.port_forwards[1].port", "duplicate port forward tcp "
      "203.0.113.10:8080: port_forwards[0] (line 27)" },
    { "protocol not tcp/udp",
      FWD("{protocol: icmp, port: 8080, to: app1, to_port: 80}"), 27, 20,
      "routers.r1.port_forwards[0].protocol", "protocol 'icmp' is not tcp or "
      "udp" },
    { "port out of range", FWD("{protocol: tcp, port: 0, to: app1, "
      "to_port: 80}"), 27, 31, "routers.r1.port_forwards[0].port",
      "port '0' out of range; use an integer 1..65535" },
    { "to_port out of range", FWD("{protocol: tcp, port: 80, to: app1, "
      "to_port: 65536}"), 27, 54, "routers.r1.port_forwards[0].to_port",
      "to_port '65536' out of range" },
    { "forward to a foreign port", FWD("{protocol: tcp, port: 80, to: oth1, "
      "to_port: 80}"), 27, 39, "routers.r1.port_forwards[0].to",
      "port oth1 is on switch other" },
    { "forward ip not the gateway ip", FWD("{protocol: tcp, port: 80, "
      "to: app1, to_port: 80, ip: 203.0.113.20}"), 27, 62,
      "routers.r1.port_forwards[0].ip", "port forward ip 203.0.113.20 is not "
      "router r1's gateway ip 203.0.113.10" },
    /* routes */
    { "next hop is the gateway ip",
      BASE "    routes:\n      - {prefix: 10.50.0.0/16, "
      "next_hop: 203.0.113.10}\n", 27, 42, "routers.r1.routes[0].next_hop",
      "is router r1's own gateway address" },
    { "next hop off every network",
      BASE "    routes:\n      - {prefix: 10.50.0.0/16, "
      "next_hop: 198.51.100.1}\n", 27, 42, "routers.r1.routes[0].next_hop",
      "is not on a network router r1 has a port on" },
    { "next hop on the external network without gateway",
      NOGW "    routes:\n      - {prefix: 10.50.0.0/16, "
      "next_hop: 203.0.113.5}\n", 26, 42, "routers.r1.routes[0].next_hop",
      "is not on a network router r1 has a port on" },
};

static void
test_error_kinds(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++) {
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

/* The bases are valid (so each case shows exactly the error it adds), and
 * one file with many gateway mistakes reports all of them, sorted. */
static void
test_many_errors(void **state)
{
    topo_destroy(topo_test_load_ok(BASE));
    topo_destroy(topo_test_load_ok(EXTOK("")));

    struct topo_errors errs;
    topo_errors_init(&errs);
    struct topo *t = topo_test_load(
        "hosts: [{name: hv1, tunnel_ip: 10.200.0.11/24}]\n"          /* 1 */
                  "switches: [{name: web, cidr: 10.1.0.0/24}]\n"
        "ports: [{name: web1, host: hv1, switch: web, ip: 10.1.0.11}]\n"
                  "external_networks:\n"
        "  - {name: internet, cidr: 203.0.113.0/24, gateway_ip: 203.0.113.1, "
        "gateway_mac: '0a:00:00:00:00:fe', host: hv2, iface: ext0}\n" /* 5 */
                  "routers:\n"
                  "  - name: r1\n"
                  "    ports: [{switch: web, ip: 10.1.0.1/24}]\n"
        "    gateway: {network: internet, ip: 203.0.113.300}\n"      /* 9 */
                  "    snat: [db]\n"
                  "    floating_ips: [{ip: 198.51.100.20, port: web1}]\n"
        "    port_forwards: [{protocol: sctp, port: 99999, to: web1, "
        "to_port: 80}]\n"                                            /* 12 */
                  "  - name: r2\n"
                  "    ports: []\n"
        "    snat: [web]\n", &errs);                                 /* 15 */
    assert_null(t);
    topo_test_expect_error(&errs, 5, 109, "external_networks.internet.host",
                           "unknown host 'hv2'");
    topo_test_expect_error(&errs, 9, 38, "routers.r1.gateway.ip",
                           "not a unicast IPv4 address");
    topo_test_expect_error(&errs, 10, 12, "routers.r1.snat[0]",
                           "unknown switch 'db'");
    topo_test_expect_error(&errs, 11, 25, "routers.r1.floating_ips[0].ip",
                           "is outside external network internet's cidr");
    topo_test_expect_error(&errs, 12, 32, "routers.r1.port_forwards[0].protocol",
                           "protocol 'sctp'");
    topo_test_expect_error(&errs, 12, 44, "routers.r1.port_forwards[0].port",
                           "port '99999' out of range");
    topo_test_expect_error(&errs, 15, 11, "routers.r2.snat",
                           "router r2 has snat but no gateway");
    topo_test_expect_error(&errs, 15, 12, "routers.r2.snat[0]",
                           "router r2 has no port on switch web");
    assert_int_equal(errs.n, 8);
    for (size_t i = 1; i < errs.n; i++) {
        assert_true(errs.errs[i - 1].line < errs.errs[i].line
                    || (errs.errs[i - 1].line == errs.errs[i].line
                        && errs.errs[i - 1].col <= errs.errs[i].col));
    }
    topo_errors_destroy(&errs);
}

/* gateway_mac is optional: without it the MAC is unknown (0) and is
 * learned at run time; a router gateway still works. */
static void
test_gateway_mac_optional(void **state)
{
    (void) state;
    struct topo *t = topo_test_load_ok(
                  "hosts: [{name: hv1, tunnel_ip: 10.200.0.11/24}]\n"
                  "switches: [{name: web, cidr: 10.1.0.0/24}]\n"
                  "external_networks:\n"
        "  - {name: internet, cidr: 203.0.113.0/24, gateway_ip: 203.0.113.1, "
                  "host: hv1, iface: ext0}\n"
                  "routers:\n"
                  "  - name: r1\n"
                  "    ports: [{switch: web, ip: 10.1.0.1/24}]\n"
                  "    gateway: {network: internet, ip: 203.0.113.10}\n"
                  "    snat: [web]\n");
    const struct topo_external *e = topo_find_external(t, "internet");
    assert_non_null(e);
    assert_true(e->gateway_mac == 0);
    assert_int_equal(e->gateway_ip, topo_test_ip("203.0.113.1"));
    const struct topo_router *r1 = topo_find_router(t, "r1");
    assert_true(r1->has_gateway);
    assert_true(r1->gw_mac != 0);
    assert_int_equal(r1->routes[r1->n_routes - 1].next_hop,
                     topo_test_ip("203.0.113.1"));
    topo_destroy(t);
}

/* The ARP example is the gateway example without gateway_mac. */
static void
test_example_arp(void **state)
{
    (void) state;
    struct topo_errors errs;
    topo_errors_init(&errs);
    char *path =
        topo_test_source_path("topology-examples/three-tier-gateway.yaml");
    char *path2 =
        topo_test_source_path("topology-examples/three-tier-gateway-arp.yaml");
    struct topo *a = topo_load_file(path, &errs);
    struct topo *b = topo_load_file(path2, &errs);
    if (!a || !b) {
        topo_test_print_errors(&errs);
    }
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a->externals[0].gateway_mac == 0x0a00000000feULL);
    assert_true(b->externals[0].gateway_mac == 0);
    assert_int_equal(a->n_ports, b->n_ports);
    assert_int_equal(a->n_routers, b->n_routers);
    assert_int_equal(a->externals[0].gateway_ip, b->externals[0].gateway_ip);
    assert_int_equal(a->externals[0].vni, b->externals[0].vni);
    assert_true(a->routers[0].gw_mac == b->routers[0].gw_mac);
    topo_destroy(a);
    topo_destroy(b);
    free(path);
    free(path2);
    topo_errors_destroy(&errs);
}

/* The gateway example loads with the model it describes. */
static void
test_example(void **state)
{
    struct topo_errors errs;
    topo_errors_init(&errs);
    char *path =
        topo_test_source_path("topology-examples/three-tier-gateway.yaml");
    struct topo *t = topo_load_file(path, &errs);
    if (!t) {
        topo_test_print_errors(&errs);
    }
    assert_non_null(t);
    assert_int_equal(t->n_switches, 3);
    assert_int_equal(t->n_ports, 6);
    assert_int_equal(t->n_externals, 1);
    const struct topo_external *e = &t->externals[0];
    assert_string_equal(e->name, "internet");
    assert_int_equal(e->net, topo_test_ip("203.0.113.0"));
    assert_int_equal(e->plen, 24);
    assert_int_equal(e->gateway_ip, topo_test_ip("203.0.113.1"));
    assert_true(e->gateway_mac == 0x0a00000000feULL);
    assert_string_equal(t->hosts[e->host].name, "hv1");
    assert_string_equal(e->iface, "ext0");

    const struct topo_router *r1 = topo_find_router(t, "r1");
    assert_true(r1->has_gateway);
    assert_int_equal(r1->gw_ip, topo_test_ip("203.0.113.10"));
    assert_int_equal(r1->n_snat, 3);
    assert_int_equal(r1->n_fips, 1);
    assert_int_equal(r1->fips[0].ip, topo_test_ip("203.0.113.20"));
    assert_string_equal(t->ports[r1->fips[0].port].name, "web1");
    assert_int_equal(r1->n_forwards, 1);
    assert_int_equal(r1->forwards[0].ip, topo_test_ip("203.0.113.10"));
    assert_int_equal(r1->forwards[0].proto, 6);
    assert_int_equal(r1->forwards[0].port, 8080);
    assert_string_equal(t->ports[r1->forwards[0].to].name, "app1");
    assert_int_equal(r1->forwards[0].to_port, 80);
    assert_int_equal(r1->n_routes, 1);
    assert_int_equal(r1->routes[0].plen, 0);
    assert_int_equal(r1->routes[0].next_hop, topo_test_ip("203.0.113.1"));
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
        cmocka_unit_test(test_derived_stable),
        cmocka_unit_test(test_error_kinds),
        cmocka_unit_test(test_many_errors),
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_gateway_mac_optional),
        cmocka_unit_test(test_example_arp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
