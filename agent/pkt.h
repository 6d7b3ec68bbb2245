/* pkt.h — the agent's packet path: packets the pipeline sends to the agent
 * (controller actions with a 16-bit userdata id) and the replies it sends
 * back with PACKET_OUT.
 *
 * What: a pkt_path owns a second OpenFlow 1.5 connection to br-int, used
 * only for asynchronous traffic.  After HELLO it asks for NXT_PACKET_IN2
 * (so the controller action's userdata arrives) and sets miss_send_len, as
 * a management-socket connection receives no packet-ins otherwise (see
 * datapath/ofp-packet.h).  Each packet-in's userdata is the id of a packet
 * action of the current desired state (anet.PacketAction): DHCP answers a
 * workload's DHCPDISCOVER/REQUEST from its lease (dhcp.h), the ICMP kinds
 * build a time-exceeded / unreachable error from the router port's address
 * (icmp.h).  The reply leaves with PACKET_OUT, in_port = the packet's in
 * port, action output:IN_PORT, i.e. straight back to the sender.
 *
 * External networks whose gateway MAC the topology does not give are
 * resolved by ARP (arp.h).  ARP_RESOLVE: a packet routed to the unknown
 * gateway reaches the agent; it is dropped, and instead an ARP request
 * from the router's gateway port (router_mac/router_ip) for target_ip is
 * injected into the external switch's L2 table (PACKET_OUT from
 * CONTROLLER: metadata = network_vni, reg13 = reg14 = 0, resubmit(,30)),
 * which floods it towards the provider network.  These requests have a
 * bucket of their own (at most 5/s, burst 5, whatever the other limits
 * say) so that a burst of traffic to an unresolved gateway does not become
 * an ARP storm.  ARP_LEARN: an ARP reply to the router's gateway port;
 * when its sender IP is target_ip, its sender MAC is recorded as the
 * neighbour {network, ip, mac}.  The learned neighbours live as long as
 * the path (controller and switch reconnects do not lose them; an agent
 * restart re-learns), are read with pkt_path_neighbors(), and a new or
 * changed one calls the callback set with pkt_path_set_neighbor_cb() so
 * that the agent reports it at once.
 *
 * REJECT: a security group rule rejected the packet.  A TCP segment that
 * is not itself a reset is answered with a TCP reset as RFC 793 ("Reset
 * Generation", no connection) says: when the segment carries an ACK, the
 * reset's sequence number is that acknowledgment number (flags RST);
 * otherwise the sequence number is 0 and it acknowledges the segment
 * (flags RST|ACK, ack = seq + payload length + 1 per SYN and FIN).  Any
 * other IPv4 packet gets an ICMP port unreachable (type 3 code 3, icmp.h).
 * Either reply pretends to come from the destination the packet was meant
 * for (its destination MAC and IP become the reply's sources) and leaves
 * by output:IN_PORT, straight back to the sender; the RFC 1812 address
 * rules of icmp.h apply to both (no answer to broadcasts, multicasts,
 * non-unique sources, non-first fragments).  The action needs no fields.
 *
 * LOG: a security-group rule with the log flag saw the packet; the
 * packet-in's cookie names the rule and its metadata the port registers
 * (reg14 in port, reg15 out port).  The agent queues an event (time, the
 * addresses, protocol and ports) for the next heartbeat, which carries it
 * to the controller.  LOG packets beyond the kind's token bucket or a full
 * queue (PKT_LOG_QUEUE) are dropped and counted as suppressed.
 *
 * Design: non-blocking, driven by the agent's libevent loop (unlike
 * ofconn.h, whose blocking calls are fine for a generation apply but not
 * for a stream of packets).  The connection is remade with backoff (100 ms
 * doubling to 5 s) whenever br-int's management socket is gone or the
 * switch closes it; echo requests are answered.  A flood cannot starve the
 * agent: each read callback handles a bounded number of bytes, and replies
 * are rate limited by token buckets, one per kind (100/s, burst 200) and
 * one global (500/s, burst 1000); what they refuse is dropped and counted,
 * and logged rate-limited.  Replies that find the socket's send queue over
 * 1 MB are dropped too.  The action table is looked up by binary search
 * over an index built when the desired state changes.
 *
 * pkt_path_handle_msg() is the whole dispatch for one received OpenFlow
 * message without any socket, so that tests feed it captured packet-ins.
 *
 * Errors: 0 or negative errno.  Thread-safety: none (one event loop).
 */
#ifndef ANET_PKT_H
#define ANET_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "agent/dhcp.h"

struct event_base;
struct ofp_buf;
struct ofp_msg;

/* anet.PacketAction.Kind; the numbers are the protocol's. */
/* The router L3 table of the br-int pipeline (docs/pipeline.md), where
 * routed ICMP errors are injected, and the L2 table, where ARP requests
 * enter the external switch. */
#define PKT_ROUTER_L3_TABLE 40
#define PKT_SWITCH_L2_TABLE 30

/* The ARP_RESOLVE bucket: never more than this, whatever the limits. */
#define PKT_ARP_RESOLVE_RATE 5
#define PKT_ARP_RESOLVE_BURST 5
/* At most this many learned neighbours are kept (new ones are refused). */
#define PKT_MAX_NEIGHBORS 1024

