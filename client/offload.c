/* offload.c -- liboffload, see offload.h. A DEALER socket per client; one
 * call in flight at a time; replies to earlier calls that gave up are
 * recognised by request id and dropped. */
#include "offload.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "codec.h"
#include "errors.h"
#include "wire.h"

#define OFFLOAD_DEFAULT_ENDPOINT "tcp://127.0.0.1:5555"
#define OFFLOAD_DEFAULT_GRACE_MS 5000
/* The gateway's default deadline is unknown here; wait at least this long
 * for calls that set none. */
#define OFFLOAD_DEFAULT_WAIT_MS 60000

typedef struct client_priv {
    void *zctx, *sock;
    uint64_t next_request_id;
    int grace_ms;
} client_priv;

static void client_set_err(offload_client *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void client_set_err(offload_client *c, int err, const char *fmt, ...)
{
    va_list ap;
    c->err = err;
    va_start(ap, fmt);
    vsnprintf(c->errstr, sizeof(c->errstr), fmt, ap);
    va_end(ap);
}

const char *offload_code_name(int code)
{
    return code_name(code);
}

offload_client *offload_connect(const char *endpoint)
{
    offload_options o = {.endpoint = endpoint};
    return offload_connect_with(&o);
}

offload_client *offload_connect_with(const offload_options *opts)
{
    offload_client *c = calloc(1, sizeof(*c));
    client_priv *p = calloc(1, sizeof(*p));
    if (!c || !p) {
        free(c);
        free(p);
        return NULL;
    }
    c->priv = p;
    p->grace_ms =
        opts && opts->reply_grace_ms > 0 ? opts->reply_grace_ms : OFFLOAD_DEFAULT_GRACE_MS;
    p->next_request_id = 1;
    const char *endpoint = opts && opts->endpoint ? opts->endpoint : OFFLOAD_DEFAULT_ENDPOINT;
    int zero = 0;
    p->zctx = zmq_ctx_new();
    if (!p->zctx || !(p->sock = zmq_socket(p->zctx, ZMQ_DEALER))) {
        client_set_err(c, OFFLOAD_ERR_IO, "zmq: %s", zmq_strerror(errno));
        return c;
    }
    zmq_setsockopt(p->sock, ZMQ_LINGER, &zero, sizeof(zero));
    if (zmq_connect(p->sock, endpoint) != 0)
        client_set_err(c, OFFLOAD_ERR_IO, "cannot connect to '%s': %s", endpoint,
                       zmq_strerror(errno));
    return c;
}

/* Turns a Reply into a result the caller owns. */
static offload_result *client_result(const Offload__Reply *r)
{
    offload_result *res = calloc(1, sizeof(*res));
    if (!res)
        return NULL;
    res->code = r->code;
    res->error = code_name(r->code);
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
    return res;
}

int offload_call(offload_client *c, const char *queue, const char *function, const void *payload,
                 size_t len, const offload_call_options *opts, offload_result **out)
{
    client_priv *p = c->priv;
    *out = NULL;
    if (!p->sock) {
        client_set_err(c, OFFLOAD_ERR_IO, "the client is not connected");
        return -1;
    }
    c->err = OFFLOAD_ERR_NONE;
    c->errstr[0] = '\0';
    if (!codec_name_valid(queue) || !codec_name_valid(function)) {
        client_set_err(c, OFFLOAD_ERR_ARGS,
                       "queue and function names are 1..%d characters of A-Z a-z 0-9 _ . -",
                       CODEC_NAME_MAX);
        return -1;
    }
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Submit s = OFFLOAD__SUBMIT__INIT;
    s.request_id = p->next_request_id++;
    s.queue = (char *)queue;
    s.function = (char *)function;
    s.payload.data = (uint8_t *)payload;
    s.payload.len = len;
    s.timeout_ms = opts ? opts->timeout_ms : 0;
    s.retries = opts ? opts->retries : 0;
    env.body_case = OFFLOAD__ENVELOPE__BODY_SUBMIT;
    env.submit = &s;
    int rc = wire_send(p->sock, NULL, &env, 0);
    if (rc < 0) {
        client_set_err(c, OFFLOAD_ERR_IO, "send: %s", zmq_strerror(-rc));
        return -1;
    }

    uint64_t wait_ms =
        (s.timeout_ms ? s.timeout_ms : OFFLOAD_DEFAULT_WAIT_MS) + (uint64_t)p->grace_ms;
    uint64_t until = clock_now_ms() + wait_ms;
    for (;;) {
        uint64_t now = clock_now_ms();
        if (now >= until) {
            client_set_err(c, OFFLOAD_ERR_TIMEOUT,
                           "no reply from the gateway within %llu ms (is it running?)",
                           (unsigned long long)wait_ms);
            return -1;
        }
        zmq_pollitem_t item = {p->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, (long)(until - now)) < 0) {
            if (errno == EINTR)
                continue;
            client_set_err(c, OFFLOAD_ERR_IO, "poll: %s", zmq_strerror(errno));
            return -1;
        }
        if (!(item.revents & ZMQ_POLLIN))
            continue;
        codec_envelope *reply;
        char err[256];
        rc = wire_recv(p->sock, NULL, 0, &reply, NULL, err, sizeof(err));
        if (rc == -EAGAIN || rc == -EINTR)
            continue;
        if (rc < 0) {
            client_set_err(c, OFFLOAD_ERR_PROTOCOL, "bad reply: %s", err);
            return -1;
        }
        if (reply->body_case == OFFLOAD__ENVELOPE__BODY_REFUSE) {
            /* The gateway cannot serve this client at all (another
             * protocol version, an invalid message): waiting is pointless. */
            client_set_err(c, OFFLOAD_ERR_PROTOCOL, "the gateway refused the call: %s",
                           reply->refuse->message && *reply->refuse->message
                               ? reply->refuse->message
                               : "no reason given");
            codec_free(reply);
            return -1;
        }
        if (reply->body_case != OFFLOAD__ENVELOPE__BODY_REPLY ||
            reply->reply->request_id != s.request_id) {
            codec_free(reply); /* a late reply to an abandoned call */
            continue;
        }
        *out = client_result(reply->reply);
        codec_free(reply);
        if (!*out) {
            client_set_err(c, OFFLOAD_ERR_OOM, "out of memory");
            return -1;
        }
        return 0;
    }
}

void offload_result_free(offload_result *r)
{
    if (!r)
        return;
    free(r->message);
    free(r->payload);
    free(r);
}

void offload_free(offload_client *c)
{
    if (!c)
        return;
    client_priv *p = c->priv;
    if (p) {
        if (p->sock)
            zmq_close(p->sock);
        if (p->zctx)
            zmq_ctx_term(p->zctx);
        free(p);
    }
    free(c);
}
