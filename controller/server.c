/* server.c — controller state: the running topology and its compiler
 * engine, generations, apply/plan and the state dir.
 *
 * An apply parses the document (refused: nothing changes), brings the
 * running engine to it with compiler_apply(), which reports per host what
 * changed, writes the state dir (failure: the engine is brought back to the
 * running topology, nothing changes) and commits: the generation grows by
 * one when some host changed, those hosts get it as their desired
 * generation and keep the delta from their previous one, and their agents
 * are pushed.  The first apply on an empty engine asks for no delta (every
 * host is new and gets its full state anyway), so no flow is ever held as
 * a struct flow for the whole topology.  A plan compiles the document into
 * a scratch result and diffs it against the engine's flows host by host;
 * the running engine is never touched.
 *
 * The state dir holds three files, each replaced atomically (write a tmp
 * file, fsync, rename, fsync the directory):
 *   topology.yaml  the last applied document, byte for byte;
 *   hosts.json     {"topology_file", "generation", "hosts": {NAME:
 *                  {"desired_generation", "ports": {PORT: ofport}}}};
 *   generation     the generation as decimal text, written last.
 * The OpenFlow port numbers are saved because the compiler allocates them
 * with the previous result as a hint: recompiling after a restart without
 * them could number ports differently from what the agents already run,
 * while the desired generations claim nothing changed.
 *
 * Learned neighbours (an external network's provider router MAC resolved
 * by ARP, when its gateway_mac is not configured) live in a fourth file,
 * neighbors.json ({"neighbors": [{"network", "ip", "mac"}]}), written
 * before the generation that uses them and reloaded into the engine before
 * the topology on restart.  A report that changes one is recompiled from
 * the event loop (not inside the session that reported it): the engine's
 * batch dirties only that network's component, the generation grows by
 * one, the hosts that changed get it with their delta and are pushed.  A
 * configured gateway_mac always wins: reports for such networks are
 * ignored.
 */
#include "controller/controller-private.h"
#include "controller/compile.h"
#include "controller/topo.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/event.h>

LOG_MODULE(controller);

int
controller_parse_endpoint(const char *s, struct sockaddr_in *sin)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    char ip[INET_ADDRSTRLEN];
    char *end;

    if (!colon || colon == s || (size_t) (colon - s) >= sizeof ip) {
        return -EINVAL;
    }
    util_memcpy(ip, s, colon - s);
    ip[colon - s] = '\0';
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port > 65535) {
        return -EINVAL;
    }
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1) {
        return -EINVAL;
    }
    return 0;
}

/* ---- host records ------------------------------------------------------ */

struct ctl_host *
ctl_find_host(const struct controller *ctl, const char *name)
{
    for (size_t i = 0; i < ctl->n_hosts; i++) {
        if (!strcmp(ctl->hosts[i].name, name)) {
            return &ctl->hosts[i];
        }
    }
    return NULL;
}

const struct compiled_host *
ctl_find_compiled(const struct controller *ctl, const char *name)
{
    return compile_find_host(ctl->view, name);
}

static void
ctl_delta_destroy__(struct ctl_delta *d)
{
    if (d) {
        flow_set_destroy(&d->flows);
        flow_set_destroy(&d->removed);
        free(d);
    }
}

void
ctl_host_drop_delta(struct ctl_host *h)
{
    ctl_delta_destroy__(h->delta);
    h->delta = NULL;
}

static void
ctl_hosts_free__(struct ctl_host *hosts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(hosts[i].name);
        free(hosts[i].agent_version);
        free(hosts[i].last_error);
        free(hosts[i].counters);
        ctl_delta_destroy__(hosts[i].delta);
    }
    free(hosts);
}

/* ---- the light view ------------------------------------------------------ */

static struct compile_result *
ctl_view_create__(size_t n_hosts)
{
    struct compile_result *v = xzalloc(sizeof *v);
    v->hosts = xcalloc(n_hosts + 1, sizeof *v->hosts);
    return v;
}

/* Frees 'v' except the hosts flagged in 'shared' (may be NULL), whose
 * contents now belong to another view. */
static void
ctl_view_destroy__(struct compile_result *v, const bool *shared)
{
    if (!v) {
        return;
    }
    for (size_t i = 0; i < v->n_hosts; i++) {
        if (!shared || !shared[i]) {
            compiled_host_clear(&v->hosts[i]);
        }
    }
    free(v->hosts);
    free(v);
}

/* The view of every host of 'topo' read from 'engine'. */
static struct compile_result *
ctl_view_from_engine__(const struct compiler *engine, const struct topo *topo)
{
    struct compile_result *v = ctl_view_create__(topo->n_hosts);
    for (size_t i = 0; i < topo->n_hosts; i++) {
        if (compiler_host_config(engine, topo->hosts[i].name,
                                 &v->hosts[v->n_hosts])) {
            v->n_hosts++;
        }
    }
    return v;
}

