/* plugin.c -- see plugin.h; and the executor's side of offload_plugin.h. */
#define OFFLOAD_PLUGIN_NO_ABI_SYMBOL
#include "plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "codec.h"
#include "offload.pb-c.h"
#include "offload_plugin.h"

/* A registered plugin function: what functions_call hands plugin_call. */
typedef struct plugin_fn {
    offload_job_fn *fn;
    char name[CODEC_NAME_MAX + 1];
    struct plugin_fn *next;
} plugin_fn;

struct plugin {
    void *handle;
    char *path;
    plugin_fn *fns;
};

struct offload_registry {
    function_registry *r;
    plugin *p;
    char err[256]; /* the first refused registration */
};

struct offload_reply {
    const function_call *call;
    function_output *out;
};

/* ---- what plugins call ----------------------------------------------------- */

void offload_reply_set(offload_reply *reply, const void *data, size_t len)
{
    function_output *out = reply->out;
    void *copy = malloc(len ? len : 1);
    if (!copy) {
        snprintf(out->message, sizeof(out->message), "out of memory for a %zu-byte result", len);
        return;
    }
    memcpy(copy, data, len);
    free(out->owned);
    out->owned = copy;
    out->data = copy;
    out->len = len;
}

void offload_reply_error(offload_reply *reply, const char *message)
{
    snprintf(reply->out->message, sizeof(reply->out->message), "%.1000s", message ? message : "");
}

int offload_cancelled(const offload_reply *reply)
{
    const function_call *call = reply->call;
    if (call->cancelled && atomic_load_explicit(call->cancelled, memory_order_relaxed))
        return 1;
    return call->deadline_us && clock_now_us() >= call->deadline_us;
}

const char *offload_traceparent(const offload_reply *reply)
{
    const char *tp = reply->call->traceparent;
    return tp ? tp : "";
}

const char *offload_tracestate(const offload_reply *reply)
{
    const char *ts = reply->call->tracestate;
    return ts ? ts : "";
}

static int plugin_call(const function_call *call, function_output *out)
{
    const plugin_fn *pf = call->data;
    offload_reply reply = {.call = call, .out = out};
    out->message[0] = '\0';
    int rc = pf->fn(call->payload, call->len, &reply);
    if (rc == 0 && !out->message[0])
        return OFFLOAD__CODE__CODE_OK;
    if (rc == 0) /* a message but success: the result could not be kept */
        return OFFLOAD__CODE__CODE_JOB_FAILED;
    free(out->owned);
    out->owned = NULL;
    out->data = NULL;
    out->len = 0;
    if (!out->message[0])
        snprintf(out->message, sizeof(out->message), "%s failed (returned %d) without a message",
                 pf->name, rc);
    return OFFLOAD__CODE__CODE_JOB_FAILED;
}

int offload_register(offload_registry *reg, const char *name, offload_job_fn *fn)
{
    if (reg->err[0])
        return -1; /* refused already: the plugin will not load */
    if (!name || !codec_name_valid(name) || !fn) {
        snprintf(reg->err, sizeof(reg->err),
                 "offload_register: '%.64s' is not a function name (1..%d of A-Z a-z 0-9 _ . -)",
                 name ? name : "(null)", CODEC_NAME_MAX);
        return -1;
    }
    const function_def *taken = functions_get(reg->r, name);
    if (taken) {
        snprintf(reg->err, sizeof(reg->err), "function '%s' is registered already (by %s)", name,
                 taken->origin);
        return -1;
    }
    plugin_fn *pf = calloc(1, sizeof(*pf));
    if (!pf) {
        snprintf(reg->err, sizeof(reg->err), "out of memory");
        return -1;
    }
    pf->fn = fn;
    snprintf(pf->name, sizeof(pf->name), "%s", name);
    int rc = functions_add_data(reg->r, name, plugin_call, pf, reg->p->path);
    if (rc < 0) {
        free(pf);
        snprintf(reg->err, sizeof(reg->err), "function '%s': %s", name,
                 rc == -ENOSPC ? "too many functions (256 at most)" : strerror(-rc));
        return -1;
    }
    pf->next = reg->p->fns;
    reg->p->fns = pf;
    return 0;
}

/* ---- loading --------------------------------------------------------------- */

plugin *plugin_load(function_registry *r, const char *path, char *err, size_t errlen)
{
    plugin *p = calloc(1, sizeof(*p));
    if (!p || !(p->path = strdup(path))) {
        free(p);
        snprintf(err, errlen, "plugin %s: out of memory", path);
        return NULL;
    }
    /* A path without a slash would be searched for; say what is meant. */
    p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!p->handle) {
        snprintf(err, errlen, "plugin %s: cannot load: %s", path, dlerror());
        goto fail;
    }
    const int *abi = dlsym(p->handle, "offload_plugin_abi");
    int (*init)(offload_registry *) = NULL;
    *(void **)&init = dlsym(p->handle, "offload_plugin_init");
    if (!init) {
        snprintf(err, errlen,
                 "plugin %s: no offload_plugin_init (is it an offload plugin? see "
                 "executor/offload_plugin.h)",
                 path);
        goto fail;
    }
    if (!abi) {
        snprintf(err, errlen,
                 "plugin %s: no offload_plugin_abi symbol: build it with executor/offload_plugin.h",
                 path);
        goto fail;
    }
    if (*abi != OFFLOAD_PLUGIN_ABI) {
        snprintf(err, errlen,
                 "plugin %s: built for plugin ABI %d, this executor has ABI %d: rebuild it "
                 "against this executor's offload_plugin.h",
                 path, *abi, OFFLOAD_PLUGIN_ABI);
        goto fail;
    }
    offload_registry reg = {.r = r, .p = p};
    int rc = init(&reg);
    if (reg.err[0]) {
        snprintf(err, errlen, "plugin %s: %s", path, reg.err);
        goto fail;
    }
    if (rc != 0) {
        snprintf(err, errlen, "plugin %s: offload_plugin_init returned %d", path, rc);
        goto fail;
    }
    if (!p->fns) {
        snprintf(err, errlen, "plugin %s: registered no function", path);
        goto fail;
    }
    return p;
fail:
    plugin_unload(&p);
    return NULL;
}

void plugin_unload(plugin **pp)
{
    plugin *p = *pp;
    if (!p)
        return;
    while (p->fns) {
        plugin_fn *next = p->fns->next;
        free(p->fns);
        p->fns = next;
    }
    if (p->handle)
        dlclose(p->handle);
    free(p->path);
    free(p);
    *pp = NULL;
}
