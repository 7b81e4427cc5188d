/* http_events.c -- GET /v1/events, Server-Sent Events for the dashboard:
 *
 *   id: 17
 *   event: snapshot
 *   data: {"t":...,"queues":[...],"executors":[...],"stats":{...},"failures":[...]}
 *
 * one a second (http_status_snapshot), built once for every stream and
 * shared (reference counted). A stream is an MHD response from a callback
 * (MHD_create_response_from_callback, chunked): MHD asks it for bytes
 * when its connection can take them; with nothing new it suspends its
 * connection (MHD_suspend_connection from the callback, the documented way
 * to wait) and the next snapshot resumes it.
 *
 * Bounds, so a client that never reads costs little and blocks nothing:
 *   - at most --max-event-streams streams (past it 503 too_many_streams,
 *     counted in event_streams_refused);
 *   - a stream holds at most two snapshots: the one it is writing and
 *     the newest; a newer one replaces one not yet begun
 *     (event_snapshots_skipped), so a slow reader gets the latest state,
 *     never a backlog;
 *   - its socket's send buffer is set to HTTP_EVENTS_SNDBUF, and MHD's to
 *     HTTP_EVENTS_BLOCK;
 *   - a stream that takes no byte for --event-stall-ms (rounded up to a
 *     second: MHD's connection timeout, which does not run while the
 *     stream waits suspended for its next snapshot) is closed
 *     (event_streams_stalled).
 * Streams are not requests the drain waits for: a drain ends them
 * (http_events_end_all), and the front's stop shuts down the sockets of
 * any still open. Owns the front's streams, its snapshot timer and its
 * latest snapshot. Loop thread only. */
#include "http_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <utlist.h>

#include "clock.h"
#include "http_status.h"
#include "log.h"

#define HTTP_EVENTS_EVERY_US 1000000
#define HTTP_EVENTS_SNDBUF (16 << 10) /* the kernel doubles it */
#define HTTP_EVENTS_BLOCK (16 << 10)

struct http_snapshot {
    unsigned refs;
    size_t len;
    char text[]; /* the whole event, "id: ...\n\n" */
};

struct http_stream {
    http_front *front; /* NULL once its request ended */
    struct MHD_Connection *conn;
    http_snapshot *cur; /* being written, from off */
    size_t off;
    http_snapshot *next;             /* the newest, not yet begun */
    int refs;                        /* its request's and its response's: freed at 0 */
    int suspended;                   /* waiting for a snapshot */
    int ending;                      /* a drain: end once cur is written */
    http_stream *prev, *next_stream; /* front->streams */
};

static log_limiter http_events_limiter;

static http_snapshot *http_snapshot_new(http_front *h)
{
    char *json = http_status_snapshot(h);
    if (!json)
        return NULL;
    size_t n = strlen(json), cap = n + 64;
    http_snapshot *s = malloc(sizeof(*s) + cap);
    if (s) {
        s->refs = 1;
        s->len = (size_t)snprintf(s->text, cap, "id: %llu\nevent: snapshot\ndata: %s\n\n",
                                  (unsigned long long)++h->snapshot_seq, json);
    }
    free(json);
    return s;
}

static http_snapshot *http_snapshot_ref(http_snapshot *s)
{
    if (s)
        s->refs++;
    return s;
}

static void http_snapshot_unref(http_snapshot **sp)
{
    http_snapshot *s = *sp;
    *sp = NULL;
    if (s && --s->refs == 0)
        free(s);
}

static void http_stream_unref(http_stream *s)
{
    if (--s->refs > 0)
        return;
    http_snapshot_unref(&s->cur);
    http_snapshot_unref(&s->next);
    free(s);
}

static void http_stream_resume(http_stream *s)
{
    if (!s->suspended)
        return;
    s->suspended = 0;
    s->front->kick = 1;
    MHD_resume_connection(s->conn);
}

/* MHD's content reader: the bytes of the snapshot being written, or a
 * suspension until the next one, or the end (a drain). */
static ssize_t http_events_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    http_stream *s = cls;
    (void)pos;
    if (!s->cur && s->next && !s->ending) {
        s->cur = s->next;
        s->next = NULL;
        s->off = 0;
    }
    if (s->cur) {
        size_t n = s->cur->len - s->off;
        if (n > max)
            n = max;
        memcpy(buf, s->cur->text + s->off, n);
        s->off += n;
        if (s->off == s->cur->len) {
            http_snapshot_unref(&s->cur);
            if (s->front)
                core_count(s->front->core, STAT_event_snapshots_sent);
        }
        return (ssize_t)n;
    }
    if (s->ending || !s->front)
        return MHD_CONTENT_READER_END_OF_STREAM;
    MHD_suspend_connection(s->conn);
    s->suspended = 1;
    return 0;
}

