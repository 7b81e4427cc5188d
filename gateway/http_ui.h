/* http_ui.h -- the dashboard's files (GET /ui, /ui/app.js, /ui/style.css),
 * compiled into the gateway from gateway/ui/ (the Makefile turns them into
 * build/gen/ui_assets.c): see http_ui.c. Loop thread only. */
#ifndef OFFLOAD_HTTP_UI_H
#define OFFLOAD_HTTP_UI_H

#include "http_int.h"

/* The dashboard file that url names (an index for http_ui_response), or -1
 * when url is none of them. */
int http_ui_find(const char *url);

/* The answer to req (TARGET_UI, req->asset set by http_ui_find), for the
 * caller to queue: its file with Content-Type, ETag, Cache-Control and the
 * Content-Security-Policy (*status 200), or 304 when If-None-Match holds
 * its ETag. NULL when out of memory. */
struct MHD_Response *http_ui_response(http_request *req, unsigned *status);

#endif
