/* core.c -- the gateway's core (see core.h): makes and frees its tables,
 * and the API the fronts call. */
#include "core.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

/* Job ids start at a random point below 2^52 (exact in JSON numbers), so a
 * restarted gateway does not reuse the ids of the one before it: an
 * executor's late Result for an old job cannot answer a new one. */
static uint64_t core_first_job_id(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        seed = clock_now_us() ^ ((uint64_t)getpid() << 32);
    return seed & ((1ULL << 52) - 1) & ~0xffffffULL;
}

static int core_check_config(const gateway_config *cfg, char *err, size_t errlen)
{
    if (cfg->heartbeat_ms * cfg->liveness > cfg->max_silence_ms) {
        /* Executors that take the defaults would all be refused. */
        snprintf(err, errlen,
                 "--heartbeat-ms %lld x --liveness %lld is over --max-silence-ms %lld: lower "
                 "one or raise --max-silence-ms",
                 cfg->heartbeat_ms, cfg->liveness, cfg->max_silence_ms);
        return -1;
    }
    if (!codec_id_valid(cfg->id, CODEC_ID_MAX)) {
        /* An id the codec refuses would make every Welcome undecodable. */
        snprintf(err, errlen, "--id '%.40s': use 1..%d printable characters, no spaces",
                 cfg->id ? cfg->id : "", CODEC_ID_MAX);
        return -1;
    }
    return 0;
}

int core_init(gw_core *c, const gateway_config *cfg, executors_send_fn send, void *arg, char *err,
              size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->cfg = cfg;
    c->ready_last = -1;
    c->started_us = clock_now_us();
    trace_rng_seed(&c->trace_rng);
    if (core_check_config(cfg, err, errlen) < 0)
        return -1;
    if (loop_init(&c->loop, err, errlen) < 0)
        return -1;
    loop_set_budget(&c->loop, (uint64_t)cfg->turn_budget_us, (size_t)cfg->turn_budget_bytes);

    jobs_ops ops = {.send = executors_send_job,
                    .cancel = executors_send_cancel,
                    .waiting = executors_on_waiting,
                    .arg = &c->executors};
    jobs_limits limits = {.max_payload = cfg->max_payload,
                          .default_timeout_ms = cfg->default_timeout_ms,
                          .max_timeout_ms = cfg->max_timeout_ms,
                          .max_waiting = cfg->max_waiting,
                          .default_retries = cfg->default_retries,
                          .turn_bytes = c->loop.budget_bytes};
    jobs_init(&c->jobs, &c->queues, &c->executors.fleet, &c->loop.timers, &c->stats, &ops, &limits,
              core_first_job_id());
    budget_init(&c->budget, (uint64_t)cfg->max_held_bytes, &c->stats);
    c->jobs.budget = &c->budget;
    tally_init(&c->tally, (size_t)cfg->metrics_max_series);
    c->jobs.tally = &c->tally;
    detached_limits dl = {.ttl_ms = cfg->result_ttl_ms,
                          .max_bytes = cfg->result_max_bytes,
                          .max_jobs = cfg->max_detached};
    detached_init(&c->detached, &c->jobs, &c->loop.timers, &dl);
    c->queues.max = (size_t)cfg->max_queues;
    executors_init(&c->executors, &c->queues, &c->jobs, &c->loop.timers, &c->stats, send, arg,
                   cfg->id, (uint32_t)cfg->heartbeat_ms, (uint32_t)cfg->liveness);
    fleet_limits fl = {.max_executors = (size_t)cfg->max_executors,
                       .max_functions = (size_t)cfg->max_functions,
                       .max_silence_ms = (uint64_t)cfg->max_silence_ms};
    executors_set_limits(&c->executors, &fl);
    c->executors.fleet.max_payload = (uint64_t)cfg->max_payload;
    if (failures_init(&c->failures, (size_t)cfg->recent_failures) < 0) {
        snprintf(err, errlen, "out of memory for --recent-failures %lld", cfg->recent_failures);
        goto err;
    }
    c->jobs.failures = &c->failures;

    for (size_t i = 0; i < cfg->queues.count; i++) {
        char name[CODEC_NAME_MAX + 1];
        long long max_waiting;
        if (queue_parse_spec(cfg->queues.items[i], name, &max_waiting, err, errlen) < 0)
            goto err;
        gw_queue *q = queue_get(&c->queues, name);
        if (!q) {
            snprintf(err, errlen, "--queue %s: too many queues (at most %zu: raise --max-queues)",
                     name, queue_table_max(&c->queues));
            goto err;
        }
        q->pinned = 1;
        q->max_waiting = max_waiting;
    }
    return 0;

err:
    core_close(c);
    return -1;
}

void core_answer_all(gw_core *c, int code, const char *why)
{
    jobs_close(&c->jobs, code, why);
}

void core_close(gw_core *c)
{
    detached_free(&c->detached);
    executors_close(&c->executors);
    queue_table_free(&c->queues);
    tally_free(&c->tally);
    failures_free(&c->failures);
    loop_close(&c->loop);
}

/* ---- the API for the fronts ----------------------------------------- */

