/* mhd_modes.c -- which libmicrohttpd mode should the gateway use for
 * suspended requests? A standalone model of the gateway's job path, served
 * in one of two ways:
 *
 *   external  MHD in external mode (MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME,
 *             no MHD thread) inside our own single-threaded loop: the MHD
 *             epoll fd (MHD_DAEMON_INFO_EPOLL_FD) is one zmq_poll item next
 *             to the ZeroMQ socket, MHD_get_timeout bounds the poll, MHD_run
 *             runs after every wake-up. The handler suspends the request and
 *             sends the "job" from the loop thread; the loop resumes the
 *             connection when the job comes back and MHD_run answers it.
 *   internal  MHD's own polling thread (MHD_USE_INTERNAL_POLLING_THREAD |
 *             MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME). The handler suspends
 *             the request and hands it to a separate loop thread through a
 *             mutex-protected list plus one eventfd wake-up (libuv style);
 *             the loop thread sends the job, and when it comes back calls
 *             MHD_resume_connection cross-thread (MHD wakes its thread
 *             through its ITC).
 *
 * In both modes the "job" is a round trip over a ZeroMQ PAIR pair (tcp
 * loopback by default, --zmq inproc for the in-process transport) to an echo
 * thread, which models the executor's Result arriving on the gateway's
 * socket; the resumed handler then queues a small 200 response. Every
 * request is suspended. Both modes use MHD_USE_TURBO, as the gateway does.
 *
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror bench/mhd_modes.c \
 *      -o /tmp/mhd_modes $(pkg-config --cflags --libs libmicrohttpd libzmq) -pthread
 *   /tmp/mhd_modes --mode external|internal --port N [--zmq tcp|inproc]
 *   ab -n 50000 -c 50 [-k] -p body.txt -T text/plain http://127.0.0.1:N/v1/jobs/io/echo
 *
 * It serves until SIGINT or SIGTERM, then prints the requests it answered.
 *
 * Results, 2026-11-24, Debian VM with 2 cores (Intel Xeon), libmicrohttpd
 * 0.9.75, libzmq 4.3.4 (tcp loopback for the job), ab 2.3 on loopback:
 * `ab -n 50000 -c 50 [-k] -p body -T text/plain` with a 5-byte POST body,
 * after a 2000-request warm-up; a fresh server per run; 3 runs per cell,
 * modes alternated. Requests/s: the three runs, then the median; latency in
 * ms: medians of the runs' p50/p90/p99/max (ab -e, the percentiles ab
 * prints, at microsecond resolution); cpu: server CPU time per request.
 *
 *   2 cores shared by server and ab (no pinning):
 *                 req/s (thousands)         latency (ms)         server
 *                 run1  run2  run3  median  p50  p90  p99  max   cpu/req
 *   -k  external  123.9 123.4 112.6  123.4   0.39 0.46 0.71 1.51   9.4us
 *   -k  internal  105.1 106.7  98.1  105.1   0.47 0.62 0.84 2.39  11.6us
 *   new external   50.3  49.8  51.1   50.3   0.91 1.22 1.98 3.13  18.2us
 *   new internal   38.8  38.0  46.2   38.8   1.23 1.75 2.32 3.39  23.8us
 *
 *   server pinned to 1 core (taskset -c 0), ab on the other (ab used ~30%
 *   of its core: the server's core is the limit):
 *                 req/s (thousands)         latency (ms)         server
 *                 run1  run2  run3  median  p50  p90  p99  max   cpu/req
 *   -k  external   95.9  89.5  88.6   89.5   0.60 0.70 0.91 2.56  11.2us
 *   -k  internal   94.2  91.9  92.8   92.8   0.54 0.64 0.80 2.12  10.6us
 *   new external   51.2  52.4  54.3   52.4   0.89 1.16 1.50 2.77  18.2us
 *   new internal   46.4  48.8  30.1   46.4   0.98 1.43 1.87 3.09  18.6us
 *
 *   ("new": without -k, a connection per request. No failed requests in any
 *   run. With --zmq inproc, 2 cores shared: -k external 121.6-127.5k vs
 *   internal 103.4-114.4k; new 46.5-51.6k vs 44.4-52.6k, a tie.)
 *
 * Reading: with the server on one core the two modes cost the same (the
 * -k medians are within run-to-run noise; the 30.1k internal run is an
 * outlier). With two cores the cross-thread hand-off (list + eventfd one
 * way, MHD's ITC the other, a thread wake-up each) costs 23-31% more CPU
 * per request, 15% (-k) to 23% (new connections) of throughput and ~0.1-0.5
 * ms at p50-p90. External mode is never slower beyond noise and keeps one
 * thread owning all state, so the gateway uses it (gateway/http.c).
 */
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>

enum { REQ_NEW, REQ_WAITING, REQ_DONE };

/* One HTTP request, from its first handler call to MHD's completed
 * callback. `state` is written by the loop thread and read by the handler
 * (on MHD's thread in internal mode). */
