/* http_config.h -- the HTTP front's configuration (struct http_config),
 * data only: what gateway.c fills from the flags and http_start copies.
 * Apart from http.h so that the front's modules (http_int.h) can hold it
 * without including the front's public header. */
#ifndef OFFLOAD_HTTP_CONFIG_H
#define OFFLOAD_HTTP_CONFIG_H

#include "flags.h"

typedef struct http_config {
    const char *listen;      /* "HOST:PORT"; port 0 picks a free one */
    const flag_list *routes; /* --route values */
    long long max_payload;   /* bytes; larger bodies get 413 */
    long long max_timeout_ms;
    long long max_connections;
    long long max_connections_per_ip; /* 0: no limit */
    long long header_timeout_ms;      /* a request's headers must arrive within */
    long long body_timeout_ms;        /* and its body within, after them */
    const char *token_file;           /* --http-token-file, or NULL: no tokens */
    const char *tls_cert, *tls_key;   /* PEM files, both or neither: HTTPS */
    long long turn_accepts;           /* new connections per loop turn; 0: the default */
    long long metrics_cache_ms;       /* GET /metrics serves its last body this long; 0: never */
    long long max_event_streams;      /* GET /v1/events streams open at once */
    long long event_stall_ms;         /* a stream that takes no bytes this long is closed */
} http_config;

#endif
