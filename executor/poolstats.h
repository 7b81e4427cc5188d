/* poolstats.h -- PoolStats (proto/offload.proto): the state of the
 * executor's pools, told to every gateway whose Welcome said pool_stats.
 * Loop thread only.
 *
 * Every --pool-stats-ms (cfg->pool_stats_ms; 0: never) the module takes a
 * snapshot of each pool (pool_get_stats, pool_rss_bytes) while at least one
 * such gateway is registered. The snapshot has changed when a count did,
 * or the resident memory moved by 1 MiB or more since the last change; a
 * gateway is sent the snapshot when it changed since that gateway was last
 * told, at most once per interval, and at least every POOLSTATS_RESEND
 * intervals regardless (and at once after each Welcome). A gateway whose
 * Welcome did not say pool_stats (an older one, which would drop the body
 * as malformed and answer Refuse) is never sent one.
 *
 * A PoolStats is not a heartbeat: the heartbeat schedule ignores it, so a
 * gateway that drops one (it found it invalid) still hears from us. */
#ifndef OFFLOAD_POOLSTATS_H
#define OFFLOAD_POOLSTATS_H

#include <stdint.h>

#include "executor_state.h"

#define POOLSTATS_RESEND 10          /* intervals: an unchanged snapshot is sent again */
#define POOLSTATS_RSS_STEP (1 << 20) /* bytes: a smaller move of rss_bytes is no change */

/* Allocates the snapshot (after the pools started). 0 or -ENOMEM. */
int poolstats_init(executor *x);

void poolstats_free(executor *x);

/* l's gateway registered: it says whether it takes PoolStats (w->pool_stats
 * in the Welcome); if so, the next poolstats_tick sends it one. */
void poolstats_on_welcome(executor *x, exec_link *l, int takes);

/* Takes a snapshot when one is due, sends what is due on every link, and
 * returns the clock_now_us() time when something is due next (UINT64_MAX:
 * never, with pool_stats_ms 0 or no link that takes them). */
uint64_t poolstats_tick(executor *x, uint64_t now);

/* Fills st (a Offload__PoolStat the caller inits) from pool p of queue
 * name; exposed for tests. */
void poolstats_fill(Offload__PoolStat *st, const char *name, pool *p);

#endif
