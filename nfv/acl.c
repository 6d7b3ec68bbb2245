/* acl.c — see acl.h. */
#include "nfv/acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_errno.h>

#include "lib/log.h"
#include "lib/util.h"

LOG_MODULE(nfv_acl);

enum {
    NFV_ACL_F_PROTO,
    NFV_ACL_F_SRC,
    NFV_ACL_F_DST,
    NFV_ACL_F_DPORT,
    NFV_ACL_F_ICMP,
    NFV_ACL_N_FIELDS
};

RTE_ACL_RULE_DEF(nfv_acl_rule__, NFV_ACL_N_FIELDS);

/* rte_acl reads fields in 4-byte groups ('input_index'); the two 16-bit
 * fields share the last group, as in DPDK's l3fwd-acl. */
static const struct rte_acl_field_def nfv_acl_defs[NFV_ACL_N_FIELDS] = {
    [NFV_ACL_F_PROTO] = {
        .type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 1,
        .field_index = NFV_ACL_F_PROTO, .input_index = 0,
        .offset = offsetof(struct nfv_acl_key, proto),
    },
    [NFV_ACL_F_SRC] = {
        .type = RTE_ACL_FIELD_TYPE_MASK, .size = 4,
        .field_index = NFV_ACL_F_SRC, .input_index = 1,
        .offset = offsetof(struct nfv_acl_key, src_be),
    },
    [NFV_ACL_F_DST] = {
        .type = RTE_ACL_FIELD_TYPE_MASK, .size = 4,
        .field_index = NFV_ACL_F_DST, .input_index = 2,
        .offset = offsetof(struct nfv_acl_key, dst_be),
    },
    [NFV_ACL_F_DPORT] = {
        .type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2,
        .field_index = NFV_ACL_F_DPORT, .input_index = 3,
        .offset = offsetof(struct nfv_acl_key, dport_be),
    },
    [NFV_ACL_F_ICMP] = {
        .type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2,
        .field_index = NFV_ACL_F_ICMP, .input_index = 3,
        .offset = offsetof(struct nfv_acl_key, icmp_type_be),
    },
};

struct nfv_acl {
    struct rte_acl_ctx *ctx;    /* NULL when no rule can match */
    size_t n_expanded;
};

static uint32_t
nfv_acl_mask__(uint8_t plen)
{
    return plen ? ~0u << (32 - plen) : 0;
}

/* The protocols rule 'r' can match as rte_acl rules need them: writes up
 * to 2 values (0: any) into 'protos' and returns how many. */
static size_t
nfv_acl_protos__(const struct nfv_fw_rule *r, uint8_t protos[2])
{
    bool ports = !nfv_acl_port_any(r);
    bool icmp = r->icmp_type >= 0;
    if (ports && icmp) {
        return 0;
    }
    if (icmp) {
        if (r->proto && r->proto != NFV_IP_PROTO_ICMP) {
            return 0;
        }
        protos[0] = NFV_IP_PROTO_ICMP;
        return 1;
    }
    if (ports) {
        if (!r->proto) {
            protos[0] = NFV_IP_PROTO_TCP;
            protos[1] = NFV_IP_PROTO_UDP;
            return 2;
        }
        if (r->proto != NFV_IP_PROTO_TCP && r->proto != NFV_IP_PROTO_UDP) {
            return 0;
        }
    }
    protos[0] = r->proto;
    return 1;
}

static int
nfv_acl_check__(const struct nfv_fw_rule *rules, size_t n, size_t *total)
{
    *total = 0;
    for (size_t i = 0; i < n; i++) {
        const struct nfv_fw_rule *r = &rules[i];
        for (size_t j = 0; j < r->n_src; j++) {
            if (r->src[j].plen > 32) {
                return -EINVAL;
            }
        }
        for (size_t j = 0; j < r->n_dst; j++) {
            if (r->dst[j].plen > 32) {
                return -EINVAL;
            }
        }
        if (r->dport_min > r->dport_max && !nfv_acl_port_any(r)) {
            return -EINVAL;
        }
        if (r->icmp_type > 255) {
            return -EINVAL;
        }
        uint8_t protos[2];
        uint64_t k = (uint64_t) MAX(r->n_src, 1) * MAX(r->n_dst, 1)
                     * nfv_acl_protos__(r, protos);
        if (k > NFV_ACL_MAX_EXPANDED || *total + k > NFV_ACL_MAX_EXPANDED) {
            return -E2BIG;
        }
        *total += k;
    }
    return 0;
}

