/* test-controller.c — the controller core in-process: apply, agent
 * sessions over real TCP (a fake agent speaking frames), refusal of bad
 * topologies, restart from the state dir, bad frames, silent peers, and the
 * anetctl binary against it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "controller/compile.h"
#include "controller/controller.h"
#include "controller/controller-private.h"
#include "controller/topo.h"
#include "datapath/flow-table.h"
#include "lib/util.h"
#include "proto/flow-proto.h"
#include "proto/frame.h"
#include "proto/nfv.pb-c.h"

static const char topo_v1[] =
    "hosts:\n"
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n"
    "switches:\n"
    "  - {name: web, cidr: 10.1.0.0/24}\n"
    "ports:\n"
    "  - {name: web1, host: hv1, switch: web, ip: 10.1.0.11}\n"
    "  - {name: web2, host: hv2, switch: web, ip: 10.1.0.12}\n";

/* v1 plus a port on hv1 only: hv2's compiled output must not change. */
static const char topo_v2[] =
    "hosts:\n"
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n"
    "switches:\n"
    "  - {name: web, cidr: 10.1.0.0/24}\n"
    "  - {name: db, cidr: 10.2.0.0/24}\n"
    "ports:\n"
    "  - {name: web1, host: hv1, switch: web, ip: 10.1.0.11}\n"
    "  - {name: web2, host: hv2, switch: web, ip: 10.1.0.12}\n"
    "  - {name: db1, host: hv1, switch: db, ip: 10.2.0.11}\n";

/* v2 with db1 readdressed and web3 on hv2: hv1's flows of db1 change and
 * it learns web3; hv2 gets web3's flows. */
static const char topo_v3[] =
    "hosts:\n"
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n"
    "switches:\n"
    "  - {name: web, cidr: 10.1.0.0/24}\n"
    "  - {name: db, cidr: 10.2.0.0/24}\n"
    "ports:\n"
    "  - {name: web1, host: hv1, switch: web, ip: 10.1.0.11}\n"
    "  - {name: web2, host: hv2, switch: web, ip: 10.1.0.12}\n"
    "  - {name: db1, host: hv1, switch: db, ip: 10.2.0.21}\n"
    "  - {name: web3, host: hv2, switch: web, ip: 10.1.0.13}\n";

/* v3 without web3: both hosts lose flows. */
static const char topo_v4[] =
    "hosts:\n"
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n"
    "switches:\n"
    "  - {name: web, cidr: 10.1.0.0/24}\n"
    "  - {name: db, cidr: 10.2.0.0/24}\n"
    "ports:\n"
    "  - {name: web1, host: hv1, switch: web, ip: 10.1.0.11}\n"
    "  - {name: web2, host: hv2, switch: web, ip: 10.1.0.12}\n"
    "  - {name: db1, host: hv1, switch: db, ip: 10.2.0.21}\n";

static const char topo_bad[] =
    "hosts:\n"
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
    "switches:\n"
    "  - {name: web, cidr: 10.1.0.0/24}\n"
    "ports:\n"
    "  - {name: web1, host: hv1, switch: nope, ip: 10.1.0.11}\n";

struct fix {
    char dir[64];
    struct event_base *base;
    struct controller *ctl;
    struct controller_options opts;
};

static void
fix_start(struct fix *f)
{
    f->ctl = controller_create(f->base, &f->opts);
    assert_non_null(f->ctl);
    assert_true(controller_agent_port(f->ctl) != 0);
    assert_true(controller_http_port(f->ctl) != 0);
}

