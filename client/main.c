/* main.c -- the offload command-line tool, built on liboffload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "codec.h"
#include "keys.h"
#include "offload.h"
#include "parse.h"

static const char usage[] =
    "usage: offload COMMAND [flags] ARGS      (offload COMMAND --help for one)\n"
    "\n"
    "  call QUEUE FUNCTION [PAYLOAD|-]    run a job and print its result\n"
    "  submit QUEUE FUNCTION [PAYLOAD|-]  run a detached job; print its id\n"
    "  status ID                          a detached job's state\n"
    "  result ID                          a detached job's result (--wait to wait)\n"
    "  cancel ID                          cancel a detached job\n"
    "  queues                             the fleet's queues, as a table\n"
    "  top                                the queues and executors, live (like top)\n"
    "  bench QUEUE FUNCTION PAYLOAD       many jobs through the async API: throughput\n"
    "                                     and latency percentiles\n"
    "  keygen [--force] PATH              write a CURVE key pair: PATH.key (secret,\n"
    "                                     mode 0600) and PATH.pub\n"
    "\n"
    "Every command takes --gateway ENDPOINT (default $OFFLOAD_GATEWAY, else\n"
    "tcp://127.0.0.1:5555; a comma-separated list for several gateways), and for a gateway with "
    "CURVE on --curve-key PATH.key\n"
    "--curve-server GATEWAY.pub (default $OFFLOAD_CURVE_KEY, $OFFLOAD_CURVE_SERVER).\n"
    "PAYLOAD is the argument, or stdin when it is '-'.\n"
    "\n"
    "exit status: 0 ok; 1 the job failed; 2 usage; 3 the gateway did not answer;\n"
    "4 refused (bad request, unknown queue, function or job, payload too large);\n"
    "5 busy, retry later (queue full, no executor); 6 timeout; 7 cancelled;\n"
    "8 (result) not ended yet; 9 the gateway refused our CURVE key (or\n"
    "--curve-server is not its key).\n";

typedef struct cli {
    const char *cmd, *gateway, *key;
    const char *curve_key, *curve_server;
    const char *traceparent, *tracestate; /* W3C Trace Context for the jobs */
    offload_call_options opts;
    long long wait_ms, concurrency, requests;
    int wait, json;
    const char *pos[4];
    int npos;
} cli;

static int exit_for(int code)
{
    switch (code) {
    case OFFLOAD_OK:
        return EXIT_OK_;
    case OFFLOAD_BAD_REQUEST:
    case OFFLOAD_UNKNOWN_QUEUE:
    case OFFLOAD_UNKNOWN_FUNCTION:
    case OFFLOAD_PAYLOAD_TOO_LARGE:
    case OFFLOAD_UNKNOWN_JOB:
        return EXIT_REFUSED;
    case OFFLOAD_QUEUE_FULL:
    case OFFLOAD_NO_EXECUTOR:
        return EXIT_BUSY;
    case OFFLOAD_TIMEOUT:
        return EXIT_TIMEOUT;
    case OFFLOAD_CANCELLED:
        return EXIT_CANCELLED;
    case OFFLOAD_NO_REPLY:
        return EXIT_NO_GATEWAY;
    default:
        return EXIT_FAILED;
    }
}

static int read_stdin(char **buf, size_t *len)
{
    size_t cap = 4096;
    *len = 0;
    *buf = malloc(cap);
    while (*buf) {
        size_t n = fread(*buf + *len, 1, cap - *len, stdin);
        *len += n;
        if (n == 0)
            return ferror(stdin) ? -1 : 0;
        if (*len == cap) {
            char *b = realloc(*buf, cap *= 2);
            if (!b)
                break;
            *buf = b;
        }
    }
    free(*buf);
    return -1;
}

