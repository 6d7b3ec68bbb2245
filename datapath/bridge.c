/* bridge.c — bridges and ports in the Open_vSwitch database.
 *
 * Every public call works in two steps: one "transact" of "select"s reads a
 * snapshot of the rows involved (the root row, the bridge, all Ports and
 * Interfaces), then the differences between that snapshot and the desired
 * rows become one write transaction — or none at all when nothing differs,
 * which is what makes the calls idempotent and cheap to repeat.
 *
 * The shape of what we write follows ovs-vsctl: a Bridge is referenced from
 * Open_vSwitch.bridges and owns an internal Port + Interface of its own
 * name; Ports are referenced from Bridge.ports and Interfaces from
 * Port.interfaces.  Port and Interface are not root tables, so removing a
 * Port from Bridge.ports is enough to delete it and its Interfaces.
 *
 * Ownership marks (external_ids): everything anet creates carries
 * anet-owner=anet plus either anet-role (bridge, tunnel, underlay) or
 * anet-port=<logical port> for workload ports.  bridge_sync_ports() manages
 * exactly the ports carrying both anet-owner=anet and anet-port.  Owned
 * keys are merged into existing external_ids/other_config, never replacing
 * keys someone else put there.
 *
 * OVSDB values are compared semantically (a map or set as an unordered
 * collection, a single atom equal to a one-element set), since the server
 * returns them in its own order and encoding.
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

LOG_MODULE(bridge);

#define BRIDGE_OWNER_KEY "anet-owner"
#define BRIDGE_OWNER "anet"
#define BRIDGE_PORT_KEY "anet-port"
#define BRIDGE_ROLE_KEY "anet-role"
#define BRIDGE_TUNNEL_PORT "anet-tun"
#define BRIDGE_MAX_OFPORT 65279

/* ---- OVSDB value helpers ---------------------------------------------- */

static json_t *
ovs_uuid__(const char *uuid)
{
    return json_pack("[s, s]", "uuid", uuid);
}

static json_t *
ovs_named__(const char *name)
{
    return json_pack("[s, s]", "named-uuid", name);
}

static json_t *
ovs_empty_set__(void)
{
    return json_pack("[s, []]", "set");
}

static json_t *
ovs_where_uuid__(const char *uuid)
{
    return json_pack("[[s, s, o]]", "_uuid", "==", ovs_uuid__(uuid));
}

/* Returns the string of a ["uuid", "..."] atom, or NULL. */
static const char *
ovs_uuid_str__(json_t *v)
{
    if (json_is_array(v) && json_array_size(v) == 2
        && json_is_string(json_array_get(v, 0))
        && !strcmp(json_string_value(json_array_get(v, 0)), "uuid")) {
        return json_string_value(json_array_get(v, 1));
    }
    return NULL;
}

static bool
ovs_is_tagged__(json_t *v, const char *tag)
{
    return json_is_array(v) && json_array_size(v) == 2
           && json_is_string(json_array_get(v, 0))
           && !strcmp(json_string_value(json_array_get(v, 0)), tag)
           && json_is_array(json_array_get(v, 1));
}

/* Returns the elements of a set value as a new array (a bare atom is a
 * one-element set). */
static json_t *
ovs_set_elems__(json_t *v)
{
    if (ovs_is_tagged__(v, "set")) {
        return json_copy(json_array_get(v, 1));
    }
    json_t *a = json_array();
    if (v) {
        json_array_append(a, v);
    }
    return a;
}

/* Returns a map value with string keys as a new object (key -> atom). */
static json_t *
ovs_map_to_object__(json_t *v)
{
    json_t *obj = json_object();
    if (ovs_is_tagged__(v, "map")) {
        size_t i;
        json_t *pair;
        json_array_foreach (json_array_get(v, 1), i, pair) {
            json_t *k = json_array_get(pair, 0);
            if (json_is_string(k)) {
                json_object_set(obj, json_string_value(k),
                                json_array_get(pair, 1));
            }
        }
    }
    return obj;
}