uint64_t
controller_generation(const struct controller *ctl)
{
    return ctl->generation;
}

uint64_t
controller_host_desired_generation(const struct controller *ctl,
                                   const char *host)
{
    const struct ctl_host *h = ctl_find_host(ctl, host);
    return h ? h->desired_generation : 0;
}

/* ---- state dir ---------------------------------------------------------- */

static int
ctl_write_atomic__(const char *dir, const char *name, const char *data,
                   size_t len)
{
    char *tmp = xasprintf("%s/.%s.tmp", dir, name);
    char *dst = xasprintf("%s/%s", dir, name);
    int error = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0) {
        error = -errno;
        goto out;
    }
    for (size_t off = 0; off < len; ) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            error = -errno;
            break;
        }
        off += n;
    }
    if (!error && fsync(fd) < 0) {
        error = -errno;
    }
    if (close(fd) < 0 && !error) {
        error = -errno;
    }
    if (!error && rename(tmp, dst) < 0) {
        error = -errno;
    }
    if (error) {
        unlink(tmp);
    }
out:
    free(tmp);
    free(dst);
    return error;
}

static void
ctl_fsync_dir__(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static json_t *
ctl_hosts_state_json__(const char *file, uint64_t generation,
                       const struct compile_result *result,
                       const struct ctl_host *hosts)
{
    json_t *jhosts = json_object();

    for (size_t i = 0; i < result->n_hosts; i++) {
        const struct compiled_host *ch = &result->hosts[i];
        json_t *ports = json_object();
        for (size_t j = 0; j < ch->n_ports; j++) {
            json_object_set_new(ports, ch->ports[j].name,
                                json_integer(ch->ports[j].ofport));
        }
        json_object_set_new(jhosts, ch->name,
            json_pack("{s:I, s:o}", "desired_generation",
                      (json_int_t) hosts[i].desired_generation,
                      "ports", ports));
    }
    return json_pack("{s:s, s:I, s:o}", "topology_file", file ? file : "",
                     "generation", (json_int_t) generation, "hosts", jhosts);
}

/* Writes the state dir ('yaml' NULL: all but topology.yaml); nothing in
 * 'ctl' changes. */
static int
ctl_persist__(const struct controller *ctl, const char *file,
              const char *yaml, size_t len, uint64_t generation,
              const struct compile_result *result,
              const struct ctl_host *hosts)
{
    if (!ctl->state_dir) {
        return 0;
    }
    json_t *state = ctl_hosts_state_json__(file, generation, result, hosts);
    char *text = json_dumps(state, JSON_INDENT(2) | JSON_SORT_KEYS);
    char gen[32];
    int error = 0;

    json_decref(state);
    snprintf(gen, sizeof gen, "%llu\n", (unsigned long long) generation);
    if (yaml) {
        error = ctl_write_atomic__(ctl->state_dir, "topology.yaml", yaml,
                                   len);
    }
    if (!error) {
        error = ctl_write_atomic__(ctl->state_dir, "hosts.json", text,
                                   strlen(text));
    }
    if (!error) {
        error = ctl_write_atomic__(ctl->state_dir, "generation", gen,
                                   strlen(gen));
    }
    free(text);
    ctl_fsync_dir__(ctl->state_dir);
    if (error) {
        LOG_ERR("cannot write state dir %s: %s", ctl->state_dir,
                strerror(-error));
    }
    return error;
}

static char *
ctl_read_file__(const char *path, size_t *lenp)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (!f) {
        return NULL;
    }
    for (;;) {
        buf = xgrow(buf, &cap, len + 4097, 1);
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    fclose(f);
    buf[len] = '\0';
    *lenp = len;
    return buf;
}

/* A compile_result that holds only host names and port numbers: the
 * compiler's hint for keeping OpenFlow port numbers across a restart. */
static struct compile_result *
ctl_skeleton_from_json__(json_t *jhosts)
{
    struct compile_result *r = xzalloc(sizeof *r);
    const char *name;
    json_t *jh;

    r->hosts = xcalloc(json_object_size(jhosts) + 1, sizeof *r->hosts);
    json_object_foreach(jhosts, name, jh) {
        struct compiled_host *ch = &r->hosts[r->n_hosts++];
        json_t *ports = json_object_get(jh, "ports");
        const char *pname;
        json_t *jp;

        ch->name = xstrdup(name);
        ch->underlay_iface = xstrdup("");
        flow_set_init(&ch->flows);
        ch->ports = xcalloc(json_object_size(ports) + 1, sizeof *ch->ports);
        json_object_foreach(ports, pname, jp) {
            struct compiled_port *cp = &ch->ports[ch->n_ports++];
            cp->name = xstrdup(pname);
            cp->iface = xstrdup(pname);
            cp->switch_name = xstrdup("");
            cp->ofport = json_integer_value(jp);
        }
    }
    return r;
}

static void
ctl_skeleton_free__(struct compile_result *r)
{
    for (size_t i = 0; r && i < r->n_hosts; i++) {
        struct compiled_host *ch = &r->hosts[i];
        for (size_t j = 0; j < ch->n_ports; j++) {
            free(ch->ports[j].name);
            free(ch->ports[j].iface);
            free(ch->ports[j].switch_name);
        }
        free(ch->ports);
        free(ch->name);
        free(ch->underlay_iface);
    }
    if (r) {
        free(r->hosts);
        free(r);
    }
}

/* ---- learned neighbours -------------------------------------------------- */

static struct ctl_neighbor *
ctl_neighbor_find__(const struct controller *ctl, const char *network,
                    uint32_t ip)
{
    for (size_t i = 0; i < ctl->n_neighbors; i++) {
        if (ctl->neighbors[i].ip == ip
            && !strcmp(ctl->neighbors[i].network, network)) {
            return &ctl->neighbors[i];
        }
    }
    return NULL;
}

static void
ctl_neighbor_set__(struct controller *ctl, const char *network, uint32_t ip,
                   uint64_t mac)
{
    struct ctl_neighbor *n = ctl_neighbor_find__(ctl, network, ip);
    if (!n) {
        ctl->neighbors = xgrow(ctl->neighbors, &ctl->cap_neighbors,
                               ctl->n_neighbors + 1, sizeof *ctl->neighbors);
        n = &ctl->neighbors[ctl->n_neighbors++];
        n->network = xstrdup(network);
        n->ip = ip;
    }
    n->mac = mac;
}

static void
ctl_neighbors_free__(struct controller *ctl)
{
    for (size_t i = 0; i < ctl->n_neighbors; i++) {
        free(ctl->neighbors[i].network);
    }
    free(ctl->neighbors);
    ctl->neighbors = NULL;
    ctl->n_neighbors = ctl->cap_neighbors = 0;
}

/* Hands every learned neighbour to the engine. */
static void
ctl_neighbors_to_engine__(struct controller *ctl)
{
    for (size_t i = 0; i < ctl->n_neighbors; i++) {
        const struct ctl_neighbor *n = &ctl->neighbors[i];
        compiler_set_neighbor(ctl->engine, n->network, n->ip, n->mac);
    }
}

static int
ctl_neighbors_persist__(const struct controller *ctl)
{
    if (!ctl->state_dir) {
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < ctl->n_neighbors; i++) {
        const struct ctl_neighbor *n = &ctl->neighbors[i];
        char ip[IP4_STRLEN], mac[ETH_ADDR_STRLEN];
        ip4_format(n->ip, ip);
        eth_format(n->mac, mac);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "network",
                                             n->network, "ip", ip,
                                             "mac", mac));
    }
    json_t *doc = json_pack("{s:o}", "neighbors", arr);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    int error = ctl_write_atomic__(ctl->state_dir, "neighbors.json", text,
                                   strlen(text));
    free(text);
    json_decref(doc);
    ctl_fsync_dir__(ctl->state_dir);
    if (error) {
        LOG_ERR("cannot write %s/neighbors.json: %s", ctl->state_dir,
                strerror(-error));
    }
    return error;
}

