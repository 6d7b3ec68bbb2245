/* test-compile-incr.c — the incremental engine against full compiles.
 *
 * Property: for random sequences of changes (port add / remove / move /
 * switch change / ip or mac change, switch add / remove / VNI change, host
 * add / remove / tunnel ip change, router add / remove, router port add /
 * remove, static route add / remove, DHCP settings change) applied one step at a time to one
 * struct compiler, after every step
 *   - every host's flows equal those of a full compile of the same topology
 *     (compile_topology(topo, prev) where 'prev' is the previous step's full
 *     compile: the full compiles follow the same port numbering rules
 *     independently, so port numbers are compared, not normalised);
 *   - the delta equals flow_set_diff() of the full compiles before and after,
 *     host by host, and names exactly the hosts compile_changed_hosts()
 *     names (unchanged hosts are never in the delta).
 * 200 sequences of 30 steps with fixed seeds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/compile.h"
#include "controller/topo.h"
#include "lib/util.h"

#define N_HOSTS 5
#define N_SWITCHES 4
#define N_PORTS 16
#define N_ROUTERS 3

struct model {
    bool host_live[N_HOSTS];
    unsigned int host_ip[N_HOSTS];      /* last octet of the tunnel ip */
    bool sw_live[N_SWITCHES];
    unsigned int sw_vni[N_SWITCHES];
    struct {
        bool live;
        int host, sw;
        unsigned int ip;                /* last octet, 0 = none */
        unsigned int mac;
    } port[N_PORTS];
    struct {
        bool live;
        unsigned int sw_mask;           /* bit s: a port on ls<s> */
        int route_sw;                   /* -1: no static route */
    } rt[N_ROUTERS];
    unsigned int lease[N_SWITCHES];     /* DHCP lease time / 60 */
};

static unsigned int
rnd(unsigned int *seed, unsigned int n)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) % n;
}

static char *
render(const struct model *m)
{
    size_t cap = 8192, len = 0;
    char *y = xmalloc(cap);
#define OUT(...) (len += (size_t) snprintf(y + len, cap - len, __VA_ARGS__))
    OUT("hosts:\n");
    for (int h = 0; h < N_HOSTS; h++) {
        if (m->host_live[h]) {
            OUT("  - {name: hv%d, tunnel_ip: 10.200.0.%u/24}\n", h,
                m->host_ip[h]);
        }
    }
    OUT("switches:\n");
    for (int s = 0; s < N_SWITCHES; s++) {
        if (m->sw_live[s]) {
            OUT("  - {name: ls%d, cidr: 10.%d.0.0/24, vni: %u, "
                "dhcp: {lease_time: %u}}\n", s, s + 1, m->sw_vni[s],
                60 * (m->lease[s] + 1));
        }
    }
    OUT("routers:\n");
    for (int r = 0; r < N_ROUTERS; r++) {
        if (!m->rt[r].live) {
            continue;
        }
        OUT("  - name: r%d\n    ports:\n", r);
        for (int s = 0; s < N_SWITCHES; s++) {
            if (m->rt[r].sw_mask & (1u << s)) {
                OUT("      - {switch: ls%d, ip: 10.%d.0.%d/24}\n", s, s + 1,
                    200 + r);
            }
        }
        if (m->rt[r].route_sw >= 0) {
            OUT("    routes:\n      - {prefix: 10.%d.0.0/16, "
                "next_hop: 10.%d.0.250}\n", 50 + r, m->rt[r].route_sw + 1);
        }
    }
    OUT("ports:\n");
    for (int p = 0; p < N_PORTS; p++) {
        if (!m->port[p].live) {
            continue;
        }
        OUT("  - {name: p%02d, host: hv%d, switch: ls%d, "
            "mac: '0a:00:00:00:00:%02x'", p, m->port[p].host, m->port[p].sw,
            m->port[p].mac);
        if (m->port[p].ip) {
            OUT(", ip: 10.%d.0.%u", m->port[p].sw + 1, m->port[p].ip);
        }
        OUT("}\n");
    }
#undef OUT
    assert_true(len < cap);
    return y;
}

