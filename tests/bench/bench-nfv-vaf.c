/* bench-nfv-vaf.c — the vAF engine on one core, in memory (issue 7's
 * benchmark rows):
 *   1. established-flow packets/s: 64-byte frames (60 + FCS) of 10,000
 *      established TCP connections, in bursts of 32, in a shuffled order;
 *   2. new connections/s: TCP SYNs of distinct 5-tuples from distinct
 *      sources, each classified and entered into the table (steady state
 *      once the embryonic quarter is full: every SYN also evicts one);
 *   3. memory per connection: EAL heap bytes of a 1M-connection engine
 *      divided by 1M (the table is preallocated), after filling it with
 *      1M replied UDP connections to show it holds them;
 *   4. classification: rte_acl vs the linear reference on random rule
 *      sets of 1k and 10k rules (packets mostly matching no rule, the
 *      linear scan's worst case), plus rte_acl build time.
 *
 * Usage: bench-nfv-vaf [SECONDS_PER_ROW [ROW [EXPORT_DIR]]]   (default 1 s,
 *        all rows; ROW: est, new, mem or acl, e.g. to profile one)
 * Output: human-readable lines plus "RESULT key=value" lines (with a ROW,
 * the acl row prints its classify/linear RESULT lines too).
 *
 * EXPORT_DIR (acl row only): also writes the very rule sets and packets
 * the row classified, in dpdk-test-acl's ClassBench formats, so that
 * tests/bench/bench-nfv-acl-peer.sh can run DPDK's own test program on
 * them.  For N in 1k and 10k, EXPORT_DIR/ receives
 *   rules-N.txt   one line per expanded rte_acl rule, in the same order
 *                 and with the same expansion as nfv/acl.c:
 *                 "@src/len dst/len lo : hi dport_lo : dport_hi proto/mask";
 *                 the source-port column carries the ICMP type range, the
 *                 field nfv_acl_key has where a 5-tuple has its source
 *                 port (0 : 65535 for "any"), so both tries have the same
 *                 shape: proto byte, two 32-bit prefixes, two 16-bit ranges;
 *   trace-N.txt   one packet a line, "src dst sport dport proto", addresses
 *                 as host-order integers, sport = ICMP type (0 unless
 *                 ICMP), dport = 0 unless TCP/UDP, as nfv_acl_key_init;
 *   map-N.txt     for each line of rules-N.txt, the index of the anet rule
 *                 it came from;
 *   expect-N.txt  for each packet, nfv_acl_classify's answer (rule index,
 *                 or -1 for no match).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_malloc.h>

#include "lib/packet.h"
#include "lib/util.h"
#include "nfv/acl.h"
#include "nfv/nfv-eal.h"
#include "nfv/vaf.h"

#define BURST 32
#define N_FLOWS 10000

static double row_secs = 1.0;
static const char *export_dir;  /* acl row: also write dpdk-test-acl files */

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint32_t
rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t) (rng_state >> 16);
}

static void
tcp_frame(uint8_t *buf, uint32_t src, uint32_t dst, uint16_t sport,
          uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack)
{
    struct nfv_tcp_seg s = {
        .eth_dst = 0x020000000002ULL, .eth_src = 0x020000000001ULL,
        .src = src, .dst = dst, .sport = sport, .dport = dport,
        .seq = seq, .ack = ack, .flags = flags, .window = 1000,
    };
    nfv_pkt_build_tcp(buf, NFV_MIN_FRAME, &s);
}

static void
process(struct nfv_vaf *vaf, struct nfv_frame *f, size_t n, uint8_t port,
        uint64_t t)
{
    struct nfv_frame gen[4];
    uint8_t mem[4][NFV_GEN_CAP];
    for (int i = 0; i < 4; i++) {
        gen[i] = (struct nfv_frame) { mem[i], 0, NFV_GEN_CAP, 0 };
    }
    for (size_t i = 0; i < n; i++) {
        f[i].port = port;
    }
    size_t n_gen = 4;
    nfv_vaf_process(vaf, f, n, t, gen, &n_gen);
}

