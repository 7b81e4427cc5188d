/* test_jobs.c -- the job life cycle and the executor protocol together,
 * without sockets: executors "send" through a fake wire that records every
 * message and can make the sends to one executor fail. Executors are lost
 * in the middle of dispatch, of a Hello and of the heartbeat tick; run under
 * ASan (make asan), a use after free fails the run. */
#include <stdlib.h>
#include <string.h>

#include "clients.h"
#include "clock.h"
#include "dispatch.h"
#include "executors.h"
#include "gateway.h"
#include "jobs.h"
#include "log.h"
#include "unit.h"

#define RIDS 8

typedef struct harness {
    gateway gw;         /* only its tables: no sockets, no loop */
    int fail_rid;       /* sends to this rid byte fail; 0: none */
    int fail_body;      /* ...only of this body case; 0: any */
    int sent[RIDS][32]; /* messages per rid byte and body case */
    uint64_t last_job[RIDS];
    int answers;      /* done callbacks */
    job_outcome last; /* the last one (pointers not kept) */
    uint64_t last_reply_request;
    int last_reply_code;
    int replies;
} harness;

static harness H;
static uint32_t hello_heartbeat_ms;
static uint64_t hello_max_payload;
static int saved_log_level;

static int fake_send(void *arg, const wire_rid *rid, codec_envelope *env)
{
    harness *h = arg;
    int r = rid->bytes[0] % RIDS;
    if (h->fail_rid && rid->bytes[0] == h->fail_rid &&
        (!h->fail_body || h->fail_body == (int)env->body_case))
        return -EHOSTUNREACH;
    h->sent[r][env->body_case % 32]++;
    if (env->body_case == OFFLOAD__ENVELOPE__BODY_JOB)
        h->last_job[r] = env->job->job_id;
    if (env->body_case == OFFLOAD__ENVELOPE__BODY_REPLY) {
        h->replies++;
        h->last_reply_request = env->reply->request_id;
        h->last_reply_code = env->reply->code;
    }
    return 0;
}

static void harness_init(void)
{
    memset(&H, 0, sizeof(H));
    hello_heartbeat_ms = 0;
    hello_max_payload = 0;
    saved_log_level = log_level_current;
    log_level_current = LOG_ERROR; /* the losses below are meant */
    gateway *gw = &H.gw;
    static gateway_config cfg = {.id = "test-gateway"};
    gw->cfg = &cfg;
    timers_init(&gw->loop.timers);
    jobs_ops ops = {
        .send = executors_send_job, .cancel = executors_send_cancel, .arg = &gw->executors};
    jobs_limits limits = {.max_payload = 1024,
                          .default_timeout_ms = 60000,
                          .max_timeout_ms = 3600000,
                          .max_waiting = 2,
                          .default_retries = 0};
    jobs_init(&gw->jobs, &gw->queues, &gw->executors.fleet, &gw->loop.timers, &gw->stats, &ops,
              &limits, 1000);
    executors_init(&gw->executors, &gw->queues, &gw->jobs, &gw->loop.timers, &gw->stats, fake_send,
                   &H, "test-gateway", 1000, 3);
    clients_init(&gw->clients, gw, &gw->loop.timers, fake_send, &H);
}

static void harness_close(void)
{
    gateway *gw = &H.gw;
    executors_reap(&gw->executors);
    jobs_close(&gw->jobs, OFFLOAD__CODE__CODE_NO_EXECUTOR, "closing");
    clients_close(&gw->clients);
    executors_close(&gw->executors);
    queue_table_free(&gw->queues);
    timers_free(&gw->loop.timers);
    log_level_current = saved_log_level;
}

/* A Hello from rid byte b: queues "a" (and "b" when two) of size slots,
 * heartbeat interval hello_heartbeat_ms (0: the gateway's default). */

