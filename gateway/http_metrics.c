/* http_metrics.c -- GET /metrics (see http_metrics.h): renders the core's
 * numbers as Prometheus text 0.0.4 and keeps the last body for
 * --metrics-cache-ms, so any scrape rate costs at most one render per
 * interval; the body is one MHD response queued to every scrape in the
 * interval (MHD counts its references), never copied. Every family is
 * written whole, HELP and TYPE first; label values are escaped (\\, \",
 * \n) though queue and function names are validated names already; no job
 * id is ever a label. The series and their names are listed in
 * docs/metrics.md. Owns the front's cached body. Loop thread only. */
#include "http_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "errors.h"
#include "offload.h" /* OFFLOAD_VERSION, for offload_build_info */
#include "procstat.h"

/* ---- the text format ------------------------------------------------ */

/* Writes s with \\ and \n escaped (HELP text), and " too (label values). */
static void prom_escaped(strbuf *b, const char *s, int quote)
{
    const char *run = s;
    for (; *s; s++) {
        const char *esc = *s == '\\'           ? "\\\\"
                          : *s == '\n'         ? "\\n"
                          : quote && *s == '"' ? "\\\""
                                               : NULL;
        if (!esc)
            continue;
        strbuf_add(b, run, (size_t)(s - run));
        strbuf_adds(b, esc);
        run = s + 1;
    }
    strbuf_add(b, run, (size_t)(s - run));
}

/* "# HELP name help" and "# TYPE name type". A help that says
 * "microseconds" says "seconds": the series are in seconds. */
static void prom_family(strbuf *b, const char *name, const char *type, const char *help)
{
    strbuf_adds(b, "# HELP ");
    strbuf_adds(b, name);
    strbuf_addc(b, ' ');
    const char *us = strstr(help, "microseconds");
    if (us) {
        char text[512];
        snprintf(text, sizeof(text), "%.*sseconds%s", (int)(us - help), help, us + 12);
        prom_escaped(b, text, 0);
    } else {
        prom_escaped(b, help, 0);
    }
    strbuf_adds(b, "\n# TYPE ");
    strbuf_adds(b, name);
    strbuf_addc(b, ' ');
    strbuf_adds(b, type);
    strbuf_addc(b, '\n');
}

/* name{key="value"} (one label; no braces when key is NULL). */
static void prom_name(strbuf *b, const char *name, const char *key, const char *value)
{
    strbuf_adds(b, name);
    if (!key)
        return;
    strbuf_addc(b, '{');
    strbuf_adds(b, key);
    strbuf_adds(b, "=\"");
    prom_escaped(b, value, 1);
    strbuf_adds(b, "\"}");
}

static void prom_u64(strbuf *b, const char *name, const char *key, const char *value, uint64_t v)
{
    prom_name(b, name, key, value);
    strbuf_addc(b, ' ');
    strbuf_u64(b, v);
    strbuf_addc(b, '\n');
}

/* Microseconds as exact decimal seconds: 1500000 -> 1.500000. */
static void prom_seconds(strbuf *b, uint64_t us)
{
    char frac[8];
    strbuf_u64(b, us / 1000000);
    snprintf(frac, sizeof(frac), ".%06u", (unsigned)(us % 1000000));
    strbuf_adds(b, frac);
}

static void prom_sec(strbuf *b, const char *name, const char *key, const char *value, uint64_t us)
{
    prom_name(b, name, key, value);
    strbuf_addc(b, ' ');
    prom_seconds(b, us);
    strbuf_addc(b, '\n');
}

/* ---- the core's numbers --------------------------------------------- */

/* Counters of stats.h shown as a label of a family of their own; every
 * other counter is offload_NAME_total (offload_NAME_seconds_total, in
 * seconds, for a NAME_us). */
typedef struct prom_mapped {
    gateway_counter counter;
    const char *family; /* NULL: a rename (label is the new name) */
    const char *label;
} prom_mapped;

