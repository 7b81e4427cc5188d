/* requests.h -- liboffload's table of requests in flight: by request id,
 * with the time by which each must have its Reply (its deadline plus the
 * grace), so that a gateway that went away ends every request with a
 * transport failure instead of silence. No sockets: unit tested alone. */
#ifndef OFFLOAD_REQUESTS_H
#define OFFLOAD_REQUESTS_H

#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

typedef struct request {
    uint64_t id;
    uint64_t reply_by_ms; /* clock_now_ms() time */
    void *cb;             /* the caller's callback and argument */
    void *arg;
    int cancel_sent; /* a Cancel went out for it */
    UT_hash_handle hh;
} request;

typedef struct request_table {
    request *by_id;
    size_t count;
    uint64_t next_id; /* the next id to hand out, never 0 */
} request_table;

void requests_init(request_table *t);

/* Adds a request with a fresh id (returned in *out). NULL when out of
 * memory. */
request *requests_add(request_table *t, uint64_t reply_by_ms, void *cb, void *arg);

request *requests_find(request_table *t, uint64_t id);

/* Takes r out of the table and frees it. */
void requests_remove(request_table *t, request *r);

/* The earliest reply_by_ms, or 0 when the table is empty. */
uint64_t requests_next_due(const request_table *t);

/* Takes out the first request (by id) whose reply_by_ms is at or before
 * now_ms, or returns NULL; the caller ends it and frees it with free(). */
request *requests_take_expired(request_table *t, uint64_t now_ms);

/* Takes out any request (for closing), or NULL when empty; free() it. */
request *requests_take_any(request_table *t);

#endif
