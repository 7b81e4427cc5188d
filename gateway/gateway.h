/* gateway.h -- the gateway: wires the loop, the executor protocol, the job
 * life cycle and the two fronts (HTTP, the clients socket) together, and is
 * the core API the fronts call.
 *
 *   loop.c       (common/) poll sources, timers, signals, end-of-turn hooks
 *   executors.c  the executor protocol and the fleet (fleet.c)
 *   jobs.c       every job from submit to its one answer (queue.c, dispatch.c)
 *   http.c       the HTTP front (libmicrohttpd), routes.c, params.c
 *   clients.c    the liboffload front (Submit / Reply on ZeroMQ)
 *
 * The fronts reach the core only through the functions below (submit,
 * detach, snapshots, counters, draining), never through its structs.
 * Everything runs on the loop's one thread: no locks. */
#ifndef OFFLOAD_GATEWAY_H
#define OFFLOAD_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "clients.h"
#include "detached.h"
#include "executors.h"
#include "flags.h"
#include "jobs.h"
#include "loop.h"
#include "queue.h"
#include "stats.h"
#include "zap.h"

typedef struct gateway_config {
    char *http;      /* HOST:PORT */
    char *executors; /* ZeroMQ bind endpoint for executors */
    char *clients;   /* ZeroMQ bind endpoint for client-library callers */
    char *id;        /* gateway id, for logs and Welcome */
    char *log_level;
    char *config;          /* the --config file (read by flags_parse) */
    char *curve_key;       /* --curve-key PATH.key: both sockets are CURVE servers */
    char *curve_allow;     /* --curve-allow DIR: the *.pub files admitted */
    flag_list routes;      /* --route values */
    flag_list queues;      /* --queue values: queues known from the start */
    long long max_payload; /* bytes */
    long long default_timeout_ms;
    long long max_timeout_ms;
    long long max_connections;
    long long max_connections_per_ip;
    long long header_timeout_ms, body_timeout_ms;
    long long max_waiting;      /* per queue */
    long long default_retries;  /* for jobs whose caller sets none */
    long long drain_timeout_ms; /* on SIGTERM, how long requests may finish */
    long long heartbeat_ms;
    long long liveness;
    long long ready_fd;         /* -1: none */
    long long result_ttl_ms;    /* a detached job's outcome is kept this long */
    long long result_max_bytes; /* outcomes kept, in bytes */
    long long max_detached;     /* detached jobs kept at once */
    long long max_executors;    /* registered at once */
    long long max_queues;       /* queues known at once, pinned or not */
    long long max_functions;    /* per Hello, over all its queues */
    long long max_silence_ms;   /* heartbeat_ms x liveness a Hello may ask for */
    long long max_clients;      /* clients-socket identities with calls in flight,
                                   and long-polls waiting, each */
    char *http_token_file;      /* bearer tokens, re-read on SIGHUP; NULL: none */
    char *tls_cert, *tls_key;   /* PEM files for HTTPS; NULL: plain HTTP */
    long long max_frame;        /* largest frame from an executor; 0: see gw_exec_frame_max */
    long long max_held_bytes;   /* payload bytes held at once (budget.h); 0: no bound */
    long long turn_budget_us;   /* work one source may do in one loop turn */
    long long turn_budget_bytes;
    long long turn_accepts; /* new HTTP connections per loop turn; 0: 64, or 2 with TLS */
} gateway_config;

struct http_front;

typedef struct gateway {
    const gateway_config *cfg;
    loop loop;
    void *zctx;
    void *exec_sock;                     /* ROUTER, bound: executors connect */
    void *client_sock;                   /* ROUTER, bound: liboffload callers connect */
    void *exec_monitor, *client_monitor; /* with CURVE: handshake failures */
    char curve_secret[KEYS_Z85_LEN + 1]; /* "" without CURVE */
    zap zap;                             /* the allow-list (with CURVE) */
    char exec_endpoint[256], client_endpoint[256], http_endpoint[128];
    queue_table queues;
    jobs jobs;
    detached detached; /* jobs nobody waits on (?wait=false, Idempotency-Key) */
    executors executors;
    clients clients;
    struct http_front *http;
    gateway_stats stats;
    budget budget;           /* payload bytes held, against --max-held-bytes */
    gw_timer trim_timer;     /* every second: gw_trim */
    uint64_t trim_rss_mark;  /* RSS after the last trim (or the lowest since) */
    uint64_t trim_free_mark; /* free heap bytes then (mallinfo2; or the lowest since) */
    uint64_t trim_busy_mark; /* loop.stats.busy_us at the last gw_trim */
    unsigned trim_defers;    /* busy seconds the trim waited through */
    uint64_t trims;          /* heap trims done (/v1/stats heap_trims) */
    uint64_t trim_us;        /* their time together (heap_trim_us) */
    int draining;            /* a signal arrived: finish what runs, take nothing new */
    gw_timer drain_timer;
    uint64_t started_us;
} gateway;

