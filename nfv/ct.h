/* ct.h — vAF's connection tracking: a bounded table of connections keyed
 * by their 5-tuple, a TCP state machine, per-state timeouts, per-source
 * limits and SYN-flood resistance.
 *
 * What: the firewall classifies only the first packet of a connection;
 * nfv_ct_create() records it, and every later packet in either direction
 * finds the entry (nfv_ct_lookup_bulk()) and goes through nfv_ct_track(),
 * which advances the state and says whether to forward it.
 *
 * Design: the key is the 5-tuple normalised so both directions give the
 * same bytes (the lower (address, port) end first); ICMP queries use the
 * identifier as both ports.  Keys live in an rte_hash (CRC32 hash,
 * extendable buckets so the table holds max_conns keys whatever the
 * collisions); the position rte_hash returns for a key indexes a
 * preallocated array of 32-byte struct nfv_ct_conn, so a lookup is one
 * hash probe and no allocation ever happens on the packet path (all of
 * it comes from the EAL heap: rte_malloc statistics measure the table).  A second
 * small rte_hash counts connections per original source address.
 *
 * TCP (a simplified but strict subset of RFC 793 / Linux conntrack):
 *   no entry  + SYN (no ACK)                  -> SYN_SENT (entry created)
 *   SYN_SENT  + reply SYN|ACK                 -> SYN_RECV (its seq kept)
 *   SYN_RECV  + original ACK acking seq + 1   -> ESTABLISHED
 *   ESTABLISHED + FIN (either side)           -> FIN_WAIT
 *   FIN_WAIT  + FIN from the other side       -> TIME_WAIT
 *   TIME_WAIT + original SYN                  -> entry removed, new connection
 *   any state + RST (either side)             -> CLOSED: entry removed (the
 *                                                RST itself is forwarded)
 * Retransmitted SYNs and SYN|ACKs are forwarded; any other packet that
 * does not fit its state (data before the handshake, an ACK with the wrong
 * number, a SYN on an established connection) is INVALID: dropped,
 * counted, entry unchanged.
 *   no entry  + mid-stream packet (no SYN, no RST), when the caller
 *               allows a pickup (nfv_ct_pickup())  -> ESTABLISHED,
 *               embryonic until a packet of the other direction passes
 *               (a restarted instance resumes the connections its rules
 *               allow, as Linux conntrack's tcp_loose does).  Sequence windows are not tracked beyond the
 * handshake (an in-window check of RSTs is a known gap).
 * Other protocols: NEW until a packet comes back, then REPLIED.
 *
 * Timeouts (refreshed by every forwarded packet): SYN_SENT and SYN_RECV
 * 30 s, ESTABLISHED 3600 s, FIN_WAIT and TIME_WAIT 120 s, UDP (and other
 * protocols) 30 s, 180 s once replied, ICMP 30 s.  Expiry is lazy (a
 * lookup that finds an expired entry removes it and reports a miss) plus
 * an incremental sweep (nfv_ct_sweep(): a cursor visits 'budget' slots
 * per call; the engine calls it once per burst).
 *
 * Limits and SYN floods: at most max_conns entries and max_conns_per_source
 * per original source.  An entry is EMBRYONIC until the peer has proven it
 * received our traffic: TCP until the handshake completes (the original
 * side must acknowledge the reply's ISN, which a blind spoofer never saw),
 * other protocols until a reply.  Embryonic entries are capped at
 * max_embryonic (default max_conns / 4) and kept in creation order; a new
 * connection that meets the cap, or a full table, evicts the oldest
 * embryonic entry.  So spoofed SYNs (or spoofed UDP) can occupy at most a
 * quarter of the table and never displace an established connection, and
 * a legitimate handshake survives as long as fewer than max_embryonic
 * spoofed packets arrive between its SYN and its final ACK (250k at the
 * default 1M table: a quarter of a second of a 1 Mpps flood).  Refusals
 * (source limit, table full of non-embryonic entries) are counted; the
 * engine drops the packet.  Known limit: spoofed UDP to a service that
 * answers becomes REPLIED and is bounded only by max_conns.
 *
 * Errors: nfv_ct_create() returns a position or -EDQUOT (source limit),
 * -ENOSPC (full); nfv_ct_create_table() NULL with errno.
 * Thread-safety: none; one table per lcore.  Needs the DPDK EAL.
 */
#ifndef ANET_NFV_CT_H
#define ANET_NFV_CT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfv/pkt.h"

#define NFV_CT_STATES(X)          \
    X(NONE, "none")               \
    X(SYN_SENT, "syn-sent")       \
    X(SYN_RECV, "syn-recv")       \
    X(ESTABLISHED, "established") \
    X(FIN_WAIT, "fin-wait")       \
    X(TIME_WAIT, "time-wait")     \
    X(NEW, "new")                 \
    X(REPLIED, "replied")

enum nfv_ct_state {
#define NFV_CT_STATE_ENUM__(e, s) NFV_CT_##e,
    NFV_CT_STATES(NFV_CT_STATE_ENUM__)
#undef NFV_CT_STATE_ENUM__
    NFV_CT_N_STATES
};

const char *nfv_ct_state_name(enum nfv_ct_state);

#define NFV_CT_TIMEOUT_SYN_MS       30000u
#define NFV_CT_TIMEOUT_EST_MS     3600000u
#define NFV_CT_TIMEOUT_FIN_MS      120000u
#define NFV_CT_TIMEOUT_UDP_MS       30000u
#define NFV_CT_TIMEOUT_UDP_REPLIED_MS 180000u
#define NFV_CT_TIMEOUT_ICMP_MS      30000u

