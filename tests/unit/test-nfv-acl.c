/* test-nfv-acl.c — the rte_acl classifier against the linear reference on
 * random rule sets and random packets drawn from the same small address
 * and port universe (so that rules overlap and the order matters), plus
 * the semantics the reference itself must have (first match wins, port
 * ranges only for TCP/UDP, ICMP types only for ICMP) and the errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nfv/acl.h"
#include "nfv/nfv-eal.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t) (rng_state >> 16);
}

/* Addresses from 10.0.0.0/16 with few distinct high bits, so prefixes of
 * every length overlap often. */
static uint32_t
rnd_ip(void)
{
    return 0x0a000000u | (rnd() % 4) << 14 | (rnd() % 4) << 6 | (rnd() % 64);
}

static const uint8_t protos[] = { 0, 1, 6, 17, 47 };

static void
rnd_rule(struct nfv_fw_rule *r)
{
    memset(r, 0, sizeof *r);
    r->n_src = rnd() % 3;
    r->n_dst = rnd() % 3;
    r->src = calloc(r->n_src + 1, sizeof *r->src);
    r->dst = calloc(r->n_dst + 1, sizeof *r->dst);
    for (size_t i = 0; i < r->n_src; i++) {
        r->src[i] = (struct nfv_cidr) { rnd_ip(), (uint8_t) (16 + rnd() % 17) };
    }
    for (size_t i = 0; i < r->n_dst; i++) {
        r->dst[i] = (struct nfv_cidr) { rnd_ip(), (uint8_t) (rnd() % 33) };
    }
    r->proto = protos[rnd() % 4];
    r->icmp_type = -1;
    switch (rnd() % 4) {
    case 0: {
        uint16_t a = (uint16_t) (rnd() % 100), b = (uint16_t) (rnd() % 100);
        r->dport_min = a < b ? a : b;
        r->dport_max = a < b ? b : a;
        break;
    }
    case 1:
        r->icmp_type = (int16_t) (rnd() % 4 == 0 ? 0 : 8);
        break;
    case 2:
        r->dport_max = 65535;
        break;
    default:
        break;
    }
    r->action = (enum nfv_fw_action) (rnd() % 3);
}

static void
free_rules(struct nfv_fw_rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rules[i].src);
        free(rules[i].dst);
    }
    free(rules);
}

static void
rnd_pkt(struct nfv_pkt *p)
{
    memset(p, 0, sizeof *p);
    p->proto = protos[rnd() % 5];
    p->src = rnd_ip();
    p->dst = rnd() % 8 ? rnd_ip() : rnd();
    if (p->proto == 6 || p->proto == 17) {
        p->sport = (uint16_t) rnd();
        p->dport = (uint16_t) (rnd() % 120);
    } else if (p->proto == 1) {
        p->icmp_type = (uint8_t) (rnd() % 2 ? 8 : rnd() % 12);
        p->sport = (uint16_t) rnd();
    }
}

static void
test_random_vs_linear(void **state)
{
    (void) state;
    size_t matched = 0, unmatched = 0, total = 0;
    for (int set = 0; set < 40; set++) {
        size_t n = 1 + rnd() % (set < 30 ? 20 : 300);
        struct nfv_fw_rule *rules = calloc(n, sizeof *rules);
        for (size_t i = 0; i < n; i++) {
            rnd_rule(&rules[i]);
        }
        struct nfv_acl *acl = nfv_acl_create(rules, n);
        assert_non_null(acl);

        enum { BURST = 64 };
        for (int b = 0; b < 50; b++) {
            struct nfv_pkt pkts[BURST];
            struct nfv_acl_key keys[BURST];
            const struct nfv_acl_key *kp[BURST];
            uint32_t res[BURST];
            size_t burst = 1 + rnd() % BURST;
            for (size_t i = 0; i < burst; i++) {
                rnd_pkt(&pkts[i]);
                nfv_acl_key_init(&keys[i], &pkts[i]);
                kp[i] = &keys[i];
            }
            nfv_acl_classify(acl, kp, res, burst);
            for (size_t i = 0; i < burst; i++) {
                uint32_t want = nfv_acl_linear(rules, n, &pkts[i]);
                if (res[i] != want) {
                    fail_msg("set %d (%zu rules) packet %u->%u proto %u "
                             "dport %u icmp %u: acl %u linear %u", set, n,
                             pkts[i].src, pkts[i].dst, pkts[i].proto,
                             pkts[i].dport, pkts[i].icmp_type, res[i], want);
                }
                if (want == NFV_ACL_NO_MATCH) {
                    unmatched++;
                } else {
                    matched++;
                }
                total++;
            }
        }
        nfv_acl_destroy(acl);
        free_rules(rules, n);
    }
    /* The universe must exercise both outcomes, and many rule indexes. */
    assert_true(total > 40000);
    assert_true(matched > total / 10);
    assert_true(unmatched > total / 20);
}

