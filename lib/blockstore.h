/* blockstore.h - an executor's blocks and its one memory budget
 * The store holds two kinds of entries: shuffle map outputs (a segment per
 * reduce partition) and cached partitions of persisted datasets (one
 * segment). Both are blocks of records, checksummed (XXH3-64) in memory or
 * LZ4-framed on disk, and both count against the executor's memory budget
 * (executor.memory), which the store also hands out to running operators
 * (execution memory: combine tables, sorters, group buffers). It is one
 * budget, as Spark's unified memory manager: storage + execution <= limit.
 *   - A new map output stays in memory when it fits in what is free and in
 *     the share of the budget map outputs may hold (memory.shuffle_fraction),
 *     else it goes to a spill file in the local directory. The share keeps a
 *     job's resident memory independent of its input's size.
 *   - A new cached partition may evict other entries, least recently used
 *     first, except those of its own dataset (a dataset larger than memory
 *     would otherwise evict itself in a cycle); evicting moves a map output
 *     or a memory-and-disk partition to disk, and drops a memory one.
 *   - Execution may evict entries too, but only while storage holds more
 *     than its protected share (memory.storage_fraction of the limit).
 * A reduce or cache read pins an entry; pinned entries are never evicted, and
 * a drop frees an entry when the last reader lets go. A reader in another
 * executor of the same process reads the store directly (an executor group);
 * executors in other processes will serve the same reads over the wire.
 * Thread-safe. Call order: bs_new -> (bs_put | bs_cache_put | bs_get/
 * bs_cache_get -> seg_open/next/close -> bs_release | bs_exec_acquire/
 * bs_exec_release)* -> bs_free. */
#ifndef FLOW_BLOCKSTORE_H
#define FLOW_BLOCKSTORE_H

#include <pthread.h>

#include "codec.h"

enum flow__block_kind {
    FLOW_BLK_SHUFFLE = 1,      /* A map output: (shuffle, map), a segment per reduce. */
    FLOW_BLK_CACHE = 2,        /* A cached partition: (dataset, partition), one segment. */
};

/* Storage levels (flow_storage_level_t). */
#define FLOW_LEVEL_MEMORY 1
#define FLOW_LEVEL_MEMORY_SER 2
#define FLOW_LEVEL_MEMORY_DISK 3
#define FLOW_LEVEL_DISK 4

typedef struct flow__map_output {
    uint8_t kind;              /* FLOW_BLK_*. */
    uint8_t level;             /* CACHE: FLOW_LEVEL_*. */
    uint32_t shuffle;          /* Shuffle id, or the cached dataset's id. */
    uint32_t map;              /* Map partition, or the cached partition. */
    uint32_t nparts;           /* Reduce partitions (segments); 1 when cached. */
    flow__wbuf_t *segs;        /* In memory: the segments, or NULL on disk. */
    uint64_t *sums;            /* In memory: XXH3-64 of each FLOW_SEG_CHUNK of each
                                  segment's bytes, segment r's from sum_at[r]. */
    uint32_t *sum_at;          /* In memory: nparts + 1 indices into sums. */
    int compressed;            /* In memory: segments are LZ4 frames. */
    flow__spill_file_t file;   /* On disk: segment r holds reduce partition r. */
    int on_disk;               /* The output lives in file. */
    uint64_t mem_bytes;        /* Memory the entry holds. */
    uint64_t records;          /* Records in the output. */
    uint64_t raw_bytes;        /* Bytes of its records in block layout. */
    uint64_t tick;             /* Last use (least recently used goes first). */
    int refs;                  /* Readers holding it, plus one for the store. */
    struct flow__map_output *next; /* Next entry of the store. */
} flow__map_output_t;

typedef struct flow__blockstore {
    pthread_mutex_t mu;          /* Guards everything below. */
    flow__map_output_t *outputs; /* Entries. */
    uint64_t mem_bytes;          /* Memory held by entries (storage). */
    uint64_t mem_limit;          /* The executor's whole budget. */
    uint64_t storage_min;        /* Storage execution may not evict below. */
    uint64_t shuffle_mem;        /* Memory held by map outputs (part of mem_bytes). */
    uint64_t shuffle_max;        /* Most of it new map outputs may take. */
    uint64_t exec_bytes;         /* Execution memory granted. */
    uint64_t disk_bytes;         /* Bytes of entries on disk now. */
    uint64_t evictions;          /* Entries evicted (to disk or away). */
    uint64_t evicted_bytes;      /* Memory they held. */
    uint64_t tick;               /* Use counter. */
    int arena;                   /* The executor's jemalloc arena, or -1. */
    int compress;                /* Compress in-memory shuffle segments. */
    char dir[256];               /* Local directory for files. */
} flow__blockstore_t;

