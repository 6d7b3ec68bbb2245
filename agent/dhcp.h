/* dhcp.h — the agent's DHCPv4 server: one request in, one reply out.
 *
 * What: the pipeline sends a workload's DHCP requests (udp 68 -> 67) to the
 * agent with the id of a packet action that holds the port's lease: the one
 * IP address the topology gives that port, its prefix, the gateway (the
 * router port on its switch), DNS servers, MTU, lease time and classless
 * static routes.  dhcp_reply() answers DHCPDISCOVER with DHCPOFFER and
 * DHCPREQUEST with DHCPACK for exactly that address, or DHCPNAK when the
 * client asks for another one (RFC 2131 4.3.2).  Replies carry options 53,
 * 54 (server id), 51 (lease time), 1 (subnet mask), 3 (router, when there
 * is a gateway), 6 (DNS), 26 (MTU), 121 (classless static routes, RFC 3442;
 * the default route via the gateway is added to it, because a client that
 * gets 121 ignores option 3) and 255.
 *
 * Design: stateless.  The lease is fixed by the topology, so there is no
 * lease table: the server answers from the packet action alone, and any
 * agent that restarts answers identically.  Addressing follows RFC 2131
 * 4.1: a renewal (ciaddr set) is answered by unicast to ciaddr, a NAK or a
 * request with the broadcast flag by a broadcast (ff:ff:ff:ff:ff:ff /
 * 255.255.255.255), any other reply by unicast to chaddr / yiaddr.  The
 * source is the lease's server_ip / server_mac, port 67.  The reply is
 * padded to the 300-byte BOOTP minimum some clients insist on.
 *
 * The parser is written for hostile input: every length is checked against
 * the bytes that are really there (Ethernet, IPv4 header and total length,
 * UDP length, the fixed BOOTP header, the magic cookie, each option's
 * length byte), fragments are refused, and checksums are not trusted
 * either way (the switch delivered the frame; an offloaded checksum may be
 * partial).
 *
 * Errors: 0; -EBADMSG for a malformed frame; -ENOMSG for a well-formed
 * message that gets no answer (DECLINE, RELEASE, INFORM, a REQUEST for
 * another server, a BOOTREPLY); -ENOSPC when 'out' is too small
 * (DHCP_REPLY_MAX_LEN always suffices); -EINVAL for an unusable lease.
 *
 * Thread-safety: pure functions.
 */
#ifndef ANET_DHCP_H
#define ANET_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHCP_MAX_DNS 4
#define DHCP_MAX_ROUTES 16
#define DHCP_REPLY_MAX_LEN 1024

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68

enum dhcp_msg_type {
    DHCPDISCOVER = 1,
    DHCPOFFER = 2,
    DHCPREQUEST = 3,
    DHCPDECLINE = 4,
    DHCPACK = 5,
    DHCPNAK = 6,
    DHCPRELEASE = 7,
    DHCPINFORM = 8,
};

enum dhcp_option_code {
    DHCP_OPT_PAD = 0,
    DHCP_OPT_SUBNET_MASK = 1,
    DHCP_OPT_ROUTER = 3,
    DHCP_OPT_DNS = 6,
    DHCP_OPT_MTU = 26,
    DHCP_OPT_REQUESTED_IP = 50,
    DHCP_OPT_LEASE_TIME = 51,
    DHCP_OPT_MSG_TYPE = 53,
    DHCP_OPT_SERVER_ID = 54,
    DHCP_OPT_CLASSLESS_ROUTES = 121,
    DHCP_OPT_END = 255,
};

#define DHCP_FLAG_BROADCAST 0x8000

struct dhcp_route {
    uint32_t prefix;          /* host order, host bits zero */
    uint8_t plen;
    uint32_t next_hop;
};

/* What one port gets.  Addresses in host order; 0 = none. */
struct dhcp_lease {
    uint32_t ip;
    uint8_t plen;
    uint32_t gateway;
    uint32_t dns[DHCP_MAX_DNS];
    uint8_t n_dns;
    uint16_t mtu;             /* 0: no option 26 */
    uint32_t lease_time;      /* seconds */
    struct dhcp_route routes[DHCP_MAX_ROUTES];
    uint8_t n_routes;
    uint32_t server_ip;
    uint64_t server_mac;      /* low 48 bits */
};

/* A parsed DHCP message; 'options' points into the frame. */
struct dhcp_packet {
    uint64_t eth_dst, eth_src;
    uint32_t ip_src, ip_dst;
    uint16_t udp_src, udp_dst;
    uint8_t op;               /* 1 = BOOTREQUEST, 2 = BOOTREPLY */
    uint32_t xid;
    uint16_t flags;
    uint32_t ciaddr, yiaddr, siaddr, giaddr;
    uint64_t chaddr;          /* Ethernet hardware address */
    uint8_t msg_type;         /* option 53; 0 when absent (plain BOOTP) */
    const uint8_t *options;   /* after the magic cookie */
    size_t options_len;
};

/* Parses an Ethernet/IPv4/UDP/BOOTP frame.  Returns 0 or -EBADMSG. */
int dhcp_parse(const uint8_t *frame, size_t len, struct dhcp_packet *);

/* Returns the value of the first option 'code' of 'p' and its length in
 * '*len', or NULL when absent. */
const uint8_t *dhcp_find_option(const struct dhcp_packet *, uint8_t code,
                                size_t *len);

/* Builds the reply to the request 'frame' from 'lease' into 'out' (a
 * complete Ethernet frame).  See the header comment for errors.
 * '*reply_type' (may be NULL) receives DHCPOFFER, DHCPACK or DHCPNAK. */
int dhcp_reply(const struct dhcp_lease *, const uint8_t *frame, size_t len,
               uint8_t *out, size_t out_cap, size_t *out_len,
               uint8_t *reply_type);

#endif