/* Reads neighbors.json (missing: none). */
static void
ctl_neighbors_load__(struct controller *ctl)
{
    char *path = xasprintf("%s/neighbors.json", ctl->state_dir);
    json_t *doc = json_load_file(path, 0, NULL);
    size_t i;
    json_t *jn;

    free(path);
    json_array_foreach(json_object_get(doc, "neighbors"), i, jn) {
        const char *net = json_string_value(json_object_get(jn, "network"));
        const char *ip = json_string_value(json_object_get(jn, "ip"));
        const char *mac = json_string_value(json_object_get(jn, "mac"));
        uint32_t a;
        uint64_t m;
        if (!net || !ip || !mac || ip4_parse(ip, &a) || eth_parse(mac, &m)
            || !m) {
            LOG_WARN("%s/neighbors.json: skipping a bad entry",
                     ctl->state_dir);
            continue;
        }
        ctl_neighbor_set__(ctl, net, a, m);
    }
    json_decref(doc);
    ctl_neighbors_to_engine__(ctl);
}

uint64_t
ctl_gateway_mac(const struct controller *ctl, const struct topo_external *e,
                bool *learned)
{
    *learned = false;
    if (e->gateway_mac) {
        return e->gateway_mac;
    }
    const struct ctl_neighbor *n = ctl_neighbor_find__(ctl, e->name,
                                                       e->gateway_ip);
    *learned = n != NULL;
    return n ? n->mac : 0;
}

