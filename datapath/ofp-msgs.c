/* ofp-msgs.c — see ofp-msgs.h.  Layouts follow the OpenFlow 1.5.1
 * specification and the Nicira extensions as Open vSwitch implements them. */
#include "datapath/ofp-msgs.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* --- wire structures --------------------------------------------------- */

/* Big-endian scalars; the name says what the bytes hold, not how. */
typedef uint16_t ofp_be16;
typedef uint32_t ofp_be32;
typedef uint64_t ofp_be64;

#define OFP_PACKED __attribute__((packed))

struct ofp_header {
    uint8_t version;
    uint8_t type;
    ofp_be16 length;
    ofp_be32 xid;
} OFP_PACKED;
static_assert(sizeof(struct ofp_header) == 8, "ofp_header");

struct ofp_hello_elem {
    ofp_be16 type;            /* OFPHET_VERSIONBITMAP = 1 */
    ofp_be16 length;          /* without padding */
} OFP_PACKED;
static_assert(sizeof(struct ofp_hello_elem) == 4, "ofp_hello_elem");
#define OFPHET_VERSIONBITMAP 1

struct ofp_error_msg {
    struct ofp_header header;
    ofp_be16 type;
    ofp_be16 code;
} OFP_PACKED;
static_assert(sizeof(struct ofp_error_msg) == 12, "ofp_error_msg");

/* The match header; OXM TLVs follow, then padding to 8 bytes. */
struct ofp_match {
    ofp_be16 type;            /* OFPMT_OXM = 1 */
    ofp_be16 length;          /* header + TLVs, without padding */
} OFP_PACKED;
static_assert(sizeof(struct ofp_match) == 4, "ofp_match");
#define OFPMT_OXM 1

struct ofp_flow_mod {
    struct ofp_header header;
    ofp_be64 cookie;
    ofp_be64 cookie_mask;
    uint8_t table_id;
    uint8_t command;
    ofp_be16 idle_timeout;
    ofp_be16 hard_timeout;
    ofp_be16 priority;
    ofp_be32 buffer_id;
    ofp_be32 out_port;
    ofp_be32 out_group;
    ofp_be16 flags;
    ofp_be16 importance;
    /* struct ofp_match, then instructions. */
} OFP_PACKED;
static_assert(sizeof(struct ofp_flow_mod) == 48, "ofp_flow_mod");
#define OFP_NO_BUFFER 0xffffffffu
#define OFPG_ANY 0xffffffffu
#define OFPTT_ALL 0xff

struct ofp_instruction_actions {
    ofp_be16 type;            /* OFPIT_APPLY_ACTIONS = 4 */
    ofp_be16 len;
    uint8_t pad[4];
} OFP_PACKED;
static_assert(sizeof(struct ofp_instruction_actions) == 8, "instruction");
#define OFPIT_APPLY_ACTIONS 4

struct ofp_action_header {
    ofp_be16 type;
    ofp_be16 len;
} OFP_PACKED;
static_assert(sizeof(struct ofp_action_header) == 4, "action_header");

enum ofp_action_type {
    OFPAT_OUTPUT = 0,
    OFPAT_DEC_NW_TTL = 24,
    OFPAT_SET_FIELD = 25,
    OFPAT_COPY_FIELD = 28,
    OFPAT_EXPERIMENTER = 0xffff,
};

struct ofp_action_output {
    ofp_be16 type;
    ofp_be16 len;
    ofp_be32 port;
    ofp_be16 max_len;
    uint8_t pad[6];
} OFP_PACKED;
static_assert(sizeof(struct ofp_action_output) == 16, "action_output");

struct ofp_action_dec_nw_ttl {
    ofp_be16 type;
    ofp_be16 len;
    uint8_t pad[4];
} OFP_PACKED;
static_assert(sizeof(struct ofp_action_dec_nw_ttl) == 8, "dec_nw_ttl");

/* OFPAT_SET_FIELD: the header, one OXM TLV, padding to 8 bytes. */
struct ofp_action_set_field {
    ofp_be16 type;
    ofp_be16 len;
    ofp_be32 oxm;
} OFP_PACKED;
static_assert(sizeof(struct ofp_action_set_field) == 8, "set_field");

/* OFPAT_COPY_FIELD: then source and destination OXM headers, padding. */
struct ofp_action_copy_field {
    ofp_be16 type;
    ofp_be16 len;
    ofp_be16 n_bits;
    ofp_be16 src_offset;
    ofp_be16 dst_offset;
    uint8_t pad[2];
    ofp_be32 src;
    ofp_be32 dst;
} OFP_PACKED;
static_assert(sizeof(struct ofp_action_copy_field) == 20, "copy_field");

/* Nicira extension actions. */
#define NX_VENDOR_ID 0x00002320u
enum nx_action_subtype {
    NXAST_RESUBMIT = 1,
    NXAST_REG_MOVE = 6,
    NXAST_RESUBMIT_TABLE = 14,
    NXAST_CONJUNCTION = 34,
    NXAST_CT = 35,
    NXAST_NAT = 36,
    NXAST_CONTROLLER2 = 37,
};

struct nx_action_header {
    ofp_be16 type;            /* OFPAT_EXPERIMENTER */
    ofp_be16 len;
    ofp_be32 vendor;          /* NX_VENDOR_ID */
    ofp_be16 subtype;
} OFP_PACKED;
static_assert(sizeof(struct nx_action_header) == 10, "nx_action_header");

struct nx_action_resubmit {
    struct nx_action_header nxh;
    ofp_be16 in_port;         /* 16-bit OpenFlow 1.0 port number */
    uint8_t table;
    uint8_t pad[3];
} OFP_PACKED;
static_assert(sizeof(struct nx_action_resubmit) == 16, "nx_action_resubmit");
#define OFPP10_IN_PORT 0xfff8

/* NXAST_CONJUNCTION: 'clause' is 0-based on the wire (FA_CONJUNCTION's k is
 * 1-based); OVS accepts 2..64 clauses. */
struct nx_action_conjunction {
    struct nx_action_header nxh;
    uint8_t clause;
    uint8_t n_clauses;
    ofp_be32 id;
} OFP_PACKED;
static_assert(sizeof(struct nx_action_conjunction) == 16, "nx_action_conj");
#define NX_CONJ_MAX_CLAUSES 64

struct nx_action_conntrack {
    struct nx_action_header nxh;
    ofp_be16 flags;           /* NX_CT_F_COMMIT = 1, ... */
    ofp_be32 zone_src;        /* 0: 'zone' is an immediate value */
    ofp_be16 zone;
    uint8_t recirc_table;     /* 0xff: no recirculation */
    uint8_t pad[3];
    ofp_be16 alg;
    /* Nested actions follow. */
} OFP_PACKED;
static_assert(sizeof(struct nx_action_conntrack) == 24, "nx_action_conntrack");

