/* fuzz-topo.c — the topology YAML loader must refuse any input with errors,
 * never crash, leak or read out of bounds. */
#include "tests/fuzz/fuzz.h"
#include "controller/topo.h"

#include <stdlib.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct topo_errors errs;
    topo_errors_init(&errs);
    struct topo *t = topo_load_buffer("fuzz.yaml", (const char *) data, size,
                                      &errs);
    for (size_t i = 0; i < errs.n; i++) {
        free(topo_error_format(&errs.errs[i]));
    }
    topo_destroy(t);
    topo_errors_destroy(&errs);
    return 0;
}
