/* nfv-io.h — anet-nfv's program side: the DPDK I/O loop (nfv-io.c), the
 * control socket it serves between bursts (nfv-io-ctl.c) and the binding to
 * the engines of engine.h (nfv-io-engine.c).  Private to the program.
 *
 * What: one process runs one NFV instance (a vAF or a vAD) on one lcore.
 * Its ports are DPDK net_af_packet vdevs on veths the agent made; the
 * loop receives a burst per port, hands it to the engine, transmits what
 * the engine chose, and sleeps with a bounded exponential back-off when
 * every poll comes back empty (NFV_IO_SLEEP_MIN_US doubling to
 * NFV_IO_SLEEP_MAX_US), and the first packet after a short pause waits at
 * most NFV_IO_SLEEP_MAX_US.  Even 1,000 wake-ups a second cost a few per
 * cent of a core, so after NFV_IO_DEEP_AFTER sleeps at the maximum the loop
 * goes to deep sleep: it arms a "doorbell" per port (a plain AF_PACKET
 * socket on the interface whose BPF filter accepts while armed and
 * rejects everything, before any copy, while busy) and sleeps in ppoll()
 * on the doorbells for up to NFV_IO_DEEP_US; the first frame wakes it at
 * once.  An idle instance then costs ~0 CPU.  Every sleep is a ppoll() on
 * the control sockets too, so a config never waits for traffic.
 *
 * The policy comes from the agent over a unix stream socket (proto/nfv.proto,
 * length-prefixed frames): the first valid config creates the engine (until
 * then every received frame is dropped and counted), later ones reload it
 * hitlessly; an invalid config is answered with an error and leaves the
 * running policy alone.
 *
 * Thread-safety: none; everything runs on the main lcore.
 */
#ifndef ANET_NFV_IO_H
#define ANET_NFV_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "nfv/engine.h"
#include "nfv/nfv-config.h"

struct Anet__Nfv__NfvStats;

#define NFV_IO_MAX_PORTS 2
#define NFV_IO_BURST 32
#define NFV_IO_N_GEN 64                 /* generated frames per burst */
#define NFV_IO_SLEEP_MIN_US 10
#define NFV_IO_SLEEP_MAX_US 1000
#define NFV_IO_DEEP_AFTER 50            /* ~50 ms idle: deep sleep */
#define NFV_IO_DEEP_US 50000            /* deep sleep timeout (timers) */

struct nfv_io_options {
    const char *name;
    enum nfv_kind kind;
    const char *ports[NFV_IO_MAX_PORTS];
    int n_ports;
    const char *ctl;                    /* control socket path */
    const char *file_prefix;            /* EAL --file-prefix; NULL: derived */
    bool no_huge;                       /* force --no-huge */
    bool vhost;                         /* 'ports' are vhost-user sockets */
};

/* vhost-user ports (--vhost SOCKET): each a net_virtio_user vdev in server
 * mode on SOCKET (OVS-DPDK connects as dpdkvhostuserclient and reconnects
 * after a restart).  The peer reads the packets out of this process's
 * memory, so it must be shareable: hugepages (--in-memory
 * --single-file-segments, NFV_IO_VHOST_MB of them), never --no-huge.  EAL
 * start-up waits until OVS has connected to every socket.  There are no
 * doorbells on such ports: an idle instance wakes every
 * NFV_IO_SLEEP_MAX_US. */
#define NFV_IO_VHOST_MB 128

/* Runs the instance until SIGTERM/SIGINT; returns the exit status. */
int nfv_io_run(const struct nfv_io_options *);

/* ---- engine binding (nfv-io-engine.c) ----------------------------------- */

struct nfv_io_engine;

/* Creates the engine of 'cfg->kind' with 'cfg'.  NULL and '*error' on
 * failure. */
struct nfv_io_engine *nfv_io_engine_create(const struct nfv_config *cfg,
                                           char **error);
/* Replaces the policy, keeping the connection table.  0 or -errno with
 * '*error'. */
int nfv_io_engine_reload(struct nfv_io_engine *, const struct nfv_config *cfg,
                         char **error);
/* Processes one burst (each frame's port set on return), may fill
 * generated frames into 'gen' (NFV_IO_N_GEN, NFV_GEN_CAP bytes each) and
 * returns their number.  'now_ns' is a monotonic clock. */
size_t nfv_io_engine_process(struct nfv_io_engine *, struct nfv_frame *f,
                             size_t n, struct nfv_frame *gen,
                             uint64_t now_ns);
/* Timers (health probes, expiry); returns generated frames like process. */
size_t nfv_io_engine_tick(struct nfv_io_engine *, struct nfv_frame *gen,
                          uint64_t now_ns);
/* Adds the engine's counters (rules, connection table, malformed, backend
 * health) to 'st'; the strings and arrays it adds are freed by
 * nfv_io_stats_free(). */
void nfv_io_engine_stats(struct nfv_io_engine *, const struct nfv_config *,
                         struct Anet__Nfv__NfvStats *st);
void nfv_io_engine_destroy(struct nfv_io_engine *);     /* NULL-safe */

/* Frees what nfv_io_engine_stats() and the loop put into 'st' (not 'st'). */
void nfv_io_stats_free(struct Anet__Nfv__NfvStats *st);

/* ---- control socket (nfv-io-ctl.c) ---------------------------------------- */

struct nfv_io_ctl;

/* What the loop does for the control socket. */
struct nfv_io_ctl_ops {
    /* Applies a decoded config: 0, or -errno with '*error'. */
    int (*apply)(void *aux, struct nfv_config *cfg, char **error);
    /* Fills 'st' (freed after the reply with nfv_io_stats_free()). */
    void (*stats)(void *aux, struct Anet__Nfv__NfvStats *st);
    /* The generation applied last (0: none). */
    uint64_t (*generation)(void *aux);
};

/* Listens on 'path' (replacing a stale socket file).  NULL and errno. */
struct nfv_io_ctl *nfv_io_ctl_create(const char *path, const char *name,
                                     enum nfv_kind,
                                     const struct nfv_io_ctl_ops *, void *aux);
void nfv_io_ctl_destroy(struct nfv_io_ctl *);           /* NULL-safe */
/* Waits up to 'timeout_us' (0: just checks) for control traffic, or for
 * one of the 'n_wake' descriptors 'wake_fds' to become readable, and
 * serves the control traffic.  Returns false when interrupted by a
 * signal. */
bool nfv_io_ctl_poll(struct nfv_io_ctl *, long timeout_us,
                     const int *wake_fds, int n_wake);

#endif
