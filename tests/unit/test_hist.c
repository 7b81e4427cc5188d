/* test_hist.c -- the latency histogram (hist.h): which bucket a value
 * goes to at and around every bound, and the quantile estimates. */
#include <stdio.h>

#include "hist.h"
#include "unit.h"

/* A value on a bound belongs to that bound's bucket (le: <=); one more
 * goes to the next; past 60 s to +Inf. */
static void test_edges(void)
{
    CU_ASSERT_EQUAL(hist_bucket(0), 0);
    for (unsigned i = 0; i < HIST_BOUNDS; i++) {
        CU_ASSERT_EQUAL(hist_bucket(hist_bounds_us[i]), i);
        CU_ASSERT_EQUAL(hist_bucket(hist_bounds_us[i] + 1), i + 1);
        if (i)
            CU_ASSERT_EQUAL(hist_bucket(hist_bounds_us[i] - 1), i);
    }
    CU_ASSERT_EQUAL(hist_bucket(60000001), HIST_BOUNDS);
    CU_ASSERT_EQUAL(hist_bucket(UINT64_MAX), HIST_BOUNDS);
    CU_ASSERT_STRING_EQUAL(hist_le[0], "0.0001");
    CU_ASSERT_STRING_EQUAL(hist_le[12], "1");
    CU_ASSERT_STRING_EQUAL(hist_le[HIST_BOUNDS - 1], "60");
    CU_ASSERT_STRING_EQUAL(hist_le[HIST_BOUNDS], "+Inf");
    /* The label text says the bound. */
    for (unsigned i = 0; i < HIST_BOUNDS; i++) {
        double s = 0;
        CU_ASSERT_EQUAL(sscanf(hist_le[i], "%lf", &s), 1);
        CU_ASSERT_EQUAL((uint64_t)(s * 1e6 + 0.5), hist_bounds_us[i]);
    }
}

static void test_observe(void)
{
    hist h = {0};
    hist_observe(&h, 100);
    hist_observe(&h, 101);
    hist_observe(&h, 90000000);
    CU_ASSERT_EQUAL(h.count, 3);
    CU_ASSERT_EQUAL(h.sum_us, 90000201);
    CU_ASSERT_EQUAL(h.max_us, 90000000);
    CU_ASSERT_EQUAL(h.n[0], 1);
    CU_ASSERT_EQUAL(h.n[1], 1);
    CU_ASSERT_EQUAL(h.n[HIST_BOUNDS], 1);
}

/* Linear within the bucket that holds the rank, clamped to the largest
 * value; the +Inf bucket ends at the largest value. */
static void test_quantile(void)
{
    hist h = {0};
    CU_ASSERT_EQUAL(hist_quantile(&h, 0.5), 0); /* empty */
    /* 100 values in (1 ms, 2.5 ms]: p50 halfway, p90 at 90%. */
    for (int i = 0; i < 100; i++)
        hist_observe(&h, 2500);
    CU_ASSERT_EQUAL(hist_quantile(&h, 0.5), 1750);
    CU_ASSERT_EQUAL(hist_quantile(&h, 0.9), 2350);
    CU_ASSERT_EQUAL(hist_quantile(&h, 1.0), 2500);
    /* Clamped to the largest value seen. */
    hist g = {0};
    for (int i = 0; i < 10; i++)
        hist_observe(&g, 30);
    CU_ASSERT_EQUAL(hist_quantile(&g, 0.5), 30);
    CU_ASSERT_EQUAL(hist_quantile(&g, 0.1), 10);
    /* Two buckets: 90 fast, 10 slow: p50 in the first, p99 in the second. */
    hist t = {0};
    for (int i = 0; i < 90; i++)
        hist_observe(&t, 80);
    for (int i = 0; i < 10; i++)
        hist_observe(&t, 4000000);
    CU_ASSERT(hist_quantile(&t, 0.5) <= 80);
    CU_ASSERT(hist_quantile(&t, 0.99) > 2500000 && hist_quantile(&t, 0.99) <= 4000000);
    /* +Inf: from 60 s to the largest. */
    hist inf = {0};
    hist_observe(&inf, 120000000);
    hist_observe(&inf, 120000000);
    CU_ASSERT_EQUAL(hist_quantile(&inf, 0.5), 90000000);
    CU_ASSERT_EQUAL(hist_quantile(&inf, 0.99), 119400000);
}

UNIT_SUITE(hist, {"bucket edges", test_edges}, {"observe", test_observe},
           {"quantile estimates", test_quantile})