typedef struct request {
    struct MHD_Connection *conn;
    _Atomic int state;
    struct request *next; /* internal mode: the hand-off list */
} request;

typedef struct bench {
    int internal; /* mode */
    struct MHD_Daemon *daemon;
    struct MHD_Response *ok;
    void *zctx;
    void *job_sock; /* loop thread's end of the job round trip */
    char endpoint[256];
    int sig_fd;
    unsigned long long served;
    unsigned pending; /* jobs sent and not yet back; loop thread only */
    /* internal mode: requests handed from MHD's thread to the loop */
    pthread_mutex_t lock;
    request *handoff;
    int stopping; /* under lock: answer at once, suspend nothing more */
    int wake_fd;
} bench;

/* ---- the echo "executor" ---------------------------------------------- */

static void *echo_main(void *arg)
{
    bench *b = arg;
    void *s = zmq_socket(b->zctx, ZMQ_PAIR);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    if (zmq_connect(s, b->endpoint) != 0) {
        fprintf(stderr, "echo: connect %s: %s\n", b->endpoint, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    char buf[64];
    for (;;) {
        int n = zmq_recv(s, buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break; /* ETERM: shutting down */
        }
        if (zmq_send(s, buf, (size_t)n, 0) < 0 && errno == ETERM)
            break;
    }
    zmq_close(s);
    return NULL;
}

/* Sends one job: the request's address, echoed back unchanged. */
static void job_send(bench *b, request *r)
{
    if (zmq_send(b->job_sock, &r, sizeof(r), 0) != (int)sizeof(r))
        fprintf(stderr, "job send: %s\n", zmq_strerror(errno));
    else
        b->pending++;
}

/* Receives every job result waiting and resumes its connection. */
static void job_results(bench *b)
{
    request *r;
    while (zmq_recv(b->job_sock, &r, sizeof(r), ZMQ_DONTWAIT) == (int)sizeof(r)) {
        b->pending--;
        atomic_store(&r->state, REQ_DONE);
        MHD_resume_connection(r->conn);
    }
}

/* ---- MHD callbacks ---------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    bench *b = cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    request *r = *req_cls;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        r->conn = conn;
        atomic_init(&r->state, REQ_NEW);
        *req_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0; /* the payload; a real gateway would keep it */
        return MHD_YES;
    }
    switch (atomic_load(&r->state)) {
    case REQ_NEW:
        if (!b->internal) {
            atomic_store(&r->state, REQ_WAITING);
            MHD_suspend_connection(conn);
            job_send(b, r); /* we are on the loop thread */
        } else {
            pthread_mutex_lock(&b->lock);
            if (b->stopping) {
                pthread_mutex_unlock(&b->lock);
                return MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, b->ok);
            }
            atomic_store(&r->state, REQ_WAITING);
            MHD_suspend_connection(conn);
            int was_empty = b->handoff == NULL;
            r->next = b->handoff;
            b->handoff = r;
            pthread_mutex_unlock(&b->lock);
            if (was_empty) { /* one wake-up per batch, as uv_async_send */
                uint64_t one = 1;
                if (write(b->wake_fd, &one, sizeof(one)) < 0)
                    perror("eventfd write");
            }
        }
        return MHD_YES;
    case REQ_DONE:
        return MHD_queue_response(conn, MHD_HTTP_OK, b->ok);
    default: /* called while waiting: not expected while suspended */
        return MHD_YES;
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    bench *b = cls;
    (void)conn;
    request *r = *req_cls;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        b->served++; /* MHD's thread in internal mode; read after it stops */
    free(r);
    *req_cls = NULL;
}

/* ---- the loops -------------------------------------------------------- */

static int drain_signals(bench *b)
{
    struct signalfd_siginfo si;
    return read(b->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si);
}

/* external: one thread owns MHD and the job socket. */
static void loop_external(bench *b)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(b->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    int mhd_fd = info ? info->epoll_fd : -1;
    for (;;) {
        MHD_UNSIGNED_LONG_LONG ms;
        long timeout = MHD_get_timeout(b->daemon, &ms) == MHD_YES ? (long)ms : 1000;
        zmq_pollitem_t items[] = {
            {b->job_sock, 0, ZMQ_POLLIN, 0},
            {NULL, mhd_fd, ZMQ_POLLIN, 0},
            {NULL, b->sig_fd, ZMQ_POLLIN, 0},
        };
        if (zmq_poll(items, 3, timeout) < 0 && errno != EINTR) {
            perror("zmq_poll");
            return;
        }
        if (items[2].revents & ZMQ_POLLIN && drain_signals(b))
            return;
        if (items[0].revents & ZMQ_POLLIN)
            job_results(b);
        MHD_run(b->daemon); /* also processes the connections just resumed */
    }
}

