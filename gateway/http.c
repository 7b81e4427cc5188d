/* http.c -- see http.h.
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
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>
#include <utlist.h>

#include "clock.h"
#include "errors.h"
#include "gateway.h"
#include "log.h"
#include "params.h"
#include "routes.h"
#include "tokens.h"

#define HTTP_CONNECTION_TIMEOUT_S 60 /* idle keep-alive connections */
#define HTTP_LISTEN_BACKLOG 4096
#define HTTP_REFUSE_EARLY 1

/* Route errors, which have no Offload__Code, in http_request.err_code. */
#define HTTP_ERR_UNKNOWN_ROUTE (-404)
#define HTTP_ERR_NOT_ALLOWED (-405)
#define HTTP_ERR_TOO_MANY_CONNECTIONS (-503)
#define HTTP_ERR_NOT_IMPLEMENTED (-501)
#define HTTP_ERR_UNAUTHORIZED (-401)
#define HTTP_ERR_FORBIDDEN (-403)

#define HTTP_PEM_MAX (1024 * 1024) /* --tls-cert, --tls-key: bytes */
#define HTTP_TLS_STALL_MS 50       /* see http_process */
#define HTTP_UNPARK_BYTES 65536    /* see http_run */
#define HTTP_ACCEPT_PAUSE_MS 100   /* out of descriptors: accept again after */
#define HTTP_TURN_ACCEPTS 64       /* --turn-accepts default */
#define HTTP_TLS_TURN_ACCEPTS 2    /* --turn-accepts default with TLS: see http_accept */
#define HTTP_HELLO_EVENTS 512      /* readable hellos looked at per turn */
enum { HELLO_UNKNOWN, HELLO_CHEAP, HELLO_OTHER };

typedef enum http_target {
    TARGET_ERROR, /* answer with the error set on the request */
    TARGET_HEALTHZ,
    TARGET_QUEUES,
    TARGET_STATS,
    TARGET_DELAY,      /* GET /v1/delay or a delay: route */
    TARGET_JOB,        /* POST /v1/jobs/... or a job: route */
    TARGET_JOB_STATUS, /* GET /v1/jobs/ID */
    TARGET_JOB_RESULT, /* GET /v1/jobs/ID/result */
    TARGET_JOB_CANCEL, /* DELETE /v1/jobs/ID */
} http_target;

typedef struct http_request http_request;

/* A connection's read deadline: its request's headers must arrive within
 * --header-timeout-ms of its start or of its previous answer, its body
 * within --body-timeout-ms of its headers (a slowloris is closed, however
 * slowly it trickles). Answering has no deadline here (the job's own). */
typedef enum http_phase { PHASE_HEADERS, PHASE_BODY, PHASE_ANSWERING } http_phase;

/* One client address's connections: its hellos and MHD's (the per-address
 * limit covers both: MHD only knows its own). */
typedef struct http_ip {
    uint8_t key[16]; /* IPv6, or IPv4 mapped */
    unsigned n;
    UT_hash_handle hh;
} http_ip;

/* A connection accepted but not yet given to MHD: it waits for its first
 * bytes (a request, or a TLS ClientHello) in front->hello_fd (see
 * http_accept). */
typedef struct http_hello {
    int fd;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint64_t since_us;
    int kind;                       /* HELLO_UNKNOWN, HELLO_CHEAP (GET, HEAD), HELLO_OTHER */
    struct http_ip *ip;             /* its address's count, or NULL */
    struct http_hello *prev, *next; /* front->hellos, oldest first */
} http_hello;

typedef struct http_conn {
    struct MHD_Connection *conn;
    http_ip *ip; /* counted there; NULL without a per-address limit */
    http_phase phase;
    uint64_t since_us;
    struct http_conn *prev, *next; /* in its phase's list, oldest first */
    int tls_fd;                    /* its socket in front->tls_watch_fd (TLS handshake), or -1 */
} http_conn;

struct http_front {
    gateway *gw;
    loop *loop;
    http_config cfg;
    route_table routes;
    struct MHD_Daemon *daemon;
    int epoll_fd;
    http_request *suspended;  /* requests waiting on a job or a timer */
    int quiesced;             /* the listening socket is closed */
    int watch_fd;             /* epoll: suspended sockets, for EPOLLRDHUP */
    http_conn *reading[2];    /* PHASE_HEADERS, PHASE_BODY: oldest first */
    gw_timer read_deadline;   /* the oldest of them */
    token_table *tokens;      /* --http-token-file, or NULL: no token needed */
    char *tls_cert, *tls_key; /* PEM text MHD serves from, or NULL */
    int stalled;              /* TLS: MHD says "run again" but did nothing */
    int kick;                 /* MHD has something new: its epoll fd, a resume */
    int tls_watch_fd;         /* epoll (edge): sockets in their TLS handshake */
    uint64_t stall_until_us;  /* while stalled, run MHD again by then anyway */
    loop_budget turn;         /* this turn's bytes and time for request bodies */
    http_request *parked;     /* uploads paused with the turn's budget spent, oldest first */
    int unbounded;            /* stopping: bodies are read without a budget */
    int listen_fd;            /* ours, not MHD's (http_accept); -1 once quiesced */
    int listen_watch_fd;      /* epoll (level) holding listen_fd while accepting: a loop source */
    int listen_watched;       /* listen_fd is in listen_watch_fd */
    int accept_ready;         /* listen_watch_fd was readable this turn */
    unsigned hard_limit;      /* MHD_OPTION_CONNECTION_LIMIT */
    unsigned turn_accepts;    /* new connections per turn (--turn-accepts) */
    unsigned accept_allow;    /* of those, what this turn may take (http_accept_adapt) */
    unsigned accepted;        /* new connections handed to MHD this turn */
    uint64_t turn_start_us;   /* when this turn's HTTP work began */
    gw_timer accept_pause;    /* out of descriptors: accept again when it fires */
    int hello_fd;             /* epoll (level) of the hellos, a loop source */
    http_hello *hellos;       /* connections waiting for their first bytes */
    unsigned nhellos;
    gw_timer hello_deadline; /* the oldest hello's --header-timeout-ms */
    http_ip *ips;            /* with --max-connections-per-ip: connections per address */
};

/* Bytes GnuTLS moved and callbacks MHD made: what http_process compares
 * before and after MHD_run to see whether it did anything. */
static uint64_t http_activity;

struct http_request {
    http_front *front;
    struct MHD_Connection *conn;
    http_target target;
    const route *route; /* the user route, if one matched */
    char queue[CODEC_NAME_MAX + 1];
    char function[CODEC_NAME_MAX + 1];
    long long timeout_ms; /* 0: the queue's default */
    long long retries;    /* -1: the gateway's default */
    long long delay_ms;
    uint8_t *body; /* the request body, up to --max-payload */
    size_t len, cap;
    size_t held; /* bytes taken from the gateway's budget for the body */
    int too_large;
    int over_budget;                /* the body would pass --max-held-bytes: 503 */
    gw_job *job;                    /* while the job runs */
    gw_timer delay;                 /* while a delay waits; a result's wait_ms */
    int detach;                     /* ?wait=false */
    char key[DETACHED_KEY_MAX + 1]; /* Idempotency-Key, or "" */
    uint64_t ref;                   /* the job a /v1/jobs/ID request names */
    long long wait_ms;              /* GET .../result?wait_ms= */
    detached_waiter waiter;         /* while waiting on a detached job */
    int is_suspended;
    int parked;                          /* suspended until a next turn: see http_park */
    size_t park_bytes;                   /* the chunk it last gave, for http_unpark */
    http_request *park_prev, *park_next; /* front->parked list */
    int watch_fd;                        /* its socket in front->watch_fd, or -1 */
    http_request *prev, *next;           /* front->suspended list */
    struct MHD_Response *response;       /* set when the answer is ready */
    unsigned status;
    /* An error found while reading the request, answered at its end. */
    int err_code;
    char err_msg[256];
    const char *allow;     /* Allow header for 405 */
    char allow_buf[64];    /* its text, for user routes */
    const char *challenge; /* WWW-Authenticate header for 401 and 403 */
};

