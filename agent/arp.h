/* arp.h — ARP (RFC 826) for Ethernet/IPv4: the request a distributed
 * router sends to resolve its provider gateway's MAC, and the parser for
 * the reply.
 *
 * What: arp_build_request() writes a complete broadcast Ethernet frame
 * holding an ARP request "who has 'tpa'? tell 'spa' at 'sha'" (Ethernet
 * source = 'sha', destination ff:ff:ff:ff:ff:ff, target hardware address
 * zero).  arp_parse() reads an ARP packet out of an Ethernet frame the
 * pipeline handed to the agent.
 *
 * Design: the frame is the minimal 42 bytes (14 Ethernet + 28 ARP); the
 * switch pads it if a link needs padding.  The parser is strict, because
 * what it returns ends up in the controller's neighbour table: only
 * untagged Ethernet II frames of type 0x0806 whose ARP header says
 * hardware type 1 (Ethernet), protocol type 0x0800, hardware length 6 and
 * protocol length 4 are accepted, and all 28 ARP bytes must be present.
 * Trailing padding is ignored.  Whether the operation (request 1, reply 2)
 * and the addresses are acceptable is the caller's policy.
 *
 * Errors: arp_build_request() returns 0 or -ENOSPC ('cap' below
 * ARP_FRAME_LEN); arp_parse() returns 0 or -EBADMSG.
 *
 * Thread-safety: pure functions.
 */
#ifndef ANET_ARP_H
#define ANET_ARP_H

#include <stddef.h>
#include <stdint.h>

#define ARP_ETH_TYPE 0x0806
#define ARP_LEN 28                          /* Ethernet/IPv4 ARP payload */
#define ARP_FRAME_LEN (14 + ARP_LEN)
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

/* One parsed ARP packet; addresses in host order, MACs in the low 48 bits
 * (lib/addr.h). */
struct arp_packet {
    uint64_t eth_dst, eth_src;
    uint16_t op;
    uint64_t sha;                            /* sender hardware address */
    uint32_t spa;                            /* sender protocol address */
    uint64_t tha;                            /* target hardware address */
    uint32_t tpa;                            /* target protocol address */
};

int arp_build_request(uint64_t sha, uint32_t spa, uint32_t tpa, uint8_t *out,
                      size_t cap, size_t *len);
int arp_parse(const uint8_t *frame, size_t len, struct arp_packet *);

#endif
