/* http_tls.h -- the HTTP front's TLS: the certificate and key, GnuTLS's
 * I/O counted, the sockets in their handshake (see http_tls.c). Loop
 * thread only. */
#ifndef OFFLOAD_HTTP_TLS_H
#define OFFLOAD_HTTP_TLS_H

#include <stddef.h>

#include "http_int.h"

/* Reads --tls-cert and --tls-key into h->tls_cert and h->tls_key (the
 * front's, freed with it) and checks with GnuTLS (the library MHD serves
 * TLS with) that they are a certificate and its key, so a bad pair is a
 * clear error at start, not a failed handshake later. Without either flag,
 * does nothing. Returns 0 or -1 with err set. */
int http_tls_load(http_front *h, char *err, size_t errlen);

/* Gives conn's TLS session (none: no-op) the socket I/O that counts into
 * http_suspend_activity. When MHD says a connection started. */
void http_tls_watch(struct MHD_Connection *conn);

/* Watches c's socket (edge-triggered) until its TLS handshake is done:
 * MHD does not put it in its own epoll set before then (http_process). */
void http_tls_watch_fd(http_front *h, http_conn *c);

/* Stops watching c's socket (no-op if it is not watched): its handshake
 * is done, or it closed. */
void http_tls_unwatch_fd(http_front *h, http_conn *c);

#endif