/* Gives the body's bytes back to the gateway's budget. */
static void http_give_back(http_request *req)
{
    if (req->held)
        budget_give(gateway_budget(req->front->gw), req->held);
    req->held = 0;
}

/* ---- responses ------------------------------------------------------ */

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

/* The JSON error of the interface contract; sets *status from the code.
 * A 503 carries Retry-After: retry_after seconds. */
static struct MHD_Response *http_error(int code, const char *message, uint64_t job_id,
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

static enum MHD_Result http_send(struct MHD_Connection *conn, unsigned status,
                                 struct MHD_Response *r)
{
    if (!r)
        return MHD_NO; /* out of memory: MHD closes the connection */
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result http_send_error(http_request *req, int code, const char *message,
                                       unsigned retry_after)
{
    unsigned status;
    struct MHD_Response *r = http_error(code, message, 0, retry_after, &status);
    if (r && req->allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, req->allow);
    return http_send(req->conn, status, r);
}

/* ---- suspension ----------------------------------------------------- */

/* Suspends req and watches its socket for the caller hanging up (see
 * http_check_gone): MHD does not poll a suspended connection. */
static void http_suspend(http_request *req)
{
    http_front *h = req->front;
    MHD_suspend_connection(req->conn);
    req->is_suspended = 1;
    req->prev = NULL;
    req->next = h->suspended;
    if (h->suspended)
        h->suspended->prev = req;
    h->suspended = req;
    req->watch_fd = -1;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci && h->watch_fd >= 0) {
        struct epoll_event ev = {.events = EPOLLRDHUP, .data.ptr = req};
        if (epoll_ctl(h->watch_fd, EPOLL_CTL_ADD, ci->connect_fd, &ev) == 0)
            req->watch_fd = ci->connect_fd;
    }
}

/* Stores the answer and resumes the connection; MHD then calls the access
 * handler again, which queues it. */
static void http_resume(http_request *req, unsigned status, struct MHD_Response *r)
{
    http_front *h = req->front;
    req->response = r;
    req->status = status;
    if (!req->is_suspended)
        return;
    if (req->watch_fd >= 0) {
        epoll_ctl(h->watch_fd, EPOLL_CTL_DEL, req->watch_fd, NULL);
        req->watch_fd = -1;
    }
    if (req->prev)
        req->prev->next = req->next;
    else
        h->suspended = req->next;
    if (req->next)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
    req->is_suspended = 0;
    h->kick = 1;
    MHD_resume_connection(req->conn);
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

/* Pauses req's upload until a next turn (http_unpark). From the access
 * handler only, with the chunk taken. */
static void http_park(http_request *req, size_t chunk)
{
    http_front *h = req->front;
    MHD_suspend_connection(req->conn);
    req->parked = 1;
    req->park_bytes = chunk;
    DL_APPEND2(h->parked, req, park_prev, park_next);
    gateway_count(h->gw, STAT_http_budget_parks);
}

/* Resumes parked uploads, oldest first, until their last chunks add up to
 * allowance bytes (at least one; SIZE_MAX: all). */
static void http_unpark(http_front *h, size_t allowance)
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

/* MHD_run, in small steps while uploads are parked: each resumes about
 * HTTP_UNPARK_BYTES of them (MHD reads each once, whatever the budget
 * says: resuming a budget's worth at once would read twice as much), and
 * the steps end once the turn's budget is spent. */
static void http_run(http_front *h)
{
    http_unpark(h, HTTP_UNPARK_BYTES);
    MHD_run(h->daemon);
    while (h->parked && !h->turn.spent && clock_now_us() < h->turn.until_us) {
        http_unpark(h, HTTP_UNPARK_BYTES);
        MHD_run(h->daemon);
    }
}

/* Counts a body chunk the handler took against the turn's budget; parks
 * req once the budget is spent. */
static void http_spend(http_request *req, size_t chunk)
{
    http_front *h = req->front;
    if (loop_budget_spend(&h->turn, chunk) || h->unbounded || req->parked)
        return;
    http_park(req, chunk);
}

/* ---- accepting ------------------------------------------------------
 *
 * MHD accepts a few connections per MHD_run step (10 in 0.9.75): under a
 * storm of reconnects a new connection (a /healthz) waited in the listen
 * backlog for many turns; and a step then did the first work of every
 * connection it had (the first read, the answer or a 503 and its close, a
 * TLS handshake), 15-20 ms for a burst of uploads. So MHD has no listening
 * socket (MHD_USE_NO_LISTEN_SOCKET): the front listens, and its socket is
 * one more source of the loop (through listen_watch_fd, an epoll the socket
 * leaves while at the connection limit, while out of descriptors, and once
 * quiesced). Each turn http_take_new accepts up to HTTP_TURN_ACCEPTS new
 * connections (fewer once the turn's time budget is spent; the rest wait
 * in the backlog for the next turn, which starts at once) into the
 * "hellos", where they wait for their first bytes (hello_fd; closed at
 * --header-timeout-ms). http_hand_over then gives MHD (MHD_add_connection:
 * the NOTIFY_CONNECTION callback sets the read deadlines) at most
 * accept_allow of those whose bytes came, which http_accept_adapt sizes
 * from how long the turns run (up to --turn-accepts, HTTP_TLS_TURN_ACCEPTS
 * by default with TLS, where each costs a handshake of about 1 ms of CPU
 * here), and beyond that the GETs and HEADs. --max-connections counts the
 * hellos, and --max-connections-per-ip is counted here (http_ip_count),
 * for the hellos and MHD's connections together. */

static log_limiter http_accept_limiter;

/* Puts listen_fd in the loop's sight (on) or takes it out. */
static void http_listen_watch(http_front *h, int on)
{
    if (h->listen_fd < 0 || h->listen_watched == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = h};
    if (epoll_ctl(h->listen_watch_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, h->listen_fd, &ev) == 0)
        h->listen_watched = on;
}

static void http_accept_resume(gw_timer *t, void *arg)
{
    (void)t;
    http_listen_watch(arg, 1);
}

static void http_hello_fire(gw_timer *t, void *arg);

static void http_hello_arm(http_front *h)
{
    loop_timer_stop(h->loop, &h->hello_deadline);
    if (h->hellos)
        loop_timer_start(h->loop, &h->hello_deadline,
                         h->hellos->since_us + (uint64_t)h->cfg.header_timeout_ms * 1000,
                         http_hello_fire, h);
}

/* The count of sa's address, moved by delta (an entry at 0 is freed).
 * Returns the entry, NULL at 0 or without a limit or memory. */
static http_ip *http_ip_count(http_front *h, const struct sockaddr *sa, int delta)
{
    if (!h->cfg.max_connections_per_ip)
        return NULL;
    uint8_t key[16] = {0};
    if (sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    } else if (sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else {
        return NULL;
    }
    http_ip *ip;
    HASH_FIND(hh, h->ips, key, sizeof(key), ip);
    if (!ip) {
        if (delta <= 0 || !(ip = calloc(1, sizeof(*ip))))
            return NULL;
        memcpy(ip->key, key, sizeof(key));
        HASH_ADD(hh, h->ips, key, sizeof(ip->key), ip);
    }
    ip->n = delta < 0 && ip->n < (unsigned)-delta ? 0 : ip->n + (unsigned)delta;
    if (ip->n == 0) {
        HASH_DEL(h->ips, ip);
        free(ip);
        return NULL;
    }
    return ip;
}

static void http_ip_put(http_front *h, http_ip *ip)
{
    if (ip && --ip->n == 0) {
        HASH_DEL(h->ips, ip);
        free(ip);
    }
}

/* Forgets w: closes its socket, or gives it to MHD (give). */
static void http_hello_end(http_front *h, http_hello *w, int give)
{
    epoll_ctl(h->hello_fd, EPOLL_CTL_DEL, w->fd, NULL);
    DL_DELETE(h->hellos, w);
    h->nhellos--;
    http_ip_put(h, w->ip);
    /* MHD closes the fd itself when it refuses it (no memory, a limit). */
    if (!give ||
        MHD_add_connection(h->daemon, w->fd, (struct sockaddr *)&w->addr, w->addrlen) != MHD_YES) {
        if (!give)
            close(w->fd);
        /* One fewer: a front at the connection limit accepts again. */
        if (!h->listen_watched && !timer_active(&h->accept_pause))
            http_listen_watch(h, 1);
    }
    free(w);
}

/* Ends the hellos past --header-timeout-ms: closes those that sent
 * nothing; one that did but waited for its turn (a storm of uploads, of
 * TLS handshakes) goes to MHD now rather than be closed unanswered. */
static void http_hello_fire(gw_timer *t, void *arg)
{
    http_front *h = arg;
    (void)t;
    uint64_t limit = (uint64_t)h->cfg.header_timeout_ms * 1000, now = clock_now_us();
    while (h->hellos && h->hellos->since_us + limit <= now) {
        char b;
        int sent = recv(h->hellos->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
        if (sent)
            h->kick = 1;
        else
            gateway_count(h->gw, STAT_http_read_timeouts);
        http_hello_end(h, h->hellos, sent);
    }
    http_hello_arm(h);
}

/* Keeps a new connection until its first bytes (a request, a TLS
 * ClientHello) arrive. */
static void http_hello_add(http_front *h, int fd, const struct sockaddr_storage *ss, socklen_t len)
{
    http_hello *w = calloc(1, sizeof(*w));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
    if (!w || (ev.data.ptr = w, epoll_ctl(h->hello_fd, EPOLL_CTL_ADD, fd, &ev) < 0)) {
        free(w);
        close(fd);
        return;
    }
    w->fd = fd;
    w->addr = *ss;
    w->addrlen = len;
    w->since_us = clock_now_us();
    w->ip = http_ip_count(h, (const struct sockaddr *)ss, 1);
    DL_APPEND(h->hellos, w);
    if (h->nhellos++ == 0)
        http_hello_arm(h);
}

/* Accepts this turn's new TCP connections into the hellos (cheap: the
 * dear part is MHD's, http_hand_over). */
static void http_take_new(http_front *h)
{
    unsigned taken = 0;
    unsigned limit = h->turn_accepts > HTTP_TURN_ACCEPTS ? h->turn_accepts : HTTP_TURN_ACCEPTS;
    while (h->listen_watched) {
        if (taken >= limit || (taken && clock_now_us() >= h->turn.until_us)) {
            gateway_count(h->gw, STAT_http_accept_budget_stops);
            return;
        }
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (info && info->num_connections + h->nhellos >= h->hard_limit) {
            /* As MHD does at its limit: new ones wait in the backlog
             * until a connection closes (http_notify_connection). */
            http_listen_watch(h, 0);
            return;
        }
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(h->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the backlog stays
                 * readable, so pause rather than spin. */
                if (log_limiter_allow(&http_accept_limiter, 1))
                    log_warn("event=http_accept_failed error=\"%s\" pause_ms=%d msg=\"cannot "
                             "accept HTTP connections (out of descriptors or memory?): "
                             "accepting again in %d ms\"",
                             strerror(errno), HTTP_ACCEPT_PAUSE_MS, HTTP_ACCEPT_PAUSE_MS);
                http_listen_watch(h, 0);
                loop_timer_stop(h->loop, &h->accept_pause);
                loop_timer_start(h->loop, &h->accept_pause,
                                 clock_now_us() + HTTP_ACCEPT_PAUSE_MS * 1000, http_accept_resume,
                                 h);
            }
            return;
        }
        taken++;
        http_ip *ip = http_ip_count(h, (struct sockaddr *)&ss, 0);
        if (ip && ip->n >= h->cfg.max_connections_per_ip) {
            /* As MHD did at its own accept: closed, no answer. */
            close(fd);
            gateway_count(h->gw, STAT_http_ip_refused);
            if (log_limiter_allow(&http_accept_limiter, 1))
                log_warn("event=http_ip_refused connections=%u msg=\"a client address is at "
                         "--max-connections-per-ip\"",
                         ip->n);
            continue;
        }
        http_hello_add(h, fd, &ss, len);
    }
}

/* A plain HTTP hello whose request is a GET or a HEAD (peeked, not read):
 * no body, so it costs MHD little. */
static int http_hello_cheap(http_front *h, http_hello *w)
{
    if (h->tls_cert)
        return 0; /* the request is inside the TLS session */
    if (w->kind == HELLO_UNKNOWN) {
        char b[5];
        ssize_t r = recv(w->fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
        size_t n = r > 0 ? (size_t)r : 0;
        if ((n >= 4 && memcmp(b, "GET ", 4) == 0) || (n == 5 && memcmp(b, "HEAD ", 5) == 0))
            w->kind = HELLO_CHEAP;
        else if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
            w->kind = HELLO_OTHER; /* closed: MHD finds out in its turn */
        else if (n && !(n < 4 && memcmp(b, "GET ", n) == 0) &&
                 !(n < 5 && memcmp(b, "HEAD ", n) == 0))
            w->kind = HELLO_OTHER;
        /* else too few bytes to tell yet: asked again next turn */
    }
    return w->kind == HELLO_CHEAP;
}

/* Gives MHD the hellos whose first bytes came: at most h->accept_allow a
 * turn (each costs its first read and its answer in this turn's MHD_run,
 * and with TLS a handshake's first step), and beyond that up to
 * HTTP_TURN_ACCEPTS GETs or HEADs, which cost little: /healthz and the
 * other reads are not left behind a storm of uploads. */
static void http_hand_over(http_front *h)
{
    struct epoll_event evs[HTTP_HELLO_EVENTS];
    int n = epoll_wait(h->hello_fd, evs, HTTP_HELLO_EVENTS, 0);
    unsigned given = 0, cheap = 0, left = 0;
    for (int i = 0; i < n; i++) {
        http_hello *w = evs[i].data.ptr;
        if (given < h->accept_allow) {
            given++;
        } else if (cheap < HTTP_TURN_ACCEPTS && http_hello_cheap(h, w)) {
            cheap++;
        } else {
            left++;
            continue;
        }
        http_hello_end(h, w, 1);
        h->kick = 1;
    }
    h->accepted = given;
    if (left)
        gateway_count(h->gw, STAT_http_accept_budget_stops);
    http_hello_arm(h);
}

/* Takes this turn's new connections (see above) and hands MHD those that
 * sent their first bytes. */
static void http_accept(http_front *h)
{
    if (!h->accept_ready)
        return;
    h->accept_ready = 0;
    http_take_new(h);
    http_hand_over(h);
}

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
        r = http_error(o->code, o->message, o->job_id, 1, &status);
    }
    if (r) {
        char v[32];
        snprintf(v, sizeof(v), "%llu", (unsigned long long)o->job_id);
        MHD_add_response_header(r, "X-Offload-Job-Id", v);
        snprintf(v, sizeof(v), "%llu", (unsigned long long)o->waited_us);
        MHD_add_response_header(r, "X-Offload-Waited-Us", v);
        snprintf(v, sizeof(v), "%llu", (unsigned long long)o->run_us);
        MHD_add_response_header(r, "X-Offload-Run-Us", v);
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
    http_resume(req, status, r);
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
                     .run_us = d->run_us};
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
    http_resume(req, status, r);
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
    http_resume(req, MHD_HTTP_ACCEPTED, http_detached_json(d, 0));
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
    return http_send(req->conn, MHD_HTTP_NOT_FOUND, http_json(o));
}

static enum MHD_Result http_job_ref(http_request *req)
{
    detached *ds = gateway_detached(req->front->gw);
    detached_job *d = detached_find(ds, req->ref);
    if (!d)
        return http_unknown_job(req);
    unsigned status;
    switch (req->target) {
    case TARGET_JOB_STATUS:
        return http_send(req->conn, MHD_HTTP_OK, http_detached_json(d, 1));
    case TARGET_JOB_CANCEL:
        detached_cancel(ds, d);
        return http_send(req->conn, MHD_HTTP_OK, http_detached_json(d, 1));
    default:
        break;
    }
    if (d->ended) {
        struct MHD_Response *r = http_detached_result(d, &status);
        return http_send(req->conn, status, r);
    }
    if (req->wait_ms <= 0)
        return http_send(req->conn, MHD_HTTP_ACCEPTED, http_detached_json(d, 0));
    if (loop_timer_start(req->front->loop, &req->delay,
                         clock_now_us() + (uint64_t)req->wait_ms * 1000, http_detached_wait_over,
                         req) < 0)
        return MHD_NO;
    http_suspend(req);
    detached_wait(d, &req->waiter, http_detached_ended, req);
    return MHD_YES;
}

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
    http_resume(req, MHD_HTTP_OK, r);
}

/* ---- built-in routes ---------------------------------------------- */

/* Every counter of stats.h's one table, by its name. */
static struct MHD_Response *http_stats_json(gateway *gw)
{
    gateway_status st;
    gateway_status_get(gw, &st);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(st.id));
    json_object_set_new(o, "uptime_ms", json_integer((json_int_t)st.uptime_ms));
    json_object_set_new(o, "executors", json_integer((json_int_t)st.executors));
    json_object_set_new(o, "jobs_in_flight", json_integer((json_int_t)st.jobs_in_flight));
    json_object_set_new(o, "held_bytes", json_integer((json_int_t)st.held_bytes));
    json_object_set_new(o, "held_bytes_peak", json_integer((json_int_t)st.held_bytes_peak));
    json_object_set_new(o, "max_held_bytes", json_integer((json_int_t)st.max_held_bytes));
    json_object_set_new(o, "loop_turn_max_us", json_integer((json_int_t)st.loop_turn_max_us));
    json_object_set_new(o, "loop_turn_max_cpu_us",
                        json_integer((json_int_t)st.loop_turn_max_cpu_us));
    json_object_set_new(o, "loop_stall_max_ms", json_integer((json_int_t)st.loop_stall_max_ms));
    json_object_set_new(o, "loop_read_max_bytes", json_integer((json_int_t)st.loop_read_max_bytes));
    for (int c = 0; c < STAT_COUNT; c++)
        json_object_set_new(o, stats_name((gateway_counter)c),
                            json_integer((json_int_t)st.counters.v[c]));
    return http_json(o);
}