static json_t *
ovs_object_to_map__(json_t *obj)
{
    json_t *pairs = json_array();
    const char *k;
    json_t *v;
    json_object_foreach (obj, k, v) {
        json_array_append_new(pairs, json_pack("[s, O]", k, v));
    }
    return json_pack("[s, o]", "map", pairs);
}

/* Normalises a value into an object so json_equal() compares it as an
 * unordered collection. */
static json_t *
ovs_norm__(json_t *v)
{
    json_t *obj = json_object();
    if (ovs_is_tagged__(v, "map")) {
        size_t i;
        json_t *pair;
        json_array_foreach (json_array_get(v, 1), i, pair) {
            char *k = json_dumps(json_array_get(pair, 0),
                                 JSON_COMPACT | JSON_ENCODE_ANY);
            json_object_set(obj, k ? k : "", json_array_get(pair, 1));
            free(k);
        }
    } else {
        json_t *elems = ovs_set_elems__(v);
        size_t i;
        json_t *e;
        json_array_foreach (elems, i, e) {
            char *k = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
            json_object_set_new(obj, k ? k : "", json_true());
            free(k);
        }
        json_decref(elems);
    }
    return obj;
}

static bool
ovs_value_equal__(json_t *a, json_t *b)
{
    json_t *na = ovs_norm__(a), *nb = ovs_norm__(b);
    bool eq = json_equal(na, nb);
    json_decref(na);
    json_decref(nb);
    return eq;
}

/* Returns the map value 'have' with the string pairs of 'add' (an object)
 * set on top of it. */
static json_t *
ovs_map_merge__(json_t *have, json_t *add)
{
    json_t *obj = ovs_map_to_object__(have);
    json_object_update(obj, add);
    json_t *map = ovs_object_to_map__(obj);
    json_decref(obj);
    return map;
}

/* Adds to 'ops' an update of row 'uuid' in 'table' for the columns of
 * 'want' that differ from 'have'.  Steals 'want'. */
static void
ovs_update_diff__(json_t *ops, const char *table, json_t *have,
                  const char *uuid, json_t *want)
{
    json_t *diff = json_object();
    const char *col;
    json_t *v;
    json_object_foreach (want, col, v) {
        if (!ovs_value_equal__(json_object_get(have, col), v)) {
            json_object_set(diff, col, v);
        }
    }
    if (json_object_size(diff)) {
        json_array_append_new(ops, json_pack("{s:s, s:s, s:o, s:o}",
                                             "op", "update", "table", table,
                                             "where", ovs_where_uuid__(uuid),
                                             "row", diff));
    } else {
        json_decref(diff);
    }
    json_decref(want);
}

static json_t *
ovs_find_row__(json_t *rows, const char *col, const char *value)
{
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        json_t *v = json_object_get(row, col);
        const char *s = json_is_string(v) ? json_string_value(v)
                                          : ovs_uuid_str__(v);
        if (s && !strcmp(s, value)) {
            return row;
        }
    }
    return NULL;
}

static const char *
ovs_row_uuid__(json_t *row)
{
    return ovs_uuid_str__(json_object_get(row, "_uuid"));
}

/* True if set column 'col' of 'row' holds the uuid 'uuid'. */
static bool
ovs_set_has_uuid__(json_t *row, const char *col, const char *uuid)
{
    json_t *elems = ovs_set_elems__(json_object_get(row, col));
    size_t i;
    json_t *e;
    bool found = false;
    json_array_foreach (elems, i, e) {
        const char *u = ovs_uuid_str__(e);
        if (u && !strcmp(u, uuid)) {
            found = true;
            break;
        }
    }
    json_decref(elems);
    return found;
}

static const char *
ovs_map_get_str__(json_t *row, const char *col, const char *key)
{
    json_t *obj = ovs_map_to_object__(json_object_get(row, col));
    json_t *v = json_object_get(obj, key);
    /* The value stays alive: it is also referenced by the row. */
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    json_decref(obj);
    return s;
}

/* ---- Snapshot ----------------------------------------------------------- */

