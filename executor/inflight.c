/* inflight.c -- the jobs in flight, see inflight.h: owns the executor's
 * in-flight table (x->jobs), each job's exec_job, the per-queue counts of
 * what its pool holds, and the Results. */
#include "inflight.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allowance.h"
#include "clock.h"
#include "errors.h"
#include "outgoing.h"
#include "trace.h"

static void inflight_job_free(exec_job *job)
{
    free(job->pj.out.owned);
    codec_free(job->env);
    free(job);
}

/* Sends the Result of job job_id on l: payload for a code of CODE_OK,
 * message otherwise (NULL or "": none). */
static void inflight_send_result(executor *x, exec_link *l, uint64_t job_id, int code,
                                 const uint8_t *payload, size_t len, const char *message,
                                 uint64_t run_us)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Result r = OFFLOAD__RESULT__INIT;
    r.job_id = job_id;
    r.code = code;
    r.payload.data = (uint8_t *)payload;
    r.payload.len = len;
    r.message = message && *message ? (char *)message : NULL;
    r.run_us = run_us;
    env.body_case = OFFLOAD__ENVELOPE__BODY_RESULT;
    env.result = &r;
    if (outgoing_send(x, l, &env) == 0)
        x->stats.results++;
    else
        x->stats.results_unsent++;
}

size_t inflight_orphan(executor *x, exec_link *l, const char *why)
{
    exec_job *job, *tmp;
    size_t n = 0;
    HASH_ITER(hh, x->jobs, job, tmp)
    {
        if (job->key.link != l->index)
            continue;
        HASH_DEL(x->jobs, job);
        job->orphaned = 1;
        job->q->orphans++;
        pool_job_cancel(&job->pj);
        n++;
    }
    x->orphans += n;
    x->stats.orphaned += n;
    if (n)
        log_warn("event=jobs_orphaned gateway=%s jobs=%zu reason=%s", l->endpoint, n, why);
    /* The gateway forgot us: its allowances are void (its orphans count in
     * their queue's `other` while they run). */
    for (size_t i = 0; i < x->cfg->nqueues; i++)
        credit_forget(&x->queues[i].peers[l->index]);
    allowance_balance(x, NULL);
    return n;
}

static exec_queue *inflight_queue_find(executor *x, const char *queue)
{
    for (size_t i = 0; i < x->cfg->nqueues; i++)
        if (!strcmp(x->cfg->queues[i].name, queue))
            return &x->queues[i];
    return NULL;
}

static int inflight_queue_offers(const exec_queue *q, const char *function)
{
    for (size_t i = 0; i < q->nfunctions; i++)
        if (!strcmp(q->functions[i], function))
            return 1;
    return 0;
}

/* Answers a Job at once without holding it (see inflight.h: Holding). */
static void inflight_refuse_job(executor *x, exec_link *l, const Offload__Job *j, int code,
                                const char *reason, const char *msg)
{
    if (code == OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE)
        x->stats.refused_payload++;
    else
        x->stats.refused_pending++;
    if (exec_log_allowed(x))
        log_warn("event=job_refused gateway=%s job_id=%llu queue=%s reason=%s len=%zu "
                 "refused_payload=%llu refused_pending=%llu trace_id=%.32s message=\"%s\"",
                 l->endpoint, (unsigned long long)j->job_id, j->queue, reason, j->payload.len,
                 (unsigned long long)x->stats.refused_payload,
                 (unsigned long long)x->stats.refused_pending, trace_id(j->traceparent), msg);
    inflight_send_result(x, l, j->job_id, code, NULL, 0, msg, 0);
}