static void cmd_help(const char *cmd)
{
    static const struct {
        const char *cmd, *text;
    } help[] = {
        {"call", "usage: offload call [--gateway EP] [--timeout-ms MS] [--retries N] [--key KEY]\n"
                 "                    [--traceparent TP [--tracestate TS]]\n"
                 "                    QUEUE FUNCTION [PAYLOAD|-]\n"
                 "Runs FUNCTION on QUEUE and writes its result to stdout; an error goes to\n"
                 "stderr with the exit status of its class. --key: an idempotency key (a\n"
                 "second call with it gets the first job's outcome). --traceparent,\n"
                 "--tracestate: the job's W3C Trace Context, as HTTP's headers.\n"},
        {"submit", "usage: offload submit [--gateway EP] [--timeout-ms MS] [--retries N] "
                   "[--key KEY]\n"
                   "                      [--traceparent TP [--tracestate TS]]\n"
                   "                      QUEUE FUNCTION [PAYLOAD|-]\n"
                   "Runs a detached job and prints its id at once; status, result and cancel\n"
                   "take it. The gateway keeps its outcome for its --result-ttl.\n"},
        {"status", "usage: offload status [--gateway EP] ID\n"
                   "Prints 'ID STATE' (queued, running, done, failed, cancelled), and the\n"
                   "error of a failed job.\n"},
        {"result", "usage: offload result [--gateway EP] [--wait] [--wait-ms MS] ID\n"
                   "Writes a detached job's result to stdout, as call would; exit 8 while it\n"
                   "has not ended. --wait waits for it (up to --wait-ms, default 1 day).\n"},
        {"cancel", "usage: offload cancel [--gateway EP] ID\n"
                   "Cancels a detached job (a process pool's worker is killed) and prints its\n"
                   "state.\n"},
        {"queues", "usage: offload queues [--gateway EP] [--json]\n"
                   "Prints the fleet's queues, one row each: its pool kind, capacity (slots\n"
                   "over all executors), busy slots, jobs waiting, executors, and the jobs\n"
                   "completed, failed, timed out and rejected so far. --json: the document\n"
                   "GET /v1/queues answers.\n"},
        {"bench", "usage: offload bench [--gateway EP] [-c CONCURRENCY] [-n REQUESTS]\n"
                  "                     [--timeout-ms MS] QUEUE FUNCTION PAYLOAD\n"
                  "Sends REQUESTS jobs (default 10000), CONCURRENCY in flight (default 50),\n"
                  "through the asynchronous API; prints throughput and latency percentiles\n"
                  "(p50, p90, p99, max), with a progress bar on a terminal.\n"},
    };
    for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++)
        if (!strcmp(help[i].cmd, cmd)) {
            printf("%s\n%s", help[i].text,
                   "--gateway ENDPOINT: default $OFFLOAD_GATEWAY, else tcp://127.0.0.1:5555;\n"
                   "several gateways as a comma-separated list (A,B): each job goes to one that\n"
                   "is up.\n"
                   "--curve-key PATH.key --curve-server GATEWAY.pub: CURVE keys for a gateway\n"
                   "with --curve-key (default $OFFLOAD_CURVE_KEY, $OFFLOAD_CURVE_SERVER).\n");
            return;
        }
    printf("%s", usage);
}

static int number(const char *flag, const char *v, long long min, long long max, long long *out)
{
    if (parse_ll(v, out) < 0 || *out < min || *out > max) {
        fprintf(stderr, PROG ": %s wants a number %lld..%lld, got '%s'\n", flag, min, max, v);
        return -1;
    }
    return 0;
}

/* Parses argv (after the command) into cl. Returns 0, 1 after --help, or
 * -1 on a usage error (said on stderr). */
