/* test_actions.c - actions and failures, on real local executors
 * Every test runs once per master of test_masters ("local", "local[4]") and
 * compares what an action returns with an answer computed here in plain C
 * from the same seeded input. The failure tests check the status code, the
 * message of flow_last_error, the scheduler's counters (retries, failed
 * attempts, tasks launched) and that the context runs the next job correctly.
 * UDFs are the static functions below; their argument comes by value. */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "suites.h"
#include "testutil.h"

/* ---- Helpers ------------------------------------------------------------------------- */

static flow_context_t *open_master(int i) { return test_context(test_masters[i]); }

/* A context on master with one configuration key set before start. */
static flow_context_t *open_with(const char *master, const char *key, const char *value)
{
    flow_context_t *ctx = flow_context_new();
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(flow_context_set(ctx, "master", master), FLOW_OK);
    ck_assert_int_eq(flow_context_set(ctx, key, value), FLOW_OK);
    int rc = flow_context_start(ctx);
    ck_assert_msg(rc == FLOW_OK, "start %s: %s", master, flow_last_error(ctx));
    return ctx;
}

/* n random int64 values in [-range, range). */
static int64_t *rand_i64s(uint64_t seed, size_t n, int64_t range)
{
    int64_t *v = malloc(sizeof *v * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        v[i] = (int64_t)(test_rand(&seed) % (uint64_t)(2 * range)) - range;
    return v;
}

/* Counters after minus counters before. */
static flow_stats_t stats_since(flow_context_t *ctx, const flow_stats_t *before)
{
    flow_stats_t now, d;
    flow_context_stats(ctx, &now);
    d.jobs = now.jobs - before->jobs;
    d.stages = now.stages - before->stages;
    d.tasks = now.tasks - before->tasks;
    d.tasks_failed = now.tasks_failed - before->tasks_failed;
    d.tasks_retried = now.tasks_retried - before->tasks_retried;
    return d;
}

static void assert_error_has(flow_context_t *ctx, const char *part)
{
    const char *msg = flow_last_error(ctx);
    ck_assert_msg(strstr(msg, part) != NULL, "error \"%s\" lacks \"%s\"", msg, part);
}

/* Check that res holds exactly the int64 values v[0..n), in order, through
 * both flow_result_next and flow_result_get, each value 8-aligned. */
static void assert_result_i64(flow_result_t *res, const int64_t *v, size_t n)
{
    ck_assert_uint_eq(flow_result_count(res), n);
    size_t pos = 0, k = 0;
    flow_rec_t r;
    while (flow_result_next(res, &pos, &r) == 1) {
        ck_assert_uint_lt(k, n);
        ck_assert_ptr_null(r.key);
        ck_assert_uint_eq(r.vlen, 8);
        ck_assert_uint_eq((uintptr_t)r.val % 8, 0);
        ck_assert_msg(*(const int64_t *)r.val == v[k], "record %zu: %lld, expected %lld", k,
                      (long long)*(const int64_t *)r.val, (long long)v[k]);
        k++;
    }
    ck_assert_uint_eq(k, n);
    ck_assert_int_eq(flow_result_next(res, &pos, &r), 0);
    for (size_t i = n; i-- > 0;) { /* Backwards: random access. */
        const flow_rec_t *g = flow_result_get(res, i);
        ck_assert_ptr_nonnull(g);
        ck_assert_int_eq(flow_i64(g->val), v[i]);
    }
    ck_assert_ptr_null(flow_result_get(res, n));
}

/* The single int64 value of a one-record result. */
static int64_t result_i64(flow_result_t *res)
{
    ck_assert_uint_eq(flow_result_count(res), 1);
    const flow_rec_t *r = flow_result_get(res, 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->vlen, 8);
    ck_assert_uint_eq((uintptr_t)r->val % 8, 0);
    return *(const int64_t *)r->val;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- UDFs ---------------------------------------------------------------------------- */

/* reduce/fold: the sum of two int64 values, read in place (they are 8-aligned). */
static int sum_i64(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b, flow_rec_t *out,
                   const flow_buf_t *arg)
{
    if (a->vlen != 8 || b->vlen != 8)
        return flow_task_fail(t, 1, "sum_i64: records of %zu and %zu bytes", a->vlen,
                              b->vlen);
    int64_t *s = flow_task_alloc(t, sizeof *s);
    if (!s)
        return -1;
    *s = *(const int64_t *)a->val + *(const int64_t *)b->val;
    *out = flow_rec(s, sizeof *s);
    return 0;
}

/* aggregate's accumulator: 16 bytes. */
typedef struct sum_count {
    int64_t sum;   /* Sum of the values seen. */
    int64_t count; /* Number of values seen. */
} sum_count_t;

/* aggregate seq: (sum, count) + one int64 record. */
static int sc_add(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b, flow_rec_t *out,
                  const flow_buf_t *arg)
{
    if (a->vlen != sizeof(sum_count_t) || b->vlen != 8)
        return flow_task_fail(t, 1, "sc_add: %zu and %zu bytes", a->vlen, b->vlen);
    const sum_count_t *acc = a->val;
    sum_count_t *n = flow_task_alloc(t, sizeof *n);
    if (!n)
        return -1;
    n->sum = acc->sum + *(const int64_t *)b->val;
    n->count = acc->count + 1;
    *out = flow_rec(n, sizeof *n);
    return 0;
}

/* aggregate comb: (sum, count) + (sum, count). */
static int sc_merge(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b, flow_rec_t *out,
                    const flow_buf_t *arg)
{
    if (a->vlen != sizeof(sum_count_t) || b->vlen != sizeof(sum_count_t))
        return flow_task_fail(t, 1, "sc_merge: %zu and %zu bytes", a->vlen, b->vlen);
    const sum_count_t *x = a->val, *y = b->val;
    sum_count_t *n = flow_task_alloc(t, sizeof *n);
    if (!n)
        return -1;
    n->sum = x->sum + y->sum;
    n->count = x->count + y->count;
    *out = flow_rec(n, sizeof *n);
    return 0;
}

/* aggregate comb that always fails: comb runs only on the driver. */
static int sc_merge_fails(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b,
                          flow_rec_t *out, const flow_buf_t *arg)
{
    return flow_task_fail(t, 0, "comb refuses to merge");
}

/* reduce that returns -1 without a message. */
static int reduce_silent_fail(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b,
                              flow_rec_t *out, const flow_buf_t *arg)
{
    return -1;
}

static int is_even(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg)
{
    return flow_i64(in->val) % 2 == 0;
}

static int keep_none(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg)
{
    return 0;
}

/* How a failing UDF fails (its by-value argument). */
typedef struct fail_spec {
    int32_t partition; /* Partition that fails; -1: every partition. */
    int32_t attempts;  /* Fail only while the attempt is below this; 0: always. */
    int32_t permanent; /* Fail permanently. */
    int32_t silent;    /* Return -1 without flow_task_fail. */
    int64_t sleep_ns;  /* Other partitions sleep this long per record. */
} fail_spec_t;

/* Nonzero when the spec says that this task fails now. */
static int should_fail(flow_task_t *t, const fail_spec_t *s)
{
    if (s->partition >= 0 && flow_task_partition(t) != s->partition)
        return 0;
    return s->attempts == 0 || flow_task_attempt(t) < s->attempts;
}

static int fail_now(flow_task_t *t, const fail_spec_t *s, int64_t v)
{
    if (s->silent)
        return -1;
    return flow_task_fail(t, s->permanent, "bad record %lld in partition %d (attempt %d)",
                          (long long)v, flow_task_partition(t), flow_task_attempt(t));
}

/* filter: keep every record, unless the spec makes this task fail. */
static int failing_filter(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg)
{
    const fail_spec_t *s = arg->data;
    if (should_fail(t, s))
        return fail_now(t, s, flow_i64(in->val));
    return 1;
}

/* map: identity, sleeping sleep_ns per record, unless the spec makes this task fail. */
static int failing_map(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                       const flow_buf_t *arg)
{
    const fail_spec_t *s = arg->data;
    if (should_fail(t, s))
        return fail_now(t, s, flow_i64(in->val));
    if (s->sleep_ns > 0) {
        struct timespec ts = {0, (long)s->sleep_ns};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* Where fail_at_value fails (its by-value argument). */
typedef struct fail_at {
    int64_t value;    /* The record value that fails its task. */
    int32_t attempts; /* Fail only while the attempt is below this. */
    int32_t msg_len;  /* Length of the message (filled with 'x'), or 0 for a short one. */
} fail_at_t;

/* map: identity, but the record with the given value fails its task. */
static int fail_at_value(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                         const flow_buf_t *arg)
{
    const fail_at_t *f = arg->data;
    if (flow_i64(in->val) != f->value || flow_task_attempt(t) >= f->attempts)
        return 0;
    if (f->msg_len > 0) {
        char *m = flow_task_alloc(t, (size_t)f->msg_len + 1);
        memset(m, 'x', (size_t)f->msg_len);
        m[f->msg_len] = '\0';
        return flow_task_fail(t, 0, "long: %s", m);
    }
    return flow_task_fail(t, 0, "value %lld fails", (long long)f->value);
}

/* map: the int64 value as decimal text (for saving). */
static int i64_to_text(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                       const flow_buf_t *arg)
{
    char *buf = flow_task_alloc(t, 24);
    if (!buf)
        return -1;
    int n = snprintf(buf, 24, "%lld", (long long)flow_i64(in->val));
    *out = flow_rec(buf, (size_t)n);
    return 0;
}

/* foreach: append the value as a line to <dir>/p<partition>; arg is dir (NUL included). */
static int append_to_partition_file(flow_task_t *t, const flow_rec_t *in,
                                    const flow_buf_t *arg)
{
    const char *dir = arg->data;
    if (arg->len == 0 || dir[arg->len - 1] != '\0')
        return flow_task_fail(t, 1, "foreach: bad directory argument");
    char path[4096];
    snprintf(path, sizeof path, "%s/p%d", dir, flow_task_partition(t));
    FILE *f = fopen(path, "a");
    if (!f)
        return flow_task_fail(t, 1, "cannot open %s", path);
    fprintf(f, "%lld\n", (long long)flow_i64(in->val));
    fclose(f);
    return 0;
}

static int foreach_fails(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg)
{
    return flow_task_fail(t, 0, "foreach refuses record %lld", (long long)flow_i64(in->val));
}

/* Numeric order of int64 values (keys ignored). */
static int cmp_i64_val(const flow_rec_t *a, const flow_rec_t *b, const flow_buf_t *arg)
{
    int64_t x = flow_i64(a->val), y = flow_i64(b->val);
    return (x > y) - (x < y);
}

/* Numeric order of int64 values times the int64 sign in arg (+1 or -1). */
static int cmp_i64_signed(const flow_rec_t *a, const flow_rec_t *b, const flow_buf_t *arg)
{
    int64_t sign = arg->len == 8 ? flow_i64(arg->data) : 0;
    return (int)sign * cmp_i64_val(a, b, NULL);
}

/* Numeric order answered with the extreme ints, as memcmp-like functions may. */
static int cmp_i64_extreme(const flow_rec_t *a, const flow_rec_t *b, const flow_buf_t *arg)
{
    int c = cmp_i64_val(a, b, NULL);
    return c < 0 ? INT_MIN : c > 0 ? INT_MAX : 0;
}

/* reduce: the larger value, returning one of the inputs as it is. */
static int max_i64(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b, flow_rec_t *out,
                   const flow_buf_t *arg)
{
    *out = flow_i64(b->val) > flow_i64(a->val) ? *b : *a;
    return 0;
}

/* ---- Plain C references -------------------------------------------------------------- */

/* Bytewise order: unkeyed records by value; keyed by key, then value; shorter first on a
 * common prefix. */
static int bytes_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return (alen > blen) - (alen < blen);
}

static int ref_rec_cmp(const void *pa, const void *pb)
{
    const flow_rec_t *a = pa, *b = pb;
    int c = bytes_cmp(a->key, a->klen, b->key, b->klen);
    return c ? c : bytes_cmp(a->val, a->vlen, b->val, b->vlen);
}

static int ref_rec_cmp_desc(const void *pa, const void *pb) { return ref_rec_cmp(pb, pa); }

static int ref_i64_cmp(const void *pa, const void *pb)
{
    int64_t x = *(const int64_t *)pa, y = *(const int64_t *)pb;
    return (x > y) - (x < y);
}

static int ref_i64_cmp_desc(const void *pa, const void *pb) { return ref_i64_cmp(pb, pa); }

/* ---- collect, count ------------------------------------------------------------------ */

START_TEST(test_collect_keeps_partition_order)
{
    flow_context_t *ctx = open_master(_i);
    size_t n = 5000;
    int64_t *v = rand_i64s(11, n, 1000000);
    static const int nparts[] = {1, 3, 7, 16};
    for (size_t k = 0; k < sizeof nparts / sizeof *nparts; k++) {
        flow_dataset_t *ds = flow_dataset_parallelize_i64(ctx, v, n, nparts[k]);
        ck_assert_ptr_nonnull(ds);
        flow_result_t *res = NULL;
        ck_assert_int_eq(flow_dataset_collect(ds, &res), FLOW_OK);
        assert_result_i64(res, v, n);
        flow_result_destroy(&res);
        ck_assert_ptr_null(res);
        flow_result_destroy(&res);
        flow_dataset_destroy(&ds);
    }
    free(v);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_collect_keyed_records_aligned)
{
    flow_context_t *ctx = open_master(_i);
    size_t n = 700;
    uint64_t seed = 12;
    char (*keys)[16] = malloc(n * sizeof *keys), (*vals)[24] = malloc(n * sizeof *vals);
    flow_rec_t *recs = malloc(n * sizeof *recs);
    for (size_t i = 0; i < n; i++) {
        size_t kl = test_rand(&seed) % 16, vl = test_rand(&seed) % 24;
        for (size_t j = 0; j < kl; j++)
            keys[i][j] = (char)(test_rand(&seed) & 0xff);
        for (size_t j = 0; j < vl; j++)
            vals[i][j] = (char)(test_rand(&seed) & 0xff);
        recs[i] = flow_rec_kv(keys[i], kl, vals[i], vl);
    }
    flow_dataset_t *ds = flow_dataset_parallelize(ctx, recs, n, 6);
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_collect(ds, &res), FLOW_OK);
    ck_assert_uint_eq(flow_result_count(res), n);
    size_t pos = 0, k = 0;
    flow_rec_t r;
    while (flow_result_next(res, &pos, &r) == 1) {
        ck_assert_ptr_nonnull(r.key);
        ck_assert_uint_eq(r.klen, recs[k].klen);
        ck_assert_uint_eq(r.vlen, recs[k].vlen);
        ck_assert_uint_eq((uintptr_t)r.key % 8, 0);
        ck_assert_uint_eq((uintptr_t)r.val % 8, 0);
        ck_assert_int_eq(memcmp(r.key, recs[k].key, r.klen), 0);
        ck_assert_int_eq(memcmp(r.val, recs[k].val, r.vlen), 0);
        const flow_rec_t *g = flow_result_get(res, k);
        ck_assert_ptr_eq(g->val, r.val);
        k++;
    }
    ck_assert_uint_eq(k, n);
    flow_result_destroy(&res);
    flow_dataset_destroy(&ds);
    free(keys);
    free(vals);
    free(recs);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_collect_empty_and_sparse_partitions)
{
    flow_context_t *ctx = open_master(_i);
    flow_dataset_t *empty = flow_dataset_parallelize_i64(ctx, NULL, 0, 4);
    ck_assert_ptr_nonnull(empty);
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_collect(empty, &res), FLOW_OK);
    assert_result_i64(res, NULL, 0);
    flow_result_destroy(&res);
    uint64_t cnt = 99;
    ck_assert_int_eq(flow_dataset_count(empty, &cnt), FLOW_OK);
    ck_assert_uint_eq(cnt, 0);

    int64_t three[] = {-5, 7, 42};
    flow_dataset_t *sparse = flow_dataset_parallelize_i64(ctx, three, 3, 8);
    ck_assert_int_eq(flow_dataset_npartitions(sparse), 8);
    ck_assert_int_eq(flow_dataset_collect(sparse, &res), FLOW_OK);
    assert_result_i64(res, three, 3);
    flow_result_destroy(&res);
    ck_assert_int_eq(flow_dataset_count(sparse, &cnt), FLOW_OK);
    ck_assert_uint_eq(cnt, 3);
    flow_dataset_destroy(&sparse);
    flow_dataset_destroy(&empty);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_count_matches_plain_c)
{
    flow_context_t *ctx = open_master(_i);
    uint64_t seed = 13;
    for (int round = 0; round < 4; round++) {
        size_t n = (size_t)(test_rand(&seed) % 20000);
        int nparts = 1 + (int)(test_rand(&seed) % 12);
        int64_t *v = rand_i64s(seed, n, 1000);
        uint64_t even = 0;
        for (size_t i = 0; i < n; i++)
            even += v[i] % 2 == 0;
        flow_dataset_t *ds = flow_dataset_parallelize_i64(ctx, v, n, nparts);
        flow_dataset_t *ev = flow_dataset_filter(ds, is_even, NULL, 0);
        uint64_t got = 0;
        ck_assert_int_eq(flow_dataset_count(ds, &got), FLOW_OK);
        ck_assert_uint_eq(got, n);
        ck_assert_int_eq(flow_dataset_count(ev, &got), FLOW_OK);
        ck_assert_uint_eq(got, even);
        flow_dataset_destroy(&ev);
        flow_dataset_destroy(&ds);
        free(v);
    }
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 1000003, 7, 5);
    uint64_t got = 0;
    ck_assert_int_eq(flow_dataset_count(r, &got), FLOW_OK);
    ck_assert_uint_eq(got, (1000003 + 6) / 7);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

/* ---- reduce, fold, aggregate --------------------------------------------------------- */

START_TEST(test_reduce_sums_int64)
{
    flow_context_t *ctx = open_master(_i);
    static const struct {
        size_t n;
        int nparts;
    } cases[] = {{1, 1}, {3, 8}, {1000, 1}, {12345, 7}, {4096, 64}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int64_t *v = rand_i64s(20 + c, cases[c].n, 1000000);
        int64_t sum = 0;
        for (size_t i = 0; i < cases[c].n; i++)
            sum += v[i];
        flow_dataset_t *ds = flow_dataset_parallelize_i64(ctx, v, cases[c].n, cases[c].nparts);
        flow_result_t *res = NULL;
        int rc = flow_dataset_reduce(ds, sum_i64, NULL, 0, &res);
        ck_assert_msg(rc == FLOW_OK, "reduce: %s", flow_last_error(ctx));
        ck_assert_int_eq(result_i64(res), sum);
        flow_result_destroy(&res);
        int64_t max = v[0];
        for (size_t i = 1; i < cases[c].n; i++)
            max = v[i] > max ? v[i] : max;
        ck_assert_int_eq(flow_dataset_reduce(ds, max_i64, NULL, 0, &res), FLOW_OK);
        ck_assert_int_eq(result_i64(res), max);
        flow_result_destroy(&res);
        flow_dataset_destroy(&ds);
        free(v);
    }
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_reduce_empty_is_enoent)
{
    flow_context_t *ctx = open_master(_i);
    flow_dataset_t *empty = flow_dataset_parallelize_i64(ctx, NULL, 0, 3);
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_reduce(empty, sum_i64, NULL, 0, &res), FLOW_ENOENT);
    ck_assert_ptr_null(res);
    assert_error_has(ctx, "empty");
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 100, 1, 4);
    flow_dataset_t *none = flow_dataset_filter(r, keep_none, NULL, 0);
    ck_assert_int_eq(flow_dataset_reduce(none, sum_i64, NULL, 0, &res), FLOW_ENOENT);
    ck_assert_ptr_null(res);
    /* The context still works. */
    ck_assert_int_eq(flow_dataset_reduce(r, sum_i64, NULL, 0, &res), FLOW_OK);
    ck_assert_int_eq(result_i64(res), 4950);
    flow_result_destroy(&res);
    flow_dataset_destroy(&none);
    flow_dataset_destroy(&r);
    flow_dataset_destroy(&empty);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_fold_uses_zero_per_partition_and_on_driver)
{
    flow_context_t *ctx = open_master(_i);
    static const struct {
        size_t n;
        int nparts;
    } cases[] = {{0, 4}, {3, 8}, {500, 1}, {5000, 6}};
    int64_t one = 1;
    flow_rec_t zero = flow_rec(&one, sizeof one);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int64_t *v = rand_i64s(30 + c, cases[c].n, 1000);
        int64_t sum = 0;
        for (size_t i = 0; i < cases[c].n; i++)
            sum += v[i];
        flow_dataset_t *ds = flow_dataset_parallelize_i64(ctx, v, cases[c].n, cases[c].nparts);
        flow_result_t *res = NULL;
        ck_assert_int_eq(flow_dataset_fold(ds, &zero, sum_i64, NULL, 0, &res), FLOW_OK);
        /* Spark: zero starts every partition and the driver's merge. */
        ck_assert_int_eq(result_i64(res), sum + cases[c].nparts + 1);
        flow_result_destroy(&res);
        flow_dataset_destroy(&ds);
        free(v);
    }
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_aggregate_sum_and_count)
{
    flow_context_t *ctx = open_master(_i);
    static const struct {
        size_t n;
        int nparts;
    } cases[] = {{0, 2}, {3, 8}, {10000, 1}, {10000, 9}};
    sum_count_t z = {0, 0};
    flow_rec_t zero = flow_rec(&z, sizeof z);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int64_t *v = rand_i64s(40 + c, cases[c].n, 100000);
        int64_t sum = 0;
        for (size_t i = 0; i < cases[c].n; i++)
            sum += v[i];
        flow_dataset_t *ds = flow_dataset_parallelize_i64(ctx, v, cases[c].n, cases[c].nparts);
        flow_result_t *res = NULL;
        int rc = flow_dataset_aggregate(ds, &zero, sc_add, sc_merge, NULL, 0, &res);
        ck_assert_msg(rc == FLOW_OK, "aggregate: %s", flow_last_error(ctx));
        ck_assert_uint_eq(flow_result_count(res), 1);
        const flow_rec_t *r = flow_result_get(res, 0);
        ck_assert_uint_eq(r->vlen, sizeof(sum_count_t));
        ck_assert_uint_eq((uintptr_t)r->val % 8, 0);
        const sum_count_t *got = r->val;
        ck_assert_int_eq(got->sum, sum);
        ck_assert_int_eq(got->count, (int64_t)cases[c].n);
        flow_result_destroy(&res);
        flow_dataset_destroy(&ds);
        free(v);
    }
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_actions_without_function_einval)
{
    flow_context_t *ctx = open_master(_i);
    flow_dataset_t *ds = flow_dataset_range(ctx, 0, 10, 1, 2);
    flow_result_t *res = NULL;
    int64_t z = 0;
    flow_rec_t zero = flow_rec(&z, 8);
    ck_assert_int_eq(flow_dataset_reduce(ds, NULL, NULL, 0, &res), FLOW_EINVAL);
    assert_error_has(ctx, "reduce");
    ck_assert_int_eq(flow_dataset_fold(ds, NULL, sum_i64, NULL, 0, &res), FLOW_EINVAL);
    assert_error_has(ctx, "fold");
    ck_assert_int_eq(flow_dataset_aggregate(ds, &zero, sum_i64, NULL, NULL, 0, &res),
                     FLOW_EINVAL);
    assert_error_has(ctx, "aggregate");
    ck_assert_int_eq(flow_dataset_foreach(ds, NULL, NULL, 0), FLOW_EINVAL);
    assert_error_has(ctx, "foreach");
    ck_assert_ptr_null(res);
    flow_dataset_destroy(&ds);
    flow_context_destroy(&ctx);
}
END_TEST

