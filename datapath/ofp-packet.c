/* ofp-packet.c — see ofp-packet.h.  Layouts follow OpenFlow 1.5.1 and the
 * Nicira extensions as Open vSwitch (lib/ofp-packet.c) implements them. */
#include "datapath/ofp-packet.h"
#include "lib/packet.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <string.h>

#define OFP_PACKED __attribute__((packed))

struct ofpp_header {
    uint8_t version;
    uint8_t type;
    uint16_t length;
    uint32_t xid;
} OFP_PACKED;
static_assert(sizeof(struct ofpp_header) == 8, "ofp_header");

/* Nicira experimenter message header (OF1.1+ spelling). */
struct nx_msg_header {
    struct ofpp_header header;
    uint32_t vendor;          /* NX_EXPERIMENTER_ID */
    uint32_t subtype;
} OFP_PACKED;
static_assert(sizeof(struct nx_msg_header) == 16, "nx_msg_header");

struct nx_set_packet_in_format {
    struct nx_msg_header nxh;
    uint32_t format;
} OFP_PACKED;
static_assert(sizeof(struct nx_set_packet_in_format) == 20, "set_pif");

struct ofp_switch_config {
    struct ofpp_header header;
    uint16_t flags;
    uint16_t miss_send_len;
} OFP_PACKED;
static_assert(sizeof(struct ofp_switch_config) == 12, "switch_config");

/* OF1.3+ packet-in: then a padded struct ofp_match, 2 bytes of padding and
 * the packet. */
struct ofp13_packet_in {
    struct ofpp_header header;
    uint32_t buffer_id;
    uint16_t total_len;
    uint8_t reason;
    uint8_t table_id;
    uint64_t cookie;
} OFP_PACKED;
static_assert(sizeof(struct ofp13_packet_in) == 24, "packet_in");

/* OF1.5 packet-out: then a padded struct ofp_match, the actions, the
 * packet. */
struct ofp15_packet_out {
    struct ofpp_header header;
    uint32_t buffer_id;
    uint16_t actions_len;
    uint8_t pad[2];
} OFP_PACKED;
static_assert(sizeof(struct ofp15_packet_out) == 16, "packet_out");

/* NXT_PACKET_IN2 property types. */
enum nx_packet_in2_prop {
    NXPINT_PACKET = 0,
    NXPINT_FULL_LEN = 1,
    NXPINT_BUFFER_ID = 2,
    NXPINT_TABLE_ID = 3,
    NXPINT_COOKIE = 4,
    NXPINT_REASON = 5,
    NXPINT_METADATA = 6,
    NXPINT_USERDATA = 7,
    NXPINT_CONTINUATION = 8,
};

#define OXM_CLASS_NXM0 0x0000
#define OXM_CLASS_BASIC 0x8000
#define OXM_CLASS_NXM1 0x0001
#define OXM_CLASS_PACKET_REGS 0x8001
#define OFP_NO_BUFFER 0xffffffffu

static size_t
round_up8__(size_t n)
{
    return (n + 7) & ~(size_t) 7;
}

/* --- packet-in ---------------------------------------------------------- */

static bool
is_nx_msg__(const struct ofp_msg *msg, uint32_t subtype)
{
    return msg->type == OFPT_EXPERIMENTER
           && msg->length >= sizeof(struct nx_msg_header)
           && packet_get_be32(msg->data + 8) == NX_EXPERIMENTER_ID
           && packet_get_be32(msg->data + 12) == subtype;
}

bool
ofp_is_packet_in(const struct ofp_msg *msg)
{
    return msg->type == OFPT_PACKET_IN || is_nx_msg__(msg, NXT_PACKET_IN2);
}

/* Reads the raw OXM TLVs at 'p' (no struct ofp_match header) and stores the
 * in_port and the registers reg0..reg15 that are there, as NXM_NX_REGn or
 * (OpenFlow 1.5) OXM_OF_PKT_REGn.  Other fields are skipped. */
