/* gateway.c -- the loop, the executor protocol, and the life of a job.
 *
 * A job is created by gateway_submit (from HTTP or the clients socket),
 * waits in its queue's FIFO, is sent by the dispatcher to an executor with
 * a free slot, and ends in exactly one of: its Result, its deadline, the
 * loss of its executor (unless it has retries left: then it goes back to
 * the head of its queue), or its caller's detach. Whatever ends it first
 * answers the caller (job_answer); the job itself stays until its
 * executor's slot is free again, so credit always matches real capacity.
 * On SIGTERM the loop drains (gw_on_signals) before it stops.
 *
 * Why MHD runs in external mode inside this loop rather than on MHD's own
 * thread with cross-thread resume: see http.c. */
#include "gateway.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "dispatch.h"
#include "errors.h"
#include "http.h"
#include "log.h"
#include "wire.h"

#define GW_RECV_BATCH 256    /* messages per socket per loop turn */
#define GW_FRAME_SLACK 65536 /* frame bytes beyond the payload limit */

/* A flood of bad input is logged in a few lines a second; gateway_stats
 * still counts every one. */
static log_limiter gw_limiter;
#define gw_log_allowed() log_limiter_allow(&gw_limiter, 5)

/* ---- sending ---------------------------------------------------------- */

static void gw_executor_lost(gateway *gw, gw_executor *e, const char *why);

/* Sends env to executor e. A failure to route means the executor is gone. */
static int gw_send_executor(gateway *gw, gw_executor *e, codec_envelope *env)
{
    int rc = wire_send(gw->exec_sock, &e->rid, env, ZMQ_DONTWAIT);
    if (rc < 0) {
        gw->stats.send_failures++;
        log_warn("event=send_failed executor=%s body=%s error=\"%s\"", e->id,
                 codec_body_name(env->body_case), zmq_strerror(-rc));
        return rc;
    }
    e->last_send_us = clock_now_us();
    return 0;
}

static void gw_send_refuse(gateway *gw, const wire_rid *rid, Offload__RefuseReason reason,
                           const char *message)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Refuse refuse = OFFLOAD__REFUSE__INIT;
    refuse.reason = reason;
    refuse.version = OFFLOAD_PROTOCOL_VERSION;
    refuse.message = (char *)message;
    env.body_case = OFFLOAD__ENVELOPE__BODY_REFUSE;
    env.refuse = &refuse;
    wire_send(gw->exec_sock, rid, &env, ZMQ_DONTWAIT);
}

static int gw_send_job(gw_executor *e, gw_job *job, void *arg)
{
    gateway *gw = arg;
    uint64_t now = clock_now_us();
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Job msg = OFFLOAD__JOB__INIT;
    msg.job_id = job->id;
    msg.queue = job->queue->name;
    msg.function = job->function;
    msg.payload.data = job->payload;
    msg.payload.len = job->payload_len;
    msg.timeout_ms = job->deadline_us > now ? (uint32_t)((job->deadline_us - now + 999) / 1000) : 1;
    msg.waited_us = now - job->created_us;
    env.body_case = OFFLOAD__ENVELOPE__BODY_JOB;
    env.job = &msg;
    if (gw_send_executor(gw, e, &env) < 0) {
        gw->unreachable = e;
        return -1;
    }
    job->sent_us = now;
    HASH_ADD(hh, gw->jobs, id, sizeof(job->id), job);
    if (!job->retries) {
        /* The payload travelled and will not be sent again. */
        free(job->payload);
        job->payload = NULL;
        job->payload_len = 0;
    }
    return 0;
}

static void gw_send_cancel(gateway *gw, gw_job *job)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Cancel cancel = OFFLOAD__CANCEL__INIT;
    cancel.job_id = job->id;
    env.body_case = OFFLOAD__ENVELOPE__BODY_CANCEL;
    env.cancel = &cancel;
    gw_send_executor(gw, job->executor, &env);
}

/* Dispatches q; an executor that cannot be reached is declared lost and
 * dispatching goes on with the others. */
static void gw_dispatch(gateway *gw, gw_queue *q)
{
    for (;;) {
        gw->unreachable = NULL;
        dispatch_queue(&gw->fleet, q, gw_send_job, gw);
        if (!gw->unreachable)
            return;
        gw_executor_lost(gw, gw->unreachable, "unreachable");
    }
}

