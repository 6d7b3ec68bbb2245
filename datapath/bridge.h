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
/* The same with the underlay port's Interface 'type' and 'options' (a
 * NULL-terminated list of key, value strings; NULL for none), e.g. type
 * "dpdk" with dpdk-devargs for an OVS-DPDK host.  'type' NULL or "" is a
 * system interface: bridge_ensure_underlay() exactly. */
int bridge_ensure_underlay_typed(struct ovsdb_client *, const char *name,
                                 const char *iface, const char *type,
                                 const char *const *options);

struct bridge_port {
    const char *iface;      /* interface (and Port) name */
    uint32_t ofport;        /* ofport_request */
    const char *logical;    /* external_ids:anet-port */
    /* Interface type and options: NULL/"" and NULL for a system interface
     * (a veth/tap of the host).  OVS-DPDK: "dpdk" with dpdk-devargs,
     * "dpdkvhostuserclient" with vhost-server-path, "dpdkvhostuser".
     * 'options' is a NULL-terminated list of key, value strings. */
    const char *type;
    const char *const *options;
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

/* ---- OVS-DPDK settings of the Open_vSwitch row (bridge-dpdk.c) ---- */

/* What anet wants in Open_vSwitch other_config for an OVS-DPDK host:
 * dpdk-init=true, dpdk-socket-mem and dpdk-socket-limit (the same: OVS
 * takes no more hugepages), pmd-cpu-mask, dpdk-lcore-mask (when given),
 * pmd-maxsleep, and dpdk-extra = 'extra' only when the operator
 * set no dpdk-extra of their own. */
struct bridge_dpdk_config {
    unsigned int socket_mem;        /* MiB */
    const char *pmd_cpu_mask;       /* "0x.." */
    const char *lcore_mask;         /* NULL or "": left as it is */
    unsigned int pmd_maxsleep_us;
    const char *extra;              /* NULL: none */
};

/* Inserts the Open_vSwitch root row (empty) when the database has none:
 * ovs-vswitchd reports dpdk_version only once it exists. */
int bridge_dpdk_ensure_root(struct ovsdb_client *);

/* What the Open_vSwitch row says about DPDK.  Strings are malloc'd, NULL
 * when the key (column) is unset or empty. */
struct bridge_dpdk_state {
    bool initialized;               /* dpdk_initialized */
    char *version;                  /* dpdk_version: NULL when
                                     * ovs-vswitchd is not built with DPDK
                                     * (or has not started yet) */
    char *init;                     /* other_config:dpdk-init */
    char *socket_mem;               /* other_config:dpdk-socket-mem */
    char *lcore_mask;               /* other_config:dpdk-lcore-mask */
    char *pmd_cpu_mask;             /* other_config:pmd-cpu-mask */
    char *pmd_maxsleep;             /* other_config:pmd-maxsleep */
    char *extra;                    /* other_config:dpdk-extra */
};

/* Reads the DPDK state of the root row ('*st' zeroed when there is none).
 * Release with bridge_dpdk_state_clear(). */
int bridge_dpdk_read(struct ovsdb_client *, struct bridge_dpdk_state *st);
void bridge_dpdk_state_clear(struct bridge_dpdk_state *);   /* NULL-safe */

/* Merges 'cfg' into the root row's other_config (creating the row if the
 * database has none); writes nothing when every key already matches.
 * Other keys are left alone. */
int bridge_dpdk_write(struct ovsdb_client *,
                      const struct bridge_dpdk_config *cfg);

#endif