/* NXAST_NAT, only ever nested in an NXAST_CT.  The range values whose
 * NX_NAT_RANGE_* bits are set follow in this order, big-endian: IPv4 min
 * and max (4 bytes each), IPv6 min and max (16 each), L4 port min and max
 * (2 each); then zero padding to a multiple of 8 bytes. */
struct nx_action_nat {
    struct nx_action_header nxh;
    uint8_t pad[2];
    ofp_be16 flags;           /* NX_NAT_F_* */
    ofp_be16 range_present;   /* NX_NAT_RANGE_* */
    /* Range values follow. */
} OFP_PACKED;
static_assert(sizeof(struct nx_action_nat) == 16, "nx_action_nat");
enum nx_nat_flags {
    NX_NAT_F_SRC = 1 << 0,
    NX_NAT_F_DST = 1 << 1,
    NX_NAT_F_PERSISTENT = 1 << 2,
    NX_NAT_F_PROTO_HASH = 1 << 3,
    NX_NAT_F_PROTO_RANDOM = 1 << 4,
};
enum nx_nat_range {
    NX_NAT_RANGE_IPV4_MIN = 1 << 0,
    NX_NAT_RANGE_IPV4_MAX = 1 << 1,
    NX_NAT_RANGE_IPV6_MIN = 1 << 2,
    NX_NAT_RANGE_IPV6_MAX = 1 << 3,
    NX_NAT_RANGE_PROTO_MIN = 1 << 4,
    NX_NAT_RANGE_PROTO_MAX = 1 << 5,
};

struct nx_action_controller2 {
    struct nx_action_header nxh;
    uint8_t pad[6];
    /* Properties follow. */
} OFP_PACKED;
static_assert(sizeof(struct nx_action_controller2) == 16, "controller2");
enum nx_controller2_prop {
    NXAC2PT_MAX_LEN = 0,
    NXAC2PT_USERDATA = 3,
};

struct ofp_prop_header {
    ofp_be16 type;
    ofp_be16 len;             /* without padding */
} OFP_PACKED;
static_assert(sizeof(struct ofp_prop_header) == 4, "prop_header");

struct nx_action_reg_move {
    struct nx_action_header nxh;
    ofp_be16 n_bits;
    ofp_be16 src_ofs;
    ofp_be16 dst_ofs;
    /* Source and destination NXM/OXM headers follow. */
} OFP_PACKED;
static_assert(sizeof(struct nx_action_reg_move) == 16, "nx_action_reg_move");

struct ofp_multipart {
    struct ofp_header header;
    ofp_be16 type;
    ofp_be16 flags;
    uint8_t pad[4];
} OFP_PACKED;
static_assert(sizeof(struct ofp_multipart) == 16, "ofp_multipart");

struct ofp_flow_stats_request {
    uint8_t table_id;
    uint8_t pad[3];
    ofp_be32 out_port;
    ofp_be32 out_group;
    uint8_t pad2[4];
    ofp_be64 cookie;
    ofp_be64 cookie_mask;
    /* struct ofp_match follows. */
} OFP_PACKED;
static_assert(sizeof(struct ofp_flow_stats_request) == 32, "flow_stats_req");

/* One entry of an OFPMP_FLOW_DESC reply: then a padded struct ofp_match, a
 * padded struct ofp_stats (OXS TLVs), and the instructions. */
struct ofp_flow_desc {
    ofp_be16 length;
    uint8_t pad2[2];
    uint8_t table_id;
    uint8_t pad;
    ofp_be16 priority;
    ofp_be16 idle_timeout;
    ofp_be16 hard_timeout;
    ofp_be16 flags;
    ofp_be16 importance;
    ofp_be64 cookie;
} OFP_PACKED;
static_assert(sizeof(struct ofp_flow_desc) == 24, "ofp_flow_desc");

struct ofp_stats {
    ofp_be16 reserved;
    ofp_be16 length;          /* header + OXS TLVs, without padding */
} OFP_PACKED;
static_assert(sizeof(struct ofp_stats) == 4, "ofp_stats");
#define OFPXSC_OPENFLOW_BASIC 0x8002
enum ofp_oxs_field {
    OFPXST_OFB_DURATION = 0,
    OFPXST_OFB_PACKET_COUNT = 4,
    OFPXST_OFB_BYTE_COUNT = 5,
};

struct ofp_bundle_ctrl_msg {
    struct ofp_header header;
    ofp_be32 bundle_id;
    ofp_be16 type;
    ofp_be16 flags;
} OFP_PACKED;
static_assert(sizeof(struct ofp_bundle_ctrl_msg) == 16, "bundle_ctrl");

struct ofp_bundle_add_msg {
    struct ofp_header header;
    ofp_be32 bundle_id;
    uint8_t pad[2];
    ofp_be16 flags;
    /* The embedded message follows. */
} OFP_PACKED;
static_assert(sizeof(struct ofp_bundle_add_msg) == 16, "bundle_add");

/* OXM/NXM TLV headers: class(16) field(7) hasmask(1) length(8). */
#define OXM_HEADER(CLS, FLD, HASMASK, LEN) \
    (((uint32_t) (CLS) << 16) | ((uint32_t) (FLD) << 9) \
     | ((uint32_t) (HASMASK) << 8) | (uint32_t) (LEN))
#define OXM_CLASS(H) ((H) >> 16)
#define OXM_FIELD(H) (((H) >> 9) & 0x7f)
#define OXM_HASMASK(H) (((H) >> 8) & 1)
#define OXM_LENGTH(H) ((H) & 0xff)
#define OXM_CLASS_NXM1 0x0001
#define OXM_CLASS_BASIC 0x8000
#define OXM_CLASS_PKT_REGS 0x8001
#define OXM_CLASS_EXPERIMENTER 0xffff
#define NXM_NX_TUN_ID_FIELD 16

#define PLACEHOLDER_ACTION FA_N_TYPES

/* --- byte helpers ------------------------------------------------------ */

static inline size_t
round_up8__(size_t n)
{
    return (n + 7) & ~(size_t) 7;
}

static inline uint16_t
get_be16__(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}

