/* fuzz-ofp.c — the OpenFlow decoder on switch input: any byte stream must
 * decode or be refused, never crash; and every flow-mod or flow-desc entry
 * that decodes fully must re-encode and decode to the same flow (the
 * property the never-flush sync relies on). */
#include "tests/fuzz/fuzz.h"
#include "datapath/ofp-msgs.h"

#include <errno.h>
#include <stdlib.h>

static void
check_round_trip__(const struct flow *f)
{
    struct ofp_buf b;
    struct ofp_msg m;
    struct flow again;
    enum ofp_flow_mod_command cmd;

    for (size_t i = 0; i < f->n_actions; i++) {
        if (f->actions[i].type >= FA_N_TYPES) {
            return;           /* placeholder for an unknown action */
        }
    }
    ofp_buf_init(&b);
    if (!ofp_put_flow_mod(&b, 1, f, OFPFC_ADD)
        && !ofp_msg_parse(b.data, b.size, &m)) {
        if (!ofp_decode_flow_mod(&m, &again, &cmd) && !flow_equal(f, &again)) {
            abort();          /* decode(encode(x)) != x */
        }
        flow_destroy(&again);
    }
    ofp_buf_destroy(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ofp_msg m;

    while (size && !ofp_msg_parse(data, size, &m)) {
        struct flow f;
        enum ofp_flow_mod_command cmd;
        const uint8_t *body;
        size_t body_len, used;
        uint16_t mp_type, flags, t, c;
        uint32_t versions;

        ofp_decode_hello(&m, &versions);
        ofp_decode_error(&m, &t, &c);
        if (!ofp_decode_flow_mod(&m, &f, &cmd)) {
            check_round_trip__(&f);
        }
        flow_destroy(&f);
        if (!ofp_decode_multipart_reply(&m, &mp_type, &flags, &body,
                                        &body_len)) {
            while (body_len) {
                struct ofp_flow_counters fc;
                int error = ofp_decode_flow_desc(body, body_len, &used, &f,
                                                 &fc);
                if (!error) {
                    check_round_trip__(&f);
                }
                flow_destroy(&f);
                if (error == -EBADMSG || !used || used > body_len) {
                    break;
                }
                body += used;
                body_len -= used;
            }
        }
        data += m.length;
        size -= m.length;
    }
    return 0;
}