static struct nfv_cidr any_client = { 0x0a000000, 8 };
static struct nfv_fw_rule web_rules[] = {
    { .proto = 6, .dport_min = 22, .dport_max = 22, .icmp_type = -1,
      .action = NFV_FW_DENY },
    { .src = &any_client, .n_src = 1, .proto = 6, .dport_min = 80,
      .dport_max = 80, .icmp_type = -1, .action = NFV_FW_ALLOW },
    { .proto = 17, .icmp_type = -1, .action = NFV_FW_ALLOW },
};

static struct nfv_vaf *
web_vaf(uint32_t max_conns)
{
    struct nfv_fw_config cfg = {
        .rules = web_rules, .n_rules = 3, .default_action = NFV_FW_DENY,
        .max_conns = max_conns, .max_conns_per_source = 64,
    };
    struct nfv_vaf *vaf = nfv_vaf_create(&cfg);
    if (!vaf) {
        perror("nfv_vaf_create");
        exit(1);
    }
    return vaf;
}

static double
bench_established(void)
{
    struct nfv_vaf *vaf = web_vaf(65536);
    static uint8_t bufs[N_FLOWS][NFV_MIN_FRAME];
    static struct nfv_frame frames[N_FLOWS];
    uint64_t t = now_ns();

    /* Open the connections: SYN, SYN|ACK, ACK, in bursts. */
    for (int step = 0; step < 3; step++) {
        for (int i = 0; i < N_FLOWS; i++) {
            uint32_t c = 0x0a000000u + (uint32_t) i, s = 0x0b000001u;
            uint16_t cp = (uint16_t) (10000 + i % 50000);
            if (step == 0) {
                tcp_frame(bufs[i], c, s, cp, 80, NFV_TCP_SYN, 1, 0);
            } else if (step == 1) {
                tcp_frame(bufs[i], s, c, 80, cp, NFV_TCP_SYN | NFV_TCP_ACK,
                          500, 2);
            } else {
                tcp_frame(bufs[i], c, s, cp, 80, NFV_TCP_ACK, 2, 501);
            }
            frames[i] = (struct nfv_frame) { bufs[i], NFV_MIN_FRAME,
                                             NFV_MIN_FRAME, 0 };
        }
        for (int i = 0; i < N_FLOWS; i += BURST) {
            size_t m = N_FLOWS - i < BURST ? N_FLOWS - i : BURST;
            process(vaf, frames + i, m, step == 1, t);
        }
    }
    struct nfv_vaf_stats st;
    nfv_vaf_get_stats(vaf, &st);
    if (st.ct.by_state[NFV_CT_ESTABLISHED] != N_FLOWS) {
        fprintf(stderr, "only %u of %d established\n",
                st.ct.by_state[NFV_CT_ESTABLISHED], N_FLOWS);
        exit(1);
    }
    /* Data packets (the last ACKs) in a shuffled order. */
    for (int i = N_FLOWS - 1; i > 0; i--) {
        int j = (int) (rnd() % (uint32_t) (i + 1));
        struct nfv_frame tmp = frames[i];
        frames[i] = frames[j];
        frames[j] = tmp;
    }
    uint64_t pkts = 0, start = now_ns(), end = start + (uint64_t) (row_secs * 1e9);
    uint64_t now = start;
    size_t at = 0;
    while (now < end) {
        for (int k = 0; k < 1024; k++) {
            if (at + BURST > N_FLOWS) {
                at = 0;
            }
            for (size_t i = at; i < at + BURST; i++) {
                frames[i].port = NFV_PORT_LEFT;
            }
            size_t n_gen = 0;
            nfv_vaf_process(vaf, frames + at, BURST, now, NULL, &n_gen);
            at += BURST;
            pkts += BURST;
        }
        now = now_ns();
    }
    double mpps = (double) pkts / ((double) (now - start) / 1e9) / 1e6;
    nfv_vaf_get_stats(vaf, &st);
    if (st.dropped) {
        fprintf(stderr, "established: %lu dropped\n", (unsigned long) st.dropped);
        exit(1);
    }
    printf("established flows: %d TCP connections, 64-byte frames, bursts of "
           "%d: %.2f Mpps\n", N_FLOWS, BURST, mpps);
    nfv_vaf_destroy(vaf);
    return mpps;
}

