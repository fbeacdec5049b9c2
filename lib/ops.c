/* ops.c - narrow operators as pull iterators
 * Each node of a task's plan becomes an iterator whose next() returns one
 * record: 1 with *out set, 0 at the end, or a negative status with the task's
 * error set. A record returned by next() stays valid until the next call of
 * the same iterator, so map-like operators pass pointers through without
 * copying: their UDF's scratch arena is reset before each call, a flat_map's
 * output buffer when it has been read. Operators that need a whole partition
 * (map_partitions, glom) drain their input into a block first.
 *
 * Sampling: partition p draws from xoshiro256** whose state is four outputs
 * of splitmix64 started at seed ^ (0x9E3779B97F4A7C15 * (p + 1)); without
 * replacement a record is kept when the next uniform double in [0, 1) is
 * below the fraction, with replacement it is repeated k times, k drawn from
 * Poisson(fraction) by Knuth's product of uniforms, in steps of a mean of at
 * most 500 (exp(-mean) underflows past ~745; a sum of Poisson draws is
 * Poisson of the summed means). */
#include <math.h>
#include <string.h>

#include "mem.h"
#include "aggtable.h"
#include "shuffle.h"

struct flow_iter {
    int (*next)(flow_iter_t *it, flow_rec_t *out); /* The operator. */
    flow_task_t *t;                 /* Task context. */
    const flow__opnode_t *node;     /* Plan node. */
    flow_iter_t **children;         /* Inputs. */
    uint32_t nchildren;             /* Number of inputs. */
    uint32_t cur;                   /* CONCAT: input being read. */
    void *fn;                       /* Resolved UDF. */
    flow_buf_t arg;                 /* Its argument. */
    flow__arena_t scratch;          /* UDF scratch memory. */
    const flow__source_ops_t *src;  /* SOURCE: the source kind. */
    void *reader;                   /* SOURCE: its reader. */
    flow__wbuf_t buf;               /* Buffered output records (block). */
    size_t pos;                     /* Next buffered record. */
    int filled;                     /* map_partitions, glom: buffer is final. */
    uint64_t rng[4];                /* SAMPLE: generator state. */
    uint32_t repeat;                /* SAMPLE: copies of rec still to give. */
    flow_rec_t rec;                 /* SAMPLE: record being repeated. */
    int64_t index;                  /* ZIP_INDEX: index of the next record. */
    int64_t index_out;              /* ZIP_INDEX: value handed out. */
    uint64_t peak;                  /* Largest buffer capacity seen. */
    flow__shuf_reader_t *shuf;      /* SHUFFLE_READ: the reader. */
    flow_rec_t left;                /* CARTESIAN: the current record of child 0. */
    int has_left;                   /* CARTESIAN: left is set. */
    size_t rpos;                    /* CARTESIAN: next record of child 1 (in buf). */
    flow__wbuf_t side;              /* CARTESIAN: child 1's records (a block). */
    flow_rec_t *small;              /* BCAST_JOIN: the small side's records. */
    uint32_t *chain;                /* BCAST_JOIN: next record of the same key. */
    uint32_t *heads;                /* BCAST_JOIN: hash slot -> first record + 1. */
    uint64_t *hashes;               /* BCAST_JOIN: hash of each slot's key. */
    size_t nsmall, hcap;            /* BCAST_JOIN: records, slots. */
    flow__map_output_t *cached;     /* CACHED: the pinned block read (a hit). */
    flow__blockstore_t *cached_bs;  /* CACHED: its store. */
    flow__seg_reader_t seg;         /* CACHED: reading it. */
    int teeing;                     /* CACHED: a miss keeping what it computes. */
    flow__spill_writer_t *tee_w;    /* CACHED: ... on disk (else in buf). */
    uint64_t tee_held;              /* CACHED: budget reserved for buf (unrolling). */
    uint64_t tee_records;           /* CACHED: records in buf. */
};

int flow_iter_next(flow_iter_t *it, flow_rec_t *out) { return it->next(it, out); }

