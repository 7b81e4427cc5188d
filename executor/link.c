/* link.c -- see link.h. */
#include "link.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wire.h"

#define LINK_LINGER_MS 100 /* time a Goodbye gets to leave at close */
#define LINK_RECONNECT_IVL_MS 100
#define LINK_RECONNECT_IVL_MAX_MS 2000

static int link_setopt_int(void *s, int opt, int value)
{
    return zmq_setsockopt(s, opt, &value, sizeof(value));
}

exec_link *link_new(void *zctx, const char *endpoint, unsigned index, size_t max_frame,
                    unsigned heartbeat_ms, unsigned timeout_ms, char *err, size_t errlen)
{
    exec_link *l = calloc(1, sizeof(*l));
    if (!l || !(l->endpoint = strdup(endpoint))) {
        snprintf(err, errlen, "out of memory");
        goto err;
    }
    l->index = index;
    l->max_frame = max_frame;
    l->state = LINK_HELLO_SENT;

    l->sock = zmq_socket(zctx, ZMQ_DEALER);
    if (!l->sock)
        goto zerr;
    int64_t maxmsg = (int64_t)max_frame;
    if (link_setopt_int(l->sock, ZMQ_LINGER, LINK_LINGER_MS) ||
        link_setopt_int(l->sock, ZMQ_RECONNECT_IVL, LINK_RECONNECT_IVL_MS) ||
        /* Back off no further than one heartbeat interval, so a restarted
         * gateway sees the executor again within about two intervals. */
        link_setopt_int(l->sock, ZMQ_RECONNECT_IVL_MAX,
                        heartbeat_ms < LINK_RECONNECT_IVL_MAX_MS ? (int)heartbeat_ms
                                                                 : LINK_RECONNECT_IVL_MAX_MS) ||
        link_setopt_int(l->sock, ZMQ_SNDHWM, WIRE_HWM) ||
        link_setopt_int(l->sock, ZMQ_RCVHWM, WIRE_HWM) ||
        zmq_setsockopt(l->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) ||
        /* ZMTP pings, answered by the gateway's I/O thread: they find a
         * connection whose peer vanished without closing it. Not after
         * liveness x interval: a gateway stopped that long (SIGSTOP, a
         * stall) answers nothing either, and dropping its connection would
         * lose every job running here for it. */
        link_setopt_int(l->sock, ZMQ_HEARTBEAT_IVL, (int)heartbeat_ms) ||
        link_setopt_int(l->sock, ZMQ_HEARTBEAT_TIMEOUT, (int)timeout_ms))
        goto zerr;

    char addr[96];
    snprintf(addr, sizeof(addr), "inproc://offload-link-%u-%p", index, (void *)l);
    if (zmq_socket_monitor(l->sock, addr, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) !=
        0)
        goto zerr;
    l->monitor = zmq_socket(zctx, ZMQ_PAIR);
    if (!l->monitor || zmq_connect(l->monitor, addr) != 0)
        goto zerr;

    if (zmq_connect(l->sock, endpoint) != 0) {
        snprintf(err, errlen,
                 "cannot connect to gateway endpoint '%s': %s (use --connect "
                 "tcp://HOST:PORT)",
                 endpoint, zmq_strerror(errno));
        goto err;
    }
    return l;

zerr:
    snprintf(err, errlen, "ZeroMQ socket for '%s': %s", endpoint, zmq_strerror(errno));
err:
    link_destroy(&l);
    return NULL;
}

void link_destroy(exec_link **lp)
{
    exec_link *l = *lp;
    if (!l)
        return;
    if (l->sock) {
        zmq_socket_monitor(l->sock, NULL, 0);
        zmq_close(l->sock);
    }
    if (l->monitor)
        zmq_close(l->monitor);
    free(l->endpoint);
    free(l);
    *lp = NULL;
}

int link_send(exec_link *l, codec_envelope *env, uint64_t now_us)
{
    int rc = wire_send(l->sock, NULL, env, ZMQ_DONTWAIT);
    if (rc == 0)
        l->last_send_us = now_us;
    return rc;
}

int link_recv(exec_link *l, codec_envelope **env, uint32_t *peer_version, char *err, size_t errlen,
              uint64_t now_us)
{
    int rc = wire_recv(l->sock, NULL, l->max_frame, env, peer_version, err, errlen);
    if (rc != -EAGAIN && rc != -EINTR && rc != -ETERM)
        l->last_recv_us = now_us;
    return rc;
}

int link_event(exec_link *l)
{
    for (;;) {
        uint8_t head[6];
        int n = zmq_recv(l->monitor, head, sizeof(head), ZMQ_DONTWAIT);
        if (n < 0)
            return 0;
        /* The second frame is the endpoint; not needed. */
        int more = 0;
        size_t sz = sizeof(more);
        while (zmq_getsockopt(l->monitor, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            zmq_msg_recv(&m, l->monitor, 0);
            zmq_msg_close(&m);
        }
        if (n < 2)
            continue;
        uint16_t event;
        memcpy(&event, head, sizeof(event));
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            l->connected = 1;
            return LINK_EV_UP;
        }
        if (event == ZMQ_EVENT_DISCONNECTED) {
            l->connected = 0;
            return LINK_EV_DOWN;
        }
    }
}
