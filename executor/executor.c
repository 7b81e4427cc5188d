/* executor.c -- the executor's life, see executor.h: set-up (plugins,
 * pools, the Hello, the links and the loop's sources), the loop's own part
 * (signals, the drain) and tear-down. Owns struct executor and everything
 * executor_new allocates (executor_state.h); the session with each gateway
 * (and stopping: the Goodbyes) is session.c's, the jobs inflight.c's,
 * Credit allowance.c's, sending outgoing.c's. The top of those modules. */
#include "executor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <zmq.h>

#include "clock.h"
#include "executor_state.h"
#include "inflight.h"
#include "outgoing.h"
#include "parse.h"
#include "poolstats.h"
#include "session.h"
#include "signals.h"
#include "wire.h"
#include "wproto.h"

extern char **environ;

/* ---- configuration ------------------------------------------------------- */

int executor_parse_queue(const char *spec, executor_queue *out, char *err, size_t errlen)
{
    static const char expected[] = "expected NAME=threads:N, NAME=threads:MIN-MAX or "
                                   "NAME=processes:N";
    const char *eq = strchr(spec, '=');
    size_t nlen = eq ? (size_t)(eq - spec) : 0;
    memset(out, 0, sizeof(*out));
    if (!eq || nlen == 0 || nlen > CODEC_NAME_MAX) {
        snprintf(err, errlen, "'%s': %s", spec, expected);
        return -1;
    }
    memcpy(out->name, spec, nlen);
    if (!codec_name_valid(out->name)) {
        snprintf(err, errlen, "'%s': a queue name is 1..%d characters of A-Z a-z 0-9 _ . -", spec,
                 CODEC_NAME_MAX);
        return -1;
    }
    const char *kind = eq + 1, *colon = strchr(kind, ':');
    if (!colon) {
        snprintf(err, errlen, "'%s': %s", spec, expected);
        return -1;
    }
    size_t klen = (size_t)(colon - kind);
    if (klen == 9 && !strncmp(kind, "processes", 9))
        out->processes = 1;
    else if (!(klen == 7 && !strncmp(kind, "threads", 7))) {
        snprintf(err, errlen, "'%s': %s", spec, expected);
        return -1;
    }
    const char *what = out->processes ? "processes" : "threads";
    char num[32];
    const char *dash = strchr(colon + 1, '-');
    long long lo, hi;
    if (dash && !out->processes) {
        size_t dlen = (size_t)(dash - colon - 1);
        if (dlen >= sizeof(num))
            dlen = sizeof(num) - 1;
        memcpy(num, colon + 1, dlen);
        num[dlen] = '\0';
        if (parse_ll(num, &lo) < 0 || parse_ll(dash + 1, &hi) < 0) {
            snprintf(err, errlen, "'%s': %s", spec, expected);
            return -1;
        }
    } else if (parse_ll(colon + 1, &lo) < 0) {
        snprintf(err, errlen, "'%s': %s", spec, expected);
        return -1;
    } else {
        hi = lo;
    }
    if (lo < 1 || hi > CODEC_POOL_MAX || lo > hi) {
        snprintf(err, errlen, "'%s': %lld..%lld %s (1..%d allowed, MIN <= MAX)", spec, lo, hi, what,
                 CODEC_POOL_MAX);
        return -1;
    }
    out->min = (unsigned)lo;
    out->max = (unsigned)hi;
    return 0;
}

/* ---- the loop ------------------------------------------------------------ */

/* Tells every registered gateway to send no new jobs. */
static void exec_send_drain(executor *x)
{
    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    Offload__Drain drain = OFFLOAD__DRAIN__INIT;
    drain.timeout_ms = x->cfg->drain_timeout_ms;
    env.body_case = OFFLOAD__ENVELOPE__BODY_DRAIN;
    env.drain = &drain;
    for (size_t i = 0; i < x->nlinks; i++)
        if (x->links[i]->state == LINK_REGISTERED)
            outgoing_send(x, x->links[i], &env);
}

