/* fuzz_parse.c -- libFuzzer harness for common/parse: the input, made a C
 * string (it ends at its first NUL), as a flag, config or query value.
 *
 * Checked: parse_ll accepts only what strtoll reads whole, and parse_size
 * only a byte count in 0..2^62 that is its leading number times 1, 2^10,
 * 2^20 or 2^30. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstring(data, size);
    if (!s)
        return 0;

    long long v = 0;
    if (parse_ll(s, &v) == 0) {
        char *end;
        errno = 0;
        CHECK(strtoll(s, &end, 10) == v && errno == 0 && *end == '\0');
    }

    if (parse_size(s, &v) == 0) {
        CHECK(v >= 0 && v <= 1LL << 62);
        unsigned long long n = (unsigned long long)strtoll(s, NULL, 10), u = (unsigned long long)v;
        CHECK(u == n || u == n << 10 || u == n << 20 || u == n << 30);
    }

    free(s);
    return 0;
}
