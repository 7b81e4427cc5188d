/* functions.h -- the functions an executor can run, by name, and the
 * built-ins every executor offers: echo, sleep and spin.
 *
 * A function runs on a pool worker thread. It reads its call, writes its
 * output, and returns an Offload__Code: CODE_OK, CODE_JOB_FAILED (with a
 * message saying what went wrong), CODE_TIMEOUT or CODE_CANCELLED. A
 * function that can run for long checks call->cancelled and
 * call->deadline_us often and stops early when either says so. */
#ifndef OFFLOAD_FUNCTIONS_H
#define OFFLOAD_FUNCTIONS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define FUNCTION_MESSAGE_MAX 1024

typedef struct function_call {
    const void *data;       /* the function's own (function_def.data) */
    const uint8_t *payload; /* the job's bytes; valid for the whole call */
    size_t len;
    uint64_t deadline_us;        /* clock_now_us() time to give up at; 0: none */
    const atomic_int *cancelled; /* nonzero: stop early; may be NULL */
    const char *traceparent;     /* the job's W3C trace context (version-00 form), or
                                    NULL / "" when none; valid for the whole call */
    const char *tracestate;      /* its tracestate, or NULL / "" */
} function_call;

/* Starts zeroed. The result bytes are data/len; data may point into the
 * call's payload (echo does). If the function allocates them, it puts the
 * malloc'd block in `owned`, which the caller frees once the result is sent. */
typedef struct function_output {
    const uint8_t *data;
    size_t len;
    void *owned;
    char message[FUNCTION_MESSAGE_MAX]; /* why, when the code is not CODE_OK */
} function_output;

typedef int (*function_fn)(const function_call *call, function_output *out);

typedef struct function_registry function_registry;

/* One registered function. */
typedef struct function_def {
    char *name;
    function_fn fn;
    const void *data;   /* handed to fn as call->data */
    const char *origin; /* "built-in", or the plugin's path */
} function_def;

/* A registry holding the built-ins. Returns NULL when out of memory. */
function_registry *functions_new(void);

/* Frees r and sets *r to NULL. */
void functions_destroy(function_registry **r);

/* Adds a function. Returns 0, -EINVAL for a name codec_name_valid refuses,
 * -EEXIST for a name already taken, -ENOSPC past CODEC_FUNCTIONS_MAX, or
 * -ENOMEM. Call before the registry is shared with worker threads. */
int functions_add(function_registry *r, const char *name, function_fn fn);

/* The same with the function's data and where it comes from (kept, not
 * copied: it must outlive the registry). */
int functions_add_data(function_registry *r, const char *name, function_fn fn, const void *data,
                       const char *origin);

/* The function of that name, or NULL. Safe from any thread once set up. */
function_fn functions_find(const function_registry *r, const char *name);

/* The same, whole. */
const function_def *functions_get(const function_registry *r, const char *name);

/* Runs def on call: sets call->data, returns the function's code. */
int functions_call(const function_def *def, function_call *call, function_output *out);

/* Every name in registration order, as an array the registry owns. */
char **functions_names(const function_registry *r);

size_t functions_count(const function_registry *r);

/* The i-th name (registration order), i < functions_count(r). The string
 * belongs to the registry. */
const char *functions_name(const function_registry *r, size_t i);

#endif
