/* test_jobs.c -- the job life cycle without sockets (gateway_fx.h): submit,
 * dispatch, Result and answer; refusals; a turn's dispatch budget; a
 * deadline while running; detach; an oversized result. Run under ASan
 * (make asan), a use after free fails the run. */
#include <stdlib.h>
#include <string.h>

#include "gateway_fx.h"
#include "unit.h"

/* Submit, dispatch, Result, answer: the plain life of a job. */
static void test_life(void)
{
    harness_init();
    hello(1, 0, 2);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_WELCOME], 1);
    gw_job *job;
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 1);
    CU_ASSERT_EQUAL(H.last_job[1], 1001);
    CU_ASSERT_EQUAL(jobs_in_flight(&H.core.jobs), 1);
    CU_ASSERT_EQUAL(H.answers, 0); /* never from inside submit */
    result(1, 1001, OFFLOAD__CODE__CODE_OK, "hi");
    CU_ASSERT_EQUAL(H.answers, 1);
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.last.job_id, 1001);
    CU_ASSERT_EQUAL(H.last.len, 2);
    CU_ASSERT_EQUAL(jobs_in_flight(&H.core.jobs), 0);
    /* A second Result for it is unknown now. */
    result(1, 1001, OFFLOAD__CODE__CODE_OK, "hi");
    CU_ASSERT_EQUAL(stat(STAT_results_unknown), 1);
    CU_ASSERT_EQUAL(H.answers, 1);
    harness_close();
}

/* Dispatch within a turn's budget of job bytes (--turn-budget-bytes): the
 * jobs past it wait for the end of the turn, where each queue that stopped
 * gets an equal share (at least one job), and the loop is told to turn
 * again while some queue still stops. Free slots are not the limit here. */
static void test_dispatch_budget(void)
{
    harness_init();
    jobs *js = &H.core.jobs;
    js->limits.turn_bytes = js->turn_left = 2 * DISPATCH_JOB_COST;
    hello(1, 1, 8);
    gw_job *job;
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 2);
    CU_ASSERT_EQUAL(js->turn_left, 0);
    /* Spent: these wait, with free slots. */
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(submit("b", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 2);
    CU_ASSERT_EQUAL(queue_find(&H.core.queues, "a")->waiting, 1);
    CU_ASSERT_EQUAL(queue_find(&H.core.queues, "b")->waiting, 1);
    CU_ASSERT_EQUAL(js->deferrals, 2);
    /* The turn's end: one share each, both go; nothing left. */
    CU_ASSERT_EQUAL(jobs_turn_end(js), 0);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 4);
    CU_ASSERT_EQUAL(queue_find(&H.core.queues, "b")->waiting, 0);
    CU_ASSERT_EQUAL(js->turn_left, 2 * DISPATCH_JOB_COST);
    /* A share of one job: the second waits one more turn's end. */
    js->limits.turn_bytes = DISPATCH_JOB_COST;
    js->turn_left = 0;
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 4);
    CU_ASSERT_EQUAL(jobs_turn_end(js), 1);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 5);
    CU_ASSERT_EQUAL(jobs_turn_end(js), 0);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 6);
    /* No budget spent and nothing waiting: nothing to do. */
    CU_ASSERT_EQUAL(jobs_turn_end(js), 0);
    CU_ASSERT_EQUAL(js->deferrals, 4);
    harness_close();
}

