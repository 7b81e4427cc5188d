/* test_flags.c -- common/flags: number and size parsing, and flags_parse's
 * four sources (defaults, config file, environment, argv) and its
 * errors. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flags.h"
#include "unit.h"

/* A string a parser accepts, and the value it gives. */
typedef struct parsed {
    const char *s;
    long long v;
} parsed;

/* parse (parse_ll or parse_size, named `name`) gives each good string its
 * value, and refuses each bad one leaving the value alone. */
static void expect_parses(int (*parse)(const char *, long long *), const char *name,
                          const parsed *good, size_t ngood, const char *const *bad, size_t nbad)
{
    for (size_t i = 0; i < ngood; i++) {
        long long v = 42;
        CU_ASSERT_EQUAL(parse(good[i].s, &v), 0);
        CU_ASSERT_EQUAL(v, good[i].v);
    }
    for (size_t i = 0; i < nbad; i++) {
        long long v = 42;
        int rc = parse(bad[i], &v);
        if (rc != -1)
            fprintf(stderr, "\n  %s('%s') accepted: %lld\n", name, bad[i], v);
        CU_ASSERT_EQUAL(rc, -1);
        CU_ASSERT_EQUAL(v, 42);
    }
}

static void test_parse_ll(void)
{
    static const parsed good[] = {
        {"0", 0},
        {"-5", -5},
        {"+5", 5},
        {"007", 7},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
    };
    static const char *const bad[] = {"",
                                      " 5",
                                      "5 ",
                                      "5x",
                                      "0x10",
                                      "1.5",
                                      "1e3",
                                      "--5",
                                      "abc",
                                      "\t1",
                                      "-",
                                      "+",
                                      "9223372036854775808",
                                      "-9223372036854775809",
                                      "99999999999999999999"};
    expect_parses(parse_ll, "parse_ll", good, ARRAY_LEN(good), bad, ARRAY_LEN(bad));
    long long v = 42;
    CU_ASSERT_EQUAL(parse_ll(NULL, &v), -1);
    CU_ASSERT_EQUAL(v, 42);
}

static void test_parse_size(void)
{
    static const parsed good[] = {
        {"0", 0},
        {"1048576", 1048576},
        {"1K", 1024},
        {"1k", 1024},
        {"512KiB", 512 * 1024},
        {"512kib", 512 * 1024},
        {"1KB", 1024},
        {"1M", 1 << 20},
        {"3MB", 3 << 20},
        {"2G", 2LL << 30},
        {"1GiB", 1LL << 30},
        {"4294967296G", 1LL << 62}, /* the largest accepted */
        {"4611686018427387904", 1LL << 62},
    };
    static const char *const bad[] = {"",
                                      "-1",
                                      "+1",
                                      " 1",
                                      "1 ",
                                      "K",
                                      "1T",
                                      "1Ki",
                                      "1 K",
                                      "1KK",
                                      "1.5M",
                                      "1MiBs",
                                      "1b",
                                      "0x10",
                                      "4294967297G",
                                      "4611686018427387905",
                                      "99999999999999999999"};
    expect_parses(parse_size, "parse_size", good, ARRAY_LEN(good), bad, ARRAY_LEN(bad));
    long long v = 42;
    CU_ASSERT_EQUAL(parse_size(NULL, &v), -1);
}

/* A small program's flag table, its targets reset for each test. */
typedef struct flags_fx {
    char *config;
    char *name;
    long long workers;
    long long max_size;
    flag_list items;
    int verbose;
    flag_spec specs[7];
} flags_fx;

static const char *const flags_env_names[] = {"OFFLOAD_CONFIG",  "OFFLOAD_UT_NAME",
                                              "OFFLOAD_WORKERS", "OFFLOAD_MAX_SIZE",
                                              "OFFLOAD_ITEM",    "OFFLOAD_VERBOSE"};

