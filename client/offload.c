/* offload.c -- liboffload, see offload.h. A DEALER socket per client and a
 * table of requests in flight (requests.h); offload_call is a submit plus
 * dispatching until its own callback ran, so synchronous and asynchronous
 * calls share one path and may be mixed on a client. */
#include "offload.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>
#include <zmq.h>

#include "clock.h"
#include "codec.h"
#include "errors.h"
#include "keys.h"
#include "requests.h"
#include "wire.h"

#define OFFLOAD_DEFAULT_ENDPOINT "tcp://127.0.0.1:5555"
#define OFFLOAD_DEFAULT_GRACE_MS 5000
#define OFFLOAD_DEFAULT_LEASE_MS 5000
/* The gateway's default deadline is unknown here; wait at least this long
 * for calls that set none. */
#define OFFLOAD_DEFAULT_WAIT_MS 60000
#define OFFLOAD_CLOSE_LINGER_MS 200 /* for the Cancels offload_free sends */
#define OFFLOAD_RECV_BATCH 1024     /* replies read per dispatch turn */
#define OFFLOAD_AUTH_POLL_MS 100    /* with CURVE, before a handshake succeeded */
#define OFFLOAD_MAX_ENDPOINTS 16    /* gateways in one endpoint list */
/* With several gateways and none up, requests wait in the client, at most
 * this many (as many as one ZeroMQ pipe queues by default). */
#define OFFLOAD_MAX_UNSENT 1000
/* offload_job and offload_call, before asking another gateway: wait this
 * long for every gateway's connection (a fresh client may have only one) */
#define OFFLOAD_CONNECT_WAIT_MS 500
/* A draining gateway's answer to a Submit (gateway.c): with several
 * gateways, offload_call sends the job again, to another one. */
#define OFFLOAD_DRAINING_TEXT "the gateway is shutting down"

