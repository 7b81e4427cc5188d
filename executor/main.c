/* main.c -- offload-executor: parses flags, then runs the executor loop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "executor.h"
#include "flags.h"
#include "keys.h"
#include "log.h"
#include "signals.h"
#include "wire.h"
#include "worker.h"

static const char usage[] =
    "usage: offload-executor [flags]\n"
    "       offload-executor serve-worker [--plugin PATH]...   (a process pool's worker)\n"
    "\n"
    "The offload executor: connects to one or more gateways (--connect), declares\n"
    "its queues and the functions each offers, and runs the jobs the gateways send\n"
    "in a pool per queue:\n"
    "  --queue NAME=threads:N        N threads run the functions in-process\n"
    "  --queue NAME=threads:MIN-MAX  elastic: grows to MAX under load, back to MIN\n"
    "  --queue NAME=processes:N      N worker processes, one job each at a time:\n"
    "                                crash isolation, hard deadlines, memory limits\n"
    "Functions: the built-ins echo, sleep and spin, those of every --plugin, and on\n"
    "a --command queue those its worker program announces (only there).\n"
    "Default queues: io=threads:64 and cpu=processes:<number of CPUs>.\n";

/* Finds the queue a per-queue flag value names: "NAME=VALUE" sets that
 * queue's; a bare "VALUE" (allow_all) every process queue's. Returns the
 * value part, or NULL with err set. *all is set for a bare value. */
static const char *queue_flag(const char *flag, const char *spec, executor_queue *queues,
                              size_t nqueues, int allow_all, executor_queue **q, int *all,
                              char *err, size_t errlen)
{
    const char *eq = strchr(spec, '=');
    *q = NULL;
    *all = 0;
    if (!eq) {
        if (allow_all) {
            *all = 1;
            return spec;
        }
        snprintf(err, errlen, "--%s '%s': expected NAME=VALUE", flag, spec);
        return NULL;
    }
    for (size_t i = 0; i < nqueues; i++)
        if (strlen(queues[i].name) == (size_t)(eq - spec) &&
            !strncmp(queues[i].name, spec, (size_t)(eq - spec)))
            *q = &queues[i];
    if (!*q) {
        snprintf(err, errlen, "--%s '%s': no --queue named '%.*s'", flag, spec, (int)(eq - spec),
                 spec);
        return NULL;
    }
    if (!(*q)->processes) {
        snprintf(err, errlen, "--%s '%s': queue '%s' is not a process pool (NAME=processes:N)",
                 flag, spec, (*q)->name);
        return NULL;
    }
    return eq + 1;
}

/* Applies --max-jobs-per-worker or --max-rss-mb values ([NAME=]N). */
static int queue_limits(const char *flag, const flag_list *values, long long max,
                        executor_queue *queues, size_t nqueues, int rss, char *err, size_t errlen)
{
    for (size_t i = 0; i < values->count; i++) {
        executor_queue *q;
        int all;
        const char *v =
            queue_flag(flag, values->items[i], queues, nqueues, 1, &q, &all, err, errlen);
        long long n;
        if (!v)
            return -1;
        if (parse_ll(v, &n) < 0 || n < 0 || n > max) {
            snprintf(err, errlen, "--%s '%s': expected [NAME=]N, N 0..%lld (0: no limit)", flag,
                     values->items[i], max);
            return -1;
        }
        for (size_t k = 0; k < nqueues; k++) {
            executor_queue *t = &queues[k];
            if (all ? !t->processes : t != q)
                continue;
            if (rss)
                t->max_rss_mb = (unsigned)n;
            else
                t->max_jobs = (unsigned)n;
        }
    }
    return 0;
}

