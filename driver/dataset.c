/* dataset.c - datasets: lazy lineage nodes and their resolution to tasks
 * A dataset is a node of the lineage DAG: a source (with one split per
 * partition), one narrow operator over a parent, a union, or a coalesce.
 * Handles are reference-counted: the user's handle counts one, each child
 * one, so a parent lives while anything built on it does; the context keeps
 * a list of live nodes and frees them all when it is destroyed.
 * flow__ds_encode_partition resolves partition p of a dataset to the
 * operator tree a task runs: union picks the parent that holds p, coalesce
 * becomes a CONCAT of its parent's partitions, a source leaf carries its
 * split. */
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "mem.h"

/* ---- Nodes ------------------------------------------------------------------------------ */

flow_dataset_t *flow__ds_new(flow_context_t *ctx, uint8_t kind, const char *name,
                             flow_dataset_t *const *parents, int nparents)
{
    uint32_t depth = 1;
    for (int i = 0; i < nparents; i++)
        if (parents[i]->depth + 1 > depth)
            depth = parents[i]->depth + 1;
    if (depth > FLOW_MAX_LINEAGE) {
        flow__ctx_error(ctx, FLOW_EINVAL,
                        "%s: lineage deeper than %d datasets (a task could not hold it)",
                        name, FLOW_MAX_LINEAGE);
        return NULL;
    }
    flow_dataset_t *d = flow__calloc(1, sizeof *d);
    d->ctx = ctx;
    d->id = ctx->next_dataset++;
    d->kind = kind;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->refs = 1;
    d->user_held = 1;
    d->depth = depth;
    if (nparents > 0) {
        d->parents = flow__calloc((size_t)nparents, sizeof *d->parents);
        for (int i = 0; i < nparents; i++) {
            d->parents[i] = parents[i];
            parents[i]->refs++;
        }
        d->nparents = nparents;
    }
    d->next = ctx->datasets;
    if (ctx->datasets)
        ctx->datasets->prev = d;
    ctx->datasets = d;
    return d;
}

/* Forget a shuffle: its registry entry and every map output of it. */
static void shuffle_free(flow_context_t *ctx, flow__shuffle_t *sh)
{
    for (int i = 0; i < ctx->nshuffles; i++)
        if (ctx->shuffles[i] == sh) {
            ctx->shuffles[i] = ctx->shuffles[--ctx->nshuffles];
            break;
        }
    for (int e = 0; e < ctx->group.n; e++)
        flow__bs_drop(ctx->group.stores[e], sh->id);
    flow__free(sh->execs);
    flow__free(sh);
}

/* Free the bytes a shuffled dataset owns in its specs. */
static void specs_free(flow_dataset_t *d)
{
    flow__free((void *)d->part.arg);
    flow__free((void *)d->part.bounds);
    flow__free((void *)d->agg.arg);
    flow__free((void *)d->agg.zero);
    flow__free((void *)d->read.arg);
}

/* Free what a node owns for its kind (not its parents or its place in the list). */
static void kind_free(flow_dataset_t *d)
{
    flow_context_t *ctx = d->ctx;
    for (int i = 0; d->shuffles && i < d->nparents; i++)
        if (d->shuffles[i])
            shuffle_free(ctx, d->shuffles[i]);
    flow__free(d->shuffles);
    d->shuffles = NULL;
    if (d->kind == FLOW_DS_SHUFFLED)
        specs_free(d);
    flow__splits_free(d->splits, d->kind == FLOW_DS_SOURCE ? d->nparts : 0);
    d->splits = NULL;
    flow__free(d->arg);
    d->arg = NULL;
    d->arg_len = 0;
    memset(&d->fn, 0, sizeof d->fn);
}

static void ds_free(flow_dataset_t *d)
{
    flow_context_t *ctx = d->ctx;
    if (d->level)
        flow__cache_drop(d);
    if (d->ckpt_dir) {
        flow__remove_tree(d->ckpt_dir);
        flow__free(d->ckpt_dir);
    }
    kind_free(d);
    if (d->prev)
        d->prev->next = d->next;
    else
        ctx->datasets = d->next;
    if (d->next)
        d->next->prev = d->prev;
    flow__free(d->starts);
    flow__free(d->parents);
    flow__free(d);
}

