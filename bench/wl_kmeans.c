/* wl_kmeans.c - kmeans: ten iterations of Lloyd's k-means, k = 8, over 10-d points
 * Input: points.txt, one point a line, DIMS (10) comma-separated numbers, each
 * "[-]D+.DDD" and a multiple of 1/8 (so .000, .125, ... .875), about 75 bytes
 * a line: the file is --size bytes of whole lines (it ends with the first line
 * that reaches the size), so 1g is some 14.4M points and 712m some 10M.
 * Generator: K true centers with coordinates uniform in [-100, 100]; each
 * point picks one at random and adds to each coordinate the sum of four
 * uniform draws in [-12, 12] (all in eighths, integer arithmetic on
 * splitmix64), so |coordinate| < 150.
 *
 * Semantics, the same on both sides: the initial centers are the first K
 * points of the file. An iteration assigns every point to its nearest center
 * (squared Euclidean distance summed over the dimensions in order, computed
 * by one function, nearest(), that both sides call; ties go to the smaller
 * index), then moves each center to the mean of its points (a center without
 * points stays). Sums of coordinates are exact: every coordinate is a
 * multiple of 2^-3 below 2^8, so any sum of fewer than 2^41 of them is a
 * multiple of 2^-3 below 2^49, which a double holds exactly, in any order of
 * addition. The engine's per-partition sums, merged in any order, are thus
 * equal to the baseline's running sums, the means (one division) are equal,
 * the next assignments are equal, and after ten iterations the centers agree
 * to the bit. flowbench is built with -ffp-contract=off, so no multiply-add
 * is fused in one place and not in the other.
 * The answer: the order-independent digest of K records (center index as an
 * 8-byte key, | DIMS doubles of the center | int64 points assigned in the
 * last iteration |), and a summary.
 *
 * Engine (Spark MLlib's way): text_file + map parsing each line into DIMS
 * native doubles, cached (a line that is not DIMS numbers fails its task,
 * quoting it); the first K points by take. Each iteration broadcasts the
 * centers (flow_broadcast_new) and runs map_partitions over the cached points:
 * the UDF reads the centers with flow_task_broadcast and emits one record of
 * per-center sums and counts for its whole partition; reduce adds them up on
 * the driver, which computes the new centers.
 * Baseline: the mapped file parsed by hand into an array of points, then ten
 * passes over the array with the same nearest().
 * The default suite runs 256m (3.6M points). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flowbench.h"

#define DIMS 10
#define K 8
#define ITERATIONS 10
#define CENTER_RANGE 800  /* True centers' coordinates: in [-800, 800] eighths. */
#define NOISE 96          /* Each of four noise draws is in [-NOISE, NOISE] eighths. */
#define MIN_LINE 20       /* Bytes of the shortest possible line ("0,0,...,0\n"). */
#define SHOW_BYTES 80     /* Bytes of a malformed line quoted in its error. */

/* Centers by dimension: c[d][j] is coordinate d of center j. */
typedef struct centers {
    double c[DIMS][K]; /* Coordinates. */
} centers_t;

/* Per-center sums of the points assigned and their number. */
typedef struct partial {
    double sum[K][DIMS]; /* Sum of the coordinates of center j's points. */
    int64_t count[K];    /* Points of center j. */
} partial_t;

/* The index of the center nearest to p; ties go to the smaller index. Both
 * sides call this, so their distances are the same to the bit: for each
 * center, (p[0] - c[0])^2 + (p[1] - c[1])^2 + ... added from dimension 0 on
 * (K independent chains, which the processor overlaps), then a branch-free
 * minimum (which center wins is unpredictable near cluster borders). */
static inline int nearest(const double *p, const centers_t *c)
{
    double acc[K];
    for (int j = 0; j < K; j++) {
        double s = 0.0;
        for (int d = 0; d < DIMS; d++) {
            double diff = p[d] - c->c[d][j];
            s += diff * diff;
        }
        acc[j] = s;
    }
    int best = 0;
    double min = acc[0];
    for (int j = 1; j < K; j++) {
        int closer = acc[j] < min;
        best = closer ? j : best;
        min = closer ? acc[j] : min;
    }
    return best;
}

static inline void partial_add_point(partial_t *s, int j, const double *p)
{
    for (int d = 0; d < DIMS; d++)
        s->sum[j][d] += p[d];
    s->count[j]++;
}

