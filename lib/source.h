/* source.h - the interface every data source sits behind
 * A source is cut into splits on the driver, one per partition. A split is
 * self-contained encoded bytes (no pointer into the driver) plus the hosts
 * that hold its data (preferred locations, for locality scheduling; empty
 * when any executor is as good as another). A task opens a reader on the
 * encoded split and pulls records from it.
 * Driver side: a source kind's planning function (flow__text_plan, ...) makes
 *   the splits; flow__splits_free releases them.
 * Executor side: ops = flow__source_ops(kind); ops->open -> ops->next* ->
 *   ops->close. Records returned by next stay valid until the next call to
 *   next or close on the same reader. */
#ifndef FLOW_SOURCE_H
#define FLOW_SOURCE_H

#include "err.h"

enum {
    FLOW_SRC_BLOCK = 1, /* Records in block layout carried in the split. */
    FLOW_SRC_RANGE = 2, /* An arithmetic run of int64 values. */
    FLOW_SRC_TEXT = 3,  /* A byte range of a text file. */
    FLOW_SRC_TEXT_CHUNKS = 4, /* The same, as chunks of whole lines. */
    FLOW_SRC_CHECKPOINT = 5,  /* A checkpoint file (src_ckpt.c). */
};

typedef struct flow__split {
    void *data;        /* Encoded split (flow__malloc'd, owned). */
    size_t len;        /* Its length. */
    char **locations;  /* Preferred hosts, flow__malloc'd strings (may be NULL). */
    int nlocations;    /* Number of preferred hosts. */
    uint64_t bytes;    /* Input bytes the split covers (for metrics and sizing). */
} flow__split_t;

/* Free n splits and the array. */
void flow__splits_free(flow__split_t *s, int n);

/* Counters a reader keeps for the task's metrics. */
typedef struct flow__src_metrics {
    uint64_t records; /* Records returned. */
    uint64_t bytes;   /* Input bytes consumed. */
} flow__src_metrics_t;

typedef struct flow__source_ops {
    uint8_t kind;     /* FLOW_SRC_*. */
    const char *name; /* For messages: "parallelize", "range", "text_file". */
    /* Open a reader on an encoded split; FLOW_EPROTO on malformed bytes,
     * FLOW_EIO (naming the file) when the data cannot be read. */
    int (*open)(const void *split, size_t len, flow__err_t *err, void **out_reader);
    /* 1 with *out set, 0 at the end, negative with err set. */
    int (*next)(void *reader, flow_rec_t *out, flow__err_t *err);
    /* Release the reader (unmapping its input). Safe on NULL. */
    void (*close)(void *reader);
    /* Add the reader's counters into *m. */
    void (*metrics)(void *reader, flow__src_metrics_t *m);
} flow__source_ops_t;

/* The ops of a source kind, or NULL for an unknown kind. */
const flow__source_ops_t *flow__source_ops(uint8_t kind);

extern const flow__source_ops_t flow__src_block_ops;
extern const flow__source_ops_t flow__src_range_ops;
extern const flow__source_ops_t flow__src_text_ops;
extern const flow__source_ops_t flow__src_text_chunk_ops;
extern const flow__source_ops_t flow__src_ckpt_ops;

/* Driver side: records (copied) into nparts block splits, contiguous runs. */
int flow__block_plan(const flow_rec_t *recs, size_t n, int nparts, flow__err_t *err,
                     flow__split_t **out, int *out_n);
/* Driver side: [start, end) by step into nparts splits. */
int flow__range_plan(int64_t start, int64_t end, int64_t step, int nparts, flow__err_t *err,
                     flow__split_t **out, int *out_n);
/* Driver side: list the files of path (file, directory or glob), check each
 * can be opened, and cut them into splits of at most split_size bytes, smaller
 * when needed to make at least min_partitions (goal = total / min_partitions,
 * as Hadoop's FileInputFormat). Empty files give no split; no split at all
 * gives zero partitions. Errors name the path. */
int flow__text_plan(const char *path, int min_partitions, uint64_t split_size,
                    flow__err_t *err, flow__split_t **out, int *out_n);

#endif
