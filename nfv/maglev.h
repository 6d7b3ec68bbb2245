/* maglev.h — Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast
 * and Reliable Software Network Load Balancer", NSDI 2016, section 3.4).
 *
 * What: a lookup table of M slots (M prime) that maps a flow hash to one
 * of N backends such that (1) every backend owns an almost equal share of
 * the slots (equal weights: floor(M/N) or ceil(M/N) slots each, so with
 * M >= 100 x N the largest and smallest shares differ by at most 1%), and
 * (2) when one backend is removed, almost only its own slots change owner
 * (the other backends' slots mostly stay put), which is what keeps flows
 * on their backend across pool changes.
 *
 * Design: each backend has a key (a 64-bit identifier the caller derives
 * from the backend's name or address; hash a name with hash_str()) from
 * which two independent hashes give offset in [0, M) and skip in [1, M).
 * Its preference list is offset, offset + skip, offset + 2 skip, ... mod M
 * (a permutation of the slots because M is prime).  Building walks the
 * backends in turns; in its turn a backend takes the next slot of its
 * preference list that is still free, until all M slots are taken.
 * Weights are honoured with more turns: backends carry a credit that grows
 * by their weight every round, and a backend takes a turn whenever its
 * credit reaches the largest weight, so a backend of weight w gets
 * w / w_max turns per round and owns a share of the table proportional
 * to w (exactly, up to one slot per round).
 *
 * Table size: maglev_table_size_for(n) is the smallest prime >= max(65537,
 * 100 x n); maglev_create() takes any prime (0: 65537).  Slots hold 16-bit
 * backend indices, so a table serves at most MAGLEV_MAX_BACKENDS.
 *
 * Speed: the fill loop keeps a bitmap of taken slots (8 KiB for 65,537
 * slots: it stays in L1) and walks each preference list incrementally
 * (an add and a compare, no modulo); once only about sqrt(M) / 2 slots are
 * left, a turn picks the free slot earliest in the backend's preference
 * list arithmetically instead of probing (same result, see maglev.c).
 * Rebuilding 65,537 slots for 500 backends takes about 0.87 ms on the lab
 * machine (median; tests/bench/bench-nfv-vad.c), against 1.1 ms for the
 * plain walk.
 * Lookup is one multiply-shift (Lemire's fast range reduction of the
 * 32-bit hash, not a modulo) and one load.
 *
 * Errors: 0 or negative errno; maglev_create() returns NULL + errno.
 * Thread-safety: none; a table is built and read by one thread (vAD keeps
 * one per service per lcore).
 */
#ifndef ANET_NFV_MAGLEV_H
#define ANET_NFV_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAGLEV_DEFAULT_SIZE 65537u
#define MAGLEV_MAX_BACKENDS 65535u      /* 0xffff marks an empty table */
#define MAGLEV_MAX_SIZE 16777259u       /* a prime just above 2^24 */
#define MAGLEV_NONE (-1)

struct maglev;

/* The smallest prime >= max(MAGLEV_DEFAULT_SIZE, 100 * n_backends), capped
 * at MAGLEV_MAX_SIZE. */
uint32_t maglev_table_size_for(size_t n_backends);

/* Whether 'n' is prime (trial division; for table sizes). */
bool maglev_is_prime(uint32_t n);

/* A table of 'size' slots (0: MAGLEV_DEFAULT_SIZE), initially empty (every
 * lookup returns MAGLEV_NONE).  NULL + errno EINVAL if 'size' is not a
 * prime in [3, MAGLEV_MAX_SIZE], ENOMEM. */
struct maglev *maglev_create(uint32_t size);
void maglev_destroy(struct maglev *);           /* NULL-safe */

/* Fills the table with backends 0..n-1 whose keys are 'keys[i]' and weights
 * 'weights[i]' (NULL: all 1; a weight of 0 gives the backend no slot).
 * n = 0 (or all weights 0) empties the table.  Returns 0, or -EINVAL if n
 * exceeds MAGLEV_MAX_BACKENDS or the table size (-E2BIG), -ENOMEM.  On
 * error the previous table is kept. */
int maglev_build(struct maglev *, const uint64_t *keys,
                 const uint32_t *weights, size_t n);

/* The backend index (0..n-1) for a 32-bit flow hash, or MAGLEV_NONE when
 * the table is empty. */
int maglev_lookup(const struct maglev *, uint32_t hash);

/* The table's size, and its raw slots (backend index per slot, 0xffff when
 * empty) for tests and statistics. */
uint32_t maglev_size(const struct maglev *);
const uint16_t *maglev_slots(const struct maglev *);

/* The two hashes of a key (offset in [0, size), skip in [1, size)): exposed
 * so that tests can check the permutation property. */
void maglev_key_hashes(uint64_t key, uint32_t size, uint32_t *offset,
                       uint32_t *skip);

#endif
