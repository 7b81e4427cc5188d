/* http_reply.c -- the HTTP front's answers: JSON responses and the
 * interface contract's JSON errors (with Retry-After, Allow,
 * WWW-Authenticate), a request answered by its target once it is read
 * (the built-in routes, /metrics's body from http_metrics; a job submitted
 * and its outcome, a delay, a detached job's state or result, waited on
 * up to wait_ms; the dashboard's files and event stream, through http_ui
 * and http_events). Every answer is queued in one place (http_queue),
 * which counts it by status. Owns a request's response and status until
 * MHD queues them, and its job, delay and detached wait while it is
 * suspended on them. Loop thread only. */
#include "http_reply.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errors.h"
#include "http_metrics.h"
#include "http_events.h"
#include "http_read.h"
#include "http_status.h"
#include "http_suspend.h"
#include "http_ui.h"
#include "params.h"

/* ---- responses and errors ------------------------------------------- */

/* A response that owns text (malloc'd JSON), or NULL (text freed). */
static struct MHD_Response *http_json_text(char *text)
{
    if (!text)
        return NULL;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    return r;
}

static struct MHD_Response *http_json(json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return http_json_text(text);
}

struct MHD_Response *http_reply_error(int code, const char *message, uint64_t job_id,
                                      unsigned retry_after, unsigned *status)
{
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(code_name(code)));
    json_object_set_new(o, "message", json_string(message ? message : code_name(code)));
    json_object_set_new(o, "job_id", job_id ? json_integer((json_int_t)job_id) : json_null());
    struct MHD_Response *r = http_json(o);
    *status = (unsigned)code_http_status(code);
    if (r && *status == MHD_HTTP_SERVICE_UNAVAILABLE) {
        char v[16];
        snprintf(v, sizeof(v), "%u", retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, v);
    }
    return r;
}

/* The job's trace context, echoed (traceparent, tracestate). */
static void http_trace_echo(struct MHD_Response *r, const char *traceparent, const char *tracestate)
{
    if (!r)
        return;
    if (traceparent && *traceparent)
        MHD_add_response_header(r, "traceparent", traceparent);
    if (tracestate && *tracestate)
        MHD_add_response_header(r, "tracestate", tracestate);
}

/* Queues r (NULL: out of memory, MHD closes the connection): every answer
 * the front sends goes through here, and is counted by its status. */
static enum MHD_Result http_queue(http_request *req, unsigned status, struct MHD_Response *r)
{
    if (!r)
        return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(req->conn, status, r);
    if (ret == MHD_YES)
        core_count_http_status(req->front->core, status);
    return ret;
}

/* http_queue, then drops our reference to r. */
static enum MHD_Result http_send(http_request *req, unsigned status, struct MHD_Response *r)
{
    enum MHD_Result ret = http_queue(req, status, r);
    if (r)
        MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result http_send_error(http_request *req, int code, const char *message,
                                       unsigned retry_after)
{
    unsigned status;
    struct MHD_Response *r = http_reply_error(code, message, 0, retry_after, &status);
    if (r && req->allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, req->allow);
    http_trace_echo(r, req->trace.parent, req->trace.state);
    return http_send(req, status, r);
}

enum MHD_Result http_reply_answer_error(http_request *req)
{
    unsigned status;
    const char *name = NULL;
    if (req->err_code == HTTP_ERR_UNKNOWN_ROUTE) {
        status = MHD_HTTP_NOT_FOUND;
        name = "unknown_route";
    } else if (req->err_code == HTTP_ERR_NOT_ALLOWED) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        name = "method_not_allowed";
    } else if (req->err_code == HTTP_ERR_TOO_MANY_CONNECTIONS) {
        status = MHD_HTTP_SERVICE_UNAVAILABLE;
        name = "too_many_connections";
    } else if (req->err_code == HTTP_ERR_TOO_MANY_STREAMS) {
        status = MHD_HTTP_SERVICE_UNAVAILABLE;
        name = "too_many_streams";
    } else if (req->err_code == HTTP_ERR_NOT_IMPLEMENTED) {
        status = MHD_HTTP_NOT_IMPLEMENTED;
        name = "not_implemented";
    } else if (req->err_code == HTTP_ERR_UNAUTHORIZED) {
        status = MHD_HTTP_UNAUTHORIZED;
        name = "unauthorized";
    } else if (req->err_code == HTTP_ERR_FORBIDDEN) {
        status = MHD_HTTP_FORBIDDEN;
        name = "forbidden";
    } else {
        return http_send_error(req, req->err_code, req->err_msg, 1);
    }
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(name));
    json_object_set_new(o, "message", json_string(req->err_msg));
    json_object_set_new(o, "job_id", json_null());
    struct MHD_Response *r = http_json(o);
    if (r && status == MHD_HTTP_METHOD_NOT_ALLOWED && req->allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, req->allow);
    if (r && req->challenge)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, req->challenge);
    if (r && status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER,
                                req->err_code == HTTP_ERR_TOO_MANY_STREAMS ? "5" : "1");
    if (r && req->err_code == HTTP_ERR_TOO_MANY_CONNECTIONS)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    http_trace_echo(r, req->trace.parent, req->trace.state);
    return http_send(req, status, r);
}

