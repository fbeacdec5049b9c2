/* blockstore.c - an executor's blocks and memory budget (see blockstore.h) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "blockstore.h"
#include "mem.h"

flow__blockstore_t *flow__bs_new(const char *dir, uint64_t mem_limit, double storage_fraction,
                                 double shuffle_fraction, int compress)
{
    flow__blockstore_t *bs = flow__calloc(1, sizeof *bs);
    pthread_mutex_init(&bs->mu, NULL);
    bs->mem_limit = mem_limit;
    bs->storage_min = (uint64_t)((double)mem_limit * storage_fraction);
    bs->shuffle_max = (uint64_t)((double)mem_limit * shuffle_fraction);
    bs->arena = -1;
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
    mo->kind = FLOW_BLK_SHUFFLE;
    mo->map = map;
    mo->nparts = nparts;
    mo->segs = flow__calloc(nparts ? nparts : 1, sizeof *mo->segs);
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
    flow__free(mo->sum_at);
    if (mo->on_disk)
        flow__spill_remove(&mo->file);
    flow__free(mo);
}

/* Move an output's segments into a spill file, one file segment each
 * (compressed segments are decompressed first: the file frames them anew). */
static int to_disk(flow__blockstore_t *bs, flow__map_output_t *mo, flow__err_t *err)
{
    flow__spill_writer_t *w;
    flow__wbuf_t raw;
    flow__wbuf_init(&raw);
    int rc = flow__spill_create(bs->dir, &w, err);
    /* Map outputs are read back soon, from the page cache: compressing them
     * costs more than it saves unless shuffle.compress asks for it (sort's
     * 300 MB of map outputs spent a quarter of the run in LZ4). Cached
     * partitions on disk stay LZ4 frames. */
    if (rc == FLOW_OK && mo->kind == FLOW_BLK_SHUFFLE && !bs->compress)
        flow__spill_store_raw(w);
    for (uint32_t r = 0; rc == FLOW_OK && r < mo->nparts; r++) {
        rc = flow__spill_segment(w, r, err);
        const uint8_t *blk = mo->segs[r].data;
        size_t len = mo->segs[r].len, pos = 0;
        if (rc == FLOW_OK && mo->compressed && len) {
            raw.len = 0;
            rc = flow__lz4_decompress(blk, len, &raw, "block moving to disk", err);
            blk = raw.data;
            len = raw.len;
        }
        flow_rec_t rec;
        while (rc == FLOW_OK && flow__block_next(blk, len, &pos, &rec) == 1)
            rc = flow__spill_put(w, &rec, err);
    }
    flow__wbuf_free(&raw);
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
    mo->compressed = 0;
    mo->mem_bytes = 0;
    return FLOW_OK;
}

/* Pieces of a segment of n bytes. */
static uint32_t pieces(size_t n)
{
    return (uint32_t)((n + FLOW_SEG_CHUNK - 1) / FLOW_SEG_CHUNK);
}

/* Checksum or compress the in-memory segments and count their memory (as
 * the allocator counts it: the size classes of the segments' buffers). */
