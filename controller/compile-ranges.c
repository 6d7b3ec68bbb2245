/* compile-ranges.c — a port range as a minimal set of (value, mask)
 * prefixes, for tcp_dst/udp_dst matches (compile-sg.c).
 *
 * OpenFlow matches a transport port exactly or under a bitmask, not by
 * range.  Any range [lo, hi] of 16-bit values is the disjoint union of
 * aligned power-of-two blocks, each one (value, mask) match: the classic
 * greedy walk takes, from lo upwards, the largest block that starts at lo
 * (lo aligned to its size) and ends at or before hi.  That is the minimal
 * number of prefixes (it equals the number of maximal subtrees of the
 * binary trie of 0..65535 inside the range), at most 2 * 16 - 2 = 30.
 * tests/unit/test-compile-sg.c checks cover and minimality exhaustively
 * for every range within 0..1023.
 */
#include "controller/compile-private.h"

size_t
compile_port_range_masks(uint16_t lo, uint16_t hi,
                         struct compile_port_mask out[COMPILE_MAX_PORT_MASKS])
{
    uint32_t a = lo, b = hi;
    size_t n = 0;

    while (a <= b) {
        /* The largest block aligned at 'a' that fits in [a, b]. */
        uint32_t size = 1;
        while (size < 0x10000u && !(a & (size * 2 - 1))
               && a + size * 2 - 1 <= b) {
            size *= 2;
        }
        out[n].value = (uint16_t) a;
        out[n].mask = (uint16_t) ~(size - 1);
        n++;
        a += size;
    }
    return n;
}
