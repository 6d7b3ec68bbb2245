/* bench-fanout.c — benchmark row 5: controller fan-out to many agents.
 *
 * What: starts the real anet-controller binary (own state dir, free ports on
 * 127.0.0.1), runs N agents (default 200) with the null datapath on one
 * event_base in this process, applies a synthetic topology with N hosts
 * over the HTTP API (anet-bench-gen N*100 20 100: 100 ports per host, 20 per
 * switch), and measures the time from sending the HTTP apply until every
 * agent has applied the new generation.  Then it applies a changed topology
 * that touches every host (one more port on every switch, placed on the
 * switch's first host: every host gets new local or remote L2 flows) and
 * measures again.  The controller's VmRSS / VmHWM are reported at the end.
 *
 * Design: the HTTP client is libevent's evhttp on the same event_base as the
 * agents, so the agents keep running while the request is in flight; a 1 ms
 * timer checks the agents' applied generations (no busy loop).
 *
 * Output: human-readable lines plus "RESULT key=value" lines for
 * scripts/bench.  Exits non-zero only when something breaks (the controller
 * does not start, an apply is refused, agents do not converge in 60 s).
 *
 * Usage: bench-fanout [CONTROLLER_BINARY [N_HOSTS]]
 *   (default: anet-controller next to this program's directory's parent)
 */
#include "agent/agent.h"
#include "tests/bench/gen-topo.h"
#include "lib/log.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#define BF_TIMEOUT_MS 60000

static char bf_dir[64];
static pid_t bf_ctl_pid;

static double
bf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
bf_cleanup(void)
{
    if (bf_ctl_pid > 0) {
        kill(bf_ctl_pid, SIGTERM);
        for (int i = 0; i < 30; i++) {
            if (waitpid(bf_ctl_pid, NULL, WNOHANG) == bf_ctl_pid) {
                bf_ctl_pid = 0;
                break;
            }
            usleep(100 * 1000);
        }
        if (bf_ctl_pid > 0) {
            kill(bf_ctl_pid, SIGKILL);
            waitpid(bf_ctl_pid, NULL, 0);
            bf_ctl_pid = 0;
        }
    }
    if (bf_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", bf_dir);
        if (system(cmd)) {
            /* Nothing more to do: the dir is under /tmp. */
        }
        bf_dir[0] = '\0';
    }
}

static void
bf_on_signal(int sig)
{
    if (bf_ctl_pid > 0) {
        kill(bf_ctl_pid, SIGKILL);
    }
    _exit(128 + sig);
}

static void bf_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void
bf_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench-fanout: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    if (bf_dir[0]) {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "tail -n 10 %s/controller.log >&2", bf_dir);
        if (system(cmd)) {
            /* Best effort. */
        }
    }
    exit(1);
}

/* A TCP port that was free a moment ago. */
static uint16_t
bf_free_port(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *) &sin, sizeof sin)
        || getsockname(fd, (struct sockaddr *) &sin, &len)) {
        bf_die("cannot find a free port: %s", strerror(errno));
    }
    close(fd);
    return ntohs(sin.sin_port);
}

static bool
bf_port_open(uint16_t port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_port = htons(port) };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = fd >= 0 && !connect(fd, (struct sockaddr *) &sin, sizeof sin);
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

