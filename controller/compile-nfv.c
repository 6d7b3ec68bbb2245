/* compile-nfv.c — anet-nfv instances in the pipeline: firewalls (vAF)
 * inserted into routed traffic, load balancers (vAD) as ports.
 *
 * Firewall: a vAF instance on router r between switches A = sw[0] and
 * B = sw[1] is a bump in the wire with two ports on its host X: LEFT faces
 * A, RIGHT faces B.  Traffic r routes from A to B is routed as usual on its
 * source host (table 41: TTL, MACs) and then, instead of entering B's L2
 * table, goes into the LEFT port — directly on X, else through the tunnel
 * with a steering VNI of its own (table 0 of X hands it to the port).  What
 * the instance lets through leaves its RIGHT port and X classifies it into
 * B's L2 table (metadata = B), which delivers it (locally or through the
 * tunnel) to the destination, whose ingress ACL still applies.  B to A is
 * the mirror image (into RIGHT, out of LEFT into A).  A frame the instance
 * makes itself (a reject's TCP reset or ICMP error) leaves the port it came
 * in on, addressed to the router's MAC on the other side: X routes it back
 * (reg14 = the router port key | COMPILE_NFV_FROM_FW, a key no steering flow
 * matches) to the sender.
 *
 * Flows: the steering flows (table 41, priority 110, per destination ip
 * and per direction: `reg14=key(A), reg15=key(B), reg0=ip`) and, on X, the
 * classification of the steering VNIs and of the instance's ports (table
 * 0) are part of router r's block on each host of its component (X is one:
 * compile_l3_prepare() adds every firewall's host to the hosts of its
 * router's component, workloads or not), generated
 * per host by compile_nfv_gen_router_host() after the router's shared
 * flows.  A firewall set that changes (rules, host, switches, ports) dirties
 * its router; so does anything else that changes the router's neighbours.
 *
 * Numbers: the instance's OpenFlow ports are COMPILE_NFV_OFPORT_BASE + 2 *
 * slot + side, the slot FNV-1a(name) mod COMPILE_NFV_SLOTS probed past the
 * other firewalls of the host (name order): stable while the set of
 * firewalls on the host does not collide.  The steering VNIs, one per side,
 * avoid every switch's and external network's VNI and each other.
 *
 * Load balancer: the loader adds its port (a workload port, nfv = true,
 * ip = the VIP) to the topology, so L2, ARP, routing and ACLs treat it as
 * any port; here it only becomes an instance of the host.
 *
 * Instances: compile_nfv_host_instances() lists a host's instances with a
 * hash of each one's policy (the controller sends the policy itself, from
 * the topology); a change of a host's list or of a policy counts as a
 * config change of the host.
 */
#include "controller/compile-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/topo.h"
#include "lib/addr.h"
#include "lib/util.h"

#define NFV_ETH_IP 0x0800

