/* outgoing.h -- the one way out of the executor to a gateway: every
 * message the executor's modules send (session.c's Hello, Heartbeat and
 * Goodbye, inflight.c's Results, allowance.c's Credit, executor.c's Drain)
 * goes through outgoing_send, which counts and logs a failure. The lowest
 * of the executor's modules (executor_state.h): it calls none of them.
 * Loop thread only. */
#ifndef OFFLOAD_OUTGOING_H
#define OFFLOAD_OUTGOING_H

#include "executor_state.h"

/* Sends env on l without blocking; a failure is counted (send_failures)
 * and logged. env stays the caller's. Returns 0 or -errno (link_send). */
int outgoing_send(executor *x, exec_link *l, codec_envelope *env);

#endif
