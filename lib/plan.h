/* plan.h - task descriptors and task results, and their encodings
 * A task is self-contained bytes: the operator tree that computes one
 * partition (a source split at each leaf, narrow operators above, already
 * resolved to partitions so union disappears and coalesce is a CONCAT of its
 * parents' partitions), and the sink that consumes the partition's records
 * (an action's per-partition part). Functions travel as fnrefs, arguments as
 * bytes: nothing in a task points into the driver. The executor runtime
 * decodes a task, runs it and answers with an encoded result: status,
 * message, metrics and the sink's payload.
 *
 *   task   := "FLTK" | version: u32 | job | stage | task | partition | attempt
 *             (u32 each) | sink | node | checksum: u64 (XXH3-64 of the rest)
 *   node   := kind: u8 | dataset: u32 | partition: u32 | fields of the kind
 *             | nchildren: u32 | node * nchildren
 *   result := "FLRS" | version: u32 | job | stage | task | partition | attempt
 *             | code: i32 | permanent: u8 | dataset: u32 | message: str
 *             | fetch shuffle, map, executor: u32 each | metrics: 11 x u64
 *             | accumulator updates: bytes | payload: u64 length, pad to 8, bytes
 *             | checksum: u64
 * A SOURCE node's split is a u32 length, padding to 8, then the bytes, so that
 * records carried in it are 8-aligned when the task bytes are.
 * The decoder checks every length; malformed bytes are FLOW_EPROTO. */
#ifndef FLOW_PLAN_H
#define FLOW_PLAN_H

#include "fnref.h"
#include "rec.h"

#define FLOW_TASK_VERSION 1u

enum flow__op_kind {
    FLOW_OP_SOURCE = 1,      /* Leaf: read a source split. */
    FLOW_OP_MAP,             /* fn: flow_map_fn. */
    FLOW_OP_FLAT_MAP,        /* fn: flow_flat_map_fn. */
    FLOW_OP_FILTER,          /* fn: flow_filter_fn. */
    FLOW_OP_MAP_PARTITIONS,  /* fn: flow_partition_fn. */
    FLOW_OP_MAP_VALUES,      /* fn: flow_map_fn; the key is kept. */
    FLOW_OP_FLAT_MAP_VALUES, /* fn: flow_flat_map_fn; the key is kept. */
    FLOW_OP_KEY_BY,          /* fn: flow_map_fn setting the key. */
    FLOW_OP_KEYS,            /* Keys as unkeyed records. */
    FLOW_OP_VALUES,          /* Values as unkeyed records. */
    FLOW_OP_SAMPLE,          /* Bernoulli or Poisson sampling. */
    FLOW_OP_ZIP_INDEX,       /* (value, index) from a start index. */
    FLOW_OP_GLOM,            /* The partition as one block record. */
    FLOW_OP_CONCAT,          /* Children's records one after the other. */
    FLOW_OP_SHUFFLE_READ,    /* Leaf: a reduce partition of one or more shuffles. */
    FLOW_OP_CARTESIAN,       /* Pairs of child 0's and child 1's records. */
    FLOW_OP_BCAST_JOIN,      /* Join with a small side carried in arg. */
    FLOW_OP_CACHED,          /* A persisted partition: read it from a block store, or
                                compute child 0 and store it (level). No child: a
                                local checkpoint, which cannot be recomputed. */
    FLOW_OP_MAX
};

/* How map tasks route records to reduce partitions. */
enum flow__part_kind {
    FLOW_PART_HASH = 1,   /* XXH3 of the key, scaled to nparts. */
    FLOW_PART_RANGE,      /* Binary search of sampled bound keys. */
    FLOW_PART_USER,       /* A flow_partitioner_fn. */
    FLOW_PART_ROUND,      /* Round robin from a per-task start (repartition). */
};

typedef struct flow__partspec {
    uint8_t kind;          /* FLOW_PART_*. */
    uint32_t nparts;       /* Reduce partitions. */
    flow__fnref_t fn;      /* USER: the partitioner; RANGE: the key order, or none. */
    const void *arg;       /* Argument of fn. */
    size_t arg_len;        /* Its length. */
    const void *bounds;    /* RANGE: nparts - 1 bound keys, as a block of values. */
    size_t bounds_len;     /* Its length. */
    uint8_t descending;    /* RANGE: keys in descending order. */
} flow__partspec_t;

/* Combining values of equal keys (map-side combine, reduce-side aggregation). */
enum flow__agg_kind { FLOW_AGG_NONE = 0, FLOW_AGG_BUILTIN = 1, FLOW_AGG_UDF = 2 };
#define FLOW__FIRST 100 /* Built-in combiner keeping the first value (distinct). */

