/* async.c -- liboffload's asynchronous API, see offload.h and async.h:
 * submit, cancel, dispatch and the hooks for the caller's loop, and the
 * results: made from a Reply or by the library, handed to the request's
 * callback, freed; and offload_free, which cancels and ends every request
 * before client_free (client.h) frees the rest. Owns the table of requests
 * in flight (client_priv's requests) and every offload_result until its
 * callback returns. */
#include "async.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "codec.h"
#include "errors.h"
#include "outbox.h"
#include "wire.h"

/* The gateway's default deadline is unknown here; wait at least this long
 * for calls that set none. */
#define OFFLOAD_DEFAULT_WAIT_MS 60000
#define OFFLOAD_RECV_BATCH 1024     /* replies read per dispatch turn */
#define OFFLOAD_AUTH_POLL_MS 100    /* with CURVE, before a handshake succeeded */
#define OFFLOAD_CLOSE_LINGER_MS 200 /* for the Cancels offload_free sends */

const char *offload_code_name(int code)
{
    return code == OFFLOAD_NO_REPLY ? "no_reply" : code_name(code);
}

int offload_result_status(const offload_result *r)
{
    return r->code;
}

const void *offload_result_data(const offload_result *r, size_t *len)
{
    if (len)
        *len = r->len;
    return r->payload;
}

const char *offload_state_name(int state)
{
    static const char *const names[] = {"", "queued", "running", "done", "failed", "cancelled"};
    return state >= 0 && state < (int)(sizeof(names) / sizeof(names[0])) ? names[state] : "";
}

/* A result the library makes itself (no Reply): cancelled, no_reply. */
static offload_result *async_result_local(uint64_t request_id, int code, const char *message)
{
    offload_result *res = calloc(1, sizeof(*res));
    if (!res)
        return NULL;
    res->code = code;
    res->error = offload_code_name(code);
    res->message = strdup(message);
    res->payload = calloc(1, 1);
    res->request_id = request_id;
    if (!res->message || !res->payload) {
        offload_result_free(res);
        return NULL;
    }
    return res;
}

/* Turns a Reply into a result. */
static offload_result *async_result(const Offload__Reply *r)
{
    offload_result *res = calloc(1, sizeof(*res));
    if (!res)
        return NULL;
    res->code = r->code;
    res->error = offload_code_name(r->code);
    res->message = strdup(r->message ? r->message : "");
    res->payload = malloc(r->payload.len + 1);
    if (!res->message || !res->payload) {
        offload_result_free(res);
        return NULL;
    }
    if (r->payload.len)
        memcpy(res->payload, r->payload.data, r->payload.len);
    res->payload[r->payload.len] = '\0'; /* convenient for text results */
    res->len = r->payload.len;
    res->job_id = r->job_id;
    res->waited_us = r->waited_us;
    res->run_us = r->run_us;
    res->request_id = r->request_id;
    res->state = r->state;
    res->retry_after_s = r->retry_after_s;
    if ((r->traceparent && *r->traceparent && !(res->traceparent = strdup(r->traceparent))) ||
        (r->tracestate && *r->tracestate && !(res->tracestate = strdup(r->tracestate)))) {
        offload_result_free(res);
        return NULL;
    }
    return res;
}

void offload_result_free(offload_result *r)
{
    if (!r)
        return;
    free(r->message);
    free(r->payload);
    free(r->traceparent);
    free(r->tracestate);
    free(r);
}

void async_end(offload_client *c, request *q, offload_result *res, int code, const char *message)
{
    offload_callback *cb = (offload_callback *)(uintptr_t)q->cb;
    void *arg = q->arg;
    uint64_t id = q->id;
    outbox_unqueue(c->priv, q);
    free(q);
    if (!res)
        res = async_result_local(id, code, message);
    offload_result fallback = {.code = code, .error = offload_code_name(code), .request_id = id};
    cb(c, res ? res : &fallback, arg);
    offload_result_free(res);
}

