/* ofconn.c — see ofconn.h.
 *
 * Reading and writing share one rule: while we write, we keep reading into
 * the receive buffer, so that a switch that answers (errors, echo requests)
 * while we are still sending a large bundle can never deadlock us.  Received
 * messages are handled in order by conn_recv__(), which answers echo
 * requests itself; everything else goes to the caller, who matches xids and
 * skips what it did not ask for.
 *
 * A bundle is sent as OPEN, N x ADD_MESSAGE and a BARRIER, all pipelined.
 * Open vSwitch reports a flow-mod it cannot decode with an error for that
 * ADD_MESSAGE but keeps the bundle open, so committing blindly could install
 * a partial generation; the barrier tells us every ADD_MESSAGE has been
 * checked, and only then do we COMMIT (or DISCARD after an error). */
#include "datapath/ofconn.h"
#include "datapath/ofp-msgs.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

LOG_MODULE(ofconn);

/* Flush the transmit buffer when it grows past this, so that the switch
 * starts working while we are still encoding. */
#define OFCONN_TX_CHUNK (256 * 1024)

struct ofconn {
    int fd;
    int timeout_ms;
    uint32_t next_xid;
    uint32_t next_bundle_id;
    struct ofp_buf rx;        /* bytes [rx_ofs, rx.size) not yet consumed */
    size_t rx_ofs;
    struct ofp_buf tx;
};

static uint32_t
conn_xid__(struct ofconn *c)
{
    return c->next_xid++;
}

/* Reads whatever is available, waiting up to the timeout for the first byte
 * when 'wait' is true.  Invalidates messages returned by conn_recv__(). */
static int
conn_read__(struct ofconn *c, bool wait)
{
    if (c->rx_ofs == c->rx.size) {
        c->rx_ofs = c->rx.size = 0;
    } else if (c->rx_ofs > c->rx.allocated / 2) {
        memmove(c->rx.data, c->rx.data + c->rx_ofs, c->rx.size - c->rx_ofs);
        c->rx.size -= c->rx_ofs;
        c->rx_ofs = 0;
    }
    if (wait) {
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int n = poll(&pfd, 1, c->timeout_ms);
        if (n < 0) {
            return errno == EINTR ? 0 : -errno;
        }
        if (n == 0) {
            return -ETIMEDOUT;
        }
    }
    for (bool got = false;; got = true) {
        if (c->rx.allocated - c->rx.size < 65536) {
            c->rx.data = xgrow(c->rx.data, &c->rx.allocated,
                               c->rx.size + 65536, 1);
        }
        ssize_t n = recv(c->fd, c->rx.data + c->rx.size,
                         c->rx.allocated - c->rx.size, MSG_DONTWAIT);
        if (n > 0) {
            c->rx.size += n;
            continue;
        }
        if (n == 0) {
            /* End of stream: report it once the bytes before it are used. */
            return got ? 0 : -ECONNRESET;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
               ? 0 : -errno;
    }
}

/* Writes 'len' bytes, reading into the receive buffer meanwhile. */
static int
conn_write__(struct ofconn *c, const uint8_t *data, size_t len)
{
    while (len) {
        ssize_t n = send(c->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK
            && errno != EINTR) {
            return -errno;
        }
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN | POLLOUT };
        int k = poll(&pfd, 1, c->timeout_ms);
        if (k < 0 && errno != EINTR) {
            return -errno;
        }
        if (k == 0) {
            return -ETIMEDOUT;
        }
        if (k > 0 && pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            int error = conn_read__(c, false);
            if (error) {
                return error;
            }
        }
    }
    return 0;
}

/* Sends and empties the transmit buffer. */
static int
conn_flush__(struct ofconn *c)
{
    int error = conn_write__(c, c->tx.data, c->tx.size);
    ofp_buf_clear(&c->tx);
    return error;
}

/* Returns the next message other than an echo request (answered here).  The
 * message stays valid until the next call on 'c'. */
