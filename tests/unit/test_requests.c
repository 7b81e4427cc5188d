/* test_requests.c -- liboffload's request table (ids, lookups, reply
 * deadlines) and its result codes' names. */
#include <stdlib.h>
#include <string.h>

#include "offload.h"
#include "requests.h"
#include "unit.h"

static void test_ids_and_lookup(void)
{
    request_table t;
    requests_init(&t);
    int a_arg, b_arg;
    request *a = requests_add(&t, 100, NULL, &a_arg), *b = requests_add(&t, 50, NULL, &b_arg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(a->id, 1); /* never 0 */
    CU_ASSERT_EQUAL(b->id, 2);
    CU_ASSERT_EQUAL(t.count, 2);
    CU_ASSERT_PTR_EQUAL(requests_find(&t, 2), b);
    CU_ASSERT_PTR_NULL(requests_find(&t, 3));
    CU_ASSERT_EQUAL(requests_next_due(&t), 50);
    requests_remove(&t, b);
    CU_ASSERT_EQUAL(t.count, 1);
    CU_ASSERT_PTR_NULL(requests_find(&t, 2));
    CU_ASSERT_EQUAL(requests_next_due(&t), 100);
    /* Ids go on counting; they wrap past 0. */
    t.next_id = UINT64_MAX;
    request *c = requests_add(&t, 10, NULL, NULL);
    CU_ASSERT_EQUAL(c->id, UINT64_MAX);
    request *d = requests_add(&t, 10, NULL, NULL);
    CU_ASSERT_EQUAL(d->id, 1 + 1); /* 1 is a's, still in flight: the next free after it */
    request *q;
    while ((q = requests_take_any(&t)) != NULL)
        free(q);
    CU_ASSERT_EQUAL(t.count, 0);
    CU_ASSERT_EQUAL(requests_next_due(&t), 0);
    requests_close(&t);
}

static void test_expiry(void)
{
    request_table t;
    requests_init(&t);
    for (int i = 0; i < 10; i++)
        requests_add(&t, (uint64_t)(i % 2 ? 1000 : 10), NULL, NULL);
    int expired = 0;
    request *q;
    while ((q = requests_take_expired(&t, 500)) != NULL) {
        CU_ASSERT_EQUAL(q->reply_by_ms, 10);
        free(q);
        expired++;
    }
    CU_ASSERT_EQUAL(expired, 5);
    CU_ASSERT_EQUAL(t.count, 5);
    CU_ASSERT_EQUAL(requests_next_due(&t), 1000);
    CU_ASSERT_PTR_NULL(requests_take_expired(&t, 999));
    while ((q = requests_take_expired(&t, 1000)) != NULL)
        free(q);
    CU_ASSERT_EQUAL(t.count, 0);
    requests_close(&t);
}

/* Many requests with random reply times, a third removed in the middle
 * (as replies come): the rest expire in order of their reply time, and
 * next_due is always the earliest left. */
static void test_expiry_order(void)
{
    enum { N = 3000 };
    request_table t;
    requests_init(&t);
    static request *all[N];
    srand(7);
    for (int i = 0; i < N; i++) {
        all[i] = requests_add(&t, 1 + (uint64_t)(rand() % 100000), NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(all[i]);
    }
    for (int i = 0; i < N; i += 3)
        requests_remove(&t, all[i]);
    CU_ASSERT_EQUAL(t.count, N - N / 3);
    uint64_t last = 0;
    size_t taken = 0;
    request *q;
    for (uint64_t now = 0; now <= 100000; now += 997) {
        while ((q = requests_take_expired(&t, now)) != NULL) {
            CU_ASSERT(q->reply_by_ms <= now);
            CU_ASSERT(q->reply_by_ms >= last);
            last = q->reply_by_ms;
            free(q);
            taken++;
        }
        CU_ASSERT(!t.count || requests_next_due(&t) > now);
    }
    while ((q = requests_take_expired(&t, UINT64_MAX)) != NULL) {
        CU_ASSERT(q->reply_by_ms >= last);
        last = q->reply_by_ms;
        free(q);
        taken++;
    }
    CU_ASSERT_EQUAL(taken, N - N / 3);
    CU_ASSERT_EQUAL(t.count, 0);
    requests_close(&t);
}

static void test_code_names(void)
{
    CU_ASSERT_STRING_EQUAL(offload_code_name(OFFLOAD_OK), "ok");
    CU_ASSERT_STRING_EQUAL(offload_code_name(OFFLOAD_TIMEOUT), "timeout");
    CU_ASSERT_STRING_EQUAL(offload_code_name(OFFLOAD_CANCELLED), "cancelled");
    CU_ASSERT_STRING_EQUAL(offload_code_name(OFFLOAD_QUEUE_FULL), "queue_full");
    CU_ASSERT_STRING_EQUAL(offload_code_name(OFFLOAD_NO_REPLY), "no_reply");
    CU_ASSERT_STRING_EQUAL(offload_code_name(999), "internal");
    offload_result r = {.code = OFFLOAD_JOB_FAILED, .payload = (uint8_t *)"xy", .len = 2};
    size_t len = 0;
    CU_ASSERT_EQUAL(offload_result_status(&r), OFFLOAD_JOB_FAILED);
    CU_ASSERT_PTR_EQUAL(offload_result_data(&r, &len), r.payload);
    CU_ASSERT_EQUAL(len, 2);
    CU_ASSERT_PTR_EQUAL(offload_result_data(&r, NULL), r.payload);
}

UNIT_SUITE(requests, {"ids, lookups, removal", test_ids_and_lookup},
           {"requests past their reply time come out", test_expiry},
           {"they come out in order of reply time (the heap)", test_expiry_order},
           {"result codes and accessors", test_code_names})