int flow_emit(flow_emit_t *out, const flow_rec_t *r)
{
    flow_rec_t rec = *r;
    if (out->key) {
        rec.key = out->key->key;
        rec.klen = out->key->klen;
    }
    if (rec.vlen > FLOW_REC_MAX || (rec.key && rec.klen > FLOW_REC_MAX))
        return FLOW_EINVAL;
    if (!out->buf)
        return out->consume(out->ud, &rec);
    flow__block_append(out->buf, &rec);
    return FLOW_OK;
}

int flow_emit_val(flow_emit_t *out, const void *val, size_t vlen)
{
    flow_rec_t r = flow_rec(val, vlen);
    return flow_emit(out, &r);
}

int flow_emit_kv(flow_emit_t *out, const void *key, size_t klen, const void *val,
                 size_t vlen)
{
    flow_rec_t r = flow_rec_kv(key, klen, val, vlen);
    return flow_emit(out, &r);
}

int flow__udf_failed(flow_task_t *t, const char *what, int rc)
{
    if (t->err->code == FLOW_OK)
        flow__err_set(t->err, FLOW_ETASK, "%s function returned %d without a message",
                      what, rc);
    if (!t->err->dataset)
        t->err->dataset = t->dataset;
    return t->err->code;
}

/* Make the task context point at this node's UDF before calling it. */
static inline void enter_udf(flow_iter_t *it)
{
    flow_task_t *t = it->t;
    t->partition = it->node->partition;
    t->dataset = it->node->dataset;
    t->scratch = &it->scratch;
}

static int fail_data(flow_iter_t *it, const char *fmt, const char *op)
{
    flow_task_t *t = it->t;
    flow__err_set(t->err, FLOW_EINVAL, fmt, op, it->node->partition);
    t->err->permanent = 1;
    t->err->dataset = it->node->dataset;
    return FLOW_EINVAL;
}

/* ---- Sources and plumbing -------------------------------------------------------- */

static int next_source(flow_iter_t *it, flow_rec_t *out)
{
    int rc = it->src->next(it->reader, out, it->t->err);
    if (rc < 0 && !it->t->err->dataset)
        it->t->err->dataset = it->node->dataset;
    return rc;
}

static int next_concat(flow_iter_t *it, flow_rec_t *out)
{
    while (it->cur < it->nchildren) {
        int rc = it->children[it->cur]->next(it->children[it->cur], out);
        if (rc != 0)
            return rc;
        it->cur++;
    }
    return 0;
}

/* Give the next record buffered in it->buf, or 0 when read out. */
static int next_buffered(flow_iter_t *it, flow_rec_t *out)
{
    int rc = flow__block_next(it->buf.data, it->buf.len, &it->pos, out);
    return rc < 0 ? flow__err_set(it->t->err, FLOW_EPROTO, "corrupt operator buffer") : rc;
}

static void buffer_reset(flow_iter_t *it)
{
    if (it->buf.cap > it->peak)
        it->peak = it->buf.cap;
    it->buf.len = 0;
    it->pos = 0;
}

/* ---- Record-at-a-time operators --------------------------------------------------- */

static int next_map(flow_iter_t *it, flow_rec_t *out)
{
    flow_rec_t in;
    int rc = it->children[0]->next(it->children[0], &in);
    if (rc <= 0)
        return rc;
    enter_udf(it);
    flow__arena_reset(&it->scratch);
    flow_rec_t res = in;
    rc = ((flow_map_fn *)it->fn)(it->t, &in, &res, &it->arg);
    if (rc != 0)
        return flow__udf_failed(it->t, flow__op_name(it->node->kind), rc);
    switch (it->node->kind) {
    case FLOW_OP_MAP_VALUES:
        *out = in;
        out->val = res.val;
        out->vlen = res.vlen;
        break;
    case FLOW_OP_KEY_BY:
        if (!res.key)
            return fail_data(it, "%s: the function set no key (partition %u)", "key_by");
        *out = in;
        out->key = res.key;
        out->klen = res.klen;
        break;
    default:
        *out = res;
    }
    return 1;
}