static int
setup(void **state)
{
    struct fix *f = xzalloc(sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/anet-ctltest-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->base = event_base_new();
    f->opts.listen = "127.0.0.1:0";
    f->opts.http = "127.0.0.1:0";
    f->opts.state_dir = f->dir;
    f->opts.heartbeat_ms = 5000;     /* no heartbeat noise in the tests */
    f->opts.dead_ms = 15000;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fix *f = *state;
    char cmd[128];
    controller_destroy(f->ctl);
    event_base_free(f->base);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Runs the controller's event loop for 'ms'. */
static void
pump(struct fix *f, int ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    event_base_loopexit(f->base, &tv);
    event_base_dispatch(f->base);
}

/* ---- fake agent --------------------------------------------------------- */

struct agent {
    int fd;
    struct evbuffer *in;
};

static void
agent_connect(struct fix *f, struct agent *a)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    sin.sin_port = htons(controller_agent_port(f->ctl));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(a->fd >= 0);
    assert_int_equal(connect(a->fd, (struct sockaddr *) &sin, sizeof sin), 0);
    fcntl(a->fd, F_SETFL, O_NONBLOCK);
    a->in = evbuffer_new();
    pump(f, 20);
}

static void
agent_close(struct agent *a)
{
    close(a->fd);
    evbuffer_free(a->in);
}

static void
agent_send_raw(struct agent *a, const void *p, size_t len)
{
    assert_int_equal(send(a->fd, p, len, MSG_NOSIGNAL), (ssize_t) len);
}

static void
agent_send(struct fix *f, struct agent *a, const Anet__Envelope *env)
{
    size_t len;
    uint8_t *buf = frame_encode(env, &len);
    agent_send_raw(a, buf, len);
    free(buf);
    pump(f, 30);
}

static void
agent_hello(struct fix *f, struct agent *a, const char *host, uint64_t gen)
{
    Anet__Envelope env = ANET__ENVELOPE__INIT;
    Anet__Hello hello = ANET__HELLO__INIT;
    hello.host = (char *) host;
    hello.version = "test";
    hello.applied_generation = gen;
    env.msg_case = ANET__ENVELOPE__MSG_HELLO;
    env.hello = &hello;
    agent_send(f, a, &env);
}

/* Waits up to 'ms' for a frame other than a heartbeat.  Returns 1 with
 * '*msg', 0 on timeout, -1 when the controller closed the connection. */
static int
agent_recv(struct fix *f, struct agent *a, int ms, Anet__Envelope **msg)
{
    long long deadline = time_msec() + ms;
    *msg = NULL;
    while (time_msec() < deadline) {
        pump(f, 10);
        for (;;) {
            char buf[65536];
            ssize_t n = recv(a->fd, buf, sizeof buf, 0);
            if (n > 0) {
                evbuffer_add(a->in, buf, n);
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                int r = frame_read(a->in, FRAME_MAX, msg);
                return r == 1 ? 1 : -1;
            }
            break;
        }
        while (frame_read(a->in, FRAME_MAX, msg) == 1) {
            if ((*msg)->msg_case != ANET__ENVELOPE__MSG_HEARTBEAT) {
                return 1;
            }
            anet__envelope__free_unpacked(*msg, NULL);
            *msg = NULL;
        }
    }
    return 0;
}

/* A fresh compile of 'yaml' (no seed: port numbers are the hashed ones,
 * as the controller gives them when nothing collides). */
static struct compile_result *
compile_yaml(const char *yaml)
{
    struct topo *t = topo_load_buffer("t.yaml", yaml, strlen(yaml), NULL);
    assert_non_null(t);
    struct compile_result *r = compile_topology(t, NULL);
    topo_destroy(t);
    return r;
}

/* Waits for a DesiredState of 'gen' and checks its header (host config
 * and the complete port list) against 'ch'. */
static Anet__Envelope *
recv_desired(struct fix *f, struct agent *a, uint64_t gen,
             const struct compiled_host *ch)
{
    Anet__Envelope *env;
    assert_int_equal(agent_recv(f, a, 2000, &env), 1);
    assert_int_equal(env->msg_case, ANET__ENVELOPE__MSG_DESIRED);
    Anet__DesiredState *ds = env->desired;
    assert_int_equal(ds->generation, gen);
    assert_string_equal(ds->host->name, ch->name);
    assert_string_equal(ds->host->tunnel_ip,
                        !strcmp(ch->name, "hv1") ? "10.200.0.11/24"
                                                 : "10.200.0.12/24");
    assert_int_equal(ds->host->tunnel_ofport, COMPILE_TUNNEL_OFPORT);
    assert_int_equal(ds->n_ports, ch->n_ports);
    for (size_t i = 0; i < ch->n_ports; i++) {
        assert_string_equal(ds->ports[i]->name, ch->ports[i].name);
        assert_string_equal(ds->ports[i]->iface, ch->ports[i].iface);
        assert_int_equal(ds->ports[i]->ofport, ch->ports[i].ofport);
    }
    return env;
}

/* Asserts the agent got the full DesiredState of 'gen' (base_generation 0)
 * whose flows equal a fresh compile of 'yaml' for 'host'. */
static void
expect_desired(struct fix *f, struct agent *a, uint64_t gen,
               const char *yaml, const char *host)
{
    struct compile_result *r = compile_yaml(yaml);
    const struct compiled_host *ch = compile_find_host(r, host);
    assert_non_null(ch);
    Anet__Envelope *env = recv_desired(f, a, gen, ch);
    Anet__DesiredState *ds = env->desired;

    assert_int_equal(ds->base_generation, 0);
    assert_int_equal(ds->n_removed_flows, 0);
    assert_true(ch->flows.n > 0);
    assert_int_equal(ds->n_flows, ch->flows.n);
    for (size_t i = 0; i < ch->flows.n; i++) {
        struct flow fl;
        assert_int_equal(flow_from_proto(ds->flows[i], &fl), 0);
        assert_true(flow_equal(&fl, &ch->flows.flows[i]));
        flow_destroy(&fl);
    }
    compile_result_destroy(r);
    anet__envelope__free_unpacked(env, NULL);
}

/* Asserts the agent got a delta base -> gen for 'host': smaller than the
 * full state, every removed flow present in the base, and applying it (by
 * key, as the agent does) to a full compile of 'base_yaml' gives exactly
 * the flows of a full compile of 'yaml'. */
static void
expect_delta(struct fix *f, struct agent *a, uint64_t base, uint64_t gen,
             const char *base_yaml, const char *yaml, const char *host)
{
    struct compile_result *r0 = compile_yaml(base_yaml);
    struct compile_result *r = compile_yaml(yaml);
    const struct compiled_host *ch0 = compile_find_host(r0, host);
    const struct compiled_host *ch = compile_find_host(r, host);
    assert_non_null(ch0);
    assert_non_null(ch);
    Anet__Envelope *env = recv_desired(f, a, gen, ch);
    Anet__DesiredState *ds = env->desired;

    assert_int_equal(ds->base_generation, base);
    assert_true(ds->n_flows + ds->n_removed_flows > 0);
    assert_true(ds->n_flows + ds->n_removed_flows < ch->flows.n);

    struct flow_table t;
    struct flow_set out;
    flow_table_init(&t);
    flow_table_from_set(&t, &ch0->flows);
    for (size_t i = 0; i < ds->n_removed_flows; i++) {
        struct flow fl;
        assert_int_equal(flow_from_proto(ds->removed_flows[i], &fl), 0);
        assert_true(flow_table_remove(&t, &fl));
        flow_destroy(&fl);
    }
    for (size_t i = 0; i < ds->n_flows; i++) {
        struct flow fl;
        assert_int_equal(flow_from_proto(ds->flows[i], &fl), 0);
        const struct flow *old = flow_table_find(&t, &fl);
        assert_true(!old || !flow_equal(old, &fl));   /* only real changes */
        flow_table_put(&t, &fl);
    }
    flow_set_init(&out);
    flow_table_to_set(&t, &out);
    assert_int_equal(out.n, ch->flows.n);
    assert_true(flow_set_equal(&out, &ch->flows));
    flow_set_destroy(&out);
    flow_table_destroy(&t);
    compile_result_destroy(r0);
    compile_result_destroy(r);
    anet__envelope__free_unpacked(env, NULL);
}

/* Sends ApplyResult{need_full} as an agent that cannot take a delta. */
static void
agent_need_full(struct fix *f, struct agent *a, uint64_t gen)
{
    Anet__Envelope env = ANET__ENVELOPE__INIT;
    Anet__ApplyResult res = ANET__APPLY_RESULT__INIT;
    res.generation = gen;
    res.ok = false;
    res.error = "delta does not apply";
    res.need_full = true;
    env.msg_case = ANET__ENVELOPE__MSG_RESULT;
    env.result = &res;
    agent_send(f, a, &env);
}

static void
agent_result(struct fix *f, struct agent *a, uint64_t gen, bool ok,
             const char *iface)
{
    Anet__Envelope env = ANET__ENVELOPE__INIT;
    Anet__ApplyResult res = ANET__APPLY_RESULT__INIT;
    Anet__PortStatus ps = ANET__PORT_STATUS__INIT;
    Anet__PortStatus *pss[1] = { &ps };
    res.generation = gen;
    res.ok = ok;
    res.error = ok ? "" : "bundle failed";
    ps.iface = (char *) iface;
    ps.up = true;
    res.ports = pss;
    res.n_ports = iface ? 1 : 0;
    env.msg_case = ANET__ENVELOPE__MSG_RESULT;
    env.result = &res;
    agent_send(f, a, &env);
}

static json_t *
show_host(struct fix *f, json_t **show, const char *host)
{
    size_t i;
    json_t *h;
    *show = controller_show(f->ctl);
    json_array_foreach(json_object_get(*show, "hosts"), i, h) {
        if (!strcmp(json_string_value(json_object_get(h, "name")), host)) {
            return h;
        }
    }
    fail_msg("host %s not in show", host);
    return NULL;
}

static long long
jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void
apply_ok(struct fix *f, const char *yaml, uint64_t gen, size_t n_changed)
{
    json_t *reply = NULL;
    assert_int_equal(controller_apply(f->ctl, "t.yaml", yaml, strlen(yaml),
                                      &reply), 0);
    assert_int_equal(jint(reply, "generation"), gen);
    assert_int_equal(json_array_size(json_object_get(reply, "changed_hosts")),
                     n_changed);
    json_decref(reply);
    assert_int_equal(controller_generation(f->ctl), gen);
}

/* ---- tests ------------------------------------------------------------- */

/* (a) apply -> generation 1 -> agent gets exactly the compiled flows ->
 * ApplyResult shows up in show; (c) reconnecting at the desired generation
 * gets the same generation again (a restarted agent needs its state); a
 * later apply pushes only to the changed host. */
static void
test_apply_and_session(void **state)
{
    struct fix *f = *state;
    struct agent a1, a2;
    Anet__Envelope *env;
    json_t *show, *h;

    fix_start(f);
    assert_int_equal(controller_generation(f->ctl), 0);
    apply_ok(f, topo_v1, 1, 2);
    apply_ok(f, topo_v1, 1, 0);           /* same text: no new generation */
    assert_int_equal(controller_host_desired_generation(f->ctl, "hv1"), 1);

    agent_connect(f, &a1);
    agent_hello(f, &a1, "hv1", 0);
    expect_desired(f, &a1, 1, topo_v1, "hv1");

    h = show_host(f, &show, "hv1");
    assert_true(json_is_true(json_object_get(h, "connected")));
    assert_int_equal(jint(h, "applied_generation"), 0);
    json_decref(show);

    agent_result(f, &a1, 1, true, "web1");
    h = show_host(f, &show, "hv1");
    assert_int_equal(jint(h, "applied_generation"), 1);
    assert_int_equal(jint(h, "desired_generation"), 1);
    assert_string_equal(json_string_value(json_object_get(h, "agent_version")),
                        "test");
    json_t *port = json_array_get(json_object_get(h, "ports"), 0);
    assert_string_equal(json_string_value(json_object_get(port, "name")),
                        "web1");
    assert_string_equal(json_string_value(json_object_get(port, "ip")),
                        "10.1.0.11/24");
    assert_true(json_is_true(json_object_get(port, "up")));
    json_decref(show);

    /* (c) A reconnect at the desired generation gets the same state again
     * (same generation), and nothing more after it. */
    agent_close(&a1);
    pump(f, 30);
    h = show_host(f, &show, "hv1");
    assert_false(json_is_true(json_object_get(h, "connected")));
    assert_int_equal(jint(h, "applied_generation"), 1);
    json_decref(show);
    agent_connect(f, &a1);
    agent_hello(f, &a1, "hv1", 1);
    expect_desired(f, &a1, 1, topo_v1, "hv1");
    agent_result(f, &a1, 1, true, "web1");
    assert_int_equal(agent_recv(f, &a1, 300, &env), 0);

    /* hv2 is behind: it gets generation 1. */
    agent_connect(f, &a2);
    agent_hello(f, &a2, "hv2", 0);
    expect_desired(f, &a2, 1, topo_v1, "hv2");
    agent_result(f, &a2, 1, true, "web2");

    /* A change on hv1 only: generation 2 pushed to hv1, nothing to hv2. */
    apply_ok(f, topo_v2, 2, 1);
    assert_int_equal(controller_host_desired_generation(f->ctl, "hv1"), 2);
    assert_int_equal(controller_host_desired_generation(f->ctl, "hv2"), 1);
    expect_delta(f, &a1, 1, 2, topo_v1, topo_v2, "hv1");
    assert_int_equal(agent_recv(f, &a2, 200, &env), 0);

    /* A failed apply is reported as last_error. */
    agent_result(f, &a1, 2, false, NULL);
    h = show_host(f, &show, "hv1");
    assert_string_equal(json_string_value(json_object_get(h, "last_error")),
                        "bundle failed");
    assert_int_equal(jint(h, "applied_generation"), 1);
    json_decref(show);

    /* An agent of an unknown host is kept, shown, and sent nothing. */
    struct agent a9;
    agent_connect(f, &a9);
    agent_hello(f, &a9, "hv9", 0);
    assert_int_equal(agent_recv(f, &a9, 200, &env), 0);
    show = controller_show(f->ctl);
    json_t *u = json_array_get(json_object_get(show, "unknown_agents"), 0);
    assert_non_null(u);
    assert_string_equal(json_string_value(json_object_get(u, "name")), "hv9");
    json_decref(show);

    char *metrics = controller_metrics(f->ctl);
    assert_non_null(strstr(metrics, "anet_generation 2\n"));
    assert_non_null(strstr(metrics, "anet_agents_connected 3\n"));
    assert_non_null(strstr(metrics,
                           "anet_host_applied_generation{host=\"hv2\"} 1\n"));
    free(metrics);

    agent_close(&a1);
    agent_close(&a2);
    agent_close(&a9);
}

/* (b) A bad topology is refused with file:line:col and changes nothing. */
static void
test_bad_topology_changes_nothing(void **state)
{
    struct fix *f = *state;
    json_t *reply = NULL;

    fix_start(f);
    apply_ok(f, topo_v1, 1, 2);
    json_t *flows_before = controller_flows(f->ctl, "hv1");
    assert_non_null(flows_before);
    assert_true(json_array_size(json_object_get(flows_before, "flows")) > 0);

    assert_int_equal(controller_apply(f->ctl, "bad.yaml", topo_bad,
                                      strlen(topo_bad), &reply), -EINVAL);
    json_t *errs = json_object_get(reply, "errors");
    assert_true(json_array_size(errs) >= 1);
    json_t *e = json_array_get(errs, 0);
    assert_string_equal(json_string_value(json_object_get(e, "file")),
                        "bad.yaml");
    assert_int_equal(jint(e, "line"), 6);
    assert_true(jint(e, "col") > 0);
    assert_non_null(strstr(json_string_value(json_object_get(e, "path")),
                           "switch"));
    json_decref(reply);

    /* Plan refuses the same way, and plans nothing for the same text. */
    assert_int_equal(controller_plan(f->ctl, "bad.yaml", topo_bad,
                                     strlen(topo_bad), &reply), -EINVAL);
    json_decref(reply);
    assert_int_equal(controller_plan(f->ctl, "t.yaml", topo_v1,
                                     strlen(topo_v1), &reply), 0);
    assert_int_equal(json_object_size(json_object_get(reply, "hosts")), 0);
    json_decref(reply);
    assert_int_equal(controller_plan(f->ctl, "t.yaml", topo_v2,
                                     strlen(topo_v2), &reply), 0);
    json_t *hv1 = json_object_get(json_object_get(reply, "hosts"), "hv1");
    assert_true(json_array_size(json_object_get(hv1, "added")) > 0);
    assert_null(json_object_get(json_object_get(reply, "hosts"), "hv2"));
    json_decref(reply);

    assert_int_equal(controller_generation(f->ctl), 1);
    json_t *flows_after = controller_flows(f->ctl, "hv1");
    assert_true(json_equal(flows_before, flows_after));
    json_t *fl = json_array_get(json_object_get(flows_after, "flows"), 0);
    json_t *prov = json_object_get(fl, "provenance");
    assert_true(json_is_object(prov));
    assert_string_equal(json_string_value(json_object_get(prov, "file")),
                        "t.yaml");
    json_decref(flows_before);
    json_decref(flows_after);
    assert_null(controller_flows(f->ctl, "nope"));
}

/* (d) A restart on the same state dir keeps generation, desired
 * generations and port numbers; an agent at its desired generation gets
 * its state again, with the same generation. */
static void
test_restart_keeps_state(void **state)
{
    struct fix *f = *state;
    struct agent a;

    fix_start(f);
    apply_ok(f, topo_v1, 1, 2);
    apply_ok(f, topo_v2, 2, 1);
    json_t *flows_before = controller_flows(f->ctl, "hv1");
    controller_destroy(f->ctl);

    fix_start(f);
    assert_int_equal(controller_generation(f->ctl), 2);
    assert_int_equal(controller_host_desired_generation(f->ctl, "hv1"), 2);
    assert_int_equal(controller_host_desired_generation(f->ctl, "hv2"), 1);
    json_t *flows_after = controller_flows(f->ctl, "hv1");
    assert_true(json_equal(flows_before, flows_after));
    json_decref(flows_before);
    json_decref(flows_after);

    agent_connect(f, &a);
    agent_hello(f, &a, "hv2", 1);
    expect_desired(f, &a, 1, topo_v2, "hv2");
    agent_close(&a);

    /* Same text again after the restart: no new generation. */
    apply_ok(f, topo_v2, 2, 0);
}

/* ---- learned neighbours ---------------------------------------------------- */

#define TOPO_ARP(MAC) \
    "hosts:\n" \
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n" \
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n" \
    "switches:\n" \
    "  - {name: web, cidr: 10.1.0.0/24}\n" \
    "external_networks:\n" \
    "  - {name: internet, cidr: 203.0.113.0/24, gateway_ip: 203.0.113.1,\n" \
    "     " MAC "host: hv1, iface: ext0, vni: 900}\n" \
    "ports:\n" \
    "  - {name: web1, host: hv1, switch: web, ip: 10.1.0.11}\n" \
    "  - {name: web2, host: hv2, switch: web, ip: 10.1.0.12}\n" \
    "routers:\n" \
    "  - name: r1\n" \
    "    ports: [{switch: web, ip: 10.1.0.1/24}]\n" \
    "    gateway: {network: internet, ip: 203.0.113.10}\n" \
    "    snat: [web]\n"
static const char topo_arp[] = TOPO_ARP("");
static const char topo_arp_mac[] = TOPO_ARP("gateway_mac: '0a:00:00:00:00:fe', ");

static void
agent_neighbor(struct fix *f, struct agent *a, const char *mac)
{
    Anet__Envelope env = ANET__ENVELOPE__INIT;
    Anet__Heartbeat hb = ANET__HEARTBEAT__INIT;
    Anet__Neighbor nb = ANET__NEIGHBOR__INIT;
    Anet__Neighbor *nbs[1] = { &nb };
    nb.network = "internet";
    nb.ip = "203.0.113.1";
    nb.mac = (char *) mac;
    hb.seq = 1;
    hb.neighbors = nbs;
    hb.n_neighbors = 1;
    env.msg_case = ANET__ENVELOPE__MSG_HEARTBEAT;
    env.heartbeat = &hb;
    agent_send(f, a, &env);
}

static json_t *
show_external(struct fix *f, json_t **show)
{
    *show = controller_show(f->ctl);
    json_t *e = json_array_get(json_object_get(*show, "external_networks"), 0);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "name")),
                        "internet");
    return e;
}

