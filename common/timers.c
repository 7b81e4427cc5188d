/* timers.c -- see timers.h. */
#include "timers.h"

#include <errno.h>
#include <stdlib.h>

void timers_init(timers *ts)
{
    ts->heap = NULL;
    ts->count = ts->cap = 0;
}

void timers_free(timers *ts)
{
    free(ts->heap);
    timers_init(ts);
}

static void timers_set(timers *ts, size_t i, gw_timer *t)
{
    ts->heap[i] = t;
    t->index = i + 1;
}

static void timers_up(timers *ts, size_t i)
{
    gw_timer *t = ts->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (ts->heap[parent]->due_us <= t->due_us)
            break;
        timers_set(ts, i, ts->heap[parent]);
        i = parent;
    }
    timers_set(ts, i, t);
}

static void timers_down(timers *ts, size_t i)
{
    gw_timer *t = ts->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= ts->count)
            break;
        if (child + 1 < ts->count && ts->heap[child + 1]->due_us < ts->heap[child]->due_us)
            child++;
        if (t->due_us <= ts->heap[child]->due_us)
            break;
        timers_set(ts, i, ts->heap[child]);
        i = child;
    }
    timers_set(ts, i, t);
}

void timers_stop(timers *ts, gw_timer *t)
{
    if (!t->index)
        return;
    size_t i = t->index - 1;
    t->index = 0;
    gw_timer *last = ts->heap[--ts->count];
    if (i == ts->count)
        return;
    timers_set(ts, i, last);
    timers_up(ts, i);
    timers_down(ts, last->index - 1);
}

int timers_start(timers *ts, gw_timer *t, uint64_t due_us, timer_fn fn, void *arg)
{
    timers_stop(ts, t);
    if (ts->count == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 64;
        gw_timer **heap = realloc(ts->heap, cap * sizeof(*heap));
        if (!heap)
            return -ENOMEM;
        ts->heap = heap;
        ts->cap = cap;
    }
    t->due_us = due_us;
    t->fn = fn;
    t->arg = arg;
    timers_set(ts, ts->count++, t);
    timers_up(ts, ts->count - 1);
    return 0;
}

int timers_run(timers *ts, uint64_t now_us)
{
    int ran = 0;
    while (ts->count && ts->heap[0]->due_us <= now_us) {
        gw_timer *t = ts->heap[0];
        timers_stop(ts, t);
        t->fn(t, t->arg);
        ran++;
    }
    return ran;
}

int64_t timers_next_in(const timers *ts, uint64_t now_us)
{
    if (!ts->count)
        return -1;
    uint64_t due = ts->heap[0]->due_us;
    return due <= now_us ? 0 : (int64_t)(due - now_us);
}

uint64_t timers_next_due(const timers *ts)
{
    return ts->count ? ts->heap[0]->due_us : 0;
}
