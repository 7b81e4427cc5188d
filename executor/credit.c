/* credit.c -- see credit.h. */
#include "credit.h"

uint32_t credit_free(uint32_t size, uint32_t other, const credit_peer *peers, size_t n)
{
    uint64_t held = other;
    for (size_t i = 0; i < n; i++)
        held += credit_held(&peers[i]);
    return held < size ? (uint32_t)(size - held) : 0;
}

/* Gives each peer in the sharing set (demand > 0, or every active peer
 * when none has demand) its target out of budget: up to its need, the same
 * share for all while short (lower indexes first for the last slots, so
 * the result is stable), the rest evenly. */
static void credit_targets(uint32_t budget, credit_peer *peers, size_t n, int by_demand)
{
    size_t nset = 0;
    for (size_t i = 0; i < n; i++) {
        credit_peer *p = &peers[i];
        p->target = 0;
        if (p->active && (!by_demand || p->demand))
            nset++;
    }
    if (!nset)
        return;
    uint32_t left = budget;
#define IN_SET(p) ((p)->active && (!by_demand || (p)->demand))
    if (by_demand) {
        /* Water-filling up to each one's need. */
        for (;;) {
            size_t short_of = 0;
            for (size_t i = 0; i < n; i++) {
                const credit_peer *p = &peers[i];
                uint64_t need = (uint64_t)p->inflight + p->demand;
                if (IN_SET(p) && p->target < need)
                    short_of++;
            }
            if (!short_of || !left)
                break;
            uint32_t share = left / short_of ? (uint32_t)(left / short_of) : 1;
            for (size_t i = 0; i < n && left; i++) {
                credit_peer *p = &peers[i];
                uint64_t need = (uint64_t)p->inflight + p->demand;
                if (!IN_SET(p) || p->target >= need)
                    continue;
                uint64_t give = need - p->target;
                if (give > share)
                    give = share;
                if (give > left)
                    give = left;
                p->target += (uint32_t)give;
                left -= (uint32_t)give;
            }
        }
    }
    /* What is left, evenly. */
    uint32_t each = (uint32_t)(left / nset), extra = (uint32_t)(left % nset);
    for (size_t i = 0; i < n; i++) {
        credit_peer *p = &peers[i];
        if (!IN_SET(p))
            continue;
        p->target += each;
        if (extra) {
            p->target++;
            extra--;
        }
    }
#undef IN_SET
}

size_t credit_balance(uint32_t size, uint32_t other, credit_peer *peers, size_t n)
{
    size_t active = 0, demanding = 0;
    uint64_t outside = other;
    for (size_t i = 0; i < n; i++) {
        const credit_peer *p = &peers[i];
        if (p->active) {
            active++;
            demanding += p->demand > 0;
        } else {
            outside += credit_held(p);
        }
    }
    if (!active)
        return 0;
    uint32_t budget = outside < size ? (uint32_t)(size - outside) : 0;
    credit_targets(budget, peers, n, demanding > 0);

    size_t changes = 0;
    for (size_t i = 0; i < n; i++) {
        credit_peer *p = &peers[i];
        if (p->active && p->target < p->allow) {
            p->allow = p->target; /* the ceiling stays until acknowledged */
            p->changed = 1;
            changes++;
        }
    }
    uint32_t free_slots = credit_free(size, other, peers, n);
    for (size_t i = 0; i < n; i++) {
        credit_peer *p = &peers[i];
        if (!p->active || p->target <= p->allow)
            continue;
        uint32_t held = credit_held(p);
        uint64_t most = (uint64_t)held + free_slots;
        uint32_t to = p->target < most ? p->target : (uint32_t)most;
        if (to <= p->allow)
            continue;
        if (to > held)
            free_slots -= to - held;
        p->allow = to;
        if (to > p->ceiling)
            p->ceiling = to;
        p->changed = 1;
        changes++;
    }
    return changes;
}

void credit_ack(credit_peer *p)
{
    p->ceiling = p->allow;
}

void credit_forget(credit_peer *p)
{
    p->allow = p->ceiling = p->inflight = p->demand = p->target = 0;
    p->changed = p->active = 0;
}
