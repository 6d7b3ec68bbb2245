/* frame.h — length-prefixed protobuf frames for the controller<->agent link.
 *
 * A frame is a 4-byte big-endian payload length followed by one packed
 * anet.Envelope.  FRAME_MAX is a hard cap: a peer announcing more is broken
 * or hostile, and the caller must close that connection (only that one).
 *
 * Thread-safety: none; functions work on caller-owned evbuffers.
 */
#ifndef ANET_FRAME_H
#define ANET_FRAME_H

#include <stdint.h>
#include "proto/anet.pb-c.h"

struct evbuffer;

#define FRAME_HDR_LEN 4
#define FRAME_MAX (64u << 20)    /* 64 MiB: ~1M flows of one host */

/* Takes one frame from 'in' if a whole one is there.
 * Returns 1 and sets '*msg' (free with anet__envelope__free_unpacked(msg,
 * NULL)), 0 if more bytes are needed, -EMSGSIZE if the announced length
 * exceeds 'max' (or is 0), -EBADMSG if the payload does not decode or holds
 * no message. */
int frame_read(struct evbuffer *in, uint32_t max, Anet__Envelope **msg);

/* Appends 'msg' as one frame to 'out'.  Returns 0 or -EMSGSIZE. */
int frame_write(struct evbuffer *out, const Anet__Envelope *msg);

/* Same, on plain memory: encodes into a malloc'd buffer. */
uint8_t *frame_encode(const Anet__Envelope *msg, size_t *len);

#endif