/* Counts the ARP packet actions of a DesiredState, checking their fields. */
static void
expect_arp_actions(const Anet__DesiredState *ds, size_t n_resolve,
                   size_t n_learn)
{
    size_t r = 0, l = 0;
    for (size_t i = 0; i < ds->n_packet_actions; i++) {
        const Anet__PacketAction *pa = ds->packet_actions[i];
        if (pa->kind != ANET__PACKET_ACTION__KIND__ARP_RESOLVE
            && pa->kind != ANET__PACKET_ACTION__KIND__ARP_LEARN) {
            continue;
        }
        r += pa->kind == ANET__PACKET_ACTION__KIND__ARP_RESOLVE;
        l += pa->kind == ANET__PACKET_ACTION__KIND__ARP_LEARN;
        assert_string_equal(pa->network, "internet");
        assert_int_equal(pa->network_vni, 900);
        assert_string_equal(pa->target_ip, "203.0.113.1");
        assert_string_equal(pa->router_ip, "203.0.113.10");
        assert_true(pa->id >= 0x1000 && pa->id < 0x4000);
    }
    assert_int_equal(r, n_resolve);
    assert_int_equal(l, n_learn);
}

/* An agent reports the provider router's MAC: the controller keeps it,
 * bumps the generation and pushes deltas whose result is the flows of the
 * same topology with that gateway_mac configured; the state dir keeps it
 * across a restart; a configured MAC wins. */
