/* http_accept.h -- the HTTP front's accepting: the listening socket, the
 * new connections waiting for their first bytes (hellos), the per-address
 * counts and the connection limits (see http_accept.c). Loop thread
 * only. */
#ifndef OFFLOAD_HTTP_ACCEPT_H
#define OFFLOAD_HTTP_ACCEPT_H

#include <sys/socket.h>

#include "http_int.h"

/* Sets the front's connection limits from its configuration: MHD's hard
 * limit (hard_limit) above --max-connections, the open-file limit raised
 * to hold it (or, when it cannot be, --max-connections and the hard limit
 * capped to what it holds, with a warning), and the new connections a turn
 * may take (turn_accepts, accept_allow). Once, at start, after TLS is
 * loaded. */
void http_accept_limits(http_front *h);

/* Opens the listening socket on ss (non-blocking), as MHD would: SO_REUSEADDR,
 * IPv6 only on an IPv6 address. Returns the fd, or -1 with errno set. */
int http_accept_listen_socket(const struct sockaddr_storage *ss);

/* Puts listen_fd in the loop's sight (on) or takes it out. */
void http_accept_listen_watch(http_front *h, int on);

/* The count of sa's address, moved by delta (an entry at 0 is freed).
 * Returns the entry, NULL at 0 or without a limit or memory. */
http_ip *http_accept_ip_count(http_front *h, const struct sockaddr *sa, int delta);

/* Counts one fewer connection from ip's address (NULL: none was counted). */
void http_accept_ip_put(http_front *h, http_ip *ip);

/* Takes this turn's new connections (see http_accept.c) and hands MHD
 * those that sent their first bytes. Does nothing unless the listening
 * socket or a hello was readable this turn (accept_ready). */
void http_accept(http_front *h);

/* After a turn's HTTP work: sizes what the next turn gives MHD from how
 * long this one took. */
void http_accept_adapt(http_front *h);

/* Stops the accept pause, closes every hello, stops their deadline and
 * frees the per-address counts: for freeing the front, once MHD has
 * stopped (its connections' counts are put back then). hello_fd stays
 * open: its owner closes it. */
void http_accept_free(http_front *h);

#endif