void inflight_on_job(executor *x, exec_link *l, codec_envelope *env)
{
    const Offload__Job *j = env->job;
    exec_key key = {.link = l->index, .zero = 0, .job_id = j->job_id};
    exec_job *job = NULL;
    char msg[256];
    x->stats.jobs++;

    HASH_FIND(hh, x->jobs, &key, sizeof(key), job);
    if (job) {
        /* A protocol error of the gateway; answering would end the job that
         * already runs under this id. */
        x->stats.duplicates++;
        if (exec_log_allowed(x))
            log_warn("event=job_dropped gateway=%s job_id=%llu reason=duplicate_job_id",
                     l->endpoint, (unsigned long long)j->job_id);
        codec_free(env);
        return;
    }
    if (j->payload.len > x->cfg->max_payload) {
        /* A gateway that knows our limit (Hello.max_payload) never sends
         * this; an older or misconfigured one gets the job answered, and
         * keeps the connection and its other jobs. */
        snprintf(msg, sizeof(msg),
                 "payload of %zu bytes is over the limit of executor %s: %zu bytes "
                 "(its --max-payload)",
                 j->payload.len, x->cfg->id, x->cfg->max_payload);
        inflight_refuse_job(x, l, j, OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE, "payload_too_large",
                            msg);
        codec_free(env);
        return;
    }
    exec_queue *q = inflight_queue_find(x, j->queue);
    if (!q) {
        snprintf(msg, sizeof(msg), "executor %s serves no queue '%s'", x->cfg->id, j->queue);
        inflight_send_result(x, l, j->job_id, OFFLOAD__CODE__CODE_BAD_REQUEST, NULL, 0, msg, 0);
        codec_free(env);
        return;
    }
    if (!inflight_queue_offers(q, j->function)) {
        snprintf(msg, sizeof(msg), "executor %s offers no function '%s' on queue '%s'", x->cfg->id,
                 j->function, j->queue);
        inflight_send_result(x, l, j->job_id, OFFLOAD__CODE__CODE_UNKNOWN_FUNCTION, NULL, 0, msg,
                             0);
        codec_free(env);
        return;
    }
    if (q->held >= q->limit) {
        snprintf(msg, sizeof(msg),
                 "executor %s holds %zu jobs of queue '%s' already (%u workers + %zu pending, "
                 "--max-pending); retry later",
                 x->cfg->id, q->held, j->queue, pool_size(q->pool), q->limit - pool_size(q->pool));
        inflight_refuse_job(x, l, j, OFFLOAD__CODE__CODE_QUEUE_FULL, "pending_full", msg);
        codec_free(env);
        return;
    }
    job = malloc(sizeof(*job));
    if (!job) {
        inflight_send_result(x, l, j->job_id, OFFLOAD__CODE__CODE_JOB_FAILED, NULL, 0,
                             "the executor is out of memory", 0);
        codec_free(env);
        return;
    }
    uint64_t deadline = j->timeout_ms ? clock_now_us() + (uint64_t)j->timeout_ms * 1000 : 0;
    const function_def *def = q->cfg->processes ? NULL : functions_get(x->functions, j->function);
    pool_job_init(&job->pj, def ? def->fn : NULL, j->payload.data, j->payload.len, deadline);
    job->pj.call.data = def ? def->data : NULL;
    job->pj.name = j->function;                /* the envelope, which the job keeps, owns it */
    job->pj.call.traceparent = j->traceparent; /* so are these */
    job->pj.call.tracestate = j->tracestate;
    job->key = key;
    job->q = q;
    job->env = env;
    job->orphaned = 0;
    HASH_ADD(hh, x->jobs, key, sizeof(key), job);
    if (pool_submit(q->pool, &job->pj) < 0) {
        HASH_DEL(x->jobs, job);
        inflight_send_result(x, l, j->job_id, OFFLOAD__CODE__CODE_CANCELLED, NULL, 0,
                             "the executor is stopping", 0);
        inflight_job_free(job);
        return;
    }
    q->held++;
    credit_peer *p = &q->peers[l->index];
    if (l->credit && p->inflight >= p->ceiling) {
        /* The gateway sent more than its allowance: a bug on one side. */
        x->stats.credit_overruns++;
        if (exec_log_allowed(x))
            log_warn("event=credit_overrun gateway=%s queue=%s inflight=%u allowance=%u "
                     "ceiling=%u credit_overruns=%llu",
                     l->endpoint, q->cfg->name, p->inflight, p->allow, p->ceiling,
                     (unsigned long long)x->stats.credit_overruns);
    }
    p->inflight++;
    if (q->held > q->held_max)
        q->held_max = q->held;
    if (q->held > pool_size(q->pool))
        q->fifo_waits++;
    if (!l->credit)
        allowance_balance(x, q); /* an older gateway's job takes a slot from the others */
    log_debug("event=job_start gateway=%s job_id=%llu queue=%s fn=%s len=%zu timeout_ms=%u "
              "waited_us=%llu trace_id=%.32s",
              l->endpoint, (unsigned long long)j->job_id, j->queue, j->function, j->payload.len,
              j->timeout_ms, (unsigned long long)j->waited_us, trace_id(j->traceparent));
}

