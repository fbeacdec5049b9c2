/* actions.c - actions: a sink per partition, and the driver's merge
 * Each action describes its per-partition work as a sink (lib/sink.c), runs
 * a job over the dataset's partitions and merges the payloads here: counts
 * add, collected blocks are kept per partition and joined in partition
 * order, reduce/fold/aggregate partials are combined in partition order with
 * the user's function, top-k candidates are sorted once more and cut, stats
 * merge by Chan et al.'s formula. take scans one partition first, then four
 * times as many as it has scanned while it still needs records, as Spark's
 * take does. save_as_text_file commits the job: once every task has renamed
 * its attempt file to _temporary/part-NNNNN, the driver moves the parts into
 * the output directory and writes _SUCCESS. */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "mem.h"
#include "runner.h"

struct flow_result {
    flow__wbuf_t blk;    /* All records, as one block. */
    size_t count;        /* Number of records. */
    flow_rec_t *index;   /* Records by number (built on first get). */
};

/* ---- Results ------------------------------------------------------------------------------ */

static flow_result_t *result_new(void)
{
    flow_result_t *r = flow__calloc(1, sizeof *r);
    flow__wbuf_init(&r->blk);
    return r;
}

size_t flow_result_count(const flow_result_t *res) { return res->count; }

int flow_result_next(const flow_result_t *res, size_t *pos, flow_rec_t *out)
{
    int rc = flow__block_next(res->blk.data, res->blk.len, pos, out);
    return rc < 0 ? 0 : rc;
}

const flow_rec_t *flow_result_get(flow_result_t *res, size_t i)
{
    if (i >= res->count)
        return NULL;
    if (!res->index) {
        res->index = flow__malloc(sizeof *res->index * res->count);
        size_t pos = 0;
        for (size_t k = 0; k < res->count; k++)
            flow__block_next(res->blk.data, res->blk.len, &pos, &res->index[k]);
    }
    return &res->index[i];
}

void flow_result_destroy(flow_result_t **res_p)
{
    flow_result_t *r = *res_p;
    if (!r)
        return;
    flow__wbuf_free(&r->blk);
    flow__free(r->index);
    flow__free(r);
    *res_p = NULL;
}

/* Take ownership of a block as a result; NULL when it is malformed. */
static flow_result_t *result_of_block(flow__wbuf_t *blk)
{
    int64_t n = flow__block_count(blk->data, blk->len);
    if (n < 0)
        return NULL;
    flow_result_t *r = result_new();
    r->blk = *blk;
    r->count = (size_t)n;
    flow__wbuf_init(blk);
    return r;
}

int flow_result_from_encoded(const void *res, size_t len, flow_result_t **out,
                             char **out_err)
{
    flow__task_result_t tr;
    flow__err_t err;
    flow__err_clear(&err);
    int rc = flow__result_decode(res, len, &tr, &err);
    if (rc == FLOW_OK && tr.err.code != FLOW_OK)
        err = tr.err, rc = tr.err.code;
    flow__wbuf_t blk;
    flow__wbuf_init(&blk);
    if (rc == FLOW_OK) {
        flow__wbuf_put(&blk, tr.payload, tr.payload_len);
        if (!(*out = result_of_block(&blk)))
            rc = flow__err_set(&err, FLOW_EPROTO, "result payload is not a block");
    }
    flow__wbuf_free(&blk);
    if (rc < 0 && out_err)
        *out_err = flow__strdup(err.msg);
    return rc;
}

/* ---- Per-partition payloads kept until the job ends ------------------------------------------ */

typedef struct parts {
    flow__wbuf_t *p;  /* Payload of each task, by task index. */
    int n;            /* Number of tasks. */
} parts_t;

static void parts_init(parts_t *ps, int n)
{
    ps->n = n;
    ps->p = flow__calloc((size_t)(n ? n : 1), sizeof *ps->p);
}

static void parts_free(parts_t *ps)
{
    for (int i = 0; i < ps->n; i++)
        flow__wbuf_free(&ps->p[i]);
    flow__free(ps->p);
}

static int keep_merge(void *ud, int i, int partition, const void *payload, size_t len)
{
    parts_t *ps = ud;
    flow__wbuf_free(&ps->p[i]);
    flow__wbuf_reserve(&ps->p[i], 8);
    flow__wbuf_put(&ps->p[i], payload, len);
    return FLOW_OK;
}