static double
bench_new_conns(void)
{
    enum { POOL = 8192 };
    struct nfv_vaf *vaf = web_vaf(1u << 20);
    static uint8_t bufs[POOL][NFV_MIN_FRAME];
    static struct nfv_frame frames[POOL];
    for (int i = 0; i < POOL; i++) {
        tcp_frame(bufs[i], 0, 0x0b000001u, (uint16_t) (1024 + i), 80,
                  NFV_TCP_SYN, 1, 0);
        frames[i] = (struct nfv_frame) { bufs[i], NFV_MIN_FRAME,
                                         NFV_MIN_FRAME, 0 };
    }
    uint64_t conns = 0, start = now_ns(), end = start + (uint64_t) (row_secs * 1e9);
    uint64_t now = start;
    uint32_t src = 0x0a000000u;
    while (now < end) {
        /* A fresh source for every SYN (10/8 wraps after 16M). */
        for (int i = 0; i < POOL; i++) {
            packet_put_be32(bufs[i] + 26, 0x0a000000u | (src++ & 0xffffff));
        }
        for (int i = 0; i < POOL; i += BURST) {
            process(vaf, frames + i, BURST, NFV_PORT_LEFT, now);
        }
        conns += POOL;
        now = now_ns();
    }
    double rate = (double) conns / ((double) (now - start) / 1e9);
    struct nfv_vaf_stats st;
    nfv_vaf_get_stats(vaf, &st);
    printf("new connections: %.2f M/s (%lu created, %lu embryonic evicted, "
           "%lu dropped)\n", rate / 1e6, (unsigned long) st.ct.created,
           (unsigned long) st.ct.evicted_embryonic, (unsigned long) st.dropped);
    nfv_vaf_destroy(vaf);
    return rate;
}

static double
bench_memory(void)
{
    enum { N = 1u << 20 };
    struct rte_malloc_socket_stats before, after;
    rte_malloc_get_socket_stats(0, &before);
    struct nfv_vaf *vaf = web_vaf(N);
    rte_malloc_get_socket_stats(0, &after);
    size_t heap = after.heap_allocsz_bytes - before.heap_allocsz_bytes;

    /* Fill it: UDP request + reply for 1M flows (16 per source). */
    static uint8_t req[BURST][64], rep[BURST][64];
    struct nfv_frame fq[BURST], fr[BURST];
    uint64_t t = now_ns();
    for (uint32_t base = 0; base < N; base += BURST) {
        for (int i = 0; i < BURST; i++) {
            uint32_t k = base + (uint32_t) i;
            uint32_t c = 0x0a000000u + k / 16, s = 0x0b000001u;
            uint16_t cp = (uint16_t) (1024 + k % 16);
            uint8_t *q = req[i], *r = rep[i];
            memset(q, 0, 64);
            packet_put_eth_header(q, 2, 1, 0x0800);
            packet_put_ip_header(q + 14, 17, 0, c, s, 8);
            packet_put_be16(q + 34, cp);
            packet_put_be16(q + 36, 53);
            packet_put_be16(q + 38, 8);
            memcpy(r, q, 64);
            packet_put_ip_header(r + 14, 17, 0, s, c, 8);
            packet_put_be16(r + 34, 53);
            packet_put_be16(r + 36, cp);
            fq[i] = (struct nfv_frame) { q, 60, 64, 0 };
            fr[i] = (struct nfv_frame) { r, 60, 64, 1 };
        }
        process(vaf, fq, BURST, NFV_PORT_LEFT, t);
        process(vaf, fr, BURST, NFV_PORT_RIGHT, t);
    }
    struct nfv_vaf_stats st;
    nfv_vaf_get_stats(vaf, &st);
    double per = (double) heap / N;
    printf("memory: %.1f MB of EAL heap for a %u-connection table: %.1f "
           "bytes/connection; filled with %u replied connections\n",
           heap / 1e6, N, per, st.ct.n_conns);
    printf("RESULT nfv_vaf_conns_filled=%u\n", st.ct.n_conns);
    nfv_vaf_destroy(vaf);
    return per;
}

