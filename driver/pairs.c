/* pairs.c - wide transformations: shuffled datasets and what is built on them
 * Every wide transformation is a SHUFFLED node over one or more parents: each
 * parent is the map side of its own shuffle (the shuffle's id, and where its
 * map outputs live, are kept in the context's registry), all written with the
 * node's partitioner, and the node's partitions are reduce partitions read in
 * one of four modes (plain, aggregate, sort, group). The pair-RDD operations
 * of Spark are compositions:
 *   reduce/fold/aggregate/combine_by_key, combine_builtin: AGG with a combiner,
 *       combining on the map side too;
 *   group_by_key, cogroup: GROUP with the user's function;
 *   join and outer joins, subtract_by_key: GROUP of two inputs with a built-in
 *       function (lib/shuffle.c); a small right side of an inner join is
 *       broadcast instead (a narrow BCAST_JOIN over the left side);
 *   distinct, intersection, subtract: whole records re-keyed (key = the record
 *       as a pair encoding), combined or grouped, and decoded back;
 *   sort_by_key: a sampling job picks range bounds, then SORT;
 *   partition_by, repartition, repartition_and_sort: PLAIN or SORT. */
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "mem.h"
#include "shuffle.h"

/* ---- Shuffled nodes --------------------------------------------------------------------- */

static void *copy_bytes(const void *p, size_t n)
{
    if (!n)
        return NULL;
    void *d = flow__malloc(n);
    memcpy(d, p, n);
    return d;
}

/* A shuffle's partition count when none is asked for: default.parallelism
 * when it was set, else the largest count of its parents (Spark's default
 * partitioner), so that a big input is not funnelled into as few reduce
 * tasks as there are executors. */
static int resolve_parts(flow_dataset_t *const *parents, int n, int nparts)
{
    if (nparts > 0)
        return nparts;
    flow_context_t *ctx = parents[0]->ctx;
    if (ctx->set.parallelism_set)
        return ctx->set.default_parallelism;
    int most = 1;
    for (int i = 0; i < n; i++)
        if (parents[i]->nparts > most)
            most = parents[i]->nparts;
    return most;
}

/* A shuffled dataset over parents; the specs' bytes are copied. A parent
 * already hash-partitioned into the same number of partitions is read
 * narrowly instead of shuffled. keeps_keys: the output records keep their
 * keys in place, so the result is hash-partitioned in turn. */
static flow_dataset_t *shuffled_new_k(flow_dataset_t *const *parents, int n, const char *name,
                                      const flow__partspec_t *part, const flow__aggspec_t *agg,
                                      int map_combine, const flow__shufread_t *read,
                                      int keeps_keys)
{
    flow_context_t *ctx = parents[0]->ctx;
    for (int i = 0; i < n; i++)
        if (parents[i]->ctx != ctx) {
            flow__ctx_error(ctx, FLOW_EINVAL, "%s: dataset %u belongs to another context",
                            name, parents[i]->id);
            return NULL;
        }
    if (part->nparts < 1 || part->nparts > (1u << 24)) {
        flow__ctx_error(ctx, FLOW_EINVAL, "%s: %u partitions", name, part->nparts);
        return NULL;
    }
    flow_dataset_t *d = flow__ds_new(ctx, FLOW_DS_SHUFFLED, name, parents, n);
    if (!d)
        return NULL;
    d->nparts = (int)part->nparts;
    d->part = *part;
    d->part.arg = copy_bytes(part->arg, part->arg_len);
    d->part.bounds = copy_bytes(part->bounds, part->bounds_len);
    if (agg)
        d->agg = *agg;
    d->agg.arg = copy_bytes(d->agg.arg, d->agg.arg_len);
    d->agg.zero = copy_bytes(d->agg.zero, d->agg.zero_len);
    d->map_combine = map_combine;
    d->read = *read;
    d->read.arg = copy_bytes(read->arg, read->arg_len);
    d->shuffles = flow__calloc((size_t)n, sizeof *d->shuffles);
    ctx->shuffles = flow__realloc(ctx->shuffles,
                                  sizeof *ctx->shuffles * (size_t)(ctx->nshuffles + n));
    if (part->kind == FLOW_PART_HASH && keeps_keys)
        d->hash_parts = part->nparts;
    for (int i = 0; i < n; i++) {
        d->est_bytes += parents[i]->est_bytes;
        if (part->kind == FLOW_PART_HASH && parents[i]->hash_parts == part->nparts)
            continue; /* Co-partitioned: no shuffle. */
        flow__shuffle_t *sh = flow__calloc(1, sizeof *sh);
        sh->id = ctx->next_shuffle++;
        sh->map_ds = parents[i];
        sh->red_ds = d;
        sh->nmaps = parents[i]->nparts;
        sh->execs = flow__calloc((size_t)(sh->nmaps ? sh->nmaps : 1), sizeof *sh->execs);
        sh->missing = sh->nmaps;
        d->shuffles[i] = sh;
        ctx->shuffles[ctx->nshuffles++] = sh;
    }
    return d;
}

