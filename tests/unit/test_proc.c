/* test_proc.c -- process pools: real worker processes (the executor's own
 * serve-worker, and small shell scripts that speak just enough of the
 * worker protocol to misbehave) through pool_start. Outcomes come through
 * the results eventfd; nothing waits on a clock except the deadlines under
 * test. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "offload.pb-c.h"
#include "pool.h"
#include "proc.h"
#include "unit.h"

/* The hello of a worker offering "echo", for shell scripts:
 * length 23 = 'H' + "offload-worker 1\n" + "echo\n". */
#define SH_HELLO "printf '\\000\\000\\000\\027Hoffload-worker 1\\necho\\n'; "

static char exe[PATH_MAX];
extern char **environ;

/* build/bin/offload-executor beside build/bin/unit-tests. */
static const char *executor_path(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    snprintf(exe, sizeof(exe), "%s/offload-executor", dirname(self));
    return access(exe, X_OK) == 0 ? exe : NULL;
}

typedef struct fixture {
    pool_results *r;
    pool *p;
    proc_config cfg;
    char *argv[8];
    char err[512];
} fixture;

static pool *start(fixture *fx, unsigned n, unsigned max_jobs, char *const *argv)
{
    memset(&fx->cfg, 0, sizeof(fx->cfg));
    fx->cfg.queue = "cpu";
    fx->cfg.argv = argv;
    fx->cfg.envp = environ;
    fx->cfg.kill_grace_ms = 200;
    fx->cfg.start_timeout_ms = 5000;
    fx->cfg.max_jobs = max_jobs;
    fx->cfg.max_frame = (1 << 20) + 4096;
    if (!fx->r)
        fx->r = pool_results_new();
    pool_config pc = {.name = "cpu", .kind = POOL_PROCESSES, .min = n, .max = n, .proc = &fx->cfg};
    fx->p = pool_start(&pc, fx->r, fx->err, sizeof(fx->err));
    return fx->p;
}

/* Starts n of the executor's serve-worker processes (max_jobs: as in
 * proc_config), with argv kept in fx. */
static void start_serve_worker(fixture *fx, unsigned n, unsigned max_jobs)
{
    const char *path = executor_path();
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    fx->argv[0] = (char *)path;
    fx->argv[1] = "serve-worker";
    fx->argv[2] = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(start(fx, n, max_jobs, fx->argv));
}

static void stop(fixture *fx)
{
    pool_destroy(&fx->p);
    for (pool_job *j = pool_results_take(fx->r); j; j = j->next)
        ;
    pool_results_destroy(&fx->r);
}

