/* shuffle.h - the map and reduce sides of a shuffle
 * Map side (the SHUFFLE sink): every record of the partition goes to the
 * bucket of its key's reduce partition, chosen by the partitioner; with a
 * combiner, records are first combined per key in a hash table (map-side
 * combine). Buckets and tables are bounded by the executor's execution
 * memory: past it they are written to a spill file (LZ4, one file segment per
 * reduce partition) and memory starts again. At the end the output - the
 * buckets, or the spill files and what is left in memory merged into one
 * file - goes to the executor's block store as one map output.
 * Reduce side (the SHUFFLE_READ leaf): the reduce partition's segment of
 * every map output is read from the store of the executor that holds it,
 * checked, and then passed on as it comes (PLAIN), combined per key in a hash
 * table that overflows into an external sort (AGG), sorted (SORT), or sorted
 * by key with each record tagged by its input and handed to a group function
 * one key at a time, with each input's values buffered up to a limit and
 * spilled past it (GROUP). A missing or corrupt map output fails the task
 * with a fetch failure naming the shuffle, map and executor, so that the
 * driver runs that map task again. */
#ifndef FLOW_SHUFFLE_H
#define FLOW_SHUFFLE_H

#include "runner.h"

/* Map side: drain in into a map output of the sink's shuffle. */
int flow__sink_shuffle(flow_task_t *t, const flow__sinkspec_t *s, flow_iter_t *in,
                       flow__wbuf_t *out, uint64_t *nrec);

typedef struct flow__shuf_reader flow__shuf_reader_t;

/* children: the node's narrow inputs (co-partitioned parents), read in place
 * of a shuffle. */
int flow__shuf_reader_open(flow_task_t *t, const flow__opnode_t *node,
                           flow_iter_t *const *children, flow__shuf_reader_t **out);
int flow__shuf_reader_next(flow__shuf_reader_t *r, flow_rec_t *out);
/* A grouping read (group_by_key, cogroup) hands what its function emits
 * straight to consume (see flow__iter_push): 1 when done, or a negative
 * status; 0 (nothing read) for the other reads. */
int flow__shuf_reader_push(flow__shuf_reader_t *r, flow__consume_fn *consume, void *ud);
/* Close and add the reader's counters (shuffle bytes read, spill) into m. */
void flow__shuf_reader_close(flow__shuf_reader_t *r, flow__metrics_t *m);

/* Built-in group functions of joins and set operations (cogroup fns). */
int flow__cg_join(flow_task_t *t, const void *key, size_t klen, flow_values_t *const *vals,
                  int n, flow_emit_t *out, const flow_buf_t *arg);
int flow__cg_subtract_by_key(flow_task_t *t, const void *key, size_t klen,
                             flow_values_t *const *vals, int n, flow_emit_t *out,
                             const flow_buf_t *arg);
int flow__cg_intersection(flow_task_t *t, const void *key, size_t klen,
                          flow_values_t *const *vals, int n, flow_emit_t *out,
                          const flow_buf_t *arg);
int flow__cg_subtract(flow_task_t *t, const void *key, size_t klen,
                      flow_values_t *const *vals, int n, flow_emit_t *out,
                      const flow_buf_t *arg);
/* arg of flow__cg_join: which sides are kept when the other is missing. */
enum { FLOW_JOIN_KEEP_LEFT = 1, FLOW_JOIN_KEEP_RIGHT = 2 };

#endif