typedef struct client_priv {
    void *zctx, *sock;
    void *monitor;          /* with CURVE: PAIR receiving sock's handshake events */
    int handshaken;         /* a handshake succeeded on the connection */
    int curve;              /* CURVE keys were given */
    char auth_err[128];     /* the last handshake failure (fits errstr) */
    int grace_ms, lease_ms; /* lease_ms 0: none */
    request_table requests;
    uint64_t last_send_ms;
    /* Several gateways (a comma-separated endpoint list): the socket has
     * ZMQ_IMMEDIATE set, so ZeroMQ sends only to gateways that are up. */
    int n_gateways;
    int n_up;               /* of them, connected (the monitor's count) */
    request *unsent;        /* Submits that found no gateway up, oldest first */
    size_t n_unsent;        /* on that list */
    size_t n_unsent_cancel; /* of them, cancelled (ended by the next dispatch) */
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

static void client_clear_err(offload_client *c)
{
    c->err = OFFLOAD_ERR_NONE;
    c->errstr[0] = '\0';
}

const char *offload_code_name(int code)
{
    return code == OFFLOAD_NO_REPLY ? "no_reply" : code_name(code);
}

int offload_err(const offload_client *c)
{
    return c->err;
}

const char *offload_errstr(const offload_client *c)
{
    return c->errstr;
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

/* Reads the monitor's handshake events. Returns -1 (with p->auth_err set)
 * when a handshake failed since the last call, else 0. */
static int client_handshake_events(client_priv *p)
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

/* ---- results ----------------------------------------------------------- */

/* A result the library makes itself (no Reply): cancelled, no_reply. */
static offload_result *client_result_local(uint64_t request_id, int code, const char *message)
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
static offload_result *client_result(const Offload__Reply *r)
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
    return res;
}

void offload_result_free(offload_result *r)
{
    if (!r)
        return;
    free(r->message);
    free(r->payload);
    free(r);
}

/* Takes q off the unsent list if it is on it, and frees its frame. */
static void client_unqueue(client_priv *p, request *q)
{
    if (!q->frame)
        return;
    DL_DELETE2(p->unsent, q, unsent_prev, unsent_next);
    p->n_unsent--;
    if (q->cancel_sent)
        p->n_unsent_cancel--;
    free(q->frame);
    q->frame = NULL;
}

/* Runs the callback of request q, already out of the table, and frees
 * q. res is the result (NULL: make one of code and message; if even that
 * fails, a static result of that code). */
static void client_end(offload_client *c, request *q, offload_result *res, int code,
                       const char *message)
{
    offload_callback *cb = (offload_callback *)(uintptr_t)q->cb;
    void *arg = q->arg;
    uint64_t id = q->id;
    client_unqueue(c->priv, q);
    free(q);
    if (!res)
        res = client_result_local(id, code, message);
    offload_result fallback = {.code = code, .error = offload_code_name(code), .request_id = id};
    cb(c, res ? res : &fallback, arg);
    offload_result_free(res);
}

/* Ends a request in the table with a Reply's result. */
static void client_finish(offload_client *c, request *q, offload_result *res)
{
    client_priv *p = c->priv;
    requests_take(&p->requests, q);
    client_end(c, q, res, OFFLOAD_INTERNAL, "out of memory in the client");
}

/* ---- sending ------------------------------------------------------------- */

static int client_send(offload_client *c, codec_envelope *env)
{
    client_priv *p = c->priv;
    int rc = wire_send(p->sock, NULL, env, ZMQ_DONTWAIT);
    if (rc < 0) {
        client_set_err(c, OFFLOAD_ERR_IO, "send: %s", zmq_strerror(-rc));
        return -1;
    }
    p->last_send_ms = clock_now_ms();
    return 0;
}

/* Sends env (a Cancel, a Heartbeat) to every gateway that is up: once per
 * gateway, and a DEALER deals consecutive messages round robin over its
 * connections, so each one up gets at least one copy (a gateway ignores a
 * Cancel for a request it does not hold). Returns 0 when one copy went, or
 * -1 with c->err set. */
static int client_send_all(offload_client *c, codec_envelope *env)
{
    client_priv *p = c->priv;
    if (p->n_gateways < 2)
        return client_send(c, env);
    int sent = 0;
    for (int i = 0; i < p->n_gateways; i++)
        if (wire_send(p->sock, NULL, env, ZMQ_DONTWAIT) == 0)
            sent++;
    if (!sent) {
        client_set_err(c, OFFLOAD_ERR_IO, "send: no gateway is up");
        return -1;
    }
    p->last_send_ms = clock_now_ms();
    return 0;
}

/* Sends what waits on the unsent list while a gateway takes it (in order;
 * cancelled ones stay for client_end_cancelled). */
static void client_flush(offload_client *c)
{
    client_priv *p = c->priv;
    request *q = p->unsent;
    while (q) {
        request *next = q->unsent_next;
        if (!q->cancel_sent) {
            if (zmq_send(p->sock, q->frame, q->frame_len, ZMQ_DONTWAIT) < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    return;
                /* Not sendable at all: it ends at its reply time. */
            }
            p->last_send_ms = clock_now_ms();
            client_unqueue(p, q);
        }
        q = next;
    }
}

/* Ends the unsent requests offload_cancel cancelled. Returns how many. */
static int client_end_cancelled(offload_client *c)
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
        client_end(c, q, NULL, OFFLOAD_CANCELLED, "cancelled before it reached a gateway");
        ran++;
    }
    return ran;
}

/* Sends the message of request q (a Submit, Query or ListQueues). With
 * several gateways and none up (ZMQ_IMMEDIATE: the DEALER has no
 * connection to send on), or requests already waiting, it waits on the
 * unsent list for one to come up, or for its reply time. Returns 0, or -1
 * with c->err set. */
