/* fleet.c -- see fleet.h. */
#include "fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int executor_offers(const gw_executor *e, const char *function)
{
    for (size_t i = 0; i < e->nfunctions; i++)
        if (!strcmp(e->functions[i], function))
            return 1;
    return 0;
}

int fleet_queue_offers(fleet *f, const gw_queue *q, const char *function)
{
    gw_executor *e, *tmp;
    HASH_ITER(hh, f->by_rid, e, tmp)
    {
        if (executor_slot(e, q) && executor_offers(e, function))
            return 1;
    }
    return 0;
}

/* Adds e's slots to their queues' totals. */
static void executor_link_slots(gw_executor *e)
{
    if (e->linked)
        return;
    for (size_t i = 0; i < e->nslots; i++) {
        gw_queue *q = e->slots[i].queue;
        q->capacity += e->slots[i].size;
        q->busy += e->slots[i].busy;
        q->executors++;
    }
    e->linked = 1;
}

/* Takes e's slots out of their queues' totals. */
static void executor_unlink_slots(gw_executor *e)
{
    if (!e->linked)
        return;
    for (size_t i = 0; i < e->nslots; i++) {
        gw_queue *q = e->slots[i].queue;
        q->capacity -= e->slots[i].size;
        q->busy -= e->slots[i].busy;
        q->executors--;
    }
    e->linked = 0;
}

void fleet_drain(fleet *f, gw_executor *e)
{
    (void)f;
    if (e->draining)
        return;
    executor_unlink_slots(e);
    for (size_t i = 0; i < e->nslots; i++)
        e->slots[i].size = 0; /* no credit: dispatch_pick passes it over */
    e->draining = 1;
}

static void executor_free_decl(gw_executor *e)
{
    for (size_t i = 0; i < e->nfunctions; i++)
        free(e->functions[i]);
    free(e->functions);
    free(e->slots);
    e->functions = NULL;
    e->slots = NULL;
    e->nfunctions = e->nslots = 0;
}

gw_executor *fleet_register(fleet *f, queue_table *qt, const wire_rid *rid,
                            const Offload__Hello *hello, uint32_t default_heartbeat_ms,
                            uint32_t default_liveness, uint64_t now_us)
{
    exec_slot *slots = calloc(hello->n_queues, sizeof(*slots));
    char **functions = calloc(hello->n_functions, sizeof(*functions));
    size_t nfunctions = 0;
    gw_executor *e = NULL;
    if (!slots || !functions)
        goto err;
    for (size_t i = 0; i < hello->n_queues; i++) {
        slots[i].queue = queue_get(qt, hello->queues[i]->name);
        if (!slots[i].queue)
            goto err;
        slots[i].size = hello->queues[i]->size;
        slots[i].kind = hello->queues[i]->kind;
    }
    for (; nfunctions < hello->n_functions; nfunctions++)
        if (!(functions[nfunctions] = strdup(hello->functions[nfunctions])))
            goto err;

    e = fleet_find(f, rid);
    int was_draining = 0;
    if (e) {
        /* Re-registration on the same connection: keep in-flight counts. */
        for (size_t i = 0; i < hello->n_queues; i++) {
            exec_slot *old = executor_slot(e, slots[i].queue);
            if (old)
                slots[i].busy = old->busy;
        }
        executor_unlink_slots(e);
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
    snprintf(e->id, sizeof(e->id), "%s", hello->executor_id);
    e->slots = slots;
    e->nslots = hello->n_queues;
    e->functions = functions;
    e->nfunctions = hello->n_functions;
    e->heartbeat_ms = hello->heartbeat_ms ? hello->heartbeat_ms : default_heartbeat_ms;
    e->liveness = hello->liveness ? hello->liveness : default_liveness;
    e->last_recv_us = now_us;
    executor_link_slots(e);
    if (was_draining)
        fleet_drain(f, e); /* a drain is for good: a Hello does not end it */
    return e;

err:
    for (size_t i = 0; i < nfunctions; i++)
        free(functions[i]);
    free(slots);
    free(functions);
    return NULL;
}

void fleet_mark_dead(fleet *f, gw_executor *e, const char *why, int clean)
{
    if (e->dead)
        return;
    executor_unlink_slots(e);
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
