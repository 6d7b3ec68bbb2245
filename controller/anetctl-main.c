/* anetctl-main.c — the anet command-line client of the controller's HTTP API.
 *
 * Subcommands come from one table.  The HTTP client is deliberately tiny:
 * one blocking HTTP/1.1 request per connection ("Connection: close"), the
 * answer read to EOF, chunked bodies decoded.  Exit codes: 0 ok, 1 the
 * controller refused or failed, 2 usage error, 3 the controller is not
 * reachable.
 */
#include "lib/util.h"

#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define ANETCTL_DEFAULT_URL "http://127.0.0.1:7471"
#define ANETCTL_TIMEOUT_S 60

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

struct anetctl {
    const char *url;
    char host[300];
    char port[16];
    char prefix[512];          /* path prefix of the URL, without a final / */
};

struct anetctl_response {
    int status;
    char *body;                /* NUL-terminated */
    size_t len;
};

static int
anetctl_parse_url(struct anetctl *c, const char *url)
{
    const char *p = url;
    if (!strncmp(p, "http://", 7)) {
        p += 7;
    }
    const char *slash = strchr(p, '/');
    size_t hostport_len = slash ? (size_t) (slash - p) : strlen(p);
    char hostport[300];
    if (!hostport_len || hostport_len >= sizeof hostport) {
        return -EINVAL;
    }
    memcpy(hostport, p, hostport_len);
    hostport[hostport_len] = '\0';
    char *colon = strrchr(hostport, ':');
    if (colon) {
        *colon = '\0';
        snprintf(c->port, sizeof c->port, "%s", colon + 1);
    } else {
        snprintf(c->port, sizeof c->port, "80");
    }
    snprintf(c->host, sizeof c->host, "%s", hostport);
    snprintf(c->prefix, sizeof c->prefix, "%s", slash ? slash : "");
    size_t n = strlen(c->prefix);
    while (n && c->prefix[n - 1] == '/') {
        c->prefix[--n] = '\0';
    }
    return c->host[0] && c->port[0] ? 0 : -EINVAL;
}

static int
anetctl_connect(const struct anetctl *c)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM };
    struct addrinfo *ai, *a;
    int error = -ECONNREFUSED;

    int gai = getaddrinfo(c->host, c->port, &hints, &ai);
    if (gai) {
        return gai == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
    }
    for (a = ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
                        a->ai_protocol);
        if (fd < 0) {
            error = -errno;
            continue;
        }
        struct timeval tv = { .tv_sec = ANETCTL_TIMEOUT_S };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (!connect(fd, a->ai_addr, a->ai_addrlen)) {
            freeaddrinfo(ai);
            return fd;
        }
        error = -errno;
        close(fd);
    }
    freeaddrinfo(ai);
    return error;
}

static int
anetctl_write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += n;
        len -= n;
    }
    return 0;
}

/* Decodes a chunked body in place; returns the decoded length. */
static size_t
anetctl_dechunk(char *body, size_t len)
{
    char *in = body, *end = body + len, *out = body;
    while (in < end) {
        char *nl = memchr(in, '\n', end - in);
        if (!nl) {
            break;
        }
        size_t n = strtoul(in, NULL, 16);
        in = nl + 1;
        if (!n || (size_t) (end - in) < n) {
            break;
        }
        memmove(out, in, n);
        out += n;
        in += n;
        if (in < end && *in == '\r') {
            in++;
        }
        if (in < end && *in == '\n') {
            in++;
        }
    }
    *out = '\0';
    return out - body;
}

/* Performs one request.  Returns 0 with '*resp' filled, or -errno when the
 * controller could not be reached (or broke the connection). */
static int
anetctl_request(const struct anetctl *c, const char *method,
                const char *path, const char *extra_header,
                const char *body, size_t body_len,
                struct anetctl_response *resp)
{
    int fd = anetctl_connect(c);
    if (fd < 0) {
        return fd;
    }
    char *head = xasprintf("%s %s%s HTTP/1.1\r\nHost: %s:%s\r\n"
                           "Connection: close\r\nAccept: application/json\r\n"
                           "%s%sContent-Length: %zu\r\n\r\n",
                           method, c->prefix, path, c->host, c->port,
                           extra_header ? extra_header : "",
                           extra_header ? "\r\n" : "", body_len);
    int error = anetctl_write_all(fd, head, strlen(head));
    free(head);
    if (!error && body_len) {
        error = anetctl_write_all(fd, body, body_len);
    }