static int next_filter(flow_iter_t *it, flow_rec_t *out)
{
    int rc;
    while ((rc = it->children[0]->next(it->children[0], out)) == 1) {
        enter_udf(it);
        rc = ((flow_filter_fn *)it->fn)(it->t, out, &it->arg);
        if (rc > 0)
            return 1;
        if (rc < 0)
            return flow__udf_failed(it->t, "filter", rc);
        if (flow__task_cancelled(it->t))
            return FLOW_ECANCELED;
    }
    return rc;
}

static int next_flat_map(flow_iter_t *it, flow_rec_t *out)
{
    for (;;) {
        int rc = next_buffered(it, out);
        if (rc != 0)
            return rc;
        buffer_reset(it);
        flow_rec_t in;
        if ((rc = it->children[0]->next(it->children[0], &in)) <= 0)
            return rc;
        enter_udf(it);
        flow__arena_reset(&it->scratch);
        flow_emit_t em = {&it->buf, it->node->kind == FLOW_OP_FLAT_MAP_VALUES ? &in : NULL,
                          NULL, NULL};
        rc = ((flow_flat_map_fn *)it->fn)(it->t, &in, &em, &it->arg);
        if (rc != 0)
            return flow__udf_failed(it->t, flow__op_name(it->node->kind), rc);
        if (flow__task_cancelled(it->t))
            return FLOW_ECANCELED;
    }
}

static int next_map_partitions(flow_iter_t *it, flow_rec_t *out);
static int next_shuffle(flow_iter_t *it, flow_rec_t *out);

int flow__iter_push(flow_iter_t *it, flow__consume_fn *consume, void *ud)
{
    if (it->next == next_map_partitions && !it->filled) {
        it->filled = 1;
        enter_udf(it);
        flow_emit_t em = {NULL, NULL, consume, ud};
        int rc = ((flow_partition_fn *)it->fn)(it->t, it->children[0], &em, &it->arg);
        if (rc != 0 || it->t->err->code != FLOW_OK)
            return flow__udf_failed(it->t, "map_partitions", rc ? rc : -1);
        return 1;
    }
    if (it->next == next_shuffle)
        return flow__shuf_reader_push(it->shuf, consume, ud);
    if (it->next != next_flat_map)
        return 0;
    flow_rec_t in;
    int rc;
    uint32_t part = it->t->partition;
    while ((rc = it->children[0]->next(it->children[0], &in)) == 1) {
        enter_udf(it);
        flow__arena_reset(&it->scratch);
        flow_emit_t em = {NULL, it->node->kind == FLOW_OP_FLAT_MAP_VALUES ? &in : NULL,
                          consume, ud};
        rc = ((flow_flat_map_fn *)it->fn)(it->t, &in, &em, &it->arg);
        it->t->partition = part;
        if (rc != 0)
            return it->t->err->code ? it->t->err->code
                                    : flow__udf_failed(it->t, flow__op_name(it->node->kind), rc);
        if (flow__task_cancelled(it->t))
            return FLOW_ECANCELED;
    }
    return rc < 0 ? rc : 1;
}

