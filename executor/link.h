/* link.h -- one executor's connection to one gateway: a DEALER socket
 * connected to the gateway's executors endpoint, a monitor socket that
 * reports when the connection comes up or drops, and the registration
 * state and times the heartbeat logic (session.c) works from.
 *
 * ZeroMQ reconnects by itself; every new TCP connection is a new peer to the
 * gateway's ROUTER (a new routing id), so whatever the gateway knew of the
 * old connection (our registration, our jobs) is gone after a disconnect.
 *
 * Loop thread only: the sockets belong to the thread that called link_new. */
#ifndef OFFLOAD_LINK_H
#define OFFLOAD_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

typedef enum link_state {
    LINK_HELLO_SENT = 0, /* not registered: saying Hello until a Welcome */
    LINK_REGISTERED = 1, /* Welcome received on this connection */
} link_state;

/* Connection events reported by link_event. */
/* CURVE keys (Z85, keys.h); they must outlive the link. */
typedef struct link_curve {
    const char *public_key, *secret_key, *server_key;
} link_curve;

#define LINK_EV_UP 1   /* ZMTP handshake done: a connection is usable */
#define LINK_EV_AUTH 3 /* the CURVE handshake failed; link_auth_error says how */
#define LINK_EV_DOWN                                                                               \
    2 /* the connection dropped; ZeroMQ reconnects, except                                         \
         after a protocol error: see link_reopen */

/* How a link's socket is set up. */
typedef struct link_config {
    size_t max_frame;      /* largest frame received (ZMQ_MAXMSGSIZE and decoding):
                              larger, ZeroMQ drops the connection */
    unsigned heartbeat_ms; /* with timeout_ms, ZeroMQ's own connection heartbeat:
                              a connection that carries nothing for timeout_ms
                              is dropped and dialled again, so a peer that
                              vanished without closing the TCP connection is
                              noticed (a silent gateway that still holds the
                              connection, stopped or busy, is not: see
                              --link-timeout-ms) */
    unsigned timeout_ms;
    int rcvhwm;       /* messages ZeroMQ reads ahead of the loop; past it, it stops
                         reading the connection (TCP pushes back on the gateway) */
    link_curve curve; /* all NULL: no CURVE */
} link_config;

typedef struct exec_link {
    void *owner;    /* the executor, for loop callbacks */
    char *endpoint; /* "tcp://host:port", as given */
    unsigned index; /* position in the executor's link table */
    void *sock;     /* DEALER */
    void *monitor;  /* PAIR receiving sock's connection events */
    link_state state;
    int connected;       /* a connection is up (per the monitor) */
    int hello_queued;    /* a Hello was sent while no connection was up: it
                            waits in ZeroMQ's queue for the next connection */
    int hello_backoff;   /* the gateway refused our Hello (version, invalid):
                            retry only every liveness x interval */
    int silent;          /* liveness passed without a message; reset by one */
    int welcomed;        /* at least one Welcome since start (--ready-fd) */
    int credit;          /* the gateway's Welcome said credit: it obeys Credit
                            and sends Demand (credit.h) */
    uint64_t credit_seq; /* of the last Credit sent on this link */
    int credit_unsent;   /* a Credit could not be sent: retried by the tick */
    int credit_acked;    /* the gateway acknowledged a Credit at least once since
                            start (--ready-fd waits for it) */

    /* PoolStats (poolstats.h): the gateway's Welcome said pool_stats (it takes
     * them); the seq of the last sent, when (0: one is due at once), and the
     * version of the snapshot it carried. */
    int pool_stats;
    uint64_t pool_stats_seq, pool_stats_sent_us, pool_stats_version;

    char gateway_id[CODEC_ID_MAX + 1];
    uint64_t last_recv_us, last_send_us, last_hello_us;
    uint64_t reopen_due_us; /* the connection dropped: reopen the sockets
                               then unless it is back before (0: none due) */
    uint64_t reopens;       /* times the sockets were reopened */
    void *zctx;
    unsigned generation; /* of the sockets, for the monitor's address */
    link_config cfg;
    char auth_error[160]; /* after LINK_EV_AUTH: what failed, for a person */
} exec_link;

/* Creates the sockets on zctx and connects to endpoint. Returns NULL with
 * err set (an endpoint ZeroMQ cannot parse, out of memory). */
exec_link *link_new(void *zctx, const char *endpoint, unsigned index, const link_config *cfg,
                    char *err, size_t errlen);

/* Replaces the sockets with new ones, connected to the same endpoint, and
 * closes the old ones (what they still held is dropped). ZeroMQ does not
 * reconnect a connection that failed on a protocol error (a frame over
 * ZMQ_MAXMSGSIZE, a malformed ZMTP frame): the socket would stay without a
 * connection for good. Resets connected, hello_queued and reopen_due_us;
 * the caller re-registers the new sockets with its poller (their pointers
 * changed). Returns 0, or -1 with err set (the old sockets are kept). */
int link_reopen(exec_link *l, char *err, size_t errlen);

/* Closes the sockets, frees l and sets *l to NULL. */
void link_destroy(exec_link **l);

/* Sends env without blocking; any message counts for last_send_us. Returns
 * 0 or -errno (-EAGAIN when ZeroMQ's queue for the gateway is full). */
int link_send(exec_link *l, codec_envelope *env, uint64_t now_us);

/* Receives one message without blocking, as wire_recv (rid NULL): 0 with
 * *env to codec_free, -EAGAIN when none waits, a codec error for a frame
 * that failed decoding (err and *peer_version set, frame consumed). Any
 * frame, decodable or not, counts for last_recv_us. */
int link_recv(exec_link *l, codec_envelope **env, uint32_t *peer_version, char *err, size_t errlen,
              uint64_t now_us);

/* Reads monitor events until one that matters: returns LINK_EV_UP,
 * LINK_EV_DOWN (and updates l->connected) or LINK_EV_AUTH (l->auth_error
 * set), or 0 when none is waiting.
 * Call it until it returns 0, so events are handled in order. */
int link_event(exec_link *l);

#endif
