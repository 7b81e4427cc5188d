/* core.h -- the gateway's core: the queues, every job from submit to its
 * one answer, detached jobs, the executor fleet and its protocol, the
 * byte budget and the counters, and the API the fronts call.
 *
 *   executors.c  the executor protocol and the fleet (fleet.c)
 *   jobs.c       every job from submit to its one answer (queue.c, dispatch.c)
 *   detached.c   jobs nobody waits on (?wait=false, Idempotency-Key)
 *   budget.c     payload bytes held, against --max-held-bytes
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
#include "stats.h"

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
    uint64_t started_us;
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

/* The Retry-After, in seconds, for a caller refused by a full queue. */
unsigned core_retry_after(gw_core *c, const char *queue);

/* Makes queue name known for good (a --route names it: pinned, never
 * freed). Returns 0, or -1 when the name is invalid or too many queues
 * exist (--max-queues). */
int core_declare_queue(gw_core *c, const char *name);

/* True once a signal started the drain: fronts take no new work. */
int core_draining(const gw_core *c);

/* Counts one event a front saw. */
void core_count(gw_core *c, gateway_counter counter);

/* One queue, as GET /v1/queues shows it. */
typedef struct queue_info {
    char name[CODEC_NAME_MAX + 1];
    uint32_t capacity, busy, available, executors;
    const char *kind; /* its executors' pools: "threads", "processes", "mixed",
                         or NULL (none) */
    uint64_t waiting, submitted, completed, failed, timeouts, rejected;
    uint64_t max_payload; /* the largest payload one of its executors takes
                             (Hello.max_payload, at most --max-payload); 0: none */
} queue_info;

/* A copy of every queue's numbers: *out (malloc'd, the caller frees it)
 * holds *count entries. Returns 0 or -ENOMEM. */
int core_queues(gw_core *c, queue_info **out, size_t *count);

/* GET /v1/queues's JSON document ({"queues": [...]}), compact, malloc'd
 * (the caller frees it); NULL when out of memory. The clients socket's
 * ListQueues answers the same. */
char *core_queues_json(gw_core *c);

/* The recent failures (failures.h), newest first: a JSON array, a new
 * reference (the caller's), or NULL when out of memory. */
json_t *core_failures_json(gw_core *c);

/* The live executors, brief: [{"id", "queues": [names], "state": "ready"
 * or "draining", "last_seen_ms": ms since it was last heard from,
 * "pools": []}], a new reference or NULL. What the dashboard shows when
 * core_queues_json carries no "executors" of its own. */
json_t *core_executors_brief(gw_core *c);

/* The gateway as GET /v1/stats shows it. */
typedef struct core_status {
    const char *id;
    uint64_t uptime_ms;
    size_t executors;
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