static void exec_on_signal(int signo, void *arg)
{
    executor *x = arg;
    const char *name = signo == SIGINT ? "SIGINT" : "SIGTERM";
    char reason[64];
    if (signo == SIGHUP) {
        /* Nothing to re-read (the gateway re-reads its files on SIGHUP). */
        log_info("event=signal signal=SIGHUP action=ignored");
        return;
    }
    if (x->loop.stopping)
        return;
    if (x->draining || !x->cfg->drain_timeout_ms) {
        snprintf(reason, sizeof(reason), "executor stopping (%s)", name);
        session_stop(x, reason);
        return;
    }
    log_info("event=draining signal=%s jobs_in_flight=%u drain_timeout_ms=%u", name,
             HASH_COUNT(x->jobs), x->cfg->drain_timeout_ms);
    x->draining = 1;
    x->drain_until_us = clock_now_us() + (uint64_t)x->cfg->drain_timeout_ms * 1000;
    exec_send_drain(x);
}

/* While draining: stops once no job runs, or at the drain deadline. Returns
 * the milliseconds until the deadline (for the poll timeout). */
static long exec_check_drain(executor *x)
{
    uint64_t now = clock_now_us();
    if (!HASH_COUNT(x->jobs) && !x->orphans) {
        session_stop(x, "drained");
        return 0;
    }
    if (now >= x->drain_until_us) {
        session_stop(x, "drain timeout");
        return 0;
    }
    return (long)((x->drain_until_us - now + 999) / 1000);
}

/* Before every poll: what is due on the links (session_tick), and the drain.
 * Returns the microseconds the poll may wait. */
static int64_t exec_before_poll(void *arg)
{
    executor *x = arg;
    long timeout = session_tick(x, clock_now_us());
    if (x->draining) {
        long left = exec_check_drain(x);
        if (left < timeout)
            timeout = left;
    }
    return (int64_t)timeout * 1000;
}

int executor_run(executor *x)
{
    uint64_t now = clock_now_us();
    for (size_t i = 0; i < x->nlinks; i++) {
        x->links[i]->last_recv_us = now;
        session_send_hello(x, x->links[i]);
    }
    int rc = loop_run(&x->loop);
    size_t held_max = 0;
    uint64_t fifo_waits = 0;
    for (size_t i = 0; i < x->cfg->nqueues; i++) {
        const exec_queue *q = &x->queues[i];
        log_info("event=queue_stats queue=%s pool=%u held_max=%zu fifo_waits=%llu", q->cfg->name,
                 pool_size(q->pool), q->held_max, (unsigned long long)q->fifo_waits);
        if (q->held_max > held_max)
            held_max = q->held_max;
        fifo_waits += q->fifo_waits;
    }
    log_info(
        "event=stopped jobs=%llu results=%llu results_unsent=%llu orphaned=%llu "
        "refused_payload=%llu refused_pending=%llu frames_bad=%llu frames_version=%llu "
        "frames_unexpected=%llu send_failures=%llu reopens=%llu held_max=%zu "
        "fifo_waits=%llu credits_sent=%llu demands=%llu credit_overruns=%llu "
        "pool_stats_sent=%llu",
        (unsigned long long)x->stats.jobs, (unsigned long long)x->stats.results,
        (unsigned long long)x->stats.results_unsent, (unsigned long long)x->stats.orphaned,
        (unsigned long long)x->stats.refused_payload, (unsigned long long)x->stats.refused_pending,
        (unsigned long long)x->stats.frames_bad, (unsigned long long)x->stats.frames_version,
        (unsigned long long)x->stats.frames_unexpected, (unsigned long long)x->stats.send_failures,
        (unsigned long long)x->stats.reopens, held_max, (unsigned long long)fifo_waits,
        (unsigned long long)x->stats.credits_sent, (unsigned long long)x->stats.demands,
        (unsigned long long)x->stats.credit_overruns, (unsigned long long)x->stats.pool_stats_sent);
    if (x->refused)
        return -EPERM;
    return rc < 0 ? -EIO : 0;
}

/* ---- set-up -------------------------------------------------------------- */

/* cmd for /bin/sh -c, with "exec" put before the program when cmd is a
 * simple command (after its leading plain NAME=value words, which the
 * shell takes before exec too): the worker is then the program's own process,
 * so its pid, exit status and memory are the program's. A compound
 * command (; & | ` or a newline), or one whose leading assignment is
 * quoted or expanded, is left as it is: the worker is the shell,
 * still killed with its whole process group. */
