/* nfv-io.c — anet-nfv's DPDK I/O loop (see nfv-io.h).
 *
 * Start-up: rte_eal_init() with one lcore, --no-pci --no-shconf, hugepages
 * (--in-memory) when enough are free, else --no-huge; -m 256 either way;
 * one net_af_packet vdev per port (vhost-user ports instead: hugepages
 * only, --in-memory --single-file-segments, one net_virtio_user vdev in
 * server mode per socket; see nfv-io.h); one mbuf pool; every port one RX and one TX queue, promiscuous
 * (a bump in the wire forwards frames not addressed to it), started.
 *
 * The loop, per iteration: an RX burst per port; each burst wrapped as
 * struct nfv_frame (pointing into the mbufs) and handed to the engine;
 * frames sorted per output port and sent with one TX burst each (what the
 * device refuses is freed and counted); frames the engine generated copied
 * into fresh mbufs and sent the same way.  Before the first config there is
 * no engine, and received frames are dropped (counted as drops).  Engine
 * timers tick every 10 ms (health probes and expiry need no finer grain).
 * An iteration that received nothing sleeps in the control socket's
 * ppoll(): 10 us after the first empty poll, doubling to 1 ms; after ~50 ms
 * at 1 ms, deep sleep on the doorbells (nfv-io.h); any traffic resets it.  While busy, the
 * control socket is checked every NFV_IO_CTL_EVERY iterations.
 */
#include "nfv/nfv-io.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/nfv.pb-c.h"

#include <errno.h>
#include <net/if.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

LOG_MODULE(nfv_io);

#define NFV_IO_N_MBUFS 4095
#define NFV_IO_RING 512
#define NFV_IO_CTL_EVERY 256
#define NFV_IO_TICK_NS 10000000ull     /* engine timers: 10 ms */
#define NFV_IO_HUGE_MB 256

struct nfv_io_port_stats {
    uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, drops, tx_errors;
};

struct nfv_io {
    const struct nfv_io_options *opt;
    uint16_t port_ids[NFV_IO_MAX_PORTS];
    int n_ports;
    struct rte_mempool *pool;
    struct nfv_io_engine *engine;       /* NULL before the first config */
    struct nfv_config *cfg;             /* the running policy */
    struct nfv_io_port_stats st[NFV_IO_MAX_PORTS];
    uint64_t generated, idle_sleeps;
    int doorbell[NFV_IO_MAX_PORTS];     /* -1: none (deep sleep off) */
    bool armed;
    uint8_t gen_mem[NFV_IO_N_GEN][NFV_GEN_CAP];
    struct nfv_frame gen[NFV_IO_N_GEN];
};

static volatile sig_atomic_t nfv_io_stop;

static void
nfv_io_signal__(int sig)
{
    nfv_io_stop = 1;
}

static uint64_t
nfv_io_now_ns__(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- start-up ------------------------------------------------------------ */

/* Free 2 MiB hugepages now. */
static long
nfv_io_hugepages_n_free__(void)
{
    FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/"
                    "free_hugepages", "r");
    long n = 0;

    if (f) {
        if (fscanf(f, "%ld", &n) != 1) {
            n = 0;
        }
        fclose(f);
    }
    return n;
}

/* Free 2 MiB hugepages enough for NFV_IO_HUGE_MB? */
static bool
nfv_io_hugepages_free__(void)
{
    return nfv_io_hugepages_n_free__() * 2 >= NFV_IO_HUGE_MB
           && !access("/dev/hugepages", W_OK);
}

/* EAL for the instance: one lcore, no PCI, memory and one vdev per port.
 * af_packet: hugepages when free (--in-memory), else --no-huge (DPDK
 * refuses --in-memory with --no-huge's legacy memory; nothing is shared
 * then anyway).  vhost-user: memfd-backed hugepage segments, one per list
 * (what vhost-user hands to OVS as file descriptors), refused with what to
 * reserve when too few pages are free; anet-nfv is the vhost server. */
