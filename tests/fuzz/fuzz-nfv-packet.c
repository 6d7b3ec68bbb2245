/* fuzz-nfv-packet.c — the NFV packet path: any bytes as a burst of frames
 * through nfv_pkt_parse() (and, for frames that parse, the NAT rewrites
 * and the RST / ICMP unreachable builders) and through a vAF engine with a
 * fixed rule set that keeps its connection table across inputs.  Every
 * frame lives in a buffer of exactly its size, so a read past the end is
 * an ASan report.
 *
 * Input: records of [flags][len][len bytes of frame]; flags bit 0 is the
 * rx port, bit 1 advances the clock by a minute (timeouts, the sweep). */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "nfv/nfv-eal.h"
#include "nfv/pkt.h"
#include "nfv/vaf.h"

#define MAX_FRAMES 80

static struct nfv_vaf *
fuzz_vaf(void)
{
    static struct nfv_vaf *vaf;
    static struct nfv_cidr nets[] = { { 0x0a000000, 8 }, { 0xc0a80000, 16 } };
    static struct nfv_fw_rule rules[] = {
        { .src = &nets[0], .n_src = 1, .proto = 6, .dport_min = 80,
          .dport_max = 80, .icmp_type = -1, .action = NFV_FW_ALLOW, .log = true },
        { .proto = 6, .dport_min = 20, .dport_max = 25, .icmp_type = -1,
          .action = NFV_FW_REJECT },
        { .dst = &nets[1], .n_dst = 1, .proto = 17, .icmp_type = -1,
          .action = NFV_FW_ALLOW },
        { .proto = 17, .dport_min = 1, .dport_max = 1000, .icmp_type = -1,
          .action = NFV_FW_REJECT },
        { .icmp_type = 8, .action = NFV_FW_ALLOW },
        { .proto = 47, .icmp_type = -1, .action = NFV_FW_ALLOW },
    };
    if (!vaf) {
        if (nfv_eal_init_for_tests()) {
            abort();
        }
        struct nfv_fw_config cfg = {
            .rules = rules, .n_rules = sizeof rules / sizeof rules[0],
            .default_action = NFV_FW_REJECT, .max_conns = 256,
            .max_conns_per_source = 64,
        };
        vaf = nfv_vaf_create(&cfg);
        if (!vaf) {
            abort();
        }
    }
    return vaf;
}

static void
fuzz_one_frame(const uint8_t *frame, size_t len)
{
    struct nfv_pkt p;
    if (nfv_pkt_parse(frame, len, &p) != NFV_PARSE_OK) {
        return;
    }
    uint8_t *copy = malloc(len);
    uint8_t out[NFV_GEN_CAP];
    memcpy(copy, frame, len);
    nfv_pkt_set_src(copy, &p, 0x01020304, 1234);
    nfv_pkt_set_dst(copy, &p, 0x05060708, 5678);
    struct nfv_pkt q;
    if (nfv_pkt_parse(copy, len, &q) != NFV_PARSE_OK || q.src != 0x01020304) {
        abort();                /* a rewrite must keep the frame valid */
    }
    nfv_pkt_build_rst(frame, &p, out, sizeof out);
    nfv_pkt_build_unreach(frame, &p, NFV_ICMP_UNREACH_PORT, out, sizeof out);
    free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint64_t now = 1000000000ull;
    struct nfv_vaf *vaf = fuzz_vaf();
    struct nfv_frame f[MAX_FRAMES];
    uint8_t *bufs[MAX_FRAMES];
    size_t n = 0;

    while (size >= 2 && n < MAX_FRAMES) {
        uint8_t flags = data[0];
        size_t len = data[1] < size - 2 ? data[1] : size - 2;
        bufs[n] = malloc(len ? len : 1);
        if (len) {
            memcpy(bufs[n], data + 2, len);
        }
        fuzz_one_frame(bufs[n], len);
        f[n] = (struct nfv_frame) { bufs[n], (uint16_t) len, (uint16_t) len,
                                    flags & 1 };
        if (flags & 2) {
            now += 60ull * 1000000000ull;
        }
        n++;
        data += 2 + len;
        size -= 2 + len;
    }

    uint8_t gen_mem[4][NFV_GEN_CAP];
    struct nfv_frame gen[4];
    for (int i = 0; i < 4; i++) {
        gen[i] = (struct nfv_frame) { gen_mem[i], 0, NFV_GEN_CAP, 0 };
    }
    size_t n_gen = 4;
    nfv_vaf_process(vaf, f, n, now, gen, &n_gen);
    for (size_t i = 0; i < n; i++) {
        if (f[i].port != NFV_PORT_LEFT && f[i].port != NFV_PORT_RIGHT
            && f[i].port != NFV_PORT_DROP) {
            abort();
        }
        free(bufs[i]);
    }
    for (size_t i = 0; i < n_gen; i++) {
        struct nfv_pkt p;
        if (nfv_pkt_parse(gen[i].data, gen[i].len, &p) != NFV_PARSE_OK) {
            abort();            /* what we generate must parse */
        }
    }
    struct nfv_vaf_log_event ev[16];
    while (nfv_vaf_drain_log(vaf, ev, 16)) {
    }
    now += 1000000;
    return 0;
}
