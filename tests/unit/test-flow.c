/* test-flow.c — typed flows: match building, canonical order, diffs, text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "datapath/flow.h"
#include "lib/addr.h"

static void
make_l2(struct flow *f, uint64_t vni, uint64_t mac, uint32_t port)
{
    flow_init(f, 30, 100, 0xabc);
    assert_int_equal(flow_match_set(&f->match, FF_ETH_DST, mac, 0), 0);
    assert_int_equal(flow_match_set(&f->match, FF_METADATA, vni, 0), 0);
    flow_output(f, port);
}

static void
test_match_sorted_and_masked(void **state)
{
    struct flow f;
    make_l2(&f, 5, 0x0a0000000001ULL, 3);
    /* Fields are kept sorted by id whatever the insertion order. */
    assert_int_equal(f.match.n, 2);
    assert_int_equal(f.match.f[0].id, FF_METADATA);
    assert_int_equal(f.match.f[1].id, FF_ETH_DST);
    /* Unmasked means full width; value bits outside the mask are dropped. */
    assert_true(f.match.f[1].mask == 0xffffffffffffULL);
    assert_int_equal(flow_match_set(&f.match, FF_REG14, 0x1234, 0xff), 0);
    assert_true(flow_match_get(&f.match, FF_REG14)->value == 0x34);
    assert_int_equal(flow_match_set(&f.match, 200, 1, 0), -EINVAL);
    flow_destroy(&f);
}

static void
test_format(void **state)
{
    struct flow f;
    make_l2(&f, 5, 0x0a0000000001ULL, 3);
    flow_set_field(&f, FF_TUN_DST, 0x0ac80001);
    char *s = flow_format(&f);
    assert_string_equal(s, "cookie=0xabc, table=30, priority=100,metadata=0x5,"
                        "dl_dst=0a:00:00:00:00:01 actions=output:3,"
                        "set_field:10.200.0.1->tun_dst");
    free(s);
    flow_destroy(&f);
}

static void
count_diff(void *aux, const struct flow *o, const struct flow *n)
{
    int *c = aux;
    c[!o ? 0 : !n ? 1 : 2]++;
}

static void
test_set_diff(void **state)
{
    struct flow_set a, b;
    struct flow f;
    flow_set_init(&a);
    flow_set_init(&b);
    for (int i = 0; i < 4; i++) {
        make_l2(&f, 5, 0x0a0000000001ULL + i, 10 + i);
        flow_set_take(&a, &f);
    }
    for (int i = 1; i < 5; i++) {   /* drops #0, adds #4, modifies #2 */
        make_l2(&f, 5, 0x0a0000000001ULL + i, i == 2 ? 99 : 10 + i);
        flow_set_take(&b, &f);
    }
    flow_set_sort(&a);
    flow_set_sort(&b);
    int counts[3] = { 0 };   /* add, remove, modify */
    flow_set_diff(&a, &b, count_diff, counts);
    assert_int_equal(counts[0], 1);
    assert_int_equal(counts[1], 1);
    assert_int_equal(counts[2], 1);
    assert_false(flow_set_equal(&a, &b));
    flow_set_diff(&a, &a, count_diff, counts);
    assert_int_equal(counts[0] + counts[1] + counts[2], 3);
    flow_set_destroy(&a);
    flow_set_destroy(&b);
}

static void
test_addr(void **state)
{
    uint64_t mac;
    uint32_t ip;
    unsigned int plen;
    char buf[ETH_ADDR_STRLEN];
    assert_int_equal(eth_parse("0A:00:00:00:00:ff", &mac), 0);
    eth_format(mac, buf);
    assert_string_equal(buf, "0a:00:00:00:00:ff");
    assert_int_equal(eth_parse("0a:00:00:00:00:ff:", &mac), -EINVAL);
    assert_int_equal(eth_parse("0a:00:00:00:00", &mac), -EINVAL);
    assert_int_equal(ip4_parse_cidr("10.1.0.0/16", &ip, &plen), 0);
    assert_int_equal(plen, 16);
    assert_true(ip4_in_subnet(0x0a01ff01, ip, plen));
    assert_false(ip4_in_subnet(0x0a02ff01, ip, plen));
    assert_int_equal(ip4_parse_cidr("10.1.0.0/33", &ip, &plen), -EINVAL);
    assert_int_equal(ip4_parse_cidr("10.1.0.0", &ip, &plen), -EINVAL);
    assert_int_equal(ip4_parse("10.1.0.300", &ip), -EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_sorted_and_masked),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_set_diff),
        cmocka_unit_test(test_addr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
