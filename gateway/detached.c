/* detached.c -- see detached.h. */
#include "detached.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

static void detached_sweep(gw_timer *t, void *arg);

void detached_init(detached *ds, jobs *js, timers *ts, const detached_limits *limits)
{
    memset(ds, 0, sizeof(*ds));
    ds->jobs = js;
    ds->timers = ts;
    ds->limits = *limits;
}

int detached_key_valid(const char *s)
{
    return codec_id_valid(s, DETACHED_KEY_MAX);
}

static size_t detached_bytes(const detached_job *d)
{
    return d->len + (d->message ? strlen(d->message) : 0) +
           (d->tracestate ? strlen(d->tracestate) : 0);
}

/* Removes d from every table and frees it. */
static void detached_drop(detached *ds, detached_job *d)
{
    HASH_DELETE(hh, ds->by_id, d);
    if (d->key[0])
        HASH_DELETE(hk, ds->by_key, d);
    if (d->ended) {
        if (d->prev)
            d->prev->next = d->next;
        else
            ds->ended_head = d->next;
        if (d->next)
            d->next->prev = d->prev;
        else
            ds->ended_tail = d->prev;
        ds->bytes -= detached_bytes(d);
    }
    for (detached_waiter *w = d->waiters; w; w = w->next)
        w->d = NULL;
    ds->count--;
    free(d->payload);
    free(d->message);
    free(d->tracestate);
    free(d);
}

static void detached_arm(detached *ds)
{
    if (ds->ended_head)
        timers_start(ds->timers, &ds->sweep,
                     ds->ended_head->ended_us + (uint64_t)ds->limits.ttl_ms * 1000, detached_sweep,
                     ds);
    else
        timers_stop(ds->timers, &ds->sweep);
}

/* Expires ended jobs past the TTL, oldest first. */
static void detached_sweep(gw_timer *t, void *arg)
{
    detached *ds = arg;
    (void)t;
    uint64_t now = clock_now_us(), ttl = (uint64_t)ds->limits.ttl_ms * 1000;
    while (ds->ended_head && ds->ended_head->ended_us + ttl <= now) {
        ds->expired++;
        detached_drop(ds, ds->ended_head);
    }
    detached_arm(ds);
}

/* Ends d with an outcome: keeps a copy, runs the waiters. */
static void detached_end(detached *ds, detached_job *d, const job_outcome *o)
{
    d->job = NULL;
    d->ended = 1;
    d->code = o->code;
    d->waited_us = o->waited_us;
    d->run_us = o->run_us;
    d->ended_us = clock_now_us();
    if (o->code == OFFLOAD__CODE__CODE_OK && o->len) {
        d->payload = malloc(o->len);
        if (d->payload) {
            memcpy(d->payload, o->payload, o->len);
            d->len = o->len;
        } else {
            d->code = OFFLOAD__CODE__CODE_INTERNAL;
            o = NULL;
        }
    }
    const char *msg = o ? o->message : "the gateway is out of memory for this result";
    if (msg && *msg)
        d->message = strdup(msg);
    /* The ended FIFO, and the byte budget: the oldest ended go first (never
     * d itself, which its waiters are about to read). */
    d->prev = ds->ended_tail;
    d->next = NULL;
    if (ds->ended_tail)
        ds->ended_tail->next = d;
    else
        ds->ended_head = d;
    ds->ended_tail = d;
    ds->bytes += detached_bytes(d);
    while (ds->bytes > (size_t)ds->limits.max_bytes && ds->ended_head != d) {
        ds->evicted++;
        detached_drop(ds, ds->ended_head);
    }
    if (!timer_active(&ds->sweep))
        detached_arm(ds);
    /* Waiters may remove themselves (or others) while called. */
    while (d->waiters) {
        detached_waiter *w = d->waiters;
        detached_unwait(w);
        w->fn(d, w->arg);
    }
}

static void detached_done(gw_job *job, const job_outcome *o, void *arg)
{
    detached_job *d = arg;
    (void)job;
    detached_end(d->owner, d, o);
}