/* ---- take, first --------------------------------------------------------------------- */

START_TEST(test_take_prefixes)
{
    flow_context_t *ctx = open_master(_i);
    size_t n = 1000;
    int nparts = 20; /* 50 records each. */
    int64_t *v = rand_i64s(50, n, 1000000);
    flow_dataset_t *ds = flow_dataset_parallelize_i64(ctx, v, n, nparts);
    static const size_t takes[] = {0, 1, 3, 50, 51, 555, 999, 1000, 1001, 100000};
    for (size_t k = 0; k < sizeof takes / sizeof *takes; k++) {
        flow_stats_t before;
        flow_context_stats(ctx, &before);
        flow_result_t *res = NULL;
        ck_assert_int_eq(flow_dataset_take(ds, takes[k], &res), FLOW_OK);
        size_t want = takes[k] < n ? takes[k] : n;
        assert_result_i64(res, v, want);
        flow_result_destroy(&res);
        flow_stats_t d = stats_since(ctx, &before);
        if (takes[k] == 0)
            ck_assert_uint_eq(d.tasks, 0);
        else if (takes[k] <= 50) /* The first partition suffices: one task. */
            ck_assert_msg(d.tasks == 1 && d.jobs == 1, "take(%zu): %llu tasks, %llu jobs",
                          takes[k], (unsigned long long)d.tasks, (unsigned long long)d.jobs);
        else
            ck_assert_uint_le(d.tasks, (uint64_t)nparts);
        ck_assert_uint_eq(d.tasks_failed, 0);
    }
    flow_dataset_destroy(&ds);
    free(v);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_take_and_first_skip_empty_partitions)
{
    flow_context_t *ctx = open_master(_i);
    int64_t three[] = {8, -9, 10};
    flow_dataset_t *ds = flow_dataset_parallelize_i64(ctx, three, 3, 8);
    for (size_t n = 0; n <= 5; n++) {
        flow_result_t *res = NULL;
        ck_assert_int_eq(flow_dataset_take(ds, n, &res), FLOW_OK);
        assert_result_i64(res, three, n < 3 ? n : 3);
        flow_result_destroy(&res);
    }
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_first(ds, &res), FLOW_OK);
    assert_result_i64(res, three, 1);
    flow_result_destroy(&res);
    /* The last partition alone holds a record. */
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 1000, 1, 10);
    flow_dataset_t *big = flow_dataset_filter(r, is_even, NULL, 0);
    int64_t last = 998;
    flow_dataset_t *lone = flow_dataset_parallelize_i64(ctx, &last, 1, 1);
    flow_dataset_t *none = flow_dataset_filter(big, keep_none, NULL, 0);
    flow_dataset_t *u = flow_dataset_union(none, lone);
    ck_assert_int_eq(flow_dataset_npartitions(u), 11);
    ck_assert_int_eq(flow_dataset_first(u, &res), FLOW_OK);
    assert_result_i64(res, &last, 1);
    flow_result_destroy(&res);
    flow_dataset_destroy(&u);
    flow_dataset_destroy(&none);
    flow_dataset_destroy(&lone);
    flow_dataset_destroy(&big);
    flow_dataset_destroy(&r);
    flow_dataset_destroy(&ds);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_first_empty_is_enoent)
{
    flow_context_t *ctx = open_master(_i);
    flow_dataset_t *empty = flow_dataset_parallelize_i64(ctx, NULL, 0, 5);
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_first(empty, &res), FLOW_ENOENT);
    ck_assert_ptr_null(res);
    char want[64];
    snprintf(want, sizeof want, "dataset %u", flow_dataset_id(empty));
    assert_error_has(ctx, want);
    ck_assert_int_eq(flow_dataset_take(empty, 10, &res), FLOW_OK);
    ck_assert_uint_eq(flow_result_count(res), 0);
    flow_result_destroy(&res);
    flow_dataset_destroy(&empty);
    flow_context_destroy(&ctx);
}
END_TEST