static void hello(uint8_t b, int two_queues, uint32_t size)
{
    Offload__QueueDecl qa = OFFLOAD__QUEUE_DECL__INIT, qb = OFFLOAD__QUEUE_DECL__INIT;
    Offload__QueueDecl *decls[] = {&qa, &qb};
    qa.name = "a";
    qb.name = "b";
    qa.kind = qb.kind = OFFLOAD__POOL_KIND__POOL_THREADS;
    qa.size = qb.size = size;
    char *fns[] = {"echo", "sleep"};
    qa.n_functions = qb.n_functions = 2;
    qa.functions = qb.functions = fns;
    char id[16];
    snprintf(id, sizeof(id), "exec-%u", b);
    Offload__Hello h = OFFLOAD__HELLO__INIT;
    h.executor_id = id;
    h.n_queues = two_queues ? 2 : 1;
    h.queues = decls;
    h.heartbeat_ms = hello_heartbeat_ms;
    h.max_payload = hello_max_payload;
    codec_envelope env = OFFLOAD__ENVELOPE__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    wire_rid rid = {.len = 1, .bytes = {b}};
    executors_on_message(&H.gw.executors, &rid, &env);
}

static void result(uint8_t b, uint64_t job_id, int code, const char *payload)
{
    Offload__Result r = OFFLOAD__RESULT__INIT;
    r.job_id = job_id;
    r.code = code;
    r.payload.data = (uint8_t *)payload;
    r.payload.len = payload ? strlen(payload) : 0;
    codec_envelope env = OFFLOAD__ENVELOPE__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_RESULT;
    env.result = &r;
    wire_rid rid = {.len = 1, .bytes = {b}};
    executors_on_message(&H.gw.executors, &rid, &env);
}

static void goodbye(uint8_t b)
{
    Offload__Goodbye g = OFFLOAD__GOODBYE__INIT;
    g.reason = "drained";
    codec_envelope env = OFFLOAD__ENVELOPE__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_GOODBYE;
    env.goodbye = &g;
    wire_rid rid = {.len = 1, .bytes = {b}};
    executors_on_message(&H.gw.executors, &rid, &env);
}

static void on_done(gw_job *job, const job_outcome *out, void *arg)
{
    (void)job;
    (void)arg;
    H.answers++;
    H.last = *out;
    H.last.payload = NULL;
    H.last.message = NULL;
}

static int submit_len(const char *queue, const char *function, size_t len, gw_job **job)
{
    char err[256];
    job_request r = {.queue = queue,
                     .function = function,
                     .payload = calloc(1, len + 1),
                     .len = len,
                     .retries = -1};
    return gateway_submit(&H.gw, &r, on_done, NULL, job, err, sizeof(err));
}

static int submit(const char *queue, const char *function, uint32_t timeout_ms, int retries,
                  gw_job **job)
{
    char err[256];
    job_request r = {.queue = queue,
                     .function = function,
                     .payload = malloc(1),
                     .len = 0,
                     .timeout_ms = timeout_ms,
                     .retries = retries};
    return gateway_submit(&H.gw, &r, on_done, NULL, job, err, sizeof(err));
}

static uint64_t stat(gateway_counter c)
{
    return H.gw.stats.v[c];
}

/* Submit, dispatch, Result, answer: the plain life of a job. */
static void test_life(void)
{
    harness_init();
    hello(1, 0, 2);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_WELCOME], 1);
    gw_job *job;
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 1);
    CU_ASSERT_EQUAL(H.last_job[1], 1001);
    CU_ASSERT_EQUAL(jobs_in_flight(&H.gw.jobs), 1);
    CU_ASSERT_EQUAL(H.answers, 0); /* never from inside submit */
    result(1, 1001, OFFLOAD__CODE__CODE_OK, "hi");
    CU_ASSERT_EQUAL(H.answers, 1);
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.last.job_id, 1001);
    CU_ASSERT_EQUAL(H.last.len, 2);
    CU_ASSERT_EQUAL(jobs_in_flight(&H.gw.jobs), 0);
    /* A second Result for it is unknown now. */
    result(1, 1001, OFFLOAD__CODE__CODE_OK, "hi");
    CU_ASSERT_EQUAL(stat(STAT_results_unknown), 1);
    CU_ASSERT_EQUAL(H.answers, 1);
    harness_close();
}

