/* sorter.c - external sort of records under a memory limit (see sorter.h)
 * add: the record is copied into the arena in block layout and gets an index
 * entry {prefix, sequence, record}. The bytes held (records in block layout
 * plus one index entry each) are counted; when the next record would pass
 * mem_limit, the index is sorted with qsort_r, the records are written in
 * that order to a spill file (a run) and the arena is reset.
 *
 * The prefix summarises a record for bytewise order: bit 63 is set for keyed
 * records, and bits 62..0 are the first 63 bits of the key (of the value when
 * unkeyed), big-endian and zero-padded. If prefix(a) < prefix(b) then a < b,
 * so unequal prefixes decide a comparison alone and equal ones fall back on
 * flow__rec_cmp_bytes. Key order (flow__sorter_cmp_keys: keys alone, as
 * grouping needs) takes the key's first 64 bits (0 for a record without a
 * key, which compares as an empty key), and equal prefixes fall back on
 * comparing whole keys. With a user cmp the prefix is unused. Ties are broken
 * by sequence, so the in-memory sort is stable.
 *
 * A merge reads some consecutive runs (and, for the final one, the memory
 * run last) through a binary heap of source indices ordered by (current
 * record, source index). Every record of a source was added before every
 * record of a later source, so equal records come out in insertion order,
 * also when descending. merge_next advances the source that the previous call
 * returned (lazily, so that the record it returned stays valid until this call
 * without a copy), restores the heap and returns the record on top.
 *
 * Runs have levels: a spilled run is level 0, and when the newest FAN_IN runs
 * share a level they are merged into one run of the next level. This bounds
 * the runs open at once (files, chunk buffers) to FAN_IN per level while
 * writing each record O(log_FAN_IN(runs)) times. finish sorts the memory run
 * and starts the final merge over every run and the memory run. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "sorter.h"

#define FAN_IN 64 /* Runs of one level merged into one run of the next. */
#define PREFETCH_AHEAD 8 /* Records of the memory run loaded ahead of reading. */

typedef struct entry {
    uint64_t prefix; /* Order-preserving summary of rec (bytewise order only). */
    uint64_t seq;    /* Insertion number, to break ties. */
    flow_rec_t rec;  /* The record, stored in the arena. */
} entry_t;

typedef struct source {
    flow__spill_reader_t *rd; /* Reader of a run; NULL for the memory run. */
    size_t next;              /* Next index entry (memory run only). */
    uint64_t prefix;          /* Prefix of cur (bytewise order only). */
    flow_rec_t cur;           /* Current record. */
} source_t;

typedef struct merge {
    source_t *srcs;  /* Sources, oldest first; NULL when no merge is set up. */
    uint32_t *heap;  /* Heap of indices of sources with a record, smallest on top. */
    uint32_t nsrcs;  /* Number of sources. */
    uint32_t nheap;  /* Sources in the heap. */
    int pending;     /* The top source was returned and must advance first. */
} merge_t;

typedef struct run {
    flow__spill_file_t file; /* The spill file. */
    uint32_t level;          /* 0 when spilled from memory, n + 1 when merged
                                from runs of level n. */
} run_t;

struct flow__sorter {
    flow_cmp_fn *cmp;           /* User order, or NULL for bytewise order. */
    int prefixed;               /* Bytewise or key order: prefixes decide first. */
    int keys_only;              /* Key order (flow__sorter_cmp_keys). */
    flow_buf_t arg;             /* Argument passed to cmp (borrowed). */
    int descending;             /* Nonzero: reverse the order. */
    size_t mem_limit;           /* Bytes held before the records spill to a run. */
    char *spill_dir;            /* Directory of the runs. */
    flow__arena_t arena;        /* Records in memory, in block layout. */
    entry_t *ents;              /* Index of the records in memory. */
    size_t nents;               /* Entries in ents. */
    size_t cap;                 /* Entries allocated in ents. */
    size_t held;                /* Bytes counted against mem_limit. */
    uint64_t seq;               /* Sequence number of the next record. */
    run_t *runs;                /* Runs on disk, oldest first. */
    uint32_t nruns;             /* Runs in runs. */
    uint32_t runs_cap;          /* Runs allocated in runs. */
    merge_t final;              /* The merge that next reads. */
    int finished;               /* finish was called. */
    int failed;                 /* Status of a failed finish, which next repeats. */
    flow__sorter_stats_t stats; /* Counters for flow__sorter_stats. */
};