static void seal_memory(flow__map_output_t *mo, int compress)
{
    mo->mem_bytes = 0;
    for (uint32_t r = 0; r < mo->nparts; r++) {
        flow__wbuf_t *s = &mo->segs[r];
        if (compress && s->len) {
            flow__wbuf_t z;
            flow__wbuf_init(&z);
            flow__lz4_compress(s->data, s->len, &z);
            if (mo->nparts == 1 && z.len > s->len - s->len / 8) {
                /* A cached block that barely compresses (random doubles) is
                 * kept as it is: decompressing it on every read buys nothing. */
                flow__wbuf_free(&z);
                compress = 0;
            } else {
                flow__wbuf_free(s);
                *s = z;
            }
        }
        if (s->data && s->cap - s->len > s->cap / 8) {
            /* Buffers grow by doubling: give the unused tail back. */
            s->data = flow__realloc(s->data, s->len ? s->len : 8);
            s->cap = s->len ? s->len : 8;
        }
        mo->mem_bytes += flow__mem_usable(s->data);
    }
    mo->compressed = compress;
    flow__free(mo->sum_at);
    flow__free(mo->sums);
    mo->sum_at = flow__malloc(sizeof *mo->sum_at * (mo->nparts + 1));
    uint32_t n = 0;
    for (uint32_t r = 0; r < mo->nparts; r++) {
        mo->sum_at[r] = n;
        n += pieces(mo->segs[r].len);
    }
    mo->sum_at[mo->nparts] = n;
    mo->sums = flow__malloc(sizeof *mo->sums * (n ? n : 1));
    for (uint32_t r = 0; r < mo->nparts; r++) {
        const flow__wbuf_t *s = &mo->segs[r];
        for (uint32_t i = 0; i < pieces(s->len); i++) {
            size_t off = (size_t)i * FLOW_SEG_CHUNK, k = s->len - off;
            mo->sums[mo->sum_at[r] + i] =
                XXH3_64bits(s->data + off, k < FLOW_SEG_CHUNK ? k : FLOW_SEG_CHUNK);
        }
    }
}

static uint64_t mem_size(const flow__map_output_t *mo)
{
    uint64_t n = 0;
    for (uint32_t r = 0; mo->segs && r < mo->nparts; r++)
        n += flow__mem_usable(mo->segs[r].data);
    return n;
}

static void unlink_entry(flow__blockstore_t *bs, flow__map_output_t **pp)
{
    flow__map_output_t *mo = *pp;
    *pp = mo->next;
    bs->mem_bytes -= mo->mem_bytes;
    if (mo->kind == FLOW_BLK_SHUFFLE)
        bs->shuffle_mem -= mo->mem_bytes;
    if (mo->on_disk)
        bs->disk_bytes -= mo->file.file_bytes;
    if (--mo->refs == 0)
        flow__mo_free(mo);
}

static flow__map_output_t **find(flow__blockstore_t *bs, uint8_t kind, uint32_t id,
                                 uint32_t part)
{
    flow__map_output_t **pp = &bs->outputs;
    while (*pp && !((*pp)->kind == kind && (*pp)->shuffle == id && (*pp)->map == part))
        pp = &(*pp)->next;
    return pp;
}

/* Free memory until need more bytes fit in the budget, evicting the least
 * recently used unpinned entries in memory while storage is above floor,
 * never those of dataset skip. Map outputs and memory-and-disk partitions
 * move to disk; the others are dropped. Holding bs->mu. */
static void evict(flow__blockstore_t *bs, uint64_t need, uint64_t floor, uint32_t skip)
{
    while (bs->mem_bytes + bs->exec_bytes + need > bs->mem_limit && bs->mem_bytes > floor) {
        flow__map_output_t **victim = NULL;
        for (flow__map_output_t **pp = &bs->outputs; *pp; pp = &(*pp)->next) {
            flow__map_output_t *mo = *pp;
            if (mo->on_disk || mo->refs > 1 || mo->mem_bytes == 0 ||
                (mo->kind == FLOW_BLK_CACHE && mo->shuffle == skip))
                continue;
            if (!victim || mo->tick < (*victim)->tick)
                victim = pp;
        }
        if (!victim)
            return;
        flow__map_output_t *mo = *victim;
        uint64_t bytes = mo->mem_bytes;
        if (mo->kind == FLOW_BLK_SHUFFLE || mo->level == FLOW_LEVEL_MEMORY_DISK) {
            flow__err_t err;
            if (to_disk(bs, mo, &err) < 0)
                return; /* The disk failed: keep what is in memory. */
            bs->mem_bytes -= bytes;
            if (mo->kind == FLOW_BLK_SHUFFLE)
                bs->shuffle_mem -= bytes;
            bs->disk_bytes += mo->file.file_bytes;
        } else {
            unlink_entry(bs, victim);
        }
        bs->evictions++;
        bs->evicted_bytes += bytes;
    }
}