#define NFV_CT_NIL UINT32_MAX
#define NFV_CT_RULE_NONE UINT32_MAX

struct nfv_ct_key {
    uint32_t ip_lo, ip_hi;
    uint16_t port_lo, port_hi;
    uint8_t proto;
    uint8_t pad[3];
};

#define NFV_CT_F_FIN_ORIG 0x01
#define NFV_CT_F_FIN_REPLY 0x02
#define NFV_CT_F_EMBRYONIC 0x04

struct nfv_ct_conn {
    uint32_t expires_ms;        /* wrap-safe, ms of the caller's clock */
    uint32_t orig_src;          /* the initiator */
    uint32_t rule;              /* the rule that allowed it, or RULE_NONE */
    uint32_t isn_reply;         /* TCP: seq of the reply's SYN|ACK */
    uint32_t emb_prev, emb_next;    /* embryonic FIFO (positions) */
    uint16_t orig_sport;
    uint8_t proto;
    uint8_t state;              /* enum nfv_ct_state; NONE: free slot */
    uint8_t flags;
};

struct nfv_ct_params {
    uint32_t max_conns;         /* >= 8 */
    uint32_t max_per_source;    /* 0: max_conns / 16 (at least 1) */
    uint32_t max_embryonic;     /* 0: max_conns / 4 (at least 1) */
};

struct nfv_ct_stats {
    uint32_t n_conns, n_embryonic, n_sources;
    uint32_t by_state[NFV_CT_N_STATES];
    uint64_t created, expired, closed, invalid, picked_up;
    uint64_t evicted_embryonic, refused_source, refused_full;
};

enum nfv_ct_verdict {
    NFV_CT_FORWARD,             /* forward the packet */
    NFV_CT_INVALID,             /* drop it; the entry is unchanged */
    NFV_CT_RESTART,             /* the entry was removed: handle the packet
                                 * as the first of a new connection */
};

struct nfv_ct;

struct nfv_ct *nfv_ct_create_table(const struct nfv_ct_params *);
void nfv_ct_destroy(struct nfv_ct *);

/* Fills 'key' for 'pkt' (parsed OK). */
void nfv_ct_key_init(struct nfv_ct_key *, const struct nfv_pkt *);

/* Whether 'pkt' may open a connection: a TCP SYN without ACK/RST/FIN, an
 * ICMP query, any UDP or other protocol packet. */
bool nfv_ct_may_create(const struct nfv_pkt *);

/* Whether 'pkt' may resume a TCP connection whose entry was lost: TCP
 * without SYN and without RST. */
bool nfv_ct_may_pickup(const struct nfv_pkt *);

/* Looks up 'n' keys: pos[i] is the entry's position or -1.  Entries found
 * expired at 'now_ms' are removed and reported as -1. */
void nfv_ct_lookup_bulk(struct nfv_ct *, const struct nfv_ct_key *const *keys,
                        size_t n, int32_t *pos, uint32_t now_ms);
int32_t nfv_ct_lookup(struct nfv_ct *, const struct nfv_ct_key *, uint32_t now_ms);

/* Creates the entry of the connection 'pkt' opens (nfv_ct_may_create()
 * true, no entry yet), allowed by 'rule'.  Returns its position or a
 * negative errno (see above). */
int32_t nfv_ct_create(struct nfv_ct *, const struct nfv_ct_key *,
                      const struct nfv_pkt *, uint32_t rule, uint32_t now_ms);

/* Creates an ESTABLISHED entry for the connection of 'pkt'
 * (nfv_ct_may_pickup() true, no entry yet), its sender the original side;
 * embryonic (30 s, evictable) until a packet of the other direction.
 * Returns its position or a negative errno, as nfv_ct_create(). */
int32_t nfv_ct_pickup(struct nfv_ct *, const struct nfv_ct_key *,
                      const struct nfv_pkt *, uint32_t rule, uint32_t now_ms);

/* Warms the caches for nfv_ct_create() calls on packets from these
 * sources (a bulk lookup of the per-source table, results unused). */
void nfv_ct_prefetch_sources(struct nfv_ct *, const uint32_t *srcs, size_t n);

/* Advances the entry at 'pos' with 'pkt', a packet of its connection. */
enum nfv_ct_verdict nfv_ct_track(struct nfv_ct *, int32_t pos,
                                 const struct nfv_pkt *, uint32_t now_ms);

/* The entry at 'pos' (valid until the next call that may remove it). */
struct nfv_ct_conn *nfv_ct_conn(struct nfv_ct *, int32_t pos);

/* Removes the entry at 'pos'. */
void nfv_ct_remove(struct nfv_ct *, int32_t pos);

/* Visits 'budget' slots from the sweep cursor, removing expired entries.
 * Returns how many it removed. */
size_t nfv_ct_sweep(struct nfv_ct *, uint32_t now_ms, size_t budget);

/* Calls 'fn' on every live entry (reload remaps their rules). */
void nfv_ct_for_each(struct nfv_ct *, void (*fn)(struct nfv_ct_conn *, void *),
                     void *aux);

void nfv_ct_get_stats(const struct nfv_ct *, struct nfv_ct_stats *);

/* Changes the per-source limit (existing connections stay). */
void nfv_ct_set_max_per_source(struct nfv_ct *, uint32_t);

/* Entries created / removed so far: a caller holding positions from a
 * bulk lookup re-checks them when these moved. */
uint64_t nfv_ct_n_created(const struct nfv_ct *);
uint64_t nfv_ct_n_removed(const struct nfv_ct *);

#endif