/* Run sink over the listed partitions (NULL: all) keeping every payload. */
static int run_keep(flow_dataset_t *ds, const flow__sinkspec_t *sink, const int *list, int n,
                    parts_t *ps)
{
    if (!ds->ctx->started)
        return flow__ctx_error(ds->ctx, FLOW_EINVAL, "the context is not started");
    parts_init(ps, list ? n : ds->nparts);
    int rc = flow__job_run(ds, sink, list, n, keep_merge, ps);
    if (rc < 0)
        parts_free(ps);
    return rc;
}

/* Join the kept blocks in order into one result (taking at most limit records). */
static int parts_to_result(flow_context_t *ctx, parts_t *ps, size_t limit,
                           flow_result_t **out)
{
    flow_result_t *r = result_new();
    size_t total = 0;
    for (int i = 0; i < ps->n; i++)
        total += ps->p[i].len;
    flow__wbuf_reserve(&r->blk, total ? total : 8);
    for (int i = 0; i < ps->n && r->count < limit; i++) {
        size_t pos = 0;
        flow_rec_t rec;
        int rc;
        while (r->count < limit && (rc = flow__block_next(ps->p[i].data, ps->p[i].len, &pos,
                                                           &rec)) == 1) {
            flow__block_append(&r->blk, &rec);
            r->count++;
        }
        if (rc < 0) {
            flow_result_destroy(&r);
            return flow__ctx_error(ctx, FLOW_EPROTO, "malformed result of task %d", i);
        }
        flow__wbuf_free(&ps->p[i]);
    }
    *out = r;
    return FLOW_OK;
}

/* ---- collect, count, take, first, foreach ---------------------------------------------------- */

static flow__sinkspec_t sink_of(uint8_t kind)
{
    flow__sinkspec_t s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    return s;
}

int flow_dataset_collect(flow_dataset_t *ds, flow_result_t **out)
{
    flow__sinkspec_t sink = sink_of(FLOW_SINK_COLLECT);
    parts_t ps;
    int rc = run_keep(ds, &sink, NULL, 0, &ps);
    if (rc < 0)
        return rc;
    rc = parts_to_result(ds->ctx, &ps, SIZE_MAX, out);
    parts_free(&ps);
    return rc;
}

static int count_merge(void *ud, int i, int partition, const void *payload, size_t len)
{
    flow__rbuf_t r;
    flow__rbuf_init(&r, payload, len);
    *(uint64_t *)ud += flow__rbuf_u64(&r);
    return flow__rbuf_ok(&r) ? FLOW_OK : FLOW_EPROTO;
}

int flow_dataset_count(flow_dataset_t *ds, uint64_t *out)
{
    if (!ds->ctx->started)
        return flow__ctx_error(ds->ctx, FLOW_EINVAL, "count: the context is not started");
    flow__sinkspec_t sink = sink_of(FLOW_SINK_COUNT);
    *out = 0;
    return flow__job_run(ds, &sink, NULL, 0, count_merge, out);
}

int flow_dataset_take(flow_dataset_t *ds, size_t n, flow_result_t **out)
{
    flow_result_t *res = result_new();
    flow__sinkspec_t sink = sink_of(FLOW_SINK_TAKE);
    int scanned = 0, rc = FLOW_OK;
    while (res->count < n && scanned < ds->nparts) {
        int batch = scanned == 0 ? 1 : scanned * 4;
        if (batch > ds->nparts - scanned)
            batch = ds->nparts - scanned;
        int *list = flow__malloc(sizeof *list * (size_t)batch);
        for (int i = 0; i < batch; i++)
            list[i] = scanned + i;
        sink.n = n - res->count;
        parts_t ps;
        rc = run_keep(ds, &sink, list, batch, &ps);
        flow__free(list);
        if (rc < 0)
            break;
        flow_result_t *part;
        rc = parts_to_result(ds->ctx, &ps, n - res->count, &part);
        parts_free(&ps);
        if (rc < 0)
            break;
        flow__wbuf_put(&res->blk, part->blk.data, part->blk.len);
        res->count += part->count;
        flow_result_destroy(&part);
        scanned += batch;
    }
    if (rc < 0) {
        flow_result_destroy(&res);
        return rc;
    }
    *out = res;
    return FLOW_OK;
}

