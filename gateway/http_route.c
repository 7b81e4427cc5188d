/* http_route.c -- the HTTP front's route table: decides what a request is
 * for from its method and path (a built-in route: /healthz, /readyz,
 * /metrics, /v1/queues, /v1/stats, /v1/delay, /v1/events, /v1/failures,
 * the dashboard's /ui files, POST /v1/jobs/QUEUE/FUNCTION,
 * /v1/jobs/ID[/result]; or a --route), reads the query values each takes and sets the 404 or
 * 405 of a path it does not know or a method it does not allow. Owns the
 * front's routes (routes.c parses each --route spec). Loop thread only. */
#include "http_route.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http_read.h"
#include "http_ui.h"
#include "params.h"

static int http_is_get(const char *method)
{
    return !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
}

/* A request's trace headers. MHD keeps each header line apart: two
 * traceparents make it invalid; tracestates are joined with commas (to at
 * most TRACE_STATE_MAX + 1 characters: a longer one is dropped). */
typedef struct http_trace_headers {
    const char *parent;
    int parents;
    char state[TRACE_STATE_MAX + 2];
    size_t state_len;
} http_trace_headers;

static enum MHD_Result http_trace_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value)
{
    http_trace_headers *t = cls;
    (void)kind;
    if (!key || !value)
        return MHD_YES;
    if (!strcasecmp(key, "traceparent")) {
        t->parent = value;
        t->parents++;
    } else if (!strcasecmp(key, "tracestate") && *value) {
        size_t room = sizeof(t->state) - 1 - t->state_len;
        if (t->state_len && room) {
            t->state[t->state_len++] = ',';
            room--;
        }
        size_t n = strnlen(value, room);
        memcpy(t->state + t->state_len, value, n);
        t->state_len += n;
        t->state[t->state_len] = '\0';
    }
    return MHD_YES;
}

/* Resolves the job's trace context from its headers (core_trace). */
static void http_job_trace(http_request *req)
{
    http_trace_headers t = {.parents = 0};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, http_trace_header, &t);
    if (t.parents > 1) {
        core_count(req->front->core, STAT_trace_invalid);
        t.parent = NULL;
    }
    core_trace(req->front->core, t.parent, t.state, &req->trace);
}

/* Reads the job's trace headers and its optional query values (timeout_ms,
 * retries, wait) and Idempotency-Key. */
static void http_job_params(http_request *req)
{
    char err[256];
    http_job_trace(req);
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "timeout_ms");
    if (v && params_ms("timeout_ms", v, 1, req->front->cfg.max_timeout_ms, &req->timeout_ms, err,
                       sizeof(err)) < 0) {
        http_read_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s", err);
        return;
    }
    req->retries = -1;
    v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "retries");
    if (v && params_uint("retries", "retries", v, 0, JOBS_MAX_RETRIES, &req->retries, err,
                         sizeof(err)) < 0) {
        http_read_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s", err);
        return;
    }
    int wait = 1;
    v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "wait");
    if (v && params_bool("wait", v, &wait, err, sizeof(err)) < 0) {
        http_read_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s", err);
        return;
    }
    req->detach = !wait;
    v = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Idempotency-Key");
    if (v && !detached_key_valid(v)) {
        http_read_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s",
                       "Idempotency-Key must be 1..128 printable characters, no spaces");
        return;
    }
    if (v)
        snprintf(req->key, sizeof(req->key), "%s", v);
}

