/* dp-null.c — the null datapath back-end: records the desired state it is
 * asked to apply and reports success.  It touches no OVS and no netlink, so
 * one process can run hundreds of agents (scale simulation) and the agent
 * core's tests run anywhere.  Flow counters are real: they come from a diff
 * against the previously recorded state, as ofconn_sync() would report. */
#include "agent/agent-dp.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>

struct dp_null {
    struct agent_dp up;
    struct agent_desired *state;     /* deep copy of the last apply */
    unsigned int n_applies;
    struct pkt_path *pkt;            /* no connection; fed by tests */
};

static struct dp_null *
dp_null_cast__(const struct agent_dp *dp)
{
    return CONTAINER_OF(dp, struct dp_null, up);
}

static int
dp_null_create(struct event_base *base, const struct agent_dp_config *cfg,
               agent_dp_ports_changed_cb *cb, void *aux, struct agent_dp **dpp)
{
    struct dp_null *n = xzalloc(sizeof *n);
    n->up.class = &agent_dp_null_class;
    n->pkt = pkt_path_create(base, NULL);
    pkt_path_set_neighbor_cb(n->pkt, cb, aux);
    *dpp = &n->up;
    return 0;
}

static void
dp_null_destroy(struct agent_dp *dp)
{
    if (dp) {
        struct dp_null *n = dp_null_cast__(dp);
        pkt_path_destroy(n->pkt);
        agent_desired_destroy(n->state);
        free(n);
    }
}

static int
dp_null_read_generation(struct agent_dp *dp, uint64_t *gen)
{
    *gen = 0;
    return 0;
}

static void
dp_null_count__(void *aux, const struct flow *old_flow,
                const struct flow *new_flow)
{
    struct agent_apply_stats *st = aux;
    if (!old_flow) {
        st->added++;
    } else if (!new_flow) {
        st->removed++;
    } else {
        st->modified++;
    }
}

/* Applies 'delta' to the recorded state in O(change), as a real datapath
 * would, so that simulations of many agents measure the protocol, not the
 * bookkeeping. */
static void
dp_null_apply_delta__(struct agent_desired *state,
                      const struct agent_desired *d,
                      const struct agent_delta *delta)
{
    for (size_t i = 0; i < delta->n_remove; i++) {
        flow_table_remove(&state->table, delta->remove[i]);
    }
    for (size_t i = 0; i < delta->n_add + delta->n_modify; i++) {
        const struct flow *f = i < delta->n_add
                               ? delta->add[i]
                               : delta->modify[i - delta->n_add];
        struct flow copy;
        flow_clone(&copy, f);
        flow_table_put(&state->table, &copy);
    }
    state->flows_stale = true;
    state->generation = d->generation;
    agent_desired_copy_header(state, d);
}

static int
dp_null_apply(struct agent_dp *dp, const struct agent_desired *d,
              const struct agent_delta *delta,
              struct agent_apply_stats *st, char **error)
{
    struct dp_null *n = dp_null_cast__(dp);
    struct flow_set empty;

    *st = (struct agent_apply_stats) { 0, 0, 0 };
    if (delta && n->state) {
        st->added = delta->n_add;
        st->modified = delta->n_modify;
        st->removed = delta->n_remove;
        dp_null_apply_delta__(n->state, d, delta);
    } else {
        flow_set_init(&empty);
        flow_set_diff(n->state ? agent_desired_flows(n->state) : &empty,
                      agent_desired_flows(d), dp_null_count__, st);
        agent_desired_destroy(n->state);
        n->state = agent_desired_clone(d);
    }
    pkt_path_set_actions(n->pkt, n->state->packet_actions,
                         n->state->n_packet_actions);
    n->n_applies++;
    return 0;
}

static void
dp_null_reconcile(struct agent_dp *dp, const struct agent_desired *d)
{
    /* Nothing can drift in a datapath that only exists in memory. */
}

static void
dp_null_port_status(struct agent_dp *dp, const struct agent_desired *d,
                    struct agent_port_status *out)
{
    for (size_t i = 0; i < d->n_ports; i++) {
        out[i] = (struct agent_port_status) {
            .iface = d->ports[i].iface, .up = true,
            .ofport = d->ports[i].ofport,
        };
    }
}

static const struct pkt_neighbor *
dp_null_neighbors(struct agent_dp *dp, size_t *n)
{
    return pkt_path_neighbors(dp_null_cast__(dp)->pkt, n);
}

static const struct agent_flow_stats *
dp_null_flow_stats(struct agent_dp *dp, size_t *n)
{
    /* No switch, so no counters. */
    *n = 0;
    return NULL;
}

const struct agent_dp_class agent_dp_null_class = {
    .name = "null",
    .create = dp_null_create,
    .destroy = dp_null_destroy,
    .read_generation = dp_null_read_generation,
    .apply = dp_null_apply,
    .reconcile = dp_null_reconcile,
    .port_status = dp_null_port_status,
    .neighbors = dp_null_neighbors,
    .flow_stats = dp_null_flow_stats,
};

const struct agent_desired *
agent_dp_null_state(const struct agent_dp *dp)
{
    return dp && dp->class == &agent_dp_null_class
           ? dp_null_cast__(dp)->state : NULL;
}

unsigned int
agent_dp_null_n_applies(const struct agent_dp *dp)
{
    return dp && dp->class == &agent_dp_null_class
           ? dp_null_cast__(dp)->n_applies : 0;
}

struct pkt_path *
agent_dp_null_pkt_path(struct agent_dp *dp)
{
    return dp && dp->class == &agent_dp_null_class
           ? dp_null_cast__(dp)->pkt : NULL;
}
