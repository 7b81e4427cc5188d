/* test_pool.c -- the thread pool: N workers run N jobs at once, one worker
 * runs jobs in FIFO order, cancelled and expired jobs come back without
 * running, completions arrive through the eventfd with one wake-up, and
 * destroy hands every job back and joins. */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "functions.h"
#include "offload.pb-c.h"
#include "pool.h"
#include "unit.h"

#define JOBS_MAX 16

static function_fn fn_sleep, fn_echo;
static function_registry *reg;
static atomic_int runs;

static void setup(void)
{
    if (!reg) {
        reg = functions_new();
        CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
        fn_sleep = functions_find(reg, "sleep");
        fn_echo = functions_find(reg, "echo");
    }
    atomic_store(&runs, 0);
}

/* Counts its runs, then echoes. */
static int counting_echo(const function_call *call, function_output *out)
{
    atomic_fetch_add(&runs, 1);
    return fn_echo(call, out);
}

/* Blocks until `gate_open`, then echoes. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;

static int gated_echo(const function_call *call, function_output *out)
{
    pthread_mutex_lock(&gate_mu);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    return counting_echo(call, out);
}

/* A rendezvous of `meet_want` callers: each waits (up to 10 s) until that
 * many are inside at once, then echoes; alone past 10 s it fails. Only a
 * pool that runs them side by side lets them all succeed, however slow the
 * machine: concurrency shown by an event, not by a clock. */
static int meet_inside, meet_want;

static int rendezvous_echo(const function_call *call, function_output *out)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&gate_mu);
    meet_inside++;
    pthread_cond_broadcast(&gate_cond);
    int rc = 0;
    while (meet_inside < meet_want && rc == 0)
        rc = pthread_cond_timedwait(&gate_cond, &gate_mu, &until);
    int met = meet_inside >= meet_want;
    pthread_mutex_unlock(&gate_mu);
    if (!met) {
        snprintf(out->message, sizeof(out->message), "met only %d of %d", meet_inside, meet_want);
        return OFFLOAD__CODE__CODE_JOB_FAILED;
    }
    return fn_echo(call, out);
}

static void gate_set(int open)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = open;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_mu);
}

/* Waits on the eventfd (never sleeps blindly) until n jobs came back or
 * timeout_ms passed; stores them in order. Returns how many came back. */
static size_t wait_results(pool_results *r, pool_job **got, size_t n, int timeout_ms)
{
    size_t count = 0;
    uint64_t end = clock_now_ms() + (uint64_t)timeout_ms;
    while (count < n) {
        uint64_t now = clock_now_ms();
        if (now >= end)
            break;
        struct pollfd pfd = {.fd = pool_results_fd(r), .events = POLLIN};
        if (poll(&pfd, 1, (int)(end - now)) <= 0)
            continue;
        for (pool_job *j = pool_results_take(r); j; j = j->next)
            if (count < JOBS_MAX)
                got[count++] = j;
    }
    return count;
}

/* Runs n (<= 4) rendezvous jobs on p: each succeeds only if all n run
 * at once. */
static void meet(pool *p, pool_results *r, int n)
{
    pool_job jobs[4];
    pool_job *got[JOBS_MAX];
    meet_inside = 0;
    meet_want = n;
    for (int i = 0; i < n; i++) {
        pool_job_init(&jobs[i], rendezvous_echo, (const uint8_t *)"met", 3, 0);
        CU_ASSERT_EQUAL(pool_submit(p, &jobs[i]), 0);
    }
    CU_ASSERT_EQUAL(wait_results(r, got, (size_t)n, 30000), (size_t)n);
    for (int i = 0; i < n; i++)
        CU_ASSERT_EQUAL(jobs[i].code, OFFLOAD__CODE__CODE_OK);
}

static int readable(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    return poll(&pfd, 1, 0) == 1;
}

/* setup(), then a pool of n threads named name, on a fresh results list
 * in *r. */
