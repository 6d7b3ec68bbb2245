/* vaf.h — vAF, anet's stateful firewall engine (see engine.h for how the
 * I/O loop drives it).
 *
 * What: a bump in the wire between NFV_PORT_LEFT and NFV_PORT_RIGHT.  Per
 * burst, every frame is parsed (pkt.h) and looked up in the connection
 * table (ct.h, in bulk); the first packet of a connection is classified by
 * the ordered rules (acl.h: rte_acl, all misses of a burst in one call):
 *   allow   -> a connection entry is created and the frame goes out of the
 *              other port (refused when the table or the source is at its
 *              limit: dropped, counted);
 *   deny    -> dropped;
 *   reject  -> dropped, and a TCP RST (TCP) or an ICMP destination
 *              unreachable (port unreachable for UDP, administratively
 *              prohibited otherwise) goes into 'gen', out of the rx port.
 * A packet of a known connection (either direction) passes through the
 * TCP state machine and is forwarded unless it is INVALID for its state.
 * A TCP segment other than a SYN without a connection is dropped (no_conn)
 * without classification: only SYNs open TCP connections — except in the
 * pickup window, the first NFV_VAF_PICKUP_NS after the engine sees its
 * first packet: there a segment without SYN and RST is classified as if it
 * opened its connection and, if a rule (or the default) allows it,
 * resumes it (an ESTABLISHED entry, its sender the original side,
 * embryonic until the other side answers; counted as picked_up).  So the
 * restart of a crashed instance, which loses the table, does not cut the
 * connections its rules allow; a reply-direction segment the rules do not
 * allow is dropped until the original side's next segment re-creates the
 * entry (TCP retransmits it).  ICMP errors
 * whose quoted packet belongs to a known connection are forwarded
 * (related); other ICMP errors are classified but never create entries.
 * Non-IPv4 frames (ARP...) are forwarded to the other port.  Malformed
 * IPv4 (pkt.h classes) is counted per class and dropped, or forwarded when
 * the config says pass_malformed.
 *
 * Counters: per rule (and for the default action) packets, bytes and
 * connections: a connection's packets, both directions, count on the rule
 * that allowed it; deny/reject count the packets they hit.  Rules with
 * 'log' put an event for each connection they classify into a ring of
 * NFV_VAF_LOG_RING events that the I/O loop drains (full ring: events are
 * counted as lost, the packet path never blocks or logs).
 *
 * Reload (hitless): the new rules are compiled first (an invalid policy
 * leaves the old one running and returns the error); the connection table
 * is kept.  Existing connections are never re-evaluated: a reload decides
 * new connections only, like anet's security groups and OpenStack's.  A
 * connection whose rule is gone (no identical rule in the new list)
 * continues until it ends; its packets then count as 'orphan' instead of
 * on a rule.  A rule identical in the new list keeps its counters and its
 * connections.  Reload walks the table once (O(max_conns), ~10 ms per
 * million slots).  max_conns cannot change without losing the table: a
 * different value is ignored until restart (logged); the per-source
 * limit changes at once.
 *
 * Errors: nfv_vaf_create() returns NULL with errno (EINVAL, E2BIG, ENOMEM:
 * see acl.h, ct.h); nfv_vaf_reload() 0 or the same negative errnos.
 * Thread-safety: none; one engine per lcore.  Needs the DPDK EAL.
 */
#ifndef ANET_NFV_VAF_H
#define ANET_NFV_VAF_H

#include <stddef.h>
#include <stdint.h>

#include "nfv/ct.h"
#include "nfv/engine.h"
#include "nfv/pkt.h"

#define NFV_VAF_LOG_RING 1024
#define NFV_VAF_PICKUP_NS (120ull * 1000000000ull)
#define NFV_VAF_DEFAULT_MAX_CONNS 65536

struct nfv_vaf_counters {
    uint64_t packets, bytes, conns;
};

struct nfv_vaf_log_event {
    uint64_t time_ns;
    uint32_t rule;              /* index in the config's rules */
    uint32_t src, dst;
    uint16_t sport, dport;      /* icmp: identifier, 0 */
    uint8_t proto;
    uint8_t action;             /* enum nfv_fw_action */
    uint8_t port;               /* rx port */
};

struct nfv_vaf_stats {
    uint64_t rx, forwarded, dropped;
    uint64_t denied, rejected, generated, gen_lost;
    uint64_t non_ip;            /* forwarded without inspection */
    uint64_t malformed[NFV_PARSE_N];    /* per class ([OK] unused) */
    uint64_t malformed_passed;
    uint64_t no_conn;           /* TCP non-SYN without a connection */
    uint64_t picked_up;         /* ... resumed in the pickup window */
    uint64_t invalid;           /* dropped by the state machine */
    uint64_t refused;           /* allowed but table/source limit */
    uint64_t related;           /* ICMP errors of known connections */
    uint64_t log_lost;
    struct nfv_vaf_counters orphan;     /* connections whose rule is gone */
    struct nfv_vaf_counters default_action;
    struct nfv_ct_stats ct;
};

struct nfv_vaf;

struct nfv_vaf *nfv_vaf_create(const struct nfv_fw_config *);
void nfv_vaf_destroy(struct nfv_vaf *);
int nfv_vaf_reload(struct nfv_vaf *, const struct nfv_fw_config *);

/* Processes 'n' frames received at 'now_ns' (monotonic): sets each
 * frame's port to its tx port or NFV_PORT_DROP.  '*n_gen' is, on entry,
 * how many frames 'gen' has room for (NFV_GEN_CAP bytes each, 'data' and
 * 'cap' set by the caller) and, on return, how many were filled (len and
 * port set). */
void nfv_vaf_process(struct nfv_vaf *, struct nfv_frame *f, size_t n,
                     uint64_t now_ns, struct nfv_frame *gen, size_t *n_gen);

/* Idle-time housekeeping: sweeps expired connections (bounded). */
void nfv_vaf_tick(struct nfv_vaf *, uint64_t now_ns);

/* Copies up to 'max' pending log events into 'out'; returns how many. */
size_t nfv_vaf_drain_log(struct nfv_vaf *, struct nfv_vaf_log_event *out,
                         size_t max);

void nfv_vaf_get_stats(const struct nfv_vaf *, struct nfv_vaf_stats *);
/* The per-rule counters, indexed like the current config's rules. */
const struct nfv_vaf_counters *nfv_vaf_rule_counters(const struct nfv_vaf *,
                                                     size_t *n_rules);

#endif