    char *buf = NULL;
    size_t len = 0, cap = 0;
    while (!error) {
        buf = xgrow(buf, &cap, len + 65537, 1);
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            error = -errno;
        } else if (n == 0) {
            break;
        } else {
            len += n;
        }
    }
    close(fd);
    if (error) {
        free(buf);
        return error;
    }
    if (!buf) {
        return -ECONNRESET;
    }
    buf[len] = '\0';

    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/%*s %d", &resp->status) != 1) {
        free(buf);
        return -EPROTO;
    }
    *sep = '\0';
    bool chunked = strcasestr(buf, "transfer-encoding: chunked") != NULL;
    char *payload = sep + 4;
    resp->len = len - (payload - buf);
    memmove(buf, payload, resp->len + 1);
    if (chunked) {
        resp->len = anetctl_dechunk(buf, resp->len);
    }
    resp->body = buf;
    return 0;
}

static void
anetctl_unreachable(const struct anetctl *c, int error)
{
    fprintf(stderr, "anetctl: cannot reach the controller at %s: %s "
            "(is anet-controller running?)\n", c->url, strerror(-error));
}

/* Requests and parses a JSON answer.  Returns the JSON (NULL after
 * printing why) and sets '*status'; '*exit_code' says how to fail. */
static json_t *
anetctl_call(const struct anetctl *c, const char *method, const char *path,
             const char *extra_header, const char *body, size_t len,
             int *status, int *exit_code)
{
    struct anetctl_response resp = { 0 };
    int error = anetctl_request(c, method, path, extra_header, body, len,
                                &resp);
    if (error) {
        anetctl_unreachable(c, error);
        *exit_code = EXIT_UNREACHABLE;
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb(resp.body, resp.len, 0, &jerr);
    *status = resp.status;
    if (!j) {
        fprintf(stderr, "anetctl: the controller answered %d with a body "
                "that is not JSON: %.200s\n", resp.status, resp.body);
        *exit_code = EXIT_REFUSED;
    }
    free(resp.body);
    return j;
}

static bool
anetctl_print_failure(json_t *j, int status)
{
    json_t *errs = json_object_get(j, "errors");
    size_t i;
    json_t *e;

    if (json_is_array(errs)) {
        json_array_foreach(errs, i, e) {
            fprintf(stderr, "%s:%d:%d: %s: %s\n",
                    json_string_value(json_object_get(e, "file")),
                    (int) json_integer_value(json_object_get(e, "line")),
                    (int) json_integer_value(json_object_get(e, "col")),
                    json_string_value(json_object_get(e, "path")),
                    json_string_value(json_object_get(e, "message")));
        }
        return true;
    }
    const char *msg = json_string_value(json_object_get(j, "error"));
    fprintf(stderr, "anetctl: the controller answered %d: %s\n", status,
            msg ? msg : "(no message)");
    return true;
}

/* GETs 'path' and returns its JSON when the controller answered 200.
 * Otherwise prints why and returns NULL with the exit code in '*rc'. */
static json_t *
anetctl_get_ok(const struct anetctl *c, const char *path, int *rc)
{
    int status = 0;
    json_t *j = anetctl_call(c, "GET", path, NULL, NULL, 0, &status, rc);
    if (j && status != 200) {
        anetctl_print_failure(j, status);
        json_decref(j);
        *rc = EXIT_REFUSED;
        return NULL;
    }
    return j;
}

static char *
anetctl_read_file(const char *path, size_t *lenp)
{
    FILE *f = !strcmp(path, "-") ? stdin : fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f) {
        return NULL;
    }
    do {
        buf = xgrow(buf, &cap, len + 65537, 1);
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n);
    if (f != stdin) {
        fclose(f);
    }
    buf[len] = '\0';
    *lenp = len;
    return buf;
}

/* POSTs FILE to 'path'; returns the JSON answer of a 200 or NULL after
 * printing the failure ('*rc' set). */
