/* procstat.c -- see procstat.h. */
#include "procstat.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* The boot time (/proc/stat btime), seconds since the epoch; read once. */
static uint64_t procstat_boot_time(void)
{
    static uint64_t btime;
    if (btime)
        return btime;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long v;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "btime %llu", &v) == 1) {
            btime = v;
            break;
        }
    fclose(f);
    return btime;
}

/* The process's start (/proc/self/stat field 22, clock ticks after boot),
 * microseconds since the epoch; read once. */
static uint64_t procstat_start_time(void)
{
    static uint64_t start_us;
    if (start_us)
        return start_us;
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return 0;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Field 2, the command, is in parentheses and may hold anything. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    unsigned long long ticks = 0;
    /* Fields 3.. ; starttime is field 22: the 20th after the ')'. */
    if (sscanf(p + 1,
               " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
               &ticks) != 1)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    uint64_t boot = procstat_boot_time();
    if (hz <= 0 || !boot)
        return 0;
    start_us = boot * 1000000 + (uint64_t)ticks * 1000000 / (uint64_t)hz;
    return start_us;
}

int procstat_read(procstat *out)
{
    int rc = 0;
    memset(out, 0, sizeof(*out));
    long page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size, resident;
    if (f && fscanf(f, "%llu %llu", &size, &resident) == 2 && page > 0) {
        out->vsize_bytes = size * (uint64_t)page;
        out->rss_bytes = resident * (uint64_t)page;
    } else {
        rc = -1;
    }
    if (f)
        fclose(f);

    DIR *d = opendir("/proc/self/fd");
    if (d) {
        uint64_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
            n += de->d_name[0] != '.';
        closedir(d);
        out->open_fds = n ? n - 1 : 0; /* not the one reading the folder */
    } else {
        rc = -1;
    }

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        out->max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
    else
        rc = -1;

    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        out->cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec +
                      (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
    else
        rc = -1;

    out->start_time_us = procstat_start_time();
    if (!out->start_time_us)
        rc = -1;
    return rc;
}
