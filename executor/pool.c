/* pool.c -- see pool.h. */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "codec.h"
#include "log.h"
#include "offload.pb-c.h"
#include "proc.h"

struct pool_results {
    pthread_mutex_t mu;
    pool_job *head, *tail;
    int fd; /* eventfd: written when the list goes from empty to non-empty */
};

typedef enum worker_state {
    WORKER_FREE = 0, /* no thread */
    WORKER_UP,       /* a thread runs (idle or busy) */
    WORKER_EXITED,   /* its thread returned (an elastic shrink): join it */
} worker_state;

typedef struct pool_worker {
    pool *pool;
    pthread_t tid;
    unsigned index;
    worker_state state; /* under pool.mu */
    pool_job *current;  /* the job it runs; under pool.mu */
    proc_worker *proc;  /* processes: its worker process */
    atomic_int pid;     /* processes: its process's pid, 0: none (proc_worker_new) */
} pool_worker;

/* How many times an idle worker yields before it sleeps on the condvar, and
 * how many idle workers of a pool may do so at once (the others sleep at
 * once, so a burst of finished blocking jobs does not turn into a crowd of
 * yielding threads). */
#define POOL_SPIN_YIELDS 50
#define POOL_SPINNERS 16

struct pool {
    char name[CODEC_NAME_MAX + 1];
    pool_config cfg;
    pool_results *results;
    pthread_mutex_t mu;
    pthread_cond_t work;  /* a job was queued, or stop was set */
    pthread_cond_t ready; /* a worker started or failed to (start-up handshake) */
    pool_job *head, *tail;
    size_t queued, running;
    size_t spinning;          /* idle workers yielding before they sleep */
    unsigned alive;           /* threads up */
    unsigned idle;            /* threads waiting for a job */
    unsigned started, failed; /* start-up handshake */
    char start_err[256];
    atomic_int stop;
    uint64_t grown, shrunk;
    proc_announce announce; /* processes: the functions the workers announced */
    proc_counts counts;     /* processes: respawns and kills (atomics) */
    pool_worker *workers;   /* cfg.max slots */
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
    atomic_init(&job->started, 0);
}

void pool_job_cancel(pool_job *job)
{
    atomic_store_explicit(&job->cancelled, POOL_JOB_CANCELLED, memory_order_relaxed);
}

