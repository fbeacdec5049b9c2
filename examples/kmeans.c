/* kmeans - k-means clustering (Lloyd's algorithm) of the points of a text file
 *
 *   kmeans [--master URL] [--k K] [--iterations N] [--partitions N]
 *          [--memory SIZE] [--storage LEVEL] [--out FILE] INPUT
 *
 * INPUT holds one point per line: D numbers (as strtod reads them: finite,
 * at most 255 bytes each)
 * separated by whitespace, D being the count on the first non-blank line.
 * Blank lines are skipped; a line with another count or a field that is not
 * a number fails the job with a message that names the file, the partition
 * and the line. examples/genpoints writes such files.
 *
 * The job:
 *   points = text_file -> flat_map each line to an unkeyed value of D native
 *            doubles -> persist (--storage, default memory), count
 *   centres = the first K points (take), in file order
 *   each iteration:
 *     broadcast the centres (K * D doubles; flow_broadcast_new)
 *     map each point to (key(index of its closest centre), [x, 1.0]): the
 *       point and a count, D + 1 doubles; the UDF reads the centres with
 *       flow_task_broadcast, the variable's id travelling in its argument
 *     reduce_by_key summing the vectors (combining on the map side first),
 *       collect, and on the driver each new centre = sum / count
 *     destroy the broadcast variable.
 * The closest centre is the one at the smallest squared Euclidean distance,
 * the lowest index among equals. A centre that no point is closest to stays
 * where it is. The iterations run in full (no convergence test), so that
 * runs are comparable; the distance the centres moved is printed with each.
 *
 * --out FILE writes the centres, one per line in index order, coordinates
 * separated by a space and printed with %.12g (default: stdout).
 * Per-iteration and total wall times go to stderr. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

#include "exutil.h"

static const char usage[] =
    "usage: kmeans [--master URL] [--k K] [--iterations N] [--partitions N]\n"
    "              [--memory SIZE] [--storage LEVEL] [--out FILE] INPUT\n"
    "  k-means clustering of the points of INPUT (one per line, whitespace-separated\n"
    "  numbers), starting from its first K points.\n"
    "  --master URL      local, local[N] or local[*] (default: local[*])\n"
    "  --k K             number of centres (default 8)\n"
    "  --iterations N    iterations (default 10)\n"
    "  --partitions N    read the points in at least N partitions (default: twice\n"
    "                    the executors)\n"
    "  --memory SIZE     executor memory budget, e.g. 64m (past it, data spills and\n"
    "                    cached blocks are evicted)\n"
    "  --storage LEVEL   how the points are cached: memory (default), memory_ser,\n"
    "                    memory_and_disk, disk or none\n"
    "  --out FILE        write the centres there (default: stdout)\n";

#define SHOW_BYTES 80   /* Bytes of a malformed line quoted in its error. */
#define MAX_FIELD 255   /* Longest number accepted, in bytes. */
#define MAX_DIMS 100000 /* Most coordinates per point. */

/* Command line options. */
typedef struct options {
    const char *master;         /* --master, or NULL for the default. */
    const char *memory;         /* --memory, or NULL for the default. */
    const char *out;            /* --out, or NULL for stdout. */
    int k;                      /* --k. */
    int iterations;             /* --iterations. */
    int partitions;             /* --partitions, or 0 for the default. */
    flow_storage_level_t level; /* --storage. */
    const char *input;          /* The points. */
} options_t;

/* The argument of parse_point: the dimension, then the file name. */
typedef struct parse_arg {
    int64_t dims;           /* Numbers per line. */
    char file[4096];        /* The file name, for errors (NUL-terminated). */
} parse_arg_t;

/* The argument of closest: where the centres are and their shape. */
typedef struct closest_arg {
    uint64_t centres; /* Broadcast variable id of the centres (k * dims doubles). */
    int64_t k;        /* Number of centres. */
    int64_t dims;     /* Coordinates per point. */
} closest_arg_t;