#define PROG "offload-executor"

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "serve-worker"))
        return worker_serve(argc - 1, argv + 1);

    flag_list connect = {0}, queue_specs = {0}, plugins = {0}, commands = {0};
    flag_list max_jobs = {0}, max_rss = {0};
    long long kill_grace = 1000, thread_idle = 10000, worker_start = 10000;
    char self_exe[4096] = "";
    char *id = NULL, *log_level = strdup("info"), *log_format = strdup("text"), *config = NULL;
    char *curve_key = NULL, *curve_server = NULL;
    keys_file mine = {0}, gateway_key = {0};
    long long heartbeat_ms = 1000, liveness = 3, max_payload = 1 << 20, ready_fd = -1;
    long long drain_timeout = 30000, max_frame = 0, max_pending = -1, link_timeout = 10000;
    long long pool_stats_ms = -1; /* -1: --heartbeat-ms */
    executor_queue *queues = NULL;
    size_t nqueues = 0;
    int rc = 2;

    char host[64] = "executor";
    gethostname(host, sizeof(host) - 1);
    char default_id[128];
    snprintf(default_id, sizeof(default_id), "%s-%d", host, (int)getpid());
    id = strdup(default_id);
    if (!id || !log_level || !log_format) {
        fprintf(stderr, PROG ": out of memory\n");
        free(id);
        free(log_level);
        free(log_format);
        return 2;
    }

    const flag_spec specs[] = {
        {"config", "FILE", "read flags from the [executor] section of this INI file",
         flag_set_string, &config, 0, 0, 0},
        {"connect", "ENDPOINT",
         "gateway to join, repeatable; each sees the full pool sizes as credit "
         "(default tcp://127.0.0.1:5556)",
         flag_set_list, &connect, 0, 0, 1},
        {"queue", "NAME=KIND:SIZE",
         "a queue and its pool: threads:N, threads:MIN-MAX or processes:N, sizes 1..4096, "
         "repeatable (default io=threads:64 and cpu=processes:<CPUs>)",
         flag_set_list, &queue_specs, 0, 0, 1},
        {"id", "NAME", "this executor's id in Hello and the gateway's logs (default HOST-PID)",
         flag_set_string, &id, 0, 0, 0},
        {"heartbeat-ms", "MS", "heartbeat interval, 10..600000 (default 1000)", flag_set_int,
         &heartbeat_ms, CODEC_HEARTBEAT_MS_MIN, CODEC_HEARTBEAT_MS_MAX, 0},
        {"liveness", "N", "missed heartbeats before a gateway counts as silent (default 3)",
         flag_set_int, &liveness, 1, 1000, 0},
        {"pool-stats-ms", "MS",
         "tell the gateways that take them (Welcome.pool_stats) the pools' state (workers "
         "alive and busy, respawns, kills, memory) at most every MS when it changed, and "
         "every 10 x MS regardless; at least --heartbeat-ms; 0: never (default "
         "--heartbeat-ms)",
         flag_set_int, &pool_stats_ms, 0, CODEC_HEARTBEAT_MS_MAX, 0},
        {"link-timeout-ms", "MS",
         "a connection to a gateway that carries nothing (not even ZeroMQ's pings) for MS is "
         "dropped and dialled again, and the jobs running for that gateway are lost; a "
         "gateway stopped or stalled for less keeps them; at least heartbeat-ms x liveness "
         "(default 10000)",
         flag_set_int, &link_timeout, CODEC_HEARTBEAT_MS_MIN, CODEC_MS_MAX, 0},
        {"max-payload", "BYTES",
         "largest job payload and result, told to the gateways in Hello: they send no larger "
         "job; a larger one is answered 413 payload_too_large (default 1M)",
         flag_set_size, &max_payload, 0, 256LL << 20, 0},
        {"max-frame", "BYTES",
         "largest frame read from a gateway; a Job over --max-payload but within it is answered "
         "payload_too_large, a larger frame makes ZeroMQ drop the connection, which is then "
         "reopened (default the larger of 2 x --max-payload and --max-payload + 64M)",
         flag_set_size, &max_frame, 0, 1LL << 30, 0},
        {"max-pending", "N",
         "jobs per queue held beyond its pool size, waiting for a worker (only gateways "
         "older than credit send those); past it a Job is answered 503 queue_full at once "
         "(default: the pool size x the number of --connect gateways)",
         flag_set_int, &max_pending, 0, 1000000, 0},
        {"log-level", "LEVEL", "error, warn, info or debug (default info)", flag_set_string,
         &log_level, 0, 0, 0},
        {"log-format", "FORMAT",
         "text ('ts LEVEL executor key=value...'), logfmt or json (one object a line) "
         "(default text)",
         flag_set_string, &log_format, 0, 0, 0},
        {"drain-timeout", "MS",
         "on SIGTERM, tell the gateways to send no new jobs and finish the running ones "
         "for up to MS, then exit; 0 stops at once, a second signal too (default 30000)",
         flag_set_int, &drain_timeout, 0, CODEC_MS_MAX, 0},
        {"plugin", "PATH",
         "a plugin (a shared object, executor/offload_plugin.h) whose functions every "
         "queue without --command offers, repeatable",
         flag_set_list, &plugins, 0, 0, 1},
        {"command", "NAME=CMD",
         "queue NAME (processes:N) runs CMD (through /bin/sh -c) as its worker program, "
         "speaking proto/worker.md on stdin/stdout; its functions exist on NAME only, "
         "repeatable",
         flag_set_list, &commands, 0, 0, 1},
        {"max-jobs-per-worker", "[NAME=]N",
         "replace a worker process after N jobs; NAME= for one process queue, else all "
         "(default 0: never)",
         flag_set_list, &max_jobs, 0, 0, 1},
        {"max-rss-mb", "[NAME=]MB",
         "kill a worker process whose resident memory passes MB while a job runs (the caller "
         "gets 502 crashed); NAME= for one process queue, else all (default 0: no limit)",
         flag_set_list, &max_rss, 0, 0, 1},
        {"kill-grace-ms", "MS",
         "a worker process past its job's deadline, or whose job was cancelled, gets SIGTERM, "
         "then SIGKILL after MS (default 1000)",
         flag_set_int, &kill_grace, 0, 60000, 0},
        {"thread-idle-ms", "MS",
         "an elastic pool's thread idle for MS exits, down to MIN (default 10000)", flag_set_int,
         &thread_idle, 1, CODEC_MS_MAX, 0},
        {"worker-start-timeout", "MS",
         "a worker process must announce its functions within MS of its start (default 10000)",
         flag_set_int, &worker_start, 1, 600000, 0},
        {"curve-key", "PATH.key",
         "this executor's CURVE key pair (offload keygen), for gateways with --curve-key; "
         "with --curve-server",
         flag_set_string, &curve_key, 0, 0, 0},
        {"curve-server", "PATH.pub", "the gateway's public key (its --curve-key's .pub)",
         flag_set_string, &curve_server, 0, 0, 0},
        {"ready-fd", "FD",
         "once every gateway has answered Welcome (and applied a Credit, if it speaks "
         "credit), write 'ready' to FD and close it (default none)",
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
    int format = log_format_parse(log_format);
    if (format < 0) {
        fprintf(stderr, PROG ": --log-format '%s': use text, logfmt or json\n", log_format);
        goto out;
    }
    if (!codec_id_valid(id, CODEC_ID_MAX)) {
        fprintf(stderr, PROG ": --id '%s': use 1..%d printable characters, no spaces\n", id,
                CODEC_ID_MAX);
        goto out;
    }
    if (pool_stats_ms < 0)
        pool_stats_ms = heartbeat_ms;
    if (pool_stats_ms > 0 && pool_stats_ms < heartbeat_ms) {
        fprintf(stderr,
                PROG ": --pool-stats-ms %lld: at least --heartbeat-ms (%lld), or 0 to send "
                     "none\n",
                pool_stats_ms, heartbeat_ms);
        goto out;
    }
    if (max_frame == 0) {
        max_frame = 2 * max_payload;
        if (max_frame < max_payload + (64LL << 20))
            max_frame = max_payload + (64LL << 20);
    } else if (max_frame < max_payload + WIRE_FRAME_SLACK) {
        fprintf(stderr,
                PROG ": --max-frame %lld: at least --max-payload + %d (%lld) is needed to "
                     "read a Job of --max-payload\n",
                max_frame, WIRE_FRAME_SLACK, max_payload + WIRE_FRAME_SLACK);
        goto out;
    }
    if (connect.count == 0)
        flag_set_list(&connect, "tcp://127.0.0.1:5556", err, sizeof(err));
    if (connect.count == 0) {
        fprintf(stderr, PROG ": out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < connect.count; i++) {
        /* ZeroMQ takes "tcp://:5556" and then never connects anywhere. */
        const char *ep = connect.items[i];
        if (!strncmp(ep, "tcp://", 6) && (ep[6] == ':' || ep[6] == '*' || !ep[6])) {
            fprintf(stderr, PROG ": --connect '%s': name the gateway's host (tcp://HOST:PORT)\n",
                    ep);
            goto out;
        }
    }

    if (queue_specs.count == 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        char cpu[64];
        snprintf(cpu, sizeof(cpu), "cpu=processes:%ld",
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

    for (size_t i = 0; i < commands.count; i++) {
        executor_queue *q;
        int all;
        const char *cmd = queue_flag("command", commands.items[i], queues, nqueues, 0, &q, &all,
                                     err, sizeof(err));
        if (!cmd) {
            fprintf(stderr, PROG ": %s\n", err);
            goto out;
        }
        if (!*cmd || strlen(cmd) > 4096) {
            fprintf(stderr, PROG ": --command '%s': a command of 1..4096 characters\n",
                    commands.items[i]);
            goto out;
        }
        if (q->command) {
            fprintf(stderr, PROG ": --command: queue '%s' has two commands\n", q->name);
            goto out;
        }
        q->command = cmd;
    }
    if (queue_limits("max-jobs-per-worker", &max_jobs, 1000000000, queues, nqueues, 0, err,
                     sizeof(err)) < 0 ||
        queue_limits("max-rss-mb", &max_rss, 1 << 24, queues, nqueues, 1, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    if (!curve_key != !curve_server) {
        fprintf(stderr, PROG ": --curve-key and --curve-server go together: give both (the "
                             "gateway uses CURVE) or neither\n");
        goto out;
    }
    if (curve_key && (keys_read(curve_key, 1, &mine, err, sizeof(err)) < 0 ||
                      keys_read(curve_server, 0, &gateway_key, err, sizeof(err)) < 0)) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    ssize_t sl = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
    self_exe[sl > 0 ? sl : 0] = '\0';

    log_init("executor", level);
    log_set_format(format);
    signals_block();
    executor_config cfg = {
        .connect = connect.items,
        .nconnect = connect.count,
        .queues = queues,
        .nqueues = nqueues,
        .id = id,
        .heartbeat_ms = (unsigned)heartbeat_ms,
        .liveness = (unsigned)liveness,
        .link_timeout_ms =
            (unsigned)(link_timeout > heartbeat_ms * liveness ? link_timeout
                                                              : heartbeat_ms * liveness),
        .max_payload = (size_t)max_payload,
        .max_frame = (size_t)max_frame,
        .max_pending = (long)max_pending,
        .ready_fd = (int)ready_fd,
        .drain_timeout_ms = (unsigned)drain_timeout,
        .plugins = plugins.items,
        .nplugins = plugins.count,
        .self_exe = self_exe[0] ? self_exe : NULL,
        .kill_grace_ms = (unsigned)kill_grace,
        .thread_idle_ms = (unsigned)thread_idle,
        .worker_start_ms = (unsigned)worker_start,
        .pool_stats_ms = (unsigned)pool_stats_ms,
        .curve_public = curve_key ? mine.public_key : NULL,
        .curve_secret = curve_key ? mine.secret_key : NULL,
        .curve_server = curve_key ? gateway_key.public_key : NULL,
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
    flag_list_clear(&plugins);
    flag_list_clear(&commands);
    flag_list_clear(&max_jobs);
    flag_list_clear(&max_rss);
    free(queues);
    free(id);
    free(log_level);
    free(log_format);
    free(config);
    free(curve_key);
    free(curve_server);
    memset(&mine, 0, sizeof(mine));
    return rc;
}
