/* icmp.c — see icmp.h. */
#include "agent/icmp.h"
#include "lib/packet.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define IP_OFFSET__ 0x1fff

/* True if 'ip' may be the source of a packet we answer (a unique host). */
static bool
icmp_source_ok__(uint32_t ip)
{
    uint8_t first = ip >> 24;
    return ip != 0 && ip != 0xffffffffu && first != 127 && first < 224;
}

bool
icmp_may_answer(const struct packet_ipv4 *pkt)
{
    uint8_t dst_first = pkt->dst >> 24;
    return !((pkt->eth_dst >> 40) & 1) && !((pkt->eth_src >> 40) & 1)
           && pkt->dst != 0xffffffffu
           && !(dst_first >= 224 && dst_first < 240)
           && icmp_source_ok__(pkt->src) && !(pkt->frag_off & IP_OFFSET__);
}

int
icmp_build_error(enum icmp_error_kind kind, uint32_t router_ip,
                 uint64_t router_mac, const uint8_t *frame, size_t len,
                 uint8_t *out, size_t out_cap, size_t *out_len)
{
    uint8_t type, code;

    switch (kind) {
    case ICMP_ERR_TIME_EXCEEDED:
        type = 11, code = 0;
        break;
    case ICMP_ERR_NET_UNREACHABLE:
        type = 3, code = 0;
        break;
    case ICMP_ERR_HOST_UNREACHABLE:
        type = 3, code = 1;
        break;
    case ICMP_ERR_PORT_UNREACHABLE:
        type = 3, code = 3;
        break;
    default:
        return -EINVAL;
    }

    /* The offending frame: Ethernet II, IPv4, a sane header. */
    struct packet_ipv4 pkt;
    if (packet_parse_ipv4(frame, len, &pkt)) {
        return -EBADMSG;
    }
    const uint8_t *ip = pkt.ip;
    size_t ihl = pkt.ihl;
    size_t tot_len = pkt.tot_len;
    if (tot_len > pkt.avail) {
        tot_len = pkt.avail;  /* truncated by the switch: quote what we have */
    }

    uint64_t eth_src = pkt.eth_src;
    uint32_t src = pkt.src;

    /* RFC 1812 4.3.2.7: the packets that never get an ICMP error. */
    if (!icmp_may_answer(&pkt)) {
        return -EPERM;
    }
    if (pkt.proto == PACKET_IP_PROTO_ICMP) {
        if (tot_len < ihl + 1) {
            return -EBADMSG;
        }
        uint8_t t = ip[ihl];
        /* Error messages: unreachable, source quench, redirect, time
         * exceeded, parameter problem.  Every other type is a query. */
        if (t == 3 || t == 4 || t == 5 || t == 11 || t == 12) {
            return -EPERM;
        }
    }

    size_t quote = ihl + (tot_len - ihl < 8 ? tot_len - ihl : 8);
    size_t icmp_len = 8 + quote;
    size_t total = PACKET_ETH_HLEN + PACKET_IP_HLEN + icmp_len;
    if (total > out_cap) {
        return -ENOSPC;
    }
    memset(out, 0, total);
    packet_put_eth_header(out, eth_src, router_mac, PACKET_ETH_TYPE_IPV4);
    packet_put_ip_header(out + PACKET_ETH_HLEN, PACKET_IP_PROTO_ICMP,
                         (uint16_t) (src ^ (src >> 16) ^ ip[4] << 8 ^ ip[5]),
                         router_ip, src, icmp_len);

    /* ICMP: type, code, checksum, 4 unused bytes, the quote. */
    uint8_t *icmp = out + PACKET_ETH_HLEN + PACKET_IP_HLEN;
    icmp[0] = type;
    icmp[1] = code;
    memcpy(icmp + 8, ip, quote);
    packet_put_be16(icmp + 2, packet_csum(icmp, icmp_len));

    *out_len = total;
    return 0;
}
