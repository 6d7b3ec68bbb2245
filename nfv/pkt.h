/* pkt.h — the NFV engines' packet parser, checksum updates and builders.
 *
 * What: nfv_pkt_parse() turns one Ethernet frame into a struct nfv_pkt,
 * the host-order view vAF and vAD classify on (addresses, protocol, ports,
 * TCP flags, ICMP type), or says why it cannot: every malformed class has
 * its own enum nfv_parse value so the engines can count them and apply
 * their drop/pass policy.  The rewrite helpers change an address and port
 * in place and fix the IPv4 and L4 checksums incrementally (RFC 1624), as
 * NAT needs.  The builders write the frames an engine originates: a TCP
 * segment (health probes), a TCP reset and an ICMP destination unreachable
 * answering a received frame (a firewall's reject).
 *
 * Design: the parser reads only bytes inside 'len' and accepts exactly
 * what the fast path can handle: Ethernet II (no VLAN tag) carrying IPv4
 * version 4, a 20-byte header (options are reported, not skipped: they are
 * rare, and IP options such as source routing are a classic evasion), a
 * total length that fits in the frame (Ethernet padding after it is
 * ignored), not a fragment (MF set or non-zero offset: non-first fragments
 * carry no ports, so a 5-tuple firewall must not guess), and the whole L4
 * header of TCP (20 bytes, data offset 5..15 inside the packet), UDP (8)
 * and ICMP (8: type, code, checksum, identifier, sequence).  Other IP
 * protocols parse OK with zero ports.  The checks run in the order of the
 * list below, so one frame has exactly one class:
 *
 *   TRUNCATED  the frame ends inside the Ethernet header;
 *   NOT_IP     the EtherType is not IPv4 (ARP, IPv6, VLAN...);
 *   TRUNCATED  the frame ends inside the 20 bytes of the IPv4 header;
 *   BAD_IHL    version is not 4, IHL < 5, or the header runs past the frame;
 *   BAD_LEN    total length shorter than the header or longer than the frame;
 *   FRAGMENT   MF set or fragment offset non-zero;
 *   OPTIONS    IHL > 5;
 *   TRUNCATED  the packet (per its total length) ends inside the L4 header.
 *
 * Checksums are host-order 16-bit values as read with packet_get_be16();
 * one's complement sums are byte-order neutral, so the update helpers work
 * on any consistent order.  A UDP checksum of 0 means "none" and is left
 * alone; an updated UDP checksum that folds to 0 is stored as 0xffff.
 *
 * Thread-safety: pure functions over caller memory.
 */
#ifndef ANET_NFV_PKT_H
#define ANET_NFV_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NFV_TCP_FIN 0x01
#define NFV_TCP_SYN 0x02
#define NFV_TCP_RST 0x04
#define NFV_TCP_PSH 0x08
#define NFV_TCP_ACK 0x10
#define NFV_TCP_URG 0x20

#define NFV_IP_PROTO_ICMP 1
#define NFV_IP_PROTO_TCP 6
#define NFV_IP_PROTO_UDP 17

#define NFV_ICMP_ECHO_REPLY 0
#define NFV_ICMP_UNREACH 3
#define NFV_ICMP_UNREACH_PORT 3
#define NFV_ICMP_UNREACH_ADMIN 13     /* communication administratively
                                       * prohibited (RFC 1812) */
#define NFV_ICMP_ECHO 8

#define NFV_ETH_HLEN 14
#define NFV_MIN_FRAME 60              /* Ethernet minimum without FCS */

struct nfv_pkt {                 /* parsed view of one frame, host order */
    uint16_t l3_ofs, l4_ofs;     /* offsets from data */
    uint8_t proto;               /* IP protocol; 0 for non-IPv4 */
    uint32_t src, dst;
    uint16_t sport, dport;       /* tcp/udp ports; icmp: id in sport */
    uint8_t tcp_flags, icmp_type, icmp_code;
    uint16_t l4_len;             /* bytes of L4 header + payload present */
    uint32_t tcp_seq, tcp_ack;   /* tcp only (added for conntrack) */
};

