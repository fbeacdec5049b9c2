/* test_shuffle.c - wide transformations (shuffles), on real local executors
 * Every test runs on "local" and "local[4]" (test_masters) and compares what a
 * shuffled dataset holds with an answer computed here in plain C from the same
 * seeded input: as multisets where the operation gives no order, in order
 * where it does (sorts). Most operations go through one table (ops[]) of
 * builders, plain-C models and checks of where records land, run over input
 * shapes: uniform keys, skewed keys (one key holds ~80% of the records), empty
 * inputs, a few records in many partitions, and an empty second input. Then:
 * executor.memory=1m gives the same partitions as the default and spills;
 * later jobs reuse map outputs; a corrupt map output is detected and its map
 * task re-run; bad records, partitioners and UDFs fail with the right codes.
 * Spill files go to a fresh local.dir per test, which must be empty once the
 * context is destroyed. The corruption tests reach into the driver (the block
 * stores and the shuffle registry of struct flow_context). */
#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockstore.h"
#include "driver.h"
#include "suites.h"
#include "testutil.h"

/* Fail the test unless cond holds; cheaper than ck_assert in long loops. */
#define REQUIRE(cond, ...)                                                     \
    do {                                                                       \
        if (!(cond))                                                           \
            ck_abort_msg(__VA_ARGS__);                                         \
    } while (0)

#define HOT_KEY 7        /* The key of skewed inputs' hot records. */
#define PART_OFFSET 3    /* The argument of part_mod in the tests. */
#define CART_LO 10       /* cartesian tests pair records with keys in [CART_LO, CART_HI). */
#define CART_HI 40

/* ---- Fixtures: a directory per test for spill files ------------------------------------ */

static char *case_dir;    /* $TMPDIR while a test case runs (made by the runner). */
static char *old_tmpdir;  /* $TMPDIR before. */
static char *dir;         /* local.dir of the running test. */

static void case_setup(void)
{
    const char *t = getenv("TMPDIR");
    old_tmpdir = t ? strdup(t) : NULL;
    case_dir = test_tmpdir();
    setenv("TMPDIR", case_dir, 1);
}

static void case_teardown(void)
{
    test_rmtree(case_dir);
    free(case_dir);
    if (old_tmpdir)
        setenv("TMPDIR", old_tmpdir, 1);
    else
        unsetenv("TMPDIR");
    free(old_tmpdir);
}

static void setup(void) { dir = test_tmpdir(); }

static void teardown(void)
{
    test_rmtree(dir);
    free(dir);
}

static void assert_dir_empty(const char *path)
{
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)))
        REQUIRE(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0,
                "%s/%s was left behind", path, e->d_name);
    closedir(d);
}

/* A started context on test_masters[m], spilling into dir, with the settings
 * that follow m: key, value, ..., NULL. */
static flow_context_t *open_ctx(int m, ...)
{
    flow_context_t *c = flow_context_new();
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(flow_context_set(c, "master", test_masters[m]), FLOW_OK);
    ck_assert_int_eq(flow_context_set(c, "local.dir", dir), FLOW_OK);
    va_list ap;
    va_start(ap, m);
    for (const char *k; (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        int rc = flow_context_set(c, k, v);
        REQUIRE(rc == FLOW_OK, "set %s=%s: %s", k, v, flow_last_error(c));
    }
    va_end(ap);
    int rc = flow_context_start(c);
    REQUIRE(rc == FLOW_OK, "start %s: %s", test_masters[m], flow_last_error(c));
    return c;
}

/* Destroy the context; its spill files and map outputs must be gone. */
static void close_ctx(flow_context_t **c)
{
    flow_context_destroy(c);
    assert_dir_empty(dir);
}

static const char *err_of(flow_dataset_t *ds)
{
    return flow_last_error(flow_dataset_context(ds));
}

/* ---- Records held by the tests ---------------------------------------------------------- */

/* A list of records whose bytes it owns (in chunks; values 8-aligned). */
typedef struct recs {
    flow_rec_t *r;    /* The records. */
    size_t n;         /* Their number. */
    size_t cap;       /* Room in r. */
    uint8_t **chunks; /* Memory of their bytes. */
    size_t nchunks;   /* Chunks. */
    size_t room;      /* Bytes left in the last chunk. */
} recs_t;

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

static uint8_t *recs_alloc(recs_t *s, size_t n)
{
    n = pad8(n ? n : 1);
    if (n > s->room) {
        size_t size = n > (1u << 20) ? n : (1u << 20);
        s->chunks = realloc(s->chunks, sizeof *s->chunks * (s->nchunks + 1));
        s->chunks[s->nchunks++] = malloc(size);
        s->room = size;
    }
    s->room -= n;
    return s->chunks[s->nchunks - 1] + s->room;
}

/* Append a copy of a record; key NULL: unkeyed. */
static void recs_add(recs_t *s, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->r = realloc(s->r, sizeof *s->r * s->cap);
    }
    size_t off = key ? pad8(klen) : 0;
    uint8_t *m = recs_alloc(s, off + vlen);
    if (key && klen)
        memcpy(m, key, klen);
    if (vlen)
        memcpy(m + off, val, vlen);
    s->r[s->n++] = (flow_rec_t){key ? m : NULL, key ? klen : 0, m + off, vlen};
}

static void recs_add_rec(recs_t *s, const flow_rec_t *r)
{
    recs_add(s, r->key, r->klen, r->val, r->vlen);
}

/* Append (order-preserving key of k, val). */
static void recs_add_k(recs_t *s, int64_t k, const void *val, size_t vlen)
{
    uint8_t kb[8];
    flow_key_from_i64(k, kb);
    recs_add(s, kb, 8, val, vlen);
}

static void recs_free(recs_t *s)
{
    for (size_t i = 0; i < s->nchunks; i++)
        free(s->chunks[i]);
    free(s->chunks);
    free(s->r);
    memset(s, 0, sizeof *s);
}

static int bytes_cmp(const void *a, size_t al, const void *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (al > bl) - (al < bl);
}

/* Unkeyed records first, then by key bytes, then by value bytes. */
static int rec_cmp(const void *pa, const void *pb)
{
    const flow_rec_t *a = pa, *b = pb;
    if (!a->key != !b->key)
        return a->key ? 1 : -1;
    int c = bytes_cmp(a->key, a->klen, b->key, b->klen);
    return c ? c : bytes_cmp(a->val, a->vlen, b->val, b->vlen);
}

