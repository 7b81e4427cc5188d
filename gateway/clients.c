/* clients.c -- see clients.h. */
#include "clients.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "clock.h"
#include "core.h"
#include "log.h"

#define CLIENTS_LEASE_TICK_US 50000 /* how often leases are checked */

static log_limiter clients_limiter;

typedef struct client_call client_call;

/* A client with calls in flight: its routing id, its lease, its calls. */
typedef struct client_peer {
    wire_rid rid;
    uint64_t last_seen_us;
    uint32_t lease_ms;  /* the latest Submit's; 0: none */
    client_call *calls; /* uthash by request_id */
    UT_hash_handle hh;
} client_peer;

/* One Submit whose job runs: where its Reply goes. */
struct client_call {
    clients *front;
    client_peer *peer;
    uint64_t request_id;
    gw_job *job;
    UT_hash_handle hh;
};

/* A Query or a keyed Submit waiting on a detached job. */
typedef struct client_wait {
    clients *front;
    wire_rid rid;
    uint64_t request_id;
    detached_waiter waiter;
    gw_timer timer; /* a Query's wait_ms */
    struct client_wait *prev, *next;
} client_wait;

static void clients_reply_state(clients *c, const wire_rid *rid, uint64_t request_id,
                                const job_outcome *o, int state);

static void clients_reply(clients *c, const wire_rid *rid, uint64_t request_id,
                          const job_outcome *o)
{
    clients_reply_state(c, rid, request_id, o, OFFLOAD__JOB_STATE__STATE_UNSPECIFIED);
}

static void clients_reply_state(clients *c, const wire_rid *rid, uint64_t request_id,
                                const job_outcome *o, int state)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Reply reply = OFFLOAD__REPLY__INIT;
    reply.request_id = request_id;
    reply.job_id = o->job_id;
    reply.code = o->code;
    reply.payload.data = (uint8_t *)o->payload;
    reply.payload.len = o->len;
    reply.message = (char *)o->message;
    reply.waited_us = o->waited_us;
    reply.run_us = o->run_us;
    reply.state = state;
    if (o->traceparent && *o->traceparent)
        reply.traceparent = (char *)o->traceparent;
    if (o->tracestate && *o->tracestate)
        reply.tracestate = (char *)o->tracestate;
    env.body_case = OFFLOAD__ENVELOPE__BODY_REPLY;
    env.reply = &reply;
    if (c->send(c->send_arg, rid, &env) < 0)
        core_count(c->core, STAT_send_failures);
}

static client_peer *clients_peer(clients *c, const wire_rid *rid)
{
    client_peer *p = NULL;
    HASH_FIND(hh, c->peers, rid->bytes, rid->len, p);
    return p;
}

/* Removes call from its peer (freeing a peer left without calls) and frees
 * it. */
static void clients_call_free(clients *c, client_call *call)
{
    client_peer *p = call->peer;
    HASH_DEL(p->calls, call);
    free(call);
    c->pending--;
    if (!p->calls) {
        HASH_DEL(c->peers, p);
        c->npeers--;
        free(p);
    }
}

static void clients_job_done(gw_job *job, const job_outcome *out, void *arg)
{
    client_call *call = arg;
    clients *c = call->front;
    (void)job;
    clients_reply(c, &call->peer->rid, call->request_id, out);
    clients_call_free(c, call);
}

/* A tick that runs late (the loop was stopped or busy, reading nothing)
 * does not hold that time against the clients: each lease is counted as if
 * the stall had not happened, and is given at least one more tick from now
 * for what waits in the socket to be read. */
static void clients_lease_tick(gw_timer *t, void *arg)
{
    clients *c = arg;
    uint64_t now = clock_now_us();
    if (now > t->due_us + CLIENTS_LEASE_TICK_US) {
        uint64_t late = now - t->due_us;
        client_peer *p, *tmp;
        HASH_ITER(hh, c->peers, p, tmp)
        {
            uint64_t from = p->last_seen_us + late, lease = (uint64_t)p->lease_ms * 1000;
            if (from + lease < now + CLIENTS_LEASE_TICK_US)
                from = now + CLIENTS_LEASE_TICK_US - lease;
            p->last_seen_us = from < now ? from : now;
        }
    }
    clients_check_leases(c, now);
}