/* Dispatch within a turn's budget of job bytes (--turn-budget-bytes): the
 * jobs past it wait for the end of the turn, where each queue that stopped
 * gets an equal share (at least one job), and the loop is told to turn
 * again while some queue still stops. Free slots are not the limit here. */
static void test_dispatch_budget(void)
{
    harness_init();
    jobs *js = &H.gw.jobs;
    js->limits.turn_bytes = js->turn_left = 2 * DISPATCH_JOB_COST;
    hello(1, 1, 8);
    gw_job *job;
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 2);
    CU_ASSERT_EQUAL(js->turn_left, 0);
    /* Spent: these wait, with free slots. */
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(submit("b", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 2);
    CU_ASSERT_EQUAL(queue_find(&H.gw.queues, "a")->waiting, 1);
    CU_ASSERT_EQUAL(queue_find(&H.gw.queues, "b")->waiting, 1);
    CU_ASSERT_EQUAL(js->deferrals, 2);
    /* The turn's end: one share each, both go; nothing left. */
    CU_ASSERT_EQUAL(jobs_turn_end(js), 0);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 4);
    CU_ASSERT_EQUAL(queue_find(&H.gw.queues, "b")->waiting, 0);
    CU_ASSERT_EQUAL(js->turn_left, 2 * DISPATCH_JOB_COST);
    /* A share of one job: the second waits one more turn's end. */
    js->limits.turn_bytes = DISPATCH_JOB_COST;
    js->turn_left = 0;
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 4);
    CU_ASSERT_EQUAL(jobs_turn_end(js), 1);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 5);
    CU_ASSERT_EQUAL(jobs_turn_end(js), 0);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 6);
    /* No budget spent and nothing waiting: nothing to do. */
    CU_ASSERT_EQUAL(jobs_turn_end(js), 0);
    CU_ASSERT_EQUAL(js->deferrals, 4);
    harness_close();
}

