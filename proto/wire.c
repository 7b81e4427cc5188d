/* wire.c -- see wire.h. */
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

int wire_send(void *sock, const wire_rid *rid, codec_envelope *env, int flags)
{
    zmq_msg_t msg;
    size_t n = codec_size(env);
    if (zmq_msg_init_size(&msg, n) != 0)
        return -errno;
    codec_pack(env, zmq_msg_data(&msg));
    if (rid && (zmq_send(sock, rid->bytes, rid->len, flags | ZMQ_SNDMORE) < 0 ||
                (rid->delimited && zmq_send(sock, "", 0, flags | ZMQ_SNDMORE) < 0))) {
        int e = errno;
        zmq_msg_close(&msg);
        return -e;
    }
    if (zmq_msg_send(&msg, sock, flags) < 0) {
        int e = errno;
        zmq_msg_close(&msg);
        return -e;
    }
    return 0;
}

/* Drops the remaining frames of a message. */
static void wire_drain(void *sock)
{
    int more = 1;
    size_t sz = sizeof(more);
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, sock, 0);
        zmq_msg_close(&m);
    }
}

static int wire_more(void *sock)
{
    int more = 0;
    size_t sz = sizeof(more);
    zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz);
    return more;
}

int wire_recv(void *sock, wire_rid *rid, size_t max_len, codec_envelope **env,
              uint32_t *peer_version, char *err, size_t errlen)
{
    *env = NULL;
    if (rid) {
        int n = zmq_recv(sock, rid->bytes, WIRE_RID_MAX, ZMQ_DONTWAIT);
        if (n < 0)
            return -errno;
        rid->len = (uint8_t)(n > WIRE_RID_MAX ? WIRE_RID_MAX : n);
        if (!wire_more(sock)) {
            snprintf(err, errlen, "message without a body frame");
            return CODEC_EMALFORMED;
        }
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, rid ? 0 : ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&msg);
        return -e;
    }
    if (rid && zmq_msg_size(&msg) == 0 && wire_more(sock)) {
        /* A REQ peer's empty delimiter: the Envelope follows. */
        rid->delimited = 1;
        if (zmq_msg_recv(&msg, sock, 0) < 0) {
            int e = errno;
            zmq_msg_close(&msg);
            return -e;
        }
    }
    if (rid) {
        const char *user = zmq_msg_gets(&msg, "User-Id");
        snprintf(rid->user, sizeof(rid->user), "%s", user ? user : "");
    }
    if (wire_more(sock)) {
        wire_drain(sock);
        zmq_msg_close(&msg);
        snprintf(err, errlen, "message with more than one body frame");
        return CODEC_EMALFORMED;
    }
    int rc = codec_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), max_len, env, peer_version, err,
                          errlen);
    zmq_msg_close(&msg);
    return rc;
}

const char *wire_rid_hex(const wire_rid *rid, char *buf, size_t buflen)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < rid->len && n + 3 <= buflen; i++)
        n += (size_t)snprintf(buf + n, buflen - n, "%02x", rid->bytes[i]);
    return buf;
}

int wire_rcvhwm(long long max_frame)
{
    long long n = max_frame > 0 ? WIRE_RCV_BYTES / max_frame : WIRE_HWM;
    if (n < WIRE_RCVHWM_MIN)
        n = WIRE_RCVHWM_MIN;
    return n > WIRE_HWM ? WIRE_HWM : (int)n;
}

void *wire_monitor(void *zctx, void *sock, const char *addr, int events)
{
    int zero = 0;
    void *m = NULL;
    if (zmq_socket_monitor(sock, addr, events) != 0 || !(m = zmq_socket(zctx, ZMQ_PAIR)) ||
        zmq_setsockopt(m, ZMQ_LINGER, &zero, sizeof(zero)) != 0 || zmq_connect(m, addr) != 0) {
        int e = errno;
        if (m)
            zmq_close(m);
        errno = e;
        return NULL;
    }
    return m;
}

int wire_monitor_event(void *monitor, uint16_t *event, uint32_t *value, char *ep, size_t eplen)
{
    for (;;) {
        uint8_t head[6];
        int n = zmq_recv(monitor, head, sizeof(head), ZMQ_DONTWAIT);
        if (n < 0)
            return 0;
        if (ep && eplen)
            ep[0] = '\0';
        /* The second frame is the peer's endpoint. */
        int more = 0;
        size_t sz = sizeof(more);
        while (zmq_getsockopt(monitor, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, monitor, 0) >= 0 && ep && eplen) {
                size_t k = zmq_msg_size(&m) < eplen - 1 ? zmq_msg_size(&m) : eplen - 1;
                memcpy(ep, zmq_msg_data(&m), k);
                ep[k] = '\0';
            }
            zmq_msg_close(&m);
        }
        if (n < 6)
            continue;
        memcpy(event, head, sizeof(*event));
        memcpy(value, head + 2, sizeof(*value));
        return 1;
    }
}