static void
rnd_rule(struct nfv_fw_rule *r)
{
    memset(r, 0, sizeof *r);
    r->n_src = 1 + rnd() % 2;
    r->n_dst = rnd() % 2;
    r->src = calloc(r->n_src, sizeof *r->src);
    r->dst = calloc(r->n_dst + 1, sizeof *r->dst);
    for (size_t i = 0; i < r->n_src; i++) {
        r->src[i] = (struct nfv_cidr) { 0x0a000000u | (rnd() & 0xffffff),
                                        (uint8_t) (16 + rnd() % 17) };
    }
    for (size_t i = 0; i < r->n_dst; i++) {
        r->dst[i] = (struct nfv_cidr) { 0x0b000000u | (rnd() & 0xffffff),
                                        (uint8_t) (8 + rnd() % 25) };
    }
    static const uint8_t protos[] = { 0, 6, 17, 1 };
    r->proto = protos[rnd() % 4];
    r->icmp_type = -1;
    if (r->proto == 6 || r->proto == 17) {
        uint16_t a = (uint16_t) (rnd() % 2048);
        r->dport_min = a;
        r->dport_max = (uint16_t) (a + (rnd() % 4 ? 0 : rnd() % 64));
    } else if (r->proto == 1) {
        r->icmp_type = (int16_t) (rnd() % 16);
    }
    r->action = NFV_FW_ALLOW;
}

/* The protocols an anet rule expands into, as nfv/acl.c does (0: any). */
static size_t
export_protos(const struct nfv_fw_rule *r, uint8_t protos[2])
{
    bool ports = !nfv_acl_port_any(r), icmp = r->icmp_type >= 0;
    if ((ports && icmp) || (icmp && r->proto && r->proto != NFV_IP_PROTO_ICMP)
        || (ports && r->proto && r->proto != NFV_IP_PROTO_TCP
            && r->proto != NFV_IP_PROTO_UDP)) {
        return 0;
    }
    if (icmp) {
        protos[0] = NFV_IP_PROTO_ICMP;
        return 1;
    }
    if (ports && !r->proto) {
        protos[0] = NFV_IP_PROTO_TCP;
        protos[1] = NFV_IP_PROTO_UDP;
        return 2;
    }
    protos[0] = r->proto;
    return 1;
}

static FILE *
export_open(const char *what, size_t n_rules)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-%zuk.txt", export_dir, what,
             n_rules / 1000);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    return f;
}

static void
export_close(FILE *f)
{
    if (fclose(f)) {
        perror("export");
        exit(1);
    }
}

static void
export_cidr(FILE *f, const struct nfv_cidr *c)
{
    uint32_t net = c ? c->net & (c->plen ? ~0u << (32 - c->plen) : 0) : 0;
    fprintf(f, "%u.%u.%u.%u/%u", net >> 24, (net >> 16) & 0xff,
            (net >> 8) & 0xff, net & 0xff, c ? c->plen : 0);
}

