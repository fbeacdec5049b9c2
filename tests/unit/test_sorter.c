/* test_sorter.c - external sort under a memory limit */
#include <check.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "sorter.h"
#include "suites.h"
#include "testutil.h"

static char *dir;
static flow__err_t err;

/* A check inside a loop over many records. Check's ck_assert reports every
 * passing check to the parent process, so hot loops only report failures. */
#define EXPECT(cond, ...)                                                    \
    do {                                                                     \
        if (!(cond))                                                         \
            ck_abort_msg(__VA_ARGS__);                                       \
    } while (0)

static void setup(void)
{
    dir = test_tmpdir();
    flow__err_clear(&err);
}

static void teardown(void)
{
    test_rmtree(dir);
    free(dir);
}

static size_t count_files(const char *path)
{
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* mem_limits swept by the loop tests: tiny (a run every dozen records, and
 * merges of runs), small, medium, and huge (no spill). */
static const size_t limits[] = {1024, 4096, 64 << 10, 1 << 20, (size_t)1 << 32};
#define NLIMITS 5

/* ---- Bytewise order against qsort ------------------------------------- */

#define N 20000

typedef struct recs {
    flow_rec_t r[N];  /* The records. */
    uint8_t *bytes;   /* Their key and value bytes. */
} recs_t;

/* Random bytes from a small alphabet, so that many keys are equal or share a
 * prefix. */
static size_t fill(uint8_t *p, uint64_t *st, size_t max, const char *alphabet, size_t na)
{
    size_t n = test_rand(st) % (max + 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)alphabet[test_rand(st) % na];
    return n;
}

static recs_t *make_recs(uint64_t seed)
{
    recs_t *rs = malloc(sizeof *rs);
    rs->bytes = malloc((size_t)N * 64);
    for (int i = 0; i < N; i++) {
        uint8_t *k = rs->bytes + (size_t)i * 64, *v = k + 32;
        size_t klen, vlen = fill(v, &seed, 24, "xy\0\xff", 4);
        switch (test_rand(&seed) % 4) {
        case 0: rs->r[i] = flow_rec(v, vlen); break;
        case 1:
            klen = fill(k, &seed, 12, "abc", 3);
            rs->r[i] = flow_rec_kv(k, klen, v, vlen);
            break;
        case 2: /* Keys that share their first 8 bytes. */
            memcpy(k, "prefix__", 8);
            klen = 8 + fill(k + 8, &seed, 4, "ab", 2);
            rs->r[i] = flow_rec_kv(k, klen, v, vlen);
            break;
        default: rs->r[i] = flow_rec_kv(k, 0, v, vlen); break;
        }
    }
    return rs;
}

static void free_recs(recs_t *rs)
{
    free(rs->bytes);
    free(rs);
}

static int cmp_bytes_asc(const void *a, const void *b)
{
    return flow__rec_cmp_bytes(a, b);
}

static void assert_same(const flow_rec_t *got, const flow_rec_t *want, int i)
{
    EXPECT(flow__rec_cmp_bytes(got, want) == 0 && !got->key == !want->key, "record %d differs",
           i);
}

/* Sort rs with limit and compare with qsort (reversed when descending). */
static void check_bytewise(recs_t *rs, size_t limit, int descending, flow__sorter_stats_t *st)
{
    flow__sorter_t *s = flow__sorter_new(NULL, NULL, descending, limit, dir);
    for (int i = 0; i < N; i++)
        EXPECT(flow__sorter_add(s, &rs->r[i], &err) == FLOW_OK, "add %d: %s", i, err.msg);
    ck_assert_msg(flow__sorter_finish(s, &err) == FLOW_OK, "%s", err.msg);
    flow_rec_t *want = malloc(sizeof rs->r);
    memcpy(want, rs->r, sizeof rs->r);
    qsort(want, N, sizeof *want, cmp_bytes_asc);
    flow_rec_t got;
    for (int i = 0; i < N; i++) {
        EXPECT(flow__sorter_next(s, &got, &err) == 1, "%d: %s", i, err.msg);
        assert_same(&got, &want[descending ? N - 1 - i : i], i);
    }
    ck_assert_int_eq(flow__sorter_next(s, &got, &err), 0);
    ck_assert_int_eq(flow__sorter_next(s, &got, &err), 0);
    flow__sorter_stats(s, st);
    flow__sorter_free(s);
    ck_assert_uint_eq(count_files(dir), 0);
    free(want);
}

START_TEST(test_sort_bytewise_matches_qsort)
{
    recs_t *rs = make_recs(1000 + (uint64_t)_i);
    flow__sorter_stats_t st;
    check_bytewise(rs, limits[_i], 0, &st);
    ck_assert_uint_eq(st.records, N);
    if (_i == NLIMITS - 1)
        ck_assert_uint_eq(st.runs, 0);
    else
        ck_assert_uint_gt(st.runs, 0);
    free_recs(rs);
}
END_TEST

START_TEST(test_sort_bytewise_descending_is_reversed)
{
    recs_t *rs = make_recs(2000 + (uint64_t)_i);
    flow__sorter_stats_t st;
    check_bytewise(rs, limits[_i], 1, &st);
    free_recs(rs);
}
END_TEST

START_TEST(test_sort_tiny_limit_reports_spills)
{
    recs_t *rs = make_recs(3000);
    flow__sorter_stats_t st;
    check_bytewise(rs, 4096, 0, &st);
    ck_assert_uint_gt(st.runs, 10);
    ck_assert_uint_gt(st.spill_bytes, 0);
    ck_assert_uint_ge(st.spill_records, N / 2);
    ck_assert_uint_gt(st.peak_mem, 0);
    check_bytewise(rs, (size_t)1 << 32, 0, &st);
    ck_assert_uint_eq(st.runs, 0);
    ck_assert_uint_eq(st.spill_bytes, 0);
    ck_assert_uint_eq(st.spill_records, 0);
    free_recs(rs);
}
END_TEST

/* ---- A user comparator: numeric on native int64 values ---------------- */

typedef struct item {
    int64_t v;    /* Sort key (few distinct values, so many ties). */
    uint64_t id;  /* Insertion number. */
} item_t;

static int cmp_i64(const flow_rec_t *a, const flow_rec_t *b, const flow_buf_t *arg)
{
    EXPECT(arg->len == 4 && memcmp(arg->data, "arg!", 4) == 0, "cmp got a wrong argument");
    int64_t x = flow_i64(a->val), y = flow_i64(b->val);
    return (x > y) - (x < y);
}

/* Sort n items by v through the sorter; check order and stability. */
static void check_numeric(size_t limit, int descending, int n, flow__sorter_stats_t *st)
{
    flow_buf_t arg = {"arg!", 4};
    flow__sorter_t *s = flow__sorter_new(cmp_i64, &arg, descending, limit, dir);
    uint64_t seed = 99 + limit;
    for (int i = 0; i < n; i++) {
        item_t it = {(int64_t)(test_rand(&seed) % 201) - 100, (uint64_t)i};
        flow_rec_t r = flow_rec(&it, sizeof it);
        EXPECT(flow__sorter_add(s, &r, &err) == FLOW_OK, "add %d: %s", i, err.msg);
    }
    ck_assert_int_eq(flow__sorter_finish(s, &err), FLOW_OK);
    flow_rec_t r;
    item_t prev = {0, 0};
    for (int i = 0; i < n; i++) {
        EXPECT(flow__sorter_next(s, &r, &err) == 1 && r.vlen == sizeof(item_t), "%d: %s", i,
               err.msg);
        item_t it = *(const item_t *)r.val; /* Aligned in place. */
        if (i > 0) {
            int64_t d = descending ? prev.v - it.v : it.v - prev.v;
            EXPECT(d >= 0, "%d: %lld after %lld", i, (long long)it.v, (long long)prev.v);
            EXPECT(d != 0 || it.id > prev.id, "%d: tie out of insertion order", i);
        }
        prev = it;
    }
    ck_assert_int_eq(flow__sorter_next(s, &r, &err), 0);
    flow__sorter_stats(s, st);
    flow__sorter_free(s);
}

START_TEST(test_sort_user_cmp_is_stable)
{
    flow__sorter_stats_t st;
    check_numeric(limits[_i], 0, N, &st);
}
END_TEST

START_TEST(test_sort_user_cmp_descending_keeps_insertion_order)
{
    flow__sorter_stats_t st;
    check_numeric(limits[_i], 1, N, &st);
}
END_TEST

/* Key order: keys from the tricky set (shared 8-byte prefixes, empty keys),
 * each value its insertion number; equal keys must come out in insertion
 * order, in memory (radix and compare paths) and through spilled runs. */
START_TEST(test_sort_key_order_is_stable)
{
    recs_t *rs = make_recs(7 + _i);
    uint64_t *ids = malloc(sizeof *ids * N);
    flow__sorter_t *s = flow__sorter_new(flow__sorter_cmp_keys, NULL, 0, limits[_i], dir);
    int n = 0;
    for (int i = 0; i < N; i++) {
        if (!rs->r[i].key)
            continue;
        ids[n] = (uint64_t)n;
        flow_rec_t r = flow_rec_kv(rs->r[i].key, rs->r[i].klen, &ids[n], 8);
        EXPECT(flow__sorter_add(s, &r, &err) == FLOW_OK, "add %d: %s", i, err.msg);
        n++;
    }
    ck_assert_int_eq(flow__sorter_finish(s, &err), FLOW_OK);
    flow_rec_t r, prev = {0};
    uint8_t prev_key[64];
    for (int i = 0; i < n; i++) {
        EXPECT(flow__sorter_next(s, &r, &err) == 1, "%d: %s", i, err.msg);
        if (i > 0) {
            int c = flow__sorter_cmp_keys(&prev, &r, NULL);
            EXPECT(c <= 0, "%d: keys out of order", i);
            EXPECT(c != 0 || flow_i64(r.val) > flow_i64(prev.val), "%d: tie out of order", i);
        }
        memcpy(prev_key, r.key, r.klen);
        prev = flow_rec_kv(prev_key, r.klen, NULL, 0);
        prev.val = &ids[flow_i64(r.val)];
        prev.vlen = 8;
    }
    ck_assert_int_eq(flow__sorter_next(s, &r, &err), 0);
    flow__sorter_free(s);
    free(ids);
    free_recs(rs);
}
END_TEST

START_TEST(test_sort_one_record_runs_merge_in_levels)
{
    /* A run per record: 5000 runs merge into level-1 runs of 64, and 64 of
     * those into a level-2 run. */
    flow__sorter_stats_t st;
    check_numeric(1, 0, 5000, &st);
    ck_assert_uint_eq(st.runs, 4999); /* The last record stays in memory. */
    ck_assert_uint_eq(st.spill_records, 4999 + 78 * 64 + 64 * 64);
}
END_TEST

/* ---- Edges ------------------------------------------------------------ */

START_TEST(test_sort_empty_input_returns_nothing)
{
    flow__sorter_t *s = flow__sorter_new(NULL, NULL, 0, 1 << 20, dir);
    ck_assert_int_eq(flow__sorter_finish(s, &err), FLOW_OK);
    flow_rec_t r;
    ck_assert_int_eq(flow__sorter_next(s, &r, &err), 0);
    flow__sorter_stats_t st;
    flow__sorter_stats(s, &st);
    ck_assert_uint_eq(st.records, 0);
    ck_assert_uint_eq(st.runs, 0);
    flow__sorter_free(s);
    flow__sorter_free(NULL);
}
END_TEST

START_TEST(test_sort_record_larger_than_limit_is_held)
{
    size_t big = 3u << 20;
    uint8_t *bytes = malloc(big);
    uint64_t seed = 5;
    for (size_t i = 0; i < big; i++)
        bytes[i] = (uint8_t)test_rand(&seed);
    bytes[0] = 'm';
    flow__sorter_t *s = flow__sorter_new(NULL, NULL, 0, 1024, dir);
    const char *small[] = {"z", "a", "q"};
    flow_rec_t bigrec = flow_rec(bytes, big);
    ck_assert_int_eq(flow__sorter_add(s, &bigrec, &err), FLOW_OK);
    for (int i = 0; i < 3; i++) {
        flow_rec_t r = flow_rec_str(small[i]);
        ck_assert_int_eq(flow__sorter_add(s, &r, &err), FLOW_OK);
    }
    ck_assert_int_eq(flow__sorter_finish(s, &err), FLOW_OK);
    const char *want[] = {"a", "m", "q", "z"};
    flow_rec_t r;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(flow__sorter_next(s, &r, &err), 1);
        ck_assert_int_eq(((const char *)r.val)[0], want[i][0]);
        if (i == 1) {
            ck_assert_uint_eq(r.vlen, big);
            ck_assert_int_eq(memcmp(r.val, bytes, big), 0);
        }
    }
    ck_assert_int_eq(flow__sorter_next(s, &r, &err), 0);
    flow__sorter_stats_t st;
    flow__sorter_stats(s, &st);
    ck_assert_uint_gt(st.runs, 0);
    flow__sorter_free(s);
    free(bytes);
}
END_TEST