static int next_keys_values(flow_iter_t *it, flow_rec_t *out)
{
    flow_rec_t in;
    int rc = it->children[0]->next(it->children[0], &in);
    if (rc <= 0)
        return rc;
    if (it->node->kind == FLOW_OP_VALUES) {
        *out = flow_rec(in.val, in.vlen);
        return 1;
    }
    if (!in.key)
        return fail_data(it, "%s: a record has no key (partition %u)", "keys");
    *out = flow_rec(in.key, in.klen);
    return 1;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro_next(uint64_t *s)
{
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static double uniform(uint64_t *s) { return (double)(xoshiro_next(s) >> 11) * 0x1.0p-53; }

static uint32_t poisson_knuth(uint64_t *s, double lambda)
{
    double limit = exp(-lambda), p = 1.0;
    uint32_t k = 0;
    do {
        k++;
        p *= uniform(s);
    } while (p > limit && k < 100000);
    return k - 1;
}

static uint32_t poisson(uint64_t *s, double lambda)
{
    uint32_t k = 0;
    for (; lambda > 500; lambda -= 500)
        k += poisson_knuth(s, 500);
    return k + poisson_knuth(s, lambda);
}

static int next_sample(flow_iter_t *it, flow_rec_t *out)
{
    if (it->repeat > 0) {
        it->repeat--;
        *out = it->rec;
        return 1;
    }
    int rc;
    while ((rc = it->children[0]->next(it->children[0], out)) == 1) {
        if (!it->node->with_replacement) {
            if (uniform(it->rng) < it->node->fraction)
                return 1;
        } else {
            uint32_t k = poisson(it->rng, it->node->fraction);
            if (k > 0) {
                it->repeat = k - 1;
                it->rec = *out;
                return 1;
            }
        }
        if (flow__task_cancelled(it->t))
            return FLOW_ECANCELED;
    }
    return rc;
}

static int next_zip_index(flow_iter_t *it, flow_rec_t *out)
{
    flow_rec_t in;
    int rc = it->children[0]->next(it->children[0], &in);
    if (rc <= 0)
        return rc;
    it->index_out = it->index++;
    *out = flow_rec_kv(in.val, in.vlen, &it->index_out, 8);
    return 1;
}

/* ---- Whole-partition operators ------------------------------------------------- */

static int next_map_partitions(flow_iter_t *it, flow_rec_t *out)
{
    if (!it->filled) {
        it->filled = 1;
        enter_udf(it);
        flow_emit_t em = {&it->buf, NULL, NULL, NULL};
        int rc = ((flow_partition_fn *)it->fn)(it->t, it->children[0], &em, &it->arg);
        if (rc != 0 || it->t->err->code != FLOW_OK)
            return flow__udf_failed(it->t, "map_partitions", rc ? rc : -1);
    }
    return next_buffered(it, out);
}

static int next_glom(flow_iter_t *it, flow_rec_t *out)
{
    if (it->filled)
        return 0;
    it->filled = 1;
    flow_rec_t in;
    int rc;
    while ((rc = it->children[0]->next(it->children[0], &in)) == 1) {
        flow__block_append(&it->buf, &in);
        if (flow__task_cancelled(it->t))
            return FLOW_ECANCELED;
    }
    if (rc < 0)
        return rc;
    if (it->buf.len > FLOW_REC_MAX)
        return fail_data(it, "%s: partition %u is larger than 4 GiB", "glom");
    *out = flow_rec(it->buf.data, it->buf.len);
    return 1;
}

/* ---- Shuffle reads, cartesian products, broadcast joins ---------------------------- */

static int next_shuffle(flow_iter_t *it, flow_rec_t *out)
{
    return flow__shuf_reader_next(it->shuf, out);
}

/* Pair value of a and b in scratch memory (reset per output record). */
static int pair_out(flow_iter_t *it, const void *key, size_t klen, const flow_rec_t *a,
                    const flow_rec_t *b, flow_rec_t *out)
{
    size_t n = flow_pair_size(a->vlen, b->vlen);
    void *p = flow__arena_alloc(&it->scratch, n);
    flow_pair_encode(p, a->val, a->vlen, b->val, b->vlen);
    *out = key ? flow_rec_kv(key, klen, p, n) : flow_rec(p, n);
    return 1;
}

static int next_cartesian(flow_iter_t *it, flow_rec_t *out)
{
    int rc;
    if (!it->filled) {
        it->filled = 1;
        flow_rec_t r;
        while ((rc = it->children[1]->next(it->children[1], &r)) == 1)
            flow__block_append(&it->side, &r);
        if (rc < 0)
            return rc;
    }
    flow__arena_reset(&it->scratch);
    for (;;) {
        if (it->has_left) {
            flow_rec_t b;
            if ((rc = flow__block_next(it->side.data, it->side.len, &it->rpos, &b)) == 1)
                return pair_out(it, NULL, 0, &it->left, &b, out);
        }
        if ((rc = it->children[0]->next(it->children[0], &it->left)) <= 0)
            return rc;
        it->has_left = 1;
        it->rpos = 0;
        if (flow__task_cancelled(it->t))
            return FLOW_ECANCELED;
    }
}

/* Index the small side of a broadcast join: chained hashing over its records. */
static int bcast_build(flow_iter_t *it)
{
    int64_t n = flow__block_count(it->arg.data, it->arg.len);
    if (n < 0)
        return flow__err_set(it->t->err, FLOW_EPROTO, "broadcast join: malformed side");
    it->nsmall = (size_t)n;
    it->small = flow__malloc(sizeof *it->small * (it->nsmall + 1));
    it->chain = flow__malloc(sizeof *it->chain * (it->nsmall + 1));
    for (it->hcap = 16; it->hcap < it->nsmall * 2; it->hcap *= 2)
        ;
    it->heads = flow__calloc(it->hcap, sizeof *it->heads);
    it->hashes = flow__calloc(it->hcap, sizeof *it->hashes);
    size_t pos = 0;
    for (size_t i = 0; i < it->nsmall; i++) {
        flow_rec_t *r = &it->small[i];
        flow__block_next(it->arg.data, it->arg.len, &pos, r);
        if (!r->key)
            return fail_data(it, "%s: a record without a key in the small side (%u)",
                             "broadcast_join");
        uint64_t h = flow__agg_hash(r->key, r->klen);
        size_t j = h & (it->hcap - 1);
        /* Probe for this key's slot (same hash and key) or an empty one. */
        while (it->heads[j]) {
            flow_rec_t *o = &it->small[it->heads[j] - 1];
            if (it->hashes[j] == h && o->klen == r->klen && !memcmp(o->key, r->key, r->klen))
                break;
            j = (j + 1) & (it->hcap - 1);
        }
        it->chain[i] = it->heads[j];
        it->heads[j] = (uint32_t)i + 1;
        it->hashes[j] = h;
    }
    return FLOW_OK;
}

static int next_bcast_join(flow_iter_t *it, flow_rec_t *out)
{
    if (!it->filled) {
        it->filled = 1;
        int rc = bcast_build(it);
        if (rc < 0)
            return rc;
    }
    for (;;) {
        int rc = next_buffered(it, out);
        if (rc != 0)
            return rc;
        buffer_reset(it);
        flow_rec_t in;
        if ((rc = it->children[0]->next(it->children[0], &in)) <= 0)
            return rc;
        if (!in.key)
            return fail_data(it, "%s: a record without a key (partition %u)",
                             "broadcast_join");
        uint64_t h = flow__agg_hash(in.key, in.klen);
        size_t j = h & (it->hcap - 1);
        for (; it->heads[j]; j = (j + 1) & (it->hcap - 1)) {
            flow_rec_t *o = &it->small[it->heads[j] - 1];
            if (it->hashes[j] != h || o->klen != in.klen || memcmp(o->key, in.key, in.klen))
                continue;
            for (uint32_t k = it->heads[j]; k; k = it->chain[k - 1]) {
                flow_rec_t pr;
                flow__arena_reset(&it->scratch);
                pair_out(it, in.key, in.klen, &in, &it->small[k - 1], &pr);
                flow__block_append(&it->buf, &pr);
            }
            break;
        }
        if (flow__task_cancelled(it->t))
            return FLOW_ECANCELED;
    }
}

/* ---- Persisted partitions ---------------------------------------------------------
 * A CACHED node reads its partition from the block store of this executor or
 * of one in the same process. On a miss it computes child 0 and passes its
 * records on while keeping a copy (in a block, or in a spill file for
 * disk-only); when the child is read to its end the copy goes to this
 * executor's store. A partition read only in part (take) is not stored.
 * A block found corrupt when opened is dropped and recomputed at once; one
 * found corrupt further on (its checksums are checked piece by piece as it
 * is read, or chunk by chunk on disk) is dropped and fails the task, whose
 * retry recomputes it. */

static int next_cached_hit(flow_iter_t *it, flow_rec_t *out)
{
    int rc = flow__seg_next(&it->seg, out, it->t->err);
    if (rc == FLOW_EPROTO)
        /* Corrupt past what was read (checksums are checked as the block is
         * read): the task fails, and its retry recomputes the partition. */
        flow__bs_forget(it->cached_bs, it->cached);
    return rc;
}

static void tee_unreserve(flow_iter_t *it)
{
    if (it->tee_held)
        flow__bs_exec_release(it->t->env->store, it->tee_held);
    it->tee_held = 0;
}

static void tee_abandon(flow_iter_t *it)
{
    tee_unreserve(it);
    if (it->tee_w)
        flow__spill_abort(it->tee_w);
    it->tee_w = NULL;
    it->teeing = 0;
    buffer_reset(it);
}

/* Move the block kept so far into a spill file (memory-and-disk partitions
 * too large for memory) and go on there. */
static int tee_to_disk(flow_iter_t *it)
{
    flow_task_t *t = it->t;
    int rc = flow__spill_create(t->env->local_dir, &it->tee_w, t->err);
    if (rc == FLOW_OK)
        rc = flow__spill_segment(it->tee_w, 0, t->err);
    size_t pos = 0;
    flow_rec_t r;
    while (rc == FLOW_OK && flow__block_next(it->buf.data, it->buf.len, &pos, &r) == 1)
        rc = flow__spill_put(it->tee_w, &r, t->err);
    buffer_reset(it);
    flow__wbuf_free(&it->buf);
    tee_unreserve(it);
    return rc;
}

static int tee_keep(flow_iter_t *it, const flow_rec_t *r)
{
    if (it->tee_w)
        return flow__spill_put(it->tee_w, r, it->t->err);
    flow__block_append(&it->buf, r);
    it->tee_records++;
    /* The block being built counts against the budget as it grows; when the
     * budget cannot hold it (even after evicting other datasets' blocks), or
     * it passes half the budget, it could never stay in memory. */
    flow__blockstore_t *bs = it->t->env->store;
    if (it->buf.len <= it->tee_held)
        return FLOW_OK;
    /* Reserve what is written, a MiB ahead: the buffer's capacity doubles,
     * but the pages past what is written are not touched, and the block is
     * trimmed to its length when stored. */
    uint64_t more = it->buf.len - it->tee_held + (1u << 20);
    if (it->buf.len <= bs->mem_limit / 2 && flow__bs_unroll(bs, more, it->node->dataset)) {
        it->tee_held += more;
        return FLOW_OK;
    }
    if (it->node->level != FLOW_LEVEL_MEMORY_DISK) {
        tee_abandon(it);
        return FLOW_OK;
    }
    return tee_to_disk(it);
}

/* The child is read out: hand the copy to the store. */
static int tee_store(flow_iter_t *it)
{
    flow_task_t *t = it->t;
    flow__map_output_t *mo = flow__mo_new(it->node->dataset, it->node->partition, 1);
    mo->level = it->node->level;
    int rc = FLOW_OK, stored;
    it->teeing = 0;
    if (it->tee_w) {
        rc = flow__spill_finish(it->tee_w, &mo->file, t->err);
        it->tee_w = NULL;
        mo->on_disk = rc == FLOW_OK;
    } else {
        mo->segs[0] = it->buf;
        mo->records = it->tee_records;
        flow__wbuf_init(&it->buf);
        it->pos = 0;
        tee_unreserve(it); /* The store counts the block from here. */
    }
    if (rc < 0) {
        flow__mo_free(mo);
        return rc;
    }
    return flow__bs_cache_put(t->env->store, mo, &stored, t->err);
}

static int next_cached_miss(flow_iter_t *it, flow_rec_t *out)
{
    int rc = it->children[0]->next(it->children[0], out);
    if (!it->teeing)
        return rc;
    if (rc == 1) {
        int krc = tee_keep(it, out);
        return krc < 0 ? krc : 1;
    }
    if (rc == 0 && (rc = tee_store(it)) == FLOW_OK)
        return 0;
    return rc;
}

/* Pin the partition in a store of the group (this executor's first). A block
 * that fails its checksum is dropped and recomputed. */
static int cached_find(flow_iter_t *it)
{
    flow_task_t *t = it->t;
    flow__exec_env_t *env = t->env;
    int n = env->group ? env->group->n : 0;
    for (int i = -1; i < n; i++) {
        flow__blockstore_t *bs = i < 0 ? env->store : env->group->stores[i];
        if (!bs || (i >= 0 && bs == env->store))
            continue;
        flow__map_output_t *mo =
            flow__bs_cache_get(bs, it->node->dataset, it->node->partition);
        if (!mo)
            continue;
        flow__err_t err;
        flow__err_clear(&err);
        if (flow__seg_open(&it->seg, mo, 0, &err) == FLOW_OK) {
            it->cached = mo;
            it->cached_bs = bs;
            return 1;
        }
        flow__seg_close(&it->seg);
        flow__bs_forget(bs, mo);
        flow__bs_release(bs, mo);
    }
    return 0;
}

static int open_cached(flow_iter_t *it, flow__arena_t *arena)
{
    flow_task_t *t = it->t;
    const flow__opnode_t *node = it->node;
    if (cached_find(it)) {
        t->cache_hits++;
        it->next = next_cached_hit;
        return FLOW_OK;
    }
    if (node->nchildren == 0) {
        flow__err_set(t->err, FLOW_ENOENT,
                      "partition %u of locally checkpointed dataset %u was lost (no block "
                      "store holds it); checkpoint() keeps partitions on disk instead",
                      node->partition, node->dataset);
        t->err->permanent = 1;
        t->err->dataset = node->dataset;
        return FLOW_ENOENT;
    }
    t->cache_misses++;
    it->next = next_cached_miss;
    it->children[0] = NULL;
    it->nchildren = 1;
    int rc = flow__iter_build(t, arena, node->children[0], &it->children[0]);
    if (rc < 0)
        return rc;
    it->teeing = 1;
    if (node->level == FLOW_LEVEL_DISK) {
        rc = flow__spill_create(t->env->local_dir, &it->tee_w, t->err);
        if (rc == FLOW_OK)
            rc = flow__spill_segment(it->tee_w, 0, t->err);
    }
    return rc;
}

/* ---- Building and closing ------------------------------------------------------- */

static int (*const op_next[FLOW_OP_MAX])(flow_iter_t *, flow_rec_t *) = {
    [FLOW_OP_SOURCE] = next_source,
    [FLOW_OP_MAP] = next_map,
    [FLOW_OP_FLAT_MAP] = next_flat_map,
    [FLOW_OP_FILTER] = next_filter,
    [FLOW_OP_MAP_PARTITIONS] = next_map_partitions,
    [FLOW_OP_MAP_VALUES] = next_map,
    [FLOW_OP_FLAT_MAP_VALUES] = next_flat_map,
    [FLOW_OP_KEY_BY] = next_map,
    [FLOW_OP_KEYS] = next_keys_values,
    [FLOW_OP_VALUES] = next_keys_values,
    [FLOW_OP_SAMPLE] = next_sample,
    [FLOW_OP_ZIP_INDEX] = next_zip_index,
    [FLOW_OP_GLOM] = next_glom,
    [FLOW_OP_CONCAT] = next_concat,
    [FLOW_OP_SHUFFLE_READ] = next_shuffle,
    [FLOW_OP_CARTESIAN] = next_cartesian,
    [FLOW_OP_BCAST_JOIN] = next_bcast_join,
    [FLOW_OP_CACHED] = next_cached_miss,
};

static int open_source(flow_iter_t *it)
{
    flow_task_t *t = it->t;
    it->src = flow__source_ops(it->node->src_kind);
    if (!it->src)
        return flow__err_set(t->err, FLOW_EPROTO, "unknown source kind %u",
                             it->node->src_kind);
    int rc = it->src->open(it->node->split, it->node->split_len, t->err, &it->reader);
    if (rc < 0)
        t->err->dataset = it->node->dataset;
    return rc;
}

int flow__iter_build(flow_task_t *t, flow__arena_t *arena, const flow__opnode_t *node,
                     flow_iter_t **out)
{
    flow_iter_t *it = flow__arena_alloc(arena, sizeof *it);
    memset(it, 0, sizeof *it);
    *out = it;
    it->t = t;
    it->node = node;
    it->next = op_next[node->kind];
    flow__arena_init(&it->scratch, 64 * 1024);
    flow__wbuf_init(&it->buf);
    it->children = flow__arena_alloc(arena, sizeof *it->children * (node->nchildren + 1));
    if (node->kind == FLOW_OP_CACHED)
        return open_cached(it, arena); /* Its child is built only on a miss. */
    for (uint32_t i = 0; i < node->nchildren; i++) {
        it->children[i] = NULL;
        it->nchildren = i + 1;
        int rc = flow__iter_build(t, arena, node->children[i], &it->children[i]);
        if (rc < 0)
            return rc;
    }
    flow__wbuf_init(&it->side);
    if (node->kind == FLOW_OP_SOURCE)
        return open_source(it);
    if (node->kind == FLOW_OP_SHUFFLE_READ) {
        int rc = flow__shuf_reader_open(t, node, it->children, &it->shuf);
        if (rc < 0 && !t->err->dataset)
            t->err->dataset = node->dataset;
        return rc;
    }
    if (node->kind == FLOW_OP_BCAST_JOIN) {
        it->arg.data = node->arg;
        it->arg.len = node->arg_len;
    }
    if (node->fn.idlen) {
        if (!(it->fn = flow__fnref_resolve(&node->fn, t->err))) {
            t->err->dataset = node->dataset;
            return t->err->code;
        }
        it->arg.data = node->arg;
        it->arg.len = node->arg_len;
    } else if (op_next[node->kind] == next_map || op_next[node->kind] == next_flat_map ||
               op_next[node->kind] == next_filter || node->kind == FLOW_OP_MAP_PARTITIONS) {
        return flow__err_set(t->err, FLOW_EPROTO, "%s without a function",
                             flow__op_name(node->kind));
    }
    if (node->kind == FLOW_OP_SAMPLE) {
        uint64_t s = node->seed ^ (0x9E3779B97F4A7C15ull * ((uint64_t)node->partition + 1));
        for (int i = 0; i < 4; i++)
            it->rng[i] = splitmix64(&s);
    }
    it->index = (int64_t)node->start_index;
    return FLOW_OK;
}

void flow__iter_close(flow_iter_t *it, flow__metrics_t *m)
{
    if (!it)
        return;
    for (uint32_t i = 0; i < it->nchildren; i++)
        flow__iter_close(it->children[i], m);
    if (it->reader) {
        flow__src_metrics_t sm = {0, 0};
        it->src->metrics(it->reader, &sm);
        if (m) {
            m->records_in += sm.records;
            m->bytes_in += sm.bytes;
        }
        it->src->close(it->reader);
        it->reader = NULL;
    }
    if (it->shuf)
        flow__shuf_reader_close(it->shuf, m);
    it->shuf = NULL;
    if (it->cached) {
        flow__seg_close(&it->seg);
        flow__bs_release(it->cached_bs, it->cached);
        it->cached = NULL;
    }
    if (it->teeing)
        tee_abandon(it);
    buffer_reset(it);
    flow__wbuf_free(&it->buf);
    flow__wbuf_free(&it->side);
    flow__arena_free(&it->scratch);
    flow__free(it->small);
    flow__free(it->chain);
    flow__free(it->heads);
    flow__free(it->hashes);
    it->small = NULL;
    it->chain = it->heads = NULL;
    it->hashes = NULL;
}

uint64_t flow__iter_peak(const flow_iter_t *it)
{
    if (!it)
        return 0;
    uint64_t n = (it->peak > it->buf.cap ? it->peak : it->buf.cap) + it->scratch.peak;
    for (uint32_t i = 0; i < it->nchildren; i++)
        n += flow__iter_peak(it->children[i]);
    return n;
}