/* ---- foreach ------------------------------------------------------------------------- */

START_TEST(test_foreach_writes_partition_files)
{
    flow_context_t *ctx = open_master(_i);
    static const struct {
        size_t n;
        int nparts;
    } cases[] = {{3, 8}, {2000, 5}, {0, 3}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char *dir = test_tmpdir();
        size_t n = cases[c].n;
        int nparts = cases[c].nparts;
        int64_t *v = rand_i64s(60 + c, n, 1000000);
        flow_dataset_t *ds = flow_dataset_parallelize_i64(ctx, v, n, nparts);
        int rc = flow_dataset_foreach(ds, append_to_partition_file, dir, strlen(dir) + 1);
        ck_assert_msg(rc == FLOW_OK, "foreach: %s", flow_last_error(ctx));
        /* Partition files in order hold contiguous runs that together are the input. */
        size_t k = 0;
        for (int p = 0; p < nparts; p++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/p%d", dir, p);
            char *text = test_read_file(path, NULL);
            if (!text)
                continue; /* An empty partition wrote nothing. */
            char *line = text, *nl;
            while ((nl = strchr(line, '\n')) != NULL) {
                *nl = '\0';
                ck_assert_uint_lt(k, n);
                ck_assert_int_eq(strtoll(line, NULL, 10), v[k]);
                k++;
                line = nl + 1;
            }
            ck_assert_str_eq(line, "");
            free(text);
        }
        ck_assert_uint_eq(k, n);
        flow_dataset_destroy(&ds);
        free(v);
        test_rmtree(dir);
        free(dir);
    }
    flow_context_destroy(&ctx);
}
END_TEST