int core_submit(gw_core *c, job_request *r, job_done_fn done, void *arg, gw_job **out, char *err,
                size_t errlen)
{
    if (c->draining) {
        jobs_count_refusal(&c->jobs, r->queue, r->function, OFFLOAD__CODE__CODE_NO_EXECUTOR);
        free(r->payload);
        r->payload = NULL;
        *out = NULL;
        snprintf(err, errlen, "the gateway is shutting down; retry on another gateway");
        return OFFLOAD__CODE__CODE_NO_EXECUTOR;
    }
    return jobs_submit(&c->jobs, r, done, arg, out, err, errlen);
}

void core_detach(gw_core *c, gw_job *job)
{
    jobs_detach(&c->jobs, job);
}

int core_submit_detached(gw_core *c, job_request *r, const char *key, detached_job **out,
                         int *existing, char *err, size_t errlen)
{
    if (c->draining) {
        jobs_count_refusal(&c->jobs, r->queue, r->function, OFFLOAD__CODE__CODE_NO_EXECUTOR);
        free(r->payload);
        r->payload = NULL;
        *out = NULL;
        *existing = 0;
        snprintf(err, errlen, "the gateway is shutting down; retry on another gateway");
        return OFFLOAD__CODE__CODE_NO_EXECUTOR;
    }
    return detached_submit(&c->detached, r, key, out, existing, err, errlen);
}

detached *core_detached(gw_core *c)
{
    return &c->detached;
}

budget *core_budget(gw_core *c)
{
    return &c->budget;
}

uint64_t core_job_id(const gw_job *job)
{
    return job->id;
}

const char *core_job_traceparent(const gw_job *job)
{
    return job->traceparent;
}

const char *core_job_tracestate(const gw_job *job)
{
    return job->tracestate;
}

void core_trace(gw_core *c, const char *traceparent, const char *tracestate, trace_ctx *out)
{
    out->state[0] = '\0';
    if (traceparent && *traceparent) {
        if (trace_parent_parse(traceparent, out->parent) == 0) {
            if (tracestate && *tracestate) {
                if (trace_state_valid(tracestate))
                    snprintf(out->state, sizeof(out->state), "%s", tracestate);
                else
                    stats_inc(&c->stats, STAT_tracestate_dropped);
            }
            return;
        }
        stats_inc(&c->stats, STAT_trace_invalid);
    }
    trace_parent_new(&c->trace_rng, out->parent);
    stats_inc(&c->stats, STAT_traces_started);
}

unsigned core_retry_after(gw_core *c, const char *queue)
{
    return jobs_retry_after(&c->jobs, queue);
}

int core_declare_queue(gw_core *c, const char *name)
{
    gw_queue *q = queue_get(&c->queues, name);
    if (!q)
        return -1;
    q->pinned = 1;
    return 0;
}

int core_draining(const gw_core *c)
{
    return c->draining;
}

void core_ready(gw_core *c, ready_report *out)
{
    static log_limiter limiter; /* a flapping fleet logs a few lines a second */
    ready_check(&c->queues, &c->executors.fleet, c->draining, out);
    if (out->ready == c->ready_last)
        return;
    int was_ready = c->ready_last == 1;
    if (c->ready_last >= 0)
        stats_inc(&c->stats, STAT_readiness_changes);
    c->ready_last = out->ready;
    if (!log_limiter_allow(&limiter, 10))
        return;
    if (out->ready) {
        log_info("event=ready queues=%zu", out->queues);
        return;
    }
    char why[1024] = "", one[READY_TEXT_MAX];
    size_t n = 0;
    for (size_t i = 0; i < out->nwhy && n < sizeof(why); i++) {
        int w = snprintf(why + n, sizeof(why) - n, "%s%s", i ? "; " : "",
                         ready_reason_text(&out->why[i], one, sizeof(one)));
        if (w > 0)
            n += (size_t)w;
    }
    if (was_ready)
        log_warn("event=not_ready reasons=%zu why=\"%s\"", out->nwhy + out->more, why);
    else
        log_info("event=not_ready reasons=%zu why=\"%s\"", out->nwhy + out->more, why);
}

void core_count(gw_core *c, gateway_counter counter)
{
    stats_inc(&c->stats, counter);
}

void core_count_add(gw_core *c, gateway_counter counter, uint64_t n)
{
    stats_add(&c->stats, counter, n);
}

void core_count_http_status(gw_core *c, unsigned status)
{
    stats_http_status(&c->http_codes, status);
}

void core_http_statuses(gw_core *c, http_status_counts *out)
{
    *out = c->http_codes;
}

void core_note_refused(gw_core *c, const char *queue, const char *function, int code)
{
    jobs_count_refusal(&c->jobs, queue, function, code);
}

void core_jobs_each(gw_core *c, tally_each_fn fn, void *arg)
{
    tally_each(&c->tally, fn, arg);
}

