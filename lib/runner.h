/* runner.h - the task runner: what an executor does with an encoded task
 * flow__task_execute decodes a task, builds the operator tree as pull
 * iterators (ops.c), drains it into the task's sink (sink.c) and encodes the
 * result: status, metrics and the sink's payload. Narrow operators are
 * pipelined: a record flows from the source through every operator to the
 * sink with no copy in between, except where an operator must buffer
 * (flat_map's outputs for one input, map_partitions' and glom's partition).
 * The same runner serves executor threads (local modes), executor processes
 * and flow_run_encoded_task.
 * Call order: flow__runner_init -> flow__task_execute* -> flow__runner_free. */
#ifndef FLOW_RUNNER_H
#define FLOW_RUNNER_H

#include "blockstore.h"
#include "plan.h"
#include "source.h"

/* What a task can use of the executor running it. */
typedef struct flow__exec_env {
    uint32_t exec_id;            /* The executor's id (0: none, a lone process). */
    flow__blockstore_t *store;   /* Its block store. */
    flow__exec_group_t *group;   /* Executors whose stores it can read, or NULL. */
    uint64_t mem_limit;          /* Execution memory of one buffer-holding operator. */
    const char *local_dir;       /* Spill directory. */
    struct flow__bcast_table *bcasts; /* Broadcast variables received, or NULL. */
} flow__exec_env_t;

/* Asked every few thousand records: nonzero cancels the running task. */
typedef int flow__poll_fn(void *ud);

/* The task context handed to UDFs (public as the opaque flow_task_t). */
struct flow_task {
    uint32_t job;           /* Job of the task. */
    uint32_t stage;         /* Stage of the task. */
    uint32_t partition;     /* Partition of the dataset whose UDF runs now. */
    uint32_t attempt;       /* Attempt number, from 0. */
    uint32_t dataset;       /* Dataset whose UDF runs now (for messages). */
    flow__err_t *err;       /* Where the task's failure is recorded. */
    flow__arena_t *scratch; /* Scratch arena of the running UDF. */
    flow__poll_fn *poll;    /* Cancellation check, or NULL. */
    void *poll_ud;          /* Its argument. */
    uint32_t poll_count;    /* Records since the last poll. */
    flow__exec_env_t *env;  /* The executor's store, peers and limits. */
    uint32_t fetch_shuffle; /* Set with a fetch failure: the shuffle, */
    uint32_t fetch_map;     /* the map partition */
    uint32_t fetch_exec;    /* and the executor that should hold it. */
    uint64_t exec_held;     /* Execution memory granted to the task's operators. */
    struct flow__acc_log *accs; /* Accumulator updates of the task. */
    uint64_t cache_hits;    /* Cached partitions read. */
    uint64_t cache_misses;  /* Partitions of persisted datasets computed. */
};

/* Execution memory for one buffer-holding operator of the task (a combine
 * table, a sorter): a first grant from the executor's budget (a few MiB),
 * grown on demand with flow__task_exec_grow up to the operator's share
 * (env->mem_limit, a quarter of the budget) and returned when the task ends.
 * Growing on demand matters: a grant evicts cached blocks above the
 * protected share, so an operator that needs little must ask for little. */
uint64_t flow__task_exec_memory(flow_task_t *t);
int flow__task_exec_grow_slow(flow_task_t *t, uint64_t *grant, uint64_t need);
/* Make *grant cover need bytes if the budget allows: nonzero when it does
 * (then carry on), 0 when the operator must spill. */
static inline int flow__task_exec_grow(flow_task_t *t, uint64_t *grant, uint64_t need)
{
    return need <= *grant || flow__task_exec_grow_slow(t, grant, need);
}
/* Give n bytes of the task's grants back early (an operator that is done). */
void flow__task_exec_return(flow_task_t *t, uint64_t n);

/* A consumer of pushed records (see flow__iter_push). */
typedef int flow__consume_fn(void *ud, const flow_rec_t *r);

/* Where flat_map-like UDFs emit (public as the opaque flow_emit_t): into a
 * block, or straight into a consumer when the sink pulls no further. */
struct flow_emit {
    flow__wbuf_t *buf;          /* Block receiving the records, or NULL. */
    const flow_rec_t *key;      /* flat_map_values: the key every record gets. */
    flow__consume_fn *consume;  /* With buf NULL: called for each record. */
    void *ud;                   /* Its argument. */
};

/* An executor's reusable task state (arenas recycled across tasks). */
typedef struct flow__runner {
    flow__arena_t arena;   /* Decoded plan, iterators, arguments. */
    flow__poll_fn *poll;   /* Cancellation check for tasks, or NULL. */
    void *poll_ud;         /* Its argument. */
    flow__exec_env_t env;  /* The executor's environment. */
    flow__blockstore_t *own_store; /* A private store when none was given. */
} flow__runner_t;