/* ---- request handling ---------------------------------------------- */

static void http_fail(http_request *req, int code, const char *fmt, const char *arg)
{
    req->target = TARGET_ERROR;
    req->err_code = code;
    snprintf(req->err_msg, sizeof(req->err_msg), fmt, arg);
}

static int http_is_get(const char *method)
{
    return !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
}

/* Reads the optional timeout_ms and retries query values of a job. */
static void http_read_job_params(http_request *req)
{
    char err[256];
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "timeout_ms");
    if (v && params_ms("timeout_ms", v, 1, req->front->cfg.max_timeout_ms, &req->timeout_ms, err,
                       sizeof(err)) < 0) {
        http_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s", err);
        return;
    }
    req->retries = -1;
    v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "retries");
    if (v && params_uint("retries", "retries", v, 0, JOBS_MAX_RETRIES, &req->retries, err,
                         sizeof(err)) < 0) {
        http_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s", err);
        return;
    }
    int wait = 1;
    v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "wait");
    if (v && params_bool("wait", v, &wait, err, sizeof(err)) < 0) {
        http_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s", err);
        return;
    }
    req->detach = !wait;
    v = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Idempotency-Key");
    if (v && !detached_key_valid(v)) {
        http_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s",
                  "Idempotency-Key must be 1..128 printable characters, no spaces");
        return;
    }
    if (v)
        snprintf(req->key, sizeof(req->key), "%s", v);
}

