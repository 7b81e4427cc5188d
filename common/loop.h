/* loop.h -- the event loop of the gateway and of the executor: one zmq_poll
 * over the sources that modules register (ZeroMQ sockets and plain fds), a
 * timer heap woken by a timerfd, SIGINT/SIGTERM through a signalfd, and
 * hooks that run at the end of every turn (where deferred work, like
 * reaping dead executors, is done).
 *
 * One thread runs the loop and owns everything its callbacks touch: no
 * locks. SIGINT and SIGTERM must be blocked in every thread before loop_init
 * (see signals_block in common/signals.h). */
#ifndef OFFLOAD_LOOP_H
#define OFFLOAD_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "timers.h"

#define LOOP_HOOKS_MAX 4

/* Defaults of the work one source may do in one turn (loop_set_budget). */
#define LOOP_BUDGET_US_DEFAULT 1000
#define LOOP_BUDGET_BYTES_DEFAULT (1 << 20)
/* A turn that does more work than this is slow (loop_stats.slow_turns). */
#define LOOP_SLOW_TURN_US 10000
/* One that does more than this is long (loop_stats.long_turns): while long
 * turns take under 1% of the time, a request that needs two turns waits
 * under 10 ms at p99 (what the loop itself adds). */
#define LOOP_LONG_TURN_US 5000
/* One that does more than this, other than a turn marked loop_exempt_turn,
 * overran (loop_stats.overrun_turns). Under the tests' floods the longest
 * turn took 23 ms of CPU, most of it the first touch of a heap the flood
 * grew by 300 MB in 4 s; reading a socket's whole backlog in one turn took
 * over 60 ms. The tests assert no overrun during each flood, on the loop's
 * own CPU clock with 3x headroom over the longest turn measured, where a
 * share of the time would be the machine's weather. */
#define LOOP_OVERRUN_TURN_US 75000
/* A loop that wakes this late, or a turn this long, is a stall: logged as
 * event=loop_stall ms=N and counted. */
#define LOOP_STALL_US 100000

typedef void (*loop_fn)(void *arg);
typedef void (*loop_signal_fn)(int signo, void *arg);
/* Microseconds until a source needs a call without being readable, or -1. */
typedef int64_t (*loop_timeout_fn)(void *arg);

typedef struct loop_source {
    void *socket; /* a ZeroMQ socket, or NULL for fd */
    int fd;
    loop_fn fn; /* called when readable */
    void *arg;
} loop_source;

typedef struct loop_hook {
    loop_fn fn;
    void *arg;
} loop_hook;

/* What the loop measures about its own turns (a turn: from the poll's return
 * to the end of the last hook). Wall time includes the time the OS ran other
 * processes; the CPU figure is the thread's own CPU time, read at most about
 * once a millisecond, so it may count up to 1 ms of the turns before. */
typedef struct loop_stats {
    uint64_t turns;
    uint64_t busy_us;         /* wall time spent in turns, all together */
    uint64_t turn_max_us;     /* the longest turn, wall time */
    uint64_t turn_max_cpu_us; /* the most CPU one turn took (see above) */
    uint64_t slow_turns;      /* turns that took over LOOP_SLOW_TURN_US of CPU */
    uint64_t long_turns;      /* turns that took over LOOP_LONG_TURN_US of CPU */
    uint64_t long_turns_us;   /* their CPU time, all together */
    uint64_t overrun_turns;   /* turns over LOOP_OVERRUN_TURN_US of CPU, exempt ones aside */
    uint64_t budget_stops;    /* times a source stopped with its budget spent */
    uint64_t read_max_bytes;  /* the most one source read in one turn (budgeted ones) */
    uint64_t stalls;          /* woke LOOP_STALL_US late, or a turn that long */
    uint64_t stall_max_us;
} loop_stats;

