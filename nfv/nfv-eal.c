/* nfv-eal.c — see nfv-eal.h. */
#include "nfv/nfv-eal.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "lib/log.h"

LOG_MODULE(nfv_eal);

int
nfv_eal_init_for_tests(void)
{
    static int done;            /* 0: not yet; 1: ok; else -errno + 1 */
    if (done) {
        return done == 1 ? 0 : done - 1;
    }

    /* The first CPU this process may run on (a test may be pinned). */
    int cpu = 0;
    cpu_set_t set;
    if (!sched_getaffinity(0, sizeof set, &set)) {
        for (int i = 0; i < CPU_SETSIZE; i++) {
            if (CPU_ISSET(i, &set)) {
                cpu = i;
                break;
            }
        }
    }
    char lcores[32], prefix[64];
    snprintf(lcores, sizeof lcores, "%d", cpu);
    snprintf(prefix, sizeof prefix, "--file-prefix=anet-nfvt-%ld",
             (long) getpid());
    /* Benchmarks may ask for hugepages (ANET_NFV_HUGEPAGES=1, with 1 GiB
     * of free 2 MiB pages), as anet-nfv itself uses them: the connection
     * tables then cost far fewer TLB misses. */
    const char *huge = getenv("ANET_NFV_HUGEPAGES");
    bool use_huge = huge && !strcmp(huge, "1");
    char *argv[] = {
        "anet-nfv-test", use_huge ? "--in-memory" : "--no-huge", "-m",
        use_huge ? "1024" : "512", "--no-pci",
        "--no-shconf", prefix, "--no-telemetry",
        "--log-level=error", "-l", lcores, NULL,
    };
    int argc = (int) (sizeof argv / sizeof argv[0]) - 1;
    if (rte_eal_init(argc, argv) < 0) {
        int err = rte_errno ? rte_errno : EINVAL;
        LOG_ERR("rte_eal_init failed: %s", rte_strerror(err));
        done = -err + 1;
        return -err;
    }
    /* With --no-shconf and no telemetry the runtime directory stays
     * empty: remove it so that test runs leave nothing behind. */
    rmdir(rte_eal_get_runtime_dir());
    done = 1;
    return 0;
}
