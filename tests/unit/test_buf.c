/* test_buf.c - being written */
#include "suites.h"

Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    return s;
}
