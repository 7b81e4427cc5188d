/* tally.h -- jobs counted by queue, function and outcome: the series of
 * /metrics' offload_jobs_total. One count per job, at its one outcome
 * (jobs.c), or at its refusal.
 *
 * Bounded: at most max series keep their own function name. Past it, a
 * new (queue, function, outcome) counts under function "_other" of its
 * queue, and once the series pass max + max / 4 (+ TALLY_CODES), under
 * queue "_other", function "_other", which needs no memory. Every count so
 * moved is counted in folded (metrics_series_folded). A series is made
 * once, at its first job; nothing is allocated per job after that, and
 * nothing is freed before tally_free (counters never go back). Loop thread
 * only. */
#ifndef OFFLOAD_TALLY_H
#define OFFLOAD_TALLY_H

#include <stddef.h>
#include <stdint.h>
#include <uthash.h>

#define TALLY_CODES 16            /* outcomes (Offload__Code) with a slot of their own */
#define TALLY_OTHER "_other"      /* the name series are folded into */
#define TALLY_UNKNOWN "_unknown"  /* the name of a queue or function nobody serves */
#define TALLY_MAX_DEFAULT 2000    /* --metrics-max-series' default */
#define TALLY_MAX_CEILING 1000000 /* its largest value */

typedef struct tally_series {
    uint64_t count;
    int code;
    const char *queue, *function; /* in key */
    UT_hash_handle hh;
    size_t keylen;
    char key[]; /* queue NUL function NUL code */
} tally_series;

typedef struct tally {
    tally_series *by_key; /* uthash head */
    size_t count;         /* series made */
    size_t max;           /* series that keep their function's name (0: TALLY_MAX_DEFAULT) */
    uint64_t folded;      /* counts moved to an "_other" series */
    uint64_t overflow[TALLY_CODES]; /* queue and function "_other", per outcome */
} tally;

void tally_init(tally *t, size_t max);
void tally_free(tally *t);

/* Counts one job of queue and function (names of at most CODEC_NAME_MAX
 * characters; longer ones are cut) that ended with code. */
void tally_add(tally *t, const char *queue, const char *function, int code);

typedef void (*tally_each_fn)(const char *queue, const char *function, int code, uint64_t n,
                              void *arg);

/* Calls fn for every series with a count, in the order they were made,
 * then for the overflow ("_other", "_other"). */
void tally_each(const tally *t, tally_each_fn fn, void *arg);

/* The count of one series (0 when it does not exist); for tests. */
uint64_t tally_get(const tally *t, const char *queue, const char *function, int code);

#endif
