/* dispatch.h -- pairs waiting jobs with executors that have credit.
 *
 * Jobs wait in the gateway, never inside a busy executor: a job is sent
 * only to an executor with a free slot for its queue, the one with the most
 * free slots first (ties: the one that has done the fewest jobs), so an
 * idle executor is never starved by a busy one's backlog. The sending is a
 * callback so the logic is tested without sockets. Loop thread only. */
#ifndef OFFLOAD_DISPATCH_H
#define OFFLOAD_DISPATCH_H

#include "fleet.h"
#include "queue.h"

/* Sends job to e. Returns 0, or <0 if it could not be sent: the job is then
 * put back at the head of its queue, and dispatching goes on with the other
 * executors if the sender marked e dead (fleet_mark_dead), or stops. */
typedef int (*dispatch_send_fn)(gw_executor *e, gw_job *job, void *arg);

/* The executor to run a job of function with a payload of len bytes on q
 * now, or NULL if none has a free slot (or none that has one offers the
 * function and takes that payload: Hello.max_payload). */
gw_executor *dispatch_pick(fleet *f, gw_queue *q, const char *function, size_t len);

/* What sending one job costs a dispatch budget beyond its payload bytes. */
#define DISPATCH_JOB_COST 4096

/* Sends waiting jobs of q, head first, while an executor has credit. Each
 * sent job is RUNNING on its executor, counted busy on the slot, the queue
 * and the executor. Stops at the first job nobody can take now (FIFO: a
 * payload only some executors take waits for one of them, and the jobs
 * behind it wait too), or with *budget spent: each job sent takes its
 * payload length plus DISPATCH_JOB_COST from it, and one is sent whenever
 * it is not 0 (NULL: no budget). Returns the number of jobs sent. */
int dispatch_queue(fleet *f, gw_queue *q, dispatch_send_fn send, void *arg, size_t *budget);

/* Gives back the credit of a job that left its executor (Result, loss):
 * the reverse of what dispatch_queue did. */
void dispatch_release(gw_job *job);

#endif
