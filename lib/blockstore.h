/* blockstore.h - an executor's store of shuffle map outputs
 * A map task's output for one shuffle is one entry: a segment per reduce
 * partition, each a block of records. Entries stay in memory while the
 * store's memory is under its limit, and each in-memory segment carries the
 * XXH3-64 of its bytes (LZ4-compressed, with the frame's own checksums, when
 * shuffle.compress is set); past the limit an entry goes to a spill file in
 * the local directory, one file segment per reduce partition, LZ4-framed. A
 * reduce task reads segments of other executors' stores directly when they
 * share its process (an executor group); executors in other processes will
 * serve the same reads over the wire. Reading pins an entry, so a concurrent
 * drop frees it only when the last reader lets go. Thread-safe.
 * Call order: bs_new -> (bs_put | bs_get -> mo_read* -> bs_release)* ->
 *             bs_free. */
#ifndef FLOW_BLOCKSTORE_H
#define FLOW_BLOCKSTORE_H

#include <pthread.h>

#include "codec.h"

typedef struct flow__map_output {
    uint32_t shuffle;          /* Shuffle id. */
    uint32_t map;              /* Map partition. */
    uint32_t nparts;           /* Reduce partitions (segments). */
    flow__wbuf_t *segs;        /* In memory: the segments, or NULL on disk. */
    uint64_t *sums;            /* In memory: XXH3-64 of each segment's bytes. */
    int compressed;            /* In memory: segments are LZ4 frames. */
    flow__spill_file_t file;   /* On disk: segment r holds reduce partition r. */
    int on_disk;               /* The output lives in file. */
    uint64_t mem_bytes;        /* Memory the entry holds. */
    uint64_t records;          /* Records in the output. */
    int refs;                  /* Readers holding it, plus one for the store. */
    struct flow__map_output *next; /* Next entry of the store. */
} flow__map_output_t;

typedef struct flow__blockstore {
    pthread_mutex_t mu;          /* Guards everything below. */
    flow__map_output_t *outputs; /* Entries. */
    uint64_t mem_bytes;          /* Memory held by entries. */
    uint64_t mem_limit;          /* Past this, entries go to disk. */
    uint64_t disk_bytes;         /* Bytes written to disk. */
    int compress;                /* Compress in-memory segments. */
    char dir[256];               /* Local directory for files. */
} flow__blockstore_t;

/* Executors of one process that can read each other's stores. */
typedef struct flow__exec_group {
    int n;                        /* Number of executors. */
    flow__blockstore_t **stores;  /* stores[id - 1] is executor id's store. */
} flow__exec_group_t;

flow__blockstore_t *flow__bs_new(const char *dir, uint64_t mem_limit, int compress);
void flow__bs_free(flow__blockstore_t *bs);

/* A map output being built: nparts empty in-memory segments. */
flow__map_output_t *flow__mo_new(uint32_t shuffle, uint32_t map, uint32_t nparts);
void flow__mo_free(flow__map_output_t *mo);
/* Hand a finished output to the store (it replaces an older one of the same
 * shuffle and map). Checksums or compresses the segments, or writes them to
 * disk when memory is over the limit. */
int flow__bs_put(flow__blockstore_t *bs, flow__map_output_t *mo, flow__err_t *err);
/* Pin the output of (shuffle, map), or NULL when the store has none. */
flow__map_output_t *flow__bs_get(flow__blockstore_t *bs, uint32_t shuffle, uint32_t map);
void flow__bs_release(flow__blockstore_t *bs, flow__map_output_t *mo);
/* Drop every output of a shuffle (or of all shuffles when shuffle is 0). */
void flow__bs_drop(flow__blockstore_t *bs, uint32_t shuffle);
/* Test hook: flip one byte of the output's segment r (in memory or on disk).
 * FLOW_ENOENT when there is no such output or the segment is empty. */
int flow__bs_corrupt(flow__blockstore_t *bs, uint32_t shuffle, uint32_t map, uint32_t r);

/* Reading one segment of a pinned output. */
typedef struct flow__seg_reader {
    const flow__map_output_t *mo; /* The output. */
    const uint8_t *blk;           /* Block being read (memory). */
    size_t len;                   /* Its length. */
    size_t pos;                   /* Next record. */
    flow__wbuf_t buf;             /* Decompressed block (compressed segments). */
    flow__spill_reader_t *sr;     /* File segment reader (disk). */
} flow__seg_reader_t;

/* Open segment r, verifying its checksum; FLOW_EPROTO when corrupt. */
int flow__seg_open(flow__seg_reader_t *rd, const flow__map_output_t *mo, uint32_t r,
                   flow__err_t *err);
int flow__seg_next(flow__seg_reader_t *rd, flow_rec_t *out, flow__err_t *err);
void flow__seg_close(flow__seg_reader_t *rd);

#endif
