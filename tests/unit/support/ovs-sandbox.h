/* ovs-sandbox.h — a private, real Open vSwitch for one unit test.
 *
 * What: a temporary directory /tmp/anet-<tag>-XXXXXX that holds the
 * database, sockets, pid files and logs of an ovsdb-server and, if asked,
 * an ovs-vswitchd (netdev datapath: no kernel module needed), plus the
 * bridge br0 with OpenFlow 1.5 and its management socket.  The OVS_RUNDIR,
 * OVS_LOGDIR, OVS_DBDIR and OVS_SYSCONFDIR variables of the test process
 * point there, so ovs-vsctl / ovs-ofctl / ovs-appctl run as oracles by
 * test_run() and friends (test-util.h) find this instance by default.
 *
 * Design: the steps are separate (create the directory, start the
 * database, start the switch, add br0, kill one daemon) so a test can
 * start a switch late or restart it; ovs_sandbox_start() does the usual
 * sequence.  ovs-vswitchd may run in its own network namespace: the netdev
 * datapath creates a tap device named "ovs-netdev", which would clash with
 * any other netdev-datapath switch in the same namespace.  A test that has
 * moved itself into a private namespace already does not need that.
 * ovs_sandbox_stop() kills both daemons and removes the directory; it is
 * safe to call at any point, more than once, and from an atexit handler.
 *
 * Errors: 0 or -1 (a command failed; its output went to the logs in the
 * directory, which a failed start removes).
 *
 * Thread-safety: none; the environment of the process is changed.
 */
#ifndef ANET_OVS_SANDBOX_H
#define ANET_OVS_SANDBOX_H

#include <stdbool.h>

struct ovs_sandbox {
    char dir[64];               /* "" when there is no sandbox */
    char db[96];                /* "unix:DIR/db.sock", for clients */
    char br0[104];              /* "unix:DIR/br0.mgmt", br0's OpenFlow */
    char br0_sock[96];          /* "DIR/br0.mgmt" */
};

/* What ovs_sandbox_start() starts beside ovsdb-server. */
enum ovs_sandbox_flags {
    OVS_SANDBOX_VSWITCHD = 1 << 0,  /* ovs-vswitchd */
    OVS_SANDBOX_NETNS = 1 << 1,     /* ... in its own network namespace */
    OVS_SANDBOX_BR0 = 1 << 2,       /* br0, and wait for its mgmt socket */
};

/* True if Open vSwitch is installed (else OVS tests skip). */
bool ovs_sandbox_available(void);

/* Creates the directory and points the OVS_* variables at it. */
int ovs_sandbox_init(struct ovs_sandbox *, const char *tag);

/* Creates the database and starts ovsdb-server on DIR/db.sock (unixctl
 * socket DIR/ovsdb-server.ctl). */
int ovs_sandbox_start_db(struct ovs_sandbox *);

/* Starts ovs-vswitchd on the database, in a new network namespace if
 * 'netns'. */
int ovs_sandbox_start_vswitchd(struct ovs_sandbox *, bool netns);

/* Adds br0 (netdev datapath, OpenFlow 1.5); does not wait for it. */
int ovs_sandbox_add_br0(struct ovs_sandbox *);

/* Waits up to 'ms' milliseconds for br0's management socket. */
bool ovs_sandbox_wait_mgmt(const struct ovs_sandbox *, int ms);

/* init + start_db + what 'flags' say; stops the sandbox on failure. */
int ovs_sandbox_start(struct ovs_sandbox *, const char *tag, unsigned flags);

/* For a test group's setup: when Open vSwitch is installed, starts
 * ovs-vswitchd in its own network namespace with br0 up.  Returns 0 also
 * when OVS is missing (ovs_sandbox_is_up() then says so and the tests
 * skip), -1 when an installed OVS failed to start. */
int ovs_sandbox_start_switch(struct ovs_sandbox *, const char *tag);

/* True between a successful start and ovs_sandbox_stop(). */
static inline bool
ovs_sandbox_is_up(const struct ovs_sandbox *sb)
{
    return sb->dir[0] != '\0';
}

/* Stops 'daemon' ("ovsdb-server", "ovs-vswitchd"): SIGTERM, up to 2.5 s
 * to exit, then SIGKILL. */
void ovs_sandbox_kill(const struct ovs_sandbox *, const char *daemon);

/* Kills both daemons and removes the directory. */
void ovs_sandbox_stop(struct ovs_sandbox *);

#endif
