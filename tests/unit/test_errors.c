/* test_errors.c -- common/errors: every Code's name and HTTP status, and
 * what an unknown code reads as. */
#include <stdint.h>

#include "errors.h"
#include "offload.pb-c.h"
#include "unit.h"

static void test_error_codes(void)
{
    static const struct {
        int code;
        const char *name;
        int http;
    } want[] = {
        {OFFLOAD__CODE__CODE_OK, "ok", 200},
        {OFFLOAD__CODE__CODE_BAD_REQUEST, "bad_request", 400},
        {OFFLOAD__CODE__CODE_UNKNOWN_QUEUE, "unknown_queue", 404},
        {OFFLOAD__CODE__CODE_UNKNOWN_FUNCTION, "unknown_function", 404},
        {OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE, "payload_too_large", 413},
        {OFFLOAD__CODE__CODE_QUEUE_FULL, "queue_full", 503},
        {OFFLOAD__CODE__CODE_NO_EXECUTOR, "no_executor", 503},
        {OFFLOAD__CODE__CODE_TIMEOUT, "timeout", 504},
        {OFFLOAD__CODE__CODE_CRASHED, "crashed", 502},
        {OFFLOAD__CODE__CODE_EXECUTOR_LOST, "executor_lost", 502},
        {OFFLOAD__CODE__CODE_JOB_FAILED, "job_failed", 500},
        {OFFLOAD__CODE__CODE_CANCELLED, "cancelled", 409},
        {OFFLOAD__CODE__CODE_INTERNAL, "internal", 500},
        {OFFLOAD__CODE__CODE_UNKNOWN_JOB, "unknown_job", 404},
    };
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        CU_ASSERT_STRING_EQUAL(code_name(want[i].code), want[i].name);
        CU_ASSERT_EQUAL(code_http_status(want[i].code), want[i].http);
    }
    /* Every code the codec accepts has a name of its own (an unknown one
     * reads as internal). */
    for (int c = OFFLOAD__CODE__CODE_OK; c < OFFLOAD__CODE__CODE_INTERNAL; c++)
        CU_ASSERT_STRING_NOT_EQUAL(code_name(c), "internal");
    static const int out_of_range[] = {-1, OFFLOAD__CODE__CODE_UNKNOWN_JOB + 1, 1000, INT32_MIN,
                                       INT32_MAX};
    for (size_t i = 0; i < ARRAY_LEN(out_of_range); i++) {
        CU_ASSERT_STRING_EQUAL(code_name(out_of_range[i]), "internal");
        CU_ASSERT_EQUAL(code_http_status(out_of_range[i]), 500);
    }
}

UNIT_SUITE(errors, {"code names and HTTP statuses", test_error_codes})