/* Every refusal comes back as a code, and done is never called. */
static void test_refusals(void)
{
    harness_init();
    hello(1, 0, 1);
    gw_job *job;
    CU_ASSERT_EQUAL(submit("bad name", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_BAD_REQUEST);
    CU_ASSERT_EQUAL(submit("a", "", 0, -1, &job), OFFLOAD__CODE__CODE_BAD_REQUEST);
    CU_ASSERT_EQUAL(submit("nosuch", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_UNKNOWN_QUEUE);
    CU_ASSERT_EQUAL(submit("a", "nosuch", 0, -1, &job), OFFLOAD__CODE__CODE_UNKNOWN_FUNCTION);
    CU_ASSERT_EQUAL(submit("a", "echo", 3600001, -1, &job), OFFLOAD__CODE__CODE_BAD_REQUEST);
    CU_ASSERT_EQUAL(submit("a", "echo", 0, 101, &job), OFFLOAD__CODE__CODE_BAD_REQUEST);
    /* One running, two waiting (max_waiting 2), then full. */
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(submit("a", "sleep", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(submit("a", "sleep", 0, -1, &job), OFFLOAD__CODE__CODE_QUEUE_FULL);
    CU_ASSERT_EQUAL(queue_find(&H.gw.queues, "a")->rejected, 1);
    CU_ASSERT_EQUAL(H.answers, 0);
    H.gw.draining = 1;
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_NO_EXECUTOR);
    harness_close();
    CU_ASSERT_EQUAL(H.answers, 3); /* the accepted ones, at close */
}

/* The executor picked first cannot be reached: it is marked dead in the
 * middle of dispatch, the job goes to the other one, and the dead one is
 * freed only at the reap. */
static void test_lost_in_dispatch(void)
{
    harness_init();
    hello(1, 0, 3); /* most free slots: picked first */
    hello(2, 0, 1);
    H.fail_rid = 1;
    gw_job *job;
    CU_ASSERT_EQUAL(submit("a", "echo", 0, -1, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[2][OFFLOAD__ENVELOPE__BODY_JOB], 1);
    CU_ASSERT_EQUAL(executors_count(&H.gw.executors), 1);
    gw_queue *q = queue_find(&H.gw.queues, "a");
    CU_ASSERT_EQUAL(q->capacity, 1);
    CU_ASSERT_EQUAL(q->busy, 1);
    CU_ASSERT_PTR_NOT_NULL(H.gw.executors.fleet.dead);
    executors_reap(&H.gw.executors);
    CU_ASSERT_PTR_NULL(H.gw.executors.fleet.dead);
    CU_ASSERT_EQUAL(stat(STAT_executors_lost), 1);
    CU_ASSERT_EQUAL(stat(STAT_send_failures), 1);
    result(2, H.last_job[2], OFFLOAD__CODE__CODE_OK, "x");
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_OK);
    harness_close();
}

/* Jobs wait; an executor says Hello, its Welcome goes out but its Jobs do
 * not: it is marked dead while the Hello still walks its queues. */
static void test_lost_in_hello(void)
{
    harness_init();
    hello(2, 1, 1);
    gw_job *job;
    for (int i = 0; i < 4; i++) /* 2 running on executor 2, 2 waiting */
        submit(i % 2 ? "a" : "b", "sleep", 0, 1, &job);
    H.fail_rid = 1;
    H.fail_body = OFFLOAD__ENVELOPE__BODY_JOB;
    hello(1, 1, 4);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_WELCOME], 1);
    CU_ASSERT_EQUAL(executors_count(&H.gw.executors), 1);
    executors_reap(&H.gw.executors);
    CU_ASSERT_EQUAL(stat(STAT_executors_lost), 1);
    CU_ASSERT_EQUAL(queue_find(&H.gw.queues, "a")->waiting, 1);
    CU_ASSERT_EQUAL(queue_find(&H.gw.queues, "b")->waiting, 1);
    CU_ASSERT_EQUAL(H.answers, 0); /* nothing was running on it */
    harness_close();
}

/* The tick finds one executor silent and cannot reach another: both are
 * marked dead while the tick walks the table; the reap retries the silent
 * one's job on the third executor. */
static void test_lost_in_tick(void)
{
    harness_init();
    hello(1, 0, 1);
    hello(2, 0, 1);
    hello(3, 0, 1);
    gw_job *job;
    CU_ASSERT_EQUAL(submit("a", "sleep", 0, 1, &job), OFFLOAD__CODE__CODE_OK);
    int on = H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB]   ? 1
             : H.sent[2][OFFLOAD__ENVELOPE__BODY_JOB] ? 2
                                                      : 3;
    int unreachable = on == 1 ? 2 : 1;
    int healthy = 6 - on - unreachable;
    uint64_t now = clock_now_us();
    gw_executor *e, *tmp;
    HASH_ITER(hh, H.gw.executors.fleet.by_rid, e, tmp)
    {
        e->last_send_us = now - 2000000; /* everyone is due a heartbeat */
        if (e->rid.bytes[0] == on)
            e->last_recv_us = now - 10000000; /* silent for 10 s */
    }
    H.fail_rid = unreachable;
    H.fail_body = OFFLOAD__ENVELOPE__BODY_HEARTBEAT;
    timers_run(&H.gw.loop.timers, now + 300000);
    CU_ASSERT_EQUAL(executors_count(&H.gw.executors), 1);
    CU_ASSERT_EQUAL(H.sent[healthy][OFFLOAD__ENVELOPE__BODY_HEARTBEAT], 1);
    executors_reap(&H.gw.executors);
    CU_ASSERT_EQUAL(stat(STAT_executors_lost), 2);
    CU_ASSERT_EQUAL(stat(STAT_jobs_retried), 1);
    CU_ASSERT_EQUAL(H.sent[healthy][OFFLOAD__ENVELOPE__BODY_JOB], 1);
    CU_ASSERT_EQUAL(H.answers, 0);
    result((uint8_t)healthy, H.last_job[healthy], OFFLOAD__CODE__CODE_OK, "done");
    CU_ASSERT_EQUAL(H.answers, 1);
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_OK);
    harness_close();
}

