/* outbox.c -- how liboffload's messages leave, see outbox.h: owns the
 * unsent list (client_priv's unsent, n_unsent, n_unsent_cancel, and each
 * waiting request's frame) and the time of the last send. */
#include "outbox.h"

#include <errno.h>
#include <stdlib.h>
#include <utlist.h>
#include <zmq.h>

#include "clock.h"
#include "wire.h"

/* With several gateways and none up, requests wait in the client, at most
 * this many (as many as one ZeroMQ pipe queues by default). */
#define OFFLOAD_MAX_UNSENT 1000

void outbox_unqueue(client_priv *p, request *q)
{
    if (!q->frame)
        return;
    DL_DELETE2(p->unsent, q, unsent_prev, unsent_next);
    p->n_unsent--;
    if (q->cancel_sent)
        p->n_unsent_cancel--;
    free(q->frame);
    q->frame = NULL;
}

static int outbox_send(offload_client *c, codec_envelope *env)
{
    client_priv *p = c->priv;
    int rc = wire_send(p->sock, NULL, env, ZMQ_DONTWAIT);
    if (rc < 0) {
        client_set_err(c, OFFLOAD_ERR_IO, "send: %s", zmq_strerror(-rc));
        return -1;
    }
    p->last_send_ms = clock_now_ms();
    return 0;
}

int outbox_send_all(offload_client *c, codec_envelope *env)
{
    client_priv *p = c->priv;
    if (p->n_gateways < 2)
        return outbox_send(c, env);
    int sent = 0;
    for (int i = 0; i < p->n_gateways; i++)
        if (wire_send(p->sock, NULL, env, ZMQ_DONTWAIT) == 0)
            sent++;
    if (!sent) {
        client_set_err(c, OFFLOAD_ERR_IO, "send: no gateway is up");
        return -1;
    }
    p->last_send_ms = clock_now_ms();
    return 0;
}

void outbox_flush(offload_client *c)
{
    client_priv *p = c->priv;
    request *q = p->unsent;
    while (q) {
        request *next = q->unsent_next;
        if (!q->cancel_sent) {
            if (zmq_send(p->sock, q->frame, q->frame_len, ZMQ_DONTWAIT) < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    return;
                /* Not sendable at all: it ends at its reply time. */
            }
            p->last_send_ms = clock_now_ms();
            outbox_unqueue(p, q);
        }
        q = next;
    }
}

int outbox_send_request(offload_client *c, codec_envelope *env, request *q)
{
    client_priv *p = c->priv;
    if (p->unsent)
        outbox_flush(c);
    if (!p->unsent) {
        int rc = wire_send(p->sock, NULL, env, ZMQ_DONTWAIT);
        if (rc == 0) {
            p->last_send_ms = clock_now_ms();
            return 0;
        }
        if (rc == -EAGAIN && p->n_gateways < 2 && p->monitor) {
            /* One gateway and no connection to queue on: it refused the
             * handshake before this send (a slow client), and ZeroMQ
             * dropped the connection. Say why, as a later failure would:
             * its event is on the monitor, or due. */
            zmq_pollitem_t item = {p->monitor, 0, ZMQ_POLLIN, 0};
            zmq_poll(&item, 1, OFFLOAD_CONNECT_WAIT_MS);
            if (client_handshake_events(p) < 0) {
                client_set_err(c, OFFLOAD_ERR_AUTH, "%s", p->auth_err);
                return -1;
            }
        }
        if (rc != -EAGAIN || p->n_gateways < 2) {
            client_set_err(c, OFFLOAD_ERR_IO, "send: %s", zmq_strerror(-rc));
            return -1;
        }
    }
    if (p->n_unsent >= OFFLOAD_MAX_UNSENT) {
        client_set_err(c, OFFLOAD_ERR_IO,
                       "no gateway is up: %zu requests already wait for one (are they running?)",
                       p->n_unsent);
        return -1;
    }
    if (codec_encode(env, &q->frame, &q->frame_len) < 0) {
        client_set_err(c, OFFLOAD_ERR_OOM, "out of memory");
        return -1;
    }
    DL_APPEND2(p->unsent, q, unsent_prev, unsent_next);
    p->n_unsent++;
    return 0;
}

void outbox_heartbeat(offload_client *c, uint64_t now)
{
    client_priv *p = c->priv;
    if (!p->lease_ms || !p->requests.count || now - p->last_send_ms < (uint64_t)p->lease_ms / 3)
        return;
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Heartbeat hb = OFFLOAD__HEARTBEAT__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    if (outbox_send_all(c, &env) < 0)
        p->last_send_ms = now; /* retry on schedule, not in a spin */
}
