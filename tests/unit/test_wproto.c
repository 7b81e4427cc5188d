/* test_wproto.c -- the worker protocol's framing: frames come out whole
 * from any split of the byte stream, every truncation waits for more,
 * every length out of bounds is an error, and job and hello bodies are
 * parsed strictly. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "unit.h"
#include "wproto.h"

#define MAX 4096

/* A job frame for name and payload, built with wp_job_header. */
static size_t job_frame(uint8_t *buf, uint32_t timeout_ms, const char *name, const void *payload,
                        size_t len)
{
    size_t h = wp_job_header(buf, timeout_ms, name, len);
    memcpy(buf + h, payload, len);
    return h + len;
}

static size_t raw_frame(uint8_t *buf, uint8_t type, const void *body, size_t len)
{
    buf[0] = (uint8_t)((len + 1) >> 24);
    buf[1] = (uint8_t)((len + 1) >> 16);
    buf[2] = (uint8_t)((len + 1) >> 8);
    buf[3] = (uint8_t)(len + 1);
    buf[4] = type;
    memcpy(buf + 5, body, len);
    return len + 5;
}

static void test_job_roundtrip(void)
{
    uint8_t buf[512];
    static const uint8_t payload[] = {0, 1, 2, 0xff, '\n', 0};
    size_t n = job_frame(buf, 30000, "resize.v2", payload, sizeof(payload));
    wp_reader r;
    wp_reader_init(&r, MAX);
    CU_ASSERT_EQUAL(wp_reader_feed(&r, buf, n), 0);
    wp_frame f;
    char err[256];
    CU_ASSERT_EQUAL_FATAL(wp_reader_next(&r, &f, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL(f.type, WP_JOB);
    wp_job job;
    CU_ASSERT_EQUAL_FATAL(wp_parse_job(f.body, f.len, &job, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(job.timeout_ms, 30000);
    CU_ASSERT_STRING_EQUAL(job.name, "resize.v2");
    CU_ASSERT_EQUAL_FATAL(job.len, sizeof(payload));
    CU_ASSERT_EQUAL(memcmp(job.payload, payload, sizeof(payload)), 0);
    CU_ASSERT_EQUAL(wp_reader_next(&r, &f, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(wp_reader_pending(&r), 0);
    /* An empty payload. */
    n = job_frame(buf, 0, "echo", "", 0);
    wp_reader_feed(&r, buf, n);
    CU_ASSERT_EQUAL_FATAL(wp_reader_next(&r, &f, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL_FATAL(wp_parse_job(f.body, f.len, &job, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(job.len, 0);
    wp_reader_free(&r);
}

/* Three frames; every prefix gives exactly the frames it holds whole, and
 * feeding one byte at a time gives all three. */
static void test_every_truncation(void)
{
    uint8_t stream[1024];
    size_t n = 0, ends[3];
    n += raw_frame(stream + n, WP_HELLO, "offload-worker 1\necho\n", 22);
    ends[0] = n;
    n += raw_frame(stream + n, WP_RESULT, "", 0);
    ends[1] = n;
    n += raw_frame(stream + n, WP_ERROR, "ValueError: no", 14);
    ends[2] = n;
    char err[256];
    for (size_t cut = 0; cut <= n; cut++) {
        wp_reader r;
        wp_reader_init(&r, MAX);
        wp_reader_feed(&r, stream, cut);
        size_t want = (cut >= ends[0]) + (cut >= ends[1]) + (cut >= ends[2]), got = 0;
        wp_frame f;
        int rc;
        while ((rc = wp_reader_next(&r, &f, err, sizeof(err))) == 1)
            got++;
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_EQUAL(got, want);
        wp_reader_free(&r);
    }
    wp_reader r;
    wp_reader_init(&r, MAX);
    size_t got = 0;
    uint8_t types[3];
    for (size_t i = 0; i < n; i++) {
        wp_reader_feed(&r, stream + i, 1);
        wp_frame f;
        while (wp_reader_next(&r, &f, err, sizeof(err)) == 1)
            if (got < 3)
                types[got++] = f.type;
    }
    CU_ASSERT_EQUAL_FATAL(got, 3);
    CU_ASSERT_EQUAL(types[0], WP_HELLO);
    CU_ASSERT_EQUAL(types[1], WP_RESULT);
    CU_ASSERT_EQUAL(types[2], WP_ERROR);
    wp_reader_free(&r);
}

static void test_lengths(void)
{
    char err[256];
    wp_frame f;
    wp_reader r;
    /* 0 and max + 1 are not frames, whatever follows; max is. */
    static const uint8_t zero[] = {0, 0, 0, 0, 'R'};
    wp_reader_init(&r, 16);
    wp_reader_feed(&r, zero, sizeof(zero));
    CU_ASSERT_EQUAL(wp_reader_next(&r, &f, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "a length of 0"));
    wp_reader_free(&r);

    uint8_t big[64];
    wp_reader_init(&r, 16);
    size_t n = raw_frame(big, WP_RESULT, "0123456789abcdef", 16); /* length 17 */
    wp_reader_feed(&r, big, 4);                                   /* the header alone */
    CU_ASSERT_EQUAL(wp_reader_next(&r, &f, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "a length of 17"));
    wp_reader_free(&r);

    wp_reader_init(&r, 17);
    wp_reader_feed(&r, big, n);
    CU_ASSERT_EQUAL(wp_reader_next(&r, &f, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL(f.len, 16);
    wp_reader_free(&r);

    /* Text on stdout: its first 4 bytes read as a huge length, and the
     * error quotes them. */
    wp_reader_init(&r, MAX);
    wp_reader_feed(&r, "hello world\n", 12);
    CU_ASSERT_EQUAL(wp_reader_next(&r, &f, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "hello world"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "stdout"));
    wp_reader_free(&r);
}

static void test_job_body(void)
{
    uint8_t buf[512];
    char err[256];
    wp_job job;
    size_t n = job_frame(buf, 5, "sleep", "100", 3);
    const uint8_t *body = buf + WP_HEADER + 1;
    size_t blen = n - WP_HEADER - 1;
    /* Every cut into the fixed part or the name is refused; cuts into the
     * payload are a shorter payload (the frame length is the truth). */
    for (size_t cut = 0; cut < WP_JOB_FIXED + 5; cut++)
        CU_ASSERT_EQUAL(wp_parse_job(body, cut, &job, err, sizeof(err)), -1);
    CU_ASSERT_EQUAL(wp_parse_job(body, WP_JOB_FIXED + 5, &job, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(job.len, 0);
    CU_ASSERT_EQUAL(wp_parse_job(body, blen, &job, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(job.len, 3);
    /* A name that is not a function name. */
    n = job_frame(buf, 5, "a b", "x", 1);
    CU_ASSERT_EQUAL(wp_parse_job(buf + 5, n - 5, &job, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "name"));
    n = job_frame(buf, 5, "", "x", 1);
    CU_ASSERT_EQUAL(wp_parse_job(buf + 5, n - 5, &job, err, sizeof(err)), -1);
    /* A NUL inside the name (found by make fuzz): "ec\0\0" is 4 bytes, not
     * the function "ec". */
    static const uint8_t nul_name[] = {0, 0, 0x13, 0x88, 4, 'e', 'c', 0, 0};
    CU_ASSERT_EQUAL(wp_parse_job(nul_name, sizeof(nul_name), &job, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "name"));
}

static int hello_rc(const char *text, size_t max_names, size_t *count, char *err, size_t errlen)
{
    char **names;
    size_t n;
    unsigned features;
    int rc = wp_parse_hello((const uint8_t *)text, strlen(text), max_names, WP_FEATURE_TRACE,
                            &names, &n, &features, err, errlen);
    if (rc == 0) {
        *count = n;
        wp_names_free(names, n);
    }
    return rc;
}

static void test_hello(void)
{
    char err[256];
    size_t n = 0;
    char **names;
    unsigned features = 7;
    const char *ok = "offload-worker 1\nresize\nthumb.v2\n";
    CU_ASSERT_EQUAL_FATAL(wp_parse_hello((const uint8_t *)ok, strlen(ok), 10, WP_FEATURE_TRACE,
                                         &names, &n, &features, err, sizeof(err)),
                          0);
    CU_ASSERT_EQUAL(features, 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(names[0], "resize");
    CU_ASSERT_STRING_EQUAL(names[1], "thumb.v2");
    wp_names_free(names, n);
    CU_ASSERT_EQUAL(hello_rc("offload-worker 1\nresize", 10, &n, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(n, 1);

    static const struct {
        const char *text, *why;
    } bad[] = {
        {"", "empty"},
        {"offload-worker 1\n", "no function"},
        {"offload-worker 2\necho\n", "worker protocol 1"},
        {"offload-worker\necho\n", "must start with"},
        {"hello\necho\n", "must start with"},
        {"offload-worker 1\nbad name\n", "not a function name"},
        {"offload-worker 1\necho\necho\n", "twice"},
        {"offload-worker 1\na\nb\nc\n", "more than 2"},
        {"offload-worker 1x\necho\n", "must start with"},
        {"offload-worker 1 tracing\necho\n", "did not offer"},
        {"offload-worker 10\necho\n", "must start with"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CU_ASSERT_EQUAL(hello_rc(bad[i].text, 2, &n, err, sizeof(err)), -1);
        if (!strstr(err, bad[i].why))
            fprintf(stderr, "\n  hello #%zu: '%s'\n", i, err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].why));
    }
    char longline[200];
    memset(longline, 'x', sizeof(longline));
    memcpy(longline, "offload-worker 1\n", 17);
    longline[sizeof(longline) - 1] = '\0';
    CU_ASSERT_EQUAL(hello_rc(longline, 10, &n, err, sizeof(err)), -1);
}

/* Features: a hello takes only what was offered; the environment's list. */
static void test_hello_features(void)
{
    char err[256];
    char **names;
    size_t n;
    unsigned features = 0;
    const char *t = "offload-worker 1 trace\necho\n";
    CU_ASSERT_EQUAL_FATAL(wp_parse_hello((const uint8_t *)t, strlen(t), 10, WP_FEATURE_TRACE,
                                         &names, &n, &features, err, sizeof(err)),
                          0);
    CU_ASSERT_EQUAL(features, WP_FEATURE_TRACE);
    CU_ASSERT_EQUAL(n, 1);
    wp_names_free(names, n);
    /* An executor that offered nothing (or an older one) refuses it. */
    CU_ASSERT_EQUAL(wp_parse_hello((const uint8_t *)t, strlen(t), 10, 0, &names, &n, &features, err,
                                   sizeof(err)),
                    -1);
    CU_ASSERT_EQUAL(features, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "OFFLOAD_WORKER_FEATURES"));
    CU_ASSERT_EQUAL(wp_features_parse(NULL), 0);
    CU_ASSERT_EQUAL(wp_features_parse(""), 0);
    CU_ASSERT_EQUAL(wp_features_parse("trace"), WP_FEATURE_TRACE);
    CU_ASSERT_EQUAL(wp_features_parse("zstd, trace,later"), WP_FEATURE_TRACE);
    CU_ASSERT_EQUAL(wp_features_parse("traces tracer"), 0);
}

/* Trace frames: built and parsed back; every malformed body refused. */
static void test_trace_frame(void)
{
    static const char tp[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    uint8_t buf[WP_TRACE_FRAME_MAX];
    char p[TRACE_PARENT_LEN + 1], st[TRACE_STATE_MAX + 1], err[256];
    wp_reader r;
    wp_frame f;
    wp_reader_init(&r, MAX);
    size_t n = wp_trace_frame(buf, tp, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    CU_ASSERT_EQUAL(wp_reader_feed(&r, buf, n), 0);
    n = wp_trace_frame(buf, tp, NULL);
    CU_ASSERT_EQUAL(n, WP_HEADER + 1 + TRACE_PARENT_LEN);
    CU_ASSERT_EQUAL(wp_reader_feed(&r, buf, n), 0);
    CU_ASSERT_EQUAL_FATAL(wp_reader_next(&r, &f, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL(f.type, WP_TRACE);
    CU_ASSERT_EQUAL_FATAL(wp_parse_trace(f.body, f.len, p, st, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(p, tp);
    CU_ASSERT_STRING_EQUAL(st, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    CU_ASSERT_EQUAL_FATAL(wp_reader_next(&r, &f, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL_FATAL(wp_parse_trace(f.body, f.len, p, st, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(p, tp);
    CU_ASSERT_STRING_EQUAL(st, "");
    wp_reader_free(&r);
    /* The longest tracestate fits the frame. */
    char longest[TRACE_STATE_MAX + 1];
    memset(longest, 'a', TRACE_STATE_MAX);
    longest[TRACE_STATE_MAX] = '\0';
    n = wp_trace_frame(buf, tp, longest);
    CU_ASSERT_EQUAL(n, WP_TRACE_FRAME_MAX);
    CU_ASSERT_EQUAL(wp_parse_trace(buf + 5, n - 5, p, st, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(strlen(st), TRACE_STATE_MAX);

    uint8_t body[TRACE_PARENT_LEN + 1 + TRACE_STATE_MAX + 2];
    memcpy(body, tp, TRACE_PARENT_LEN);
    static const size_t bad_lens[] = {0, 1, TRACE_PARENT_LEN - 1, TRACE_PARENT_LEN + 1,
                                      TRACE_PARENT_LEN + 2 + TRACE_STATE_MAX};
    memset(body + TRACE_PARENT_LEN, '\n', sizeof(body) - TRACE_PARENT_LEN);
    for (size_t i = 0; i < ARRAY_LEN(bad_lens); i++) {
        err[0] = '\0';
        CU_ASSERT_EQUAL(wp_parse_trace(body, bad_lens[i], p, st, err, sizeof(err)), -1);
        CU_ASSERT_STRING_EQUAL(p, "");
        CU_ASSERT_NOT_EQUAL(err[0], '\0');
    }
    /* No newline before the tracestate; a control character in it; a NUL;
     * an invalid traceparent (uppercase), or a version other than 00. */
    memcpy(body + TRACE_PARENT_LEN, "xa=b", 4);
    CU_ASSERT_EQUAL(wp_parse_trace(body, TRACE_PARENT_LEN + 4, p, st, err, sizeof(err)), -1);
    memcpy(body + TRACE_PARENT_LEN, "\na\tb", 4);
    CU_ASSERT_EQUAL(wp_parse_trace(body, TRACE_PARENT_LEN + 4, p, st, err, sizeof(err)), -1);
    memcpy(body + TRACE_PARENT_LEN, "\na\0b", 4);
    CU_ASSERT_EQUAL(wp_parse_trace(body, TRACE_PARENT_LEN + 4, p, st, err, sizeof(err)), -1);
    memcpy(body + TRACE_PARENT_LEN, "\na=b", 4);
    CU_ASSERT_EQUAL(wp_parse_trace(body, TRACE_PARENT_LEN + 4, p, st, err, sizeof(err)), 0);
    body[10] = 'F';
    CU_ASSERT_EQUAL(wp_parse_trace(body, TRACE_PARENT_LEN, p, st, err, sizeof(err)), -1);
    body[10] = 'f';
    body[1] = '1';
    CU_ASSERT_EQUAL(wp_parse_trace(body, TRACE_PARENT_LEN, p, st, err, sizeof(err)), -1);
}

/* Reading from a pipe: what was written, then EAGAIN, then end of file. */
static void test_fill(void)
{
    int fds[2];
    CU_ASSERT_EQUAL_FATAL(pipe2(fds, O_NONBLOCK), 0);
    CU_ASSERT_EQUAL(wp_write_frame(fds[1], WP_RESULT, "abc", 3), 0);
    wp_reader r;
    wp_reader_init(&r, MAX);
    CU_ASSERT_EQUAL(wp_reader_fill(&r, fds[0]), 8);
    CU_ASSERT_EQUAL(wp_reader_fill(&r, fds[0]), -EAGAIN);
    close(fds[1]);
    CU_ASSERT_EQUAL(wp_reader_fill(&r, fds[0]), 0);
    wp_frame f;
    char err[64];
    CU_ASSERT_EQUAL_FATAL(wp_reader_next(&r, &f, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL(f.len, 3);
    CU_ASSERT_EQUAL(memcmp(f.body, "abc", 3), 0);
    close(fds[0]);
    wp_reader_free(&r);
}

UNIT_SUITE(wproto, {"a job frame round trip", test_job_roundtrip},
           {"every truncation of a stream waits for more", test_every_truncation},
           {"lengths of 0 and over the limit are errors", test_lengths},
           {"job bodies are parsed strictly", test_job_body},
           {"hellos are parsed strictly", test_hello},
           {"hellos take offered features only", test_hello_features},
           {"trace frames round trip and are parsed strictly", test_trace_frame},
           {"frames are read from a pipe until EOF", test_fill})
