/* test-link.c — netlink link helpers and the link watcher, checked with
 * ip(8) and ethtool(8) as oracles.
 *
 * The test moves itself into a fresh network namespace first, so its veths
 * can neither collide with nor outlive anything on the host.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "agent/link.h"
#include "tests/unit/support/test-util.h"

static int
count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) {
        n++;
    }
    return n;
}

static void
test_helpers(void **state)
{
    assert_int_equal(test_run("ip link add anet-lt0 type veth "
                              "peer name anet-lt1"), 0);
    assert_true(link_exists("anet-lt0"));
    assert_true(link_exists("lo"));
    assert_false(link_exists("anet-nope0"));

    /* Up. */
    assert_null(strstr(test_output("ip -o link show anet-lt0"), ",UP"));
    assert_int_equal(link_set_up("anet-lt0"), 0);
    assert_non_null(strstr(test_output("ip -o link show anet-lt0"), ",UP"));
    assert_int_equal(link_set_up("anet-lt0"), 0);
    assert_int_equal(link_set_up("anet-nope0"), -ENODEV);

    /* IPv4 address, once. */
    assert_int_equal(link_add_ipv4("anet-lt0", "10.99.0.1/24"), 0);
    const char *out = test_output("ip -o -4 addr show dev anet-lt0");
    assert_non_null(strstr(out, "inet 10.99.0.1/24"));
    assert_int_equal(link_add_ipv4("anet-lt0", "10.99.0.1/24"), 0);
    assert_int_equal(count(test_output("ip -o -4 addr show dev anet-lt0"),
                           "inet "), 1);
    assert_int_equal(link_add_ipv4("anet-lt0", "10.99.1.1/16"), 0);
    assert_int_equal(count(test_output("ip -o -4 addr show dev anet-lt0"),
                           "inet "), 2);
    assert_int_equal(link_add_ipv4("anet-lt0", "not-an-ip/24"), -EINVAL);
    assert_int_equal(link_add_ipv4("anet-lt0", "10.99.0.1"), -EINVAL);
    assert_int_equal(link_add_ipv4("anet-nope0", "10.99.0.1/24"), -ENODEV);

    /* TX checksum offload. */
    assert_non_null(strstr(test_output("ethtool -k anet-lt1"),
                           "tx-checksumming: on"));
    assert_int_equal(link_disable_tx_offload("anet-lt1"), 0);
    assert_non_null(strstr(test_output("ethtool -k anet-lt1"),
                           "tx-checksumming: off"));
    assert_int_equal(link_disable_tx_offload("anet-lt1"), 0);
    /* The peer is untouched. */
    assert_non_null(strstr(test_output("ethtool -k anet-lt0"),
                           "tx-checksumming: on"));
    assert_int_equal(link_disable_tx_offload("anet-nope0"), -ENODEV);

    test_run("ip link del anet-lt0");
    assert_false(link_exists("anet-lt0"));
}

/* ---- Watcher ------------------------------------------------------------ */

struct seen {
    char events[64][24];        /* "+name" / "-name" */
    int n;
};

static void
watch_cb(void *aux, const char *ifname, bool exists)
{
    struct seen *s = aux;
    if (s->n < 64) {
        snprintf(s->events[s->n++], sizeof s->events[0], "%c%s",
                 exists ? '+' : '-', ifname);
    }
}

static bool
seen_has(const struct seen *s, const char *ev)
{
    for (int i = 0; i < s->n; i++) {
        if (!strcmp(s->events[i], ev)) {
            return true;
        }
    }
    return false;
}

/* Runs the loop until 'ev' was reported or 2 s passed ('ev' NULL: for
 * 300 ms, to let unwanted events show up). */
static bool
pump_until(struct event_base *base, const struct seen *s, const char *ev)
{
    for (int i = 0; i < (ev ? 200 : 30); i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        if (ev && seen_has(s, ev)) {
            return true;
        }
        usleep(10000);
    }
    return false;
}

static void
test_watch(void **state)
{
    struct event_base *base = event_base_new();
    struct seen s = { .n = 0 };
    assert_int_equal(test_run("ip link add anet-lw9 type veth "
                              "peer name anet-lw8"), 0);
    struct link_watch *w = link_watch_create(base, watch_cb, &s);
    assert_non_null(w);

    /* The existing links are reported at once. */
    assert_true(seen_has(&s, "+lo"));
    assert_true(seen_has(&s, "+anet-lw9"));
    assert_true(link_watch_exists(w, "lo"));
    assert_true(link_watch_exists(w, "anet-lw8"));
    assert_false(link_watch_exists(w, "anet-lw0"));

    /* A new link appears. */
    s.n = 0;
    assert_int_equal(test_run("ip link add anet-lw0 type veth "
                              "peer name anet-lw1"), 0);
    assert_true(pump_until(base, &s, "+anet-lw1"));
    assert_true(pump_until(base, &s, "+anet-lw0"));
    assert_true(link_watch_exists(w, "anet-lw0"));

    /* State changes are not disappearances. */
    s.n = 0;
    assert_int_equal(test_run("ip link set anet-lw0 up "
                              "&& ip link set anet-lw0 down"), 0);
    pump_until(base, &s, NULL);
    assert_false(seen_has(&s, "-anet-lw0"));
    assert_true(link_watch_exists(w, "anet-lw0"));

    /* A rename is the old name going and the new one coming. */
    s.n = 0;
    assert_int_equal(test_run("ip link set anet-lw1 name anet-lw2"), 0);
    assert_true(pump_until(base, &s, "+anet-lw2"));
    assert_true(seen_has(&s, "-anet-lw1"));
    assert_false(link_watch_exists(w, "anet-lw1"));
    assert_true(link_watch_exists(w, "anet-lw2"));

    /* Deleting one end removes both. */
    s.n = 0;
    assert_int_equal(test_run("ip link del anet-lw0"), 0);
    assert_true(pump_until(base, &s, "-anet-lw0"));
    assert_true(pump_until(base, &s, "-anet-lw2"));
    assert_false(link_watch_exists(w, "anet-lw0"));
    assert_false(link_watch_exists(w, "anet-lw2"));
    assert_true(link_watch_exists(w, "anet-lw9"));

    link_watch_destroy(w);
    link_watch_destroy(NULL);
    event_base_free(base);
    test_run("ip link del anet-lw9 2>/dev/null");
}

int
main(void)
{
    if (test_enter_netns()) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_watch),
    };
    return cmocka_run_group_tests_name("link", tests, NULL, NULL);
}
