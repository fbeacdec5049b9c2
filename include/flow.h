/* flow.h - the public API of libflow, an in-memory, Spark-like dataflow engine.
 *
 * A program opens a context on a master URL, builds a lazy DAG of partitioned
 * datasets with transformations, and runs it with actions:
 *
 *     flow_context_t *ctx = flow_context_new();
 *     flow_context_set(ctx, "master", "local[2]");
 *     if (flow_context_start(ctx) < 0) { ... flow_last_error(ctx) ... }
 *     flow_dataset_t *lines = flow_dataset_text_file(ctx, "in.txt", 0);
 *     flow_dataset_t *hits  = flow_dataset_filter(lines, has_error, NULL, 0);
 *     uint64_t n;
 *     flow_dataset_count(hits, &n);
 *     flow_context_destroy(&ctx);          (releases every dataset left)
 *
 * Records are byte strings, optionally keyed (a pair of byte strings). Records
 * that the engine stores are 8-byte aligned, so a UDF may read an int64 or a
 * double in place; lines read from text are views into the mapped input.
 *
 * User functions (UDFs) are plain C functions. Each takes the task context and
 * an argument given by value when the dataset was made (bytes copied into the
 * plan, the C analogue of a closure's captured values). No pointer into the
 * driver's memory may travel in an argument: a task runs wherever an executor
 * runs it. A UDF returns 0 on success, or fails its task with flow_task_fail().
 *
 * Errors: fallible calls return an int (FLOW_OK or a negative FLOW_E*) or a
 * pointer (NULL); flow_last_error(ctx) says what and where. A context and its
 * datasets are used from one thread at a time; contexts are independent. */
#ifndef FLOW_H
#define FLOW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FLOW_BUILDING) && defined(__GNUC__)
#define FLOW_EXPORT __attribute__((visibility("default")))
#else
#define FLOW_EXPORT
#endif

#if defined(__GNUC__)
#define FLOW_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FLOW_PRINTF(a, b)
#endif

#define FLOW_VERSION_MAJOR 0
#define FLOW_VERSION_MINOR 1
#define FLOW_VERSION_PATCH 0

/* ---- Status codes ------------------------------------------------------ */

#define FLOW_OK 0
#define FLOW_EINVAL (-1)     /* Bad argument, configuration or input data. */
#define FLOW_ENOMEM (-2)     /* Memory or the task's memory budget ran out. */
#define FLOW_EIO (-3)        /* A file could not be read or written. */
#define FLOW_ETASK (-4)      /* A user function failed its task. */
#define FLOW_ENET (-5)       /* An executor or the transport was lost. */
#define FLOW_ETIMEDOUT (-6)  /* An executor stopped answering. */
#define FLOW_ECANCELED (-7)  /* The job or task was cancelled. */
#define FLOW_EEXIST (-8)     /* An output already exists. */
#define FLOW_ENOENT (-9)     /* A path or an element does not exist. */
#define FLOW_EPROTO (-10)    /* A malformed message, task or block. */

/* Return a constant name and description of a status code ("FLOW_EINVAL: ..."). */
FLOW_EXPORT const char *flow_strerror(int code);

/* ---- Plain values ------------------------------------------------------ */

/* A borrowed run of bytes. */
typedef struct flow_buf {
    const void *data; /* First byte; may be NULL when len is 0. */
    size_t len;       /* Number of bytes. */
} flow_buf_t;

/* One record: a value, and a key when the record is a pair. */
typedef struct flow_rec {
    const void *key; /* Key bytes, or NULL when the record has no key. */
    size_t klen;     /* Key length; 0 when unkeyed (an empty key is allowed). */
    const void *val; /* Value bytes; may be anything when vlen is 0. */
    size_t vlen;     /* Value length. */
} flow_rec_t;

/* Make records from plain values; the bytes are borrowed, not copied. */
static inline flow_rec_t flow_rec(const void *val, size_t vlen)
{
    flow_rec_t r = {NULL, 0, val, vlen};
    return r;
}
static inline flow_rec_t flow_rec_kv(const void *key, size_t klen, const void *val,
                                     size_t vlen)
{
    static const char empty_key[1] = {0};
    flow_rec_t r = {key ? key : empty_key, klen, val, vlen};
    return r;
}
static inline flow_rec_t flow_rec_str(const char *s)
{
    return flow_rec(s, strlen(s));
}

/* ---- Typed helpers ----------------------------------------------------- */

/* Values hold numbers in native byte order (8 bytes, read in place when the
 * record is stored by the engine). These read them from any alignment. */