/* Put mo in front of the list, replacing the entry of the same key. */
static void insert(flow__blockstore_t *bs, flow__map_output_t *mo)
{
    flow__map_output_t **pp = find(bs, mo->kind, mo->shuffle, mo->map);
    if (*pp)
        unlink_entry(bs, pp);
    mo->tick = ++bs->tick;
    mo->next = bs->outputs;
    bs->outputs = mo;
    bs->mem_bytes += mo->mem_bytes;
    if (mo->kind == FLOW_BLK_SHUFFLE)
        bs->shuffle_mem += mo->mem_bytes;
    if (mo->on_disk)
        bs->disk_bytes += mo->file.file_bytes;
}

/* In memory, the producer counted the records as it wrote them. */
static void count_records(flow__map_output_t *mo)
{
    if (mo->on_disk) {
        mo->records = mo->file.records;
        mo->raw_bytes = mo->file.raw_bytes;
        return;
    }
    mo->raw_bytes = 0;
    for (uint32_t r = 0; r < mo->nparts; r++)
        mo->raw_bytes += mo->segs[r].len;
}

int flow__bs_put(flow__blockstore_t *bs, flow__map_output_t *mo, flow__err_t *err)
{
    count_records(mo);
    int rc = FLOW_OK;
    if (!mo->on_disk) {
        uint64_t bytes = mem_size(mo);
        pthread_mutex_lock(&bs->mu);
        int full = bs->mem_bytes + bs->exec_bytes + bytes > bs->mem_limit ||
                   bs->shuffle_mem + bytes > bs->shuffle_max;
        pthread_mutex_unlock(&bs->mu);
        if (full)
            rc = to_disk(bs, mo, err);
        else
            seal_memory(mo, bs->compress);
    }
    if (rc < 0) {
        flow__mo_free(mo);
        return rc;
    }
    pthread_mutex_lock(&bs->mu);
    insert(bs, mo);
    pthread_mutex_unlock(&bs->mu);
    return FLOW_OK;
}

int flow__bs_cache_put(flow__blockstore_t *bs, flow__map_output_t *mo, int *stored,
                       flow__err_t *err)
{
    mo->kind = FLOW_BLK_CACHE;
    *stored = 0;
    count_records(mo);
    int rc = FLOW_OK;
    if (!mo->on_disk && mo->level == FLOW_LEVEL_DISK) {
        rc = to_disk(bs, mo, err);
    } else if (!mo->on_disk) {
        seal_memory(mo, mo->level == FLOW_LEVEL_MEMORY_SER);
        pthread_mutex_lock(&bs->mu);
        flow__map_output_t **old = find(bs, mo->kind, mo->shuffle, mo->map);
        if (*old)
            unlink_entry(bs, old);
        evict(bs, mo->mem_bytes, 0, mo->shuffle);
        if (bs->mem_bytes + bs->exec_bytes + mo->mem_bytes <= bs->mem_limit) {
            insert(bs, mo);
            *stored = 1;
        }
        pthread_mutex_unlock(&bs->mu);
        if (*stored)
            return FLOW_OK;
        if (mo->level != FLOW_LEVEL_MEMORY_DISK) {
            flow__mo_free(mo);
            return FLOW_OK;
        }
        rc = to_disk(bs, mo, err);
    }
    if (rc < 0) {
        flow__mo_free(mo);
        return rc;
    }
    pthread_mutex_lock(&bs->mu);
    insert(bs, mo);
    pthread_mutex_unlock(&bs->mu);
    *stored = 1;
    return FLOW_OK;
}

static flow__map_output_t *get(flow__blockstore_t *bs, uint8_t kind, uint32_t id,
                               uint32_t part)
{
    pthread_mutex_lock(&bs->mu);
    flow__map_output_t *mo = *find(bs, kind, id, part);
    if (mo) {
        mo->refs++;
        mo->tick = ++bs->tick;
    }
    pthread_mutex_unlock(&bs->mu);
    return mo;
}

flow__map_output_t *flow__bs_get(flow__blockstore_t *bs, uint32_t shuffle, uint32_t map)
{
    return get(bs, FLOW_BLK_SHUFFLE, shuffle, map);
}

