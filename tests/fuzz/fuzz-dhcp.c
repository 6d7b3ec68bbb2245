/* fuzz-dhcp.c — the agent's DHCP server and ICMP error builder on
 * arbitrary frames: every input yields a reply, "no answer" or an error,
 * never a read out of bounds; a reply is itself a well-formed DHCP frame. */
#include "tests/fuzz/fuzz.h"
#include "agent/dhcp.h"
#include "agent/icmp.h"

#include <stdlib.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dhcp_lease l = {
        .ip = 0x0a01000b, .plen = 24, .gateway = 0x0a010001,
        .dns = { 0x0a010035 }, .n_dns = 1, .mtu = 1400, .lease_time = 3600,
        .routes = { { 0x0a320000, 16, 0x0a010001 } }, .n_routes = 1,
        .server_ip = 0x0a010001, .server_mac = 0x0a000000ff01ULL,
    };
    uint8_t out[DHCP_REPLY_MAX_LEN];
    size_t out_len = 0;
    struct dhcp_packet p;

    /* A copy of exactly 'size' bytes so that ASan sees any overread. */
    uint8_t *frame = malloc(size ? size : 1);
    for (size_t i = 0; i < size; i++) {
        frame[i] = data[i];
    }
    if (!dhcp_reply(&l, frame, size, out, sizeof out, &out_len, NULL)
        && dhcp_parse(out, out_len, &p)) {
        abort();
    }
    if (!dhcp_parse(frame, size, &p)) {
        size_t len;
        dhcp_find_option(&p, DHCP_OPT_CLASSLESS_ROUTES, &len);
    }
    uint8_t icmp[ICMP_ERROR_MAX_LEN];
    icmp_build_error(ICMP_ERR_TIME_EXCEEDED, 0x0a010001, 0x0a000000ff01ULL,
                     frame, size, icmp, sizeof icmp, &out_len);
    free(frame);
    return 0;
}
