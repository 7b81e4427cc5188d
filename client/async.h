/* async.h -- liboffload's asynchronous API (offload_submit, offload_cancel,
 * offload_dispatch and the loop hooks of offload.h) and the end of every
 * request: its result made from a Reply, or by the library, handed to its
 * callback. What sync.c needs of it. */
#ifndef OFFLOAD_ASYNC_H
#define OFFLOAD_ASYNC_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"

/* Sends a Submit (detach, key) and registers its request; the common part
 * of offload_submit and offload_submit_detached. Returns 0 (*request_id
 * set), or -1 with c->err set: then cb is never called. */
int async_submit(offload_client *c, const char *queue, const char *function, const void *payload,
                 size_t len, const offload_call_options *opts, int detach, const char *key,
                 offload_callback *cb, void *arg, uint64_t *request_id);

/* Runs the callback of request q, already out of the table, and frees
 * q. res is the result, freed here (NULL: make one of code and message;
 * if even that fails, a static result of that code). */
void async_end(offload_client *c, request *q, offload_result *res, int code, const char *message);

#endif