/* Move each center to the mean of its points (a center without points stays). */
static void update_centers(centers_t *c, const partial_t *s)
{
    for (int j = 0; j < K; j++)
        for (int d = 0; s->count[j] && d < DIMS; d++)
            c->c[d][j] = s->sum[j][d] / (double)s->count[j];
}

/* The answer: a record per center, and a summary. */
static void summarize(const centers_t *c, const partial_t *last, uint64_t points,
                      fb_answer_t *out)
{
    out->digest = 0;
    out->records = K;
    int big = 0;
    for (int j = 0; j < K; j++) {
        uint8_t key[8];
        double val[DIMS + 1];
        flow_key_from_i64(j, key);
        for (int d = 0; d < DIMS; d++)
            val[d] = c->c[d][j];
        memcpy(&val[DIMS], &last->count[j], sizeof last->count[j]);
        out->digest += fb_rec_hash(key, sizeof key, val, sizeof val);
        if (last->count[j] > last->count[big])
            big = j;
    }
    snprintf(out->summary, sizeof out->summary,
             "%d centers, %llu points, largest cluster %d: %lld points at (%.4f, %.4f, ...)",
             K, (unsigned long long)points, big, (long long)last->count[big], c->c[0][big],
             c->c[1][big]);
}

/* Parse "[-]D+[.D{1,3}]" at p (before end) into x; the byte after it, or NULL. */
static inline const char *parse_num(const char *p, const char *end, double *x)
{
    int neg = p < end && *p == '-';
    p += neg;
    const char *start = p;
    int64_t m = 0;
    while (p < end && *p >= '0' && *p <= '9' && p - start < 12)
        m = m * 10 + (*p++ - '0');
    if (p == start)
        return NULL;
    int dec = 0;
    if (p < end && *p == '.')
        for (p++; p < end && dec < 3 && *p >= '0' && *p <= '9'; dec++)
            m = m * 10 + (*p++ - '0');
    for (; dec < 3; dec++)
        m *= 10;
    *x = (double)(neg ? -m : m) / 1000.0;
    return p;
}

/* Parse a line of DIMS numbers at [p, end) into pt; the end of the parse
 * (end, or a '\n' before it), or NULL when malformed. */
