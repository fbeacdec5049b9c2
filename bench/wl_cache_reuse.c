/* wl_cache_reuse.c - cache-reuse: five queries over one parsed, cached table
 * The Big Data Benchmark's uservisits table (bench/genbdb.c; rankings.csv is
 * generated too, and not read) is parsed once into fixed 32-byte visits
 * (visit_t), then queried five times:
 *   q1  SELECT COUNT(*) WHERE visitDate BETWEEN '1980-01-01' AND '1984-08-31'
 *   q2  SELECT countryCode, SUM(adRevenue) GROUP BY countryCode
 *   q3  SELECT YEAR(visitDate), COUNT(*) GROUP BY YEAR(visitDate)
 *   q4  SELECT COUNT(*), SUM(adRevenue), MIN(adRevenue), MAX(adRevenue)
 *       WHERE languageCode = 'en-US' AND duration >= 50
 *   q5  the ten visits of the highest adRevenue (ORDER BY adRevenue DESC,
 *       sourceIP, visitDate, duration, countryCode, languageCode LIMIT 10)
 * Sums are exact (adRevenue as int64 cents). The answer: the order-independent
 * digest of one record per answer row, keyed by the query's name ("q1" ..
 * "q5") followed by the row's group (q2: the country code; q3: the year as an
 * 8-byte key; q5: the row's rank, one byte), valued by the row's int64s (q5:
 * the visit_t); the records are the rows. The time is that of the parse and
 * all five queries.
 * Engine: text_file + map to visit_t (a malformed line fails its task,
 * quoting it), cached in memory; q1 filter + count (which also fills the
 * cache), q2 map to (country, cents) + combine_builtin(FLOW_SUM_I64) +
 * collect, q3 key_by year + count_by_key, q4 filter + aggregate, q5 top(10)
 * with a comparator: every query after the first reads the cached visits.
 * Baseline: the mapped file split into lines and parsed by the same
 * function into an array of visit_t; then one loop per query (q2 in a small
 * table of the country codes seen, q3 in an array by year, q5 by insertion
 * into a sorted array of ten). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flowbench.h"
#include "genbdb.h"

#define VISITS_FIELDS 9
#define DATE_FROM 19800101
#define DATE_TO 19840831
#define LANG "en-US"
#define MIN_DURATION 50
#define TOP_N 10
#define MAX_YEAR 9999
#define MAX_COUNTRIES 256 /* Distinct country codes the baseline's q2 table holds. */
#define MIN_VISIT_LINE 30 /* Bytes of the shortest possible uservisits line. */
#define SHOW_BYTES 80     /* Bytes of a malformed line quoted in its error. */

/* A parsed visit: the fields the queries use. */
typedef struct visit {
    int64_t cents;     /* adRevenue in cents. */
    uint32_t ip;       /* sourceIP a.b.c.d as (a << 24) | (b << 16) | (c << 8) | d. */
    uint32_t date;     /* visitDate YYYY-MM-DD as YYYYMMDD. */
    uint32_t duration; /* duration. */
    char country[4];   /* countryCode, zero-padded. */
    char lang[8];      /* languageCode, zero-padded. */
} visit_t;

/* q4's answer, also the engine's aggregate accumulator. */
typedef struct q4_acc {
    int64_t count; /* Visits. */
    int64_t cents; /* Their revenue. */
    int64_t min;   /* The smallest revenue (INT64_MAX when none). */
    int64_t max;   /* The largest (-1 when none). */
} q4_acc_t;

static int gen(const char *dir, uint64_t size, char *err, size_t errlen)
{
    return fb_gen_bdb(dir, size, err, errlen);
}

/* ---- Parsing and the queries' predicates, for both sides -------------------------------- */

/* Digits in [p, p + n) as a number below 10^9; 0, or -1. */
static int parse_u32(const char *p, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    if (n == 0 || n > 9)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (uint32_t)(p[i] - '0');
    }
    *out = v;
    return 0;
}

static int parse_ip(const char *p, size_t n, uint32_t *out)
{
    uint32_t ip = 0;
    const char *end = p + n;
    for (int k = 0; k < 4; k++) {
        const char *dot = k < 3 ? memchr(p, '.', (size_t)(end - p)) : end;
        uint32_t b;
        if (!dot || parse_u32(p, (size_t)(dot - p), &b) < 0 || b > 255)
            return -1;
        ip = ip << 8 | b;
        p = dot + 1;
    }
    *out = ip;
    return 0;
}

