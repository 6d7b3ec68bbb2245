/* test-agent.c — the agent core against a fake controller, with the null
 * datapath: Hello, applying a DesiredState, refusing an invalid one whole,
 * reconnecting with backoff after the controller goes away or sends
 * garbage, heartbeats with port status, and dropping a silent controller.
 *
 * The fake controller is a plain listening TCP socket on 127.0.0.1:0 in
 * this process; the test pumps the agent's event_base itself between
 * non-blocking reads, so everything runs in one thread, deterministically. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "agent/agent-dp.h"
#include "agent/agent.h"
#include "agent/pkt.h"
#include "datapath/ofconn.h"
#include "datapath/ofp-msgs.h"
#include "datapath/ofp-packet.h"
#include "lib/log.h"
#include "lib/packet.h"
#include "lib/util.h"
#include "proto/flow-proto.h"
#include "proto/frame.h"

#define TIMEOUT_MS 3000

struct fake {
    struct event_base *base;
    struct agent *agent;
    int lfd;                 /* listening */
    int cfd;                 /* accepted agent connection, -1 if none */
    struct evbuffer *in;
};

/* Runs the agent's loop for at most 'ms' while waiting for 'fd' to become
 * readable.  Returns true if it did. */
static bool
pump(struct fake *fk, int fd, int ms)
{
    long long deadline = time_msec() + ms;
    do {
        event_base_loop(fk->base, EVLOOP_NONBLOCK);
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, 5) > 0) {
            return true;
        }
    } while (time_msec() < deadline);
    return false;
}

static void
fake_accept(struct fake *fk)
{
    assert_true(pump(fk, fk->lfd, TIMEOUT_MS));
    fk->cfd = accept4(fk->lfd, NULL, NULL, SOCK_NONBLOCK);
    assert_true(fk->cfd >= 0);
    evbuffer_drain(fk->in, evbuffer_get_length(fk->in));
}

static void
fake_close(struct fake *fk)
{
    if (fk->cfd >= 0) {
        close(fk->cfd);
        fk->cfd = -1;
    }
}

/* Next message from the agent, skipping heartbeats unless 'want_hb'.
 * Returns NULL on EOF (the agent closed) or timeout ('*eof' tells). */
static Anet__Envelope *
fake_recv_ex(struct fake *fk, bool want_hb, bool *eof, int ms)
{
    long long deadline = time_msec() + ms;
    *eof = false;
    for (;;) {
        Anet__Envelope *env;
        int r = frame_read(fk->in, FRAME_MAX, &env);
        assert_true(r >= 0);
        if (r == 1) {
            if (!want_hb && env->msg_case == ANET__ENVELOPE__MSG_HEARTBEAT) {
                anet__envelope__free_unpacked(env, NULL);
                continue;
            }
            return env;
        }
        long long left = deadline - time_msec();
        if (left <= 0 || !pump(fk, fk->cfd, (int) left)) {
            return NULL;
        }
        char buf[4096];
        ssize_t n = read(fk->cfd, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            *eof = true;
            return NULL;
        }
        if (n > 0) {
            evbuffer_add(fk->in, buf, n);
        }
    }
}

static Anet__Envelope *
fake_recv(struct fake *fk, Anet__Envelope__MsgCase want)
{
    bool eof;
    Anet__Envelope *env = fake_recv_ex(fk, want == ANET__ENVELOPE__MSG_HEARTBEAT,
                                       &eof, TIMEOUT_MS);
    assert_non_null(env);
    assert_int_equal(env->msg_case, want);
    return env;
}

static void
fake_send_raw(struct fake *fk, const void *p, size_t len)
{
    const char *c = p;
    while (len) {
        ssize_t n = write(fk->cfd, c, len);
        if (n < 0 && errno == EAGAIN) {
            pump(fk, -1, 5);
            continue;
        }
        assert_true(n > 0);
        c += n;
        len -= n;
    }
}

static void
fake_send(struct fake *fk, const Anet__Envelope *env)
{
    size_t len;
    uint8_t *buf = frame_encode(env, &len);
    fake_send_raw(fk, buf, len);
    free(buf);
}

/* Waits until the agent closes its end. */
static void
fake_expect_eof(struct fake *fk)
{
    bool eof;
    Anet__Envelope *env;
    while ((env = fake_recv_ex(fk, true, &eof, TIMEOUT_MS))) {
        anet__envelope__free_unpacked(env, NULL);
    }
    assert_true(eof);
    fake_close(fk);
}

