/* executor.c -- the loop and the executor side of the protocol.
 *
 * A Job read from a link becomes an exec_job: it keeps the decoded envelope
 * (so the payload is never copied), sits in the in-flight table keyed by
 * link + job id (job ids are per gateway) until its pool hands it back, and
 * ends in exactly one Result on the link it came from (none if orphaned).
 *
 * Sessions. Every new TCP connection is a new peer to the gateway, so a
 * gateway forgets everything about us when the connection drops or when it
 * answers Refuse UNKNOWN (a Goodbye only makes us say Hello again: see
 * exec_on_message). The jobs of such a link
 * are then "orphaned": taken out of the table, cancelled, and their Results
 * never sent -- the gateway that sent them has answered or retried them
 * already, and it would drop such a Result as unknown. A gateway that is
 * merely silent keeps its jobs: if it comes back on the same connection it
 * still waits for their Results. Job ids start at a random point in every
 * gateway process, so a late Result can never match a restarted gateway's
 * new job of the same id.
 *
 * Credit. A gateway that speaks Credit (its Welcome says so) gets an
 * allowance per queue, and the executor shares each pool among such
 * gateways (credit.h): with one, the allowance is the whole pool; with
 * several, no more jobs are sent than there are workers, so jobs wait in
 * the gateways, never in the pool's FIFO. Each queue keeps a credit_peer
 * per link; the balance is redone when a gateway's demand or
 * acknowledgement arrives (Demand), when jobs finish, and when a link
 * registers or is forgotten; every Credit carries every queue's allowance
 * (so a later one replaces a lost one). An older gateway (no credit in
 * its Welcome) takes the declared sizes as its credit, as before: its jobs
 * in flight count against the pool, but it may be sent more than the pool
 * has free, and the pool's FIFO absorbs that, up to --max-pending jobs per
 * queue beyond its pool size. Past that, and for a payload over
 * --max-payload, a Job is answered at once (queue_full, payload_too_large)
 * and never held: a gateway that floods the executor costs it a Result per
 * Job, not memory.
 *
 * Reopening. ZeroMQ reconnects a dropped connection by itself, except one
 * it dropped on a protocol error (a frame over ZMQ_MAXMSGSIZE, bad ZMTP):
 * that socket stays without a connection for good. A link whose connection
 * is not back within EXEC_REOPEN_MS gets new sockets (link_reopen), so the
 * executor says Hello again after any loss. */
#include "executor.h"

#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>
#include <zmq.h>

#include "clock.h"
#include "credit.h"
#include "errors.h"
#include "flags.h"
#include "functions.h"
#include "link.h"
#include "log.h"
#include "loop.h"
#include "plugin.h"
#include "pool.h"
#include "proc.h"
#include "signals.h"
#include "wire.h"
#include "wproto.h"

extern char **environ;

#define EXEC_RECV_BATCH 256 /* messages per link per loop turn */
#define EXEC_REOPEN_MS 1000 /* a dropped connection not back by then is reopened */

/* The key of a job in flight: the link it came from and its job id. */
typedef struct exec_key {
    uint32_t link;
    uint32_t zero; /* padding, kept 0 so the key hashes as bytes */
    uint64_t job_id;
} exec_key;

typedef struct exec_queue exec_queue;

typedef struct exec_job {
    pool_job pj; /* what the pool runs; exec_job_of finds the job again */
    exec_key key;
    exec_queue *q;       /* the queue whose pool holds it */
    codec_envelope *env; /* the Job message; owns the payload pj runs on */
    int orphaned;        /* its gateway forgot it: no Result, not in the table */
    UT_hash_handle hh;
} exec_job;

#define exec_job_of(p) ((exec_job *)((char *)(p)-offsetof(exec_job, pj)))

/* A queue as the executor serves it: its pool and the functions it runs. */
struct exec_queue {
    const executor_queue *cfg;
    pool *pool;
    size_t held;         /* jobs its pool holds (queued, running, orphaned) */
    size_t limit;        /* held at most: the pool size + --max-pending */
    size_t held_max;     /* the most held at once, ever */
    uint64_t fifo_waits; /* jobs that arrived with every worker taken */
    credit_peer *peers;  /* one per link: that gateway's share (credit.h) */
    uint32_t orphans;    /* orphaned jobs still in the pool */
    char **functions;    /* the registry's names, or those the workers announced */
    size_t nfunctions;
    proc_config proc; /* processes: how its workers run */
    char **argv;      /* processes: proc.argv (owned) */
    char **envp;      /* processes: proc.envp, the executor's plus OFFLOAD_WORKER_* */
    char env_text[3][96];
    char shell_cmd[4096 + 8];
};

typedef struct exec_stats {
    uint64_t jobs, results, results_unsent, orphaned, duplicates;
    uint64_t refused_payload, refused_pending; /* Jobs answered at once, not held */
    uint64_t reopens;                          /* links given new sockets */
    uint64_t frames_bad, frames_version, frames_unexpected, cancels_unknown, send_failures;
    uint64_t credits_sent, demands, credit_overruns; /* credit.h; overruns: Jobs
                                                        past a gateway's allowance */
} exec_stats;

struct executor {
    const executor_config *cfg;
    int refused; /* a gateway refused us for good: executor_run fails */
    void *zctx;
    function_registry *functions; /* built-ins and plugins */
    plugin **plugins;             /* cfg->nplugins */
    pool_results *results;
    exec_queue *queues; /* one per cfg->queues entry, same order */
    exec_link **links;
    size_t nlinks;
    loop loop;                 /* per link: its monitor, its socket; then the results */
    char max_payload_text[32]; /* for serve-worker's --max-payload */
    int ready_fd;              /* -1 once written */
    int draining;              /* a signal arrived: finish the jobs in flight, then stop */
    uint64_t drain_until_us;
    exec_job *jobs; /* uthash: in flight and not orphaned */
    size_t orphans; /* orphaned jobs still running */
    /* The Hello, built once. */
    Offload__Hello hello;
    Offload__QueueDecl *decls;
    Offload__QueueDecl **decl_ptrs;
    exec_stats stats;
};

/* A flood of bad input is logged in a few lines a second; exec_stats still
 * counts every one. */
static log_limiter exec_limiter;
#define exec_log_allowed() log_limiter_allow(&exec_limiter, 5)

static uint64_t exec_period_us(const executor *x)
{
    return (uint64_t)x->cfg->heartbeat_ms * 1000;
}

/* ---- configuration ------------------------------------------------------- */

