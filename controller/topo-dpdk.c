/* topo-dpdk.c — OVS-DPDK hosts and vhost-user ports in the topology
 * (topo.h: struct topo_dpdk, enum topo_port_kind).
 *
 * A host with a dpdk: mapping runs ovs-vswitchd with DPDK: the agent sets
 * the other_config keys operators know (dpdk-socket-mem, pmd-cpu-mask,
 * dpdk-lcore-mask, pmd-maxsleep) and opens the host's interface ports and
 * its underlay as DPDK ports (through the net_af_packet vdev) unless
 * interfaces: system says to keep them plain.  Only such a host may have
 * ports of kind vhost-user; each names its socket, unique on its host.
 *
 * This file runs in step 2 of the loader (topo.c): the values are checked
 * and parsed into the raw records, and topo_build__() copies them into the
 * model.  Every check runs on everything it can, so that one pass reports
 * all problems, each at the node it is about.
 */
#include "controller/topo.h"
#include "controller/topo-private.h"

#include <stdio.h>
#include <string.h>

#include "lib/util.h"

/* Keys of a host's dpdk: mapping. */
#define TOPO_DPDK_KEYS(X)                                               \
    X(DK_SOCKET_MEM, "socket_mem", true, "socket_mem: 512", TOPO_V_SCALAR) \
    X(DK_PMD_CPU_MASK, "pmd_cpu_mask", true, "pmd_cpu_mask: \"0x2\"",  \
      TOPO_V_SCALAR)                                                    \
    X(DK_LCORE_MASK, "lcore_mask", false, "", TOPO_V_SCALAR)            \
    X(DK_PMD_MAXSLEEP, "pmd_maxsleep_us", false, "", TOPO_V_SCALAR)     \
    X(DK_INTERFACES, "interfaces", false, "", TOPO_V_SCALAR)
enum { TOPO_DPDK_KEYS(TOPO_KEY_ENUM__) DK_N };
static const struct topo_keydef__ topo_dpdk_keys__[] = {
    TOPO_DPDK_KEYS(TOPO_KEY_DEF__)
};

#define TOPO_DPDK_MAX_SOCKET_MEM 1048576u  /* MiB: 1 TiB */
#define TOPO_DPDK_MAX_MAXSLEEP 10000u      /* OVS caps pmd-maxsleep here */
#define TOPO_DPDK_DEFAULT_MAXSLEEP 500u

bool
topo_dpdk_equal(const struct topo_dpdk *a, const struct topo_dpdk *b)
{
    return a->enabled == b->enabled && a->socket_mem == b->socket_mem
           && !strcmp(a->pmd_cpu_mask, b->pmd_cpu_mask)
           && !strcmp(a->lcore_mask, b->lcore_mask)
           && a->pmd_maxsleep_us == b->pmd_maxsleep_us
           && a->interfaces == b->interfaces;
}

/* Parses a CPU mask: hexadecimal digits with an optional 0x, at least one
 * bit set.  Writes "0x" + the digits in lower case without leading zeros
 * into 'out'.  Returns NULL, or why it is not valid. */
static const char *
topo_parse_mask__(const char *s, char out[TOPO_DPDK_MASK_LEN + 1])
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
    }
    size_t n = strlen(s);
    if (!n) {
        return "is not a hexadecimal CPU mask";
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
              || (c >= 'A' && c <= 'F'))) {
            return "is not a hexadecimal CPU mask";
        }
    }
    while (*s == '0') {
        s++;
    }
    if (!*s) {
        return "names no CPU";
    }
    if (strlen(s) > TOPO_DPDK_MASK_LEN - 2) {
        return "is longer than 64 hexadecimal digits";
    }
    size_t k = 0;
    out[k++] = '0';
    out[k++] = 'x';
    for (; *s; s++) {
        out[k++] = (char) (*s >= 'A' && *s <= 'F' ? *s - 'A' + 'a' : *s);
    }
    out[k] = '\0';
    return NULL;
}

