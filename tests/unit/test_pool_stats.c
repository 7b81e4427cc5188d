/* test_pool_stats.c -- the gateway's side of PoolStats, without sockets
 * (gateway_fx.h): the Welcome says pool_stats; an executor's PoolStats is
 * kept per queue and shown by core_executors and /v1/queues' "executors";
 * one naming a queue the executor did not declare, or of another kind, is
 * dropped (frames_bad, Refuse) and the executor kept; a second Hello keeps
 * what was told; a Cancel says whether the job's deadline passed. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway_fx.h"
#include "unit.h"

/* A PoolStats from rid byte b about queue: kind, alive, busy of 4, and
 * numbers made from kills (respawns 2 x kills, kills kills..kills + 3 by
 * reason, rss_bytes 1000 x kills). */
static void pool_stats(uint8_t b, const char *queue, int kind, uint32_t alive, uint32_t busy,
                       uint64_t kills)
{
    Offload__PoolStat st = OFFLOAD__POOL_STAT__INIT, *sp[] = {&st};
    st.queue = (char *)queue;
    st.kind = kind;
    st.size = 4;
    st.alive = alive;
    st.busy = busy;
    st.respawns = 2 * kills;
    st.kills_deadline = kills;
    st.kills_cancel = kills + 1;
    st.kills_memory = kills + 2;
    st.kills_recycle = kills + 3;
    st.rss_bytes = 1000 * kills;
    Offload__PoolStats ps = OFFLOAD__POOL_STATS__INIT;
    ps.pools = sp;
    ps.n_pools = 1;
    ps.seq = kills + 1;
    codec_envelope env;
    ENVELOPE_SET(&env, pool_stats, POOL_STATS, &ps);
    from_executor(b, &env);
}

static const executor_queue_info *queue_of(const executor_info *e, const char *name)
{
    for (size_t i = 0; i < e->nqueues; i++)
        if (!strcmp(e->queues[i].name, name))
            return &e->queues[i];
    return NULL;
}

static void test_kept_and_shown(void)
{
    harness_init();
    hello(2, 1, 4); /* exec-2: queues a and b, threads */
    hello(1, 0, 4); /* exec-1: queue a */
    CU_ASSERT_TRUE(H.welcome_pool_stats);
    executor_info *v;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(core_executors(&H.core, &v, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(v[0].id, "exec-1"); /* sorted by id */
    CU_ASSERT_STRING_EQUAL(v[1].id, "exec-2");
    CU_ASSERT_STRING_EQUAL(v[1].state, "ready");
    CU_ASSERT_EQUAL(v[1].nqueues, 2);
    CU_ASSERT_FALSE(queue_of(&v[1], "a")->has_pool); /* none told yet */
    free(v);

    pool_stats(2, "b", OFFLOAD__POOL_KIND__POOL_THREADS, 3, 1, 5);
    CU_ASSERT_EQUAL(stat(STAT_pool_stats), 1);
    CU_ASSERT_EQUAL(stat(STAT_frames_bad), 0);
    CU_ASSERT_EQUAL_FATAL(core_executors(&H.core, &v, &n), 0);
    const executor_queue_info *b = queue_of(&v[1], "b");
    CU_ASSERT_FALSE(queue_of(&v[1], "a")->has_pool);
    CU_ASSERT_TRUE_FATAL(b->has_pool);
    CU_ASSERT_STRING_EQUAL(b->pool.kind, "threads");
    CU_ASSERT(b->pool.size == 4 && b->pool.alive == 3 && b->pool.busy == 1);
    CU_ASSERT(b->pool.respawns == 10 && b->pool.kills_deadline == 5 && b->pool.kills_cancel == 6 &&
              b->pool.kills_memory == 7 && b->pool.kills_recycle == 8 && b->pool.rss_bytes == 5000);
    free(v);

    /* A drain shows; /v1/queues carries the same. */
    codec_envelope env;
    Offload__Drain d = OFFLOAD__DRAIN__INIT;
    ENVELOPE_SET(&env, drain, DRAIN, &d);
    from_executor(2, &env);
    char *text = core_queues_json(&H.core);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    free(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    json_t *ex = json_object_get(root, "executors");
    CU_ASSERT_EQUAL_FATAL(json_array_size(ex), 2);
    json_t *e1 = json_array_get(ex, 0), *e2 = json_array_get(ex, 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e1, "state")), "ready");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(e1, "pools")), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e2, "state")), "draining");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(e2, "queues")), 2);
    CU_ASSERT(json_integer_value(json_object_get(e2, "last_seen_ms")) < 10000);
    json_t *p = json_array_get(json_object_get(e2, "pools"), 0);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "queue")), "b");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(p, "busy")), 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(p, "respawns")), 10);
    json_t *kills = json_object_get(p, "kills");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(kills, "deadline")), 5);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(kills, "recycle")), 8);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(p, "rss_bytes")), 5000);
    json_decref(root);
    harness_close();
}

