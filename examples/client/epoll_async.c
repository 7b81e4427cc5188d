/* epoll_async.c -- liboffload's asynchronous API in a plain epoll loop: the
 * library's fd and timeout drop into the caller's own loop (the same two
 * calls serve libuv, libev or poll).
 *
 *   cc examples/client/epoll_async.c $(pkg-config --cflags --libs offload) -o epoll_async
 *   ./epoll_async tcp://127.0.0.1:5555 load io echo hello 1000 100
 *
 * Modes (the e2e tests drive each):
 *   load QUEUE FUNCTION PAYLOAD N INFLIGHT   N jobs, INFLIGHT at a time; prints
 *                                            "answered=N once=N ok=N" and the codes
 *   cancel QUEUE FUNCTION PAYLOAD MS         one job, cancelled after MS; prints its code
 *   exit QUEUE FUNCTION PAYLOAD MS           one job (lease 500 ms), then _exit after
 *                                            MS without offload_free: the gateway
 *                                            cancels it when the lease runs out
 *   free QUEUE FUNCTION PAYLOAD              one job, then offload_free: prints its code */
#include <offload.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define MAX_JOBS 1000000

typedef struct state {
    long submitted, answered, ok, failures;
    long codes[128];
    unsigned char *seen; /* callbacks per job index: must end all at 1 */
    int last_code;
} state;

static void done(offload_client *c, offload_result *r, void *arg)
{
    state *st = arg;
    (void)c;
    st->answered++;
    st->last_code = offload_result_status(r);
    int code = st->last_code;
    st->codes[code >= 0 && code < 128 ? code : 127]++;
    if (code == OFFLOAD_OK)
        st->ok++;
    uint64_t idx = r->request_id; /* request ids count from 1 on a fresh client */
    if (st->seen && idx >= 1 && idx <= (uint64_t)st->submitted)
        st->seen[idx - 1]++;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* One turn of the caller's loop: epoll on the library's fd, with its
 * timeout, then dispatch. */
static int turn(offload_client *c, int ep, int max_ms)
{
    struct epoll_event ev;
    int t = offload_timeout_ms(c);
    if (t < 0 || t > max_ms)
        t = max_ms;
    if (epoll_wait(ep, &ev, 1, t) < 0)
        return -1;
    return offload_dispatch(c, 0);
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s ENDPOINT load|cancel|exit|free QUEUE FUNCTION PAYLOAD ...\n",
                argv[0]);
        return 2;
    }
    const char *mode = argv[2], *queue = argv[3], *fn = argv[4], *payload = argv[5];
    offload_options o = {.endpoint = argv[1], .lease_ms = !strcmp(mode, "exit") ? 500 : 0};
    offload_client *c = offload_connect_with(&o);
    if (!c || offload_err(c)) {
        fprintf(stderr, "connect: %s\n", c ? offload_errstr(c) : "out of memory");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, offload_fd(c), &ev) < 0) {
        perror("epoll");
        return 1;
    }
    state st = {0};
    offload_call_options co = {.timeout_ms = 20000};
    size_t plen = strlen(payload);

    if (!strcmp(mode, "load") && argc >= 8) {
        long n = atol(argv[6]), inflight = atol(argv[7]);
        if (n < 1 || n > MAX_JOBS || inflight < 1) {
            fprintf(stderr, "load: N 1..%d, INFLIGHT >= 1\n", MAX_JOBS);
            return 2;
        }
        st.seen = calloc((size_t)n, 1);
        long t0 = now_ms();
        while (st.answered < n) {
            while (st.submitted < n && st.submitted - st.answered < inflight) {
                if (offload_submit(c, queue, fn, payload, plen, &co, done, &st, NULL) < 0) {
                    fprintf(stderr, "submit: %s\n", offload_errstr(c));
                    return 1;
                }
                st.submitted++;
            }
            if (turn(c, ep, 1000) < 0) {
                fprintf(stderr, "dispatch: %s\n", offload_errstr(c));
                return 1;
            }
        }
        long once = 0;
        for (long i = 0; i < n; i++)
            once += st.seen[i] == 1;
        printf("answered=%ld once=%ld ok=%ld ms=%ld", st.answered, once, st.ok, now_ms() - t0);
        for (int i = 0; i < 128; i++)
            if (st.codes[i] && i != OFFLOAD_OK)
                printf(" %s=%ld", offload_code_name(i), st.codes[i]);
        printf("\n");
    } else if (!strcmp(mode, "cancel") && argc >= 7) {
        uint64_t id;
        if (offload_submit(c, queue, fn, payload, plen, &co, done, &st, &id) < 0)
            return 1;
        st.submitted = 1;
        long until = now_ms() + atol(argv[6]);
        while (now_ms() < until && !st.answered)
            turn(c, ep, (int)(until - now_ms()));
        if (!st.answered && offload_cancel(c, id) < 0)
            fprintf(stderr, "cancel: %s\n", offload_errstr(c));
        while (!st.answered)
            turn(c, ep, 1000);
        printf("%s\n", offload_code_name(st.last_code));
    } else if (!strcmp(mode, "exit") && argc >= 7) {
        if (offload_submit(c, queue, fn, payload, plen, &co, done, &st, NULL) < 0)
            return 1;
        long until = now_ms() + atol(argv[6]);
        while (now_ms() < until)
            turn(c, ep, (int)(until - now_ms()));
        printf("exiting with %zu in flight\n", offload_pending(c));
        fflush(stdout);
        _exit(0); /* no offload_free: the lease tells the gateway */
    } else if (!strcmp(mode, "free")) {
        if (offload_submit(c, queue, fn, payload, plen, &co, done, &st, NULL) < 0)
            return 1;
        turn(c, ep, 300);
        offload_free(c);
        c = NULL;
        printf("%s answered=%ld\n", offload_code_name(st.last_code), st.answered);
    } else {
        fprintf(stderr, "unknown mode or missing arguments\n");
        return 2;
    }
    offload_free(c);
    close(ep);
    free(st.seen);
    return 0;
}
