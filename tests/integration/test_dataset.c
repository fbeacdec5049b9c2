/* test_dataset.c - sources and narrow transformations, end to end
 * Every test runs on "local" and "local[4]" (test_masters[_i]) and checks
 * what collect and count return against the same computation done in plain
 * C here, on inputs drawn from seeded test_rand. Partition layouts are
 * observed with glom (flow.h promises contiguous runs, not where they cut),
 * and the reference sample re-implements the generator that flow.h's
 * flow_dataset_sample comment documents. Actions themselves (reduce, take,
 * save, UDF failures and retries) are tested in test_actions.c. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "suites.h"
#include "testutil.h"

/* Fail the test unless cond holds; cheaper than ck_assert in long loops
 * (which records a mark point per call). */
#define REQUIRE(cond, ...)                                                     \
    do {                                                                       \
        if (!(cond))                                                           \
            ck_abort_msg(__VA_ARGS__);                                         \
    } while (0)

static flow_context_t *ctx;

static void setup(void) { ctx = NULL; }
static void teardown(void) { flow_context_destroy(&ctx); }

/* Start the context of master number i (0: local, 1: local[4]). */
static flow_context_t *open_master(int i)
{
    ctx = test_context(test_masters[i]);
    return ctx;
}

/* A started context on master with one more configuration key set. */
static flow_context_t *context_with(const char *master, const char *key, const char *value)
{
    flow_context_t *c = flow_context_new();
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(flow_context_set(c, "master", master), FLOW_OK);
    int rc = flow_context_set(c, key, value);
    REQUIRE(rc == FLOW_OK, "set %s=%s: %s", key, value, flow_last_error(c));
    rc = flow_context_start(c);
    REQUIRE(rc == FLOW_OK, "start %s: %s", master, flow_last_error(c));
    return c;
}

/* ---- Observing datasets -------------------------------------------------------------- */

static const char *err_of(flow_dataset_t *ds)
{
    return flow_last_error(flow_dataset_context(ds));
}

static flow_result_t *collect(flow_dataset_t *ds)
{
    flow_result_t *res = NULL;
    REQUIRE(ds != NULL, "no dataset to collect");
    int rc = flow_dataset_collect(ds, &res);
    REQUIRE(rc == FLOW_OK, "collect %s: %s: %s", flow_dataset_name(ds), flow_strerror(rc),
            err_of(ds));
    return res;
}

static uint64_t count(flow_dataset_t *ds)
{
    uint64_t n = 0;
    REQUIRE(ds != NULL, "no dataset to count");
    int rc = flow_dataset_count(ds, &n);
    REQUIRE(rc == FLOW_OK, "count %s: %s: %s", flow_dataset_name(ds), flow_strerror(rc),
            err_of(ds));
    return n;
}

static int rec_eq(const flow_rec_t *a, const flow_rec_t *b)
{
    if (!a->key != !b->key || a->vlen != b->vlen)
        return 0;
    if (a->key && (a->klen != b->klen || (a->klen && memcmp(a->key, b->key, a->klen))))
        return 0;
    return a->vlen == 0 || memcmp(a->val, b->val, a->vlen) == 0;
}

/* "klen:key-hex vlen:value-hex" (first bytes) of r, into buf. */
static const char *rec_str(const flow_rec_t *r, char *buf, size_t cap)
{
    size_t n = 0;
    const size_t lens[2] = {r->klen, r->vlen};
    const unsigned char *parts[2] = {r->key, r->val};
    for (int f = 0; f < 2; f++) {
        if (f == 0 && !r->key) {
            n += (size_t)snprintf(buf + n, cap - n, "unkeyed ");
            continue;
        }
        n += (size_t)snprintf(buf + n, cap - n, "%zu:", lens[f]);
        for (size_t i = 0; i < lens[f] && i < 24 && n + 4 < cap; i++)
            n += (size_t)snprintf(buf + n, cap - n, "%02x", parts[f][i]);
        if (n + 2 < cap)
            n += (size_t)snprintf(buf + n, cap - n, "%s", f == 0 ? " " : "");
    }
    return buf;
}

/* Check that ds holds exactly want[0..n), in order (and every value of the
 * result is 8-aligned). */
static void assert_recs(flow_dataset_t *ds, const flow_rec_t *want, size_t n, const char *what)
{
    flow_result_t *res = collect(ds);
    size_t got = flow_result_count(res), pos = 0;
    REQUIRE(got == n, "%s: %zu records, want %zu", what, got, n);
    flow_rec_t r;
    for (size_t i = 0; i < n; i++) {
        REQUIRE(flow_result_next(res, &pos, &r) == 1, "%s: record %zu missing", what, i);
        if (!rec_eq(&r, &want[i])) {
            char got_s[200], want_s[200];
            ck_abort_msg("%s: record %zu: got %s, want %s", what, i,
                         rec_str(&r, got_s, sizeof got_s),
                         rec_str(&want[i], want_s, sizeof want_s));
        }
        REQUIRE(r.vlen == 0 || (uintptr_t)r.val % 8 == 0, "%s: value %zu not 8-aligned", what,
                i);
    }
    REQUIRE(flow_result_next(res, &pos, &r) == 0, "%s: records past the count", what);
    flow_result_destroy(&res);
}

/* The values of an unkeyed dataset of int64 (malloc'd; *out_n of them). */
static int64_t *collect_i64(flow_dataset_t *ds, size_t *out_n)
{
    flow_result_t *res = collect(ds);
    size_t n = flow_result_count(res), pos = 0;
    int64_t *v = malloc(sizeof *v * (n ? n : 1));
    flow_rec_t r;
    for (size_t i = 0; i < n; i++) {
        REQUIRE(flow_result_next(res, &pos, &r) == 1, "record %zu missing", i);
        REQUIRE(r.key == NULL && r.vlen == 8, "record %zu: key %p vlen %zu", i, r.key, r.vlen);
        REQUIRE((uintptr_t)r.val % 8 == 0, "record %zu: value not 8-aligned", i);
        v[i] = *(const int64_t *)r.val;
    }
    REQUIRE(flow_result_next(res, &pos, &r) == 0, "records past the count");
    flow_result_destroy(&res);
    *out_n = n;
    return v;
}

static void assert_i64s(flow_dataset_t *ds, const int64_t *want, size_t n, const char *what)
{
    size_t got;
    int64_t *v = collect_i64(ds, &got);
    REQUIRE(got == n, "%s: %zu values, want %zu", what, got, n);
    for (size_t i = 0; i < n; i++)
        REQUIRE(v[i] == want[i], "%s: value %zu is %lld, want %lld", what, i,
                (long long)v[i], (long long)want[i]);
    free(v);
    REQUIRE(count(ds) == n, "%s: count differs from collect", what);
}

/* Where each partition of ds starts, observed with glom: off[p] is the index
 * of partition p's first record, off[npartitions] the total. Also checks that
 * glom has one record per partition. */
static size_t *partition_offsets(flow_dataset_t *ds)
{
    int np = flow_dataset_npartitions(ds);
    flow_dataset_t *g = flow_dataset_glom(ds);
    flow_result_t *res = collect(g);
    REQUIRE(flow_result_count(res) == (size_t)np, "glom: %zu records for %d partitions",
            flow_result_count(res), np);
    size_t *off = calloc((size_t)np + 1, sizeof *off);
    for (int p = 0; p < np; p++) {
        const flow_rec_t *gr = flow_result_get(res, (size_t)p);
        size_t pos = 0, n = 0;
        flow_rec_t r;
        int rc;
        while ((rc = flow_glom_next(gr, &pos, &r)) == 1)
            n++;
        REQUIRE(rc == 0, "glom record %d: %d", p, rc);
        off[p + 1] = off[p] + n;
    }
    flow_result_destroy(&res);
    flow_dataset_destroy(&g);
    return off;
}

