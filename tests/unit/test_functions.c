/* test_functions.c -- the registry and the built-ins: echo returns its
 * payload; sleep and spin parse milliseconds, refuse bad payloads with a
 * message saying what is expected, and stop early on cancel or deadline. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "functions.h"
#include "offload.pb-c.h"
#include "unit.h"

static function_registry *reg;

static int call_fn(const char *name, const char *payload, size_t len, uint64_t deadline_us,
                   const atomic_int *cancelled, function_output *out)
{
    function_fn fn = functions_find(reg, name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fn);
    function_call call = {.payload = (const uint8_t *)payload,
                          .len = len,
                          .deadline_us = deadline_us,
                          .cancelled = cancelled};
    memset(out, 0, sizeof(*out));
    return fn(&call, out);
}

static int call_text(const char *name, const char *payload, function_output *out)
{
    return call_fn(name, payload, strlen(payload), 0, NULL, out);
}

static void setup(void)
{
    if (!reg)
        reg = functions_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
}

static void test_registry(void)
{
    function_registry *r = functions_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(functions_count(r), 3);
    CU_ASSERT_STRING_EQUAL(functions_name(r, 0), "echo");
    CU_ASSERT_PTR_NOT_NULL(functions_find(r, "sleep"));
    CU_ASSERT_PTR_NOT_NULL(functions_find(r, "spin"));
    CU_ASSERT_PTR_NULL(functions_find(r, "nope"));
    CU_ASSERT_EQUAL(functions_add(r, "echo", functions_find(r, "echo")), -EEXIST);
    CU_ASSERT_EQUAL(functions_add(r, "bad name", functions_find(r, "echo")), -EINVAL);
    CU_ASSERT_EQUAL(functions_add(r, "echo2", functions_find(r, "echo")), 0);
    CU_ASSERT_EQUAL(functions_count(r), 4);
    functions_destroy(&r);
    CU_ASSERT_PTR_NULL(r);
}

static void test_echo(void)
{
    setup();
    function_output out;
    static const char bin[] = {'a', 0, 'b', '\xff'};
    CU_ASSERT_EQUAL(call_fn("echo", bin, sizeof(bin), 0, NULL, &out), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(out.len, sizeof(bin));
    CU_ASSERT_EQUAL(memcmp(out.data, bin, sizeof(bin)), 0);
    CU_ASSERT_EQUAL(call_fn("echo", "", 0, 0, NULL, &out), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(out.len, 0);
}

static void test_sleep_good(void)
{
    setup();
    function_output out;
    uint64_t t0 = clock_now_us();
    CU_ASSERT_EQUAL(call_text("sleep", "0", &out), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(out.len, 0);
    CU_ASSERT_EQUAL(call_text("sleep", "50", &out), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(call_text("sleep", "30\n", &out), OFFLOAD__CODE__CODE_OK);
    uint64_t took = clock_now_us() - t0;
    CU_ASSERT(took >= 80000);
    CU_ASSERT(took < 2000000);
}

static void test_sleep_bad(void)
{
    setup();
    function_output out;
    static const char *bad[] = {"abc", "-5",  "86400001", "99999999999999999999999",
                                " 5",  "5ms", "1.5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(call_text("sleep", bad[i], &out), OFFLOAD__CODE__CODE_JOB_FAILED);
        CU_ASSERT_PTR_NOT_NULL(strstr(out.message, "milliseconds as decimal text"));
        CU_ASSERT_PTR_NOT_NULL(strstr(out.message, "0..86400000"));
    }
    call_text("sleep", "abc", &out);
    CU_ASSERT_STRING_EQUAL(out.message, "sleep: payload must be milliseconds as decimal "
                                        "text (0..86400000), got 'abc'");
    CU_ASSERT_EQUAL(call_fn("sleep", "", 0, 0, NULL, &out), OFFLOAD__CODE__CODE_JOB_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.message, "empty"));

    /* Binary and long payloads are quoted escaped and cut. */
    char junk[300];
    memset(junk, 'x', sizeof(junk));
    junk[0] = '\'';
    junk[1] = '\n';
    junk[2] = 0;
    CU_ASSERT_EQUAL(call_fn("sleep", junk, sizeof(junk), 0, NULL, &out),
                    OFFLOAD__CODE__CODE_JOB_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.message, "'\\x27\\x0a\\x00xxx"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.message, "...'"));
    CU_ASSERT_PTR_NULL(strchr(out.message, '\n'));
    CU_ASSERT(strlen(out.message) < 200);
    CU_ASSERT_EQUAL(call_text("spin", "nope", &out), OFFLOAD__CODE__CODE_JOB_FAILED);
    CU_ASSERT_EQUAL(strncmp(out.message, "spin: payload must be milliseconds", 34), 0);
}

