/* nfv-config.c — see nfv-config.h. */
#include "nfv/nfv-config.h"
#include "lib/addr.h"
#include "lib/util.h"
#include "proto/nfv.pb-c.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
nfv_kind_name(enum nfv_kind k)
{
    return k == NFV_KIND_VAD ? "vad" : "vaf";
}

int
nfv_kind_parse(const char *s, enum nfv_kind *k)
{
    if (!strcmp(s, "vaf")) {
        *k = NFV_KIND_VAF;
    } else if (!strcmp(s, "vad")) {
        *k = NFV_KIND_VAD;
    } else {
        return -EINVAL;
    }
    return 0;
}

/* Sets '*error' (first error wins) and returns -EINVAL. */
static int __attribute__((format(printf, 2, 3)))
nfv_config_err__(char **error, const char *fmt, ...)
{
    va_list ap;
    char *s;

    if (error && !*error) {
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0) {
            s = NULL;
        }
        va_end(ap);
        *error = s;
    }
    return -EINVAL;
}

void
nfv_config_destroy(struct nfv_config *c)
{
    if (!c) {
        return;
    }
    for (size_t i = 0; i < c->fw.n_rules; i++) {
        free(c->fw.rules[i].src);
        free(c->fw.rules[i].dst);
    }
    free(c->fw.rules);
    for (size_t i = 0; i < c->lb.n_services; i++) {
        free(c->lb.services[i].backends);
    }
    free(c->lb.services);
    for (size_t i = 0; i < c->n_names; i++) {
        free(c->names[i]);
    }
    free(c->names);
    free(c);
}

/* ---- firewall ----------------------------------------------------------- */

/* "a.b.c.d/len" or a plain "a.b.c.d" (/32).  The host bits are cleared:
 * the classifier compares networks. */
static int
nfv_config_cidr__(const char *s, struct nfv_cidr *out)
{
    unsigned int plen = 32;
    uint32_t ip;

    if (strchr(s, '/')) {
        if (ip4_parse_cidr(s, &ip, &plen) || plen > 32) {
            return -EINVAL;
        }
    } else if (ip4_parse(s, &ip)) {
        return -EINVAL;
    }
    out->net = ip & ip4_mask(plen);
    out->plen = plen;
    return 0;
}

static int
nfv_config_cidrs__(char **strs, size_t n, struct nfv_cidr **out,
                   size_t *n_out, const char *what, size_t ri, char **error)
{
    *out = NULL;
    *n_out = 0;
    if (n > NFV_CONFIG_MAX_CIDRS) {
        return nfv_config_err__(error, "fw.rules[%zu].%s: %zu prefixes, at "
                                "most %u allowed", ri, what, n,
                                NFV_CONFIG_MAX_CIDRS);
    }
    if (!n) {
        return 0;
    }
    *out = xcalloc(n, sizeof **out);
    for (size_t i = 0; i < n; i++) {
        if (nfv_config_cidr__(strs[i], &(*out)[i])) {
            return nfv_config_err__(error, "fw.rules[%zu].%s[%zu]: \"%s\" is "
                                    "not an IPv4 address or CIDR "
                                    "(a.b.c.d/len)", ri, what, i, strs[i]);
        }
        (*n_out)++;
    }
    return 0;
}

static int
nfv_config_action__(Anet__Nfv__FwAction a, enum nfv_fw_action *out)
{
    switch (a) {
    case ANET__NFV__FW_ACTION__ALLOW:  *out = NFV_FW_ALLOW;  return 0;
    case ANET__NFV__FW_ACTION__DENY:   *out = NFV_FW_DENY;   return 0;
    case ANET__NFV__FW_ACTION__REJECT: *out = NFV_FW_REJECT; return 0;
    default:                           return -EINVAL;
    }
}

static int
nfv_config_rule__(const Anet__Nfv__FwRule *m, size_t ri,
                  struct nfv_fw_rule *r, char **error)
{
    int err;