static int
conn_recv__(struct ofconn *c, struct ofp_msg *msg)
{
    for (;;) {
        int error = ofp_msg_parse(c->rx.data + c->rx_ofs,
                                  c->rx.size - c->rx_ofs, msg);
        if (error == -EAGAIN) {
            error = conn_read__(c, true);
            if (error) {
                return error;
            }
            continue;
        }
        if (error) {
            LOG_WARN_RL("malformed OpenFlow header from switch");
            return error;
        }
        c->rx_ofs += msg->length;
        if (msg->type == OFPT_ECHO_REQUEST) {
            struct ofp_buf reply;
            ofp_buf_init(&reply);
            ofp_put_echo_reply(&reply, msg);
            error = conn_write__(c, reply.data, reply.size);
            ofp_buf_destroy(&reply);
            if (error) {
                return error;
            }
            continue;
        }
        return 0;
    }
}

static void
log_error__(const struct ofp_msg *msg, const char *what)
{
    uint16_t type = 0, code = 0;
    ofp_decode_error(msg, &type, &code);
    LOG_WARN_RL("switch rejected %s (xid %u): OpenFlow error %s (type %u), "
                "code %u", what, msg->xid, ofp_error_type_name(type), type,
                code);
}

/* Waits for the reply of 'type' to request 'xid'.  Unsolicited messages
 * and replies to other requests are skipped; errors for other requests are
 * logged.  Returns -EPROTO when the switch answered with an error. */
static int
conn_wait_reply__(struct ofconn *c, uint32_t xid, uint8_t type,
                  struct ofp_msg *reply, const char *what)
{
    for (;;) {
        int error = conn_recv__(c, reply);
        if (error) {
            return error;
        }
        if (reply->type == OFPT_ERROR) {
            log_error__(reply, reply->xid == xid ? what : "an earlier request");
            if (reply->xid == xid) {
                return -EPROTO;
            }
            continue;
        }
        if (reply->xid == xid && reply->type == type) {
            return 0;
        }
    }
}

/* --- open / close / echo ----------------------------------------------- */

static int
conn_connect__(const char *target)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (strncmp(target, "unix:", 5)
        || strlen(target + 5) >= sizeof sun.sun_path) {
        return -EINVAL;
    }
    strcpy(sun.sun_path, target + 5);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    if (connect(fd, (struct sockaddr *) &sun, sizeof sun) < 0
        || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        int error = -errno;
        close(fd);
        return error;
    }
    return fd;
}

struct ofconn *
ofconn_open(const char *target, int timeout_ms)
{
    int fd = conn_connect__(target);
    if (fd < 0) {
        errno = -fd;
        return NULL;
    }
    struct ofconn *c = xzalloc(sizeof *c);
    c->fd = fd;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    c->next_xid = 1;
    c->next_bundle_id = 1;
    ofp_buf_init(&c->rx);
    ofp_buf_init(&c->tx);

    struct ofp_msg msg;
    uint32_t versions;
    ofp_put_hello(&c->tx, conn_xid__(c));
    int error = conn_flush__(c);
    if (!error) {
        error = conn_recv__(c, &msg);
    }
    if (!error) {
        if (msg.type != OFPT_HELLO || ofp_decode_hello(&msg, &versions)
            || !(versions & (1u << OFP15_VERSION))) {
            LOG_WARN("%s: switch does not speak OpenFlow 1.5", target);
            error = -EPROTONOSUPPORT;
        }
    }
    if (!error) {
        uint32_t xid = conn_xid__(c);
        ofp_put_empty(&c->tx, OFPT_BARRIER_REQUEST, xid);
        error = conn_flush__(c);
        if (!error) {
            error = conn_wait_reply__(c, xid, OFPT_BARRIER_REPLY, &msg,
                                      "barrier");
        }
    }
    if (error) {
        ofconn_close(c);
        errno = error == -EPROTO ? EPROTONOSUPPORT : -error;
        return NULL;
    }
    return c;
}

void
ofconn_close(struct ofconn *c)
{
    if (c) {
        close(c->fd);
        ofp_buf_destroy(&c->rx);
        ofp_buf_destroy(&c->tx);
        free(c);
    }
}

