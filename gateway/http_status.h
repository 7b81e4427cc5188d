/* http_status.h -- the JSON documents of the HTTP front's read-only
 * routes: GET /v1/stats, GET /v1/failures, and the dashboard's snapshot
 * that GET /v1/events streams (see http_status.c). Loop thread only. */
#ifndef OFFLOAD_HTTP_STATUS_H
#define OFFLOAD_HTTP_STATUS_H

#include <jansson.h>

#include "http_int.h"

/* GET /v1/stats: the gateway's gauges and every counter of stats.h, by
 * name. A new reference, or NULL when out of memory. */
json_t *http_status_stats(http_front *h);

/* GET /v1/failures: {"total": N, "failures": [...]} (failures.h), newest
 * first. A new reference, or NULL. */
json_t *http_status_failures(http_front *h);

/* One snapshot for GET /v1/events, compact JSON text (malloc'd, the
 * caller's; NULL when out of memory): {"t": ms since the epoch, every
 * member of GET /v1/queues ("queues", "executors"), "stats": GET /v1/stats, "failures":
 * the recent failures}. */
char *http_status_snapshot(http_front *h);

#endif
