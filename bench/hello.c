/* hello-baseline: the benchmark's floor. A minimal libmicrohttpd server (one
 * internal polling thread, epoll) that answers every request with 200
 * "hello" and reads and discards any request body. bench/bench.sh runs the
 * same ab command against it and against the gateway's echo route, so the
 * ratio shows what offload's job path costs over bare HTTP.
 *
 * With --delay-ms N it answers each request N ms after it arrived instead
 * (suspended, no thread held, woken by one timer thread): the floor for the
 * seed scenario, what ab itself measures against an ideal 100 ms server.
 *
 *   hello-baseline [--host ADDR] [--port N] [--delay-ms N] [--ready-fd FD]
 *
 * Port 0 (the default) picks a free port. Once listening it writes one line
 * "http=ADDR:PORT" to FD (or to stdout without --ready-fd), then serves until
 * SIGINT or SIGTERM and exits 0. */

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char body[] = "hello";

/* One request in flight. Lives from the first handler call to
 * on_completed(). */
typedef struct request {
    struct MHD_Connection *conn;
    uint64_t due_ns;      /* when a delayed request is answered */
    int delayed;          /* suspended, waiting in the delay list */
    struct request *next; /* delay list link */
} request;

/* The delay list: requests in arrival order, which is also deadline order
 * since every delay is the same. Shared by MHD's thread and the timer. */
static pthread_mutex_t delay_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t delay_cond = PTHREAD_COND_INITIALIZER;
static request *delay_head, *delay_tail;
static int delay_stop;
static uint64_t delay_ns;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The timer thread: resumes each delayed request at its deadline. */
static void *delay_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&delay_lock);
    while (!delay_stop) {
        if (delay_head == NULL) {
            pthread_cond_wait(&delay_cond, &delay_lock);
            continue;
        }
        uint64_t due = delay_head->due_ns;
        if (now_ns() < due) {
            struct timespec ts = {.tv_sec = (time_t)(due / 1000000000u),
                                  .tv_nsec = (long)(due % 1000000000u)};
            pthread_cond_timedwait(&delay_cond, &delay_lock, &ts);
            continue;
        }
        request *r = delay_head;
        delay_head = r->next;
        if (delay_head == NULL)
            delay_tail = NULL;
        /* Not under our lock: MHD takes its own. r stays valid while its
         * connection is suspended. */
        pthread_mutex_unlock(&delay_lock);
        MHD_resume_connection(r->conn);
        pthread_mutex_lock(&delay_lock);
    }
    pthread_mutex_unlock(&delay_lock);
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct MHD_Response *resp = cls;
    request *r = *req_cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;

    if (r == NULL) {
        r = calloc(1, sizeof *r);
        if (r == NULL)
            return MHD_NO;
        r->conn = conn;
        r->due_ns = now_ns() + delay_ns;
        *req_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        *upload_data_size = 0; /* discard the body */
        return MHD_YES;
    }
    if (delay_ns > 0 && !r->delayed) {
        r->delayed = 1;
        MHD_suspend_connection(conn); /* before the timer can see it */
        pthread_mutex_lock(&delay_lock);
        if (delay_tail != NULL)
            delay_tail->next = r;
        else
            delay_head = r;
        delay_tail = r;
        pthread_cond_signal(&delay_cond);
        pthread_mutex_unlock(&delay_lock);
        return MHD_YES;
    }
    return MHD_queue_response(conn, MHD_HTTP_OK, resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    free(*req_cls);
    *req_cls = NULL;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: hello-baseline [--host ADDR] [--port N] [--delay-ms N] [--ready-fd FD]\n"
               "A minimal libmicrohttpd server answering 200 \"hello\" to every request.\n"
               "  --host ADDR    IPv4 address to listen on (default 127.0.0.1)\n"
               "  --port N       port to listen on; 0 picks a free one (default 0)\n"
               "  --delay-ms N   answer each request N ms after it arrived (default 0)\n"
               "  --ready-fd FD  write 'http=ADDR:PORT' to FD once listening, then close\n"
               "                 it (default: print the line on stdout)\n");
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = 0, ready_fd = -1, delay_ms = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "hello-baseline: unknown flag or missing value: %s\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--host") == 0) {
            host = v;
        } else if (strcmp(a, "--port") == 0) {
            if (parse_long(v, 0, 65535, &port) != 0) {
                fprintf(stderr, "hello-baseline: --port wants 0..65535, got '%s'\n", v);
                return 2;
            }
        } else if (strcmp(a, "--delay-ms") == 0) {
            if (parse_long(v, 0, 3600000, &delay_ms) != 0) {
                fprintf(stderr, "hello-baseline: --delay-ms wants 0..3600000, got '%s'\n", v);
                return 2;
            }
        } else if (strcmp(a, "--ready-fd") == 0) {
            if (parse_long(v, 0, INT_MAX, &ready_fd) != 0) {
                fprintf(stderr, "hello-baseline: --ready-fd wants a file descriptor, got '%s'\n",
                        v);
                return 2;
            }
        } else {
            fprintf(stderr, "hello-baseline: unknown flag: %s\n", a);
            usage(stderr);
            return 2;
        }
    }

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "hello-baseline: --host wants an IPv4 address, got '%s'\n", host);
        return 2;
    }

    /* Block the stop signals before MHD starts its thread, so it inherits the
     * mask and sigwait() below is the only place they are taken. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    delay_ns = (uint64_t)delay_ms * 1000000u;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&delay_cond, &ca);
    pthread_t timer;
    if (pthread_create(&timer, NULL, delay_main, NULL) != 0) {
        fprintf(stderr, "hello-baseline: cannot start the timer thread\n");
        return 1;
    }

    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        fprintf(stderr, "hello-baseline: cannot create the response\n");
        return 1;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL,
        on_request, resp, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "hello-baseline: cannot listen on %s:%ld (in use? try --port 0)\n", host,
                port);
        MHD_destroy_response(resp);
        return 2;
    }

    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned bound = info != NULL ? info->port : (unsigned)port;
    if (ready_fd >= 0) {
        dprintf((int)ready_fd, "http=%s:%u\n", host, bound);
        close((int)ready_fd);
    } else {
        printf("http=%s:%u\n", host, bound);
        fflush(stdout);
    }

    int sig;
    sigwait(&stop, &sig);
    pthread_mutex_lock(&delay_lock);
    delay_stop = 1;
    pthread_cond_signal(&delay_cond);
    pthread_mutex_unlock(&delay_lock);
    pthread_join(timer, NULL);
    MHD_stop_daemon(d);
    MHD_destroy_response(resp);
    return 0;
}
