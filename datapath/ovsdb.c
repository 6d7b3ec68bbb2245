/* ovsdb.c — RFC 7047 JSON-RPC client: one stream socket, blocking calls
 * bounded by a timeout.
 *
 * The server sends a stream of concatenated JSON texts with no framing, so
 * the reader splits it itself: it scans the received bytes once, tracking
 * string/escape state and {}/[] depth, and cuts a message each time the depth
 * returns to zero.  Each complete message is then parsed by jansson.  The
 * scan state lives in the client, so a big reply arriving in many reads is
 * scanned in linear time.
 *
 * While waiting for a reply the client answers "echo" requests (the server's
 * inactivity probe) and drops notifications and replies to ids it no longer
 * waits for (e.g. after a timeout).  A broken connection is closed and
 * reopened at the start of the next transaction — never in the middle of
 * one, as a transaction whose reply was lost may or may not have committed.
 */
#include "datapath/ovsdb.h"

#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <fcntl.h>

#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(ovsdb);

/* A message larger than this is a broken or hostile peer. */
#define OVSDB_MAX_MSG (64u * 1024 * 1024)

struct ovsdb_client {
    char *target;
    int fd;                     /* -1 while disconnected */
    int timeout_ms;
    unsigned int next_id;

    /* Receive buffer and the incremental splitter's state. */
    char *buf;
    size_t len, cap;
    size_t scan;                /* bytes of buf already scanned */
    size_t start;               /* where the current message starts */
    int depth;
    bool in_string, escape, started;

    char last_error[512];
};

static void
ovsdb_set_error__(struct ovsdb_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ovsdb_set_error__(struct ovsdb_client *c, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(c->last_error, sizeof c->last_error, fmt, args);
    va_end(args);
}

static int
ovsdb_wait_fd__(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - time_msec();
        if (left <= 0) {
            return -ETIMEDOUT;
        }
        struct pollfd pfd = { .fd = fd, .events = events };
        int n = poll(&pfd, 1, (int) MIN(left, 1000000));
        if (n > 0) {
            return 0;
        }
        if (n < 0 && errno != EINTR) {
            return -errno;
        }
    }
}

/* Connects to "unix:PATH" or "tcp:IP:PORT"; returns an fd or -errno. */
static int
ovsdb_connect__(const char *target, int timeout_ms)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    memset(&ss, 0, sizeof ss);

    if (!strncmp(target, "unix:", 5)) {
        struct sockaddr_un *sun = (struct sockaddr_un *) &ss;
        const char *path = target + 5;
        if (!*path || strlen(path) >= sizeof sun->sun_path) {
            return -ENAMETOOLONG;
        }
        sun->sun_family = AF_UNIX;
        strcpy(sun->sun_path, path);
        sslen = sizeof *sun;
    } else if (!strncmp(target, "tcp:", 4)) {
        struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
        char host[64];
        const char *colon = strrchr(target + 4, ':');
        size_t hlen = colon ? (size_t) (colon - (target + 4)) : 0;
        if (!colon || !hlen || hlen >= sizeof host) {
            return -EINVAL;
        }
        memcpy(host, target + 4, hlen);
        host[hlen] = '\0';
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (*end || port <= 0 || port > 65535
            || inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
            return -EINVAL;
        }
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t) port);
        sslen = sizeof *sin;
    } else {
        return -EINVAL;
    }

    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    0);
    if (fd < 0) {
        return -errno;
    }
    if (connect(fd, (struct sockaddr *) &ss, sslen) < 0) {
        int error = errno;
        if (error != EINPROGRESS) {
            close(fd);
            return -error;
        }
        int retval = ovsdb_wait_fd__(fd, POLLOUT, time_msec() + timeout_ms);
        socklen_t elen = sizeof error;
        if (!retval
            && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &elen) < 0) {
            retval = -errno;
        } else if (!retval && error) {
            retval = -error;
        }
        if (retval) {
            close(fd);
            return retval;
        }
    }
    if (ss.ss_family == AF_INET) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

