/* codec.c - LZ4 frames and spill files (see codec.h)
 * Frames are LZ4F at its fast level with block and content checksums, the
 * content size in the header, and 64 KiB independent blocks, so that a
 * decompression context needs only two 64 KiB buffers. Decompression grows
 * its output as data comes out (a length read from the input never sizes an
 * allocation by itself) and accepts exactly one whole frame: a truncated
 * frame, a checksum mismatch or bytes after the frame are FLOW_EPROTO, and the
 * output is left as it was.
 *
 * Spill writer: records are appended to a block buffer. When the block would
 * pass FLOW_SPILL_CHUNK (or one record alone reaches it), the block is
 * compressed (or stored with its XXH3-64) into the output buffer behind its
 * 8-byte chunk header,
 * and the output buffer goes to the file by write(2) once it holds about
 * SPILL_WRITE bytes. A segment boundary flushes the block, so that every
 * segment starts on a chunk boundary at a known file offset.
 *
 * Spill reader: open checks the file size and the trailer against the file's
 * description; each chunk is then read with two preads (header, frame), its
 * lengths are checked against the part of the file being read, and the frame
 * is decompressed into a reused buffer whose records flow__block_next walks.
 * A reader of the whole file compares its chunk, record and byte counts with
 * the trailer at the end. Once the last chunk is loaded the reader closes
 * the file and releases its decompression context and frame buffer, so that a
 * merge over many short runs holds little more than their records. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "codec.h"
#include "mem.h"

#define SPILL_WRITE (1u << 20) /* Output bytes buffered before a write(2). */
#define CHUNK_HDR 8            /* Raw length u32 and frame length u32. */
#define TRAILER_SIZE 28        /* "FLSP", chunks, records, raw bytes. */
#define LZ4_MAX_RATIO 255      /* LZ4 never expands data more than this. */
#define CHUNK_STORED 0x80000000u /* Frame length flag: a stored chunk (block, XXH3-64). */

static const char trailer_magic[4] = {'F', 'L', 'S', 'P'};

static const LZ4F_preferences_t lz4_prefs = {
    .frameInfo = {.blockSizeID = LZ4F_max64KB,
                  .blockMode = LZ4F_blockIndependent,
                  .contentChecksumFlag = LZ4F_contentChecksumEnabled,
                  .blockChecksumFlag = LZ4F_blockChecksumEnabled},
    .compressionLevel = 0,
};

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* ---- LZ4 frames ------------------------------------------------------- */

void flow__lz4_compress(const void *src, size_t n, flow__wbuf_t *out)
{
    LZ4F_preferences_t prefs = lz4_prefs;
    prefs.frameInfo.contentSize = n; /* 0 leaves the size out of the header. */
    size_t bound = LZ4F_compressFrameBound(n, &prefs);
    flow__wbuf_reserve(out, bound);
    size_t w = LZ4F_compressFrame(out->data + out->len, bound, n ? src : "", n, &prefs);
    if (LZ4F_isError(w)) {
        /* Only a wrong bound can fail a one-shot compression: a bug. */
        fprintf(stderr, "libflow: LZ4F_compressFrame: %s\n", LZ4F_getErrorName(w));
        abort();
    }
    out->len += w;
}

static LZ4F_dctx *dctx_new(void)
{
    LZ4F_dctx *d = NULL;
    size_t rc = LZ4F_createDecompressionContext(&d, LZ4F_VERSION);
    if (LZ4F_isError(rc)) {
        fprintf(stderr, "libflow: LZ4F_createDecompressionContext: %s\n",
                LZ4F_getErrorName(rc));
        abort();
    }
    return d;
}

/* Decode exactly one frame of n bytes at src, appending its content to out.
 * 0, or -1 with *why set (out->len restored, d ready for another frame). */
