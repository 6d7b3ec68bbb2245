/* arp.c — see arp.h. */
#include "agent/arp.h"
#include "lib/packet.h"

#include <errno.h>
#include <string.h>

#define ARP_HTYPE_ETHERNET 1

int
arp_build_request(uint64_t sha, uint32_t spa, uint32_t tpa, uint8_t *out,
                  size_t cap, size_t *len)
{
    if (cap < ARP_FRAME_LEN) {
        return -ENOSPC;
    }
    memset(out, 0, ARP_FRAME_LEN);
    packet_put_eth_header(out, 0xffffffffffffULL, sha, ARP_ETH_TYPE);

    uint8_t *arp = out + PACKET_ETH_HLEN;
    packet_put_be16(arp, ARP_HTYPE_ETHERNET);
    packet_put_be16(arp + 2, PACKET_ETH_TYPE_IPV4);
    arp[4] = 6;
    arp[5] = 4;
    packet_put_be16(arp + 6, ARP_OP_REQUEST);
    packet_put_mac(arp + 8, sha);
    packet_put_be32(arp + 14, spa);
    /* The target hardware address (arp + 18) stays zero: unknown. */
    packet_put_be32(arp + 24, tpa);
    *len = ARP_FRAME_LEN;
    return 0;
}

int
arp_parse(const uint8_t *frame, size_t len, struct arp_packet *p)
{
    if (len < ARP_FRAME_LEN
        || packet_get_be16(frame + 12) != ARP_ETH_TYPE) {
        return -EBADMSG;
    }
    const uint8_t *arp = frame + PACKET_ETH_HLEN;
    if (packet_get_be16(arp) != ARP_HTYPE_ETHERNET
        || packet_get_be16(arp + 2) != PACKET_ETH_TYPE_IPV4
        || arp[4] != 6 || arp[5] != 4) {
        return -EBADMSG;
    }
    p->eth_dst = packet_get_mac(frame);
    p->eth_src = packet_get_mac(frame + 6);
    p->op = packet_get_be16(arp + 6);
    p->sha = packet_get_mac(arp + 8);
    p->spa = packet_get_be32(arp + 14);
    p->tha = packet_get_mac(arp + 18);
    p->tpa = packet_get_be32(arp + 24);
    return 0;
}
