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

#include "config.h"

typedef struct executor executor;

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
