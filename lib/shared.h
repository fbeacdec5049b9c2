/* shared.h - the executor's side of shared variables
 * Broadcast variables: the driver sends each executor a BCAST message with a
 * variable's bytes before the first task it sends there after the variable
 * was made, and a BCAST_DROP when it is destroyed; the executor keeps them
 * in its table, where UDFs find them by id (flow_task_broadcast).
 * Accumulators: a UDF's updates go into its task's log, one entry per
 * (accumulator, scope, partition), where scope is the dataset whose UDF made
 * the update (0 for an action's own function). Sums are added up in the log;
 * user values are kept in order for the driver to merge. A task's log
 * travels in its result; the driver applies it only from a successful
 * attempt, and only once per (accumulator, scope, partition) for datasets
 * (once per job for actions), so that retries and recomputation add nothing.
 *
 *   log   := count: u32 | entry * count
 *   entry := id: u64 | scope: u32 | partition: u32 | nvals: u32 | (len: u32,
 *            bytes) * nvals          (a sum: one 8-byte value) */
#ifndef FLOW_SHARED_H
#define FLOW_SHARED_H

#include "buf.h"
#include "flow.h"

/* An accumulator id carries its kind in the low two bits. */
#define FLOW_ACC_KIND(id) ((int)((id) & 3u))

typedef struct flow__bcast {
    uint64_t id;   /* Variable id. */
    void *data;    /* Its bytes (8-aligned). */
    size_t len;    /* Their length. */
} flow__bcast_t;

typedef struct flow__bcast_table {
    flow__bcast_t *v; /* Variables, in arrival order. */
    int n, cap;       /* Used, allocated. */
} flow__bcast_table_t;

/* Keep a variable (replacing one of the same id) / forget one. */
void flow__bcast_put(flow__bcast_table_t *tb, uint64_t id, const void *data, size_t len);
void flow__bcast_drop(flow__bcast_table_t *tb, uint64_t id);
void flow__bcast_free(flow__bcast_table_t *tb);

/* Append the task's accumulator log to b (count 0 when empty) and free it. */
void flow__acc_log_encode(flow_task_t *t, flow__wbuf_t *b);
void flow__acc_log_free(flow_task_t *t);

#endif
