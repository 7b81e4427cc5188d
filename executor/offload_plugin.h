/* offload_plugin.h -- the public API of offload executor plugins.
 *
 * A plugin is a shared object that registers functions the executor runs
 * beside its built-ins, in thread pools (called on a pool thread) and in
 * process pools (called in a worker process):
 *
 *     #include "offload_plugin.h"
 *
 *     static int upper(const void *payload, size_t len, offload_reply *reply)
 *     {
 *         ...
 *         offload_reply_set(reply, out, len);
 *         return 0;
 *     }
 *
 *     int offload_plugin_init(offload_registry *reg)
 *     {
 *         return offload_register(reg, "upper", upper);
 *     }
 *
 * Build: cc -shared -fPIC -Iexecutor plugin.c -o plugin.so
 * Load:  offload-executor --plugin ./plugin.so
 *
 * Rules. A function may run on many threads at once: keep no unguarded
 * global state. It gets the payload (valid for the call) and must not
 * keep pointers into it. A long function polls offload_cancelled() and
 * returns early when it says so (in a thread pool nothing else can stop
 * it; in a process pool the process is killed instead). The executor
 * loads plugins with RTLD_NOW | RTLD_LOCAL at start; a plugin that fails to
 * load, lacks offload_plugin_init, was built for another ABI, or registers
 * a name twice stops the executor with a message saying so. */
#ifndef OFFLOAD_PLUGIN_H
#define OFFLOAD_PLUGIN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when anything below changes incompatibly. */
#define OFFLOAD_PLUGIN_ABI 1

#define OFFLOAD_PLUGIN_EXPORT __attribute__((visibility("default")))

typedef struct offload_reply offload_reply;
typedef struct offload_registry offload_registry;

/* A job function. Returns 0 on success (the result set with
 * offload_reply_set; none set is an empty result), non-zero on failure
 * (the message set with offload_reply_error): the caller then gets 500
 * job_failed with that message. */
typedef int offload_job_fn(const void *payload, size_t len, offload_reply *reply);

/* Sets the result: the executor copies len bytes of data. A second call
 * replaces the first. */
OFFLOAD_PLUGIN_EXPORT void offload_reply_set(offload_reply *reply, const void *data, size_t len);

/* Sets the failure message (copied; cut at 1000 bytes). */
OFFLOAD_PLUGIN_EXPORT void offload_reply_error(offload_reply *reply, const char *message);

/* Non-zero once nobody waits for the result any more: the job was
 * cancelled (its caller hung up) or its deadline passed. Cheap: poll it in
 * long loops. */
OFFLOAD_PLUGIN_EXPORT int offload_cancelled(const offload_reply *reply);

/* The job's W3C Trace Context (docs/executor.md, Tracing): its
 * traceparent in the version-00 form ("00-" 32 hex "-" 16 hex "-" 2 hex:
 * the caller's, or a trace the gateway started), and its tracestate; ""
 * when it has none (an older gateway), never NULL. Valid for the call.
 * Added after OFFLOAD_PLUGIN_ABI 1 without changing it: a plugin that
 * calls them needs an executor that has them (OFFLOAD_PLUGIN_HAS_TRACE;
 * an older one refuses to load it, naming the missing symbol), and
 * plugins that do not keep loading everywhere. */
#define OFFLOAD_PLUGIN_HAS_TRACE 1
OFFLOAD_PLUGIN_EXPORT const char *offload_traceparent(const offload_reply *reply);
OFFLOAD_PLUGIN_EXPORT const char *offload_tracestate(const offload_reply *reply);

/* Registers fn under name (1..64 characters of A-Z a-z 0-9 _ . -). Call it
 * from offload_plugin_init only. Returns 0, or -1 (a bad name, a name
 * taken by a built-in or another plugin, too many functions): the
 * executor then refuses the plugin and says why. */
OFFLOAD_PLUGIN_EXPORT int offload_register(offload_registry *reg, const char *name,
                                           offload_job_fn *fn);

/* Exported by every plugin: registers its functions. Returns 0, or
 * non-zero to refuse to load (say why on stderr). */
OFFLOAD_PLUGIN_EXPORT int offload_plugin_init(offload_registry *reg);

/* The ABI the plugin was built for, which the executor checks before it
 * calls offload_plugin_init. Defined here, once per plugin (weak, so a
 * plugin of several files links); define OFFLOAD_PLUGIN_NO_ABI_SYMBOL in
 * the executor's own sources. */
#ifndef OFFLOAD_PLUGIN_NO_ABI_SYMBOL
OFFLOAD_PLUGIN_EXPORT __attribute__((weak)) const int offload_plugin_abi = OFFLOAD_PLUGIN_ABI;
#endif

#ifdef __cplusplus
}
#endif

#endif
