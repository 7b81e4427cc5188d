/* config.h -- the gateway's configuration: every flag main.c parses, as
 * the core (core.h), the fronts and the wiring (gateway.h) read it. Plain
 * data; whoever fills it keeps it alive while the gateway runs. */
#ifndef OFFLOAD_GW_CONFIG_H
#define OFFLOAD_GW_CONFIG_H

#include "flags.h"

typedef struct gateway_config {
    char *http;      /* HOST:PORT */
    char *executors; /* ZeroMQ bind endpoint for executors */
    char *clients;   /* ZeroMQ bind endpoint for client-library callers */
    char *id;        /* gateway id, for logs and Welcome */
    char *log_level;
    char *log_format; /* --log-format: text, logfmt or json */
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
    long long turn_accepts;      /* new HTTP connections per loop turn; 0: 64, or 2 with TLS */
    long long recent_failures;   /* failed jobs kept for GET /v1/failures and the dashboard */
    long long max_event_streams; /* GET /v1/events streams open at once */
    long long event_stall_ms;    /* a stream that takes no bytes this long is closed */

    /* /metrics: offload_jobs_total series with a function of their own
     * (tally.h); how long a body is served again (0: never). */
    long long metrics_max_series;
    long long metrics_cache_ms;
} gateway_config;

#endif