/* n random int64 in [0, bound). */
static int64_t *random_i64(uint64_t seed, size_t n, uint64_t bound)
{
    int64_t *v = malloc(sizeof *v * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        v[i] = (int64_t)(test_rand(&seed) % bound);
    return v;
}

/* ---- UDFs (run in executor threads: they report with flow_task_fail) ----------------- */

static int is_aligned(const void *p, size_t n) { return n == 0 || (uintptr_t)p % 8 == 0; }

/* map: v * a[0] + a[1] on native int64 values (wrapping). */
static int map_affine(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                      const flow_buf_t *arg)
{
    if (in->vlen != 8 || arg->len != 16)
        return flow_task_fail(t, 1, "map_affine: vlen %zu, arg %zu", in->vlen, arg->len);
    int64_t *v = flow_task_alloc(t, 8);
    if (!v)
        return flow_task_fail(t, 0, "map_affine: out of memory");
    const char *a = arg->data;
    *v = (int64_t)((uint64_t)flow_i64(in->val) * (uint64_t)flow_i64(a) +
                   (uint64_t)flow_i64(a + 8));
    out->val = v;
    out->vlen = 8;
    return 0;
}

static int64_t ref_affine(int64_t v, int64_t mul, int64_t add)
{
    return (int64_t)((uint64_t)v * (uint64_t)mul + (uint64_t)add);
}

/* The number of copies flat_map_copies makes of v: 0, 1, 2 or many. */
static int copies_of(int64_t v)
{
    int r = (int)(((v % 4) + 4) % 4);
    return r == 3 ? 50 : r;
}

/* flat_map: copies_of(v) records v * 100 + j. */
static int flat_map_copies(flow_task_t *t, const flow_rec_t *in, flow_emit_t *out,
                           const flow_buf_t *arg)
{
    int64_t v = flow_i64(in->val);
    for (int j = 0; j < copies_of(v); j++) {
        int64_t w = v * 100 + j;
        int rc = flow_emit_val(out, &w, 8);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* filter: keep v when v mod a[0] == a[1]. */
static int filter_mod(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg)
{
    const char *a = arg->data;
    int64_t m = flow_i64(a), r = flow_i64(a + 8), v = flow_i64(in->val);
    return ((v % m) + m) % m == r;
}

/* map_partitions: every record keyed by the partition index (native int64),
 * then one record keyed -1 whose value is the number of records read. */
static int tag_partition(flow_task_t *t, flow_iter_t *in, flow_emit_t *out,
                         const flow_buf_t *arg)
{
    int64_t p = flow_task_partition(t), n = 0, trailer = -1;
    flow_rec_t r;
    int rc;
    while ((rc = flow_iter_next(in, &r)) == 1) {
        if ((rc = flow_emit_kv(out, &p, 8, r.val, r.vlen)) < 0)
            return rc;
        n++;
    }
    if (rc < 0)
        return rc;
    return flow_emit_kv(out, &trailer, 8, &n, 8);
}

/* map_values: the string value doubled ("ab" -> "abab"). */
static int double_value(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                        const flow_buf_t *arg)
{
    char *p = flow_task_alloc(t, 2 * in->vlen);
    if (!p)
        return flow_task_fail(t, 0, "double_value: out of memory");
    if (in->vlen) {
        memcpy(p, in->val, in->vlen);
        memcpy(p + in->vlen, in->val, in->vlen);
    }
    out->val = p;
    out->vlen = 2 * in->vlen;
    return 0;
}

/* flat_map_values: each byte of the value as a record of its own. */
static int split_bytes(flow_task_t *t, const flow_rec_t *in, flow_emit_t *out,
                       const flow_buf_t *arg)
{
    for (size_t i = 0; i < in->vlen; i++) {
        int rc = flow_emit_val(out, (const char *)in->val + i, 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* key_by: the first byte of the value (an empty key for an empty value). */
static int key_first_byte(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                          const flow_buf_t *arg)
{
    out->key = in->vlen ? in->val : "";
    out->klen = in->vlen ? 1 : 0;
    return 0;
}

/* key_by that sets no key: out starts as the (unkeyed) input. */
static int key_nothing(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                       const flow_buf_t *arg)
{
    return 0;
}

/* map: the record unchanged. */
static int identity(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                    const flow_buf_t *arg)
{
    return 0;
}

/* map: add the int64 in arg. */
static int add_arg(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out, const flow_buf_t *arg)
{
    int64_t *v = flow_task_alloc(t, 8);
    if (!v)
        return flow_task_fail(t, 0, "add_arg: out of memory");
    *v = flow_i64(in->val) + flow_i64(arg->data);
    out->val = v;
    out->vlen = 8;
    return 0;
}

/* map: the argument's bytes as the value (pointing into arg). */
static int value_from_arg(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                          const flow_buf_t *arg)
{
    out->val = arg->data;
    out->vlen = arg->len;
    return 0;
}

/* map: every byte xor 0x5A, into scratch memory. */
static int xor_bytes(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                     const flow_buf_t *arg)
{
    unsigned char *p = flow_task_alloc(t, in->vlen);
    if (!p)
        return flow_task_fail(t, 0, "xor_bytes: %zu bytes: out of memory", in->vlen);
    const unsigned char *s = in->val;
    for (size_t i = 0; i < in->vlen; i++)
        p[i] = s[i] ^ 0x5A;
    out->val = p;
    return 0;
}

/* map, filter, flat_map: fail unless the record's key and value are
 * 8-aligned; pass the record on. */
static int aligned_map(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                       const flow_buf_t *arg)
{
    if (!is_aligned(in->val, in->vlen) || (in->key && !is_aligned(in->key, in->klen)))
        return flow_task_fail(t, 1, "map: record not 8-aligned (key %p, value %p)", in->key,
                              in->val);
    return 0;
}

static int aligned_filter(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg)
{
    if (!is_aligned(in->val, in->vlen) || (in->key && !is_aligned(in->key, in->klen)))
        return flow_task_fail(t, 1, "filter: record not 8-aligned (key %p, value %p)",
                              in->key, in->val);
    return 1;
}

static int aligned_flat_map(flow_task_t *t, const flow_rec_t *in, flow_emit_t *out,
                            const flow_buf_t *arg)
{
    if (!is_aligned(in->val, in->vlen) || (in->key && !is_aligned(in->key, in->klen)))
        return flow_task_fail(t, 1, "flat_map: record not 8-aligned (key %p, value %p)",
                              in->key, in->val);
    return flow_emit(out, in);
}

/* map: the value without its first byte, so an unaligned pointer. */
static int drop_first_byte(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                           const flow_buf_t *arg)
{
    if (in->vlen) {
        out->val = (const char *)in->val + 1;
        out->vlen = in->vlen - 1;
    }
    return 0;
}

/* ---- Sources ------------------------------------------------------------------------- */

/* Random records: keyed and unkeyed, empty and not, random bytes. */
static flow_rec_t *random_recs(uint64_t seed, size_t n, char **out_bytes)
{
    flow_rec_t *r = malloc(sizeof *r * (n ? n : 1));
    char *bytes = malloc(n * 64 + 1);
    for (size_t i = 0; i < n; i++) {
        char *k = bytes + i * 64, *v = k + 24;
        size_t klen = test_rand(&seed) % 24, vlen = test_rand(&seed) % 40;
        for (size_t j = 0; j < 64; j++)
            k[j] = (char)test_rand(&seed);
        r[i] = test_rand(&seed) % 3 == 0 ? flow_rec(v, vlen) : flow_rec_kv(k, klen, v, vlen);
    }
    *out_bytes = bytes;
    return r;
}

START_TEST(test_parallelize_records_come_back_in_order)
{
    open_master(_i);
    char *bytes;
    size_t n = 2000;
    flow_rec_t *recs = random_recs(11, n, &bytes);
    const int nparts[] = {0, 1, 3, 17};
    for (size_t k = 0; k < sizeof nparts / sizeof *nparts; k++) {
        flow_dataset_t *ds = flow_dataset_parallelize(ctx, recs, n, nparts[k]);
        ck_assert_ptr_nonnull(ds);
        int want = nparts[k] ? nparts[k] : flow_context_parallelism(ctx);
        ck_assert_int_eq(flow_dataset_npartitions(ds), want);
        assert_recs(ds, recs, n, "parallelize");
        ck_assert_uint_eq(count(ds), n);
        size_t *off = partition_offsets(ds);
        ck_assert_uint_eq(off[want], n);
        free(off);
        flow_dataset_destroy(&ds);
    }
    free(recs);
    free(bytes);
}
END_TEST

START_TEST(test_parallelize_typed_values_come_back)
{
    open_master(_i);
    uint64_t seed = 12;
    size_t n = 1000;
    int64_t *iv = random_i64(3, n, UINT64_MAX);
    iv[0] = INT64_MIN;
    iv[1] = INT64_MAX;
    double *dv = malloc(sizeof *dv * n);
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = test_rand(&seed);
        memcpy(&dv[i], &bits, 8); /* Any bit pattern, NaNs included. */
    }
    dv[0] = -0.0;
    dv[1] = INFINITY;
    char **sv = malloc(sizeof *sv * n);
    for (size_t i = 0; i < n; i++) {
        size_t len = test_rand(&seed) % 20;
        sv[i] = malloc(len + 1);
        for (size_t j = 0; j < len; j++)
            sv[i][j] = (char)('a' + test_rand(&seed) % 26);
        sv[i][len] = '\0';
    }

    flow_rec_t *want = malloc(sizeof *want * n);
    flow_dataset_t *ds = flow_dataset_parallelize_i64(ctx, iv, n, 5);
    ck_assert_int_eq(flow_dataset_npartitions(ds), 5);
    assert_i64s(ds, iv, n, "parallelize_i64");
    flow_dataset_destroy(&ds);

    for (size_t i = 0; i < n; i++)
        want[i] = flow_rec(&dv[i], 8);
    ds = flow_dataset_parallelize_f64(ctx, dv, n, 0);
    ck_assert_int_eq(flow_dataset_npartitions(ds), flow_context_parallelism(ctx));
    assert_recs(ds, want, n, "parallelize_f64");
    flow_dataset_destroy(&ds);

    for (size_t i = 0; i < n; i++)
        want[i] = flow_rec_str(sv[i]);
    ds = flow_dataset_parallelize_str(ctx, (const char *const *)sv, n, 7);
    assert_recs(ds, want, n, "parallelize_str");
    flow_dataset_destroy(&ds);

    for (size_t i = 0; i < n; i++)
        free(sv[i]);
    free(sv);
    free(want);
    free(dv);
    free(iv);
}
END_TEST

START_TEST(test_parallelize_more_partitions_than_records)
{
    open_master(_i);
    const int64_t v[3] = {7, 8, 9};
    flow_dataset_t *ds = flow_dataset_parallelize_i64(ctx, v, 3, 10);
    ck_assert_int_eq(flow_dataset_npartitions(ds), 10);
    assert_i64s(ds, v, 3, "3 records in 10 partitions");
    size_t *off = partition_offsets(ds);
    for (int p = 0; p < 10; p++)
        ck_assert_uint_le(off[p + 1] - off[p], 1);
    ck_assert_uint_eq(off[10], 3);
    free(off);
    flow_dataset_destroy(&ds);
}
END_TEST

START_TEST(test_parallelize_empty_input_gives_no_records)
{
    open_master(_i);
    const int nparts[] = {0, 1, 5};
    for (int k = 0; k < 3; k++) {
        flow_dataset_t *a = flow_dataset_parallelize(ctx, NULL, 0, nparts[k]);
        flow_dataset_t *b = flow_dataset_parallelize_i64(ctx, NULL, 0, nparts[k]);
        flow_dataset_t *c = flow_dataset_parallelize_str(ctx, NULL, 0, nparts[k]);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(count(a), 0);
        assert_i64s(b, NULL, 0, "empty parallelize_i64");
        assert_recs(c, NULL, 0, "empty parallelize_str");
        flow_dataset_t *m = flow_dataset_map(b, map_affine, (int64_t[]){2, 1}, 16);
        assert_i64s(m, NULL, 0, "map of empty");
        flow_dataset_destroy(&m);
        flow_dataset_destroy(&a);
        flow_dataset_destroy(&b);
        flow_dataset_destroy(&c);
    }
}
END_TEST

/* The values of range(start, end, step) computed without overflow. */
static size_t ref_range(int64_t start, int64_t end, int64_t step, int64_t *out, size_t cap)
{
    size_t n = 0;
    for (__int128 x = start; step > 0 ? x < end : x > end; x += step) {
        REQUIRE(n < cap, "reference range too long");
        out[n++] = (int64_t)x;
    }
    return n;
}

START_TEST(test_range_matches_a_loop)
{
    open_master(_i);
    const struct {
        int64_t start, end, step;
        int nparts;
    } cases[] = {
        {0, 1000, 1, 0},
        {0, 100, 7, 3},
        {-50, 51, 10, 4},
        {10, -25, -3, 0},
        {100, 0, -1, 7},
        {5, 5, 1, 3},              /* Empty. */
        {5, 0, 1, 2},              /* Empty: end below start with a positive step. */
        {0, 5, -1, 2},             /* Empty: end above start with a negative step. */
        {0, 3, 1, 8},              /* More partitions than values. */
        {INT64_MAX - 3, INT64_MAX, 1, 2},
        {INT64_MIN, INT64_MIN + 10, 3, 3},
        {INT64_MIN, INT64_MAX, INT64_MAX, 2},   /* MIN, -1, MAX - 1. */
        {INT64_MAX, INT64_MIN, INT64_MIN, 2},   /* MAX, -1. */
        {INT64_MIN, INT64_MAX, INT64_MAX / 4 + 1, 5},
        {INT64_MAX, INT64_MIN, -(INT64_MAX / 3), 4},
        {0, 1, INT64_MAX, 1},
        {-1, INT64_MIN, INT64_MIN, 1},          /* Only -1. */
    };
    int64_t want[1100];
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char what[128];
        snprintf(what, sizeof what, "range(%lld, %lld, %lld, %d)", (long long)cases[k].start,
                 (long long)cases[k].end, (long long)cases[k].step, cases[k].nparts);
        size_t n = ref_range(cases[k].start, cases[k].end, cases[k].step, want, 1100);
        flow_dataset_t *ds = flow_dataset_range(ctx, cases[k].start, cases[k].end,
                                                cases[k].step, cases[k].nparts);
        REQUIRE(ds != NULL, "%s: %s", what, flow_last_error(ctx));
        int np = cases[k].nparts ? cases[k].nparts : flow_context_parallelism(ctx);
        REQUIRE(flow_dataset_npartitions(ds) == np, "%s: %d partitions", what,
                flow_dataset_npartitions(ds));
        assert_i64s(ds, want, n, what);
        flow_dataset_destroy(&ds);
    }
}
END_TEST

/* ---- text_file ----------------------------------------------------------------------- */

/* Append the lines of a file's text, as flow.h defines them, to want[*n]. */
static void ref_lines(const char *text, size_t len, flow_rec_t *want, size_t *n)
{
    size_t s = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '\n')
            continue;
        size_t e = (i > s && text[i - 1] == '\r') ? i - 1 : i;
        want[(*n)++] = flow_rec(text + s, e - s);
        s = i + 1;
    }
    if (s < len)
        want[(*n)++] = flow_rec(text + s, len - s);
}

/* Check that ds holds the lines of the given file texts, in that order. */
static void assert_lines(flow_dataset_t *ds, const char *const *texts, int ntexts,
                         const char *what)
{
    size_t cap = 1, n = 0;
    for (int i = 0; i < ntexts; i++)
        cap += strlen(texts[i]) + 1;
    flow_rec_t *want = malloc(sizeof *want * cap);
    for (int i = 0; i < ntexts; i++)
        ref_lines(texts[i], strlen(texts[i]), want, &n);
    assert_recs(ds, want, n, what);
    REQUIRE(count(ds) == n, "%s: count differs from collect", what);
    free(want);
}

/* Random text: lines of 0-60 printable bytes, some ending in CRLF, some with
 * a lone CR inside; the final newline present or not. */
static char *random_text(uint64_t seed, size_t nlines, int final_newline)
{
    size_t cap = nlines * 64 + 2, n = 0;
    char *s = malloc(cap);
    for (size_t i = 0; i < nlines; i++) {
        size_t len = test_rand(&seed) % 61;
        for (size_t j = 0; j < len; j++) {
            uint64_t c = test_rand(&seed) % 100;
            s[n++] = c == 0 ? '\r' : (char)(' ' + c % 95);
        }
        if (test_rand(&seed) % 5 == 0)
            s[n++] = '\r';
        if (i + 1 < nlines || final_newline)
            s[n++] = '\n';
    }
    s[n] = '\0';
    return s;
}

START_TEST(test_text_file_gives_lines_in_order)
{
    open_master(_i);
    char *dir = test_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/in.txt", dir);
    for (int final_nl = 0; final_nl < 2; final_nl++) {
        char *text = random_text(100 + (uint64_t)final_nl, 3000, final_nl);
        test_write_file(path, text, strlen(text));
        flow_dataset_t *ds = flow_dataset_text_file(ctx, path, 0);
        REQUIRE(ds != NULL, "text_file: %s", flow_last_error(ctx));
        assert_lines(ds, (const char *const[]){text}, 1, "random text");
        flow_dataset_destroy(&ds);
        free(text);
    }
    test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_text_file_line_ends)
{
    open_master(_i);
    const struct {
        const char *text;
        const char *lines[6];
        int n;
    } cases[] = {
        {"a\nb", {"a", "b"}, 2},                      /* No final newline. */
        {"a\nb\n", {"a", "b"}, 2},                    /* No empty line after the last \n. */
        {"a\r\nb\r\n", {"a", "b"}, 2},                /* CRLF. */
        {"a\r\r\nb", {"a\r", "b"}, 2},                /* Only the \r before \n goes. */
        {"x\ry\nz\r w\n", {"x\ry", "z\r w"}, 2},      /* A lone \r is data. */
        {"\n", {""}, 1},
        {"\n\n\r\n", {"", "", ""}, 3},
        {"\r\n", {""}, 1},
        {"one", {"one"}, 1},
        {"\nlast", {"", "last"}, 2},
    };
    char *dir = test_tmpdir(), path[512];
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        snprintf(path, sizeof path, "%s/case%zu.txt", dir, k);
        test_write_file(path, cases[k].text, strlen(cases[k].text));
        flow_dataset_t *ds = flow_dataset_text_file(ctx, path, 0);
        REQUIRE(ds != NULL, "text_file: %s", flow_last_error(ctx));
        flow_rec_t want[6];
        for (int i = 0; i < cases[k].n; i++)
            want[i] = flow_rec_str(cases[k].lines[i]);
        char what[64];
        snprintf(what, sizeof what, "line ends case %zu", k);
        assert_recs(ds, want, (size_t)cases[k].n, what);
        flow_dataset_destroy(&ds);
    }
    test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_text_file_empty_file_has_no_records)
{
    open_master(_i);
    char *dir = test_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/empty.txt", dir);
    test_write_file(path, "", 0);
    flow_dataset_t *ds = flow_dataset_text_file(ctx, path, 0);
    REQUIRE(ds != NULL, "text_file: %s", flow_last_error(ctx));
    ck_assert_uint_eq(count(ds), 0);
    assert_recs(ds, NULL, 0, "empty file");
    flow_dataset_t *m = flow_dataset_map(ds, identity, NULL, 0);
    flow_dataset_t *z = flow_dataset_zip_with_index(m);
    flow_dataset_t *g = flow_dataset_glom(ds);
    assert_recs(z, NULL, 0, "zip_with_index of an empty file");
    ck_assert_uint_eq(count(g), (uint64_t)flow_dataset_npartitions(ds));
    flow_dataset_destroy(&g);
    flow_dataset_destroy(&z);
    flow_dataset_destroy(&m);
    flow_dataset_destroy(&ds);
    /* min_partitions cannot make lines out of nothing. */
    ds = flow_dataset_text_file(ctx, path, 4);
    REQUIRE(ds != NULL, "text_file: %s", flow_last_error(ctx));
    ck_assert_uint_eq(count(ds), 0);
    flow_dataset_destroy(&ds);
    test_rmtree(dir);
    free(dir);
}
END_TEST

/* With text.split_size set to every value from 1 to the file's length, each
 * line comes back exactly once, in order. */
START_TEST(test_text_file_every_split_size_gives_each_line_once)
{
    const char *fixed[] = {
        "alpha\n\nbeta\r\ngamma delta epsilon zeta eta theta\n\r\n\n x\ry \r\n"
        "a\nbb\nccc\n\n\nlast line without newline",
        "\r\n\nq\n0123456789012345678901234567890123456789\r\nz\r\r\n\n",
    };
    char *dir = test_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/split.txt", dir);
    for (int f = 0; f < 3; f++) {
        char *gen = f == 2 ? random_text(77, 12, 0) : NULL;
        const char *text = gen ? gen : fixed[f];
        size_t len = strlen(text);
        test_write_file(path, text, len);
        for (size_t split = 1; split <= len; split++) {
            char value[32], what[64];
            snprintf(value, sizeof value, "%zu", split);
            snprintf(what, sizeof what, "file %d, split_size %zu", f, split);
            ctx = context_with(test_masters[_i], "text.split_size", value);
            flow_dataset_t *ds = flow_dataset_text_file(ctx, path, 0);
            REQUIRE(ds != NULL, "%s: %s", what, flow_last_error(ctx));
            REQUIRE((size_t)flow_dataset_npartitions(ds) >= (len + split - 1) / split,
                    "%s: %d partitions", what, flow_dataset_npartitions(ds));
            assert_lines(ds, &text, 1, what);
            flow_dataset_destroy(&ds);
            flow_context_destroy(&ctx);
        }
        free(gen);
    }
    test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_text_file_directory_in_name_order_skipping_hidden)
{
    open_master(_i);
    char *dir = test_tmpdir(), path[512];
    const char *a = "a1\na2", *b = "b1\r\nb2\n", *c = "", *d10 = "ten\n";
    const struct {
        const char *name, *text;
    } files[] = {
        {"b.txt", "b1\r\nb2\n"}, {"a.txt", "a1\na2"}, {"c.txt", ""}, {"10.txt", "ten\n"},
        {"_SUCCESS", "not data\n"}, {".hidden", "not data\n"}, {"_temporary", "x\n"},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        test_write_file(path, files[i].text, strlen(files[i].text));
    }
    snprintf(path, sizeof path, "%s/sub", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/sub/inner.txt", dir);
    test_write_file(path, "inner\n", 6);

    const char *want[] = {d10, a, b, c}; /* "10.txt" < "a.txt" < "b.txt" < "c.txt". */
    flow_dataset_t *ds = flow_dataset_text_file(ctx, dir, 0);
    REQUIRE(ds != NULL, "text_file %s: %s", dir, flow_last_error(ctx));
    assert_lines(ds, want, 4, "directory");
    flow_dataset_destroy(&ds);

    snprintf(path, sizeof path, "%s/", dir);
    ds = flow_dataset_text_file(ctx, path, 0);
    REQUIRE(ds != NULL, "text_file %s: %s", path, flow_last_error(ctx));
    assert_lines(ds, want, 4, "directory with a trailing slash");
    flow_dataset_destroy(&ds);
    test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_text_file_glob_in_path_order)
{
    open_master(_i);
    char *dir = test_tmpdir(), path[512];
    const struct {
        const char *name, *text;
    } files[] = {
        {"d2", NULL},         {"d1", NULL},
        {"d2/part-0", "p20\n"}, {"d1/part-1", "p11\np11b"}, {"d1/part-0", "p10\n"},
        {"d1/other", "no\n"},   {"9.txt", "nine\n"},        {"10.txt", "ten\n"},
        {"x.log", "log\n"},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        if (files[i].text)
            test_write_file(path, files[i].text, strlen(files[i].text));
        else
            ck_assert_int_eq(mkdir(path, 0755), 0);
    }
    char pattern[512];
    snprintf(pattern, sizeof pattern, "%s/d*/part-*", dir);
    flow_dataset_t *ds = flow_dataset_text_file(ctx, pattern, 0);
    REQUIRE(ds != NULL, "text_file %s: %s", pattern, flow_last_error(ctx));
    assert_lines(ds, (const char *const[]){"p10\n", "p11\np11b", "p20\n"}, 3, "glob d*/part-*");
    flow_dataset_destroy(&ds);

    snprintf(pattern, sizeof pattern, "%s/*.txt", dir);
    ds = flow_dataset_text_file(ctx, pattern, 0);
    REQUIRE(ds != NULL, "text_file %s: %s", pattern, flow_last_error(ctx));
    assert_lines(ds, (const char *const[]){"ten\n", "nine\n"}, 2, "glob *.txt");
    flow_dataset_destroy(&ds);

    snprintf(pattern, sizeof pattern, "%s/?.txt", dir);
    ds = flow_dataset_text_file(ctx, pattern, 0);
    REQUIRE(ds != NULL, "text_file %s: %s", pattern, flow_last_error(ctx));
    assert_lines(ds, (const char *const[]){"nine\n"}, 1, "glob ?.txt");
    flow_dataset_destroy(&ds);
    test_rmtree(dir);
    free(dir);
}
END_TEST

/* Relative paths and patterns are read against the working directory. */
START_TEST(test_text_file_relative_path)
{
    open_master(_i);
    char *dir = test_tmpdir(), path[512], cwd[4096];
    snprintf(path, sizeof path, "%s/rel.txt", dir);
    test_write_file(path, "r1\nr2\n", 6);
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    flow_dataset_t *a = flow_dataset_text_file(ctx, "rel.txt", 0);
    flow_dataset_t *b = flow_dataset_text_file(ctx, "./r*.txt", 0);
    ck_assert_int_eq(chdir(cwd), 0);
    REQUIRE(a != NULL && b != NULL, "relative text_file: %s", flow_last_error(ctx));
    assert_lines(a, (const char *const[]){"r1\nr2\n"}, 1, "relative path");
    assert_lines(b, (const char *const[]){"r1\nr2\n"}, 1, "relative pattern");
    flow_dataset_destroy(&a);
    flow_dataset_destroy(&b);
    test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_text_file_missing_path_error_names_it)
{
    open_master(_i);
    char *dir = test_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/no-such-file.txt", dir);
    ck_assert_ptr_null(flow_dataset_text_file(ctx, path, 0));
    REQUIRE(strstr(flow_last_error(ctx), path), "error does not name %s: %s", path,
            flow_last_error(ctx));
    snprintf(path, sizeof path, "%s/no-such-dir/", dir);
    ck_assert_ptr_null(flow_dataset_text_file(ctx, path, 0));
    REQUIRE(strstr(flow_last_error(ctx), path), "error does not name %s: %s", path,
            flow_last_error(ctx));
    snprintf(path, sizeof path, "%s/nothing-*.txt", dir);
    ck_assert_ptr_null(flow_dataset_text_file(ctx, path, 0));
    REQUIRE(strstr(flow_last_error(ctx), path), "error does not name %s: %s", path,
            flow_last_error(ctx));
    test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_text_file_unreadable_error_names_it)
{
    open_master(_i);
    char *dir = test_tmpdir(), path[512];
    /* A FIFO is not a regular file: refused even for root. */
    snprintf(path, sizeof path, "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(path, 0644), 0);
    ck_assert_ptr_null(flow_dataset_text_file(ctx, path, 0));
    REQUIRE(strstr(flow_last_error(ctx), path), "error does not name %s: %s", path,
            flow_last_error(ctx));
    remove(path);
    if (geteuid() != 0) {
        snprintf(path, sizeof path, "%s/secret.txt", dir);
        test_write_file(path, "x\n", 2);
        ck_assert_int_eq(chmod(path, 0), 0);
        ck_assert_ptr_null(flow_dataset_text_file(ctx, path, 0));
        REQUIRE(strstr(flow_last_error(ctx), path), "error does not name %s: %s", path,
                flow_last_error(ctx));
        /* Found through a directory listing, too. */
        ck_assert_ptr_null(flow_dataset_text_file(ctx, dir, 0));
        REQUIRE(strstr(flow_last_error(ctx), path), "error does not name %s: %s", path,
                flow_last_error(ctx));
    }
    test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_text_file_min_partitions_is_a_lower_bound)
{
    open_master(_i);
    char *dir = test_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/big.txt", dir);
    char *text = random_text(5, 4000, 1); /* About 120 KiB. */
    test_write_file(path, text, strlen(text));
    const int mins[] = {1, 2, 3, 7, 16, 50};
    for (size_t k = 0; k < sizeof mins / sizeof *mins; k++) {
        char what[64];
        snprintf(what, sizeof what, "min_partitions %d", mins[k]);
        flow_dataset_t *ds = flow_dataset_text_file(ctx, path, mins[k]);
        REQUIRE(ds != NULL, "%s: %s", what, flow_last_error(ctx));
        REQUIRE(flow_dataset_npartitions(ds) >= mins[k], "%s: %d partitions", what,
                flow_dataset_npartitions(ds));
        assert_lines(ds, (const char *const[]){text}, 1, what);
        flow_dataset_destroy(&ds);
    }
    free(text);
    test_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- Narrow transformations ---------------------------------------------------------- */

START_TEST(test_map_applies_the_function_with_its_argument)
{
    open_master(_i);
    size_t n = 10000;
    int64_t *v = random_i64(21, n, UINT64_MAX), *want = malloc(sizeof *want * n);
    const int64_t args[][2] = {{3, 1}, {-7, INT64_MAX}, {0, 42}};
    flow_dataset_t *src = flow_dataset_parallelize_i64(ctx, v, n, 6);
    for (int a = 0; a < 3; a++) {
        for (size_t i = 0; i < n; i++)
            want[i] = ref_affine(v[i], args[a][0], args[a][1]);
        flow_dataset_t *m = flow_dataset_map(src, map_affine, args[a], sizeof args[a]);
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(flow_dataset_npartitions(m), 6);
        assert_i64s(m, want, n, "map");
        flow_dataset_destroy(&m);
    }
    /* On range, whose values live in the reader rather than in a block. */
    flow_dataset_t *r = flow_dataset_range(ctx, -500, 500, 3, 0);
    flow_dataset_t *m = flow_dataset_map(r, map_affine, args[0], sizeof args[0]);
    size_t k = 0;
    for (int64_t x = -500; x < 500; x += 3)
        want[k++] = ref_affine(x, args[0][0], args[0][1]);
    assert_i64s(m, want, k, "map over range");
    flow_dataset_destroy(&m);
    /* The output may point into the argument. */
    const char word[] = "argument bytes";
    flow_rec_t *wrec = malloc(sizeof *wrec * k);
    for (size_t i = 0; i < k; i++)
        wrec[i] = flow_rec(word, sizeof word);
    m = flow_dataset_map(r, value_from_arg, word, sizeof word);
    assert_recs(m, wrec, k, "map into its argument");
    flow_dataset_destroy(&m);
    free(wrec);
    flow_dataset_destroy(&r);
    flow_dataset_destroy(&src);
    free(want);
    free(v);
}
END_TEST

START_TEST(test_flat_map_emits_zero_one_or_many)
{
    open_master(_i);
    size_t n = 3000, k = 0;
    int64_t *v = random_i64(22, n, 1000000);
    int64_t *want = malloc(sizeof *want * n * 50);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < copies_of(v[i]); j++)
            want[k++] = v[i] * 100 + j;
    flow_dataset_t *src = flow_dataset_parallelize_i64(ctx, v, n, 5);
    flow_dataset_t *fm = flow_dataset_flat_map(src, flat_map_copies, NULL, 0);
    assert_i64s(fm, want, k, "flat_map");
    /* Only zero outputs: an empty dataset. */
    int64_t fours[4] = {0, 4, 8, 12};
    flow_dataset_t *z = flow_dataset_parallelize_i64(ctx, fours, 4, 2);
    flow_dataset_t *none = flow_dataset_flat_map(z, flat_map_copies, NULL, 0);
    assert_i64s(none, NULL, 0, "flat_map emitting nothing");
    flow_dataset_destroy(&none);
    flow_dataset_destroy(&z);
    flow_dataset_destroy(&fm);
    flow_dataset_destroy(&src);
    free(want);
    free(v);
}
END_TEST

START_TEST(test_filter_keeps_matching_records)
{
    open_master(_i);
    size_t n = 10000;
    int64_t *v = random_i64(23, n, 1000000), *want = malloc(sizeof *want * n);
    flow_dataset_t *src = flow_dataset_parallelize_i64(ctx, v, n, 0);
    const int64_t args[][2] = {{2, 0}, {7, 3}, {1, 0}, {5, 7}}; /* The last keeps none. */
    for (int a = 0; a < 4; a++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (v[i] % args[a][0] == args[a][1])
                want[k++] = v[i];
        flow_dataset_t *f = flow_dataset_filter(src, filter_mod, args[a], sizeof args[a]);
        assert_i64s(f, want, k, "filter");
        flow_dataset_destroy(&f);
    }
    flow_dataset_destroy(&src);
    free(want);
    free(v);
}
END_TEST

/* What tag_partition gives over a dataset of int64 v laid out as off[]
 * (np partitions), with partition indices starting at first_index. */
static size_t ref_tags(const int64_t *v, const size_t *off, int np, int64_t first_index,
                       int64_t *keys, int64_t *vals)
{
    size_t k = 0;
    for (int p = 0; p < np; p++) {
        for (size_t i = off[p]; i < off[p + 1]; i++) {
            keys[k] = first_index + p;
            vals[k++] = v[i];
        }
        keys[k] = -1;
        vals[k++] = (int64_t)(off[p + 1] - off[p]);
    }
    return k;
}

static void assert_tags(flow_dataset_t *ds, const int64_t *keys, const int64_t *vals,
                        size_t n, const char *what)
{
    flow_rec_t *want = malloc(sizeof *want * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        want[i] = flow_rec_kv(&keys[i], 8, &vals[i], 8);
    assert_recs(ds, want, n, what);
    free(want);
}

START_TEST(test_map_partitions_sees_its_partition)
{
    open_master(_i);
    size_t na = 1000, nb = 333;
    int64_t *a = random_i64(31, na, 1000), *b = random_i64(32, nb, 1000);
    int64_t *ab = malloc(sizeof *ab * (na + nb));
    memcpy(ab, a, na * sizeof *a);
    memcpy(ab + na, b, nb * sizeof *b);
    int64_t *keys = malloc(sizeof *keys * (na + nb + 16));
    int64_t *vals = malloc(sizeof *vals * (na + nb + 16));
    flow_dataset_t *da = flow_dataset_parallelize_i64(ctx, a, na, 3);
    flow_dataset_t *db = flow_dataset_parallelize_i64(ctx, b, nb, 2);
    size_t *offa = partition_offsets(da), *offb = partition_offsets(db);

    flow_dataset_t *ta = flow_dataset_map_partitions(da, tag_partition, NULL, 0);
    ck_assert_int_eq(flow_dataset_npartitions(ta), 3);
    size_t n = ref_tags(a, offa, 3, 0, keys, vals);
    assert_tags(ta, keys, vals, n, "map_partitions");

    /* Above a union: the union's partition indices 0..4. */
    flow_dataset_t *u = flow_dataset_union(da, db);
    flow_dataset_t *tu = flow_dataset_map_partitions(u, tag_partition, NULL, 0);
    size_t *offu = malloc(sizeof *offu * 6);
    for (int p = 0; p <= 3; p++)
        offu[p] = offa[p];
    for (int p = 1; p <= 2; p++)
        offu[3 + p] = na + offb[p];
    n = ref_tags(ab, offu, 5, 0, keys, vals);
    assert_tags(tu, keys, vals, n, "map_partitions over a union");

    /* Below a union: each input's own indices (0..2, then 0..1). */
    flow_dataset_t *tb = flow_dataset_map_partitions(db, tag_partition, NULL, 0);
    flow_dataset_t *ut = flow_dataset_union(ta, tb);
    n = ref_tags(a, offa, 3, 0, keys, vals);
    n += ref_tags(b, offb, 2, 0, keys + n, vals + n);
    assert_tags(ut, keys, vals, n, "union of map_partitions");

    flow_dataset_t *ds[] = {ut, tu, ta, tb, u, db, da};
    for (int i = 0; i < 7; i++)
        flow_dataset_destroy(&ds[i]);
    free(offu);
    free(offa);
    free(offb);
    free(keys);
    free(vals);
    free(ab);
    free(a);
    free(b);
}
END_TEST

/* Random keyed string records "k<i % 50>" -> random lowercase string. */
static flow_rec_t *keyed_strings(uint64_t seed, size_t n, char **out_bytes)
{
    char *bytes = malloc(n * 48);
    flow_rec_t *r = malloc(sizeof *r * n);
    for (size_t i = 0; i < n; i++) {
        char *k = bytes + i * 48, *v = k + 16;
        int klen = snprintf(k, 16, "k%zu", i % 50);
        size_t vlen = test_rand(&seed) % 20;
        for (size_t j = 0; j < vlen; j++)
            v[j] = (char)('a' + test_rand(&seed) % 26);
        r[i] = flow_rec_kv(k, (size_t)klen, v, vlen);
    }
    *out_bytes = bytes;
    return r;
}

START_TEST(test_map_values_and_flat_map_values_keep_keys)
{
    open_master(_i);
    size_t n = 2000, k = 0;
    char *bytes, *doubled = malloc(n * 40);
    flow_rec_t *in = keyed_strings(41, n, &bytes);
    flow_rec_t *want = malloc(sizeof *want * n * 20);
    flow_dataset_t *src = flow_dataset_parallelize(ctx, in, n, 4);

    for (size_t i = 0; i < n; i++) {
        memcpy(doubled + i * 40, in[i].val, in[i].vlen);
        memcpy(doubled + i * 40 + in[i].vlen, in[i].val, in[i].vlen);
        want[i] = flow_rec_kv(in[i].key, in[i].klen, doubled + i * 40, 2 * in[i].vlen);
    }
    flow_dataset_t *mv = flow_dataset_map_values(src, double_value, NULL, 0);
    assert_recs(mv, want, n, "map_values");

    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < in[i].vlen; j++)
            want[k++] = flow_rec_kv(in[i].key, in[i].klen, (const char *)in[i].val + j, 1);
    flow_dataset_t *fv = flow_dataset_flat_map_values(src, split_bytes, NULL, 0);
    assert_recs(fv, want, k, "flat_map_values");

    /* On unkeyed records map_values leaves them unkeyed. */
    for (size_t i = 0; i < n; i++)
        want[i] = flow_rec(doubled + i * 40, 2 * in[i].vlen);
    flow_dataset_t *vals = flow_dataset_values(src);
    flow_dataset_t *mv2 = flow_dataset_map_values(vals, double_value, NULL, 0);
    assert_recs(mv2, want, n, "map_values of unkeyed records");

    flow_dataset_destroy(&mv2);
    flow_dataset_destroy(&vals);
    flow_dataset_destroy(&fv);
    flow_dataset_destroy(&mv);
    flow_dataset_destroy(&src);
    free(want);
    free(doubled);
    free(in);
    free(bytes);
}
END_TEST

START_TEST(test_keys_values_and_key_by)
{
    open_master(_i);
    size_t n = 2000;
    char *bytes;
    flow_rec_t *in = keyed_strings(42, n, &bytes);
    in[5] = flow_rec_kv("", 0, "", 0); /* An empty key and an empty value. */
    flow_rec_t *want = malloc(sizeof *want * n);
    flow_dataset_t *src = flow_dataset_parallelize(ctx, in, n, 3);

    for (size_t i = 0; i < n; i++)
        want[i] = flow_rec(in[i].key, in[i].klen);
    flow_dataset_t *keys = flow_dataset_keys(src);
    assert_recs(keys, want, n, "keys");

    for (size_t i = 0; i < n; i++)
        want[i] = flow_rec(in[i].val, in[i].vlen);
    flow_dataset_t *vals = flow_dataset_values(src);
    assert_recs(vals, want, n, "values");
    /* values of unkeyed records: the same records. */
    flow_dataset_t *vv = flow_dataset_values(vals);
    assert_recs(vv, want, n, "values of unkeyed records");

    /* key_by replaces the key of keyed records and keys unkeyed ones. */
    for (size_t i = 0; i < n; i++)
        want[i] = flow_rec_kv(in[i].vlen ? in[i].val : "", in[i].vlen ? 1 : 0, in[i].val,
                              in[i].vlen);
    flow_dataset_t *kb = flow_dataset_key_by(src, key_first_byte, NULL, 0);
    assert_recs(kb, want, n, "key_by of keyed records");
    flow_dataset_t *kb2 = flow_dataset_key_by(vals, key_first_byte, NULL, 0);
    assert_recs(kb2, want, n, "key_by of unkeyed records");

    flow_dataset_t *ds[] = {kb2, kb, vv, vals, keys, src};
    for (int i = 0; i < 6; i++)
        flow_dataset_destroy(&ds[i]);
    free(want);
    free(in);
    free(bytes);
}
END_TEST

START_TEST(test_keys_of_unkeyed_records_fails_the_job)
{
    open_master(_i);
    const char *s[] = {"a", "b", "c"};
    uint64_t n;
    flow_dataset_t *src = flow_dataset_parallelize_str(ctx, s, 3, 2);
    flow_dataset_t *keys = flow_dataset_keys(src);
    ck_assert_int_eq(flow_dataset_count(keys, &n), FLOW_EINVAL);
    REQUIRE(strstr(flow_last_error(ctx), "keys"), "error: %s", flow_last_error(ctx));
    flow_dataset_t *kb = flow_dataset_key_by(src, key_nothing, NULL, 0);
    ck_assert_int_eq(flow_dataset_count(kb, &n), FLOW_EINVAL);
    REQUIRE(strstr(flow_last_error(ctx), "key_by"), "error: %s", flow_last_error(ctx));
    /* The context still works after a failed job. */
    ck_assert_uint_eq(count(src), 3);
    flow_dataset_destroy(&kb);
    flow_dataset_destroy(&keys);
    flow_dataset_destroy(&src);
}
END_TEST

START_TEST(test_union_gives_partitions_in_order)
{
    open_master(_i);
    size_t na = 500, nb = 70;
    int64_t *a = random_i64(51, na, UINT64_MAX), *b = random_i64(52, nb, UINT64_MAX);
    int64_t *want = malloc(sizeof *want * (2 * na + nb + 200));
    flow_dataset_t *da = flow_dataset_parallelize_i64(ctx, a, na, 3);
    flow_dataset_t *db = flow_dataset_parallelize_i64(ctx, b, nb, 0);
    flow_dataset_t *dr = flow_dataset_range(ctx, 0, 200, 1, 2);
    int npb = flow_dataset_npartitions(db);

    flow_dataset_t *u = flow_dataset_union(da, db);
    ck_assert_int_eq(flow_dataset_npartitions(u), 3 + npb);
    memcpy(want, a, na * sizeof *a);
    memcpy(want + na, b, nb * sizeof *b);
    assert_i64s(u, want, na + nb, "union(a, b)");
    /* Partition by partition: glom of the union is a's glom then b's. */
    size_t *offu = partition_offsets(u), *offa = partition_offsets(da);
    for (int p = 0; p <= 3; p++)
        ck_assert_uint_eq(offu[p], offa[p]);
    ck_assert_uint_eq(offu[3 + npb], na + nb);

    flow_dataset_t *three[] = {db, dr, da};
    flow_dataset_t *u3 = flow_dataset_union_all(three, 3);
    ck_assert_int_eq(flow_dataset_npartitions(u3), npb + 2 + 3);
    memcpy(want, b, nb * sizeof *b);
    for (int i = 0; i < 200; i++)
        want[nb + (size_t)i] = i;
    memcpy(want + nb + 200, a, na * sizeof *a);
    assert_i64s(u3, want, nb + 200 + na, "union_all(b, range, a)");

    flow_dataset_t *self = flow_dataset_union(da, da);
    memcpy(want, a, na * sizeof *a);
    memcpy(want + na, a, na * sizeof *a);
    assert_i64s(self, want, 2 * na, "union(a, a)");

    flow_dataset_t *ds[] = {self, u3, u, dr, db, da};
    for (int i = 0; i < 6; i++)
        flow_dataset_destroy(&ds[i]);
    free(offu);
    free(offa);
    free(want);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_coalesce_reads_contiguous_runs)
{
    open_master(_i);
    size_t n = 1000;
    int64_t *v = random_i64(61, n, 1000000);
    int64_t *keys = malloc(sizeof *keys * (n + 16)), *vals = malloc(sizeof *vals * (n + 16));
    flow_dataset_t *src = flow_dataset_parallelize_i64(ctx, v, n, 10);
    size_t *off = partition_offsets(src);
    const int targets[] = {1, 3, 4, 9, 10};
    for (size_t t = 0; t < sizeof targets / sizeof *targets; t++) {
        int c = targets[t];
        char what[64];
        snprintf(what, sizeof what, "coalesce(10 -> %d)", c);
        flow_dataset_t *co = flow_dataset_coalesce(src, c);
        REQUIRE(co != NULL, "%s: %s", what, flow_last_error(ctx));
        ck_assert_int_eq(flow_dataset_npartitions(co), c);
        assert_i64s(co, v, n, what);
        /* Partition i reads parent partitions [i*10/c, (i+1)*10/c). */
        size_t coff[11];
        for (int i = 0; i <= c; i++)
            coff[i] = off[i * 10 / c];
        flow_dataset_t *tag = flow_dataset_map_partitions(co, tag_partition, NULL, 0);
        size_t k = ref_tags(v, coff, c, 0, keys, vals);
        assert_tags(tag, keys, vals, k, what);
        flow_dataset_destroy(&tag);
        flow_dataset_destroy(&co);
    }
    /* Below a coalesce, map_partitions sees the parent's partition indices. */
    flow_dataset_t *tag = flow_dataset_map_partitions(src, tag_partition, NULL, 0);
    flow_dataset_t *cot = flow_dataset_coalesce(tag, 3);
    size_t k = ref_tags(v, off, 10, 0, keys, vals);
    assert_tags(cot, keys, vals, k, "coalesce of map_partitions");
    flow_dataset_destroy(&cot);
    flow_dataset_destroy(&tag);
    /* More partitions than the parent has: the parent's. */
    flow_dataset_t *co = flow_dataset_coalesce(src, 25);
    ck_assert_int_eq(flow_dataset_npartitions(co), 10);
    assert_i64s(co, v, n, "coalesce(10 -> 25)");
    flow_dataset_destroy(&co);
    flow_dataset_destroy(&src);
    free(off);
    free(keys);
    free(vals);
    free(v);
}
END_TEST

START_TEST(test_zip_with_index_numbers_records_in_order)
{
    open_master(_i);
    uint64_t seed = 71;
    size_t n = 1500;
    char *bytes = malloc(n * 16);
    flow_rec_t *in = malloc(sizeof *in * n), *want = malloc(sizeof *want * n);
    int64_t *idx = malloc(sizeof *idx * n);
    for (size_t i = 0; i < n; i++) {
        size_t len = test_rand(&seed) % 16;
        for (size_t j = 0; j < len; j++)
            bytes[i * 16 + j] = (char)test_rand(&seed);
        /* Input keys are dropped: key half of the records. */
        in[i] = i % 2 ? flow_rec(bytes + i * 16, len)
                      : flow_rec_kv("key", 3, bytes + i * 16, len);
        idx[i] = (int64_t)i;
        want[i] = flow_rec_kv(in[i].val, in[i].vlen, &idx[i], 8);
    }
    const int nparts[] = {1, 7, 2000}; /* 2000: many partitions are empty. */
    for (int k = 0; k < 3; k++) {
        char what[64];
        snprintf(what, sizeof what, "zip_with_index over %d partitions", nparts[k]);
        flow_dataset_t *src = flow_dataset_parallelize(ctx, in, n, nparts[k]);
        flow_dataset_t *z = flow_dataset_zip_with_index(src);
        ck_assert_int_eq(flow_dataset_npartitions(z), nparts[k]);
        flow_stats_t s0, s1;
        flow_context_stats(ctx, &s0);
        assert_recs(z, want, n, what);
        flow_context_stats(ctx, &s1);
        REQUIRE(s1.jobs - s0.jobs == (nparts[k] > 1 ? 2u : 1u), "%s: %llu jobs", what,
                (unsigned long long)(s1.jobs - s0.jobs));
        assert_recs(z, want, n, what); /* Again, with the indices known. */
        flow_dataset_destroy(&z);
        flow_dataset_destroy(&src);
    }
    /* Over a filter: the counting job counts what the filter keeps. */
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 3000, 1, 5);
    flow_dataset_t *f = flow_dataset_filter(r, filter_mod, (int64_t[]){3, 1}, 16);
    flow_dataset_t *z = flow_dataset_zip_with_index(f);
    flow_rec_t *want2 = malloc(sizeof *want2 * 1000);
    int64_t *vals = malloc(sizeof *vals * 1000);
    for (int64_t i = 0; i < 1000; i++) {
        vals[i] = 3 * i + 1;
        want2[i] = flow_rec_kv(&vals[i], 8, &idx[i], 8);
    }
    assert_recs(z, want2, 1000, "zip_with_index over a filter");
    /* zip of zip: the inner index becomes the key. */
    flow_dataset_t *zz = flow_dataset_zip_with_index(z);
    for (int64_t i = 0; i < 1000; i++)
        want2[i] = flow_rec_kv(&idx[i], 8, &idx[i], 8);
    assert_recs(zz, want2, 1000, "zip_with_index of zip_with_index");
    flow_dataset_destroy(&zz);
    flow_dataset_destroy(&z);
    flow_dataset_destroy(&f);
    flow_dataset_destroy(&r);
    free(vals);
    free(want2);
    free(idx);
    free(want);
    free(in);
    free(bytes);
}
END_TEST

START_TEST(test_glom_gives_one_block_per_partition)
{
    open_master(_i);
    size_t n = 1000;
    int64_t *v = random_i64(81, n, UINT64_MAX);
    flow_dataset_t *src = flow_dataset_parallelize_i64(ctx, v, n, 7);
    flow_dataset_t *g = flow_dataset_glom(src);
    ck_assert_int_eq(flow_dataset_npartitions(g), 7);
    flow_result_t *res = collect(g);
    ck_assert_uint_eq(flow_result_count(res), 7);
    /* Cross-check with map_partitions: partition p holds what it tags p. */
    flow_dataset_t *tag = flow_dataset_map_partitions(src, tag_partition, NULL, 0);
    flow_result_t *tags = collect(tag);
    size_t next = 0, tpos = 0;
    flow_rec_t r, t;
    for (int p = 0; p < 7; p++) {
        const flow_rec_t *gr = flow_result_get(res, (size_t)p);
        ck_assert_ptr_null(gr->key);
        size_t pos = 0;
        int rc;
        while ((rc = flow_glom_next(gr, &pos, &r)) == 1) {
            REQUIRE(next < n, "glom: more records than the input");
            REQUIRE(r.key == NULL && r.vlen == 8 && (uintptr_t)r.val % 8 == 0,
                    "glom record %zu: vlen %zu at %p", next, r.vlen, r.val);
            REQUIRE(*(const int64_t *)r.val == v[next], "glom record %zu differs", next);
            REQUIRE(flow_result_next(tags, &tpos, &t) == 1 && flow_i64(t.key) == p,
                    "record %zu: glom says partition %d, map_partitions does not", next, p);
            next++;
        }
        ck_assert_int_eq(rc, 0);
        REQUIRE(flow_result_next(tags, &tpos, &t) == 1 && flow_i64(t.key) == -1,
                "partition %d: no trailer", p);
    }
    ck_assert_uint_eq(next, n);
    flow_result_destroy(&tags);
    flow_result_destroy(&res);

    /* Bytes that are not a block. */
    uint64_t junk[2] = {0xFFFFFFFFFFFFFFFFull, 3};
    flow_rec_t bad = flow_rec(junk, 5), out;
    size_t pos = 0;
    ck_assert_int_eq(flow_glom_next(&bad, &pos, &out), FLOW_EPROTO);
    flow_dataset_destroy(&tag);
    flow_dataset_destroy(&g);
    flow_dataset_destroy(&src);
    free(v);
}
END_TEST

START_TEST(test_chain_of_transformations_pipelines)
{
    open_master(_i);
    size_t n = 5000, k = 0;
    int64_t *v = random_i64(91, n, 100000);
    int64_t *want = malloc(sizeof *want * n * 50);
    /* map(3x+1) -> filter(even) -> flat_map(copies) -> map(x-1). */
    for (size_t i = 0; i < n; i++) {
        int64_t x = 3 * v[i] + 1;
        if (x % 2 != 0)
            continue;
        for (int j = 0; j < copies_of(x); j++)
            want[k++] = x * 100 + j - 1;
    }
    flow_dataset_t *src = flow_dataset_parallelize_i64(ctx, v, n, 6);
    flow_dataset_t *m1 = flow_dataset_map(src, map_affine, (int64_t[]){3, 1}, 16);
    flow_dataset_t *f = flow_dataset_filter(m1, filter_mod, (int64_t[]){2, 0}, 16);
    flow_dataset_t *fm = flow_dataset_flat_map(f, flat_map_copies, NULL, 0);
    flow_dataset_t *m2 = flow_dataset_map(fm, map_affine, (int64_t[]){1, -1}, 16);
    flow_stats_t s0, s1;
    flow_context_stats(ctx, &s0);
    assert_i64s(m2, want, k, "chain");
    flow_context_stats(ctx, &s1);
    /* Narrow operators run in one stage: collect and count, one each. */
    ck_assert_uint_eq(s1.stages - s0.stages, 2);
    ck_assert_uint_eq(s1.tasks - s0.tasks, 12);
    flow_dataset_t *ds[] = {m2, fm, f, m1, src};
    for (int i = 0; i < 5; i++)
        flow_dataset_destroy(&ds[i]);
    free(want);
    free(v);
}
END_TEST

START_TEST(test_long_chain_of_maps)
{
    open_master(_i);
    const int64_t one = 1;
    flow_dataset_t *ds = flow_dataset_range(ctx, 0, 1000, 1, 4);
    for (int i = 0; i < 200; i++) {
        flow_dataset_t *next = flow_dataset_map(ds, add_arg, &one, sizeof one);
        ck_assert_ptr_nonnull(next);
        flow_dataset_destroy(&ds); /* The child keeps it alive. */
        ds = next;
    }
    int64_t want[1000];
    for (int i = 0; i < 1000; i++)
        want[i] = i + 200;
    assert_i64s(ds, want, 1000, "200 maps");
    flow_dataset_destroy(&ds);
}
END_TEST

START_TEST(test_lineage_too_deep_is_refused)
{
    open_master(_i);
    const int64_t one = 1;
    flow_dataset_t *ds = flow_dataset_range(ctx, 0, 10, 1, 1), *next = ds;
    int made = 0;
    while ((next = flow_dataset_map(ds, add_arg, &one, sizeof one)) != NULL) {
        flow_dataset_destroy(&ds);
        ds = next;
        made++;
    }
    /* The range is depth 1; 9999 maps fit and the next is refused. */
    ck_assert_int_eq(made, 9999);
    ck_assert_ptr_nonnull(strstr(flow_last_error(ctx), "lineage deeper than"));
    uint64_t n = 0;
    ck_assert_int_eq(flow_dataset_count(ds, &n), FLOW_OK);
    ck_assert_uint_eq(n, 10);
    flow_dataset_destroy(&ds);
}
END_TEST

/* ---- sample -------------------------------------------------------------------------- */

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** (Blackman and Vigna's reference algorithm). */
static uint64_t xoshiro256ss(uint64_t s[4])
{
    const uint64_t result = rotl64(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Sampling without replacement as flow.h documents it, over int64 values
 * laid out in np partitions at off[]. */
static size_t ref_sample(const int64_t *v, const size_t *off, int np, double fraction,
                         uint64_t seed, int64_t *out)
{
    size_t k = 0;
    for (int p = 0; p < np; p++) {
        uint64_t x = seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(p + 1)), s[4];
        for (int i = 0; i < 4; i++)
            s[i] = test_rand(&x); /* test_rand is splitmix64. */
        for (size_t i = off[p]; i < off[p + 1]; i++)
            if ((double)(xoshiro256ss(s) >> 11) * 0x1.0p-53 < fraction)
                out[k++] = v[i];
    }
    return k;
}

START_TEST(test_sample_matches_the_documented_generator)
{
    open_master(_i);
    size_t n = 20000;
    int64_t *v = random_i64(101, n, UINT64_MAX), *want = malloc(sizeof *want * n);
    const double fractions[] = {0.0, 0.001, 0.25, 0.5, 0.999, 1.0};
    const uint64_t seeds[] = {0, 42, 0xDEADBEEFCAFEF00Dull};
    const int nparts[] = {1, 5};
    for (int k = 0; k < 2; k++) {
        flow_dataset_t *src = flow_dataset_parallelize_i64(ctx, v, n, nparts[k]);
        size_t *off = partition_offsets(src);
        for (int f = 0; f < 6; f++) {
            for (int s = 0; s < 3; s++) {
                char what[96];
                snprintf(what, sizeof what, "sample(%g, seed %llx) of %d partitions",
                         fractions[f], (unsigned long long)seeds[s], nparts[k]);
                size_t m = ref_sample(v, off, nparts[k], fractions[f], seeds[s], want);
                flow_dataset_t *smp = flow_dataset_sample(src, 0, fractions[f], seeds[s]);
                REQUIRE(smp != NULL, "%s: %s", what, flow_last_error(ctx));
                ck_assert_int_eq(flow_dataset_npartitions(smp), nparts[k]);
                assert_i64s(smp, want, m, what);
                flow_dataset_destroy(&smp);
            }
        }
        free(off);
        flow_dataset_destroy(&src);
    }
    free(want);
    free(v);
}
END_TEST

START_TEST(test_sample_edge_fractions)
{
    open_master(_i);
    size_t n = 5000;
    int64_t *v = random_i64(102, n, UINT64_MAX);
    flow_dataset_t *src = flow_dataset_parallelize_i64(ctx, v, n, 3);
    flow_dataset_t *none = flow_dataset_sample(src, 0, 0.0, 7);
    flow_dataset_t *all = flow_dataset_sample(src, 0, 1.0, 7);
    flow_dataset_t *none_r = flow_dataset_sample(src, 1, 0.0, 7);
    assert_i64s(none, NULL, 0, "fraction 0");
    assert_i64s(all, v, n, "fraction 1 without replacement");
    assert_i64s(none_r, NULL, 0, "fraction 0 with replacement");
    flow_dataset_destroy(&none_r);
    flow_dataset_destroy(&all);
    flow_dataset_destroy(&none);
    flow_dataset_destroy(&src);
    free(v);
}
END_TEST

/* The same seed gives the same sample on local and local[4]. */
START_TEST(test_sample_same_seed_same_result_on_every_master)
{
    size_t n = 30000, got[2][2];
    int64_t *res[2][2];
    for (int m = 0; m < TEST_NMASTERS; m++) {
        open_master(m);
        flow_dataset_t *src = flow_dataset_range(ctx, 0, (int64_t)n, 1, 6);
        for (int wr = 0; wr < 2; wr++) {
            flow_dataset_t *smp = flow_dataset_sample(src, wr, wr ? 1.7 : 0.4, 1234);
            res[m][wr] = collect_i64(smp, &got[m][wr]);
            flow_dataset_destroy(&smp);
        }
        flow_dataset_destroy(&src);
        flow_context_destroy(&ctx);
    }
    for (int wr = 0; wr < 2; wr++) {
        ck_assert_uint_eq(got[0][wr], got[1][wr]);
        ck_assert_int_eq(memcmp(res[0][wr], res[1][wr], got[0][wr] * 8), 0);
        free(res[0][wr]);
        free(res[1][wr]);
    }
}
END_TEST

START_TEST(test_sample_fraction_is_roughly_right)
{
    open_master(_i);
    const int64_t n = 100000;
    flow_dataset_t *src = flow_dataset_range(ctx, 0, n, 1, 8);
    /* Without replacement: Binomial(n, 0.3), sd 145. */
    flow_dataset_t *smp = flow_dataset_sample(src, 0, 0.3, 99);
    uint64_t c = count(smp);
    REQUIRE(c > 29000 && c < 31000, "sample(0.3) kept %llu of %lld", (unsigned long long)c,
            (long long)n);
    flow_dataset_destroy(&smp);
    /* With replacement: each record k times, k ~ Poisson(f): the total has
     * mean n f, and a share e^-f of the records is left out. Copies of a
     * record come one after another, in input order. */
    const double fs[] = {0.5, 2.0};
    for (int i = 0; i < 2; i++) {
        smp = flow_dataset_sample(src, 1, fs[i], 100 + (uint64_t)i);
        size_t m;
        int64_t *v = collect_i64(smp, &m);
        double mean = (double)n * fs[i], sd = sqrt(mean);
        REQUIRE(fabs((double)m - mean) < 6 * sd, "sample(with, %g): %zu records, want ~%g",
                fs[i], m, mean);
        size_t distinct = 0;
        for (size_t j = 0; j < m; j++) {
            REQUIRE(j == 0 || v[j] >= v[j - 1], "sample(with, %g): out of order at %zu", fs[i],
                    j);
            REQUIRE(v[j] >= 0 && v[j] < n, "sample(with, %g): value %lld", fs[i],
                    (long long)v[j]);
            distinct += j == 0 || v[j] != v[j - 1];
        }
        double p0 = exp(-fs[i]), left_out = (double)(n - (int64_t)distinct);
        double sd0 = sqrt((double)n * p0 * (1 - p0));
        REQUIRE(fabs(left_out - (double)n * p0) < 6 * sd0,
                "sample(with, %g): %g records left out, want ~%g", fs[i], left_out,
                (double)n * p0);
        free(v);
        flow_dataset_destroy(&smp);
    }
    flow_dataset_destroy(&src);
    /* Means past 745, where exp(-mean) underflows to 0. */
    src = flow_dataset_range(ctx, 0, 200, 1, 2);
    const double big[] = {800, 5000};
    for (int i = 0; i < 2; i++) {
        smp = flow_dataset_sample(src, 1, big[i], 7);
        double got = (double)count(smp), mean = 200 * big[i];
        REQUIRE(fabs(got - mean) < 6 * sqrt(mean), "sample(with, %g) of 200: %g, want ~%g",
                big[i], got, mean);
        flow_dataset_destroy(&smp);
    }
    flow_dataset_destroy(&src);
}
END_TEST

/* ---- Records ------------------------------------------------------------------------- */

START_TEST(test_keyed_unkeyed_and_empty_records_survive)
{
    open_master(_i);
    char *bytes;
    size_t n = 300;
    flow_rec_t *recs = random_recs(111, n, &bytes);
    recs[0] = flow_rec(NULL, 0);                 /* Unkeyed, empty. */
    recs[1] = flow_rec_kv("", 0, "", 0);         /* Empty key, empty value. */
    recs[2] = flow_rec_kv(NULL, 0, "v", 1);      /* NULL key pointer: an empty key. */
    recs[3] = flow_rec_kv("key", 3, NULL, 0);    /* Keyed, empty value. */
    recs[4] = flow_rec_str("");
    recs[n - 1] = flow_rec_kv("", 0, NULL, 0);
    for (int np = 1; np <= 9; np += 4) {
        flow_dataset_t *src = flow_dataset_parallelize(ctx, recs, n, np);
        flow_dataset_t *m = flow_dataset_map(src, identity, NULL, 0);
        flow_dataset_t *f = flow_dataset_flat_map(m, aligned_flat_map, NULL, 0);
        assert_recs(src, recs, n, "parallelize of odd records");
        assert_recs(m, recs, n, "identity map of odd records");
        assert_recs(f, recs, n, "flat_map re-emitting odd records");
        flow_dataset_destroy(&f);
        flow_dataset_destroy(&m);
        flow_dataset_destroy(&src);
    }
    free(recs);
    free(bytes);
}
END_TEST

START_TEST(test_record_of_16_mib_through_map)
{
    open_master(_i);
    size_t big = 16u << 20;
    uint64_t seed = 121;
    unsigned char *data = malloc(big), *want_bytes = malloc(big);
    for (size_t i = 0; i < big; i += 8) {
        uint64_t x = test_rand(&seed);
        memcpy(data + i, &x, 8);
    }
    for (size_t i = 0; i < big; i++)
        want_bytes[i] = data[i] ^ 0x5A;
    flow_rec_t recs[3] = {flow_rec("ab", 2), flow_rec_kv("k", 1, data, big), flow_rec("c", 1)};
    flow_rec_t want[3] = {flow_rec("\x3b\x38", 2), flow_rec_kv("k", 1, want_bytes, big),
                          flow_rec("\x39", 1)};
    flow_dataset_t *src = flow_dataset_parallelize(ctx, recs, 3, 2);
    flow_dataset_t *m = flow_dataset_map(src, xor_bytes, NULL, 0);
    assert_recs(src, recs, 3, "16 MiB record");
    assert_recs(m, want, 3, "16 MiB record through map");
    flow_dataset_destroy(&m);
    flow_dataset_destroy(&src);
    free(want_bytes);
    free(data);
}
END_TEST

START_TEST(test_values_are_aligned_in_udfs_and_results)
{
    open_master(_i);
    size_t n = 500;
    char *bytes = malloc(n * 48);
    uint64_t seed = 131;
    flow_rec_t *recs = malloc(sizeof *recs * n), *want = malloc(sizeof *want * n);
    for (size_t i = 0; i < n; i++) {
        char *k = bytes + i * 48, *v = k + 17; /* Unaligned sources on purpose. */
        for (int j = 0; j < 48; j++)
            k[j] = (char)test_rand(&seed);
        size_t klen = i % 11, vlen = 1 + i % 23;
        recs[i] = i % 3 ? flow_rec_kv(k + 1, klen, v, vlen) : flow_rec(v, vlen);
        want[i] = recs[i];
        want[i].val = v + 1;
        want[i].vlen = vlen - 1;
    }
    flow_dataset_t *src = flow_dataset_parallelize(ctx, recs, n, 3);
    flow_dataset_t *m = flow_dataset_map(src, aligned_map, NULL, 0);
    flow_dataset_t *f = flow_dataset_filter(m, aligned_filter, NULL, 0);
    flow_dataset_t *fm = flow_dataset_flat_map(src, aligned_flat_map, NULL, 0);
    flow_dataset_t *after = flow_dataset_map(fm, aligned_map, NULL, 0);
    assert_recs(f, recs, n, "map and filter checking alignment");
    assert_recs(after, recs, n, "map after flat_map checking alignment");
    /* A map that hands out unaligned pointers: collect still aligns. */
    flow_dataset_t *un = flow_dataset_map(src, drop_first_byte, NULL, 0);
    assert_recs(un, want, n, "collect of unaligned map output");
    flow_dataset_t *ds[] = {un, after, fm, f, m, src};
    for (int i = 0; i < 6; i++)
        flow_dataset_destroy(&ds[i]);
    free(want);
    free(recs);
    free(bytes);
}
END_TEST

/* ---- Handles ------------------------------------------------------------------------- */

START_TEST(test_destroying_a_parent_first_keeps_the_child_working)
{
    open_master(_i);
    int64_t want[100];
    for (int i = 0; i < 100; i++)
        want[i] = 3 * i + 1;
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 100, 1, 3);
    flow_dataset_t *m = flow_dataset_map(r, map_affine, (int64_t[]){3, 1}, 16);
    flow_dataset_t *z = flow_dataset_zip_with_index(m);
    flow_dataset_t *u = flow_dataset_union(m, r);
    flow_dataset_destroy(&r);
    ck_assert_ptr_null(r);
    assert_i64s(m, want, 100, "map after its parent was destroyed");
    flow_dataset_destroy(&m);
    ck_assert_uint_eq(count(z), 100);
    ck_assert_uint_eq(count(u), 200);
    flow_dataset_destroy(&u);
    flow_dataset_destroy(&z);
}
END_TEST

START_TEST(test_context_destroy_releases_live_handles)
{
    open_master(_i);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 1000, 1, 4);
    flow_dataset_t *m = flow_dataset_map(r, add_arg, (int64_t[]){5}, 8);
    flow_dataset_t *u = flow_dataset_union(r, m);
    flow_dataset_t *z = flow_dataset_zip_with_index(u);
    flow_dataset_t *s = flow_dataset_sample(z, 0, 0.5, 1);
    flow_dataset_t *g = flow_dataset_glom(s);
    ck_assert_uint_eq(count(z), 2000);
    ck_assert_uint_eq(count(g), 8);
    flow_dataset_destroy(&m); /* Some destroyed, some not. */
    (void)s;
    /* Everything left goes with the context (the sanitizer build checks for
     * leaks). */
    flow_context_destroy(&ctx);
    ck_assert_ptr_null(ctx);
}
END_TEST

START_TEST(test_dataset_destroy_twice_is_safe)
{
    open_master(_i);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 10, 1, 2);
    flow_dataset_t *m = flow_dataset_map(r, identity, NULL, 0);
    flow_dataset_destroy(&r);
    flow_dataset_destroy(&r);
    ck_assert_ptr_null(r);
    ck_assert_uint_eq(count(m), 10);
    flow_dataset_destroy(&m);
    flow_dataset_destroy(&m);
    ck_assert_ptr_null(m);
    flow_dataset_t *none = NULL;
    flow_dataset_destroy(&none);
}
END_TEST

/* ---- Typed keys ---------------------------------------------------------------------- */

static int sign(int x) { return (x > 0) - (x < 0); }

START_TEST(test_key_i64_round_trips_and_orders)
{
    uint64_t seed = 141;
    int64_t special[] = {INT64_MIN, INT64_MIN + 1, -1,   0,  1,
                         INT64_MAX - 1, INT64_MAX,     -256, 255};
    size_t n = 20000;
    int64_t *v = malloc(sizeof *v * n);
    for (size_t i = 0; i < n; i++) {
        uint64_t x = test_rand(&seed);
        v[i] = i < 9 ? special[i] : (int64_t)(i % 2 ? x : x >> (x % 64));
        if (i % 3 == 0 && v[i] != INT64_MIN)
            v[i] = -v[i];
    }
    v[0] = INT64_MIN; /* -INT64_MIN is not an int64. */
    uint8_t ka[8], kb[8];
    for (size_t i = 0; i < n; i++) {
        flow_key_from_i64(v[i], ka);
        REQUIRE(flow_key_to_i64(ka) == v[i], "i64 key of %lld does not round-trip",
                (long long)v[i]);
        int64_t w = v[(i * 7919 + 1) % n];
        flow_key_from_i64(w, kb);
        int want = (v[i] > w) - (v[i] < w);
        REQUIRE(sign(memcmp(ka, kb, 8)) == want, "key order of %lld and %lld", (long long)v[i],
                (long long)w);
    }
    free(v);
}
END_TEST

/* Numeric order of doubles as keys sort them: -0.0 before +0.0, NaN last. */
static int f64_key_order(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b);
    if (a != b)
        return a < b ? -1 : 1;
    return signbit(b) - signbit(a) ? (signbit(a) ? -1 : 1) : 0;
}

