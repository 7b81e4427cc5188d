/* http.c -- see http.h. The front's life cycle (start, attach, quiesce,
 * shutdown, stop), its loop callbacks (the turn's work, the timeout, the
 * fds), MHD's callbacks (a connection's start and end, a request's calls
 * and its end), callers of suspended requests that hang up, and the
 * public entry points that the modules implement (http_reload_tokens,
 * http_parse_listen), wired to the modules that do each part (http_int.h
 * lists them). Owns the front itself, MHD's daemon and the epoll fds. The
 * only module that includes the others' headers: none calls into it.
 *
 * Mode: MHD runs in *external* mode (MHD_USE_EPOLL without an internal
 * thread): its epoll fd is one more item in the gateway's zmq_poll, and
 * MHD_run is called from the gateway's loop. A request for a job is
 * suspended (MHD_suspend_connection) and resumed from the same thread when
 * the job ends, so no request holds a thread and no state is shared across
 * threads: the loop owns the queues, the fleet and every connection.
 *
 * The alternative -- MHD's internal polling thread, handing each request to
 * the loop thread and resuming cross-thread -- was measured with
 * bench/mhd_modes.c (numbers in its header comment): it needs a queue plus
 * a wake-up on every request and on every result. On 2 cores, with every
 * request round-tripped through ZeroMQ as a job is, external mode served
 * 123k req/s with keep-alive against 105k (50k against 39k without), at
 * 9.4 against 11.6 us of server CPU per request; on one core the two tie.
 * External mode is never slower and keeps one owner of all state, the
 * design's rule, with no lock on the hot path. */

#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utlist.h>

#include "clock.h"
#include "http_accept.h"
#include "http_auth.h"
#include "http_events.h"
#include "http_int.h"
#include "http_metrics.h"
#include "http_read.h"
#include "http_reply.h"
#include "http_route.h"
#include "http_suspend.h"
#include "http_tls.h"
#include "log.h"

#define HTTP_CONNECTION_TIMEOUT_S 60 /* idle keep-alive connections */
#define HTTP_REFUSE_EARLY 1
#define HTTP_TLS_STALL_MS 50 /* see http_process */

/* ---- MHD's callbacks ------------------------------------------------ */

