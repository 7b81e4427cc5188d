/* jobs.c -- see jobs.h. */
#include "jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dispatch.h"
#include "errors.h"
#include "log.h"

/* Unknown Results are logged in a few lines a second; every one counts. */
static log_limiter jobs_limiter;

/* Counts the job's outcome (tally.h) once, at its answer or its detach. */
static void job_count(gw_job *job, int code)
{
    jobs *js = job->owner;
    if (js && js->tally)
        tally_add(js->tally, job->queue->name, job->function, code);
}

/* Answers the job's caller, once, and records its times in its queue's
 * histograms: the wait always, the run when it ran (a Result, a deadline
 * or a loss while on an executor); a failure is recorded then, with e, the
 * executor that ran it (or NULL). */
static void job_answer_from(gw_job *job, job_outcome *out, int ran, const gw_executor *e)
{
    job_done_fn done = job->done;
    if (!done)
        return;
    job->done = NULL;
    out->job_id = job->id;
    job_count(job, out->code);
    hist_observe(&job->queue->wait, out->waited_us);
    if (ran)
        hist_observe(&job->queue->run, out->run_us);
    out->traceparent = job->traceparent;
    out->tracestate = job->tracestate;
    log_debug("event=job_answered job_id=%llu queue=%s fn=%s code=%s waited_us=%llu run_us=%llu "
              "trace_id=%.32s",
              (unsigned long long)job->id, job->queue->name, job->function, code_name(out->code),
              (unsigned long long)out->waited_us, (unsigned long long)out->run_us,
              trace_id(job->traceparent));
    if (out->code != OFFLOAD__CODE__CODE_OK && job->owner && job->owner->failures)
        failures_add(job->owner->failures, job->id, out->code, job->queue->name, job->function,
                     e ? e->id : NULL, out->message, out->waited_us, out->run_us);
    done(job, out, job->done_arg);
}

static void job_answer(gw_job *job, job_outcome *out, int ran)
{
    job_answer_from(job, out, ran, job->executor);
}

static void job_answer_error(gw_job *job, int code, const char *message, uint64_t now)
{
    job_outcome out = {.code = code, .message = message, .waited_us = now - job->created_us};
    job_answer(job, &out, 0);
}

/* Frees the job's payload and gives its bytes back to the budget. */
static void job_drop_payload(jobs *js, gw_job *job)
{
    if (job->payload && js->budget)
        budget_give(js->budget, job->payload_len);
    free(job->payload);
    job->payload = NULL;
    job->payload_len = 0;
}

/* Ends a job that is on no executor (any more): out of its queue, its
 * deadline stopped, freed. */
static void job_end(jobs *js, gw_job *job)
{
    timers_stop(js->timers, &job->deadline);
    job_drop_payload(js, job);
    if (job->state == JOB_WAITING)
        queue_remove(job->queue, job);
    HASH_DEL(js->by_id, job);
    job->state = JOB_ENDED;
    job_free(job);
}

/* Takes a sent job off its executor: its slot is freed. */
static void job_unsend(jobs *js, gw_job *job)
{
    js->sent--;
    dispatch_release(job);
}

/* A sent job's caller is answered but its executor still runs it: keep the
 * job (and its slot) until the Result, and ask the executor to stop. */
static void job_abandon(jobs *js, gw_job *job)
{
    timers_stop(js->timers, &job->deadline);
    job->state = JOB_ABANDONED;
    job->done = NULL;
    js->ops.cancel(job->executor, job, js->ops.arg);
}

/* True (with msg set) when no live executor of q takes a payload of len
 * bytes, though some serve q. O(1) unless one of them takes less than the
 * gateway (fleet_queue_max_payload). */