/* Flip a byte in the middle of every run file. */
static void damage_runs(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = flow__asprintf("%s/%s", dir, e->d_name);
        size_t len;
        char *b = test_read_file(path, &len);
        b[len / 2] ^= 0x20;
        test_write_file(path, b, len);
        free(b);
        flow__free(path);
    }
    closedir(d);
}

START_TEST(test_sort_corrupt_run_is_protocol_error)
{
    recs_t *rs = make_recs(4000);
    flow__sorter_t *s = flow__sorter_new(NULL, NULL, 0, 64 << 10, dir);
    for (int i = 0; i < N; i++)
        EXPECT(flow__sorter_add(s, &rs->r[i], &err) == FLOW_OK, "add %d: %s", i, err.msg);
    ck_assert_uint_gt(count_files(dir), 0);
    damage_runs();
    int rc = flow__sorter_finish(s, &err);
    flow_rec_t r;
    if (rc == FLOW_OK)
        while ((rc = flow__sorter_next(s, &r, &err)) == 1)
            ;
    ck_assert_int_eq(rc, FLOW_EPROTO);
    ck_assert_msg(strstr(err.msg, dir) != NULL, "%s", err.msg);
    flow__sorter_free(s);
    ck_assert_uint_eq(count_files(dir), 0);
    free_recs(rs);
}
END_TEST

