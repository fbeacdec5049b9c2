/* src_block.c - in-memory sources: parallelize (records in block layout,
 * carried in the split) and range (an arithmetic run of int64 values), and
 * the table of source kinds (see source.h).
 *   block split: the records in block layout (8-aligned in the task bytes).
 *   range split: | first: i64 | count: u64 | step: i64 | */
#include <string.h>

#include "mem.h"
#include "rec.h"
#include "source.h"

void flow__splits_free(flow__split_t *s, int n)
{
    if (!s)
        return;
    for (int i = 0; i < n; i++) {
        flow__free(s[i].data);
        for (int j = 0; j < s[i].nlocations; j++)
            flow__free(s[i].locations[j]);
        flow__free(s[i].locations);
    }
    flow__free(s);
}

const flow__source_ops_t *flow__source_ops(uint8_t kind)
{
    switch (kind) {
    case FLOW_SRC_BLOCK: return &flow__src_block_ops;
    case FLOW_SRC_RANGE: return &flow__src_range_ops;
    case FLOW_SRC_TEXT: return &flow__src_text_ops;
    case FLOW_SRC_TEXT_CHUNKS: return &flow__src_text_chunk_ops;
    case FLOW_SRC_CHECKPOINT: return &flow__src_ckpt_ops;
    default: return NULL;
    }
}

/* ---- parallelize ------------------------------------------------------------ */

int flow__block_plan(const flow_rec_t *recs, size_t n, int nparts, flow__err_t *err,
                     flow__split_t **out, int *out_n)
{
    if (nparts < 1)
        return flow__err_set(err, FLOW_EINVAL, "parallelize: %d partitions", nparts);
    flow__split_t *s = flow__calloc((size_t)nparts, sizeof *s);
    for (int p = 0; p < nparts; p++) {
        size_t lo = n * (size_t)p / (size_t)nparts, hi = n * (size_t)(p + 1) / (size_t)nparts;
        flow__wbuf_t b;
        flow__wbuf_init(&b);
        for (size_t i = lo; i < hi; i++) {
            if (recs[i].vlen > FLOW_REC_MAX || (recs[i].key && recs[i].klen > FLOW_REC_MAX)) {
                flow__wbuf_free(&b);
                flow__splits_free(s, nparts);
                return flow__err_set(err, FLOW_EINVAL,
                                     "parallelize: record %zu is larger than 4 GiB", i);
            }
            flow__block_append(&b, &recs[i]);
        }
        if (b.len > UINT32_MAX) {
            flow__wbuf_free(&b);
            flow__splits_free(s, nparts);
            return flow__err_set(err, FLOW_EINVAL,
                                 "parallelize: partition %d holds more than 4 GiB; "
                                 "ask for more partitions", p);
        }
        s[p].bytes = b.len;
        s[p].data = flow__wbuf_take(&b, &s[p].len);
    }
    *out = s;
    *out_n = nparts;
    return FLOW_OK;
}

typedef struct block_reader {
    const uint8_t *data;  /* The block (in the task bytes). */
    size_t len;           /* Its length. */
    size_t pos;           /* Next record. */
    uint64_t records;     /* Records returned. */
} block_reader_t;

static int block_open(const void *split, size_t len, flow__err_t *err, void **out)
{
    if ((uintptr_t)split & 7)
        return flow__err_set(err, FLOW_EPROTO, "parallelize split is not 8-aligned");
    block_reader_t *r = flow__calloc(1, sizeof *r);
    r->data = split;
    r->len = len;
    *out = r;
    return FLOW_OK;
}

static int block_next(void *reader, flow_rec_t *out, flow__err_t *err)
{
    block_reader_t *r = reader;
    int rc = flow__block_next(r->data, r->len, &r->pos, out);
    if (rc < 0)
        return flow__err_set(err, FLOW_EPROTO, "parallelize split: malformed block at %zu",
                             r->pos);
    r->records += (uint64_t)rc;
    return rc;
}

