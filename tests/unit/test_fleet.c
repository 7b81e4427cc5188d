/* test_fleet.c -- the fleet's bounds (fleet_check_hello), queues freed
 * once nothing refers to them, and dispatch that looks at a queue's own
 * executors only. Without sockets; under ASan (make asan) a pointer kept
 * to a freed queue fails the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "fleet.h"
#include "queue.h"
#include "unit.h"

/* A Hello: nqueues queues named PREFIX0.., each with nfns functions. */
typedef struct hello_fx {
    Offload__Hello hello;
    Offload__QueueDecl decls[CODEC_QUEUES_MAX];
    Offload__QueueDecl *ptrs[CODEC_QUEUES_MAX];
    char names[CODEC_QUEUES_MAX][CODEC_NAME_MAX + 1];
    char fnames[CODEC_FUNCTIONS_MAX][24];
    char *fns[CODEC_FUNCTIONS_MAX];
} hello_fx;

static void hello_make(hello_fx *fx, const char *prefix, size_t nqueues, size_t nfns)
{
    memset(fx, 0, sizeof(*fx));
    fx->hello = (Offload__Hello)OFFLOAD__HELLO__INIT;
    fx->hello.executor_id = "exec";
    for (size_t f = 0; f < nfns; f++) {
        snprintf(fx->fnames[f], sizeof(fx->fnames[f]), "fn%zu", f);
        fx->fns[f] = fx->fnames[f];
    }
    for (size_t i = 0; i < nqueues; i++) {
        Offload__QueueDecl *d = &fx->decls[i];
        *d = (Offload__QueueDecl)OFFLOAD__QUEUE_DECL__INIT;
        snprintf(fx->names[i], sizeof(fx->names[i]), "%s%zu", prefix, i);
        d->name = fx->names[i];
        d->kind = OFFLOAD__POOL_KIND__POOL_THREADS;
        d->size = 1;
        d->n_functions = nfns;
        d->functions = fx->fns;
        fx->ptrs[i] = d;
    }
    fx->hello.n_queues = nqueues;
    fx->hello.queues = fx->ptrs;
}

static wire_rid rid_of(unsigned n)
{
    wire_rid rid = {.len = 2, .bytes = {(uint8_t)(n >> 8), (uint8_t)n}};
    return rid;
}

static void reap_executor(fleet *f, gw_executor *e)
{
    fleet_mark_dead(f, e, "test", 1);
    CU_ASSERT_EQUAL(fleet_next_dead(f), e);
    fleet_free_executor(e);
}