/* ---- the life of a job ---------------------------------------------- */

/* Answers the job's caller, once. */
static void job_answer(gw_job *job, const job_outcome *out)
{
    job_done_fn done = job->done;
    if (!done)
        return;
    job->done = NULL;
    done(job, out, job->done_arg);
}

static void job_answer_error(gw_job *job, int code, const char *message, uint64_t now)
{
    job_outcome out = {.code = code, .message = message, .waited_us = now - job->created_us};
    job_answer(job, &out);
}

/* Ends a job that is no longer on an executor (or never was). */
static void gw_job_end(gateway *gw, gw_job *job)
{
    timers_stop(&gw->timers, &job->deadline);
    if (job->state == JOB_WAITING)
        queue_remove(job->queue, job);
    job_free(job);
}

/* A sent job's caller is answered but its executor still runs it: keep the
 * job (and its slot) until the Result, and ask the executor to stop. */
static void gw_job_abandon(gateway *gw, gw_job *job)
{
    timers_stop(&gw->timers, &job->deadline);
    job->state = JOB_ABANDONED;
    job->done = NULL;
    gw_send_cancel(gw, job);
}

static void gw_job_timeout(gw_timer *t, void *arg)
{
    gw_job *job = arg;
    gateway *gw = job->owner;
    uint64_t now = clock_now_us();
    (void)t;
    gw_queue *q = job->queue;
    char msg[256];
    if (job->state == JOB_WAITING) {
        if (q->executors == 0) {
            snprintf(msg, sizeof(msg),
                     "no executor serves queue '%s'; start one with "
                     "offload-executor --queue %s=threads:N",
                     q->name, q->name);
            job_answer_error(job, OFFLOAD__CODE__CODE_NO_EXECUTOR, msg, now);
        } else {
            snprintf(msg, sizeof(msg),
                     "deadline passed after %llu ms waiting in queue '%s' (%u slots, all busy)",
                     (unsigned long long)((now - job->created_us) / 1000), q->name,
                     q->capacity);
            q->timeouts++;
            job_answer_error(job, OFFLOAD__CODE__CODE_TIMEOUT, msg, now);
        }
        gw_job_end(gw, job);
        return;
    }
    if (job->state == JOB_RUNNING) {
        snprintf(msg, sizeof(msg), "deadline passed after %llu ms (%llu ms running on %s)",
                 (unsigned long long)((now - job->created_us) / 1000),
                 (unsigned long long)((now - job->sent_us) / 1000), job->executor->id);
        q->timeouts++;
        job_outcome out = {.code = OFFLOAD__CODE__CODE_TIMEOUT,
                           .message = msg,
                           .waited_us = job->sent_us - job->created_us,
                           .run_us = now - job->sent_us};
        job_answer(job, &out);
        gw_job_abandon(gw, job);
    }
}

static long long gw_max_waiting(const gateway *gw, const gw_queue *q)
{
    return q->max_waiting >= 0 ? q->max_waiting : gw->cfg->max_waiting;
}

unsigned gateway_retry_after(gateway *gw, const char *queue)
{
    gw_queue *q = queue_find(&gw->queues, queue);
    return q ? queue_retry_after(q) : 1;
}