static int jobs_over_executors(jobs *js, gw_queue *q, size_t len, char *msg, size_t msglen)
{
    if (!q->limited || !q->executors)
        return 0;
    uint64_t max = fleet_queue_max_payload(js->fleet, q);
    if (len <= max)
        return 0;
    snprintf(msg, msglen,
             "payload of %zu bytes is over the limit of every executor of queue '%s': the "
             "largest takes %llu bytes (their --max-payload)",
             len, q->name, (unsigned long long)max);
    stats_inc(js->stats, STAT_jobs_over_executor_limit);
    return 1;
}

static void job_deadline(gw_timer *t, void *arg)
{
    gw_job *job = arg;
    jobs *js = job->owner;
    gw_queue *q = job->queue;
    uint64_t now = clock_now_us();
    char msg[256];
    (void)t;
    if (job->state == JOB_WAITING) {
        if (q->executors == 0) {
            snprintf(msg, sizeof(msg),
                     "no executor serves queue '%s'; start one with "
                     "offload-executor --queue %s=threads:N",
                     q->name, q->name);
            job_answer_error(job, OFFLOAD__CODE__CODE_NO_EXECUTOR, msg, now);
        } else if (jobs_over_executors(js, q, job->payload_len, msg, sizeof(msg))) {
            /* The executors that took it left while it waited. */
            q->failed++;
            job_answer_error(job, OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE, msg, now);
        } else {
            snprintf(msg, sizeof(msg),
                     "deadline passed after %llu ms waiting in queue '%s' (%u slots, all busy)",
                     (unsigned long long)((now - job->created_us) / 1000), q->name, q->capacity);
            q->timeouts++;
            job_answer_error(job, OFFLOAD__CODE__CODE_TIMEOUT, msg, now);
        }
        job_end(js, job);
    } else if (job->state == JOB_RUNNING) {
        snprintf(msg, sizeof(msg), "deadline passed after %llu ms (%llu ms running on %s)",
                 (unsigned long long)((now - job->created_us) / 1000),
                 (unsigned long long)((now - job->sent_us) / 1000), job->executor->id);
        q->timeouts++;
        job_outcome out = {.code = OFFLOAD__CODE__CODE_TIMEOUT,
                           .message = msg,
                           .waited_us = job->sent_us - job->created_us,
                           .run_us = now - job->sent_us};
        job_answer(job, &out, 1);
        job_abandon(js, job);
    }
}

void jobs_init(jobs *js, queue_table *queues, fleet *f, timers *ts, gateway_stats *stats,
               const jobs_ops *ops, const jobs_limits *limits, uint64_t first_id)
{
    memset(js, 0, sizeof(*js));
    js->queues = queues;
    js->fleet = f;
    js->timers = ts;
    js->stats = stats;
    js->ops = *ops;
    js->limits = *limits;
    js->next_id = first_id;
    js->turn_left = limits->turn_bytes;
}

/* Sends through the ops; on success the job joins the table by id. */
static int jobs_send(gw_executor *e, gw_job *job, void *arg)
{
    jobs *js = arg;
    uint64_t now = clock_now_us();
    job->sent_us = now;
    if (js->ops.send(e, job, js->ops.arg) < 0)
        return -1;
    js->sent++;
    if (!job->retries)
        job_drop_payload(js, job); /* it travelled and will not be sent again */
    return 0;
}

void jobs_dispatch(jobs *js, gw_queue *q)
{
    char msg[256];
    size_t *budget = js->limits.turn_bytes ? &js->turn_left : NULL;
    for (;;) {
        dispatch_queue(js->fleet, q, jobs_send, js, budget);
        if (budget && !*budget && queue_peek(q)) {
            /* The rest waits for the end of the turn (jobs_turn_end). */
            if (!q->deferred)
                js->deferrals++;
            q->deferred = 1;
            js->deferred = 1;
        }
        /* A head no executor left can take would block the queue until its
         * deadline: answer it now. Only where some executor takes less than
         * the gateway (q->limited). */
        gw_job *head = q->limited ? queue_peek(q) : NULL;
        if (!head || !jobs_over_executors(js, q, head->payload_len, msg, sizeof(msg))) {
            if (q->waiting && js->ops.waiting)
                js->ops.waiting(q, js->ops.arg);
            return;
        }
        q->failed++;
        job_answer_error(head, OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE, msg, clock_now_us());
        job_end(js, head);
    }
}