flow__map_output_t *flow__bs_cache_get(flow__blockstore_t *bs, uint32_t dataset,
                                       uint32_t partition)
{
    return get(bs, FLOW_BLK_CACHE, dataset, partition);
}

int flow__bs_cache_has(flow__blockstore_t *bs, uint32_t dataset, uint32_t partition)
{
    pthread_mutex_lock(&bs->mu);
    int has = *find(bs, FLOW_BLK_CACHE, dataset, partition) != NULL;
    pthread_mutex_unlock(&bs->mu);
    return has;
}

void flow__bs_cache_drop(flow__blockstore_t *bs, uint32_t dataset, int64_t partition)
{
    pthread_mutex_lock(&bs->mu);
    flow__map_output_t **pp = &bs->outputs;
    while (*pp) {
        flow__map_output_t *mo = *pp;
        if (mo->kind == FLOW_BLK_CACHE && mo->shuffle == dataset &&
            (partition < 0 || mo->map == (uint32_t)partition))
            unlink_entry(bs, pp);
        else
            pp = &mo->next;
    }
    pthread_mutex_unlock(&bs->mu);
}

void flow__bs_cache_count(flow__blockstore_t *bs, uint32_t dataset, int *mem_parts,
                          int *disk_parts, uint64_t *mem_bytes, uint64_t *disk_bytes,
                          uint64_t *records)
{
    pthread_mutex_lock(&bs->mu);
    for (flow__map_output_t *mo = bs->outputs; mo; mo = mo->next) {
        if (mo->kind != FLOW_BLK_CACHE || mo->shuffle != dataset)
            continue;
        if (mo->on_disk) {
            (*disk_parts)++;
            *disk_bytes += mo->file.file_bytes;
        } else {
            (*mem_parts)++;
            *mem_bytes += mo->mem_bytes;
        }
        *records += mo->records;
    }
    pthread_mutex_unlock(&bs->mu);
}

void flow__bs_forget(flow__blockstore_t *bs, flow__map_output_t *mo)
{
    pthread_mutex_lock(&bs->mu);
    for (flow__map_output_t **pp = &bs->outputs; *pp; pp = &(*pp)->next)
        if (*pp == mo) {
            unlink_entry(bs, pp);
            break;
        }
    pthread_mutex_unlock(&bs->mu);
}

uint64_t flow__bs_exec_acquire(flow__blockstore_t *bs, uint64_t want)
{
    pthread_mutex_lock(&bs->mu);
    evict(bs, want, bs->storage_min, 0);
    uint64_t used = bs->mem_bytes + bs->exec_bytes;
    uint64_t grant = used < bs->mem_limit ? bs->mem_limit - used : 0;
    if (grant > want)
        grant = want;
    if (grant < want / 4)
        grant = want / 4;
    bs->exec_bytes += grant;
    pthread_mutex_unlock(&bs->mu);
    return grant;
}

int flow__bs_unroll(flow__blockstore_t *bs, uint64_t n, uint32_t dataset)
{
    pthread_mutex_lock(&bs->mu);
    evict(bs, n, 0, dataset);
    int ok = bs->mem_bytes + bs->exec_bytes + n <= bs->mem_limit;
    if (ok)
        bs->exec_bytes += n;
    pthread_mutex_unlock(&bs->mu);
    return ok;
}