/* ---- take_ordered, top --------------------------------------------------------------- */

/* Random byte strings over a small alphabet: many ties and common prefixes. */
typedef struct strs {
    char (*bytes)[8]; /* The bytes of each string. */
    size_t *len;      /* Their lengths (0 to 6). */
} strs_t;

static strs_t rand_strs(uint64_t seed, size_t n)
{
    strs_t s = {malloc((n ? n : 1) * sizeof *s.bytes), malloc((n ? n : 1) * sizeof *s.len)};
    static const char alphabet[] = {'a', 'b', '\0', (char)0xff};
    for (size_t i = 0; i < n; i++) {
        s.len[i] = test_rand(&seed) % 7;
        for (size_t j = 0; j < s.len[i]; j++)
            s.bytes[i][j] = alphabet[test_rand(&seed) % 4];
    }
    return s;
}

static void assert_same_recs(flow_result_t *res, const flow_rec_t *want, size_t n)
{
    ck_assert_uint_eq(flow_result_count(res), n);
    for (size_t i = 0; i < n; i++) {
        const flow_rec_t *g = flow_result_get(res, i);
        ck_assert_ptr_nonnull(g);
        ck_assert_msg(!g->key == !want[i].key, "record %zu: keyed %d", i, g->key != NULL);
        ck_assert_msg(ref_rec_cmp(g, &want[i]) == 0, "record %zu differs", i);
        ck_assert_uint_eq((uintptr_t)g->val % 8, 0);
        ck_assert(!g->key || (uintptr_t)g->key % 8 == 0);
    }
}

/* take_ordered and top with the default order over recs, against qsort. */
static void check_default_order(flow_context_t *ctx, const flow_rec_t *recs, size_t n,
                                int nparts)
{
    flow_rec_t *asc = malloc((n ? n : 1) * sizeof *asc);
    flow_rec_t *desc = malloc((n ? n : 1) * sizeof *desc);
    memcpy(asc, recs, n * sizeof *asc);
    memcpy(desc, recs, n * sizeof *desc);
    qsort(asc, n, sizeof *asc, ref_rec_cmp);
    qsort(desc, n, sizeof *desc, ref_rec_cmp_desc);
    flow_dataset_t *ds = flow_dataset_parallelize(ctx, recs, n, nparts);
    size_t takes[] = {0, 1, 7, n / 2, n, n + 10, 3000};
    for (size_t k = 0; k < sizeof takes / sizeof *takes; k++) {
        size_t want = takes[k] < n ? takes[k] : n;
        flow_result_t *res = NULL;
        ck_assert_int_eq(flow_dataset_take_ordered(ds, takes[k], NULL, NULL, 0, &res), FLOW_OK);
        assert_same_recs(res, asc, want);
        flow_result_destroy(&res);
        ck_assert_int_eq(flow_dataset_top(ds, takes[k], NULL, NULL, 0, &res), FLOW_OK);
        assert_same_recs(res, desc, want);
        flow_result_destroy(&res);
    }
    flow_dataset_destroy(&ds);
    free(asc);
    free(desc);
}