int executor_parse_queue(const char *spec, executor_queue *out, char *err, size_t errlen)
{
    static const char expected[] = "expected NAME=threads:N, NAME=threads:MIN-MAX or "
                                   "NAME=processes:N";
    const char *eq = strchr(spec, '=');
    size_t nlen = eq ? (size_t)(eq - spec) : 0;
    memset(out, 0, sizeof(*out));
    if (!eq || nlen == 0 || nlen > CODEC_NAME_MAX) {
        snprintf(err, errlen, "'%s': %s", spec, expected);
        return -1;
    }
    memcpy(out->name, spec, nlen);
    if (!codec_name_valid(out->name)) {
        snprintf(err, errlen, "'%s': a queue name is 1..%d characters of A-Z a-z 0-9 _ . -", spec,
                 CODEC_NAME_MAX);
        return -1;
    }
    const char *kind = eq + 1, *colon = strchr(kind, ':');
    if (!colon) {
        snprintf(err, errlen, "'%s': %s", spec, expected);
        return -1;
    }
    size_t klen = (size_t)(colon - kind);
    if (klen == 9 && !strncmp(kind, "processes", 9))
        out->processes = 1;
    else if (!(klen == 7 && !strncmp(kind, "threads", 7))) {
        snprintf(err, errlen, "'%s': %s", spec, expected);
        return -1;
    }
    const char *what = out->processes ? "processes" : "threads";
    char num[32];
    const char *dash = strchr(colon + 1, '-');
    long long lo, hi;
    if (dash && !out->processes) {
        size_t dlen = (size_t)(dash - colon - 1);
        if (dlen >= sizeof(num))
            dlen = sizeof(num) - 1;
        memcpy(num, colon + 1, dlen);
        num[dlen] = '\0';
        if (parse_ll(num, &lo) < 0 || parse_ll(dash + 1, &hi) < 0) {
            snprintf(err, errlen, "'%s': %s", spec, expected);
            return -1;
        }
    } else if (parse_ll(colon + 1, &lo) < 0) {
        snprintf(err, errlen, "'%s': %s", spec, expected);
        return -1;
    } else {
        hi = lo;
    }
    if (lo < 1 || hi > CODEC_POOL_MAX || lo > hi) {
        snprintf(err, errlen, "'%s': %lld..%lld %s (1..%d allowed, MIN <= MAX)", spec, lo, hi, what,
                 CODEC_POOL_MAX);
        return -1;
    }
    out->min = (unsigned)lo;
    out->max = (unsigned)hi;
    return 0;
}

/* ---- sending ------------------------------------------------------------- */

static int exec_send(executor *x, exec_link *l, codec_envelope *env)
{
    int rc = link_send(l, env, clock_now_us());
    if (rc < 0) {
        x->stats.send_failures++;
        if (exec_log_allowed())
            log_warn("event=send_failed gateway=%s body=%s error=\"%s\"", l->endpoint,
                     codec_body_name(env->body_case), zmq_strerror(-rc));
    }
    return rc;
}

static void exec_send_hello(executor *x, exec_link *l)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_HELLO;
    env.hello = &x->hello;
    if (exec_send(x, l, &env) == 0) {
        l->last_hello_us = l->last_send_us;
        if (!l->connected)
            l->hello_queued = 1;
    } else {
        l->last_hello_us = clock_now_us(); /* retry on schedule, not in a spin */
    }
}

static void exec_send_result(executor *x, exec_link *l, uint64_t job_id, int code,
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
    if (exec_send(x, l, &env) == 0)
        x->stats.results++;
    else
        x->stats.results_unsent++;
}

/* ---- credit (credit.h) --------------------------------------------------- */

static void exec_check_ready(executor *x);

/* True if l's gateway takes part in the sharing now. */
static int exec_link_credit(const exec_link *l)
{
    return l->credit && l->state == LINK_REGISTERED;
}

/* Sends l every queue's allowance in one Credit (a later Credit replaces a
 * lost one, and acknowledging it acknowledges all). */
static void exec_send_credit(executor *x, exec_link *l)
{
    size_t n = x->cfg->nqueues;
    Offload__QueueCredit qc[CODEC_QUEUES_MAX], *qp[CODEC_QUEUES_MAX];
    char text[256];
    size_t len = 0;
    text[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        credit_peer *p = &x->queues[i].peers[l->index];
        offload__queue_credit__init(&qc[i]);
        qc[i].name = (char *)x->cfg->queues[i].name;
        qc[i].slots = p->allow;
        qp[i] = &qc[i];
        if (len < sizeof(text))
            len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s:%u/%u", i ? "," : "",
                                    qc[i].name, p->allow, p->inflight);
    }
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Credit c = OFFLOAD__CREDIT__INIT;
    c.n_queues = n;
    c.queues = qp;
    c.seq = l->credit_seq + 1;
    env.body_case = OFFLOAD__ENVELOPE__BODY_CREDIT;
    env.credit = &c;
    if (exec_send(x, l, &env) < 0) {
        l->credit_unsent = 1; /* the ceilings stay: nothing was promised */
        return;
    }
    l->credit_seq = c.seq;
    l->credit_unsent = 0;
    x->stats.credits_sent++;
    for (size_t i = 0; i < n; i++)
        x->queues[i].peers[l->index].changed = 0;
    log_debug("event=credit gateway=%s seq=%llu slots=%s", l->endpoint, (unsigned long long)c.seq,
              text);
}

/* Rebalances one queue (only) or all, and sends a Credit to every gateway
 * whose allowance changed. Not while draining: the gateways ignore Credit
 * then. */
static void exec_balance(executor *x, exec_queue *only)
{
    size_t n = x->cfg->nconnect;
    int changed = 0;
    if (x->draining)
        return;
    for (size_t i = 0; i < x->cfg->nqueues; i++) {
        exec_queue *q = &x->queues[i];
        if ((!only || q == only) && credit_balance(pool_size(q->pool), q->orphans, q->peers, n))
            changed = 1;
    }
    if (!changed)
        return;
    for (size_t k = 0; k < x->nlinks; k++) {
        exec_link *l = x->links[k];
        int send = 0;
        for (size_t i = 0; i < x->cfg->nqueues && !send; i++)
            send = x->queues[i].peers[k].changed;
        if (send && exec_link_credit(l))
            exec_send_credit(x, l);
    }
}

