/* requests.c -- see requests.h. */
#include "requests.h"

#include <stdlib.h>
#include <string.h>

void requests_init(request_table *t)
{
    memset(t, 0, sizeof(*t));
    t->next_id = 1;
}

void requests_close(request_table *t)
{
    free(t->heap);
    t->heap = NULL;
    t->heap_cap = 0;
}

/* ---- the heap on reply_by_ms ---------------------------------------- */

static void heap_set(request_table *t, size_t i, request *r)
{
    t->heap[i] = r;
    r->heap_at = i;
}

/* Moves the entry at i up or down until the heap holds again. */
static void heap_fix(request_table *t, size_t i)
{
    request *r = t->heap[i];
    while (i > 0 && t->heap[(i - 1) / 2]->reply_by_ms > r->reply_by_ms) {
        heap_set(t, i, t->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        uint64_t best = r->reply_by_ms;
        if (l < t->count && t->heap[l]->reply_by_ms < best)
            best = t->heap[m = l]->reply_by_ms;
        if (l + 1 < t->count && t->heap[l + 1]->reply_by_ms < best)
            m = l + 1;
        if (m == i)
            break;
        heap_set(t, i, t->heap[m]);
        i = m;
    }
    heap_set(t, i, r);
}

void requests_take(request_table *t, request *r)
{
    HASH_DEL(t->by_id, r);
    size_t i = r->heap_at, last = --t->count;
    if (i != last) {
        heap_set(t, i, t->heap[last]);
        heap_fix(t, i);
    }
}

request *requests_add(request_table *t, uint64_t reply_by_ms, void *cb, void *arg)
{
    if (t->count == t->heap_cap) {
        size_t cap = t->heap_cap ? t->heap_cap * 2 : 64;
        request **h = realloc(t->heap, cap * sizeof(*h));
        if (!h)
            return NULL;
        t->heap = h;
        t->heap_cap = cap;
    }
    request *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    /* After 2^64 ids the count wraps: skip 0 and ids still in flight. */
    while (!t->next_id || requests_find(t, t->next_id))
        t->next_id++;
    r->id = t->next_id++;
    r->reply_by_ms = reply_by_ms;
    r->cb = cb;
    r->arg = arg;
    HASH_ADD(hh, t->by_id, id, sizeof(r->id), r);
    t->heap[t->count] = r;
    heap_fix(t, t->count++);
    return r;
}

request *requests_find(request_table *t, uint64_t id)
{
    request *r = NULL;
    HASH_FIND(hh, t->by_id, &id, sizeof(id), r);
    return r;
}

void requests_remove(request_table *t, request *r)
{
    requests_take(t, r);
    free(r);
}

uint64_t requests_next_due(const request_table *t)
{
    return t->count ? t->heap[0]->reply_by_ms : 0;
}

request *requests_take_expired(request_table *t, uint64_t now_ms)
{
    if (!t->count || t->heap[0]->reply_by_ms > now_ms)
        return NULL;
    request *r = t->heap[0];
    requests_take(t, r);
    return r;
}

request *requests_take_any(request_table *t)
{
    request *r = t->by_id;
    if (r)
        requests_take(t, r);
    return r;
}
