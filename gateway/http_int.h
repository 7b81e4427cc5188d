/* http_int.h -- the HTTP front's private state, shared by its modules and
 * by nothing outside them: the front (struct http_front), a request
 * (struct http_request), an MHD connection's read deadline (http_conn) and
 * the route errors. Data only: declares no module's functions. The
 * modules, one role each, lowest layer first:
 *
 *   http_config.h  the configuration (data only; http.h's too)
 *   http_int.h     this state (includes http_config.h)
 *   http_suspend.c suspending and resuming requests, the activity count
 *   http_ui.c      the dashboard's files (/ui), compiled in from gateway/ui/
 *   http_tls.c     the certificate and key, GnuTLS's I/O, the handshakes
 *                  (uses http_suspend: the activity count)
 *   http_accept.c  the listening socket, the connections waiting for their
 *                  first bytes (hellos), the per-address counts, the
 *                  connection limits
 *   http_read.c    framing, read deadlines, the body and its budgets, the
 *                  error a request is answered with
 *   http_route.c   a request's method and path to what it is for (uses
 *                  http_read)
 *   http_auth.c    bearer tokens: loading, 401 and 403 (uses http_route)
 *   http_metrics.c GET /metrics: the Prometheus text of the core's numbers,
 *                  its cache
 *   http_status.c  the JSON of the read-only routes: /v1/stats, /v1/failures,
 *                  the dashboard's snapshot
 *   http_events.c  GET /v1/events: the snapshot stream (uses http_status)
 *   http_reply.c   responses, JSON errors, job outcomes, detached jobs
 *                  (uses http_read, http_suspend, http_ui, http_status,
 *                  http_events)
 *   http.c         the life cycle (start, attach, quiesce, shutdown, stop),
 *                  the loop's and MHD's callbacks (uses them all)
 *
 * Each module's header includes this one; a module includes only the
 * headers of modules listed before it, so the graph has no cycle
 * (scripts/check_layout.py) and no module calls into http.c. Loop thread
 * only. */
#ifndef OFFLOAD_HTTP_INT_H
#define OFFLOAD_HTTP_INT_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "http_config.h"
#include "routes.h"
#include "tokens.h"

/* Route errors, which have no Offload__Code, in http_request.err_code. */
#define HTTP_ERR_UNKNOWN_ROUTE (-404)
#define HTTP_ERR_NOT_ALLOWED (-405)
#define HTTP_ERR_TOO_MANY_CONNECTIONS (-503)
#define HTTP_ERR_NOT_IMPLEMENTED (-501)
#define HTTP_ERR_UNAUTHORIZED (-401)
#define HTTP_ERR_FORBIDDEN (-403)
#define HTTP_ERR_TOO_MANY_STREAMS (-5031) /* 503: --max-event-streams */

typedef enum http_target {
    TARGET_ERROR, /* answer with the error set on the request */
    TARGET_HEALTHZ,
    TARGET_READYZ,
    TARGET_QUEUES,
    TARGET_STATS,
    TARGET_METRICS,    /* GET /metrics */
    TARGET_DELAY,      /* GET /v1/delay or a delay: route */
    TARGET_JOB,        /* POST /v1/jobs/... or a job: route */
    TARGET_JOB_STATUS, /* GET /v1/jobs/ID */
    TARGET_JOB_RESULT, /* GET /v1/jobs/ID/result */
    TARGET_JOB_CANCEL, /* DELETE /v1/jobs/ID */
    TARGET_UI,         /* GET /ui, /ui/app.js, ...: http_request.asset */
    TARGET_EVENTS,     /* GET /v1/events */
    TARGET_FAILURES,   /* GET /v1/failures */
} http_target;

typedef struct http_front http_front; /* as in http.h */
typedef struct http_request http_request;
typedef struct http_ip http_ip;             /* http_accept.c's */
typedef struct http_hello http_hello;       /* http_accept.c's */
typedef struct http_stream http_stream;     /* http_events.c's */
typedef struct http_snapshot http_snapshot; /* http_events.c's */

/* A connection's read deadline: its request's headers must arrive within
 * --header-timeout-ms of its start or of its previous answer, its body
 * within --body-timeout-ms of its headers (a slowloris is closed, however
 * slowly it trickles). Answering has no deadline here (the job's own). */
typedef enum http_phase { PHASE_HEADERS, PHASE_BODY, PHASE_ANSWERING } http_phase;

typedef struct http_conn {
    struct MHD_Connection *conn;
    http_ip *ip; /* counted there; NULL without a per-address limit */
    http_phase phase;
    uint64_t since_us;
    struct http_conn *prev, *next; /* in its phase's list, oldest first */
    int tls_fd;                    /* its socket in front->tls_watch_fd (TLS handshake), or -1 */
} http_conn;

struct http_front {
    gw_core *core;
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

    /* GET /metrics (http_metrics.c): the last answer, ours (one reference),
     * queued again to every scrape within --metrics-cache-ms of when it
     * was rendered. */
    struct MHD_Response *metrics_body;
    uint64_t metrics_at_us;
    http_stream *streams;    /* open GET /v1/events streams (http_events.c) */
    unsigned nstreams;
    gw_timer events_tick;  /* every second while streams are open: a snapshot */
    http_snapshot *latest; /* the newest snapshot, while streams are open */
    uint64_t snapshot_seq; /* snapshots made: each one's id */
};

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
    trace_ctx trace;                /* a job's, from its traceparent and tracestate headers */
    uint64_t ref;                   /* the job a /v1/jobs/ID request names */
    long long wait_ms;              /* GET .../result?wait_ms= */
    detached_waiter waiter;         /* while waiting on a detached job */
    int is_suspended;
    int parked;                          /* suspended until a next turn: see http_park */
    size_t park_bytes;                   /* the chunk it last gave, for http_read_unpark */
    http_request *park_prev, *park_next; /* front->parked list */
    int watch_fd;                        /* its socket in front->watch_fd, or -1 */
    http_request *prev, *next;           /* front->suspended list */
    struct MHD_Response *response;       /* set when the answer is ready */
    int resumed; /* http_suspend_resume gave the answer: response, or NULL (out of
                    memory, a front stopping) to close the connection unanswered */
    unsigned status;
    /* An error found while reading the request, answered at its end. */
    int err_code;
    char err_msg[256];
    const char *allow;     /* Allow header for 405 */
    char allow_buf[64];    /* its text, for user routes */
    const char *challenge; /* WWW-Authenticate header for 401 and 403 */
    int detail;            /* /readyz may name queues: no --http-token-file, or a known token */
    int asset;             /* TARGET_UI: which file (http_ui.c) */
    http_stream *stream;   /* TARGET_EVENTS, once its stream is open */
};

#endif
