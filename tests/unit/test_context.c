/* test_context.c - contexts: configuration layering, masters, independence */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "testutil.h"

START_TEST(test_default_master_uses_every_core)
{
    unsetenv("FLOW_MASTER");
    flow_context_t *ctx = flow_context_new();
    ck_assert_int_eq(flow_context_start(ctx), FLOW_OK);
    ck_assert_str_eq(flow_context_get(ctx, "master"), "local[*]");
    ck_assert_int_ge(flow_context_parallelism(ctx), 1);
    flow_context_destroy(&ctx);
    ck_assert_ptr_null(ctx);
}
END_TEST

START_TEST(test_local_n_starts_n_executors)
{
    flow_context_t *ctx = test_context("local[3]");
    ck_assert_int_eq(flow_context_parallelism(ctx), 3);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 1000, 1, 0);
    ck_assert_int_eq(flow_dataset_npartitions(r), 3);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_bad_master_names_it)
{
    const char *bad[] = {"local[0]", "local[-1]", "spark://host:7077", "local[", "locall"};
    for (int i = 0; i < 5; i++) {
        flow_context_t *ctx = flow_context_new();
        int rc = flow_context_set(ctx, "master", bad[i]);
        if (rc == FLOW_OK)
            rc = flow_context_start(ctx);
        ck_assert_int_eq(rc, FLOW_EINVAL);
        ck_assert_msg(strstr(flow_last_error(ctx), bad[i]) != NULL, "%s: %s", bad[i],
                      flow_last_error(ctx));
        flow_context_destroy(&ctx);
    }
}
END_TEST

START_TEST(test_unknown_key_names_it)
{
    flow_context_t *ctx = flow_context_new();
    ck_assert_int_eq(flow_context_set(ctx, "executor.memroy", "1g"), FLOW_EINVAL);
    ck_assert_ptr_nonnull(strstr(flow_last_error(ctx), "executor.memroy"));
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_code_wins_over_env_over_file)
{
    char *dir = test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/conf.json", dir);
    const char *json = "{\"master\": \"local[2]\", \"task\": {\"max_attempts\": 7},"
                       " \"app.name\": \"from-file\"}";
    test_write_file(path, json, strlen(json));
    setenv("FLOW_TASK_MAX_ATTEMPTS", "5", 1);
    setenv("FLOW_APP_NAME", "from-env", 1);
    flow_context_t *ctx = flow_context_new();
    ck_assert_int_eq(flow_context_load_conf(ctx, path), FLOW_OK);
    ck_assert_int_eq(flow_context_set(ctx, "app.name", "from-code"), FLOW_OK);
    ck_assert_int_eq(flow_context_start(ctx), FLOW_OK);
    ck_assert_str_eq(flow_context_get(ctx, "master"), "local[2]");
    ck_assert_str_eq(flow_context_get(ctx, "task.max_attempts"), "5");
    ck_assert_str_eq(flow_context_get(ctx, "app.name"), "from-code");
    ck_assert_int_eq(flow_context_parallelism(ctx), 2);
    flow_context_destroy(&ctx);
    unsetenv("FLOW_TASK_MAX_ATTEMPTS");
    unsetenv("FLOW_APP_NAME");
    test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_env_master_is_used)
{
    setenv("FLOW_MASTER", "local[2]", 1);
    flow_context_t *ctx = flow_context_new();
    ck_assert_int_eq(flow_context_start(ctx), FLOW_OK);
    ck_assert_int_eq(flow_context_parallelism(ctx), 2);
    flow_context_destroy(&ctx);
    unsetenv("FLOW_MASTER");
}
END_TEST

START_TEST(test_set_after_start_is_error)
{
    flow_context_t *ctx = test_context("local");
    ck_assert_int_eq(flow_context_set(ctx, "master", "local[2]"), FLOW_EINVAL);
    ck_assert_ptr_nonnull(strstr(flow_last_error(ctx), "already started"));
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_dataset_before_start_is_error)
{
    flow_context_t *ctx = flow_context_new();
    ck_assert_ptr_null(flow_dataset_range(ctx, 0, 10, 1, 1));
    ck_assert_ptr_nonnull(strstr(flow_last_error(ctx), "not started"));
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_open_reports_error_text)
{
    char *err = NULL;
    ck_assert_ptr_null(flow_context_open("local[abc]", &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "local[abc]"));
    flow_free(err);
}
END_TEST

START_TEST(test_two_contexts_are_independent)
{
    flow_context_t *a = test_context("local[2]"), *b = test_context("local");
    flow_dataset_t *ra = flow_dataset_range(a, 0, 1000, 1, 4);
    flow_dataset_t *rb = flow_dataset_range(b, 0, 10, 1, 2);
    uint64_t na = 0, nb = 0;
    ck_assert_int_eq(flow_dataset_count(ra, &na), FLOW_OK);
    ck_assert_int_eq(flow_dataset_count(rb, &nb), FLOW_OK);
    flow_context_destroy(&a);
    ck_assert_int_eq(flow_dataset_count(rb, &nb), FLOW_OK);
    ck_assert_uint_eq(na, 1000);
    ck_assert_uint_eq(nb, 10);
    flow_context_destroy(&b);
}
END_TEST

START_TEST(test_strerror_names_every_code)
{
    for (int c = FLOW_EPROTO; c <= FLOW_OK; c++)
        ck_assert_ptr_nonnull(strstr(flow_strerror(c), "FLOW_"));
}
END_TEST

Suite *context_suite(void)
{
    Suite *s = suite_create("context");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_default_master_uses_every_core);
    tcase_add_test(tc, test_local_n_starts_n_executors);
    tcase_add_test(tc, test_bad_master_names_it);
    tcase_add_test(tc, test_unknown_key_names_it);
    tcase_add_test(tc, test_code_wins_over_env_over_file);
    tcase_add_test(tc, test_env_master_is_used);
    tcase_add_test(tc, test_set_after_start_is_error);
    tcase_add_test(tc, test_dataset_before_start_is_error);
    tcase_add_test(tc, test_open_reports_error_text);
    tcase_add_test(tc, test_two_contexts_are_independent);
    tcase_add_test(tc, test_strerror_names_every_code);
    suite_add_tcase(s, tc);
    return s;
}
