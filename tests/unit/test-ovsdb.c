/* test-ovsdb.c — the OVSDB client and the bridge layer against a private
 * ovsdb-server (and, in the second group, ovs-vswitchd), with ovs-vsctl as
 * the independent oracle.
 *
 * The test process first moves itself into a fresh network namespace, so the
 * OVS daemons it starts, their tap devices and the veths it creates all live
 * and die there.  Every OVS file sits in a private /tmp/anet-ovsdbt-* dir that
 * is removed at the end, also when a test fails.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>

#include "datapath/bridge.h"
#include "datapath/ovsdb.h"
#include "tests/unit/support/ovs-sandbox.h"
#include "tests/unit/support/test-util.h"

static struct ovs_sandbox ovs;

/* Runs ovs-vsctl on the private DB; returns its trimmed stdout (static). */
static const char * __attribute__((format(printf, 1, 2)))
vsctl(const char *fmt, ...)
{
    char args[1024], cmd[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "ovs-vsctl --no-wait --timeout=5 --db=%s %s",
             ovs.db, args);
    return test_output("%s", cmd);
}

static long
db_size(void)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "%s/conf.db", ovs.dir);
    return stat(path, &st) ? -1 : (long) st.st_size;
}

/* Starts the private OVS (the test already runs in a private network
 * namespace, see main()) and connects a client to its database. */
static int
setup__(void **state, bool vswitchd)
{
    if (ovs_sandbox_start(&ovs, "ovsdbt",
                          vswitchd ? OVS_SANDBOX_VSWITCHD : 0)) {
        return -1;
    }
    struct ovsdb_client *c = ovsdb_client_open(ovs.db, 5000);
    if (!c) {
        ovs_sandbox_stop(&ovs);
        return -1;
    }
    *state = c;
    return 0;
}

static int
setup_db(void **state)
{
    return setup__(state, false);
}

static int
setup_vswitchd(void **state)
{
    return setup__(state, true);
}

static int
teardown(void **state)
{
    ovsdb_client_destroy(*state);
    ovs_sandbox_stop(&ovs);
    return 0;
}

/* ---- The client ------------------------------------------------------- */

static void
test_open_errors(void **state)
{
    errno = 0;
    assert_null(ovsdb_client_open("unix:/tmp/anet-no-such-dir/db.sock",
                                  1000));
    assert_int_equal(errno, ENOENT);
    errno = 0;
    assert_null(ovsdb_client_open("bogus:thing", 1000));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    /* Nothing listens on this localhost port. */
    assert_null(ovsdb_client_open("tcp:127.0.0.1:1", 1000));
    assert_int_equal(errno, ECONNREFUSED);
    ovsdb_client_destroy(NULL);
}

static void
test_transact(void **state)
{
    struct ovsdb_client *c = *state;
    json_t *result;
    json_t *ops = json_pack("[{s:s, s:s, s:[], s:[s]}]", "op", "select",
                            "table", "Open_vSwitch", "where", "columns",
                            "_uuid");
    assert_int_equal(ovsdb_transact(c, ops, &result), 0);
    assert_true(json_is_array(result));
    assert_int_equal(json_array_size(result), 1);
    assert_non_null(json_object_get(json_array_get(result, 0), "rows"));
    json_decref(result);
    assert_string_equal(ovsdb_client_last_error(c), "");

    /* An unknown table is a server-side error with text. */
    ops = json_pack("[{s:s, s:s, s:{}}]", "op", "insert", "table",
                    "NoSuchTable", "row");
    result = (json_t *) 1;
    assert_int_equal(ovsdb_transact(c, ops, &result), -EPROTO);
    assert_null(result);
    assert_non_null(strstr(ovsdb_client_last_error(c), "NoSuchTable"));

    /* An operation error inside a valid transaction. */
    ops = json_pack("[{s:s, s:s, s:[[s, s, s]]}]", "op", "delete", "table",
                    "Bridge", "where", "nocolumn", "==", "x");
    assert_int_equal(ovsdb_transact(c, ops, NULL), -EPROTO);
    assert_true(strlen(ovsdb_client_last_error(c)) > 0);

    /* The connection still works afterwards. */
    ops = json_pack("[{s:s, s:s, s:[]}]", "op", "select", "table", "Bridge",
                    "where");
    assert_int_equal(ovsdb_transact(c, ops, NULL), 0);

    /* Over TCP too. */
    assert_int_equal(test_run("ovs-appctl -t %s/ovsdb-server.ctl "
                              "ovsdb-server/add-remote ptcp:16640:127.0.0.1",
                              ovs.dir), 0);
    struct ovsdb_client *t = NULL;
    for (int i = 0; i < 50 && !t; i++) {
        t = ovsdb_client_open("tcp:127.0.0.1:16640", 1000);
        if (!t) {
            usleep(20000);
        }
    }
    assert_non_null(t);
    ops = json_pack("[{s:s, s:s, s:[]}]", "op", "select", "table", "Bridge",
                    "where");
    assert_int_equal(ovsdb_transact(t, ops, NULL), 0);
    ovsdb_client_destroy(t);
}

