/* cache.c - persisted datasets, checkpoints, broadcast variables and
 * accumulators, as the driver sees them
 * Persisting only marks a dataset: its tasks then carry a CACHED node (see
 * lib/ops.c) that reads the partition from a block store or computes and
 * stores it. The driver asks the block stores of its executors what they
 * hold (they share its process in the local modes; executor processes will
 * answer the same questions over the wire).
 * A checkpoint runs a job that writes every partition to a file, then turns
 * the dataset into a source reading those files (lib/src_ckpt.c); a local
 * checkpoint persists the dataset at memory-and-disk, computes it, and
 * leaves it with no lineage at all.
 * Broadcast variables are sent to each executor before its next task, once.
 * Accumulator logs come back in task results and are applied once per
 * (accumulator, scope, partition): see lib/shared.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "mem.h"
#include "runner.h"
#include "shared.h"

/* ---- Persisting ---------------------------------------------------------------------- */

flow_dataset_t *flow_dataset_persist(flow_dataset_t *ds, flow_storage_level_t level)
{
    if (level < FLOW_MEMORY_ONLY || level > FLOW_DISK_ONLY) {
        flow__ctx_error(ds->ctx, FLOW_EINVAL, "persist dataset %u '%s': unknown storage level %d",
                        ds->id, ds->name, (int)level);
        return NULL;
    }
    if (ds->level && ds->level != level) {
        flow__ctx_error(ds->ctx, FLOW_EINVAL,
                        "persist dataset %u '%s': already persisted at another level "
                        "(unpersist it first)", ds->id, ds->name);
        return NULL;
    }
    ds->level = (uint8_t)level;
    return ds;
}

flow_dataset_t *flow_dataset_cache(flow_dataset_t *ds)
{
    return flow_dataset_persist(ds, FLOW_MEMORY_ONLY);
}

int flow_dataset_unpersist(flow_dataset_t *ds)
{
    flow__cache_drop(ds);
    if (ds->ckpt != FLOW_CKPT_LOCAL)
        ds->level = 0;
    return FLOW_OK;
}

flow_storage_level_t flow_dataset_storage_level(const flow_dataset_t *ds)
{
    return (flow_storage_level_t)ds->level;
}

void flow__cache_drop(flow_dataset_t *ds)
{
    flow_context_t *ctx = ds->ctx;
    for (int e = 0; e < ctx->group.n; e++)
        flow__bs_cache_drop(ctx->group.stores[e], ds->id, -1);
}

int flow__cache_complete(flow_dataset_t *ds)
{
    flow_context_t *ctx = ds->ctx;
    for (int p = 0; p < ds->nparts; p++) {
        int found = 0;
        for (int e = 0; e < ctx->group.n && !found; e++)
            found = flow__bs_cache_has(ctx->group.stores[e], ds->id, (uint32_t)p);
        if (!found)
            return 0;
    }
    return 1;
}

int flow_dataset_cache_info(const flow_dataset_t *ds, flow_cache_info_t *out)
{
    flow_context_t *ctx = ds->ctx;
    memset(out, 0, sizeof *out);
    out->level = (flow_storage_level_t)ds->level;
    out->partitions = ds->nparts;
    for (int e = 0; e < ctx->group.n; e++)
        flow__bs_cache_count(ctx->group.stores[e], ds->id, &out->mem_partitions,
                             &out->disk_partitions, &out->mem_bytes, &out->disk_bytes,
                             &out->records);
    return FLOW_OK;
}

int flow_context_executor_memory(flow_context_t *ctx, int exec, flow_executor_memory_t *out)
{
    memset(out, 0, sizeof *out);
    if (exec < 1 || exec > ctx->group.n)
        return flow__ctx_error(ctx, FLOW_EINVAL, "executor_memory: no executor %d (1 to %d)",
                               exec, ctx->group.n);
    flow__blockstore_t *bs = ctx->group.stores[exec - 1];
    pthread_mutex_lock(&bs->mu);
    out->limit = bs->mem_limit;
    out->storage_min = bs->storage_min;
    out->storage = bs->mem_bytes;
    out->execution = bs->exec_bytes;
    out->disk = bs->disk_bytes;
    out->evictions = bs->evictions;
    out->evicted_bytes = bs->evicted_bytes;
    pthread_mutex_unlock(&bs->mu);
    out->arena = bs->arena;
    out->arena_allocated = flow__mem_arena_allocated(bs->arena);
    return FLOW_OK;
}

/* ---- Checkpoints ----------------------------------------------------------------------- */

