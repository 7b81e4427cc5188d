/* session.c -- the session with each gateway, see session.h: owns each
 * link's registration state and times (exec_link's state, hello_*,
 * silent, welcomed, reopen_due_us) and the --ready-fd, and says the
 * Goodbyes that stop the executor (session_stop). */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "allowance.h"
#include "clock.h"
#include "inflight.h"
#include "outgoing.h"
#include "poolstats.h"

#define SESSION_RECV_BATCH 256 /* messages per link per loop turn */
#define SESSION_REOPEN_MS 1000 /* a dropped connection not back by then is reopened */

static uint64_t session_period_us(const executor *x)
{
    return (uint64_t)x->cfg->heartbeat_ms * 1000;
}

/* ---- Hello and Goodbye --------------------------------------------------- */

void session_send_hello(executor *x, exec_link *l)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_HELLO;
    env.hello = &x->hello;
    if (outgoing_send(x, l, &env) == 0) {
        l->last_hello_us = l->last_send_us;
        if (!l->connected)
            l->hello_queued = 1;
    } else {
        l->last_hello_us = clock_now_us(); /* retry on schedule, not in a spin */
    }
}

void session_stop(executor *x, const char *reason)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Goodbye bye = OFFLOAD__GOODBYE__INIT;
    log_info("event=stopping reason=\"%s\" jobs_in_flight=%u", reason, HASH_COUNT(x->jobs));
    bye.reason = (char *)reason;
    env.body_case = OFFLOAD__ENVELOPE__BODY_GOODBYE;
    env.goodbye = &bye;
    for (size_t i = 0; i < x->nlinks; i++)
        outgoing_send(x, x->links[i], &env);
    loop_stop(&x->loop);
}

/* ---- registration and heartbeats ----------------------------------------- */

void session_check_ready(executor *x)
{
    if (x->ready_fd < 0)
        return;
    /* Registered with every gateway, and those that share our pools by
     * Credit have applied one: their capacity is there. */
    for (size_t i = 0; i < x->nlinks; i++)
        if (!x->links[i]->welcomed || (x->links[i]->credit && !x->links[i]->credit_acked))
            return;
    if (write(x->ready_fd, "ready\n", 6) != 6)
        log_warn("event=ready_fd_failed fd=%d error=\"%s\"", x->ready_fd, strerror(errno));
    close(x->ready_fd);
    x->ready_fd = -1;
}

/* l is no longer registered: its gateway takes no part in the sharing
 * until its next Welcome, but keeps what it holds (a silent gateway may
 * come back on this connection and use its allowance). */
static void session_unregister(executor *x, exec_link *l)
{
    l->state = LINK_HELLO_SENT;
    for (size_t i = 0; i < x->cfg->nqueues; i++)
        x->queues[i].peers[l->index].active = 0;
}

static void session_on_welcome(executor *x, exec_link *l, const Offload__Welcome *w)
{
    snprintf(l->gateway_id, sizeof(l->gateway_id), "%s", w->gateway_id ? w->gateway_id : "");
    l->hello_backoff = 0;
    if (l->state == LINK_REGISTERED)
        return; /* the answer to a second Hello */
    l->state = LINK_REGISTERED;
    l->credit = w->credit;
    poolstats_on_welcome(x, l, w->pool_stats && x->cfg->pool_stats_ms);
    log_info("event=registered gateway=%s gateway_id=%s credit=%d pool_stats=%d", l->endpoint,
             l->gateway_id, l->credit, l->pool_stats);
    if (l->credit) {
        /* A new registration has 0 slots until a Credit; a second one keeps
         * what it had: send the allowances either way. */
        for (size_t i = 0; i < x->cfg->nqueues; i++)
            x->queues[i].peers[l->index].active = 1;
        uint64_t seq = l->credit_seq;
        allowance_balance(x, NULL);
        if (l->credit_seq == seq && !x->draining)
            allowance_send(x, l);
    }
    if (!l->welcomed) {
        l->welcomed = 1;
        session_check_ready(x);
    }
}

/* A gateway will never take us as we are: say why, and stop (non-zero). */
static void session_refused(executor *x, exec_link *l, const char *reason, const char *why)
{
    log_error("event=refused gateway=%s reason=%s message=\"%s\" action=exit", l->endpoint, reason,
              why);
    if (log_format_current == LOG_FORMAT_TEXT) /* else the line above says it all */
        fprintf(stderr, "offload-executor: %s: %s\n", l->endpoint, why);
    x->refused = 1;
    if (!x->loop.stopping)
        session_stop(x, "refused by a gateway");
}

