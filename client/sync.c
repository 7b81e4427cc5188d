/* sync.c -- liboffload's synchronous API, see offload.h: offload_call,
 * offload_submit_detached, offload_job and offload_queues, each a submit
 * plus dispatching until its own callback ran (async.h), so synchronous
 * and asynchronous calls share one path and may be mixed on a client.
 * Owns nothing past a call: its result goes to the caller. */
#include "offload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "async.h"
#include "client.h"
#include "clock.h"
#include "codec.h"
#include "outbox.h"

/* A draining gateway's answer to a Submit (gateway.c): with several
 * gateways, offload_call sends the job again, to another one. */
#define OFFLOAD_DRAINING_TEXT "the gateway is shutting down"

typedef struct call_slot {
    int done;
    offload_result *res; /* taken from the callback */
} call_slot;

static void sync_call_done(offload_client *c, offload_result *r, void *arg)
{
    call_slot *slot = arg;
    (void)c;
    slot->done = 1;
    /* Keep a copy: r is freed after the callback returns. */
    offload_result *copy = calloc(1, sizeof(*copy));
    if (copy) {
        *copy = *r;
        copy->message = strdup(r->message ? r->message : "");
        copy->payload = malloc(r->len + 1);
        copy->traceparent = r->traceparent ? strdup(r->traceparent) : NULL;
        copy->tracestate = r->tracestate ? strdup(r->tracestate) : NULL;
        if (!copy->message || !copy->payload || (r->traceparent && !copy->traceparent) ||
            (r->tracestate && !copy->tracestate)) {
            offload_result_free(copy);
            copy = NULL;
        } else {
            memcpy(copy->payload, r->payload ? r->payload : (const uint8_t *)"", r->len);
            copy->payload[r->len] = '\0';
        }
    }
    slot->res = copy;
}

/* Dispatches until slot's request (id) ended; its result goes to *out (0),
 * or -1 with c->err set (a transport error, or no reply in time). */
static int sync_wait(offload_client *c, call_slot *slot, uint64_t id, offload_result **out)
{
    *out = NULL;
    while (!slot->done)
        if (offload_dispatch(c, -1) < 0 && !slot->done) {
            /* The request may still be in flight: forget it quietly. */
            client_priv *p = c->priv;
            request *q = requests_find(&p->requests, id);
            if (q) {
                outbox_unqueue(p, q);
                requests_remove(&p->requests, q);
            }
            return -1;
        }
    if (!slot->res) {
        client_set_err(c, OFFLOAD_ERR_OOM, "out of memory");
        return -1;
    }
    if (slot->res->code == OFFLOAD_NO_REPLY) {
        client_set_err(c, c->err == OFFLOAD_ERR_AUTH ? OFFLOAD_ERR_AUTH : OFFLOAD_ERR_TIMEOUT, "%s",
                       slot->res->message);
        offload_result_free(slot->res);
        return -1;
    }
    client_clear_err(c);
    *out = slot->res;
    return 0;
}

/* Before a request is sent again for another gateway: waits up to
 * OFFLOAD_CONNECT_WAIT_MS until every gateway's connection is up (the
 * DEALER deals only to those), or returns at once when they are. */
static void sync_await_gateways(offload_client *c)
{
    client_priv *p = c->priv;
    uint64_t until = clock_now_ms() + OFFLOAD_CONNECT_WAIT_MS;
    for (;;) {
        offload_dispatch(c, 0); /* reads the monitor's events */
        uint64_t now = clock_now_ms();
        if (!p->monitor || p->n_up >= p->n_gateways || now >= until)
            return;
        zmq_pollitem_t item = {p->monitor, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, (long)(until - now)) < 0 && errno != EINTR)
            return;
    }
}

/* True if r is a draining gateway's refusal of a Submit. */
static int sync_draining(const offload_result *r)
{
    return r->code == OFFLOAD_NO_EXECUTOR && r->message &&
           !strncmp(r->message, OFFLOAD_DRAINING_TEXT, strlen(OFFLOAD_DRAINING_TEXT));
}

/* With several gateways, a call refused by a draining one is sent again (the
 * DEALER deals it to the next connection), up to twice per gateway. */