#define NFV_PARSE_CLASSES(X)                    \
    X(OK, "ok")                                 \
    X(NOT_IP, "not-ip")                         \
    X(TRUNCATED, "truncated")                   \
    X(BAD_IHL, "bad-ihl")                       \
    X(BAD_LEN, "bad-len")                       \
    X(FRAGMENT, "fragment")                     \
    X(OPTIONS, "ip-options")

enum nfv_parse {
#define NFV_PARSE_ENUM__(e, s) NFV_PARSE_##e,
    NFV_PARSE_CLASSES(NFV_PARSE_ENUM__)
#undef NFV_PARSE_ENUM__
    NFV_PARSE_N
};

/* "ok", "truncated", ...; "?" out of range. */
const char *nfv_parse_name(enum nfv_parse);

/* Parses 'len' bytes at 'frame'.  On anything but NFV_PARSE_OK the fields
 * of '*pkt' that could be read are set (l3_ofs, and for IPv4 proto, src,
 * dst), the rest are 0. */
enum nfv_parse nfv_pkt_parse(const uint8_t *frame, size_t len, struct nfv_pkt *);

/* Incremental checksum update (RFC 1624, eqn. 3): the checksum 'csum' of
 * data in which 'old' became 'new_'. */
uint16_t nfv_csum_update32(uint16_t csum, uint32_t old, uint32_t new_);
uint16_t nfv_csum_update16(uint16_t csum, uint16_t old, uint16_t new_);

/* Full L4 checksum (TCP or UDP, with the pseudo-header) of 'len' bytes at
 * 'l4': over a segment whose checksum field is 0 it is the value to store;
 * over a received one it is 0 when valid.  ICMP (no pseudo-header) when
 * 'proto' is 1. */
uint16_t nfv_l4_csum(uint32_t src, uint32_t dst, uint8_t proto,
                     const uint8_t *l4, size_t len);

/* Rewrite the source (destination) address and TCP/UDP port of a frame
 * 'pkt' parsed OK, fixing the IPv4 header and L4 checksums.  For an ICMP
 * query (echo...) both rewrite the identifier (pass pkt->sport to keep
 * it); other protocols and ICMP errors get the address only.  They do not
 * update '*pkt'. */
void nfv_pkt_set_src(uint8_t *frame, const struct nfv_pkt *, uint32_t ip, uint16_t port);
void nfv_pkt_set_dst(uint8_t *frame, const struct nfv_pkt *, uint32_t ip, uint16_t port);

/* Writes a TCP segment without payload (Ethernet + IPv4 + TCP, padded to
 * NFV_MIN_FRAME) into 'buf'.  Returns the frame length, or 0 if 'cap' is
 * too small. */
struct nfv_tcp_seg {
    uint64_t eth_dst, eth_src;
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t window;
};
size_t nfv_pkt_build_tcp(uint8_t *buf, size_t cap, const struct nfv_tcp_seg *);

/* Writes the TCP reset answering the TCP segment 'frame'/'pkt' (parsed
 * OK) per RFC 793: from its destination to its source, MACs swapped; with
 * the ACK of the segment as sequence number if it had one, else sequence
 * 0 and RST|ACK acknowledging it.  Returns the length, or 0 if 'pkt' is
 * not TCP, is itself a reset, or 'cap' is too small. */
size_t nfv_pkt_build_rst(const uint8_t *frame, const struct nfv_pkt *,
                         uint8_t *buf, size_t cap);

/* Writes an ICMP destination unreachable of 'code' answering the IPv4
 * packet 'frame'/'pkt' (parsed OK): from its destination (a transparent
 * firewall has no address of its own) to its source, quoting its IPv4
 * header and as much of its payload as fits in 'cap' (at least 8 bytes,
 * RFC 792).  Returns the length, or 0 if 'pkt' is itself an ICMP error
 * (never answer an error with an error), its destination is multicast or
 * broadcast, its source not a unicast host (RFC 1122 3.2.2), or 'cap' is
 * too small. */
size_t nfv_pkt_build_unreach(const uint8_t *frame, const struct nfv_pkt *,
                             uint8_t code, uint8_t *buf, size_t cap);

/* Whether an ICMP type is an error message (which quotes another packet). */
bool nfv_icmp_is_error(uint8_t type);

#endif
