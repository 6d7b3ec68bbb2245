/* test-nfv-io.c — anet-nfv for real: a vAF instance between two veth pairs
 * in private network namespaces, configured over its control socket.
 *
 *   ns C: c0 10.77.0.1/24 ==veth== ns M: c1 [anet-nfv] s1 ==veth== ns S: s0
 *                                                       10.77.0.2/24
 *
 * Both ends share one subnet, so ARP must cross the instance too.  Checks:
 * nothing passes before a config; with allow-tcp-80 / default deny a TCP
 * connection to S:80 completes and one to S:81 does not; a hitless reload
 * that also allows 81 lets it through; an invalid config is refused with a
 * message and the policy stays; the stats count what happened; the idle
 * instance uses ~0 CPU; SIGTERM exits cleanly.  Skipped when anet-nfv was
 * not built.  Needs root (namespaces).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/nfv.pb-c.h"
#include "tests/unit/support/test-util.h"

static char ns_c[32], ns_m[32], ns_s[32], ctl_path[64];
static pid_t nfv_pid, server_pid;
static int ctl_fd = -1;

static void
msleep(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void
enter_ns(const char *ns)
{
    char path[96];
    snprintf(path, sizeof path, "/var/run/netns/%s", ns);
    int fd = open(path, O_RDONLY);
    if (fd < 0 || setns(fd, CLONE_NEWNET)) {
        _exit(99);
    }
    close(fd);
}

/* In ns S: accept on ports 80 and 81, answer "ok" and close. */
static pid_t
start_server(void)
{
    pid_t pid = fork();
    if (pid) {
        return pid;
    }
    enter_ns(ns_s);
    struct pollfd pfd[2];
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in sin = { .sin_family = AF_INET,
                                   .sin_port = htons(80 + i) };
        int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *) &sin, sizeof sin) || listen(fd, 8)) {
            _exit(98);
        }
        pfd[i] = (struct pollfd) { .fd = fd, .events = POLLIN };
    }
    for (;;) {
        if (poll(pfd, 2, -1) <= 0) {
            continue;
        }
        for (int i = 0; i < 2; i++) {
            if (pfd[i].revents & POLLIN) {
                int c = accept(pfd[i].fd, NULL, NULL);
                if (c >= 0) {
                    (void) !write(c, "ok", 2);
                    close(c);
                }
            }
        }
    }
}

/* From ns C: does a TCP connection to 10.77.0.2:port get "ok" within
 * 'ms'? */
