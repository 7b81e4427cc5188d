/* client.h -- liboffload's client object inside (offload_client.priv):
 * the ZeroMQ context and DEALER socket, the handshake monitor, the table
 * of requests in flight and the unsent list, and the error on the client.
 * Private to the library's modules:
 *
 *   client.c   connecting (endpoints, CURVE, the monitor), errors, the
 *              trace context (offload_set_trace), freeing
 *   outbox.c   sending, and the unsent list (outbox.h)
 *   async.c    the asynchronous API: submit, cancel, dispatch, and
 *              offload_free, which ends every request (async.h)
 *   sync.c     the synchronous API on top of it: call, job, queues
 *
 * Layered in that order, each calling only those above it in this list
 * (and requests.h): client.c calls none of the others.
 *
 * No function here is OFFLOAD_API: none leaves liboffload. A client is
 * used by one thread at a time, as offload.h says. */
#ifndef OFFLOAD_CLIENT_H
#define OFFLOAD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "offload.h"
#include "requests.h"

/* offload_job and offload_call, before asking another gateway: wait this
 * long for every gateway's connection (a fresh client may have only one) */
#define OFFLOAD_CONNECT_WAIT_MS 500

typedef struct client_priv {
    void *zctx, *sock;
    void *monitor;          /* with CURVE: PAIR receiving sock's handshake events */
    int handshaken;         /* a handshake succeeded on the connection */
    int curve;              /* CURVE keys were given */
    char auth_err[128];     /* the last handshake failure (fits errstr) */
    int grace_ms, lease_ms; /* lease_ms 0: none */
    request_table requests;
    uint64_t last_send_ms;
    /* Several gateways (a comma-separated endpoint list): the socket has
     * ZMQ_IMMEDIATE set, so ZeroMQ sends only to gateways that are up. */
    int n_gateways;
    int n_up;               /* of them, connected (the monitor's count) */
    request *unsent;        /* Submits that found no gateway up, oldest first */
    size_t n_unsent;        /* on that list */
    size_t n_unsent_cancel; /* of them, cancelled (ended by the next dispatch) */
    char *traceparent;      /* offload_set_trace's, for every Submit; NULL: none */
    char *tracestate;
} client_priv;

/* Sets c->err and c->errstr (printf format). */
void client_set_err(offload_client *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void client_clear_err(offload_client *c);

/* Reads the monitor's handshake events. Returns -1 (with p->auth_err set)
 * when a handshake failed since the last call, else 0. */
int client_handshake_events(client_priv *p);

/* Closes the monitor, the socket and the context and frees c and its
 * client_priv (NULL: nothing). Its requests must have ended already
 * (offload_free ends them first). */
void client_free(offload_client *c);

#endif