/* l's gateway answered a Credit or reports its waiting jobs. */
static void exec_on_demand(executor *x, exec_link *l, const Offload__Demand *d)
{
    if (!l->credit) {
        /* Only a gateway that said credit sends Demand. */
        x->stats.frames_unexpected++;
        return;
    }
    x->stats.demands++;
    for (size_t i = 0; i < d->n_queues; i++) {
        exec_queue *q = NULL;
        for (size_t j = 0; j < x->cfg->nqueues && !q; j++)
            if (!strcmp(x->cfg->queues[j].name, d->queues[i]->name))
                q = &x->queues[j];
        if (q)
            q->peers[l->index].demand = d->queues[i]->waiting;
    }
    if (d->credit_seq && d->credit_seq == l->credit_seq && !l->credit_unsent) {
        for (size_t i = 0; i < x->cfg->nqueues; i++)
            credit_ack(&x->queues[i].peers[l->index]);
        if (!l->credit_acked) {
            l->credit_acked = 1;
            exec_check_ready(x);
        }
    }
    exec_balance(x, NULL);
}

/* ---- jobs ---------------------------------------------------------------- */

static void exec_job_free(exec_job *job)
{
    free(job->pj.out.owned);
    codec_free(job->env);
    free(job);
}

/* Orphans every job of link l (see the file comment), and forgets its
 * allowances. */
static size_t exec_orphan_jobs(executor *x, exec_link *l, const char *why)
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
    exec_balance(x, NULL);
    return n;
}

static exec_queue *exec_queue_find(executor *x, const char *queue)
{
    for (size_t i = 0; i < x->cfg->nqueues; i++)
        if (!strcmp(x->cfg->queues[i].name, queue))
            return &x->queues[i];
    return NULL;
}

static int exec_queue_offers(const exec_queue *q, const char *function)
{
    for (size_t i = 0; i < q->nfunctions; i++)
        if (!strcmp(q->functions[i], function))
            return 1;
    return 0;
}

/* Answers a Job at once without holding it (see the file comment). */
static void exec_refuse_job(executor *x, exec_link *l, const Offload__Job *j, int code,
                            const char *reason, const char *msg)
{
    if (code == OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE)
        x->stats.refused_payload++;
    else
        x->stats.refused_pending++;
    if (exec_log_allowed())
        log_warn("event=job_refused gateway=%s job_id=%llu queue=%s reason=%s len=%zu "
                 "refused_payload=%llu refused_pending=%llu message=\"%s\"",
                 l->endpoint, (unsigned long long)j->job_id, j->queue, reason, j->payload.len,
                 (unsigned long long)x->stats.refused_payload,
                 (unsigned long long)x->stats.refused_pending, msg);
    exec_send_result(x, l, j->job_id, code, NULL, 0, msg, 0);
}

/* Takes env (a Job) unless it answers at once. */
static void exec_on_job(executor *x, exec_link *l, codec_envelope *env)
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
        if (exec_log_allowed())
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
        exec_refuse_job(x, l, j, OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE, "payload_too_large", msg);
        codec_free(env);
        return;
    }
    exec_queue *q = exec_queue_find(x, j->queue);
    if (!q) {
        snprintf(msg, sizeof(msg), "executor %s serves no queue '%s'", x->cfg->id, j->queue);
        exec_send_result(x, l, j->job_id, OFFLOAD__CODE__CODE_BAD_REQUEST, NULL, 0, msg, 0);
        codec_free(env);
        return;
    }
    if (!exec_queue_offers(q, j->function)) {
        snprintf(msg, sizeof(msg), "executor %s offers no function '%s' on queue '%s'", x->cfg->id,
                 j->function, j->queue);
        exec_send_result(x, l, j->job_id, OFFLOAD__CODE__CODE_UNKNOWN_FUNCTION, NULL, 0, msg, 0);
        codec_free(env);
        return;
    }
    if (q->held >= q->limit) {
        snprintf(msg, sizeof(msg),
                 "executor %s holds %zu jobs of queue '%s' already (%u workers + %zu pending, "
                 "--max-pending); retry later",
                 x->cfg->id, q->held, j->queue, pool_size(q->pool), q->limit - pool_size(q->pool));
        exec_refuse_job(x, l, j, OFFLOAD__CODE__CODE_QUEUE_FULL, "pending_full", msg);
        codec_free(env);
        return;
    }
    job = malloc(sizeof(*job));
    if (!job) {
        exec_send_result(x, l, j->job_id, OFFLOAD__CODE__CODE_JOB_FAILED, NULL, 0,
                         "the executor is out of memory", 0);
        codec_free(env);
        return;
    }
    uint64_t deadline = j->timeout_ms ? clock_now_us() + (uint64_t)j->timeout_ms * 1000 : 0;
    const function_def *def = q->cfg->processes ? NULL : functions_get(x->functions, j->function);
    pool_job_init(&job->pj, def ? def->fn : NULL, j->payload.data, j->payload.len, deadline);
    job->pj.call.data = def ? def->data : NULL;
    job->pj.name = j->function; /* the envelope, which the job keeps, owns it */
    job->key = key;
    job->q = q;
    job->env = env;
    job->orphaned = 0;
    HASH_ADD(hh, x->jobs, key, sizeof(key), job);
    if (pool_submit(q->pool, &job->pj) < 0) {
        HASH_DEL(x->jobs, job);
        exec_send_result(x, l, j->job_id, OFFLOAD__CODE__CODE_CANCELLED, NULL, 0,
                         "the executor is stopping", 0);
        exec_job_free(job);
        return;
    }
    q->held++;
    credit_peer *p = &q->peers[l->index];
    if (l->credit && p->inflight >= p->ceiling) {
        /* The gateway sent more than its allowance: a bug on one side. */
        x->stats.credit_overruns++;
        if (exec_log_allowed())
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
        exec_balance(x, q); /* an older gateway's job takes a slot from the others */
    log_debug("event=job_start gateway=%s job_id=%llu queue=%s fn=%s len=%zu timeout_ms=%u "
              "waited_us=%llu",
              l->endpoint, (unsigned long long)j->job_id, j->queue, j->function, j->payload.len,
              j->timeout_ms, (unsigned long long)j->waited_us);
}

static void exec_on_cancel(executor *x, exec_link *l, const Offload__Cancel *c)
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
    pool_job_cancel(&job->pj);
    log_debug("event=job_cancel gateway=%s job_id=%llu", l->endpoint,
              (unsigned long long)c->job_id);
}

/* Sends the Result of every finished job. */
static void exec_drain_results(executor *x)
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
            exec_send_result(x, l, job->key.job_id, code, ok ? pj->out.data : NULL,
                             ok ? pj->out.len : 0, ok ? NULL : message, pj->run_us);
            log_debug("event=job_done gateway=%s job_id=%llu queue=%s fn=%s code=%s "
                      "run_us=%llu len=%zu pid=%d",
                      l->endpoint, (unsigned long long)job->key.job_id, job->env->job->queue,
                      job->env->job->function, code_name(code), (unsigned long long)pj->run_us,
                      ok ? pj->out.len : 0, pj->pid);
        }
        exec_job_free(job);
        pj = next;
    }
    exec_balance(x, NULL); /* slots freed: for the gateways that wait */
}