static void http_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                                   enum MHD_ConnectionNotificationCode toe)
{
    http_front *h = cls;
    http_conn *c = *socket_context;
    http_suspend_activity++;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        if (h->tls_cert)
            http_tls_watch(conn);
        c = calloc(1, sizeof(*c));
        if (!c)
            return; /* no deadline for this one */
        c->conn = conn;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr)
            c->ip = http_accept_ip_count(h, ci->client_addr, 1);
        c->phase = PHASE_ANSWERING;
        c->tls_fd = -1;
        *socket_context = c;
        if (h->tls_watch_fd >= 0)
            http_tls_watch_fd(h, c);
        http_read_phase(h, c, PHASE_HEADERS);
    } else {
        /* One closed: a front at MHD's limit accepts again. */
        if (!h->listen_watched && !timer_active(&h->accept_pause))
            http_accept_listen_watch(h, 1);
        if (!c)
            return;
        http_tls_unwatch_fd(h, c);
        http_read_phase(h, c, PHASE_ANSWERING); /* out of the deadline lists */
        http_accept_ip_put(h, c->ip);
        free(c);
        *socket_context = NULL;
    }
}

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    http_front *h = cls;
    gw_core *core = h->core;
    http_request *req = *con_cls;
    (void)version;
    http_suspend_activity++;

    if (!req) {
        req = calloc(1, sizeof(*req));
        if (!req)
            return MHD_NO;
        req->front = h;
        req->conn = conn;
        *con_cls = req;
        http_conn *c = http_read_conn_of(conn);
        if (c)
            http_tls_unwatch_fd(h, c); /* a request: the handshake is done */
        http_read_phase(h, c, PHASE_BODY);
        core_count(core, STAT_http_requests);
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (info && info->num_connections > (unsigned)h->cfg.max_connections) {
            /* Past --max-connections but within MHD's hard limit: answer,
             * don't reset, and close this connection. */
            req->target = TARGET_ERROR;
            req->err_code = HTTP_ERR_TOO_MANY_CONNECTIONS;
            snprintf(req->err_msg, sizeof(req->err_msg),
                     "%u connections are open, over --max-connections %lld; retry later",
                     info->num_connections, h->cfg.max_connections);
            return MHD_YES;
        }
        if (core_draining(core) && strcmp(url, "/readyz") != 0) {
            /* /readyz answers for itself: not ready, "gateway draining". */
            req->target = TARGET_ERROR;
            req->err_code = OFFLOAD__CODE__CODE_NO_EXECUTOR;
            snprintf(req->err_msg, sizeof(req->err_msg),
                     "the gateway is shutting down; retry on another gateway");
            return MHD_YES;
        }
        if (http_read_check_framing(req, url) < 0) {
            /* Answered before any body is read: MHD sends no 100 Continue
             * and closes the connection after the answer. */
            core_count(core, STAT_http_rejected);
            return http_reply_answer_error(req);
        }
        if (http_auth_resolve(req, method, url) < 0)
            return http_reply_answer_error(req); /* 401, 403: before any body is read */
        if (req->target == TARGET_JOB) {
            const char *cl =
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
            long long n;
            /* A caller that waits for 100 Continue gets its 413 or 503
             * now, instead of sending a body only to have it thrown away. */
            const char *expect =
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
            int waits = expect && strcasecmp(expect, "100-continue") == 0;
            if (cl && parse_ll(cl, &n) == 0 && n > h->cfg.max_payload) {
                req->too_large = 1;
                if (waits)
                    return http_reply_too_large(req);
            } else if (cl && parse_ll(cl, &n) == 0 && n > 0 && http_read_hold(req, (size_t)n) < 0) {
                /* The whole body is reserved before it is read; one that
                 * would not fit is refused before it is read. */
                if (waits || HTTP_REFUSE_EARLY)
                    return http_reply_over_budget(req);
            }
        }
        return MHD_YES;
    }

    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        enum MHD_Result ret = http_read_take_body(req, upload_data, n);
        if (ret == MHD_YES)
            http_read_spend(req, n);
        return ret;
    }
    http_read_phase(h, http_read_conn_of(conn), PHASE_ANSWERING);
    return http_reply_answer(req);
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    http_front *h = cls;
    http_request *req = *con_cls;
    http_suspend_activity++;
    http_conn *c = http_read_conn_of(conn);
    if (c && c->phase == PHASE_ANSWERING)
        http_read_phase(h, c, PHASE_HEADERS); /* the next request's */
    if (!req)
        return;
    if (req->parked)
        DL_DELETE2(h->parked, req, park_prev, park_next);
    if (req->job)
        core_detach(h->core, req->job);
    http_events_end(req, toe);
    detached_unwait(&req->waiter);
    loop_timer_stop(h->loop, &req->delay);
    if (req->response)
        MHD_destroy_response(req->response);
    http_read_give_back(req);
    free(req->body);
    free(req);
    *con_cls = NULL;
}

/* ---- life cycle ----------------------------------------------------- */

static log_limiter http_library_limiter;

/* libmicrohttpd's own messages (a failed TLS handshake, a bad request
 * line) as log lines, at most 5 a second: a flood of plain HTTP to the TLS
 * port must not flood the log. */
static void http_library_log(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '.'))
        msg[--n] = '\0';
    for (char *p = msg; *p; p++)
        if (*p == '"' || *p == '\n')
            *p = '\'';
    if (log_limiter_allow(&http_library_limiter, 5))
        log_warn("event=http_library msg=\"%s\"", msg);
}

int http_parse_listen(const char *listen, char *host, size_t hostlen, unsigned *port)
{
    const char *colon;
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':')
            return -1;
        if ((size_t)(end - listen - 1) >= hostlen)
            return -1;
        snprintf(host, hostlen, "%.*s", (int)(end - listen - 1), listen + 1);
        colon = end + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= hostlen)
            return -1;
        snprintf(host, hostlen, "%.*s", (int)(colon - listen), listen);
        if (!strcmp(host, "*"))
            host[0] = '\0';
    }
    long long p;
    if (parse_ll(colon + 1, &p) < 0 || p < 0 || p > 65535)
        return -1;
    *port = (unsigned)p;
    return 0;
}

