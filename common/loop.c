/* loop.c -- see loop.h. */
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "log.h"
#include "signals.h"

enum { LOOP_EXTRA = 2 }; /* poll items after the sources': the timerfd, the signalfd */

/* The thread's CPU clock is a system call (about 2 us on a VM, 60 times the
 * monotonic clock), so it is read at the start of a turn at most once per
 * this much wall time, and at the end of turns at least this long. */
#define LOOP_CPU_SAMPLE_US 1000

/* Writes the timerfd's and the signalfd's items after the sources'. */
static void loop_set_extra(loop *l)
{
    l->items[l->nsources] = (zmq_pollitem_t){NULL, l->timer_fd, ZMQ_POLLIN, 0};
    l->items[l->nsources + 1] = (zmq_pollitem_t){NULL, l->signal_fd, ZMQ_POLLIN, 0};
}

int loop_init(loop *l, char *err, size_t errlen)
{
    memset(l, 0, sizeof(*l));
    l->signal_fd = l->timer_fd = -1;
    timers_init(&l->timers);
    sigset_t mask;
    signals_stop_set(&mask);
    l->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    l->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (l->signal_fd < 0 || l->timer_fd < 0) {
        snprintf(err, errlen, "signalfd/timerfd: %s", strerror(errno));
        loop_close(l);
        return -1;
    }
    l->items = calloc(LOOP_EXTRA, sizeof(*l->items));
    if (!l->items) {
        snprintf(err, errlen, "out of memory");
        loop_close(l);
        return -1;
    }
    loop_set_extra(l);
    loop_set_budget(l, 0, 0);
    return 0;
}

void loop_close(loop *l)
{
    free(l->sources);
    free(l->items);
    l->sources = NULL;
    l->items = NULL;
    l->nsources = 0;
    if (l->signal_fd >= 0)
        close(l->signal_fd);
    if (l->timer_fd >= 0)
        close(l->timer_fd);
    l->signal_fd = l->timer_fd = -1;
    timers_free(&l->timers);
}

/* The poll items are built here, once per source, not on every turn. */
static int loop_add(loop *l, void *socket, int fd, loop_fn fn, void *arg)
{
    loop_source *s = realloc(l->sources, (l->nsources + 1) * sizeof(*s));
    if (!s)
        return -1;
    l->sources = s;
    zmq_pollitem_t *items = realloc(l->items, (l->nsources + 1 + LOOP_EXTRA) * sizeof(*items));
    if (!items)
        return -1;
    l->items = items;
    l->sources[l->nsources] = (loop_source){.socket = socket, .fd = fd, .fn = fn, .arg = arg};
    l->items[l->nsources] = (zmq_pollitem_t){socket, fd, ZMQ_POLLIN, 0};
    l->nsources++;
    loop_set_extra(l);
    return 0;
}

int loop_add_socket(loop *l, void *socket, loop_fn fn, void *arg)
{
    return loop_add(l, socket, -1, fn, arg);
}

int loop_add_fd(loop *l, int fd, loop_fn fn, void *arg)
{
    return loop_add(l, NULL, fd, fn, arg);
}

int loop_replace_socket(loop *l, void *old_socket, void *new_socket)
{
    for (size_t i = 0; i < l->nsources; i++)
        if (l->sources[i].socket == old_socket) {
            l->sources[i].socket = new_socket;
            l->items[i].socket = new_socket;
            l->items[i].revents = 0;
            return 0;
        }
    return -1;
}

void loop_on_signal(loop *l, loop_signal_fn fn, void *arg)
{
    l->on_signal = fn;
    l->signal_arg = arg;
}

int loop_on_turn(loop *l, loop_fn fn, void *arg)
{
    if (l->nhooks >= LOOP_HOOKS_MAX)
        return -1;
    l->hooks[l->nhooks++] = (loop_hook){.fn = fn, .arg = arg};
    return 0;
}

void loop_on_timeout(loop *l, loop_timeout_fn fn, void *arg)
{
    l->timeout_fn = fn;
    l->timeout_arg = arg;
}

int loop_timer_start(loop *l, gw_timer *t, uint64_t due_us, timer_fn fn, void *arg)
{
    return timers_start(&l->timers, t, due_us, fn, arg);
}

void loop_timer_stop(loop *l, gw_timer *t)
{
    timers_stop(&l->timers, t);
}

void loop_stop(loop *l)
{
    l->stopping = 1;
}

void loop_again(loop *l)
{
    l->again = 1;
}

void loop_exempt_turn(loop *l)
{
    l->exempt = 1;
}

void loop_set_budget(loop *l, uint64_t us, size_t bytes)
{
    l->budget_us = us ? us : LOOP_BUDGET_US_DEFAULT;
    l->budget_bytes = bytes ? bytes : LOOP_BUDGET_BYTES_DEFAULT;
}

void loop_budget_start(loop *l, loop_budget *b)
{
    b->l = l;
    b->until_us = clock_now_us() + l->budget_us;
    b->used = 0;
    b->spent = 0;
}

int loop_budget_spend(loop_budget *b, size_t bytes)
{
    b->used += bytes;
    if (b->used > b->l->stats.read_max_bytes)
        b->l->stats.read_max_bytes = b->used;
    if (b->spent)
        return 0;
    if (b->used >= b->l->budget_bytes || clock_now_us() >= b->until_us) {
        b->spent = 1;
        b->l->stats.budget_stops++;
        return 0;
    }
    return 1;
}

