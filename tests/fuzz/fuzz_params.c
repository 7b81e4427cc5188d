/* fuzz_params.c -- libFuzzer harness for gateway/params: the input, made a
 * C string (it ends at its first NUL), as every value and path the HTTP
 * front hands to params, with the gateway's buffer sizes.
 *
 * Checked: a number accepted is in its bounds, a job path accepted gives
 * two valid names, a job reference accepted gives an id that is not 0, a
 * boolean is 0 or 1, every refusal says why, and quotes fit their buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "codec.h"
#include "params.h"

/* The bounds the gateway parses with: timeout_ms, retries, ms, wait_ms. */
static const struct {
    long long min, max;
} fuzz_bounds[] = {{1, CODEC_MS_MAX}, {0, 100}, {0, CODEC_MS_MAX}, {0, 0}, {0, 999999999999LL}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstring(data, size);
    if (!s)
        return 0;

    char err[256];
    for (size_t i = 0; i < sizeof(fuzz_bounds) / sizeof(fuzz_bounds[0]); i++) {
        long long v = -1;
        err[0] = '\0';
        if (params_uint("retries", "retries", s, fuzz_bounds[i].min, fuzz_bounds[i].max, &v, err,
                        sizeof(err)) == 0)
            CHECK(v >= fuzz_bounds[i].min && v <= fuzz_bounds[i].max);
        else
            CHECK(err[0] != '\0');
        v = -1;
        err[0] = '\0';
        if (params_ms("timeout_ms", s, fuzz_bounds[i].min, fuzz_bounds[i].max, &v, err,
                      sizeof(err)) == 0)
            CHECK(v >= fuzz_bounds[i].min && v <= fuzz_bounds[i].max);
        else
            CHECK(err[0] != '\0');
    }

    char queue[CODEC_NAME_MAX + 1], function[CODEC_NAME_MAX + 1];
    err[0] = '\0';
    int rc = params_job_path(s, queue, function, err, sizeof(err));
    if (rc == 0)
        CHECK(codec_name_valid(queue) && codec_name_valid(function));
    else if (rc == PARAMS_BAD_NAME)
        CHECK(err[0] != '\0');
    else
        CHECK(rc == PARAMS_NOT_JOBS);

    uint64_t id = 0;
    int result = -1;
    if (params_job_ref(s, &id, &result) == 0)
        CHECK(id != 0 && (result == 0 || result == 1));

    int b = -1;
    err[0] = '\0';
    if (params_bool("wait", s, &b, err, sizeof(err)) == 0)
        CHECK(b == 0 || b == 1);
    else
        CHECK(err[0] != '\0');

    char q[4 * PARAMS_QUOTE_MAX + 4];
    params_quote(s, q, sizeof(q));
    CHECK(strlen(q) < sizeof(q));
    char small[8];
    params_quote(s, small, sizeof(small));
    CHECK(strlen(small) < sizeof(small));

    free(s);
    return 0;
}