static const prom_mapped prom_refusals[] = {
    {STAT_submits_refused, "offload_refusals_total", "submit"},
    {STAT_http_rejected, "offload_refusals_total", "http_framing"},
    {STAT_http_unauthorized, "offload_refusals_total", "http_unauthorized"},
    {STAT_http_forbidden, "offload_refusals_total", "http_forbidden"},
    {STAT_http_ip_refused, "offload_refusals_total", "max_connections_per_ip"},
    {STAT_held_bytes_refused, "offload_refusals_total", "max_held_bytes"},
    {STAT_clients_refused, "offload_refusals_total", "max_clients"},
    {STAT_hello_refused_limit, "offload_refusals_total", "hello_limit"},
    {STAT_hellos_forbidden, "offload_refusals_total", "hello_forbidden"},
    {STAT_auth_denied, "offload_refusals_total", "curve_denied"},
};

static const prom_mapped prom_frames[] = {
    {STAT_frames_bad, "offload_frames_dropped_total", "bad"},
    {STAT_frames_version, "offload_frames_dropped_total", "version"},
    {STAT_frames_unexpected, "offload_frames_dropped_total", "unexpected"},
};

/* offload_http_requests_total is the responses by code: the requests
 * received keep their count under another name. */
static const prom_mapped prom_renamed[] = {
    {STAT_http_requests, NULL, "offload_http_requests_received_total"},
};

#define PROM_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The table (if any) that shows counter c. */
static const prom_mapped *prom_mapping(gateway_counter c)
{
    static const struct {
        const prom_mapped *v;
        size_t n;
    } tables[] = {{prom_refusals, PROM_LEN(prom_refusals)},
                  {prom_frames, PROM_LEN(prom_frames)},
                  {prom_renamed, PROM_LEN(prom_renamed)}};
    for (size_t t = 0; t < PROM_LEN(tables); t++)
        for (size_t i = 0; i < tables[t].n; i++)
            if (tables[t].v[i].counter == c)
                return &tables[t].v[i];
    return NULL;
}

static void prom_labelled(strbuf *b, const prom_mapped *m, size_t n, const char *key,
                          const char *help, const gateway_stats *st)
{
    prom_family(b, m[0].family, "counter", help);
    for (size_t i = 0; i < n; i++)
        prom_u64(b, m[i].family, key, m[i].label, st->v[m[i].counter]);
}

/* Every counter of stats.h's table. */
static void prom_counters(strbuf *b, const core_status *st)
{
    prom_labelled(b, prom_refusals, PROM_LEN(prom_refusals), "reason",
                  "requests, Submits, connections and Hellos refused, by reason (the /v1/stats "
                  "counter of each: docs/metrics.md)",
                  &st->counters);
    prom_labelled(b, prom_frames, PROM_LEN(prom_frames), "reason",
                  "frames dropped, both sockets: undecodable or invalid (bad), another protocol "
                  "version (version), valid but out of place (unexpected)",
                  &st->counters);
    for (int c = 0; c < STAT_COUNT; c++) {
        const prom_mapped *m = prom_mapping((gateway_counter)c);
        if (m && m->family)
            continue;
        const char *name = stats_name((gateway_counter)c);
        size_t len = strlen(name);
        int us = len > 3 && !strcmp(name + len - 3, "_us");
        char family[128];
        if (m)
            snprintf(family, sizeof(family), "%s", m->label);
        else if (us)
            snprintf(family, sizeof(family), "offload_%.*s_seconds_total", (int)(len - 3), name);
        else
            snprintf(family, sizeof(family), "offload_%s_total", name);
        prom_family(b, family, "counter", stats_help((gateway_counter)c));
        if (us)
            prom_sec(b, family, NULL, NULL, st->counters.v[c]);
        else
            prom_u64(b, family, NULL, NULL, st->counters.v[c]);
    }
}

static void prom_gauge(strbuf *b, const char *name, const char *help, uint64_t v)
{
    prom_family(b, name, "gauge", help);
    prom_u64(b, name, NULL, NULL, v);
}

static void prom_gauge_sec(strbuf *b, const char *name, const char *help, uint64_t us)
{
    prom_family(b, name, "gauge", help);
    prom_sec(b, name, NULL, NULL, us);
}