static void exec_shell_command(const char *cmd, char *out, size_t outlen)
{
    if (strpbrk(cmd, ";&|\n`")) {
        snprintf(out, outlen, "%s", cmd);
        return;
    }
    const char *p = cmd;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *w = p;
        if (!((*w >= 'A' && *w <= 'Z') || (*w >= 'a' && *w <= 'z') || *w == '_'))
            break;
        while ((*w >= 'A' && *w <= 'Z') || (*w >= 'a' && *w <= 'z') || *w == '_' ||
               (*w >= '0' && *w <= '9'))
            w++;
        if (*w != '=')
            break;
        while (*w && *w != ' ' && *w != '\t' && !strchr("'\"\\$", *w))
            w++;
        if (*w && *w != ' ' && *w != '\t') {
            snprintf(out, outlen, "%s", cmd); /* a quoted or expanded value: as it is */
            return;
        }
        p = w;
    }
    snprintf(out, outlen, "%.*sexec %s", (int)(p - cmd), cmd, p);
}

/* The command line of a process pool's workers: --command through the
 * shell (exec'd, so the worker is the shell's pid), or this executor in
 * serve-worker mode with the same plugins. */
static int exec_worker_argv(executor *x, exec_queue *q, char *err, size_t errlen)
{
    const executor_config *cfg = x->cfg;
    size_t n = 0, max = 8 + 2 * cfg->nplugins;
    char **argv = calloc(max, sizeof(*argv));
    if (!argv) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (q->cfg->command) {
        exec_shell_command(q->cfg->command, q->shell_cmd, sizeof(q->shell_cmd));
        argv[n++] = "/bin/sh";
        argv[n++] = "-c";
        argv[n++] = q->shell_cmd;
    } else {
        if (!cfg->self_exe) {
            snprintf(err, errlen, "queue '%s': cannot find this program to start its workers",
                     q->cfg->name);
            free(argv);
            return -1;
        }
        argv[n++] = (char *)cfg->self_exe;
        argv[n++] = "serve-worker";
        argv[n++] = "--max-payload";
        argv[n++] = (char *)x->max_payload_text;
        for (size_t i = 0; i < cfg->nplugins; i++) {
            argv[n++] = "--plugin";
            argv[n++] = cfg->plugins[i];
        }
    }
    argv[n] = NULL;
    q->argv = argv;

    /* The environment: ours, minus OFFLOAD_WORKER_*, plus what the worker
     * may want to know. */
    size_t nenv = 0;
    while (environ[nenv])
        nenv++;
    q->envp = calloc(nenv + 5, sizeof(*q->envp));
    if (!q->envp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++)
        if (strncmp(environ[i], "OFFLOAD_WORKER_", 15) != 0)
            q->envp[k++] = environ[i];
    snprintf(q->env_text[0], sizeof(q->env_text[0]), "OFFLOAD_WORKER_QUEUE=%s", q->cfg->name);
    snprintf(q->env_text[1], sizeof(q->env_text[1]), "OFFLOAD_WORKER_MAX_FRAME=%zu",
             cfg->max_payload + WP_SLACK);
    snprintf(q->env_text[2], sizeof(q->env_text[2]), "OFFLOAD_WORKER_PROTOCOL=%d", WP_VERSION);
    snprintf(q->env_text[3], sizeof(q->env_text[3]), "%s=%s", WP_FEATURES_ENV, WP_FEATURES_ALL);
    for (int i = 0; i < 4; i++)
        q->envp[k++] = q->env_text[i];
    q->envp[k] = NULL;
    return 0;
}

/* Starts queue q's pool, and sets the functions it offers. */
static int exec_queue_start(executor *x, exec_queue *q, const executor_queue *qc, char *err,
                            size_t errlen)
{
    const executor_config *cfg = x->cfg;
    q->cfg = qc;
    pool_config pc = {.name = qc->name, .min = qc->min, .max = qc->max};
    if (!qc->processes) {
        pc.kind = POOL_THREADS;
        pc.idle_ms = cfg->thread_idle_ms;
        q->functions = functions_names(x->functions);
        q->nfunctions = functions_count(x->functions);
    } else {
        pc.kind = POOL_PROCESSES;
        if (exec_worker_argv(x, q, err, errlen) < 0)
            return -1;
        q->proc = (proc_config){
            .queue = qc->name,
            .argv = q->argv,
            .envp = q->envp,
            .kill_grace_ms = cfg->kill_grace_ms,
            .start_timeout_ms = cfg->worker_start_ms,
            .max_jobs = qc->max_jobs,
            .max_rss_kb = (size_t)qc->max_rss_mb * 1024,
            .max_frame = cfg->max_payload + WP_SLACK,
            /* The executor's own workers must offer what it loaded. */
            .expect = qc->command ? NULL : functions_names(x->functions),
            .nexpect = qc->command ? 0 : functions_count(x->functions),
            .features = WP_FEATURE_TRACE,
        };
        pc.proc = &q->proc;
    }
    q->pool = pool_start(&pc, x->results, err, errlen);
    if (!q->pool)
        return -1;
    if (qc->processes)
        q->functions = pool_functions(q->pool, &q->nfunctions);
    return 0;
}

