/* nfv-io-ctl.c — anet-nfv's control socket (see nfv-io.h, proto/nfv.proto).
 *
 * One unix stream listener and at most one client (the agent): a new
 * connection replaces the old one, so a restarted agent takes over at once.
 * Everything is non-blocking and driven by nfv_io_ctl_poll(), which the I/O
 * loop calls between bursts (timeout 0) and as its idle sleep (ppoll with
 * the back-off timeout).  Requests are answered in order; a reply that
 * does not fit the socket buffer stays queued and is flushed on POLLOUT.
 * A frame announcing more than NFV_CTL_MAX bytes, or not decoding as an
 * NfvRequest, closes the client.
 */
#include "nfv/nfv-io.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/nfv.pb-c.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

LOG_MODULE(nfv_ctl);

struct nfv_io_ctl {
    int listen_fd;
    int fd;                         /* client, -1 when none */
    char *path;
    char *name;
    enum nfv_kind kind;
    const struct nfv_io_ctl_ops *ops;
    void *aux;
    uint8_t *in;                    /* received, not yet consumed */
    size_t n_in, cap_in;
    uint8_t *out;                   /* replies not yet written */
    size_t n_out, cap_out;
};

struct nfv_io_ctl *
nfv_io_ctl_create(const char *path, const char *name, enum nfv_kind kind,
                  const struct nfv_io_ctl_ops *ops, void *aux)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof sun.sun_path) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    strcpy(sun.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return NULL;
    }
    unlink(path);
    if (bind(fd, (struct sockaddr *) &sun, sizeof sun) || listen(fd, 4)) {
        int err = errno;
        close(fd);
        errno = err;
        return NULL;
    }
    struct nfv_io_ctl *c = xzalloc(sizeof *c);
    c->listen_fd = fd;
    c->fd = -1;
    c->path = xstrdup(path);
    c->name = xstrdup(name);
    c->kind = kind;
    c->ops = ops;
    c->aux = aux;
    return c;
}

static void
nfv_io_ctl_drop__(struct nfv_io_ctl *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->n_in = c->n_out = 0;
}

void
nfv_io_ctl_destroy(struct nfv_io_ctl *c)
{
    if (!c) {
        return;
    }
    nfv_io_ctl_drop__(c);
    close(c->listen_fd);
    unlink(c->path);
    free(c->path);
    free(c->name);
    free(c->in);
    free(c->out);
    free(c);
}

/* Queues 'r' as one frame. */
static void
nfv_io_ctl_queue__(struct nfv_io_ctl *c, const Anet__Nfv__NfvReply *r)
{
    size_t len = anet__nfv__nfv_reply__get_packed_size(r);

    c->out = xgrow(c->out, &c->cap_out, c->n_out + 4 + len, 1);
    uint8_t *p = c->out + c->n_out;
    p[0] = len >> 24;
    p[1] = len >> 16;
    p[2] = len >> 8;
    p[3] = len;
    anet__nfv__nfv_reply__pack(r, p + 4);
    c->n_out += 4 + len;
}

static void
nfv_io_ctl_flush__(struct nfv_io_ctl *c)
{
    while (c->fd >= 0 && c->n_out) {
        ssize_t n = send(c->fd, c->out, c->n_out, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) {
                LOG_WARN_RL("control client: send: %s", strerror(errno));
                nfv_io_ctl_drop__(c);
            }
            return;
        }
        memmove(c->out, c->out + n, c->n_out - n);
        c->n_out -= n;
    }
}

static void
nfv_io_ctl_handle__(struct nfv_io_ctl *c, const Anet__Nfv__NfvRequest *req)
{
    Anet__Nfv__NfvReply reply = ANET__NFV__NFV_REPLY__INIT;
    Anet__Nfv__NfvStats stats = ANET__NFV__NFV_STATS__INIT;
    char *error = NULL;
    bool have_stats = false;

    reply.kind = (char *) nfv_kind_name(c->kind);
    reply.name = c->name;
    if (req->msg_case == ANET__NFV__NFV_REQUEST__MSG_CONFIG) {
        struct nfv_config *cfg = NULL;
        int r = nfv_config_from_proto(req->config, &cfg, &error);
        if (!r && cfg->kind != c->kind) {
            error = xasprintf("a %s config for a %s instance",
                              nfv_kind_name(cfg->kind),
                              nfv_kind_name(c->kind));
            r = -EINVAL;
        }
        if (!r) {
            r = c->ops->apply(c->aux, cfg, &error);   /* takes 'cfg' */
            cfg = NULL;
        }
        nfv_config_destroy(cfg);
        if (r) {
            LOG_WARN_RL("config generation %"PRIu64" refused: %s",
                        req->config->generation, error ? error : "?");
        }
    } else if (req->msg_case == ANET__NFV__NFV_REQUEST__MSG_STATS) {
        c->ops->stats(c->aux, &stats);
        reply.stats = &stats;
        have_stats = true;
    } else {
        error = xstrdup("empty request");
    }
    reply.applied_generation = c->ops->generation(c->aux);
    reply.error = error ? error : "";
    nfv_io_ctl_queue__(c, &reply);
    if (have_stats) {
        nfv_io_stats_free(&stats);
    }
    free(error);
}

