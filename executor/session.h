/* session.h -- the executor's session with each gateway, one per link
 * (link.h): Hello until a Welcome, Refuse, Goodbye, heartbeats both ways,
 * silence, and new sockets for a connection that did not come back. It
 * reads every message from a link and hands Jobs and Cancels to
 * inflight.h, Demands to allowance.h; it sends through outgoing.h. Loop
 * thread only.
 *
 * Sessions. Every new TCP connection is a new peer to the gateway, so a
 * gateway forgets everything about us when the connection drops or when it
 * answers Refuse UNKNOWN (a Goodbye only makes us say Hello again: see
 * session_on_message). The jobs of such a link are then orphaned
 * (inflight.h). A gateway that is merely silent keeps its jobs: if it comes
 * back on the same connection it still waits for their Results. Job ids
 * start at a random point in every gateway process, so a late Result can
 * never match a restarted gateway's new job of the same id.
 *
 * Reopening. ZeroMQ reconnects a dropped connection by itself, except one
 * it dropped on a protocol error (a frame over ZMQ_MAXMSGSIZE, bad ZMTP):
 * that socket stays without a connection for good. A link whose connection
 * is not back within SESSION_REOPEN_MS gets new sockets (link_reopen), so
 * the executor says Hello again after any loss. */
#ifndef OFFLOAD_SESSION_H
#define OFFLOAD_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "executor_state.h"

/* Says Hello on l (queued in ZeroMQ when no connection is up). */
void session_send_hello(executor *x, exec_link *l);

/* Says Goodbye (reason) to every gateway and stops the loop: executor_run
 * returns. A signal, the end of a drain and a gateway that refuses us for
 * good all end here. */
void session_stop(executor *x, const char *reason);

/* Writes "ready" to --ready-fd (once) when every link is registered and
 * every gateway that speaks Credit has acknowledged one. */
void session_check_ready(executor *x);

/* Sends what is due on every link (Hello, Heartbeat, a Credit not sent,
 * PoolStats),
 * notices silent gateways, reopens links whose connection did not come
 * back, and returns the milliseconds until something is due next. */
long session_tick(executor *x, uint64_t now);

/* The loop's callbacks for a link's monitor and its socket (arg: the
 * exec_link). Both read connection events first: a drop is seen before
 * data that came on the connection after it. */
void session_on_monitor(void *arg);
void session_on_link(void *arg);

#endif