struct bridge_snap {
    json_t *result;
    json_t *root;       /* the Open_vSwitch row, or NULL */
    json_t *bridge;     /* the named bridge's row, or NULL */
    json_t *ports;      /* all Port rows */
    json_t *ifaces;     /* all Interface rows */
};

static json_t *
ovs_select__(const char *table, json_t *where, const char *cols)
{
    json_t *columns = json_array();
    char *copy = xstrdup(cols);
    for (char *save, *c = strtok_r(copy, " ", &save); c;
         c = strtok_r(NULL, " ", &save)) {
        json_array_append_new(columns, json_string(c));
    }
    free(copy);
    return json_pack("{s:s, s:s, s:o, s:o}", "op", "select", "table", table,
                     "where", where ? where : json_array(),
                     "columns", columns);
}

static json_t *
ovs_rows__(json_t *result, size_t i)
{
    return json_object_get(json_array_get(result, i), "rows");
}

static int
bridge_snap_read__(struct ovsdb_client *c, const char *br,
                   struct bridge_snap *s)
{
    memset(s, 0, sizeof *s);
    json_t *ops = json_array();
    json_array_append_new(ops, ovs_select__("Open_vSwitch", NULL,
                                            "_uuid bridges"));
    json_array_append_new(ops, ovs_select__(
        "Bridge", json_pack("[[s, s, s]]", "name", "==", br),
        "_uuid name datapath_type fail_mode protocols other_config "
        "external_ids ports"));
    json_array_append_new(ops, ovs_select__("Port", NULL,
                                            "_uuid name interfaces "
                                            "external_ids"));
    json_array_append_new(ops, ovs_select__("Interface", NULL,
                                            "_uuid name type options "
                                            "ofport_request external_ids"));
    int retval = ovsdb_transact(c, ops, &s->result);
    if (retval) {
        return retval;
    }
    s->root = json_array_get(ovs_rows__(s->result, 0), 0);
    s->bridge = json_array_get(ovs_rows__(s->result, 1), 0);
    s->ports = ovs_rows__(s->result, 2);
    s->ifaces = ovs_rows__(s->result, 3);
    if (!s->ports || !s->ifaces) {
        json_decref(s->result);
        return -EPROTO;
    }
    return 0;
}

static void
bridge_snap_destroy__(struct bridge_snap *s)
{
    json_decref(s->result);
}

/* Runs 'ops' unless it is empty (then nothing is written). */
static int
bridge_commit__(struct ovsdb_client *c, json_t *ops, const char *what)
{
    if (!json_array_size(ops)) {
        json_decref(ops);
        return 0;
    }
    LOG_DBG("%s: writing %zu operations", what, json_array_size(ops));
    int retval = ovsdb_transact(c, ops, NULL);
    if (retval) {
        LOG_WARN("%s: %s (%s)", what, strerror(-retval),
                 ovsdb_client_last_error(c));
    }
    return retval;
}

/* Inserts the Open_vSwitch root row if the database has none (a database
 * fresh from its schema has no rows at all).  Returns 0, with '*s' re-read
 * if needed. */
static int
bridge_ensure_root__(struct ovsdb_client *c, const char *br,
                     struct bridge_snap *s)
{
    int retval = bridge_snap_read__(c, br, s);
    if (retval || s->root) {
        return retval;
    }
    bridge_snap_destroy__(s);
    json_t *ops = json_pack("[{s:s, s:s, s:{}}]", "op", "insert",
                            "table", "Open_vSwitch", "row");
    retval = ovsdb_transact(c, ops, NULL);
    if (retval) {
        return retval;
    }
    retval = bridge_snap_read__(c, br, s);
    if (!retval && !s->root) {
        bridge_snap_destroy__(s);
        retval = -EPROTO;
    }
    return retval;
}

/* ---- Ports -------------------------------------------------------------- */

struct port_spec {
    const char *name;
    const char *type;           /* "" for a system interface */
    json_t *options;            /* map value (borrowed), NULL for empty */
    uint32_t ofport_request;    /* 0 for none */
    json_t *ext;                /* owned external_ids pairs (borrowed) */
};

