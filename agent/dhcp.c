/* dhcp.c — see dhcp.h. */
#include "agent/dhcp.h"
#include "lib/packet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#define BOOTP_FIXED_LEN 236          /* op .. file */
#define BOOTP_MIN_LEN 300            /* RFC 1542 */
#define DHCP_MAGIC 0x63825363u

/* ---- parsing ----------------------------------------------------------- */

/* Walks the options: calls back nothing, just validates and finds 'code'.
 * Returns 0 (found or not), -EBADMSG for an option that overruns. */
static int
dhcp_walk__(const uint8_t *p, size_t len, uint8_t code,
            const uint8_t **value, size_t *vlen)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        if (c == DHCP_OPT_PAD) {
            i++;
            continue;
        }
        if (c == DHCP_OPT_END) {
            return 0;
        }
        if (i + 2 > len || i + 2 + p[i + 1] > len) {
            return -EBADMSG;
        }
        if (c == code && value && !*value) {
            *value = p + i + 2;
            *vlen = p[i + 1];
        }
        i += 2 + p[i + 1];
    }
    return 0;
}

int
dhcp_parse(const uint8_t *f, size_t len, struct dhcp_packet *d)
{
    memset(d, 0, sizeof *d);
    struct packet_ipv4 pkt;
    if (packet_parse_ipv4(f, len, &pkt) || pkt.tot_len > pkt.avail
        || pkt.proto != PACKET_IP_PROTO_UDP || (pkt.frag_off & 0x3fff)) {
        return -EBADMSG;      /* not IPv4/UDP, truncated, or a fragment */
    }
    d->eth_dst = pkt.eth_dst;
    d->eth_src = pkt.eth_src;
    d->ip_src = pkt.src;
    d->ip_dst = pkt.dst;

    const uint8_t *ip = pkt.ip;
    size_t ihl = pkt.ihl, tot = pkt.tot_len;
    const uint8_t *udp = ip + ihl;
    size_t udp_avail = tot - ihl;
    if (udp_avail < PACKET_UDP_HLEN) {
        return -EBADMSG;
    }
    size_t ulen = packet_get_be16(udp + 4);
    if (ulen < PACKET_UDP_HLEN || ulen > udp_avail) {
        return -EBADMSG;
    }
    d->udp_src = packet_get_be16(udp);
    d->udp_dst = packet_get_be16(udp + 2);

    const uint8_t *b = udp + PACKET_UDP_HLEN;
    size_t blen = ulen - PACKET_UDP_HLEN;
    if (blen < BOOTP_FIXED_LEN + 4
        || packet_get_be32(b + BOOTP_FIXED_LEN) != DHCP_MAGIC
        || b[1] != 1 || b[2] != 6) {
        return -EBADMSG;      /* short, no magic cookie, or not Ethernet */
    }
    d->op = b[0];
    d->xid = packet_get_be32(b + 4);
    d->flags = packet_get_be16(b + 10);
    d->ciaddr = packet_get_be32(b + 12);
    d->yiaddr = packet_get_be32(b + 16);
    d->siaddr = packet_get_be32(b + 20);
    d->giaddr = packet_get_be32(b + 24);
    d->chaddr = packet_get_mac(b + 28);
    d->options = b + BOOTP_FIXED_LEN + 4;
    d->options_len = blen - BOOTP_FIXED_LEN - 4;

    const uint8_t *v = NULL;
    size_t vlen = 0;
    if (dhcp_walk__(d->options, d->options_len, DHCP_OPT_MSG_TYPE, &v,
                    &vlen)) {
        return -EBADMSG;
    }
    if (v) {
        if (vlen != 1) {
            return -EBADMSG;
        }
        d->msg_type = v[0];
    }
    return 0;
}

const uint8_t *
dhcp_find_option(const struct dhcp_packet *d, uint8_t code, size_t *len)
{
    const uint8_t *v = NULL;
    size_t vlen = 0;
    if (dhcp_walk__(d->options, d->options_len, code, &v, &vlen) || !v) {
        return NULL;
    }
    *len = vlen;
    return v;
}

/* Reads a 4-byte address option; false when absent or of another size. */
static bool
dhcp_get_ip_option__(const struct dhcp_packet *d, uint8_t code, uint32_t *ip)
{
    size_t len = 0;
    const uint8_t *v = dhcp_find_option(d, code, &len);
    if (!v || len != 4) {
        return false;
    }
    *ip = packet_get_be32(v);
    return true;
}

