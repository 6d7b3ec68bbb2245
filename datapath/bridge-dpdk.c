/* bridge-dpdk.c — the OVS-DPDK settings of the Open_vSwitch root row
 * (bridge.h: bridge_dpdk_read(), bridge_dpdk_write()).
 *
 * ovs-vswitchd reads DPDK's settings from Open_vSwitch other_config:
 * dpdk-init turns DPDK on (once: turning it off again needs a restart),
 * dpdk-socket-mem and dpdk-lcore-mask are read only when DPDK initialises
 * (a change needs a restart), pmd-cpu-mask and pmd-maxsleep take effect at
 * once.  ovs-vswitchd reports back in two columns: dpdk_version (empty
 * when the binary is not built with DPDK) and dpdk_initialized.
 *
 * Writes are "mutate" operations on other_config (delete the keys, insert
 * the new pairs) of only the keys that differ, so that keys an operator or
 * another tool set are never touched and a second call writes nothing.
 */
#include "datapath/bridge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "datapath/ovsdb.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(bridge_dpdk);

/* The string atom of a column that is a string or a set of at most one
 * string; NULL when empty. */
static const char *
bridge_dpdk_opt_str__(json_t *v)
{
    if (json_is_string(v)) {
        return json_string_value(v);
    }
    if (json_is_array(v) && json_array_size(v) == 2
        && json_is_array(json_array_get(v, 1))) {
        json_t *e = json_array_get(json_array_get(v, 1), 0);
        return json_is_string(e) ? json_string_value(e) : NULL;
    }
    return NULL;
}

/* The value of 'key' in map column value 'map', or NULL. */
static const char *
bridge_dpdk_map_get__(json_t *map, const char *key)
{
    size_t i;
    json_t *pair;

    if (!json_is_array(map) || json_array_size(map) != 2) {
        return NULL;
    }
    json_array_foreach (json_array_get(map, 1), i, pair) {
        json_t *k = json_array_get(pair, 0), *v = json_array_get(pair, 1);
        if (json_is_string(k) && !strcmp(json_string_value(k), key)
            && json_is_string(v)) {
            return json_string_value(v);
        }
    }
    return NULL;
}

