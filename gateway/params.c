/* params.c -- see params.h. */
#include "params.h"

#include <stdio.h>
#include <string.h>

#include "text.h"

void params_quote(const char *s, char *out, size_t outlen)
{
    text_quote(s, s ? strlen(s) : 0, PARAMS_QUOTE_MAX, out, outlen);
}

int params_ms(const char *name, const char *value, long long min, long long max, long long *out,
              char *err, size_t errlen)
{
    return params_uint(name, "milliseconds", value, min, max, out, err, errlen);
}

int params_uint(const char *name, const char *what, const char *value, long long min, long long max,
                long long *out, char *err, size_t errlen)
{
    long long v = 0;
    int digits = 0;
    for (const char *p = value; p && *p; p++, digits++) {
        if (*p < '0' || *p > '9' || digits >= 12) {
            digits = -1;
            break;
        }
        v = v * 10 + (*p - '0');
    }
    if (digits <= 0 || v < min || v > max) {
        char q[4 * PARAMS_QUOTE_MAX + 4];
        params_quote(value, q, sizeof(q));
        snprintf(err, errlen, "%s must be a whole number of %s in %lld..%lld, got '%s'", name, what,
                 min, max, q);
        return -1;
    }
    *out = v;
    return 0;
}

/* Copies one path segment [s, e) into out if it is a valid name. */
static int params_segment(const char *s, const char *e, char *out)
{
    size_t n = (size_t)(e - s);
    if (n == 0 || n > CODEC_NAME_MAX)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return codec_name_valid(out) ? 0 : -1;
}

int params_job_path(const char *path, char *queue, char *function, char *err, size_t errlen)
{
    size_t plen = strlen(PARAMS_JOBS_PREFIX);
    if (strncmp(path, PARAMS_JOBS_PREFIX, plen) != 0)
        return PARAMS_NOT_JOBS;
    const char *q = path + plen, *slash = strchr(q, '/');
    if (!slash || slash == q || !slash[1] || strchr(slash + 1, '/'))
        return PARAMS_NOT_JOBS;
    char name[4 * PARAMS_QUOTE_MAX + 4];
    if (params_segment(q, slash, queue) < 0) {
        char seg[CODEC_NAME_MAX * 4];
        snprintf(seg, sizeof(seg), "%.*s", (int)(slash - q), q);
        params_quote(seg, name, sizeof(name));
        snprintf(err, errlen, "queue name must be 1..%d characters of A-Z a-z 0-9 _ . -, got '%s'",
                 CODEC_NAME_MAX, name);
        return PARAMS_BAD_NAME;
    }
    if (params_segment(slash + 1, slash + 1 + strlen(slash + 1), function) < 0) {
        params_quote(slash + 1, name, sizeof(name));
        snprintf(err, errlen,
                 "function name must be 1..%d characters of A-Z a-z 0-9 _ . -, got '%s'",
                 CODEC_NAME_MAX, name);
        return PARAMS_BAD_NAME;
    }
    return 0;
}

int params_job_ref(const char *path, uint64_t *id, int *result)
{
    size_t plen = strlen(PARAMS_JOBS_PREFIX);
    if (strncmp(path, PARAMS_JOBS_PREFIX, plen) != 0)
        return PARAMS_NOT_JOBS;
    const char *p = path + plen;
    uint64_t v = 0;
    size_t n = 0;
    for (; p[n] >= '0' && p[n] <= '9'; n++) {
        if (n >= 20 || v > (UINT64_MAX - (uint64_t)(p[n] - '0')) / 10)
            return PARAMS_NOT_JOBS;
        v = v * 10 + (uint64_t)(p[n] - '0');
    }
    if (n == 0 || v == 0)
        return PARAMS_NOT_JOBS;
    if (p[n] == '\0')
        *result = 0;
    else if (!strcmp(p + n, "/result"))
        *result = 1;
    else
        return PARAMS_NOT_JOBS;
    *id = v;
    return 0;
}

int params_bool(const char *name, const char *value, int *out, char *err, size_t errlen)
{
    if (!strcmp(value, "true") || !strcmp(value, "1")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(value, "false") || !strcmp(value, "0")) {
        *out = 0;
        return 0;
    }
    char q[4 * PARAMS_QUOTE_MAX + 4];
    params_quote(value, q, sizeof(q));
    snprintf(err, errlen, "%s must be true or false, got '%s'", name, q);
    return -1;
}
