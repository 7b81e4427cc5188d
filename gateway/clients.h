/* clients.h -- the liboffload front: Submit and Cancel in, Reply out, on
 * the gateway's "clients" ROUTER socket. A peer of the HTTP front: it
 * reaches the core through core.h's API only.
 *
 * Every Submit that can be routed back is answered, never dropped: a Reply
 * with the job's outcome, or with the code that refused it (bad_request for
 * an invalid name, unknown_queue, queue_full...). Frames that are not a
 * valid Envelope are dropped and counted by the reader (gateway.c), and a
 * frame in another protocol version gets a Refuse.
 *
 * Detached jobs. A Submit with detach is answered at once with its job id
 * and state; one with an idempotency_key (detached or not) runs once per
 * key (detached.h); a Query answers a detached job's state or outcome,
 * long-polling up to wait_ms, and may cancel it.
 *
 * Leases. ROUTER sockets report no disconnects, so a client that wants its
 * jobs cancelled when it goes away sets Submit.lease_ms and sends a message
 * (a Heartbeat will do) at least that often; a client silent for longer is
 * gone: its jobs are cancelled on their executors, as an HTTP caller's are
 * when it hangs up, and counted in callers_gone. Without a lease its jobs
 * run to their end or deadline. A Cancel names a request_id of the same
 * client: its job is cancelled and the Submit answered CODE_CANCELLED.
 *
 * Bounds. At most max_clients identities hold calls at once, and at most
 * max_clients Queries or keyed Submits wait at once (--max-clients): past
 * either, the Submit or Query is answered queue_full naming the flag and
 * counted (clients_refused). Everything else a client can make the gateway
 * hold is a job, bounded per queue (--max-waiting) and in bytes.
 *
 * Replies go out through a send callback, so the front runs in unit tests
 * without sockets. Loop thread only. */
#ifndef OFFLOAD_CLIENTS_H
#define OFFLOAD_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "stats.h"
#include "timers.h"
#include "wire.h"

struct gw_core;
struct client_peer;

/* Sends env to the peer at rid. Returns 0 or -errno (wire_send). */
typedef int (*clients_send_fn)(void *arg, const wire_rid *rid, codec_envelope *env);

typedef struct clients {
    struct gw_core *core;
    timers *timers;
    clients_send_fn send;
    void *send_arg;
    struct client_peer *peers; /* uthash by routing id: clients with calls */
    size_t pending;            /* Submits whose job has not ended */
    gw_timer lease_tick;       /* while a leased call is pending */
    struct client_wait *waits; /* Queries and keyed Submits waiting on a detached job */
    size_t nwaits;
    size_t npeers;
    size_t max_clients; /* bound on peers and on waits; 0: none */
} clients;

void clients_init(clients *c, struct gw_core *core, timers *ts, clients_send_fn send,
                  void *send_arg);

/* Handles one valid message from the peer at rid (the caller frees env).
 * now_us is when it came (any message renews the peer's lease). A Submit's
 * payload bytes are taken from env (codec_take_bytes), not copied: env must
 * come from codec_decode, or carry no payload. */
void clients_on_message(clients *c, const wire_rid *rid, codec_envelope *env, uint64_t now_us);

/* Cancels every lease whose client has been silent past it, at now_us;
 * the lease tick calls it. Returns how many clients were found gone. */
size_t clients_check_leases(clients *c, uint64_t now_us);

/* Frees every peer and call (jobs_close answered their jobs first). */
void clients_close(clients *c);

#endif
