/* pkt.c — see pkt.h. */
#include "nfv/pkt.h"

#include <string.h>

#include "lib/packet.h"

#define NFV_IP_HLEN 20
#define NFV_TCP_HLEN 20
#define NFV_UDP_HLEN 8
#define NFV_ICMP_HLEN 8

const char *
nfv_parse_name(enum nfv_parse p)
{
    static const char *const names[] = {
#define NFV_PARSE_NAME__(e, s) s,
        NFV_PARSE_CLASSES(NFV_PARSE_NAME__)
#undef NFV_PARSE_NAME__
    };
    return (unsigned) p < NFV_PARSE_N ? names[p] : "?";
}

enum nfv_parse
nfv_pkt_parse(const uint8_t *frame, size_t len, struct nfv_pkt *pkt)
{
    memset(pkt, 0, sizeof *pkt);
    if (len < NFV_ETH_HLEN) {
        return NFV_PARSE_TRUNCATED;
    }
    if (packet_get_be16(frame + 12) != PACKET_ETH_TYPE_IPV4) {
        return NFV_PARSE_NOT_IP;
    }
    pkt->l3_ofs = NFV_ETH_HLEN;
    size_t avail = len - NFV_ETH_HLEN;
    if (avail < NFV_IP_HLEN) {
        return NFV_PARSE_TRUNCATED;
    }
    const uint8_t *ip = frame + NFV_ETH_HLEN;
    pkt->proto = ip[9];
    pkt->src = packet_get_be32(ip + 12);
    pkt->dst = packet_get_be32(ip + 16);

    size_t ihl = (size_t) (ip[0] & 0x0f) * 4;
    if (ip[0] >> 4 != 4 || ihl < NFV_IP_HLEN || ihl > avail) {
        return NFV_PARSE_BAD_IHL;
    }
    size_t tot_len = packet_get_be16(ip + 2);
    if (tot_len < ihl || tot_len > avail) {
        return NFV_PARSE_BAD_LEN;
    }
    if (packet_get_be16(ip + 6) & 0x3fff) {     /* MF or offset */
        return NFV_PARSE_FRAGMENT;
    }
    if (ihl > NFV_IP_HLEN) {
        return NFV_PARSE_OPTIONS;
    }

    const uint8_t *l4 = ip + ihl;
    size_t l4_len = tot_len - ihl;
    switch (pkt->proto) {
    case NFV_IP_PROTO_TCP:
        if (l4_len < NFV_TCP_HLEN) {
            return NFV_PARSE_TRUNCATED;
        }
        size_t doff = (size_t) (l4[12] >> 4) * 4;
        if (doff < NFV_TCP_HLEN || doff > l4_len) {
            return NFV_PARSE_TRUNCATED;
        }
        pkt->sport = packet_get_be16(l4);
        pkt->dport = packet_get_be16(l4 + 2);
        pkt->tcp_flags = l4[13];
        pkt->tcp_seq = packet_get_be32(l4 + 4);
        pkt->tcp_ack = packet_get_be32(l4 + 8);
        break;
    case NFV_IP_PROTO_UDP:
        if (l4_len < NFV_UDP_HLEN) {
            return NFV_PARSE_TRUNCATED;
        }
        pkt->sport = packet_get_be16(l4);
        pkt->dport = packet_get_be16(l4 + 2);
        break;
    case NFV_IP_PROTO_ICMP:
        if (l4_len < NFV_ICMP_HLEN) {
            return NFV_PARSE_TRUNCATED;
        }
        pkt->icmp_type = l4[0];
        pkt->icmp_code = l4[1];
        pkt->sport = packet_get_be16(l4 + 4);
        break;
    default:
        break;
    }
    pkt->l4_ofs = (uint16_t) (NFV_ETH_HLEN + ihl);
    pkt->l4_len = (uint16_t) l4_len;
    return NFV_PARSE_OK;
}

static uint16_t
nfv_csum_fold__(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t) sum;
}

uint16_t
nfv_csum_update16(uint16_t csum, uint16_t old, uint16_t new_)
{
    uint32_t sum = (uint16_t) ~csum + (uint32_t) (uint16_t) ~old + new_;
    return (uint16_t) ~nfv_csum_fold__(sum);
}

uint16_t
nfv_csum_update32(uint16_t csum, uint32_t old, uint32_t new_)
{
    uint32_t sum = (uint16_t) ~csum
                   + (uint32_t) (uint16_t) ~(old >> 16)
                   + (uint32_t) (uint16_t) ~(old & 0xffff)
                   + (new_ >> 16) + (new_ & 0xffff);
    return (uint16_t) ~nfv_csum_fold__(sum);
}