START_TEST(test_key_f64_round_trips_and_orders)
{
    uint64_t seed = 151;
    double special[] = {-INFINITY, -1e308, -1.0, -5e-324, -0.0, 0.0, 5e-324, 1.0, 1e308,
                        INFINITY, NAN, 0.5, -0.5};
    size_t ns = sizeof special / sizeof *special, n = 20000;
    double *v = malloc(sizeof *v * n);
    for (size_t i = 0; i < n; i++) {
        if (i < ns) {
            v[i] = special[i];
            continue;
        }
        uint64_t bits = test_rand(&seed);
        memcpy(&v[i], &bits, 8);
        if (isnan(v[i]) || i % 4 == 0) /* Many ordinary values too. */
            v[i] = ((double)(int64_t)bits) / (double)(1ull << (bits % 60));
    }
    uint8_t ka[8], kb[8];
    for (size_t i = 0; i < n; i++) {
        flow_key_from_f64(v[i], ka);
        double back = flow_key_to_f64(ka);
        REQUIRE(memcmp(&back, &v[i], 8) == 0 || (isnan(back) && isnan(v[i])),
                "f64 key of %a does not round-trip (got %a)", v[i], back);
        for (size_t j = 0; j < (i < ns ? ns : 1); j++) {
            double w = i < ns ? special[j] : v[(i * 7919 + 1) % n];
            flow_key_from_f64(w, kb);
            REQUIRE(sign(memcmp(ka, kb, 8)) == f64_key_order(v[i], w),
                    "key order of %a and %a: memcmp %d", v[i], w, memcmp(ka, kb, 8));
        }
    }
    free(v);
}
END_TEST

