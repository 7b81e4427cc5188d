/* worker.c -- see worker.h. */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "flags.h"
#include "functions.h"
#include "offload.pb-c.h"
#include "plugin.h"
#include "wproto.h"

#define PROG "offload-executor serve-worker"

static const char worker_usage[] =
    "usage: offload-executor serve-worker [--plugin PATH]... [--max-payload BYTES]\n"
    "\n"
    "A worker process of a process pool: the executor starts it, it speaks the\n"
    "worker protocol (proto/worker.md) on stdin and stdout. Not for direct use.\n";

/* Serves jobs until stdin ends (0) or breaks the protocol (2). out: the
 * protocol's fd; trace: the hello took trace frames. */
static int worker_loop(const function_registry *reg, int out, size_t max_frame, int trace)
{
    wp_reader rd;
    wp_reader_init(&rd, max_frame);
    int rc = 0;
    char err[512];
    /* The trace context a 'T' frame gave the job that follows it. */
    char traceparent[TRACE_PARENT_LEN + 1] = "", tracestate[TRACE_STATE_MAX + 1] = "";
    for (;;) {
        wp_frame f;
        int got = wp_reader_next(&rd, &f, err, sizeof(err));
        if (got < 0) {
            fprintf(stderr, PROG ": %s\n", err);
            rc = 2;
            break;
        }
        if (got == 0) {
            long n = wp_reader_fill(&rd, STDIN_FILENO);
            if (n == 0 && wp_reader_pending(&rd)) {
                fprintf(stderr, PROG ": stdin ended inside a frame\n");
                rc = 2;
                break;
            }
            if (n == 0)
                break; /* the executor closed our stdin: exit */
            if (n < 0 && n != -EINTR) {
                fprintf(stderr, PROG ": stdin: %s\n", strerror((int)-n));
                rc = 2;
                break;
            }
            continue;
        }
        if (f.type == WP_TRACE && trace && !traceparent[0]) {
            if (wp_parse_trace(f.body, f.len, traceparent, tracestate, err, sizeof(err)) == 0)
                continue;
            fprintf(stderr, PROG ": %s\n", err);
            rc = 2;
            break;
        }
        wp_job job;
        if (f.type != WP_JOB || wp_parse_job(f.body, f.len, &job, err, sizeof(err)) < 0) {
            if (f.type != WP_JOB)
                snprintf(err, sizeof(err), "a frame of type 0x%02x, not a job", f.type);
            fprintf(stderr, PROG ": %s\n", err);
            rc = 2;
            break;
        }
        const function_def *def = functions_get(reg, job.name);
        function_call call = {.payload = job.payload,
                              .len = job.len,
                              .traceparent = traceparent,
                              .tracestate = tracestate};
        function_output o = {0};
        int code = OFFLOAD__CODE__CODE_JOB_FAILED;
        if (def)
            code = functions_call(def, &call, &o);
        else
            snprintf(o.message, sizeof(o.message), "this worker has no function '%s'", job.name);
        if (code == OFFLOAD__CODE__CODE_OK && o.len + 1 > max_frame) {
            snprintf(o.message, sizeof(o.message),
                     "%s: a result of %zu bytes is over the limit of %zu (--max-payload)", job.name,
                     o.len, max_frame - 1 - WP_SLACK);
            code = OFFLOAD__CODE__CODE_JOB_FAILED;
        }
        int wrc = code == OFFLOAD__CODE__CODE_OK
                      ? wp_write_frame(out, WP_RESULT, o.data, o.len)
                      : wp_write_frame(out, WP_ERROR, o.message, strlen(o.message));
        free(o.owned);
        traceparent[0] = tracestate[0] = '\0'; /* it was this job's only */
        if (wrc < 0) {
            fprintf(stderr, PROG ": stdout: %s\n", strerror(-wrc));
            rc = 2;
            break;
        }
    }
    wp_reader_free(&rd);
    return rc;
}

int worker_serve(int argc, char **argv)
{
    flag_list plugin_paths = {0};
    long long max_payload = 1 << 20;
    const flag_spec specs[] = {
        {"plugin", "PATH", "a plugin to load, repeatable", flag_set_list, &plugin_paths, 0, 0, 1},
        {"max-payload", "BYTES", "largest job payload and result (default 1M)", flag_set_size,
         &max_payload, 0, 256LL << 20, 0},
        {0},
    };
    char err[512] = "";
    function_registry *reg = NULL;
    plugin **plugins = NULL;
    int rc = 2;
    if (flags_parse(specs, "serve-worker", worker_usage, argc, argv, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": %s\n", err);
        goto out;
    }
    reg = functions_new();
    plugins = calloc(plugin_paths.count + 1, sizeof(*plugins));
    if (!reg || !plugins) {
        fprintf(stderr, PROG ": out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < plugin_paths.count; i++)
        if (!(plugins[i] = plugin_load(reg, plugin_paths.items[i], err, sizeof(err)))) {
            fprintf(stderr, PROG ": %s\n", err);
            goto out;
        }
    /* The protocol gets its own copy of stdout; fd 1 becomes stderr, so
     * what a function prints cannot corrupt a frame. */
    int out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (out < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        fprintf(stderr, PROG ": stdout: %s\n", strerror(errno));
        goto out;
    }
    char hello[64 + CODEC_FUNCTIONS_MAX * (CODEC_NAME_MAX + 1)];
    /* Trace frames, if the executor offers them (one that does not is older). */
    int trace = (wp_features_parse(getenv(WP_FEATURES_ENV)) & WP_FEATURE_TRACE) != 0;
    size_t n = (size_t)snprintf(hello, sizeof(hello), "%s %d%s\n", WP_MAGIC, WP_VERSION,
                                trace ? " trace" : "");
    for (size_t i = 0; i < functions_count(reg); i++)
        n += (size_t)snprintf(hello + n, sizeof(hello) - n, "%s\n", functions_name(reg, i));
    if (wp_write_frame(out, WP_HELLO, hello, n) < 0) {
        fprintf(stderr, PROG ": stdout: %s\n", strerror(errno));
        close(out);
        goto out;
    }
    rc = worker_loop(reg, out, (size_t)max_payload + WP_SLACK, trace);
    close(out);
out:
    for (size_t i = 0; plugins && i < plugin_paths.count; i++)
        plugin_unload(&plugins[i]);
    free(plugins);
    functions_destroy(&reg);
    flag_list_clear(&plugin_paths);
    return rc;
}
