/* ofp-msgs.h — the OpenFlow 1.5 codec: typed flows to and from wire bytes.
 *
 * What: encoders append complete OpenFlow 1.5 (wire version 0x06) messages
 * to a growable byte buffer; decoders read messages that a switch sent.  The
 * vocabulary is exactly what anet needs to program Open vSwitch: HELLO with a
 * version bitmap, ECHO, BARRIER, ERROR, FLOW_MOD, the FLOW_DESC multipart
 * dump, and BUNDLE_CONTROL / BUNDLE_ADD_MESSAGE.
 *
 * Design: a flow (datapath/flow.h) is encoded as an OXM match built from the
 * field table's class/field/width, and one APPLY_ACTIONS instruction (none
 * for a drop flow).  Decoding is canonical: whatever spelling Open vSwitch
 * chooses when it dumps a flow, the decoded struct flow compares equal
 * (flow_equal()) to the one that was installed.  Known normalisations:
 *   - OF1.5 dumps match registers as 64-bit OXM_OF_PKT_REG "xregs" (class
 *     0x8001); they are split back into their 32-bit NXM registers.
 *   - NXAST_REG_MOVE comes back as OFPAT_COPY_FIELD (both decode to FA_MOVE;
 *     FA_MOVE is encoded as COPY_FIELD).
 *   - the controller action is always sent as NXAST_CONTROLLER2 with a
 *     two-byte userdata property so OVS never turns it into output:CONTROLLER
 *     and the round trip stays exact; max_len 0xffff is implied, as in OVS.
 *   - resubmit may come back as NXAST_RESUBMIT (table 255 = current table).
 *   - an FA_NAT is nested in the preceding FA_CT's NXAST_CT as an NXAST_NAT
 *     (ct(...,nat(...))); such a ct decodes back to FA_CT then FA_NAT.  A
 *     nat without a ct before it cannot be encoded (-EINVAL), and a ct
 *     nesting anything else (ct_mark, a nat range anet does not produce)
 *     decodes as the placeholder below.
 * An action the codec cannot represent makes the whole decoded action list a
 * single placeholder action of type FA_N_TYPES; a match field it cannot
 * represent makes ofp_decode_match() return -EOPNOTSUPP after filling in the
 * fields it knows.
 *
 * All wire structs live in ofp-msgs.c, packed, with static_assert on their
 * sizes and explicit big-endian conversion.  Decoders never read past the
 * buffer they are given and return -EBADMSG for malformed input.
 *
 * Thread-safety: none needed; pure functions over caller-owned buffers.
 */
#ifndef ANET_OFP_MSGS_H
#define ANET_OFP_MSGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "datapath/flow.h"

#define OFP15_VERSION 0x06

enum ofp_type {
    OFPT_HELLO = 0,
    OFPT_ERROR = 1,
    OFPT_ECHO_REQUEST = 2,
    OFPT_ECHO_REPLY = 3,
    OFPT_EXPERIMENTER = 4,
    OFPT_FEATURES_REQUEST = 5,
    OFPT_FEATURES_REPLY = 6,
    OFPT_PACKET_IN = 10,
    OFPT_FLOW_REMOVED = 11,
    OFPT_PORT_STATUS = 12,
    OFPT_FLOW_MOD = 14,
    OFPT_MULTIPART_REQUEST = 18,
    OFPT_MULTIPART_REPLY = 19,
    OFPT_BARRIER_REQUEST = 20,
    OFPT_BARRIER_REPLY = 21,
    OFPT_BUNDLE_CONTROL = 33,
    OFPT_BUNDLE_ADD_MESSAGE = 34,
};

enum ofp_flow_mod_command {
    OFPFC_ADD = 0,
    OFPFC_MODIFY = 1,
    OFPFC_MODIFY_STRICT = 2,
    OFPFC_DELETE = 3,
    OFPFC_DELETE_STRICT = 4,
};

#define OFPMP_FLOW_DESC 1
#define OFPMPF_REPLY_MORE 1

enum ofp_bundle_ctrl_type {
    OFPBCT_OPEN_REQUEST = 0,
    OFPBCT_OPEN_REPLY = 1,
    OFPBCT_CLOSE_REQUEST = 2,
    OFPBCT_CLOSE_REPLY = 3,
    OFPBCT_COMMIT_REQUEST = 4,
    OFPBCT_COMMIT_REPLY = 5,
    OFPBCT_DISCARD_REQUEST = 6,
    OFPBCT_DISCARD_REPLY = 7,
};
#define OFPBF_ATOMIC 1
#define OFPBF_ORDERED 2

/* Largest OpenFlow message. */
#define OFP_MAX_MSG_LEN 65535

/* A growable byte buffer that encoders append to. */
struct ofp_buf {
    uint8_t *data;
    size_t size;
    size_t allocated;
};
void ofp_buf_init(struct ofp_buf *);
void ofp_buf_destroy(struct ofp_buf *);       /* NULL-safe */
void ofp_buf_clear(struct ofp_buf *);
/* Appends 'n' zero bytes and returns a pointer to them (valid until the next
 * append). */
void *ofp_buf_put_zeros(struct ofp_buf *, size_t n);

