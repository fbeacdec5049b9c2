/* join - ad revenue per page-rank bucket, a join and aggregation over two CSV files
 *
 *   join [--master URL] [--memory SIZE] [--overwrite] RANKINGS.csv USERVISITS.csv OUTDIR
 *
 * The inputs are tables of the Big Data Benchmark (examples/gencsv writes
 * such files), comma-separated, without a header or quoting:
 *   rankings:   pageURL,pageRank,avgDuration          (pageRank: an integer >= 0)
 *   uservisits: sourceIP,destURL,visitDate,adRevenue,userAgent,countryCode,
 *               languageCode,searchWord,duration      (adRevenue: a number)
 * The query, in SQL:
 *   SELECT r.pageRank / 10 AS bucket, SUM(v.adRevenue)
 *   FROM uservisits v JOIN rankings r ON v.destURL = r.pageURL
 *   GROUP BY bucket ORDER BY bucket
 * (integer division; a visit counts once per ranking row of its URL, and
 * visits to unranked pages do not count). The output is OUTDIR/part-NNNNN
 * files of "bucket<TAB>total" lines, the total with two decimals, in bucket
 * order when the parts are read in name order, and OUTDIR/_SUCCESS.
 *
 * The job: each table is text_file + map to keyed records: rankings to
 * (pageURL, int64 bucket), uservisits to (destURL, double adRevenue); a line
 * with the wrong number of fields or a bad number fails its task (permanently,
 * naming the file and the line). join (which broadcasts the rankings when they
 * are small) gives (url, pair(revenue, bucket)); a map re-keys each by
 * flow_key_from_i64(bucket), an order-preserving key; combine_builtin
 * (FLOW_SUM_F64) sums per bucket, combining on the map side; sort_by_key
 * orders the buckets; a last map turns key and value into text. The map UDFs
 * get the file name as their by-value argument, for their error messages. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flow.h"

#include "exutil.h"

static const char usage[] =
    "usage: join [--master URL] [--memory SIZE] [--overwrite] RANKINGS.csv USERVISITS.csv "
    "OUTDIR\n"
    "  Total adRevenue of the visits per pageRank / 10 of the visited page, joining\n"
    "  uservisits.destURL = rankings.pageURL; writes bucket<TAB>total lines.\n"
    "  --master URL   local, local[N] or local[*] (default: local[*])\n"
    "  --memory SIZE  executor memory budget, e.g. 64m (past it, data spills)\n"
    "  --overwrite    replace an existing OUTDIR\n";

#define RANKINGS_FIELDS 3
#define VISITS_FIELDS 9
#define SHOW_BYTES 80 /* Bytes of a malformed line quoted in its error. */

/* Command line options. */
typedef struct options {
    const char *master; /* --master, or NULL for the default. */
    const char *memory; /* --memory, or NULL for the default. */
    int overwrite;      /* --overwrite given. */
    int first_arg;      /* Index in argv of the first positional argument. */
} options_t;

/* Split a line at commas into exactly n fields; 0, or -1 for another count. */
static int split_csv(const flow_rec_t *line, flow_buf_t *fields, int n)
{
    const char *p = line->vlen ? line->val : "", *end = p + line->vlen;
    int k = 0;
    for (;;) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        if (k == n)
            return -1;
        fields[k].data = p;
        fields[k].len = (size_t)((c ? c : end) - p);
        k++;
        if (!c)
            break;
        p = c + 1;
    }
    return k == n ? 0 : -1;
}

/* Fail the task over a malformed line of the file named by arg. */
static int malformed(flow_task_t *t, const flow_rec_t *line, const flow_buf_t *file,
                     const char *why)
{
    int show = line->vlen < SHOW_BYTES ? (int)line->vlen : SHOW_BYTES;
    return flow_task_fail(t, 1, "%.*s: malformed line '%.*s%s': %s", (int)file->len,
                          (const char *)file->data, show,
                          show ? (const char *)line->val : "",
                          line->vlen > SHOW_BYTES ? "..." : "", why);
}