/* ---- Bad input ----------------------------------------------------------------------- */

START_TEST(test_bad_master_url_is_named)
{
    const char *bad[] = {"local[0]", "spark://x", "local[", "local[-1]", "local[4096x]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ctx = flow_context_new();
        ck_assert_ptr_nonnull(ctx);
        int rc = flow_context_set(ctx, "master", bad[i]);
        ck_assert_int_eq(rc, FLOW_EINVAL);
        REQUIRE(strstr(flow_last_error(ctx), bad[i]), "error does not name %s: %s", bad[i],
                flow_last_error(ctx));
        flow_context_destroy(&ctx);

        /* From the environment the URL is checked by start. */
        ck_assert_int_eq(setenv("FLOW_MASTER", bad[i], 1), 0);
        ctx = flow_context_new();
        rc = flow_context_start(ctx);
        unsetenv("FLOW_MASTER");
        ck_assert_int_eq(rc, FLOW_EINVAL);
        REQUIRE(strstr(flow_last_error(ctx), bad[i]), "error does not name %s: %s", bad[i],
                flow_last_error(ctx));
        /* Not started: sources refuse. */
        ck_assert_ptr_null(flow_dataset_range(ctx, 0, 10, 1, 1));
        flow_context_destroy(&ctx);

        char *msg = NULL;
        ck_assert_ptr_null(flow_context_open(bad[i], &msg));
        ck_assert_ptr_nonnull(msg);
        REQUIRE(strstr(msg, bad[i]), "open: error does not name %s: %s", bad[i], msg);
        flow_free(msg);
    }
}
END_TEST

