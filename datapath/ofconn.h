/* ofconn.h — an OpenFlow 1.5 connection to one OVS bridge, and flow-table
 * synchronisation through bundles.
 *
 * What: the agent's only way to program a bridge.  ofconn_open() connects to
 * the bridge's management socket ("unix:$OVS_RUNDIR/br-int.mgmt"),
 * negotiates OpenFlow 1.5 and checks the connection with a barrier.
 * ofconn_sync() makes the bridge's table equal to a desired flow set: it
 * dumps what the switch holds, computes the difference, and applies the adds,
 * modifies and deletes in one OF1.5 bundle (OFPBF_ATOMIC | OFPBF_ORDERED) so
 * a generation is installed all-or-nothing.  The table is never flushed.
 *
 * Design: blocking I/O with a timeout on a non-blocking socket; an agent
 * applies one generation at a time and a bundle of 100k flow-mods takes well
 * under a second, so a blocking call inside the event loop is the simpler and
 * honest choice.  Messages are built with the codec in ofp-msgs.h.
 *
 * Errors: functions return 0 or a negative errno; -EPROTO when the switch
 * answered with an OpenFlow error (logged, rate-limited, with its type and
 * code), -ETIMEDOUT when it did not answer in time.  On any error other than
 * -EPROTO the connection is unusable and must be closed and reopened.
 *
 * Thread-safety: none; one thread per connection.
 */
#ifndef ANET_OFCONN_H
#define ANET_OFCONN_H

#include <stdint.h>
#include "datapath/flow.h"

struct ofconn;

/* 'target' is "unix:PATH".  Returns NULL and sets errno on failure. */
struct ofconn *ofconn_open(const char *target, int timeout_ms);
void ofconn_close(struct ofconn *);          /* NULL-safe */

/* Sends an echo request and waits for the reply. */
int ofconn_echo(struct ofconn *);

/* Per-flow counters, parallel to a dumped flow set. */
struct ofconn_flow_stats {
    uint64_t packets;
    uint64_t bytes;
    uint32_t duration_sec;
};

/* Dumps every flow of every table into 'out' (initialised by the caller,
 * returned sorted).  If 'stats' is nonnull, '*stats' receives a malloc'd
 * array parallel to out->flows.  Flows whose match or actions the codec
 * cannot represent are still returned, with their match (if decodable) and
 * an action list holding one FA_N_TYPES placeholder, so that a sync treats
 * them as different and replaces or removes them. */
int ofconn_dump_flows(struct ofconn *, struct flow_set *out,
                      struct ofconn_flow_stats **stats);

struct ofconn_sync_stats {
    unsigned int added;
    unsigned int modified;
    unsigned int removed;
};

/* Makes the switch's flows equal to 'desired' (must be sorted, see
 * flow_set_sort()).  Only the difference is sent, in one atomic bundle;
 * when there is no difference nothing is sent.  'stats' may be NULL. */
int ofconn_sync(struct ofconn *, const struct flow_set *desired,
                struct ofconn_sync_stats *stats);

/* Applies an explicit list of changes in one atomic bundle without dumping
 * first (the caller knows the switch's contents, e.g. from the previous
 * generation).  Arrays may be NULL when their count is 0. */
int ofconn_apply_delta(struct ofconn *,
                       const struct flow *const *add, size_t n_add,
                       const struct flow *const *modify, size_t n_modify,
                       const struct flow *const *remove, size_t n_remove);

#endif