static void clients_arm_tick(clients *c)
{
    if (!timer_active(&c->lease_tick))
        timers_start(c->timers, &c->lease_tick, clock_now_us() + CLIENTS_LEASE_TICK_US,
                     clients_lease_tick, c);
}

/* Refuses a Submit; a full queue (or memory budget) says when to retry,
 * as HTTP's Retry-After does. The Reply carries the trace context the job
 * would have had (t). */
static void clients_refuse_submit(clients *c, const wire_rid *rid, const Offload__Submit *s,
                                  int code, const char *err, const trace_ctx *t)
{
    core_count(c->core, STAT_submits_refused);
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Reply reply = OFFLOAD__REPLY__INIT;
    reply.request_id = s->request_id;
    reply.code = code;
    reply.message = (char *)err;
    if (t->parent[0])
        reply.traceparent = (char *)t->parent;
    if (t->state[0])
        reply.tracestate = (char *)t->state;
    if (code == OFFLOAD__CODE__CODE_QUEUE_FULL)
        reply.retry_after_s = core_retry_after(c->core, s->queue);
    env.body_case = OFFLOAD__ENVELOPE__BODY_REPLY;
    env.reply = &reply;
    if (c->send(c->send_arg, rid, &env) < 0)
        core_count(c->core, STAT_send_failures);
}

static void clients_refuse(clients *c, const wire_rid *rid, uint64_t request_id, int code,
                           const char *err)
{
    core_count(c->core, STAT_submits_refused);
    job_outcome out = {.code = code, .message = err};
    clients_reply(c, rid, request_id, &out);
}

/* True (and the caller answered queue_full) when what would pass
 * --max-clients. */
static int clients_over(clients *c, size_t have, const wire_rid *rid, uint64_t request_id,
                        const char *what)
{
    if (!c->max_clients || have < c->max_clients)
        return 0;
    char err[200];
    snprintf(err, sizeof(err),
             "the gateway holds %zu %s, its limit (--max-clients %zu); retry later", have, what,
             c->max_clients);
    core_count(c->core, STAT_clients_refused);
    if (log_limiter_allow(&clients_limiter, 5))
        log_warn("event=client_refused reason=limit limit=max_clients what=\"%s\" count=%zu", what,
                 have);
    clients_refuse(c, rid, request_id, OFFLOAD__CODE__CODE_QUEUE_FULL, err);
    return 1;
}

/* ---- detached jobs ------------------------------------------------------- */

static int clients_state(const detached_job *d)
{
    return OFFLOAD__JOB_STATE__STATE_QUEUED + (int)detached_state_of(d);
}

/* Replies with d's outcome (ended) or its state (code OK, no payload). */
static void clients_reply_detached(clients *c, const wire_rid *rid, uint64_t request_id,
                                   const detached_job *d)
{
    job_outcome o = {.job_id = d->id,
                     .code = OFFLOAD__CODE__CODE_OK,
                     .traceparent = d->traceparent,
                     .tracestate = d->tracestate};
    if (d->ended) {
        o.code = d->code;
        o.payload = d->payload;
        o.len = d->len;
        o.message = d->message;
        o.waited_us = d->waited_us;
        o.run_us = d->run_us;
    }
    clients_reply_state(c, rid, request_id, &o, clients_state(d));
}

static void clients_wait_free(clients *c, client_wait *w)
{
    detached_unwait(&w->waiter);
    timers_stop(c->timers, &w->timer);
    if (w->prev)
        w->prev->next = w->next;
    else
        c->waits = w->next;
    if (w->next)
        w->next->prev = w->prev;
    c->nwaits--;
    free(w);
}

static void clients_wait_ended(detached_job *d, void *arg)
{
    client_wait *w = arg;
    clients_reply_detached(w->front, &w->rid, w->request_id, d);
    clients_wait_free(w->front, w);
}

static void clients_wait_over(gw_timer *t, void *arg)
{
    client_wait *w = arg;
    (void)t;
    detached_job *d = w->waiter.d;
    if (d)
        clients_reply_detached(w->front, &w->rid, w->request_id, d);
    clients_wait_free(w->front, w);
}

