/* poolstats.c -- PoolStats on the links, see poolstats.h: owns the
 * snapshot (executor_state.h's pool_stats*) and each link's pool_stats_*
 * fields. */
#include "poolstats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "outgoing.h"

int poolstats_init(executor *x)
{
    size_t n = x->cfg->nqueues ? x->cfg->nqueues : 1;
    x->pool_stats = calloc(n, sizeof(*x->pool_stats));
    x->pool_stats_base = calloc(n, sizeof(*x->pool_stats_base));
    x->pool_stat_ptrs = calloc(n, sizeof(*x->pool_stat_ptrs));
    if (!x->pool_stats || !x->pool_stats_base || !x->pool_stat_ptrs)
        return -ENOMEM;
    for (size_t i = 0; i < x->cfg->nqueues; i++) {
        offload__pool_stat__init(&x->pool_stats[i]);
        x->pool_stat_ptrs[i] = &x->pool_stats[i];
    }
    return 0;
}

void poolstats_free(executor *x)
{
    free(x->pool_stats);
    free(x->pool_stats_base);
    free(x->pool_stat_ptrs);
    x->pool_stats = x->pool_stats_base = NULL;
    x->pool_stat_ptrs = NULL;
}

void poolstats_on_welcome(executor *x, exec_link *l, int takes)
{
    (void)x;
    l->pool_stats = takes;
    l->pool_stats_sent_us = 0; /* due at once */
}

static uint32_t poolstats_u32(size_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void poolstats_fill(Offload__PoolStat *st, const char *name, pool *p)
{
    pool_stats ps;
    pool_get_stats(p, &ps);
    st->queue = (char *)name;
    st->kind = pool_kind_of(p) == POOL_PROCESSES ? OFFLOAD__POOL_KIND__POOL_PROCESSES
                                                 : OFFLOAD__POOL_KIND__POOL_THREADS;
    st->size = pool_size(p);
    /* Clamped to the size, as the gateway checks: a thread counted alive
     * as it starts is within max already, but say so for every reader. */
    st->alive = poolstats_u32(ps.alive) > st->size ? st->size : poolstats_u32(ps.alive);
    st->busy = poolstats_u32(ps.running) > st->size ? st->size : poolstats_u32(ps.running);
    st->respawns = ps.respawns;
    st->kills_deadline = ps.kills_deadline;
    st->kills_cancel = ps.kills_cancel;
    st->kills_memory = ps.kills_memory;
    st->kills_recycle = ps.kills_recycle;
    st->rss_bytes = pool_rss_bytes(p);
}

/* True if a differs from the baseline b enough to tell the gateways. */
static int poolstats_differ(const Offload__PoolStat *a, const Offload__PoolStat *b)
{
    uint64_t drss =
        a->rss_bytes > b->rss_bytes ? a->rss_bytes - b->rss_bytes : b->rss_bytes - a->rss_bytes;
    return a->alive != b->alive || a->busy != b->busy || a->respawns != b->respawns ||
           a->kills_deadline != b->kills_deadline || a->kills_cancel != b->kills_cancel ||
           a->kills_memory != b->kills_memory || a->kills_recycle != b->kills_recycle ||
           drss >= POOLSTATS_RSS_STEP || (!a->rss_bytes != !b->rss_bytes);
}

static void poolstats_snapshot(executor *x)
{
    int changed = !x->pool_stats_version; /* the first one */
    for (size_t i = 0; i < x->cfg->nqueues; i++) {
        poolstats_fill(&x->pool_stats[i], x->cfg->queues[i].name, x->queues[i].pool);
        if (poolstats_differ(&x->pool_stats[i], &x->pool_stats_base[i]))
            changed = 1;
    }
    if (changed) {
        memcpy(x->pool_stats_base, x->pool_stats, x->cfg->nqueues * sizeof(*x->pool_stats));
        x->pool_stats_version++;
    }
}

static void poolstats_send(executor *x, exec_link *l, uint64_t now)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__PoolStats ps = OFFLOAD__POOL_STATS__INIT;
    ps.n_pools = x->cfg->nqueues;
    ps.pools = x->pool_stat_ptrs;
    ps.seq = l->pool_stats_seq + 1;
    env.body_case = OFFLOAD__ENVELOPE__BODY_POOL_STATS;
    env.pool_stats = &ps;
    uint64_t last_send = l->last_send_us; /* not a heartbeat: see poolstats.h */
    int rc = outgoing_send(x, l, &env);
    l->last_send_us = last_send;
    /* A failure is retried in one interval, not in a spin. */
    l->pool_stats_sent_us = now;
    if (rc < 0)
        return;
    l->pool_stats_seq = ps.seq;
    l->pool_stats_version = x->pool_stats_version;
    x->stats.pool_stats_sent++;
}

static int poolstats_link_takes(const exec_link *l)
{
    return l->pool_stats && l->state == LINK_REGISTERED;
}

uint64_t poolstats_tick(executor *x, uint64_t now)
{
    uint64_t period = (uint64_t)x->cfg->pool_stats_ms * 1000, next = UINT64_MAX;
    if (!period)
        return UINT64_MAX;
    int any = 0;
    for (size_t i = 0; i < x->nlinks && !any; i++)
        any = poolstats_link_takes(x->links[i]);
    if (!any)
        return UINT64_MAX;
    if (!x->pool_stats_version || now >= x->pool_stats_next_us) {
        poolstats_snapshot(x);
        x->pool_stats_next_us = now + period;
    }
    next = x->pool_stats_next_us;
    for (size_t i = 0; i < x->nlinks; i++) {
        exec_link *l = x->links[i];
        if (!poolstats_link_takes(l))
            continue;
        uint64_t since = now - l->pool_stats_sent_us;
        int fresh = !l->pool_stats_sent_us;
        int changed = l->pool_stats_version != x->pool_stats_version;
        if (fresh || (changed && since >= period) || since >= POOLSTATS_RESEND * period)
            poolstats_send(x, l, now);
        else if (changed && l->pool_stats_sent_us + period < next)
            next = l->pool_stats_sent_us + period;
    }
    return next;
}
