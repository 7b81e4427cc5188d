/* failures.c -- see failures.h. */
#include "failures.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "text.h"

int failures_init(failures *f, size_t cap)
{
    memset(f, 0, sizeof(*f));
    if (!cap)
        return 0;
    f->ring = calloc(cap, sizeof(*f->ring));
    if (!f->ring)
        return -ENOMEM;
    f->cap = cap;
    return 0;
}

void failures_free(failures *f)
{
    free(f->ring);
    memset(f, 0, sizeof(*f));
}

static uint64_t failures_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void failures_add(failures *f, uint64_t job_id, int code, const char *queue, const char *function,
                  const char *executor, const char *message, uint64_t waited_us, uint64_t run_us)
{
    f->total++;
    if (!f->cap)
        return;
    failure *e = &f->ring[f->next];
    f->next = (f->next + 1) % f->cap;
    if (f->count < f->cap)
        f->count++;
    e->at_ms = failures_wall_ms();
    e->job_id = job_id;
    e->code = code;
    e->waited_us = waited_us;
    e->run_us = run_us;
    /* Names were checked when the job was made; messages come from
     * executors and functions: any bytes. */
    snprintf(e->queue, sizeof(e->queue), "%s", queue ? queue : "");
    snprintf(e->function, sizeof(e->function), "%s", function ? function : "");
    snprintf(e->executor, sizeof(e->executor), "%s", executor ? executor : "");
    message = message ? message : code_name(code);
    text_clean(message, strlen(message), e->message, sizeof(e->message));
}

const failure *failures_get(const failures *f, size_t i)
{
    if (i >= f->count)
        return NULL;
    return &f->ring[(f->next + f->cap - 1 - i) % f->cap];
}

json_t *failures_json(const failures *f)
{
    json_t *list = json_array();
    if (!list)
        return NULL;
    const failure *e;
    for (size_t i = 0; (e = failures_get(f, i)); i++) {
        json_t *o = json_object();
        if (!o || json_array_append_new(list, o) < 0) {
            json_decref(list);
            return NULL;
        }
        json_object_set_new(o, "at_ms", json_integer((json_int_t)e->at_ms));
        json_object_set_new(o, "job_id", json_integer((json_int_t)e->job_id));
        json_object_set_new(o, "queue", json_string(e->queue));
        json_object_set_new(o, "function", json_string(e->function));
        json_object_set_new(o, "executor", e->executor[0] ? json_string(e->executor) : json_null());
        json_object_set_new(o, "error", json_string(code_name(e->code)));
        json_object_set_new(o, "message", json_string(e->message));
        json_object_set_new(o, "waited_us", json_integer((json_int_t)e->waited_us));
        json_object_set_new(o, "run_us", json_integer((json_int_t)e->run_us));
    }
    return list;
}