static json_t *
anetctl_post_file(const struct anetctl *c, const char *path,
                  const char *file, int *rc)
{
    size_t len;
    char *yaml = anetctl_read_file(file, &len);
    if (!yaml) {
        fprintf(stderr, "anetctl: cannot read %s: %s\n", file,
                strerror(errno));
        *rc = EXIT_REFUSED;
        return NULL;
    }
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    char *hdr = xasprintf("X-Anet-Filename: %s", base);
    int status = 0;
    json_t *j = anetctl_call(c, "POST", path, hdr, yaml, len, &status, rc);
    free(hdr);
    free(yaml);
    if (j && status != 200) {
        anetctl_print_failure(j, status);
        json_decref(j);
        *rc = EXIT_REFUSED;
        return NULL;
    }
    return j;
}

static int
cmd_apply(const struct anetctl *c, int argc, char *argv[])
{
    int rc = 0;
    json_t *j = anetctl_post_file(c, "/api/v1/apply", argv[0], &rc);
    if (!j) {
        return rc;
    }
    json_t *names = json_object_get(j, "changed_hosts");
    size_t i;
    json_t *v;

    printf("applied generation %lld; changed hosts:",
           (long long) json_integer_value(json_object_get(j, "generation")));
    if (!json_array_size(names)) {
        printf(" none");
    }
    json_array_foreach(names, i, v) {
        printf(" %s", json_string_value(v));
    }
    printf("\n");
    json_decref(j);
    return 0;
}

static void
anetctl_print_flow(const char *lead, json_t *f)
{
    const char *match = json_string_value(json_object_get(f, "match"));
    printf("%stable=%d priority=%d%s%s actions=%s", lead,
           (int) json_integer_value(json_object_get(f, "table")),
           (int) json_integer_value(json_object_get(f, "priority")),
           match && *match ? " " : "", match ? match : "",
           json_string_value(json_object_get(f, "actions")));
}

static int
cmd_plan(const struct anetctl *c, int argc, char *argv[])
{
    static const struct { const char *key, *sign; } kinds[] = {
        { "added", "+ " }, { "removed", "- " }, { "modified", "~ " },
    };
    int rc = 0;
    json_t *j = anetctl_post_file(c, "/api/v1/plan", argv[0], &rc);
    if (!j) {
        return rc;
    }
    json_t *hosts = json_object_get(j, "hosts");
    const char *name;
    json_t *h;

    if (!json_object_size(hosts)) {
        printf("no changes\n");
    }
    json_object_foreach(hosts, name, h) {
        printf("host %s:\n", name);
        for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
            size_t i;
            json_t *f;
            json_array_foreach(json_object_get(h, kinds[k].key), i, f) {
                json_t *p = json_object_get(f, "provenance");
                anetctl_print_flow(kinds[k].sign, f);
                if (json_is_object(p)) {
                    printf(" [%s %s:%d]",
                           json_string_value(json_object_get(p, "object")),
                           json_string_value(json_object_get(p, "file")),
                           (int) json_integer_value(json_object_get(p,
                                                                    "line")));
                }
                printf("\n");
            }
        }
        printf("%s: %zu to add, %zu to remove, %zu to modify\n", name,
               json_array_size(json_object_get(h, "added")),
               json_array_size(json_object_get(h, "removed")),
               json_array_size(json_object_get(h, "modified")));
    }
    json_decref(j);
    return 0;
}

static const char *
jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : "-";
}

