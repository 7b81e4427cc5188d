/* client.c -- the client object of liboffload, see offload.h and
 * client.h: connecting (the endpoint list, CURVE keys, the handshake
 * monitor), the error on the client, and freeing it (client_free, once
 * offload_free in async.c has ended its requests). Owns client_priv's
 * context, socket and monitor and the connection counts. The lowest of
 * liboffload's modules but requests.c: it calls none of the others. */
#include "client.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "codec.h"
#include "keys.h"
#include "wire.h"

#define OFFLOAD_DEFAULT_ENDPOINT "tcp://127.0.0.1:5555"
#define OFFLOAD_DEFAULT_GRACE_MS 5000
#define OFFLOAD_DEFAULT_LEASE_MS 5000
#define OFFLOAD_MAX_ENDPOINTS 16   /* gateways in one endpoint list */
#define OFFLOAD_TRACE_ARG_MAX 4096 /* offload_set_trace's strings; the gateway judges them */

void client_set_err(offload_client *c, int err, const char *fmt, ...)
{
    va_list ap;
    c->err = err;
    va_start(ap, fmt);
    vsnprintf(c->errstr, sizeof(c->errstr), fmt, ap);
    va_end(ap);
}

void client_clear_err(offload_client *c)
{
    c->err = OFFLOAD_ERR_NONE;
    c->errstr[0] = '\0';
}

int offload_err(const offload_client *c)
{
    return c->err;
}

const char *offload_errstr(const offload_client *c)
{
    return c->errstr;
}

size_t offload_pending(const offload_client *c)
{
    const client_priv *p = c->priv;
    return p ? p->requests.count : 0;
}

offload_client *offload_connect(const char *endpoint)
{
    offload_options o = {.endpoint = endpoint};
    return offload_connect_with(&o);
}

static int client_monitor(offload_client *c);

/* Makes the socket a CURVE client when keys are given (options, else the
 * environment), with a monitor for the handshake's outcome. Returns 0, or
 * -1 with c->err set. */
static int client_curve(offload_client *c, const offload_options *opts)
{
    client_priv *p = c->priv;
    const char *key = opts && opts->curve_key ? opts->curve_key : getenv("OFFLOAD_CURVE_KEY");
    const char *server =
        opts && opts->curve_server ? opts->curve_server : getenv("OFFLOAD_CURVE_SERVER");
    if (key && !*key)
        key = NULL;
    if (server && !*server)
        server = NULL;
    p->curve = key || server;
    if (!p->curve)
        return client_monitor(c);
    if (!key || !server) {
        client_set_err(c, OFFLOAD_ERR_ARGS,
                       "CURVE needs both keys: curve_key (PATH.key) and curve_server (the "
                       "gateway's PATH.pub)");
        return -1;
    }
    keys_file mine, theirs;
    char err[sizeof(c->errstr)];
    if (keys_read(key, 1, &mine, err, sizeof(err)) < 0 ||
        keys_read(server, 0, &theirs, err, sizeof(err)) < 0) {
        client_set_err(c, OFFLOAD_ERR_ARGS, "%s", err);
        return -1;
    }
    int rc = zmq_setsockopt(p->sock, ZMQ_CURVE_SERVERKEY, theirs.public_key, KEYS_Z85_LEN) ||
             zmq_setsockopt(p->sock, ZMQ_CURVE_PUBLICKEY, mine.public_key, KEYS_Z85_LEN) ||
             zmq_setsockopt(p->sock, ZMQ_CURVE_SECRETKEY, mine.secret_key, KEYS_Z85_LEN);
    memset(&mine, 0, sizeof(mine));
    if (rc != 0) {
        client_set_err(c, OFFLOAD_ERR_IO, "CURVE: %s (is libzmq built with CURVE?)",
                       zmq_strerror(errno));
        return -1;
    }
    return client_monitor(c);
}

/* A monitor of the socket's handshakes, so a gateway that refuses us ends
 * our requests at once instead of at their deadline. Returns 0 or -1. */
