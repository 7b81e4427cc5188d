/* gateway_fx.h -- a gateway's tables (jobs, executors, clients) without
 * sockets or a loop, for the suites of the job life cycle and its callers
 * (test_jobs.c, test_executors.c, test_clients.c, test_detached.c):
 * executors "send" through a fake wire that records every message and can
 * make the sends to one executor fail; hello, result and goodbye play an
 * executor's messages, submit a caller's. Header-only: each suite gets its
 * own copy. */
#ifndef OFFLOAD_GATEWAY_FX_H
#define OFFLOAD_GATEWAY_FX_H

#include <stdlib.h>
#include <string.h>

#include "clients.h"
#include "clock.h"
#include "dispatch.h"
#include "executors.h"
#include "core.h"
#include "jobs.h"
#include "log.h"
#include "unit.h"

#define RIDS 8

typedef struct harness {
    gw_core core;       /* only its tables: no sockets, no loop */
    clients clients;    /* the liboffload front, on core */
    int fail_rid;       /* sends to this rid byte fail; 0: none */
    int fail_body;      /* ...only of this body case; 0: any */
    int sent[RIDS][32]; /* messages per rid byte and body case */
    uint64_t last_job[RIDS];
    int answers;      /* done callbacks */
    job_outcome last; /* the last one (pointers not kept) */
    uint64_t last_reply_request;
    int last_reply_code;
    int replies;
    int welcome_pool_stats; /* the last Welcome's pool_stats */
    int cancel_deadline;    /* the last Cancel's deadline */
    /* The trace fields of the last Job and the last Reply sent. */
    char job_traceparent[TRACE_PARENT_LEN + 1], job_tracestate[TRACE_STATE_MAX + 1];
    char reply_traceparent[TRACE_PARENT_LEN + 1], reply_tracestate[TRACE_STATE_MAX + 1];
} harness;

static harness H;
static uint32_t hello_heartbeat_ms;
static uint64_t hello_max_payload;
static int saved_log_level;

static inline int fake_send(void *arg, const wire_rid *rid, codec_envelope *env)
{
    harness *h = arg;
    int r = rid->bytes[0] % RIDS;
    if (h->fail_rid && rid->bytes[0] == h->fail_rid &&
        (!h->fail_body || h->fail_body == (int)env->body_case))
        return -EHOSTUNREACH;
    h->sent[r][env->body_case % 32]++;
    if (env->body_case == OFFLOAD__ENVELOPE__BODY_JOB) {
        h->last_job[r] = env->job->job_id;
        snprintf(h->job_traceparent, sizeof(h->job_traceparent), "%s", env->job->traceparent);
        snprintf(h->job_tracestate, sizeof(h->job_tracestate), "%s", env->job->tracestate);
    }
    if (env->body_case == OFFLOAD__ENVELOPE__BODY_WELCOME)
        h->welcome_pool_stats = env->welcome->pool_stats;
    if (env->body_case == OFFLOAD__ENVELOPE__BODY_CANCEL)
        h->cancel_deadline = env->cancel->deadline;
    if (env->body_case == OFFLOAD__ENVELOPE__BODY_REPLY) {
        h->replies++;
        h->last_reply_request = env->reply->request_id;
        h->last_reply_code = env->reply->code;
        snprintf(h->reply_traceparent, sizeof(h->reply_traceparent), "%s", env->reply->traceparent);
        snprintf(h->reply_tracestate, sizeof(h->reply_tracestate), "%s", env->reply->tracestate);
    }
    return 0;
}

static inline void harness_init(void)
{
    memset(&H, 0, sizeof(H));
    hello_heartbeat_ms = 0;
    hello_max_payload = 0;
    saved_log_level = log_level_current;
    log_level_current = LOG_ERROR; /* the losses below are meant */
    gw_core *gw = &H.core;
    static gateway_config cfg = {.id = "test-gateway"};
    gw->cfg = &cfg;
    timers_init(&gw->loop.timers);
    jobs_ops ops = {
        .send = executors_send_job, .cancel = executors_send_cancel, .arg = &gw->executors};
    jobs_limits limits = {.max_payload = 1024,
                          .default_timeout_ms = 60000,
                          .max_timeout_ms = 3600000,
                          .max_waiting = 2,
                          .default_retries = 0};
    jobs_init(&gw->jobs, &gw->queues, &gw->executors.fleet, &gw->loop.timers, &gw->stats, &ops,
              &limits, 1000);
    executors_init(&gw->executors, &gw->queues, &gw->jobs, &gw->loop.timers, &gw->stats, fake_send,
                   &H, "test-gateway", 1000, 3);
    clients_init(&H.clients, gw, &gw->loop.timers, fake_send, &H);
}

