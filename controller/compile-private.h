/* compile-private.h — the compiler engine's internals, shared by
 * compile-engine.c (model, apply, dirty tracking, deltas), compile-flows.c
 * (flow generators and the compact flow encoding), compile-prov.c
 * (provenance on demand) and compile.c (the compile_result API).
 *
 * Objects live in arrays indexed by a 32-bit id; names map to ids through
 * open-addressing tables.  Compiled flows are stored as compact records
 * (struct cflows: one malloc'd byte string per producing object and host),
 * never as struct flow, which costs several hundred bytes each.
 */
#ifndef ANET_COMPILE_PRIVATE_H
#define ANET_COMPILE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/compile.h"

#define CE_NONE UINT32_MAX
#define COMPILE_MAX_OFPORT 3999u

/* Cookie kinds and rules (docs/pipeline.md). */
enum compile_kind {
    COMPILE_KIND_PIPELINE = 1,
    COMPILE_KIND_HOST = 2,
    COMPILE_KIND_SWITCH = 3,
    COMPILE_KIND_PORT = 4,
};
enum {
    COMPILE_PORT_CLASSIFY = 1,
    COMPILE_PORT_SEC_IP = 2,
    COMPILE_PORT_SEC_ARP = 3,
    COMPILE_PORT_SEC_MAC = 4,
    COMPILE_PORT_L2_LOCAL = 5,
    COMPILE_PORT_L2_REMOTE = 6,
    COMPILE_PORT_OUTPUT = 7,
};
enum {
    COMPILE_SWITCH_TUNNEL_IN = 1,
    COMPILE_SWITCH_FLOOD_LOCAL = 2,
    COMPILE_SWITCH_FLOOD_TUNNEL = 3,
};
#define COMPILE_PIPELINE_NAME "pipeline"

/* A packed list of flow records.  Record: u32 total length, u16 key length,
 * key (table, priority, fields), value (cookie, actions); integers as
 * LEB128 varints. */
struct cflows {
    uint8_t *buf;
    uint32_t len, n;
};

/* A growable scratch buffer. */
struct cbuf {
    uint8_t *p;
    size_t len, cap;
    uint32_t n;
};

/* A changed record waiting in the current apply for compile_delta_finish__()
 * to pair it with the other side by key: 'host' is the index of its host in
 * the delta, 'side' 0 for an old record and 1 for a new one, 'off' where its
 * copy starts in struct compiler's 'drecs'. */
struct cdelta_rec {
    uint32_t host, side;
    size_t off;
};

/* Name -> id, open addressing, linear probing; 'names' points into the
 * owning object. */
struct cmap {
    struct cmap_slot { uint32_t hash, id; const char *name; } *slots;
    size_t n, cap;          /* cap is 0 or a power of two */
};

struct cport {
    char *name, *iface;
    uint32_t host, sw;          /* ids */
    uint32_t ip;
    uint64_t mac;
    uint32_t line, col;
    uint32_t ofport;
    uint32_t host_pos, sw_pos;  /* positions in the host's / switch's list */
    uint32_t fl_host;           /* where 'fl' is installed, CE_NONE if not */
    struct cflows fl;           /* classify, port security, output */
    bool live, dirty, seen, pending;
};

struct chost {
    char *name, *underlay;
    uint32_t tunnel_ip;
    unsigned int plen;
    uint32_t line, col;
    uint32_t *ports;  size_t n_ports, cap_ports;
    uint8_t taken[(COMPILE_MAX_OFPORT + 8) / 8];
    struct cflows defaults;
    uint32_t stamp;             /* scratch for set membership */
    uint32_t delta;             /* index in the apply's delta or CE_NONE */
    bool live, seen, dirty;
};

struct cswitch_block {
    uint32_t host;
    struct cflows fl;
};

struct cswitch {
    char *name;
    uint32_t vni;
    uint32_t line, col;
    uint32_t *ports;  size_t n_ports, cap_ports;
    struct cswitch_block *blocks;  size_t n_blocks, cap_blocks;
    uint32_t stamp;             /* scratch for set membership */
    bool live, seen, dirty;
};

