/* test_executors.c -- the executor protocol and the job life cycle
 * together, without sockets (gateway_fx.h): executors are lost in the
 * middle of dispatch, of a Hello and of the heartbeat tick; a Goodbye, a
 * drain, payload limits and heartbeat intervals. Run under ASan (make
 * asan), a use after free fails the run. */
#include <stdlib.h>
#include <string.h>

#include "gateway_fx.h"
#include "unit.h"

/* The executor picked first cannot be reached: it is marked dead in the
 * middle of dispatch, the job goes to the other one, and the dead one is
 * freed only at the reap. */
static void test_lost_in_dispatch(void)
{
    harness_init();
    hello(1, 0, 3); /* most free slots: picked first */
    hello(2, 0, 1);
    H.fail_rid = 1;
    gw_job *job;
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[2][OFFLOAD__ENVELOPE__BODY_JOB], 1);
    CU_ASSERT_EQUAL(executors_count(&H.core.executors), 1);
    gw_queue *q = queue_find(&H.core.queues, "a");
    CU_ASSERT_EQUAL(q->capacity, 1);
    CU_ASSERT_EQUAL(q->busy, 1);
    CU_ASSERT_PTR_NOT_NULL(H.core.executors.fleet.dead);
    executors_reap(&H.core.executors);
    CU_ASSERT_PTR_NULL(H.core.executors.fleet.dead);
    CU_ASSERT_EQUAL(stat(STAT_executors_lost), 1);
    CU_ASSERT_EQUAL(stat(STAT_send_failures), 1);
    result(2, H.last_job[2], OFFLOAD__CODE__CODE_OK, "x");
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_OK);
    harness_close();
}

/* Jobs wait; an executor says Hello, its Welcome goes out but its Jobs do
 * not: it is marked dead while the Hello still walks its queues. */
static void test_lost_in_hello(void)
{
    harness_init();
    hello(2, 1, 1);
    gw_job *job;
    for (int i = 0; i < 4; i++) /* 2 running on executor 2, 2 waiting */
        submit(i % 2 ? "a" : "b", "sleep", 0, 1, &job);
    H.fail_rid = 1;
    H.fail_body = OFFLOAD__ENVELOPE__BODY_JOB;
    hello(1, 1, 4);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_WELCOME], 1);
    CU_ASSERT_EQUAL(executors_count(&H.core.executors), 1);
    executors_reap(&H.core.executors);
    CU_ASSERT_EQUAL(stat(STAT_executors_lost), 1);
    CU_ASSERT_EQUAL(queue_find(&H.core.queues, "a")->waiting, 1);
    CU_ASSERT_EQUAL(queue_find(&H.core.queues, "b")->waiting, 1);
    CU_ASSERT_EQUAL(H.answers, 0); /* nothing was running on it */
    harness_close();
}

/* The tick finds one executor silent and cannot reach another: both are
 * marked dead while the tick walks the table; the reap retries the silent
 * one's job on the third executor. */
static void test_lost_in_tick(void)
{
    harness_init();
    hello(1, 0, 1);
    hello(2, 0, 1);
    hello(3, 0, 1);
    gw_job *job;
    CU_ASSERT_EQUAL(submit("a", "sleep", 0, 1, &job), OFFLOAD__CODE__CODE_OK);
    int on = H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB]   ? 1
             : H.sent[2][OFFLOAD__ENVELOPE__BODY_JOB] ? 2
                                                      : 3;
    int unreachable = on == 1 ? 2 : 1;
    int healthy = 6 - on - unreachable;
    uint64_t now = clock_now_us();
    gw_executor *e, *tmp;
    HASH_ITER(hh, H.core.executors.fleet.by_rid, e, tmp)
    {
        e->last_send_us = now - 2000000; /* everyone is due a heartbeat */
        if (e->rid.bytes[0] == on)
            e->last_recv_us = now - 10000000; /* silent for 10 s */
    }
    H.fail_rid = unreachable;
    H.fail_body = OFFLOAD__ENVELOPE__BODY_HEARTBEAT;
    timers_run(&H.core.loop.timers, now + 300000);
    CU_ASSERT_EQUAL(executors_count(&H.core.executors), 1);
    CU_ASSERT_EQUAL(H.sent[healthy][OFFLOAD__ENVELOPE__BODY_HEARTBEAT], 1);
    executors_reap(&H.core.executors);
    CU_ASSERT_EQUAL(stat(STAT_executors_lost), 2);
    CU_ASSERT_EQUAL(stat(STAT_jobs_retried), 1);
    CU_ASSERT_EQUAL(H.sent[healthy][OFFLOAD__ENVELOPE__BODY_JOB], 1);
    CU_ASSERT_EQUAL(H.answers, 0);
    result((uint8_t)healthy, H.last_job[healthy], OFFLOAD__CODE__CODE_OK, "done");
    CU_ASSERT_EQUAL(H.answers, 1);
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_OK);
    harness_close();
}

/* A Goodbye is a clean leave: counted executors_left, not lost; a job it
 * still ran is answered executor_lost. */
