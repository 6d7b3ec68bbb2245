/* test-ovs-accepts.c — every flow the compiler emits is accepted by a
 * real ovs-vswitchd and reads back unchanged.
 *
 * Unit tests compare compiled flows with the texts their authors expected;
 * OVS also checks each flow's actions against its own match (a ct() needs
 * ip in the match, a set_field its prerequisites, ...) and refuses the
 * whole bundle otherwise — a host then never reaches its generation.  Here
 * every host of every shipped example, and of a topology that uses every
 * security-group feature at once, is installed into a private OVS (netdev
 * datapath) with ofconn_sync(); the table dumped back must equal the
 * compiled set, and a second sync must find nothing to do (what the agent
 * relies on to never rewrite a table). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/compile.h"
#include "controller/topo.h"
#include "datapath/flow.h"
#include "datapath/ofconn.h"
#include "lib/util.h"
#include "tests/unit/support/compile-test.h"
#include "tests/unit/support/ovs-sandbox.h"

static struct ovs_sandbox ovs;

static int
group_setup(void **state)
{
    (void) state;
    return ovs_sandbox_start_switch(&ovs, "acc");
}

static int
group_teardown(void **state)
{
    (void) state;
    ovs_sandbox_stop(&ovs);
    return 0;
}

/* Installs every host of 't' into br0, one after the other; returns the
 * number of flows installed over all hosts. */
static size_t
install_all(const char *what, const struct topo *t)
{
    struct compile_result *r = compile_topology(t, NULL);
    struct ofconn *c = ofconn_open(ovs.br0, 2000);
    size_t total = 0;

    assert_non_null(c);
    for (size_t h = 0; h < r->n_hosts; h++) {
        const struct compiled_host *ch = &r->hosts[h];
        if (ofconn_sync(c, &ch->flows, NULL)) {
            fail_msg("%s: OVS refused the flows of host %s (see "
                     "ovs-vswitchd.log in %s)", what, ch->name, ovs.dir);
        }
        struct flow_set got;
        flow_set_init(&got);
        assert_int_equal(ofconn_dump_flows(c, &got, NULL), 0);
        if (!flow_set_equal(&got, &ch->flows)) {
            for (size_t i = 0; i < got.n || i < ch->flows.n; i++) {
                char *a = i < got.n ? flow_format(&got.flows[i]) : NULL;
                char *b = i < ch->flows.n ? flow_format(&ch->flows.flows[i])
                                          : NULL;
                if (!a || !b || strcmp(a, b)) {
                    print_error("got  %s\nwant %s\n", a ? a : "-",
                                b ? b : "-");
                }
                free(a);
                free(b);
            }
            fail_msg("%s: host %s reads back differently", what, ch->name);
        }
        flow_set_destroy(&got);
        struct ofconn_sync_stats st;
        assert_int_equal(ofconn_sync(c, &ch->flows, &st), 0);
        assert_int_equal(st.added + st.modified + st.removed, 0);
        total += ch->flows.n;
    }
    ofconn_close(c);
    compile_result_destroy(r);
    return total;
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
test_examples(void **state)
{
    (void) state;
    if (!ovs_sandbox_is_up(&ovs)) {
        skip();
    }
    const char *src = getenv("ANET_SOURCE_DIR");
    char *dir = xasprintf("%s/topology-examples", src ? src : ".");
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *names[64];
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 64; ) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".yaml")) {
            names[n++] = xstrdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    assert_true(n >= 9);
    for (size_t i = 0; i < n; i++) {
        struct topo *t = compile_test_load_example(names[i]);
        size_t flows = install_all(names[i], t);
        print_message("  %-28s %zu flows accepted and read back\n", names[i],
                      flows);
        assert_true(flows > 0);
        topo_destroy(t);
        free(names[i]);
    }
    free(dir);
}

/* Every security-group feature: icmp type/code, tcp/udp ranges, cidr
 * lists x ranges (conjunctions) in both directions, remote groups with
 * several members x a range (conjunctions), deny/reject with log, allow
 * with log, a switch default and the topology default. */
static const char sg_all_yaml[] =
    "hosts:\n"
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n"
    "default_security_groups: [base]\n"
    "switches:\n"
    "  - {name: a, cidr: 10.1.0.0/24}\n"
    "  - {name: b, cidr: 10.2.0.0/24, default_security_groups: [app]}\n"
    "routers:\n"
    "  - name: r1\n"
    "    ports:\n"
    "      - {switch: a, ip: 10.1.0.1/24}\n"
    "      - {switch: b, ip: 10.2.0.1/24}\n"
    "ports:\n"
    "  - {name: a1, host: hv1, switch: a, ip: 10.1.0.11}\n"
    "  - {name: a2, host: hv2, switch: a, ip: 10.1.0.12,"
    " security_groups: [base, web]}\n"
    "  - {name: a3, host: hv2, switch: a, ip: 10.1.0.13,"
    " security_groups: [web]}\n"
    "  - {name: b1, host: hv1, switch: b, ip: 10.2.0.11}\n"
    "  - {name: b2, host: hv2, switch: b, ip: 10.2.0.12}\n"
    "security_groups:\n"
    "  - name: base\n"
    "    ingress:\n"
    "      - {protocol: icmp, icmp_type: 8, icmp_code: 0}\n"
    "      - {protocol: icmp, icmp_type: 3}\n"
    "      - {protocol: tcp, ports: 22, remote_cidrs: [10.9.0.0/16],"
    " action: reject, log: true}\n"
    "    egress:\n"
    "      - {protocol: udp, ports: 53}\n"
    "      - {protocol: tcp, ports: \"1024-65535\","
    " remote_cidrs: [10.2.0.0/24, 10.3.0.0/24]}\n"
    "  - name: web\n"
    "    ingress:\n"
    "      - {protocol: tcp, ports: \"80-84\","
    " remote_cidrs: [10.0.0.0/8, 192.168.0.0/16], log: true}\n"
    "      - {protocol: udp, ports: \"5000-5999\", remote_group: app}\n"
    "      - {protocol: any, remote_cidrs: [172.16.0.0/12], action: deny,"
    " log: true}\n"
    "    egress:\n"
    "      - {}\n"
    "  - name: app\n"
    "    ingress:\n"
    "      - {protocol: tcp, ports: \"8000-8099\", remote_group: web}\n"
    "      - {protocol: udp, ports: \"3-60000\", remote_group: base,"
    " action: reject}\n"
    "    egress:\n"
    "      - {protocol: any}\n";

static void
test_every_sg_feature(void **state)
{
    (void) state;
    if (!ovs_sandbox_is_up(&ovs)) {
        skip();
    }
    struct topo *t = compile_test_load("sg-all.yaml", sg_all_yaml);
    struct compile_result *r = compile_topology(t, NULL);
    size_t conj = 0;
    for (size_t h = 0; h < r->n_hosts; h++) {
        const struct flow_set *fs = &r->hosts[h].flows;
        for (size_t i = 0; i < fs->n; i++) {
            conj += flow_match_get(&fs->flows[i].match, FF_CONJ_ID) != NULL;
        }
    }
    compile_result_destroy(r);
    /* The topology does exercise conjunctions (else this proves less). */
    assert_true(conj >= 4);
    size_t flows = install_all("sg-all", t);
    print_message("  sg-all: %zu flows (%zu conj_id) accepted and read "
                  "back\n", flows, conj);
    topo_destroy(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples),
        cmocka_unit_test(test_every_sg_feature),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