/* A scripted server: sends an "echo" request first, expects the client to
 * answer it, then answers the client's transaction after a notification
 * and a stale reply, in two fragments cut inside a string full of braces.
 * Exits 0 only if the echo reply was right. */
static void
fake_server(int lfd)
{
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
        _exit(2);
    }
    const char *echo =
        "{\"method\":\"echo\",\"params\":[\"x\"],\"id\":\"e1\"}";
    if (write(fd, echo, strlen(echo)) < 0) {
        _exit(2);
    }
    char buf[4096] = "";
    size_t len = 0;
    while (!(strstr(buf, "\"transact\"") && strstr(buf, "\"e1\""))) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0) {
            _exit(3);
        }
        len += (size_t) n;
        buf[len] = '\0';
    }
    bool echo_ok = strstr(buf, "\"result\":[\"x\"]")
                   && strstr(buf, "\"id\":\"e1\"");
    const char *parts[] = {
        "{\"method\":\"update\",\"params\":[null,{}],\"id\":null}\n"
        "{\"id\":999,\"error\":null,\"result\":[]} {\"id\":1,\"error\":null,"
        "\"result\":[{\"rows\":[{\"name\":\"a}\\\"{",
        "b]\"}]}]}",
    };
    for (size_t i = 0; i < 2; i++) {
        if (write(fd, parts[i], strlen(parts[i])) < 0) {
            _exit(2);
        }
        usleep(50000);
    }
    usleep(100000);
    _exit(echo_ok ? 0 : 1);
}

static void
test_fake_server(void **state)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/anet-fake-%d.sock", (int) getpid());
    unlink(path);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    assert_int_equal(bind(lfd, (struct sockaddr *) &sun, sizeof sun), 0);
    assert_int_equal(listen(lfd, 1), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        fake_server(lfd);
    }
    close(lfd);

    char target[80];
    snprintf(target, sizeof target, "unix:%s", path);
    struct ovsdb_client *c = ovsdb_client_open(target, 3000);
    assert_non_null(c);
    json_t *result;
    assert_int_equal(ovsdb_transact(c, json_array(), &result), 0);
    json_t *name = json_object_get(json_array_get(json_object_get(
        json_array_get(result, 0), "rows"), 0), "name");
    assert_string_equal(json_string_value(name), "a}\"{b]");
    json_decref(result);

    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    /* The server is gone: the next call fails, and one after that
     * reconnects (and fails to, as nobody listens any more). */
    assert_true(ovsdb_transact(c, json_array(), NULL) < 0);
    unlink(path);
    assert_int_equal(ovsdb_transact(c, json_array(), NULL), -ENOENT);
    ovsdb_client_destroy(c);
}

/* ---- Bridges ---------------------------------------------------------- */