static void
ovsdb_disconnect__(struct ovsdb_client *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->len = c->scan = c->start = 0;
    c->depth = 0;
    c->in_string = c->escape = c->started = false;
}

struct ovsdb_client *
ovsdb_client_open(const char *target, int timeout_ms)
{
    if (!target) {
        errno = EINVAL;
        return NULL;
    }
    if (timeout_ms <= 0) {
        timeout_ms = 5000;
    }
    int fd = ovsdb_connect__(target, timeout_ms);
    if (fd < 0) {
        errno = -fd;
        return NULL;
    }
    struct ovsdb_client *c = xzalloc(sizeof *c);
    c->target = xstrdup(target);
    c->fd = fd;
    c->timeout_ms = timeout_ms;
    c->next_id = 1;
    return c;
}

void
ovsdb_client_destroy(struct ovsdb_client *c)
{
    if (c) {
        ovsdb_disconnect__(c);
        free(c->target);
        free(c->buf);
        free(c);
    }
}

const char *
ovsdb_client_last_error(const struct ovsdb_client *c)
{
    return c ? c->last_error : "";
}

static int
ovsdb_send__(struct ovsdb_client *c, json_t *msg, long long deadline)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text) {
        return -ENOMEM;
    }
    size_t n = strlen(text), off = 0;
    int retval = 0;
    while (off < n) {
        ssize_t w = send(c->fd, text + off, n - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t) w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            retval = ovsdb_wait_fd__(c->fd, POLLOUT, deadline);
            if (retval) {
                break;
            }
        } else {
            retval = w < 0 ? -errno : -EPIPE;
            break;
        }
    }
    free(text);
    return retval;
}

/* Scans newly received bytes for the end of a JSON text.  Returns true and
 * sets '*end' (exclusive) if a complete one is buffered. */
static bool
ovsdb_split__(struct ovsdb_client *c, size_t *end)
{
    for (; c->scan < c->len; c->scan++) {
        char ch = c->buf[c->scan];
        if (!c->started) {
            if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
                c->start = c->scan + 1;
                continue;
            }
            c->started = true;
        }
        if (c->in_string) {
            if (c->escape) {
                c->escape = false;
            } else if (ch == '\\') {
                c->escape = true;
            } else if (ch == '"') {
                c->in_string = false;
            }
        } else if (ch == '"') {
            c->in_string = true;
        } else if (ch == '{' || ch == '[') {
            c->depth++;
        } else if (ch == '}' || ch == ']') {
            if (--c->depth <= 0) {
                *end = ++c->scan;
                return true;
            }
        }
    }
    return false;
}

/* Receives the next complete JSON message.  Returns 0 and '*msg', or -errno
 * (-EPROTO for unparsable input). */
static int
ovsdb_recv__(struct ovsdb_client *c, json_t **msg, long long deadline)
{
    for (;;) {
        size_t end;
        if (ovsdb_split__(c, &end)) {
            json_error_t jerr;
            json_t *j = json_loadb(c->buf + c->start, end - c->start, 0,
                                   &jerr);
            /* Drop the consumed bytes. */
            memmove(c->buf, c->buf + end, c->len - end);
            c->len -= end;
            c->scan = c->start = 0;
            c->depth = 0;
            c->in_string = c->escape = c->started = false;
            if (!j) {
                ovsdb_set_error__(c, "bad JSON from server: %s", jerr.text);
                return -EPROTO;
            }
            *msg = j;
            return 0;
        }
        if (c->len - c->start > OVSDB_MAX_MSG) {
            ovsdb_set_error__(c, "message from server too long");
            return -EMSGSIZE;
        }
        if (c->cap - c->len < 4096) {
            c->buf = xgrow(c->buf, &c->cap, c->len + 65536, 1);
        }
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r > 0) {
            c->len += (size_t) r;
        } else if (r == 0) {
            return -ECONNRESET;
        } else if (errno == EAGAIN || errno == EINTR) {
            int retval = ovsdb_wait_fd__(c->fd, POLLIN, deadline);
            if (retval) {
                return retval;
            }
        } else {
            return -errno;
        }
    }
}

