/* pkt.c — see pkt.h. */
#include "agent/pkt.h"
#include "lib/packet.h"
#include "agent/arp.h"
#include "agent/icmp.h"
#include "lib/addr.h"
#include "datapath/ofp-msgs.h"
#include "datapath/ofp-packet.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/event.h>

LOG_MODULE(pkt);

#define PKT_BACKOFF_MIN_MS 100
#define PKT_BACKOFF_MAX_MS 5000
#define PKT_READ_BUDGET (256 * 1024)    /* bytes per read callback */
#define PKT_TX_MAX (1024 * 1024)        /* send queue limit for replies */

struct pkt_bucket {
    double tokens;
    double rate;              /* per second */
    double burst;
    long long last_ms;
};

struct pkt_path {
    struct event_base *base;
    char *path;               /* unix socket path; NULL: no connection */
    int fd;
    bool hello_seen;
    struct event *read_ev;
    struct event *write_ev;
    struct event *retry_timer;
    int backoff_ms;
    uint32_t next_xid;
    struct ofp_buf rx;        /* bytes [rx_ofs, rx.size) not yet used */
    size_t rx_ofs;
    struct ofp_buf tx;        /* bytes [tx_ofs, tx.size) not yet sent */
    size_t tx_ofs;

    const struct pkt_action *actions;
    const struct pkt_action **index;     /* sorted by id */
    size_t n_actions;

    struct pkt_bucket kind_bucket[PKT_N_KINDS];
    struct pkt_bucket global_bucket;
    struct pkt_stats stats;

    struct pkt_neighbor *neighbors;
    size_t n_neighbors, allocated_neighbors;
    pkt_neighbors_changed_cb *neighbor_cb;
    void *neighbor_aux;

    struct pkt_log_event *log;          /* ring of PKT_LOG_QUEUE */
    size_t log_head, n_log;
    uint64_t log_suppressed;
};

static const char *const pkt_kind_names__[] = {
#define PKT_KIND_NAME__(E, N, S) [N] = S,
    PKT_KINDS(PKT_KIND_NAME__)
#undef PKT_KIND_NAME__
};

const char *
pkt_kind_name(unsigned int kind)
{
    return kind < PKT_N_KINDS ? pkt_kind_names__[kind] : "unknown";
}

void
pkt_action_copy(struct pkt_action *dst, const struct pkt_action *src)
{
    *dst = *src;
    dst->port = xstrdup(src->port ? src->port : "");
    dst->network = xstrdup(src->network ? src->network : "");
}

void
pkt_action_clear(struct pkt_action *a)
{
    if (a) {
        free(a->port);
        free(a->network);
        a->port = NULL;
        a->network = NULL;
    }
}

/* ---- rate limiting ----------------------------------------------------- */

static void
pkt_bucket_init__(struct pkt_bucket *b, unsigned int rate, unsigned int burst)
{
    b->rate = rate;
    b->burst = burst;
    b->tokens = burst;
    b->last_ms = time_msec();
}

static void
pkt_bucket_refill__(struct pkt_bucket *b, long long now)
{
    if (now > b->last_ms) {
        b->tokens += (double) (now - b->last_ms) * b->rate / 1000.0;
        if (b->tokens > b->burst) {
            b->tokens = b->burst;
        }
        b->last_ms = now;
    }
}

/* Takes one token from both buckets, or none when either is empty. */
static bool
pkt_rate_allow__(struct pkt_path *pp, unsigned int kind)
{
    long long now = time_msec();
    struct pkt_bucket *k = &pp->kind_bucket[kind];
    struct pkt_bucket *g = &pp->global_bucket;

    pkt_bucket_refill__(k, now);
    pkt_bucket_refill__(g, now);
    if (k->tokens < 1.0 || g->tokens < 1.0) {
        return false;
    }
    k->tokens -= 1.0;
    g->tokens -= 1.0;
    return true;
}

