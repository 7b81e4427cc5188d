/* allowance.h -- the executor's side of Credit and Demand
 * (proto/offload.proto): each queue keeps a credit_peer per link, the
 * arithmetic of credit.h sets every gateway's allowance, and this module
 * sends it (outgoing.h) and reads the gateways' answers. Loop thread only.
 *
 * A gateway that speaks Credit (its Welcome says so) gets an allowance per
 * queue, and the executor shares each pool among such gateways: with one,
 * the allowance is the whole pool; with several, no more jobs are sent
 * than there are workers, so jobs wait in the gateways, never in the
 * pool's FIFO. The balance is redone when a gateway's demand or
 * acknowledgement arrives (Demand), when jobs finish, and when a link
 * registers or is forgotten; every Credit carries every queue's allowance
 * (so a later one replaces a lost one). An older gateway (no credit in its
 * Welcome) takes the declared sizes as its credit: see inflight.h. */
#ifndef OFFLOAD_ALLOWANCE_H
#define OFFLOAD_ALLOWANCE_H

#include "executor_state.h"

/* True if l's gateway takes part in the sharing now. */
int allowance_link_active(const exec_link *l);

/* Sends l every queue's allowance in one Credit (a later Credit replaces a
 * lost one, and acknowledging it acknowledges all). A Credit that cannot
 * be sent sets l->credit_unsent, for session_tick to retry. */
void allowance_send(executor *x, exec_link *l);

/* Rebalances one queue (only) or all (NULL), and sends a Credit to every
 * gateway whose allowance changed. Not while draining: the gateways
 * ignore Credit then. */
void allowance_balance(executor *x, exec_queue *only);

/* l's gateway answered a Credit or reports its waiting jobs. Returns 1
 * when that acknowledged l's first Credit (the caller then checks whether
 * the executor is ready: session_check_ready), else 0. */
int allowance_on_demand(executor *x, exec_link *l, const Offload__Demand *d);

#endif