static void
test_integration(void **state)
{
    struct ovsdb_client *c = *state;
    assert_int_equal(bridge_ensure_integration(c, "br-int", 4000), 0);

    assert_string_equal(vsctl("list-br"), "br-int");
    assert_string_equal(vsctl("get Bridge br-int datapath_type"), "netdev");
    assert_string_equal(vsctl("get Bridge br-int fail_mode"), "secure");
    assert_string_equal(vsctl("get Bridge br-int protocols"),
                        "[OpenFlow10, OpenFlow13, OpenFlow14, OpenFlow15]");
    assert_string_equal(vsctl("get Bridge br-int other_config:disable-in-band"),
                        "\"true\"");
    assert_string_equal(vsctl("get Bridge br-int external_ids:anet-owner"),
                        "anet");
    assert_string_equal(vsctl("list-ports br-int"), "anet-tun");
    assert_string_equal(vsctl("get Interface br-int type"), "internal");
    /* The bridge's own port is in Bridge.ports (ovs-vsctl hides it). */
    char port_uuid[64];
    snprintf(port_uuid, sizeof port_uuid, "%s", vsctl("get Port br-int _uuid"));
    assert_int_equal(strlen(port_uuid), 36);
    assert_non_null(strstr(vsctl("get Bridge br-int ports"), port_uuid));
    assert_string_equal(vsctl("get Interface anet-tun type"), "geneve");
    assert_string_equal(vsctl("get Interface anet-tun options"),
                        "{key=flow, remote_ip=flow}");
    assert_string_equal(vsctl("get Interface anet-tun ofport_request"),
                        "4000");
    assert_string_equal(vsctl("get Port anet-tun external_ids:anet-owner"),
                        "anet");

    /* Again: no write at all (the DB log does not grow), same rows. */
    char uuids[4096];
    snprintf(uuids, sizeof uuids, "%s",
             vsctl("--columns=_uuid list Interface"));
    long size = db_size();
    assert_true(size > 0);
    assert_int_equal(bridge_ensure_integration(c, "br-int", 4000), 0);
    assert_int_equal(db_size(), size);
    assert_string_equal(vsctl("--columns=_uuid list Interface"), uuids);

    /* Drift made by someone else is repaired, other keys are kept. */
    vsctl("set Bridge br-int fail_mode=standalone "
          "other_config:foo=bar -- set Interface anet-tun options:key=5 "
          "ofport_request=17");
    assert_string_equal(vsctl("get Bridge br-int fail_mode"), "standalone");
    assert_int_equal(bridge_ensure_integration(c, "br-int", 4000), 0);
    assert_string_equal(vsctl("get Bridge br-int fail_mode"), "secure");
    assert_string_equal(vsctl("get Bridge br-int other_config:foo"), "bar");
    assert_string_equal(vsctl("get Interface anet-tun options"),
                        "{key=flow, remote_ip=flow}");
    assert_string_equal(vsctl("get Interface anet-tun ofport_request"),
                        "4000");
    assert_string_equal(vsctl("--columns=_uuid list Interface"), uuids);

    assert_int_equal(bridge_ensure_integration(c, "br-int", 70000), -EINVAL);
}

static void
test_underlay(void **state)
{
    struct ovsdb_client *c = *state;
    assert_int_equal(bridge_ensure_underlay(c, "br-phy", "anet-up0"), 0);
    assert_string_equal(vsctl("get Bridge br-phy datapath_type"), "netdev");
    assert_string_equal(vsctl("get Bridge br-phy fail_mode"), "standalone");
    assert_string_equal(vsctl("list-ports br-phy"), "anet-up0");
    assert_string_equal(vsctl("get Interface anet-up0 type"), "\"\"");
    long size = db_size();
    assert_int_equal(bridge_ensure_underlay(c, "br-phy", "anet-up0"), 0);
    assert_int_equal(db_size(), size);

    assert_int_equal(bridge_ensure_underlay(c, "br-u2", NULL), 0);
    assert_string_equal(vsctl("list-ports br-u2"), "");
    assert_string_equal(vsctl("get Interface br-u2 type"), "internal");
    assert_int_equal(bridge_ensure_underlay(c, "", NULL), -EINVAL);
}