/* Checks cfg (which must outlive gw), binds every socket and the HTTP
 * listener. Returns 0, or -1 with err saying what failed and what to do;
 * gw then holds nothing. */
int gateway_init(gateway *gw, const gateway_config *cfg, char *err, size_t errlen);

/* Runs the loop until SIGINT or SIGTERM and a drain (SIGHUP re-reads
 * --http-token-file): requests in progress
 * finish for up to --drain-timeout, the rest are answered 503. Returns 0,
 * or -1 if the loop failed. */
int gateway_run(gateway *gw);

/* SIGHUP: reads the configuration that may change while running again:
 * the --curve-allow directory (executors whose key was removed, or may no
 * longer serve a queue they declared, are dropped) and the
 * --http-token-file. A file that fails to read keeps what was loaded. */
void gateway_reload(gateway *gw);

/* Answers every job left, says Goodbye to the executors, frees everything
 * gateway_init made. */
void gateway_close(gateway *gw);

/* ---- the core API for the fronts ------------------------------------ */

/* Submits a job (see jobs_submit: takes r->payload in every case; on 0
 * (CODE_OK) done is called exactly once, later, unless gateway_detach comes
 * first). While the gateway drains, refuses with no_executor. */
int gateway_submit(gateway *gw, job_request *r, job_done_fn done, void *arg, gw_job **out,
                   char *err, size_t errlen);

/* The caller of job went away: done will not be called. */
void gateway_detach(gateway *gw, gw_job *job);

/* Detached jobs (detached.h): a submit that nobody waits on, and its
 * lookups. gateway_submit_detached refuses with no_executor while the
 * gateway drains, like gateway_submit. */
int gateway_submit_detached(gateway *gw, job_request *r, const char *key, detached_job **out,
                            int *existing, char *err, size_t errlen);
detached *gateway_detached(gateway *gw);

/* The byte budget (budget.h): a front takes what it is about to hold (an
 * HTTP body as it is received) and gives it back once it frees it or hands
 * it to gateway_submit, which takes it again for the job. */
budget *gateway_budget(gateway *gw);

/* The job's id (for logs and headers). */
uint64_t gateway_job_id(const gw_job *job);

/* The Retry-After, in seconds, for a caller refused by a full queue. */
unsigned gateway_retry_after(gateway *gw, const char *queue);

/* Makes queue name known for good (a --route names it: pinned, never
 * freed). Returns 0, or -1 when the name is invalid or too many queues
 * exist (--max-queues). */
int gateway_declare_queue(gateway *gw, const char *name);

/* True once a signal started the drain: fronts take no new work. */
int gateway_draining(const gateway *gw);

/* Counts one event a front saw. */
void gateway_count(gateway *gw, gateway_counter c);

/* One queue, as GET /v1/queues shows it. */
typedef struct queue_info {
    char name[CODEC_NAME_MAX + 1];
    uint32_t capacity, busy, available, executors;
    const char *kind; /* its executors' pools: "threads", "processes", "mixed",
                         or NULL (none) */
    uint64_t waiting, submitted, completed, failed, timeouts, rejected;
    uint64_t max_payload; /* the largest payload one of its executors takes
                             (Hello.max_payload, at most --max-payload); 0: none */
} queue_info;

/* A copy of every queue's numbers: *out (malloc'd, the caller frees it)
 * holds *count entries. Returns 0 or -ENOMEM. */
int gateway_queues(gateway *gw, queue_info **out, size_t *count);

/* GET /v1/queues's JSON document ({"queues": [...]}), compact, malloc'd
 * (the caller frees it); NULL when out of memory. The clients socket's
 * ListQueues answers the same. */
char *gateway_queues_json(gateway *gw);

/* The gateway as GET /v1/stats shows it. */
typedef struct gateway_status {
    const char *id;
    uint64_t uptime_ms;
    size_t executors;
    size_t jobs_in_flight;
    uint64_t held_bytes, held_bytes_peak, max_held_bytes; /* budget.h */
    uint64_t loop_turn_max_us;                            /* the longest loop turn, wall time */
    uint64_t loop_turn_max_cpu_us;                        /* the most CPU time one turn took */
    uint64_t loop_stall_max_ms;                           /* the longest stall (loop_stalls) */
    uint64_t loop_read_max_bytes;                         /* the most one socket gave in one turn */
    gateway_stats counters;                               /* the loop_* ones filled from the loop */
} gateway_status;

void gateway_status_get(gateway *gw, gateway_status *out);

#endif
