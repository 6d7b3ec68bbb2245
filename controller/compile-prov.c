/* compile-prov.c — cookie -> provenance, computed on demand.
 *
 * A cookie names (kind, rule, 48-bit hash of an object name).  Rather than
 * storing an object path and a rule text for every object and rule (which
 * cost more than the flows themselves), the engine keeps its model and
 * answers a lookup by finding the object whose name hashes to the cookie
 * (a sorted index built on the first lookup after an apply) and formatting
 * the text then.  Formatted answers are cached by cookie so that the
 * strings returned stay valid until the next apply.
 */
#include "controller/compile-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/util.h"

struct compile_prov_key {
    uint64_t key;               /* kind << 48 | hash48 */
    uint32_t id;
};

struct compile_prov_entry {
    uint64_t cookie;
    char *object, *rule;
    const char *kind;
    uint32_t line, col;
};

struct compile_prov_cache {
    struct compile_prov_key *index;
    size_t n_index;
    struct compile_prov_entry *slots;   /* open addressing by cookie */
    size_t n, cap;
};

static const char *const compile_kind_names__[] = {
    [COMPILE_KIND_PIPELINE] = "pipeline",
    [COMPILE_KIND_HOST] = "host",
    [COMPILE_KIND_SWITCH] = "switch",
    [COMPILE_KIND_PORT] = "port",
    [COMPILE_KIND_ROUTER] = "router",
    [COMPILE_KIND_GATEWAY] = "gateway",
    [COMPILE_KIND_SG] = "security_group",
    [COMPILE_KIND_NFV] = "firewall",
};

void
compile_prov_invalidate(struct compiler *c)
{
    struct compile_prov_cache *pc = c->prov;
    if (!pc) {
        return;
    }
    for (size_t i = 0; i < pc->cap; i++) {
        free(pc->slots[i].object);
        free(pc->slots[i].rule);
    }
    free(pc->slots);
    free(pc->index);
    free(pc);
    c->prov = NULL;
}

static int
compile_prov_key_cmp__(const void *a_, const void *b_)
{
    const struct compile_prov_key *a = a_, *b = b_;
    if (a->key != b->key) {
        return a->key < b->key ? -1 : 1;
    }
    return a->id < b->id ? -1 : a->id > b->id;
}

static struct compile_prov_cache *
compile_prov_cache__(struct compiler *c)
{
    if (c->prov) {
        return c->prov;
    }
    struct compile_prov_cache *pc = xzalloc(sizeof *pc);
    pc->index = xcalloc(c->n_ports + c->n_switches + 1, sizeof *pc->index);
    for (size_t i = 0; i < c->n_ports; i++) {
        if (c->ports[i].live) {
            pc->index[pc->n_index++] = (struct compile_prov_key) {
                (uint64_t) COMPILE_KIND_PORT << 48
                | (compile_hash64(c->ports[i].name) & 0xffffffffffffULL),
                (uint32_t) i };
        }
    }
    for (size_t i = 0; i < c->n_switches; i++) {
        if (c->switches[i].live && !c->switches[i].external) {
            pc->index[pc->n_index++] = (struct compile_prov_key) {
                (uint64_t) COMPILE_KIND_SWITCH << 48
                | (compile_hash64(c->switches[i].name) & 0xffffffffffffULL),
                (uint32_t) i };
        }
    }
    util_qsort(pc->index, pc->n_index, sizeof *pc->index, compile_prov_key_cmp__);
    c->prov = pc;
    return pc;
}

/* The first object with 'key', or CE_NONE. */
static uint32_t
compile_prov_find__(const struct compile_prov_cache *pc, uint64_t key)
{
    size_t lo = 0, hi = pc->n_index;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pc->index[mid].key < key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < pc->n_index && pc->index[lo].key == key ? pc->index[lo].id
                                                        : CE_NONE;
}

static char * __attribute__((format(printf, 1, 2)))
compile_fmt__(const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) {
        abort();
    }
    va_end(ap);
    return s;
}

int
compile_cookie_default_deny(uint64_t cookie)
{
    unsigned int kind = cookie >> 56, rule = (cookie >> 48) & 0xff;
    if (kind != COMPILE_KIND_PORT) {
        return 0;
    }
    return rule == COMPILE_PORT_ACL_DENY_IN ? 1
           : rule == COMPILE_PORT_ACL_DENY_OUT ? 2 : 0;
}

/* Fills 'e' for 'cookie'; false when no object and rule make it. */
static bool
compile_prov_make__(struct compiler *c, uint64_t cookie,
                    struct compile_prov_entry *e)
{
    unsigned int kind = cookie >> 56, rule = (cookie >> 48) & 0xff;
    uint64_t key = (uint64_t) kind << 48 | (cookie & 0xffffffffffffULL);
    char mac[ETH_ADDR_STRLEN], ip[IP4_STRLEN];

