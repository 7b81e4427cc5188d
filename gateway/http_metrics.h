/* http_metrics.h -- GET /metrics: the gateway's numbers in Prometheus'
 * text exposition format 0.0.4 (docs/metrics.md lists every series), and
 * the cache that makes a flood of scrapes cost one render per
 * --metrics-cache-ms (see http_metrics.c). Loop thread only. */
#ifndef OFFLOAD_HTTP_METRICS_H
#define OFFLOAD_HTTP_METRICS_H

#include "http_int.h"
#include "strbuf.h"

/* The Content-Type of every /metrics answer, whatever the Accept header. */
#define HTTP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Renders the whole document into b: the core's queues, histograms, jobs
 * by outcome, executors, counters and gauges, the HTTP responses by
 * status, and this process's resource use. Reads the core through its
 * API only. b->failed says when memory ran out. */
void http_metrics_render(gw_core *core, strbuf *b);

/* The answer to GET /metrics (counted in metrics_scrapes): the body
 * rendered less than --metrics-cache-ms ago (metrics_cache_hits), or a
 * new one. The front keeps its reference: the caller queues it and must
 * not destroy it. NULL when out of memory. */
struct MHD_Response *http_metrics_response(http_front *h);

/* Drops the front's reference to the last body (when the front stops). */
void http_metrics_free(http_front *h);

#endif
