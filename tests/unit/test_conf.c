/* test_conf.c - configuration keys, layers (code > environment > file >
 * default), JSON files and value parsing (lib/conf.c) */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "testutil.h"

/* The variables of every key, cleared around each test. */
static const char *const env_vars[] = {
    "FLOW_MASTER",
    "FLOW_APP_NAME",
    "FLOW_DEFAULT_PARALLELISM",
    "FLOW_TASK_MAX_ATTEMPTS",
    "FLOW_TEXT_SPLIT_SIZE",
    "FLOW_WIRE_CHUNK_SIZE",
    "FLOW_EXECUTOR_TASKS_IN_FLIGHT",
    "FLOW_LOG_LEVEL",
};

static flow__conf_t conf;
static flow__settings_t st;
static flow__err_t err;
static char *dir;

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof env_vars / sizeof env_vars[0]; i++)
        unsetenv(env_vars[i]);
}

static void setup(void)
{
    clear_env();
    flow__conf_init(&conf);
    flow__err_clear(&err);
    memset(&st, 0, sizeof st);
    dir = test_tmpdir();
}

static void teardown(void)
{
    flow__conf_free(&conf);
    clear_env();
    test_rmtree(dir);
    free(dir);
    dir = NULL;
}

/* Number of executors that local[*] should give. */
static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4096 ? 4096 : (int)n;
}

/* Write text to a file named name in the test directory; returns its path
 * (valid until the next call). */
static const char *write_conf(const char *name, const char *text)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    test_write_file(path, text, strlen(text));
    return path;
}

/* Assert that the message of the last error contains want. */
#define assert_err_has(want)                                                          \
    ck_assert_msg(strstr(err.msg, (want)) != NULL, "message '%s' lacks '%s'", err.msg, \
                  (want))

/* Set key to value from code and resolve; returns the status of the first
 * call that fails. */
static int set_and_resolve(const char *key, const char *value)
{
    int rc = flow__conf_set(&conf, key, value, &err);
    return rc < 0 ? rc : flow__conf_resolve(&conf, &st, &err);
}

static const char *get(const char *key)
{
    static char buf[256];
    ck_assert_int_eq(flow__conf_get(&conf, key, buf, sizeof buf), FLOW_OK);
    return buf;
}

/* ---- Defaults and keys --------------------------------------------------- */

START_TEST(test_defaults_resolve_to_documented_values)
{
    ck_assert_int_eq(flow__conf_resolve(&conf, &st, &err), FLOW_OK);
    ck_assert_int_eq(st.master_kind, FLOW_MASTER_LOCAL);
    ck_assert_str_eq(st.master, "local[*]");
    ck_assert_int_eq(st.executors, cores());
    ck_assert_str_eq(st.app_name, "libflow");
    ck_assert_int_eq(st.default_parallelism, st.executors);
    ck_assert_int_eq(st.max_attempts, 4);
    ck_assert_uint_eq(st.split_size, 128u << 20);
    ck_assert_uint_eq(st.chunk_size, 1u << 20);
    ck_assert_int_eq(st.tasks_in_flight, 2);
    ck_assert_int_eq(st.log_level, FLOW_LOG_WARN);
}
END_TEST

START_TEST(test_get_defaults_returns_strings)
{
    ck_assert_str_eq(get("master"), "local[*]");
    ck_assert_str_eq(get("app.name"), "libflow");
    ck_assert_str_eq(get("default.parallelism"), "0");
    ck_assert_str_eq(get("task.max_attempts"), "4");
    ck_assert_str_eq(get("text.split_size"), "128m");
    ck_assert_str_eq(get("wire.chunk_size"), "1m");
    ck_assert_str_eq(get("executor.tasks_in_flight"), "2");
    ck_assert_str_eq(get("log.level"), "warn");
}
END_TEST

START_TEST(test_get_unknown_key_fails)
{
    char buf[64];
    ck_assert_int_eq(flow__conf_get(&conf, "foo.bar", buf, sizeof buf), FLOW_EINVAL);
}
END_TEST