/* Writes the files described at the top of this file. */
static void
export_acl(const struct nfv_fw_rule *rules, size_t n_rules,
           const struct nfv_acl *acl, const struct nfv_acl_key *const *kp,
           size_t np)
{
    FILE *fr = export_open("rules", n_rules), *fm = export_open("map", n_rules);
    size_t lines = 0;
    for (size_t i = 0; i < n_rules; i++) {
        const struct nfv_fw_rule *r = &rules[i];
        uint8_t protos[2];
        size_t n_p = export_protos(r, protos);
        for (size_t s = 0; s < MAX(r->n_src, 1); s++) {
            for (size_t d = 0; d < MAX(r->n_dst, 1); d++) {
                for (size_t p = 0; p < n_p; p++) {
                    fputc('@', fr);
                    export_cidr(fr, r->n_src ? &r->src[s] : NULL);
                    fputc(' ', fr);
                    export_cidr(fr, r->n_dst ? &r->dst[d] : NULL);
                    unsigned ilo = 0, ihi = 65535, plo = 0, phi = 65535;
                    if (r->icmp_type >= 0) {
                        ilo = ihi = (unsigned) r->icmp_type;
                    }
                    if (!nfv_acl_port_any(r)) {
                        plo = r->dport_min;
                        phi = r->dport_max;
                    }
                    fprintf(fr, " %u : %u %u : %u 0x%02x/0x%02x\n", ilo, ihi,
                            plo, phi, protos[p], protos[p] ? 0xffu : 0u);
                    fprintf(fm, "%zu\n", i);
                    lines++;
                }
            }
        }
    }
    export_close(fr);
    export_close(fm);
    if (lines != nfv_acl_n_expanded(acl)) {
        fprintf(stderr, "export: %zu rule lines, nfv_acl has %zu rules\n",
                lines, nfv_acl_n_expanded(acl));
        exit(1);
    }

    FILE *ft = export_open("trace", n_rules), *fe = export_open("expect", n_rules);
    for (size_t i = 0; i < np; i++) {
        const struct nfv_acl_key *k = kp[i];
        fprintf(ft, "%u %u %u %u %u\n", ntohl(k->src_be), ntohl(k->dst_be),
                ntohs(k->icmp_type_be), ntohs(k->dport_be), k->proto);
        uint32_t got;
        nfv_acl_classify(acl, &kp[i], &got, 1);
        fprintf(fe, "%d\n", got == NFV_ACL_NO_MATCH ? -1 : (int) got);
    }
    export_close(ft);
    export_close(fe);
    printf("exported %zu rules (%zu lines) and %zu packets to %s\n", n_rules,
           lines, np, export_dir);
}

