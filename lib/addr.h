/* addr.h — Ethernet and IPv4 addresses: parsing and formatting.
 *
 * Addresses are kept in host byte order in integers (a MAC in the low 48 bits
 * of a uint64_t, an IPv4 address in a uint32_t) so that they can be compared,
 * hashed and put into typed flow matches directly.  Parsers return 0 or
 * -EINVAL and never accept trailing garbage.
 */
#ifndef ANET_ADDR_H
#define ANET_ADDR_H

#include <stdbool.h>
#include <stdint.h>

#define ETH_ADDR_STRLEN 18   /* "xx:xx:xx:xx:xx:xx" + NUL */
#define IP4_STRLEN 16
#define ETH_BROADCAST 0xffffffffffffULL

int eth_parse(const char *s, uint64_t *mac);
void eth_format(uint64_t mac, char out[ETH_ADDR_STRLEN]);
static inline bool eth_is_multicast(uint64_t mac) { return (mac >> 40) & 1; }

int ip4_parse(const char *s, uint32_t *ip);
/* Parses "a.b.c.d/len"; the host bits need not be zero. */
int ip4_parse_cidr(const char *s, uint32_t *ip, unsigned int *plen);
void ip4_format(uint32_t ip, char out[IP4_STRLEN]);
static inline uint32_t ip4_mask(unsigned int plen)
{
    return plen ? 0xffffffffu << (32 - plen) : 0;
}
static inline bool ip4_in_subnet(uint32_t ip, uint32_t net, unsigned int plen)
{
    return ((ip ^ net) & ip4_mask(plen)) == 0;
}

#endif