/* Answers request_id once d ends (or after wait_ms, when not 0, with its
 * state). Returns 0, or -1 when out of memory. */
static int clients_wait(clients *c, const wire_rid *rid, uint64_t request_id, detached_job *d,
                        uint32_t wait_ms)
{
    client_wait *w = calloc(1, sizeof(*w));
    if (!w)
        return -1;
    c->nwaits++;
    w->front = c;
    w->rid = *rid;
    w->request_id = request_id;
    w->next = c->waits;
    if (c->waits)
        c->waits->prev = w;
    c->waits = w;
    if (wait_ms && timers_start(c->timers, &w->timer, clock_now_us() + (uint64_t)wait_ms * 1000,
                                clients_wait_over, w) < 0) {
        clients_wait_free(c, w);
        return -1;
    }
    detached_wait(d, &w->waiter, clients_wait_ended, w); /* may answer at once */
    return 0;
}

/* The job a Submit asks for, its payload taken (len bytes), in the trace
 * context t. */
static job_request clients_request(const Offload__Submit *s, uint8_t *payload, size_t len,
                                   const trace_ctx *t)
{
    return (job_request){.queue = s->queue,
                         .function = s->function,
                         .payload = payload,
                         .len = len,
                         .timeout_ms = s->timeout_ms,
                         /* proto3 has no presence: 0 is "the default" */
                         .retries = s->retries ? (int)s->retries : -1,
                         .trace = t};
}

static void clients_on_submit_detached(clients *c, const wire_rid *rid, Offload__Submit *s,
                                       const trace_ctx *t)
{
    char err[256] = "the gateway is out of memory; retry later";
    const char *key = s->idempotency_key && *s->idempotency_key ? s->idempotency_key : NULL;
    if (key && !detached_key_valid(key)) {
        clients_refuse(c, rid, s->request_id, OFFLOAD__CODE__CODE_BAD_REQUEST,
                       "idempotency_key must be 1..128 printable characters, no spaces");
        return;
    }
    if (!s->detach && clients_over(c, c->nwaits, rid, s->request_id, "waiting Queries and Submits"))
        return;
    size_t len = s->payload.len;
    uint8_t *payload = codec_take_bytes(&s->payload);
    if (!payload) {
        clients_refuse(c, rid, s->request_id, OFFLOAD__CODE__CODE_INTERNAL, err);
        return;
    }
    job_request r = clients_request(s, payload, len, t);
    detached_job *d;
    int existing;
    int code = core_submit_detached(c->core, &r, key, &d, &existing, err, sizeof(err));
    if (code != OFFLOAD__CODE__CODE_OK) {
        clients_refuse_submit(c, rid, s, code, err, t);
        return;
    }
    if (s->detach) {
        job_outcome o = {.job_id = d->id,
                         .code = OFFLOAD__CODE__CODE_OK,
                         .traceparent = d->traceparent,
                         .tracestate = d->tracestate};
        clients_reply_state(c, rid, s->request_id, &o, clients_state(d));
    } else if (clients_wait(c, rid, s->request_id, d, 0) < 0) {
        clients_refuse(c, rid, s->request_id, OFFLOAD__CODE__CODE_INTERNAL, err);
    }
}

static void clients_on_query(clients *c, const wire_rid *rid, const Offload__Query *q)
{
    core_count(c->core, STAT_client_requests);
    detached *ds = core_detached(c->core);
    detached_job *d = detached_find(ds, q->job_id);
    if (!d) {
        char err[160];
        snprintf(err, sizeof(err),
                 "no detached job %llu: it never existed, or it ended more than --result-ttl "
                 "ago",
                 (unsigned long long)q->job_id);
        job_outcome o = {
            .job_id = q->job_id, .code = OFFLOAD__CODE__CODE_UNKNOWN_JOB, .message = err};
        clients_reply(c, rid, q->request_id, &o);
        return;
    }
    if (q->cancel)
        detached_cancel(ds, d);
    if (d->ended || !q->wait_ms) {
        clients_reply_detached(c, rid, q->request_id, d);
        return;
    }
    if (clients_over(c, c->nwaits, rid, q->request_id, "waiting Queries and Submits"))
        return;
    if (clients_wait(c, rid, q->request_id, d, q->wait_ms) < 0) {
        job_outcome o = {.code = OFFLOAD__CODE__CODE_INTERNAL, .message = "out of memory"};
        clients_reply(c, rid, q->request_id, &o);
    }
}

