/* wl_aggregation.c - aggregation: ad revenue per source-address prefix (BDB query 2)
 *   SELECT SUBSTR(sourceIP, 1, 8), SUM(adRevenue) FROM uservisits
 *   GROUP BY SUBSTR(sourceIP, 1, 8)
 * over the Big Data Benchmark's uservisits table (bench/genbdb.c). Revenue is
 * summed exactly, as int64 cents: adRevenue is digits, optionally '.' and one
 * or two decimals. The answer is the order-independent digest of the records
 * (prefix, native int64 cents), one per group.
 * Engine: text_file + map to (prefix, cents) (a line without 9 fields or with
 * a bad adRevenue fails its task, quoting the line) + combine_builtin
 * (FLOW_SUM_I64), digested in the tasks.
 * Baseline: the mapped file scanned once by hand; the prefix, at most 8 bytes
 * and never holding a NUL, is packed into a uint64 that keys an open-addressing
 * table (linear probing, kept at most half full) of cent sums. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flowbench.h"
#include "genbdb.h"

#define PREFIX_LEN 8
#define VISITS_FIELDS 9
#define SHOW_BYTES 80 /* Bytes of a malformed line quoted in its error. */

static int gen(const char *dir, uint64_t size, char *err, size_t errlen)
{
    return fb_gen_bdb(dir, size, err, errlen);
}

/* ---- Engine ---------------------------------------------------------------------------- */

static int malformed(flow_task_t *t, const flow_rec_t *line, const char *why)
{
    int show = line->vlen < SHOW_BYTES ? (int)line->vlen : SHOW_BYTES;
    return flow_task_fail(t, 1, "uservisits.csv: malformed line '%.*s%s': %s", show,
                          show ? (const char *)line->val : "",
                          line->vlen > SHOW_BYTES ? "..." : "", why);
}

/* map over uservisits lines: (SUBSTR(sourceIP, 1, 8), int64 cents). arg: one byte,
 * nonzero for the test-only wrong answer (a cent too much on every visit). */
static int prefix_revenue(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                          const flow_buf_t *arg)
{
    flow_buf_t f[VISITS_FIELDS];
    if (fb_bdb_split(in, f, VISITS_FIELDS) < 0)
        return malformed(t, in, "expected 9 fields (sourceIP,destURL,...)");
    int64_t *cents = flow_task_alloc(t, sizeof *cents);
    if (!cents)
        return -1;
    if (fb_bdb_cents(f[3].data, f[3].len, cents) < 0)
        return malformed(t, in, "adRevenue is not a number with at most 2 decimals");
    *cents += *(const uint8_t *)arg->data != 0;
    *out = flow_rec_kv(f[0].data, f[0].len < PREFIX_LEN ? f[0].len : PREFIX_LEN, cents,
                       sizeof *cents);
    return 0;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static int engine(flow_context_t *ctx, const char *dir, uint64_t size, int wrong,
                  fb_answer_t *out, fb_counters_t *cnt, char *err, size_t errlen)
{
    (void)size;
    char path[4096];
    snprintf(path, sizeof path, "%s/uservisits.csv", dir);
    uint8_t w = wrong != 0;
    flow_stats_t before, after;
    flow_context_stats(ctx, &before);
    flow_dataset_t *lines = flow_dataset_text_file(ctx, path, 0);
    flow_dataset_t *pairs = lines ? flow_dataset_map(lines, prefix_revenue, &w, 1) : NULL;
    flow_dataset_t *sums = pairs ? flow_dataset_combine_builtin(pairs, FLOW_SUM_I64, 0) : NULL;
    int rc = sums ? fb_digest_dataset(sums, out, err, errlen) : -1;
    if (!sums)
        snprintf(err, errlen, "%s", flow_last_error(ctx));
    flow_context_stats(ctx, &after);
    snprintf(out->summary, sizeof out->summary, "%llu groups",
             (unsigned long long)out->records);
    cnt->input_bytes = file_size(path);
    cnt->input_records = after.records_read - before.records_read;
    flow_dataset_destroy(&sums);
    flow_dataset_destroy(&pairs);
    flow_dataset_destroy(&lines);
    return rc;
}

/* ---- Baseline -------------------------------------------------------------------------- */

/* One group: its prefix packed into a uint64 (0: an empty slot) and its sum. */
typedef struct slot {
    uint64_t prefix; /* Prefix bytes, zero-padded; 0 marks an empty slot. */
    int64_t cents;   /* Sum of adRevenue in cents. */
} slot_t;

/* The open-addressing table of groups. */
typedef struct table {
    slot_t *slots; /* Capacity slots, a power of two. */
    size_t cap;    /* Capacity. */
    size_t n;      /* Slots in use. */
} table_t;

static size_t slot_of(uint64_t prefix, size_t cap)
{
    uint64_t h = prefix * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static int table_grow(table_t *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1u << 12;
    slot_t *s = fb_table_alloc(cap * sizeof(slot_t)); /* Tens of MiB of slots. */
    if (!s)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].prefix) {
            size_t j = slot_of(t->slots[i].prefix, cap);
            while (s[j].prefix)
                j = (j + 1) & (cap - 1);
            s[j] = t->slots[i];
        }
    free(t->slots);
    t->slots = s;
    t->cap = cap;
    return 0;
}

