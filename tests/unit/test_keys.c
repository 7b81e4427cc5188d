/* test_keys.c -- CURVE key files and the loopback classifier (keys.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "keys.h"
#include "unit.h"

static void test_loopback(void)
{
    static const char *yes[] = {
        "tcp://127.0.0.1:5556", "tcp://127.0.0.1:*",         "tcp://127.1.2.3:1",
        "tcp://localhost:5555", "tcp://LOCALHOST:1",         "tcp://[::1]:5555",
        "tcp://::1:5555",       "ipc:///tmp/x.sock",         "inproc://a",
        "ws://127.0.0.1:80",    "tcp://10.0.0.1;127.0.0.1:5"};
    static const char *no[] = {"tcp://*:5556",         "tcp://0.0.0.0:5556",
                               "tcp://10.0.0.1:5556",  "tcp://eth0:5556",
                               "tcp://example.com:1",  "tcp://127.0.0:1",
                               "tcp://127.0.0.1.5:1",  "tcp://127..0.1:1",
                               "tcp://127.0.0.1000:1", "tcp://127.0.0.1",
                               "tcp://[::]:5555",      "tcp://localhost.evil:1",
                               "pgm://127.0.0.1:5",    "",
                               "tcp://127.0.0.x:1",    "tcp://1127.0.0.1:1"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (!keys_endpoint_is_loopback(yes[i]))
            fprintf(stderr, "\nnot loopback: %s\n", yes[i]);
        CU_ASSERT_TRUE(keys_endpoint_is_loopback(yes[i]));
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        if (keys_endpoint_is_loopback(no[i]))
            fprintf(stderr, "\nloopback: %s\n", no[i]);
        CU_ASSERT_FALSE(keys_endpoint_is_loopback(no[i]));
    }
    CU_ASSERT_FALSE(keys_endpoint_is_loopback(NULL));
}

static void test_parse(void)
{
    char pub[41], sec[41], other_pub[41], other_sec[41], text[512], err[256];
    keys_file kf;
    CU_ASSERT_EQUAL(zmq_curve_keypair(pub, sec), 0);
    CU_ASSERT_EQUAL(zmq_curve_keypair(other_pub, other_sec), 0);

    snprintf(text, sizeof(text), "# c\n\npublic = %s\n  secret=%s  \n", pub, sec);
    CU_ASSERT_EQUAL(keys_parse("k", text, strlen(text), 1, &kf, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(kf.public_key, pub);
    CU_ASSERT_STRING_EQUAL(kf.secret_key, sec);

    snprintf(text, sizeof(text), "public = %s\nqueues = io,cpu-2\n", pub);
    CU_ASSERT_EQUAL(keys_parse("p", text, strlen(text), 0, &kf, err, sizeof(err)), 0);
    CU_ASSERT_TRUE(kf.has_queues);
    CU_ASSERT_TRUE(keys_queue_listed(kf.queues, "io"));
    CU_ASSERT_TRUE(keys_queue_listed(kf.queues, "cpu-2"));
    CU_ASSERT_FALSE(keys_queue_listed(kf.queues, "cpu"));
    CU_ASSERT_FALSE(keys_queue_listed(kf.queues, "i"));

    struct {
        const char *fmt, *want;
        int secret;
    } bad[] = {
        {"public = %s\nsecret = %s\n", "does not belong", 1}, /* the other pair's secret */
        {"public = %s\n", "no 'secret", 1},
        {"secret = %s\n", "a secret key in a public", 0},
        {"public = %s\npublic = %s\n", "given twice", 0},
        {"public = %s\nqueues = io,,cpu\n", "queues =", 0},
        {"public = %s\nqueues = io cpu\n", "queues =", 0},
        {"public = %s\nqueues =\n", "queues =", 0},
        {"public = %s\nfoo = bar\n", "unknown name", 0},
        {"public\n%s\n", "expected NAME = VALUE", 0},
        {"public = %sx\n", "not 40 characters", 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), bad[i].fmt, pub, i == 0 ? other_sec : pub);
        err[0] = '\0';
        CU_ASSERT_EQUAL(keys_parse("f", text, strlen(text), bad[i].secret, &kf, err, sizeof(err)),
                        -1);
        if (!strstr(err, bad[i].want))
            fprintf(stderr, "\ncase %zu: %s\n", i, err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].want));
    }
    CU_ASSERT_EQUAL(keys_parse("f", "public = \0", 10, 0, &kf, err, sizeof(err)), -1);
    char *big = calloc(1, KEYS_FILE_MAX + 2);
    memset(big, '#', KEYS_FILE_MAX + 1);
    CU_ASSERT_EQUAL(keys_parse("f", big, KEYS_FILE_MAX + 1, 0, &kf, err, sizeof(err)), -1);
    free(big);
}

static void test_generate(void)
{
    char dir[] = "/tmp/offload-keys-XXXXXX", path[256], p2[300], err[256];
    keys_file k, p;
    struct stat st;
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/a", dir);
    CU_ASSERT_EQUAL(keys_generate(path, 0, err, sizeof(err)), 0);
    snprintf(p2, sizeof(p2), "%s.key", path);
    CU_ASSERT_EQUAL(stat(p2, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL(keys_read(p2, 1, &k, err, sizeof(err)), 0);
    unlink(p2);
    snprintf(p2, sizeof(p2), "%s.pub", path);
    CU_ASSERT_EQUAL(keys_read(p2, 0, &p, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(k.public_key, p.public_key);
    CU_ASSERT_EQUAL(keys_read(p2, 1, &p, err, sizeof(err)), -1); /* no secret in a .pub */
    /* PATH.pub exists: no --force, nothing written (and no .key left) */
    CU_ASSERT_EQUAL(keys_generate(path, 0, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--force"));
    snprintf(p2, sizeof(p2), "%s.key", path);
    CU_ASSERT_NOT_EQUAL(access(p2, F_OK), 0);
    CU_ASSERT_EQUAL(keys_generate(path, 1, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(keys_read(p2, 1, &k, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(keys_read(dir, 0, &k, err, sizeof(err)), -1); /* a directory */
    unlink(p2);
    snprintf(p2, sizeof(p2), "%s.pub", path);
    unlink(p2);
    rmdir(dir);
}

UNIT_SUITE(keys, {"loopback endpoints", test_loopback}, {"key file parsing", test_parse},
           {"keygen", test_generate})