START_TEST(test_ordered_default_unkeyed)
{
    flow_context_t *ctx = open_master(_i);
    static const struct {
        size_t n;
        int nparts;
    } cases[] = {{0, 2}, {3, 8}, {600, 4}, {5000, 1}, {5000, 3}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        strs_t s = rand_strs(70 + c, cases[c].n);
        flow_rec_t *recs = malloc((cases[c].n ? cases[c].n : 1) * sizeof *recs);
        for (size_t i = 0; i < cases[c].n; i++)
            recs[i] = flow_rec(s.bytes[i], s.len[i]);
        check_default_order(ctx, recs, cases[c].n, cases[c].nparts);
        free(recs);
        free(s.bytes);
        free(s.len);
    }
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_ordered_default_keyed)
{
    flow_context_t *ctx = open_master(_i);
    static const struct {
        size_t n;
        int nparts;
    } cases[] = {{3, 8}, {800, 5}, {4000, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t n = cases[c].n;
        strs_t k = rand_strs(80 + c, n), v = rand_strs(90 + c, n);
        flow_rec_t *recs = malloc(n * sizeof *recs);
        for (size_t i = 0; i < n; i++)
            recs[i] = flow_rec_kv(k.bytes[i], k.len[i], v.bytes[i], v.len[i]);
        check_default_order(ctx, recs, n, cases[c].nparts);
        free(recs);
        free(k.bytes);
        free(k.len);
        free(v.bytes);
        free(v.len);
    }
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_ordered_numeric_comparator_with_ties)
{
    flow_context_t *ctx = open_master(_i);
    size_t n = 6000;
    int64_t *vals = rand_i64s(100, n, 40); /* Negative values and many ties. */
    vals[17] = INT64_MIN;
    vals[4000] = INT64_MAX;
    int64_t *ids = malloc(n * sizeof *ids);
    flow_rec_t *recs = malloc(n * sizeof *recs);
    for (size_t i = 0; i < n; i++) {
        ids[i] = (int64_t)i;
        recs[i] = flow_rec_kv(&ids[i], 8, &vals[i], 8);
    }
    int64_t *asc = malloc(n * sizeof *asc), *desc = malloc(n * sizeof *desc);
    memcpy(asc, vals, n * sizeof *asc);
    memcpy(desc, vals, n * sizeof *desc);
    qsort(asc, n, sizeof *asc, ref_i64_cmp);
    qsort(desc, n, sizeof *desc, ref_i64_cmp_desc);
    flow_dataset_t *ds = flow_dataset_parallelize(ctx, recs, n, 7);
    static const size_t takes[] = {0, 1, 5, 100, 2500, 6000, 7000};
    char *seen = malloc(n);
    for (size_t k = 0; k < sizeof takes / sizeof *takes; k++) {
        size_t want = takes[k] < n ? takes[k] : n;
        for (int top = 0; top < 2; top++) {
            flow_result_t *res = NULL;
            int rc = top ? flow_dataset_top(ds, takes[k], cmp_i64_val, NULL, 0, &res)
                         : flow_dataset_take_ordered(ds, takes[k], cmp_i64_val, NULL, 0, &res);
            ck_assert_int_eq(rc, FLOW_OK);
            ck_assert_uint_eq(flow_result_count(res), want);
            memset(seen, 0, n);
            for (size_t i = 0; i < want; i++) {
                const flow_rec_t *g = flow_result_get(res, i);
                ck_assert_uint_eq(g->klen, 8);
                int64_t id = flow_i64(g->key), val = *(const int64_t *)g->val;
                ck_assert_int_eq(val, (top ? desc : asc)[i]);
                /* Among ties any record may come, but each is a distinct input record. */
                ck_assert(id >= 0 && id < (int64_t)n);
                ck_assert_int_eq(vals[id], val);
                ck_assert_int_eq(seen[id], 0);
                seen[id] = 1;
            }
            flow_result_destroy(&res);
        }
        /* The comparator's argument reaches it: sign -1 makes take_ordered a top. */
        int64_t sign = -1;
        flow_result_t *res = NULL;
        ck_assert_int_eq(flow_dataset_take_ordered(ds, takes[k], cmp_i64_signed, &sign,
                                                   sizeof sign, &res), FLOW_OK);
        ck_assert_uint_eq(flow_result_count(res), want);
        for (size_t i = 0; i < want; i++)
            ck_assert_int_eq(flow_i64(flow_result_get(res, i)->val), desc[i]);
        flow_result_destroy(&res);
        /* INT_MIN from a comparator still reverses correctly for top. */
        ck_assert_int_eq(flow_dataset_top(ds, takes[k], cmp_i64_extreme, NULL, 0, &res),
                         FLOW_OK);
        ck_assert_uint_eq(flow_result_count(res), want);
        for (size_t i = 0; i < want; i++)
            ck_assert_int_eq(flow_i64(flow_result_get(res, i)->val), desc[i]);
        flow_result_destroy(&res);
    }
    free(seen);
    flow_dataset_destroy(&ds);
    free(asc);
    free(desc);
    free(recs);
    free(ids);
    free(vals);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_ordered_huge_n_returns_everything)
{
    flow_context_t *ctx = open_master(_i);
    size_t n = 2500;
    int64_t *v = rand_i64s(105, n, 1000000);
    int64_t *asc = malloc(n * sizeof *asc);
    memcpy(asc, v, n * sizeof *asc);
    qsort(asc, n, sizeof *asc, ref_i64_cmp);
    flow_dataset_t *ds = flow_dataset_parallelize_i64(ctx, v, n, 3);
    static const size_t huge[] = {(size_t)1 << 40, SIZE_MAX / 2, SIZE_MAX};
    for (size_t k = 0; k < sizeof huge / sizeof *huge; k++) {
        flow_result_t *res = NULL;
        int rc = flow_dataset_take_ordered(ds, huge[k], cmp_i64_val, NULL, 0, &res);
        ck_assert_msg(rc == FLOW_OK, "take_ordered(%zu): %s", huge[k], flow_last_error(ctx));
        assert_result_i64(res, asc, n);
        flow_result_destroy(&res);
        ck_assert_int_eq(flow_dataset_top(ds, huge[k], NULL, NULL, 0, &res), FLOW_OK);
        ck_assert_uint_eq(flow_result_count(res), n);
        flow_result_destroy(&res);
        ck_assert_int_eq(flow_dataset_take(ds, huge[k], &res), FLOW_OK);
        assert_result_i64(res, v, n);
        flow_result_destroy(&res);
    }
    flow_dataset_destroy(&ds);
    free(asc);
    free(v);
    flow_context_destroy(&ctx);
}
END_TEST

/* ---- stats --------------------------------------------------------------------------- */

static int close_to(double got, double want)
{
    return fabs(got - want) <= 1e-9 * (fabs(want) > 1 ? fabs(want) : 1);
}

START_TEST(test_stats_match_plain_c)
{
    flow_context_t *ctx = open_master(_i);
    static const struct {
        size_t n;
        int nparts;
    } cases[] = {{1, 1}, {3, 8}, {10000, 1}, {20000, 7}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t n = cases[c].n;
        uint64_t seed = 110 + c;
        double *v = malloc(n * sizeof *v);
        for (size_t i = 0; i < n; i++)
            v[i] = ((double)(test_rand(&seed) >> 11) * 0x1.0p-53 - 0.3) * 2000.0 + 1e4;
        double sum = 0, min = INFINITY, max = -INFINITY, ss = 0;
        for (size_t i = 0; i < n; i++) {
            sum += v[i];
            min = v[i] < min ? v[i] : min;
            max = v[i] > max ? v[i] : max;
        }
        double mean = sum / (double)n;
        for (size_t i = 0; i < n; i++)
            ss += (v[i] - mean) * (v[i] - mean);
        double stdev = sqrt(ss / (double)n);
        flow_dataset_t *ds = flow_dataset_parallelize_f64(ctx, v, n, cases[c].nparts);
        flow_double_stats_t st;
        ck_assert_int_eq(flow_dataset_stats(ds, &st), FLOW_OK);
        ck_assert_uint_eq(st.count, n);
        ck_assert_msg(close_to(st.mean, mean), "mean %.17g, expected %.17g", st.mean, mean);
        ck_assert_msg(close_to(st.stdev, stdev), "stdev %.17g, expected %.17g", st.stdev,
                      stdev);
        ck_assert_msg(close_to(st.sum, sum), "sum %.17g, expected %.17g", st.sum, sum);
        ck_assert(st.min == min);
        ck_assert(st.max == max);
        flow_dataset_destroy(&ds);
        free(v);
    }
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_stats_empty_dataset)
{
    flow_context_t *ctx = open_master(_i);
    flow_dataset_t *ds = flow_dataset_parallelize_f64(ctx, NULL, 0, 4);
    flow_double_stats_t st;
    ck_assert_int_eq(flow_dataset_stats(ds, &st), FLOW_OK);
    ck_assert_uint_eq(st.count, 0);
    ck_assert(isnan(st.mean));
    ck_assert(isnan(st.stdev));
    ck_assert(isinf(st.min) && st.min > 0);
    ck_assert(isinf(st.max) && st.max < 0);
    ck_assert(st.sum == 0);
    flow_dataset_destroy(&ds);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_stats_bad_record_einval)
{
    flow_context_t *ctx = open_master(_i);
    double good[] = {1.5, 2.5, 3.5, 4.5};
    flow_dataset_t *a = flow_dataset_parallelize_f64(ctx, good, 4, 2);
    flow_rec_t bad[] = {flow_rec(&good[0], 8), flow_rec("abcd", 4)};
    flow_dataset_t *b = flow_dataset_parallelize(ctx, bad, 2, 1);
    flow_dataset_t *u = flow_dataset_union(a, b); /* The bad record is in partition 2. */
    flow_double_stats_t st;
    ck_assert_int_eq(flow_dataset_stats(u, &st), FLOW_EINVAL);
    assert_error_has(ctx, "partition 2");
    assert_error_has(ctx, "4 bytes");
    ck_assert_int_eq(flow_dataset_stats(a, &st), FLOW_OK);
    ck_assert_uint_eq(st.count, 4);
    ck_assert(st.mean == 3.0);
    flow_dataset_destroy(&u);
    flow_dataset_destroy(&b);
    flow_dataset_destroy(&a);
    flow_context_destroy(&ctx);
}
END_TEST

/* ---- save_as_text_file --------------------------------------------------------------- */

/* Check dir holds exactly part-00000 .. part-<nparts-1> and _SUCCESS, and that the
 * parts in order concatenate to want. */
static void assert_saved(const char *dir, int nparts, const char *want)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int parts = 0, success = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strcmp(e->d_name, "_SUCCESS") == 0) {
            success = 1;
            continue;
        }
        unsigned p;
        char tail;
        ck_assert_msg(sscanf(e->d_name, "part-%5u%c", &p, &tail) == 1 &&
                          strlen(e->d_name) == 10 && p < (unsigned)nparts,
                      "unexpected entry %s in %s", e->d_name, dir);
        parts++;
    }
    closedir(d);
    ck_assert_int_eq(success, 1);
    ck_assert_int_eq(parts, nparts);
    size_t want_len = strlen(want), at = 0;
    for (int p = 0; p < nparts; p++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/part-%05d", dir, p);
        size_t len;
        char *text = test_read_file(path, &len);
        ck_assert_ptr_nonnull(text);
        ck_assert_uint_le(at + len, want_len);
        ck_assert_msg(memcmp(text, want + at, len) == 0, "%s differs", path);
        ck_assert(len == 0 || text[len - 1] == '\n');
        at += len;
        free(text);
    }
    ck_assert_uint_eq(at, want_len);
}

