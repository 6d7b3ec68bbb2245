/* engine.h — the contract between anet-nfv's DPDK I/O loop (nfv-io.c) and
 * its packet engines: the stateful firewall vAF (vaf.h) and the L4 load
 * balancer vAD (vad.h).
 *
 * What: an engine is plain C over bursts of frames; it never touches a
 * DPDK device.  The I/O loop receives a burst from one port, wraps each
 * frame as a struct nfv_frame (pointing into the mbuf's data, 'cap' bytes
 * writable), hands the burst to the engine, and then transmits each frame
 * on the port the engine chose (or frees it: NFV_PORT_DROP).  Frames the
 * engine creates (TCP resets and ICMP errors of a reject, health-check
 * probes) go into 'gen', frames the loop preallocated (NFV_GEN_CAP bytes
 * each), with their output port set.  Unit tests, fuzzers and benchmarks
 * call the engines the same way with frames in plain memory.
 *
 * Ports: vAF is a bump in the wire with two ports, NFV_PORT_LEFT and
 * NFV_PORT_RIGHT: what is allowed goes out of the other port unchanged.
 * vAD is one-armed (NFV_PORT_LEFT only): it answers for its virtual IPs and
 * sends the rewritten frame back out of the port it came in on.
 *
 * Configuration: the engines take the plain structs below (the I/O loop
 * builds them from the protobuf anet.nfv.NfvConfig the agent sends);
 * *_reload() replaces a running engine's policy without dropping its
 * connection table (hitless reload).
 *
 * Addresses and ports are host order in the config structs.
 * Thread-safety: one engine instance per lcore; none inside.
 */
#ifndef ANET_NFV_ENGINE_H
#define ANET_NFV_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NFV_PORT_LEFT 0
#define NFV_PORT_RIGHT 1
#define NFV_PORT_DROP 0xff
#define NFV_GEN_CAP 128         /* bytes of a generated frame */

struct nfv_frame {
    uint8_t *data;
    uint16_t len;
    uint16_t cap;               /* writable bytes from 'data' (>= len) */
    uint8_t port;               /* in: the rx port; out: tx port or DROP */
};

/* ---- vAF: stateful firewall ------------------------------------------- */

enum nfv_fw_action {
    NFV_FW_ALLOW,
    NFV_FW_DENY,
    NFV_FW_REJECT,              /* TCP RST / ICMP port unreachable */
};

struct nfv_cidr {
    uint32_t net;
    uint8_t plen;               /* 0..32 */
};

/* One rule; a connection's first packet is classified, first match by
 * 'priority' order (the rules' order in the list: index 0 first). */
struct nfv_fw_rule {
    struct nfv_cidr *src;  size_t n_src;    /* none: any */
    struct nfv_cidr *dst;  size_t n_dst;    /* none: any */
    uint8_t proto;                          /* 0 any, 1 icmp, 6 tcp, 17 udp */
    uint16_t dport_min, dport_max;          /* tcp/udp; 0/0 or 0/65535 any */
    int16_t icmp_type;                      /* -1 any */
    enum nfv_fw_action action;
    bool log;
};

struct nfv_fw_config {
    struct nfv_fw_rule *rules;  size_t n_rules;
    enum nfv_fw_action default_action;      /* when no rule matches */
    uint32_t max_conns;                     /* connection table size */
    uint32_t max_conns_per_source;          /* 0: max_conns / 16 */
    bool pass_malformed;                    /* false: count and drop */
};

/* ---- vAD: L4 load balancer -------------------------------------------- */

struct nfv_lb_backend {
    uint32_t ip;
    uint16_t port;
    uint16_t weight;                        /* 1.. */
    uint64_t mac;                           /* the backend's MAC (anet
                                             * knows every workload's) */
};

struct nfv_lb_service {
    uint32_t vip;
    uint16_t port;
    uint8_t proto;                          /* 6 tcp, 17 udp */
    struct nfv_lb_backend *backends;  size_t n_backends;
    uint32_t health_interval_ms;            /* 0: no health checks */
};

struct nfv_lb_config {
    uint32_t self_ip;                       /* SNAT address, probes' source */
    uint64_t self_mac;
    struct nfv_lb_service *services;  size_t n_services;
    uint32_t max_conns;
};

#endif
