/* test_credit.c -- an executor's pool shared among gateways (credit.h): one
 * gateway gets the whole pool; idle gateways split it; gateways with
 * demand share it; a lowered allowance is re-granted only once
 * acknowledged and its jobs ended; orphans, inactive and legacy peers hold
 * their slots; and a random walk of events never lets the sum of
 * max(ceiling, inflight) pass the pool. */
#include <stdlib.h>
#include <string.h>

#include "credit.h"
#include "unit.h"

/* sum of what the peers hold, plus other */
static uint32_t held(uint32_t other, const credit_peer *p, size_t n)
{
    uint32_t h = other;
    for (size_t i = 0; i < n; i++)
        h += credit_held(&p[i]);
    return h;
}

static void test_one_gateway_whole_pool(void)
{
    credit_peer p[1] = {{.active = 1}};
    CU_ASSERT_EQUAL(credit_balance(4, 0, p, 1), 1);
    CU_ASSERT_EQUAL(p[0].allow, 4);
    CU_ASSERT_EQUAL(p[0].ceiling, 4);
    CU_ASSERT_TRUE(p[0].changed);
    p[0].changed = 0;
    /* Busy or not, with demand or not: still the whole pool, no change. */
    p[0].inflight = 4;
    p[0].demand = 100;
    CU_ASSERT_EQUAL(credit_balance(4, 0, p, 1), 0);
    p[0].inflight = 1;
    p[0].demand = 0;
    CU_ASSERT_EQUAL(credit_balance(4, 0, p, 1), 0);
    CU_ASSERT_EQUAL(p[0].allow, 4);
    CU_ASSERT_FALSE(p[0].changed);
}

static void test_idle_split_evenly(void)
{
    credit_peer p[3] = {{.active = 1}, {.active = 1}, {.active = 1}};
    credit_balance(8, 0, p, 3);
    CU_ASSERT_EQUAL(p[0].allow + p[1].allow + p[2].allow, 8);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_TRUE(p[i].allow == 2 || p[i].allow == 3);
    CU_ASSERT_TRUE(held(0, p, 3) <= 8);
}

/* The second gateway arrives while the first holds the whole pool: the
 * first is lowered at once, the second gets its share only after the
 * first acknowledged. */
static void test_lower_waits_for_ack(void)
{
    credit_peer p[2] = {{.active = 1}, {.active = 0}};
    credit_balance(4, 0, p, 2);
    CU_ASSERT_EQUAL(p[0].allow, 4);
    p[0].changed = 0;
    p[1].active = 1;
    credit_balance(4, 0, p, 2);
    CU_ASSERT_EQUAL(p[0].allow, 2);
    CU_ASSERT_EQUAL(p[0].ceiling, 4); /* it may still act on 4 */
    CU_ASSERT_EQUAL(p[1].allow, 0);   /* nothing free yet */
    CU_ASSERT_TRUE(p[0].changed);
    CU_ASSERT_FALSE(p[1].changed);
    p[0].changed = 0;
    credit_ack(&p[0]);
    CU_ASSERT_EQUAL(p[0].ceiling, 2);
    CU_ASSERT_EQUAL(credit_balance(4, 0, p, 2), 1);
    CU_ASSERT_EQUAL(p[1].allow, 2);
    CU_ASSERT_EQUAL(held(0, p, 2), 4);
}

/* Demand moves slots to the gateway that has jobs waiting, as the other's
 * jobs end: never before. */
static void test_demand_takes_freed_slots(void)
{
    credit_peer p[2] = {{.active = 1, .allow = 2, .ceiling = 2, .inflight = 2},
                        {.active = 1, .allow = 2, .ceiling = 2}};
    p[1].demand = 5;
    credit_balance(4, 0, p, 2);
    /* p0 has no demand: its target is 0, its running jobs keep 2 slots. */
    CU_ASSERT_EQUAL(p[0].target, 0);
    CU_ASSERT_EQUAL(p[0].allow, 0);
    CU_ASSERT_EQUAL(p[1].target, 4);
    CU_ASSERT_EQUAL(p[1].allow, 2);
    credit_ack(&p[0]);
    credit_balance(4, 0, p, 2);
    CU_ASSERT_EQUAL(p[1].allow, 2); /* p0's 2 jobs still run */
    p[0].inflight = 1;              /* one ended */
    credit_balance(4, 0, p, 2);
    CU_ASSERT_EQUAL(p[1].allow, 3);
    p[0].inflight = 0;
    credit_balance(4, 0, p, 2);
    CU_ASSERT_EQUAL(p[1].allow, 4);
    CU_ASSERT_EQUAL(held(0, p, 2), 4);
}

/* Both with demand: the same share; one that needs little gets what it
 * needs and the rest goes to the other. */
static void test_water_filling(void)
{
    credit_peer p[2] = {{.active = 1, .demand = 9}, {.active = 1, .demand = 9}};
    credit_balance(4, 0, p, 2);
    CU_ASSERT_EQUAL(p[0].allow, 2);
    CU_ASSERT_EQUAL(p[1].allow, 2);

    credit_peer q[2] = {{.active = 1, .demand = 1}, {.active = 1, .demand = 9}};
    credit_balance(10, 0, q, 2);
    CU_ASSERT_EQUAL(q[0].target, 1);
    CU_ASSERT_EQUAL(q[1].target, 9);
    CU_ASSERT_EQUAL(q[0].allow + q[1].allow, 10);

    /* Short of slots with three asking: 1 each, the last to the first. */
    credit_peer r[3] = {
        {.active = 1, .demand = 5}, {.active = 1, .demand = 5}, {.active = 1, .demand = 5}};
    credit_balance(4, 0, r, 3);
    CU_ASSERT_EQUAL(r[0].allow, 2);
    CU_ASSERT_EQUAL(r[1].allow, 1);
    CU_ASSERT_EQUAL(r[2].allow, 1);
    /* Stable: the same state balances to the same allowances. */
    CU_ASSERT_EQUAL(credit_balance(4, 0, r, 3), 0);
}