/* A field as an int64 >= 0 in decimal; -1 when it is not one. */
static int64_t field_rank(const flow_buf_t *f)
{
    int64_t v = 0;
    if (f->len == 0 || f->len > 18)
        return -1;
    for (size_t i = 0; i < f->len; i++) {
        char c = ((const char *)f->data)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

/* A field as a finite double; 0, or -1 when it is not one. */
static int field_double(const flow_buf_t *f, double *out)
{
    char tmp[64], *end;
    if (f->len == 0 || f->len >= sizeof tmp)
        return -1;
    memcpy(tmp, f->data, f->len);
    tmp[f->len] = '\0';
    *out = strtod(tmp, &end);
    return *end == '\0' && isfinite(*out) ? 0 : -1;
}

/* map over rankings lines: (pageURL, int64 pageRank / 10). arg: the file name. */
static int parse_ranking(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                         const flow_buf_t *arg)
{
    flow_buf_t f[RANKINGS_FIELDS];
    if (split_csv(in, f, RANKINGS_FIELDS) < 0)
        return malformed(t, in, arg, "expected pageURL,pageRank,avgDuration");
    int64_t rank = field_rank(&f[1]);
    if (rank < 0)
        return malformed(t, in, arg, "pageRank is not an integer >= 0");
    int64_t *bucket = flow_task_alloc(t, sizeof *bucket);
    if (!bucket)
        return -1;
    *bucket = rank / 10;
    *out = flow_rec_kv(f[0].data, f[0].len, bucket, sizeof *bucket);
    return 0;
}

/* map over uservisits lines: (destURL, double adRevenue). arg: the file name. */
static int parse_visit(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                       const flow_buf_t *arg)
{
    flow_buf_t f[VISITS_FIELDS];
    if (split_csv(in, f, VISITS_FIELDS) < 0)
        return malformed(t, in, arg, "expected 9 fields (sourceIP,destURL,...)");
    double *revenue = flow_task_alloc(t, sizeof *revenue);
    if (!revenue)
        return -1;
    if (field_double(&f[3], revenue) < 0)
        return malformed(t, in, arg, "adRevenue is not a number");
    *out = flow_rec_kv(f[1].data, f[1].len, revenue, sizeof *revenue);
    return 0;
}

/* map over joined records (url, pair(revenue, bucket)): (key(bucket), revenue). */
static int by_bucket(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                     const flow_buf_t *arg)
{
    flow_buf_t revenue, bucket;
    if (flow_pair_decode(in->val, in->vlen, &revenue, &bucket) < 0 || !revenue.data ||
        !bucket.data || revenue.len != sizeof(double) || bucket.len != sizeof(int64_t))
        return flow_task_fail(t, 1, "by_bucket: a malformed joined value of %zu bytes",
                              in->vlen);
    uint8_t *key = flow_task_alloc(t, 8);
    if (!key)
        return -1;
    flow_key_from_i64(flow_i64(bucket.data), key);
    *out = flow_rec_kv(key, 8, revenue.data, revenue.len);
    return 0;
}

/* map over (key(bucket), double total): the text "bucket" and "total". */
static int bucket_to_text(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                          const flow_buf_t *arg)
{
    if (in->klen != 8 || in->vlen != sizeof(double))
        return flow_task_fail(t, 1, "bucket_to_text: a record of %zu+%zu bytes", in->klen,
                              in->vlen);
    char *s = flow_task_alloc(t, 96);
    if (!s)
        return -1;
    int klen = snprintf(s, 24, "%" PRId64, flow_key_to_i64(in->key));
    int vlen = snprintf(s + 24, 72, "%.2f", flow_f64(in->val));
    *out = flow_rec_kv(s, (size_t)klen, s + 24, (size_t)vlen);
    return 0;
}

/* Parse the options; returns 0, 1 after --help, or -1 on a usage error. */
static int parse_options(int argc, char **argv, options_t *o)
{
    memset(o, 0, sizeof *o);
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "--help") == 0) {
            return 1;
        } else if (strcmp(a, "--overwrite") == 0) {
            o->overwrite = 1;
        } else if (strcmp(a, "--master") == 0 || strcmp(a, "--memory") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "join: %s needs a value\n", a);
                return -1;
            }
            if (strcmp(a, "--master") == 0)
                o->master = argv[++i];
            else
                o->memory = argv[++i];
        } else {
            fprintf(stderr, "join: unknown option %s\n", a);
            return -1;
        }
    }
    o->first_arg = i;
    if (argc - i != 3) {
        fprintf(stderr, "join: expected RANKINGS.csv USERVISITS.csv OUTDIR\n");
        return -1;
    }
    return 0;
}