static void hex(char *out, const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t m = n < 24 ? n : 24;
    for (size_t i = 0; i < m; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
    strcpy(out + 2 * m, n > m ? ".." : "");
}

static const char *rec_str(const flow_rec_t *r, char *buf)
{
    char k[52], v[52];
    hex(k, r->key, r->klen);
    hex(v, r->val, r->vlen);
    if (r->key)
        sprintf(buf, "(key %s, value %s)", k, v);
    else
        sprintf(buf, "(no key, value %s)", v);
    return buf;
}

static void recs_sort(recs_t *s)
{
    if (s->n)
        qsort(s->r, s->n, sizeof *s->r, rec_cmp);
}

/* got and want hold the same records, in any order (both get sorted). */
static void assert_same_recs(recs_t *got, recs_t *want, const char *what)
{
    recs_sort(got);
    recs_sort(want);
    char a[128], b[128];
    for (size_t i = 0; i < got->n && i < want->n; i++)
        REQUIRE(rec_cmp(&got->r[i], &want->r[i]) == 0,
                "%s: sorted record %zu of %zu is %s, expected %s", what, i, want->n,
                rec_str(&got->r[i], a), rec_str(&want->r[i], b));
    REQUIRE(got->n == want->n, "%s: %zu records, expected %zu", what, got->n, want->n);
}

/* ---- Running datasets -------------------------------------------------------------------- */

/* Every record of ds, in partition order. */
static void collect_all(flow_dataset_t *ds, recs_t *out, const char *what)
{
    flow_result_t *res = NULL;
    REQUIRE(ds != NULL, "%s: no dataset", what);
    int rc = flow_dataset_collect(ds, &res);
    REQUIRE(rc == FLOW_OK, "%s: collect: %s: %s", what, flow_strerror(rc), err_of(ds));
    size_t pos = 0;
    flow_rec_t r;
    while (flow_result_next(res, &pos, &r) == 1)
        recs_add_rec(out, &r);
    ck_assert_uint_eq(out->n, flow_result_count(res));
    flow_result_destroy(&res);
}

/* The records of each partition of ds (through glom); *out_n partitions. */
static recs_t *collect_parts(flow_dataset_t *ds, int *out_n, const char *what)
{
    flow_dataset_t *g = flow_dataset_glom(ds);
    REQUIRE(g != NULL, "%s: glom: %s", what, err_of(ds));
    flow_result_t *res = NULL;
    int rc = flow_dataset_collect(g, &res);
    REQUIRE(rc == FLOW_OK, "%s: collect glom: %s: %s", what, flow_strerror(rc), err_of(ds));
    int n = flow_dataset_npartitions(ds);
    REQUIRE(flow_result_count(res) == (size_t)n, "%s: %zu glom records for %d partitions",
            what, flow_result_count(res), n);
    recs_t *parts = calloc((size_t)n + 1, sizeof *parts);
    for (int p = 0; p < n; p++) {
        const flow_rec_t *g_rec = flow_result_get(res, (size_t)p);
        size_t pos = 0;
        flow_rec_t r;
        while ((rc = flow_glom_next(g_rec, &pos, &r)) == 1)
            recs_add_rec(&parts[p], &r);
        ck_assert_int_eq(rc, 0);
    }
    flow_result_destroy(&res);
    flow_dataset_destroy(&g);
    *out_n = n;
    return parts;
}

static void parts_free(recs_t *parts, int n)
{
    for (int p = 0; p < n; p++)
        recs_free(&parts[p]);
    free(parts);
}

/* ---- Inputs ------------------------------------------------------------------------------- */

/* Keyed records (order-preserving 8-byte key, native int64 value). */
typedef struct input {
    size_t n;         /* Records. */
    int64_t *k;       /* Key of record i. */
    int64_t *v;       /* Value of record i. */
    uint8_t *kb;      /* Keys encoded by flow_key_from_i64, 8 bytes each. */
    flow_rec_t *recs; /* Record i: (kb + 8 i, v + i). */
} input_t;

/* n records, keys uniform in [klo, khi) except skew percent on HOT_KEY,
 * values uniform in [-vrange, vrange). */
static void input_gen(input_t *in, uint64_t seed, size_t n, int64_t klo, int64_t khi, int skew,
                      int64_t vrange)
{
    in->n = n;
    in->k = malloc(sizeof *in->k * (n + 1));
    in->v = malloc(sizeof *in->v * (n + 1));
    in->kb = malloc(8 * (n + 1));
    in->recs = malloc(sizeof *in->recs * (n + 1));
    for (size_t i = 0; i < n; i++) {
        uint64_t r = test_rand(&seed);
        in->k[i] = skew && (int)(r % 100) < skew
                       ? HOT_KEY
                       : klo + (int64_t)(test_rand(&seed) % (uint64_t)(khi - klo));
        in->v[i] = (int64_t)(test_rand(&seed) % (uint64_t)(2 * vrange)) - vrange;
        flow_key_from_i64(in->k[i], in->kb + 8 * i);
        in->recs[i] = flow_rec_kv(in->kb + 8 * i, 8, &in->v[i], 8);
    }
}

static void input_free(input_t *in)
{
    free(in->k);
    free(in->v);
    free(in->kb);
    free(in->recs);
}

static flow_dataset_t *input_ds(flow_context_t *c, const input_t *in, int nparts)
{
    flow_dataset_t *d = flow_dataset_parallelize(c, in->recs, in->n, nparts);
    REQUIRE(d != NULL, "parallelize: %s", flow_last_error(c));
    return d;
}

/* Input shapes: the first input, and two more (b: keys around 0, some only
 * there, c: keys up to 2 nkeys) for joins and cogroup. */
typedef struct shape {
    const char *name; /* For messages. */
    size_t na, nb;    /* Records of the first input and of the others. */
    int64_t nkeys;    /* The first input's keys are 0 .. nkeys-1. */
    int skew;         /* Percent of its records on HOT_KEY. */
    int map_parts;    /* Partitions of the inputs. */
    int red_parts;    /* Partitions asked of the shuffle. */
} shape_t;

static const shape_t shapes[] = {
    {"uniform", 3000, 1500, 300, 0, 4, 5},   {"skewed", 3000, 1500, 300, 80, 3, 4},
    {"empty", 0, 0, 10, 0, 4, 3},            {"5 records in 16 partitions", 5, 3, 5, 0, 16, 16},
    {"second input empty", 800, 0, 40, 0, 2, 3},
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

static void shape_inputs(const shape_t *s, uint64_t seed, input_t in[3])
{
    input_gen(&in[0], seed, s->na, 0, s->nkeys, s->skew, 1000);
    input_gen(&in[1], seed + 1, s->nb, -s->nkeys / 2, s->nkeys - s->nkeys / 2, 0, 1000);
    input_gen(&in[2], seed + 2, s->nb, 0, 2 * s->nkeys, 0, 1000);
}

/* ---- UDFs ----------------------------------------------------------------------------------- */

static int sum_i64(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b, flow_rec_t *out,
                   const flow_buf_t *arg)
{
    if (a->vlen != 8 || b->vlen != 8)
        return flow_task_fail(t, 1, "sum_i64: values of %zu and %zu bytes", a->vlen, b->vlen);
    int64_t *s = flow_task_alloc(t, 8);
    if (!s)
        return -1;
    *s = flow_i64(a->val) + flow_i64(b->val);
    out->val = s;
    out->vlen = 8;
    return 0;
}

static int to_f64(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out, const flow_buf_t *arg)
{
    double *d = flow_task_alloc(t, 8);
    if (!d)
        return -1;
    *d = (double)flow_i64(in->val) / 4.0; /* Exact: sums do not depend on order. */
    out->val = d;
    out->vlen = 8;
    return 0;
}

static uint8_t letter_of(int64_t v) { return (uint8_t)('a' + ((v % 26) + 26) % 26); }

static int to_letter(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                     const flow_buf_t *arg)
{
    uint8_t *c = flow_task_alloc(t, 1);
    if (!c)
        return -1;
    *c = letter_of(flow_i64(in->val));
    out->val = c;
    out->vlen = 1;
    return 0;
}

static int64_t mod3(int64_t v) { return ((v % 3) + 3) % 3; }

static int to_mod3(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out, const flow_buf_t *arg)
{
    int64_t *m = flow_task_alloc(t, 8);
    if (!m)
        return -1;
    *m = mod3(flow_i64(in->val));
    out->val = m;
    out->vlen = 8;
    return 0;
}

/* A 16-byte pair of int64 built in task scratch memory. */
static int out_pair(flow_task_t *t, flow_rec_t *out, int64_t x, int64_t y)
{
    int64_t *p = flow_task_alloc(t, 16);
    if (!p)
        return -1;
    p[0] = x;
    p[1] = y;
    out->val = p;
    out->vlen = 16;
    return 0;
}

/* aggregate_by_key: acc = (sum, count). */
static int agg_seq(flow_task_t *t, const flow_rec_t *acc, const flow_rec_t *v, flow_rec_t *out,
                   const flow_buf_t *arg)
{
    if (acc->vlen != 16 || v->vlen != 8)
        return flow_task_fail(t, 1, "agg_seq: %zu and %zu bytes", acc->vlen, v->vlen);
    const int64_t *a = acc->val;
    return out_pair(t, out, a[0] + flow_i64(v->val), a[1] + 1);
}

static int agg_comb(flow_task_t *t, const flow_rec_t *x, const flow_rec_t *y, flow_rec_t *out,
                    const flow_buf_t *arg)
{
    if (x->vlen != 16 || y->vlen != 16)
        return flow_task_fail(t, 1, "agg_comb: %zu and %zu bytes", x->vlen, y->vlen);
    const int64_t *a = x->val, *b = y->val;
    return out_pair(t, out, a[0] + b[0], a[1] + b[1]);
}

/* combine_by_key: combiner = (max, count). */
static int cmb_create(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                      const flow_buf_t *arg)
{
    if (in->vlen != 8)
        return flow_task_fail(t, 1, "cmb_create: %zu bytes", in->vlen);
    return out_pair(t, out, flow_i64(in->val), 1);
}

static int cmb_merge_value(flow_task_t *t, const flow_rec_t *c, const flow_rec_t *v,
                           flow_rec_t *out, const flow_buf_t *arg)
{
    if (c->vlen != 16 || v->vlen != 8)
        return flow_task_fail(t, 1, "cmb_merge_value: %zu and %zu bytes", c->vlen, v->vlen);
    const int64_t *a = c->val;
    int64_t x = flow_i64(v->val);
    return out_pair(t, out, x > a[0] ? x : a[0], a[1] + 1);
}

static int cmb_merge_combiners(flow_task_t *t, const flow_rec_t *x, const flow_rec_t *y,
                               flow_rec_t *out, const flow_buf_t *arg)
{
    if (x->vlen != 16 || y->vlen != 16)
        return flow_task_fail(t, 1, "cmb_merge_combiners: %zu and %zu bytes", x->vlen,
                              y->vlen);
    const int64_t *a = x->val, *b = y->val;
    return out_pair(t, out, a[0] > b[0] ? a[0] : b[0], a[1] + b[1]);
}

/* Count and sum the values; 0, or a negative status to return. */
static int count_sum(flow_task_t *t, flow_values_t *vals, int64_t out[2])
{
    flow_rec_t r;
    int rc;
    out[0] = out[1] = 0;
    while ((rc = flow_values_next(vals, &r)) == 1) {
        if (r.vlen != 8)
            return flow_task_fail(t, 1, "a value of %zu bytes", r.vlen);
        out[0]++;
        out[1] += flow_i64(r.val);
    }
    return rc;
}

/* group_by_key: (key, (count, sum)), reading the values three times: one
 * value, then all of them twice, rewinding in between. */
static int group_count_sum(flow_task_t *t, const void *key, size_t klen, flow_values_t *vals,
                           flow_emit_t *out, const flow_buf_t *arg)
{
    flow_rec_t r;
    int64_t first[2], again[2];
    int rc = flow_values_next(vals, &r);
    if (rc != 1)
        return flow_task_fail(t, 1, "group: no first value (%d)", rc);
    flow_values_rewind(vals);
    if ((rc = count_sum(t, vals, first)) < 0)
        return rc;
    flow_values_rewind(vals);
    if ((rc = count_sum(t, vals, again)) < 0)
        return rc;
    if ((uint64_t)first[0] != flow_values_count(vals) || first[0] != again[0] ||
        first[1] != again[1])
        return flow_task_fail(t, 1, "group: %lld values (sum %lld), then %lld (sum %lld), "
                                    "count says %llu",
                              (long long)first[0], (long long)first[1], (long long)again[0],
                              (long long)again[1],
                              (unsigned long long)flow_values_count(vals));
    return flow_emit_kv(out, key, klen, first, sizeof first);
}

/* cogroup: (key, (count, sum) of each input). */
static int cogroup_count_sum(flow_task_t *t, const void *key, size_t klen,
                             flow_values_t *const *vals, int n, flow_emit_t *out,
                             const flow_buf_t *arg)
{
    int64_t cs[3][2];
    if (n != 3)
        return flow_task_fail(t, 1, "cogroup: %d inputs", n);
    for (int i = 0; i < n; i++) {
        int rc = count_sum(t, vals[i], cs[i]);
        if (rc < 0)
            return rc;
        if ((uint64_t)cs[i][0] != flow_values_count(vals[i]))
            return flow_task_fail(t, 1, "cogroup: input %d: %lld values, count says %llu", i,
                                  (long long)cs[i][0],
                                  (unsigned long long)flow_values_count(vals[i]));
    }
    return flow_emit_kv(out, key, klen, cs, sizeof cs);
}

/* Re-key with the native int64 of the order-preserving key, and back. */
static int key_native(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                      const flow_buf_t *arg)
{
    int64_t *k = flow_task_alloc(t, 8);
    if (!k)
        return -1;
    *k = flow_key_to_i64(in->key);
    out->key = k;
    out->klen = 8;
    return 0;
}

static int key_encoded(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                       const flow_buf_t *arg)
{
    uint8_t *k = flow_task_alloc(t, 8);
    if (!k)
        return -1;
    flow_key_from_i64(flow_i64(in->key), k);
    out->key = k;
    out->klen = 8;
    return 0;
}

/* Numeric order of native int64 keys (bytewise order is wrong for them). */
static int cmp_native_i64(const flow_rec_t *a, const flow_rec_t *b, const flow_buf_t *arg)
{
    int64_t x = flow_i64(a->key), y = flow_i64(b->key);
    return (x > y) - (x < y);
}

/* sort_by: the key is the value, encoded order-preservingly. */
static int key_of_value(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                        const flow_buf_t *arg)
{
    uint8_t *k = flow_task_alloc(t, 8);
    if (!k)
        return -1;
    flow_key_from_i64(flow_i64(in->val), k);
    out->key = k;
    out->klen = 8;
    return 0;
}

/* Partition (key + offset) mod nparts; arg: the int64 offset. */
static uint32_t part_mod(const void *key, size_t klen, uint32_t nparts, const flow_buf_t *arg)
{
    int64_t off = arg->len == 8 ? flow_i64(arg->data) : 0;
    int64_t m = (flow_key_to_i64(key) + off) % (int64_t)nparts;
    return (uint32_t)(m < 0 ? m + nparts : m);
}

/* Partition nparts: always out of range. */
static uint32_t part_out_of_range(const void *key, size_t klen, uint32_t nparts,
                                  const flow_buf_t *arg)
{
    return nparts;
}

/* Records whose key is in [lo, hi), arg holding the int64 pair (lo, hi). */
static int key_between(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg)
{
    int64_t k = flow_key_to_i64(in->key), lo = flow_i64(arg->data);
    return k >= lo && k < flow_i64((const int64_t *)arg->data + 1);
}

/* ---- Builders: each makes the dataset of one operation over inputs in[0..2] --------------- */

typedef flow_dataset_t *build_fn(flow_dataset_t *const *in, int nparts);

static flow_dataset_t *with_values(flow_dataset_t *ds, flow_map_fn *conv, flow_combiner_t c,
                                   int nparts)
{
    flow_dataset_t *m = conv ? flow_dataset_map_values(ds, conv, NULL, 0) : ds;
    flow_dataset_t *d = m ? flow_dataset_combine_builtin(m, c, nparts) : NULL;
    if (conv)
        flow_dataset_destroy(&m);
    return d;
}

static flow_dataset_t *b_reduce(flow_dataset_t *const *in, int np)
{
    return flow_dataset_reduce_by_key(in[0], sum_i64, NULL, 0, np);
}
static flow_dataset_t *b_sum_i64(flow_dataset_t *const *in, int np)
{
    return with_values(in[0], NULL, FLOW_SUM_I64, np);
}
static flow_dataset_t *b_min_i64(flow_dataset_t *const *in, int np)
{
    return with_values(in[0], NULL, FLOW_MIN_I64, np);
}
static flow_dataset_t *b_max_i64(flow_dataset_t *const *in, int np)
{
    return with_values(in[0], NULL, FLOW_MAX_I64, np);
}
static flow_dataset_t *b_sum_f64(flow_dataset_t *const *in, int np)
{
    return with_values(in[0], to_f64, FLOW_SUM_F64, np);
}
static flow_dataset_t *b_min_f64(flow_dataset_t *const *in, int np)
{
    return with_values(in[0], to_f64, FLOW_MIN_F64, np);
}
static flow_dataset_t *b_max_f64(flow_dataset_t *const *in, int np)
{
    return with_values(in[0], to_f64, FLOW_MAX_F64, np);
}
static flow_dataset_t *b_count(flow_dataset_t *const *in, int np)
{
    return with_values(in[0], NULL, FLOW_COUNT, np);
}
static flow_dataset_t *b_concat(flow_dataset_t *const *in, int np)
{
    return with_values(in[0], to_letter, FLOW_CONCAT, np);
}

static flow_dataset_t *b_fold0(flow_dataset_t *const *in, int np)
{
    int64_t zero = 0;
    return flow_dataset_fold_by_key(in[0], &zero, 8, sum_i64, NULL, 0, np);
}
static flow_dataset_t *b_fold100(flow_dataset_t *const *in, int np)
{
    int64_t zero = 100;
    return flow_dataset_fold_by_key(in[0], &zero, 8, sum_i64, NULL, 0, np);
}
static flow_dataset_t *b_aggregate(flow_dataset_t *const *in, int np)
{
    int64_t zero[2] = {0, 0};
    return flow_dataset_aggregate_by_key(in[0], zero, 16, agg_seq, agg_comb, NULL, 0, np);
}
static flow_dataset_t *b_combine(flow_dataset_t *const *in, int np)
{
    return flow_dataset_combine_by_key(in[0], cmb_create, cmb_merge_value, cmb_merge_combiners,
                                       NULL, 0, np);
}
static flow_dataset_t *b_group(flow_dataset_t *const *in, int np)
{
    return flow_dataset_group_by_key(in[0], group_count_sum, NULL, 0, np);
}
static flow_dataset_t *b_cogroup(flow_dataset_t *const *in, int np)
{
    return flow_dataset_cogroup(in, 3, cogroup_count_sum, NULL, 0, np);
}
static flow_dataset_t *b_join(flow_dataset_t *const *in, int np)
{
    return flow_dataset_join(in[0], in[1], np);
}
static flow_dataset_t *b_left(flow_dataset_t *const *in, int np)
{
    return flow_dataset_left_outer_join(in[0], in[1], np);
}
static flow_dataset_t *b_right(flow_dataset_t *const *in, int np)
{
    return flow_dataset_right_outer_join(in[0], in[1], np);
}
static flow_dataset_t *b_full(flow_dataset_t *const *in, int np)
{
    return flow_dataset_full_outer_join(in[0], in[1], np);
}
static flow_dataset_t *b_bcast(flow_dataset_t *const *in, int np)
{
    return flow_dataset_broadcast_join(in[0], in[1]);
}
static flow_dataset_t *b_subtract_by_key(flow_dataset_t *const *in, int np)
{
    return flow_dataset_subtract_by_key(in[0], in[1], np);
}

/* The set operations see values mod 3, so that records repeat. */
static flow_dataset_t *set_op(flow_dataset_t *const *in, int np, int which)
{
    flow_dataset_t *a = flow_dataset_map_values(in[0], to_mod3, NULL, 0);
    flow_dataset_t *b = flow_dataset_map_values(in[1], to_mod3, NULL, 0);
    flow_dataset_t *d = which == 0   ? flow_dataset_distinct(a, np)
                        : which == 1 ? flow_dataset_intersection(a, b, np)
                                     : flow_dataset_subtract(a, b, np);
    flow_dataset_destroy(&a);
    flow_dataset_destroy(&b);
    return d;
}
static flow_dataset_t *b_distinct(flow_dataset_t *const *in, int np) { return set_op(in, np, 0); }
static flow_dataset_t *b_intersection(flow_dataset_t *const *in, int np)
{
    return set_op(in, np, 1);
}
static flow_dataset_t *b_subtract(flow_dataset_t *const *in, int np) { return set_op(in, np, 2); }

static flow_dataset_t *b_sort_asc(flow_dataset_t *const *in, int np)
{
    return flow_dataset_sort_by_key(in[0], 1, NULL, NULL, 0, np);
}
static flow_dataset_t *b_sort_desc(flow_dataset_t *const *in, int np)
{
    return flow_dataset_sort_by_key(in[0], 0, NULL, NULL, 0, np);
}

/* Sorted with a numeric comparator on native int64 keys, then re-keyed back. */
static flow_dataset_t *sort_native(flow_dataset_t *const *in, int np, int ascending)
{
    flow_dataset_t *n = flow_dataset_map(in[0], key_native, NULL, 0);
    flow_dataset_t *s = flow_dataset_sort_by_key(n, ascending, cmp_native_i64, NULL, 0, np);
    flow_dataset_t *d = s ? flow_dataset_map(s, key_encoded, NULL, 0) : NULL;
    flow_dataset_destroy(&n);
    flow_dataset_destroy(&s);
    return d;
}
static flow_dataset_t *b_sort_cmp_asc(flow_dataset_t *const *in, int np)
{
    return sort_native(in, np, 1);
}
static flow_dataset_t *b_sort_cmp_desc(flow_dataset_t *const *in, int np)
{
    return sort_native(in, np, 0);
}
static flow_dataset_t *b_sort_by(flow_dataset_t *const *in, int np)
{
    return flow_dataset_sort_by(in[0], key_of_value, 1, NULL, 0, np);
}

static flow_dataset_t *b_partition_user(flow_dataset_t *const *in, int np)
{
    int64_t off = PART_OFFSET;
    return flow_dataset_partition_by(in[0], np, part_mod, &off, 8);
}
static flow_dataset_t *b_partition_hash(flow_dataset_t *const *in, int np)
{
    return flow_dataset_partition_by(in[0], np, NULL, NULL, 0);
}
static flow_dataset_t *b_repartition(flow_dataset_t *const *in, int np)
{
    return flow_dataset_repartition(in[0], np);
}
static flow_dataset_t *b_rps_hash(flow_dataset_t *const *in, int np)
{
    return flow_dataset_repartition_and_sort(in[0], np, NULL, NULL, NULL, 0);
}
static flow_dataset_t *b_rps_user(flow_dataset_t *const *in, int np)
{
    int64_t off = PART_OFFSET;
    return flow_dataset_repartition_and_sort(in[0], np, part_mod, NULL, &off, 8);
}

/* Records of a and b with keys in [CART_LO, CART_HI), paired. */
static flow_dataset_t *b_cartesian(flow_dataset_t *const *in, int np)
{
    int64_t range[2] = {CART_LO, CART_HI};
    flow_dataset_t *a = flow_dataset_filter(in[0], key_between, range, sizeof range);
    flow_dataset_t *b = flow_dataset_filter(in[1], key_between, range, sizeof range);
    flow_dataset_t *d = flow_dataset_cartesian(a, b);
    flow_dataset_destroy(&a);
    flow_dataset_destroy(&b);
    return d;
}

/* ---- Plain-C models ---------------------------------------------------------------------- */

typedef struct kv {
    int64_t k, v;
} kv_t;

static int kv_cmp(const void *pa, const void *pb)
{
    const kv_t *a = pa, *b = pb;
    if (a->k != b->k)
        return (a->k > b->k) - (a->k < b->k);
    return (a->v > b->v) - (a->v < b->v);
}

/* The input's (key, value) pairs, sorted; map(v) applied when not NULL. */
static kv_t *sorted_kv(const input_t *in, int64_t (*map)(int64_t))
{
    kv_t *p = malloc(sizeof *p * (in->n + 1));
    for (size_t i = 0; i < in->n; i++)
        p[i] = (kv_t){in->k[i], map ? map(in->v[i]) : in->v[i]};
    qsort(p, in->n, sizeof *p, kv_cmp);
    return p;
}

/* The end of the run of pairs with p[i]'s key. */
static size_t run_end(const kv_t *p, size_t n, size_t i)
{
    size_t j = i;
    while (j < n && p[j].k == p[i].k)
        j++;
    return j;
}

/* Does sorted p hold key k (and, when with_v, value v)? */
static int kv_has(const kv_t *p, size_t n, int64_t k, int with_v, int64_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p[mid].k < k || (p[mid].k == k && with_v && p[mid].v < v))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && p[lo].k == k && (!with_v || p[lo].v == v);
}

typedef void expect_fn(const input_t *in, int map_parts, recs_t *out);
typedef void key_fn(recs_t *out, int64_t key, const kv_t *run, size_t n);

/* fn over each key of in[0] with the run of its pairs. */
static void per_key(const input_t *in, key_fn *fn, recs_t *out)
{
    kv_t *p = sorted_kv(in, NULL);
    for (size_t i = 0, j; i < in->n; i = j) {
        j = run_end(p, in->n, i);
        fn(out, p[i].k, p + i, j - i);
    }
    free(p);
}

static void k_sum(recs_t *o, int64_t k, const kv_t *r, size_t n)
{
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += r[i].v;
    recs_add_k(o, k, &s, 8);
}
static void k_min(recs_t *o, int64_t k, const kv_t *r, size_t n)
{
    recs_add_k(o, k, &r[0].v, 8); /* The run is sorted by value. */
}
static void k_max(recs_t *o, int64_t k, const kv_t *r, size_t n)
{
    recs_add_k(o, k, &r[n - 1].v, 8);
}
static void k_count(recs_t *o, int64_t k, const kv_t *r, size_t n)
{
    int64_t c = (int64_t)n;
    recs_add_k(o, k, &c, 8);
}
static void k_sum_f64(recs_t *o, int64_t k, const kv_t *r, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)r[i].v / 4.0;
    recs_add_k(o, k, &s, 8);
}
static void k_min_f64(recs_t *o, int64_t k, const kv_t *r, size_t n)
{
    double d = (double)r[0].v / 4.0;
    recs_add_k(o, k, &d, 8);
}
static void k_max_f64(recs_t *o, int64_t k, const kv_t *r, size_t n)
{
    double d = (double)r[n - 1].v / 4.0;
    recs_add_k(o, k, &d, 8);
}
static int byte_cmp(const void *a, const void *b)
{
    return *(const uint8_t *)a - *(const uint8_t *)b;
}

