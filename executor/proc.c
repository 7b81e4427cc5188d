/* proc.c -- see proc.h. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "codec.h"
#include "errors.h"
#include "log.h"
#include "offload.pb-c.h"
#include "pool_job.h"
#include "text.h"
#include "wproto.h"

#define PROC_SLICE_MS 10        /* cancel and memory checks while a job runs */
#define PROC_BACKOFF_MIN_MS 100 /* the second crash in a row waits this, then doubles */
#define PROC_BACKOFF_MAX_MS 5000

struct proc_worker {
    const struct proc_config *cfg;
    unsigned index;
    proc_announce *ann;
    const atomic_int *stopping;
    proc_counts *counts;
    atomic_int *live_pid; /* pid, published for other threads (proc_worker_new) */
    pid_t pid;            /* 0: no process */
    int pidfd, in_fd, out_fd;
    int reaped, status; /* without a pidfd: reaped while waiting, and how */
    unsigned jobs;      /* run by this process */
    unsigned crashes;   /* in a row, without a job that ended well between */
    unsigned features;  /* what its hello took (WP_FEATURE_*) */
    const char *retire; /* why to replace it after this job; NULL: keep it */
    uint64_t started_us;
    wp_reader rd;
};

/* ---- announcements ------------------------------------------------------- */

void proc_announce_init(proc_announce *a)
{
    pthread_mutex_init(&a->mu, NULL);
    a->names = NULL;
    a->count = 0;
}

void proc_announce_clear(proc_announce *a)
{
    wp_names_free(a->names, a->count);
    a->names = NULL;
    a->count = 0;
    pthread_mutex_destroy(&a->mu);
}

static int names_contain(char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return 1;
    return 0;
}

/* Same set, any order (neither has duplicates). */
static int names_same(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (!names_contain(b, nb, a[i]))
            return 0;
    return 1;
}

/* Checks (or, first, records) what a worker announced. Takes names. */
static int proc_announced(proc_worker *w, char **names, size_t n, char *err, size_t errlen)
{
    const struct proc_config *cfg = w->cfg;
    if (cfg->expect && !names_same(cfg->expect, cfg->nexpect, names, n)) {
        snprintf(err, errlen, "the worker announced %zu functions, not the %zu expected", n,
                 cfg->nexpect);
        wp_names_free(names, n);
        return -1;
    }
    pthread_mutex_lock(&w->ann->mu);
    int rc = 0;
    if (!w->ann->names) {
        w->ann->names = names;
        w->ann->count = n;
        names = NULL;
    } else if (!names_same(w->ann->names, w->ann->count, names, n)) {
        snprintf(err, errlen,
                 "the worker announced other functions than the queue's first worker (%zu, not "
                 "%zu or not the same names)",
                 n, w->ann->count);
        rc = -1;
    }
    pthread_mutex_unlock(&w->ann->mu);
    wp_names_free(names, n);
    return rc;
}

/* ---- processes ----------------------------------------------------------- */

static void proc_describe(int status, char *out, size_t outlen)
{
    if (WIFEXITED(status))
        snprintf(out, outlen, "exited with code %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        snprintf(out, outlen, "was killed by signal %d (SIG%s: %s)", sig, abbrev ? abbrev : "?",
                 strsignal(sig));
    } else
        snprintf(out, outlen, "ended with status 0x%x", (unsigned)status);
}

static void proc_close_fds(proc_worker *w)
{
    if (w->in_fd >= 0)
        close(w->in_fd);
    if (w->out_fd >= 0)
        close(w->out_fd);
    if (w->pidfd >= 0)
        close(w->pidfd);
    w->in_fd = w->out_fd = w->pidfd = -1;
}