static long long
jint(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static int
cmd_show(const struct anetctl *c, int argc, char *argv[])
{
    bool raw = false;
    if (argc == 2 && !strcmp(argv[0], "-o") && !strcmp(argv[1], "json")) {
        raw = true;
    } else if (argc) {
        fprintf(stderr, "anetctl: usage: anetctl show [-o json]\n");
        return EXIT_USAGE;
    }
    int rc = 0;
    json_t *j = anetctl_get_ok(c, "/api/v1/show", &rc);
    if (!j) {
        return rc;
    }
    if (raw) {
        char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        free(text);
        json_decref(j);
        return 0;
    }

    json_t *hosts = json_object_get(j, "hosts");
    size_t i;
    json_t *h;
    printf("generation %lld (%s)\n\n", jint(j, "generation"),
           jstr(j, "topology_file"));
    printf("%-12s %-18s %-9s %-17s %-6s %-8s %s\n", "HOST", "TUNNEL IP",
           "CONNECTED", "APPLIED/DESIRED", "FLOWS", "PORTS UP", "LAST ERROR");
    json_array_foreach(hosts, i, h) {
        json_t *ports = json_object_get(h, "ports");
        size_t k, up = 0;
        json_t *p;
        char gens[48], ups[32];
        json_array_foreach(ports, k, p) {
            up += json_is_true(json_object_get(p, "up"));
        }
        snprintf(gens, sizeof gens, "%lld/%lld", jint(h, "applied_generation"),
                 jint(h, "desired_generation"));
        snprintf(ups, sizeof ups, "%zu/%zu", up, json_array_size(ports));
        printf("%-12s %-18s %-9s %-17s %-6lld %-8s %s\n", jstr(h, "name"),
               jstr(h, "tunnel_ip"),
               json_is_true(json_object_get(h, "connected")) ? "yes" : "no",
               gens, jint(h, "n_flows"), ups, jstr(h, "last_error"));
    }
    printf("\n%-12s %-12s %-10s %-18s %-17s %-12s %-6s %-5s %s\n", "PORT",
           "HOST", "SWITCH", "IP", "MAC", "IFACE", "OFPORT", "MTU", "UP");
    json_array_foreach(hosts, i, h) {
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(h, "ports"), k, p) {
            printf("%-12s %-12s %-10s %-18s %-17s %-12s %-6lld %-5lld %s\n",
                   jstr(p, "name"), jstr(h, "name"), jstr(p, "switch"),
                   jstr(p, "ip"), jstr(p, "mac"), jstr(p, "iface"),
                   jint(p, "ofport"), jint(p, "mtu"),
                   json_is_true(json_object_get(p, "up")) ? "yes" : "no");
        }
    }
    json_t *unknown = json_object_get(j, "unknown_agents");
    json_array_foreach(unknown, i, h) {
        printf("\nunknown agent %s from %s (not in the topology)\n",
               jstr(h, "name"), jstr(h, "peer"));
    }
    json_decref(j);
    return 0;
}

static int
cmd_flows(const struct anetctl *c, int argc, char *argv[])
{
    char *path = xasprintf("/api/v1/flows?host=%s", argv[0]);
    int rc = 0;
    json_t *j = anetctl_get_ok(c, path, &rc);
    free(path);
    if (!j) {
        return rc;
    }
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(j, "flows"), i, f) {
        json_t *p = json_object_get(f, "provenance");
        /* As ovs-ofctl shows them; the counters are per cookie (a flow
         * sharing its cookie with others shows their total). */
        printf("n_packets=%lld n_bytes=%lld, ", jint(f, "packets"),
               jint(f, "bytes"));
        anetctl_print_flow("", f);
        printf("\n");
        if (json_is_object(p) && jint(p, "line") == 0) {
            /* Table defaults belong to the pipeline, not to a YAML line. */
            printf("    <- %s (built-in pipeline) %s\n", jstr(p, "object"),
                   jstr(p, "rule"));
        } else if (json_is_object(p)) {
            printf("    <- %s (%s:%lld:%lld) %s\n", jstr(p, "object"),
                   jstr(p, "file"), jint(p, "line"), jint(p, "col"),
                   jstr(p, "rule"));
        }
    }
    json_decref(j);
    return 0;
}

/* One line per security-group rule an agent reported counters for:
 * packets, bytes, object path, file:line, hosts (those whose agent is gone
 * count with their last report, and are shown as such). */
static int
cmd_rules(const struct anetctl *c, int argc, char *argv[])
{
    int rc = 0;
    json_t *j = anetctl_get_ok(c, "/api/v1/rules", &rc);
    if (!j) {
        return rc;
    }
    size_t i;
    json_t *r;
    printf("%12s %14s  %-36s %-20s %s\n", "PACKETS", "BYTES", "RULE",
           "WHERE", "HOSTS");
    json_array_foreach(j, i, r) {
        char where[300];
        snprintf(where, sizeof where, "%s:%lld", jstr(r, "file"),
                 jint(r, "line"));
        char hosts[48];
        snprintf(hosts, sizeof hosts, jint(r, "stale_hosts")
                 ? "%lld (%lld disconnected: last report)" : "%lld",
                 jint(r, "hosts"), jint(r, "stale_hosts"));
        printf("%12lld %14lld  %-36s %-20s %s\n", jint(r, "packets"),
               jint(r, "bytes"), jstr(r, "object"), where, hosts);
    }
    json_decref(j);
    return 0;
}