void inflight_on_cancel(executor *x, exec_link *l, const Offload__Cancel *c)
{
    exec_key key = {.link = l->index, .zero = 0, .job_id = c->job_id};
    exec_job *job = NULL;
    HASH_FIND(hh, x->jobs, &key, sizeof(key), job);
    if (!job) {
        /* Finished already: its Result crossed the Cancel. */
        x->stats.cancels_unknown++;
        log_debug("event=cancel_unknown gateway=%s job_id=%llu", l->endpoint,
                  (unsigned long long)c->job_id);
        return;
    }
    if (c->deadline)
        pool_job_expire(&job->pj); /* counted as a deadline's kill (PoolStats) */
    else
        pool_job_cancel(&job->pj);
    log_debug("event=job_cancel gateway=%s job_id=%llu deadline=%d", l->endpoint,
              (unsigned long long)c->job_id, c->deadline);
}

/* Sends the Result of every finished job. */
static void inflight_send_results(executor *x)
{
    pool_job *pj = pool_results_take(x->results);
    while (pj) {
        pool_job *next = pj->next;
        exec_job *job = exec_job_of(pj);
        job->q->held--;
        if (job->orphaned) {
            x->orphans--;
            job->q->orphans--;
        } else {
            HASH_DEL(x->jobs, job);
            job->q->peers[job->key.link].inflight--;
            exec_link *l = x->links[job->key.link];
            int code = pj->code;
            const char *message = pj->out.message;
            char msg[128];
            if (code == OFFLOAD__CODE__CODE_OK && pj->out.len > x->cfg->max_payload) {
                snprintf(msg, sizeof(msg),
                         "the result of %zu bytes is over the limit of %zu (--max-payload)",
                         pj->out.len, x->cfg->max_payload);
                code = OFFLOAD__CODE__CODE_JOB_FAILED;
                message = msg;
            }
            int ok = code == OFFLOAD__CODE__CODE_OK;
            inflight_send_result(x, l, job->key.job_id, code, ok ? pj->out.data : NULL,
                                 ok ? pj->out.len : 0, ok ? NULL : message, pj->run_us);
            log_debug("event=job_done gateway=%s job_id=%llu queue=%s fn=%s code=%s "
                      "run_us=%llu len=%zu pid=%d trace_id=%.32s",
                      l->endpoint, (unsigned long long)job->key.job_id, job->env->job->queue,
                      job->env->job->function, code_name(code), (unsigned long long)pj->run_us,
                      ok ? pj->out.len : 0, pj->pid, trace_id(job->env->job->traceparent));
        }
        inflight_job_free(job);
        pj = next;
    }
    allowance_balance(x, NULL); /* slots freed: for the gateways that wait */
}

void inflight_on_results(void *arg)
{
    inflight_send_results(arg);
}

void inflight_free_finished(executor *x)
{
    pool_job *pj = pool_results_take(x->results);
    while (pj) {
        pool_job *next = pj->next;
        exec_job *job = exec_job_of(pj);
        if (!job->orphaned)
            HASH_DEL(x->jobs, job);
        inflight_job_free(job);
        pj = next;
    }
}
