/* clients.c -- see clients.h. */
#include "clients.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "clock.h"
#include "gateway.h"
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

static void clients_reply(clients *c, const wire_rid *rid, uint64_t request_id,
                          const job_outcome *o)
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
    env.body_case = OFFLOAD__ENVELOPE__BODY_REPLY;
    env.reply = &reply;
    if (c->send(c->send_arg, rid, &env) < 0)
        gateway_count(c->gw, STAT_send_failures);
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

static void clients_lease_tick(gw_timer *t, void *arg)
{
    clients *c = arg;
    (void)t;
    clients_check_leases(c, clock_now_us());
}

static void clients_arm_tick(clients *c)
{
    if (!timer_active(&c->lease_tick))
        timers_start(c->timers, &c->lease_tick, clock_now_us() + CLIENTS_LEASE_TICK_US,
                     clients_lease_tick, c);
}

static void clients_refuse(clients *c, const wire_rid *rid, uint64_t request_id, int code,
                           const char *err)
{
    gateway_count(c->gw, STAT_submits_refused);
    job_outcome out = {.code = code, .message = err};
    clients_reply(c, rid, request_id, &out);
}

static void clients_on_submit(clients *c, const wire_rid *rid, const Offload__Submit *s,
                              uint64_t now_us)
{
    gateway_count(c->gw, STAT_client_requests);
    char err[256] = "the gateway is out of memory; retry later";
    if (s->lease_ms && (s->lease_ms < CODEC_LEASE_MS_MIN || s->lease_ms > CODEC_LEASE_MS_MAX)) {
        snprintf(err, sizeof(err), "lease_ms %u: 0 (none) or %d..%d", s->lease_ms,
                 CODEC_LEASE_MS_MIN, CODEC_LEASE_MS_MAX);
        clients_refuse(c, rid, s->request_id, OFFLOAD__CODE__CODE_BAD_REQUEST, err);
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
    if (new_peer && (p = calloc(1, sizeof(*p))) != NULL) {
        p->rid = *rid;
        HASH_ADD(hh, c->peers, rid.bytes, p->rid.len, p);
    }
    call = malloc(sizeof(*call));
    uint8_t *payload = malloc(s->payload.len ? s->payload.len : 1);
    int code = OFFLOAD__CODE__CODE_INTERNAL;
    if (p && call && payload) {
        p->last_seen_us = now_us;
        p->lease_ms = s->lease_ms;
        if (s->payload.len)
            memcpy(payload, s->payload.data, s->payload.len);
        call->front = c;
        call->peer = p;
        call->request_id = s->request_id;
        job_request r = {.queue = s->queue,
                         .function = s->function,
                         .payload = payload,
                         .len = s->payload.len,
                         .timeout_ms = s->timeout_ms,
                         /* proto3 has no presence: 0 is "the default" */
                         .retries = s->retries ? (int)s->retries : -1};
        payload = NULL;
        code = gateway_submit(c->gw, &r, clients_job_done, call, &call->job, err, sizeof(err));
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
        free(p);
    }
    clients_refuse(c, rid, s->request_id, code, err);
}

/* Cancels call's job and answers it (answer) or not (a gone client). */
static void clients_cancel_call(clients *c, client_call *call, int answer, const char *why)
{
    gw_job *job = call->job;
    job_outcome out = {
        .job_id = gateway_job_id(job), .code = OFFLOAD__CODE__CODE_CANCELLED, .message = why};
    gateway_detach(c->gw, job);
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
    log_debug("event=client_cancel request_id=%llu job_id=%llu", (unsigned long long)m->request_id,
              (unsigned long long)gateway_job_id(call->job));
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
            gateway_count(c->gw, STAT_callers_gone);
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

void clients_init(clients *c, struct gateway *gw, timers *ts, clients_send_fn send, void *send_arg)
{
    memset(c, 0, sizeof(*c));
    c->gw = gw;
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
    case OFFLOAD__ENVELOPE__BODY_HEARTBEAT:
        break;
    default:
        gateway_count(c->gw, STAT_frames_unexpected);
        if (log_limiter_allow(&clients_limiter, 5))
            log_warn("event=frame_dropped socket=clients reason=\"unexpected %s\"",
                     codec_body_name(env->body_case));
    }
}

void clients_close(clients *c)
{
    timers_stop(c->timers, &c->lease_tick);
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
}