typedef struct ckpt_job {
    flow__split_t *splits; /* One per partition. */
} ckpt_job_t;

static int ckpt_merge(void *ud, int i, int partition, const void *payload, size_t len)
{
    ckpt_job_t *c = ud;
    flow__split_t *s = &c->splits[partition];
    flow__free(s->data);
    s->data = flow__malloc(len);
    memcpy(s->data, payload, len);
    s->len = len;
    flow__rbuf_t r;
    flow__rbuf_init(&r, payload, len);
    flow__rbuf_u64(&r);
    s->bytes = flow__rbuf_u64(&r);
    (void)i;
    return flow__rbuf_ok(&r) ? FLOW_OK : FLOW_EPROTO;
}

int flow_dataset_checkpoint(flow_dataset_t *ds)
{
    flow_context_t *ctx = ds->ctx;
    if (ds->ckpt)
        return FLOW_OK;
    const char *base = ctx->set.checkpoint_dir[0] ? ctx->set.checkpoint_dir : ctx->work_dir;
    char *dir = flow__asprintf("%s/checkpoint-%d-ds%u-XXXXXX", base, (int)getpid(), ds->id);
    if (!mkdtemp(dir)) {
        int e = errno;
        flow__free(dir);
        return flow__ctx_error(ctx, FLOW_EIO, "checkpoint dataset %u: cannot create a directory "
                               "in checkpoint.dir %s: %s", ds->id, base, strerror(e));
    }
    flow__sinkspec_t sink;
    memset(&sink, 0, sizeof sink);
    sink.kind = FLOW_SINK_CHECKPOINT;
    sink.path = dir;
    ckpt_job_t c;
    c.splits = flow__calloc((size_t)(ds->nparts ? ds->nparts : 1), sizeof *c.splits);
    int rc = flow__job_run(ds, &sink, NULL, 0, ckpt_merge, &c);
    if (rc < 0) {
        flow__splits_free(c.splits, ds->nparts);
        flow__remove_tree(dir);
        flow__free(dir);
        return rc;
    }
    flow__ds_cut_lineage(ds, c.splits, FLOW_SRC_CHECKPOINT, FLOW_CKPT_FILES);
    ds->ckpt_dir = dir;
    return FLOW_OK;
}

static int count_merge(void *ud, int i, int partition, const void *payload, size_t len)
{
    (void)ud, (void)i, (void)partition, (void)payload, (void)len;
    return FLOW_OK;
}

int flow_dataset_local_checkpoint(flow_dataset_t *ds)
{
    if (ds->ckpt)
        return FLOW_OK;
    if (!ds->level)
        ds->level = FLOW_LEVEL_MEMORY_DISK;
    flow__sinkspec_t sink;
    memset(&sink, 0, sizeof sink);
    sink.kind = FLOW_SINK_COUNT;
    int rc = flow__job_run(ds, &sink, NULL, 0, count_merge, NULL);
    if (rc < 0)
        return rc;
    if (!flow__cache_complete(ds))
        return flow__ctx_error(ds->ctx, FLOW_ENOMEM,
                               "local_checkpoint dataset %u '%s': its partitions do not fit "
                               "in the block stores at this storage level", ds->id, ds->name);
    flow__ds_cut_lineage(ds, NULL, 0, FLOW_CKPT_LOCAL);
    return FLOW_OK;
}

int flow_dataset_is_checkpointed(const flow_dataset_t *ds) { return ds->ckpt != 0; }

/* ---- Broadcast variables ----------------------------------------------------------------- */

struct flow_broadcast {
    flow_context_t *ctx;          /* Context. */
    uint64_t id;                  /* Id. */
    void *data;                   /* Bytes. */
    size_t len;                   /* Their length. */
    uint8_t *sent;                /* Per executor: it has the variable. */
    struct flow_broadcast *next;  /* The context's list. */
};

flow_broadcast_t *flow_broadcast_new(flow_context_t *ctx, const void *data, size_t len)
{
    if (!ctx->started) {
        flow__ctx_error(ctx, FLOW_EINVAL, "broadcast_new: the context is not started");
        return NULL;
    }
    flow_broadcast_t *b = flow__calloc(1, sizeof *b);
    b->ctx = ctx;
    b->id = ++ctx->next_bcast;
    b->data = flow__malloc(len);
    if (len)
        memcpy(b->data, data, len);
    b->len = len;
    b->sent = flow__calloc((size_t)ctx->nexecs + 1, 1);
    b->next = ctx->bcasts;
    ctx->bcasts = b;
    return b;
}

uint64_t flow_broadcast_id(const flow_broadcast_t *b) { return b->id; }