int offload_call(offload_client *c, const char *queue, const char *function, const void *payload,
                 size_t len, const offload_call_options *opts, offload_result **out)
{
    client_priv *p = c->priv;
    int attempts = p && p->n_gateways > 1 ? 2 * p->n_gateways : 1;
    *out = NULL;
    for (int i = 1;; i++) {
        call_slot slot = {0};
        uint64_t id;
        if (offload_submit(c, queue, function, payload, len, opts, sync_call_done, &slot, &id) <
                0 ||
            sync_wait(c, &slot, id, out) < 0)
            return -1;
        if (i >= attempts || !sync_draining(*out))
            return 0;
        offload_result_free(*out);
        *out = NULL;
        sync_await_gateways(c);
    }
}

int offload_submit_detached(offload_client *c, const char *queue, const char *function,
                            const void *payload, size_t len, const offload_call_options *opts,
                            const char *key, uint64_t *job_id, offload_result **refused)
{
    call_slot slot = {0};
    uint64_t id;
    offload_result *r;
    *job_id = 0;
    if (refused)
        *refused = NULL;
    if (async_submit(c, queue, function, payload, len, opts, 1, key, sync_call_done, &slot, &id) <
            0 ||
        sync_wait(c, &slot, id, &r) < 0)
        return -1;
    if (r->code == OFFLOAD_OK)
        *job_id = r->job_id;
    if (r->code != OFFLOAD_OK && refused)
        *refused = r;
    else
        offload_result_free(r);
    return 0;
}

/* Sends env (a Query or ListQueues whose request_id *request_id is set
 * here) and waits up to wait_ms plus the grace for its Reply, into *out. */
static int sync_ask(offload_client *c, codec_envelope *env, uint64_t *request_id, int wait_ms,
                    offload_result **out)
{
    client_priv *p = c->priv;
    *out = NULL;
    client_clear_err(c);
    if (!p || !p->sock) {
        client_set_err(c, OFFLOAD_ERR_IO, "the client is not connected");
        return -1;
    }
    call_slot slot = {0};
    request *q =
        requests_add(&p->requests, clock_now_ms() + (uint64_t)wait_ms + (uint64_t)p->grace_ms,
                     (void *)(uintptr_t)sync_call_done, &slot);
    if (!q) {
        client_set_err(c, OFFLOAD_ERR_OOM, "out of memory");
        return -1;
    }
    uint64_t id = q->id;
    *request_id = id;
    if (outbox_send_request(c, env, q) < 0) {
        requests_remove(&p->requests, q);
        return -1;
    }
    return sync_wait(c, &slot, id, out);
}

/* A detached job lives in the gateway that took it. With several gateways,
 * the Query is dealt to one that is up; when it answers unknown_job, the
 * next connection is asked, until each was. */
int offload_job(offload_client *c, uint64_t job_id, int wait_ms, int cancel, offload_result **out)
{
    client_priv *p = c->priv;
    /* Once every connection is up, n consecutive Queries go to n gateways;
     * the first may have gone out before that. */
    int attempts = p && p->n_gateways > 1 ? p->n_gateways + 1 : 1;
    if (wait_ms < 0)
        wait_ms = 0;
    for (int i = 1;; i++) {
        Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
        Offload__Query m = OFFLOAD__QUERY__INIT;
        m.job_id = job_id;
        m.wait_ms = (uint32_t)wait_ms;
        m.cancel = cancel != 0;
        env.body_case = OFFLOAD__ENVELOPE__BODY_QUERY;
        env.query = &m;
        if (sync_ask(c, &env, &m.request_id, wait_ms, out) < 0)
            return -1;
        if (i >= attempts || (*out)->code != OFFLOAD_UNKNOWN_JOB)
            return 0;
        offload_result_free(*out);
        *out = NULL;
        sync_await_gateways(c);
    }
}

int offload_queues(offload_client *c, offload_result **out)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__ListQueues m = OFFLOAD__LIST_QUEUES__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_LIST_QUEUES;
    env.list_queues = &m;
    return sync_ask(c, &env, &m.request_id, 0, out);
}
