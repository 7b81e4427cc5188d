/* gateway.h -- the gateway process: makes the core (core.h), the two
 * ZeroMQ sockets and the two fronts, and wires them together on the core's
 * loop. Nothing includes this file but main.c and the unit tests: the
 * fronts see the core only, the core sees no front.
 *
 *   loop.c       (common/) poll sources, timers, signals, end-of-turn hooks
 *   core.c       queues, jobs, detached jobs, executors, the byte budget
 *   http*.c      the HTTP front (libmicrohttpd; http.h), routes.c, params.c
 *   clients.c    the liboffload front (Submit / Reply on ZeroMQ)
 *   zap.c        the CURVE allow-list
 *
 * Everything runs on the loop's one thread: no locks. */
#ifndef OFFLOAD_GATEWAY_H
#define OFFLOAD_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "clients.h"
#include "config.h"
#include "core.h"
#include "keys.h"
#include "zap.h"

struct http_front;

typedef struct gateway {
    const gateway_config *cfg;
    gw_core core; /* the loop and every table */
    void *zctx;
    void *exec_sock;                     /* ROUTER, bound: executors connect */
    void *client_sock;                   /* ROUTER, bound: liboffload callers connect */
    void *exec_monitor, *client_monitor; /* with CURVE: handshake failures */
    char curve_secret[KEYS_Z85_LEN + 1]; /* "" without CURVE */
    zap zap;                             /* the allow-list (with CURVE) */
    char exec_endpoint[256], client_endpoint[256], http_endpoint[128];
    clients clients;
    struct http_front *http;
    gw_timer trim_timer;     /* every second: gw_trim */
    uint64_t trim_rss_mark;  /* RSS after the last trim (or the lowest since) */
    uint64_t trim_free_mark; /* free heap bytes then (mallinfo2; or the lowest since) */
    uint64_t trim_busy_mark; /* loop.stats.busy_us at the last gw_trim */
    unsigned trim_defers;    /* busy seconds the trim waited through */
    gw_timer drain_timer;
    gw_timer ready_timer; /* every second: core_ready, which logs a change */
} gateway;

/* Checks cfg (which must outlive gw), binds every socket and the HTTP
 * listener. Returns 0, or -1 with err saying what failed and what to do;
 * gw then holds nothing. */
int gateway_init(gateway *gw, const gateway_config *cfg, char *err, size_t errlen);

/* Runs the loop until SIGINT or SIGTERM and a drain (SIGHUP re-reads
 * --http-token-file): requests in progress
 * finish for up to --drain-timeout, the rest are answered 503. Returns 0,
 * or -1 if the loop failed. */
int gateway_run(gateway *gw);

/* SIGHUP: reads the configuration that may change while running again:
 * the --curve-allow directory (executors whose key was removed, or may no
 * longer serve a queue they declared, are dropped) and the
 * --http-token-file. A file that fails to read keeps what was loaded. */
void gateway_reload(gateway *gw);

/* Answers every job left, says Goodbye to the executors, frees everything
 * gateway_init made. */
void gateway_close(gateway *gw);

#endif