/* Decides what a new request is for, from its method and path. */
static void http_resolve(http_request *req, const char *method, const char *url)
{
    http_front *h = req->front;
    char err[256], q[4 * PARAMS_QUOTE_MAX + 4];
    const int NOT_ALLOWED = -1;
    int allowed = 1, is_result = 0;

    static const struct {
        const char *path;
        http_target target;
    } builtin_gets[] = {
        {"/healthz", TARGET_HEALTHZ},
        {"/v1/queues", TARGET_QUEUES},
        {"/v1/stats", TARGET_STATS},
        {"/v1/delay", TARGET_DELAY},
    };
    for (size_t i = 0; i < sizeof(builtin_gets) / sizeof(builtin_gets[0]); i++)
        if (!strcmp(url, builtin_gets[i].path)) {
            req->target = builtin_gets[i].target;
            allowed = http_is_get(method) ? 1 : NOT_ALLOWED;
            req->allow = "GET, HEAD";
            break;
        }

    if (req->target != TARGET_ERROR) {
        if (req->target == TARGET_DELAY && allowed == 1) {
            const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "ms");
            if (!v)
                http_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s",
                          "ms is required: GET /v1/delay?ms=N");
            else if (params_ms("ms", v, 0, h->cfg.max_timeout_ms, &req->delay_ms, err,
                               sizeof(err)) < 0)
                http_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s", err);
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
            http_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s", err);
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
            http_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s", err);
        else if (allowed == 1)
            http_read_job_params(req);
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
            http_read_job_params(req);
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

/* ---- bearer tokens ------------------------------------------------- */

/* One each: a flood of 401s must not hide the 403s. */
static log_limiter http_unauthorized_limiter, http_forbidden_limiter;

/* The caller's address, for logs. */
static const char *http_peer(struct MHD_Connection *conn, char *buf, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, len, "?");
    if (!ci || !ci->client_addr)
        return buf;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                  (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                  (socklen_t)len);
    return buf;
}

/* The token entry of req's Authorization: Bearer header. Returns it, or
 * NULL with the 401 set on req (counted and logged). */
