/* vad.h — vAD, anet's L4 load balancer engine (see engine.h for how the
 * I/O loop drives it).
 *
 * What: virtual services VIP:port/proto (TCP or UDP), each a pool of
 * weighted backends.  vAD is one-armed: every frame comes in and leaves on
 * the same port.  A client's packet to a VIP is looked up in the connection
 * table (key: the packet's 5-tuple); a new connection (a TCP SYN or any
 * UDP datagram) finds its service by binary search over the services
 * sorted by (VIP, port, proto) (up to 4096 of them), picks a healthy
 * backend with Maglev consistent hashing
 * (maglev.h) of its 5-tuple and gets a SNAT source port from the port
 * space of that backend (NFV_VAD_SNAT_MIN..MAX, unique per backend
 * ip:port/proto, so the backend's replies map back to exactly one
 * connection).  The packet is rewritten — destination = backend ip:port
 * and MAC, source = self_ip:snat_port and self_mac — with incremental
 * checksum updates, and sent back out.  A backend's reply to
 * self_ip:snat_port is mapped back: source = VIP:port, destination = the
 * client's ip:port and MAC (remembered in the connection), source MAC =
 * self_mac.
 *
 * No direct server return: vAD only runs in SNAT mode.  DSR needs the
 * backends to accept traffic for the VIP on a loopback alias (a change
 * inside every workload, which anet does not own) and an L2 path from the
 * backends to the clients that bypasses vAD; with SNAT the backends need
 * nothing, replies come back through vAD by plain routing, and one table
 * sees both directions (FIN/RST tracking, counters).  The price: backends
 * see self_ip, not the client's address.
 *
 * Connection table: one rte_hash holding two keys per connection (the
 * client-side 5-tuple and the backend-side 5-tuple, as they appear on the
 * wire), looked up in bulk per burst; bounded by max_conns (0: 65,536).
 * A connection ends NFV_VAD_CLOSE_NS after the last packet once a FIN or
 * RST was seen, or after NFV_VAD_TCP_IDLE_NS / NFV_VAD_UDP_IDLE_NS idle;
 * expired entries are reclaimed when next looked up and by a bounded sweep
 * in nfv_vad_tick().  A TCP segment other than a SYN that matches no
 * connection is dropped (counted): only SYNs and UDP create connections, so
 * stray or spoofed mid-stream segments cannot fill the table.  When the
 * table is full new connections are refused (counted).
 *
 * Health checks (services with health_interval_ms > 0): every interval vAD
 * sends each backend a TCP SYN from self_ip:probe_port (a port in
 * NFV_VAD_PROBE_MIN.., never a SNAT port).  A SYN-ACK acknowledging it is a
 * success (vAD answers it with a RST, so the backend frees the half-open
 * connection); a RST, or no answer by the next interval, is a failure.  A
 * backend goes down after NFV_VAD_DOWN_AFTER consecutive failures and up
 * again after NFV_VAD_UP_AFTER consecutive successes.  A backend whose
 * listener is gone answers with a RST at once, so it leaves the pool within
 * 3 intervals; a silent backend (no answer at all) within 4 (its failures
 * are counted at the interval after each probe).  Backends start up, so a
 * new service serves before its first probe.  Every change of the healthy
 * set rebuilds the service's Maglev table.
 *
 * Reload and pool changes are hitless: a connection keeps its backend as
 * long as that backend (same ip:port in the same VIP:port/proto service)
 * is in the pool and up.  A connection whose backend was removed is
 * deleted at reload; one whose backend is down is deleted at its next
 * packet; a client's packet of a deleted connection then starts a new one
 * if it is a SYN or UDP (a new backend by Maglev) and is dropped otherwise
 * (the client's TCP stack times out or retries).  Health state carries over
 * a reload for backends that stay.
 *
 * ARP: requests for a VIP or self_ip are answered with self_mac (a frame in
 * 'gen', out of the rx port); the request itself is dropped.  Everything
 * else — other ARP, non-IPv4, ICMP, packets for no service, malformed
 * frames (per nfv_pkt_parse() class) — is dropped and counted.
 *
 * Errors: 0 / negative errno; nfv_vad_create() returns NULL + errno.  The
 * connection table uses rte_hash, so EAL must be initialised.
 * Thread-safety: none; one instance per lcore (engine.h).
 */
