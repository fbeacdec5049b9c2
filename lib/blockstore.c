/* blockstore.c - an executor's shuffle outputs, in memory or on disk (see blockstore.h) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "blockstore.h"
#include "mem.h"

flow__blockstore_t *flow__bs_new(const char *dir, uint64_t mem_limit, int compress)
{
    flow__blockstore_t *bs = flow__calloc(1, sizeof *bs);
    pthread_mutex_init(&bs->mu, NULL);
    bs->mem_limit = mem_limit;
    bs->compress = compress;
    snprintf(bs->dir, sizeof bs->dir, "%s", dir && *dir ? dir : "/tmp");
    return bs;
}

void flow__bs_free(flow__blockstore_t *bs)
{
    if (!bs)
        return;
    flow__bs_drop(bs, 0);
    pthread_mutex_destroy(&bs->mu);
    flow__free(bs);
}

flow__map_output_t *flow__mo_new(uint32_t shuffle, uint32_t map, uint32_t nparts)
{
    flow__map_output_t *mo = flow__calloc(1, sizeof *mo);
    mo->shuffle = shuffle;
    mo->map = map;
    mo->nparts = nparts;
    mo->segs = flow__calloc(nparts ? nparts : 1, sizeof *mo->segs);
    mo->sums = flow__calloc(nparts ? nparts : 1, sizeof *mo->sums);
    mo->refs = 1;
    return mo;
}

void flow__mo_free(flow__map_output_t *mo)
{
    if (!mo)
        return;
    if (mo->segs)
        for (uint32_t r = 0; r < mo->nparts; r++)
            flow__wbuf_free(&mo->segs[r]);
    flow__free(mo->segs);
    flow__free(mo->sums);
    if (mo->on_disk)
        flow__spill_remove(&mo->file);
    flow__free(mo);
}

/* Move an output's segments into a spill file, one file segment each. */
static int to_disk(flow__blockstore_t *bs, flow__map_output_t *mo, flow__err_t *err)
{
    flow__spill_writer_t *w;
    int rc = flow__spill_create(bs->dir, &w, err);
    for (uint32_t r = 0; rc == FLOW_OK && r < mo->nparts; r++) {
        rc = flow__spill_segment(w, r, err);
        size_t pos = 0;
        flow_rec_t rec;
        while (rc == FLOW_OK &&
               flow__block_next(mo->segs[r].data, mo->segs[r].len, &pos, &rec) == 1)
            rc = flow__spill_put(w, &rec, err);
    }
    if (rc != FLOW_OK) {
        if (w)
            flow__spill_abort(w);
        return rc;
    }
    if ((rc = flow__spill_finish(w, &mo->file, err)) < 0)
        return rc;
    for (uint32_t r = 0; r < mo->nparts; r++)
        flow__wbuf_free(&mo->segs[r]);
    flow__free(mo->segs);
    mo->segs = NULL;
    mo->on_disk = 1;
    mo->mem_bytes = 0;
    return FLOW_OK;
}

/* Checksum or compress the in-memory segments and count their memory. */
static void seal_memory(flow__blockstore_t *bs, flow__map_output_t *mo)
{
    mo->mem_bytes = 0;
    for (uint32_t r = 0; r < mo->nparts; r++) {
        flow__wbuf_t *s = &mo->segs[r];
        if (bs->compress && s->len) {
            flow__wbuf_t z;
            flow__wbuf_init(&z);
            flow__lz4_compress(s->data, s->len, &z);
            flow__wbuf_free(s);
            *s = z;
        }
        mo->sums[r] = XXH3_64bits(s->data, s->len);
        mo->mem_bytes += s->cap;
    }
    mo->compressed = bs->compress;
}

static void unlink_entry(flow__blockstore_t *bs, flow__map_output_t **pp)
{
    flow__map_output_t *mo = *pp;
    *pp = mo->next;
    bs->mem_bytes -= mo->mem_bytes;
    if (--mo->refs == 0)
        flow__mo_free(mo);
}

int flow__bs_put(flow__blockstore_t *bs, flow__map_output_t *mo, flow__err_t *err)
{
    for (uint32_t r = 0; r < mo->nparts; r++)
        mo->records += (uint64_t)flow__block_count(mo->segs[r].data, mo->segs[r].len);
    uint64_t bytes = 0;
    for (uint32_t r = 0; r < mo->nparts; r++)
        bytes += mo->segs[r].cap;
    pthread_mutex_lock(&bs->mu);
    int full = bs->mem_bytes + bytes > bs->mem_limit;
    pthread_mutex_unlock(&bs->mu);
    int rc = FLOW_OK;
    if (full) {
        rc = to_disk(bs, mo, err);
    } else {
        seal_memory(bs, mo);
    }
    if (rc < 0) {
        flow__mo_free(mo);
        return rc;
    }
    pthread_mutex_lock(&bs->mu);
    for (flow__map_output_t **pp = &bs->outputs; *pp; pp = &(*pp)->next)
        if ((*pp)->shuffle == mo->shuffle && (*pp)->map == mo->map) {
            unlink_entry(bs, pp);
            break;
        }
    mo->next = bs->outputs;
    bs->outputs = mo;
    bs->mem_bytes += mo->mem_bytes;
    if (mo->on_disk)
        bs->disk_bytes += mo->file.file_bytes;
    pthread_mutex_unlock(&bs->mu);
    return FLOW_OK;
}