static int parse_date(const char *p, size_t n, uint32_t *out)
{
    uint32_t y, m, d;
    if (n != FB_BDB_DATE_LEN || p[4] != '-' || p[7] != '-' || parse_u32(p, 4, &y) < 0 ||
        parse_u32(p + 5, 2, &m) < 0 || parse_u32(p + 8, 2, &d) < 0)
        return -1;
    *out = y * 10000 + m * 100 + d;
    return 0;
}

/* Parse a uservisits line into v; NULL, or what is wrong with it. */
static const char *parse_visit(const flow_rec_t *line, visit_t *v)
{
    flow_buf_t f[VISITS_FIELDS];
    memset(v, 0, sizeof *v);
    if (fb_bdb_split(line, f, VISITS_FIELDS) < 0)
        return "expected 9 fields (sourceIP,destURL,...)";
    if (parse_ip(f[0].data, f[0].len, &v->ip) < 0)
        return "sourceIP is not a dotted quad";
    if (parse_date(f[2].data, f[2].len, &v->date) < 0)
        return "visitDate is not YYYY-MM-DD";
    if (fb_bdb_cents(f[3].data, f[3].len, &v->cents) < 0)
        return "adRevenue is not a number with at most 2 decimals";
    if (f[5].len > sizeof v->country || f[6].len > sizeof v->lang)
        return "countryCode or languageCode too long";
    memcpy(v->country, f[5].data, f[5].len);
    memcpy(v->lang, f[6].data, f[6].len);
    if (parse_u32(f[8].data, f[8].len, &v->duration) < 0)
        return "duration is not a number";
    return NULL;
}

static int q1_keeps(const visit_t *v)
{
    return v->date >= DATE_FROM && v->date <= DATE_TO;
}

static int q4_keeps(const visit_t *v)
{
    static const char lang[8] = LANG;
    return v->duration >= MIN_DURATION && memcmp(v->lang, lang, sizeof lang) == 0;
}

static void q4_add(q4_acc_t *a, int64_t count, int64_t cents, int64_t min, int64_t max)
{
    a->count += count;
    a->cents += cents;
    a->min = min < a->min ? min : a->min;
    a->max = max > a->max ? max : a->max;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return (a > b) - (a < b);
}

/* q5's order: positive when a ranks above b (more revenue, then the smaller
 * sourceIP, visitDate, duration, countryCode, languageCode). */
static int rank_cmp(const visit_t *a, const visit_t *b)
{
    int c;
    if (a->cents != b->cents)
        return a->cents > b->cents ? 1 : -1;
    if ((c = cmp_u64(b->ip, a->ip)) || (c = cmp_u64(b->date, a->date)) ||
        (c = cmp_u64(b->duration, a->duration)))
        return c;
    if ((c = memcmp(b->country, a->country, sizeof a->country)))
        return c;
    return memcmp(b->lang, a->lang, sizeof a->lang);
}

/* Add an answer row: key = query name then group, value = the row. */
static void add_row(fb_answer_t *out, const char *q, const void *group, size_t glen,
                    const void *val, size_t vlen)
{
    uint8_t key[2 + 16];
    memcpy(key, q, 2);
    if (glen)
        memcpy(key + 2, group, glen);
    out->digest += fb_rec_hash(key, 2 + glen, val, vlen);
    out->records++;
}

