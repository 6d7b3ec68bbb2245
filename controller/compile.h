/* compile.h — the compiler: logical topology -> one typed flow set per host.
 *
 * What: compile_topology() turns a validated topo into, for every host, the
 * flows of its br-int pipeline (see docs/pipeline.md), the workload ports it
 * must attach (interface -> OpenFlow port number) and its underlay settings.
 * Every flow carries a cookie naming the object and rule it came from;
 * compile_provenance() maps a cookie back to the object path and YAML line.
 *
 * Design: deterministic — the same topology (and the same previous result)
 * gives byte-identical flow sets.  OpenFlow port numbers are allocated per
 * host and kept stable across recompiles when a previous result is given
 * (a port keeps its number; new ports take free ones), so that a change
 * touches only the flows of the objects that changed.
 * compile_changed_hosts() says which hosts' outputs differ between two
 * results: the basis of `anetctl plan` and of what the controller pushes.
 *
 * Thread-safety: results are immutable once returned.
 */
#ifndef ANET_COMPILE_H
#define ANET_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "datapath/flow.h"

struct topo;

/* Pipeline tables (br-int). */
enum compile_table {
    TBL_CLASSIFY = 0,
    TBL_PORT_SEC = 10,
    TBL_ACL_IN = 20,
    TBL_L2 = 30,
    TBL_L3 = 40,
    TBL_SERVICE = 50,
    TBL_ACL_OUT = 60,
    TBL_OUTPUT = 70,
};

/* The Geneve port's OpenFlow number on every host. */
#define COMPILE_TUNNEL_OFPORT 4000

struct compiled_port {
    char *name;            /* logical port */
    char *iface;           /* interface to attach */
    uint32_t ofport;
    uint64_t mac;
    char *switch_name;
};

struct compiled_host {
    char *name;
    uint32_t tunnel_ip;
    unsigned int tunnel_plen;
    char *underlay_iface;
    struct compiled_port *ports;  size_t n_ports;   /* sorted by name */
    struct flow_set flows;                          /* sorted */
};

struct compile_result {
    struct compiled_host *hosts;  size_t n_hosts;   /* sorted by name */
    /* provenance table, internal */
    struct compile_prov *prov;    size_t n_prov;
};

/* Compiles 'topo'.  'prev' (may be NULL) keeps OpenFlow port numbers
 * stable.  Never fails on a validated topology. */
struct compile_result *compile_topology(const struct topo *,
                                        const struct compile_result *prev);
void compile_result_destroy(struct compile_result *);   /* NULL-safe */

const struct compiled_host *compile_find_host(const struct compile_result *,
                                              const char *name);

/* Where a flow came from. */
struct compile_provenance {
    const char *kind;       /* "switch", "port", "host", "pipeline" */
    const char *object;     /* object path, e.g. "ports.web1" */
    const char *file;
    unsigned int line, col;
    const char *rule;       /* what the flow does, e.g. "l2: deliver to web1" */
};
/* Returns false when the cookie is unknown to this result. */
bool compile_provenance(const struct compile_result *, uint64_t cookie,
                        struct compile_provenance *out);

/* Per host: true if its ports, underlay settings or flows differ between
 * 'a' and 'b' (a host present in only one of them counts as changed).
 * Calls 'cb' for each changed host with the two versions (either may be
 * NULL). */
typedef void compile_host_cb(void *aux, const struct compiled_host *old_host,
                             const struct compiled_host *new_host);
void compile_changed_hosts(const struct compile_result *a,
                           const struct compile_result *b,
                           compile_host_cb *, void *aux);

#endif