uint16_t
nfv_l4_csum(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *l4,
            size_t len)
{
    uint32_t sum = 0;
    if (proto != NFV_IP_PROTO_ICMP) {
        uint8_t pseudo[12];
        packet_put_be32(pseudo, src);
        packet_put_be32(pseudo + 4, dst);
        pseudo[8] = 0;
        pseudo[9] = proto;
        packet_put_be16(pseudo + 10, (uint16_t) len);
        sum = packet_csum_add(0, pseudo, sizeof pseudo);
    }
    return packet_csum_fold(packet_csum_add(sum, l4, len));
}

/* The offset of the L4 checksum field of 'pkt' from the frame start, or 0
 * when the protocol has none we maintain. */
static size_t
nfv_l4_csum_ofs__(const struct nfv_pkt *pkt)
{
    switch (pkt->proto) {
    case NFV_IP_PROTO_TCP:
        return pkt->l4_ofs + 16u;
    case NFV_IP_PROTO_UDP:
        return pkt->l4_ofs + 6u;
    case NFV_IP_PROTO_ICMP:
        return pkt->l4_ofs + 2u;
    default:
        return 0;
    }
}

/* Rewrites the address at 'ip_field' and the port at 'port_field' (0: no
 * port) of 'pkt', fixing the checksums. */
static void
nfv_pkt_rewrite__(uint8_t *frame, const struct nfv_pkt *pkt, size_t ip_field,
                  size_t port_field, uint32_t ip, uint16_t port)
{
    uint32_t old_ip = packet_get_be32(frame + ip_field);
    uint8_t *ipcs = frame + pkt->l3_ofs + 10;
    packet_put_be16(ipcs, nfv_csum_update32(packet_get_be16(ipcs), old_ip, ip));
    packet_put_be32(frame + ip_field, ip);

    size_t cs_ofs = nfv_l4_csum_ofs__(pkt);
    if (!cs_ofs) {
        return;
    }
    uint8_t *l4cs = frame + cs_ofs;
    uint16_t cs = packet_get_be16(l4cs);
    bool udp = pkt->proto == NFV_IP_PROTO_UDP;
    if (udp && cs == 0) {
        /* No checksum: rewrite the fields only. */
        if (port_field) {
            packet_put_be16(frame + port_field, port);
        }
        return;
    }
    if (pkt->proto != NFV_IP_PROTO_ICMP) {
        cs = nfv_csum_update32(cs, old_ip, ip);   /* pseudo-header */
    }
    if (port_field) {
        cs = nfv_csum_update16(cs, packet_get_be16(frame + port_field), port);
        packet_put_be16(frame + port_field, port);
    }
    if (udp && cs == 0) {
        cs = 0xffff;
    }
    packet_put_be16(l4cs, cs);
}

static size_t
nfv_port_field__(const struct nfv_pkt *pkt, bool src)
{
    switch (pkt->proto) {
    case NFV_IP_PROTO_TCP:
    case NFV_IP_PROTO_UDP:
        return pkt->l4_ofs + (src ? 0u : 2u);
    case NFV_IP_PROTO_ICMP:
        return nfv_icmp_is_error(pkt->icmp_type) ? 0 : pkt->l4_ofs + 4u;
    default:
        return 0;
    }
}

void
nfv_pkt_set_src(uint8_t *frame, const struct nfv_pkt *pkt, uint32_t ip,
                uint16_t port)
{
    nfv_pkt_rewrite__(frame, pkt, pkt->l3_ofs + 12u, nfv_port_field__(pkt, true),
                      ip, port);
}

void
nfv_pkt_set_dst(uint8_t *frame, const struct nfv_pkt *pkt, uint32_t ip,
                uint16_t port)
{
    nfv_pkt_rewrite__(frame, pkt, pkt->l3_ofs + 16u,
                      nfv_port_field__(pkt, false), ip, port);
}