static int
pick(unsigned int *seed, const bool *live, size_t stride, int n, bool want)
{
    int start = (int) rnd(seed, (unsigned int) n);
    for (int i = 0; i < n; i++) {
        int k = (start + i) % n;
        if (*(const bool *) ((const char *) live + k * stride) == want) {
            return k;
        }
    }
    return -1;
}

#define PICK_HOST(want) pick(&seed, m.host_live, sizeof m.host_live[0], \
                             N_HOSTS, want)
#define PICK_SW(want) pick(&seed, m.sw_live, sizeof m.sw_live[0], \
                           N_SWITCHES, want)
#define PICK_PORT(want) pick(&seed, &m.port[0].live, sizeof m.port[0], \
                             N_PORTS, want)

/* One random change; the result may be refused by the loader (e.g. a
 * duplicate mac), in which case the caller drops it. */
static void
mutate(struct model *mp, unsigned int seed_in, unsigned int *seedp)
{
    struct model m = *mp;
    unsigned int seed = seed_in;
    int h, s, p, r;

    switch (rnd(&seed, 14)) {
    case 10: case 11:   /* add / remove a router, or toggle one's port */
        r = (int) rnd(&seed, N_ROUTERS);
        if (!m.rt[r].live) {
            m.rt[r].live = true;
            m.rt[r].sw_mask = 1u << rnd(&seed, N_SWITCHES);
            m.rt[r].route_sw = -1;
        } else if (rnd(&seed, 4) == 0) {
            m.rt[r].live = false;
        } else {
            m.rt[r].sw_mask ^= 1u << rnd(&seed, N_SWITCHES);
        }
        break;
    case 12:            /* add / remove a static route */
        r = (int) rnd(&seed, N_ROUTERS);
        m.rt[r].route_sw = m.rt[r].route_sw >= 0 ? -1
                           : (int) rnd(&seed, N_SWITCHES);
        break;
    case 13:            /* DHCP settings: packet actions change alone */
        m.lease[rnd(&seed, N_SWITCHES)] = rnd(&seed, 4);
        break;
    case 0: case 1:     /* add a port */
        p = PICK_PORT(false);
        h = PICK_HOST(true);
        s = PICK_SW(true);
        if (p >= 0 && h >= 0 && s >= 0) {
            m.port[p].live = true;
            m.port[p].host = h;
            m.port[p].sw = s;
            m.port[p].ip = rnd(&seed, 3) ? 10 + (unsigned int) p : 0;
            m.port[p].mac = 0x10 + (unsigned int) p;
        }
        break;
    case 2:             /* remove a port */
        if ((p = PICK_PORT(true)) >= 0) {
            m.port[p].live = false;
        }
        break;
    case 3: case 4:     /* move a port to another host */
        if ((p = PICK_PORT(true)) >= 0 && (h = PICK_HOST(true)) >= 0) {
            m.port[p].host = h;
        }
        break;
    case 5:             /* ip / mac change, or a switch change */
        if ((p = PICK_PORT(true)) >= 0) {
            unsigned int k = rnd(&seed, 3);
            if (k == 0) {
                m.port[p].ip = m.port[p].ip ? 0 : 100 + (unsigned int) p;
            } else if (k == 1) {
                m.port[p].mac = 0x40 + rnd(&seed, 64);
            } else if ((s = PICK_SW(true)) >= 0) {
                m.port[p].sw = s;
            }
        }
        break;
    case 6:             /* add or remove a switch (with its ports) */
        if (rnd(&seed, 2) && (s = PICK_SW(false)) >= 0) {
            m.sw_live[s] = true;
            m.sw_vni[s] = 100 + (unsigned int) s;
        } else if ((s = PICK_SW(true)) >= 0) {
            m.sw_live[s] = false;
            for (p = 0; p < N_PORTS; p++) {
                if (m.port[p].sw == s) {
                    m.port[p].live = false;
                }
            }
        }
        break;
    case 7:             /* add or remove a host (with its ports) */
        if (rnd(&seed, 2) && (h = PICK_HOST(false)) >= 0) {
            m.host_live[h] = true;
            m.host_ip[h] = 10 + (unsigned int) h;
        } else if ((h = PICK_HOST(true)) >= 0) {
            m.host_live[h] = false;
            for (p = 0; p < N_PORTS; p++) {
                if (m.port[p].host == h) {
                    m.port[p].live = false;
                }
            }
        }
        break;
    case 8:             /* host tunnel ip change */
        if ((h = PICK_HOST(true)) >= 0) {
            m.host_ip[h] = 50 + rnd(&seed, 100);
        }
        break;
    default:            /* switch VNI change */
        if ((s = PICK_SW(true)) >= 0) {
            m.sw_vni[s] = 1000 + rnd(&seed, 1000);
        }
        break;
    }
    *mp = m;
    *seedp = seed;
}

