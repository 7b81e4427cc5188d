/* budget.h -- the gateway-wide byte budget for the payloads it holds
 * (--max-held-bytes).
 *
 * Held bytes are the request payloads the gateway keeps in its own memory:
 * HTTP bodies being received (their Content-Length is reserved when the
 * headers arrive; chunked bodies as their chunks arrive), and job payloads
 * waiting in a queue, on an executor while they may still be retried, or
 * kept for a retry. A front takes bytes before it holds them and gives them
 * back when it frees them; a take that would pass the bound fails and the
 * caller is refused with queue_full and a Retry-After. Results are not
 * counted: they pass through at once, and detached outcomes have their own
 * bound (--result-max-bytes). Loop thread only. */
#ifndef OFFLOAD_BUDGET_H
#define OFFLOAD_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

typedef struct budget {
    uint64_t max;  /* bytes; 0: no bound */
    uint64_t held; /* taken and not given back */
    uint64_t peak; /* the most ever held at once */
    gateway_stats *stats;
} budget;

/* max 0: no bound. stats (may be NULL) counts refusals (held_bytes_refused). */
void budget_init(budget *b, uint64_t max, gateway_stats *stats);

/* Takes n bytes. Returns 0, or -1 (nothing taken) when held + n would pass
 * max: the refusal is counted and logged (a few lines a second) with what,
 * a word saying who asked ("http", "clients", "job"). */
int budget_take(budget *b, size_t n, const char *what);

/* Gives back n bytes taken before. */
void budget_give(budget *b, size_t n);

/* The message a caller refused by budget_take is sent. */
void budget_refusal(const budget *b, size_t n, char *buf, size_t buflen);

#endif