/* Waits up to ms for the process to exit. 1 if it has. */
static int proc_wait_exit(proc_worker *w, int ms)
{
    if (w->pidfd < 0) {
        /* No pidfd (an old kernel): poll waitpid. */
        for (int t = 0; t <= ms; t += 5) {
            if (w->reaped)
                return 1;
            if (waitpid(w->pid, &w->status, WNOHANG) == w->pid) {
                w->reaped = 1;
                return 1;
            }
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
        return 0;
    }
    struct pollfd pfd = {.fd = w->pidfd, .events = POLLIN};
    int rc;
    do
        rc = poll(&pfd, 1, ms);
    while (rc < 0 && errno == EINTR);
    return rc > 0;
}

/* Reaps the process (which has exited or is about to) and forgets it.
 * Returns its wait status. */
static int proc_reap(proc_worker *w)
{
    /* Unpublished before the pid can be reused. */
    atomic_store_explicit(w->live_pid, 0, memory_order_relaxed);
    int status = w->status;
    if (!w->reaped)
        while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
            ;
    w->reaped = 0;
    proc_close_fds(w);
    wp_reader_reset(&w->rd);
    w->pid = 0;
    return status;
}

/* SIGTERM to the process group, SIGKILL after the grace, reap. Sets
 * *killed to the signal that ended it (SIGTERM or SIGKILL); returns the
 * wait status. */
static int proc_kill(proc_worker *w, int *killed)
{
    kill(-w->pid, SIGTERM);
    *killed = SIGTERM;
    if (!proc_wait_exit(w, (int)w->cfg->kill_grace_ms)) {
        kill(-w->pid, SIGKILL);
        *killed = SIGKILL;
    }
    /* Whatever else it started in its group goes too. */
    kill(-w->pid, SIGKILL);
    return proc_reap(w);
}

static int proc_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Starts the process; no hello yet. */
static int proc_start(proc_worker *w, char *err, size_t errlen)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    /* Nothing else of ours (a --ready-fd, descriptors the executor's own
     * parent left open) reaches the worker. */
    posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
    posix_spawnattr_init(&attr);
    sigset_t none, deflt;
    sigemptyset(&none);
    sigemptyset(&deflt);
    int defaults[] = {SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD};
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        sigaddset(&deflt, defaults[i]);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &deflt);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP);
    pid_t pid;
    int rc = posix_spawn(&pid, w->cfg->argv[0], &fa, &attr, w->cfg->argv, w->cfg->envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        snprintf(err, errlen, "cannot run %s: %s", w->cfg->argv[0], strerror(rc));
        goto fail;
    }
    close(in[0]);
    close(out[1]);
    w->pid = pid;
    atomic_store_explicit(w->live_pid, (int)pid, memory_order_relaxed);
    w->in_fd = in[1];
    w->out_fd = out[0];
    w->pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* -1 (ENOSYS): waitpid polling */
    w->reaped = 0;
    w->status = 0;
    w->jobs = 0;
    w->retire = NULL;
    w->started_us = clock_now_us();
    wp_reader_reset(&w->rd);
    proc_set_nonblock(w->in_fd);
    proc_set_nonblock(w->out_fd);
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
    return -1;
}

int proc_worker_spawn(proc_worker *w, char *err, size_t errlen)
{
    if (proc_start(w, err, errlen) < 0)
        return -1;
    uint64_t until = w->started_us + (uint64_t)w->cfg->start_timeout_ms * 1000;
    char why[512];
    for (;;) {
        wp_frame f;
        int rc = wp_reader_next(&w->rd, &f, why, sizeof(why));
        if (rc < 0)
            goto broken;
        if (rc > 0) {
            if (f.type != WP_HELLO) {
                snprintf(why, sizeof(why), "its first frame is of type 0x%02x, not a hello",
                         f.type);
                goto broken;
            }
            char **names;
            size_t n;
            if (wp_parse_hello(f.body, f.len, CODEC_FUNCTIONS_MAX, w->cfg->features, &names, &n,
                               &w->features, why, sizeof(why)) < 0 ||
                proc_announced(w, names, n, why, sizeof(why)) < 0)
                goto broken;
            log_info("event=worker_started queue=%s slot=%u pid=%d functions=%zu start_ms=%llu "
                     "trace=%s",
                     w->cfg->queue, w->index, (int)w->pid, n,
                     (unsigned long long)((clock_now_us() - w->started_us) / 1000),
                     w->features & WP_FEATURE_TRACE ? "yes" : "no");
            return 0;
        }
        uint64_t now = clock_now_us();
        if (now >= until) {
            snprintf(why, sizeof(why), "no hello within %u ms (--worker-start-timeout)",
                     w->cfg->start_timeout_ms);
            goto broken;
        }
        struct pollfd pfd[2] = {{.fd = w->out_fd, .events = POLLIN},
                                {.fd = w->pidfd, .events = POLLIN}};
        int ms = (int)((until - now + 999) / 1000);
        rc = poll(pfd, w->pidfd >= 0 ? 2 : 1, ms);
        if (rc < 0 && errno != EINTR) {
            snprintf(why, sizeof(why), "poll: %s", strerror(errno));
            goto broken;
        }
        if (pfd[0].revents) {
            long n = wp_reader_fill(&w->rd, w->out_fd);
            if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR)) {
                /* It closed stdout: it exited, or is about to. */
                proc_wait_exit(w, 1000);
                int killed;
                int status = proc_kill(w, &killed);
                char how[128];
                proc_describe(status, how, sizeof(how));
                snprintf(err, errlen,
                         "worker %s before announcing its functions (its stderr is in the "
                         "executor's log)",
                         how);
                return -1;
            }
        } else if (w->pidfd >= 0 && pfd[1].revents) {
            continue; /* exited: read what it wrote first, then the EOF */
        }
    }