static void test_sleep_deadline(void)
{
    setup();
    function_output out;
    uint64_t t0 = clock_now_us();
    CU_ASSERT_EQUAL(call_fn("sleep", "10000", 5, t0 + 60000, NULL, &out),
                    OFFLOAD__CODE__CODE_TIMEOUT);
    uint64_t took = clock_now_us() - t0;
    CU_ASSERT(took >= 60000);
    CU_ASSERT(took < 1000000);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.message, "deadline"));
    /* A deadline after the sleep ends does not count. */
    t0 = clock_now_us();
    CU_ASSERT_EQUAL(call_fn("sleep", "20", 2, t0 + 500000, NULL, &out), OFFLOAD__CODE__CODE_OK);
}

typedef struct canceller {
    atomic_int *flag;
    unsigned after_ms;
} canceller;

static void *cancel_later(void *arg)
{
    canceller *c = arg;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)c->after_ms * 1000000L};
    nanosleep(&ts, NULL);
    atomic_store(c->flag, 1);
    return NULL;
}

static void check_cancel(const char *fn)
{
    setup();
    function_output out;
    atomic_int flag = 0;
    canceller c = {&flag, 50};
    pthread_t t;
    uint64_t t0 = clock_now_us();
    pthread_create(&t, NULL, cancel_later, &c);
    CU_ASSERT_EQUAL(call_fn(fn, "10000", 5, 0, &flag, &out), OFFLOAD__CODE__CODE_CANCELLED);
    uint64_t took = clock_now_us() - t0;
    pthread_join(t, NULL);
    CU_ASSERT(took >= 50000);
    CU_ASSERT(took < 1000000);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.message, "cancelled"));
    /* Already cancelled: returns at once. */
    CU_ASSERT_EQUAL(call_fn(fn, "10000", 5, 0, &flag, &out), OFFLOAD__CODE__CODE_CANCELLED);
}

static void test_sleep_cancel(void)
{
    check_cancel("sleep");
}

static void test_spin(void)
{
    setup();
    function_output out;
    uint64_t t0 = clock_now_us();
    CU_ASSERT_EQUAL(call_text("spin", "30", &out), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT(clock_now_us() - t0 >= 30000);
    t0 = clock_now_us();
    CU_ASSERT_EQUAL(call_fn("spin", "10000", 5, t0 + 40000, NULL, &out),
                    OFFLOAD__CODE__CODE_TIMEOUT);
    uint64_t took = clock_now_us() - t0;
    CU_ASSERT(took >= 40000);
    CU_ASSERT(took < 1000000);
    check_cancel("spin");
    functions_destroy(&reg);
}

UNIT_SUITE(functions, {"registry", test_registry}, {"echo returns the payload", test_echo},
           {"sleep sleeps", test_sleep_good}, {"sleep refuses bad payloads", test_sleep_bad},
           {"sleep stops at the deadline", test_sleep_deadline},
           {"sleep stops when cancelled", test_sleep_cancel},
           {"spin spins, stops at deadline or cancel", test_spin})
