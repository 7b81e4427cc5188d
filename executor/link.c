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

/* Closes a socket and its monitor (either may be NULL). */
static void link_close(void *sock, void *monitor)
{
    if (sock) {
        zmq_socket_monitor(sock, NULL, 0);
        zmq_close(sock);
    }
    if (monitor)
        zmq_close(monitor);
}

/* Opens a connected DEALER and its monitor; *sock and *monitor are set
 * only on success. */
static int link_open(exec_link *l, void **sock_out, void **monitor_out, char *err, size_t errlen)
{
    const link_config *c = &l->cfg;
    void *sock = zmq_socket(l->zctx, ZMQ_DEALER), *monitor = NULL;
    if (!sock)
        goto zerr;
    int64_t maxmsg = (int64_t)c->max_frame;
    if (link_setopt_int(sock, ZMQ_LINGER, LINK_LINGER_MS) ||
        link_setopt_int(sock, ZMQ_RECONNECT_IVL, LINK_RECONNECT_IVL_MS) ||
        /* Back off no further than one heartbeat interval, so a restarted
         * gateway sees the executor again within about two intervals. */
        link_setopt_int(sock, ZMQ_RECONNECT_IVL_MAX,
                        c->heartbeat_ms < LINK_RECONNECT_IVL_MAX_MS ? (int)c->heartbeat_ms
                                                                    : LINK_RECONNECT_IVL_MAX_MS) ||
        link_setopt_int(sock, ZMQ_SNDHWM, WIRE_HWM) ||
        link_setopt_int(sock, ZMQ_RCVHWM, c->rcvhwm > 0 ? c->rcvhwm : WIRE_HWM) ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) ||
        /* ZMTP pings, answered by the gateway's I/O thread: they find a
         * connection whose peer vanished without closing it. Not after
         * liveness x interval: a gateway stopped that long (SIGSTOP, a
         * stall) answers nothing either, and dropping its connection would
         * lose every job running here for it. */
        link_setopt_int(sock, ZMQ_HEARTBEAT_IVL, (int)c->heartbeat_ms) ||
        link_setopt_int(sock, ZMQ_HEARTBEAT_TIMEOUT, (int)c->timeout_ms))
        goto zerr;
    const link_curve *cv = &c->curve;
    if (cv->secret_key && (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, cv->server_key, 40) ||
                           zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, cv->public_key, 40) ||
                           zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, cv->secret_key, 40)))
        goto zerr;

    char addr[96];
    snprintf(addr, sizeof(addr), "inproc://offload-link-%u-%p-%u", l->index, (void *)l,
             l->generation++);
    monitor =
        wire_monitor(l->zctx, sock, addr,
                     ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                         (cv->secret_key ? ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL : 0));
    if (!monitor)
        goto zerr;

    if (zmq_connect(sock, l->endpoint) != 0) {
        snprintf(err, errlen,
                 "cannot connect to gateway endpoint '%s': %s (use --connect "
                 "tcp://HOST:PORT)",
                 l->endpoint, zmq_strerror(errno));
        goto err;
    }
    *sock_out = sock;
    *monitor_out = monitor;
    return 0;

zerr:
    snprintf(err, errlen, "ZeroMQ socket for '%s': %s", l->endpoint, zmq_strerror(errno));
err:
    link_close(sock, monitor);
    return -1;
}

exec_link *link_new(void *zctx, const char *endpoint, unsigned index, const link_config *cfg,
                    char *err, size_t errlen)
{
    exec_link *l = calloc(1, sizeof(*l));
    if (!l || !(l->endpoint = strdup(endpoint))) {
        snprintf(err, errlen, "out of memory");
        goto err;
    }
    l->index = index;
    l->zctx = zctx;
    l->cfg = *cfg;
    l->state = LINK_HELLO_SENT;
    if (link_open(l, &l->sock, &l->monitor, err, errlen) < 0)
        goto err;
    return l;

err:
    link_destroy(&l);
    return NULL;
}

int link_reopen(exec_link *l, char *err, size_t errlen)
{
    void *sock, *monitor;
    if (link_open(l, &sock, &monitor, err, errlen) < 0)
        return -1;
    link_close(l->sock, l->monitor);
    l->sock = sock;
    l->monitor = monitor;
    l->connected = 0;
    l->hello_queued = 0;
    l->reopen_due_us = 0;
    l->reopens++;
    return 0;
}

void link_destroy(exec_link **lp)
{
    exec_link *l = *lp;
    if (!l)
        return;
    link_close(l->sock, l->monitor);
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
    int rc = wire_recv(l->sock, NULL, l->cfg.max_frame, env, peer_version, err, errlen);
    if (rc != -EAGAIN && rc != -EINTR && rc != -ETERM)
        l->last_recv_us = now_us;
    return rc;
}

int link_event(exec_link *l)
{
    uint16_t event;
    uint32_t value;
    while (wire_monitor_event(l->monitor, &event, &value, NULL, 0)) {
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            snprintf(l->auth_error, sizeof(l->auth_error),
                     "the gateway refused this executor's CURVE key (status %u): it is not in "
                     "the gateway's --curve-allow directory",
                     value);
            return LINK_EV_AUTH;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
            event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            snprintf(l->auth_error, sizeof(l->auth_error),
                     "the handshake with the gateway failed: is --curve-server the gateway's "
                     "public key, and do both sides use CURVE (or neither)?");
            return LINK_EV_AUTH;
        }
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            l->connected = 1;
            return LINK_EV_UP;
        }
        if (event == ZMQ_EVENT_DISCONNECTED) {
            l->connected = 0;
            return LINK_EV_DOWN;
        }
    }
    return 0;
}