static flow_dataset_t *shuffled_new(flow_dataset_t *const *parents, int n, const char *name,
                                    const flow__partspec_t *part, const flow__aggspec_t *agg,
                                    int map_combine, const flow__shufread_t *read)
{
    int keeps = read->mode == FLOW_READ_PLAIN || read->mode == FLOW_READ_AGG;
    return shuffled_new_k(parents, n, name, part, agg, map_combine, read, keeps);
}

static flow__partspec_t hash_part(flow_dataset_t *const *parents, int n, int nparts)
{
    flow__partspec_t p;
    memset(&p, 0, sizeof p);
    p.kind = FLOW_PART_HASH;
    p.nparts = (uint32_t)resolve_parts(parents, n, nparts);
    return p;
}

static flow__shufread_t read_mode(uint8_t mode)
{
    flow__shufread_t r;
    memset(&r, 0, sizeof r);
    r.mode = mode;
    return r;
}

static int fnref(flow_context_t *ctx, const char *what, const void *fn, flow__fnref_t *out,
                 int required)
{
    if (!fn && required)
        return flow__ctx_error(ctx, FLOW_EINVAL, "%s: no function given", what);
    return flow__fnref_make(fn, out, &ctx->err);
}

/* ---- Partitioning ------------------------------------------------------------------------ */

static flow_dataset_t *partitioned(flow_dataset_t *ds, const char *name, int nparts,
                                   flow_partitioner_fn *fn, flow_cmp_fn *cmp, int sort,
                                   const void *arg, size_t arg_len)
{
    flow__partspec_t p = hash_part(&ds, 1, nparts);
    flow__shufread_t r = read_mode(sort ? FLOW_READ_SORT : FLOW_READ_PLAIN);
    if (fn) {
        p.kind = FLOW_PART_USER;
        p.arg = arg;
        p.arg_len = arg_len;
        if (fnref(ds->ctx, name, (const void *)fn, &p.fn, 1) < 0)
            return NULL;
    }
    if (sort) {
        r.arg = arg;
        r.arg_len = arg_len;
        if (fnref(ds->ctx, name, (const void *)cmp, &r.fn, 0) < 0)
            return NULL;
    }
    return shuffled_new(&ds, 1, name, &p, NULL, 0, &r);
}

flow_dataset_t *flow_dataset_partition_by(flow_dataset_t *ds, int nparts,
                                          flow_partitioner_fn *fn, const void *arg,
                                          size_t arg_len)
{
    return partitioned(ds, "partition_by", nparts, fn, NULL, 0, arg, arg_len);
}

flow_dataset_t *flow_dataset_repartition_and_sort(flow_dataset_t *ds, int nparts,
                                                  flow_partitioner_fn *fn, flow_cmp_fn *cmp,
                                                  const void *arg, size_t arg_len)
{
    return partitioned(ds, "repartition_and_sort", nparts, fn, cmp, 1, arg, arg_len);
}

flow_dataset_t *flow_dataset_repartition(flow_dataset_t *ds, int nparts)
{
    /* Repartitioning spreads records over a count of its own: by default the
     * default parallelism, not the parent's count. */
    int n = nparts > 0 ? nparts : ds->ctx->set.default_parallelism;
    flow__partspec_t p = hash_part(&ds, 1, n);
    p.kind = FLOW_PART_ROUND;
    flow__shufread_t r = read_mode(FLOW_READ_PLAIN);
    return shuffled_new(&ds, 1, "repartition", &p, NULL, 0, &r);
}

