/* http_events.h -- GET /v1/events: Server-Sent Events, one `event:
 * snapshot` a second for the dashboard, each stream bounded (see
 * http_events.c). Loop thread only. */
#ifndef OFFLOAD_HTTP_EVENTS_H
#define OFFLOAD_HTTP_EVENTS_H

#include "http_int.h"

/* Whether req may open a stream: 0, or -1 with its error set on req (503
 * too_many_streams past --max-event-streams, counted) for the caller to
 * answer. */
int http_events_admit(http_request *req);

/* Opens req's stream (after http_events_admit) and returns its response
 * (200), for the caller to queue and drop: the newest snapshot at once,
 * then one a second. The stream ends when its connection does
 * (http_events_end, which the request's end calls however it ends), at a
 * drain (http_events_end_all) or after --event-stall-ms without a byte
 * taken. NULL (no stream) when out of memory. */
struct MHD_Response *http_events_response(http_request *req);

/* req's request ended (MHD's completion, with its reason): its stream
 * leaves the front's list (a stream closed for --event-stall-ms is
 * counted). No-op for a request without a stream. */
void http_events_end(http_request *req, enum MHD_RequestTerminationCode toe);

/* Ends every stream: each finishes the snapshot it is writing and ends
 * (its connection closes); the snapshots stop. hard (the front stopping)
 * also shuts down the sockets of those still open, so a client that does
 * not read holds nothing up. Suspended streams are resumed (MHD_stop_daemon
 * needs it). */
void http_events_end_all(http_front *h, int hard);

#endif
