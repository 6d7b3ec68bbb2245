/* ovs-sandbox.c — see ovs-sandbox.h. */
#include "tests/unit/support/ovs-sandbox.h"
#include "tests/unit/support/test-util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool
ovs_sandbox_available(void)
{
    return !access("/usr/sbin/ovs-vswitchd", X_OK)
           || !test_run("command -v ovs-vswitchd >/dev/null 2>&1");
}

int
ovs_sandbox_init(struct ovs_sandbox *sb, const char *tag)
{
    memset(sb, 0, sizeof *sb);
    snprintf(sb->dir, sizeof sb->dir, "/tmp/anet-%s-XXXXXX", tag);
    if (!mkdtemp(sb->dir)) {
        sb->dir[0] = '\0';
        return -1;
    }
    const char *vars[] = { "OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR",
                           "OVS_SYSCONFDIR" };
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        setenv(vars[i], sb->dir, 1);
    }
    snprintf(sb->db, sizeof sb->db, "unix:%s/db.sock", sb->dir);
    snprintf(sb->br0_sock, sizeof sb->br0_sock, "%s/br0.mgmt", sb->dir);
    snprintf(sb->br0, sizeof sb->br0, "unix:%s", sb->br0_sock);
    return 0;
}

int
ovs_sandbox_start_db(struct ovs_sandbox *sb)
{
    const char *d = sb->dir;
    if (test_run("ovsdb-tool create %s/conf.db "
                 "/usr/share/openvswitch/vswitch.ovsschema", d)
        || test_run("ovsdb-server %s/conf.db --remote=punix:%s/db.sock "
                    "--pidfile=%s/ovsdb-server.pid --detach "
                    "--log-file=%s/ovsdb-server.log "
                    "--unixctl=%s/ovsdb-server.ctl 2>/dev/null",
                    d, d, d, d, d)) {
        return -1;
    }
    return 0;
}

int
ovs_sandbox_start_vswitchd(struct ovs_sandbox *sb, bool netns)
{
    const char *d = sb->dir;
    return test_run("%sovs-vswitchd unix:%s/db.sock "
                    "--pidfile=%s/ovs-vswitchd.pid --detach "
                    "--log-file=%s/ovs-vswitchd.log 2>/dev/null",
                    netns ? "unshare --net " : "", d, d, d) ? -1 : 0;
}

int
ovs_sandbox_add_br0(struct ovs_sandbox *sb)
{
    return test_run("ovs-vsctl --db=unix:%s/db.sock --no-wait -- init "
                    "-- add-br br0 -- set bridge br0 datapath_type=netdev "
                    "protocols=OpenFlow15", sb->dir) ? -1 : 0;
}

bool
ovs_sandbox_wait_mgmt(const struct ovs_sandbox *sb, int ms)
{
    for (int i = 0; i < ms / 50 && access(sb->br0_sock, F_OK); i++) {
        usleep(50000);
    }
    return !access(sb->br0_sock, F_OK);
}

int
ovs_sandbox_start(struct ovs_sandbox *sb, const char *tag, unsigned flags)
{
    if (ovs_sandbox_init(sb, tag)) {
        return -1;
    }
    if (ovs_sandbox_start_db(sb)
        || ((flags & OVS_SANDBOX_VSWITCHD)
            && ovs_sandbox_start_vswitchd(sb, flags & OVS_SANDBOX_NETNS))
        || ((flags & OVS_SANDBOX_BR0)
            && (ovs_sandbox_add_br0(sb)
                || !ovs_sandbox_wait_mgmt(sb, 5000)))) {
        ovs_sandbox_stop(sb);
        return -1;
    }
    return 0;
}

int
ovs_sandbox_start_switch(struct ovs_sandbox *sb, const char *tag)
{
    if (!ovs_sandbox_available()) {
        sb->dir[0] = '\0';
        return 0;
    }
    return ovs_sandbox_start(sb, tag, OVS_SANDBOX_VSWITCHD | OVS_SANDBOX_NETNS
                                      | OVS_SANDBOX_BR0);
}

void
ovs_sandbox_kill(const struct ovs_sandbox *sb, const char *daemon)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s.pid", sb->dir, daemon);
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (!f) {
        return;
    }
    if (fscanf(f, "%d", &pid) != 1) {
        pid = 0;
    }
    fclose(f);
    if (pid <= 1) {
        return;
    }
    kill(pid, SIGTERM);
    for (int i = 0; i < 125 && !kill(pid, 0); i++) {
        usleep(20000);
    }
    kill(pid, SIGKILL);
}

void
ovs_sandbox_stop(struct ovs_sandbox *sb)
{
    if (!sb->dir[0]) {
        return;
    }
    ovs_sandbox_kill(sb, "ovs-vswitchd");
    ovs_sandbox_kill(sb, "ovsdb-server");
    test_run("rm -rf %s", sb->dir);
    sb->dir[0] = '\0';
}
