/* compile-test.h — helpers the compiler unit tests share: loading a
 * topology that must be valid, finding a compiled host, and asserting on
 * its flows by their printed form.
 *
 * What: test-compile.c, test-compile-l3.c and test-compile-gw.c load
 * topologies from strings or from topology-examples/, compile them, then
 * look for flows by the text flow_format() prints without the cookie
 * ("table=..., priority=..., ..."), count a table's flows, and compute the
 * router metadata the compiler derives from a router's name.
 *
 * Design: every file in tests/unit/support/ is linked into every unit
 * test, but only some tests link the compiler library (anet_compiler).
 * The helpers that call into it are therefore static inline functions
 * here, compiled only into the tests that include this header; the rest
 * (compile-test.c) needs no library at all.  Failures go through cmocka,
 * after printing what was found to stderr.
 *
 * Thread-safety: none needed; test code only.
 */
#ifndef ANET_COMPILE_TEST_H
#define ANET_COMPILE_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/compile.h"
#include "controller/topo.h"
#include "lib/util.h"

/* The metadata value the compiler gives router 'name': 0x1000000 plus the
 * low 24 bits of the name's 64-bit FNV-1a hash. */
uint32_t compile_test_router_md(const char *name);

/* Loads 'yaml' as the file 'file', printing any error; asserts that it
 * loaded. */
static inline struct topo *
compile_test_load(const char *file, const char *yaml)
{
    struct topo_errors errs;
    topo_errors_init(&errs);
    struct topo *t = topo_load_buffer(file, yaml, strlen(yaml), &errs);
    for (size_t i = 0; i < errs.n; i++) {
        char *s = topo_error_format(&errs.errs[i]);
        fprintf(stderr, "%s\n", s);
        free(s);
    }
    topo_errors_destroy(&errs);
    assert_non_null(t);
    return t;
}

/* Loads topology-examples/'name' from the source tree (ANET_SOURCE_DIR,
 * else the current directory); asserts that it loaded. */
static inline struct topo *
compile_test_load_example(const char *name)
{
    const char *src = getenv("ANET_SOURCE_DIR");
    char *path = xasprintf("%s/topology-examples/%s", src ? src : ".", name);
    struct topo *t = topo_load_file(path, NULL);
    free(path);
    assert_non_null(t);
    return t;
}

/* Returns host 'name' of 'r', asserting that it is there. */
static inline const struct compiled_host *
compile_test_host(const struct compile_result *r, const char *name)
{
    const struct compiled_host *h = compile_find_host(r, name);
    assert_non_null(h);
    return h;
}

/* True if 'h' has a flow printing exactly as 'want' without its cookie. */
static inline bool
compile_test_has_flow(const struct compiled_host *h, const char *want)
{
    for (size_t i = 0; i < h->flows.n; i++) {
        char *s = flow_format(&h->flows.flows[i]);
        const char *p = strstr(s, "table=");
        bool eq = p && !strcmp(p, want);
        free(s);
        if (eq) {
            return true;
        }
    }
    return false;
}

/* Asserts that 'h' has the flow 'want' (see compile_test_has_flow()),
 * printing all of its flows if not; frees 'want'. */
static inline void
compile_test_expect_flow(const struct compiled_host *h, char *want)
{
    if (!compile_test_has_flow(h, want)) {
        for (size_t i = 0; i < h->flows.n; i++) {
            char *s = flow_format(&h->flows.flows[i]);
            fprintf(stderr, "  %s\n", s);
            free(s);
        }
        fail_msg("%s lacks: %s", h->name, want);
    }
    free(want);
}

/* Returns how many of 'h''s flows are in 'table'. */
static inline size_t
compile_test_count_table(const struct compiled_host *h, unsigned int table)
{
    size_t n = 0;
    for (size_t i = 0; i < h->flows.n; i++) {
        n += h->flows.flows[i].table == table;
    }
    return n;
}

#endif
