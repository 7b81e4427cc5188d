/* http.h -- the gateway's HTTP front (libmicrohttpd), driven by the
 * gateway's loop: built-in routes, user --route table, job requests
 * suspended until their job ends. Loop thread only. */
#ifndef OFFLOAD_HTTP_H
#define OFFLOAD_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct gateway;
typedef struct http_front http_front;

/* Listens on listen ("HOST:PORT"; port 0 picks a free one) and stores the
 * front in gw->http and the bound address in gw->http_endpoint. Returns 0,
 * or -1 with err set. */
int http_start(struct gateway *gw, const char *listen, char *err, size_t errlen);

/* The fd the loop polls for readability (MHD's epoll fd). */
int http_fd(http_front *h);

/* An fd that becomes readable when the caller of a suspended request hangs
 * up; then call http_check_gone, which cancels its job (a waiting job
 * leaves its queue; a running one is cancelled on its executor). */
int http_gone_fd(http_front *h);
void http_check_gone(http_front *h);

/* Microseconds until MHD needs http_process for a timeout; -1 for none. */
int64_t http_timeout_us(http_front *h);

/* Lets MHD accept, read, answer and resume; call after every poll. */
void http_process(http_front *h);

/* Closes the listening socket: no new connections. Requests on open
 * connections are answered 503 from now on; suspended ones go on. */
void http_quiesce(http_front *h);

/* True while a request is suspended (waiting on a job or a timer). */
int http_pending(const http_front *h);

/* Stops accepting, answers every suspended request with 503 and lets MHD
 * send those answers (for up to a second). */
void http_shutdown(http_front *h);

/* Frees the front and sets *h to NULL; safe on NULL. */
void http_stop(http_front **h);

/* Parses "HOST:PORT", "[V6]:PORT", ":PORT" or "*:PORT" into host (empty for
 * every address) and port. Returns 0 or -1. Exposed for tests. */
int http_parse_listen(const char *listen, char *host, size_t hostlen, unsigned *port);

#endif
