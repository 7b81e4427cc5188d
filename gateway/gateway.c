/* gateway.c -- wires the core and the fronts together (see gateway.h) and
 * holds the parts that belong to no one module: the two ZeroMQ sockets and
 * their reader, CURVE, the drain on SIGTERM, and the heap trim.
 *
 * A loop turn: read the executors socket, the clients socket and the HTTP
 * front's fds; run the timers (deadlines, heartbeats, /v1/delay); let MHD
 * answer and resume; reap executors marked dead during the turn; stop if a
 * drain is done.
 *
 * Why MHD runs in external mode inside this loop rather than on MHD's own
 * thread with cross-thread resume: see http.c. */
#include "gateway.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "http.h"
#include "log.h"
#include "wire.h"

#define GW_MONITOR_BATCH 256      /* monitor events read per turn (small, fixed size) */
#define GW_GOODBYE_LINGER_MS 200  /* at exit, time for the Goodbyes to leave */
#define GW_READY_EVERY_US 1000000 /* readiness is checked this often (logged on change) */
#define GW_TRIM_EVERY_US 1000000  /* the heap is looked at this often; */
#define GW_TRIM_GROWTH (16 << 20) /* trimmed when RSS grew this much since ... */
#define GW_TRIM_BUSY_US 50000     /* ... in a second with the loop busy less than this, */
#define GW_TRIM_DEFERS 30         /* ... or after this many busy seconds */

static log_limiter gw_limiter;

/* ---- the sockets ---------------------------------------------------- */

static int gw_send_exec(void *arg, const wire_rid *rid, codec_envelope *env)
{
    gateway *gw = arg;
    return wire_send(gw->exec_sock, rid, env, ZMQ_DONTWAIT);
}

static int gw_send_client(void *arg, const wire_rid *rid, codec_envelope *env)
{
    gateway *gw = arg;
    return wire_send(gw->client_sock, rid, env, ZMQ_DONTWAIT);
}

static void gw_refuse(void *sock, const wire_rid *rid, Offload__RefuseReason reason,
                      const char *message)
{
    Offload__Envelope env;
    Offload__Refuse refuse;
    codec_refuse(&env, &refuse, reason, message);
    wire_send(sock, rid, &env, ZMQ_DONTWAIT);
}

/* Counts and logs a frame that failed decoding. Another protocol version
 * gets a Refuse saying ours, an invalid message one saying why; a frame
 * that is not an Envelope at all gets nothing (there is no one to answer
 * but a peer that does not speak the protocol). */
static void gw_bad_frame(gateway *gw, void *sock, const char *name, const wire_rid *rid, int rc,
                         const char *err)
{
    char hex[2 * WIRE_RID_MAX + 1];
    int log = log_limiter_allow(&gw_limiter, 5);
    if (rc == CODEC_EVERSION) {
        stats_inc(&gw->core.stats, STAT_frames_version);
        if (log)
            log_error("event=version_mismatch socket=%s peer=%s error=\"%s\"", name,
                      wire_rid_hex(rid, hex, sizeof(hex)), err);
        char msg[128];
        snprintf(msg, sizeof(msg), "this gateway speaks protocol version %d",
                 OFFLOAD_PROTOCOL_VERSION);
        gw_refuse(sock, rid, OFFLOAD__REFUSE_REASON__REFUSE_VERSION, msg);
        return;
    }
    stats_inc(&gw->core.stats, STAT_frames_bad);
    if (log)
        log_warn("event=frame_dropped socket=%s peer=%s error=\"%s\"", name,
                 wire_rid_hex(rid, hex, sizeof(hex)), err);
    if (rc == CODEC_EINVALID)
        gw_refuse(sock, rid, OFFLOAD__REFUSE_REASON__REFUSE_INVALID, err);
}

typedef void (*gw_msg_fn)(void *front, const wire_rid *rid, codec_envelope *env);

/* Reads messages from one ROUTER socket, hands each valid one to
 * on_msg(front, ...) and counts (and answers) the others, until the socket
 * is empty or this turn's budget for it (--turn-budget-us, -bytes) is
 * spent: a flood of large frames on one socket delays the other sources,
 * the timers and HTTP by one budget, not by its whole backlog. */