broken:;
    int killed;
    pid_t pid = w->pid;
    proc_kill(w, &killed);
    snprintf(err, errlen, "worker pid %d: %s; killed", (int)pid, why);
    return -1;
}

proc_worker *proc_worker_new(const struct proc_config *cfg, unsigned index,
                             const proc_shared *shared, atomic_int *pid)
{
    proc_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->cfg = cfg;
    w->index = index;
    w->ann = shared->announce;
    w->stopping = shared->stopping;
    w->counts = shared->counts;
    w->live_pid = pid;
    atomic_store_explicit(pid, 0, memory_order_relaxed);
    w->in_fd = w->out_fd = w->pidfd = -1;
    wp_reader_init(&w->rd, cfg->max_frame);
    return w;
}

/* ---- running a job ------------------------------------------------------- */

size_t proc_rss_kb(int pid)
{
    char path[64], buf[128];
    snprintf(path, sizeof(path), "/proc/%d/statm", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long size, resident;
    if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
        return 0;
    return resident * (size_t)(sysconf(_SC_PAGESIZE) / 1024);
}

static void proc_count_kill(proc_worker *w, proc_kill_reason why)
{
    atomic_fetch_add_explicit(&w->counts->kills[why], 1, memory_order_relaxed);
}

/* Ends job with code and a message; kills the process first if kill. */
static void proc_end(proc_worker *w, pool_job *job, int code, int kill_it, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void proc_end(proc_worker *w, pool_job *job, int code, int kill_it, const char *fmt, ...)
{
    char what[FUNCTION_MESSAGE_MAX - 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    pid_t pid = job->pid; /* w->pid is 0 once a dead worker is reaped */
    job->code = code;
    if (kill_it) {
        int killed;
        proc_kill(w, &killed);
        snprintf(job->out.message, sizeof(job->out.message), "%s; worker pid %d killed (SIG%s)",
                 what, (int)pid, sigabbrev_np(killed));
    } else {
        snprintf(job->out.message, sizeof(job->out.message), "%s", what);
    }
    log_warn("event=worker_failed queue=%s slot=%u pid=%d code=%s trace_id=%.32s message=\"%s\"",
             w->cfg->queue, w->index, (int)pid, code_name(code), trace_id(job->call.traceparent),
             job->out.message);
}

/* The process died by itself (stdout closed or exited): reap and say how. */
static void proc_died(proc_worker *w, pool_job *job, uint64_t start)
{
    pid_t pid = w->pid;
    if (!proc_wait_exit(w, 100)) {
        proc_end(w, job, OFFLOAD__CODE__CODE_CRASHED, 1, "worker pid %d closed its stdout mid-job",
                 (int)pid);
        w->crashes++;
        return;
    }
    char how[128];
    proc_describe(proc_reap(w), how, sizeof(how));
    proc_end(w, job, OFFLOAD__CODE__CODE_CRASHED, 0, "worker pid %d %s after %llu ms of the job",
             (int)pid, how, (unsigned long long)((clock_now_us() - start) / 1000));
    w->crashes++;
}

/* A frame came while the job ran. 1: the job is over. */
static int proc_on_frame(proc_worker *w, pool_job *job, const wp_frame *f, int written)
{
    if (f->type == WP_RESULT) {
        job->code = OFFLOAD__CODE__CODE_OK;
        if (f->len) {
            void *copy = malloc(f->len);
            if (!copy) {
                job->code = OFFLOAD__CODE__CODE_JOB_FAILED;
                snprintf(job->out.message, sizeof(job->out.message),
                         "the executor is out of memory for a %zu-byte result", f->len);
                return 1;
            }
            memcpy(copy, f->body, f->len);
            job->out.owned = copy;
            job->out.data = copy;
            job->out.len = f->len;
        }
    } else if (f->type == WP_ERROR) {
        job->code = OFFLOAD__CODE__CODE_JOB_FAILED;
        if (f->len)
            text_clean(f->body, f->len, job->out.message, sizeof(job->out.message));
        else
            snprintf(job->out.message, sizeof(job->out.message), "the function failed");
    } else {
        proc_end(w, job, OFFLOAD__CODE__CODE_CRASHED, 1,
                 "worker broke the protocol: a frame of type 0x%02x while a job runs", f->type);
        w->crashes++;
        return 1;
    }
    w->crashes = 0;
    if (!written) /* it answered before reading its whole job: out of step */
        w->retire = "answered_early";
    return 1;
}

void proc_worker_run(proc_worker *w, pool_job *job)
{
    uint64_t start = clock_now_us();
    job->pid = (int)w->pid;
    if (w->pid <= 0) {
        job->code = OFFLOAD__CODE__CODE_CRASHED;
        snprintf(job->out.message, sizeof(job->out.message),
                 "queue '%s' has no worker process in slot %u: it could not be restarted (see "
                 "the executor's log)",
                 w->cfg->queue, w->index);
        return;
    }
    uint8_t hdr[WP_HEADER + 1 + WP_JOB_FIXED + 256];
    uint32_t timeout_ms = 0;
    if (job->call.deadline_us > start)
        timeout_ms = (uint32_t)((job->call.deadline_us - start + 999) / 1000);
    size_t hlen = wp_job_header(hdr, timeout_ms, job->name, job->call.len);
    /* A worker that takes them gets the job's trace context first. */
    uint8_t tf[WP_TRACE_FRAME_MAX];
    size_t tlen =
        (w->features & WP_FEATURE_TRACE) && job->call.traceparent && *job->call.traceparent
            ? wp_trace_frame(tf, job->call.traceparent, job->call.tracestate)
            : 0;
    struct iovec iov[3] = {{tf, tlen}, {hdr, hlen}, {(void *)job->call.payload, job->call.len}};
    size_t total = tlen + hlen + job->call.len, sent = 0;
    uint64_t next_rss = start;
    char why[512];
    int writable = 1;

    for (;;) {
        uint64_t now = clock_now_us();
        /* The deadline first: the gateway's Cancel at its deadline usually
         * arrives before ours passes (pool_job_expire). */
        int cancelled = atomic_load_explicit(&job->cancelled, memory_order_relaxed);
        if (cancelled == POOL_JOB_EXPIRED ||
            (job->call.deadline_us && now >= job->call.deadline_us)) {
            proc_count_kill(w, PROC_KILL_DEADLINE);
            proc_end(w, job, OFFLOAD__CODE__CODE_TIMEOUT, 1, "deadline passed after %llu ms",
                     (unsigned long long)((now - start) / 1000));
            break;
        }
        if (cancelled) {
            proc_count_kill(w, PROC_KILL_CANCEL);
            proc_end(w, job, OFFLOAD__CODE__CODE_CANCELLED, 1, "cancelled after %llu ms",
                     (unsigned long long)((now - start) / 1000));
            break;
        }
        if (w->cfg->max_rss_kb && now >= next_rss) {
            size_t rss = proc_rss_kb(w->pid);
            if (rss > w->cfg->max_rss_kb) {
                proc_count_kill(w, PROC_KILL_MEMORY);
                proc_end(w, job, OFFLOAD__CODE__CODE_CRASHED, 1,
                         "the job used %zu MB of memory, over the limit of %zu MB "
                         "(--max-rss-mb)",
                         rss / 1024, w->cfg->max_rss_kb / 1024);
                break;
            }
            next_rss = now + PROC_SLICE_MS * 1000;
        }
        int ms = PROC_SLICE_MS;
        if (job->call.deadline_us && job->call.deadline_us - now < (uint64_t)ms * 1000)
            ms = (int)((job->call.deadline_us - now + 999) / 1000);
        struct pollfd pfd[3] = {{.fd = w->out_fd, .events = POLLIN},
                                {.fd = w->pidfd, .events = POLLIN},
                                {.fd = sent < total ? w->in_fd : -1, .events = POLLOUT}};
        /* The first turn writes before it polls: a pipe usually takes a
         * whole small job at once. */
        if (!writable && poll(pfd, 3, ms) < 0 && errno != EINTR) {
            proc_end(w, job, OFFLOAD__CODE__CODE_CRASHED, 1, "poll: %s", strerror(errno));
            break;
        }
        if (sent < total && (writable || pfd[2].revents)) {
            /* Write what the pipe takes; the payload is not copied. */
            struct iovec v[3];
            int nv = 0;
            size_t skip = sent;
            for (int i = 0; i < 3; i++) {
                if (skip >= iov[i].iov_len) {
                    skip -= iov[i].iov_len;
                    continue;
                }
                v[nv].iov_base = (uint8_t *)iov[i].iov_base + skip;
                v[nv].iov_len = iov[i].iov_len - skip;
                skip = 0;
                nv++;
            }
            ssize_t n = writev(w->in_fd, v, nv);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINTR)
                sent = total; /* EPIPE: it is gone; its death is seen below */
        }
        if (writable) {
            writable = 0;
            continue; /* now poll for the answer (or for room to write) */
        }
        int over = 0;
        if (pfd[0].revents) {
            long n = wp_reader_fill(&w->rd, w->out_fd);
            if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR)) {
                /* Frames it wrote before it went come first. */
                wp_frame f;
                int rc = wp_reader_next(&w->rd, &f, why, sizeof(why));
                if (rc > 0)
                    proc_on_frame(w, job, &f, sent == total);
                else
                    proc_died(w, job, start);
                if (rc > 0 && w->pid > 0)
                    w->retire = "exited";
                break;
            }
            wp_frame f;
            int rc = wp_reader_next(&w->rd, &f, why, sizeof(why));
            if (rc < 0) {
                proc_end(w, job, OFFLOAD__CODE__CODE_CRASHED, 1, "worker broke the protocol: %s",
                         why);
                w->crashes++;
                break;
            }
            if (rc > 0) {
                over = proc_on_frame(w, job, &f, sent == total);
                if (over && wp_reader_pending(&w->rd) && !w->retire)
                    w->retire = "wrote_more"; /* more than one answer */
            }
        } else if (w->pidfd >= 0 && pfd[1].revents) {
            /* Exited with nothing more on stdout (something it started may
             * hold stdout open, so no EOF comes). */
            proc_died(w, job, start);
            break;
        }
        if (over)
            break;
    }
    job->run_us = clock_now_us() - start;
    if (w->pid > 0) {
        w->jobs++;
        if (!w->retire && w->cfg->max_jobs && w->jobs >= w->cfg->max_jobs)
            w->retire = "max_jobs";
    }
}