int jobs_turn_end(jobs *js)
{
    if (!js->limits.turn_bytes)
        return 0;
    size_t n = 0;
    gw_queue *q, *tmp;
    if (js->deferred) {
        HASH_ITER(hh, js->queues->by_name, q, tmp)
        {
            n += q->deferred != 0;
        }
    }
    js->deferred = 0;
    if (n) {
        size_t share = js->limits.turn_bytes / n;
        HASH_ITER(hh, js->queues->by_name, q, tmp)
        {
            if (!q->deferred)
                continue;
            q->deferred = 0;
            js->turn_left = share ? share : 1;
            jobs_dispatch(js, q);
        }
    }
    js->turn_left = js->limits.turn_bytes;
    return js->deferred;
}

void jobs_dispatch_all(jobs *js)
{
    gw_queue *q, *tmp;
    HASH_ITER(hh, js->queues->by_name, q, tmp)
    {
        if (q->waiting)
            jobs_dispatch(js, q);
    }
}

static long long jobs_max_waiting(const jobs *js, const gw_queue *q)
{
    return q->max_waiting >= 0 ? q->max_waiting : js->limits.max_waiting;
}

unsigned jobs_retry_after(jobs *js, const char *queue)
{
    gw_queue *q = queue_find(js->queues, queue);
    return q ? queue_retry_after(q) : 1;
}

/* The code that refuses r, with err set, or CODE_OK. */
static int jobs_check(jobs *js, const job_request *r, gw_queue *q, char *err, size_t errlen)
{
    const jobs_limits *lim = &js->limits;
    if (!codec_name_valid(r->queue) || !codec_name_valid(r->function)) {
        snprintf(err, errlen,
                 "invalid queue or function name: use 1..%d characters of A-Z a-z 0-9 _ . -",
                 CODEC_NAME_MAX);
        return OFFLOAD__CODE__CODE_BAD_REQUEST;
    }
    if (!q) {
        snprintf(err, errlen,
                 "no queue '%s': no executor has declared it and no --route or --queue names it",
                 r->queue);
        return OFFLOAD__CODE__CODE_UNKNOWN_QUEUE;
    }
    if (q->executors && !fleet_queue_offers(js->fleet, q, r->function)) {
        snprintf(err, errlen, "no executor of queue '%s' offers function '%s'", r->queue,
                 r->function);
        return OFFLOAD__CODE__CODE_UNKNOWN_FUNCTION;
    }
    if ((long long)r->len > lim->max_payload) {
        snprintf(err, errlen, "payload of %zu bytes is over the limit of %lld (--max-payload)",
                 r->len, lim->max_payload);
        return OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE;
    }
    if (jobs_over_executors(js, q, r->len, err, errlen))
        return OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE;
    if (r->timeout_ms > lim->max_timeout_ms) {
        snprintf(err, errlen, "timeout of %u ms is over the limit of %lld (--max-timeout-ms)",
                 r->timeout_ms, lim->max_timeout_ms);
        return OFFLOAD__CODE__CODE_BAD_REQUEST;
    }
    if (r->retries > JOBS_MAX_RETRIES) {
        snprintf(err, errlen, "retries of %d is over the limit of %d", r->retries,
                 JOBS_MAX_RETRIES);
        return OFFLOAD__CODE__CODE_BAD_REQUEST;
    }
    if ((long long)q->waiting >= jobs_max_waiting(js, q) && q->busy >= q->capacity) {
        snprintf(err, errlen, "queue '%s' is full: %zu jobs waiting (--max-waiting %lld)", r->queue,
                 q->waiting, jobs_max_waiting(js, q));
        q->rejected++;
        return OFFLOAD__CODE__CODE_QUEUE_FULL;
    }
    if (js->budget && budget_take(js->budget, r->len, "job") < 0) {
        budget_refusal(js->budget, r->len, err, errlen);
        q->rejected++;
        return OFFLOAD__CODE__CODE_QUEUE_FULL;
    }
    return OFFLOAD__CODE__CODE_OK;
}