int flow_dataset_first(flow_dataset_t *ds, flow_result_t **out)
{
    int rc = flow_dataset_take(ds, 1, out);
    if (rc == FLOW_OK && (*out)->count == 0) {
        flow_result_destroy(out);
        return flow__ctx_error(ds->ctx, FLOW_ENOENT, "first: dataset %u '%s' is empty",
                               ds->id, ds->name);
    }
    return rc;
}

static int ignore_merge(void *ud, int i, int partition, const void *payload, size_t len)
{
    return FLOW_OK;
}

/* Fill a sink's function reference and argument; FLOW_EINVAL when fn is missing. */
static int sink_fn(flow_context_t *ctx, flow__sinkspec_t *s, const char *what, const void *fn,
                   const void *arg, size_t arg_len)
{
    if (!fn)
        return flow__ctx_error(ctx, FLOW_EINVAL, "%s: no function given", what);
    s->arg = arg;
    s->arg_len = arg_len;
    return flow__fnref_make(fn, &s->fn, &ctx->err);
}

int flow_dataset_foreach(flow_dataset_t *ds, flow_foreach_fn *fn, const void *arg,
                         size_t arg_len)
{
    flow__sinkspec_t sink = sink_of(FLOW_SINK_FOREACH);
    int rc = sink_fn(ds->ctx, &sink, "foreach", (const void *)fn, arg, arg_len);
    if (rc < 0)
        return rc;
    if (!ds->ctx->started)
        return flow__ctx_error(ds->ctx, FLOW_EINVAL, "foreach: the context is not started");
    return flow__job_run(ds, &sink, NULL, 0, ignore_merge, NULL);
}

/* ---- reduce, fold, aggregate ------------------------------------------------------------------ */

/* Combine the partials in partition order with comb, starting from zero (or
 * from the first partial when zero is NULL). */
static int combine_partials(flow_dataset_t *ds, parts_t *ps, const flow_rec_t *zero,
                            flow_reduce_fn *comb, const flow_buf_t *arg, flow_result_t **out)
{
    flow__err_t err;
    flow__err_clear(&err);
    flow__arena_t scratch;
    flow__arena_init(&scratch, 64 * 1024);
    flow_task_t t;
    flow__task_init_local(&t, &err, &scratch);
    flow__acc_t acc;
    flow__acc_init(&acc);
    if (zero)
        flow__acc_set(&acc, zero);
    int rc = FLOW_OK;
    for (int i = 0; i < ps->n && rc == FLOW_OK; i++) {
        size_t pos = 0;
        flow_rec_t rec;
        if (flow__block_next(ps->p[i].data, ps->p[i].len, &pos, &rec) == 1)
            rc = flow__acc_combine(&t, comb, arg, &acc, &rec);
    }
    if (rc < 0)
        rc = flow__ctx_error(ds->ctx, rc, "dataset %u '%s': merging partial results on the "
                             "driver: %s", ds->id, ds->name, err.msg);
    else if (!acc.has)
        rc = flow__ctx_error(ds->ctx, FLOW_ENOENT, "reduce: dataset %u '%s' is empty",
                             ds->id, ds->name);
    if (rc == FLOW_OK) {
        flow__wbuf_t blk;
        flow__wbuf_init(&blk);
        flow_rec_t a = flow__acc_rec(&acc);
        flow__block_append(&blk, &a);
        *out = result_of_block(&blk);
    }
    flow__acc_free(&acc);
    flow__arena_free(&scratch);
    return rc;
}

static int run_fold(flow_dataset_t *ds, uint8_t kind, const flow_rec_t *zero,
                    flow_reduce_fn *seq, flow_reduce_fn *comb, const void *arg,
                    size_t arg_len, flow_result_t **out)
{
    static const char *const names[] = {"reduce", "fold", "aggregate"};
    const char *what = names[kind - FLOW_SINK_REDUCE];
    flow__sinkspec_t sink = sink_of(kind);
    int rc = sink_fn(ds->ctx, &sink, what, (const void *)seq, arg, arg_len);
    if (rc < 0)
        return rc;
    if (!comb)
        return flow__ctx_error(ds->ctx, FLOW_EINVAL, "%s: no function given", what);
    flow__wbuf_t zblk;
    flow__wbuf_init(&zblk);
    if (zero) {
        flow__block_append(&zblk, zero);
        sink.zero = zblk.data;
        sink.zero_len = zblk.len;
    }
    parts_t ps;
    rc = run_keep(ds, &sink, NULL, 0, &ps);
    if (rc == FLOW_OK) {
        flow_buf_t a = {arg, arg_len};
        rc = combine_partials(ds, &ps, zero, comb, &a, out);
        parts_free(&ps);
    }
    flow__wbuf_free(&zblk);
    return rc;
}