static struct compile_host_delta *ctl_delta_find__(
    const struct compile_delta *, const char *name);
static struct ctl_delta *ctl_delta_take__(struct compile_host_delta *,
                                          uint64_t base, size_t n_host_flows);

/* Recompiles after learned neighbours changed: one batch, a new generation
 * for the hosts whose flows changed, their deltas pushed. */
static void
ctl_neighbors_commit__(evutil_socket_t fd, short what, void *ctl_)
{
    struct controller *ctl = ctl_;
    struct compile_delta delta;
    (void) fd;
    (void) what;

    ctl->neigh_pending = false;
    if (!ctl->topo) {
        return;
    }
    ctl_neighbors_persist__(ctl);
    compile_delta_init(&delta);
    compiler_begin(ctl->engine, &delta);
    ctl_neighbors_to_engine__(ctl);
    compiler_commit(ctl->engine);
    if (!delta.n_hosts) {
        compile_delta_destroy(&delta);
        return;
    }
    uint64_t generation = ctl->generation + 1;
    for (size_t i = 0; i < ctl->view->n_hosts; i++) {
        struct compiled_host *ch = &ctl->view->hosts[i];
        struct ctl_host *h = &ctl->hosts[i];
        struct compile_host_delta *hd = ctl_delta_find__(&delta, ch->name);
        if (!hd) {
            continue;
        }
        char *name = xstrdup(ch->name);
        compiled_host_clear(ch);
        compiler_host_config(ctl->engine, name, ch);
        free(name);
        ctl_host_drop_delta(h);
        if (h->desired_generation && !hd->host_added) {
            h->delta = ctl_delta_take__(hd, h->desired_generation,
                                        compiler_host_n_flows(ctl->engine,
                                                              ch->name));
        }
        h->desired_generation = generation;
    }
    ctl->generation = generation;
    ctl_persist__(ctl, ctl->topology_file, NULL, 0, generation, ctl->view,
                  ctl->hosts);
    LOG_INFO("learned neighbours: generation %llu, %zu hosts changed",
             (unsigned long long) generation, delta.n_hosts);
    for (size_t i = 0; i < delta.n_hosts; i++) {
        ctl_sessions_push(ctl, delta.hosts[i].name);
    }
    for (size_t i = 0; i < ctl->n_hosts; i++) {
        ctl_host_drop_delta(&ctl->hosts[i]);
    }
    compile_delta_destroy(&delta);
}

void
ctl_learn_neighbor(struct controller *ctl, const char *host,
                   const char *network, const char *ip, const char *mac)
{
    uint32_t a;
    uint64_t m;
    const struct topo_external *e = ctl->topo && network
                                    ? topo_find_external(ctl->topo, network)
                                    : NULL;

    if (!e || !ip || !mac || ip4_parse(ip, &a) || eth_parse(mac, &m) || !m
        || eth_is_multicast(m) || a != e->gateway_ip) {
        LOG_WARN_RL("%s reported an unusable neighbour %s %s on %s: ignored",
                    host ? host : "?", ip ? ip : "", mac ? mac : "",
                    network ? network : "");
        return;
    }
    if (e->gateway_mac) {
        return;                 /* configured: the learned one is ignored */
    }
    const struct ctl_neighbor *n = ctl_neighbor_find__(ctl, network, a);
    if (n && n->mac == m) {
        return;
    }
    LOG_INFO_RL("%s learned %s at %s on %s", host ? host : "?", ip, mac,
                network);
    ctl_neighbor_set__(ctl, network, a, m);
    if (!ctl->neigh_pending) {
        ctl->neigh_pending = true;
        event_active(ctl->neigh_ev, EV_TIMEOUT, 0);
    }
}

