/* ready.h -- GET /readyz's verdict: whether this gateway can serve every
 * queue it is configured for, and if not, why.
 *
 * The queues that count are the pinned ones, those a --queue or a --route
 * names: each needs a live executor that is not draining (its pool counts,
 * not its credit of the moment: an executor shared with other gateways may
 * have 0 slots for this one while they are busy and still serves it).
 * Queues only executors declare come and go with them and do not count.
 * With no pinned queue, one live executor that is not draining suffices.
 * A draining gateway is never ready.
 *
 * ready_check is pure (the tables in, a report out), so it is tested
 * without sockets. Loop thread only. */
#ifndef OFFLOAD_READY_H
#define OFFLOAD_READY_H

#include <stddef.h>

#include "codec.h"
#include "fleet.h"
#include "queue.h"

#define READY_WHY_MAX 16 /* reasons listed; the rest are only counted */

typedef enum ready_kind {
    READY_GATEWAY_DRAINING, /* a signal started the gateway's drain */
    READY_NO_EXECUTOR,      /* nothing serves the queue (or, with no queue: the gateway) */
    READY_ALL_DRAINING,     /* every executor that serves it is draining */
} ready_kind;

typedef struct ready_reason {
    ready_kind kind;
    char queue[CODEC_NAME_MAX + 1]; /* "" for the gateway as a whole */
} ready_reason;

typedef struct ready_report {
    int ready;
    size_t nwhy;   /* reasons in why[], in the queue table's order */
    size_t more;   /* reasons past READY_WHY_MAX: counted, not listed */
    size_t queues; /* pinned queues looked at */
    ready_reason why[READY_WHY_MAX];
} ready_report;

/* Fills out from the queue table, the fleet and the drain flag. */
void ready_check(const queue_table *qt, const fleet *f, int draining, ready_report *out);

/* Writes r as a person reads it ("queue 'io': no executor", "gateway
 * draining") into buf (always terminated). Returns buf. */
const char *ready_reason_text(const ready_reason *r, char *buf, size_t len);

/* Room for any ready_reason_text. */
#define READY_TEXT_MAX (CODEC_NAME_MAX + 48)

#endif
