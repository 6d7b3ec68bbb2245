/* nfv-policy.c — the policy an anet-nfv instance runs, built from the
 * running topology (firewalls: / load_balancers:) as the serialized
 * anet.nfv.NfvConfig that travels inside anet.NfvInstance.config.
 *
 * Design: the compiler only knows an instance's name, ports and a hash of
 * its policy (compile-nfv.c); the policy itself is made here when a
 * DesiredState is sent, from the topology that compiled it.  The config's
 * generation is that hash, so the same policy always serializes to the
 * same bytes and the agent resends only what changed.
 */
#include "controller/controller-private.h"

#include <stdlib.h>
#include <string.h>

#include "controller/compile.h"
#include "controller/topo.h"
#include "lib/addr.h"
#include "lib/util.h"
#include "proto/nfv.pb-c.h"

static char *
nfv_cidr__(const struct topo_cidr *c)
{
    char ip[IP4_STRLEN];
    ip4_format(c->net, ip);
    return xasprintf("%s/%u", ip, c->plen);
}

static char **
nfv_cidrs__(const struct topo_cidr *v, size_t n)
{
    char **out = xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        out[i] = nfv_cidr__(&v[i]);
    }
    return out;
}

static Anet__Nfv__FwAction
nfv_action__(enum topo_sg_action a)
{
    return a == TOPO_SG_ALLOW ? ANET__NFV__FW_ACTION__ALLOW
           : a == TOPO_SG_REJECT ? ANET__NFV__FW_ACTION__REJECT
           : ANET__NFV__FW_ACTION__DENY;
}

static uint8_t *
nfv_pack__(const Anet__Nfv__NfvConfig *cfg, size_t *len)
{
    *len = anet__nfv__nfv_config__get_packed_size(cfg);
    uint8_t *buf = xmalloc(*len + 1);
    anet__nfv__nfv_config__pack(cfg, buf);
    return buf;
}

static uint8_t *
nfv_fw_policy__(const struct topo_firewall *fw, uint64_t generation,
                size_t *len)
{
    Anet__Nfv__NfvConfig cfg = ANET__NFV__NFV_CONFIG__INIT;
    Anet__Nfv__FwConfig fc = ANET__NFV__FW_CONFIG__INIT;
    Anet__Nfv__FwRule *rules = xcalloc(fw->n_rules + 1, sizeof *rules);
    Anet__Nfv__FwRule **ptrs = xcalloc(fw->n_rules + 1, sizeof *ptrs);
    static const uint32_t protos[] = {
        [TOPO_SG_ANY] = 0, [TOPO_SG_TCP] = 6, [TOPO_SG_UDP] = 17,
        [TOPO_SG_ICMP] = 1,
    };

    for (size_t i = 0; i < fw->n_rules; i++) {
        const struct topo_fw_rule *r = &fw->rules[i];
        Anet__Nfv__FwRule *x = &rules[i];
        anet__nfv__fw_rule__init(x);
        x->n_src = r->n_src;
        x->src = nfv_cidrs__(r->src, r->n_src);
        x->n_dst = r->n_dst;
        x->dst = nfv_cidrs__(r->dst, r->n_dst);
        x->proto = protos[r->proto];
        x->dport_min = r->port_min;
        x->dport_max = r->port_max;
        x->match_icmp_type = r->icmp_type >= 0;
        x->icmp_type = r->icmp_type >= 0 ? (uint32_t) r->icmp_type : 0;
        x->action = nfv_action__(r->action);
        x->log = r->log;
        x->name = xasprintf("firewalls.%s.rules[%zu]", fw->name, i);
        ptrs[i] = x;
    }
    fc.n_rules = fw->n_rules;
    fc.rules = ptrs;
    fc.default_action = nfv_action__(fw->default_action);
    fc.max_conns = fw->max_connections;
    fc.max_conns_per_source = fw->max_per_source;
    fc.pass_malformed = fw->pass_malformed;
    cfg.generation = generation;
    cfg.policy_case = ANET__NFV__NFV_CONFIG__POLICY_FW;
    cfg.fw = &fc;
    uint8_t *buf = nfv_pack__(&cfg, len);
    for (size_t i = 0; i < fw->n_rules; i++) {
        for (size_t k = 0; k < rules[i].n_src; k++) {
            free(rules[i].src[k]);
        }
        for (size_t k = 0; k < rules[i].n_dst; k++) {
            free(rules[i].dst[k]);
        }
        free(rules[i].src);
        free(rules[i].dst);
        free(rules[i].name);
    }
    free(rules);
    free(ptrs);
    return buf;
}