static int frame_decode(LZ4F_dctx *d, const uint8_t *src, size_t n, flow__wbuf_t *out,
                        const char **why)
{
    size_t start = out->len, hint = 1;
    size_t room = n * 2 > 65536 ? n * 2 : 65536;
    while (n > 0 && hint != 0) {
        flow__wbuf_reserve(out, room);
        size_t dn = out->cap - out->len, sn = n;
        hint = LZ4F_decompress(d, out->data + out->len, &dn, src, &sn, NULL);
        if (LZ4F_isError(hint))
            break;
        out->len += dn;
        src += sn;
        n -= sn;
    }
    if (hint == 0 && n == 0)
        return 0;
    if (LZ4F_isError(hint))
        *why = LZ4F_getErrorName(hint);
    else
        *why = n ? "bytes after the end of the frame" : "truncated frame";
    out->len = start;
    LZ4F_resetDecompressionContext(d);
    return -1;
}

/* What went wrong with a frame, given frame_decode's why: LZ4F names its
 * checksum errors ERROR_*Checksum_invalid. */
static const char *frame_fault(const char *why)
{
    return strstr(why, "hecksum") ? "checksum mismatch" : "corrupt LZ4 frame";
}

int flow__lz4_decompress(const void *frame, size_t n, flow__wbuf_t *out, const char *what,
                         flow__err_t *err)
{
    LZ4F_dctx *d = dctx_new();
    const char *why = NULL;
    int rc = frame_decode(d, frame, n, out, &why);
    LZ4F_freeDecompressionContext(d);
    if (rc < 0)
        return flow__err_set(err, FLOW_EPROTO, "%s: %s (%s)", what, frame_fault(why), why);
    return FLOW_OK;
}

/* ---- Spill writer ----------------------------------------------------- */

struct flow__spill_writer {
    int fd;             /* The file, open for writing; -1 once closed. */
    char *path;         /* Its path (flow__malloc'd). */
    flow__wbuf_t block; /* Records of the chunk being filled, in block layout. */
    flow__wbuf_t out;   /* Finished chunks not yet written to the file. */
    uint64_t written;   /* Bytes written to the file so far. */
    uint64_t chunks;    /* Chunks finished. */
    uint64_t records;   /* Records put. */
    uint64_t raw_bytes; /* Bytes of the records put, in block layout. */
    uint64_t *seg_off;  /* Start offset of each segment (room for one more). */
    uint32_t *seg_id;   /* Id of each segment. */
    uint32_t nsegs;     /* Segments started. */
    uint32_t seg_cap;   /* Entries allocated in seg_id (seg_off has one more). */
    int stored;         /* Chunks are stored as they are (flow__spill_store_raw). */
};

static _Atomic uint64_t spill_seq; /* Numbers the spill files of this process. */

/* A random-looking 32-bit tag, so that names differ across processes that
 * share a pid (containers) and across restarts. */
static uint32_t name_tag(uint64_t seq)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t z = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uintptr_t)&ts ^
                 (seq * 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)(z ^ (z >> 31));
}

static int io_error(flow__err_t *err, const char *path, const char *op)
{
    int e = errno;
    return flow__err_set(err, FLOW_EIO, "spill file %s: %s: %s", path, op, strerror(e));
}

int flow__spill_create(const char *dir, flow__spill_writer_t **out, flow__err_t *err)
{
    char *path = NULL;
    int fd = -1;
    for (int attempt = 0; attempt < 16; attempt++) {
        uint64_t seq = atomic_fetch_add(&spill_seq, 1);
        flow__free(path);
        path = flow__asprintf("%s/flow-spill-%ld-%llu-%08x.run", dir, (long)getpid(),
                              (unsigned long long)seq, name_tag(seq));
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int rc = io_error(err, path, "create");
        flow__free(path);
        return rc;
    }
    flow__spill_writer_t *w = flow__calloc(1, sizeof *w);
    w->fd = fd;
    w->path = path;
    flow__wbuf_init(&w->block);
    flow__wbuf_init(&w->out);
    *out = w;
    return FLOW_OK;
}