static void gw_read(gateway *gw, void *sock, const char *name, size_t max, gw_msg_fn on_msg,
                    void *front)
{
    loop_budget budget;
    loop_budget_start(&gw->core.loop, &budget);
    for (;;) {
        wire_rid rid = {0};
        codec_envelope *env;
        char err[256];
        int rc = wire_recv(sock, &rid, max, &env, NULL, err, sizeof(err));
        if (rc == -EAGAIN || rc == -EINTR)
            return;
        size_t size = 0;
        if (rc < 0) {
            gw_bad_frame(gw, sock, name, &rid, rc, err);
        } else {
            size = codec_size(env);
            on_msg(front, &rid, env);
            codec_free(env);
        }
        if (!loop_budget_spend(&budget, size))
            return;
    }
}

static void gw_on_exec_msg(void *front, const wire_rid *rid, codec_envelope *env)
{
    executors_on_message(front, rid, env);
}

static void gw_on_client_msg(void *front, const wire_rid *rid, codec_envelope *env)
{
    clients_on_message(front, rid, env, clock_now_us());
}

/* The largest frame read from an executor: --max-frame, else the larger of
 * 2 x --max-payload and --max-payload + 64M. A Result over --max-payload but
 * within it answers its caller payload_too_large and keeps the executor
 * (executors.c); ZeroMQ drops the connection of a peer sending more. */
static size_t gw_exec_frame_max(const gateway_config *cfg)
{
    size_t payload = (size_t)cfg->max_payload;
    size_t frame = cfg->max_frame > 0                    ? (size_t)cfg->max_frame
                   : 2 * payload > payload + (64u << 20) ? 2 * payload
                                                         : payload + (64u << 20);
    if (frame < payload)
        frame = payload;
    return frame + WIRE_FRAME_SLACK;
}

static void gw_read_executors(void *arg)
{
    gateway *gw = arg;
    gw_read(gw, gw->exec_sock, "executors", gw_exec_frame_max(gw->cfg), gw_on_exec_msg,
            &gw->core.executors);
}

static void gw_read_clients(void *arg)
{
    gateway *gw = arg;
    gw_read(gw, gw->client_sock, "clients", (size_t)gw->cfg->max_payload + WIRE_FRAME_SLACK,
            gw_on_client_msg, &gw->clients);
}

/* A bound ROUTER socket; rcvhwm: messages queued per peer before they are
 * read (see wire_rcvhwm). */
static void *gw_bind(gateway *gw, const char *endpoint, const char *name, int rcvhwm,
                     size_t max_frame, char *bound, size_t boundlen, char *err, size_t errlen)
{
    void *s = zmq_socket(gw->zctx, ZMQ_ROUTER);
    int one = 1, zero = 0, hwm = WIRE_HWM;
    int64_t maxmsg = (int64_t)max_frame;
    if (!s)
        goto err;
    if (zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) ||
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)) ||
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm)) ||
        zmq_setsockopt(s, ZMQ_RCVHWM, &rcvhwm, sizeof(rcvhwm)) ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)))
        goto err;
    /* A CURVE server: every peer proves its key, which the ZAP handler
     * (zap.c) checks; the ZAP domain names the socket in its logs. */
    if (gw->curve_secret[0] &&
        (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) ||
         zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, gw->curve_secret, KEYS_Z85_LEN) ||
         zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, name, strlen(name))))
        goto err;
    if (zmq_bind(s, endpoint) != 0)
        goto err;
    size_t len = boundlen;
    if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, bound, &len) != 0)
        snprintf(bound, boundlen, "%s", endpoint);
    return s;

err:
    snprintf(err, errlen, "cannot bind ZeroMQ endpoint '%s': %s (is the port in use?)", endpoint,
             zmq_strerror(errno));
    if (s)
        zmq_close(s);
    return NULL;
}

/* ---- CURVE ------------------------------------------------------------ */

/* Loads --curve-key and starts the ZAP handler over --curve-allow, before
 * the sockets are bound (they need the key; a CURVE server needs the
 * handler in place before the first peer connects). */