/* The gauges of /v1/stats. */
static void prom_gauges(strbuf *b, const core_status *st)
{
    prom_family(b, "offload_executors", "gauge", "executors registered, by state");
    prom_u64(b, "offload_executors", "state", "ready", st->executors - st->executors_draining);
    prom_u64(b, "offload_executors", "state", "draining", st->executors_draining);
    prom_gauge(b, "offload_jobs_in_flight", "jobs sent to executors and not yet back",
               st->jobs_in_flight);
    prom_gauge(b, "offload_held_bytes", "payload bytes held now (--max-held-bytes)",
               st->held_bytes);
    prom_gauge(b, "offload_held_bytes_peak", "the most payload bytes held at once since start",
               st->held_bytes_peak);
    prom_gauge(b, "offload_max_held_bytes", "--max-held-bytes (0: no bound)", st->max_held_bytes);
    prom_gauge_sec(b, "offload_loop_turn_max_seconds",
                   "the longest loop turn since start, wall time", st->loop_turn_max_us);
    prom_gauge_sec(b, "offload_loop_turn_max_cpu_seconds",
                   "the most CPU time one loop turn took since start", st->loop_turn_max_cpu_us);
    prom_gauge_sec(b, "offload_loop_stall_max_seconds",
                   "the longest loop stall since start (loop_stalls)",
                   st->loop_stall_max_ms * 1000);
    prom_gauge(b, "offload_loop_read_max_bytes", "the most bytes one socket gave in one loop turn",
               st->loop_read_max_bytes);
}

/* The queue gauges, a family each over every queue. */
static void prom_queue_gauges(strbuf *b, const queue_info *qs, size_t n)
{
    static const struct {
        const char *name, *help;
    } g[] = {
        {"offload_queue_waiting", "jobs waiting in the queue's FIFO"},
        {"offload_queue_capacity", "slots over the queue's live executors"},
        {"offload_queue_busy", "of those, slots holding a job"},
        {"offload_queue_executors", "live executors serving the queue"},
    };
    for (size_t k = 0; k < PROM_LEN(g); k++) {
        prom_family(b, g[k].name, "gauge", g[k].help);
        for (size_t i = 0; i < n; i++) {
            const queue_info *q = &qs[i];
            uint64_t v = k == 0   ? q->waiting
                         : k == 1 ? q->capacity
                         : k == 2 ? q->busy
                                  : q->executors;
            prom_u64(b, g[k].name, "queue", q->name, v);
        }
    }
}

/* One histogram family (wait or run) over every queue. */
static void prom_histograms(strbuf *b, const queue_info *qs, size_t n, const char *name,
                            const char *help, int run)
{
    prom_family(b, name, "histogram", help);
    strbuf label;
    strbuf_init(&label, 0);
    for (size_t i = 0; i < n; i++) {
        const hist *h = run ? &qs[i].run : &qs[i].wait;
        /* {queue="NAME" once, for the 21 lines */
        label.len = 0;
        strbuf_adds(&label, "{queue=\"");
        prom_escaped(&label, qs[i].name, 1);
        strbuf_addc(&label, '"');
        if (label.failed) {
            b->failed = 1;
            break;
        }
        uint64_t cum = 0;
        for (unsigned k = 0; k < HIST_BUCKETS; k++) {
            cum += h->n[k];
            strbuf_adds(b, name);
            strbuf_adds(b, "_bucket");
            strbuf_add(b, label.p, label.len);
            strbuf_adds(b, ",le=\"");
            strbuf_adds(b, hist_le[k]);
            strbuf_adds(b, "\"} ");
            strbuf_u64(b, cum);
            strbuf_addc(b, '\n');
        }
        strbuf_adds(b, name);
        strbuf_adds(b, "_sum");
        strbuf_add(b, label.p, label.len);
        strbuf_adds(b, "} ");
        prom_seconds(b, h->sum_us);
        strbuf_addc(b, '\n');
        strbuf_adds(b, name);
        strbuf_adds(b, "_count");
        strbuf_add(b, label.p, label.len);
        strbuf_adds(b, "} ");
        strbuf_u64(b, h->count);
        strbuf_addc(b, '\n');
    }
    strbuf_free(&label);
}

