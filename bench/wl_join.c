/* wl_join.c - join: revenue and average pageRank per visitor (BDB query 3)
 *   SELECT sourceIP, SUM(adRevenue) AS totalRevenue, AVG(pageRank)
 *   FROM rankings R JOIN uservisits UV ON R.pageURL = UV.destURL
 *   WHERE UV.visitDate BETWEEN '1980-01-01' AND '1984-08-31'
 *   GROUP BY UV.sourceIP
 * and the top visitor: ORDER BY totalRevenue DESC, sourceIP ASC LIMIT 1, over
 * the Big Data Benchmark's tables (bench/genbdb.c; about 15% of the visits
 * fall in the dates). Sums are exact: adRevenue as int64 cents, pageRank as an
 * int64 sum with a count (the average is their quotient). The answer is the
 * order-independent digest of the records (sourceIP, acc), acc being three
 * native int64 | cents | pageRank sum | visits |, plus fb_chain(TOP_TAG, top
 * record) for the top visitor.
 * Engine: rankings by text_file + map to (pageURL, int64 pageRank); uservisits
 * by text_file + filter on the date + map to (destURL, | int64 cents |
 * sourceIP |); join (the engine broadcasts the rankings when they are small);
 * map to (sourceIP, acc); reduce_by_key adding accs; digested in the tasks,
 * then top(1) with a comparator, which reuses the shuffle's map outputs. A
 * line with the wrong number of fields or a bad number fails its task,
 * quoting the line.
 * Baseline: rankings loaded into an open-addressing table of URL -> pageRank
 * (XXH3 of the URL, linear probing; a URL ranked twice matches twice, as in
 * the join); uservisits scanned once by hand, dates tested before anything
 * else is parsed, and matches added into a second table keyed by the
 * sourceIP packed into 16 bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "flowbench.h"
#include "genbdb.h"

#define DATE_FROM "1980-01-01"
#define DATE_TO "1984-08-31"
#define RANKINGS_FIELDS 3
#define VISITS_FIELDS 9
#define IP_MAX 15                         /* Bytes of the longest dotted quad. */
#define TOP_TAG 0x746F702D76697369ull     /* Seeds the top record's digest term. */
#define SHOW_BYTES 80                     /* Bytes of a malformed line quoted in its error. */

/* Per visitor: the aggregates, as the engine's values and the baseline's slots hold them. */
typedef struct acc {
    int64_t cents;    /* Sum of adRevenue in cents. */
    int64_t rank_sum; /* Sum of the visited pages' pageRank. */
    int64_t visits;   /* Joined visits. */
} acc_t;

static int gen(const char *dir, uint64_t size, char *err, size_t errlen)
{
    return fb_gen_bdb(dir, size, err, errlen);
}

/* ---- Engine ---------------------------------------------------------------------------- */

/* The date filter's argument. */
typedef struct dates {
    char from[FB_BDB_DATE_LEN]; /* First date kept, YYYY-MM-DD. */
    char to[FB_BDB_DATE_LEN];   /* Last date kept. */
} dates_t;

