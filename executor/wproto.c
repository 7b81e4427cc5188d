/* wproto.c -- see wproto.h. */
#include "wproto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "codec.h"
#include "text.h"

#define WP_READ_CHUNK 65536

void wp_reader_init(wp_reader *r, size_t max)
{
    memset(r, 0, sizeof(*r));
    r->max = max;
}

void wp_reader_free(wp_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->len = r->cap = r->off = 0;
}

void wp_reader_reset(wp_reader *r)
{
    r->len = r->off = 0;
}

size_t wp_reader_pending(const wp_reader *r)
{
    return r->len - r->off;
}

/* Room for `more` bytes after the data, moving the data to the front
 * first. */
static int wp_reader_reserve(wp_reader *r, size_t more)
{
    if (r->off) {
        memmove(r->buf, r->buf + r->off, r->len - r->off);
        r->len -= r->off;
        r->off = 0;
    }
    if (r->cap - r->len >= more)
        return 0;
    size_t cap = r->cap ? r->cap : 4096;
    while (cap - r->len < more)
        cap *= 2;
    uint8_t *buf = realloc(r->buf, cap);
    if (!buf)
        return -ENOMEM;
    r->buf = buf;
    r->cap = cap;
    return 0;
}

int wp_reader_feed(wp_reader *r, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    if (wp_reader_reserve(r, len) < 0)
        return -ENOMEM;
    memcpy(r->buf + r->len, data, len);
    r->len += len;
    return 0;
}

long wp_reader_fill(wp_reader *r, int fd)
{
    if (wp_reader_reserve(r, WP_READ_CHUNK) < 0)
        return -ENOMEM;
    ssize_t n = read(fd, r->buf + r->len, WP_READ_CHUNK);
    if (n < 0)
        return -errno;
    r->len += (size_t)n;
    return (long)n;
}

int wp_reader_next(wp_reader *r, wp_frame *f, char *err, size_t errlen)
{
    size_t have = r->len - r->off;
    if (have < WP_HEADER)
        return 0;
    const uint8_t *p = r->buf + r->off;
    uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (len == 0 || len > r->max) {
        char quoted[4 * 32 + 8];
        text_quote(p, have < 32 ? have : 32, 32, quoted, sizeof(quoted));
        snprintf(err, errlen,
                 "not a frame: a length of %u (1..%zu allowed); the bytes were '%s' (is the "
                 "worker printing to stdout?)",
                 len, r->max, quoted);
        return -1;
    }
    if (have - WP_HEADER < len)
        return 0;
    f->type = p[WP_HEADER];
    f->body = p + WP_HEADER + 1;
    f->len = len - 1;
    r->off += WP_HEADER + len;
    if (r->off == r->len)
        r->off = r->len = 0; /* the body stays valid: nothing moves until the next call */
    return 1;
}

static void wp_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

size_t wp_job_header(uint8_t *hdr, uint32_t timeout_ms, const char *name, size_t payload_len)
{
    size_t nlen = strlen(name);
    if (nlen > 255)
        nlen = 255;
    wp_put32(hdr, (uint32_t)(1 + WP_JOB_FIXED + nlen + payload_len));
    hdr[WP_HEADER] = WP_JOB;
    wp_put32(hdr + WP_HEADER + 1, timeout_ms);
    hdr[WP_HEADER + 5] = (uint8_t)nlen;
    memcpy(hdr + WP_HEADER + 1 + WP_JOB_FIXED, name, nlen);
    return WP_HEADER + 1 + WP_JOB_FIXED + nlen;
}

