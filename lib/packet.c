/* packet.c — see packet.h. */
#include "lib/packet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

uint64_t
packet_get_mac(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

void
packet_put_mac(uint8_t *p, uint64_t mac)
{
    for (int i = 5; i >= 0; i--) {
        p[i] = mac & 0xff;
        mac >>= 8;
    }
}

uint32_t
packet_csum_add(uint32_t sum, const void *data_, size_t len)
{
    const uint8_t *p = data_;
    while (len >= 2) {
        sum += (uint32_t) (p[0] << 8 | p[1]);
        p += 2;
        len -= 2;
    }
    if (len) {
        sum += (uint32_t) p[0] << 8;
    }
    return sum;
}

uint16_t
packet_csum_fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t) ~sum;
}

uint16_t
packet_udp_csum(uint32_t src, uint32_t dst, const void *udp, size_t len)
{
    uint8_t pseudo[12];
    packet_put_be32(pseudo, src);
    packet_put_be32(pseudo + 4, dst);
    pseudo[8] = 0;
    pseudo[9] = PACKET_IP_PROTO_UDP;
    packet_put_be16(pseudo + 10, len);
    return packet_csum_fold(packet_csum_add(
        packet_csum_add(0, pseudo, sizeof pseudo), udp, len));
}

void
packet_put_eth_header(uint8_t *p, uint64_t dst, uint64_t src, uint16_t type)
{
    struct packet_eth_header *eth = (struct packet_eth_header *) p;
    packet_put_mac(eth->dst, dst);
    packet_put_mac(eth->src, src);
    eth->type = htons(type);
}

void
packet_put_ip_header(uint8_t *p, uint8_t proto, uint16_t id, uint32_t src,
                     uint32_t dst, size_t payload_len)
{
    struct packet_ip_header *ip = (struct packet_ip_header *) p;
    memset(ip, 0, sizeof *ip);
    ip->ver_ihl = 0x45;
    ip->tot_len = htons(PACKET_IP_HLEN + payload_len);
    ip->id = htons(id);
    ip->ttl = PACKET_IP_TTL;
    ip->proto = proto;
    ip->src = htonl(src);
    ip->dst = htonl(dst);
    ip->csum = htons(packet_csum(ip, sizeof *ip));
}

int
packet_parse_ipv4(const uint8_t *frame, size_t len, struct packet_ipv4 *pkt)
{
    memset(pkt, 0, sizeof *pkt);
    if (len < PACKET_ETH_HLEN + PACKET_IP_HLEN
        || packet_get_be16(frame + 12) != PACKET_ETH_TYPE_IPV4) {
        return -EBADMSG;
    }
    const uint8_t *ip = frame + PACKET_ETH_HLEN;
    size_t avail = len - PACKET_ETH_HLEN;
    size_t ihl = (size_t) (ip[0] & 0x0f) * 4;
    size_t tot_len = packet_get_be16(ip + 2);
    if (ip[0] >> 4 != 4 || ihl < PACKET_IP_HLEN || ihl > avail
        || tot_len < ihl) {
        return -EBADMSG;
    }
    pkt->eth_dst = packet_get_mac(frame);
    pkt->eth_src = packet_get_mac(frame + 6);
    pkt->ip = ip;
    pkt->avail = avail;
    pkt->ihl = ihl;
    pkt->tot_len = tot_len;
    pkt->frag_off = packet_get_be16(ip + 6);
    pkt->proto = ip[9];
    pkt->src = packet_get_be32(ip + 12);
    pkt->dst = packet_get_be32(ip + 16);
    return 0;
}
