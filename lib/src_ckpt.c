/* src_ckpt.c - checkpoint files: the sink that writes them and the source
 * that reads them back
 * A checkpointed dataset's partition p is the file DIR/part-NNNNN, a spill
 * file (LZ4 chunks with block and content checksums, then a trailer that
 * counts records and bytes). A task writes it under a name of its own and
 * renames it into place, so that a failed or repeated attempt never leaves
 * a torn file; the sink's payload gives the driver the file's records, raw
 * bytes and size, which the source's split carries, so that a file that was
 * changed or truncated afterwards is refused when read.
 *
 *   split := records: u64 | raw bytes: u64 | file bytes: u64 | path: str */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "mem.h"
#include "runner.h"
#include "source.h"

int flow__sink_checkpoint(flow_task_t *t, const flow__sinkspec_t *s, flow_iter_t *in,
                          flow__wbuf_t *out, uint64_t *nrec)
{
    flow__spill_writer_t *w;
    int rc = flow__spill_create(s->path, &w, t->err);
    flow_rec_t r;
    while (rc == FLOW_OK && (rc = flow_iter_next(in, &r)) == 1) {
        (*nrec)++;
        rc = flow__spill_put(w, &r, t->err);
        if (rc == FLOW_OK && flow__task_cancelled(t))
            rc = FLOW_ECANCELED;
    }
    if (rc < 0) {
        if (w)
            flow__spill_abort(w);
        return rc;
    }
    flow__spill_file_t f;
    if ((rc = flow__spill_finish(w, &f, t->err)) < 0)
        return rc;
    char part[32];
    flow__part_name(part, sizeof part, t->partition);
    char *path = flow__asprintf("%s/%s", s->path, part);
    if (rename(f.path, path) < 0) {
        rc = flow__err_set(t->err, FLOW_EIO, "checkpoint: renaming %s to %s: %s", f.path,
                           path, strerror(errno));
        flow__spill_remove(&f);
    } else {
        flow__wbuf_u64(out, f.records);
        flow__wbuf_u64(out, f.raw_bytes);
        flow__wbuf_u64(out, f.file_bytes);
        flow__wbuf_str(out, path);
        flow__free(f.path); /* The file stays: it is the checkpoint. */
        flow__free(f.seg_off);
        flow__free(f.seg_id);
    }
    flow__free(path);
    return rc;
}

typedef struct ckpt_reader {
    flow__spill_file_t file;    /* The partition's file. */
    flow__spill_reader_t *rd;   /* Reading it. */
    uint64_t records;           /* Records returned. */
} ckpt_reader_t;

static void ckpt_close(void *reader)
{
    ckpt_reader_t *c = reader;
    if (!c)
        return;
    if (c->rd)
        flow__spill_close(c->rd);
    flow__free(c->file.path);
    flow__free(c);
}

static int ckpt_open(const void *split, size_t len, flow__err_t *err, void **out)
{
    ckpt_reader_t *c = flow__calloc(1, sizeof *c);
    *out = c;
    flow__rbuf_t r;
    flow__rbuf_init(&r, split, len);
    c->file.records = flow__rbuf_u64(&r);
    c->file.raw_bytes = flow__rbuf_u64(&r);
    c->file.file_bytes = flow__rbuf_u64(&r);
    size_t n;
    const void *p = flow__rbuf_bytes(&r, &n);
    if (!flow__rbuf_ok(&r) || !p)
        return flow__err_set(err, FLOW_EPROTO, "malformed checkpoint split");
    c->file.path = flow__strndup(p, n);
    return flow__spill_open(&c->file, -1, &c->rd, err);
}

static int ckpt_next(void *reader, flow_rec_t *out, flow__err_t *err)
{
    ckpt_reader_t *c = reader;
    int rc = flow__spill_next(c->rd, out, err);
    c->records += rc == 1;
    return rc;
}

static void ckpt_metrics(void *reader, flow__src_metrics_t *m)
{
    ckpt_reader_t *c = reader;
    m->records += c->records;
}

const flow__source_ops_t flow__src_ckpt_ops = {
    FLOW_SRC_CHECKPOINT, "checkpoint", ckpt_open, ckpt_next, ckpt_close, ckpt_metrics,
};