static int cli_parse(cli *cl, int argc, char **argv, int want_min, int want_max)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        long long v;
        int more = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cmd_help(cl->cmd);
            return 1;
        } else if (!strcmp(a, "--gateway") && more) {
            cl->gateway = argv[++i];
        } else if (!strcmp(a, "--curve-key") && more) {
            cl->curve_key = argv[++i];
        } else if (!strcmp(a, "--curve-server") && more) {
            cl->curve_server = argv[++i];
        } else if (!strcmp(a, "--timeout-ms") && more) {
            if (number(a, argv[++i], 1, CODEC_MS_MAX, &v) < 0)
                return -1;
            cl->opts.timeout_ms = (uint32_t)v;
        } else if (!strcmp(a, "--retries") && more) {
            if (number(a, argv[++i], 0, 100, &v) < 0)
                return -1;
            cl->opts.retries = (uint32_t)v;
        } else if (!strcmp(a, "--key") && more) {
            cl->key = argv[++i];
        } else if (!strcmp(a, "--traceparent") && more) {
            cl->traceparent = argv[++i];
        } else if (!strcmp(a, "--tracestate") && more) {
            cl->tracestate = argv[++i];
        } else if (!strcmp(a, "--json")) {
            cl->json = 1;
        } else if (!strcmp(a, "--wait")) {
            cl->wait = 1;
        } else if (!strcmp(a, "--wait-ms") && more) {
            if (number(a, argv[++i], 0, CODEC_MS_MAX, &cl->wait_ms) < 0)
                return -1;
            cl->wait = 1;
        } else if (!strcmp(a, "-c") && more) {
            if (number(a, argv[++i], 1, 100000, &cl->concurrency) < 0)
                return -1;
        } else if (!strcmp(a, "-n") && more) {
            if (number(a, argv[++i], 1, 100000000, &cl->requests) < 0)
                return -1;
        } else if (a[0] == '-' && a[1] && strcmp(a, "-") != 0) {
            fprintf(stderr, PROG " %s: unknown flag '%s' (see offload %s --help)\n", cl->cmd, a,
                    cl->cmd);
            return -1;
        } else if (cl->npos < want_max) {
            cl->pos[cl->npos++] = a;
        } else {
            fprintf(stderr, PROG " %s: too many arguments (see offload %s --help)\n", cl->cmd,
                    cl->cmd);
            return -1;
        }
    }
    if (cl->npos < want_min) {
        fprintf(stderr, PROG " %s: missing arguments (see offload %s --help)\n", cl->cmd, cl->cmd);
        return -1;
    }
    return 0;
}

static offload_client *cli_connect(const cli *cl)
{
    offload_options o = {
        .endpoint = cl->gateway, .curve_key = cl->curve_key, .curve_server = cl->curve_server};
    offload_client *c = offload_connect_with(&o);
    if (c && !offload_err(c) && (cl->traceparent || cl->tracestate))
        offload_set_trace(c, cl->traceparent, cl->tracestate);
    if (!c || offload_err(c)) {
        fprintf(stderr, PROG ": %s\n", c ? offload_errstr(c) : "out of memory");
        if (c && offload_err(c) == OFFLOAD_ERR_ARGS)
            exit(EXIT_USAGE); /* a bad key file */
        offload_free(c);
        return NULL;
    }
    return c;
}

/* The payload: the argument, stdin for '-', or none. */
static int cli_payload(const char *arg, char **payload, size_t *len)
{
    *payload = NULL;
    *len = 0;
    if (arg && !strcmp(arg, "-")) {
        if (read_stdin(payload, len) < 0) {
            fprintf(stderr, PROG ": cannot read the payload from stdin\n");
            return -1;
        }
    } else if (arg) {
        *len = strlen(arg);
        if (!(*payload = strdup(arg))) {
            fprintf(stderr, PROG ": out of memory\n");
            return -1;
        }
    }
    return 0;
}

/* A transport error: usage (2) for bad arguments, else 3. */
static int cli_transport(offload_client *c)
{
    fprintf(stderr, PROG ": %s\n", offload_errstr(c));
    return offload_err(c) == OFFLOAD_ERR_ARGS   ? EXIT_USAGE
           : offload_err(c) == OFFLOAD_ERR_AUTH ? EXIT_AUTH
                                                : EXIT_NO_GATEWAY;
}

/* Prints an outcome as call does; returns the exit status. */
static int cli_outcome(const offload_result *r)
{
    if (r->code == OFFLOAD_OK) {
        fwrite(r->payload, 1, r->len, stdout);
        return EXIT_OK_;
    }
    if (r->retry_after_s)
        fprintf(stderr, PROG ": %s: %s (job %llu; retry after %u s)\n", r->error, r->message,
                (unsigned long long)r->job_id, r->retry_after_s);
    else
        fprintf(stderr, PROG ": %s: %s (job %llu)\n", r->error, r->message,
                (unsigned long long)r->job_id);
    return exit_for(r->code);
}