/* Frees a front that never started serving. */
static void http_free(http_front *h)
{
    if (h->daemon)
        MHD_stop_daemon(h->daemon); /* notifies every connection closed */
    http_metrics_free(h);
    loop_timer_stop(h->loop, &h->read_deadline);
    http_accept_free(h);
    if (h->hello_fd >= 0)
        close(h->hello_fd);
    if (h->watch_fd >= 0)
        close(h->watch_fd);
    if (h->listen_fd >= 0)
        close(h->listen_fd);
    if (h->listen_watch_fd >= 0)
        close(h->listen_watch_fd);
    if (h->tls_watch_fd >= 0)
        close(h->tls_watch_fd);
    route_table_free(&h->routes);
    tokens_free(&h->tokens);
    if (h->tls_key)
        explicit_bzero(h->tls_key, strlen(h->tls_key));
    free(h->tls_key);
    free(h->tls_cert);
    free(h);
}

http_front *http_start(gw_core *core, loop *l, const http_config *cfg, char *bound, size_t boundlen,
                       char *err, size_t errlen)
{
    const char *listen = cfg->listen;
    char host[64];
    unsigned port;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG;
    if (http_parse_listen(listen, host, sizeof(host), &port) < 0) {
        snprintf(err, errlen, "--http '%s': expected HOST:PORT (0.0.0.0:8080, [::1]:8080)", listen);
        return NULL;
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (!*host || inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        if (!*host)
            in4->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "--http '%s': '%s' is not an IPv4 or IPv6 address", listen, host);
        return NULL;
    }

    http_front *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->core = core;
    h->loop = l;
    h->cfg = *cfg;
    h->tls_watch_fd = -1;
    h->listen_fd = -1;
    h->hello_fd = -1;
    loop_budget_start(l, &h->turn);
    h->watch_fd = epoll_create1(EPOLL_CLOEXEC);
    h->listen_watch_fd = epoll_create1(EPOLL_CLOEXEC);
    if (h->watch_fd < 0 || h->listen_watch_fd < 0) {
        snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
        goto err;
    }
    if (http_route_load(h, err, errlen) < 0)
        goto err;
    if (cfg->token_file && http_auth_load_tokens(cfg->token_file, &h->tokens, err, errlen) < 0)
        goto err;
    if (http_tls_load(h, err, errlen) < 0)
        goto err;
    /* TLS goes through MHD_OPTION_ARRAY: MHD_start_daemon's list is fixed. */
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    h->hello_fd = epoll_create1(EPOLL_CLOEXEC);
    if (h->tls_cert) {
        flags |= MHD_USE_TLS;
        h->tls_watch_fd = epoll_create1(EPOLL_CLOEXEC);
    } else {
        tls_opts[0].option = MHD_OPTION_END;
    }
    if (h->hello_fd < 0 || (h->tls_cert && h->tls_watch_fd < 0)) {
        snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
        goto err;
    }
    http_accept_limits(h);
    h->listen_fd = http_accept_listen_socket(&ss);
    if (h->listen_fd < 0) {
        snprintf(err, errlen, "cannot listen for HTTP on '%s': %s (is the port in use?)", listen,
                 strerror(errno));
        goto err;
    }
    /* No listening socket in MHD: the front accepts (http_accept). */
    h->daemon = MHD_start_daemon(
        flags | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, http_handler, h,
        MHD_OPTION_EXTERNAL_LOGGER, http_library_log, NULL, MHD_OPTION_CONNECTION_LIMIT,
        h->hard_limit, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONNECTION_TIMEOUT_S,
        MHD_OPTION_NOTIFY_COMPLETED, http_completed, h, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)cfg->max_connections_per_ip, MHD_OPTION_UNESCAPE_CALLBACK, http_read_unescape,
        NULL, MHD_OPTION_NOTIFY_CONNECTION, http_notify_connection, h, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(err, errlen, "cannot start HTTP on '%s': %s%s", listen,
                 strerror(errno ? errno : EINVAL),
                 h->tls_cert ? " (did TLS fail to start? see event=http_library above)" : "");
        goto err;
    }
    http_accept_listen_watch(h, 1);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    h->epoll_fd = info ? info->epoll_fd : -1;
    struct sockaddr_storage bound_ss;
    socklen_t bound_len = sizeof(bound_ss);
    unsigned port_bound = port;
    if (getsockname(h->listen_fd, (struct sockaddr *)&bound_ss, &bound_len) == 0)
        port_bound =
            ntohs(bound_ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound_ss)->sin6_port
                                                 : ((struct sockaddr_in *)&bound_ss)->sin_port);
    if (flags & MHD_USE_IPv6)
        snprintf(bound, boundlen, "[%s]:%u", host, port_bound);
    else
        snprintf(bound, boundlen, "%s:%u", *host ? host : "0.0.0.0", port_bound);
    http_auth_warn_exposed(h, host);
    return h;

