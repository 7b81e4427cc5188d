/* requests.c -- see requests.h. */
#include "requests.h"

#include <stdlib.h>
#include <string.h>

void requests_init(request_table *t)
{
    memset(t, 0, sizeof(*t));
    t->next_id = 1;
}

request *requests_add(request_table *t, uint64_t reply_by_ms, void *cb, void *arg)
{
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
    t->count++;
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
    HASH_DEL(t->by_id, r);
    t->count--;
    free(r);
}

uint64_t requests_next_due(const request_table *t)
{
    uint64_t due = 0;
    for (const request *r = t->by_id; r; r = r->hh.next)
        if (!due || r->reply_by_ms < due)
            due = r->reply_by_ms;
    return due;
}

request *requests_take_expired(request_table *t, uint64_t now_ms)
{
    for (request *r = t->by_id; r; r = r->hh.next)
        if (r->reply_by_ms <= now_ms) {
            HASH_DEL(t->by_id, r);
            t->count--;
            return r;
        }
    return NULL;
}

request *requests_take_any(request_table *t)
{
    request *r = t->by_id;
    if (r) {
        HASH_DEL(t->by_id, r);
        t->count--;
    }
    return r;
}