/* Drop one reference; free the node and unref its parents at zero. */
static void ds_unref(flow_dataset_t *d)
{
    while (d && --d->refs == 0) {
        for (int i = 1; i < d->nparents; i++)
            ds_unref(d->parents[i]);
        flow_dataset_t *parent = d->nparents ? d->parents[0] : NULL;
        ds_free(d);
        d = parent; /* Long chains unwind without deep recursion. */
    }
}

void flow__ds_cut_lineage(flow_dataset_t *ds, flow__split_t *splits, uint8_t src_kind,
                          uint8_t ckpt)
{
    kind_free(ds);
    for (int i = 0; i < ds->nparents; i++)
        ds_unref(ds->parents[i]);
    flow__free(ds->parents);
    ds->parents = NULL;
    ds->nparents = 0;
    ds->kind = FLOW_DS_SOURCE;
    ds->src_kind = src_kind;
    ds->splits = splits;
    ds->ckpt = ckpt;
    ds->depth = 1;
}

void flow_dataset_destroy(flow_dataset_t **ds_p)
{
    flow_dataset_t *d = *ds_p;
    if (!d)
        return;
    *ds_p = NULL;
    if (!d->user_held)
        return;
    d->user_held = 0;
    ds_unref(d);
}

void flow__ds_release_all(flow_context_t *ctx)
{
    while (ctx->datasets)
        ds_free(ctx->datasets);
}

flow_dataset_t *flow__ds_find(flow_context_t *ctx, uint32_t id)
{
    for (flow_dataset_t *d = ctx->datasets; d; d = d->next)
        if (d->id == id)
            return d;
    return NULL;
}

int flow_dataset_npartitions(const flow_dataset_t *ds) { return ds->nparts; }
flow_context_t *flow_dataset_context(const flow_dataset_t *ds) { return ds->ctx; }
uint32_t flow_dataset_id(const flow_dataset_t *ds) { return ds->id; }
const char *flow_dataset_name(const flow_dataset_t *ds) { return ds->name; }

void flow_dataset_set_name(flow_dataset_t *ds, const char *name)
{
    snprintf(ds->name, sizeof ds->name, "%s", name);
}

static int check_started(flow_context_t *ctx, const char *what)
{
    if (!ctx->started)
        return flow__ctx_error(ctx, FLOW_EINVAL, "%s: the context is not started", what);
    return FLOW_OK;
}

/* ---- Sources ------------------------------------------------------------------------------ */

static flow_dataset_t *source_new(flow_context_t *ctx, uint8_t src_kind, const char *name,
                                  flow__split_t *splits, int n)
{
    flow_dataset_t *d = flow__ds_new(ctx, FLOW_DS_SOURCE, name, NULL, 0);
    d->src_kind = src_kind;
    d->splits = splits;
    d->nparts = n;
    for (int i = 0; i < n; i++)
        d->est_bytes += splits[i].bytes;
    return d;
}

static int default_parts(flow_context_t *ctx, int nparts)
{
    return nparts > 0 ? nparts : ctx->set.default_parallelism;
}

flow_dataset_t *flow_dataset_parallelize(flow_context_t *ctx, const flow_rec_t *recs,
                                         size_t n, int nparts)
{
    flow__split_t *s;
    int ns;
    if (check_started(ctx, "parallelize") < 0)
        return NULL;
    if (nparts < 0) {
        flow__ctx_error(ctx, FLOW_EINVAL, "parallelize: %d partitions", nparts);
        return NULL;
    }
    if (flow__block_plan(recs, n, default_parts(ctx, nparts), &ctx->err, &s, &ns) < 0)
        return NULL;
    return source_new(ctx, FLOW_SRC_BLOCK, "parallelize", s, ns);
}

/* parallelize over n values of size bytes each, read at base + i * stride. */
static flow_dataset_t *parallelize_values(flow_context_t *ctx, const void *base,
                                          size_t stride, size_t n, int nparts, int is_str)
{
    flow_rec_t *recs = flow__malloc(sizeof *recs * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        const char *p = (const char *)base + i * stride;
        if (is_str) {
            const char *s = *(const char *const *)p;
            recs[i] = flow_rec(s, strlen(s));
        } else {
            recs[i] = flow_rec(p, stride);
        }
    }
    flow_dataset_t *d = flow_dataset_parallelize(ctx, recs, n, nparts);
    flow__free(recs);
    return d;
}

flow_dataset_t *flow_dataset_parallelize_i64(flow_context_t *ctx, const int64_t *v, size_t n,
                                             int nparts)
{
    return parallelize_values(ctx, v, sizeof *v, n, nparts, 0);
}

