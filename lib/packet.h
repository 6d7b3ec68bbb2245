/* packet.h — Ethernet, IPv4 and UDP headers: wire layouts, big-endian
 * accessors, the Internet checksum and a bounds-checked frame parser.
 *
 * What: the pieces every module that reads or writes raw frames needs (the
 * agent's DHCP server and ICMP error builder, the OpenFlow packet-in
 * decoder): reading and writing big-endian integers and MAC addresses at
 * any (unaligned) byte offset, the RFC 1071 checksum, writing the Ethernet
 * and IPv4 headers of a reply, and finding the IPv4 header of a received
 * frame without reading past its end.
 *
 * Design: the wire headers are packed structs with a static_assert on
 * their size and big-endian fields (uint16_t/uint32_t that hold network
 * byte order; no bit-fields).  Values cross this API in host order, MACs
 * in the low 48 bits of a uint64_t as lib/addr.h keeps them.  The parser
 * only checks what every caller needs (Ethernet II + IPv4 type, version 4,
 * a header length of 20..60 bytes that is really there, a total length no
 * shorter than the header); what to do with a total length beyond the
 * frame, with fragments or with other protocols is the caller's policy.
 *
 * Errors: packet_parse_ipv4() returns 0 or -EBADMSG.
 *
 * Thread-safety: pure functions.
 */
#ifndef ANET_PACKET_H
#define ANET_PACKET_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define PACKET_ETH_HLEN 14
#define PACKET_IP_HLEN 20            /* without options */
#define PACKET_UDP_HLEN 8
#define PACKET_ETH_TYPE_IPV4 0x0800
#define PACKET_IP_PROTO_ICMP 1
#define PACKET_IP_PROTO_UDP 17
#define PACKET_IP_TTL 64             /* of the packets we originate */

struct packet_eth_header {
    uint8_t dst[6];
    uint8_t src[6];
    uint16_t type;                   /* big-endian */
} __attribute__((packed));
static_assert(sizeof(struct packet_eth_header) == PACKET_ETH_HLEN,
              "packet_eth_header");

struct packet_ip_header {
    uint8_t ver_ihl;                 /* version << 4 | header length / 4 */
    uint8_t tos;
    uint16_t tot_len;                /* big-endian, like the rest */
    uint16_t id;
    uint16_t frag_off;               /* flags << 13 | offset / 8 */
    uint8_t ttl;
    uint8_t proto;
    uint16_t csum;
    uint32_t src;
    uint32_t dst;
} __attribute__((packed));
static_assert(sizeof(struct packet_ip_header) == PACKET_IP_HLEN,
              "packet_ip_header");

struct packet_udp_header {
    uint16_t src;                    /* big-endian, like the rest */
    uint16_t dst;
    uint16_t len;
    uint16_t csum;
} __attribute__((packed));
static_assert(sizeof(struct packet_udp_header) == PACKET_UDP_HLEN,
              "packet_udp_header");

/* Big-endian integers and MAC addresses at any byte offset. */
static inline uint16_t
packet_get_be16(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}

static inline uint32_t
packet_get_be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

static inline uint64_t
packet_get_be64(const uint8_t *p)
{
    return (uint64_t) packet_get_be32(p) << 32 | packet_get_be32(p + 4);
}

static inline void
packet_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v & 0xff;
}

static inline void
packet_put_be32(uint8_t *p, uint32_t v)
{
    packet_put_be16(p, v >> 16);
    packet_put_be16(p + 2, v & 0xffff);
}

uint64_t packet_get_mac(const uint8_t *p);
void packet_put_mac(uint8_t *p, uint64_t mac);

/* The Internet checksum (RFC 1071): packet_csum_add() accumulates 'len'
 * bytes into a 32-bit partial sum (call it on even-length pieces except
 * the last), packet_csum_fold() folds and complements it. */
uint32_t packet_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t packet_csum_fold(uint32_t sum);
static inline uint16_t
packet_csum(const void *data, size_t len)
{
    return packet_csum_fold(packet_csum_add(0, data, len));
}

/* The UDP checksum of the 'len' bytes at 'udp' (header and payload) sent
 * from 'src' to 'dst': the folded sum over the pseudo-header and the
 * datagram.  Over a datagram whose checksum field is 0 it is the value to
 * store (0 meaning 0xffff); over a received one it is 0 when valid. */
uint16_t packet_udp_csum(uint32_t src, uint32_t dst, const void *udp,
                         size_t len);

/* Writes an Ethernet II header at 'p'. */
void packet_put_eth_header(uint8_t *p, uint64_t dst, uint64_t src,
                           uint16_t type);

/* Writes a 20-byte IPv4 header at 'p' (no options, TTL PACKET_IP_TTL, not
 * fragmented) for 'payload_len' bytes of 'proto', with its checksum. */
void packet_put_ip_header(uint8_t *p, uint8_t proto, uint16_t id,
                          uint32_t src, uint32_t dst, size_t payload_len);

/* An IPv4 packet found in an Ethernet frame by packet_parse_ipv4(). */
struct packet_ipv4 {
    uint64_t eth_dst, eth_src;
    const uint8_t *ip;               /* the IPv4 header, inside the frame */
    size_t avail;                    /* bytes from 'ip' to the frame end */
    size_t ihl;                      /* header length, 20..60, <= avail */
    size_t tot_len;                  /* as the header says, >= ihl; may
                                      * exceed 'avail' */
    uint16_t frag_off;               /* flags and fragment offset */
    uint8_t proto;
    uint32_t src, dst;
};

int packet_parse_ipv4(const uint8_t *frame, size_t len,
                      struct packet_ipv4 *pkt);

#endif
