/* bench-sg.c — issue 5's benchmark row: 10k security group rules across
 * 1k ports, compile time and flow count (OVN's figures for the same ACLs
 * come from bench-ovn-acl.sh; scripts/bench puts them side by side).
 *
 * What: the synthetic topology of bench-compile at 1k ports (20 ports per
 * switch, 100 per host: 10 hosts) with gen-topo's security groups: 10k
 * rules in 100 groups, every port carrying one or two groups.  It reports
 *   - the YAML parse, and the full compile (compiler_apply() on an empty
 *     engine, best of 3, CLOCK_MONOTONIC) with and without the groups;
 *   - the flows: in total, in the ACL tables (20/21/60/61, counted in
 *     every host's materialised flow set), per host (max / average), and
 *     per compiled rule — a rule is compiled once per port carrying its
 *     group, so "per rule" divides the ACL flows by the (port, rule)
 *     pairs;
 *   - an incremental change: one port joins a group that other groups
 *     name as remote group, through compiler_apply() on the topology with
 *     that port's groups changed (there is no single-object operation for
 *     group membership): time, hosts in the delta and flows it carries
 *     (median of N_JOINS different ports), against the hosts that carry
 *     a port whose groups name that group (the most the delta may touch,
 *     plus the joining port's own host).
 * Never fails on a threshold: exit 1 only if something breaks (the
 * topology is refused, no ACL flow is compiled, or a join touches a host
 * it should not).
 *
 * Output: human-readable lines plus "RESULT key=value" lines.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/compile.h"
#include "controller/topo.h"
#include "lib/util.h"
#include "tests/bench/gen-topo.h"

#define SG_PORTS 1000
#define SG_RULES 10000
#define SG_GROUPS 100
#define N_REPS 3
#define N_JOINS 20

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
dbl_cmp(const void *a_, const void *b_)
{
    double a = *(const double *) a_, b = *(const double *) b_;
    return a < b ? -1 : a > b;
}

static struct topo *
gen(size_t n_rules, double *parse_ms)
{
    struct bench_gen g = {
        .n_ports = SG_PORTS, .ports_per_switch = 20, .ports_per_host = 100,
        .hosts_per_switch = 4, .n_sg_rules = n_rules,
        .n_sg_groups = SG_GROUPS,
    };
    size_t len;
    char *y = bench_gen_yaml(&g, &len);
    struct topo_errors errs;
    topo_errors_init(&errs);
    double t0 = now_ms();
    struct topo *t = topo_load_buffer("bench-sg.yaml", y, len, &errs);
    *parse_ms = now_ms() - t0;
    free(y);
    if (!t) {
        for (size_t i = 0; i < errs.n && i < 5; i++) {
            char *msg = topo_error_format(&errs.errs[i]);
            fprintf(stderr, "bench-sg: %s\n", msg);
            free(msg);
        }
        fprintf(stderr, "bench-sg: generated topology refused\n");
        exit(1);
    }
    topo_errors_destroy(&errs);
    return t;
}

/* Full compile, best of N_REPS; returns the engine of the first run. */
static struct compiler *
full_compile(const struct topo *t, double *best)
{
    struct compiler *keep = NULL;
    *best = 1e18;
    for (int rep = 0; rep < N_REPS; rep++) {
        double t0 = now_ms();
        struct compiler *c = compiler_create();
        compiler_apply(c, t, NULL, NULL);
        double ms = now_ms() - t0;
        *best = ms < *best ? ms : *best;
        if (keep) {
            compiler_destroy(c);
        } else {
            keep = c;
        }
    }
    return keep;
}

static bool
is_acl_table(uint8_t table)
{
    return table == TBL_ACL_IN || table == TBL_ACL_IN_RULES
           || table == TBL_ACL_OUT || table == TBL_ACL_OUT_RULES;
}

struct flow_counts {
    size_t total, acl, conj;
    size_t host_max, host_acl_max;
    size_t host0;               /* flows of the first host, "hv0000": the
                                 * chassis bench-ovn-acl.sh binds */
};

static void
count_flows(const struct compiler *c, const struct topo *t,
            struct flow_counts *fc)
{
    memset(fc, 0, sizeof *fc);
    for (size_t h = 0; h < t->n_hosts; h++) {
        struct flow_set fs;
        flow_set_init(&fs);
        if (!compiler_host_flows(c, t->hosts[h].name, &fs)) {
            fprintf(stderr, "bench-sg: host %s unknown\n", t->hosts[h].name);
            exit(1);
        }
        size_t acl = 0;
        for (size_t i = 0; i < fs.n; i++) {
            const struct flow *f = &fs.flows[i];
            if (!is_acl_table(f->table)) {
                continue;
            }
            acl++;
            for (size_t a = 0; a < f->n_actions; a++) {
                if (f->actions[a].type == FA_CONJUNCTION) {
                    fc->conj++;
                    break;
                }
            }
        }
        if (!h) {
            fc->host0 = fs.n;
        }
        fc->total += fs.n;
        fc->acl += acl;
        fc->host_max = MAX(fc->host_max, fs.n);
        fc->host_acl_max = MAX(fc->host_acl_max, acl);
        flow_set_destroy(&fs);
    }
}