static int is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Number of whitespace-separated fields of [p, end). */
static size_t count_fields(const char *p, const char *end)
{
    size_t n = 0;
    while (p < end) {
        while (p < end && is_space(*p))
            p++;
        if (p == end)
            break;
        n++;
        while (p < end && !is_space(*p))
            p++;
    }
    return n;
}

/* filter over lines: keeps the lines that are not blank. */
static int not_blank(flow_task_t *t, const flow_rec_t *line, const flow_buf_t *arg)
{
    const char *p = line->vlen ? line->val : "";
    return count_fields(p, p + line->vlen) > 0;
}

/* Fail the task over a malformed line of the file named in arg. */
static int malformed(flow_task_t *t, const flow_rec_t *line, const parse_arg_t *a,
                     const char *why, size_t n)
{
    int show = line->vlen < SHOW_BYTES ? (int)line->vlen : SHOW_BYTES;
    return flow_task_fail(t, 1, "%s, partition %d: malformed line '%.*s%s': %s (%zu; the "
                          "first line has %" PRId64 " numbers)", a->file,
                          flow_task_partition(t), show, show ? (const char *)line->val : "",
                          line->vlen > SHOW_BYTES ? "..." : "", why, n, a->dims);
}

/* A field [p, end) as a finite double; 0, or -1 when it is not one. */
static int parse_number(const char *p, const char *end, double *out)
{
    char tmp[MAX_FIELD + 1], *stop;
    size_t len = (size_t)(end - p);
    if (len == 0 || len > MAX_FIELD)
        return -1;
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    *out = strtod(tmp, &stop);
    return *stop == '\0' && isfinite(*out) ? 0 : -1;
}

/* flat_map over lines: the point, dims native doubles; nothing for a blank
 * line. arg: a parse_arg_t. */
static int parse_point(flow_task_t *t, const flow_rec_t *line, flow_emit_t *out,
                       const flow_buf_t *arg)
{
    const parse_arg_t *a = arg->data;
    const char *p = line->vlen ? line->val : "", *end = p + line->vlen;
    size_t n = count_fields(p, end), d = (size_t)a->dims;
    if (n == 0)
        return 0;
    if (n != d)
        return malformed(t, line, a, "wrong count of numbers", n);
    double *x = flow_task_alloc(t, d * sizeof *x);
    if (!x)
        return -1;
    for (size_t j = 0; j < d; j++) {
        while (p < end && is_space(*p))
            p++;
        const char *q = p;
        while (q < end && !is_space(*q))
            q++;
        if (parse_number(p, q, &x[j]) < 0)
            return malformed(t, line, a, "not a finite number: field", j + 1);
        p = q;
    }
    return flow_emit_val(out, x, d * sizeof *x);
}

/* map over points: (key(index of the closest centre), [point, 1.0]). */
static int closest(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                   const flow_buf_t *arg)
{
    closest_arg_t a;
    flow_buf_t c;
    memcpy(&a, arg->data, sizeof a);
    int rc = flow_task_broadcast(t, a.centres, &c);
    if (rc < 0)
        return rc;
    size_t k = (size_t)a.k, d = (size_t)a.dims;
    if (c.len != k * d * sizeof(double) || in->vlen != d * sizeof(double))
        return flow_task_fail(t, 1, "closest: a point of %zu bytes, centres of %zu bytes",
                              in->vlen, c.len);
    const double *centres = c.data; /* Broadcast bytes are 8-byte aligned. */
    const char *x = in->val;
    size_t best = 0;
    double best_d = 0;
    for (size_t i = 0; i < k; i++) {
        double dist = 0;
        for (size_t j = 0; j < d; j++) {
            double diff = flow_f64(x + j * sizeof(double)) - centres[i * d + j];
            dist += diff * diff;
        }
        if (i == 0 || dist < best_d) {
            best = i;
            best_d = dist;
        }
    }
    uint8_t *key = flow_task_alloc(t, 8);
    double *v = flow_task_alloc(t, (d + 1) * sizeof *v);
    if (!key || !v)
        return -1;
    flow_key_from_i64((int64_t)best, key);
    memcpy(v, x, d * sizeof *v);
    v[d] = 1.0;
    *out = flow_rec_kv(key, 8, v, (d + 1) * sizeof *v);
    return 0;
}

