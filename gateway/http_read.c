/* http_read.c -- the HTTP front's reading of requests, and its limits:
 * refuses framing a proxy could read differently, keeps each connection's
 * read deadlines (--header-timeout-ms, --body-timeout-ms), and takes
 * bodies within --max-payload, the gateway's held-bytes budget
 * (--max-held-bytes) and the loop turn's budget, parking uploads that
 * pass the last until a next turn. http_read_fail records the error a
 * request is answered with once it is read (bad framing here, a bad route
 * or query value in http_route.c). Owns the front's reading lists,
 * read_deadline, turn, parked and unbounded, and a request's body, held
 * bytes, parking and error. Loop thread only. */
#include "http_read.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <utlist.h>

#include "clock.h"
#include "log.h"
#include "params.h"

#define HTTP_UNPARK_BYTES 65536 /* see http_read_run */

/* ---- the body and the held bytes' budget ---------------------------- */

void http_read_give_back(http_request *req)
{
    if (req->held)
        budget_give(core_budget(req->front->core), req->held);
    req->held = 0;
}

int http_read_hold(http_request *req, size_t total)
{
    budget *b = core_budget(req->front->core);
    if (total <= req->held)
        return 0;
    if (budget_take(b, total - req->held, "http") == 0) {
        req->held = total;
        return 0;
    }
    budget_refusal(b, total - req->held, req->err_msg, sizeof(req->err_msg));
    req->over_budget = 1;
    http_read_give_back(req);
    free(req->body);
    req->body = NULL;
    req->len = req->cap = 0;
    return -1;
}

enum MHD_Result http_read_take_body(http_request *req, const char *data, size_t n)
{
    http_front *h = req->front;
    if (req->target != TARGET_JOB || req->too_large || req->over_budget)
        return MHD_YES; /* a body nobody reads is discarded */
    if ((long long)(req->len + n) > h->cfg.max_payload) {
        req->too_large = 1;
        http_read_give_back(req);
        free(req->body);
        req->body = NULL;
        req->len = req->cap = 0;
        return MHD_YES;
    }
    if (http_read_hold(req, req->len + n) < 0)
        return MHD_YES; /* chunked, and now over the budget */
    if (req->len + n > req->cap) {
        /* A Content-Length was held whole: one allocation. */
        size_t cap = req->held >= req->len + n ? req->held : req->cap ? req->cap * 2 : 1024;
        while (cap < req->len + n)
            cap *= 2;
        uint8_t *b = realloc(req->body, cap);
        if (!b)
            return MHD_NO;
        req->body = b;
        req->cap = cap;
    }
    memcpy(req->body + req->len, data, n);
    req->len += n;
    return MHD_YES;
}

/* ---- the turn budget for request bodies -----------------------------
 *
 * One MHD_run reads once from every ready connection (up to its read
 * buffer, some 16-32 KiB) and hands each body chunk to the access handler,
 * so 500 connections uploading at once would make one long turn. HTTP is
 * one more source of the loop's and gets the same per-turn budget as each
 * ZeroMQ socket (--turn-budget-us, --turn-budget-bytes), counted from the
 * start of http_process over the body bytes the handler takes. Once it is
 * spent, a connection that hands over a chunk keeps it (MHD has read it
 * already: nothing is lost or read twice) and is parked: suspended, so MHD
 * reads nothing more from it this turn. The turn ends; the ZeroMQ sockets,
 * the timers and /healthz get theirs; the next http_process resumes the
 * parked connections oldest first, about a budget's worth by the chunks
 * they last gave, and MHD marks each resumed one ready (it may have missed
 * an edge meanwhile), so each reads at least once more. The loop does not
 * wait while some are parked (http_timeout_us). Stopping (http_shutdown,
 * http_stop) resumes them all and parks no more. */

/* Pauses req's upload until a next turn (http_read_unpark). From the access
 * handler only, with the chunk taken. */
static void http_park(http_request *req, size_t chunk)
{
    http_front *h = req->front;
    MHD_suspend_connection(req->conn);
    req->parked = 1;
    req->park_bytes = chunk;
    DL_APPEND2(h->parked, req, park_prev, park_next);
    core_count(h->core, STAT_http_budget_parks);
}

void http_read_unpark(http_front *h, size_t allowance)
{
    size_t expect = 0;
    http_request *req;
    while ((req = h->parked) && expect < allowance) {
        DL_DELETE2(h->parked, req, park_prev, park_next);
        req->parked = 0;
        req->park_prev = req->park_next = NULL;
        expect += req->park_bytes ? req->park_bytes : 1;
        h->kick = 1;
        MHD_resume_connection(req->conn);
    }
}

void http_read_run(http_front *h)
{
    http_read_unpark(h, HTTP_UNPARK_BYTES);
    MHD_run(h->daemon);
    while (h->parked && !h->turn.spent && clock_now_us() < h->turn.until_us) {
        http_read_unpark(h, HTTP_UNPARK_BYTES);
        MHD_run(h->daemon);
    }
}

void http_read_spend(http_request *req, size_t chunk)
{
    http_front *h = req->front;
    if (loop_budget_spend(&h->turn, chunk) || h->unbounded || req->parked)
        return;
    http_park(req, chunk);
}

/* ---- read deadlines ------------------------------------------------- */

static log_limiter http_deadline_limiter;

