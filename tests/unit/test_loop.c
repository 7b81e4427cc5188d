/* test_loop.c -- the event loop shared by the gateway and the executor:
 * sources run in the order they were added (any number of them), hooks at
 * the end of the turn, timers on the timerfd, the before-poll hook that may
 * stop the loop, and SIGTERM through the signalfd. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "loop.h"
#include "signals.h"
#include "unit.h"

#define SOURCES 20

typedef struct probe {
    loop *l;
    int fds[SOURCES];
    int order[SOURCES * 2]; /* source index per call, then -1 for the hook */
    int n;
    int turns;
    int signo;
} probe;

typedef struct source_arg {
    probe *p;
    int index;
} source_arg;

static void on_source(void *arg)
{
    source_arg *s = arg;
    uint64_t v;
    if (read(s->p->fds[s->index], &v, sizeof(v)) == sizeof(v) && s->p->n < SOURCES * 2)
        s->p->order[s->p->n++] = s->index;
}

static void on_turn(void *arg)
{
    probe *p = arg;
    if (p->n < SOURCES * 2)
        p->order[p->n++] = -1;
    loop_stop(p->l);
}

/* loop_init, which must succeed. */
static void init_loop(loop *l)
{
    char err[128];
    CU_ASSERT_EQUAL_FATAL(loop_init(l, err, sizeof(err)), 0);
}

/* More sources than a fixed table would hold, run in the order added, the
 * end-of-turn hook after them. */
static void test_sources_in_order(void)
{
    loop l;
    init_loop(&l);
    probe p = {.l = &l};
    source_arg args[SOURCES];
    for (int i = 0; i < SOURCES; i++) {
        p.fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        args[i] = (source_arg){&p, i};
        CU_ASSERT_EQUAL(loop_add_fd(&l, p.fds[i], on_source, &args[i]), 0);
    }
    CU_ASSERT_EQUAL(loop_on_turn(&l, on_turn, &p), 0);
    uint64_t one = 1;
    for (int i = SOURCES - 1; i >= 0; i -= 3) /* readable in reverse: order is by adding */
        CU_ASSERT_EQUAL(write(p.fds[i], &one, sizeof(one)), (ssize_t)sizeof(one));
    CU_ASSERT_EQUAL(loop_run(&l), 0);
    int want = 0;
    for (int i = 0; i < SOURCES; i++)
        if ((SOURCES - 1 - i) % 3 == 0)
            CU_ASSERT_EQUAL(p.order[want++], i);
    CU_ASSERT_EQUAL(p.n, want + 1);
    CU_ASSERT_EQUAL(p.order[want], -1);
    for (int i = 0; i < SOURCES; i++)
        close(p.fds[i]);
    loop_close(&l);
}

static void on_timer(gw_timer *t, void *arg)
{
    probe *p = arg;
    (void)t;
    p->turns++;
    loop_stop(p->l);
}

/* A timer wakes the poll (no source is readable) and may stop the loop. */
static void test_timer_wakes(void)
{
    loop l;
    init_loop(&l);
    probe p = {.l = &l};
    gw_timer t = {0};
    uint64_t start = clock_now_us();
    CU_ASSERT_EQUAL(loop_timer_start(&l, &t, start + 20000, on_timer, &p), 0);
    CU_ASSERT_EQUAL(loop_run(&l), 0);
    CU_ASSERT_EQUAL(p.turns, 1);
    CU_ASSERT(clock_now_us() >= start + 20000); /* not before it was due */
    loop_close(&l);
}

static int64_t before_poll(void *arg)
{
    probe *p = arg;
    if (++p->turns == 3)
        loop_stop(p->l);
    return 0; /* do not wait */
}

/* The before-poll hook runs every turn and may stop the loop: no poll
 * follows that would wait forever. */
static void test_before_poll_stops(void)
{
    loop l;
    init_loop(&l);
    probe p = {.l = &l};
    loop_on_timeout(&l, before_poll, &p);
    CU_ASSERT_EQUAL(loop_run(&l), 0);
    CU_ASSERT_EQUAL(p.turns, 3);
    loop_close(&l);
}

static void on_signal(int signo, void *arg)
{
    probe *p = arg;
    p->signo = signo;
    loop_stop(p->l);
}