/* ---- Combining by key ---------------------------------------------------------------------- */

static flow_dataset_t *combined(flow_dataset_t *ds, const char *name, flow__aggspec_t *agg,
                                int nparts)
{
    if (nparts <= 0 && ds->hash_parts)
        nparts = (int)ds->hash_parts;
    flow__partspec_t p = hash_part(&ds, 1, nparts);
    flow__shufread_t r = read_mode(FLOW_READ_AGG);
    return shuffled_new(&ds, 1, name, &p, agg, 1, &r);
}

flow_dataset_t *flow_dataset_combine_builtin(flow_dataset_t *ds, flow_combiner_t c,
                                             int nparts)
{
    if (c < FLOW_SUM_I64 || c > FLOW_CONCAT) {
        flow__ctx_error(ds->ctx, FLOW_EINVAL, "combine_builtin: unknown combiner %d", (int)c);
        return NULL;
    }
    flow__aggspec_t a;
    memset(&a, 0, sizeof a);
    a.kind = FLOW_AGG_BUILTIN;
    a.builtin = (uint8_t)c;
    return combined(ds, "combine_builtin", &a, nparts);
}

flow_dataset_t *flow_dataset_combine_by_key(flow_dataset_t *ds, flow_map_fn *create,
                                            flow_reduce_fn *merge_value,
                                            flow_reduce_fn *merge_combiners, const void *arg,
                                            size_t arg_len, int nparts)
{
    flow_context_t *ctx = ds->ctx;
    flow__aggspec_t a;
    memset(&a, 0, sizeof a);
    a.kind = FLOW_AGG_UDF;
    a.arg = arg;
    a.arg_len = arg_len;
    if (fnref(ctx, "combine_by_key", (const void *)create, &a.create, 0) < 0 ||
        fnref(ctx, "combine_by_key", (const void *)merge_value, &a.merge_value, 1) < 0 ||
        fnref(ctx, "combine_by_key", (const void *)merge_combiners, &a.merge_combiners, 1) <
            0)
        return NULL;
    return combined(ds, "combine_by_key", &a, nparts);
}

flow_dataset_t *flow_dataset_reduce_by_key(flow_dataset_t *ds, flow_reduce_fn *fn,
                                           const void *arg, size_t arg_len, int nparts)
{
    flow_dataset_t *d = flow_dataset_combine_by_key(ds, NULL, fn, fn, arg, arg_len, nparts);
    if (d)
        flow_dataset_set_name(d, "reduce_by_key");
    return d;
}

flow_dataset_t *flow_dataset_aggregate_by_key(flow_dataset_t *ds, const void *zero,
                                              size_t zero_len, flow_reduce_fn *seq,
                                              flow_reduce_fn *comb, const void *arg,
                                              size_t arg_len, int nparts)
{
    flow_context_t *ctx = ds->ctx;
    flow__aggspec_t a;
    memset(&a, 0, sizeof a);
    a.kind = FLOW_AGG_UDF;
    a.arg = arg;
    a.arg_len = arg_len;
    a.zero = zero;
    a.zero_len = zero_len;
    a.has_zero = 1;
    if (fnref(ctx, "aggregate_by_key", (const void *)seq, &a.merge_value, 1) < 0 ||
        fnref(ctx, "aggregate_by_key", (const void *)comb, &a.merge_combiners, 1) < 0)
        return NULL;
    return combined(ds, "aggregate_by_key", &a, nparts);
}

flow_dataset_t *flow_dataset_fold_by_key(flow_dataset_t *ds, const void *zero,
                                         size_t zero_len, flow_reduce_fn *fn, const void *arg,
                                         size_t arg_len, int nparts)
{
    flow_dataset_t *d =
        flow_dataset_aggregate_by_key(ds, zero, zero_len, fn, fn, arg, arg_len, nparts);
    if (d)
        flow_dataset_set_name(d, "fold_by_key");
    return d;
}

/* ---- Grouping -------------------------------------------------------------------------------- */