static void session_on_refuse(executor *x, exec_link *l, const Offload__Refuse *r)
{
    const char *message = r->message ? r->message : "";
    uint64_t now = clock_now_us();
    switch (r->reason) {
    case OFFLOAD__REFUSE_REASON__REFUSE_UNKNOWN:
        /* The gateway does not know this connection (it restarted, or
         * dropped us): its jobs on us are gone. One Hello answers a burst of
         * these (one per message we sent before it). */
        inflight_orphan(x, l, "gateway_forgot_us");
        if (l->state == LINK_REGISTERED || now - l->last_hello_us >= session_period_us(x)) {
            log_info("event=hello gateway=%s reason=\"gateway does not know us\"", l->endpoint);
            session_unregister(x, l);
            session_send_hello(x, l);
        }
        break;
    case OFFLOAD__REFUSE_REASON__REFUSE_VERSION:
        log_error("event=version_refused gateway=%s gateway_version=%u our_version=%d "
                  "message=\"%s\" action=\"upgrade one side; retrying every %u ms\"",
                  l->endpoint, r->version, OFFLOAD_PROTOCOL_VERSION, message,
                  x->cfg->heartbeat_ms * x->cfg->liveness);
        session_unregister(x, l);
        l->hello_backoff = 1;
        break;
    case OFFLOAD__REFUSE_REASON__REFUSE_INVALID:
        log_error("event=refused gateway=%s reason=invalid message=\"%s\"", l->endpoint, message);
        l->hello_backoff = 1;
        break;
    case OFFLOAD__REFUSE_REASON__REFUSE_LIMIT:
        /* The message names the gateway's flag. Our heartbeat x liveness or
         * our function count will not change by asking again: stop, so the
         * misconfiguration is seen. Executors and queues may free up (others
         * leave): ask again every heartbeat x liveness. */
        session_unregister(x, l);
        l->hello_backoff = 1;
        if (strstr(message, "--max-silence-ms") || strstr(message, "--max-functions")) {
            session_refused(x, l, "limit", message);
        } else if (exec_log_allowed(x)) {
            log_error("event=refused gateway=%s reason=limit message=\"%s\" "
                      "action=\"retrying every %u ms\"",
                      l->endpoint, message, x->cfg->heartbeat_ms * x->cfg->liveness);
        }
        break;
    case OFFLOAD__REFUSE_REASON__REFUSE_FORBIDDEN:
        /* Our key may not serve a queue we declare: sending the same Hello
         * again gets the same answer. */
        session_unregister(x, l);
        session_refused(x, l, "forbidden", message);
        break;
    default:
        log_warn("event=refused gateway=%s reason=%d message=\"%s\"", l->endpoint, (int)r->reason,
                 message);
    }
}

static void session_on_message(executor *x, exec_link *l, codec_envelope *env)
{
    switch (env->body_case) {
    case OFFLOAD__ENVELOPE__BODY_JOB:
        inflight_on_job(x, l, env); /* takes env */
        return;
    case OFFLOAD__ENVELOPE__BODY_CANCEL:
        inflight_on_cancel(x, l, env->cancel);
        break;
    case OFFLOAD__ENVELOPE__BODY_HEARTBEAT:
        break;
    case OFFLOAD__ENVELOPE__BODY_DEMAND:
        if (allowance_on_demand(x, l, env->demand))
            session_check_ready(x);
        break;
    case OFFLOAD__ENVELOPE__BODY_WELCOME:
        session_on_welcome(x, l, env->welcome);
        break;
    case OFFLOAD__ENVELOPE__BODY_REFUSE:
        session_on_refuse(x, l, env->refuse);
        break;
    case OFFLOAD__ENVELOPE__BODY_GOODBYE:
        /* Its jobs keep running: a gateway that drains still wants their
         * Results, and one that exits drops the connection (orphaning them). */
        log_info("event=gateway_goodbye gateway=%s gateway_id=%s reason=\"%s\"", l->endpoint,
                 l->gateway_id, env->goodbye->reason ? env->goodbye->reason : "");
        session_unregister(x, l);
        break;
    default:
        x->stats.frames_unexpected++;
        if (exec_log_allowed(x))
            log_warn("event=frame_dropped gateway=%s reason=\"unexpected %s\"", l->endpoint,
                     codec_body_name(env->body_case));
    }
    codec_free(env);
}

static void session_read_link(executor *x, exec_link *l)
{
    for (int i = 0; i < SESSION_RECV_BATCH; i++) {
        codec_envelope *env;
        uint32_t peer_version = 0;
        char err[256];
        int rc = link_recv(l, &env, &peer_version, err, sizeof(err), clock_now_us());
        if (rc == -EAGAIN || rc == -EINTR || rc == -ETERM)
            return;
        l->silent = 0;
        if (rc == CODEC_EVERSION) {
            x->stats.frames_version++;
            if (exec_log_allowed(x))
                log_error("event=version_mismatch gateway=%s gateway_version=%u "
                          "our_version=%d error=\"%s\"",
                          l->endpoint, peer_version, OFFLOAD_PROTOCOL_VERSION, err);
            continue;
        }
        if (rc < 0) {
            x->stats.frames_bad++;
            if (exec_log_allowed(x))
                log_warn("event=frame_dropped gateway=%s error=\"%s\"", l->endpoint, err);
            continue;
        }
        session_on_message(x, l, env);
    }
}

