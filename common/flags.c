/* flags.c -- see flags.h. */
#include "flags.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Source levels, for "a higher source replaces a repeatable list". */
enum { SRC_DEFAULT, SRC_CONFIG, SRC_ENV, SRC_ARGV };

/* The spec being applied, so flag_set_int/size can read its bounds without
 * every setter taking a spec argument. Flags are parsed on one thread. */
static const flag_spec *flags_current;

int flag_set_string(void *target, const char *value, char *err, size_t errlen)
{
    char **s = target;
    char *copy = strdup(value);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    free(*s);
    *s = copy;
    return 0;
}

int flag_set_switch(void *target, const char *value, char *err, size_t errlen)
{
    int *b = target;
    if (!value || !strcmp(value, "1") || !strcasecmp(value, "true") || !strcasecmp(value, "yes") ||
        !strcasecmp(value, "on")) {
        *b = 1;
        return 0;
    }
    if (!strcmp(value, "0") || !strcasecmp(value, "false") || !strcasecmp(value, "no") ||
        !strcasecmp(value, "off")) {
        *b = 0;
        return 0;
    }
    snprintf(err, errlen, "expected true or false, got '%s'", value);
    return -1;
}

int flag_set_list(void *target, const char *value, char *err, size_t errlen)
{
    flag_list *l = target;
    char *copy = strdup(value);
    char **items = copy ? realloc(l->items, (l->count + 1) * sizeof(*items)) : NULL;
    if (!items) {
        free(copy);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->items = items;
    l->items[l->count++] = copy;
    return 0;
}

void flag_list_clear(flag_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

static int flag_check_bounds(long long v, const char *value, char *err, size_t errlen)
{
    const flag_spec *s = flags_current;
    if (s && (s->min || s->max) && (v < s->min || v > s->max)) {
        snprintf(err, errlen, "'%s' is out of range [%lld, %lld]", value, s->min, s->max);
        return -1;
    }
    return 0;
}

int flag_set_int(void *target, const char *value, char *err, size_t errlen)
{
    long long v;
    if (parse_ll(value, &v) < 0) {
        snprintf(err, errlen, "'%s' is not an integer", value);
        return -1;
    }
    if (flag_check_bounds(v, value, err, errlen) < 0)
        return -1;
    *(long long *)target = v;
    return 0;
}

int flag_set_size(void *target, const char *value, char *err, size_t errlen)
{
    long long v;
    if (parse_size(value, &v) < 0) {
        snprintf(err, errlen, "'%s' is not a size (bytes, or with K, M, G)", value);
        return -1;
    }
    if (flag_check_bounds(v, value, err, errlen) < 0)
        return -1;
    *(long long *)target = v;
    return 0;
}

typedef struct flags_state {
    const flag_spec *specs;
    int level[64]; /* per spec: the source that last set it */
    const char *section;
    int src;
    char *err;
    size_t errlen;
    const char *where; /* "--http", "OFFLOAD_HTTP", "config line 3" */
} flags_state;

static const flag_spec *flags_find(const flag_spec *specs, const char *name, size_t len)
{
    for (const flag_spec *s = specs; s->name; s++)
        if (strlen(s->name) == len && strncmp(s->name, name, len) == 0)
            return s;
    return NULL;
}

/* Applies one value from the current source. Returns 0 or -1 (err set). */
static int flags_apply(flags_state *st, const flag_spec *s, const char *value)
{
    size_t i = (size_t)(s - st->specs);
    char msg[256] = "";
    if (s->repeatable && st->level[i] < st->src)
        flag_list_clear(s->target);
    st->level[i] = st->src;
    flags_current = s;
    int rc = s->set(s->target, value, msg, sizeof(msg));
    flags_current = NULL;
    if (rc < 0)
        snprintf(st->err, st->errlen, "%s: %s", st->where, msg);
    return rc;
}

static int flags_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    flags_state *st = user;
    if (strcmp(section, st->section) != 0)
        return 1; /* another program's section */
    char where[128];
    snprintf(where, sizeof(where), "config [%s] %s", section, name);
    st->where = where;
    const flag_spec *s = flags_find(st->specs, name, strlen(name));
    if (!s || !strcmp(name, "config")) {
        snprintf(st->err, st->errlen, "%s: unknown key (see --help)", where);
        return 0;
    }
    return flags_apply(st, s, s->metavar ? value : (*value ? value : NULL)) == 0;
}

static int flags_env(flags_state *st)
{
    for (const flag_spec *s = st->specs; s->name; s++) {
        char env[96] = "OFFLOAD_";
        size_t n = strlen(env);
        for (const char *p = s->name; *p && n < sizeof(env) - 1; p++)
            env[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        env[n] = '\0';
        const char *v = getenv(env);
        if (!v || !strcmp(s->name, "config"))
            continue;
        st->where = env;
        if (!s->repeatable) {
            if (flags_apply(st, s, v) < 0)
                return -1;
            continue;
        }
        char *copy = strdup(v), *save = NULL;
        if (!copy) {
            snprintf(st->err, st->errlen, "out of memory");
            return -1;
        }
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            if (flags_apply(st, s, tok) < 0) {
                free(copy);
                return -1;
            }
        free(copy);
    }
    return 0;
}

void flags_print_help(const flag_spec *specs, const char *usage)
{
    printf("%s\nFlags (each also OFFLOAD_<NAME> in the environment, or NAME = VALUE in "
           "the config file):\n",
           usage);
    for (const flag_spec *s = specs; s->name; s++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s%s", s->name, s->metavar ? " " : "",
                 s->metavar ? s->metavar : "", s->repeatable ? " ..." : "");
        printf("  %-30s %s\n", left, s->help);
    }
    printf("  %-30s %s\n", "--help", "print this help and exit");
}

int flags_parse(const flag_spec *specs, const char *section, const char *usage, int argc,
                char **argv, char *err, size_t errlen)
{
    flags_state st = {.specs = specs, .section = section, .err = err, .errlen = errlen};
    const char *config = getenv("OFFLOAD_CONFIG");
    if (errlen)
        err[0] = '\0'; /* read below to tell an ini syntax error from a handler's */

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            flags_print_help(specs, usage);
            exit(0);
        }
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config = argv[i + 1];
        else if (!strncmp(argv[i], "--config=", 9))
            config = argv[i] + 9;
    }

    if (config && *config) {
        st.src = SRC_CONFIG;
        int rc = ini_parse(config, flags_ini_handler, &st);
        if (rc < 0) {
            snprintf(err, errlen, "config %s: cannot open: %s", config, strerror(errno));
            return -1;
        }
        if (rc > 0) {
            if (!*err)
                snprintf(err, errlen, "config %s: line %d: not KEY = VALUE", config, rc);
            else {
                char tmp[512];
                snprintf(tmp, sizeof(tmp), "%s (%s line %d)", err, config, rc);
                snprintf(err, errlen, "%s", tmp);
            }
            return -1;
        }
    }

    st.src = SRC_ENV;
    if (flags_env(&st) < 0)
        return -1;

    st.src = SRC_ARGV;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (see --help)", arg);
            return -1;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const flag_spec *s = flags_find(specs, name, len);
        if (!s) {
            snprintf(err, errlen, "unknown flag '%s' (see --help)", arg);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (s->metavar && !value) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "--%s needs a value %s", s->name, s->metavar);
                return -1;
            }
            value = argv[++i];
        }
        st.where = arg;
        char where[96];
        snprintf(where, sizeof(where), "--%s", s->name);
        st.where = where;
        if (flags_apply(&st, s, value) < 0)
            return -1;
    }
    return 0;
}
