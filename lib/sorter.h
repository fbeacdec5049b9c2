/* sorter.h - external sort of records under a memory limit
 * Records are copied into arena chunks; when the bytes held pass the limit,
 * the records in memory are sorted and written to a spill file (a run) and the
 * memory is reused. finish sorts what is left in memory and sets up a k-way
 * merge (a binary heap) over the runs and the memory run, so that next()
 * returns every record in order while holding one chunk per run. Ties keep
 * insertion order: runs are merged run-index first, and the in-memory sort is
 * stable on insertion sequence.
 * Order: cmp (a user flow_cmp_fn) or, when NULL, bytewise by key then by
 * value (unkeyed records first). descending reverses it. To keep comparisons
 * cheap the sorter caches the first 8 bytes of each key, big-endian, and only
 * calls the full comparison when those are equal (bytewise order only).
 * Call order: sorter_new -> sorter_add* -> sorter_finish -> sorter_next* ->
 *             sorter_free. */
#ifndef FLOW_SORTER_H
#define FLOW_SORTER_H

#include "codec.h"

typedef struct flow__sorter flow__sorter_t;

typedef struct flow__sorter_stats {
    uint64_t records;       /* Records added. */
    uint64_t runs;          /* Runs spilled to disk. */
    uint64_t spill_bytes;   /* Bytes written to disk. */
    uint64_t spill_records; /* Records written to disk. */
    uint64_t peak_mem;      /* Most bytes held in memory. */
} flow__sorter_stats_t;

/* Key order: keys bytewise (a shorter key first when it is a prefix of the
 * other), values ignored, so that equal keys keep insertion order. Given as
 * cmp, it is recognised and sorted as fast as bytewise order. */
int flow__sorter_cmp_keys(const flow_rec_t *a, const flow_rec_t *b, const flow_buf_t *arg);

/* mem_limit: bytes of records (and their index) held before spilling; at
 * least one record is always held. spill_dir: where runs go. */
flow__sorter_t *flow__sorter_new(flow_cmp_fn *cmp, const flow_buf_t *arg, int descending,
                                 size_t mem_limit, const char *spill_dir);
int flow__sorter_add(flow__sorter_t *s, const flow_rec_t *r, flow__err_t *err);
int flow__sorter_finish(flow__sorter_t *s, flow__err_t *err);
/* 1 with *out set (valid until the next call), 0 at the end, negative on a
 * read error (a corrupt run is FLOW_EPROTO). */
int flow__sorter_next(flow__sorter_t *s, flow_rec_t *out, flow__err_t *err);
void flow__sorter_stats(const flow__sorter_t *s, flow__sorter_stats_t *out);
/* Free memory and remove the runs. Safe on NULL. */
void flow__sorter_free(flow__sorter_t *s);

#endif