/* A PoolStats naming a queue the Hello did not declare, or another kind:
 * dropped as a whole, counted, answered, the executor kept. */
static void test_bad_dropped_executor_kept(void)
{
    harness_init();
    hello(1, 0, 4);
    pool_stats(1, "a", OFFLOAD__POOL_KIND__POOL_THREADS, 1, 0, 1);
    pool_stats(1, "z", OFFLOAD__POOL_KIND__POOL_THREADS, 1, 0, 9);
    CU_ASSERT_EQUAL(stat(STAT_frames_bad), 1);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_REFUSE], 1);
    pool_stats(1, "a", OFFLOAD__POOL_KIND__POOL_PROCESSES, 1, 0, 9);
    CU_ASSERT_EQUAL(stat(STAT_frames_bad), 2);
    CU_ASSERT_EQUAL(stat(STAT_pool_stats), 1);
    CU_ASSERT_EQUAL(executors_count(&H.core.executors), 1);
    CU_ASSERT_PTR_NULL(H.core.executors.fleet.dead);
    executor_info *v;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(core_executors(&H.core, &v, &n), 0);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(v[0].queues[0].pool.kills_deadline, 1); /* the good one's */
    free(v);
    /* A second Hello keeps what was told; the jobs still go. */
    hello(1, 1, 4);
    CU_ASSERT_EQUAL_FATAL(core_executors(&H.core, &v, &n), 0);
    CU_ASSERT_TRUE(queue_of(&v[0], "a")->has_pool);
    CU_ASSERT_FALSE(queue_of(&v[0], "b")->has_pool);
    free(v);
    gw_job *job;
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 1);
    harness_close();
}

/* A job's Cancel says deadline when its deadline passed, not when its
 * caller left. */
static void test_cancel_says_deadline(void)
{
    harness_init();
    hello(1, 0, 2);
    gw_job *job;
    CU_ASSERT_EQUAL(submit("a", "sleep", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    H.cancel_deadline = -1;
    core_detach(&H.core, job); /* a hang-up */
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL], 1);
    CU_ASSERT_EQUAL(H.cancel_deadline, 0);
    CU_ASSERT_EQUAL(submit("a", "sleep", 50, -1, &job), OFFLOAD__CODE__CODE_OK);
    usleep(60000); /* past the deadline on the clock, which the Cancel reads */
    timers_run(&H.core.loop.timers, clock_now_us());
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL], 2);
    CU_ASSERT_EQUAL(H.cancel_deadline, 1);
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_TIMEOUT);
    harness_close();
}

UNIT_SUITE(pool_stats,
           {"kept per queue, shown by core_executors and /v1/queues", test_kept_and_shown},
           {"a bad one is dropped, the executor kept", test_bad_dropped_executor_kept},
           {"a Cancel says whether the deadline passed", test_cancel_says_deadline})