static void
make_flow(struct flow *f, uint8_t table, uint16_t prio, uint64_t mac,
          uint32_t port)
{
    flow_init(f, table, prio, 0x100 + port);
    assert_int_equal(flow_match_set(&f->match, FF_ETH_DST, mac, 0), 0);
    assert_int_equal(flow_match_set(&f->match, FF_METADATA, 7, 0), 0);
    flow_output(f, port);
}

/* Sends DesiredState 'gen' holding flows 'fl' (and one port binding);
 * if 'bad', an extra flow with an unknown action type is appended. */
static void
send_desired(struct fake *fk, uint64_t gen, const struct flow *fl, size_t n,
             bool bad)
{
    Anet__Envelope env = ANET__ENVELOPE__INIT;
    Anet__DesiredState ds = ANET__DESIRED_STATE__INIT;
    Anet__HostConfig hc = ANET__HOST_CONFIG__INIT;
    Anet__PortBinding pb = ANET__PORT_BINDING__INIT;
    Anet__PortBinding *pbs[1] = { &pb };
    Anet__Flow msgs[8];
    Anet__Flow *ptrs[8];
    Anet__Action bad_action = ANET__ACTION__INIT;
    Anet__Action *bad_actions[1] = { &bad_action };

    assert_true(n < 8);
    hc.name = (char *) "hv-test";
    hc.tunnel_ip = (char *) "10.200.0.11/24";
    hc.underlay_iface = (char *) "eth9";
    hc.tunnel_ofport = 4000;
    pb.name = (char *) "web1";
    pb.iface = (char *) "web1-veth";
    pb.ofport = 11;
    pb.mac = (char *) "0a:00:00:00:00:01";
    pb.switch_name = (char *) "sw1";
    for (size_t i = 0; i < n; i++) {
        flow_to_proto(&fl[i], &msgs[i]);
        ptrs[i] = &msgs[i];
    }
    size_t nf = n;
    if (bad) {
        anet__flow__init(&msgs[nf]);
        msgs[nf].table = 30;
        msgs[nf].priority = 5;
        bad_action.type = 99;          /* no such action type */
        msgs[nf].n_actions = 1;
        msgs[nf].actions = bad_actions;
        ptrs[nf] = &msgs[nf];
        nf++;
    }
    ds.generation = gen;
    ds.host = &hc;
    ds.n_ports = 1;
    ds.ports = pbs;
    ds.n_flows = nf;
    ds.flows = ptrs;
    env.msg_case = ANET__ENVELOPE__MSG_DESIRED;
    env.desired = &ds;
    fake_send(fk, &env);
    for (size_t i = 0; i < n; i++) {
        flow_proto_clear(&msgs[i]);
    }
}

static void
build_flows(struct flow fl[2])
{
    make_flow(&fl[0], 30, 100, 0x0a0000000001ULL, 11);
    make_flow(&fl[1], 30, 100, 0x0a0000000002ULL, 4000);
}

static int
setup_opts(void **state, const struct agent_options *extra)
{
    struct fake *fk = xzalloc(sizeof *fk);
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sin;

    log_set_level(LOG_LEVEL_ERR);
    fk->cfd = -1;
    fk->in = evbuffer_new();
    fk->base = event_base_new();
    fk->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fk->lfd >= 0);
    assert_int_equal(bind(fk->lfd, (struct sockaddr *) &sin, sizeof sin), 0);
    assert_int_equal(listen(fk->lfd, 8), 0);
    assert_int_equal(getsockname(fk->lfd, (struct sockaddr *) &sin, &len), 0);

    char *ctl = xasprintf("127.0.0.1:%u", ntohs(sin.sin_port));
    struct agent_options opt = extra ? *extra : (struct agent_options) { 0 };
    opt.host = "hv-test";
    opt.controller = ctl;
    opt.datapath = "null";
    fk->agent = agent_create(fk->base, &opt);
    free(ctl);
    assert_non_null(fk->agent);
    *state = fk;
    return 0;
}

static int
setup(void **state)
{
    return setup_opts(state, NULL);
}

static int
setup_fast(void **state)
{
    struct agent_options o = { .heartbeat_ms = 100, .peer_timeout_ms = 400 };
    return setup_opts(state, &o);
}