static flow_dataset_t *grouped(flow_dataset_t *const *ds, int n, const char *name,
                               const void *fn, int cogroup, const void *arg, size_t arg_len,
                               int nparts)
{
    flow_context_t *ctx = ds[0]->ctx;
    if (n < 1 || n > 255) {
        flow__ctx_error(ctx, FLOW_EINVAL, "%s: %d inputs", name, n);
        return NULL;
    }
    /* With no count asked for, follow a parent that is already partitioned,
     * as Spark's default partitioner does, so that it is not shuffled again. */
    for (int i = 0; nparts <= 0 && i < n; i++)
        if (ds[i]->hash_parts)
            nparts = (int)ds[i]->hash_parts;
    flow__partspec_t p = hash_part(ds, n, nparts);
    flow__shufread_t r = read_mode(FLOW_READ_GROUP);
    r.cogroup = (uint8_t)cogroup;
    r.arg = arg;
    r.arg_len = arg_len;
    if (fnref(ctx, name, fn, &r.fn, 1) < 0)
        return NULL;
    int keeps = fn == (const void *)flow__cg_join || fn == (const void *)flow__cg_subtract_by_key;
    return shuffled_new_k(ds, n, name, &p, NULL, 0, &r, keeps);
}

flow_dataset_t *flow_dataset_group_by_key(flow_dataset_t *ds, flow_group_fn *fn,
                                          const void *arg, size_t arg_len, int nparts)
{
    return grouped(&ds, 1, "group_by_key", (const void *)fn, 0, arg, arg_len, nparts);
}

flow_dataset_t *flow_dataset_cogroup(flow_dataset_t *const *ds, int n, flow_cogroup_fn *fn,
                                     const void *arg, size_t arg_len, int nparts)
{
    return grouped(ds, n, "cogroup", (const void *)fn, 1, arg, arg_len, nparts);
}

/* ---- Joins ------------------------------------------------------------------------------------ */

static flow_dataset_t *join_kind(flow_dataset_t *a, flow_dataset_t *b, uint8_t keep,
                                 const char *name, int nparts)
{
    flow_context_t *ctx = a->ctx;
    uint64_t limit = ctx->set.broadcast_threshold;
    if (keep == 0 && limit && b->est_bytes && b->est_bytes < limit) {
        flow_dataset_t *d = flow_dataset_broadcast_join(a, b);
        if (d)
            flow_dataset_set_name(d, name);
        return d;
    }
    flow_dataset_t *both[2] = {a, b};
    return grouped(both, 2, name, (const void *)flow__cg_join, 1, &keep, 1, nparts);
}

flow_dataset_t *flow_dataset_join(flow_dataset_t *a, flow_dataset_t *b, int nparts)
{
    return join_kind(a, b, 0, "join", nparts);
}

flow_dataset_t *flow_dataset_left_outer_join(flow_dataset_t *a, flow_dataset_t *b, int nparts)
{
    return join_kind(a, b, FLOW_JOIN_KEEP_LEFT, "left_outer_join", nparts);
}

flow_dataset_t *flow_dataset_right_outer_join(flow_dataset_t *a, flow_dataset_t *b,
                                              int nparts)
{
    return join_kind(a, b, FLOW_JOIN_KEEP_RIGHT, "right_outer_join", nparts);
}

flow_dataset_t *flow_dataset_full_outer_join(flow_dataset_t *a, flow_dataset_t *b, int nparts)
{
    return join_kind(a, b, FLOW_JOIN_KEEP_LEFT | FLOW_JOIN_KEEP_RIGHT, "full_outer_join",
                     nparts);
}

flow_dataset_t *flow_dataset_subtract_by_key(flow_dataset_t *a, flow_dataset_t *b, int nparts)
{
    flow_dataset_t *both[2] = {a, b};
    return grouped(both, 2, "subtract_by_key", (const void *)flow__cg_subtract_by_key, 1, NULL,
                   0, nparts);
}

static int collect_block(void *ud, int i, int partition, const void *payload, size_t len)
{
    flow__wbuf_t *parts = ud;
    flow__wbuf_reserve(&parts[i], 8);
    flow__wbuf_put(&parts[i], payload, len);
    return FLOW_OK;
}