/* Decimal digits in [p, p + n), at most 15; 0, or -1 when malformed. */
static int parse_int(const char *p, size_t n, int64_t *out)
{
    int64_t v = 0;
    if (n == 0 || n > 15)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

static int malformed(flow_task_t *t, const char *file, const flow_rec_t *line, const char *why)
{
    int show = line->vlen < SHOW_BYTES ? (int)line->vlen : SHOW_BYTES;
    return flow_task_fail(t, 1, "%s: malformed line '%.*s%s': %s", file, show,
                          show ? (const char *)line->val : "",
                          line->vlen > SHOW_BYTES ? "..." : "", why);
}

/* map over rankings lines: (pageURL, int64 pageRank). */
static int ranking_by_url(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                          const flow_buf_t *arg)
{
    flow_buf_t f[RANKINGS_FIELDS];
    if (fb_bdb_split(in, f, RANKINGS_FIELDS) < 0)
        return malformed(t, "rankings.csv", in, "expected pageURL,pageRank,avgDuration");
    int64_t *rank = flow_task_alloc(t, sizeof *rank);
    if (!rank)
        return -1;
    if (parse_int(f[1].data, f[1].len, rank) < 0)
        return malformed(t, "rankings.csv", in, "pageRank is not an integer >= 0");
    *out = flow_rec_kv(f[0].data, f[0].len, rank, sizeof *rank);
    return 0;
}

/* filter over uservisits lines: visitDate (the third field) in the dates of arg. */
static int in_dates(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg)
{
    const dates_t *d = arg->data;
    const char *p = in->val, *end = p + in->vlen, *c = in->vlen ? memchr(p, ',', in->vlen) : NULL;
    if (c)
        c = memchr(c + 1, ',', (size_t)(end - c - 1));
    if (!c || end - c <= FB_BDB_DATE_LEN + 1 || c[1 + FB_BDB_DATE_LEN] != ',')
        return malformed(t, "uservisits.csv", in, "no visitDate YYYY-MM-DD in the third field");
    return memcmp(c + 1, d->from, FB_BDB_DATE_LEN) >= 0 &&
           memcmp(c + 1, d->to, FB_BDB_DATE_LEN) <= 0;
}

/* map over uservisits lines: (destURL, | int64 cents | sourceIP |). arg: one
 * byte, nonzero for the test-only wrong answer (a cent too much on every visit). */
static int visit_by_url(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                        const flow_buf_t *arg)
{
    flow_buf_t f[VISITS_FIELDS];
    if (fb_bdb_split(in, f, VISITS_FIELDS) < 0)
        return malformed(t, "uservisits.csv", in, "expected 9 fields (sourceIP,destURL,...)");
    if (f[0].len == 0 || f[0].len > IP_MAX)
        return malformed(t, "uservisits.csv", in, "sourceIP is not a dotted quad");
    int64_t cents;
    if (fb_bdb_cents(f[3].data, f[3].len, &cents) < 0)
        return malformed(t, "uservisits.csv", in,
                         "adRevenue is not a number with at most 2 decimals");
    cents += *(const uint8_t *)arg->data != 0;
    char *v = flow_task_alloc(t, sizeof cents + f[0].len);
    if (!v)
        return -1;
    memcpy(v, &cents, sizeof cents);
    memcpy(v + sizeof cents, f[0].data, f[0].len);
    *out = flow_rec_kv(f[1].data, f[1].len, v, sizeof cents + f[0].len);
    return 0;
}

/* map over joined (destURL, pair(visit, pageRank)): (sourceIP, acc of the visit). */
static int visit_by_source(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                           const flow_buf_t *arg)
{
    flow_buf_t visit, rank;
    if (flow_pair_decode(in->val, in->vlen, &visit, &rank) < 0 || !visit.data || !rank.data ||
        visit.len <= sizeof(int64_t) || rank.len != sizeof(int64_t))
        return flow_task_fail(t, 1, "visit_by_source: a malformed joined value of %zu bytes",
                              in->vlen);
    acc_t *a = flow_task_alloc(t, sizeof *a);
    if (!a)
        return -1;
    a->cents = flow_i64(visit.data);
    a->rank_sum = flow_i64(rank.data);
    a->visits = 1;
    *out = flow_rec_kv((const char *)visit.data + sizeof(int64_t),
                       visit.len - sizeof(int64_t), a, sizeof *a);
    return 0;
}

/* reduce_by_key: the sum of two accs. */
static int add_acc(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b, flow_rec_t *out,
                   const flow_buf_t *arg)
{
    if (a->vlen != sizeof(acc_t) || b->vlen != sizeof(acc_t))
        return flow_task_fail(t, 1, "add_acc: values of %zu and %zu bytes", a->vlen, b->vlen);
    acc_t x, y, *s = flow_task_alloc(t, sizeof *s);
    if (!s)
        return -1;
    memcpy(&x, a->val, sizeof x);
    memcpy(&y, b->val, sizeof y);
    s->cents = x.cents + y.cents;
    s->rank_sum = x.rank_sum + y.rank_sum;
    s->visits = x.visits + y.visits;
    *out = flow_rec(s, sizeof *s);
    return 0;
}

/* Compare visitors by revenue, then by sourceIP reversed, so that the
 * largest comes first in ORDER BY totalRevenue DESC, sourceIP ASC. */
static int cmp_ip_revenue(int64_t ca, const void *ka, size_t la, int64_t cb, const void *kb,
                          size_t lb)
{
    if (ca != cb)
        return ca < cb ? -1 : 1;
    int c = memcmp(kb, ka, la < lb ? la : lb);
    return c ? c : (lb > la) - (lb < la);
}

static int cmp_revenue(const flow_rec_t *a, const flow_rec_t *b, const flow_buf_t *arg)
{
    (void)arg;
    return cmp_ip_revenue(flow_i64(a->val), a->key, a->klen, flow_i64(b->val), b->key,
                          b->klen);
}

static void summarize(fb_answer_t *out, const void *ip, size_t iplen, int64_t cents)
{
    if (out->records == 0)
        snprintf(out->summary, sizeof out->summary, "0 sources");
    else
        snprintf(out->summary, sizeof out->summary, "%llu sources, top %.*s %lld",
                 (unsigned long long)out->records, (int)iplen, (const char *)ip,
                 (long long)cents);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Build the query's datasets into ds[0..7] (NULL from the first failure on);
 * ds[7] is the per-visitor aggregate. */
static void build(flow_context_t *ctx, const char *dir, uint8_t wrong, flow_dataset_t **ds)
{
    char path[4096];
    dates_t d;
    memcpy(d.from, DATE_FROM, FB_BDB_DATE_LEN);
    memcpy(d.to, DATE_TO, FB_BDB_DATE_LEN);
    snprintf(path, sizeof path, "%s/rankings.csv", dir);
    ds[0] = flow_dataset_text_file(ctx, path, 0);
    ds[1] = ds[0] ? flow_dataset_map(ds[0], ranking_by_url, NULL, 0) : NULL;
    snprintf(path, sizeof path, "%s/uservisits.csv", dir);
    ds[2] = ds[1] ? flow_dataset_text_file(ctx, path, 0) : NULL;
    ds[3] = ds[2] ? flow_dataset_filter(ds[2], in_dates, &d, sizeof d) : NULL;
    ds[4] = ds[3] ? flow_dataset_map(ds[3], visit_by_url, &wrong, 1) : NULL;
    ds[5] = ds[4] ? flow_dataset_join(ds[4], ds[1], 0) : NULL;
    ds[6] = ds[5] ? flow_dataset_map(ds[5], visit_by_source, NULL, 0) : NULL;
    ds[7] = ds[6] ? flow_dataset_reduce_by_key(ds[6], add_acc, NULL, 0, 0) : NULL;
}

static int engine(flow_context_t *ctx, const char *dir, uint64_t size, int wrong,
                  fb_answer_t *out, fb_counters_t *cnt, char *err, size_t errlen)
{
    (void)size;
    flow_stats_t before, after;
    flow_context_stats(ctx, &before);
    flow_dataset_t *ds[8];
    build(ctx, dir, wrong != 0, ds);
    flow_result_t *top = NULL;
    int rc = ds[7] ? fb_digest_dataset(ds[7], out, err, errlen) : -1;
    if (!ds[7] || (rc == 0 && (rc = flow_dataset_top(ds[7], 1, cmp_revenue, NULL, 0, &top)) < 0))
        snprintf(err, errlen, "%s", flow_last_error(ctx));
    const flow_rec_t *r = rc == 0 ? flow_result_get(top, 0) : NULL;
    if (r)
        out->digest += fb_chain(TOP_TAG, r->key, r->klen, r->val, r->vlen);
    summarize(out, r ? r->key : "", r ? r->klen : 0, r ? flow_i64(r->val) : 0);
    flow_context_stats(ctx, &after);
    char path[4096];
    snprintf(path, sizeof path, "%s/rankings.csv", dir);
    cnt->input_bytes = file_size(path);
    snprintf(path, sizeof path, "%s/uservisits.csv", dir);
    cnt->input_bytes += file_size(path);
    cnt->input_records = after.records_read - before.records_read;
    flow_result_destroy(&top);
    for (int i = 7; i >= 0; i--)
        flow_dataset_destroy(&ds[i]);
    return rc;
}

/* ---- Baseline -------------------------------------------------------------------------- */

/* A ranked page: where its URL is in the mapped rankings, and its rank; 16
 * bytes, so that the table of the 6.8M pages takes 256 MiB. */
typedef struct page {
    uint32_t off;  /* Offset of the URL in the rankings, plus 1; 0 marks an empty slot. */
    uint32_t len;  /* URL length. */
    uint32_t hash; /* Low half of the URL's XXH3 (tables stay under 2^32 slots). */
    int32_t rank;  /* pageRank. */
} page_t;

/* A visitor: its sourceIP packed into 16 bytes and its aggregates. */
typedef struct visitor {
    uint64_t ip[2]; /* sourceIP bytes, zero-padded; ip[0] == 0 marks an empty slot. */
    acc_t acc;      /* Aggregates. */
} visitor_t;

/* An open-addressing table with linear probing, kept at most half full. */
typedef struct table {
    void *slots;   /* cap slots of size bytes. */
    size_t size;   /* Bytes of a slot. */
    size_t cap;    /* Capacity, a power of two. */
    size_t n;      /* Slots in use. */
    const char *base; /* Pages: the mapped rankings. */
} table_t;

static size_t ip_slot(const uint64_t ip[2], size_t cap)
{
    uint64_t h = (ip[0] * 0x9E3779B97F4A7C15ull) ^ (ip[1] * 0xC2B2AE3D27D4EB4Full);
    return (size_t)(h ^ (h >> 31)) & (cap - 1);
}

static int is_empty(const table_t *t, const void *slot)
{
    return t->size == sizeof(page_t) ? ((const page_t *)slot)->off == 0
                                     : ((const visitor_t *)slot)->ip[0] == 0;
}

static size_t home_of(const table_t *t, const void *slot, size_t cap)
{
    return t->size == sizeof(page_t) ? (size_t)((const page_t *)slot)->hash & (cap - 1)
                                     : ip_slot(((const visitor_t *)slot)->ip, cap);
}

/* Make room for more entries, keeping the table at most half full: double the
 * capacity (at least 4Ki slots) as often as needed; 0, or -1 when out of memory. */
static int table_reserve(table_t *t, size_t more)
{
    size_t cap = t->cap ? t->cap : 1u << 12;
    while (2 * (t->n + more) > cap)
        cap *= 2;
    if (cap == t->cap)
        return 0;
    char *s = fb_table_alloc(cap * t->size), *old = t->slots;
    if (!s)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (!is_empty(t, old + i * t->size)) {
            size_t j = home_of(t, old + i * t->size, cap);
            while (!is_empty(t, s + j * t->size))
                j = (j + 1) & (cap - 1);
            memcpy(s + j * t->size, old + i * t->size, t->size);
        }
    free(old);
    t->slots = s;
    t->cap = cap;
    return 0;
}

/* Both tables outgrow the caches: work goes in batches whose slots are
 * prefetched a batch or two before they are used, so that the misses of a
 * batch overlap each other and the work on the batches before it. */
enum { BATCH = 16 };

/* Insert a batch of pages whose slots were prefetched. */
static void insert_pages(table_t *pages, const page_t *pg, int n)
{
    page_t *s = pages->slots;
    for (int i = 0; i < n; i++) {
        size_t j = pg[i].hash & (pages->cap - 1);
        while (s[j].off)
            j = (j + 1) & (pages->cap - 1);
        s[j] = pg[i];
        pages->n++;
    }
}

/* Load rankings into pages; 0, or -1 with err set. */
static int load_rankings(const char *p, size_t len, table_t *pages, uint64_t *rows, char *err,
                         size_t errlen)
{
    const char *at = p, *end = p + len;
    page_t batch[2][BATCH];
    int n[2] = {0, 0}, k = 0;
    for (;;) {
        /* Parse and hash a batch and prefetch its slots; insert the last one. */
        page_t *b = batch[k & 1];
        n[k & 1] = 0;
        if (table_reserve(pages, 2 * BATCH) < 0) {
            snprintf(err, errlen, "rankings.csv: out of memory");
            return -1;
        }
        while (n[k & 1] < BATCH && at < end) {
            const char *nl = memchr(at, '\n', (size_t)(end - at)), *eol = nl ? nl : end;
            const char *c = memchr(at, ',', (size_t)(eol - at));
            int64_t rank = 0;
            const char *r = c ? c + 1 : eol;
            for (; r < eol && *r >= '0' && *r <= '9'; r++)
                rank = rank * 10 + (*r - '0');
            if (!c || c == at || r == c + 1 || r >= eol || *r != ',' || r - (c + 1) > 9) {
                snprintf(err, errlen, "rankings.csv: malformed line %llu",
                         (unsigned long long)*rows + 1);
                return -1;
            }
            page_t *pg = &b[n[k & 1]++];
            *pg = (page_t){(uint32_t)(at - p) + 1, (uint32_t)(c - at),
                           (uint32_t)XXH3_64bits(at, (size_t)(c - at)), (int32_t)rank};
            __builtin_prefetch((page_t *)pages->slots + (pg->hash & (pages->cap - 1)), 1);
            (*rows)++;
            at = nl ? nl + 1 : end;
        }
        insert_pages(pages, batch[(k + 1) & 1], n[(k + 1) & 1]);
        if (n[k & 1] == 0)
            return 0;
        n[(k + 1) & 1] = 0;
        k++;
    }
}

/* Add a visit of (ip, iplen) with cents and rank to the visitors; 0 or -1. */
static int add_visit(table_t *vis, const char *ip, size_t iplen, int64_t cents, int64_t rank)
{
    if (table_reserve(vis, 1) < 0)
        return -1;
    uint64_t key[2] = {0, 0};
    memcpy(key, ip, iplen);
    visitor_t *s = vis->slots;
    size_t j = ip_slot(key, vis->cap);
    while (s[j].ip[0] && (s[j].ip[0] != key[0] || s[j].ip[1] != key[1]))
        j = (j + 1) & (vis->cap - 1);
    if (!s[j].ip[0]) {
        memcpy(s[j].ip, key, sizeof key);
        vis->n++;
    }
    s[j].acc.cents += cents;
    s[j].acc.rank_sum += rank;
    s[j].acc.visits++;
    return 0;
}

/* A visit in the date range, scanned and waiting to be joined. */
typedef struct visit {
    const char *ip, *url; /* sourceIP and destURL bytes in the mapped file. */
    size_t iplen, ulen;   /* Their lengths. */
    int64_t cents;        /* adRevenue in cents. */
    uint64_t h;           /* XXH3 of the URL. */
} visit_t;

/* Scan one visit at p into *v (v->ip NULL when its date is out of range).
 * Returns the start of the next line, or NULL when the line is malformed. */
static const char *scan_visit(const char *p, const char *end, visit_t *v)
{
    v->ip = NULL;
    const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
    const char *next = nl ? nl + 1 : end, *f[4], *c = p;
    for (int k = 0; k < 4; k++) {
        f[k] = c;
        /* memchr: the URL field is most of the line. */
        if (!(c = memchr(c, ',', (size_t)(eol - c))))
            return NULL;
        c++;
        if (k == 2 && (c - f[2] != FB_BDB_DATE_LEN + 1 ||
                       memcmp(f[2], DATE_FROM, FB_BDB_DATE_LEN) < 0 ||
                       memcmp(f[2], DATE_TO, FB_BDB_DATE_LEN) > 0))
            return c - f[2] == FB_BDB_DATE_LEN + 1 ? next : NULL;
    }
    size_t iplen = (size_t)(f[1] - 1 - f[0]), ulen = (size_t)(f[2] - 1 - f[1]);
    const char *d = f[3], *dend = c - 1;
    int64_t cents = 0, scale = 100;
    for (; d < dend && *d >= '0' && *d <= '9'; d++)
        cents = cents * 10 + (*d - '0');
    if (d == f[3] || d - f[3] > 15 || iplen == 0 || iplen > IP_MAX)
        return NULL;
    if (d < dend && *d == '.')
        for (d++; d < dend && scale > 1 && *d >= '0' && *d <= '9'; d++, scale /= 10)
            cents = cents * 10 + (*d - '0');
    if (d != dend || dend[-1] == '.')
        return NULL;
    v->ip = f[0];
    v->iplen = iplen;
    v->url = f[1];
    v->ulen = ulen;
    v->cents = cents * scale;
    v->h = XXH3_64bits(f[1], ulen);
    return next;
}

/* Join a visit with the rankings of its URL and add it up; 0, or -1 when
 * memory ran out. */
static int join_visit(const table_t *pages, table_t *vis, const visit_t *v)
{
    const page_t *s = pages->slots;
    for (size_t j = v->h & (pages->cap - 1); s[j].off; j = (j + 1) & (pages->cap - 1))
        if (s[j].hash == (uint32_t)v->h && s[j].len == v->ulen &&
            memcmp(pages->base + s[j].off - 1, v->url, v->ulen) == 0 &&
            add_visit(vis, v->ip, v->iplen, v->cents, s[j].rank) < 0)
            return -1;
    return 0;
}

/* A visit touches a page slot, then the page's URL in the rankings file and
 * a visitor slot: a batch of visits is scanned and its page slots prefetched;
 * one batch later, the URLs of the pages in those slots and the visitor
 * slots are; one batch later again it is joined. */
static void prefetch_pages(const table_t *pages, const visit_t *v, int n)
{
    const page_t *s = pages->slots;
    for (int i = 0; i < n; i++)
        __builtin_prefetch(&s[v[i].h & (pages->cap - 1)]);
}

static void prefetch_urls(const table_t *pages, const table_t *vis, const visit_t *v, int n)
{
    const page_t *s = pages->slots;
    for (int i = 0; i < n; i++) {
        const page_t *home = &s[v[i].h & (pages->cap - 1)];
        if (home->off)
            __builtin_prefetch(pages->base + home->off - 1);
        uint64_t key[2] = {0, 0};
        memcpy(key, v[i].ip, v[i].iplen);
        __builtin_prefetch((const visitor_t *)vis->slots + ip_slot(key, vis->cap), 1);
    }
}

/* The digest and top of the visitors into out. */
static void digest_visitors(const table_t *vis, fb_answer_t *out)
{
    const visitor_t *s = vis->slots, *top = NULL;
    out->digest = 0;
    out->records = 0;
    for (size_t i = 0; i < vis->cap; i++) {
        if (!s[i].ip[0])
            continue;
        const char *ip = (const char *)s[i].ip;
        size_t len = strnlen(ip, sizeof s[i].ip);
        out->digest += fb_rec_hash(ip, len, &s[i].acc, sizeof s[i].acc);
        out->records++;
        const char *tip = top ? (const char *)top->ip : NULL;
        if (!top || cmp_ip_revenue(s[i].acc.cents, ip, len, top->acc.cents, tip,
                                   strnlen(tip, sizeof top->ip)) > 0)
            top = &s[i];
    }
    const char *tip = top ? (const char *)top->ip : "";
    size_t tlen = top ? strnlen(tip, sizeof top->ip) : 0;
    if (top)
        out->digest += fb_chain(TOP_TAG, tip, tlen, &top->acc, sizeof top->acc);
    summarize(out, tip, tlen, top ? top->acc.cents : 0);
}

static int baseline(const char *dir, uint64_t size, fb_answer_t *out, fb_counters_t *cnt,
                    char *err, size_t errlen)
{
    (void)size;
    char rpath[4096], vpath[4096];
    snprintf(rpath, sizeof rpath, "%s/rankings.csv", dir);
    snprintf(vpath, sizeof vpath, "%s/uservisits.csv", dir);
    size_t rlen = 0, vlen = 0;
    const char *r = fb_map(rpath, &rlen, err, errlen);
    const char *v = r ? fb_map(vpath, &vlen, err, errlen) : NULL;
    table_t pages = {NULL, sizeof(page_t), 0, 0, r}, vis = {NULL, sizeof(visitor_t), 0, 0, NULL};
    uint64_t rrows = 0, vrows = 0;
    /* Rankings lines are some 40 bytes long: size the URL table for them at once. */
    int rc = v && table_reserve(&pages, rlen / 40) == 0 && table_reserve(&vis, 1) == 0 ? 0 : -1;
    if (rc == 0 && rlen >= UINT32_MAX) {
        snprintf(err, errlen, "%s: over 4 GiB, past what the baseline's page table holds",
                 rpath);
        rc = -1;
    }
    if (rc == 0)
        rc = load_rankings(r, rlen, &pages, &rrows, err, errlen);
    /* Batch k is scanned while batch k - 1's URLs and visitor slots are
     * prefetched and batch k - 2 is joined. */
    visit_t batch[3][BATCH];
    int n[3] = {0, 0, 0};
    const char *at = v, *end = v + vlen;
    for (uint64_t k = 0; rc == 0; k++) {
        visit_t *b = batch[k % 3];
        int *nb = &n[k % 3];
        for (*nb = 0; *nb < BATCH && at < end;) {
            if (!(at = scan_visit(at, end, &b[*nb]))) {
                snprintf(err, errlen, "%s: malformed line %llu", vpath,
                         (unsigned long long)vrows + 1);
                rc = -1;
                break;
            }
            vrows++;
            *nb += b[*nb].ip != NULL; /* Out-of-range visits are dropped here. */
        }
        prefetch_pages(&pages, b, *nb);
        prefetch_urls(&pages, &vis, batch[(k + 2) % 3], n[(k + 2) % 3]);
        visit_t *j = batch[(k + 1) % 3];
        for (int i = 0; i < n[(k + 1) % 3] && rc == 0; i++)
            rc = join_visit(&pages, &vis, &j[i]);
        n[(k + 1) % 3] = 0;
        if (at >= end && !n[0] && !n[1] && !n[2])
            break;
    }
    if (rc == 0)
        digest_visitors(&vis, out);
    else if (!err[0])
        snprintf(err, errlen, "out of memory");
    cnt->input_bytes = rlen + vlen;
    cnt->input_records = rrows + vrows;
    free(pages.slots);
    free(vis.slots);
    if (v)
        fb_unmap(v, vlen);
    if (r)
        fb_unmap(r, rlen);
    return rc;
}

const fb_workload_t fb_wl_join = {
    "join",
    "BDB query 3: revenue and avg pageRank per visitor of a date range, joining rankings "
    "(join + reduce_by_key + top)",
    "unordered", 256ull << 20, gen, engine, baseline,
};