static void
bf_start_controller(const char *bin, uint16_t agent_port, uint16_t http_port)
{
    char listen[32], http[32], state[96], log[96];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", agent_port);
    snprintf(http, sizeof http, "127.0.0.1:%u", http_port);
    snprintf(state, sizeof state, "%s/state", bf_dir);
    snprintf(log, sizeof log, "%s/controller.log", bf_dir);

    pid_t pid = fork();
    if (pid < 0) {
        bf_die("fork: %s", strerror(errno));
    }
    if (!pid) {
        /* The controller must not outlive a killed benchmark. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(bin, bin, "--listen", listen, "--http", http, "--state-dir",
              state, "--log-level", "warn", (char *) NULL);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    bf_ctl_pid = pid;
    char pidfile[96];
    snprintf(pidfile, sizeof pidfile, "%s/controller.pid", bf_dir);
    FILE *pf = fopen(pidfile, "w");
    if (pf) {
        fprintf(pf, "%d\n", (int) pid);
        fclose(pf);
    }
    for (int i = 0; i < 200; i++) {
        if (bf_port_open(http_port)) {
            return;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            bf_ctl_pid = 0;
            bf_die("anet-controller exited at start");
        }
        usleep(50 * 1000);
    }
    bf_die("anet-controller does not listen on %s", http);
}

static void
bf_mem_kb(pid_t pid, long *rss, long *hwm)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    *rss = *hwm = -1;
    FILE *f = fopen(path, "r");
    if (!f) {
        return;
    }
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "VmRSS: %ld", rss);
        sscanf(line, "VmHWM: %ld", hwm);
    }
    fclose(f);
}

/* --- the run --------------------------------------------------------- */

struct bf_run {
    struct event_base *base;
    struct agent **agents;
    size_t n_agents;
    uint16_t http_port;

    /* Current wait. */
    uint64_t above;            /* wait until every agent's generation > */
    bool want_connected;       /* or: until every agent is connected */
    bool reply_done;
    int reply_code;
    char *reply_body;
    double t_start, t_reply, t_all;
};

static bool
bf_all_done(const struct bf_run *r)
{
    for (size_t i = 0; i < r->n_agents; i++) {
        if (r->want_connected ? !agent_is_connected(r->agents[i])
            : agent_applied_generation(r->agents[i]) <= r->above) {
            return false;
        }
    }
    return true;
}

static void
bf_tick(evutil_socket_t fd, short what, void *r_)
{
    struct bf_run *r = r_;
    (void) fd;
    (void) what;
    if (!r->t_all && bf_all_done(r)) {
        r->t_all = bf_now_ms();
    }
    if ((r->t_all && (r->reply_done || r->want_connected))
        || bf_now_ms() - r->t_start > BF_TIMEOUT_MS) {
        event_base_loopbreak(r->base);
    }
}

static void
bf_on_reply(struct evhttp_request *req, void *r_)
{
    struct bf_run *r = r_;
    r->t_reply = bf_now_ms();
    r->reply_done = true;
    r->reply_code = req ? evhttp_request_get_response_code(req) : 0;
    if (req) {
        struct evbuffer *b = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(b);
        r->reply_body = xmalloc(len + 1);
        evbuffer_copyout(b, r->reply_body, len);
        r->reply_body[len] = '\0';
    }
}

/* Runs the loop until the current wait is over; returns false on timeout. */
static bool
bf_wait(struct bf_run *r)
{
    struct timeval tv = { 0, 1000 };
    struct event *tick = event_new(r->base, -1, EV_PERSIST, bf_tick, r);
    event_add(tick, &tv);
    r->t_all = 0;
    event_base_dispatch(r->base);
    event_free(tick);
    return r->t_all != 0 && (r->reply_done || r->want_connected);
}

/* POSTs 'yaml' to /api/v1/apply and waits until every agent has applied a
 * generation above 'above'.  Returns the generation the controller
 * answered. */
static uint64_t
bf_apply(struct bf_run *r, const char *yaml, size_t len, uint64_t above,
         double *all_ms, double *reply_ms)
{
    struct evhttp_connection *conn = evhttp_connection_base_new(
        r->base, NULL, "127.0.0.1", r->http_port);
    struct evhttp_request *req = evhttp_request_new(bf_on_reply, r);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_connection_set_timeout(conn, BF_TIMEOUT_MS / 1000);
    evhttp_add_header(h, "Host", "127.0.0.1");
    evhttp_add_header(h, "Content-Type", "application/yaml");
    evhttp_add_header(h, "X-Anet-Filename", "bench.yaml");
    evbuffer_add(evhttp_request_get_output_buffer(req), yaml, len);

    r->above = above;
    r->want_connected = false;
    r->reply_done = false;
    free(r->reply_body);
    r->reply_body = NULL;
    r->t_start = bf_now_ms();
    if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, "/api/v1/apply")) {
        bf_die("cannot send the HTTP request");
    }
    bool ok = bf_wait(r);
    evhttp_connection_free(conn);
    if (!r->reply_done || r->reply_code != 200) {
        bf_die("apply failed: HTTP %d %s", r->reply_code,
               r->reply_body ? r->reply_body : "(no answer)");
    }
    if (!ok) {
        size_t behind = 0;
        for (size_t i = 0; i < r->n_agents; i++) {
            behind += agent_applied_generation(r->agents[i]) <= above;
        }
        bf_die("%zu of %zu agents did not apply a generation above %llu in "
               "%d s", behind, r->n_agents, (unsigned long long) above,
               BF_TIMEOUT_MS / 1000);
    }
    const char *g = strstr(r->reply_body, "\"generation\":");
    uint64_t gen = g ? strtoull(g + 13, NULL, 10) : 0;
    for (size_t i = 0; i < r->n_agents; i++) {
        if (agent_applied_generation(r->agents[i]) != gen) {
            bf_die("agent %zu applied generation %llu, controller says %llu",
                   i, (unsigned long long)
                   agent_applied_generation(r->agents[i]),
                   (unsigned long long) gen);
        }
    }
    *all_ms = r->t_all - r->t_start;
    *reply_ms = r->t_reply - r->t_start;
    return gen;
}

/* The changed topology: one more port on every switch. */
static char *
bf_changed_yaml(const struct bench_gen *g, size_t *lenp)
{
    size_t len;
    char *yaml = bench_gen_yaml(g, &len);
    size_t n_sw = (g->n_ports + g->ports_per_switch - 1) / g->ports_per_switch;
    size_t cap = len + n_sw * 96 + 1;
    char *out = xmalloc(cap);
    memcpy(out, yaml, len);
    free(yaml);
    for (size_t s = 0; s < n_sw; s++) {
        char sw[32], host[32];
        bench_gen_switch_name(s, sw, sizeof sw);
        bench_gen_host_name(s * g->ports_per_switch / g->ports_per_host, host,
                            sizeof host);
        len += snprintf(out + len, cap - len,
                        "  - {name: q%06zu, host: %s, switch: %s, "
                        "ip: 10.%zu.%zu.250}\n", s, host, sw,
                        (s >> 8) & 0xff, s & 0xff);
    }
    *lenp = len;
    return out;
}