struct diff_sets {
    struct flow_set added, removed, modified;
};

static void
diff_cb(void *aux, const struct flow *o, const struct flow *n)
{
    struct diff_sets *d = aux;
    struct flow f;
    flow_clone(&f, n ? n : o);
    flow_set_take(!o ? &d->added : !n ? &d->removed : &d->modified, &f);
}

struct check {
    const struct compile_delta *delta;
    size_t n_changed;
};

static const struct compile_host_delta *
delta_host(const struct compile_delta *d, const char *name)
{
    for (size_t i = 0; i < d->n_hosts; i++) {
        if (!strcmp(d->hosts[i].name, name)) {
            return &d->hosts[i];
        }
    }
    return NULL;
}

static void
changed_cb(void *aux, const struct compiled_host *o,
           const struct compiled_host *n)
{
    static const struct flow_set empty;
    struct check *ck = aux;
    const char *name = n ? n->name : o->name;
    const struct compile_host_delta *hd = delta_host(ck->delta, name);
    struct diff_sets d;

    if (!hd) {
        fail_msg("host %s changed but is not in the delta", name);
    }
    assert_int_equal(hd->host_added, o == NULL);
    assert_int_equal(hd->host_removed, n == NULL);
    flow_set_init(&d.added);
    flow_set_init(&d.removed);
    flow_set_init(&d.modified);
    flow_set_diff(o ? &o->flows : &empty, n ? &n->flows : &empty, diff_cb,
                  &d);
    assert_true(flow_set_equal(&d.added, &hd->added));
    assert_true(flow_set_equal(&d.removed, &hd->removed));
    assert_true(flow_set_equal(&d.modified, &hd->modified));
    flow_set_destroy(&d.added);
    flow_set_destroy(&d.removed);
    flow_set_destroy(&d.modified);
    ck->n_changed++;
}

static struct topo *
load(const char *yaml)
{
    return topo_load_buffer("p.yaml", yaml, strlen(yaml), NULL);
}

static size_t n_routed;     /* ICMP packet actions seen, over all checks */

static void
check_equal(struct compiler *c, const struct compile_result *full)
{
    assert_int_equal(compiler_n_hosts(c), full->n_hosts);
    size_t n = 0;
    for (size_t i = 0; i < full->n_hosts; i++) {
        struct flow_set fs;
        flow_set_init(&fs);
        assert_true(compiler_host_flows(c, full->hosts[i].name, &fs));
        if (!flow_set_equal(&fs, &full->hosts[i].flows)) {
            fail_msg("flows of %s differ from a full compile",
                     full->hosts[i].name);
        }
        n += fs.n;
        flow_set_destroy(&fs);

        struct compiled_packet_action *pa;
        size_t n_pa;
        assert_true(compiler_host_actions(c, full->hosts[i].name, &pa, &n_pa));
        if (!compiled_packet_actions_equal(pa, n_pa, full->hosts[i].actions,
                                           full->hosts[i].n_actions)) {
            fail_msg("packet actions of %s differ from a full compile",
                     full->hosts[i].name);
        }
        for (size_t k = 0; k < n_pa; k++) {
            if (pa[k].kind != COMPILE_PA_DHCP) {
                n_routed++;
            }
            compiled_packet_action_clear(&pa[k]);
        }
        free(pa);
    }
    assert_int_equal(compiler_n_flows(c), n);
}