/* Add cents to the group of prefix; 0, or -1 when out of memory. */
static int table_add(table_t *t, uint64_t prefix, int64_t cents)
{
    if (2 * (t->n + 1) > t->cap && table_grow(t) < 0)
        return -1;
    size_t j = slot_of(prefix, t->cap);
    while (t->slots[j].prefix && t->slots[j].prefix != prefix)
        j = (j + 1) & (t->cap - 1);
    if (!t->slots[j].prefix) {
        t->slots[j].prefix = prefix;
        t->n++;
    }
    t->slots[j].cents += cents;
    return 0;
}

/* Scan one line at p (before end): its prefix and cents; returns the start of
 * the next line, or NULL when the line is malformed. */
static const char *scan_visit(const char *p, const char *end, uint64_t *prefix,
                              int64_t *cents)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *eol = nl ? nl : end, *c = memchr(p, ',', (size_t)(eol - p));
    if (!c)
        return NULL;
    size_t plen = (size_t)(c - p) < PREFIX_LEN ? (size_t)(c - p) : PREFIX_LEN;
    *prefix = 0;
    memcpy(prefix, p, plen);
    /* Skip destURL and visitDate (memchr: the URL is most of the line). */
    for (int field = 1; field < 3 && c; field++)
        c = memchr(c + 1, ',', (size_t)(eol - c - 1));
    if (!c || plen == 0)
        return NULL;
    const char *digits = ++c;
    int64_t v = 0, scale = 100;
    for (; c < eol && *c >= '0' && *c <= '9'; c++)
        v = v * 10 + (*c - '0');
    if (c == digits || c - digits > 15)
        return NULL;
    if (c < eol && *c == '.') {
        for (digits = ++c; c < eol && scale > 1 && *c >= '0' && *c <= '9'; c++, scale /= 10)
            v = v * 10 + (*c - '0');
        if (c == digits)
            return NULL;
    }
    if (c >= eol || *c != ',')
        return NULL;
    *cents = v * scale;
    return nl ? nl + 1 : end;
}

static int baseline(const char *dir, uint64_t size, fb_answer_t *out, fb_counters_t *cnt,
                    char *err, size_t errlen)
{
    (void)size;
    char path[4096];
    snprintf(path, sizeof path, "%s/uservisits.csv", dir);
    size_t len;
    const char *p = fb_map(path, &len, err, errlen);
    if (!p)
        return -1;
    const char *at = p, *end = p + len;
    table_t t = {NULL, 0, 0};
    uint64_t rows = 0;
    int rc = table_grow(&t);
    /* The table outgrows the caches (hundreds of thousands of groups), so
     * each add is a miss: rows are scanned a batch at a time and their slots
     * prefetched before the batch is added, so that the misses overlap. */
    enum { BATCH = 16 };
    uint64_t prefixes[BATCH];
    int64_t cents[BATCH];
    while (rc == 0 && at < end) {
        int nb = 0;
        while (nb < BATCH && at < end) {
            const char *next = scan_visit(at, end, &prefixes[nb], &cents[nb]);
            if (!next) {
                snprintf(err, errlen, "%s: malformed line %llu", path,
                         (unsigned long long)(rows + (uint64_t)nb + 1));
                rc = -1;
                break;
            }
            __builtin_prefetch(&t.slots[slot_of(prefixes[nb], t.cap)], 1);
            nb++;
            at = next;
        }
        for (int i = 0; i < nb && rc == 0; i++)
            rc = table_add(&t, prefixes[i], cents[i]);
        rows += (uint64_t)nb;
    }
    out->digest = 0;
    out->records = 0;
    for (size_t i = 0; rc == 0 && i < t.cap; i++)
        if (t.slots[i].prefix) {
            char key[PREFIX_LEN];
            memcpy(key, &t.slots[i].prefix, PREFIX_LEN);
            out->digest += fb_rec_hash(key, strnlen(key, PREFIX_LEN), &t.slots[i].cents,
                                       sizeof t.slots[i].cents);
            out->records++;
        }
    if (rc < 0 && !err[0])
        snprintf(err, errlen, "out of memory");
    snprintf(out->summary, sizeof out->summary, "%llu groups",
             (unsigned long long)out->records);
    cnt->input_bytes = len;
    cnt->input_records = rows;
    free(t.slots);
    fb_unmap(p, len);
    return rc;
}

const fb_workload_t fb_wl_aggregation = {
    "aggregation",
    "BDB query 2: ad revenue per SUBSTR(sourceIP, 1, 8) (text_file + map + combine_builtin)",
    "unordered", 256ull << 20, gen, engine, baseline,
};