int wp_parse_job(const uint8_t *body, size_t len, wp_job *job, char *err, size_t errlen)
{
    if (len < WP_JOB_FIXED) {
        snprintf(err, errlen, "job frame of %zu bytes, shorter than its fixed %d", len,
                 WP_JOB_FIXED);
        return -1;
    }
    size_t nlen = body[4];
    if (len < WP_JOB_FIXED + nlen) {
        snprintf(err, errlen, "job frame of %zu bytes cannot hold its %zu-byte name", len, nlen);
        return -1;
    }
    job->timeout_ms =
        (uint32_t)body[0] << 24 | (uint32_t)body[1] << 16 | (uint32_t)body[2] << 8 | body[3];
    memcpy(job->name, body + WP_JOB_FIXED, nlen);
    job->name[nlen] = '\0';
    if (strlen(job->name) != nlen || !codec_name_valid(job->name)) {
        snprintf(err, errlen, "job frame with an invalid function name");
        return -1;
    }
    job->payload = body + WP_JOB_FIXED + nlen;
    job->len = len - WP_JOB_FIXED - nlen;
    return 0;
}

void wp_names_free(char **names, size_t count)
{
    for (size_t i = 0; names && i < count; i++)
        free(names[i]);
    free(names);
}

/* The feature a name stands for, 0 if none. */
static unsigned wp_feature(const char *name, size_t len)
{
    return len == 5 && !memcmp(name, "trace", 5) ? WP_FEATURE_TRACE : 0;
}

unsigned wp_features_parse(const char *list)
{
    unsigned features = 0;
    while (list && *list) {
        size_t n = strcspn(list, " ,");
        features |= wp_feature(list, n);
        list += n;
        list += strspn(list, " ,");
    }
    return features;
}

/* The hello's first line: the magic, the version, then features. */
static int wp_hello_head(const char *text, size_t llen, unsigned offered, unsigned *features,
                         char *err, size_t errlen)
{
    char expect[32];
    int elen = snprintf(expect, sizeof(expect), "%s %d", WP_MAGIC, WP_VERSION);
    if (strncmp(text, expect, (size_t)elen) != 0 || (text[elen] && text[elen] != ' ')) {
        char quoted[4 * (CODEC_NAME_MAX + 32)];
        text_quote((const uint8_t *)text, llen, 40, quoted, sizeof(quoted));
        snprintf(err, errlen,
                 "hello must start with '%s' (this executor speaks worker protocol %d), got '%s'",
                 expect, WP_VERSION, quoted);
        return -1;
    }
    for (const char *p = text + elen; *p;) {
        p += strspn(p, " ");
        size_t n = strcspn(p, " ");
        if (!n)
            break;
        unsigned f = wp_feature(p, n);
        if (!(f & offered)) {
            char quoted[4 * (CODEC_NAME_MAX + 32)];
            text_quote((const uint8_t *)p, n, 40, quoted, sizeof(quoted));
            snprintf(err, errlen, "hello takes feature '%s', which the executor did not offer (%s)",
                     quoted, WP_FEATURES_ENV);
            return -1;
        }
        *features |= f;
        p += n;
    }
    return 0;
}

