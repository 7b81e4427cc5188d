/* test_dispatch.c -- per-queue FIFOs, the executor table and credit
 * dispatch, without sockets: "sending" records which executor got a job. */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "fleet.h"
#include "queue.h"
#include "unit.h"

/* The sends record_send saw, in order. */
typedef struct sent_log {
    gw_executor *to[64];
    uint64_t job[64];
    int n;
    int fail_next; /* make the next send fail */
} sent_log;

/* The tables under test and what was sent: zeroed by tables_init. */
static struct {
    queue_table qt;
    fleet f;
    sent_log log;
} T;

static void tables_init(void)
{
    memset(&T, 0, sizeof(T));
}

static void tables_free(void)
{
    fleet_free(&T.f);
    queue_table_free(&T.qt);
}

static int record_send(gw_executor *e, gw_job *job, void *arg)
{
    sent_log *log = arg;
    if (log->fail_next) {
        log->fail_next = 0;
        return -1;
    }
    log->to[log->n] = e;
    log->job[log->n] = job->id;
    log->n++;
    return 0;
}

/* dispatch_queue on q, sending into T.log; returns how many jobs went. */
static int send_waiting(gw_queue *q, size_t *budget)
{
    return dispatch_queue(&T.f, q, record_send, &T.log, budget);
}

static Offload__QueueDecl queue_decl(const char *name, Offload__PoolKind kind, uint32_t size,
                                     char **functions, size_t n_functions)
{
    Offload__QueueDecl decl = OFFLOAD__QUEUE_DECL__INIT;
    decl.name = (char *)name;
    decl.kind = kind;
    decl.size = size;
    decl.n_functions = n_functions;
    decl.functions = functions;
    return decl;
}

/* A Hello from rid byte rid_byte declaring n queues. */
static gw_executor *register_hello(uint8_t rid_byte, const char *id, Offload__QueueDecl **decls,
                                   size_t n)
{
    Offload__Hello hello = OFFLOAD__HELLO__INIT;
    hello.executor_id = (char *)id;
    hello.n_queues = n;
    hello.queues = decls;
    wire_rid rid = {.len = 1, .bytes = {rid_byte}};
    return fleet_register(&T.f, &T.qt, &rid, &hello, 1000, 3, 0);
}

/* A Hello for an executor serving one queue with `size` slots. */
static gw_executor *add_executor(uint8_t rid_byte, const char *queue, uint32_t size,
                                 const char *function)
{
    char *fns[] = {(char *)function, "echo"};
    Offload__QueueDecl decl = queue_decl(queue, OFFLOAD__POOL_KIND__POOL_THREADS, size, fns, 2);
    Offload__QueueDecl *decls[] = {&decl};
    char id[16];
    snprintf(id, sizeof(id), "exec-%u", rid_byte);
    return register_hello(rid_byte, id, decls, 1);
}

/* Marks e dead and reaps it at once, as the gateway does at the end of a
 * turn. */
static void remove_executor(gw_executor *e)
{
    fleet_mark_dead(&T.f, e, "test", 0);
    CU_ASSERT_EQUAL(fleet_next_dead(&T.f), e);
    CU_ASSERT_PTR_NULL(fleet_next_dead(&T.f));
    fleet_free_executor(e);
}

static gw_job *make_job(uint64_t id, gw_queue *q, const char *function)
{
    uint8_t *payload = malloc(1);
    return job_new(id, q, function, &payload, 0, 0, 1000000);
}

/* n jobs for function, ids 1..n, queued on q in that order. */
static void push_jobs(gw_queue *q, gw_job **jobs, int n, const char *function)
{
    for (int i = 0; i < n; i++) {
        jobs[i] = make_job((uint64_t)i + 1, q, function);
        queue_push(q, jobs[i]);
    }
}

/* Takes what still waits off q, then frees the n jobs. */
static void drop_jobs(gw_queue *q, gw_job **jobs, int n)
{
    while (queue_peek(q))
        queue_remove(q, queue_peek(q));
    for (int i = 0; i < n; i++)
        job_free(jobs[i]);
}