static void
test_sync_ports(void **state)
{
    struct ovsdb_client *c = *state;
    assert_int_equal(bridge_ensure_integration(c, "br-int", 4000), 0);
    vsctl("add-port br-int foreign0 -- set Interface foreign0 "
          "ofport_request=3");

    struct bridge_port want[] = {
        { .iface = "wl-a", .ofport = 7, .logical = "lp-a" },
        { .iface = "wl-b", .ofport = 8, .logical = "lp-b" },
    };
    assert_int_equal(bridge_sync_ports(c, "br-int", want, 2), 0);
    assert_string_equal(vsctl("list-ports br-int"),
                        "anet-tun\nforeign0\nwl-a\nwl-b");
    assert_string_equal(vsctl("get Interface wl-a ofport_request"), "7");
    assert_string_equal(vsctl("get Interface wl-b ofport_request"), "8");
    assert_string_equal(vsctl("get Port wl-a external_ids:anet-port"),
                        "lp-a");
    assert_string_equal(vsctl("get Interface wl-b external_ids:anet-owner"),
                        "anet");

    long size = db_size();
    assert_int_equal(bridge_sync_ports(c, "br-int", want, 2), 0);
    assert_int_equal(db_size(), size);

    /* Renumber and rename one, drop the other. */
    struct bridge_port want2[] = {
        { .iface = "wl-b", .ofport = 9, .logical = "lp-b2" },
    };
    char uuid_b[64];
    snprintf(uuid_b, sizeof uuid_b, "%s", vsctl("get Interface wl-b _uuid"));
    assert_int_equal(bridge_sync_ports(c, "br-int", want2, 1), 0);
    assert_string_equal(vsctl("list-ports br-int"),
                        "anet-tun\nforeign0\nwl-b");
    assert_string_equal(vsctl("get Interface wl-b ofport_request"), "9");
    assert_string_equal(vsctl("get Port wl-b external_ids:anet-port"),
                        "lp-b2");
    assert_string_equal(vsctl("get Interface wl-b _uuid"), uuid_b);
    /* Removed ports are gone from the DB entirely (garbage-collected). */
    assert_string_equal(vsctl("--columns=name find Interface name=wl-a"), "");

    /* A port on another bridge is moved. */
    assert_int_equal(bridge_ensure_underlay(c, "br-x", NULL), 0);
    vsctl("add-port br-x wl-c");
    struct bridge_port want3[] = {
        { .iface = "wl-b", .ofport = 9, .logical = "lp-b2" },
        { .iface = "wl-c", .ofport = 10, .logical = "lp-c" },
    };
    assert_int_equal(bridge_sync_ports(c, "br-int", want3, 2), 0);
    assert_string_equal(vsctl("port-to-br wl-c"), "br-int");
    assert_string_equal(vsctl("list-ports br-x"), "");

    /* Empty set: only the foreign port and the tunnel remain. */
    assert_int_equal(bridge_sync_ports(c, "br-int", NULL, 0), 0);
    assert_string_equal(vsctl("list-ports br-int"), "anet-tun\nforeign0");
    assert_string_equal(vsctl("get Interface foreign0 ofport_request"), "3");

    assert_int_equal(bridge_sync_ports(c, "br-none", NULL, 0), -ENOENT);
    struct bridge_port bad = { .iface = "x", .ofport = 70000, .logical = "y" };
    assert_int_equal(bridge_sync_ports(c, "br-int", &bad, 1), -EINVAL);
}

static void
test_external_id(void **state)
{
    struct ovsdb_client *c = *state;
    assert_int_equal(bridge_ensure_integration(c, "br-int", 4000), 0);
    assert_int_equal(bridge_set_external_id(c, "br-int", "anet-gen", "5"), 0);
    char *v = bridge_get_external_id(c, "br-int", "anet-gen");
    assert_non_null(v);
    assert_string_equal(v, "5");
    free(v);
    assert_string_equal(vsctl("get Bridge br-int external_ids:anet-gen"),
                        "\"5\"");
    long size = db_size();
    assert_int_equal(bridge_set_external_id(c, "br-int", "anet-gen", "5"), 0);
    assert_int_equal(db_size(), size);
    assert_int_equal(bridge_set_external_id(c, "br-int", "anet-gen", "6"), 0);
    v = bridge_get_external_id(c, "br-int", "anet-gen");
    assert_string_equal(v, "6");
    free(v);

    assert_int_equal(bridge_set_external_id(c, "br-int", "anet-gen", NULL),
                     0);
    errno = 0;
    assert_null(bridge_get_external_id(c, "br-int", "anet-gen"));
    assert_int_equal(errno, ENOENT);
    /* The other keys are untouched. */
    v = bridge_get_external_id(c, "br-int", "anet-owner");
    assert_string_equal(v, "anet");
    free(v);

    assert_int_equal(bridge_set_external_id(c, "br-none", "k", "v"), -ENOENT);
    errno = 0;
    assert_null(bridge_get_external_id(c, "br-none", "k"));
    assert_int_equal(errno, ENOENT);
}

