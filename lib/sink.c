/* sink.c - the per-partition part of each action
 * A sink drains a task's iterator and writes a payload for the driver, which
 * merges the payloads of all partitions (driver/actions.c):
 *   count      u64 records
 *   collect    every record, as a block
 *   take       the first n records, as a block (stops pulling after n)
 *   reduce, fold, aggregate   the partition's accumulator as a block of one
 *              record (reduce: none for an empty partition)
 *   top-k      the n first records in the order asked for, sorted, as a block;
 *              candidates collect in a buffer of up to 2n (at least 1024)
 *              records that is sorted and cut back to n when full
 *   stats      count, mean, M2, min, max, sum (Chan et al.'s merge)
 *   foreach    nothing
 *   save       u64 records written to <dir>/_temporary/part-NNNNN, through
 *              part-NNNNN.attempt-A and a rename once the file is complete */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"
#include "shuffle.h"

/* ---- Accumulators ---------------------------------------------------------------- */

void flow__acc_init(flow__acc_t *a)
{
    a->has = 0;
    a->keyed = 0;
    flow__wbuf_init(&a->key);
    flow__wbuf_init(&a->val);
}

void flow__acc_free(flow__acc_t *a)
{
    flow__wbuf_free(&a->key);
    flow__wbuf_free(&a->val);
    a->has = 0;
}

flow_rec_t flow__acc_rec(const flow__acc_t *a)
{
    static const uint64_t empty = 0;
    const void *k = a->key.data ? (const void *)a->key.data : (const void *)&empty;
    const void *v = a->val.data ? (const void *)a->val.data : (const void *)&empty;
    flow_rec_t r = {a->keyed ? k : NULL, a->keyed ? a->key.len : 0, v, a->val.len};
    return r;
}

void flow__acc_set(flow__acc_t *a, const flow_rec_t *r)
{
    /* r may point into a's own buffers: build the new contents aside first. */
    flow__acc_t n;
    flow__acc_init(&n);
    n.has = 1;
    n.keyed = r->key != NULL;
    flow__wbuf_reserve(&n.val, 8);
    flow__wbuf_put(&n.val, r->val, r->vlen);
    if (r->key) {
        flow__wbuf_reserve(&n.key, 8);
        flow__wbuf_put(&n.key, r->key, r->klen);
    }
    flow__acc_free(a);
    *a = n;
}

int flow__acc_combine(flow_task_t *t, flow_reduce_fn *fn, const flow_buf_t *arg,
                      flow__acc_t *acc, const flow_rec_t *b)
{
    if (!acc->has) {
        flow__acc_set(acc, b);
        return FLOW_OK;
    }
    flow_rec_t a = flow__acc_rec(acc), out = a;
    flow__arena_reset(t->scratch);
    int rc = fn(t, &a, b, &out, arg);
    if (rc != 0)
        return flow__udf_failed(t, "reduce", rc);
    if (out.val == a.val && out.vlen == a.vlen && out.key == a.key && out.klen == a.klen)
        return FLOW_OK; /* Updated in place, or unchanged. */
    flow__acc_set(acc, &out);
    return FLOW_OK;
}

/* ---- Stats ------------------------------------------------------------------------ */

void flow__dstats_init(flow__dstats_t *s)
{
    s->n = 0;
    s->mean = 0;
    s->m2 = 0;
    s->min = INFINITY;
    s->max = -INFINITY;
    s->sum = 0;
}

void flow__dstats_merge(flow__dstats_t *a, const flow__dstats_t *b)
{
    if (b->n == 0)
        return;
    if (a->n == 0) {
        *a = *b;
        return;
    }
    double n = (double)(a->n + b->n), delta = b->mean - a->mean;
    a->mean += delta * (double)b->n / n;
    a->m2 += b->m2 + delta * delta * (double)a->n * (double)b->n / n;
    a->n += b->n;
    a->sum += b->sum;
    a->min = b->min < a->min ? b->min : a->min;
    a->max = b->max > a->max ? b->max : a->max;
}

