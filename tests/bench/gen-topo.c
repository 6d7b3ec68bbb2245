/* gen-topo.c — see gen-topo.h. */
#include "tests/bench/gen-topo.h"
#include "lib/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gen_buf__ {
    char *s;
    size_t len, cap;
};

static void gen_printf__(struct gen_buf__ *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
gen_printf__(struct gen_buf__ *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if ((size_t) n < b->cap - b->len) {
            b->len += n;
            return;
        }
        b->s = xgrow(b->s, &b->cap, b->len + n + 1, 1);
    }
}

/* Host of port i: its group of 'spread' hosts, then the port's index in
 * its switch modulo 'spread'. */
static size_t
bench_gen_port_host__(size_t i, size_t pps, size_t spread, size_t group)
{
    return i / group * spread + (i % pps) % spread;
}

void
bench_gen_port_name(size_t i, char *buf, size_t size)
{
    snprintf(buf, size, "p%06zu", i);
}

void
bench_gen_host_name(size_t i, char *buf, size_t size)
{
    snprintf(buf, size, "hv%04zu", i);
}

void
bench_gen_switch_name(size_t i, char *buf, size_t size)
{
    snprintf(buf, size, "ls%04zu", i);
}

void
bench_gen_group_name(size_t i, char *buf, size_t size)
{
    snprintf(buf, size, "sg%04zu", i);
}

static size_t
bench_gen_n_groups__(const struct bench_gen *g)
{
    size_t n = g->n_sg_groups ? g->n_sg_groups : 100;
    return MIN(n, g->n_sg_rules);
}

size_t
bench_gen_port_groups(const struct bench_gen *g, size_t i, size_t out[2])
{
    size_t n_groups = bench_gen_n_groups__(g);
    if (!n_groups) {
        return 0;
    }
    out[0] = i / 10 % n_groups;
    if (i % 2 || n_groups < 2) {
        return 1;
    }
    out[1] = (i * 7 + 3) % n_groups;
    if (out[1] == out[0]) {
        out[1] = (out[1] + 1) % n_groups;
    }
    return 2;
}

/* --- security group rules ---------------------------------------------------
 *
 * A rule is one flow-style line chosen by a pattern number; 'x' is a
 * per-rule pseudo-random number that varies its ports and networks. */

static const unsigned int gen_well_known__[] = {
    22, 80, 443, 3306, 5432, 6379, 8080, 9090, 53, 123,
};

/* The j-th remote cidr of a rule (j < 8): four kinds of network, the j-th
 * and (j+4)-th differing, so that a list never names one twice. */
static void
gen_cidr__(struct gen_buf__ *b, size_t x, size_t j)
{
    x += j * 17;
    switch (j % 4) {
    case 0:
        gen_printf__(b, "10.%zu.0.0/16", x % 256);
        break;
    case 1:
        gen_printf__(b, "172.%zu.%zu.0/24", 16 + x % 16, x / 16 % 256);
        break;
    case 2:
        gen_printf__(b, "192.168.%zu.0/24", x % 256);
        break;
    default:
        gen_printf__(b, "100.%zu.%zu.0/22", 64 + x % 64, x / 64 % 64 * 4);
        break;
    }
}

static void
gen_cidrs__(struct gen_buf__ *b, size_t x, size_t n)
{
    gen_printf__(b, ", remote_cidrs: [");
    for (size_t j = 0; j < n; j++) {
        if (j) {
            gen_printf__(b, ", ");
        }
        gen_cidr__(b, x, j);
    }
    gen_printf__(b, "]");
}

/* A range that is not aligned, hence several prefixes. */
static void
gen_range__(struct gen_buf__ *b, size_t x)
{
    static const unsigned int widths[] = { 9, 99, 255, 1000 };
    size_t lo = 1024 + x % 40000;
    gen_printf__(b, ", ports: \"%zu-%zu\"", lo, lo + widths[x / 7 % 4]);
}

static size_t
gen_port__(size_t x)
{
    return 1024 + x % 60000;
}

static void
gen_remote__(struct gen_buf__ *b, size_t g, size_t k, size_t n_groups)
{
    char name[32];
    bench_gen_group_name((g + 1 + k % 7) % n_groups, name, sizeof name);
    gen_printf__(b, ", remote_group: %s", name);
}