static int client_send_request(offload_client *c, codec_envelope *env, request *q)
{
    client_priv *p = c->priv;
    if (p->unsent)
        client_flush(c);
    if (!p->unsent) {
        int rc = wire_send(p->sock, NULL, env, ZMQ_DONTWAIT);
        if (rc == 0) {
            p->last_send_ms = clock_now_ms();
            return 0;
        }
        if (rc == -EAGAIN && p->n_gateways < 2 && p->monitor) {
            /* One gateway and no connection to queue on: it refused the
             * handshake before this send (a slow client), and ZeroMQ
             * dropped the connection. Say why, as a later failure would:
             * its event is on the monitor, or due. */
            zmq_pollitem_t item = {p->monitor, 0, ZMQ_POLLIN, 0};
            zmq_poll(&item, 1, OFFLOAD_CONNECT_WAIT_MS);
            if (client_handshake_events(p) < 0) {
                client_set_err(c, OFFLOAD_ERR_AUTH, "%s", p->auth_err);
                return -1;
            }
        }
        if (rc != -EAGAIN || p->n_gateways < 2) {
            client_set_err(c, OFFLOAD_ERR_IO, "send: %s", zmq_strerror(-rc));
            return -1;
        }
    }
    if (p->n_unsent >= OFFLOAD_MAX_UNSENT) {
        client_set_err(c, OFFLOAD_ERR_IO,
                       "no gateway is up: %zu requests already wait for one (are they running?)",
                       p->n_unsent);
        return -1;
    }
    if (codec_encode(env, &q->frame, &q->frame_len) < 0) {
        client_set_err(c, OFFLOAD_ERR_OOM, "out of memory");
        return -1;
    }
    DL_APPEND2(p->unsent, q, unsent_prev, unsent_next);
    p->n_unsent++;
    return 0;
}

/* A heartbeat when one is due: jobs in flight, a lease, and nothing sent
 * for a third of it. */
static void client_heartbeat(offload_client *c, uint64_t now)
{
    client_priv *p = c->priv;
    if (!p->lease_ms || !p->requests.count || now - p->last_send_ms < (uint64_t)p->lease_ms / 3)
        return;
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Heartbeat hb = OFFLOAD__HEARTBEAT__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    if (client_send_all(c, &env) < 0)
        p->last_send_ms = now; /* retry on schedule, not in a spin */
}

const char *offload_state_name(int state)
{
    static const char *const names[] = {"", "queued", "running", "done", "failed", "cancelled"};
    return state >= 0 && state < (int)(sizeof(names) / sizeof(names[0])) ? names[state] : "";
}

/* Sends a Submit (detach, key) and registers its request; the common part
 * of offload_submit and offload_submit_detached. */
static int client_submit(offload_client *c, const char *queue, const char *function,
                         const void *payload, size_t len, const offload_call_options *opts,
                         int detach, const char *key, offload_callback *cb, void *arg,
                         uint64_t *request_id);

int offload_submit(offload_client *c, const char *queue, const char *function, const void *payload,
                   size_t len, const offload_call_options *opts, offload_callback *cb, void *arg,
                   uint64_t *request_id)
{
    return client_submit(c, queue, function, payload, len, opts, 0, NULL, cb, arg, request_id);
}

static int client_submit(offload_client *c, const char *queue, const char *function,
                         const void *payload, size_t len, const offload_call_options *opts,
                         int detach, const char *key, offload_callback *cb, void *arg,
                         uint64_t *request_id)
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
    env.body_case = OFFLOAD__ENVELOPE__BODY_SUBMIT;
    env.submit = &s;
    if (client_send_request(c, &env, q) < 0) {
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
    if (client_send_all(c, &env) < 0)
        return -1;
    q->cancel_sent = 1;
    return 0;
}

