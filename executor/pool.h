/* pool.h -- the executor's pools: one per queue, of one of two kinds
 * behind one interface.
 *
 *   threads    N (or MIN..MAX, elastic) threads run in-process functions
 *              (built-ins, plugins) directly;
 *   processes  N threads each own one long-lived worker process
 *              (proc.h) and hand it their job over a pipe; the process runs
 *              it, and dies alone if it crashes.
 *
 * Both kinds share everything else, in the style of libuv's threadpool: a
 * mutex+condvar FIFO of jobs, and a completion list (pool_results) that all
 * pools share, whose one eventfd wakes the loop thread to take the
 * finished jobs.
 *
 * Threads: pool_start, pool_submit, pool_destroy and pool_results_* are
 * called by the loop thread; pool_job_cancel from any thread. Workers run
 * jobs and touch nothing else: no ZeroMQ, no loop state.
 *
 * Ownership: the caller allocates each job (usually embedded in its own
 * struct) and owns it throughout; between pool_submit and the moment
 * pool_results_take hands it back, the caller must not free or change it
 * (except through pool_job_cancel). Every submitted job comes back exactly
 * once, run or not. */
#ifndef OFFLOAD_POOL_H
#define OFFLOAD_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "functions.h"
#include "pool_job.h"

typedef struct pool pool;
typedef struct pool_results pool_results;
typedef struct proc_config proc_config;

/* Clears job and sets what to run. deadline_us: a clock_now_us() time, or
 * 0 for none. The payload (and name) must stay valid until the job comes
 * back. fn may be NULL for a process pool's job. */
void pool_job_init(pool_job *job, function_fn fn, const uint8_t *payload, size_t len,
                   uint64_t deadline_us);

/* Asks the job to stop: a queued job is handed back CODE_CANCELLED without
 * running; a running function sees its cancel flag (threads), or its
 * worker process is killed (processes). Any thread. */
void pool_job_cancel(pool_job *job);

/* The same, because the job's deadline passed (the gateway's Cancel said
 * so, Cancel.deadline): a process pool counts its kill as a deadline's,
 * and a job not started yet comes back CODE_TIMEOUT. Any thread. */
void pool_job_expire(pool_job *job);

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

typedef enum pool_kind { POOL_THREADS = 1, POOL_PROCESSES = 2 } pool_kind;

typedef struct pool_config {
    const char *name; /* the queue's; names the threads */
    pool_kind kind;
    unsigned min, max;       /* threads: min..max workers, 1 <= min <= max <= CODEC_POOL_MAX;
                                processes: min == max, the number of processes */
    unsigned idle_ms;        /* elastic threads: a thread idle this long exits, down to min */
    const proc_config *proc; /* processes: how to run and police them (proc.h) */
} pool_config;

/* Starts a pool and returns once its first `min` workers are up (for a
 * process pool: every process has announced its functions). Finished jobs
 * go to results. Returns NULL with err set on failure (nothing left
 * running). cfg is copied; cfg->proc must outlive the pool. */
pool *pool_start(const pool_config *cfg, pool_results *results, char *err, size_t errlen);

/* A fixed pool of nthreads threads (1..CODEC_POOL_MAX). */
pool *pool_new(const char *name, unsigned nthreads, pool_results *results, char *err,
               size_t errlen);

/* Stops the pool: jobs still queued come back CODE_CANCELLED without
 * running, running jobs are cancelled, the workers are joined (so it waits
 * for running thread functions to return; built-ins do within 20 ms;
 * worker processes are told to exit, then killed after their grace) and
 * *p is set to NULL. Afterwards every job submitted is in the results. */
void pool_destroy(pool **p);

/* Queues job (FIFO) for the next free worker, starting another thread if
 * the pool is elastic, every thread is busy and it is under max. Returns
 * 0; -ESHUTDOWN once the pool is stopping, in which case the job is not
 * taken. */
int pool_submit(pool *p, pool_job *job);

const char *pool_name(const pool *p);
pool_kind pool_kind_of(const pool *p);

/* The capacity the gateway is told: max. */
unsigned pool_size(const pool *p);

/* A process pool's functions, as its first worker announced them (the
 * strings belong to the pool); NULL and 0 for a thread pool. */
char **pool_functions(const pool *p, size_t *count);

typedef struct pool_stats {
    size_t queued;          /* waiting for a worker */
    size_t running;         /* taken by a worker, not yet in the results */
    unsigned workers;       /* threads alive */
    uint64_t grown, shrunk; /* elastic threads started and ended */
    unsigned alive;         /* threads: = workers; processes: worker processes running */
    uint64_t respawns;      /* processes: started to replace one; threads: 0 */
    uint64_t kills_deadline, kills_cancel, kills_memory, kills_recycle; /* processes (proc.h's
                               proc_kill_reason); a thread pool kills nothing: 0 */
} pool_stats;

/* A snapshot of the pool's numbers; cheap (a lock, no system call). Any
 * thread. */
void pool_get_stats(pool *p, pool_stats *st);

/* The resident memory of a process pool's worker processes together, in
 * bytes, read from /proc (one file per process); 0 for a thread pool,
 * whose memory is the executor's own and not told apart. Any thread. */
uint64_t pool_rss_bytes(pool *p);

/* Jobs waiting for a worker, and jobs taken by a worker and not yet in the
 * results list. */
void pool_counts(pool *p, size_t *queued, size_t *running);

#endif
