/* flow-table.h — a set of flows indexed by key (table, priority, match), for
 * O(1) lookup, insert and removal.
 *
 * What: the agent keeps the flows it has made real in a flow_table so that a
 * delta from the controller (generation N-1 -> N) is applied in time
 * proportional to the change, not to the table.  flow_table_to_set()
 * materialises the sorted flow_set that a full sync (dump + diff) needs.
 *
 * Design: open addressing with linear probing on flow_key_hash(); entries
 * own their flows (actions on the heap).  Removal uses backward-shift
 * deletion, so there are no tombstones and probe chains stay short.
 * The table grows at 70% load.
 *
 * Thread-safety: none.
 */
#ifndef ANET_FLOW_TABLE_H
#define ANET_FLOW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include "datapath/flow.h"

struct flow_table_slot {
    uint32_t hash;
    bool used;
    struct flow flow;
};

struct flow_table {
    struct flow_table_slot *slots;
    size_t n;          /* flows held */
    size_t mask;       /* capacity - 1 (capacity is a power of two), or 0 */
};

void flow_table_init(struct flow_table *);
void flow_table_destroy(struct flow_table *);          /* NULL-safe */
size_t flow_table_count(const struct flow_table *);

/* Returns the flow with the same key as 'key', or NULL. */
const struct flow *flow_table_find(const struct flow_table *,
                                   const struct flow *key);
/* Inserts 'f', taking ownership of its actions ('f' is left empty).  A flow
 * with the same key is replaced (and destroyed). */
void flow_table_put(struct flow_table *, struct flow *f);
/* Removes the flow with the key of 'key'; returns false if there was none. */
bool flow_table_remove(struct flow_table *, const struct flow *key);

/* Replaces the table's contents by copies of the flows of 'set'. */
void flow_table_from_set(struct flow_table *, const struct flow_set *set);
/* Fills 'out' (initialised, emptied first) with copies of all flows, sorted
 * (flow_set_sort order). */
void flow_table_to_set(const struct flow_table *, struct flow_set *out);

#endif