/* Ends a request in the table with a Reply's result. */
static void async_finish(offload_client *c, request *q, offload_result *res)
{
    client_priv *p = c->priv;
    requests_take(&p->requests, q);
    async_end(c, q, res, OFFLOAD_INTERNAL, "out of memory in the client");
}

/* ---- submitting ---------------------------------------------------------- */

int offload_submit(offload_client *c, const char *queue, const char *function, const void *payload,
                   size_t len, const offload_call_options *opts, offload_callback *cb, void *arg,
                   uint64_t *request_id)
{
    return async_submit(c, queue, function, payload, len, opts, 0, NULL, cb, arg, request_id);
}

int async_submit(offload_client *c, const char *queue, const char *function, const void *payload,
                 size_t len, const offload_call_options *opts, int detach, const char *key,
                 offload_callback *cb, void *arg, uint64_t *request_id)
{
    client_priv *p = c->priv;
    client_clear_err(c);
    if (!p || !p->sock) {
        client_set_err(c, OFFLOAD_ERR_IO, "the client is not connected");
        return -1;
    }
    if (!cb || !queue || !function || (!payload && len)) {
        client_set_err(c, OFFLOAD_ERR_ARGS,
                       "offload_submit: a callback, a queue and a function "
                       "are required");
        return -1;
    }
    if (!codec_name_valid(queue) || !codec_name_valid(function)) {
        client_set_err(c, OFFLOAD_ERR_ARGS,
                       "queue and function names are 1..%d characters of A-Z a-z 0-9 _ . -",
                       CODEC_NAME_MAX);
        return -1;
    }
    uint32_t timeout_ms = opts ? opts->timeout_ms : 0;
    uint64_t reply_by = clock_now_ms() + (timeout_ms ? timeout_ms : OFFLOAD_DEFAULT_WAIT_MS) +
                        (uint64_t)p->grace_ms;
    request *q = requests_add(&p->requests, reply_by, (void *)(uintptr_t)cb, arg);
    if (!q) {
        client_set_err(c, OFFLOAD_ERR_OOM, "out of memory");
        return -1;
    }
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Submit s = OFFLOAD__SUBMIT__INIT;
    s.request_id = q->id;
    s.queue = (char *)queue;
    s.function = (char *)function;
    s.payload.data = (uint8_t *)payload;
    s.payload.len = len;
    s.timeout_ms = timeout_ms;
    s.retries = opts ? opts->retries : 0;
    s.lease_ms = detach ? 0 : (uint32_t)p->lease_ms;
    s.detach = detach;
    s.idempotency_key = (char *)key;
    s.traceparent = p->traceparent;
    s.tracestate = p->tracestate;
    env.body_case = OFFLOAD__ENVELOPE__BODY_SUBMIT;
    env.submit = &s;
    if (outbox_send_request(c, &env, q) < 0) {
        requests_remove(&p->requests, q);
        return -1;
    }
    if (request_id)
        *request_id = s.request_id;
    return 0;
}

int offload_cancel(offload_client *c, uint64_t request_id)
{
    client_priv *p = c->priv;
    client_clear_err(c);
    request *q = p ? requests_find(&p->requests, request_id) : NULL;
    if (!q) {
        client_set_err(c, OFFLOAD_ERR_ARGS, "no request %llu in flight",
                       (unsigned long long)request_id);
        return -1;
    }
    if (q->frame) { /* it never left: the next dispatch ends it */
        if (!q->cancel_sent)
            p->n_unsent_cancel++;
        q->cancel_sent = 1;
        return 0;
    }
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Cancel m = OFFLOAD__CANCEL__INIT;
    m.request_id = request_id;
    env.body_case = OFFLOAD__ENVELOPE__BODY_CANCEL;
    env.cancel = &m;
    if (outbox_send_all(c, &env) < 0)
        return -1;
    q->cancel_sent = 1;
    return 0;
}

/* ---- dispatching ----------------------------------------------------------- */

