/* topo-test.c — see topo-test.h.  Only what needs no compiler library
 * lives here: every unit test links this file. */
#include "tests/unit/support/topo-test.h"

#include "lib/addr.h"
#include "lib/util.h"

char *
topo_test_source_path(const char *rel)
{
    static const char self[] = "/tests/unit/support/topo-test.c";
    const char *dir = getenv("ANET_SOURCE_DIR");
    if (dir) {
        return xasprintf("%s/%s", dir, rel);
    }
    return xasprintf("%.*s/%s", (int) (strlen(__FILE__) - strlen(self)),
                     __FILE__, rel);
}

uint32_t
topo_test_ip(const char *s)
{
    uint32_t v;
    assert_int_equal(ip4_parse(s, &v), 0);
    return v;
}
