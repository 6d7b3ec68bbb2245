/* ofp-packet.h — the OpenFlow codec for packets: packet-ins from the switch,
 * packet-outs to it, and the messages that make a connection receive
 * packet-ins.
 *
 * What: ofp_decode_packet_in() reads both spellings Open vSwitch may use for
 * a packet sent to the controller: the standard OF1.5 OFPT_PACKET_IN, and
 * the Nicira NXT_PACKET_IN2 (an experimenter message made of properties),
 * which is the only one that carries the controller action's userdata.  The
 * result points into the caller's message: the packet bytes, the in_port
 * taken from the pipeline metadata match, table, cookie, reason and the
 * userdata bytes, and the registers OVS reports (those not zero).
 * ofp_put_packet_out() encodes an OF1.5 OFPT_PACKET_OUT
 * with no buffer, a match holding the in_port, a list of typed actions
 * (datapath/flow.h) and the packet.
 *
 * Design: a management-socket connection to ovs-vswitchd (a "service"
 * connection) gets no asynchronous messages until it sets a nonzero
 * miss_send_len (OFPT_SET_CONFIG); its role is "equal" and the default
 * OF1.5 asynchronous configuration already enables packet-ins for
 * controller actions.  ofp_put_packet_in_setup() appends the two messages a
 * packet connection sends after HELLO: NXT_SET_PACKET_IN_FORMAT (format
 * NXPIF_NXT_PACKET_IN2, so userdata arrives) and OFPT_SET_CONFIG
 * (miss_send_len = 0xffff, whole packets).
 *
 * Errors: decoders return 0, -ENOMSG when the message is not a packet-in
 * at all, or -EBADMSG when it is malformed; they never read past
 * msg->length.  Encoders return 0 or -EINVAL / -E2BIG and leave the buffer
 * unchanged on error.
 *
 * Thread-safety: none needed; pure functions over caller-owned buffers.
 */
#ifndef ANET_OFP_PACKET_H
#define ANET_OFP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "datapath/flow.h"
#include "datapath/ofp-msgs.h"

#define OFPT_SET_CONFIG 9
#define OFPT_PACKET_OUT 13

#define NX_EXPERIMENTER_ID 0x00002320u
#define NXT_SET_PACKET_IN_FORMAT 16
#define NXT_PACKET_IN2 30
#define NXPIF_STANDARD 0
#define NXPIF_NXT_PACKET_IN2 2

/* A decoded packet-in.  Pointers refer to the message's bytes. */
struct ofp_packet_in {
    const uint8_t *packet;
    size_t packet_len;
    uint32_t full_len;        /* length before truncation (= packet_len) */
    uint32_t buffer_id;       /* 0xffffffff when not buffered */
    uint8_t table_id;
    uint8_t reason;
    uint64_t cookie;
    uint32_t in_port;         /* from the metadata match; 0 if absent */
    bool has_in_port;
    uint32_t regs[16];        /* reg0..reg15 from the metadata match, */
    uint16_t regs_present;    /* bit N set when regN was there (nonzero) */
    const uint8_t *userdata;  /* NULL when the message had none */
    size_t userdata_len;
    bool is_packet_in2;       /* NXT_PACKET_IN2 (else OFPT_PACKET_IN) */
};

/* True if 'msg' is an OFPT_PACKET_IN or an NXT_PACKET_IN2. */
bool ofp_is_packet_in(const struct ofp_msg *msg);
int ofp_decode_packet_in(const struct ofp_msg *msg, struct ofp_packet_in *out);

/* The 16-bit userdata anet's controller actions carry (flow.h FA_CONTROLLER
 * 'value', two bytes big-endian).  Returns false when the packet-in has no
 * userdata of exactly two bytes. */
bool ofp_packet_in_userdata16(const struct ofp_packet_in *, uint16_t *id);

/* Appends an OFPT_PACKET_OUT: no buffer, match in_port = 'in_port', the
 * actions (FA_OUTPUT, FA_SET_FIELD, ...; OFPP_IN_PORT sends the packet back
 * where it came from) and the packet. */
int ofp_put_packet_out(struct ofp_buf *, uint32_t xid, uint32_t in_port,
                       const struct flow_action *actions, size_t n_actions,
                       const void *packet, size_t packet_len);

/* Decodes a packet-out (tests): in_port, the action bytes and the packet. */
int ofp_decode_packet_out(const struct ofp_msg *, uint32_t *in_port,
                          struct flow *actions, const uint8_t **packet,
                          size_t *packet_len);

/* Messages that make a connection receive packet-ins. */
void ofp_put_set_packet_in_format(struct ofp_buf *, uint32_t xid,
                                  uint32_t format);
void ofp_put_set_config(struct ofp_buf *, uint32_t xid, uint16_t flags,
                        uint16_t miss_send_len);
void ofp_put_packet_in_setup(struct ofp_buf *, uint32_t xid);

#endif
