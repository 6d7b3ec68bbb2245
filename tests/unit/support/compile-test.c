/* compile-test.c — see compile-test.h.  Only what needs no library lives
 * here: every unit test links this file. */
#include "tests/unit/support/compile-test.h"

uint32_t
compile_test_router_md(const char *name)
{
    uint64_t h = 14695981039346656037ULL;
    for (const char *s = name; *s; s++) {
        h ^= (uint8_t) *s;
        h *= 1099511628211ULL;
    }
    return 0x1000000u | (uint32_t) (h & 0xffffff);
}
