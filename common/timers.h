/* timers.h -- a binary min-heap of timers for the gateway's loop: job
 * deadlines, /v1/delay waits, heartbeat ticks.
 *
 * A timer is embedded in its owner (no allocation per start); the heap
 * holds pointers. Loop thread only. */
#ifndef OFFLOAD_TIMERS_H
#define OFFLOAD_TIMERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_timer gw_timer;
typedef void (*timer_fn)(gw_timer *t, void *arg);

struct gw_timer {
    uint64_t due_us; /* monotonic, see clock.h */
    size_t index;    /* position in the heap + 1; 0 while not started */
    timer_fn fn;
    void *arg;
};

typedef struct timers {
    gw_timer **heap;
    size_t count, cap;
} timers;

void timers_init(timers *ts);
void timers_free(timers *ts); /* frees the heap, not the timers */

/* Starts (or restarts) t to fire at due_us. Returns 0 or -ENOMEM. */
int timers_start(timers *ts, gw_timer *t, uint64_t due_us, timer_fn fn, void *arg);

/* Stops t if started; safe to call on a stopped timer. */
void timers_stop(timers *ts, gw_timer *t);

static inline int timer_active(const gw_timer *t)
{
    return t->index != 0;
}

/* Runs every timer due at or before now_us, earliest first; a callback may
 * start or stop any timer (itself included). Returns how many ran. */
int timers_run(timers *ts, uint64_t now_us);

/* When the earliest timer is due (monotonic us), or 0 if none. */
uint64_t timers_next_due(const timers *ts);

/* Microseconds until the earliest timer (0 if overdue), or -1 if none. */
int64_t timers_next_in(const timers *ts, uint64_t now_us);

#endif