int flow_dataset_reduce(flow_dataset_t *ds, flow_reduce_fn *fn, const void *arg,
                        size_t arg_len, flow_result_t **out)
{
    return run_fold(ds, FLOW_SINK_REDUCE, NULL, fn, fn, arg, arg_len, out);
}

int flow_dataset_fold(flow_dataset_t *ds, const flow_rec_t *zero, flow_reduce_fn *fn,
                      const void *arg, size_t arg_len, flow_result_t **out)
{
    if (!zero)
        return flow__ctx_error(ds->ctx, FLOW_EINVAL, "fold: no zero record");
    return run_fold(ds, FLOW_SINK_FOLD, zero, fn, fn, arg, arg_len, out);
}

int flow_dataset_aggregate(flow_dataset_t *ds, const flow_rec_t *zero, flow_reduce_fn *seq,
                           flow_reduce_fn *comb, const void *arg, size_t arg_len,
                           flow_result_t **out)
{
    if (!zero)
        return flow__ctx_error(ds->ctx, FLOW_EINVAL, "aggregate: no zero record");
    return run_fold(ds, FLOW_SINK_AGGREGATE, zero, seq, comb, arg, arg_len, out);
}

/* ---- take_ordered, top ------------------------------------------------------------------------ */

static int run_topk(flow_dataset_t *ds, size_t n, int descending, flow_cmp_fn *cmp,
                    const void *arg, size_t arg_len, flow_result_t **out)
{
    flow__sinkspec_t sink = sink_of(FLOW_SINK_TOPK);
    sink.n = n;
    sink.descending = (uint8_t)descending;
    sink.arg = arg;
    sink.arg_len = arg_len;
    int rc = flow__fnref_make((const void *)cmp, &sink.fn, &ds->ctx->err);
    if (rc < 0)
        return rc;
    parts_t ps;
    if ((rc = run_keep(ds, &sink, NULL, 0, &ps)) < 0)
        return rc;
    flow_result_t *all;
    rc = parts_to_result(ds->ctx, &ps, SIZE_MAX, &all);
    parts_free(&ps);
    if (rc < 0)
        return rc;
    flow_buf_t a = {arg, arg_len};
    flow_rec_t *recs = flow__malloc(sizeof *recs * (all->count ? all->count : 1));
    size_t pos = 0, k = 0;
    while (flow__block_next(all->blk.data, all->blk.len, &pos, &recs[k]) == 1)
        k++;
    flow__sort_recs(recs, k, cmp, &a, descending);
    flow_result_t *res = result_new();
    for (size_t i = 0; i < k && i < n; i++) {
        flow__block_append(&res->blk, &recs[i]);
        res->count++;
    }
    flow__free(recs);
    flow_result_destroy(&all);
    *out = res;
    return FLOW_OK;
}

int flow_dataset_take_ordered(flow_dataset_t *ds, size_t n, flow_cmp_fn *cmp, const void *arg,
                              size_t arg_len, flow_result_t **out)
{
    return run_topk(ds, n, 0, cmp, arg, arg_len, out);
}

int flow_dataset_top(flow_dataset_t *ds, size_t n, flow_cmp_fn *cmp, const void *arg,
                     size_t arg_len, flow_result_t **out)
{
    return run_topk(ds, n, 1, cmp, arg, arg_len, out);
}

/* ---- stats -------------------------------------------------------------------------------------- */

