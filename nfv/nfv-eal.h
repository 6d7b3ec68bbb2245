/* nfv-eal.h — DPDK EAL start-up for unit tests, fuzzers and benchmarks.
 *
 * What: the engines use DPDK libraries (rte_acl, rte_hash) whose memory
 * comes from the EAL heap, so a test process must run rte_eal_init() once
 * before creating an engine.  nfv_eal_init_for_tests() does that with
 * flags that need no privileges beyond the process itself and let any
 * number of test processes run at the same time:
 *
 *   --no-huge -m 512    plain anonymous memory, no hugepages needed;
 *   --no-pci            no device probing;
 *   --no-shconf --file-prefix=anet-nfvt-PID
 *                       no runtime files shared between processes (the
 *                       empty runtime directory is removed after start-up;
 *                       DPDK 22.11 refuses --in-memory with --no-huge, as
 *                       --no-huge implies legacy memory mode);
 *   --no-telemetry      no telemetry socket;
 *   --log-level=error   quiet;
 *   -l CPU              one lcore: the first CPU the process may run on.
 *
 * Calling it again returns the first call's result (EAL cannot be
 * initialised twice in one process).
 *
 * Errors: 0, or a negative errno from rte_eal_init().
 * Thread-safety: call from the main thread before starting others.
 */
#ifndef ANET_NFV_EAL_H
#define ANET_NFV_EAL_H

int nfv_eal_init_for_tests(void);

#endif