/* SIGTERM, blocked as main does, arrives through the signalfd. */
static void test_signal(void)
{
    sigset_t set, old;
    signals_stop_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    loop l;
    init_loop(&l);
    probe p = {.l = &l};
    loop_on_signal(&l, on_signal, &p);
    pthread_kill(pthread_self(), SIGTERM); /* this thread: others keep the default */
    CU_ASSERT_EQUAL(loop_run(&l), 0);
    CU_ASSERT_EQUAL(p.signo, SIGTERM);
    loop_close(&l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

typedef struct swap_probe {
    loop *l;
    void *current, *next; /* the socket polled now, and its replacement */
    char got[2][8];
    int n;
} swap_probe;

static void on_swap_source(void *arg)
{
    swap_probe *p = arg;
    char buf[8] = "";
    if (zmq_recv(p->current, buf, sizeof(buf) - 1, ZMQ_DONTWAIT) < 0 || p->n >= 2)
        return;
    memcpy(p->got[p->n++], buf, sizeof(buf));
    if (p->n == 1) {
        /* Reopened, as an executor's link does: poll the new socket from now. */
        CU_ASSERT_EQUAL(loop_replace_socket(p->l, p->current, p->next), 0);
        p->current = p->next;
    } else {
        loop_stop(p->l);
    }
}

/* A source whose socket is replaced from its own callback is polled on the
 * new socket from the next turn; the old one is no longer polled. */
static void test_replace_socket(void)
{
    loop l;
    init_loop(&l);
    void *ctx = zmq_ctx_new();
    void *a_rx = zmq_socket(ctx, ZMQ_PAIR), *a_tx = zmq_socket(ctx, ZMQ_PAIR);
    void *b_rx = zmq_socket(ctx, ZMQ_PAIR), *b_tx = zmq_socket(ctx, ZMQ_PAIR);
    CU_ASSERT_EQUAL_FATAL(zmq_bind(a_rx, "inproc://loop-a"), 0);
    CU_ASSERT_EQUAL_FATAL(zmq_connect(a_tx, "inproc://loop-a"), 0);
    CU_ASSERT_EQUAL_FATAL(zmq_bind(b_rx, "inproc://loop-b"), 0);
    CU_ASSERT_EQUAL_FATAL(zmq_connect(b_tx, "inproc://loop-b"), 0);
    swap_probe p = {.l = &l, .current = a_rx, .next = b_rx};
    CU_ASSERT_EQUAL(loop_add_socket(&l, a_rx, on_swap_source, &p), 0);
    CU_ASSERT_EQUAL(loop_replace_socket(&l, b_tx, a_tx), -1); /* not a source */
    CU_ASSERT_EQUAL(zmq_send(a_tx, "a1", 2, 0), 2);
    CU_ASSERT_EQUAL(zmq_send(a_tx, "a2", 2, 0), 2); /* left unread on the old socket */
    CU_ASSERT_EQUAL(zmq_send(b_tx, "b1", 2, 0), 2);
    CU_ASSERT_EQUAL(loop_run(&l), 0);
    CU_ASSERT_EQUAL(p.n, 2);
    CU_ASSERT_STRING_EQUAL(p.got[0], "a1");
    CU_ASSERT_STRING_EQUAL(p.got[1], "b1");
    char buf[8] = "";
    CU_ASSERT_EQUAL(zmq_recv(a_rx, buf, sizeof(buf), ZMQ_DONTWAIT), 2);
    zmq_close(a_rx);
    zmq_close(a_tx);
    zmq_close(b_rx);
    zmq_close(b_tx);
    zmq_ctx_term(ctx);
    loop_close(&l);
}

static int64_t thread_cpu_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void spin_cpu_us(int64_t us)
{
    int64_t t0 = thread_cpu_us();
    while (thread_cpu_us() - t0 < us)
        ;
}

/* Turns 1 and 2 burn 35 ms of CPU, turn 2 marked exempt; turn 3 stops. */
static void on_overrun_turn(void *arg)
{
    probe *p = arg;
    p->turns++;
    if (p->turns == 3) {
        loop_stop(p->l);
        return;
    }
    spin_cpu_us(LOOP_OVERRUN_TURN_US + 5000);
    if (p->turns == 2)
        loop_exempt_turn(p->l);
}

static int64_t no_wait(void *arg)
{
    (void)arg;
    return 0;
}

/* A turn over LOOP_OVERRUN_TURN_US of CPU counts as an overrun (and as a
 * long and a slow turn) unless it was marked exempt, which only it is. */
static void test_overrun_turns(void)
{
    char err[128];
    loop l;
    CU_ASSERT_EQUAL_FATAL(loop_init(&l, err, sizeof(err)), 0);
    probe p = {.l = &l};
    CU_ASSERT_EQUAL(loop_on_turn(&l, on_overrun_turn, &p), 0);
    loop_on_timeout(&l, no_wait, NULL);
    CU_ASSERT_EQUAL(loop_run(&l), 0);
    CU_ASSERT_EQUAL(p.turns, 3);
    CU_ASSERT_EQUAL(l.stats.overrun_turns, 1);
    CU_ASSERT_EQUAL(l.stats.long_turns, 2);
    CU_ASSERT_EQUAL(l.stats.slow_turns, 2);
    CU_ASSERT(l.stats.turn_max_cpu_us > LOOP_OVERRUN_TURN_US);
    loop_close(&l);
}

UNIT_SUITE(loop, {"sources run in the order added, then the hooks", test_sources_in_order},
           {"a source's socket replaced from its callback", test_replace_socket},
           {"a timer wakes the poll", test_timer_wakes},
           {"the before-poll hook may stop the loop", test_before_poll_stops},
           {"SIGTERM through the signalfd", test_signal},
           {"overrun turns counted, exempt ones not", test_overrun_turns})
