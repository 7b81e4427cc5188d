/* pool.h -- a fixed-size thread pool per queue, in the style of libuv's
 * threadpool: N workers share a mutex+condvar FIFO of jobs; a finished job
 * is appended to a completion list (pool_results) that all pools share,
 * and the loop thread, woken through one eventfd, takes the finished jobs.
 *
 * Threads: pool_new, pool_submit, pool_destroy and pool_results_* are
 * called by the loop thread; pool_job_cancel from any thread. Workers run
 * the job's function and touch nothing else: no ZeroMQ, no loop state.
 *
 * Ownership: the caller allocates each job (usually embedded in its own
 * struct) and owns it throughout; between pool_submit and the moment
 * pool_results_take hands it back, the caller must not free or change it
 * (except through pool_job_cancel). Every submitted job comes back exactly
 * once, run or not. */
#ifndef OFFLOAD_POOL_H
#define OFFLOAD_POOL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "functions.h"

typedef struct pool pool;
typedef struct pool_results pool_results;

typedef struct pool_job {
    /* In: set with pool_job_init before pool_submit. */
    function_fn fn;
    function_call call; /* call.cancelled points at `cancelled` */
    atomic_int cancelled;
    uint64_t submitted_us;
    /* Out: set by the pool before the job comes back. */
    int code;        /* Offload__Code; CODE_OK when the function succeeded */
    uint64_t run_us; /* time the function ran; 0 when it did not run */
    function_output out;
    struct pool_job *next; /* owned by whichever list holds the job */
} pool_job;

/* Clears job and sets what to run. deadline_us: a clock_now_us() time, or
 * 0 for none. The payload must stay valid until the job comes back. */
void pool_job_init(pool_job *job, function_fn fn, const uint8_t *payload, size_t len,
                   uint64_t deadline_us);

/* Asks the job to stop: a queued job is handed back CODE_CANCELLED without
 * running; a running function sees its cancel flag. Any thread. */
void pool_job_cancel(pool_job *job);

/* ---- the completion list --------------------------------------------- */

/* A completion list with its eventfd. Returns NULL (errno set) on failure. */
pool_results *pool_results_new(void);

/* Frees r and sets *r to NULL. Jobs still in it are not freed (take them
 * first: they belong to the caller). Destroy every pool using r first. */
void pool_results_destroy(pool_results **r);

/* The eventfd that becomes readable when finished jobs are waiting; poll
 * it for input, then call pool_results_take. */
int pool_results_fd(const pool_results *r);

/* Takes every finished job, oldest first, linked by `next` (NULL: none)
 * and resets the eventfd. The caller owns the jobs again. */
pool_job *pool_results_take(pool_results *r);

/* ---- pools ------------------------------------------------------------- */

/* Starts a pool of nthreads (1..CODEC_POOL_MAX) workers named after the
 * queue and returns once every worker is up. Finished jobs go to results.
 * Returns NULL with err set on failure (nothing left running). */
pool *pool_new(const char *name, unsigned nthreads, pool_results *results, char *err,
               size_t errlen);

/* Stops the pool: jobs still queued come back CODE_CANCELLED without
 * running, running jobs get their cancel flag set, and the workers are
 * joined (so it waits for running functions to return; built-ins do within
 * 20 ms). Sets *p to NULL. Afterwards every job submitted to the pool is in
 * the results list. */
void pool_destroy(pool **p);

/* Queues job (FIFO) for the next free worker. Returns 0; -ESHUTDOWN once
 * the pool is stopping, in which case the job is not taken. */
int pool_submit(pool *p, pool_job *job);

const char *pool_name(const pool *p);
unsigned pool_size(const pool *p);

/* Jobs waiting for a worker, and jobs taken by a worker and not yet in the
 * results list. */
void pool_counts(pool *p, size_t *queued, size_t *running);

#endif