START_TEST(test_sort_missing_spill_dir_is_io_error)
{
    char *missing = flow__asprintf("%s/nope", dir);
    flow__sorter_t *s = flow__sorter_new(NULL, NULL, 0, 16, missing);
    flow_rec_t a = flow_rec_str("a"), b = flow_rec_str("b");
    ck_assert_int_eq(flow__sorter_add(s, &a, &err), FLOW_OK);
    ck_assert_int_eq(flow__sorter_add(s, &b, &err), FLOW_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, missing));
    flow__sorter_free(s);
    flow__free(missing);
}
END_TEST

Suite *sorter_suite(void)
{
    Suite *s = suite_create("sorter");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_sort_bytewise_matches_qsort, 0, NLIMITS);
    tcase_add_loop_test(tc, test_sort_bytewise_descending_is_reversed, 0, NLIMITS);
    tcase_add_test(tc, test_sort_tiny_limit_reports_spills);
    tcase_add_loop_test(tc, test_sort_user_cmp_is_stable, 0, NLIMITS);
    tcase_add_loop_test(tc, test_sort_user_cmp_descending_keeps_insertion_order, 0, NLIMITS);
    tcase_add_loop_test(tc, test_sort_key_order_is_stable, 0, NLIMITS);
    tcase_add_test(tc, test_sort_one_record_runs_merge_in_levels);
    tcase_add_test(tc, test_sort_empty_input_returns_nothing);
    tcase_add_test(tc, test_sort_record_larger_than_limit_is_held);
    tcase_add_test(tc, test_sort_corrupt_run_is_protocol_error);
    tcase_add_test(tc, test_sort_missing_spill_dir_is_io_error);
    suite_add_tcase(s, tc);
    return s;
}