/* Build the job over the two tables and save it into outdir. */
static int revenue_by_bucket(flow_context_t *ctx, const char *rankings_path,
                             const char *visits_path, const char *outdir, int overwrite)
{
    enum { RLINES, RANKS, VLINES, VISITS, JOINED, KEYED, TOTALS, SORTED, TEXT, NDS };
    flow_dataset_t *d[NDS] = {NULL};
    int rc = -1;
    if (!(d[RLINES] = flow_dataset_text_file(ctx, rankings_path, 0)) ||
        !(d[RANKS] = flow_dataset_map(d[RLINES], parse_ranking, rankings_path,
                                      strlen(rankings_path))) ||
        !(d[VLINES] = flow_dataset_text_file(ctx, visits_path, 0)) ||
        !(d[VISITS] = flow_dataset_map(d[VLINES], parse_visit, visits_path,
                                       strlen(visits_path))))
        goto done;
    /* Names for error messages (sort_by_key runs a sampling job at once). */
    flow_dataset_set_name(d[RANKS], "parse_ranking");
    flow_dataset_set_name(d[VISITS], "parse_visit");
    if (!(d[JOINED] = flow_dataset_join(d[VISITS], d[RANKS], 0)) ||
        !(d[KEYED] = flow_dataset_map(d[JOINED], by_bucket, NULL, 0)) ||
        !(d[TOTALS] = flow_dataset_combine_builtin(d[KEYED], FLOW_SUM_F64, 0)) ||
        !(d[SORTED] = flow_dataset_sort_by_key(d[TOTALS], 1, NULL, NULL, 0, 0)) ||
        !(d[TEXT] = flow_dataset_map(d[SORTED], bucket_to_text, NULL, 0)))
        goto done;
    rc = flow_dataset_save_as_text_file(d[TEXT], outdir, overwrite);
done:
    if (rc < 0)
        fprintf(stderr, "join: %s\n", flow_last_error(ctx));
    for (int k = 0; k < NDS; k++)
        flow_dataset_destroy(&d[k]);
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
    const char *rankings = argv[o.first_arg], *visits = argv[o.first_arg + 1];
    const char *outdir = argv[o.first_arg + 2];
    struct stat st;
    if (!o.overwrite && lstat(outdir, &st) == 0) {
        fprintf(stderr, "join: %s already exists (use --overwrite)\n", outdir);
        return 1;
    }
    uint64_t in_bytes = 0;
    for (int k = 0; k < 2; k++)
        if (stat(argv[o.first_arg + k], &st) == 0 && S_ISREG(st.st_mode))
            in_bytes += (uint64_t)st.st_size;

    flow_context_t *ctx = ex_open_context("join", o.master, o.memory);
    if (!ctx)
        return 1;
    double t0 = ex_now();
    int rc = revenue_by_bucket(ctx, rankings, visits, outdir, o.overwrite);
    double secs = ex_now() - t0;
    if (rc == 0) {
        flow_stats_t s;
        flow_context_stats(ctx, &s);
        fprintf(stderr,
                "join: master %s, %.3f s, input %" PRIu64 " bytes, read %" PRIu64
                " bytes, %" PRIu64 " tasks\n"
                "join: shuffle written %" PRIu64 " bytes, shuffle read %" PRIu64
                " bytes, spilled %" PRIu64 " bytes\n",
                flow_context_get(ctx, "master"), secs, in_bytes, s.bytes_read, s.tasks,
                s.shuffle_bytes_written, s.shuffle_bytes_read, s.spill_bytes);
    }
    flow_context_destroy(&ctx);
    return rc == 0 ? 0 : 1;
}