/* reduce_by_key: the element-wise sum of two vectors of doubles. */
static int add_vectors(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b,
                       flow_rec_t *out, const flow_buf_t *arg)
{
    if (a->vlen != b->vlen || a->vlen % sizeof(double) != 0)
        return flow_task_fail(t, 1, "add_vectors: vectors of %zu and %zu bytes", a->vlen,
                              b->vlen);
    size_t n = a->vlen / sizeof(double);
    double *s = flow_task_alloc(t, a->vlen ? a->vlen : 1);
    if (!s)
        return -1;
    const char *x = a->val, *y = b->val;
    for (size_t j = 0; j < n; j++)
        s[j] = flow_f64(x + j * sizeof(double)) + flow_f64(y + j * sizeof(double));
    out->val = s;
    out->vlen = a->vlen;
    return 0;
}

/* Store the value v of option name in the options; 0, or -1 after printing why. */
static int option_value(void *opts, const char *name, const char *v)
{
    options_t *o = opts;
    int n = 0;
    if (strcmp(name, "--master") == 0)
        o->master = v;
    else if (strcmp(name, "--memory") == 0)
        o->memory = v;
    else if (strcmp(name, "--out") == 0)
        o->out = v;
    else if (strcmp(name, "--k") == 0 && (n = ex_parse_int(v, 1)) >= 0)
        o->k = n;
    else if (strcmp(name, "--iterations") == 0 && (n = ex_parse_int(v, 0)) >= 0)
        o->iterations = n;
    else if (strcmp(name, "--partitions") == 0 && (n = ex_parse_int(v, 1)) >= 0)
        o->partitions = n;
    else if (strcmp(name, "--storage") == 0 && (n = ex_parse_storage(v)) >= 0)
        o->level = (flow_storage_level_t)n;
    else {
        fprintf(stderr, "kmeans: bad value '%s' for %s\n", v, name);
        return -1;
    }
    return 0;
}

/* Parse the options; returns 0, 1 after --help, or -1 on a usage error. */
static int parse_options(int argc, char **argv, options_t *o)
{
    static const char *const with_value[] = {"--master", "--memory", "--out", "--k",
                                             "--iterations", "--partitions", "--storage"};
    memset(o, 0, sizeof *o);
    o->k = 8;
    o->iterations = 10;
    o->level = FLOW_MEMORY_ONLY;
    int i, rc = ex_parse_options("kmeans", argc, argv, with_value,
                                 sizeof with_value / sizeof with_value[0], option_value, o, &i);
    if (rc != 0)
        return rc;
    if (argc - i != 1) {
        fprintf(stderr, "kmeans: expected one INPUT\n");
        return -1;
    }
    o->input = argv[i];
    if (strlen(o->input) >= sizeof ((parse_arg_t *)0)->file) {
        fprintf(stderr, "kmeans: INPUT path too long\n");
        return -1;
    }
    return 0;
}

/* The number of coordinates: the fields of the first non-blank line. 0, or
 * -1 after printing why. */
static int find_dims(flow_dataset_t *lines, const char *input, int64_t *out)
{
    flow_context_t *ctx = flow_dataset_context(lines);
    flow_dataset_t *full = flow_dataset_filter(lines, not_blank, NULL, 0);
    flow_result_t *res = NULL;
    int rc = full ? flow_dataset_first(full, &res) : -1;
    flow_dataset_destroy(&full);
    if (rc == FLOW_ENOENT) {
        fprintf(stderr, "kmeans: %s holds no points\n", input);
        return -1;
    } else if (rc < 0) {
        fprintf(stderr, "kmeans: %s\n", flow_last_error(ctx));
        return -1;
    }
    const flow_rec_t *first = flow_result_get(res, 0);
    const char *p = first->val;
    size_t n = count_fields(p, p + first->vlen);
    flow_result_destroy(&res);
    if (n > MAX_DIMS) {
        fprintf(stderr, "kmeans: %s: %zu numbers on the first line, more than %d\n", input,
                n, MAX_DIMS);
        return -1;
    }
    *out = (int64_t)n;
    return 0;
}