/* FNV-1a mix of 64 bits into 'h'. */
static uint64_t
nfv_mix__(uint64_t h, uint64_t x)
{
    for (int i = 0; i < 8; i++) {
        h ^= (x >> (8 * i)) & 0xff;
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t
nfv_mix_str__(uint64_t h, const char *s)
{
    return nfv_mix__(h, compile_hash64(s ? s : ""));
}

static uint64_t
nfv_cidrs_hash__(uint64_t h, const struct topo_cidr *v, size_t n)
{
    h = nfv_mix__(h, n);
    for (size_t i = 0; i < n; i++) {
        h = nfv_mix__(h, (uint64_t) v[i].net << 8 | v[i].plen);
    }
    return h;
}

/* The policy of a firewall, as the instance gets it. */
static uint64_t
nfv_fw_policy_hash__(const struct topo_firewall *fw)
{
    uint64_t h = 14695981039346656037ULL;
    h = nfv_mix__(h, (uint64_t) fw->default_action << 32
                     | fw->max_connections);
    for (size_t i = 0; i < fw->n_rules; i++) {
        const struct topo_fw_rule *r = &fw->rules[i];
        h = nfv_mix__(h, (uint64_t) r->proto << 56 | (uint64_t) r->action << 48
                         | (uint64_t) r->port_min << 16 | r->port_max);
        h = nfv_mix__(h, (uint64_t) (uint32_t) r->icmp_type << 1 | r->log);
        h = nfv_cidrs_hash__(h, r->src, r->n_src);
        h = nfv_cidrs_hash__(h, r->dst, r->n_dst);
        h = nfv_mix__(h, (uint64_t) r->mark.line << 32 | r->mark.col);
    }
    return h;
}

static uint64_t
nfv_lb_policy_hash__(const struct topo *t, const struct topo_lb *lb)
{
    uint64_t h = 14695981039346656037ULL;
    h = nfv_mix__(h, lb->vip);
    for (size_t i = 0; i < lb->n_services; i++) {
        const struct topo_lb_service *s = &lb->services[i];
        h = nfv_mix__(h, (uint64_t) s->proto << 48 | (uint64_t) s->port << 32
                         | s->health_interval_ms);
        for (size_t k = 0; k < s->n_backends; k++) {
            const struct topo_lb_backend *b = &s->backends[k];
            const struct topo_port *p = &t->ports[b->port];
            h = nfv_mix__(h, (uint64_t) p->ip << 32 | (uint64_t) b->to_port
                             << 16 | b->weight);
            h = nfv_mix__(h, p->mac);
        }
    }
    return h;
}

void
compile_nfv_free(struct compiler *c)
{
    for (size_t i = 0; i < c->n_fws; i++) {
        free(c->fws[i].name);
    }
    free(c->fws);
    for (size_t i = 0; i < c->n_lbs; i++) {
        free(c->lbs[i].name);
    }
    free(c->lbs);
    c->fws = NULL;
    c->lbs = NULL;
    c->n_fws = c->n_lbs = 0;
}

static bool
nfv_vni_used__(const struct compiler *c, const struct cfw *fws, size_t n,
               uint32_t vni)
{
    for (size_t i = 0; i < c->n_switches; i++) {
        if (c->switches[i].live && c->switches[i].vni == vni) {
            return true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (fws[i].vni[0] == vni || fws[i].vni[1] == vni) {
            return true;
        }
    }
    return false;
}

static bool
nfv_fw_equal__(const struct cfw *a, const struct cfw *b)
{
    return !strcmp(a->name, b->name) && a->router == b->router
           && a->host == b->host && a->host_ip == b->host_ip
           && !memcmp(a->sw, b->sw, sizeof a->sw)
           && !memcmp(a->key, b->key, sizeof a->key)
           && !memcmp(a->vni, b->vni, sizeof a->vni)
           && !memcmp(a->ofport, b->ofport, sizeof a->ofport)
           && a->policy == b->policy;
}

/* The router port key (1-based) of router 'r' on switch 's', 0 if none. */
static uint32_t
nfv_router_key__(const struct crouter *r, uint32_t s)
{
    for (size_t k = 0; k < r->n_ports; k++) {
        if (r->ports[k].sw == s) {
            return (uint32_t) k + 1;
        }
    }
    return 0;
}

/* The hosts whose instance list changed get a config change. */
static void
nfv_note_hosts__(struct compiler *c, const struct cfw *old, size_t n_old,
                 const struct clb *old_lb, size_t n_old_lb)
{
    for (size_t h = 0; h < c->n_hosts; h++) {
        uint64_t a = 0, b = 0;
        for (size_t i = 0; i < n_old; i++) {
            if (old[i].host == h) {
                a = nfv_mix__(nfv_mix_str__(a, old[i].name), old[i].policy
                              ^ old[i].ofport[0] ^ (uint64_t) old[i].ofport[1]
                                << 16);
            }
        }
        for (size_t i = 0; i < n_old_lb; i++) {
            if (old_lb[i].host == h) {
                a = nfv_mix__(nfv_mix_str__(a, old_lb[i].name),
                              old_lb[i].policy);
            }
        }
        for (size_t i = 0; i < c->n_fws; i++) {
            if (c->fws[i].host == h) {
                b = nfv_mix__(nfv_mix_str__(b, c->fws[i].name),
                              c->fws[i].policy ^ c->fws[i].ofport[0]
                              ^ (uint64_t) c->fws[i].ofport[1] << 16);
            }
        }
        for (size_t i = 0; i < c->n_lbs; i++) {
            if (c->lbs[i].host == h) {
                b = nfv_mix__(nfv_mix_str__(b, c->lbs[i].name),
                              c->lbs[i].policy);
            }
        }
        if (a != b && c->hosts[h].live) {
            compile_config_changed__(c, (uint32_t) h);
        }
    }
}

void
compile_nfv_apply(struct compiler *c, const struct topo *t)
{
    struct cfw *fws = xcalloc(t->n_firewalls + 1, sizeof *fws);
    struct clb *lbs = xcalloc(t->n_lbs + 1, sizeof *lbs);
    size_t n = 0;

    for (size_t i = 0; i < t->n_firewalls; i++) {
        const struct topo_firewall *tf = &t->firewalls[i];
        struct cfw *f = &fws[n];
        uint32_t r = cmap_find(&c->router_map, t->routers[tf->router].name);
        uint32_t h = cmap_find(&c->host_map, t->hosts[tf->host].name);
        if (r == CE_NONE || h == CE_NONE) {
            continue;           /* cannot happen: the loader checked */
        }
        f->name = xstrdup(tf->name);
        f->router = r;
        f->host = h;
        f->host_ip = c->hosts[h].tunnel_ip;
        f->line = tf->mark.line;
        f->col = tf->mark.col;
        for (int s = 0; s < 2; s++) {
            f->sw[s] = cmap_find(&c->switch_map,
                                 t->switches[tf->sw[s]].name);
            f->key[s] = f->sw[s] == CE_NONE
                        ? 0 : nfv_router_key__(&c->routers[r], f->sw[s]);
        }
        f->policy = nfv_fw_policy_hash__(tf);

        /* Ports: a slot by name, probed past the host's other firewalls
         * (name order, as t lists them). */
        uint32_t slot = (uint32_t) (compile_hash64(tf->name)
                                    % COMPILE_NFV_SLOTS);
        for (size_t probe = 0; probe < COMPILE_NFV_SLOTS; probe++) {
            bool taken = false;
            for (size_t j = 0; j < n; j++) {
                taken |= fws[j].host == h && fws[j].slot == slot;
            }
            if (!taken) {
                break;
            }
            slot = (slot + 1) % COMPILE_NFV_SLOTS;
        }
        f->slot = slot;
        f->ofport[0] = COMPILE_NFV_OFPORT_BASE + 2 * slot;
        f->ofport[1] = f->ofport[0] + 1;

        /* Steering VNIs: by name and side, past every VNI in use. */
        for (int s = 0; s < 2; s++) {
            char *key = xasprintf("nfv:%s:%d", tf->name, s);
            uint32_t v = (uint32_t) (compile_hash64(key) % 16777215u) + 1;
            free(key);
            while (nfv_vni_used__(c, fws, n + 1, v)) {
                v = v % 16777215u + 1;
            }
            f->vni[s] = v;
        }
        n++;
    }

    size_t n_lb = 0;
    for (size_t i = 0; i < t->n_lbs; i++) {
        const struct topo_lb *tl = &t->lbs[i];
        uint32_t h = cmap_find(&c->host_map, t->hosts[tl->host].name);
        uint32_t p = cmap_find(&c->port_map, t->ports[tl->port].name);
        if (h == CE_NONE || p == CE_NONE) {
            continue;
        }
        lbs[n_lb++] = (struct clb) {
            .name = xstrdup(tl->name), .host = h, .port = p,
            .policy = nfv_lb_policy_hash__(t, tl),
        };
    }

    /* Routers whose firewalls changed. */
    for (size_t i = 0; i < c->n_fws; i++) {
        const struct cfw *o = &c->fws[i];
        bool same = false;
        for (size_t j = 0; j < n && !same; j++) {
            same = nfv_fw_equal__(o, &fws[j]);
        }
        if (!same && o->router < c->n_routers && c->routers[o->router].live) {
            compile_l3_dirty_router(c, o->router);
        }
    }
    for (size_t j = 0; j < n; j++) {
        bool same = false;
        for (size_t i = 0; i < c->n_fws && !same; i++) {
            same = nfv_fw_equal__(&c->fws[i], &fws[j]);
        }
        if (!same) {
            compile_l3_dirty_router(c, fws[j].router);
        }
    }

    struct cfw *old = c->fws;
    struct clb *old_lb = c->lbs;
    size_t n_old = c->n_fws, n_old_lb = c->n_lbs;
    c->fws = fws;
    c->n_fws = n;
    c->lbs = lbs;
    c->n_lbs = n_lb;
    nfv_note_hosts__(c, old, n_old, old_lb, n_old_lb);
    for (size_t i = 0; i < n_old; i++) {
        free(old[i].name);
    }
    free(old);
    for (size_t i = 0; i < n_old_lb; i++) {
        free(old_lb[i].name);
    }
    free(old_lb);
}

static uint64_t
nfv_cookie__(unsigned int rule, const struct cfw *f)
{
    char *path = xasprintf("firewalls.%s", f->name);
    uint64_t ck = compile_cookie(COMPILE_KIND_NFV, rule, path);
    free(path);
    return ck;
}

/* Steering of traffic router r routes from side 's' to the other side:
 * per destination, the usual next-hop rewrite, then into port 's'. */
static void
nfv_gen_steer__(const struct compiler *c, const struct crouter *r,
                const struct cfw *f, int s, uint32_t host, struct cbuf *out)
{
    uint32_t md = COMPILE_ROUTER_DP | r->rid;
    uint32_t egress = f->key[1 - s];
    struct compile_l3_neigh *nb;
    size_t n = compile_l3_neighbors(c, r, egress - 1, &nb, NULL);
    const struct crouter_port *p = &r->ports[egress - 1];

    for (size_t i = 0; i < n; i++) {
        struct flow fl;
        flow_init(&fl, TBL_NEIGH, 110, nfv_cookie__(COMPILE_NFV_STEER, f));
        compile_match__(&fl, FF_METADATA, md, 0);
        compile_match__(&fl, FF_ETH_TYPE, NFV_ETH_IP, 0);
        compile_match__(&fl, FF_REG0, nb[i].ip, 0);
        compile_match__(&fl, FF_REG14, f->key[s], 0);
        compile_match__(&fl, FF_REG15, egress, 0);
        flow_add_action(&fl, FA_DEC_TTL, 0, 0, 0);
        flow_set_field(&fl, FF_ETH_SRC, p->mac);
        flow_set_field(&fl, FF_ETH_DST, nb[i].mac);
        if (host == f->host) {
            flow_output(&fl, f->ofport[s]);
        } else {
            flow_set_field(&fl, FF_TUN_ID, f->vni[s]);
            flow_set_field(&fl, FF_TUN_DST, f->host_ip);
            flow_output(&fl, COMPILE_TUNNEL_OFPORT);
        }
        compile_emit__(out, &fl);
    }
    free(nb);
}

/* On the instance's host: steered traffic from the tunnel into the
 * instance; what the instance sends, into the L2 table of the switch its
 * port faces, or (its own answers, to the router's MAC on the other side)
 * back into the router. */
static void
nfv_gen_instance_host__(const struct compiler *c, const struct crouter *r,
                        const struct cfw *f, struct cbuf *out)
{
    uint32_t md = COMPILE_ROUTER_DP | r->rid;
    for (int s = 0; s < 2; s++) {
        struct flow fl;
        flow_init(&fl, TBL_CLASSIFY, 110, nfv_cookie__(COMPILE_NFV_TUNNEL, f));
        compile_match__(&fl, FF_IN_PORT, COMPILE_TUNNEL_OFPORT, 0);
        compile_match__(&fl, FF_TUN_ID, f->vni[s], 0);
        flow_output(&fl, f->ofport[s]);
        compile_emit__(out, &fl);

        flow_init(&fl, TBL_CLASSIFY, 100, nfv_cookie__(COMPILE_NFV_OUT, f));
        compile_match__(&fl, FF_IN_PORT, f->ofport[s], 0);
        flow_set_field(&fl, FF_METADATA, c->switches[f->sw[s]].vni);
        flow_set_field(&fl, FF_REG14, f->ofport[s]);
        flow_set_field(&fl, FF_REG13, 0);
        flow_resubmit(&fl, TBL_L2);
        compile_emit__(out, &fl);

        flow_init(&fl, TBL_CLASSIFY, 110, nfv_cookie__(COMPILE_NFV_ANSWER, f));
        compile_match__(&fl, FF_IN_PORT, f->ofport[s], 0);
        compile_match__(&fl, FF_ETH_DST, r->ports[f->key[1 - s] - 1].mac, 0);
        flow_set_field(&fl, FF_METADATA, md);
        flow_set_field(&fl, FF_REG14, f->key[1 - s] | COMPILE_NFV_FROM_FW);
        flow_set_field(&fl, FF_REG13, 0);
        flow_resubmit(&fl, TBL_L3);
        compile_emit__(out, &fl);
    }
}

void
compile_nfv_gen_router_host(const struct compiler *c, uint32_t rid,
                            uint32_t host, struct cbuf *out)
{
    const struct crouter *r = &c->routers[rid];
    for (size_t i = 0; i < c->n_fws; i++) {
        const struct cfw *f = &c->fws[i];
        if (f->router != rid || !f->key[0] || !f->key[1]) {
            continue;
        }
        nfv_gen_steer__(c, r, f, 0, host, out);
        nfv_gen_steer__(c, r, f, 1, host, out);
        if (host == f->host) {
            nfv_gen_instance_host__(c, r, f, out);
        }
    }
}

bool
compile_nfv_router_has_fw(const struct compiler *c, uint32_t rid)
{
    for (size_t i = 0; i < c->n_fws; i++) {
        if (c->fws[i].router == rid) {
            return true;
        }
    }
    return false;
}

size_t
compile_nfv_host_instances(const struct compiler *c, uint32_t host,
                           struct compiled_nfv **out)
{
    size_t n = 0;
    struct compiled_nfv *v = xcalloc(c->n_fws + c->n_lbs + 1, sizeof *v);
    for (size_t i = 0; i < c->n_fws; i++) {
        const struct cfw *f = &c->fws[i];
        if (f->host != host) {
            continue;
        }
        struct compiled_nfv *x = &v[n++];
        x->name = xstrdup(f->name);
        x->kind = COMPILED_NFV_VAF;
        x->n_ports = 2;
        x->ports[0].iface = xasprintf("fwl-%s", f->name);
        x->ports[1].iface = xasprintf("fwr-%s", f->name);
        x->ports[0].ofport = f->ofport[0];
        x->ports[1].ofport = f->ofport[1];
        x->policy = f->policy;
    }
    for (size_t i = 0; i < c->n_lbs; i++) {
        const struct clb *l = &c->lbs[i];
        if (l->host != host) {
            continue;
        }
        const struct cport *p = &c->ports[l->port];
        struct compiled_nfv *x = &v[n++];
        x->name = xstrdup(l->name);
        x->kind = COMPILED_NFV_VAD;
        x->n_ports = 1;
        x->ports[0].iface = xstrdup(p->iface);
        x->ports[0].ofport = p->ofport;
        x->policy = l->policy;
    }
    *out = v;
    return n;
}

void
compiled_nfv_clear(struct compiled_nfv *x)
{
    if (x) {
        free(x->name);
        free(x->ports[0].iface);
        free(x->ports[1].iface);
        memset(x, 0, sizeof *x);
    }
}

bool
compile_nfv_prov(struct compiler *c, uint64_t cookie, char **object,
                 char **rule, uint32_t *line, uint32_t *col)
{
    unsigned int sub = (cookie >> 48) & 0xff;
    for (size_t i = 0; i < c->n_fws; i++) {
        const struct cfw *f = &c->fws[i];
        if (nfv_cookie__(sub, f) != cookie) {
            continue;
        }
        const char *a = c->switches[f->sw[0]].name;
        const char *b = c->switches[f->sw[1]].name;
        *object = xasprintf("firewalls.%s", f->name);
        *rule = sub == COMPILE_NFV_STEER
                ? xasprintf("nfv: routed %s <-> %s into firewall %s", a, b,
                            f->name)
                : sub == COMPILE_NFV_TUNNEL
                ? xasprintf("nfv: steered traffic from the tunnel into %s",
                            f->name)
                : sub == COMPILE_NFV_OUT
                ? xasprintf("nfv: what %s lets through, into the switch "
                            "its port faces", f->name)
                : xasprintf("nfv: %s's own answers (rejects), routed back",
                            f->name);
        *line = f->line;
        *col = f->col;
        return true;
    }
    return false;
}
