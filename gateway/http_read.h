/* http_read.h -- the HTTP front's reading of requests: framing, read
 * deadlines, the body and its budgets (see http_read.c). Loop thread
 * only. */
#ifndef OFFLOAD_HTTP_READ_H
#define OFFLOAD_HTTP_READ_H

#include <stddef.h>

#include "http_int.h"

/* Sets the error req is answered with once it is read (TARGET_ERROR,
 * code, the message fmt makes of arg). */
void http_read_fail(http_request *req, int code, const char *fmt, const char *arg);

/* Refuses what a proxy in front could read differently (the request
 * smuggling shapes) and bodies this server cannot frame: two different
 * Content-Lengths, Content-Length with Transfer-Encoding, a
 * Transfer-Encoding other than chunked, control characters in the path.
 * Returns 0, or -1 with the error set on req. */
int http_read_check_framing(http_request *req, const char *url);

/* MHD's unescaping (MHD_OPTION_UNESCAPE_CALLBACK), except that a path or
 * argument with an escaped control character (%00 would cut it short) is
 * left escaped, for http_read_check_framing and the name checks to
 * refuse. */
size_t http_read_unescape(void *cls, struct MHD_Connection *conn, char *uri);

/* Moves c (NULL: no-op) to phase, restarting its clock. Cheap on the
 * request path: the timer moves only when c's deadline comes before the
 * armed one; one that fires early (its connection moved on) finds nothing
 * and re-arms. */
void http_read_phase(http_front *h, http_conn *c, http_phase phase);

/* The http_conn of conn (MHD's socket context), or NULL. */
http_conn *http_read_conn_of(struct MHD_Connection *conn);

/* Takes what the body needs beyond what req holds, to reach total bytes.
 * Returns 0, or -1 when over the budget: req then holds nothing, its body
 * is dropped and its 503 message set. */
int http_read_hold(http_request *req, size_t total);

/* Gives the body's bytes back to the gateway's budget. */
void http_read_give_back(http_request *req);

/* Takes a chunk of req's body: kept, up to --max-payload and the held
 * bytes' budget, or discarded. Returns MHD_NO when out of memory. */
enum MHD_Result http_read_take_body(http_request *req, const char *data, size_t n);

/* Counts a body chunk the handler took against the turn's budget; parks
 * req once the budget is spent. */
void http_read_spend(http_request *req, size_t chunk);

/* Resumes parked uploads, oldest first, until their last chunks add up to
 * allowance bytes (at least one; SIZE_MAX: all). */
void http_read_unpark(http_front *h, size_t allowance);

/* MHD_run, in small steps while uploads are parked: each resumes about
 * HTTP_UNPARK_BYTES of them (MHD reads each once, whatever the budget
 * says: resuming a budget's worth at once would read twice as much), and
 * the steps end once the turn's budget is spent. */
void http_read_run(http_front *h);

#endif
