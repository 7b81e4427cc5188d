/* jobs.h -- the life of every job, from submit to its one answer.
 *
 * A job is created by jobs_submit, waits in its queue's FIFO, is sent by
 * the dispatcher to an executor with a free slot, and ends in exactly one
 * of: its Result, its deadline, the loss of its executor (unless it has
 * retries left: then it goes back to the head of its queue), or its
 * caller's detach. Whatever ends it first answers the caller; a sent job
 * stays (ABANDONED) until its executor's Result frees the slot, so credit
 * always matches real capacity. queue.h draws the state machine.
 *
 * Sending a Job and a Cancel are callbacks (jobs_ops), so the whole life
 * cycle runs in unit tests without sockets. Loop thread only. */
#ifndef OFFLOAD_JOBS_H
#define OFFLOAD_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "failures.h"
#include "fleet.h"
#include "queue.h"
#include "stats.h"
#include "tally.h"
#include "timers.h"

#define JOBS_MAX_RETRIES 100

typedef struct jobs_ops {
    /* Sends job to e. Returns 0, or <0 when e cannot be reached: the sender
     * then marks e dead (fleet_mark_dead) and dispatch goes on with the
     * other executors; the job goes back to the head of its queue. */
    int (*send)(gw_executor *e, gw_job *job, void *arg);
    /* Asks e to stop job: its caller was answered or left. */
    void (*cancel)(gw_executor *e, gw_job *job, void *arg);
    /* Optional: jobs of q still wait after a dispatch (no executor had a
     * slot for the head): tell the executors that share their slots by
     * Credit (executors_on_waiting). */
    void (*waiting)(gw_queue *q, void *arg);
    void *arg;
} jobs_ops;

typedef struct jobs_limits {
    long long max_payload;        /* bytes */
    long long default_timeout_ms; /* for requests that set none */
    long long max_timeout_ms;
    long long max_waiting; /* per queue, unless the queue sets its own */
    long long default_retries;
    size_t turn_bytes; /* dispatch budget per loop turn (DISPATCH_JOB_COST per job
                          beside the payloads); 0: none */
} jobs_limits;

typedef struct jobs {
    gw_job *by_id; /* every job from submit to its end, uthash */
    size_t sent;   /* of those, on an executor (RUNNING, ABANDONED) */
    queue_table *queues;
    fleet *fleet;
    timers *timers;
    gateway_stats *stats;
    jobs_ops ops;
    jobs_limits limits;
    uint64_t next_id;
    /* Payload bytes held (NULL: no bound; set after jobs_init). A job holds
     * its payload_len while it keeps its payload: from submit until it is
     * sent for the last time (no retries left) or ends. */
    budget *budget;
    /* Jobs by queue, function and outcome (NULL: not counted; set after
     * jobs_init): every job submitted counts once, at its answer, its
     * refusal or its caller's detach ("cancelled"). */
    tally *tally;
    /* The recent failures (NULL: none kept; set after jobs_init): every job
     * answered with an error is recorded where it is answered. */
    failures *failures;
    size_t turn_left;   /* of limits.turn_bytes, for this turn's dispatches */
    int deferred;       /* some queue's dispatch stopped with it spent */
    uint64_t deferrals; /* times one did */
} jobs;

/* What a front asks for. */
typedef struct job_request {
    const char *queue;
    const char *function;
    uint8_t *payload; /* malloc'd; taken by jobs_submit in every case */
    size_t len;
    uint32_t timeout_ms;    /* 0: limits.default_timeout_ms */
    int retries;            /* <0: limits.default_retries */
    const trace_ctx *trace; /* the job's trace context (core_trace), copied; NULL: none */
} job_request;

/* Sets up the table over the gateway's queues, fleet, timers and counters
 * (all must outlive it). Job ids start at first_id + 1. */
void jobs_init(jobs *js, queue_table *queues, fleet *f, timers *ts, gateway_stats *stats,
               const jobs_ops *ops, const jobs_limits *limits, uint64_t first_id);

/* The end of a loop turn: queues whose dispatch stopped at the turn's
 * budget (limits.turn_bytes) are dispatched now, each from an equal share
 * of a new budget (at least one job each), and the next turn starts with a
 * whole one. Returns 1 if some queue stopped again: the loop should turn
 * again without waiting. */
int jobs_turn_end(jobs *js);

/* Validates r, creates its job and queues it (sending it at once if an
 * executor has a free slot). Takes r->payload (NULLs it) in every case. On
 * CODE_OK (0), done(job, outcome, arg) is called exactly once -- never from
 * inside this call -- unless jobs_detach comes first, and *out is the job.
 * Otherwise returns the Offload__Code that refused it (bad_request,
 * unknown_queue, unknown_function, payload_too_large, queue_full -- the
 * queue's --max-waiting, or the budget's --max-held-bytes -- and internal
 * when out of memory) with err set; done is never called. */
int jobs_submit(jobs *js, job_request *r, job_done_fn done, void *arg, gw_job **out, char *err,
                size_t errlen);

/* Counts a job refused before it was made (tally.h): a queue nobody
 * knows (or an invalid name) counts as queue and function "_unknown", a
 * function its queue's executors do not offer as function "_unknown".
 * jobs_submit counts its own refusals; the core and the fronts call this
 * for theirs (a drain, a body over --max-payload). */
void jobs_count_refusal(jobs *js, const char *queue, const char *function, int code);

/* The caller of job went away: done will not be called (the job counts as
 * "cancelled" in js->tally unless it was answered already). A waiting job
 * leaves its queue and is freed; a running one is cancelled on its
 * executor and freed at its Result. */
void jobs_detach(jobs *js, gw_job *job);

/* A Result from executor e. Answers the job's caller, frees its slot and
 * dispatches its queue. A Result for a job e does not run is dropped and
 * counted (results_unknown); one for an abandoned job, counted
 * (results_late). */
typedef struct job_result {
    uint64_t job_id;
    int code;
    const uint8_t *payload;
    size_t len;
    const char *message;
    uint64_t run_us;
} job_result;
void jobs_result(jobs *js, gw_executor *e, const job_result *r);

/* Executor e is dead (fleet_mark_dead): each job it ran goes back to the
 * head of its queue if it has retries left and time before its deadline,
 * or is answered executor_lost (abandoned ones are just freed). Nothing is
 * dispatched here: the caller dispatches (jobs_dispatch_all) once it has
 * dealt with every dead executor. Counts jobs_lost and jobs_retried, and
 * says how many of e's jobs were each. */
void jobs_executor_lost(jobs *js, gw_executor *e, const char *why, size_t *lost, size_t *retried);

/* Sends q's waiting jobs while executors have credit. */
void jobs_dispatch(jobs *js, gw_queue *q);

/* jobs_dispatch on every queue with waiting jobs. */
void jobs_dispatch_all(jobs *js);

/* True while some caller still waits on a job (queued or running). */
int jobs_open(const jobs *js);

/* Jobs sent and not yet back. */
size_t jobs_in_flight(const jobs *js);

/* The Retry-After, in seconds, for a caller refused by a full queue. */
unsigned jobs_retry_after(jobs *js, const char *queue);

/* The job of that id (any state but ENDED), or NULL. */
gw_job *jobs_find(const jobs *js, uint64_t id);

/* Answers every job left with code and message and frees them all. */
void jobs_close(jobs *js, int code, const char *message);

#endif
