/* routes.h -- the gateway's table of user routes, set by repeatable
 * --route flags so that an existing app's URLs are served unchanged:
 *
 *   --route 'GET /test/async=delay:3000'          answered by a timer alone
 *   --route 'GET /test/sync=job:io/sleep:3000'    a job: queue io, function
 *                                                 sleep, payload "3000"
 *   --route 'POST /resize=job:cpu/resize'         no payload: the request body
 *
 * Paths match exactly (the query string is not part of the path). The
 * built-in paths (/healthz, /readyz, /metrics, /ui and everything under
 * /v1/ and /ui/) are reserved. */
#ifndef OFFLOAD_ROUTES_H
#define OFFLOAD_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

#define ROUTE_METHOD_MAX 15
#define ROUTE_PATH_MAX 1024
#define ROUTE_DELAY_MAX_MS ((long long)CODEC_MS_MAX)

typedef enum route_kind { ROUTE_DELAY, ROUTE_JOB } route_kind;

typedef struct route {
    char method[ROUTE_METHOD_MAX + 1];
    char *path;
    route_kind kind;
    uint32_t delay_ms;                 /* ROUTE_DELAY */
    char queue[CODEC_NAME_MAX + 1];    /* ROUTE_JOB */
    char function[CODEC_NAME_MAX + 1]; /* ROUTE_JOB */
    char *payload;                     /* ROUTE_JOB; NULL: the request body */
} route;

typedef struct route_table {
    route *routes;
    size_t count;
} route_table;

/* Parses one --route value into out (which owns its strings afterwards; see
 * route_free). Returns 0, or -1 with err saying what is wrong and what the
 * form is. */
int route_parse(const char *spec, route *out, char *err, size_t errlen);
void route_free(route *r);

/* Parses spec and appends it. A second route for the same method and path
 * is an error. Returns 0 or -1 with err set. */
int route_table_add(route_table *t, const char *spec, char *err, size_t errlen);

/* The route for method and path, or NULL. When NULL and *path_known is
 * set, the path exists under another method (405). */
const route *route_table_find(const route_table *t, const char *method, const char *path,
                              int *path_known);

/* Writes the methods routed for path into buf as "GET, POST" (for an
 * Allow header). Returns the number of methods. */
int route_table_methods(const route_table *t, const char *path, char *buf, size_t buflen);

/* True if path is a built-in one that user routes may not shadow. */
int route_path_reserved(const char *path);

void route_table_free(route_table *t);

#endif