static uint64_t http_phase_limit_us(const http_front *h, http_phase p)
{
    return (uint64_t)(p == PHASE_HEADERS ? h->cfg.header_timeout_ms : h->cfg.body_timeout_ms) *
           1000;
}

static void http_deadline_fire(gw_timer *t, void *arg);

/* Arms the deadline timer for the oldest connection still reading. */
static void http_deadline_arm(http_front *h)
{
    uint64_t due = 0;
    for (int p = PHASE_HEADERS; p <= PHASE_BODY; p++) {
        http_conn *c = h->reading[p];
        if (c && (!due || c->since_us + http_phase_limit_us(h, p) < due))
            due = c->since_us + http_phase_limit_us(h, p);
    }
    loop_timer_stop(h->loop, &h->read_deadline);
    if (due)
        loop_timer_start(h->loop, &h->read_deadline, due, http_deadline_fire, h);
}

void http_read_phase(http_front *h, http_conn *c, http_phase phase)
{
    if (!c || (c->phase == phase && phase == PHASE_ANSWERING))
        return;
    if (c->phase != PHASE_ANSWERING)
        DL_DELETE(h->reading[c->phase], c);
    c->phase = phase;
    c->since_us = clock_now_us();
    if (phase == PHASE_ANSWERING)
        return;
    DL_APPEND(h->reading[phase], c);
    uint64_t due = c->since_us + http_phase_limit_us(h, phase);
    if (!timer_active(&h->read_deadline) || due < h->read_deadline.due_us) {
        loop_timer_stop(h->loop, &h->read_deadline);
        loop_timer_start(h->loop, &h->read_deadline, due, http_deadline_fire, h);
    }
}

http_conn *http_read_conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Shuts down the sockets of connections past their read deadline: MHD
 * then reads the end of the stream and closes them. */
static void http_deadline_fire(gw_timer *t, void *arg)
{
    http_front *h = arg;
    (void)t;
    uint64_t now = clock_now_us();
    for (int p = PHASE_HEADERS; p <= PHASE_BODY; p++) {
        http_conn *c;
        while ((c = h->reading[p]) && c->since_us + http_phase_limit_us(h, p) <= now) {
            const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
            if (ci)
                shutdown(ci->connect_fd, SHUT_RDWR);
            core_count(h->core, STAT_http_read_timeouts);
            const char *what = p == PHASE_HEADERS ? "headers" : "body",
                       *flag = p == PHASE_HEADERS ? "header" : "body";
            if (log_limiter_allow(&http_deadline_limiter, 5))
                log_warn("event=http_read_timeout phase=%s limit_ms=%lld msg=\"the request's %s "
                         "did not arrive in time (--%s-timeout-ms): connection closed\"",
                         what, (long long)(http_phase_limit_us(h, p) / 1000), what, flag);
            DL_DELETE(h->reading[p], c);
            c->phase = PHASE_ANSWERING; /* no deadline while it closes */
        }
    }
    http_deadline_arm(h);
}

/* ---- request framing ------------------------------------------------ */

void http_read_fail(http_request *req, int code, const char *fmt, const char *arg)
{
    req->target = TARGET_ERROR;
    req->err_code = code;
    snprintf(req->err_msg, sizeof(req->err_msg), fmt, arg);
}

typedef struct http_lengths {
    int count;    /* Content-Length headers */
    int conflict; /* two of them differ */
    const char *first;
} http_lengths;

static enum MHD_Result http_count_length(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value)
{
    http_lengths *l = cls;
    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
        return MHD_YES;
    if (l->count++ && strcmp(l->first, value ? value : "") != 0)
        l->conflict = 1;
    else if (!l->first)
        l->first = value ? value : "";
    return MHD_YES;
}

/* 1 when the path holds a control character (raw, or an escape the
 * unescape callback left as it was: %00..%1F, %7F). */
static int http_path_has_control(const char *url)
{
    for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return 1;
        /* %00..%1F: a first digit of 0 or 1; %7F. */
        if (*p == '%' && (p[1] == '0' || p[1] == '1') && isxdigit(p[2]))
            return 1;
        if (*p == '%' && p[1] == '7' && (p[2] == 'f' || p[2] == 'F'))
            return 1;
    }
    return 0;
}

int http_read_check_framing(http_request *req, const char *url)
{
    http_lengths l = {0};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, http_count_length, &l);
    const char *te =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    char shown[64];
    if (l.conflict) {
        http_read_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s",
                       "two Content-Length headers that differ");
    } else if (te && strcasecmp(te, "chunked") != 0) {
        params_quote(te, shown, sizeof(shown));
        http_read_fail(
            req, HTTP_ERR_NOT_IMPLEMENTED,
            "Transfer-Encoding '%s' is not supported: send the body as it is, or chunked", shown);
    } else if (te && l.count) {
        http_read_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s",
                       "both Content-Length and Transfer-Encoding: send one");
    } else if (http_path_has_control(url)) {
        http_read_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s",
                       "the path holds a control character");
    } else {
        return 0;
    }
    return -1;
}

size_t http_read_unescape(void *cls, struct MHD_Connection *conn, char *uri)
{
    (void)cls;
    (void)conn;
    if (http_path_has_control(uri))
        return strlen(uri);
    return MHD_http_unescape(uri);
}