int gateway_submit(gateway *gw, const char *queue, const char *function, uint8_t **payload,
                   size_t len, uint32_t timeout_ms, int retries, job_done_fn done, void *arg,
                   gw_job **out, char *err, size_t errlen)
{
    const gateway_config *cfg = gw->cfg;
    *out = NULL;
    gw_queue *q = queue_find(&gw->queues, queue);
    int code = OFFLOAD__CODE__CODE_OK;
    if (!q) {
        snprintf(err, errlen,
                 "no queue '%s': no executor has declared it and no --route or --queue names it",
                 queue);
        code = OFFLOAD__CODE__CODE_UNKNOWN_QUEUE;
    } else if (q->executors && !fleet_queue_offers(&gw->fleet, q, function)) {
        snprintf(err, errlen, "no executor of queue '%s' offers function '%s'", queue,
                 function);
        code = OFFLOAD__CODE__CODE_UNKNOWN_FUNCTION;
    } else if ((long long)len > cfg->max_payload) {
        snprintf(err, errlen, "payload of %zu bytes is over the limit of %lld (--max-payload)",
                 len, cfg->max_payload);
        code = OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE;
    } else if (timeout_ms > cfg->max_timeout_ms) {
        snprintf(err, errlen, "timeout of %u ms is over the limit of %lld (--max-timeout-ms)",
                 timeout_ms, cfg->max_timeout_ms);
        code = OFFLOAD__CODE__CODE_BAD_REQUEST;
    } else if (retries > GATEWAY_MAX_RETRIES) {
        snprintf(err, errlen, "retries of %d is over the limit of %d", retries,
                 GATEWAY_MAX_RETRIES);
        code = OFFLOAD__CODE__CODE_BAD_REQUEST;
    } else if ((long long)q->waiting >= gw_max_waiting(gw, q) && q->busy >= q->capacity) {
        snprintf(err, errlen, "queue '%s' is full: %zu jobs waiting (--max-waiting %lld)",
                 queue, q->waiting, gw_max_waiting(gw, q));
        q->rejected++;
        code = OFFLOAD__CODE__CODE_QUEUE_FULL;
    }
    if (code != OFFLOAD__CODE__CODE_OK) {
        free(*payload);
        *payload = NULL;
        return code;
    }

    uint64_t now = clock_now_us();
    uint64_t timeout_us = (uint64_t)(timeout_ms ? timeout_ms : cfg->default_timeout_ms) * 1000;
    gw_job *job = job_new(++gw->next_job_id, q, function, payload, len, now, now + timeout_us);
    if (!job || timers_start(&gw->timers, &job->deadline, job->deadline_us, gw_job_timeout,
                             job) < 0) {
        job_free(job);
        snprintf(err, errlen, "out of memory");
        return OFFLOAD__CODE__CODE_QUEUE_FULL;
    }
    job->owner = gw;
    job->retries = (uint32_t)(retries < 0 ? cfg->default_retries : retries);
    job->done = done;
    job->done_arg = arg;
    q->submitted++;
    queue_push(q, job);
    gw_dispatch(gw, q);
    *out = job;
    return OFFLOAD__CODE__CODE_OK;
}

void gateway_detach(gateway *gw, gw_job *job)
{
    job->done = NULL;
    if (job->state == JOB_RUNNING)
        gw_job_abandon(gw, job);
    else if (job->state == JOB_WAITING || job->state == JOB_NEW)
        gw_job_end(gw, job);
}

/* ---- executors ------------------------------------------------------ */

/* Drops executor e. Each job it was running goes back to the head of its
 * queue if it has retries left and time before its deadline, or is answered
 * executor_lost; e's slots leave their queues' capacity. A Result that e
 * still sends for a retried job no longer matches (job->executor) and is
 * dropped, so no job is answered twice. */
static void gw_executor_lost(gateway *gw, gw_executor *e, const char *why)
{
    gw_job *job, *tmp;
    uint64_t now = clock_now_us();
    size_t lost = 0, retried = 0;
    char msg[256];
    snprintf(msg, sizeof(msg), "executor %s was lost (%s) while running the job", e->id, why);
    HASH_ITER(hh, gw->jobs, job, tmp)
    {
        if (job->executor != e)
            continue;
        HASH_DEL(gw->jobs, job);
        dispatch_release(job);
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
            job_answer(job, &out);
            lost++;
        }
        gw_job_end(gw, job);
    }
    gw->stats.executors_lost++;
    gw->stats.jobs_lost += lost;
    gw->stats.jobs_retried += retried;
    log_warn("event=executor_lost executor=%s reason=%s jobs_lost=%zu jobs_retried=%zu", e->id,
             why, lost, retried);
    fleet_remove(&gw->fleet, e);
    if (retried) {
        gw_queue *q, *qtmp;
        HASH_ITER(hh, gw->queues.by_name, q, qtmp)
        {
            if (q->waiting)
                gw_dispatch(gw, q);
        }
    }
}