enum MHD_Result http_reply_too_large(http_request *req)
{
    core_note_refused(req->front->core, req->queue, req->function,
                      OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE);
    char msg[128];
    snprintf(msg, sizeof(msg), "the body is over the limit of %lld bytes (--max-payload)",
             req->front->cfg.max_payload);
    return http_send_error(req, OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE, msg, 1);
}

enum MHD_Result http_reply_over_budget(http_request *req)
{
    core_note_refused(req->front->core, req->queue, req->function, OFFLOAD__CODE__CODE_QUEUE_FULL);
    return http_send_error(req, OFFLOAD__CODE__CODE_QUEUE_FULL, req->err_msg,
                           core_retry_after(req->front->core, req->queue));
}

/* ---- job outcomes --------------------------------------------------- */

/* A job's outcome as the synchronous call answers it: the result bytes or
 * the JSON error, with the X-Offload-* headers. */
static struct MHD_Response *http_outcome(const job_outcome *o, unsigned *status_out)
{
    unsigned status = MHD_HTTP_OK;
    struct MHD_Response *r;
    if (o->code == OFFLOAD__CODE__CODE_OK) {
        r = MHD_create_response_from_buffer(o->len, (void *)o->payload, MHD_RESPMEM_MUST_COPY);
        if (r)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    } else {
        r = http_reply_error(o->code, o->message, o->job_id, 1, &status);
    }
    if (r) {
        char v[32];
        snprintf(v, sizeof(v), "%llu", (unsigned long long)o->job_id);
        MHD_add_response_header(r, "X-Offload-Job-Id", v);
        snprintf(v, sizeof(v), "%llu", (unsigned long long)o->waited_us);
        MHD_add_response_header(r, "X-Offload-Waited-Us", v);
        snprintf(v, sizeof(v), "%llu", (unsigned long long)o->run_us);
        MHD_add_response_header(r, "X-Offload-Run-Us", v);
        http_trace_echo(r, o->traceparent, o->tracestate);
    }
    *status_out = status;
    return r;
}

static void http_job_done(gw_job *job, const job_outcome *o, void *arg)
{
    http_request *req = arg;
    (void)job;
    unsigned status;
    req->job = NULL;
    struct MHD_Response *r = http_outcome(o, &status);
    http_suspend_resume(req, status, r);
}

/* ---- detached jobs -------------------------------------------------- */

static job_outcome http_detached_outcome(const detached_job *d)
{
    job_outcome o = {.job_id = d->id,
                     .code = d->code,
                     .payload = d->payload,
                     .len = d->len,
                     .message = d->message,
                     .waited_us = d->waited_us,
                     .run_us = d->run_us,
                     .traceparent = d->traceparent,
                     .tracestate = d->tracestate};
    return o;
}

