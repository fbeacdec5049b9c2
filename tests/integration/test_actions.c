/* test_actions.c - being written */
#include "suites.h"

Suite *actions_suite(void)
{
    Suite *s = suite_create("actions");
    return s;
}
