/* fleet.h -- the executor table: who is connected, which queues each
 * serves with how many slots (its credit), which functions it offers on
 * each, and
 * when it was last heard from. Keyed by the ZeroMQ routing id of its
 * connection. Loop thread only.
 *
 * An executor is never freed where a caller may still hold it (the redis
 * freeClientAsync rule): fleet_mark_dead takes it out of the table and out
 * of its queues' capacity at once, so lookups and dispatch no longer see
 * it, and puts it on a dead list; whoever owns the loop turn reaps the dead
 * list once, at the end of the turn (fleet_next_dead, fleet_free_executor),
 * after the jobs still pointing at each were dealt with. */
#ifndef OFFLOAD_FLEET_H
#define OFFLOAD_FLEET_H

#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#include "codec.h"
#include "queue.h"
#include "wire.h"

struct gw_executor;

/* One pool of an executor, as its latest PoolStats told (proto: PoolStat). */
typedef struct gw_pool_stat {
    int kind; /* Offload__PoolKind */
    uint32_t size, alive, busy;
    uint64_t respawns, kills_deadline, kills_cancel, kills_memory, kills_recycle;
    uint64_t rss_bytes;
} gw_pool_stat;

/* One queue an executor serves. Holds a reference on its queue. */
typedef struct exec_slot {
    gw_queue *queue;
    struct gw_executor *executor;    /* whose slot it is */
    struct exec_slot *qprev, *qnext; /* queue->serving, while linked */
    uint32_t size;                   /* credit: at most this many of the queue's jobs in flight. The
                                        Hello's size, or for an executor that speaks Credit its
                                        latest allowance (0 until the first) */
    uint32_t declared;               /* the Hello's size (its pool): a Credit is capped at it */
    uint32_t busy;                   /* jobs in flight (running or abandoned) */
    uint32_t demand_sent;            /* the waiting count last told (Demand), credit only */
    uint64_t demand_us;              /* when */
    int kind;                        /* Offload__PoolKind */
    char **functions;                /* what the executor runs on this queue */
    size_t nfunctions;
    /* Its pool's latest PoolStat (pool_seen 0: none came yet), kept over a
     * second Hello that declares the queue with the same kind. */
    int pool_seen;
    gw_pool_stat pool;
} exec_slot;

typedef struct gw_executor {
    wire_rid rid;
    char id[CODEC_ID_MAX + 1];
    exec_slot *slots;
    size_t nslots;
    size_t nfunctions; /* over all its queues, for logs */
    uint32_t heartbeat_ms, liveness;
    uint64_t max_payload; /* the largest job payload it takes (Hello); 0: unknown,
                             taken as the gateway's --max-payload */
    uint64_t last_recv_us, last_send_us;
    size_t inflight;     /* jobs sent, not yet answered by a Result */
    uint64_t jobs_sent;  /* ever; dispatch's tie-break */
    int credit;          /* its Hello said credit: slot sizes come from its Credits,
                            and it is told our Demand */
    uint64_t credit_seq; /* of the last Credit applied (0: none yet) */
    int linked;          /* its slots count in their queues' totals */
    int draining;        /* sent Drain: no new jobs, its slots left the capacity */
    int dead;            /* marked dead: on the dead list, waiting to be reaped */
    int clean;           /* dead because it said Goodbye */
    char dead_reason[96];
    /* The seq of the last PoolStats applied (0: none yet), and when it came. */
    uint64_t pool_stats_seq, pool_stats_us;
    struct gw_executor *next_dead;
    UT_hash_handle hh;
} gw_executor;

typedef struct fleet {
    gw_executor *by_rid;  /* uthash head: live executors */
    size_t count;         /* live executors */
    gw_executor *dead;    /* marked dead, not yet reaped */
    uint64_t max_payload; /* the gateway's --max-payload (0: none): an executor
                             that takes less counts in its queues' `limited` */
} fleet;

/* What one Hello may ask of the gateway (fleet_check_hello). */
typedef struct fleet_limits {
    size_t max_executors;    /* registered at once (--max-executors) */
    size_t max_functions;    /* per Hello, over all its queues (--max-functions) */
    uint64_t max_silence_ms; /* heartbeat_ms x liveness (--max-silence-ms) */
} fleet_limits;

