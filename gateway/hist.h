/* hist.h -- a latency histogram with fixed buckets: the job wait and run
 * times of each queue (queue.h), rendered as Prometheus histograms by
 * /metrics and as p50/p90/p99 estimates by /v1/queues. The buckets are
 * the same for every histogram (docs/metrics.md):
 *
 *   100us 250us 500us 1ms 2.5ms 5ms 10ms 25ms 50ms 100ms 250ms 500ms
 *   1s 2.5s 5s 10s 30s 60s +Inf
 *
 * A value goes to the first bucket whose bound it does not pass (v <=
 * bound), as Prometheus' "le" says. Recording is a search over the 18
 * bounds and a few adds; nothing is allocated. Loop thread only. */
#ifndef OFFLOAD_HIST_H
#define OFFLOAD_HIST_H

#include <stdint.h>

#define HIST_BOUNDS 18                 /* finite bounds */
#define HIST_BUCKETS (HIST_BOUNDS + 1) /* and +Inf */

typedef struct hist {
    uint64_t n[HIST_BUCKETS]; /* values per bucket (not cumulative) */
    uint64_t count;
    uint64_t sum_us;
    uint64_t max_us; /* the largest value seen: quantiles are clamped to it */
} hist;

/* The bounds in microseconds, and as "le" label text ("0.0001", ...,
 * "60", then "+Inf" at HIST_BOUNDS). */
extern const uint64_t hist_bounds_us[HIST_BOUNDS];
extern const char *const hist_le[HIST_BUCKETS];

/* The bucket of a value. */
unsigned hist_bucket(uint64_t us);

static inline void hist_observe(hist *h, uint64_t us)
{
    h->n[hist_bucket(us)]++;
    h->count++;
    h->sum_us += us;
    if (us > h->max_us)
        h->max_us = us;
}

/* The q-quantile (0 < q <= 1) in microseconds, estimated as Prometheus'
 * histogram_quantile does (linear within the bucket that holds the rank),
 * except that the +Inf bucket ends at the largest value seen, and clamped
 * to that value. 0 when h is empty (see count). */
uint64_t hist_quantile(const hist *h, double q);

#endif