/* ---- dispatching ----------------------------------------------------------- */

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
static int client_read(offload_client *c)
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
                client_end(c, q, NULL, OFFLOAD_INTERNAL, msg);
                ran++;
            }
            return -1;
        }
        if (env->body_case == OFFLOAD__ENVELOPE__BODY_REPLY) {
            request *q = requests_find(&p->requests, env->reply->request_id);
            if (q) {
                client_finish(c, q, client_result(env->reply));
                ran++;
            }
        }
        codec_free(env); /* a late reply to an ended request, or a Heartbeat */
    }
    return ran;
}

/* Ends requests past their reply time with OFFLOAD_NO_REPLY. */
static int client_expire(offload_client *c, uint64_t now)
{
    client_priv *p = c->priv;
    int ran = 0;
    request *q;
    while ((q = requests_take_expired(&p->requests, now)) != NULL) {
        client_end(c, q, NULL, OFFLOAD_NO_REPLY,
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
                client_end(c, q, NULL, OFFLOAD_NO_REPLY, p->auth_err);
            return -1;
        }
        int rc = client_read(c);
        if (rc < 0)
            return -1;
        ran += rc;
        if (p->unsent) {
            ran += client_end_cancelled(c);
            client_flush(c);
        }
        uint64_t now = clock_now_ms();
        ran += client_expire(c, now);
        client_heartbeat(c, now);
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

/* ---- synchronous ------------------------------------------------------------ */

typedef struct call_slot {
    int done;
    offload_result *res; /* taken from the callback */
} call_slot;

static void client_call_done(offload_client *c, offload_result *r, void *arg)
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
        if (!copy->message || !copy->payload) {
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
static int client_wait_sync(offload_client *c, call_slot *slot, uint64_t id, offload_result **out)
{
    *out = NULL;
    while (!slot->done)
        if (offload_dispatch(c, -1) < 0 && !slot->done) {
            /* The request may still be in flight: forget it quietly. */
            client_priv *p = c->priv;
            request *q = requests_find(&p->requests, id);
            if (q) {
                client_unqueue(p, q);
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
static void client_await_gateways(offload_client *c)
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
static int client_draining(const offload_result *r)
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
        if (offload_submit(c, queue, function, payload, len, opts, client_call_done, &slot, &id) <
                0 ||
            client_wait_sync(c, &slot, id, out) < 0)
            return -1;
        if (i >= attempts || !client_draining(*out))
            return 0;
        offload_result_free(*out);
        *out = NULL;
        client_await_gateways(c);
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
    if (client_submit(c, queue, function, payload, len, opts, 1, key, client_call_done, &slot,
                      &id) < 0 ||
        client_wait_sync(c, &slot, id, &r) < 0)
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
static int client_ask(offload_client *c, codec_envelope *env, uint64_t *request_id, int wait_ms,
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
                     (void *)(uintptr_t)client_call_done, &slot);
    if (!q) {
        client_set_err(c, OFFLOAD_ERR_OOM, "out of memory");
        return -1;
    }
    uint64_t id = q->id;
    *request_id = id;
    if (client_send_request(c, env, q) < 0) {
        requests_remove(&p->requests, q);
        return -1;
    }
    return client_wait_sync(c, &slot, id, out);
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
        if (client_ask(c, &env, &m.request_id, wait_ms, out) < 0)
            return -1;
        if (i >= attempts || (*out)->code != OFFLOAD_UNKNOWN_JOB)
            return 0;
        offload_result_free(*out);
        *out = NULL;
        client_await_gateways(c);
    }
}

int offload_queues(offload_client *c, offload_result **out)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__ListQueues m = OFFLOAD__LIST_QUEUES__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_LIST_QUEUES;
    env.list_queues = &m;
    return client_ask(c, &env, &m.request_id, 0, out);
}

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
            client_end(c, q, NULL, OFFLOAD_CANCELLED, "cancelled: the client was freed");
        requests_close(&p->requests);
        if (p->monitor)
            zmq_close(p->monitor);
        if (p->sock)
            zmq_close(p->sock);
        if (p->zctx)
            zmq_ctx_term(p->zctx);
        free(p);
    }
    free(c);
}
