/* driver.h - what runs in the user's process: the context, the lineage of
 * datasets, and the scheduler that turns an action into tasks.
 * An action calls flow__job_run with a sink and a merge callback; the
 * scheduler encodes one task per partition (driver/dataset.c resolves a
 * partition to its operator tree), keeps tasks_in_flight tasks queued on each
 * executor, retries failed attempts up to task.max_attempts, cancels the job
 * on a failure that will not be retried, and hands every successful payload
 * to the merge callback. */
#ifndef FLOW_DRIVER_H
#define FLOW_DRIVER_H

#include <pthread.h>

#include "conf.h"
#include "executor.h"
#include "plan.h"
#include "source.h"
#include "wire.h"

/* Longest lineage a dataset may have: tasks carry it as a tree, decoded
 * recursively (lib/plan.c allows 20,000 levels). */
#define FLOW_MAX_LINEAGE 10000

/* What a dataset node is. */
enum flow__ds_kind {
    FLOW_DS_SOURCE = 1, /* Splits of a source. */
    FLOW_DS_OP,         /* One narrow operator (op) over one parent. */
    FLOW_DS_UNION,      /* Partitions of every parent, in order. */
    FLOW_DS_COALESCE,   /* Contiguous runs of the parent's partitions. */
    FLOW_DS_SHUFFLED,   /* Reduce side of a shuffle of each parent. */
    FLOW_DS_CARTESIAN,  /* Pairs of the partitions of two parents. */
};

/* A shuffle: the map side (a dataset and the partitioner and combiner its
 * map tasks use) and where each map task's output lives. */
typedef struct flow__shuffle {
    uint32_t id;                /* Shuffle id, unique in the context. */
    flow_dataset_t *map_ds;     /* Map side (the parent of the shuffled dataset). */
    flow_dataset_t *red_ds;     /* The shuffled dataset (partitioner, combiner). */
    int nmaps;                  /* Its partitions. */
    uint32_t *execs;            /* Executor holding each map output; 0: missing. */
    int missing;                /* Map outputs missing. */
} flow__shuffle_t;

struct flow_dataset {
    flow_context_t *ctx;        /* Owning context. */
    uint32_t id;                /* Stable id, unique in the context. */
    char name[64];              /* Name for messages. */
    uint8_t kind;               /* FLOW_DS_*. */
    uint8_t op;                 /* FLOW_DS_OP: FLOW_OP_* kind. */
    int refs;                   /* Handle (1 while the user holds it) + children. */
    int user_held;              /* The user has not destroyed the handle. */
    flow_dataset_t **parents;   /* Inputs. */
    int nparents;               /* Number of inputs. */
    int nparts;                 /* Number of partitions. */
    uint8_t src_kind;           /* SOURCE: FLOW_SRC_*. */
    flow__split_t *splits;      /* SOURCE: one per partition. */
    flow__fnref_t fn;           /* OP: the function, if any. */
    void *arg;                  /* OP: argument bytes (owned). */
    size_t arg_len;             /* OP: their length. */
    uint8_t with_replacement;   /* SAMPLE: Poisson sampling. */
    double fraction;            /* SAMPLE: fraction. */
    uint64_t seed;              /* SAMPLE: seed. */
    uint64_t *starts;           /* ZIP_INDEX: first index of each partition (lazy). */
    flow__shuffle_t **shuffles; /* SHUFFLED: one shuffle per parent. */
    flow__partspec_t part;      /* SHUFFLED: partitioner (owned copies of bytes). */
    flow__aggspec_t agg;        /* SHUFFLED: combiner, or kind NONE. */
    int map_combine;            /* SHUFFLED: map tasks combine too. */
    flow__shufread_t read;      /* SHUFFLED: reduce side (mode, fn, arg). */
    uint64_t est_bytes;         /* Estimated size (sources: exact; else inherited). */
    uint32_t depth;             /* Longest path to a source, in datasets. */
    uint32_t hash_parts;        /* Records are hash-partitioned by key into this many
                                   partitions (0: not known), so a shuffle with the
                                   same partitioner can read it narrowly. */
    uint8_t level;              /* Storage level (FLOW_LEVEL_*), 0: not persisted. */
    uint8_t ckpt;               /* FLOW_CKPT_*: its lineage was cut. */
    char *ckpt_dir;             /* FLOW_CKPT_FILES: the directory of its files. */
    flow_dataset_t *prev, *next; /* The context's list of live datasets. */
};

enum { FLOW_CKPT_FILES = 1, FLOW_CKPT_LOCAL = 2 };

/* One executor as the scheduler sees it. */
typedef struct flow__exec_slot {
    uint32_t id;              /* Executor id. */
    char ident[32];           /* Its routing id. */
    size_t ident_len;         /* Its length. */
    int registered;           /* REGISTER received. */
    int inflight;             /* Tasks sent and not answered. */
    flow__executor_cfg_t cfg; /* Thread configuration (local modes). */
    pthread_t thread;         /* Thread (local modes). */
    int started;              /* The thread runs. */
} flow__exec_slot_t;

