/* log.h -- one line per event on stderr: "ts level component key=value...",
 * or the same event as logfmt or a JSON object (--log-format,
 * log_format.h).
 *
 * LOG_* macros test the level before formatting anything, so a disabled
 * level costs one comparison. Safe to call from any thread: each line is
 * written with a single write(2), of at most 2 KiB (text) or 4 KiB
 * (logfmt, json), so lines from several threads never interleave. */
#ifndef OFFLOAD_LOG_H
#define OFFLOAD_LOG_H

#include "log_format.h"

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern int log_level_current;
extern int log_format_current; /* a log_format; LOG_FORMAT_TEXT by default */

/* Sets the component name printed on every line ("gateway", "executor"). */
void log_init(const char *component, int level);

/* Sets the lines' format (a log_format: log_format_parse reads the flag).
 * Call once, at start, before any thread logs. */
void log_set_format(int format);

/* Parses "error", "warn", "info" or "debug"; returns the level or -1. */
int log_level_parse(const char *name);

/* True for at most `per_second` calls a second on this limiter, so a flood
 * of bad input is logged in a few lines (its counters still count every
 * event). Not thread safe: one limiter per thread. */
typedef struct log_limiter {
    unsigned long long window;
    int count;
} log_limiter;
int log_limiter_allow(log_limiter *l, int per_second);

void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_AT(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) <= log_level_current)                                                          \
            log_write((level), __VA_ARGS__);                                                       \
    } while (0)
#define log_error(...) LOG_AT(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) LOG_AT(LOG_WARN, __VA_ARGS__)
#define log_info(...) LOG_AT(LOG_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_DEBUG, __VA_ARGS__)

#endif
