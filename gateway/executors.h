/* executors.h -- the gateway's side of the executor protocol: Hello and
 * Welcome, heartbeats both ways, liveness, Results, Drain and Goodbye,
 * PoolStats (kept per executor, fleet_set_pool_stats), and
 * the Job and Cancel messages the job life cycle sends (jobs_ops).
 *
 * Messages go out through a send callback, so the protocol runs in unit
 * tests without sockets. An executor found dead (silent, unreachable, or
 * gone with a Goodbye) is only marked (fleet_mark_dead) where it is found;
 * executors_reap, at the end of each loop turn, deals with its jobs and
 * frees it. Loop thread only. */
#ifndef OFFLOAD_EXECUTORS_H
#define OFFLOAD_EXECUTORS_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "fleet.h"
#include "jobs.h"
#include "stats.h"
#include "timers.h"
#include "wire.h"

/* Sends env to the peer at rid. Returns 0 or -errno (wire_send). */
typedef int (*executors_send_fn)(void *arg, const wire_rid *rid, codec_envelope *env);

typedef struct executors {
    fleet fleet;
    queue_table *queues;
    jobs *jobs;
    timers *timers;
    gateway_stats *stats;
    executors_send_fn send;
    void *send_arg;
    const char *gateway_id;        /* sent in Welcome */
    uint32_t default_heartbeat_ms; /* for executors whose Hello sets none */
    uint32_t default_liveness;
    fleet_limits limits;   /* what a Hello may ask; see executors_set_limits */
    gw_timer tick;         /* heartbeats and liveness */
    const struct zap *zap; /* with CURVE: the allow-list whose queues = lines
                              restrict executor keys; NULL: no CURVE */
} executors;

/* Sets up the protocol over the gateway's queues, jobs, timers and
 * counters (all must outlive x) and starts the heartbeat tick. */
void executors_init(executors *x, queue_table *queues, jobs *js, timers *ts, gateway_stats *stats,
                    executors_send_fn send, void *send_arg, const char *gateway_id,
                    uint32_t default_heartbeat_ms, uint32_t default_liveness);

/* The bounds a Hello is checked against (fleet_check_hello); one over any
 * of them is answered Refuse(REFUSE_LIMIT) naming the bound and its flag,
 * logged (event=hello_refused) and counted (hello_refused_limit). A
 * registered executor whose second Hello is refused keeps its first
 * declaration. executors_init sets no bound but the codec's. */
void executors_set_limits(executors *x, const fleet_limits *lim);

/* Handles one valid message from the peer at rid (the caller frees env). */
void executors_on_message(executors *x, const wire_rid *rid, codec_envelope *env);

/* Deals with every executor marked dead since the last call: its jobs are
 * retried or answered (jobs_executor_lost), it is logged and counted
 * (executors_lost, or executors_left after a Goodbye) and freed; then the
 * queues with retried jobs are dispatched, which may mark more executors
 * dead: those are reaped in the same call. Call once per loop turn, where
 * no executor pointer is held. */
void executors_reap(executors *x);

/* jobs_ops: send a Job (marks e dead when it cannot be reached) and a
 * Cancel. arg is the executors table. */
int executors_send_job(gw_executor *e, gw_job *job, void *arg);
void executors_send_cancel(gw_executor *e, gw_job *job, void *arg);

/* jobs_ops.waiting: jobs of q wait after a dispatch; tells each executor
 * of q that speaks Credit and was last told none waited (a Demand), so it
 * may give this gateway more slots. */
void executors_on_waiting(gw_queue *q, void *arg);

/* The allow-list changed (SIGHUP): marks dead every executor whose key is
 * no longer listed or may no longer serve a queue it declared. Its next
 * message gets Refuse(UNKNOWN), its next Hello Refuse(FORBIDDEN). */
void executors_recheck(executors *x);

/* Says Goodbye to every live executor (the gateway is stopping). */
void executors_goodbye(executors *x, const char *reason);

/* Live executors. */
size_t executors_count(const executors *x);

/* Stops the tick and frees every executor. Jobs must be closed first. */
void executors_close(executors *x);

#endif