static void
test_semantics(void **state)
{
    (void) state;
    struct nfv_cidr net10 = { 0x0a000000, 8 }, host = { 0x0a000005, 32 };
    struct nfv_fw_rule rules[] = {
        /* 0: TCP 22 from the one host */
        { .src = &host, .n_src = 1, .proto = 6, .dport_min = 22,
          .dport_max = 22, .icmp_type = -1, .action = NFV_FW_DENY },
        /* 1: any protocol, ports 20..30 from 10/8: TCP and UDP only */
        { .src = &net10, .n_src = 1, .dport_min = 20, .dport_max = 30,
          .icmp_type = -1, .action = NFV_FW_ALLOW },
        /* 2: ICMP echo to anything */
        { .icmp_type = 8, .action = NFV_FW_ALLOW },
        /* 3: TCP with an ICMP type: never matches */
        { .proto = 6, .icmp_type = 3, .action = NFV_FW_ALLOW },
        /* 4: everything to 10/8 */
        { .dst = &net10, .n_dst = 1, .icmp_type = -1, .action = NFV_FW_REJECT },
    };
    size_t n = sizeof rules / sizeof rules[0];
    struct nfv_acl *acl = nfv_acl_create(rules, n);
    assert_non_null(acl);
    /* 1 + 2 (tcp, udp) + 1 + 0 + 1 */
    assert_int_equal(nfv_acl_n_expanded(acl), 5);

    static const struct {
        uint8_t proto; uint32_t src, dst; uint16_t dport; uint8_t icmp;
        uint32_t want;
    } cases[] = {
        { 6, 0x0a000005, 0x0b000001, 22, 0, 0 },
        { 6, 0x0a000006, 0x0b000001, 22, 0, 1 },
        { 17, 0x0a000005, 0x0b000001, 22, 0, 1 },
        { 1, 0x0a000005, 0x0b000001, 0, 8, 2 },
        { 1, 0x0a000005, 0x0a000001, 0, 0, 4 },
        { 1, 0x0b000005, 0x0b000001, 0, 0, NFV_ACL_NO_MATCH },
        { 47, 0x0a000005, 0x0b000001, 0, 0, NFV_ACL_NO_MATCH },
        { 47, 0x0a000005, 0x0a0000ff, 0, 0, 4 },
        { 6, 0x0b000005, 0x0b000001, 25, 0, NFV_ACL_NO_MATCH },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct nfv_pkt p = { .proto = cases[i].proto, .src = cases[i].src,
                             .dst = cases[i].dst, .dport = cases[i].dport,
                             .icmp_type = cases[i].icmp };
        struct nfv_acl_key k;
        const struct nfv_acl_key *kp = &k;
        uint32_t res;
        nfv_acl_key_init(&k, &p);
        nfv_acl_classify(acl, &kp, &res, 1);
        assert_int_equal(nfv_acl_linear(rules, n, &p), cases[i].want);
        assert_int_equal(res, cases[i].want);
    }
    nfv_acl_destroy(acl);
}

static void
test_errors_and_empty(void **state)
{
    (void) state;
    struct nfv_cidr bad = { 0, 33 };
    struct nfv_fw_rule r = { .src = &bad, .n_src = 1, .icmp_type = -1 };
    errno = 0;
    assert_null(nfv_acl_create(&r, 1));
    assert_int_equal(errno, EINVAL);

    struct nfv_fw_rule range = { .dport_min = 10, .dport_max = 5,
                                 .icmp_type = -1 };
    assert_null(nfv_acl_create(&range, 1));
    assert_int_equal(errno, EINVAL);

    /* 1100 x 1000 CIDRs expand past the limit. */
    struct nfv_cidr *many = calloc(1100, sizeof *many);
    struct nfv_fw_rule big = { .src = many, .n_src = 1100, .dst = many,
                               .n_dst = 1000, .icmp_type = -1 };
    assert_null(nfv_acl_create(&big, 1));
    assert_int_equal(errno, E2BIG);
    free(many);

    /* No rules (or none that can match): nothing matches. */
    struct nfv_fw_rule never = { .proto = 17, .icmp_type = 0 };
    struct nfv_acl *acl = nfv_acl_create(&never, 1);
    assert_non_null(acl);
    assert_int_equal(nfv_acl_n_expanded(acl), 0);
    struct nfv_pkt p = { .proto = 17, .src = 1, .dst = 2 };
    struct nfv_acl_key k;
    const struct nfv_acl_key *kp = &k;
    uint32_t res = 0;
    nfv_acl_key_init(&k, &p);
    nfv_acl_classify(acl, &kp, &res, 1);
    assert_int_equal(res, NFV_ACL_NO_MATCH);
    nfv_acl_destroy(acl);
    nfv_acl_destroy(NULL);
}

static int
setup(void **state)
{
    (void) state;
    return nfv_eal_init_for_tests();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_semantics),
        cmocka_unit_test(test_errors_and_empty),
        cmocka_unit_test(test_random_vs_linear),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