static const token_entry *http_authenticate(http_request *req)
{
    http_front *h = req->front;
    const char *v =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *reason = "missing";
    const token_entry *e = NULL;
    if (v && !strncasecmp(v, "Bearer ", 7)) {
        v += 7;
        while (*v == ' ')
            v++;
        size_t len = strlen(v);
        while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
            len--;
        e = tokens_find(h->tokens, v, len);
        reason = "unknown_token";
    } else if (v) {
        reason = "not_bearer";
    }
    if (e)
        return e;
    gateway_count(h->gw, STAT_http_unauthorized);
    char peer[INET6_ADDRSTRLEN + 1];
    if (log_limiter_allow(&http_unauthorized_limiter, 5))
        log_warn("event=http_unauthorized reason=%s peer=%s", reason,
                 http_peer(req->conn, peer, sizeof(peer)));
    req->target = TARGET_ERROR;
    req->err_code = HTTP_ERR_UNAUTHORIZED;
    if (!strcmp(reason, "missing") || !strcmp(reason, "not_bearer")) {
        req->challenge = "Bearer realm=\"offload\"";
        snprintf(req->err_msg, sizeof(req->err_msg), "%s",
                 "this gateway needs a token: send Authorization: Bearer TOKEN");
    } else {
        req->challenge = "Bearer realm=\"offload\", error=\"invalid_token\"";
        snprintf(req->err_msg, sizeof(req->err_msg), "%s",
                 "the bearer token is not one of --http-token-file's");
    }
    return NULL;
}

/* 1 when e may use queue; else 0 with the 403 set on req (counted and
 * logged). */
static int http_authorize(http_request *req, const token_entry *e, const char *queue)
{
    if (tokens_allow(e, queue))
        return 1;
    http_front *h = req->front;
    gateway_count(h->gw, STAT_http_forbidden);
    char peer[INET6_ADDRSTRLEN + 1];
    if (log_limiter_allow(&http_forbidden_limiter, 5))
        log_warn("event=http_forbidden queue=%s token_line=%d peer=%s", queue, tokens_line(e),
                 http_peer(req->conn, peer, sizeof(peer)));
    req->target = TARGET_ERROR;
    req->err_code = HTTP_ERR_FORBIDDEN;
    req->challenge = "Bearer realm=\"offload\", error=\"insufficient_scope\"";
    snprintf(req->err_msg, sizeof(req->err_msg),
             "this token may not use queue '%s' (see its line in --http-token-file)", queue);
    return 0;
}

/* The queue a resolved request acts on, for the token check: a job's, or
 * a detached job's (NULL for an unknown one: 404 later), or NULL. */
static const char *http_target_queue(http_request *req)
{
    switch (req->target) {
    case TARGET_JOB:
        return req->queue;
    case TARGET_JOB_STATUS:
    case TARGET_JOB_RESULT:
    case TARGET_JOB_CANCEL: {
        detached_job *d = detached_find(gateway_detached(req->front->gw), req->ref);
        return d ? d->queue : NULL;
    }
    default:
        return NULL;
    }
}

/* http_resolve, behind the token check when tokens are set: /healthz is
 * open, every other path needs a known token (checked first, so a caller
 * without one learns nothing of the routes), and a job, or a detached
 * job's lookup, one allowed its queue. Runs once, when the headers are in;
 * the token's entry is not kept (a reload may free it). Returns 0, or -1
 * with the 401 or 403 set on req. */
static int http_resolve_checked(http_request *req, const char *method, const char *url)
{
    if (!req->front->tokens || !strcmp(url, "/healthz")) {
        http_resolve(req, method, url);
        return 0;
    }
    const token_entry *e = http_authenticate(req);
    if (!e)
        return -1;
    http_resolve(req, method, url);
    const char *queue = http_target_queue(req);
    if (queue && !http_authorize(req, e, queue))
        return -1;
    return 0;
}

/* Answers a request that ended in an error. */
static enum MHD_Result http_answer_error(http_request *req)
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
    if (r && status == MHD_HTTP_SERVICE_UNAVAILABLE) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    return http_send(req->conn, status, r);
}

static enum MHD_Result http_start_job(http_request *req)
{
    gateway *gw = req->front->gw;
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
    http_give_back(req);
    if (!payload)
        return MHD_NO;
    char err[256];
    gw_job *job;
    job_request r = {.queue = req->queue,
                     .function = req->function,
                     .payload = payload,
                     .len = len,
                     .timeout_ms = (uint32_t)req->timeout_ms,
                     .retries = (int)req->retries};
    if (req->detach || req->key[0]) {
        /* Detached (?wait=false), or keyed: the store is the job's caller,
         * so a second call with the key finds it. */
        detached_job *d;
        int existing;
        int code = gateway_submit_detached(gw, &r, req->key, &d, &existing, err, sizeof(err));
        if (code != OFFLOAD__CODE__CODE_OK)
            return http_send_error(
                req, code, err,
                code == OFFLOAD__CODE__CODE_QUEUE_FULL ? gateway_retry_after(gw, req->queue) : 1);
        if (req->detach) {
            struct MHD_Response *resp = http_detached_json(d, 0);
            if (resp && existing)
                MHD_add_response_header(resp, "X-Offload-Idempotent-Replay", "true");
            return http_send(req->conn, MHD_HTTP_ACCEPTED, resp);
        }
        req->ref = d->id;
        http_suspend(req);
        detached_wait(d, &req->waiter, http_detached_ended, req);
        return MHD_YES;
    }
    int code = gateway_submit(gw, &r, http_job_done, req, &job, err, sizeof(err));
    if (code != OFFLOAD__CODE__CODE_OK)
        return http_send_error(
            req, code, err,
            code == OFFLOAD__CODE__CODE_QUEUE_FULL ? gateway_retry_after(gw, req->queue) : 1);
    req->job = job;
    http_suspend(req);
    return MHD_YES;
}

/* 503 queue_full: the body would pass the gateway's memory budget. */
static enum MHD_Result http_answer_over_budget(http_request *req)
{
    return http_send_error(req, OFFLOAD__CODE__CODE_QUEUE_FULL, req->err_msg,
                           gateway_retry_after(req->front->gw, req->queue));
}

/* Takes what the body needs beyond what req holds, to reach total bytes.
 * Returns 0, or -1 when over the budget: req then holds nothing, its body
 * is dropped and its 503 message set. */
static int http_hold(http_request *req, size_t total)
{
    budget *b = gateway_budget(req->front->gw);
    if (total <= req->held)
        return 0;
    if (budget_take(b, total - req->held, "http") == 0) {
        req->held = total;
        return 0;
    }
    budget_refusal(b, total - req->held, req->err_msg, sizeof(req->err_msg));
    req->over_budget = 1;
    http_give_back(req);
    free(req->body);
    req->body = NULL;
    req->len = req->cap = 0;
    return -1;
}

static enum MHD_Result http_answer_too_large(http_request *req)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "the body is over the limit of %lld bytes (--max-payload)",
             req->front->cfg.max_payload);
    return http_send_error(req, OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE, msg, 1);
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

/* Moves c to phase, restarting its clock. Cheap on the request path: the
 * timer moves only when c's deadline comes before the armed one; one that
 * fires early (its connection moved on) finds nothing and re-arms. */
static void http_conn_phase(http_front *h, http_conn *c, http_phase phase)
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

static http_conn *http_conn_of(struct MHD_Connection *conn)
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
            gateway_count(h->gw, STAT_http_read_timeouts);
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

/* GnuTLS's socket I/O for MHD's TLS sessions, as GnuTLS's own does it,
 * counting the bytes moved (http_process). */
static ssize_t http_tls_pull(gnutls_transport_ptr_t fd, void *buf, size_t len)
{
    ssize_t n = recv((int)(intptr_t)fd, buf, len, 0);
    if (n > 0)
        http_activity++;
    return n;
}