/* The q4 and q5 rows and the summary, the same on both sides. */
static void finish(fb_answer_t *out, int64_t q1, uint64_t countries, uint64_t years,
                   const q4_acc_t *q4, const visit_t *top, int ntop)
{
    add_row(out, "q4", NULL, 0, q4, sizeof *q4);
    for (int i = 0; i < ntop; i++) {
        uint8_t rank = (uint8_t)i;
        add_row(out, "q5", &rank, 1, &top[i], sizeof top[i]);
    }
    snprintf(out->summary, sizeof out->summary,
             "q1 %lld visits; q2 %llu countries; q3 %llu years; q4 %lld visits, %lld cents; "
             "q5 top %lld cents", (long long)q1, (unsigned long long)countries,
             (unsigned long long)years, (long long)q4->count, (long long)q4->cents,
             ntop ? (long long)top[0].cents : -1LL);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* ---- Engine ---------------------------------------------------------------------------- */

/* map over uservisits lines: the visit_t. arg: one byte, nonzero for the
 * test-only wrong answer (a cent too much on every visit). */
static int visit_of(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                    const flow_buf_t *arg)
{
    visit_t *v = flow_task_alloc(t, sizeof *v);
    if (!v)
        return -1;
    const char *why = parse_visit(in, v);
    if (why) {
        int show = in->vlen < SHOW_BYTES ? (int)in->vlen : SHOW_BYTES;
        return flow_task_fail(t, 1, "uservisits.csv: malformed line '%.*s%s': %s", show,
                              show ? (const char *)in->val : "",
                              in->vlen > SHOW_BYTES ? "..." : "", why);
    }
    v->cents += *(const uint8_t *)arg->data != 0;
    *out = flow_rec(v, sizeof *v);
    return 0;
}

/* A cached visit, checked for size. */
static const visit_t *as_visit(flow_task_t *t, const flow_rec_t *r)
{
    if (r->vlen != sizeof(visit_t)) {
        flow_task_fail(t, 1, "cache-reuse: a visit of %zu bytes", r->vlen);
        return NULL;
    }
    return r->val;
}

static int q1_filter(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg)
{
    const visit_t *v = as_visit(t, in);
    return v ? q1_keeps(v) : -1;
}

/* map: (countryCode, int64 cents). */
static int q2_country_cents(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                            const flow_buf_t *arg)
{
    const visit_t *v = as_visit(t, in);
    if (!v)
        return -1;
    *out = flow_rec_kv(v->country, strnlen(v->country, sizeof v->country), &v->cents,
                       sizeof v->cents);
    return 0;
}

/* key_by: the year as an 8-byte key. */
static int q3_year(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                   const flow_buf_t *arg)
{
    const visit_t *v = as_visit(t, in);
    uint8_t *k = v ? flow_task_alloc(t, 8) : NULL;
    if (!k)
        return -1;
    flow_key_from_i64(v->date / 10000, k);
    out->key = k;
    out->klen = 8;
    return 0;
}

static int q4_filter(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg)
{
    const visit_t *v = as_visit(t, in);
    return v ? q4_keeps(v) : -1;
}

static int q4_seq(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b, flow_rec_t *out,
                  const flow_buf_t *arg)
{
    const visit_t *v = as_visit(t, b);
    q4_acc_t *acc = v ? flow_task_alloc(t, sizeof *acc) : NULL;
    if (!acc)
        return -1;
    memcpy(acc, a->val, sizeof *acc);
    q4_add(acc, 1, v->cents, v->cents, v->cents);
    *out = flow_rec(acc, sizeof *acc);
    return 0;
}

static int q4_comb(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b, flow_rec_t *out,
                   const flow_buf_t *arg)
{
    q4_acc_t *acc = flow_task_alloc(t, sizeof *acc), y;
    if (!acc)
        return -1;
    memcpy(acc, a->val, sizeof *acc);
    memcpy(&y, b->val, sizeof y);
    q4_add(acc, y.count, y.cents, y.min, y.max);
    *out = flow_rec(acc, sizeof *acc);
    return 0;
}

static int q5_cmp(const flow_rec_t *a, const flow_rec_t *b, const flow_buf_t *arg)
{
    visit_t x, y;
    memcpy(&x, a->val, sizeof x);
    memcpy(&y, b->val, sizeof y);
    return rank_cmp(&x, &y);
}

/* The keyed rows of a result into out under query q; their number. */
static uint64_t add_result_rows(fb_answer_t *out, const char *q, const flow_result_t *res)
{
    size_t pos = 0;
    flow_rec_t r;
    uint64_t n = 0;
    while (flow_result_next(res, &pos, &r) == 1) {
        add_row(out, q, r.key, r.klen < 16 ? r.klen : 16, r.val, r.vlen);
        n++;
    }
    return n;
}

/* The five queries over the cached visits into out; 0, or -1 (see flow_last_error). */
static int run_queries(flow_dataset_t *visits, fb_answer_t *out, uint64_t *n_visits)
{
    flow_dataset_t *d[5] = {NULL};
    flow_result_t *r2 = NULL, *r3 = NULL, *r4 = NULL, *r5 = NULL;
    uint64_t q1 = 0, countries = 0, years = 0;
    q4_acc_t zero = {0, 0, INT64_MAX, -1};
    flow_rec_t z = flow_rec(&zero, sizeof zero);
    int rc = -1;
    if ((d[0] = flow_dataset_filter(visits, q1_filter, NULL, 0)) &&
        flow_dataset_count(d[0], &q1) == FLOW_OK &&
        (d[1] = flow_dataset_map(visits, q2_country_cents, NULL, 0)) &&
        (d[2] = flow_dataset_combine_builtin(d[1], FLOW_SUM_I64, 0)) &&
        flow_dataset_collect(d[2], &r2) == FLOW_OK &&
        (d[3] = flow_dataset_key_by(visits, q3_year, NULL, 0)) &&
        flow_dataset_count_by_key(d[3], &r3) == FLOW_OK &&
        (d[4] = flow_dataset_filter(visits, q4_filter, NULL, 0)) &&
        flow_dataset_aggregate(d[4], &z, q4_seq, q4_comb, NULL, 0, &r4) == FLOW_OK &&
        flow_dataset_top(visits, TOP_N, q5_cmp, NULL, 0, &r5) == FLOW_OK)
        rc = 0;
    if (rc == 0) {
        int64_t q1v = (int64_t)q1;
        add_row(out, "q1", NULL, 0, &q1v, sizeof q1v);
        countries = add_result_rows(out, "q2", r2);
        years = add_result_rows(out, "q3", r3);
        q4_acc_t q4;
        memcpy(&q4, flow_result_get(r4, 0)->val, sizeof q4);
        visit_t top[TOP_N];
        int ntop = (int)flow_result_count(r5);
        for (int i = 0; i < ntop && i < TOP_N; i++)
            memcpy(&top[i], flow_result_get(r5, (size_t)i)->val, sizeof top[i]);
        finish(out, q1v, countries, years, &q4, top, ntop < TOP_N ? ntop : TOP_N);
        /* q3's counts add up to every visit. */
        size_t pos = 0;
        flow_rec_t r;
        while (flow_result_next(r3, &pos, &r) == 1)
            *n_visits += (uint64_t)flow_i64(r.val);
    }
    flow_result_destroy(&r2);
    flow_result_destroy(&r3);
    flow_result_destroy(&r4);
    flow_result_destroy(&r5);
    for (int i = 4; i >= 0; i--)
        flow_dataset_destroy(&d[i]);
    return rc;
}

static int engine(flow_context_t *ctx, const char *dir, uint64_t size, int wrong,
                  fb_answer_t *out, fb_counters_t *cnt, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/uservisits.csv", dir);
    uint8_t w = wrong != 0;
    flow_dataset_t *lines = flow_dataset_text_file(ctx, path, 0);
    flow_dataset_t *visits = lines ? flow_dataset_map(lines, visit_of, &w, 1) : NULL;
    uint64_t n = 0;
    int rc = visits && flow_dataset_cache(visits) ? run_queries(visits, out, &n) : -1;
    if (rc < 0) {
        snprintf(err, errlen, "%s", flow_last_error(ctx));
    } else {
        cnt->input_bytes = file_size(path);
        cnt->input_records = n;
    }
    flow_dataset_destroy(&visits);
    flow_dataset_destroy(&lines);
    return rc;
}

/* ---- Baseline -------------------------------------------------------------------------- */

/* Parse every line of [p, p + len) into an array; its length, or -1 with err set. */
static int64_t load_visits(const char *p, size_t len, visit_t **out, char *err, size_t errlen)
{
    size_t cap = len / MIN_VISIT_LINE + 1;
    visit_t *v = malloc(cap * sizeof *v);
    if (!v) {
        snprintf(err, errlen, "cache-reuse baseline: out of memory");
        return -1;
    }
    int64_t n = 0;
    for (const char *at = p, *end = p + len; at < end; n++) {
        const char *nl = memchr(at, '\n', (size_t)(end - at)), *eol = nl ? nl : end;
        flow_rec_t line = flow_rec(at, (size_t)(eol - at));
        const char *why = (size_t)n < cap ? parse_visit(&line, &v[n]) : "too many lines";
        if (why) {
            snprintf(err, errlen, "uservisits.csv: malformed line %lld: %s", (long long)n + 1,
                     why);
            free(v);
            return -1;
        }
        at = nl ? nl + 1 : end;
    }
    *out = v;
    return n;
}

/* q2: revenue per country code, in a small table; the rows into out. */
static int baseline_q2(const visit_t *v, int64_t n, fb_answer_t *out, uint64_t *countries)
{
    static char codes[MAX_COUNTRIES][4];
    static int64_t sums[MAX_COUNTRIES];
    int nc = 0, last = 0;
    for (int64_t i = 0; i < n; i++) {
        if (nc == 0 || memcmp(codes[last], v[i].country, 4) != 0) {
            for (last = 0; last < nc && memcmp(codes[last], v[i].country, 4) != 0; last++)
                ;
            if (last == nc) {
                if (nc == MAX_COUNTRIES)
                    return -1;
                memcpy(codes[nc], v[i].country, 4);
                sums[nc++] = 0;
            }
        }
        sums[last] += v[i].cents;
    }
    for (int c = 0; c < nc; c++)
        add_row(out, "q2", codes[c], strnlen(codes[c], 4), &sums[c], sizeof sums[c]);
    *countries = (uint64_t)nc;
    return 0;
}

/* q3: visits per year; the rows into out. */
static void baseline_q3(const visit_t *v, int64_t n, fb_answer_t *out, uint64_t *years)
{
    static int64_t count[MAX_YEAR + 1];
    memset(count, 0, sizeof count);
    for (int64_t i = 0; i < n; i++)
        count[v[i].date / 10000]++;
    *years = 0;
    for (int y = 0; y <= MAX_YEAR; y++)
        if (count[y]) {
            uint8_t k[8];
            flow_key_from_i64(y, k);
            add_row(out, "q3", k, sizeof k, &count[y], sizeof count[y]);
            (*years)++;
        }
}

/* q5: the TOP_N highest-ranked visits, best first, by insertion; their number. */
static int baseline_q5(const visit_t *v, int64_t n, visit_t *top)
{
    int nt = 0;
    for (int64_t i = 0; i < n; i++) {
        if (nt == TOP_N && rank_cmp(&v[i], &top[TOP_N - 1]) <= 0)
            continue;
        int at = nt < TOP_N ? nt++ : TOP_N - 1;
        for (; at > 0 && rank_cmp(&v[i], &top[at - 1]) > 0; at--)
            top[at] = top[at - 1];
        top[at] = v[i];
    }
    return nt;
}

static int baseline(const char *dir, uint64_t size, fb_answer_t *out, fb_counters_t *cnt,
                    char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/uservisits.csv", dir);
    size_t len;
    const char *p = fb_map(path, &len, err, errlen);
    if (!p)
        return -1;
    visit_t *v = NULL;
    int64_t n = load_visits(p, len, &v, err, errlen);
    int rc = n < 0 ? -1 : 0;
    if (rc == 0) {
        int64_t q1 = 0;
        for (int64_t i = 0; i < n; i++)
            q1 += q1_keeps(&v[i]);
        add_row(out, "q1", NULL, 0, &q1, sizeof q1);
        uint64_t countries = 0, years = 0;
        if (baseline_q2(v, n, out, &countries) < 0) {
            snprintf(err, errlen, "uservisits.csv: more than %d country codes", MAX_COUNTRIES);
            rc = -1;
        }
        baseline_q3(v, n, out, &years);
        q4_acc_t q4 = {0, 0, INT64_MAX, -1};
        for (int64_t i = 0; i < n; i++)
            if (q4_keeps(&v[i]))
                q4_add(&q4, 1, v[i].cents, v[i].cents, v[i].cents);
        visit_t top[TOP_N];
        int ntop = baseline_q5(v, n, top);
        finish(out, q1, countries, years, &q4, top, ntop);
        cnt->input_bytes = len;
        cnt->input_records = (uint64_t)n;
    }
    free(v);
    fb_unmap(p, len);
    return rc;
}

const fb_workload_t fb_wl_cache_reuse = {
    "cache-reuse",
    "five queries over one parsed, cached BDB uservisits table (map + cache; filter + count, "
    "combine_builtin, count_by_key, aggregate, top)",
    "unordered", 256ull << 20, gen, engine, baseline,
};