static void flags_fx_init(flags_fx *fx)
{
    for (size_t i = 0; i < ARRAY_LEN(flags_env_names); i++)
        unsetenv(flags_env_names[i]);
    memset(fx, 0, sizeof(*fx));
    fx->name = strdup("default");
    fx->workers = 4;
    fx->max_size = 1024;
    char err[64];
    flag_set_list(&fx->items, "default-item", err, sizeof(err));
    const flag_spec specs[] = {
        {"config", "FILE", "config file", flag_set_string, &fx->config, 0, 0, 0},
        {"ut-name", "NAME", "a name", flag_set_string, &fx->name, 0, 0, 0},
        {"workers", "N", "workers (1..64)", flag_set_int, &fx->workers, 1, 64, 0},
        {"max-size", "BYTES", "a size", flag_set_size, &fx->max_size, 0, 1 << 20, 0},
        {"item", "X", "repeatable", flag_set_list, &fx->items, 0, 0, 1},
        {"verbose", NULL, "a switch", flag_set_switch, &fx->verbose, 0, 0, 0},
        {0},
    };
    memcpy(fx->specs, specs, sizeof(specs));
}

static void flags_fx_free(flags_fx *fx)
{
    free(fx->config);
    free(fx->name);
    flag_list_clear(&fx->items);
    for (size_t i = 0; i < ARRAY_LEN(flags_env_names); i++)
        unsetenv(flags_env_names[i]);
}

/* Runs flags_parse on a NULL-terminated argument list. */
static int flags_run(flags_fx *fx, char *err, size_t errlen, ...)
{
    char *argv[16] = {"prog"};
    int argc = 1;
    va_list ap;
    va_start(ap, errlen);
    for (char *a; argc < 15 && (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    memset(err, 'X', errlen); /* the caller need not clear err */
    int rc = flags_parse(fx->specs, "test", "usage: prog", argc, argv, err, errlen);
    if (rc < 0)
        CU_ASSERT(memchr(err, '\0', errlen) != NULL);
    return rc;
}

/* Writes text to a fresh temporary file; returns its path (free it). */
static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/offload-ut-flags-XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    size_t n = strlen(text);
    CU_ASSERT_FATAL(write(fd, text, n) == (ssize_t)n);
    close(fd);
    return path;
}

/* fx's repeatable flag holds exactly the items given (NULL-terminated). */
static void expect_items(const flags_fx *fx, ...)
{
    const char *want[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, fx);
    for (const char *s; n < ARRAY_LEN(want) && (s = va_arg(ap, const char *)) != NULL;)
        want[n++] = s;
    va_end(ap);
    CU_ASSERT_EQUAL_FATAL(fx->items.count, n);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_STRING_EQUAL(fx->items.items[i], want[i]);
}

static void test_flags_sources(void)
{
    flags_fx fx;
    char err[256];

    /* Defaults stay when nothing is set. */
    flags_fx_init(&fx);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), NULL), 0);
    CU_ASSERT_STRING_EQUAL(fx.name, "default");
    CU_ASSERT_EQUAL(fx.workers, 4);
    expect_items(&fx, "default-item", NULL);
    flags_fx_free(&fx);

    /* The environment overrides defaults; argv overrides the environment. */
    flags_fx_init(&fx);
    setenv("OFFLOAD_UT_NAME", "from-env", 1);
    setenv("OFFLOAD_WORKERS", "8", 1);
    setenv("OFFLOAD_ITEM", "e1,e2", 1);
    setenv("OFFLOAD_VERBOSE", "yes", 1);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--ut-name=from-argv", NULL), 0);
    CU_ASSERT_STRING_EQUAL(fx.name, "from-argv");
    CU_ASSERT_EQUAL(fx.workers, 8);
    CU_ASSERT_EQUAL(fx.verbose, 1);
    expect_items(&fx, "e1", "e2", NULL);
    flags_fx_free(&fx);

    /* Config file over defaults; env and argv over the file; a repeatable
     * flag from argv replaces the file's list. */
    char *path = write_temp("; a comment\n"
                            "[other]\n"
                            "bogus = 1\n"
                            "[test]\n"
                            "ut-name = from-file\n"
                            "workers = 16\n"
                            "max-size = 2K\n"
                            "item = f1\n"
                            "item = f2\n"
                            "verbose = true\n");
    flags_fx_init(&fx);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--config", path, NULL), 0);
    CU_ASSERT_STRING_EQUAL(fx.config, path);
    CU_ASSERT_STRING_EQUAL(fx.name, "from-file");
    CU_ASSERT_EQUAL(fx.workers, 16);
    CU_ASSERT_EQUAL(fx.max_size, 2048);
    CU_ASSERT_EQUAL(fx.verbose, 1);
    expect_items(&fx, "f1", "f2", NULL);
    flags_fx_free(&fx);

    flags_fx_init(&fx);
    setenv("OFFLOAD_CONFIG", path, 1);
    setenv("OFFLOAD_WORKERS", "32", 1);
    CU_ASSERT_EQUAL(
        flags_run(&fx, err, sizeof(err), "--item", "a1", "--item=a2", "--verbose=off", NULL), 0);
    CU_ASSERT_STRING_EQUAL(fx.name, "from-file");
    CU_ASSERT_EQUAL(fx.workers, 32);
    CU_ASSERT_EQUAL(fx.verbose, 0);
    expect_items(&fx, "a1", "a2", NULL);
    flags_fx_free(&fx);

    unlink(path);
    free(path);
}

