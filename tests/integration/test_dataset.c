/* test_dataset.c - being written */
#include "suites.h"

Suite *dataset_suite(void)
{
    Suite *s = suite_create("dataset");
    return s;
}
