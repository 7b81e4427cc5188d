/* flags.h -- one table of flags per program, read from four sources.
 *
 * Precedence, lowest first: the defaults already in the targets, the config
 * file (--config FILE or OFFLOAD_CONFIG; INI, keys are flag names in the
 * program's [section]), the environment (OFFLOAD_<NAME>, '-' read as '_'),
 * then the command line (--name VALUE or --name=VALUE). A repeatable flag's
 * list is replaced, not extended, by a higher source that sets it; the
 * environment gives a repeatable flag as a comma-separated list. */
#ifndef OFFLOAD_FLAGS_H
#define OFFLOAD_FLAGS_H

#include <stddef.h>

#include "parse.h"

/* Sets `target` from `value`. Returns 0, or -1 with a message in err. */
typedef int (*flag_set_fn)(void *target, const char *value, char *err, size_t errlen);

typedef struct flag_spec {
    const char *name;    /* "max-payload": --max-payload, OFFLOAD_MAX_PAYLOAD */
    const char *metavar; /* shown in --help ("BYTES"); NULL: a switch, no value */
    const char *help;    /* one line; the default is part of it */
    flag_set_fn set;
    void *target;
    long long min, max; /* bounds for flag_set_int / flag_set_size */
    int repeatable;     /* target is a flag_list */
} flag_spec;

typedef struct flag_list {
    char **items;
    size_t count;
} flag_list;

/* Parses every source into the specs' targets. `specs` ends with a zeroed
 * entry. `section` names the config file section ("gateway"). --help prints
 * `usage` and the flag table to stdout and exits 0. Returns 0, or -1 with a
 * message in err naming the source and the flag. */
int flags_parse(const flag_spec *specs, const char *section, const char *usage, int argc,
                char **argv, char *err, size_t errlen);

void flags_print_help(const flag_spec *specs, const char *usage);

/* Setters for flag_spec.set. The int/size setters read spec bounds through
 * flags_parse, which passes the spec itself for them (see flags.c). */
int flag_set_string(void *target, const char *value, char *err, size_t errlen); /* char ** */
int flag_set_switch(void *target, const char *value, char *err, size_t errlen); /* int * */
int flag_set_list(void *target, const char *value, char *err, size_t errlen);   /* flag_list * */
int flag_set_int(void *target, const char *value, char *err, size_t errlen);    /* long long * */
int flag_set_size(void *target, const char *value, char *err, size_t errlen);   /* long long * */

void flag_list_clear(flag_list *list);

#endif