void
pkt_path_set_limits(struct pkt_path *pp, unsigned int kind_rate,
                    unsigned int kind_burst, unsigned int global_rate,
                    unsigned int global_burst)
{
    for (size_t i = 0; i < PKT_N_KINDS; i++) {
        pkt_bucket_init__(&pp->kind_bucket[i], kind_rate, kind_burst);
    }
    pkt_bucket_init__(&pp->kind_bucket[PKT_ARP_RESOLVE],
                      MIN(kind_rate, PKT_ARP_RESOLVE_RATE),
                      MIN(kind_burst, PKT_ARP_RESOLVE_BURST));
    pkt_bucket_init__(&pp->global_bucket, global_rate, global_burst);
}

/* ---- actions ----------------------------------------------------------- */

static int
pkt_action_cmp__(const void *a_, const void *b_)
{
    const struct pkt_action *a = *(const struct pkt_action *const *) a_;
    const struct pkt_action *b = *(const struct pkt_action *const *) b_;
    return a->id < b->id ? -1 : a->id > b->id;
}

void
pkt_path_set_actions(struct pkt_path *pp, const struct pkt_action *actions,
                     size_t n)
{
    if (actions == pp->actions && n == pp->n_actions) {
        return;
    }
    free(pp->index);
    pp->actions = actions;
    pp->n_actions = n;
    pp->index = xcalloc(n ? n : 1, sizeof *pp->index);
    for (size_t i = 0; i < n; i++) {
        pp->index[i] = &actions[i];
    }
    qsort(pp->index, n, sizeof *pp->index, pkt_action_cmp__);
}

