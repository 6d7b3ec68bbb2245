/* compile.c — the compile_result API on top of the engine (compile.h).
 *
 * compile_topology() is a full compile: an empty struct compiler brought to
 * the topology by compiler_apply() (the incremental path, from nothing),
 * with port numbers seeded from the previous result, and every host's flows
 * materialised into the result for callers that want plain flow sets.  The
 * result owns its compiler, which answers provenance lookups.
 *
 * The pipeline and the cookie layout are described in docs/pipeline.md; the
 * flows themselves are built in compile-flows.c, the engine lives in
 * compile-engine.c and provenance in compile-prov.c.
 */
#include "controller/compile.h"

#include <stdlib.h>
#include <string.h>

#include "controller/compile-private.h"
#include "controller/topo.h"
#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(compile);

/* The result with the storage only the compiler sees. */
struct compile_result_priv__ {
    struct compile_result pub;
    struct compiler *c;
};

static void
compile_host_out__(const struct compiler *c, uint32_t id,
                   struct compiled_host *ch)
{
    const char *name = c->hosts[id].name;
    compiler_host_config(c, name, ch);
    compiler_host_flows(c, name, &ch->flows);
}

struct compile_result *
compile_topology(const struct topo *t, const struct compile_result *prev)
{
    struct compile_result_priv__ *res = xzalloc(sizeof *res);
    long long start = time_msec();

    res->c = compiler_create();
    compiler_apply(res->c, t, prev, NULL);
    res->pub.n_hosts = t->n_hosts;
    res->pub.hosts = xcalloc(t->n_hosts + 1, sizeof *res->pub.hosts);
    for (size_t h = 0; h < t->n_hosts; h++) {
        uint32_t id = cmap_find(&res->c->host_map, t->hosts[h].name);
        compile_host_out__(res->c, id, &res->pub.hosts[h]);
    }
    LOG_DBG("compiled %zu hosts, %zu switches, %zu ports in %lld ms",
            t->n_hosts, t->n_switches, t->n_ports, time_msec() - start);
    return &res->pub;
}

bool
compile_provenance(const struct compile_result *r, uint64_t cookie,
                   struct compile_provenance *out)
{
    const struct compile_result_priv__ *priv = (const void *) r;
    return r && priv->c && compiler_provenance(priv->c, cookie, out);
}

void
compile_result_destroy(struct compile_result *r)
{
    if (!r) {
        return;
    }
    struct compile_result_priv__ *priv = (struct compile_result_priv__ *) r;
    for (size_t h = 0; h < r->n_hosts; h++) {
        compiled_host_clear(&r->hosts[h]);
    }
    free(r->hosts);
    compiler_destroy(priv->c);
    free(priv);
}

const struct compiled_host *
compile_find_host(const struct compile_result *r, const char *name)
{
    size_t lo = 0, hi = r ? r->n_hosts : 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, r->hosts[mid].name);
        if (!c) {
            return &r->hosts[mid];
        } else if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

/* --- change detection ------------------------------------------------------- */

static bool
compile_ports_equal__(const struct compiled_host *a,
                      const struct compiled_host *b)
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

static bool
compile_host_equal__(const struct compiled_host *a,
                     const struct compiled_host *b)
{
    return a->tunnel_ip == b->tunnel_ip && a->tunnel_plen == b->tunnel_plen
           && !strcmp(a->underlay_iface, b->underlay_iface)
           && topo_dpdk_equal(&a->dpdk, &b->dpdk)
           && compile_ports_equal__(a, b)
           && compiled_packet_actions_equal(a->actions, a->n_actions,
                                            b->actions, b->n_actions)
           && flow_set_equal(&a->flows, &b->flows);
}

void
compile_changed_hosts(const struct compile_result *a,
                      const struct compile_result *b,
                      compile_host_cb *cb, void *aux)
{
    size_t na = a ? a->n_hosts : 0, nb = b ? b->n_hosts : 0;
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        int c = i >= na ? 1 : j >= nb ? -1
                : strcmp(a->hosts[i].name, b->hosts[j].name);
        if (c < 0) {
            cb(aux, &a->hosts[i++], NULL);
        } else if (c > 0) {
            cb(aux, NULL, &b->hosts[j++]);
        } else {
            if (!compile_host_equal__(&a->hosts[i], &b->hosts[j])) {
                cb(aux, &a->hosts[i], &b->hosts[j]);
            }
            i++;
            j++;
        }
    }
}
