/* util.c — checked allocation and stable hashing. */
#include "lib/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
out_of_memory__(void)
{
    fputs("anet: out of memory\n", stderr);
    abort();
}

void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        out_of_memory__();
    }
    return p;
}

void *
xzalloc(size_t n)
{
    return xcalloc(1, n);
}

void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        out_of_memory__();
    }
    return p;
}

void *
xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        out_of_memory__();
    }
    return p;
}

char *
xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

char *
xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) {
        out_of_memory__();
    }
    va_end(ap);
    return s;
}

void *
xgrow(void *array, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return array;
    }
    size_t n = *cap ? *cap : 8;
    while (n < need) {
        n *= 2;
    }
    array = xrealloc(array, n * elem);
    *cap = n;
    return array;
}

uint32_t
hash_bytes(const void *p_, size_t n, uint32_t basis)
{
    const uint8_t *p = p_;
    uint32_t h = basis ? basis : 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

uint32_t
hash_str(const char *s)
{
    return hash_bytes(s, strlen(s), 0);
}

long long
time_msec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
