/* unit.h -- CUnit suites register themselves: one file per module, each
 * ending with UNIT_SUITE(name, {"test name", fn}, ...). tests/unit/main.c
 * runs every registered suite. Also what suites share: ARRAY_LEN, and
 * ENVELOPE_SET for those that build protocol messages (codec.h). */
#ifndef OFFLOAD_UNIT_H
#define OFFLOAD_UNIT_H

#include <CUnit/CUnit.h>

typedef struct unit_test {
    const char *name;
    CU_TestFunc fn;
} unit_test;

/* The number of elements of an array (not of a pointer). */
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Makes *env a fresh Envelope whose body is msg: the oneof's member
 * `field`, body case OFFLOAD__ENVELOPE__BODY_<CASE>. */
#define ENVELOPE_SET(env, field, CASE, msg)                                                        \
    do {                                                                                           \
        *(env) = (codec_envelope)OFFLOAD__ENVELOPE__INIT;                                          \
        (env)->body_case = OFFLOAD__ENVELOPE__BODY_##CASE;                                         \
        (env)->field = (msg);                                                                      \
    } while (0)

void unit_register(const char *suite, const unit_test *tests, size_t count);

#define UNIT_SUITE(suite, ...)                                                                     \
    static const unit_test unit_tests_##suite[] = {__VA_ARGS__};                                   \
    __attribute__((constructor)) static void unit_register_##suite(void)                           \
    {                                                                                              \
        unit_register(#suite, unit_tests_##suite, ARRAY_LEN(unit_tests_##suite));                  \
    }

#endif