typedef struct flow__aggspec {
    uint8_t kind;                  /* FLOW_AGG_*. */
    uint8_t builtin;               /* BUILTIN: a flow_combiner_t or FLOW__FIRST. */
    flow__fnref_t create;          /* UDF: value -> combiner (flow_map_fn), or none. */
    flow__fnref_t merge_value;     /* UDF: (combiner, value) -> combiner. */
    flow__fnref_t merge_combiners; /* UDF: (combiner, combiner) -> combiner. */
    const void *arg;               /* Argument of the functions. */
    size_t arg_len;                /* Its length. */
    const void *zero;              /* fold/aggregate_by_key: create = merge_value(zero, v). */
    size_t zero_len;               /* Its length. */
    uint8_t has_zero;              /* zero is set. */
} flow__aggspec_t;

/* What a reduce task does with what it reads. */
enum flow__read_mode {
    FLOW_READ_PLAIN = 1, /* Records as they come, map by map. */
    FLOW_READ_AGG,       /* One record per key, combined by merge_combiners. */
    FLOW_READ_SORT,      /* Sorted by key. */
    FLOW_READ_GROUP,     /* Grouped by key across inputs, handed to fn. */
};

/* One input of a reduce task: a shuffle, or (shuffle 0) a child of the node
 * that is already partitioned the same way and is read narrowly. */
typedef struct flow__shuf_input {
    uint32_t shuffle;        /* Shuffle id, or 0 for a narrow child. */
    uint32_t nmaps;          /* Map tasks of the shuffle; for a child, its index. */
    const uint32_t *execs;   /* Executor holding each map's output. */
} flow__shuf_input_t;

typedef struct flow__shufread {
    uint8_t mode;               /* FLOW_READ_*. */
    uint32_t reduce;            /* Reduce partition read. */
    uint32_t ninputs;           /* Shuffles read (several for cogroup). */
    flow__shuf_input_t *inputs; /* Them. */
    flow__aggspec_t agg;        /* AGG: how to combine. */
    flow__fnref_t fn;           /* SORT: key order or none; GROUP: the group fn. */
    const void *arg;            /* Argument of fn. */
    size_t arg_len;             /* Its length. */
    uint8_t descending;         /* SORT: descending. */
    uint8_t cogroup;            /* GROUP: fn is a flow_cogroup_fn (else flow_group_fn). */
} flow__shufread_t;

typedef struct flow__opnode flow__opnode_t;
struct flow__opnode {
    uint8_t kind;              /* FLOW_OP_*. */
    uint32_t dataset;          /* Dataset this node computes, for messages. */
    uint32_t partition;        /* Its partition index. */
    uint8_t src_kind;          /* SOURCE: FLOW_SRC_*. */
    const void *split;         /* SOURCE: encoded split (in the task bytes). */
    size_t split_len;          /* SOURCE: its length. */
    flow__fnref_t fn;          /* UDF ops: the function. */
    const void *arg;           /* UDF ops: argument bytes (8-aligned copy). */
    size_t arg_len;            /* UDF ops: their length. */
    uint8_t with_replacement;  /* SAMPLE: Poisson instead of Bernoulli. */
    double fraction;           /* SAMPLE: expected fraction kept. */
    uint64_t seed;             /* SAMPLE: seed of the dataset. */
    uint64_t start_index;      /* ZIP_INDEX: index of the first record. */
    uint8_t level;             /* CACHED: storage level (FLOW_LEVEL_*). */
    flow__shufread_t *read;    /* SHUFFLE_READ: what to read and how. */
    flow__opnode_t **children; /* Inputs (one, or several for CONCAT). */
    uint32_t nchildren;        /* Number of inputs. */
};

enum flow__sink_kind {
    FLOW_SINK_COUNT = 1, /* Payload: u64 count. */
    FLOW_SINK_COLLECT,   /* Payload: the records as a block. */
    FLOW_SINK_REDUCE,    /* Payload: block of 0 or 1 record (fn). */
    FLOW_SINK_FOLD,      /* Payload: block of 1 record (zero, fn). */
    FLOW_SINK_AGGREGATE, /* Payload: block of 1 record (zero, fn = seq). */
    FLOW_SINK_TAKE,      /* Payload: block of the first n records. */
    FLOW_SINK_FOREACH,   /* Payload: empty (fn). */
    FLOW_SINK_TOPK,      /* Payload: block of the n first in order (fn = cmp). */
    FLOW_SINK_STATS,     /* Payload: count u64, mean, m2, min, max, sum f64. */
    FLOW_SINK_SAVE,      /* Payload: u64 records written (path). */
    FLOW_SINK_SHUFFLE,   /* Payload: u64 records, bytes, spill bytes (shuffle). */
    FLOW_SINK_SAMPLE_KEYS, /* Payload: u64 count, then a block of sampled keys (n). */
    FLOW_SINK_CHECKPOINT,  /* Payload: u64 records, raw bytes, file bytes, str path (path). */
    FLOW_SINK_MAX
};

