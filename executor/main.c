/* main.c -- offload-executor: parses flags, then runs the executor loop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "executor.h"
#include "flags.h"
#include "log.h"
#include "signals.h"

static const char usage[] =
    "usage: offload-executor [flags]\n"
    "\n"
    "The offload executor: connects to one or more gateways (--connect), declares\n"
    "its queues (--queue NAME=threads:N) and the functions it offers (echo, sleep,\n"
    "spin), and runs the jobs the gateways send in a thread pool per queue.\n"
    "Default queues: io=threads:64 and cpu=threads:<number of CPUs>.\n";

#define PROG "offload-executor"

int main(int argc, char **argv)
{
    flag_list connect = {0}, queue_specs = {0};
    char *id = NULL, *log_level = strdup("info"), *config = NULL;
    long long heartbeat_ms = 1000, liveness = 3, max_payload = 1 << 20, ready_fd = -1;
    long long drain_timeout = 30000;
    executor_queue *queues = NULL;
    size_t nqueues = 0;
    int rc = 2;

    char host[64] = "executor";
    gethostname(host, sizeof(host) - 1);
    char default_id[128];
    snprintf(default_id, sizeof(default_id), "%s-%d", host, (int)getpid());
    id = strdup(default_id);
    if (!id || !log_level) {
        fprintf(stderr, PROG ": out of memory\n");
        free(id);
        free(log_level);
        return 2;
    }

    const flag_spec specs[] = {
        {"config", "FILE", "read flags from the [executor] section of this INI file",
         flag_set_string, &config, 0, 0, 0},
        {"connect", "ENDPOINT",
         "gateway to join, repeatable; each sees the full pool sizes as credit "
         "(default tcp://127.0.0.1:5556)",
         flag_set_list, &connect, 0, 0, 1},
        {"queue", "NAME=threads:N",
         "a queue and its thread pool, N 1..4096, repeatable "
         "(default io=threads:64 and cpu=threads:<CPUs>)",
         flag_set_list, &queue_specs, 0, 0, 1},
        {"id", "NAME", "this executor's id in Hello and the gateway's logs (default HOST-PID)",
         flag_set_string, &id, 0, 0, 0},
        {"heartbeat-ms", "MS", "heartbeat interval, 10..600000 (default 1000)", flag_set_int,
         &heartbeat_ms, CODEC_HEARTBEAT_MS_MIN, CODEC_HEARTBEAT_MS_MAX, 0},
        {"liveness", "N", "missed heartbeats before a gateway counts as silent (default 3)",
         flag_set_int, &liveness, 1, 1000, 0},
        {"max-payload", "BYTES", "largest job payload and result; match the gateway's (default 1M)",
         flag_set_size, &max_payload, 0, 256LL << 20, 0},
        {"log-level", "LEVEL", "error, warn, info or debug (default info)", flag_set_string,
         &log_level, 0, 0, 0},
        {"drain-timeout", "MS",
         "on SIGTERM, tell the gateways to send no new jobs and finish the running ones "
         "for up to MS, then exit; 0 stops at once, a second signal too (default 30000)",
         flag_set_int, &drain_timeout, 0, CODEC_MS_MAX, 0},
        {"ready-fd", "FD",
         "once every gateway has answered Welcome, write 'ready' to FD and close it "
         "(default none)",
         flag_set_int, &ready_fd, 0, 65535, 0},
        {0},
    };

    char err[512] = "";
    if (flags_parse(specs, "executor", usage, argc, argv, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    int level = log_level_parse(log_level);
    if (level < 0) {
        fprintf(stderr, PROG ": --log-level '%s': use error, warn, info or debug\n", log_level);
        goto out;
    }
    if (!codec_id_valid(id, CODEC_ID_MAX)) {
        fprintf(stderr, PROG ": --id '%s': use 1..%d printable characters, no spaces\n", id,
                CODEC_ID_MAX);
        goto out;
    }
    if (connect.count == 0)
        flag_set_list(&connect, "tcp://127.0.0.1:5556", err, sizeof(err));
    if (connect.count == 0) {
        fprintf(stderr, PROG ": out of memory\n");
        goto out;
    }

    if (queue_specs.count == 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        char cpu[64];
        snprintf(cpu, sizeof(cpu), "cpu=threads:%ld",
                 ncpu < 1                ? 1
                 : ncpu > CODEC_POOL_MAX ? CODEC_POOL_MAX
                                         : ncpu);
        flag_set_list(&queue_specs, "io=threads:64", err, sizeof(err));
        flag_set_list(&queue_specs, cpu, err, sizeof(err));
    }
    if (queue_specs.count > CODEC_QUEUES_MAX) {
        fprintf(stderr, PROG ": --queue: %zu queues (at most %d)\n", queue_specs.count,
                CODEC_QUEUES_MAX);
        goto out;
    }
    queues = calloc(queue_specs.count, sizeof(*queues));
    if (!queues) {
        fprintf(stderr, PROG ": out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < queue_specs.count; i++, nqueues++) {
        if (executor_parse_queue(queue_specs.items[i], &queues[i], err, sizeof(err)) < 0) {
            fprintf(stderr, PROG ": --queue %s\n", err);
            goto out;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(queues[j].name, queues[i].name)) {
                fprintf(stderr, PROG ": --queue '%s': queue '%s' is declared twice\n",
                        queue_specs.items[i], queues[i].name);
                goto out;
            }
    }

    log_init("executor", level);
    signals_block();
    executor_config cfg = {
        .connect = connect.items,
        .nconnect = connect.count,
        .queues = queues,
        .nqueues = nqueues,
        .id = id,
        .heartbeat_ms = (unsigned)heartbeat_ms,
        .liveness = (unsigned)liveness,
        .max_payload = (size_t)max_payload,
        .ready_fd = (int)ready_fd,
        .drain_timeout_ms = (unsigned)drain_timeout,
    };
    executor *x = executor_new(&cfg, err, sizeof(err));
    if (!x) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    rc = executor_run(x) == 0 ? 0 : 1;
    executor_destroy(&x);

out:
    flag_list_clear(&connect);
    flag_list_clear(&queue_specs);
    free(queues);
    free(id);
    free(log_level);
    free(config);
    return rc;
}