static uint64_t cli_id(const char *s)
{
    long long v;
    return parse_ll(s, &v) == 0 && v > 0 ? (uint64_t)v : 0;
}

static int cmd_call_or_submit(cli *cl, int detached)
{
    char *payload;
    size_t len;
    if (cli_payload(cl->pos[2], &payload, &len) < 0)
        return EXIT_USAGE;
    offload_client *c = cli_connect(cl);
    if (!c) {
        free(payload);
        return EXIT_NO_GATEWAY;
    }
    int status;
    offload_result *r = NULL;
    if (detached || cl->key) {
        /* A keyed call is a detached job with the key, then its outcome. */
        uint64_t id;
        if (offload_submit_detached(c, cl->pos[0], cl->pos[1], payload, len, &cl->opts, cl->key,
                                    &id, &r) < 0) {
            status = cli_transport(c);
        } else if (r) {
            status = cli_outcome(r);
        } else if (detached) {
            printf("%llu\n", (unsigned long long)id);
            status = EXIT_OK_;
        } else if (offload_job(c, id, CODEC_MS_MAX, 0, &r) < 0) {
            status = cli_transport(c);
        } else {
            status = cli_outcome(r);
        }
    } else if (offload_call(c, cl->pos[0], cl->pos[1], payload, len, &cl->opts, &r) < 0) {
        status = cli_transport(c);
    } else {
        status = cli_outcome(r);
    }
    offload_result_free(r);
    free(payload);
    offload_free(c);
    return status;
}

static int cmd_job(cli *cl)
{
    uint64_t id = cli_id(cl->pos[0]);
    if (!id) {
        fprintf(stderr, PROG " %s: '%s' is not a job id\n", cl->cmd, cl->pos[0]);
        return EXIT_USAGE;
    }
    offload_client *c = cli_connect(cl);
    if (!c)
        return EXIT_NO_GATEWAY;
    int is_result = !strcmp(cl->cmd, "result"), cancel = !strcmp(cl->cmd, "cancel");
    int wait = is_result && cl->wait ? (int)(cl->wait_ms ? cl->wait_ms : CODEC_MS_MAX) : 0;
    offload_result *r;
    int status;
    if (offload_job(c, id, wait, cancel, &r) < 0) {
        status = cli_transport(c);
    } else if (r->code == OFFLOAD_UNKNOWN_JOB) {
        status = cli_outcome(r);
    } else if (is_result) {
        if (r->state == OFFLOAD_STATE_QUEUED || r->state == OFFLOAD_STATE_RUNNING) {
            fprintf(stderr, PROG ": job %llu is %s\n", (unsigned long long)id,
                    offload_state_name(r->state));
            status = EXIT_PENDING;
        } else {
            status = cli_outcome(r);
        }
    } else {
        printf("%llu %s", (unsigned long long)id, offload_state_name(r->state));
        if (r->code != OFFLOAD_OK)
            printf(" %s: %s", r->error, r->message);
        printf("\n");
        status = EXIT_OK_;
    }
    offload_result_free(r);
    offload_free(c);
    return status;
}

/* ---- queues ---------------------------------------------------------------------- */

static long long json_num(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static const char *json_str(json_t *o, const char *key, const char *none)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : none;
}

static int queue_cmp(const void *a, const void *b)
{
    return strcmp(json_str(*(json_t *const *)a, "name", ""),
                  json_str(*(json_t *const *)b, "name", ""));
}

