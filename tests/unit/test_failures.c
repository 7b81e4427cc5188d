/* test_failures.c -- the recent failures (failures.c): the ring keeps the
 * newest, in order, with messages cleaned and cut; the job life cycle
 * records each job answered with an error once, and no success
 * (gateway_fx.h). */
#include <stdlib.h>
#include <string.h>

#include "failures.h"
#include "gateway_fx.h"
#include "unit.h"

/* The ring: newest first, the oldest dropped past its size, all counted. */
static void test_ring(void)
{
    failures f;
    CU_ASSERT_EQUAL(failures_init(&f, 3), 0);
    CU_ASSERT_PTR_NULL(failures_get(&f, 0));
    for (uint64_t id = 1; id <= 5; id++)
        failures_add(&f, id, OFFLOAD__CODE__CODE_TIMEOUT, "io", "sleep", "exec-1", "late", 10, 20);
    CU_ASSERT_EQUAL(f.count, 3);
    CU_ASSERT_EQUAL(f.total, 5);
    CU_ASSERT_EQUAL(failures_get(&f, 0)->job_id, 5);
    CU_ASSERT_EQUAL(failures_get(&f, 1)->job_id, 4);
    CU_ASSERT_EQUAL(failures_get(&f, 2)->job_id, 3);
    CU_ASSERT_PTR_NULL(failures_get(&f, 3));
    CU_ASSERT_STRING_EQUAL(failures_get(&f, 0)->queue, "io");
    CU_ASSERT_TRUE(failures_get(&f, 0)->at_ms > 1600000000000ULL); /* the wall clock */

    json_t *list = failures_json(&f);
    CU_ASSERT_EQUAL(json_array_size(list), 3);
    json_t *first = json_array_get(list, 0);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(first, "job_id")), 5);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "error")), "timeout");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "executor")), "exec-1");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(first, "run_us")), 20);
    json_decref(list);
    failures_free(&f);
}

/* Messages are any bytes: cut to FAILURES_MESSAGE_MAX, valid UTF-8, so
 * the JSON always holds them. A size of 0 keeps none but counts. */
static void test_messages(void)
{
    failures f;
    CU_ASSERT_EQUAL(failures_init(&f, 2), 0);
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[10] = '\xff'; /* not UTF-8 */
    big[11] = '\n';
    failures_add(&f, 1, OFFLOAD__CODE__CODE_JOB_FAILED, "q", "f", NULL, big, 0, 0);
    const failure *e = failures_get(&f, 0);
    CU_ASSERT_TRUE(strlen(e->message) <= FAILURES_MESSAGE_MAX);
    CU_ASSERT_EQUAL(e->message[10], '?');
    CU_ASSERT_EQUAL(e->message[11], ' ');
    CU_ASSERT_STRING_EQUAL(e->message + strlen(e->message) - 3, "...");
    failures_add(&f, 2, OFFLOAD__CODE__CODE_CRASHED, "q", "f", NULL, NULL, 0, 0);
    CU_ASSERT_STRING_EQUAL(failures_get(&f, 0)->message, "crashed"); /* the code's name */
    json_t *list = failures_json(&f);
    CU_ASSERT_EQUAL(json_array_size(list), 2);
    CU_ASSERT_TRUE(json_is_null(json_object_get(json_array_get(list, 0), "executor")));
    CU_ASSERT_TRUE(json_is_string(json_object_get(json_array_get(list, 1), "message")));
    json_decref(list);
    failures_free(&f);

    CU_ASSERT_EQUAL(failures_init(&f, 0), 0);
    failures_add(&f, 3, OFFLOAD__CODE__CODE_TIMEOUT, "q", "f", NULL, "m", 0, 0);
    CU_ASSERT_EQUAL(f.total, 1);
    CU_ASSERT_PTR_NULL(failures_get(&f, 0));
    list = failures_json(&f);
    CU_ASSERT_EQUAL(json_array_size(list), 0);
    json_decref(list);
    failures_free(&f);
}

/* The job life cycle records where the one answer is given: a failed
 * Result (with its executor), a queued job's deadline, an executor's loss;
 * a success, or a Result after its caller was answered, records nothing. */
static void test_jobs_record(void)
{
    harness_init();
    failures f;
    CU_ASSERT_EQUAL(failures_init(&f, 10), 0);
    H.core.jobs.failures = &f;
    hello(1, 0, 2);
    gw_job *job;
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    result(1, 1001, OFFLOAD__CODE__CODE_OK, "hi");
    CU_ASSERT_EQUAL(f.total, 0);
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    result(1, 1002, OFFLOAD__CODE__CODE_JOB_FAILED, NULL);
    CU_ASSERT_EQUAL(f.total, 1);
    const failure *e = failures_get(&f, 0);
    CU_ASSERT_EQUAL(e->job_id, 1002);
    CU_ASSERT_EQUAL(e->code, OFFLOAD__CODE__CODE_JOB_FAILED);
    CU_ASSERT_STRING_EQUAL(e->queue, "a");
    CU_ASSERT_STRING_EQUAL(e->function, "echo");
    CU_ASSERT_STRING_EQUAL(e->executor, "exec-1");
    /* A running job's deadline is recorded; its late Result is not. */
    CU_ASSERT_EQUAL(submit("a", "sleep", 100, -1, &job), OFFLOAD__CODE__CODE_OK);
    uint64_t late = H.last_job[1];
    timers_run(&H.core.loop.timers, clock_now_us() + 200000);
    CU_ASSERT_EQUAL(f.total, 2);
    CU_ASSERT_EQUAL(failures_get(&f, 0)->code, OFFLOAD__CODE__CODE_TIMEOUT);
    CU_ASSERT_STRING_EQUAL(failures_get(&f, 0)->executor, "exec-1");
    result(1, late, OFFLOAD__CODE__CODE_JOB_FAILED, NULL);
    CU_ASSERT_EQUAL(f.total, 2);

    /* Two running, one waiting; the executor goes: both running are lost
     * (no retries), the waiting one stays queued. */
    gw_job *w;
    CU_ASSERT_EQUAL(submit("a", "sleep", 0, 0, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(submit("a", "sleep", 0, 0, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(submit("a", "sleep", 100, 0, &w), OFFLOAD__CODE__CODE_OK);
    uint64_t wid = w->id;
    goodbye(1);
    executors_reap(&H.core.executors);
    CU_ASSERT_EQUAL(f.total, 4);
    CU_ASSERT_EQUAL(failures_get(&f, 0)->code, OFFLOAD__CODE__CODE_EXECUTOR_LOST);
    CU_ASSERT_STRING_EQUAL(failures_get(&f, 0)->executor, "exec-1");
    /* Its deadline: the waiting job is answered (no executor), recorded. */
    timers_run(&H.core.loop.timers, clock_now_us() + 200000);
    CU_ASSERT_EQUAL(f.total, 5);
    CU_ASSERT_EQUAL(failures_get(&f, 0)->job_id, wid);
    CU_ASSERT_EQUAL(failures_get(&f, 0)->code, OFFLOAD__CODE__CODE_NO_EXECUTOR);
    CU_ASSERT_STRING_EQUAL(failures_get(&f, 0)->executor, "");
    harness_close();
    failures_free(&f);
}

UNIT_SUITE(failures, {"the ring: newest first, bounded, counted", test_ring},
           {"messages cleaned and cut; a size of 0", test_messages},
           {"jobs record each failed answer once", test_jobs_record})