START_TEST(test_unknown_configuration_key_is_named)
{
    ctx = flow_context_new();
    ck_assert_int_eq(flow_context_set(ctx, "no.such.key", "1"), FLOW_EINVAL);
    REQUIRE(strstr(flow_last_error(ctx), "no.such.key"), "error: %s", flow_last_error(ctx));
    ck_assert_int_eq(flow_context_set(ctx, "text.split_size", "0"), FLOW_EINVAL);
    REQUIRE(strstr(flow_last_error(ctx), "text.split_size"), "error: %s",
            flow_last_error(ctx));
    /* The context still starts with the good settings. */
    ck_assert_int_eq(flow_context_set(ctx, "master", "local"), FLOW_OK);
    ck_assert_int_eq(flow_context_start(ctx), FLOW_OK);
}
END_TEST

START_TEST(test_bad_arguments_fail_with_a_message)
{
    open_master(_i);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 100, 1, 2);
    const struct {
        int with_replacement;
        double fraction;
    } bad[] = {{0, -1}, {1, -1}, {0, 1.5}, {0, NAN}, {1, NAN}, {0, -0.001}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_ptr_null(flow_dataset_sample(r, bad[i].with_replacement, bad[i].fraction, 1));
        REQUIRE(strstr(flow_last_error(ctx), "fraction"), "sample error: %s",
                flow_last_error(ctx));
    }
    flow_dataset_t *ok = flow_dataset_sample(r, 1, 1.5, 1); /* Fine with replacement. */
    ck_assert_ptr_nonnull(ok);
    flow_dataset_destroy(&ok);

    ck_assert_ptr_null(flow_dataset_range(ctx, 0, 10, 0, 2));
    REQUIRE(strstr(flow_last_error(ctx), "step"), "range error: %s", flow_last_error(ctx));
    ck_assert_ptr_null(flow_dataset_range(ctx, 0, 10, 1, -1));
    REQUIRE(strstr(flow_last_error(ctx), "-1"), "range error: %s", flow_last_error(ctx));
    ck_assert_ptr_null(flow_dataset_parallelize_i64(ctx, (int64_t[]){1}, 1, -2));
    REQUIRE(strstr(flow_last_error(ctx), "-2"), "parallelize error: %s", flow_last_error(ctx));
    ck_assert_ptr_null(flow_dataset_coalesce(r, 0));
    REQUIRE(strstr(flow_last_error(ctx), "coalesce"), "coalesce error: %s",
            flow_last_error(ctx));
    ck_assert_ptr_null(flow_dataset_text_file(ctx, "/", -3));
    REQUIRE(strstr(flow_last_error(ctx), "-3"), "text_file error: %s", flow_last_error(ctx));

    flow_context_t *other = test_context("local");
    flow_dataset_t *foreign = flow_dataset_range(other, 0, 10, 1, 1);
    ck_assert_ptr_null(flow_dataset_union(r, foreign));
    REQUIRE(strstr(flow_last_error(ctx), "another context"), "union error: %s",
            flow_last_error(ctx));
    flow_context_destroy(&other);
    flow_dataset_destroy(&r);
}
END_TEST

