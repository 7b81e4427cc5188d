/* core_fleet.c -- the part of the core's API (core.h) that shows the
 * executor fleet to the fronts: core_executors, and the "executors" array
 * of GET /v1/queues. Reads the fleet (fleet.h), changes nothing. */
#include "core.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

static int core_executor_cmp(const void *a, const void *b)
{
    return strcmp(((const executor_info *)a)->id, ((const executor_info *)b)->id);
}

static const char *core_kind_name(int kind)
{
    return kind == OFFLOAD__POOL_KIND__POOL_PROCESSES ? "processes" : "threads";
}

int core_executors(gw_core *c, executor_info **out, size_t *count)
{
    const fleet *f = &c->executors.fleet;
    size_t n = 0, nslots = 0;
    gw_executor *e, *tmp;
    *out = NULL;
    *count = 0;
    HASH_ITER(hh, f->by_rid, e, tmp)
    {
        n++;
        nslots += e->nslots;
    }
    executor_info *v = calloc(1, n * sizeof(*v) + nslots * sizeof(executor_queue_info) + 1);
    if (!v)
        return -ENOMEM;
    executor_queue_info *qs = (executor_queue_info *)(v + n);
    uint64_t now = clock_now_us();
    size_t i = 0;
    HASH_ITER(hh, f->by_rid, e, tmp)
    {
        executor_info *o = &v[i++];
        snprintf(o->id, sizeof(o->id), "%s", e->id);
        o->state = e->draining ? "draining" : "ready";
        o->last_seen_ms = now > e->last_recv_us ? (now - e->last_recv_us) / 1000 : 0;
        o->nqueues = e->nslots;
        o->queues = qs;
        for (size_t k = 0; k < e->nslots; k++, qs++) {
            const exec_slot *s = &e->slots[k];
            snprintf(qs->name, sizeof(qs->name), "%s", s->queue->name);
            qs->has_pool = s->pool_seen;
            if (!s->pool_seen)
                continue;
            const gw_pool_stat *p = &s->pool;
            qs->pool = (pool_info){.kind = core_kind_name(p->kind),
                                   .size = p->size,
                                   .alive = p->alive,
                                   .busy = p->busy,
                                   .respawns = p->respawns,
                                   .kills_deadline = p->kills_deadline,
                                   .kills_cancel = p->kills_cancel,
                                   .kills_memory = p->kills_memory,
                                   .kills_recycle = p->kills_recycle,
                                   .rss_bytes = p->rss_bytes};
        }
    }
    qsort(v, n, sizeof(*v), core_executor_cmp);
    *out = v;
    *count = n;
    return 0;
}

static json_t *core_pool_json(const executor_queue_info *q)
{
    const pool_info *p = &q->pool;
    json_t *o = json_object(), *kills = json_object();
    json_object_set_new(kills, "deadline", json_integer((json_int_t)p->kills_deadline));
    json_object_set_new(kills, "cancel", json_integer((json_int_t)p->kills_cancel));
    json_object_set_new(kills, "memory", json_integer((json_int_t)p->kills_memory));
    json_object_set_new(kills, "recycle", json_integer((json_int_t)p->kills_recycle));
    json_object_set_new(o, "queue", json_string(q->name));
    json_object_set_new(o, "kind", json_string(p->kind));
    json_object_set_new(o, "size", json_integer(p->size));
    json_object_set_new(o, "alive", json_integer(p->alive));
    json_object_set_new(o, "busy", json_integer(p->busy));
    json_object_set_new(o, "respawns", json_integer((json_int_t)p->respawns));
    json_object_set_new(o, "kills", kills);
    json_object_set_new(o, "rss_bytes", json_integer((json_int_t)p->rss_bytes));
    return o;
}

json_t *core_executors_json(gw_core *c)
{
    executor_info *v;
    size_t n;
    json_t *list = json_array();
    if (core_executors(c, &v, &n) < 0)
        return list; /* out of memory: shown as none */
    for (size_t i = 0; i < n; i++) {
        const executor_info *e = &v[i];
        json_t *o = json_object(), *queues = json_array(), *pools = json_array();
        for (size_t k = 0; k < e->nqueues; k++) {
            json_array_append_new(queues, json_string(e->queues[k].name));
            if (e->queues[k].has_pool)
                json_array_append_new(pools, core_pool_json(&e->queues[k]));
        }
        json_object_set_new(o, "id", json_string(e->id));
        json_object_set_new(o, "queues", queues);
        json_object_set_new(o, "state", json_string(e->state));
        json_object_set_new(o, "last_seen_ms", json_integer((json_int_t)e->last_seen_ms));
        json_object_set_new(o, "pools", pools);
        json_array_append_new(list, o);
    }
    free(v);
    return list;
}