START_TEST(test_set_unknown_key_fails)
{
    ck_assert_int_eq(flow__conf_set(&conf, "foo.bar", "1", &err), FLOW_EINVAL);
    ck_assert_int_eq(err.code, FLOW_EINVAL);
    assert_err_has("unknown configuration key 'foo.bar'");
    ck_assert_int_eq(flow__conf_set(&conf, "Master", "local", &err), FLOW_EINVAL);
}
END_TEST

START_TEST(test_set_twice_replaces_value)
{
    ck_assert_int_eq(flow__conf_set(&conf, "task.max_attempts", "2", &err), FLOW_OK);
    ck_assert_int_eq(flow__conf_set(&conf, "task.max_attempts", "7", &err), FLOW_OK);
    ck_assert_int_eq(conf.ncode, 1);
    ck_assert_str_eq(get("task.max_attempts"), "7");
    ck_assert_int_eq(flow__conf_resolve(&conf, &st, &err), FLOW_OK);
    ck_assert_int_eq(st.max_attempts, 7);
}
END_TEST

START_TEST(test_set_bad_value_keeps_earlier_value)
{
    ck_assert_int_eq(flow__conf_set(&conf, "task.max_attempts", "2", &err), FLOW_OK);
    ck_assert_int_eq(flow__conf_set(&conf, "task.max_attempts", "x", &err), FLOW_EINVAL);
    ck_assert_str_eq(get("task.max_attempts"), "2");
}
END_TEST

/* ---- Master URLs --------------------------------------------------------- */

START_TEST(test_master_local_gives_one_executor)
{
    ck_assert_int_eq(set_and_resolve("master", "local"), FLOW_OK);
    ck_assert_int_eq(st.master_kind, FLOW_MASTER_LOCAL);
    ck_assert_int_eq(st.executors, 1);
    ck_assert_str_eq(st.master, "local");
    ck_assert_int_eq(st.default_parallelism, 1);
}
END_TEST

START_TEST(test_master_local_n_gives_n_executors)
{
    static const struct {
        const char *url;
        int n;
    } cases[] = {{"local[1]", 1}, {"local[4]", 4}, {"local[16]", 16},
                 {"local[4096]", 4096}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(set_and_resolve("master", cases[i].url), FLOW_OK);
        ck_assert_int_eq(st.executors, cases[i].n);
        ck_assert_str_eq(st.master, cases[i].url);
        ck_assert_int_eq(st.default_parallelism, cases[i].n);
    }
}
END_TEST

START_TEST(test_master_local_star_gives_cores)
{
    ck_assert_int_eq(set_and_resolve("master", "local[*]"), FLOW_OK);
    ck_assert_int_eq(st.executors, cores());
    ck_assert_int_ge(st.executors, 1);
}
END_TEST

START_TEST(test_master_bad_urls_fail)
{
    static const char *const bad[] = {
        "spark://x", "local[", "locall", "local[0]", "local[-1]", "local[abc]",
        "local[4]x", "local[4", "local[]", "local[4097]", "", "LOCAL", " local",
        "local ", "local[+4]", "local[ 4]", "local[**]", "local[99999999999999999999]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[128];
        flow__err_clear(&err);
        ck_assert_msg(flow__conf_set(&conf, "master", bad[i], &err) == FLOW_EINVAL,
                      "master '%s' accepted", bad[i]);
        snprintf(want, sizeof want,
                 "bad master URL '%s': expected local, local[N] or local[*]", bad[i]);
        assert_err_has(want);
    }
    ck_assert_int_eq(conf.ncode, 0);
}
END_TEST

/* ---- The other keys ------------------------------------------------------ */

START_TEST(test_app_name_any_string_accepted)
{
    ck_assert_int_eq(set_and_resolve("app.name", "word count: 1 = 2"), FLOW_OK);
    ck_assert_str_eq(st.app_name, "word count: 1 = 2");
    ck_assert_int_eq(set_and_resolve("app.name", ""), FLOW_OK);
    ck_assert_str_eq(st.app_name, "");
}
END_TEST

START_TEST(test_app_name_too_long_fails)
{
    char name[200];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    ck_assert_int_eq(flow__conf_set(&conf, "app.name", name, &err), FLOW_EINVAL);
    assert_err_has("for app.name");
    name[127] = '\0';
    ck_assert_int_eq(set_and_resolve("app.name", name), FLOW_OK);
    ck_assert_str_eq(st.app_name, name);
}
END_TEST

