/* test_tally.c -- jobs counted by queue, function and outcome (tally.h):
 * one series per label set, the bound and its folding into "_other", and
 * codes without a name of their own. */
#include <stdio.h>
#include <string.h>

#include "offload.pb-c.h"
#include "tally.h"
#include "unit.h"

typedef struct seen {
    size_t series;
    uint64_t total;
} seen;

static void count_each(const char *q, const char *f, int code, uint64_t n, void *arg)
{
    seen *s = arg;
    (void)q;
    (void)f;
    (void)code;
    s->series++;
    s->total += n;
}

static void test_counts(void)
{
    tally t;
    tally_init(&t, 0);
    CU_ASSERT_EQUAL(t.max, TALLY_MAX_DEFAULT);
    tally_add(&t, "io", "echo", OFFLOAD__CODE__CODE_OK);
    tally_add(&t, "io", "echo", OFFLOAD__CODE__CODE_OK);
    tally_add(&t, "io", "echo", OFFLOAD__CODE__CODE_TIMEOUT);
    tally_add(&t, "io", "sleep", OFFLOAD__CODE__CODE_OK);
    tally_add(&t, "cpu", "echo", OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(tally_get(&t, "io", "echo", OFFLOAD__CODE__CODE_OK), 2);
    CU_ASSERT_EQUAL(tally_get(&t, "io", "echo", OFFLOAD__CODE__CODE_TIMEOUT), 1);
    CU_ASSERT_EQUAL(tally_get(&t, "io", "sleep", OFFLOAD__CODE__CODE_OK), 1);
    CU_ASSERT_EQUAL(tally_get(&t, "cpu", "echo", OFFLOAD__CODE__CODE_OK), 1);
    CU_ASSERT_EQUAL(tally_get(&t, "cpu", "sleep", OFFLOAD__CODE__CODE_OK), 0);
    /* "ioe"+"cho" is not "io"+"echo". */
    tally_add(&t, "ioe", "cho", OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(tally_get(&t, "io", "echo", OFFLOAD__CODE__CODE_OK), 2);
    CU_ASSERT_EQUAL(t.count, 5);
    /* A code with no name of its own is "internal". */
    tally_add(&t, "io", "echo", 99);
    tally_add(&t, "io", "echo", -1);
    CU_ASSERT_EQUAL(tally_get(&t, "io", "echo", OFFLOAD__CODE__CODE_INTERNAL), 2);
    seen s = {0};
    tally_each(&t, count_each, &s);
    CU_ASSERT_EQUAL(s.series, 6);
    CU_ASSERT_EQUAL(s.total, 8);
    CU_ASSERT_EQUAL(t.folded, 0);
    tally_free(&t);
}

/* Past max, new functions count under the queue's "_other"; past max +
 * max/4 + TALLY_CODES, under "_other"/"_other". Nothing is lost: the
 * totals add up, and folded says how many moved. */
static void test_bound(void)
{
    tally t;
    tally_init(&t, 8);
    char f[16];
    for (int i = 0; i < 8; i++) {
        snprintf(f, sizeof(f), "f%d", i);
        tally_add(&t, "q", f, OFFLOAD__CODE__CODE_OK);
    }
    CU_ASSERT_EQUAL(t.count, 8);
    CU_ASSERT_EQUAL(t.folded, 0);
    tally_add(&t, "q", "late", OFFLOAD__CODE__CODE_OK);
    tally_add(&t, "q", "later", OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(tally_get(&t, "q", "late", OFFLOAD__CODE__CODE_OK), 0);
    CU_ASSERT_EQUAL(tally_get(&t, "q", TALLY_OTHER, OFFLOAD__CODE__CODE_OK), 2);
    CU_ASSERT_EQUAL(t.folded, 2);
    /* Known series still count as themselves. */
    tally_add(&t, "q", "f3", OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(tally_get(&t, "q", "f3", OFFLOAD__CODE__CODE_OK), 2);
    /* Fill the reserve with other queues' "_other": 8 + 2 + 16 = 26. */
    uint64_t sent = 8 + 2 + 1;
    for (int i = 0; t.count < 26; i++) {
        snprintf(f, sizeof(f), "q%d", i);
        tally_add(&t, f, "x", OFFLOAD__CODE__CODE_OK);
        sent++;
    }
    size_t made = t.count;
    tally_add(&t, "zz", "x", OFFLOAD__CODE__CODE_TIMEOUT);
    tally_add(&t, "zz", "y", OFFLOAD__CODE__CODE_TIMEOUT);
    sent += 2;
    CU_ASSERT_EQUAL(t.count, made); /* no more memory */
    CU_ASSERT_EQUAL(tally_get(&t, TALLY_OTHER, TALLY_OTHER, OFFLOAD__CODE__CODE_TIMEOUT), 2);
    seen s = {0};
    tally_each(&t, count_each, &s);
    CU_ASSERT_EQUAL(s.total, sent);
    CU_ASSERT_EQUAL(s.series, made + 1);
    CU_ASSERT_EQUAL(t.folded, sent - 9); /* all but the 8 first and f3's second */
    tally_free(&t);
}

/* Names past CODEC_NAME_MAX are cut, never overflow the key. */
static void test_long_names(void)
{
    tally t;
    tally_init(&t, 4);
    char big[300];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    tally_add(&t, big, big, OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(tally_get(&t, big, big, OFFLOAD__CODE__CODE_OK), 1);
    tally_free(&t);
}

UNIT_SUITE(tally, {"counts by label set", test_counts}, {"the bound folds", test_bound},
           {"long names", test_long_names})