static void k_letters(recs_t *o, int64_t k, const kv_t *r, size_t n)
{
    uint8_t *b = malloc(n);
    for (size_t i = 0; i < n; i++)
        b[i] = letter_of(r[i].v);
    qsort(b, n, 1, byte_cmp);
    recs_add_k(o, k, b, n);
    free(b);
}
static void k_sum_count(recs_t *o, int64_t k, const kv_t *r, size_t n)
{
    int64_t p[2] = {0, (int64_t)n};
    for (size_t i = 0; i < n; i++)
        p[0] += r[i].v;
    recs_add_k(o, k, p, 16);
}
static void k_max_count(recs_t *o, int64_t k, const kv_t *r, size_t n)
{
    int64_t p[2] = {r[n - 1].v, (int64_t)n};
    recs_add_k(o, k, p, 16);
}
static void k_count_sum(recs_t *o, int64_t k, const kv_t *r, size_t n)
{
    int64_t p[2] = {(int64_t)n, 0};
    for (size_t i = 0; i < n; i++)
        p[1] += r[i].v;
    recs_add_k(o, k, p, 16);
}

#define PER_KEY_MODEL(name, fn)                                                \
    static void name(const input_t *in, int map_parts, recs_t *out)            \
    {                                                                          \
        per_key(&in[0], fn, out);                                              \
    }
PER_KEY_MODEL(m_sum, k_sum)
PER_KEY_MODEL(m_min, k_min)
PER_KEY_MODEL(m_max, k_max)
PER_KEY_MODEL(m_count, k_count)
PER_KEY_MODEL(m_sum_f64, k_sum_f64)
PER_KEY_MODEL(m_min_f64, k_min_f64)
PER_KEY_MODEL(m_max_f64, k_max_f64)
PER_KEY_MODEL(m_letters, k_letters)
PER_KEY_MODEL(m_sum_count, k_sum_count)
PER_KEY_MODEL(m_max_count, k_max_count)
PER_KEY_MODEL(m_count_sum, k_count_sum)

/* fold_by_key from 100: the sum, plus 100 for each map partition holding the
 * key (parallelize cuts contiguous runs [n p / P, n (p + 1) / P)). */
static void m_fold100(const input_t *in, int map_parts, recs_t *out)
{
    size_t n = in[0].n;
    kv_t *kp = malloc(sizeof *kp * (n + 1));
    for (int p = 0; p < map_parts; p++)
        for (size_t i = n * (size_t)p / (size_t)map_parts;
             i < n * (size_t)(p + 1) / (size_t)map_parts; i++)
            kp[i] = (kv_t){in[0].k[i], p};
    qsort(kp, n, sizeof *kp, kv_cmp);
    kv_t *s = sorted_kv(&in[0], NULL);
    for (size_t i = 0, j; i < n; i = j) {
        j = run_end(s, n, i);
        int64_t sum = 0;
        for (size_t x = i; x < j; x++) {
            sum += s[x].v;
            if (x == i || kp[x].v != kp[x - 1].v)
                sum += 100; /* kp's runs line up with s's: both sorted by key. */
        }
        recs_add_k(out, s[i].k, &sum, 8);
    }
    free(kp);
    free(s);
}