struct compiler {
    char *file;
    struct cport *ports;      size_t n_ports, cap_ports;
    struct chost *hosts;      size_t n_hosts, cap_hosts;
    struct cswitch *switches; size_t n_switches, cap_switches;
    uint32_t *free_ports;     size_t n_free_ports, cap_free_ports;
    struct cmap port_map, host_map, switch_map;
    uint32_t *dirty_ports;    size_t n_dirty_ports, cap_dirty_ports;
    uint32_t *dirty_sw;       size_t n_dirty_sw, cap_dirty_sw;
    uint32_t *pending;        size_t n_pending, cap_pending;  /* to number */
    size_t n_dead;            /* hosts/switches to free at commit */
    uint32_t stamp;
    size_t n_flows;
    struct cbuf scratch;

    /* Delta being built by the current apply (NULL when not wanted): the
     * changed records are kept encoded (copies in 'drecs', listed in
     * 'drec') and decoded only once paired; 'rold'/'rnew' are scratch
     * record lists. */
    struct compile_delta *delta;
    size_t delta_cap;
    struct cbuf drecs;
    struct cdelta_rec *drec;  size_t n_drec, cap_drec;
    const uint8_t **rold;     size_t cap_rold;
    const uint8_t **rnew;     size_t cap_rnew;

    /* Provenance: lookup index and string cache (compile-prov.c). */
    struct compile_prov_cache *prov;
};

/* Name maps. */
uint32_t cmap_find(const struct cmap *, const char *name);
void cmap_insert(struct cmap *, const char *name, uint32_t id);
void cmap_remove(struct cmap *, const char *name);
void cmap_destroy(struct cmap *);

/* Cookies. */
uint64_t compile_hash64(const char *);
uint64_t compile_cookie(unsigned int kind, unsigned int rule,
                        const char *name);

/* Encoding. */
void cbuf_reset(struct cbuf *);
void cbuf_add_flow(struct cbuf *, const struct flow *);
void cflows_set(struct cflows *, const struct cbuf *);
void cflows_clear(struct cflows *);
bool cflows_equal(const struct cflows *, const struct cflows *);
/* Appends the decoded flows to 'out' (unsorted). */
void cflows_decode(const struct cflows *, struct flow_set *out);

/* Single records.  cflows_index() stores pointers to the records of 'c' in
 * '*v' (grown as needed) and returns their number.  crec_len() is a
 * record's size in bytes.  crec_key_cmp() orders records by their key
 * bytes (table, priority, match): 0 exactly when flow_key_cmp() of the
 * decoded flows is 0, though the order differs.  crec_cmp() orders by key,
 * then by the whole record: 0 exactly when flow_equal().  crec_decode()
 * appends the decoded flow to 'out'. */
size_t cflows_index(const struct cflows *c, const uint8_t ***v, size_t *cap);
uint32_t crec_len(const uint8_t *rec);
int crec_key_cmp(const uint8_t *a, const uint8_t *b);
int crec_cmp(const uint8_t *a, const uint8_t *b);
void crec_decode(const uint8_t *rec, struct flow_set *out);
/* Appends raw bytes to 'b'. */
void cbuf_append(struct cbuf *, const void *, size_t);

/* Generators: encode into 'out' (reset first). */
void compile_gen_defaults(struct cbuf *out);
void compile_gen_port(const struct compiler *, const struct cport *,
                      struct cbuf *out);
/* 'ports' are the switch's ports sorted by name, 'hosts' the distinct
 * hosts with ports on it sorted by name. */
void compile_gen_switch_block(const struct compiler *, const struct cswitch *,
                              uint32_t host, const uint32_t *ports,
                              size_t n_ports, const uint32_t *hosts,
                              size_t n_hosts, struct cbuf *out);

/* Provenance. */
void compile_prov_invalidate(struct compiler *);

#endif