void pool_job_expire(pool_job *job)
{
    atomic_store_explicit(&job->cancelled, POOL_JOB_EXPIRED, memory_order_relaxed);
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

/* What every job goes through before it runs; 0 if it may run. */
static int pool_precheck(pool_job *job, uint64_t now)
{
    int cancelled = atomic_load_explicit(&job->cancelled, memory_order_relaxed);
    if (cancelled == POOL_JOB_EXPIRED) {
        job->code = OFFLOAD__CODE__CODE_TIMEOUT;
        snprintf(job->out.message, sizeof(job->out.message),
                 "deadline passed before a worker was free (queued %llu ms in the executor)",
                 (unsigned long long)((now - job->submitted_us) / 1000));
        return -1;
    }
    if (cancelled) {
        job->code = OFFLOAD__CODE__CODE_CANCELLED;
        snprintf(job->out.message, sizeof(job->out.message), "cancelled before it started");
        return -1;
    }
    if (job->call.deadline_us && now >= job->call.deadline_us) {
        job->code = OFFLOAD__CODE__CODE_TIMEOUT;
        snprintf(job->out.message, sizeof(job->out.message),
                 "deadline passed before a worker was free (queued %llu ms in the executor)",
                 (unsigned long long)((now - job->submitted_us) / 1000));
        return -1;
    }
    return 0;
}

static void pool_run(pool_worker *w, pool_job *job)
{
    uint64_t now = clock_now_us();
    if (pool_precheck(job, now) < 0)
        return;
    atomic_store_explicit(&job->started, 1, memory_order_relaxed);
    if (w->proc) {
        proc_worker_run(w->proc, job);
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

/* An elastic thread above min waits this long for a job before it exits. */
static int pool_wait_idle(pool *p)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += p->cfg.idle_ms / 1000;
    until.tv_nsec += (long)(p->cfg.idle_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    return pthread_cond_timedwait(&p->work, &p->mu, &until);
}

static void *pool_worker_main(void *arg)
{
    pool_worker *w = arg;
    pool *p = w->pool;
    char tname[16];
    snprintf(tname, sizeof(tname), "%.10s:%u", p->name, w->index);
    pthread_setname_np(pthread_self(), tname);

    char err[256] = "";
    if (p->cfg.kind == POOL_PROCESSES) {
        proc_shared shared = {.announce = &p->announce, .stopping = &p->stop, .counts = &p->counts};
        w->proc = proc_worker_new(p->cfg.proc, w->index, &shared, &w->pid);
        if (!w->proc || proc_worker_spawn(w->proc, err, sizeof(err)) < 0) {
            if (!w->proc)
                snprintf(err, sizeof(err), "out of memory");
            proc_worker_destroy(&w->proc);
            pthread_mutex_lock(&p->mu);
            if (!p->failed++)
                snprintf(p->start_err, sizeof(p->start_err), "%s", err);
            p->alive--;
            w->state = WORKER_EXITED;
            pthread_cond_broadcast(&p->ready);
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
    }

    pthread_mutex_lock(&p->mu);
    p->started++;
    pthread_cond_broadcast(&p->ready);
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
        int timed_out = 0;
        p->idle++;
        while (!p->head && !p->stop && !timed_out) {
            if (p->alive > p->cfg.min)
                timed_out = pool_wait_idle(p) == ETIMEDOUT;
            else
                pthread_cond_wait(&p->work, &p->mu);
        }
        p->idle--;
        if (p->stop)
            break;
        if (!p->head && timed_out && p->alive > p->cfg.min) {
            /* Idle for idle_ms with more threads than min: shrink. */
            p->alive--;
            p->shrunk++;
            w->state = WORKER_EXITED;
            unsigned alive = p->alive;
            pthread_mutex_unlock(&p->mu);
            log_info("event=pool_shrink queue=%s threads=%u min=%u max=%u", p->name, alive,
                     p->cfg.min, p->cfg.max);
            return NULL;
        }
        if (!p->head)
            continue;
        pool_job *job = p->head;
        p->head = job->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        p->running++;
        w->current = job;
        pthread_mutex_unlock(&p->mu);

        pool_run(w, job);

        /* Forget the job before handing it back: the loop may free it at
         * once. It counts as running until it is in the results list. */
        pthread_mutex_lock(&p->mu);
        w->current = NULL;
        pthread_mutex_unlock(&p->mu);
        pool_results_push(p->results, job);
        if (w->proc) /* replace a dead or worn-out process before the next job */
            proc_worker_after(w->proc);
        pthread_mutex_lock(&p->mu);
        p->running--;
    }
    p->alive--;
    pthread_mutex_unlock(&p->mu);
    proc_worker_destroy(&w->proc);
    return NULL;
}

/* Starts the thread of slot w; under p->mu. Returns 0 or an errno. */
static int pool_spawn_locked(pool *p, pool_worker *w)
{
    if (w->state == WORKER_EXITED)
        pthread_join(w->tid, NULL); /* it returned already, or is returning */
    w->state = WORKER_UP;
    w->pool = p;
    w->current = NULL;
    p->alive++;
    int rc = pthread_create(&w->tid, NULL, pool_worker_main, w);
    if (rc != 0) {
        w->state = WORKER_FREE;
        p->alive--;
    }
    return rc;
}

/* ---- pools -------------------------------------------------------------- */

/* Stops and joins every worker. Queued jobs are handed back cancelled;
 * running ones are asked to stop. */
static void pool_stop(pool *p)
{
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pool_job *queued = p->head;
    p->head = p->tail = NULL;
    p->queued = 0;
    for (unsigned i = 0; i < p->cfg.max; i++)
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
    /* Slots only change under p->mu, and no thread starts once stop is set. */
    for (unsigned i = 0; i < p->cfg.max; i++) {
        if (p->workers[i].state != WORKER_FREE)
            pthread_join(p->workers[i].tid, NULL);
        p->workers[i].state = WORKER_FREE;
    }
}

static void pool_free(pool *p)
{
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->ready);
    pthread_mutex_destroy(&p->mu);
    proc_announce_clear(&p->announce);
    free(p->workers);
    free(p);
}

pool *pool_start(const pool_config *cfg, pool_results *results, char *err, size_t errlen)
{
    if (cfg->min < 1 || cfg->max < cfg->min || cfg->max > CODEC_POOL_MAX ||
        (cfg->kind == POOL_PROCESSES && (cfg->min != cfg->max || !cfg->proc))) {
        snprintf(err, errlen, "pool '%s': %u..%u workers (1..%d allowed)", cfg->name, cfg->min,
                 cfg->max, CODEC_POOL_MAX);
        return NULL;
    }
    pool *p = calloc(1, sizeof(*p));
    pool_worker *workers = calloc(cfg->max, sizeof(*workers));
    if (!p || !workers) {
        free(p);
        free(workers);
        snprintf(err, errlen, "pool '%s': out of memory", cfg->name);
        return NULL;
    }
    snprintf(p->name, sizeof(p->name), "%s", cfg->name);
    p->cfg = *cfg;
    p->cfg.name = p->name;
    p->results = results;
    p->workers = workers;
    atomic_init(&p->stop, 0);
    atomic_init(&p->counts.respawns, 0);
    for (int k = 0; k < PROC_KILL_COUNT; k++)
        atomic_init(&p->counts.kills[k], 0);
    for (unsigned i = 0; i < cfg->max; i++)
        atomic_init(&workers[i].pid, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->work, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&p->ready, NULL);
    proc_announce_init(&p->announce);

    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < cfg->min; i++) {
        workers[i].index = i;
        int rc = pool_spawn_locked(p, &workers[i]);
        if (rc != 0) {
            snprintf(err, errlen, "pool '%s': cannot start thread %u of %u: %s", p->name, i + 1,
                     cfg->min, strerror(rc));
            pthread_mutex_unlock(&p->mu);
            goto err;
        }
    }
    for (unsigned i = cfg->min; i < cfg->max; i++)
        workers[i].index = i;
    /* The handshake: return once every worker waits for jobs (or one failed:
     * a process that did not start). */
    while (p->started + p->failed < cfg->min)
        pthread_cond_wait(&p->ready, &p->mu);
    int failed = p->failed > 0;
    if (failed)
        snprintf(err, errlen, "queue '%s': %s", p->name, p->start_err);
    pthread_mutex_unlock(&p->mu);
    if (failed)
        goto err;
    return p;

err:
    pool_stop(p);
    pool_free(p);
    return NULL;
}

pool *pool_new(const char *name, unsigned nthreads, pool_results *results, char *err, size_t errlen)
{
    pool_config cfg = {.name = name, .kind = POOL_THREADS, .min = nthreads, .max = nthreads};
    return pool_start(&cfg, results, err, errlen);
}

void pool_destroy(pool **pp)
{
    pool *p = *pp;
    if (!p)
        return;
    pool_stop(p);
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
    /* Elastic: every thread busy (more jobs queued than idle threads to
     * take them) and room to grow: one more thread. */
    unsigned grown_to = 0;
    if (p->queued > p->idle + p->spinning && p->alive < p->cfg.max) {
        for (unsigned i = 0; i < p->cfg.max; i++) {
            if (p->workers[i].state == WORKER_UP)
                continue;
            if (pool_spawn_locked(p, &p->workers[i]) == 0) {
                p->grown++;
                grown_to = p->alive;
            }
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (grown_to)
        log_info("event=pool_grow queue=%s threads=%u min=%u max=%u", p->name, grown_to, p->cfg.min,
                 p->cfg.max);
    return 0;
}

const char *pool_name(const pool *p)
{
    return p->name;
}

pool_kind pool_kind_of(const pool *p)
{
    return p->cfg.kind;
}

unsigned pool_size(const pool *p)
{
    return p->cfg.max;
}

char **pool_functions(const pool *p, size_t *count)
{
    *count = p->announce.count;
    return p->announce.names;
}

void pool_get_stats(pool *p, pool_stats *st)
{
    pthread_mutex_lock(&p->mu);
    st->queued = p->queued;
    st->running = p->running;
    st->workers = p->alive;
    st->grown = p->grown;
    st->shrunk = p->shrunk;
    pthread_mutex_unlock(&p->mu);
    st->alive = st->workers;
    st->respawns = st->kills_deadline = st->kills_cancel = st->kills_memory = st->kills_recycle = 0;
    if (p->cfg.kind != POOL_PROCESSES)
        return;
    st->alive = 0;
    for (unsigned i = 0; i < p->cfg.max; i++)
        if (atomic_load_explicit(&p->workers[i].pid, memory_order_relaxed) > 0)
            st->alive++;
    st->respawns = atomic_load_explicit(&p->counts.respawns, memory_order_relaxed);
    st->kills_deadline =
        atomic_load_explicit(&p->counts.kills[PROC_KILL_DEADLINE], memory_order_relaxed);
    st->kills_cancel =
        atomic_load_explicit(&p->counts.kills[PROC_KILL_CANCEL], memory_order_relaxed);
    st->kills_memory =
        atomic_load_explicit(&p->counts.kills[PROC_KILL_MEMORY], memory_order_relaxed);
    st->kills_recycle =
        atomic_load_explicit(&p->counts.kills[PROC_KILL_RECYCLE], memory_order_relaxed);
}

uint64_t pool_rss_bytes(pool *p)
{
    if (p->cfg.kind != POOL_PROCESSES)
        return 0;
    uint64_t kb = 0;
    for (unsigned i = 0; i < p->cfg.max; i++) {
        int pid = atomic_load_explicit(&p->workers[i].pid, memory_order_relaxed);
        if (pid > 0)
            kb += proc_rss_kb(pid);
    }
    return kb * 1024;
}

void pool_counts(pool *p, size_t *queued, size_t *running)
{
    pool_stats st;
    pool_get_stats(p, &st);
    *queued = st.queued;
    *running = st.running;
}
