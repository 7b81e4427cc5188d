/* gateway.h -- the gateway's event loop and the state it owns.
 *
 * One thread runs gateway_run: a zmq_poll over the executors socket, the
 * clients socket, libmicrohttpd's epoll fd, a timerfd armed for the timer
 * heap's earliest timer, and a signalfd. Everything below is touched only by that
 * thread: no locks on the hot path. */
#ifndef OFFLOAD_GATEWAY_H
#define OFFLOAD_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "flags.h"
#include "fleet.h"
#include "queue.h"
#include "routes.h"
#include "timers.h"

typedef struct gateway_config {
    char *http;               /* HOST:PORT */
    char *executors;          /* ZeroMQ bind endpoint for executors */
    char *clients;            /* ZeroMQ bind endpoint for client-library callers */
    char *id;                 /* gateway id, for logs and Welcome */
    char *log_level;
    char *config;             /* the --config file (read by flags_parse) */
    flag_list routes;         /* --route values */
    flag_list queues;         /* --queue values: queues known from the start */
    long long max_payload;    /* bytes */
    long long default_timeout_ms;
    long long max_timeout_ms;
    long long max_connections;
    long long max_waiting;    /* per queue */
    long long default_retries; /* for jobs whose caller sets none */
    long long drain_timeout_ms; /* on SIGTERM, how long requests may finish */
    long long heartbeat_ms;
    long long liveness;
    long long ready_fd;       /* -1: none */
} gateway_config;

/* Counters of things that went wrong, for logs and GET /v1/stats. */
typedef struct gateway_stats {
    uint64_t frames_bad;        /* undecodable or invalid frames, both sockets */
    uint64_t frames_version;    /* frames in another protocol version */
    uint64_t frames_unexpected; /* valid frames that make no sense here */
    uint64_t results_unknown;   /* results for jobs we do not know */
    uint64_t results_late;      /* results for jobs already answered */
    uint64_t executors_lost;    /* executors declared dead */
    uint64_t jobs_lost;         /* jobs answered executor_lost */
    uint64_t jobs_retried;      /* jobs sent again after their executor was lost */
    uint64_t send_failures;     /* sends that failed (peer gone, queue full) */
    uint64_t callers_gone;      /* HTTP callers that hung up while waiting */
    uint64_t http_requests;
    uint64_t client_requests;
} gateway_stats;

struct http_front;

typedef struct gateway {
    const gateway_config *cfg;
    void *zctx;
    void *exec_sock;   /* ROUTER, bound: executors connect */
    void *client_sock; /* ROUTER, bound: liboffload callers connect */
    char exec_endpoint[256], client_endpoint[256], http_endpoint[128];
    struct http_front *http;
    timers timers;
    queue_table queues;
    fleet fleet;
    gw_job *jobs; /* jobs sent to an executor, by id (uthash) */
    route_table routes;
    uint64_t next_job_id;
    gw_timer tick; /* heartbeats and liveness */
    struct gw_executor *unreachable; /* set by a failed job send */
    int signal_fd;
    int timer_fd;            /* armed for the earliest timer */
    uint64_t timer_armed_us; /* what timer_fd is armed for; 0: disarmed */
    int draining;            /* a signal arrived: finish what runs, take nothing new */
    gw_timer drain_timer;
    int stopping;
    uint64_t started_us;
    gateway_stats stats;
} gateway;

/* Binds every socket and the HTTP listener, from cfg (which must outlive
 * gw). Returns 0, or -1 with err saying what failed and what to do. */
int gateway_init(gateway *gw, const gateway_config *cfg, char *err, size_t errlen);

/* Runs the loop until SIGINT or SIGTERM and a drain (see gw_on_signals):
 * requests in progress finish for up to --drain-timeout, the rest are
 * answered 503. Returns 0. */
int gateway_run(gateway *gw);

/* Frees everything gateway_init made. */
void gateway_close(gateway *gw);

#define GATEWAY_MAX_RETRIES 100

/* Creates a job and queues it (sending it at once if an executor has a free
 * slot). Takes *payload (NULLs it) in every case. timeout_ms 0 means the
 * default; retries < 0 means --default-retries: how many times the job may
 * be sent again when its executor is lost before its deadline (at least
 * once with retries, at most once without). On CODE_OK (0), done(arg) will
 * be called exactly once with the
 * outcome -- never from inside this call -- unless gateway_detach comes
 * first; *out is the job. Otherwise returns the Offload__Code that refused
 * it (unknown_queue, unknown_function, queue_full, bad_request) with err
 * set, and done is never called. */
int gateway_submit(gateway *gw, const char *queue, const char *function, uint8_t **payload,
                   size_t len, uint32_t timeout_ms, int retries, job_done_fn done, void *arg,
                   gw_job **out, char *err, size_t errlen);

/* The Retry-After, in seconds, for a caller refused by queue (full). */
unsigned gateway_retry_after(gateway *gw, const char *queue);

/* The caller of job went away: done will not be called. A waiting job leaves
 * its queue; a running one is cancelled on its executor. */
void gateway_detach(gateway *gw, gw_job *job);

#endif