static inline uint32_t
get_be32__(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

/* Reads a 'width'-byte big-endian unsigned number (width <= 8). */
static uint64_t
get_uint__(const uint8_t *p, unsigned int width)
{
    uint64_t v = 0;
    for (unsigned int i = 0; i < width; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static void
put_uint__(uint8_t *p, uint64_t v, unsigned int width)
{
    for (unsigned int i = width; i-- > 0;) {
        p[i] = v & 0xff;
        v >>= 8;
    }
}

/* --- buffers ----------------------------------------------------------- */

void
ofp_buf_init(struct ofp_buf *b)
{
    memset(b, 0, sizeof *b);
}

void
ofp_buf_destroy(struct ofp_buf *b)
{
    if (b) {
        free(b->data);
        memset(b, 0, sizeof *b);
    }
}

void
ofp_buf_clear(struct ofp_buf *b)
{
    b->size = 0;
}

void *
ofp_buf_put_zeros(struct ofp_buf *b, size_t n)
{
    if (b->size + n > b->allocated) {
        b->data = xgrow(b->data, &b->allocated, b->size + n, 1);
    }
    void *p = b->data + b->size;
    memset(p, 0, n);
    b->size += n;
    return p;
}

/* Appends a header of 'type'; the length is fixed up by msg_finish__(). */
static size_t
msg_start__(struct ofp_buf *b, uint8_t type, uint32_t xid, size_t size)
{
    size_t ofs = b->size;
    struct ofp_header *oh = ofp_buf_put_zeros(b, size);
    oh->version = OFP15_VERSION;
    oh->type = type;
    oh->length = htons(size);
    oh->xid = htonl(xid);
    return ofs;
}

/* Sets the length of the message started at 'ofs'; -E2BIG (and the message
 * removed) if it is too long. */
static int
msg_finish__(struct ofp_buf *b, size_t ofs)
{
    size_t len = b->size - ofs;
    if (len > OFP_MAX_MSG_LEN) {
        b->size = ofs;
        return -E2BIG;
    }
    ((struct ofp_header *) (b->data + ofs))->length = htons(len);
    return 0;
}

/* --- headers and simple messages --------------------------------------- */

int
ofp_msg_parse(const void *data, size_t size, struct ofp_msg *msg)
{
    const struct ofp_header *oh = data;
    if (size < sizeof *oh) {
        return -EAGAIN;
    }
    uint16_t len = ntohs(oh->length);
    if (len < sizeof *oh) {
        return -EBADMSG;
    }
    if (len > size) {
        return -EAGAIN;
    }
    msg->version = oh->version;
    msg->type = oh->type;
    msg->length = len;
    msg->xid = ntohl(oh->xid);
    msg->data = data;
    return 0;
}

void
ofp_put_hello(struct ofp_buf *b, uint32_t xid)
{
    size_t ofs = msg_start__(b, OFPT_HELLO, xid, sizeof(struct ofp_header));
    struct ofp_hello_elem *e = ofp_buf_put_zeros(b, sizeof *e + 4);
    e->type = htons(OFPHET_VERSIONBITMAP);
    e->length = htons(sizeof *e + 4);
    put_uint__((uint8_t *) (e + 1), 1u << OFP15_VERSION, 4);
    msg_finish__(b, ofs);
}

int
ofp_decode_hello(const struct ofp_msg *msg, uint32_t *versions)
{
    if (msg->type != OFPT_HELLO) {
        return -EBADMSG;
    }
    *versions = msg->version >= 31 ? UINT32_MAX
                                   : (2u << msg->version) - 1;
    const uint8_t *p = msg->data + sizeof(struct ofp_header);
    size_t left = msg->length - sizeof(struct ofp_header);
    while (left >= sizeof(struct ofp_hello_elem)) {
        uint16_t type = get_be16__(p), len = get_be16__(p + 2);
        if (len < sizeof(struct ofp_hello_elem) || len > left) {
            return -EBADMSG;
        }
        if (type == OFPHET_VERSIONBITMAP) {
            /* Only the first 32 versions matter to us. */
            *versions = len >= 8 ? get_be32__(p + 4) : 0;
        }
        size_t padded = round_up8__(len);
        if (padded >= left) {
            break;
        }
        p += padded;
        left -= padded;
    }
    return 0;
}

void
ofp_put_empty(struct ofp_buf *b, uint8_t type, uint32_t xid)
{
    msg_start__(b, type, xid, sizeof(struct ofp_header));
}

void
ofp_put_echo_reply(struct ofp_buf *b, const struct ofp_msg *req)
{
    size_t ofs = msg_start__(b, OFPT_ECHO_REPLY, req->xid, req->length);
    memcpy(b->data + ofs + sizeof(struct ofp_header),
           req->data + sizeof(struct ofp_header),
           req->length - sizeof(struct ofp_header));
}

int
ofp_decode_error(const struct ofp_msg *msg, uint16_t *type, uint16_t *code)
{
    if (msg->type != OFPT_ERROR || msg->length < sizeof(struct ofp_error_msg)) {
        return -EBADMSG;
    }
    const struct ofp_error_msg *e = (const void *) msg->data;
    *type = ntohs(e->type);
    *code = ntohs(e->code);
    return 0;
}

const char *
ofp_error_type_name(uint16_t type)
{
    static const char *const names[] = {
        "HELLO_FAILED", "BAD_REQUEST", "BAD_ACTION", "BAD_INSTRUCTION",
        "BAD_MATCH", "FLOW_MOD_FAILED", "GROUP_MOD_FAILED", "PORT_MOD_FAILED",
        "TABLE_MOD_FAILED", "QUEUE_OP_FAILED", "SWITCH_CONFIG_FAILED",
        "ROLE_REQUEST_FAILED", "METER_MOD_FAILED", "TABLE_FEATURES_FAILED",
        "BAD_PROPERTY", "ASYNC_CONFIG_FAILED", "FLOW_MONITOR_FAILED",
        "BUNDLE_FAILED",
    };
    if (type == 0xffff) {
        return "EXPERIMENTER";
    }
    return type < ARRAY_SIZE(names) ? names[type] : "UNKNOWN";
}

/* --- matches ----------------------------------------------------------- */

/* Maps a register number to anet's field id, or -1. */
static int
reg_field__(unsigned int reg)
{
    if (reg <= 7) {
        return FF_REG0 + reg;
    }
    if (reg >= 13 && reg <= 15) {
        return FF_REG13 + (reg - 13);
    }
    return -1;
}

/* Maps an OXM/NXM class and field with payload width 'width' (bytes, value
 * only) to anet's field id, or -1. */
static int
field_by_oxm__(uint16_t cls, uint8_t fld, unsigned int width)
{
    if (cls == OXM_CLASS_NXM1 && fld == NXM_NX_TUN_ID_FIELD && width == 8) {
        return FF_TUN_ID;
    }
    for (unsigned int id = 0; id < FF_N_FIELDS; id++) {
        const struct flow_field_info *fi = flow_field_info(id);
        if (fi && fi->oxm_class == cls && fi->oxm_field == fld
            && fi->width == width) {
            return id;
        }
    }
    return -1;
}

int
ofp_put_match(struct ofp_buf *b, const struct flow_match *m)
{
    size_t ofs = b->size;
    ofp_buf_put_zeros(b, sizeof(struct ofp_match));
    for (size_t i = 0; i < m->n; i++) {
        const struct flow_field *ff = &m->f[i];
        const struct flow_field_info *fi = flow_field_info(ff->id);
        if (!fi) {
            b->size = ofs;
            return -EINVAL;
        }
        uint64_t full = flow_field_full_mask(ff->id);
        bool masked = (ff->mask & full) != full;
        unsigned int w = fi->width;
        uint8_t *p = ofp_buf_put_zeros(b, 4 + w * (masked ? 2 : 1));
        put_uint__(p, OXM_HEADER(fi->oxm_class, fi->oxm_field, masked,
                                 w * (masked ? 2 : 1)), 4);
        put_uint__(p + 4, ff->value & ff->mask, w);
        if (masked) {
            put_uint__(p + 4 + w, ff->mask, w);
        }
    }
    struct ofp_match *om = (struct ofp_match *) (b->data + ofs);
    om->type = htons(OFPMT_OXM);
    om->length = htons(b->size - ofs);
    ofp_buf_put_zeros(b, round_up8__(b->size - ofs) - (b->size - ofs));
    return 0;
}

/* Adds one 32-bit half of an xreg to 'm'. */
static int
match_add_xreg_half__(struct flow_match *m, unsigned int reg, uint64_t value,
                      uint64_t mask)
{
    if (!mask) {
        return 0;
    }
    int id = reg_field__(reg);
    if (id < 0) {
        return -EOPNOTSUPP;
    }
    return flow_match_set(m, id, value, mask) ? -EOPNOTSUPP : 0;
}

int
ofp_decode_match(const void *p_, size_t size, size_t *consumed,
                 struct flow_match *m)
{
    const uint8_t *p = p_;
    int unsupported = 0;

    memset(m, 0, sizeof *m);
    if (size < sizeof(struct ofp_match)) {
        return -EBADMSG;
    }
    uint16_t type = get_be16__(p), len = get_be16__(p + 2);
    if (type != OFPMT_OXM || len < sizeof(struct ofp_match)
        || round_up8__(len) > size) {
        return -EBADMSG;
    }
    *consumed = round_up8__(len);
    const uint8_t *q = p + sizeof(struct ofp_match), *end = p + len;
    while (q < end) {
        if (end - q < 4) {
            return -EBADMSG;
        }
        uint32_t h = get_be32__(q);
        unsigned int tlv_len = OXM_LENGTH(h);
        if ((size_t) (end - q - 4) < tlv_len) {
            return -EBADMSG;
        }
        const uint8_t *v = q + 4;
        q += 4 + tlv_len;
        unsigned int w = OXM_HASMASK(h) ? tlv_len / 2 : tlv_len;
        if (OXM_HASMASK(h) && tlv_len % 2) {
            return -EBADMSG;
        }
        if (!w || w > 8 || OXM_CLASS(h) == OXM_CLASS_EXPERIMENTER) {
            unsupported = -EOPNOTSUPP;
            continue;
        }
        uint64_t value = get_uint__(v, w);
        uint64_t mask = OXM_HASMASK(h) ? get_uint__(v + w, w)
                        : w == 8 ? UINT64_MAX : (1ULL << (w * 8)) - 1;
        if (OXM_CLASS(h) == OXM_CLASS_PKT_REGS && w == 8) {
            /* xreg N is reg 2N (high half) and reg 2N+1 (low half). */
            unsigned int n = OXM_FIELD(h);
            int e1 = match_add_xreg_half__(m, 2 * n, value >> 32, mask >> 32);
            int e2 = match_add_xreg_half__(m, 2 * n + 1, value & 0xffffffff,
                                           mask & 0xffffffff);
            if (e1 || e2) {
                unsupported = -EOPNOTSUPP;
            }
            continue;
        }
        int id = field_by_oxm__(OXM_CLASS(h), OXM_FIELD(h), w);
        if (id < 0 || !mask || flow_match_set(m, id, value, mask)) {
            unsupported = -EOPNOTSUPP;
        }
    }
    return unsupported;
}

/* --- actions ----------------------------------------------------------- */

static void *
put_nx_action__(struct ofp_buf *b, size_t len, uint16_t subtype)
{
    struct nx_action_header *nxh = ofp_buf_put_zeros(b, len);
    nxh->type = htons(OFPAT_EXPERIMENTER);
    nxh->len = htons(len);
    nxh->vendor = htonl(NX_VENDOR_ID);
    nxh->subtype = htons(subtype);
    return nxh;
}

/* Appends a property holding a 16-bit value.  'len' is the property length
 * without padding: OVS spells max_len as a padded 32-bit field (length 8),
 * and our two userdata bytes as a 6-byte property. */
static void
put_prop16__(struct ofp_buf *b, uint16_t type, uint16_t len, uint16_t value)
{
    uint8_t *p = ofp_buf_put_zeros(b, 8);
    put_uint__(p, type, 2);
    put_uint__(p + 2, len, 2);
    put_uint__(p + 4, value, 2);
}

/* FA_NAT's representable values, the same for encoding and decoding so that
 * decoding stays canonical: flags 0 ("nat") takes no range; ports need an
 * address; a port maximum needs a minimum not above it. */
static bool
nat_is_valid__(const struct flow_action *a)
{
    uint16_t pmin = a->value >> 16, pmax = a->value & 0xffff;

    if (a->field > NX_NAT_F_DST || a->value > 0xffffffffu) {
        return false;
    }
    if (!a->field) {
        return !a->arg && !a->value;
    }
    if (!a->arg && a->value) {
        return false;
    }
    return !pmax || (pmin && pmin <= pmax);
}

/* Appends an NXAST_NAT for 'a' (to nest in an NXAST_CT). */
static int
put_nat__(struct ofp_buf *b, const struct flow_action *a)
{
    if (!nat_is_valid__(a)) {
        return -EINVAL;
    }
    uint16_t pmin = a->value >> 16, pmax = a->value & 0xffff;
    uint16_t present = ((a->arg ? NX_NAT_RANGE_IPV4_MIN : 0)
                        | (pmin ? NX_NAT_RANGE_PROTO_MIN : 0)
                        | (pmax ? NX_NAT_RANGE_PROTO_MAX : 0));
    size_t len = round_up8__(sizeof(struct nx_action_nat)
                             + (a->arg ? 4 : 0) + (pmin ? 2 : 0)
                             + (pmax ? 2 : 0));
    struct nx_action_nat *nat = put_nx_action__(b, len, NXAST_NAT);
    nat->flags = htons(a->field);
    nat->range_present = htons(present);
    uint8_t *v = (uint8_t *) (nat + 1);
    if (a->arg) {
        put_uint__(v, a->arg, 4);
        v += 4;
    }
    if (pmin) {
        put_uint__(v, pmin, 2);
        v += 2;
    }
    if (pmax) {
        put_uint__(v, pmax, 2);
    }
    return 0;
}

/* Appends the wire form of 'a'.  'next' is the action after it (NULL at the
 * end): a ct nests a following nat.  Returns the number of actions consumed
 * (1 or 2) or -EINVAL. */
static int
put_action__(struct ofp_buf *b, const struct flow_action *a,
             const struct flow_action *next)
{
    const struct flow_field_info *fi, *di;

    switch (a->type) {
    case FA_OUTPUT: {
        struct ofp_action_output *o = ofp_buf_put_zeros(b, sizeof *o);
        o->type = htons(OFPAT_OUTPUT);
        o->len = htons(sizeof *o);
        o->port = htonl(a->arg);
        o->max_len = htons(a->arg == OFPP_CONTROLLER ? 0xffff : 0);
        return 1;
    }
    case FA_SET_FIELD: {
        fi = flow_field_info(a->field);
        if (!fi) {
            return -EINVAL;
        }
        size_t len = round_up8__(sizeof(struct ofp_action_header) + 4
                                 + fi->width);
        struct ofp_action_set_field *sf = ofp_buf_put_zeros(b, len);
        sf->type = htons(OFPAT_SET_FIELD);
        sf->len = htons(len);
        sf->oxm = htonl(OXM_HEADER(fi->oxm_class, fi->oxm_field, 0,
                                   fi->width));
        put_uint__((uint8_t *) (sf + 1), a->value, fi->width);
        return 1;
    }
    case FA_RESUBMIT: {
        if (a->arg > 0xff) {
            return -EINVAL;
        }
        struct nx_action_resubmit *r
            = put_nx_action__(b, sizeof *r, NXAST_RESUBMIT_TABLE);
        r->in_port = htons(OFPP10_IN_PORT);
        r->table = a->arg;
        return 1;
    }
    case FA_DEC_TTL: {
        struct ofp_action_dec_nw_ttl *d = ofp_buf_put_zeros(b, sizeof *d);
        d->type = htons(OFPAT_DEC_NW_TTL);
        d->len = htons(sizeof *d);
        return 1;
    }
    case FA_CONTROLLER: {
        /* NXAST_CONTROLLER2 with max_len (only when not the default, as OVS
         * does) and a two-byte userdata property. */
        size_t ofs = b->size;
        put_nx_action__(b, sizeof(struct nx_action_controller2),
                        NXAST_CONTROLLER2);
        if (a->arg != 0xffff) {
            put_prop16__(b, NXAC2PT_MAX_LEN, 8, a->arg);
        }
        put_prop16__(b, NXAC2PT_USERDATA, 6, a->value);
        ((struct nx_action_header *) (b->data + ofs))->len
            = htons(b->size - ofs);
        return 1;
    }
    case FA_CT: {
        if (a->arg > 0xffff || a->value > 0xff) {
            return -EINVAL;
        }
        size_t ofs = b->size;
        struct nx_action_conntrack *ct
            = put_nx_action__(b, sizeof *ct, NXAST_CT);
        ct->flags = htons(a->field);
        ct->zone = htons(a->arg);
        ct->recirc_table = a->value;
        if (next && next->type == FA_NAT) {
            int error = put_nat__(b, next);
            if (error) {
                return error;
            }
            ((struct nx_action_header *) (b->data + ofs))->len
                = htons(b->size - ofs);
            return 2;
        }
        return 1;
    }
    case FA_NAT:
        return -EINVAL;         /* only nested in the preceding ct */
    case FA_CONJUNCTION: {
        if (a->value < 2 || a->value > NX_CONJ_MAX_CLAUSES || !a->field
            || a->field > a->value) {
            return -EINVAL;
        }
        struct nx_action_conjunction *cj
            = put_nx_action__(b, sizeof *cj, NXAST_CONJUNCTION);
        cj->clause = a->field - 1;
        cj->n_clauses = a->value;
        cj->id = htonl(a->arg);
        return 1;
    }
    case FA_MOVE: {
        fi = flow_field_info(a->field);
        di = a->arg <= 0xff ? flow_field_info(a->arg) : NULL;
        if (!fi || !di || fi->width != di->width) {
            return -EINVAL;
        }
        size_t len = round_up8__(sizeof(struct ofp_action_copy_field));
        struct ofp_action_copy_field *cf = ofp_buf_put_zeros(b, len);
        cf->type = htons(OFPAT_COPY_FIELD);
        cf->len = htons(len);
        cf->n_bits = htons(fi->width * 8);
        cf->src = htonl(OXM_HEADER(fi->oxm_class, fi->oxm_field, 0,
                                   fi->width));
        cf->dst = htonl(OXM_HEADER(di->oxm_class, di->oxm_field, 0,
                                   di->width));
        return 1;
    }
    default:
        return -EINVAL;
    }
}

int
ofp_put_actions(struct ofp_buf *b, const struct flow *f)
{
    size_t ofs = b->size;
    for (size_t i = 0; i < f->n_actions;) {
        const struct flow_action *next
            = i + 1 < f->n_actions ? &f->actions[i + 1] : NULL;
        int n = put_action__(b, &f->actions[i], next);
        if (n < 0) {
            b->size = ofs;
            return n;
        }
        i += n;
    }
    return 0;
}

/* Decodes an OXM header naming a whole field (for set_field / copy_field):
 * returns the field id or -1. */
static int
field_by_header__(uint32_t h)
{
    if (OXM_HASMASK(h)) {
        return -1;
    }
    return field_by_oxm__(OXM_CLASS(h), OXM_FIELD(h), OXM_LENGTH(h));
}

/* Decodes an NXAST_NAT nested in a ct ('len' bytes at 'p') into the FA_NAT
 * '*out'.  Returns 0, or -EOPNOTSUPP for anything FA_NAT cannot hold
 * (persistent/hash/random, IPv4 or IPv6 ranges, trailing actions) or that
 * would not encode back to the same bytes. */
static int
decode_nat__(const uint8_t *p, size_t len, struct flow_action *out)
{
    if (len < sizeof(struct nx_action_nat)
        || get_be16__(p) != OFPAT_EXPERIMENTER || get_be16__(p + 2) != len || get_be32__(p + 4) != NX_VENDOR_ID
        || get_be16__(p + 8) != NXAST_NAT) {
        return -EOPNOTSUPP;
    }
    const struct nx_action_nat *nat = (const void *) p;
    uint16_t flags = ntohs(nat->flags), present = ntohs(nat->range_present);
    if (flags > NX_NAT_F_DST || flags == (NX_NAT_F_SRC | NX_NAT_F_DST)
        || present & ~(NX_NAT_RANGE_IPV4_MIN | NX_NAT_RANGE_PROTO_MIN
                       | NX_NAT_RANGE_PROTO_MAX)) {
        return -EOPNOTSUPP;
    }
    size_t need = sizeof *nat
                  + (present & NX_NAT_RANGE_IPV4_MIN ? 4 : 0)
                  + (present & NX_NAT_RANGE_PROTO_MIN ? 2 : 0)
                  + (present & NX_NAT_RANGE_PROTO_MAX ? 2 : 0);
    if (round_up8__(need) != len) {
        return -EOPNOTSUPP;
    }
    const uint8_t *v = p + sizeof *nat;
    uint32_t addr = 0;
    uint16_t pmin = 0, pmax = 0;
    if (present & NX_NAT_RANGE_IPV4_MIN) {
        addr = get_be32__(v);
        v += 4;
    }
    if (present & NX_NAT_RANGE_PROTO_MIN) {
        pmin = get_be16__(v);
        v += 2;
    }
    if (present & NX_NAT_RANGE_PROTO_MAX) {
        pmax = get_be16__(v);
    }
    /* A present zero would come back absent: not canonical. */
    if ((present & NX_NAT_RANGE_IPV4_MIN && !addr)
        || (present & NX_NAT_RANGE_PROTO_MIN && !pmin)
        || (present & NX_NAT_RANGE_PROTO_MAX && !pmax)) {
        return -EOPNOTSUPP;
    }
    memset(out, 0, sizeof *out);
    out->type = FA_NAT;
    out->field = flags;
    out->arg = addr;
    out->value = (uint32_t) pmin << 16 | pmax;
    return nat_is_valid__(out) ? 0 : -EOPNOTSUPP;
}

/* Decodes one Nicira action into 'out' (room for two: a ct with a nested
 * nat becomes FA_CT then FA_NAT).  Returns the number of actions, or
 * -EOPNOTSUPP when it has no representation. */
static int
decode_nx_action__(const uint8_t *p, size_t len, struct flow_action out[2])
{
    if (len < sizeof(struct nx_action_header)
        || get_be32__(p + 4) != NX_VENDOR_ID) {
        return -EOPNOTSUPP;
    }
    uint16_t subtype = get_be16__(p + 8);
    switch (subtype) {
    case NXAST_RESUBMIT:
    case NXAST_RESUBMIT_TABLE: {
        if (len < sizeof(struct nx_action_resubmit)) {
            return -EOPNOTSUPP;
        }
        const struct nx_action_resubmit *r = (const void *) p;
        if (ntohs(r->in_port) != OFPP10_IN_PORT) {
            return -EOPNOTSUPP;
        }
        out->type = FA_RESUBMIT;
        out->arg = subtype == NXAST_RESUBMIT ? 0xff : r->table;
        return 1;
    }
    case NXAST_CT: {
        if (len < sizeof(struct nx_action_conntrack)) {
            return -EOPNOTSUPP;
        }
        const struct nx_action_conntrack *ct = (const void *) p;
        if (ct->zone_src || ct->alg || ntohs(ct->flags) > 0xff) {
            return -EOPNOTSUPP;
        }
        out->type = FA_CT;
        out->field = ntohs(ct->flags);
        out->arg = ntohs(ct->zone);
        out->value = ct->recirc_table;
        if (len == sizeof *ct) {
            return 1;
        }
        /* The only nested action anet represents is one nat. */
        return decode_nat__(p + sizeof *ct, len - sizeof *ct, out + 1)
               ? -EOPNOTSUPP : 2;
    }
    case NXAST_CONJUNCTION: {
        const struct nx_action_conjunction *cj = (const void *) p;
        if (len != sizeof *cj || cj->n_clauses < 2
            || cj->n_clauses > NX_CONJ_MAX_CLAUSES
            || cj->clause >= cj->n_clauses) {
            return -EOPNOTSUPP;
        }
        out->type = FA_CONJUNCTION;
        out->field = cj->clause + 1;
        out->arg = ntohl(cj->id);
        out->value = cj->n_clauses;
        return 1;
    }
    case NXAST_CONTROLLER2: {
        out->type = FA_CONTROLLER;
        out->arg = 0xffff;
        bool have_userdata = false;
        size_t ofs = sizeof(struct nx_action_controller2);
        while (ofs + sizeof(struct ofp_prop_header) <= len) {
            uint16_t type = get_be16__(p + ofs), plen = get_be16__(p + ofs + 2);
            if (plen < 4 || ofs + plen > len) {
                return -EOPNOTSUPP;
            }
            const uint8_t *v = p + ofs + 4;
            if (type == NXAC2PT_MAX_LEN && (plen == 6 || plen == 8)) {
                out->arg = get_uint__(v, 2);
            } else if (type == NXAC2PT_USERDATA && plen == 6) {
                out->value = get_uint__(v, 2);
                have_userdata = true;
            } else {
                return -EOPNOTSUPP;
            }
            ofs += round_up8__(plen);
        }
        return have_userdata ? 1 : -EOPNOTSUPP;
    }
    case NXAST_REG_MOVE: {
        if (len < sizeof(struct nx_action_reg_move) + 8) {
            return -EOPNOTSUPP;
        }
        const struct nx_action_reg_move *rm = (const void *) p;
        const uint8_t *hdrs = p + sizeof *rm;
        int src = field_by_header__(get_be32__(hdrs));
        int dst = field_by_header__(get_be32__(hdrs + 4));
        if (src < 0 || dst < 0 || rm->src_ofs || rm->dst_ofs
            || ntohs(rm->n_bits) != flow_field_info(src)->width * 8
            || flow_field_info(src)->width != flow_field_info(dst)->width) {
            return -EOPNOTSUPP;
        }
        out->type = FA_MOVE;
        out->field = src;
        out->arg = dst;
        return 1;
    }
    default:
        return -EOPNOTSUPP;
    }
}

/* Decodes one action into 'out' (room for two, see decode_nx_action__()).
 * Returns the number of actions, or -EOPNOTSUPP. */
static int
decode_action__(const uint8_t *p, size_t len, struct flow_action out[2])
{
    memset(out, 0, 2 * sizeof *out);
    switch (get_be16__(p)) {
    case OFPAT_OUTPUT:
        if (len != sizeof(struct ofp_action_output)) {
            return -EOPNOTSUPP;
        }
        out->type = FA_OUTPUT;
        out->arg = get_be32__(p + 4);
        return 1;
    case OFPAT_DEC_NW_TTL:
        out->type = FA_DEC_TTL;
        return 1;
    case OFPAT_SET_FIELD: {
        if (len < sizeof(struct ofp_action_set_field)) {
            return -EOPNOTSUPP;
        }
        uint32_t h = get_be32__(p + 4);
        int id = field_by_header__(h);
        if (id < 0 || 8 + OXM_LENGTH(h) > len) {
            return -EOPNOTSUPP;
        }
        out->type = FA_SET_FIELD;
        out->field = id;
        out->value = get_uint__(p + 8, OXM_LENGTH(h));
        return 1;
    }
    case OFPAT_COPY_FIELD: {
        if (len < sizeof(struct ofp_action_copy_field)) {
            return -EOPNOTSUPP;
        }
        const struct ofp_action_copy_field *cf = (const void *) p;
        int src = field_by_header__(ntohl(cf->src));
        int dst = field_by_header__(ntohl(cf->dst));
        if (src < 0 || dst < 0 || cf->src_offset || cf->dst_offset
            || ntohs(cf->n_bits) != flow_field_info(src)->width * 8
            || flow_field_info(src)->width != flow_field_info(dst)->width) {
            return -EOPNOTSUPP;
        }
        out->type = FA_MOVE;
        out->field = src;
        out->arg = dst;
        return 1;
    }
    case OFPAT_EXPERIMENTER:
        return decode_nx_action__(p, len, out);
    default:
        return -EOPNOTSUPP;
    }
}

/* Replaces the action list of 'f' by one placeholder. */
static void
set_placeholder__(struct flow *f)
{
    free(f->actions);
    f->actions = NULL;
    f->n_actions = 0;
    flow_add_action(f, PLACEHOLDER_ACTION, 0, 0, 0);
}

int
ofp_decode_actions(const void *p_, size_t size, struct flow *f)
{
    const uint8_t *p = p_;
    bool unsupported = false;

    while (size) {
        if (size < sizeof(struct ofp_action_header)) {
            return -EBADMSG;
        }
        uint16_t len = get_be16__(p + 2);
        if (len < 8 || len % 8 || len > size) {
            return -EBADMSG;
        }
        struct flow_action a[2];
        int n = unsupported ? -EOPNOTSUPP : decode_action__(p, len, a);
        for (int i = 0; i < n; i++) {
            flow_add_action(f, a[i].type, a[i].field, a[i].arg, a[i].value);
        }
        unsupported |= n < 0;
        p += len;
        size -= len;
    }
    if (unsupported) {
        set_placeholder__(f);
    }
    return 0;
}

/* Appends the instructions of 'f': one APPLY_ACTIONS, none for a drop. */
static int
put_instructions__(struct ofp_buf *b, const struct flow *f)
{
    if (!f->n_actions) {
        return 0;
    }
    size_t ofs = b->size;
    ofp_buf_put_zeros(b, sizeof(struct ofp_instruction_actions));
    int error = ofp_put_actions(b, f);
    if (error) {
        b->size = ofs;
        return error;
    }
    struct ofp_instruction_actions *ia = (void *) (b->data + ofs);
    ia->type = htons(OFPIT_APPLY_ACTIONS);
    ia->len = htons(b->size - ofs);
    return 0;
}

static int
decode_instructions__(const uint8_t *p, size_t size, struct flow *f)
{
    bool unsupported = false, seen_apply = false;

    while (size) {
        if (size < 4) {
            return -EBADMSG;
        }
        uint16_t type = get_be16__(p), len = get_be16__(p + 2);
        if (len < 8 || len > size) {
            return -EBADMSG;
        }
        if (type == OFPIT_APPLY_ACTIONS && !seen_apply) {
            int error = ofp_decode_actions(p + 8, len - 8, f);
            if (error) {
                return error;
            }
            seen_apply = true;
        } else {
            unsupported = true;
        }
        p += len;
        size -= len;
    }
    if (unsupported) {
        set_placeholder__(f);
    }
    return 0;
}

/* --- flow-mods --------------------------------------------------------- */

static size_t
flow_mod_start__(struct ofp_buf *b, uint32_t xid, uint8_t table,
                 uint16_t priority, uint64_t cookie,
                 enum ofp_flow_mod_command command)
{
    size_t ofs = msg_start__(b, OFPT_FLOW_MOD, xid,
                             sizeof(struct ofp_flow_mod));
    struct ofp_flow_mod *fm = (void *) (b->data + ofs);
    fm->cookie = htobe64(cookie);
    fm->table_id = table;
    fm->command = command;
    fm->priority = htons(priority);
    fm->buffer_id = htonl(OFP_NO_BUFFER);
    fm->out_port = htonl(OFPP_ANY);
    fm->out_group = htonl(OFPG_ANY);
    return ofs;
}

int
ofp_put_flow_mod(struct ofp_buf *b, uint32_t xid, const struct flow *f,
                 enum ofp_flow_mod_command command)
{
    size_t ofs = flow_mod_start__(b, xid, f->table, f->priority, f->cookie,
                                  command);
    int error = ofp_put_match(b, &f->match);
    if (!error && command != OFPFC_DELETE && command != OFPFC_DELETE_STRICT) {
        error = put_instructions__(b, f);
    }
    if (error) {
        b->size = ofs;
        return error;
    }
    return msg_finish__(b, ofs);
}

int
ofp_decode_flow_mod(const struct ofp_msg *msg, struct flow *out,
                    enum ofp_flow_mod_command *command)
{
    if (msg->type != OFPT_FLOW_MOD
        || msg->length < sizeof(struct ofp_flow_mod)) {
        flow_init(out, 0, 0, 0);
        return -EBADMSG;
    }
    const struct ofp_flow_mod *fm = (const void *) msg->data;
    flow_init(out, fm->table_id, ntohs(fm->priority), be64toh(fm->cookie));
    *command = fm->command;

    size_t consumed;
    const uint8_t *p = msg->data + sizeof *fm;
    size_t left = msg->length - sizeof *fm;
    int match_error = ofp_decode_match(p, left, &consumed, &out->match);
    if (match_error == -EBADMSG) {
        return match_error;
    }
    int error = decode_instructions__(p + consumed, left - consumed, out);
    if (error) {
        return error;
    }
    if (match_error) {
        set_placeholder__(out);
    }
    return match_error;
}

/* --- multipart flow dump ----------------------------------------------- */

void
ofp_put_flow_desc_request(struct ofp_buf *b, uint32_t xid)
{
    size_t ofs = msg_start__(b, OFPT_MULTIPART_REQUEST, xid,
                             sizeof(struct ofp_multipart));
    struct ofp_multipart *mp = (void *) (b->data + ofs);
    mp->type = htons(OFPMP_FLOW_DESC);
    struct ofp_flow_stats_request *rq = ofp_buf_put_zeros(b, sizeof *rq);
    rq->table_id = OFPTT_ALL;
    rq->out_port = htonl(OFPP_ANY);
    rq->out_group = htonl(OFPG_ANY);
    struct flow_match empty = { .n = 0 };
    ofp_put_match(b, &empty);
    msg_finish__(b, ofs);
}

int
ofp_decode_multipart_reply(const struct ofp_msg *msg, uint16_t *mp_type,
                           uint16_t *flags, const uint8_t **body,
                           size_t *body_len)
{
    if (msg->type != OFPT_MULTIPART_REPLY
        || msg->length < sizeof(struct ofp_multipart)) {
        return -EBADMSG;
    }
    const struct ofp_multipart *mp = (const void *) msg->data;
    *mp_type = ntohs(mp->type);
    *flags = ntohs(mp->flags);
    *body = msg->data + sizeof *mp;
    *body_len = msg->length - sizeof *mp;
    return 0;
}

/* Decodes the OXS statistics at 'p' and stores their padded length. */
static int
decode_oxs__(const uint8_t *p, size_t size, size_t *consumed,
             struct ofp_flow_counters *c)
{
    if (size < sizeof(struct ofp_stats)) {
        return -EBADMSG;
    }
    uint16_t len = get_be16__(p + 2);
    if (len < sizeof(struct ofp_stats) || round_up8__(len) > size) {
        return -EBADMSG;
    }
    *consumed = round_up8__(len);
    const uint8_t *q = p + sizeof(struct ofp_stats), *end = p + len;
    while (q < end) {
        if (end - q < 4) {
            return -EBADMSG;
        }
        uint32_t h = get_be32__(q);
        unsigned int tlv_len = OXM_LENGTH(h);
        if ((size_t) (end - q - 4) < tlv_len) {
            return -EBADMSG;
        }
        if (OXM_CLASS(h) == OFPXSC_OPENFLOW_BASIC && tlv_len == 8) {
            uint64_t v = get_uint__(q + 4, 8);
            switch (OXM_FIELD(h)) {
            case OFPXST_OFB_DURATION:
                c->duration_sec = v >> 32;
                break;
            case OFPXST_OFB_PACKET_COUNT:
                c->packets = v;
                break;
            case OFPXST_OFB_BYTE_COUNT:
                c->bytes = v;
                break;
            default:
                break;
            }
        }
        q += 4 + tlv_len;
    }
    return 0;
}

int
ofp_decode_flow_desc(const uint8_t *body, size_t size, size_t *consumed,
                     struct flow *out, struct ofp_flow_counters *c)
{
    struct ofp_flow_counters dummy;
    if (!c) {
        c = &dummy;
    }
    memset(c, 0, sizeof *c);
    flow_init(out, 0, 0, 0);
    if (size < sizeof(struct ofp_flow_desc)) {
        return -EBADMSG;
    }
    const struct ofp_flow_desc *fd = (const void *) body;
    size_t len = ntohs(fd->length);
    if (len < sizeof *fd || len > size) {
        return -EBADMSG;
    }
    *consumed = len;
    flow_init(out, fd->table_id, ntohs(fd->priority), be64toh(fd->cookie));

    const uint8_t *p = body + sizeof *fd;
    size_t left = len - sizeof *fd, n;
    int match_error = ofp_decode_match(p, left, &n, &out->match);
    if (match_error == -EBADMSG) {
        return match_error;
    }
    p += n;
    left -= n;
    int error = decode_oxs__(p, left, &n, c);
    if (error) {
        return error;
    }
    p += n;
    left -= n;
    error = decode_instructions__(p, left, out);
    if (error) {
        return error;
    }
    if (match_error) {
        set_placeholder__(out);
    }
    return match_error;
}

int
ofp_flow_desc_raw_match(const uint8_t *entry, size_t size,
                        const uint8_t **match, size_t *match_len)
{
    if (size < sizeof(struct ofp_flow_desc) + sizeof(struct ofp_match)) {
        return -EBADMSG;
    }
    const uint8_t *m = entry + sizeof(struct ofp_flow_desc);
    size_t len = round_up8__(get_be16__(m + 2));
    if (len < sizeof(struct ofp_match)
        || len > size - sizeof(struct ofp_flow_desc)) {
        return -EBADMSG;
    }
    *match = m;
    *match_len = len;
    return 0;
}

/* --- bundles ----------------------------------------------------------- */

void
ofp_put_bundle_ctrl(struct ofp_buf *b, uint32_t xid, uint32_t bundle_id,
                    enum ofp_bundle_ctrl_type type, uint16_t flags)
{
    size_t ofs = msg_start__(b, OFPT_BUNDLE_CONTROL, xid,
                             sizeof(struct ofp_bundle_ctrl_msg));
    struct ofp_bundle_ctrl_msg *bc = (void *) (b->data + ofs);
    bc->bundle_id = htonl(bundle_id);
    bc->type = htons(type);
    bc->flags = htons(flags);
}

int
ofp_decode_bundle_ctrl(const struct ofp_msg *msg, uint32_t *bundle_id,
                       uint16_t *type, uint16_t *flags)
{
    if (msg->type != OFPT_BUNDLE_CONTROL
        || msg->length < sizeof(struct ofp_bundle_ctrl_msg)) {
        return -EBADMSG;
    }
    const struct ofp_bundle_ctrl_msg *bc = (const void *) msg->data;
    *bundle_id = ntohl(bc->bundle_id);
    *type = ntohs(bc->type);
    *flags = ntohs(bc->flags);
    return 0;
}

int
ofp_put_bundle_flow_mod(struct ofp_buf *b, uint32_t xid, uint32_t bundle_id,
                        uint16_t flags, const struct flow *f,
                        enum ofp_flow_mod_command command)
{
    size_t ofs = msg_start__(b, OFPT_BUNDLE_ADD_MESSAGE, xid,
                             sizeof(struct ofp_bundle_add_msg));
    struct ofp_bundle_add_msg *ba = (void *) (b->data + ofs);
    ba->bundle_id = htonl(bundle_id);
    ba->flags = htons(flags);
    int error = ofp_put_flow_mod(b, xid, f, command);
    if (error) {
        b->size = ofs;
        return error;
    }
    return msg_finish__(b, ofs);
}

int
ofp_put_bundle_delete_raw(struct ofp_buf *b, uint32_t xid, uint32_t bundle_id,
                          uint16_t flags, uint8_t table, uint16_t priority,
                          const uint8_t *match, size_t match_len)
{
    size_t ofs = msg_start__(b, OFPT_BUNDLE_ADD_MESSAGE, xid,
                             sizeof(struct ofp_bundle_add_msg));
    struct ofp_bundle_add_msg *ba = (void *) (b->data + ofs);
    ba->bundle_id = htonl(bundle_id);
    ba->flags = htons(flags);
    size_t fm_ofs = flow_mod_start__(b, xid, table, priority, 0,
                                     OFPFC_DELETE_STRICT);
    memcpy(ofp_buf_put_zeros(b, match_len), match, match_len);
    int error = msg_finish__(b, fm_ofs);
    if (error) {
        b->size = ofs;
        return error;
    }
    return msg_finish__(b, ofs);
}