static const struct pkt_action *
pkt_find__(const struct pkt_path *pp, uint32_t id)
{
    size_t lo = 0, hi = pp->n_actions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t m = pp->index[mid]->id;
        if (m == id) {
            return pp->index[mid];
        }
        if (m < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* ---- dispatch ---------------------------------------------------------- */

#define PKT_IP_PROTO_ICMP 1
#define PKT_IP_PROTO_TCP 6
#define PKT_IP_PROTO_UDP 17
#define PKT_TCP_HLEN 20
#define PKT_IP_OFFSET 0x1fff           /* fragment offset bits */
#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_ACK 0x10
#define PKT_RST_LEN (PACKET_ETH_HLEN + PACKET_IP_HLEN + PKT_TCP_HLEN)

/* REJECT of a TCP segment: the reset RFC 793 sends for a segment that
 * reaches no connection (see pkt.h), from the segment's destination back to
 * its source.  0, -ENOMSG when the segment is itself a reset, -EPERM when
 * the RFC 1812 address rules forbid an answer, -EBADMSG for a truncated
 * header. */
static int
pkt_build_rst__(const struct packet_ipv4 *pkt, uint8_t *out, size_t cap,
                size_t *len)
{
    if (!icmp_may_answer(pkt)) {
        return -EPERM;
    }
    const uint8_t *tcp = pkt->ip + pkt->ihl;
    if (pkt->avail < pkt->ihl + PKT_TCP_HLEN) {
        return -EBADMSG;
    }
    size_t doff = (size_t) (tcp[12] >> 4) * 4;
    if (doff < PKT_TCP_HLEN || pkt->tot_len < pkt->ihl + doff) {
        return -EBADMSG;
    }
    uint8_t flags = tcp[13];
    if (flags & PKT_TCP_RST) {
        return -ENOMSG;
    }
    if (cap < PKT_RST_LEN) {
        return -ENOSPC;
    }

    uint32_t seq = 0, ack = 0;
    uint8_t rst_flags = PKT_TCP_RST;
    if (flags & PKT_TCP_ACK) {
        seq = packet_get_be32(tcp + 8);
    } else {
        ack = packet_get_be32(tcp + 4) + (uint32_t) (pkt->tot_len - pkt->ihl
                                                     - doff)
              + !!(flags & PKT_TCP_SYN) + !!(flags & PKT_TCP_FIN);
        rst_flags |= PKT_TCP_ACK;
    }

    memset(out, 0, PKT_RST_LEN);
    packet_put_eth_header(out, pkt->eth_src, pkt->eth_dst,
                          PACKET_ETH_TYPE_IPV4);
    packet_put_ip_header(out + PACKET_ETH_HLEN, PKT_IP_PROTO_TCP,
                         packet_get_be16(pkt->ip + 4), pkt->dst, pkt->src,
                         PKT_TCP_HLEN);
    uint8_t *rst = out + PACKET_ETH_HLEN + PACKET_IP_HLEN;
    memcpy(rst, tcp + 2, 2);                  /* source port = their dst */
    memcpy(rst + 2, tcp, 2);
    packet_put_be32(rst + 4, seq);
    packet_put_be32(rst + 8, ack);
    rst[12] = (PKT_TCP_HLEN / 4) << 4;
    rst[13] = rst_flags;

    /* The checksum covers the pseudo-header (source, destination, zero,
     * protocol, TCP length) and the segment. */
    uint8_t pseudo[12];
    packet_put_be32(pseudo, pkt->dst);
    packet_put_be32(pseudo + 4, pkt->src);
    packet_put_be16(pseudo + 8, PKT_IP_PROTO_TCP);
    packet_put_be16(pseudo + 10, PKT_TCP_HLEN);
    uint32_t sum = packet_csum_add(0, pseudo, sizeof pseudo);
    packet_put_be16(rst + 16,
                    packet_csum_fold(packet_csum_add(sum, rst, PKT_TCP_HLEN)));
    *len = PKT_RST_LEN;
    return 0;
}

/* REJECT: a TCP reset for TCP, an ICMP port unreachable for other IPv4,
 * both from the packet's own destination. */
static int
pkt_build_reject__(const struct ofp_packet_in *pin, uint8_t *out, size_t cap,
                   size_t *len)
{
    struct packet_ipv4 pkt;
    if (packet_parse_ipv4(pin->packet, pin->packet_len, &pkt)) {
        return -EBADMSG;
    }
    if (pkt.proto == PKT_IP_PROTO_TCP && !(pkt.frag_off & PKT_IP_OFFSET)) {
        return pkt_build_rst__(&pkt, out, cap, len);
    }
    return icmp_build_error(ICMP_ERR_PORT_UNREACHABLE, pkt.dst, pkt.eth_dst,
                            pin->packet, pin->packet_len, out, cap, len);
}

/* Builds the reply frame for 'a' into 'out'.  0, or the builder's error. */
static int
pkt_build_reply__(const struct pkt_action *a, const struct ofp_packet_in *pin,
                  uint8_t *out, size_t cap, size_t *len)
{
    switch (a->kind) {
    case PKT_DHCP:
        return dhcp_reply(&a->lease, pin->packet, pin->packet_len, out, cap,
                          len, NULL);
    case PKT_ICMP_TIME_EXCEEDED:
        return icmp_build_error(ICMP_ERR_TIME_EXCEEDED, a->router_ip,
                                a->router_mac, pin->packet, pin->packet_len,
                                out, cap, len);
    case PKT_ICMP_NET_UNREACHABLE:
        return icmp_build_error(ICMP_ERR_NET_UNREACHABLE, a->router_ip,
                                a->router_mac, pin->packet, pin->packet_len,
                                out, cap, len);
    case PKT_ICMP_HOST_UNREACHABLE:
        return icmp_build_error(ICMP_ERR_HOST_UNREACHABLE, a->router_ip,
                                a->router_mac, pin->packet, pin->packet_len,
                                out, cap, len);
    case PKT_REJECT:
        return pkt_build_reject__(pin, out, cap, len);
    default:
        return -ENOMSG;
    }
}

/* LOG: queues what the packet was, under the cookie of the rule's flow,
 * for the next heartbeat. */
static void
pkt_log__(struct pkt_path *pp, const struct ofp_packet_in *pin)
{
    struct packet_ipv4 ip;
    struct timespec ts;

    if (packet_parse_ipv4(pin->packet, pin->packet_len, &ip)) {
        pp->stats.malformed++;
        return;
    }
    if (pp->n_log == PKT_LOG_QUEUE) {
        pp->log_suppressed++;
        return;
    }
    if (!pp->log) {
        pp->log = xcalloc(PKT_LOG_QUEUE, sizeof *pp->log);
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    struct pkt_log_event *e = &pp->log[(pp->log_head + pp->n_log++)
                                       % PKT_LOG_QUEUE];
    *e = (struct pkt_log_event) {
        .cookie = pin->cookie,
        .time_ms = (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000,
        .in_ofport = pin->regs[14],
        .out_ofport = pin->regs[15],
        .ip_proto = ip.proto,
        .src = ip.src,
        .dst = ip.dst,
        .length = (uint32_t) pin->packet_len,
    };
    /* Ports (ICMP: type and code) of a first fragment that has them. */
    const uint8_t *l4 = ip.ip + ip.ihl;
    size_t l4_len = ip.avail - ip.ihl;
    if (!(ip.frag_off & PKT_IP_OFFSET)) {
        if ((ip.proto == PKT_IP_PROTO_TCP || ip.proto == PKT_IP_PROTO_UDP)
            && l4_len >= 4) {
            e->src_port = packet_get_be16(l4);
            e->dst_port = packet_get_be16(l4 + 2);
        } else if (ip.proto == PKT_IP_PROTO_ICMP && l4_len >= 2) {
            e->src_port = l4[0];
            e->dst_port = l4[1];
        }
    }
    pp->stats.per_kind[PKT_LOG]++;
}

size_t
pkt_path_take_log(struct pkt_path *pp, struct pkt_log_event *out, size_t max,
                  uint64_t *suppressed)
{
    size_t n = 0;
    while (n < max && pp->n_log) {
        out[n++] = pp->log[pp->log_head];
        pp->log_head = (pp->log_head + 1) % PKT_LOG_QUEUE;
        pp->n_log--;
    }
    if (suppressed) {
        *suppressed = pp->log_suppressed;
    }
    return n;
}

/* ARP_LEARN: records the sender of an ARP reply to the router's gateway
 * port when it is the address the action waits for. */
static void
pkt_learn__(struct pkt_path *pp, const struct pkt_action *a,
            const struct ofp_packet_in *pin)
{
    struct arp_packet arp;
    const char *network = a->network ? a->network : "";
    char ipbuf[IP4_STRLEN], macbuf[ETH_ADDR_STRLEN];

    if (arp_parse(pin->packet, pin->packet_len, &arp)) {
        pp->stats.malformed++;
        LOG_INFO_RL("arp-learn action %u: not an Ethernet/IPv4 ARP packet",
                    a->id);
        return;
    }
    if (arp.op != ARP_OP_REPLY || arp.spa != a->target_ip
        || eth_is_multicast(arp.sha) || !arp.sha) {
        pp->stats.ignored++;
        return;
    }
    pp->stats.per_kind[PKT_ARP_LEARN]++;

    struct pkt_neighbor *nb = NULL;
    for (size_t i = 0; i < pp->n_neighbors; i++) {
        if (pp->neighbors[i].ip == arp.spa
            && !strcmp(pp->neighbors[i].network, network)) {
            nb = &pp->neighbors[i];
            break;
        }
    }
    if (nb && nb->mac == arp.sha) {
        return;
    }
    eth_format(arp.sha, macbuf);
    ip4_format(arp.spa, ipbuf);
    if (!nb) {
        if (pp->n_neighbors >= PKT_MAX_NEIGHBORS) {
            LOG_WARN_RL("neighbour table full; not learning %s at %s on %s",
                        ipbuf, macbuf, network);
            return;
        }
        if (pp->n_neighbors == pp->allocated_neighbors) {
            pp->neighbors = xgrow(pp->neighbors, &pp->allocated_neighbors,
                                  pp->n_neighbors + 1,
                                  sizeof *pp->neighbors);
        }
        nb = &pp->neighbors[pp->n_neighbors++];
        nb->network = xstrdup(network);
        nb->ip = arp.spa;
        LOG_INFO_RL("learned neighbour %s at %s on external network %s",
                    ipbuf, macbuf, network);
    } else {
        LOG_INFO_RL("neighbour %s on external network %s moved to %s",
                    ipbuf, network, macbuf);
    }
    nb->mac = arp.sha;
    pp->stats.neighbor_changes++;
    if (pp->neighbor_cb) {
        pp->neighbor_cb(pp->neighbor_aux);
    }
}

/* ARP_RESOLVE: the triggering packet is dropped; an ARP request for the
 * target enters the external switch's L2 table as if from the router's
 * gateway port, and is flooded from there. */
static void
pkt_resolve__(struct pkt_path *pp, const struct pkt_action *a,
              struct ofp_buf *out)
{
    uint8_t frame[ARP_FRAME_LEN];
    size_t len = 0;

    if (pp->tx.size - pp->tx_ofs > PKT_TX_MAX) {
        pp->stats.tx_dropped++;
        LOG_WARN_RL("switch not reading; dropping an ARP request");
        return;
    }
    arp_build_request(a->router_mac, a->router_ip, a->target_ip, frame,
                      sizeof frame, &len);
    struct flow_action acts[4] = {
        { .type = FA_SET_FIELD, .field = FF_METADATA,
          .value = a->network_vni },
        { .type = FA_SET_FIELD, .field = FF_REG13, .value = 0 },
        { .type = FA_SET_FIELD, .field = FF_REG14, .value = 0 },
        { .type = FA_RESUBMIT, .arg = PKT_SWITCH_L2_TABLE },
    };
    int r = ofp_put_packet_out(out, pp->next_xid++, OFPP_CONTROLLER, acts, 4,
                               frame, len);
    if (r) {
        pp->stats.tx_dropped++;
        LOG_WARN_RL("cannot encode a packet-out: %s", strerror(-r));
        return;
    }
    pp->stats.replies++;
    pp->stats.per_kind[PKT_ARP_RESOLVE]++;
}

static void
pkt_handle_packet_in__(struct pkt_path *pp, const struct ofp_msg *msg,
                       struct ofp_buf *out)
{
    struct ofp_packet_in pin;
    uint16_t id;

    pp->stats.rx++;
    if (ofp_decode_packet_in(msg, &pin)) {
        pp->stats.malformed++;
        LOG_WARN_RL("malformed packet-in from the switch");
        return;
    }
    if (!ofp_packet_in_userdata16(&pin, &id)) {
        pp->stats.unknown++;
        LOG_INFO_RL("packet-in without anet userdata (table %u, cookie "
                    "%#llx); dropped", pin.table_id,
                    (unsigned long long) pin.cookie);
        return;
    }
    const struct pkt_action *a = pkt_find__(pp, id);
    if (!a || a->kind == PKT_NONE || a->kind >= PKT_N_KINDS) {
        pp->stats.unknown++;
        LOG_INFO_RL("packet-in for unknown packet action %u; dropped", id);
        return;
    }
    if (!pkt_rate_allow__(pp, a->kind)) {
        pp->stats.rate_limited++;
        pp->log_suppressed += a->kind == PKT_LOG;
        LOG_WARN_RL("%s packets over the rate limit; dropping (%llu dropped "
                    "so far)", pkt_kind_name(a->kind),
                    (unsigned long long) pp->stats.rate_limited);
        return;
    }
    if (a->kind == PKT_ARP_RESOLVE) {
        pkt_resolve__(pp, a, out);
        return;
    }
    if (a->kind == PKT_ARP_LEARN) {
        pkt_learn__(pp, a, &pin);
        return;
    }
    if (a->kind == PKT_LOG) {
        pkt_log__(pp, &pin);
        return;
    }
    if (!pin.has_in_port) {
        pp->stats.malformed++;
        LOG_WARN_RL("packet-in for action %u without an in_port", id);
        return;
    }

    uint8_t frame[DHCP_REPLY_MAX_LEN > ICMP_ERROR_MAX_LEN
                  ? DHCP_REPLY_MAX_LEN : ICMP_ERROR_MAX_LEN];
    size_t len = 0;
    int r = pkt_build_reply__(a, &pin, frame, sizeof frame, &len);
    if (r == -ENOMSG || r == -EPERM) {
        pp->stats.ignored++;
        return;
    } else if (r) {
        pp->stats.malformed++;
        LOG_INFO_RL("%s action %u: cannot answer a packet from port %u: %s",
                    pkt_kind_name(a->kind), id, pin.in_port, strerror(-r));
        return;
    }

    if (pp->tx.size - pp->tx_ofs > PKT_TX_MAX) {
        pp->stats.tx_dropped++;
        LOG_WARN_RL("switch not reading; dropping a %s reply",
                    pkt_kind_name(a->kind));
        return;
    }
    /* Replies go back out of the port the packet came in on, except ICMP
     * errors of a router that knows its datapath: those enter the router's
     * L3 table as if sent by the router port, and are routed back to the
     * sender (who may be several routers away, behind a rewritten source
     * MAC) like any other packet.  A reject that knows its switch
     * (network_vni) enters that switch's L2 table instead, so that the
     * answer also reaches a sender on another host (the rejected packet
     * may have come in through the tunnel); without it, the answer takes
     * the direct way back. */
    struct flow_action acts[4] = {
        { .type = FA_OUTPUT, .arg = OFPP_IN_PORT },
    };
    size_t n_acts = 1;
    uint32_t in_port = pin.in_port;
    if (a->kind != PKT_DHCP && a->kind != PKT_REJECT && a->router_metadata) {
        acts[0] = (struct flow_action) { .type = FA_SET_FIELD,
                                         .field = FF_METADATA,
                                         .value = a->router_metadata };
        acts[1] = (struct flow_action) { .type = FA_SET_FIELD,
                                         .field = FF_REG14,
                                         .value = a->router_port_key };
        acts[2] = (struct flow_action) { .type = FA_RESUBMIT,
                                         .arg = PKT_ROUTER_L3_TABLE };
        n_acts = 3;
        in_port = OFPP_CONTROLLER;
        /* The neighbour table decrements the TTL of everything it
         * forwards, this router's own packets included; start one higher so
         * that the error leaves the router with the usual 64. */
        if (len >= PACKET_ETH_HLEN + PACKET_IP_HLEN) {
            uint8_t *ip = frame + PACKET_ETH_HLEN;
            ip[8] = 65;
            packet_put_be16(ip + 10, 0);
            packet_put_be16(ip + 10, packet_csum(ip, (size_t) (ip[0] & 0xf) * 4));
        }
    }
    if (a->kind == PKT_REJECT && a->network_vni) {
        acts[0] = (struct flow_action) { .type = FA_SET_FIELD,
                                         .field = FF_METADATA,
                                         .value = a->network_vni };
        acts[1] = (struct flow_action) { .type = FA_SET_FIELD,
                                         .field = FF_REG13, .value = 0 };
        acts[2] = (struct flow_action) { .type = FA_SET_FIELD,
                                         .field = FF_REG14, .value = 0 };
        acts[3] = (struct flow_action) { .type = FA_RESUBMIT,
                                         .arg = PKT_SWITCH_L2_TABLE };
        n_acts = 4;
        in_port = OFPP_CONTROLLER;
    }
    r = ofp_put_packet_out(out, pp->next_xid++, in_port, acts, n_acts,
                           frame, len);
    if (r) {
        pp->stats.tx_dropped++;
        LOG_WARN_RL("cannot encode a packet-out: %s", strerror(-r));
        return;
    }
    pp->stats.replies++;
    pp->stats.per_kind[a->kind]++;
}

int
pkt_path_handle_msg(struct pkt_path *pp, const struct ofp_msg *msg,
                    struct ofp_buf *out)
{
    switch (msg->type) {
    case OFPT_HELLO: {
        uint32_t versions = 0;
        if (ofp_decode_hello(msg, &versions)
            || !(versions & (1u << OFP15_VERSION))) {
            LOG_WARN_RL("switch does not speak OpenFlow 1.5 (versions %#x)",
                        versions);
            return -EPROTO;
        }
        pp->hello_seen = true;
        return 0;
    }
    case OFPT_ECHO_REQUEST:
        ofp_put_echo_reply(out, msg);
        return 0;
    case OFPT_ERROR: {
        uint16_t type = 0, code = 0;
        ofp_decode_error(msg, &type, &code);
        pp->stats.switch_errors++;
        LOG_WARN_RL("switch sent OpenFlow error %s (type %u), code %u, xid "
                    "%u on the packet connection", ofp_error_type_name(type),
                    type, code, msg->xid);
        return 0;
    }
    default:
        if (ofp_is_packet_in(msg)) {
            pkt_handle_packet_in__(pp, msg, out);
        }
        return 0;
    }
}

/* ---- connection -------------------------------------------------------- */

static void pkt_schedule_connect__(struct pkt_path *);

static void
pkt_disconnect__(struct pkt_path *pp)
{
    if (pp->fd >= 0) {
        event_del(pp->read_ev);
        event_del(pp->write_ev);
        event_free(pp->read_ev);
        event_free(pp->write_ev);
        pp->read_ev = pp->write_ev = NULL;
        close(pp->fd);
        pp->fd = -1;
    }
    pp->hello_seen = false;
    ofp_buf_clear(&pp->rx);
    ofp_buf_clear(&pp->tx);
    pp->rx_ofs = pp->tx_ofs = 0;
}

static void
pkt_drop__(struct pkt_path *pp, const char *why)
{
    LOG_WARN_RL("packet connection to %s lost (%s); reconnecting", pp->path,
                why);
    pkt_disconnect__(pp);
    pkt_schedule_connect__(pp);
}

/* Sends what the transmit queue holds; waits for writability if needed.
 * Returns 0 or -errno (the connection is then dropped by the caller). */
static int
pkt_flush__(struct pkt_path *pp)
{
    while (pp->tx_ofs < pp->tx.size) {
        ssize_t n = send(pp->fd, pp->tx.data + pp->tx_ofs,
                         pp->tx.size - pp->tx_ofs, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            pp->tx_ofs += n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            event_add(pp->write_ev, NULL);
            return 0;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return n < 0 ? -errno : -EPIPE;
        }
    }
    ofp_buf_clear(&pp->tx);
    pp->tx_ofs = 0;
    event_del(pp->write_ev);
    return 0;
}

static void
pkt_write_cb__(evutil_socket_t fd, short what, void *aux)
{
    struct pkt_path *pp = aux;
    int r = pkt_flush__(pp);
    if (r) {
        pkt_drop__(pp, strerror(-r));
    }
}

static void
pkt_read_cb__(evutil_socket_t fd, short what, void *aux)
{
    struct pkt_path *pp = aux;
    size_t budget = PKT_READ_BUDGET;
    bool eof = false;
    int err = 0;

    /* Compact, then read up to the budget. */
    if (pp->rx_ofs) {
        memmove(pp->rx.data, pp->rx.data + pp->rx_ofs,
                pp->rx.size - pp->rx_ofs);
        pp->rx.size -= pp->rx_ofs;
        pp->rx_ofs = 0;
    }
    while (budget) {
        if (pp->rx.allocated - pp->rx.size < 65536) {
            pp->rx.data = xgrow(pp->rx.data, &pp->rx.allocated,
                                pp->rx.size + 65536, 1);
        }
        size_t room = MIN(budget, pp->rx.allocated - pp->rx.size);
        ssize_t n = recv(pp->fd, pp->rx.data + pp->rx.size, room,
                         MSG_DONTWAIT);
        if (n > 0) {
            pp->rx.size += n;
            budget -= n;
        } else if (n == 0) {
            eof = true;
            break;
        } else if (errno == EINTR) {
            continue;
        } else {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                err = errno;
            }
            break;
        }
    }

    size_t tx_before = pp->tx.size;
    for (;;) {
        struct ofp_msg msg;
        int r = ofp_msg_parse(pp->rx.data + pp->rx_ofs,
                              pp->rx.size - pp->rx_ofs, &msg);
        if (r == -EAGAIN) {
            break;
        }
        if (r) {
            pkt_drop__(pp, "malformed OpenFlow header");
            return;
        }
        pp->rx_ofs += msg.length;
        if (pkt_path_handle_msg(pp, &msg, &pp->tx)) {
            pkt_drop__(pp, "version negotiation failed");
            return;
        }
        if (pp->hello_seen) {
            pp->backoff_ms = PKT_BACKOFF_MIN_MS;
        }
    }
    if (pp->tx.size != tx_before) {
        int r = pkt_flush__(pp);
        if (r) {
            pkt_drop__(pp, strerror(-r));
            return;
        }
    }
    if (eof) {
        pkt_drop__(pp, "closed by the switch");
    } else if (err) {
        pkt_drop__(pp, strerror(err));
    }
}

static void
pkt_connect__(struct pkt_path *pp)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(pp->path) >= sizeof sun.sun_path) {
        LOG_WARN_RL("socket path %s too long", pp->path);
        pkt_schedule_connect__(pp);
        return;
    }
    strcpy(sun.sun_path, pp->path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *) &sun, sizeof sun) < 0) {
        LOG_DBG("cannot connect to %s: %s", pp->path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        pkt_schedule_connect__(pp);
        return;
    }
    pp->fd = fd;
    pp->read_ev = event_new(pp->base, fd, EV_READ | EV_PERSIST,
                            pkt_read_cb__, pp);
    pp->write_ev = event_new(pp->base, fd, EV_WRITE, pkt_write_cb__, pp);
    event_add(pp->read_ev, NULL);
    pp->stats.connects++;

    ofp_put_hello(&pp->tx, pp->next_xid++);
    ofp_put_packet_in_setup(&pp->tx, pp->next_xid);
    pp->next_xid += 2;
    int r = pkt_flush__(pp);
    if (r) {
        pkt_drop__(pp, strerror(-r));
        return;
    }
    LOG_INFO("packet connection to %s up", pp->path);
}

