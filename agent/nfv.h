/* nfv.h — the agent's NFV instance supervisor: the anet-nfv processes
 * (vAF firewalls, vAD load balancers) the desired state places on this host.
 *
 * What: for every anet.NfvInstance of the desired state the supervisor
 * makes one veth pair per instance port — the host side named 'iface' (the
 * OVS port the controller's flows use, attached to br-int by the datapath
 * back-end with ofport_request = 'ofport'), the peer 'iface' + "-n" for the
 * instance — both up with TX checksum offload off; starts
 *
 *   anet-nfv --name N --kind vaf|vad --port PEER.. --ctl RUNDIR/N.ctl
 *            --file-prefix anet-nfv-N
 *
 * connects to its control socket and sends the instance's config (an
 * anet.nfv.NfvConfig, passed through as the controller serialised it),
 * again whenever it changes (no restart: anet-nfv reloads hitlessly).
 * An instance that dies is restarted after a back-off (200 ms doubling to
 * 10 s, reset after 30 s of life); an instance that leaves the desired
 * state gets SIGTERM (SIGKILL 2 s later) and its veths are deleted.  A
 * change of an instance's kind or ports restarts it.
 *
 * On an OVS-DPDK host (nfv_sup_set_vhost(), from the desired state's
 * dpdk.enabled) an instance's ports are vhost-user instead: no veths;
 * anet-nfv gets --vhost RUNDIR/IFACE.sock per port (nfv_sup_vhost_path())
 * and serves that socket, and the datapath back-end attaches 'iface' to
 * br-int at once as a dpdkvhostuserclient with that vhost-server-path (OVS
 * reconnects when the instance restarts).  Switching the mode restarts
 * the instances.
 *
 * Design: everything runs from the agent's event loop and never blocks it:
 * children are watched with a pidfd per process (plus a 500 ms timer that
 * also drives restarts and reconnects), the control connection is a
 * non-blocking bufferevent, replies are read as they come.  The program is
 * $ANET_NFV_PROGRAM, else anet-nfv next to the agent's own executable,
 * else "anet-nfv" on PATH.  Control sockets live in $ANET_NFV_RUNDIR (default
 * /run/anet-nfv).
 *
 * Errors: 0 or negative errno.  Thread-safety: none (event loop).
 */
#ifndef ANET_AGENT_NFV_H
#define ANET_AGENT_NFV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct Anet__NfvInstance;

/* One instance of the desired state (from anet.NfvInstance). */
enum agent_nfv_kind {
    AGENT_NFV_VAF,
    AGENT_NFV_VAD,
};

struct agent_nfv_port {
    char *iface;                /* host side, the br-int port */
    uint32_t ofport;
};

struct agent_nfv {
    char *name;
    enum agent_nfv_kind kind;
    struct agent_nfv_port *ports;
    size_t n_ports;
    uint8_t *config;            /* serialised anet.nfv.NfvConfig */
    size_t config_len;
};

/* Converts 'n' messages into '*out' ('*n_out' entries; free with
 * agent_nfv_free()).  False with a malloc'd '*error' for an invalid one
 * (bad name or interface name, wrong number of ports for the kind). */
bool agent_nfv_from_proto(struct Anet__NfvInstance *const *m, size_t n,
                          struct agent_nfv **out, size_t *n_out,
                          char **error);
struct agent_nfv *agent_nfv_copy(const struct agent_nfv *, size_t n);
void agent_nfv_free(struct agent_nfv *, size_t n);          /* NULL-safe */

/* ---- supervisor ---------------------------------------------------------- */

struct nfv_sup;

struct nfv_sup *nfv_sup_create(struct event_base *);
/* Stops every instance (SIGTERM, then SIGKILL after 2 s, waiting for them)
 * and deletes their veths.  NULL-safe. */
void nfv_sup_destroy(struct nfv_sup *);

/* Makes the running instances exactly 'inst' (copied).  Creates missing
 * veths at once (so the caller can attach them to br-int right after);
 * processes start and get their configs from the event loop. */
void nfv_sup_sync(struct nfv_sup *, const struct agent_nfv *inst, size_t n);

/* vhost-user ports (see above) for the instances the next nfv_sup_sync()
 * makes; running instances of the other mode are restarted by it.  Off
 * by default. */
void nfv_sup_set_vhost(struct nfv_sup *, bool on);
bool nfv_sup_vhost(const struct nfv_sup *);
/* The vhost-user socket of port 'iface' (malloc'd). */
char *nfv_sup_vhost_path(const struct nfv_sup *, const char *iface);

/* Introspection (tests, logs): the pid of instance 'name' (0 when not
 * running), its starts so far, and the config generation it reported
 * applied (0: none yet). */
int nfv_sup_pid(const struct nfv_sup *, const char *name);
unsigned int nfv_sup_n_starts(const struct nfv_sup *, const char *name);
uint64_t nfv_sup_applied(const struct nfv_sup *, const char *name);

/* What the heartbeat reports of each instance: pointers into the
 * supervisor, valid until it runs again.  'stats' is the last
 * anet.nfv.NfvStats the instance sent (packed; NULL before the first),
 * asked for every NFV_SUP_STATS_MS. */
#define NFV_SUP_STATS_MS 2000
struct nfv_sup_status {
    const char *name;
    enum agent_nfv_kind kind;
    int pid;                    /* 0 when not running */
    unsigned int n_starts;
    uint64_t applied;           /* config generation it runs */
    const uint8_t *stats;
    size_t stats_len;
};
size_t nfv_sup_status(const struct nfv_sup *, struct nfv_sup_status *out,
                      size_t max);

#endif
