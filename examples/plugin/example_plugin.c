/* example_plugin.c -- an offload executor plugin (executor/offload_plugin.h).
 *
 *   cc -shared -fPIC -Iexecutor examples/plugin/example_plugin.c -o example_plugin.so
 *   offload-executor --plugin ./example_plugin.so --queue cpu=processes:2
 *   curl -d 'hello' http://localhost:8080/v1/jobs/io/upper         -> HELLO
 *   curl -d 'a b  c' http://localhost:8080/v1/jobs/io/wordcount    -> 3
 *
 * Functions:
 *   upper      the payload in upper case (ASCII)
 *   wordcount  the number of whitespace-separated words, as decimal text
 *   fail       always fails, with the payload as the message (500 job_failed)
 *   crash      aborts the process: in a process pool only that job fails
 *              (502 crashed) and the worker is replaced (never call it in a
 *              thread pool: it takes the executor down)
 *   wait       waits the payload's milliseconds, polling offload_cancelled()
 *              every 10 ms: the cooperative way a thread-pool function ends
 *              early when its caller is gone */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offload_plugin.h"

static int upper(const void *payload, size_t len, offload_reply *reply)
{
    char *out = malloc(len ? len : 1);
    if (!out) {
        offload_reply_error(reply, "upper: out of memory");
        return 1;
    }
    const unsigned char *in = payload;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)toupper(in[i]);
    offload_reply_set(reply, out, len);
    free(out);
    return 0;
}

static int wordcount(const void *payload, size_t len, offload_reply *reply)
{
    const unsigned char *in = payload;
    size_t words = 0;
    int inside = 0;
    for (size_t i = 0; i < len; i++) {
        int space = isspace(in[i]);
        if (!space && !inside)
            words++;
        inside = !space;
    }
    char text[32];
    int n = snprintf(text, sizeof(text), "%zu", words);
    offload_reply_set(reply, text, (size_t)n);
    return 0;
}

static int fail(const void *payload, size_t len, offload_reply *reply)
{
    char message[256];
    snprintf(message, sizeof(message), "fail: %.*s", (int)(len < 200 ? len : 200),
             (const char *)payload);
    offload_reply_error(reply, message);
    return 1;
}

static int crash(const void *payload, size_t len, offload_reply *reply)
{
    (void)payload;
    (void)len;
    (void)reply;
    abort();
}

static int wait_ms(const void *payload, size_t len, offload_reply *reply)
{
    char text[16] = "";
    memcpy(text, payload, len < sizeof(text) - 1 ? len : sizeof(text) - 1);
    long ms = strtol(text, NULL, 10);
    for (long waited = 0; waited < ms; waited += 10) {
        if (offload_cancelled(reply)) {
            offload_reply_error(reply, "wait: cancelled");
            return 1;
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    offload_reply_set(reply, "waited", 6);
    return 0;
}

int offload_plugin_init(offload_registry *reg)
{
    if (offload_register(reg, "upper", upper) || offload_register(reg, "wordcount", wordcount) ||
        offload_register(reg, "fail", fail) || offload_register(reg, "crash", crash) ||
        offload_register(reg, "wait", wait_ms))
        return 1;
    return 0;
}