static int
nfv_io_eal__(const struct nfv_io_options *opt)
{
    char *argv[32];
    char *owned[8];
    int argc = 0, n_owned = 0;
    bool huge;

    if (opt->vhost) {
        long n_free = nfv_io_hugepages_n_free__();
        if (opt->no_huge || n_free * 2 < NFV_IO_VHOST_MB) {
            LOG_ERR("vhost-user ports need %d MiB of shared hugepage memory "
                    "(%d 2 MiB pages; %ld free%s): reserve them, e.g. "
                    "raise /sys/kernel/mm/hugepages/hugepages-2048kB/"
                    "nr_hugepages by %d", NFV_IO_VHOST_MB, NFV_IO_VHOST_MB / 2,
                    n_free, opt->no_huge ? ", and --no-huge forbids them" : "",
                    NFV_IO_VHOST_MB / 2);
            return -ENOMEM;
        }
        huge = true;
    } else {
        huge = !opt->no_huge && nfv_io_hugepages_free__();
    }
    argv[argc++] = "anet-nfv";
    argv[argc++] = "-l";
    argv[argc++] = "0";
    argv[argc++] = "--no-pci";
    argv[argc++] = "--no-telemetry";
    argv[argc++] = "--log-level=warning";
    argv[argc++] = "-m";
    owned[n_owned] = xasprintf("%d", opt->vhost ? NFV_IO_VHOST_MB : 256);
    argv[argc++] = owned[n_owned++];
    argv[argc++] = huge ? "--in-memory" : "--no-huge";
    if (opt->vhost) {
        argv[argc++] = "--single-file-segments";
    }
    argv[argc++] = "--no-shconf";
    owned[n_owned] = opt->file_prefix
                     ? xasprintf("--file-prefix=%s", opt->file_prefix)
                     : xasprintf("--file-prefix=anet-nfv-%s", opt->name);
    argv[argc++] = owned[n_owned++];
    for (int i = 0; i < opt->n_ports; i++) {
        if (opt->vhost) {
            struct stat st;
            /* A socket left by a previous run would make bind() fail. */
            if (!stat(opt->ports[i], &st) && S_ISSOCK(st.st_mode)) {
                unlink(opt->ports[i]);
            }
            owned[n_owned] = xasprintf("--vdev=net_virtio_user%d,path=%s,"
                                       "server=1,queues=1", i, opt->ports[i]);
        } else {
            owned[n_owned] = xasprintf("--vdev=net_af_packet%d,iface=%s,"
                                       "blocksz=4096,framesz=2048,"
                                       "framecnt=512,qpairs=1", i,
                                       opt->ports[i]);
        }
        argv[argc++] = owned[n_owned++];
    }
    argv[argc] = NULL;
    LOG_INFO("EAL: %s, %d %sport(s)%s", huge ? "hugepages" : "no hugepages",
             opt->n_ports, opt->vhost ? "vhost-user " : "",
             opt->vhost ? "; waiting for OVS to connect" : "");
    int r = rte_eal_init(argc, argv);
    /* rte_eal_init() keeps no pointer into argv after returning. */
    for (int i = 0; i < n_owned; i++) {
        free(owned[i]);
    }
    if (r < 0) {
        LOG_ERR("rte_eal_init failed: %s", rte_strerror(rte_errno));
        return -(rte_errno ? rte_errno : EINVAL);
    }
    return 0;
}

/* The vdev name of port 'i'. */
static void
nfv_io_port_name__(const struct nfv_io_options *opt, int i, char *name,
                   size_t size)
{
    snprintf(name, size, opt->vhost ? "net_virtio_user%d"
                                    : "net_af_packet%d", i);
}