/* The table of GET /v1/queues's document, sorted by name. */
static int queues_table(const char *text, size_t len)
{
    json_error_t err;
    json_t *root = json_loadb(text, len, 0, &err);
    json_t *list = json_object_get(root, "queues");
    if (!json_is_array(list)) {
        fprintf(stderr, PROG ": the gateway's answer is not a queue list: %s\n", err.text);
        json_decref(root);
        return EXIT_FAILED;
    }
    size_t n = json_array_size(list);
    json_t **rows = calloc(n ? n : 1, sizeof(*rows));
    if (!rows) {
        json_decref(root);
        fprintf(stderr, PROG ": out of memory\n");
        return EXIT_FAILED;
    }
    int w = 5; /* "QUEUE" */
    for (size_t i = 0; i < n; i++) {
        rows[i] = json_array_get(list, i);
        int l = (int)strlen(json_str(rows[i], "name", ""));
        w = l > w ? l : w;
    }
    qsort(rows, n, sizeof(*rows), queue_cmp);
    printf("%-*s  %-9s %8s %6s %8s %9s %10s %8s %8s %8s\n", w, "QUEUE", "KIND", "CAPACITY", "BUSY",
           "WAITING", "EXECUTORS", "COMPLETED", "FAILED", "TIMEOUTS", "REJECTED");
    for (size_t i = 0; i < n; i++) {
        json_t *q = rows[i];
        printf("%-*s  %-9s %8lld %6lld %8lld %9lld %10lld %8lld %8lld %8lld\n", w,
               json_str(q, "name", "?"), json_str(q, "kind", "-"), json_num(q, "capacity"),
               json_num(q, "busy"), json_num(q, "waiting"), json_num(q, "executors"),
               json_num(q, "completed"), json_num(q, "failed"), json_num(q, "timeouts"),
               json_num(q, "rejected"));
    }
    if (!n)
        printf("(no queues: no executor has connected, and no --queue or --route names one)\n");
    free(rows);
    json_decref(root);
    return EXIT_OK_;
}

static int cmd_queues(cli *cl)
{
    offload_client *c = cli_connect(cl);
    if (!c)
        return EXIT_NO_GATEWAY;
    offload_result *r;
    int status;
    if (offload_queues(c, &r) < 0) {
        status = cli_transport(c);
    } else if (r->code != OFFLOAD_OK) {
        status = cli_outcome(r);
    } else if (cl->json) {
        fwrite(r->payload, 1, r->len, stdout);
        printf("\n");
        status = EXIT_OK_;
    } else {
        status = queues_table((const char *)r->payload, r->len);
    }
    offload_result_free(r);
    offload_free(c);
    return status;
}

/* ---- bench ---------------------------------------------------------------------- */