typedef struct flow__sinkspec {
    uint8_t kind;      /* FLOW_SINK_*. */
    flow__fnref_t fn;  /* The sink's function, if any. */
    const void *arg;   /* Argument bytes (8-aligned copy). */
    size_t arg_len;    /* Their length. */
    const void *zero;  /* FOLD, AGGREGATE: the zero record as a block. */
    size_t zero_len;   /* Its length. */
    uint64_t n;        /* TAKE, TOPK: how many records. */
    uint8_t descending; /* TOPK: largest first. */
    const char *path;  /* SAVE: output directory (NUL-terminated copy). */
    uint32_t shuffle;  /* SHUFFLE: shuffle id. */
    flow__partspec_t part; /* SHUFFLE: the partitioner. */
    flow__aggspec_t agg;   /* SHUFFLE: map-side combine, or none. */
} flow__sinkspec_t;

typedef struct flow__task_desc {
    uint32_t job;          /* Job id. */
    uint32_t stage;        /* Stage id. */
    uint32_t task;         /* Task index in its stage. */
    uint32_t partition;    /* Partition of the stage's dataset. */
    uint32_t attempt;      /* Attempt, from 0. */
    flow__sinkspec_t sink; /* What consumes the records. */
    flow__opnode_t *root;  /* What produces them. */
} flow__task_desc_t;

typedef struct flow__metrics {
    uint64_t wall_ns;     /* Time running the task. */
    uint64_t records_in;  /* Records read from sources. */
    uint64_t bytes_in;    /* Bytes read from sources. */
    uint64_t records_out; /* Records that reached the sink. */
    uint64_t bytes_out;   /* Payload bytes of the result. */
    uint64_t peak_mem;    /* Most bytes held by the task's arenas and buffers. */
    uint64_t shuffle_write; /* Shuffle bytes written. */
    uint64_t shuffle_read;  /* Shuffle bytes read. */
    uint64_t spill_bytes;   /* Bytes spilled to disk. */
    uint64_t cache_hits;    /* Cached partitions read. */
    uint64_t cache_misses;  /* Partitions of persisted datasets computed. */
} flow__metrics_t;
#define FLOW_NMETRICS 11

typedef struct flow__task_result {
    uint32_t job, stage, task, partition, attempt; /* Which task attempt. */
    uint32_t fetch_shuffle;  /* A fetch failed: its shuffle (0: none). */
    uint32_t fetch_map;      /* and map partition. */
    uint32_t fetch_exec;     /* and the executor that should have had it. */
    flow__err_t err;         /* Status, permanence, failing dataset, message. */
    flow__metrics_t metrics; /* Counters of the attempt. */
    const void *accs;        /* Accumulator updates (encoded by runner.c), or NULL. */
    size_t accs_len;         /* Their length. */
    const void *payload;     /* Sink payload (borrowed from the bytes decoded). */
    uint64_t payload_len;    /* Its length. */
} flow__task_result_t;

/* ---- Encoding (driver side) ----------------------------------------------- */

void flow__task_put_header(flow__wbuf_t *b, uint32_t job, uint32_t stage, uint32_t task,
                           uint32_t partition, uint32_t attempt);
void flow__task_put_sink(flow__wbuf_t *b, const flow__sinkspec_t *s);
/* A node's own fields; its nchildren children follow, each put the same way. */
void flow__task_put_node(flow__wbuf_t *b, const flow__opnode_t *n);
/* End a task (or result) that began at offset start of b with the XXH3-64
 * checksum of its bytes, so that a corrupted task is refused rather than run
 * (a flipped function offset would otherwise jump into the wrong code). */
void flow__seal(flow__wbuf_t *b, size_t start);

/* ---- Decoding (executor side) ---------------------------------------------
 * Nodes and aligned copies of arguments are allocated from arena; splits are
 * borrowed from the task bytes, which must outlive the descriptor. */
int flow__task_decode(const void *bytes, size_t len, flow__arena_t *arena,
                      flow__task_desc_t *out, flow__err_t *err);

void flow__result_encode(flow__wbuf_t *b, const flow__task_result_t *r);
int flow__result_decode(const void *bytes, size_t len, flow__task_result_t *out,
                        flow__err_t *err);

/* Name of an operator kind ("map", "filter", ...). */
const char *flow__op_name(uint8_t kind);

#endif