err:
    http_free(h);
    return NULL;
}

/* A socket in its TLS handshake moved: MHD runs this turn. */
static void http_on_tls_ready(void *arg)
{
    http_front *h = arg;
    struct epoll_event evs[64];
    while (epoll_wait(h->tls_watch_fd, evs, 64, 0) == 64)
        ;
    h->kick = 1;
}

/* New connections in the backlog: the end-of-turn hook accepts them. */
static void http_on_listen(void *arg)
{
    http_front *h = arg;
    h->accept_ready = 1;
    h->kick = 1;
}

/* Readable MHD epoll fd: the end-of-turn hook does the work. */
static void http_on_readable(void *arg)
{
    http_front *h = arg;
    h->kick = 1;
}

/* Callers of suspended requests that hung up: a waiting job leaves its
 * queue, a running one is cancelled on its executor. */
static void http_check_gone(void *arg)
{
    http_front *h = arg;
    struct epoll_event evs[64];
    int n = epoll_wait(h->watch_fd, evs, 64, 0);
    for (int i = 0; i < n; i++) {
        http_request *req = evs[i].data.ptr;
        core_count(h->core, STAT_callers_gone);
        log_debug("event=caller_gone job_id=%llu trace_id=%.32s",
                  (unsigned long long)(req->job ? core_job_id(req->job) : 0),
                  trace_id(req->trace.parent));
        if (req->job) {
            core_detach(h->core, req->job);
            req->job = NULL;
        }
        detached_unwait(&req->waiter); /* a detached job runs on without it */
        loop_timer_stop(h->loop, &req->delay);
        /* Nobody reads this answer: resuming lets MHD see the closed socket
         * and end the request. */
        unsigned status;
        http_suspend_resume(
            req, 0,
            http_reply_error(OFFLOAD__CODE__CODE_CANCELLED, "the caller went away", 0, 1, &status));
        req->status = status;
    }
}

static int64_t http_timeout_us(void *arg)
{
    http_front *h = arg;
    MHD_UNSIGNED_LONG_LONG ms;
    if (h->parked)
        return 0; /* uploads wait on the next turn, not on their sockets */
    if (h->tls_cert && h->kick)
        return 0; /* a resume after this turn's MHD_run */
    if (h->stalled) {
        uint64_t now = clock_now_us();
        return h->stall_until_us > now ? (int64_t)(h->stall_until_us - now) : 0;
    }
    if (MHD_get_timeout(h->daemon, &ms) != MHD_YES)
        return -1;
    return (int64_t)ms * 1000;
}

/* Lets MHD accept, read, answer and resume: every turn, except with TLS
 * while stalled.
 *
 * libmicrohttpd 0.9.75 in epoll mode keeps a TLS connection whose
 * handshake waits on the peer in its ready list (GnuTLS reads the socket
 * itself, so MHD never sees the EAGAIN that would take it off), and
 * MHD_get_timeout says 0 for as long as it waits: one TCP connection that
 * sends nothing to the TLS port would spin the loop. So with TLS the front
 * counts what MHD does (the bytes GnuTLS moves through http_tls_pull and
 * http_tls_push, MHD's callbacks). A run that did nothing while MHD still
 * says 0 is a stall: MHD runs again only when its epoll fd is readable, a
 * socket still in its handshake moves (MHD does not watch those: the front
 * does, in tls_watch_fd), a request resumes, or HTTP_TLS_STALL_MS pass. Decrypted data GnuTLS holds
 * came in a run that moved bytes, so none is left waiting by this. */
