/* shuffle.c - map-side bucketing and combining, reduce-side reading (see shuffle.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggtable.h"
#include "mem.h"
#include "shuffle.h"
#include "sorter.h"

/* ---- Partitioners ------------------------------------------------------------------ */

typedef struct part {
    const flow__partspec_t *spec; /* The partitioner. */
    flow_partitioner_fn *user;    /* USER: the function. */
    flow_cmp_fn *cmp;             /* RANGE: key order, or NULL (bytewise). */
    flow_buf_t arg;               /* Argument of user or cmp. */
    flow_rec_t *bounds;           /* RANGE: the bound keys (as key-only records). */
    uint32_t nbounds;             /* Their number. */
    uint32_t next;                /* ROUND: the next partition. */
} part_t;

static int part_open(flow_task_t *t, const flow__partspec_t *spec, part_t *p,
                     flow__arena_t *arena)
{
    memset(p, 0, sizeof *p);
    p->spec = spec;
    p->arg.data = spec->arg;
    p->arg.len = spec->arg_len;
    if (spec->nparts == 0)
        return flow__err_set(t->err, FLOW_EPROTO, "shuffle with 0 partitions");
    if (spec->fn.idlen) {
        void *fn = flow__fnref_resolve(&spec->fn, t->err);
        if (!fn)
            return t->err->code;
        if (spec->kind == FLOW_PART_USER)
            p->user = fn;
        else
            p->cmp = fn;
    }
    if (spec->kind == FLOW_PART_USER && !p->user)
        return flow__err_set(t->err, FLOW_EPROTO, "user partitioner without a function");
    if (spec->kind == FLOW_PART_RANGE) {
        int64_t n = flow__block_count(spec->bounds, spec->bounds_len);
        if (n < 0)
            return flow__err_set(t->err, FLOW_EPROTO, "range partitioner: malformed bounds");
        p->bounds = flow__arena_alloc(arena, sizeof *p->bounds * (size_t)(n + 1));
        size_t pos = 0;
        for (int64_t i = 0; i < n; i++) {
            flow_rec_t b;
            flow__block_next(spec->bounds, spec->bounds_len, &pos, &b);
            p->bounds[i] = flow_rec_kv(b.val, b.vlen, "", 0);
        }
        p->nbounds = (uint32_t)n;
    }
    /* Round robin starts at a place that depends on the map partition, as
     * Spark's repartition does, so that small partitions spread out. */
    p->next = (uint32_t)(((uint64_t)t->partition * 0x9E3779B1u) % spec->nparts);
    return FLOW_OK;
}

static int key_cmp(const part_t *p, const void *key, size_t klen, const flow_rec_t *b)
{
    flow_rec_t a = flow_rec_kv(key, klen, "", 0);
    int c;
    if (p->cmp) {
        c = p->cmp(&a, b, &p->arg);
    } else {
        size_t n = klen < b->klen ? klen : b->klen;
        c = n ? memcmp(key, b->key, n) : 0;
        if (!c)
            c = (klen > b->klen) - (klen < b->klen);
    }
    return p->spec->descending ? -c : c;
}

static inline uint32_t hash_part(uint64_t hash, uint32_t n)
{
    return (uint32_t)(((unsigned __int128)hash * n) >> 64);
}

