/* addr.c — see addr.h. */
#include "lib/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
eth_parse(const char *s, uint64_t *mac)
{
    unsigned int b[6];
    int n = 0;

    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3],
               &b[4], &b[5], &n) != 6 || n != 17 || s[n]) {
        return -EINVAL;
    }
    *mac = 0;
    for (int i = 0; i < 6; i++) {
        *mac = (*mac << 8) | b[i];
    }
    return 0;
}

void
eth_format(uint64_t mac, char out[ETH_ADDR_STRLEN])
{
    snprintf(out, ETH_ADDR_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x",
             (unsigned) (mac >> 40) & 0xff, (unsigned) (mac >> 32) & 0xff,
             (unsigned) (mac >> 24) & 0xff, (unsigned) (mac >> 16) & 0xff,
             (unsigned) (mac >> 8) & 0xff, (unsigned) mac & 0xff);
}

int
ip4_parse(const char *s, uint32_t *ip)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1) {
        return -EINVAL;
    }
    *ip = ntohl(a.s_addr);
    return 0;
}

int
ip4_parse_cidr(const char *s, uint32_t *ip, unsigned int *plen)
{
    const char *slash = strchr(s, '/');
    char buf[IP4_STRLEN];
    char *end;

    if (!slash || (size_t) (slash - s) >= sizeof buf) {
        return -EINVAL;
    }
    memcpy(buf, s, slash - s);
    buf[slash - s] = '\0';
    if (ip4_parse(buf, ip) || !slash[1]) {
        return -EINVAL;
    }
    errno = 0;
    unsigned long n = strtoul(slash + 1, &end, 10);
    if (errno || *end || n > 32 || slash[1] == '-' || slash[1] == '+') {
        return -EINVAL;
    }
    *plen = n;
    return 0;
}

void
ip4_format(uint32_t ip, char out[IP4_STRLEN])
{
    snprintf(out, IP4_STRLEN, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
             (ip >> 8) & 0xff, ip & 0xff);
}
