/* proc.h -- one worker process of a process pool, driven by the pool
 * thread that owns it (pool.c): spawn it, hand it a job, police it, replace
 * it.
 *
 * A worker is any program that speaks the worker protocol (wproto.h,
 * proto/worker.md) on its stdin and stdout: the executor itself in
 * serve-worker mode (built-ins and plugins), or a --command (Python's
 * offload_worker, or anything else). It is started with posix_spawn (no
 * fork of a threaded parent), in its own process group, with the default
 * signal mask and dispositions, stderr shared with the executor's.
 *
 * Policing, all from the owning thread while a job runs:
 *   crash    the process dies (signal, exit, closed stdout): the job ends
 *            CODE_CRASHED with the signal or exit code; replaced, with
 *            back-off while it keeps crashing;
 *   garbage  a malformed frame, or an unexpected one: killed, CODE_CRASHED
 *            saying what came; replaced;
 *   deadline the job's deadline passes: SIGTERM to the group, SIGKILL
 *            after kill_grace_ms; CODE_TIMEOUT; replaced;
 *   cancel   the job is cancelled (its caller hung up): the same, with
 *            CODE_CANCELLED;
 *   memory   the resident set passes max_rss_kb (checked every 10 ms while
 *            the job runs): killed, CODE_CRASHED saying so; replaced;
 *   recycle  after max_jobs jobs the process is told to exit (stdin closed)
 *            and replaced.
 * Each of those but crash and garbage counts in the pool's proc_counts
 * (kills by reason), and so does every replacement (respawns). */
#ifndef OFFLOAD_PROC_H
#define OFFLOAD_PROC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

struct pool_job;

struct proc_config {
    const char *queue;
    char *const *argv;         /* the program and its arguments; argv[0] a path */
    char *const *envp;         /* its environment */
    unsigned kill_grace_ms;    /* SIGTERM to SIGKILL; also how long a worker told
                                  to exit (stdin closed) may take */
    unsigned start_timeout_ms; /* spawn to hello */
    unsigned max_jobs;         /* jobs per process; 0: no limit */
    size_t max_rss_kb;         /* resident set limit while a job runs; 0: none */
    size_t max_frame;          /* largest frame either way */
    char *const *expect;       /* the functions every worker must announce, in any
                                  order; NULL: the first worker's announcement */
    size_t nexpect;
    unsigned features; /* offered to workers (WP_FEATURE_*, also in envp's
                          OFFLOAD_WORKER_FEATURES): a job's trace context goes
                          to those that take "trace" */
};

/* The functions a pool's workers announced: set by the first, checked
 * against by every later one. */
typedef struct proc_announce {
    pthread_mutex_t mu;
    char **names;
    size_t count;
} proc_announce;

void proc_announce_init(proc_announce *a);
void proc_announce_clear(proc_announce *a);

/* Why a worker process was ended by the executor (proc_counts.kills). */
typedef enum proc_kill_reason {
    PROC_KILL_DEADLINE = 0, /* its job's deadline passed (the executor's or the gateway's) */
    PROC_KILL_CANCEL,       /* its job was cancelled: a hang-up, a client's Cancel, an orphan */
    PROC_KILL_MEMORY,       /* over max_rss_kb */
    PROC_KILL_RECYCLE,      /* retired after max_jobs (stdin closed; killed only if it lingers) */
    PROC_KILL_COUNT
} proc_kill_reason;

/* A pool's counts of its processes' lives, for PoolStats: written by the
 * pool threads that own the processes, read by any thread (atomics). They
 * only grow. Crashes and protocol breaches are not kills: they show in
 * respawns alone. */
typedef struct proc_counts {
    atomic_uint_fast64_t respawns;               /* processes started to replace one */
    atomic_uint_fast64_t kills[PROC_KILL_COUNT]; /* by proc_kill_reason */
} proc_counts;

/* What a pool shares with each of its workers; all outlive them. */
typedef struct proc_shared {
    proc_announce *announce;    /* the functions the workers announced */
    const atomic_int *stopping; /* the pool's stop flag: cuts a back-off short */
    proc_counts *counts;
} proc_shared;

typedef struct proc_worker proc_worker;

/* A worker slot (no process yet). pid: where the slot publishes the pid
 * of its running process (0: none), for other threads (pool_rss_bytes,
 * alive counts); it must outlive the worker. NULL when out of memory. */
proc_worker *proc_worker_new(const struct proc_config *cfg, unsigned index,
                             const proc_shared *shared, atomic_int *pid);

/* The resident set of process pid in KiB (/proc/PID/statm), or 0 if
 * unknown (gone). Any thread. */
size_t proc_rss_kb(int pid);

/* Starts the process and waits for its hello (up to start_timeout_ms).
 * Returns 0, or -1 with err saying why (it could not start, exited first,
 * announced other functions, timed out); nothing is left running then. */
int proc_worker_spawn(proc_worker *w, char *err, size_t errlen);

/* Runs job in the process and sets its outcome (code, out, run_us, pid). */
void proc_worker_run(proc_worker *w, struct pool_job *job);

/* Between jobs: retires a process that is worn out (max_jobs) or broken,
 * and starts its replacement (waiting out the back-off of a worker that
 * keeps crashing, unless the pool stops). */
void proc_worker_after(proc_worker *w);

/* Tells the process to exit (stdin closed), kills it after the grace, reaps
 * it, frees *w and sets it to NULL. */
void proc_worker_destroy(proc_worker **w);

#endif