/* A running job's deadline: the caller gets timeout, the executor a
 * Cancel, and the slot stays busy until the (late) Result. */
static void test_deadline_and_late_result(void)
{
    harness_init();
    hello(1, 0, 1);
    gw_job *job;
    CU_ASSERT_EQUAL(submit("a", "sleep", 100, -1, &job), OFFLOAD__CODE__CODE_OK);
    uint64_t id = H.last_job[1];
    timers_run(&H.gw.loop.timers, clock_now_us() + 200000);
    CU_ASSERT_EQUAL(H.answers, 1);
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_TIMEOUT);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL], 1);
    gw_queue *q = queue_find(&H.gw.queues, "a");
    CU_ASSERT_EQUAL(q->busy, 1);
    CU_ASSERT_EQUAL(jobs_open(&H.gw.jobs), 0); /* nobody waits on it */
    result(1, id, OFFLOAD__CODE__CODE_CANCELLED, NULL);
    CU_ASSERT_EQUAL(stat(STAT_results_late), 1);
    CU_ASSERT_EQUAL(q->busy, 0);
    CU_ASSERT_EQUAL(H.answers, 1);
    harness_close();
}

/* Detach: a waiting job leaves its queue; a running one is cancelled and
 * kept until its Result. done is never called. */
static void test_detach(void)
{
    harness_init();
    hello(1, 0, 1);
    gw_job *running, *waiting;
    submit("a", "sleep", 0, -1, &running);
    submit("a", "sleep", 0, -1, &waiting);
    gw_queue *q = queue_find(&H.gw.queues, "a");
    CU_ASSERT_EQUAL(q->waiting, 1);
    gateway_detach(&H.gw, waiting);
    CU_ASSERT_EQUAL(q->waiting, 0);
    uint64_t id = H.last_job[1];
    gateway_detach(&H.gw, running);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL], 1);
    CU_ASSERT_EQUAL(jobs_in_flight(&H.gw.jobs), 1);
    result(1, id, OFFLOAD__CODE__CODE_OK, "x");
    CU_ASSERT_EQUAL(jobs_in_flight(&H.gw.jobs), 0);
    CU_ASSERT_EQUAL(H.answers, 0);
    harness_close();
}

/* A Goodbye is a clean leave: counted executors_left, not lost; a job it
 * still ran is answered executor_lost. */
static void test_goodbye(void)
{
    harness_init();
    hello(1, 0, 1);
    gw_job *job;
    submit("a", "sleep", 0, -1, &job);
    goodbye(1);
    CU_ASSERT_EQUAL(executors_count(&H.gw.executors), 0);
    executors_reap(&H.gw.executors);
    CU_ASSERT_EQUAL(stat(STAT_executors_left), 1);
    CU_ASSERT_EQUAL(stat(STAT_executors_lost), 0);
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_EXECUTOR_LOST);
    /* Its late Result comes from a stranger now: Refuse, counted. */
    result(1, job ? 1001 : 0, OFFLOAD__CODE__CODE_OK, "x");
    CU_ASSERT_EQUAL(stat(STAT_results_unknown), 1);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_REFUSE], 1);
    harness_close();
}

/* The clients front answers every Submit, bad names included, with the
 * client's request_id. */
