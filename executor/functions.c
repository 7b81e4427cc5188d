/* functions.c -- see functions.h. */
#include "functions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "codec.h"
#include "offload.pb-c.h"
#include "text.h"

#define FUNCTION_MS_MAX ((unsigned long long)CODEC_MS_MAX) /* longest sleep or spin */
#define FUNCTION_SLICE_US 20000ULL /* sleep checks cancel/deadline this often */
#define FUNCTION_QUOTE_MAX 40      /* payload bytes quoted in an error message */

struct function_registry {
    function_def *defs;
    char **names; /* the names again, for functions_names */
    size_t count;
};

/* ---- helpers for the built-ins ------------------------------------------ */

/* Parses a payload of decimal milliseconds, 0..FUNCTION_MS_MAX, allowing
 * trailing whitespace (a newline from `echo`). Returns 0, or -1 with
 * out->message saying what is expected. */
static int function_parse_ms(const char *fn, const function_call *call, uint64_t *ms,
                             function_output *out)
{
    const uint8_t *p = call->payload;
    size_t len = call->len, i = 0;
    uint64_t v = 0;
    while (len > 0 &&
           (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
        v = v * 10 + (uint64_t)(p[i] - '0');
        if (v > FUNCTION_MS_MAX)
            break;
    }
    if (len > 0 && i == len && v <= FUNCTION_MS_MAX) {
        *ms = v;
        return 0;
    }
    char quoted[4 * FUNCTION_QUOTE_MAX + 8];
    text_quote(call->payload, call->len, FUNCTION_QUOTE_MAX, quoted, sizeof(quoted));
    snprintf(out->message, sizeof(out->message),
             "%s: payload must be milliseconds as decimal text (0..%llu), got %s%s%s", fn,
             FUNCTION_MS_MAX, call->len ? "'" : "an empty payload", quoted, call->len ? "'" : "");
    return -1;
}

/* CODE_CANCELLED or CODE_TIMEOUT if the call must stop now, else CODE_OK.
 * `until_us` is when the function would finish by itself: a deadline at or
 * after it does not count. */
static int function_check(const char *fn, const function_call *call, uint64_t start_us,
                          uint64_t until_us, uint64_t now_us, function_output *out)
{
    if (call->cancelled && atomic_load_explicit(call->cancelled, memory_order_relaxed)) {
        snprintf(out->message, sizeof(out->message), "%s: cancelled after %llu ms", fn,
                 (unsigned long long)((now_us - start_us) / 1000));
        return OFFLOAD__CODE__CODE_CANCELLED;
    }
    if (call->deadline_us && call->deadline_us < until_us && now_us >= call->deadline_us) {
        snprintf(out->message, sizeof(out->message), "%s: deadline passed after %llu of %llu ms",
                 fn, (unsigned long long)((now_us - start_us) / 1000),
                 (unsigned long long)((until_us - start_us) / 1000));
        return OFFLOAD__CODE__CODE_TIMEOUT;
    }
    return OFFLOAD__CODE__CODE_OK;
}

/* ---- built-ins ---------------------------------------------------------- */

static int function_echo(const function_call *call, function_output *out)
{
    out->data = call->payload;
    out->len = call->len;
    return OFFLOAD__CODE__CODE_OK;
}

/* Blocks like time.sleep, in slices toward an absolute monotonic time so
 * that slices never add up to drift. */
static int function_sleep(const function_call *call, function_output *out)
{
    uint64_t ms;
    if (function_parse_ms("sleep", call, &ms, out) < 0)
        return OFFLOAD__CODE__CODE_JOB_FAILED;
    uint64_t start = clock_now_us(), until = start + ms * 1000;
    for (;;) {
        uint64_t now = clock_now_us();
        int code = function_check("sleep", call, start, until, now, out);
        if (code != OFFLOAD__CODE__CODE_OK)
            return code;
        if (now >= until)
            return OFFLOAD__CODE__CODE_OK;
        uint64_t wake = now + FUNCTION_SLICE_US;
        if (wake > until)
            wake = until;
        if (call->deadline_us && call->deadline_us < wake)
            wake = call->deadline_us;
        struct timespec ts = {.tv_sec = (time_t)(wake / 1000000),
                              .tv_nsec = (long)(wake % 1000000) * 1000};
        /* EINTR: the loop checks and sleeps again. */
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

/* Burns CPU; checks the clock, cancel flag and deadline about every
 * microsecond of work. */
static int function_spin(const function_call *call, function_output *out)
{
    uint64_t ms;
    if (function_parse_ms("spin", call, &ms, out) < 0)
        return OFFLOAD__CODE__CODE_JOB_FAILED;
    uint64_t start = clock_now_us(), until = start + ms * 1000;
    volatile uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (;;) {
        uint64_t now = clock_now_us();
        int code = function_check("spin", call, start, until, now, out);
        if (code != OFFLOAD__CODE__CODE_OK)
            return code;
        if (now >= until)
            return OFFLOAD__CODE__CODE_OK;
        for (int i = 0; i < 256; i++)
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    }
}

/* ---- the registry ------------------------------------------------------- */

function_registry *functions_new(void)
{
    function_registry *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    if (functions_add(r, "echo", function_echo) < 0 ||
        functions_add(r, "sleep", function_sleep) < 0 ||
        functions_add(r, "spin", function_spin) < 0)
        functions_destroy(&r);
    return r;
}

void functions_destroy(function_registry **rp)
{
    function_registry *r = *rp;
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++)
        free(r->defs[i].name);
    free(r->defs);
    free(r->names);
    free(r);
    *rp = NULL;
}

int functions_add(function_registry *r, const char *name, function_fn fn)
{
    return functions_add_data(r, name, fn, NULL, "built-in");
}

int functions_add_data(function_registry *r, const char *name, function_fn fn, const void *data,
                       const char *origin)
{
    if (!codec_name_valid(name) || !fn)
        return -EINVAL;
    if (functions_find(r, name))
        return -EEXIST;
    if (r->count >= CODEC_FUNCTIONS_MAX)
        return -ENOSPC;
    function_def *defs = realloc(r->defs, (r->count + 1) * sizeof(*defs));
    if (!defs)
        return -ENOMEM;
    r->defs = defs;
    char **names = realloc(r->names, (r->count + 1) * sizeof(*names));
    if (!names)
        return -ENOMEM;
    r->names = names;
    function_def *d = &defs[r->count];
    d->name = strdup(name);
    if (!d->name)
        return -ENOMEM;
    d->fn = fn;
    d->data = data;
    d->origin = origin;
    names[r->count] = d->name;
    r->count++;
    return 0;
}

const function_def *functions_get(const function_registry *r, const char *name)
{
    for (size_t i = 0; i < r->count; i++)
        if (!strcmp(r->defs[i].name, name))
            return &r->defs[i];
    return NULL;
}

function_fn functions_find(const function_registry *r, const char *name)
{
    const function_def *d = functions_get(r, name);
    return d ? d->fn : NULL;
}

int functions_call(const function_def *def, function_call *call, function_output *out)
{
    call->data = def->data;
    return def->fn(call, out);
}

char **functions_names(const function_registry *r)
{
    return r->names;
}

size_t functions_count(const function_registry *r)
{
    return r->count;
}

const char *functions_name(const function_registry *r, size_t i)
{
    return r->defs[i].name;
}