/* Orphans (other) and inactive or legacy peers hold their slots. */
static void test_other_and_inactive_hold(void)
{
    credit_peer p[3] = {{.active = 1},
                        {.active = 0, .allow = 1, .ceiling = 1}, /* silent gateway */
                        {.active = 0, .inflight = 2}};           /* an older gateway */
    credit_balance(6, 1, p, 3);
    CU_ASSERT_EQUAL(p[0].allow, 2); /* 6 - 1 orphan - 1 - 2 */
    CU_ASSERT_EQUAL(p[1].allow, 1); /* inactive: untouched */
    CU_ASSERT_EQUAL(held(1, p, 3), 6);
    /* No active peer: nothing to do. */
    credit_peer none[1] = {{.active = 0}};
    CU_ASSERT_EQUAL(credit_balance(4, 0, none, 1), 0);
    /* Over-full (an older gateway sent more than the pool): no credit. */
    credit_peer over[2] = {{.active = 1}, {.active = 0, .inflight = 6}};
    credit_balance(4, 0, over, 2);
    CU_ASSERT_EQUAL(over[0].allow, 0);
    CU_ASSERT_EQUAL(credit_free(4, 0, over, 2), 0);
}

static void test_forget(void)
{
    credit_peer p = {.active = 1, .allow = 3, .ceiling = 4, .inflight = 2, .demand = 7};
    credit_forget(&p);
    CU_ASSERT_EQUAL(credit_held(&p), 0);
    CU_ASSERT_FALSE(p.active);
    CU_ASSERT_EQUAL(p.demand, 0);
}

/* A random walk over gateways that take jobs up to the allowance they
 * applied, acknowledge late, finish jobs, change demand, come and go: at
 * every step the pool holds at most its size, every gateway's jobs stay
 * within what it may act on, and with steady demand everything is used. */
static void test_random_walk(void)
{
    enum { N = 4, SIZE = 7 };
    credit_peer p[N];
    uint32_t applied[N]; /* the allowance the gateway acts on */
    int pending[N];      /* a Credit sent, not yet applied */
    memset(p, 0, sizeof(p));
    memset(applied, 0, sizeof(applied));
    memset(pending, 0, sizeof(pending));
    uint32_t orphans = 0;
    srand(7);
    for (int step = 0; step < 200000; step++) {
        int g = rand() % N;
        switch (rand() % 8) {
        case 0: /* registers, or is forgotten (its jobs become orphans) */
            if (!p[g].active && !p[g].inflight) {
                p[g].active = 1;
            } else if (rand() % 4 == 0) {
                orphans += p[g].inflight;
                credit_forget(&p[g]);
                applied[g] = 0;
                pending[g] = 0;
            }
            break;
        case 1: /* the gateway applies the Credit and acknowledges it */
            if (pending[g]) {
                applied[g] = p[g].allow;
                pending[g] = 0;
                credit_ack(&p[g]);
            }
            break;
        case 2: /* a job: only within what the gateway applied */
        case 3:
            if (p[g].active && p[g].inflight < applied[g])
                p[g].inflight++;
            break;
        case 4: /* a job ends */
            if (p[g].inflight)
                p[g].inflight--;
            break;
        case 5:
            if (orphans)
                orphans--;
            break;
        default: /* its demand changes */
            p[g].demand = (uint32_t)(rand() % 4 ? rand() % 10 : 0);
        }
        credit_balance(SIZE, orphans, p, N);
        for (int i = 0; i < N; i++) {
            if (p[i].changed) {
                p[i].changed = 0;
                pending[i] = 1;
                if (p[i].allow > applied[i])
                    applied[i] = p[i].allow; /* a raise may be used at once */
            }
            /* What the gateway acts on is never above the ceiling. */
            CU_ASSERT_TRUE_FATAL(applied[i] <= p[i].ceiling);
            CU_ASSERT_TRUE_FATAL(p[i].allow <= p[i].ceiling);
        }
        CU_ASSERT_TRUE_FATAL(held(orphans, p, N) <= SIZE);
    }
    /* Steady: every gateway asks, acknowledges; the pool is all given. */
    for (int i = 0; i < N; i++) {
        p[i].active = 1;
        p[i].demand = 5;
        p[i].inflight = 0;
        credit_ack(&p[i]);
    }
    /* Lowered ones acknowledge; then their slots go to the others. */
    credit_balance(SIZE, 0, p, N);
    for (int i = 0; i < N; i++)
        credit_ack(&p[i]);
    credit_balance(SIZE, 0, p, N);
    uint32_t sum = 0;
    for (int i = 0; i < N; i++)
        sum += p[i].allow;
    CU_ASSERT_EQUAL(sum, SIZE);
}

UNIT_SUITE(credit, {"one gateway gets the whole pool", test_one_gateway_whole_pool},
           {"idle gateways split the pool", test_idle_split_evenly},
           {"a lowered allowance is re-granted after its ack", test_lower_waits_for_ack},
           {"demand takes slots as they free up", test_demand_takes_freed_slots},
           {"shares by need (water-filling), stable", test_water_filling},
           {"orphans, inactive and older gateways hold their slots", test_other_and_inactive_hold},
           {"forget releases everything", test_forget},
           {"random walk: never more than the pool", test_random_walk})