static int
teardown(void **state)
{
    struct fake *fk = *state;
    agent_destroy(fk->agent);
    fake_close(fk);
    close(fk->lfd);
    evbuffer_free(fk->in);
    event_base_free(fk->base);
    free(fk);
    return 0;
}

static void
expect_hello(struct fake *fk, uint64_t gen)
{
    Anet__Envelope *env = fake_recv(fk, ANET__ENVELOPE__MSG_HELLO);
    assert_string_equal(env->hello->host, "hv-test");
    assert_string_equal(env->hello->version, ANET_VERSION);
    assert_int_equal(env->hello->applied_generation, gen);
    anet__envelope__free_unpacked(env, NULL);
}

/* Connects, applies generation 3 with the two flows of build_flows(). */
static void
reach_gen3(struct fake *fk)
{
    struct flow fl[2];
    build_flows(fl);
    fake_accept(fk);
    expect_hello(fk, 0);
    send_desired(fk, 3, fl, 2, false);
    Anet__Envelope *env = fake_recv(fk, ANET__ENVELOPE__MSG_RESULT);
    assert_true(env->result->ok);
    assert_int_equal(env->result->generation, 3);
    assert_string_equal(env->result->error, "");
    assert_int_equal(env->result->flows_added, 2);
    assert_int_equal(env->result->flows_removed, 0);
    assert_int_equal(env->result->n_ports, 1);
    assert_string_equal(env->result->ports[0]->iface, "web1-veth");
    assert_true(env->result->ports[0]->up);
    assert_int_equal(env->result->ports[0]->ofport, 11);
    anet__envelope__free_unpacked(env, NULL);
    flow_destroy(&fl[0]);
    flow_destroy(&fl[1]);
}

/* The null datapath holds exactly generation 3's two flows. */
static void
assert_null_holds_gen3(struct fake *fk)
{
    struct flow fl[2];
    struct flow_set want;

    build_flows(fl);
    flow_set_init(&want);
    flow_set_take(&want, &fl[0]);
    flow_set_take(&want, &fl[1]);
    flow_set_sort(&want);

    const struct agent_desired *st =
        agent_dp_null_state(agent_datapath(fk->agent));
    assert_non_null(st);
    assert_int_equal(st->generation, 3);
    assert_int_equal(agent_desired_flows(st)->n, 2);
    assert_true(flow_set_equal(agent_desired_flows(st), &want));
    assert_int_equal(st->n_ports, 1);
    assert_string_equal(st->ports[0].iface, "web1-veth");
    assert_string_equal(st->tunnel_ip, "10.200.0.11/24");
    assert_int_equal(st->tunnel_ofport, 4000);
    assert_int_equal(agent_applied_generation(fk->agent), 3);
    flow_set_destroy(&want);
}

static void
test_hello(void **state)
{
    struct fake *fk = *state;
    fake_accept(fk);
    expect_hello(fk, 0);
    assert_true(agent_is_connected(fk->agent));
    assert_int_equal(agent_n_connects(fk->agent), 1);
    assert_null(agent_dp_null_state(agent_datapath(fk->agent)));
}

static void
test_apply(void **state)
{
    struct fake *fk = *state;
    reach_gen3(fk);
    assert_null_holds_gen3(fk);
    assert_int_equal(agent_dp_null_n_applies(agent_datapath(fk->agent)), 1);

    /* The same state again changes nothing: counters are a real diff. */
    struct flow fl[2];
    build_flows(fl);
    send_desired(fk, 3, fl, 2, false);
    Anet__Envelope *env = fake_recv(fk, ANET__ENVELOPE__MSG_RESULT);
    assert_true(env->result->ok);
    assert_int_equal(env->result->flows_added, 0);
    assert_int_equal(env->result->flows_modified, 0);
    assert_int_equal(env->result->flows_removed, 0);
    anet__envelope__free_unpacked(env, NULL);

    /* Generation 4 with one flow: one removal. */
    send_desired(fk, 4, fl, 1, false);
    env = fake_recv(fk, ANET__ENVELOPE__MSG_RESULT);
    assert_true(env->result->ok);
    assert_int_equal(env->result->generation, 4);
    assert_int_equal(env->result->flows_removed, 1);
    anet__envelope__free_unpacked(env, NULL);
    assert_int_equal(
        agent_desired_flows(agent_dp_null_state(agent_datapath(fk->agent)))->n,
        1);
    assert_int_equal(agent_applied_generation(fk->agent), 4);
    flow_destroy(&fl[0]);
    flow_destroy(&fl[1]);
}

