/* executors.c -- see executors.h. */
#include "executors.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "zap.h"

/* A flood of unexpected messages is logged in a few lines a second; the
 * counters still count every one. */
static log_limiter executors_limiter;
#define executors_log_allowed() log_limiter_allow(&executors_limiter, 5)

static uint64_t executors_tick_us(const executors *x);
static void executors_tick(gw_timer *t, void *arg);

/* Sends env to e; an executor that cannot be reached is marked dead. */
static int executors_send(executors *x, gw_executor *e, codec_envelope *env)
{
    if (e->dead)
        return -1;
    int rc = x->send(x->send_arg, &e->rid, env);
    if (rc < 0) {
        stats_inc(x->stats, STAT_send_failures);
        log_warn("event=send_failed executor=%s body=%s error=\"%s\"", e->id,
                 codec_body_name(env->body_case), strerror(-rc));
        fleet_mark_dead(&x->fleet, e, "unreachable", 0);
        return rc;
    }
    e->last_send_us = clock_now_us();
    return 0;
}

static void executors_refuse(executors *x, const wire_rid *rid, Offload__RefuseReason reason,
                             const char *message)
{
    Offload__Envelope env;
    Offload__Refuse refuse;
    codec_refuse(&env, &refuse, reason, message);
    if (x->send(x->send_arg, rid, &env) < 0)
        stats_inc(x->stats, STAT_send_failures);
}

int executors_send_job(gw_executor *e, gw_job *job, void *arg)
{
    executors *x = arg;
    uint64_t now = clock_now_us();
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Job msg = OFFLOAD__JOB__INIT;
    msg.job_id = job->id;
    msg.queue = job->queue->name;
    msg.function = job->function;
    msg.payload.data = job->payload;
    msg.payload.len = job->payload_len;
    /* Never 0: the time left, rounded up, at least 1 ms. */
    msg.timeout_ms = job->deadline_us > now ? (uint32_t)((job->deadline_us - now + 999) / 1000) : 1;
    msg.waited_us = now - job->created_us;
    if (job->traceparent[0]) /* else proto3's "" */
        msg.traceparent = job->traceparent;
    if (job->tracestate)
        msg.tracestate = job->tracestate;
    env.body_case = OFFLOAD__ENVELOPE__BODY_JOB;
    env.job = &msg;
    return executors_send(x, e, &env);
}

void executors_send_cancel(gw_executor *e, gw_job *job, void *arg)
{
    executors *x = arg;
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Cancel cancel = OFFLOAD__CANCEL__INIT;
    cancel.job_id = job->id;
    /* Its deadline passed (not a hang-up): the executor counts its kill so. */
    cancel.deadline = clock_now_us() >= job->deadline_us;
    env.body_case = OFFLOAD__ENVELOPE__BODY_CANCEL;
    env.cancel = &cancel;
    executors_send(x, e, &env);
}

/* Sends e a Demand: the jobs waiting in its queue only (or in all its
 * queues, only NULL), and the seq of the last Credit applied. */
static void executors_send_demand(executors *x, gw_executor *e, const gw_queue *only)
{
    Offload__QueueDemand qd[CODEC_QUEUES_MAX], *qp[CODEC_QUEUES_MAX];
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Demand d = OFFLOAD__DEMAND__INIT;
    uint64_t now = clock_now_us();
    size_t n = 0;
    for (size_t i = 0; i < e->nslots && n < CODEC_QUEUES_MAX; i++) {
        exec_slot *s = &e->slots[i];
        if (only && s->queue != only)
            continue;
        offload__queue_demand__init(&qd[n]);
        qd[n].name = s->queue->name;
        qd[n].waiting = s->queue->waiting > UINT32_MAX ? UINT32_MAX : (uint32_t)s->queue->waiting;
        s->demand_sent = qd[n].waiting;
        s->demand_us = now;
        qp[n] = &qd[n];
        n++;
    }
    d.n_queues = n;
    d.queues = qp;
    d.credit_seq = e->credit_seq;
    env.body_case = OFFLOAD__ENVELOPE__BODY_DEMAND;
    env.demand = &d;
    if (executors_send(x, e, &env) == 0)
        stats_inc(x->stats, STAT_demands_sent);
}

void executors_on_waiting(gw_queue *q, void *arg)
{
    executors *x = arg;
    exec_slot *s = q->serving, *next;
    for (; s; s = next) {
        next = s->qnext; /* a failed send unlinks s's executor (only) */
        gw_executor *e = s->executor;
        if (e->credit && !e->dead && !s->demand_sent)
            executors_send_demand(x, e, q);
    }
}