static bool
tcp_ok(int port, int ms)
{
    pid_t pid = fork();
    if (!pid) {
        enter_ns(ns_c);
        struct sockaddr_in sin = { .sin_family = AF_INET,
                                   .sin_port = htons(port) };
        struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
        char buf[4] = "";
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        inet_pton(AF_INET, "10.77.0.2", &sin.sin_addr);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (connect(fd, (struct sockaddr *) &sin, sizeof sin)
            || read(fd, buf, 2) != 2 || memcmp(buf, "ok", 2)) {
            _exit(1);
        }
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- control socket client ---------------------------------------------- */

static Anet__Nfv__NfvReply *
ctl_call(const Anet__Nfv__NfvRequest *req)
{
    size_t len = anet__nfv__nfv_request__get_packed_size(req);
    uint8_t *buf = malloc(4 + len), hdr[4];
    buf[0] = len >> 24; buf[1] = len >> 16; buf[2] = len >> 8; buf[3] = len;
    anet__nfv__nfv_request__pack(req, buf + 4);
    assert_int_equal(write(ctl_fd, buf, 4 + len), (ssize_t) (4 + len));
    free(buf);

    assert_int_equal(recv(ctl_fd, hdr, 4, MSG_WAITALL), 4);
    uint32_t n = (uint32_t) hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
    buf = malloc(n ? n : 1);
    assert_int_equal(recv(ctl_fd, buf, n, MSG_WAITALL), (ssize_t) n);
    Anet__Nfv__NfvReply *r = anet__nfv__nfv_reply__unpack(NULL, n, buf);
    free(buf);
    assert_non_null(r);
    return r;
}

/* Sends a firewall config: allow tcp to ports lo..hi, default deny.
 * 'bad' adds an invalid rule. */
static Anet__Nfv__NfvReply *
ctl_config(uint64_t gen, unsigned lo, unsigned hi, bool bad)
{
    Anet__Nfv__NfvRequest req = ANET__NFV__NFV_REQUEST__INIT;
    Anet__Nfv__NfvConfig cfg = ANET__NFV__NFV_CONFIG__INIT;
    Anet__Nfv__FwConfig fw = ANET__NFV__FW_CONFIG__INIT;
    Anet__Nfv__FwRule r0 = ANET__NFV__FW_RULE__INIT;
    Anet__Nfv__FwRule r1 = ANET__NFV__FW_RULE__INIT;
    Anet__Nfv__FwRule *rules[2] = { &r0, &r1 };
    char *dst[] = { "10.77.0.0/24" }, *bad_src[] = { "10.77.0.999" };

    r0.dst = dst;
    r0.n_dst = 1;
    r0.proto = 6;
    r0.dport_min = lo;
    r0.dport_max = hi;
    r0.action = ANET__NFV__FW_ACTION__ALLOW;
    r0.name = "web";
    r1.src = bad_src;
    r1.n_src = 1;
    fw.rules = rules;
    fw.n_rules = bad ? 2 : 1;
    fw.default_action = ANET__NFV__FW_ACTION__DENY;
    cfg.generation = gen;
    cfg.policy_case = ANET__NFV__NFV_CONFIG__POLICY_FW;
    cfg.fw = &fw;
    req.msg_case = ANET__NFV__NFV_REQUEST__MSG_CONFIG;
    req.config = &cfg;
    return ctl_call(&req);
}

static Anet__Nfv__NfvReply *
ctl_stats(void)
{
    Anet__Nfv__NfvRequest req = ANET__NFV__NFV_REQUEST__INIT;
    Anet__Nfv__StatsRequest sr = ANET__NFV__STATS_REQUEST__INIT;
    req.msg_case = ANET__NFV__NFV_REQUEST__MSG_STATS;
    req.stats = &sr;
    return ctl_call(&req);
}

/* utime + stime of 'pid' in clock ticks. */
static long
cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    long ut = 0, st = 0;
    /* Fields after the command: state ppid pgrp ... utime(14) stime(15). */
    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld",
           &ut, &st);
    return ut + st;
}

static void
cleanup(void)
{
    if (ctl_fd >= 0) {
        close(ctl_fd);
    }
    if (nfv_pid > 0) {
        kill(nfv_pid, SIGKILL);
        waitpid(nfv_pid, NULL, 0);
    }
    if (server_pid > 0) {
        kill(server_pid, SIGKILL);
        waitpid(server_pid, NULL, 0);
    }
    test_run("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; "
             "ip netns del %s 2>/dev/null", ns_c, ns_m, ns_s);
    unlink(ctl_path);
}