/* cogroup of in[0..2]: (key, (count, sum) of each input) for keys in any. */
static void m_cogroup(const input_t *in, int map_parts, recs_t *out)
{
    kv_t *p[3];
    size_t at[3] = {0, 0, 0};
    for (int j = 0; j < 3; j++)
        p[j] = sorted_kv(&in[j], NULL);
    for (;;) {
        int have = 0;
        int64_t k = 0, cs[3][2];
        for (int j = 0; j < 3; j++)
            if (at[j] < in[j].n && (!have || p[j][at[j]].k < k)) {
                k = p[j][at[j]].k;
                have = 1;
            }
        if (!have)
            break;
        memset(cs, 0, sizeof cs);
        for (int j = 0; j < 3; j++)
            for (; at[j] < in[j].n && p[j][at[j]].k == k; at[j]++) {
                cs[j][0]++;
                cs[j][1] += p[j][at[j]].v;
            }
        recs_add_k(out, k, cs, sizeof cs);
    }
    for (int j = 0; j < 3; j++)
        free(p[j]);
}

/* A joined value as the tests compare it: both sides and which are present. */
typedef struct joined {
    int64_t a, b;  /* The values (0 when missing). */
    int64_t sides; /* 1: a present, 2: b present. */
} joined_t;

static void add_joined(recs_t *o, const int64_t *key, const int64_t *a, const int64_t *b)
{
    joined_t j = {a ? *a : 0, b ? *b : 0, (a ? 1 : 0) | (b ? 2 : 0)};
    if (key)
        recs_add_k(o, *key, &j, sizeof j);
    else
        recs_add(o, NULL, 0, &j, sizeof j);
}

/* Replace pair-encoded values by joined_t, checking the encoding. */
static void n_pairs(recs_t *got)
{
    recs_t out = {0};
    for (size_t i = 0; i < got->n; i++) {
        const flow_rec_t *r = &got->r[i];
        flow_buf_t a, b;
        REQUIRE(flow_pair_decode(r->val, r->vlen, &a, &b) == FLOW_OK,
                "record %zu: a value of %zu bytes is no pair", i, r->vlen);
        REQUIRE((!a.data || a.len == 8) && (!b.data || b.len == 8) && (a.data || b.data),
                "record %zu: sides of %zu and %zu bytes (%s, %s)", i, a.len, b.len,
                a.data ? "present" : "missing", b.data ? "present" : "missing");
        int64_t x = a.data ? flow_i64(a.data) : 0, y = b.data ? flow_i64(b.data) : 0;
        joined_t j = {x, y, (a.data ? 1 : 0) | (b.data ? 2 : 0)};
        recs_add(&out, r->key, r->klen, &j, sizeof j);
    }
    recs_free(got);
    *got = out;
}

/* Sort the bytes of every value (CONCAT gives them in no defined order). */
static void n_sort_bytes(recs_t *got)
{
    for (size_t i = 0; i < got->n; i++)
        qsort((void *)got->r[i].val, got->r[i].vlen, 1, byte_cmp);
}

#define KEEP_LEFT 1
#define KEEP_RIGHT 2

static void join_model(const input_t *in, int keep, recs_t *out)
{
    kv_t *a = sorted_kv(&in[0], NULL), *b = sorted_kv(&in[1], NULL);
    size_t na = in[0].n, nb = in[1].n, i = 0, j = 0;
    while (i < na || j < nb) {
        int64_t k = j >= nb || (i < na && a[i].k <= b[j].k) ? a[i].k : b[j].k;
        size_t ie = i, je = j;
        while (ie < na && a[ie].k == k)
            ie++;
        while (je < nb && b[je].k == k)
            je++;
        if (ie > i && je > j) {
            for (size_t x = i; x < ie; x++)
                for (size_t y = j; y < je; y++)
                    add_joined(out, &k, &a[x].v, &b[y].v);
        } else if (ie > i && (keep & KEEP_LEFT)) {
            for (size_t x = i; x < ie; x++)
                add_joined(out, &k, &a[x].v, NULL);
        } else if (je > j && (keep & KEEP_RIGHT)) {
            for (size_t y = j; y < je; y++)
                add_joined(out, &k, NULL, &b[y].v);
        }
        i = ie;
        j = je;
    }
    free(a);
    free(b);
}

static void m_join(const input_t *in, int mp, recs_t *out) { join_model(in, 0, out); }
static void m_left(const input_t *in, int mp, recs_t *out) { join_model(in, KEEP_LEFT, out); }
static void m_right(const input_t *in, int mp, recs_t *out) { join_model(in, KEEP_RIGHT, out); }
static void m_full(const input_t *in, int mp, recs_t *out)
{
    join_model(in, KEEP_LEFT | KEEP_RIGHT, out);
}

static void m_subtract_by_key(const input_t *in, int mp, recs_t *out)
{
    kv_t *b = sorted_kv(&in[1], NULL);
    for (size_t i = 0; i < in[0].n; i++)
        if (!kv_has(b, in[1].n, in[0].k[i], 0, 0))
            recs_add_rec(out, &in[0].recs[i]);
    free(b);
}

/* The set operations over values mod 3: 0 distinct, 1 intersection, 2 subtract. */
static void set_model(const input_t *in, int which, recs_t *out)
{
    kv_t *a = sorted_kv(&in[0], mod3), *b = sorted_kv(&in[1], mod3);
    for (size_t i = 0; i < in[0].n; i++) {
        int dup = i > 0 && kv_cmp(&a[i - 1], &a[i]) == 0;
        int in_b = kv_has(b, in[1].n, a[i].k, 1, a[i].v);
        if ((which == 0 && !dup) || (which == 1 && !dup && in_b) || (which == 2 && !in_b))
            recs_add_k(out, a[i].k, &a[i].v, 8);
    }
    free(a);
    free(b);
}
static void m_distinct(const input_t *in, int mp, recs_t *out) { set_model(in, 0, out); }
static void m_intersection(const input_t *in, int mp, recs_t *out) { set_model(in, 1, out); }
static void m_subtract(const input_t *in, int mp, recs_t *out) { set_model(in, 2, out); }

/* Every record of in[0]; its values, unkeyed. */
static void m_all(const input_t *in, int mp, recs_t *out)
{
    for (size_t i = 0; i < in[0].n; i++)
        recs_add_rec(out, &in[0].recs[i]);
}
static void m_values(const input_t *in, int mp, recs_t *out)
{
    for (size_t i = 0; i < in[0].n; i++)
        recs_add(out, NULL, 0, &in[0].v[i], 8);
}

static int cart_key(int64_t k) { return k >= CART_LO && k < CART_HI; }

static void m_cartesian(const input_t *in, int mp, recs_t *out)
{
    for (size_t i = 0; i < in[0].n; i++)
        for (size_t j = 0; cart_key(in[0].k[i]) && j < in[1].n; j++)
            if (cart_key(in[1].k[j]))
                add_joined(out, NULL, &in[0].v[i], &in[1].v[j]);
}

/* ---- Checks of order and placement ---------------------------------------------------------- */

enum { ORDER_NONE, ORDER_KEY_ASC, ORDER_KEY_DESC, ORDER_VALUE_ASC };

static void check_order(const recs_t *r, int order, const char *what)
{
    char a[128], b[128];
    for (size_t i = 1; order != ORDER_NONE && i < r->n; i++) {
        const flow_rec_t *x = &r->r[i - 1], *y = &r->r[i];
        int c = order == ORDER_VALUE_ASC
                    ? (flow_i64(x->val) > flow_i64(y->val)) - (flow_i64(x->val) < flow_i64(y->val))
                    : bytes_cmp(x->key, x->klen, y->key, y->klen);
        REQUIRE(order == ORDER_KEY_DESC ? c >= 0 : c <= 0, "%s: record %zu %s before %s", what,
                i - 1, rec_str(x, a), rec_str(y, b));
    }
}

typedef void place_fn(recs_t *parts, int n, const char *what);

/* No key is in two partitions. */
static void place_key_once(recs_t *parts, int n, const char *what)
{
    size_t total = 0, k = 0;
    for (int p = 0; p < n; p++)
        total += parts[p].n;
    kv_t *kp = malloc(sizeof *kp * (total + 1));
    for (int p = 0; p < n; p++)
        for (size_t i = 0; i < parts[p].n; i++)
            kp[k++] = (kv_t){flow_key_to_i64(parts[p].r[i].key), p};
    qsort(kp, total, sizeof *kp, kv_cmp);
    for (size_t i = 1; i < total; i++)
        REQUIRE(kp[i].k != kp[i - 1].k || kp[i].v == kp[i - 1].v,
                "%s: key %lld in partitions %lld and %lld", what, (long long)kp[i].k,
                (long long)kp[i - 1].v, (long long)kp[i].v);
    free(kp);
}

/* Every record is in the partition part_mod chose. */
static void place_part_mod(recs_t *parts, int n, const char *what)
{
    int64_t off = PART_OFFSET;
    flow_buf_t arg = {&off, 8};
    for (int p = 0; p < n; p++)
        for (size_t i = 0; i < parts[p].n; i++) {
            uint32_t want = part_mod(parts[p].r[i].key, 8, (uint32_t)n, &arg);
            REQUIRE(want == (uint32_t)p, "%s: key %lld in partition %d, partitioner says %u",
                    what, (long long)flow_key_to_i64(parts[p].r[i].key), p, want);
        }
}

static void place_sorted_hash(recs_t *parts, int n, const char *what)
{
    for (int p = 0; p < n; p++)
        check_order(&parts[p], ORDER_KEY_ASC, what);
    place_key_once(parts, n, what);
}

static void place_sorted_mod(recs_t *parts, int n, const char *what)
{
    for (int p = 0; p < n; p++)
        check_order(&parts[p], ORDER_KEY_ASC, what);
    place_part_mod(parts, n, what);
}

/* ---- The operations ---------------------------------------------------------------------- */

enum { PARTS_ASKED, PARTS_INPUT, PARTS_PRODUCT };

typedef struct opcase {
    const char *name;           /* For messages. */
    build_fn *build;            /* Makes the dataset. */
    expect_fn *expect;          /* Its records, computed in plain C. */
    void (*normalize)(recs_t *); /* Makes records comparable (or NULL). */
    int order;                  /* ORDER_*: the order collect gives. */
    place_fn *place;            /* Checks where records land (or NULL). */
    int parts;                  /* PARTS_*: how many partitions the result has. */
    int narrow;                 /* No shuffle: nothing to spill. */
    int zero_per_run;           /* A zero that is not neutral: a map task that spills
                                 * applies it once per key per spilled run. */
} opcase_t;

