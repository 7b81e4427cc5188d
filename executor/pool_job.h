/* pool_job.h -- the job a pool runs (pool.h), as both of its kinds see it:
 * the thread pool's workers and a process pool's worker processes
 * (proc.h). Plain data, so that proc.c needs no pool.h: pool.c drives
 * proc.c, never the other way round. pool_job_init and pool_job_cancel
 * (pool.h) set and stop one; ownership is pool.h's. */
#ifndef OFFLOAD_POOL_JOB_H
#define OFFLOAD_POOL_JOB_H

#include <stdatomic.h>
#include <stdint.h>

#include "functions.h"

/* pool_job.cancelled: 0, or why the job was asked to stop. */
#define POOL_JOB_CANCELLED 1 /* a cancel: a hang-up, a client's Cancel, an orphan */
#define POOL_JOB_EXPIRED 2   /* its deadline passed (the gateway said so: Cancel.deadline) */

typedef struct pool_job {
    /* In: set with pool_job_init before pool_submit. */
    function_fn fn;     /* threads: what runs; processes: unused */
    const char *name;   /* the function's name (processes send it on) */
    function_call call; /* call.cancelled points at `cancelled` */
    atomic_int cancelled;
    atomic_int started; /* set once a worker starts running it (tests, logs) */
    uint64_t submitted_us;
    /* Out: set by the pool before the job comes back. */
    int code;        /* Offload__Code; CODE_OK when the function succeeded */
    uint64_t run_us; /* time the function ran; 0 when it did not run */
    int pid;         /* processes: the worker process that ran it (0: none) */
    function_output out;
    struct pool_job *next; /* owned by whichever list holds the job */
} pool_job;

#endif