static char *join_path(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

START_TEST(test_save_text_unkeyed)
{
    flow_context_t *ctx = open_master(_i);
    char *base = test_tmpdir();
    static const struct {
        size_t n;
        int nparts;
    } cases[] = {{3, 8}, {1000, 5}, {0, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t n = cases[c].n;
        uint64_t seed = 120 + c;
        char (*lines)[32] = malloc((n ? n : 1) * sizeof *lines);
        const char **ptrs = malloc((n ? n : 1) * sizeof *ptrs);
        char *want = malloc(n * 32 + 1);
        size_t wl = 0;
        for (size_t i = 0; i < n; i++) {
            size_t len = test_rand(&seed) % 20;
            for (size_t j = 0; j < len; j++)
                lines[i][j] = (char)('!' + test_rand(&seed) % 90);
            lines[i][len] = '\0';
            ptrs[i] = lines[i];
            wl += (size_t)sprintf(want + wl, "%s\n", lines[i]);
        }
        want[wl] = '\0';
        char name[32];
        snprintf(name, sizeof name, "out%zu", c);
        char *dir = join_path(base, name);
        flow_dataset_t *ds = flow_dataset_parallelize_str(ctx, ptrs, n, cases[c].nparts);
        int rc = flow_dataset_save_as_text_file(ds, dir, 0);
        ck_assert_msg(rc == FLOW_OK, "save: %s", flow_last_error(ctx));
        assert_saved(dir, cases[c].nparts, want);
        /* The saved directory reads back as the same lines. */
        flow_dataset_t *back = flow_dataset_text_file(ctx, dir, 0);
        ck_assert_ptr_nonnull(back);
        uint64_t cnt = 0;
        ck_assert_int_eq(flow_dataset_count(back, &cnt), FLOW_OK);
        ck_assert_uint_eq(cnt, n);
        flow_dataset_destroy(&back);
        flow_dataset_destroy(&ds);
        free(dir);
        free(want);
        free(ptrs);
        free(lines);
    }
    test_rmtree(base);
    free(base);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_save_text_keyed)
{
    flow_context_t *ctx = open_master(_i);
    char *base = test_tmpdir();
    size_t n = 300;
    char (*keys)[16] = malloc(n * sizeof *keys), (*vals)[16] = malloc(n * sizeof *vals);
    flow_rec_t *recs = malloc(n * sizeof *recs);
    char *want = malloc(n * 40 + 1);
    size_t wl = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "k%zu", i * 7);
        snprintf(vals[i], sizeof vals[i], "%s", i % 10 == 0 ? "" : "value");
        /* An empty key is allowed: the line starts with the tab. */
        recs[i] = flow_rec_kv(keys[i], i % 13 == 0 ? 0 : strlen(keys[i]), vals[i],
                              strlen(vals[i]));
        wl += (size_t)sprintf(want + wl, "%s\t%s\n", i % 13 == 0 ? "" : keys[i], vals[i]);
    }
    char *dir = join_path(base, "kv");
    flow_dataset_t *ds = flow_dataset_parallelize(ctx, recs, n, 4);
    ck_assert_int_eq(flow_dataset_save_as_text_file(ds, dir, 0), FLOW_OK);
    assert_saved(dir, 4, want);
    flow_dataset_destroy(&ds);
    free(dir);
    free(want);
    free(recs);
    free(keys);
    free(vals);
    test_rmtree(base);
    free(base);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_save_existing_dir_eexist_unless_overwrite)
{
    flow_context_t *ctx = open_master(_i);
    char *dir = test_tmpdir(); /* Exists already. */
    char *stale = join_path(dir, "stale.txt");
    test_write_file(stale, "old\n", 4);
    const char *words[] = {"alpha", "beta", "gamma"};
    flow_dataset_t *ds = flow_dataset_parallelize_str(ctx, words, 3, 2);
    ck_assert_int_eq(flow_dataset_save_as_text_file(ds, dir, 0), FLOW_EEXIST);
    assert_error_has(ctx, dir);
    ck_assert(access(stale, F_OK) == 0); /* Left alone. */
    int rc = flow_dataset_save_as_text_file(ds, dir, 1);
    ck_assert_msg(rc == FLOW_OK, "save: %s", flow_last_error(ctx));
    ck_assert(access(stale, F_OK) != 0);
    assert_saved(dir, 2, "alpha\nbeta\ngamma\n");
    /* Saving again over a saved output. */
    const char *more[] = {"x", "y", "z", "w"};
    flow_dataset_t *ds2 = flow_dataset_parallelize_str(ctx, more, 4, 3);
    ck_assert_int_eq(flow_dataset_save_as_text_file(ds2, dir, 0), FLOW_EEXIST);
    ck_assert_int_eq(flow_dataset_save_as_text_file(ds2, dir, 1), FLOW_OK);
    assert_saved(dir, 3, "x\ny\nz\nw\n");
    flow_dataset_destroy(&ds2);
    flow_dataset_destroy(&ds);
    free(stale);
    test_rmtree(dir);
    free(dir);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_save_unwritable_dir_eio)
{
    flow_context_t *ctx = open_master(_i);
    char *base = test_tmpdir();
    char *dir = join_path(base, "missing/parent/out");
    flow_dataset_t *ds = flow_dataset_range(ctx, 0, 10, 1, 2);
    ck_assert_int_eq(flow_dataset_save_as_text_file(ds, dir, 0), FLOW_EIO);
    assert_error_has(ctx, dir);
    ck_assert_int_eq(flow_dataset_save_as_text_file(ds, dir, 1), FLOW_EIO);
    flow_dataset_destroy(&ds);
    free(dir);
    test_rmtree(base);
    free(base);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_save_retried_task_writes_once)
{
    flow_context_t *ctx = open_master(_i);
    char *base = test_tmpdir();
    char *dir = join_path(base, "out");
    /* Partition 1 of 3 holds 100000..199999; its first attempt fails deep into it,
     * after more than a megabyte of text has gone to its attempt file. */
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 300000, 1, 3);
    fail_at_t f = {190000, 1, 0};
    flow_dataset_t *m = flow_dataset_map(r, fail_at_value, &f, sizeof f);
    flow_dataset_t *txt = flow_dataset_map(m, i64_to_text, NULL, 0);
    flow_stats_t before;
    flow_context_stats(ctx, &before);
    int rc = flow_dataset_save_as_text_file(txt, dir, 0);
    ck_assert_msg(rc == FLOW_OK, "save: %s", flow_last_error(ctx));
    flow_stats_t d = stats_since(ctx, &before);
    ck_assert_uint_eq(d.tasks_failed, 1);
    ck_assert_uint_eq(d.tasks_retried, 1);
    size_t cap = 300000 * 7 + 1, wl = 0;
    char *want = malloc(cap);
    for (int i = 0; i < 300000; i++)
        wl += (size_t)snprintf(want + wl, cap - wl, "%d\n", i);
    assert_saved(dir, 3, want);
    free(want);
    flow_dataset_destroy(&txt);
    flow_dataset_destroy(&m);
    flow_dataset_destroy(&r);
    free(dir);
    test_rmtree(base);
    free(base);
    flow_context_destroy(&ctx);
}
END_TEST

/* ---- Failures ------------------------------------------------------------------------ */

