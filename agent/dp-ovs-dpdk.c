/* dp-ovs-dpdk.c — OVS-DPDK settings of a host (dp-ovs-dpdk.h). */
#include "agent/dp-ovs-dpdk.h"
#include "datapath/bridge.h"
#include "datapath/ovsdb.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

LOG_MODULE(dp_ovs_dpdk);

#define DP_OVS_DPDK_MAX_CPUS 256        /* 64 hex digits */
#define DP_OVS_DPDK_POLL_MS 200

char *
dp_ovs_dpdk_devargs(uint32_t n, const char *iface)
{
    return xasprintf("net_af_packet%u,iface=%s", (unsigned) n, iface);
}

void
dp_ovs_dpdk_forget(struct dp_ovs_dpdk *s)
{
    memset(s, 0, sizeof *s);
}

/* Parses a CPU list ("0-3,6\n") into 'cpus'. */
static void
dp_ovs_dpdk_cpu_list__(const char *s, bool cpus[DP_OVS_DPDK_MAX_CPUS])
{
    memset(cpus, 0, DP_OVS_DPDK_MAX_CPUS * sizeof *cpus);
    while (*s) {
        char *end;
        unsigned long lo = strtoul(s, &end, 10), hi = lo;
        if (end == s) {
            break;
        }
        s = end;
        if (*s == '-') {
            hi = strtoul(s + 1, &end, 10);
            s = end;
        }
        for (unsigned long c = lo; c <= hi && c < DP_OVS_DPDK_MAX_CPUS; c++) {
            cpus[c] = true;
        }
        if (*s != ',') {
            break;
        }
        s++;
    }
}

char *
dp_ovs_dpdk_check_mask(const char *mask, const char *present)
{
    bool cpus[DP_OVS_DPDK_MAX_CPUS];
    char missing[256] = "";
    size_t n_missing = 0;
    char have[64];

    dp_ovs_dpdk_cpu_list__(present, cpus);
    if (mask[0] == '0' && (mask[1] == 'x' || mask[1] == 'X')) {
        mask += 2;
    }
    size_t len = strlen(mask);
    for (size_t i = 0; i < len; i++) {
        char ch = mask[len - 1 - i];
        unsigned int v = ch >= '0' && ch <= '9' ? (unsigned) (ch - '0')
                         : ch >= 'a' && ch <= 'f' ? (unsigned) (ch - 'a' + 10)
                         : ch >= 'A' && ch <= 'F' ? (unsigned) (ch - 'A' + 10)
                         : 0;
        for (unsigned int b = 0; b < 4; b++) {
            size_t cpu = 4 * i + b;
            if ((v >> b & 1) && (cpu >= DP_OVS_DPDK_MAX_CPUS || !cpus[cpu])) {
                size_t l = strlen(missing);
                snprintf(missing + l, sizeof missing - l, "%s%zu",
                         n_missing ? ", " : "", cpu);
                n_missing++;
            }
        }
    }
    if (!n_missing) {
        return NULL;
    }
    snprintf(have, sizeof have, "%s", present);
    have[strcspn(have, "\n")] = '\0';
    return xasprintf("CPU%s %s (this machine has CPU%s %s)",
                     n_missing > 1 ? "s" : "", missing,
                     strchr(have, '-') || strchr(have, ',') ? "s" : "",
                     have[0] ? have : "?");
}

char *
dp_ovs_dpdk_check_hugepages(unsigned int socket_mem, unsigned long free_pages,
                            unsigned long nr_pages)
{
    unsigned long need = (socket_mem + 1) / 2;
    if (free_pages >= need) {
        return NULL;
    }
    return xasprintf("not enough free 2 MiB hugepages for socket_mem %u MiB: "
                     "DPDK needs %lu, %lu are free (nr_hugepages %lu); "
                     "reserve more (raise %s/nr_hugepages to at least %lu) "
                     "or lower socket_mem", socket_mem, need, free_pages,
                     nr_pages, DP_OVS_DPDK_HUGEPAGES,
                     nr_pages + (need - free_pages));
}

/* Reads a small text file into 'buf'; false when it cannot. */
static bool
dp_ovs_dpdk_read_file__(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return false;
    }
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    return n > 0;
}

static bool
dp_ovs_dpdk_read_ulong__(const char *dir, const char *file,
                         unsigned long *v)
{
    char path[256], buf[32];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (!dp_ovs_dpdk_read_file__(path, buf, sizeof buf)) {
        return false;
    }
    *v = strtoul(buf, NULL, 10);
    return true;
}