/* Plans 'p' onto the bridge whose row is 'bridge' (NULL when the bridge is
 * being inserted by the same transaction).  Appends to 'ops' what must
 * change and to 'refs' the references the bridge's "ports" must gain.
 * '*seq' numbers the named uuids. */
static void
bridge_plan_port__(const struct bridge_snap *s, json_t *bridge,
                   const struct port_spec *p, json_t *ops, json_t *refs,
                   int *seq)
{
    json_t *want_if = json_pack(
        "{s:s, s:s, s:o, s:o}", "name", p->name, "type", p->type,
        "options", p->options ? json_incref(p->options)
                              : json_pack("[s, []]", "map"),
        "ofport_request", p->ofport_request
                          ? json_integer(p->ofport_request)
                          : ovs_empty_set__());
    json_t *port = ovs_find_row__(s->ports, "name", p->name);
    json_t *iface = NULL;
    if (port) {
        /* The interface of the same name, if the port holds it. */
        json_t *ifaces = ovs_set_elems__(json_object_get(port, "interfaces"));
        size_t i;
        json_t *e;
        json_array_foreach (ifaces, i, e) {
            json_t *row = ovs_find_row__(s->ifaces, "_uuid",
                                         ovs_uuid_str__(e) ? ovs_uuid_str__(e)
                                                           : "");
            json_t *name = json_object_get(row, "name");
            if (row && json_is_string(name)
                && !strcmp(json_string_value(name), p->name)) {
                iface = row;
            }
        }
        json_decref(ifaces);
    }

    /* The interface: update it in place or insert it. */
    char iname[32];
    json_t *iref;
    if (iface) {
        json_object_set_new(want_if, "external_ids",
                            ovs_map_merge__(json_object_get(iface,
                                                            "external_ids"),
                                            p->ext));
        ovs_update_diff__(ops, "Interface", iface, ovs_row_uuid__(iface),
                          want_if);
        iref = NULL;
    } else {
        snprintf(iname, sizeof iname, "i%d", (*seq)++);
        json_object_set_new(want_if, "external_ids",
                            ovs_map_merge__(NULL, p->ext));
        json_array_append_new(ops, json_pack("{s:s, s:s, s:s, s:o}",
                                             "op", "insert",
                                             "table", "Interface",
                                             "uuid-name", iname,
                                             "row", want_if));
        iref = ovs_named__(iname);
    }

    if (!port) {
        char pname[32];
        snprintf(pname, sizeof pname, "p%d", (*seq)++);
        json_array_append_new(ops, json_pack(
            "{s:s, s:s, s:s, s:{s:s, s:o, s:o}}", "op", "insert",
            "table", "Port", "uuid-name", pname, "row", "name", p->name,
            "interfaces", iref, "external_ids", ovs_map_merge__(NULL, p->ext)));
        json_array_append_new(refs, ovs_named__(pname));
        return;
    }

    const char *puuid = ovs_row_uuid__(port);
    json_t *want_port = json_pack("{s:o}", "external_ids",
                                  ovs_map_merge__(json_object_get(
                                      port, "external_ids"), p->ext));
    if (iref) {
        /* The port lost (or never had) its interface: replace the set; the
         * old interfaces are garbage-collected. */
        json_object_set_new(want_port, "interfaces", iref);
    }
    ovs_update_diff__(ops, "Port", port, puuid, want_port);

    if (!bridge || !ovs_set_has_uuid__(bridge, "ports", puuid)) {
        /* The port sits on another bridge: move it.  Removing and adding
         * the reference in one transaction keeps the row alive. */
        json_array_append_new(ops, json_pack(
            "{s:s, s:s, s:[[s, s, o]], s:[[s, s, o]]}", "op", "mutate",
            "table", "Bridge", "where", "ports", "includes",
            ovs_uuid__(puuid), "mutations", "ports", "delete",
            ovs_uuid__(puuid)));
        json_array_append_new(refs, ovs_uuid__(puuid));
    }
}

