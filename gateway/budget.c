/* budget.c -- see budget.h. */
#include "budget.h"

#include <assert.h>
#include <stdio.h>

#include "log.h"

static log_limiter budget_limiter;

void budget_init(budget *b, uint64_t max, gateway_stats *stats)
{
    b->max = max;
    b->held = 0;
    b->peak = 0;
    b->stats = stats;
}

int budget_take(budget *b, size_t n, const char *what)
{
    if (b->max && (n > b->max || b->held > b->max - n)) {
        if (b->stats)
            stats_inc(b->stats, STAT_held_bytes_refused);
        if (log_limiter_allow(&budget_limiter, 5))
            log_warn("event=memory_full from=%s need=%zu held_bytes=%llu max_held_bytes=%llu "
                     "msg=\"payloads held are at the memory budget (--max-held-bytes): refused "
                     "with queue_full\"",
                     what, n, (unsigned long long)b->held, (unsigned long long)b->max);
        return -1;
    }
    b->held += n;
    if (b->held > b->peak)
        b->peak = b->held;
    return 0;
}

void budget_give(budget *b, size_t n)
{
    assert(n <= b->held);
    b->held -= n;
}

void budget_refusal(const budget *b, size_t n, char *buf, size_t buflen)
{
    snprintf(buf, buflen,
             "the gateway's memory budget for payloads is full: it holds %llu bytes and this "
             "request needs %zu more, over --max-held-bytes %llu; retry later",
             (unsigned long long)b->held, n, (unsigned long long)b->max);
}