static void test_fifo_order(void)
{
    queue_table qt = {0};
    gw_queue *q = queue_get(&qt, "io");
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    CU_ASSERT_PTR_EQUAL(queue_get(&qt, "io"), q);
    CU_ASSERT_PTR_NULL(queue_get(&qt, "bad name"));
    gw_job *a = make_job(1, q, "echo"), *b = make_job(2, q, "echo"), *c = make_job(3, q, "echo");
    queue_push(q, a);
    queue_push(q, b);
    queue_push(q, c);
    CU_ASSERT_EQUAL(q->waiting, 3);
    queue_remove(q, b); /* from the middle, as a deadline does */
    CU_ASSERT_EQUAL(q->waiting, 2);
    CU_ASSERT_PTR_EQUAL(queue_peek(q), a);
    queue_remove(q, a);
    CU_ASSERT_PTR_EQUAL(queue_peek(q), c);
    queue_push_front(q, a);
    CU_ASSERT_PTR_EQUAL(queue_peek(q), a);
    queue_remove(q, a);
    queue_remove(q, c);
    CU_ASSERT_PTR_NULL(queue_peek(q));
    CU_ASSERT_EQUAL(q->waiting, 0);
    job_free(a);
    job_free(b);
    job_free(c);
    queue_table_free(&qt);
}

static void test_credit_limits_inflight(void)
{
    tables_init();
    gw_executor *e = add_executor(1, "io", 2, "sleep");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    gw_queue *q = queue_find(&T.qt, "io");
    CU_ASSERT_EQUAL(q->capacity, 2);
    CU_ASSERT_EQUAL(q->executors, 1);
    gw_job *jobs[5];
    push_jobs(q, jobs, 5, "sleep");
    CU_ASSERT_EQUAL(send_waiting(q, NULL), 2);
    CU_ASSERT_EQUAL(T.log.job[0], 1); /* FIFO */
    CU_ASSERT_EQUAL(T.log.job[1], 2);
    CU_ASSERT_EQUAL(q->busy, 2);
    CU_ASSERT_EQUAL(q->waiting, 3);
    CU_ASSERT_EQUAL(e->inflight, 2);
    CU_ASSERT_EQUAL(jobs[0]->state, JOB_RUNNING);
    /* No credit: nothing more goes out. */
    CU_ASSERT_EQUAL(send_waiting(q, NULL), 0);
    /* A result frees one slot: exactly one more job goes. */
    dispatch_release(jobs[0]);
    CU_ASSERT_EQUAL(q->busy, 1);
    CU_ASSERT_EQUAL(send_waiting(q, NULL), 1);
    CU_ASSERT_EQUAL(T.log.job[2], 3);
    for (int i = 1; i < 3; i++)
        dispatch_release(jobs[i]);
    CU_ASSERT_EQUAL(q->busy, 0);
    drop_jobs(q, jobs, 5);
    fleet_free(&T.f);
    CU_ASSERT_EQUAL(q->capacity, 0);
    CU_ASSERT_EQUAL(q->executors, 0);
    queue_table_free(&T.qt);
}

/* A budget stops the sending: each job takes its payload plus
 * DISPATCH_JOB_COST, and one goes whenever the budget is not 0. */
static void test_budget(void)
{
    tables_init();
    gw_executor *e = add_executor(1, "io", 8, "sleep");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    gw_queue *q = queue_find(&T.qt, "io");
    gw_job *jobs[5];
    push_jobs(q, jobs, 5, "sleep");
    size_t budget = 2 * DISPATCH_JOB_COST + 1;
    CU_ASSERT_EQUAL(send_waiting(q, &budget), 3);
    CU_ASSERT_EQUAL(budget, 0);
    CU_ASSERT_EQUAL(send_waiting(q, &budget), 0);
    budget = 1;
    CU_ASSERT_EQUAL(send_waiting(q, &budget), 1);
    CU_ASSERT_EQUAL(T.log.job[3], 4); /* still FIFO */
    CU_ASSERT_EQUAL(q->waiting, 1);
    for (int i = 0; i < 4; i++)
        dispatch_release(jobs[i]);
    drop_jobs(q, jobs, 5);
    tables_free();
}

/* Jobs go to the executor with the most free slots, so an idle executor
 * is never starved while another is busy. */