/* ---- Bridges ------------------------------------------------------------ */

static json_t *
bridge_owner_ext__(const char *role_key, const char *role)
{
    return json_pack("{s:s, s:s}", BRIDGE_OWNER_KEY, BRIDGE_OWNER,
                     role_key, role);
}

/* Ensures bridge 'name' with 'fail_mode' and the extra ports 'extra' (may
 * be NULL). */
static int
bridge_ensure__(struct ovsdb_client *c, const char *name,
                const char *fail_mode, const struct port_spec *extra)
{
    if (!name || !*name) {
        return -EINVAL;
    }
    struct bridge_snap s;
    int retval = bridge_ensure_root__(c, name, &s);
    if (retval) {
        return retval;
    }

    json_t *ops = json_array();
    json_t *refs = json_array();
    int seq = 0;
    json_t *br_ext = json_pack("{s:s}", BRIDGE_OWNER_KEY, BRIDGE_OWNER);
    json_t *br_other = json_pack("{s:s}", "disable-in-band", "true");
    json_t *want = json_pack(
        "{s:s, s:s, s:o, s:[s, [s, s, s, s]]}", "name", name,
        "datapath_type", "netdev",
        "fail_mode", fail_mode ? json_string(fail_mode) : ovs_empty_set__(),
        "protocols", "set", "OpenFlow10", "OpenFlow13", "OpenFlow14",
        "OpenFlow15");
    json_object_set_new(want, "other_config",
                        ovs_map_merge__(s.bridge
                                        ? json_object_get(s.bridge,
                                                          "other_config")
                                        : NULL, br_other));
    json_object_set_new(want, "external_ids",
                        ovs_map_merge__(s.bridge
                                        ? json_object_get(s.bridge,
                                                          "external_ids")
                                        : NULL, br_ext));

    json_t *internal_ext = bridge_owner_ext__(BRIDGE_ROLE_KEY, "bridge");
    struct port_spec internal = {
        .name = name, .type = "internal", .ext = internal_ext,
    };
    bridge_plan_port__(&s, s.bridge, &internal, ops, refs, &seq);
    if (extra) {
        bridge_plan_port__(&s, s.bridge, extra, ops, refs, &seq);
    }

    if (!s.bridge) {
        json_object_set_new(want, "ports", json_pack("[s, O]", "set", refs));
        json_array_append_new(ops, json_pack("{s:s, s:s, s:s, s:o}",
                                             "op", "insert", "table",
                                             "Bridge", "uuid-name", "br",
                                             "row", want));
        json_array_append_new(ops, json_pack(
            "{s:s, s:s, s:o, s:[[s, s, o]]}", "op", "mutate",
            "table", "Open_vSwitch",
            "where", ovs_where_uuid__(ovs_row_uuid__(s.root)),
            "mutations", "bridges", "insert", ovs_named__("br")));
    } else {
        const char *buuid = ovs_row_uuid__(s.bridge);
        ovs_update_diff__(ops, "Bridge", s.bridge, buuid, want);
        if (json_array_size(refs)) {
            json_array_append_new(ops, json_pack(
                "{s:s, s:s, s:o, s:[[s, s, [s, O]]]}", "op", "mutate",
                "table", "Bridge", "where", ovs_where_uuid__(buuid),
                "mutations", "ports", "insert", "set", refs));
        }
    }
    json_decref(refs);
    json_decref(br_ext);
    json_decref(br_other);
    json_decref(internal_ext);
    bridge_snap_destroy__(&s);
    return bridge_commit__(c, ops, name);
}

int
bridge_ensure_integration(struct ovsdb_client *c, const char *name,
                          uint32_t tunnel_ofport)
{
    if (tunnel_ofport > BRIDGE_MAX_OFPORT) {
        return -EINVAL;
    }
    json_t *ext = bridge_owner_ext__(BRIDGE_ROLE_KEY, "tunnel");
    json_t *options = json_pack("[s, [[s, s], [s, s]]]", "map",
                                "key", "flow", "remote_ip", "flow");
    struct port_spec tun = {
        .name = BRIDGE_TUNNEL_PORT, .type = "geneve", .options = options,
        .ofport_request = tunnel_ofport, .ext = ext,
    };
    int retval = bridge_ensure__(c, name, "secure", &tun);
    json_decref(ext);
    json_decref(options);
    return retval;
}

