/* pool.c -- see pool.h. */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "codec.h"
#include "offload.pb-c.h"

struct pool_results {
    pthread_mutex_t mu;
    pool_job *head, *tail;
    int fd; /* eventfd: written when the list goes from empty to non-empty */
};

typedef struct pool_worker {
    pool *pool;
    pthread_t tid;
    unsigned index;
    pool_job *current; /* the job it runs; under pool.mu */
} pool_worker;

/* How many times an idle worker yields before it sleeps on the condvar, and
 * how many idle workers of a pool may do so at once (the others sleep at
 * once, so a burst of finished blocking jobs does not turn into a crowd of
 * yielding threads). */
#define POOL_SPIN_YIELDS 50
#define POOL_SPINNERS 16

struct pool {
    char name[CODEC_NAME_MAX + 1];
    pool_results *results;
    pthread_mutex_t mu;
    pthread_cond_t work;  /* a job was queued, or stop was set */
    pthread_cond_t ready; /* a worker started (the start-up handshake) */
    pool_job *head, *tail;
    size_t queued, running;
    size_t spinning; /* idle workers yielding before they sleep */
    unsigned nthreads, started;
    int stop;
    pool_worker *workers;
};

/* ---- jobs and results --------------------------------------------------- */

void pool_job_init(pool_job *job, function_fn fn, const uint8_t *payload, size_t len,
                   uint64_t deadline_us)
{
    memset(job, 0, sizeof(*job));
    job->fn = fn;
    job->call.payload = payload;
    job->call.len = len;
    job->call.deadline_us = deadline_us;
    job->call.cancelled = &job->cancelled;
    atomic_init(&job->cancelled, 0);
}

void pool_job_cancel(pool_job *job)
{
    atomic_store_explicit(&job->cancelled, 1, memory_order_relaxed);
}

pool_results *pool_results_new(void)
{
    pool_results *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->fd < 0) {
        int e = errno;
        free(r);
        errno = e;
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void pool_results_destroy(pool_results **rp)
{
    pool_results *r = *rp;
    if (!r)
        return;
    close(r->fd);
    pthread_mutex_destroy(&r->mu);
    free(r);
    *rp = NULL;
}

int pool_results_fd(const pool_results *r)
{
    return r->fd;
}

/* Appends a finished job; one wake-up per empty-to-non-empty transition,
 * however many jobs finish before the loop takes them. */
static void pool_results_push(pool_results *r, pool_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&r->mu);
    int was_empty = r->head == NULL;
    if (r->tail)
        r->tail->next = job;
    else
        r->head = job;
    r->tail = job;
    pthread_mutex_unlock(&r->mu);
    if (was_empty) {
        uint64_t one = 1;
        ssize_t n = write(r->fd, &one, sizeof(one));
        (void)n; /* only fails when the counter would overflow: still readable */
    }
}

pool_job *pool_results_take(pool_results *r)
{
    /* Reset the eventfd before taking the list: a job pushed in between is
     * either taken now or writes the eventfd again, so none is stranded. */
    uint64_t n;
    ssize_t rc = read(r->fd, &n, sizeof(n));
    (void)rc; /* EAGAIN: nothing signalled */
    pthread_mutex_lock(&r->mu);
    pool_job *list = r->head;
    r->head = r->tail = NULL;
    pthread_mutex_unlock(&r->mu);
    return list;
}

/* ---- workers ------------------------------------------------------------ */

static void pool_run(pool_job *job)
{
    uint64_t now = clock_now_us();
    if (atomic_load_explicit(&job->cancelled, memory_order_relaxed)) {
        job->code = OFFLOAD__CODE__CODE_CANCELLED;
        snprintf(job->out.message, sizeof(job->out.message), "cancelled before it started");
        return;
    }
    if (job->call.deadline_us && now >= job->call.deadline_us) {
        job->code = OFFLOAD__CODE__CODE_TIMEOUT;
        snprintf(job->out.message, sizeof(job->out.message),
                 "deadline passed before a worker was free (queued %llu ms in the executor)",
                 (unsigned long long)((now - job->submitted_us) / 1000));
        return;
    }
    job->code = job->fn(&job->call, &job->out);
    job->run_us = clock_now_us() - now;
    if (job->code < OFFLOAD__CODE__CODE_OK || job->code > OFFLOAD__CODE__CODE_CANCELLED) {
        snprintf(job->out.message, sizeof(job->out.message),
                 "the function returned an unknown code %d", job->code);
        job->code = OFFLOAD__CODE__CODE_JOB_FAILED;
    }
}

