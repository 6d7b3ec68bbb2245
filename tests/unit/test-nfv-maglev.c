/* test-nfv-maglev.c — Maglev consistent hashing (nfv/maglev.h): the slot
 * distribution of equal and weighted backends, the disruption caused by
 * removing one backend, and the edges (empty table, bad sizes).
 *
 * "Share" below is always a backend's share of the table's slots, counted
 * over every slot of the built table; since a flow's backend is the owner
 * of slot hash(flow) mod M, the share of slots is the share of flows for a
 * uniform flow hash.  The disruption test counts both: slots that changed
 * owner, and of 200,000 pseudo-random flow hashes those whose backend
 * changed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "nfv/maglev.h"

static uint64_t
test_key(size_t i)
{
    /* Backend keys as vAD makes them: IPv4 address << 16 | port. */
    return (uint64_t) (0x0a000100u + (uint32_t) i) << 16 | 8080;
}

static void
count_slots(const struct maglev *m, size_t n, uint32_t *counts)
{
    const uint16_t *slots = maglev_slots(m);
    for (size_t i = 0; i < n; i++) {
        counts[i] = 0;
    }
    for (uint32_t s = 0; s < maglev_size(m); s++) {
        assert_true(slots[s] < n);          /* every slot is filled */
        counts[slots[s]]++;
    }
}

static void
test_distribution_equal(void **state)
{
    (void) state;
    static const size_t ns[] = { 2, 4, 10, 100, 500, 1000 };
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        size_t n = ns[k];
        uint32_t size = maglev_table_size_for(n);
        assert_true(size >= 100 * n);
        assert_true(maglev_is_prime(size));
        struct maglev *m = maglev_create(size);
        assert_non_null(m);
        uint64_t keys[1000];
        for (size_t i = 0; i < n; i++) {
            keys[i] = test_key(i);
        }
        assert_int_equal(maglev_build(m, keys, NULL, n), 0);
        uint32_t counts[1000], lo = UINT32_MAX, hi = 0;
        count_slots(m, n, counts);
        for (size_t i = 0; i < n; i++) {
            lo = counts[i] < lo ? counts[i] : lo;
            hi = counts[i] > hi ? counts[i] : hi;
        }
        /* max share / min share <= 1.01. */
        printf("n=%zu M=%u slots per backend min %u max %u (ratio %.4f)\n",
               n, size, lo, hi, (double) hi / lo);
        assert_true(lo > 0);
        assert_true((double) hi / lo <= 1.01);
        maglev_destroy(m);
    }
}

static void
test_disruption(void **state)
{
    (void) state;
    static const size_t ns[] = { 3, 5, 10, 50, 100, 500 };
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        size_t n = ns[k];
        uint32_t size = maglev_table_size_for(n);
        struct maglev *a = maglev_create(size);
        struct maglev *b = maglev_create(size);
        uint64_t keys[500], fewer[500];
        for (size_t i = 0; i < n; i++) {
            keys[i] = test_key(i);
        }
        size_t gone = n / 2;
        for (size_t i = 0, j = 0; i < n; i++) {
            if (i != gone) {
                fewer[j++] = keys[i];
            }
        }
        assert_int_equal(maglev_build(a, keys, NULL, n), 0);
        assert_int_equal(maglev_build(b, fewer, NULL, n - 1), 0);

        /* Slots whose owner (by key) changed. */
        const uint16_t *sa = maglev_slots(a), *sb = maglev_slots(b);
        uint32_t moved = 0, moved_other = 0;
        for (uint32_t s = 0; s < size; s++) {
            if (keys[sa[s]] != fewer[sb[s]]) {
                moved++;
                moved_other += sa[s] != gone;
            }
        }
        /* Flows whose backend changed. */
        uint32_t flows = 200000, flows_moved = 0, x = 12345;
        for (uint32_t f = 0; f < flows; f++) {
            x = x * 1664525u + 1013904223u;
            uint32_t h = x ^ (x >> 15) * 0x2c1b3c6du;
            flows_moved += keys[maglev_lookup(a, h)]
                           != fewer[maglev_lookup(b, h)];
        }
        double bound = 1.0 / n + 0.01;
        printf("n=%zu: slots moved %.4f (of other backends %.4f), "
               "flows moved %.4f, bound %.4f\n", n, (double) moved / size,
               (double) moved_other / size, (double) flows_moved / flows,
               bound);
        assert_true((double) moved / size <= bound);
        assert_true((double) flows_moved / flows <= bound);
        /* The removed backend's slots all moved: at least its share. */
        assert_true(moved >= size / n);
        maglev_destroy(a);
        maglev_destroy(b);
    }
}