int detached_submit(detached *ds, job_request *r, const char *key, detached_job **out,
                    int *existing, char *err, size_t errlen)
{
    *out = NULL;
    *existing = 0;
    if (key && *key) {
        detached_job *d = NULL;
        HASH_FIND(hk, ds->by_key, key, strlen(key), d);
        if (d) {
            free(r->payload);
            r->payload = NULL;
            *out = d;
            *existing = 1;
            return OFFLOAD__CODE__CODE_OK;
        }
    }
    if ((long long)ds->count >= ds->limits.max_jobs) {
        jobs_count_refusal(ds->jobs, r->queue, r->function, OFFLOAD__CODE__CODE_QUEUE_FULL);
        free(r->payload);
        r->payload = NULL;
        snprintf(err, errlen, "%zu detached jobs are kept, the limit (--max-detached); retry later",
                 ds->count);
        return OFFLOAD__CODE__CODE_QUEUE_FULL;
    }
    detached_job *d = calloc(1, sizeof(*d));
    if (!d) {
        jobs_count_refusal(ds->jobs, r->queue, r->function, OFFLOAD__CODE__CODE_INTERNAL);
        free(r->payload);
        r->payload = NULL;
        snprintf(err, errlen, "the gateway is out of memory");
        return OFFLOAD__CODE__CODE_INTERNAL;
    }
    d->owner = ds;
    snprintf(d->queue, sizeof(d->queue), "%s", r->queue);
    snprintf(d->function, sizeof(d->function), "%s", r->function);
    gw_job *job;
    int code = jobs_submit(ds->jobs, r, detached_done, d, &job, err, errlen);
    if (code != OFFLOAD__CODE__CODE_OK) {
        free(d);
        return code;
    }
    d->job = job;
    d->id = job->id;
    d->created_us = job->created_us;
    memcpy(d->traceparent, job->traceparent, sizeof(d->traceparent));
    if (job->tracestate)
        d->tracestate = strdup(job->tracestate); /* NULL when out of memory: none */
    HASH_ADD(hh, ds->by_id, id, sizeof(d->id), d);
    if (key && *key) {
        snprintf(d->key, sizeof(d->key), "%s", key);
        HASH_ADD_KEYPTR(hk, ds->by_key, d->key, strlen(d->key), d);
    }
    ds->count++;
    *out = d;
    return OFFLOAD__CODE__CODE_OK;
}

detached_job *detached_find(detached *ds, uint64_t id)
{
    detached_job *d = NULL;
    HASH_FIND(hh, ds->by_id, &id, sizeof(id), d);
    return d;
}

detached_state detached_state_of(const detached_job *d)
{
    if (!d->ended)
        return d->job && (d->job->state == JOB_RUNNING || d->job->state == JOB_ABANDONED)
                   ? DETACHED_RUNNING
                   : DETACHED_QUEUED;
    if (d->cancelled)
        return DETACHED_CANCELLED;
    return d->code == OFFLOAD__CODE__CODE_OK ? DETACHED_DONE : DETACHED_FAILED;
}

const char *detached_state_name(detached_state s)
{
    static const char *const names[] = {"queued", "running", "done", "failed", "cancelled"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

void detached_cancel(detached *ds, detached_job *d)
{
    if (d->ended)
        return;
    gw_job *job = d->job;
    job_outcome o = {.job_id = d->id,
                     .code = OFFLOAD__CODE__CODE_CANCELLED,
                     .message = "cancelled by its caller"};
    if (job->state == JOB_WAITING && job->created_us)
        o.waited_us = clock_now_us() - job->created_us;
    jobs_detach(ds->jobs, job); /* done is not called: the job is ours no more */
    d->cancelled = 1;
    detached_end(ds, d, &o);
}

void detached_wait(detached_job *d, detached_waiter *w, detached_wait_fn fn, void *arg)
{
    w->fn = fn;
    w->arg = arg;
    if (d->ended) {
        w->d = NULL;
        fn(d, arg);
        return;
    }
    w->d = d;
    w->prev = NULL;
    w->next = d->waiters;
    if (d->waiters)
        d->waiters->prev = w;
    d->waiters = w;
}

void detached_unwait(detached_waiter *w)
{
    detached_job *d = w->d;
    if (!d)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        d->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->d = NULL;
}

void detached_free(detached *ds)
{
    timers_stop(ds->timers, &ds->sweep);
    detached_job *d, *tmp;
    HASH_ITER(hh, ds->by_id, d, tmp)
    {
        if (d->job)
            d->job->done = NULL; /* never called: the store is going */
        detached_drop(ds, d);
    }
}
