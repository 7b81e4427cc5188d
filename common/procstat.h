/* procstat.h -- this process's resource use, from /proc/self (Linux): what
 * Prometheus' process_* metrics say of any program. Each call reads the
 * files again (a few system calls; /proc/self/fd is walked, one entry per
 * open descriptor). */
#ifndef OFFLOAD_PROCSTAT_H
#define OFFLOAD_PROCSTAT_H

#include <stdint.h>

typedef struct procstat {
    uint64_t rss_bytes;     /* resident memory */
    uint64_t vsize_bytes;   /* virtual memory */
    uint64_t open_fds;      /* descriptors open now */
    uint64_t max_fds;       /* RLIMIT_NOFILE's soft limit */
    uint64_t cpu_us;        /* user + system CPU time of every thread */
    uint64_t start_time_us; /* when the process started, microseconds since the epoch */
} procstat;

/* Fills out; a field that cannot be read is 0. Returns 0, or -1 when
 * something could not be read (the rest is filled). */
int procstat_read(procstat *out);

#endif