#define PKT_KINDS(X)                                  \
    X(NONE,                  0, "none")               \
    X(DHCP,                  1, "dhcp")               \
    X(ICMP_TIME_EXCEEDED,    2, "icmp-time-exceeded") \
    X(ICMP_NET_UNREACHABLE,  3, "icmp-net-unreachable") \
    X(ICMP_HOST_UNREACHABLE, 4, "icmp-host-unreachable") \
    X(ARP_RESOLVE,           5, "arp-resolve")        \
    X(ARP_LEARN,             6, "arp-learn")          \
    X(REJECT,                7, "reject")             \
    X(LOG,                   8, "log")

enum pkt_kind {
#define PKT_KIND_ENUM__(E, N, S) PKT_##E = N,
    PKT_KINDS(PKT_KIND_ENUM__)
#undef PKT_KIND_ENUM__
    PKT_N_KINDS
};
const char *pkt_kind_name(unsigned int kind);

/* One packet action of the desired state. */
struct pkt_action {
    uint32_t id;              /* the controller action's userdata */
    uint32_t kind;            /* enum pkt_kind; others are ignored */
    char *port;               /* logical port (DHCP), never NULL */
    uint32_t router_ip;       /* ICMP errors' / ARP requests' source
                               * (host order) */
    uint64_t router_mac;
    uint64_t router_metadata; /* ICMP: inject into this router's L3 table */
    uint32_t router_port_key; /* ... as if from this router port; 0 = none */
    struct dhcp_lease lease;  /* DHCP */
    uint32_t network_vni;     /* ARP: the external switch's VNI (metadata) */
    uint32_t target_ip;       /* ARP: the address resolved (host order) */
    char *network;            /* ARP: external network name; NULL = "" */
};
void pkt_action_copy(struct pkt_action *dst, const struct pkt_action *src);
void pkt_action_clear(struct pkt_action *);

struct pkt_stats {
    uint64_t rx;              /* packet-ins received */
    uint64_t replies;         /* packet-outs sent */
    uint64_t ignored;         /* well-formed, nothing to answer (RFC rules) */
    uint64_t malformed;       /* bad OpenFlow or bad packet */
    uint64_t unknown;         /* no userdata, or no action with that id */
    uint64_t rate_limited;
    uint64_t tx_dropped;      /* send queue full or encoding failed */
    uint64_t switch_errors;   /* OFPT_ERROR received */
    uint64_t connects;
    uint64_t per_kind[PKT_N_KINDS];   /* replies (ARP_LEARN: replies
                                       * accepted) by kind */
    uint64_t neighbor_changes;        /* new or changed learned neighbours */
};

/* A packet a logged security-group rule decided on (LOG). */
struct pkt_log_event {
    uint64_t cookie;          /* the rule's flow */
    uint64_t time_ms;         /* Unix time */
    uint32_t in_ofport;       /* reg14; 0 when not set */
    uint32_t out_ofport;      /* reg15; 0 when not set */
    uint8_t ip_proto;
    uint32_t src, dst;        /* host order */
    uint16_t src_port, dst_port;  /* TCP/UDP; ICMP: type, code */
    uint32_t length;          /* frame bytes */
};

/* LOG events wait here for the next heartbeat; more are suppressed. */
#define PKT_LOG_QUEUE 512

/* A neighbour learned by ARP_LEARN. */
struct pkt_neighbor {
    char *network;            /* external network name */
    uint32_t ip;              /* host order */
    uint64_t mac;
};

struct pkt_path;

/* Creates a packet path on 'base'.  'target' is "unix:PATH" of br-int's
 * management socket; NULL makes a path without a connection (tests drive
 * it with pkt_path_handle_msg()).  The first connection attempt happens
 * from the loop.  Never fails. */
struct pkt_path *pkt_path_create(struct event_base *base, const char *target);
void pkt_path_destroy(struct pkt_path *);               /* NULL-safe */

/* Uses 'actions' (n entries) from now on.  The array must stay valid until
 * the next call or destroy (it lives in the agent's desired state). */
void pkt_path_set_actions(struct pkt_path *, const struct pkt_action *actions,
                          size_t n);

/* Overrides the token buckets (rates per second, bursts in packets). */
void pkt_path_set_limits(struct pkt_path *, unsigned int kind_rate,
                         unsigned int kind_burst, unsigned int global_rate,
                         unsigned int global_burst);

/* Handles one message received from the switch and appends to 'out' what
 * must be sent back (echo reply, packet-out).  Returns 0, or -EPROTO when
 * the switch cannot speak OpenFlow 1.5 (the connection must be dropped). */
int pkt_path_handle_msg(struct pkt_path *, const struct ofp_msg *,
                        struct ofp_buf *out);

void pkt_path_get_stats(const struct pkt_path *, struct pkt_stats *);

/* The learned neighbours ('*n' entries, in learning order).  Valid until
 * the next call into the path. */
const struct pkt_neighbor *pkt_path_neighbors(const struct pkt_path *,
                                              size_t *n);

/* 'cb' (may be NULL) is called with 'aux' whenever a neighbour is learned
 * or its MAC changes, from within pkt_path_handle_msg(). */
typedef void pkt_neighbors_changed_cb(void *aux);
void pkt_path_set_neighbor_cb(struct pkt_path *, pkt_neighbors_changed_cb *,
                              void *aux);
bool pkt_path_is_connected(const struct pkt_path *);

/* Moves up to 'max' queued LOG events (oldest first) into 'out' and
 * returns their number; '*suppressed' (may be NULL) receives how many LOG
 * packets were dropped so far, by the rate limit or a full queue. */
size_t pkt_path_take_log(struct pkt_path *, struct pkt_log_event *out,
                         size_t max, uint64_t *suppressed);

#endif
