/* wire.h -- send and receive Envelopes on ZeroMQ sockets.
 *
 * A message is [routing id] + one frame with a packed Envelope; the routing
 * id frame is present on ROUTER sockets only. On a ROUTER, wire_recv also
 * fills rid->user from the message's "User-Id" property. Call only from the thread that
 * owns the socket. */
#ifndef OFFLOAD_WIRE_H
#define OFFLOAD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

#define WIRE_RID_MAX 255
#define WIRE_USER_MAX 64       /* a CURVE peer's User-Id (gateway/zap.h) */
#define WIRE_FRAME_SLACK 65536 /* frame bytes allowed beyond the payload limit */
#define WIRE_HWM 100000        /* messages queued per socket and direction */

/* libzmq queues what a peer sends until the owner reads it, counted in
 * messages (RCVHWM, per peer connection), not bytes. A socket whose peers
 * may send large frames (the gateway's clients socket) sets its RCVHWM to
 * about WIRE_RCV_BYTES over its largest frame, so one peer's queue holds
 * about that many bytes; past it libzmq stops reading that connection (TCP
 * pushes back on the sender), nothing is dropped. */
#define WIRE_RCV_BYTES (32LL << 20)
#define WIRE_RCVHWM_MIN 16

/* The RCVHWM that keeps one peer's receive queue near WIRE_RCV_BYTES when
 * its frames may be max_frame bytes: WIRE_RCVHWM_MIN..WIRE_HWM. */
int wire_rcvhwm(long long max_frame);

/* Where a message on a ROUTER socket came from, and how to answer it. */
typedef struct wire_rid {
    uint8_t len;
    uint8_t bytes[WIRE_RID_MAX];
    uint8_t delimited;            /* the peer is a REQ: its body came after an empty
                                     frame, and the answer must too */
    char user[WIRE_USER_MAX + 1]; /* the User-Id the gateway's ZAP handler gave
                                     the peer's CURVE key; "" without CURVE */
} wire_rid;

/* Packs env (its version set to ours) and sends it, after rid's frame when
 * rid is not NULL. flags: ZMQ_DONTWAIT or 0. Returns 0 or -errno
 * (-EHOSTUNREACH for a peer a ROUTER_MANDATORY socket cannot route to,
 * -EAGAIN when the peer's queue is full). */
int wire_send(void *sock, const wire_rid *rid, codec_envelope *env, int flags);

/* Receives one whole message without blocking. On 0, *env is a validated
 * envelope to free with codec_free and rid (when not NULL) holds the routing
 * id. Returns -EAGAIN when nothing is waiting; a codec error (codec.h) for a
 * frame that fails decoding, with err set and the message consumed (rid is
 * still filled, so the sender can be answered); CODEC_EMALFORMED also for a
 * message with the wrong frame count. *peer_version as for codec_decode. */
int wire_recv(void *sock, wire_rid *rid, size_t max_len, codec_envelope **env,
              uint32_t *peer_version, char *err, size_t errlen);

/* A PAIR socket (linger 0) receiving sock's ZeroMQ monitor events in the
 * mask events, through the inproc endpoint addr (unique per monitor).
 * Returns NULL with errno set. Close it before sock. */
void *wire_monitor(void *zctx, void *sock, const char *addr, int events);

/* Reads one monitor event without blocking: 1 with *event and *value set
 * (and the endpoint in ep when not NULL), 0 when none is waiting. A
 * malformed event is skipped. */
int wire_monitor_event(void *monitor, uint16_t *event, uint32_t *value, char *ep, size_t eplen);

/* Hex form of a routing id for logs; buf holds at least 2*len+1 bytes. */
const char *wire_rid_hex(const wire_rid *rid, char *buf, size_t buflen);

#endif