START_TEST(test_parallelism_values_accepted_and_rejected)
{
    ck_assert_int_eq(flow__conf_set(&conf, "master", "local[3]", &err), FLOW_OK);
    ck_assert_int_eq(set_and_resolve("default.parallelism", "8"), FLOW_OK);
    ck_assert_int_eq(st.default_parallelism, 8);
    ck_assert_int_eq(set_and_resolve("default.parallelism", "0"), FLOW_OK);
    ck_assert_int_eq(st.default_parallelism, 3);
    ck_assert_str_eq(get("default.parallelism"), "0");

    static const char *const bad[] = {"-1", "x", "1.5", "", "2147483648"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(flow__conf_set(&conf, "default.parallelism", bad[i], &err),
                         FLOW_EINVAL);
        assert_err_has("for default.parallelism: expected an integer >= 0");
    }
}
END_TEST

START_TEST(test_max_attempts_values_accepted_and_rejected)
{
    ck_assert_int_eq(set_and_resolve("task.max_attempts", "1"), FLOW_OK);
    ck_assert_int_eq(st.max_attempts, 1);
    ck_assert_int_eq(set_and_resolve("task.max_attempts", "2147483647"), FLOW_OK);
    ck_assert_int_eq(st.max_attempts, 2147483647);

    static const char *const bad[] = {"0", "-2", "abc", "3x", " 3", "3 ", "+3", "",
                                      "99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[128];
        ck_assert_int_eq(flow__conf_set(&conf, "task.max_attempts", bad[i], &err),
                         FLOW_EINVAL);
        snprintf(want, sizeof want, "bad value '%s' for task.max_attempts: %s", bad[i],
                 "expected an integer >= 1");
        assert_err_has(want);
    }
}
END_TEST

START_TEST(test_split_size_suffixes_accepted)
{
    ck_assert_int_eq(set_and_resolve("text.split_size", "1"), FLOW_OK);
    ck_assert_uint_eq(st.split_size, 1);
    ck_assert_int_eq(set_and_resolve("text.split_size", "64k"), FLOW_OK);
    ck_assert_uint_eq(st.split_size, 64u << 10);
    ck_assert_int_eq(set_and_resolve("text.split_size", "8M"), FLOW_OK);
    ck_assert_uint_eq(st.split_size, 8u << 20);
    ck_assert_int_eq(set_and_resolve("text.split_size", "2g"), FLOW_OK);
    ck_assert_uint_eq(st.split_size, 2ull << 30);
}
END_TEST

START_TEST(test_split_size_zero_and_junk_rejected)
{
    static const char *const bad[] = {"0", "0k", "-1", "m", "1x", "1.5m", "", "1 k"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(flow__conf_set(&conf, "text.split_size", bad[i], &err),
                         FLOW_EINVAL);
        assert_err_has("for text.split_size: expected a size >= 1");
    }
}
END_TEST

START_TEST(test_chunk_size_below_4k_rejected)
{
    ck_assert_int_eq(set_and_resolve("wire.chunk_size", "4096"), FLOW_OK);
    ck_assert_uint_eq(st.chunk_size, 4096);
    ck_assert_int_eq(set_and_resolve("wire.chunk_size", "4k"), FLOW_OK);
    ck_assert_uint_eq(st.chunk_size, 4096);
    ck_assert_int_eq(set_and_resolve("wire.chunk_size", "16m"), FLOW_OK);
    ck_assert_uint_eq(st.chunk_size, 16u << 20);

    static const char *const bad[] = {"4095", "3k", "0", "1", "big"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(flow__conf_set(&conf, "wire.chunk_size", bad[i], &err),
                         FLOW_EINVAL);
        assert_err_has("for wire.chunk_size: expected a size >= 4k");
    }
}
END_TEST