static int
nfv_io_port_start__(struct nfv_io *io, int i)
{
    struct rte_eth_conf conf = { 0 };
    char name[32];
    uint16_t pid;
    int r;

    nfv_io_port_name__(io->opt, i, name, sizeof name);
    r = rte_eth_dev_get_port_by_name(name, &pid);
    if (r) {
        LOG_ERR("%s (%s): no such DPDK port", name, io->opt->ports[i]);
        return r;
    }
    if ((r = rte_eth_dev_configure(pid, 1, 1, &conf))
        || (r = rte_eth_rx_queue_setup(pid, 0, NFV_IO_RING,
                                       rte_eth_dev_socket_id(pid), NULL,
                                       io->pool))
        || (r = rte_eth_tx_queue_setup(pid, 0, NFV_IO_RING,
                                       rte_eth_dev_socket_id(pid), NULL))
        || (r = rte_eth_dev_start(pid))) {
        LOG_ERR("port %s: %s", io->opt->ports[i], rte_strerror(-r));
        return r;
    }
    r = rte_eth_promiscuous_enable(pid);
    if (r) {
        LOG_WARN("port %s: promiscuous mode: %s", io->opt->ports[i],
                 rte_strerror(-r));
    }
    io->port_ids[i] = pid;
    LOG_INFO("port %d: %s (DPDK port %u) started", i, io->opt->ports[i], pid);
    return 0;
}

/* ---- doorbells (deep sleep, see nfv-io.h) ------------------------------ */

static int
nfv_io_doorbell_filter__(int fd, bool accept)
{
    struct sock_filter insn = BPF_STMT(BPF_RET | BPF_K, accept ? 1 : 0);
    struct sock_fprog prog = { .len = 1, .filter = &insn };
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

static void
nfv_io_doorbell_open__(struct nfv_io *io, int i)
{
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
        .sll_ifindex = if_nametoindex(io->opt->ports[i]),
    };
    int one = 1, fd;

    io->doorbell[i] = -1;
    if (io->opt->vhost) {
        return;                 /* a socket path, no interface to watch */
    }
    fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                htons(ETH_P_ALL));
    if (fd < 0 || !sll.sll_ifindex || nfv_io_doorbell_filter__(fd, false)
        || bind(fd, (struct sockaddr *) &sll, sizeof sll)) {
        LOG_WARN("port %s: no doorbell (%s); idle wake-ups stay at %d/s",
                 io->opt->ports[i], strerror(errno),
                 1000000 / NFV_IO_SLEEP_MAX_US);
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
#ifdef PACKET_IGNORE_OUTGOING
    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
#endif
    (void) one;
    io->doorbell[i] = fd;
}

/* Arms or disarms every doorbell; false if a port has none. */
static bool
nfv_io_doorbell_arm__(struct nfv_io *io, bool on)
{
    char junk[64];

    for (int i = 0; i < io->n_ports; i++) {
        if (io->doorbell[i] < 0) {
            return false;
        }
        nfv_io_doorbell_filter__(io->doorbell[i], on);
        while (recv(io->doorbell[i], junk, sizeof junk, MSG_DONTWAIT) > 0) {
            continue;           /* what rang before */
        }
    }
    io->armed = on;
    return true;
}

/* ---- control ---------------------------------------------------------------- */

static int
nfv_io_apply__(void *aux, struct nfv_config *cfg, char **error)
{
    struct nfv_io *io = aux;
    int r = 0;

    if (!io->engine) {
        io->engine = nfv_io_engine_create(cfg, error);
        if (!io->engine) {
            r = -EINVAL;
        }
    } else {
        r = nfv_io_engine_reload(io->engine, cfg, error);
    }
    if (r) {
        nfv_config_destroy(cfg);
        return r;
    }
    LOG_INFO("%s generation %"PRIu64" (%zu %s)",
             io->cfg ? "reloaded to" : "started with", cfg->generation,
             cfg->kind == NFV_KIND_VAF ? cfg->fw.n_rules : cfg->lb.n_services,
             cfg->kind == NFV_KIND_VAF ? "rules" : "services");
    nfv_config_destroy(io->cfg);
    io->cfg = cfg;
    return 0;
}