static void
test_learned_neighbor(void **state)
{
    struct fix *f = *state;
    struct agent a1, a2;
    Anet__Envelope *env;
    json_t *show, *e;

    fix_start(f);
    apply_ok(f, topo_arp, 1, 2);
    e = show_external(f, &show);
    assert_string_equal(json_string_value(json_object_get(e, "gateway_mac")),
                        "");
    assert_false(json_is_true(json_object_get(e, "gateway_mac_learned")));
    json_decref(show);

    agent_connect(f, &a1);
    agent_hello(f, &a1, "hv1", 0);
    struct compile_result *r = compile_yaml(topo_arp);
    env = recv_desired(f, &a1, 1, compile_find_host(r, "hv1"));
    expect_arp_actions(env->desired, 1, 1);
    anet__envelope__free_unpacked(env, NULL);
    agent_connect(f, &a2);
    agent_hello(f, &a2, "hv2", 0);
    env = recv_desired(f, &a2, 1, compile_find_host(r, "hv2"));
    expect_arp_actions(env->desired, 1, 0);
    anet__envelope__free_unpacked(env, NULL);
    compile_result_destroy(r);

    /* Garbage and non-gateway addresses change nothing. */
    agent_neighbor(f, &a2, "not-a-mac");
    assert_int_equal(agent_recv(f, &a2, 100, &env), 0);
    assert_int_equal(controller_generation(f->ctl), 1);

    /* hv1's agent learned it: generation 2, deltas to both hosts. */
    agent_neighbor(f, &a1, "0a:00:00:00:00:fe");
    pump(f, 30);
    assert_int_equal(controller_generation(f->ctl), 2);
    expect_delta(f, &a1, 1, 2, topo_arp, topo_arp_mac, "hv1");
    expect_delta(f, &a2, 1, 2, topo_arp, topo_arp_mac, "hv2");
    e = show_external(f, &show);
    assert_string_equal(json_string_value(json_object_get(e, "gateway_mac")),
                        "0a:00:00:00:00:fe");
    assert_true(json_is_true(json_object_get(e, "gateway_mac_learned")));
    json_decref(show);

    /* Reported again (every heartbeat does): nothing new. */
    agent_neighbor(f, &a1, "0a:00:00:00:00:fe");
    assert_int_equal(agent_recv(f, &a2, 100, &env), 0);
    assert_int_equal(controller_generation(f->ctl), 2);
    agent_close(&a1);
    agent_close(&a2);

    /* Restart: the learned MAC is still in use. */
    json_t *flows_before = controller_flows(f->ctl, "hv2");
    controller_destroy(f->ctl);
    struct stat st;
    char *path = xasprintf("%s/neighbors.json", f->dir);
    assert_int_equal(stat(path, &st), 0);
    free(path);
    fix_start(f);
    assert_int_equal(controller_generation(f->ctl), 2);
    json_t *flows_after = controller_flows(f->ctl, "hv2");
    assert_true(json_equal(flows_before, flows_after));
    json_decref(flows_before);
    json_decref(flows_after);
    e = show_external(f, &show);
    assert_true(json_is_true(json_object_get(e, "gateway_mac_learned")));
    json_decref(show);
    agent_connect(f, &a2);
    agent_hello(f, &a2, "hv2", 2);
    expect_desired(f, &a2, 2, topo_arp_mac, "hv2");

    /* The same MAC configured: the same flows, no new generation; then a
     * different learned MAC is ignored. */
    apply_ok(f, topo_arp_mac, 2, 0);
    e = show_external(f, &show);
    assert_false(json_is_true(json_object_get(e, "gateway_mac_learned")));
    json_decref(show);
    agent_neighbor(f, &a2, "0a:00:00:00:00:aa");
    assert_int_equal(agent_recv(f, &a2, 100, &env), 0);
    assert_int_equal(controller_generation(f->ctl), 2);
    agent_close(&a2);
}

/* (e) Garbage closes only its own connection. */
static void
test_bad_frames_close_only_that_session(void **state)
{
    struct fix *f = *state;
    struct agent good, bad;
    Anet__Envelope *env;

    fix_start(f);
    apply_ok(f, topo_v1, 1, 2);
    agent_connect(f, &good);
    agent_hello(f, &good, "hv1", 1);
    expect_desired(f, &good, 1, topo_v1, "hv1");

    /* Random bytes (fixed seed). */
    uint8_t junk[512];
    srand(7);
    for (size_t i = 0; i < sizeof junk; i++) {
        junk[i] = rand();
    }
    agent_connect(f, &bad);
    agent_send_raw(&bad, junk, sizeof junk);
    assert_int_equal(agent_recv(f, &bad, 1000, &env), -1);
    agent_close(&bad);

    /* A length over FRAME_MAX. */
    static const uint8_t huge[4] = { 0xff, 0xff, 0xff, 0xff };
    agent_connect(f, &bad);
    agent_send_raw(&bad, huge, sizeof huge);
    assert_int_equal(agent_recv(f, &bad, 1000, &env), -1);
    agent_close(&bad);

    /* A zero length. */
    static const uint8_t zero[4] = { 0, 0, 0, 0 };
    agent_connect(f, &bad);
    agent_send_raw(&bad, zero, sizeof zero);
    assert_int_equal(agent_recv(f, &bad, 1000, &env), -1);
    agent_close(&bad);

    /* A whole frame whose payload does not decode. */
    uint8_t garbage[4 + 16] = { 0, 0, 0, 16 };
    memset(garbage + 4, 0xff, 16);
    agent_connect(f, &bad);
    agent_send_raw(&bad, garbage, sizeof garbage);
    assert_int_equal(agent_recv(f, &bad, 1000, &env), -1);
    agent_close(&bad);

    /* A truncated frame, then the peer goes away. */
    agent_connect(f, &bad);
    Anet__Envelope henv = ANET__ENVELOPE__INIT;
    Anet__Hello hello = ANET__HELLO__INIT;
    hello.host = "hv2";
    henv.msg_case = ANET__ENVELOPE__MSG_HELLO;
    henv.hello = &hello;
    size_t len;
    uint8_t *buf = frame_encode(&henv, &len);
    agent_send_raw(&bad, buf, len - 2);
    free(buf);
    shutdown(bad.fd, SHUT_WR);
    assert_int_equal(agent_recv(f, &bad, 1000, &env), -1);
    agent_close(&bad);

    /* A message an agent must not send (DesiredState). */
    agent_connect(f, &bad);
    Anet__Envelope denv = ANET__ENVELOPE__INIT;
    Anet__DesiredState ds = ANET__DESIRED_STATE__INIT;
    denv.msg_case = ANET__ENVELOPE__MSG_DESIRED;
    denv.desired = &ds;
    agent_send(f, &bad, &denv);
    assert_int_equal(agent_recv(f, &bad, 1000, &env), -1);
    agent_close(&bad);

    /* hv2 never said hello successfully. */
    json_t *show, *h = show_host(f, &show, "hv2");
    assert_false(json_is_true(json_object_get(h, "connected")));
    json_decref(show);

    /* The well-behaved session is untouched and still served. */
    h = show_host(f, &show, "hv1");
    assert_true(json_is_true(json_object_get(h, "connected")));
    json_decref(show);
    apply_ok(f, topo_v2, 2, 1);
    expect_delta(f, &good, 1, 2, topo_v1, topo_v2, "hv1");
    agent_close(&good);
}

/* Deltas on the wire: an agent at the base of a host's change gets only
 * that change (added, modified and removed flows); need_full gets the full
 * state once; a delta spans every generation the host skipped (hv2:
 * 1 -> 3); an agent that lags gets the full state on Hello; flows,
 * provenance and show follow the engine. */