int
ofconn_echo(struct ofconn *c)
{
    struct ofp_msg msg;
    uint32_t xid = conn_xid__(c);
    ofp_put_empty(&c->tx, OFPT_ECHO_REQUEST, xid);
    int error = conn_flush__(c);
    return error ? error : conn_wait_reply__(c, xid, OFPT_ECHO_REPLY, &msg,
                                             "echo");
}

/* --- dump -------------------------------------------------------------- */

struct dumped__ {
    struct flow flow;
    struct ofconn_flow_stats stats;
};

/* A dumped flow whose match anet cannot represent, kept as raw bytes so that
 * a sync can still delete it exactly. */
struct raw_flow__ {
    uint8_t table;
    uint16_t priority;
    uint8_t *match;
    size_t match_len;
};

struct raw_flows__ {
    struct raw_flow__ *v;
    size_t n, cap;
};

static void
raw_flows_destroy__(struct raw_flows__ *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].match);
    }
    free(r->v);
}

static int
dumped_cmp__(const void *a_, const void *b_)
{
    const struct dumped__ *a = a_, *b = b_;
    return flow_key_cmp(&a->flow, &b->flow);
}

/* Dumps like ofconn_dump_flows(); if 'raw' is nonnull, flows with an
 * unrepresentable match go there instead of into 'out'. */
static int
dump__(struct ofconn *c, struct flow_set *out,
       struct ofconn_flow_stats **stats, struct raw_flows__ *raw)
{
    struct dumped__ *d = NULL;
    size_t n = 0, cap = 0;
    uint32_t xid = conn_xid__(c);
    struct ofp_msg msg;
    int error;

    flow_set_destroy(out);
    flow_set_init(out);
    if (stats) {
        *stats = NULL;
    }
    ofp_put_flow_desc_request(&c->tx, xid);
    error = conn_flush__(c);
    for (bool more = true; !error && more;) {
        uint16_t mp_type, flags;
        const uint8_t *body;
        size_t left;

        error = conn_wait_reply__(c, xid, OFPT_MULTIPART_REPLY, &msg,
                                  "flow dump");
        if (!error) {
            error = ofp_decode_multipart_reply(&msg, &mp_type, &flags, &body,
                                               &left);
        }
        if (!error && mp_type != OFPMP_FLOW_DESC) {
            error = -EBADMSG;
        }
        if (error) {
            break;
        }
        more = flags & OFPMPF_REPLY_MORE;
        while (left) {
            struct ofp_flow_counters fc;
            size_t used;
            d = xgrow(d, &cap, n + 1, sizeof *d);
            int e = ofp_decode_flow_desc(body, left, &used, &d[n].flow, &fc);
            if (e == -EBADMSG) {
                flow_destroy(&d[n].flow);
                LOG_WARN_RL("malformed flow in dump reply");
                error = e;
                break;
            }
            if (e) {
                LOG_INFO_RL("flow in table %u priority %u has a match anet "
                            "cannot represent", d[n].flow.table,
                            d[n].flow.priority);
            }
            const uint8_t *m;
            size_t mlen;
            if (e && raw && !ofp_flow_desc_raw_match(body, used, &m, &mlen)) {
                raw->v = xgrow(raw->v, &raw->cap, raw->n + 1, sizeof *raw->v);
                raw->v[raw->n++] = (struct raw_flow__) {
                    .table = d[n].flow.table, .priority = d[n].flow.priority,
                    .match = xmalloc(mlen), .match_len = mlen };
                memcpy(raw->v[raw->n - 1].match, m, mlen);
                flow_destroy(&d[n].flow);
                body += used;
                left -= used;
                continue;
            }
            d[n].stats = (struct ofconn_flow_stats) {
                .packets = fc.packets, .bytes = fc.bytes,
                .duration_sec = fc.duration_sec };
            n++;
            body += used;
            left -= used;
        }
    }
    if (error) {
        for (size_t i = 0; i < n; i++) {
            flow_destroy(&d[i].flow);
        }
        free(d);
        return error;
    }

