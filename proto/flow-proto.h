/* flow-proto.h — typed flows <-> anet.Flow protobuf messages. */
#ifndef ANET_FLOW_PROTO_H
#define ANET_FLOW_PROTO_H

#include "datapath/flow.h"
#include "proto/anet.pb-c.h"

/* Fills 'msg' (and heap arrays it points to) from 'f'; free the arrays with
 * flow_proto_clear(). */
void flow_to_proto(const struct flow *f, Anet__Flow *msg);
void flow_proto_clear(Anet__Flow *msg);
/* Converts a received message; returns 0 or -EINVAL for unknown fields or
 * action types, too many match fields, or out-of-range values. */
int flow_from_proto(const Anet__Flow *msg, struct flow *f);

#endif
