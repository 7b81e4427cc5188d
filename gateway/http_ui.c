/* http_ui.c -- the dashboard's files. gateway/ui/index.html, app.js and
 * style.css (and favicon.svg) are compiled in (build/gen/ui_assets.c, made by the Makefile
 * with xxd -i; never in git), so the gateway serves them with no file, CDN
 * or other fetch: GET /ui (and /ui/, /ui/index.html), /ui/app.js,
 * /ui/style.css, /ui/favicon.svg. They hold no data (the page reads GET /v1/events with the
 * caller's token), so they need no token (http_auth.c). Each answer carries
 * its type, an ETag (a hash of the bytes, so a new build's files are
 * fetched again: Cache-Control no-cache revalidates), a strict
 * Content-Security-Policy (files of this origin only: no inline script or
 * style, no other host), nosniff and no framing. Loop thread only. */
#include "http_ui.h"

#include <stdio.h>
#include <string.h>

/* build/gen/ui_assets.c */
extern const unsigned char ui_asset_index_html[], ui_asset_app_js[], ui_asset_style_css[],
    ui_asset_favicon_svg[];
extern const unsigned int ui_asset_index_html_len, ui_asset_app_js_len, ui_asset_style_css_len,
    ui_asset_favicon_svg_len;

#define HTTP_UI_CSP                                                                                \
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "                \
    "img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "                     \
    "frame-ancestors 'none'"

typedef struct http_ui_file {
    const char *path;
    const char *type;
    const unsigned char *bytes;
    const unsigned int *len;
} http_ui_file;

static const http_ui_file http_ui_files[] = {
    {"/ui", "text/html; charset=utf-8", ui_asset_index_html, &ui_asset_index_html_len},
    {"/ui/app.js", "text/javascript; charset=utf-8", ui_asset_app_js, &ui_asset_app_js_len},
    {"/ui/style.css", "text/css; charset=utf-8", ui_asset_style_css, &ui_asset_style_css_len},
    {"/ui/favicon.svg", "image/svg+xml", ui_asset_favicon_svg, &ui_asset_favicon_svg_len},
};
#define HTTP_UI_FILES (sizeof(http_ui_files) / sizeof(http_ui_files[0]))

static char http_ui_etags[HTTP_UI_FILES][24]; /* "\"<16 hex>\"", made once */

int http_ui_find(const char *url)
{
    if (!strcmp(url, "/ui/") || !strcmp(url, "/ui/index.html"))
        return 0;
    for (size_t i = 0; i < HTTP_UI_FILES; i++)
        if (!strcmp(url, http_ui_files[i].path))
            return (int)i;
    return -1;
}

/* The file's ETag: FNV-1a (64 bits) of its bytes. */
static const char *http_ui_etag(size_t i)
{
    if (!http_ui_etags[i][0]) {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (unsigned k = 0; k < *http_ui_files[i].len; k++)
            h = (h ^ http_ui_files[i].bytes[k]) * 0x100000001b3ULL;
        snprintf(http_ui_etags[i], sizeof(http_ui_etags[i]), "\"%016llx\"", (unsigned long long)h);
    }
    return http_ui_etags[i];
}

struct MHD_Response *http_ui_response(http_request *req, unsigned *status)
{
    size_t i = req->asset >= 0 && (size_t)req->asset < HTTP_UI_FILES ? (size_t)req->asset : 0;
    const http_ui_file *f = &http_ui_files[i];
    const char *etag = http_ui_etag(i);
    const char *match =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    struct MHD_Response *r;
    *status = MHD_HTTP_OK;
    if (match && (strstr(match, etag) || !strcmp(match, "*"))) {
        *status = MHD_HTTP_NOT_MODIFIED;
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else {
        r = MHD_create_response_from_buffer(*f->len, (void *)f->bytes, MHD_RESPMEM_PERSISTENT);
        if (r)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, f->type);
    }
    if (!r)
        return NULL;
    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "Content-Security-Policy", HTTP_UI_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    return r;
}
