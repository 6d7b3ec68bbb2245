/* flow.h — the typed OpenFlow flow that the compiler builds, the controller
 * ships to agents, and the OpenFlow codec encodes.
 *
 * What: a flow is (table, priority, match) as its key plus cookie and an
 * action list as its value.  A match is a short array of fields, sorted by
 * field id, each with a value and a mask in host byte order (a MAC lives in
 * the low 48 bits; an unmasked field has mask = all ones of its width).
 *
 * Design: the field and action vocabularies are X-macros, so that names (for
 * humans and tests), OXM/NXM wire ids (for the codec) and the protobuf field
 * numbers (for the controller<->agent protocol) all come from one table.  The
 * numeric ids below are part of the wire protocol: append, never renumber.
 * There is no string flow syntax on any product path; flow_format() exists
 * for logs, `anetctl flows` and tests, and prints the ovs-ofctl spelling.
 *
 * Thread-safety: none; plain data.
 */
#ifndef ANET_FLOW_H
#define ANET_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X(ENUM, id, "ovs-ofctl name", oxm_class, oxm_field, width_bytes, maskable)
 * oxm_class 0x8000 = OFPXMC_OPENFLOW_BASIC, 0x0001 = NXM_1 (Nicira). */
#define FLOW_FIELDS(X)                                              \
    X(IN_PORT,     0, "in_port",   0x8000,  0, 4, false)            \
    X(METADATA,    1, "metadata",  0x8000,  2, 8, true)             \
    X(ETH_DST,     2, "dl_dst",    0x8000,  3, 6, true)             \
    X(ETH_SRC,     3, "dl_src",    0x8000,  4, 6, true)             \
    X(ETH_TYPE,    4, "dl_type",   0x8000,  5, 2, false)            \
    X(VLAN_VID,    5, "vlan_vid",  0x8000,  6, 2, true)             \
    X(IP_PROTO,    6, "nw_proto",  0x8000, 10, 1, false)            \
    X(IPV4_SRC,    7, "nw_src",    0x8000, 11, 4, true)             \
    X(IPV4_DST,    8, "nw_dst",    0x8000, 12, 4, true)             \
    X(TCP_SRC,     9, "tcp_src",   0x8000, 13, 2, true)             \
    X(TCP_DST,    10, "tcp_dst",   0x8000, 14, 2, true)             \
    X(UDP_SRC,    11, "udp_src",   0x8000, 15, 2, true)             \
    X(UDP_DST,    12, "udp_dst",   0x8000, 16, 2, true)             \
    X(ICMP_TYPE,  13, "icmp_type", 0x8000, 19, 1, false)            \
    X(ICMP_CODE,  14, "icmp_code", 0x8000, 20, 1, false)            \
    X(ARP_OP,     15, "arp_op",    0x8000, 21, 2, false)            \
    X(ARP_SPA,    16, "arp_spa",   0x8000, 22, 4, true)             \
    X(ARP_TPA,    17, "arp_tpa",   0x8000, 23, 4, true)             \
    X(ARP_SHA,    18, "arp_sha",   0x8000, 24, 6, true)             \
    X(ARP_THA,    19, "arp_tha",   0x8000, 25, 6, true)             \
    X(TUN_ID,     20, "tun_id",    0x8000, 38, 8, true)             \
    X(REG0,       21, "reg0",      0x0001,  0, 4, true)             \
    X(REG1,       22, "reg1",      0x0001,  1, 4, true)             \
    X(REG2,       23, "reg2",      0x0001,  2, 4, true)             \
    X(REG3,       24, "reg3",      0x0001,  3, 4, true)             \
    X(REG4,       25, "reg4",      0x0001,  4, 4, true)             \
    X(REG5,       26, "reg5",      0x0001,  5, 4, true)             \
    X(REG6,       27, "reg6",      0x0001,  6, 4, true)             \
    X(REG7,       28, "reg7",      0x0001,  7, 4, true)             \
    X(REG13,      29, "reg13",     0x0001, 13, 4, true)             \
    X(REG14,      30, "reg14",     0x0001, 14, 4, true)             \
    X(REG15,      31, "reg15",     0x0001, 15, 4, true)             \
    X(TUN_SRC,    32, "tun_src",   0x0001, 31, 4, true)             \
    X(TUN_DST,    33, "tun_dst",   0x0001, 32, 4, true)             \
    X(CT_STATE,   34, "ct_state",  0x0001, 105, 4, true)            \
    X(CT_ZONE,    35, "ct_zone",   0x0001, 106, 2, false)           \
    X(CT_MARK,    36, "ct_mark",   0x0001, 107, 4, true)            \
    X(IP_TTL,     37, "nw_ttl",    0x0001, 29, 1, false)            \
    /* NXM_OF_IN_PORT: the 16-bit in_port; only for set_field, where 0 \
     * means "no port" (OXM in_port refuses that) so that a packet may be \
     * output back to the port it came in on. */                        \
    X(NXM_IN_PORT, 38, "nxm_in_port", 0x0000, 0, 2, false)          \
    X(CONJ_ID,    39, "conj_id",   0x0001, 37, 4, false)