static void gw_on_hello(gateway *gw, const wire_rid *rid, const Offload__Hello *hello)
{
    const gateway_config *cfg = gw->cfg;
    uint64_t now = clock_now_us();
    int known = fleet_find(&gw->fleet, rid) != NULL;
    gw_executor *e = fleet_register(&gw->fleet, &gw->queues, rid, hello,
                                    (uint32_t)cfg->heartbeat_ms, (uint32_t)cfg->liveness, now);
    if (!e) {
        log_error("event=hello_refused executor=%s reason=\"out of memory or queues\"",
                  hello->executor_id);
        gw_send_refuse(gw, rid, OFFLOAD__REFUSE_REASON__REFUSE_INVALID,
                       "the gateway cannot take more queues or executors");
        return;
    }
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Welcome welcome = OFFLOAD__WELCOME__INIT;
    welcome.gateway_id = cfg->id;
    env.body_case = OFFLOAD__ENVELOPE__BODY_WELCOME;
    env.welcome = &welcome;
    if (gw_send_executor(gw, e, &env) < 0) {
        gw_executor_lost(gw, e, "unreachable");
        return;
    }
    char queues[512];
    size_t n = 0;
    queues[0] = '\0';
    for (size_t i = 0; i < e->nslots && n < sizeof(queues); i++)
        n += (size_t)snprintf(queues + n, sizeof(queues) - n, "%s%s:%u", i ? "," : "",
                              e->slots[i].queue->name, e->slots[i].size);
    log_info("event=%s executor=%s queues=%s functions=%zu heartbeat_ms=%u liveness=%u",
             known ? "executor_reregistered" : "executor_registered", e->id, queues,
             e->nfunctions, e->heartbeat_ms, e->liveness);
    for (size_t i = 0; i < e->nslots; i++)
        gw_dispatch(gw, e->slots[i].queue);
}

static void gw_on_result(gateway *gw, gw_executor *e, const Offload__Result *r)
{
    gw_job *job = NULL;
    uint64_t id = r->job_id;
    HASH_FIND(hh, gw->jobs, &id, sizeof(id), job);
    if (!job || job->executor != e) {
        gw->stats.results_unknown++;
        if (gw_log_allowed())
            log_warn("event=result_dropped executor=%s job_id=%llu reason=unknown_job", e->id,
                     (unsigned long long)id);
        return;
    }
    HASH_DEL(gw->jobs, job);
    dispatch_release(job);
    gw_queue *q = job->queue;
    queue_note_done(q, clock_now_us());
    if (job->state == JOB_RUNNING) {
        job_outcome out = {.code = r->code,
                           .payload = r->payload.data,
                           .len = r->payload.len,
                           .message = r->message && *r->message ? r->message : NULL,
                           .waited_us = job->sent_us - job->created_us,
                           .run_us = r->run_us};
        if (r->code == OFFLOAD__CODE__CODE_OK)
            q->completed++;
        else
            q->failed++;
        job_answer(job, &out);
    } else {
        gw->stats.results_late++;
    }
    gw_job_end(gw, job);
    gw_dispatch(gw, q);
}

static void gw_on_executor_msg(gateway *gw, const wire_rid *rid, codec_envelope *env)
{
    gw_executor *e = fleet_find(&gw->fleet, rid);
    if (env->body_case == OFFLOAD__ENVELOPE__BODY_HELLO) {
        gw_on_hello(gw, rid, env->hello);
        return;
    }
    if (!e) {
        /* A restarted gateway meets executors that registered with the old
         * one, and a dropped executor may still send what it finished: ask
         * them to say Hello again. A Result here is for a job this gateway
         * answered or retried already: dropped, and counted. */
        if (env->body_case == OFFLOAD__ENVELOPE__BODY_RESULT) {
            gw->stats.results_unknown++;
            if (gw_log_allowed())
                log_warn("event=result_dropped job_id=%llu reason=unknown_executor",
                         (unsigned long long)env->result->job_id);
        }
        if (env->body_case != OFFLOAD__ENVELOPE__BODY_GOODBYE)
            gw_send_refuse(gw, rid, OFFLOAD__REFUSE_REASON__REFUSE_UNKNOWN,
                           "unknown executor: send Hello");
        return;
    }
    e->last_recv_us = clock_now_us();
    switch (env->body_case) {
    case OFFLOAD__ENVELOPE__BODY_HEARTBEAT:
        break;
    case OFFLOAD__ENVELOPE__BODY_RESULT:
        gw_on_result(gw, e, env->result);
        break;
    case OFFLOAD__ENVELOPE__BODY_DRAIN:
        log_info("event=executor_draining executor=%s jobs_in_flight=%zu timeout_ms=%u", e->id,
                 e->inflight, env->drain->timeout_ms);
        fleet_drain(&gw->fleet, e);
        break;
    case OFFLOAD__ENVELOPE__BODY_GOODBYE:
        log_info("event=executor_goodbye executor=%s reason=\"%s\"", e->id,
                 env->goodbye->reason ? env->goodbye->reason : "");
        gw_executor_lost(gw, e, "goodbye");
        break;
    default:
        gw->stats.frames_unexpected++;
        if (gw_log_allowed())
            log_warn("event=frame_dropped socket=executors executor=%s reason=\"unexpected %s\"",
                     e->id, codec_body_name(env->body_case));
    }
}

