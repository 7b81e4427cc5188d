/* test_routes.c -- the --route table: parsing, rejection, matching. */
#include <string.h>

#include "routes.h"
#include "unit.h"

static void test_parse_delay_and_job(void)
{
    route r;
    char err[512];
    CU_ASSERT_EQUAL_FATAL(route_parse("GET /test/async=delay:3000", &r, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(r.method, "GET");
    CU_ASSERT_STRING_EQUAL(r.path, "/test/async");
    CU_ASSERT_EQUAL(r.kind, ROUTE_DELAY);
    CU_ASSERT_EQUAL(r.delay_ms, 3000);
    route_free(&r);

    CU_ASSERT_EQUAL_FATAL(route_parse("GET /test/sync=job:io/sleep:3000", &r, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(r.kind, ROUTE_JOB);
    CU_ASSERT_STRING_EQUAL(r.queue, "io");
    CU_ASSERT_STRING_EQUAL(r.function, "sleep");
    CU_ASSERT_STRING_EQUAL(r.payload, "3000");
    route_free(&r);

    /* No payload: the request body is the payload. */
    CU_ASSERT_EQUAL_FATAL(route_parse("POST /resize=job:cpu/resize", &r, err, sizeof(err)), 0);
    CU_ASSERT_PTR_NULL(r.payload);
    route_free(&r);

    /* The payload is everything after the second colon, colons included. */
    CU_ASSERT_EQUAL_FATAL(route_parse("PUT /a/b=job:q.1/f_2:x:y=z", &r, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(r.payload, "x:y=z");
    CU_ASSERT_STRING_EQUAL(r.queue, "q.1");
    route_free(&r);
}

static void test_parse_rejects(void)
{
    static const char *bad[] = {
        "",
        "GET",
        "/x=delay:1",     /* no method */
        "get /x=delay:1", /* lower case */
        "GET x=delay:1",  /* path without / */
        "GET /x",         /* no target */
        "GET /x=sleep:1", /* unknown target */
        "GET /x=delay:",  /* no ms */
        "GET /x=delay:-1",
        "GET /x=delay:abc",
        "GET /x=delay:86400001",
        "GET /x=job:io", /* no function */
        "GET /x=job:/sleep",
        "GET /x=job:io/",
        "GET /x=job:i o/sleep",
        "GET /a b=delay:1", /* space in path */
        "GET /a?b=delay:1",
        "GET /healthz=delay:1", /* reserved */
        "GET /metrics=delay:1",
        "GET /readyz=delay:1",
        "GET /v1/queues=delay:1",
        "GET /v1=delay:1",
        "TOOLONGMETHODNAMEX /x=delay:1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        route r;
        char err[512] = "";
        int rc = route_parse(bad[i], &r, err, sizeof(err));
        CU_ASSERT_EQUAL(rc, -1);
        if (rc == 0)
            route_free(&r);
        /* Every message says what the form is. */
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "expected"));
        CU_ASSERT_PTR_NULL(r.path);
    }
}

static void test_table_find(void)
{
    route_table t = {0};
    char err[512];
    CU_ASSERT_EQUAL(route_table_add(&t, "GET /test/async=delay:3000", err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(route_table_add(&t, "GET /test/sync=job:io/sleep:3000", err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(route_table_add(&t, "POST /test/sync=job:io/echo", err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(route_table_add(&t, "GET /test/sync=delay:1", err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "already routed"));
    CU_ASSERT_EQUAL(t.count, 3);

    int known;
    const route *r = route_table_find(&t, "GET", "/test/sync", &known);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r->function, "sleep");
    r = route_table_find(&t, "POST", "/test/sync", &known);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_STRING_EQUAL(r->function, "echo");
    /* Known path, other method: 405. */
    CU_ASSERT_PTR_NULL(route_table_find(&t, "DELETE", "/test/async", &known));
    CU_ASSERT_TRUE(known);
    /* Unknown path: 404. Matching is exact. */
    CU_ASSERT_PTR_NULL(route_table_find(&t, "GET", "/test/async/", &known));
    CU_ASSERT_FALSE(known);
    CU_ASSERT_PTR_NULL(route_table_find(&t, "GET", "/test", &known));
    CU_ASSERT_FALSE(known);
    /* The Allow header of a 405. */
    char allow[64];
    CU_ASSERT_EQUAL(route_table_methods(&t, "/test/sync", allow, sizeof(allow)), 2);
    CU_ASSERT_STRING_EQUAL(allow, "GET, POST");
    CU_ASSERT_EQUAL(route_table_methods(&t, "/nope", allow, sizeof(allow)), 0);
    CU_ASSERT_STRING_EQUAL(allow, "");
    route_table_free(&t);
    CU_ASSERT_EQUAL(t.count, 0);
}

UNIT_SUITE(routes, {"parse delay and job routes", test_parse_delay_and_job},
           {"reject malformed routes", test_parse_rejects},
           {"table lookup, duplicates, 405", test_table_find})