static void
test_invalid_flow_keeps_state(void **state)
{
    struct fake *fk = *state;
    struct flow fl[2];

    reach_gen3(fk);
    build_flows(fl);
    /* Generation 4: one valid flow plus an invalid one -> refused whole. */
    send_desired(fk, 4, fl, 1, true);
    Anet__Envelope *env = fake_recv(fk, ANET__ENVELOPE__MSG_RESULT);
    assert_false(env->result->ok);
    assert_int_equal(env->result->generation, 4);
    assert_true(strlen(env->result->error) > 0);
    assert_non_null(strstr(env->result->error, "flow 1"));
    anet__envelope__free_unpacked(env, NULL);

    assert_null_holds_gen3(fk);
    assert_int_equal(agent_dp_null_n_applies(agent_datapath(fk->agent)), 1);
    assert_int_equal(agent_desired_state(fk->agent)->generation, 3);
    /* The session survives a refused state. */
    assert_true(agent_is_connected(fk->agent));
    flow_destroy(&fl[0]);
    flow_destroy(&fl[1]);
}

/* Sends a delta base -> gen: flows 'put' added or replaced, the keys of
 * 'del' removed; if 'bad', one put flow has an unknown action type. */
static void
send_delta(struct fake *fk, uint64_t base, uint64_t gen,
           const struct flow *put, size_t n_put, const struct flow *del,
           size_t n_del, bool bad)
{
    Anet__Envelope env = ANET__ENVELOPE__INIT;
    Anet__DesiredState ds = ANET__DESIRED_STATE__INIT;
    Anet__HostConfig hc = ANET__HOST_CONFIG__INIT;
    Anet__PortBinding pb = ANET__PORT_BINDING__INIT;
    Anet__PortBinding *pbs[1] = { &pb };
    Anet__Flow pm[8], dm[8];
    Anet__Flow *pp[8], *dp[8];

    assert_true(n_put < 8 && n_del < 8);
    hc.name = (char *) "hv-test";
    hc.tunnel_ip = (char *) "10.200.0.11/24";
    hc.underlay_iface = (char *) "eth9";
    hc.tunnel_ofport = 4000;
    pb.name = (char *) "web1";
    pb.iface = (char *) "web1-veth";
    pb.ofport = 12;                    /* the port moved to a new number */
    pb.mac = (char *) "0a:00:00:00:00:01";
    pb.switch_name = (char *) "sw1";
    for (size_t i = 0; i < n_put; i++) {
        flow_to_proto(&put[i], &pm[i]);
        pp[i] = &pm[i];
    }
    for (size_t i = 0; i < n_del; i++) {
        flow_to_proto(&del[i], &dm[i]);
        dp[i] = &dm[i];
    }
    if (bad && n_put) {
        pm[0].actions[0]->type = 99;
    }
    ds.generation = gen;
    ds.base_generation = base;
    ds.host = &hc;
    ds.n_ports = 1;
    ds.ports = pbs;
    ds.n_flows = n_put;
    ds.flows = pp;
    ds.n_removed_flows = n_del;
    ds.removed_flows = dp;
    env.msg_case = ANET__ENVELOPE__MSG_DESIRED;
    env.desired = &ds;
    fake_send(fk, &env);
    for (size_t i = 0; i < n_put; i++) {
        flow_proto_clear(&pm[i]);
    }
    for (size_t i = 0; i < n_del; i++) {
        flow_proto_clear(&dm[i]);
    }
}

/* A delta 3 -> 4 adds one flow, changes one and removes one; the agent
 * reports exactly that, and its datapath then holds the generation 4 set
 * and the new port binding. */