static void block_metrics(void *reader, flow__src_metrics_t *m)
{
    block_reader_t *r = reader;
    m->records += r->records;
    m->bytes += r->pos;
}

static void reader_close(void *reader) { flow__free(reader); }

const flow__source_ops_t flow__src_block_ops = {
    FLOW_SRC_BLOCK, "parallelize", block_open, block_next, reader_close, block_metrics,
};

/* ---- range ------------------------------------------------------------------- */

int flow__range_plan(int64_t start, int64_t end, int64_t step, int nparts, flow__err_t *err,
                     flow__split_t **out, int *out_n)
{
    if (step == 0)
        return flow__err_set(err, FLOW_EINVAL, "range: step is 0");
    if (nparts < 1)
        return flow__err_set(err, FLOW_EINVAL, "range: %d partitions", nparts);
    /* Count in unsigned 128-bit arithmetic so that extreme bounds cannot overflow. */
    unsigned __int128 span = 0;
    if (step > 0 && end > start)
        span = (unsigned __int128)((__int128)end - start);
    else if (step < 0 && end < start)
        span = (unsigned __int128)((__int128)start - end);
    unsigned __int128 ustep = step > 0 ? (unsigned __int128)step
                                       : (unsigned __int128)(-(__int128)step);
    uint64_t count = (uint64_t)((span + ustep - 1) / ustep);
    flow__split_t *s = flow__calloc((size_t)nparts, sizeof *s);
    for (int p = 0; p < nparts; p++) {
        uint64_t lo = (uint64_t)((unsigned __int128)count * (unsigned)p / (unsigned)nparts);
        uint64_t hi =
            (uint64_t)((unsigned __int128)count * (unsigned)(p + 1) / (unsigned)nparts);
        flow__wbuf_t b;
        flow__wbuf_init(&b);
        flow__wbuf_u64(&b, (uint64_t)((__int128)start + (__int128)lo * step));
        flow__wbuf_u64(&b, hi - lo);
        flow__wbuf_u64(&b, (uint64_t)step);
        s[p].bytes = (hi - lo) * 8;
        s[p].data = flow__wbuf_take(&b, &s[p].len);
    }
    *out = s;
    *out_n = nparts;
    return FLOW_OK;
}

typedef struct range_reader {
    int64_t next;      /* Next value. */
    uint64_t left;     /* Values left. */
    int64_t step;      /* Increment. */
    uint64_t records;  /* Values returned. */
    int64_t cur;       /* The value handed out (8-aligned storage). */
} range_reader_t;

static int range_open(const void *split, size_t len, flow__err_t *err, void **out)
{
    flow__rbuf_t rb;
    flow__rbuf_init(&rb, split, len);
    range_reader_t *r = flow__calloc(1, sizeof *r);
    r->next = (int64_t)flow__rbuf_u64(&rb);
    r->left = flow__rbuf_u64(&rb);
    r->step = (int64_t)flow__rbuf_u64(&rb);
    if (!flow__rbuf_ok(&rb) || flow__rbuf_left(&rb) != 0) {
        flow__free(r);
        return flow__err_set(err, FLOW_EPROTO, "range split: malformed");
    }
    *out = r;
    return FLOW_OK;
}

static int range_next(void *reader, flow_rec_t *out, flow__err_t *err)
{
    range_reader_t *r = reader;
    if (r->left == 0)
        return 0;
    r->cur = r->next;
    r->left--;
    if (r->left)
        r->next = (int64_t)((uint64_t)r->next + (uint64_t)r->step);
    r->records++;
    *out = flow_rec(&r->cur, 8);
    return 1;
}

static void range_metrics(void *reader, flow__src_metrics_t *m)
{
    range_reader_t *r = reader;
    m->records += r->records;
    m->bytes += r->records * 8;
}

const flow__source_ops_t flow__src_range_ops = {
    FLOW_SRC_RANGE, "range", range_open, range_next, reader_close, range_metrics,
};
