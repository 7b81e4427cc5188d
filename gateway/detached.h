/* detached.h -- jobs nobody waits on: submitted with ?wait=false (or an
 * Idempotency-Key), looked up by id later, their outcome kept for a while.
 *
 * The store is the job's caller (its done callback keeps the outcome), so
 * the job life cycle (jobs.c) is the same as for any other job. Finished
 * entries are kept for ttl_ms after they end and within a byte budget
 * (the oldest finished go first); an unknown or expired id is not found.
 * Fronts that want the outcome register a waiter, called once when the
 * job ends (or never, if the waiter is removed first).
 *
 * Loop thread only. */
#ifndef OFFLOAD_DETACHED_H
#define OFFLOAD_DETACHED_H

#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "jobs.h"
#include "timers.h"
#include "trace.h"

#define DETACHED_KEY_MAX 128 /* an Idempotency-Key: 1..128 printable characters */

typedef enum detached_state {
    DETACHED_QUEUED,    /* waiting for a slot */
    DETACHED_RUNNING,   /* on an executor */
    DETACHED_DONE,      /* ended with a result */
    DETACHED_FAILED,    /* ended with an error (timeout, crash, ...) */
    DETACHED_CANCELLED, /* cancelled by DELETE (or its library call) */
} detached_state;

typedef struct detached_job detached_job;
typedef struct detached_waiter detached_waiter;

/* Called once when d ends; d stays valid during the call. */
typedef void (*detached_wait_fn)(detached_job *d, void *arg);

struct detached_waiter {
    detached_wait_fn fn;
    void *arg;
    detached_waiter *prev, *next; /* d's waiters */
    detached_job *d;              /* NULL when not waiting */
};

struct detached_job {
    uint64_t id; /* the job's id */
    char queue[CODEC_NAME_MAX + 1];
    char function[CODEC_NAME_MAX + 1];
    char key[DETACHED_KEY_MAX + 1];         /* "" when none */
    char traceparent[TRACE_PARENT_LEN + 1]; /* the job's (gw_job's), "" when none */
    char *tracestate;                       /* a copy of its tracestate, or NULL */
    gw_job *job;                            /* until it ends */
    int ended;
    int code; /* Offload__Code, once ended */
    uint8_t *payload;
    size_t len;
    char *message;
    uint64_t created_us, ended_us, waited_us, run_us;
    int cancelled;
    detached_waiter *waiters;
    struct detached *owner;
    detached_job *prev, *next; /* the ended FIFO, oldest first */
    UT_hash_handle hh;         /* by id */
    UT_hash_handle hk;         /* by key, when it has one */
};

typedef struct detached_limits {
    long long ttl_ms;    /* keep an ended job this long */
    long long max_bytes; /* result and message bytes kept, at most */
    long long max_jobs;  /* detached jobs at once, open and ended */
} detached_limits;

typedef struct detached {
    jobs *jobs;
    timers *timers;
    detached_limits limits;
    detached_job *by_id, *by_key;
    detached_job *ended_head, *ended_tail;
    size_t count, bytes;
    uint64_t expired, evicted;
    gw_timer sweep; /* the next expiry */
} detached;

void detached_init(detached *ds, jobs *js, timers *ts, const detached_limits *limits);

/* Frees every entry (call jobs_close first: an open job's end is still
 * recorded then). Waiters are dropped without a call. */
void detached_free(detached *ds);

/* Submits r as a detached job. With a key (NULL or "": none) of a job
 * still kept, returns that one instead (*existing = 1), without running r.
 * Returns CODE_OK (0) with *out set, or the Offload__Code that refused it
 * (jobs_submit's, or queue_full when max_jobs are kept) with err set.
 * Takes r->payload in every case. */
int detached_submit(detached *ds, job_request *r, const char *key, detached_job **out,
                    int *existing, char *err, size_t errlen);

detached_job *detached_find(detached *ds, uint64_t id);

detached_state detached_state_of(const detached_job *d);
const char *detached_state_name(detached_state s);

/* Cancels an open job (its executor is told; a process pool kills it). It
 * ends at once, CODE_CANCELLED, and its waiters are called. An ended job
 * is left as it is. */
void detached_cancel(detached *ds, detached_job *d);

/* Calls fn(d, arg) once when d ends (at once if it has: from inside this
 * call). w is the caller's storage; it must stay valid until fn runs or
 * detached_unwait. */
void detached_wait(detached_job *d, detached_waiter *w, detached_wait_fn fn, void *arg);

/* Stops waiting (safe when not waiting). */
void detached_unwait(detached_waiter *w);

/* True if s is a valid Idempotency-Key. */
int detached_key_valid(const char *s);

#endif
