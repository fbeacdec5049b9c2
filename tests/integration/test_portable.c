/* test_portable.c - tasks are portable across processes of the same build
 * The test starts its own binary again (/proc/self/exe) with
 * FLOW_EXECUTOR_STDIO=1, which libflow's constructor turns into an executor
 * before main runs, hands it encoded tasks whose UDFs are static functions of
 * this file, and checks the results that come back. Static functions have no
 * symbol name: only the (build-id, offset) reference can find them. */
#include <check.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "suites.h"
#include "testutil.h"

extern char **environ;

static int times_three(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                       const flow_buf_t *arg)
{
    int64_t *v = flow_task_alloc(t, 8);
    *v = flow_i64(in->val) * 3 + flow_i64(arg->data);
    *out = flow_rec(v, 8);
    return 0;
}

static int not_multiple_of_four(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg)
{
    return flow_i64(in->val) % 4 != 0;
}

static int fail_on_seven(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg)
{
    if (flow_i64(in->val) == 7)
        return flow_task_fail(t, 1, "seven is not allowed (pid %d)", (int)getpid());
    return 1;
}

/* Child executor process: stdin and stdout pipes. */
typedef struct child {
    pid_t pid;
    int to;   /* Write end of the child's stdin. */
    int from; /* Read end of the child's stdout. */
} child_t;

static void child_start(child_t *c)
{
    int in[2], out[2];
    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    /* The child's environment: ours plus the takeover variable. */
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    memcpy(env, environ, n * sizeof *env);
    env[n] = "FLOW_EXECUTOR_STDIO=1";
    char *argv[] = {"flow_tests-executor", NULL};
    int rc = posix_spawn(&c->pid, "/proc/self/exe", &fa, NULL, argv, env);
    ck_assert_int_eq(rc, 0);
    free(env);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    c->to = in[1];
    c->from = out[0];
}

static void put_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        ck_assert_int_gt(w, 0);
        c += w;
        n -= (size_t)w;
    }
}

static void get_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n > 0) {
        ssize_t r = read(fd, c, n);
        ck_assert_msg(r > 0, "executor process closed its output early");
        c += r;
        n -= (size_t)r;
    }
}

/* Send one task to the child and return its encoded result. */
static void *child_run(child_t *c, const void *task, size_t len, size_t *out_len)
{
    uint64_t n = len;
    put_all(c->to, &n, 8); /* Little-endian host. */
    put_all(c->to, task, len);
    get_all(c->from, &n, 8);
    void *res = malloc(n ? n : 1);
    get_all(c->from, res, n);
    *out_len = n;
    return res;
}

static void child_stop(child_t *c)
{
    close(c->to);
    int status;
    ck_assert_int_eq(waitpid(c->pid, &status, 0), c->pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(c->from);
}

START_TEST(test_static_udf_runs_in_another_process)
{
    flow_context_t *ctx = test_context("local");
    int64_t vals[100], add = 5;
    for (int i = 0; i < 100; i++)
        vals[i] = i;
    flow_dataset_t *nums = flow_dataset_parallelize_i64(ctx, vals, 100, 3);
    flow_dataset_t *kept = flow_dataset_filter(nums, not_multiple_of_four, NULL, 0);
    flow_dataset_t *out = flow_dataset_map(kept, times_three, &add, sizeof add);
    child_t c;
    child_start(&c);
    int seen = 0;
    for (int p = 0; p < 3; p++) {
        void *task, *res;
        size_t len, rlen;
        ck_assert_int_eq(flow_dataset_encode_task(out, p, &task, &len), FLOW_OK);
        res = child_run(&c, task, len, &rlen);
        flow_result_t *r = NULL;
        char *err = NULL;
        int rc = flow_result_from_encoded(res, rlen, &r, &err);
        ck_assert_msg(rc == FLOW_OK, "partition %d: %s", p, err ? err : "");
        /* Partition p holds [100p/3, 100(p+1)/3). */
        size_t pos = 0;
        flow_rec_t rec;
        for (int i = 100 * p / 3; i < 100 * (p + 1) / 3; i++) {
            if (i % 4 == 0)
                continue;
            ck_assert_int_eq(flow_result_next(r, &pos, &rec), 1);
            ck_assert_int_eq(flow_i64(rec.val), i * 3 + 5);
            seen++;
        }
        ck_assert_int_eq(flow_result_next(r, &pos, &rec), 0);
        flow_result_destroy(&r);
        flow_free(task);
        free(res);
    }
    ck_assert_int_eq(seen, 75);
    child_stop(&c);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_udf_failure_in_another_process_comes_back)
{
    flow_context_t *ctx = test_context("local");
    flow_dataset_t *nums = flow_dataset_range(ctx, 0, 10, 1, 1);
    flow_dataset_t *bad = flow_dataset_filter(nums, fail_on_seven, NULL, 0);
    child_t c;
    child_start(&c);
    void *task, *res;
    size_t len, rlen;
    ck_assert_int_eq(flow_dataset_encode_task(bad, 0, &task, &len), FLOW_OK);
    res = child_run(&c, task, len, &rlen);
    flow_result_t *r = NULL;
    char *err = NULL;
    ck_assert_int_eq(flow_result_from_encoded(res, rlen, &r, &err), FLOW_ETASK);
    ck_assert_ptr_nonnull(strstr(err, "seven is not allowed"));
    /* The message carries the child's pid: it really ran elsewhere. */
    char pid[32];
    snprintf(pid, sizeof pid, "pid %d", (int)getpid());
    ck_assert_ptr_null(strstr(err, pid));
    flow_free(err);
    flow_free(task);
    free(res);
    child_stop(&c);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_garbage_task_gives_protocol_error)
{
    child_t c;
    child_start(&c);
    const char junk[] = "FLTK this is not a task, nor sealed";
    size_t rlen;
    void *res = child_run(&c, junk, sizeof junk, &rlen);
    flow_result_t *r = NULL;
    char *err = NULL;
    ck_assert_int_eq(flow_result_from_encoded(res, rlen, &r, &err), FLOW_EPROTO);
    ck_assert_ptr_nonnull(err);
    flow_free(err);
    free(res);
    child_stop(&c);
}
END_TEST

Suite *portable_suite(void)
{
    Suite *s = suite_create("portable");
    TCase *tc = tcase_create("process");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_static_udf_runs_in_another_process);
    tcase_add_test(tc, test_udf_failure_in_another_process_comes_back);
    tcase_add_test(tc, test_garbage_task_gives_protocol_error);
    suite_add_tcase(s, tc);
    return s;
}