flow_dataset_t *flow_dataset_parallelize_f64(flow_context_t *ctx, const double *v, size_t n,
                                             int nparts)
{
    return parallelize_values(ctx, v, sizeof *v, n, nparts, 0);
}

flow_dataset_t *flow_dataset_parallelize_str(flow_context_t *ctx, const char *const *s,
                                             size_t n, int nparts)
{
    return parallelize_values(ctx, s, sizeof *s, n, nparts, 1);
}

flow_dataset_t *flow_dataset_range(flow_context_t *ctx, int64_t start, int64_t end,
                                   int64_t step, int nparts)
{
    flow__split_t *s;
    int ns;
    if (check_started(ctx, "range") < 0)
        return NULL;
    if (nparts < 0) {
        flow__ctx_error(ctx, FLOW_EINVAL, "range: %d partitions", nparts);
        return NULL;
    }
    if (flow__range_plan(start, end, step, default_parts(ctx, nparts), &ctx->err, &s, &ns) <
        0)
        return NULL;
    return source_new(ctx, FLOW_SRC_RANGE, "range", s, ns);
}

flow_dataset_t *flow_dataset_text_file(flow_context_t *ctx, const char *path,
                                       int min_partitions)
{
    flow__split_t *s;
    int ns;
    if (check_started(ctx, "text_file") < 0)
        return NULL;
    if (min_partitions < 0) {
        flow__ctx_error(ctx, FLOW_EINVAL, "text_file %s: min_partitions %d", path,
                        min_partitions);
        return NULL;
    }
    /* By default, at least two splits per executor (large inputs still get
     * split_size splits: few tasks, each with a big combine table). */
    if (min_partitions == 0)
        min_partitions = 2 * ctx->nexecs;
    if (flow__text_plan(path, min_partitions, ctx->set.split_size, &ctx->err, &s, &ns) < 0)
        return NULL;
    return source_new(ctx, FLOW_SRC_TEXT, "text_file", s, ns);
}

flow_dataset_t *flow_dataset_text_chunks(flow_context_t *ctx, const char *path,
                                         int min_partitions)
{
    flow_dataset_t *d = flow_dataset_text_file(ctx, path, min_partitions);
    if (d) {
        d->src_kind = FLOW_SRC_TEXT_CHUNKS;
        flow_dataset_set_name(d, "text_chunks");
    }
    return d;
}

/* ---- Narrow transformations ---------------------------------------------------------------- */

flow_dataset_t *flow__ds_op(flow_dataset_t *parent, uint8_t op, const void *fn,
                            const void *arg, size_t arg_len)
{
    flow_context_t *ctx = parent->ctx;
    flow__fnref_t ref;
    if (flow__fnref_make(fn, &ref, &ctx->err) < 0)
        return NULL;
    if (arg_len > FLOW_REC_MAX) {
        flow__ctx_error(ctx, FLOW_EINVAL, "%s: argument of %zu bytes is too large",
                        flow__op_name(op), arg_len);
        return NULL;
    }
    flow_dataset_t *d = flow__ds_new(ctx, FLOW_DS_OP, flow__op_name(op), &parent, 1);
    if (!d)
        return NULL;
    d->est_bytes = parent->est_bytes;
    d->op = op;
    /* Operators that keep every record's key keep the partitioning. */
    if (op == FLOW_OP_MAP_VALUES || op == FLOW_OP_FLAT_MAP_VALUES || op == FLOW_OP_FILTER ||
        op == FLOW_OP_SAMPLE || op == FLOW_OP_BCAST_JOIN)
        d->hash_parts = parent->hash_parts;
    d->fn = ref;
    d->nparts = parent->nparts;
    if (arg_len) {
        d->arg = flow__malloc(arg_len);
        memcpy(d->arg, arg, arg_len);
        d->arg_len = arg_len;
    }
    return d;
}

static flow_dataset_t *udf_op(flow_dataset_t *parent, uint8_t op, const void *fn,
                              const void *arg, size_t arg_len)
{
    if (!fn) {
        flow__ctx_error(parent->ctx, FLOW_EINVAL, "%s: no function given",
                        flow__op_name(op));
        return NULL;
    }
    return flow__ds_op(parent, op, fn, arg, arg_len);
}

flow_dataset_t *flow_dataset_map(flow_dataset_t *ds, flow_map_fn *fn, const void *arg,
                                 size_t arg_len)
{
    return udf_op(ds, FLOW_OP_MAP, (const void *)fn, arg, arg_len);
}