START_TEST(test_tasks_in_flight_values_accepted_and_rejected)
{
    ck_assert_int_eq(set_and_resolve("executor.tasks_in_flight", "1"), FLOW_OK);
    ck_assert_int_eq(st.tasks_in_flight, 1);
    ck_assert_int_eq(set_and_resolve("executor.tasks_in_flight", "32"), FLOW_OK);
    ck_assert_int_eq(st.tasks_in_flight, 32);
    ck_assert_int_eq(flow__conf_set(&conf, "executor.tasks_in_flight", "0", &err),
                     FLOW_EINVAL);
    assert_err_has("bad value '0' for executor.tasks_in_flight");
    ck_assert_int_eq(flow__conf_set(&conf, "executor.tasks_in_flight", "two", &err),
                     FLOW_EINVAL);
}
END_TEST

START_TEST(test_log_level_names_accepted_others_rejected)
{
    static const struct {
        const char *name;
        int level;
    } cases[] = {{"error", FLOW_LOG_ERROR}, {"warn", FLOW_LOG_WARN},
                 {"info", FLOW_LOG_INFO},   {"debug", FLOW_LOG_DEBUG},
                 {"DEBUG", FLOW_LOG_DEBUG}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(set_and_resolve("log.level", cases[i].name), FLOW_OK);
        ck_assert_int_eq(st.log_level, cases[i].level);
    }
    static const char *const bad[] = {"verbose", "", "warning", "3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(flow__conf_set(&conf, "log.level", bad[i], &err), FLOW_EINVAL);
        assert_err_has("expected error, warn, info or debug");
    }
}
END_TEST

/* ---- Layers -------------------------------------------------------------- */

START_TEST(test_precedence_code_over_env_over_file)
{
    const char *path = write_conf("conf.json", "{\"task.max_attempts\": 5}");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_OK);
    ck_assert_int_eq(flow__conf_resolve(&conf, &st, &err), FLOW_OK);
    ck_assert_int_eq(st.max_attempts, 5);
    ck_assert_str_eq(get("task.max_attempts"), "5");

    ck_assert_int_eq(setenv("FLOW_TASK_MAX_ATTEMPTS", "6", 1), 0);
    ck_assert_int_eq(flow__conf_resolve(&conf, &st, &err), FLOW_OK);
    ck_assert_int_eq(st.max_attempts, 6);
    ck_assert_str_eq(get("task.max_attempts"), "6");

    ck_assert_int_eq(set_and_resolve("task.max_attempts", "7"), FLOW_OK);
    ck_assert_int_eq(st.max_attempts, 7);
    ck_assert_str_eq(get("task.max_attempts"), "7");
    unsetenv("FLOW_TASK_MAX_ATTEMPTS");
}
END_TEST

START_TEST(test_env_variables_follow_key_names)
{
    setenv("FLOW_MASTER", "local[2]", 1);
    setenv("FLOW_APP_NAME", "envapp", 1);
    setenv("FLOW_DEFAULT_PARALLELISM", "5", 1);
    setenv("FLOW_TEXT_SPLIT_SIZE", "1k", 1);
    setenv("FLOW_WIRE_CHUNK_SIZE", "8k", 1);
    setenv("FLOW_EXECUTOR_TASKS_IN_FLIGHT", "9", 1);
    setenv("FLOW_LOG_LEVEL", "info", 1);
    ck_assert_int_eq(flow__conf_resolve(&conf, &st, &err), FLOW_OK);
    ck_assert_int_eq(st.executors, 2);
    ck_assert_str_eq(st.app_name, "envapp");
    ck_assert_int_eq(st.default_parallelism, 5);
    ck_assert_uint_eq(st.split_size, 1024);
    ck_assert_uint_eq(st.chunk_size, 8192);
    ck_assert_int_eq(st.tasks_in_flight, 9);
    ck_assert_int_eq(st.log_level, FLOW_LOG_INFO);
    ck_assert_str_eq(get("executor.tasks_in_flight"), "9");
    clear_env();
}
END_TEST

START_TEST(test_env_bad_value_names_variable)
{
    setenv("FLOW_TASK_MAX_ATTEMPTS", "abc", 1);
    ck_assert_int_eq(flow__conf_resolve(&conf, &st, &err), FLOW_EINVAL);
    ck_assert_int_eq(err.code, FLOW_EINVAL);
    assert_err_has("bad value 'abc' for FLOW_TASK_MAX_ATTEMPTS (task.max_attempts): "
                      "expected an integer >= 1");
    unsetenv("FLOW_TASK_MAX_ATTEMPTS");
}
END_TEST