/* Ends the unsent requests offload_cancel cancelled. Returns how many. */
static int async_end_cancelled(offload_client *c)
{
    client_priv *p = c->priv;
    int ran = 0;
    while (p->n_unsent_cancel) {
        request *q = p->unsent;
        while (q && !q->cancel_sent)
            q = q->unsent_next;
        if (!q)
            break;
        requests_take(&p->requests, q);
        async_end(c, q, NULL, OFFLOAD_CANCELLED, "cancelled before it reached a gateway");
        ran++;
    }
    return ran;
}

int offload_fd(offload_client *c)
{
    client_priv *p = c->priv;
    int fd = -1;
    size_t len = sizeof(fd);
    if (!p || !p->sock || zmq_getsockopt(p->sock, ZMQ_FD, &fd, &len) != 0) {
        client_set_err(c, OFFLOAD_ERR_IO, "the client has no socket");
        return -1;
    }
    return fd;
}

int offload_timeout_ms(offload_client *c)
{
    client_priv *p = c->priv;
    if (!p || !p->requests.count)
        return -1;
    /* ZMQ_FD is edge-triggered: replies that came while we sent do not
     * make it readable again. If any wait, the caller must not block. */
    int events = 0;
    size_t elen = sizeof(events);
    if (p->sock && zmq_getsockopt(p->sock, ZMQ_EVENTS, &events, &elen) == 0 &&
        (events & ZMQ_POLLIN))
        return 0;
    if (p->n_unsent_cancel ||
        (p->unsent && p->sock && zmq_getsockopt(p->sock, ZMQ_EVENTS, &events, &elen) == 0 &&
         (events & ZMQ_POLLOUT)))
        return 0;
    uint64_t now = clock_now_ms(), due = requests_next_due(&p->requests);
    /* Requests wait for a gateway to come up: look again soon (ZMQ_FD
     * tells of a new connection too, but a caller may poll it for input
     * only). */
    if (p->unsent && due > now + OFFLOAD_AUTH_POLL_MS)
        due = now + OFFLOAD_AUTH_POLL_MS;
    /* The monitor has no fd in the caller's poll set: until a handshake
     * succeeded, come back soon to see whether it failed. */
    if (p->monitor && !p->handshaken && due > now + OFFLOAD_AUTH_POLL_MS)
        due = now + OFFLOAD_AUTH_POLL_MS;
    if (p->lease_ms) {
        uint64_t beat = p->last_send_ms + (uint64_t)p->lease_ms / 3;
        if (beat < due)
            due = beat;
    }
    return due > now ? (int)(due - now < 3600000 ? due - now : 3600000) : 0;
}

/* Reads every reply waiting; runs their callbacks. Returns how many ran,
 * or -1 (c->err set). */
static int async_read(offload_client *c)
{
    client_priv *p = c->priv;
    int ran = 0;
    for (int i = 0; i < OFFLOAD_RECV_BATCH; i++) {
        codec_envelope *env;
        char err[256];
        int rc = wire_recv(p->sock, NULL, 0, &env, NULL, err, sizeof(err));
        if (rc == -EAGAIN || rc == -EINTR)
            break;
        if (rc < 0) {
            client_set_err(c, OFFLOAD_ERR_PROTOCOL, "bad reply: %s", err);
            continue; /* dropped; its request ends at its reply time */
        }
        if (env->body_case == OFFLOAD__ENVELOPE__BODY_REFUSE) {
            /* The gateway cannot serve this client at all (another protocol
             * version, an invalid message): every request ends now. */
            client_set_err(c, OFFLOAD_ERR_PROTOCOL, "the gateway refused the call: %s",
                           env->refuse->message && *env->refuse->message ? env->refuse->message
                                                                         : "no reason given");
            char msg[sizeof(c->errstr)];
            snprintf(msg, sizeof(msg), "%s", c->errstr);
            codec_free(env);
            request *q;
            while ((q = requests_take_any(&p->requests)) != NULL) {
                async_end(c, q, NULL, OFFLOAD_INTERNAL, msg);
                ran++;
            }
            return -1;
        }
        if (env->body_case == OFFLOAD__ENVELOPE__BODY_REPLY) {
            request *q = requests_find(&p->requests, env->reply->request_id);
            if (q) {
                async_finish(c, q, async_result(env->reply));
                ran++;
            }
        }
        codec_free(env); /* a late reply to an ended request, or a Heartbeat */
    }
    return ran;
}