static void
test_delta_applies(void **state)
{
    struct fake *fk = *state;
    struct flow fl[2], put[2], want_flows[2];

    reach_gen3(fk);
    build_flows(fl);
    make_flow(&put[0], 30, 100, 0x0a0000000002ULL, 12);  /* fl[1] changed */
    make_flow(&put[1], 30, 100, 0x0a0000000003ULL, 13);  /* new key */
    send_delta(fk, 3, 4, put, 2, &fl[0], 1, false);

    Anet__Envelope *env = fake_recv(fk, ANET__ENVELOPE__MSG_RESULT);
    assert_true(env->result->ok);
    assert_false(env->result->need_full);
    assert_int_equal(env->result->generation, 4);
    assert_int_equal(env->result->flows_added, 1);
    assert_int_equal(env->result->flows_modified, 1);
    assert_int_equal(env->result->flows_removed, 1);
    assert_int_equal(env->result->ports[0]->ofport, 12);
    anet__envelope__free_unpacked(env, NULL);

    struct flow_set want;
    flow_set_init(&want);
    flow_clone(&want_flows[0], &put[0]);
    flow_clone(&want_flows[1], &put[1]);
    flow_set_take(&want, &want_flows[0]);
    flow_set_take(&want, &want_flows[1]);
    flow_set_sort(&want);
    const struct agent_desired *st =
        agent_dp_null_state(agent_datapath(fk->agent));
    assert_int_equal(st->generation, 4);
    assert_true(flow_set_equal(agent_desired_flows(st), &want));
    assert_int_equal(st->ports[0].ofport, 12);
    assert_true(flow_set_equal(agent_desired_flows(agent_desired_state(
                                   fk->agent)), &want));
    assert_int_equal(agent_applied_generation(fk->agent), 4);
    flow_set_destroy(&want);
    for (int i = 0; i < 2; i++) {
        flow_destroy(&fl[i]);
        flow_destroy(&put[i]);
    }
}

/* A delta from a generation the agent does not run, or with an invalid
 * flow, is refused with need_full and changes nothing. */
static void
test_delta_refused_needs_full(void **state)
{
    struct fake *fk = *state;
    struct flow fl[2], put[1];

    reach_gen3(fk);
    build_flows(fl);
    make_flow(&put[0], 30, 100, 0x0a0000000003ULL, 13);

    send_delta(fk, 2, 4, put, 1, NULL, 0, false);      /* wrong base */
    Anet__Envelope *env = fake_recv(fk, ANET__ENVELOPE__MSG_RESULT);
    assert_false(env->result->ok);
    assert_true(env->result->need_full);
    assert_non_null(strstr(env->result->error, "does not apply"));
    anet__envelope__free_unpacked(env, NULL);
    assert_null_holds_gen3(fk);

    send_delta(fk, 3, 4, put, 1, NULL, 0, true);       /* invalid flow */
    env = fake_recv(fk, ANET__ENVELOPE__MSG_RESULT);
    assert_false(env->result->ok);
    assert_true(env->result->need_full);
    anet__envelope__free_unpacked(env, NULL);
    assert_null_holds_gen3(fk);
    assert_int_equal(agent_dp_null_n_applies(agent_datapath(fk->agent)), 1);

    /* The full state still applies afterwards. */
    send_desired(fk, 4, put, 1, false);
    env = fake_recv(fk, ANET__ENVELOPE__MSG_RESULT);
    assert_true(env->result->ok);
    anet__envelope__free_unpacked(env, NULL);
    assert_int_equal(agent_applied_generation(fk->agent), 4);
    flow_destroy(&fl[0]);
    flow_destroy(&fl[1]);
    flow_destroy(&put[0]);
}

static void
test_reconnect_after_close(void **state)
{
    struct fake *fk = *state;

    reach_gen3(fk);
    fake_close(fk);
    long long t0 = time_msec();
    fake_accept(fk);
    long long waited = time_msec() - t0;
    /* Backoff: the first wait is drawn from [50, 100] ms. */
    assert_true(waited >= 45);
    expect_hello(fk, 3);
    assert_int_equal(agent_n_connects(fk->agent), 2);
    assert_null_holds_gen3(fk);

    /* With the controller gone, the agent stays disconnected, retrying
     * in the background, and keeps its state. */
    fake_close(fk);
    int saved = fk->lfd;
    fk->lfd = -1;
    close(saved);
    pump(fk, -1, 700);
    assert_false(agent_is_connected(fk->agent));
    assert_int_equal(agent_n_connects(fk->agent), 2);
    assert_null_holds_gen3(fk);
}

