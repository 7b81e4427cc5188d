/* signals.h -- the signals that stop offload's processes (SIGINT, SIGTERM),
 * taken through a signalfd: block them in main before any thread exists
 * (ZeroMQ's I/O threads, pool workers) so every thread inherits the mask,
 * then read them from the signalfd made from the same set. */
#ifndef OFFLOAD_SIGNALS_H
#define OFFLOAD_SIGNALS_H

#include <signal.h>

/* Fills set with SIGINT, SIGTERM and SIGHUP (the gateway re-reads its
 * allow-lists on SIGHUP; the executor ignores it). */
void signals_stop_set(sigset_t *set);

/* Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and ignores SIGPIPE (a
 * peer that hangs up is seen as an error on the write). Call from main
 * before any thread exists. */
void signals_block(void);

#endif
