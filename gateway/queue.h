/* queue.h -- jobs and the per-queue FIFOs they wait in.
 *
 * A queue is known once a --route or --queue names it (it is then pinned:
 * known for the gateway's life, so a queue whose executors all left answers
 * no_executor, not unknown_queue) or an executor declares it. An unpinned
 * queue is freed once nothing refers to it: no executor declares it (live,
 * draining or dead but not yet reaped) and no job of it exists (waiting,
 * running, abandoned). Jobs and executor slots hold a reference
 * (queue_ref / queue_unref); the last unref only marks the table, and
 * queue_table_reap, at the end of a loop turn, frees what is still
 * unreferenced, so a gw_queue pointer stays valid until the turn ends.
 * Jobs wait in their queue's FIFO until the dispatcher sends them to an
 * executor with a free slot. Loop thread only. */
#ifndef OFFLOAD_QUEUE_H
#define OFFLOAD_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "codec.h"
#include "hist.h"
#include "timers.h"
#include "trace.h"
#include "wire.h"

typedef struct gw_job gw_job;
typedef struct gw_queue gw_queue;
struct gw_executor;
struct exec_slot;
struct jobs;
struct queue_table;

/* A job's life (jobs.c makes every transition):
 *
 *   NEW -> WAITING -> RUNNING -> ENDED           its Result answered the caller
 *                  \-> ENDED                     deadline or detach while waiting
 *          RUNNING -> ABANDONED -> ENDED         caller answered early; Result frees
 *          RUNNING -> WAITING                    executor lost, retries left
 *          RUNNING, ABANDONED -> ENDED           executor lost
 */
typedef enum job_state {
    JOB_NEW,       /* created, not yet queued */
    JOB_WAITING,   /* in its queue's FIFO */
    JOB_RUNNING,   /* sent to an executor; its caller waits */
    JOB_ABANDONED, /* sent to an executor; its caller was answered (deadline)
                      or left. Kept until the executor's Result frees its slot */
    JOB_ENDED,     /* out of every table; freed next */
} job_state;

/* What a job ended with, handed to its origin's callback. Pointers are valid
 * only during the callback. */
typedef struct job_outcome {
    uint64_t job_id;
    int code;               /* Offload__Code */
    const uint8_t *payload; /* result bytes when code is OK */
    size_t len;
    const char *message; /* error message, or NULL */
    uint64_t waited_us, run_us;
    const char *traceparent; /* the job's trace context (version-00 form), or NULL / "" */
    const char *tracestate;  /* its tracestate, or NULL / "" */
} job_outcome;

/* Called once per job with its outcome, unless the job was detached first. */
typedef void (*job_done_fn)(gw_job *job, const job_outcome *out, void *arg);

struct gw_job {
    uint64_t id;
    gw_queue *queue;
    char function[CODEC_NAME_MAX + 1];
    uint8_t *payload; /* owned; kept while sent if the job may be retried */
    size_t payload_len;
    uint64_t created_us, deadline_us, sent_us;
    uint32_t retries;                       /* sends left after an executor loss */
    char traceparent[TRACE_PARENT_LEN + 1]; /* version-00 form, or "" (none) */
    char *tracestate;                       /* owned; NULL when none */
    job_state state;
    struct gw_executor *executor; /* RUNNING / ABANDONED */
    gw_job *prev, *next;          /* the queue's FIFO, while WAITING */
    gw_timer deadline;
    job_done_fn done; /* NULL once answered or detached */
    void *done_arg;
    struct jobs *owner; /* its table, for timer callbacks */
    UT_hash_handle hh;  /* jobs.by_id, from submit to its end */
};

