/* signals.h -- the signals offload's processes take through a signalfd:
 * SIGINT and SIGTERM (stop), SIGHUP (the gateway re-reads its CURVE
 * allow-list and its token file; the executor logs and ignores it). Taken through a signalfd: block
 * them in main before any thread exists (ZeroMQ's I/O threads, pool workers) so every thread
 * inherits the mask, then read them from the signalfd made from the same set. */
#ifndef OFFLOAD_SIGNALS_H
#define OFFLOAD_SIGNALS_H

#include <signal.h>

/* Fills set with SIGINT, SIGTERM and SIGHUP. */
void signals_stop_set(sigset_t *set);

/* Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and ignores SIGPIPE (a
 * peer that hangs up is seen as an error on the write). Call from main
 * before any thread exists. */
void signals_block(void);

#endif
