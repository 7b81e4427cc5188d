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
    size_t heap_at;  /* its index in the table's heap */
    /* With several gateways and none up: the packed Submit, waiting in the
     * client for one to come up (outbox.c's unsent list); NULL once sent. */
    uint8_t *frame;
    size_t frame_len;
    struct request *unsent_prev, *unsent_next;
    UT_hash_handle hh;
} request;

typedef struct request_table {
    request *by_id;
    request **heap; /* a binary min-heap on reply_by_ms, count entries */
    size_t count, heap_cap;
    uint64_t next_id; /* the next id to hand out, never 0 */
} request_table;

void requests_init(request_table *t);

/* Frees what the table itself holds (not its requests: take them out
 * first). */
void requests_close(request_table *t);

/* Adds a request with a fresh id (returned in *out). NULL when out of
 * memory. */
request *requests_add(request_table *t, uint64_t reply_by_ms, void *cb, void *arg);

request *requests_find(request_table *t, uint64_t id);

/* Takes r out of the table (the caller frees it). */
void requests_take(request_table *t, request *r);

/* Takes r out of the table and frees it. */
void requests_remove(request_table *t, request *r);

/* The earliest reply_by_ms, or 0 when the table is empty. O(1); adding,
 * removing and taking an expired request are O(log n). */
uint64_t requests_next_due(const request_table *t);

/* Takes out the request with the earliest reply_by_ms if it is at or before
 * now_ms, or returns NULL; the caller ends it and frees it with free(). */
request *requests_take_expired(request_table *t, uint64_t now_ms);

/* Takes out any request (for closing), or NULL when empty; free() it. */
request *requests_take_any(request_table *t);

#endif
