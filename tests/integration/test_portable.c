/* test_portable.c - being written */
#include "suites.h"

Suite *portable_suite(void)
{
    Suite *s = suite_create("portable");
    return s;
}
