/* failover_client.c -- a long-lived liboffload client for test_failover.sh:
 * connects once to ENDPOINTS (a comma-separated list) and runs the commands
 * it reads on stdin, one answer line each on stdout:
 *
 *   calls N TIMEOUT_MS    N echo calls, one at a time:
 *                         "calls ok=X other=Y max_ms=Z first_error=..."
 *   sleeps N MS TIMEOUT_MS  N async "io sleep MS" submits: "submitted N"
 *   wait                  dispatches until they all ended:
 *                         "ended ok=X no_reply=Y other=Z max_ms=T" (T: the
 *                         longest from submit to callback)
 */
#define _POSIX_C_SOURCE 200809L
#include <offload.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int n_ok, n_no_reply, n_other;
static uint64_t max_ms;

static void done(offload_client *c, offload_result *r, void *arg)
{
    uint64_t took = now_ms() - (uint64_t)(uintptr_t)arg;
    (void)c;
    if (took > max_ms)
        max_ms = took;
    if (r->code == OFFLOAD_OK)
        n_ok++;
    else if (r->code == OFFLOAD_NO_REPLY)
        n_no_reply++;
    else
        n_other++;
}

int main(int argc, char **argv)
{
    offload_options o = {.endpoint = argc > 1 ? argv[1] : NULL, .reply_grace_ms = 1000};
    offload_client *c = offload_connect_with(&o);
    if (!c || c->err) {
        printf("connect failed: %s\n", c ? c->errstr : "oom");
        return 3;
    }
    char line[256];
    while (fgets(line, sizeof(line), stdin)) {
        unsigned n = 0, ms = 0, timeout = 0;
        if (sscanf(line, "calls %u %u", &n, &timeout) == 2) {
            int ok = 0, other = 0;
            uint64_t worst = 0;
            char first[160] = "none";
            offload_call_options co = {.timeout_ms = timeout};
            for (unsigned i = 0; i < n; i++) {
                offload_result *r;
                uint64_t t0 = now_ms();
                int rc = offload_call(c, "io", "echo", "x", 1, &co, &r);
                uint64_t took = now_ms() - t0;
                worst = took > worst ? took : worst;
                if (rc == 0 && r->code == OFFLOAD_OK) {
                    ok++;
                } else {
                    if (!other)
                        snprintf(first, sizeof(first), "%s",
                                 rc == 0 ? r->error : offload_errstr(c));
                    other++;
                }
                if (rc == 0)
                    offload_result_free(r);
            }
            printf("calls ok=%d other=%d max_ms=%llu first_error=%s\n", ok, other,
                   (unsigned long long)worst, first);
        } else if (sscanf(line, "sleeps %u %u %u", &n, &ms, &timeout) == 3) {
            char payload[16];
            int len = snprintf(payload, sizeof(payload), "%u", ms);
            offload_call_options co = {.timeout_ms = timeout};
            unsigned sent = 0;
            for (unsigned i = 0; i < n; i++)
                if (offload_submit(c, "io", "sleep", payload, (size_t)len, &co, done,
                                   (void *)(uintptr_t)now_ms(), NULL) == 0)
                    sent++;
            printf("submitted %u\n", sent);
        } else if (!strncmp(line, "wait", 4)) {
            while (offload_pending(c) > 0)
                if (offload_dispatch(c, 1000) < 0)
                    break;
            printf("ended ok=%d no_reply=%d other=%d max_ms=%llu\n", n_ok, n_no_reply, n_other,
                   (unsigned long long)max_ms);
            n_ok = n_no_reply = n_other = 0;
            max_ms = 0;
        } else {
            printf("unknown command\n");
        }
        fflush(stdout);
    }
    offload_free(c);
    return 0;
}
