/* gen-topo-main.c — anet-bench-gen: prints a synthetic topology.
 * Usage: anet-bench-gen N_PORTS [PORTS_PER_SWITCH [PORTS_PER_HOST
 *                               [HOSTS_PER_SWITCH]]] */
#include "tests/bench/gen-topo.h"

#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char *argv[])
{
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: %s N_PORTS [PORTS_PER_SWITCH [PORTS_PER_HOST "
                "[HOSTS_PER_SWITCH]]]\n", argv[0]);
        return 2;
    }
    struct bench_gen g = {
        .n_ports = strtoul(argv[1], NULL, 10),
        .ports_per_switch = argc > 2 ? strtoul(argv[2], NULL, 10) : 20,
        .ports_per_host = argc > 3 ? strtoul(argv[3], NULL, 10) : 100,
        .hosts_per_switch = argc > 4 ? strtoul(argv[4], NULL, 10) : 4,
    };
    size_t len;
    char *yaml = bench_gen_yaml(&g, &len);
    fwrite(yaml, 1, len, stdout);
    free(yaml);
    return 0;
}
