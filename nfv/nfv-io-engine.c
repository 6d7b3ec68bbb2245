/* nfv-io-engine.c — the I/O loop's view of the two engines (nfv-io.h): one
 * small table of operations per kind over vaf.h and vad.h, plus their
 * counters turned into the anet.nfv.NfvStats reply.
 */
#include "nfv/nfv-io.h"
#include "nfv/vad.h"
#include "nfv/vaf.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/nfv.pb-c.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

LOG_MODULE(nfv_engine);

struct nfv_io_engine {
    enum nfv_kind kind;
    struct nfv_vaf *vaf;
    struct nfv_vad *vad;
};

static void
nfv_io_engine_err__(char **error, const char *what, int err)
{
    if (error && !*error) {
        *error = xasprintf("%s: %s", what, strerror(err));
    }
}

struct nfv_io_engine *
nfv_io_engine_create(const struct nfv_config *cfg, char **error)
{
    struct nfv_io_engine *e = xzalloc(sizeof *e);

    e->kind = cfg->kind;
    if (cfg->kind == NFV_KIND_VAF) {
        e->vaf = nfv_vaf_create(&cfg->fw);
    } else {
        e->vad = nfv_vad_create(&cfg->lb);
    }
    if (!e->vaf && !e->vad) {
        nfv_io_engine_err__(error, "creating the engine", errno);
        free(e);
        return NULL;
    }
    return e;
}

int
nfv_io_engine_reload(struct nfv_io_engine *e, const struct nfv_config *cfg,
                     char **error)
{
    int r;

    if (cfg->kind != e->kind) {
        nfv_io_engine_err__(error, "config of another kind", EINVAL);
        return -EINVAL;
    }
    r = e->vaf ? nfv_vaf_reload(e->vaf, &cfg->fw)
               : nfv_vad_reload(e->vad, &cfg->lb);
    if (r) {
        nfv_io_engine_err__(error, "reloading the engine", -r);
    }
    return r;
}

size_t
nfv_io_engine_process(struct nfv_io_engine *e, struct nfv_frame *f, size_t n,
                      struct nfv_frame *gen, uint64_t now_ns)
{
    if (e->vaf) {
        size_t n_gen = NFV_IO_N_GEN;
        nfv_vaf_process(e->vaf, f, n, now_ns, gen, &n_gen);
        return n_gen;
    }
    return nfv_vad_process(e->vad, f, n, now_ns, gen, NFV_IO_N_GEN);
}

/* The events of rules with the log flag, into the instance's log (its
 * stderr: the agent's log), rate-limited; the ring drops what overflows
 * between ticks and counts it. */
static void
nfv_io_engine_log__(struct nfv_io_engine *e)
{
    static const char *const actions[] = {
        [NFV_FW_ALLOW] = "allow", [NFV_FW_DENY] = "deny",
        [NFV_FW_REJECT] = "reject",
    };
    struct nfv_vaf_log_event ev[32];
    size_t n = nfv_vaf_drain_log(e->vaf, ev, ARRAY_SIZE(ev));
    for (size_t i = 0; i < n; i++) {
        char src[IP4_STRLEN], dst[IP4_STRLEN];
        ip4_format(ev[i].src, src);
        ip4_format(ev[i].dst, dst);
        LOG_INFO_RL("log: %s rules[%u]: %s %s:%u -> %s:%u (port %s)",
                    ev[i].action < ARRAY_SIZE(actions)
                    ? actions[ev[i].action] : "?", ev[i].rule,
                    ev[i].proto == 6 ? "tcp" : ev[i].proto == 17 ? "udp"
                    : ev[i].proto == 1 ? "icmp" : "ip", src,
                    (unsigned int) ev[i].sport, dst,
                    (unsigned int) ev[i].dport,
                    ev[i].port ? "right" : "left");
    }
}

size_t
nfv_io_engine_tick(struct nfv_io_engine *e, struct nfv_frame *gen,
                   uint64_t now_ns)
{
    if (e->vaf) {
        nfv_vaf_tick(e->vaf, now_ns);
        nfv_io_engine_log__(e);
        return 0;
    }
    size_t n_gen = NFV_IO_N_GEN;
    nfv_vad_tick(e->vad, now_ns, gen, &n_gen);
    return n_gen;
}

void
nfv_io_engine_destroy(struct nfv_io_engine *e)
{
    if (e) {
        nfv_vaf_destroy(e->vaf);
        nfv_vad_destroy(e->vad);
        free(e);
    }
}

/* ---- stats ------------------------------------------------------------------ */