flow_dataset_t *flow_dataset_broadcast_join(flow_dataset_t *a, flow_dataset_t *small)
{
    flow_context_t *ctx = a->ctx;
    flow__sinkspec_t sink;
    memset(&sink, 0, sizeof sink);
    sink.kind = FLOW_SINK_COLLECT;
    flow__wbuf_t *parts = flow__calloc((size_t)(small->nparts ? small->nparts : 1),
                                       sizeof *parts);
    int rc = flow__job_run(small, &sink, NULL, 0, collect_block, parts);
    flow__wbuf_t all;
    flow__wbuf_init(&all);
    flow__wbuf_reserve(&all, 8);
    for (int i = 0; i < small->nparts; i++) {
        flow__wbuf_put(&all, parts[i].data, parts[i].len);
        flow__wbuf_free(&parts[i]);
    }
    flow__free(parts);
    flow_dataset_t *d = NULL;
    if (rc == FLOW_OK && all.len > FLOW_REC_MAX)
        flow__ctx_error(ctx, FLOW_EINVAL, "broadcast_join: the small side holds %zu bytes",
                        all.len);
    else if (rc == FLOW_OK)
        d = flow__ds_op(a, FLOW_OP_BCAST_JOIN, NULL, all.data, all.len);
    flow__wbuf_free(&all);
    return d;
}

/* ---- Whole-record set operations ---------------------------------------------------------- */

/* Record -> (key = pair(record key or missing, value), empty value). */
static int to_record_key(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                         const flow_buf_t *arg)
{
    size_t n = flow_pair_size(in->key ? in->klen : 0, in->vlen);
    void *k = flow_task_alloc(t, n);
    if (!k)
        return flow_task_fail(t, 1, "record too large");
    flow_pair_encode(k, in->key, in->klen, in->val ? in->val : "", in->vlen);
    *out = flow_rec_kv(k, n, "", 0);
    return 0;
}

/* The inverse of to_record_key. */
static int from_record_key(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                           const flow_buf_t *arg)
{
    flow_buf_t k, v;
    if (flow_pair_decode(in->key, in->klen, &k, &v) < 0)
        return flow_task_fail(t, 1, "malformed record key");
    out->key = k.data ? (k.len ? k.data : "") : NULL;
    out->klen = k.len;
    out->val = v.data;
    out->vlen = v.len;
    return 0;
}

/* Chain: ds -> re-keyed -> middle(re-keyed) -> decoded; intermediate handles released. */
static flow_dataset_t *rekeyed(flow_dataset_t *const *ds, int n, const char *name,
                               flow_dataset_t *(*middle)(flow_dataset_t *const *, int,
                                                         const char *, int),
                               int nparts)
{
    flow_dataset_t *keyed[2] = {NULL, NULL}, *mid = NULL, *out = NULL;
    for (int i = 0; i < n; i++)
        if (!(keyed[i] = flow__ds_op(ds[i], FLOW_OP_MAP, (const void *)to_record_key, NULL, 0)))
            goto done;
    if ((mid = middle(keyed, n, name, nparts)))
        out = flow__ds_op(mid, FLOW_OP_MAP, (const void *)from_record_key, NULL, 0);
    if (out)
        flow_dataset_set_name(out, name);
done:
    flow_dataset_destroy(&keyed[0]);
    flow_dataset_destroy(&keyed[1]);
    flow_dataset_destroy(&mid);
    return out;
}

static flow_dataset_t *distinct_middle(flow_dataset_t *const *ds, int n, const char *name,
                                       int nparts)
{
    flow__aggspec_t a;
    memset(&a, 0, sizeof a);
    a.kind = FLOW_AGG_BUILTIN;
    a.builtin = FLOW__FIRST;
    return combined(ds[0], name, &a, nparts);
}

static flow_dataset_t *intersection_middle(flow_dataset_t *const *ds, int n, const char *name,
                                           int nparts)
{
    return grouped(ds, 2, name, (const void *)flow__cg_intersection, 1, NULL, 0, nparts);
}

static flow_dataset_t *subtract_middle(flow_dataset_t *const *ds, int n, const char *name,
                                       int nparts)
{
    return grouped(ds, 2, name, (const void *)flow__cg_subtract, 1, NULL, 0, nparts);
}

