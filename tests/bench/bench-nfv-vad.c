/* bench-nfv-vad.c — issue 7's vAD rows: packets/s through the load
 * balancer engine on established connections (64-byte frames, one core,
 * in memory), new connections/s, and the Maglev rebuild time for 65,537
 * slots x 500 backends.
 *
 * What:
 *   - established: 4,096 TCP connections to one VIP over 16 backends are
 *     opened with SYNs; then bursts of 32 frames of 60 bytes (64 on the
 *     wire with the FCS), half client -> VIP and half backend -> SNAT
 *     replies of those connections, go through nfv_vad_process() for about
 *     a second.  The engine rewrites frames in place, so every burst is
 *     first copied from templates (as if freshly received); that copy is
 *     timed alone and reported, and the Mpps figure is the whole loop
 *     (copy included, so it understates the engine slightly).
 *   - new connections: 500,000 SYNs from distinct clients (bursts of 32)
 *     into a table of 1M connections.
 *   - Maglev: maglev_build() of 500 backends into 65,537 slots, median
 *     and best of 50 builds (CLOCK_MONOTONIC).
 * Never fails on a threshold (targets: >= 10 Mpps, <= 1 ms); exit 1 only
 * if something breaks (a frame is dropped that should pass).
 *
 * Output: human-readable lines plus "RESULT key=value" lines.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/packet.h"
#include "lib/util.h"
#include "nfv/maglev.h"
#include "nfv/nfv-eal.h"
#include "nfv/pkt.h"
#include "nfv/vad.h"

#define VIP 0x0a000064u
#define SELF_IP 0x0a000002u
#define SELF_MAC 0x02000000aa01ull
#define CLIENT_MAC 0x02000000cc01ull
#define N_BACKENDS 16
#define N_CONNS 4096
#define BURST 32
#define FRAME 60

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static int
dbl_cmp(const void *a_, const void *b_)
{
    double a = *(const double *) a_, b = *(const double *) b_;
    return a < b ? -1 : a > b;
}

static void
tcp(uint8_t *buf, uint64_t smac, uint64_t dmac, uint32_t src, uint16_t sport,
    uint32_t dst, uint16_t dport, uint8_t flags)
{
    struct nfv_tcp_seg seg = {
        .eth_dst = dmac, .eth_src = smac, .src = src, .dst = dst,
        .sport = sport, .dport = dport, .seq = 1, .ack = 1, .flags = flags,
        .window = 512,
    };
    nfv_pkt_build_tcp(buf, FRAME, &seg);
}

static int
bench_established(struct nfv_lb_config *cfg)
{
    struct nfv_vad *v = nfv_vad_create(cfg);
    if (!v) {
        return -1;
    }
    /* Open the connections; remember the rewritten SYN for the replies. */
    static uint8_t templ[2 * N_CONNS][FRAME];
    for (int i = 0; i < N_CONNS; i++) {
        uint8_t syn[FRAME];
        uint32_t client = 0x0b000000u + (uint32_t) i;
        tcp(syn, CLIENT_MAC, SELF_MAC, client, 40000, VIP, 80, NFV_TCP_SYN);
        struct nfv_frame f = { syn, FRAME, FRAME, NFV_PORT_LEFT };
        nfv_vad_process(v, &f, 1, now_ns(), NULL, 0);
        struct nfv_pkt p;
        if (f.port != NFV_PORT_LEFT
            || nfv_pkt_parse(syn, FRAME, &p) != NFV_PARSE_OK) {
            return -1;
        }
        tcp(templ[2 * i], CLIENT_MAC, SELF_MAC, client, 40000, VIP, 80,
            NFV_TCP_ACK);
        tcp(templ[2 * i + 1], packet_get_mac(syn), SELF_MAC, p.dst, p.dport,
            SELF_IP, p.sport, NFV_TCP_ACK);
    }

    static uint8_t bufs[BURST][FRAME];
    struct nfv_frame frames[BURST];
    uint64_t n = 0, copy_ns = 0, t0 = now_ns(), t = t0;
    size_t next = 0;
    while (t - t0 < 1000000000ull) {
        for (int r = 0; r < 1000; r++) {
            uint64_t c0 = now_ns();
            for (int i = 0; i < BURST; i++) {
                memcpy(bufs[i], templ[next], FRAME);
                frames[i] = (struct nfv_frame) { bufs[i], FRAME, FRAME,
                                                 NFV_PORT_LEFT };
                next = next + 1 == 2 * N_CONNS ? 0 : next + 1;
            }
            uint64_t c1 = now_ns();
            copy_ns += c1 - c0;
            nfv_vad_process(v, frames, BURST, c1, NULL, 0);
            for (int i = 0; i < BURST; i++) {
                if (frames[i].port != NFV_PORT_LEFT) {
                    fprintf(stderr, "frame dropped on an established "
                            "connection\n");
                    return -1;
                }
            }
            n += BURST;
        }
        t = now_ns();
    }
    double secs = (t - t0) / 1e9;
    double mpps = n / secs / 1e6;
    printf("established: %llu frames in %.3f s: %.2f Mpps (%.1f ns/frame, "
           "of which %.1f ns copying the template in; without the copy "
           "%.2f Mpps)\n", (unsigned long long) n, secs, mpps,
           (t - t0) / (double) n, copy_ns / (double) n,
           n / ((t - t0 - copy_ns) / 1e9) / 1e6);
    printf("RESULT nfv_vad_mpps=%.2f\n", mpps);
    printf("RESULT nfv_vad_engine_only_mpps=%.2f\n",
           n / ((t - t0 - copy_ns) / 1e9) / 1e6);
    printf("RESULT nfv_vad_ns_per_pkt=%.1f\n", (t - t0) / (double) n);
    nfv_vad_destroy(v);
    return 0;
}