/* (port, rule) pairs: every rule of every group of every port. */
static size_t
rule_instances(const struct topo *t, size_t *n_rules)
{
    size_t n = 0;
    *n_rules = 0;
    for (size_t g = 0; g < t->n_groups; g++) {
        *n_rules += t->groups[g].n_ingress + t->groups[g].n_egress;
    }
    for (size_t i = 0; i < t->n_ports; i++) {
        for (size_t k = 0; k < t->ports[i].n_groups; k++) {
            const struct topo_sg *sg = &t->groups[t->ports[i].groups[k]];
            n += sg->n_ingress + sg->n_egress;
        }
    }
    return n;
}

static bool
group_names(const struct topo_sg *sg, size_t remote)
{
    for (size_t i = 0; i < sg->n_ingress; i++) {
        if (sg->ingress[i].remote_group == remote) {
            return true;
        }
    }
    for (size_t i = 0; i < sg->n_egress; i++) {
        if (sg->egress[i].remote_group == remote) {
            return true;
        }
    }
    return false;
}

/* Marks in 'allowed' the hosts of ports carrying a group whose rules name
 * group 'remote'; returns how many. */
static size_t
remote_hosts(const struct topo *t, size_t remote, bool *allowed)
{
    bool *naming = xcalloc(t->n_groups + 1, sizeof *naming);
    size_t n = 0;
    for (size_t g = 0; g < t->n_groups; g++) {
        naming[g] = group_names(&t->groups[g], remote);
    }
    memset(allowed, 0, t->n_hosts * sizeof *allowed);
    for (size_t i = 0; i < t->n_ports; i++) {
        for (size_t k = 0; k < t->ports[i].n_groups; k++) {
            if (naming[t->ports[i].groups[k]] && !allowed[t->ports[i].host]) {
                allowed[t->ports[i].host] = true;
                n++;
            }
        }
    }
    free(naming);
    return n;
}

static bool
port_has_group(const struct topo_port *p, size_t g)
{
    for (size_t k = 0; k < p->n_groups; k++) {
        if (p->groups[k] == g) {
            return true;
        }
    }
    return false;
}

/* One port joins (and leaves again) group 'remote', N_JOINS times. */
static void
join_remote_group(struct compiler *c, const struct topo *t, size_t remote)
{
    bool *allowed = xcalloc(t->n_hosts + 1, sizeof *allowed);
    size_t n_naming_hosts = remote_hosts(t, remote, allowed);
    double ms[N_JOINS];
    size_t hosts = 0, flows = 0, hosts_max = 0;
    struct topo copy = *t;
    copy.ports = xmalloc(t->n_ports * sizeof *copy.ports);
    memcpy(copy.ports, t->ports, t->n_ports * sizeof *copy.ports);

    for (int j = 0; j < N_JOINS; j++) {
        size_t p = (size_t) j * 53 % t->n_ports;
        while (port_has_group(&t->ports[p], remote)
               || t->ports[p].n_groups >= TOPO_SG_MAX_PER_PORT) {
            p = (p + 1) % t->n_ports;
        }
        const struct topo_port *tp = &t->ports[p];
        size_t groups[TOPO_SG_MAX_PER_PORT], n = 0;
        bool placed = false;
        for (size_t k = 0; k < tp->n_groups; k++) {     /* sorted, unique */
            if (!placed && remote < tp->groups[k]) {
                groups[n++] = remote;
                placed = true;
            }
            groups[n++] = tp->groups[k];
        }
        if (!placed) {
            groups[n++] = remote;
        }
        copy.ports[p].groups = groups;
        copy.ports[p].n_groups = n;

        struct compile_delta d;
        compile_delta_init(&d);
        double t0 = now_ms();
        compiler_apply(c, &copy, NULL, &d);
        ms[j] = now_ms() - t0;
        hosts += d.n_hosts;
        hosts_max = MAX(hosts_max, d.n_hosts);
        flows += compile_delta_n_flows(&d);
        for (size_t h = 0; h < d.n_hosts; h++) {
            const struct topo_host *th = topo_find_host(t, d.hosts[h].name);
            size_t hi = th ? (size_t) (th - t->hosts) : t->n_hosts;
            if (hi >= t->n_hosts || (!allowed[hi] && hi != tp->host)) {
                fprintf(stderr, "bench-sg: port %s joining %s changed host "
                        "%s, which has no port naming the group\n", tp->name,
                        t->groups[remote].name, d.hosts[h].name);
                exit(1);
            }
        }
        compile_delta_destroy(&d);
        copy.ports[p] = t->ports[p];
        compiler_apply(c, &copy, NULL, NULL);       /* leave again */
    }
    qsort(ms, N_JOINS, sizeof ms[0], dbl_cmp);
    printf("  one port joins %s (named as remote group by ports on %zu of "
           "%zu hosts), compiler_apply():\n", t->groups[remote].name,
           n_naming_hosts, t->n_hosts);
    printf("    median %.3f ms, max %.3f ms; hosts in the delta %.1f "
           "(max %zu), flows in the delta %.1f (median of %d ports)\n",
           ms[N_JOINS / 2], ms[N_JOINS - 1], (double) hosts / N_JOINS,
           hosts_max, (double) flows / N_JOINS, N_JOINS);
    printf("RESULT sg_join_remote_group_ms=%.4f\n", ms[N_JOINS / 2]);
    printf("RESULT sg_join_remote_group_hosts=%.1f\n",
           (double) hosts / N_JOINS);
    printf("RESULT sg_join_remote_group_flows=%.1f\n",
           (double) flows / N_JOINS);
    free(copy.ports);
    free(allowed);
}