void flow__bs_exec_release(flow__blockstore_t *bs, uint64_t n)
{
    pthread_mutex_lock(&bs->mu);
    bs->exec_bytes = n < bs->exec_bytes ? bs->exec_bytes - n : 0;
    pthread_mutex_unlock(&bs->mu);
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
        if (shuffle == 0 || ((*pp)->kind == FLOW_BLK_SHUFFLE && (*pp)->shuffle == shuffle))
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

static const char *block_name(const flow__map_output_t *mo, uint32_t r, char *buf, size_t n)
{
    if (mo->kind == FLOW_BLK_CACHE)
        snprintf(buf, n, "cached dataset %u partition %u", mo->shuffle, mo->map);
    else
        snprintf(buf, n, "shuffle %u map %u reduce %u", mo->shuffle, mo->map, r);
    return buf;
}

/* Check the pieces of the segment being read until upto bytes are checked
 * (rd->blk is still the segment as stored). */
static int seg_check(flow__seg_reader_t *rd, size_t upto, flow__err_t *err)
{
    while (rd->checked < upto && rd->checked < rd->len) {
        size_t k = rd->len - rd->checked;
        k = k < FLOW_SEG_CHUNK ? k : FLOW_SEG_CHUNK;
        if (XXH3_64bits(rd->blk + rd->checked, k) != rd->sums[rd->checked / FLOW_SEG_CHUNK]) {
            char what[96];
            return flow__err_set(err, FLOW_EPROTO, "%s: block checksum mismatch at byte %zu",
                                 block_name(rd->mo, rd->r, what, sizeof what), rd->checked);
        }
        rd->checked += k;
    }
    return FLOW_OK;
}

int flow__seg_open(flow__seg_reader_t *rd, const flow__map_output_t *mo, uint32_t r,
                   flow__err_t *err)
{
    char what[96];
    memset(rd, 0, sizeof *rd);
    rd->mo = mo;
    flow__wbuf_init(&rd->buf);
    if (r >= mo->nparts)
        return flow__err_set(err, FLOW_EPROTO, "shuffle %u map %u has no reduce partition %u",
                             mo->shuffle, mo->map, r);
    if (mo->on_disk)
        return flow__spill_open(&mo->file, r, &rd->sr, err);
    const flow__wbuf_t *s = &mo->segs[r];
    rd->r = r;
    rd->sums = mo->sums + mo->sum_at[r];
    rd->blk = s->data;
    rd->len = s->len;
    /* A compressed segment is checked whole before it is decompressed. */
    int rc = seg_check(rd, mo->compressed ? s->len : 1, err);
    if (rc < 0)
        return rc;
    if (mo->compressed && s->len) {
        rc = flow__lz4_decompress(s->data, s->len, &rd->buf,
                                  block_name(mo, r, what, sizeof what), err);
        if (rc < 0)
            return rc;
        rd->blk = rd->buf.data;
        rd->len = rd->checked = rd->buf.len;
    }
    return FLOW_OK;
}

/* How far ahead of the reader its block is prefetched: a piece, so that the
 * next piece is in cache when its checksum is computed. Otherwise that hash
 * streams the piece from memory while the reader waits, and for a reader
 * with work to do per record (k-means) the stream was a sixth of its time;
 * prefetched, it overlaps with that work. */
#define SEG_AHEAD FLOW_SEG_CHUNK

int flow__seg_next(flow__seg_reader_t *rd, flow_rec_t *out, flow__err_t *err)
{
    if (rd->sr)
        return flow__spill_next(rd->sr, out, err);
    size_t want = rd->pos + SEG_AHEAD < rd->len ? rd->pos + SEG_AHEAD : rd->len;
    for (; rd->fetched < want; rd->fetched += 64)
        __builtin_prefetch(rd->blk + rd->fetched);
    int rc = flow__block_next(rd->blk, rd->len, &rd->pos, out);
    if (rc == 1 && rd->pos > rd->checked) {
        /* The record reaches past what was checked: check it first. */
        int c = seg_check(rd, rd->pos, err);
        return c < 0 ? c : 1;
    }
    if (rc < 0 && seg_check(rd, rd->len, err) < 0)
        return FLOW_EPROTO; /* Malformed because corrupt: say so. */
    if (rc < 0) {
        char what[96];
        return flow__err_set(err, FLOW_EPROTO, "%s: malformed block",
                             block_name(rd->mo, 0, what, sizeof what));
    }
    return rc;
}

void flow__seg_close(flow__seg_reader_t *rd)
{
    if (rd->sr)
        flow__spill_close(rd->sr);
    rd->sr = NULL;
    flow__wbuf_free(&rd->buf);
}
