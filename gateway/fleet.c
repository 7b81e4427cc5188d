/* fleet.c -- see fleet.h. */
#include "fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

gw_executor *fleet_find(fleet *f, const wire_rid *rid)
{
    gw_executor *e = NULL;
    HASH_FIND(hh, f->by_rid, rid->bytes, rid->len, e);
    return e;
}

exec_slot *executor_slot(gw_executor *e, const gw_queue *q)
{
    for (size_t i = 0; i < e->nslots; i++)
        if (e->slots[i].queue == q)
            return &e->slots[i];
    return NULL;
}

int slot_offers(const exec_slot *s, const char *function)
{
    for (size_t i = 0; i < s->nfunctions; i++)
        if (!strcmp(s->functions[i], function))
            return 1;
    return 0;
}

const char *fleet_queue_kind(fleet *f, const gw_queue *q)
{
    int threads = 0, processes = 0;
    exec_slot *s;
    (void)f;
    for (s = q->serving; s; s = s->qnext) {
        if (s->kind == OFFLOAD__POOL_KIND__POOL_PROCESSES)
            processes = 1;
        else
            threads = 1;
    }
    return threads && processes ? "mixed" : processes ? "processes" : threads ? "threads" : NULL;
}

int fleet_queue_offers(fleet *f, const gw_queue *q, const char *function)
{
    (void)f;
    for (exec_slot *s = q->serving; s; s = s->qnext)
        if (slot_offers(s, function))
            return 1;
    return 0;
}

uint64_t fleet_queue_max_payload(fleet *f, const gw_queue *q)
{
    if (!q->executors)
        return 0;
    uint64_t all = f->max_payload ? f->max_payload : UINT64_MAX;
    if (q->limited < q->executors)
        return all;
    uint64_t max = 0;
    for (const exec_slot *s = q->serving; s; s = s->qnext) {
        uint64_t m = s->executor->max_payload ? s->executor->max_payload : all;
        if (m > max)
            max = m;
    }
    return max;
}

/* True if e takes smaller payloads than the gateway. */
static int executor_limited(const fleet *f, const gw_executor *e)
{
    return e->max_payload && (!f->max_payload || e->max_payload < f->max_payload);
}

/* Adds e's slots to their queues' totals and serving lists. */
static void executor_link_slots(fleet *f, gw_executor *e)
{
    if (e->linked)
        return;
    int limited = executor_limited(f, e);
    for (size_t i = 0; i < e->nslots; i++) {
        exec_slot *s = &e->slots[i];
        gw_queue *q = s->queue;
        q->capacity += s->size;
        q->busy += s->busy;
        q->executors++;
        DL_APPEND2(q->serving, s, qprev, qnext);
        q->limited += (uint32_t)limited;
    }
    e->linked = 1;
}

/* Takes e's slots out of their queues' totals and serving lists. */
static void executor_unlink_slots(fleet *f, gw_executor *e)
{
    if (!e->linked)
        return;
    int limited = executor_limited(f, e);
    for (size_t i = 0; i < e->nslots; i++) {
        exec_slot *s = &e->slots[i];
        gw_queue *q = s->queue;
        q->capacity -= s->size;
        q->busy -= s->busy;
        q->executors--;
        DL_DELETE2(q->serving, s, qprev, qnext);
        q->limited -= (uint32_t)limited;
    }
    e->linked = 0;
}