static ssize_t http_tls_push(gnutls_transport_ptr_t fd, const void *buf, size_t len)
{
    ssize_t n = send((int)(intptr_t)fd, buf, len, MSG_NOSIGNAL);
    if (n > 0)
        http_activity++;
    return n;
}

static void http_tls_watch(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return;
    gnutls_session_t s = ci->tls_session;
    gnutls_transport_set_pull_function(s, http_tls_pull);
    gnutls_transport_set_push_function(s, http_tls_push);
}

/* Watches c's socket (edge-triggered) until its TLS handshake is done:
 * MHD does not put it in its own epoll set before then (http_process). */
static void http_tls_watch_fd(http_front *h, http_conn *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (ci && epoll_ctl(h->tls_watch_fd, EPOLL_CTL_ADD, ci->connect_fd, &ev) == 0)
        c->tls_fd = ci->connect_fd;
}

static void http_tls_unwatch_fd(http_front *h, http_conn *c)
{
    if (c->tls_fd < 0)
        return;
    epoll_ctl(h->tls_watch_fd, EPOLL_CTL_DEL, c->tls_fd, NULL);
    c->tls_fd = -1;
}

static void http_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                                   enum MHD_ConnectionNotificationCode toe)
{
    http_front *h = cls;
    http_conn *c = *socket_context;
    http_activity++;
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
            c->ip = http_ip_count(h, ci->client_addr, 1);
        c->phase = PHASE_ANSWERING;
        c->tls_fd = -1;
        *socket_context = c;
        if (h->tls_watch_fd >= 0)
            http_tls_watch_fd(h, c);
        http_conn_phase(h, c, PHASE_HEADERS);
    } else {
        /* One closed: a front at MHD's limit accepts again. */
        if (!h->listen_watched && !timer_active(&h->accept_pause))
            http_listen_watch(h, 1);
        if (!c)
            return;
        http_tls_unwatch_fd(h, c);
        http_conn_phase(h, c, PHASE_ANSWERING); /* out of the deadline lists */
        http_ip_put(h, c->ip);
        free(c);
        *socket_context = NULL;
    }
}

/* ---- request framing ------------------------------------------------ */

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

/* Refuses what a proxy in front could read differently (the request
 * smuggling shapes) and bodies this server cannot frame: two different
 * Content-Lengths, Content-Length with Transfer-Encoding, a
 * Transfer-Encoding other than chunked, control characters in the path.
 * Returns 0, or -1 with the error set on req. */
static int http_check_framing(http_request *req, const char *url)
{
    http_lengths l = {0};
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, http_count_length, &l);
    const char *te =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    char shown[64];
    if (l.conflict) {
        http_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s",
                  "two Content-Length headers that differ");
    } else if (te && strcasecmp(te, "chunked") != 0) {
        params_quote(te, shown, sizeof(shown));
        http_fail(req, HTTP_ERR_NOT_IMPLEMENTED,
                  "Transfer-Encoding '%s' is not supported: send the body as it is, or chunked",
                  shown);
    } else if (te && l.count) {
        http_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s",
                  "both Content-Length and Transfer-Encoding: send one");
    } else if (http_path_has_control(url)) {
        http_fail(req, OFFLOAD__CODE__CODE_BAD_REQUEST, "%s", "the path holds a control character");
    } else {
        return 0;
    }
    return -1;
}

/* MHD's unescaping, except that a path or argument with an escaped control
 * character (%00 would cut it short) is left escaped, for
 * http_check_framing and the name checks to refuse. */
static size_t http_unescape(void *cls, struct MHD_Connection *conn, char *uri)
{
    (void)cls;
    (void)conn;
    if (http_path_has_control(uri))
        return strlen(uri);
    return MHD_http_unescape(uri);
}

/* Takes a chunk of req's body: kept, up to --max-payload and the held
 * bytes' budget, or discarded. Returns MHD_NO when out of memory. */
static enum MHD_Result http_take_body(http_request *req, const char *data, size_t n)
{
    http_front *h = req->front;
    if (req->target != TARGET_JOB || req->too_large || req->over_budget)
        return MHD_YES; /* a body nobody reads is discarded */
    if ((long long)(req->len + n) > h->cfg.max_payload) {
        req->too_large = 1;
        http_give_back(req);
        free(req->body);
        req->body = NULL;
        req->len = req->cap = 0;
        return MHD_YES;
    }
    if (http_hold(req, req->len + n) < 0)
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

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    http_front *h = cls;
    gateway *gw = h->gw;
    http_request *req = *con_cls;
    (void)version;
    http_activity++;

    if (!req) {
        req = calloc(1, sizeof(*req));
        if (!req)
            return MHD_NO;
        req->front = h;
        req->conn = conn;
        *con_cls = req;
        http_conn *c = http_conn_of(conn);
        if (c)
            http_tls_unwatch_fd(h, c); /* a request: the handshake is done */
        http_conn_phase(h, c, PHASE_BODY);
        gateway_count(gw, STAT_http_requests);
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
        if (gateway_draining(gw)) {
            req->target = TARGET_ERROR;
            req->err_code = OFFLOAD__CODE__CODE_NO_EXECUTOR;
            snprintf(req->err_msg, sizeof(req->err_msg),
                     "the gateway is shutting down; retry on another gateway");
            return MHD_YES;
        }
        if (http_check_framing(req, url) < 0) {
            /* Answered before any body is read: MHD sends no 100 Continue
             * and closes the connection after the answer. */
            gateway_count(gw, STAT_http_rejected);
            return http_answer_error(req);
        }
        if (http_resolve_checked(req, method, url) < 0)
            return http_answer_error(req); /* 401, 403: before any body is read */
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
                    return http_answer_too_large(req);
            } else if (cl && parse_ll(cl, &n) == 0 && n > 0 && http_hold(req, (size_t)n) < 0) {
                /* The whole body is reserved before it is read; one that
                 * would not fit is refused before it is read. */
                if (waits || HTTP_REFUSE_EARLY)
                    return http_answer_over_budget(req);
            }
        }
        return MHD_YES;
    }

    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        enum MHD_Result ret = http_take_body(req, upload_data, n);
        if (ret == MHD_YES)
            http_spend(req, n);
        return ret;
    }
    http_conn_phase(h, http_conn_of(conn), PHASE_ANSWERING);

    if (req->response) {
        struct MHD_Response *r = req->response;
        req->response = NULL;
        return http_send(conn, req->status, r);
    }

    switch (req->target) {
    case TARGET_ERROR:
        return http_answer_error(req);
    case TARGET_HEALTHZ: {
        static const char ok[] = "{\"status\":\"ok\"}";
        struct MHD_Response *r =
            MHD_create_response_from_buffer(sizeof(ok) - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
        if (r)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        return http_send(conn, MHD_HTTP_OK, r);
    }
    case TARGET_QUEUES:
        return http_send(conn, MHD_HTTP_OK, http_json_text(gateway_queues_json(gw)));
    case TARGET_STATS:
        return http_send(conn, MHD_HTTP_OK, http_stats_json(gw));
    case TARGET_DELAY:
        if (loop_timer_start(h->loop, &req->delay, clock_now_us() + (uint64_t)req->delay_ms * 1000,
                             http_delay_done, req) < 0)
            return MHD_NO;
        http_suspend(req);
        return MHD_YES;
    case TARGET_JOB:
        if (req->too_large)
            return http_answer_too_large(req);
        if (req->over_budget)
            return http_answer_over_budget(req);
        return http_start_job(req);
    case TARGET_JOB_STATUS:
    case TARGET_JOB_RESULT:
    case TARGET_JOB_CANCEL:
        return http_job_ref(req);
    }
    return MHD_NO;
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    http_front *h = cls;
    http_request *req = *con_cls;
    (void)toe;
    http_activity++;
    http_conn *c = http_conn_of(conn);
    if (c && c->phase == PHASE_ANSWERING)
        http_conn_phase(h, c, PHASE_HEADERS); /* the next request's */
    if (!req)
        return;
    if (req->parked)
        DL_DELETE2(h->parked, req, park_prev, park_next);
    if (req->job)
        gateway_detach(h->gw, req->job);
    detached_unwait(&req->waiter);
    loop_timer_stop(h->loop, &req->delay);
    if (req->response)
        MHD_destroy_response(req->response);
    http_give_back(req);
    free(req->body);
    free(req);
    *con_cls = NULL;
}