static void
pkt_retry_cb__(evutil_socket_t fd, short what, void *aux)
{
    pkt_connect__(aux);
}

static void
pkt_schedule_connect__(struct pkt_path *pp)
{
    int b = pp->backoff_ms;
    struct timeval tv = { b / 1000, (b % 1000) * 1000 };

    pp->backoff_ms = MIN(b * 2, PKT_BACKOFF_MAX_MS);
    evtimer_add(pp->retry_timer, &tv);
}

/* ---- life cycle -------------------------------------------------------- */

struct pkt_path *
pkt_path_create(struct event_base *base, const char *target)
{
    struct pkt_path *pp = xzalloc(sizeof *pp);

    pp->base = base;
    pp->fd = -1;
    pp->backoff_ms = PKT_BACKOFF_MIN_MS;
    pp->next_xid = 1;
    pp->index = xcalloc(1, sizeof *pp->index);
    ofp_buf_init(&pp->rx);
    ofp_buf_init(&pp->tx);
    pkt_path_set_limits(pp, 100, 200, 500, 1000);
    if (target) {
        pp->path = xstrdup(!strncmp(target, "unix:", 5) ? target + 5 : target);
        pp->retry_timer = evtimer_new(base, pkt_retry_cb__, pp);
        struct timeval now = { 0, 0 };
        evtimer_add(pp->retry_timer, &now);
    }
    return pp;
}

void
pkt_path_destroy(struct pkt_path *pp)
{
    if (!pp) {
        return;
    }
    pkt_disconnect__(pp);
    if (pp->retry_timer) {
        event_free(pp->retry_timer);
    }
    ofp_buf_destroy(&pp->rx);
    ofp_buf_destroy(&pp->tx);
    free(pp->index);
    free(pp->path);
    for (size_t i = 0; i < pp->n_neighbors; i++) {
        free(pp->neighbors[i].network);
    }
    free(pp->neighbors);
    free(pp->log);
    free(pp);
}

void
pkt_path_get_stats(const struct pkt_path *pp, struct pkt_stats *st)
{
    *st = pp->stats;
}

bool
pkt_path_is_connected(const struct pkt_path *pp)
{
    return pp->fd >= 0 && pp->hello_seen;
}

const struct pkt_neighbor *
pkt_path_neighbors(const struct pkt_path *pp, size_t *n)
{
    *n = pp->n_neighbors;
    return pp->neighbors;
}

void
pkt_path_set_neighbor_cb(struct pkt_path *pp, pkt_neighbors_changed_cb *cb,
                         void *aux)
{
    pp->neighbor_cb = cb;
    pp->neighbor_aux = aux;
}