/* The fleet's queues: a Reply whose payload is GET /v1/queues's JSON. */
static void clients_on_list_queues(clients *c, const wire_rid *rid, const Offload__ListQueues *m)
{
    core_count(c->core, STAT_client_requests);
    char *text = core_queues_json(c->core);
    job_outcome o = {.code = OFFLOAD__CODE__CODE_OK};
    if (text) {
        o.payload = (const uint8_t *)text;
        o.len = strlen(text);
    } else {
        o.code = OFFLOAD__CODE__CODE_INTERNAL;
        o.message = "the gateway is out of memory; retry later";
    }
    clients_reply(c, rid, m->request_id, &o);
    free(text);
}

static void clients_on_submit(clients *c, const wire_rid *rid, Offload__Submit *s, uint64_t now_us)
{
    core_count(c->core, STAT_client_requests);
    char err[256] = "the gateway is out of memory; retry later";
    if (s->lease_ms && (s->lease_ms < CODEC_LEASE_MS_MIN || s->lease_ms > CODEC_LEASE_MS_MAX)) {
        snprintf(err, sizeof(err), "lease_ms %u: 0 (none) or %d..%d", s->lease_ms,
                 CODEC_LEASE_MS_MIN, CODEC_LEASE_MS_MAX);
        clients_refuse(c, rid, s->request_id, OFFLOAD__CODE__CODE_BAD_REQUEST, err);
        return;
    }
    trace_ctx t;
    core_trace(c->core, s->traceparent, s->tracestate, &t);
    if (s->detach || (s->idempotency_key && *s->idempotency_key)) {
        clients_on_submit_detached(c, rid, s, &t);
        return;
    }
    client_peer *p = clients_peer(c, rid);
    client_call *call = NULL;
    if (p) {
        HASH_FIND(hh, p->calls, &s->request_id, sizeof(s->request_id), call);
        if (call) {
            snprintf(err, sizeof(err), "request_id %llu is in flight already",
                     (unsigned long long)s->request_id);
            clients_refuse(c, rid, s->request_id, OFFLOAD__CODE__CODE_BAD_REQUEST, err);
            return;
        }
    }
    int new_peer = !p;
    if (new_peer && clients_over(c, c->npeers, rid, s->request_id, "clients with calls in flight"))
        return;
    if (new_peer && (p = calloc(1, sizeof(*p))) != NULL) {
        p->rid = *rid;
        HASH_ADD(hh, c->peers, rid.bytes, p->rid.len, p);
        c->npeers++;
    }
    call = malloc(sizeof(*call));
    size_t len = s->payload.len;
    uint8_t *payload = codec_take_bytes(&s->payload);
    int code = OFFLOAD__CODE__CODE_INTERNAL;
    if (p && call && payload) {
        p->last_seen_us = now_us;
        p->lease_ms = s->lease_ms;
        call->front = c;
        call->peer = p;
        call->request_id = s->request_id;
        job_request r = clients_request(s, payload, len, &t);
        payload = NULL;
        code = core_submit(c->core, &r, clients_job_done, call, &call->job, err, sizeof(err));
        if (code == OFFLOAD__CODE__CODE_OK) {
            HASH_ADD(hh, p->calls, request_id, sizeof(call->request_id), call);
            c->pending++;
            if (p->lease_ms)
                clients_arm_tick(c);
            return;
        }
    }
    free(payload);
    free(call);
    if (new_peer && p) {
        HASH_DEL(c->peers, p);
        c->npeers--;
        free(p);
    }
    clients_refuse_submit(c, rid, s, code, err, &t);
}

/* Cancels call's job and answers it (answer) or not (a gone client). */
static void clients_cancel_call(clients *c, client_call *call, int answer, const char *why)
{
    gw_job *job = call->job;
    job_outcome out = {.job_id = core_job_id(job),
                       .code = OFFLOAD__CODE__CODE_CANCELLED,
                       .message = why,
                       .traceparent = core_job_traceparent(job),
                       .tracestate = core_job_tracestate(job)};
    core_detach(c->core, job);
    if (answer)
        clients_reply(c, &call->peer->rid, call->request_id, &out);
    clients_call_free(c, call);
}

