/* fuzz-frame.c — controller<->agent framing: any byte stream must yield
 * whole messages, "need more", or an error that closes the connection. */
#include "tests/fuzz/fuzz.h"
#include "proto/frame.h"

#include <event2/buffer.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct evbuffer *in = evbuffer_new();
    Anet__Envelope *msg;
    int r;

    evbuffer_add(in, data, size);
    while ((r = frame_read(in, 1u << 20, &msg)) == 1) {
        /* Re-encode what was accepted: it must be a valid message. */
        struct evbuffer *out = evbuffer_new();
        frame_write(out, msg);
        evbuffer_free(out);
        anet__envelope__free_unpacked(msg, NULL);
    }
    evbuffer_free(in);
    return 0;
}
