/* A Gearman worker for the client benchmark's baseline (bench/gearman.sh):
 * registers the function "echo", which returns its payload unchanged.
 *
 *   gearman_worker [-t THREADS] HOST:PORT
 *
 * Each of THREADS threads (default 1) has its own gearman_worker_st and its
 * own connection, so it holds one job at a time, as one slot of offload's
 * io=threads:N queue does: -t 2 is the counterpart of threads:2. Runs until
 * killed (SIGTERM); exits 1 if a thread's connection fails for good.
 *
 * cc -O2 -Wall -Wextra -Werror bench/gearman_worker.c -o gearman_worker -lgearman -lpthread
 */
#include <errno.h>
#include <libgearman-1.0/gearman.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *host;
static in_port_t port;

/* The function: hands the workload back as the result. A v1 function's
 * result travels in the WORK_COMPLETE packet itself (one packet per job; a
 * v2 function would send it as a separate WORK_DATA first); libgearman
 * frees the copy. */
static void *echo_fn(gearman_job_st *job, void *context, size_t *result_size, gearman_return_t *ret)
{
    (void)context;
    size_t n = gearman_job_workload_size(job);
    void *out = malloc(n ? n : 1);
    if (out == NULL) {
        *result_size = 0;
        *ret = GEARMAN_WORK_FAIL;
        return NULL;
    }
    if (n)
        memcpy(out, gearman_job_workload(job), n);
    *result_size = n;
    *ret = GEARMAN_SUCCESS;
    return out;
}

static void *run(void *arg)
{
    long id = (long)arg;
    gearman_worker_st *w = gearman_worker_create(NULL);
    if (w == NULL) {
        fprintf(stderr, "gearman_worker[%ld]: gearman_worker_create failed\n", id);
        exit(1);
    }
    gearman_return_t rc = gearman_worker_add_server(w, host, port);
    if (gearman_failed(rc)) {
        fprintf(stderr, "gearman_worker[%ld]: add_server: %s\n", id, gearman_worker_error(w));
        exit(1);
    }
    rc = gearman_worker_add_function(w, "echo", 0, echo_fn, NULL);
    if (gearman_failed(rc)) {
        fprintf(stderr, "gearman_worker[%ld]: add_function: %s\n", id, gearman_worker_error(w));
        exit(1);
    }
    for (;;) {
        rc = gearman_worker_work(w);
        if (rc == GEARMAN_SUCCESS || rc == GEARMAN_IO_WAIT || rc == GEARMAN_TIMEOUT)
            continue;
        /* The server went away (the benchmark is over) or a real error. */
        fprintf(stderr, "gearman_worker[%ld]: work: %s\n", id, gearman_worker_error(w));
        exit(1);
    }
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: gearman_worker [-t THREADS] HOST:PORT\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long threads = 1;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            threads = strtol(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || threads < 1 || threads > 1024)
                usage();
        } else {
            usage();
        }
    }
    if (i != argc - 1)
        usage();
    static char hostbuf[256];
    const char *colon = strrchr(argv[i], ':');
    if (colon == NULL || (size_t)(colon - argv[i]) >= sizeof hostbuf)
        usage();
    memcpy(hostbuf, argv[i], (size_t)(colon - argv[i]));
    host = hostbuf;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 1 || p > 65535)
        usage();
    port = (in_port_t)p;

    pthread_t *t = calloc((size_t)threads, sizeof *t);
    if (t == NULL)
        return 1;
    for (long k = 0; k < threads; k++) {
        int err = pthread_create(&t[k], NULL, run, (void *)k);
        if (err != 0) {
            fprintf(stderr, "gearman_worker: pthread_create: %s\n", strerror(err));
            return 1;
        }
    }
    for (long k = 0; k < threads; k++)
        pthread_join(t[k], NULL);
    return 0;
}