static uint64_t
nfv_io_generation__(void *aux)
{
    struct nfv_io *io = aux;
    return io->cfg ? io->cfg->generation : 0;
}

static void
nfv_io_stats__(void *aux, Anet__Nfv__NfvStats *st)
{
    struct nfv_io *io = aux;

    st->n_ports = io->n_ports;
    st->ports = xcalloc(io->n_ports, sizeof *st->ports);
    for (int i = 0; i < io->n_ports; i++) {
        Anet__Nfv__PortStats *p = xmalloc(sizeof *p);
        struct rte_eth_stats es;

        anet__nfv__port_stats__init(p);
        p->port = i;
        p->iface = xstrdup(io->opt->ports[i]);
        p->rx_packets = io->st[i].rx_packets;
        p->rx_bytes = io->st[i].rx_bytes;
        p->tx_packets = io->st[i].tx_packets;
        p->tx_bytes = io->st[i].tx_bytes;
        p->drops = io->st[i].drops;
        p->tx_errors = io->st[i].tx_errors;
        if (!rte_eth_stats_get(io->port_ids[i], &es)) {
            p->rx_missed = es.imissed + es.rx_nombuf;
        }
        st->ports[i] = p;
    }
    st->generated = io->generated;
    st->idle_sleeps = io->idle_sleeps;
    if (io->engine) {
        nfv_io_engine_stats(io->engine, io->cfg, st);
    }
}

void
nfv_io_stats_free(Anet__Nfv__NfvStats *st)
{
    for (size_t i = 0; i < st->n_ports; i++) {
        free(st->ports[i]->iface);
        free(st->ports[i]);
    }
    free(st->ports);
    for (size_t i = 0; i < st->n_rules; i++) {
        free(st->rules[i]->name);
        free(st->rules[i]);
    }
    free(st->rules);
    if (st->ct) {
        for (size_t i = 0; i < st->ct->n_by_state; i++) {
            free(st->ct->by_state[i]);      /* names are static strings */
        }
        free(st->ct->by_state);
        free(st->ct);
    }
    for (size_t i = 0; i < st->n_malformed; i++) {
        free(st->malformed[i]);             /* reasons are static strings */
    }
    free(st->malformed);
    for (size_t i = 0; i < st->n_backends; i++) {
        free(st->backends[i]->service);
        free(st->backends[i]->ip);
        free(st->backends[i]);
    }
    free(st->backends);
}

static const struct nfv_io_ctl_ops nfv_io_ctl_ops = {
    .apply = nfv_io_apply__,
    .stats = nfv_io_stats__,
    .generation = nfv_io_generation__,
};

/* ---- the loop --------------------------------------------------------------- */

static void
nfv_io_tx__(struct nfv_io *io, int port, struct rte_mbuf **m, uint16_t n)
{
    if (!n) {
        return;
    }
    uint16_t sent = rte_eth_tx_burst(io->port_ids[port], 0, m, n);
    for (uint16_t i = 0; i < sent; i++) {
        io->st[port].tx_bytes += rte_pktmbuf_pkt_len(m[i]);
    }
    io->st[port].tx_packets += sent;
    io->st[port].tx_errors += n - sent;
    if (sent < n) {
        rte_pktmbuf_free_bulk(m + sent, n - sent);
    }
}

/* Sends the 'n' generated frames of io->gen. */
static void
nfv_io_send_gen__(struct nfv_io *io, size_t n)
{
    struct rte_mbuf *out[NFV_IO_MAX_PORTS][NFV_IO_N_GEN];
    uint16_t n_out[NFV_IO_MAX_PORTS] = { 0 };

    for (size_t i = 0; i < n && i < NFV_IO_N_GEN; i++) {
        const struct nfv_frame *g = &io->gen[i];
        if (g->port >= io->n_ports || !g->len || g->len > NFV_GEN_CAP) {
            continue;
        }
        struct rte_mbuf *m = rte_pktmbuf_alloc(io->pool);
        char *p = m ? rte_pktmbuf_append(m, g->len) : NULL;
        if (!p) {
            rte_pktmbuf_free(m);
            io->st[g->port].tx_errors++;
            continue;
        }
        memcpy(p, g->data, g->len);
        out[g->port][n_out[g->port]++] = m;
        io->generated++;
    }
    for (int p = 0; p < io->n_ports; p++) {
        nfv_io_tx__(io, p, out[p], n_out[p]);
    }
}