static void test_clients_answer(void)
{
    harness_init();
    hello(1, 0, 1);
    Offload__Submit s = OFFLOAD__SUBMIT__INIT;
    codec_envelope env = OFFLOAD__ENVELOPE__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_SUBMIT;
    env.submit = &s;
    wire_rid rid = {.len = 1, .bytes = {7}};
    s.request_id = 42;
    s.queue = "a b";
    s.function = "echo";
    clients_on_message(&H.gw.clients, &rid, &env, clock_now_us());
    CU_ASSERT_EQUAL(H.replies, 1);
    CU_ASSERT_EQUAL(H.last_reply_request, 42);
    CU_ASSERT_EQUAL(H.last_reply_code, OFFLOAD__CODE__CODE_BAD_REQUEST);
    CU_ASSERT_EQUAL(stat(STAT_submits_refused), 1);
    s.request_id = 43;
    s.queue = "a";
    clients_on_message(&H.gw.clients, &rid, &env, clock_now_us());
    CU_ASSERT_EQUAL(H.replies, 1); /* running */
    result(1, H.last_job[1], OFFLOAD__CODE__CODE_OK, "x");
    CU_ASSERT_EQUAL(H.replies, 2);
    CU_ASSERT_EQUAL(H.last_reply_request, 43);
    CU_ASSERT_EQUAL(H.last_reply_code, OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.gw.clients.pending, 0);
    harness_close();
}

/* A client's Cancel answers its Submit CODE_CANCELLED and cancels the job
 * on its executor; a request_id in flight cannot be reused; a leased
 * client that goes silent has its jobs cancelled, one that heartbeats
 * keeps them. */
static void test_clients_cancel_and_lease(void)
{
    harness_init();
    hello(1, 0, 4);
    Offload__Submit s = OFFLOAD__SUBMIT__INIT;
    codec_envelope env = OFFLOAD__ENVELOPE__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_SUBMIT;
    env.submit = &s;
    wire_rid a = {.len = 1, .bytes = {7}}, b = {.len = 1, .bytes = {8}};
    uint64_t t0 = clock_now_us();
    s.queue = "a";
    s.function = "sleep";
    s.request_id = 1;
    clients_on_message(&H.gw.clients, &a, &env, t0);
    s.request_id = 1; /* again, while in flight */
    clients_on_message(&H.gw.clients, &a, &env, t0);
    CU_ASSERT_EQUAL(H.replies, 1);
    CU_ASSERT_EQUAL(H.last_reply_code, OFFLOAD__CODE__CODE_BAD_REQUEST);
    s.lease_ms = 50; /* under the minimum */
    s.request_id = 2;
    clients_on_message(&H.gw.clients, &a, &env, t0);
    CU_ASSERT_EQUAL(H.replies, 2);
    CU_ASSERT_EQUAL(H.last_reply_code, OFFLOAD__CODE__CODE_BAD_REQUEST);
    CU_ASSERT_EQUAL(H.gw.clients.pending, 1);

    /* Cancel request 1: a Reply cancelled, a Cancel to the executor. */
    Offload__Cancel c = OFFLOAD__CANCEL__INIT;
    codec_envelope cenv = OFFLOAD__ENVELOPE__INIT;
    cenv.body_case = OFFLOAD__ENVELOPE__BODY_CANCEL;
    cenv.cancel = &c;
    c.request_id = 1;
    int cancels = H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL];
    clients_on_message(&H.gw.clients, &a, &cenv, t0);
    CU_ASSERT_EQUAL(H.replies, 3);
    CU_ASSERT_EQUAL(H.last_reply_request, 1);
    CU_ASSERT_EQUAL(H.last_reply_code, OFFLOAD__CODE__CODE_CANCELLED);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL], cancels + 1);
    CU_ASSERT_EQUAL(H.gw.clients.pending, 0);
    clients_on_message(&H.gw.clients, &a, &cenv, t0); /* unknown now: ignored */
    CU_ASSERT_EQUAL(H.replies, 3);

    /* Leases of 1 s: a keeps heartbeating, b goes silent. */
    s.lease_ms = 1000;
    s.request_id = 10;
    clients_on_message(&H.gw.clients, &a, &env, t0);
    s.request_id = 11;
    clients_on_message(&H.gw.clients, &b, &env, t0);
    s.request_id = 12;
    clients_on_message(&H.gw.clients, &b, &env, t0);
    CU_ASSERT_EQUAL(H.gw.clients.pending, 3);
    codec_envelope hb = OFFLOAD__ENVELOPE__INIT;
    Offload__Heartbeat beat = OFFLOAD__HEARTBEAT__INIT;
    hb.body_case = OFFLOAD__ENVELOPE__BODY_HEARTBEAT;
    hb.heartbeat = &beat;
    CU_ASSERT_EQUAL(clients_check_leases(&H.gw.clients, t0 + 900000), 0);
    clients_on_message(&H.gw.clients, &a, &hb, t0 + 900000);
    cancels = H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL];
    uint64_t gone = stat(STAT_callers_gone);
    CU_ASSERT_EQUAL(clients_check_leases(&H.gw.clients, t0 + 1500000), 1);
    CU_ASSERT_EQUAL(stat(STAT_callers_gone), gone + 2);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL], cancels + 2);
    CU_ASSERT_EQUAL(H.gw.clients.pending, 1); /* a's */
    CU_ASSERT_EQUAL(H.replies, 3);            /* nobody to answer */
    CU_ASSERT_EQUAL(clients_check_leases(&H.gw.clients, t0 + 1800000), 0);
    CU_ASSERT_EQUAL(clients_check_leases(&H.gw.clients, t0 + 2000000), 1); /* a, silent now */
    CU_ASSERT_EQUAL(H.gw.clients.pending, 0);
    harness_close();
}

