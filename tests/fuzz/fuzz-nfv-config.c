/* fuzz-nfv-config.c — the NFV policy decoder (nfv/nfv-config.c): any byte
 * string must decode into a config whose every field is within the bounds
 * the engines rely on, or be rejected with a message. */
#include "tests/fuzz/fuzz.h"
#include "nfv/nfv-config.h"

#include <stdlib.h>

static void
fuzz_nfv_check__(const struct nfv_config *c)
{
    for (size_t i = 0; i < c->fw.n_rules; i++) {
        const struct nfv_fw_rule *r = &c->fw.rules[i];
        for (size_t j = 0; j < r->n_src; j++) {
            if (r->src[j].plen > 32) {
                abort();
            }
        }
        for (size_t j = 0; j < r->n_dst; j++) {
            if (r->dst[j].plen > 32) {
                abort();
            }
        }
        if (r->dport_min > r->dport_max || r->icmp_type > 255
            || (r->icmp_type >= 0 && r->proto != 1)) {
            abort();
        }
    }
    for (size_t i = 0; i < c->lb.n_services; i++) {
        const struct nfv_lb_service *s = &c->lb.services[i];
        if (!s->port || (s->proto != 6 && s->proto != 17)) {
            abort();
        }
        for (size_t j = 0; j < s->n_backends; j++) {
            if (!s->backends[j].weight || !s->backends[j].port) {
                abort();
            }
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nfv_config *c = NULL;
    char *error = NULL;

    if (!nfv_config_decode(data, size, &c, &error)) {
        if (error) {
            abort();            /* success never leaves a message */
        }
        fuzz_nfv_check__(c);
    } else if (!error || c) {
        abort();                /* a failure always explains itself */
    }
    nfv_config_destroy(c);
    free(error);
    return 0;
}