static void
nfv_io_gen_reset__(struct nfv_io *io)
{
    for (int i = 0; i < NFV_IO_N_GEN; i++) {
        io->gen[i] = (struct nfv_frame) {
            .data = io->gen_mem[i], .cap = NFV_GEN_CAP,
            .port = NFV_PORT_DROP,
        };
    }
}

/* One RX burst of 'port' through the engine.  Returns frames received. */
static uint16_t
nfv_io_burst__(struct nfv_io *io, int port, uint64_t now)
{
    struct rte_mbuf *rx[NFV_IO_BURST];
    struct nfv_frame f[NFV_IO_BURST];
    struct rte_mbuf *out[NFV_IO_MAX_PORTS][NFV_IO_BURST];
    uint16_t n_out[NFV_IO_MAX_PORTS] = { 0 };
    uint16_t n = rte_eth_rx_burst(io->port_ids[port], 0, rx, NFV_IO_BURST);

    if (!n) {
        return 0;
    }
    for (uint16_t i = 0; i < n; i++) {
        io->st[port].rx_bytes += rte_pktmbuf_pkt_len(rx[i]);
    }
    io->st[port].rx_packets += n;
    if (!io->engine) {
        io->st[port].drops += n;
        rte_pktmbuf_free_bulk(rx, n);
        return n;
    }
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = rx[i];
        uint32_t cap = rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m);
        f[i] = (struct nfv_frame) {
            .data = rte_pktmbuf_mtod(m, uint8_t *),
            .len = rte_pktmbuf_data_len(m),
            .cap = cap > UINT16_MAX ? UINT16_MAX : cap,
            .port = port,
        };
    }
    nfv_io_gen_reset__(io);
    size_t n_gen = nfv_io_engine_process(io->engine, f, n, io->gen, now);
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = rx[i];
        if (f[i].port >= io->n_ports || f[i].len > f[i].cap || !f[i].len) {
            io->st[port].drops++;
            rte_pktmbuf_free(m);
            continue;
        }
        /* The engine may have changed the length (single segment). */
        m->data_len = f[i].len;
        m->pkt_len = f[i].len;
        out[f[i].port][n_out[f[i].port]++] = m;
    }
    for (int p = 0; p < io->n_ports; p++) {
        nfv_io_tx__(io, p, out[p], n_out[p]);
    }
    if (n_gen) {
        nfv_io_send_gen__(io, n_gen);
    }
    return n;
}

static unsigned int
nfv_io_poll_all__(struct nfv_io *io, uint64_t now)
{
    unsigned int got = 0;
    for (int p = 0; p < io->n_ports; p++) {
        got += nfv_io_burst__(io, p, now);
    }
    return got;
}