/* Reloads the state dir.  A missing topology.yaml is a fresh start. */
static int
ctl_load_state__(struct controller *ctl)
{
    char *path = xasprintf("%s/topology.yaml", ctl->state_dir);
    size_t len;
    char *yaml = ctl_read_file__(path, &len);
    json_t *state = NULL;
    struct topo_errors errs;
    int error = 0;

    free(path);
    if (!yaml) {
        LOG_INFO("state dir %s holds no topology; starting empty",
                 ctl->state_dir);
        return 0;
    }

    path = xasprintf("%s/hosts.json", ctl->state_dir);
    state = json_load_file(path, 0, NULL);
    free(path);
    path = xasprintf("%s/generation", ctl->state_dir);
    size_t glen;
    char *gtext = ctl_read_file__(path, &glen);
    free(path);
    uint64_t generation = gtext ? strtoull(gtext, NULL, 10) : 0;
    free(gtext);

    const char *file = json_string_value(json_object_get(state,
                                                         "topology_file"));
    if (!file || !*file) {
        file = "topology.yaml";
    }
    json_t *jhosts = json_object_get(state, "hosts");

    topo_errors_init(&errs);
    struct topo *topo = topo_load_buffer(file, yaml, len, &errs);
    if (!topo) {
        for (size_t i = 0; i < errs.n; i++) {
            char *s = topo_error_format(&errs.errs[i]);
            LOG_ERR("saved topology: %s", s);
            free(s);
        }
        topo_errors_destroy(&errs);
        error = -EINVAL;
        goto out;
    }
    topo_errors_destroy(&errs);

    /* The engine is rebuilt from empty, seeded with the saved numbers so
     * that every port keeps the number its agent already runs. */
    struct compile_result *hint = json_is_object(jhosts)
                                  ? ctl_skeleton_from_json__(jhosts) : NULL;
    ctl_neighbors_load__(ctl);
    compiler_apply(ctl->engine, topo, hint, NULL);
    ctl_skeleton_free__(hint);
    ctl_view_destroy__(ctl->view, NULL);
    ctl->view = ctl_view_from_engine__(ctl->engine, topo);
    ctl->topo = topo;
    ctl->topology_file = xstrdup(file);
    ctl->generation = generation;
    ctl->n_hosts = ctl->view->n_hosts;
    ctl->hosts = xcalloc(ctl->n_hosts + 1, sizeof *ctl->hosts);
    for (size_t i = 0; i < ctl->n_hosts; i++) {
        const char *name = ctl->view->hosts[i].name;
        json_t *jd = json_object_get(json_object_get(jhosts, name),
                                     "desired_generation");
        ctl->hosts[i].name = xstrdup(name);
        ctl->hosts[i].desired_generation = json_is_integer(jd)
            ? (uint64_t) json_integer_value(jd) : generation;
    }
    LOG_INFO("reloaded %s from %s: generation %llu, %zu hosts", file,
             ctl->state_dir, (unsigned long long) generation, ctl->n_hosts);
out:
    json_decref(state);
    free(yaml);
    return error;
}

/* ---- create / destroy --------------------------------------------------- */

struct controller *
controller_create(struct event_base *base,
                  const struct controller_options *opts)
{
    struct controller *ctl = xzalloc(sizeof *ctl);
    struct sockaddr_in agents, http;
    int error;

    ctl->base = base;
    ctl->engine = compiler_create();
    ctl->view = ctl_view_create__(0);
    ctl->heartbeat_ms = opts->heartbeat_ms ? opts->heartbeat_ms
                                           : CONTROLLER_HEARTBEAT_MS;
    ctl->dead_ms = opts->dead_ms ? opts->dead_ms : CONTROLLER_DEAD_MS;
    ctl->neigh_ev = event_new(base, -1, 0, ctl_neighbors_commit__, ctl);
    if (controller_parse_endpoint(opts->listen ? opts->listen
                                  : CONTROLLER_DEFAULT_LISTEN, &agents)
        || controller_parse_endpoint(opts->http ? opts->http
                                     : CONTROLLER_DEFAULT_HTTP, &http)) {
        error = -EINVAL;
        goto fail;
    }
    if (opts->state_dir) {
        ctl->state_dir = xstrdup(opts->state_dir);
        if (mkdir(ctl->state_dir, 0755) < 0 && errno != EEXIST) {
            error = -errno;
            LOG_ERR("cannot create state dir %s: %s", ctl->state_dir,
                    strerror(errno));
            goto fail;
        }
        error = ctl_load_state__(ctl);
        if (error) {
            goto fail;
        }
    }
    error = ctl_sessions_start(ctl, &agents);
    if (!error) {
        error = ctl_http_start(ctl, &http);
    }
    if (error) {
        goto fail;
    }
    return ctl;

fail:
    controller_destroy(ctl);
    errno = -error;
    return NULL;
}

void
controller_destroy(struct controller *ctl)
{
    if (!ctl) {
        return;
    }
    ctl_http_stop(ctl);
    ctl_sessions_stop(ctl);
    if (ctl->neigh_ev) {
        event_free(ctl->neigh_ev);
    }
    ctl_neighbors_free__(ctl);
    ctl_hosts_free__(ctl->hosts, ctl->n_hosts);
    ctl_acl_log_destroy(&ctl->acl_log);
    ctl_view_destroy__(ctl->view, NULL);
    compiler_destroy(ctl->engine);
    topo_destroy(ctl->topo);
    free(ctl->topology_file);
    free(ctl->state_dir);
    free(ctl);
}

/* ---- apply / plan ------------------------------------------------------- */

static json_t *
ctl_errors_json__(const struct topo_errors *errs)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < errs->n; i++) {
        const struct topo_error *e = &errs->errs[i];
        json_array_append_new(arr, json_pack("{s:s, s:i, s:i, s:s, s:s}",
            "file", e->file ? e->file : "", "line", (int) e->line,
            "col", (int) e->col, "path", e->path ? e->path : "",
            "message", e->msg ? e->msg : ""));
    }
    return json_pack("{s:o}", "errors", arr);
}

