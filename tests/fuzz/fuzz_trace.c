/* fuzz_trace.c -- libFuzzer harness for common/trace: the input, made a C
 * string (it ends at its first NUL), as a traceparent and as a tracestate
 * header value.
 *
 * Checked: a traceparent parses to a version-00 form of 55 characters that
 * parses back to itself, whose fields are the input's (its version aside,
 * and of a later version's flags the sampled bit only), never from a
 * version ff, zero ids or uppercase; one that fails leaves its output
 * empty. A valid tracestate is 1..512 printable characters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstring(data, size);
    if (!s)
        return 0;

    char out[TRACE_PARENT_LEN + 1], back[TRACE_PARENT_LEN + 1];
    memset(out, 'x', sizeof(out));
    if (trace_parent_parse(s, out) == 0) {
        size_t len = strlen(s);
        CHECK(strlen(out) == TRACE_PARENT_LEN && out[0] == '0' && out[1] == '0');
        CHECK(trace_parent_valid00(out));
        CHECK(trace_parent_parse(out, back) == 0 && strcmp(out, back) == 0);
        CHECK(len >= TRACE_PARENT_LEN && memcmp(out + 2, s + 2, 51) == 0);
        CHECK(!(s[0] == 'f' && s[1] == 'f'));
        CHECK(strspn(out, "0123456789abcdef-") == TRACE_PARENT_LEN);
        CHECK(strspn(out + 3, "0") < TRACE_ID_LEN && strspn(out + 36, "0") < 16);
        if (s[0] == '0' && s[1] == '0')
            CHECK(len == TRACE_PARENT_LEN && strcmp(out, s) == 0);
        else
            CHECK(out[53] == '0' && (out[54] == '0' || out[54] == '1'));
    } else {
        CHECK(out[0] == '\0');
        CHECK(!trace_parent_valid00(s) || !*s);
    }

    if (trace_state_valid(s)) {
        size_t n = strlen(s);
        CHECK(n >= 1 && n <= TRACE_STATE_MAX);
        for (size_t i = 0; i < n; i++)
            CHECK(s[i] >= 0x20 && s[i] <= 0x7e);
    }

    free(s);
    return 0;
}