static inline int64_t flow_i64(const void *p)
{
    int64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline double flow_f64(const void *p)
{
    double v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Keys hold numbers encoded order-preservingly: 8 bytes big-endian with the
 * sign bit flipped (and, for doubles, the other bits flipped when negative),
 * so that bytewise order is numeric order (for doubles: -inf < ... < -0.0 <
 * +0.0 < ... < +inf < NaN). */
FLOW_EXPORT void flow_key_from_i64(int64_t v, uint8_t out[8]);
FLOW_EXPORT int64_t flow_key_to_i64(const void *key8);
FLOW_EXPORT void flow_key_from_f64(double v, uint8_t out[8]);
FLOW_EXPORT double flow_key_to_f64(const void *key8);

/* ---- Context ----------------------------------------------------------- */

typedef struct flow_context flow_context_t;
typedef struct flow_dataset flow_dataset_t;
typedef struct flow_result flow_result_t;
typedef struct flow_task flow_task_t;
typedef struct flow_emit flow_emit_t;
typedef struct flow_iter flow_iter_t;

/* Allocate a context with default settings. Only allocates: NULL means out of
 * memory. Configure it with flow_context_set / flow_context_load_conf, then
 * call flow_context_start. */
FLOW_EXPORT flow_context_t *flow_context_new(void);

/* Set a configuration key (the README lists the keys; lib/conf.c has their
 * defaults and meanings). Settings made here win over the environment
 * (FLOW_<KEY>, dots as underscores, e.g. FLOW_MASTER, FLOW_TASK_MAX_ATTEMPTS),
 * which wins over a configuration file. An unknown key or a bad value is
 * FLOW_EINVAL naming it. Only before start. */
FLOW_EXPORT int flow_context_set(flow_context_t *ctx, const char *key, const char *value);

/* Read settings from a JSON file: an object of keys, flat ("task.max_attempts")
 * or nested ({"task": {"max_attempts": 3}}); values are strings, numbers or
 * booleans. Errors name the file and the key. Only before start. */
FLOW_EXPORT int flow_context_load_conf(flow_context_t *ctx, const char *path);

/* Resolve the configuration and start the executors for the master URL:
 * "local" (one executor thread), "local[N]", "local[*]" (one per core, the
 * default). */
FLOW_EXPORT int flow_context_start(flow_context_t *ctx);

/* Convenience: new + set("master") + start. On failure returns NULL and, when
 * out_err is not NULL, stores a message that the caller frees with flow_free. */
FLOW_EXPORT flow_context_t *flow_context_open(const char *master, char **out_err);

/* Stop the executors, release every dataset still held and the context; sets
 * *ctx_p to NULL. Safe on NULL. */
FLOW_EXPORT void flow_context_destroy(flow_context_t **ctx_p);

/* The message of the last failure on ctx. Owned by ctx; valid until the next
 * failing call on ctx. Never NULL. */
FLOW_EXPORT const char *flow_last_error(const flow_context_t *ctx);

/* The effective value of a configuration key after start (or NULL). Owned by ctx. */
FLOW_EXPORT const char *flow_context_get(const flow_context_t *ctx, const char *key);

/* Number of executor task slots (threads in local mode). */
FLOW_EXPORT int flow_context_parallelism(const flow_context_t *ctx);

/* Scheduler counters, for tests and tools. */
typedef struct flow_stats {
    uint64_t jobs;          /* Jobs run (actions, plus internal jobs). */
    uint64_t stages;        /* Stages run. */
    uint64_t tasks;         /* Task attempts launched. */
    uint64_t tasks_failed;  /* Task attempts that failed. */
    uint64_t tasks_retried; /* Task attempts launched as retries. */
    uint64_t map_tasks;     /* Successful tasks of map (shuffle-writing) stages. */
    uint64_t fetch_failures; /* Reduce tasks that found a map output missing or corrupt. */
    uint64_t records_read;  /* Records read from sources. */
    uint64_t bytes_read;    /* Bytes read from sources. */
    uint64_t shuffle_bytes_written; /* Shuffle bytes written by map tasks. */
    uint64_t shuffle_bytes_read;    /* Shuffle bytes read by reduce tasks. */
    uint64_t spill_bytes;   /* Bytes spilled to disk by sorts, aggregations, shuffles. */
    uint64_t peak_task_memory; /* Largest memory of one task's buffers. */
    uint64_t cache_hits;    /* Partitions of persisted datasets read from a block store. */
    uint64_t cache_misses;  /* Partitions of persisted datasets computed (and stored). */
    uint64_t broadcasts_sent; /* Broadcast variables sent to executors (one per executor). */
} flow_stats_t;
FLOW_EXPORT void flow_context_stats(const flow_context_t *ctx, flow_stats_t *out);

/* Free memory that libflow returned as char * (error strings, paths). */
FLOW_EXPORT void flow_free(void *p);

/* ---- The task context (inside UDFs) ------------------------------------ */

/* Index of the partition this task computes (for a narrow chain, the index of
 * the partition of the dataset whose UDF is running). */
FLOW_EXPORT int flow_task_partition(const flow_task_t *t);
/* Attempt number of this task, from 0. */
FLOW_EXPORT int flow_task_attempt(const flow_task_t *t);
/* Fail the task with a message. A permanent failure is not retried. Returns -1,
 * so that a UDF can `return flow_task_fail(t, 0, "bad line %d", n);`. */
FLOW_EXPORT int flow_task_fail(flow_task_t *t, int permanent, const char *fmt, ...)
    FLOW_PRINTF(3, 4);
/* Scratch memory, 8-byte aligned, for building a UDF's output. It lives until
 * the record it builds has been consumed (the next call of the same UDF). NULL
 * when the task's memory ran out (then return -1: the task fails). */
FLOW_EXPORT void *flow_task_alloc(flow_task_t *t, size_t n);

/* Emit a record from a flat_map-like UDF. The bytes are copied; returns 0, or
 * a negative status when the task's memory ran out (return it). */
FLOW_EXPORT int flow_emit(flow_emit_t *out, const flow_rec_t *r);
FLOW_EXPORT int flow_emit_val(flow_emit_t *out, const void *val, size_t vlen);
FLOW_EXPORT int flow_emit_kv(flow_emit_t *out, const void *key, size_t klen,
                             const void *val, size_t vlen);

/* Read the next record of a partition in map_partitions: 1 with *out set,
 * 0 at the end, negative on failure (return it). *out is valid until the next
 * call. */
FLOW_EXPORT int flow_iter_next(flow_iter_t *it, flow_rec_t *out);

/* ---- UDF types ----------------------------------------------------------
 * Every UDF gets the task context first and its by-value argument last.
 * Return 0 on success and -1 (via flow_task_fail) on failure. */

/* map: set *out (initialised to *in). Its bytes may point into in, into arg,
 * or into flow_task_alloc memory. For map_values only out->val/vlen are used;
 * for key_by only out->key/klen. */
typedef int flow_map_fn(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                        const flow_buf_t *arg);
/* flat_map: emit zero or more records for in. */
typedef int flow_flat_map_fn(flow_task_t *t, const flow_rec_t *in, flow_emit_t *out,
                             const flow_buf_t *arg);
/* filter: 1 keeps the record, 0 drops it, negative fails the task. */
typedef int flow_filter_fn(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg);
/* map_partitions: read the partition from in, emit into out. */
typedef int flow_partition_fn(flow_task_t *t, flow_iter_t *in, flow_emit_t *out,
                              const flow_buf_t *arg);
/* reduce, fold, aggregate: combine a and b into *out (initialised to *a); out
 * may point into a, b, arg or flow_task_alloc memory. */
typedef int flow_reduce_fn(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b,
                           flow_rec_t *out, const flow_buf_t *arg);
/* foreach: look at one record. */
typedef int flow_foreach_fn(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg);
/* Ordering for take_ordered and top: negative, 0 or positive, as memcmp. */
typedef int flow_cmp_fn(const flow_rec_t *a, const flow_rec_t *b, const flow_buf_t *arg);

/* ---- Sources ------------------------------------------------------------ */

/* Records copied from memory into nparts partitions (0: the default
 * parallelism), in order: partition i holds a contiguous run. */
FLOW_EXPORT flow_dataset_t *flow_dataset_parallelize(flow_context_t *ctx,
                                                     const flow_rec_t *recs, size_t n,
                                                     int nparts);
FLOW_EXPORT flow_dataset_t *flow_dataset_parallelize_i64(flow_context_t *ctx,
                                                         const int64_t *v, size_t n,
                                                         int nparts);
FLOW_EXPORT flow_dataset_t *flow_dataset_parallelize_f64(flow_context_t *ctx,
                                                         const double *v, size_t n,
                                                         int nparts);
FLOW_EXPORT flow_dataset_t *flow_dataset_parallelize_str(flow_context_t *ctx,
                                                         const char *const *s, size_t n,
                                                         int nparts);
/* The int64 values start, start+step, ... below end (above, for a negative
 * step), as 8-byte native values, in nparts partitions (0: default). */
FLOW_EXPORT flow_dataset_t *flow_dataset_range(flow_context_t *ctx, int64_t start,
                                               int64_t end, int64_t step, int nparts);
/* Lines of a file, a directory (its files in name order, skipping names that
 * start with '_' or '.') or a glob pattern; files are taken in path order.
 * Each file is cut into byte ranges of at most text.split_size bytes (128 MiB
 * by default, as HDFS blocks), smaller ones when min_partitions asks for more
 * (0: twice the executors, so that every executor gets work and small inputs
 * still balance; Hadoop's rule, size = min(split_size, total / min_partitions));
 * a line belongs to the split
 * where it starts. Lines end at '\n'; a '\r' right before it is dropped (a
 * lone '\r' is data); the last line needs no newline. Records are unkeyed
 * views into the mapped file. A missing or unreadable path is an error that
 * names it. */
FLOW_EXPORT flow_dataset_t *flow_dataset_text_file(flow_context_t *ctx, const char *path,
                                                   int min_partitions);
/* The same files and splits as text_file, read as chunks of whole lines (up
 * to 1 MiB each; a longer line is a chunk of its own), raw: each line keeps
 * its '\n' (and any '\r'); the last line of a file may lack its '\n'. For
 * UDFs that scan many lines at once (memchr or memmem over a chunk) rather
 * than paying a call per line; every line is in exactly one chunk. */
FLOW_EXPORT flow_dataset_t *flow_dataset_text_chunks(flow_context_t *ctx, const char *path,
                                                     int min_partitions);

/* ---- Datasets ----------------------------------------------------------- */

/* Release a handle; sets *ds_p to NULL. Datasets made from it keep it alive.
 * Safe on NULL and when repeated. */
FLOW_EXPORT void flow_dataset_destroy(flow_dataset_t **ds_p);
FLOW_EXPORT int flow_dataset_npartitions(const flow_dataset_t *ds);
FLOW_EXPORT flow_context_t *flow_dataset_context(const flow_dataset_t *ds);
/* A stable identifier (unique in its context) and a name used in messages
 * ("filter", or what flow_dataset_set_name set). */
FLOW_EXPORT uint32_t flow_dataset_id(const flow_dataset_t *ds);
FLOW_EXPORT const char *flow_dataset_name(const flow_dataset_t *ds);
FLOW_EXPORT void flow_dataset_set_name(flow_dataset_t *ds, const char *name);

/* ---- Narrow transformations ------------------------------------------------
 * Lazy: each returns a new dataset (the caller owns it) or NULL on failure.
 * The argument bytes (arg, arg_len) are copied. */

FLOW_EXPORT flow_dataset_t *flow_dataset_map(flow_dataset_t *ds, flow_map_fn *fn,
                                             const void *arg, size_t arg_len);
FLOW_EXPORT flow_dataset_t *flow_dataset_flat_map(flow_dataset_t *ds, flow_flat_map_fn *fn,
                                                  const void *arg, size_t arg_len);
FLOW_EXPORT flow_dataset_t *flow_dataset_filter(flow_dataset_t *ds, flow_filter_fn *fn,
                                                const void *arg, size_t arg_len);
FLOW_EXPORT flow_dataset_t *flow_dataset_map_partitions(flow_dataset_t *ds,
                                                        flow_partition_fn *fn,
                                                        const void *arg, size_t arg_len);
/* map_values / flat_map_values keep each record's key. */
FLOW_EXPORT flow_dataset_t *flow_dataset_map_values(flow_dataset_t *ds, flow_map_fn *fn,
                                                    const void *arg, size_t arg_len);
FLOW_EXPORT flow_dataset_t *flow_dataset_flat_map_values(flow_dataset_t *ds,
                                                         flow_flat_map_fn *fn,
                                                         const void *arg, size_t arg_len);
/* keys: unkeyed records of the keys; values: unkeyed records of the values. */
FLOW_EXPORT flow_dataset_t *flow_dataset_keys(flow_dataset_t *ds);
FLOW_EXPORT flow_dataset_t *flow_dataset_values(flow_dataset_t *ds);
/* key_by: each record's value keyed by what fn sets in out->key. */
FLOW_EXPORT flow_dataset_t *flow_dataset_key_by(flow_dataset_t *ds, flow_map_fn *fn,
                                                const void *arg, size_t arg_len);
/* The partitions of every input, in order (a's, then b's, ...). */
FLOW_EXPORT flow_dataset_t *flow_dataset_union(flow_dataset_t *a, flow_dataset_t *b);
FLOW_EXPORT flow_dataset_t *flow_dataset_union_all(flow_dataset_t *const *ds, int n);
/* A random sample. Without replacement each record is kept with probability
 * fraction (Bernoulli); with replacement each record appears k times, k drawn
 * from Poisson(fraction). Partition p uses xoshiro256** seeded by splitmix64
 * from seed ^ (0x9E3779B97F4A7C15 * (p + 1)): the same seed gives the same
 * sample on any master. */
FLOW_EXPORT flow_dataset_t *flow_dataset_sample(flow_dataset_t *ds, int with_replacement,
                                                double fraction, uint64_t seed);
/* At most nparts partitions without a shuffle: partition i of the result
 * reads the contiguous run of parent partitions [i*P/n, (i+1)*P/n). */
FLOW_EXPORT flow_dataset_t *flow_dataset_coalesce(flow_dataset_t *ds, int nparts);
/* Pairs (record value, index): the key is the input record's value, the value
 * its index in the whole dataset as a native int64; an input key is dropped.
 * Runs a counting job first when the dataset has more than one partition. */
FLOW_EXPORT flow_dataset_t *flow_dataset_zip_with_index(flow_dataset_t *ds);
/* One record per partition whose value is the partition's records in block
 * layout; read them back with flow_glom_next. */
FLOW_EXPORT flow_dataset_t *flow_dataset_glom(flow_dataset_t *ds);
/* Iterate the records inside a glom record: *pos starts at 0; returns 1 with
 * *out set, 0 at the end, FLOW_EPROTO when the bytes are not a block. */
FLOW_EXPORT int flow_glom_next(const flow_rec_t *glommed, size_t *pos, flow_rec_t *out);

/* ---- Wide transformations (shuffles) ----------------------------------------
 * Each moves records between partitions by key: a map stage writes every
 * record to the bucket of its key's reduce partition, a reduce stage reads its
 * buckets from every map task. nparts 0 (as Spark's default partitioner):
 * the count of an input already hash-partitioned by key, else
 * default.parallelism when it is set, else the largest partition count of the
 * inputs; repartition takes the default parallelism. Keys
 * compare bytewise and hash with XXH3 unless a function says otherwise. Data
 * larger than executor.memory spills to disk and gives the same answer. */

/* Which reduce partition (0 .. nparts-1) a key goes to; out-of-range answers
 * fail the task. */
typedef uint32_t flow_partitioner_fn(const void *key, size_t klen, uint32_t nparts,
                                     const flow_buf_t *arg);

/* Built-in combiners for the *_by_key calls: values are native int64 or
 * double (8 bytes), or any bytes for COUNT (result: int64) and CONCAT. */
typedef enum flow_combiner {
    FLOW_SUM_I64 = 1,
    FLOW_SUM_F64,
    FLOW_MIN_I64,
    FLOW_MAX_I64,
    FLOW_MIN_F64,
    FLOW_MAX_F64,
    FLOW_COUNT,
    FLOW_CONCAT,
} flow_combiner_t;

/* Per key in group_by_key and cogroup: the values of one input, read in order
 * with flow_values_next (1, 0 at the end, negative on failure: return it) and
 * from the start again after flow_values_rewind. They may come back from disk,
 * so one hot key cannot exhaust memory. */
typedef struct flow_values flow_values_t;
FLOW_EXPORT int flow_values_next(flow_values_t *v, flow_rec_t *out);
FLOW_EXPORT void flow_values_rewind(flow_values_t *v);
/* Number of values (counted as they were gathered). */
FLOW_EXPORT uint64_t flow_values_count(const flow_values_t *v);

/* group_by_key: called once per key with its values; emits any records. */
typedef int flow_group_fn(flow_task_t *t, const void *key, size_t klen, flow_values_t *vals,
                          flow_emit_t *out, const flow_buf_t *arg);
/* cogroup: called once per key present in any input, vals[i] the values of
 * input i (possibly none). */
typedef int flow_cogroup_fn(flow_task_t *t, const void *key, size_t klen,
                            flow_values_t *const *vals, int ninputs, flow_emit_t *out,
                            const flow_buf_t *arg);

/* Records by the partitioner (NULL: hash of the key); keyed records only. */
FLOW_EXPORT flow_dataset_t *flow_dataset_partition_by(flow_dataset_t *ds, int nparts,
                                                      flow_partitioner_fn *fn,
                                                      const void *arg, size_t arg_len);
/* reduce_by_key: one record per key, its values combined with fn (which
 * should be associative and commutative), combining on the map side first. */
FLOW_EXPORT flow_dataset_t *flow_dataset_reduce_by_key(flow_dataset_t *ds, flow_reduce_fn *fn,
                                                       const void *arg, size_t arg_len,
                                                       int nparts);
/* As reduce_by_key with a built-in combiner (no UDF). */
FLOW_EXPORT flow_dataset_t *flow_dataset_combine_builtin(flow_dataset_t *ds,
                                                         flow_combiner_t c, int nparts);
/* fold_by_key: each key's values folded from zero. As in Spark, the zero is
 * applied once per key in each map partition, and again for each run a map
 * task spills, so it must be neutral for fn (0 for a sum, 1 for a product). */
FLOW_EXPORT flow_dataset_t *flow_dataset_fold_by_key(flow_dataset_t *ds,
                                                     const void *zero, size_t zero_len,
                                                     flow_reduce_fn *fn, const void *arg,
                                                     size_t arg_len, int nparts);
/* aggregate_by_key: seq(acc, value) from zero on the map side, comb(acc, acc)
 * across map outputs (the zero, as for fold_by_key, must be neutral). */
FLOW_EXPORT flow_dataset_t *flow_dataset_aggregate_by_key(flow_dataset_t *ds,
                                                          const void *zero, size_t zero_len,
                                                          flow_reduce_fn *seq,
                                                          flow_reduce_fn *comb,
                                                          const void *arg, size_t arg_len,
                                                          int nparts);
/* combine_by_key: create(value) -> combiner (a map fn setting out->val),
 * merge_value(combiner, value), merge_combiners(combiner, combiner). */
FLOW_EXPORT flow_dataset_t *flow_dataset_combine_by_key(flow_dataset_t *ds,
                                                        flow_map_fn *create,
                                                        flow_reduce_fn *merge_value,
                                                        flow_reduce_fn *merge_combiners,
                                                        const void *arg, size_t arg_len,
                                                        int nparts);
FLOW_EXPORT flow_dataset_t *flow_dataset_group_by_key(flow_dataset_t *ds, flow_group_fn *fn,
                                                      const void *arg, size_t arg_len,
                                                      int nparts);
FLOW_EXPORT flow_dataset_t *flow_dataset_cogroup(flow_dataset_t *const *ds, int n,
                                                 flow_cogroup_fn *fn, const void *arg,
                                                 size_t arg_len, int nparts);

/* Joins of keyed datasets: one record per matching pair, keyed by the key,
 * whose value is the pair of values encoded as by flow_pair_encode (a missing
 * side of an outer join is absent, see flow_pair_decode). An inner join whose
 * right side is small (its estimated size below join.broadcast_threshold) is
 * done as flow_dataset_broadcast_join, without shuffling a: the result then
 * has a's partitions, not nparts. */
FLOW_EXPORT flow_dataset_t *flow_dataset_join(flow_dataset_t *a, flow_dataset_t *b,
                                              int nparts);
FLOW_EXPORT flow_dataset_t *flow_dataset_left_outer_join(flow_dataset_t *a,
                                                         flow_dataset_t *b, int nparts);
FLOW_EXPORT flow_dataset_t *flow_dataset_right_outer_join(flow_dataset_t *a,
                                                          flow_dataset_t *b, int nparts);
FLOW_EXPORT flow_dataset_t *flow_dataset_full_outer_join(flow_dataset_t *a,
                                                         flow_dataset_t *b, int nparts);
/* Inner join of a with small, collecting small on the driver and shipping it
 * to every task of a. */
FLOW_EXPORT flow_dataset_t *flow_dataset_broadcast_join(flow_dataset_t *a,
                                                        flow_dataset_t *small);
/* The records of a whose key is not in b. */
FLOW_EXPORT flow_dataset_t *flow_dataset_subtract_by_key(flow_dataset_t *a, flow_dataset_t *b,
                                                         int nparts);
/* Set operations on whole records (key and value). */
FLOW_EXPORT flow_dataset_t *flow_dataset_distinct(flow_dataset_t *ds, int nparts);
FLOW_EXPORT flow_dataset_t *flow_dataset_intersection(flow_dataset_t *a, flow_dataset_t *b,
                                                      int nparts);
FLOW_EXPORT flow_dataset_t *flow_dataset_subtract(flow_dataset_t *a, flow_dataset_t *b,
                                                  int nparts);
/* Sorted by key: range-partitioned on bounds sampled from the keys (so output
 * partitions are balanced on skewed or sorted input) and sorted within each
 * partition; partition i's keys all precede partition i+1's. cmp NULL:
 * bytewise; it compares key-only records (rec.key, rec.klen). */
FLOW_EXPORT flow_dataset_t *flow_dataset_sort_by_key(flow_dataset_t *ds, int ascending,
                                                     flow_cmp_fn *cmp, const void *arg,
                                                     size_t arg_len, int nparts);
/* Sorted by the key fn computes (key_by + sort_by_key + values). */
FLOW_EXPORT flow_dataset_t *flow_dataset_sort_by(flow_dataset_t *ds, flow_map_fn *key_fn,
                                                 int ascending, const void *arg,
                                                 size_t arg_len, int nparts);
/* nparts partitions of about equal size (a shuffle). */
FLOW_EXPORT flow_dataset_t *flow_dataset_repartition(flow_dataset_t *ds, int nparts);
/* Partition by fn (NULL: hash) and sort each partition by key (cmp NULL: bytewise). */
FLOW_EXPORT flow_dataset_t *flow_dataset_repartition_and_sort(flow_dataset_t *ds, int nparts,
                                                              flow_partitioner_fn *fn,
                                                              flow_cmp_fn *cmp,
                                                              const void *arg,
                                                              size_t arg_len);
/* Every pair (a record, b record): value = flow_pair_encode(a value, b value). */
FLOW_EXPORT flow_dataset_t *flow_dataset_cartesian(flow_dataset_t *a, flow_dataset_t *b);

/* The pair encoding of join values: | alen: u32 | blen: u32 | a, pad to 8 | b |
 * with a length of 0xFFFFFFFF marking a missing side. Both values come back
 * 8-aligned when the record is stored by the engine. */
#define FLOW_PAIR_MISSING 0xFFFFFFFFu
FLOW_EXPORT size_t flow_pair_size(size_t alen, size_t blen);
/* Write the pair into out (flow_pair_size bytes); a NULL side is missing. */
FLOW_EXPORT void flow_pair_encode(void *out, const void *a, size_t alen, const void *b,
                                  size_t blen);
/* Split a pair value; a missing side gives NULL. FLOW_EPROTO when malformed. */
FLOW_EXPORT int flow_pair_decode(const void *val, size_t vlen, flow_buf_t *a, flow_buf_t *b);

/* ---- Actions -----------------------------------------------------------
 * Each runs a job and returns FLOW_OK or a negative status; on failure
 * flow_last_error names the dataset, the stage, the partition and the cause. */

/* All records, in partition order. */
FLOW_EXPORT int flow_dataset_collect(flow_dataset_t *ds, flow_result_t **out);
FLOW_EXPORT int flow_dataset_count(flow_dataset_t *ds, uint64_t *out);
/* Combine all records with fn (which should be associative and commutative).
 * FLOW_ENOENT on an empty dataset. *out holds one record. */
FLOW_EXPORT int flow_dataset_reduce(flow_dataset_t *ds, flow_reduce_fn *fn, const void *arg,
                                    size_t arg_len, flow_result_t **out);
/* As reduce, starting each partition and the final merge from zero. */
FLOW_EXPORT int flow_dataset_fold(flow_dataset_t *ds, const flow_rec_t *zero,
                                  flow_reduce_fn *fn, const void *arg, size_t arg_len,
                                  flow_result_t **out);
/* seq(acc, record) within partitions from zero, then comb(acc, acc) across
 * them, from zero; both get the same arg. */
FLOW_EXPORT int flow_dataset_aggregate(flow_dataset_t *ds, const flow_rec_t *zero,
                                       flow_reduce_fn *seq, flow_reduce_fn *comb,
                                       const void *arg, size_t arg_len, flow_result_t **out);
/* The first n records in partition order, scanning as few partitions as it can. */
FLOW_EXPORT int flow_dataset_take(flow_dataset_t *ds, size_t n, flow_result_t **out);
/* The first record; FLOW_ENOENT on an empty dataset. */
FLOW_EXPORT int flow_dataset_first(flow_dataset_t *ds, flow_result_t **out);
/* Run fn on every record (in the tasks). */
FLOW_EXPORT int flow_dataset_foreach(flow_dataset_t *ds, flow_foreach_fn *fn, const void *arg,
                                     size_t arg_len);
/* The n smallest (take_ordered) or largest (top) records, sorted (ascending,
 * resp. descending). cmp NULL: bytewise by key (keyed records) then value. */
FLOW_EXPORT int flow_dataset_take_ordered(flow_dataset_t *ds, size_t n, flow_cmp_fn *cmp,
                                          const void *arg, size_t arg_len,
                                          flow_result_t **out);
FLOW_EXPORT int flow_dataset_top(flow_dataset_t *ds, size_t n, flow_cmp_fn *cmp,
                                 const void *arg, size_t arg_len, flow_result_t **out);

/* Records per key, as (key, native int64 count) records in *out. */
FLOW_EXPORT int flow_dataset_count_by_key(flow_dataset_t *ds, flow_result_t **out);

/* Summary of a dataset of doubles (each value 8 bytes, native). stdev is the
 * population standard deviation, as Spark's StatCounter.stdev. */
typedef struct flow_double_stats {
    uint64_t count; /* Number of values. */
    double mean;    /* Mean; NaN when count is 0. */
    double stdev;   /* Population standard deviation; NaN when count is 0. */
    double min;     /* Smallest value; +inf when count is 0. */
    double max;     /* Largest value; -inf when count is 0. */
    double sum;     /* Sum of the values. */
} flow_double_stats_t;
FLOW_EXPORT int flow_dataset_stats(flow_dataset_t *ds, flow_double_stats_t *out);

/* Write the dataset as text into directory dir: one part-NNNNN file per
 * partition, each record on its own line (a keyed one as key, tab, value),
 * committed through a temporary file per task attempt and a rename, then a
 * _SUCCESS marker. An existing dir is FLOW_EEXIST unless overwrite is set. */
FLOW_EXPORT int flow_dataset_save_as_text_file(flow_dataset_t *ds, const char *dir,
                                               int overwrite);

/* ---- Results ------------------------------------------------------------ */

FLOW_EXPORT size_t flow_result_count(const flow_result_t *res);
/* Iterate: *pos starts at 0; returns 1 with *out set (valid until the result
 * is destroyed; values 8-byte aligned), 0 at the end. */
FLOW_EXPORT int flow_result_next(const flow_result_t *res, size_t *pos, flow_rec_t *out);
/* Record number i (0-based) or NULL. O(1) after the first call. */
FLOW_EXPORT const flow_rec_t *flow_result_get(flow_result_t *res, size_t i);
FLOW_EXPORT void flow_result_destroy(flow_result_t **res_p);

/* ---- Caching, checkpoints and shared variables -------------------------------
 * Storage levels of persisted datasets. Caching is lazy: a partition is stored
 * by the first task that computes it in full, in the block store of the
 * executor that ran the task, under that executor's one memory budget
 * (executor.memory), which cached blocks share with shuffle outputs and with
 * the buffers of aggregations, sorts and joins. When memory runs short, the
 * least recently used blocks go first: memory-and-disk blocks move to disk,
 * memory ones are dropped. A running aggregation may take memory back from
 * cached blocks, but not below memory.storage_fraction of the budget (the
 * protected share). A partition that is not cached when a task needs it is
 * recomputed, that partition only, from its nearest cached or shuffled
 * ancestor. */
typedef enum flow_storage_level {
    FLOW_STORAGE_NONE = 0,        /* Not persisted. */
    FLOW_MEMORY_ONLY = 1,         /* Records in block layout, in memory. */
    FLOW_MEMORY_ONLY_SER = 2,     /* LZ4-compressed blocks, in memory (a block that
                                     compresses by less than 1/8 is kept as is). */
    FLOW_MEMORY_AND_DISK = 3,     /* In memory; evicted blocks go to local disk. */
    FLOW_DISK_ONLY = 4,           /* LZ4-compressed block files on local disk. */
} flow_storage_level_t;

/* Mark ds for storage at level (from its next computation). Changing the
 * level of a dataset already persisted is FLOW_EINVAL (unpersist first).
 * Returns ds, or NULL. */
FLOW_EXPORT flow_dataset_t *flow_dataset_persist(flow_dataset_t *ds, flow_storage_level_t level);
/* persist at FLOW_MEMORY_ONLY. */
FLOW_EXPORT flow_dataset_t *flow_dataset_cache(flow_dataset_t *ds);
/* Drop every stored partition of ds and stop storing it. */
FLOW_EXPORT int flow_dataset_unpersist(flow_dataset_t *ds);
FLOW_EXPORT flow_storage_level_t flow_dataset_storage_level(const flow_dataset_t *ds);

/* What is stored of a dataset, over all executors. */
typedef struct flow_cache_info {
    flow_storage_level_t level; /* Its storage level. */
    int partitions;             /* Partitions of the dataset. */
    int mem_partitions;         /* Partitions stored in memory. */
    int disk_partitions;        /* Partitions stored on disk. */
    uint64_t mem_bytes;         /* Memory they take (compressed when serialized). */
    uint64_t disk_bytes;        /* Disk they take. */
    uint64_t records;           /* Records stored. */
} flow_cache_info_t;
FLOW_EXPORT int flow_dataset_cache_info(const flow_dataset_t *ds, flow_cache_info_t *out);

/* One executor's memory, from its own accounting and, in the jemalloc build,
 * from the statistics of the jemalloc arena that its thread allocates from. */
typedef struct flow_executor_memory {
    uint64_t limit;          /* executor.memory. */
    uint64_t storage_min;    /* The protected share of cached blocks. */
    uint64_t storage;        /* Held by stored blocks (cache and shuffle outputs). */
    uint64_t execution;      /* Granted to running operators. */
    uint64_t disk;           /* Bytes of stored blocks on disk. */
    uint64_t evictions;      /* Blocks evicted (dropped or moved to disk) so far. */
    uint64_t evicted_bytes;  /* Their bytes. */
    uint64_t arena_allocated; /* jemalloc: bytes allocated in its arena (0: unknown). */
    int arena;               /* jemalloc arena index, or -1 (system allocator). */
} flow_executor_memory_t;
/* Executor exec (1 .. flow_context_parallelism). */
FLOW_EXPORT int flow_context_executor_memory(flow_context_t *ctx, int exec,
                                             flow_executor_memory_t *out);

/* Write every partition of ds to checkpoint.dir (the context's work
 * directory when unset) as checksummed block files, now (this runs a job),
 * and cut its lineage: ds then reads the files, so datasets built on it
 * neither recompute what is above nor carry it in their tasks. */
FLOW_EXPORT int flow_dataset_checkpoint(flow_dataset_t *ds);
/* As checkpoint, but the partitions stay in the executors' block stores
 * (FLOW_MEMORY_AND_DISK): faster, and a partition lost with its executor
 * cannot come back (the job fails and says so). */
FLOW_EXPORT int flow_dataset_local_checkpoint(flow_dataset_t *ds);
/* The dataset reads a checkpoint (its lineage was cut). */
FLOW_EXPORT int flow_dataset_is_checkpointed(const flow_dataset_t *ds);

/* Broadcast variables: read-only bytes sent to each executor once (before
 * the first task it runs after the variable was made), read inside UDFs by
 * id (pass the id in the UDF's argument). The bytes are copied. */
typedef struct flow_broadcast flow_broadcast_t;
FLOW_EXPORT flow_broadcast_t *flow_broadcast_new(flow_context_t *ctx, const void *data,
                                                 size_t len);
FLOW_EXPORT uint64_t flow_broadcast_id(const flow_broadcast_t *b);
/* Release the variable on the driver and on every executor. Safe on NULL. */
FLOW_EXPORT void flow_broadcast_destroy(flow_broadcast_t **b_p);
/* Inside a UDF: the bytes of broadcast id (8-byte aligned; valid for the
 * task), or FLOW_ENOENT when the executor has no such variable. */
FLOW_EXPORT int flow_task_broadcast(flow_task_t *t, uint64_t id, flow_buf_t *out);

/* Accumulators: values that tasks add to and the driver reads. Each update
 * counts once: only from a task attempt that succeeds, and only from the
 * first successful computation of each partition of each dataset (a retried
 * task, a recomputed cached partition or a re-run map task adds nothing
 * again; an action's own function, as foreach's, counts once per action). */
typedef struct flow_accumulator flow_accumulator_t;
typedef enum flow_acc_kind {
    FLOW_ACC_SUM_I64 = 1, /* int64 sum (wrapping). */
    FLOW_ACC_SUM_F64,     /* double sum. */
    FLOW_ACC_USER,        /* Bytes merged by a flow_reduce_fn from a zero. */
} flow_acc_kind_t;
/* A sum accumulator starting at 0. */
FLOW_EXPORT flow_accumulator_t *flow_accumulator_new(flow_context_t *ctx, flow_acc_kind_t kind);
/* A user accumulator: merge(a, b) on values (rec.val, vlen) must be
 * associative and commutative, zero its neutral value. */
FLOW_EXPORT flow_accumulator_t *flow_accumulator_new_user(flow_context_t *ctx,
                                                          const void *zero, size_t zero_len,
                                                          flow_reduce_fn *merge,
                                                          const void *arg, size_t arg_len);
FLOW_EXPORT uint64_t flow_accumulator_id(const flow_accumulator_t *a);
FLOW_EXPORT int64_t flow_accumulator_i64(const flow_accumulator_t *a);
FLOW_EXPORT double flow_accumulator_f64(const flow_accumulator_t *a);
/* The value of a user accumulator (valid until the next action). */
FLOW_EXPORT flow_buf_t flow_accumulator_value(const flow_accumulator_t *a);
FLOW_EXPORT void flow_accumulator_destroy(flow_accumulator_t **a_p);
/* Inside a UDF: add to accumulator id. FLOW_EINVAL for a value of the wrong
 * kind; updates of unknown ids are dropped by the driver, and so are updates
 * made while the driver merges partial results (reduce's final merge). */
FLOW_EXPORT int flow_task_add_i64(flow_task_t *t, uint64_t id, int64_t v);
FLOW_EXPORT int flow_task_add_f64(flow_task_t *t, uint64_t id, double v);
FLOW_EXPORT int flow_task_accumulate(flow_task_t *t, uint64_t id, const void *val,
                                     size_t len);

/* ---- Executor processes -------------------------------------------------- */

/* Run an encoded task (from flow_dataset_encode_task) in this process and
 * return the encoded result: the unit that executors in other processes run.
 * Used by tools and tests; *out is freed with flow_free. */
FLOW_EXPORT int flow_dataset_encode_task(flow_dataset_t *ds, int partition, void **out,
                                         size_t *out_len);
FLOW_EXPORT int flow_run_encoded_task(const void *task, size_t len, void **out,
                                      size_t *out_len);
/* Decode the records of a result produced by flow_run_encoded_task for a
 * collect task. */
FLOW_EXPORT int flow_result_from_encoded(const void *res, size_t len, flow_result_t **out,
                                         char **out_err);

#ifdef __cplusplus
}
#endif
#endif /* FLOW_H */