static const opcase_t ops[] = {
    {"reduce_by_key", b_reduce, m_sum, NULL, 0, place_key_once, PARTS_ASKED, 0, 0},
    {"combine_builtin SUM_I64", b_sum_i64, m_sum, NULL, 0, NULL, PARTS_ASKED, 0, 0},
    {"combine_builtin SUM_F64", b_sum_f64, m_sum_f64, NULL, 0, NULL, PARTS_ASKED, 0, 0},
    {"combine_builtin MIN_I64", b_min_i64, m_min, NULL, 0, NULL, PARTS_ASKED, 0, 0},
    {"combine_builtin MAX_I64", b_max_i64, m_max, NULL, 0, NULL, PARTS_ASKED, 0, 0},
    {"combine_builtin MIN_F64", b_min_f64, m_min_f64, NULL, 0, NULL, PARTS_ASKED, 0, 0},
    {"combine_builtin MAX_F64", b_max_f64, m_max_f64, NULL, 0, NULL, PARTS_ASKED, 0, 0},
    {"combine_builtin COUNT", b_count, m_count, NULL, 0, NULL, PARTS_ASKED, 0, 0},
    {"combine_builtin CONCAT", b_concat, m_letters, n_sort_bytes, 0, NULL, PARTS_ASKED, 0, 0},
    {"fold_by_key from 0", b_fold0, m_sum, NULL, 0, NULL, PARTS_ASKED, 0, 0},
    {"fold_by_key from 100", b_fold100, m_fold100, NULL, 0, NULL, PARTS_ASKED, 0, 1},
    {"aggregate_by_key", b_aggregate, m_sum_count, NULL, 0, NULL, PARTS_ASKED, 0, 0},
    {"combine_by_key", b_combine, m_max_count, NULL, 0, NULL, PARTS_ASKED, 0, 0},
    {"group_by_key", b_group, m_count_sum, NULL, 0, place_key_once, PARTS_ASKED, 0, 0},
    {"cogroup", b_cogroup, m_cogroup, NULL, 0, place_key_once, PARTS_ASKED, 0, 0},
    {"join", b_join, m_join, n_pairs, 0, place_key_once, PARTS_ASKED, 0, 0},
    {"left_outer_join", b_left, m_left, n_pairs, 0, place_key_once, PARTS_ASKED, 0, 0},
    {"right_outer_join", b_right, m_right, n_pairs, 0, place_key_once, PARTS_ASKED, 0, 0},
    {"full_outer_join", b_full, m_full, n_pairs, 0, place_key_once, PARTS_ASKED, 0, 0},
    {"broadcast_join", b_bcast, m_join, n_pairs, 0, NULL, PARTS_INPUT, 1, 0},
    {"subtract_by_key", b_subtract_by_key, m_subtract_by_key, NULL, 0, place_key_once,
     PARTS_ASKED, 0, 0},
    {"distinct", b_distinct, m_distinct, NULL, 0, NULL, PARTS_ASKED, 0, 0},
    {"intersection", b_intersection, m_intersection, NULL, 0, NULL, PARTS_ASKED, 0, 0},
    {"subtract", b_subtract, m_subtract, NULL, 0, NULL, PARTS_ASKED, 0, 0},
    {"sort_by_key ascending", b_sort_asc, m_all, NULL, ORDER_KEY_ASC, NULL, PARTS_ASKED, 0, 0},
    {"sort_by_key descending", b_sort_desc, m_all, NULL, ORDER_KEY_DESC, NULL, PARTS_ASKED, 0, 0},
    {"sort_by_key comparator ascending", b_sort_cmp_asc, m_all, NULL, ORDER_KEY_ASC, NULL,
     PARTS_ASKED, 0, 0},
    {"sort_by_key comparator descending", b_sort_cmp_desc, m_all, NULL, ORDER_KEY_DESC, NULL,
     PARTS_ASKED, 0, 0},
    {"sort_by", b_sort_by, m_values, NULL, ORDER_VALUE_ASC, NULL, PARTS_ASKED, 0, 0},
    {"partition_by user", b_partition_user, m_all, NULL, 0, place_part_mod, PARTS_ASKED, 0, 0},
    {"partition_by hash", b_partition_hash, m_all, NULL, 0, place_key_once, PARTS_ASKED, 0, 0},
    {"repartition", b_repartition, m_all, NULL, 0, NULL, PARTS_ASKED, 0, 0},
    {"repartition_and_sort hash", b_rps_hash, m_all, NULL, 0, place_sorted_hash, PARTS_ASKED,
     0, 0},
    {"repartition_and_sort user", b_rps_user, m_all, NULL, 0, place_sorted_mod, PARTS_ASKED,
     0, 0},
    {"cartesian", b_cartesian, m_cartesian, n_pairs, 0, NULL, PARTS_PRODUCT, 1, 0},
};
#define NOPS ((int)(sizeof ops / sizeof ops[0]))

static int parts_of(const opcase_t *op, int map_parts, int red_parts)
{
    return op->parts == PARTS_ASKED   ? red_parts
           : op->parts == PARTS_INPUT ? map_parts
                                      : map_parts * map_parts;
}

/* The records of all partitions, in order. */
static void flatten(recs_t *parts, int n, recs_t *out)
{
    for (int p = 0; p < n; p++)
        for (size_t i = 0; i < parts[p].n; i++)
            recs_add_rec(out, &parts[p].r[i]);
}

/* Run op over in (map_parts partitions each) into red_parts; check the order
 * of collect (with_collect: and that glom sees the same records), and
 * placement; return the records of each partition, normalized. */
static recs_t *run_op(flow_context_t *c, const opcase_t *op, const input_t *in, int map_parts,
                      int red_parts, int with_collect, const char *what, int *out_n)
{
    flow_dataset_t *src[3];
    for (int j = 0; j < 3; j++)
        src[j] = input_ds(c, &in[j], map_parts);
    flow_dataset_t *d = op->build(src, red_parts);
    REQUIRE(d != NULL, "%s: %s", what, flow_last_error(c));
    int want = parts_of(op, map_parts, red_parts);
    REQUIRE(flow_dataset_npartitions(d) == want, "%s: %d partitions, expected %d", what,
            flow_dataset_npartitions(d), want);
    recs_t *parts = collect_parts(d, out_n, what);
    recs_t all = {0};
    if (with_collect) {
        collect_all(d, &all, what);
        size_t k = 0;
        char a[128], b[128];
        for (int p = 0; p < *out_n; p++)
            for (size_t i = 0; i < parts[p].n; i++, k++)
                REQUIRE(k < all.n && rec_cmp(&parts[p].r[i], &all.r[k]) == 0,
                        "%s: glom's record %zu of partition %d is %s, collect's %zu is %s",
                        what, i, p, rec_str(&parts[p].r[i], a), k,
                        k < all.n ? rec_str(&all.r[k], b) : "past the end");
        REQUIRE(k == all.n, "%s: glom saw %zu records, collect %zu", what, k, all.n);
    } else {
        flatten(parts, *out_n, &all);
    }
    check_order(&all, op->order, what);
    recs_free(&all);
    if (op->place)
        op->place(parts, *out_n, what);
    for (int p = 0; op->normalize && p < *out_n; p++)
        op->normalize(&parts[p]);
    flow_dataset_destroy(&d);
    for (int j = 0; j < 3; j++)
        flow_dataset_destroy(&src[j]);
    return parts;
}

/* ---- Every operation on every shape ---------------------------------------------------------- */

START_TEST(test_op_matches_plain_c)
{
    const opcase_t *op = &ops[_i / TEST_NMASTERS];
    int m = _i % TEST_NMASTERS;
    /* Joins shuffle both sides here; broadcasting is tested below. */
    flow_context_t *ctx = open_ctx(m, "join.broadcast_threshold", "0", NULL);
    for (size_t s = 0; s < NSHAPES; s++) {
        const shape_t *sh = &shapes[s];
        char what[200];
        snprintf(what, sizeof what, "%s on %s, %s", op->name, test_masters[m], sh->name);
        input_t in[3];
        shape_inputs(sh, 1000 + 10 * s, in);
        int n;
        recs_t *parts = run_op(ctx, op, in, sh->map_parts, sh->red_parts, 1, what, &n);
        recs_t got = {0}, want = {0};
        flatten(parts, n, &got);
        op->expect(in, sh->map_parts, &want);
        assert_same_recs(&got, &want, what);
        recs_free(&got);
        recs_free(&want);
        parts_free(parts, n);
        for (int j = 0; j < 3; j++)
            input_free(&in[j]);
    }
    close_ctx(&ctx);
}
END_TEST

START_TEST(test_count_by_key_counts)
{
    flow_context_t *ctx = open_ctx(_i, NULL);
    for (size_t s = 0; s < NSHAPES; s++) {
        input_t in[3];
        shape_inputs(&shapes[s], 2000 + s, in);
        flow_dataset_t *src = input_ds(ctx, &in[0], shapes[s].map_parts);
        flow_result_t *res = NULL;
        int rc = flow_dataset_count_by_key(src, &res);
        REQUIRE(rc == FLOW_OK, "count_by_key, %s: %s", shapes[s].name, flow_last_error(ctx));
        recs_t got = {0}, want = {0};
        size_t pos = 0;
        flow_rec_t r;
        while (flow_result_next(res, &pos, &r) == 1)
            recs_add_rec(&got, &r);
        m_count(in, shapes[s].map_parts, &want);
        assert_same_recs(&got, &want, shapes[s].name);
        recs_free(&got);
        recs_free(&want);
        flow_result_destroy(&res);
        flow_dataset_destroy(&src);
        for (int j = 0; j < 3; j++)
            input_free(&in[j]);
    }
    close_ctx(&ctx);
}
END_TEST

/* ---- Spilling: executor.memory=1m gives the same partitions --------------------------------- */

#define BIG_MAP_PARTS 4
#define BIG_RED_PARTS 6

/* A few MB (100k records on 30k keys, and two inputs of 25k), where 1m of
 * executor memory gives each task 256k. */
static void big_inputs(input_t in[3])
{
    input_gen(&in[0], 77, 100000, 0, 30000, 0, 1000000);
    input_gen(&in[1], 78, 25000, -15000, 15000, 0, 1000000);
    input_gen(&in[2], 79, 25000, 0, 60000, 0, 1000000);
}

/* got (one record per key) exceeds want by a multiple of zero on every key. */
static void assert_zero_per_run(recs_t *got, recs_t *want, int64_t zero, const char *what)
{
    recs_sort(got);
    recs_sort(want);
    REQUIRE(got->n == want->n, "%s: %zu records, expected %zu", what, got->n, want->n);
    for (size_t i = 0; i < got->n; i++) {
        const flow_rec_t *g = &got->r[i], *w = &want->r[i];
        int64_t d = flow_i64(g->val) - flow_i64(w->val);
        REQUIRE(bytes_cmp(g->key, g->klen, w->key, w->klen) == 0 && d >= 0 && d % zero == 0,
                "%s: key %lld: %lld, expected %lld plus a multiple of %lld", what,
                (long long)flow_key_to_i64(g->key), (long long)flow_i64(g->val),
                (long long)flow_i64(w->val), (long long)zero);
    }
}

START_TEST(test_op_same_with_1m_memory)
{
    const opcase_t *op = &ops[_i / TEST_NMASTERS];
    int m = _i % TEST_NMASTERS;
    char what[200];
    input_t in[3];
    big_inputs(in);
    recs_t *parts[2];
    int n[2];
    flow_stats_t st[2];
    for (int run = 0; run < 2; run++) {
        snprintf(what, sizeof what, "%s on %s, %s memory", op->name, test_masters[m],
                 run ? "1m" : "default");
        flow_context_t *ctx =
            run ? open_ctx(m, "executor.memory", "1m", "join.broadcast_threshold", "0", NULL)
                : open_ctx(m, "join.broadcast_threshold", "0", NULL);
        parts[run] = run_op(ctx, op, in, BIG_MAP_PARTS, BIG_RED_PARTS, 0, what, &n[run]);
        flow_context_stats(ctx, &st[run]);
        close_ctx(&ctx);
    }
    ck_assert_int_eq(n[0], n[1]);
    REQUIRE(op->narrow || st[1].spill_bytes > 0, "%s: nothing spilled", what);
    recs_t got = {0}, want = {0};
    op->expect(in, BIG_MAP_PARTS, &want);
    if (op->zero_per_run) {
        /* Exact in memory; spilled runs may each add the zero again. */
        ck_assert_uint_eq(st[0].spill_bytes, 0);
        flatten(parts[0], n[0], &got);
        assert_same_recs(&got, &want, "in memory");
        recs_free(&got);
        flatten(parts[1], n[1], &got);
        assert_zero_per_run(&got, &want, 100, what);
    } else {
        for (int p = 0; p < n[0]; p++) {
            char wp[300];
            snprintf(wp, sizeof wp, "%s, partition %d against default memory", what, p);
            assert_same_recs(&parts[1][p], &parts[0][p], wp);
        }
        flatten(parts[1], n[1], &got);
        assert_same_recs(&got, &want, what);
    }
    recs_free(&got);
    recs_free(&want);
    for (int run = 0; run < 2; run++)
        parts_free(parts[run], n[run]);
    for (int j = 0; j < 3; j++)
        input_free(&in[j]);
}
END_TEST

START_TEST(test_count_by_key_with_1m_memory)
{
    flow_context_t *ctx = open_ctx(_i, "executor.memory", "1m", NULL);
    input_t in[3];
    big_inputs(in);
    flow_dataset_t *src = input_ds(ctx, &in[0], BIG_MAP_PARTS);
    flow_result_t *res = NULL;
    int rc = flow_dataset_count_by_key(src, &res);
    REQUIRE(rc == FLOW_OK, "count_by_key: %s", flow_last_error(ctx));
    recs_t got = {0}, want = {0};
    size_t pos = 0;
    flow_rec_t r;
    while (flow_result_next(res, &pos, &r) == 1)
        recs_add_rec(&got, &r);
    m_count(in, BIG_MAP_PARTS, &want);
    assert_same_recs(&got, &want, "count_by_key with 1m");
    flow_stats_t st;
    flow_context_stats(ctx, &st);
    ck_assert_uint_gt(st.spill_bytes, 0);
    recs_free(&got);
    recs_free(&want);
    flow_result_destroy(&res);
    flow_dataset_destroy(&src);
    for (int j = 0; j < 3; j++)
        input_free(&in[j]);
    close_ctx(&ctx);
}
END_TEST

/* CONCAT of one key's 40k values in one map task: the value grows in place,
 * so the table stays small and nothing spills (copying the whole value at
 * every append once took memory quadratic in its length, and spilled). */