START_TEST(test_udf_failure_names_dataset_and_partition)
{
    flow_context_t *ctx = open_master(_i);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 1000, 1, 5);
    fail_spec_t spec = {2, 0, 0, 0, 0};
    flow_dataset_t *f = flow_dataset_filter(r, failing_filter, &spec, sizeof spec);
    flow_dataset_set_name(f, "drop_bad");
    fail_spec_t never = {-1, -1, 0, 0, 0}; /* attempt < -1 never holds. */
    flow_dataset_t *m = flow_dataset_map(f, failing_map, &never, sizeof never);
    uint64_t cnt = 0;
    ck_assert_int_eq(flow_dataset_count(m, &cnt), FLOW_ETASK);
    char want[64];
    snprintf(want, sizeof want, "dataset %u 'drop_bad' (filter)", flow_dataset_id(f));
    assert_error_has(ctx, want);
    assert_error_has(ctx, "stage ");
    assert_error_has(ctx, "partition 2");
    assert_error_has(ctx, "bad record 400 in partition 2");
    /* Every action reports the same. */
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_collect(m, &res), FLOW_ETASK);
    ck_assert_ptr_null(res);
    assert_error_has(ctx, want);
    assert_error_has(ctx, "bad record 400");
    flow_dataset_destroy(&m);
    flow_dataset_destroy(&f);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_take_does_not_run_failing_later_partition)
{
    flow_context_t *ctx = open_master(_i);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 800, 1, 8);
    fail_spec_t spec = {3, 0, 1, 0, 0};
    flow_dataset_t *f = flow_dataset_filter(r, failing_filter, &spec, sizeof spec);
    flow_result_t *res = NULL;
    int64_t want[100];
    for (int i = 0; i < 100; i++)
        want[i] = i;
    ck_assert_int_eq(flow_dataset_take(f, 100, &res), FLOW_OK);
    assert_result_i64(res, want, 100);
    flow_result_destroy(&res);
    ck_assert_int_eq(flow_dataset_first(f, &res), FLOW_OK);
    assert_result_i64(res, want, 1);
    flow_result_destroy(&res);
    /* Needing partition 3 fails. */
    ck_assert_int_eq(flow_dataset_take(f, 301, &res), FLOW_ETASK);
    ck_assert_ptr_null(res);
    assert_error_has(ctx, "partition 3");
    flow_dataset_destroy(&f);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_long_failure_message_is_cut_not_fatal)
{
    flow_context_t *ctx = open_with(test_masters[_i], "task.max_attempts", "1");
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 100, 1, 2);
    fail_at_t f = {77, 1, 100000};
    flow_dataset_t *m = flow_dataset_map(r, fail_at_value, &f, sizeof f);
    uint64_t cnt;
    ck_assert_int_eq(flow_dataset_count(m, &cnt), FLOW_ETASK);
    assert_error_has(ctx, "partition 1");
    assert_error_has(ctx, "long: xxxxxxxx");
    ck_assert_uint_lt(strlen(flow_last_error(ctx)), 100000);
    ck_assert_int_eq(flow_dataset_count(r, &cnt), FLOW_OK);
    ck_assert_uint_eq(cnt, 100);
    flow_dataset_destroy(&m);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_transient_failure_is_retried)
{
    flow_context_t *ctx = open_master(_i);
    size_t n = 6000;
    int64_t *v = rand_i64s(130, n, 1000);
    flow_dataset_t *ds = flow_dataset_parallelize_i64(ctx, v, n, 6);
    fail_spec_t spec = {3, 2, 0, 0, 0}; /* Partition 3 fails its attempts 0 and 1. */
    flow_dataset_t *f = flow_dataset_filter(ds, failing_filter, &spec, sizeof spec);
    flow_stats_t before;
    flow_context_stats(ctx, &before);
    flow_result_t *res = NULL;
    int rc = flow_dataset_collect(f, &res);
    ck_assert_msg(rc == FLOW_OK, "collect: %s", flow_last_error(ctx));
    assert_result_i64(res, v, n);
    flow_result_destroy(&res);
    flow_stats_t d = stats_since(ctx, &before);
    ck_assert_uint_eq(d.tasks_failed, 2);
    ck_assert_uint_eq(d.tasks_retried, 2);
    ck_assert_uint_eq(d.tasks, 6 + 2);
    ck_assert_uint_eq(d.jobs, 1);
    /* Every partition failing twice. */
    fail_spec_t all = {-1, 2, 0, 0, 0};
    flow_dataset_t *g = flow_dataset_filter(ds, failing_filter, &all, sizeof all);
    flow_context_stats(ctx, &before);
    uint64_t cnt = 0;
    ck_assert_int_eq(flow_dataset_count(g, &cnt), FLOW_OK);
    ck_assert_uint_eq(cnt, n);
    d = stats_since(ctx, &before);
    ck_assert_uint_eq(d.tasks_failed, 12);
    ck_assert_uint_eq(d.tasks_retried, 12);
    ck_assert_uint_eq(d.tasks, 18);
    flow_dataset_destroy(&g);
    flow_dataset_destroy(&f);
    flow_dataset_destroy(&ds);
    free(v);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_retries_exhausted_fail_the_job)
{
    flow_context_t *ctx = open_with(test_masters[_i], "task.max_attempts", "2");
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 100, 1, 4);
    fail_spec_t spec = {1, 5, 0, 0, 0}; /* Would need 5 failed attempts. */
    flow_dataset_t *f = flow_dataset_filter(r, failing_filter, &spec, sizeof spec);
    flow_stats_t before;
    flow_context_stats(ctx, &before);
    uint64_t cnt;
    ck_assert_int_eq(flow_dataset_count(f, &cnt), FLOW_ETASK);
    flow_stats_t d = stats_since(ctx, &before);
    ck_assert_uint_eq(d.tasks_failed, 2);
    ck_assert_uint_eq(d.tasks_retried, 1);
    assert_error_has(ctx, "partition 1");
    assert_error_has(ctx, "attempt 2 of 2");
    assert_error_has(ctx, "(attempt 1)"); /* The last attempt's message. */
    flow_dataset_destroy(&f);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_permanent_failure_not_retried)
{
    flow_context_t *ctx = open_master(_i);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 4000, 1, 4);
    fail_spec_t spec = {1, 0, 1, 0, 0};
    flow_dataset_t *f = flow_dataset_filter(r, failing_filter, &spec, sizeof spec);
    flow_stats_t before;
    flow_context_stats(ctx, &before);
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_collect(f, &res), FLOW_ETASK);
    ck_assert_ptr_null(res);
    flow_stats_t d = stats_since(ctx, &before);
    ck_assert_uint_eq(d.tasks_failed, 1);
    ck_assert_uint_eq(d.tasks_retried, 0);
    ck_assert_uint_le(d.tasks, 4);
    assert_error_has(ctx, "permanent");
    assert_error_has(ctx, "partition 1");
    assert_error_has(ctx, "bad record 1000 in partition 1 (attempt 0)");
    flow_dataset_destroy(&f);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_max_attempts_one_disables_retries)
{
    flow_context_t *ctx = open_with(test_masters[_i], "task.max_attempts", "1");
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 100, 1, 5);
    fail_spec_t spec = {4, 1, 0, 0, 0}; /* Only attempt 0 fails: one retry would do. */
    flow_dataset_t *f = flow_dataset_filter(r, failing_filter, &spec, sizeof spec);
    flow_stats_t before;
    flow_context_stats(ctx, &before);
    uint64_t cnt;
    ck_assert_int_eq(flow_dataset_count(f, &cnt), FLOW_ETASK);
    flow_stats_t d = stats_since(ctx, &before);
    ck_assert_uint_eq(d.tasks_failed, 1);
    ck_assert_uint_eq(d.tasks_retried, 0);
    assert_error_has(ctx, "partition 4");
    assert_error_has(ctx, "attempt 1 of 1");
    flow_dataset_destroy(&f);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_udf_failing_without_message_still_explains)
{
    flow_context_t *ctx = open_master(_i);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 100, 1, 3);
    fail_spec_t spec = {0, 0, 0, 1, 0};
    flow_dataset_t *m = flow_dataset_map(r, failing_map, &spec, sizeof spec);
    uint64_t cnt;
    ck_assert_int_eq(flow_dataset_count(m, &cnt), FLOW_ETASK);
    char want[64];
    snprintf(want, sizeof want, "dataset %u", flow_dataset_id(m));
    assert_error_has(ctx, want);
    assert_error_has(ctx, "(map)");
    assert_error_has(ctx, "partition 0");
    assert_error_has(ctx, "returned -1");
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_reduce(r, reduce_silent_fail, NULL, 0, &res), FLOW_ETASK);
    ck_assert_ptr_null(res);
    assert_error_has(ctx, "returned -1");
    flow_dataset_destroy(&m);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_aggregate_comb_failure_on_driver)
{
    flow_context_t *ctx = open_master(_i);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 100, 1, 3);
    sum_count_t z = {0, 0};
    flow_rec_t zero = flow_rec(&z, sizeof z);
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_aggregate(r, &zero, sc_add, sc_merge_fails, NULL, 0, &res),
                     FLOW_ETASK);
    ck_assert_ptr_null(res);
    assert_error_has(ctx, "comb refuses to merge");
    char want[64];
    snprintf(want, sizeof want, "dataset %u", flow_dataset_id(r));
    assert_error_has(ctx, want);
    ck_assert_int_eq(flow_dataset_aggregate(r, &zero, sc_add, sc_merge, NULL, 0, &res),
                     FLOW_OK);
    const sum_count_t *got = flow_result_get(res, 0)->val;
    ck_assert_int_eq(got->sum, 4950);
    ck_assert_int_eq(got->count, 100);
    flow_result_destroy(&res);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

/* Every action on a failing dataset returns FLOW_ETASK; none aborts or leaks output. */
START_TEST(test_every_action_reports_failure)
{
    flow_context_t *ctx = open_master(_i);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 2000, 1, 4);
    fail_spec_t spec = {-1, 0, 0, 0, 0};
    flow_dataset_t *m = flow_dataset_map(r, failing_map, &spec, sizeof spec);
    flow_result_t *res = NULL;
    uint64_t cnt;
    int64_t z64 = 0;
    flow_rec_t zero = flow_rec(&z64, 8);
    sum_count_t zsc = {0, 0};
    flow_rec_t zero_sc = flow_rec(&zsc, sizeof zsc);
    flow_double_stats_t st;
    ck_assert_int_eq(flow_dataset_count(m, &cnt), FLOW_ETASK);
    ck_assert_int_eq(flow_dataset_collect(m, &res), FLOW_ETASK);
    ck_assert_int_eq(flow_dataset_reduce(m, sum_i64, NULL, 0, &res), FLOW_ETASK);
    ck_assert_int_eq(flow_dataset_fold(m, &zero, sum_i64, NULL, 0, &res), FLOW_ETASK);
    ck_assert_int_eq(flow_dataset_aggregate(m, &zero_sc, sc_add, sc_merge, NULL, 0, &res),
                     FLOW_ETASK);
    ck_assert_int_eq(flow_dataset_take(m, 5, &res), FLOW_ETASK);
    ck_assert_int_eq(flow_dataset_first(m, &res), FLOW_ETASK);
    ck_assert_int_eq(flow_dataset_take_ordered(m, 5, NULL, NULL, 0, &res), FLOW_ETASK);
    ck_assert_int_eq(flow_dataset_top(m, 5, cmp_i64_val, NULL, 0, &res), FLOW_ETASK);
    ck_assert_int_eq(flow_dataset_stats(m, &st), FLOW_ETASK);
    ck_assert_int_eq(flow_dataset_foreach(m, foreach_fails, NULL, 0), FLOW_ETASK);
    ck_assert_ptr_null(res);
    /* A foreach UDF failing on a good dataset. */
    ck_assert_int_eq(flow_dataset_foreach(r, foreach_fails, NULL, 0), FLOW_ETASK);
    assert_error_has(ctx, "foreach refuses record");
    /* A failed save leaves no _SUCCESS and no _temporary. */
    char *base = test_tmpdir();
    char *dir = join_path(base, "out");
    ck_assert_int_eq(flow_dataset_save_as_text_file(m, dir, 0), FLOW_ETASK);
    char *ok = join_path(dir, "_SUCCESS"), *tmp = join_path(dir, "_temporary");
    ck_assert(access(ok, F_OK) != 0);
    ck_assert(access(tmp, F_OK) != 0);
    /* A later save to the same place, with overwrite, works. */
    ck_assert_int_eq(flow_dataset_save_as_text_file(r, dir, 1), FLOW_OK);
    ck_assert(access(ok, F_OK) == 0);
    ck_assert(access(tmp, F_OK) != 0);
    free(ok);
    free(tmp);
    free(dir);
    test_rmtree(base);
    free(base);
    flow_dataset_destroy(&m);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_context_runs_next_job_after_failure)
{
    flow_context_t *ctx = open_master(_i);
    size_t n = 64 * 300;
    int64_t *v = rand_i64s(140, n, 1000000);
    flow_dataset_t *ds = flow_dataset_parallelize_i64(ctx, v, n, 64);
    fail_spec_t spec = {5, 0, 0, 0, 0};
    flow_dataset_t *bad = flow_dataset_filter(ds, failing_filter, &spec, sizeof spec);
    fail_spec_t none = {-1, -1, 0, 0, 0};
    flow_dataset_t *good = flow_dataset_filter(ds, failing_filter, &none, sizeof none);
    for (int round = 0; round < 5; round++) {
        flow_result_t *res = NULL;
        ck_assert_int_eq(flow_dataset_collect(bad, &res), FLOW_ETASK);
        assert_error_has(ctx, "partition 5");
        flow_stats_t before;
        flow_context_stats(ctx, &before);
        int rc = flow_dataset_collect(good, &res);
        ck_assert_msg(rc == FLOW_OK, "round %d: %s", round, flow_last_error(ctx));
        assert_result_i64(res, v, n);
        flow_result_destroy(&res);
        flow_stats_t d = stats_since(ctx, &before);
        ck_assert_uint_eq(d.tasks, 64);
        ck_assert_uint_eq(d.tasks_failed, 0);
        uint64_t cnt = 0;
        ck_assert_int_eq(flow_dataset_count(good, &cnt), FLOW_OK);
        ck_assert_uint_eq(cnt, n);
    }
    flow_dataset_destroy(&good);
    flow_dataset_destroy(&bad);
    flow_dataset_destroy(&ds);
    free(v);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_failure_cancels_running_tasks_promptly)
{
    flow_context_t *ctx = open_master(_i);
    /* 64 partitions of 20000 records, each record sleeping at least 20 us: one task
     * takes over 0.4 s, all of them over 6 s on local[4]. Partition 0 fails at once. */
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 64 * 20000, 1, 64);
    fail_spec_t spec = {0, 0, 1, 0, 20000};
    flow_dataset_t *m = flow_dataset_map(r, failing_map, &spec, sizeof spec);
    flow_stats_t before;
    flow_context_stats(ctx, &before);
    double t0 = now_s();
    uint64_t cnt;
    ck_assert_int_eq(flow_dataset_count(m, &cnt), FLOW_ETASK);
    double took = now_s() - t0;
    flow_stats_t d = stats_since(ctx, &before);
    ck_assert_msg(took < 1.5, "the failed job took %.2f s", took);
    ck_assert_uint_lt(d.tasks, 64);
    ck_assert_uint_eq(d.tasks_failed, 1);
    assert_error_has(ctx, "partition 0");
    /* The next job is correct and sees nothing of the cancelled one. */
    flow_context_stats(ctx, &before);
    ck_assert_int_eq(flow_dataset_count(r, &cnt), FLOW_OK);
    ck_assert_uint_eq(cnt, 64 * 20000);
    d = stats_since(ctx, &before);
    ck_assert_uint_eq(d.tasks, 64);
    ck_assert_uint_eq(d.tasks_failed, 0);
    flow_dataset_destroy(&m);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_failing_task_retried_before_the_rest)
{
    flow_context_t *ctx = open_with(test_masters[_i], "task.max_attempts", "4");
    /* Partition 0 fails every attempt; its retries go ahead of the waiting tasks, so
     * the job fails long before the stage's 64 tasks have run. */
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 64 * 2000, 1, 64);
    fail_spec_t spec = {0, 0, 0, 0, 20000};
    flow_dataset_t *m = flow_dataset_map(r, failing_map, &spec, sizeof spec);
    flow_stats_t before;
    flow_context_stats(ctx, &before);
    uint64_t cnt;
    ck_assert_int_eq(flow_dataset_count(m, &cnt), FLOW_ETASK);
    flow_stats_t d = stats_since(ctx, &before);
    ck_assert_uint_eq(d.tasks_failed, 4);
    ck_assert_uint_eq(d.tasks_retried, 3);
    /* Retried last, they would come after all 64 tasks. */
    ck_assert_msg(d.tasks < 64, "%llu tasks launched", (unsigned long long)d.tasks);
    assert_error_has(ctx, "attempt 4 of 4");
    flow_dataset_destroy(&m);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

