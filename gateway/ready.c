/* ready.c -- see ready.h. */
#include "ready.h"

#include <stdio.h>
#include <string.h>

static void ready_add(ready_report *out, ready_kind kind, const char *queue)
{
    out->ready = 0;
    if (out->nwhy == READY_WHY_MAX) {
        out->more++;
        return;
    }
    ready_reason *r = &out->why[out->nwhy++];
    r->kind = kind;
    snprintf(r->queue, sizeof(r->queue), "%s", queue ? queue : "");
}

/* True if a draining executor declares q (NULL: any queue). Draining
 * executors are few, and this runs for listed reasons only. */
static int ready_draining_serves(const fleet *f, const gw_queue *q)
{
    for (const gw_executor *e = f->by_rid; e; e = e->hh.next) {
        if (!e->draining)
            continue;
        if (!q && e->nslots)
            return 1;
        for (size_t i = 0; q && i < e->nslots; i++)
            if (e->slots[i].queue == q)
                return 1;
    }
    return 0;
}

void ready_check(const queue_table *qt, const fleet *f, int draining, ready_report *out)
{
    memset(out, 0, sizeof(*out));
    out->ready = 1;
    if (draining)
        ready_add(out, READY_GATEWAY_DRAINING, NULL);
    for (const gw_queue *q = qt->by_name; q; q = q->hh.next) {
        if (!q->pinned)
            continue;
        out->queues++;
        if (q->executors) /* live, not draining: fleet.c links only those */
            continue;
        if (out->nwhy == READY_WHY_MAX) {
            ready_add(out, READY_NO_EXECUTOR, q->name); /* counted only */
            continue;
        }
        ready_add(out, ready_draining_serves(f, q) ? READY_ALL_DRAINING : READY_NO_EXECUTOR,
                  q->name);
    }
    if (out->queues)
        return;
    for (const gw_executor *e = f->by_rid; e; e = e->hh.next)
        if (!e->draining && e->nslots)
            return;
    ready_add(out, ready_draining_serves(f, NULL) ? READY_ALL_DRAINING : READY_NO_EXECUTOR, NULL);
}

const char *ready_reason_text(const ready_reason *r, char *buf, size_t len)
{
    const char *what = r->kind == READY_GATEWAY_DRAINING ? "gateway draining"
                       : r->kind == READY_ALL_DRAINING   ? "every executor draining"
                       : r->queue[0]                     ? "no executor"
                                                         : "no executor connected";
    if (r->queue[0])
        snprintf(buf, len, "queue '%s': %s", r->queue, what);
    else
        snprintf(buf, len, "%s", what);
    return buf;
}
