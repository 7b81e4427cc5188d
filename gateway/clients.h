/* clients.h -- the liboffload front: Submit in, Reply out, on the gateway's
 * "clients" ROUTER socket. A peer of the HTTP front: it reaches the core
 * through gateway.h's API only.
 *
 * Every Submit that can be routed back is answered, never dropped: a Reply
 * with the job's outcome, or with the code that refused it (bad_request for
 * an invalid name, unknown_queue, queue_full...). Frames that are not a
 * valid Envelope are dropped and counted by the reader (gateway.c), and a
 * frame in another protocol version gets a Refuse. Replies go out through a
 * send callback, so the front runs in unit tests without sockets. Loop
 * thread only. */
#ifndef OFFLOAD_CLIENTS_H
#define OFFLOAD_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "stats.h"
#include "wire.h"

struct gateway;

/* Sends env to the peer at rid. Returns 0 or -errno (wire_send). */
typedef int (*clients_send_fn)(void *arg, const wire_rid *rid, codec_envelope *env);

typedef struct clients {
    struct gateway *gw;
    clients_send_fn send;
    void *send_arg;
    size_t pending; /* Submits whose job has not ended */
} clients;

void clients_init(clients *c, struct gateway *gw, clients_send_fn send, void *send_arg);

/* Handles one valid message from the peer at rid (the caller frees env). */
void clients_on_message(clients *c, const wire_rid *rid, codec_envelope *env);

#endif