/* env NULL: a lone runner with a private block store and default limits. */
void flow__runner_init(flow__runner_t *r, flow__poll_fn *poll, void *poll_ud,
                       const flow__exec_env_t *env);
void flow__runner_free(flow__runner_t *r);

/* Run one encoded task and append its encoded result to out. Every failure,
 * malformed bytes included, becomes a result with an error; the return value
 * is the task's status. */
int flow__task_execute(flow__runner_t *r, const void *task, size_t len, flow__wbuf_t *out);

/* Set up a task context outside any task (the driver merging partial results
 * with a UDF). */
void flow__task_init_local(flow_task_t *t, flow__err_t *err, flow__arena_t *scratch);

/* Check cancellation every 4096 records; nonzero (FLOW_ECANCELED set in the
 * task's error) when the task must stop. */
static inline int flow__task_cancelled(flow_task_t *t)
{
    if (++t->poll_count < 4096 || !t->poll)
        return 0;
    t->poll_count = 0;
    if (!t->poll(t->poll_ud))
        return 0;
    flow__err_set(t->err, FLOW_ECANCELED, "task cancelled");
    return 1;
}

/* ---- Iterators (ops.c) ---------------------------------------------------- */

/* Build the iterator tree of a plan; FLOW_E* with t->err set on failure (an
 * unresolvable function, a source that cannot be opened). */
int flow__iter_build(flow_task_t *t, flow__arena_t *arena, const flow__opnode_t *node,
                     flow_iter_t **out);
/* When the root is a flat_map or a map_partitions, run it pushing every
 * emitted record into consume (no buffering: a combiner can take each record
 * as it is made, Phoenix++'s combine-at-emit, and a map_partitions does not
 * hold its whole output). Returns 1 after pushing everything (or a negative
 * status), 0 when the root cannot push (then pull it instead). */
int flow__iter_push(flow_iter_t *it, flow__consume_fn *consume, void *ud);
/* Close the tree (unmapping inputs, freeing buffers) and add its source
 * counters into m. Safe on NULL. */
void flow__iter_close(flow_iter_t *it, flow__metrics_t *m);
/* Memory the tree's buffers hold at most (for the metrics). */
uint64_t flow__iter_peak(const flow_iter_t *it);

/* Call a UDF that failed: make sure t->err says why (a UDF that returned
 * nonzero without flow_task_fail gets a generic message) and return the
 * status. */
int flow__udf_failed(flow_task_t *t, const char *what, int rc);

/* ---- Sinks (sink.c) ------------------------------------------------------- */

/* An accumulator record for reduce, fold and aggregate. */
typedef struct flow__acc {
    int has;            /* Holds a record. */
    int keyed;          /* The record has a key. */
    flow__wbuf_t key;   /* Key bytes. */
    flow__wbuf_t val;   /* Value bytes. */
} flow__acc_t;

void flow__acc_init(flow__acc_t *a);
void flow__acc_free(flow__acc_t *a);
void flow__acc_set(flow__acc_t *a, const flow_rec_t *r);
flow_rec_t flow__acc_rec(const flow__acc_t *a);
/* acc = fn(acc, b), or acc = b when acc is empty. */
int flow__acc_combine(flow_task_t *t, flow_reduce_fn *fn, const flow_buf_t *arg,
                      flow__acc_t *acc, const flow_rec_t *b);

/* Drain in into the sink, writing its payload into out. */
int flow__sink_run(flow_task_t *t, const flow__sinkspec_t *s, flow_iter_t *in,
                   flow__wbuf_t *out, flow__metrics_t *m);

/* Write the partition to a checkpoint file in directory s->path (src_ckpt.c). */
int flow__sink_checkpoint(flow_task_t *t, const flow__sinkspec_t *s, flow_iter_t *in,
                          flow__wbuf_t *out, uint64_t *nrec);

/* Welford/Chan summary of doubles, shared by the stats sink and the driver. */
typedef struct flow__dstats {
    uint64_t n;  /* Count. */
    double mean; /* Running mean. */
    double m2;   /* Sum of squared deviations. */
    double min;  /* Minimum. */
    double max;  /* Maximum. */
    double sum;  /* Sum. */
} flow__dstats_t;
void flow__dstats_init(flow__dstats_t *s);
void flow__dstats_merge(flow__dstats_t *a, const flow__dstats_t *b);

/* Sort records by cmp (NULL: bytewise), largest first when descending. */
void flow__sort_recs(flow_rec_t *recs, size_t n, flow_cmp_fn *cmp, const flow_buf_t *arg,
                     int descending);

/* The file name of partition p of a saved dataset ("part-00007"). */
void flow__part_name(char *buf, size_t len, uint32_t partition);

#endif