/* ---- building ---------------------------------------------------------- */

struct dhcp_opts__ {
    uint8_t *p;
    size_t n, cap;
    bool overflow;
};

static uint8_t *
opt_put__(struct dhcp_opts__ *o, uint8_t code, size_t len)
{
    if (len > 255 || o->n + 2 + len > o->cap) {
        o->overflow = true;
        return NULL;
    }
    uint8_t *v = o->p + o->n;
    v[0] = code;
    v[1] = len;
    o->n += 2 + len;
    return v + 2;
}

static void
opt_put_ip__(struct dhcp_opts__ *o, uint8_t code, uint32_t ip)
{
    uint8_t *v = opt_put__(o, code, 4);
    if (v) {
        packet_put_be32(v, ip);
    }
}

/* Option 121: for each route, the prefix length, the significant octets of
 * the prefix, the next hop. */
static void
opt_put_routes__(struct dhcp_opts__ *o, const struct dhcp_lease *l)
{
    uint8_t buf[255];
    size_t n = 0;
    bool have_default = false;

    for (size_t i = 0; i <= l->n_routes; i++) {
        struct dhcp_route r;
        if (i < l->n_routes) {
            r = l->routes[i];
        } else if (l->gateway && !have_default) {
            r = (struct dhcp_route) { 0, 0, l->gateway };
        } else {
            break;
        }
        if (r.plen > 32) {
            continue;
        }
        have_default |= r.plen == 0;
        size_t octets = (r.plen + 7) / 8;
        if (n + 1 + octets + 4 > sizeof buf) {
            o->overflow = true;
            return;
        }
        buf[n++] = r.plen;
        for (size_t k = 0; k < octets; k++) {
            buf[n++] = (r.prefix >> (24 - 8 * k)) & 0xff;
        }
        packet_put_be32(buf + n, r.next_hop);
        n += 4;
    }
    uint8_t *v = opt_put__(o, DHCP_OPT_CLASSLESS_ROUTES, n);
    if (v) {
        memcpy(v, buf, n);
    }
}

/* Decides the reply type for a request, or returns -ENOMSG. */
static int
dhcp_decide__(const struct dhcp_lease *l, const struct dhcp_packet *q,
              uint8_t *type)
{
    uint32_t req_ip = 0, server_id = 0;
    bool has_req = dhcp_get_ip_option__(q, DHCP_OPT_REQUESTED_IP, &req_ip);
    bool has_sid = dhcp_get_ip_option__(q, DHCP_OPT_SERVER_ID, &server_id);

    if (q->op != 1) {
        return -ENOMSG;
    }
    switch (q->msg_type) {
    case DHCPDISCOVER:
        *type = DHCPOFFER;
        return 0;
    case DHCPREQUEST:
        if (has_sid && server_id != l->server_ip) {
            return -ENOMSG;            /* the client chose another server */
        }
        if (has_req) {                 /* SELECTING or INIT-REBOOT */
            *type = req_ip == l->ip ? DHCPACK : DHCPNAK;
        } else if (q->ciaddr) {        /* RENEWING or REBINDING */
            *type = q->ciaddr == l->ip ? DHCPACK : DHCPNAK;
        } else {
            *type = DHCPNAK;
        }
        return 0;
    default:
        return -ENOMSG;
    }
}