enum flow_field_id {
#define FLOW_FIELD_ENUM__(E, ID, NAME, CLS, FLD, W, M) FF_##E = ID,
    FLOW_FIELDS(FLOW_FIELD_ENUM__)
#undef FLOW_FIELD_ENUM__
    FF_N_FIELDS
};

struct flow_field_info {
    const char *name;
    uint16_t oxm_class;
    uint8_t oxm_field;
    uint8_t width;        /* bytes on the wire */
    bool maskable;
};
/* Returns NULL for an unknown id. */
const struct flow_field_info *flow_field_info(unsigned int id);
/* Returns the field id for an ovs-ofctl name, or -1. */
int flow_field_by_name(const char *name);
/* All ones in the field's width. */
uint64_t flow_field_full_mask(unsigned int id);

/* Actions.  X(ENUM, id, "name").  Arguments, by type:
 *   OUTPUT      arg = OpenFlow port number (0xfffffff8 = IN_PORT,
 *               0xfffffffd = CONTROLLER, 0xfffffffb = NORMAL)
 *   SET_FIELD   field = flow_field_id, value (host order, field's width)
 *   RESUBMIT    arg = table (NXAST_RESUBMIT_TABLE, in_port unchanged)
 *   DEC_TTL     (no arguments)
 *   CONTROLLER  arg = max_len, value = reason/userdata cookie (low 16 bits)
 *   CT          arg = zone, field = flags (1 = commit), value = recirc table
 *               (0xff = none)
 *   MOVE        field = source field, arg = destination field id
 *   NAT         only right after a CT, which the codec nests it in
 *               (ct(...,nat(...))): field = flags (1 = src, 2 = dst, 0 = no
 *               arguments: apply the connection's existing translation),
 *               arg = IPv4 address (host order), value = port_min << 16 |
 *               port_max (0 = keep the port)
 *   CONJUNCTION field = clause k (1-based), arg = conjunction id,
 *               value = number of clauses n (NXAST_CONJUNCTION k/n)
 */
#define FLOW_ACTIONS(X)          \
    X(OUTPUT,     0, "output")    \
    X(SET_FIELD,  1, "set_field") \
    X(RESUBMIT,   2, "resubmit")  \
    X(DEC_TTL,    3, "dec_ttl")   \
    X(CONTROLLER, 4, "controller") \
    X(CT,         5, "ct")        \
    X(MOVE,       6, "move")      \
    X(NAT,        7, "nat")       \
    X(CONJUNCTION, 8, "conjunction")

enum flow_action_type {
#define FLOW_ACTION_ENUM__(E, ID, NAME) FA_##E = ID,
    FLOW_ACTIONS(FLOW_ACTION_ENUM__)
#undef FLOW_ACTION_ENUM__
    FA_N_TYPES
};
const char *flow_action_name(unsigned int type);