/* ---- registration and heartbeats ----------------------------------------- */

static void exec_check_ready(executor *x)
{
    if (x->ready_fd < 0)
        return;
    /* Registered with every gateway, and those that share our pools by
     * Credit have applied one: their capacity is there. */
    for (size_t i = 0; i < x->nlinks; i++)
        if (!x->links[i]->welcomed || (x->links[i]->credit && !x->links[i]->credit_acked))
            return;
    if (write(x->ready_fd, "ready\n", 6) != 6)
        log_warn("event=ready_fd_failed fd=%d error=\"%s\"", x->ready_fd, strerror(errno));
    close(x->ready_fd);
    x->ready_fd = -1;
}

/* l is no longer registered: its gateway takes no part in the sharing
 * until its next Welcome, but keeps what it holds (a silent gateway may
 * come back on this connection and use its allowance). */
static void exec_unregister(executor *x, exec_link *l)
{
    l->state = LINK_HELLO_SENT;
    for (size_t i = 0; i < x->cfg->nqueues; i++)
        x->queues[i].peers[l->index].active = 0;
}

static void exec_on_welcome(executor *x, exec_link *l, const Offload__Welcome *w)
{
    snprintf(l->gateway_id, sizeof(l->gateway_id), "%s", w->gateway_id ? w->gateway_id : "");
    l->hello_backoff = 0;
    if (l->state == LINK_REGISTERED)
        return; /* the answer to a second Hello */
    l->state = LINK_REGISTERED;
    l->credit = w->credit;
    log_info("event=registered gateway=%s gateway_id=%s credit=%d", l->endpoint, l->gateway_id,
             l->credit);
    if (l->credit) {
        /* A new registration has 0 slots until a Credit; a second one keeps
         * what it had: send the allowances either way. */
        for (size_t i = 0; i < x->cfg->nqueues; i++)
            x->queues[i].peers[l->index].active = 1;
        uint64_t seq = l->credit_seq;
        exec_balance(x, NULL);
        if (l->credit_seq == seq && !x->draining)
            exec_send_credit(x, l);
    }
    if (!l->welcomed) {
        l->welcomed = 1;
        exec_check_ready(x);
    }
}

static void exec_stop(executor *x, const char *reason);

/* A gateway will never take us as we are: say why, and stop (non-zero). */
static void exec_refused(executor *x, exec_link *l, const char *reason, const char *why)
{
    log_error("event=refused gateway=%s reason=%s message=\"%s\" action=exit", l->endpoint, reason,
              why);
    fprintf(stderr, "offload-executor: %s: %s\n", l->endpoint, why);
    x->refused = 1;
    if (!x->loop.stopping)
        exec_stop(x, "refused by a gateway");
}

static void exec_on_refuse(executor *x, exec_link *l, const Offload__Refuse *r)
{
    const char *message = r->message ? r->message : "";
    uint64_t now = clock_now_us();
    switch (r->reason) {
    case OFFLOAD__REFUSE_REASON__REFUSE_UNKNOWN:
        /* The gateway does not know this connection (it restarted, or
         * dropped us): its jobs on us are gone. One Hello answers a burst of
         * these (one per message we sent before it). */
        exec_orphan_jobs(x, l, "gateway_forgot_us");
        if (l->state == LINK_REGISTERED || now - l->last_hello_us >= exec_period_us(x)) {
            log_info("event=hello gateway=%s reason=\"gateway does not know us\"", l->endpoint);
            exec_unregister(x, l);
            exec_send_hello(x, l);
        }
        break;
    case OFFLOAD__REFUSE_REASON__REFUSE_VERSION:
        log_error("event=version_refused gateway=%s gateway_version=%u our_version=%d "
                  "message=\"%s\" action=\"upgrade one side; retrying every %u ms\"",
                  l->endpoint, r->version, OFFLOAD_PROTOCOL_VERSION, message,
                  x->cfg->heartbeat_ms * x->cfg->liveness);
        exec_unregister(x, l);
        l->hello_backoff = 1;
        break;
    case OFFLOAD__REFUSE_REASON__REFUSE_INVALID:
        log_error("event=refused gateway=%s reason=invalid message=\"%s\"", l->endpoint, message);
        l->hello_backoff = 1;
        break;
    case OFFLOAD__REFUSE_REASON__REFUSE_LIMIT:
        /* The message names the gateway's flag. Our heartbeat x liveness or
         * our function count will not change by asking again: stop, so the
         * misconfiguration is seen. Executors and queues may free up (others
         * leave): ask again every heartbeat x liveness. */
        exec_unregister(x, l);
        l->hello_backoff = 1;
        if (strstr(message, "--max-silence-ms") || strstr(message, "--max-functions")) {
            exec_refused(x, l, "limit", message);
        } else if (exec_log_allowed()) {
            log_error("event=refused gateway=%s reason=limit message=\"%s\" "
                      "action=\"retrying every %u ms\"",
                      l->endpoint, message, x->cfg->heartbeat_ms * x->cfg->liveness);
        }
        break;
    case OFFLOAD__REFUSE_REASON__REFUSE_FORBIDDEN:
        /* Our key may not serve a queue we declare: sending the same Hello
         * again gets the same answer. */
        exec_unregister(x, l);
        exec_refused(x, l, "forbidden", message);
        break;
    default:
        log_warn("event=refused gateway=%s reason=%d message=\"%s\"", l->endpoint, (int)r->reason,
                 message);
    }
}