static bool
dp_ovs_dpdk_hugetlbfs_mounted__(void)
{
    FILE *f = fopen("/proc/mounts", "r");
    char line[512];
    bool found = false;
    if (!f) {
        return true;            /* cannot tell: let DPDK say */
    }
    while (!found && fgets(line, sizeof line, f)) {
        found = strstr(line, " hugetlbfs ") != NULL;
    }
    fclose(f);
    return found;
}

/* Checks the masks of 'dd' against the machine's CPUs. */
static int
dp_ovs_dpdk_check_cpus__(const struct agent_desired *d, char **error)
{
    char present[256];
    const struct {
        const char *key, *mask;
    } masks[] = {
        { "pmd_cpu_mask", d->dpdk.pmd_cpu_mask },
        { "lcore_mask", d->dpdk.lcore_mask },
    };

    if (!dp_ovs_dpdk_read_file__(DP_OVS_DPDK_CPUS, present, sizeof present)) {
        return 0;               /* cannot tell: OVS will complain */
    }
    for (size_t i = 0; i < ARRAY_SIZE(masks); i++) {
        if (!masks[i].mask[0]) {
            continue;
        }
        char *why = dp_ovs_dpdk_check_mask(masks[i].mask, present);
        if (why) {
            if (error && !*error) {
                *error = xasprintf("OVS-DPDK: %s %s names %s; fix "
                                   "hosts.%s.dpdk.%s in the topology",
                                   masks[i].key, masks[i].mask, why,
                                   d->host_name, masks[i].key);
            }
            free(why);
            return -EINVAL;
        }
    }
    return 0;
}

static int
dp_ovs_dpdk_check_memory__(const struct agent_desired *d, char **error)
{
    unsigned long free_pages, nr_pages;
    char *why = NULL;

    if (!dp_ovs_dpdk_read_ulong__(DP_OVS_DPDK_HUGEPAGES, "free_hugepages",
                                  &free_pages)
        || !dp_ovs_dpdk_read_ulong__(DP_OVS_DPDK_HUGEPAGES, "nr_hugepages",
                                     &nr_pages)) {
        why = xstrdup("this kernel offers no 2 MiB hugepages ("
                      DP_OVS_DPDK_HUGEPAGES " is missing)");
    } else {
        why = dp_ovs_dpdk_check_hugepages(d->dpdk.socket_mem, free_pages,
                                          nr_pages);
    }
    if (!why && !dp_ovs_dpdk_hugetlbfs_mounted__()) {
        why = xstrdup("no hugetlbfs is mounted; mount one (mount -t "
                      "hugetlbfs nodev /dev/hugepages)");
    }
    if (why) {
        if (error && !*error) {
            *error = xasprintf("OVS-DPDK on host %s: %s", d->host_name, why);
        }
        free(why);
        return -ENOMEM;
    }
    return 0;
}

