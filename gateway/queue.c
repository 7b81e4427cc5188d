/* queue.c -- see queue.h. */
#include "queue.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

gw_queue *queue_find(queue_table *t, const char *name)
{
    gw_queue *q = NULL;
    HASH_FIND_STR(t->by_name, name, q);
    return q;
}

gw_queue *queue_get(queue_table *t, const char *name)
{
    gw_queue *q = queue_find(t, name);
    if (q)
        return q;
    if (t->count >= queue_table_max(t) || !codec_name_valid(name))
        return NULL;
    q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    strcpy(q->name, name);
    q->max_waiting = -1;
    q->table = t;
    HASH_ADD_STR(t->by_name, name, q);
    t->count++;
    t->maybe_idle = 1; /* freed at the turn's end unless referenced by then */
    return q;
}

size_t queue_table_max(const queue_table *t)
{
    return t->max ? t->max : QUEUES_DEFAULT;
}

void queue_ref(gw_queue *q)
{
    q->refs++;
}

void queue_unref(gw_queue *q)
{
    if (--q->refs == 0 && !q->pinned)
        q->table->maybe_idle = 1;
}

size_t queue_table_reap(queue_table *t, void (*on_free)(gw_queue *q, void *arg), void *arg)
{
    size_t n = 0;
    if (!t->maybe_idle)
        return 0;
    t->maybe_idle = 0;
    gw_queue *q, *tmp;
    HASH_ITER(hh, t->by_name, q, tmp)
    {
        if (q->refs || q->pinned)
            continue;
        /* Nothing refers to it: no job, so nothing waits; no slot. */
        if (on_free)
            on_free(q, arg);
        HASH_DEL(t->by_name, q);
        t->count--;
        t->freed++;
        free(q);
        n++;
    }
    return n;
}

void queue_table_free(queue_table *t)
{
    gw_queue *q, *tmp;
    HASH_ITER(hh, t->by_name, q, tmp)
    {
        HASH_DEL(t->by_name, q);
        free(q);
    }
    t->count = 0;
}

void queue_push(gw_queue *q, gw_job *job)
{
    job->state = JOB_WAITING;
    job->next = NULL;
    job->prev = q->tail;
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
    q->waiting++;
}

void queue_push_front(gw_queue *q, gw_job *job)
{
    job->state = JOB_WAITING;
    job->prev = NULL;
    job->next = q->head;
    if (q->head)
        q->head->prev = job;
    else
        q->tail = job;
    q->head = job;
    q->waiting++;
}

gw_job *queue_peek(gw_queue *q)
{
    return q->head;
}

void queue_remove(gw_queue *q, gw_job *job)
{
    if (job->prev)
        job->prev->next = job->next;
    else
        q->head = job->next;
    if (job->next)
        job->next->prev = job->prev;
    else
        q->tail = job->prev;
    job->prev = job->next = NULL;
    q->waiting--;
}

gw_job *job_new(uint64_t id, gw_queue *q, const char *function, uint8_t **payload, size_t len,
                uint64_t now_us, uint64_t deadline_us)
{
    gw_job *job = calloc(1, sizeof(*job));
    if (!job)
        return NULL;
    job->id = id;
    job->queue = q;
    queue_ref(q);
    snprintf(job->function, sizeof(job->function), "%s", function);
    job->payload = *payload;
    *payload = NULL;
    job->payload_len = len;
    job->created_us = now_us;
    job->deadline_us = deadline_us;
    job->state = JOB_NEW;
    return job;
}

void job_free(gw_job *job)
{
    if (!job)
        return;
    if (job->queue)
        queue_unref(job->queue);
    free(job->payload);
    free(job->tracestate);
    free(job);
}

void queue_note_done(gw_queue *q, uint64_t now_us)
{
    if (!q->rate_window_us)
        q->rate_window_us = now_us;
    q->rate_window_done++;
    uint64_t elapsed = now_us - q->rate_window_us;
    if (elapsed < 1000000)
        return;
    double r = (double)q->rate_window_done * 1e6 / (double)elapsed;
    q->rate = q->rate > 0 ? 0.5 * q->rate + 0.5 * r : r;
    q->rate_window_us = now_us;
    q->rate_window_done = 0;
}

unsigned queue_retry_after(const gw_queue *q)
{
    double rate = q->rate;
    if (rate <= 0 && q->rate_window_done)
        rate = q->rate_window_done; /* less than a second of history */
    if (rate <= 0)
        return 1;
    double s = (double)(q->waiting + 1) / rate;
    return s < 1 ? 1 : s > 300 ? 300 : (unsigned)(s + 0.999);
}

int queue_parse_spec(const char *spec, char *name, long long *max_waiting, char *err, size_t errlen)
{
    const char *colon = strchr(spec, ':');
    size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
    *max_waiting = -1;
    if (n == 0 || n > CODEC_NAME_MAX)
        goto bad;
    memcpy(name, spec, n);
    name[n] = '\0';
    if (!codec_name_valid(name))
        goto bad;
    if (!colon)
        return 0;
    const char *opt = colon + 1;
    if (strncmp(opt, "max-waiting=", 12) != 0)
        goto bad;
    char *end;
    errno = 0;
    long long v = strtoll(opt + 12, &end, 10);
    if (errno || *end || end == opt + 12 || v < 0 || v > 100000000)
        goto bad;
    *max_waiting = v;
    return 0;

bad:
    snprintf(err, errlen,
             "--queue '%.100s': expected NAME or NAME:max-waiting=N (a name is 1..%d "
             "characters of A-Z a-z 0-9 _ . -, N 0..100000000)",
             spec, CODEC_NAME_MAX);
    return -1;
}