/* Ends requests past their reply time with OFFLOAD_NO_REPLY. */
static int async_expire(offload_client *c, uint64_t now)
{
    client_priv *p = c->priv;
    int ran = 0;
    request *q;
    while ((q = requests_take_expired(&p->requests, now)) != NULL) {
        async_end(c, q, NULL, OFFLOAD_NO_REPLY,
                  "no reply from the gateway by the job's deadline plus the grace (is it "
                  "running?)");
        ran++;
    }
    return ran;
}

int offload_dispatch(offload_client *c, int timeout_ms)
{
    client_priv *p = c->priv;
    if (!p || !p->sock) {
        client_set_err(c, OFFLOAD_ERR_IO, "the client is not connected");
        return -1;
    }
    int ran = 0;
    uint64_t start = clock_now_ms();
    for (;;) {
        if (client_handshake_events(p) < 0) {
            /* Every request ends now: none can reach a gateway that
             * refuses us. ZeroMQ retries; later submits may go through. */
            client_set_err(c, OFFLOAD_ERR_AUTH, "%s", p->auth_err);
            request *q;
            while ((q = requests_take_any(&p->requests)) != NULL)
                async_end(c, q, NULL, OFFLOAD_NO_REPLY, p->auth_err);
            return -1;
        }
        int rc = async_read(c);
        if (rc < 0)
            return -1;
        ran += rc;
        if (p->unsent) {
            ran += async_end_cancelled(c);
            outbox_flush(c);
        }
        uint64_t now = clock_now_ms();
        ran += async_expire(c, now);
        outbox_heartbeat(c, now);
        if (ran || timeout_ms == 0 || !p->requests.count)
            return ran;
        if (timeout_ms > 0 && now - start >= (uint64_t)timeout_ms)
            return 0;
        long wait = offload_timeout_ms(c);
        if (timeout_ms > 0 && (wait < 0 || (uint64_t)wait > start + timeout_ms - now))
            wait = (long)(start + (uint64_t)timeout_ms - now);
        short want = p->unsent ? ZMQ_POLLIN | ZMQ_POLLOUT : ZMQ_POLLIN;
        zmq_pollitem_t items[2] = {{p->sock, 0, want, 0}, {p->monitor, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, p->monitor ? 2 : 1, wait) < 0 && errno != EINTR) {
            client_set_err(c, OFFLOAD_ERR_IO, "poll: %s", zmq_strerror(errno));
            return -1;
        }
    }
}

/* ---- freeing -------------------------------------------------------------- */

void offload_free(offload_client *c)
{
    if (!c)
        return;
    client_priv *p = c->priv;
    if (p) {
        if (p->sock && p->requests.count) {
            /* Cancel what is still in flight at the gateway, and give the
             * Cancels a moment to leave. */
            for (request *q = p->requests.by_id; q; q = q->hh.next) {
                if (q->frame)
                    continue; /* never sent */
                Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
                Offload__Cancel m = OFFLOAD__CANCEL__INIT;
                m.request_id = q->id;
                env.body_case = OFFLOAD__ENVELOPE__BODY_CANCEL;
                env.cancel = &m;
                for (int i = 0; i < p->n_gateways; i++)
                    wire_send(p->sock, NULL, &env, ZMQ_DONTWAIT);
            }
            int linger = OFFLOAD_CLOSE_LINGER_MS;
            zmq_setsockopt(p->sock, ZMQ_LINGER, &linger, sizeof(linger));
        }
        request *q;
        while ((q = requests_take_any(&p->requests)) != NULL)
            async_end(c, q, NULL, OFFLOAD_CANCELLED, "cancelled: the client was freed");
    }
    client_free(c);
}