int
main(int argc, char *argv[])
{
    char bin[512];
    size_t n_hosts = argc > 2 ? strtoul(argv[2], NULL, 10) : 200;
    struct bf_run r = { 0 };
    long rss, hwm;

    if (argc > 1) {
        snprintf(bin, sizeof bin, "%s", argv[1]);
    } else {
        char *self = xstrdup(argv[0]);
        snprintf(bin, sizeof bin, "%s/../anet-controller", dirname(self));
        free(self);
    }
    if (!n_hosts || access(bin, X_OK)) {
        fprintf(stderr, "usage: %s [CONTROLLER_BINARY [N_HOSTS]] "
                "(no executable %s)\n", argv[0], bin);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    log_set_level(LOG_LEVEL_WARN);      /* 200 agents log every apply */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, bf_on_signal);
    signal(SIGTERM, bf_on_signal);
    atexit(bf_cleanup);

    snprintf(bf_dir, sizeof bf_dir, "/tmp/anet-bf-%d", (int) getpid());
    mkdir(bf_dir, 0700);
    uint16_t agent_port = bf_free_port();
    uint16_t http_port = bf_free_port();
    while (http_port == agent_port) {
        http_port = bf_free_port();
    }
    bf_start_controller(bin, agent_port, http_port);

    r.base = event_base_new();
    r.http_port = http_port;
    r.n_agents = n_hosts;
    r.agents = xcalloc(n_hosts, sizeof *r.agents);
    char controller[32];
    snprintf(controller, sizeof controller, "127.0.0.1:%u", agent_port);
    for (size_t i = 0; i < n_hosts; i++) {
        char host[32];
        bench_gen_host_name(i, host, sizeof host);
        struct agent_options o = {
            .host = host,
            .controller = controller,
            .datapath = "null",
            .backoff_min_ms = 50,
            .backoff_max_ms = 500,
        };
        r.agents[i] = agent_create(r.base, &o);
        if (!r.agents[i]) {
            bf_die("agent_create %s: %s", host, strerror(errno));
        }
    }
    r.want_connected = true;
    r.t_start = bf_now_ms();
    if (!bf_wait(&r)) {
        bf_die("not every agent connected in %d s", BF_TIMEOUT_MS / 1000);
    }
    double connect_ms = r.t_all - r.t_start;

    struct bench_gen g = {
        .n_ports = n_hosts * 100, .ports_per_switch = 20,
        .ports_per_host = 100,
    };
    size_t len1, len2;
    char *yaml1 = bench_gen_yaml(&g, &len1);
    char *yaml2 = bf_changed_yaml(&g, &len2);
    double all1, reply1, all2, reply2;
    uint64_t gen1 = bf_apply(&r, yaml1, len1, 0, &all1, &reply1);
    uint64_t gen2 = bf_apply(&r, yaml2, len2, gen1, &all2, &reply2);
    bf_mem_kb(bf_ctl_pid, &rss, &hwm);

    printf("row 5: controller fan-out, %zu agents (null datapath), "
           "%zu ports, %zu switches\n", n_hosts, g.n_ports,
           g.n_ports / g.ports_per_switch);
    printf("  all agents connected in %.1f ms\n", connect_ms);
    printf("  first apply (generation %llu): HTTP reply after %.1f ms, all "
           "%zu agents applied after %.1f ms\n", (unsigned long long) gen1,
           reply1, n_hosts, all1);
    printf("  change touching every host (+1 port per switch, generation "
           "%llu): HTTP reply after %.1f ms, all %zu agents applied after "
           "%.1f ms\n", (unsigned long long) gen2, reply2, n_hosts, all2);
    printf("  controller: VmRSS %ld KiB, VmHWM %ld KiB\n", rss, hwm);
    printf("RESULT fanout_agents=%zu\n", n_hosts);
    printf("RESULT fanout_first_all_ms=%.3f\n", all1);
    printf("RESULT fanout_first_reply_ms=%.3f\n", reply1);
    printf("RESULT fanout_change_all_ms=%.3f\n", all2);
    printf("RESULT fanout_change_reply_ms=%.3f\n", reply2);
    printf("RESULT fanout_controller_rss_kb=%ld\n", rss);
    printf("RESULT fanout_controller_hwm_kb=%ld\n", hwm);

    for (size_t i = 0; i < n_hosts; i++) {
        agent_destroy(r.agents[i]);
    }
    free(r.agents);
    free(r.reply_body);
    free(yaml1);
    free(yaml2);
    event_base_free(r.base);
    bf_cleanup();
    return 0;
}