int wp_parse_hello(const uint8_t *body, size_t len, size_t max_names, unsigned offered,
                   char ***names, size_t *count, unsigned *features, char *err, size_t errlen)
{
    char **out = NULL;
    size_t n = 0, i = 0, line = 0;
    *names = NULL;
    *count = 0;
    *features = 0;
    while (i < len) {
        const uint8_t *nl = memchr(body + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - body) : len, llen = end - i;
        char text[CODEC_NAME_MAX + 32];
        if (llen >= sizeof(text)) {
            snprintf(err, errlen, "hello line %zu is %zu bytes long", line + 1, llen);
            goto fail;
        }
        memcpy(text, body + i, llen);
        text[llen] = '\0';
        i = end + 1;
        if (line++ == 0) {
            if (strlen(text) != llen ||
                wp_hello_head(text, llen, offered, features, err, errlen) < 0) {
                if (strlen(text) != llen)
                    snprintf(err, errlen, "hello's first line holds a NUL byte");
                *features = 0;
                goto fail;
            }
            continue;
        }
        if (llen == 0)
            continue; /* a trailing newline */
        if (!codec_name_valid(text)) {
            char quoted[4 * sizeof(text)];
            text_quote((const uint8_t *)text, llen, 40, quoted, sizeof(quoted));
            snprintf(err, errlen, "hello: '%s' is not a function name (1..%d of A-Z a-z 0-9 _ . -)",
                     quoted, CODEC_NAME_MAX);
            goto fail;
        }
        for (size_t k = 0; k < n; k++)
            if (!strcmp(out[k], text)) {
                snprintf(err, errlen, "hello: function '%s' announced twice", text);
                goto fail;
            }
        if (n >= max_names) {
            snprintf(err, errlen, "hello: more than %zu functions", max_names);
            goto fail;
        }
        char **grown = realloc(out, (n + 1) * sizeof(*out));
        if (!grown || !(grown[n] = strdup(text))) {
            out = grown ? grown : out;
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        out = grown;
        n++;
    }
    if (line == 0) {
        snprintf(err, errlen, "empty hello");
        goto fail;
    }
    if (n == 0) {
        snprintf(err, errlen, "hello announces no function");
        goto fail;
    }
    *names = out;
    *count = n;
    return 0;
fail:
    wp_names_free(out, n);
    return -1;
}

size_t wp_trace_frame(uint8_t *buf, const char *traceparent, const char *tracestate)
{
    size_t slen = tracestate ? strnlen(tracestate, TRACE_STATE_MAX) : 0;
    size_t body = TRACE_PARENT_LEN + (slen ? 1 + slen : 0);
    wp_put32(buf, (uint32_t)(1 + body));
    buf[WP_HEADER] = WP_TRACE;
    memcpy(buf + WP_HEADER + 1, traceparent, TRACE_PARENT_LEN);
    if (slen) {
        buf[WP_HEADER + 1 + TRACE_PARENT_LEN] = '\n';
        memcpy(buf + WP_HEADER + 2 + TRACE_PARENT_LEN, tracestate, slen);
    }
    return WP_HEADER + 1 + body;
}

int wp_parse_trace(const uint8_t *body, size_t len, char *traceparent, char *tracestate, char *err,
                   size_t errlen)
{
    traceparent[0] = tracestate[0] = '\0';
    if (len < TRACE_PARENT_LEN || len == TRACE_PARENT_LEN + 1 ||
        len > TRACE_PARENT_LEN + 1 + TRACE_STATE_MAX ||
        (len > TRACE_PARENT_LEN && body[TRACE_PARENT_LEN] != '\n')) {
        snprintf(err, errlen,
                 "trace frame of %zu bytes: a traceparent (%d), then optionally a newline and "
                 "a tracestate (1..%d)",
                 len, TRACE_PARENT_LEN, TRACE_STATE_MAX);
        return -1;
    }
    memcpy(traceparent, body, TRACE_PARENT_LEN);
    traceparent[TRACE_PARENT_LEN] = '\0';
    size_t slen = len > TRACE_PARENT_LEN ? len - TRACE_PARENT_LEN - 1 : 0;
    memcpy(tracestate, body + len - slen, slen);
    tracestate[slen] = '\0';
    if (!*traceparent || !trace_parent_valid00(traceparent) ||
        (slen && (strlen(tracestate) != slen || !trace_state_valid(tracestate)))) {
        traceparent[0] = tracestate[0] = '\0';
        snprintf(err, errlen, "trace frame with an invalid traceparent or tracestate");
        return -1;
    }
    return 0;
}

int wp_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int wp_write_frame(int fd, uint8_t type, const void *body, size_t len)
{
    uint8_t hdr[WP_HEADER + 1];
    wp_put32(hdr, (uint32_t)(len + 1));
    hdr[WP_HEADER] = type;
    int rc = wp_write_all(fd, hdr, sizeof(hdr));
    return rc < 0 ? rc : wp_write_all(fd, body, len);
}
