/* test-agent-nfv.c — the agent's NFV supervisor (agent/nfv.h) with the real
 * anet-nfv program, in a private network namespace: the instance's veths
 * appear (up, host side and "-n" peer), the process starts and applies the
 * config, a changed config reaches it without a restart, SIGKILL gets it
 * restarted (and configured again), and removing it from the desired state
 * stops it and deletes its veths.  Skipped when anet-nfv was not built.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "agent/link.h"
#include "agent/nfv.h"
#include "lib/util.h"
#include "proto/nfv.pb-c.h"
#include "tests/unit/support/test-util.h"

static uint8_t *
fw_config(uint64_t gen, size_t *len)
{
    Anet__Nfv__NfvConfig cfg = ANET__NFV__NFV_CONFIG__INIT;
    Anet__Nfv__FwConfig fw = ANET__NFV__FW_CONFIG__INIT;
    Anet__Nfv__FwRule r0 = ANET__NFV__FW_RULE__INIT;
    Anet__Nfv__FwRule *rules[1] = { &r0 };

    r0.proto = 6;
    r0.dport_min = 80;
    fw.rules = rules;
    fw.n_rules = 1;
    fw.default_action = ANET__NFV__FW_ACTION__DENY;
    cfg.generation = gen;
    cfg.policy_case = ANET__NFV__NFV_CONFIG__POLICY_FW;
    cfg.fw = &fw;
    *len = anet__nfv__nfv_config__get_packed_size(&cfg);
    uint8_t *buf = xmalloc(*len);
    anet__nfv__nfv_config__pack(&cfg, buf);
    return buf;
}

/* Runs the loop until 'cond' holds or 'ms' pass. */
static bool
run_until(struct event_base *base, bool (*cond)(void *), void *aux, int ms)
{
    long long deadline = time_msec() + ms;
    while (!cond(aux)) {
        if (time_msec() > deadline) {
            return false;
        }
        struct timeval tv = { 0, 50 * 1000 };
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return true;
}

struct probe {
    struct nfv_sup *sup;
    uint64_t gen;
    int old_pid;
};

static bool
applied(void *aux)
{
    struct probe *p = aux;
    return nfv_sup_applied(p->sup, "fw1") == p->gen;
}

static bool
restarted(void *aux)
{
    struct probe *p = aux;
    int pid = nfv_sup_pid(p->sup, "fw1");
    return pid && pid != p->old_pid
           && nfv_sup_applied(p->sup, "fw1") == p->gen;
}

static void
test_supervise(void **state)
{
    const char *bin_dir = getenv("ANET_BINARY_DIR");
    char bin[512], rundir[64];

    snprintf(bin, sizeof bin, "%s/anet-nfv", bin_dir ? bin_dir : ".");
    if (access(bin, X_OK)) {
        skip();
    }
    assert_int_equal(test_enter_netns(), 0);
    snprintf(rundir, sizeof rundir, "/tmp/anet-nfvsup-%d", (int) getpid());
    setenv("ANET_NFV_PROGRAM", bin, 1);
    setenv("ANET_NFV_RUNDIR", rundir, 1);

    struct event_base *base = event_base_new();
    struct nfv_sup *sup = nfv_sup_create(base);
    struct agent_nfv_port ports[2] = { { "nfvl1", 40 }, { "nfvr1", 41 } };
    struct agent_nfv inst = {
        .name = "fw1", .kind = AGENT_NFV_VAF, .ports = ports, .n_ports = 2,
    };
    struct probe p = { .sup = sup, .gen = 1 };

    inst.config = fw_config(1, &inst.config_len);
    nfv_sup_sync(sup, &inst, 1);
    /* The veths exist at once (the caller attaches them right after). */
    assert_true(link_exists("nfvl1"));
    assert_true(link_exists("nfvl1-n"));
    assert_true(link_exists("nfvr1-n"));
    assert_string_equal(test_output("ip -br link show nfvl1 | "
                                    "awk '{print $2}'"), "UP");
    assert_string_equal(test_output("ethtool -k nfvr1-n | "
                                    "awk '/^tx-checksumming/ {print $2}'"),
                        "off");
    assert_true(run_until(base, applied, &p, 10000));
    int pid1 = nfv_sup_pid(sup, "fw1");
    assert_true(pid1 > 0);
    assert_int_equal(nfv_sup_n_starts(sup, "fw1"), 1);

    /* A new config: applied by the same process. */
    free(inst.config);
    inst.config = fw_config(2, &inst.config_len);
    p.gen = 2;
    nfv_sup_sync(sup, &inst, 1);
    assert_true(run_until(base, applied, &p, 5000));
    assert_int_equal(nfv_sup_pid(sup, "fw1"), pid1);

    /* SIGKILL: restarted (after the back-off) and configured again. */
    long long t0 = time_msec();
    kill(pid1, SIGKILL);
    p.old_pid = pid1;
    assert_true(run_until(base, restarted, &p, 10000));
    printf("restarted in %lld ms\n", time_msec() - t0);
    assert_int_equal(nfv_sup_n_starts(sup, "fw1"), 2);
    int pid2 = nfv_sup_pid(sup, "fw1");

    /* Removed from the desired state: stopped, veths gone. */
    nfv_sup_sync(sup, NULL, 0);
    assert_false(link_exists("nfvl1"));
    assert_false(link_exists("nfvr1-n"));
    nfv_sup_destroy(sup);                   /* waits for the exit */
    assert_int_equal(kill(pid2, 0), -1);
    assert_int_equal(errno, ESRCH);
    event_base_free(base);
    free(inst.config);
    rmdir(rundir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_supervise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
