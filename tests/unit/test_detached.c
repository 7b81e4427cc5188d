/* test_detached.c -- the detached job store as a caller of the job life
 * cycle, without sockets (gateway_fx.h): states, the kept result,
 * waiters, cancel, idempotency keys, the byte budget, the job limit and
 * the TTL. */
#include <stdlib.h>
#include <string.h>

#include "gateway_fx.h"
#include "unit.h"

static int waited;
static void on_ended(detached_job *d, void *arg)
{
    (void)d;
    (void)arg;
    waited++;
}

static int submit_detached(detached *ds, const char *function, const char *payload, const char *key,
                           detached_job **d, int *existing)
{
    char err[256];
    size_t len = strlen(payload);
    uint8_t *p = malloc(len + 1);
    memcpy(p, payload, len + 1);
    job_request r = {.queue = "a", .function = function, .payload = p, .len = len, .retries = -1};
    return detached_submit(ds, &r, key, d, existing, err, sizeof(err));
}

/* The store is the caller: states, the kept result, waiters, cancel,
 * idempotency keys, the byte budget, the job limit and the TTL. */
static void test_detached(void)
{
    harness_init();
    detached ds;
    detached_limits lim = {.ttl_ms = 1000, .max_bytes = 10, .max_jobs = 3};
    detached_init(&ds, &H.core.jobs, &H.core.loop.timers, &lim);
    hello(1, 0, 1);
    detached_job *d1, *d2, *d3, *dx;
    int existing;
    CU_ASSERT_EQUAL(submit_detached(&ds, "echo", "abcdef", "key-1", &d1, &existing), 0);
    CU_ASSERT_FALSE(existing);
    CU_ASSERT_EQUAL(detached_state_of(d1), DETACHED_RUNNING); /* sent at once */
    CU_ASSERT_EQUAL(submit_detached(&ds, "echo", "zzz", NULL, &d2, &existing), 0);
    CU_ASSERT_EQUAL(detached_state_of(d2), DETACHED_QUEUED); /* one slot */
    /* The same key finds the first job, whatever the payload. */
    CU_ASSERT_EQUAL(submit_detached(&ds, "echo", "other", "key-1", &dx, &existing), 0);
    CU_ASSERT_TRUE(existing);
    CU_ASSERT_PTR_EQUAL(dx, d1);
    detached_waiter w = {0}, w2 = {0};
    waited = 0;
    detached_wait(d1, &w, on_ended, NULL);
    detached_wait(d1, &w2, on_ended, NULL);
    detached_unwait(&w2);
    result(1, d1->id, OFFLOAD__CODE__CODE_OK, "abcdef");
    CU_ASSERT_EQUAL(waited, 1); /* w, not w2 */
    CU_ASSERT_EQUAL(detached_state_of(d1), DETACHED_DONE);
    CU_ASSERT_EQUAL_FATAL(d1->len, 6);
    CU_ASSERT_EQUAL(memcmp(d1->payload, "abcdef", 6), 0);
    CU_ASSERT_PTR_EQUAL(detached_find(&ds, d1->id), d1);
    uint64_t id1 = d1->id;
    /* d2 runs now; cancel it: it ends at once, its executor gets a Cancel. */
    CU_ASSERT_EQUAL(detached_state_of(d2), DETACHED_RUNNING);
    detached_wait(d2, &w, on_ended, NULL);
    int cancels = H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL];
    uint64_t id2 = d2->id;
    detached_cancel(&ds, d2);
    CU_ASSERT_EQUAL(waited, 2);
    CU_ASSERT_EQUAL(detached_state_of(d2), DETACHED_CANCELLED);
    CU_ASSERT_EQUAL(d2->code, OFFLOAD__CODE__CODE_CANCELLED);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL], cancels + 1);
    detached_cancel(&ds, d2); /* ended: nothing more */
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL], cancels + 1);
    result(1, id2, OFFLOAD__CODE__CODE_CANCELLED, NULL); /* frees the slot */
    /* Budget of 10 bytes: d2's message ("cancelled by its caller") pushed
     * d1's 6 out when d2 ended; d3's end pushes d2 out. */
    CU_ASSERT_EQUAL(submit_detached(&ds, "echo", "x", NULL, &d3, &existing), 0);
    result(1, d3->id, OFFLOAD__CODE__CODE_JOB_FAILED, NULL);
    CU_ASSERT_EQUAL(detached_state_of(d3), DETACHED_FAILED);
    CU_ASSERT_PTR_NULL(detached_find(&ds, id1));
    CU_ASSERT_PTR_NULL(detached_find(&ds, id2));
    CU_ASSERT(ds.evicted >= 2);
    /* The key went with its job: a new one runs. */
    CU_ASSERT_EQUAL(submit_detached(&ds, "echo", "again", "key-1", &dx, &existing), 0);
    CU_ASSERT_FALSE(existing);
    /* Job limit (3): d3, dx, and one more; the fourth is refused. */
    CU_ASSERT_EQUAL(submit_detached(&ds, "echo", "y", NULL, &d1, &existing), 0);
    CU_ASSERT_EQUAL(submit_detached(&ds, "echo", "z", NULL, &d2, &existing),
                    OFFLOAD__CODE__CODE_QUEUE_FULL);
    /* TTL: d3 ended; past its TTL the sweep drops it. */
    uint64_t id3 = d3->id;
    timers_run(&H.core.loop.timers, clock_now_us() + 2000000);
    CU_ASSERT_PTR_NULL(detached_find(&ds, id3));
    CU_ASSERT(ds.expired >= 1);
    CU_ASSERT_PTR_NOT_NULL(detached_find(&ds, dx->id)); /* open jobs stay */
    /* Closing answers the open ones into the store, then frees it. Which
     * ends last is the job table's order, and the byte budget may evict the
     * other one: each is ended, or gone. */
    uint64_t open_ids[] = {dx->id, d1->id};
    executors_reap(&H.core.executors);
    jobs_close(&H.core.jobs, OFFLOAD__CODE__CODE_NO_EXECUTOR, "closing");
    int kept = 0;
    for (size_t i = 0; i < sizeof(open_ids) / sizeof(open_ids[0]); i++) {
        detached_job *d = detached_find(&ds, open_ids[i]);
        if (d) {
            CU_ASSERT_TRUE(d->ended);
            kept++;
        }
    }
    CU_ASSERT(kept >= 1); /* the last to end is never evicted by its own end */
    detached_free(&ds);
    CU_ASSERT_EQUAL(ds.count, 0);
    harness_close();
}

UNIT_SUITE(detached, {"detached jobs: states, waiters, cancel, keys, budget, TTL", test_detached})