/* internal: MHD runs its own thread; this thread owns the job socket. */
static void loop_internal(bench *b)
{
    for (;;) {
        zmq_pollitem_t items[] = {
            {b->job_sock, 0, ZMQ_POLLIN, 0},
            {NULL, b->wake_fd, ZMQ_POLLIN, 0},
            {NULL, b->sig_fd, ZMQ_POLLIN, 0},
        };
        if (zmq_poll(items, 3, -1) < 0 && errno != EINTR) {
            perror("zmq_poll");
            return;
        }
        if (items[2].revents & ZMQ_POLLIN && drain_signals(b))
            return;
        if (items[1].revents & ZMQ_POLLIN) {
            uint64_t n;
            if (read(b->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
                perror("eventfd read");
            pthread_mutex_lock(&b->lock);
            request *list = b->handoff;
            b->handoff = NULL;
            pthread_mutex_unlock(&b->lock);
            /* the list is newest first; send oldest first */
            request *rev = NULL;
            while (list) {
                request *next = list->next;
                list->next = rev;
                rev = list;
                list = next;
            }
            for (request *r = rev; r; r = r->next)
                job_send(b, r);
        }
        if (items[0].revents & ZMQ_POLLIN)
            job_results(b);
    }
}

/* ---- main ------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: mhd_modes --mode external|internal --port N [--zmq tcp|inproc]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    bench b = {.internal = -1, .sig_fd = -1, .wake_fd = -1};
    long port = -1;
    const char *transport = "tcp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mode")) {
            if (!strcmp(argv[i + 1], "external"))
                b.internal = 0;
            else if (!strcmp(argv[i + 1], "internal"))
                b.internal = 1;
            else
                usage();
        } else if (!strcmp(argv[i], "--port")) {
            char *end;
            port = strtol(argv[i + 1], &end, 10);
            if (*end || port < 0 || port > 65535)
                usage();
        } else if (!strcmp(argv[i], "--zmq")) {
            transport = argv[i + 1];
            if (strcmp(transport, "tcp") && strcmp(transport, "inproc"))
                usage();
        } else {
            usage();
        }
    }
    if (b.internal < 0 || port < 0 || argc % 2 == 0)
        usage();

    /* Signals arrive through a signalfd: block them before any thread. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    b.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

    b.zctx = zmq_ctx_new();
    b.job_sock = zmq_socket(b.zctx, ZMQ_PAIR);
    int zero = 0;
    zmq_setsockopt(b.job_sock, ZMQ_LINGER, &zero, sizeof(zero));
    const char *bind = strcmp(transport, "tcp") ? "inproc://jobs" : "tcp://127.0.0.1:*";
    if (zmq_bind(b.job_sock, bind) != 0) {
        fprintf(stderr, "bind %s: %s\n", bind, zmq_strerror(errno));
        return 1;
    }
    size_t elen = sizeof(b.endpoint);
    zmq_getsockopt(b.job_sock, ZMQ_LAST_ENDPOINT, b.endpoint, &elen);
    pthread_t echo;
    pthread_create(&echo, NULL, echo_main, &b);

    static const char body[] = "ok\n";
    b.ok = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG;
    if (b.internal) {
        flags |= MHD_USE_INTERNAL_POLLING_THREAD;
        pthread_mutex_init(&b.lock, NULL);
        b.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    b.daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, &b,
                                MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_CONNECTION_TIMEOUT,
                                30u, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, &b, MHD_OPTION_END);
    if (!b.daemon) {
        fprintf(stderr, "cannot listen on port %ld\n", port);
        return 1;
    }
    fprintf(stderr, "mhd_modes: mode=%s port=%ld zmq=%s\n", b.internal ? "internal" : "external",
            port, b.endpoint);

    if (b.internal)
        loop_internal(&b);
    else
        loop_external(&b);

    /* Resume everything suspended before stopping MHD (its API rule):
     * (internal) requests handed over but not sent, then jobs still out at
     * the echo thread. In internal mode MHD's thread keeps serving
     * keep-alive connections meanwhile, so first make it stop suspending. */
    if (b.internal) {
        pthread_mutex_lock(&b.lock);
        b.stopping = 1;
        request *r = b.handoff;
        b.handoff = NULL;
        pthread_mutex_unlock(&b.lock);
        while (r) {
            request *next = r->next;
            atomic_store(&r->state, REQ_DONE);
            MHD_resume_connection(r->conn);
            r = next;
        }
    }
    for (int i = 0; i < 20 && b.pending; i++) {
        zmq_pollitem_t item = {b.job_sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 50) > 0)
            job_results(&b);
    }
    zmq_close(b.job_sock);
    MHD_stop_daemon(b.daemon);
    MHD_destroy_response(b.ok);
    zmq_ctx_shutdown(b.zctx);
    pthread_join(echo, NULL);
    zmq_ctx_term(b.zctx);
    fprintf(stderr, "mhd_modes: served %llu requests\n", b.served);
    return 0;
}
