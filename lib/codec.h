/* codec.h - LZ4 frames and spill files
 * Whatever leaves a process or goes to disk is compressed as LZ4 frames with
 * block and content checksums (LZ4F's own xxh32 checksums), so that a flipped
 * bit is detected when the data is read back, never returned.
 *
 * A spill file is a run of records written once and read back in order:
 *
 *   file    := chunk* | trailer
 *   chunk   := raw length: u32 | frame length: u32 | LZ4 frame of a block of
 *              records (at most FLOW_SPILL_CHUNK raw bytes, whole records)
 *            | raw length: u32 | (raw length + 8) | 2^31: u32 | the block as
 *              it is | its XXH3-64: u64 (a stored chunk, see
 *              flow__spill_store_raw)
 *   trailer := "FLSP" | chunks: u64 | records: u64 | raw bytes: u64
 *
 * A file may be cut into segments (a map task's spill holds one segment per
 * reduce partition): flow__spill_segment starts a new one and records where it
 * starts, and a reader can open one segment alone.
 * Call order: spill_create -> (spill_segment? spill_put*)* -> spill_finish;
 *             spill_open -> spill_next* -> spill_close; spill_remove. */
#ifndef FLOW_CODEC_H
#define FLOW_CODEC_H

#include "buf.h"
#include "err.h"
#include "rec.h"

#define FLOW_SPILL_CHUNK (256u * 1024u)

/* Append src as one LZ4 frame (with block and content checksums) to out. */
void flow__lz4_compress(const void *src, size_t n, flow__wbuf_t *out);
/* Append the decompressed content of one frame to out (out->len stays a
 * multiple of 8 when it was). FLOW_EPROTO naming the cause ("checksum", ...)
 * when the frame is corrupt or truncated; what names the data in messages. */
int flow__lz4_decompress(const void *frame, size_t n, flow__wbuf_t *out, const char *what,
                         flow__err_t *err);

/* A finished spill file. */
typedef struct flow__spill_file {
    char *path;           /* File path (flow__malloc'd). */
    uint64_t records;     /* Records in the file. */
    uint64_t raw_bytes;   /* Bytes of the records in block layout. */
    uint64_t file_bytes;  /* Bytes on disk. */
    uint64_t *seg_off;    /* Segment start offsets (nsegs + 1 entries, last = end). */
    uint32_t *seg_id;     /* Segment ids as given to flow__spill_segment. */
    uint32_t nsegs;       /* Number of segments (0 when none were started). */
} flow__spill_file_t;

typedef struct flow__spill_writer flow__spill_writer_t;

/* Create a spill file in dir (a unique name). FLOW_EIO naming the path. */
int flow__spill_create(const char *dir, flow__spill_writer_t **out, flow__err_t *err);
/* Write the chunks as they are, with an XXH3-64 checksum each, rather than
 * as LZ4 frames: for data read back soon from the page cache (shuffle map
 * outputs when shuffle.compress is off), where compressing costs more than
 * it saves. Call before the first put. */
void flow__spill_store_raw(flow__spill_writer_t *w);
/* Start segment id (ids increase); records put after it belong to it. */
int flow__spill_segment(flow__spill_writer_t *w, uint32_t id, flow__err_t *err);
int flow__spill_put(flow__spill_writer_t *w, const flow_rec_t *r, flow__err_t *err);
/* Flush, write the trailer and close; fills *out and frees w (even on error,
 * after which the file is removed). */
int flow__spill_finish(flow__spill_writer_t *w, flow__spill_file_t *out, flow__err_t *err);
/* Abandon a writer: close and remove the file. */
void flow__spill_abort(flow__spill_writer_t *w);

typedef struct flow__spill_reader flow__spill_reader_t;

/* Read the whole file (seg < 0) or the segment with id seg (an empty reader
 * when the file has no such segment). */
int flow__spill_open(const flow__spill_file_t *f, int64_t seg, flow__spill_reader_t **out,
                     flow__err_t *err);
/* 1 with *out set (valid until the next call), 0 at the end, FLOW_EPROTO on a
 * corrupt chunk (the message names the file and the offset), FLOW_EIO. */
int flow__spill_next(flow__spill_reader_t *r, flow_rec_t *out, flow__err_t *err);
void flow__spill_close(flow__spill_reader_t *r);
/* Delete the file and free the fields of f. */
void flow__spill_remove(flow__spill_file_t *f);

#endif