static void session_link_events(executor *x, exec_link *l)
{
    int ev;
    while ((ev = link_event(l)) != 0) {
        if (ev == LINK_EV_AUTH) {
            /* Before the first Welcome: a setup error (keys), fail at
             * start. After one: the gateway changed its keys; keep trying. */
            if (!l->welcomed)
                session_refused(x, l, "auth", l->auth_error);
            else
                log_error("event=auth_failed gateway=%s message=\"%s\" action=retry", l->endpoint,
                          l->auth_error);
            continue;
        }
        if (ev == LINK_EV_DOWN) {
            log_warn("event=gateway_disconnected gateway=%s gateway_id=%s", l->endpoint,
                     l->gateway_id);
            session_unregister(x, l);
            inflight_orphan(x, l, "disconnected");
            if (!l->reopen_due_us)
                l->reopen_due_us = clock_now_us() + (uint64_t)SESSION_REOPEN_MS * 1000;
        } else {
            l->reopen_due_us = 0; /* ZeroMQ reconnected by itself */
            log_info("event=connected gateway=%s", l->endpoint);
            /* A Hello sent while disconnected is delivered now; else say one. */
            if (l->state != LINK_REGISTERED && !l->hello_queued)
                session_send_hello(x, l);
            l->hello_queued = 0;
        }
    }
}

/* Gives l new sockets: its connection dropped and did not come back (see
 * session.h: Reopening). */
static void session_reopen_link(executor *x, exec_link *l, uint64_t now)
{
    void *old_sock = l->sock, *old_monitor = l->monitor;
    char err[256];
    if (link_reopen(l, err, sizeof(err)) < 0) {
        log_warn("event=link_reopen_failed gateway=%s error=\"%s\"", l->endpoint, err);
        l->reopen_due_us = now + (uint64_t)SESSION_REOPEN_MS * 1000;
        return;
    }
    loop_replace_socket(&x->loop, old_monitor, l->monitor);
    loop_replace_socket(&x->loop, old_sock, l->sock);
    x->stats.reopens++;
    log_warn("event=link_reopened gateway=%s reopens=%llu reason=\"the connection dropped and "
             "ZeroMQ did not reconnect within %d ms\"",
             l->endpoint, (unsigned long long)l->reopens, SESSION_REOPEN_MS);
}

long session_tick(executor *x, uint64_t now)
{
    uint64_t period = session_period_us(x), dead = period * x->cfg->liveness;
    uint64_t next = now + dead;
    for (size_t i = 0; i < x->nlinks; i++) {
        exec_link *l = x->links[i];
        if (l->reopen_due_us && now >= l->reopen_due_us)
            session_reopen_link(x, l, now);
        if (l->reopen_due_us && l->reopen_due_us < next)
            next = l->reopen_due_us;
        if (!l->silent && now - l->last_recv_us >= dead) {
            l->silent = 1;
            log_warn("event=gateway_silent gateway=%s gateway_id=%s silent_ms=%llu", l->endpoint,
                     l->gateway_id, (unsigned long long)((now - l->last_recv_us) / 1000));
            if (l->state == LINK_REGISTERED) {
                session_unregister(x, l);
                session_send_hello(x, l);
            }
        }
        if (!l->silent && l->last_recv_us + dead < next)
            next = l->last_recv_us + dead;

        uint64_t due;
        if (l->credit_unsent && allowance_link_active(l) && !x->draining)
            allowance_send(x, l);
        if (l->state == LINK_REGISTERED) {
            due = l->last_send_us + period;
            if (now >= due) {
                Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
                Offload__Heartbeat hb = OFFLOAD__HEARTBEAT__INIT;
                env.body_case = OFFLOAD__ENVELOPE__BODY_HEARTBEAT;
                env.heartbeat = &hb;
                if (outgoing_send(x, l, &env) < 0)
                    l->last_send_us = now; /* retry in one period */
                due = l->last_send_us + period;
            }
        } else if (l->connected) {
            /* A silent gateway (stopped, or stalled) reads every Hello queued
             * meanwhile when it comes back: one per liveness window is enough. */
            uint64_t every = l->hello_backoff || l->silent ? dead : period;
            due = l->last_hello_us + every;
            if (now >= due) {
                session_send_hello(x, l);
                due = l->last_hello_us + every;
            }
        } else {
            /* Disconnected: ZeroMQ delivers a Hello sent meanwhile as soon as
             * the connection is back, or session_link_events says one then.
             * More would only pile up in ZeroMQ's queue. */
            due = next;
        }
        if (due < next)
            next = due;
    }
    uint64_t stats_due = poolstats_tick(x, now);
    if (stats_due < next)
        next = stats_due;
    return next > now ? (long)((next - now + 999) / 1000) : 0;
}

void session_on_monitor(void *arg)
{
    exec_link *l = arg;
    session_link_events(l->owner, l);
}

void session_on_link(void *arg)
{
    exec_link *l = arg;
    session_link_events(l->owner, l);
    session_read_link(l->owner, l);
}