typedef struct loop {
    timers timers;
    int timer_fd;            /* armed for the earliest timer */
    uint64_t timer_armed_us; /* what timer_fd is armed for; 0: disarmed */
    int signal_fd;
    loop_signal_fn on_signal;
    void *signal_arg;
    loop_source *sources; /* grown by loop_add_* */
    size_t nsources;
    zmq_pollitem_t *items; /* one per source, then the timerfd and signalfd */
    loop_hook hooks[LOOP_HOOKS_MAX];
    size_t nhooks;
    loop_timeout_fn timeout_fn;
    void *timeout_arg;
    int stopping;
    int again;          /* loop_again: the next poll returns at once */
    int exempt;         /* loop_exempt_turn: this turn is not an overrun */
    uint64_t budget_us; /* per source per turn; see loop_set_budget */
    size_t budget_bytes;
    uint64_t cpu_mark_us; /* the thread's CPU time at wall time cpu_mark_wall_us */
    uint64_t cpu_mark_wall_us;
    loop_stats stats;
} loop;

/* The work one source may do in one turn (loop_budget_start). */
typedef struct loop_budget {
    loop *l;
    uint64_t until_us;
    size_t used; /* bytes spent this turn, also past the budget */
    int spent;   /* the budget ran out this turn (counted once) */
} loop_budget;

/* Creates the timerfd and the signalfd. Returns 0, or -1 with err set. */
int loop_init(loop *l, char *err, size_t errlen);

/* Closes the fds and frees the timer heap (not the timers). Safe twice. */
void loop_close(loop *l);

/* Registers a source polled for readability, in the order added (which is
 * the order their callbacks run in a turn). Before loop_run, not from a
 * callback. Returns 0, or -1 when out of memory. */
int loop_add_socket(loop *l, void *socket, loop_fn fn, void *arg);
int loop_add_fd(loop *l, int fd, loop_fn fn, void *arg);

/* Polls socket new_socket where old_socket was (same callback and place),
 * for a source that reopened its socket. May be called from a callback:
 * the turn in progress may still call that source's callback once.
 * Returns 0, or -1 when old_socket is not a source. */
int loop_replace_socket(loop *l, void *old_socket, void *new_socket);

/* fn(signo, arg) for each SIGINT or SIGTERM. */
void loop_on_signal(loop *l, loop_signal_fn fn, void *arg);

/* fn(arg) at the end of every turn, after the sources and the timers, in
 * the order added. Returns 0 or -1 when LOOP_HOOKS_MAX are registered. */
int loop_on_turn(loop *l, loop_fn fn, void *arg);

/* A source that needs calls on its own schedule (MHD's connection
 * timeouts, the executor's heartbeats): fn(arg) runs before every poll,
 * which then waits at most the microseconds it returns (-1: no limit). It
 * may stop the loop. One only. */
void loop_on_timeout(loop *l, loop_timeout_fn fn, void *arg);

/* Timers on the loop's heap (see timers.h). */
int loop_timer_start(loop *l, gw_timer *t, uint64_t due_us, timer_fn fn, void *arg);
void loop_timer_stop(loop *l, gw_timer *t);

/* Sets what one source may do in one turn before it yields to the others:
 * us microseconds and bytes bytes (0: the defaults above). */
void loop_set_budget(loop *l, uint64_t us, size_t bytes);

/* A source's callback starts its budget for this turn, then calls
 * loop_budget_spend after each unit of work (a message and its size): it
 * returns 1 while the source may go on, 0 once its time or bytes are spent
 * (it should return then; a ZeroMQ socket with messages left makes the next
 * poll return at once, so the rest is read next turn, after the other
 * sources, the timers and the hooks had theirs). A source that cannot stop
 * at once (HTTP: MHD hands over what it already read) may go on calling
 * it: it returns 0, counts the bytes in loop_stats.read_max_bytes and the
 * stop only once. */
void loop_budget_start(loop *l, loop_budget *b);
int loop_budget_spend(loop_budget *b, size_t bytes);

/* The turn in progress does long work by design, at a time chosen for it
 * (the gateway's heap trim, in a quiet second): it is measured like any
 * other, but never counted in loop_stats.overrun_turns. */
void loop_exempt_turn(loop *l);

/* Runs turns until loop_stop. Returns 0, or -1 if polling failed. */
int loop_run(loop *l);

/* Ends loop_run after the current turn. */
void loop_stop(loop *l);

/* The next poll does not wait: work was left for the next turn (a hook
 * that stopped at its budget). */
void loop_again(loop *l);

#endif
