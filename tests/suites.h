/* suites.h - every Check suite of flow_tests, one per module or area. */
#ifndef FLOW_TEST_SUITES_H
#define FLOW_TEST_SUITES_H

#include <check.h>

Suite *rec_suite(void);
Suite *buf_suite(void);
Suite *fnref_suite(void);
Suite *conf_suite(void);
Suite *text_suite(void);
Suite *plan_suite(void);
Suite *wire_suite(void);
Suite *codec_suite(void);
Suite *sorter_suite(void);
Suite *aggtable_suite(void);
Suite *context_suite(void);
Suite *dataset_suite(void);
Suite *actions_suite(void);
Suite *portable_suite(void);
Suite *shuffle_suite(void);
Suite *cache_suite(void);

#endif