static void exec_on_message(executor *x, exec_link *l, codec_envelope *env)
{
    switch (env->body_case) {
    case OFFLOAD__ENVELOPE__BODY_JOB:
        exec_on_job(x, l, env); /* takes env */
        return;
    case OFFLOAD__ENVELOPE__BODY_CANCEL:
        exec_on_cancel(x, l, env->cancel);
        break;
    case OFFLOAD__ENVELOPE__BODY_HEARTBEAT:
        break;
    case OFFLOAD__ENVELOPE__BODY_DEMAND:
        exec_on_demand(x, l, env->demand);
        break;
    case OFFLOAD__ENVELOPE__BODY_WELCOME:
        exec_on_welcome(x, l, env->welcome);
        break;
    case OFFLOAD__ENVELOPE__BODY_REFUSE:
        exec_on_refuse(x, l, env->refuse);
        break;
    case OFFLOAD__ENVELOPE__BODY_GOODBYE:
        /* Its jobs keep running: a gateway that drains still wants their
         * Results, and one that exits drops the connection (orphaning them). */
        log_info("event=gateway_goodbye gateway=%s gateway_id=%s reason=\"%s\"", l->endpoint,
                 l->gateway_id, env->goodbye->reason ? env->goodbye->reason : "");
        exec_unregister(x, l);
        break;
    default:
        x->stats.frames_unexpected++;
        if (exec_log_allowed())
            log_warn("event=frame_dropped gateway=%s reason=\"unexpected %s\"", l->endpoint,
                     codec_body_name(env->body_case));
    }
    codec_free(env);
}

static void exec_read_link(executor *x, exec_link *l)
{
    for (int i = 0; i < EXEC_RECV_BATCH; i++) {
        codec_envelope *env;
        uint32_t peer_version = 0;
        char err[256];
        int rc = link_recv(l, &env, &peer_version, err, sizeof(err), clock_now_us());
        if (rc == -EAGAIN || rc == -EINTR || rc == -ETERM)
            return;
        l->silent = 0;
        if (rc == CODEC_EVERSION) {
            x->stats.frames_version++;
            if (exec_log_allowed())
                log_error("event=version_mismatch gateway=%s gateway_version=%u "
                          "our_version=%d error=\"%s\"",
                          l->endpoint, peer_version, OFFLOAD_PROTOCOL_VERSION, err);
            continue;
        }
        if (rc < 0) {
            x->stats.frames_bad++;
            if (exec_log_allowed())
                log_warn("event=frame_dropped gateway=%s error=\"%s\"", l->endpoint, err);
            continue;
        }
        exec_on_message(x, l, env);
    }
}

static void exec_link_events(executor *x, exec_link *l)
{
    int ev;
    while ((ev = link_event(l)) != 0) {
        if (ev == LINK_EV_AUTH) {
            /* Before the first Welcome: a setup error (keys), fail at
             * start. After one: the gateway changed its keys; keep trying. */
            if (!l->welcomed)
                exec_refused(x, l, "auth", l->auth_error);
            else
                log_error("event=auth_failed gateway=%s message=\"%s\" action=retry", l->endpoint,
                          l->auth_error);
            continue;
        }
        if (ev == LINK_EV_DOWN) {
            log_warn("event=gateway_disconnected gateway=%s gateway_id=%s", l->endpoint,
                     l->gateway_id);
            exec_unregister(x, l);
            exec_orphan_jobs(x, l, "disconnected");
            if (!l->reopen_due_us)
                l->reopen_due_us = clock_now_us() + (uint64_t)EXEC_REOPEN_MS * 1000;
        } else {
            l->reopen_due_us = 0; /* ZeroMQ reconnected by itself */
            log_info("event=connected gateway=%s", l->endpoint);
            /* A Hello sent while disconnected is delivered now; else say one. */
            if (l->state != LINK_REGISTERED && !l->hello_queued)
                exec_send_hello(x, l);
            l->hello_queued = 0;
        }
    }
}

/* Gives l new sockets: its connection dropped and did not come back (see
 * the file comment). */
static void exec_reopen_link(executor *x, exec_link *l, uint64_t now)
{
    void *old_sock = l->sock, *old_monitor = l->monitor;
    char err[256];
    if (link_reopen(l, err, sizeof(err)) < 0) {
        log_warn("event=link_reopen_failed gateway=%s error=\"%s\"", l->endpoint, err);
        l->reopen_due_us = now + (uint64_t)EXEC_REOPEN_MS * 1000;
        return;
    }
    loop_replace_socket(&x->loop, old_monitor, l->monitor);
    loop_replace_socket(&x->loop, old_sock, l->sock);
    x->stats.reopens++;
    log_warn("event=link_reopened gateway=%s reopens=%llu reason=\"the connection dropped and "
             "ZeroMQ did not reconnect within %d ms\"",
             l->endpoint, (unsigned long long)l->reopens, EXEC_REOPEN_MS);
}

/* Sends what is due on every link (Hello, Heartbeat), notices silent
 * gateways, reopens links whose connection did not come back, and returns
 * the milliseconds until something is due next. */
static long exec_tick(executor *x, uint64_t now)
{
    uint64_t period = exec_period_us(x), dead = period * x->cfg->liveness;
    uint64_t next = now + dead;
    for (size_t i = 0; i < x->nlinks; i++) {
        exec_link *l = x->links[i];
        if (l->reopen_due_us && now >= l->reopen_due_us)
            exec_reopen_link(x, l, now);
        if (l->reopen_due_us && l->reopen_due_us < next)
            next = l->reopen_due_us;
        if (!l->silent && now - l->last_recv_us >= dead) {
            l->silent = 1;
            log_warn("event=gateway_silent gateway=%s gateway_id=%s silent_ms=%llu", l->endpoint,
                     l->gateway_id, (unsigned long long)((now - l->last_recv_us) / 1000));
            if (l->state == LINK_REGISTERED) {
                exec_unregister(x, l);
                exec_send_hello(x, l);
            }
        }
        if (!l->silent && l->last_recv_us + dead < next)
            next = l->last_recv_us + dead;

        uint64_t due;
        if (l->credit_unsent && exec_link_credit(l) && !x->draining)
            exec_send_credit(x, l);
        if (l->state == LINK_REGISTERED) {
            due = l->last_send_us + period;
            if (now >= due) {
                Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
                Offload__Heartbeat hb = OFFLOAD__HEARTBEAT__INIT;
                env.body_case = OFFLOAD__ENVELOPE__BODY_HEARTBEAT;
                env.heartbeat = &hb;
                if (exec_send(x, l, &env) < 0)
                    l->last_send_us = now; /* retry in one period */
                due = l->last_send_us + period;
            }
        } else if (l->connected) {
            /* A silent gateway (stopped, or stalled) reads every Hello queued
             * meanwhile when it comes back: one per liveness window is enough. */
            uint64_t every = l->hello_backoff || l->silent ? dead : period;
            due = l->last_hello_us + every;
            if (now >= due) {
                exec_send_hello(x, l);
                due = l->last_hello_us + every;
            }
        } else {
            /* Disconnected: ZeroMQ delivers a Hello sent meanwhile as soon as
             * the connection is back, or exec_link_events says one then.
             * More would only pile up in ZeroMQ's queue. */
            due = next;
        }
        if (due < next)
            next = due;
    }
    return next > now ? (long)((next - now + 999) / 1000) : 0;
}

