/* dispatch.c -- see dispatch.h. */
#include "dispatch.h"

gw_executor *dispatch_pick(fleet *f, gw_queue *q, const char *function, size_t len)
{
    gw_executor *best = NULL;
    uint32_t best_free = 0;
    (void)f;
    if (q->busy >= q->capacity)
        return NULL;
    /* Only q's own executors: the cost does not grow with the rest of the
     * fleet (idle executors on other queues). */
    for (exec_slot *s = q->serving; s; s = s->qnext) {
        gw_executor *e = s->executor;
        if (s->busy >= s->size)
            continue;
        uint32_t free_slots = s->size - s->busy;
        if (free_slots < best_free ||
            (free_slots == best_free && best && e->jobs_sent >= best->jobs_sent))
            continue;
        if (!executor_accepts(e, len) || !slot_offers(s, function))
            continue;
        best = e;
        best_free = free_slots;
    }
    return best;
}

int dispatch_queue(fleet *f, gw_queue *q, dispatch_send_fn send, void *arg, size_t *budget)
{
    int sent = 0;
    gw_job *job;
    while ((!budget || *budget > 0) && (job = queue_peek(q)) != NULL) {
        gw_executor *e = dispatch_pick(f, q, job->function, job->payload_len);
        if (!e)
            break;
        size_t cost = job->payload_len + DISPATCH_JOB_COST; /* the send may free the payload */
        queue_remove(q, job);
        exec_slot *s = executor_slot(e, q);
        job->state = JOB_RUNNING;
        job->executor = e;
        s->busy++;
        q->busy++;
        e->inflight++;
        e->jobs_sent++;
        if (send(e, job, arg) < 0) {
            int dead = e->dead;
            dispatch_release(job);
            queue_push_front(q, job);
            if (dead)
                continue; /* e left the fleet: try the others */
            break;
        }
        sent++;
        if (budget)
            *budget = *budget > cost ? *budget - cost : 0;
    }
    return sent;
}

void dispatch_release(gw_job *job)
{
    gw_executor *e = job->executor;
    if (!e)
        return;
    exec_slot *s = executor_slot(e, job->queue);
    if (s && s->busy) {
        s->busy--;
        if (e->linked)
            job->queue->busy--;
    }
    e->inflight--;
    job->executor = NULL;
}