static void
nfv_acl_fill__(struct nfv_acl_rule__ *a, const struct nfv_fw_rule *r,
               size_t index, uint8_t proto, const struct nfv_cidr *src,
               const struct nfv_cidr *dst)
{
    memset(a, 0, sizeof *a);
    a->data.category_mask = 1;
    a->data.priority = RTE_ACL_MAX_PRIORITY - (int32_t) index;
    a->data.userdata = (uint32_t) index + 1;
    a->field[NFV_ACL_F_PROTO].value.u8 = proto;
    a->field[NFV_ACL_F_PROTO].mask_range.u8 = proto ? 0xff : 0;
    a->field[NFV_ACL_F_SRC].value.u32 = src ? src->net & nfv_acl_mask__(src->plen) : 0;
    a->field[NFV_ACL_F_SRC].mask_range.u32 = src ? src->plen : 0;
    a->field[NFV_ACL_F_DST].value.u32 = dst ? dst->net & nfv_acl_mask__(dst->plen) : 0;
    a->field[NFV_ACL_F_DST].mask_range.u32 = dst ? dst->plen : 0;
    if (nfv_acl_port_any(r)) {
        a->field[NFV_ACL_F_DPORT].value.u16 = 0;
        a->field[NFV_ACL_F_DPORT].mask_range.u16 = 0xffff;
    } else {
        a->field[NFV_ACL_F_DPORT].value.u16 = r->dport_min;
        a->field[NFV_ACL_F_DPORT].mask_range.u16 = r->dport_max;
    }
    if (r->icmp_type >= 0) {
        a->field[NFV_ACL_F_ICMP].value.u16 = (uint16_t) r->icmp_type;
        a->field[NFV_ACL_F_ICMP].mask_range.u16 = (uint16_t) r->icmp_type;
    } else {
        a->field[NFV_ACL_F_ICMP].value.u16 = 0;
        a->field[NFV_ACL_F_ICMP].mask_range.u16 = 0xffff;
    }
}

struct nfv_acl *
nfv_acl_create(const struct nfv_fw_rule *rules, size_t n)
{
    static unsigned int serial;     /* rte_acl names are process-global */
    size_t total;
    int err = nfv_acl_check__(rules, n, &total);
    if (err) {
        errno = -err;
        return NULL;
    }
    struct nfv_acl *acl = xzalloc(sizeof *acl);
    acl->n_expanded = total;
    if (!total) {
        return acl;
    }

    char name[RTE_ACL_NAMESIZE];
    snprintf(name, sizeof name, "nfv-acl-%u", serial++);
    struct rte_acl_param param = {
        .name = name,
        .socket_id = SOCKET_ID_ANY,
        .rule_size = RTE_ACL_RULE_SZ(NFV_ACL_N_FIELDS),
        .max_rule_num = (uint32_t) total,
    };
    acl->ctx = rte_acl_create(&param);
    if (!acl->ctx) {
        err = rte_errno ? rte_errno : ENOMEM;
        goto fail;
    }

    /* Add the expanded rules in chunks to bound the temporary array. */
    enum { CHUNK = 4096 };
    struct nfv_acl_rule__ *buf = xcalloc(CHUNK, sizeof *buf);
    size_t used = 0;
    for (size_t i = 0; i < n && !err; i++) {
        const struct nfv_fw_rule *r = &rules[i];
        uint8_t protos[2];
        size_t np = nfv_acl_protos__(r, protos);
        for (size_t s = 0; s < MAX(r->n_src, 1) && !err; s++) {
            for (size_t d = 0; d < MAX(r->n_dst, 1) && !err; d++) {
                for (size_t p = 0; p < np && !err; p++) {
                    nfv_acl_fill__(&buf[used++], r, i, protos[p],
                                   r->n_src ? &r->src[s] : NULL,
                                   r->n_dst ? &r->dst[d] : NULL);
                    if (used == CHUNK) {
                        err = -rte_acl_add_rules(
                            acl->ctx, (const struct rte_acl_rule *) buf,
                            (uint32_t) used);
                        used = 0;
                    }
                }
            }
        }
    }
    if (!err && used) {
        err = -rte_acl_add_rules(acl->ctx, (const struct rte_acl_rule *) buf,
                                 (uint32_t) used);
    }
    free(buf);
    if (err) {
        goto fail;
    }

    struct rte_acl_config cfg = {
        .num_categories = 1,
        .num_fields = NFV_ACL_N_FIELDS,
    };
    memcpy(cfg.defs, nfv_acl_defs, sizeof nfv_acl_defs);
    err = -rte_acl_build(acl->ctx, &cfg);
    if (err) {
        goto fail;
    }
    return acl;

fail:
    LOG_WARN("building a classifier of %zu rules (%zu expanded) failed: %s",
             n, total, strerror(err));
    nfv_acl_destroy(acl);
    errno = err;
    return NULL;
}

