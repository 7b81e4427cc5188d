/* test_http_metrics.c -- GET /metrics' renderer (http_metrics.h) over a
 * core without sockets (gateway_fx.h): the series a job's life makes
 * (jobs by outcome, both histograms, queue gauges), refusals and cancels,
 * label escaping, every family written once, and the time one render
 * takes with 64 queues and the default bound of series. The format itself
 * is checked by promtool in tests/e2e/test_metrics.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway_fx.h"
#include "http_metrics.h"
#include "unit.h"

static void metrics_init(void)
{
    harness_init();
    tally_init(&H.core.tally, 0);
    H.core.jobs.tally = &H.core.tally;
}

static void metrics_close(void)
{
    harness_close();
    tally_free(&H.core.tally);
}

/* The rendered document (malloc'd). */
static char *render(void)
{
    strbuf b;
    strbuf_init(&b, 0);
    http_metrics_render(&H.core, &b);
    CU_ASSERT_FALSE(b.failed);
    return strbuf_take(&b, NULL);
}

/* The value of the sample line that starts with series (name and labels
 * exactly), or -1. */
static double sample(const char *doc, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = doc; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, series, n) && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

/* How many lines start with prefix. */
static int lines(const char *doc, const char *prefix)
{
    int k = 0;
    size_t n = strlen(prefix);
    for (const char *p = doc; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        k += !strncmp(p, prefix, n);
    return k;
}

static void test_job_series(void)
{
    metrics_init();
    hello(1, 0, 2);
    gw_job *job;
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    result(1, 1001, OFFLOAD__CODE__CODE_OK, "hi");
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    result(1, 1002, OFFLOAD__CODE__CODE_JOB_FAILED, NULL);
    /* Refused: unknown function, unknown queue; a cancel (detach). */
    CU_ASSERT_EQUAL(submit("a", "nope", 0, -1, &job), OFFLOAD__CODE__CODE_UNKNOWN_FUNCTION);
    CU_ASSERT_EQUAL(submit("zz", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_UNKNOWN_QUEUE);
    CU_ASSERT_EQUAL(submit("a", "sleep", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    core_detach(&H.core, job);
    core_count_http_status(&H.core, 200);
    core_count_http_status(&H.core, 200);
    core_count_http_status(&H.core, 404);

    char *doc = render();
    CU_ASSERT_EQUAL(sample(doc, "offload_up"), 1);
    CU_ASSERT_EQUAL(sample(doc, "offload_jobs_total{queue=\"a\",function=\"echo\",outcome=\"ok\"}"),
                    1);
    CU_ASSERT_EQUAL(
        sample(doc, "offload_jobs_total{queue=\"a\",function=\"echo\",outcome=\"job_failed\"}"), 1);
    CU_ASSERT_EQUAL(sample(doc, "offload_jobs_total{queue=\"a\",function=\"_unknown\","
                                "outcome=\"unknown_function\"}"),
                    1);
    CU_ASSERT_EQUAL(sample(doc, "offload_jobs_total{queue=\"_unknown\",function=\"_unknown\","
                                "outcome=\"unknown_queue\"}"),
                    1);
    CU_ASSERT_EQUAL(
        sample(doc, "offload_jobs_total{queue=\"a\",function=\"sleep\",outcome=\"cancelled\"}"), 1);
    /* Both answered jobs are in both histograms; the cancelled one in none. */
    CU_ASSERT_EQUAL(sample(doc, "offload_job_wait_seconds_count{queue=\"a\"}"), 2);
    CU_ASSERT_EQUAL(sample(doc, "offload_job_run_seconds_count{queue=\"a\"}"), 2);
    CU_ASSERT_EQUAL(sample(doc, "offload_job_wait_seconds_bucket{queue=\"a\",le=\"+Inf\"}"), 2);
    CU_ASSERT_EQUAL(lines(doc, "offload_job_wait_seconds_bucket{queue=\"a\","), HIST_BUCKETS);
    CU_ASSERT_EQUAL(sample(doc, "offload_queue_capacity{queue=\"a\"}"), 2);
    /* The cancelled job holds its slot until its Result. */
    CU_ASSERT_EQUAL(sample(doc, "offload_queue_busy{queue=\"a\"}"), 1);
    CU_ASSERT_EQUAL(sample(doc, "offload_executors{state=\"ready\"}"), 1);
    CU_ASSERT_EQUAL(sample(doc, "offload_executors{state=\"draining\"}"), 0);
    CU_ASSERT_EQUAL(sample(doc, "offload_http_requests_total{code=\"200\"}"), 2);
    CU_ASSERT_EQUAL(sample(doc, "offload_http_requests_total{code=\"404\"}"), 1);
    CU_ASSERT_EQUAL(sample(doc, "offload_http_requests_total{code=\"500\"}"), -1);
    CU_ASSERT_EQUAL(sample(doc, "offload_frames_dropped_total{reason=\"bad\"}"), 0);
    CU_ASSERT_EQUAL(sample(doc, "offload_refusals_total{reason=\"submit\"}"), 0);
    CU_ASSERT(sample(doc, "offload_loop_turns_total") >= 0);
    CU_ASSERT(sample(doc, "offload_loop_busy_seconds_total") >= 0); /* loop_busy_us */
    CU_ASSERT_EQUAL(sample(doc, "offload_http_requests_received_total"), 0);
    CU_ASSERT(sample(doc, "process_resident_memory_bytes") > 0);
    CU_ASSERT(sample(doc, "process_open_fds") > 0);
    CU_ASSERT(sample(doc, "process_start_time_seconds") > 1e9);
    /* Every family once, and every counter of stats.h in it. */
    CU_ASSERT_EQUAL(lines(doc, "# TYPE offload_jobs_total "), 1);
    CU_ASSERT_EQUAL(lines(doc, "# TYPE offload_refusals_total "), 1);
    CU_ASSERT_EQUAL(lines(doc, "# TYPE "), lines(doc, "# HELP "));
    CU_ASSERT_EQUAL(lines(doc, "# TYPE offload_http_requests_total "), 1);
    /* The families: offload_up and _build_info, 4 queue gauges, 2
     * histograms, jobs, executors, 8 gauges, HTTP statuses, refusals (10
     * counters) and frames (3), every other counter, 4 of the pools, 6 of
     * the process. */
    CU_ASSERT_EQUAL(lines(doc, "# TYPE "),
                    2 + 4 + 2 + 1 + 1 + 8 + 1 + 2 + (STAT_COUNT - 13) + 4 + 6);
    free(doc);
    metrics_close();
}

/* Label values escape \, " and newline; HELP text \ and newline. */
static void test_escaping(void)
{
    metrics_init();
    tally_add(&H.core.tally, "q\"1", "f\\2\n", OFFLOAD__CODE__CODE_OK);
    char *doc = render();
    CU_ASSERT_EQUAL(
        sample(doc, "offload_jobs_total{queue=\"q\\\"1\",function=\"f\\\\2\\n\",outcome=\"ok\"}"),
        1);
    free(doc);
    metrics_close();
}

/* 64 queues, 2000 series of jobs, histograms with values in every bucket:
 * one render well inside a loop turn's bound (loop_overrun_turns: 75 ms of
 * CPU; "long" turns are 5 ms). */
static void test_render_time(void)
{
    metrics_init();
    char name[32], fn[32];
    for (int q = 0; q < 64; q++) {
        snprintf(name, sizeof(name), "queue-%02d", q);
        gw_queue *gq = queue_get(&H.core.queues, name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(gq);
        gq->pinned = 1;
        for (unsigned k = 0; k < 200; k++) {
            hist_observe(&gq->wait, (uint64_t)k * 350000);
            hist_observe(&gq->run, (uint64_t)k * 35000);
        }
        for (int f = 0; f < 2000 / 64 + 1; f++) {
            snprintf(fn, sizeof(fn), "function_%d", f);
            tally_add(&H.core.tally, name, fn,
                      f % 3 ? OFFLOAD__CODE__CODE_OK : OFFLOAD__CODE__CODE_TIMEOUT);
        }
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    const int rounds = 10;
    size_t len = 0;
    for (int i = 0; i < rounds; i++) {
        char *doc = render();
        len = doc ? strlen(doc) : 0;
        free(doc);
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    double us =
        ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / rounds;
    printf("\n    render: 64 queues, %zu series, %zu bytes: %.0f us of CPU each\n",
           H.core.tally.count, len, us);
    CU_ASSERT(len > 200000);
    CU_ASSERT(us < 25000); /* 3x headroom over the 5 ms of a long turn, sanitizers included */
    metrics_close();
}

UNIT_SUITE(http_metrics, {"the series of a job's life", test_job_series},
           {"label escaping", test_escaping}, {"render time", test_render_time})
