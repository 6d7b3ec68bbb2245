/* util.h — tiny shared helpers: array sizes, container_of, checked allocation.
 *
 * Allocation failure in anet's daemons is not recoverable in any useful way,
 * so xmalloc() and friends abort with a message instead of returning NULL.
 */
#ifndef ANET_UTIL_H
#define ANET_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CONTAINER_OF(ptr, type, member) \
    ((type *) (void *) ((char *) (ptr) - offsetof(type, member)))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

void *xmalloc(size_t n);
void *xzalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grows '*array' (of '*cap' elements of 'elem' bytes) so that it holds at
 * least 'need' elements.  Doubles, so appends are amortised O(1). */
void *xgrow(void *array, size_t *cap, size_t need, size_t elem);

/* 32-bit FNV-1a of a string; stable across runs and versions (used for
 * cookies and stable MACs, so never change it). */
uint32_t hash_str(const char *s);
uint32_t hash_bytes(const void *p, size_t n, uint32_t basis);

/* qsort()/qsort_r()/memcpy() that accept an empty (possibly NULL) array:
 * the libc functions are declared nonnull, so passing NULL even with a count
 * of 0 is undefined (and UBSan says so). */
static inline void
util_qsort(void *base, size_t n, size_t size,
           int (*cmp)(const void *, const void *))
{
    if (n > 1) {
        qsort(base, n, size, cmp);
    }
}

static inline void
util_qsort_r(void *base, size_t n, size_t size,
             int (*cmp)(const void *, const void *, void *), void *aux)
{
    if (n > 1) {
        qsort_r(base, n, size, cmp, aux);
    }
}

static inline void *
util_memcpy(void *dst, const void *src, size_t n)
{
    return n ? memcpy(dst, src, n) : dst;
}

/* Monotonic time in milliseconds. */
long long time_msec(void);

#endif