int flow__sorter_cmp_keys(const flow_rec_t *a, const flow_rec_t *b, const flow_buf_t *arg)
{
    (void)arg;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = n ? memcmp(a->key, b->key, n) : 0;
    return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

static uint64_t prefix_of(const flow__sorter_t *s, const flow_rec_t *r)
{
    if (!r->key && s->keys_only)
        return 0;
    const uint8_t *p = r->key ? r->key : r->val;
    size_t n = r->key ? r->klen : r->vlen;
    uint64_t u = 0;
    for (size_t i = 0; i < 8; i++)
        u = u << 8 | (i < n ? p[i] : 0);
    /* Key order needs no keyed bit (a missing key compares as an empty one),
     * so an 8-byte key (an int64 vertex id) fits its prefix whole. */
    if (s->keys_only)
        return u;
    return (r->key ? 1ull << 63 : 0) | u >> 1;
}

/* Compare two records in the sorter's order (without the tie-break). */
static int order(const flow__sorter_t *s, uint64_t pa, const flow_rec_t *a, uint64_t pb,
                 const flow_rec_t *b)
{
    int c;
    if (s->prefixed && pa != pb)
        c = pa < pb ? -1 : 1;
    else if (s->cmp)
        c = s->cmp(a, b, &s->arg);
    else
        c = flow__rec_cmp_bytes(a, b);
    c = (c > 0) - (c < 0);
    return s->descending ? -c : c;
}

static int entry_cmp(const void *x, const void *y, void *ctx)
{
    const entry_t *a = x, *b = y;
    int c = order(ctx, a->prefix, &a->rec, b->prefix, &b->rec);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* A (prefix, index) pair for the radix sort. */
typedef struct keyidx {
    uint64_t key; /* The prefix, complemented for descending order. */
    uint64_t idx; /* Index of the entry in insertion order. */
} keyidx_t;

/* Bytewise order: LSD radix sort of (prefix, index) pairs on 16-bit digits,
 * skipping digits all keys share; stable, so equal prefixes keep insertion
 * order. Then the entries are gathered in that order, and each run of equal
 * prefixes, whose order the prefix cannot decide, is finished by comparison.
 * It needs 2 x 16 + 48 bytes per record on top of the index, for the time
 * of the sort. */
static void radix_sort(flow__sorter_t *s)
{
    size_t n = s->nents;
    keyidx_t *a = flow__malloc(sizeof *a * n), *b = flow__malloc(sizeof *b * n);
    entry_t *out = flow__malloc(sizeof *out * n);
    uint32_t *count = flow__malloc(65536 * sizeof *count);
    uint64_t all_or = 0, all_and = ~0ull;
    for (size_t i = 0; i < n; i++) {
        a[i].key = s->descending ? ~s->ents[i].prefix : s->ents[i].prefix;
        a[i].idx = i;
        all_or |= a[i].key;
        all_and &= a[i].key;
    }
    for (int shift = 0; shift < 64; shift += 16) {
        if (((all_or ^ all_and) >> shift & 0xFFFF) == 0)
            continue; /* Every key has the same digit here. */
        memset(count, 0, 65536 * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[a[i].key >> shift & 0xFFFF]++;
        uint32_t sum = 0;
        for (int d = 0; d < 65536; d++) {
            uint32_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            b[count[a[i].key >> shift & 0xFFFF]++] = a[i];
        keyidx_t *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = s->ents[a[i].idx];
    for (size_t i = 0, j; i < n; i = j) {
        /* A run of equal prefixes whose records are all equal (a key of a
         * grouping, many times) is already in insertion order: the radix
         * sort is stable. Only a run that differs needs comparing. */
        int same = 1;
        for (j = i + 1; j < n && out[j].prefix == out[i].prefix; j++)
            same = same && order(s, out[i].prefix, &out[i].rec, out[j].prefix, &out[j].rec) == 0;
        if (j - i > 1 && !same)
            qsort_r(out + i, j - i, sizeof *out, entry_cmp, s);
    }
    memcpy(s->ents, out, sizeof *out * n);
    flow__free(a);
    flow__free(b);
    flow__free(out);
    flow__free(count);
}

static void sort_memory(flow__sorter_t *s)
{
    if (s->nents < 2)
        return;
    /* Radix pays off past a few thousand records; a user order needs compares. */
    if (s->prefixed && s->nents >= 4096)
        radix_sort(s);
    else
        qsort_r(s->ents, s->nents, sizeof *s->ents, entry_cmp, s);
}

flow__sorter_t *flow__sorter_new(flow_cmp_fn *cmp, const flow_buf_t *arg, int descending,
                                 size_t mem_limit, const char *spill_dir)
{
    flow__sorter_t *s = flow__calloc(1, sizeof *s);
    s->cmp = cmp;
    s->keys_only = cmp == flow__sorter_cmp_keys;
    s->prefixed = !cmp || s->keys_only;
    if (arg)
        s->arg = *arg;
    s->descending = descending;
    s->mem_limit = mem_limit;
    s->spill_dir = flow__strdup(spill_dir ? spill_dir : "/tmp");
    size_t chunk = mem_limit / 4;
    chunk = chunk < (16u << 10) ? (16u << 10) : chunk > (1u << 20) ? (1u << 20) : chunk;
    flow__arena_init(&s->arena, chunk);
    return s;
}

/* ---- Merging ---------------------------------------------------------- */

/* Move source i of m to its next record: 1, 0 when it is exhausted, or an
 * error. */
static int source_advance(const flow__sorter_t *s, merge_t *m, uint32_t i, flow__err_t *err)
{
    source_t *src = &m->srcs[i];
    if (!src->rd) {
        if (src->next == s->nents)
            return 0;
        if (src->next + PREFETCH_AHEAD < s->nents) {
            /* Sorted order visits the arena at random: start loading a
             * record some way ahead, or each costs a cache and TLB miss. */
            const flow_rec_t *ahead = &s->ents[src->next + PREFETCH_AHEAD].rec;
            const uint8_t *start = ahead->key ? ahead->key : ahead->val;
            __builtin_prefetch(start);
            if (ahead->vlen)
                __builtin_prefetch((const uint8_t *)ahead->val + ahead->vlen - 1);
        }
        const entry_t *e = &s->ents[src->next++];
        src->cur = e->rec;
        src->prefix = e->prefix;
        return 1;
    }
    int rc = flow__spill_next(src->rd, &src->cur, err);
    if (rc == 1 && s->prefixed)
        src->prefix = prefix_of(s, &src->cur);
    return rc;
}

/* Whether source a's record comes before source b's. */
static int src_less(const flow__sorter_t *s, const merge_t *m, uint32_t a, uint32_t b)
{
    const source_t *x = &m->srcs[a], *y = &m->srcs[b];
    int c = order(s, x->prefix, &x->cur, y->prefix, &y->cur);
    return c ? c < 0 : a < b;
}

static void sift_down(const flow__sorter_t *s, merge_t *m)
{
    uint32_t *h = m->heap, n = m->nheap, top = h[0], i = 0;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && src_less(s, m, h[c + 1], h[c]))
            c++;
        if (!src_less(s, m, h[c], top))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = top;
}

static void heap_push(const flow__sorter_t *s, merge_t *m, uint32_t src)
{
    uint32_t *h = m->heap, i = m->nheap++;
    while (i > 0 && src_less(s, m, src, h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = src;
}

static void merge_close(merge_t *m)
{
    for (uint32_t i = 0; m->srcs && i < m->nsrcs; i++)
        flow__spill_close(m->srcs[i].rd);
    flow__free(m->srcs);
    flow__free(m->heap);
    memset(m, 0, sizeof *m);
}

/* Set up a merge of runs [first, first + n) and, with mem, the memory run
 * (which must be sorted). On error the caller still closes m. */
static int merge_open(const flow__sorter_t *s, merge_t *m, uint32_t first, uint32_t n, int mem,
                      flow__err_t *err)
{
    m->nsrcs = n + (mem != 0);
    m->srcs = flow__calloc(m->nsrcs ? m->nsrcs : 1, sizeof *m->srcs);
    m->heap = flow__malloc((m->nsrcs ? m->nsrcs : 1) * sizeof *m->heap);
    m->nheap = 0;
    m->pending = 0;
    int rc;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = flow__spill_open(&s->runs[first + i].file, -1, &m->srcs[i].rd, err)) < 0)
            return rc;
    for (uint32_t i = 0; i < m->nsrcs; i++) {
        if ((rc = source_advance(s, m, i, err)) < 0)
            return rc;
        if (rc == 1)
            heap_push(s, m, i);
    }
    return FLOW_OK;
}

/* 1 with *out set (valid until the next call), 0 at the end, or an error. */
static int merge_next(const flow__sorter_t *s, merge_t *m, flow_rec_t *out, flow__err_t *err)
{
    if (m->pending) {
        uint32_t top = m->heap[0];
        int rc = source_advance(s, m, top, err);
        if (rc < 0)
            return rc;
        m->pending = 0;
        if (rc == 0) {
            flow__spill_close(m->srcs[top].rd); /* Free its buffers now. */
            m->srcs[top].rd = NULL;
            m->heap[0] = m->heap[--m->nheap];
        }
        if (m->nheap)
            sift_down(s, m);
    }
    if (m->nheap == 0)
        return 0;
    *out = m->srcs[m->heap[0]].cur;
    m->pending = 1;
    return 1;
}

/* ---- Runs ------------------------------------------------------------- */

/* Write the records that next() of m returns to a new run file. */
static int run_write(flow__sorter_t *s, merge_t *m, flow__spill_file_t *out, flow__err_t *err)
{
    flow__spill_writer_t *w = NULL;
    flow_rec_t r;
    int rc = flow__spill_create(s->spill_dir, &w, err);
    while (rc == FLOW_OK && (rc = merge_next(s, m, &r, err)) == 1)
        rc = flow__spill_put(w, &r, err);
    if (rc < 0) {
        flow__spill_abort(w);
        return rc;
    }
    if ((rc = flow__spill_finish(w, out, err)) < 0)
        return rc;
    s->stats.spill_bytes += out->file_bytes;
    s->stats.spill_records += out->records;
    return FLOW_OK;
}

/* Merge the runs from first on into one run of the next level. */
static int runs_merge(flow__sorter_t *s, uint32_t first, flow__err_t *err)
{
    merge_t m = {0};
    flow__spill_file_t f;
    int rc = merge_open(s, &m, first, s->nruns - first, 0, err);
    if (rc == FLOW_OK)
        rc = run_write(s, &m, &f, err);
    merge_close(&m);
    if (rc < 0)
        return rc;
    uint32_t level = s->runs[first].level + 1;
    for (uint32_t i = first; i < s->nruns; i++)
        flow__spill_remove(&s->runs[i].file);
    s->runs[first] = (run_t){f, level};
    s->nruns = first + 1;
    return FLOW_OK;
}

/* Sort the records in memory, write them to a new run and merge runs while
 * FAN_IN of them share a level. */
static int spill_run(flow__sorter_t *s, flow__err_t *err)
{
    sort_memory(s);
    if (s->nruns == s->runs_cap) {
        s->runs_cap = s->runs_cap ? 2 * s->runs_cap : FAN_IN;
        s->runs = flow__realloc(s->runs, s->runs_cap * sizeof *s->runs);
    }
    merge_t m = {0};
    int rc = merge_open(s, &m, 0, 0, 1, err);
    if (rc == FLOW_OK)
        rc = run_write(s, &m, &s->runs[s->nruns].file, err);
    merge_close(&m);
    if (rc < 0)
        return rc;
    s->runs[s->nruns++].level = 0;
    s->stats.runs++;
    s->nents = 0;
    s->held = 0;
    flow__arena_reset(&s->arena);
    while (rc == FLOW_OK && s->nruns >= FAN_IN &&
           s->runs[s->nruns - FAN_IN].level == s->runs[s->nruns - 1].level)
        rc = runs_merge(s, s->nruns - FAN_IN, err);
    return rc;
}

/* ---- Interface -------------------------------------------------------- */

/* Copy r into the arena and index it. */
static void store(flow__sorter_t *s, const flow_rec_t *r, size_t size)
{
    if (s->nents == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1024;
        s->ents = flow__realloc(s->ents, s->cap * sizeof *s->ents);
    }
    uint8_t *p = flow__arena_alloc(&s->arena, size);
    flow__rec_write(p, r);
    entry_t *e = &s->ents[s->nents++];
    size_t kbytes = r->key ? flow__pad8(r->klen) : 0;
    e->rec = (flow_rec_t){r->key ? p + 8 : NULL, r->key ? r->klen : 0, p + 8 + kbytes, r->vlen};
    e->seq = s->seq++;
    e->prefix = s->prefixed ? prefix_of(s, &e->rec) : 0;
    uint64_t mem = s->arena.allocated + s->cap * sizeof *s->ents;
    if (mem > s->stats.peak_mem)
        s->stats.peak_mem = mem;
}

int flow__sorter_add(flow__sorter_t *s, const flow_rec_t *r, flow__err_t *err)
{
    assert(!s->finished);
    if ((r->key && r->klen > FLOW_REC_MAX) || r->vlen > FLOW_REC_MAX)
        return flow__err_set(err, FLOW_EINVAL, "sort: a record of %zu + %zu bytes is too large",
                             r->key ? r->klen : 0, r->vlen);
    size_t size = flow__rec_size(r), need = size + sizeof(entry_t);
    int rc;
    if (s->nents && s->held + need > s->mem_limit && (rc = spill_run(s, err)) < 0)
        return rc;
    store(s, r, size);
    s->held += need;
    s->stats.records++;
    return FLOW_OK;
}

int flow__sorter_finish(flow__sorter_t *s, flow__err_t *err)
{
    assert(!s->finished);
    s->finished = 1;
    sort_memory(s);
    int rc = merge_open(s, &s->final, 0, s->nruns, 1, err);
    if (rc < 0) {
        merge_close(&s->final);
        s->failed = rc;
    }
    return rc;
}

int flow__sorter_next(flow__sorter_t *s, flow_rec_t *out, flow__err_t *err)
{
    assert(s->finished);
    if (s->failed)
        return flow__err_set(err, s->failed, "sort: the merge could not start");
    return merge_next(s, &s->final, out, err);
}

void flow__sorter_stats(const flow__sorter_t *s, flow__sorter_stats_t *out)
{
    *out = s->stats;
}

void flow__sorter_free(flow__sorter_t *s)
{
    if (!s)
        return;
    merge_close(&s->final);
    for (uint32_t i = 0; i < s->nruns; i++)
        flow__spill_remove(&s->runs[i].file);
    flow__free(s->runs);
    flow__free(s->ents);
    flow__arena_free(&s->arena);
    flow__free(s->spill_dir);
    flow__free(s);
}