static void test_hello_bounds(void)
{
    fleet f = {0};
    queue_table qt = {.max = 10};
    fleet_limits lim = {.max_executors = 2, .max_functions = 8, .max_silence_ms = 10000};
    hello_fx fx;
    const char *what = NULL;
    char msg[512];
    wire_rid r1 = rid_of(1), r2 = rid_of(2), r3 = rid_of(3);

    hello_make(&fx, "a", 4, 2); /* 4 queues, 8 functions */
    CU_ASSERT_EQUAL(
        fleet_check_hello(&f, &qt, &r1, &fx.hello, &lim, 1000, 3, &what, msg, sizeof(msg)), 0);
    CU_ASSERT_PTR_NOT_NULL(fleet_register(&f, &qt, &r1, &fx.hello, 1000, 3, 0));

    hello_make(&fx, "b", 3, 3); /* 9 functions */
    CU_ASSERT_EQUAL(
        fleet_check_hello(&f, &qt, &r2, &fx.hello, &lim, 1000, 3, &what, msg, sizeof(msg)), -1);
    CU_ASSERT_STRING_EQUAL(what, "functions");
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "(--max-functions)"));

    hello_make(&fx, "b", 1, 1);
    fx.hello.heartbeat_ms = 600000;
    fx.hello.liveness = 1000;
    CU_ASSERT_EQUAL(
        fleet_check_hello(&f, &qt, &r2, &fx.hello, &lim, 1000, 3, &what, msg, sizeof(msg)), -1);
    CU_ASSERT_STRING_EQUAL(what, "silence");
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "(--max-silence-ms)"));
    /* The defaults count when the Hello sets none: 5000 x 3 > 10000. */
    fx.hello.heartbeat_ms = fx.hello.liveness = 0;
    CU_ASSERT_EQUAL(
        fleet_check_hello(&f, &qt, &r2, &fx.hello, &lim, 5000, 3, &what, msg, sizeof(msg)), -1);
    CU_ASSERT_EQUAL(
        fleet_check_hello(&f, &qt, &r2, &fx.hello, &lim, 1000, 3, &what, msg, sizeof(msg)), 0);

    /* Queues: 4 known, 10 at most: 6 new fit, 7 do not; known names are
     * not new. */
    hello_make(&fx, "b", 7, 1);
    CU_ASSERT_EQUAL(
        fleet_check_hello(&f, &qt, &r2, &fx.hello, &lim, 1000, 3, &what, msg, sizeof(msg)), -1);
    CU_ASSERT_STRING_EQUAL(what, "queues");
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "(--max-queues)"));
    hello_make(&fx, "b", 6, 1);
    CU_ASSERT_EQUAL(
        fleet_check_hello(&f, &qt, &r2, &fx.hello, &lim, 1000, 3, &what, msg, sizeof(msg)), 0);
    CU_ASSERT_PTR_NOT_NULL(fleet_register(&f, &qt, &r2, &fx.hello, 1000, 3, 0));
    CU_ASSERT_EQUAL(qt.count, 10);
    hello_make(&fx, "a", 4, 1);
    CU_ASSERT_EQUAL(
        fleet_check_hello(&f, &qt, &r1, &fx.hello, &lim, 1000, 3, &what, msg, sizeof(msg)), 0);
    /* The table is full: queue_get refuses a new name too. */
    CU_ASSERT_PTR_NULL(queue_get(&qt, "zzz"));

    /* Executors: 2 registered; a third is refused, a known one is not. */
    CU_ASSERT_EQUAL(
        fleet_check_hello(&f, &qt, &r3, &fx.hello, &lim, 1000, 3, &what, msg, sizeof(msg)), -1);
    CU_ASSERT_STRING_EQUAL(what, "executors");
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "(--max-executors 2)"));
    CU_ASSERT_EQUAL(
        fleet_check_hello(&f, &qt, &r2, &fx.hello, &lim, 1000, 3, &what, msg, sizeof(msg)), 0);

    fleet_free(&f);
    CU_ASSERT_EQUAL(queue_table_reap(&qt, NULL, NULL), 10);
    CU_ASSERT_EQUAL(qt.count, 0);
    queue_table_free(&qt);
}

static int freed_count;
static void on_freed(gw_queue *q, void *arg)
{
    (void)q;
    (void)arg;
    freed_count++;
}