START_TEST(test_env_bad_master_names_variable)
{
    setenv("FLOW_MASTER", "spark://x", 1);
    ck_assert_int_eq(flow__conf_resolve(&conf, &st, &err), FLOW_EINVAL);
    assert_err_has("bad master URL 'spark://x'");
    assert_err_has("FLOW_MASTER");
    unsetenv("FLOW_MASTER");
}
END_TEST

START_TEST(test_env_bad_value_under_code_value_ignored)
{
    setenv("FLOW_TASK_MAX_ATTEMPTS", "abc", 1);
    ck_assert_int_eq(set_and_resolve("task.max_attempts", "3"), FLOW_OK);
    ck_assert_int_eq(st.max_attempts, 3);
    unsetenv("FLOW_TASK_MAX_ATTEMPTS");
}
END_TEST

START_TEST(test_confs_are_independent)
{
    flow__conf_t other;
    flow__settings_t st2;
    flow__conf_init(&other);
    ck_assert_int_eq(flow__conf_set(&conf, "master", "local[2]", &err), FLOW_OK);
    ck_assert_int_eq(flow__conf_set(&other, "master", "local[5]", &err), FLOW_OK);
    ck_assert_int_eq(flow__conf_resolve(&conf, &st, &err), FLOW_OK);
    ck_assert_int_eq(flow__conf_resolve(&other, &st2, &err), FLOW_OK);
    ck_assert_int_eq(st.executors, 2);
    ck_assert_int_eq(st2.executors, 5);
    flow__conf_free(&other);
    ck_assert_int_eq(flow__conf_resolve(&conf, &st, &err), FLOW_OK);
    ck_assert_int_eq(st.executors, 2);
}
END_TEST

/* ---- Configuration files ------------------------------------------------- */

START_TEST(test_file_flat_keys_loaded)
{
    const char *path = write_conf("flat.json", "{\"master\": \"local[3]\",\n"
                                               " \"task.max_attempts\": 3,\n"
                                               " \"text.split_size\": \"64k\",\n"
                                               " \"log.level\": \"debug\"}\n");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_OK);
    ck_assert_int_eq(flow__conf_resolve(&conf, &st, &err), FLOW_OK);
    ck_assert_int_eq(st.executors, 3);
    ck_assert_int_eq(st.max_attempts, 3);
    ck_assert_uint_eq(st.split_size, 64u << 10);
    ck_assert_int_eq(st.log_level, FLOW_LOG_DEBUG);
    ck_assert_str_eq(get("task.max_attempts"), "3");
}
END_TEST

START_TEST(test_file_nested_keys_loaded)
{
    const char *path = write_conf("nested.json",
                                  "{\"task\": {\"max_attempts\": 3},\n"
                                  " \"executor\": {\"tasks_in_flight\": 6},\n"
                                  " \"wire\": {\"chunk_size\": 65536},\n"
                                  " \"app\": {\"name\": \"nested\"}, \"log\": {}}");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_OK);
    ck_assert_int_eq(flow__conf_resolve(&conf, &st, &err), FLOW_OK);
    ck_assert_int_eq(st.max_attempts, 3);
    ck_assert_int_eq(st.tasks_in_flight, 6);
    ck_assert_uint_eq(st.chunk_size, 65536);
    ck_assert_str_eq(st.app_name, "nested");
    ck_assert_str_eq(get("wire.chunk_size"), "65536");
    ck_assert_str_eq(get("log.level"), "warn");
}
END_TEST

START_TEST(test_file_boolean_and_integral_values_become_strings)
{
    const char *path = write_conf("scalars.json",
                                  "{\"app.name\": true, \"task.max_attempts\": 3.0}");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_OK);
    ck_assert_str_eq(get("app.name"), "true");
    ck_assert_str_eq(get("task.max_attempts"), "3");
}
END_TEST

START_TEST(test_file_fractional_number_rejected)
{
    const char *path = write_conf("frac.json", "{\"task\": {\"max_attempts\": 1.5}}");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_EINVAL);
    assert_err_has(path);
    assert_err_has("bad value '1.5' for task.max_attempts");
}
END_TEST