/* The reduce partition of a key (hash is its XXH3, for HASH). */
static int part_of(flow_task_t *t, part_t *p, const void *key, size_t klen, uint64_t hash,
                   uint32_t *out)
{
    uint32_t n = p->spec->nparts, lo = 0, hi;
    switch (p->spec->kind) {
    case FLOW_PART_HASH:
        *out = hash_part(hash, n);
        return FLOW_OK;
    case FLOW_PART_ROUND:
        *out = p->next;
        p->next = p->next + 1 == n ? 0 : p->next + 1;
        return FLOW_OK;
    case FLOW_PART_RANGE:
        /* The first bound greater than or equal to the key. */
        hi = p->nbounds;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (key_cmp(p, key, klen, &p->bounds[mid]) > 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        *out = lo < n ? lo : n - 1;
        return FLOW_OK;
    case FLOW_PART_USER:
        *out = p->user(key, klen, n, &p->arg);
        if (*out < n)
            return FLOW_OK;
        flow__err_set(t->err, FLOW_EINVAL, "partitioner returned %u for %u partitions", *out,
                      n);
        t->err->permanent = 1;
        return FLOW_EINVAL;
    default:
        return flow__err_set(t->err, FLOW_EPROTO, "unknown partitioner kind %u",
                             p->spec->kind);
    }
}

/* ---- Combiners -------------------------------------------------------------------- */

typedef struct comb {
    const flow__aggspec_t *spec;     /* The combiner. */
    flow_map_fn *create;             /* UDF: value -> combiner, or NULL. */
    flow_reduce_fn *merge_value;     /* UDF: (combiner, value). */
    flow_reduce_fn *merge_combiners; /* UDF: (combiner, combiner). */
    flow_buf_t arg;                  /* Their argument. */
    flow__arena_t scratch;           /* UDF scratch memory. */
} comb_t;

static int comb_open(flow_task_t *t, const flow__aggspec_t *spec, comb_t *c)
{
    memset(c, 0, sizeof *c);
    c->spec = spec;
    c->arg.data = spec->arg;
    c->arg.len = spec->arg_len;
    flow__arena_init(&c->scratch, 64 * 1024);
    if (spec->kind != FLOW_AGG_UDF)
        return FLOW_OK;
    if (spec->create.idlen && !(c->create = flow__fnref_resolve(&spec->create, t->err)))
        return t->err->code;
    if (!(c->merge_value = flow__fnref_resolve(&spec->merge_value, t->err)) ||
        !(c->merge_combiners = flow__fnref_resolve(&spec->merge_combiners, t->err)))
        return t->err->code ? t->err->code : FLOW_EPROTO;
    return FLOW_OK;
}

static int bad_value(flow_task_t *t, const char *what, size_t vlen)
{
    flow__err_set(t->err, FLOW_EINVAL, "%s: a value of %zu bytes in partition %u, expected 8",
                  what, vlen, t->partition);
    t->err->permanent = 1;
    return FLOW_EINVAL;
}

/* Built-in: fold value v into the entry (isnew: the entry is empty). */
static int builtin_merge(flow_task_t *t, flow__aggtable_t *tb, flow__agg_entry_t *e,
                         uint8_t kind, const void *v, size_t vlen, int as_value, int isnew)
{
    static const char *const names[] = {"", "sum_i64", "sum_f64", "min_i64", "max_i64",
                                        "min_f64", "max_f64"};
    if (kind == FLOW_COUNT && as_value) {
        int64_t one = 1;
        v = &one;
        vlen = 8;
        if (!isnew)
            *(int64_t *)flow__agg_val(e) += 1;
        else
            flow__agg_set_val(tb, e, v, 8);
        return FLOW_OK;
    }
    if (isnew || kind == FLOW__FIRST) {
        if (isnew)
            flow__agg_set_val(tb, e, v, vlen);
        if (kind >= FLOW_SUM_I64 && kind <= FLOW_MAX_F64 && vlen != 8)
            return bad_value(t, names[kind], vlen);
        return FLOW_OK;
    }
    if (kind == FLOW_CONCAT) {
        if (flow__agg_vlen(e) + vlen > FLOW_REC_MAX) {
            flow__err_set(t->err, FLOW_EINVAL, "concat: a value past 4 GiB in partition %u",
                          t->partition);
            t->err->permanent = 1;
            return FLOW_EINVAL;
        }
        flow__agg_append_val(tb, e, v, vlen);
        return FLOW_OK;
    }
    if (kind == FLOW_COUNT)
        kind = FLOW_SUM_I64; /* Counts merge by adding. */
    if (vlen != 8)
        return bad_value(t, names[kind], vlen);
    void *a = flow__agg_val(e);
    int64_t x = flow_i64(a), y = flow_i64(v);
    double f = flow_f64(a), g = flow_f64(v);
    switch (kind) {
    case FLOW_SUM_I64: x = (int64_t)((uint64_t)x + (uint64_t)y); break;
    case FLOW_MIN_I64: x = y < x ? y : x; break;
    case FLOW_MAX_I64: x = y > x ? y : x; break;
    case FLOW_SUM_F64: f += g; break;
    case FLOW_MIN_F64: f = g < f ? g : f; break;
    case FLOW_MAX_F64: f = g > f ? g : f; break;
    default: return flow__err_set(t->err, FLOW_EPROTO, "unknown combiner %u", kind);
    }
    if (kind == FLOW_SUM_F64 || kind == FLOW_MIN_F64 || kind == FLOW_MAX_F64)
        memcpy(a, &f, 8);
    else
        memcpy(a, &x, 8);
    return FLOW_OK;
}

/* The short path of the commonest combiners, built-in sums and counts over
 * 8-byte values: fold r into e, 1 when done, 0 when the general path must
 * (other combiners, other lengths: the errors are its to report). */
static inline int sum_fast(const comb_t *c, flow__agg_entry_t *e, int isnew,
                           const flow_rec_t *r, int as_value)
{
    if (c->spec->kind != FLOW_AGG_BUILTIN)
        return 0;
    uint8_t kind = c->spec->builtin;
    uint64_t *w = flow__agg_word(e), y;
    if (kind == FLOW_COUNT && as_value) {
        if (isnew)
            flow__agg_set_word(e, 1);
        else if (w)
            (*w)++;
        return isnew || w;
    }
    if ((kind != FLOW_SUM_I64 && kind != FLOW_SUM_F64 && kind != FLOW_COUNT) ||
        r->vlen != 8 || (!isnew && !w))
        return 0;
    memcpy(&y, r->val, 8);
    if (isnew) {
        flow__agg_set_word(e, y);
    } else if (kind == FLOW_SUM_F64) {
        double a, b;
        memcpy(&a, w, 8);
        memcpy(&b, &y, 8);
        a += b;
        memcpy(w, &a, 8);
    } else {
        *w += y; /* Counts merge by adding; int64 sums wrap as two's complement. */
    }
    return 1;
}

/* Fold record r (a value when as_value, else a combiner) into its entry. */
static int comb_apply(flow_task_t *t, comb_t *c, flow__aggtable_t *tb, flow__agg_entry_t *e,
                      int isnew, const flow_rec_t *r, int as_value)
{
    const flow__aggspec_t *g = c->spec;
    if (g->kind == FLOW_AGG_BUILTIN)
        return builtin_merge(t, tb, e, g->builtin, r->val, r->vlen, as_value, isnew);
    t->scratch = &c->scratch;
    flow__arena_reset(&c->scratch);
    flow_rec_t out;
    int rc;
    if (isnew && !as_value) {
        flow__agg_set_val(tb, e, r->val, r->vlen);
        return FLOW_OK;
    }
    if (isnew && c->create) {
        out = *r;
        rc = c->create(t, r, &out, &c->arg);
    } else if (isnew && !g->has_zero) {
        flow__agg_set_val(tb, e, r->val, r->vlen);
        return FLOW_OK;
    } else {
        flow_rec_t a = isnew ? flow_rec_kv(r->key, r->klen, g->zero, g->zero_len)
                             : flow_rec_kv(r->key, r->klen, flow__agg_val(e), flow__agg_vlen(e));
        out = a;
        rc = (as_value ? c->merge_value : c->merge_combiners)(t, &a, r, &out, &c->arg);
    }
    if (rc != 0)
        return flow__udf_failed(t, "combine", rc);
    if (out.vlen > FLOW_REC_MAX)
        return flow__err_set(t->err, FLOW_EINVAL, "combine: value too large");
    flow__agg_set_val(tb, e, out.val, out.vlen);
    return FLOW_OK;
}

/* ---- Map side ------------------------------------------------------------------------ */

/* Records on their way into a table wait in a ring: each is copied (the
 * bytes it points at may not outlive the next one), hashed and its slot
 * prefetched as it comes, and combined FLOW_BATCH records later, so that the
 * table's cache misses overlap instead of queueing and every one has had the
 * same time to arrive (combining a whole batch at once left its last records
 * waiting on loads just issued). */
#define FLOW_BATCH 16 /* A power of two. */

typedef struct batch {
    int n;                               /* Records waiting. */
    int head;                            /* The oldest of them. */
    int unchecked;                       /* Combined since the memory was last checked. */
    flow_rec_t rec[FLOW_BATCH];          /* They point into bytes. */
    uint64_t hash[FLOW_BATCH];           /* Their key hashes. */
    uint32_t tag[FLOW_BATCH];            /* The caller's tag of each. */
    uint64_t bytes[FLOW_BATCH][8];       /* Copies of their bytes (key, then value). */
} batch_t;

/* Whether r can wait in a ring: keyed and small. */
static inline int batch_fits(const batch_t *b, const flow_rec_t *r)
{
    return r->key && flow__pad8(r->klen) + r->vlen <= sizeof b->bytes[0];
}

/* Copy r (batch_fits, the ring not full) into the ring, hash its key and
 * prefetch its slot of tb. */
static void batch_put(batch_t *b, const flow__aggtable_t *tb, const flow_rec_t *r, uint32_t tag)
{
    size_t kl = r->klen, vo = flow__pad8(kl);
    int i = (b->head + b->n++) & (FLOW_BATCH - 1);
    uint8_t *p = (uint8_t *)b->bytes[i];
    flow__copy(p, r->key, kl);
    flow__copy(p + vo, r->val, r->vlen); /* The value stays 8-aligned. */
    b->rec[i] = flow_rec_kv(p, kl, p + vo, r->vlen);
    b->hash[i] = flow__agg_hash(p, kl);
    b->tag[i] = tag;
    flow__agg_prefetch(tb, b->hash[i]);
}

/* Take the oldest record out of the ring (n > 0): its index, valid until the
 * next put. */
static inline int batch_pop(batch_t *b)
{
    int i = b->head;
    b->head = (b->head + 1) & (FLOW_BATCH - 1);
    b->n--;
    return i;
}

typedef struct mapside {
    flow_task_t *t;              /* Task. */
    const flow__sinkspec_t *s;   /* The shuffle sink. */
    part_t part;                 /* Partitioner. */
    comb_t comb;                 /* Combiner (map-side combine). */
    int combine;                 /* Combining is on. */
    flow__aggtable_t table;      /* Combined records. */
    flow__wbuf_t *buckets;       /* Uncombined records per reduce partition. */
    uint64_t held;               /* Bytes in buckets. */
    uint64_t bucketed;           /* Records put in buckets (spilled ones too). */
    uint64_t mem;                /* Execution memory granted. */
    flow__spill_file_t *spills;  /* Spilled files, segment r = reduce partition r. */
    int nspills;                 /* Their number. */
    uint64_t spill_bytes;        /* Bytes spilled. */
    flow__arena_t arena;         /* Partitioner state. */
    uint64_t *nrec;              /* Records taken (the task's count). */
    batch_t batch;               /* Records whose slots are being prefetched. */
} mapside_t;

static uint32_t entry_part(uint64_t hash, void *ud)
{
    mapside_t *ms = ud;
    return ms->part.spec->kind == FLOW_PART_HASH ? hash_part(hash, ms->part.spec->nparts)
                                                 : 0;
}

/* The reduce partition of a table entry. */
static int entry_partition(mapside_t *ms, flow__agg_entry_t *e, uint32_t *out)
{
    size_t klen = flow__agg_klen(e);
    uint64_t h = ms->part.spec->kind == FLOW_PART_HASH ? flow__agg_entry_hash(e) : 0;
    return part_of(ms->t, &ms->part, flow__agg_key(e), klen, h, out);
}

static int spill_table(mapside_t *ms, flow__spill_writer_t *w)
{
    flow__err_t *err = ms->t->err;
    int by_hash = ms->part.spec->kind == FLOW_PART_HASH;
    flow__agg_entry_t **v = flow__agg_sorted(&ms->table, by_hash ? entry_part : NULL, ms);
    int rc = FLOW_OK;
    if (!by_hash) {
        /* Stable bucket order: one pass per partition (rare: range or user
         * partitioners with a combiner). */
        for (uint32_t r = 0; rc == FLOW_OK && r < ms->part.spec->nparts; r++) {
            rc = flow__spill_segment(w, r, err);
            for (size_t i = 0; rc == FLOW_OK && i < ms->table.count; i++) {
                uint32_t p;
                if ((rc = entry_partition(ms, v[i], &p)) == FLOW_OK && p == r) {
                    flow_rec_t rec = flow__agg_rec(v[i]);
                    rc = flow__spill_put(w, &rec, err);
                }
            }
        }
    } else {
        uint32_t cur = UINT32_MAX;
        for (size_t i = 0; rc == FLOW_OK && i < ms->table.count; i++) {
            uint32_t p = entry_part(flow__agg_entry_hash(v[i]), ms);
            if (p != cur && (rc = flow__spill_segment(w, p, err)) == FLOW_OK)
                cur = p;
            flow_rec_t rec = flow__agg_rec(v[i]);
            if (rc == FLOW_OK)
                rc = flow__spill_put(w, &rec, err);
        }
    }
    flow__free(v);
    return rc;
}

static int spill_buckets(mapside_t *ms, flow__spill_writer_t *w)
{
    int rc = FLOW_OK;
    for (uint32_t r = 0; rc == FLOW_OK && r < ms->part.spec->nparts; r++) {
        flow__wbuf_t *b = &ms->buckets[r];
        if (!b->len)
            continue;
        rc = flow__spill_segment(w, r, ms->t->err);
        size_t pos = 0;
        flow_rec_t rec;
        while (rc == FLOW_OK && flow__block_next(b->data, b->len, &pos, &rec) == 1)
            rc = flow__spill_put(w, &rec, ms->t->err);
        flow__wbuf_free(b);
    }
    ms->held = 0;
    return rc;
}

/* Write what memory holds to a new spill file and start afresh. */
static int map_spill(mapside_t *ms)
{
    flow__spill_writer_t *w;
    int rc = flow__spill_create(ms->t->env->local_dir, &w, ms->t->err);
    if (rc < 0)
        return rc;
    rc = ms->combine ? spill_table(ms, w) : spill_buckets(ms, w);
    if (rc < 0) {
        flow__spill_abort(w);
        return rc;
    }
    ms->spills = flow__realloc(ms->spills, sizeof *ms->spills * (size_t)(ms->nspills + 1));
    rc = flow__spill_finish(w, &ms->spills[ms->nspills], ms->t->err);
    if (rc < 0)
        return rc;
    ms->spill_bytes += ms->spills[ms->nspills].file_bytes;
    ms->nspills++;
    if (ms->combine) {
        /* Slots over half the grant start small again: else the cleared
         * table alone would pass the grant and spill at every record. */
        ms->table.limit = ms->mem;
        flow__agg_clear(&ms->table);
    }
    return FLOW_OK;
}

static int map_add_hashed(mapside_t *ms, const flow_rec_t *r, uint64_t h);

static int map_add(mapside_t *ms, const flow_rec_t *r)
{
    uint64_t h = r->key && (ms->part.spec->kind == FLOW_PART_HASH || ms->combine)
                     ? flow__agg_hash(r->key, r->klen)
                     : 0;
    return map_add_hashed(ms, r, h);
}

/* Add a record whose key hashes to h (0 when no hash is needed). */
static int map_add_hashed(mapside_t *ms, const flow_rec_t *r, uint64_t h)
{
    flow_task_t *t = ms->t;
    if (!r->key && ms->part.spec->kind != FLOW_PART_ROUND) {
        flow__err_set(t->err, FLOW_EINVAL, "shuffle: a record without a key in partition %u",
                      t->partition);
        t->err->permanent = 1;
        return FLOW_EINVAL;
    }
    if (ms->combine) {
        int isnew;
        flow__agg_entry_t *e = flow__agg_upsert(&ms->table, r->key, r->klen, h, &isnew);
        int rc = comb_apply(t, &ms->comb, &ms->table, e, isnew, r, 1);
        if (rc < 0)
            return rc;
        return flow__task_exec_grow(t, &ms->mem, flow__agg_bytes(&ms->table)) ? FLOW_OK
                                                                                : map_spill(ms);
    }
    uint32_t p;
    int rc = part_of(t, &ms->part, r->key, r->klen, h, &p);
    if (rc < 0)
        return rc;
    flow__wbuf_t *b = &ms->buckets[p];
    size_t before = b->cap;
    flow__block_append(b, r);
    ms->bucketed++;
    ms->held += b->cap - before;
    return flow__task_exec_grow(t, &ms->mem, ms->held) ? FLOW_OK : map_spill(ms);
}

/* Combine the oldest record of the ring. Sums and counts take the short
 * path, with the memory checked once per FLOW_BATCH of them. */
static int map_combine_oldest(mapside_t *ms)
{
    batch_t *b = &ms->batch;
    int i = batch_pop(b), isnew, rc;
    flow__agg_entry_t *e =
        flow__agg_upsert(&ms->table, b->rec[i].key, b->rec[i].klen, b->hash[i], &isnew);
    if (sum_fast(&ms->comb, e, isnew, &b->rec[i], 1)) {
        if (++b->unchecked < FLOW_BATCH)
            return FLOW_OK;
    } else if ((rc = comb_apply(ms->t, &ms->comb, &ms->table, e, isnew, &b->rec[i], 1)) < 0) {
        return rc;
    }
    b->unchecked = 0;
    return flow__task_exec_grow(ms->t, &ms->mem, flow__agg_bytes(&ms->table)) ? FLOW_OK
                                                                               : map_spill(ms);
}

/* Combine every record of the ring. */
static int batch_flush(mapside_t *ms)
{
    batch_t *b = &ms->batch;
    int rc = FLOW_OK;
    while (b->n && rc == FLOW_OK)
        rc = map_combine_oldest(ms);
    if (rc == FLOW_OK && b->unchecked) {
        b->unchecked = 0;
        if (!flow__task_exec_grow(ms->t, &ms->mem, flow__agg_bytes(&ms->table)))
            rc = map_spill(ms);
    }
    return rc;
}

/* Take one record of the task's input (pushed by a flat_map through
 * flow__iter_push, or pulled). Small keyed records on their way to a
 * combiner wait in the ring; the rest go straight in. */
static int map_push(void *ud, const flow_rec_t *r)
{
    mapside_t *ms = ud;
    (*ms->nrec)++;
    if (!ms->combine || !batch_fits(&ms->batch, r)) {
        int rc = batch_flush(ms);
        return rc < 0 ? rc : map_add(ms, r);
    }
    if (ms->batch.n == FLOW_BATCH) {
        int rc = map_combine_oldest(ms);
        if (rc < 0)
            return rc;
    }
    batch_put(&ms->batch, &ms->table, r, 0);
    return FLOW_OK;
}

/* Table entries into the buckets (the end of a task that never spilled). */
static int table_to_buckets(mapside_t *ms)
{
    for (size_t i = 0; i < ms->table.cap; i++) {
        flow__agg_entry_t *e = &ms->table.slots[i];
        flow__agg_prefetch_ext(&ms->table, i + FLOW_AGG_SCAN_AHEAD);
        if (!flow__agg_used(e))
            continue;
        uint32_t p;
        int rc = entry_partition(ms, e, &p);
        if (rc < 0)
            return rc;
        flow_rec_t rec = flow__agg_rec(e);
        flow__block_append(&ms->buckets[p], &rec);
        ms->bucketed++;
    }
    flow__agg_clear(&ms->table);
    return FLOW_OK;
}

static int key_order(const flow_rec_t *a, const flow_rec_t *b)
{
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = n ? memcmp(a->key, b->key, n) : 0;
    return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

/* A combining map task's spills hold segment r sorted by key, one record per
 * key each: merge them, combining equal keys, so that the output has one
 * record per key as if nothing had spilled. */
static int merge_combined(mapside_t *ms, flow__spill_writer_t *w, uint32_t r)
{
    flow__err_t *err = ms->t->err;
    int n = ms->nspills, rc = FLOW_OK;
    flow__spill_reader_t **rd = flow__calloc((size_t)n, sizeof *rd);
    flow_rec_t *cur = flow__calloc((size_t)n, sizeof *cur);
    int *live = flow__calloc((size_t)n, sizeof *live);
    for (int i = 0; i < n && rc == FLOW_OK; i++)
        if ((rc = flow__spill_open(&ms->spills[i], r, &rd[i], err)) == FLOW_OK &&
            (rc = flow__spill_next(rd[i], &cur[i], err)) >= 0)
            live[i] = rc, rc = FLOW_OK;
    flow__aggtable_t one;
    flow__agg_init(&one, 0, 0);
    while (rc == FLOW_OK) {
        int m = -1;
        for (int i = 0; i < n; i++)
            if (live[i] && (m < 0 || key_order(&cur[i], &cur[m]) < 0))
                m = i;
        if (m < 0)
            break;
        int isnew;
        flow__agg_entry_t *e = flow__agg_upsert(&one, cur[m].key, cur[m].klen,
                                                flow__agg_hash(cur[m].key, cur[m].klen),
                                                &isnew);
        flow__agg_set_val(&one, e, cur[m].val, cur[m].vlen);
        /* Compare with the entry's copy of the key: cur[m] moves on below. */
        flow_rec_t key = flow_rec_kv(flow__agg_key(e), flow__agg_klen(e), "", 0);
        for (int i = 0; i < n && rc == FLOW_OK; i++) {
            if (!live[i] || (i != m && key_order(&cur[i], &key) != 0))
                continue;
            if (i != m)
                rc = comb_apply(ms->t, &ms->comb, &one, e, 0, &cur[i], 0);
            if (rc == FLOW_OK && (rc = flow__spill_next(rd[i], &cur[i], err)) >= 0)
                live[i] = rc, rc = FLOW_OK;
        }
        flow_rec_t merged = flow__agg_rec(e);
        if (rc == FLOW_OK)
            rc = flow__spill_put(w, &merged, err);
        flow__agg_clear_only(&one, e); /* Empty the one-entry table again. */
    }
    flow__agg_free(&one);
    for (int i = 0; i < n; i++)
        if (rd[i])
            flow__spill_close(rd[i]);
    flow__free(rd);
    flow__free(cur);
    flow__free(live);
    return rc;
}

/* Merge the spill files and what memory holds into one file, segment by segment. */
static int merge_spills(mapside_t *ms, flow__map_output_t *mo)
{
    flow__err_t *err = ms->t->err;
    flow__spill_writer_t *w;
    int rc = flow__spill_create(ms->t->env->local_dir, &w, err);
    const flow__blockstore_t *bs = ms->t->env->store;
    if (rc == FLOW_OK && bs && !bs->compress)
        flow__spill_store_raw(w); /* A map output, as the store writes one (to_disk). */
    for (uint32_t r = 0; rc == FLOW_OK && r < mo->nparts; r++) {
        rc = flow__spill_segment(w, r, err);
        if (rc == FLOW_OK && ms->combine) {
            rc = merge_combined(ms, w, r);
            continue;
        }
        for (int i = 0; rc == FLOW_OK && i < ms->nspills; i++) {
            flow__spill_reader_t *sr;
            if ((rc = flow__spill_open(&ms->spills[i], r, &sr, err)) < 0)
                break;
            flow_rec_t rec;
            while ((rc = flow__spill_next(sr, &rec, err)) == 1)
                if ((rc = flow__spill_put(w, &rec, err)) < 0)
                    break;
            flow__spill_close(sr);
        }
        size_t pos = 0;
        flow_rec_t rec;
        flow__wbuf_t *b = &ms->buckets[r];
        while (rc == FLOW_OK && flow__block_next(b->data, b->len, &pos, &rec) == 1)
            rc = flow__spill_put(w, &rec, err);
        flow__wbuf_free(b);
    }
    if (rc < 0) {
        if (w)
            flow__spill_abort(w);
        return rc;
    }
    if ((rc = flow__spill_finish(w, &mo->file, err)) < 0)
        return rc;
    mo->on_disk = 1;
    ms->spill_bytes += mo->file.file_bytes;
    return FLOW_OK;
}

static int map_finish(mapside_t *ms, flow__wbuf_t *out)
{
    flow_task_t *t = ms->t;
    int rc = FLOW_OK;
    if (ms->combine && ms->nspills == 0)
        rc = table_to_buckets(ms);
    else if (ms->combine && ms->table.count)
        rc = map_spill(ms);
    if (rc < 0)
        return rc;
    flow__map_output_t *mo = flow__mo_new(ms->s->shuffle, t->partition, ms->part.spec->nparts);
    if (ms->nspills) {
        rc = merge_spills(ms, mo);
    } else {
        for (uint32_t r = 0; r < mo->nparts; r++) {
            mo->segs[r] = ms->buckets[r];
            flow__wbuf_init(&ms->buckets[r]);
        }
        mo->records = ms->bucketed; /* Nothing spilled: every record is here. */
    }
    if (rc < 0) {
        flow__mo_free(mo);
        return rc;
    }
    /* The table's work is done: its memory goes back before the output is
     * stored, so that the output can use it. */
    flow__agg_free(&ms->table);
    flow__task_exec_return(t, ms->mem);
    ms->mem = 0;
    uint64_t records = mo->records, bytes = 0;
    if (mo->on_disk) {
        records = mo->file.records;
        bytes = mo->file.raw_bytes; /* As reads count them: records in block layout. */
    } else {
        for (uint32_t r = 0; r < mo->nparts; r++)
            bytes += mo->segs[r].len;
    }
    if ((rc = flow__bs_put(t->env->store, mo, t->err)) < 0)
        return rc;
    flow__wbuf_u64(out, records);
    flow__wbuf_u64(out, bytes);
    flow__wbuf_u64(out, ms->spill_bytes);
    return FLOW_OK;
}

static void map_free(mapside_t *ms)
{
    for (uint32_t r = 0; ms->buckets && r < ms->part.spec->nparts; r++)
        flow__wbuf_free(&ms->buckets[r]);
    flow__free(ms->buckets);
    for (int i = 0; i < ms->nspills; i++)
        flow__spill_remove(&ms->spills[i]);
    flow__free(ms->spills);
    flow__agg_free(&ms->table);
    flow__arena_free(&ms->comb.scratch);
    flow__arena_free(&ms->arena);
}

int flow__sink_shuffle(flow_task_t *t, const flow__sinkspec_t *s, flow_iter_t *in,
                       flow__wbuf_t *out, uint64_t *nrec)
{
    mapside_t ms;
    memset(&ms, 0, sizeof ms);
    ms.t = t;
    ms.s = s;
    flow__arena_init(&ms.arena, 64 * 1024);
    ms.mem = flow__task_exec_memory(t);
    flow__agg_init(&ms.table, FLOW_AGG_SALT_MAP, t->env->mem_limit);
    flow__task_exec_grow(t, &ms.mem, flow__agg_bytes(&ms.table)); /* A kept slot array. */
    int rc = part_open(t, &s->part, &ms.part, &ms.arena);
    if (rc == FLOW_OK)
        rc = comb_open(t, &s->agg, &ms.comb);
    if (rc == FLOW_OK) {
        ms.combine = s->agg.kind != FLOW_AGG_NONE;
        ms.buckets = flow__calloc(s->part.nparts, sizeof *ms.buckets);
        uint32_t part = t->partition;
        ms.nrec = nrec;
        flow_rec_t r;
        /* A flat_map right below hands its records straight to the buckets
         * or the combiner; anything else is pulled. */
        rc = flow__iter_push(in, map_push, &ms);
        if (rc == 1 && (rc = batch_flush(&ms)) == FLOW_OK)
            rc = 1;
        while (rc == 0 && (rc = flow_iter_next(in, &r)) == 1) {
            t->partition = part;
            t->dataset = 0;
            if ((rc = map_push(&ms, &r)) < 0)
                break;
            if (flow__task_cancelled(t)) {
                rc = FLOW_ECANCELED;
                break;
            }
        }
        if (rc == 0)
            rc = batch_flush(&ms);
        t->partition = part;
        if (rc == 0 || rc == 1)
            rc = map_finish(&ms, out);
    }
    map_free(&ms);
    return rc;
}

/* ---- Reduce side: fetching ------------------------------------------------------------ */

typedef struct fetch {
    flow_task_t *t;                /* Task. */
    const flow__shufread_t *spec;  /* What to read. */
    flow_iter_t *const *children;  /* Narrow inputs. */
    uint32_t nchildren;            /* Their number. */
    uint32_t input;                /* Input being read. */
    uint32_t map;                  /* Map output being read. */
    flow__blockstore_t *store;     /* Store of the output being read. */
    flow__map_output_t *mo;        /* The pinned output, or NULL. */
    flow__seg_reader_t seg;        /* Reader of its segment. */
    uint64_t bytes;                /* Bytes read. */
} fetch_t;

static int fetch_failed(fetch_t *f, uint32_t exec, const char *why)
{
    flow_task_t *t = f->t;
    const flow__shuf_input_t *in = &f->spec->inputs[f->input];
    t->fetch_shuffle = in->shuffle;
    t->fetch_map = f->map;
    t->fetch_exec = exec;
    char msg[FLOW_ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s", t->err->msg);
    flow__err_set(t->err, FLOW_ENET,
                  "fetch failed: shuffle %u map %u reduce %u from executor %u: %s",
                  in->shuffle, f->map, f->spec->reduce, exec, why ? why : msg);
    return FLOW_ENET;
}

static void fetch_release(fetch_t *f)
{
    if (!f->mo)
        return;
    flow__seg_close(&f->seg);
    flow__bs_release(f->store, f->mo);
    f->mo = NULL;
}

/* Pin the next map output and open its segment: 1; 2 when a narrow input
 * comes first; 0 when every input is read. */
static int fetch_advance(fetch_t *f)
{
    flow_task_t *t = f->t;
    while (f->input < f->spec->ninputs) {
        const flow__shuf_input_t *in = &f->spec->inputs[f->input];
        if (in->shuffle == 0)
            return 2; /* A narrow input is next. */
        if (f->map >= in->nmaps) {
            f->input++;
            f->map = 0;
            continue;
        }
        uint32_t exec = in->execs[f->map];
        flow__exec_group_t *g = t->env->group;
        if (exec == 0)
            return fetch_failed(f, exec, "the map output was lost");
        f->store = g && exec <= (uint32_t)g->n ? g->stores[exec - 1]
                   : exec == t->env->exec_id ? t->env->store
                                             : NULL;
        if (!f->store)
            return fetch_failed(f, exec, "executor not reachable");
        if (!(f->mo = flow__bs_get(f->store, in->shuffle, f->map)))
            return fetch_failed(f, exec, "no such map output");
        if (flow__seg_open(&f->seg, f->mo, f->spec->reduce, t->err) < 0) {
            fetch_release(f);
            return fetch_failed(f, exec, NULL);
        }
        return 1;
    }
    return 0;
}

/* The next record of any input (*tag: which input), 0 at the end. */
static int fetch_next(fetch_t *f, flow_rec_t *out, uint32_t *tag)
{
    for (;;) {
        if (f->input < f->spec->ninputs && f->spec->inputs[f->input].shuffle == 0) {
            uint32_t c = f->spec->inputs[f->input].nmaps;
            if (c >= f->nchildren)
                return flow__err_set(f->t->err, FLOW_EPROTO, "shuffle read: no child %u", c);
            int rc = flow_iter_next(f->children[c], out);
            if (rc != 0) {
                *tag = f->input;
                return rc;
            }
            f->input++;
            f->map = 0;
            continue;
        }
        if (!f->mo) {
            int rc = fetch_advance(f);
            if (rc <= 0)
                return rc;
            if (rc == 2)
                continue;
        }
        int rc = flow__seg_next(&f->seg, out, f->t->err);
        if (rc == 1) {
            *tag = f->input;
            f->bytes += flow__rec_size(out);
            return 1;
        }
        uint32_t exec = f->spec->inputs[f->input].execs[f->map];
        fetch_release(f);
        if (rc < 0)
            return fetch_failed(f, exec, NULL);
        f->map++;
    }
}

/* ---- Reduce side: values of one key (group and cogroup) -------------------------------- */

struct flow_values {
    const uint8_t *const *idx;   /* Grouped in memory: the records (key and value)
                                  * of the values are idx[istart, iend); NULL when
                                  * the values are in mem and file. */
    uint64_t istart, iend, ipos; /* ... the values' range of idx, the next one. */
    uint64_t itotal;             /* ... entries of idx (prefetches stop there). */
    flow__wbuf_t mem;            /* Values held in memory (a block). */
    flow__spill_writer_t *w;     /* Values past the limit, being written. */
    flow__spill_file_t file;     /* ... and once written. */
    int spilled;                 /* file holds values. */
    uint64_t count;              /* Values gathered. */
    size_t pos;                  /* Reading: next value in mem. */
    flow__spill_reader_t *sr;    /* Reading: the file. */
    int in_file;                 /* Reading has reached the file. */
    flow__err_t *err;            /* Where read errors go. */
    flow__shuf_reader_t *owner;  /* The reader (for its limits). */
};

/* A record written by flow__rec_write with a key (perhaps empty). */
static inline flow_rec_t kept_rec(const uint8_t *p)
{
    uint32_t hdr[2];
    memcpy(hdr, p, 8);
    return flow_rec_kv(p + 8, hdr[0], p + 8 + flow__pad8(hdr[0]), hdr[1]);
}

/* Distance, in values, of the prefetch ahead of an indexed read. */
#define VALUES_PREFETCH 6

int flow_values_next(flow_values_t *v, flow_rec_t *out)
{
    if (v->idx) {
        if (v->ipos == v->iend)
            return 0;
        if (v->ipos + VALUES_PREFETCH < v->itotal)
            flow__prefetch(v->idx[v->ipos + VALUES_PREFETCH]);
        flow_rec_t r = kept_rec(v->idx[v->ipos++]);
        *out = flow_rec(r.val, r.vlen);
        return 1;
    }
    if (!v->in_file) {
        int rc = flow__block_next(v->mem.data, v->mem.len, &v->pos, out);
        if (rc != 0)
            return rc;
        if (!v->spilled)
            return 0;
        v->in_file = 1;
        if ((rc = flow__spill_open(&v->file, -1, &v->sr, v->err)) < 0)
            return rc;
    }
    return flow__spill_next(v->sr, out, v->err);
}

void flow_values_rewind(flow_values_t *v)
{
    v->ipos = v->istart;
    v->pos = 0;
    v->in_file = 0;
    if (v->sr)
        flow__spill_close(v->sr);
    v->sr = NULL;
}

uint64_t flow_values_count(const flow_values_t *v) { return v->count; }

static void values_reset(flow_values_t *v)
{
    v->idx = NULL;
    v->istart = v->iend = 0;
    flow_values_rewind(v);
    v->mem.len = 0;
    v->count = 0;
    if (v->spilled)
        flow__spill_remove(&v->file);
    v->spilled = 0;
}

/* ---- Reduce side: the reader ------------------------------------------------------------ */

/* GROUP in memory. Records are kept as they arrive (key and value) in
 * chunks, where they stay put; a table of 8-byte slots (32 bits of the key's
 * hash and a group number) maps each key to its group, numbered in order of
 * first arrival, whose first record holds the key; each
 * record notes its slot, group * ninputs + input. At the end a counting pass
 * orders the records by slot (stable, so each input's values keep their
 * arrival order), and each group is handed to the function with its values
 * read through that index. Past the task's grant everything moves into the
 * external sorter and grouping goes on by sorting, as it always did. */
#define HG_BATCH 16
#define HG_CHUNK (1u << 20)

typedef struct hg_chunk {
    struct hg_chunk *next; /* The next chunk. */
    size_t len, cap;       /* Bytes of records in data, its size. */
    uint64_t data[];       /* Records back to back (8-aligned). */
} hg_chunk_t;

typedef struct hgroup {
    uint64_t *ht;             /* Open addressing, linear probing: per used slot the
                               * key's tag << 32 | its group; 0 when empty. */
    uint64_t hcap;            /* Slots of ht, a power of two. */
    unsigned shift;           /* 64 - log2(hcap). */
    const uint8_t **first;    /* Per group: its first record, which holds the key. */
    int on;                   /* Grouping by hash (not overflowed). */
    int ready;                /* The index is built: groups are being run. */
    hg_chunk_t *head, *tail;  /* Records as read. */
    uint64_t chunk_bytes;     /* Bytes of the chunks. */
    uint32_t *slot;           /* Per record: its group * ninputs + input. */
    uint64_t n, ncap;         /* Records, room in slot. */
    uint32_t *count;          /* Per slot: records; then where the slot ends in order. */
    uint64_t groups, gcap;    /* Groups, room in count and first (in groups). */
    const uint8_t **order;    /* The records by slot. */
    uint64_t next;            /* The next group to run. */
    int nb;                   /* Records batched (their table slots being prefetched). */
    const uint8_t *brec[HG_BATCH]; /* Them. */
    uint64_t bhash[HG_BATCH]; /* Their keys' hashes. */
    uint32_t btag[HG_BATCH];  /* Their inputs. */
} hgroup_t;

struct flow__shuf_reader {
    flow_task_t *t;               /* Task. */
    const flow__opnode_t *node;   /* Plan node. */
    const flow__shufread_t *spec; /* What to read. */
    fetch_t fetch;                /* Fetching. */
    int started;                  /* AGG, SORT, GROUP: input drained. */
    flow__aggtable_t table;       /* AGG: combined records. */
    comb_t comb;                  /* AGG: the combiner. */
    size_t slot;                  /* AGG: next table slot to return. */
    flow__sorter_t *sorter;       /* AGG overflow, SORT, GROUP. */
    flow__wbuf_t pending;         /* AGG/GROUP: the record read ahead (a block). */
    int has_pending;              /* pending holds a record. */
    flow__wbuf_t cur;             /* AGG: the merged record returned. */
    flow_values_t *vals;          /* GROUP: values per input. */
    void *group_fn;               /* GROUP: the function. */
    flow_buf_t arg;               /* GROUP, SORT: its argument. */
    flow__wbuf_t outbuf;          /* GROUP: records the function emitted. */
    size_t outpos;                /* GROUP: next of them. */
    flow__arena_t scratch;        /* GROUP: UDF scratch. */
    uint64_t spill_bytes;         /* Bytes spilled. */
    uint64_t mem;                 /* Execution memory granted. */
    flow__agg_entry_t *merge_e;   /* AGG after an overflow: the key being merged. */
    batch_t batch;                /* AGG: records whose slots are being prefetched. */
    flow__wbuf_t tagged;          /* GROUP by sorting: a value behind its input's tag. */
    hgroup_t h;                   /* GROUP in memory: by hash table, until it overflows. */
};

int flow__shuf_reader_open(flow_task_t *t, const flow__opnode_t *node,
                           flow_iter_t *const *children, flow__shuf_reader_t **out)
{
    flow__shuf_reader_t *r = flow__calloc(1, sizeof *r);
    *out = r;
    r->t = t;
    r->node = node;
    r->spec = node->read;
    r->fetch.t = t;
    r->fetch.spec = node->read;
    r->fetch.children = children;
    r->fetch.nchildren = node->nchildren;
    r->arg.data = node->read->arg;
    r->arg.len = node->read->arg_len;
    /* Plain reads hold no buffers: only the others take execution memory. */
    r->mem = node->read->mode == FLOW_READ_PLAIN ? 0 : flow__task_exec_memory(t);
    flow__agg_init(&r->table, FLOW_AGG_SALT_REDUCE, t->env->mem_limit);
    if (r->mem)
        flow__task_exec_grow(t, &r->mem, flow__agg_bytes(&r->table));
    flow__arena_init(&r->scratch, 64 * 1024);
    if (r->spec->ninputs == 0 || r->spec->mode < FLOW_READ_PLAIN ||
        r->spec->mode > FLOW_READ_GROUP)
        return flow__err_set(t->err, FLOW_EPROTO, "malformed shuffle read");
    if (r->spec->mode == FLOW_READ_AGG)
        return comb_open(t, &r->spec->agg, &r->comb);
    if (r->spec->fn.idlen && !(r->group_fn = flow__fnref_resolve(&r->spec->fn, t->err)))
        return t->err->code;
    if (r->spec->mode == FLOW_READ_GROUP) {
        if (!r->group_fn)
            return flow__err_set(t->err, FLOW_EPROTO, "group without a function");
        r->vals = flow__calloc(r->spec->ninputs, sizeof *r->vals);
        for (uint32_t i = 0; i < r->spec->ninputs; i++) {
            r->vals[i].err = t->err;
            r->vals[i].owner = r;
        }
    }
    return FLOW_OK;
}

static flow__sorter_t *new_sorter(flow__shuf_reader_t *r, flow_cmp_fn *cmp,
                                  const flow_buf_t *arg, int desc)
{
    /* A sorter takes its whole share at once: sorting needs the memory. */
    flow__task_exec_grow(r->t, &r->mem, r->t->env->mem_limit);
    return flow__sorter_new(cmp, arg, desc, r->mem, r->t->env->local_dir);
}

/* AGG: move the table into the sorter (it overflowed memory). */
static int agg_overflow(flow__shuf_reader_t *r)
{
    if (!r->sorter)
        r->sorter = new_sorter(r, flow__sorter_cmp_keys, NULL, 0);
    for (size_t i = 0; i < r->table.cap; i++) {
        flow__agg_entry_t *e = &r->table.slots[i];
        flow__agg_prefetch_ext(&r->table, i + FLOW_AGG_SCAN_AHEAD);
        if (!flow__agg_used(e))
            continue;
        flow_rec_t rec = flow__agg_rec(e);
        int rc = flow__sorter_add(r->sorter, &rec, r->t->err);
        if (rc < 0)
            return rc;
    }
    r->table.limit = r->mem; /* As map_spill: the cleared table must fit its grant. */
    flow__agg_clear(&r->table);
    return FLOW_OK;
}

/* After the table grew: move it to the sorter when it passes the grant. */
static int agg_check(flow__shuf_reader_t *r)
{
    int rc;
    if (!flow__task_exec_grow(r->t, &r->mem, flow__agg_bytes(&r->table)) &&
        (rc = agg_overflow(r)) < 0)
        return rc;
    return flow__task_cancelled(r->t) ? FLOW_ECANCELED : FLOW_OK;
}

/* Fold record rec (of input tag, its key hashing to h) into the table. */
static int agg_add(flow__shuf_reader_t *r, const flow_rec_t *rec, uint64_t h, uint32_t tag)
{
    int isnew, rc;
    flow__agg_entry_t *e = flow__agg_upsert(&r->table, rec->key, rec->klen, h, &isnew);
    /* Map outputs hold combiners; a narrow (co-partitioned) input, values. */
    int as_value = r->spec->inputs[tag].shuffle == 0;
    if ((rc = comb_apply(r->t, &r->comb, &r->table, e, isnew, rec, as_value)) < 0)
        return rc;
    return agg_check(r);
}

/* Fold the oldest record of the ring in. Sums and counts take the short
 * path, with the memory checked once per FLOW_BATCH of them. */
static int agg_combine_oldest(flow__shuf_reader_t *r)
{
    batch_t *b = &r->batch;
    int i = batch_pop(b), isnew, rc;
    int as_value = r->spec->inputs[b->tag[i]].shuffle == 0;
    const flow_rec_t *rec = &b->rec[i];
    flow__agg_entry_t *e = flow__agg_upsert(&r->table, rec->key, rec->klen, b->hash[i], &isnew);
    if (sum_fast(&r->comb, e, isnew, rec, as_value)) {
        if (++b->unchecked < FLOW_BATCH)
            return FLOW_OK;
    } else if ((rc = comb_apply(r->t, &r->comb, &r->table, e, isnew, rec, as_value)) < 0) {
        return rc;
    }
    b->unchecked = 0;
    return agg_check(r);
}

/* Fold every record of the ring in. */
static int agg_flush(flow__shuf_reader_t *r)
{
    int rc = FLOW_OK;
    while (r->batch.n && rc == FLOW_OK)
        rc = agg_combine_oldest(r);
    if (rc == FLOW_OK && r->batch.unchecked) {
        r->batch.unchecked = 0;
        rc = agg_check(r);
    }
    return rc;
}

static int drain_agg(flow__shuf_reader_t *r)
{
    flow_rec_t rec;
    uint32_t tag;
    int rc;
    while ((rc = fetch_next(&r->fetch, &rec, &tag)) == 1) {
        if (batch_fits(&r->batch, &rec)) {
            if (r->batch.n == FLOW_BATCH && (rc = agg_combine_oldest(r)) < 0)
                return rc;
            batch_put(&r->batch, &r->table, &rec, tag);
            continue;
        }
        if ((rc = agg_flush(r)) < 0 ||
            (rc = agg_add(r, &rec, flow__agg_hash(rec.key, rec.klen), tag)) < 0)
            return rc;
    }
    if (rc < 0 || (rc = agg_flush(r)) < 0)
        return rc;
    if (r->sorter) {
        if ((rc = agg_overflow(r)) < 0 || (rc = flow__sorter_finish(r->sorter, r->t->err)) < 0)
            return rc;
    }
    return FLOW_OK;
}

static void keep_pending(flow__shuf_reader_t *r, const flow_rec_t *rec)
{
    r->pending.len = 0;
    flow__block_append(&r->pending, rec);
    r->has_pending = 1;
}

static flow_rec_t pending_rec(flow__shuf_reader_t *r)
{
    size_t pos = 0;
    flow_rec_t rec;
    flow__block_next(r->pending.data, r->pending.len, &pos, &rec);
    return rec;
}

/* AGG after an overflow: merge runs of equal keys from the sorter. */
static int next_agg_sorted(flow__shuf_reader_t *r, flow_rec_t *out)
{
    flow_rec_t rec;
    int rc;
    if (!r->has_pending) {
        if ((rc = flow__sorter_next(r->sorter, &rec, r->t->err)) <= 0)
            return rc;
        keep_pending(r, &rec);
    }
    /* The one-entry table holds the key being merged: empty it of the last
     * key alone (clearing every slot of a big table per key was quadratic). */
    if (r->merge_e && r->table.count == 1)
        flow__agg_clear_only(&r->table, r->merge_e);
    else
        flow__agg_clear(&r->table);
    flow_rec_t first = pending_rec(r);
    int isnew;
    flow__agg_entry_t *e = flow__agg_upsert(&r->table, first.key, first.klen,
                                            flow__agg_hash(first.key, first.klen), &isnew);
    flow__agg_set_val(&r->table, e, first.val, first.vlen);
    r->merge_e = e;
    r->has_pending = 0;
    while ((rc = flow__sorter_next(r->sorter, &rec, r->t->err)) == 1) {
        if (rec.klen != flow__agg_klen(e) || memcmp(rec.key, flow__agg_key(e), rec.klen) != 0) {
            keep_pending(r, &rec);
            break;
        }
        if ((rc = comb_apply(r->t, &r->comb, &r->table, e, 0, &rec, 0)) < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    r->cur.len = 0;
    flow_rec_t merged = flow__agg_rec(e);
    flow__block_append(&r->cur, &merged);
    size_t pos = 0;
    flow__block_next(r->cur.data, r->cur.len, &pos, out);
    return 1;
}

static int next_agg(flow__shuf_reader_t *r, flow_rec_t *out)
{
    if (!r->started) {
        r->started = 1;
        int rc = drain_agg(r);
        if (rc < 0)
            return rc;
    }
    if (r->sorter)
        return next_agg_sorted(r, out);
    while (r->slot < r->table.cap) {
        flow__agg_prefetch_ext(&r->table, r->slot + FLOW_AGG_SCAN_AHEAD);
        flow__agg_entry_t *e = &r->table.slots[r->slot++];
        if (flow__agg_used(e)) {
            *out = flow__agg_rec(e);
            return 1;
        }
    }
    return 0;
}

/* Add rec to the sorter (GROUP: its value behind the tag of its input). */
static int sort_add(flow__shuf_reader_t *r, flow_rec_t rec, uint32_t tag)
{
    if (r->spec->mode == FLOW_READ_GROUP) {
        r->tagged.len = 0;
        flow__wbuf_u64(&r->tagged, tag);
        flow__wbuf_put(&r->tagged, rec.val, rec.vlen);
        rec.val = r->tagged.data;
        rec.vlen = r->tagged.len;
    }
    int rc = flow__sorter_add(r->sorter, &rec, r->t->err);
    if (rc == FLOW_OK && flow__task_cancelled(r->t))
        rc = FLOW_ECANCELED;
    return rc;
}

static void hg_free(hgroup_t *h)
{
    while (h->head) {
        hg_chunk_t *c = h->head;
        h->head = c->next;
        flow__free(c);
    }
    flow__free(h->ht);
    flow__free(h->first);
    flow__free(h->slot);
    flow__free(h->count);
    flow__free(h->order);
    memset(h, 0, sizeof *h);
}

/* Keep a copy of r; where it is. */
static const uint8_t *hg_put(hgroup_t *h, const flow_rec_t *r)
{
    size_t size = flow__rec_size(r);
    hg_chunk_t *c = h->tail;
    if (!c || c->cap - c->len < size) {
        size_t cap = size > HG_CHUNK - sizeof *c ? size : HG_CHUNK - sizeof *c;
        c = flow__malloc(sizeof *c + cap);
        c->next = NULL;
        c->len = 0;
        c->cap = cap;
        if (h->tail)
            h->tail->next = c;
        else
            h->head = c;
        h->tail = c;
        h->chunk_bytes += sizeof *c + cap;
    }
    uint8_t *at = (uint8_t *)c->data + c->len;
    c->len += flow__rec_write(at, r);
    return at;
}

/* What hash grouping holds, with the index it will build at the end. */
static uint64_t hg_bytes(const flow__shuf_reader_t *r)
{
    const hgroup_t *h = &r->h;
    return h->hcap * sizeof *h->ht + h->chunk_bytes + h->ncap * (sizeof *h->slot + 8) +
           h->gcap * (r->spec->ninputs * sizeof *h->count + sizeof *h->first);
}

/* The tag kept of a hash: its low half (the partitioner took the high one),
 * never 0. */
static inline uint32_t hg_tag(uint64_t hash)
{
    return (uint32_t)hash ? (uint32_t)hash : 1;
}

static inline uint64_t hg_home(const hgroup_t *h, uint32_t tag)
{
    return ((uint64_t)tag * 0x9E3779B97F4A7C15ull) >> h->shift;
}

/* Double the table (or make it), placing the slots again by their tags. */
static void hg_grow(hgroup_t *h)
{
    uint64_t *old = h->ht, oldcap = h->hcap;
    h->hcap = oldcap ? 2 * oldcap : 4096;
    h->shift = 64 - (unsigned)__builtin_ctzll(h->hcap);
    h->ht = flow__calloc(h->hcap, sizeof *h->ht);
    for (uint64_t i = 0; i < oldcap; i++) {
        if (!old[i])
            continue;
        uint64_t j = hg_home(h, (uint32_t)(old[i] >> 32));
        while (h->ht[j])
            j = (j + 1) & (h->hcap - 1);
        h->ht[j] = old[i];
    }
    flow__free(old);
}

/* The group of the kept record p, whose key hashes to hash; a new one
 * (numbered next) when the key is new. */
static uint64_t hg_group(hgroup_t *h, uint32_t nin, const uint8_t *p, uint64_t hash)
{
    if ((h->groups + 1) * 10 > h->hcap * 7)
        hg_grow(h);
    flow_rec_t rec = kept_rec(p);
    uint32_t tag = hg_tag(hash);
    uint64_t mask = h->hcap - 1, i = hg_home(h, tag);
    for (; h->ht[i]; i = (i + 1) & mask) {
        if ((uint32_t)(h->ht[i] >> 32) != tag)
            continue;
        uint64_t g = (uint32_t)h->ht[i];
        flow_rec_t k = kept_rec(h->first[g]);
        if (k.klen == rec.klen && memcmp(k.key, rec.key, rec.klen) == 0)
            return g;
    }
    if (h->groups == h->gcap) {
        h->gcap = h->gcap ? 2 * h->gcap : 1024;
        h->count = flow__realloc(h->count, h->gcap * nin * sizeof *h->count);
        h->first = flow__realloc(h->first, h->gcap * sizeof *h->first);
    }
    uint64_t g = h->groups++;
    memset(h->count + g * nin, 0, nin * sizeof *h->count);
    h->first[g] = p;
    h->ht[i] = (uint64_t)tag << 32 | g;
    return g;
}

/* Past the grant: every record held so far into the sorter, and grouping goes
 * on by sorting. The table and the groups go first and each chunk as soon as
 * its records are in the sorter, so that the two together hold little more
 * than the grant. */
static int hg_overflow(flow__shuf_reader_t *r)
{
    hgroup_t *h = &r->h;
    flow__free(h->ht);
    flow__free(h->first);
    flow__free(h->count);
    h->ht = NULL;
    h->first = NULL;
    h->count = NULL;
    r->sorter = new_sorter(r, flow__sorter_cmp_keys, NULL, 0);
    int rc = FLOW_OK;
    uint64_t i = 0;
    while (h->head && rc == FLOW_OK) {
        hg_chunk_t *c = h->head;
        for (size_t at = 0; at < c->len && rc == FLOW_OK;) {
            flow_rec_t rec = kept_rec((const uint8_t *)c->data + at);
            at += flow__rec_size(&rec);
            rc = sort_add(r, rec, h->slot[i++] % r->spec->ninputs);
        }
        h->head = c->next;
        flow__free(c);
    }
    hg_free(h);
    return rc;
}

/* Give the batched records their groups, then check the memory. */
static int hg_flush(flow__shuf_reader_t *r)
{
    hgroup_t *h = &r->h;
    uint32_t nin = r->spec->ninputs;
    /* The slots were prefetched as the records came; now the first record of
     * the group each home slot names (where the key to compare is), through
     * first[], so that the compares below find their bytes in cache. */
    uint64_t fg[HG_BATCH];
    for (int i = 0; i < h->nb && h->ht; i++) {
        uint64_t e = h->ht[hg_home(h, hg_tag(h->bhash[i]))];
        fg[i] = e && (uint32_t)(e >> 32) == hg_tag(h->bhash[i]) ? (uint32_t)e : UINT64_MAX;
        if (fg[i] != UINT64_MAX)
            flow__prefetch(&h->first[fg[i]]);
    }
    for (int i = 0; i < h->nb && h->ht; i++)
        if (fg[i] != UINT64_MAX)
            flow__prefetch(h->first[fg[i]]);
    for (int i = 0; i < h->nb; i++) {
        uint64_t g = hg_group(h, nin, h->brec[i], h->bhash[i]);
        uint64_t at = h->n - (uint64_t)h->nb + (uint64_t)i;
        h->slot[at] = (uint32_t)(g * nin + h->btag[i]);
        h->count[g * nin + h->btag[i]]++;
    }
    h->nb = 0;
    /* Slot numbers and counts must fit 32 bits; past that, or the grant, sort. */
    if ((h->gcap + HG_BATCH) * nin >= UINT32_MAX || h->n + HG_BATCH >= UINT32_MAX ||
        !flow__task_exec_grow(r->t, &r->mem, hg_bytes(r)))
        return hg_overflow(r);
    return flow__task_cancelled(r->t) ? FLOW_ECANCELED : FLOW_OK;
}

/* Keep record rec of input tag, to be grouped. */
static int hg_add(flow__shuf_reader_t *r, const flow_rec_t *rec, uint32_t tag)
{
    hgroup_t *h = &r->h;
    if (h->n == h->ncap) {
        h->ncap = h->ncap ? 2 * h->ncap : 4096;
        h->slot = flow__realloc(h->slot, h->ncap * sizeof *h->slot);
    }
    flow_rec_t kept = *rec;
    if (!kept.key)
        kept.key = ""; /* Grouped as the empty key, as the sorter compares it. */
    const uint8_t *p = hg_put(h, &kept);
    kept = kept_rec(p);
    h->brec[h->nb] = p;
    h->bhash[h->nb] = flow__agg_hash(kept.key, kept.klen);
    h->btag[h->nb] = tag;
    if (h->ht)
        flow__prefetch(&h->ht[hg_home(h, hg_tag(h->bhash[h->nb]))]);
    h->n++;
    return ++h->nb == HG_BATCH ? hg_flush(r) : FLOW_OK;
}

/* The end of the input: order the records by slot. count[s] becomes the end
 * of slot s in order (its start is count[s - 1], or 0). */
static void hg_index(hgroup_t *h, uint32_t nin)
{
    uint64_t nslots = h->groups * nin, sum = 0;
    for (uint64_t s = 0; s < nslots; s++) {
        uint32_t c = h->count[s];
        h->count[s] = (uint32_t)sum;
        sum += c;
    }
    h->order = flow__malloc((h->n ? h->n : 1) * sizeof *h->order);
    uint64_t i = 0;
    for (const hg_chunk_t *c = h->head; c; c = c->next)
        for (size_t at = 0; at < c->len;) {
            const uint8_t *p = (const uint8_t *)c->data + at;
            flow_rec_t rec = kept_rec(p);
            at += flow__rec_size(&rec);
            h->order[h->count[h->slot[i++]]++] = p;
        }
    flow__free(h->slot);
    h->slot = NULL;
    h->ready = 1;
}

/* SORT and GROUP: read every record. SORT sorts them; GROUP groups them in
 * memory by hash until they outgrow the grant, then by sorting. */
static int drain_sorted(flow__shuf_reader_t *r)
{
    int group = r->spec->mode == FLOW_READ_GROUP;
    r->h.on = group;
    if (!group)
        r->sorter = new_sorter(r, r->group_fn, &r->arg, r->spec->descending);
    flow_rec_t rec;
    uint32_t tag;
    int rc;
    while ((rc = fetch_next(&r->fetch, &rec, &tag)) == 1) {
        rc = r->h.on ? hg_add(r, &rec, tag) : sort_add(r, rec, tag);
        if (rc < 0)
            return rc;
    }
    if (rc == 0 && r->h.on) {
        if ((rc = hg_flush(r)) < 0)
            return rc;
        if (r->h.on) {
            hg_index(&r->h, r->spec->ninputs);
            return FLOW_OK;
        }
    }
    if (rc == 0)
        rc = flow__sorter_finish(r->sorter, r->t->err);
    return rc;
}

/* GROUP: put one tagged record's value into its input's values. */
static int values_add(flow__shuf_reader_t *r, const flow_rec_t *rec)
{
    uint64_t tag = flow_i64(rec->val);
    if (tag >= r->spec->ninputs)
        return flow__err_set(r->t->err, FLOW_EPROTO, "group: bad input tag %llu",
                             (unsigned long long)tag);
    flow_values_t *v = &r->vals[tag];
    flow_rec_t val = flow_rec((const uint8_t *)rec->val + 8, rec->vlen - 8);
    v->count++;
    if (!v->w && v->mem.len + flow__rec_size(&val) <= r->mem / 4 + 64) {
        flow__block_append(&v->mem, &val);
        return FLOW_OK;
    }
    if (!v->w) {
        int rc = flow__spill_create(r->t->env->local_dir, &v->w, r->t->err);
        if (rc < 0)
            return rc;
    }
    return flow__spill_put(v->w, &val, r->t->err);
}

/* GROUP: run the function over one key and the values gathered in r->vals,
 * emitting into em: 1, or a negative code. */
static int group_run(flow__shuf_reader_t *r, const void *key, size_t klen, flow_emit_t *em)
{
    flow_task_t *t = r->t;
    t->partition = r->node->partition;
    t->dataset = r->node->dataset;
    t->scratch = &r->scratch;
    flow__arena_reset(&r->scratch);
    flow_values_t *ptrs[64], **vp = r->spec->ninputs <= 64
                                        ? ptrs
                                        : flow__malloc(sizeof *vp * r->spec->ninputs);
    for (uint32_t i = 0; i < r->spec->ninputs; i++)
        vp[i] = &r->vals[i];
    int u = r->spec->cogroup
                ? ((flow_cogroup_fn *)r->group_fn)(t, key, klen, vp, (int)r->spec->ninputs,
                                                   em, &r->arg)
                : ((flow_group_fn *)r->group_fn)(t, key, klen, vp[0], em, &r->arg);
    if (vp != ptrs)
        flow__free(vp);
    return u != 0 ? flow__udf_failed(t, "group", u) : 1;
}

/* GROUP in memory: run the function over the next group. */
static int hg_next_key(flow__shuf_reader_t *r, flow_emit_t *em)
{
    hgroup_t *h = &r->h;
    if (h->next == h->groups)
        return 0;
    uint32_t nin = r->spec->ninputs;
    uint64_t g = h->next++, s0 = g * nin;
    /* The group after next: its first record into the cache. */
    if (h->next + 1 < h->groups) {
        uint64_t at = h->count[(h->next + 1) * nin - 1];
        if (at < h->n)
            flow__prefetch(h->order[at]);
    }
    flow_rec_t first = {NULL, 0, NULL, 0};
    for (uint32_t i = 0; i < nin; i++) {
        flow_values_t *v = &r->vals[i];
        values_reset(v);
        v->idx = h->order;
        v->itotal = h->n;
        v->istart = v->ipos = s0 + i ? h->count[s0 + i - 1] : 0;
        v->iend = h->count[s0 + i];
        v->count = v->iend - v->istart;
        if (v->count && !first.key)
            first = kept_rec(h->order[v->istart]);
    }
    return group_run(r, first.key, first.klen, em);
}

/* GROUP: gather the next key's values and run the function over them,
 * emitting into em. */
static int group_next_key(flow__shuf_reader_t *r, flow_emit_t *em)
{
    if (r->h.ready)
        return hg_next_key(r, em);
    flow_rec_t rec;
    int rc;
    if (!r->has_pending) {
        if ((rc = flow__sorter_next(r->sorter, &rec, r->t->err)) <= 0)
            return rc;
        keep_pending(r, &rec);
    }
    for (uint32_t i = 0; i < r->spec->ninputs; i++)
        values_reset(&r->vals[i]);
    flow__wbuf_t key;
    flow__wbuf_init(&key);
    flow_rec_t first = pending_rec(r);
    flow__wbuf_reserve(&key, 8);
    flow__wbuf_put(&key, first.key, first.klen);
    r->has_pending = 0;
    rc = values_add(r, &first);
    while (rc == FLOW_OK && (rc = flow__sorter_next(r->sorter, &rec, r->t->err)) == 1) {
        if (rec.klen != key.len || memcmp(rec.key, key.data, key.len) != 0) {
            keep_pending(r, &rec);
            rc = FLOW_OK;
            break;
        }
        rc = values_add(r, &rec);
    }
    for (uint32_t i = 0; rc >= 0 && i < r->spec->ninputs; i++) {
        flow_values_t *v = &r->vals[i];
        if (v->w) {
            rc = flow__spill_finish(v->w, &v->file, r->t->err);
            v->w = NULL;
            v->spilled = rc == FLOW_OK;
            if (v->spilled)
                r->spill_bytes += v->file.file_bytes;
        }
    }
    if (rc >= 0)
        rc = group_run(r, key.data, key.len, em);
    flow__wbuf_free(&key);
    return rc;
}

static int next_group(flow__shuf_reader_t *r, flow_rec_t *out)
{
    for (;;) {
        int rc = flow__block_next(r->outbuf.data, r->outbuf.len, &r->outpos, out);
        if (rc != 0)
            return rc;
        r->outbuf.len = 0;
        r->outpos = 0;
        flow_emit_t em = {&r->outbuf, NULL, NULL, NULL};
        if ((rc = group_next_key(r, &em)) <= 0)
            return rc;
        if (flow__task_cancelled(r->t))
            return FLOW_ECANCELED;
    }
}

int flow__shuf_reader_push(flow__shuf_reader_t *r, flow__consume_fn *consume, void *ud)
{
    if (r->spec->mode != FLOW_READ_GROUP || r->started)
        return 0;
    r->started = 1;
    int rc = drain_sorted(r);
    flow_emit_t em = {NULL, NULL, consume, ud};
    while (rc >= 0 && (rc = group_next_key(r, &em)) == 1)
        if (flow__task_cancelled(r->t))
            rc = FLOW_ECANCELED;
    return rc < 0 ? rc : 1;
}

int flow__shuf_reader_next(flow__shuf_reader_t *r, flow_rec_t *out)
{
    uint32_t tag;
    switch (r->spec->mode) {
    case FLOW_READ_PLAIN:
        return fetch_next(&r->fetch, out, &tag);
    case FLOW_READ_AGG:
        return next_agg(r, out);
    default:
        if (!r->started) {
            r->started = 1;
            int rc = drain_sorted(r);
            if (rc < 0)
                return rc;
        }
        if (r->spec->mode == FLOW_READ_SORT)
            return flow__sorter_next(r->sorter, out, r->t->err);
        return next_group(r, out);
    }
}

void flow__shuf_reader_close(flow__shuf_reader_t *r, flow__metrics_t *m)
{
    if (!r)
        return;
    fetch_release(&r->fetch);
    if (r->sorter) {
        flow__sorter_stats_t st;
        flow__sorter_stats(r->sorter, &st);
        r->spill_bytes += st.spill_bytes;
        flow__sorter_free(r->sorter);
    }
    if (m) {
        m->shuffle_read += r->fetch.bytes;
        m->spill_bytes += r->spill_bytes;
    }
    for (uint32_t i = 0; r->vals && i < r->spec->ninputs; i++) {
        if (r->vals[i].w)
            flow__spill_abort(r->vals[i].w);
        values_reset(&r->vals[i]);
        flow__wbuf_free(&r->vals[i].mem);
    }
    flow__free(r->vals);
    flow__agg_free(&r->table);
    flow__arena_free(&r->comb.scratch);
    flow__arena_free(&r->scratch);
    flow__wbuf_free(&r->pending);
    flow__wbuf_free(&r->cur);
    flow__wbuf_free(&r->outbuf);
    flow__wbuf_free(&r->tagged);
    hg_free(&r->h);
    flow__free(r);
}

/* ---- Built-in group functions ----------------------------------------------------------- */

/* Emit (key, pair(a, b)); a or b NULL for a missing side. */
static int emit_pair(flow_task_t *t, const void *key, size_t klen, const flow_rec_t *a,
                     const flow_rec_t *b, flow_emit_t *out)
{
    size_t n = flow_pair_size(a ? a->vlen : 0, b ? b->vlen : 0);
    void *buf = flow_task_alloc(t, n);
    if (!buf)
        return flow_task_fail(t, 1, "join: a joined value of %zu bytes is too large", n);
    flow_pair_encode(buf, a ? a->val : NULL, a ? a->vlen : 0, b ? b->val : NULL,
                     b ? b->vlen : 0);
    int rc = flow_emit_kv(out, key, klen, buf, n);
    flow__arena_reset(t->scratch);
    return rc;
}

int flow__cg_join(flow_task_t *t, const void *key, size_t klen, flow_values_t *const *vals,
                  int n, flow_emit_t *out, const flow_buf_t *arg)
{
    int keep = arg->len ? *(const uint8_t *)arg->data : 0, rc;
    flow_values_t *a = vals[0], *b = vals[1];
    flow_rec_t x, y;
    if (!a->count && !b->count)
        return 0;
    if (!b->count) {
        while (keep & FLOW_JOIN_KEEP_LEFT && (rc = flow_values_next(a, &x)) == 1)
            if ((rc = emit_pair(t, key, klen, &x, NULL, out)) < 0)
                return rc;
        return 0;
    }
    if (!a->count) {
        while (keep & FLOW_JOIN_KEEP_RIGHT && (rc = flow_values_next(b, &y)) == 1)
            if ((rc = emit_pair(t, key, klen, NULL, &y, out)) < 0)
                return rc;
        return 0;
    }
    /* Every pair: for each value of a, the values of b again. */
    while ((rc = flow_values_next(a, &x)) == 1) {
        /* x may live in a reader buffer that reading b does not touch. */
        flow_values_rewind(b);
        while ((rc = flow_values_next(b, &y)) == 1)
            if ((rc = emit_pair(t, key, klen, &x, &y, out)) < 0)
                return rc;
        if (rc < 0)
            return rc;
    }
    return rc < 0 ? rc : 0;
}

int flow__cg_subtract_by_key(flow_task_t *t, const void *key, size_t klen,
                             flow_values_t *const *vals, int n, flow_emit_t *out,
                             const flow_buf_t *arg)
{
    flow_rec_t x;
    int rc = 0;
    if (flow_values_count(vals[1]))
        return 0;
    while ((rc = flow_values_next(vals[0], &x)) == 1)
        if ((rc = flow_emit_kv(out, key, klen, x.val, x.vlen)) < 0)
            return rc;
    return rc;
}

/* Set operations: whole records travel as keys (with an empty value). */
int flow__cg_intersection(flow_task_t *t, const void *key, size_t klen,
                          flow_values_t *const *vals, int n, flow_emit_t *out,
                          const flow_buf_t *arg)
{
    if (!flow_values_count(vals[0]) || !flow_values_count(vals[1]))
        return 0;
    return flow_emit_kv(out, key, klen, "", 0);
}

int flow__cg_subtract(flow_task_t *t, const void *key, size_t klen, flow_values_t *const *vals,
                      int n, flow_emit_t *out, const flow_buf_t *arg)
{
    if (flow_values_count(vals[1]))
        return 0;
    for (uint64_t i = 0; i < flow_values_count(vals[0]); i++) {
        int rc = flow_emit_kv(out, key, klen, "", 0);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- Pairs ------------------------------------------------------------------------------ */

size_t flow_pair_size(size_t alen, size_t blen) { return 8 + flow__pad8(alen) + blen; }

void flow_pair_encode(void *out, const void *a, size_t alen, const void *b, size_t blen)
{
    uint8_t *p = out;
    uint32_t hdr[2] = {a ? (uint32_t)alen : FLOW_PAIR_MISSING,
                       b ? (uint32_t)blen : FLOW_PAIR_MISSING};
    memcpy(p, hdr, 8);
    size_t al = a ? alen : 0, bl = b ? blen : 0;
    if (al)
        memcpy(p + 8, a, al);
    memset(p + 8 + al, 0, flow__pad8(al) - al);
    if (bl)
        memcpy(p + 8 + flow__pad8(al), b, bl);
}

int flow_pair_decode(const void *val, size_t vlen, flow_buf_t *a, flow_buf_t *b)
{
    const uint8_t *p = val;
    uint32_t hdr[2];
    if (vlen < 8)
        return FLOW_EPROTO;
    memcpy(hdr, p, 8);
    size_t al = hdr[0] == FLOW_PAIR_MISSING ? 0 : hdr[0];
    size_t bl = hdr[1] == FLOW_PAIR_MISSING ? 0 : hdr[1];
    if (al > vlen || 8 + flow__pad8(al) + bl != vlen)
        return FLOW_EPROTO;
    a->data = hdr[0] == FLOW_PAIR_MISSING ? NULL : p + 8;
    a->len = al;
    b->data = hdr[1] == FLOW_PAIR_MISSING ? NULL : p + 8 + flow__pad8(al);
    b->len = bl;
    return FLOW_OK;
}