/* ---- between jobs -------------------------------------------------------- */

/* Asks the process to exit (stdin closed), kills it after the grace. */
static void proc_retire(proc_worker *w, const char *reason)
{
    pid_t pid = w->pid;
    unsigned jobs = w->jobs;
    close(w->in_fd);
    w->in_fd = -1;
    int status, killed = 0;
    if (proc_wait_exit(w, (int)w->cfg->kill_grace_ms)) {
        kill(-w->pid, SIGKILL); /* its group, if it left anything */
        status = proc_reap(w);
    } else {
        status = proc_kill(w, &killed);
    }
    if (!strcmp(reason, "max_jobs"))
        proc_count_kill(w, PROC_KILL_RECYCLE);
    char how[128];
    proc_describe(status, how, sizeof(how));
    log_info("event=worker_retired queue=%s slot=%u pid=%d jobs=%u reason=%s how=\"%s\"",
             w->cfg->queue, w->index, (int)pid, jobs, reason, how);
}

static int proc_stopping(const proc_worker *w)
{
    return atomic_load_explicit(w->stopping, memory_order_relaxed) != 0;
}

void proc_worker_after(proc_worker *w)
{
    if (w->pid > 0 && w->retire)
        proc_retire(w, w->retire);
    while (w->pid <= 0 && !proc_stopping(w)) {
        unsigned delay = 0;
        if (w->crashes >= 2) {
            delay = PROC_BACKOFF_MIN_MS;
            for (unsigned i = 2; i < w->crashes && delay < PROC_BACKOFF_MAX_MS; i++)
                delay *= 2;
            if (delay > PROC_BACKOFF_MAX_MS)
                delay = PROC_BACKOFF_MAX_MS;
            log_warn("event=worker_backoff queue=%s slot=%u crashes=%u delay_ms=%u", w->cfg->queue,
                     w->index, w->crashes, delay);
        }
        for (unsigned t = 0; t < delay && !proc_stopping(w); t += 50) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (proc_stopping(w))
            break;
        char err[512];
        if (proc_worker_spawn(w, err, sizeof(err)) == 0) {
            atomic_fetch_add_explicit(&w->counts->respawns, 1, memory_order_relaxed);
            break;
        }
        w->crashes++;
        log_error("event=worker_start_failed queue=%s slot=%u error=\"%s\"", w->cfg->queue,
                  w->index, err);
    }
}

void proc_worker_destroy(proc_worker **wp)
{
    proc_worker *w = *wp;
    if (!w)
        return;
    if (w->pid > 0)
        proc_retire(w, "stopping");
    proc_close_fds(w);
    wp_reader_free(&w->rd);
    free(w);
    *wp = NULL;
}