static void http_process(void *arg)
{
    http_front *h = arg;
    h->turn_start_us = clock_now_us();
    loop_budget_start(h->loop, &h->turn);
    http_accept(h);
    if (!h->tls_cert) {
        http_read_run(h); /* MHD_get_timeout is right without TLS */
        http_accept_adapt(h);
        return;
    }
    if (h->stalled && !h->kick && !h->parked && clock_now_us() < h->stall_until_us)
        return;
    uint64_t before = http_suspend_activity;
    h->kick = 0;
    http_read_run(h);
    http_accept_adapt(h);
    MHD_UNSIGNED_LONG_LONG ms;
    h->stalled =
        http_suspend_activity == before && MHD_get_timeout(h->daemon, &ms) == MHD_YES && ms == 0;
    if (h->stalled)
        h->stall_until_us = clock_now_us() + HTTP_TLS_STALL_MS * 1000;
}

int http_attach(http_front *h, loop *l)
{
    if (loop_add_fd(l, h->listen_watch_fd, http_on_listen, h) < 0 ||
        loop_add_fd(l, h->epoll_fd, http_on_readable, h) < 0 ||
        loop_add_fd(l, h->watch_fd, http_check_gone, h) < 0 ||
        (h->tls_watch_fd >= 0 && loop_add_fd(l, h->tls_watch_fd, http_on_tls_ready, h) < 0) ||
        (h->hello_fd >= 0 && loop_add_fd(l, h->hello_fd, http_on_listen, h) < 0) ||
        loop_on_turn(l, http_process, h) < 0)
        return -1;
    loop_on_timeout(l, http_timeout_us, h);
    return 0;
}

void http_quiesce(http_front *h)
{
    if (!h || h->quiesced)
        return;
    http_accept_listen_watch(h, 0);
    loop_timer_stop(h->loop, &h->accept_pause);
    if (h->listen_fd >= 0)
        close(h->listen_fd); /* the backlog's connections are reset */
    h->listen_fd = -1;
    h->quiesced = 1;
    http_events_end_all(h, 0); /* streams are not work a drain waits for */
}

int http_pending(const http_front *h)
{
    return h && h->suspended;
}

int http_reload_tokens(http_front *h)
{
    return http_auth_reload_tokens(h);
}

/* Detaches every suspended request from its job or timer and resumes it
 * with a 503 (answer) or with nothing (MHD then closes it). */
static void http_resume_all(http_front *h, int answer)
{
    while (h->suspended) {
        http_request *req = h->suspended;
        if (req->job) {
            core_detach(h->core, req->job);
            req->job = NULL;
        }
        detached_unwait(&req->waiter); /* a detached job runs on without it */
        loop_timer_stop(h->loop, &req->delay);
        unsigned status = 0;
        struct MHD_Response *r = NULL;
        if (answer)
            r = http_reply_error(OFFLOAD__CODE__CODE_NO_EXECUTOR, "the gateway is shutting down", 0,
                                 1, &status);
        http_suspend_resume(req, status, r);
    }
}

void http_shutdown(http_front *h)
{
    if (!h)
        return;
    http_quiesce(h);
    http_resume_all(h, 1);
    http_events_end_all(h, 1); /* a client that does not read must not hold the stop */
    h->unbounded = 1;
    http_read_unpark(h, SIZE_MAX);
    uint64_t until = clock_now_us() + 1000000;
    while (clock_now_us() < until) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!info || info->num_connections == 0)
            break;
        MHD_run_wait(h->daemon, 50);
    }
}

void http_stop(http_front **hp)
{
    http_front *h = *hp;
    if (!h)
        return;
    /* MHD refuses to stop with suspended connections: resume them first. */
    http_resume_all(h, 0);
    http_events_end_all(h, 1);
    h->unbounded = 1;
    http_read_unpark(h, SIZE_MAX);
    http_free(h);
    *hp = NULL;
}
