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
                     "ip: 10.%zu.%zu.%zu}\n", name, host, sw, (s >> 8) & 0xff,
                     s & 0xff, 2 + i % pps);
    }
    *lenp = b.len;
    return b.s;
}