int jobs_submit(jobs *js, job_request *r, job_done_fn done, void *arg, gw_job **out, char *err,
                size_t errlen)
{
    *out = NULL;
    gw_queue *q = codec_name_valid(r->queue) ? queue_find(js->queues, r->queue) : NULL;
    int code = jobs_check(js, r, q, err, errlen);
    if (code != OFFLOAD__CODE__CODE_OK) {
        jobs_count_refusal(js, r->queue, r->function, code);
        free(r->payload);
        r->payload = NULL;
        return code;
    }

    uint64_t now = clock_now_us();
    uint64_t timeout_ms = r->timeout_ms ? r->timeout_ms : (uint64_t)js->limits.default_timeout_ms;
    gw_job *job =
        job_new(js->next_id + 1, q, r->function, &r->payload, r->len, now, now + timeout_ms * 1000);
    if (!job || timers_start(js->timers, &job->deadline, job->deadline_us, job_deadline, job) < 0) {
        if (js->budget)
            budget_give(js->budget, r->len); /* taken by jobs_check */
        job_free(job);
        free(r->payload);
        r->payload = NULL;
        snprintf(err, errlen, "the gateway is out of memory; retry later");
        return OFFLOAD__CODE__CODE_INTERNAL;
    }
    if (r->trace && r->trace->parent[0]) {
        memcpy(job->traceparent, r->trace->parent, sizeof(job->traceparent));
        /* Out of memory for it: the job goes on without its tracestate. */
        if (r->trace->state[0])
            job->tracestate = strdup(r->trace->state);
    }
    js->next_id++;
    HASH_ADD(hh, js->by_id, id, sizeof(job->id), job);
    job->owner = js;
    job->retries = (uint32_t)(r->retries < 0 ? js->limits.default_retries : r->retries);
    job->done = done;
    job->done_arg = arg;
    q->submitted++;
    log_debug("event=job_submitted job_id=%llu queue=%s fn=%s len=%zu timeout_ms=%llu "
              "trace_id=%.32s",
              (unsigned long long)job->id, q->name, job->function, r->len,
              (unsigned long long)timeout_ms, trace_id(job->traceparent));
    queue_push(q, job);
    jobs_dispatch(js, q);
    *out = job;
    return OFFLOAD__CODE__CODE_OK;
}

void jobs_count_refusal(jobs *js, const char *queue, const char *function, int code)
{
    if (!js->tally)
        return;
    gw_queue *q = queue && codec_name_valid(queue) ? queue_find(js->queues, queue) : NULL;
    if (!q)
        queue = function = TALLY_UNKNOWN;
    else if (code == OFFLOAD__CODE__CODE_UNKNOWN_FUNCTION || !function ||
             !codec_name_valid(function))
        function = TALLY_UNKNOWN;
    tally_add(js->tally, queue, function, code);
}

void jobs_detach(jobs *js, gw_job *job)
{
    if (job->done)
        job_count(job, OFFLOAD__CODE__CODE_CANCELLED); /* its caller left or cancelled it */
    job->done = NULL;
    if (job->state == JOB_RUNNING)
        job_abandon(js, job);
    else if (job->state == JOB_WAITING)
        job_end(js, job);
}