/* The map value of the NULL-terminated key, value list 'kv', or NULL
 * (an empty map) when 'kv' is NULL or empty. */
static json_t *
ovs_options__(const char *const *kv)
{
    if (!kv || !kv[0]) {
        return NULL;
    }
    json_t *obj = json_object();
    for (size_t i = 0; kv[i] && kv[i + 1]; i += 2) {
        json_object_set_new(obj, kv[i], json_string(kv[i + 1]));
    }
    json_t *map = ovs_object_to_map__(obj);
    json_decref(obj);
    return map;
}

int
bridge_ensure_underlay(struct ovsdb_client *c, const char *name,
                       const char *iface)
{
    return bridge_ensure_underlay_typed(c, name, iface, NULL, NULL);
}

int
bridge_ensure_underlay_typed(struct ovsdb_client *c, const char *name,
                             const char *iface, const char *type,
                             const char *const *options)
{
    json_t *ext = bridge_owner_ext__(BRIDGE_ROLE_KEY, "underlay");
    json_t *opts = ovs_options__(options);
    struct port_spec up = {
        .name = iface, .type = type ? type : "", .options = opts, .ext = ext,
    };
    int retval = bridge_ensure__(c, name, "standalone", iface ? &up : NULL);
    json_decref(ext);
    json_decref(opts);
    return retval;
}

int
bridge_sync_ports(struct ovsdb_client *c, const char *br,
                  const struct bridge_port *ports, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!ports[i].iface || !*ports[i].iface
            || ports[i].ofport > BRIDGE_MAX_OFPORT || !ports[i].logical) {
            return -EINVAL;
        }
    }
    struct bridge_snap s;
    int retval = bridge_snap_read__(c, br, &s);
    if (retval) {
        return retval;
    }
    if (!s.bridge) {
        bridge_snap_destroy__(&s);
        return -ENOENT;
    }

    json_t *ops = json_array();
    json_t *refs = json_array();
    int seq = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *ext = json_pack("{s:s, s:s}", BRIDGE_OWNER_KEY, BRIDGE_OWNER,
                                BRIDGE_PORT_KEY, ports[i].logical);
        json_t *opts = ovs_options__(ports[i].options);
        struct port_spec p = {
            .name = ports[i].iface,
            .type = ports[i].type ? ports[i].type : "", .options = opts,
            .ofport_request = ports[i].ofport, .ext = ext,
        };
        bridge_plan_port__(&s, s.bridge, &p, ops, refs, &seq);
        json_decref(ext);
        json_decref(opts);
    }

    /* Owned workload ports of 'br' that are no longer wanted. */
    json_t *stale = json_array();
    json_t *cur = ovs_set_elems__(json_object_get(s.bridge, "ports"));
    size_t i;
    json_t *e;
    json_array_foreach (cur, i, e) {
        const char *u = ovs_uuid_str__(e);
        json_t *row = u ? ovs_find_row__(s.ports, "_uuid", u) : NULL;
        const char *owner = ovs_map_get_str__(row, "external_ids",
                                              BRIDGE_OWNER_KEY);
        if (!row || !owner || strcmp(owner, BRIDGE_OWNER)
            || !ovs_map_get_str__(row, "external_ids", BRIDGE_PORT_KEY)) {
            continue;
        }
        const char *name = json_string_value(json_object_get(row, "name"));
        bool wanted = false;
        for (size_t j = 0; name && j < n; j++) {
            wanted |= !strcmp(ports[j].iface, name);
        }
        if (!wanted) {
            LOG_INFO("%s: removing port %s", br, name ? name : u);
            json_array_append(stale, e);
        }
    }
    json_decref(cur);

    const char *buuid = ovs_row_uuid__(s.bridge);
    if (json_array_size(refs)) {
        json_array_append_new(ops, json_pack(
            "{s:s, s:s, s:o, s:[[s, s, [s, O]]]}", "op", "mutate",
            "table", "Bridge", "where", ovs_where_uuid__(buuid),
            "mutations", "ports", "insert", "set", refs));
    }
    if (json_array_size(stale)) {
        json_array_append_new(ops, json_pack(
            "{s:s, s:s, s:o, s:[[s, s, [s, O]]]}", "op", "mutate",
            "table", "Bridge", "where", ovs_where_uuid__(buuid),
            "mutations", "ports", "delete", "set", stale));
    }
    json_decref(refs);
    json_decref(stale);
    bridge_snap_destroy__(&s);
    return bridge_commit__(c, ops, br);
}