struct gw_queue {
    char name[CODEC_NAME_MAX + 1];
    gw_job *head, *tail;
    size_t waiting;
    uint32_t capacity;         /* slots over live executors */
    uint32_t busy;             /* of those, holding a job */
    uint32_t executors;        /* live executors serving it */
    struct exec_slot *serving; /* their slots (fleet.c links them), so dispatch
                                  looks at this queue's executors only */
    uint32_t refs;             /* jobs and executor slots pointing here */
    int pinned;                /* named by --route or --queue: never freed */
    struct queue_table *table; /* its table, for the last unref */
    uint32_t limited;          /* of those, ones taking smaller payloads than the gateway
                                  (Hello.max_payload): only then are sizes compared */
    int deferred;              /* its dispatch stopped at the turn's budget (jobs.c) */
    uint64_t submitted, completed, failed, timeouts, rejected;
    long long max_waiting;     /* -1: the gateway's --max-waiting */
    double rate;               /* jobs finished per second, smoothed */
    uint64_t rate_window_us;   /* start of the window being counted */
    uint32_t rate_window_done; /* jobs finished in it */
    hist wait;                 /* answered jobs' time in the gateway (job_outcome.waited_us) */
    hist run;                  /* of those sent, their run time (job_outcome.run_us) */
    UT_hash_handle hh;
};

#define QUEUES_DEFAULT 1024  /* --max-queues' default */
#define QUEUES_CEILING 65536 /* --max-queues' largest value */

typedef struct queue_table {
    gw_queue *by_name; /* uthash head */
    size_t count;
    size_t max;     /* queues at most (--max-queues); 0: QUEUES_DEFAULT */
    int maybe_idle; /* an unpinned queue lost its last reference this turn */
    uint64_t freed; /* queues freed, ever */
} queue_table;

gw_queue *queue_find(queue_table *t, const char *name);

/* The queue of that name, created if needed (with no reference: take one,
 * or pin it, before the turn ends). NULL when out of memory, when the name
 * is invalid or when the table holds its max already. */
gw_queue *queue_get(queue_table *t, const char *name);

/* The table's bound (t->max, or QUEUES_DEFAULT). */
size_t queue_table_max(const queue_table *t);

/* A job or an executor slot starts / stops pointing at q. */
void queue_ref(gw_queue *q);
void queue_unref(gw_queue *q);

/* Frees every unpinned queue nothing refers to; a queue made by queue_get
 * this turn and not yet referenced is freed too. on_free (may be NULL) is
 * called with each queue just before it is freed. Returns how many were
 * freed. Call at the end of a loop turn, where no gw_queue pointer is
 * held. */
size_t queue_table_reap(queue_table *t, void (*on_free)(gw_queue *q, void *arg), void *arg);

void queue_table_free(queue_table *t); /* the queues must hold no jobs */

/* Counts a job that left an executor (any outcome) toward q's throughput,
 * a moving average over windows of about a second. */
void queue_note_done(gw_queue *q, uint64_t now_us);

/* Seconds a refused caller should wait before retrying: the time q needs
 * to work off what waits at its recent throughput, 1..300. */
unsigned queue_retry_after(const gw_queue *q);

/* Parses a --queue value "NAME" or "NAME:max-waiting=N" into name (a buffer
 * of CODEC_NAME_MAX + 1) and *max_waiting (-1 when not given). Returns 0 or
 * -1 with err set. */
int queue_parse_spec(const char *spec, char *name, long long *max_waiting, char *err,
                     size_t errlen);

/* FIFO operations. push and push_front set job->state to JOB_WAITING;
 * remove leaves the state to the caller, who moves the job on. */
void queue_push(gw_queue *q, gw_job *job);
void queue_push_front(gw_queue *q, gw_job *job);
gw_job *queue_peek(gw_queue *q);
void queue_remove(gw_queue *q, gw_job *job);

/* A new job in state JOB_NEW owning payload (taken: *payload is NULLed),
 * holding a reference on q until job_free. */
gw_job *job_new(uint64_t id, gw_queue *q, const char *function, uint8_t **payload, size_t len,
                uint64_t now_us, uint64_t deadline_us);
void job_free(gw_job *job);

#endif