static int
decode_metadata__(const uint8_t *p, size_t len, struct ofp_packet_in *pin)
{
    while (len) {
        if (len < 4) {
            return -EBADMSG;
        }
        uint32_t h = packet_get_be32(p);
        size_t tlv_len = h & 0xff;
        if (len - 4 < tlv_len) {
            return -EBADMSG;
        }
        uint16_t cls = h >> 16;
        uint8_t field = (h >> 9) & 0x7f;
        bool hasmask = (h >> 8) & 1;
        if (!hasmask && field == 0
            && (cls == OXM_CLASS_BASIC || cls == OXM_CLASS_NXM0)) {
            if (cls == OXM_CLASS_BASIC && tlv_len == 4) {
                pin->in_port = packet_get_be32(p + 4);
                pin->has_in_port = true;
            } else if (cls == OXM_CLASS_NXM0 && tlv_len == 2) {
                /* OpenFlow 1.0 port numbers: the reserved ones move up. */
                uint16_t port = packet_get_be16(p + 4);
                pin->in_port = port >= 0xff00 ? 0xffff0000u | port : port;
                pin->has_in_port = true;
            }
        } else if (cls == OXM_CLASS_NXM1 && field < 16
                   && tlv_len == (hasmask ? 8u : 4u)) {
            uint32_t mask = hasmask ? packet_get_be32(p + 8) : UINT32_MAX;
            pin->regs[field] = packet_get_be32(p + 4) & mask;
            pin->regs_present |= (uint16_t) ((mask != 0) << field);
        } else if (cls == OXM_CLASS_PACKET_REGS && field < 8
                   && tlv_len == (hasmask ? 16u : 8u)) {
            /* OpenFlow 1.5 spells the registers as 64-bit packet
             * registers, xregN = reg(2N) (high half) . reg(2N+1), masked
             * when only one half is set. */
            for (int k = 0; k < 2; k++) {
                uint32_t mask = hasmask ? packet_get_be32(p + 12 + 4 * k)
                                        : UINT32_MAX;
                pin->regs[2 * field + k] = packet_get_be32(p + 4 + 4 * k)
                                           & mask;
                pin->regs_present |= (uint16_t) ((mask != 0)
                                                 << (2 * field + k));
            }
        }
        p += 4 + tlv_len;
        len -= 4 + tlv_len;
    }
    return 0;
}

static int
decode_packet_in2__(const struct ofp_msg *msg, struct ofp_packet_in *pin)
{
    const uint8_t *p = msg->data + sizeof(struct nx_msg_header);
    size_t len = msg->length - sizeof(struct nx_msg_header);
    bool have_packet = false;

    pin->is_packet_in2 = true;
    while (len) {
        if (len < 4) {
            return -EBADMSG;
        }
        uint16_t type = packet_get_be16(p), plen = packet_get_be16(p + 2);
        if (plen < 4 || plen > len) {
            return -EBADMSG;
        }
        const uint8_t *v = p + 4;
        size_t vlen = plen - 4;
        switch (type) {
        case NXPINT_PACKET:
            pin->packet = v;
            pin->packet_len = vlen;
            have_packet = true;
            break;
        case NXPINT_FULL_LEN:
            if (vlen != 4) {
                return -EBADMSG;
            }
            pin->full_len = packet_get_be32(v);
            break;
        case NXPINT_BUFFER_ID:
            if (vlen != 4) {
                return -EBADMSG;
            }
            pin->buffer_id = packet_get_be32(v);
            break;
        case NXPINT_TABLE_ID:
        case NXPINT_REASON:
            if (vlen != 1) {
                return -EBADMSG;
            }
            *(type == NXPINT_TABLE_ID ? &pin->table_id : &pin->reason) = v[0];
            break;
        case NXPINT_COOKIE:
            /* Open vSwitch pads a 64-bit property to 8-byte alignment of
             * its value (4 zero bytes after the header). */
            if (vlen == 12) {
                pin->cookie = packet_get_be64(v + 4);
            } else if (vlen == 8) {
                pin->cookie = packet_get_be64(v);
            } else {
                return -EBADMSG;
            }
            break;
        case NXPINT_METADATA: {
            int r = decode_metadata__(v, vlen, pin);
            if (r) {
                return r;
            }
            break;
        }
        case NXPINT_USERDATA:
            pin->userdata = v;
            pin->userdata_len = vlen;
            break;
        default:
            /* Continuations and future properties are not needed. */
            break;
        }
        size_t step = round_up8__(plen);
        if (step > len) {
            step = len;     /* the last property's padding may be absent */
        }
        p += step;
        len -= step;
    }
    if (!have_packet) {
        return -EBADMSG;
    }
    if (!pin->full_len) {
        pin->full_len = pin->packet_len;
    }
    return 0;
}

static int
decode_packet_in__(const struct ofp_msg *msg, struct ofp_packet_in *pin)
{
    const struct ofp13_packet_in *pi = (const void *) msg->data;
    const uint8_t *p = msg->data + sizeof *pi;
    size_t len;

    if (msg->length < sizeof *pi + 4) {
        return -EBADMSG;
    }
    len = msg->length - sizeof *pi;
    pin->buffer_id = ntohl(pi->buffer_id);
    pin->full_len = ntohs(pi->total_len);
    pin->reason = pi->reason;
    pin->table_id = pi->table_id;
    pin->cookie = packet_get_be64((const uint8_t *) &pi->cookie);

    /* struct ofp_match: type, length, OXM TLVs, padding to 8. */
    uint16_t mtype = packet_get_be16(p), mlen = packet_get_be16(p + 2);
    if (mtype != 1 || mlen < 4 || round_up8__(mlen) + 2 > len) {
        return -EBADMSG;
    }
    int r = decode_metadata__(p + 4, mlen - 4, pin);
    if (r) {
        return r;
    }
    size_t ofs = round_up8__(mlen) + 2;
    pin->packet = p + ofs;
    pin->packet_len = len - ofs;
    return 0;
}