    e->cookie = cookie;
    if (kind == COMPILE_KIND_PIPELINE) {
        static const char *const texts[] = {
            [TBL_CLASSIFY] = "classify: drop packets from unknown ports and VNIs",
            [TBL_PORT_SEC] = "port security: drop spoofed source MAC/IP",
            [TBL_ACL_IN] = "acl: ports without security groups send "
                           "unfiltered",
            [TBL_ACL_IN_RULES] = "acl: drop what no security group allows",
            [TBL_L2] = "l2: drop unknown unicast destinations",
            [TBL_ACL_OUT] = "acl: ports without security groups receive "
                            "unfiltered",
            [TBL_ACL_OUT_RULES] = "acl: drop what no security group allows",
            [TBL_OUTPUT] = "output: drop packets without an out port",
        };
        if (cookie != compile_cookie(kind, rule, COMPILE_PIPELINE_NAME)
            || rule >= ARRAY_SIZE(texts) || !texts[rule]) {
            return false;
        }
        e->kind = compile_kind_names__[kind];
        e->object = compile_fmt__("pipeline.table%u", rule);
        e->rule = xstrdup(texts[rule]);
        e->line = e->col = 0;
        return true;
    }
    if (kind == COMPILE_KIND_ROUTER) {
        if (!compile_l3_prov(c, cookie, &e->object, &e->rule, &e->line,
                             &e->col)) {
            return false;
        }
        e->kind = compile_kind_names__[kind];
        return true;
    }
    if (kind == COMPILE_KIND_SG) {
        if (!compile_sg_prov(c, cookie, &e->object, &e->rule, &e->line,
                             &e->col)) {
            return false;
        }
        e->kind = compile_kind_names__[kind];
        return true;
    }
    if (kind == COMPILE_KIND_NFV) {
        if (!compile_nfv_prov(c, cookie, &e->object, &e->rule, &e->line,
                              &e->col)) {
            return false;
        }
        e->kind = compile_kind_names__[kind];
        return true;
    }
    if (kind == COMPILE_KIND_GATEWAY) {
        if (!compile_gw_prov(c, cookie, &e->object, &e->rule, &e->line,
                             &e->col)) {
            return false;
        }
        e->kind = compile_kind_names__[kind];
        return true;
    }
    if (kind != COMPILE_KIND_PORT && kind != COMPILE_KIND_SWITCH) {
        return false;
    }
    uint32_t id = compile_prov_find__(compile_prov_cache__(c), key);
    if (id == CE_NONE) {
        return false;
    }
    e->kind = compile_kind_names__[kind];
    if (kind == COMPILE_KIND_SWITCH) {
        const struct cswitch *sw = &c->switches[id];
        switch (rule) {
        case COMPILE_SWITCH_TUNNEL_IN:
            e->rule = compile_fmt__("classify: tunnel packets with vni %u "
                                    "into switch %s", sw->vni, sw->name);
            break;
        case COMPILE_SWITCH_FLOOD_LOCAL:
            e->rule = compile_fmt__("l2: flood broadcast/multicast of switch "
                                    "%s to its local ports and hosts",
                                    sw->name);
            break;
        case COMPILE_SWITCH_FLOOD_TUNNEL:
            e->rule = compile_fmt__("l2: flood broadcast/multicast of switch "
                                    "%s from a tunnel to its local ports",
                                    sw->name);
            break;
        default:
            return false;
        }
        e->object = compile_fmt__("switches.%s", sw->name);
        e->line = sw->line;
        e->col = sw->col;
        return true;
    }