static void
bench_acl(size_t n_rules, double *acl_mpps, double *lin_mpps)
{
    struct nfv_fw_rule *rules = calloc(n_rules, sizeof *rules);
    for (size_t i = 0; i < n_rules; i++) {
        rnd_rule(&rules[i]);
    }
    uint64_t t0 = now_ns();
    struct nfv_acl *acl = nfv_acl_create(rules, n_rules);
    uint64_t t1 = now_ns();
    if (!acl) {
        perror("nfv_acl_create");
        exit(1);
    }
    enum { NP = 65536 };
    static struct nfv_pkt pkts[NP];
    static struct nfv_acl_key keys[NP];
    static const struct nfv_acl_key *kp[NP];
    size_t matched = 0;
    for (int i = 0; i < NP; i++) {
        struct nfv_pkt *p = &pkts[i];
        memset(p, 0, sizeof *p);
        p->proto = rnd() % 2 ? 6 : 17;
        p->src = 0x0a000000u | (rnd() & 0xffffff);
        p->dst = 0x0b000000u | (rnd() & 0xffffff);
        p->dport = (uint16_t) (rnd() % 4096);
        nfv_acl_key_init(&keys[i], p);
        kp[i] = &keys[i];
    }
    uint32_t res[64];
    uint64_t n = 0, start = now_ns(), end = start + (uint64_t) (row_secs * 1e9);
    uint64_t now = start;
    while (now < end) {
        for (int i = 0; i < NP; i += 64) {
            nfv_acl_classify(acl, kp + i, res, 64);
            matched += res[0] != NFV_ACL_NO_MATCH;
        }
        n += NP;
        now = now_ns();
    }
    *acl_mpps = (double) n / ((double) (now - start) / 1e9) / 1e6;

    /* The linear reference, checked against rte_acl on the way. */
    n = 0;
    start = now_ns();
    end = start + (uint64_t) (row_secs * 1e9 / 2);
    now = start;
    size_t i = 0;
    while (now < end) {
        for (int k = 0; k < 64; k++, i = (i + 1) % NP) {
            uint32_t want = nfv_acl_linear(rules, n_rules, &pkts[i]);
            uint32_t got;
            nfv_acl_classify(acl, &kp[i], &got, 1);
            if (want != got) {
                fprintf(stderr, "acl mismatch: %u vs %u\n", got, want);
                exit(1);
            }
        }
        n += 64;
        now = now_ns();
    }
    /* The check above costs an rte_acl call per packet; time the linear
     * scan alone on the same number of packets. */
    start = now_ns();
    volatile uint32_t sink = 0;
    for (uint64_t k = 0; k < n; k++) {
        sink += nfv_acl_linear(rules, n_rules, &pkts[k % NP]);
    }
    now = now_ns();
    *lin_mpps = (double) n / ((double) (now - start) / 1e9) / 1e6;
    printf("classify %zu rules (%zu rte_acl rules, built in %.1f ms): "
           "rte_acl %.2f Mpps, linear %.3f Mpps (x%.0f)\n", n_rules,
           nfv_acl_n_expanded(acl), (double) (t1 - t0) / 1e6, *acl_mpps,
           *lin_mpps, *acl_mpps / *lin_mpps);
    printf("RESULT nfv_acl_build_ms_%zuk=%.1f\n", n_rules / 1000,
           (double) (t1 - t0) / 1e6);
    if (export_dir) {
        export_acl(rules, n_rules, acl, kp, NP);
    }
    nfv_acl_destroy(acl);
    for (size_t r = 0; r < n_rules; r++) {
        free(rules[r].src);
        free(rules[r].dst);
    }
    free(rules);
    (void) matched;
}

int
main(int argc, char *argv[])
{
    if (argc > 1) {
        row_secs = atof(argv[1]);
    }
    if (nfv_eal_init_for_tests()) {
        fprintf(stderr, "EAL initialisation failed\n");
        return 1;
    }
    const char *only = argc > 2 ? argv[2] : NULL;
    export_dir = argc > 3 ? argv[3] : NULL;
#define ROW__(name) (!only || !strcmp(only, name))
    double est = 0, newc = 0, mem = 0, a1 = 0, l1 = 0, a10 = 0, l10 = 0;
    if (ROW__("est")) {
        est = bench_established();
    }
    if (ROW__("new")) {
        newc = bench_new_conns();
    }
    if (ROW__("mem")) {
        mem = bench_memory();
    }
    if (ROW__("acl")) {
        bench_acl(1000, &a1, &l1);
        bench_acl(10000, &a10, &l10);
    }
    if (only) {
        if (ROW__("acl")) {
            printf("RESULT nfv_acl_classify_mpps_1k=%.2f\n", a1);
            printf("RESULT nfv_acl_linear_mpps_1k=%.3f\n", l1);
            printf("RESULT nfv_acl_classify_mpps_10k=%.2f\n", a10);
            printf("RESULT nfv_acl_linear_mpps_10k=%.4f\n", l10);
        }
        return 0;
    }
    printf("RESULT nfv_vaf_est_mpps=%.2f\n", est);
    printf("RESULT nfv_vaf_new_conns_per_s=%.0f\n", newc);
    printf("RESULT nfv_vaf_bytes_per_conn=%.1f\n", mem);
    printf("RESULT nfv_acl_classify_mpps_1k=%.2f\n", a1);
    printf("RESULT nfv_acl_linear_mpps_1k=%.3f\n", l1);
    printf("RESULT nfv_acl_classify_mpps_10k=%.2f\n", a10);
    printf("RESULT nfv_acl_linear_mpps_10k=%.4f\n", l10);
    return 0;
}