static void test_least_busy_first(void)
{
    tables_init();
    gw_executor *a = add_executor(1, "io", 2, "sleep");
    gw_executor *b = add_executor(2, "io", 2, "sleep");
    gw_queue *q = queue_find(&T.qt, "io");
    CU_ASSERT_EQUAL(q->capacity, 4);
    CU_ASSERT_EQUAL(q->executors, 2);
    gw_job *jobs[4];
    push_jobs(q, jobs, 4, "sleep");
    CU_ASSERT_EQUAL(send_waiting(q, NULL), 4);
    int to_a = 0, to_b = 0;
    for (int i = 0; i < 4; i++) {
        to_a += T.log.to[i] == a;
        to_b += T.log.to[i] == b;
    }
    CU_ASSERT_EQUAL(to_a, 2);
    CU_ASSERT_EQUAL(to_b, 2);
    /* The first two went to different executors (alternating). */
    CU_ASSERT_PTR_NOT_EQUAL(T.log.to[0], T.log.to[1]);
    /* Free a slot on b only: the next job goes to b. */
    for (int i = 0; i < 4; i++)
        if (T.log.to[i] == b) {
            dispatch_release(jobs[i]);
            break;
        }
    gw_job *next = make_job(9, q, "sleep");
    queue_push(q, next);
    CU_ASSERT_EQUAL(send_waiting(q, NULL), 1);
    CU_ASSERT_PTR_EQUAL(T.log.to[4], b);
    for (int i = 0; i < 4; i++)
        if (jobs[i]->executor)
            dispatch_release(jobs[i]);
    dispatch_release(next);
    drop_jobs(q, jobs, 4);
    job_free(next);
    tables_free();
}

/* A job goes only to an executor that takes its payload (Hello's
 * max_payload, 0: any), even when another has more free slots; with none
 * free that takes it, it waits, and the queue behind it too (FIFO). */
static void test_payload_limits(void)
{
    tables_init();
    gw_executor *small = add_executor(1, "io", 4, "sleep");
    gw_executor *any = add_executor(2, "io", 1, "sleep");
    small->max_payload = 100;
    gw_queue *q = queue_find(&T.qt, "io");
    uint8_t *p1 = malloc(200), *p2 = malloc(200), *p3 = malloc(50);
    gw_job *big1 = job_new(1, q, "sleep", &p1, 200, 0, 1000000);
    gw_job *big2 = job_new(2, q, "sleep", &p2, 200, 0, 1000000);
    gw_job *little = job_new(3, q, "sleep", &p3, 50, 0, 1000000);
    CU_ASSERT_PTR_EQUAL(dispatch_pick(&T.f, q, "sleep", 200), any);
    CU_ASSERT_PTR_EQUAL(dispatch_pick(&T.f, q, "sleep", 100), small); /* more free slots */
    queue_push(q, big1);
    queue_push(q, big2);
    queue_push(q, little);
    /* big1 to the one that takes it; big2 waits for it, little behind. */
    CU_ASSERT_EQUAL(send_waiting(q, NULL), 1);
    CU_ASSERT_PTR_EQUAL(T.log.to[0], any);
    CU_ASSERT_EQUAL(q->waiting, 2);
    CU_ASSERT_PTR_NULL(dispatch_pick(&T.f, q, "sleep", 200));
    dispatch_release(big1);
    CU_ASSERT_EQUAL(send_waiting(q, NULL), 2);
    CU_ASSERT_PTR_EQUAL(T.log.to[1], any);
    CU_ASSERT_PTR_EQUAL(T.log.to[2], small);
    dispatch_release(big2);
    dispatch_release(little);
    job_free(big1);
    job_free(big2);
    job_free(little);
    tables_free();
}

/* Functions are per queue: one executor offering resize on cpu only does
 * not offer it on io, and a job for it there is not sent. */