/* Write the output buffer to the file. */
static int out_flush(flow__spill_writer_t *w, flow__err_t *err)
{
    size_t done = 0;
    while (done < w->out.len) {
        ssize_t k = write(w->fd, w->out.data + done, w->out.len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = ENOSPC;
            return io_error(err, w->path, "write");
        }
        done += (size_t)k;
    }
    w->written += done;
    w->out.len = 0;
    return FLOW_OK;
}

void flow__spill_store_raw(flow__spill_writer_t *w)
{
    w->stored = 1;
}

/* Compress (or store) the block being filled into a chunk of the output buffer. */
static int chunk_flush(flow__spill_writer_t *w, flow__err_t *err)
{
    if (w->block.len == 0)
        return FLOW_OK;
    size_t hdr = w->out.len;
    flow__wbuf_u32(&w->out, (uint32_t)w->block.len);
    flow__wbuf_u32(&w->out, 0);
    size_t frame_len;
    if (w->stored) {
        flow__wbuf_put(&w->out, w->block.data, w->block.len);
        flow__wbuf_u64(&w->out, XXH3_64bits(w->block.data, w->block.len));
        frame_len = (w->block.len + 8) | CHUNK_STORED; /* A block is under 2^31 bytes. */
    } else {
        flow__lz4_compress(w->block.data, w->block.len, &w->out);
        frame_len = w->out.len - hdr - CHUNK_HDR;
    }
    if (frame_len > UINT32_MAX || (!w->stored && frame_len >= CHUNK_STORED) ||
        (w->stored && w->block.len + 8 >= CHUNK_STORED)) {
        w->out.len = hdr;
        return flow__err_set(err, FLOW_EINVAL, "spill file %s: a chunk of %zu bytes is too large",
                             w->path, w->block.len);
    }
    put_le32(w->out.data + hdr + 4, (uint32_t)frame_len);
    w->chunks++;
    w->block.len = 0;
    if (w->block.cap > 2 * FLOW_SPILL_CHUNK)
        flow__wbuf_free(&w->block); /* Do not keep a huge record's buffer. */
    if (w->out.len < SPILL_WRITE)
        return FLOW_OK;
    int rc = out_flush(w, err);
    if (w->out.cap > 4 * SPILL_WRITE)
        flow__wbuf_free(&w->out);
    return rc;
}

int flow__spill_segment(flow__spill_writer_t *w, uint32_t id, flow__err_t *err)
{
    assert(w->nsegs == 0 || id > w->seg_id[w->nsegs - 1]);
    int rc = chunk_flush(w, err);
    if (rc < 0)
        return rc;
    if (w->nsegs == w->seg_cap) {
        w->seg_cap = w->seg_cap ? 2 * w->seg_cap : 16;
        w->seg_id = flow__realloc(w->seg_id, w->seg_cap * sizeof *w->seg_id);
        w->seg_off = flow__realloc(w->seg_off, (w->seg_cap + 1) * sizeof *w->seg_off);
    }
    w->seg_off[w->nsegs] = w->written + w->out.len;
    w->seg_id[w->nsegs++] = id;
    return FLOW_OK;
}

int flow__spill_put(flow__spill_writer_t *w, const flow_rec_t *r, flow__err_t *err)
{
    if ((r->key && r->klen > FLOW_REC_MAX) || r->vlen > FLOW_REC_MAX ||
        flow__rec_size(r) > UINT32_MAX)
        return flow__err_set(err, FLOW_EINVAL,
                             "spill file %s: a record of %zu + %zu bytes is too large",
                             w->path, r->key ? r->klen : 0, r->vlen);
    size_t n = flow__rec_size(r);
    int rc;
    if (w->block.len && w->block.len + n > FLOW_SPILL_CHUNK && (rc = chunk_flush(w, err)) < 0)
        return rc;
    flow__block_append(&w->block, r);
    w->records++;
    w->raw_bytes += n;
    return w->block.len >= FLOW_SPILL_CHUNK ? chunk_flush(w, err) : FLOW_OK;
}

