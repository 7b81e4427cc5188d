/* fuzz.h -- what the libFuzzer harnesses share: the entry point's
 * prototype, CHECK (a property that must hold: a trap libFuzzer reports
 * as a crash), and the input as a C string. */
#ifndef OFFLOAD_FUZZ_H
#define OFFLOAD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated copy (it ends at its first NUL for C
 * string functions); the caller frees it. NULL when out of memory. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

#endif
