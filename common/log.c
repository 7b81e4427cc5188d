/* log.c -- see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_level_current = LOG_INFO;
int log_format_current = LOG_FORMAT_TEXT;
static const char *log_component = "offload";
static const char *const log_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
static const char *const log_lower[] = {"error", "warn", "info", "debug"};

void log_init(const char *component, int level)
{
    log_component = component;
    log_level_current = level;
}

void log_set_format(int format)
{
    log_format_current = format;
}

int log_level_parse(const char *name)
{
    for (int i = 0; i <= LOG_DEBUG; i++)
        if (strcasecmp(name, log_names[i]) == 0)
            return i;
    if (strcasecmp(name, "warning") == 0)
        return LOG_WARN;
    return -1;
}

int log_limiter_allow(log_limiter *l, int per_second)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if ((unsigned long long)ts.tv_sec != l->window) {
        l->window = (unsigned long long)ts.tv_sec;
        l->count = 0;
    }
    return ++l->count <= per_second;
}

/* A structured line (--log-format logfmt or json): the message parsed
 * into fields (log_format.c). */
static void log_write_structured(int level, const char *ts, const char *fmt, va_list ap)
{
    char msg[LOG_FORMAT_MSG_MAX + 1], line[LOG_FORMAT_LINE_MAX];
    int w = vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t len = w < 0 ? 0 : (size_t)w < sizeof(msg) ? (size_t)w : sizeof(msg) - 1;
    size_t n = log_format_render((log_format)log_format_current, ts, log_lower[level],
                                 log_component, msg, len, line, sizeof(line) - 1);
    line[n++] = '\n';
    ssize_t rc = write(STDERR_FILENO, line, n);
    (void)rc;
}

void log_write(int level, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    level = level < 0 ? 0 : level > LOG_DEBUG ? LOG_DEBUG : level;
    size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    int w = snprintf(line + n, sizeof(line) - n, ".%03ldZ", (long)tv.tv_usec / 1000);
    if (w > 0)
        n += (size_t)w;

    va_list ap;
    va_start(ap, fmt);
    if (log_format_current != LOG_FORMAT_TEXT) {
        log_write_structured(level, line, fmt, ap);
        va_end(ap);
        return;
    }
    w = snprintf(line + n, sizeof(line) - n, " %s %s ", log_names[level], log_component);
    if (w > 0)
        n += (size_t)w;
    w = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (w > 0)
        n += (size_t)w < sizeof(line) - n - 1 ? (size_t)w : sizeof(line) - n - 2;
    line[n++] = '\n';
    ssize_t rc = write(STDERR_FILENO, line, n);
    (void)rc;
}
