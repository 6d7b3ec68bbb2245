/* dp-ovs-dpdk.h — the OVS-DPDK part of the ovs back-end (dp-ovs.c).
 *
 * What: on a host whose desired state has DPDK settings, before anything
 * else is applied, dp_ovs_dpdk_apply() checks what would make ovs-vswitchd
 * fail or misbehave and says so in words an operator acts on: CPU masks
 * naming CPUs the machine lacks, too few free 2 MiB hugepages for
 * socket_mem (ovs-vswitchd aborts when DPDK cannot get its memory), an
 * ovs-vswitchd not built with DPDK.  Then it writes the Open_vSwitch
 * other_config keys (bridge.h, bridge_dpdk_write()), waits for DPDK to
 * initialise, and reports settings that only a restart of ovs-vswitchd
 * applies (dpdk-socket-mem and dpdk-lcore-mask once DPDK runs) as a
 * warning: the apply succeeds, the warning travels in ApplyResult.error.
 *
 * Design: the checks are pure functions over the text of the sysfs files
 * (tested without the files); struct dp_ovs_dpdk remembers what DPDK was
 * initialised with, as far as this agent saw it, and is forgotten when the
 * OpenFlow connection breaks (ovs-vswitchd restarted and re-read them).
 * DPDK ports get vdev names net_af_packet<N>: N is the port's OpenFlow
 * number (unique on the host, stable), 0 for the underlay.
 *
 * Errors: 0 or negative errno, with a malloc'd message.  Thread-safety:
 * none (the agent's event loop); dp_ovs_dpdk_apply() blocks up to
 * DP_OVS_DPDK_WAIT_MS while DPDK initialises (only on the first apply).
 */
#ifndef ANET_DP_OVS_DPDK_H
#define ANET_DP_OVS_DPDK_H

#include <stdbool.h>
#include <stdint.h>
#include "agent/agent-dp.h"

struct ovsdb_client;

#define DP_OVS_DPDK_UNDERLAY_VDEV 0     /* net_af_packet0: the underlay */
#define DP_OVS_DPDK_WAIT_MS 15000       /* DPDK's EAL initialisation */
#define DP_OVS_DPDK_VERSION_WAIT_MS 3000 /* vswitchd fills dpdk_version */
#define DP_OVS_DPDK_HUGEPAGES "/sys/kernel/mm/hugepages/hugepages-2048kB"
#define DP_OVS_DPDK_CPUS "/sys/devices/system/cpu/present"

/* What ovs-vswitchd's DPDK was initialised with (valid when 'known'). */
struct dp_ovs_dpdk {
    bool known;
    char socket_mem[24];                        /* "" when unset */
    char lcore_mask[AGENT_DPDK_MASK_LEN + 1];   /* "" when unset */
};

/* Applies d->dpdk (enabled) through 'db'.  0, with '*warning' (malloc'd)
 * when a setting waits for an ovs-vswitchd restart; or -errno with
 * '*error' (if not yet set): -EINVAL bad CPU mask, -ENOMEM too few
 * hugepages, -ENOTSUP ovs-vswitchd without DPDK, -ETIMEDOUT DPDK did not
 * initialise, other -errno from OVSDB. */
int dp_ovs_dpdk_apply(struct dp_ovs_dpdk *, struct ovsdb_client *db,
                      const struct agent_desired *d, char **error,
                      char **warning);
void dp_ovs_dpdk_forget(struct dp_ovs_dpdk *);

/* "net_af_packet<n>,iface=<iface>" (malloc'd). */
char *dp_ovs_dpdk_devargs(uint32_t n, const char *iface);

/* Checks that every CPU 'mask' ("0x..") names is in 'present' (the text
 * of DP_OVS_DPDK_CPUS, e.g. "0-3,6").  NULL when fine, else a malloc'd
 * description of the CPUs missing, e.g. "CPU 2 (this machine has CPUs
 * 0-1)". */
char *dp_ovs_dpdk_check_mask(const char *mask, const char *present);

/* Checks that 'free_pages' free 2 MiB pages hold 'socket_mem' MiB.  NULL
 * when they do, else a malloc'd message saying what to do. */
char *dp_ovs_dpdk_check_hugepages(unsigned int socket_mem,
                                  unsigned long free_pages,
                                  unsigned long nr_pages);

#endif
