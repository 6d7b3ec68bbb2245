/* bridge.h — the OVS objects an anet host consists of, made real through
 * OVSDB: the integration bridge (br-int), its Geneve tunnel port, the
 * underlay bridge (br-phy), and workload ports.
 *
 * Every object anet creates carries external_ids:anet-owner=anet so that
 * anet removes only what it made and leaves an operator's own ports alone.
 * All functions are idempotent: calling them again with the same arguments
 * changes nothing (no OVSDB write at all when nothing differs).
 *
 * Errors: 0 or negative errno (see ovsdb.h).  Thread-safety: none.
 */
#ifndef ANET_BRIDGE_H
#define ANET_BRIDGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct ovsdb_client;

/* Ensures the Open_vSwitch root row exists, then a bridge 'name' with
 * datapath_type=netdev, fail_mode=secure (OVS keeps forwarding with the
 * installed flows while anet is away), protocols OpenFlow10..OpenFlow15,
 * other_config:disable-in-band=true, and a Geneve port "anet-tun" with
 * options remote_ip=flow, key=flow and ofport_request=tunnel_ofport. */
int bridge_ensure_integration(struct ovsdb_client *, const char *name,
                              uint32_t tunnel_ofport);

/* Ensures a bridge 'name' (netdev datapath, fail_mode standalone: plain MAC
 * learning) holding the underlay interface 'iface' as a port.  The host's
 * tunnel IP goes on the bridge's internal interface (done with netlink by
 * the caller).  'iface' may be NULL to create just the bridge. */
int bridge_ensure_underlay(struct ovsdb_client *, const char *name,
                           const char *iface);

struct bridge_port {
    const char *iface;      /* interface name on the host */
    uint32_t ofport;        /* ofport_request */
    const char *logical;    /* external_ids:anet-port */
};

/* Makes the anet-owned workload ports of bridge 'br' exactly 'ports'
 * (adding, re-numbering and removing as needed; other ports untouched). */
int bridge_sync_ports(struct ovsdb_client *, const char *br,
                      const struct bridge_port *ports, size_t n);

/* Reads the OpenFlow port number OVS gave 'iface': 0 and '*ofport' set, or
 * -ENOENT if no such interface, -EAGAIN if OVS has not numbered it yet,
 * -ENODEV if OVS reports the interface failed to open (ofport -1). */
int bridge_get_ofport(struct ovsdb_client *, const char *iface,
                      int32_t *ofport);

/* Stores / reads a string in br's external_ids (e.g. the applied
 * generation, which so survives agent restarts).  'value' NULL removes. */
int bridge_set_external_id(struct ovsdb_client *, const char *br,
                           const char *key, const char *value);
/* Returns a malloc'd string, or NULL (errno ENOENT if unset). */
char *bridge_get_external_id(struct ovsdb_client *, const char *br,
                             const char *key);

#endif
