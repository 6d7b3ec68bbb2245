/* acl-log.c — the packets security-group rules with the log flag decided
 * on, gathered from every agent.
 *
 * What: an agent queues one event per logged packet (agent/pkt.h, LOG:
 * the cookie of the rule's flow, the port registers, addresses, protocol,
 * ports) and sends the queue in its next Heartbeat.  Here each event is
 * resolved at once — cookie to rule (group, direction, index, action,
 * file:line:col) through the compiler, the filtered port's OpenFlow number
 * to its logical name through the host's compiled view — because a later
 * topology may no longer have that rule or number the port differently.
 * Every event goes to the controller's log (rate-limited) and into a ring
 * of the last CTL_ACL_LOG_KEEP, which GET /api/v1/acl-log and
 * `anetctl acl-log` read, oldest first, by sequence number (a client
 * polls with ?since=the last "next" it saw).
 *
 * Rate limits: the agent forwards at most its LOG token bucket's rate and
 * counts what it drops (cumulative per agent run, reported in each
 * Heartbeat as acl_log_suppressed); the sum over hosts is "suppressed" in
 * the API and anet_acl_log_suppressed in /metrics.
 *
 * Thread-safety: none (the controller's event loop).
 */
#include "controller/controller-private.h"
#include "controller/compile.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/anet.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

LOG_MODULE(acl_log);

static void
ctl_acl_event_clear__(struct ctl_acl_event *e)
{
    free(e->host);
    free(e->port);
    free(e->object);
    free(e->direction);
    free(e->action);
    free(e->file);
    memset(e, 0, sizeof *e);
}

void
ctl_acl_log_destroy(struct ctl_acl_log *log)
{
    if (!log || !log->ring) {
        return;
    }
    for (size_t i = 0; i < log->n; i++) {
        ctl_acl_event_clear__(&log->ring[(log->head + i) % CTL_ACL_LOG_KEEP]);
    }
    free(log->ring);
    memset(log, 0, sizeof *log);
}

/* The logical port of 'host' numbered 'ofport', or "". */
static const char *
ctl_acl_port_name__(const struct controller *ctl, const char *host,
                    uint32_t ofport)
{
    const struct compiled_host *ch = ctl_find_compiled(ctl, host);
    for (size_t i = 0; ch && ofport && i < ch->n_ports; i++) {
        if (ch->ports[i].ofport == ofport) {
            return ch->ports[i].name;
        }
    }
    return "";
}

static const char *
ctl_acl_proto_name__(uint8_t proto)
{
    return proto == 6 ? "tcp" : proto == 17 ? "udp" : proto == 1 ? "icmp"
           : "ip";
}

/* A fresh slot at the end of the ring (the oldest event makes room). */
static struct ctl_acl_event *
ctl_acl_log_push__(struct ctl_acl_log *log)
{
    if (!log->ring) {
        log->ring = xcalloc(CTL_ACL_LOG_KEEP, sizeof *log->ring);
    }
    if (log->n == CTL_ACL_LOG_KEEP) {
        ctl_acl_event_clear__(&log->ring[log->head]);
        log->head = (log->head + 1) % CTL_ACL_LOG_KEEP;
        log->n--;
    }
    struct ctl_acl_event *e = &log->ring[(log->head + log->n++)
                                         % CTL_ACL_LOG_KEEP];
    e->seq = ++log->next_seq;
    return e;
}

static void
ctl_acl_copy_ip__(char dst[16], const char *src)
{
    uint32_t ip;
    /* The wire is not trusted: anything but an address shows as "?". */
    if (src && ip4_parse(src, &ip) == 0) {
        ip4_format(ip, dst);
    } else {
        strcpy(dst, "?");
    }
}

void
ctl_acl_log_add(struct controller *ctl, const char *host,
                struct Anet__AclLogEvent *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const Anet__AclLogEvent *w = v[i];
        struct compile_sg_rule_info info;
        bool known = compiler_sg_rule(ctl->engine, w->cookie, &info);
        struct ctl_acl_event *e = ctl_acl_log_push__(&ctl->acl_log);

        e->time_ms = w->time_ms;
        e->host = xstrdup(host);
        e->cookie = w->cookie;
        e->ip_proto = (uint8_t) w->ip_proto;
        ctl_acl_copy_ip__(e->src, w->src);
        ctl_acl_copy_ip__(e->dst, w->dst);
        e->src_port = (uint16_t) w->src_port;
        e->dst_port = (uint16_t) w->dst_port;
        e->length = w->length;
        if (known) {
            bool ingress = !strcmp(info.direction, "ingress");
            e->object = xasprintf("security_groups.%s.%s[%zu]", info.group,
                                  info.direction, info.index);
            e->direction = xstrdup(info.direction);
            e->action = xstrdup(info.action);
            e->file = xstrdup(ctl->topology_file ? ctl->topology_file : "");
            e->line = info.line;
            e->col = info.col;
            e->port = xstrdup(ctl_acl_port_name__(
                ctl, host, ingress ? w->out_ofport : w->in_ofport));
        } else {
            e->object = xstrdup("");
            e->direction = xstrdup("");
            e->action = xstrdup("");
            e->file = xstrdup("");
            e->port = xstrdup("");
        }
        LOG_INFO_RL("acl-log: %s %s %s port %s %s %s:%u -> %s:%u by %s "
                    "(%s:%u:%u)", host, e->action[0] ? e->action : "?",
                    e->direction[0] ? e->direction : "?",
                    e->port[0] ? e->port : "?",
                    ctl_acl_proto_name__(e->ip_proto), e->src,
                    (unsigned int) e->src_port, e->dst,
                    (unsigned int) e->dst_port,
                    e->object[0] ? e->object : "an unknown rule", e->file,
                    e->line, e->col);
    }
}

json_t *
ctl_acl_log_json(const struct controller *ctl, uint64_t since, size_t limit)
{
    const struct ctl_acl_log *log = &ctl->acl_log;
    uint64_t suppressed = 0;
    json_t *events = json_array();
    size_t first = 0;

    /* The newest 'limit' of the events after 'since'. */
    size_t newer = 0;
    for (size_t i = 0; i < log->n; i++) {
        newer += log->ring[(log->head + i) % CTL_ACL_LOG_KEEP].seq > since;
    }
    if (newer > limit) {
        first = log->n - limit;
    }
    for (size_t i = first; i < log->n; i++) {
        const struct ctl_acl_event *e
            = &log->ring[(log->head + i) % CTL_ACL_LOG_KEEP];
        if (e->seq <= since) {
            continue;
        }
        char cookie[24];
        snprintf(cookie, sizeof cookie, "%#llx",
                 (unsigned long long) e->cookie);
        json_array_append_new(events, json_pack(
            "{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, "
            "s:s, s:i, s:i, s:i, s:s}",
            "seq", (json_int_t) e->seq, "time_ms", (json_int_t) e->time_ms,
            "host", e->host, "port", e->port, "object", e->object,
            "direction", e->direction, "action", e->action, "file", e->file,
            "line", (int) e->line, "col", (int) e->col,
            "protocol", ctl_acl_proto_name__(e->ip_proto),
            "src", e->src, "dst", e->dst,
            "src_port", (int) e->src_port, "dst_port", (int) e->dst_port,
            "length", (int) e->length, "cookie", cookie));
    }
    for (size_t i = 0; i < ctl->n_hosts; i++) {
        suppressed += ctl->hosts[i].acl_log_suppressed;
    }
    return json_pack("{s:o, s:I, s:I}", "events", events,
                     "next", (json_int_t) log->next_seq,
                     "suppressed", (json_int_t) suppressed);
}