static int
bench_new_conns(struct nfv_lb_config *cfg)
{
    enum { N_NEW = 500000 };
    cfg->max_conns = 1u << 20;
    struct nfv_vad *v = nfv_vad_create(cfg);
    if (!v) {
        return -1;
    }
    static uint8_t bufs[BURST][FRAME];
    struct nfv_frame frames[BURST];
    uint64_t busy = 0;
    for (int base = 0; base < N_NEW; base += BURST) {
        for (int i = 0; i < BURST; i++) {
            uint32_t k = (uint32_t) (base + i);
            tcp(bufs[i], CLIENT_MAC, SELF_MAC, 0x0c000000u + k / 16,
                (uint16_t) (20000 + k % 16), VIP, 80, NFV_TCP_SYN);
            frames[i] = (struct nfv_frame) { bufs[i], FRAME, FRAME,
                                             NFV_PORT_LEFT };
        }
        uint64_t t0 = now_ns();
        nfv_vad_process(v, frames, BURST, t0, NULL, 0);
        busy += now_ns() - t0;
    }
    struct nfv_vad_stats st;
    nfv_vad_get_stats(v, &st);
    if (st.conns != N_NEW) {
        fprintf(stderr, "only %llu connections created\n",
                (unsigned long long) st.conns);
        return -1;
    }
    double rate = N_NEW / (busy / 1e9);
    printf("new connections: %d in %.3f s of processing: %.2f M/s\n", N_NEW,
           busy / 1e9, rate / 1e6);
    printf("RESULT nfv_vad_new_conns_mps=%.2f\n", rate / 1e6);
    nfv_vad_destroy(v);
    return 0;
}

static int
bench_maglev(void)
{
    enum { N = 500, REPS = 50 };
    uint64_t keys[N];
    for (int i = 0; i < N; i++) {
        keys[i] = (uint64_t) (0x0a100000u + (uint32_t) i) << 16 | 8080;
    }
    struct maglev *m = maglev_create(MAGLEV_DEFAULT_SIZE);
    double ms[REPS];
    for (int r = 0; r < REPS; r++) {
        keys[r % N] ^= (uint64_t) r << 48;  /* vary the pool a little */
        uint64_t t0 = now_ns();
        if (maglev_build(m, keys, NULL, N)) {
            return -1;
        }
        ms[r] = (now_ns() - t0) / 1e6;
    }
    qsort(ms, REPS, sizeof ms[0], dbl_cmp);
    printf("maglev: %u slots x %d backends: median %.3f ms, best %.3f ms\n",
           maglev_size(m), N, ms[REPS / 2], ms[0]);
    printf("RESULT nfv_maglev_build_ms=%.3f\n", ms[REPS / 2]);
    printf("RESULT nfv_maglev_build_best_ms=%.3f\n", ms[0]);
    maglev_destroy(m);
    return 0;
}

int
main(void)
{
    if (nfv_eal_init_for_tests()) {
        fprintf(stderr, "EAL init failed\n");
        return 1;
    }
    static struct nfv_lb_backend backends[N_BACKENDS];
    for (int i = 0; i < N_BACKENDS; i++) {
        backends[i] = (struct nfv_lb_backend) {
            .ip = 0x0a000a01u + (uint32_t) i, .port = 8080, .weight = 1,
            .mac = 0x02000000bb00ull + (uint64_t) i,
        };
    }
    struct nfv_lb_service svc = {
        .vip = VIP, .port = 80, .proto = 6, .backends = backends,
        .n_backends = N_BACKENDS,
    };
    struct nfv_lb_config cfg = {
        .self_ip = SELF_IP, .self_mac = SELF_MAC, .services = &svc,
        .n_services = 1, .max_conns = 65536,
    };
    if (bench_maglev() || bench_established(&cfg) || bench_new_conns(&cfg)) {
        return 1;
    }
    return 0;
}