/* Ingress rule k of group g: 20 patterns, two of them deny / reject. */
static void
gen_ingress_rule__(struct gen_buf__ *b, size_t g, size_t k, size_t n_groups)
{
    size_t x = g * 1000003 + k * 131;
    size_t wk = gen_well_known__[x % ARRAY_SIZE(gen_well_known__)];

    gen_printf__(b, "      - {");
    switch ((k + g) % 20) {
    case 0:
        gen_printf__(b, "protocol: tcp, ports: %zu", wk);
        break;
    case 1:
        gen_printf__(b, "protocol: tcp, ports: %zu", gen_port__(x));
        gen_cidrs__(b, x, 1);
        break;
    case 2:
        gen_printf__(b, "protocol: tcp");
        gen_range__(b, x);
        break;
    case 3:
        gen_printf__(b, "protocol: udp, ports: %zu", gen_port__(x));
        break;
    case 4:
        gen_printf__(b, "protocol: udp");
        gen_range__(b, x);
        gen_cidrs__(b, x, 1);
        break;
    case 5:
        gen_printf__(b, "protocol: icmp, icmp_type: 8");
        gen_cidrs__(b, x, 2);
        break;
    case 6:
        gen_printf__(b, "protocol: icmp, icmp_type: 3, icmp_code: %zu",
                     x % 16);
        break;
    case 7:
        gen_printf__(b, "protocol: tcp");
        gen_range__(b, x);
        gen_cidrs__(b, x, 4);
        break;
    case 8:
        gen_printf__(b, "protocol: tcp, ports: %zu", wk);
        gen_remote__(b, g, k, n_groups);
        break;
    case 9:
        gen_printf__(b, "protocol: tcp");
        gen_range__(b, x);
        gen_remote__(b, g, k, n_groups);
        break;
    case 10:
        gen_printf__(b, "protocol: tcp, ports: %zu", gen_port__(x));
        gen_cidrs__(b, x, 3);
        break;
    case 11:
        gen_printf__(b, "protocol: udp");
        gen_range__(b, x);
        gen_cidrs__(b, x, 6);
        break;
    case 12:
        gen_printf__(b, "protocol: udp, ports: %zu, action: deny",
                     gen_port__(x));
        break;
    case 13:
        gen_printf__(b, "protocol: tcp, ports: %zu", wk);
        gen_cidrs__(b, x, 1);
        gen_printf__(b, ", action: reject");
        break;
    case 14:
        gen_printf__(b, "protocol: any");
        gen_cidrs__(b, x, 1);
        break;
    case 15:
        gen_printf__(b, "protocol: tcp, ports: %zu", gen_port__(x));
        break;
    case 16:
        gen_printf__(b, "protocol: tcp");
        gen_range__(b, x);
        gen_cidrs__(b, x, 8);
        break;
    case 17:
        gen_printf__(b, "protocol: icmp, icmp_type: 8");
        gen_remote__(b, g, k, n_groups);
        break;
    case 18:
        gen_printf__(b, "protocol: tcp, ports: %zu", wk);
        gen_cidrs__(b, x, 2);
        break;
    default:
        gen_printf__(b, "protocol: udp, ports: %zu", gen_port__(x));
        gen_cidrs__(b, x, 1);
        break;
    }
    gen_printf__(b, "}\n");
}

/* Egress rule k of group g: 10 patterns, one of them deny. */
static void
gen_egress_rule__(struct gen_buf__ *b, size_t g, size_t k, size_t n_groups)
{
    size_t x = g * 999983 + k * 257 + 5;
    size_t wk = gen_well_known__[x % ARRAY_SIZE(gen_well_known__)];

    gen_printf__(b, "      - {");
    switch ((k + g) % 10) {
    case 0:
        gen_printf__(b, "protocol: tcp, ports: %zu", wk);
        break;
    case 1:
        gen_printf__(b, "protocol: tcp");
        gen_range__(b, x);
        gen_cidrs__(b, x, 3);
        break;
    case 2:
        gen_printf__(b, "protocol: udp, ports: 53");
        gen_cidrs__(b, x, 2);
        break;
    case 3:
        gen_printf__(b, "protocol: tcp, ports: %zu", wk);
        gen_remote__(b, g, k, n_groups);
        break;
    case 4:
        gen_printf__(b, "protocol: icmp");
        break;
    case 5:
        gen_printf__(b, "protocol: tcp, ports: %zu", gen_port__(x));
        gen_cidrs__(b, x, 1);
        break;
    case 6:
        gen_printf__(b, "protocol: udp");
        gen_range__(b, x);
        break;
    case 7:
        gen_printf__(b, "protocol: tcp, ports: %zu", gen_port__(x));
        gen_cidrs__(b, x, 1);
        gen_printf__(b, ", action: deny");
        break;
    case 8:
        gen_printf__(b, "protocol: any");
        gen_cidrs__(b, x, 1);
        break;
    default:
        gen_printf__(b, "protocol: udp");
        gen_range__(b, x);
        gen_remote__(b, g, k, n_groups);
        break;
    }
    gen_printf__(b, "}\n");
}