static void test_goodbye(void)
{
    harness_init();
    hello(1, 0, 1);
    gw_job *job;
    submit("a", "sleep", 0, -1, &job);
    goodbye(1);
    CU_ASSERT_EQUAL(executors_count(&H.core.executors), 0);
    executors_reap(&H.core.executors);
    CU_ASSERT_EQUAL(stat(STAT_executors_left), 1);
    CU_ASSERT_EQUAL(stat(STAT_executors_lost), 0);
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_EXECUTOR_LOST);
    /* Its late Result comes from a stranger now: Refuse, counted. */
    result(1, job ? 1001 : 0, OFFLOAD__CODE__CODE_OK, "x");
    CU_ASSERT_EQUAL(stat(STAT_results_unknown), 1);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_REFUSE], 1);
    harness_close();
}

/* Executors that take smaller payloads than the gateway (Hello's
 * max_payload): a job none of them takes is refused at once; one that
 * some take waits for them; one whose executors all left is answered
 * payload_too_large at the next dispatch, not at its deadline. */
static void test_executor_payload_limits(void)
{
    harness_init();
    H.core.executors.fleet.max_payload = 1024; /* the gateway's, as gateway.c sets it */
    hello_max_payload = 100;
    hello(1, 0, 1);
    gw_queue *q = queue_find(&H.core.queues, "a");
    CU_ASSERT_EQUAL(q->limited, 1);
    CU_ASSERT_EQUAL(fleet_queue_max_payload(&H.core.executors.fleet, q), 100);
    gw_job *job;
    CU_ASSERT_EQUAL(submit_len("a", "echo", 200, &job), OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE);
    CU_ASSERT_EQUAL(stat(STAT_jobs_over_executor_limit), 1);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 0);
    CU_ASSERT_EQUAL(submit_len("a", "echo", 100, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 1);

    /* An executor at the gateway's limit (2), then one that did not say (3). */
    hello_max_payload = 1024;
    hello(2, 0, 1);
    CU_ASSERT_EQUAL(q->limited, 1);
    CU_ASSERT_EQUAL(fleet_queue_max_payload(&H.core.executors.fleet, q), 1024);
    CU_ASSERT_EQUAL(submit_len("a", "echo", 200, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[2][OFFLOAD__ENVELOPE__BODY_JOB], 1);
    /* Both busy: a large one waits; 1's free slot does not take it. */
    CU_ASSERT_EQUAL(submit_len("a", "echo", 300, &job), OFFLOAD__CODE__CODE_OK);
    result(1, H.last_job[1], OFFLOAD__CODE__CODE_OK, "ok");
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 1);
    CU_ASSERT_EQUAL(q->waiting, 1);
    /* 2 leaves: nobody left takes it, so it is answered now. */
    int answers = H.answers;
    goodbye(2);
    executors_reap(&H.core.executors);
    CU_ASSERT_EQUAL(q->limited, 1);
    CU_ASSERT_EQUAL(fleet_queue_max_payload(&H.core.executors.fleet, q), 100);
    jobs_dispatch(&H.core.jobs, q);
    CU_ASSERT_EQUAL(H.answers, answers + 2); /* 2's job (lost) and the large one */
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE);
    CU_ASSERT_EQUAL(q->waiting, 0);
    hello_max_payload = 0;
    hello(3, 0, 1);
    CU_ASSERT_EQUAL(q->limited, 1);
    CU_ASSERT_EQUAL(fleet_queue_max_payload(&H.core.executors.fleet, q), 1024);
    harness_close();
}

/* A draining executor that says Hello again stays drained. */
static void test_drain_survives_hello(void)
{
    harness_init();
    hello(1, 0, 2);
    codec_envelope env;
    Offload__Drain d = OFFLOAD__DRAIN__INIT;
    ENVELOPE_SET(&env, drain, DRAIN, &d);
    from_executor(1, &env);
    gw_queue *q = queue_find(&H.core.queues, "a");
    CU_ASSERT_EQUAL(q->capacity, 0);
    hello(1, 0, 2);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_WELCOME], 2);
    CU_ASSERT_EQUAL(q->capacity, 0);
    CU_ASSERT_EQUAL(q->executors, 0);
    gw_job *job;
    submit("a", "echo", 0, -1, &job);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 0);
    harness_close();
}

/* An executor with a 40 ms heartbeat gets heartbeats at its pace: the tick
 * runs every 10 ms from its Hello on, not every 250 ms. */
static void test_tick_follows_shortest_heartbeat(void)
{
    uint64_t before = clock_now_us();
    harness_init();
    CU_ASSERT(H.core.executors.tick.due_us >= before + 250000); /* 1000 ms / 4 */
    hello_heartbeat_ms = 40;
    hello(1, 0, 1);
    uint64_t now = clock_now_us();
    CU_ASSERT(H.core.executors.tick.due_us <= now + 10000);
    timers_run(&H.core.loop.timers, now + 50000); /* past one interval */
    CU_ASSERT(H.core.executors.tick.due_us <= clock_now_us() + 10000);
    harness_close();
}

UNIT_SUITE(executors, {"executor lost in the middle of dispatch", test_lost_in_dispatch},
           {"executor lost in the middle of its Hello", test_lost_in_hello},
           {"executors lost in the middle of the tick", test_lost_in_tick},
           {"goodbye is a clean leave", test_goodbye},
           {"a drain survives a second Hello", test_drain_survives_hello},
           {"executors' payload limits", test_executor_payload_limits},
           {"the tick follows the shortest heartbeat", test_tick_follows_shortest_heartbeat})