/* Loads 'yaml' or fills '*reply' with the errors. */
static struct topo *
ctl_load_topo__(const char *file, const char *yaml, size_t len,
                json_t **reply)
{
    struct topo_errors errs;
    struct topo *topo;

    topo_errors_init(&errs);
    topo = topo_load_buffer(file, yaml, len, &errs);
    if (!topo) {
        if (!errs.n) {
            /* The loader promises errors; never answer an empty refusal. */
            json_t *r = json_pack("{s:[{s:s, s:i, s:i, s:s, s:s}]}",
                "errors", "file", file, "line", 0, "col", 0, "path", "",
                "message", "topology refused");
            *reply = r;
        } else {
            *reply = ctl_errors_json__(&errs);
        }
    }
    topo_errors_destroy(&errs);
    return topo;
}

/* The change of host 'name' in 'd' (sorted by name), or NULL. */
static struct compile_host_delta *
ctl_delta_find__(const struct compile_delta *d, const char *name)
{
    size_t lo = 0, hi = d->n_hosts;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, d->hosts[mid].name);
        if (!c) {
            return &d->hosts[mid];
        } else if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

static void
ctl_change_add__(json_t *names, json_t *plan, const char *name, size_t added,
                 size_t removed, size_t modified)
{
    json_array_append_new(names, json_string(name));
    json_object_set_new(plan, name, json_pack("{s:I, s:I, s:I}",
                        "added", (json_int_t) added,
                        "removed", (json_int_t) removed,
                        "modified", (json_int_t) modified));
}

/* Moves what 'hd' says into a delta from 'base', or returns NULL when the
 * delta would not be smaller than the host's full flow set. */
static struct ctl_delta *
ctl_delta_take__(struct compile_host_delta *hd, uint64_t base,
                 size_t n_host_flows)
{
    size_t n = hd->added.n + hd->modified.n + hd->removed.n;
    if (n >= n_host_flows) {
        return NULL;
    }
    struct ctl_delta *d = xzalloc(sizeof *d);
    d->base = base;
    d->flows = hd->added;
    flow_set_init(&hd->added);
    for (size_t i = 0; i < hd->modified.n; i++) {
        flow_set_take(&d->flows, &hd->modified.flows[i]);
    }
    flow_set_sort(&d->flows);
    d->removed = hd->removed;
    flow_set_init(&hd->removed);
    return d;
}

/* Brings the engine back to the running topology after a failed apply:
 * the running view seeds the numbers of the ports the apply took away, so
 * every port gets its number back. */
static void
ctl_engine_rollback__(struct controller *ctl)
{
    if (ctl->topo) {
        compiler_apply(ctl->engine, ctl->topo, ctl->view, NULL);
    } else {
        compiler_destroy(ctl->engine);
        ctl->engine = compiler_create();
        ctl_neighbors_to_engine__(ctl);
    }
}