flow_dataset_t *flow_dataset_distinct(flow_dataset_t *ds, int nparts)
{
    return rekeyed(&ds, 1, "distinct", distinct_middle, nparts);
}

flow_dataset_t *flow_dataset_intersection(flow_dataset_t *a, flow_dataset_t *b, int nparts)
{
    flow_dataset_t *both[2] = {a, b};
    return rekeyed(both, 2, "intersection", intersection_middle, nparts);
}

flow_dataset_t *flow_dataset_subtract(flow_dataset_t *a, flow_dataset_t *b, int nparts)
{
    flow_dataset_t *both[2] = {a, b};
    return rekeyed(both, 2, "subtract", subtract_middle, nparts);
}

/* ---- Sorting --------------------------------------------------------------------------------- */

typedef struct sample {
    flow__wbuf_t *parts;  /* Payload of each map partition. */
} sample_t;

typedef struct weighted {
    flow_rec_t key;  /* A sampled key (as a key-only record). */
    double weight;   /* Records it stands for. */
} weighted_t;

typedef struct key_order {
    flow_cmp_fn *cmp;      /* User order, or NULL (bytewise). */
    const flow_buf_t *arg; /* Its argument. */
    int descending;        /* Reversed. */
} key_order_t;

static int weighted_cmp(const void *pa, const void *pb, void *ud)
{
    const key_order_t *o = ud;
    const flow_rec_t *a = &((const weighted_t *)pa)->key, *b = &((const weighted_t *)pb)->key;
    int c;
    if (o->cmp) {
        c = o->cmp(a, b, o->arg);
    } else {
        size_t n = a->klen < b->klen ? a->klen : b->klen;
        c = n ? memcmp(a->key, b->key, n) : 0;
        if (!c)
            c = (a->klen > b->klen) - (a->klen < b->klen);
    }
    return o->descending ? (c < 0) - (c > 0) : c;
}

/* Pick nparts - 1 bounds at equal steps of sampled weight (Spark's
 * RangePartitioner.determineBounds), skipping repeated keys. */
static void pick_bounds(weighted_t *w, size_t n, int nparts, const key_order_t *o,
                        flow__wbuf_t *out)
{
    if (n) /* w is NULL when nothing was sampled. */
        qsort_r(w, n, sizeof *w, weighted_cmp, (void *)o);
    double total = 0, step, cum = 0, target;
    for (size_t i = 0; i < n; i++)
        total += w[i].weight;
    step = total / nparts;
    target = step;
    int made = 0;
    const weighted_t *prev = NULL;
    for (size_t i = 0; i < n && made < nparts - 1; i++) {
        cum += w[i].weight;
        if (cum < target)
            continue;
        if (prev && weighted_cmp(prev, &w[i], (void *)o) == 0)
            continue;
        flow_rec_t b = flow_rec(w[i].key.key, w[i].key.klen);
        flow__block_append(out, &b);
        prev = &w[i];
        made++;
        target += step;
    }
}

static int sample_merge(void *ud, int i, int partition, const void *payload, size_t len)
{
    sample_t *s = ud;
    flow__wbuf_reserve(&s->parts[i], 8);
    flow__wbuf_put(&s->parts[i], payload, len);
    return FLOW_OK;
}

/* Sample the keys of ds and compute range bounds into out. */
static int range_bounds(flow_dataset_t *ds, int nparts, const key_order_t *o,
                        flow__wbuf_t *out)
{
    flow__sinkspec_t sink;
    memset(&sink, 0, sizeof sink);
    sink.kind = FLOW_SINK_SAMPLE_KEYS;
    /* About 60 keys per output partition in all, as Spark's sortByKey. */
    uint64_t per = ds->nparts ? (uint64_t)(60.0 * nparts / ds->nparts) + 1 : 1;
    sink.n = per < 1000000 ? per : 1000000;
    sample_t s;
    s.parts = flow__calloc((size_t)(ds->nparts ? ds->nparts : 1), sizeof *s.parts);
    int rc = flow__job_run(ds, &sink, NULL, 0, sample_merge, &s);
    weighted_t *w = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; rc == FLOW_OK && i < ds->nparts; i++) {
        flow__rbuf_t r;
        flow__rbuf_init(&r, s.parts[i].data, s.parts[i].len);
        uint64_t count = flow__rbuf_u64(&r);
        size_t pos = 8, first = n;
        flow_rec_t k;
        while (flow__block_next(s.parts[i].data, s.parts[i].len, &pos, &k) == 1) {
            if (n == cap)
                w = flow__realloc(w, sizeof *w * (cap = cap ? cap * 2 : 256));
            w[n].key = flow_rec_kv(k.val, k.vlen, "", 0);
            n++;
        }
        for (size_t j = first; j < n; j++)
            w[j].weight = (double)count / (double)(n - first);
    }
    if (rc == FLOW_OK)
        pick_bounds(w, n, nparts, o, out);
    flow__free(w);
    for (int i = 0; i < ds->nparts; i++)
        flow__wbuf_free(&s.parts[i]);
    flow__free(s.parts);
    return rc;
}