/* A result over --max-payload (1024 here) is not passed on. */
static void test_oversized_result(void)
{
    harness_init();
    hello(1, 0, 1);
    gw_job *job;
    submit("a", "echo", 0, -1, &job);
    char big[1026];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    result(1, H.last_job[1], OFFLOAD__CODE__CODE_OK, big);
    CU_ASSERT_EQUAL(H.answers, 1);
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_JOB_FAILED);
    CU_ASSERT_EQUAL(queue_find(&H.gw.queues, "a")->busy, 0);
    harness_close();
}

/* Executors that take smaller payloads than the gateway (Hello's
 * max_payload): a job none of them takes is refused at once; one that
 * some take waits for them; one whose executors all left is answered
 * payload_too_large at the next dispatch, not at its deadline. */
static void test_executor_payload_limits(void)
{
    harness_init();
    H.gw.executors.fleet.max_payload = 1024; /* the gateway's, as gateway.c sets it */
    hello_max_payload = 100;
    hello(1, 0, 1);
    gw_queue *q = queue_find(&H.gw.queues, "a");
    CU_ASSERT_EQUAL(q->limited, 1);
    CU_ASSERT_EQUAL(fleet_queue_max_payload(&H.gw.executors.fleet, q), 100);
    gw_job *job;
    CU_ASSERT_EQUAL(submit_len("a", "echo", 200, &job), OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE);
    CU_ASSERT_EQUAL(stat(STAT_jobs_over_executor_limit), 1);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 0);
    CU_ASSERT_EQUAL(submit_len("a", "echo", 100, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 1);

    /* An executor at the gateway's limit (2), then one that did not say (3). */
    hello_max_payload = 1024;
    hello(2, 0, 1);
    CU_ASSERT_EQUAL(q->limited, 1);
    CU_ASSERT_EQUAL(fleet_queue_max_payload(&H.gw.executors.fleet, q), 1024);
    CU_ASSERT_EQUAL(submit_len("a", "echo", 200, &job), OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.sent[2][OFFLOAD__ENVELOPE__BODY_JOB], 1);
    /* Both busy: a large one waits; 1's free slot does not take it. */
    CU_ASSERT_EQUAL(submit_len("a", "echo", 300, &job), OFFLOAD__CODE__CODE_OK);
    result(1, H.last_job[1], OFFLOAD__CODE__CODE_OK, "ok");
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 1);
    CU_ASSERT_EQUAL(q->waiting, 1);
    /* 2 leaves: nobody left takes it, so it is answered now. */
    int answers = H.answers;
    goodbye(2);
    executors_reap(&H.gw.executors);
    CU_ASSERT_EQUAL(q->limited, 1);
    CU_ASSERT_EQUAL(fleet_queue_max_payload(&H.gw.executors.fleet, q), 100);
    jobs_dispatch(&H.gw.jobs, q);
    CU_ASSERT_EQUAL(H.answers, answers + 2); /* 2's job (lost) and the large one */
    CU_ASSERT_EQUAL(H.last.code, OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE);
    CU_ASSERT_EQUAL(q->waiting, 0);
    hello_max_payload = 0;
    hello(3, 0, 1);
    CU_ASSERT_EQUAL(q->limited, 1);
    CU_ASSERT_EQUAL(fleet_queue_max_payload(&H.gw.executors.fleet, q), 1024);
    harness_close();
}