flow_dataset_t *flow_dataset_flat_map(flow_dataset_t *ds, flow_flat_map_fn *fn,
                                      const void *arg, size_t arg_len)
{
    return udf_op(ds, FLOW_OP_FLAT_MAP, (const void *)fn, arg, arg_len);
}

flow_dataset_t *flow_dataset_filter(flow_dataset_t *ds, flow_filter_fn *fn, const void *arg,
                                    size_t arg_len)
{
    return udf_op(ds, FLOW_OP_FILTER, (const void *)fn, arg, arg_len);
}

flow_dataset_t *flow_dataset_map_partitions(flow_dataset_t *ds, flow_partition_fn *fn,
                                            const void *arg, size_t arg_len)
{
    return udf_op(ds, FLOW_OP_MAP_PARTITIONS, (const void *)fn, arg, arg_len);
}

flow_dataset_t *flow_dataset_map_values(flow_dataset_t *ds, flow_map_fn *fn, const void *arg,
                                        size_t arg_len)
{
    return udf_op(ds, FLOW_OP_MAP_VALUES, (const void *)fn, arg, arg_len);
}

flow_dataset_t *flow_dataset_flat_map_values(flow_dataset_t *ds, flow_flat_map_fn *fn,
                                             const void *arg, size_t arg_len)
{
    return udf_op(ds, FLOW_OP_FLAT_MAP_VALUES, (const void *)fn, arg, arg_len);
}

flow_dataset_t *flow_dataset_key_by(flow_dataset_t *ds, flow_map_fn *fn, const void *arg,
                                    size_t arg_len)
{
    return udf_op(ds, FLOW_OP_KEY_BY, (const void *)fn, arg, arg_len);
}

flow_dataset_t *flow_dataset_keys(flow_dataset_t *ds)
{
    return flow__ds_op(ds, FLOW_OP_KEYS, NULL, NULL, 0);
}

flow_dataset_t *flow_dataset_values(flow_dataset_t *ds)
{
    return flow__ds_op(ds, FLOW_OP_VALUES, NULL, NULL, 0);
}

flow_dataset_t *flow_dataset_glom(flow_dataset_t *ds)
{
    return flow__ds_op(ds, FLOW_OP_GLOM, NULL, NULL, 0);
}

flow_dataset_t *flow_dataset_zip_with_index(flow_dataset_t *ds)
{
    return flow__ds_op(ds, FLOW_OP_ZIP_INDEX, NULL, NULL, 0);
}

flow_dataset_t *flow_dataset_sample(flow_dataset_t *ds, int with_replacement,
                                    double fraction, uint64_t seed)
{
    if (!(fraction >= 0) || (!with_replacement && fraction > 1)) {
        flow__ctx_error(ds->ctx, FLOW_EINVAL,
                        "sample: fraction %g must be in [0, 1] without replacement and "
                        ">= 0 with it", fraction);
        return NULL;
    }
    flow_dataset_t *d = flow__ds_op(ds, FLOW_OP_SAMPLE, NULL, NULL, 0);
    if (!d)
        return NULL;
    d->with_replacement = with_replacement != 0;
    d->fraction = fraction;
    d->seed = seed;
    return d;
}

flow_dataset_t *flow_dataset_union_all(flow_dataset_t *const *ds, int n)
{
    if (n < 1)
        return NULL;
    flow_context_t *ctx = ds[0]->ctx;
    long total = 0;
    for (int i = 0; i < n; i++) {
        if (ds[i]->ctx != ctx) {
            flow__ctx_error(ctx, FLOW_EINVAL, "union: dataset %u belongs to another context",
                            ds[i]->id);
            return NULL;
        }
        total += ds[i]->nparts;
    }
    if (total > 1 << 30) {
        flow__ctx_error(ctx, FLOW_EINVAL, "union: %ld partitions", total);
        return NULL;
    }
    flow_dataset_t *d = flow__ds_new(ctx, FLOW_DS_UNION, "union", ds, n);
    if (!d)
        return NULL;
    d->nparts = (int)total;
    for (int i = 0; i < n; i++)
        d->est_bytes += ds[i]->est_bytes;
    return d;
}

flow_dataset_t *flow_dataset_union(flow_dataset_t *a, flow_dataset_t *b)
{
    flow_dataset_t *both[2] = {a, b};
    return flow_dataset_union_all(both, 2);
}