static int sink_stats(flow_task_t *t, flow_iter_t *in, flow__wbuf_t *out, uint64_t *nrec)
{
    flow__dstats_t s;
    flow__dstats_init(&s);
    flow_rec_t r;
    int rc;
    while ((rc = flow_iter_next(in, &r)) == 1) {
        if (r.vlen != 8) {
            flow__err_set(t->err, FLOW_EINVAL,
                          "stats: a record of %zu bytes in partition %u, expected an "
                          "8-byte double", r.vlen, t->partition);
            t->err->permanent = 1;
            return FLOW_EINVAL;
        }
        double x = flow_f64(r.val), delta = x - s.mean;
        s.n++;
        s.mean += delta / (double)s.n;
        s.m2 += delta * (x - s.mean);
        s.sum += x;
        s.min = x < s.min ? x : s.min;
        s.max = x > s.max ? x : s.max;
        if (flow__task_cancelled(t))
            return FLOW_ECANCELED;
    }
    *nrec = s.n;
    flow__wbuf_u64(out, s.n);
    flow__wbuf_f64(out, s.mean);
    flow__wbuf_f64(out, s.m2);
    flow__wbuf_f64(out, s.min);
    flow__wbuf_f64(out, s.max);
    flow__wbuf_f64(out, s.sum);
    return rc;
}

/* ---- Top-k ------------------------------------------------------------------------ */

typedef struct rec_order {
    flow_cmp_fn *cmp;     /* User comparator or NULL (bytewise). */
    const flow_buf_t *arg; /* Its argument. */
    int descending;       /* Reverse the order. */
} rec_order_t;

static int order_cmp(const void *pa, const void *pb, void *ud)
{
    const rec_order_t *o = ud;
    const flow_rec_t *a = pa, *b = pb;
    int c = o->cmp ? o->cmp(a, b, o->arg) : flow__rec_cmp_bytes(a, b);
    return o->descending ? (c < 0) - (c > 0) : c; /* Negate without overflow. */
}

void flow__sort_recs(flow_rec_t *recs, size_t n, flow_cmp_fn *cmp, const flow_buf_t *arg,
                     int descending)
{
    rec_order_t o = {cmp, arg, descending};
    if (n > 1)
        qsort_r(recs, n, sizeof *recs, order_cmp, &o);
}

typedef struct topk {
    const flow__sinkspec_t *spec; /* n, order, comparator. */
    flow_cmp_fn *cmp;             /* User comparator or NULL (bytewise). */
    flow_buf_t arg;               /* Its argument. */
    flow__wbuf_t blk;             /* Candidate records (block). */
    flow_rec_t *recs;             /* Candidates, pointing into blk. */
    size_t n, cap;                /* Number of candidates, capacity. */
    size_t limit;                 /* Capacity at which the candidates are trimmed. */
    int full;                     /* recs[spec->n - 1] is a bound: after a trim that
                                     kept n, no record ordered after it can enter. */
} topk_t;

/* Sort the candidates and keep the first n, rebuilt in a fresh block. */
static void topk_trim(topk_t *k)
{
    flow__sort_recs(k->recs, k->n, k->cmp, &k->arg, k->spec->descending);
    if (k->n >= k->spec->n) {
        k->n = (size_t)k->spec->n;
        k->full = 1;
    }
    flow__wbuf_t nb;
    flow__wbuf_init(&nb);
    for (size_t i = 0; i < k->n; i++)
        flow__block_append(&nb, &k->recs[i]);
    flow__wbuf_free(&k->blk);
    k->blk = nb;
    size_t pos = 0;
    for (size_t i = 0; i < k->n; i++)
        flow__block_next(k->blk.data, k->blk.len, &pos, &k->recs[i]);
}