/* What the cache holds of ds, on stderr. */
static void print_cached(flow_dataset_t *ds)
{
    flow_cache_info_t ci;
    if (flow_dataset_storage_level(ds) == FLOW_STORAGE_NONE ||
        flow_dataset_cache_info(ds, &ci) != FLOW_OK)
        return;
    fprintf(stderr, "cached: %d of %d partitions in memory (%.1f MiB), %d on disk "
            "(%.1f MiB), %" PRIu64 " records\n", ci.mem_partitions, ci.partitions,
            ci.mem_bytes / 1048576.0, ci.disk_partitions, ci.disk_bytes / 1048576.0,
            ci.records);
}

/* The points, parsed, persisted and computed now; NULL after printing why. */
static flow_dataset_t *load_points(flow_context_t *ctx, const options_t *o,
                                   int64_t *out_dims)
{
    double t0 = ex_now();
    flow_dataset_t *lines = flow_dataset_text_file(ctx, o->input, o->partitions);
    flow_dataset_t *points = NULL;
    parse_arg_t a;
    uint64_t n = 0;
    memset(&a, 0, sizeof a);
    strcpy(a.file, o->input);
    size_t arg_len = offsetof(parse_arg_t, file) + strlen(a.file) + 1;
    if (!lines || find_dims(lines, o->input, &a.dims) < 0 ||
        !(points = flow_dataset_flat_map(lines, parse_point, &a, arg_len)))
        goto done;
    flow_dataset_set_name(points, "parse_point");
    if ((o->level != FLOW_STORAGE_NONE && !flow_dataset_persist(points, o->level)) ||
        flow_dataset_count(points, &n) < 0) {
        flow_dataset_destroy(&points);
        goto done;
    }
    fprintf(stderr, "points: %" PRIu64 " of %" PRId64 " dimensions, %d partitions, "
            "%.3f s\n", n, a.dims, flow_dataset_npartitions(points), ex_now() - t0);
    print_cached(points);
done:
    if (!points && (!lines || a.dims > 0))
        fprintf(stderr, "kmeans: %s\n", flow_last_error(ctx));
    flow_dataset_destroy(&lines);
    *out_dims = a.dims;
    return points;
}

/* The first k points as the initial centres, into c (k * d doubles); 0, or
 * -1 after printing why. */
static int initial_centres(flow_dataset_t *points, const options_t *o, size_t d, double *c)
{
    flow_result_t *res = NULL;
    if (flow_dataset_take(points, (size_t)o->k, &res) < 0) {
        fprintf(stderr, "kmeans: %s\n", flow_last_error(flow_dataset_context(points)));
        return -1;
    }
    size_t n = flow_result_count(res), pos = 0;
    flow_rec_t r;
    for (size_t i = 0; flow_result_next(res, &pos, &r) == 1; i++)
        memcpy(c + i * d, r.val, d * sizeof *c);
    flow_result_destroy(&res);
    if (n < (size_t)o->k) {
        fprintf(stderr, "kmeans: %s holds %zu points, fewer than k = %d\n", o->input, n,
                o->k);
        return -1;
    }
    return 0;
}

/* One iteration: the new centres replace c; *out_moved is how far they moved
 * in all (the square root of the sum of squared moves). 0, or -1 after
 * printing why. */