    err = nfv_config_cidrs__(m->src, m->n_src, &r->src, &r->n_src, "src", ri,
                             error);
    if (!err) {
        err = nfv_config_cidrs__(m->dst, m->n_dst, &r->dst, &r->n_dst, "dst",
                                 ri, error);
    }
    if (err) {
        return err;
    }
    if (m->proto != 0 && m->proto != 1 && m->proto != 6 && m->proto != 17) {
        return nfv_config_err__(error, "fw.rules[%zu].proto: %u is not 0 "
                                "(any), 1 (icmp), 6 (tcp) or 17 (udp)", ri,
                                m->proto);
    }
    r->proto = m->proto;

    uint32_t lo = m->dport_min, hi = m->dport_max ? m->dport_max
                                                  : m->dport_min;
    if (lo || hi) {
        if (m->proto != 6 && m->proto != 17) {
            return nfv_config_err__(error, "fw.rules[%zu]: a destination port "
                                    "needs proto 6 (tcp) or 17 (udp)", ri);
        }
        if (hi > 65535 || lo > hi) {
            return nfv_config_err__(error, "fw.rules[%zu]: dport range "
                                    "%u-%u is not within 0-65535 in order",
                                    ri, lo, hi);
        }
        r->dport_min = lo;
        r->dport_max = hi;
    } else {
        r->dport_min = 0;
        r->dport_max = 65535;
    }

    r->icmp_type = -1;
    if (m->match_icmp_type) {
        if (m->proto != 1) {
            return nfv_config_err__(error, "fw.rules[%zu]: an ICMP type needs "
                                    "proto 1 (icmp)", ri);
        }
        if (m->icmp_type > 255) {
            return nfv_config_err__(error, "fw.rules[%zu].icmp_type: %u is "
                                    "not 0-255", ri, m->icmp_type);
        }
        r->icmp_type = m->icmp_type;
    } else if (m->icmp_type) {
        return nfv_config_err__(error, "fw.rules[%zu]: icmp_type %u given "
                                "without match_icmp_type", ri, m->icmp_type);
    }
    if (nfv_config_action__(m->action, &r->action)) {
        return nfv_config_err__(error, "fw.rules[%zu].action: unknown action "
                                "%d", ri, (int) m->action);
    }
    r->log = m->log;
    return 0;
}

static int
nfv_config_conns__(uint32_t v, uint32_t *out, const char *what, char **error)
{
    if (v > NFV_CONFIG_MAX_CONNS) {
        return nfv_config_err__(error, "%s: %u is more than the maximum %u",
                                what, v, NFV_CONFIG_MAX_CONNS);
    }
    *out = v ? v : NFV_CONFIG_DEFAULT_CONNS;
    return 0;
}

static int
nfv_config_fw__(const Anet__Nfv__FwConfig *m, struct nfv_config *c,
                char **error)
{
    struct nfv_fw_config *fw = &c->fw;
    int err;

    if (m->n_rules > NFV_CONFIG_MAX_RULES) {
        return nfv_config_err__(error, "fw.rules: %zu rules, at most %u "
                                "allowed", m->n_rules, NFV_CONFIG_MAX_RULES);
    }
    fw->rules = xcalloc(m->n_rules ? m->n_rules : 1, sizeof *fw->rules);
    c->names = xcalloc(m->n_rules ? m->n_rules : 1, sizeof *c->names);
    for (size_t i = 0; i < m->n_rules; i++) {
        /* Counted first so that destroy frees a half-built rule. */
        fw->n_rules++;
        c->names[c->n_names++] = xstrdup(m->rules[i]->name);
        err = nfv_config_rule__(m->rules[i], i, &fw->rules[i], error);
        if (err) {
            return err;
        }
    }
    if (nfv_config_action__(m->default_action, &fw->default_action)) {
        return nfv_config_err__(error, "fw.default_action: unknown action %d",
                                (int) m->default_action);
    }
    err = nfv_config_conns__(m->max_conns, &fw->max_conns, "fw.max_conns",
                             error);
    if (err) {
        return err;
    }
    if (m->max_conns_per_source > fw->max_conns) {
        return nfv_config_err__(error, "fw.max_conns_per_source: %u is more "
                                "than max_conns %u", m->max_conns_per_source,
                                fw->max_conns);
    }
    fw->max_conns_per_source = m->max_conns_per_source;
    fw->pass_malformed = m->pass_malformed;
    return 0;
}

