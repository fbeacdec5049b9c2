/* test_context.c - being written */
#include "suites.h"

Suite *context_suite(void)
{
    Suite *s = suite_create("context");
    return s;
}