static int sink_topk(flow_task_t *t, const flow__sinkspec_t *s, flow_iter_t *in,
                     flow__wbuf_t *out, uint64_t *nrec)
{
    topk_t k = {s, NULL, {s->arg, s->arg_len}, {0}, NULL, 0, 0, 0, 0};
    if (s->fn.idlen && !(k.cmp = flow__fnref_resolve(&s->fn, t->err)))
        return t->err->code;
    rec_order_t ord = {k.cmp, &k.arg, s->descending};
    /* The candidate array grows with the records read, up to 2n (at least
     * 1024): a huge n costs no more than the partition's records. */
    k.limit = s->n < 512 ? 1024 : s->n > SIZE_MAX / 64 ? SIZE_MAX / 64 : (size_t)s->n * 2;
    k.cap = 1024;
    k.recs = flow__malloc(sizeof *k.recs * k.cap);
    flow__wbuf_init(&k.blk);
    flow_rec_t r;
    int rc;
    while (s->n > 0 && (rc = flow_iter_next(in, &r)) == 1) {
        (*nrec)++;
        /* Most records of a large partition lose to the n kept so far. */
        if (k.full && order_cmp(&r, &k.recs[s->n - 1], &ord) >= 0) {
            if (flow__task_cancelled(t)) {
                rc = FLOW_ECANCELED;
                break;
            }
            continue;
        }
        if (k.n == k.cap && k.cap < k.limit) {
            k.cap = k.cap > k.limit / 2 ? k.limit : k.cap * 2;
            k.recs = flow__realloc(k.recs, sizeof *k.recs * k.cap);
        } else if (k.n == k.cap) {
            topk_trim(&k);
        }
        /* Appending may move the block: re-point the candidates after it. */
        uint8_t *old = k.blk.data;
        flow__block_append(&k.blk, &r);
        if (k.blk.data != old) {
            size_t pos = 0;
            for (size_t i = 0; i <= k.n; i++)
                flow__block_next(k.blk.data, k.blk.len, &pos, &k.recs[i]);
        } else {
            size_t pos = k.blk.len - flow__rec_size(&r);
            flow__block_next(k.blk.data, k.blk.len, &pos, &k.recs[k.n]);
        }
        k.n++;
        if (flow__task_cancelled(t)) {
            rc = FLOW_ECANCELED;
            break;
        }
    }
    if (s->n == 0)
        rc = 0;
    if (rc == 0) {
        topk_trim(&k);
        flow__wbuf_put(out, k.blk.data, k.blk.len);
    }
    flow__wbuf_free(&k.blk);
    flow__free(k.recs);
    return rc;
}

/* ---- Save as text ------------------------------------------------------------------ */

void flow__part_name(char *buf, size_t len, uint32_t partition)
{
    snprintf(buf, len, "part-%05u", partition);
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int save_records(flow_task_t *t, flow_iter_t *in, int fd, const char *tmp,
                        uint64_t *nrec)
{
    flow__wbuf_t b;
    flow__wbuf_init(&b);
    flow_rec_t r;
    int rc;
    while ((rc = flow_iter_next(in, &r)) == 1) {
        if (r.key) {
            flow__wbuf_put(&b, r.key, r.klen);
            flow__wbuf_u8(&b, '\t');
        }
        flow__wbuf_put(&b, r.val, r.vlen);
        flow__wbuf_u8(&b, '\n');
        (*nrec)++;
        if (b.len >= (1u << 20)) {
            if (write_all(fd, b.data, b.len) < 0)
                break;
            b.len = 0;
        }
        if (flow__task_cancelled(t)) {
            rc = FLOW_ECANCELED;
            break;
        }
    }
    if (rc == 0 && write_all(fd, b.data, b.len) < 0)
        rc = 1;
    if (rc == 1)
        rc = flow__err_set(t->err, FLOW_EIO, "save_as_text_file: writing %s: %s", tmp,
                           strerror(errno));
    flow__wbuf_free(&b);
    return rc;
}

static int sink_save(flow_task_t *t, const flow__sinkspec_t *s, flow_iter_t *in,
                     flow__wbuf_t *out, uint64_t *nrec)
{
    char part[32];
    flow__part_name(part, sizeof part, t->partition);
    char *tmp = flow__asprintf("%s/_temporary/%s.attempt-%u", s->path, part, t->attempt);
    char *done = flow__asprintf("%s/_temporary/%s", s->path, part);
    int rc = FLOW_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = flow__err_set(t->err, FLOW_EIO, "save_as_text_file: cannot create %s: %s", tmp,
                           strerror(errno));
    } else {
        rc = save_records(t, in, fd, tmp, nrec);
        if (close(fd) < 0 && rc == FLOW_OK)
            rc = flow__err_set(t->err, FLOW_EIO, "save_as_text_file: closing %s: %s", tmp,
                               strerror(errno));
        if (rc == FLOW_OK && rename(tmp, done) < 0)
            rc = flow__err_set(t->err, FLOW_EIO, "save_as_text_file: renaming %s: %s", tmp,
                               strerror(errno));
        if (rc != FLOW_OK)
            unlink(tmp);
    }
    flow__free(tmp);
    flow__free(done);
    if (rc == FLOW_OK)
        flow__wbuf_u64(out, *nrec);
    return rc;
}