static pool *open_pool(const char *name, size_t n, pool_results **r)
{
    char err[256];
    setup();
    *r = pool_results_new();
    pool *p = pool_new(name, n, *r, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    return p;
}

static void test_parallel(void)
{
    setup();
    char err[256];
    pool_results *r = pool_results_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    pool *p = pool_new("io", 4, r, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(pool_name(p), "io");
    CU_ASSERT_EQUAL(pool_size(p), 4);

    /* 4 jobs that each wait until all 4 are running at once. */
    pool_job *got[JOBS_MAX];
    meet(p, r, 4);
    /* And a sleep runs for its time. */
    pool_job nap;
    pool_job_init(&nap, fn_sleep, (const uint8_t *)"50", 2, 0);
    CU_ASSERT_EQUAL(pool_submit(p, &nap), 0);
    CU_ASSERT_EQUAL(wait_results(r, got, 1, 30000), 1);
    CU_ASSERT_EQUAL(nap.code, OFFLOAD__CODE__CODE_OK);
    CU_ASSERT(nap.run_us >= 50000);
    pool_destroy(&p);
    CU_ASSERT_PTR_NULL(p);
    pool_results_destroy(&r);
    CU_ASSERT_PTR_NULL(r);
}

static void test_fifo(void)
{
    pool_results *r;
    pool *p = open_pool("one", 1, &r);
    static const char *payloads[] = {"0", "1", "2", "3", "4", "5", "6", "7"};
    pool_job jobs[8];
    pool_job *got[JOBS_MAX];
    gate_set(0);
    for (int i = 0; i < 8; i++) {
        pool_job_init(&jobs[i], gated_echo, (const uint8_t *)payloads[i], 1, 0);
        CU_ASSERT_EQUAL(pool_submit(p, &jobs[i]), 0);
    }
    size_t queued, running;
    pool_counts(p, &queued, &running);
    CU_ASSERT_EQUAL(queued + running, 8);
    gate_set(1);
    CU_ASSERT_EQUAL_FATAL(wait_results(r, got, 8, 5000), 8);
    for (int i = 0; i < 8; i++) {
        CU_ASSERT_PTR_EQUAL(got[i], &jobs[i]);
        CU_ASSERT_EQUAL(got[i]->code, OFFLOAD__CODE__CODE_OK);
        CU_ASSERT_EQUAL(got[i]->out.len, 1);
        CU_ASSERT_EQUAL(got[i]->out.data[0], '0' + i);
    }
    pool_destroy(&p);
    pool_results_destroy(&r);
}

static void test_cancel_queued(void)
{
    pool_results *r;
    pool *p = open_pool("one", 1, &r);
    pool_job first, queued, running;
    pool_job *got[JOBS_MAX];
    gate_set(0);
    pool_job_init(&first, gated_echo, (const uint8_t *)"a", 1, 0);
    pool_job_init(&queued, counting_echo, (const uint8_t *)"b", 1, 0);
    pool_submit(p, &first);
    pool_submit(p, &queued);
    pool_job_cancel(&queued);
    gate_set(1);
    CU_ASSERT_EQUAL_FATAL(wait_results(r, got, 2, 5000), 2);
    CU_ASSERT_EQUAL(first.code, OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(queued.code, OFFLOAD__CODE__CODE_CANCELLED);
    CU_ASSERT_EQUAL(queued.run_us, 0);
    CU_ASSERT_EQUAL(atomic_load(&runs), 1); /* only `first` ran */
    CU_ASSERT_PTR_NOT_NULL(strstr(queued.out.message, "cancelled"));

    /* A running sleep stops early when cancelled. */
    uint64_t t0 = clock_now_us();
    pool_job_init(&running, fn_sleep, (const uint8_t *)"10000", 5, 0);
    pool_submit(p, &running);
    struct timespec ts = {0, 30 * 1000000L};
    nanosleep(&ts, NULL); /* let it start; either way it must end cancelled */
    pool_job_cancel(&running);
    CU_ASSERT_EQUAL_FATAL(wait_results(r, got, 1, 5000), 1);
    CU_ASSERT_EQUAL(running.code, OFFLOAD__CODE__CODE_CANCELLED);
    CU_ASSERT(clock_now_us() - t0 < 1000000);
    pool_destroy(&p);
    pool_results_destroy(&r);
}

static void test_expired(void)
{
    pool_results *r;
    pool *p = open_pool("one", 1, &r);
    pool_job late, sleepy;
    pool_job *got[JOBS_MAX];
    pool_job_init(&late, counting_echo, (const uint8_t *)"x", 1, clock_now_us() - 1);
    pool_submit(p, &late);
    CU_ASSERT_EQUAL_FATAL(wait_results(r, got, 1, 5000), 1);
    CU_ASSERT_EQUAL(late.code, OFFLOAD__CODE__CODE_TIMEOUT);
    CU_ASSERT_EQUAL(late.run_us, 0);
    CU_ASSERT_EQUAL(atomic_load(&runs), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(late.out.message, "deadline"));

    /* A deadline reached while running stops the sleep. */
    pool_job_init(&sleepy, fn_sleep, (const uint8_t *)"10000", 5, clock_now_us() + 50000);
    pool_submit(p, &sleepy);
    CU_ASSERT_EQUAL_FATAL(wait_results(r, got, 1, 5000), 1);
    CU_ASSERT_EQUAL(sleepy.code, OFFLOAD__CODE__CODE_TIMEOUT);
    /* Stopped at the deadline, long before its 10 s (run_us counts from
     * when a worker took it, after the deadline was set: no lower bound). */
    CU_ASSERT(sleepy.run_us < 1000000);
    pool_destroy(&p);
    pool_results_destroy(&r);
}

static void test_one_wakeup(void)
{
    pool_results *r;
    pool *p = open_pool("two", 2, &r);
    int fd = pool_results_fd(r);
    CU_ASSERT_FALSE(readable(fd));
    CU_ASSERT_PTR_NULL(pool_results_take(r));

    pool_job jobs[6];
    for (int i = 0; i < 6; i++) {
        pool_job_init(&jobs[i], counting_echo, (const uint8_t *)"x", 1, 0);
        pool_submit(p, &jobs[i]);
    }
    /* Wait for the first wake-up, then for every job to finish, without
     * taking anything: the eventfd must have been written exactly once. */
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    CU_ASSERT_EQUAL_FATAL(poll(&pfd, 1, 5000), 1);
    uint64_t end = clock_now_ms() + 5000;
    size_t queued = 1, running = 1;
    while ((queued || running) && clock_now_ms() < end) {
        pool_counts(p, &queued, &running);
        sched_yield();
    }
    CU_ASSERT_EQUAL(atomic_load(&runs), 6);
    uint64_t count = 0;
    CU_ASSERT_EQUAL(read(fd, &count, sizeof(count)), (ssize_t)sizeof(count));
    CU_ASSERT_EQUAL(count, 1);
    size_t n = 0;
    for (pool_job *j = pool_results_take(r); j; j = j->next)
        n++;
    CU_ASSERT_EQUAL(n, 6);
    CU_ASSERT_FALSE(readable(fd));
    pool_destroy(&p);
    pool_results_destroy(&r);
}

/* threads:1-4: four jobs that each wait for all four run at once only if
 * the pool grew to 4; idle for idle_ms, it shrinks back to 1. */
static void test_elastic(void)
{
    setup();
    char err[256];
    pool_results *r = pool_results_new();
    pool_config cfg = {.name = "io", .kind = POOL_THREADS, .min = 1, .max = 4, .idle_ms = 50};
    pool *p = pool_start(&cfg, r, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(pool_size(p), 4);
    pool_stats st;
    pool_get_stats(p, &st);
    CU_ASSERT_EQUAL(st.workers, 1);

    pool_job *got[JOBS_MAX];
    meet(p, r, 4);
    pool_get_stats(p, &st);
    CU_ASSERT_EQUAL(st.grown, 3);
    /* PoolStats' view of a thread pool: its threads alive, no respawns, no
     * kills, no memory of its own. */
    CU_ASSERT_EQUAL(st.alive, st.workers);
    CU_ASSERT_EQUAL(
        st.respawns + st.kills_deadline + st.kills_cancel + st.kills_memory + st.kills_recycle, 0);
    CU_ASSERT_EQUAL(pool_rss_bytes(p), 0);

    /* A fifth job never grows it past max. */
    pool_job five[5];
    for (int i = 0; i < 5; i++) {
        pool_job_init(&five[i], counting_echo, (const uint8_t *)"x", 1, 0);
        pool_submit(p, &five[i]);
    }
    CU_ASSERT_EQUAL(wait_results(r, got, 5, 30000), 5);
    pool_get_stats(p, &st);
    CU_ASSERT(st.workers <= 4);

    /* Shrinks to min once idle (each thread after its own 50 ms). */
    uint64_t end = clock_now_ms() + 10000;
    do
        pool_get_stats(p, &st);
    while (st.workers > 1 && clock_now_ms() < end && !usleep(5000));
    CU_ASSERT_EQUAL(st.workers, 1);
    CU_ASSERT_EQUAL(st.shrunk, st.grown);
    /* And grows again. */
    meet(p, r, 2);
    pool_destroy(&p);
    pool_results_destroy(&r);
}

static void test_destroy(void)
{
    setup();
    char err[256];
    pool_results *r = pool_results_new();
    CU_ASSERT_PTR_NULL(pool_new("zero", 0, r, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "1..4096"));

    pool *p = pool_new("io", 2, r, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    pool_job jobs[5];
    for (int i = 0; i < 5; i++) {
        pool_job_init(&jobs[i], fn_sleep, (const uint8_t *)"10000", 5, 0);
        pool_submit(p, &jobs[i]);
    }
    size_t queued = 0, running = 0;
    uint64_t end = clock_now_ms() + 5000;
    while (running < 2 && clock_now_ms() < end) {
        pool_counts(p, &queued, &running);
        sched_yield();
    }
    CU_ASSERT_EQUAL(running, 2);
    CU_ASSERT_EQUAL(queued, 3);
    uint64_t t0 = clock_now_us();
    pool_destroy(&p); /* cancels the two running sleeps, joins */
    CU_ASSERT(clock_now_us() - t0 < 1000000);
    CU_ASSERT_PTR_NULL(p);
    size_t n = 0;
    for (pool_job *j = pool_results_take(r); j; j = j->next) {
        CU_ASSERT_EQUAL(j->code, OFFLOAD__CODE__CODE_CANCELLED);
        n++;
    }
    CU_ASSERT_EQUAL(n, 5);
    pool_results_destroy(&r);

    /* A big pool starts (handshake) and stops. */
    r = pool_results_new();
    p = pool_new("big", 256, r, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    pool_destroy(&p);
    pool_results_destroy(&r);
    functions_destroy(&reg);
}

UNIT_SUITE(pool, {"N threads run N jobs at once", test_parallel},
           {"one thread runs jobs in FIFO order", test_fifo},
           {"cancelled jobs are not run or stop early", test_cancel_queued},
           {"expired jobs time out without running", test_expired},
           {"completions arrive with one eventfd wake-up", test_one_wakeup},
           {"an elastic pool grows under load and shrinks when idle", test_elastic},
           {"destroy cancels, hands every job back and joins", test_destroy})
