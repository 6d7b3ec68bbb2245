/* gen-topo-main.c — anet-bench-gen: prints a synthetic topology.
 * Usage: anet-bench-gen [--sg RULES[:GROUPS]] N_PORTS [PORTS_PER_SWITCH
 *                       [PORTS_PER_HOST [HOSTS_PER_SWITCH]]]
 * --sg adds security groups: RULES rules over GROUPS groups (default 100),
 * every port carrying one or two of them (gen-topo.h). */
#include "tests/bench/gen-topo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--sg RULES[:GROUPS]] N_PORTS "
            "[PORTS_PER_SWITCH [PORTS_PER_HOST [HOSTS_PER_SWITCH]]]\n", prog);
    return 2;
}

int
main(int argc, char *argv[])
{
    const char *prog = argv[0];
    size_t sg_rules = 0, sg_groups = 0;

    if (argc > 2 && !strcmp(argv[1], "--sg")) {
        char *end;
        sg_rules = strtoul(argv[2], &end, 10);
        if (*end == ':') {
            sg_groups = strtoul(end + 1, &end, 10);
        }
        if (*end || !sg_rules) {
            return usage(prog);
        }
        argc -= 2;
        argv += 2;
    }
    if (argc < 2 || argc > 5) {
        return usage(prog);
    }
    struct bench_gen g = {
        .n_ports = strtoul(argv[1], NULL, 10),
        .ports_per_switch = argc > 2 ? strtoul(argv[2], NULL, 10) : 20,
        .ports_per_host = argc > 3 ? strtoul(argv[3], NULL, 10) : 100,
        .hosts_per_switch = argc > 4 ? strtoul(argv[4], NULL, 10) : 4,
        .n_sg_rules = sg_rules,
        .n_sg_groups = sg_groups,
    };
    size_t len;
    char *yaml = bench_gen_yaml(&g, &len);
    fwrite(yaml, 1, len, stdout);
    free(yaml);
    return 0;
}
