/* main.c -- the offload command-line tool, built on liboffload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "flags.h"
#include "offload.h"

static const char usage[] =
    "usage: offload call [--gateway ENDPOINT] [--timeout-ms MS] QUEUE FUNCTION [PAYLOAD|-]\n"
    "       offload --help | --version\n"
    "\n"
    "call    runs FUNCTION on QUEUE through a gateway and writes its result to stdout.\n"
    "        PAYLOAD is the argument, or stdin when it is '-'; none means empty.\n"
    "\n"
    "  --gateway ENDPOINT   the gateway's clients endpoint (default $OFFLOAD_GATEWAY,\n"
    "                       else tcp://127.0.0.1:5555)\n"
    "  --timeout-ms MS      the job's deadline (default: the gateway's)\n"
    "\n"
    "exit status: 0 ok; 1 the job failed (its error on stderr); 2 usage; 3 the gateway\n"
    "did not answer.\n";

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

static int cmd_call(int argc, char **argv)
{
    const char *gateway = getenv("OFFLOAD_GATEWAY");
    offload_call_options opts = {0};
    const char *pos[3] = {NULL, NULL, NULL};
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        long long v;
        if (!strcmp(argv[i], "--gateway") && i + 1 < argc) {
            gateway = argv[++i];
        } else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc) {
            if (parse_ll(argv[++i], &v) < 0 || v < 1 || v > CODEC_MS_MAX) {
                fprintf(stderr, "offload: --timeout-ms wants milliseconds 1..%d\n", CODEC_MS_MAX);
                return 2;
            }
            opts.timeout_ms = (uint32_t)v;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "offload: unknown flag '%s'\n%s", argv[i], usage);
            return 2;
        } else if (npos < 3) {
            pos[npos++] = argv[i];
        } else {
            fprintf(stderr, "offload: too many arguments\n%s", usage);
            return 2;
        }
    }
    if (npos < 2) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    char *payload = NULL;
    size_t len = 0;
    if (pos[2] && !strcmp(pos[2], "-")) {
        if (read_stdin(&payload, &len) < 0) {
            fprintf(stderr, "offload: cannot read the payload from stdin\n");
            return 2;
        }
    } else if (pos[2]) {
        payload = strdup(pos[2]);
        len = strlen(pos[2]);
        if (!payload) {
            fprintf(stderr, "offload: out of memory\n");
            return 2;
        }
    }

    offload_options o = {.endpoint = gateway};
    offload_client *c = offload_connect_with(&o);
    if (!c || c->err) {
        fprintf(stderr, "offload: %s\n", c ? c->errstr : "out of memory");
        offload_free(c);
        free(payload);
        return 3;
    }
    offload_result *r;
    int rc = offload_call(c, pos[0], pos[1], payload, len, &opts, &r);
    free(payload);
    if (rc < 0) {
        fprintf(stderr, "offload: %s\n", c->errstr);
        int usage_error = c->err == OFFLOAD_ERR_ARGS;
        offload_free(c);
        return usage_error ? 2 : 3;
    }
    int status = 0;
    if (r->code == OFFLOAD_OK) {
        fwrite(r->payload, 1, r->len, stdout);
    } else {
        fprintf(stderr, "offload: %s: %s (job %llu)\n", r->error, r->message,
                (unsigned long long)r->job_id);
        status = 1;
    }
    offload_result_free(r);
    offload_free(c);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("%s", usage);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("offload %s\n", OFFLOAD_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "call"))
        return cmd_call(argc - 2, argv + 2);
    fprintf(stderr, "offload: unknown command '%s'\n%s", argv[1], usage);
    return 2;
}