static void bcast_free(flow_broadcast_t *b)
{
    flow__free(b->data);
    flow__free(b->sent);
    flow__free(b);
}

void flow_broadcast_destroy(flow_broadcast_t **b_p)
{
    flow_broadcast_t *b = *b_p;
    if (!b)
        return;
    *b_p = NULL;
    flow_context_t *ctx = b->ctx;
    for (flow_broadcast_t **pp = &ctx->bcasts; *pp; pp = &(*pp)->next)
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    flow__msg_hdr_t h = {0};
    h.type = FLOW_MSG_BCAST_DROP;
    uint8_t id[8];
    for (int i = 0; i < 8; i++)
        id[i] = (uint8_t)(b->id >> (8 * i));
    for (int e = 0; e < ctx->nexecs; e++)
        if (b->sent[e])
            flow__wire_send(ctx->router, ctx->execs[e].ident, ctx->execs[e].ident_len, &h, id,
                            8, ctx->set.chunk_size, NULL);
    bcast_free(b);
}

int flow__bcast_sync(flow_context_t *ctx, flow__exec_slot_t *x)
{
    int e = (int)x->id - 1;
    for (flow_broadcast_t *b = ctx->bcasts; b; b = b->next) {
        if (b->sent[e])
            continue;
        flow__wbuf_t w;
        flow__wbuf_init(&w);
        flow__wbuf_u64(&w, b->id);
        flow__wbuf_put(&w, b->data, b->len);
        flow__msg_hdr_t h = {0};
        h.type = FLOW_MSG_BCAST;
        h.executor = x->id;
        int rc = flow__wire_send(ctx->router, x->ident, x->ident_len, &h, w.data, w.len,
                                 ctx->set.chunk_size, &ctx->err);
        flow__wbuf_free(&w);
        if (rc < 0)
            return rc;
        b->sent[e] = 1;
        ctx->stats.broadcasts_sent++;
    }
    return FLOW_OK;
}

/* ---- Accumulators ------------------------------------------------------------------------ */

struct flow_accumulator {
    flow_context_t *ctx;          /* Context. */
    uint64_t id;                  /* Id: number << 2 | kind. */
    union {
        int64_t i;
        double f;
    } sum;                        /* Sums. */
    flow__acc_t user;             /* User: the value. */
    flow_reduce_fn *merge;        /* User: merge. */
    void *arg;                    /* User: its argument. */
    size_t arg_len;
    uint64_t *seen;               /* Applied (scope, partition) keys + 1, open addressing. */
    size_t nseen, cap;            /* Keys, slots. */
    struct flow_accumulator *next; /* The context's list. */
};

static flow_accumulator_t *acc_new(flow_context_t *ctx, int kind)
{
    flow_accumulator_t *a = flow__calloc(1, sizeof *a);
    a->ctx = ctx;
    a->id = (++ctx->next_acc << 2) | (uint64_t)kind;
    flow__acc_init(&a->user);
    a->next = ctx->accs;
    ctx->accs = a;
    return a;
}

flow_accumulator_t *flow_accumulator_new(flow_context_t *ctx, flow_acc_kind_t kind)
{
    if (kind != FLOW_ACC_SUM_I64 && kind != FLOW_ACC_SUM_F64) {
        flow__ctx_error(ctx, FLOW_EINVAL, "accumulator_new: kind %d is not a sum (use "
                        "accumulator_new_user)", (int)kind);
        return NULL;
    }
    return acc_new(ctx, kind);
}

flow_accumulator_t *flow_accumulator_new_user(flow_context_t *ctx, const void *zero,
                                              size_t zero_len, flow_reduce_fn *merge,
                                              const void *arg, size_t arg_len)
{
    if (!merge) {
        flow__ctx_error(ctx, FLOW_EINVAL, "accumulator_new_user: no merge function");
        return NULL;
    }
    flow_accumulator_t *a = acc_new(ctx, FLOW_ACC_USER);
    flow_rec_t z = flow_rec(zero, zero_len);
    flow__acc_set(&a->user, &z);
    a->merge = merge;
    a->arg = flow__malloc(arg_len);
    if (arg_len)
        memcpy(a->arg, arg, arg_len);
    a->arg_len = arg_len;
    return a;
}

uint64_t flow_accumulator_id(const flow_accumulator_t *a) { return a->id; }
int64_t flow_accumulator_i64(const flow_accumulator_t *a)
{
    return FLOW_ACC_KIND(a->id) == FLOW_ACC_SUM_I64 ? a->sum.i : 0;
}
double flow_accumulator_f64(const flow_accumulator_t *a)
{
    return FLOW_ACC_KIND(a->id) == FLOW_ACC_SUM_F64 ? a->sum.f : 0.0;
}