static void
nfv_io_loop__(struct nfv_io *io, struct nfv_io_ctl *ctl)
{
    long sleep_us = 0;
    unsigned int iter = 0, at_max = 0;
    uint64_t next_tick = 0;

    while (!nfv_io_stop) {
        uint64_t now = nfv_io_now_ns__();
        unsigned int got = nfv_io_poll_all__(io, now);

        if (io->engine && now >= next_tick) {
            next_tick = now + NFV_IO_TICK_NS;
            nfv_io_gen_reset__(io);
            size_t n_gen = nfv_io_engine_tick(io->engine, io->gen, now);
            if (n_gen) {
                nfv_io_send_gen__(io, n_gen);
            }
        }
        if (got) {
            sleep_us = 0;
            at_max = 0;
            if (++iter % NFV_IO_CTL_EVERY == 0) {
                nfv_io_ctl_poll(ctl, 0, NULL, 0);
            }
            continue;
        }
        /* Idle: back off, serving the control socket while asleep. */
        io->idle_sleeps++;
        if (at_max >= NFV_IO_DEEP_AFTER && nfv_io_doorbell_arm__(io, true)) {
            /* A frame that came between the last poll and the arming
             * would not ring: look once more before sleeping. */
            if (!nfv_io_poll_all__(io, nfv_io_now_ns__())) {
                nfv_io_ctl_poll(ctl, NFV_IO_DEEP_US, io->doorbell,
                                io->n_ports);
            }
            nfv_io_doorbell_arm__(io, false);
            /* Still idle unless the next poll finds frames: the loop
             * comes straight back here after it. */
            continue;
        }
        sleep_us = sleep_us ? sleep_us * 2 : NFV_IO_SLEEP_MIN_US;
        if (sleep_us >= NFV_IO_SLEEP_MAX_US) {
            sleep_us = NFV_IO_SLEEP_MAX_US;
            at_max++;
        }
        nfv_io_ctl_poll(ctl, sleep_us, NULL, 0);
    }
}

int
nfv_io_run(const struct nfv_io_options *opt)
{
    struct nfv_io *io = xzalloc(sizeof *io);
    struct nfv_io_ctl *ctl = NULL;
    int status = 1;

    io->opt = opt;
    io->n_ports = opt->n_ports;
    for (int i = 0; i < NFV_IO_MAX_PORTS; i++) {
        io->doorbell[i] = -1;
    }
    if (nfv_io_eal__(opt)) {
        free(io);
        return 1;
    }
    /* Handlers after EAL init, which installs none of its own for these. */
    signal(SIGTERM, nfv_io_signal__);
    signal(SIGINT, nfv_io_signal__);
    signal(SIGPIPE, SIG_IGN);

    io->pool = rte_pktmbuf_pool_create("nfv_mbufs", NFV_IO_N_MBUFS, 256, 0,
                                       RTE_MBUF_DEFAULT_BUF_SIZE,
                                       rte_socket_id());
    if (!io->pool) {
        LOG_ERR("mbuf pool: %s", rte_strerror(rte_errno));
        goto out;
    }
    for (int i = 0; i < opt->n_ports; i++) {
        if (nfv_io_port_start__(io, i)) {
            goto out;
        }
        nfv_io_doorbell_open__(io, i);
    }
    ctl = nfv_io_ctl_create(opt->ctl, opt->name, opt->kind, &nfv_io_ctl_ops,
                            io);
    if (!ctl) {
        LOG_ERR("control socket %s: %s", opt->ctl, strerror(errno));
        goto out;
    }
    LOG_INFO("%s %s ready; waiting for a config on %s",
             nfv_kind_name(opt->kind), opt->name, opt->ctl);
    nfv_io_loop__(io, ctl);
    LOG_INFO("%s %s stopping", nfv_kind_name(opt->kind), opt->name);
    status = 0;

out:
    nfv_io_ctl_destroy(ctl);
    for (int i = 0; i < opt->n_ports; i++) {
        uint16_t pid;
        char name[32];
        nfv_io_port_name__(opt, i, name, sizeof name);
        if (!rte_eth_dev_get_port_by_name(name, &pid)) {
            rte_eth_dev_stop(pid);
            rte_eth_dev_close(pid);
        }
    }
    for (int i = 0; i < NFV_IO_MAX_PORTS; i++) {
        if (io->doorbell[i] >= 0) {
            close(io->doorbell[i]);
        }
    }
    nfv_io_engine_destroy(io->engine);
    nfv_config_destroy(io->cfg);
    rte_mempool_free(io->pool);
    free(io);
    /* EAL leaves its (empty, in memory mode) runtime directory behind. */
    char *rundir = xstrdup(rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    rmdir(rundir);
    free(rundir);
    return status;
}
