/* http_auth.c -- the HTTP front's bearer tokens (--http-token-file): loads
 * them (at start and on SIGHUP; tokens.c parses the file), checks a
 * request's Authorization header and its token's queues around the route
 * lookup (401, 403, counted and logged), and warns at start when the
 * listener is exposed without tokens or without TLS. Owns the front's
 * tokens. Loop thread only. */
#include "http_auth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http_route.h"
#include "http_ui.h"
#include "log.h"

/* One each: a flood of 401s must not hide the 403s. */
static log_limiter http_unauthorized_limiter, http_forbidden_limiter;

/* The caller's address, for logs. */
static const char *http_peer(struct MHD_Connection *conn, char *buf, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, len, "?");
    if (!ci || !ci->client_addr)
        return buf;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                  (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                  (socklen_t)len);
    return buf;
}

/* The token entry of req's Authorization: Bearer header, or NULL; *reason
 * says why not ("missing", "not_bearer", "unknown_token"). */
static const token_entry *http_bearer(http_request *req, const char **reason)
{
    const char *v =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    *reason = "missing";
    if (!v)
        return NULL;
    *reason = "not_bearer";
    if (strncasecmp(v, "Bearer ", 7))
        return NULL;
    v += 7;
    while (*v == ' ')
        v++;
    size_t len = strlen(v);
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    *reason = "unknown_token";
    return tokens_find(req->front->tokens, v, len);
}

/* The token entry of req's Authorization: Bearer header. Returns it, or
 * NULL with the 401 set on req (counted and logged). */
static const token_entry *http_authenticate(http_request *req)
{
    http_front *h = req->front;
    const char *reason;
    const token_entry *e = http_bearer(req, &reason);
    if (e)
        return e;
    core_count(h->core, STAT_http_unauthorized);
    char peer[INET6_ADDRSTRLEN + 1];
    if (log_limiter_allow(&http_unauthorized_limiter, 5))
        log_warn("event=http_unauthorized reason=%s peer=%s", reason,
                 http_peer(req->conn, peer, sizeof(peer)));
    req->target = TARGET_ERROR;
    req->err_code = HTTP_ERR_UNAUTHORIZED;
    if (!strcmp(reason, "missing") || !strcmp(reason, "not_bearer")) {
        req->challenge = "Bearer realm=\"offload\"";
        snprintf(req->err_msg, sizeof(req->err_msg), "%s",
                 "this gateway needs a token: send Authorization: Bearer TOKEN");
    } else {
        req->challenge = "Bearer realm=\"offload\", error=\"invalid_token\"";
        snprintf(req->err_msg, sizeof(req->err_msg), "%s",
                 "the bearer token is not one of --http-token-file's");
    }
    return NULL;
}

/* 1 when e may use queue; else 0 with the 403 set on req (counted and
 * logged). */
static int http_authorize(http_request *req, const token_entry *e, const char *queue)
{
    if (tokens_allow(e, queue))
        return 1;
    http_front *h = req->front;
    core_count(h->core, STAT_http_forbidden);
    char peer[INET6_ADDRSTRLEN + 1];
    if (log_limiter_allow(&http_forbidden_limiter, 5))
        log_warn("event=http_forbidden queue=%s token_line=%d peer=%s", queue, tokens_line(e),
                 http_peer(req->conn, peer, sizeof(peer)));
    req->target = TARGET_ERROR;
    req->err_code = HTTP_ERR_FORBIDDEN;
    req->challenge = "Bearer realm=\"offload\", error=\"insufficient_scope\"";
    snprintf(req->err_msg, sizeof(req->err_msg),
             "this token may not use queue '%s' (see its line in --http-token-file)", queue);
    return 0;
}

/* The queue a resolved request acts on, for the token check: a job's, or
 * a detached job's (NULL for an unknown one: 404 later), or NULL. */
static const char *http_target_queue(http_request *req)
{
    switch (req->target) {
    case TARGET_JOB:
        return req->queue;
    case TARGET_JOB_STATUS:
    case TARGET_JOB_RESULT:
    case TARGET_JOB_CANCEL: {
        detached_job *d = detached_find(core_detached(req->front->core), req->ref);
        return d ? d->queue : NULL;
    }
    default:
        return NULL;
    }
}

int http_auth_resolve(http_request *req, const char *method, const char *url)
{
    /* /healthz and the dashboard's files (no data: the page sends the
     * token on its own requests) are open. */
    if (!req->front->tokens || !strcmp(url, "/healthz") || http_ui_find(url) >= 0) {
        req->detail = 1;
        http_route_resolve(req, method, url);
        return 0;
    }
    if (!strcmp(url, "/readyz")) {
        /* Open like /healthz (a probe sends no token); only a known token
         * sees which queues are unserved. Nothing is counted or logged. */
        const char *reason;
        req->detail = http_bearer(req, &reason) != NULL;
        http_route_resolve(req, method, url);
        return 0;
    }
    const token_entry *e = http_authenticate(req);
    if (!e)
        return -1;
    http_route_resolve(req, method, url);
    const char *queue = http_target_queue(req);
    if (queue && !http_authorize(req, e, queue))
        return -1;
    return 0;
}

int http_auth_load_tokens(const char *path, token_table **out, char *err, size_t errlen)
{
    char why[384];
    int loose;
    token_table *t = tokens_load(path, &loose, why, sizeof(why));
    if (!t) {
        snprintf(err, errlen, "--http-token-file %s", why);
        return -1;
    }
    if (loose)
        log_warn("event=http_token_file_readable file=%s msg=\"group or others may read the "
                 "token file: chmod 600 it\"",
                 path);
    log_info("event=http_tokens_loaded file=%s tokens=%zu", path, tokens_count(t));
    *out = t;
    return 0;
}

int http_auth_reload_tokens(http_front *h)
{
    char err[512];
    token_table *t;
    if (!h || !h->cfg.token_file)
        return 0;
    if (http_auth_load_tokens(h->cfg.token_file, &t, err, sizeof(err)) < 0) {
        log_error("event=http_tokens_reload_failed error=\"%s\" msg=\"the tokens loaded before "
                  "stay in force\"",
                  err);
        return -1;
    }
    tokens_free(&h->tokens);
    h->tokens = t;
    return 0;
}

void http_auth_warn_exposed(const http_front *h, const char *host)
{
    int loopback = !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1");
    log_info("event=http_security tls=%s tokens=%zu", h->tls_cert ? "on" : "off",
             tokens_count(h->tokens));
    if (loopback)
        return;
    if (!h->tokens)
        log_warn("event=http_open listen=%s msg=\"HTTP is bound past loopback without "
                 "--http-token-file: anyone who reaches it can run jobs\"",
                 h->cfg.listen);
    else if (!h->tls_cert)
        log_warn("event=http_cleartext listen=%s msg=\"bearer tokens without --tls-cert travel in "
                 "the clear past loopback\"",
                 h->cfg.listen);
}