int
dhcp_reply(const struct dhcp_lease *l, const uint8_t *frame, size_t len,
           uint8_t *out, size_t out_cap, size_t *out_len, uint8_t *reply_type)
{
    struct dhcp_packet q;
    uint8_t type = 0;
    int r;

    if (!l->ip || l->plen > 32 || !l->server_ip) {
        return -EINVAL;
    }
    r = dhcp_parse(frame, len, &q);
    if (r) {
        return r;
    }
    if (q.udp_dst != DHCP_SERVER_PORT) {
        return -EBADMSG;
    }
    r = dhcp_decide__(l, &q, &type);
    if (r) {
        return r;
    }

    size_t hdrs = PACKET_ETH_HLEN + PACKET_IP_HLEN + PACKET_UDP_HLEN;
    if (out_cap < hdrs + BOOTP_MIN_LEN) {
        return -ENOSPC;
    }
    memset(out, 0, out_cap < DHCP_REPLY_MAX_LEN ? out_cap : DHCP_REPLY_MAX_LEN);
    uint8_t *b = out + hdrs;
    b[0] = 2;                                  /* BOOTREPLY */
    b[1] = 1;
    b[2] = 6;
    packet_put_be32(b + 4, q.xid);
    packet_put_be16(b + 10, q.flags);
    if (type == DHCPACK) {
        packet_put_be32(b + 12, q.ciaddr);
    }
    if (type != DHCPNAK) {
        packet_put_be32(b + 16, l->ip);
    }
    packet_put_be32(b + 24, q.giaddr);
    const uint8_t *q_udp = frame + PACKET_ETH_HLEN
                           + (size_t) (frame[PACKET_ETH_HLEN] & 0x0f) * 4;
    memcpy(b + 28, q_udp + PACKET_UDP_HLEN + 28, 16);  /* chaddr, as sent */
    packet_put_be32(b + BOOTP_FIXED_LEN, DHCP_MAGIC);

    size_t limit = out_cap < DHCP_REPLY_MAX_LEN ? out_cap : DHCP_REPLY_MAX_LEN;
    struct dhcp_opts__ o = {
        .p = b + BOOTP_FIXED_LEN + 4,
        .cap = limit - hdrs - BOOTP_FIXED_LEN - 4 - 1,   /* room for END */
    };
    uint8_t *v = opt_put__(&o, DHCP_OPT_MSG_TYPE, 1);
    if (v) {
        v[0] = type;
    }
    opt_put_ip__(&o, DHCP_OPT_SERVER_ID, l->server_ip);
    if (type != DHCPNAK) {
        v = opt_put__(&o, DHCP_OPT_LEASE_TIME, 4);
        if (v) {
            packet_put_be32(v, l->lease_time);
        }
        opt_put_ip__(&o, DHCP_OPT_SUBNET_MASK,
                     l->plen ? 0xffffffffu << (32 - l->plen) : 0);
        if (l->gateway) {
            opt_put_ip__(&o, DHCP_OPT_ROUTER, l->gateway);
        }
        if (l->n_dns) {
            size_t n = l->n_dns < DHCP_MAX_DNS ? l->n_dns : DHCP_MAX_DNS;
            v = opt_put__(&o, DHCP_OPT_DNS, 4 * n);
            for (size_t i = 0; v && i < n; i++) {
                packet_put_be32(v + 4 * i, l->dns[i]);
            }
        }
        if (l->mtu) {
            v = opt_put__(&o, DHCP_OPT_MTU, 2);
            if (v) {
                packet_put_be16(v, l->mtu);
            }
        }
        if (l->n_routes) {
            opt_put_routes__(&o, l);
        }
    }
    if (o.overflow) {
        return -ENOSPC;
    }
    o.p[o.n++] = DHCP_OPT_END;
    size_t blen = BOOTP_FIXED_LEN + 4 + o.n;
    if (blen < BOOTP_MIN_LEN) {
        blen = BOOTP_MIN_LEN;                  /* zero padding */
    }

    /* Where the reply goes (RFC 2131 4.1). */
    uint64_t eth_dst;
    uint32_t ip_dst;
    if (type != DHCPNAK && q.ciaddr) {
        eth_dst = q.chaddr;
        ip_dst = q.ciaddr;
    } else if (type == DHCPNAK || (q.flags & DHCP_FLAG_BROADCAST)) {
        eth_dst = 0xffffffffffffULL;
        ip_dst = 0xffffffffu;
    } else {
        eth_dst = q.chaddr;
        ip_dst = l->ip;
    }

    packet_put_eth_header(out, eth_dst, l->server_mac, PACKET_ETH_TYPE_IPV4);
    packet_put_ip_header(out + PACKET_ETH_HLEN, PACKET_IP_PROTO_UDP, 0,
                         l->server_ip, ip_dst, PACKET_UDP_HLEN + blen);
    struct packet_udp_header *udp = (struct packet_udp_header *)
        (out + PACKET_ETH_HLEN + PACKET_IP_HLEN);
    udp->src = htons(DHCP_SERVER_PORT);
    udp->dst = htons(DHCP_CLIENT_PORT);
    udp->len = htons(PACKET_UDP_HLEN + blen);
    uint16_t csum = packet_udp_csum(l->server_ip, ip_dst, udp,
                                    PACKET_UDP_HLEN + blen);
    udp->csum = htons(csum ? csum : 0xffff);

    *out_len = hdrs + blen;
    if (reply_type) {
        *reply_type = type;
    }
    return 0;
}
