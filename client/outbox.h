/* outbox.h -- how liboffload's messages leave: without blocking, to the
 * gateway ZeroMQ deals them to or to every gateway that is up, and, with
 * several gateways and none up, by the unsent list, where requests wait
 * in the client (oldest first) for a gateway to come up or for their reply
 * time. Also the heartbeat that keeps a lease. */
#ifndef OFFLOAD_OUTBOX_H
#define OFFLOAD_OUTBOX_H

#include <stdint.h>

#include "client.h"
#include "codec.h"

/* Sends env (a Cancel, a Heartbeat) to every gateway that is up: once per
 * gateway, and a DEALER deals consecutive messages round robin over its
 * connections, so each one up gets at least one copy (a gateway ignores a
 * Cancel for a request it does not hold). Returns 0 when one copy went, or
 * -1 with c->err set. */
int outbox_send_all(offload_client *c, codec_envelope *env);

/* Sends the message of request q (a Submit, Query or ListQueues). With
 * several gateways and none up (ZMQ_IMMEDIATE: the DEALER has no
 * connection to send on), or requests already waiting, it waits on the
 * unsent list for one to come up, or for its reply time. Returns 0, or -1
 * with c->err set. */
int outbox_send_request(offload_client *c, codec_envelope *env, request *q);

/* Sends what waits on the unsent list while a gateway takes it (in order;
 * cancelled ones stay for offload_dispatch to end). */
void outbox_flush(offload_client *c);

/* Takes q off the unsent list if it is on it, and frees its frame. */
void outbox_unqueue(client_priv *p, request *q);

/* A heartbeat when one is due: jobs in flight, a lease, and nothing sent
 * for a third of it. */
void outbox_heartbeat(offload_client *c, uint64_t now);

#endif