/* The group named as remote group by the fewest groups (at least one), so
 * that the delta's host set is a real subset: ties go to the first. */
static size_t
pick_remote(const struct topo *t)
{
    size_t best = SIZE_MAX, best_n = SIZE_MAX;
    for (size_t r = 0; r < t->n_groups; r++) {
        size_t n = 0;
        for (size_t g = 0; g < t->n_groups; g++) {
            n += group_names(&t->groups[g], r);
        }
        if (n && n < best_n) {
            best = r;
            best_n = n;
        }
    }
    return best;
}

int
main(void)
{
    double parse0, parse, plain_ms, sg_ms;
    struct topo *t0 = gen(0, &parse0);
    struct topo *t = gen(SG_RULES, &parse);
    struct compiler *c0 = full_compile(t0, &plain_ms);
    struct compiler *c = full_compile(t, &sg_ms);
    struct flow_counts f0, f;
    size_t n_rules, inst = rule_instances(t, &n_rules), filtered = 0;

    for (size_t i = 0; i < t->n_ports; i++) {
        filtered += t->ports[i].n_groups > 0;
    }
    count_flows(c0, t0, &f0);
    count_flows(c, t, &f);
    if (!f.acl || f.total != compiler_n_flows(c)) {
        fprintf(stderr, "bench-sg: %zu ACL flows, %zu materialised, engine "
                "holds %zu\n", f.acl, f.total, compiler_n_flows(c));
        return 1;
    }

    printf("security groups: %zu rules in %zu groups on %zu of %zu ports, "
           "%zu hosts (%zu (port, rule) pairs)\n", n_rules, t->n_groups,
           filtered, t->n_ports, t->n_hosts, inst);
    printf("  parse (YAML load + validation): %.1f ms (%.1f ms without the "
           "groups)\n", parse, parse0);
    printf("  full compile, best of %d: %.1f ms (%.1f ms without the "
           "groups)\n", N_REPS, sg_ms, plain_ms);
    printf("  flows: %zu in total (%zu without the groups), %zu in the ACL "
           "tables 20/21/60/61, of which %zu conjunction clauses\n",
           f.total, f0.total, f.acl, f.conj);
    printf("  per host: max %zu, average %.0f flows (ACL tables: max %zu); "
           "%s: %zu\n", f.host_max, (double) f.total / t->n_hosts,
           f.host_acl_max, t->hosts[0].name, f.host0);
    printf("  ACL flows per YAML rule %.1f; per compiled (port, rule) pair "
           "%.2f\n", (double) f.acl / n_rules, (double) f.acl / inst);

    printf("RESULT sg_rules=%zu\n", n_rules);
    printf("RESULT sg_compile_10k_rules_ms=%.3f\n", sg_ms);
    printf("RESULT sg_compile_no_groups_ms=%.3f\n", plain_ms);
    printf("RESULT sg_parse_10k_rules_ms=%.3f\n", parse);
    printf("RESULT sg_flows_total=%zu\n", f.total);
    printf("RESULT sg_acl_flows=%zu\n", f.acl);
    printf("RESULT sg_flows_per_rule=%.3f\n", (double) f.acl / inst);
    printf("RESULT sg_flows_per_host_max=%zu\n", f.host_max);
    printf("RESULT sg_flows_per_host_avg=%.0f\n",
           (double) f.total / t->n_hosts);
    printf("RESULT sg_flows_host0=%zu\n", f.host0);

    size_t remote = pick_remote(t);
    if (remote != SIZE_MAX) {
        join_remote_group(c, t, remote);
    } else {
        printf("  no group is named as remote group: no incremental "
               "figure\n");
    }
    compiler_destroy(c0);
    compiler_destroy(c);
    topo_destroy(t0);
    topo_destroy(t);
    return 0;
}