static void
dp_ovs_dpdk_sleep_ms__(int ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void
dp_ovs_dpdk_remember__(struct dp_ovs_dpdk *s, const char *socket_mem,
                       const char *lcore_mask)
{
    s->known = true;
    snprintf(s->socket_mem, sizeof s->socket_mem, "%s",
             socket_mem ? socket_mem : "");
    snprintf(s->lcore_mask, sizeof s->lcore_mask, "%s",
             lcore_mask ? lcore_mask : "");
}

int
dp_ovs_dpdk_apply(struct dp_ovs_dpdk *s, struct ovsdb_client *db,
                  const struct agent_desired *d, char **error,
                  char **warning)
{
    struct bridge_dpdk_state st;
    char socket_mem[24];
    int r;

    *warning = NULL;
    r = dp_ovs_dpdk_check_cpus__(d, error);
    if (r) {
        return r;
    }
    r = bridge_dpdk_read(db, &st);
    if (r) {
        if (error && !*error) {
            *error = xasprintf("OVSDB: reading the DPDK state: %s",
                               strerror(-r));
        }
        return r;
    }
    bool was_initialized = st.initialized;
    if (was_initialized && !s->known) {
        /* DPDK runs with what other_config held when it started; the
         * best guess is what it holds now. */
        dp_ovs_dpdk_remember__(s, st.socket_mem, st.lcore_mask);
    }
    if (!was_initialized) {
        /* A DPDK build of ovs-vswitchd fills dpdk_version as soon as it
         * runs and the database has its root row (a fresh database has
         * none: insert it, with no DPDK key yet); a build without DPDK
         * writes "none". */
        long long deadline = time_msec() + DP_OVS_DPDK_VERSION_WAIT_MS;
        if (!st.version && (r = bridge_dpdk_ensure_root(db))) {
            goto out;
        }
        while (!st.version && time_msec() < deadline) {
            dp_ovs_dpdk_sleep_ms__(DP_OVS_DPDK_POLL_MS);
            bridge_dpdk_state_clear(&st);
            if ((r = bridge_dpdk_read(db, &st))) {
                goto out;
            }
        }
        if (!st.version || !strcmp(st.version, "none")) {
            r = -ENOTSUP;
            goto no_dpdk;
        }
        r = dp_ovs_dpdk_check_memory__(d, error);
        if (r) {
            goto out;
        }
    }

    /* The agent's own prefix (unless the operator set dpdk-extra): the
     * host's hugepage files never meet another DPDK process's; with only
     * net_af_packet and vhost-user ports, no PCI device is probed. */
    char *extra = xasprintf("--file-prefix=anet-%s%s", d->host_name,
                            d->dpdk.af_packet ? " --no-pci" : "");
    struct bridge_dpdk_config cfg = {
        .socket_mem = d->dpdk.socket_mem,
        .pmd_cpu_mask = d->dpdk.pmd_cpu_mask,
        .lcore_mask = d->dpdk.lcore_mask,
        .pmd_maxsleep_us = d->dpdk.pmd_maxsleep_us,
        .extra = extra,
    };
    r = bridge_dpdk_write(db, &cfg);
    free(extra);
    if (r) {
        if (error && !*error) {
            *error = xasprintf("OVSDB: writing the DPDK settings: %s",
                               strerror(-r));
        }
        goto out;
    }

    if (!was_initialized) {
        /* ovs-vswitchd initialises DPDK when it sees dpdk-init=true. */
        long long deadline = time_msec() + DP_OVS_DPDK_WAIT_MS;
        for (;;) {
            bridge_dpdk_state_clear(&st);
            r = bridge_dpdk_read(db, &st);
            if (r || st.initialized || time_msec() >= deadline) {
                break;
            }
            dp_ovs_dpdk_sleep_ms__(DP_OVS_DPDK_POLL_MS);
        }
        if (r) {
            if (error && !*error) {
                *error = xasprintf("OVSDB: reading the DPDK state: %s",
                                   strerror(-r));
            }
            goto out;
        }
        if (!st.initialized) {
            r = -ETIMEDOUT;
            goto no_dpdk;
        }
        LOG_INFO("DPDK %s initialised", st.version ? st.version : "");
        dp_ovs_dpdk_remember__(s, st.socket_mem, st.lcore_mask);
    }

    /* What only a restart of ovs-vswitchd applies. */
    snprintf(socket_mem, sizeof socket_mem, "%u", d->dpdk.socket_mem);
    bool mem_stale = strcmp(s->socket_mem, socket_mem);
    bool lcore_stale = d->dpdk.lcore_mask[0]
                       && strcmp(s->lcore_mask, d->dpdk.lcore_mask);
    if (mem_stale || lcore_stale) {
        *warning = xasprintf(
            "OVS-DPDK: %s%s%s%s%s%s%s%s%s take effect only when "
            "ovs-vswitchd restarts (DPDK is already initialised); restart "
            "ovs-vswitchd on host %s",
            mem_stale ? "dpdk-socket-mem " : "",
            mem_stale ? (s->socket_mem[0] ? s->socket_mem : "(unset)") : "",
            mem_stale ? " -> " : "", mem_stale ? socket_mem : "",
            mem_stale && lcore_stale ? ", " : "",
            lcore_stale ? "dpdk-lcore-mask " : "",
            lcore_stale ? (s->lcore_mask[0] ? s->lcore_mask : "(unset)") : "",
            lcore_stale ? " -> " : "", lcore_stale ? d->dpdk.lcore_mask : "",
            d->host_name);
        LOG_WARN_RL("%s", *warning);
    }
    r = 0;
    goto out;

no_dpdk:
    if (error && !*error) {
        if (r == -ENOTSUP) {
            *error = xasprintf(
                "OVS-DPDK: ovs-vswitchd on host %s is not built with DPDK "
                "or not running (Open_vSwitch dpdk_version is \"none\" or "
                "empty); run "
                "the DPDK build (Debian: package openvswitch-switch-dpdk, "
                "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk) or "
                "remove dpdk: from the host", d->host_name);
        } else {
            *error = xasprintf(
                "OVS-DPDK: DPDK %s did not initialise within %d s after "
                "dpdk-init=true on host %s; see ovs-vswitchd's log "
                "(hugepages, dpdk-extra, lcore mask)", st.version ? st.version : "",
                DP_OVS_DPDK_WAIT_MS / 1000, d->host_name);
        }
    }
out:
    bridge_dpdk_state_clear(&st);
    return r;
}
