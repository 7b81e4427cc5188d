/* core.h -- the gateway's core: the queues, every job from submit to its
 * one answer, detached jobs, the executor fleet and its protocol, the
 * byte budget and the counters, and the API the fronts call.
 *
 *   executors.c  the executor protocol and the fleet (fleet.c)
 *   jobs.c       every job from submit to its one answer (queue.c, dispatch.c)
 *   detached.c   jobs nobody waits on (?wait=false, Idempotency-Key)
 *   budget.c     payload bytes held, against --max-held-bytes
 *   core_fleet.c the fleet as the fronts see it (core_executors)
 *   failures.c   the recent failures (--recent-failures), for the dashboard
 *
 * The fronts (http*.c, clients.c) reach the core only through the
 * functions below (submit, detach, snapshots, counters, draining), never
 * through its fields; the core includes no front. gateway.c makes the core,
 * the sockets and the fronts, and wires them together. Everything runs on
 * the loop's one thread: no locks. */
#ifndef OFFLOAD_CORE_H
#define OFFLOAD_CORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "config.h"
#include "detached.h"
#include "executors.h"
#include "failures.h"
#include "jobs.h"
#include "loop.h"
#include "queue.h"
#include "ready.h"
#include "stats.h"
#include "tally.h"
#include "trace.h"

typedef struct gw_core {
    const gateway_config *cfg;
    loop loop; /* the one event loop: its timers serve every module */
    queue_table queues;
    jobs jobs;
    detached detached; /* jobs nobody waits on (?wait=false, Idempotency-Key) */
    executors executors;
    gateway_stats stats;
    budget budget;     /* payload bytes held, against --max-held-bytes */
    failures failures; /* the last jobs answered with an error (--recent-failures) */
    uint64_t trims;    /* heap trims done (/v1/stats heap_trims; gateway.c counts) */
    uint64_t trim_us;  /* their time together (heap_trim_us) */
    int draining;      /* a signal arrived: finish what runs, take nothing new */
    int ready_last;    /* core_ready's last verdict: 1, 0, or -1 before the first */
    uint64_t started_us;

    /* For /metrics: jobs by queue, function and outcome; the HTTP
     * responses sent, by status (the HTTP front counts them). */
    tally tally;
    http_status_counts http_codes;
    trace_rng trace_rng; /* ids of the traces the gateway starts (core_trace) */
} gw_core;

/* Checks cfg (which must outlive c), makes the loop and every table, and
 * the queues --queue names; executors' messages go out through send(arg,
 * ...). Returns 0, or -1 with err saying what failed and what to do; c
 * then holds nothing. */
int core_init(gw_core *c, const gateway_config *cfg, executors_send_fn send, void *arg, char *err,
              size_t errlen);

/* Answers every job left with code and why (their callers' done runs). */
void core_answer_all(gw_core *c, int code, const char *why);

/* Frees every table and the loop (after core_answer_all). */
void core_close(gw_core *c);

/* ---- the API for the fronts ----------------------------------------- */

/* Submits a job (see jobs_submit: takes r->payload in every case; on 0
 * (CODE_OK) done is called exactly once, later, unless core_detach comes
 * first). While the gateway drains, refuses with no_executor. */
int core_submit(gw_core *c, job_request *r, job_done_fn done, void *arg, gw_job **out, char *err,
                size_t errlen);

/* The caller of job went away: done will not be called. */
void core_detach(gw_core *c, gw_job *job);

/* Detached jobs (detached.h): a submit that nobody waits on, and its
 * lookups. core_submit_detached refuses with no_executor while the
 * gateway drains, like core_submit. */
int core_submit_detached(gw_core *c, job_request *r, const char *key, detached_job **out,
                         int *existing, char *err, size_t errlen);
detached *core_detached(gw_core *c);

/* The byte budget (budget.h): a front takes what it is about to hold (an
 * HTTP body as it is received) and gives it back once it frees it or hands
 * it to core_submit, which takes it again for the job. */
budget *core_budget(gw_core *c);

/* The job's id (for logs and headers). */
uint64_t core_job_id(const gw_job *job);

/* The job's traceparent (version-00 form), "" when it has none; its
 * tracestate, NULL when none. */
const char *core_job_traceparent(const gw_job *job);
const char *core_job_tracestate(const gw_job *job);

/* Resolves a job's W3C trace context (common/trace.h) from what its
 * caller sent: HTTP's traceparent and tracestate headers, a Submit's
 * fields (NULL or "": not sent). A valid traceparent is kept (a later
 * version as its version-00 fields) with its tracestate, which is dropped
 * (counted in tracestate_dropped) unless it is 1..512 printable
 * characters. An invalid traceparent is not an error: it is counted
 * (trace_invalid) and, like a missing one, replaced by a new trace
 * (traces_started) without a tracestate, so every job's log lines carry a
 * trace_id. Fills *out (job_request.trace points at it). */
void core_trace(gw_core *c, const char *traceparent, const char *tracestate, trace_ctx *out);

/* The Retry-After, in seconds, for a caller refused by a full queue. */
unsigned core_retry_after(gw_core *c, const char *queue);

/* Makes queue name known for good (a --route names it: pinned, never
 * freed). Returns 0, or -1 when the name is invalid or too many queues
 * exist (--max-queues). */
int core_declare_queue(gw_core *c, const char *name);

/* True once a signal started the drain: fronts take no new work. */
int core_draining(const gw_core *c);