int flow__spill_finish(flow__spill_writer_t *w, flow__spill_file_t *out, flow__err_t *err)
{
    memset(out, 0, sizeof *out);
    int rc = chunk_flush(w, err);
    uint64_t end = w->written + w->out.len;
    if (rc == FLOW_OK) {
        flow__wbuf_put(&w->out, trailer_magic, 4);
        flow__wbuf_u64(&w->out, w->chunks);
        flow__wbuf_u64(&w->out, w->records);
        flow__wbuf_u64(&w->out, w->raw_bytes);
        rc = out_flush(w, err);
    }
    if (rc == FLOW_OK && close(w->fd) < 0)
        rc = io_error(err, w->path, "close");
    w->fd = -1;
    if (rc < 0) {
        flow__spill_abort(w);
        return rc;
    }
    if (!w->seg_off)
        w->seg_off = flow__malloc(sizeof *w->seg_off);
    w->seg_off[w->nsegs] = end;
    *out = (flow__spill_file_t){.path = w->path, .records = w->records,
                                .raw_bytes = w->raw_bytes, .file_bytes = w->written,
                                .seg_off = w->seg_off, .seg_id = w->seg_id, .nsegs = w->nsegs};
    flow__wbuf_free(&w->block);
    flow__wbuf_free(&w->out);
    flow__free(w);
    return FLOW_OK;
}

void flow__spill_abort(flow__spill_writer_t *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    unlink(w->path);
    flow__free(w->path);
    flow__free(w->seg_off);
    flow__free(w->seg_id);
    flow__wbuf_free(&w->block);
    flow__wbuf_free(&w->out);
    flow__free(w);
}

void flow__spill_remove(flow__spill_file_t *f)
{
    if (!f)
        return;
    if (f->path)
        unlink(f->path);
    flow__free(f->path);
    flow__free(f->seg_off);
    flow__free(f->seg_id);
    memset(f, 0, sizeof *f);
}

/* ---- Spill reader ----------------------------------------------------- */

struct flow__spill_reader {
    int fd;                /* The file; -1 when empty or after the last chunk. */
    char *path;            /* Its path, for messages. */
    uint64_t pos;          /* Offset of the next chunk. */
    uint64_t end;          /* Offset where the chunks to read end. */
    uint64_t chunk_off;    /* Offset of the chunk in raw. */
    int whole;             /* Reading the whole file: check the counts at the end. */
    uint64_t chunks;       /* Chunks read. */
    uint64_t records;      /* Records returned. */
    uint64_t raw_bytes;    /* Raw bytes of the chunks read. */
    uint64_t want[3];      /* Chunks, records and raw bytes the trailer promises. */
    flow__wbuf_t frame;    /* The compressed chunk (reused). */
    flow__wbuf_t raw;      /* The records of the current chunk (reused, 8-aligned). */
    size_t rpos;           /* Offset of the next record in raw. */
    LZ4F_dctx *dctx;       /* Decompression context; NULL before the first chunk
                              and after the last. */
};

/* FLOW_EPROTO naming the file and the offset of the bad part. */
static int corrupt(const flow__spill_reader_t *r, flow__err_t *err, uint64_t at,
                   const char *fmt, ...) FLOW_PRINTF(4, 5);
static int corrupt(const flow__spill_reader_t *r, flow__err_t *err, uint64_t at,
                   const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return flow__err_set(err, FLOW_EPROTO, "spill file %s, offset %llu: %s", r->path,
                         (unsigned long long)at, why);
}

/* Read exactly n bytes at offset at. */
static int read_at(flow__spill_reader_t *r, void *dst, size_t n, uint64_t at, flow__err_t *err)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = pread(r->fd, (uint8_t *)dst + done, n - done, (off_t)(at + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return io_error(err, r->path, "read");
        if (k == 0)
            return corrupt(r, err, at + done, "file ends early");
        done += (size_t)k;
    }
    return FLOW_OK;
}

