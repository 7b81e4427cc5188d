/* http_auth.h -- the HTTP front's bearer tokens: loading them, the 401
 * and 403 checks (see http_auth.c). Loop thread only. */
#ifndef OFFLOAD_HTTP_AUTH_H
#define OFFLOAD_HTTP_AUTH_H

#include <stddef.h>

#include "http_int.h"

/* Reads --http-token-file into *out (the caller's, tokens_free). Returns
 * 0, or -1 with err set. */
int http_auth_load_tokens(const char *path, token_table **out, char *err, size_t errlen);

/* Reads --http-token-file again (http_reload_tokens, on SIGHUP): requests
 * from now on are checked against the new tokens. A file that fails to
 * read or parse leaves the old tokens in force and logs why. Returns 0 or
 * -1. No-op (0) without a token file. */
int http_auth_reload_tokens(http_front *h);

/* http_route_resolve, behind the token check when tokens are set: /healthz
 * and /readyz are open (/readyz names queues only to a known token: sets
 * req->detail), every other path needs a known token (checked first, so a
 * caller without one learns nothing of the routes), and a job, or a
 * detached job's lookup, one allowed its queue. Runs once, when the
 * headers are in; the token's entry is not kept (a reload may free it).
 * Returns 0, or -1 with the 401 or 403 set on req. */
int http_auth_resolve(http_request *req, const char *method, const char *url);

/* Warns when the listener (on host) reaches past loopback without a token
 * file (anyone who reaches it can run jobs), or with tokens but no TLS
 * (the tokens travel in the clear). */
void http_auth_warn_exposed(const http_front *h, const char *host);

#endif