/* {"job_id", "state", ...}: what GET /v1/jobs/ID answers. */
static struct MHD_Response *http_detached_json(const detached_job *d, int full)
{
    json_t *o = json_object();
    char loc[64];
    snprintf(loc, sizeof(loc), PARAMS_JOBS_PREFIX "%llu", (unsigned long long)d->id);
    json_object_set_new(o, "job_id", json_integer((json_int_t)d->id));
    json_object_set_new(o, "state", json_string(detached_state_name(detached_state_of(d))));
    json_object_set_new(o, "location", json_string(loc));
    if (full) {
        uint64_t now = clock_now_us();
        json_object_set_new(o, "queue", json_string(d->queue));
        json_object_set_new(o, "function", json_string(d->function));
        json_object_set_new(o, "age_ms", json_integer((json_int_t)((now - d->created_us) / 1000)));
        if (d->ended) {
            json_object_set_new(o, "error",
                                d->code ? json_string(code_name(d->code)) : json_null());
            json_object_set_new(o, "message", d->message ? json_string(d->message) : json_null());
            json_object_set_new(o, "waited_us", json_integer((json_int_t)d->waited_us));
            json_object_set_new(o, "run_us", json_integer((json_int_t)d->run_us));
            json_object_set_new(o, "result_bytes", json_integer((json_int_t)d->len));
            json_object_set_new(
                o, "expires_in_ms",
                json_integer((json_int_t)(d->owner->limits.ttl_ms -
                                          (long long)((now - d->ended_us) / 1000))));
        }
    }
    struct MHD_Response *r = http_json(o);
    if (r) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, loc);
        snprintf(loc, sizeof(loc), "%llu", (unsigned long long)d->id);
        MHD_add_response_header(r, "X-Offload-Job-Id", loc);
        http_trace_echo(r, d->traceparent, d->tracestate);
    }
    return r;
}

/* The answer to .../result (or a keyed synchronous call) once d ended. */
static struct MHD_Response *http_detached_result(const detached_job *d, unsigned *status)
{
    job_outcome o = http_detached_outcome(d);
    return http_outcome(&o, status);
}

static void http_detached_ended(detached_job *d, void *arg)
{
    http_request *req = arg;
    loop_timer_stop(req->front->loop, &req->delay);
    if (!req->is_suspended)
        return; /* answered already (the gateway is stopping) */
    unsigned status;
    struct MHD_Response *r = http_detached_result(d, &status);
    http_suspend_resume(req, status, r);
}

/* wait_ms passed before the job ended: 202 and its state. */
static void http_detached_wait_over(gw_timer *t, void *arg)
{
    http_request *req = arg;
    (void)t;
    detached_job *d = req->waiter.d;
    detached_unwait(&req->waiter);
    if (!d || !req->is_suspended)
        return;
    http_suspend_resume(req, MHD_HTTP_ACCEPTED, http_detached_json(d, 0));
}

static enum MHD_Result http_unknown_job(http_request *req)
{
    char msg[256];
    snprintf(msg, sizeof(msg),
             "no job %llu: it never existed, or it ended more than --result-ttl ago (or was "
             "evicted by --result-max-bytes); only detached jobs (?wait=false) are kept",
             (unsigned long long)req->ref);
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string("unknown_job"));
    json_object_set_new(o, "message", json_string(msg));
    json_object_set_new(o, "job_id", json_integer((json_int_t)req->ref));
    return http_send(req, MHD_HTTP_NOT_FOUND, http_json(o));
}