/* Executors of one process that can read each other's stores. */
typedef struct flow__exec_group {
    int n;                        /* Number of executors. */
    flow__blockstore_t **stores;  /* stores[id - 1] is executor id's store. */
} flow__exec_group_t;

/* A store with a budget of mem_limit bytes, storage_fraction of it protected
 * from execution and at most shuffle_fraction of it taken by new map outputs. */
flow__blockstore_t *flow__bs_new(const char *dir, uint64_t mem_limit, double storage_fraction,
                                 double shuffle_fraction, int compress);
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
/* Cache a partition: mo (kind CACHE, one segment, or on disk) becomes the
 * store's entry of (dataset, partition), replacing an older one. The store
 * takes mo in every case. At a memory level it is kept in memory if it fits,
 * after evicting other datasets' entries; else a memory-and-disk partition
 * goes to disk and a memory one is not kept (*stored 0). */
int flow__bs_cache_put(flow__blockstore_t *bs, flow__map_output_t *mo, int *stored,
                       flow__err_t *err);
/* Pin the cached (dataset, partition), or NULL; counts as a use. */
flow__map_output_t *flow__bs_cache_get(flow__blockstore_t *bs, uint32_t dataset,
                                       uint32_t partition);
/* Whether (dataset, partition) is cached. */
int flow__bs_cache_has(flow__blockstore_t *bs, uint32_t dataset, uint32_t partition);
/* Drop the cached partitions of a dataset (partition < 0: all of them). */
void flow__bs_cache_drop(flow__blockstore_t *bs, uint32_t dataset, int64_t partition);
/* Add what is cached of a dataset to the counters (flow_cache_info_t's). */
void flow__bs_cache_count(flow__blockstore_t *bs, uint32_t dataset, int *mem_parts,
                          int *disk_parts, uint64_t *mem_bytes, uint64_t *disk_bytes,
                          uint64_t *records);
/* Remove one entry (a corrupt one) if it is still the store's. */
void flow__bs_forget(flow__blockstore_t *bs, flow__map_output_t *mo);

/* Execution memory: grant up to want bytes (evicting entries while storage
 * is above its protected share), at least want / 4. Release what was granted. */
uint64_t flow__bs_exec_acquire(flow__blockstore_t *bs, uint64_t want);
/* Memory to build a block of dataset in before it is stored ("unrolling"):
 * all n bytes, evicting other datasets' entries as a cached block would, or
 * nothing (0). Released with flow__bs_exec_release. */
int flow__bs_unroll(flow__blockstore_t *bs, uint64_t n, uint32_t dataset);
void flow__bs_exec_release(flow__blockstore_t *bs, uint64_t n);

/* Test hook: flip one byte of the output's segment r (in memory or on disk).
 * FLOW_ENOENT when there is no such output or the segment is empty. */
int flow__bs_corrupt(flow__blockstore_t *bs, uint32_t shuffle, uint32_t map, uint32_t r);

/* In-memory segments are checksummed in pieces of this many bytes, so that
 * a reader checks each piece just before it reads it (one pass over memory,
 * the piece still in cache) rather than the whole segment first. */
#define FLOW_SEG_CHUNK (256u << 10)

/* Reading one segment of a pinned output. */
typedef struct flow__seg_reader {
    const flow__map_output_t *mo; /* The output. */
    const uint8_t *blk;           /* Block being read (memory). */
    size_t len;                   /* Its length. */
    size_t pos;                   /* Next record. */
    size_t checked;               /* Bytes of blk whose checksums were checked. */
    size_t fetched;               /* Bytes of blk prefetched (see seg_next). */
    const uint64_t *sums;         /* Checksums of blk's pieces (uncompressed). */
    uint32_t r;                   /* The segment. */
    flow__wbuf_t buf;             /* Decompressed block (compressed segments). */
    flow__spill_reader_t *sr;     /* File segment reader (disk). */
} flow__seg_reader_t;

/* Open segment r, verifying the checksum of its first piece (of all of it
 * when compressed or on disk, chunk by chunk as read); FLOW_EPROTO when
 * corrupt, here or from seg_next. */
int flow__seg_open(flow__seg_reader_t *rd, const flow__map_output_t *mo, uint32_t r,
                   flow__err_t *err);
int flow__seg_next(flow__seg_reader_t *rd, flow_rec_t *out, flow__err_t *err);
void flow__seg_close(flow__seg_reader_t *rd);

#endif