/* Counts and logs a frame that failed decoding; answers a version mismatch. */
static void gw_bad_frame(gateway *gw, const char *socket, const wire_rid *rid, int rc,
                         const char *err)
{
    char hex[2 * WIRE_RID_MAX + 1];
    if (rc == CODEC_EVERSION) {
        gw->stats.frames_version++;
        if (gw_log_allowed())
            log_error("event=version_mismatch socket=%s peer=%s error=\"%s\"", socket,
                      wire_rid_hex(rid, hex, sizeof(hex)), err);
        if (!strcmp(socket, "executors")) {
            char msg[128];
            snprintf(msg, sizeof(msg), "this gateway speaks protocol version %d",
                     OFFLOAD_PROTOCOL_VERSION);
            gw_send_refuse(gw, rid, OFFLOAD__REFUSE_REASON__REFUSE_VERSION, msg);
        }
        return;
    }
    gw->stats.frames_bad++;
    if (gw_log_allowed())
        log_warn("event=frame_dropped socket=%s peer=%s error=\"%s\"", socket,
                 wire_rid_hex(rid, hex, sizeof(hex)), err);
    if (rc == CODEC_EINVALID && !strcmp(socket, "executors"))
        gw_send_refuse(gw, rid, OFFLOAD__REFUSE_REASON__REFUSE_INVALID, err);
}

typedef void (*gw_msg_fn)(gateway *gw, const wire_rid *rid, codec_envelope *env);

/* Reads up to a batch of messages from one ROUTER socket, hands each valid
 * one to on_msg and counts (and answers, see gw_bad_frame) the others. */
static void gw_read(gateway *gw, void *sock, const char *name, gw_msg_fn on_msg)
{
    size_t max = (size_t)gw->cfg->max_payload + GW_FRAME_SLACK;
    for (int i = 0; i < GW_RECV_BATCH; i++) {
        wire_rid rid = {0};
        codec_envelope *env;
        char err[256];
        int rc = wire_recv(sock, &rid, max, &env, NULL, err, sizeof(err));
        if (rc == -EAGAIN || rc == -EINTR)
            return;
        if (rc < 0) {
            gw_bad_frame(gw, name, &rid, rc, err);
            continue;
        }
        on_msg(gw, &rid, env);
        codec_free(env);
    }
}

/* ---- clients (liboffload) ------------------------------------------ */

typedef struct client_call {
    gateway *gw;
    wire_rid rid;
    uint64_t request_id;
} client_call;

static void gw_client_reply(gateway *gw, const wire_rid *rid, uint64_t request_id,
                            uint64_t job_id, const job_outcome *o)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Reply reply = OFFLOAD__REPLY__INIT;
    reply.request_id = request_id;
    reply.job_id = job_id;
    reply.code = o->code;
    reply.payload.data = (uint8_t *)o->payload;
    reply.payload.len = o->len;
    reply.message = (char *)o->message;
    reply.waited_us = o->waited_us;
    reply.run_us = o->run_us;
    env.body_case = OFFLOAD__ENVELOPE__BODY_REPLY;
    env.reply = &reply;
    if (wire_send(gw->client_sock, rid, &env, ZMQ_DONTWAIT) < 0)
        gw->stats.send_failures++;
}

static void gw_client_done(gw_job *job, const job_outcome *out, void *arg)
{
    client_call *c = arg;
    gw_client_reply(c->gw, &c->rid, c->request_id, job->id, out);
    free(c);
}