    /* Sort flows and counters together; keep the last of equal keys, as
     * flow_set_sort() does. */
    if (n > 1) {
        qsort(d, n, sizeof *d, dumped_cmp__);
    }
    struct ofconn_flow_stats *st = stats ? xcalloc(n ? n : 1, sizeof *st)
                                         : NULL;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && !flow_key_cmp(&d[i].flow, &d[i + 1].flow)) {
            flow_destroy(&d[i].flow);
            continue;
        }
        if (st) {
            st[out->n] = d[i].stats;
        }
        flow_set_take(out, &d[i].flow);
    }
    free(d);
    if (stats) {
        *stats = st;
    }
    return 0;
}

int
ofconn_dump_flows(struct ofconn *c, struct flow_set *out,
                  struct ofconn_flow_stats **stats)
{
    return dump__(c, out, stats, NULL);
}

/* --- bundles ----------------------------------------------------------- */

struct bundle_op__ {
    const struct flow *flow;            /* NULL for a raw deletion */
    enum ofp_flow_mod_command command;
    const struct raw_flow__ *raw;
};

struct bundle__ {
    struct bundle_op__ *ops;
    size_t n, cap;
};

static void
bundle_add__(struct bundle__ *b, const struct flow *f,
             enum ofp_flow_mod_command command)
{
    b->ops = xgrow(b->ops, &b->cap, b->n + 1, sizeof *b->ops);
    b->ops[b->n++] = (struct bundle_op__) { f, command, NULL };
}

/* Sends a bundle control message and waits for its reply. */
static int
bundle_ctrl__(struct ofconn *c, uint32_t id, enum ofp_bundle_ctrl_type type,
              const char *what)
{
    struct ofp_msg msg;
    uint32_t xid = conn_xid__(c);
    ofp_put_bundle_ctrl(&c->tx, xid, id, type, OFPBF_ATOMIC | OFPBF_ORDERED);
    int error = conn_flush__(c);
    return error ? error : conn_wait_reply__(c, xid, OFPT_BUNDLE_CONTROL, &msg,
                                             what);
}

/* Applies 'b' in one atomic bundle. */
static int
bundle_run__(struct ofconn *c, const struct bundle__ *b)
{
    const uint16_t flags = OFPBF_ATOMIC | OFPBF_ORDERED;
    uint32_t id = c->next_bundle_id++;
    uint32_t open_xid = conn_xid__(c);
    uint32_t first_xid = c->next_xid;
    int error = 0;

    if (!b->n) {
        return 0;
    }
    ofp_put_bundle_ctrl(&c->tx, open_xid, id, OFPBCT_OPEN_REQUEST, flags);
    for (size_t i = 0; i < b->n && !error; i++) {
        const struct bundle_op__ *op = &b->ops[i];
        error = op->raw
                ? ofp_put_bundle_delete_raw(&c->tx, conn_xid__(c), id, flags,
                                            op->raw->table,
                                            op->raw->priority,
                                            op->raw->match,
                                            op->raw->match_len)
                : ofp_put_bundle_flow_mod(&c->tx, conn_xid__(c), id, flags,
                                          op->flow, op->command);
        if (error && !op->flow) {
            LOG_WARN("cannot encode a raw deletion: %s", strerror(-error));
        } else if (error) {
            char *s = flow_format(b->ops[i].flow);
            LOG_WARN("cannot encode flow %s: %s", s, strerror(-error));
            free(s);
        } else if (c->tx.size >= OFCONN_TX_CHUNK) {
            error = conn_flush__(c);
        }
    }
    uint32_t barrier_xid = conn_xid__(c);
    if (error) {
        /* Nothing may have been sent yet; close what was opened, if any. */
        ofp_buf_clear(&c->tx);
        int e = bundle_ctrl__(c, id, OFPBCT_DISCARD_REQUEST, "bundle discard");
        return e == -EPROTO || !e ? error : e;
    }
    ofp_put_empty(&c->tx, OFPT_BARRIER_REQUEST, barrier_xid);
    error = conn_flush__(c);

    /* Collect the verdicts on OPEN and every ADD_MESSAGE. */
    unsigned int n_errors = 0;
    while (!error) {
        struct ofp_msg msg;
        error = conn_recv__(c, &msg);
        if (error) {
            break;
        }
        if (msg.type == OFPT_ERROR) {
            bool ours = msg.xid == open_xid
                        || (msg.xid >= first_xid && msg.xid < barrier_xid);
            log_error__(&msg, ours ? "a flow-mod in the bundle"
                                   : "an earlier request");
            n_errors += ours;
        } else if (msg.type == OFPT_BARRIER_REPLY && msg.xid == barrier_xid) {
            break;
        }
    }
    if (error) {
        return error;
    }
    if (n_errors) {
        error = bundle_ctrl__(c, id, OFPBCT_DISCARD_REQUEST, "bundle discard");
        return error && error != -EPROTO ? error : -EPROTO;
    }
    return bundle_ctrl__(c, id, OFPBCT_COMMIT_REQUEST, "bundle commit");
}

