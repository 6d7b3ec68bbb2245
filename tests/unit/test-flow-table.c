/* test-flow-table.c — the key-indexed flow table against a plain model:
 * random puts, replacements and removals (fixed seed) must leave exactly
 * the flows the model holds, findable by key, and export sorted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/flow-table.h"

#define N_KEYS 3000

static void
make_flow(struct flow *f, unsigned int key, unsigned int version)
{
    /* Keys differ in table, priority and match so that every part of the
     * key is exercised; 'version' changes only the value side. */
    flow_init(f, key % 7 * 10, 100 + key % 3, version);
    flow_match_set(&f->match, FF_METADATA, key / 21, 0);
    flow_match_set(&f->match, FF_ETH_DST, 0x0a0000000000ULL + key, 0);
    flow_output(f, version);
}

static void
test_random_ops_match_model(void **state)
{
    struct flow_table t;
    unsigned int model[N_KEYS] = { 0 };   /* 0 = absent, else version */
    uint32_t rng = 12345;

    flow_table_init(&t);
    for (int op = 0; op < 60000; op++) {
        rng = rng * 1103515245 + 12345;
        unsigned int key = (rng >> 8) % N_KEYS;
        struct flow f;
        make_flow(&f, key, 0);
        if ((rng >> 4) % 3) {
            unsigned int version = 1 + op;
            flow_destroy(&f);
            make_flow(&f, key, version);
            flow_table_put(&t, &f);
            assert_null(f.actions);            /* ownership taken */
            model[key] = version;
        } else {
            assert_int_equal(flow_table_remove(&t, &f), model[key] != 0);
            model[key] = 0;
            flow_destroy(&f);
        }
    }

    size_t n = 0;
    for (unsigned int k = 0; k < N_KEYS; k++) {
        struct flow key;
        make_flow(&key, k, 0);
        const struct flow *got = flow_table_find(&t, &key);
        if (model[k]) {
            n++;
            assert_non_null(got);
            assert_int_equal(got->cookie, model[k]);
            assert_int_equal(got->actions[0].arg, model[k]);
        } else {
            assert_null(got);
        }
        flow_destroy(&key);
    }
    assert_int_equal(flow_table_count(&t), n);

    struct flow_set out;
    flow_set_init(&out);
    flow_table_to_set(&t, &out);
    assert_int_equal(out.n, n);
    for (size_t i = 1; i < out.n; i++) {
        assert_true(flow_key_cmp(&out.flows[i - 1], &out.flows[i]) < 0);
    }

    /* A round trip through from_set gives an equal table. */
    struct flow_table t2;
    struct flow_set out2;
    flow_table_init(&t2);
    flow_set_init(&out2);
    flow_table_from_set(&t2, &out);
    flow_table_to_set(&t2, &out2);
    assert_true(flow_set_equal(&out, &out2));

    flow_set_destroy(&out);
    flow_set_destroy(&out2);
    flow_table_destroy(&t);
    flow_table_destroy(&t2);
    flow_table_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_ops_match_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