static void prom_queues(strbuf *b, gw_core *core)
{
    queue_info *qs;
    size_t n;
    if (core_queues(core, &qs, &n) < 0) {
        b->failed = 1;
        return;
    }
    prom_queue_gauges(b, qs, n);
    prom_histograms(b, qs, n, "offload_job_wait_seconds",
                    "answered jobs' time in the gateway: queued until sent to an executor (or "
                    "answered unsent)",
                    0);
    prom_histograms(b, qs, n, "offload_job_run_seconds",
                    "answered jobs' run time on an executor (Result.run_us; until the deadline "
                    "or the loss for those that did not finish)",
                    1);
    free(qs);
}

static void prom_job_series(const char *queue, const char *function, int code, uint64_t n,
                            void *arg)
{
    strbuf *b = arg;
    strbuf_adds(b, "offload_jobs_total{queue=\"");
    prom_escaped(b, queue, 1);
    strbuf_adds(b, "\",function=\"");
    prom_escaped(b, function, 1);
    strbuf_adds(b, "\",outcome=\"");
    strbuf_adds(b, code_name(code));
    strbuf_adds(b, "\"} ");
    strbuf_u64(b, n);
    strbuf_addc(b, '\n');
}

static void prom_http_statuses(strbuf *b, gw_core *core)
{
    http_status_counts *hs = malloc(sizeof(*hs));
    if (!hs) {
        b->failed = 1;
        return;
    }
    core_http_statuses(core, hs);
    prom_family(b, "offload_http_requests_total", "counter",
                "HTTP responses the gateway sent, by status code");
    for (unsigned i = 0; i < PROM_LEN(hs->v); i++) {
        if (!hs->v[i])
            continue;
        char code[8];
        snprintf(code, sizeof(code), "%u", i + STATS_HTTP_FIRST);
        prom_u64(b, "offload_http_requests_total", "code", code, hs->v[i]);
    }
    free(hs);
}

/* The executors' pools: offload_pool_workers{queue,executor,state},
 * offload_pool_respawns_total{queue,executor},
 * offload_pool_kills_total{queue,executor,reason},
 * offload_pool_rss_bytes{queue,executor} (docs/metrics.md), from each
 * executor's latest PoolStats (core_executors); a pool not heard of yet has
 * no series. */
/* name{queue="q",executor="e"[,key="value"]} v */
static void prom_pool_sample(strbuf *b, const char *name, const executor_info *e,
                             const executor_queue_info *q, const char *key, const char *value,
                             uint64_t v)
{
    strbuf_adds(b, name);
    strbuf_adds(b, "{queue=\"");
    prom_escaped(b, q->name, 1);
    strbuf_adds(b, "\",executor=\"");
    prom_escaped(b, e->id, 1);
    strbuf_addc(b, '"');
    if (key) {
        strbuf_addc(b, ',');
        strbuf_adds(b, key);
        strbuf_adds(b, "=\"");
        strbuf_adds(b, value);
        strbuf_addc(b, '"');
    }
    strbuf_adds(b, "} ");
    strbuf_u64(b, v);
    strbuf_addc(b, '\n');
}

enum { POOL_WORKERS, POOL_RESPAWNS, POOL_KILLS, POOL_RSS, POOL_FAMILIES };

static void prom_pools(strbuf *b, gw_core *core)
{
    static const struct {
        const char *name, *type, *help;
    } fam[POOL_FAMILIES] = {
        {"offload_pool_workers", "gauge",
         "an executor's pool workers, by state: alive (threads or processes running), busy "
         "(running a job)"},
        {"offload_pool_respawns_total", "counter",
         "worker processes an executor's pool started to replace one"},
        {"offload_pool_kills_total", "counter",
         "worker processes an executor's pool killed, by reason: deadline, cancel, memory "
         "(--max-rss-mb), recycle (--max-jobs-per-worker)"},
        {"offload_pool_rss_bytes", "gauge",
         "resident memory of an executor's pool worker processes (0 for a thread pool)"},
    };
    executor_info *es;
    size_t n;
    if (core_executors(core, &es, &n) != 0)
        return;
    for (int f = 0; f < POOL_FAMILIES; f++) {
        prom_family(b, fam[f].name, fam[f].type, fam[f].help);
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < es[i].nqueues; j++) {
                const executor_queue_info *q = &es[i].queues[j];
                const pool_info *p = &q->pool;
                if (!q->has_pool)
                    continue;
                switch (f) {
                case POOL_WORKERS:
                    prom_pool_sample(b, fam[f].name, &es[i], q, "state", "alive", p->alive);
                    prom_pool_sample(b, fam[f].name, &es[i], q, "state", "busy", p->busy);
                    break;
                case POOL_RESPAWNS:
                    prom_pool_sample(b, fam[f].name, &es[i], q, NULL, NULL, p->respawns);
                    break;
                case POOL_KILLS:
                    prom_pool_sample(b, fam[f].name, &es[i], q, "reason", "deadline",
                                     p->kills_deadline);
                    prom_pool_sample(b, fam[f].name, &es[i], q, "reason", "cancel",
                                     p->kills_cancel);
                    prom_pool_sample(b, fam[f].name, &es[i], q, "reason", "memory",
                                     p->kills_memory);
                    prom_pool_sample(b, fam[f].name, &es[i], q, "reason", "recycle",
                                     p->kills_recycle);
                    break;
                default:
                    prom_pool_sample(b, fam[f].name, &es[i], q, NULL, NULL, p->rss_bytes);
                }
            }
        }
    }
    free(es);
}

