/* wproto.h -- the worker protocol: how the executor talks to a worker
 * process over its stdin and stdout (proto/worker.md is the spec).
 *
 * Every message is a frame: a 4-byte big-endian length L (1..max), then L
 * bytes: one type byte and the body.
 *
 *   'H' worker -> executor, once, first: "offload-worker 1" (then, space
 *       separated, the features it takes of those the executor offered in
 *       OFFLOAD_WORKER_FEATURES), "\n", then one function name per line
 *   'T' executor -> worker, only to a worker that took the feature "trace",
 *       right before the 'J' it belongs to: the job's traceparent (55
 *       characters), then optionally "\n" and its tracestate
 *   'J' executor -> worker: timeout_ms (u32 BE), name length (u8), name,
 *       payload (the rest)
 *   'R' worker -> executor: the result (the whole body)
 *   'E' worker -> executor: the error message (UTF-8), the job failed
 *
 * Pure functions over buffers, and a reader that gathers frames from a
 * non-blocking fd: every truncation waits for more bytes, every length out
 * of bounds is an error that says what came. */
#ifndef OFFLOAD_WPROTO_H
#define OFFLOAD_WPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "trace.h"

#define WP_VERSION 1
#define WP_MAGIC "offload-worker"
#define WP_HEADER 4    /* the length prefix */
#define WP_JOB_FIXED 5 /* timeout_ms and the name length */
#define WP_SLACK 4096  /* a frame may be max payload + this */
#define WP_HELLO 'H'
#define WP_JOB 'J'
#define WP_RESULT 'R'
#define WP_ERROR 'E'
#define WP_TRACE 'T'

/* Features a worker may take (hello) of those offered in its environment. */
#define WP_FEATURES_ENV "OFFLOAD_WORKER_FEATURES"
#define WP_FEATURE_TRACE 1u /* "trace": 'T' frames */
#define WP_FEATURES_ALL "trace"
/* A trace frame, whole: the prefix, the type, traceparent, '\n', tracestate. */
#define WP_TRACE_FRAME_MAX (WP_HEADER + 1 + TRACE_PARENT_LEN + 1 + TRACE_STATE_MAX)

typedef struct wp_frame {
    uint8_t type;
    const uint8_t *body; /* valid until the next wp_reader call */
    size_t len;
} wp_frame;

typedef struct wp_reader {
    uint8_t *buf;
    size_t len, cap; /* bytes held, allocated */
    size_t off;      /* start of the unconsumed bytes */
    size_t max;      /* largest frame length accepted */
} wp_reader;

void wp_reader_init(wp_reader *r, size_t max);
void wp_reader_free(wp_reader *r);

/* Drops whatever is buffered (a new process). */
void wp_reader_reset(wp_reader *r);

/* Appends bytes (tests, or a caller that read them itself). -ENOMEM. */
int wp_reader_feed(wp_reader *r, const void *data, size_t len);

/* Reads what fd has (one read(2), up to 64 KiB). Returns the bytes read,
 * 0 at end of file, or -errno (-EAGAIN: nothing now). */
long wp_reader_fill(wp_reader *r, int fd);

/* The next whole frame: 1 with *f set, 0 when more bytes are needed, -1
 * when the bytes cannot be a frame (a length of 0 or over max; err says
 * which and quotes the first bytes, as garbage on stdout would show). */
int wp_reader_next(wp_reader *r, wp_frame *f, char *err, size_t errlen);

/* Bytes buffered and not yet returned as a frame. */
size_t wp_reader_pending(const wp_reader *r);

/* The header of a job frame for a payload of payload_len bytes, into hdr
 * (WP_HEADER + 1 + WP_JOB_FIXED + 255 bytes); the payload follows it.
 * Returns the header's length. */
size_t wp_job_header(uint8_t *hdr, uint32_t timeout_ms, const char *name, size_t payload_len);

typedef struct wp_job {
    uint32_t timeout_ms;
    char name[256];
    const uint8_t *payload;
    size_t len;
} wp_job;

/* Parses a job frame's body. 0, or -1 with err set. */
int wp_parse_job(const uint8_t *body, size_t len, wp_job *job, char *err, size_t errlen);

/* Parses a hello frame's body into a malloc'd array of malloc'd names
 * (*names, *count; free with wp_names_free) and the features it took
 * (*features, WP_FEATURE_*). Checks the magic and version, that every
 * feature is one of offered, 1..max_names names, each a valid function
 * name, none twice. 0, or -1 with err set. */
int wp_parse_hello(const uint8_t *body, size_t len, size_t max_names, unsigned offered,
                   char ***names, size_t *count, unsigned *features, char *err, size_t errlen);

/* The features (WP_FEATURE_*) a space- or comma-separated list names
 * (OFFLOAD_WORKER_FEATURES; NULL: none); names it does not know are
 * skipped. */
unsigned wp_features_parse(const char *list);

/* A whole trace frame for traceparent (version-00 form, 55 characters)
 * and tracestate (NULL or "": none; at most TRACE_STATE_MAX), into buf
 * (WP_TRACE_FRAME_MAX bytes). Returns its length. */
size_t wp_trace_frame(uint8_t *buf, const char *traceparent, const char *tracestate);

/* Parses a trace frame's body into traceparent (TRACE_PARENT_LEN + 1
 * bytes) and tracestate (TRACE_STATE_MAX + 1 bytes, "" when none). 0, or
 * -1 with err set. */
int wp_parse_trace(const uint8_t *body, size_t len, char *traceparent, char *tracestate, char *err,
                   size_t errlen);

void wp_names_free(char **names, size_t count);

/* Writes a whole buffer to a blocking fd, retrying on EINTR. 0 or -errno. */
int wp_write_all(int fd, const void *data, size_t len);

/* Writes one frame (type + body) to a blocking fd. 0 or -errno. */
int wp_write_frame(int fd, uint8_t type, const void *body, size_t len);

#endif
