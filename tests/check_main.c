/* check_main.c - runs the Check suites of libflow.
 * CTest runs each suite alone (CK_RUN_SUITE=<name>); with no variable all run.
 * The process may also be started again as an executor by the portability
 * test (libflow's constructor takes it over before main in that case). */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
    SRunner *sr = srunner_create(rec_suite());
    srunner_add_suite(sr, buf_suite());
    srunner_add_suite(sr, fnref_suite());
    srunner_add_suite(sr, conf_suite());
    srunner_add_suite(sr, text_suite());
    srunner_add_suite(sr, plan_suite());
    srunner_add_suite(sr, wire_suite());
    srunner_add_suite(sr, codec_suite());
    srunner_add_suite(sr, sorter_suite());
    srunner_add_suite(sr, aggtable_suite());
    srunner_add_suite(sr, context_suite());
    srunner_add_suite(sr, dataset_suite());
    srunner_add_suite(sr, actions_suite());
    srunner_add_suite(sr, portable_suite());
    srunner_add_suite(sr, shuffle_suite());
    srunner_add_suite(sr, cache_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