static void
test_garbage_reconnects(void **state)
{
    struct fake *fk = *state;

    reach_gen3(fk);
    /* A frame whose payload is not protobuf (wire type 7 does not exist). */
    static const uint8_t junk[] = { 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff };
    fake_send_raw(fk, junk, sizeof junk);
    fake_expect_eof(fk);
    fake_accept(fk);
    expect_hello(fk, 3);
    assert_null_holds_gen3(fk);

    /* An oversized length header: same treatment. */
    static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 1, 2, 3 };
    fake_send_raw(fk, huge, sizeof huge);
    fake_expect_eof(fk);
    fake_accept(fk);
    expect_hello(fk, 3);
    assert_int_equal(agent_n_connects(fk->agent), 3);
    assert_null_holds_gen3(fk);
}

static void
test_heartbeat_and_silence(void **state)
{
    struct fake *fk = *state;

    reach_gen3(fk);
    /* Heartbeats carry the port status. */
    Anet__Envelope *env = fake_recv(fk, ANET__ENVELOPE__MSG_HEARTBEAT);
    assert_true(env->heartbeat->seq >= 1);
    assert_int_equal(env->heartbeat->n_ports, 1);
    assert_string_equal(env->heartbeat->ports[0]->iface, "web1-veth");
    assert_true(env->heartbeat->ports[0]->up);
    /* The null datapath has no counters: none are reported. */
    assert_int_equal(env->heartbeat->n_flow_stats, 0);
    anet__envelope__free_unpacked(env, NULL);

    /* A controller that keeps sending heartbeats is kept past the timeout. */
    Anet__Envelope hb = ANET__ENVELOPE__INIT;
    Anet__Heartbeat h = ANET__HEARTBEAT__INIT;
    hb.msg_case = ANET__ENVELOPE__MSG_HEARTBEAT;
    hb.heartbeat = &h;
    for (int i = 0; i < 6; i++) {
        fake_send(fk, &hb);
        /* Read the agent's own heartbeats for 150 ms (well under the 400 ms
         * timeout) — bounded in total, as the agent sends one every 100 ms. */
        long long until = time_msec() + 150;
        long long left;
        bool eof = false;
        while ((left = until - time_msec()) > 0
               && (env = fake_recv_ex(fk, true, &eof, (int) left))) {
            anet__envelope__free_unpacked(env, NULL);
        }
        assert_false(eof);
    }
    assert_true(agent_is_connected(fk->agent));
    assert_int_equal(agent_n_connects(fk->agent), 1);

    /* A silent one (400 ms here) is dropped, and the agent comes back. */
    fake_expect_eof(fk);
    fake_accept(fk);
    expect_hello(fk, 3);
    assert_int_equal(agent_n_connects(fk->agent), 2);
}

/* ---- learned neighbours ------------------------------------------------ */

/* Sends full DesiredState 'gen' with one ARP_LEARN packet action (id 21)
 * for 'target_ip' on network "provider" (no flows, no ports). */
static void
send_desired_arp(struct fake *fk, uint64_t gen, const char *target_ip)
{
    Anet__Envelope env = ANET__ENVELOPE__INIT;
    Anet__DesiredState ds = ANET__DESIRED_STATE__INIT;
    Anet__PacketAction pa = ANET__PACKET_ACTION__INIT;
    Anet__PacketAction *pas[1] = { &pa };

    pa.id = 21;
    pa.kind = ANET__PACKET_ACTION__KIND__ARP_LEARN;
    pa.router_ip = (char *) "203.0.113.10";
    pa.router_mac = (char *) "0a:00:00:00:fe:01";
    pa.network_vni = 0x1234;
    pa.target_ip = (char *) target_ip;
    pa.network = (char *) "provider";
    ds.generation = gen;
    ds.n_packet_actions = 1;
    ds.packet_actions = pas;
    env.msg_case = ANET__ENVELOPE__MSG_DESIRED;
    env.desired = &ds;
    fake_send(fk, &env);
}

/* Appends an OpenFlow property (type, value) padded to 8 bytes. */
static size_t
of_prop(uint8_t *p, uint16_t type, const void *v, size_t len)
{
    size_t total = (4 + len + 7) & ~(size_t) 7;
    memset(p, 0, total);
    packet_put_be16(p, type);
    packet_put_be16(p + 2, 4 + len);
    memcpy(p + 4, v, len);
    return total;
}

/* Hands the null datapath's packet path an NXT_PACKET_IN2 carrying the
 * gateway's ARP reply (203.0.113.1 at 'sha') for packet action 21, as the
 * switch would. */
