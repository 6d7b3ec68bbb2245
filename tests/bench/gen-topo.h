/* gen-topo.h — synthetic topologies for benchmarks and property tests.
 *
 * bench_gen_yaml() writes a topology of 'n_ports' workload ports, with
 * 'ports_per_switch' ports on each logical switch and 'ports_per_host' ports
 * on each host, as YAML text in the schema users write (docs/topology.md).
 * Each switch spans 'hosts_per_switch' hosts (default 4), the way a
 * scheduler spreads a tenant's workloads: hosts are taken in groups of
 * hosts_per_switch, a group holds ports_per_host * hosts_per_switch ports of
 * consecutive switches, and the j-th port of a switch sits on host j %
 * hosts_per_switch of its group.  So every host carries ports_per_host
 * ports of ports_per_host * hosts_per_switch / ports_per_switch switches,
 * and tunnels, remote L2 entries and flood lists are all exercised.  The
 * output is deterministic.  As later features add routers, ACLs and load
 * balancers, the generator grows with them.
 */
#ifndef ANET_GEN_TOPO_H
#define ANET_GEN_TOPO_H

#include <stddef.h>

struct bench_gen {
    size_t n_ports;
    size_t ports_per_switch;     /* default 20 */
    size_t ports_per_host;       /* default 100 */
    size_t hosts_per_switch;     /* default 4 */
};

/* Returns a malloc'd NUL-terminated YAML document, its length in '*len'. */
char *bench_gen_yaml(const struct bench_gen *, size_t *len);

/* Names used by the generator, for benchmarks that change one object. */
void bench_gen_port_name(size_t i, char *buf, size_t size);   /* "p000123" */
void bench_gen_host_name(size_t i, char *buf, size_t size);   /* "hv0001" */
void bench_gen_switch_name(size_t i, char *buf, size_t size); /* "ls0001" */

#endif
