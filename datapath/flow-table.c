/* flow-table.c — see flow-table.h. */
#include "datapath/flow-table.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

void
flow_table_init(struct flow_table *t)
{
    memset(t, 0, sizeof *t);
}

void
flow_table_destroy(struct flow_table *t)
{
    if (!t) {
        return;
    }
    if (t->slots) {
        for (size_t i = 0; i <= t->mask; i++) {
            if (t->slots[i].used) {
                flow_destroy(&t->slots[i].flow);
            }
        }
    }
    free(t->slots);
    memset(t, 0, sizeof *t);
}

size_t
flow_table_count(const struct flow_table *t)
{
    return t->n;
}

/* Index of the slot holding 'key', or of the empty slot where it would go. */
static size_t
flow_table_probe__(const struct flow_table *t, const struct flow *key,
                   uint32_t hash)
{
    size_t i = hash & t->mask;
    while (t->slots[i].used
           && (t->slots[i].hash != hash
               || flow_key_cmp(&t->slots[i].flow, key))) {
        i = (i + 1) & t->mask;
    }
    return i;
}

static void
flow_table_resize__(struct flow_table *t, size_t capacity)
{
    struct flow_table_slot *old = t->slots;
    size_t old_cap = t->slots ? t->mask + 1 : 0;

    t->slots = xcalloc(capacity, sizeof *t->slots);
    t->mask = capacity - 1;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].used) {
            size_t j = old[i].hash & t->mask;
            while (t->slots[j].used) {
                j = (j + 1) & t->mask;
            }
            t->slots[j] = old[i];
        }
    }
    free(old);
}

const struct flow *
flow_table_find(const struct flow_table *t, const struct flow *key)
{
    if (!t->n) {
        return NULL;
    }
    size_t i = flow_table_probe__(t, key, flow_key_hash(key));
    return t->slots[i].used ? &t->slots[i].flow : NULL;
}

void
flow_table_put(struct flow_table *t, struct flow *f)
{
    if (!t->slots || (t->n + 1) * 10 > (t->mask + 1) * 7) {
        flow_table_resize__(t, t->slots ? (t->mask + 1) * 2 : 64);
    }
    uint32_t hash = flow_key_hash(f);
    size_t i = flow_table_probe__(t, f, hash);
    struct flow_table_slot *s = &t->slots[i];
    if (s->used) {
        flow_destroy(&s->flow);
    } else {
        s->used = true;
        s->hash = hash;
        t->n++;
    }
    s->flow = *f;
    f->actions = NULL;
    f->n_actions = 0;
}

bool
flow_table_remove(struct flow_table *t, const struct flow *key)
{
    if (!t->n) {
        return false;
    }
    size_t i = flow_table_probe__(t, key, flow_key_hash(key));
    if (!t->slots[i].used) {
        return false;
    }
    flow_destroy(&t->slots[i].flow);
    t->slots[i].used = false;
    t->n--;

    /* Backward-shift: move later members of the probe chain into the hole
     * when their home slot does not lie cyclically in (hole, j]. */
    size_t hole = i;
    for (size_t j = (i + 1) & t->mask; t->slots[j].used;
         j = (j + 1) & t->mask) {
        size_t home = t->slots[j].hash & t->mask;
        bool stays = hole <= j ? (hole < home && home <= j)
                               : (hole < home || home <= j);
        if (!stays) {
            t->slots[hole] = t->slots[j];
            t->slots[j].used = false;
            hole = j;
        }
    }
    return true;
}

void
flow_table_from_set(struct flow_table *t, const struct flow_set *set)
{
    flow_table_destroy(t);
    for (size_t i = 0; i < set->n; i++) {
        struct flow copy;
        flow_clone(&copy, &set->flows[i]);
        flow_table_put(t, &copy);
    }
}

void
flow_table_to_set(const struct flow_table *t, struct flow_set *out)
{
    flow_set_destroy(out);
    flow_set_init(out);
    if (!t->slots) {
        return;
    }
    out->flows = xmalloc((t->n ? t->n : 1) * sizeof *out->flows);
    out->cap = t->n ? t->n : 1;
    for (size_t i = 0; i <= t->mask; i++) {
        if (t->slots[i].used) {
            flow_clone(&out->flows[out->n++], &t->slots[i].flow);
        }
    }
    flow_set_sort(out);
}