/* ---- the loop ------------------------------------------------------------ */

static void exec_goodbye(executor *x, const char *reason)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Goodbye bye = OFFLOAD__GOODBYE__INIT;
    bye.reason = (char *)reason;
    env.body_case = OFFLOAD__ENVELOPE__BODY_GOODBYE;
    env.goodbye = &bye;
    for (size_t i = 0; i < x->nlinks; i++)
        exec_send(x, x->links[i], &env);
}

/* Tells every registered gateway to send no new jobs. */
static void exec_send_drain(executor *x)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Drain drain = OFFLOAD__DRAIN__INIT;
    drain.timeout_ms = x->cfg->drain_timeout_ms;
    env.body_case = OFFLOAD__ENVELOPE__BODY_DRAIN;
    env.drain = &drain;
    for (size_t i = 0; i < x->nlinks; i++)
        if (x->links[i]->state == LINK_REGISTERED)
            exec_send(x, x->links[i], &env);
}

static void exec_stop(executor *x, const char *reason)
{
    log_info("event=stopping reason=\"%s\" jobs_in_flight=%u", reason, HASH_COUNT(x->jobs));
    exec_goodbye(x, reason);
    loop_stop(&x->loop);
}

static void exec_on_signal(int signo, void *arg)
{
    executor *x = arg;
    const char *name = signo == SIGINT ? "SIGINT" : "SIGTERM";
    char reason[64];
    if (signo == SIGHUP) {
        /* Nothing to re-read (the gateway re-reads its files on SIGHUP). */
        log_info("event=signal signal=SIGHUP action=ignored");
        return;
    }
    if (x->loop.stopping)
        return;
    if (x->draining || !x->cfg->drain_timeout_ms) {
        snprintf(reason, sizeof(reason), "executor stopping (%s)", name);
        exec_stop(x, reason);
        return;
    }
    log_info("event=draining signal=%s jobs_in_flight=%u drain_timeout_ms=%u", name,
             HASH_COUNT(x->jobs), x->cfg->drain_timeout_ms);
    x->draining = 1;
    x->drain_until_us = clock_now_us() + (uint64_t)x->cfg->drain_timeout_ms * 1000;
    exec_send_drain(x);
}

/* While draining: stops once no job runs, or at the drain deadline. Returns
 * the milliseconds until the deadline (for the poll timeout). */
static long exec_check_drain(executor *x)
{
    uint64_t now = clock_now_us();
    if (!HASH_COUNT(x->jobs) && !x->orphans) {
        exec_stop(x, "drained");
        return 0;
    }
    if (now >= x->drain_until_us) {
        exec_stop(x, "drain timeout");
        return 0;
    }
    return (long)((x->drain_until_us - now + 999) / 1000);
}

/* Before every poll: what is due on the links (exec_tick), and the drain.
 * Returns the microseconds the poll may wait. */
static int64_t exec_before_poll(void *arg)
{
    executor *x = arg;
    long timeout = exec_tick(x, clock_now_us());
    if (x->draining) {
        long left = exec_check_drain(x);
        if (left < timeout)
            timeout = left;
    }
    return (int64_t)timeout * 1000;
}

/* A link's sources. Connection events always first: a drop is seen before
 * data that came on the connection after it. */
static void exec_on_monitor(void *arg)
{
    exec_link *l = arg;
    exec_link_events(l->owner, l);
}

static void exec_on_link(void *arg)
{
    exec_link *l = arg;
    exec_link_events(l->owner, l);
    exec_read_link(l->owner, l);
}

static void exec_on_results(void *arg)
{
    exec_drain_results(arg);
}

int executor_run(executor *x)
{
    uint64_t now = clock_now_us();
    for (size_t i = 0; i < x->nlinks; i++) {
        x->links[i]->last_recv_us = now;
        exec_send_hello(x, x->links[i]);
    }
    int rc = loop_run(&x->loop);
    size_t held_max = 0;
    uint64_t fifo_waits = 0;
    for (size_t i = 0; i < x->cfg->nqueues; i++) {
        const exec_queue *q = &x->queues[i];
        log_info("event=queue_stats queue=%s pool=%u held_max=%zu fifo_waits=%llu", q->cfg->name,
                 pool_size(q->pool), q->held_max, (unsigned long long)q->fifo_waits);
        if (q->held_max > held_max)
            held_max = q->held_max;
        fifo_waits += q->fifo_waits;
    }
    log_info("event=stopped jobs=%llu results=%llu results_unsent=%llu orphaned=%llu "
             "refused_payload=%llu refused_pending=%llu frames_bad=%llu frames_version=%llu "
             "frames_unexpected=%llu send_failures=%llu reopens=%llu held_max=%zu "
             "fifo_waits=%llu credits_sent=%llu demands=%llu credit_overruns=%llu",
             (unsigned long long)x->stats.jobs, (unsigned long long)x->stats.results,
             (unsigned long long)x->stats.results_unsent, (unsigned long long)x->stats.orphaned,
             (unsigned long long)x->stats.refused_payload,
             (unsigned long long)x->stats.refused_pending, (unsigned long long)x->stats.frames_bad,
             (unsigned long long)x->stats.frames_version,
             (unsigned long long)x->stats.frames_unexpected,
             (unsigned long long)x->stats.send_failures, (unsigned long long)x->stats.reopens,
             held_max, (unsigned long long)fifo_waits, (unsigned long long)x->stats.credits_sent,
             (unsigned long long)x->stats.demands, (unsigned long long)x->stats.credit_overruns);
    if (x->refused)
        return -EPERM;
    return rc < 0 ? -EIO : 0;
}

/* ---- set-up -------------------------------------------------------------- */

/* cmd for /bin/sh -c, with "exec" put before the program when cmd is a
 * simple command (after its leading plain NAME=value words, which the
 * shell takes before exec too): the worker is then the program's own process,
 * so its pid, exit status and memory are the program's. A compound
 * command (; & | ` or a newline), or one whose leading assignment is
 * quoted or expanded, is left as it is: the worker is the shell,
 * still killed with its whole process group. */
