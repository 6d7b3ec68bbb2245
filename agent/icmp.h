/* icmp.h — ICMPv4 error messages a distributed router sends, built by the
 * agent for packets the pipeline hands it (time exceeded, unreachable).
 *
 * What: icmp_build_error() takes the offending Ethernet/IPv4 frame as it
 * reached the agent and writes a complete Ethernet frame holding the ICMP
 * error: Ethernet destination = the offender's source MAC, source = the
 * router port's MAC; IP source = the router port's IP, destination = the
 * offender's source IP, TTL 64; the ICMP payload quotes the offending IP
 * header and the first 8 bytes of its payload (RFC 792).
 *
 * Design: RFC 1812 section 4.3.2.7 lists the packets that must never cause
 * an ICMP error, and icmp_build_error() refuses them (-EPERM): ICMP error
 * messages themselves, non-first fragments, packets sent to a link-layer
 * broadcast/multicast address or an IP broadcast/multicast address, and
 * packets whose source is not a unique host (0.0.0.0, 127/8, multicast,
 * class E, 255.255.255.255, or a multicast source MAC).  Only untagged
 * IPv4 frames are handled.
 *
 * Errors: 0, -EBADMSG for a frame that is not a well-formed IPv4 packet,
 * -EPERM for a packet that must not be answered, -ENOSPC when 'out' is too
 * small (ICMP_ERROR_MAX_LEN always suffices).
 *
 * ICMP_ERR_PORT_UNREACHABLE (type 3 code 3) is what a security group's
 * reject rule answers for a packet that is not TCP; its caller passes the
 * offending packet's own destination as "router" address, so that the error
 * seems to come from the host the packet was meant for.  icmp_may_answer()
 * is the address part of the RFC 1812 rules, for the other builders of
 * replies to arbitrary packets (the TCP reset of a reject rule).
 *
 * Header parsing and the checksum come from lib/packet.h.
 *
 * Thread-safety: pure functions.
 */
#ifndef ANET_ICMP_H
#define ANET_ICMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct packet_ipv4;

enum icmp_error_kind {
    ICMP_ERR_TIME_EXCEEDED,       /* type 11 code 0: TTL exceeded in transit */
    ICMP_ERR_NET_UNREACHABLE,     /* type 3 code 0 */
    ICMP_ERR_HOST_UNREACHABLE,    /* type 3 code 1 */
    ICMP_ERR_PORT_UNREACHABLE,    /* type 3 code 3 */
};

/* Ethernet 14 + IP 20 + ICMP 8 + quoted IP header (<= 60) + 8. */
#define ICMP_ERROR_MAX_LEN (14 + 20 + 8 + 60 + 8)

int icmp_build_error(enum icmp_error_kind, uint32_t router_ip,
                     uint64_t router_mac, const uint8_t *frame, size_t len,
                     uint8_t *out, size_t out_cap, size_t *out_len);

/* False for a packet RFC 1812 4.3.2.7 forbids answering because of its
 * addresses or fragment offset: a link-layer broadcast/multicast source or
 * destination, an IP broadcast/multicast destination, a source that is not
 * a unique host, a non-first fragment.  (The ICMP-error rule is
 * icmp_build_error()'s alone.) */
bool icmp_may_answer(const struct packet_ipv4 *);

#endif