/* One received message, pointing into the caller's bytes. */
struct ofp_msg {
    uint8_t version;
    uint8_t type;
    uint16_t length;          /* of the whole message, header included */
    uint32_t xid;
    const uint8_t *data;      /* the whole message */
};

/* Looks at the bytes at 'data'.  Returns 0 and fills 'msg' when a complete
 * message is there, -EAGAIN when more bytes are needed, -EBADMSG when the
 * header's length is smaller than a header. */
int ofp_msg_parse(const void *data, size_t size, struct ofp_msg *msg);

/* Simple messages. */
void ofp_put_hello(struct ofp_buf *, uint32_t xid);
/* Stores in '*versions' the bitmap of versions the peer supports (bit N =
 * wire version N), from its version bitmap element or, without one, every
 * version up to the header's. */
int ofp_decode_hello(const struct ofp_msg *, uint32_t *versions);
/* An empty message of 'type' (echo request, barrier request, ...). */
void ofp_put_empty(struct ofp_buf *, uint8_t type, uint32_t xid);
void ofp_put_echo_reply(struct ofp_buf *, const struct ofp_msg *request);
int ofp_decode_error(const struct ofp_msg *, uint16_t *type, uint16_t *code);

/* Flow-mods.  ofp_put_flow_mod() returns 0, -EINVAL for an unknown field or
 * action, -E2BIG when the message would exceed 64 kB.  The buffer is left
 * unchanged on error.  ofp_decode_flow_mod() initialises 'out' (the caller
 * destroys it) and returns 0, -EBADMSG or -EOPNOTSUPP (see above). */
int ofp_put_flow_mod(struct ofp_buf *, uint32_t xid, const struct flow *,
                     enum ofp_flow_mod_command);
int ofp_decode_flow_mod(const struct ofp_msg *, struct flow *out,
                        enum ofp_flow_mod_command *command);

/* Matches and action lists on their own (used by the above and by tests).
 * ofp_put_match() appends a padded struct ofp_match.  ofp_decode_match()
 * reads one from 'p' (at most 'size' bytes) and stores its padded length in
 * '*consumed'.  ofp_put_actions() appends the action list of 'f';
 * ofp_decode_actions() appends decoded actions to 'f'. */
int ofp_put_match(struct ofp_buf *, const struct flow_match *);
int ofp_decode_match(const void *p, size_t size, size_t *consumed,
                     struct flow_match *);
int ofp_put_actions(struct ofp_buf *, const struct flow *f);
int ofp_decode_actions(const void *p, size_t size, struct flow *f);

/* The flow dump: a FLOW_DESC multipart request for every table, and its
 * replies.  ofp_decode_multipart_reply() checks the reply header and points
 * '*body' at its body.  ofp_decode_flow_desc() decodes the first entry of
 * 'body' into 'out' (initialised here; destroy it even on error) and stores
 * the entry's length in '*consumed'.  It returns 0, -EBADMSG, or -EOPNOTSUPP
 * when the match was not fully representable. */
struct ofp_flow_counters {
    uint64_t packets;
    uint64_t bytes;
    uint32_t duration_sec;
};
void ofp_put_flow_desc_request(struct ofp_buf *, uint32_t xid);
int ofp_decode_multipart_reply(const struct ofp_msg *, uint16_t *mp_type,
                               uint16_t *flags, const uint8_t **body,
                               size_t *body_len);
int ofp_decode_flow_desc(const uint8_t *body, size_t size, size_t *consumed,
                         struct flow *out, struct ofp_flow_counters *);

/* Bundles.  ofp_put_bundle_flow_mod() wraps a flow-mod in a
 * BUNDLE_ADD_MESSAGE; the inner message carries the same xid, as OVS
 * requires.  Same errors as ofp_put_flow_mod(). */
void ofp_put_bundle_ctrl(struct ofp_buf *, uint32_t xid, uint32_t bundle_id,
                         enum ofp_bundle_ctrl_type, uint16_t flags);
int ofp_decode_bundle_ctrl(const struct ofp_msg *, uint32_t *bundle_id,
                           uint16_t *type, uint16_t *flags);
int ofp_put_bundle_flow_mod(struct ofp_buf *, uint32_t xid,
                            uint32_t bundle_id, uint16_t flags,
                            const struct flow *, enum ofp_flow_mod_command);

/* Flows whose match the codec cannot represent are deleted by their raw
 * match: ofp_flow_desc_raw_match() points at the padded struct ofp_match of
 * a FLOW_DESC entry, and ofp_put_bundle_delete_raw() wraps a DELETE_STRICT
 * carrying it in a BUNDLE_ADD_MESSAGE. */
int ofp_flow_desc_raw_match(const uint8_t *entry, size_t size,
                            const uint8_t **match, size_t *match_len);
int ofp_put_bundle_delete_raw(struct ofp_buf *, uint32_t xid,
                              uint32_t bundle_id, uint16_t flags,
                              uint8_t table, uint16_t priority,
                              const uint8_t *match, size_t match_len);

/* A name for an OpenFlow error type, for logs ("BAD_MATCH"). */
const char *ofp_error_type_name(uint16_t type);

#endif
