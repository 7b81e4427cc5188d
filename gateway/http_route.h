/* http_route.h -- the HTTP front's route table: a request's method and
 * path to what it is for (see http_route.c). Loop thread only. */
#ifndef OFFLOAD_HTTP_ROUTE_H
#define OFFLOAD_HTTP_ROUTE_H

#include <stddef.h>

#include "http_int.h"

/* Parses the --route table into h->routes and declares the queues its job
 * routes name. Returns 0 or -1 with err set. */
int http_route_load(http_front *h, char *err, size_t errlen);

/* Decides what a new request is for, from its method and path: sets its
 * target and what the target needs (queue, function, query values), or
 * TARGET_ERROR with the error. */
void http_route_resolve(http_request *req, const char *method, const char *url);

#endif