/* Checks host 'h''s dpdk: mapping (present) into h->dpdk. */
static void
topo_check_host_dpdk__(struct topo_ctx__ *ctx, struct topo_raw_host__ *h)
{
    struct topo_raw__ o;
    char *path = xasprintf("%s.dpdk", h->o.path);
    struct topo_dpdk *d = &h->dpdk;
    unsigned long v;
    const char *s, *why;

    d->enabled = true;
    d->pmd_maxsleep_us = TOPO_DPDK_DEFAULT_MAXSLEEP;
    d->interfaces = TOPO_DPDK_IF_AF_PACKET;
    if (!topo_parse_object__(ctx, path, "dpdk", SIZE_MAX, h->o.val[HK_DPDK],
                             topo_dpdk_keys__, DK_N, &o)) {
        goto out;
    }
    if (o.val[DK_SOCKET_MEM]) {
        s = topo_scalar__(o.val[DK_SOCKET_MEM]);
        if (!topo_parse_uint__(s, TOPO_DPDK_MAX_SOCKET_MEM, &v) || !v) {
            topo_err_field__(ctx, &o, DK_SOCKET_MEM, topo_dpdk_keys__,
                             "bad value: socket_mem '%s' out of range; give "
                             "the MiB of hugepage memory OVS takes, an "
                             "integer 1..%u (e.g. 512 = 256 pages of 2 MiB)",
                             s, TOPO_DPDK_MAX_SOCKET_MEM);
        } else {
            d->socket_mem = (unsigned int) v;
        }
    }
    if (o.val[DK_PMD_CPU_MASK]) {
        s = topo_scalar__(o.val[DK_PMD_CPU_MASK]);
        if ((why = topo_parse_mask__(s, d->pmd_cpu_mask))) {
            topo_err_field__(ctx, &o, DK_PMD_CPU_MASK, topo_dpdk_keys__,
                             "bad value: pmd_cpu_mask '%s' %s; write the "
                             "poll-mode cores as a hexadecimal bit mask, "
                             "e.g. \"0x2\" for CPU 1", s, why);
        }
    }
    if (o.val[DK_LCORE_MASK]) {
        s = topo_scalar__(o.val[DK_LCORE_MASK]);
        if ((why = topo_parse_mask__(s, d->lcore_mask))) {
            topo_err_field__(ctx, &o, DK_LCORE_MASK, topo_dpdk_keys__,
                             "bad value: lcore_mask '%s' %s; write the cores "
                             "of DPDK's non-PMD threads as a hexadecimal bit "
                             "mask, e.g. \"0x1\" for CPU 0, or remove the "
                             "key", s, why);
        }
    }
    if (o.val[DK_PMD_MAXSLEEP]) {
        s = topo_scalar__(o.val[DK_PMD_MAXSLEEP]);
        if (!topo_parse_uint__(s, TOPO_DPDK_MAX_MAXSLEEP, &v)) {
            topo_err_field__(ctx, &o, DK_PMD_MAXSLEEP, topo_dpdk_keys__,
                             "bad value: pmd_maxsleep_us '%s' out of range; "
                             "use an integer 0..%u (microseconds an idle PMD "
                             "thread may sleep; OVS allows at most %u)", s,
                             TOPO_DPDK_MAX_MAXSLEEP, TOPO_DPDK_MAX_MAXSLEEP);
        } else {
            d->pmd_maxsleep_us = (unsigned int) v;
        }
    }
    if (o.val[DK_INTERFACES]) {
        s = topo_scalar__(o.val[DK_INTERFACES]);
        if (!strcmp(s, "af_packet")) {
            d->interfaces = TOPO_DPDK_IF_AF_PACKET;
        } else if (!strcmp(s, "system")) {
            d->interfaces = TOPO_DPDK_IF_SYSTEM;
        } else {
            topo_err_field__(ctx, &o, DK_INTERFACES, topo_dpdk_keys__,
                             "bad value: interfaces '%s' is not af_packet "
                             "or system; af_packet opens interface ports "
                             "and the underlay as DPDK ports (net_af_packet), "
                             "system keeps them plain", s);
        }
    }
out:
    free(o.path);
    free(path);
}

static void
topo_report_dup_socket__(struct topo_ctx__ *ctx, size_t first, size_t dup)
{
    struct topo_raw_port__ *a = &ctx->ports[first], *b = &ctx->ports[dup];
    topo_err_field__(ctx, &b->o, PK_SOCKET, topo_port_keys__,
                     "duplicate socket '%s' on host %s: port %s (line %lu) "
                     "already uses it; give every vhost-user port its own "
                     "socket", b->socket, ctx->hosts[b->host].o.name,
                     a->o.name ? a->o.name : a->o.path,
                     topo_line__(&a->o, PK_SOCKET));
}

/* Checks socket 's' of vhost-user port 'p'; true when usable. */
static bool
topo_check_socket__(struct topo_ctx__ *ctx, struct topo_raw_port__ *p,
                    const char *s)
{
    const char *base = strrchr(s, '/');
    if (s[0] != '/') {
        topo_err_field__(ctx, &p->o, PK_SOCKET, topo_port_keys__,
                         "bad value: socket '%s' is not an absolute path; "
                         "write the full path, e.g. /var/run/anet/%s.sock",
                         s, p->o.name ? p->o.name : "vm1");
        return false;
    }
    if (strlen(s) > TOPO_SOCKET_MAX) {
        topo_err_field__(ctx, &p->o, PK_SOCKET, topo_port_keys__,
                         "bad value: socket path is %zu characters long, "
                         "longer than a unix socket path may be (%u); use "
                         "a shorter directory", strlen(s), TOPO_SOCKET_MAX);
        return false;
    }
    if (!base[1] || !strcmp(base + 1, ".") || !strcmp(base + 1, "..")) {
        topo_err_field__(ctx, &p->o, PK_SOCKET, topo_port_keys__,
                         "bad value: socket '%s' names a directory; add the "
                         "socket's file name", s);
        return false;
    }
    if (p->vhost_server == TOPO_VHOST_SERVER_OVS && p->iface
        && strcmp(base + 1, p->iface)) {
        topo_err_field__(ctx, &p->o, PK_SOCKET, topo_port_keys__,
                         "with vhost_server: ovs, OVS creates the socket in "
                         "its run directory named after the interface, so "
                         "the file name must be '%s' (not '%s'); write "
                         "socket: OVS_RUNDIR/%s, or use vhost_server: vm",
                         p->iface, base + 1, p->iface);
        return false;
    }
    return true;
}