/* An executor shared among gateways sets our slots (proto: Credit). */
static void executors_on_credit(executors *x, gw_executor *e, const Offload__Credit *c)
{
    if (!e->credit) {
        /* Its Hello did not say credit: its declared sizes stay. */
        stats_inc(x->stats, STAT_frames_unexpected);
        if (executors_log_allowed())
            log_warn("event=frame_dropped socket=executors executor=%s reason=\"credit from an "
                     "executor whose hello did not say credit\"",
                     e->id);
        return;
    }
    stats_inc(x->stats, STAT_credits);
    char text[256];
    size_t len = 0;
    text[0] = '\0';
    for (size_t i = 0; i < c->n_queues; i++) {
        const Offload__QueueCredit *qc = c->queues[i];
        for (size_t k = 0; k < e->nslots; k++) {
            exec_slot *s = &e->slots[k];
            if (strcmp(s->queue->name, qc->name) != 0)
                continue;
            uint32_t slots = fleet_set_credit(&x->fleet, e, s, qc->slots);
            if (len < sizeof(text))
                len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s:%u/%u",
                                        len ? "," : "", qc->name, slots, s->busy);
        }
    }
    e->credit_seq = c->seq;
    log_debug("event=credit executor=%s seq=%llu slots=%s", e->id, (unsigned long long)c->seq,
              text);
    /* Dispatch may mark e dead; it stays allocated until the reap. */
    for (size_t i = 0; i < e->nslots; i++)
        jobs_dispatch(x->jobs, e->slots[i].queue);
    executors_send_demand(x, e, NULL); /* the acknowledgement */
}

/* An executor tells the state of its pools (proto: PoolStats): kept for
 * GET /v1/queues. One that names a queue it did not declare is dropped,
 * counted in frames_bad and answered Refuse(INVALID); the executor stays. */
static void executors_on_pool_stats(executors *x, const wire_rid *rid, gw_executor *e,
                                    const Offload__PoolStats *ps)
{
    char why[CODEC_NAME_MAX + 128];
    if (fleet_set_pool_stats(e, ps, clock_now_us(), why, sizeof(why)) < 0) {
        stats_inc(x->stats, STAT_frames_bad);
        if (executors_log_allowed())
            log_warn("event=frame_dropped socket=executors executor=%s error=\"%s\"", e->id, why);
        executors_refuse(x, rid, OFFLOAD__REFUSE_REASON__REFUSE_INVALID, why);
        return;
    }
    stats_inc(x->stats, STAT_pool_stats);
}

/* With CURVE: may the key of the peer at rid (its User-Id) serve every
 * queue hello declares? Returns 1, or 0 with why set. */
static int executors_key_allows(const executors *x, const wire_rid *rid,
                                const Offload__Hello *hello, char *why, size_t whylen)
{
    if (!x->zap)
        return 1;
    const zap_key *k = zap_find_name(x->zap, rid->user);
    if (!k) {
        snprintf(why, whylen,
                 "this executor's key ('%s') is no longer in the gateway's --curve-allow "
                 "directory",
                 rid->user);
        return 0;
    }
    for (size_t i = 0; i < hello->n_queues; i++)
        if (!zap_key_allows(k, hello->queues[i]->name)) {
            snprintf(why, whylen,
                     "this executor's key ('%s') may not serve queue '%s' (its .pub file allows "
                     "queues = %s)",
                     k->name, hello->queues[i]->name, k->queues);
            return 0;
        }
    return 1;
}