static void test_functions_per_queue(void)
{
    tables_init();
    char *io_fns[] = {"sleep"}, *cpu_fns[] = {"resize", "echo"};
    Offload__QueueDecl io = queue_decl("io", OFFLOAD__POOL_KIND__POOL_THREADS, 2, io_fns, 1);
    Offload__QueueDecl cpu = queue_decl("cpu", OFFLOAD__POOL_KIND__POOL_PROCESSES, 2, cpu_fns, 2);
    Offload__QueueDecl *decls[] = {&io, &cpu};
    gw_executor *e = register_hello(9, "both", decls, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->nfunctions, 3);
    gw_queue *qio = queue_find(&T.qt, "io"), *qcpu = queue_find(&T.qt, "cpu");
    CU_ASSERT_TRUE(fleet_queue_offers(&T.f, qio, "sleep"));
    CU_ASSERT_FALSE(fleet_queue_offers(&T.f, qio, "resize"));
    CU_ASSERT_FALSE(fleet_queue_offers(&T.f, qio, "echo"));
    CU_ASSERT_TRUE(fleet_queue_offers(&T.f, qcpu, "resize"));
    CU_ASSERT_FALSE(fleet_queue_offers(&T.f, qcpu, "sleep"));
    gw_job *j = make_job(1, qio, "resize");
    queue_push(qio, j);
    CU_ASSERT_EQUAL(send_waiting(qio, NULL), 0);
    CU_ASSERT_EQUAL(qio->waiting, 1);
    gw_job *k = make_job(2, qcpu, "resize");
    queue_push(qcpu, k);
    CU_ASSERT_EQUAL(send_waiting(qcpu, NULL), 1);
    queue_remove(qio, j);
    job_free(j);
    job_free(k);
    remove_executor(e);
    tables_free();
}

/* A job whose function no free executor offers waits; one that offers it
 * gets it. A failed send puts the job back at the head. */
static void test_function_and_failed_send(void)
{
    tables_init();
    gw_executor *a = add_executor(1, "io", 1, "sleep");
    gw_queue *q = queue_find(&T.qt, "io");
    CU_ASSERT_TRUE(fleet_queue_offers(&T.f, q, "sleep"));
    CU_ASSERT_TRUE(fleet_queue_offers(&T.f, q, "echo"));
    CU_ASSERT_FALSE(fleet_queue_offers(&T.f, q, "resize"));
    gw_job *j = make_job(1, q, "resize");
    queue_push(q, j);
    CU_ASSERT_EQUAL(send_waiting(q, NULL), 0);
    CU_ASSERT_EQUAL(q->waiting, 1);
    gw_executor *b = add_executor(2, "io", 1, "resize");
    CU_ASSERT_EQUAL(send_waiting(q, NULL), 1);
    CU_ASSERT_PTR_EQUAL(T.log.to[0], b);
    dispatch_release(j);

    gw_job *k = make_job(2, q, "echo");
    queue_push(q, k);
    T.log.fail_next = 1;
    CU_ASSERT_EQUAL(send_waiting(q, NULL), 0);
    CU_ASSERT_PTR_EQUAL(queue_peek(q), k);
    CU_ASSERT_EQUAL(k->state, JOB_WAITING);
    CU_ASSERT_EQUAL(q->busy, 0);
    CU_ASSERT_EQUAL(a->inflight + b->inflight, 0);
    queue_remove(q, k);
    job_free(j);
    job_free(k);
    tables_free();
}

/* Re-registration keeps the busy count; removal takes the slots away. */
static void test_reregister_and_remove(void)
{
    tables_init();
    gw_executor *a = add_executor(1, "io", 2, "sleep");
    gw_queue *q = queue_find(&T.qt, "io");
    gw_job *j = make_job(1, q, "sleep");
    queue_push(q, j);
    CU_ASSERT_EQUAL(send_waiting(q, NULL), 1);
    gw_executor *again = add_executor(1, "io", 3, "sleep");
    CU_ASSERT_PTR_EQUAL(again, a);
    CU_ASSERT_EQUAL(T.f.count, 1);
    CU_ASSERT_EQUAL(q->capacity, 3);
    CU_ASSERT_EQUAL(q->busy, 1);
    CU_ASSERT_EQUAL(q->executors, 1);
    dispatch_release(j);
    CU_ASSERT_EQUAL(q->busy, 0);
    remove_executor(a);
    CU_ASSERT_EQUAL(T.f.count, 0);
    CU_ASSERT_EQUAL(q->capacity, 0);
    CU_ASSERT_EQUAL(q->executors, 0);
    /* The queue stays known after its executors left. */
    CU_ASSERT_PTR_EQUAL(queue_find(&T.qt, "io"), q);
    job_free(j);
    tables_free();
}

/* A draining executor gets no new jobs and its busy slots do not hold back
 * the other executors. */