static void
test_weights(void **state)
{
    (void) state;
    uint64_t keys[5];
    uint32_t weights[5] = { 1, 2, 3, 4, 0 };
    for (size_t i = 0; i < 5; i++) {
        keys[i] = test_key(i);
    }
    struct maglev *m = maglev_create(0);
    assert_int_equal(maglev_size(m), MAGLEV_DEFAULT_SIZE);
    assert_int_equal(maglev_build(m, keys, weights, 5), 0);
    uint32_t counts[5];
    count_slots(m, 5, counts);
    assert_int_equal(counts[4], 0);         /* weight 0: no slot */
    for (size_t i = 0; i < 4; i++) {
        double share = (double) counts[i] / maglev_size(m);
        double want = weights[i] / 10.0;
        printf("weight %u: share %.5f (want %.5f)\n", weights[i], share,
               want);
        assert_true(share / want > 0.99 && share / want < 1.01);
    }

    /* Weights sharing a factor give the same shares as reduced ones. */
    uint32_t big[4] = { 100, 200, 300, 400 };
    assert_int_equal(maglev_build(m, keys, big, 4), 0);
    uint32_t counts2[4];
    count_slots(m, 4, counts2);
    for (size_t i = 0; i < 4; i++) {
        assert_true(abs((int) counts2[i] - (int) counts[i]) <= 4);
    }
    maglev_destroy(m);
}

/* The paper's algorithm written plainly (a walk with a modulo per probe,
 * weights by credit as maglev.h describes): maglev_build() must give the
 * same table slot for slot, despite its shortcut for the last free slots. */
static void
reference_build(uint32_t size, const uint64_t *keys, const uint32_t *weights,
                size_t n, uint16_t *slots)
{
    uint32_t next[64], credit[64] = { 0 }, w_max = 0;
    for (size_t i = 0; i < n; i++) {
        next[i] = 0;
        w_max = weights[i] > w_max ? weights[i] : w_max;
    }
    for (uint32_t s = 0; s < size; s++) {
        slots[s] = 0xffff;
    }
    uint32_t filled = 0;
    while (filled < size) {
        for (size_t i = 0; i < n && filled < size; i++) {
            credit[i] += weights[i];
            if (credit[i] < w_max) {
                continue;
            }
            credit[i] -= w_max;
            uint32_t off, skip, c;
            maglev_key_hashes(keys[i], size, &off, &skip);
            do {
                c = (uint32_t) ((off + (uint64_t) next[i] * skip) % size);
                next[i]++;
            } while (slots[c] != 0xffff);
            slots[c] = (uint16_t) i;
            filled++;
        }
    }
}

static void
test_matches_reference(void **state)
{
    (void) state;
    static const uint32_t sizes[] = { 7, 251, 65537, 100003 };
    static uint16_t ref[100003];
    uint64_t keys[40];
    uint32_t weights[40];
    for (size_t i = 0; i < 40; i++) {
        keys[i] = test_key(i * 7);
        weights[i] = 1 + i % 3;
    }
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint32_t size = sizes[k];
        size_t n = size < 40 ? 3 : 40;
        struct maglev *m = maglev_create(size);
        assert_non_null(m);
        for (int weighted = 0; weighted < 2; weighted++) {
            uint32_t ones[40];
            for (size_t i = 0; i < 40; i++) {
                ones[i] = 1;
            }
            const uint32_t *w = weighted ? weights : ones;
            assert_int_equal(maglev_build(m, keys, w, n), 0);
            reference_build(size, keys, w, n, ref);
            assert_memory_equal(maglev_slots(m), ref, size * sizeof *ref);
        }
        maglev_destroy(m);
    }
}

static void
test_edges(void **state)
{
    (void) state;
    errno = 0;
    assert_null(maglev_create(65536));      /* not prime */
    assert_int_equal(errno, EINVAL);
    assert_null(maglev_create(MAGLEV_MAX_SIZE + 2));
    assert_false(maglev_is_prime(1));
    assert_true(maglev_is_prime(2));
    assert_true(maglev_is_prime(65537));
    assert_int_equal(maglev_table_size_for(0), MAGLEV_DEFAULT_SIZE);
    assert_int_equal(maglev_table_size_for(1000), 100003);

    struct maglev *m = maglev_create(7);
    assert_int_equal(maglev_lookup(m, 1234), MAGLEV_NONE);
    uint64_t keys[8];
    for (size_t i = 0; i < 8; i++) {
        keys[i] = test_key(i);
    }
    assert_int_equal(maglev_build(m, keys, NULL, 8), -E2BIG);
    assert_int_equal(maglev_build(m, keys, NULL, 1), 0);
    for (uint32_t h = 0; h < 1000; h++) {
        assert_int_equal(maglev_lookup(m, h * 4294967u), 0);
    }
    /* The preference list is a permutation of the slots. */
    uint32_t off, skip;
    maglev_key_hashes(keys[3], 7, &off, &skip);
    assert_true(off < 7 && skip >= 1 && skip < 7);
    assert_int_equal(maglev_build(m, keys, NULL, 0), 0);
    assert_int_equal(maglev_lookup(m, 99), MAGLEV_NONE);
    maglev_destroy(m);
    maglev_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distribution_equal),
        cmocka_unit_test(test_disruption),
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
