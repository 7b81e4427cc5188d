/* main.c -- offload-gateway: parses flags, then runs the gateway loop. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway.h"
#include "log.h"
#include "signals.h"

/* glibc takes no mmap threshold above 32M (64-bit). */
#define GATEWAY_MMAP_THRESHOLD_MAX (32LL << 20)

static const char usage[] =
    "usage: offload-gateway [flags]\n"
    "\n"
    "The offload gateway: answers its own routes (/healthz, /readyz, /metrics,\n"
    "/v1/queues, /v1/delay, the dashboard /ui and its live data /v1/events), and\n"
    "for each job (POST /v1/jobs/QUEUE/FUNCTION, or a --route) suspends the HTTP\n"
    "request, queues the job, sends it to an executor with a free slot, and\n"
    "answers when it ends. Executors connect to --executors; see README.md.\n";

int main(int argc, char **argv)
{
    gateway_config cfg = {
        .http = strdup("0.0.0.0:8080"),
        .executors = strdup("tcp://*:5556"),
        .clients = strdup("tcp://*:5555"),
        .log_level = strdup("info"),
        .log_format = strdup("text"),
        .max_payload = 1 << 20,
        .default_timeout_ms = 60000,
        .max_timeout_ms = 3600000,
        .max_connections = 4096,
        .header_timeout_ms = 30000,
        .body_timeout_ms = 60000,
        .max_waiting = 10000,
        .result_ttl_ms = 300000,
        .result_max_bytes = 64LL << 20,
        .max_detached = 10000,
        .max_executors = 1024,
        .max_queues = QUEUES_DEFAULT,
        .max_functions = 1024,
        .max_silence_ms = 60000,
        .max_clients = 10000,
        .max_held_bytes = 256LL << 20,
        .heartbeat_ms = 1000,
        .liveness = 3,
        .drain_timeout_ms = 30000,
        .turn_budget_us = LOOP_BUDGET_US_DEFAULT,
        .turn_budget_bytes = LOOP_BUDGET_BYTES_DEFAULT,
        .ready_fd = -1,
        .metrics_max_series = TALLY_MAX_DEFAULT,
        .metrics_cache_ms = 100,
        .recent_failures = FAILURES_DEFAULT,
        .max_event_streams = 32,
        .event_stall_ms = 30000,
    };
    char host[64] = "gateway";
    gethostname(host, sizeof(host) - 1);
    char id[128];
    snprintf(id, sizeof(id), "%s-%d", host, (int)getpid());
    cfg.id = strdup(id);
    char err[512] = "";
    int rc = 2;
    if (!cfg.http || !cfg.executors || !cfg.clients || !cfg.log_level || !cfg.log_format || !cfg.id) {
        fprintf(stderr, "offload-gateway: out of memory\n");
        goto out;
    }

    const flag_spec specs[] = {
        {"config", "FILE", "read flags from the [gateway] section of this INI file",
         flag_set_string, &cfg.config, 0, 0, 0},
        {"http", "HOST:PORT", "HTTP listen address (default 0.0.0.0:8080; port 0: any free)",
         flag_set_string, &cfg.http, 0, 0, 0},
        {"executors", "ENDPOINT", "ZeroMQ bind for executors (default tcp://*:5556)",
         flag_set_string, &cfg.executors, 0, 0, 0},
        {"clients", "ENDPOINT", "ZeroMQ bind for liboffload callers (default tcp://*:5555)",
         flag_set_string, &cfg.clients, 0, 0, 0},
        {"curve-key", "PATH.key",
         "this gateway's CURVE key pair (offload keygen): both ZeroMQ sockets encrypt and "
         "admit only the keys in --curve-allow; give both flags or neither",
         flag_set_string, &cfg.curve_key, 0, 0, 0},
        {"curve-allow", "DIR",
         "every DIR/NAME.pub admits its key (User-Id NAME); 'queues = a,b' in one limits that "
         "executor key to those queues; re-read on SIGHUP",
         flag_set_string, &cfg.curve_allow, 0, 0, 0},
        {"route", "'METHOD /path=TARGET'",
         "serve a path: TARGET is delay:MS or job:QUEUE/FUNCTION[:PAYLOAD] (repeatable)",
         flag_set_list, &cfg.routes, 0, 0, 1},
        {"queue", "NAME[:max-waiting=N]",
         "a queue known before any executor declares it, with its own --max-waiting "
         "(repeatable)",
         flag_set_list, &cfg.queues, 0, 0, 1},
        {"max-payload", "BYTES", "largest job payload; larger bodies get 413 (default 1M)",
         flag_set_size, &cfg.max_payload, 0, 256LL << 20, 0},
        {"default-timeout-ms", "MS", "a job's deadline when the request sets none (default 60000)",
         flag_set_int, &cfg.default_timeout_ms, 1, CODEC_MS_MAX, 0},
        {"max-timeout-ms", "MS", "largest timeout_ms a request may ask for (default 3600000)",
         flag_set_int, &cfg.max_timeout_ms, 1, CODEC_MS_MAX, 0},
        {"max-connections", "N", "HTTP connections open at once (default 4096)", flag_set_int,
         &cfg.max_connections, 1, 1000000, 0},
        {"max-connections-per-ip", "N",
         "HTTP connections open at once from one address; past it a new one is closed at once "
         "(default 0: no limit)",
         flag_set_int, &cfg.max_connections_per_ip, 0, 1000000, 0},
        {"header-timeout-ms", "MS",
         "a request's headers must arrive within MS of the connection's start or of its "
         "previous answer (this bounds idle keep-alive too), else the connection is closed "
         "(default 30000)",
         flag_set_int, &cfg.header_timeout_ms, 100, CODEC_MS_MAX, 0},
        {"body-timeout-ms", "MS",
         "a request's body must arrive within MS of its headers, else the connection is "
         "closed (default 60000)",
         flag_set_int, &cfg.body_timeout_ms, 100, CODEC_MS_MAX, 0},
        {"max-waiting", "N", "jobs waiting per queue before 503 queue_full (default 10000)",
         flag_set_int, &cfg.max_waiting, 0, 100000000, 0},
        {"result-ttl", "MS",
         "a detached job's (?wait=false, Idempotency-Key) outcome is kept this long after it "
         "ends (default 300000)",
         flag_set_int, &cfg.result_ttl_ms, 1, CODEC_MS_MAX, 0},
        {"result-max-bytes", "BYTES",
         "outcome bytes of detached jobs kept at once; past it the oldest ended go first "
         "(default 64M)",
         flag_set_size, &cfg.result_max_bytes, 0, 16LL << 30, 0},
        {"max-detached", "N",
         "detached jobs kept at once, open and ended; past it a new one gets 503 queue_full "
         "(default 10000)",
         flag_set_int, &cfg.max_detached, 1, 10000000, 0},
        {"max-executors", "N",
         "executors registered at once; past it a Hello is refused (REFUSE_LIMIT) "
         "(default 1024)",
         flag_set_int, &cfg.max_executors, 1, 1000000, 0},
        {"max-queues", "N",
         "queues known at once; a Hello that would make more is refused; a queue no "
         "executor, job, --route or --queue refers to is freed (default 1024, at most 65536)",
         flag_set_int, &cfg.max_queues, 1, QUEUES_CEILING, 0},
        {"max-functions", "N",
         "functions one executor's Hello may declare, over all its queues (default 1024)",
         flag_set_int, &cfg.max_functions, 1, CODEC_QUEUES_MAX * CODEC_FUNCTIONS_MAX, 0},
        {"max-silence-ms", "MS",
         "largest heartbeat_ms x liveness a Hello may ask for: how long a dead executor can "
         "stay registered (default 60000)",
         flag_set_int, &cfg.max_silence_ms, CODEC_HEARTBEAT_MS_MIN,
         (long long)CODEC_HEARTBEAT_MS_MAX * CODEC_LIVENESS_MAX, 0},
        {"max-clients", "N",
         "clients-socket identities with calls in flight at once, and Queries or keyed "
         "Submits waiting at once; past it they get queue_full (default 10000)",
         flag_set_int, &cfg.max_clients, 1, 10000000, 0},
        {"max-frame", "BYTES",
         "largest frame read from an executor: a Result over --max-payload but within it "
         "answers its caller 413 payload_too_large and keeps the executor; a larger frame drops "
         "the executor's connection (default the larger of 2 x --max-payload and "
         "--max-payload + 64M)",
         flag_set_size, &cfg.max_frame, 0, 1LL << 31, 0},
        {"max-held-bytes", "BYTES",
         "payload bytes the gateway holds at once: HTTP bodies being received, jobs waiting, "
         "running or kept for a retry; past it a request gets 503 queue_full, before its body "
         "is read when its Content-Length says it would not fit; 0: no bound (default 256M)",
         flag_set_size, &cfg.max_held_bytes, 0, 1LL << 40, 0},
        {"default-retries", "N",
         "times a job may be sent again when its executor is lost, unless the request says "
         "(default 0)",
         flag_set_int, &cfg.default_retries, 0, 100, 0},
        {"drain-timeout", "MS",
         "on SIGTERM, stop accepting and let requests in progress finish for up to MS; "
         "the rest get 503; 0 stops at once, a second signal too (default 30000)",
         flag_set_int, &cfg.drain_timeout_ms, 0, CODEC_MS_MAX, 0},
        {"heartbeat-ms", "MS", "heartbeat interval for executors that set none (default 1000)",
         flag_set_int, &cfg.heartbeat_ms, CODEC_HEARTBEAT_MS_MIN, CODEC_HEARTBEAT_MS_MAX, 0},
        {"liveness", "N", "missed heartbeats before an executor is dead (default 3)", flag_set_int,
         &cfg.liveness, 1, 1000, 0},
        {"http-token-file", "FILE",
         "HTTP callers must send Authorization: Bearer TOKEN with a token of FILE (one a line, "
         "optionally followed by the queues it may use); /healthz and /readyz stay open; re-read "
         "on SIGHUP",
         flag_set_string, &cfg.http_token_file, 0, 0, 0},
        {"tls-cert", "FILE", "serve HTTPS with this PEM certificate (chain); needs --tls-key",
         flag_set_string, &cfg.tls_cert, 0, 0, 0},
        {"tls-key", "FILE", "the PEM private key of --tls-cert (unencrypted; keep it mode 600)",
         flag_set_string, &cfg.tls_key, 0, 0, 0},
        {"turn-budget-us", "US",
         "in one loop turn, each ZeroMQ socket, and HTTP request bodies, are read for at most US "
         "microseconds (then the other sources and timers get theirs; the rest is read next "
         "turn) (default 1000)",
         flag_set_int, &cfg.turn_budget_us, 100, 1000000, 0},
        {"turn-budget-bytes", "BYTES",
         "in one loop turn, each ZeroMQ socket is read for at most BYTES of messages, and at "
         "least one; HTTP takes about BYTES of request bodies; jobs sent to executors take "
         "at most BYTES (each counting its payload plus 4 KiB, at least one job) while "
         "reading, and as much at the turn's end (default 1M)",
         flag_set_size, &cfg.turn_budget_bytes, 1, 1LL << 30, 0},
        {"turn-accepts", "N",
         "in one loop turn, the HTTP server takes up at most N new connections whose first "
         "bytes came (fewer while turns run long; GETs and HEADs go besides, up to 64); the rest "
         "wait "
         "for the next turn (default 64, or 2 with --tls-cert: each costs a TLS handshake)",
         flag_set_int, &cfg.turn_accepts, 1, 100000, 0},
        {"metrics-max-series", "N",
         "offload_jobs_total series (queue, function, outcome) with a function of their own; "
         "past it, under function _other (default 2000)",
         flag_set_int, &cfg.metrics_max_series, 1, TALLY_MAX_CEILING, 0},
        {"metrics-cache-ms", "MS",
         "GET /metrics answers with the body rendered less than MS ago: one render per MS "
         "however often it is scraped; 0: render every scrape (default 100)",
         flag_set_int, &cfg.metrics_cache_ms, 0, 60000, 0},
        {"recent-failures", "N",
         "failed jobs kept, newest first, for GET /v1/failures and the dashboard (/ui) "
         "(default 50)",
         flag_set_int, &cfg.recent_failures, 0, FAILURES_CEILING, 0},
        {"max-event-streams", "N",
         "GET /v1/events streams (the dashboard's live data) open at once; past it 503 "
         "too_many_streams (default 32)",
         flag_set_int, &cfg.max_event_streams, 0, 10000, 0},
        {"event-stall-ms", "MS",
         "an event stream whose client takes no bytes for MS (rounded up to a second) is "
         "closed (default 30000)",
         flag_set_int, &cfg.event_stall_ms, 1000, 3600000, 0},
        {"id", "NAME", "this gateway's id in logs and Welcome (default HOST-PID)", flag_set_string,
         &cfg.id, 0, 0, 0},
        {"log-level", "LEVEL", "error, warn, info or debug (default info)", flag_set_string,
         &cfg.log_level, 0, 0, 0},
        {"log-format", "FORMAT",
         "text ('ts LEVEL gateway key=value...'), logfmt or json (one object a line) "
         "(default text)",
         flag_set_string, &cfg.log_format, 0, 0, 0},
        {"ready-fd", "FD",
         "once listening, write 'http=... executors=... clients=...' to FD and close it",
         flag_set_int, &cfg.ready_fd, 0, 65535, 0},
        {0},
    };

    if (flags_parse(specs, "gateway", usage, argc, argv, err, sizeof(err)) < 0) {
        fprintf(stderr, "offload-gateway: %s\n", err);
        goto out;
    }
    int level = log_level_parse(cfg.log_level);
    if (level < 0) {
        fprintf(stderr, "offload-gateway: --log-level '%s': use error, warn, info or debug\n",
                cfg.log_level);
        goto out;
    }
    int format = log_format_parse(cfg.log_format);
    if (format < 0) {
        fprintf(stderr, "offload-gateway: --log-format '%s': use text, logfmt or json\n",
                cfg.log_format);
        goto out;
    }
    log_init("gateway", level);
    log_set_format(format);

    /* Payloads of up to --max-payload come and go by the thousand. Left to
     * itself, glibc mmaps the first ones and then raises its thresholds as
     * they are freed; the heap it trims only at its top then kept a flood's
     * memory (2.5 GB idle). Mmapping every payload instead gives memory
     * back but costs a fresh zeroed page per 4 KiB on every copy (half the
     * loop's CPU in a 1 MiB Submit flood). And a free() that trims the top
     * of the heap can hand back a whole flood at once (20 ms in one turn).
     * So: payload-sized blocks come from the heap and are reused, free()
     * never trims, and gw_trim (gateway.c) hands the free pages back in a
     * quiet second once the heap grew (malloc_trim releases free pages
     * anywhere in every arena). */
    {
        long long t = (long long)cfg.max_payload + (64 << 10);
        if (t > GATEWAY_MMAP_THRESHOLD_MAX)
            t = GATEWAY_MMAP_THRESHOLD_MAX;
        mallopt(M_MMAP_THRESHOLD, (int)t);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
    }

    /* SIGINT/SIGTERM arrive through a signalfd: block them before any thread
     * (ZeroMQ's I/O threads) exists, so every thread inherits the mask. */
    signals_block();

    gateway gw;
    if (gateway_init(&gw, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "offload-gateway: %s\n", err);
        goto out;
    }
    if (cfg.ready_fd >= 0) {
        dprintf((int)cfg.ready_fd, "http=%s executors=%s clients=%s\n", gw.http_endpoint,
                gw.exec_endpoint, gw.client_endpoint);
        close((int)cfg.ready_fd);
    }
    rc = gateway_run(&gw);
    gateway_close(&gw);
    log_info("event=stopped");

out:
    flag_list_clear(&cfg.routes);
    flag_list_clear(&cfg.queues);
    free(cfg.http);
    free(cfg.executors);
    free(cfg.clients);
    free(cfg.log_level);
    free(cfg.log_format);
    free(cfg.id);
    free(cfg.config);
    free(cfg.curve_key);
    free(cfg.curve_allow);
    free(cfg.http_token_file);
    free(cfg.tls_cert);
    free(cfg.tls_key);
    return rc;
}