/* A draining executor that says Hello again stays drained. */
static void test_drain_survives_hello(void)
{
    harness_init();
    hello(1, 0, 2);
    codec_envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Drain d = OFFLOAD__DRAIN__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_DRAIN;
    env.drain = &d;
    wire_rid rid = {.len = 1, .bytes = {1}};
    executors_on_message(&H.gw.executors, &rid, &env);
    gw_queue *q = queue_find(&H.gw.queues, "a");
    CU_ASSERT_EQUAL(q->capacity, 0);
    hello(1, 0, 2);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_WELCOME], 2);
    CU_ASSERT_EQUAL(q->capacity, 0);
    CU_ASSERT_EQUAL(q->executors, 0);
    gw_job *job;
    submit("a", "echo", 0, -1, &job);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_JOB], 0);
    harness_close();
}

/* An executor with a 40 ms heartbeat gets heartbeats at its pace: the tick
 * runs every 10 ms from its Hello on, not every 250 ms. */
static void test_tick_follows_shortest_heartbeat(void)
{
    uint64_t before = clock_now_us();
    harness_init();
    CU_ASSERT(H.gw.executors.tick.due_us >= before + 250000); /* 1000 ms / 4 */
    hello_heartbeat_ms = 40;
    hello(1, 0, 1);
    uint64_t now = clock_now_us();
    CU_ASSERT(H.gw.executors.tick.due_us <= now + 10000);
    timers_run(&H.gw.loop.timers, now + 50000); /* past one interval */
    CU_ASSERT(H.gw.executors.tick.due_us <= clock_now_us() + 10000);
    harness_close();
}

/* ---- detached jobs ------------------------------------------------------ */

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
    detached_init(&ds, &H.gw.jobs, &H.gw.loop.timers, &lim);
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
    timers_run(&H.gw.loop.timers, clock_now_us() + 2000000);
    CU_ASSERT_PTR_NULL(detached_find(&ds, id3));
    CU_ASSERT(ds.expired >= 1);
    CU_ASSERT_PTR_NOT_NULL(detached_find(&ds, dx->id)); /* open jobs stay */
    /* Closing answers the open ones into the store, then frees it. Which
     * ends last is the job table's order, and the byte budget may evict the
     * other one: each is ended, or gone. */
    uint64_t open_ids[] = {dx->id, d1->id};
    executors_reap(&H.gw.executors);
    jobs_close(&H.gw.jobs, OFFLOAD__CODE__CODE_NO_EXECUTOR, "closing");
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

UNIT_SUITE(jobs, {"submit, dispatch, result", test_life}, {"refusals", test_refusals},
           {"dispatch within a turn's budget", test_dispatch_budget},
           {"detached jobs: states, waiters, cancel, keys, budget, TTL", test_detached},
           {"clients: cancel, request ids in flight, leases", test_clients_cancel_and_lease},
           {"executor lost in the middle of dispatch", test_lost_in_dispatch},
           {"executor lost in the middle of its Hello", test_lost_in_hello},
           {"executors lost in the middle of the tick", test_lost_in_tick},
           {"deadline while running, then a late result", test_deadline_and_late_result},
           {"detach", test_detach}, {"goodbye is a clean leave", test_goodbye},
           {"clients front answers every submit", test_clients_answer},
           {"a result over --max-payload is not passed on", test_oversized_result},
           {"a drain survives a second Hello", test_drain_survives_hello},
           {"executors' payload limits", test_executor_payload_limits},
           {"the tick follows the shortest heartbeat", test_tick_follows_shortest_heartbeat})