static void gw_on_submit(gateway *gw, const wire_rid *rid, Offload__Submit *s)
{
    gw->stats.client_requests++;
    client_call *c = malloc(sizeof(*c));
    uint8_t *payload = malloc(s->payload.len ? s->payload.len : 1);
    char err[256] = "out of memory";
    int code = OFFLOAD__CODE__CODE_QUEUE_FULL;
    if (gw->draining) {
        snprintf(err, sizeof(err), "the gateway is shutting down; retry on another gateway");
        code = OFFLOAD__CODE__CODE_NO_EXECUTOR;
    } else if (c && payload) {
        if (s->payload.len)
            memcpy(payload, s->payload.data, s->payload.len);
        c->gw = gw;
        c->rid = *rid;
        c->request_id = s->request_id;
        gw_job *job;
        code = gateway_submit(gw, s->queue, s->function, &payload, s->payload.len,
                              s->timeout_ms, s->retries ? (int)s->retries : -1, gw_client_done, c,
                              &job, err, sizeof(err));
        if (code == OFFLOAD__CODE__CODE_OK)
            return;
    }
    free(payload);
    free(c);
    job_outcome out = {.code = code, .message = err};
    gw_client_reply(gw, rid, s->request_id, 0, &out);
}

static void gw_on_client_msg(gateway *gw, const wire_rid *rid, codec_envelope *env)
{
    if (env->body_case == OFFLOAD__ENVELOPE__BODY_SUBMIT) {
        gw_on_submit(gw, rid, env->submit);
    } else if (env->body_case != OFFLOAD__ENVELOPE__BODY_HEARTBEAT) {
        gw->stats.frames_unexpected++;
        if (gw_log_allowed())
            log_warn("event=frame_dropped socket=clients reason=\"unexpected %s\"",
                     codec_body_name(env->body_case));
    }
}

/* ---- heartbeats ----------------------------------------------------- */

static uint64_t gw_tick_us(const gateway_config *cfg)
{
    uint64_t us = (uint64_t)cfg->heartbeat_ms * 1000 / 4;
    return us < 10000 ? 10000 : us > 250000 ? 250000 : us;
}

static void gw_tick(gw_timer *t, void *arg)
{
    gateway *gw = arg;
    uint64_t now = clock_now_us();
    gw_executor *e, *tmp;
    HASH_ITER(hh, gw->fleet.by_rid, e, tmp)
    {
        uint64_t period = (uint64_t)e->heartbeat_ms * 1000;
        if (now - e->last_recv_us > period * e->liveness) {
            char why[96];
            snprintf(why, sizeof(why), "silent for %llu ms",
                     (unsigned long long)((now - e->last_recv_us) / 1000));
            gw_executor_lost(gw, e, why);
            continue;
        }
        if (now - e->last_send_us >= period) {
            Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
            Offload__Heartbeat hb = OFFLOAD__HEARTBEAT__INIT;
            env.body_case = OFFLOAD__ENVELOPE__BODY_HEARTBEAT;
            env.heartbeat = &hb;
            if (gw_send_executor(gw, e, &env) < 0)
                gw_executor_lost(gw, e, "unreachable");
        }
    }
    timers_start(&gw->timers, t, now + gw_tick_us(gw->cfg), gw_tick, gw);
}

/* ---- set-up and the loop ------------------------------------------- */

static void *gw_bind(gateway *gw, const char *endpoint, char *bound, size_t boundlen,
                     char *err, size_t errlen)
{
    void *s = zmq_socket(gw->zctx, ZMQ_ROUTER);
    int one = 1, zero = 0, hwm = 100000;
    int64_t maxmsg = gw->cfg->max_payload + GW_FRAME_SLACK;
    if (!s)
        goto err;
    if (zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) ||
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) ||
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm)) ||
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm)) ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)))
        goto err;
    if (zmq_bind(s, endpoint) != 0)
        goto err;
    size_t len = boundlen;
    if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, bound, &len) != 0)
        snprintf(bound, boundlen, "%s", endpoint);
    return s;

err:
    snprintf(err, errlen, "cannot bind ZeroMQ endpoint '%s': %s (is the port in use?)",
             endpoint, zmq_strerror(errno));
    if (s)
        zmq_close(s);
    return NULL;
}