static int stats_merge(void *ud, int i, int partition, const void *payload, size_t len)
{
    flow__rbuf_t r;
    flow__rbuf_init(&r, payload, len);
    flow__dstats_t s;
    s.n = flow__rbuf_u64(&r);
    s.mean = flow__rbuf_f64(&r);
    s.m2 = flow__rbuf_f64(&r);
    s.min = flow__rbuf_f64(&r);
    s.max = flow__rbuf_f64(&r);
    s.sum = flow__rbuf_f64(&r);
    if (!flow__rbuf_ok(&r))
        return FLOW_EPROTO;
    flow__dstats_merge(ud, &s);
    return FLOW_OK;
}

int flow_dataset_stats(flow_dataset_t *ds, flow_double_stats_t *out)
{
    if (!ds->ctx->started)
        return flow__ctx_error(ds->ctx, FLOW_EINVAL, "stats: the context is not started");
    flow__sinkspec_t sink = sink_of(FLOW_SINK_STATS);
    flow__dstats_t s;
    flow__dstats_init(&s);
    int rc = flow__job_run(ds, &sink, NULL, 0, stats_merge, &s);
    if (rc < 0)
        return rc;
    out->count = s.n;
    out->mean = s.n ? s.mean : NAN;
    out->stdev = s.n ? sqrt(s.m2 / (double)s.n) : NAN;
    out->min = s.min;
    out->max = s.max;
    out->sum = s.sum;
    return FLOW_OK;
}

/* ---- save_as_text_file ------------------------------------------------------------------------- */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

int flow__remove_tree(const char *path)
{
    return nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

static int prepare_output(flow_context_t *ctx, const char *dir, int overwrite)
{
    struct stat st;
    if (lstat(dir, &st) == 0) {
        if (!overwrite)
            return flow__ctx_error(ctx, FLOW_EEXIST,
                                   "save_as_text_file: output %s already exists", dir);
        if (flow__remove_tree(dir) < 0)
            return flow__ctx_error(ctx, FLOW_EIO, "save_as_text_file: cannot remove %s: %s",
                                   dir, strerror(errno));
    }
    char *tmp = flow__asprintf("%s/_temporary", dir);
    int rc = FLOW_OK;
    if (mkdir(dir, 0755) < 0 || mkdir(tmp, 0755) < 0)
        rc = flow__ctx_error(ctx, FLOW_EIO, "save_as_text_file: cannot create %s: %s", dir,
                             strerror(errno));
    flow__free(tmp);
    return rc;
}

/* Move every committed part into place, then mark success. */
static int commit_output(flow_context_t *ctx, const char *dir, int nparts)
{
    char part[32];
    for (int p = 0; p < nparts; p++) {
        flow__part_name(part, sizeof part, (uint32_t)p);
        char *from = flow__asprintf("%s/_temporary/%s", dir, part);
        char *to = flow__asprintf("%s/%s", dir, part);
        int bad = rename(from, to) < 0;
        flow__free(from);
        flow__free(to);
        if (bad)
            return flow__ctx_error(ctx, FLOW_EIO, "save_as_text_file: committing %s/%s: %s",
                                   dir, part, strerror(errno));
    }
    char *tmp = flow__asprintf("%s/_temporary", dir);
    flow__remove_tree(tmp);
    flow__free(tmp);
    char *ok = flow__asprintf("%s/_SUCCESS", dir);
    FILE *f = fopen(ok, "w");
    int rc = f && fclose(f) == 0 ? FLOW_OK
                                 : flow__ctx_error(ctx, FLOW_EIO,
                                                   "save_as_text_file: cannot write %s", ok);
    flow__free(ok);
    return rc;
}

int flow_dataset_save_as_text_file(flow_dataset_t *ds, const char *dir, int overwrite)
{
    flow_context_t *ctx = ds->ctx;
    if (!ctx->started)
        return flow__ctx_error(ctx, FLOW_EINVAL, "save_as_text_file: the context is not "
                               "started");
    int rc = prepare_output(ctx, dir, overwrite);
    if (rc < 0)
        return rc;
    flow__sinkspec_t sink = sink_of(FLOW_SINK_SAVE);
    sink.path = dir;
    rc = flow__job_run(ds, &sink, NULL, 0, ignore_merge, NULL);
    if (rc < 0) {
        char *tmp = flow__asprintf("%s/_temporary", dir);
        flow__remove_tree(tmp);
        flow__free(tmp);
        return rc;
    }
    return commit_output(ctx, dir, ds->nparts);
}