/* Every refusal comes back as a code, and done is never called. */
static void test_refusals(void)
{
    harness_init();
    hello(1, 0, 1);
    gw_job *job;
    CU_ASSERT_EQUAL(submit("bad name", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_BAD_REQUEST);
    CU_ASSERT_EQUAL(submit("a", "", 0, -1, &job), OFFLOAD__CODE__CODE_BAD_REQUEST);
    CU_ASSERT_EQUAL(submit("nosuch", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_UNKNOWN_QUEUE);
    CU_ASSERT_EQUAL(submit("a", "nosuch", 0, -1, &job), OFFLOAD__CODE__CODE_UNKNOWN_FUNCTION);
    CU_ASSERT_EQUAL(submit("a", "echo", 3600001, -1, &job), OFFLOAD__CODE__CODE_BAD_REQUEST);
    CU_ASSERT_EQUAL(submit("a", "echo", 0, 101, &job), OFFLOAD__CODE__CODE_BAD_REQUEST);
    /* One running, two waiting (max_waiting 2), then full. */
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(submit("a", "sleep", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(submit("a", "sleep", 0, -1, &job), OFFLOAD__CODE__CODE_QUEUE_FULL);
    CU_ASSERT_EQUAL(queue_find(&H.core.queues, "a")->rejected, 1);
    CU_ASSERT_EQUAL(H.answers, 0);
    H.core.draining = 1;
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_NO_EXECUTOR);
    harness_close();
    CU_ASSERT_EQUAL(H.answers, 3); /* the accepted ones, at close */
}

/* A running job's deadline: the caller gets timeout, the executor a
 * Cancel, and the slot stays busy until the (late) Result. */
static void test_deadline_and_late_result(void)
{
    harness_init();
    hello(1, 0, 1);
    gw_job *job;
    CU_ASSERT_EQUAL(submit("a", "sleep", 100, -1, &job), OFFLOAD__CODE__CODE_OK);
    uint64_t id = H.last_job[1];
    timers_run(&H.core.loop.timers, clock_now_us() + 200000);
    CU_ASSERT_EQUAL(H.answers, 1);
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_TIMEOUT);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL], 1);
    gw_queue *q = queue_find(&H.core.queues, "a");
    CU_ASSERT_EQUAL(q->busy, 1);
    CU_ASSERT_EQUAL(jobs_open(&H.core.jobs), 0); /* nobody waits on it */
    result(1, id, OFFLOAD__CODE__CODE_CANCELLED, NULL);
    CU_ASSERT_EQUAL(stat(STAT_results_late), 1);
    CU_ASSERT_EQUAL(q->busy, 0);
    CU_ASSERT_EQUAL(H.answers, 1);
    harness_close();
}

/* Detach: a waiting job leaves its queue; a running one is cancelled and
 * kept until its Result. done is never called. */
static void test_detach(void)
{
    harness_init();
    hello(1, 0, 1);
    gw_job *running, *waiting;
    submit("a", "sleep", 0, -1, &running);
    submit("a", "sleep", 0, -1, &waiting);
    gw_queue *q = queue_find(&H.core.queues, "a");
    CU_ASSERT_EQUAL(q->waiting, 1);
    core_detach(&H.core, waiting);
    CU_ASSERT_EQUAL(q->waiting, 0);
    uint64_t id = H.last_job[1];
    core_detach(&H.core, running);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL], 1);
    CU_ASSERT_EQUAL(jobs_in_flight(&H.core.jobs), 1);
    result(1, id, OFFLOAD__CODE__CODE_OK, "x");
    CU_ASSERT_EQUAL(jobs_in_flight(&H.core.jobs), 0);
    CU_ASSERT_EQUAL(H.answers, 0);
    harness_close();
}

/* A result over --max-payload (1024 here) is not passed on. */
static void test_oversized_result(void)
{
    harness_init();
    hello(1, 0, 1);
    gw_job *job;
    submit("a", "echo", 0, -1, &job);
    char big[1026];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    result(1, H.last_job[1], OFFLOAD__CODE__CODE_OK, big);
    CU_ASSERT_EQUAL(H.answers, 1);
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_JOB_FAILED);
    CU_ASSERT_EQUAL(queue_find(&H.core.queues, "a")->busy, 0);
    harness_close();
}

UNIT_SUITE(jobs, {"submit, dispatch, result", test_life}, {"refusals", test_refusals},
           {"dispatch within a turn's budget", test_dispatch_budget},
           {"deadline while running, then a late result", test_deadline_and_late_result},
           {"detach", test_detach},
           {"a result over --max-payload is not passed on", test_oversized_result})
