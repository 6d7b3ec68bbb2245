/* replay-driver.c — runs a fuzz harness without libFuzzer: every file of the
 * corpus directory given as argv[1], then ANET_FUZZ_ITERATIONS (default
 * 20000) mutations of them from a fixed seed (bit flips, byte sets,
 * truncations, insertions, splices), so that a run is repeatable.  Exits 0
 * when every input returned; a crash or sanitizer report fails the test. */
#include "tests/fuzz/fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN__(a, b) ((a) < (b) ? (a) : (b))

struct seed {
    uint8_t *data;
    size_t size;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int
load_corpus(const char *dir, struct seed **seeds, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (!d) {
        perror(dir);
        return -1;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') {
            continue;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) {
            continue;
        }
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        struct seed s = { malloc(len > 0 ? len : 1), len > 0 ? len : 0 };
        if (fread(s.data, 1, s.size, f) != s.size) {
            s.size = 0;
        }
        fclose(f);
        *seeds = realloc(*seeds, (*n + 1) * sizeof **seeds);
        (*seeds)[(*n)++] = s;
    }
    closedir(d);
    return 0;
}

int
main(int argc, char *argv[])
{
    struct seed *seeds = NULL;
    size_t n = 0;
    long iterations = getenv("ANET_FUZZ_ITERATIONS")
                      ? atol(getenv("ANET_FUZZ_ITERATIONS")) : 20000;

    if (argc < 2 || load_corpus(argv[1], &seeds, &n) || !n) {
        fprintf(stderr, "usage: %s CORPUS_DIR (non-empty)\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].size);
    }
    for (long it = 0; it < iterations; it++) {
        const struct seed *s = &seeds[rng() % n];
        size_t size = s->size + 16;
        uint8_t *buf = malloc(size);
        memcpy(buf, s->data, s->size);
        size = s->size;
        int n_mut = 1 + rng() % 8;
        for (int m = 0; m < n_mut; m++) {
            switch (rng() % 5) {
            case 0:   /* bit flip */
                if (size) buf[rng() % size] ^= 1u << (rng() % 8);
                break;
            case 1:   /* interesting byte */
                if (size) {
                    static const uint8_t v[] = { 0, 0xff, 0x7f, 0x80, ':', '-',
                                                 '\n', ' ', '[', '{', '"' };
                    buf[rng() % size] = v[rng() % sizeof v];
                }
                break;
            case 2:   /* truncate */
                if (size) size = rng() % size;
                break;
            case 3:   /* insert a byte */
                if (size < s->size + 16) {
                    size_t at = size ? rng() % size : 0;
                    memmove(buf + at + 1, buf + at, size - at);
                    buf[at] = rng();
                    size++;
                }
                break;
            default:  /* overwrite a run from another seed */
                {
                    const struct seed *o = &seeds[rng() % n];
                    if (o->size && size) {
                        size_t from = rng() % o->size, to = rng() % size;
                        size_t len = MIN__(o->size - from, size - to);
                        memcpy(buf + to, o->data + from, len % 64);
                    }
                }
                break;
            }
        }
        LLVMFuzzerTestOneInput(buf, size);
        free(buf);
    }
    printf("%s: %zu corpus inputs and %ld mutations ran clean\n", argv[0], n,
           iterations);
    for (size_t i = 0; i < n; i++) {
        free(seeds[i].data);
    }
    free(seeds);
    return 0;
}
