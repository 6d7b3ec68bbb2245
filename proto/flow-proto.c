/* flow-proto.c — see flow-proto.h. */
#include "proto/flow-proto.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>

void
flow_to_proto(const struct flow *f, Anet__Flow *msg)
{
    anet__flow__init(msg);
    msg->table = f->table;
    msg->priority = f->priority;
    msg->cookie = f->cookie;
    msg->n_match = f->match.n;
    msg->match = xcalloc(f->match.n, sizeof *msg->match);
    for (size_t i = 0; i < f->match.n; i++) {
        Anet__MatchField *mf = xmalloc(sizeof *mf);
        anet__match_field__init(mf);
        mf->field = f->match.f[i].id;
        mf->value = f->match.f[i].value;
        mf->mask = f->match.f[i].mask;
        msg->match[i] = mf;
    }
    msg->n_actions = f->n_actions;
    msg->actions = xcalloc(f->n_actions, sizeof *msg->actions);
    for (size_t i = 0; i < f->n_actions; i++) {
        Anet__Action *a = xmalloc(sizeof *a);
        anet__action__init(a);
        a->type = f->actions[i].type;
        a->field = f->actions[i].field;
        a->arg = f->actions[i].arg;
        a->value = f->actions[i].value;
        msg->actions[i] = a;
    }
}

void
flow_proto_clear(Anet__Flow *msg)
{
    for (size_t i = 0; i < msg->n_match; i++) {
        free(msg->match[i]);
    }
    for (size_t i = 0; i < msg->n_actions; i++) {
        free(msg->actions[i]);
    }
    free(msg->match);
    free(msg->actions);
    msg->match = NULL;
    msg->actions = NULL;
    msg->n_match = msg->n_actions = 0;
}

int
flow_from_proto(const Anet__Flow *msg, struct flow *f)
{
    if (msg->table > 254 || msg->priority > 65535
        || msg->n_match > FLOW_MAX_FIELDS || msg->n_actions > 4096) {
        return -EINVAL;
    }
    flow_init(f, msg->table, msg->priority, msg->cookie);
    for (size_t i = 0; i < msg->n_match; i++) {
        const Anet__MatchField *mf = msg->match[i];
        if (!flow_field_info(mf->field)
            || flow_match_set(&f->match, mf->field, mf->value, mf->mask)) {
            flow_destroy(f);
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < msg->n_actions; i++) {
        const Anet__Action *a = msg->actions[i];
        if (a->type >= FA_N_TYPES || a->field > 255) {
            flow_destroy(f);
            return -EINVAL;
        }
        flow_add_action(f, a->type, a->field, a->arg, a->value);
    }
    return 0;
}