static void exec_shell_command(const char *cmd, char *out, size_t outlen)
{
    if (strpbrk(cmd, ";&|\n`")) {
        snprintf(out, outlen, "%s", cmd);
        return;
    }
    const char *p = cmd;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *w = p;
        if (!((*w >= 'A' && *w <= 'Z') || (*w >= 'a' && *w <= 'z') || *w == '_'))
            break;
        while ((*w >= 'A' && *w <= 'Z') || (*w >= 'a' && *w <= 'z') || *w == '_' ||
               (*w >= '0' && *w <= '9'))
            w++;
        if (*w != '=')
            break;
        while (*w && *w != ' ' && *w != '\t' && !strchr("'\"\\$", *w))
            w++;
        if (*w && *w != ' ' && *w != '\t') {
            snprintf(out, outlen, "%s", cmd); /* a quoted or expanded value: as it is */
            return;
        }
        p = w;
    }
    snprintf(out, outlen, "%.*sexec %s", (int)(p - cmd), cmd, p);
}

/* The command line of a process pool's workers: --command through the
 * shell (exec'd, so the worker is the shell's pid), or this executor in
 * serve-worker mode with the same plugins. */
static int exec_worker_argv(executor *x, exec_queue *q, char *err, size_t errlen)
{
    const executor_config *cfg = x->cfg;
    size_t n = 0, max = 8 + 2 * cfg->nplugins;
    char **argv = calloc(max, sizeof(*argv));
    if (!argv) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (q->cfg->command) {
        exec_shell_command(q->cfg->command, q->shell_cmd, sizeof(q->shell_cmd));
        argv[n++] = "/bin/sh";
        argv[n++] = "-c";
        argv[n++] = q->shell_cmd;
    } else {
        if (!cfg->self_exe) {
            snprintf(err, errlen, "queue '%s': cannot find this program to start its workers",
                     q->cfg->name);
            free(argv);
            return -1;
        }
        argv[n++] = (char *)cfg->self_exe;
        argv[n++] = "serve-worker";
        argv[n++] = "--max-payload";
        argv[n++] = (char *)x->max_payload_text;
        for (size_t i = 0; i < cfg->nplugins; i++) {
            argv[n++] = "--plugin";
            argv[n++] = cfg->plugins[i];
        }
    }
    argv[n] = NULL;
    q->argv = argv;

    /* The environment: ours, minus OFFLOAD_WORKER_*, plus what the worker
     * may want to know. */
    size_t nenv = 0;
    while (environ[nenv])
        nenv++;
    q->envp = calloc(nenv + 4, sizeof(*q->envp));
    if (!q->envp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++)
        if (strncmp(environ[i], "OFFLOAD_WORKER_", 15) != 0)
            q->envp[k++] = environ[i];
    snprintf(q->env_text[0], sizeof(q->env_text[0]), "OFFLOAD_WORKER_QUEUE=%s", q->cfg->name);
    snprintf(q->env_text[1], sizeof(q->env_text[1]), "OFFLOAD_WORKER_MAX_FRAME=%zu",
             cfg->max_payload + WP_SLACK);
    snprintf(q->env_text[2], sizeof(q->env_text[2]), "OFFLOAD_WORKER_PROTOCOL=%d", WP_VERSION);
    for (int i = 0; i < 3; i++)
        q->envp[k++] = q->env_text[i];
    q->envp[k] = NULL;
    return 0;
}

/* Starts queue q's pool, and sets the functions it offers. */
static int exec_queue_start(executor *x, exec_queue *q, const executor_queue *qc, char *err,
                            size_t errlen)
{
    const executor_config *cfg = x->cfg;
    q->cfg = qc;
    pool_config pc = {.name = qc->name, .min = qc->min, .max = qc->max};
    if (!qc->processes) {
        pc.kind = POOL_THREADS;
        pc.idle_ms = cfg->thread_idle_ms;
        q->functions = functions_names(x->functions);
        q->nfunctions = functions_count(x->functions);
    } else {
        pc.kind = POOL_PROCESSES;
        if (exec_worker_argv(x, q, err, errlen) < 0)
            return -1;
        q->proc = (proc_config){
            .queue = qc->name,
            .argv = q->argv,
            .envp = q->envp,
            .kill_grace_ms = cfg->kill_grace_ms,
            .start_timeout_ms = cfg->worker_start_ms,
            .max_jobs = qc->max_jobs,
            .max_rss_kb = (size_t)qc->max_rss_mb * 1024,
            .max_frame = cfg->max_payload + WP_SLACK,
            /* The executor's own workers must offer what it loaded. */
            .expect = qc->command ? NULL : functions_names(x->functions),
            .nexpect = qc->command ? 0 : functions_count(x->functions),
        };
        pc.proc = &q->proc;
    }
    q->pool = pool_start(&pc, x->results, err, errlen);
    if (!q->pool)
        return -1;
    if (qc->processes)
        q->functions = pool_functions(q->pool, &q->nfunctions);
    return 0;
}

static int exec_build_hello(executor *x, char *err, size_t errlen)
{
    const executor_config *cfg = x->cfg;
    x->decls = calloc(cfg->nqueues, sizeof(*x->decls));
    x->decl_ptrs = calloc(cfg->nqueues, sizeof(*x->decl_ptrs));
    if (!x->decls || !x->decl_ptrs) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->nqueues; i++) {
        Offload__QueueDecl init = OFFLOAD__QUEUE_DECL__INIT;
        x->decls[i] = init;
        x->decls[i].name = (char *)cfg->queues[i].name;
        x->decls[i].kind = cfg->queues[i].processes ? OFFLOAD__POOL_KIND__POOL_PROCESSES
                                                    : OFFLOAD__POOL_KIND__POOL_THREADS;
        x->decls[i].size = pool_size(x->queues[i].pool);
        x->decls[i].n_functions = x->queues[i].nfunctions;
        x->decls[i].functions = x->queues[i].functions;
        x->decl_ptrs[i] = &x->decls[i];
    }
    Offload__Hello init = OFFLOAD__HELLO__INIT;
    x->hello = init;
    x->hello.executor_id = (char *)cfg->id;
    x->hello.n_queues = cfg->nqueues;
    x->hello.queues = x->decl_ptrs;
    x->hello.heartbeat_ms = cfg->heartbeat_ms;
    x->hello.liveness = cfg->liveness;
    x->hello.max_payload = cfg->max_payload;
    x->hello.credit = 1; /* we send Credit to a gateway whose Welcome says credit */

    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_HELLO;
    env.hello = &x->hello;
    char why[256];
    if (codec_validate(&env, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s", why);
        return -EINVAL;
    }
    return 0;
}

