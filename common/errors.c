/* errors.c -- see errors.h. One table: name and HTTP status per code. */
#include "errors.h"

#include "offload.pb-c.h"

static const struct {
    const char *name;
    int http;
} code_table[] = {
    [OFFLOAD__CODE__CODE_OK] = {"ok", 200},
    [OFFLOAD__CODE__CODE_BAD_REQUEST] = {"bad_request", 400},
    [OFFLOAD__CODE__CODE_UNKNOWN_QUEUE] = {"unknown_queue", 404},
    [OFFLOAD__CODE__CODE_UNKNOWN_FUNCTION] = {"unknown_function", 404},
    [OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE] = {"payload_too_large", 413},
    [OFFLOAD__CODE__CODE_QUEUE_FULL] = {"queue_full", 503},
    [OFFLOAD__CODE__CODE_NO_EXECUTOR] = {"no_executor", 503},
    [OFFLOAD__CODE__CODE_TIMEOUT] = {"timeout", 504},
    [OFFLOAD__CODE__CODE_CRASHED] = {"crashed", 502},
    [OFFLOAD__CODE__CODE_EXECUTOR_LOST] = {"executor_lost", 502},
    [OFFLOAD__CODE__CODE_JOB_FAILED] = {"job_failed", 500},
    [OFFLOAD__CODE__CODE_CANCELLED] = {"cancelled", 409},
    [OFFLOAD__CODE__CODE_INTERNAL] = {"internal", 500},
    [OFFLOAD__CODE__CODE_UNKNOWN_JOB] = {"unknown_job", 404},
};

#define CODE_COUNT (int)(sizeof(code_table) / sizeof(code_table[0]))

const char *code_name(int code)
{
    if (code < 0 || code >= CODE_COUNT || !code_table[code].name)
        return "internal";
    return code_table[code].name;
}

int code_http_status(int code)
{
    if (code < 0 || code >= CODE_COUNT || !code_table[code].name)
        return 500;
    return code_table[code].http;
}