static void executors_on_hello(executors *x, const wire_rid *rid, const Offload__Hello *hello)
{
    uint64_t now = clock_now_us();
    char why[KEYS_QUEUES_MAX + 256];
    if (!executors_key_allows(x, rid, hello, why, sizeof(why))) {
        stats_inc(x->stats, STAT_hellos_forbidden);
        log_warn("event=hello_refused executor=%s user=%s reason=forbidden message=\"%s\"",
                 hello->executor_id, rid->user, why);
        gw_executor *old = fleet_find(&x->fleet, rid);
        if (old) /* a re-registration that now declares a forbidden queue */
            fleet_mark_dead(&x->fleet, old, "forbidden", 0);
        executors_refuse(x, rid, OFFLOAD__REFUSE_REASON__REFUSE_FORBIDDEN, why);
        return;
    }
    int known = fleet_find(&x->fleet, rid) != NULL;
    const char *what = "";
    char over[CODEC_MESSAGE_MAX / 4];
    if (fleet_check_hello(&x->fleet, x->queues, rid, hello, &x->limits, x->default_heartbeat_ms,
                          x->default_liveness, &what, over, sizeof(over)) < 0) {
        stats_inc(x->stats, STAT_hello_refused_limit);
        if (executors_log_allowed())
            log_warn("event=hello_refused executor=%s reason=limit limit=%s message=\"%s\"",
                     hello->executor_id, what, over);
        executors_refuse(x, rid, OFFLOAD__REFUSE_REASON__REFUSE_LIMIT, over);
        return;
    }
    gw_executor *e = fleet_register(&x->fleet, x->queues, rid, hello, x->default_heartbeat_ms,
                                    x->default_liveness, now);
    if (!e) {
        log_error("event=hello_refused executor=%s reason=out_of_memory", hello->executor_id);
        executors_refuse(x, rid, OFFLOAD__REFUSE_REASON__REFUSE_LIMIT,
                         "the gateway is out of memory; retry later");
        return;
    }
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Welcome welcome = OFFLOAD__WELCOME__INIT;
    welcome.gateway_id = (char *)x->gateway_id;
    welcome.credit = 1;     /* we obey Credit (sent only by executors that say credit) */
    welcome.pool_stats = 1; /* we take PoolStats */
    env.body_case = OFFLOAD__ENVELOPE__BODY_WELCOME;
    env.welcome = &welcome;
    if (executors_send(x, e, &env) < 0)
        return; /* marked dead; reaped at the end of the turn */
    char queues[512];
    size_t n = 0;
    queues[0] = '\0';
    for (size_t i = 0; i < e->nslots && n < sizeof(queues); i++)
        n += (size_t)snprintf(queues + n, sizeof(queues) - n, "%s%s:%u", i ? "," : "",
                              e->slots[i].queue->name, e->slots[i].declared);
    log_info("event=%s executor=%s queues=%s functions=%zu heartbeat_ms=%u liveness=%u "
             "credit=%d%s",
             known ? "executor_reregistered" : "executor_registered", e->id, queues, e->nfunctions,
             e->heartbeat_ms, e->liveness, e->credit, e->draining ? " draining=1" : "");
    /* A shorter interval than the tick's: tick sooner from now on. */
    uint64_t due = now + executors_tick_us(x);
    if (due < x->tick.due_us)
        timers_start(x->timers, &x->tick, due, executors_tick, x);
    /* Dispatch may mark e dead; it stays allocated until the reap. */
    for (size_t i = 0; i < e->nslots; i++)
        jobs_dispatch(x->jobs, e->slots[i].queue);
}

void executors_recheck(executors *x)
{
    gw_executor *e, *tmp;
    if (!x->zap)
        return;
    HASH_ITER(hh, x->fleet.by_rid, e, tmp)
    {
        const zap_key *k = zap_find_name(x->zap, e->rid.user);
        const char *queue = NULL;
        for (size_t i = 0; k && i < e->nslots && !queue; i++)
            if (!zap_key_allows(k, e->slots[i].queue->name))
                queue = e->slots[i].queue->name;
        if (k && !queue)
            continue;
        log_warn("event=executor_revoked executor=%s user=%s reason=\"%s%s\"", e->id, e->rid.user,
                 k ? "its key may no longer serve queue " : "its key left --curve-allow",
                 queue ? queue : "");
        fleet_mark_dead(&x->fleet, e, "key_revoked", 0);
    }
}

/* A message from a peer that is not (or no longer) registered. */
static void executors_on_stranger(executors *x, const wire_rid *rid, codec_envelope *env)
{
    /* A restarted gateway meets executors that registered with the old
     * one, and a dropped executor may still send what it finished: ask them
     * to say Hello again. A Result here is for a job this gateway answered
     * or retried already: dropped, and counted. */
    if (env->body_case == OFFLOAD__ENVELOPE__BODY_RESULT) {
        stats_inc(x->stats, STAT_results_unknown);
        if (executors_log_allowed())
            log_warn("event=result_dropped job_id=%llu reason=unknown_executor",
                     (unsigned long long)env->result->job_id);
    }
    if (env->body_case != OFFLOAD__ENVELOPE__BODY_GOODBYE)
        executors_refuse(x, rid, OFFLOAD__REFUSE_REASON__REFUSE_UNKNOWN,
                         "unknown executor: send Hello");
}

