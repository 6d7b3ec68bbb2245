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
 *
 * Security groups (issue 5's benchmark row): with 'n_sg_rules' > 0 the
 * topology gets a security_groups: section of 'n_sg_groups' groups
 * (default 100) sharing 'n_sg_rules' rules (spread evenly, the first
 * groups taking the remainder; in each group about 70% ingress and 30%
 * egress rules, in that order).  The rules are a fixed, realistic mix
 * chosen by the rule's index and its group: tcp and udp single ports and
 * ranges, icmp with type/code, remote_cidrs lists (some of several
 * cidrs with a port range that is several prefixes, so that conjunctions
 * are exercised), remote_group rules, protocol any, and about one rule in
 * ten a deny or reject.  Every port carries one or two groups: ports come
 * in blocks of ten consecutive ports (half a switch at the default size)
 * sharing a primary group, block b taking group b % n_sg_groups, and every
 * even-numbered port also carries a secondary group (i * 7 + 3) %
 * n_sg_groups (the next one when that is its primary), scattered over the
 * switches like an "admin" or "monitoring" group.  With 'n_sg_rules' == 0
 * the output is byte for byte what it was before security groups.
 */
#ifndef ANET_GEN_TOPO_H
#define ANET_GEN_TOPO_H

#include <stddef.h>

struct bench_gen {
    size_t n_ports;
    size_t ports_per_switch;     /* default 20 */
    size_t ports_per_host;       /* default 100 */
    size_t hosts_per_switch;     /* default 4 */
    size_t n_sg_rules;           /* 0 = no security groups */
    size_t n_sg_groups;          /* default 100 (at most n_sg_rules) */
};

/* Returns a malloc'd NUL-terminated YAML document, its length in '*len'. */
char *bench_gen_yaml(const struct bench_gen *, size_t *len);

/* Names used by the generator, for benchmarks that change one object. */
void bench_gen_port_name(size_t i, char *buf, size_t size);   /* "p000123" */
void bench_gen_host_name(size_t i, char *buf, size_t size);   /* "hv0001" */
void bench_gen_switch_name(size_t i, char *buf, size_t size); /* "ls0001" */
void bench_gen_group_name(size_t i, char *buf, size_t size);  /* "sg0001" */

/* The security groups of port 'i' ('out' holds 2) under 'g': returns how
 * many (0 without security groups, else 1 or 2); 'out' gets their group
 * numbers, primary first. */
size_t bench_gen_port_groups(const struct bench_gen *g, size_t i,
                             size_t out[2]);

#endif