START_TEST(test_file_parse_error_names_file_and_position)
{
    const char *path = write_conf("broken.json", "{\"master\": \"local\",\n  oops: 1}");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_EINVAL);
    assert_err_has(path);
    assert_err_has("byte");
    assert_err_has("line 2");
    assert_err_has("oops");
}
END_TEST

START_TEST(test_file_truncated_or_empty_rejected)
{
    const char *texts[] = {"", "{\"master\": ", "{} trailing", "   "};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *path = write_conf("bad.json", texts[i]);
        ck_assert_msg(flow__conf_load_file(&conf, path, &err) == FLOW_EINVAL,
                      "'%s' accepted", texts[i]);
        assert_err_has(path);
        assert_err_has("JSON syntax error");
    }
}
END_TEST

START_TEST(test_file_not_object_rejected)
{
    const char *path = write_conf("array.json", "[1, 2]");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_EINVAL);
    assert_err_has(path);
    assert_err_has("object");
}
END_TEST

START_TEST(test_file_unknown_key_names_key_and_file)
{
    const char *path = write_conf("typo.json", "{\"task\": {\"max_atempts\": 3}}");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_EINVAL);
    assert_err_has(path);
    assert_err_has("unknown configuration key 'task.max_atempts'");
}
END_TEST

START_TEST(test_file_bad_value_names_key_and_file)
{
    const char *path = write_conf("bad.json", "{\"master\": \"spark://x\"}");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_EINVAL);
    assert_err_has(path);
    assert_err_has("bad master URL 'spark://x'");

    path = write_conf("bad.json", "{\"wire.chunk_size\": 100}");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_EINVAL);
    assert_err_has(path);
    assert_err_has("bad value '100' for wire.chunk_size");
}
END_TEST

START_TEST(test_file_null_or_array_value_rejected)
{
    const char *path = write_conf("null.json", "{\"log.level\": null}");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_EINVAL);
    assert_err_has(path);
    assert_err_has("log.level");

    path = write_conf("array.json", "{\"master\": [\"local\"]}");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_EINVAL);
    assert_err_has("master");
}
END_TEST

START_TEST(test_file_missing_fails_with_eio)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/absent.json", dir);
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_EIO);
    ck_assert_int_eq(err.code, FLOW_EIO);
    assert_err_has(path);
    assert_err_has(strerror(ENOENT));
}
END_TEST

START_TEST(test_file_directory_fails_with_eio)
{
    ck_assert_int_eq(flow__conf_load_file(&conf, dir, &err), FLOW_EIO);
    assert_err_has(dir);
}
END_TEST

START_TEST(test_file_second_load_replaces_file_layer)
{
    const char *path = write_conf("one.json", "{\"task.max_attempts\": 5, "
                                              "\"log.level\": \"debug\"}");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_OK);
    path = write_conf("two.json", "{\"master\": \"local[2]\"}");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_OK);
    ck_assert_int_eq(flow__conf_resolve(&conf, &st, &err), FLOW_OK);
    ck_assert_int_eq(st.executors, 2);
    ck_assert_int_eq(st.max_attempts, 4);
    ck_assert_int_eq(st.log_level, FLOW_LOG_WARN);
}
END_TEST

START_TEST(test_file_failed_load_keeps_file_layer)
{
    const char *path = write_conf("good.json", "{\"task.max_attempts\": 5}");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_OK);
    path = write_conf("bad.json", "{\"master\": \"local\", \"task.max_attempts\": 0}");
    ck_assert_int_eq(flow__conf_load_file(&conf, path, &err), FLOW_EINVAL);
    ck_assert_int_eq(flow__conf_resolve(&conf, &st, &err), FLOW_OK);
    ck_assert_int_eq(st.max_attempts, 5);
    ck_assert_str_eq(st.master, "local[*]");
}
END_TEST

/* ---- Sizes --------------------------------------------------------------- */

