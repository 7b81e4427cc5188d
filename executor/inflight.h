/* inflight.h -- the executor's jobs in flight: every job from the Job a
 * gateway sent to its one Result. Loop thread only.
 *
 * A Job read from a link becomes an exec_job (executor_state.h): it keeps
 * the decoded envelope (so the payload is never copied), sits in the
 * in-flight table keyed by link + job id (job ids are per gateway) until
 * its pool hands it back, and ends in exactly one Result on the link it
 * came from (none if orphaned).
 *
 * Orphans. When a gateway forgets us (session.h), the jobs of that link
 * are "orphaned": taken out of the table, cancelled, and their Results
 * never sent -- the gateway that sent them has answered or retried them
 * already, and it would drop such a Result as unknown. They still hold
 * their pool's slots until they end.
 *
 * Holding. An older gateway (no credit in its Welcome) takes the declared
 * sizes as its credit: its jobs in flight count against the pool, but it
 * may be sent more than the pool has free, and the pool's FIFO absorbs
 * that, up to --max-pending jobs per queue beyond its pool size. Past that,
 * and for a payload over --max-payload, a Job is answered at once
 * (queue_full, payload_too_large) and never held: a gateway that floods the
 * executor costs it a Result per Job, not memory. */
#ifndef OFFLOAD_INFLIGHT_H
#define OFFLOAD_INFLIGHT_H

#include <stddef.h>

#include "executor_state.h"

/* Takes env (a Job) unless it answers at once: the job goes to its
 * queue's pool, or a Result says why not (payload_too_large, bad_request,
 * unknown_function, queue_full, ...). */
void inflight_on_job(executor *x, exec_link *l, codec_envelope *env);

/* Cancels the job of l's gateway that Cancel c names; its Result still
 * goes out when the pool hands it back. */
void inflight_on_cancel(executor *x, exec_link *l, const Offload__Cancel *c);

/* Orphans every job of link l (see Orphans above), and forgets its
 * allowances; why goes to the log. Returns how many it orphaned. */
size_t inflight_orphan(executor *x, exec_link *l, const char *why);

/* The loop's callback for the pools' results fd (arg: the executor):
 * sends the Result of every finished job and frees it. */
void inflight_on_results(void *arg);

/* Frees every job in the results list without a Result (executor_destroy,
 * once the pools are joined and every job is there). */
void inflight_free_finished(executor *x);

#endif
