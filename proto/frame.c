/* frame.c — see frame.h. */
#include "proto/frame.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

int
frame_read(struct evbuffer *in, uint32_t max, Anet__Envelope **msg)
{
    uint8_t hdr[FRAME_HDR_LEN];
    uint32_t len;

    *msg = NULL;
    if (evbuffer_get_length(in) < FRAME_HDR_LEN) {
        return 0;
    }
    evbuffer_copyout(in, hdr, sizeof hdr);
    len = (uint32_t) hdr[0] << 24 | (uint32_t) hdr[1] << 16
          | (uint32_t) hdr[2] << 8 | hdr[3];
    if (len == 0 || len > max) {
        return -EMSGSIZE;
    }
    if (evbuffer_get_length(in) < FRAME_HDR_LEN + (size_t) len) {
        return 0;
    }
    evbuffer_drain(in, FRAME_HDR_LEN);
    uint8_t *payload = evbuffer_pullup(in, len);
    Anet__Envelope *env = anet__envelope__unpack(NULL, len, payload);
    evbuffer_drain(in, len);
    if (!env) {
        return -EBADMSG;
    }
    if (env->msg_case == ANET__ENVELOPE__MSG__NOT_SET) {
        anet__envelope__free_unpacked(env, NULL);
        return -EBADMSG;
    }
    *msg = env;
    return 1;
}

uint8_t *
frame_encode(const Anet__Envelope *msg, size_t *lenp)
{
    size_t len = anet__envelope__get_packed_size(msg);
    uint8_t *buf = xmalloc(FRAME_HDR_LEN + len);
    buf[0] = len >> 24;
    buf[1] = len >> 16;
    buf[2] = len >> 8;
    buf[3] = len;
    anet__envelope__pack(msg, buf + FRAME_HDR_LEN);
    *lenp = FRAME_HDR_LEN + len;
    return buf;
}

int
frame_write(struct evbuffer *out, const Anet__Envelope *msg)
{
    size_t len;

    if (anet__envelope__get_packed_size(msg) > FRAME_MAX) {
        return -EMSGSIZE;
    }
    uint8_t *buf = frame_encode(msg, &len);
    int error = evbuffer_add(out, buf, len) ? -ENOMEM : 0;
    free(buf);
    return error;
}
