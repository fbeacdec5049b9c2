/* test_fnref.c - being written */
#include "suites.h"

Suite *fnref_suite(void)
{
    Suite *s = suite_create("fnref");
    return s;
}