static char *
bridge_dpdk_dup__(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

/* Reads the root row: 0 and '*result' (the caller decrefs) with '*row'
 * pointing into it (NULL when the database has no root row). */
static int
bridge_dpdk_row__(struct ovsdb_client *c, json_t **result, json_t **row)
{
    json_t *ops = json_pack("[{s:s, s:s, s:[], s:[s, s, s, s]}]", "op",
                            "select", "table", "Open_vSwitch", "where",
                            "columns", "_uuid", "dpdk_initialized",
                            "dpdk_version", "other_config");
    int r = ovsdb_transact(c, ops, result);
    if (r) {
        return r;
    }
    json_t *rows = json_object_get(json_array_get(*result, 0), "rows");
    *row = json_array_get(rows, 0);
    return 0;
}

int
bridge_dpdk_read(struct ovsdb_client *c, struct bridge_dpdk_state *st)
{
    json_t *result, *row;

    memset(st, 0, sizeof *st);
    int r = bridge_dpdk_row__(c, &result, &row);
    if (r) {
        return r;
    }
    if (row) {
        json_t *oc = json_object_get(row, "other_config");
        st->initialized = json_is_true(json_object_get(row,
                                                       "dpdk_initialized"));
        st->version = bridge_dpdk_dup__(bridge_dpdk_opt_str__(
            json_object_get(row, "dpdk_version")));
        st->init = bridge_dpdk_dup__(bridge_dpdk_map_get__(oc, "dpdk-init"));
        st->socket_mem = bridge_dpdk_dup__(bridge_dpdk_map_get__(
            oc, "dpdk-socket-mem"));
        st->lcore_mask = bridge_dpdk_dup__(bridge_dpdk_map_get__(
            oc, "dpdk-lcore-mask"));
        st->pmd_cpu_mask = bridge_dpdk_dup__(bridge_dpdk_map_get__(
            oc, "pmd-cpu-mask"));
        st->pmd_maxsleep = bridge_dpdk_dup__(bridge_dpdk_map_get__(
            oc, "pmd-maxsleep"));
        st->extra = bridge_dpdk_dup__(bridge_dpdk_map_get__(oc,
                                                            "dpdk-extra"));
    }
    json_decref(result);
    return 0;
}

void
bridge_dpdk_state_clear(struct bridge_dpdk_state *st)
{
    if (!st) {
        return;
    }
    free(st->version);
    free(st->init);
    free(st->socket_mem);
    free(st->lcore_mask);
    free(st->pmd_cpu_mask);
    free(st->pmd_maxsleep);
    free(st->extra);
    memset(st, 0, sizeof *st);
}

/* Adds key = value to 'want' (an object) when other_config 'oc' differs. */
static void
bridge_dpdk_want__(json_t *want, json_t *oc, const char *key,
                   const char *value)
{
    const char *have = bridge_dpdk_map_get__(oc, key);
    if (!have || strcmp(have, value)) {
        json_object_set_new(want, key, json_string(value));
    }
}

int
bridge_dpdk_ensure_root(struct ovsdb_client *c)
{
    json_t *result, *row;
    int r = bridge_dpdk_row__(c, &result, &row);
    if (r) {
        return r;
    }
    bool have = row != NULL;
    json_decref(result);
    if (have) {
        return 0;
    }
    return ovsdb_transact(c, json_pack("[{s:s, s:s, s:{}}]", "op", "insert",
                                       "table", "Open_vSwitch", "row"),
                          NULL);
}

int
bridge_dpdk_write(struct ovsdb_client *c, const struct bridge_dpdk_config *cfg)
{
    json_t *result, *row;
    char buf[32];

    if (!cfg->socket_mem || !cfg->pmd_cpu_mask || !*cfg->pmd_cpu_mask) {
        return -EINVAL;
    }
    int r = bridge_dpdk_row__(c, &result, &row);
    if (r) {
        return r;
    }
    json_t *oc = row ? json_object_get(row, "other_config") : NULL;
    json_t *want = json_object();
    bridge_dpdk_want__(want, oc, "dpdk-init", "true");
    snprintf(buf, sizeof buf, "%u", cfg->socket_mem);
    bridge_dpdk_want__(want, oc, "dpdk-socket-mem", buf);
    /* A ceiling too: without one OVS-DPDK's first mempool attempt takes
     * hugepages beyond socket_mem (and another host's DPDK may then find
     * none). */
    bridge_dpdk_want__(want, oc, "dpdk-socket-limit", buf);
    bridge_dpdk_want__(want, oc, "pmd-cpu-mask", cfg->pmd_cpu_mask);
    if (cfg->lcore_mask && *cfg->lcore_mask) {
        bridge_dpdk_want__(want, oc, "dpdk-lcore-mask", cfg->lcore_mask);
    }
    snprintf(buf, sizeof buf, "%u", cfg->pmd_maxsleep_us);
    bridge_dpdk_want__(want, oc, "pmd-maxsleep", buf);
    if (cfg->extra && !bridge_dpdk_map_get__(oc, "dpdk-extra")) {
        json_object_set_new(want, "dpdk-extra", json_string(cfg->extra));
    }

    json_t *ops = json_array();
    if (json_object_size(want)) {
        json_t *keys = json_array(), *pairs = json_array();
        const char *k;
        json_t *v;
        json_object_foreach (want, k, v) {
            json_array_append_new(keys, json_string(k));
            json_array_append_new(pairs, json_pack("[s, O]", k, v));
            LOG_INFO("Open_vSwitch other_config:%s=%s", k,
                     json_string_value(v));
        }
        if (!row) {
            json_array_append_new(ops, json_pack(
                "{s:s, s:s, s:{s:[s, o]}}", "op", "insert", "table",
                "Open_vSwitch", "row", "other_config", "map", pairs));
            json_decref(keys);
        } else {
            json_t *uuid = json_object_get(row, "_uuid");
            json_array_append_new(ops, json_pack(
                "{s:s, s:s, s:[[s, s, O]], s:[[s, s, [s, o]], "
                "[s, s, [s, o]]]}", "op", "mutate", "table", "Open_vSwitch",
                "where", "_uuid", "==", uuid, "mutations",
                "other_config", "delete", "set", keys,
                "other_config", "insert", "map", pairs));
        }
    }
    json_decref(want);
    json_decref(result);
    if (!json_array_size(ops)) {
        json_decref(ops);
        return 0;
    }
    r = ovsdb_transact(c, ops, NULL);
    if (r) {
        LOG_WARN("writing DPDK settings: %s (%s)", strerror(-r),
                 ovsdb_client_last_error(c));
    }
    return r;
}