static void clients_on_cancel(clients *c, const wire_rid *rid, const Offload__Cancel *m)
{
    client_peer *p = clients_peer(c, rid);
    client_call *call = NULL;
    if (p)
        HASH_FIND(hh, p->calls, &m->request_id, sizeof(m->request_id), call);
    if (!call) {
        log_debug("event=cancel_unknown socket=clients request_id=%llu",
                  (unsigned long long)m->request_id);
        return; /* ended already: its Reply crossed the Cancel */
    }
    log_debug("event=client_cancel request_id=%llu job_id=%llu trace_id=%.32s",
              (unsigned long long)m->request_id, (unsigned long long)core_job_id(call->job),
              trace_id(core_job_traceparent(call->job)));
    clients_cancel_call(c, call, 1, "cancelled by the caller");
}

size_t clients_check_leases(clients *c, uint64_t now_us)
{
    size_t gone = 0, leased = 0;
    client_peer *p, *tmp;
    HASH_ITER(hh, c->peers, p, tmp)
    {
        if (!p->lease_ms)
            continue;
        if (now_us - p->last_seen_us <= (uint64_t)p->lease_ms * 1000) {
            leased++;
            continue;
        }
        gone++;
        size_t n = HASH_COUNT(p->calls);
        log_info("event=client_gone silent_ms=%llu lease_ms=%u jobs_cancelled=%zu",
                 (unsigned long long)((now_us - p->last_seen_us) / 1000), p->lease_ms, n);
        client_call *call, *ctmp;
        HASH_ITER(hh, p->calls, call, ctmp)
        {
            core_count(c->core, STAT_callers_gone);
            int last = HASH_COUNT(p->calls) == 1; /* p is freed with its last call */
            clients_cancel_call(c, call, 0, NULL);
            if (last)
                break;
        }
    }
    if (leased)
        timers_start(c->timers, &c->lease_tick, now_us + CLIENTS_LEASE_TICK_US, clients_lease_tick,
                     c);
    else
        timers_stop(c->timers, &c->lease_tick);
    return gone;
}

void clients_init(clients *c, struct gw_core *core, timers *ts, clients_send_fn send,
                  void *send_arg)
{
    memset(c, 0, sizeof(*c));
    c->core = core;
    c->timers = ts;
    c->send = send;
    c->send_arg = send_arg;
}

void clients_on_message(clients *c, const wire_rid *rid, codec_envelope *env, uint64_t now_us)
{
    client_peer *p = clients_peer(c, rid);
    if (p)
        p->last_seen_us = now_us; /* any message renews the lease */
    switch (env->body_case) {
    case OFFLOAD__ENVELOPE__BODY_SUBMIT:
        clients_on_submit(c, rid, env->submit, now_us);
        break;
    case OFFLOAD__ENVELOPE__BODY_CANCEL:
        clients_on_cancel(c, rid, env->cancel);
        break;
    case OFFLOAD__ENVELOPE__BODY_QUERY:
        clients_on_query(c, rid, env->query);
        break;
    case OFFLOAD__ENVELOPE__BODY_LIST_QUEUES:
        clients_on_list_queues(c, rid, env->list_queues);
        break;
    case OFFLOAD__ENVELOPE__BODY_HEARTBEAT:
        break;
    default:
        core_count(c->core, STAT_frames_unexpected);
        if (log_limiter_allow(&clients_limiter, 5))
            log_warn("event=frame_dropped socket=clients reason=\"unexpected %s\"",
                     codec_body_name(env->body_case));
    }
}

void clients_close(clients *c)
{
    timers_stop(c->timers, &c->lease_tick);
    while (c->waits)
        clients_wait_free(c, c->waits);
    client_peer *p, *tmp;
    HASH_ITER(hh, c->peers, p, tmp)
    {
        client_call *call, *ctmp;
        HASH_ITER(hh, p->calls, call, ctmp)
        {
            HASH_DEL(p->calls, call);
            free(call);
        }
        HASH_DEL(c->peers, p);
        free(p);
    }
    c->pending = 0;
    c->npeers = 0;
}
