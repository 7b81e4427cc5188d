/* executor_state.h -- the executor's state, private to its modules: the
 * executor itself, the queues it serves and the jobs it holds. executor.h
 * is the API the program (main.c) sees; this header is for the modules
 * that make up the executor and share its one loop thread. Plain data: it
 * includes none of them, and they are layered, each calling only those
 * below it:
 *
 *   executor.c   set-up, the loop (signals, drain) and tear-down
 *   session.c    the session with each gateway: Hello, Welcome, Refuse,
 *                heartbeats, silence, reopening, Goodbye (session.h)
 *   inflight.c   every job from its Job to its one Result (inflight.h)
 *   allowance.c  Credit and Demand: each gateway's share of a pool
 *                (allowance.h, credit.h)
 *   poolstats.c  PoolStats: the pools' state, told to the gateways
 *                (poolstats.h)
 *   outgoing.c   every message to a gateway leaves through it (outgoing.h)
 *
 * Loop thread only, like everything in it. */
#ifndef OFFLOAD_EXECUTOR_STATE_H
#define OFFLOAD_EXECUTOR_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "codec.h"
#include "config.h"
#include "credit.h"
#include "functions.h"
#include "link.h"
#include "log.h"
#include "loop.h"
#include "plugin.h"
#include "pool.h"
#include "proc.h"

typedef struct executor executor; /* as executor.h has it */

/* The key of a job in flight: the link it came from and its job id. */
typedef struct exec_key {
    uint32_t link;
    uint32_t zero; /* padding, kept 0 so the key hashes as bytes */
    uint64_t job_id;
} exec_key;

typedef struct exec_queue exec_queue;

typedef struct exec_job {
    pool_job pj; /* what the pool runs; exec_job_of finds the job again */
    exec_key key;
    exec_queue *q;       /* the queue whose pool holds it */
    codec_envelope *env; /* the Job message; owns the payload pj runs on */
    int orphaned;        /* its gateway forgot it: no Result, not in the table */
    UT_hash_handle hh;
} exec_job;

#define exec_job_of(p) ((exec_job *)((char *)(p)-offsetof(exec_job, pj)))

/* A queue as the executor serves it: its pool and the functions it runs. */
struct exec_queue {
    const executor_queue *cfg;
    pool *pool;
    size_t held;         /* jobs its pool holds (queued, running, orphaned) */
    size_t limit;        /* held at most: the pool size + --max-pending */
    size_t held_max;     /* the most held at once, ever */
    uint64_t fifo_waits; /* jobs that arrived with every worker taken */
    credit_peer *peers;  /* one per link: that gateway's share (credit.h) */
    uint32_t orphans;    /* orphaned jobs still in the pool */
    char **functions;    /* the registry's names, or those the workers announced */
    size_t nfunctions;
    proc_config proc; /* processes: how its workers run */
    char **argv;      /* processes: proc.argv (owned) */
    char **envp;      /* processes: proc.envp, the executor's plus OFFLOAD_WORKER_* */
    char env_text[4][96];
    char shell_cmd[4096 + 8];
};

typedef struct exec_stats {
    uint64_t jobs, results, results_unsent, orphaned, duplicates;
    uint64_t refused_payload, refused_pending; /* Jobs answered at once, not held */
    uint64_t reopens;                          /* links given new sockets */
    uint64_t frames_bad, frames_version, frames_unexpected, cancels_unknown, send_failures;
    uint64_t credits_sent, demands, credit_overruns; /* credit.h; overruns: Jobs
                                                        past a gateway's allowance */
    uint64_t pool_stats_sent;                        /* PoolStats (poolstats.h) */
} exec_stats;

struct executor {
    const executor_config *cfg;
    int refused; /* a gateway refused us for good: executor_run fails */
    void *zctx;
    function_registry *functions; /* built-ins and plugins */
    plugin **plugins;             /* cfg->nplugins */
    pool_results *results;
    exec_queue *queues; /* one per cfg->queues entry, same order */
    exec_link **links;
    size_t nlinks;
    loop loop;                 /* per link: its monitor, its socket; then the results */
    char max_payload_text[32]; /* for serve-worker's --max-payload */
    int ready_fd;              /* -1 once written */
    int draining;              /* a signal arrived: finish the jobs in flight, then stop */
    uint64_t drain_until_us;
    exec_job *jobs; /* uthash: in flight and not orphaned */
    size_t orphans; /* orphaned jobs still running */
    /* The Hello, built once. */
    Offload__Hello hello;
    Offload__QueueDecl *decls;
    Offload__QueueDecl **decl_ptrs;
    exec_stats stats;
    log_limiter limiter; /* exec_log_allowed */
    /* PoolStats (poolstats.c): the latest snapshot of every pool (one per
     * queue, same order), the baseline the last change was measured from,
     * a version bumped on every change, and when the next snapshot is due. */
    Offload__PoolStat *pool_stats, *pool_stats_base;
    Offload__PoolStat **pool_stat_ptrs;
    uint64_t pool_stats_version;
    uint64_t pool_stats_next_us;
};

/* A flood of bad input is logged in a few lines a second; exec_stats still
 * counts every one. */
#define exec_log_allowed(x) log_limiter_allow(&(x)->limiter, 5)

#endif
