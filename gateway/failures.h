/* failures.h -- the recent failures: a bounded ring of the last jobs that
 * ended in an error (--recent-failures of them), newest first, for the
 * dashboard's list (GET /v1/failures, the /v1/events snapshots). A job is
 * recorded once, where its one answer is given (jobs.c), with its id,
 * queue, function, outcome code and message (cleaned to UTF-8 and cut at
 * FAILURES_MESSAGE_MAX bytes). Refusals before a job exists (queue_full,
 * unknown_queue, ...) are not jobs and are not recorded here: the queue's
 * `rejected` and the stats counters hold those. Loop thread only. */
#ifndef OFFLOAD_FAILURES_H
#define OFFLOAD_FAILURES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

#define FAILURES_DEFAULT 50
#define FAILURES_CEILING 10000
#define FAILURES_MESSAGE_MAX 200 /* bytes of a message kept, "..." included */

typedef struct failure {
    uint64_t at_ms; /* wall clock, ms since the epoch */
    uint64_t job_id;
    int code; /* Offload__Code */
    uint64_t waited_us, run_us;
    char queue[CODEC_NAME_MAX + 1];
    char function[CODEC_NAME_MAX + 1];
    char executor[CODEC_ID_MAX + 1]; /* the executor that ran it, or "" */
    char message[FAILURES_MESSAGE_MAX + 1];
} failure;

typedef struct failures {
    failure *ring;  /* cap entries, malloc'd */
    size_t cap;     /* 0: nothing is kept */
    size_t next;    /* where the next one goes */
    size_t count;   /* kept, at most cap */
    uint64_t total; /* recorded since start, kept or not */
} failures;

/* Makes room for cap failures (0 keeps none). Returns 0 or -ENOMEM. */
int failures_init(failures *f, size_t cap);

void failures_free(failures *f);

/* Records one failed job (the oldest kept goes once cap are). message may
 * be NULL; queue, function and executor are cut to their fields. */
void failures_add(failures *f, uint64_t job_id, int code, const char *queue, const char *function,
                  const char *executor, const char *message, uint64_t waited_us, uint64_t run_us);

/* The i-th newest failure kept (0: the newest), or NULL past the count. */
const failure *failures_get(const failures *f, size_t i);

/* The kept failures as a JSON array, newest first: each {"at_ms",
 * "job_id", "queue", "function", "executor" (or null), "error" (the code's
 * name), "message", "waited_us", "run_us"}. A new reference, or NULL when
 * out of memory. */
json_t *failures_json(const failures *f);

#endif