/* GET /readyz's verdict (ready.h) on the core's tables. A verdict that
 * differs from the last one is logged (event=ready / event=not_ready) and,
 * after the first, counted in readiness_changes. gateway.c calls it once a
 * second too, so a change is logged within a second without a probe. */
void core_ready(gw_core *c, ready_report *out);

/* Counts one event a front saw; core_count_add, n of them. */
void core_count(gw_core *c, gateway_counter counter);
void core_count_add(gw_core *c, gateway_counter counter, uint64_t n);

/* Counts one HTTP response sent with that status. */
void core_count_http_status(gw_core *c, unsigned status);

/* A copy of the HTTP responses counted, by status. */
void core_http_statuses(gw_core *c, http_status_counts *out);

/* Counts a job a front refused before submitting it (a body over
 * --max-payload, the memory budget) in the jobs' tally, as jobs_submit
 * counts its own refusals (jobs_count_refusal). */
void core_note_refused(gw_core *c, const char *queue, const char *function, int code);

/* Calls fn for every series of the jobs' tally (tally_each): jobs by
 * queue, function and outcome since the gateway started. fn must not call
 * into the core. */
void core_jobs_each(gw_core *c, tally_each_fn fn, void *arg);

/* One queue, as GET /v1/queues shows it. */
typedef struct queue_info {
    char name[CODEC_NAME_MAX + 1];
    uint32_t capacity, busy, available, executors;
    const char *kind; /* its executors' pools: "threads", "processes", "mixed",
                         or NULL (none) */
    uint64_t waiting, submitted, completed, failed, timeouts, rejected;
    uint64_t max_payload; /* the largest payload one of its executors takes
                             (Hello.max_payload, at most --max-payload); 0: none */
    hist wait, run;       /* its jobs' wait and run times since it was made (hist.h) */
} queue_info;

/* A copy of every queue's numbers: *out (malloc'd, the caller frees it)
 * holds *count entries. Returns 0 or -ENOMEM. */
int core_queues(gw_core *c, queue_info **out, size_t *count);

/* GET /v1/queues's JSON document ({"queues": [...], "executors": [...]}),
 * compact, malloc'd (the caller frees it); NULL when out of memory. The
 * clients socket's ListQueues answers the same. Each queue has "wait_us" and
 * "run_us": {"p50","p90","p99"} estimated from its histograms, or null before
 * its first job. core_queues_doc is the same document as a new jansson
 * object (the caller's reference; NULL when out of memory). */
char *core_queues_json(gw_core *c);
struct json_t *core_queues_doc(gw_core *c);

/* One pool of an executor, as its latest PoolStats told (core_executors). */
typedef struct pool_info {
    const char *kind; /* "threads" or "processes" (static strings) */
    uint32_t size, alive, busy;
    uint64_t respawns; /* worker processes started to replace one */
    uint64_t kills_deadline, kills_cancel, kills_memory, kills_recycle;
    uint64_t rss_bytes; /* the worker processes' resident memory; 0 for threads */
} pool_info;

/* One queue an executor declared, with its pool's numbers once known. */
typedef struct executor_queue_info {
    char name[CODEC_NAME_MAX + 1];
    int has_pool; /* 0 until the executor's first PoolStats naming it */
    pool_info pool;
} executor_queue_info;

/* One connected executor, as GET /v1/queues's "executors" shows it. */
typedef struct executor_info {
    char id[CODEC_ID_MAX + 1];
    const char *state;     /* "ready" or "draining" (static strings) */
    uint64_t last_seen_ms; /* since the gateway last heard from it */
    size_t nqueues;
    executor_queue_info *queues; /* its Hello's queues, in order; inside the
                                    same block as the array (one free) */
} executor_info;

/* A copy of every connected (live) executor, sorted by id: *out is one
 * malloc'd block (the caller free()s it, queues included) of *count
 * entries. Returns 0 or -ENOMEM (*out NULL). Loop thread, like all of the
 * core; what it returns is the caller's and stays valid after the turn
 * (a /metrics renderer walks it: offload_pool_* and offload_executors). */
int core_executors(gw_core *c, executor_info **out, size_t *count);

/* core_executors as the "executors" array of core_queues_json (docs/gateway.md):
 * a new jansson array (json_t) the caller owns; empty when out of memory. */
struct json_t *core_executors_json(gw_core *c);

/* The recent failures (failures.h), newest first: a JSON array, a new
 * reference (the caller's), or NULL when out of memory. */
json_t *core_failures_json(gw_core *c);

/* The gateway as GET /v1/stats shows it. */
typedef struct core_status {
    const char *id;
    uint64_t uptime_ms;
    size_t executors;
    size_t executors_draining; /* of those, draining (sent Drain) */
    size_t jobs_in_flight;
    uint64_t held_bytes, held_bytes_peak, max_held_bytes; /* budget.h */
    uint64_t loop_turn_max_us;                            /* the longest loop turn, wall time */
    uint64_t loop_turn_max_cpu_us;                        /* the most CPU time one turn took */
    uint64_t loop_stall_max_ms;                           /* the longest stall (loop_stalls) */
    uint64_t loop_read_max_bytes;                         /* the most one socket gave in one turn */
    gateway_stats counters;                               /* the loop_* ones filled from the loop */
} core_status;

void core_status_get(gw_core *c, core_status *out);

#endif
