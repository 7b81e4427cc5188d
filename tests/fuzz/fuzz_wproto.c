/* fuzz_wproto.c -- libFuzzer harness for executor/wproto: the bytes a
 * worker process writes on its stdout, fed to a wp_reader in chunks, every
 * whole frame parsed as the executor parses it (hello, job, error text).
 *
 * Input: a control byte, then up to 7 chunk sizes, then the stream.
 *   control bits 0-1  the reader's largest frame: 16, 256, 4096 or 1 MiB
 *           bits 2-4  how many chunk-size bytes follow (0: one feed)
 *           bits 5-6  wp_parse_hello's max_names: 1, 2, 8 or 256
 *   chunk size byte   1..255 bytes, 0 for 256; used in turn, cycling
 *
 * Checked: every byte fed is either in a returned frame or still pending,
 * a frame is 1..max bytes long, a parsed job lies inside its frame and
 * comes back the same through wp_job_header, hello names are valid
 * and distinct, and a parsed trace frame is valid and comes back the same
 * through wp_trace_frame. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "codec.h"
#include "text.h"
#include "wproto.h"

#define FUZZ_MESSAGE_MAX 1024 /* FUNCTION_MESSAGE_MAX: where an error frame's text goes */

static const size_t fuzz_max_frame[4] = {16, 256, 4096, 1u << 20};
static const size_t fuzz_max_names[4] = {1, 2, 8, CODEC_FUNCTIONS_MAX};

/* A job parsed from a frame comes back the same when written again with
 * wp_job_header and read by a fresh reader. */
static void fuzz_job_roundtrip(const wp_job *job)
{
    uint8_t hdr[WP_HEADER + 1 + WP_JOB_FIXED + 255];
    size_t hlen = wp_job_header(hdr, job->timeout_ms, job->name, job->len);
    wp_reader r;
    wp_reader_init(&r, hlen - WP_HEADER + job->len);
    CHECK(wp_reader_feed(&r, hdr, hlen) == 0);
    CHECK(wp_reader_feed(&r, job->payload, job->len) == 0);
    wp_frame f;
    char err[256];
    CHECK(wp_reader_next(&r, &f, err, sizeof(err)) == 1);
    CHECK(f.type == WP_JOB && wp_reader_pending(&r) == 0);
    wp_job back;
    CHECK(wp_parse_job(f.body, f.len, &back, err, sizeof(err)) == 0);
    CHECK(back.timeout_ms == job->timeout_ms && strcmp(back.name, job->name) == 0);
    CHECK(back.len == job->len && memcmp(back.payload, job->payload, job->len) == 0);
    wp_reader_free(&r);
}

static void fuzz_frame(const wp_frame *f, size_t max_names)
{
    char err[512];
    if (f->type == WP_HELLO) {
        char **names = NULL;
        size_t n = 0;
        unsigned features = 0;
        if (wp_parse_hello(f->body, f->len, max_names, WP_FEATURE_TRACE, &names, &n, &features, err,
                           sizeof(err)) == 0) {
            CHECK((features & ~WP_FEATURE_TRACE) == 0);
            CHECK(n >= 1 && n <= max_names);
            for (size_t i = 0; i < n; i++) {
                CHECK(codec_name_valid(names[i]));
                for (size_t j = 0; j < i; j++)
                    CHECK(strcmp(names[i], names[j]) != 0);
            }
        } else {
            CHECK(names == NULL && n == 0 && err[0] != '\0');
        }
        wp_names_free(names, n);
    } else if (f->type == WP_JOB) {
        wp_job job;
        if (wp_parse_job(f->body, f->len, &job, err, sizeof(err)) == 0) {
            size_t nlen = f->body[4];
            CHECK(codec_name_valid(job.name) && strlen(job.name) == nlen);
            CHECK(job.payload == f->body + WP_JOB_FIXED + nlen);
            CHECK(WP_JOB_FIXED + nlen + job.len == f->len);
            fuzz_job_roundtrip(&job);
        } else {
            CHECK(err[0] != '\0');
        }
    } else if (f->type == WP_TRACE) {
        /* What serve-worker parses; a parsed one comes back the same. */
        char tp[TRACE_PARENT_LEN + 1], ts[TRACE_STATE_MAX + 1];
        if (wp_parse_trace(f->body, f->len, tp, ts, err, sizeof(err)) == 0) {
            CHECK(trace_parent_valid00(tp) && strlen(tp) == TRACE_PARENT_LEN);
            CHECK(!ts[0] || trace_state_valid(ts));
            uint8_t back[WP_TRACE_FRAME_MAX];
            size_t n = wp_trace_frame(back, tp, ts);
            CHECK(n == WP_HEADER + 1 + f->len &&
                  memcmp(back + WP_HEADER + 1, f->body, f->len) == 0);
        } else {
            CHECK(tp[0] == '\0' && err[0] != '\0');
        }
    } else if (f->type == WP_ERROR && f->len) {
        char message[FUZZ_MESSAGE_MAX];
        text_clean(f->body, f->len, message, sizeof(message));
        CHECK(strlen(message) < sizeof(message));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t control = data[0];
    size_t max = fuzz_max_frame[control & 3];
    size_t nchunks = (control >> 2) & 7;
    size_t max_names = fuzz_max_names[(control >> 5) & 3];
    if (size < 1 + nchunks)
        return 0;
    const uint8_t *chunks = data + 1;
    const uint8_t *stream = data + 1 + nchunks;
    size_t len = size - 1 - nchunks;

    wp_reader r;
    wp_reader_init(&r, max);
    size_t fed = 0, taken = 0;
    for (size_t c = 0; fed < len; c++) {
        size_t chunk = len - fed;
        if (nchunks) {
            size_t want = chunks[c % nchunks] ? chunks[c % nchunks] : 256;
            chunk = want < chunk ? want : chunk;
        }
        CHECK(wp_reader_feed(&r, stream + fed, chunk) == 0);
        fed += chunk;
        int rc;
        char err[512];
        for (;;) {
            wp_frame f;
            rc = wp_reader_next(&r, &f, err, sizeof(err));
            if (rc != 1)
                break;
            CHECK(f.len + 1 <= max);
            CHECK(f.body >= r.buf && f.body + f.len <= r.buf + r.cap);
            taken += WP_HEADER + 1 + f.len;
            fuzz_frame(&f, max_names);
        }
        if (rc < 0) {
            CHECK(err[0] != '\0');
            break; /* the worker is broken: the executor stops reading it */
        }
        CHECK(rc == 0 && taken + wp_reader_pending(&r) == fed);
    }
    wp_reader_free(&r);
    return 0;
}
