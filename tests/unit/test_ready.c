/* test_ready.c -- GET /readyz's verdict (ready_check, core_ready): the
 * pinned queues each need a live executor that is not draining, any
 * executor does when none is pinned, a draining gateway is never ready,
 * the reasons are bounded, and a change is counted. Without sockets. */
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "fleet.h"
#include "log.h"
#include "queue.h"
#include "ready.h"
#include "unit.h"

/* A Hello declaring the queues of names (NULL-terminated), one function. */
typedef struct hello_fx {
    Offload__Hello hello;
    Offload__QueueDecl decls[8];
    Offload__QueueDecl *ptrs[8];
    char *fns[1];
} hello_fx;

static void hello_make(hello_fx *fx, const char *const *names, int credit)
{
    memset(fx, 0, sizeof(*fx));
    fx->hello = (Offload__Hello)OFFLOAD__HELLO__INIT;
    fx->hello.executor_id = "exec";
    fx->hello.credit = credit;
    fx->fns[0] = "echo";
    size_t n = 0;
    for (; names[n] && n < 8; n++) {
        Offload__QueueDecl *d = &fx->decls[n];
        *d = (Offload__QueueDecl)OFFLOAD__QUEUE_DECL__INIT;
        d->name = (char *)names[n];
        d->kind = OFFLOAD__POOL_KIND__POOL_THREADS;
        d->size = 2;
        d->n_functions = 1;
        d->functions = fx->fns;
        fx->ptrs[n] = d;
    }
    fx->hello.n_queues = n;
    fx->hello.queues = fx->ptrs;
}

static gw_executor *join(fleet *f, queue_table *qt, unsigned id, const char *const *names,
                         int credit)
{
    hello_fx fx;
    hello_make(&fx, names, credit);
    wire_rid rid = {.len = 1, .bytes = {(uint8_t)id}};
    return fleet_register(f, qt, &rid, &fx.hello, 1000, 3, 0);
}

static const char *why(const ready_report *r, size_t i)
{
    static char buf[READY_TEXT_MAX];
    return i < r->nwhy ? ready_reason_text(&r->why[i], buf, sizeof(buf)) : "";
}

