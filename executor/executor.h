/* executor.h -- the executor's loop: links to gateways, a pool per queue,
 * and the protocol between them (proto/offload.proto).
 *
 * One thread, the loop thread, owns all state here: the ZeroMQ sockets, the
 * table of jobs in flight and the registration of every link. Pool workers
 * only run functions and hand finished jobs back (pool.h). The loop
 * (common/loop.c, the gateway's too) polls the sources registered here --
 * every link's monitor and socket, the pools' completion eventfd -- and its
 * signalfd for SIGINT/SIGTERM; before each poll the heartbeat logic sends
 * what is due and sets the timeout to the next heartbeat or liveness
 * deadline. */
#ifndef OFFLOAD_EXECUTOR_H
#define OFFLOAD_EXECUTOR_H

#include <stddef.h>

#include "codec.h"

typedef struct executor executor;

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
    const char *curve_public; /* CURVE (Z85, keys.h): this executor's key pair and */
    const char *curve_secret; /* the gateways' public key; all NULL: no CURVE */
    const char *curve_server;
} executor_config;

/* Parses a --queue value: "NAME=threads:N", "NAME=threads:MIN-MAX" or
 * "NAME=processes:N" (sizes 1..CODEC_POOL_MAX). Returns 0, or -1 with err
 * saying what is expected. */
int executor_parse_queue(const char *spec, executor_queue *out, char *err, size_t errlen);

/* Loads the plugins, starts the pools (every worker up, every worker
 * process started and its functions announced) and connects every link;
 * the first
 * Hellos go out when executor_run starts. Blocks SIGINT and SIGTERM in the
 * calling thread first, so that every thread it starts inherits the mask
 * and the signals reach the loop's signalfd. Returns NULL with err set. */
executor *executor_new(const executor_config *cfg, char *err, size_t errlen);

/* Runs the loop until SIGINT or SIGTERM. The first signal starts a drain:
 * every gateway is told (Drain) to send no new jobs, the jobs in flight run
 * to their end for up to drain_timeout_ms, then the executor says Goodbye.
 * A second signal, or a drain timeout of 0, says Goodbye at once (the
 * gateways then answer the jobs still running executor_lost, or retry
 * them). A gateway that refuses this executor for good stops it the same
 * way, at once: its CURVE key (before the first Welcome on that link), a
 * queue its key may not serve (Refuse FORBIDDEN), or a Refuse(REFUSE_LIMIT)
 * naming --max-silence-ms or --max-functions (our configuration is over its
 * bound: asking again cannot help); one naming another bound
 * (--max-executors, --max-queues: others may leave) is asked again every
 * heartbeat x liveness. Returns 0, -EPERM when a gateway refused us for
 * good, or -errno if the loop cannot go on (a ZeroMQ failure). */
int executor_run(executor *x);

/* Stops the pools (running jobs are cancelled, see pool_destroy), closes
 * the links (a Goodbye still queued gets a short linger), frees x and sets
 * *x to NULL. */
void executor_destroy(executor **x);

#endif