static enum MHD_Result http_job_ref(http_request *req)
{
    detached *ds = core_detached(req->front->core);
    detached_job *d = detached_find(ds, req->ref);
    if (!d)
        return http_unknown_job(req);
    unsigned status;
    switch (req->target) {
    case TARGET_JOB_STATUS:
        return http_send(req, MHD_HTTP_OK, http_detached_json(d, 1));
    case TARGET_JOB_CANCEL:
        detached_cancel(ds, d);
        return http_send(req, MHD_HTTP_OK, http_detached_json(d, 1));
    default:
        break;
    }
    if (d->ended) {
        struct MHD_Response *r = http_detached_result(d, &status);
        return http_send(req, status, r);
    }
    if (req->wait_ms <= 0)
        return http_send(req, MHD_HTTP_ACCEPTED, http_detached_json(d, 0));
    if (loop_timer_start(req->front->loop, &req->delay,
                         clock_now_us() + (uint64_t)req->wait_ms * 1000, http_detached_wait_over,
                         req) < 0)
        return MHD_NO;
    http_suspend(req);
    detached_wait(d, &req->waiter, http_detached_ended, req);
    return MHD_YES;
}

/* ---- built-in routes ------------------------------------------------ */

static void http_delay_done(gw_timer *t, void *arg)
{
    http_request *req = arg;
    (void)t;
    struct MHD_Response *r;
    if (req->route) {
        /* A user route stands in for an app's handler: answer like a
         * FastAPI route that returns None. */
        r = MHD_create_response_from_buffer(4, "null", MHD_RESPMEM_PERSISTENT);
        if (r)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    } else {
        json_t *o = json_object();
        json_object_set_new(o, "delayed_ms", json_integer(req->delay_ms));
        r = http_json(o);
    }
    http_suspend_resume(req, MHD_HTTP_OK, r);
}

/* GET /readyz: {"ready":true}, or {"ready":false,"why":[...]} with its
 * status in *status. A caller without a token, where tokens are needed
 * (detail 0), learns how many queues are unserved but not which. */
static struct MHD_Response *http_ready_json(gw_core *core, int detail, unsigned *status)
{
    ready_report r;
    core_ready(core, &r);
    *status = r.ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
    json_t *o = json_object();
    json_object_set_new(o, "ready", json_boolean(r.ready));
    if (r.ready)
        return http_json(o);
    json_t *why = json_array();
    char text[READY_TEXT_MAX + 64];
    size_t hidden = r.more;
    for (size_t i = 0; i < r.nwhy; i++) {
        if (!detail && r.why[i].queue[0]) {
            hidden++;
            continue;
        }
        json_array_append_new(why, json_string(ready_reason_text(&r.why[i], text, sizeof(text))));
    }
    if (hidden && detail)
        snprintf(text, sizeof(text), "%zu more not listed", hidden);
    else if (hidden)
        snprintf(text, sizeof(text),
                 "%zu queue%s without a live executor (a bearer token shows which)", hidden,
                 hidden == 1 ? "" : "s");
    if (hidden)
        json_array_append_new(why, json_string(text));
    json_object_set_new(o, "why", why);
    return http_json(o);
}

/* ---- answering a request -------------------------------------------- */

