/* plugin.h -- loading plugins (offload_plugin.h) into a function registry. */
#ifndef OFFLOAD_PLUGIN_LOAD_H
#define OFFLOAD_PLUGIN_LOAD_H

#include <stddef.h>

#include "functions.h"

typedef struct plugin plugin;

/* Loads the shared object at path, checks its ABI and calls its
 * offload_plugin_init, which registers its functions into r. Returns the
 * plugin (unload it after the registry is done with), or NULL with err
 * saying why: it failed to load, lacks offload_plugin_init or
 * offload_plugin_abi, was built for another ABI, registered a bad or
 * taken name, or its init returned non-zero. After a failure the registry
 * may hold functions of the failed plugin that must not run: the caller
 * destroys it (the executor stops). */
plugin *plugin_load(function_registry *r, const char *path, char *err, size_t errlen);

/* dlcloses p and frees it; sets *p to NULL. */
void plugin_unload(plugin **p);

#endif