typedef struct bench {
    long long sent, done, ok, failed;
    uint64_t *start_us; /* per request id (ids count from 1 on a fresh client) */
    uint64_t *lat_us;   /* latencies, in completion order */
    int tty;
} bench;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void bench_done(offload_client *c, offload_result *r, void *arg)
{
    bench *b = arg;
    (void)c;
    uint64_t id = r->request_id;
    b->lat_us[b->done++] = now_us() - b->start_us[id - 1];
    if (r->code == OFFLOAD_OK)
        b->ok++;
    else
        b->failed++;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmd_bench(cli *cl)
{
    long long n = cl->requests ? cl->requests : 10000,
              conc = cl->concurrency ? cl->concurrency : 50;
    const char *payload = cl->pos[2];
    size_t len = strlen(payload);
    bench b = {.tty = isatty(STDOUT_FILENO)};
    b.start_us = calloc((size_t)n, sizeof(*b.start_us));
    b.lat_us = calloc((size_t)n, sizeof(*b.lat_us));
    offload_client *c = b.start_us && b.lat_us ? cli_connect(cl) : NULL;
    if (!c) {
        free(b.start_us);
        free(b.lat_us);
        return EXIT_NO_GATEWAY;
    }
    uint64_t t0 = now_us(), last_bar = 0;
    int status = EXIT_OK_;
    while (b.done < n) {
        while (b.sent < n && b.sent - b.done < conc) {
            uint64_t id;
            b.start_us[b.sent] = now_us();
            if (offload_submit(c, cl->pos[0], cl->pos[1], payload, len, &cl->opts, bench_done, &b,
                               &id) < 0) {
                status = cli_transport(c);
                goto out;
            }
            b.sent++;
        }
        if (offload_dispatch(c, 1000) < 0) {
            status = cli_transport(c);
            goto out;
        }
        if (b.tty && now_us() - last_bar > 100000) {
            last_bar = now_us();
            int w = (int)(40 * b.done / n);
            printf("\r[%-40.*s] %lld/%lld", w, "========================================", b.done,
                   n);
            fflush(stdout);
        }
    }
    double secs = (double)(now_us() - t0) / 1e6;
    qsort(b.lat_us, (size_t)n, sizeof(*b.lat_us), cmp_u64);
#define PCT(p) ((double)b.lat_us[(size_t)((double)(n - 1) * (p))] / 1000.0)
    printf("%s%lld requests, %lld in flight, %.3f s: %.0f req/s; ok %lld, failed %lld\n"
           "latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
           b.tty ? "\r" : "", n, conc, secs, (double)n / secs, b.ok, b.failed, PCT(0.5), PCT(0.9),
           PCT(0.99), (double)b.lat_us[n - 1] / 1000.0);
    if (b.failed)
        status = EXIT_FAILED;
out:
    offload_free(c);
    free(b.start_us);
    free(b.lat_us);
    return status;
}

/* offload keygen [--force] PATH */
static int cmd_keygen(int argc, char **argv)
{
    const char *path = NULL;
    int force = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: offload keygen [--force] PATH\n"
                   "Writes a new CURVE key pair: PATH.key (public and secret key, mode 0600)\n"
                   "and PATH.pub (the public key). An existing file is not replaced unless\n"
                   "--force. Put a peer's PATH.pub in the gateway's --curve-allow directory to\n"
                   "admit it (docs/security.md).\n");
            return EXIT_OK_;
        }
        if (!strcmp(argv[i], "--force"))
            force = 1;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, PROG " keygen: unknown flag '%s' (see offload keygen --help)\n",
                    argv[i]);
            return EXIT_USAGE;
        } else if (!path)
            path = argv[i];
        else {
            fprintf(stderr, PROG " keygen: one PATH only (see offload keygen --help)\n");
            return EXIT_USAGE;
        }
    }
    if (!path) {
        fprintf(stderr, PROG " keygen: missing PATH (see offload keygen --help)\n");
        return EXIT_USAGE;
    }
    char err[512];
    if (keys_generate(path, force, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG " keygen: %s\n", err);
        return EXIT_FAILED;
    }
    printf("wrote %s.key (secret, mode 0600) and %s.pub\n", path, path);
    return EXIT_OK_;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("%s", usage);
        return argc < 2 ? EXIT_USAGE : EXIT_OK_;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("offload %s\n", OFFLOAD_VERSION);
        return EXIT_OK_;
    }
    if (!strcmp(argv[1], "keygen"))
        return cmd_keygen(argc - 2, argv + 2);
    if (!strcmp(argv[1], "top"))
        return top_main(argc - 2, argv + 2);
    static const struct {
        const char *name;
        int min, max;
    } cmds[] = {{"call", 2, 3},   {"submit", 2, 3}, {"status", 1, 1}, {"result", 1, 1},
                {"cancel", 1, 1}, {"bench", 3, 3},  {"queues", 0, 0}};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        cli cl = {.cmd = cmds[i].name, .gateway = getenv("OFFLOAD_GATEWAY")};
        int rc = cli_parse(&cl, argc - 2, argv + 2, cmds[i].min, cmds[i].max);
        if (rc != 0)
            return rc > 0 ? EXIT_OK_ : EXIT_USAGE;
        if (!strcmp(cl.cmd, "call") || !strcmp(cl.cmd, "submit"))
            return cmd_call_or_submit(&cl, !strcmp(cl.cmd, "submit"));
        if (!strcmp(cl.cmd, "bench"))
            return cmd_bench(&cl);
        if (!strcmp(cl.cmd, "queues"))
            return cmd_queues(&cl);
        return cmd_job(&cl);
    }
    fprintf(stderr, PROG ": unknown command '%s'\n%s", argv[1], usage);
    return EXIT_USAGE;
}
