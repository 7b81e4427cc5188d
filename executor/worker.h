/* worker.h -- `offload-executor serve-worker`: the executor's own worker
 * program for process pools without a --command. It loads the same
 * plugins, announces the built-ins and the plugins' functions, and runs
 * one job at a time from stdin (the worker protocol, wproto.h) until stdin
 * ends. */
#ifndef OFFLOAD_WORKER_H
#define OFFLOAD_WORKER_H

/* argv[0] is "serve-worker"; flags: --plugin PATH (repeatable),
 * --max-payload BYTES. Returns the exit status. */
int worker_serve(int argc, char **argv);

#endif