/* Checks kind:, socket: and vhost_server: of port 'p'. */
static void
topo_check_port_kind__(struct topo_ctx__ *ctx, struct topo_raw_port__ *p)
{
    const char *s;
    bool kind_ok = true;

    if (p->o.val[PK_KIND]) {
        s = topo_scalar__(p->o.val[PK_KIND]);
        if (!strcmp(s, "interface")) {
            p->kind = TOPO_PORT_INTERFACE;
        } else if (!strcmp(s, "vhost-user")) {
            p->kind = TOPO_PORT_VHOST_USER;
        } else {
            kind_ok = false;
            topo_err_field__(ctx, &p->o, PK_KIND, topo_port_keys__,
                             "bad value: kind '%s' is not interface or "
                             "vhost-user; interface attaches a veth/tap of "
                             "the host, vhost-user a VM's virtio device "
                             "through a socket", s);
        }
    }
    if (p->o.val[PK_VHOST_SERVER]) {
        s = topo_scalar__(p->o.val[PK_VHOST_SERVER]);
        if (!strcmp(s, "vm")) {
            p->vhost_server = TOPO_VHOST_SERVER_VM;
        } else if (!strcmp(s, "ovs")) {
            p->vhost_server = TOPO_VHOST_SERVER_OVS;
        } else {
            topo_err_field__(ctx, &p->o, PK_VHOST_SERVER, topo_port_keys__,
                             "bad value: vhost_server '%s' is not vm or ovs; "
                             "vm: the VM (QEMU) creates the socket and OVS "
                             "connects to it, ovs: OVS creates it", s);
        }
    }
    if (!kind_ok) {
        return;
    }
    if (p->kind == TOPO_PORT_INTERFACE) {
        static const int only_vhost[] = { PK_SOCKET, PK_VHOST_SERVER };
        for (size_t i = 0; i < ARRAY_SIZE(only_vhost); i++) {
            int k = only_vhost[i];
            if (p->o.val[k]) {
                topo_err_field__(ctx, &p->o, k, topo_port_keys__,
                                 "'%s' applies only to ports of kind "
                                 "vhost-user; add kind: vhost-user or "
                                 "remove '%s'", topo_port_keys__[k].key,
                                 topo_port_keys__[k].key);
            }
        }
        return;
    }

    /* A vhost-user port. */
    if (p->host >= 0 && !ctx->hosts[p->host].o.val[HK_DPDK]) {
        const struct topo_raw_host__ *h = &ctx->hosts[p->host];
        topo_err_field__(ctx, &p->o, PK_KIND, topo_port_keys__,
                         "port kind vhost-user needs OVS-DPDK on its host: "
                         "add a dpdk: mapping to host %s (line %lu), e.g. "
                         "dpdk: {socket_mem: 512, pmd_cpu_mask: \"0x2\"}, "
                         "or use kind: interface", h->o.name,
                         topo_line__(&h->o, -1));
    }
    if (!p->o.val[PK_SOCKET]) {
        char *kpath = xasprintf("%s.socket", p->o.path);
        topo_err__(ctx, p->o.val[PK_KIND], kpath,
                   "missing key 'socket' for a vhost-user port; add e.g. "
                   "'socket: /var/run/anet/%s.sock'",
                   p->o.name ? p->o.name : "vm1");
        free(kpath);
    } else if (topo_check_socket__(ctx, p, topo_scalar__(p->o.val[PK_SOCKET]))) {
        p->socket = topo_scalar__(p->o.val[PK_SOCKET]);
    }
}

void
topo_check_dpdk__(struct topo_ctx__ *ctx)
{
    for (size_t i = 0; i < ctx->n_hosts; i++) {
        struct topo_raw_host__ *h = &ctx->hosts[i];
        if (h->o.val[HK_DPDK]) {
            topo_check_host_dpdk__(ctx, h);
        }
    }

    struct topo_dupkey__ *k = xcalloc(ctx->n_ports + 1, sizeof *k);
    size_t nk = 0;
    for (size_t i = 0; i < ctx->n_ports; i++) {
        struct topo_raw_port__ *p = &ctx->ports[i];
        topo_check_port_kind__(ctx, p);
        if (p->socket && p->host >= 0) {
            k[nk++] = (struct topo_dupkey__) { (uint64_t) p->host, p->socket,
                                               i };
        }
    }
    topo_find_dups__(ctx, k, nk, topo_report_dup_socket__);
    free(k);
}
