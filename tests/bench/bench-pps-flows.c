/* bench-pps-flows.c — the compiler side of the packet-rate benchmark
 * (tests/bench/bench-pps.sh, issue 6).
 *
 * What: compiles a topology YAML with anet's compiler (compile_topology(),
 * the same result the controller pushes) and, for one host of it:
 *
 *   info TOPO HOST          prints the host's workload ports, one line each:
 *                           "port NAME IFACE OFPORT MAC IP", and every router
 *                           port: "router NAME SWITCH MAC IP", so that the
 *                           script can create the vhost-user ports with the
 *                           compiled OpenFlow numbers (ofport_request) and
 *                           give the traffic generator addresses the
 *                           pipeline accepts;
 *   push TOPO HOST TARGET   installs the host's flows into the bridge at
 *                           TARGET ("unix:DIR/br-int.mgmt") with
 *                           ofconn_sync() — anet's own OpenFlow codec, one
 *                           atomic bundle, exactly as the agent does — and
 *                           checks by dumping that the bridge holds them;
 *   flows TOPO HOST         prints the host's flows (ovs-ofctl spelling),
 *                           for the benchmark's log.
 *
 * Design: a thin program so that the shell script keeps the process
 * management (hugepages, DPDK daemons, traps) and this file keeps what only
 * C can do: run the compiler and speak OpenFlow with the product's codec.
 * Exits 0 on success, 1 when the topology is refused, the host unknown or
 * the install fails, 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/compile.h"
#include "controller/topo.h"
#include "datapath/flow.h"
#include "datapath/ofconn.h"
#include "lib/util.h"

static void
bpf_fmt_mac(uint64_t mac, char buf[18])
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
             (unsigned) (mac >> 40) & 0xff, (unsigned) (mac >> 32) & 0xff,
             (unsigned) (mac >> 24) & 0xff, (unsigned) (mac >> 16) & 0xff,
             (unsigned) (mac >> 8) & 0xff, (unsigned) mac & 0xff);
}

static void
bpf_fmt_ip(uint32_t ip, char buf[16])
{
    snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
             (ip >> 8) & 0xff, ip & 0xff);
}

static const struct topo_port *
bpf_topo_port(const struct topo *t, const char *name)
{
    for (size_t i = 0; i < t->n_ports; i++) {
        if (!strcmp(t->ports[i].name, name)) {
            return &t->ports[i];
        }
    }
    return NULL;
}

static void
bpf_info(const struct topo *t, const struct compiled_host *h)
{
    char mac[18], ip[16];

    for (size_t i = 0; i < h->n_ports; i++) {
        const struct compiled_port *p = &h->ports[i];
        const struct topo_port *tp = bpf_topo_port(t, p->name);
        bpf_fmt_mac(p->mac, mac);
        bpf_fmt_ip(tp ? tp->ip : 0, ip);
        printf("port %s %s %u %s %s\n", p->name, p->iface, p->ofport, mac,
               ip);
    }
    for (size_t r = 0; r < t->n_routers; r++) {
        const struct topo_router *tr = &t->routers[r];
        for (size_t i = 0; i < tr->n_ports; i++) {
            bpf_fmt_mac(tr->ports[i].mac, mac);
            bpf_fmt_ip(tr->ports[i].ip, ip);
            printf("router %s %s %s %s\n", tr->name,
                   t->switches[tr->ports[i].sw].name, mac, ip);
        }
    }
}

static int
bpf_push(const struct compiled_host *h, const char *target)
{
    struct ofconn_sync_stats st;
    struct ofconn *c = ofconn_open(target, 20000);
    if (!c) {
        fprintf(stderr, "bench-pps-flows: ofconn_open %s: %s\n", target,
                strerror(errno));
        return 1;
    }
    int error = ofconn_sync(c, &h->flows, &st);
    if (error) {
        fprintf(stderr, "bench-pps-flows: ofconn_sync: %s\n",
                strerror(-error));
        ofconn_close(c);
        return 1;
    }

    /* What the bridge holds is what was compiled (the codec round trip). */
    struct flow_set dumped;
    flow_set_init(&dumped);
    error = ofconn_dump_flows(c, &dumped, NULL);
    bool eq = !error && flow_set_equal(&dumped, &h->flows);
    flow_set_destroy(&dumped);
    ofconn_close(c);
    if (!eq) {
        fprintf(stderr, "bench-pps-flows: the bridge's table differs from "
                "the compiled flows of %s\n", h->name);
        return 1;
    }
    printf("installed %zu flows of host %s (%u added, %u modified, "
           "%u removed)\n", h->flows.n, h->name, st.added, st.modified,
           st.removed);
    return 0;
}

static void
bpf_flows(const struct compiled_host *h)
{
    for (size_t i = 0; i < h->flows.n; i++) {
        char *s = flow_format(&h->flows.flows[i]);
        printf("%s\n", s);
        free(s);
    }
}

int
main(int argc, char *argv[])
{
    if (argc < 4 || (!strcmp(argv[1], "push") && argc < 5)) {
        fprintf(stderr, "usage: %s info|flows TOPO HOST\n"
                "       %s push TOPO HOST unix:BRIDGE.mgmt\n", argv[0],
                argv[0]);
        return 2;
    }
    struct topo_errors errs;
    topo_errors_init(&errs);
    struct topo *t = topo_load_file(argv[2], &errs);
    if (!t) {
        for (size_t i = 0; i < errs.n; i++) {
            char *s = topo_error_format(&errs.errs[i]);
            fprintf(stderr, "%s\n", s);
            free(s);
        }
        topo_errors_destroy(&errs);
        return 1;
    }
    topo_errors_destroy(&errs);

    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *h = compile_find_host(r, argv[3]);
    int rc = 0;
    if (!h) {
        fprintf(stderr, "bench-pps-flows: no host %s in %s\n", argv[3],
                argv[2]);
        rc = 1;
    } else if (!strcmp(argv[1], "info")) {
        bpf_info(t, h);
    } else if (!strcmp(argv[1], "flows")) {
        bpf_flows(h);
    } else if (!strcmp(argv[1], "push")) {
        rc = bpf_push(h, argv[4]);
    } else {
        fprintf(stderr, "bench-pps-flows: unknown command %s\n", argv[1]);
        rc = 2;
    }
    compile_result_destroy(r);
    topo_destroy(t);
    return rc;
}