static void
inject_arp_reply(struct fake *fk, uint64_t sha)
{
    uint8_t f[60], m[256], v[8];
    struct ofp_msg msg;
    struct ofp_buf out;
    size_t n = 16;

    memset(f, 0, sizeof f);
    packet_put_eth_header(f, 0x0a000000fe01ULL, sha, 0x0806);
    packet_put_be16(f + 14, 1);
    packet_put_be16(f + 16, 0x0800);
    f[18] = 6, f[19] = 4;
    packet_put_be16(f + 20, 2);
    packet_put_mac(f + 22, sha);
    packet_put_be32(f + 28, 0xcb007101);          /* 203.0.113.1 */
    packet_put_mac(f + 32, 0x0a000000fe01ULL);
    packet_put_be32(f + 38, 0xcb00710a);

    memset(m, 0, 16);
    m[0] = OFP15_VERSION;
    m[1] = OFPT_EXPERIMENTER;
    packet_put_be32(m + 8, NX_EXPERIMENTER_ID);
    packet_put_be32(m + 12, NXT_PACKET_IN2);
    n += of_prop(m + n, 0, f, sizeof f);            /* packet */
    packet_put_be32(v, 0x80000004);                 /* metadata: in_port */
    packet_put_be32(v + 4, 1);
    n += of_prop(m + n, 6, v, 8);
    v[0] = 0, v[1] = 21;
    n += of_prop(m + n, 7, v, 2);                   /* userdata */
    packet_put_be16(m + 2, n);

    struct pkt_path *pp = agent_dp_null_pkt_path(agent_datapath(fk->agent));
    assert_non_null(pp);
    assert_int_equal(ofp_msg_parse(m, n, &msg), 0);
    ofp_buf_init(&out);
    assert_int_equal(pkt_path_handle_msg(pp, &msg, &out), 0);
    assert_int_equal(out.size, 0);          /* learning sends nothing */
    ofp_buf_destroy(&out);
}

static void
assert_gateway_neighbor(Anet__Neighbor **nb, size_t n, const char *mac)
{
    assert_int_equal(n, 1);
    assert_string_equal(nb[0]->network, "provider");
    assert_string_equal(nb[0]->ip, "203.0.113.1");
    assert_string_equal(nb[0]->mac, mac);
}

/* The gateway's ARP reply reaches the agent: a heartbeat reports the
 * neighbour at once, every later heartbeat and apply result carries it,
 * and it survives a reconnect to the controller. */
static void
test_neighbors_reported(void **state)
{
    struct fake *fk = *state;
    Anet__Envelope *env;
    bool eof;

    fake_accept(fk);
    expect_hello(fk, 0);
    send_desired_arp(fk, 5, "203.0.113.1");
    env = fake_recv(fk, ANET__ENVELOPE__MSG_RESULT);
    assert_true(env->result->ok);
    assert_int_equal(env->result->n_neighbors, 0);
    anet__envelope__free_unpacked(env, NULL);

    /* Heartbeats are every 2 s here: the one that follows within 1 s is
     * the immediate report. */
    inject_arp_reply(fk, 0x0242ac110001ULL);
    env = fake_recv_ex(fk, true, &eof, 1000);
    assert_non_null(env);
    assert_int_equal(env->msg_case, ANET__ENVELOPE__MSG_HEARTBEAT);
    assert_gateway_neighbor(env->heartbeat->neighbors,
                            env->heartbeat->n_neighbors, "02:42:ac:11:00:01");
    anet__envelope__free_unpacked(env, NULL);

    /* An apply result carries it too. */
    send_desired_arp(fk, 6, "203.0.113.1");
    env = fake_recv(fk, ANET__ENVELOPE__MSG_RESULT);
    assert_true(env->result->ok);
    assert_int_equal(env->result->generation, 6);
    assert_gateway_neighbor(env->result->neighbors, env->result->n_neighbors,
                            "02:42:ac:11:00:01");
    anet__envelope__free_unpacked(env, NULL);

    /* The controller goes away and comes back: still known, and the
     * regular heartbeat carries it. */
    fake_close(fk);
    fake_accept(fk);
    expect_hello(fk, 6);
    env = fake_recv(fk, ANET__ENVELOPE__MSG_HEARTBEAT);
    assert_gateway_neighbor(env->heartbeat->neighbors,
                            env->heartbeat->n_neighbors, "02:42:ac:11:00:01");
    anet__envelope__free_unpacked(env, NULL);

    /* The gateway moves: reported at once with the new MAC. */
    inject_arp_reply(fk, 0x0242ac1100ffULL);
    env = fake_recv_ex(fk, true, &eof, 1000);
    assert_non_null(env);
    assert_int_equal(env->msg_case, ANET__ENVELOPE__MSG_HEARTBEAT);
    assert_gateway_neighbor(env->heartbeat->neighbors,
                            env->heartbeat->n_neighbors, "02:42:ac:11:00:ff");
    anet__envelope__free_unpacked(env, NULL);
}

