/* config.h -- the executor's configuration: what main.c fills in from its
 * flags and executor_new (executor.h) reads, as every module of the
 * executor sees it (executor_state.h). Plain data; whoever fills it keeps
 * it alive while the executor runs. */
#ifndef OFFLOAD_EXEC_CONFIG_H
#define OFFLOAD_EXEC_CONFIG_H

#include <stddef.h>

#include "codec.h"

/* One queue the executor serves, and its pool. */
typedef struct executor_queue {
    char name[CODEC_NAME_MAX + 1];
    int processes;       /* 0: a thread pool; 1: a process pool */
    unsigned min, max;   /* threads:N (min == max), threads:MIN-MAX, processes:N */
    const char *command; /* processes: the worker program (--command), run with
                            /bin/sh -c; NULL: the executor's own serve-worker */
    unsigned max_jobs;   /* processes: jobs per worker process; 0: no limit */
    unsigned max_rss_mb; /* processes: resident memory limit; 0: none */
} executor_queue;

/* Read by executor_new and during the executor's life: keep it (and what
 * it points to) alive until executor_destroy. */
typedef struct executor_config {
    char **connect; /* gateway endpoints; at least one */
    size_t nconnect;
    const executor_queue *queues; /* 1..CODEC_QUEUES_MAX, names distinct */
    size_t nqueues;
    const char *id;            /* executor id sent in Hello */
    unsigned heartbeat_ms;     /* 10..600000 */
    unsigned liveness;         /* 1..1000 missed intervals before a gateway is silent */
    unsigned link_timeout_ms;  /* a connection silent this long is dropped, redialled
                                  (its jobs orphaned); >= heartbeat_ms x liveness */
    size_t max_payload;        /* largest job payload and result, in bytes: a
                                  larger Job is answered payload_too_large */
    size_t max_frame;          /* largest frame read from a gateway (ZMQ_MAXMSGSIZE),
                                  > max_payload; a larger one makes ZeroMQ drop the
                                  connection, which the executor then reopens */
    long max_pending;          /* jobs a queue holds beyond its pool size (waiting
                                  for a worker); past it a Job is answered
                                  queue_full. <0: the pool size x the gateways */
    int ready_fd;              /* >= 0: write "ready\n" once every link is registered
                                  (and, with a gateway that speaks credit, a Credit
                                  acknowledged: its capacity is there) */
    unsigned drain_timeout_ms; /* on SIGTERM, finish running jobs for up to this
                                  long (0: stop at once) */
    char **plugins;            /* shared objects to load (offload_plugin.h) */
    size_t nplugins;
    const char *self_exe;     /* this program, for serve-worker processes */
    unsigned kill_grace_ms;   /* SIGTERM to SIGKILL of a worker process */
    unsigned thread_idle_ms;  /* an elastic pool's idle thread exits after this */
    unsigned worker_start_ms; /* a worker process's spawn to hello */
    unsigned pool_stats_ms;   /* PoolStats to the gateways that take them at most
                                 this often (>= heartbeat_ms); 0: never */
    const char *curve_public; /* CURVE (Z85, keys.h): this executor's key pair and */
    const char *curve_secret; /* the gateways' public key; all NULL: no CURVE */
    const char *curve_server;
} executor_config;

#endif
