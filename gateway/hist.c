/* hist.c -- see hist.h. */
#include "hist.h"

const uint64_t hist_bounds_us[HIST_BOUNDS] = {
    100,    250,    500,    1000,    2500,    5000,    10000,    25000,    50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000,
};

const char *const hist_le[HIST_BUCKETS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25",   "0.5",     "1",      "2.5",   "5",      "10",    "30",   "60",    "+Inf",
};

unsigned hist_bucket(uint64_t us)
{
    unsigned lo = 0, hi = HIST_BOUNDS; /* the answer is in [lo, hi] */
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (us <= hist_bounds_us[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

uint64_t hist_quantile(const hist *h, double q)
{
    if (!h->count)
        return 0;
    if (q <= 0)
        q = 0;
    if (q > 1)
        q = 1;
    double rank = q * (double)h->count;
    uint64_t below = 0;
    unsigned i = 0;
    for (; i < HIST_BUCKETS - 1; i++) {
        if ((double)(below + h->n[i]) >= rank && h->n[i])
            break;
        below += h->n[i];
    }
    /* The +Inf bucket ends at the largest value seen. */
    double lo = i ? (double)hist_bounds_us[i - 1] : 0;
    double hi = i < HIST_BOUNDS ? (double)hist_bounds_us[i] : (double)h->max_us;
    double est = h->n[i] ? lo + (hi - lo) * ((rank - (double)below) / (double)h->n[i]) : hi;
    if (est > (double)h->max_us)
        est = (double)h->max_us;
    return est < 0 ? 0 : (uint64_t)(est + 0.5);
}
