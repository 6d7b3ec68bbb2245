/* server.c — controller state: the running topology and compile result,
 * generations, apply/plan and the state dir.
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
 */
#include "controller/controller-private.h"
#include "controller/compile.h"
#include "controller/topo.h"
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
    memcpy(ip, s, colon - s);
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
    return ctl->result ? compile_find_host(ctl->result, name) : NULL;
}

static void
ctl_hosts_free__(struct ctl_host *hosts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(hosts[i].name);
        free(hosts[i].agent_version);
        free(hosts[i].last_error);
    }
    free(hosts);
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

    for (size_t i = 0; result && i < result->n_hosts; i++) {
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

/* Writes the state dir; nothing in 'ctl' changes. */
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
    int error;

    json_decref(state);
    snprintf(gen, sizeof gen, "%llu\n", (unsigned long long) generation);
    error = ctl_write_atomic__(ctl->state_dir, "topology.yaml", yaml, len);
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

    struct compile_result *hint = json_is_object(jhosts)
                                  ? ctl_skeleton_from_json__(jhosts) : NULL;
    ctl->result = compile_topology(topo, hint);
    ctl_skeleton_free__(hint);
    ctl->topo = topo;
    ctl->topology_file = xstrdup(file);
    ctl->generation = generation;
    ctl->n_hosts = ctl->result->n_hosts;
    ctl->hosts = xcalloc(ctl->n_hosts + 1, sizeof *ctl->hosts);
    for (size_t i = 0; i < ctl->n_hosts; i++) {
        const char *name = ctl->result->hosts[i].name;
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
    ctl->heartbeat_ms = opts->heartbeat_ms ? opts->heartbeat_ms
                                           : CONTROLLER_HEARTBEAT_MS;
    ctl->dead_ms = opts->dead_ms ? opts->dead_ms : CONTROLLER_DEAD_MS;
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
    ctl_hosts_free__(ctl->hosts, ctl->n_hosts);
    compile_result_destroy(ctl->result);
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

static const struct flow_set *
ctl_flows_of__(const struct compiled_host *h)
{
    static const struct flow_set empty;
    return h ? &h->flows : &empty;
}

/* The running result, or an empty one before the first apply. */
static const struct compile_result *
ctl_result_or_empty__(const struct controller *ctl)
{
    static const struct compile_result empty;
    return ctl->result ? ctl->result : &empty;
}

struct ctl_count {
    unsigned int added, removed, modified;
};

static void
ctl_count_cb__(void *aux, const struct flow *o, const struct flow *n)
{
    struct ctl_count *c = aux;
    if (!o) {
        c->added++;
    } else if (!n) {
        c->removed++;
    } else {
        c->modified++;
    }
}

struct ctl_changes {
    json_t *names;          /* ["hv1", ...] */
    json_t *plan;           /* {"hv1": {"added", "removed", "modified"}} */
};

static void
ctl_changed_cb__(void *aux, const struct compiled_host *o,
                 const struct compiled_host *n)
{
    struct ctl_changes *c = aux;
    struct ctl_count count = { 0, 0, 0 };
    const char *name = n ? n->name : o->name;

    flow_set_diff(ctl_flows_of__(o), ctl_flows_of__(n), ctl_count_cb__,
                  &count);
    json_array_append_new(c->names, json_string(name));
    json_object_set_new(c->plan, name, json_pack("{s:i, s:i, s:i}",
                        "added", (int) count.added,
                        "removed", (int) count.removed,
                        "modified", (int) count.modified));
}

int
controller_apply(struct controller *ctl, const char *file, const char *yaml,
                 size_t len, json_t **reply)
{
    struct topo *topo;
    struct compile_result *result;
    struct ctl_changes changes;
    int error;

    if (!file || !*file) {
        file = "topology.yaml";
    }
    topo = ctl_load_topo__(file, yaml, len, reply);
    if (!topo) {
        LOG_INFO("apply of %s refused", file);
        return -EINVAL;
    }
    result = compile_topology(topo, ctl->result);

    changes.names = json_array();
    changes.plan = json_object();
    compile_changed_hosts(ctl_result_or_empty__(ctl), result,
                          ctl_changed_cb__, &changes);
    bool changed = json_array_size(changes.names) > 0;
    uint64_t generation = ctl->generation + (changed ? 1 : 0);

    /* New host records: carry over what agents reported; hosts whose output
     * changed get the new generation as their desired generation. */
    struct ctl_host *hosts = xcalloc(result->n_hosts + 1, sizeof *hosts);
    for (size_t i = 0; i < result->n_hosts; i++) {
        const char *name = result->hosts[i].name;
        const struct ctl_host *old = ctl_find_host(ctl, name);
        bool host_changed = false;
        size_t k;
        json_t *v;

        json_array_foreach(changes.names, k, v) {
            if (!strcmp(json_string_value(v), name)) {
                host_changed = true;
            }
        }
        hosts[i].name = xstrdup(name);
        hosts[i].desired_generation = host_changed || !old
                                      ? generation : old->desired_generation;
        if (old) {
            hosts[i].applied_generation = old->applied_generation;
            hosts[i].agent_version = old->agent_version
                                     ? xstrdup(old->agent_version) : NULL;
            hosts[i].last_error = old->last_error
                                  ? xstrdup(old->last_error) : NULL;
        }
    }

    error = ctl_persist__(ctl, file, yaml, len, generation, result, hosts);
    if (error) {
        ctl_hosts_free__(hosts, result->n_hosts);
        compile_result_destroy(result);
        topo_destroy(topo);
        json_decref(changes.names);
        json_decref(changes.plan);
        *reply = json_pack("{s:s++}", "error",
                           "cannot persist the state dir: ", strerror(-error));
        return error;
    }

    /* Commit. */
    ctl_hosts_free__(ctl->hosts, ctl->n_hosts);
    compile_result_destroy(ctl->result);
    topo_destroy(ctl->topo);
    free(ctl->topology_file);
    ctl->topo = topo;
    ctl->result = result;
    ctl->hosts = hosts;
    ctl->n_hosts = result->n_hosts;
    ctl->topology_file = xstrdup(file);
    ctl->generation = generation;
    LOG_INFO("applied %s: generation %llu, %zu hosts changed", file,
             (unsigned long long) generation, json_array_size(changes.names));

    size_t k;
    json_t *v;
    json_array_foreach(changes.names, k, v) {
        ctl_sessions_push(ctl, json_string_value(v));
    }
    *reply = json_pack("{s:I, s:o, s:o}", "generation",
                       (json_int_t) generation, "changed_hosts",
                       changes.names, "plan", changes.plan);
    return 0;
}

/* ---- plan -------------------------------------------------------------- */

struct ctl_plan_host {
    const struct compile_result *old_r, *new_r;
    json_t *added, *removed, *modified;
};

static void
ctl_plan_flow_cb__(void *aux, const struct flow *o, const struct flow *n)
{
    struct ctl_plan_host *p = aux;
    if (!o) {
        json_array_append_new(p->added, ctl_flow_json(p->new_r, n));
    } else if (!n) {
        json_array_append_new(p->removed, ctl_flow_json(p->old_r, o));
    } else {
        json_array_append_new(p->modified, ctl_flow_json(p->new_r, n));
    }
}

struct ctl_plan {
    const struct compile_result *old_r, *new_r;
    json_t *hosts;
};

static void
ctl_plan_host_cb__(void *aux, const struct compiled_host *o,
                   const struct compiled_host *n)
{
    struct ctl_plan *plan = aux;
    struct ctl_plan_host p = {
        .old_r = plan->old_r, .new_r = plan->new_r,
        .added = json_array(), .removed = json_array(),
        .modified = json_array(),
    };

    flow_set_diff(ctl_flows_of__(o), ctl_flows_of__(n), ctl_plan_flow_cb__,
                  &p);
    json_object_set_new(plan->hosts, n ? n->name : o->name,
                        json_pack("{s:o, s:o, s:o}", "added", p.added,
                                  "removed", p.removed,
                                  "modified", p.modified));
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
    struct compile_result *result = compile_topology(topo, ctl->result);
    struct ctl_plan plan = {
        .old_r = ctl->result, .new_r = result, .hosts = json_object(),
    };
    compile_changed_hosts(ctl_result_or_empty__(ctl), result,
                          ctl_plan_host_cb__, &plan);
    *reply = json_pack("{s:o}", "hosts", plan.hosts);
    compile_result_destroy(result);
    topo_destroy(topo);
    return 0;
}