/* Prints the events of one /api/v1/acl-log answer; returns its "next". */
static long long
anetctl_print_acl_log(json_t *j)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "events"), i, e) {
        long long ms = jint(e, "time_ms");
        time_t t = (time_t) (ms / 1000);
        struct tm tm;
        char when[32], src[32], dst[32], where[300];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
        snprintf(src, sizeof src, "%s:%lld", jstr(e, "src"),
                 jint(e, "src_port"));
        snprintf(dst, sizeof dst, "%s:%lld", jstr(e, "dst"),
                 jint(e, "dst_port"));
        snprintf(where, sizeof where, "%s:%lld:%lld", jstr(e, "file"),
                 jint(e, "line"), jint(e, "col"));
        printf("%s.%03lld %-10s %-6s %-7s %-10s %-4s %-21s -> %-21s %s (%s)\n",
               when, ms % 1000, jstr(e, "host"), jstr(e, "action"),
               jstr(e, "direction"), jstr(e, "port"), jstr(e, "protocol"),
               src, dst, *jstr(e, "object") ? jstr(e, "object")
               : "unknown rule", where);
    }
    return jint(j, "next");
}

/* The packets rules with the log flag decided on, oldest first (times in
 * UTC); -f keeps polling for new ones. */
static int
cmd_acl_log(const struct anetctl *c, int argc, char *argv[])
{
    bool follow = argc == 1 && !strcmp(argv[0], "-f");
    int rc = 0;

    if (argc && !follow) {
        fprintf(stderr, "anetctl: usage: anetctl acl-log [-f]\n");
        return EXIT_USAGE;
    }
    json_t *j = anetctl_get_ok(c, "/api/v1/acl-log", &rc);
    if (!j) {
        return rc;
    }
    printf("%-23s %-10s %-6s %-7s %-10s %-4s %-21s    %-21s %s\n",
           "TIME (UTC)", "HOST", "ACTION", "DIR", "PORT", "PROTO", "SOURCE",
           "DESTINATION", "RULE");
    long long next = anetctl_print_acl_log(j);
    long long suppressed = jint(j, "suppressed");
    json_decref(j);
    if (suppressed && !follow) {
        printf("(%lld logged packets dropped by the agents' rate limit)\n",
               suppressed);
    }
    while (follow) {
        fflush(stdout);
        sleep(1);
        char *path = xasprintf("/api/v1/acl-log?since=%lld", next);
        j = anetctl_get_ok(c, path, &rc);
        free(path);
        if (!j) {
            return rc;
        }
        next = anetctl_print_acl_log(j);
        json_decref(j);
    }
    return 0;
}

/* The anet-nfv instances: where they run, whether their policy is the
 * one wanted, and their counters (per port, per rule, connections by
 * state, malformed packets, backends' health). */
static int
cmd_nfv(const struct anetctl *c, int argc, char *argv[])
{
    int rc = 0;
    json_t *j = anetctl_get_ok(c, "/api/v1/nfv", &rc);
    if (!j) {
        return rc;
    }
    size_t i, k;
    json_t *x, *v;
    json_array_foreach(j, i, x) {
        json_t *st = json_object_get(x, "stats");
        printf("%s %s on %s: %s, started %lld time(s), policy %s%s\n",
               jstr(x, "kind"), jstr(x, "name"), jstr(x, "host"),
               !json_is_true(json_object_get(x, "agent_connected"))
               ? "agent not connected"
               : json_is_true(json_object_get(x, "running")) ? "running"
               : "not running", jint(x, "starts"), jstr(x, "policy"),
               json_is_true(json_object_get(x, "in_sync")) ? " (applied)"
               : " (not applied yet)");
        if (!json_is_object(st)) {
            continue;
        }
        json_array_foreach(json_object_get(st, "ports"), k, v) {
            printf("  port %-12s rx %lld tx %lld drops %lld\n",
                   jstr(v, "iface"), jint(v, "rx_packets"),
                   jint(v, "tx_packets"), jint(v, "drops"));
        }
        json_t *conns = json_object_get(st, "connections");
        printf("  connections %lld", jint(conns, "total"));
        const char *key;
        json_object_foreach(json_object_get(conns, "by_state"), key, v) {
            printf(", %s %lld", key, (long long) json_integer_value(v));
        }
        printf("; refused: table full %lld, per-source limit %lld",
               jint(conns, "table_full"), jint(conns, "source_limited"));
        if (jint(conns, "picked_up")) {
            printf("; picked up after a restart %lld",
                   jint(conns, "picked_up"));
        }
        printf("\n");
        json_array_foreach(json_object_get(st, "rules"), k, v) {
            printf("  %12lld  %s\n", jint(v, "packets"), jstr(v, "name"));
        }
        json_array_foreach(json_object_get(st, "backends"), k, v) {
            printf("  backend %s:%lld (%s) %s, %lld connections\n",
                   jstr(v, "ip"), jint(v, "port"), jstr(v, "service"),
                   json_is_true(json_object_get(v, "healthy")) ? "healthy"
                   : "DOWN", jint(v, "connections"));
        }
        json_object_foreach(json_object_get(st, "malformed"), key, v) {
            if (json_integer_value(v)) {
                printf("  malformed %s: %lld\n", key,
                       (long long) json_integer_value(v));
            }
        }
        if (jint(st, "malformed_passed")) {
            printf("  malformed passed unchecked (malformed: pass): %lld\n",
                   jint(st, "malformed_passed"));
        }
    }
    json_decref(j);
    return 0;
}

