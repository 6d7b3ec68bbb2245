/* fuzz.h — the one entry point every harness in tests/fuzz/ defines.
 *
 * Each fuzz-<parser>.c implements LLVMFuzzerTestOneInput() and nothing else.
 * Built with clang -fsanitize=fuzzer (scripts/fuzz.sh) it is a libFuzzer
 * target; built with replay-driver.c (CTest, under ASan+UBSan in the
 * sanitizer build) it replays the corpus and a fixed-seed run of mutations,
 * so the suite catches regressions on every run without clang.
 */
#ifndef ANET_FUZZ_H
#define ANET_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