static void *pool_worker_main(void *arg)
{
    pool_worker *w = arg;
    pool *p = w->pool;
    char tname[16];
    snprintf(tname, sizeof(tname), "%.10s:%u", p->name, w->index);
    pthread_setname_np(pthread_self(), tname);

    pthread_mutex_lock(&p->mu);
    p->started++;
    pthread_cond_signal(&p->ready);
    for (;;) {
        if (!p->head && !p->stop && p->spinning < POOL_SPINNERS) {
            /* Under a stream of short jobs the next one is usually a few
             * microseconds away: yield a few times before sleeping, so it
             * needs no futex wake-up (pool_submit does not signal a job a
             * spinning worker will take). */
            p->spinning++;
            for (int i = 0; i < POOL_SPIN_YIELDS && !p->head && !p->stop; i++) {
                pthread_mutex_unlock(&p->mu);
                sched_yield();
                pthread_mutex_lock(&p->mu);
            }
            p->spinning--;
        }
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stop)
            break;
        pool_job *job = p->head;
        p->head = job->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        p->running++;
        w->current = job;
        pthread_mutex_unlock(&p->mu);

        pool_run(job);

        /* Forget the job before handing it back: the loop may free it at
         * once. It counts as running until it is in the results list. */
        pthread_mutex_lock(&p->mu);
        w->current = NULL;
        pthread_mutex_unlock(&p->mu);
        pool_results_push(p->results, job);
        pthread_mutex_lock(&p->mu);
        p->running--;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- pools -------------------------------------------------------------- */

/* Stops and joins the first `count` workers. Queued jobs are handed back
 * cancelled; running ones are asked to stop. */
static void pool_stop(pool *p, unsigned count)
{
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pool_job *queued = p->head;
    p->head = p->tail = NULL;
    p->queued = 0;
    for (unsigned i = 0; i < count; i++)
        if (p->workers[i].current)
            pool_job_cancel(p->workers[i].current);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);

    while (queued) {
        pool_job *next = queued->next;
        queued->code = OFFLOAD__CODE__CODE_CANCELLED;
        snprintf(queued->out.message, sizeof(queued->out.message),
                 "cancelled before it started: the executor is stopping");
        pool_results_push(p->results, queued);
        queued = next;
    }
    for (unsigned i = 0; i < count; i++)
        pthread_join(p->workers[i].tid, NULL);
}

static void pool_free(pool *p)
{
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->ready);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p);
}

pool *pool_new(const char *name, unsigned nthreads, pool_results *results, char *err, size_t errlen)
{
    if (nthreads < 1 || nthreads > CODEC_POOL_MAX) {
        snprintf(err, errlen, "pool '%s': %u threads (1..%d allowed)", name, nthreads,
                 CODEC_POOL_MAX);
        return NULL;
    }
    pool *p = calloc(1, sizeof(*p));
    pool_worker *workers = calloc(nthreads, sizeof(*workers));
    if (!p || !workers) {
        free(p);
        free(workers);
        snprintf(err, errlen, "pool '%s': out of memory", name);
        return NULL;
    }
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->results = results;
    p->nthreads = nthreads;
    p->workers = workers;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->ready, NULL);

    unsigned created = 0;
    for (; created < nthreads; created++) {
        workers[created].pool = p;
        workers[created].index = created;
        int rc = pthread_create(&workers[created].tid, NULL, pool_worker_main, &workers[created]);
        if (rc != 0) {
            snprintf(err, errlen, "pool '%s': cannot start thread %u of %u: %s", name, created + 1,
                     nthreads, strerror(rc));
            goto err;
        }
    }
    /* The handshake: return only once every worker waits for jobs. */
    pthread_mutex_lock(&p->mu);
    while (p->started < nthreads)
        pthread_cond_wait(&p->ready, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return p;

err:
    pool_stop(p, created);
    pool_free(p);
    return NULL;
}

void pool_destroy(pool **pp)
{
    pool *p = *pp;
    if (!p)
        return;
    pool_stop(p, p->nthreads);
    pool_free(p);
    *pp = NULL;
}

int pool_submit(pool *p, pool_job *job)
{
    job->next = NULL;
    job->submitted_us = clock_now_us();
    pthread_mutex_lock(&p->mu);
    if (p->stop) {
        pthread_mutex_unlock(&p->mu);
        return -ESHUTDOWN;
    }
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    p->queued++;
    if (p->queued > p->spinning)
        pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

const char *pool_name(const pool *p)
{
    return p->name;
}

unsigned pool_size(const pool *p)
{
    return p->nthreads;
}

void pool_counts(pool *p, size_t *queued, size_t *running)
{
    pthread_mutex_lock(&p->mu);
    *queued = p->queued;
    *running = p->running;
    pthread_mutex_unlock(&p->mu);
}
