/* icmp.c — see icmp.h. */
#include "agent/icmp.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define ETH_HLEN__ 14
#define ETH_TYPE_IPV4__ 0x0800
#define IP_PROTO_ICMP__ 1
#define IP_MF__ 0x2000
#define IP_OFFSET__ 0x1fff

uint32_t
icmp_csum_add(uint32_t sum, const void *data_, size_t len)
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
icmp_csum_fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t) ~sum;
}

static uint64_t
get_mac__(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void
put_mac__(uint8_t *p, uint64_t mac)
{
    for (int i = 5; i >= 0; i--) {
        p[i] = mac & 0xff;
        mac >>= 8;
    }
}

static uint32_t
get_be32__(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

static void
put_be16__(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v & 0xff;
}

static void
put_be32__(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = (v >> 16) & 0xff;
    p[2] = (v >> 8) & 0xff;
    p[3] = v & 0xff;
}

/* True if 'ip' may be the source of a packet we answer (a unique host). */
static bool
icmp_source_ok__(uint32_t ip)
{
    uint8_t first = ip >> 24;
    return ip != 0 && ip != 0xffffffffu && first != 127 && first < 224;
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
    default:
        return -EINVAL;
    }

    /* The offending frame: Ethernet II, IPv4, a sane header. */
    if (len < ETH_HLEN__ + 20
        || (frame[12] << 8 | frame[13]) != ETH_TYPE_IPV4__) {
        return -EBADMSG;
    }
    const uint8_t *ip = frame + ETH_HLEN__;
    size_t ip_avail = len - ETH_HLEN__;
    size_t ihl = (size_t) (ip[0] & 0x0f) * 4;
    size_t tot_len = (size_t) (ip[2] << 8 | ip[3]);
    if (ip[0] >> 4 != 4 || ihl < 20 || ihl > ip_avail || tot_len < ihl) {
        return -EBADMSG;
    }
    if (tot_len > ip_avail) {
        tot_len = ip_avail;       /* truncated by the switch: quote what we have */
    }

    uint64_t eth_dst = get_mac__(frame), eth_src = get_mac__(frame + 6);
    uint32_t src = get_be32__(ip + 12), dst = get_be32__(ip + 16);
    uint16_t frag = (uint16_t) (ip[6] << 8 | ip[7]);
    uint8_t dst_first = dst >> 24;

    /* RFC 1812 4.3.2.7: the packets that never get an ICMP error. */
    if ((eth_dst >> 40) & 1 || (eth_src >> 40) & 1
        || dst == 0xffffffffu || (dst_first >= 224 && dst_first < 240)
        || !icmp_source_ok__(src) || (frag & IP_OFFSET__)) {
        return -EPERM;
    }
    if (ip[9] == IP_PROTO_ICMP__) {
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
    size_t total = ETH_HLEN__ + 20 + icmp_len;
    if (total > out_cap) {
        return -ENOSPC;
    }
    memset(out, 0, total);

    /* Ethernet. */
    put_mac__(out, eth_src);
    put_mac__(out + 6, router_mac);
    put_be16__(out + 12, ETH_TYPE_IPV4__);

    /* IPv4. */
    uint8_t *oip = out + ETH_HLEN__;
    oip[0] = 0x45;
    put_be16__(oip + 2, 20 + icmp_len);
    put_be16__(oip + 4, (uint16_t) (src ^ (src >> 16) ^ ip[4] << 8 ^ ip[5]));
    oip[8] = 64;
    oip[9] = IP_PROTO_ICMP__;
    put_be32__(oip + 12, router_ip);
    put_be32__(oip + 16, src);
    put_be16__(oip + 10, icmp_csum(oip, 20));

    /* ICMP: type, code, checksum, 4 unused bytes, the quote. */
    uint8_t *icmp = oip + 20;
    icmp[0] = type;
    icmp[1] = code;
    memcpy(icmp + 8, ip, quote);
    put_be16__(icmp + 2, icmp_csum(icmp, icmp_len));

    *out_len = total;
    return 0;
}