Suite *dataset_suite(void)
{
    Suite *s = suite_create("dataset");
    struct {
        const char *name;
        int timeout;
        const TTest *tests[16];
    } cases[] = {
        {"sources", 60,
         {test_parallelize_records_come_back_in_order, test_parallelize_typed_values_come_back,
          test_parallelize_more_partitions_than_records,
          test_parallelize_empty_input_gives_no_records, test_range_matches_a_loop}},
        {"text", 120,
         {test_text_file_gives_lines_in_order, test_text_file_line_ends,
          test_text_file_empty_file_has_no_records,
          test_text_file_every_split_size_gives_each_line_once,
          test_text_file_directory_in_name_order_skipping_hidden,
          test_text_file_glob_in_path_order, test_text_file_relative_path,
          test_text_file_missing_path_error_names_it,
          test_text_file_unreadable_error_names_it,
          test_text_file_min_partitions_is_a_lower_bound}},
        {"narrow", 120,
         {test_map_applies_the_function_with_its_argument, test_flat_map_emits_zero_one_or_many,
          test_filter_keeps_matching_records, test_map_partitions_sees_its_partition,
          test_map_values_and_flat_map_values_keep_keys, test_keys_values_and_key_by,
          test_keys_of_unkeyed_records_fails_the_job, test_union_gives_partitions_in_order,
          test_coalesce_reads_contiguous_runs, test_zip_with_index_numbers_records_in_order,
          test_glom_gives_one_block_per_partition, test_chain_of_transformations_pipelines,
          test_long_chain_of_maps, test_lineage_too_deep_is_refused}},
        {"sample", 120,
         {test_sample_matches_the_documented_generator, test_sample_edge_fractions,
          test_sample_fraction_is_roughly_right}},
        {"records", 120,
         {test_keyed_unkeyed_and_empty_records_survive, test_record_of_16_mib_through_map,
          test_values_are_aligned_in_udfs_and_results}},
        {"handles", 60,
         {test_destroying_a_parent_first_keeps_the_child_working,
          test_context_destroy_releases_live_handles, test_dataset_destroy_twice_is_safe,
          test_bad_arguments_fail_with_a_message}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        TCase *tc = tcase_create(cases[c].name);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, cases[c].timeout);
        for (int t = 0; t < 16 && cases[c].tests[t]; t++)
            tcase_add_loop_test(tc, cases[c].tests[t], 0, TEST_NMASTERS);
        suite_add_tcase(s, tc);
    }
    /* Tests that choose their masters themselves, or need none. */
    TCase *tc = tcase_create("single");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sample_same_seed_same_result_on_every_master);
    tcase_add_test(tc, test_key_i64_round_trips_and_orders);
    tcase_add_test(tc, test_key_f64_round_trips_and_orders);
    tcase_add_test(tc, test_bad_master_url_is_named);
    tcase_add_test(tc, test_unknown_configuration_key_is_named);
    suite_add_tcase(s, tc);
    return s;
}