int
bridge_get_ofport(struct ovsdb_client *c, const char *iface, int32_t *ofport)
{
    json_t *ops = json_array();
    json_array_append_new(ops, ovs_select__(
        "Interface", json_pack("[[s, s, s]]", "name", "==", iface),
        "ofport error"));
    json_t *result;
    int retval = ovsdb_transact(c, ops, &result);
    if (retval) {
        return retval;
    }
    json_t *row = json_array_get(ovs_rows__(result, 0), 0);
    json_t *v = json_object_get(row, "ofport");
    if (!row) {
        retval = -ENOENT;
    } else if (!json_is_integer(v)) {
        retval = -EAGAIN;       /* ["set", []]: not numbered yet */
    } else if (json_integer_value(v) < 0) {
        json_t *err = json_object_get(row, "error");
        LOG_INFO_RL("interface %s failed: %s", iface,
                    json_is_string(err) ? json_string_value(err) : "?");
        retval = -ENODEV;
    } else {
        *ofport = (int32_t) json_integer_value(v);
    }
    json_decref(result);
    return retval;
}

static int
bridge_read_ext__(struct ovsdb_client *c, const char *br, json_t **result,
                  json_t **row)
{
    json_t *ops = json_array();
    json_array_append_new(ops, ovs_select__(
        "Bridge", json_pack("[[s, s, s]]", "name", "==", br),
        "_uuid external_ids"));
    int retval = ovsdb_transact(c, ops, result);
    if (retval) {
        return retval;
    }
    *row = json_array_get(ovs_rows__(*result, 0), 0);
    if (!*row) {
        json_decref(*result);
        return -ENOENT;
    }
    return 0;
}

int
bridge_set_external_id(struct ovsdb_client *c, const char *br,
                       const char *key, const char *value)
{
    if (!br || !key) {
        return -EINVAL;
    }
    json_t *result, *row;
    int retval = bridge_read_ext__(c, br, &result, &row);
    if (retval) {
        return retval;
    }
    const char *have = ovs_map_get_str__(row, "external_ids", key);
    json_t *ops = json_array();
    if (value ? !have || strcmp(have, value) : have != NULL) {
        json_t *mutations = json_pack("[[s, s, [s, [s]]]]", "external_ids",
                                      "delete", "set", key);
        if (value) {
            json_array_append_new(mutations, json_pack(
                "[s, s, [s, [[s, s]]]]", "external_ids", "insert", "map",
                key, value));
        }
        json_array_append_new(ops, json_pack(
            "{s:s, s:s, s:o, s:o}", "op", "mutate", "table", "Bridge",
            "where", ovs_where_uuid__(ovs_row_uuid__(row)),
            "mutations", mutations));
    }
    json_decref(result);
    return bridge_commit__(c, ops, br);
}

char *
bridge_get_external_id(struct ovsdb_client *c, const char *br,
                       const char *key)
{
    json_t *result, *row;
    int retval = bridge_read_ext__(c, br, &result, &row);
    if (retval) {
        errno = -retval;
        return NULL;
    }
    const char *v = ovs_map_get_str__(row, "external_ids", key);
    char *s = v ? xstrdup(v) : NULL;
    json_decref(result);
    if (!s) {
        errno = ENOENT;
    }
    return s;
}
