/* http_reply.h -- the HTTP front's answers: JSON errors, job outcomes,
 * detached jobs, the built-in routes (see http_reply.c). Loop thread
 * only. */
#ifndef OFFLOAD_HTTP_REPLY_H
#define OFFLOAD_HTTP_REPLY_H

#include <stdint.h>

#include "http_int.h"

/* The JSON error of the interface contract; sets *status from the code.
 * A 503 carries Retry-After: retry_after seconds. Returns the response
 * (the caller's), or NULL when out of memory. */
struct MHD_Response *http_reply_error(int code, const char *message, uint64_t job_id,
                                      unsigned retry_after, unsigned *status);

/* Answers a request that ended in an error. */
enum MHD_Result http_reply_answer_error(http_request *req);

/* 413 payload_too_large: the body is over --max-payload. */
enum MHD_Result http_reply_too_large(http_request *req);

/* 503 queue_full: the body would pass the gateway's memory budget. */
enum MHD_Result http_reply_over_budget(http_request *req);

/* Answers req once it is read: the answer stored by http_suspend_resume, else
 * the one its target gives, which may suspend req until its job, delay
 * or detached job ends. From the access handler. */
enum MHD_Result http_reply_answer(http_request *req);

#endif