flow__map_output_t *flow__bs_get(flow__blockstore_t *bs, uint32_t shuffle, uint32_t map)
{
    pthread_mutex_lock(&bs->mu);
    flow__map_output_t *mo = bs->outputs;
    while (mo && !(mo->shuffle == shuffle && mo->map == map))
        mo = mo->next;
    if (mo)
        mo->refs++;
    pthread_mutex_unlock(&bs->mu);
    return mo;
}

void flow__bs_release(flow__blockstore_t *bs, flow__map_output_t *mo)
{
    pthread_mutex_lock(&bs->mu);
    int last = --mo->refs == 0;
    pthread_mutex_unlock(&bs->mu);
    if (last)
        flow__mo_free(mo);
}

void flow__bs_drop(flow__blockstore_t *bs, uint32_t shuffle)
{
    pthread_mutex_lock(&bs->mu);
    flow__map_output_t **pp = &bs->outputs;
    while (*pp) {
        if (shuffle == 0 || (*pp)->shuffle == shuffle)
            unlink_entry(bs, pp);
        else
            pp = &(*pp)->next;
    }
    pthread_mutex_unlock(&bs->mu);
}

int flow__bs_corrupt(flow__blockstore_t *bs, uint32_t shuffle, uint32_t map, uint32_t r)
{
    flow__map_output_t *mo = flow__bs_get(bs, shuffle, map);
    int rc = FLOW_ENOENT;
    if (mo && r < mo->nparts) {
        if (!mo->on_disk && mo->segs[r].len > 0) {
            mo->segs[r].data[mo->segs[r].len / 2] ^= 0x5A;
            rc = FLOW_OK;
        } else if (mo->on_disk && mo->file.seg_off[r + 1] > mo->file.seg_off[r]) {
            /* Flip a byte in the middle of the segment's first chunk frame. */
            int fd = open(mo->file.path, O_RDWR | O_CLOEXEC);
            off_t at = (off_t)(mo->file.seg_off[r] +
                               (mo->file.seg_off[r + 1] - mo->file.seg_off[r]) / 2);
            uint8_t b;
            if (fd >= 0 && pread(fd, &b, 1, at) == 1) {
                b ^= 0x5A;
                rc = pwrite(fd, &b, 1, at) == 1 ? FLOW_OK : FLOW_EIO;
            }
            if (fd >= 0)
                close(fd);
        }
    }
    if (mo)
        flow__bs_release(bs, mo);
    return rc;
}

int flow__seg_open(flow__seg_reader_t *rd, const flow__map_output_t *mo, uint32_t r,
                   flow__err_t *err)
{
    memset(rd, 0, sizeof *rd);
    rd->mo = mo;
    flow__wbuf_init(&rd->buf);
    if (r >= mo->nparts)
        return flow__err_set(err, FLOW_EPROTO, "shuffle %u map %u has no reduce partition %u",
                             mo->shuffle, mo->map, r);
    if (mo->on_disk)
        return flow__spill_open(&mo->file, r, &rd->sr, err);
    const flow__wbuf_t *s = &mo->segs[r];
    if (XXH3_64bits(s->data, s->len) != mo->sums[r])
        return flow__err_set(err, FLOW_EPROTO,
                             "shuffle %u map %u reduce %u: block checksum mismatch",
                             mo->shuffle, mo->map, r);
    if (mo->compressed && s->len) {
        char what[96];
        snprintf(what, sizeof what, "shuffle %u map %u reduce %u", mo->shuffle, mo->map, r);
        int rc = flow__lz4_decompress(s->data, s->len, &rd->buf, what, err);
        if (rc < 0)
            return rc;
        rd->blk = rd->buf.data;
        rd->len = rd->buf.len;
    } else {
        rd->blk = s->data;
        rd->len = s->len;
    }
    return FLOW_OK;
}

int flow__seg_next(flow__seg_reader_t *rd, flow_rec_t *out, flow__err_t *err)
{
    if (rd->sr)
        return flow__spill_next(rd->sr, out, err);
    int rc = flow__block_next(rd->blk, rd->len, &rd->pos, out);
    if (rc < 0)
        return flow__err_set(err, FLOW_EPROTO, "shuffle %u map %u: malformed block",
                             rd->mo->shuffle, rd->mo->map);
    return rc;
}

void flow__seg_close(flow__seg_reader_t *rd)
{
    if (rd->sr)
        flow__spill_close(rd->sr);
    rd->sr = NULL;
    flow__wbuf_free(&rd->buf);
}
