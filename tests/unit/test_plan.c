/* test_plan.c - being written */
#include "suites.h"

Suite *plan_suite(void)
{
    Suite *s = suite_create("plan");
    return s;
}
