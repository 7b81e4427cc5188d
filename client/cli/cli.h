/* cli.h -- what the offload CLI's commands share (client/main.c and the
 * commands in client/cli/, which liboffload does not hold): the exit
 * statuses, and the commands that live in their own files. */
#ifndef OFFLOAD_CLI_H
#define OFFLOAD_CLI_H

#define PROG "offload"

/* Exit statuses, one per class of outcome (docs/clients.md, "The CLI"). */
enum {
    EXIT_OK_ = 0,
    EXIT_FAILED = 1,     /* the job ran and failed: job_failed, crashed, executor_lost, internal */
    EXIT_USAGE = 2,      /* a bad command line */
    EXIT_NO_GATEWAY = 3, /* the gateway did not answer */
    EXIT_REFUSED = 4,    /* refused as asked: bad_request, unknown_queue, unknown_function,
                            payload_too_large, unknown_job */
    EXIT_BUSY = 5,       /* retry later: queue_full, no_executor */
    EXIT_TIMEOUT = 6,    /* the deadline passed */
    EXIT_CANCELLED = 7,  /* cancelled */
    EXIT_PENDING = 8,    /* result: the detached job has not ended yet */
    EXIT_AUTH = 9,       /* the CURVE handshake failed: the gateway refused our key, or
                            --curve-server is not its key */
};

/* offload top ARGS (argv after "top"): a live table of the fleet's queues
 * and executors on a terminal, a plain one otherwise (client/cli/top.c).
 * Returns the exit status. */
int top_main(int argc, char **argv);

#endif
