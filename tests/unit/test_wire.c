/* test_wire.c - being written */
#include "suites.h"

Suite *wire_suite(void)
{
    Suite *s = suite_create("wire");
    return s;
}