/* An ARP action without a valid target address is refused whole. */
static void
test_arp_action_validated(void **state)
{
    struct fake *fk = *state;

    fake_accept(fk);
    expect_hello(fk, 0);
    send_desired_arp(fk, 5, "not-an-ip");
    Anet__Envelope *env = fake_recv(fk, ANET__ENVELOPE__MSG_RESULT);
    assert_false(env->result->ok);
    assert_non_null(strstr(env->result->error, "packet action 21"));
    anet__envelope__free_unpacked(env, NULL);
    assert_null(agent_dp_null_state(agent_datapath(fk->agent)));
}

static void
test_create_rejects_bad_options(void **state)
{
    struct event_base *base = event_base_new();
    struct agent_options o = { .host = "h", .controller = "not-an-address",
                               .datapath = "null" };
    errno = 0;
    assert_null(agent_create(base, &o));
    assert_int_equal(errno, EINVAL);
    o.controller = "127.0.0.1:1";
    o.datapath = "warp-drive";
    assert_null(agent_create(base, &o));
    assert_int_equal(errno, EINVAL);
    o.datapath = "null";
    o.host = "";
    assert_null(agent_create(base, &o));
    event_base_free(base);
}

/* The ovs back-end's per-cookie summing of dumped flow counters: flows of
 * one cookie are added up, cookie 0 (not ours) is left out, the result is
 * sorted by cookie; nothing to sum gives NULL. */
static void
test_flow_stats_sum(void **state)
{
    (void) state;
    struct flow fl[6] = {
        { .cookie = 5 }, { .cookie = 0 }, { .cookie = 3 },
        { .cookie = 5 }, { .cookie = 3 }, { .cookie = 9 },
    };
    struct ofconn_flow_stats st[6] = {
        { 1, 100, 0 }, { 50, 5000, 0 }, { 2, 200, 0 },
        { 4, 400, 0 }, { 8, 800, 0 }, { 0, 0, 0 },
    };
    struct flow_set fs = { .n = 6, .cap = 6, .flows = fl };
    struct agent_flow_stats *out = NULL;

    size_t n = agent_flow_stats_sum(&fs, st, &out);
    assert_int_equal(n, 3);
    assert_non_null(out);
    assert_int_equal(out[0].cookie, 3);
    assert_int_equal(out[0].packets, 10);
    assert_int_equal(out[0].bytes, 1000);
    assert_int_equal(out[1].cookie, 5);
    assert_int_equal(out[1].packets, 5);
    assert_int_equal(out[1].bytes, 500);
    assert_int_equal(out[2].cookie, 9);
    assert_int_equal(out[2].packets, 0);
    free(out);

    /* Only cookie-0 flows, or no flows at all: nothing. */
    struct flow_set only0 = { .n = 1, .cap = 1, .flows = &fl[1] };
    assert_int_equal(agent_flow_stats_sum(&only0, &st[1], &out), 0);
    assert_null(out);
    struct flow_set empty = { .n = 0 };
    assert_int_equal(agent_flow_stats_sum(&empty, NULL, &out), 0);
    assert_null(out);

    /* The null back-end answers no counters. */
    size_t k = 1;
    assert_null(agent_dp_null_class.flow_stats(NULL, &k));
    assert_int_equal(k, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_stats_sum),
        cmocka_unit_test_setup_teardown(test_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_flow_keeps_state, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_delta_applies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delta_refused_needs_full, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_after_close, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_garbage_reconnects, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_and_silence,
                                        setup_fast, teardown),
        cmocka_unit_test_setup_teardown(test_neighbors_reported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_arp_action_validated, setup,
                                        teardown),
        cmocka_unit_test(test_create_rejects_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
