/* wl_sort.c - sort: TeraSort-like 100-byte records sorted by their 10-byte keys
 * Input: dir/records.bin, size / 100 fixed-size binary records (no lines):
 *
 *     | key: 10 random bytes | row id: 32 hex digits | 4 spaces | filler: 52 | \r\n |
 *
 * Answer: an ordered digest that does not depend on how the engine partitions:
 * the sum over the records (mod 2^64) of fb_rec_hash(key, 10, rest, 90) times
 * (2r + 1), where r is the number of records whose key is bytewise smaller.
 * Records with equal keys share r, so the digest does not depend on how ties
 * are ordered (with random keys, ties are practically impossible anyway).
 * Engine: range over the record indices in 32 MiB partitions, map_partitions
 * reading each partition's records from the mapped file (the path and the
 * record count travel in the argument) as (key, rest) pairs, sort_by_key
 * ascending (bytewise) into as many partitions, then map_partitions
 * summarising each sorted partition in one record (count, sum of hashes, sum
 * of hash * (2 r_local + 1), first and last key, keys out of order). The
 * driver collects the summaries, checks that every partition is in order and
 * that partition p's last key is at most p+1's first, and adds the partitions
 * with r = offset + r_local: sum1 + 2 * offset * sum0. A key never spans two
 * partitions (the range partitioner maps a key to one), so r_local counts
 * within its partition. This needs no zip_with_index, whose counting job
 * would sort every partition a second time.
 * Baseline: one pass over the mapped file hashing every record and making
 * 16-byte (key prefix, key tail, index) items, an LSD radix sort of the items
 * on the 10 key bytes (8-bit digits, passes whose digit is constant skipped),
 * then the digest in sorted order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flowbench.h"

#define REC_LEN 100
#define KEY_LEN 10
#define VAL_LEN (REC_LEN - KEY_LEN)
/* Input bytes per engine partition (text.split_size's default). */
#define SPLIT_BYTES (32ull << 20)

static void records_path(const char *dir, char *out, size_t len)
{
    snprintf(out, len, "%s/records.bin", dir);
}

/* Write record number row into r. */
static void make_record(uint64_t row, uint64_t *rng, unsigned char *r)
{
    uint64_t k0 = fb_rand(rng), k1 = fb_rand(rng);
    memcpy(r, &k0, 8);
    memcpy(r + 8, &k1, 2);
    char hex[33];
    snprintf(hex, sizeof hex, "%016llx%016llx", 0ull, (unsigned long long)row);
    memcpy(r + KEY_LEN, hex, 32);
    memset(r + KEY_LEN + 32, ' ', 4);
    for (int j = 0; j < 52; j++)
        r[KEY_LEN + 36 + j] = (unsigned char)('A' + (row + (uint64_t)j / 4) % 26);
    r[REC_LEN - 2] = '\r';
    r[REC_LEN - 1] = '\n';
}