/* Consumes every whole frame in the input buffer.  False: close. */
static bool
nfv_io_ctl_parse__(struct nfv_io_ctl *c)
{
    size_t ofs = 0;
    bool ok = true;

    while (c->n_in - ofs >= 4) {
        const uint8_t *p = c->in + ofs;
        uint32_t len = (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
                       | (uint32_t) p[2] << 8 | p[3];
        if (!len || len > NFV_CTL_MAX) {
            LOG_WARN_RL("control client announced a %u-byte frame; closing",
                        len);
            ok = false;
            break;
        }
        if (c->n_in - ofs - 4 < len) {
            break;
        }
        Anet__Nfv__NfvRequest *req =
            anet__nfv__nfv_request__unpack(NULL, len, p + 4);
        ofs += 4 + len;
        if (!req) {
            LOG_WARN_RL("control client sent an undecodable request; "
                        "closing");
            ok = false;
            break;
        }
        nfv_io_ctl_handle__(c, req);
        anet__nfv__nfv_request__free_unpacked(req, NULL);
    }
    memmove(c->in, c->in + ofs, c->n_in - ofs);
    c->n_in -= ofs;
    return ok;
}

static void
nfv_io_ctl_read__(struct nfv_io_ctl *c)
{
    for (;;) {
        if (c->cap_in - c->n_in < 4096) {
            c->in = xgrow(c->in, &c->cap_in, c->n_in + 65536, 1);
        }
        ssize_t n = recv(c->fd, c->in + c->n_in, c->cap_in - c->n_in,
                         MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        if (n <= 0) {
            LOG_INFO("control client %s", n ? strerror(errno) : "closed");
            nfv_io_ctl_drop__(c);
            return;
        }
        c->n_in += n;
        if (!nfv_io_ctl_parse__(c)) {
            nfv_io_ctl_drop__(c);
            return;
        }
        nfv_io_ctl_flush__(c);
    }
}

bool
nfv_io_ctl_poll(struct nfv_io_ctl *c, long timeout_us, const int *wake_fds,
                int n_wake)
{
    struct pollfd pfd[2 + NFV_IO_MAX_PORTS] = {
        { .fd = c->listen_fd, .events = POLLIN },
        { .fd = c->fd, .events = POLLIN | (c->n_out ? POLLOUT : 0) },
    };
    struct timespec ts = { timeout_us / 1000000, timeout_us % 1000000 * 1000 };
    for (int i = 0; i < n_wake && i < NFV_IO_MAX_PORTS; i++) {
        pfd[2 + i] = (struct pollfd) { .fd = wake_fds[i], .events = POLLIN };
    }
    /* A negative fd is ignored by ppoll(): no client, no doorbell. */
    int n = ppoll(pfd, 2 + (n_wake < NFV_IO_MAX_PORTS ? n_wake
                                                      : NFV_IO_MAX_PORTS),
                  &ts, NULL);

    if (n < 0) {
        return errno != EINTR;
    }
    if (!n) {
        return true;
    }
    if (pfd[0].revents & POLLIN) {
        int fd = accept4(c->listen_fd, NULL, NULL,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (c->fd >= 0) {
                LOG_INFO("new control client replaces the old one");
            }
            nfv_io_ctl_drop__(c);
            c->fd = fd;
            return true;
        }
    }
    if (c->fd >= 0 && pfd[1].revents) {
        if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            nfv_io_ctl_read__(c);
        }
        nfv_io_ctl_flush__(c);
    }
    return true;
}