int fleet_set_pool_stats(gw_executor *e, const Offload__PoolStats *ps, uint64_t now_us, char *why,
                         size_t whylen)
{
    exec_slot *to[CODEC_QUEUES_MAX];
    if (ps->n_pools > CODEC_QUEUES_MAX) { /* the codec's bound; checked again for callers */
        snprintf(why, whylen, "pool_stats: %zu pools (at most %d)", ps->n_pools, CODEC_QUEUES_MAX);
        return -1;
    }
    for (size_t i = 0; i < ps->n_pools; i++) {
        const Offload__PoolStat *p = ps->pools[i];
        to[i] = NULL;
        for (size_t k = 0; k < e->nslots && !to[i]; k++)
            if (!strcmp(e->slots[k].queue->name, p->queue))
                to[i] = &e->slots[k];
        if (!to[i]) {
            snprintf(why, whylen, "pool_stats: queue '%s' is not one the executor's Hello declared",
                     p->queue);
            return -1;
        }
        if ((int)p->kind != to[i]->kind) {
            snprintf(why, whylen,
                     "pool_stats: queue '%s' is a %s pool, its Hello declared a %s pool", p->queue,
                     p->kind == OFFLOAD__POOL_KIND__POOL_PROCESSES ? "processes" : "threads",
                     to[i]->kind == OFFLOAD__POOL_KIND__POOL_PROCESSES ? "processes" : "threads");
            return -1;
        }
    }
    for (size_t i = 0; i < ps->n_pools; i++) {
        const Offload__PoolStat *p = ps->pools[i];
        to[i]->pool = (gw_pool_stat){.kind = p->kind,
                                     .size = p->size,
                                     .alive = p->alive,
                                     .busy = p->busy,
                                     .respawns = p->respawns,
                                     .kills_deadline = p->kills_deadline,
                                     .kills_cancel = p->kills_cancel,
                                     .kills_memory = p->kills_memory,
                                     .kills_recycle = p->kills_recycle,
                                     .rss_bytes = p->rss_bytes};
        to[i]->pool_seen = 1;
    }
    e->pool_stats_seq = ps->seq;
    e->pool_stats_us = now_us;
    return 0;
}

uint32_t fleet_set_credit(fleet *f, gw_executor *e, exec_slot *s, uint32_t slots)
{
    (void)f;
    if (e->draining)
        return s->size;
    if (slots > s->declared)
        slots = s->declared;
    if (e->linked)
        s->queue->capacity = s->queue->capacity - s->size + slots;
    s->size = slots;
    return slots;
}

void fleet_drain(fleet *f, gw_executor *e)
{
    if (e->draining)
        return;
    executor_unlink_slots(f, e);
    for (size_t i = 0; i < e->nslots; i++)
        e->slots[i].size = 0; /* no credit: dispatch_pick passes it over */
    e->draining = 1;
}

static void slots_free(exec_slot *slots, size_t n)
{
    for (size_t i = 0; slots && i < n; i++) {
        for (size_t f = 0; f < slots[i].nfunctions; f++)
            free(slots[i].functions[f]);
        free(slots[i].functions);
        if (slots[i].queue)
            queue_unref(slots[i].queue);
    }
    free(slots);
}

int fleet_check_hello(fleet *f, const queue_table *qt, const wire_rid *rid,
                      const Offload__Hello *hello, const fleet_limits *lim,
                      uint32_t default_heartbeat_ms, uint32_t default_liveness, const char **what,
                      char *msg, size_t msglen)
{
    /* What the Hello itself asks for first (asking again cannot help),
     * then what others hold (it may free up). */
    size_t functions = 0, fresh = 0;
    for (size_t i = 0; i < hello->n_queues; i++) {
        functions += hello->queues[i]->n_functions;
        if (!queue_find((queue_table *)qt, hello->queues[i]->name))
            fresh++;
    }
    if (functions > lim->max_functions) {
        *what = "functions";
        snprintf(msg, msglen,
                 "the Hello declares %zu functions over its queues, over the gateway's limit of "
                 "%zu (--max-functions)",
                 functions, lim->max_functions);
        return -1;
    }
    uint64_t hb = hello->heartbeat_ms ? hello->heartbeat_ms : default_heartbeat_ms;
    uint64_t lv = hello->liveness ? hello->liveness : default_liveness;
    if (hb * lv > lim->max_silence_ms) {
        *what = "silence";
        snprintf(msg, msglen,
                 "heartbeat_ms %llu x liveness %llu = %llu ms of silence before the gateway "
                 "notices a dead executor, over its limit of %llu (--max-silence-ms); lower "
                 "the executor's --heartbeat-ms or --liveness",
                 (unsigned long long)hb, (unsigned long long)lv, (unsigned long long)(hb * lv),
                 (unsigned long long)lim->max_silence_ms);
        return -1;
    }
    int known = fleet_find(f, rid) != NULL;
    if (!known && f->count >= lim->max_executors) {
        *what = "executors";
        snprintf(msg, msglen,
                 "the gateway has %zu executors registered, its limit (--max-executors %zu); "
                 "retry later or raise --max-executors",
                 f->count, lim->max_executors);
        return -1;
    }
    if (fresh && qt->count + fresh > queue_table_max(qt)) {
        *what = "queues";
        snprintf(msg, msglen,
                 "the Hello declares %zu new queues and the gateway knows %zu of at most %zu "
                 "(--max-queues); retry later or raise --max-queues",
                 fresh, qt->count, queue_table_max(qt));
        return -1;
    }
    return 0;
}