static int exec_build_hello(executor *x, char *err, size_t errlen)
{
    const executor_config *cfg = x->cfg;
    x->decls = calloc(cfg->nqueues, sizeof(*x->decls));
    x->decl_ptrs = calloc(cfg->nqueues, sizeof(*x->decl_ptrs));
    if (!x->decls || !x->decl_ptrs) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->nqueues; i++) {
        Offload__QueueDecl init = OFFLOAD__QUEUE_DECL__INIT;
        x->decls[i] = init;
        x->decls[i].name = (char *)cfg->queues[i].name;
        x->decls[i].kind = cfg->queues[i].processes ? OFFLOAD__POOL_KIND__POOL_PROCESSES
                                                    : OFFLOAD__POOL_KIND__POOL_THREADS;
        x->decls[i].size = pool_size(x->queues[i].pool);
        x->decls[i].n_functions = x->queues[i].nfunctions;
        x->decls[i].functions = x->queues[i].functions;
        x->decl_ptrs[i] = &x->decls[i];
    }
    Offload__Hello init = OFFLOAD__HELLO__INIT;
    x->hello = init;
    x->hello.executor_id = (char *)cfg->id;
    x->hello.n_queues = cfg->nqueues;
    x->hello.queues = x->decl_ptrs;
    x->hello.heartbeat_ms = cfg->heartbeat_ms;
    x->hello.liveness = cfg->liveness;
    x->hello.max_payload = cfg->max_payload;
    x->hello.credit = 1; /* we send Credit to a gateway whose Welcome says credit */

    Offload__Envelope env = OFFLOAD__ENVELOPE__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_HELLO;
    env.hello = &x->hello;
    char why[256];
    if (codec_validate(&env, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s", why);
        return -EINVAL;
    }
    return 0;
}

