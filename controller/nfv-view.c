/* nfv-view.c — what the operator sees of the anet-nfv instances.
 *
 * Each agent's Heartbeat lists its instances (anet.NfvStatus: running,
 * starts, the policy generation applied, the instance's last counters as a
 * packed anet.nfv.NfvStats, which the agent asks the instance for every
 * couple of seconds).  The session keeps the last list; GET /api/v1/nfv
 * joins it with what the running topology wants (host, kind, ports, the
 * policy generation = the hash the compiler keeps), so a user sees an
 * instance that is missing, down, restarting or running an older policy,
 * and its per-port, per-rule, connection-table, malformed and backend
 * figures.
 */
#include "controller/controller-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/compile.h"
#include "lib/util.h"
#include "proto/anet.pb-c.h"
#include "proto/nfv.pb-c.h"

void
ctl_nfv_status_free(struct ctl_session *s)
{
    for (size_t i = 0; i < s->n_nfv; i++) {
        free(s->nfv[i].name);
        free(s->nfv[i].stats);
    }
    free(s->nfv);
    s->nfv = NULL;
    s->n_nfv = 0;
}

void
ctl_nfv_set_status(struct ctl_session *s, Anet__NfvStatus *const *v,
                   size_t n)
{
    ctl_nfv_status_free(s);
    if (!n) {
        return;
    }
    s->nfv = xcalloc(n, sizeof *s->nfv);
    for (size_t i = 0; i < n; i++) {
        struct ctl_nfv_status *x = &s->nfv[s->n_nfv++];
        x->name = xstrdup(v[i]->name ? v[i]->name : "");
        x->running = v[i]->running;
        x->starts = v[i]->starts;
        x->applied = v[i]->applied_generation;
        if (v[i]->stats.len) {
            x->stats = xmalloc(v[i]->stats.len);
            memcpy(x->stats, v[i]->stats.data, v[i]->stats.len);
            x->stats_len = v[i]->stats.len;
        }
    }
}

static json_t *
ctl_nfv_stats_json__(const uint8_t *buf, size_t len)
{
    Anet__Nfv__NfvStats *st = anet__nfv__nfv_stats__unpack(NULL, len, buf);
    if (!st) {
        return json_null();
    }
    json_t *ports = json_array(), *rules = json_array(), *mal = json_object();
    json_t *backends = json_array(), *states = json_object();
    for (size_t i = 0; i < st->n_ports; i++) {
        const Anet__Nfv__PortStats *p = st->ports[i];
        json_array_append_new(ports, json_pack(
            "{s:i, s:s, s:I, s:I, s:I, s:I, s:I}", "port", (int) p->port,
            "iface", p->iface ? p->iface : "",
            "rx_packets", (json_int_t) p->rx_packets,
            "tx_packets", (json_int_t) p->tx_packets,
            "rx_bytes", (json_int_t) p->rx_bytes,
            "drops", (json_int_t) p->drops,
            "rx_missed", (json_int_t) p->rx_missed));
    }
    for (size_t i = 0; i < st->n_rules; i++) {
        const Anet__Nfv__RuleStats *r = st->rules[i];
        json_array_append_new(rules, json_pack(
            "{s:s, s:I}", "name", r->name ? r->name : "",
            "packets", (json_int_t) r->packets));
    }
    for (size_t i = 0; i < st->n_malformed; i++) {
        json_object_set_new(mal, st->malformed[i]->reason
                                 ? st->malformed[i]->reason : "?",
                            json_integer((json_int_t) st->malformed[i]->count));
    }
    for (size_t i = 0; i < st->n_backends; i++) {
        const Anet__Nfv__BackendHealth *b = st->backends[i];
        json_array_append_new(backends, json_pack(
            "{s:s, s:s, s:i, s:b, s:I}", "service", b->service ? b->service
                                                               : "",
            "ip", b->ip ? b->ip : "", "port", (int) b->port,
            "healthy", b->healthy, "connections", (json_int_t) b->conns));
    }
    json_int_t total = 0, full = 0, limited = 0, picked = 0;
    if (st->ct) {
        total = (json_int_t) st->ct->total;
        picked = (json_int_t) st->ct->picked_up;
        full = (json_int_t) st->ct->table_full;
        limited = (json_int_t) st->ct->source_limited;
        for (size_t i = 0; i < st->ct->n_by_state; i++) {
            json_object_set_new(states, st->ct->by_state[i]->state
                                        ? st->ct->by_state[i]->state : "?",
                                json_integer((json_int_t)
                                             st->ct->by_state[i]->count));
        }
    }
    json_t *j = json_pack(
        "{s:o, s:o, s:{s:I, s:o, s:I, s:I, s:I}, s:o, s:I, s:o, s:I}",
        "ports", ports, "rules", rules,
        "connections", "total", total, "by_state", states,
        "table_full", full, "source_limited", limited, "picked_up", picked,
        "malformed", mal,
        "malformed_passed", (json_int_t) st->malformed_passed,
        "backends", backends,
        "generated", (json_int_t) st->generated);
    anet__nfv__nfv_stats__free_unpacked(st, NULL);
    return j;
}

json_t *
ctl_nfv_json(const struct controller *ctl)
{
    json_t *out = json_array();
    for (size_t h = 0; h < ctl->view->n_hosts; h++) {
        const struct compiled_host *ch = &ctl->view->hosts[h];
        const struct ctl_session *s = ctl_session_find(ctl, ch->name);
        for (size_t i = 0; i < ch->n_nfv; i++) {
            const struct compiled_nfv *x = &ch->nfv[i];
            const struct ctl_nfv_status *st = NULL;
            for (size_t k = 0; s && k < s->n_nfv; k++) {
                if (!strcmp(s->nfv[k].name, x->name)) {
                    st = &s->nfv[k];
                }
            }
            json_t *ports = json_array();
            for (size_t k = 0; k < x->n_ports; k++) {
                json_array_append_new(ports, json_pack(
                    "{s:s, s:i}", "iface", x->ports[k].iface,
                    "ofport", (int) x->ports[k].ofport));
            }
            char want[24], have[24];
            snprintf(want, sizeof want, "%#llx",
                     (unsigned long long) x->policy);
            snprintf(have, sizeof have, "%#llx",
                     (unsigned long long) (st ? st->applied : 0));
            json_array_append_new(out, json_pack(
                "{s:s, s:s, s:s, s:o, s:b, s:b, s:i, s:s, s:s, s:b, s:o}",
                "name", x->name, "host", ch->name,
                "kind", x->kind == COMPILED_NFV_VAF ? "vaf" : "vad",
                "ports", ports, "agent_connected", s != NULL,
                "running", st && st->running, "starts",
                (int) (st ? st->starts : 0), "policy", want,
                "policy_applied", have,
                "in_sync", st && st->applied == x->policy,
                "stats", st && st->stats
                         ? ctl_nfv_stats_json__(st->stats, st->stats_len)
                         : json_null()));
        }
    }
    return out;
}