static void test_drain(void)
{
    tables_init();
    gw_executor *a = add_executor(1, "io", 2, "sleep");
    gw_executor *b = add_executor(2, "io", 2, "sleep");
    gw_queue *q = queue_find(&T.qt, "io");
    gw_job *jobs[6];
    for (int i = 0; i < 6; i++)
        jobs[i] = make_job((uint64_t)i + 1, q, "sleep");
    queue_push(q, jobs[0]);
    queue_push(q, jobs[1]);
    CU_ASSERT_EQUAL(send_waiting(q, NULL), 2); /* one on each */
    gw_executor *busy_one = T.log.to[0];
    gw_executor *other = busy_one == a ? b : a;
    fleet_drain(&T.f, busy_one);
    CU_ASSERT_EQUAL(q->capacity, 2);
    CU_ASSERT_EQUAL(q->executors, 1);
    CU_ASSERT_EQUAL(q->busy, 1); /* only the other's job */
    for (int i = 2; i < 6; i++)
        queue_push(q, jobs[i]);
    /* The other executor had 1 free slot: exactly one more job, to it. */
    CU_ASSERT_EQUAL(send_waiting(q, NULL), 1);
    CU_ASSERT_PTR_EQUAL(T.log.to[2], other);
    /* The draining executor's result frees nothing for the queue. */
    gw_job *on_drained = jobs[0]->executor == busy_one ? jobs[0] : jobs[1];
    dispatch_release(on_drained);
    CU_ASSERT_EQUAL(q->busy, 2);
    CU_ASSERT_EQUAL(send_waiting(q, NULL), 0);
    remove_executor(busy_one);
    CU_ASSERT_EQUAL(q->capacity, 2);
    CU_ASSERT_EQUAL(q->busy, 2);
    CU_ASSERT_EQUAL(q->executors, 1);
    for (int i = 0; i < 6; i++) {
        if (jobs[i]->state == JOB_WAITING)
            queue_remove(q, jobs[i]);
        else if (jobs[i]->executor)
            dispatch_release(jobs[i]);
        job_free(jobs[i]);
    }
    CU_ASSERT_EQUAL(q->busy, 0);
    tables_free();
}

static void test_queue_spec_and_retry_after(void)
{
    char name[CODEC_NAME_MAX + 1], err[256];
    long long mw;
    CU_ASSERT_EQUAL(queue_parse_spec("io", name, &mw, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(name, "io");
    CU_ASSERT_EQUAL(mw, -1);
    CU_ASSERT_EQUAL(queue_parse_spec("cpu:max-waiting=5", name, &mw, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(name, "cpu");
    CU_ASSERT_EQUAL(mw, 5);
    static const char *bad[] = {"",
                                ":max-waiting=5",
                                "io:",
                                "io:max-waiting=",
                                "io:max-waiting=-1",
                                "io:max-waiting=5x",
                                "io:waiting=5",
                                "i o",
                                "io:max-waiting=100000001"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        err[0] = '\0';
        CU_ASSERT_EQUAL(queue_parse_spec(bad[i], name, &mw, err, sizeof(err)), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "expected NAME or NAME:max-waiting=N"));
    }

    queue_table qt = {0};
    gw_queue *q = queue_get(&qt, "io");
    CU_ASSERT_EQUAL(queue_retry_after(q), 1); /* no history yet */
    /* 10 jobs a second for 3 seconds, 50 waiting: about 5 s to work off. */
    for (uint64_t t = 1; t <= 3000000; t += 100000)
        queue_note_done(q, t);
    CU_ASSERT_TRUE(q->rate > 8 && q->rate < 12);
    q->waiting = 49;
    CU_ASSERT_TRUE(queue_retry_after(q) >= 4 && queue_retry_after(q) <= 7);
    q->waiting = 100000000;
    CU_ASSERT_EQUAL(queue_retry_after(q), 300); /* capped */
    q->waiting = 0;
    queue_table_free(&qt);
}

UNIT_SUITE(dispatch, {"draining executor", test_drain},
           {"queue specs and Retry-After", test_queue_spec_and_retry_after},
           {"fifo order and removal", test_fifo_order},
           {"credit limits jobs in flight", test_credit_limits_inflight},
           {"a budget bounds what one call sends", test_budget},
           {"least busy executor first", test_least_busy_first},
           {"payloads go to executors that take them", test_payload_limits},
           {"function offers and failed sends", test_function_and_failed_send},
           {"functions are per queue", test_functions_per_queue},
           {"re-registration and removal", test_reregister_and_remove})