static int gen(const char *dir, uint64_t size, char *err, size_t errlen)
{
    char path[4096];
    records_path(dir, path, sizeof path);
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    static unsigned char buf[REC_LEN * 10000];
    uint64_t n = size / REC_LEN, rng = 0x5eed5047ull;
    int rc = 0;
    for (uint64_t row = 0; row < n && rc == 0;) {
        size_t k = 0;
        for (; k < sizeof buf / REC_LEN && row < n; k++, row++)
            make_record(row, &rng, buf + k * REC_LEN);
        if (fwrite(buf, REC_LEN, k, f) != k)
            rc = -1;
    }
    if (fclose(f) != 0 || rc < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The number of records in the file at path (its size must be a multiple of
 * REC_LEN); -1 with err on failure. */
static int count_records(const char *path, uint64_t *out, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (st.st_size % REC_LEN) {
        snprintf(err, errlen, "%s: %lld bytes is not a whole number of %d-byte records",
                 path, (long long)st.st_size, REC_LEN);
        return -1;
    }
    *out = (uint64_t)st.st_size / REC_LEN;
    return 0;
}

/* ---- Engine ---------------------------------------------------------------------------- */

/* The head of read_records' argument; the file's path follows, with its NUL. */
typedef struct read_arg {
    uint64_t nrec; /* Records in the file. */
    int32_t wrong; /* Test-only: drop record 0. */
    int32_t pad;   /* Zero. */
} read_arg_t;

/* One sorted partition, summarised by summarize. */
typedef struct part_sum {
    int64_t part;                 /* Partition index. */
    uint64_t count;               /* Records. */
    uint64_t sum0;                /* Sum of the record hashes. */
    uint64_t sum1;                /* Sum of hash * (2 r_local + 1). */
    uint64_t disorder;            /* Records whose key is below the previous one's. */
    unsigned char first[KEY_LEN]; /* First key (when count > 0). */
    unsigned char last[KEY_LEN];  /* Last key (when count > 0). */
    uint32_t pad;                 /* Zero. */
} part_sum_t;

/* map_partitions over record indices: each index's record from the file as a
 * (key, rest) pair. */
static int read_records(flow_task_t *t, flow_iter_t *in, flow_emit_t *out,
                        const flow_buf_t *arg)
{
    read_arg_t a;
    const char *path = (const char *)arg->data + sizeof a;
    if (arg->len <= sizeof a || path[arg->len - sizeof a - 1] != '\0')
        return flow_task_fail(t, 1, "sort: a malformed reader argument");
    memcpy(&a, arg->data, sizeof a);
    char err[512];
    size_t len;
    const unsigned char *p = (const unsigned char *)fb_map(path, &len, err, sizeof err);
    if (!p)
        return flow_task_fail(t, 1, "sort: %s", err);
    int rc;
    flow_rec_t r;
    while ((rc = flow_iter_next(in, &r)) > 0) {
        int64_t i = flow_i64(r.val);
        if (i < 0 || (uint64_t)i >= a.nrec || (uint64_t)i >= len / REC_LEN) {
            rc = flow_task_fail(t, 1, "sort: record %lld is past the end of %s",
                                (long long)i, path);
            break;
        }
        const unsigned char *rec = p + (size_t)i * REC_LEN;
        if (!(a.wrong && i == 0) &&
            (rc = flow_emit_kv(out, rec, KEY_LEN, rec + KEY_LEN, VAL_LEN)) < 0)
            break;
    }
    fb_unmap((const char *)p, len);
    return rc < 0 ? rc : 0;
}

/* map_partitions over the sorted pairs: one part_sum_t record. */
static int summarize(flow_task_t *t, flow_iter_t *in, flow_emit_t *out, const flow_buf_t *arg)
{
    (void)arg;
    part_sum_t s;
    memset(&s, 0, sizeof s);
    s.part = flow_task_partition(t);
    uint64_t run = 0; /* Local rank of the first record with the current key. */
    flow_rec_t r;
    int rc;
    while ((rc = flow_iter_next(in, &r)) > 0) {
        if (r.klen != KEY_LEN || r.vlen != VAL_LEN)
            return flow_task_fail(t, 1, "sort: a record of %zu + %zu bytes", r.klen, r.vlen);
        if (s.count == 0) {
            memcpy(s.first, r.key, KEY_LEN);
        } else {
            int c = memcmp(s.last, r.key, KEY_LEN);
            s.disorder += c > 0;
            if (c != 0)
                run = s.count;
        }
        memcpy(s.last, r.key, KEY_LEN);
        uint64_t h = fb_rec_hash(r.key, KEY_LEN, r.val, VAL_LEN);
        s.sum0 += h;
        s.sum1 += h * (2 * run + 1);
        s.count++;
    }
    return rc < 0 ? rc : flow_emit_val(out, &s, sizeof s);
}

/* Check the partitions' order and chain their sums into the answer. */
static int finish(flow_result_t *res, fb_answer_t *out, char *err, size_t errlen)
{
    uint64_t offset = 0;  /* Records in the partitions before this one. */
    part_sum_t cur, prev; /* This partition, and the last one with records. */
    size_t pos = 0;
    flow_rec_t r;
    out->digest = 0;
    for (int64_t p = 0; flow_result_next(res, &pos, &r) > 0; p++) {
        if (r.vlen == sizeof cur)
            memcpy(&cur, r.val, sizeof cur);
        if (r.vlen != sizeof cur || cur.part != p) {
            snprintf(err, errlen, "FLOW_EINVAL: sort: summary %lld is malformed",
                     (long long)p);
            return -1;
        }
        if (cur.disorder) {
            snprintf(err, errlen, "FLOW_EINVAL: sort: %llu keys out of order in partition "
                     "%lld", (unsigned long long)cur.disorder, (long long)p);
            return -1;
        }
        if (cur.count == 0)
            continue;
        if (offset > 0 && memcmp(prev.last, cur.first, KEY_LEN) > 0) {
            snprintf(err, errlen, "FLOW_EINVAL: sort: partition %lld starts below the end of "
                     "partition %lld", (long long)p, (long long)prev.part);
            return -1;
        }
        out->digest += cur.sum1 + 2 * offset * cur.sum0;
        offset += cur.count;
        prev = cur;
    }
    out->records = offset;
    return 0;
}

static int engine(flow_context_t *ctx, const char *dir, uint64_t size, int wrong,
                  fb_answer_t *out, fb_counters_t *cnt, char *err, size_t errlen)
{
    (void)size;
    char path[4096];
    records_path(dir, path, sizeof path);
    uint64_t n;
    if (count_records(path, &n, err, errlen) < 0)
        return -1;
    size_t plen = strlen(path) + 1;
    unsigned char arg[sizeof(read_arg_t) + sizeof path];
    read_arg_t a = {n, wrong != 0, 0};
    memcpy(arg, &a, sizeof a);
    memcpy(arg + sizeof a, path, plen);
    uint64_t splits = (n * REC_LEN + SPLIT_BYTES - 1) / SPLIT_BYTES;
    int par = flow_context_parallelism(ctx);
    int nparts = splits > (uint64_t)par ? (int)splits : par;

    flow_dataset_t *idx = NULL, *recs = NULL, *sorted = NULL, *sums = NULL;
    flow_result_t *res = NULL;
    int rc = -1;
    if ((idx = flow_dataset_range(ctx, 0, (int64_t)n, 1, nparts)) &&
        (recs = flow_dataset_map_partitions(idx, read_records, arg, sizeof a + plen)) &&
        (sorted = flow_dataset_sort_by_key(recs, 1, NULL, NULL, 0, nparts)) &&
        (sums = flow_dataset_map_partitions(sorted, summarize, NULL, 0)))
        rc = flow_dataset_collect(sums, &res);
    if (rc < 0)
        snprintf(err, errlen, "%s", flow_last_error(ctx));
    else
        rc = finish(res, out, err, errlen);
    snprintf(out->summary, sizeof out->summary, "%llu records sorted",
             (unsigned long long)out->records);
    cnt->input_bytes = n * REC_LEN;
    cnt->input_records = n;
    flow_result_destroy(&res);
    flow_dataset_destroy(&sums);
    flow_dataset_destroy(&sorted);
    flow_dataset_destroy(&recs);
    flow_dataset_destroy(&idx);
    return rc < 0 ? -1 : 0;
}

/* ---- Baseline -------------------------------------------------------------------------- */

/* A record's place in the sort: its key as two integers that order as the
 * key's bytes do, and its index in the file (16 bytes). */
typedef struct sort_item {
    uint64_t hi;  /* Key bytes 0-7, big-endian. */
    uint16_t lo;  /* Key bytes 8-9, big-endian. */
    uint16_t pad; /* Zero. */
    uint32_t idx; /* Record number. */
} sort_item_t;

/* Digit d (0: the key's last byte, 9: its first) of an item's key. */
static inline unsigned digit(const sort_item_t *it, int d)
{
    return d < 2 ? (it->lo >> (8 * d)) & 0xff : (unsigned)(it->hi >> (8 * (d - 2))) & 0xff;
}

/* Sort n items by key, least significant byte first; the result ends up in
 * *a (which may swap with *tmp). */
static void radix_sort(sort_item_t **a, sort_item_t **tmp, size_t n)
{
    static size_t hist[KEY_LEN][256];
    memset(hist, 0, sizeof hist);
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < KEY_LEN; d++)
            hist[d][digit(&(*a)[i], d)]++;
    for (int d = 0; d < KEY_LEN; d++) {
        size_t *h = hist[d], sum = 0;
        if (n == 0 || h[digit(&(*a)[0], d)] == n)
            continue; /* Every item has the same digit here. */
        for (int b = 0; b < 256; b++) {
            size_t c = h[b];
            h[b] = sum;
            sum += c;
        }
        sort_item_t *src = *a, *dst = *tmp;
        for (size_t i = 0; i < n; i++)
            dst[h[digit(&src[i], d)]++] = src[i];
        *a = dst;
        *tmp = src;
    }
}

static uint64_t load_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static int baseline(const char *dir, uint64_t size, fb_answer_t *out, fb_counters_t *cnt,
                    char *err, size_t errlen)
{
    (void)size;
    char path[4096];
    records_path(dir, path, sizeof path);
    size_t len;
    const unsigned char *p = (const unsigned char *)fb_map(path, &len, err, errlen);
    if (!p)
        return -1;
    size_t n = len / REC_LEN, cap = n ? n : 1;
    sort_item_t *items = malloc(cap * sizeof *items), *tmp = malloc(cap * sizeof *tmp);
    uint64_t *hash = malloc(cap * sizeof *hash);
    int rc = 0;
    if (len % REC_LEN || n > UINT32_MAX) {
        snprintf(err, errlen, "%s: %zu bytes is not a whole number of records below 2^32",
                 path, len);
        rc = -1;
    } else if (!items || !tmp || !hash) {
        snprintf(err, errlen, "sort baseline: out of memory");
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const unsigned char *r = p + i * REC_LEN;
        items[i].hi = load_be64(r);
        items[i].lo = (uint16_t)(r[8] << 8 | r[9]);
        items[i].pad = 0;
        items[i].idx = (uint32_t)i;
        hash[i] = fb_rec_hash(r, KEY_LEN, r + KEY_LEN, VAL_LEN);
    }
    if (rc == 0) {
        radix_sort(&items, &tmp, n);
        uint64_t d = 0, run = 0;
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && (items[i].hi != items[i - 1].hi || items[i].lo != items[i - 1].lo))
                run = i;
            d += hash[items[i].idx] * (2 * run + 1);
        }
        out->digest = d;
        out->records = n;
        snprintf(out->summary, sizeof out->summary, "%llu records sorted",
                 (unsigned long long)n);
        cnt->input_bytes = len;
        cnt->input_records = n;
    }
    free(items);
    free(tmp);
    free(hash);
    fb_unmap((const char *)p, len);
    return rc;
}

const fb_workload_t fb_wl_sort = {
    "sort",
    "TeraSort-like 100-byte records by 10-byte key (map_partitions reader + sort_by_key)",
    "ordered",
    256ull << 20,
    gen,
    engine,
    baseline,
};