#define OFPP_IN_PORT    0xfffffff8u
#define OFPP_NORMAL     0xfffffffau
#define OFPP_FLOOD      0xfffffffbu
#define OFPP_CONTROLLER 0xfffffffdu
#define OFPP_LOCAL      0xfffffffeu
#define OFPP_ANY        0xffffffffu

struct flow_field {
    uint8_t id;           /* enum flow_field_id */
    uint64_t value;
    uint64_t mask;
};

#define FLOW_MAX_FIELDS 12
struct flow_match {
    uint8_t n;
    struct flow_field f[FLOW_MAX_FIELDS];   /* sorted by id, unique ids */
};

struct flow_action {
    uint8_t type;         /* enum flow_action_type */
    uint8_t field;
    uint32_t arg;
    uint64_t value;
};

struct flow {
    uint8_t table;
    uint16_t priority;
    uint64_t cookie;
    struct flow_match match;
    uint16_t n_actions;       /* 0 = drop */
    struct flow_action *actions;   /* owned, heap */
};

/* Building.  flow_match_set() replaces an existing field of the same id;
 * mask 0 means "exact" (full mask).  Returns 0, -E2BIG when the match is full,
 * -EINVAL for an unknown field. */
int flow_match_set(struct flow_match *, unsigned int id, uint64_t value,
                   uint64_t mask);
const struct flow_field *flow_match_get(const struct flow_match *,
                                        unsigned int id);
void flow_init(struct flow *, uint8_t table, uint16_t priority,
               uint64_t cookie);
void flow_add_action(struct flow *, uint8_t type, uint8_t field, uint32_t arg,
                     uint64_t value);
static inline void flow_output(struct flow *f, uint32_t port)
{ flow_add_action(f, FA_OUTPUT, 0, port, 0); }
static inline void flow_set_field(struct flow *f, unsigned int id, uint64_t v)
{ flow_add_action(f, FA_SET_FIELD, id, 0, v); }
static inline void flow_resubmit(struct flow *f, uint8_t table)
{ flow_add_action(f, FA_RESUBMIT, 0, table, 0); }
/* Replaces f's action list by room for 'n' actions (n_actions untouched):
 * for decoders that fill the array themselves. */
void flow_alloc_actions(struct flow *, size_t n);
void flow_destroy(struct flow *);           /* frees actions; NULL-safe */
void flow_clone(struct flow *dst, const struct flow *src);

/* Comparison.  flow_key_cmp() orders by table, priority (descending), then
 * match; flows with equal keys are the same OpenFlow rule.  flow_equal()
 * also compares cookie and actions. */
int flow_key_cmp(const struct flow *, const struct flow *);
bool flow_actions_equal(const struct flow *, const struct flow *);
bool flow_equal(const struct flow *, const struct flow *);
uint32_t flow_key_hash(const struct flow *);

/* Human/test text in ovs-ofctl's dump-flows spelling, e.g.
 * "cookie=0x..., table=30, priority=100,metadata=0x5,dl_dst=.. actions=output:3"
 * Returns a heap string. */
char *flow_format(const struct flow *);
char *flow_format_match(const struct flow_match *);
char *flow_format_actions(const struct flow *);

/* A set of flows (one host's desired or installed table). */
struct flow_set {
    size_t n, cap;
    struct flow *flows;
};
void flow_set_init(struct flow_set *);
void flow_set_destroy(struct flow_set *);     /* NULL-safe */
/* Appends 'f', taking ownership of its actions (f is left empty). */
void flow_set_take(struct flow_set *, struct flow *f);
/* Sorts into canonical order (flow_key_cmp).  Duplicate keys are an
 * internal error of the caller; flow_set_sort() keeps the last one. */
void flow_set_sort(struct flow_set *);
/* Requires both sets sorted.  Calls 'cb' for each difference: old == NULL
 * for an addition, new == NULL for a removal, both for a modification. */
typedef void flow_diff_cb(void *aux, const struct flow *old_flow,
                          const struct flow *new_flow);
void flow_set_diff(const struct flow_set *old_set,
                   const struct flow_set *new_set, flow_diff_cb *, void *aux);
bool flow_set_equal(const struct flow_set *, const struct flow_set *);

#endif