void
nfv_acl_destroy(struct nfv_acl *acl)
{
    if (acl) {
        rte_acl_free(acl->ctx);
        free(acl);
    }
}

size_t
nfv_acl_n_expanded(const struct nfv_acl *acl)
{
    return acl->n_expanded;
}

void
nfv_acl_key_init(struct nfv_acl_key *k, const struct nfv_pkt *pkt)
{
    k->proto = pkt->proto;
    k->pad[0] = k->pad[1] = k->pad[2] = 0;
    k->src_be = htonl(pkt->src);
    k->dst_be = htonl(pkt->dst);
    bool ports = pkt->proto == NFV_IP_PROTO_TCP || pkt->proto == NFV_IP_PROTO_UDP;
    k->dport_be = htons(ports ? pkt->dport : 0);
    k->icmp_type_be = htons(pkt->proto == NFV_IP_PROTO_ICMP ? pkt->icmp_type : 0);
}

void
nfv_acl_classify(const struct nfv_acl *acl, const struct nfv_acl_key *const *keys,
                 uint32_t *results, size_t n)
{
    if (!acl->ctx) {
        for (size_t i = 0; i < n; i++) {
            results[i] = NFV_ACL_NO_MATCH;
        }
        return;
    }
    rte_acl_classify(acl->ctx, (const uint8_t **) keys, results, (uint32_t) n, 1);
    for (size_t i = 0; i < n; i++) {
        results[i] = results[i] ? results[i] - 1 : NFV_ACL_NO_MATCH;
    }
}

static bool
nfv_acl_in_cidrs__(const struct nfv_cidr *c, size_t n, uint32_t ip)
{
    if (!n) {
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        if (!((ip ^ c[i].net) & nfv_acl_mask__(c[i].plen))) {
            return true;
        }
    }
    return false;
}

bool
nfv_acl_rule_matches(const struct nfv_fw_rule *r, const struct nfv_pkt *pkt)
{
    if (r->proto && r->proto != pkt->proto) {
        return false;
    }
    if (!nfv_acl_port_any(r)
        && ((pkt->proto != NFV_IP_PROTO_TCP && pkt->proto != NFV_IP_PROTO_UDP)
            || pkt->dport < r->dport_min || pkt->dport > r->dport_max)) {
        return false;
    }
    if (r->icmp_type >= 0 && (pkt->proto != NFV_IP_PROTO_ICMP
                              || pkt->icmp_type != r->icmp_type)) {
        return false;
    }
    return nfv_acl_in_cidrs__(r->src, r->n_src, pkt->src)
           && nfv_acl_in_cidrs__(r->dst, r->n_dst, pkt->dst);
}

uint32_t
nfv_acl_linear(const struct nfv_fw_rule *rules, size_t n,
               const struct nfv_pkt *pkt)
{
    for (size_t i = 0; i < n; i++) {
        if (nfv_acl_rule_matches(&rules[i], pkt)) {
            return (uint32_t) i;
        }
    }
    return NFV_ACL_NO_MATCH;
}