/* ---- life cycle ------------------------------------------------------ */

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

/* MHD's own limit, past which it resets new connections: above
 * --max-connections, so that the connections between the two are answered
 * 503 too_many_connections instead. */
static unsigned http_hard_limit(long long max_connections)
{
    long long slack = max_connections / 8 > 64 ? max_connections / 8 : 64;
    return (unsigned)(max_connections + slack);
}

/* Descriptors kept out of HTTP's reach: ZeroMQ's sockets, its I/O thread,
 * executors and clients connecting, logs. */
#define HTTP_FD_RESERVE 256

/* Raises the open-file limit toward what want connections need, and
 * returns how many HTTP connections fit in it while HTTP_FD_RESERVE stay
 * free (want, or fewer when the hard limit does not allow it). */
static long long http_raise_nofile(long long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    rlim_t need = (rlim_t)want + HTTP_FD_RESERVE;
    if (rl.rlim_cur < need) {
        rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= need)
        return want;
    long long fit = (long long)rl.rlim_cur - HTTP_FD_RESERVE;
    return fit > 16 ? fit : 16;
}

/* Opens the listening socket on ss (non-blocking), as MHD would: SO_REUSEADDR,
 * IPv6 only on an IPv6 address. Returns the fd, or -1 with errno set. */
static int http_listen_socket(const struct sockaddr_storage *ss)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    socklen_t len =
        ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, HTTP_LISTEN_BACKLOG) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Parses the --route table into h->routes and declares the queues its job
 * routes name. Returns 0 or -1 with err set. */
static int http_load_routes(http_front *h, char *err, size_t errlen)
{
    const flag_list *routes = h->cfg.routes;
    for (size_t i = 0; routes && i < routes->count; i++) {
        if (route_table_add(&h->routes, routes->items[i], err, errlen) < 0)
            return -1;
        const route *r = &h->routes.routes[h->routes.count - 1];
        if (r->kind == ROUTE_JOB && gateway_declare_queue(h->gw, r->queue) < 0) {
            snprintf(err, errlen, "--route '%.100s': too many queues", routes->items[i]);
            return -1;
        }
    }
    return 0;
}

/* Warns when the listener reaches past loopback without a token file (anyone
 * who reaches it can run jobs), or with tokens but no TLS (the tokens
 * travel in the clear). */
static void http_warn_exposed(const http_front *h, const char *host)
{
    int loopback = !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1");
    log_info("event=http_security tls=%s tokens=%zu", h->tls_cert ? "on" : "off",
             tokens_count(h->tokens));
    if (loopback)
        return;
    if (!h->tokens)
        log_warn("event=http_open listen=%s msg=\"HTTP is bound past loopback without "
                 "--http-token-file: anyone who reaches it can run jobs\"",
                 h->cfg.listen);
    else if (!h->tls_cert)
        log_warn("event=http_cleartext listen=%s msg=\"bearer tokens without --tls-cert travel in "
                 "the clear past loopback\"",
                 h->cfg.listen);
}

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