static void
gen_groups__(struct gen_buf__ *b, const struct bench_gen *g)
{
    size_t n_groups = bench_gen_n_groups__(g);
    char name[32];

    gen_printf__(b, "security_groups:\n");
    for (size_t s = 0; s < n_groups; s++) {
        size_t n = g->n_sg_rules / n_groups + (s < g->n_sg_rules % n_groups);
        size_t n_egress = n * 3 / 10, n_ingress = n - n_egress;
        bench_gen_group_name(s, name, sizeof name);
        gen_printf__(b, "  - name: %s\n", name);
        if (n_ingress) {
            gen_printf__(b, "    ingress:\n");
            for (size_t k = 0; k < n_ingress; k++) {
                gen_ingress_rule__(b, s, k, n_groups);
            }
        }
        if (n_egress) {
            gen_printf__(b, "    egress:\n");
            for (size_t k = 0; k < n_egress; k++) {
                gen_egress_rule__(b, s, k, n_groups);
            }
        }
    }
}

char *
bench_gen_yaml(const struct bench_gen *g, size_t *lenp)
{
    size_t pps = g->ports_per_switch ? g->ports_per_switch : 20;
    size_t pph = g->ports_per_host ? g->ports_per_host : 100;
    size_t spread = g->hosts_per_switch ? g->hosts_per_switch : 4;
    size_t group = pph * spread;           /* ports per group of hosts */
    size_t n_hosts = 0;
    for (size_t i = 0; i < g->n_ports; i++) {
        n_hosts = MAX(n_hosts, bench_gen_port_host__(i, pps, spread, group) + 1);
    }
    size_t n_switches = (g->n_ports + pps - 1) / pps;
    struct gen_buf__ b = { .s = xmalloc(4096), .cap = 4096 };
    char name[32];

    b.s[0] = '\0';
    gen_printf__(&b, "# synthetic: %zu ports, %zu per switch, %zu per host, "
                 "each switch on %zu hosts\n", g->n_ports, pps, pph, spread);
    gen_printf__(&b, "hosts:\n");
    for (size_t h = 0; h < n_hosts; h++) {
        bench_gen_host_name(h, name, sizeof name);
        /* Underlay 100.64.0.0/10: room for 4M hosts. */
        gen_printf__(&b, "  - {name: %s, tunnel_ip: 100.%zu.%zu.%zu/10}\n",
                     name, 64 + ((h + 1) >> 16), ((h + 1) >> 8) & 0xff,
                     (h + 1) & 0xff);
    }
    gen_printf__(&b, "switches:\n");
    for (size_t s = 0; s < n_switches; s++) {
        bench_gen_switch_name(s, name, sizeof name);
        /* Switch s gets 10.(s/256).(s%256).0/24 within 10.0.0.0/8 and a
         * /24 holds its 20 ports (up to 253). */
        gen_printf__(&b, "  - {name: %s, cidr: 10.%zu.%zu.0/24, vni: %zu}\n",
                     name, (s >> 8) & 0xff, s & 0xff, s + 1);
    }
    gen_printf__(&b, "ports:\n");
    for (size_t i = 0; i < g->n_ports; i++) {
        size_t s = i / pps, h = bench_gen_port_host__(i, pps, spread, group);
        char host[32], sw[32];
        bench_gen_port_name(i, name, sizeof name);
        bench_gen_host_name(h, host, sizeof host);
        bench_gen_switch_name(s, sw, sizeof sw);
        gen_printf__(&b, "  - {name: %s, host: %s, switch: %s, "
                     "ip: 10.%zu.%zu.%zu", name, host, sw, (s >> 8) & 0xff,
                     s & 0xff, 2 + i % pps);
        size_t groups[2], n = bench_gen_port_groups(g, i, groups);
        for (size_t k = 0; k < n; k++) {
            bench_gen_group_name(groups[k], name, sizeof name);
            gen_printf__(&b, "%s%s", k ? ", " : ", security_groups: [", name);
        }
        gen_printf__(&b, "%s}\n", n ? "]" : "");
    }
    if (g->n_sg_rules) {
        gen_groups__(&b, g);
    }
    *lenp = b.len;
    return b.s;
}