struct flow_context {
    flow__conf_t conf;         /* Configuration layers. */
    flow__settings_t set;      /* Resolved settings (after start). */
    int started;               /* flow_context_start succeeded. */
    flow__err_t err;           /* Last error. */
    void *zctx;                /* ZeroMQ context (one per flow context). */
    void *router;              /* Scheduler socket. */
    char endpoint[128];        /* Its endpoint. */
    flow__wire_rx_t rx;        /* Reassembly state of the router. */
    flow__exec_slot_t *execs;  /* Executors. */
    int nexecs;                /* Number of executors. */
    flow__exec_group_t group;  /* Their block stores (local modes share a process). */
    uint32_t next_dataset;     /* Next dataset id. */
    uint32_t next_job;         /* Next job id. */
    uint32_t next_stage;       /* Next stage id. */
    flow_dataset_t *datasets;  /* Live datasets. */
    flow_stats_t stats;        /* Counters. */
    uint32_t next_shuffle;     /* Next shuffle id. */
    flow__shuffle_t **shuffles; /* Live shuffles. */
    int nshuffles;             /* Their number. */
    char value_buf[256];       /* flow_context_get's answer. */
    char work_dir[320];        /* This context's directory under local.dir, or "". */
    struct flow_broadcast *bcasts;   /* Live broadcast variables. */
    uint64_t next_bcast;       /* Next broadcast id. */
    struct flow_accumulator *accs;   /* Live accumulators. */
    uint64_t next_acc;         /* Next accumulator number. */
};

/* Remove a file or a directory tree (best effort; -1 when something stayed). */
int flow__remove_tree(const char *path);

/* Record an error on the context and return code. */
int flow__ctx_error(flow_context_t *ctx, int code, const char *fmt, ...) FLOW_PRINTF(3, 4);

/* ---- Datasets (dataset.c) -------------------------------------------------------- */

/* A new node with the given parents (referenced), owned by the caller's handle. */
flow_dataset_t *flow__ds_new(flow_context_t *ctx, uint8_t kind, const char *name,
                             flow_dataset_t *const *parents, int nparents);
/* A narrow operator over parent (fn may be NULL, or one of libflow's own). */
flow_dataset_t *flow__ds_op(flow_dataset_t *parent, uint8_t op, const void *fn,
                            const void *arg, size_t arg_len);
/* Append the operator tree computing partition p of ds to b. */
int flow__ds_encode_partition(flow_dataset_t *ds, int p, flow__wbuf_t *b);
/* Run the counting jobs that zip_with_index datasets in ds's lineage need. */
int flow__ds_prepare(flow_dataset_t *ds);
/* The dataset with this id, or NULL. */
flow_dataset_t *flow__ds_find(flow_context_t *ctx, uint32_t id);
/* Release every dataset of the context (flow_context_destroy). */
void flow__ds_release_all(flow_context_t *ctx);

/* Make ds read its checkpoint: a source of kind src_kind with these splits
 * (taken; none for a local checkpoint), its parents released. */
void flow__ds_cut_lineage(flow_dataset_t *ds, flow__split_t *splits, uint8_t src_kind,
                          uint8_t ckpt);

/* ---- Caching and shared variables (cache.c) ------------------------------------- */

/* Every partition of ds is in some executor's block store. */
int flow__cache_complete(flow_dataset_t *ds);
/* Drop ds's stored partitions everywhere. */
void flow__cache_drop(flow_dataset_t *ds);
/* Send executor x the broadcast variables it does not have yet. */
int flow__bcast_sync(flow_context_t *ctx, flow__exec_slot_t *x);
/* Apply a successful task's accumulator log (job, partition: of the task). */
void flow__acc_apply(flow_context_t *ctx, uint32_t job, uint32_t partition, const void *log,
                     size_t len);
/* Release every broadcast variable and accumulator (flow_context_destroy). */
void flow__shared_release_all(flow_context_t *ctx);

/* ---- Jobs (sched.c) -------------------------------------------------------------- */

/* Called with each successful task's payload (borrowed) for partition index i
 * of the job's partition list. A negative return fails the job. */
typedef int flow__merge_fn(void *ud, int i, int partition, const void *payload,
                           size_t len);

/* A map stage's task succeeded on executor exec: record its output. */
void flow__shuffle_done(flow__shuffle_t *sh, int map, uint32_t exec);
/* The map output of (shuffle, map) is lost or corrupt. */
void flow__shuffle_lost(flow_context_t *ctx, uint32_t shuffle, int map);
flow__shuffle_t *flow__shuffle_find(flow_context_t *ctx, uint32_t id);

/* Run sink over the partitions listed (NULL: all of ds) and merge payloads. */
int flow__job_run(flow_dataset_t *ds, const flow__sinkspec_t *sink, const int *parts,
                  int nparts, flow__merge_fn *merge, void *ud);
/* Stop and join the executors (flow_context_destroy). */
void flow__sched_stop(flow_context_t *ctx);
/* Start the executors of the master and wait for them to register. */
int flow__sched_start(flow_context_t *ctx);

#endif