static void
test_vaf_between_veths(void **state)
{
    const char *bin_dir = getenv("ANET_BINARY_DIR");
    char bin[512];

    snprintf(bin, sizeof bin, "%s/anet-nfv", bin_dir ? bin_dir : ".");
    if (access(bin, X_OK)) {
        skip();
    }
    int id = getpid();
    snprintf(ns_c, sizeof ns_c, "anfv-c-%d", id);
    snprintf(ns_m, sizeof ns_m, "anfv-m-%d", id);
    snprintf(ns_s, sizeof ns_s, "anfv-s-%d", id);
    snprintf(ctl_path, sizeof ctl_path, "/tmp/anet-nfvio-%d.sock", id);
    atexit(cleanup);
    assert_int_equal(test_run(
        "set -e; for n in %1$s %2$s %3$s; do ip netns add $n; "
        "ip -n $n link set lo up; done; "
        "ip link add c0 netns %1$s type veth peer c1 netns %2$s; "
        "ip link add s0 netns %3$s type veth peer s1 netns %2$s; "
        "for p in %1$s:c0 %2$s:c1 %2$s:s1 %3$s:s0; do "
        "ip netns exec ${p%%:*} ethtool -K ${p#*:} tx off >/dev/null; "
        "ip -n ${p%%:*} link set ${p#*:} up; done; "
        "ip -n %1$s addr add 10.77.0.1/24 dev c0; "
        "ip -n %3$s addr add 10.77.0.2/24 dev s0", ns_c, ns_m, ns_s), 0);
    server_pid = start_server();

    nfv_pid = fork();
    if (!nfv_pid) {
        enter_ns(ns_m);
        char prefix[48];
        snprintf(prefix, sizeof prefix, "anet-nfvio-%d", id);
        execl(bin, bin, "--name", "fw1", "--kind", "vaf", "--port", "c1",
              "--port", "s1", "--ctl", ctl_path, "--file-prefix", prefix,
              "--no-huge", (char *) NULL);
        _exit(97);
    }
    /* Connect once the instance listens. */
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    strcpy(sun.sun_path, ctl_path);
    for (int i = 0; i < 100; i++) {
        ctl_fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (!connect(ctl_fd, (struct sockaddr *) &sun, sizeof sun)) {
            break;
        }
        close(ctl_fd);
        ctl_fd = -1;
        msleep(100);
    }
    assert_true(ctl_fd >= 0);

    /* No config yet: nothing crosses (not even ARP). */
    Anet__Nfv__NfvReply *r = ctl_stats();
    assert_int_equal(r->applied_generation, 0);
    assert_string_equal(r->kind, "vaf");
    anet__nfv__nfv_reply__free_unpacked(r, NULL);
    assert_false(tcp_ok(80, 1000));

    /* allow tcp/80, deny the rest. */
    r = ctl_config(1, 80, 0, false);
    assert_string_equal(r->error, "");
    assert_int_equal(r->applied_generation, 1);
    anet__nfv__nfv_reply__free_unpacked(r, NULL);
    assert_true(tcp_ok(80, 3000));          /* ARP and TCP/80 pass */
    assert_false(tcp_ok(81, 1000));

    /* An invalid config is refused, naming the field; policy unchanged. */
    r = ctl_config(2, 80, 81, true);
    assert_non_null(strstr(r->error, "fw.rules[1].src[0]"));
    assert_int_equal(r->applied_generation, 1);
    anet__nfv__nfv_reply__free_unpacked(r, NULL);
    assert_false(tcp_ok(81, 1000));

    /* Hitless reload: 80-81 allowed. */
    r = ctl_config(3, 80, 81, false);
    assert_string_equal(r->error, "");
    assert_int_equal(r->applied_generation, 3);
    anet__nfv__nfv_reply__free_unpacked(r, NULL);
    assert_true(tcp_ok(81, 3000));
    assert_true(tcp_ok(80, 3000));

    /* Counters: both ports saw traffic, denied SYNs were dropped. */
    r = ctl_stats();
    assert_non_null(r->stats);
    assert_int_equal(r->stats->n_ports, 2);
    assert_string_equal(r->stats->ports[0]->iface, "c1");
    assert_true(r->stats->ports[0]->rx_packets >= 6);   /* 3 handshakes */
    assert_true(r->stats->ports[1]->rx_packets >= 3);
    assert_true(r->stats->ports[1]->tx_packets >= 6);
    assert_true(r->stats->ports[0]->drops >= 2);        /* 81 SYNs */
    anet__nfv__nfv_reply__free_unpacked(r, NULL);

    /* Idle: ~0 CPU over two seconds (< 3% of a core). */
    long hz = sysconf(_SC_CLK_TCK);
    long t0 = cpu_ticks(nfv_pid);
    msleep(2000);
    long used = cpu_ticks(nfv_pid) - t0;
    printf("idle anet-nfv: %ld ticks of %ld in 2 s (%.1f%% CPU)\n", used,
           2 * hz, 100.0 * used / (2 * hz));
    assert_true(used * 100 < 2 * hz * 3);

    /* SIGTERM: a clean exit, control socket removed. */
    int status = 0;
    pid_t w = 0;
    kill(nfv_pid, SIGTERM);
    for (int i = 0; i < 50 && !(w = waitpid(nfv_pid, &status, WNOHANG));
         i++) {
        msleep(100);
    }
    assert_int_equal(w, nfv_pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    nfv_pid = 0;
    assert_int_equal(access(ctl_path, F_OK), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vaf_between_veths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
