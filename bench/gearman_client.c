/* A Gearman load generator for the client benchmark's baseline
 * (bench/gearman.sh): C caller threads, each with its own gearman_client_st
 * (its own connection), each running gearman_client_do("echo", PAYLOAD)
 * synchronously in a loop until N requests are done in all; then one line:
 *
 *   gearman: n=100000 c=50 rps=13012 p50_us=... p90_us=... p99_us=... max_us=... failed=0
 *
 * The counterpart of `offload bench -c C -n N QUEUE echo PAYLOAD`: C requests
 * in flight, latency from just before the call to its return, percentiles
 * taken as offload bench takes them (sorted[(n - 1) * p]); the clock starts
 * before the first call (connections are opened by it, as liboffload's are).
 * Every result is checked against the payload.
 *
 *   gearman_client [-c C] [-n N] [-p PAYLOAD] [-t TIMEOUT_MS] HOST:PORT
 *   gearman_client --probe [-t TIMEOUT_MS] HOST:PORT
 *
 * --probe sends one echo and exits 0 if it came back within the timeout
 * (default 1000 ms): a job server is up and a worker has "echo".
 * Exit status: 0 all ok, 1 a request failed or came back wrong, 2 usage.
 *
 * cc -O2 -Wall -Wextra -Werror bench/gearman_client.c -o gearman_client -lgearman -lpthread
 */
#include <errno.h>
#include <libgearman-1.0/gearman.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char host[256];
static in_port_t port;
static const char *payload = "x";
static size_t payload_len = 1;
static long timeout_ms = -1; /* -1: libgearman's default (none) */
static long long total = 100000;
static long callers = 50;

static atomic_llong next_req; /* requests claimed so far */
static atomic_llong failed;   /* failed or wrong results */
static uint64_t *lat_ns;      /* per claimed request */
static pthread_barrier_t go;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static gearman_client_st *client_new(void)
{
    gearman_client_st *c = gearman_client_create(NULL);
    if (c == NULL) {
        fprintf(stderr, "gearman_client: gearman_client_create failed\n");
        return NULL;
    }
    if (gearman_failed(gearman_client_add_server(c, host, port))) {
        fprintf(stderr, "gearman_client: add_server: %s\n", gearman_client_error(c));
        gearman_client_free(c);
        return NULL;
    }
    if (timeout_ms >= 0)
        gearman_client_set_timeout(c, (int)timeout_ms);
    return c;
}

/* One synchronous echo; 0 if it came back equal to the payload. */
static int echo_once(gearman_client_st *c, int quiet)
{
    size_t n = 0;
    gearman_return_t rc;
    void *r = gearman_client_do(c, "echo", NULL, payload, payload_len, &n, &rc);
    int bad = !gearman_success(rc) || n != payload_len || (n && memcmp(r, payload, n) != 0);
    if (bad && !quiet) {
        if (gearman_success(rc))
            fprintf(stderr, "gearman_client: echo came back with %zu bytes, not the payload\n", n);
        else
            fprintf(stderr, "gearman_client: %s\n", gearman_client_error(c));
    }
    free(r);
    return bad;
}

static void *caller(void *arg)
{
    (void)arg;
    gearman_client_st *c = client_new();
    pthread_barrier_wait(&go);
    if (c == NULL) {
        atomic_fetch_add(&failed, 1);
        return NULL;
    }
    long long i;
    while ((i = atomic_fetch_add(&next_req, 1)) < total) {
        uint64_t t0 = now_ns();
        if (echo_once(c, atomic_load(&failed) > 10))
            atomic_fetch_add(&failed, 1);
        lat_ns[i] = now_ns() - t0;
    }
    gearman_client_free(c);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr, "usage: gearman_client [-c C] [-n N] [-p PAYLOAD] [-t TIMEOUT_MS] HOST:PORT\n"
                    "       gearman_client --probe [-t TIMEOUT_MS] HOST:PORT\n");
    exit(2);
}

static long long num(const char *s, long long min, long long max)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    int probe = 0, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--probe") == 0) {
            probe = 1;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        if (strcmp(a, "-c") == 0)
            callers = (long)num(argv[++i], 1, 4096);
        else if (strcmp(a, "-n") == 0)
            total = num(argv[++i], 1, 1000000000);
        else if (strcmp(a, "-t") == 0)
            timeout_ms = (long)num(argv[++i], 0, 3600000);
        else if (strcmp(a, "-p") == 0)
            payload = argv[++i], payload_len = strlen(payload);
        else
            usage();
    }
    if (i != argc - 1)
        usage();
    const char *colon = strrchr(argv[i], ':');
    if (colon == NULL || (size_t)(colon - argv[i]) >= sizeof host)
        usage();
    memcpy(host, argv[i], (size_t)(colon - argv[i]));
    port = (in_port_t)num(colon + 1, 1, 65535);

    if (probe) {
        if (timeout_ms < 0)
            timeout_ms = 1000;
        gearman_client_st *c = client_new();
        int bad = c == NULL || echo_once(c, 1);
        if (c)
            gearman_client_free(c);
        return bad;
    }

    if (callers > total)
        callers = (long)total;
    lat_ns = calloc((size_t)total, sizeof *lat_ns);
    pthread_t *t = calloc((size_t)callers, sizeof *t);
    if (lat_ns == NULL || t == NULL) {
        fprintf(stderr, "gearman_client: out of memory\n");
        return 1;
    }
    pthread_barrier_init(&go, NULL, (unsigned)callers + 1);
    for (long k = 0; k < callers; k++) {
        int err = pthread_create(&t[k], NULL, caller, NULL);
        if (err != 0) {
            fprintf(stderr, "gearman_client: pthread_create: %s\n", strerror(err));
            return 1;
        }
    }
    pthread_barrier_wait(&go);
    uint64_t t0 = now_ns();
    for (long k = 0; k < callers; k++)
        pthread_join(t[k], NULL);
    double secs = (double)(now_ns() - t0) / 1e9;

    qsort(lat_ns, (size_t)total, sizeof *lat_ns, cmp_u64);
#define PCT(p) (lat_ns[(size_t)((double)(total - 1) * (p))] / 1000)
    long long bad = atomic_load(&failed);
    printf("gearman: n=%lld c=%ld rps=%.0f p50_us=%llu p90_us=%llu p99_us=%llu max_us=%llu "
           "failed=%lld\n",
           total, callers, (double)total / secs, (unsigned long long)PCT(0.5),
           (unsigned long long)PCT(0.9), (unsigned long long)PCT(0.99),
           (unsigned long long)(lat_ns[total - 1] / 1000), bad);
    free(lat_ns);
    free(t);
    return bad ? 1 : 0;
}