static void
test_deltas(void **state)
{
    struct fix *f = *state;
    struct agent a1, a2;
    Anet__Envelope *env;
    json_t *show, *h;

    fix_start(f);
    apply_ok(f, topo_v1, 1, 2);
    agent_connect(f, &a1);
    agent_hello(f, &a1, "hv1", 0);
    expect_desired(f, &a1, 1, topo_v1, "hv1");
    agent_result(f, &a1, 1, true, "web1");
    agent_connect(f, &a2);
    agent_hello(f, &a2, "hv2", 0);
    expect_desired(f, &a2, 1, topo_v1, "hv2");
    agent_result(f, &a2, 1, true, "web2");

    /* v2 changes hv1 only: a delta 1 -> 2 to hv1, nothing to hv2. */
    apply_ok(f, topo_v2, 2, 1);
    expect_delta(f, &a1, 1, 2, topo_v1, topo_v2, "hv1");
    assert_int_equal(agent_recv(f, &a2, 200, &env), 0);

    /* The agent cannot take it: the full state of the same generation,
     * once (a second request for it is moot). */
    agent_need_full(f, &a1, 2);
    expect_desired(f, &a1, 2, topo_v2, "hv1");
    agent_need_full(f, &a1, 2);
    assert_int_equal(agent_recv(f, &a1, 200, &env), 0);
    h = show_host(f, &show, "hv1");
    assert_int_equal(jint(h, "applied_generation"), 1);
    assert_string_equal(json_string_value(json_object_get(h, "last_error")),
                        "");
    json_decref(show);
    agent_result(f, &a1, 2, true, "web1");

    /* v3 changes both: hv1 2 -> 3, hv2 from its desired generation 1. */
    apply_ok(f, topo_v3, 3, 2);
    expect_delta(f, &a1, 2, 3, topo_v2, topo_v3, "hv1");
    expect_delta(f, &a2, 1, 3, topo_v1, topo_v3, "hv2");
    agent_result(f, &a1, 3, true, "db1");
    agent_result(f, &a2, 3, true, "web2");

    /* v4 removes flows on both; hv2's agent is away meanwhile. */
    agent_close(&a2);
    pump(f, 30);
    apply_ok(f, topo_v4, 4, 2);
    expect_delta(f, &a1, 3, 4, topo_v3, topo_v4, "hv1");
    agent_result(f, &a1, 4, true, "db1");

    /* hv2 runs 3 while its desired generation is 4: a new session gets
     * the full state of 4. */
    agent_connect(f, &a2);
    agent_hello(f, &a2, "hv2", 3);
    expect_desired(f, &a2, 4, topo_v4, "hv2");

    /* /api/v1/flows and show come from the engine: the flows of a full
     * compile of v3, each with its provenance. */
    struct compile_result *r = compile_yaml(topo_v4);
    const struct compiled_host *ch = compile_find_host(r, "hv1");
    json_t *flows = controller_flows(f->ctl, "hv1");
    json_t *arr = json_object_get(flows, "flows");
    assert_int_equal(json_array_size(arr), ch->flows.n);
    size_t i;
    json_t *jf;
    bool db1_seen = false;
    json_array_foreach(arr, i, jf) {
        char cookie[32];
        snprintf(cookie, sizeof cookie, "0x%llx",
                 (unsigned long long) ch->flows.flows[i].cookie);
        assert_string_equal(json_string_value(json_object_get(jf, "cookie")),
                            cookie);
        json_t *prov = json_object_get(jf, "provenance");
        assert_true(json_is_object(prov));
        const char *obj = json_string_value(json_object_get(prov, "object"));
        if (!strcmp(obj, "ports.db1")) {
            db1_seen = true;
            assert_int_equal(jint(prov, "line"), 10);
            assert_string_equal(
                json_string_value(json_object_get(prov, "file")), "t.yaml");
        }
        assert_null(strstr(obj, "web3"));
    }
    assert_true(db1_seen);
    json_decref(flows);
    h = show_host(f, &show, "hv1");
    assert_int_equal(jint(h, "n_flows"), ch->flows.n);
    assert_int_equal(jint(h, "desired_generation"), 4);
    assert_int_equal(jint(h, "applied_generation"), 4);
    json_decref(show);
    compile_result_destroy(r);

    agent_close(&a1);
    agent_close(&a2);
}

/* A state dir that cannot be written: the apply answers an error and
 * nothing changes, neither the generation nor the running flows (the
 * engine is brought back), and the next apply deltas from the old state. */
