/* topo-test.h — helpers the topology unit tests share: loading YAML text,
 * printing and matching validation errors, locating files in the source
 * tree.
 *
 * What: test-topo.c, test-topo-router.c and test-topo-gateway.c all load
 * small topologies from strings (as "t.yaml", so that every error names
 * that file), assert that a load succeeds without errors, or that a
 * particular error sits at a given line, column and path; and they load
 * the shipped examples from the source tree.
 *
 * Design: every file in tests/unit/support/ is linked into every unit
 * test, but only some tests link the compiler library (anet_compiler),
 * which holds the topology loader.  The helpers that call the loader are
 * therefore static inline functions here, compiled only into the tests
 * that include this header; the rest (topo-test.c) needs nothing beyond
 * anet_lib and cmocka, which every unit test links.  Failures go through
 * cmocka (fail(), assert_*()), after printing what was found to stderr.
 *
 * Thread-safety: none needed; test code only.
 */
#ifndef ANET_TOPO_TEST_H
#define ANET_TOPO_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/topo.h"

/* Returns the path of 'rel' (relative to the top of the source tree), on
 * the heap.  CTest passes the source tree in ANET_SOURCE_DIR; by hand, it
 * is derived from where this support file was compiled from. */
char *topo_test_source_path(const char *rel);

/* Parses the dotted-quad 's', asserting that it is valid. */
uint32_t topo_test_ip(const char *s);

/* Loads 'yaml' as the file "t.yaml", collecting errors in 'errs'. */
static inline struct topo *
topo_test_load(const char *yaml, struct topo_errors *errs)
{
    return topo_load_buffer("t.yaml", yaml, strlen(yaml), errs);
}

/* Prints every error of 'errs' to stderr, one a line. */
static inline void
topo_test_print_errors(const struct topo_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++) {
        char *s = topo_error_format(&errs->errs[i]);
        fprintf(stderr, "  %s\n", s);
        free(s);
    }
}

/* Asserts that 'errs' holds an error at line:col with 'path' whose message
 * contains 'what'. */
static inline void
topo_test_expect_error(const struct topo_errors *errs, unsigned int line,
                       unsigned int col, const char *path, const char *what)
{
    for (size_t i = 0; i < errs->n; i++) {
        const struct topo_error *e = &errs->errs[i];
        if (e->line == line && e->col == col && !strcmp(e->path, path)
            && strstr(e->msg, what)) {
            return;
        }
    }
    fprintf(stderr, "expected %u:%u: %s: ...%s... among:\n", line, col, path,
            what);
    topo_test_print_errors(errs);
    fail();
}

/* Loads 'yaml', asserting that it loads without a single error. */
static inline struct topo *
topo_test_load_ok(const char *yaml)
{
    struct topo_errors errs;
    topo_errors_init(&errs);
    struct topo *t = topo_test_load(yaml, &errs);
    if (!t) {
        topo_test_print_errors(&errs);
    }
    assert_non_null(t);
    assert_int_equal(errs.n, 0);
    topo_errors_destroy(&errs);
    return t;
}

#endif