static int gw_curve_start(gateway *gw, char *err, size_t errlen)
{
    const gateway_config *cfg = gw->cfg;
    if (!cfg->curve_key && !cfg->curve_allow)
        return 0;
    if (!cfg->curve_key || !cfg->curve_allow) {
        snprintf(err, errlen,
                 "--curve-key and --curve-allow go together: give both (CURVE on) or neither");
        return -1;
    }
    keys_file kf;
    if (keys_read(cfg->curve_key, 1, &kf, err, errlen) < 0)
        return -1;
    memcpy(gw->curve_secret, kf.secret_key, sizeof(gw->curve_secret));
    memset(&kf, 0, sizeof(kf));
    if (zap_start(&gw->zap, gw->zctx, cfg->curve_allow, &gw->core.stats, err, errlen) < 0)
        return -1;
    gw->core.executors.zap = &gw->zap;
    return 0;
}

/* A PAIR socket receiving sock's handshake failures, for the peers that
 * fail before the ZAP handler sees a key (no CURVE, a wrong server key). */
static void *gw_monitor(gateway *gw, void *sock, const char *name, char *err, size_t errlen)
{
    char addr[64];
    snprintf(addr, sizeof(addr), "inproc://offload-gateway-monitor-%s", name);
    void *m =
        wire_monitor(gw->zctx, sock, addr,
                     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    if (!m)
        snprintf(err, errlen, "ZeroMQ monitor for the %s socket: %s", name, zmq_strerror(errno));
    return m;
}

static void gw_read_monitor(gateway *gw, void *m, const char *name)
{
    uint16_t event;
    uint32_t value;
    char ep[128];
    for (int i = 0; i < GW_MONITOR_BATCH && wire_monitor_event(m, &event, &value, ep, sizeof(ep));
         i++) {
        stats_inc(&gw->core.stats, STAT_handshakes_failed);
        if (log_limiter_allow(&gw_limiter, 5))
            log_warn("event=handshake_failed socket=%s endpoint=%s reason=%s value=0x%x "
                     "hint=\"a peer without CURVE keys, with another server key, or not "
                     "speaking ZMTP\"",
                     name, ep, event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol" : "io",
                     value);
    }
}

static void gw_read_exec_monitor(void *arg)
{
    gateway *gw = arg;
    gw_read_monitor(gw, gw->exec_monitor, "executors");
}

static void gw_read_client_monitor(void *arg)
{
    gateway *gw = arg;
    gw_read_monitor(gw, gw->client_monitor, "clients");
}

/* Unauthenticated sockets that other hosts can reach: say so loudly. */
static void gw_warn_insecure(gateway *gw)
{
    if (gw->curve_secret[0])
        return;
    const char *eps[2] = {gw->cfg->executors, gw->cfg->clients};
    const char *names[2] = {"executors", "clients"};
    for (int i = 0; i < 2; i++)
        if (!keys_endpoint_is_loopback(eps[i]))
            log_warn("event=insecure socket=%s endpoint=%s warning=\"WITHOUT --curve-key and "
                     "--curve-allow ANYONE WHO REACHES THIS ENDPOINT CAN %s; bind it to "
                     "127.0.0.1 or turn CURVE on (docs/security.md)\"",
                     names[i], eps[i],
                     i == 0 ? "REGISTER AS AN EXECUTOR AND READ AND ANSWER EVERY JOB"
                            : "SUBMIT JOBS");
}

void gateway_reload(gateway *gw)
{
    if (gw->zap.sock && zap_reload(&gw->zap) == 0) /* --curve-allow */
        executors_recheck(&gw->core.executors);
    http_reload_tokens(gw->http); /* --http-token-file */
}

/* ---- drain and stop ------------------------------------------------- */

static void gw_drain_deadline(gw_timer *t, void *arg)
{
    gateway *gw = arg;
    (void)t;
    log_warn("event=drain_timeout action=stop open_requests=answered_503");
    loop_stop(&gw->core.loop);
}

/* Checks readiness (GET /readyz's verdict) so that a change is logged and
 * counted even while no probe asks. */
static void gw_ready_note(gateway *gw)
{
    ready_report r;
    core_ready(&gw->core, &r);
}

static void gw_ready_tick(gw_timer *t, void *arg)
{
    gateway *gw = arg;
    loop_timer_start(&gw->core.loop, t, clock_now_us() + GW_READY_EVERY_US, gw_ready_tick, gw);
    gw_ready_note(gw);
}

/* SIGHUP re-reads what can change while the gateway runs (a failed read
 * keeps what was loaded). The first SIGINT/SIGTERM starts a drain: no new requests (the listening
 * socket closes; new requests on open connections get 503), the ones in
 * progress go on for up to --drain-timeout, then whatever is left gets 503.
 * A second signal stops at once. */
static void gw_on_signal(int signo, void *arg)
{
    gateway *gw = arg;
    const char *name = strsignal(signo);
    if (signo == SIGHUP) {
        log_info("event=signal signal=%s action=reload", name);
        gateway_reload(gw);
        return;
    }
    if (gw->core.draining || !gw->cfg->drain_timeout_ms) {
        log_info("event=signal signal=%s action=stop", name);
        loop_stop(&gw->core.loop);
        return;
    }
    log_info("event=signal signal=%s action=drain drain_timeout_ms=%lld", name,
             gw->cfg->drain_timeout_ms);
    gw->core.draining = 1;
    gw_ready_note(gw); /* not ready from now on: said at once */
    http_quiesce(gw->http);
    loop_timer_start(&gw->core.loop, &gw->drain_timer,
                     clock_now_us() + (uint64_t)gw->cfg->drain_timeout_ms * 1000, gw_drain_deadline,
                     gw);
}

static void gw_queue_freed(gw_queue *q, void *arg)
{
    gateway *gw = arg;
    stats_inc(&gw->core.stats, STAT_queues_freed);
    if (log_limiter_allow(&gw_limiter, 20))
        log_info("event=queue_freed queue=%s submitted=%llu completed=%llu", q->name,
                 (unsigned long long)q->submitted, (unsigned long long)q->completed);
}

/* The gateway's resident set, in bytes (0 if unknown). */
static uint64_t gw_rss(void)
{
    unsigned long long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Every second: once the heap grew by a flood, or a flood's memory was
 * freed, hand the free pages back to the system, so an idle gateway's RSS
 * returns near its start. Payload buffers are reused from the heap and
 * free() never trims it (main.c): releasing a flood's pages takes the
 * kernel a while (28 ms for about 100 MB), and the loop waits for it, so it
 * is done here, in a quiet second (the loop busy under GW_TRIM_BUSY_US of
 * it), or anyway after GW_TRIM_DEFERS busy ones. Either mark follows its
 * measure down, so memory freed after a trim (a flood that outlived 30
 * busy seconds, results kept for their TTL) is given back later. */
static void gw_trim(gw_timer *t, void *arg)
{
    gateway *gw = arg;
    uint64_t busy = gw->core.loop.stats.busy_us - gw->trim_busy_mark;
    gw->trim_busy_mark = gw->core.loop.stats.busy_us;
    loop_timer_start(&gw->core.loop, t, clock_now_us() + GW_TRIM_EVERY_US, gw_trim, gw);
    uint64_t rss = gw_rss(), heap_free = mallinfo2().fordblks;
    if (!rss)
        return; /* /proc unreadable (out of descriptors?): next second */
    if (rss < gw->trim_rss_mark)
        gw->trim_rss_mark = rss; /* memory went back some other way */
    if (heap_free < gw->trim_free_mark)
        gw->trim_free_mark = heap_free; /* reused */
    if (rss < gw->trim_rss_mark + GW_TRIM_GROWTH &&
        heap_free < gw->trim_free_mark + GW_TRIM_GROWTH) {
        gw->trim_defers = 0;
        return;
    }
    if (busy >= GW_TRIM_BUSY_US && ++gw->trim_defers < GW_TRIM_DEFERS)
        return;
    unsigned deferred = gw->trim_defers;
    gw->trim_defers = 0;
    struct mallinfo2 mi = mallinfo2();
    uint64_t t0 = clock_now_us();
    loop_exempt_turn(&gw->core.loop); /* by design, in a quiet second */
    malloc_trim(0);
    gw->core.trims++;
    gw->core.trim_us += clock_now_us() - t0;
    gw->trim_rss_mark = gw_rss();
    gw->trim_free_mark = mallinfo2().fordblks; /* free still, but given back */
    log_debug("event=heap_trimmed us=%llu deferred_s=%u rss_before=%llu rss_after=%llu "
              "heap_free=%zu main_top=%zu",
              (unsigned long long)(clock_now_us() - t0), deferred, (unsigned long long)rss,
              (unsigned long long)gw->trim_rss_mark, mi.fordblks, mi.keepcost);
}

/* The end of every turn: free the executors found dead during it, then the
 * queues nothing refers to any more, send the jobs the turn's dispatch
 * budget left waiting, and stop once a drain has nothing left to wait for. */
static void gw_end_turn(void *arg)
{
    gateway *gw = arg;
    executors_reap(&gw->core.executors);
    queue_table_reap(&gw->core.queues, gw_queue_freed, gw);
    if (jobs_turn_end(&gw->core.jobs))
        loop_again(&gw->core.loop);
    if (gw->core.draining && !http_pending(gw->http) && !jobs_open(&gw->core.jobs)) {
        log_info("event=drained action=stop");
        loop_stop(&gw->core.loop);
    }
}

/* ---- set-up ------------------------------------------------------------ */

int gateway_init(gateway *gw, const gateway_config *cfg, char *err, size_t errlen)
{
    memset(gw, 0, sizeof(*gw));
    gw->cfg = cfg;
    if (core_init(&gw->core, cfg, gw_send_exec, gw, err, errlen) < 0)
        return -1;
    clients_init(&gw->clients, &gw->core, &gw->core.loop.timers, gw_send_client, gw);
    gw->clients.max_clients = (size_t)cfg->max_clients;

    gw->zctx = zmq_ctx_new();
    if (!gw->zctx) {
        snprintf(err, errlen, "zmq_ctx_new: %s", zmq_strerror(errno));
        goto err;
    }
    if (gw_curve_start(gw, err, errlen) < 0)
        goto err;
    gw->exec_sock = gw_bind(gw, cfg->executors, "executors", WIRE_HWM, gw_exec_frame_max(cfg),
                            gw->exec_endpoint, sizeof(gw->exec_endpoint), err, errlen);
    if (!gw->exec_sock)
        goto err;
    /* Any caller may send Submits as fast as it likes: bound what libzmq
     * queues for each in bytes, not only in messages. */
    gw->client_sock =
        gw_bind(gw, cfg->clients, "clients", wire_rcvhwm(cfg->max_payload + WIRE_FRAME_SLACK),
                (size_t)cfg->max_payload + WIRE_FRAME_SLACK, gw->client_endpoint,
                sizeof(gw->client_endpoint), err, errlen);
    if (!gw->client_sock)
        goto err;
    if (gw->curve_secret[0] &&
        (!(gw->exec_monitor = gw_monitor(gw, gw->exec_sock, "executors", err, errlen)) ||
         !(gw->client_monitor = gw_monitor(gw, gw->client_sock, "clients", err, errlen))))
        goto err;
    gw_warn_insecure(gw);

    http_config hc = {.listen = cfg->http,
                      .routes = &cfg->routes,
                      .max_payload = cfg->max_payload,
                      .max_timeout_ms = cfg->max_timeout_ms,
                      .max_connections = cfg->max_connections,
                      .max_connections_per_ip = cfg->max_connections_per_ip,
                      .header_timeout_ms = cfg->header_timeout_ms,
                      .body_timeout_ms = cfg->body_timeout_ms,
                      .token_file = cfg->http_token_file,
                      .tls_cert = cfg->tls_cert,
                      .tls_key = cfg->tls_key,
                      .turn_accepts = cfg->turn_accepts,
                      .metrics_cache_ms = cfg->metrics_cache_ms,
                      .max_event_streams = cfg->max_event_streams,
                      .event_stall_ms = cfg->event_stall_ms};
    gw->http = http_start(&gw->core, &gw->core.loop, &hc, gw->http_endpoint,
                          sizeof(gw->http_endpoint), err, errlen);
    if (!gw->http)
        goto err;

    /* The order of a turn: see the file comment. */
    if (loop_add_socket(&gw->core.loop, gw->exec_sock, gw_read_executors, gw) < 0 ||
        (gw->zap.sock &&
         loop_add_socket(&gw->core.loop, gw->zap.sock, zap_on_readable, &gw->zap) < 0) ||
        (gw->exec_monitor &&
         loop_add_socket(&gw->core.loop, gw->exec_monitor, gw_read_exec_monitor, gw) < 0) ||
        (gw->client_monitor &&
         loop_add_socket(&gw->core.loop, gw->client_monitor, gw_read_client_monitor, gw) < 0) ||
        loop_add_socket(&gw->core.loop, gw->client_sock, gw_read_clients, gw) < 0 ||
        http_attach(gw->http, &gw->core.loop) < 0 ||
        loop_on_turn(&gw->core.loop, gw_end_turn, gw) < 0) {
        snprintf(err, errlen, "too many loop sources");
        goto err;
    }
    loop_on_signal(&gw->core.loop, gw_on_signal, gw);
    return 0;

err:
    gateway_close(gw);
    return -1;
}

int gateway_run(gateway *gw)
{
    log_info("event=listening id=%s http=%s executors=%s clients=%s max_payload=%lld "
             "max_held_bytes=%lld default_timeout_ms=%lld routes=%zu",
             gw->cfg->id, gw->http_endpoint, gw->exec_endpoint, gw->client_endpoint,
             gw->cfg->max_payload, gw->cfg->max_held_bytes, gw->cfg->default_timeout_ms,
             gw->cfg->routes.count);
    gw->trim_rss_mark = gw_rss();
    gw->trim_free_mark = mallinfo2().fordblks;
    loop_timer_start(&gw->core.loop, &gw->trim_timer, clock_now_us() + GW_TRIM_EVERY_US, gw_trim,
                     gw);
    gw_ready_note(gw); /* the first verdict, logged at start */
    loop_timer_start(&gw->core.loop, &gw->ready_timer, clock_now_us() + GW_READY_EVERY_US,
                     gw_ready_tick, gw);
    int rc = loop_run(&gw->core.loop);
    http_shutdown(gw->http);
    return rc;
}

void gateway_close(gateway *gw)
{
    /* HTTP callers were answered by http_shutdown; answer every job left,
     * tell the executors, then free the tables. */
    core_answer_all(&gw->core, OFFLOAD__CODE__CODE_NO_EXECUTOR, "the gateway is shutting down");
    if (gw->exec_sock)
        executors_goodbye(&gw->core.executors, "the gateway is shutting down");
    http_stop(&gw->http);
    clients_close(&gw->clients);
    loop_timer_stop(&gw->core.loop, &gw->trim_timer);
    loop_timer_stop(&gw->core.loop, &gw->ready_timer);
    core_close(&gw->core);
    if (gw->exec_sock) {
        /* Long enough for the Goodbyes to leave, bounded. */
        int linger = GW_GOODBYE_LINGER_MS;
        zmq_setsockopt(gw->exec_sock, ZMQ_LINGER, &linger, sizeof(linger));
        zmq_close(gw->exec_sock);
    }
    if (gw->client_sock)
        zmq_close(gw->client_sock);
    if (gw->exec_monitor)
        zmq_close(gw->exec_monitor);
    if (gw->client_monitor)
        zmq_close(gw->client_monitor);
    zap_close(&gw->zap);
    memset(gw->curve_secret, 0, sizeof(gw->curve_secret));
    if (gw->zctx)
        zmq_ctx_term(gw->zctx);
    gw->exec_sock = gw->client_sock = gw->zctx = NULL;
    gw->exec_monitor = gw->client_monitor = NULL;
}