static inline const char *parse_point(const char *p, const char *end, double *pt)
{
    for (int d = 0; d < DIMS; d++) {
        if (!(p = parse_num(p, end, &pt[d])))
            return NULL;
        if (d + 1 < DIMS && (p == end || *p++ != ','))
            return NULL;
    }
    return p == end || *p == '\n' ? p : NULL;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* ---- Generator ------------------------------------------------------------------------- */

/* Write v eighths as "[-]D+.DDD" at p; returns the length. */
static size_t put_eighths(char *p, int64_t v)
{
    size_t n = 0;
    if (v < 0) {
        p[n++] = '-';
        v = -v;
    }
    n += fb_put_u64(p + n, (uint64_t)v / 8);
    unsigned frac = (unsigned)(v % 8) * 125;
    p[n++] = '.';
    p[n++] = (char)('0' + frac / 100);
    p[n++] = (char)('0' + frac / 10 % 10);
    p[n++] = (char)('0' + frac % 10);
    return n;
}

static int gen(const char *dir, uint64_t size, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/points.txt", dir);
    uint64_t rng = 0x6B3A2D1Cull ^ size;
    int64_t truth[K][DIMS];
    for (int j = 0; j < K; j++)
        for (int d = 0; d < DIMS; d++)
            truth[j][d] = (int64_t)(fb_rand(&rng) % (2 * CENTER_RANGE + 1)) - CENTER_RANGE;
    fb_writer_t w;
    if (fb_writer_open(&w, path, err, errlen) < 0)
        return -1;
    do {
        int j = (int)(fb_rand(&rng) % K);
        char *p = fb_writer_room(&w, 256);
        size_t n = 0;
        for (int d = 0; d < DIMS; d++) {
            uint64_t r = fb_rand(&rng);
            int64_t v = truth[j][d];
            for (int k = 0; k < 4; k++, r >>= 16)
                v += (int64_t)((r & 0xFFFF) % (2 * NOISE + 1)) - NOISE;
            n += put_eighths(p + n, v);
            p[n++] = d + 1 < DIMS ? ',' : '\n';
        }
        fb_writer_commit(&w, n);
    } while (w.written < size);
    return fb_writer_close(&w, path, err, errlen);
}

/* ---- Engine ---------------------------------------------------------------------------- */

/* map over lines: the point as DIMS native doubles. arg: one byte, nonzero for
 * the test-only wrong answer (1/8 added to the first coordinate of every line
 * whose length is a multiple of 16). */
static int parse_line(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                      const flow_buf_t *arg)
{
    double *pt = flow_task_alloc(t, sizeof(double) * DIMS);
    if (!pt)
        return -1;
    const char *p = in->val, *end = p + in->vlen;
    if (parse_point(p, end, pt) != end) {
        int show = in->vlen < SHOW_BYTES ? (int)in->vlen : SHOW_BYTES;
        return flow_task_fail(t, 1, "points.txt: malformed line '%.*s%s': expected %d numbers",
                              show, show ? p : "", in->vlen > SHOW_BYTES ? "..." : "", DIMS);
    }
    if (*(const uint8_t *)arg->data && in->vlen % 16 == 0)
        pt[0] += 0.125;
    *out = flow_rec(pt, sizeof(double) * DIMS);
    return 0;
}

/* map_partitions over the points: one partial_t for the whole partition,
 * against the centers of the broadcast variable whose id is the argument. */
static int partial_sums(flow_task_t *t, flow_iter_t *in, flow_emit_t *out,
                        const flow_buf_t *arg)
{
    uint64_t id;
    memcpy(&id, arg->data, sizeof id);
    flow_buf_t b;
    int rc = flow_task_broadcast(t, id, &b);
    if (rc < 0)
        return rc;
    if (b.len != sizeof(centers_t))
        return flow_task_fail(t, 1, "kmeans: broadcast centers of %zu bytes", b.len);
    const centers_t *c = b.data;
    partial_t *s = flow_task_alloc(t, sizeof *s);
    if (!s)
        return -1;
    memset(s, 0, sizeof *s);
    flow_rec_t r;
    while ((rc = flow_iter_next(in, &r)) == 1) {
        if (r.vlen != sizeof(double) * DIMS)
            return flow_task_fail(t, 1, "kmeans: a point of %zu bytes", r.vlen);
        const double *p = r.val;
        partial_add_point(s, nearest(p, c), p);
    }
    return rc < 0 ? rc : flow_emit_val(out, s, sizeof *s);
}

/* reduce: the sum of two partials (exact, see the head). */
static int add_partials(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b,
                        flow_rec_t *out, const flow_buf_t *arg)
{
    if (a->vlen != sizeof(partial_t) || b->vlen != sizeof(partial_t))
        return flow_task_fail(t, 1, "kmeans: partials of %zu and %zu bytes", a->vlen, b->vlen);
    partial_t *s = flow_task_alloc(t, sizeof *s), y;
    if (!s)
        return -1;
    memcpy(s, a->val, sizeof *s);
    memcpy(&y, b->val, sizeof y);
    for (int j = 0; j < K; j++) {
        for (int d = 0; d < DIMS; d++)
            s->sum[j][d] += y.sum[j][d];
        s->count[j] += y.count[j];
    }
    *out = flow_rec(s, sizeof *s);
    return 0;
}

/* The first K points as centers; 0, or -1 with err set. */
static int first_centers(flow_dataset_t *points, centers_t *c, char *err, size_t errlen)
{
    flow_result_t *res = NULL;
    if (flow_dataset_take(points, K, &res) < 0) {
        snprintf(err, errlen, "%s", flow_last_error(flow_dataset_context(points)));
        return -1;
    }
    int rc = flow_result_count(res) == K ? 0 : -1;
    for (int j = 0; rc == 0 && j < K; j++) {
        const flow_rec_t *r = flow_result_get(res, (size_t)j);
        for (int d = 0; d < DIMS; d++)
            c->c[d][j] = flow_f64((const double *)r->val + d);
    }
    if (rc < 0)
        snprintf(err, errlen, "points.txt: fewer than %d points", K);
    flow_result_destroy(&res);
    return rc;
}

/* One iteration: the partials of every point against c, into s; 0 or -1. */
static int engine_step(flow_context_t *ctx, flow_dataset_t *points, const centers_t *c,
                       partial_t *s, char *err, size_t errlen)
{
    flow_broadcast_t *b = flow_broadcast_new(ctx, c, sizeof *c);
    uint64_t id = b ? flow_broadcast_id(b) : 0;
    flow_dataset_t *parts = b ? flow_dataset_map_partitions(points, partial_sums, &id,
                                                            sizeof id) : NULL;
    flow_result_t *res = NULL;
    int rc = parts ? flow_dataset_reduce(parts, add_partials, NULL, 0, &res) : -1;
    if (rc < 0)
        snprintf(err, errlen, "%s", flow_last_error(ctx));
    else
        memcpy(s, flow_result_get(res, 0)->val, sizeof *s);
    flow_result_destroy(&res);
    flow_dataset_destroy(&parts);
    flow_broadcast_destroy(&b);
    return rc < 0 ? -1 : 0;
}

static int engine(flow_context_t *ctx, const char *dir, uint64_t size, int wrong,
                  fb_answer_t *out, fb_counters_t *cnt, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/points.txt", dir);
    uint8_t w = wrong != 0;
    flow_dataset_t *lines = flow_dataset_text_file(ctx, path, 0);
    flow_dataset_t *points = lines ? flow_dataset_map(lines, parse_line, &w, 1) : NULL;
    centers_t c;
    partial_t s;
    int rc = points && flow_dataset_cache(points) ? 0 : -1;
    if (rc < 0)
        snprintf(err, errlen, "%s", flow_last_error(ctx));
    else
        rc = first_centers(points, &c, err, errlen);
    for (int i = 0; rc == 0 && i < ITERATIONS; i++)
        if ((rc = engine_step(ctx, points, &c, &s, err, errlen)) == 0)
            update_centers(&c, &s);
    if (rc == 0) {
        uint64_t n = 0;
        for (int j = 0; j < K; j++)
            n += (uint64_t)s.count[j];
        summarize(&c, &s, n, out);
        cnt->input_bytes = file_size(path);
        cnt->input_records = n;
    }
    flow_dataset_destroy(&points);
    flow_dataset_destroy(&lines);
    return rc;
}

/* ---- Baseline -------------------------------------------------------------------------- */

static int baseline(const char *dir, uint64_t size, fb_answer_t *out, fb_counters_t *cnt,
                    char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/points.txt", dir);
    size_t len;
    const char *p = fb_map(path, &len, err, errlen);
    if (!p)
        return -1;
    size_t cap = len / MIN_LINE + 1;
    double *pts = malloc(cap * sizeof(double) * DIMS);
    uint64_t n = 0;
    int rc = pts ? 0 : -1;
    if (rc < 0)
        snprintf(err, errlen, "kmeans baseline: out of memory");
    for (const char *at = p, *end = p + len; rc == 0 && at < end; n++) {
        const char *e = n < cap ? parse_point(at, end, pts + n * DIMS) : NULL;
        if (!e) {
            snprintf(err, errlen, "points.txt: malformed line %llu", (unsigned long long)n + 1);
            rc = -1;
        }
        at = e && e < end ? e + 1 : end;
    }
    if (rc == 0 && n < K) {
        snprintf(err, errlen, "points.txt: fewer than %d points", K);
        rc = -1;
    }
    if (rc == 0) {
        centers_t c;
        partial_t s;
        for (int j = 0; j < K; j++)
            for (int d = 0; d < DIMS; d++)
                c.c[d][j] = pts[j * DIMS + d];
        for (int i = 0; i < ITERATIONS; i++) {
            memset(&s, 0, sizeof s);
            for (uint64_t k = 0; k < n; k++) {
                const double *pt = pts + k * DIMS;
                partial_add_point(&s, nearest(pt, &c), pt);
            }
            update_centers(&c, &s);
        }
        summarize(&c, &s, n, out);
        cnt->input_bytes = len;
        cnt->input_records = n;
    }
    free(pts);
    fb_unmap(p, len);
    return rc;
}

const fb_workload_t fb_wl_kmeans = {
    "kmeans",
    "ten k-means iterations, k=8, over 10-d points (map + cache, broadcast centers, "
    "map_partitions partial sums + reduce)",
    "unordered", 256ull << 20, gen, engine, baseline,
};
