/* clients.c -- see clients.h. */
#include "clients.h"

#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "log.h"

static log_limiter clients_limiter;

/* One Submit whose job runs: where its Reply goes. */
typedef struct client_call {
    clients *front;
    wire_rid rid;
    uint64_t request_id;
} client_call;

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

static void clients_job_done(gw_job *job, const job_outcome *out, void *arg)
{
    client_call *call = arg;
    (void)job;
    clients_reply(call->front, &call->rid, call->request_id, out);
    call->front->pending--;
    free(call);
}

static void clients_on_submit(clients *c, const wire_rid *rid, const Offload__Submit *s)
{
    gateway_count(c->gw, STAT_client_requests);
    char err[256] = "the gateway is out of memory; retry later";
    int code = OFFLOAD__CODE__CODE_INTERNAL;
    client_call *call = malloc(sizeof(*call));
    uint8_t *payload = malloc(s->payload.len ? s->payload.len : 1);
    if (call && payload) {
        if (s->payload.len)
            memcpy(payload, s->payload.data, s->payload.len);
        call->front = c;
        call->rid = *rid;
        call->request_id = s->request_id;
        job_request r = {.queue = s->queue,
                         .function = s->function,
                         .payload = payload,
                         .len = s->payload.len,
                         .timeout_ms = s->timeout_ms,
                         /* proto3 has no presence: 0 is "the default" */
                         .retries = s->retries ? (int)s->retries : -1};
        payload = NULL;
        gw_job *job;
        code = gateway_submit(c->gw, &r, clients_job_done, call, &job, err, sizeof(err));
        if (code == OFFLOAD__CODE__CODE_OK) {
            c->pending++;
            return;
        }
    }
    free(payload);
    free(call);
    gateway_count(c->gw, STAT_submits_refused);
    job_outcome out = {.code = code, .message = err};
    clients_reply(c, rid, s->request_id, &out);
}

void clients_init(clients *c, struct gateway *gw, clients_send_fn send, void *send_arg)
{
    memset(c, 0, sizeof(*c));
    c->gw = gw;
    c->send = send;
    c->send_arg = send_arg;
}

void clients_on_message(clients *c, const wire_rid *rid, codec_envelope *env)
{
    if (env->body_case == OFFLOAD__ENVELOPE__BODY_SUBMIT) {
        clients_on_submit(c, rid, env->submit);
    } else if (env->body_case != OFFLOAD__ENVELOPE__BODY_HEARTBEAT) {
        gateway_count(c->gw, STAT_frames_unexpected);
        if (log_limiter_allow(&clients_limiter, 5))
            log_warn("event=frame_dropped socket=clients reason=\"unexpected %s\"",
                     codec_body_name(env->body_case));
    }
}