/* Checks hello from the peer at rid against lim and the queue table's
 * bound (a Hello that would make more queues than qt allows), with
 * heartbeat_ms/liveness defaulted as fleet_register does. Returns 0, or -1
 * with msg saying which bound and which flag (what a Refuse(REFUSE_LIMIT)
 * carries) and *what set to a short name for logs ("executors", "queues",
 * "functions", "silence"). A known executor saying Hello again is not
 * counted as a new one. The bounds are checked in that order: functions,
 * silence (the Hello's own), then executors and queues (what others hold). */
int fleet_check_hello(fleet *f, const queue_table *qt, const wire_rid *rid,
                      const Offload__Hello *hello, const fleet_limits *lim,
                      uint32_t default_heartbeat_ms, uint32_t default_liveness, const char **what,
                      char *msg, size_t msglen);

/* True if e takes a job with a payload of len bytes. */
static inline int executor_accepts(const gw_executor *e, size_t len)
{
    return !e->max_payload || len <= e->max_payload;
}

/* The live executor at rid, or NULL. */
gw_executor *fleet_find(fleet *f, const wire_rid *rid);

/* Registers (or re-registers) the executor at rid from its Hello, creating
 * its queues in qt as needed and adding its slots to their capacity. A
 * re-registration keeps the busy count of queues it still declares, and a
 * drain (a draining executor that says Hello again stays out of service).
 * An executor whose Hello says credit starts each queue at 0 slots (a
 * re-registration keeps its allowance), until its Credit.
 * heartbeat_ms/liveness fall back to the given defaults when the Hello has
 * 0. Returns the executor, or NULL when out of memory or out of queues. */
gw_executor *fleet_register(fleet *f, queue_table *qt, const wire_rid *rid,
                            const Offload__Hello *hello, uint32_t default_heartbeat_ms,
                            uint32_t default_liveness, uint64_t now_us);

/* Applies e's PoolStats ps (decoded, so each entry is valid on its own):
 * every listed queue must be one e declared, of the kind it declared.
 * All or nothing: returns 0 with each listed slot's pool set (queues not
 * listed keep theirs), or -1 with why set and nothing changed. */
int fleet_set_pool_stats(gw_executor *e, const Offload__PoolStats *ps, uint64_t now_us, char *why,
                         size_t whylen);

/* Sets e's slot s to slots (a Credit), capped at its declared size, and
 * its queue's capacity with it. Ignored while e drains (its slots are out
 * of service). Returns the slot's new size. */
uint32_t fleet_set_credit(fleet *f, gw_executor *e, exec_slot *s, uint32_t slots);

/* Takes e out of service for new jobs (it sent Drain): its slots, busy or
 * not, leave their queues' totals at once, so the other executors' free
 * slots are dispatched to; its jobs in flight are counted on e alone until
 * their Results. */
void fleet_drain(fleet *f, gw_executor *e);

/* Marks e dead (once; later calls do nothing): it leaves the table and its
 * slots leave their queues' capacity now; it stays allocated, on the dead
 * list, until reaped. why is kept for the reaper's log line; clean says it
 * left with a Goodbye. */
void fleet_mark_dead(fleet *f, gw_executor *e, const char *why, int clean);

/* Takes the next executor off the dead list, or NULL. The caller deals
 * with the jobs pointing at it, then frees it with fleet_free_executor. */
gw_executor *fleet_next_dead(fleet *f);

void fleet_free_executor(gw_executor *e);

/* Frees every executor, live and dead. */
void fleet_free(fleet *f);

/* e's slot for q, or NULL. */
exec_slot *executor_slot(gw_executor *e, const gw_queue *q);

/* True if slot s (an executor's queue) offers the function. */
int slot_offers(const exec_slot *s, const char *function);

/* The pool kind of q's live executors: "threads", "processes", "mixed",
 * or NULL when none serves it. This and fleet_queue_offers look at q's own
 * executors (q->serving), never the whole fleet. */
const char *fleet_queue_kind(fleet *f, const gw_queue *q);

/* True if some live executor serving q offers the function. */
int fleet_queue_offers(fleet *f, const gw_queue *q, const char *function);

/* The largest payload some live executor serving q takes (Hello's
 * max_payload): f->max_payload when one takes all the gateway takes
 * (q->limited < q->executors, O(1)); else the largest of their limits (a
 * walk over the fleet). 0 when no executor serves q. */
uint64_t fleet_queue_max_payload(fleet *f, const gw_queue *q);

#endif