bool
nfv_icmp_is_error(uint8_t type)
{
    return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static void
nfv_put_l2l3__(uint8_t *buf, uint64_t eth_dst, uint64_t eth_src,
               uint8_t proto, uint32_t src, uint32_t dst, size_t l4_len)
{
    packet_put_eth_header(buf, eth_dst, eth_src, PACKET_ETH_TYPE_IPV4);
    packet_put_ip_header(buf + NFV_ETH_HLEN, proto, 0, src, dst, l4_len);
}

/* Zero-pads a frame of 'len' bytes to the Ethernet minimum. */
static size_t
nfv_pad__(uint8_t *buf, size_t len)
{
    if (len < NFV_MIN_FRAME) {
        memset(buf + len, 0, NFV_MIN_FRAME - len);
        len = NFV_MIN_FRAME;
    }
    return len;
}

size_t
nfv_pkt_build_tcp(uint8_t *buf, size_t cap, const struct nfv_tcp_seg *s)
{
    size_t len = NFV_ETH_HLEN + NFV_IP_HLEN + NFV_TCP_HLEN;
    if (cap < NFV_MIN_FRAME) {
        return 0;
    }
    nfv_put_l2l3__(buf, s->eth_dst, s->eth_src, NFV_IP_PROTO_TCP, s->src,
                   s->dst, NFV_TCP_HLEN);
    uint8_t *tcp = buf + NFV_ETH_HLEN + NFV_IP_HLEN;
    memset(tcp, 0, NFV_TCP_HLEN);
    packet_put_be16(tcp, s->sport);
    packet_put_be16(tcp + 2, s->dport);
    packet_put_be32(tcp + 4, s->seq);
    packet_put_be32(tcp + 8, s->ack);
    tcp[12] = (NFV_TCP_HLEN / 4) << 4;
    tcp[13] = s->flags;
    packet_put_be16(tcp + 14, s->window);
    packet_put_be16(tcp + 16, nfv_l4_csum(s->src, s->dst, NFV_IP_PROTO_TCP,
                                          tcp, NFV_TCP_HLEN));
    return nfv_pad__(buf, len);
}

size_t
nfv_pkt_build_rst(const uint8_t *frame, const struct nfv_pkt *pkt,
                  uint8_t *buf, size_t cap)
{
    if (pkt->proto != NFV_IP_PROTO_TCP || (pkt->tcp_flags & NFV_TCP_RST)
        || !pkt->l4_ofs) {
        return 0;
    }
    const uint8_t *tcp = frame + pkt->l4_ofs;
    uint32_t seq = packet_get_be32(tcp + 4);
    uint32_t ack = packet_get_be32(tcp + 8);
    size_t doff = (size_t) (tcp[12] >> 4) * 4;
    uint32_t seg_len = (uint32_t) (pkt->l4_len - doff)
                       + !!(pkt->tcp_flags & NFV_TCP_SYN)
                       + !!(pkt->tcp_flags & NFV_TCP_FIN);
    struct nfv_tcp_seg s = {
        .eth_dst = packet_get_mac(frame + 6),
        .eth_src = packet_get_mac(frame),
        .src = pkt->dst, .dst = pkt->src,
        .sport = pkt->dport, .dport = pkt->sport,
    };
    if (pkt->tcp_flags & NFV_TCP_ACK) {
        s.seq = ack;
        s.flags = NFV_TCP_RST;
    } else {
        s.ack = seq + seg_len;
        s.flags = NFV_TCP_RST | NFV_TCP_ACK;
    }
    return nfv_pkt_build_tcp(buf, cap, &s);
}

size_t
nfv_pkt_build_unreach(const uint8_t *frame, const struct nfv_pkt *pkt,
                      uint8_t code, uint8_t *buf, size_t cap)
{
    size_t hdrs = NFV_ETH_HLEN + NFV_IP_HLEN + NFV_ICMP_HLEN;
    if (!pkt->l4_ofs || cap < hdrs + NFV_IP_HLEN + 8 || cap < NFV_MIN_FRAME
        || (pkt->proto == NFV_IP_PROTO_ICMP
            && nfv_icmp_is_error(pkt->icmp_type))
        || (pkt->dst >> 28) == 0xe || pkt->dst == 0xffffffff
        || pkt->src == 0 || (pkt->src >> 28) >= 0xe) {
        return 0;
    }
    /* RFC 1122 3.2.2: no error about a multicast/broadcast destination or
     * to a source that is not a unicast host. */
    size_t ip_len = (size_t) (pkt->l4_ofs - pkt->l3_ofs) + pkt->l4_len;
    size_t quote = ip_len < cap - hdrs ? ip_len : cap - hdrs;
    nfv_put_l2l3__(buf, packet_get_mac(frame + 6), packet_get_mac(frame),
                   NFV_IP_PROTO_ICMP, pkt->dst, pkt->src,
                   NFV_ICMP_HLEN + quote);
    uint8_t *icmp = buf + NFV_ETH_HLEN + NFV_IP_HLEN;
    memset(icmp, 0, NFV_ICMP_HLEN);
    icmp[0] = NFV_ICMP_UNREACH;
    icmp[1] = code;
    memmove(icmp + NFV_ICMP_HLEN, frame + pkt->l3_ofs, quote);
    packet_put_be16(icmp + 2, nfv_l4_csum(0, 0, NFV_IP_PROTO_ICMP, icmp,
                                          NFV_ICMP_HLEN + quote));
    return nfv_pad__(buf, hdrs + quote);
}