static void executor_free_decl(gw_executor *e)
{
    slots_free(e->slots, e->nslots);
    e->slots = NULL;
    e->nfunctions = e->nslots = 0;
}

gw_executor *fleet_register(fleet *f, queue_table *qt, const wire_rid *rid,
                            const Offload__Hello *hello, uint32_t default_heartbeat_ms,
                            uint32_t default_liveness, uint64_t now_us)
{
    exec_slot *slots = calloc(hello->n_queues, sizeof(*slots));
    size_t nfunctions = 0;
    gw_executor *e = NULL;
    if (!slots)
        goto err;
    for (size_t i = 0; i < hello->n_queues; i++) {
        const Offload__QueueDecl *d = hello->queues[i];
        exec_slot *s = &slots[i];
        s->queue = queue_get(qt, d->name);
        if (!s->queue)
            goto err;
        queue_ref(s->queue);
        s->functions = calloc(d->n_functions, sizeof(*s->functions));
        if (!s->functions)
            goto err;
        s->size = hello->credit ? 0 : d->size;
        s->declared = d->size;
        s->kind = d->kind;
        for (; s->nfunctions < d->n_functions; s->nfunctions++)
            if (!(s->functions[s->nfunctions] = strdup(d->functions[s->nfunctions])))
                goto err;
        nfunctions += s->nfunctions;
    }

    e = fleet_find(f, rid);
    int was_draining = 0;
    if (e) {
        /* Re-registration on the same connection: keep in-flight counts. */
        for (size_t i = 0; i < hello->n_queues; i++) {
            exec_slot *old = executor_slot(e, slots[i].queue);
            if (!old)
                continue;
            slots[i].busy = old->busy;
            slots[i].demand_sent = old->demand_sent;
            slots[i].demand_us = old->demand_us;
            slots[i].pool_seen = old->pool_seen && old->kind == slots[i].kind;
            slots[i].pool = old->pool;
            if (hello->credit && e->credit)
                slots[i].size = old->size < slots[i].declared ? old->size : slots[i].declared;
        }
        executor_unlink_slots(f, e);
        executor_free_decl(e);
        was_draining = e->draining;
        e->draining = 0;
    } else {
        e = calloc(1, sizeof(*e));
        if (!e)
            goto err;
        e->rid = *rid;
        HASH_ADD(hh, f->by_rid, rid.bytes, e->rid.len, e);
        f->count++;
    }
    for (size_t i = 0; i < hello->n_queues; i++)
        slots[i].executor = e;
    snprintf(e->id, sizeof(e->id), "%s", hello->executor_id);
    e->slots = slots;
    e->nslots = hello->n_queues;
    e->nfunctions = nfunctions;
    e->heartbeat_ms = hello->heartbeat_ms ? hello->heartbeat_ms : default_heartbeat_ms;
    e->liveness = hello->liveness ? hello->liveness : default_liveness;
    e->max_payload = hello->max_payload;
    e->credit = hello->credit;
    e->last_recv_us = now_us;
    executor_link_slots(f, e);
    if (was_draining)
        fleet_drain(f, e); /* a drain is for good: a Hello does not end it */
    return e;

err:
    slots_free(slots, hello->n_queues);
    return NULL;
}

void fleet_mark_dead(fleet *f, gw_executor *e, const char *why, int clean)
{
    if (e->dead)
        return;
    executor_unlink_slots(f, e);
    HASH_DEL(f->by_rid, e);
    f->count--;
    e->dead = 1;
    e->clean = clean;
    snprintf(e->dead_reason, sizeof(e->dead_reason), "%s", why);
    e->next_dead = f->dead;
    f->dead = e;
}

gw_executor *fleet_next_dead(fleet *f)
{
    gw_executor *e = f->dead;
    if (e) {
        f->dead = e->next_dead;
        e->next_dead = NULL;
    }
    return e;
}

void fleet_free_executor(gw_executor *e)
{
    if (!e)
        return;
    executor_free_decl(e);
    free(e);
}

void fleet_free(fleet *f)
{
    gw_executor *e, *tmp;
    HASH_ITER(hh, f->by_rid, e, tmp)
    {
        fleet_mark_dead(f, e, "shutdown", 1);
    }
    while ((e = fleet_next_dead(f)) != NULL)
        fleet_free_executor(e);
}