struct anetctl_command {
    const char *name;
    int min_args, max_args;
    const char *args;
    const char *help;
    int (*run)(const struct anetctl *, int argc, char *argv[]);
};

static const struct anetctl_command anetctl_commands[] = {
    { "apply", 1, 1, "FILE", "apply a topology (YAML); '-' reads stdin",
      cmd_apply },
    { "plan", 1, 1, "FILE", "show the flow changes FILE would make",
      cmd_plan },
    { "show", 0, 2, "[-o json]", "hosts, agents, generations and ports",
      cmd_show },
    { "flows", 1, 1, "HOST", "the flows of HOST with where each came from",
      cmd_flows },
    { "rules", 0, 0, "", "packet/byte counters of each security-group rule",
      cmd_rules },
    { "acl-log", 0, 1, "[-f]", "packets logged by security-group rules "
      "(-f: follow)", cmd_acl_log },
    { "nfv", 0, 0, "", "firewall / load balancer instances and their "
      "counters", cmd_nfv },
};

static void
usage(FILE *f)
{
    fprintf(f, "Usage: anetctl [--controller URL] COMMAND [ARGS]\n"
               "Talks to anet-controller's HTTP API (URL default "
               "$ANET_CONTROLLER or %s).\n\nCommands:\n", ANETCTL_DEFAULT_URL);
    for (size_t i = 0; i < ARRAY_SIZE(anetctl_commands); i++) {
        const struct anetctl_command *cmd = &anetctl_commands[i];
        fprintf(f, "  %-7s %-10s %s\n", cmd->name, cmd->args, cmd->help);
    }
    fprintf(f, "\nOptions:\n  --controller URL\n  --help\n  --version\n"
               "\nExit status: 0 ok, 1 refused/failed, 2 usage error, "
               "3 controller unreachable.\n");
}

int
main(int argc, char *argv[])
{
    struct anetctl c;
    const char *url = getenv("ANET_CONTROLLER");
    int i = 1;

    memset(&c, 0, sizeof c);
    signal(SIGPIPE, SIG_IGN);
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            printf("anetctl %s\n", ANET_VERSION);
            return 0;
        } else if (!strcmp(argv[i], "--controller") && i + 1 < argc) {
            url = argv[++i];
        } else if (!strncmp(argv[i], "--controller=", 13)) {
            url = argv[i] + 13;
        } else {
            fprintf(stderr, "anetctl: unknown option %s\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    c.url = url && *url ? url : ANETCTL_DEFAULT_URL;
    if (anetctl_parse_url(&c, c.url)) {
        fprintf(stderr, "anetctl: bad controller URL %s\n", c.url);
        return EXIT_USAGE;
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    for (size_t k = 0; k < ARRAY_SIZE(anetctl_commands); k++) {
        const struct anetctl_command *cmd = &anetctl_commands[k];
        int n = argc - i - 1;
        if (strcmp(cmd->name, argv[i])) {
            continue;
        }
        if (n < cmd->min_args || n > cmd->max_args) {
            fprintf(stderr, "anetctl: usage: anetctl %s %s\n", cmd->name,
                    cmd->args);
            return EXIT_USAGE;
        }
        return cmd->run(&c, n, argv + i + 1);
    }
    fprintf(stderr, "anetctl: unknown command %s (try --help)\n", argv[i]);
    return EXIT_USAGE;
}