    const struct cport *tp = &c->ports[id];
    const struct chost *th = &c->hosts[tp->host];
    const struct cswitch *sw = &c->switches[tp->sw];
    uint32_t o = tp->ofport;
    eth_format(tp->mac, mac);
    ip4_format(tp->ip, ip);
    switch (rule) {
    case COMPILE_PORT_CLASSIFY:
        e->rule = compile_fmt__("classify: port %s (port %u on %s) into "
                                "switch %s (vni %u)", tp->name, o, th->name,
                                sw->name, sw->vni);
        break;
    case COMPILE_PORT_SEC_IP:
        if (!tp->ip) {
            return false;
        }
        e->rule = compile_fmt__("port security: allow %s from %s", ip, mac);
        break;
    case COMPILE_PORT_SEC_ARP:
        if (!tp->ip) {
            return false;
        }
        e->rule = compile_fmt__("port security: allow ARP for %s from %s",
                                ip, mac);
        break;
    case COMPILE_PORT_SEC_MAC:
        if (tp->ip) {
            return false;
        }
        e->rule = compile_fmt__("port security: allow any address from %s "
                                "(port has no ip)", mac);
        break;
    case COMPILE_PORT_L2_LOCAL:
        e->rule = compile_fmt__("l2: deliver to %s (local port %u)",
                                tp->name, o);
        break;
    case COMPILE_PORT_L2_REMOTE:
        ip4_format(th->tunnel_ip, ip);
        e->rule = compile_fmt__("l2: tunnel to %s on %s (%s)", tp->name,
                                th->name, ip);
        break;
    case COMPILE_PORT_OUTPUT:
        e->rule = compile_fmt__("output: to %s (port %u)", tp->name, o);
        break;
    case COMPILE_PORT_ACL_CT:
        e->rule = compile_fmt__("acl: conntrack of %s (zone %u)", tp->name,
                                COMPILE_SG_ZONE_BASE + o);
        break;
    case COMPILE_PORT_ACL_DHCP:
        e->rule = compile_fmt__("acl: DHCP from %s to the agent bypasses "
                                "its egress rules", tp->name);
        break;
    case COMPILE_PORT_ACL_EST:
        e->rule = compile_fmt__("acl: established and related traffic of "
                                "%s passes", tp->name);
        break;
    case COMPILE_PORT_ACL_INV:
        e->rule = compile_fmt__("acl: drop invalid conntrack state of %s",
                                tp->name);
        break;
    case COMPILE_PORT_ACL_NEXT:
        e->rule = compile_fmt__("acl: no rule of this group of %s matched: "
                                "next group", tp->name);
        break;
    case COMPILE_PORT_ACL_AGENT:
        e->rule = compile_fmt__("acl: answers of the agent reach %s "
                                "unfiltered", tp->name);
        break;
    case COMPILE_PORT_ACL_ARP:
        e->rule = compile_fmt__("acl: ARP of %s passes", tp->name);
        break;
    case COMPILE_PORT_ACL_OTHER:
        e->rule = compile_fmt__("acl: drop what %s sends or receives that "
                                "is neither IPv4 nor ARP", tp->name);
        break;
    case COMPILE_PORT_ACL_DENY_IN:
    case COMPILE_PORT_ACL_DENY_OUT:
        e->rule = compile_fmt__("acl: no security group of %s allows this "
                                "%s packet: drop (default deny)", tp->name,
                                rule == COMPILE_PORT_ACL_DENY_IN ? "incoming"
                                                                 : "outgoing");
        break;
    case COMPILE_PORT_ACL_REJECT:
        e->rule = compile_fmt__("acl: no group of %s allows, one rejects: "
                                "reject", tp->name);
        break;
    default:
        return false;
    }
    e->object = compile_fmt__("ports.%s", tp->name);
    e->line = tp->line;
    e->col = tp->col;
    return true;
}

static struct compile_prov_entry *
compile_prov_slot__(struct compile_prov_cache *pc, uint64_t cookie)
{
    size_t mask = pc->cap - 1;
    for (size_t i = hash_bytes(&cookie, 8, 0) & mask;; i = (i + 1) & mask) {
        if (!pc->slots[i].object || pc->slots[i].cookie == cookie) {
            return &pc->slots[i];
        }
    }
}

bool
compiler_provenance(struct compiler *c, uint64_t cookie,
                    struct compile_provenance *out)
{
    struct compile_prov_cache *pc = compile_prov_cache__(c);
    struct compile_prov_entry *e = NULL;

    if (pc->cap) {
        e = compile_prov_slot__(pc, cookie);
    }
    if (!e || !e->object) {
        struct compile_prov_entry ne;
        if (!compile_prov_make__(c, cookie, &ne)) {
            return false;
        }
        if ((pc->n + 1) * 2 > pc->cap) {
            struct compile_prov_entry *old = pc->slots;
            size_t old_cap = pc->cap;
            pc->cap = old_cap ? old_cap * 2 : 64;
            pc->slots = xcalloc(pc->cap, sizeof *pc->slots);
            for (size_t i = 0; i < old_cap; i++) {
                if (old[i].object) {
                    *compile_prov_slot__(pc, old[i].cookie) = old[i];
                }
            }
            free(old);
        }
        e = compile_prov_slot__(pc, cookie);
        *e = ne;
        pc->n++;
    }
    out->kind = e->kind;
    out->object = e->object;
    out->file = c->file;
    out->line = e->line;
    out->col = e->col;
    out->rule = e->rule;
    return true;
}
