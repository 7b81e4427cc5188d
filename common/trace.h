/* trace.h -- W3C Trace Context (https://www.w3.org/TR/trace-context/): the
 * traceparent and tracestate a job carries from its caller to the function
 * that runs it, checked here, and new traces for jobs that came without a
 * valid one. Pure functions over strings, but trace_rng_seed (getrandom).
 *
 * A traceparent is kept in its version-00 form, "00-" TRACE-ID "-"
 * PARENT-ID "-" FLAGS (55 characters, lowercase hex): a later version's
 * header is reduced to those fields, as the spec asks of a version-00
 * participant. offload records no spans: it passes the caller's context on
 * unchanged, and a trace it starts is not sampled (flags 00). */
#ifndef OFFLOAD_TRACE_H
#define OFFLOAD_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_PARENT_LEN 55 /* "00-" 32 hex "-" 16 hex "-" 2 hex */
#define TRACE_ID_LEN 32     /* hex digits of a trace-id */
#define TRACE_STATE_MAX 512 /* the longest tracestate passed on */

/* A job's context as a front resolved it: both "" when none. */
typedef struct trace_ctx {
    char parent[TRACE_PARENT_LEN + 1];
    char state[TRACE_STATE_MAX + 1];
} trace_ctx;

/* Parses a traceparent header value (NUL-terminated). Version 00 is
 * exactly 55 characters; a later version (01..fe) at least 55, and a '-'
 * after them if longer (its version-00 fields are taken, and of its flags
 * the sampled bit only). Hex is lowercase; the trace-id and parent-id are
 * not all zeros; version ff is invalid. Returns 0 with the version-00 form
 * in out (TRACE_PARENT_LEN + 1 bytes), or -1 with out "". */
int trace_parent_parse(const char *s, char *out);

/* True if s is a traceparent in the version-00 form trace_parent_parse
 * writes (what a Job carries), or "" (none). */
int trace_parent_valid00(const char *s);

/* True if s (NUL-terminated) is a tracestate to pass on as it is:
 * 1..TRACE_STATE_MAX printable ASCII characters (0x20..0x7e). */
int trace_state_valid(const char *s);

/* A generator of ids for new traces: splitmix64, seeded once. Not thread
 * safe: one per thread. */
typedef struct trace_rng {
    uint64_t s;
} trace_rng;

/* Seeds r from getrandom(2), else from the clock and the pid. */
void trace_rng_seed(trace_rng *r);

/* A new trace: a random trace-id and parent-id, flags 00 (not sampled),
 * in out (TRACE_PARENT_LEN + 1 bytes). */
void trace_parent_new(trace_rng *r, char *out);

/* The trace-id of a version-00 traceparent, for logs (print it with
 * %.32s), or "-" when tp is NULL or "". */
static inline const char *trace_id(const char *tp)
{
    return tp && *tp ? tp + 3 : "-";
}

#endif
