/* dhcp.c — see dhcp.h. */
#include "agent/dhcp.h"
#include "agent/icmp.h"

#include <errno.h>
#include <string.h>

#define ETH_HLEN__ 14
#define IP_HLEN__ 20
#define UDP_HLEN__ 8
#define BOOTP_FIXED_LEN 236          /* op .. file */
#define BOOTP_MIN_LEN 300            /* RFC 1542 */
#define DHCP_MAGIC 0x63825363u

static uint16_t
be16__(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}

static uint32_t
be32__(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

static uint64_t
mac__(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 6; i++) {
        v = v << 8 | p[i];
    }
    return v;
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

static void
put_mac__(uint8_t *p, uint64_t mac)
{
    for (int i = 5; i >= 0; i--) {
        p[i] = mac & 0xff;
        mac >>= 8;
    }
}

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
    if (len < ETH_HLEN__ + IP_HLEN__ || be16__(f + 12) != 0x0800) {
        return -EBADMSG;
    }
    d->eth_dst = mac__(f);
    d->eth_src = mac__(f + 6);

    const uint8_t *ip = f + ETH_HLEN__;
    size_t avail = len - ETH_HLEN__;
    size_t ihl = (size_t) (ip[0] & 0x0f) * 4;
    size_t tot = be16__(ip + 2);
    if (ip[0] >> 4 != 4 || ihl < IP_HLEN__ || tot < ihl || tot > avail
        || ip[9] != 17 || (be16__(ip + 6) & 0x3fff)) {
        return -EBADMSG;      /* not IPv4/UDP, truncated, or a fragment */
    }
    d->ip_src = be32__(ip + 12);
    d->ip_dst = be32__(ip + 16);

    const uint8_t *udp = ip + ihl;
    size_t udp_avail = tot - ihl;
    if (udp_avail < UDP_HLEN__) {
        return -EBADMSG;
    }
    size_t ulen = be16__(udp + 4);
    if (ulen < UDP_HLEN__ || ulen > udp_avail) {
        return -EBADMSG;
    }
    d->udp_src = be16__(udp);
    d->udp_dst = be16__(udp + 2);

    const uint8_t *b = udp + UDP_HLEN__;
    size_t blen = ulen - UDP_HLEN__;
    if (blen < BOOTP_FIXED_LEN + 4 || be32__(b + BOOTP_FIXED_LEN) != DHCP_MAGIC
        || b[1] != 1 || b[2] != 6) {
        return -EBADMSG;      /* short, no magic cookie, or not Ethernet */
    }
    d->op = b[0];
    d->xid = be32__(b + 4);
    d->flags = be16__(b + 10);
    d->ciaddr = be32__(b + 12);
    d->yiaddr = be32__(b + 16);
    d->siaddr = be32__(b + 20);
    d->giaddr = be32__(b + 24);
    d->chaddr = mac__(b + 28);
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
    *ip = be32__(v);
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
        put_be32__(v, ip);
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
        put_be32__(buf + n, r.next_hop);
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

    size_t hdrs = ETH_HLEN__ + IP_HLEN__ + UDP_HLEN__;
    if (out_cap < hdrs + BOOTP_MIN_LEN) {
        return -ENOSPC;
    }
    memset(out, 0, out_cap < DHCP_REPLY_MAX_LEN ? out_cap : DHCP_REPLY_MAX_LEN);
    uint8_t *b = out + hdrs;
    b[0] = 2;                                  /* BOOTREPLY */
    b[1] = 1;
    b[2] = 6;
    put_be32__(b + 4, q.xid);
    put_be16__(b + 10, q.flags);
    if (type == DHCPACK) {
        put_be32__(b + 12, q.ciaddr);
    }
    if (type != DHCPNAK) {
        put_be32__(b + 16, l->ip);
    }
    put_be32__(b + 24, q.giaddr);
    memcpy(b + 28, frame + ETH_HLEN__ + (size_t) (frame[ETH_HLEN__] & 0x0f) * 4
           + UDP_HLEN__ + 28, 16);             /* chaddr, as the client sent */
    put_be32__(b + BOOTP_FIXED_LEN, DHCP_MAGIC);

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
            put_be32__(v, l->lease_time);
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
                put_be32__(v + 4 * i, l->dns[i]);
            }
        }
        if (l->mtu) {
            v = opt_put__(&o, DHCP_OPT_MTU, 2);
            if (v) {
                put_be16__(v, l->mtu);
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

    put_mac__(out, eth_dst);
    put_mac__(out + 6, l->server_mac);
    put_be16__(out + 12, 0x0800);
    uint8_t *ip = out + ETH_HLEN__;
    ip[0] = 0x45;
    put_be16__(ip + 2, IP_HLEN__ + UDP_HLEN__ + blen);
    ip[8] = 64;
    ip[9] = 17;
    put_be32__(ip + 12, l->server_ip);
    put_be32__(ip + 16, ip_dst);
    put_be16__(ip + 10, icmp_csum(ip, IP_HLEN__));

    uint8_t *udp = ip + IP_HLEN__;
    put_be16__(udp, DHCP_SERVER_PORT);
    put_be16__(udp + 2, DHCP_CLIENT_PORT);
    put_be16__(udp + 4, UDP_HLEN__ + blen);
    uint8_t pseudo[12];
    put_be32__(pseudo, l->server_ip);
    put_be32__(pseudo + 4, ip_dst);
    pseudo[8] = 0;
    pseudo[9] = 17;
    put_be16__(pseudo + 10, UDP_HLEN__ + blen);
    uint16_t csum = icmp_csum_fold(icmp_csum_add(
        icmp_csum_add(0, pseudo, sizeof pseudo), udp, UDP_HLEN__ + blen));
    put_be16__(udp + 6, csum ? csum : 0xffff);

    *out_len = hdrs + blen;
    if (reply_type) {
        *reply_type = type;
    }
    return 0;
}