flow_buf_t flow_accumulator_value(const flow_accumulator_t *a)
{
    flow_buf_t b = {a->user.val.data, a->user.val.len};
    return b;
}

static void acc_free(flow_accumulator_t *a)
{
    flow__acc_free(&a->user);
    flow__free(a->arg);
    flow__free(a->seen);
    flow__free(a);
}

void flow_accumulator_destroy(flow_accumulator_t **a_p)
{
    flow_accumulator_t *a = *a_p;
    if (!a)
        return;
    *a_p = NULL;
    for (flow_accumulator_t **pp = &a->ctx->accs; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    acc_free(a);
}

/* Record key as applied; 0 when it already was. */
static int first_time(flow_accumulator_t *a, uint64_t key)
{
    if (2 * (a->nseen + 1) > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        uint64_t *s = flow__calloc(cap, sizeof *s);
        for (size_t i = 0; i < a->cap; i++) {
            if (!a->seen[i])
                continue;
            size_t j = (a->seen[i] * 0x9E3779B97F4A7C15ull) & (cap - 1);
            while (s[j])
                j = (j + 1) & (cap - 1);
            s[j] = a->seen[i];
        }
        flow__free(a->seen);
        a->seen = s;
        a->cap = cap;
    }
    key++;
    size_t j = (key * 0x9E3779B97F4A7C15ull) & (a->cap - 1);
    while (a->seen[j]) {
        if (a->seen[j] == key)
            return 0;
        j = (j + 1) & (a->cap - 1);
    }
    a->seen[j] = key;
    a->nseen++;
    return 1;
}

static void user_merge(flow_accumulator_t *a, const void *v, size_t len)
{
    flow__err_t err;
    flow__arena_t scratch;
    flow__err_clear(&err);
    flow__arena_init(&scratch, 4096);
    flow_task_t t;
    flow__task_init_local(&t, &err, &scratch);
    flow_buf_t arg = {a->arg, a->arg_len};
    flow_rec_t b = flow_rec(v, len);
    if (flow__acc_combine(&t, a->merge, &arg, &a->user, &b) < 0)
        fprintf(stderr, "libflow: accumulator %llu: merge failed: %s\n",
                (unsigned long long)a->id, err.msg);
    flow__arena_free(&scratch);
}

void flow__acc_apply(flow_context_t *ctx, uint32_t job, uint32_t partition, const void *log,
                     size_t len)
{
    flow__rbuf_t r;
    flow__rbuf_init(&r, log, len);
    uint32_t n = len ? flow__rbuf_u32(&r) : 0;
    for (uint32_t i = 0; i < n && flow__rbuf_ok(&r); i++) {
        uint64_t id = flow__rbuf_u64(&r);
        uint32_t scope = flow__rbuf_u32(&r), part = flow__rbuf_u32(&r);
        uint32_t nvals = flow__rbuf_u32(&r);
        flow_accumulator_t *a = ctx->accs;
        while (a && a->id != id)
            a = a->next;
        /* A dataset's partition counts once; an action's function once per job. */
        uint64_t key = scope ? (uint64_t)scope << 32 | part
                             : (uint64_t)(0x80000000u | job) << 32 | partition;
        int apply = a && first_time(a, key);
        for (uint32_t k = 0; k < nvals && flow__rbuf_ok(&r); k++) {
            size_t vlen;
            const void *v = flow__rbuf_bytes(&r, &vlen);
            if (!apply || !v)
                continue;
            if (FLOW_ACC_KIND(id) == FLOW_ACC_SUM_I64 && vlen == 8)
                a->sum.i = (int64_t)((uint64_t)a->sum.i + (uint64_t)flow_i64(v));
            else if (FLOW_ACC_KIND(id) == FLOW_ACC_SUM_F64 && vlen == 8)
                a->sum.f += flow_f64(v);
            else if (FLOW_ACC_KIND(id) == FLOW_ACC_USER)
                user_merge(a, v, vlen);
        }
    }
}

void flow__shared_release_all(flow_context_t *ctx)
{
    while (ctx->bcasts) {
        flow_broadcast_t *b = ctx->bcasts;
        ctx->bcasts = b->next;
        bcast_free(b);
    }
    while (ctx->accs) {
        flow_accumulator_t *a = ctx->accs;
        ctx->accs = a->next;
        acc_free(a);
    }
}