/* ---- Sampling keys for range partitioning --------------------------------------- */

/* A reservoir of sampled keys. */
typedef struct sampler {
    flow_task_t *t;      /* The task. */
    size_t n;            /* Keys kept. */
    size_t have;         /* Slots filled. */
    flow__wbuf_t *keys;  /* The keys. */
    uint64_t rng;        /* splitmix64 state. */
    uint64_t *nrec;      /* Records seen. */
} sampler_t;

/* Offer one record to the reservoir (a flow__consume_fn). */
static int sample_one(void *ud, const flow_rec_t *r)
{
    sampler_t *sp = ud;
    flow_task_t *t = sp->t;
    if (!r->key) {
        flow__err_set(t->err, FLOW_EINVAL, "sort_by_key: a record without a key in partition %u",
                      t->partition);
        t->err->permanent = 1;
        return FLOW_EINVAL;
    }
    uint64_t seen = ++*sp->nrec;
    size_t slot = sp->have < sp->n ? sp->have++ : SIZE_MAX;
    if (slot == SIZE_MAX) {
        sp->rng += 0x9E3779B97F4A7C15ull;
        uint64_t z = (sp->rng ^ (sp->rng >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        uint64_t j = (z ^ (z >> 31)) % seen;
        if (j < sp->n)
            slot = (size_t)j;
    }
    if (slot != SIZE_MAX) {
        sp->keys[slot].len = 0;
        flow__wbuf_put(&sp->keys[slot], r->key, r->klen);
    }
    return flow__task_cancelled(t) ? FLOW_ECANCELED : FLOW_OK;
}

/* Reservoir sampling (Vitter's algorithm R) of n keys, seeded by the
 * partition so that a rerun samples the same keys. Payload: the partition's
 * record count, then the sampled keys as a block of unkeyed records. */
static int sink_sample_keys(flow_task_t *t, const flow__sinkspec_t *s, flow_iter_t *in,
                            flow__wbuf_t *out, uint64_t *nrec)
{
    size_t n = (size_t)s->n;
    flow__wbuf_t *keys = flow__calloc(n ? n : 1, sizeof *keys);
    sampler_t sp = {t, n, 0, keys, 0x9E3779B97F4A7C15ull * ((uint64_t)t->partition + 1), nrec};
    flow_rec_t r;
    /* A map_partitions or flat_map below hands its records straight over. */
    int rc = flow__iter_push(in, sample_one, &sp);
    while (rc == 0 && (rc = flow_iter_next(in, &r)) == 1)
        rc = sample_one(&sp, &r);
    if (rc == 0 || rc == 1) {
        rc = 0;
        size_t have = sp.have;
        flow__wbuf_u64(out, *nrec);
        for (size_t i = 0; i < have; i++) {
            flow_rec_t k = flow_rec(keys[i].data ? (void *)keys[i].data : (void *)"",
                                    keys[i].len);
            flow__block_append(out, &k);
        }
    }
    for (size_t i = 0; i < n; i++)
        flow__wbuf_free(&keys[i]);
    flow__free(keys);
    return rc;
}

/* ---- Dispatch ---------------------------------------------------------------------- */

static int sink_fold(flow_task_t *t, const flow__sinkspec_t *s, flow_iter_t *in,
                     flow__wbuf_t *out, uint64_t *nrec)
{
    flow_reduce_fn *fn = flow__fnref_resolve(&s->fn, t->err);
    if (!fn)
        return t->err->code ? t->err->code : FLOW_EPROTO;
    flow_buf_t arg = {s->arg, s->arg_len};
    flow__acc_t acc;
    flow__acc_init(&acc);
    if (s->kind != FLOW_SINK_REDUCE) {
        size_t pos = 0;
        flow_rec_t zero;
        if (flow__block_next(s->zero, s->zero_len, &pos, &zero) != 1)
            return flow__err_set(t->err, FLOW_EPROTO, "fold: malformed zero record");
        flow__acc_set(&acc, &zero);
    }
    flow__arena_t scratch;
    flow__arena_init(&scratch, 64 * 1024);
    uint32_t part = t->partition;
    flow_rec_t r;
    int rc;
    while ((rc = flow_iter_next(in, &r)) == 1) {
        (*nrec)++;
        t->scratch = &scratch;
        t->partition = part;
        t->dataset = 0;
        if ((rc = flow__acc_combine(t, fn, &arg, &acc, &r)) < 0)
            break;
        if (flow__task_cancelled(t)) {
            rc = FLOW_ECANCELED;
            break;
        }
    }
    if (rc == 0 && acc.has) {
        flow_rec_t a = flow__acc_rec(&acc);
        flow__block_append(out, &a);
    }
    flow__arena_free(&scratch);
    flow__acc_free(&acc);
    return rc;
}

static int sink_simple(flow_task_t *t, const flow__sinkspec_t *s, flow_iter_t *in,
                       flow__wbuf_t *out, uint64_t *nrec)
{
    flow_foreach_fn *fn = NULL;
    flow_buf_t arg = {s->arg, s->arg_len};
    if (s->kind == FLOW_SINK_FOREACH && !(fn = flow__fnref_resolve(&s->fn, t->err)))
        return t->err->code ? t->err->code : FLOW_EPROTO;
    uint32_t part = t->partition;
    flow_rec_t r;
    int rc = 0;
    while ((s->kind != FLOW_SINK_TAKE || *nrec < s->n) &&
           (rc = flow_iter_next(in, &r)) == 1) {
        (*nrec)++;
        if (s->kind == FLOW_SINK_COLLECT || s->kind == FLOW_SINK_TAKE) {
            flow__block_append(out, &r);
        } else if (fn) {
            t->partition = part;
            t->dataset = 0;
            int u = fn(t, &r, &arg);
            if (u != 0)
                return flow__udf_failed(t, "foreach", u);
        }
        if (flow__task_cancelled(t))
            return FLOW_ECANCELED;
    }
    if (rc < 0)
        return rc;
    if (s->kind == FLOW_SINK_COUNT)
        flow__wbuf_u64(out, *nrec);
    return 0;
}

int flow__sink_run(flow_task_t *t, const flow__sinkspec_t *s, flow_iter_t *in,
                   flow__wbuf_t *out, flow__metrics_t *m)
{
    uint64_t *records_out = &m->records_out;
    *records_out = 0;
    switch (s->kind) {
    case FLOW_SINK_COUNT:
    case FLOW_SINK_COLLECT:
    case FLOW_SINK_TAKE:
    case FLOW_SINK_FOREACH:
        return sink_simple(t, s, in, out, records_out);
    case FLOW_SINK_REDUCE:
    case FLOW_SINK_FOLD:
    case FLOW_SINK_AGGREGATE:
        return sink_fold(t, s, in, out, records_out);
    case FLOW_SINK_TOPK:
        return sink_topk(t, s, in, out, records_out);
    case FLOW_SINK_STATS:
        return sink_stats(t, in, out, records_out);
    case FLOW_SINK_SAVE:
        return sink_save(t, s, in, out, records_out);
    case FLOW_SINK_SHUFFLE: {
        int rc = flow__sink_shuffle(t, s, in, out, records_out);
        flow__rbuf_t r;
        flow__rbuf_init(&r, out->data, out->len);
        if (rc == FLOW_OK) {
            flow__rbuf_u64(&r);
            m->shuffle_write += flow__rbuf_u64(&r);
            m->spill_bytes += flow__rbuf_u64(&r);
        }
        return rc;
    }
    case FLOW_SINK_SAMPLE_KEYS:
        return sink_sample_keys(t, s, in, out, records_out);
    case FLOW_SINK_CHECKPOINT:
        return flow__sink_checkpoint(t, s, in, out, records_out);
    default:
        return flow__err_set(t->err, FLOW_EPROTO, "unknown sink kind %u", s->kind);
    }
}
