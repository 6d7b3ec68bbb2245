/* acl.h — vAF's rule classifier: the ordered firewall rules of engine.h
 * compiled into DPDK's rte_acl, plus the linear reference it is tested
 * against.
 *
 * What: nfv_acl_create() compiles a rule list; nfv_acl_classify() maps a
 * burst of packets (as struct nfv_acl_key, built from a parsed packet) to
 * the index of the first rule that matches each, or NFV_ACL_NO_MATCH.
 * nfv_acl_linear() is the same function written as the obvious scan, the
 * oracle for tests and the baseline for the benchmark.
 *
 * Semantics (both implementations): a rule matches a packet when its
 * source is inside one of the rule's source CIDRs (none: any), likewise
 * the destination, the protocol is equal (rule proto 0: any), and
 *   - a destination port range other than any (0/0 or 0/65535) matches
 *     only TCP and UDP packets whose port is inside it;
 *   - an ICMP type other than -1 matches only ICMP packets of that type.
 * The first matching rule in list order wins (index 0 first).
 *
 * Algorithm: rte_acl, a multi-bit trie over the key bytes (proto, src,
 * dst, dport, icmp type: 13 bytes in 16), walked 8 bits at a time with
 * SIMD over several packets at once.  Each rule expands into
 *     n_src' x n_dst' x n_proto'  rte_acl rules,
 * where n_src' = max(n_src, 1) (likewise dst) and n_proto' is 2 for a
 * protocol-any rule with a port range (TCP and UDP), else 1 (0 for a rule
 * that can never match, e.g. TCP with an ICMP type); each gets priority
 * RTE_ACL_MAX_PRIORITY - index and the rule's index + 1 as user data, so
 * rte_acl's highest-priority answer is the first rule in list order.
 *
 * Worst case: classification walks at most one trie node per key byte per
 * trie (13 steps, at most 8 tries when rte_acl splits a large rule set to
 * bound memory), so its cost does not grow with the number of rules.  The
 * cost moves to build time and memory, which grow with the number of
 * expanded rules and, worst, with how port ranges and overlapping
 * prefixes multiply trie states (ranges expand into up to ~2x16 byte-wise
 * sub-ranges); a rule with N x M CIDRs costs N x M rules, so the creator
 * refuses more than NFV_ACL_MAX_EXPANDED expanded rules (-E2BIG).  The
 * linear reference is O(rules x CIDRs) per packet.
 *
 * Errors: nfv_acl_create() returns NULL with errno EINVAL (a prefix length
 * over 32, a port range with min > max), E2BIG, or ENOMEM.
 * Thread-safety: a built classifier is read-only; classify from any number
 * of threads.  Needs the DPDK EAL (see nfv-eal.h for tests).
 */
#ifndef ANET_NFV_ACL_H
#define ANET_NFV_ACL_H

#include <stddef.h>
#include <stdint.h>

#include "nfv/engine.h"
#include "nfv/pkt.h"

#define NFV_ACL_NO_MATCH UINT32_MAX
#define NFV_ACL_MAX_EXPANDED (1u << 20)

/* The bytes rte_acl reads for one packet, network order. */
struct nfv_acl_key {
    uint8_t proto;
    uint8_t pad[3];
    uint32_t src_be, dst_be;
    uint16_t dport_be;
    uint16_t icmp_type_be;
};

struct nfv_acl;

struct nfv_acl *nfv_acl_create(const struct nfv_fw_rule *, size_t n_rules);
void nfv_acl_destroy(struct nfv_acl *);

/* The number of rte_acl rules the rule list expanded into. */
size_t nfv_acl_n_expanded(const struct nfv_acl *);

void nfv_acl_key_init(struct nfv_acl_key *, const struct nfv_pkt *);

/* Classifies 'n' keys: results[i] is the index of the first rule matching
 * keys[i], or NFV_ACL_NO_MATCH. */
void nfv_acl_classify(const struct nfv_acl *, const struct nfv_acl_key *const *keys,
                      uint32_t *results, size_t n);

/* The linear reference. */
bool nfv_acl_rule_matches(const struct nfv_fw_rule *, const struct nfv_pkt *);
uint32_t nfv_acl_linear(const struct nfv_fw_rule *, size_t n_rules,
                        const struct nfv_pkt *);

/* Whether a rule's port range is "any". */
static inline bool
nfv_acl_port_any(const struct nfv_fw_rule *r)
{
    return r->dport_min == 0 && (r->dport_max == 0 || r->dport_max == 65535);
}

#endif