START_TEST(test_parse_size_good_values_parsed)
{
    static const struct {
        const char *s;
        uint64_t v;
    } cases[] = {
        {"1", 1},
        {"4096", 4096},
        {"10b", 10},
        {"64k", 64ull << 10},
        {"64K", 64ull << 10},
        {"1kb", 1024},
        {"1KiB", 1024},
        {"32m", 32ull << 20},
        {"32MB", 32ull << 20},
        {"1g", 1ull << 30},
        {"3Gib", 3ull << 30},
        {"17179869183g", 17179869183ull << 30},
        {"18446744073709551615", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 0;
        ck_assert_msg(flow__parse_size(cases[i].s, &v) == 0, "'%s' rejected", cases[i].s);
        ck_assert_uint_eq(v, cases[i].v);
    }
}
END_TEST

START_TEST(test_parse_size_bad_values_rejected)
{
    static const char *const bad[] = {
        "", "0", "0k", "-1", "k", "1x", "1.5m", " 1", "1 ", "1kk", "1ib", "1bb", "1tb",
        "+1", "0x10", "1e3", "18446744073709551616", "17179869184g",
        "99999999999999999999999k",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 77;
        ck_assert_msg(flow__parse_size(bad[i], &v) == -1, "'%s' accepted", bad[i]);
        ck_assert_uint_eq(v, 77);
    }
}
END_TEST

Suite *conf_suite(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("conf");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_defaults_resolve_to_documented_values);
    tcase_add_test(tc, test_get_defaults_returns_strings);
    tcase_add_test(tc, test_get_unknown_key_fails);
    tcase_add_test(tc, test_set_unknown_key_fails);
    tcase_add_test(tc, test_set_twice_replaces_value);
    tcase_add_test(tc, test_set_bad_value_keeps_earlier_value);
    tcase_add_test(tc, test_master_local_gives_one_executor);
    tcase_add_test(tc, test_master_local_n_gives_n_executors);
    tcase_add_test(tc, test_master_local_star_gives_cores);
    tcase_add_test(tc, test_master_bad_urls_fail);
    tcase_add_test(tc, test_app_name_any_string_accepted);
    tcase_add_test(tc, test_app_name_too_long_fails);
    tcase_add_test(tc, test_parallelism_values_accepted_and_rejected);
    tcase_add_test(tc, test_max_attempts_values_accepted_and_rejected);
    tcase_add_test(tc, test_split_size_suffixes_accepted);
    tcase_add_test(tc, test_split_size_zero_and_junk_rejected);
    tcase_add_test(tc, test_chunk_size_below_4k_rejected);
    tcase_add_test(tc, test_tasks_in_flight_values_accepted_and_rejected);
    tcase_add_test(tc, test_log_level_names_accepted_others_rejected);
    tcase_add_test(tc, test_precedence_code_over_env_over_file);
    tcase_add_test(tc, test_env_variables_follow_key_names);
    tcase_add_test(tc, test_env_bad_value_names_variable);
    tcase_add_test(tc, test_env_bad_master_names_variable);
    tcase_add_test(tc, test_env_bad_value_under_code_value_ignored);
    tcase_add_test(tc, test_confs_are_independent);
    tcase_add_test(tc, test_file_flat_keys_loaded);
    tcase_add_test(tc, test_file_nested_keys_loaded);
    tcase_add_test(tc, test_file_boolean_and_integral_values_become_strings);
    tcase_add_test(tc, test_file_fractional_number_rejected);
    tcase_add_test(tc, test_file_parse_error_names_file_and_position);
    tcase_add_test(tc, test_file_truncated_or_empty_rejected);
    tcase_add_test(tc, test_file_not_object_rejected);
    tcase_add_test(tc, test_file_unknown_key_names_key_and_file);
    tcase_add_test(tc, test_file_bad_value_names_key_and_file);
    tcase_add_test(tc, test_file_null_or_array_value_rejected);
    tcase_add_test(tc, test_file_missing_fails_with_eio);
    tcase_add_test(tc, test_file_directory_fails_with_eio);
    tcase_add_test(tc, test_file_second_load_replaces_file_layer);
    tcase_add_test(tc, test_file_failed_load_keeps_file_layer);
    tcase_add_test(tc, test_parse_size_good_values_parsed);
    tcase_add_test(tc, test_parse_size_bad_values_rejected);
    suite_add_tcase(s, tc);
    return s;
}