int gateway_init(gateway *gw, const gateway_config *cfg, char *err, size_t errlen)
{
    memset(gw, 0, sizeof(*gw));
    gw->cfg = cfg;
    gw->signal_fd = gw->timer_fd = -1;
    gw->started_us = clock_now_us();
    timers_init(&gw->timers);
    /* Job ids start at a random point below 2^52 (exact in JSON numbers), so
     * a restarted gateway does not reuse the ids of the one before it: an
     * executor's late Result for an old job cannot answer a new one. */
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        seed = clock_now_us() ^ ((uint64_t)getpid() << 32);
    gw->next_job_id = seed & ((1ULL << 52) - 1) & ~0xffffffULL;

    for (size_t i = 0; i < cfg->routes.count; i++) {
        if (route_table_add(&gw->routes, cfg->routes.items[i], err, errlen) < 0)
            goto err;
        const route *r = &gw->routes.routes[gw->routes.count - 1];
        if (r->kind == ROUTE_JOB && !queue_get(&gw->queues, r->queue)) {
            snprintf(err, errlen, "too many queues");
            goto err;
        }
    }
    for (size_t i = 0; i < cfg->queues.count; i++) {
        char name[CODEC_NAME_MAX + 1];
        long long max_waiting;
        if (queue_parse_spec(cfg->queues.items[i], name, &max_waiting, err, errlen) < 0)
            goto err;
        gw_queue *q = queue_get(&gw->queues, name);
        if (!q) {
            snprintf(err, errlen, "too many queues");
            goto err;
        }
        q->max_waiting = max_waiting;
    }

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    gw->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    gw->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (gw->signal_fd < 0 || gw->timer_fd < 0) {
        snprintf(err, errlen, "signalfd/timerfd: %s", strerror(errno));
        goto err;
    }

    gw->zctx = zmq_ctx_new();
    if (!gw->zctx) {
        snprintf(err, errlen, "zmq_ctx_new: %s", zmq_strerror(errno));
        goto err;
    }
    gw->exec_sock = gw_bind(gw, cfg->executors, gw->exec_endpoint,
                            sizeof(gw->exec_endpoint), err, errlen);
    if (!gw->exec_sock)
        goto err;
    gw->client_sock = gw_bind(gw, cfg->clients, gw->client_endpoint,
                              sizeof(gw->client_endpoint), err, errlen);
    if (!gw->client_sock)
        goto err;
    if (http_start(gw, cfg->http, err, errlen) < 0)
        goto err;

    timers_start(&gw->timers, &gw->tick, clock_now_us() + gw_tick_us(cfg), gw_tick, gw);
    return 0;

err:
    gateway_close(gw);
    return -1;
}

/* True while some caller still waits: a job queued or running for a
 * caller, or an HTTP request suspended on a timer. */
static int gw_has_open_work(gateway *gw)
{
    if (http_pending(gw->http))
        return 1;
    gw_queue *q, *qtmp;
    HASH_ITER(hh, gw->queues.by_name, q, qtmp)
    {
        if (q->waiting)
            return 1;
    }
    gw_job *job, *jtmp;
    HASH_ITER(hh, gw->jobs, job, jtmp)
    {
        if (job->done)
            return 1;
    }
    return 0;
}

static void gw_drain_deadline(gw_timer *t, void *arg)
{
    gateway *gw = arg;
    (void)t;
    log_warn("event=drain_timeout action=stop open_requests=answered_503");
    gw->stopping = 1;
}

/* The first SIGINT/SIGTERM starts a drain: no new requests (the listening
 * socket closes; new requests on open connections get 503), the ones in
 * progress go on for up to --drain-timeout, then whatever is left gets 503.
 * A second signal stops at once. */