static int client_monitor(offload_client *c)
{
    client_priv *p = c->priv;
    char addr[64];
    snprintf(addr, sizeof(addr), "inproc://offload-client-%p", (void *)c);
    p->monitor = wire_monitor(p->zctx, p->sock, addr,
                              ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                  ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                  ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED);
    if (!p->monitor) {
        client_set_err(c, OFFLOAD_ERR_IO, "ZeroMQ monitor: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

int client_handshake_events(client_priv *p)
{
    int failed = 0;
    uint16_t event;
    uint32_t value;
    while (p->monitor && wire_monitor_event(p->monitor, &event, &value, NULL, 0)) {
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            p->handshaken = 1;
            failed = 0;
            if (p->n_up < p->n_gateways)
                p->n_up++;
            continue;
        }
        if (event == ZMQ_EVENT_DISCONNECTED) {
            if (p->n_up > 0)
                p->n_up--;
            continue;
        }
        if (!p->curve && event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
            continue; /* without CURVE: a connection that broke early; retried */
        p->handshaken = 0;
        failed = 1;
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            snprintf(p->auth_err, sizeof(p->auth_err),
                     "the gateway refused this client's CURVE key (%u): it is not in the "
                     "gateway's --curve-allow directory",
                     value);
        else if (p->curve)
            snprintf(p->auth_err, sizeof(p->auth_err), "%s",
                     "the CURVE handshake with the gateway failed: wrong curve_server key, or "
                     "a gateway without CURVE");
        else
            snprintf(p->auth_err, sizeof(p->auth_err), "%s",
                     "the handshake with the gateway failed: it may require CURVE keys "
                     "(curve_key, curve_server)");
    }
    return failed ? -1 : 0;
}

/* Connects the socket to every endpoint of list ("A" or "A,B,C"; spaces
 * around the commas are ignored). With more than one, ZMQ_IMMEDIATE first:
 * each message then goes to a gateway whose connection is complete, round
 * robin, and none queues for a gateway that is down. Returns 0, or -1 with
 * c->err set. */
static int client_connect_all(offload_client *c, const char *list)
{
    client_priv *p = c->priv;
    char *copy = strdup(list), *save = NULL;
    char *eps[OFFLOAD_MAX_ENDPOINTS];
    int n = 0, rc = -1;
    if (!copy) {
        client_set_err(c, OFFLOAD_ERR_OOM, "out of memory");
        return -1;
    }
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (!*tok)
            continue;
        if (n == OFFLOAD_MAX_ENDPOINTS) {
            client_set_err(c, OFFLOAD_ERR_ARGS, "more than %d gateway endpoints in '%.60s'",
                           OFFLOAD_MAX_ENDPOINTS, list);
            goto out;
        }
        eps[n++] = tok;
    }
    if (!n) {
        client_set_err(c, OFFLOAD_ERR_ARGS, "no gateway endpoint in '%.60s'", list);
        goto out;
    }
    if (n > 1) {
        int one = 1;
        zmq_setsockopt(p->sock, ZMQ_IMMEDIATE, &one, sizeof(one));
    }
    for (int i = 0; i < n; i++)
        if (zmq_connect(p->sock, eps[i]) != 0) {
            client_set_err(c, OFFLOAD_ERR_IO, "cannot connect to '%.60s': %s", eps[i],
                           zmq_strerror(errno));
            goto out;
        }
    p->n_gateways = n;
    rc = 0;
out:
    free(copy);
    return rc;
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
    requests_init(&p->requests);
    p->grace_ms =
        opts && opts->reply_grace_ms > 0 ? opts->reply_grace_ms : OFFLOAD_DEFAULT_GRACE_MS;
    p->lease_ms = !opts || opts->lease_ms == 0 ? OFFLOAD_DEFAULT_LEASE_MS
                  : opts->lease_ms < 0         ? 0
                                               : opts->lease_ms;
    if (p->lease_ms && p->lease_ms < CODEC_LEASE_MS_MIN)
        p->lease_ms = CODEC_LEASE_MS_MIN;
    if (p->lease_ms > CODEC_LEASE_MS_MAX)
        p->lease_ms = CODEC_LEASE_MS_MAX;
    const char *endpoint = opts && opts->endpoint ? opts->endpoint : getenv("OFFLOAD_GATEWAY");
    if (!endpoint || !*endpoint)
        endpoint = OFFLOAD_DEFAULT_ENDPOINT;
    int zero = 0;
    p->zctx = zmq_ctx_new();
    if (!p->zctx || !(p->sock = zmq_socket(p->zctx, ZMQ_DEALER))) {
        client_set_err(c, OFFLOAD_ERR_IO, "zmq: %s", zmq_strerror(errno));
        return c;
    }
    zmq_setsockopt(p->sock, ZMQ_LINGER, &zero, sizeof(zero));
    if (client_curve(c, opts) < 0)
        return c;
    client_connect_all(c, endpoint);
    return c;
}

void client_free(offload_client *c)
{
    if (!c)
        return;
    client_priv *p = c->priv;
    if (p) {
        requests_close(&p->requests);
        if (p->monitor)
            zmq_close(p->monitor);
        if (p->sock)
            zmq_close(p->sock);
        if (p->zctx)
            zmq_ctx_term(p->zctx);
        free(p->traceparent);
        free(p->tracestate);
        free(p);
    }
    free(c);
}

/* A copy of s for offload_set_trace: NULL for none; -1 when too long or
 * out of memory (c->err set). */
static int client_trace_copy(offload_client *c, const char *what, const char *s, char **out)
{
    *out = NULL;
    if (!s || !*s)
        return 0;
    if (strnlen(s, OFFLOAD_TRACE_ARG_MAX + 1) > OFFLOAD_TRACE_ARG_MAX) {
        client_set_err(c, OFFLOAD_ERR_ARGS, "offload_set_trace: %s is over %d bytes", what,
                       OFFLOAD_TRACE_ARG_MAX);
        return -1;
    }
    if (!(*out = strdup(s))) {
        client_set_err(c, OFFLOAD_ERR_OOM, "out of memory");
        return -1;
    }
    return 0;
}

int offload_set_trace(offload_client *c, const char *traceparent, const char *tracestate)
{
    client_priv *p = c->priv;
    char *tp, *ts = NULL;
    client_clear_err(c);
    if (!p) {
        client_set_err(c, OFFLOAD_ERR_IO, "the client is not connected");
        return -1;
    }
    if (client_trace_copy(c, "traceparent", traceparent, &tp) < 0 ||
        client_trace_copy(c, "tracestate", tracestate, &ts) < 0) {
        free(tp);
        return -1;
    }
    free(p->traceparent);
    free(p->tracestate);
    p->traceparent = tp;
    p->tracestate = ts;
    return 0;
}