void executors_on_message(executors *x, const wire_rid *rid, codec_envelope *env)
{
    if (env->body_case == OFFLOAD__ENVELOPE__BODY_HELLO) {
        executors_on_hello(x, rid, env->hello);
        return;
    }
    gw_executor *e = fleet_find(&x->fleet, rid);
    if (!e) {
        executors_on_stranger(x, rid, env);
        return;
    }
    e->last_recv_us = clock_now_us();
    switch (env->body_case) {
    case OFFLOAD__ENVELOPE__BODY_HEARTBEAT:
        break;
    case OFFLOAD__ENVELOPE__BODY_RESULT: {
        const Offload__Result *r = env->result;
        job_result res = {.job_id = r->job_id,
                          .code = r->code,
                          .payload = r->payload.data,
                          .len = r->payload.len,
                          .message = r->message,
                          .run_us = r->run_us};
        char msg[160];
        if (x->fleet.max_payload && r->payload.len > x->fleet.max_payload) {
            /* Within --max-frame, over what the gateway answers with: this
             * job fails, the executor and its other jobs stay. */
            stats_inc(x->stats, STAT_results_too_large);
            snprintf(msg, sizeof(msg),
                     "the result (%zu bytes) is over the gateway's --max-payload (%llu bytes)",
                     r->payload.len, (unsigned long long)x->fleet.max_payload);
            if (executors_log_allowed())
                log_warn("event=result_too_large executor=%s job_id=%llu bytes=%zu max=%llu", e->id,
                         (unsigned long long)r->job_id, r->payload.len,
                         (unsigned long long)x->fleet.max_payload);
            res.code = OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE;
            res.payload = NULL;
            res.len = 0;
            res.message = msg;
        }
        jobs_result(x->jobs, e, &res);
        break;
    }
    case OFFLOAD__ENVELOPE__BODY_CREDIT:
        executors_on_credit(x, e, env->credit);
        break;
    case OFFLOAD__ENVELOPE__BODY_POOL_STATS:
        executors_on_pool_stats(x, rid, e, env->pool_stats);
        break;
    case OFFLOAD__ENVELOPE__BODY_DRAIN:
        log_info("event=executor_draining executor=%s jobs_in_flight=%zu timeout_ms=%u", e->id,
                 e->inflight, env->drain->timeout_ms);
        fleet_drain(&x->fleet, e);
        break;
    case OFFLOAD__ENVELOPE__BODY_GOODBYE: {
        char why[96];
        snprintf(why, sizeof(why), "goodbye: %.80s",
                 env->goodbye->reason && *env->goodbye->reason ? env->goodbye->reason
                                                               : "no reason given");
        fleet_mark_dead(&x->fleet, e, why, 1);
        break;
    }
    default:
        stats_inc(x->stats, STAT_frames_unexpected);
        if (executors_log_allowed())
            log_warn("event=frame_dropped socket=executors executor=%s reason=\"unexpected %s\"",
                     e->id, codec_body_name(env->body_case));
    }
}

/* The tick runs four times per the shortest heartbeat interval among the
 * executors (and the default), 10..250 ms: an executor that asked for
 * 50 ms heartbeats gets them every 50 ms, not every 250. */
static uint64_t executors_tick_us(const executors *x)
{
    uint32_t ms = x->default_heartbeat_ms;
    gw_executor *e, *tmp;
    HASH_ITER(hh, x->fleet.by_rid, e, tmp)
    {
        if (e->heartbeat_ms < ms)
            ms = e->heartbeat_ms;
    }
    uint64_t us = (uint64_t)ms * 1000 / 4;
    return us < 10000 ? 10000 : us > 250000 ? 250000 : us;
}

/* The tick ran late_us after it was due: the loop was stopped or busy, and
 * read nothing meanwhile (neither did ZeroMQ's I/O thread, if the whole
 * process was stopped). That time is not held against the executors: each
 * one's silence is counted as if the stall had not happened; after a stall
 * of a heartbeat interval or more, it also gets at least one interval from
 * now, time for what waits in the kernel's buffers to reach the socket and
 * be read. (Only the shift applies to shorter stalls, so that a loop late
 * on every tick still finds a dead executor, if later.) */
static void executors_forgive(executors *x, uint64_t late_us, uint64_t now)
{
    size_t n = 0;
    gw_executor *e, *tmp;
    HASH_ITER(hh, x->fleet.by_rid, e, tmp)
    {
        uint64_t period = (uint64_t)e->heartbeat_ms * 1000, window = period * e->liveness;
        uint64_t from = e->last_recv_us + late_us;
        if (late_us >= period && from + window < now + period)
            from = now + period - window;
        e->last_recv_us = from < now ? from : now;
        n++;
    }
    if (n)
        log_info("event=liveness_paused ms=%llu executors=%zu",
                 (unsigned long long)(late_us / 1000), n);
}

/* True if e should be told its queues' waiting counts now: one went from
 * waiting to none or back since last told, or changed and the last Demand
 * is a heartbeat interval old. */