flow_dataset_t *flow_dataset_coalesce(flow_dataset_t *ds, int nparts)
{
    if (nparts < 1) {
        flow__ctx_error(ds->ctx, FLOW_EINVAL, "coalesce: %d partitions", nparts);
        return NULL;
    }
    flow_dataset_t *d = flow__ds_new(ds->ctx, FLOW_DS_COALESCE, "coalesce", &ds, 1);
    if (!d)
        return NULL;
    d->nparts = nparts < ds->nparts ? nparts : ds->nparts;
    d->est_bytes = ds->est_bytes;
    return d;
}

/* ---- Resolution to tasks ------------------------------------------------------------------- */

/* A reduce partition: a SHUFFLE_READ leaf naming where each map output lives.
 * Kept out of line: its buffers must not weigh on every level of a lineage. */
__attribute__((noinline)) static int encode_shuffle_read(flow_dataset_t *ds, int p, flow__wbuf_t *b)
{
    flow__opnode_t n;
    memset(&n, 0, sizeof n);
    n.kind = FLOW_OP_SHUFFLE_READ;
    n.dataset = ds->id;
    n.partition = (uint32_t)p;
    flow__shufread_t rd = ds->read;
    flow__shuf_input_t in[64];
    flow__shuf_input_t *inputs = ds->nparents <= 64
                                     ? in
                                     : flow__malloc(sizeof *inputs * (size_t)ds->nparents);
    for (int i = 0; i < ds->nparents; i++) {
        flow__shuffle_t *sh = ds->shuffles[i];
        inputs[i].shuffle = sh ? sh->id : 0;
        inputs[i].nmaps = sh ? (uint32_t)sh->nmaps : n.nchildren++;
        inputs[i].execs = sh ? sh->execs : NULL;
    }
    rd.reduce = (uint32_t)p;
    rd.ninputs = (uint32_t)ds->nparents;
    rd.inputs = inputs;
    rd.agg = ds->agg;
    n.read = &rd;
    flow__task_put_node(b, &n);
    if (inputs != in)
        flow__free(inputs);
    /* Co-partitioned parents are read narrowly: their partition p. */
    for (int i = 0; i < ds->nparents; i++) {
        int rc = ds->shuffles[i] ? FLOW_OK : flow__ds_encode_partition(ds->parents[i], p, b);
        if (rc < 0)
            return rc;
    }
    return FLOW_OK;
}

/* Partition p of a source, union, coalesce, shuffled or cartesian dataset. */
__attribute__((noinline)) static int encode_other(flow_dataset_t *ds, int p, flow__wbuf_t *b)
{
    flow__opnode_t n;
    memset(&n, 0, sizeof n);
    n.dataset = ds->id;
    n.partition = (uint32_t)p;
    switch (ds->kind) {
    case FLOW_DS_SOURCE:
        n.kind = FLOW_OP_SOURCE;
        n.src_kind = ds->src_kind;
        n.split = ds->splits[p].data;
        n.split_len = ds->splits[p].len;
        flow__task_put_node(b, &n);
        return FLOW_OK;
    case FLOW_DS_UNION:
        for (int i = 0; i < ds->nparents; i++) {
            if (p < ds->parents[i]->nparts)
                return flow__ds_encode_partition(ds->parents[i], p, b);
            p -= ds->parents[i]->nparts;
        }
        return flow__ctx_error(ds->ctx, FLOW_EINVAL, "union: no partition %u", n.partition);
    case FLOW_DS_COALESCE: {
        long np = ds->parents[0]->nparts, lo = p * np / ds->nparts,
             hi = (p + 1) * np / ds->nparts;
        n.kind = FLOW_OP_CONCAT;
        n.nchildren = (uint32_t)(hi - lo);
        flow__task_put_node(b, &n);
        for (long i = lo; i < hi; i++) {
            int rc = flow__ds_encode_partition(ds->parents[0], (int)i, b);
            if (rc < 0)
                return rc;
        }
        return FLOW_OK;
    }
    case FLOW_DS_SHUFFLED:
        return encode_shuffle_read(ds, p, b);
    case FLOW_DS_CARTESIAN: {
        int nb = ds->parents[1]->nparts, rc;
        n.kind = FLOW_OP_CARTESIAN;
        n.nchildren = 2;
        flow__task_put_node(b, &n);
        if ((rc = flow__ds_encode_partition(ds->parents[0], p / nb, b)) < 0)
            return rc;
        return flow__ds_encode_partition(ds->parents[1], p % nb, b);
    }
    default:
        return flow__ctx_error(ds->ctx, FLOW_EPROTO, "dataset %u of unknown kind %u", ds->id,
                               ds->kind);
    }
}