static void
test_ofport_without_vswitchd(void **state)
{
    struct ovsdb_client *c = *state;
    int32_t ofport = 0;
    assert_int_equal(bridge_ensure_integration(c, "br-int", 4000), 0);
    assert_int_equal(bridge_get_ofport(c, "anet-tun", &ofport), -EAGAIN);
    assert_int_equal(bridge_get_ofport(c, "no-such-if", &ofport), -ENOENT);
}

/* ---- With ovs-vswitchd ------------------------------------------------ */

static int
wait_ofport(struct ovsdb_client *c, const char *iface, int32_t *ofport,
            int32_t want)
{
    int retval = -EAGAIN;
    for (int i = 0; i < 100; i++) {
        retval = bridge_get_ofport(c, iface, ofport);
        if (retval != -EAGAIN && (want == 0 || retval || *ofport == want)) {
            break;
        }
        usleep(100000);
    }
    return retval;
}

static void
test_vswitchd_ofports(void **state)
{
    struct ovsdb_client *c = *state;
    int32_t ofport = 0;
    test_run("ip link del anet-tv0 2>/dev/null");
    assert_int_equal(test_run("ip link add anet-tv0 type veth "
                              "peer name anet-tv1 "
                              "&& ip link set anet-tv0 up "
                              "&& ip link set anet-tv1 up"), 0);

    assert_int_equal(bridge_ensure_integration(c, "br-int", 4000), 0);
    struct bridge_port want[] = {
        { .iface = "anet-tv0", .ofport = 7, .logical = "lp-a" },
        { .iface = "anet-missing0", .ofport = 8, .logical = "lp-b" },
    };
    assert_int_equal(bridge_sync_ports(c, "br-int", want, 2), 0);

    assert_int_equal(wait_ofport(c, "anet-tun", &ofport, 0), 0);
    assert_int_equal(ofport, 4000);
    assert_int_equal(wait_ofport(c, "anet-tv0", &ofport, 0), 0);
    assert_int_equal(ofport, 7);
    assert_string_equal(vsctl("get Interface anet-tv0 ofport"), "7");
    assert_int_equal(wait_ofport(c, "br-int", &ofport, 0), 0);
    assert_int_equal(ofport, 65534);
    assert_int_equal(wait_ofport(c, "anet-missing0", &ofport, 0), -ENODEV);

    /* Repeating changes no row while vswitchd runs. */
    char uuids[4096];
    snprintf(uuids, sizeof uuids, "%s",
             vsctl("--columns=_uuid list Interface"));
    assert_int_equal(bridge_ensure_integration(c, "br-int", 4000), 0);
    assert_int_equal(bridge_sync_ports(c, "br-int", want, 2), 0);
    assert_string_equal(vsctl("--columns=_uuid list Interface"), uuids);
    assert_int_equal(bridge_get_ofport(c, "anet-tv0", &ofport), 0);
    assert_int_equal(ofport, 7);

    /* A new ofport_request renumbers the port. */
    want[0].ofport = 9;
    assert_int_equal(bridge_sync_ports(c, "br-int", want, 1), 0);
    assert_int_equal(wait_ofport(c, "anet-tv0", &ofport, 9), 0);
    assert_int_equal(ofport, 9);
    assert_int_equal(bridge_get_ofport(c, "anet-missing0", &ofport), -ENOENT);

    test_run("ip link del anet-tv0 2>/dev/null");
}

static void
cleanup_at_exit(void)
{
    ovs_sandbox_stop(&ovs);
}

int
main(void)
{
    /* A private network namespace for everything this test starts. */
    if (test_enter_netns()) {
        return 1;
    }
    atexit(cleanup_at_exit);

    const struct CMUnitTest db_tests[] = {
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_transact),
        cmocka_unit_test(test_fake_server),
        cmocka_unit_test(test_integration),
        cmocka_unit_test(test_underlay),
        cmocka_unit_test(test_sync_ports),
        cmocka_unit_test(test_external_id),
        cmocka_unit_test(test_ofport_without_vswitchd),
    };
    const struct CMUnitTest vswitchd_tests[] = {
        cmocka_unit_test(test_vswitchd_ofports),
    };
    int failed = cmocka_run_group_tests_name("ovsdb", db_tests, setup_db,
                                             teardown);
    failed += cmocka_run_group_tests_name("ovsdb-vswitchd", vswitchd_tests,
                                          setup_vswitchd, teardown);
    return failed;
}