static uint64_t loop_cpu_now_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void loop_stall(loop *l, uint64_t us, const char *where)
{
    l->stats.stalls++;
    if (us > l->stats.stall_max_us)
        l->stats.stall_max_us = us;
    log_warn("event=loop_stall ms=%llu where=%s", (unsigned long long)(us / 1000), where);
}

/* The start of a turn: a wake-up far later than the poll was asked to
 * return (the process was stopped, or not scheduled) is a stall; and a CPU
 * clock mark no older than LOOP_CPU_SAMPLE_US (see loop_turn_end). */
static void loop_turn_start(loop *l, uint64_t expect_us, uint64_t start_us)
{
    if (expect_us && start_us > expect_us + LOOP_STALL_US)
        loop_stall(l, start_us - expect_us, "late");
    if (start_us - l->cpu_mark_wall_us >= LOOP_CPU_SAMPLE_US) {
        l->cpu_mark_us = loop_cpu_now_us();
        l->cpu_mark_wall_us = start_us;
    }
}

/* The end of a turn: its wall time, and for a turn of LOOP_CPU_SAMPLE_US
 * or more, the CPU time since the mark (taken at most LOOP_CPU_SAMPLE_US of
 * wall time before the turn began): a bound on its own CPU time that does
 * not grow when the OS runs other processes meanwhile. */
static void loop_turn_end(loop *l, uint64_t start_us, uint64_t end_us)
{
    loop_stats *s = &l->stats;
    uint64_t wall = end_us - start_us, cpu = wall;
    s->turns++;
    s->busy_us += wall;
    if (wall > s->turn_max_us)
        s->turn_max_us = wall;
    if (wall >= LOOP_CPU_SAMPLE_US) {
        uint64_t now = loop_cpu_now_us();
        if (now >= l->cpu_mark_us && now - l->cpu_mark_us < cpu)
            cpu = now - l->cpu_mark_us;
        l->cpu_mark_us = now;
        l->cpu_mark_wall_us = end_us;
    }
    if (cpu > s->turn_max_cpu_us)
        s->turn_max_cpu_us = cpu;
    if (cpu > LOOP_LONG_TURN_US) {
        s->long_turns++;
        s->long_turns_us += cpu;
    }
    if (cpu > LOOP_SLOW_TURN_US)
        s->slow_turns++;
    if (cpu > LOOP_OVERRUN_TURN_US && !l->exempt)
        s->overrun_turns++;
    l->exempt = 0;
    if (wall >= LOOP_STALL_US)
        loop_stall(l, wall, "turn");
}

/* Arms the timerfd for the earliest timer, if that changed. A timerfd
 * wakes the loop with microsecond precision; a poll timeout would round to
 * milliseconds and make every /v1/delay and deadline up to 1 ms late. */
static void loop_arm_timer(loop *l)
{
    uint64_t due = timers_next_due(&l->timers);
    if (due == l->timer_armed_us)
        return;
    struct itimerspec its = {0};
    if (due) {
        its.it_value.tv_sec = (time_t)(due / 1000000);
        its.it_value.tv_nsec = (long)(due % 1000000) * 1000;
        if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
            its.it_value.tv_nsec = 1; /* zero would disarm */
    }
    timerfd_settime(l->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
    l->timer_armed_us = due;
}

static void loop_read_signals(loop *l)
{
    struct signalfd_siginfo si;
    while (read(l->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        if (l->on_signal)
            l->on_signal((int)si.ssi_signo, l->signal_arg);
}

int loop_run(loop *l)
{
    zmq_pollitem_t *items = l->items;
    while (!l->stopping) {
        loop_arm_timer(l);
        long timeout_ms = -1;
        if (l->timeout_fn) {
            int64_t us = l->timeout_fn(l->timeout_arg);
            if (l->stopping)
                break; /* the hook did the last work */
            timeout_ms = us < 0 ? -1 : (long)((us + 999) / 1000);
        }
        if (l->again) {
            timeout_ms = 0;
            l->again = 0;
        }
        size_t n = l->nsources; /* callbacks add no sources */
        /* The latest the poll should return: the earliest timer, or the
         * timeout; 0 when it may wait for ever. */
        uint64_t before = clock_now_us(), expect = timers_next_due(&l->timers);
        if (expect && expect < before)
            expect = before;
        if (timeout_ms >= 0 && (!expect || before + (uint64_t)timeout_ms * 1000 < expect))
            expect = before + (uint64_t)timeout_ms * 1000;
        if (zmq_poll(items, (int)(n + LOOP_EXTRA), timeout_ms) < 0 && errno != EINTR) {
            log_error("event=poll_failed error=\"%s\"", zmq_strerror(errno));
            return -1;
        }
        uint64_t start = clock_now_us();
        loop_turn_start(l, expect, start);
        for (size_t i = 0; i < n; i++)
            if (items[i].revents & ZMQ_POLLIN)
                l->sources[i].fn(l->sources[i].arg);
        if (items[n].revents & ZMQ_POLLIN) {
            uint64_t expirations;
            ssize_t rc = read(l->timer_fd, &expirations, sizeof(expirations));
            (void)rc;
            l->timer_armed_us = 0; /* fired: re-arm on the next turn */
        }
        if (items[n + 1].revents & ZMQ_POLLIN)
            loop_read_signals(l);
        timers_run(&l->timers, clock_now_us());
        for (size_t i = 0; i < l->nhooks; i++)
            l->hooks[i].fn(l->hooks[i].arg);
        loop_turn_end(l, start, clock_now_us());
    }
    return 0;
}