void jobs_result(jobs *js, gw_executor *e, const job_result *r)
{
    gw_job *job = jobs_find(js, r->job_id);
    uint64_t id = r->job_id;
    if (!job || job->executor != e) {
        stats_inc(js->stats, STAT_results_unknown);
        if (log_limiter_allow(&jobs_limiter, 5))
            log_warn("event=result_dropped executor=%s job_id=%llu reason=unknown_job", e->id,
                     (unsigned long long)id);
        return;
    }
    job_unsend(js, job);
    gw_queue *q = job->queue;
    queue_note_done(q, clock_now_us());
    if (job->state == JOB_RUNNING) {
        job_outcome out = {.code = r->code,
                           .payload = r->payload,
                           .len = r->len,
                           .message = r->message && *r->message ? r->message : NULL,
                           .waited_us = job->sent_us - job->created_us,
                           .run_us = r->run_us};
        char msg[CODEC_ID_MAX + 128];
        if (out.code == OFFLOAD__CODE__CODE_OK && (long long)out.len > js->limits.max_payload) {
            /* The frame limit leaves room for the envelope: the payload
             * itself is held to --max-payload, as requests are. */
            snprintf(msg, sizeof(msg),
                     "executor %s returned %zu bytes, over the limit of %lld (--max-payload)",
                     e->id, out.len, js->limits.max_payload);
            out = (job_outcome){.code = OFFLOAD__CODE__CODE_JOB_FAILED,
                                .message = msg,
                                .waited_us = out.waited_us,
                                .run_us = out.run_us};
        }
        if (out.code == OFFLOAD__CODE__CODE_OK)
            q->completed++;
        else
            q->failed++;
        job_answer_from(job, &out, 1, e); /* job_unsend took its executor */
    } else {
        stats_inc(js->stats, STAT_results_late);
    }
    job_end(js, job);
    jobs_dispatch(js, q);
}

void jobs_executor_lost(jobs *js, gw_executor *e, const char *why, size_t *lost_out,
                        size_t *retried_out)
{
    gw_job *job, *tmp;
    uint64_t now = clock_now_us();
    size_t lost = 0, retried = 0;
    char msg[256];
    snprintf(msg, sizeof(msg), "executor %s was lost (%s) while running the job", e->id, why);
    HASH_ITER(hh, js->by_id, job, tmp)
    {
        if (job->executor != e)
            continue; /* set only while RUNNING or ABANDONED */
        job_unsend(js, job);
        if (job->state == JOB_RUNNING && job->retries && job->deadline_us > now) {
            job->retries--;
            queue_push_front(job->queue, job);
            retried++;
            continue;
        }
        if (job->state == JOB_RUNNING) {
            job_outcome out = {.code = OFFLOAD__CODE__CODE_EXECUTOR_LOST,
                               .message = msg,
                               .waited_us = job->sent_us - job->created_us,
                               .run_us = now - job->sent_us};
            job->queue->failed++;
            job_answer_from(job, &out, 1, e);
            lost++;
        }
        job_end(js, job);
    }
    stats_add(js->stats, STAT_jobs_lost, lost);
    stats_add(js->stats, STAT_jobs_retried, retried);
    *lost_out = lost;
    *retried_out = retried;
}

int jobs_open(const jobs *js)
{
    gw_job *job, *jtmp;
    HASH_ITER(hh, js->by_id, job, jtmp)
    {
        if (job->done)
            return 1;
    }
    return 0;
}

size_t jobs_in_flight(const jobs *js)
{
    return js->sent;
}

void jobs_close(jobs *js, int code, const char *message)
{
    uint64_t now = clock_now_us();
    gw_job *job, *tmp;
    HASH_ITER(hh, js->by_id, job, tmp)
    {
        if (job->executor)
            job_unsend(js, job);
        job_answer_error(job, code, message, now);
        job_end(js, job);
    }
}

gw_job *jobs_find(const jobs *js, uint64_t id)
{
    gw_job *job = NULL;
    HASH_FIND(hh, js->by_id, &id, sizeof(id), job);
    return job;
}
