/* trace.c -- see trace.h. */
#include "trace.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static int trace_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int trace_hex_value(char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* True if s[0..n) is lowercase hex and, when nonzero_required, not all 0. */
static int trace_hex_field(const char *s, size_t n, int nonzero_required)
{
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        if (!trace_is_hex(s[i]))
            return 0;
        nonzero |= s[i] != '0';
    }
    return nonzero || !nonzero_required;
}

int trace_parent_parse(const char *s, char *out)
{
    out[0] = '\0';
    if (!s)
        return -1;
    /* Only the first 56 characters matter: the fields, and what follows. */
    size_t len = strnlen(s, TRACE_PARENT_LEN + 1);
    if (len < TRACE_PARENT_LEN || !trace_hex_field(s, 2, 0) || s[2] != '-' || s[35] != '-' ||
        s[52] != '-')
        return -1;
    int v00 = s[0] == '0' && s[1] == '0';
    if ((s[0] == 'f' && s[1] == 'f') || (v00 && len != TRACE_PARENT_LEN) ||
        (!v00 && len > TRACE_PARENT_LEN && s[TRACE_PARENT_LEN] != '-'))
        return -1;
    if (!trace_hex_field(s + 3, TRACE_ID_LEN, 1) || !trace_hex_field(s + 36, 16, 1) ||
        !trace_hex_field(s + 53, 2, 0))
        return -1;
    memcpy(out, s, TRACE_PARENT_LEN);
    out[TRACE_PARENT_LEN] = '\0';
    if (!v00) {
        /* A later version's flags may mean more; only sampled is known. */
        out[0] = out[1] = out[53] = '0';
        out[54] = trace_hex_value(s[54]) & 1 ? '1' : '0';
    }
    return 0;
}

int trace_parent_valid00(const char *s)
{
    char norm[TRACE_PARENT_LEN + 1];
    if (!s || !*s)
        return 1;
    return s[0] == '0' && s[1] == '0' && trace_parent_parse(s, norm) == 0;
}

int trace_state_valid(const char *s)
{
    if (!s || !*s)
        return 0;
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= TRACE_STATE_MAX || s[n] < 0x20 || s[n] > 0x7e)
            return 0;
    return 1;
}

void trace_rng_seed(trace_rng *r)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        seed ^= (uint64_t)getpid() << 32;
    }
    r->s = seed;
}

static uint64_t trace_rng_next(trace_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void trace_put_hex(char *out, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = digits[v & 15];
}

void trace_parent_new(trace_rng *r, char *out)
{
    uint64_t hi, lo, span;
    do {
        hi = trace_rng_next(r);
        lo = trace_rng_next(r);
    } while (!hi && !lo);
    do
        span = trace_rng_next(r);
    while (!span);
    memcpy(out, "00-", 3);
    trace_put_hex(out + 3, hi);
    trace_put_hex(out + 19, lo);
    out[35] = '-';
    trace_put_hex(out + 36, span);
    memcpy(out + 52, "-00", 4); /* with the NUL */
}