/* ---- load balancer -------------------------------------------------------- */

static int
nfv_config_backend__(const Anet__Nfv__LbBackend *m, size_t si, size_t bi,
                     struct nfv_lb_backend *b, char **error)
{
    if (ip4_parse(m->ip, &b->ip)) {
        return nfv_config_err__(error, "lb.services[%zu].backends[%zu].ip: "
                                "\"%s\" is not an IPv4 address", si, bi,
                                m->ip);
    }
    if (!m->port || m->port > 65535) {
        return nfv_config_err__(error, "lb.services[%zu].backends[%zu].port: "
                                "%u is not 1-65535", si, bi, m->port);
    }
    b->port = m->port;
    if (m->weight > 65535) {
        return nfv_config_err__(error, "lb.services[%zu].backends[%zu]."
                                "weight: %u is more than 65535", si, bi,
                                m->weight);
    }
    b->weight = m->weight ? m->weight : 1;
    if (eth_parse(m->mac, &b->mac) || eth_is_multicast(b->mac) || !b->mac) {
        return nfv_config_err__(error, "lb.services[%zu].backends[%zu].mac: "
                                "\"%s\" is not a unicast MAC address", si,
                                bi, m->mac);
    }
    return 0;
}

static int
nfv_config_service__(const Anet__Nfv__LbService *m, size_t si,
                     struct nfv_lb_service *s, char **error)
{
    if (ip4_parse(m->vip, &s->vip)) {
        return nfv_config_err__(error, "lb.services[%zu].vip: \"%s\" is not "
                                "an IPv4 address", si, m->vip);
    }
    if (!m->port || m->port > 65535) {
        return nfv_config_err__(error, "lb.services[%zu].port: %u is not "
                                "1-65535", si, m->port);
    }
    s->port = m->port;
    if (m->proto != 6 && m->proto != 17) {
        return nfv_config_err__(error, "lb.services[%zu].proto: %u is not 6 "
                                "(tcp) or 17 (udp)", si, m->proto);
    }
    s->proto = m->proto;
    if (m->health_interval_ms
        && m->health_interval_ms < NFV_CONFIG_MIN_HEALTH_MS) {
        return nfv_config_err__(error, "lb.services[%zu].health_interval_ms: "
                                "%u is below the minimum %u (0 disables "
                                "health checks)", si, m->health_interval_ms,
                                NFV_CONFIG_MIN_HEALTH_MS);
    }
    s->health_interval_ms = m->health_interval_ms;
    if (m->n_backends > NFV_CONFIG_MAX_BACKENDS) {
        return nfv_config_err__(error, "lb.services[%zu].backends: %zu "
                                "backends, at most %u allowed", si,
                                m->n_backends, NFV_CONFIG_MAX_BACKENDS);
    }
    s->backends = xcalloc(m->n_backends ? m->n_backends : 1,
                          sizeof *s->backends);
    for (size_t i = 0; i < m->n_backends; i++) {
        int err = nfv_config_backend__(m->backends[i], si, i,
                                       &s->backends[i], error);
        if (err) {
            return err;
        }
        for (size_t j = 0; j < i; j++) {
            if (s->backends[j].ip == s->backends[i].ip
                && s->backends[j].port == s->backends[i].port) {
                return nfv_config_err__(error, "lb.services[%zu].backends"
                                        "[%zu]: %s:%u is already "
                                        "backends[%zu]", si, i,
                                        m->backends[i]->ip, s->backends[i].port,
                                        j);
            }
        }
        s->n_backends++;
    }
    return 0;
}