static void pin(queue_table *qt, const char *name)
{
    gw_queue *q = queue_get(qt, name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    q->pinned = 1;
}

static void test_no_queue_configured(void)
{
    fleet f = {0};
    queue_table qt = {0};
    ready_report r;

    ready_check(&qt, &f, 0, &r);
    CU_ASSERT_EQUAL(r.ready, 0);
    CU_ASSERT_EQUAL(r.nwhy, 1);
    CU_ASSERT_STRING_EQUAL(why(&r, 0), "no executor connected");

    /* Any executor serves: its queues are its own. */
    gw_executor *e = join(&f, &qt, 1, (const char *const[]){"mine", NULL}, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    ready_check(&qt, &f, 0, &r);
    CU_ASSERT_EQUAL(r.ready, 1);
    CU_ASSERT_EQUAL(r.nwhy, 0);
    CU_ASSERT_EQUAL(r.queues, 0);

    fleet_drain(&f, e);
    ready_check(&qt, &f, 0, &r);
    CU_ASSERT_EQUAL(r.ready, 0);
    CU_ASSERT_STRING_EQUAL(why(&r, 0), "every executor draining");

    /* A draining gateway is not ready, whatever its fleet. */
    CU_ASSERT_PTR_NOT_NULL(join(&f, &qt, 2, (const char *const[]){"mine", NULL}, 0));
    ready_check(&qt, &f, 0, &r);
    CU_ASSERT_EQUAL(r.ready, 1);
    ready_check(&qt, &f, 1, &r);
    CU_ASSERT_EQUAL(r.ready, 0);
    CU_ASSERT_EQUAL(r.nwhy, 1);
    CU_ASSERT_STRING_EQUAL(why(&r, 0), "gateway draining");

    fleet_free(&f);
    queue_table_reap(&qt, NULL, NULL);
    queue_table_free(&qt);
}

static void test_pinned_queues(void)
{
    fleet f = {0};
    queue_table qt = {0};
    ready_report r;
    pin(&qt, "a");
    pin(&qt, "b");

    ready_check(&qt, &f, 0, &r);
    CU_ASSERT_EQUAL(r.ready, 0);
    CU_ASSERT_EQUAL(r.queues, 2);
    CU_ASSERT_EQUAL(r.nwhy, 2);
    CU_ASSERT_STRING_EQUAL(why(&r, 0), "queue 'a': no executor");
    CU_ASSERT_STRING_EQUAL(why(&r, 1), "queue 'b': no executor");

    /* An executor of another queue only (not pinned) changes nothing. */
    CU_ASSERT_PTR_NOT_NULL(join(&f, &qt, 1, (const char *const[]){"other", NULL}, 0));
    gw_executor *ea = join(&f, &qt, 2, (const char *const[]){"a", NULL}, 0);
    ready_check(&qt, &f, 0, &r);
    CU_ASSERT_EQUAL(r.ready, 0);
    CU_ASSERT_EQUAL(r.nwhy, 1);
    CU_ASSERT_STRING_EQUAL(why(&r, 0), "queue 'b': no executor");

    /* An executor that speaks credit has 0 slots until its Credit: its
     * pool counts, not its share of the moment. */
    CU_ASSERT_PTR_NOT_NULL(join(&f, &qt, 3, (const char *const[]){"b", "a", NULL}, 1));
    CU_ASSERT_EQUAL(queue_find(&qt, "b")->capacity, 0);
    ready_check(&qt, &f, 0, &r);
    CU_ASSERT_EQUAL(r.ready, 1);

    /* a keeps one of its two executors; b loses its only one to a drain. */
    fleet_drain(&f, ea);
    ready_check(&qt, &f, 0, &r);
    CU_ASSERT_EQUAL(r.ready, 1);
    gw_executor *eb = fleet_find(&f, &(wire_rid){.len = 1, .bytes = {3}});
    fleet_drain(&f, eb);
    ready_check(&qt, &f, 0, &r);
    CU_ASSERT_EQUAL(r.ready, 0);
    CU_ASSERT_EQUAL(r.nwhy, 2);
    CU_ASSERT_STRING_EQUAL(why(&r, 0), "queue 'a': every executor draining");
    CU_ASSERT_STRING_EQUAL(why(&r, 1), "queue 'b': every executor draining");

    /* Gone for good: no executor at all. */
    fleet_mark_dead(&f, ea, "test", 1);
    fleet_mark_dead(&f, eb, "test", 1);
    ready_check(&qt, &f, 1, &r);
    CU_ASSERT_EQUAL(r.nwhy, 3);
    CU_ASSERT_STRING_EQUAL(why(&r, 0), "gateway draining");
    CU_ASSERT_STRING_EQUAL(why(&r, 1), "queue 'a': no executor");
    CU_ASSERT_STRING_EQUAL(why(&r, 2), "queue 'b': no executor");

    gw_executor *d;
    while ((d = fleet_next_dead(&f)))
        fleet_free_executor(d);
    fleet_free(&f);
    queue_table_reap(&qt, NULL, NULL);
    queue_table_free(&qt);
}

static void test_reasons_bounded(void)
{
    fleet f = {0};
    queue_table qt = {0};
    ready_report r;
    char name[16];
    for (int i = 0; i < READY_WHY_MAX + 5; i++) {
        snprintf(name, sizeof(name), "q%02d", i);
        pin(&qt, name);
    }
    ready_check(&qt, &f, 1, &r);
    CU_ASSERT_EQUAL(r.ready, 0);
    CU_ASSERT_EQUAL(r.nwhy, READY_WHY_MAX);
    CU_ASSERT_EQUAL(r.more, 6); /* 1 + 21 reasons, 16 listed */
    CU_ASSERT_STRING_EQUAL(why(&r, 0), "gateway draining");
    CU_ASSERT_STRING_EQUAL(why(&r, READY_WHY_MAX - 1), "queue 'q14': no executor");
    queue_table_free(&qt);
}

static void test_changes_counted(void)
{
    static gw_core c; /* only its tables, the drain flag and the counters */
    static gateway_config cfg = {.id = "test"};
    int saved = log_level_current;
    log_level_current = LOG_ERROR; /* the verdicts are logged at info and warn */
    memset(&c, 0, sizeof(c));
    c.cfg = &cfg;
    c.ready_last = -1;
    ready_report r;

    core_ready(&c, &r); /* the first verdict is not a change */
    CU_ASSERT_EQUAL(r.ready, 0);
    CU_ASSERT_EQUAL(c.stats.v[STAT_readiness_changes], 0);
    gw_executor *e = join(&c.executors.fleet, &c.queues, 1, (const char *const[]){"a", NULL}, 0);
    core_ready(&c, &r);
    CU_ASSERT_EQUAL(r.ready, 1);
    core_ready(&c, &r);
    CU_ASSERT_EQUAL(c.stats.v[STAT_readiness_changes], 1);
    c.draining = 1;
    core_ready(&c, &r);
    CU_ASSERT_EQUAL(r.ready, 0);
    CU_ASSERT_EQUAL(c.stats.v[STAT_readiness_changes], 2);
    CU_ASSERT_PTR_NOT_NULL(e);

    fleet_free(&c.executors.fleet);
    queue_table_reap(&c.queues, NULL, NULL);
    queue_table_free(&c.queues);
    log_level_current = saved;
}

UNIT_SUITE(ready, {"no queue configured: any executor", test_no_queue_configured},
           {"pinned queues: each needs a live executor", test_pinned_queues},
           {"the reasons are bounded", test_reasons_bounded},
           {"a change is counted", test_changes_counted})
