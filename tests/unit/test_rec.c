/* test_rec.c - being written */
#include "suites.h"

Suite *rec_suite(void)
{
    Suite *s = suite_create("rec");
    return s;
}