static int executors_demand_due(const gw_executor *e, uint64_t period, uint64_t now)
{
    for (size_t i = 0; i < e->nslots; i++) {
        const exec_slot *s = &e->slots[i];
        size_t w = s->queue->waiting;
        if (!w != !s->demand_sent)
            return 1;
        if (w != s->demand_sent && now - s->demand_us >= period)
            return 1;
    }
    return 0;
}

/* Declares silent executors dead, heartbeats the others, and tells those
 * that speak Credit what waits here (executors_demand_due). */
static void executors_tick(gw_timer *t, void *arg)
{
    executors *x = arg;
    uint64_t now = clock_now_us(), tick = executors_tick_us(x);
    if (now > t->due_us + tick)
        executors_forgive(x, now - t->due_us, now);
    gw_executor *e, *tmp;
    HASH_ITER(hh, x->fleet.by_rid, e, tmp)
    {
        /* Marking e dead takes e (only) out of the table: the iteration
         * goes on from tmp. */
        uint64_t period = (uint64_t)e->heartbeat_ms * 1000;
        if (now - e->last_recv_us > period * e->liveness) {
            char why[96];
            snprintf(why, sizeof(why), "silent for %llu ms",
                     (unsigned long long)((now - e->last_recv_us) / 1000));
            fleet_mark_dead(&x->fleet, e, why, 0);
            continue;
        }
        if (e->credit && !e->draining && executors_demand_due(e, period, now))
            executors_send_demand(x, e, NULL);
        if (!e->dead && now - e->last_send_us >= period) {
            Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
            Offload__Heartbeat hb = OFFLOAD__HEARTBEAT__INIT;
            env.body_case = OFFLOAD__ENVELOPE__BODY_HEARTBEAT;
            env.heartbeat = &hb;
            executors_send(x, e, &env);
        }
    }
    timers_start(x->timers, t, now + tick, executors_tick, x);
}

void executors_set_limits(executors *x, const fleet_limits *lim)
{
    x->limits = *lim;
}

void executors_init(executors *x, queue_table *queues, jobs *js, timers *ts, gateway_stats *stats,
                    executors_send_fn send, void *send_arg, const char *gateway_id,
                    uint32_t default_heartbeat_ms, uint32_t default_liveness)
{
    memset(x, 0, sizeof(*x));
    x->queues = queues;
    x->jobs = js;
    x->timers = ts;
    x->stats = stats;
    x->send = send;
    x->send_arg = send_arg;
    x->gateway_id = gateway_id;
    x->default_heartbeat_ms = default_heartbeat_ms;
    x->default_liveness = default_liveness;
    x->limits = (fleet_limits){
        .max_executors = SIZE_MAX, .max_functions = SIZE_MAX, .max_silence_ms = UINT64_MAX};
    timers_start(ts, &x->tick, clock_now_us() + executors_tick_us(x), executors_tick, x);
}

void executors_reap(executors *x)
{
    gw_executor *e;
    while ((e = fleet_next_dead(&x->fleet)) != NULL) {
        size_t lost, retried;
        jobs_executor_lost(x->jobs, e, e->dead_reason, &lost, &retried);
        if (e->clean) {
            stats_inc(x->stats, STAT_executors_left);
            log_info("event=executor_left executor=%s reason=\"%s\" jobs_lost=%zu "
                     "jobs_retried=%zu",
                     e->id, e->dead_reason, lost, retried);
        } else {
            stats_inc(x->stats, STAT_executors_lost);
            log_warn("event=executor_lost executor=%s reason=\"%s\" jobs_lost=%zu "
                     "jobs_retried=%zu",
                     e->id, e->dead_reason, lost, retried);
        }
        fleet_free_executor(e);
        /* May mark more executors dead: the loop reaps them too. */
        if (retried)
            jobs_dispatch_all(x->jobs);
    }
}

void executors_goodbye(executors *x, const char *reason)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Goodbye bye = OFFLOAD__GOODBYE__INIT;
    bye.reason = (char *)reason;
    env.body_case = OFFLOAD__ENVELOPE__BODY_GOODBYE;
    env.goodbye = &bye;
    gw_executor *e, *tmp;
    HASH_ITER(hh, x->fleet.by_rid, e, tmp)
    {
        if (x->send(x->send_arg, &e->rid, &env) < 0)
            stats_inc(x->stats, STAT_send_failures);
    }
}

size_t executors_count(const executors *x)
{
    return x->fleet.count;
}

void executors_close(executors *x)
{
    if (x->timers)
        timers_stop(x->timers, &x->tick);
    fleet_free(&x->fleet);
}