static int iterate(flow_dataset_t *points, size_t k, size_t d, double *c, double *out_moved)
{
    flow_context_t *ctx = flow_dataset_context(points);
    flow_broadcast_t *b = flow_broadcast_new(ctx, c, k * d * sizeof *c);
    flow_dataset_t *assigned = NULL, *sums = NULL;
    flow_result_t *res = NULL;
    int rc = -1;
    if (b) {
        closest_arg_t a = {flow_broadcast_id(b), (int64_t)k, (int64_t)d};
        if ((assigned = flow_dataset_map(points, closest, &a, sizeof a)) &&
            (sums = flow_dataset_reduce_by_key(assigned, add_vectors, NULL, 0, 0)))
            rc = flow_dataset_collect(sums, &res);
    }
    if (rc < 0)
        fprintf(stderr, "kmeans: %s\n", flow_last_error(ctx));
    flow_broadcast_destroy(&b);
    flow_dataset_destroy(&assigned);
    flow_dataset_destroy(&sums);
    double moved = 0;
    size_t pos = 0;
    flow_rec_t r;
    while (rc == 0 && flow_result_next(res, &pos, &r) == 1) {
        int64_t i = flow_key_to_i64(r.key);
        if (r.klen != 8 || i < 0 || (size_t)i >= k || r.vlen != (d + 1) * sizeof(double)) {
            fprintf(stderr, "kmeans: a sum of %zu bytes for centre %" PRId64 "\n", r.vlen,
                    i);
            rc = -1;
            break;
        }
        const double *sum = r.val; /* Results are 8-byte aligned. */
        for (size_t j = 0; j < d; j++) {
            double x = sum[j] / sum[d];
            moved += (x - c[i * d + j]) * (x - c[i * d + j]);
            c[i * d + j] = x;
        }
    }
    flow_result_destroy(&res);
    *out_moved = sqrt(moved);
    return rc;
}

/* Write the centres as the options ask; 0, or -1 after printing why. */
static int write_centres(const options_t *o, size_t k, size_t d, const double *c)
{
    FILE *f = o->out ? fopen(o->out, "w") : stdout;
    if (!f) {
        perror(o->out);
        return -1;
    }
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < d; j++)
            fprintf(f, "%.12g%c", c[i * d + j], j + 1 < d ? ' ' : '\n');
    int bad = ferror(f);
    if ((o->out && fclose(f) != 0) || bad) {
        perror(o->out ? o->out : "stdout");
        return -1;
    }
    return 0;
}

/* Blocks evicted (dropped or moved to disk) by all the executors so far. */
static uint64_t evictions(flow_context_t *ctx)
{
    uint64_t n = 0;
    flow_executor_memory_t m;
    for (int e = 1; e <= flow_context_parallelism(ctx); e++)
        if (flow_context_executor_memory(ctx, e, &m) == FLOW_OK)
            n += m.evictions;
    return n;
}

/* The whole job; 0, or -1 after printing why. */
static int kmeans(flow_context_t *ctx, const options_t *o)
{
    double t0 = ex_now();
    int64_t dims = 0;
    flow_dataset_t *points = load_points(ctx, o, &dims);
    if (!points)
        return -1;
    size_t k = (size_t)o->k, d = (size_t)dims;
    double *c = malloc(k * d * sizeof *c);
    int rc = c ? initial_centres(points, o, d, c) : -1;
    for (int it = 1; it <= o->iterations && rc == 0; it++) {
        double t1 = ex_now(), moved = 0;
        rc = iterate(points, k, d, c, &moved);
        if (rc == 0)
            fprintf(stderr, "iteration %d: %.3f s, centres moved %.6g\n", it, ex_now() - t1,
                    moved);
    }
    if (rc == 0)
        rc = write_centres(o, k, d, c);
    free(c);
    flow_dataset_destroy(&points);
    if (rc == 0) {
        flow_stats_t s;
        flow_context_stats(ctx, &s);
        fprintf(stderr, "total: %.3f s, master %s, %d iterations, storage %s; cache hits %"
                PRIu64 ", misses %" PRIu64 ", spilled %" PRIu64 " bytes, evicted %" PRIu64
                " blocks\n", ex_now() - t0, flow_context_get(ctx, "master"), o->iterations,
                ex_storage_name(o->level), s.cache_hits, s.cache_misses, s.spill_bytes,
                evictions(ctx));
    }
    return rc;
}

int main(int argc, char **argv)
{
    options_t o;
    int prc = parse_options(argc, argv, &o);
    if (prc != 0) {
        fputs(usage, prc > 0 ? stdout : stderr);
        return prc > 0 ? 0 : 2;
    }
    flow_context_t *ctx = ex_open_context("kmeans", o.master, o.memory);
    if (!ctx)
        return 1;
    int rc = kmeans(ctx, &o);
    flow_context_destroy(&ctx);
    return rc == 0 ? 0 : 1;
}