static int
nfv_config_lb__(const Anet__Nfv__LbConfig *m, struct nfv_config *c,
                char **error)
{
    struct nfv_lb_config *lb = &c->lb;
    int err;

    if (ip4_parse(m->self_ip, &lb->self_ip)) {
        return nfv_config_err__(error, "lb.self_ip: \"%s\" is not an IPv4 "
                                "address", m->self_ip);
    }
    if (eth_parse(m->self_mac, &lb->self_mac) || eth_is_multicast(lb->self_mac)
        || !lb->self_mac) {
        return nfv_config_err__(error, "lb.self_mac: \"%s\" is not a unicast "
                                "MAC address", m->self_mac);
    }
    if (m->n_services > NFV_CONFIG_MAX_SERVICES) {
        return nfv_config_err__(error, "lb.services: %zu services, at most %u "
                                "allowed", m->n_services,
                                NFV_CONFIG_MAX_SERVICES);
    }
    lb->services = xcalloc(m->n_services ? m->n_services : 1,
                           sizeof *lb->services);
    c->names = xcalloc(m->n_services ? m->n_services : 1, sizeof *c->names);
    for (size_t i = 0; i < m->n_services; i++) {
        struct nfv_lb_service *s = &lb->services[i];

        lb->n_services++;
        c->names[c->n_names++] = xstrdup(m->services[i]->name);
        err = nfv_config_service__(m->services[i], i, s, error);
        if (err) {
            return err;
        }
        for (size_t j = 0; j < i; j++) {
            const struct nfv_lb_service *t = &lb->services[j];
            if (t->vip == s->vip && t->port == s->port
                && t->proto == s->proto) {
                return nfv_config_err__(error, "lb.services[%zu]: %s:%u/%u is "
                                        "already services[%zu]", i,
                                        m->services[i]->vip, s->port,
                                        s->proto, j);
            }
        }
    }
    return nfv_config_conns__(m->max_conns, &lb->max_conns, "lb.max_conns",
                              error);
}

/* ---- entry points ---------------------------------------------------------- */

int
nfv_config_from_proto(const Anet__Nfv__NfvConfig *m, struct nfv_config **cfgp,
                      char **error)
{
    struct nfv_config *c = xzalloc(sizeof *c);
    int err;

    *cfgp = NULL;
    c->generation = m->generation;
    switch (m->policy_case) {
    case ANET__NFV__NFV_CONFIG__POLICY_FW:
        c->kind = NFV_KIND_VAF;
        err = nfv_config_fw__(m->fw, c, error);
        break;
    case ANET__NFV__NFV_CONFIG__POLICY_LB:
        c->kind = NFV_KIND_VAD;
        err = nfv_config_lb__(m->lb, c, error);
        break;
    default:
        err = nfv_config_err__(error, "config holds no policy (neither fw "
                               "nor lb)");
        break;
    }
    if (err) {
        nfv_config_destroy(c);
        return err;
    }
    *cfgp = c;
    return 0;
}

int
nfv_config_decode(const uint8_t *buf, size_t len, struct nfv_config **cfgp,
                  char **error)
{
    Anet__Nfv__NfvConfig *m;
    int err;

    *cfgp = NULL;
    if (len > NFV_CTL_MAX) {
        nfv_config_err__(error, "config of %zu bytes exceeds %u", len,
                         NFV_CTL_MAX);
        return -EMSGSIZE;
    }
    m = anet__nfv__nfv_config__unpack(NULL, len, buf);
    if (!m) {
        nfv_config_err__(error, "config does not decode as anet.nfv."
                         "NfvConfig");
        return -EBADMSG;
    }
    err = nfv_config_from_proto(m, cfgp, error);
    anet__nfv__nfv_config__free_unpacked(m, NULL);
    return err;
}