executor *executor_new(const executor_config *cfg, char *err, size_t errlen)
{
    executor *x = calloc(1, sizeof(*x));
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    x->cfg = cfg;
    x->ready_fd = cfg->ready_fd;
    snprintf(x->max_payload_text, sizeof(x->max_payload_text), "%zu", cfg->max_payload);
    x->loop.signal_fd = x->loop.timer_fd = -1;

    if (cfg->nconnect < 1) {
        snprintf(err, errlen, "no gateway to connect to (--connect)");
        goto err;
    }
    sigset_t mask;
    signals_stop_set(&mask);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    if (loop_init(&x->loop, err, errlen) < 0)
        goto err;

    x->functions = functions_new();
    x->results = pool_results_new();
    x->queues = calloc(cfg->nqueues ? cfg->nqueues : 1, sizeof(*x->queues));
    x->plugins = calloc(cfg->nplugins + 1, sizeof(*x->plugins));
    x->links = calloc(cfg->nconnect, sizeof(*x->links));
    if (!x->functions || !x->results || !x->queues || !x->plugins || !x->links) {
        snprintf(err, errlen, "out of memory or file descriptors");
        goto err;
    }
    for (size_t i = 0; i < cfg->nplugins; i++)
        if (!(x->plugins[i] = plugin_load(x->functions, cfg->plugins[i], err, errlen)))
            goto err;
    for (size_t i = 0; i < cfg->nqueues; i++) {
        if (!(x->queues[i].peers = calloc(cfg->nconnect, sizeof(credit_peer)))) {
            snprintf(err, errlen, "out of memory");
            goto err;
        }
        if (exec_queue_start(x, &x->queues[i], &cfg->queues[i], err, errlen) < 0)
            goto err;
    }
    if (exec_build_hello(x, err, errlen) < 0)
        goto err;

    x->zctx = zmq_ctx_new();
    if (!x->zctx) {
        snprintf(err, errlen, "ZeroMQ context: %s", zmq_strerror(errno));
        goto err;
    }
    /* ZeroMQ reads ahead of the loop up to rcvhwm messages: room for every
     * job the queues may hold and a Cancel for each, no more (a flood of
     * Jobs then waits in TCP, not in memory). */
    size_t held = 0;
    for (size_t i = 0; i < cfg->nqueues; i++) {
        exec_queue *q = &x->queues[i];
        size_t size = pool_size(q->pool);
        size_t pending = cfg->max_pending < 0 ? size * cfg->nconnect : (size_t)cfg->max_pending;
        q->limit = size + pending;
        held += q->limit;
    }
    size_t hwm = 2 * held + 256;
    link_config lc = {
        .max_frame = cfg->max_frame > cfg->max_payload + WIRE_FRAME_SLACK
                         ? cfg->max_frame
                         : cfg->max_payload + WIRE_FRAME_SLACK,
        .heartbeat_ms = cfg->heartbeat_ms,
        .timeout_ms = cfg->link_timeout_ms,
        .rcvhwm = hwm < WIRE_HWM ? (int)hwm : WIRE_HWM,
        .curve = {cfg->curve_public, cfg->curve_secret, cfg->curve_server},
    };
    for (size_t i = 0; i < cfg->nconnect; i++) {
        x->links[i] = link_new(x->zctx, cfg->connect[i], (unsigned)i, &lc, err, errlen);
        if (!x->links[i])
            goto err;
        x->nlinks++;
        x->links[i]->owner = x;
        if (loop_add_socket(&x->loop, x->links[i]->monitor, exec_on_monitor, x->links[i]) < 0 ||
            loop_add_socket(&x->loop, x->links[i]->sock, exec_on_link, x->links[i]) < 0) {
            snprintf(err, errlen, "out of memory");
            goto err;
        }
    }
    if (loop_add_fd(&x->loop, pool_results_fd(x->results), exec_on_results, x) < 0) {
        snprintf(err, errlen, "out of memory");
        goto err;
    }
    loop_on_signal(&x->loop, exec_on_signal, x);
    loop_on_timeout(&x->loop, exec_before_poll, x);

    char queues[1024] = "", gateways[512] = "", pending_text[32] = "size_x_gateways";
    if (cfg->max_pending >= 0)
        snprintf(pending_text, sizeof(pending_text), "%ld", cfg->max_pending);
    size_t n = 0;
    for (size_t i = 0; i < cfg->nqueues && n < sizeof(queues); i++) {
        const executor_queue *q = &cfg->queues[i];
        char size[32];
        if (q->min == q->max)
            snprintf(size, sizeof(size), "%u", q->max);
        else
            snprintf(size, sizeof(size), "%u-%u", q->min, q->max);
        n += (size_t)snprintf(queues + n, sizeof(queues) - n, "%s%s=%s:%s/%zu", i ? "," : "",
                              q->name, q->processes ? "processes" : "threads", size,
                              x->queues[i].nfunctions);
    }
    n = 0;
    for (size_t i = 0; i < cfg->nconnect && n < sizeof(gateways); i++)
        n += (size_t)snprintf(gateways + n, sizeof(gateways) - n, "%s%s", i ? "," : "",
                              cfg->connect[i]);
    log_info("event=started id=%s queues=%s functions=%zu plugins=%zu gateways=%s "
             "heartbeat_ms=%u liveness=%u max_payload=%zu max_frame=%zu max_pending=%s",
             cfg->id, queues, functions_count(x->functions), cfg->nplugins, gateways,
             cfg->heartbeat_ms, cfg->liveness, cfg->max_payload, lc.max_frame, pending_text);
    return x;

err:
    executor_destroy(&x);
    return NULL;
}

void executor_destroy(executor **xp)
{
    executor *x = *xp;
    if (!x)
        return;
    /* Pools first: once joined, every job is in the results list. */
    for (size_t i = 0; x->queues && i < x->cfg->nqueues; i++) {
        pool_destroy(&x->queues[i].pool);
        free(x->queues[i].peers);
        free(x->queues[i].argv);
        free(x->queues[i].envp);
    }
    if (x->results) {
        pool_job *pj = pool_results_take(x->results);
        while (pj) {
            pool_job *next = pj->next;
            exec_job *job = exec_job_of(pj);
            if (!job->orphaned)
                HASH_DEL(x->jobs, job);
            exec_job_free(job);
            pj = next;
        }
        pool_results_destroy(&x->results);
    }
    for (size_t i = 0; i < x->nlinks; i++)
        link_destroy(&x->links[i]);
    if (x->zctx)
        zmq_ctx_term(x->zctx);
    loop_close(&x->loop);
    functions_destroy(&x->functions);
    for (size_t i = 0; x->plugins && i < x->cfg->nplugins; i++)
        plugin_unload(&x->plugins[i]);
    free(x->plugins);
    free(x->queues);
    free(x->links);
    free(x->decls);
    free(x->decl_ptrs);
    free(x);
    *xp = NULL;
}