static void
nfv_io_malformed__(Anet__Nfv__NfvStats *st, const uint64_t *m)
{
    st->malformed = xcalloc(NFV_PARSE_N, sizeof *st->malformed);
    for (int i = 0; i < NFV_PARSE_N; i++) {
        if (i == NFV_PARSE_OK || !m[i]) {
            continue;
        }
        Anet__Nfv__MalformedCount *mc = xmalloc(sizeof *mc);
        anet__nfv__malformed_count__init(mc);
        mc->reason = (char *) nfv_parse_name(i);
        mc->count = m[i];
        st->malformed[st->n_malformed++] = mc;
    }
}

static Anet__Nfv__RuleStats *
nfv_io_rule__(uint32_t index, const char *name,
              const struct nfv_vaf_counters *c)
{
    Anet__Nfv__RuleStats *r = xmalloc(sizeof *r);
    anet__nfv__rule_stats__init(r);
    r->index = index;
    r->name = xstrdup(name);
    r->packets = c->packets;
    return r;
}

static void
nfv_io_vaf_stats__(struct nfv_vaf *v, const struct nfv_config *cfg,
                   Anet__Nfv__NfvStats *st)
{
    struct nfv_vaf_stats vs;
    size_t n_rules = 0;
    const struct nfv_vaf_counters *rc = nfv_vaf_rule_counters(v, &n_rules);

    nfv_vaf_get_stats(v, &vs);
    st->rules = xcalloc(n_rules + 1, sizeof *st->rules);
    for (size_t i = 0; i < n_rules; i++) {
        st->rules[st->n_rules++] = nfv_io_rule__(
            i, cfg && i < cfg->n_names ? cfg->names[i] : "", &rc[i]);
    }
    st->rules[st->n_rules++] = nfv_io_rule__(UINT32_MAX, "default",
                                             &vs.default_action);

    Anet__Nfv__CtStats *ct = xmalloc(sizeof *ct);
    anet__nfv__ct_stats__init(ct);
    ct->total = vs.ct.n_conns;
    ct->table_full = vs.ct.refused_full;
    ct->source_limited = vs.ct.refused_source;
    ct->picked_up = vs.picked_up;
    ct->by_state = xcalloc(NFV_CT_N_STATES, sizeof *ct->by_state);
    for (int s = 1; s < NFV_CT_N_STATES; s++) {
        if (!vs.ct.by_state[s]) {
            continue;
        }
        Anet__Nfv__CtStateCount *sc = xmalloc(sizeof *sc);
        anet__nfv__ct_state_count__init(sc);
        sc->state = (char *) nfv_ct_state_name(s);
        sc->count = vs.ct.by_state[s];
        ct->by_state[ct->n_by_state++] = sc;
    }
    st->ct = ct;
    nfv_io_malformed__(st, vs.malformed);
    st->malformed_passed = vs.malformed_passed;
}

static void
nfv_io_vad_stats__(struct nfv_vad *v, const struct nfv_config *cfg,
                   Anet__Nfv__NfvStats *st)
{
    struct nfv_vad_stats vs;
    size_t n = 0;

    nfv_vad_get_stats(v, &vs);
    Anet__Nfv__CtStats *ct = xmalloc(sizeof *ct);
    anet__nfv__ct_stats__init(ct);
    ct->total = vs.conns;
    ct->table_full = vs.table_full;
    st->ct = ct;
    nfv_io_malformed__(st, vs.malformed);

    for (size_t s = 0; s < nfv_vad_n_services(v); s++) {
        n += nfv_vad_n_backends(v, s);
    }
    st->backends = xcalloc(n ? n : 1, sizeof *st->backends);
    for (size_t s = 0; s < nfv_vad_n_services(v); s++) {
        for (size_t b = 0; b < nfv_vad_n_backends(v, s); b++) {
            struct nfv_vad_backend_info bi;
            char ip[IP4_STRLEN];
            if (nfv_vad_backend_info(v, s, b, &bi)) {
                continue;
            }
            Anet__Nfv__BackendHealth *bh = xmalloc(sizeof *bh);
            anet__nfv__backend_health__init(bh);
            if (cfg && s < cfg->lb.n_services) {
                const struct nfv_lb_service *sv = &cfg->lb.services[s];
                ip4_format(sv->vip, ip);
                bh->service = xasprintf("%s:%u/%s", ip, sv->port,
                                        sv->proto == 6 ? "tcp" : "udp");
            } else {
                bh->service = xasprintf("%zu", s);
            }
            ip4_format(bi.ip, ip);
            bh->ip = xstrdup(ip);
            bh->port = bi.port;
            bh->healthy = bi.healthy;
            bh->conns = bi.conns;
            st->backends[st->n_backends++] = bh;
        }
    }
}

void
nfv_io_engine_stats(struct nfv_io_engine *e, const struct nfv_config *cfg,
                    Anet__Nfv__NfvStats *st)
{
    if (e->vaf) {
        nfv_io_vaf_stats__(e->vaf, cfg, st);
    } else {
        nfv_io_vad_stats__(e->vad, cfg, st);
    }
}