int
ofp_decode_packet_in(const struct ofp_msg *msg, struct ofp_packet_in *out)
{
    memset(out, 0, sizeof *out);
    out->buffer_id = OFP_NO_BUFFER;
    if (msg->type == OFPT_PACKET_IN) {
        return decode_packet_in__(msg, out);
    }
    if (is_nx_msg__(msg, NXT_PACKET_IN2)) {
        return decode_packet_in2__(msg, out);
    }
    return -ENOMSG;
}

bool
ofp_packet_in_userdata16(const struct ofp_packet_in *pin, uint16_t *id)
{
    if (!pin->userdata || pin->userdata_len != 2) {
        return false;
    }
    *id = packet_get_be16(pin->userdata);
    return true;
}

/* --- packet-out --------------------------------------------------------- */

int
ofp_put_packet_out(struct ofp_buf *b, uint32_t xid, uint32_t in_port,
                   const struct flow_action *actions, size_t n_actions,
                   const void *packet, size_t packet_len)
{
    size_t ofs = b->size;
    struct flow_match m = { 0 };
    struct flow f = { 0 };
    int r;

    if (n_actions > UINT16_MAX) {
        return -EINVAL;
    }
    struct ofp15_packet_out *po = ofp_buf_put_zeros(b, sizeof *po);
    po->header.version = OFP15_VERSION;
    po->header.type = OFPT_PACKET_OUT;
    po->header.xid = htonl(xid);
    po->buffer_id = htonl(OFP_NO_BUFFER);

    flow_match_set(&m, FF_IN_PORT, in_port, 0);
    r = ofp_put_match(b, &m);
    if (r) {
        goto error;
    }
    size_t actions_ofs = b->size;
    f.n_actions = n_actions;
    f.actions = (struct flow_action *) actions;
    r = ofp_put_actions(b, &f);
    if (r) {
        goto error;
    }
    size_t actions_len = b->size - actions_ofs;
    if (actions_len > UINT16_MAX
        || b->size - ofs + packet_len > OFP_MAX_MSG_LEN) {
        r = -E2BIG;
        goto error;
    }
    if (packet_len) {
        memcpy(ofp_buf_put_zeros(b, packet_len), packet, packet_len);
    }
    po = (struct ofp15_packet_out *) (b->data + ofs);
    po->actions_len = htons(actions_len);
    po->header.length = htons(b->size - ofs);
    return 0;

error:
    b->size = ofs;
    return r;
}

int
ofp_decode_packet_out(const struct ofp_msg *msg, uint32_t *in_port,
                      struct flow *actions, const uint8_t **packet,
                      size_t *packet_len)
{
    const struct ofp15_packet_out *po = (const void *) msg->data;
    struct flow_match m;
    size_t consumed = 0;

    flow_init(actions, 0, 0, 0);
    if (msg->type != OFPT_PACKET_OUT || msg->length < sizeof *po) {
        return -EBADMSG;
    }
    const uint8_t *p = msg->data + sizeof *po;
    size_t len = msg->length - sizeof *po;
    int r = ofp_decode_match(p, len, &consumed, &m);
    if (r == -EBADMSG) {
        return r;
    }
    const struct flow_field *ip = flow_match_get(&m, FF_IN_PORT);
    *in_port = ip ? ip->value : 0;
    size_t alen = ntohs(po->actions_len);
    if (alen > len - consumed) {
        return -EBADMSG;
    }
    r = ofp_decode_actions(p + consumed, alen, actions);
    if (r == -EBADMSG) {
        return r;
    }
    *packet = p + consumed + alen;
    *packet_len = len - consumed - alen;
    return 0;
}

/* --- connection setup --------------------------------------------------- */

void
ofp_put_set_packet_in_format(struct ofp_buf *b, uint32_t xid, uint32_t format)
{
    struct nx_set_packet_in_format *m = ofp_buf_put_zeros(b, sizeof *m);
    m->nxh.header.version = OFP15_VERSION;
    m->nxh.header.type = OFPT_EXPERIMENTER;
    m->nxh.header.length = htons(sizeof *m);
    m->nxh.header.xid = htonl(xid);
    m->nxh.vendor = htonl(NX_EXPERIMENTER_ID);
    m->nxh.subtype = htonl(NXT_SET_PACKET_IN_FORMAT);
    m->format = htonl(format);
}

void
ofp_put_set_config(struct ofp_buf *b, uint32_t xid, uint16_t flags,
                   uint16_t miss_send_len)
{
    struct ofp_switch_config *m = ofp_buf_put_zeros(b, sizeof *m);
    m->header.version = OFP15_VERSION;
    m->header.type = OFPT_SET_CONFIG;
    m->header.length = htons(sizeof *m);
    m->header.xid = htonl(xid);
    m->flags = htons(flags);
    m->miss_send_len = htons(miss_send_len);
}

void
ofp_put_packet_in_setup(struct ofp_buf *b, uint32_t xid)
{
    ofp_put_set_packet_in_format(b, xid, NXPIF_NXT_PACKET_IN2);
    ofp_put_set_config(b, xid + 1, 0, 0xffff);
}
