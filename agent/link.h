/* link.h — the host's network interfaces through netlink (libnl-route):
 * watching them appear and disappear, and the little configuration the
 * agent does itself (link up, IPv4 address, TX checksum offload off).
 *
 * Workload ports bind by interface name: the agent attaches a workload's
 * interface to br-int when it exists and detaches it when it goes away; a
 * workload whose interface is missing is reported down, not an error.
 *
 * Errors: 0 or negative errno.  Thread-safety: none (event loop).
 */
#ifndef ANET_LINK_H
#define ANET_LINK_H

#include <stdbool.h>

struct event_base;
struct link_watch;

/* Called for every link that appears ('exists' true) or disappears, and once
 * per existing link right after link_watch_create(). */
typedef void link_watch_cb(void *aux, const char *ifname, bool exists);

struct link_watch *link_watch_create(struct event_base *, link_watch_cb *,
                                     void *aux);
void link_watch_destroy(struct link_watch *);        /* NULL-safe */
bool link_watch_exists(const struct link_watch *, const char *ifname);

/* One-shot helpers (open their own netlink socket). */
bool link_exists(const char *ifname);
int link_set_up(const char *ifname);
/* Adds "a.b.c.d/len" to 'ifname' if not already there. */
int link_add_ipv4(const char *ifname, const char *cidr);
/* Turns off TX checksum offload (SIOCETHTOOL); the userspace datapath needs
 * it off on veths or TCP silently fails. */
int link_disable_tx_offload(const char *ifname);

#endif