static void gw_on_signals(gateway *gw)
{
    struct signalfd_siginfo si;
    while (read(gw->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        const char *name = strsignal((int)si.ssi_signo);
        if (gw->draining || !gw->cfg->drain_timeout_ms) {
            log_info("event=signal signal=%s action=stop", name);
            gw->stopping = 1;
            return;
        }
        log_info("event=signal signal=%s action=drain drain_timeout_ms=%lld", name,
                 gw->cfg->drain_timeout_ms);
        gw->draining = 1;
        http_quiesce(gw->http);
        timers_start(&gw->timers, &gw->drain_timer,
                     clock_now_us() + (uint64_t)gw->cfg->drain_timeout_ms * 1000,
                     gw_drain_deadline, gw);
    }
}

/* Arms the timerfd for the earliest timer, if that changed. A timerfd
 * wakes the loop with microsecond precision; a poll timeout would round to
 * milliseconds and make every /v1/delay and deadline up to 1 ms late. */
static void gw_arm_timer(gateway *gw)
{
    uint64_t due = timers_next_due(&gw->timers);
    if (due == gw->timer_armed_us)
        return;
    struct itimerspec its = {0};
    if (due) {
        its.it_value.tv_sec = (time_t)(due / 1000000);
        its.it_value.tv_nsec = (long)(due % 1000000) * 1000;
        if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
            its.it_value.tv_nsec = 1; /* zero would disarm */
    }
    timerfd_settime(gw->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
    gw->timer_armed_us = due;
}

int gateway_run(gateway *gw)
{
    log_info("event=listening id=%s http=%s executors=%s clients=%s max_payload=%lld "
             "default_timeout_ms=%lld routes=%zu",
             gw->cfg->id, gw->http_endpoint, gw->exec_endpoint, gw->client_endpoint,
             gw->cfg->max_payload, gw->cfg->default_timeout_ms, gw->routes.count);
    while (!gw->stopping) {
        gw_arm_timer(gw);
        int64_t h_us = http_timeout_us(gw->http);
        long timeout_ms = h_us < 0 ? -1 : (long)((h_us + 999) / 1000);

        zmq_pollitem_t items[] = {
            {gw->exec_sock, 0, ZMQ_POLLIN, 0},
            {gw->client_sock, 0, ZMQ_POLLIN, 0},
            {NULL, http_fd(gw->http), ZMQ_POLLIN, 0},
            {NULL, gw->timer_fd, ZMQ_POLLIN, 0},
            {NULL, gw->signal_fd, ZMQ_POLLIN, 0},
            {NULL, http_gone_fd(gw->http), ZMQ_POLLIN, 0},
        };
        int n = zmq_poll(items, 6, timeout_ms);
        if (n < 0 && errno != EINTR) {
            log_error("event=poll_failed error=\"%s\"", zmq_strerror(errno));
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            gw_read(gw, gw->exec_sock, "executors", gw_on_executor_msg);
        if (items[1].revents & ZMQ_POLLIN)
            gw_read(gw, gw->client_sock, "clients", gw_on_client_msg);
        if (items[3].revents & ZMQ_POLLIN) {
            uint64_t expirations;
            ssize_t rc = read(gw->timer_fd, &expirations, sizeof(expirations));
            (void)rc;
            gw->timer_armed_us = 0; /* fired: re-arm on the next turn */
        }
        if (items[4].revents & ZMQ_POLLIN)
            gw_on_signals(gw);
        if (items[5].revents & ZMQ_POLLIN)
            http_check_gone(gw->http);
        timers_run(&gw->timers, clock_now_us());
        http_process(gw->http);
        if (gw->draining && !gw_has_open_work(gw)) {
            log_info("event=drained action=stop");
            gw->stopping = 1;
        }
    }
    http_shutdown(gw->http);
    return 0;
}

void gateway_close(gateway *gw)
{
    /* Answer every job left (HTTP callers were answered by http_shutdown),
     * then free the tables. */
    static const char bye[] = "the gateway is shutting down";
    uint64_t now = clock_now_us();
    gw_job *job, *tmp;
    HASH_ITER(hh, gw->jobs, job, tmp)
    {
        HASH_DEL(gw->jobs, job);
        dispatch_release(job);
        job_answer_error(job, OFFLOAD__CODE__CODE_NO_EXECUTOR, bye, now);
        gw_job_end(gw, job);
    }
    gw_queue *q, *qtmp;
    HASH_ITER(hh, gw->queues.by_name, q, qtmp)
    {
        while ((job = queue_peek(q)) != NULL) {
            job_answer_error(job, OFFLOAD__CODE__CODE_NO_EXECUTOR, bye, now);
            gw_job_end(gw, job);
        }
    }
    http_stop(&gw->http);
    fleet_free(&gw->fleet);
    queue_table_free(&gw->queues);
    route_table_free(&gw->routes);
    timers_free(&gw->timers);
    if (gw->exec_sock)
        zmq_close(gw->exec_sock);
    if (gw->client_sock)
        zmq_close(gw->client_sock);
    if (gw->zctx)
        zmq_ctx_term(gw->zctx);
    if (gw->signal_fd >= 0)
        close(gw->signal_fd);
    if (gw->timer_fd >= 0)
        close(gw->timer_fd);
    gw->exec_sock = gw->client_sock = gw->zctx = NULL;
    gw->signal_fd = gw->timer_fd = -1;
}