START_TEST(test_concat_hot_key_grows_in_place)
{
    enum { N = 40000 };
    flow_context_t *ctx = open_ctx(_i, NULL);
    flow_rec_t *recs = malloc(sizeof *recs * N);
    int64_t *vals = malloc(sizeof *vals * N);
    for (int i = 0; i < N; i++) {
        vals[i] = i;
        recs[i] = flow_rec_kv("hot", 3, &vals[i], sizeof vals[i]);
    }
    flow_dataset_t *src = flow_dataset_parallelize(ctx, recs, N, 1);
    flow_dataset_t *d = flow_dataset_combine_builtin(src, FLOW_CONCAT, 2);
    flow_result_t *res = NULL;
    int rc = flow_dataset_collect(d, &res);
    REQUIRE(rc == FLOW_OK, "concat: %s", flow_last_error(ctx));
    ck_assert_uint_eq(flow_result_count(res), 1);
    const flow_rec_t *r = flow_result_get(res, 0);
    ck_assert_uint_eq(r->vlen, sizeof(int64_t) * N);
    /* The values in some order: each exactly once. */
    uint8_t *seen = calloc(N, 1);
    for (int i = 0; i < N; i++) {
        int64_t v = flow_i64((const int64_t *)r->val + i);
        REQUIRE(v >= 0 && v < N && !seen[v], "concat: value %lld at %d", (long long)v, i);
        seen[v] = 1;
    }
    flow_stats_t st;
    flow_context_stats(ctx, &st);
    ck_assert_uint_eq(st.spill_bytes, 0);
    free(seen);
    flow_result_destroy(&res);
    flow_dataset_destroy(&d);
    flow_dataset_destroy(&src);
    free(recs);
    free(vals);
    close_ctx(&ctx);
}
END_TEST

/* One key holds 90% of 500k records: its values spill, and group_by_key
 * still reads them (twice, rewinding) and counts right. */
START_TEST(test_group_by_key_hot_key_spills)
{
    flow_context_t *ctx = open_ctx(_i, "executor.memory", "1m", NULL);
    input_t in[3];
    input_gen(&in[0], 91, 500000, 0, 20000, 90, 1000);
    memset(&in[1], 0, sizeof in[1]);
    memset(&in[2], 0, sizeof in[2]);
    flow_dataset_t *src = input_ds(ctx, &in[0], BIG_MAP_PARTS);
    flow_dataset_t *d = flow_dataset_group_by_key(src, group_count_sum, NULL, 0, 5);
    recs_t got = {0}, want = {0};
    collect_all(d, &got, "group_by_key, hot key");
    m_count_sum(in, BIG_MAP_PARTS, &want);
    assert_same_recs(&got, &want, "group_by_key, hot key");
    flow_stats_t st;
    flow_context_stats(ctx, &st);
    ck_assert_uint_gt(st.spill_bytes, 0);
    recs_free(&got);
    recs_free(&want);
    flow_dataset_destroy(&d);
    flow_dataset_destroy(&src);
    input_free(&in[0]);
    close_ctx(&ctx);
}
END_TEST

/* cogroup: per input, the count of the key's values and a hash that depends
 * on their order: (key, | n0 | h0 | n1 | h1 | n2 | h2 |). */
#define ORDER_MUL 1000003u

static int cogroup_in_order(flow_task_t *t, const void *key, size_t klen,
                            flow_values_t *const *vals, int n, flow_emit_t *out,
                            const flow_buf_t *arg)
{
    uint64_t acc[3][2] = {{0, 0}, {0, 0}, {0, 0}};
    flow_rec_t r;
    int rc = 0;
    for (int i = 0; i < n && i < 3; i++) {
        while ((rc = flow_values_next(vals[i], &r)) == 1) {
            acc[i][0]++;
            acc[i][1] = acc[i][1] * ORDER_MUL + (uint64_t)flow_i64(r.val);
        }
        if (rc < 0)
            return rc;
        if (acc[i][0] != flow_values_count(vals[i]))
            return flow_task_fail(t, 1, "cogroup: read %llu values of input %d, count says %llu",
                                  (unsigned long long)acc[i][0], i,
                                  (unsigned long long)flow_values_count(vals[i]));
    }
    return flow_emit_kv(out, key, klen, acc, sizeof acc);
}

/* Grouping keeps each input's values in the order they arrive (map output by
 * map output, each in its input order), whether the groups are made in memory
 * by hash (the default) or, past the grant, by sorting (executor.memory=1m):
 * the same records as a plain C loop over the inputs in order. */
START_TEST(test_cogroup_keeps_arrival_order_in_memory_and_past_it)
{
    enum { KLO = -1000, KHI = 80000 };
    input_t in[3];
    input_gen(&in[0], 71, 200000, 0, 50000, 0, 1000);
    input_gen(&in[1], 72, 100000, KLO, 30000, 0, 1000);
    input_gen(&in[2], 73, 50000, 20000, KHI, 0, 1000);
    /* The plain C answer: inputs in order, per key. */
    uint64_t(*acc)[3][2] = calloc(KHI - KLO, sizeof *acc);
    for (int i = 0; i < 3; i++)
        for (size_t j = 0; j < in[i].n; j++) {
            uint64_t *a = acc[in[i].k[j] - KLO][i];
            a[0]++;
            a[1] = a[1] * ORDER_MUL + (uint64_t)in[i].v[j];
        }
    recs_t want = {0};
    for (int64_t k = KLO; k < KHI; k++)
        if (acc[k - KLO][0][0] || acc[k - KLO][1][0] || acc[k - KLO][2][0])
            recs_add_k(&want, k, acc[k - KLO], sizeof acc[k - KLO]);
    for (int run = 0; run < 2; run++) {
        flow_context_t *ctx = run ? open_ctx(_i, "executor.memory", "1m", NULL)
                                  : open_ctx(_i, NULL);
        flow_dataset_t *src[3];
        for (int i = 0; i < 3; i++)
            src[i] = input_ds(ctx, &in[i], 3);
        flow_dataset_t *d = flow_dataset_cogroup(src, 3, cogroup_in_order, NULL, 0, 4);
        recs_t got = {0};
        collect_all(d, &got, run ? "cogroup in order, 1m" : "cogroup in order");
        recs_t copy = {0};
        for (size_t j = 0; j < want.n; j++)
            recs_add_rec(&copy, &want.r[j]);
        assert_same_recs(&got, &copy, run ? "cogroup in order, 1m" : "cogroup in order");
        flow_stats_t st;
        flow_context_stats(ctx, &st);
        if (run)
            ck_assert_uint_gt(st.spill_bytes, 0); /* Grouped by sorting, spilled. */
        else
            ck_assert_uint_eq(st.spill_bytes, 0);
        recs_free(&got);
        recs_free(&copy);
        flow_dataset_destroy(&d);
        for (int i = 0; i < 3; i++)
            flow_dataset_destroy(&src[i]);
        close_ctx(&ctx);
    }
    recs_free(&want);
    free(acc);
    for (int i = 0; i < 3; i++)
        input_free(&in[i]);
}
END_TEST

/* ---- Sorting: balanced range partitions ------------------------------------------------------ */

/* 100k keys into 8 partitions, ascending and descending, from random and
 * from already sorted input: globally ordered, none over twice the average. */
START_TEST(test_sort_by_key_partitions_balanced)
{
    enum { N = 100000, PARTS = 8 };
    flow_context_t *ctx = open_ctx(_i, NULL);
    for (int sorted_in = 0; sorted_in < 2; sorted_in++) {
        input_t in;
        input_gen(&in, 55, N, 0, 1000000000, 0, 1000);
        for (size_t i = 0; sorted_in && i < N; i++) {
            in.k[i] = (int64_t)i * 3;
            flow_key_from_i64(in.k[i], in.kb + 8 * i);
        }
        flow_dataset_t *src = input_ds(ctx, &in, 10);
        for (int asc = 0; asc < 2; asc++) {
            char what[100];
            snprintf(what, sizeof what, "sort_by_key %s of %s keys",
                     asc ? "ascending" : "descending", sorted_in ? "sorted" : "random");
            flow_dataset_t *d = flow_dataset_sort_by_key(src, asc, NULL, NULL, 0, PARTS);
            REQUIRE(d != NULL, "%s: %s", what, flow_last_error(ctx));
            int n;
            recs_t *parts = collect_parts(d, &n, what);
            ck_assert_int_eq(n, PARTS);
            recs_t got = {0}, want = {0};
            flatten(parts, n, &got);
            check_order(&got, asc ? ORDER_KEY_ASC : ORDER_KEY_DESC, what);
            for (int p = 0; p < n; p++)
                REQUIRE(parts[p].n <= 2 * N / PARTS, "%s: partition %d holds %zu of %d", what,
                        p, parts[p].n, N);
            m_all(&in, 10, &want);
            assert_same_recs(&got, &want, what);
            recs_free(&got);
            recs_free(&want);
            parts_free(parts, n);
            flow_dataset_destroy(&d);
        }
        flow_dataset_destroy(&src);
        input_free(&in);
    }
    close_ctx(&ctx);
}
END_TEST

/* ---- Partition counts when none is asked for ----------------------------------------------- */

/* As Spark's default partitioner: a shuffle given no count takes the largest
 * count of its inputs (a big input keeps its many reduce tasks in local[1]),
 * or default.parallelism when that is set; a hash-partitioned input is
 * followed; repartition and sources take the default parallelism. */
START_TEST(test_default_partition_counts)
{
    for (int set = 0; set < 2; set++) {
        /* No broadcast: the join shuffles both sides. */
        flow_context_t *ctx =
            set ? open_ctx(_i, "default.parallelism", "3", "join.broadcast_threshold", "0", NULL)
                : open_ctx(_i, "join.broadcast_threshold", "0", NULL);
        int dflt = set ? 3 : flow_context_parallelism(ctx);
        input_t in[2];
        input_gen(&in[0], 81, 2000, 0, 100, 0, 100);
        input_gen(&in[1], 82, 1000, 0, 100, 0, 100);
        flow_dataset_t *a = input_ds(ctx, &in[0], 5), *b = input_ds(ctx, &in[1], 7);
        flow_dataset_t *sums = flow_dataset_reduce_by_key(a, sum_i64, NULL, 0, 0);
        flow_dataset_t *joined = flow_dataset_join(a, b, 0);
        flow_dataset_t *sorted = flow_dataset_sort_by_key(b, 1, NULL, NULL, 0, 0);
        flow_dataset_t *rep = flow_dataset_repartition(a, 0);
        flow_dataset_t *p4 = flow_dataset_partition_by(b, 4, NULL, NULL, 0);
        flow_dataset_t *follow = flow_dataset_reduce_by_key(p4, sum_i64, NULL, 0, 0);
        REQUIRE(sums && joined && sorted && rep && p4 && follow, "%s", flow_last_error(ctx));
        ck_assert_int_eq(flow_dataset_npartitions(sums), (set ? 3 : 5));
        ck_assert_int_eq(flow_dataset_npartitions(joined), (set ? 3 : 7));
        ck_assert_int_eq(flow_dataset_npartitions(sorted), (set ? 3 : 7));
        ck_assert_int_eq(flow_dataset_npartitions(rep), dflt);
        ck_assert_int_eq(flow_dataset_npartitions(follow), 4);
        /* The join is right whatever its count: the same as through 2 partitions. */
        flow_dataset_t *joined2 = flow_dataset_join(a, b, 2);
        recs_t got = {0}, want = {0};
        collect_all(joined, &got, "join with the default count");
        collect_all(joined2, &want, "join into 2 partitions");
        assert_same_recs(&got, &want, "join with the default count");
        recs_free(&got);
        recs_free(&want);
        flow_dataset_t *all[] = {joined2, follow, p4, rep, sorted, joined, sums, b, a};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
            flow_dataset_destroy(&all[k]);
        input_free(&in[0]);
        input_free(&in[1]);
        close_ctx(&ctx);
    }
}
END_TEST

/* ---- repartition: counts kept, partitions even ----------------------------------------------- */

