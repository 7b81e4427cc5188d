/* main.c -- runs every CUnit suite registered with UNIT_SUITE. Optional
 * argument: run only the suite of that name. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

#define UNIT_SUITES_MAX 64

static struct {
    const char *name;
    const unit_test *tests;
    size_t count;
} unit_suites[UNIT_SUITES_MAX];
static size_t unit_suite_count;

void unit_register(const char *suite, const unit_test *tests, size_t count)
{
    if (unit_suite_count < UNIT_SUITES_MAX) {
        unit_suites[unit_suite_count].name = suite;
        unit_suites[unit_suite_count].tests = tests;
        unit_suites[unit_suite_count].count = count;
        unit_suite_count++;
    }
}

int main(int argc, char **argv)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (size_t i = 0; i < unit_suite_count; i++) {
        if (argc > 1 && strcmp(argv[1], unit_suites[i].name) != 0)
            continue;
        CU_pSuite s = CU_add_suite(unit_suites[i].name, NULL, NULL);
        for (size_t j = 0; s && j < unit_suites[i].count; j++)
            CU_add_test(s, unit_suites[i].tests[j].name, unit_suites[i].tests[j].fn);
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return failed || run == 0 ? 1 : 0;
}