executor *executor_new(const executor_config *cfg, char *err, size_t errlen)
{
    executor *x = calloc(1, sizeof(*x));
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    x->cfg = cfg;
    x->ready_fd = cfg->ready_fd;
    snprintf(x->max_payload_text, sizeof(x->max_payload_text), "%zu", cfg->max_payload);
    x->loop.signal_fd = x->loop.timer_fd = -1;

    if (cfg->nconnect < 1) {
        snprintf(err, errlen, "no gateway to connect to (--connect)");
        goto err;
    }
    sigset_t mask;
    signals_stop_set(&mask);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    if (loop_init(&x->loop, err, errlen) < 0)
        goto err;

    x->functions = functions_new();
    x->results = pool_results_new();
    x->queues = calloc(cfg->nqueues ? cfg->nqueues : 1, sizeof(*x->queues));
    x->plugins = calloc(cfg->nplugins + 1, sizeof(*x->plugins));
    x->links = calloc(cfg->nconnect, sizeof(*x->links));
    if (!x->functions || !x->results || !x->queues || !x->plugins || !x->links) {
        snprintf(err, errlen, "out of memory or file descriptors");
        goto err;
    }
    for (size_t i = 0; i < cfg->nplugins; i++)
        if (!(x->plugins[i] = plugin_load(x->functions, cfg->plugins[i], err, errlen)))
            goto err;
    for (size_t i = 0; i < cfg->nqueues; i++) {
        if (!(x->queues[i].peers = calloc(cfg->nconnect, sizeof(credit_peer)))) {
            snprintf(err, errlen, "out of memory");
            goto err;
        }
        if (exec_queue_start(x, &x->queues[i], &cfg->queues[i], err, errlen) < 0)
            goto err;
    }
    if (exec_build_hello(x, err, errlen) < 0)
        goto err;
    if (poolstats_init(x) < 0) {
        snprintf(err, errlen, "out of memory");
        goto err;
    }

    x->zctx = zmq_ctx_new();
    if (!x->zctx) {
        snprintf(err, errlen, "ZeroMQ context: %s", zmq_strerror(errno));
        goto err;
    }
    /* ZeroMQ reads ahead of the loop up to rcvhwm messages: room for every
     * job the queues may hold and a Cancel for each, no more (a flood of
     * Jobs then waits in TCP, not in memory). */
    size_t held = 0;
    for (size_t i = 0; i < cfg->nqueues; i++) {
        exec_queue *q = &x->queues[i];
        size_t size = pool_size(q->pool);
        size_t pending = cfg->max_pending < 0 ? size * cfg->nconnect : (size_t)cfg->max_pending;
        q->limit = size + pending;
        held += q->limit;
    }
    size_t hwm = 2 * held + 256;
    link_config lc = {
        .max_frame = cfg->max_frame > cfg->max_payload + WIRE_FRAME_SLACK
                         ? cfg->max_frame
                         : cfg->max_payload + WIRE_FRAME_SLACK,
        .heartbeat_ms = cfg->heartbeat_ms,
        .timeout_ms = cfg->link_timeout_ms,
        .rcvhwm = hwm < WIRE_HWM ? (int)hwm : WIRE_HWM,
        .curve = {cfg->curve_public, cfg->curve_secret, cfg->curve_server},
    };
    for (size_t i = 0; i < cfg->nconnect; i++) {
        x->links[i] = link_new(x->zctx, cfg->connect[i], (unsigned)i, &lc, err, errlen);
        if (!x->links[i])
            goto err;
        x->nlinks++;
        x->links[i]->owner = x;
        if (loop_add_socket(&x->loop, x->links[i]->monitor, session_on_monitor, x->links[i]) < 0 ||
            loop_add_socket(&x->loop, x->links[i]->sock, session_on_link, x->links[i]) < 0) {
            snprintf(err, errlen, "out of memory");
            goto err;
        }
    }
    if (loop_add_fd(&x->loop, pool_results_fd(x->results), inflight_on_results, x) < 0) {
        snprintf(err, errlen, "out of memory");
        goto err;
    }
    loop_on_signal(&x->loop, exec_on_signal, x);
    loop_on_timeout(&x->loop, exec_before_poll, x);

    char queues[1024] = "", gateways[512] = "", pending_text[32] = "size_x_gateways";
    if (cfg->max_pending >= 0)
        snprintf(pending_text, sizeof(pending_text), "%ld", cfg->max_pending);
    size_t n = 0;
    for (size_t i = 0; i < cfg->nqueues && n < sizeof(queues); i++) {
        const executor_queue *q = &cfg->queues[i];
        char size[32];
        if (q->min == q->max)
            snprintf(size, sizeof(size), "%u", q->max);
        else
            snprintf(size, sizeof(size), "%u-%u", q->min, q->max);
        n += (size_t)snprintf(queues + n, sizeof(queues) - n, "%s%s=%s:%s/%zu", i ? "," : "",
                              q->name, q->processes ? "processes" : "threads", size,
                              x->queues[i].nfunctions);
    }
    n = 0;
    for (size_t i = 0; i < cfg->nconnect && n < sizeof(gateways); i++)
        n += (size_t)snprintf(gateways + n, sizeof(gateways) - n, "%s%s", i ? "," : "",
                              cfg->connect[i]);
    log_info("event=started id=%s queues=%s functions=%zu plugins=%zu gateways=%s "
             "heartbeat_ms=%u liveness=%u max_payload=%zu max_frame=%zu max_pending=%s",
             cfg->id, queues, functions_count(x->functions), cfg->nplugins, gateways,
             cfg->heartbeat_ms, cfg->liveness, cfg->max_payload, lc.max_frame, pending_text);
    return x;

err:
    executor_destroy(&x);
    return NULL;
}

void executor_destroy(executor **xp)
{
    executor *x = *xp;
    if (!x)
        return;
    /* Pools first: once joined, every job is in the results list. */
    for (size_t i = 0; x->queues && i < x->cfg->nqueues; i++) {
        pool_destroy(&x->queues[i].pool);
        free(x->queues[i].peers);
        free(x->queues[i].argv);
        free(x->queues[i].envp);
    }
    if (x->results) {
        inflight_free_finished(x);
        pool_results_destroy(&x->results);
    }
    for (size_t i = 0; i < x->nlinks; i++)
        link_destroy(&x->links[i]);
    if (x->zctx)
        zmq_ctx_term(x->zctx);
    loop_close(&x->loop);
    functions_destroy(&x->functions);
    for (size_t i = 0; x->plugins && i < x->cfg->nplugins; i++)
        plugin_unload(&x->plugins[i]);
    free(x->plugins);
    free(x->queues);
    free(x->links);
    free(x->decls);
    free(x->decl_ptrs);
    poolstats_free(x);
    free(x);
    *xp = NULL;
}