START_TEST(test_repartition_even)
{
    static const struct {
        size_t n;
        int from, to;
    } cases[] = {{10007, 4, 7}, {10007, 16, 3}, {0, 4, 5}, {5, 16, 3}};
    flow_context_t *ctx = open_ctx(_i, NULL);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char what[100];
        snprintf(what, sizeof what, "repartition of %zu records from %d to %d partitions",
                 cases[c].n, cases[c].from, cases[c].to);
        int64_t *v = malloc(sizeof *v * (cases[c].n + 1));
        for (size_t i = 0; i < cases[c].n; i++)
            v[i] = (int64_t)i;
        flow_dataset_t *src = flow_dataset_parallelize_i64(ctx, v, cases[c].n, cases[c].from);
        flow_dataset_t *d = flow_dataset_repartition(src, cases[c].to);
        REQUIRE(d != NULL, "%s: %s", what, flow_last_error(ctx));
        ck_assert_int_eq(flow_dataset_npartitions(d), cases[c].to);
        uint64_t count = 0;
        ck_assert_int_eq(flow_dataset_count(d, &count), FLOW_OK);
        ck_assert_uint_eq(count, cases[c].n);
        int n;
        recs_t *parts = collect_parts(d, &n, what);
        recs_t got = {0}, want = {0};
        flatten(parts, n, &got);
        double avg = (double)cases[c].n / cases[c].to;
        for (int p = 0; avg > 100 && p < n; p++)
            REQUIRE(parts[p].n >= 0.8 * avg && parts[p].n <= 1.2 * avg,
                    "%s: partition %d holds %zu, average %.0f", what, p, parts[p].n, avg);
        for (size_t i = 0; i < cases[c].n; i++)
            recs_add(&want, NULL, 0, &v[i], 8);
        assert_same_recs(&got, &want, what);
        recs_free(&got);
        recs_free(&want);
        parts_free(parts, n);
        flow_dataset_destroy(&d);
        flow_dataset_destroy(&src);
        free(v);
    }
    close_ctx(&ctx);
}
END_TEST

/* ---- Set operations on keyed, empty-keyed and unkeyed records -------------------------------- */

/* n records with repeats: every third unkeyed, every third with an empty key,
 * the rest keyed by one byte; values 0..3. */
static flow_rec_t *mixed_recs(uint64_t seed, size_t n, int64_t *vals, uint8_t *keys)
{
    flow_rec_t *r = malloc(sizeof *r * (n + 1));
    for (size_t i = 0; i < n; i++) {
        vals[i] = (int64_t)(test_rand(&seed) % 4);
        keys[i] = (uint8_t)('k' + test_rand(&seed) % 5);
        r[i] = i % 3 == 0   ? flow_rec(&vals[i], 8)
               : i % 3 == 1 ? flow_rec_kv(NULL, 0, &vals[i], 8)
                            : flow_rec_kv(&keys[i], 1, &vals[i], 8);
    }
    return r;
}

static int has_rec(const flow_rec_t *sorted, size_t n, const flow_rec_t *r)
{
    return n && bsearch(r, sorted, n, sizeof *sorted, rec_cmp) != NULL;
}

START_TEST(test_set_ops_whole_records)
{
    static const struct {
        size_t na, nb;
        int parts;
    } cases[] = {{600, 300, 4}, {0, 300, 3}, {600, 0, 3}, {5, 3, 16}};
    flow_context_t *ctx = open_ctx(_i, NULL);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t na = cases[c].na, nb = cases[c].nb;
        int64_t *av = malloc(8 * (na + 1)), *bv = malloc(8 * (nb + 1));
        uint8_t *ak = malloc(na + 1), *bk = malloc(nb + 1);
        flow_rec_t *a = mixed_recs(31 + c, na, av, ak), *b = mixed_recs(41 + c, nb, bv, bk);
        flow_dataset_t *da = flow_dataset_parallelize(ctx, a, na, cases[c].parts);
        flow_dataset_t *db = flow_dataset_parallelize(ctx, b, nb, cases[c].parts);
        flow_rec_t *sa = malloc(sizeof *sa * (na + 1)), *sb = malloc(sizeof *sb * (nb + 1));
        memcpy(sa, a, sizeof *a * na);
        memcpy(sb, b, sizeof *b * nb);
        qsort(sa, na, sizeof *sa, rec_cmp);
        qsort(sb, nb, sizeof *sb, rec_cmp);
        for (int which = 0; which < 3; which++) {
            static const char *const names[] = {"distinct", "intersection", "subtract"};
            char what[100];
            snprintf(what, sizeof what, "%s of %zu and %zu records", names[which], na, nb);
            flow_dataset_t *d = which == 0   ? flow_dataset_distinct(da, 5)
                                : which == 1 ? flow_dataset_intersection(da, db, 5)
                                             : flow_dataset_subtract(da, db, 5);
            REQUIRE(d != NULL, "%s: %s", what, flow_last_error(ctx));
            ck_assert_str_eq(flow_dataset_name(d), names[which]);
            recs_t got = {0}, want = {0};
            collect_all(d, &got, what);
            for (size_t i = 0; i < na; i++) {
                int dup = i > 0 && rec_cmp(&sa[i - 1], &sa[i]) == 0;
                int in_b = has_rec(sb, nb, &sa[i]);
                if ((which == 0 && !dup) || (which == 1 && !dup && in_b) ||
                    (which == 2 && !in_b))
                    recs_add_rec(&want, &sa[i]);
            }
            assert_same_recs(&got, &want, what);
            recs_free(&got);
            recs_free(&want);
            flow_dataset_destroy(&d);
        }
        flow_dataset_destroy(&da);
        flow_dataset_destroy(&db);
        free(sa);
        free(sb);
        free(a);
        free(b);
        free(av);
        free(bv);
        free(ak);
        free(bk);
    }
    close_ctx(&ctx);
}
END_TEST

/* ---- Joins with a small side ---------------------------------------------------------------- */

/* Join a with b (small: below join.broadcast_threshold) on the default
 * settings, which broadcasts b (no map tasks, a's partitions), and with the
 * threshold at 0, which shuffles both (map tasks, the partitions asked). */
START_TEST(test_join_small_side_broadcast_equals_shuffle_join)
{
    input_t in[3];
    input_gen(&in[0], 61, 3000, 0, 300, 20, 1000);
    input_gen(&in[1], 62, 200, -100, 200, 0, 1000);
    memset(&in[2], 0, sizeof in[2]);
    recs_t got[2] = {{0}, {0}}, want = {0};
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        flow_context_t *ctx = shuffle ? open_ctx(_i, "join.broadcast_threshold", "0", NULL)
                                      : open_ctx(_i, NULL);
        const char *what = shuffle ? "shuffle join" : "broadcast join";
        flow_dataset_t *a = input_ds(ctx, &in[0], 4), *b = input_ds(ctx, &in[1], 3);
        flow_dataset_t *d = flow_dataset_join(a, b, 5);
        REQUIRE(d != NULL, "%s: %s", what, flow_last_error(ctx));
        ck_assert_str_eq(flow_dataset_name(d), "join");
        ck_assert_int_eq(flow_dataset_npartitions(d), shuffle ? 5 : 4);
        flow_stats_t before, after;
        flow_context_stats(ctx, &before);
        collect_all(d, &got[shuffle], what);
        flow_context_stats(ctx, &after);
        if (shuffle)
            ck_assert_uint_eq(after.map_tasks - before.map_tasks, 4 + 3);
        else
            ck_assert_uint_eq(after.map_tasks, before.map_tasks);
        n_pairs(&got[shuffle]);
        flow_dataset_destroy(&d);
        flow_dataset_destroy(&a);
        flow_dataset_destroy(&b);
        close_ctx(&ctx);
    }
    m_join(in, 4, &want);
    assert_same_recs(&got[0], &want, "broadcast join");
    assert_same_recs(&got[1], &want, "shuffle join");
    for (int i = 0; i < 2; i++)
        recs_free(&got[i]);
    recs_free(&want);
    input_free(&in[0]);
    input_free(&in[1]);
}
END_TEST

/* ---- Reuse of map outputs -------------------------------------------------------------------- */

START_TEST(test_second_action_reuses_map_outputs)
{
    flow_context_t *ctx = open_ctx(_i, NULL);
    input_t in[3];
    shape_inputs(&shapes[0], 71, in);
    flow_dataset_t *src = input_ds(ctx, &in[0], 4);
    flow_dataset_t *sums = flow_dataset_reduce_by_key(src, sum_i64, NULL, 0, 5);
    recs_t want = {0}, got = {0};
    m_sum(in, 4, &want);
    flow_stats_t s0, s1, s2, s3;
    flow_context_stats(ctx, &s0);
    uint64_t n = 0;
    ck_assert_int_eq(flow_dataset_count(sums, &n), FLOW_OK);
    ck_assert_uint_eq(n, want.n);
    flow_context_stats(ctx, &s1);
    ck_assert_uint_eq(s1.map_tasks - s0.map_tasks, 4);
    ck_assert_uint_eq(s1.stages - s0.stages, 2);

    collect_all(sums, &got, "second action");
    assert_same_recs(&got, &want, "second action");
    flow_context_stats(ctx, &s2);
    ck_assert_uint_eq(s2.map_tasks, s1.map_tasks);
    ck_assert_uint_eq(s2.stages, s1.stages + 1);

    /* A narrow dataset over the shuffled one reads the same map outputs. */
    flow_dataset_t *doubles = flow_dataset_map_values(sums, to_f64, NULL, 0);
    ck_assert_int_eq(flow_dataset_count(doubles, &n), FLOW_OK);
    ck_assert_uint_eq(n, want.n);
    flow_context_stats(ctx, &s3);
    ck_assert_uint_eq(s3.map_tasks, s1.map_tasks);
    ck_assert_uint_eq(s3.stages, s2.stages + 1);

    recs_free(&got);
    recs_free(&want);
    flow_dataset_destroy(&doubles);
    flow_dataset_destroy(&sums);
    flow_dataset_destroy(&src);
    for (int j = 0; j < 3; j++)
        input_free(&in[j]);
    close_ctx(&ctx);
}
END_TEST

/* ---- A corrupt map output is fetched again --------------------------------------------------- */

/* Flip a byte of one non-empty map output segment of the context's only
 * shuffle; returns the map partition. on_disk: the output must be on disk. */
static uint32_t corrupt_one_output(flow_context_t *c, int on_disk)
{
    REQUIRE(c->nshuffles == 1, "%d shuffles", c->nshuffles);
    const flow__shuffle_t *sh = c->shuffles[0];
    for (uint32_t m = 0; m < (uint32_t)sh->nmaps; m++)
        for (uint32_t r = 0; r < (uint32_t)sh->red_ds->nparts; r++)
            for (int e = 0; e < c->group.n; e++) {
                flow__blockstore_t *bs = c->group.stores[e];
                flow__map_output_t *mo = flow__bs_get(bs, sh->id, m);
                if (!mo)
                    continue;
                int disk = mo->on_disk;
                flow__bs_release(bs, mo);
                REQUIRE(!on_disk || disk, "map output %u is in memory", m);
                if (flow__bs_corrupt(bs, sh->id, m, r) == FLOW_OK)
                    return m;
            }
    ck_abort_msg("no map output to corrupt");
    return 0;
}

START_TEST(test_corrupt_map_output_is_recomputed)
{
    static const char *const variants[][2] = {
        {"shuffle.compress", "false"}, {"shuffle.compress", "true"}, {"executor.memory", "1m"}};
    int v = _i / TEST_NMASTERS, big = v == 2;
    flow_context_t *ctx =
        open_ctx(_i % TEST_NMASTERS, variants[v][0], variants[v][1], NULL);
    char what[100];
    snprintf(what, sizeof what, "reduce_by_key with %s=%s", variants[v][0], variants[v][1]);
    input_t in[3];
    /* With 1m of memory, map tables spill and outputs go to disk. */
    input_gen(&in[0], 81, big ? 200000 : 20000, 0, big ? 100000 : 5000, 0, 1000);
    flow_dataset_t *src = input_ds(ctx, &in[0], 4);
    flow_dataset_t *sums = flow_dataset_reduce_by_key(src, sum_i64, NULL, 0, 5);
    recs_t want = {0}, got = {0};
    m_sum(in, 4, &want);
    collect_all(sums, &got, what);
    assert_same_recs(&got, &want, what);
    recs_free(&got);

    flow_stats_t s1, s2;
    flow_context_stats(ctx, &s1);
    corrupt_one_output(ctx, big);
    collect_all(sums, &got, what);
    assert_same_recs(&got, &want, what);
    flow_context_stats(ctx, &s2);
    ck_assert_uint_ge(s2.fetch_failures, s1.fetch_failures + 1);
    ck_assert_uint_gt(s2.map_tasks, s1.map_tasks);

    recs_free(&got);
    recs_free(&want);
    flow_dataset_destroy(&sums);
    flow_dataset_destroy(&src);
    input_free(&in[0]);
    close_ctx(&ctx);
}
END_TEST

