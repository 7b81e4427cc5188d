/* http.h -- the gateway's HTTP front (libmicrohttpd), driven by the
 * gateway's loop: built-in routes, the user --route table, and job
 * requests suspended until their job ends. A peer of the clients front: it
 * reaches the core through core.h's API only. Loop thread only. */
#ifndef OFFLOAD_HTTP_H
#define OFFLOAD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "http_config.h"
#include "loop.h"

struct gw_core;
typedef struct http_front http_front;

/* Parses the routes (declaring the queues they name), reads the token file
 * and the TLS certificate and key, listens, and writes the bound address
 * to bound. Returns the front, or NULL with err set. */
http_front *http_start(struct gw_core *core, loop *l, const http_config *cfg, char *bound,
                       size_t boundlen, char *err, size_t errlen);

/* Registers the front's fds (its listening socket's watch; MHD's epoll fd;
 * the watch on suspended sockets for callers that hang up; with TLS, new
 * connections waiting for their ClientHello), its timeout and its
 * end-of-turn work (the front accepts, MHD reads, answers and resumes) with
 * the loop. Returns 0 or -1
 * when the loop is full. */
int http_attach(http_front *h, loop *l);

/* Reads --http-token-file again (on SIGHUP): requests from now on are
 * checked against the new tokens. A file that fails to read or parse
 * leaves the old tokens in force and logs why. Returns 0 or -1. No-op (0)
 * without a token file. */
int http_reload_tokens(http_front *h);

/* Closes the listening socket (the front's own: MHD has none): no new
 * connections; those still in the backlog are reset. Requests on open
 * connections are answered 503 from now on; suspended ones go on. Event
 * streams (GET /v1/events) end: a drain does not wait for them. */
void http_quiesce(http_front *h);

/* True while a request is suspended (waiting on a job or a timer; an
 * event stream waiting for its next snapshot is not one). */
int http_pending(const http_front *h);

/* Stops accepting, answers every suspended request with 503, shuts down
 * the sockets of event streams still open, and lets MHD send those answers
 * (for up to a second). */
void http_shutdown(http_front *h);

/* Frees the front and sets *h to NULL; safe on NULL. */
void http_stop(http_front **h);

/* Parses "HOST:PORT", "[V6]:PORT", ":PORT" or "*:PORT" into host (empty for
 * every address) and port. Returns 0 or -1. Exposed for tests. */
int http_parse_listen(const char *listen, char *host, size_t hostlen, unsigned *port);

#endif