/* Submits one job and waits (on the eventfd, up to 10 s) for it. */
static int run(fixture *fx, pool_job *job, const char *fn, const char *payload,
               uint64_t deadline_us)
{
    pool_job_init(job, NULL, (const uint8_t *)payload, strlen(payload), deadline_us);
    job->name = fn;
    CU_ASSERT_EQUAL_FATAL(pool_submit(fx->p, job), 0);
    uint64_t end = clock_now_ms() + 10000;
    while (clock_now_ms() < end) {
        struct pollfd pfd = {.fd = pool_results_fd(fx->r), .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        pool_job *got = pool_results_take(fx->r);
        if (got) {
            CU_ASSERT_PTR_EQUAL(got, job);
            return 1;
        }
    }
    return 0;
}

/* Runs fn(payload) (no deadline): it must end with code, and a message
 * that says why. */
static void expect_outcome(fixture *fx, pool_job *job, const char *fn, const char *payload,
                           int code, const char *why)
{
    CU_ASSERT_FATAL(run(fx, job, fn, payload, 0));
    CU_ASSERT_EQUAL(job->code, code);
    CU_ASSERT_PTR_NOT_NULL(strstr(job->out.message, why));
}

static void job_done(pool_job *job)
{
    free(job->out.owned);
}

/* The pool's numbers as PoolStats tells them. */
static pool_stats stats_of(fixture *fx)
{
    pool_stats st;
    pool_get_stats(fx->p, &st);
    return st;
}

static void test_serve_worker(void)
{
    fixture fx = {0};
    start_serve_worker(&fx, 2, 0);
    size_t n;
    char **names = pool_functions(fx.p, &n);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_STRING_EQUAL(names[0], "echo");
    CU_ASSERT_EQUAL(pool_size(fx.p), 2);
    CU_ASSERT_EQUAL(pool_kind_of(fx.p), POOL_PROCESSES);

    pool_job job;
    CU_ASSERT_FATAL(run(&fx, &job, "echo", "hello", 0));
    CU_ASSERT_EQUAL(job.code, OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL_FATAL(job.out.len, 5);
    CU_ASSERT_EQUAL(memcmp(job.out.data, "hello", 5), 0);
    CU_ASSERT(job.pid > 0 && job.pid != getpid());
    job_done(&job);
    /* A function that fails, and one the worker lacks. */
    expect_outcome(&fx, &job, "sleep", "soon", OFFLOAD__CODE__CODE_JOB_FAILED, "milliseconds");
    expect_outcome(&fx, &job, "nope", "", OFFLOAD__CODE__CODE_JOB_FAILED, "no function 'nope'");
    /* Two processes alive, nothing replaced, their memory measured. */
    pool_stats st = stats_of(&fx);
    CU_ASSERT_EQUAL(st.alive, 2);
    CU_ASSERT_EQUAL(st.respawns, 0);
    CU_ASSERT(pool_rss_bytes(fx.p) > 1024 * 1024);
    stop(&fx);
}

/* A deadline kills the process (SIGTERM) and a new one takes its place. */
static void test_deadline_and_cancel(void)
{
    fixture fx = {0};
    start_serve_worker(&fx, 1, 0);
    pool_job job;
    CU_ASSERT_FATAL(run(&fx, &job, "echo", "a", 0));
    int first = job.pid;
    job_done(&job);
    uint64_t t0 = clock_now_us();
    CU_ASSERT_FATAL(run(&fx, &job, "sleep", "30000", t0 + 100000));
    CU_ASSERT_EQUAL(job.code, OFFLOAD__CODE__CODE_TIMEOUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(job.out.message, "killed (SIGTERM)"));
    CU_ASSERT_EQUAL(job.pid, first);
    CU_ASSERT(kill(first, 0) < 0 && errno == ESRCH); /* reaped */
    CU_ASSERT_FATAL(run(&fx, &job, "echo", "b", 0));
    CU_ASSERT_EQUAL(job.code, OFFLOAD__CODE__CODE_OK);
    CU_ASSERT(job.pid != first);
    int second = job.pid;
    job_done(&job);
    pool_stats st = stats_of(&fx);
    CU_ASSERT(st.kills_deadline == 1 && st.kills_cancel == 0 && st.respawns == 1 && st.alive == 1);

    /* Cancel while it runs (its worker thread has started it). */
    pool_job_init(&job, NULL, (const uint8_t *)"30000", 5, 0);
    job.name = "sleep";
    CU_ASSERT_EQUAL_FATAL(pool_submit(fx.p, &job), 0);
    uint64_t end = clock_now_ms() + 5000;
    while (!atomic_load(&job.started) && clock_now_ms() < end)
        usleep(1000);
    CU_ASSERT_FATAL(atomic_load(&job.started));
    pool_job_cancel(&job);
    struct pollfd pfd = {.fd = pool_results_fd(fx.r), .events = POLLIN};
    CU_ASSERT_EQUAL(poll(&pfd, 1, 5000), 1);
    CU_ASSERT_PTR_EQUAL(pool_results_take(fx.r), &job);
    CU_ASSERT_EQUAL(job.code, OFFLOAD__CODE__CODE_CANCELLED);
    CU_ASSERT(kill(second, 0) < 0 && errno == ESRCH);
    CU_ASSERT_FATAL(run(&fx, &job, "echo", "c", 0)); /* after the replacement */
    job_done(&job);
    st = stats_of(&fx);
    CU_ASSERT(st.kills_deadline == 1 && st.kills_cancel == 1 && st.respawns == 2 && st.alive == 1);

    /* The gateway's Cancel at the deadline (pool_job_expire), before the
     * executor's own deadline: a deadline's kill, CODE_TIMEOUT. */
    pool_job_init(&job, NULL, (const uint8_t *)"30000", 5, clock_now_us() + 60000000);
    job.name = "sleep";
    CU_ASSERT_EQUAL_FATAL(pool_submit(fx.p, &job), 0);
    end = clock_now_ms() + 5000;
    while (!atomic_load(&job.started) && clock_now_ms() < end)
        usleep(1000);
    pool_job_expire(&job);
    CU_ASSERT_EQUAL(poll(&pfd, 1, 5000), 1);
    CU_ASSERT_PTR_EQUAL(pool_results_take(fx.r), &job);
    CU_ASSERT_EQUAL(job.code, OFFLOAD__CODE__CODE_TIMEOUT);
    CU_ASSERT_FATAL(run(&fx, &job, "echo", "d", 0));
    job_done(&job);
    st = stats_of(&fx);
    CU_ASSERT(st.kills_deadline == 2 && st.kills_cancel == 1 && st.respawns == 3);
    CU_ASSERT_EQUAL(st.kills_memory + st.kills_recycle, 0);
    stop(&fx);
}

/* max_jobs 3: pids a a a b b b c. */
static void test_recycle(void)
{
    fixture fx = {0};
    start_serve_worker(&fx, 1, 3);
    int pids[7];
    for (int i = 0; i < 7; i++) {
        pool_job job;
        CU_ASSERT_FATAL(run(&fx, &job, "echo", "x", 0));
        CU_ASSERT_EQUAL(job.code, OFFLOAD__CODE__CODE_OK);
        pids[i] = job.pid;
        job_done(&job);
    }
    CU_ASSERT(pids[0] == pids[1] && pids[1] == pids[2]);
    CU_ASSERT(pids[3] != pids[2] && pids[3] == pids[4] && pids[4] == pids[5]);
    CU_ASSERT(pids[6] != pids[5] && pids[6] != pids[2]);
    pool_stats st = stats_of(&fx);
    CU_ASSERT(st.kills_recycle == 2 && st.respawns == 2 && st.alive == 1);
    CU_ASSERT_EQUAL(st.kills_deadline + st.kills_cancel + st.kills_memory, 0);
    stop(&fx);
}

/* Workers that misbehave after a proper hello. */
static void test_crash_and_garbage(void)
{
    fixture fx = {0};
    char *crash[] = {"/bin/sh", "-c", SH_HELLO "head -c 1 >/dev/null; kill -SEGV $$", NULL};
    CU_ASSERT_PTR_NOT_NULL_FATAL(start(&fx, 1, 0, crash));
    pool_job job;
    expect_outcome(&fx, &job, "echo", "x", OFFLOAD__CODE__CODE_CRASHED, "SIGSEGV");
    int first = job.pid;
    CU_ASSERT_FATAL(run(&fx, &job, "echo", "x", 0));
    CU_ASSERT_EQUAL(job.code, OFFLOAD__CODE__CODE_CRASHED);
    CU_ASSERT(job.pid != first); /* replaced */
    stop(&fx);

    char *exits[] = {"/bin/sh", "-c", SH_HELLO "head -c 1 >/dev/null; exit 7", NULL};
    CU_ASSERT_PTR_NOT_NULL_FATAL(start(&fx, 1, 0, exits));
    expect_outcome(&fx, &job, "echo", "x", OFFLOAD__CODE__CODE_CRASHED, "exited with code 7");
    stop(&fx);

    char *garbage[] = {"/bin/sh", "-c",
                       SH_HELLO "head -c 1 >/dev/null; echo this is not a frame; sleep 30", NULL};
    CU_ASSERT_PTR_NOT_NULL_FATAL(start(&fx, 1, 0, garbage));
    uint64_t t0 = clock_now_us();
    expect_outcome(&fx, &job, "echo", "x", OFFLOAD__CODE__CODE_CRASHED, "this is not");
    CU_ASSERT(clock_now_us() - t0 < 5000000); /* killed, not waited for */
    stop(&fx);

    char *wrongtype[] = {"/bin/sh", "-c",
                         SH_HELLO "head -c 1 >/dev/null; printf '\\000\\000\\000\\001H'; sleep 30",
                         NULL};
    CU_ASSERT_PTR_NOT_NULL_FATAL(start(&fx, 1, 0, wrongtype));
    expect_outcome(&fx, &job, "echo", "x", OFFLOAD__CODE__CODE_CRASHED, "type 0x48");
    stop(&fx);
}

/* A pool whose workers cannot start does not start, and says why. */
static void test_start_failures(void)
{
    fixture fx = {0};
    char *missing[] = {"/nonexistent/worker", NULL};
    CU_ASSERT_PTR_NULL(start(&fx, 2, 0, missing));
    CU_ASSERT_PTR_NOT_NULL(strstr(fx.err, "cannot run /nonexistent/worker"));
    pool_results_destroy(&fx.r);

    char *exits[] = {"/bin/sh", "-c", "exit 3", NULL};
    CU_ASSERT_PTR_NULL(start(&fx, 1, 0, exits));
    CU_ASSERT_PTR_NOT_NULL(strstr(fx.err, "exited with code 3 before announcing"));
    pool_results_destroy(&fx.r);

    char *text[] = {"/bin/sh", "-c", "echo hello there; sleep 30", NULL};
    CU_ASSERT_PTR_NULL(start(&fx, 1, 0, text));
    CU_ASSERT_PTR_NOT_NULL(strstr(fx.err, "not a frame"));
    pool_results_destroy(&fx.r);

    char *version[] = {"/bin/sh", "-c",
                       "printf '\\000\\000\\000\\027Hoffload-worker 9\\necho\\n'; sleep 30", NULL};
    CU_ASSERT_PTR_NULL(start(&fx, 1, 0, version));
    CU_ASSERT_PTR_NOT_NULL(strstr(fx.err, "worker protocol 1"));
    pool_results_destroy(&fx.r);

    char *silent[] = {"/bin/sh", "-c", "sleep 30", NULL};
    memset(&fx, 0, sizeof(fx));
    fx.r = pool_results_new();
    fx.cfg = (proc_config){.queue = "cpu",
                           .argv = silent,
                           .envp = environ,
                           .kill_grace_ms = 100,
                           .start_timeout_ms = 200,
                           .max_frame = 4096};
    pool_config pc = {.name = "cpu", .kind = POOL_PROCESSES, .min = 1, .max = 1, .proc = &fx.cfg};
    CU_ASSERT_PTR_NULL(pool_start(&pc, fx.r, fx.err, sizeof(fx.err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(fx.err, "no hello within 200 ms"));
    pool_results_destroy(&fx.r);
}

UNIT_SUITE(proc, {"serve-worker runs jobs in its own process", test_serve_worker},
           {"deadline and cancel kill the process, which is replaced", test_deadline_and_cancel},
           {"max_jobs recycles a worker after exactly that many jobs", test_recycle},
           {"a crash, an exit and garbage fail only that job", test_crash_and_garbage},
           {"workers that cannot start stop the pool's start", test_start_failures})