/* ---- Two contexts -------------------------------------------------------------------- */

START_TEST(test_two_contexts_alternate)
{
    flow_context_t *a = open_master(_i), *b = open_master(1 - _i);
    size_t n = 3000;
    int64_t *va = rand_i64s(150, n, 1000), *vb = rand_i64s(151, n, 1000);
    int64_t sa = 0, sb = 0;
    for (size_t i = 0; i < n; i++)
        sa += va[i], sb += vb[i];
    flow_dataset_t *da = flow_dataset_parallelize_i64(a, va, n, 5);
    flow_dataset_t *db = flow_dataset_parallelize_i64(b, vb, n, 3);
    fail_spec_t spec = {1, 0, 0, 0, 0};
    flow_dataset_t *fa = flow_dataset_filter(da, failing_filter, &spec, sizeof spec);
    for (int round = 0; round < 4; round++) {
        flow_result_t *res = NULL;
        ck_assert_int_eq(flow_dataset_collect(da, &res), FLOW_OK);
        assert_result_i64(res, va, n);
        flow_result_destroy(&res);
        ck_assert_int_eq(flow_dataset_collect(db, &res), FLOW_OK);
        assert_result_i64(res, vb, n);
        flow_result_destroy(&res);
        ck_assert_int_eq(flow_dataset_reduce(db, sum_i64, NULL, 0, &res), FLOW_OK);
        ck_assert_int_eq(result_i64(res), sb);
        flow_result_destroy(&res);
        /* A failure on a leaves b alone. */
        ck_assert_int_eq(flow_dataset_count(fa, &(uint64_t){0}), FLOW_ETASK);
        ck_assert_ptr_null(strstr(flow_last_error(b), "bad record"));
        ck_assert_int_eq(flow_dataset_reduce(da, sum_i64, NULL, 0, &res), FLOW_OK);
        ck_assert_int_eq(result_i64(res), sa);
        flow_result_destroy(&res);
        ck_assert_int_eq(flow_dataset_take(db, 10, &res), FLOW_OK);
        assert_result_i64(res, vb, 10);
        flow_result_destroy(&res);
    }
    flow_dataset_destroy(&fa);
    flow_context_destroy(&a); /* b keeps working after a is gone. */
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_collect(db, &res), FLOW_OK);
    assert_result_i64(res, vb, n);
    flow_result_destroy(&res);
    flow_context_destroy(&b);
    free(va);
    free(vb);
}
END_TEST

/* ---- Suite --------------------------------------------------------------------------- */

static TCase *tcase_of(const char *name, int timeout)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, timeout);
    return tc;
}

Suite *actions_suite(void)
{
    Suite *s = suite_create("actions");
    TCase *tc = tcase_of("collect_count", 60);
    tcase_add_loop_test(tc, test_collect_keeps_partition_order, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_collect_keyed_records_aligned, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_collect_empty_and_sparse_partitions, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_count_matches_plain_c, 0, TEST_NMASTERS);
    suite_add_tcase(s, tc);

    tc = tcase_of("reduce_fold_aggregate", 60);
    tcase_add_loop_test(tc, test_reduce_sums_int64, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_reduce_empty_is_enoent, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_fold_uses_zero_per_partition_and_on_driver, 0,
                        TEST_NMASTERS);
    tcase_add_loop_test(tc, test_aggregate_sum_and_count, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_actions_without_function_einval, 0, TEST_NMASTERS);
    suite_add_tcase(s, tc);

    tc = tcase_of("take_first_foreach", 60);
    tcase_add_loop_test(tc, test_take_prefixes, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_take_and_first_skip_empty_partitions, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_first_empty_is_enoent, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_foreach_writes_partition_files, 0, TEST_NMASTERS);
    suite_add_tcase(s, tc);

    tc = tcase_of("ordered", 120);
    tcase_add_loop_test(tc, test_ordered_default_unkeyed, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_ordered_default_keyed, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_ordered_numeric_comparator_with_ties, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_ordered_huge_n_returns_everything, 0, TEST_NMASTERS);
    suite_add_tcase(s, tc);

    tc = tcase_of("stats", 60);
    tcase_add_loop_test(tc, test_stats_match_plain_c, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_stats_empty_dataset, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_stats_bad_record_einval, 0, TEST_NMASTERS);
    suite_add_tcase(s, tc);

    tc = tcase_of("save", 60);
    tcase_add_loop_test(tc, test_save_text_unkeyed, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_save_text_keyed, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_save_existing_dir_eexist_unless_overwrite, 0,
                        TEST_NMASTERS);
    tcase_add_loop_test(tc, test_save_unwritable_dir_eio, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_save_retried_task_writes_once, 0, TEST_NMASTERS);
    suite_add_tcase(s, tc);

    tc = tcase_of("failures", 120);
    tcase_add_loop_test(tc, test_udf_failure_names_dataset_and_partition, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_take_does_not_run_failing_later_partition, 0,
                        TEST_NMASTERS);
    tcase_add_loop_test(tc, test_long_failure_message_is_cut_not_fatal, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_transient_failure_is_retried, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_retries_exhausted_fail_the_job, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_permanent_failure_not_retried, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_max_attempts_one_disables_retries, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_udf_failing_without_message_still_explains, 0,
                        TEST_NMASTERS);
    tcase_add_loop_test(tc, test_aggregate_comb_failure_on_driver, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_every_action_reports_failure, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_context_runs_next_job_after_failure, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_failure_cancels_running_tasks_promptly, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_failing_task_retried_before_the_rest, 0, TEST_NMASTERS);
    suite_add_tcase(s, tc);

    tc = tcase_of("contexts", 60);
    tcase_add_loop_test(tc, test_two_contexts_alternate, 0, TEST_NMASTERS);
    suite_add_tcase(s, tc);
    return s;
}