static inline void harness_close(void)
{
    gw_core *gw = &H.core;
    executors_reap(&gw->executors);
    jobs_close(&gw->jobs, OFFLOAD__CODE__CODE_NO_EXECUTOR, "closing");
    clients_close(&H.clients);
    executors_close(&gw->executors);
    queue_table_free(&gw->queues);
    timers_free(&gw->loop.timers);
    log_level_current = saved_log_level;
}

/* Hands env to the executors' side as a message from rid byte b. */
static inline void from_executor(uint8_t b, codec_envelope *env)
{
    wire_rid rid = {.len = 1, .bytes = {b}};
    executors_on_message(&H.core.executors, &rid, env);
}

/* Hands env to the clients front as a message from rid byte b at now_us. */
static inline void from_client(uint8_t b, codec_envelope *env, uint64_t now_us)
{
    wire_rid rid = {.len = 1, .bytes = {b}};
    clients_on_message(&H.clients, &rid, env, now_us);
}

/* A client's Submit s from rid byte b at now_us. */
static inline void client_submit(uint8_t b, Offload__Submit *s, uint64_t now_us)
{
    codec_envelope env;
    ENVELOPE_SET(&env, submit, SUBMIT, s);
    from_client(b, &env, now_us);
}

/* A Hello from rid byte b: queues "a" (and "b" when two) of size slots,
 * heartbeat interval hello_heartbeat_ms (0: the gateway's default). */
static inline void hello(uint8_t b, int two_queues, uint32_t size)
{
    Offload__QueueDecl qa = OFFLOAD__QUEUE_DECL__INIT, qb = OFFLOAD__QUEUE_DECL__INIT;
    Offload__QueueDecl *decls[] = {&qa, &qb};
    qa.name = "a";
    qb.name = "b";
    qa.kind = qb.kind = OFFLOAD__POOL_KIND__POOL_THREADS;
    qa.size = qb.size = size;
    char *fns[] = {"echo", "sleep"};
    qa.n_functions = qb.n_functions = 2;
    qa.functions = qb.functions = fns;
    char id[16];
    snprintf(id, sizeof(id), "exec-%u", b);
    Offload__Hello h = OFFLOAD__HELLO__INIT;
    h.executor_id = id;
    h.n_queues = two_queues ? 2 : 1;
    h.queues = decls;
    h.heartbeat_ms = hello_heartbeat_ms;
    h.max_payload = hello_max_payload;
    codec_envelope env;
    ENVELOPE_SET(&env, hello, HELLO, &h);
    from_executor(b, &env);
}

static inline void result(uint8_t b, uint64_t job_id, int code, const char *payload)
{
    Offload__Result r = OFFLOAD__RESULT__INIT;
    r.job_id = job_id;
    r.code = code;
    r.payload.data = (uint8_t *)payload;
    r.payload.len = payload ? strlen(payload) : 0;
    codec_envelope env;
    ENVELOPE_SET(&env, result, RESULT, &r);
    from_executor(b, &env);
}

static inline void goodbye(uint8_t b)
{
    Offload__Goodbye g = OFFLOAD__GOODBYE__INIT;
    g.reason = "drained";
    codec_envelope env;
    ENVELOPE_SET(&env, goodbye, GOODBYE, &g);
    from_executor(b, &env);
}

static inline void on_done(gw_job *job, const job_outcome *out, void *arg)
{
    (void)job;
    (void)arg;
    H.answers++;
    H.last = *out;
    H.last.payload = NULL;
    H.last.message = NULL;
}

/* Submits r as the HTTP front does (answers reach on_done); returns the
 * Code. */
static inline int submit_request(job_request *r, gw_job **job)
{
    char err[256];
    return core_submit(&H.core, r, on_done, NULL, job, err, sizeof(err));
}

/* A job whose payload is len zero bytes (the default timeout and retries). */
static inline int submit_len(const char *queue, const char *function, size_t len, gw_job **job)
{
    job_request r = {.queue = queue,
                     .function = function,
                     .payload = calloc(1, len + 1),
                     .len = len,
                     .retries = -1};
    return submit_request(&r, job);
}

/* A job with an empty payload (timeout_ms 0, retries -1: the defaults). */
static inline int submit(const char *queue, const char *function, uint32_t timeout_ms, int retries,
                         gw_job **job)
{
    job_request r = {.queue = queue,
                     .function = function,
                     .payload = malloc(1),
                     .len = 0,
                     .timeout_ms = timeout_ms,
                     .retries = retries};
    return submit_request(&r, job);
}

static inline uint64_t stat(gateway_counter c)
{
    return H.core.stats.v[c];
}

#endif