static enum MHD_Result http_start_job(http_request *req)
{
    gw_core *core = req->front->core;
    uint8_t *payload;
    size_t len;
    if (req->route && req->route->payload) {
        len = strlen(req->route->payload);
        payload = malloc(len + 1);
        if (payload)
            memcpy(payload, req->route->payload, len);
    } else {
        payload = req->body;
        len = req->len;
        req->body = NULL;
        req->len = req->cap = 0;
        if (!payload)
            payload = malloc(1);
    }
    /* The submit takes the body's bytes again, for the job. */
    http_read_give_back(req);
    if (!payload)
        return MHD_NO;
    char err[256];
    gw_job *job;
    job_request r = {.queue = req->queue,
                     .function = req->function,
                     .payload = payload,
                     .len = len,
                     .timeout_ms = (uint32_t)req->timeout_ms,
                     .retries = (int)req->retries,
                     .trace = &req->trace};
    if (req->detach || req->key[0]) {
        /* Detached (?wait=false), or keyed: the store is the job's caller,
         * so a second call with the key finds it. */
        detached_job *d;
        int existing;
        int code = core_submit_detached(core, &r, req->key, &d, &existing, err, sizeof(err));
        if (code != OFFLOAD__CODE__CODE_OK)
            return http_send_error(
                req, code, err,
                code == OFFLOAD__CODE__CODE_QUEUE_FULL ? core_retry_after(core, req->queue) : 1);
        if (req->detach) {
            struct MHD_Response *resp = http_detached_json(d, 0);
            if (resp && existing)
                MHD_add_response_header(resp, "X-Offload-Idempotent-Replay", "true");
            return http_send(req, MHD_HTTP_ACCEPTED, resp);
        }
        req->ref = d->id;
        http_suspend(req);
        detached_wait(d, &req->waiter, http_detached_ended, req);
        return MHD_YES;
    }
    int code = core_submit(core, &r, http_job_done, req, &job, err, sizeof(err));
    if (code != OFFLOAD__CODE__CODE_OK)
        return http_send_error(
            req, code, err,
            code == OFFLOAD__CODE__CODE_QUEUE_FULL ? core_retry_after(core, req->queue) : 1);
    req->job = job;
    http_suspend(req);
    return MHD_YES;
}

enum MHD_Result http_reply_answer(http_request *req)
{
    http_front *h = req->front;
    gw_core *core = h->core;

    if (req->resumed) {
        /* Answered while suspended. A NULL response (out of memory) closes
         * the connection: running the target again would submit its job
         * or start its delay a second time. */
        struct MHD_Response *r = req->response;
        req->response = NULL;
        req->resumed = 0;
        return http_send(req, req->status, r);
    }

    switch (req->target) {
    case TARGET_ERROR:
        return http_reply_answer_error(req);
    case TARGET_HEALTHZ: {
        static const char ok[] = "{\"status\":\"ok\"}";
        struct MHD_Response *r =
            MHD_create_response_from_buffer(sizeof(ok) - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
        if (r)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        return http_send(req, MHD_HTTP_OK, r);
    }
    case TARGET_READYZ: {
        unsigned status;
        struct MHD_Response *r = http_ready_json(core, req->detail, &status);
        return http_send(req, status, r);
    }
    case TARGET_QUEUES:
        return http_send(req, MHD_HTTP_OK, http_json_text(core_queues_json(core)));
    case TARGET_STATS:
        return http_send(req, MHD_HTTP_OK, http_json(http_status_stats(h)));
    case TARGET_METRICS: {
        /* The front keeps the body (its cache): queued, not destroyed. */
        struct MHD_Response *r = http_metrics_response(h);
        if (!r)
            return http_send_error(req, OFFLOAD__CODE__CODE_INTERNAL,
                                   "the gateway is out of memory; retry later", 1);
        return http_queue(req, MHD_HTTP_OK, r);
    }
    case TARGET_FAILURES:
        return http_send(req, MHD_HTTP_OK, http_json(http_status_failures(h)));
    case TARGET_UI: {
        unsigned status;
        struct MHD_Response *r = http_ui_response(req, &status);
        return http_send(req, status, r);
    }
    case TARGET_EVENTS:
        if (http_events_admit(req) < 0)
            return http_reply_answer_error(req);
        return http_send(req, MHD_HTTP_OK, http_events_response(req));
    case TARGET_DELAY:
        if (loop_timer_start(h->loop, &req->delay, clock_now_us() + (uint64_t)req->delay_ms * 1000,
                             http_delay_done, req) < 0)
            return MHD_NO;
        http_suspend(req);
        return MHD_YES;
    case TARGET_JOB:
        if (req->too_large)
            return http_reply_too_large(req);
        if (req->over_budget)
            return http_reply_over_budget(req);
        return http_start_job(req);
    case TARGET_JOB_STATUS:
    case TARGET_JOB_RESULT:
    case TARGET_JOB_CANCEL:
        return http_job_ref(req);
    }
    return MHD_NO;
}