int flow__ds_encode_partition(flow_dataset_t *ds, int p, flow__wbuf_t *b)
{
    /* Chains of one-parent operators are walked in a loop, so that a long
     * lineage does not take a stack frame per level. */
    for (;;) {
        flow__opnode_t n;
        if (ds->level) {
            /* Read it from a block store, or compute it (below) and store it. */
            memset(&n, 0, sizeof n);
            n.kind = FLOW_OP_CACHED;
            n.dataset = ds->id;
            n.partition = (uint32_t)p;
            n.level = ds->level;
            n.nchildren = ds->ckpt == FLOW_CKPT_LOCAL ? 0 : 1;
            flow__task_put_node(b, &n);
            if (!n.nchildren)
                return FLOW_OK;
        }
        if (ds->kind != FLOW_DS_OP)
            return encode_other(ds, p, b);
        memset(&n, 0, sizeof n);
        n.dataset = ds->id;
        n.partition = (uint32_t)p;
        n.kind = ds->op;
        n.fn = ds->fn;
        n.arg = ds->arg;
        n.arg_len = ds->arg_len;
        n.with_replacement = ds->with_replacement;
        n.fraction = ds->fraction;
        n.seed = ds->seed;
        n.start_index = ds->starts ? ds->starts[p] : 0;
        n.nchildren = 1;
        flow__task_put_node(b, &n);
        ds = ds->parents[0];
    }
}

static int count_merge(void *ud, int i, int partition, const void *payload, size_t len)
{
    uint64_t *counts = ud;
    flow__rbuf_t r;
    flow__rbuf_init(&r, payload, len);
    counts[i] = flow__rbuf_u64(&r);
    return flow__rbuf_ok(&r) ? FLOW_OK : FLOW_EPROTO;
}

/* Give a zip_with_index node its per-partition start indices, counting the
 * parent's partitions with a job (as Spark does) when there are several. */
static int prepare_zip(flow_dataset_t *d)
{
    d->starts = flow__calloc((size_t)d->nparts + 1, sizeof *d->starts);
    if (d->nparts <= 1)
        return FLOW_OK;
    uint64_t *counts = flow__calloc((size_t)d->nparts, sizeof *counts);
    flow__sinkspec_t sink;
    memset(&sink, 0, sizeof sink);
    sink.kind = FLOW_SINK_COUNT;
    int rc = flow__job_run(d->parents[0], &sink, NULL, 0, count_merge, counts);
    for (int i = 0; rc == FLOW_OK && i < d->nparts; i++)
        d->starts[i + 1] = d->starts[i] + counts[i];
    flow__free(counts);
    if (rc < 0) {
        flow__free(d->starts);
        d->starts = NULL;
    }
    return rc;
}

int flow__ds_prepare(flow_dataset_t *ds)
{
    for (int i = 0; i < ds->nparents; i++) {
        int rc = flow__ds_prepare(ds->parents[i]);
        if (rc < 0)
            return rc;
    }
    if (ds->kind == FLOW_DS_OP && ds->op == FLOW_OP_ZIP_INDEX && !ds->starts)
        return prepare_zip(ds);
    return FLOW_OK;
}

int flow_dataset_encode_task(flow_dataset_t *ds, int partition, void **out, size_t *out_len)
{
    flow_context_t *ctx = ds->ctx;
    if (partition < 0 || partition >= ds->nparts)
        return flow__ctx_error(ctx, FLOW_EINVAL, "encode_task: dataset %u has no partition %d",
                               ds->id, partition);
    int rc = flow__ds_prepare(ds);
    if (rc < 0)
        return rc;
    flow__sinkspec_t sink;
    memset(&sink, 0, sizeof sink);
    sink.kind = FLOW_SINK_COLLECT;
    flow__wbuf_t b;
    flow__wbuf_init(&b);
    flow__task_put_header(&b, 0, 0, (uint32_t)partition, (uint32_t)partition, 0);
    flow__task_put_sink(&b, &sink);
    if ((rc = flow__ds_encode_partition(ds, partition, &b)) < 0) {
        flow__wbuf_free(&b);
        return rc;
    }
    flow__seal(&b, 0);
    *out = flow__wbuf_take(&b, out_len);
    return FLOW_OK;
}