int
controller_apply(struct controller *ctl, const char *file, const char *yaml,
                 size_t len, json_t **reply)
{
    struct compile_delta delta;
    struct topo *topo;
    int error;

    if (!file || !*file) {
        file = "topology.yaml";
    }
    topo = ctl_load_topo__(file, yaml, len, reply);
    if (!topo) {
        LOG_INFO("apply of %s refused", file);
        return -EINVAL;
    }

    /* From an empty engine every host is new: no delta is wanted. */
    bool from_empty = compiler_n_hosts(ctl->engine) == 0;
    compile_delta_init(&delta);
    compiler_apply(ctl->engine, topo, ctl->view, from_empty ? NULL : &delta);

    json_t *names = json_array();
    json_t *plan = json_object();
    if (from_empty) {
        for (size_t i = 0; i < topo->n_hosts; i++) {
            const char *name = topo->hosts[i].name;
            ctl_change_add__(names, plan, name,
                             compiler_host_n_flows(ctl->engine, name), 0, 0);
        }
    } else {
        for (size_t i = 0; i < delta.n_hosts; i++) {
            const struct compile_host_delta *hd = &delta.hosts[i];
            ctl_change_add__(names, plan, hd->name, hd->added.n,
                             hd->removed.n, hd->modified.n);
        }
    }
    bool changed = json_array_size(names) > 0;
    uint64_t generation = ctl->generation + (changed ? 1 : 0);

    /* The new view: hosts that changed are read from the engine, the
     * others share the running view's records.  New host records carry
     * over what agents reported; changed hosts get the new generation. */
    struct compile_result *view = ctl_view_create__(topo->n_hosts);
    bool *fresh = xcalloc(topo->n_hosts + 1, sizeof *fresh);
    struct ctl_host *hosts = xcalloc(topo->n_hosts + 1, sizeof *hosts);
    for (size_t i = 0; i < topo->n_hosts; i++) {
        const char *name = topo->hosts[i].name;
        const struct compiled_host *old_ch = compile_find_host(ctl->view,
                                                               name);
        const struct ctl_host *old = ctl_find_host(ctl, name);
        bool host_changed = from_empty || ctl_delta_find__(&delta, name);
        size_t k = view->n_hosts;

        if (host_changed || !old_ch) {
            if (!compiler_host_config(ctl->engine, name, &view->hosts[k])) {
                continue;       /* cannot happen: the engine has every host */
            }
            fresh[k] = true;
        } else {
            view->hosts[k] = *old_ch;
        }
        view->n_hosts++;
        hosts[k].name = xstrdup(name);
        hosts[k].desired_generation = host_changed || !old
                                      ? generation : old->desired_generation;
        if (old) {
            hosts[k].applied_generation = old->applied_generation;
            hosts[k].agent_version = old->agent_version
                                     ? xstrdup(old->agent_version) : NULL;
            hosts[k].last_error = old->last_error
                                  ? xstrdup(old->last_error) : NULL;
            if (old->n_counters) {
                size_t size = old->n_counters * sizeof *old->counters;
                hosts[k].counters = xmalloc(size);
                memcpy(hosts[k].counters, old->counters, size);
                hosts[k].n_counters = old->n_counters;
            }
            hosts[k].counters_msec = old->counters_msec;
            hosts[k].acl_log_suppressed = old->acl_log_suppressed;
        }
    }

    error = ctl_persist__(ctl, file, yaml, len, generation, view, hosts);
    if (error) {
        ctl_engine_rollback__(ctl);
        ctl_hosts_free__(hosts, view->n_hosts);
        for (size_t i = 0; i < view->n_hosts; i++) {
            fresh[i] = !fresh[i];       /* now: shared with the running view */
        }
        ctl_view_destroy__(view, fresh);
        free(fresh);
        compile_delta_destroy(&delta);
        topo_destroy(topo);
        json_decref(names);
        json_decref(plan);
        *reply = json_pack("{s:s++}", "error",
                           "cannot persist the state dir: ", strerror(-error));
        return error;
    }
    free(fresh);

    /* Deltas: each changed host that existed, from its previous desired
     * generation to the new one. */
    for (size_t i = 0; i < delta.n_hosts; i++) {
        struct compile_host_delta *hd = &delta.hosts[i];
        const struct ctl_host *old = ctl_find_host(ctl, hd->name);
        const struct compiled_host *ch = compile_find_host(view, hd->name);
        if (!ch || !old || !old->desired_generation || hd->host_added) {
            continue;
        }
        struct ctl_host *h = &hosts[ch - view->hosts];
        h->delta = ctl_delta_take__(hd, old->desired_generation,
                                    compiler_host_n_flows(ctl->engine,
                                                          hd->name));
    }
    compile_delta_destroy(&delta);

    /* Commit.  Hosts of the running view that the new one shares are not
     * freed. */
    bool *shared = xcalloc(ctl->view->n_hosts + 1, sizeof *shared);
    for (size_t i = 0; i < ctl->view->n_hosts; i++) {
        const struct compiled_host *nh = compile_find_host(
            view, ctl->view->hosts[i].name);
        shared[i] = nh && nh->name == ctl->view->hosts[i].name;
    }
    ctl_view_destroy__(ctl->view, shared);
    free(shared);
    ctl_hosts_free__(ctl->hosts, ctl->n_hosts);
    topo_destroy(ctl->topo);
    free(ctl->topology_file);
    ctl->topo = topo;
    ctl->view = view;
    ctl->hosts = hosts;
    ctl->n_hosts = view->n_hosts;
    ctl->topology_file = xstrdup(file);
    ctl->generation = generation;
    LOG_INFO("applied %s: generation %llu, %zu hosts changed", file,
             (unsigned long long) generation, json_array_size(names));

    size_t k;
    json_t *v;
    json_array_foreach(names, k, v) {
        ctl_sessions_push(ctl, json_string_value(v));
    }
    /* A delta serves only the sessions at its base, which were all just
     * pushed; later sessions say Hello and get the full state. */
    for (size_t i = 0; i < ctl->n_hosts; i++) {
        ctl_host_drop_delta(&ctl->hosts[i]);
    }
    *reply = json_pack("{s:I, s:o, s:o}", "generation",
                       (json_int_t) generation, "changed_hosts", names,
                       "plan", plan);
    return 0;
}

/* ---- plan -------------------------------------------------------------- */

struct ctl_plan_host {
    struct compiler *engine;
    const struct compile_result *new_r;
    json_t *added, *removed, *modified;
};