/* --- sync -------------------------------------------------------------- */

struct sync_ctx__ {
    struct bundle__ bundle;
    struct ofconn_sync_stats stats;
};

static void
sync_diff_cb__(void *aux, const struct flow *old_flow,
               const struct flow *new_flow)
{
    struct sync_ctx__ *ctx = aux;
    if (!old_flow) {
        bundle_add__(&ctx->bundle, new_flow, OFPFC_ADD);
        ctx->stats.added++;
    } else if (!new_flow) {
        bundle_add__(&ctx->bundle, old_flow, OFPFC_DELETE_STRICT);
        ctx->stats.removed++;
    } else {
        /* MODIFY_STRICT keeps the counters but, since OpenFlow 1.2, also the
         * old cookie; a new cookie needs an ADD, which replaces the rule. */
        bundle_add__(&ctx->bundle, new_flow,
                     old_flow->cookie == new_flow->cookie
                     ? OFPFC_MODIFY_STRICT : OFPFC_ADD);
        ctx->stats.modified++;
    }
}

int
ofconn_sync(struct ofconn *c, const struct flow_set *desired,
            struct ofconn_sync_stats *stats)
{
    struct sync_ctx__ ctx;
    struct raw_flows__ raw = { 0 };
    struct flow_set cur;

    memset(&ctx, 0, sizeof ctx);
    if (stats) {
        memset(stats, 0, sizeof *stats);
    }
    flow_set_init(&cur);
    int error = dump__(c, &cur, NULL, &raw);
    if (!error) {
        /* Flows we cannot represent are never desired: delete them by their
         * raw match, before the diff's own changes. */
        for (size_t i = 0; i < raw.n; i++) {
            ctx.bundle.ops = xgrow(ctx.bundle.ops, &ctx.bundle.cap,
                                   ctx.bundle.n + 1, sizeof *ctx.bundle.ops);
            ctx.bundle.ops[ctx.bundle.n++] = (struct bundle_op__) {
                NULL, OFPFC_DELETE_STRICT, &raw.v[i] };
            ctx.stats.removed++;
        }
        flow_set_diff(&cur, desired, sync_diff_cb__, &ctx);
        error = bundle_run__(c, &ctx.bundle);
    }
    raw_flows_destroy__(&raw);
    if (!error && stats) {
        *stats = ctx.stats;
    }
    free(ctx.bundle.ops);
    flow_set_destroy(&cur);
    return error;
}

int
ofconn_apply_delta(struct ofconn *c,
                   const struct flow *const *add, size_t n_add,
                   const struct flow *const *modify, size_t n_modify,
                   const struct flow *const *remove, size_t n_remove)
{
    struct bundle__ b = { 0 };

    for (size_t i = 0; i < n_remove; i++) {
        bundle_add__(&b, remove[i], OFPFC_DELETE_STRICT);
    }
    /* The old cookie is unknown here, so a modification is an ADD, which
     * replaces the rule with exactly the new flow (cookie included). */
    for (size_t i = 0; i < n_modify; i++) {
        bundle_add__(&b, modify[i], OFPFC_ADD);
    }
    for (size_t i = 0; i < n_add; i++) {
        bundle_add__(&b, add[i], OFPFC_ADD);
    }
    int error = bundle_run__(c, &b);
    free(b.ops);
    return error;
}