/* Check the size of the file and its trailer against f. */
static int trailer_check(flow__spill_reader_t *r, const flow__spill_file_t *f, flow__err_t *err)
{
    struct stat st;
    if (fstat(r->fd, &st) < 0)
        return io_error(err, r->path, "stat");
    uint64_t size = (uint64_t)st.st_size, at = size - TRAILER_SIZE;
    if (size != f->file_bytes || size < TRAILER_SIZE)
        return corrupt(r, err, size, "the file has %llu bytes, expected %llu",
                       (unsigned long long)size, (unsigned long long)f->file_bytes);
    uint8_t t[TRAILER_SIZE];
    int rc = read_at(r, t, sizeof t, at, err);
    if (rc < 0)
        return rc;
    flow__rbuf_t rb;
    flow__rbuf_init(&rb, t + 4, sizeof t - 4);
    for (int i = 0; i < 3; i++)
        r->want[i] = flow__rbuf_u64(&rb);
    if (memcmp(t, trailer_magic, 4) || r->want[1] != f->records || r->want[2] != f->raw_bytes ||
        r->want[0] > r->want[2] / 8)
        return corrupt(r, err, at, "bad trailer");
    return FLOW_OK;
}

/* Find the chunks to read: [*lo, *hi). 0 when there is no such segment. */
static int segment_range(const flow__spill_file_t *f, int64_t seg, uint64_t *lo, uint64_t *hi)
{
    if (seg < 0) {
        *lo = 0;
        *hi = f->file_bytes - TRAILER_SIZE;
        return 1;
    }
    uint32_t a = 0, b = f->nsegs;
    while (a < b) {
        uint32_t mid = a + (b - a) / 2;
        if ((int64_t)f->seg_id[mid] < seg)
            a = mid + 1;
        else
            b = mid;
    }
    if (a == f->nsegs || (int64_t)f->seg_id[a] != seg)
        return 0;
    *lo = f->seg_off[a];
    *hi = f->seg_off[a + 1];
    return 1;
}