static void
ctl_plan_flow_cb__(void *aux, const struct flow *o, const struct flow *n)
{
    struct ctl_plan_host *p = aux;
    if (!o) {
        json_array_append_new(p->added, ctl_flow_json(NULL, p->new_r, n));
    } else if (!n) {
        json_array_append_new(p->removed, ctl_flow_json(p->engine, NULL, o));
    } else {
        json_array_append_new(p->modified, ctl_flow_json(NULL, p->new_r, n));
    }
}

static bool
ctl_ports_equal__(const struct compiled_host *a, const struct compiled_host *b)
{
    if (a->n_ports != b->n_ports) {
        return false;
    }
    for (size_t i = 0; i < a->n_ports; i++) {
        const struct compiled_port *x = &a->ports[i], *y = &b->ports[i];
        if (strcmp(x->name, y->name) || strcmp(x->iface, y->iface)
            || x->ofport != y->ofport || x->mac != y->mac
            || strcmp(x->switch_name, y->switch_name)
            || x->kind != y->kind || x->vhost_server != y->vhost_server
            || strcmp(x->socket ? x->socket : "", y->socket ? y->socket : "")) {
            return false;
        }
    }
    return true;
}

/* Plans one host: 'o' from the running view (flows in the engine), 'n'
 * from the scratch result; either may be NULL. */
/* Same anet-nfv instances (names, ports, policies). */
static bool
ctl_nfv_equal__(const struct compiled_host *a, const struct compiled_host *b)
{
    if (a->n_nfv != b->n_nfv) {
        return false;
    }
    for (size_t i = 0; i < a->n_nfv; i++) {
        const struct compiled_nfv *x = &a->nfv[i], *y = &b->nfv[i];
        if (strcmp(x->name, y->name) || x->kind != y->kind
            || x->n_ports != y->n_ports || x->policy != y->policy) {
            return false;
        }
        for (size_t k = 0; k < x->n_ports; k++) {
            if (x->ports[k].ofport != y->ports[k].ofport
                || strcmp(x->ports[k].iface, y->ports[k].iface)) {
                return false;
            }
        }
    }
    return true;
}

static void
ctl_plan_host__(struct controller *ctl, const struct compile_result *new_r,
                const struct compiled_host *o, const struct compiled_host *n,
                json_t *out)
{
    static const struct flow_set empty;
    struct flow_set old_flows;

    flow_set_init(&old_flows);
    if (o) {
        compiler_host_flows(ctl->engine, o->name, &old_flows);
    }
    const struct flow_set *nf = n ? &n->flows : &empty;
    if (o && n && o->tunnel_ip == n->tunnel_ip
        && o->tunnel_plen == n->tunnel_plen
        && !strcmp(o->underlay_iface, n->underlay_iface)
        && topo_dpdk_equal(&o->dpdk, &n->dpdk)
        && ctl_ports_equal__(o, n) && ctl_nfv_equal__(o, n)
        && flow_set_equal(&old_flows, nf)) {
        flow_set_destroy(&old_flows);
        return;
    }
    struct ctl_plan_host p = {
        .engine = ctl->engine, .new_r = new_r,
        .added = json_array(), .removed = json_array(),
        .modified = json_array(),
    };
    flow_set_diff(&old_flows, nf, ctl_plan_flow_cb__, &p);
    json_object_set_new(out, n ? n->name : o->name,
                        json_pack("{s:o, s:o, s:o}", "added", p.added,
                                  "removed", p.removed,
                                  "modified", p.modified));
    flow_set_destroy(&old_flows);
}

int
controller_plan(struct controller *ctl, const char *file, const char *yaml,
                size_t len, json_t **reply)
{
    if (!file || !*file) {
        file = "topology.yaml";
    }
    struct topo *topo = ctl_load_topo__(file, yaml, len, reply);
    if (!topo) {
        return -EINVAL;
    }
    /* A scratch compile seeded with the running port numbers: the same
     * numbers an apply would give, and the running engine stays as is. */
    struct compile_result *result = compile_topology(topo, ctl->view);
    const struct compile_result *old_r = ctl->view;
    json_t *hosts = json_object();
    size_t i = 0, j = 0;

    while (i < old_r->n_hosts || j < result->n_hosts) {
        int c = i >= old_r->n_hosts ? 1 : j >= result->n_hosts ? -1
                : strcmp(old_r->hosts[i].name, result->hosts[j].name);
        if (c < 0) {
            ctl_plan_host__(ctl, result, &old_r->hosts[i++], NULL, hosts);
        } else if (c > 0) {
            ctl_plan_host__(ctl, result, NULL, &result->hosts[j++], hosts);
        } else {
            ctl_plan_host__(ctl, result, &old_r->hosts[i++],
                            &result->hosts[j++], hosts);
        }
    }
    *reply = json_pack("{s:o}", "hosts", hosts);
    compile_result_destroy(result);
    topo_destroy(topo);
    return 0;
}