/* ---- Errors ---------------------------------------------------------------------------------- */

static void assert_error_has(flow_context_t *c, const char *part)
{
    const char *msg = flow_last_error(c);
    REQUIRE(strstr(msg, part) != NULL, "error \"%s\" lacks \"%s\"", msg, part);
}

START_TEST(test_unkeyed_record_einval)
{
    flow_context_t *ctx = open_ctx(_i, NULL);
    int64_t v[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    flow_dataset_t *src = flow_dataset_parallelize_i64(ctx, v, 10, 3);
    flow_dataset_t *d = flow_dataset_reduce_by_key(src, sum_i64, NULL, 0, 4);
    ck_assert_ptr_nonnull(d);
    uint64_t n = 0;
    ck_assert_int_eq(flow_dataset_count(d, &n), FLOW_EINVAL);
    assert_error_has(ctx, "'reduce_by_key'");
    assert_error_has(ctx, "a record without a key in partition ");
    flow_dataset_destroy(&d);
    flow_dataset_destroy(&src);
    close_ctx(&ctx);
}
END_TEST

/* Keyed records (key i % 5) whose values are 8 bytes, except record bad's,
 * which has 4: a built-in sum refuses it, on whichever side it meets it. */
static int odd_value(flow_task_t *t, const flow_rec_t *in, flow_emit_t *out,
                     const flow_buf_t *arg)
{
    (void)t;
    int64_t i = flow_i64(in->val), bad = flow_i64(arg->data), k = i % 5;
    return flow_emit_kv(out, &k, sizeof k, &i, i == bad ? 4 : 8);
}

START_TEST(test_builtin_sum_wrong_length_einval)
{
    static const flow_combiner_t kinds[] = {FLOW_SUM_I64, FLOW_SUM_F64};
    static const char *const names[] = {"sum_i64", "sum_f64"};
    /* The bad record first for its key (a new entry), later (an existing
     * one), and alone in a map partition of its own. */
    static const int64_t bads[] = {0, 57, 99};
    int64_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = i;
    for (int k = 0; k < 2; k++) {
        for (int b = 0; b < 3; b++) {
            flow_context_t *ctx = open_ctx(_i, NULL);
            flow_dataset_t *src = flow_dataset_parallelize_i64(ctx, v, b == 2 ? 99 : 100, 3);
            if (b == 2) {
                /* One more partition holding only record 99. */
                flow_dataset_t *last = flow_dataset_parallelize_i64(ctx, &v[99], 1, 1);
                flow_dataset_t *parts[2] = {src, last};
                flow_dataset_t *u = flow_dataset_union_all(parts, 2);
                flow_dataset_destroy(&src);
                flow_dataset_destroy(&last);
                src = u;
            }
            flow_dataset_t *kv = flow_dataset_flat_map(src, odd_value, &bads[b], 8);
            flow_dataset_t *d = flow_dataset_combine_builtin(kv, kinds[k], 2);
            uint64_t n = 0;
            ck_assert_int_eq(flow_dataset_count(d, &n), FLOW_EINVAL);
            assert_error_has(ctx, names[k]);
            assert_error_has(ctx, "a value of 4 bytes");
            assert_error_has(ctx, "expected 8");
            flow_dataset_destroy(&d);
            flow_dataset_destroy(&kv);
            flow_dataset_destroy(&src);
            close_ctx(&ctx);
        }
    }
}
END_TEST

/* map_partitions: for each int64 v of its partition, the records (v % 97, 1)
 * and (v % 89, 2), both int64; with arg fail_at >= 0, fails after that many
 * inputs, having emitted their records. */
static int emit_pairs(flow_task_t *t, flow_iter_t *in, flow_emit_t *out, const flow_buf_t *arg)
{
    int64_t fail_at = flow_i64(arg->data), seen = 0;
    flow_rec_t r;
    int rc;
    while ((rc = flow_iter_next(in, &r)) == 1) {
        if (fail_at >= 0 && seen++ == fail_at)
            return flow_task_fail(t, 1, "emit_pairs gives up");
        int64_t v = flow_i64(r.val), k1 = v % 97, k2 = v % 89, one = 1, two = 2;
        if ((rc = flow_emit_kv(out, &k1, 8, &one, 8)) < 0 ||
            (rc = flow_emit_kv(out, &k2, 8, &two, 8)) < 0)
            return rc;
    }
    return rc;
}

/* A map_partitions hands its records straight to a shuffle (no buffering):
 * the sums of a reduce, the order and the records of a sort (whose sampling
 * job takes them the same way), and a failure partway through. */
START_TEST(test_map_partitions_feeds_shuffles)
{
    flow_context_t *ctx = open_ctx(_i, NULL);
    enum { N = 20000 };
    static int64_t v[N];
    int64_t want[97] = {0};
    for (int i = 0; i < N; i++) {
        v[i] = (int64_t)(((uint64_t)i * 2654435761u) % 1000003);
        want[v[i] % 97] += 1;
        want[v[i] % 89] += 2;
    }
    flow_dataset_t *src = flow_dataset_parallelize_i64(ctx, v, N, 5);
    int64_t no_fail = -1;
    flow_dataset_t *pairs = flow_dataset_map_partitions(src, emit_pairs, &no_fail, 8);
    /* Reduce: one sum per key, as plain C adds them. */
    flow_dataset_t *sums = flow_dataset_combine_builtin(pairs, FLOW_SUM_I64, 3);
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_collect(sums, &res), FLOW_OK);
    size_t pos = 0, got = 0;
    flow_rec_t r;
    while (flow_result_next(res, &pos, &r) == 1) {
        int64_t k = flow_i64(r.key);
        REQUIRE(k >= 0 && k < 97 && flow_i64(r.val) == want[k], "key %lld: %lld, expected %lld",
                (long long)k, (long long)flow_i64(r.val), (long long)want[k]);
        got++;
    }
    ck_assert_uint_eq(got, 97);
    flow_result_destroy(&res);
    /* Sort: every record, keys in order across the partitions. */
    flow_dataset_t *sorted = flow_dataset_sort_by_key(pairs, 1, NULL, NULL, 0, 4);
    ck_assert_int_eq(flow_dataset_collect(sorted, &res), FLOW_OK);
    ck_assert_uint_eq(flow_result_count(res), 2 * N);
    pos = 0;
    int64_t prev = -1, total = 0;
    while (flow_result_next(res, &pos, &r) == 1) {
        int64_t k = flow_i64(r.key);
        REQUIRE(k >= prev, "key %lld after %lld", (long long)k, (long long)prev);
        prev = k;
        total += flow_i64(r.val);
    }
    ck_assert_int_eq(total, 3 * N);
    flow_result_destroy(&res);
    /* A failure after some records went into the shuffle fails the job. */
    int64_t fail_at = 1000;
    flow_dataset_t *bad = flow_dataset_map_partitions(src, emit_pairs, &fail_at, 8);
    flow_dataset_t *bad_sums = flow_dataset_combine_builtin(bad, FLOW_SUM_I64, 3);
    uint64_t n = 0;
    ck_assert_int_eq(flow_dataset_count(bad_sums, &n), FLOW_ETASK);
    assert_error_has(ctx, "emit_pairs gives up");
    flow_dataset_destroy(&bad_sums);
    flow_dataset_destroy(&bad);
    flow_dataset_destroy(&sorted);
    flow_dataset_destroy(&sums);
    flow_dataset_destroy(&pairs);
    flow_dataset_destroy(&src);
    close_ctx(&ctx);
}
END_TEST

START_TEST(test_partitioner_out_of_range_einval)
{
    flow_context_t *ctx = open_ctx(_i, NULL);
    input_t in;
    input_gen(&in, 5, 100, 0, 10, 0, 10);
    flow_dataset_t *src = input_ds(ctx, &in, 3);
    flow_dataset_t *d = flow_dataset_partition_by(src, 4, part_out_of_range, NULL, 0);
    ck_assert_ptr_nonnull(d);
    uint64_t n = 0;
    ck_assert_int_eq(flow_dataset_count(d, &n), FLOW_EINVAL);
    assert_error_has(ctx, "'partition_by'");
    assert_error_has(ctx, "partitioner returned 4 for 4 partitions");
    /* The context runs the next job. */
    flow_dataset_t *ok = flow_dataset_partition_by(src, 4, NULL, NULL, 0);
    ck_assert_int_eq(flow_dataset_count(ok, &n), FLOW_OK);
    ck_assert_uint_eq(n, 100);
    flow_dataset_destroy(&ok);
    flow_dataset_destroy(&d);
    flow_dataset_destroy(&src);
    input_free(&in);
    close_ctx(&ctx);
}
END_TEST

static int refuse_merge(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b,
                        flow_rec_t *out, const flow_buf_t *arg)
{
    return flow_task_fail(t, 1, "merge refused");
}

/* The merge fails on the map side (a key twice in one partition) and on the
 * reduce side only (each key once per partition): FLOW_ETASK naming the
 * reduce_by_key dataset. */
START_TEST(test_merge_failure_etask_names_dataset)
{
    flow_context_t *ctx = open_ctx(_i, NULL);
    for (int reduce_side = 0; reduce_side < 2; reduce_side++) {
        input_t in;
        input_gen(&in, 9, 30, 0, 10, 0, 10);
        for (size_t i = 0; reduce_side && i < in.n; i++) {
            in.k[i] = (int64_t)(i % 10); /* Partitions of 10: keys 0..9 once each. */
            flow_key_from_i64(in.k[i], in.kb + 8 * i);
        }
        flow_dataset_t *src = input_ds(ctx, &in, 3);
        flow_dataset_t *d = flow_dataset_reduce_by_key(src, refuse_merge, NULL, 0, 4);
        flow_dataset_set_name(d, "doomed sums");
        uint64_t n = 0;
        ck_assert_int_eq(flow_dataset_count(d, &n), FLOW_ETASK);
        assert_error_has(ctx, "merge refused");
        assert_error_has(ctx, "doomed sums");
        flow_dataset_destroy(&d);
        flow_dataset_destroy(&src);
        input_free(&in);
    }
    close_ctx(&ctx);
}
END_TEST

/* ---- Suite ----------------------------------------------------------------------------------- */

static TCase *tcase_of(const char *name, int timeout)
{
    TCase *tc = tcase_create(name);
    tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, timeout);
    return tc;
}

Suite *shuffle_suite(void)
{
    Suite *s = suite_create("shuffle");
    TCase *tc = tcase_of("operations", 120);
    tcase_add_loop_test(tc, test_op_matches_plain_c, 0, NOPS * TEST_NMASTERS);
    tcase_add_loop_test(tc, test_count_by_key_counts, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_set_ops_whole_records, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_repartition_even, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_default_partition_counts, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_join_small_side_broadcast_equals_shuffle_join, 0,
                        TEST_NMASTERS);
    suite_add_tcase(s, tc);

    tc = tcase_of("sorting", 300);
    tcase_add_loop_test(tc, test_sort_by_key_partitions_balanced, 0, TEST_NMASTERS);
    suite_add_tcase(s, tc);

    tc = tcase_of("memory", 300);
    tcase_add_loop_test(tc, test_op_same_with_1m_memory, 0, NOPS * TEST_NMASTERS);
    tcase_add_loop_test(tc, test_count_by_key_with_1m_memory, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_group_by_key_hot_key_spills, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_cogroup_keeps_arrival_order_in_memory_and_past_it, 0,
                        TEST_NMASTERS);
    tcase_add_loop_test(tc, test_concat_hot_key_grows_in_place, 0, TEST_NMASTERS);
    suite_add_tcase(s, tc);

    tc = tcase_of("recovery", 300);
    tcase_add_loop_test(tc, test_second_action_reuses_map_outputs, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_corrupt_map_output_is_recomputed, 0, 3 * TEST_NMASTERS);
    suite_add_tcase(s, tc);

    tc = tcase_of("errors", 60);
    tcase_add_loop_test(tc, test_unkeyed_record_einval, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_builtin_sum_wrong_length_einval, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_map_partitions_feeds_shuffles, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_partitioner_out_of_range_einval, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_merge_failure_etask_names_dataset, 0, TEST_NMASTERS);
    suite_add_tcase(s, tc);
    return s;
}