int core_queues(gw_core *c, queue_info **out, size_t *count)
{
    size_t n = HASH_COUNT(c->queues.by_name), i = 0;
    queue_info *v = calloc(n ? n : 1, sizeof(*v));
    *out = NULL;
    *count = 0;
    if (!v)
        return -ENOMEM;
    gw_queue *q, *tmp;
    HASH_ITER(hh, c->queues.by_name, q, tmp)
    {
        queue_info *o = &v[i++];
        snprintf(o->name, sizeof(o->name), "%s", q->name);
        o->capacity = q->capacity;
        o->busy = q->busy;
        o->available = q->capacity > q->busy ? q->capacity - q->busy : 0;
        o->executors = q->executors;
        o->kind = fleet_queue_kind(&c->executors.fleet, q);
        o->waiting = q->waiting;
        o->submitted = q->submitted;
        o->completed = q->completed;
        o->failed = q->failed;
        o->timeouts = q->timeouts;
        o->rejected = q->rejected;
        o->max_payload = fleet_queue_max_payload(&c->executors.fleet, q);
        o->wait = q->wait;
        o->run = q->run;
    }
    *out = v;
    *count = n;
    return 0;
}

/* {"p50","p90","p99"} of h in microseconds, or null before its first value. */
static json_t *core_quantiles_json(const hist *h)
{
    if (!h->count)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "p50", json_integer((json_int_t)hist_quantile(h, 0.50)));
    json_object_set_new(o, "p90", json_integer((json_int_t)hist_quantile(h, 0.90)));
    json_object_set_new(o, "p99", json_integer((json_int_t)hist_quantile(h, 0.99)));
    return o;
}

json_t *core_queues_doc(gw_core *c)
{
    queue_info *qs;
    size_t n;
    if (core_queues(c, &qs, &n) < 0)
        return NULL;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const queue_info *q = &qs[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(q->name));
        json_object_set_new(o, "kind", q->kind ? json_string(q->kind) : json_null());
        json_object_set_new(o, "capacity", json_integer(q->capacity));
        json_object_set_new(o, "busy", json_integer(q->busy));
        json_object_set_new(o, "available", json_integer(q->available));
        json_object_set_new(o, "waiting", json_integer((json_int_t)q->waiting));
        json_object_set_new(o, "executors", json_integer(q->executors));
        json_object_set_new(o, "submitted", json_integer((json_int_t)q->submitted));
        json_object_set_new(o, "completed", json_integer((json_int_t)q->completed));
        json_object_set_new(o, "failed", json_integer((json_int_t)q->failed));
        json_object_set_new(o, "timeouts", json_integer((json_int_t)q->timeouts));
        json_object_set_new(o, "rejected", json_integer((json_int_t)q->rejected));
        json_object_set_new(o, "max_payload", json_integer((json_int_t)q->max_payload));
        json_object_set_new(o, "wait_us", core_quantiles_json(&q->wait));
        json_object_set_new(o, "run_us", core_quantiles_json(&q->run));
        json_array_append_new(list, o);
    }
    free(qs);
    json_t *root = json_object();
    json_object_set_new(root, "queues", list);
    json_object_set_new(root, "executors", core_executors_json(c));
    return root;
}

char *core_queues_json(gw_core *c)
{
    json_t *root = core_queues_doc(c);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

json_t *core_failures_json(gw_core *c)
{
    return failures_json(&c->failures);
}

void core_status_get(gw_core *c, core_status *out)
{
    out->id = c->cfg->id;
    out->uptime_ms = (clock_now_us() - c->started_us) / 1000;
    out->executors = executors_count(&c->executors);
    out->executors_draining = 0;
    gw_executor *e, *etmp;
    HASH_ITER(hh, c->executors.fleet.by_rid, e, etmp)
    {
        out->executors_draining += e->draining != 0;
    }
    out->jobs_in_flight = jobs_in_flight(&c->jobs);
    out->held_bytes = c->budget.held;
    out->held_bytes_peak = c->budget.peak;
    out->max_held_bytes = c->budget.max;
    out->counters = c->stats;
    const loop_stats *ls = &c->loop.stats;
    out->counters.v[STAT_loop_turns] = ls->turns;
    out->counters.v[STAT_loop_slow_turns] = ls->slow_turns;
    out->counters.v[STAT_loop_long_turns] = ls->long_turns;
    out->counters.v[STAT_loop_long_turns_us] = ls->long_turns_us;
    out->counters.v[STAT_loop_overrun_turns] = ls->overrun_turns;
    out->counters.v[STAT_loop_busy_us] = ls->busy_us;
    out->counters.v[STAT_heap_trims] = c->trims;
    out->counters.v[STAT_heap_trim_us] = c->trim_us;
    out->counters.v[STAT_dispatch_budget_stops] = c->jobs.deferrals;
    out->counters.v[STAT_loop_budget_stops] = ls->budget_stops;
    out->counters.v[STAT_loop_stalls] = ls->stalls;
    out->counters.v[STAT_metrics_series_folded] = c->tally.folded;
    out->counters.v[STAT_jobs_failed] = c->failures.total;
    out->loop_turn_max_us = ls->turn_max_us;
    out->loop_turn_max_cpu_us = ls->turn_max_cpu_us;
    out->loop_stall_max_ms = ls->stall_max_us / 1000;
    out->loop_read_max_bytes = ls->read_max_bytes;
}