/* Collects the operation errors of a "transact" result into last_error.
 * Returns true if there was one. */
static bool
ovsdb_result_error__(struct ovsdb_client *c, json_t *result)
{
    size_t i;
    json_t *r;
    json_array_foreach (result, i, r) {
        json_t *err = json_object_get(r, "error");
        if (json_is_string(err)) {
            const char *details = json_string_value(json_object_get(r,
                                                                  "details"));
            ovsdb_set_error__(c, "operation %zu: %s%s%s", i,
                              json_string_value(err),
                              details ? ": " : "", details ? details : "");
            return true;
        }
    }
    return false;
}

int
ovsdb_transact(struct ovsdb_client *c, json_t *ops, json_t **result)
{
    if (result) {
        *result = NULL;
    }
    if (!c || !json_is_array(ops)) {
        json_decref(ops);
        return -EINVAL;
    }
    c->last_error[0] = '\0';
    if (c->fd < 0) {
        int fd = ovsdb_connect__(c->target, c->timeout_ms);
        if (fd < 0) {
            json_decref(ops);
            ovsdb_set_error__(c, "cannot connect to %s: %s", c->target,
                              strerror(-fd));
            return fd;
        }
        c->fd = fd;
    }

    long long deadline = time_msec() + c->timeout_ms;
    unsigned int id = c->next_id++;
    json_array_insert_new(ops, 0, json_string("Open_vSwitch"));
    json_t *req = json_pack("{s:s, s:o, s:I}", "method", "transact",
                            "params", ops, "id", (json_int_t) id);
    int retval = ovsdb_send__(c, req, deadline);
    json_decref(req);

    while (!retval) {
        json_t *msg;
        retval = ovsdb_recv__(c, &msg, deadline);
        if (retval) {
            break;
        }
        json_t *method = json_object_get(msg, "method");
        json_t *mid = json_object_get(msg, "id");
        if (json_is_string(method)) {
            if (!strcmp(json_string_value(method), "echo") && mid
                && !json_is_null(mid)) {
                json_t *reply = json_pack("{s:O, s:n, s:O}", "result",
                                          json_object_get(msg, "params"),
                                          "error", "id", mid);
                retval = ovsdb_send__(c, reply, deadline);
                json_decref(reply);
            }
            json_decref(msg);
            continue;
        }
        if (!json_is_integer(mid) || json_integer_value(mid) != id) {
            json_decref(msg);       /* a late reply to an abandoned call */
            continue;
        }
        json_t *err = json_object_get(msg, "error");
        json_t *res = json_object_get(msg, "result");
        if (err && !json_is_null(err)) {
            char *text = json_dumps(err, JSON_COMPACT | JSON_ENCODE_ANY);
            ovsdb_set_error__(c, "%s", text ? text : "error");
            free(text);
            retval = -EPROTO;
        } else if (!json_is_array(res)) {
            ovsdb_set_error__(c, "transact reply without result array");
            retval = -EPROTO;
        } else if (ovsdb_result_error__(c, res)) {
            retval = -EPROTO;
        } else if (result) {
            *result = json_incref(res);
        }
        json_decref(msg);
        if (retval == -EPROTO) {
            LOG_WARN_RL("transaction failed: %s", c->last_error);
        }
        return retval;
    }

    /* The connection is in an unknown state (or dead): start afresh on the
     * next call. */
    if (!c->last_error[0]) {
        ovsdb_set_error__(c, "%s: %s", c->target, strerror(-retval));
    }
    LOG_WARN_RL("OVSDB connection %s: %s", c->target, strerror(-retval));
    ovsdb_disconnect__(c);
    return retval;
}