static void test_flags_errors(void)
{
    flags_fx fx;
    char err[256];

    /* An argument refused, and what its message must name. */
    static const struct {
        const char *arg, *want;
    } bad_args[] = {
        {"--nope", "--nope"},
        {"--nope=1", "--nope"},
        {"positional", "positional"},
        {"--ut-name", "needs a value"},
        {"--verbose=maybe", "--verbose"},
    };
    flags_fx_init(&fx);
    for (size_t i = 0; i < ARRAY_LEN(bad_args); i++) {
        CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), bad_args[i].arg, NULL), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad_args[i].want));
    }
    flags_fx_free(&fx);

    static const char *bad_workers[] = {"65", "0", "-1", "abc", "", "9999999999999999999999"};
    for (size_t i = 0; i < ARRAY_LEN(bad_workers); i++) {
        flags_fx_init(&fx);
        CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--workers", bad_workers[i], NULL), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "--workers"));
        CU_ASSERT_EQUAL(fx.workers, 4);
        flags_fx_free(&fx);
    }
    flags_fx_init(&fx);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--workers", "65", NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "out of range"));
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--workers=64", "--max-size", "1M", NULL), 0);
    CU_ASSERT_EQUAL(fx.workers, 64);
    CU_ASSERT_EQUAL(fx.max_size, 1 << 20);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--max-size", "2M", NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--max-size"));
    flags_fx_free(&fx);

    flags_fx_init(&fx);
    setenv("OFFLOAD_WORKERS", "100", 1);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "OFFLOAD_WORKERS"));
    flags_fx_free(&fx);

    /* Config file errors name the file's key; a missing file says so; a
     * line that is not KEY = VALUE gives its number. */
    static const struct {
        const char *text;
        const char *want[2]; /* what the message names (NULL: no more) */
    } bad_files[] = {
        {"[test]\nworkers = 99\n", {"workers", "out of range"}},
        {"[test]\nunknown-key = 1\n", {"unknown-key"}},
        {"[test]\nworkers = 2\nthis line has no equals sign\n", {"line 3"}},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad_files); i++) {
        char *path = write_temp(bad_files[i].text);
        flags_fx_init(&fx);
        CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--config", path, NULL), -1);
        for (size_t j = 0; j < ARRAY_LEN(bad_files[i].want) && bad_files[i].want[j]; j++)
            CU_ASSERT_PTR_NOT_NULL(strstr(err, bad_files[i].want[j]));
        flags_fx_free(&fx);
        unlink(path);
        free(path);
    }

    flags_fx_init(&fx);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--config=/nonexistent/offload.ini", NULL),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/offload.ini"));
    flags_fx_free(&fx);
}

UNIT_SUITE(flags, {"parse_ll", test_parse_ll}, {"parse_size", test_parse_size},
           {"flags_parse: defaults, config, env, argv", test_flags_sources},
           {"flags_parse: errors", test_flags_errors})