static uint8_t *
nfv_lb_policy__(const struct topo *t, const struct topo_lb *lb,
                uint64_t generation, size_t *len)
{
    Anet__Nfv__NfvConfig cfg = ANET__NFV__NFV_CONFIG__INIT;
    Anet__Nfv__LbConfig lc = ANET__NFV__LB_CONFIG__INIT;
    size_t n_s = lb->n_services;
    Anet__Nfv__LbService *svcs = xcalloc(n_s + 1, sizeof *svcs);
    Anet__Nfv__LbService **sp = xcalloc(n_s + 1, sizeof *sp);
    char vip[IP4_STRLEN], self_mac[ETH_ADDR_STRLEN];
    char **strs = NULL;
    size_t n_strs = 0, cap_strs = 0;

    ip4_format(lb->vip, vip);
    eth_format(t->ports[lb->port].mac, self_mac);
    for (size_t i = 0; i < n_s; i++) {
        const struct topo_lb_service *s = &lb->services[i];
        Anet__Nfv__LbService *x = &svcs[i];
        anet__nfv__lb_service__init(x);
        x->vip = vip;
        x->port = s->port;
        x->proto = s->proto;
        x->health_interval_ms = s->health_interval_ms;
        x->name = xasprintf("load_balancers.%s.services[%zu]", lb->name, i);
        x->n_backends = s->n_backends;
        x->backends = xcalloc(s->n_backends + 1, sizeof *x->backends);
        for (size_t k = 0; k < s->n_backends; k++) {
            const struct topo_lb_backend *b = &s->backends[k];
            const struct topo_port *p = &t->ports[b->port];
            Anet__Nfv__LbBackend *y = xmalloc(sizeof *y);
            anet__nfv__lb_backend__init(y);
            strs = xgrow(strs, &cap_strs, n_strs + 2, sizeof *strs);
            strs[n_strs] = xmalloc(IP4_STRLEN);
            ip4_format(p->ip, strs[n_strs]);
            strs[n_strs + 1] = xmalloc(ETH_ADDR_STRLEN);
            eth_format(p->mac, strs[n_strs + 1]);
            y->ip = strs[n_strs];
            y->mac = strs[n_strs + 1];
            n_strs += 2;
            y->port = b->to_port ? b->to_port : s->port;
            y->weight = b->weight;
            x->backends[k] = y;
        }
        sp[i] = x;
    }
    lc.self_ip = vip;
    lc.self_mac = self_mac;
    lc.n_services = n_s;
    lc.services = sp;
    cfg.generation = generation;
    cfg.policy_case = ANET__NFV__NFV_CONFIG__POLICY_LB;
    cfg.lb = &lc;
    uint8_t *buf = nfv_pack__(&cfg, len);
    for (size_t i = 0; i < n_s; i++) {
        for (size_t k = 0; k < svcs[i].n_backends; k++) {
            free(svcs[i].backends[k]);
        }
        free(svcs[i].backends);
        free(svcs[i].name);
    }
    for (size_t i = 0; i < n_strs; i++) {
        free(strs[i]);
    }
    free(strs);
    free(svcs);
    free(sp);
    return buf;
}

uint8_t *
ctl_nfv_policy(const struct topo *t, const struct compiled_nfv *x,
               size_t *len)
{
    *len = 0;
    if (!t) {
        return NULL;
    }
    if (x->kind == COMPILED_NFV_VAF) {
        const struct topo_firewall *fw = topo_find_firewall(t, x->name);
        return fw ? nfv_fw_policy__(fw, x->policy, len) : NULL;
    }
    const struct topo_lb *lb = topo_find_lb(t, x->name);
    return lb ? nfv_lb_policy__(t, lb, x->policy, len) : NULL;
}