flow_dataset_t *flow_dataset_sort_by_key(flow_dataset_t *ds, int ascending, flow_cmp_fn *cmp,
                                         const void *arg, size_t arg_len, int nparts)
{
    flow_context_t *ctx = ds->ctx;
    flow__partspec_t p = hash_part(&ds, 1, nparts);
    flow__shufread_t r = read_mode(FLOW_READ_SORT);
    p.kind = FLOW_PART_RANGE;
    p.descending = r.descending = !ascending;
    p.arg = r.arg = arg;
    p.arg_len = r.arg_len = arg_len;
    if (fnref(ctx, "sort_by_key", (const void *)cmp, &p.fn, 0) < 0)
        return NULL;
    r.fn = p.fn;
    flow_buf_t a = {arg, arg_len};
    key_order_t o = {cmp, &a, !ascending};
    flow__wbuf_t bounds;
    flow__wbuf_init(&bounds);
    if (range_bounds(ds, (int)p.nparts, &o, &bounds) < 0) {
        flow__wbuf_free(&bounds);
        return NULL;
    }
    p.bounds = bounds.data;
    p.bounds_len = bounds.len;
    flow_dataset_t *d = shuffled_new(&ds, 1, "sort_by_key", &p, NULL, 0, &r);
    flow__wbuf_free(&bounds);
    return d;
}

flow_dataset_t *flow_dataset_sort_by(flow_dataset_t *ds, flow_map_fn *key_fn, int ascending,
                                     const void *arg, size_t arg_len, int nparts)
{
    flow_dataset_t *keyed = flow_dataset_key_by(ds, key_fn, arg, arg_len);
    flow_dataset_t *sorted = keyed ? flow_dataset_sort_by_key(keyed, ascending, NULL, NULL, 0,
                                                              nparts)
                                   : NULL;
    flow_dataset_t *out = sorted ? flow_dataset_values(sorted) : NULL;
    if (out)
        flow_dataset_set_name(out, "sort_by");
    flow_dataset_destroy(&keyed);
    flow_dataset_destroy(&sorted);
    return out;
}

/* ---- Cartesian product --------------------------------------------------------------------- */

flow_dataset_t *flow_dataset_cartesian(flow_dataset_t *a, flow_dataset_t *b)
{
    if ((long)a->nparts * b->nparts > (1L << 24)) {
        flow__ctx_error(a->ctx, FLOW_EINVAL, "cartesian: %d x %d partitions", a->nparts,
                        b->nparts);
        return NULL;
    }
    flow_dataset_t *both[2] = {a, b};
    flow_dataset_t *d = flow__ds_new(a->ctx, FLOW_DS_CARTESIAN, "cartesian", both, 2);
    if (!d)
        return NULL;
    d->nparts = a->nparts * b->nparts;
    d->est_bytes = a->est_bytes * (b->nparts ? (uint64_t)b->nparts : 1);
    return d;
}

/* ---- count_by_key ----------------------------------------------------------------------------- */

int flow_dataset_count_by_key(flow_dataset_t *ds, flow_result_t **out)
{
    flow_dataset_t *counts = flow_dataset_combine_builtin(ds, FLOW_COUNT, 0);
    if (!counts)
        return ds->ctx->err.code;
    int rc = flow_dataset_collect(counts, out);
    flow_dataset_destroy(&counts);
    return rc;
}