void http_route_resolve(http_request *req, const char *method, const char *url)
{
    http_front *h = req->front;
    char err[256], q[4 * PARAMS_QUOTE_MAX + 4];
    const int NOT_ALLOWED = -1;
    int allowed = 1, is_result = 0;

    static const struct {
        const char *path;
        http_target target;
    } builtin_gets[] = {
        {"/healthz", TARGET_HEALTHZ},   {"/readyz", TARGET_READYZ},
        {"/v1/queues", TARGET_QUEUES},  {"/v1/stats", TARGET_STATS},
        {"/v1/delay", TARGET_DELAY},    {"/metrics", TARGET_METRICS},
        {"/v1/events", TARGET_EVENTS},  {"/v1/failures", TARGET_FAILURES},
    };
    for (size_t i = 0; i < sizeof(builtin_gets) / sizeof(builtin_gets[0]); i++)
        if (!strcmp(url, builtin_gets[i].path)) {
            req->target = builtin_gets[i].target;
            allowed = http_is_get(method) ? 1 : NOT_ALLOWED;
            req->allow = "GET, HEAD";
            break;
        }
    req->asset = req->target == TARGET_ERROR ? http_ui_find(url) : -1;
    if (req->asset >= 0) {
        req->target = TARGET_UI;
        allowed = http_is_get(method) ? 1 : NOT_ALLOWED;
        req->allow = "GET, HEAD";
    }

    if (req->target != TARGET_ERROR) {
        if (req->target == TARGET_DELAY && allowed == 1) {
            const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "ms");
            if (!v)
                http_read_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s",
                               "ms is required: GET /v1/delay?ms=N");
            else if (params_ms("ms", v, 0, h->cfg.max_timeout_ms, &req->delay_ms, err,
                               sizeof(err)) < 0)
                http_read_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s", err);
        }
    } else if (!strncmp(url, PARAMS_JOBS_PREFIX, strlen(PARAMS_JOBS_PREFIX)) &&
               strcmp(method, MHD_HTTP_METHOD_POST) != 0 &&
               params_job_ref(url, &req->ref, &is_result) == 0) {
        /* GET (or DELETE) /v1/jobs/ID[/result]: a detached job. */
        int del = !strcmp(method, MHD_HTTP_METHOD_DELETE);
        req->target = is_result ? TARGET_JOB_RESULT : del ? TARGET_JOB_CANCEL : TARGET_JOB_STATUS;
        req->allow = is_result ? "GET, HEAD" : "GET, HEAD, DELETE";
        allowed = http_is_get(method) || (del && !is_result) ? 1 : NOT_ALLOWED;
        const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "wait_ms");
        if (allowed == 1 && is_result && v &&
            params_ms("wait_ms", v, 0, h->cfg.max_timeout_ms, &req->wait_ms, err, sizeof(err)) < 0)
            http_read_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s", err);
    } else if (!strncmp(url, PARAMS_JOBS_PREFIX, strlen(PARAMS_JOBS_PREFIX))) {
        int rc = params_job_path(url, req->queue, req->function, err, sizeof(err));
        if (rc == PARAMS_NOT_JOBS) {
            params_quote(url, q, sizeof(q));
            req->target = TARGET_ERROR;
            req->err_code = HTTP_ERR_UNKNOWN_ROUTE;
            snprintf(req->err_msg, sizeof(req->err_msg),
                     "no route for '%s': jobs are POST /v1/jobs/QUEUE/FUNCTION", q);
            return;
        }
        req->target = TARGET_JOB;
        allowed = !strcmp(method, MHD_HTTP_METHOD_POST) ? 1 : NOT_ALLOWED;
        req->allow = "POST";
        if (rc == PARAMS_BAD_NAME && allowed == 1)
            http_read_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s", err);
        else if (allowed == 1)
            http_job_params(req);
    } else {
        int path_known;
        const route *r = route_table_find(&h->routes, method, url, &path_known);
        if (!r && !path_known && !strcmp(method, MHD_HTTP_METHOD_HEAD))
            r = route_table_find(&h->routes, MHD_HTTP_METHOD_GET, url, &path_known);
        if (!r) {
            params_quote(url, q, sizeof(q));
            if (path_known) {
                req->target = TARGET_ERROR;
                req->err_code = HTTP_ERR_NOT_ALLOWED;
                route_table_methods(&h->routes, url, req->allow_buf, sizeof(req->allow_buf));
                req->allow = req->allow_buf;
                snprintf(req->err_msg, sizeof(req->err_msg), "%s is not allowed on '%s'; use %s",
                         method, q, req->allow);
            } else {
                req->target = TARGET_ERROR;
                req->err_code = HTTP_ERR_UNKNOWN_ROUTE;
                snprintf(req->err_msg, sizeof(req->err_msg), "no route for '%s'", q);
            }
            return;
        }
        req->route = r;
        if (r->kind == ROUTE_DELAY) {
            req->target = TARGET_DELAY;
            req->delay_ms = r->delay_ms;
        } else {
            req->target = TARGET_JOB;
            snprintf(req->queue, sizeof(req->queue), "%s", r->queue);
            snprintf(req->function, sizeof(req->function), "%s", r->function);
            http_job_params(req);
        }
    }
    if (allowed == NOT_ALLOWED) {
        req->target = TARGET_ERROR;
        req->err_code = HTTP_ERR_NOT_ALLOWED;
        params_quote(url, q, sizeof(q));
        snprintf(req->err_msg, sizeof(req->err_msg), "%s is not allowed on '%s'; use %s", method, q,
                 req->allow);
    }
}

int http_route_load(http_front *h, char *err, size_t errlen)
{
    const flag_list *routes = h->cfg.routes;
    for (size_t i = 0; routes && i < routes->count; i++) {
        if (route_table_add(&h->routes, routes->items[i], err, errlen) < 0)
            return -1;
        const route *r = &h->routes.routes[h->routes.count - 1];
        if (r->kind == ROUTE_JOB && core_declare_queue(h->core, r->queue) < 0) {
            snprintf(err, errlen, "--route '%.100s': too many queues", routes->items[i]);
            return -1;
        }
    }
    return 0;
}