static void
test_property(void **state)
{
    (void) state;
    size_t steps = 0, refused = 0, changed = 0;

    for (unsigned int run = 0; run < 200; run++) {
        unsigned int seed = 7919u * run + 1;
        struct model m;
        memset(&m, 0, sizeof m);
        m.host_live[0] = m.host_live[1] = m.host_live[2] = true;
        for (int h = 0; h < N_HOSTS; h++) {
            m.host_ip[h] = 10 + (unsigned int) h;
        }
        m.sw_live[0] = m.sw_live[1] = true;
        m.sw_vni[0] = 100;
        m.sw_vni[1] = 101;

        struct compiler *c = compiler_create();
        struct compile_result *prev = NULL;
        for (int step = 0; step < 30; step++) {
            struct model next = m;
            mutate(&next, seed, &seed);
            char *yaml = render(&next);
            struct topo *t = load(yaml);
            free(yaml);
            if (!t) {
                refused++;
                continue;
            }
            m = next;

            struct compile_delta delta;
            compile_delta_init(&delta);
            assert_int_equal(compiler_apply(c, t, NULL, &delta), 0);
            struct compile_result *full = compile_topology(t, prev);
            check_equal(c, full);

            static const struct compile_result empty;
            struct check ck = { &delta, 0 };
            compile_changed_hosts(prev ? prev : &empty, full, changed_cb,
                                  &ck);
            assert_int_equal(ck.n_changed, delta.n_hosts);
            changed += ck.n_changed;

            compile_delta_destroy(&delta);
            compile_result_destroy(prev);
            prev = full;
            topo_destroy(t);
            steps++;
        }
        compile_result_destroy(prev);
        compiler_destroy(c);
    }
    printf("property: %zu steps applied (%zu refused by the loader), "
           "%zu host deltas checked, %zu router packet actions\n", steps,
           refused, changed, n_routed);
    assert_true(n_routed > 1000);
    assert_true(steps > 3000);
}

/* A single-port change in a big topology touches only the hosts of the
 * port's switch and keeps every other port's number. */
static void
test_locality(void **state)
{
    (void) state;
    struct model m;
    memset(&m, 0, sizeof m);
    for (int h = 0; h < N_HOSTS; h++) {
        m.host_live[h] = true;
        m.host_ip[h] = 10 + (unsigned int) h;
    }
    for (int s = 0; s < N_SWITCHES; s++) {
        m.sw_live[s] = true;
        m.sw_vni[s] = 100 + (unsigned int) s;
    }
    /* Switch s lives on hosts s and s+1 only. */
    for (int p = 0; p < N_PORTS; p++) {
        m.port[p].live = p < 12;
        m.port[p].sw = p % N_SWITCHES;
        m.port[p].host = m.port[p].sw + (p / N_SWITCHES) % 2;
        m.port[p].mac = 0x10 + (unsigned int) p;
    }
    char *yaml = render(&m);
    struct topo *t = load(yaml);
    free(yaml);
    assert_non_null(t);
    struct compiler *c = compiler_create();
    struct compile_delta d;
    compile_delta_init(&d);
    compiler_apply(c, t, NULL, &d);
    assert_int_equal(d.n_hosts, N_HOSTS);   /* from empty: every host */
    compile_delta_destroy(&d);
    topo_destroy(t);

    /* Add p12 on hv0 in ls0 (which spans hv0, hv1). */
    m.port[12] = m.port[0];
    m.port[12].mac = 0x30;
    yaml = render(&m);
    t = load(yaml);
    free(yaml);
    compile_delta_init(&d);
    compiler_apply(c, t, NULL, &d);
    assert_int_equal(d.n_hosts, 2);
    assert_string_equal(d.hosts[0].name, "hv0");
    assert_string_equal(d.hosts[1].name, "hv1");
    /* hv0: classify, port security (no ip: MAC only), output, l2 entry;
     * both flood flows gain the new port. */
    assert_int_equal(d.hosts[0].added.n, 4);
    assert_int_equal(d.hosts[0].removed.n, 0);
    assert_int_equal(d.hosts[0].modified.n, 2);
    assert_true(d.hosts[0].config_changed);
    /* hv1: one remote l2 entry; floods unchanged (hv0 was already there). */
    assert_int_equal(d.hosts[1].added.n, 1);
    assert_int_equal(d.hosts[1].modified.n, 0);
    assert_false(d.hosts[1].config_changed);
    compile_delta_destroy(&d);
    topo_destroy(t);
    compiler_destroy(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_property),
        cmocka_unit_test(test_locality),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