/* Frees a front that never started serving. */
static void http_free(http_front *h)
{
    if (h->daemon)
        MHD_stop_daemon(h->daemon); /* notifies every connection closed */
    loop_timer_stop(h->loop, &h->read_deadline);
    loop_timer_stop(h->loop, &h->accept_pause);
    while (h->hellos)
        http_hello_end(h, h->hellos, 0);
    loop_timer_stop(h->loop, &h->hello_deadline);
    if (h->hello_fd >= 0)
        close(h->hello_fd);
    http_ip *ip, *tmp;
    HASH_ITER(hh, h->ips, ip, tmp)
    {
        HASH_DEL(h->ips, ip);
        free(ip);
    }
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

/* Reads --http-token-file into *out. Returns 0, or -1 with err set. */
static int http_load_tokens(const char *path, token_table **out, char *err, size_t errlen)
{
    char why[384];
    int loose;
    token_table *t = tokens_load(path, &loose, why, sizeof(why));
    if (!t) {
        snprintf(err, errlen, "--http-token-file %s", why);
        return -1;
    }
    if (loose)
        log_warn("event=http_token_file_readable file=%s msg=\"group or others may read the "
                 "token file: chmod 600 it\"",
                 path);
    log_info("event=http_tokens_loaded file=%s tokens=%zu", path, tokens_count(t));
    *out = t;
    return 0;
}

int http_reload_tokens(http_front *h)
{
    char err[512];
    token_table *t;
    if (!h || !h->cfg.token_file)
        return 0;
    if (http_load_tokens(h->cfg.token_file, &t, err, sizeof(err)) < 0) {
        log_error("event=http_tokens_reload_failed error=\"%s\" msg=\"the tokens loaded before "
                  "stay in force\"",
                  err);
        return -1;
    }
    tokens_free(&h->tokens);
    h->tokens = t;
    return 0;
}

/* Reads a PEM file (--tls-cert, --tls-key) into a malloc'd string. Returns
 * it, or NULL with err set. */
static char *http_read_pem(const char *flag, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *text = NULL;
    if (fd < 0) {
        snprintf(err, errlen, "--%s '%s': cannot open: %s", flag, path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > HTTP_PEM_MAX) {
        snprintf(err, errlen, "--%s '%s': not a regular file of at most %d bytes", flag, path,
                 HTTP_PEM_MAX);
        goto out;
    }
    text = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (text && got < (size_t)st.st_size) {
        ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (!text || got != (size_t)st.st_size) {
        snprintf(err, errlen, "--%s '%s': cannot read: %s", flag, path,
                 text ? strerror(errno) : "out of memory");
        free(text);
        text = NULL;
        goto out;
    }
    text[got] = '\0';
    if (!strstr(text, "-----BEGIN ")) {
        snprintf(err, errlen, "--%s '%s': not a PEM file (no -----BEGIN line)", flag, path);
        free(text);
        text = NULL;
    }
out:
    close(fd);
    return text;
}

/* Reads --tls-cert and --tls-key and checks with GnuTLS (the library MHD
 * serves TLS with) that they are a certificate and its key, so a bad pair
 * is a clear error at start, not a failed handshake later. Returns 0 or
 * -1 with err set. */
static int http_load_tls(http_front *h, char *err, size_t errlen)
{
    const http_config *cfg = &h->cfg;
    if (!cfg->tls_cert && !cfg->tls_key)
        return 0;
    if (!cfg->tls_cert || !cfg->tls_key) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together: give both, or neither");
        return -1;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, errlen, "this libmicrohttpd was built without TLS: --tls-cert cannot work");
        return -1;
    }
    h->tls_cert = http_read_pem("tls-cert", cfg->tls_cert, err, errlen);
    if (!h->tls_cert)
        return -1;
    h->tls_key = http_read_pem("tls-key", cfg->tls_key, err, errlen);
    if (!h->tls_key)
        return -1;
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    gnutls_datum_t cert = {(unsigned char *)h->tls_cert, (unsigned)strlen(h->tls_cert)};
    gnutls_datum_t key = {(unsigned char *)h->tls_key, (unsigned)strlen(h->tls_key)};
    int rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
    gnutls_certificate_free_credentials(cred);
    if (rc < 0) {
        snprintf(err, errlen,
                 "--tls-cert '%s' and --tls-key '%s': %s (want a PEM certificate and its "
                 "unencrypted PEM private key)",
                 cfg->tls_cert, cfg->tls_key, gnutls_strerror(rc));
        return -1;
    }
    return 0;
}

http_front *http_start(gateway *gw, loop *l, const http_config *cfg, char *bound, size_t boundlen,
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
    h->gw = gw;
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
    if (http_load_routes(h, err, errlen) < 0)
        goto err;
    if (cfg->token_file && http_load_tokens(cfg->token_file, &h->tokens, err, errlen) < 0)
        goto err;
    if (http_load_tls(h, err, errlen) < 0)
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
    long long hard = http_hard_limit(cfg->max_connections);
    long long fit = http_raise_nofile(hard);
    if (fit < hard) {
        /* The open-file limit cannot hold --max-connections: cap HTTP so
         * that ZeroMQ, executors and clients always find a descriptor. */
        long long soft = fit - fit / 9;
        log_warn("event=nofile_low limit=%lld max_connections=%lld capped_to=%lld "
                 "msg=\"the open-file limit (ulimit -n) cannot hold --max-connections %lld: HTTP "
                 "is capped at %lld connections (%lld answered), keeping %d descriptors for "
                 "ZeroMQ; raise ulimit -n to %lld\"",
                 fit + HTTP_FD_RESERVE, cfg->max_connections, soft, cfg->max_connections, fit, soft,
                 HTTP_FD_RESERVE, hard + HTTP_FD_RESERVE);
        hard = fit;
        h->cfg.max_connections = soft > 1 ? soft : 1;
    }
    h->hard_limit = (unsigned)hard;
    h->turn_accepts = (unsigned)(cfg->turn_accepts > 0 ? cfg->turn_accepts
                                 : h->tls_cert         ? HTTP_TLS_TURN_ACCEPTS
                                                       : HTTP_TURN_ACCEPTS);
    h->accept_allow = h->turn_accepts;
    h->listen_fd = http_listen_socket(&ss);
    if (h->listen_fd < 0) {
        snprintf(err, errlen, "cannot listen for HTTP on '%s': %s (is the port in use?)", listen,
                 strerror(errno));
        goto err;
    }
    /* No listening socket in MHD: the front accepts (http_accept). */
    h->daemon = MHD_start_daemon(
        flags | MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, http_handler, h,
        MHD_OPTION_EXTERNAL_LOGGER, http_library_log, NULL, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)hard, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONNECTION_TIMEOUT_S,
        MHD_OPTION_NOTIFY_COMPLETED, http_completed, h, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)cfg->max_connections_per_ip, MHD_OPTION_UNESCAPE_CALLBACK, http_unescape, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, http_notify_connection, h, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(err, errlen, "cannot start HTTP on '%s': %s%s", listen,
                 strerror(errno ? errno : EINVAL),
                 h->tls_cert ? " (did TLS fail to start? see event=http_library above)" : "");
        goto err;
    }
    http_listen_watch(h, 1);
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
    http_warn_exposed(h, host);
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
        gateway_count(h->gw, STAT_callers_gone);
        log_debug("event=caller_gone job_id=%llu",
                  (unsigned long long)(req->job ? gateway_job_id(req->job) : 0));
        if (req->job) {
            gateway_detach(h->gw, req->job);
            req->job = NULL;
        }
        detached_unwait(&req->waiter); /* a detached job runs on without it */
        loop_timer_stop(h->loop, &req->delay);
        /* Nobody reads this answer: resuming lets MHD see the closed socket
         * and end the request. */
        unsigned status;
        http_resume(
            req, 0,
            http_error(OFFLOAD__CODE__CODE_CANCELLED, "the caller went away", 0, 1, &status));
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
/* After a turn's HTTP work: a new connection costs its first read, its
 * answer and often its close in that turn's MHD_run (100-250 us for a 503
 * refused before a 1 MiB body: the kernel frees what the client had
 * already sent), which --turn-budget-us cannot stop once MHD has it. So a
 * turn whose HTTP work took over 4 times the time budget while it gave MHD
 * new connections halves what the next turn gives (at least one), and a
 * turn under twice the budget doubles it again, up to --turn-accepts: a
 * burst of 2,000 uploads made turns of 15-20 ms at 64 a turn. */
static void http_accept_adapt(http_front *h)
{
    uint64_t spent = clock_now_us() - h->turn_start_us, budget = h->loop->budget_us;
    if (spent > 4 * budget && h->accepted > 1)
        h->accept_allow = h->accepted / 2;
    else if (spent < 2 * budget && h->accept_allow < h->turn_accepts)
        h->accept_allow =
            h->accept_allow * 2 < h->turn_accepts ? h->accept_allow * 2 : h->turn_accepts;
    h->accepted = 0;
}

static void http_process(void *arg)
{
    http_front *h = arg;
    h->turn_start_us = clock_now_us();
    loop_budget_start(h->loop, &h->turn);
    http_accept(h);
    if (!h->tls_cert) {
        http_run(h); /* MHD_get_timeout is right without TLS */
        http_accept_adapt(h);
        return;
    }
    if (h->stalled && !h->kick && !h->parked && clock_now_us() < h->stall_until_us)
        return;
    uint64_t before = http_activity;
    h->kick = 0;
    http_run(h);
    http_accept_adapt(h);
    MHD_UNSIGNED_LONG_LONG ms;
    h->stalled = http_activity == before && MHD_get_timeout(h->daemon, &ms) == MHD_YES && ms == 0;
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
    http_listen_watch(h, 0);
    loop_timer_stop(h->loop, &h->accept_pause);
    if (h->listen_fd >= 0)
        close(h->listen_fd); /* the backlog's connections are reset */
    h->listen_fd = -1;
    h->quiesced = 1;
}

int http_pending(const http_front *h)
{
    return h && h->suspended;
}

/* Detaches every suspended request from its job or timer and resumes it
 * with a 503 (answer) or with nothing (MHD then closes it). */
static void http_resume_all(http_front *h, int answer)
{
    while (h->suspended) {
        http_request *req = h->suspended;
        if (req->job) {
            gateway_detach(h->gw, req->job);
            req->job = NULL;
        }
        detached_unwait(&req->waiter); /* a detached job runs on without it */
        loop_timer_stop(h->loop, &req->delay);
        unsigned status = 0;
        struct MHD_Response *r = NULL;
        if (answer)
            r = http_error(OFFLOAD__CODE__CODE_NO_EXECUTOR, "the gateway is shutting down", 0, 1,
                           &status);
        http_resume(req, status, r);
    }
}

void http_shutdown(http_front *h)
{
    if (!h)
        return;
    http_quiesce(h);
    http_resume_all(h, 1);
    h->unbounded = 1;
    http_unpark(h, SIZE_MAX);
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
    h->unbounded = 1;
    http_unpark(h, SIZE_MAX);
    http_free(h);
    *hp = NULL;
}
