/* credit.h -- how an executor shares one queue's pool among the gateways
 * it serves (proto/offload.proto: Credit, Demand). Arithmetic only: no
 * sockets, no clock; allowance.c keeps one credit_peer per link and queue
 * and sends a Credit for each peer credit_balance changed.
 *
 * Each gateway that speaks Credit has an allowance: the slots it may fill
 * now. A gateway may still act on an allowance it was sent before a lower
 * one, until it acknowledges the lower one (a Demand carrying the Credit's
 * seq): the ceiling is the highest allowance it may still act on. A peer
 * holds max(ceiling, inflight) slots of the pool, and
 *
 *     other + sum over peers of max(ceiling, inflight) <= size
 *
 * holds at every step (other: slots taken by jobs no allowance covers,
 * orphans and the jobs of gateways that do not speak Credit), so the pool
 * never holds more jobs than it has workers and a Job never waits in the
 * executor. A lowered allowance frees its slots for others only once the
 * gateway acknowledged it and the jobs over it finished.
 *
 * Targets. Gateways with jobs waiting (demand > 0) share the pool: each is
 * offered up to what it can use now (inflight + demand), the same share
 * for all while there is not enough, and what is left goes evenly to them
 * too (room for the next jobs without asking); gateways without demand get
 * 0 (they ask with a Demand when jobs start to wait). When no gateway has
 * demand, the pool is split evenly over all of them, so each starts the
 * next burst without a round trip. With one gateway its allowance is the
 * whole pool, always. Loop thread only. */
#ifndef OFFLOAD_CREDIT_H
#define OFFLOAD_CREDIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct credit_peer {
    uint32_t allow;    /* the allowance last set (sent, or to send if changed) */
    uint32_t ceiling;  /* the highest allowance the gateway may still act on */
    uint32_t inflight; /* its jobs the pool holds (not orphaned) */
    uint32_t demand;   /* jobs waiting in that gateway (its last Demand) */
    uint32_t target;   /* what credit_balance aims at (for logs and tests) */
    int active;        /* registered, speaks Credit: takes part in the sharing.
                          An inactive peer keeps what it holds (a silent
                          gateway may come back and use its ceiling) */
    int changed;       /* allow changed: send it (the caller clears) */
} credit_peer;

/* Slots peer p holds: max(ceiling, inflight). */
static inline uint32_t credit_held(const credit_peer *p)
{
    return p->ceiling > p->inflight ? p->ceiling : p->inflight;
}

/* Sets the allowances of the active peers toward their targets (see the
 * file comment): lowers at once, raises only as far as free slots allow.
 * size is the pool's slots, other the slots held outside every allowance.
 * Sets changed on every peer whose allow changed; returns how many. */
size_t credit_balance(uint32_t size, uint32_t other, credit_peer *peers, size_t n);

/* The gateway acknowledged every allowance sent to it: its ceiling comes
 * down to its allowance. */
void credit_ack(credit_peer *p);

/* The gateway forgot this connection (it dropped, or the gateway said it
 * does not know us): the peer holds nothing more (its jobs were orphaned,
 * and count in `other` while they run) and is inactive until its gateway
 * welcomes us again. */
void credit_forget(credit_peer *p);

/* Slots no peer holds: size - other - sum of credit_held, 0 if over. */
uint32_t credit_free(uint32_t size, uint32_t other, const credit_peer *peers, size_t n);

#endif