/* MHD frees the response: its reference goes. */
static void http_events_free(void *cls)
{
    http_stream_unref(cls);
}

/* Every second while streams are open: a new snapshot for each. */
static void http_events_tick(gw_timer *t, void *arg)
{
    http_front *h = arg;
    uint64_t due = t->due_us + HTTP_EVENTS_EVERY_US, now = clock_now_us();
    http_snapshot_unref(&h->latest);
    if (!h->nstreams)
        return; /* the last one ended: no timer until the next opens */
    h->latest = http_snapshot_new(h);
    for (http_stream *s = h->streams; s && h->latest; s = s->next_stream) {
        if (s->ending)
            continue;
        if (s->next) {
            /* Its client has not taken the one before: the newest only. */
            http_snapshot_unref(&s->next);
            core_count(h->core, STAT_event_snapshots_skipped);
        }
        s->next = http_snapshot_ref(h->latest);
        http_stream_resume(s);
    }
    loop_timer_start(h->loop, &h->events_tick, due > now ? due : now + HTTP_EVENTS_EVERY_US,
                     http_events_tick, h);
}

int http_events_admit(http_request *req)
{
    http_front *h = req->front;
    if (h->nstreams < (unsigned long long)h->cfg.max_event_streams)
        return 0;
    core_count(h->core, STAT_event_streams_refused);
    if (log_limiter_allow(&http_events_limiter, 5))
        log_warn("event=event_stream_refused streams=%u max_event_streams=%lld", h->nstreams,
                 h->cfg.max_event_streams);
    req->target = TARGET_ERROR;
    req->err_code = HTTP_ERR_TOO_MANY_STREAMS;
    snprintf(req->err_msg, sizeof(req->err_msg),
             "%u event streams are open, as many as --max-event-streams allows: close one "
             "(another dashboard?) or raise the flag",
             h->nstreams);
    return -1;
}

struct MHD_Response *http_events_response(http_request *req)
{
    http_front *h = req->front;
    http_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->front = h;
    s->conn = req->conn;
    s->refs = 1;
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, HTTP_EVENTS_BLOCK, http_events_read, s, http_events_free);
    if (!r) {
        free(s);
        return NULL;
    }
    s->refs = 2; /* the response's (http_events_free) and the request's (http_events_end) */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    MHD_add_response_header(r, "X-Accel-Buffering", "no"); /* a proxy in front: do not buffer */
    DL_APPEND2(h->streams, s, prev, next_stream);
    h->nstreams++;
    req->stream = s;
    core_count(h->core, STAT_event_streams_opened);
    /* The newest snapshot at once: the page shows data before the tick. */
    if (!h->latest)
        h->latest = http_snapshot_new(h);
    s->next = http_snapshot_ref(h->latest);
    if (!timer_active(&h->events_tick))
        loop_timer_start(h->loop, &h->events_tick, clock_now_us() + HTTP_EVENTS_EVERY_US,
                         http_events_tick, h);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
        int size = HTTP_EVENTS_SNDBUF;
        setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    }
    MHD_set_connection_option(req->conn, MHD_CONNECTION_OPTION_TIMEOUT,
                              (unsigned int)((h->cfg.event_stall_ms + 999) / 1000));
    log_debug("event=event_stream_open streams=%u", h->nstreams);
    return r;
}

void http_events_end(http_request *req, enum MHD_RequestTerminationCode toe)
{
    http_stream *s = req->stream;
    if (!s)
        return;
    req->stream = NULL;
    http_front *h = s->front;
    if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) {
        core_count(h->core, STAT_event_streams_stalled);
        if (log_limiter_allow(&http_events_limiter, 5))
            log_info("event=event_stream_stalled event_stall_ms=%lld msg=\"its client took no "
                     "bytes: closed\"",
                     h->cfg.event_stall_ms);
    }
    DL_DELETE2(h->streams, s, prev, next_stream);
    h->nstreams--;
    s->front = NULL;
    http_snapshot_unref(&s->cur);
    http_snapshot_unref(&s->next);
    log_debug("event=event_stream_end streams=%u toe=%d", h->nstreams, (int)toe);
    http_stream_unref(s);
}

void http_events_end_all(http_front *h, int hard)
{
    for (http_stream *s = h->streams; s; s = s->next_stream) {
        s->ending = 1;
        http_snapshot_unref(&s->next);
        http_stream_resume(s);
        const union MHD_ConnectionInfo *ci =
            hard ? MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD) : NULL;
        if (ci)
            shutdown(ci->connect_fd, SHUT_RDWR);
    }
    loop_timer_stop(h->loop, &h->events_tick);
    http_snapshot_unref(&h->latest);
}