static void test_queues_freed(void)
{
    fleet f = {0};
    queue_table qt = {0};
    hello_fx fx;
    wire_rid r1 = rid_of(1);
    freed_count = 0;

    /* Pinned (a --route or --queue) stays; an unreferenced new one goes. */
    gw_queue *pinned = queue_get(&qt, "pinned");
    pinned->pinned = 1;
    CU_ASSERT_PTR_NOT_NULL(queue_get(&qt, "passing"));
    CU_ASSERT_EQUAL(queue_table_reap(&qt, on_freed, NULL), 1);
    CU_ASSERT_PTR_NULL(queue_find(&qt, "passing"));
    CU_ASSERT_PTR_EQUAL(queue_find(&qt, "pinned"), pinned);
    CU_ASSERT_EQUAL(freed_count, 1);

    /* An executor's queues live while it does, and while a job does. */
    hello_make(&fx, "q", 2, 1);
    gw_executor *e = fleet_register(&f, &qt, &r1, &fx.hello, 1000, 3, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    gw_queue *q0 = queue_find(&qt, "q0");
    CU_ASSERT_EQUAL(q0->refs, 1);
    CU_ASSERT_EQUAL(queue_table_reap(&qt, on_freed, NULL), 0);
    uint8_t *payload = malloc(1);
    gw_job *job = job_new(1, q0, "fn0", &payload, 0, 0, 1000000);
    queue_push(q0, job);
    CU_ASSERT_EQUAL(q0->refs, 2);

    /* A Hello again that drops q1: q1 goes, q0 stays. */
    hello_make(&fx, "q", 1, 1);
    CU_ASSERT_PTR_EQUAL(fleet_register(&f, &qt, &r1, &fx.hello, 1000, 3, 0), e);
    CU_ASSERT_EQUAL(queue_table_reap(&qt, on_freed, NULL), 1);
    CU_ASSERT_PTR_NULL(queue_find(&qt, "q1"));
    CU_ASSERT_PTR_EQUAL(queue_find(&qt, "q0"), q0);

    /* The executor leaves: the waiting job keeps q0 (a draining or dead
     * executor's slots too, until it is freed). */
    fleet_mark_dead(&f, e, "test", 1);
    CU_ASSERT_EQUAL(q0->executors, 0);
    CU_ASSERT_EQUAL(queue_table_reap(&qt, on_freed, NULL), 0); /* e's slots still */
    CU_ASSERT_EQUAL(fleet_next_dead(&f), e);
    fleet_free_executor(e);
    CU_ASSERT_EQUAL(queue_table_reap(&qt, on_freed, NULL), 0); /* the job */
    CU_ASSERT_PTR_EQUAL(queue_find(&qt, "q0"), q0);
    queue_remove(q0, job);
    job_free(job);
    CU_ASSERT_EQUAL(queue_table_reap(&qt, on_freed, NULL), 1);
    CU_ASSERT_PTR_NULL(queue_find(&qt, "q0"));
    CU_ASSERT_EQUAL(freed_count, 3);
    CU_ASSERT_EQUAL(qt.count, 1);
    CU_ASSERT_EQUAL(qt.freed, 3);

    /* Nothing to do is cheap: no scan without an unref to 0. */
    CU_ASSERT_EQUAL(qt.maybe_idle, 0);
    fleet_free(&f);
    queue_table_free(&qt);
}

static int count_sends;
static int count_send(gw_executor *e, gw_job *job, void *arg)
{
    (void)e;
    (void)job;
    (void)arg;
    count_sends++;
    return 0;
}

/* 1,000 idle executors on other queues are not on q's serving list: the
 * dispatch of q's jobs looks at q's one executor. */
static void test_dispatch_ignores_other_queues(void)
{
    fleet f = {0};
    queue_table qt = {.max = 2000};
    hello_fx fx;
    for (unsigned i = 0; i < 1000; i++) {
        char prefix[16];
        snprintf(prefix, sizeof(prefix), "g%u-", i);
        hello_make(&fx, prefix, 1, 1);
        wire_rid rid = rid_of(1000 + i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fleet_register(&f, &qt, &rid, &fx.hello, 1000, 3, 0));
    }
    hello_make(&fx, "io", 1, 1);
    wire_rid r = rid_of(1);
    fx.decls[0].size = 4;
    gw_executor *real = fleet_register(&f, &qt, &r, &fx.hello, 1000, 3, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(real);
    gw_queue *q = queue_find(&qt, "io0");
    size_t serving = 0;
    for (exec_slot *s = q->serving; s; s = s->qnext) {
        CU_ASSERT_PTR_EQUAL(s->executor, real);
        serving++;
    }
    CU_ASSERT_EQUAL(serving, 1);
    CU_ASSERT_PTR_EQUAL(dispatch_pick(&f, q, "fn0", 0), real);
    CU_ASSERT_PTR_NULL(dispatch_pick(&f, q, "nosuch", 0));
    CU_ASSERT_TRUE(fleet_queue_offers(&f, q, "fn0"));
    CU_ASSERT_STRING_EQUAL(fleet_queue_kind(&f, q), "threads");

    gw_job *jobs[4];
    for (int i = 0; i < 4; i++) {
        uint8_t *payload = malloc(1);
        jobs[i] = job_new((uint64_t)i + 1, q, "fn0", &payload, 0, 0, 1000000);
        queue_push(q, jobs[i]);
    }
    count_sends = 0;
    CU_ASSERT_EQUAL(dispatch_queue(&f, q, count_send, NULL, NULL), 4);
    CU_ASSERT_EQUAL(q->busy, 4);
    for (int i = 0; i < 4; i++) {
        dispatch_release(jobs[i]);
        job_free(jobs[i]);
    }
    /* Gone, it leaves the list. */
    reap_executor(&f, real);
    CU_ASSERT_PTR_NULL(q->serving);
    CU_ASSERT_PTR_NULL(fleet_queue_kind(&f, q));
    fleet_free(&f);
    CU_ASSERT_EQUAL(queue_table_reap(&qt, NULL, NULL), 1001);
    queue_table_free(&qt);
}

/* An executor that says credit: 0 slots until its Credit, which sets the
 * queue's capacity (capped at the declared size); a second Hello keeps the
 * allowance; a drain ignores Credits; one without credit keeps its size. */
static void test_credit_sets_capacity(void)
{
    fleet f = {0};
    queue_table qt = {.max = 10};
    hello_fx fx;
    wire_rid r1 = rid_of(1), r2 = rid_of(2);

    hello_make(&fx, "io", 1, 1);
    fx.decls[0].size = 4;
    fx.hello.credit = 1;
    gw_executor *e = fleet_register(&f, &qt, &r1, &fx.hello, 1000, 3, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    gw_queue *q = queue_find(&qt, "io0");
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_EQUAL(q->capacity, 0);
    CU_ASSERT_EQUAL(q->executors, 1);
    CU_ASSERT_PTR_NULL(dispatch_pick(&f, q, "fn0", 1));

    exec_slot *s = executor_slot(e, q);
    CU_ASSERT_EQUAL(fleet_set_credit(&f, e, s, 3), 3);
    CU_ASSERT_EQUAL(q->capacity, 3);
    CU_ASSERT_PTR_EQUAL(dispatch_pick(&f, q, "fn0", 1), e);
    CU_ASSERT_EQUAL(fleet_set_credit(&f, e, s, 99), 4); /* capped at the pool */
    CU_ASSERT_EQUAL(q->capacity, 4);

    /* An executor without credit adds its declared size. */
    hello_fx old;
    hello_make(&old, "io", 1, 1);
    old.decls[0].size = 2;
    gw_executor *o = fleet_register(&f, &qt, &r2, &old.hello, 1000, 3, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(q->capacity, 6);

    /* A second Hello on the same connection keeps the allowance. */
    fleet_set_credit(&f, e, s, 1);
    CU_ASSERT_EQUAL(q->capacity, 3);
    CU_ASSERT_PTR_EQUAL(fleet_register(&f, &qt, &r1, &fx.hello, 1000, 3, 0), e);
    s = executor_slot(e, q);
    CU_ASSERT_EQUAL(s->size, 1);
    CU_ASSERT_EQUAL(s->declared, 4);
    CU_ASSERT_EQUAL(q->capacity, 3);

    /* Draining: out of the capacity, and a Credit does not bring it back. */
    fleet_drain(&f, e);
    CU_ASSERT_EQUAL(q->capacity, 2);
    fleet_set_credit(&f, e, s, 4);
    CU_ASSERT_EQUAL(q->capacity, 2);
    CU_ASSERT_EQUAL(s->size, 0);

    fleet_free(&f);
    queue_table_reap(&qt, NULL, NULL);
    queue_table_free(&qt);
}

UNIT_SUITE(fleet, {"Hello bounds name their flags", test_hello_bounds},
           {"a Credit sets an executor's slots and the queue's capacity",
            test_credit_sets_capacity},
           {"queues are freed when nothing refers to them", test_queues_freed},
           {"dispatch looks at the queue's own executors", test_dispatch_ignores_other_queues})
