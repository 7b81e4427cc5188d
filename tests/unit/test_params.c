/* test_params.c -- HTTP parameter validation: query milliseconds, the
 * /v1/jobs path, listen addresses. */
#include <string.h>

#include "http.h"
#include "params.h"
#include "unit.h"

static void test_ms(void)
{
    long long v = -1;
    char err[256];
    CU_ASSERT_EQUAL(params_ms("timeout_ms", "250", 1, 1000, &v, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(v, 250);
    CU_ASSERT_EQUAL(params_ms("ms", "0", 0, 10, &v, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(v, 0);
    static const char *bad[] = {
        "", "abc", "-5", "+5", " 5", "5 ", "5ms", "1.5", "0x10", "1001", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 42;
        err[0] = '\0';
        CU_ASSERT_EQUAL(params_ms("timeout_ms", bad[i], 1, 1000, &v, err, sizeof(err)), -1);
        CU_ASSERT_EQUAL(v, 42);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "timeout_ms must be"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "1..1000"));
    }
    CU_ASSERT_EQUAL(params_ms("ms", NULL, 0, 10, &v, err, sizeof(err)), -1);
    CU_ASSERT_EQUAL(params_ms("timeout_ms", "0", 1, 10, &v, err, sizeof(err)), -1);
}

static void test_quote(void)
{
    char out[4 * PARAMS_QUOTE_MAX + 4];
    params_quote("a\"b\\c\n\x01\xff", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "a\\x22b\\x5cc\\x0a\\x01\\xff");
    char longs[100];
    memset(longs, 'x', sizeof(longs) - 1);
    longs[99] = '\0';
    params_quote(longs, out, sizeof(out));
    CU_ASSERT_EQUAL(strlen(out), PARAMS_QUOTE_MAX + 3);
    CU_ASSERT_STRING_EQUAL(out + PARAMS_QUOTE_MAX, "...");
    /* A small buffer cuts, never overflows. */
    char small[12];
    params_quote("\x01\x02\x03\x04", small, sizeof(small));
    CU_ASSERT_STRING_EQUAL(small, "\\x01\\x02...");
}

static void test_job_path(void)
{
    char q[CODEC_NAME_MAX + 1], f[CODEC_NAME_MAX + 1], err[256];
    CU_ASSERT_EQUAL(params_job_path("/v1/jobs/io/sleep", q, f, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(q, "io");
    CU_ASSERT_STRING_EQUAL(f, "sleep");
    CU_ASSERT_EQUAL(params_job_path("/v1/jobs/a.b-c_D/f.1", q, f, err, sizeof(err)), 0);
    static const char *not_jobs[] = {"/v1/job/io/sleep", "/v1/jobs/",       "/v1/jobs/io",
                                     "/v1/jobs/io/",     "/v1/jobs//sleep", "/v1/jobs/io/sleep/x",
                                     "/healthz"};
    for (size_t i = 0; i < sizeof(not_jobs) / sizeof(not_jobs[0]); i++)
        CU_ASSERT_EQUAL(params_job_path(not_jobs[i], q, f, err, sizeof(err)), PARAMS_NOT_JOBS);
    err[0] = '\0';
    CU_ASSERT_EQUAL(params_job_path("/v1/jobs/i o/sleep", q, f, err, sizeof(err)), PARAMS_BAD_NAME);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "queue name"));
    CU_ASSERT_EQUAL(params_job_path("/v1/jobs/io/sl%eep", q, f, err, sizeof(err)), PARAMS_BAD_NAME);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "function name"));
    char longpath[200] = "/v1/jobs/";
    memset(longpath + 9, 'q', 65);
    strcpy(longpath + 9 + 65, "/echo");
    CU_ASSERT_EQUAL(params_job_path(longpath, q, f, err, sizeof(err)), PARAMS_BAD_NAME);
}

static void test_listen(void)
{
    char host[64];
    unsigned port;
    CU_ASSERT_EQUAL(http_parse_listen("0.0.0.0:8080", host, sizeof(host), &port), 0);
    CU_ASSERT_STRING_EQUAL(host, "0.0.0.0");
    CU_ASSERT_EQUAL(port, 8080);
    CU_ASSERT_EQUAL(http_parse_listen("127.0.0.1:0", host, sizeof(host), &port), 0);
    CU_ASSERT_EQUAL(port, 0);
    CU_ASSERT_EQUAL(http_parse_listen("*:80", host, sizeof(host), &port), 0);
    CU_ASSERT_STRING_EQUAL(host, "");
    CU_ASSERT_EQUAL(http_parse_listen(":80", host, sizeof(host), &port), 0);
    CU_ASSERT_STRING_EQUAL(host, "");
    CU_ASSERT_EQUAL(http_parse_listen("[::1]:8080", host, sizeof(host), &port), 0);
    CU_ASSERT_STRING_EQUAL(host, "::1");
    CU_ASSERT_EQUAL(http_parse_listen("8080", host, sizeof(host), &port), -1);
    CU_ASSERT_EQUAL(http_parse_listen("host:", host, sizeof(host), &port), -1);
    CU_ASSERT_EQUAL(http_parse_listen("host:65536", host, sizeof(host), &port), -1);
    CU_ASSERT_EQUAL(http_parse_listen("host:-1", host, sizeof(host), &port), -1);
    CU_ASSERT_EQUAL(http_parse_listen("[::1]8080", host, sizeof(host), &port), -1);
}

UNIT_SUITE(params, {"milliseconds in the query", test_ms}, {"quoting for messages", test_quote},
           {"the /v1/jobs path", test_job_path}, {"listen addresses", test_listen})