static void prom_process(strbuf *b)
{
    procstat ps;
    procstat_read(&ps);
    prom_family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    prom_u64(b, "process_resident_memory_bytes", NULL, NULL, ps.rss_bytes);
    prom_family(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    prom_u64(b, "process_virtual_memory_bytes", NULL, NULL, ps.vsize_bytes);
    prom_family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
    prom_u64(b, "process_open_fds", NULL, NULL, ps.open_fds);
    prom_family(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
    prom_u64(b, "process_max_fds", NULL, NULL, ps.max_fds);
    prom_family(b, "process_cpu_seconds_total", "counter",
                "Total user and system CPU time spent in seconds.");
    prom_sec(b, "process_cpu_seconds_total", NULL, NULL, ps.cpu_us);
    prom_family(b, "process_start_time_seconds", "gauge",
                "Start time of the process since unix epoch in seconds.");
    prom_sec(b, "process_start_time_seconds", NULL, NULL, ps.start_time_us);
}

void http_metrics_render(gw_core *core, strbuf *b)
{
    core_status st;
    core_status_get(core, &st);
    prom_family(b, "offload_up", "gauge", "1: the gateway answers");
    prom_u64(b, "offload_up", NULL, NULL, 1);
    prom_family(b, "offload_build_info", "gauge", "the gateway's version, as a label; always 1");
    prom_u64(b, "offload_build_info", "version", OFFLOAD_VERSION, 1);
    prom_queues(b, core);
    prom_family(b, "offload_jobs_total", "counter",
                "jobs by queue, function and outcome (ok or the error code), counted once each "
                "at its answer, refusal or cancel; past --metrics-max-series under function "
                "\"_other\"");
    core_jobs_each(core, prom_job_series, b);
    prom_gauges(b, &st);
    prom_http_statuses(b, core);
    prom_counters(b, &st);
    prom_pools(b, core);
    prom_process(b);
}

/* ---- the route and its cache ---------------------------------------- */

struct MHD_Response *http_metrics_response(http_front *h)
{
    gw_core *core = h->core;
    uint64_t now = clock_now_us();
    core_count(core, STAT_metrics_scrapes);
    if (h->metrics_body && h->cfg.metrics_cache_ms > 0 &&
        now - h->metrics_at_us < (uint64_t)h->cfg.metrics_cache_ms * 1000) {
        core_count(core, STAT_metrics_cache_hits);
        return h->metrics_body;
    }
    strbuf b;
    strbuf_init(&b, 0);
    http_metrics_render(core, &b);
    size_t len;
    char *text = strbuf_take(&b, &len);
    core_count_add(core, STAT_metrics_render_us, clock_now_us() - now);
    if (!text)
        return NULL;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, HTTP_METRICS_CONTENT_TYPE);
    /* Connections still sending the last body keep it until they are done. */
    http_metrics_free(h);
    h->metrics_body = r;
    h->metrics_at_us = now;
    return r;
}

void http_metrics_free(http_front *h)
{
    if (h->metrics_body)
        MHD_destroy_response(h->metrics_body);
    h->metrics_body = NULL;
}