static void
test_persist_failure_changes_nothing(void **state)
{
    struct fix *f = *state;
    struct agent a;
    json_t *reply = NULL;
    char *path = xasprintf("%s/hosts.json", f->dir);

    fix_start(f);
    apply_ok(f, topo_v1, 1, 2);
    agent_connect(f, &a);
    agent_hello(f, &a, "hv1", 1);
    expect_desired(f, &a, 1, topo_v1, "hv1");
    agent_result(f, &a, 1, true, "web1");
    json_t *flows_before = controller_flows(f->ctl, "hv1");

    /* hosts.json cannot be replaced: a directory is in its way. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_true(controller_apply(f->ctl, "t.yaml", topo_v3, strlen(topo_v3),
                                 &reply) < 0);
    assert_non_null(json_object_get(reply, "error"));
    json_decref(reply);
    assert_int_equal(controller_generation(f->ctl), 1);
    Anet__Envelope *env_unused;
    assert_int_equal(agent_recv(f, &a, 200, &env_unused), 0);
    json_t *flows_after = controller_flows(f->ctl, "hv1");
    assert_true(json_equal(flows_before, flows_after));
    json_decref(flows_after);
    assert_int_equal(controller_plan(f->ctl, "t.yaml", topo_v1,
                                     strlen(topo_v1), &reply), 0);
    assert_int_equal(json_object_size(json_object_get(reply, "hosts")), 0);
    json_decref(reply);

    assert_int_equal(rmdir(path), 0);
    apply_ok(f, topo_v2, 2, 1);
    expect_delta(f, &a, 1, 2, topo_v1, topo_v2, "hv1");
    json_decref(flows_before);
    agent_close(&a);
    free(path);
}

/* A silent peer is dropped after the dead interval; a talking one is not. */
static void
test_silent_peer_dropped(void **state)
{
    struct fix *f = *state;
    struct agent silent;
    Anet__Envelope *env;

    f->opts.heartbeat_ms = 100;
    f->opts.dead_ms = 400;
    fix_start(f);
    agent_connect(f, &silent);
    agent_hello(f, &silent, "hv1", 0);
    /* The controller's heartbeats arrive meanwhile (agent_recv skips them),
     * then it closes the connection. */
    assert_int_equal(agent_recv(f, &silent, 2000, &env), -1);
    agent_close(&silent);
}

/* Runs 'cmd' while the controller's loop keeps running; returns the exit
 * status and the output (heap). */
static int
run_pumping(struct fix *f, const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int fd = fileno(p);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    long long deadline = time_msec() + 10000;
    while (time_msec() < deadline) {
        pump(f, 10);
        buf = xgrow(buf, &cap, len + 4097, 1);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n > 0) {
            len += n;
        } else if (n == 0) {
            break;
        }
    }
    buf = xgrow(buf, &cap, len + 1, 1);
    buf[len] = '\0';
    *out = buf;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* anetctl over HTTP: apply (ok and refused), show -o json, flows, and
 * exit 3 when nothing listens. */
static void
test_anetctl(void **state)
{
    struct fix *f = *state;
    const char *bindir = getenv("ANET_BINARY_DIR");
    char *ctlbin = xasprintf("%s/anetctl", bindir ? bindir : ".");
    char *out, *cmd;

    if (access(ctlbin, X_OK)) {
        free(ctlbin);
        skip();
    }
    fix_start(f);
    char *good = xasprintf("%s/good.yaml", f->dir);
    char *bad = xasprintf("%s/bad.yaml", f->dir);
    FILE *fp = fopen(good, "w");
    fputs(topo_v1, fp);
    fclose(fp);
    fp = fopen(bad, "w");
    fputs(topo_bad, fp);
    fclose(fp);
    char *url = xasprintf("http://127.0.0.1:%u", controller_http_port(f->ctl));

    cmd = xasprintf("%s --controller %s apply %s 2>&1", ctlbin, url, good);
    assert_int_equal(run_pumping(f, cmd, &out), 0);
    assert_non_null(strstr(out, "applied generation 1; changed hosts: hv1 hv2"));
    free(out);
    free(cmd);

    cmd = xasprintf("%s --controller %s apply %s 2>&1", ctlbin, url, bad);
    assert_int_equal(run_pumping(f, cmd, &out), 1);
    assert_non_null(strstr(out, "bad.yaml:6:"));
    free(out);
    free(cmd);
    assert_int_equal(controller_generation(f->ctl), 1);

    cmd = xasprintf("%s --controller %s show -o json", ctlbin, url);
    assert_int_equal(run_pumping(f, cmd, &out), 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(jint(j, "generation"), 1);
    assert_int_equal(json_array_size(json_object_get(j, "hosts")), 2);
    json_decref(j);
    free(out);
    free(cmd);

    cmd = xasprintf("%s --controller %s flows hv1", ctlbin, url);
    assert_int_equal(run_pumping(f, cmd, &out), 0);
    assert_non_null(strstr(out, "table=30 priority="));
    assert_non_null(strstr(out, "    <- ports.web1 (good.yaml:7:"));
    free(out);
    free(cmd);

    cmd = xasprintf("%s --controller %s frobnicate 2>&1", ctlbin, url);
    assert_int_equal(run_pumping(f, cmd, &out), 2);
    free(out);
    free(cmd);

    /* A port nobody listens on. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t sl = sizeof sin;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *) &sin, sizeof sin), 0);
    getsockname(s, (struct sockaddr *) &sin, &sl);
    close(s);
    cmd = xasprintf("%s --controller http://127.0.0.1:%u show 2>&1", ctlbin,
                    ntohs(sin.sin_port));
    assert_int_equal(run_pumping(f, cmd, &out), 3);
    assert_non_null(strstr(out, "cannot reach the controller"));
    assert_non_null(strstr(out, "is anet-controller running?"));
    free(out);
    free(cmd);

    free(url);
    free(good);
    free(bad);
    free(ctlbin);
}

/* hv1's db1 carries group db: rule 0 allows tcp/5432 from web. */
static const char topo_sg[] =
    "hosts:\n"
    "  - {name: hv1, tunnel_ip: 10.200.0.11/24}\n"
    "  - {name: hv2, tunnel_ip: 10.200.0.12/24}\n"
    "switches:\n"
    "  - {name: net, cidr: 10.1.0.0/24}\n"
    "ports:\n"
    "  - {name: web1, host: hv2, switch: net, ip: 10.1.0.11}\n"
    "  - {name: db1, host: hv1, switch: net, ip: 10.1.0.21,"
    " security_groups: [db]}\n"
    "security_groups:\n"
    "  - name: db\n"
    "    ingress:\n"
    "      - {protocol: tcp, ports: 5432, remote_cidrs: [10.1.0.0/24]}\n"
    "      - {protocol: icmp}\n";

/* The cookie of a flow of 'host' compiled from 'object' (or, with 'object'
 * NULL, of a flow whose provenance is not a security group), found through
 * an independent compile. */
static uint64_t
find_cookie(const char *yaml, const char *host, const char *object)
{
    struct topo *t = topo_load_buffer("t.yaml", yaml, strlen(yaml), NULL);
    assert_non_null(t);
    struct compile_result *r = compile_topology(t, NULL);
    struct compiler *c = compiler_create();
    assert_int_equal(compiler_apply(c, t, r, NULL), 0);
    const struct compiled_host *ch = compile_find_host(r, host);
    uint64_t cookie = 0;
    assert_non_null(ch);
    for (size_t i = 0; !cookie && i < ch->flows.n; i++) {
        struct compile_provenance pv;
        uint64_t ck = ch->flows.flows[i].cookie;
        if (!compiler_provenance(c, ck, &pv)) {
            continue;
        }
        if (object ? !strcmp(pv.object, object)
                   : strcmp(pv.kind, "security_group") != 0) {
            cookie = ck;
        }
    }
    compiler_destroy(c);
    compile_result_destroy(r);
    topo_destroy(t);
    assert_true(cookie != 0);
    return cookie;
}

/* The cookie of 'host''s default-deny flow of direction 'dir' (1 ingress,
 * 2 egress), found through an independent compile. */
static uint64_t
find_deny_cookie(const char *yaml, const char *host, int dir)
{
    struct topo *t = topo_load_buffer("t.yaml", yaml, strlen(yaml), NULL);
    assert_non_null(t);
    struct compile_result *r = compile_topology(t, NULL);
    const struct compiled_host *ch = compile_find_host(r, host);
    uint64_t cookie = 0;
    assert_non_null(ch);
    for (size_t i = 0; !cookie && i < ch->flows.n; i++) {
        if (compile_cookie_default_deny(ch->flows.flows[i].cookie) == dir) {
            cookie = ch->flows.flows[i].cookie;
        }
    }
    compile_result_destroy(r);
    topo_destroy(t);
    assert_true(cookie != 0);
    return cookie;
}

static void
agent_flow_stats(struct fix *f, struct agent *a, const uint64_t (*v)[3],
                 size_t n)
{
    Anet__Envelope env = ANET__ENVELOPE__INIT;
    Anet__Heartbeat hb = ANET__HEARTBEAT__INIT;
    Anet__FlowStats fs[8];
    Anet__FlowStats *ptrs[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        anet__flow_stats__init(&fs[i]);
        fs[i].cookie = v[i][0];
        fs[i].packets = v[i][1];
        fs[i].bytes = v[i][2];
        ptrs[i] = &fs[i];
    }
    hb.seq = 1;
    hb.n_flow_stats = n;
    hb.flow_stats = ptrs;
    env.msg_case = ANET__ENVELOPE__MSG_HEARTBEAT;
    env.heartbeat = &hb;
    agent_send(f, a, &env);
}

/* The flows entry of 'cookie' in /api/v1/flows of 'host'. */
static json_t *
flows_entry(json_t *flows, uint64_t cookie)
{
    char want[32];
    size_t i;
    json_t *fl;
    snprintf(want, sizeof want, "0x%llx", (unsigned long long) cookie);
    json_array_foreach(json_object_get(flows, "flows"), i, fl) {
        if (!strcmp(json_string_value(json_object_get(fl, "cookie")), want)) {
            return fl;
        }
    }
    fail_msg("cookie %s not in flows", want);
    return NULL;
}

static json_t *
rules_entry(json_t *rules, const char *object)
{
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r) {
        if (!strcmp(json_string_value(json_object_get(r, "object")),
                    object)) {
            return r;
        }
    }
    return NULL;
}

/* Per-rule counters: heartbeats carry per-cookie FlowStats; /api/v1/flows
 * shows each flow its cookie's figures and /api/v1/rules sums the
 * security-group rules over hosts (duplicates of a cookie summed, other
 * cookies left out); a later heartbeat replaces a host's figures; anetctl
 * prints both. */
static void
test_rule_counters(void **state)
{
    struct fix *f = *state;
    struct agent a1, a2;
    Anet__Envelope *env;
    const char *obj = "security_groups.db.ingress[0]";
    uint64_t ck = find_cookie(topo_sg, "hv1", obj);
    uint64_t other = find_cookie(topo_sg, "hv1", NULL);
    uint64_t deny = find_deny_cookie(topo_sg, "hv1", 1);

    fix_start(f);
    apply_ok(f, topo_sg, 1, 2);
    agent_connect(f, &a1);
    agent_hello(f, &a1, "hv1", 0);
    assert_int_equal(agent_recv(f, &a1, 2000, &env), 1);
    anet__envelope__free_unpacked(env, NULL);
    agent_connect(f, &a2);
    agent_hello(f, &a2, "hv2", 0);
    assert_int_equal(agent_recv(f, &a2, 2000, &env), 1);
    anet__envelope__free_unpacked(env, NULL);

    /* No heartbeat yet: no rule has counters, flows show 0. */
    json_t *rules = ctl_rules_json(f->ctl);
    assert_int_equal(json_array_size(rules), 0);
    json_decref(rules);

    const uint64_t hv1_stats[][3] = {
        { ck, 7, 700 }, { other, 5, 500 }, { ck, 3, 300 }, { deny, 4, 240 },
    };
    agent_flow_stats(f, &a1, hv1_stats, 4);
    const uint64_t hv2_stats[][3] = { { ck, 1, 60 } };
    agent_flow_stats(f, &a2, hv2_stats, 1);

    json_t *flows = controller_flows(f->ctl, "hv1");
    assert_non_null(flows);
    assert_int_equal(jint(flows_entry(flows, ck), "packets"), 10);
    assert_int_equal(jint(flows_entry(flows, ck), "bytes"), 1000);
    assert_int_equal(jint(flows_entry(flows, other), "packets"), 5);
    json_decref(flows);

    rules = ctl_rules_json(f->ctl);
    json_t *r = rules_entry(rules, obj);
    assert_non_null(r);
    assert_int_equal(jint(r, "packets"), 11);
    assert_int_equal(jint(r, "bytes"), 1060);
    assert_int_equal(jint(r, "hosts"), 2);
    assert_int_equal(jint(r, "line"), 12);   /* the rule's YAML line */
    assert_string_equal(json_string_value(json_object_get(r, "file")),
                        "t.yaml");
    /* db1's default deny (what no group of it allowed in), at db1's
     * line. */
    r = rules_entry(rules, "ports.db1.default_deny.ingress");
    assert_non_null(r);
    assert_int_equal(jint(r, "packets"), 4);
    assert_int_equal(jint(r, "bytes"), 240);
    assert_int_equal(jint(r, "hosts"), 1);
    assert_int_equal(jint(r, "line"), 8);
    assert_non_null(strstr(json_string_value(json_object_get(r, "rule")),
                           "default deny"));
    /* Only security-group rules and default denies are listed. */
    size_t i;
    json_t *e;
    json_array_foreach(rules, i, e) {
        const char *o = json_string_value(json_object_get(e, "object"));
        assert_true(!strncmp(o, "security_groups.", 16)
                    || strstr(o, ".default_deny."));
    }
    assert_int_equal(json_array_size(rules), 2);
    json_decref(rules);

    /* anetctl over HTTP. */
    const char *bindir = getenv("ANET_BINARY_DIR");
    char *ctlbin = xasprintf("%s/anetctl", bindir ? bindir : ".");
    if (!access(ctlbin, X_OK)) {
        char *out;
        char *cmd = xasprintf("%s --controller http://127.0.0.1:%u rules",
                              ctlbin, controller_http_port(f->ctl));
        assert_int_equal(run_pumping(f, cmd, &out), 0);
        char *line = strstr(out, obj);
        assert_non_null(line);
        assert_non_null(strstr(out, "t.yaml:12"));
        /* The figures precede the object on its line. */
        char *bol = line;
        while (bol > out && bol[-1] != '\n') {
            bol--;
        }
        long long pk = 0, by = 0;
        assert_int_equal(sscanf(bol, "%lld %lld", &pk, &by), 2);
        assert_int_equal(pk, 11);
        assert_int_equal(by, 1060);
        free(out);
        free(cmd);

        cmd = xasprintf("%s --controller http://127.0.0.1:%u flows hv1",
                        ctlbin, controller_http_port(f->ctl));
        assert_int_equal(run_pumping(f, cmd, &out), 0);
        assert_non_null(strstr(out, "n_packets=10 n_bytes=1000, table="));
        assert_non_null(strstr(out, "n_packets=0 n_bytes=0, table="));
        free(out);
        free(cmd);
    }
    free(ctlbin);

    /* A later heartbeat replaces hv1's figures whole. */
    const uint64_t hv1_later[][3] = { { ck, 20, 2000 } };
    agent_flow_stats(f, &a1, hv1_later, 1);
    flows = controller_flows(f->ctl, "hv1");
    assert_int_equal(jint(flows_entry(flows, ck), "packets"), 20);
    assert_int_equal(jint(flows_entry(flows, other), "packets"), 0);
    json_decref(flows);
    rules = ctl_rules_json(f->ctl);
    assert_int_equal(jint(rules_entry(rules, obj), "packets"), 21);
    json_decref(rules);

    /* A disconnected host's counters are kept (OVS goes on counting
     * without its agent) and shown as its last report. */
    flows = controller_flows(f->ctl, "hv2");
    assert_false(json_is_true(json_object_get(flows, "counters_stale")));
    json_decref(flows);
    agent_close(&a2);
    pump(f, 50);
    rules = ctl_rules_json(f->ctl);
    assert_int_equal(jint(rules_entry(rules, obj), "packets"), 21);
    assert_int_equal(jint(rules_entry(rules, obj), "hosts"), 2);
    assert_int_equal(jint(rules_entry(rules, obj), "stale_hosts"), 1);
    json_decref(rules);
    flows = controller_flows(f->ctl, "hv2");
    assert_true(json_is_true(json_object_get(flows, "counters_stale")));
    json_decref(flows);
    /* ... also across an apply that keeps the host. */
    char *more = xstrdup(topo_sg);
    char *at = strstr(more, "\nsecurity_groups:") + 1;
    char *grown = xasprintf("%.*s  - {name: x1, host: hv1, switch: net, "
                            "ip: 10.1.0.31}\n%s", (int) (at - more), more, at);
    apply_ok(f, grown, 2, 2);
    free(grown);
    free(more);
    rules = ctl_rules_json(f->ctl);
    assert_int_equal(jint(rules_entry(rules, obj), "packets"), 21);
    json_decref(rules);
    agent_close(&a1);
}

/* Logged packets: a heartbeat's AclLogEvents are resolved at once (rule,
 * direction, action, YAML line, the filtered port by its OpenFlow number:
 * reg15 for an ingress rule), listed oldest first by sequence number, an
 * unknown cookie kept as such, ?since= returns only newer ones, limit the
 * newest, and the agent's suppressed count is reported. */
static void
test_acl_log(void **state)
{
    struct fix *f = *state;
    struct agent a1;
    Anet__Envelope *env;
    const char *obj = "security_groups.db.ingress[0]";
    uint64_t ck = find_cookie(topo_sg, "hv1", obj);

    fix_start(f);
    apply_ok(f, topo_sg, 1, 2);
    agent_connect(f, &a1);
    agent_hello(f, &a1, "hv1", 0);
    assert_int_equal(agent_recv(f, &a1, 2000, &env), 1);
    /* db1's OpenFlow number, from the state the agent got. */
    uint32_t db1 = 0;
    for (size_t i = 0; i < env->desired->n_ports; i++) {
        if (!strcmp(env->desired->ports[i]->name, "db1")) {
            db1 = env->desired->ports[i]->ofport;
        }
    }
    assert_true(db1 != 0);
    anet__envelope__free_unpacked(env, NULL);

    Anet__Envelope out = ANET__ENVELOPE__INIT;
    Anet__Heartbeat hb = ANET__HEARTBEAT__INIT;
    Anet__AclLogEvent ev[3], *ptrs[3];
    for (size_t i = 0; i < 3; i++) {
        anet__acl_log_event__init(&ev[i]);
        ev[i].cookie = i == 1 ? 0x1234 : ck;
        ev[i].time_ms = 1764064800000ULL + i;
        ev[i].in_ofport = 4000;        /* the tunnel: not the filtered port */
        ev[i].out_ofport = db1;
        ev[i].ip_proto = 6;
        ev[i].src = (char *) "10.1.0.11";
        ev[i].dst = i == 2 ? (char *) "not an address" : (char *) "10.1.0.21";
        ev[i].src_port = 40000 + (uint32_t) i;
        ev[i].dst_port = 5432;
        ev[i].length = 74;
        ptrs[i] = &ev[i];
    }
    hb.seq = 1;
    hb.n_acl_log = 3;
    hb.acl_log = ptrs;
    hb.acl_log_suppressed = 7;
    out.msg_case = ANET__ENVELOPE__MSG_HEARTBEAT;
    out.heartbeat = &hb;
    agent_send(f, &a1, &out);

    json_t *j = ctl_acl_log_json(f->ctl, 0, 100);
    json_t *events = json_object_get(j, "events");
    assert_int_equal(json_array_size(events), 3);
    assert_int_equal(jint(j, "next"), 3);
    assert_int_equal(jint(j, "suppressed"), 7);
    json_t *e = json_array_get(events, 0);
    assert_int_equal(jint(e, "seq"), 1);
    assert_string_equal(json_string_value(json_object_get(e, "object")), obj);
    assert_string_equal(json_string_value(json_object_get(e, "action")),
                        "allow");
    assert_string_equal(json_string_value(json_object_get(e, "direction")),
                        "ingress");
    assert_string_equal(json_string_value(json_object_get(e, "port")), "db1");
    assert_string_equal(json_string_value(json_object_get(e, "host")), "hv1");
    assert_string_equal(json_string_value(json_object_get(e, "protocol")),
                        "tcp");
    assert_string_equal(json_string_value(json_object_get(e, "src")),
                        "10.1.0.11");
    assert_int_equal(jint(e, "src_port"), 40000);
    assert_int_equal(jint(e, "dst_port"), 5432);
    assert_int_equal(jint(e, "line"), 12);
    assert_int_equal(jint(e, "time_ms"), 1764064800000LL);
    /* The unknown cookie: kept, unnamed. */
    e = json_array_get(events, 1);
    assert_string_equal(json_string_value(json_object_get(e, "object")), "");
    assert_string_equal(json_string_value(json_object_get(e, "cookie")),
                        "0x1234");
    /* A bad address from the wire shows as "?". */
    e = json_array_get(events, 2);
    assert_string_equal(json_string_value(json_object_get(e, "dst")), "?");
    json_decref(j);

    j = ctl_acl_log_json(f->ctl, 2, 100);
    assert_int_equal(json_array_size(json_object_get(j, "events")), 1);
    assert_int_equal(jint(json_array_get(json_object_get(j, "events"), 0),
                          "seq"), 3);
    json_decref(j);
    j = ctl_acl_log_json(f->ctl, 0, 2);
    assert_int_equal(json_array_size(json_object_get(j, "events")), 2);
    assert_int_equal(jint(json_array_get(json_object_get(j, "events"), 0),
                          "seq"), 2);
    json_decref(j);

    /* anetctl prints them. */
    const char *bindir = getenv("ANET_BINARY_DIR");
    char *ctlbin = xasprintf("%s/anetctl", bindir ? bindir : ".");
    if (!access(ctlbin, X_OK)) {
        char *text;
        char *cmd = xasprintf("%s --controller http://127.0.0.1:%u acl-log",
                              ctlbin, controller_http_port(f->ctl));
        assert_int_equal(run_pumping(f, cmd, &text), 0);
        assert_non_null(strstr(text, "hv1        allow  ingress db1        "
                                     "tcp  10.1.0.11:40000"));
        assert_non_null(strstr(text, obj));
        assert_non_null(strstr(text, "t.yaml:12:"));
        assert_non_null(strstr(text, "(7 logged packets dropped"));
        free(text);
        free(cmd);
    }
    free(ctlbin);
    agent_close(&a1);
}

/* anet-nfv instances: the DesiredState of the firewall's host carries the
 * instance with its ports and its policy (a decodable NfvConfig: the
 * example's three rules, default deny); a Heartbeat's NfvStatus shows in
 * /api/v1/nfv as running, in sync with the wanted policy, with its
 * counters; the load balancer's host, not connected, shows as such. */
static void
test_nfv_view(void **state)
{
    struct fix *f = *state;
    struct agent a2;
    Anet__Envelope *env;
    const char *dir = getenv("ANET_SOURCE_DIR");
    char *path = xasprintf("%s/topology-examples/three-tier-nfv.yaml",
                           dir ? dir : ".");
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char *yaml = xcalloc(1, 65536);
    size_t len = fread(yaml, 1, 65535, fp);
    fclose(fp);
    free(path);

    fix_start(f);
    json_t *reply = NULL;
    assert_int_equal(controller_apply(f->ctl, "three-tier-nfv.yaml", yaml,
                                      len, &reply), 0);
    json_decref(reply);
    agent_connect(f, &a2);
    agent_hello(f, &a2, "hv2", 0);
    assert_int_equal(agent_recv(f, &a2, 2000, &env), 1);
    Anet__DesiredState *ds = env->desired;
    assert_non_null(ds);
    assert_int_equal(ds->n_nfv, 1);
    Anet__NfvInstance *ni = ds->nfv[0];
    assert_string_equal(ni->name, "fw1");
    assert_int_equal(ni->kind, ANET__NFV_INSTANCE__KIND__VAF);
    assert_int_equal(ni->n_ports, 2);
    assert_string_equal(ni->ports[0]->iface, "fwl-fw1");
    Anet__Nfv__NfvConfig *cfg = anet__nfv__nfv_config__unpack(
        NULL, ni->config.len, ni->config.data);
    assert_non_null(cfg);
    assert_int_equal(cfg->policy_case, ANET__NFV__NFV_CONFIG__POLICY_FW);
    assert_int_equal(cfg->fw->n_rules, 3);
    assert_int_equal(cfg->fw->default_action, ANET__NFV__FW_ACTION__DENY);
    assert_int_equal(cfg->fw->max_conns, 100000);
    assert_int_equal(cfg->fw->max_conns_per_source, 6250);
    assert_false(cfg->fw->pass_malformed);
    assert_int_equal(cfg->fw->rules[0]->dport_min, 5432);
    assert_string_equal(cfg->fw->rules[0]->src[0], "10.2.0.0/24");
    assert_int_equal(cfg->fw->rules[2]->action,
                     ANET__NFV__FW_ACTION__REJECT);
    uint64_t policy = cfg->generation;
    assert_true(policy != 0);
    anet__nfv__nfv_config__free_unpacked(cfg, NULL);
    anet__envelope__free_unpacked(env, NULL);

    /* The agent reports the instance with its counters. */
    Anet__Nfv__NfvStats st = ANET__NFV__NFV_STATS__INIT;
    Anet__Nfv__PortStats ps = ANET__NFV__PORT_STATS__INIT;
    Anet__Nfv__PortStats *psp = &ps;
    Anet__Nfv__CtStats ct = ANET__NFV__CT_STATS__INIT;
    Anet__Nfv__CtStateCount est = ANET__NFV__CT_STATE_COUNT__INIT;
    Anet__Nfv__CtStateCount *estp = &est;
    ps.iface = (char *) "fwl-fw1-n";
    ps.rx_packets = 42;
    ct.total = 3;
    est.state = (char *) "established";
    est.count = 2;
    ct.n_by_state = 1;
    ct.by_state = &estp;
    st.n_ports = 1;
    st.ports = &psp;
    st.ct = &ct;
    uint8_t buf[256];
    size_t n = anet__nfv__nfv_stats__pack(&st, buf);
    Anet__NfvStatus ns = ANET__NFV_STATUS__INIT;
    Anet__NfvStatus *nsp = &ns;
    ns.name = (char *) "fw1";
    ns.running = true;
    ns.starts = 1;
    ns.applied_generation = policy;
    ns.stats.data = buf;
    ns.stats.len = n;
    Anet__Envelope out = ANET__ENVELOPE__INIT;
    Anet__Heartbeat hb = ANET__HEARTBEAT__INIT;
    hb.seq = 1;
    hb.n_nfv = 1;
    hb.nfv = &nsp;
    out.msg_case = ANET__ENVELOPE__MSG_HEARTBEAT;
    out.heartbeat = &hb;
    agent_send(f, &a2, &out);

    json_t *j = ctl_nfv_json(f->ctl);
    assert_int_equal(json_array_size(j), 2);
    json_t *fw = NULL, *lb = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(j, i, x) {
        if (!strcmp(json_string_value(json_object_get(x, "name")), "fw1")) {
            fw = x;
        } else {
            lb = x;
        }
    }
    assert_non_null(fw);
    assert_non_null(lb);
    assert_string_equal(json_string_value(json_object_get(fw, "host")),
                        "hv2");
    assert_true(json_is_true(json_object_get(fw, "running")));
    assert_true(json_is_true(json_object_get(fw, "in_sync")));
    json_t *sj = json_object_get(fw, "stats");
    assert_int_equal(jint(json_array_get(json_object_get(sj, "ports"), 0),
                          "rx_packets"), 42);
    json_t *conns = json_object_get(sj, "connections");
    assert_int_equal(jint(conns, "total"), 3);
    assert_int_equal(json_integer_value(json_object_get(
        json_object_get(conns, "by_state"), "established")), 2);
    assert_string_equal(json_string_value(json_object_get(lb, "kind")),
                        "vad");
    assert_false(json_is_true(json_object_get(lb, "agent_connected")));
    assert_false(json_is_true(json_object_get(lb, "in_sync")));
    json_decref(j);
    agent_close(&a2);
    free(yaml);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_apply_and_session, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_topology_changes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_state, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_bad_frames_close_only_that_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deltas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persist_failure_changes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_peer_dropped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_anetctl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rule_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acl_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nfv_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_learned_neighbor, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
