/* test_timers.c -- the timer heap: order, stop, restart, callbacks that
 * start timers. */
#include <stdlib.h>

#include "timers.h"
#include "unit.h"

static int fired[64];
static int nfired;

static void record(gw_timer *t, void *arg)
{
    (void)t;
    fired[nfired++] = (int)(intptr_t)arg;
}

static void test_order_and_stop(void)
{
    timers ts;
    gw_timer t[10] = {0};
    timers_init(&ts);
    nfired = 0;
    static const uint64_t due[10] = {50, 10, 90, 30, 70, 20, 80, 40, 60, 100};
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(timers_start(&ts, &t[i], due[i], record, (void *)(intptr_t)due[i]), 0);
    CU_ASSERT_EQUAL(timers_next_in(&ts, 0), 10);
    timers_stop(&ts, &t[2]); /* 90 */
    timers_stop(&ts, &t[2]); /* twice is harmless */
    CU_ASSERT_FALSE(timer_active(&t[2]));
    timers_start(&ts, &t[0], 5, record, (void *)(intptr_t)5); /* restart earlier */
    CU_ASSERT_EQUAL(timers_run(&ts, 45), 5);
    static const int want[] = {5, 10, 20, 30, 40};
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(fired[i], want[i]);
    CU_ASSERT_EQUAL(timers_next_in(&ts, 45), 15);
    CU_ASSERT_EQUAL(timers_run(&ts, 1000), 4); /* 60 70 80 100 */
    CU_ASSERT_EQUAL(fired[8], 100);
    CU_ASSERT_EQUAL(timers_next_in(&ts, 0), -1);
    timers_free(&ts);
}

static timers *chain_ts;
static gw_timer chain_t;
static int chain_count;

static void chain(gw_timer *t, void *arg)
{
    (void)arg;
    if (++chain_count < 3)
        timers_start(chain_ts, t, t->due_us + 10, chain, NULL);
}

static void test_callback_restarts(void)
{
    timers ts;
    timers_init(&ts);
    chain_ts = &ts;
    chain_count = 0;
    timers_start(&ts, &chain_t, 10, chain, NULL);
    CU_ASSERT_EQUAL(timers_run(&ts, 100), 3); /* 10, 20, 30 all due */
    CU_ASSERT_EQUAL(chain_count, 3);
    CU_ASSERT_FALSE(timer_active(&chain_t));
    timers_free(&ts);
}

static void test_many_random(void)
{
    timers ts;
    timers_init(&ts);
    enum { N = 2000 };
    gw_timer *t = calloc(N, sizeof(*t));
    srand(7);
    for (int i = 0; i < N; i++)
        timers_start(&ts, &t[i], (uint64_t)(rand() % 100000), record, NULL);
    for (int i = 0; i < N; i += 3)
        timers_stop(&ts, &t[i]);
    uint64_t last = 0;
    int ok = 1;
    while (ts.count) {
        gw_timer *top = ts.heap[0];
        if (top->due_us < last)
            ok = 0;
        last = top->due_us;
        timers_stop(&ts, top);
    }
    CU_ASSERT_TRUE(ok);
    free(t);
    timers_free(&ts);
}

UNIT_SUITE(timers, {"order, stop, restart", test_order_and_stop},
           {"callbacks restart timers", test_callback_restarts},
           {"heap order under random load", test_many_random})