int flow__spill_open(const flow__spill_file_t *f, int64_t seg, flow__spill_reader_t **out,
                     flow__err_t *err)
{
    flow__spill_reader_t *r = flow__calloc(1, sizeof *r);
    r->fd = -1;
    r->path = flow__strdup(f->path);
    flow__wbuf_init(&r->frame);
    flow__wbuf_init(&r->raw);
    r->whole = seg < 0;
    *out = r;
    if (!segment_range(f, seg, &r->pos, &r->end))
        return FLOW_OK; /* An empty reader. */
    int rc;
    if ((r->fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0)
        rc = io_error(err, f->path, "open");
    else if ((rc = trailer_check(r, f, err)) == FLOW_OK &&
             (r->pos > r->end || r->end > f->file_bytes - TRAILER_SIZE))
        rc = corrupt(r, err, r->pos, "segment %lld ends past the chunks", (long long)seg);
    if (rc < 0) {
        flow__spill_close(r);
        *out = NULL;
    }
    return rc;
}

static int chunk_loaded(flow__spill_reader_t *r, uint64_t at, uint32_t frame_len,
                        uint32_t raw_len);

/* Read, check and decompress (or check) the chunk at r->pos. */
static int chunk_load(flow__spill_reader_t *r, flow__err_t *err)
{
    uint64_t at = r->pos;
    uint8_t hdr[CHUNK_HDR];
    int rc;
    if (r->end - at < CHUNK_HDR)
        return corrupt(r, err, at, "truncated chunk header");
    if ((rc = read_at(r, hdr, CHUNK_HDR, at, err)) < 0)
        return rc;
    uint32_t raw_len = get_le32(hdr), frame_len = get_le32(hdr + 4);
    int stored = (frame_len & CHUNK_STORED) != 0;
    frame_len &= ~CHUNK_STORED;
    if (frame_len > r->end - at - CHUNK_HDR)
        return corrupt(r, err, at, "a chunk of %u bytes runs past offset %llu", frame_len,
                       (unsigned long long)r->end);
    if (raw_len == 0 || (raw_len & 7) || raw_len > (uint64_t)frame_len * LZ4_MAX_RATIO + 64 ||
        (stored && frame_len != (uint64_t)raw_len + 8))
        return corrupt(r, err, at, "raw length %u for a %s of %u bytes", raw_len,
                       stored ? "stored chunk" : "frame", frame_len);
    r->rpos = 0;
    if (stored) {
        /* The block straight into the record buffer, then its checksum. */
        uint8_t sum[8];
        r->raw.len = 0;
        uint8_t *blk = flow__wbuf_extend(&r->raw, raw_len);
        if ((rc = read_at(r, blk, raw_len, at + CHUNK_HDR, err)) < 0 ||
            (rc = read_at(r, sum, 8, at + CHUNK_HDR + raw_len, err)) < 0 ||
            (get_le64(sum) != XXH3_64bits(blk, raw_len) &&
             (rc = corrupt(r, err, at, "stored chunk checksum mismatch")) < 0)) {
            r->raw.len = 0;
            return rc;
        }
        return chunk_loaded(r, at, frame_len, raw_len);
    }
    r->frame.len = 0;
    uint8_t *frame = flow__wbuf_extend(&r->frame, frame_len);
    if ((rc = read_at(r, frame, frame_len, at + CHUNK_HDR, err)) < 0)
        return rc;
    r->raw.len = 0;
    flow__wbuf_reserve(&r->raw, raw_len);
    if (!r->dctx)
        r->dctx = dctx_new();
    const char *why = NULL;
    if (frame_decode(r->dctx, frame, frame_len, &r->raw, &why) < 0)
        return corrupt(r, err, at, "%s (%s)", frame_fault(why), why);
    if (r->raw.len != raw_len) {
        size_t got = r->raw.len;
        r->raw.len = 0;
        return corrupt(r, err, at, "chunk holds %zu bytes, its header says %u", got, raw_len);
    }
    return chunk_loaded(r, at, frame_len, raw_len);
}

/* Account for the chunk at at, now in r->raw, and close the file after the
 * last one. */
static int chunk_loaded(flow__spill_reader_t *r, uint64_t at, uint32_t frame_len,
                        uint32_t raw_len)
{
    r->chunk_off = at;
    r->pos = at + CHUNK_HDR + frame_len;
    r->chunks++;
    r->raw_bytes += raw_len;
    if (r->pos == r->end) {
        LZ4F_freeDecompressionContext(r->dctx);
        r->dctx = NULL;
        flow__wbuf_free(&r->frame);
        close(r->fd);
        r->fd = -1;
    }
    return FLOW_OK;
}

int flow__spill_next(flow__spill_reader_t *r, flow_rec_t *out, flow__err_t *err)
{
    for (;;) {
        int rc = flow__block_next(r->raw.data, r->raw.len, &r->rpos, out);
        if (rc == 1) {
            r->records++;
            return 1;
        }
        if (rc < 0)
            return corrupt(r, err, r->chunk_off, "malformed records in the chunk");
        if (r->pos == r->end)
            break;
        if ((rc = chunk_load(r, err)) < 0)
            return rc;
    }
    if (r->whole && (r->chunks != r->want[0] || r->records != r->want[1] ||
                     r->raw_bytes != r->want[2]))
        return corrupt(r, err, r->end,
                       "read %llu chunks, %llu records, %llu bytes; the trailer says "
                       "%llu, %llu, %llu",
                       (unsigned long long)r->chunks, (unsigned long long)r->records,
                       (unsigned long long)r->raw_bytes, (unsigned long long)r->want[0],
                       (unsigned long long)r->want[1], (unsigned long long)r->want[2]);
    return 0;
}

void flow__spill_close(flow__spill_reader_t *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    if (r->dctx)
        LZ4F_freeDecompressionContext(r->dctx);
    flow__wbuf_free(&r->frame);
    flow__wbuf_free(&r->raw);
    flow__free(r->path);
    flow__free(r);
}