#ifndef ANET_NFV_VAD_H
#define ANET_NFV_VAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfv/engine.h"
#include "nfv/pkt.h"

#define NFV_VAD_DEFAULT_CONNS 65536u
#define NFV_VAD_SNAT_MIN 1024u
#define NFV_VAD_SNAT_MAX 61439u
#define NFV_VAD_PROBE_MIN 61440u        /* probe ports: 61440..65535 */
#define NFV_VAD_PROBE_PORTS 4096u
#define NFV_VAD_TCP_IDLE_NS (300ull * 1000000000)
#define NFV_VAD_UDP_IDLE_NS (30ull * 1000000000)
#define NFV_VAD_CLOSE_NS (2ull * 1000000000)
#define NFV_VAD_DOWN_AFTER 3
#define NFV_VAD_UP_AFTER 2

struct nfv_vad;

/* Creates an engine for 'cfg' (copied; the caller keeps 'cfg').  NULL +
 * errno: EINVAL (a protocol other than TCP/UDP, more than
 * MAGLEV_MAX_BACKENDS backends in a service; a weight of 0 counts as
 * 1), ENOMEM, or rte_hash's errno. */
struct nfv_vad *nfv_vad_create(const struct nfv_lb_config *cfg);
void nfv_vad_destroy(struct nfv_vad *);             /* NULL-safe */

/* Replaces the services, keeping connections whose backend stays (see
 * above).  self_ip/self_mac may change (existing connections keep their
 * SNAT address); max_conns cannot (it is ignored).  0, -EINVAL, -ENOMEM; on
 * error the running configuration is unchanged. */
int nfv_vad_reload(struct nfv_vad *, const struct nfv_lb_config *cfg);

/* Processes a burst: each frame is rewritten in place and its port left as
 * the rx port, or set to NFV_PORT_DROP.  Frames vAD originates (ARP
 * replies, RSTs answering health-probe SYN-ACKs) are written into 'gen'
 * (at most 'n_gen' frames of NFV_GEN_CAP bytes; further ones are dropped
 * and counted); returns how many. */
size_t nfv_vad_process(struct nfv_vad *, struct nfv_frame *frames, size_t n,
                       uint64_t now_ns, struct nfv_frame *gen, size_t n_gen);

/* Timers: health-probe rounds (SYNs into 'gen'; '*n_gen' is the capacity
 * in, the number written out; probes that do not fit go out at the next
 * tick), failure accounting, Maglev rebuilds, and a sweep of expired
 * connections (bounded work per call).  Call every millisecond or so. */
void nfv_vad_tick(struct nfv_vad *, uint64_t now_ns, struct nfv_frame *gen,
                  size_t *n_gen);

/* Counters. */
struct nfv_vad_stats {
    uint64_t conns;                 /* live connections */
    uint64_t conns_created;
    uint64_t table_full;            /* new connections refused */
    uint64_t snat_exhausted;        /* no free SNAT port for the backend */
    uint64_t no_backend;            /* service with no healthy backend */
    uint64_t no_service;            /* IPv4 for no VIP and no connection */
    uint64_t no_conn;               /* TCP non-SYN without a connection */
    uint64_t not_tcp_udp;
    uint64_t arp_replies;
    uint64_t probes_sent;
    uint64_t gen_overflow;          /* generated frames that did not fit */
    uint64_t forwarded;             /* frames rewritten and sent */
    uint64_t malformed[NFV_PARSE_N];    /* by nfv_pkt_parse() class */
};
void nfv_vad_get_stats(const struct nfv_vad *, struct nfv_vad_stats *);

/* One backend's state, by service and backend index of the current config
 * (the order of cfg->services / backends). */
struct nfv_vad_backend_info {
    uint32_t ip;
    uint16_t port;
    bool healthy;
    uint64_t conns;                 /* connections assigned so far */
};
size_t nfv_vad_n_services(const struct nfv_vad *);
size_t nfv_vad_n_backends(const struct nfv_vad *, size_t service);
/* 0 or -ENOENT. */
int nfv_vad_backend_info(const struct nfv_vad *, size_t service,
                         size_t backend, struct nfv_vad_backend_info *);

#endif
