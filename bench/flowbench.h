/* flowbench.h - the interface between flowbench's runner and its workloads
 * A workload generates its input deterministically (same name and size, same
 * bytes on every machine), runs it on libflow, and runs a single-threaded C
 * baseline written as carefully as a good engineer would by hand (the COST
 * baseline). Both produce an answer digest; the runner refuses to print a
 * figure whose engine answer differs from the baseline's.
 * Each workload lives in bench/wl_<name>.c and exports a fb_workload_t. */
#ifndef FLOWBENCH_H
#define FLOWBENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flow.h"

/* An answer: a digest that both sides compute the same way, and a short
 * human-readable summary (e.g. "1891 lines" or "top: 10.0.3 12345.67"). */
typedef struct fb_answer {
    uint64_t digest;   /* Order-independent (or ordered, for sort) digest. */
    uint64_t records;  /* Output records. */
    char summary[160]; /* For people. */
} fb_answer_t;

/* What one engine or baseline run reports besides its answer. */
typedef struct fb_counters {
    uint64_t input_bytes;   /* Bytes of input read. */
    uint64_t input_records; /* Records (lines, rows) of input. */
} fb_counters_t;

typedef struct fb_workload {
    const char *name;        /* As on the command line: "wordcount". */
    const char *about;       /* One line for `flowbench list`. */
    const char *order;       /* "unordered" or "ordered" (sort, top-k): how digests are made. */
    uint64_t default_size;   /* Input bytes of the default suite's run. */
    /* Write the input for size into dir (which exists and is empty). */
    int (*gen)(const char *dir, uint64_t size, char *err, size_t errlen);
    /* Run on the engine (ctx started with the master asked for). When wrong
     * is set (a test-only switch) the job must drop or alter at least one
     * input record, so that the runner's check has to catch it. */
    int (*engine)(flow_context_t *ctx, const char *dir, uint64_t size, int wrong,
                  fb_answer_t *out, fb_counters_t *cnt, char *err, size_t errlen);
    /* The single-threaded C baseline. */
    int (*baseline)(const char *dir, uint64_t size, fb_answer_t *out, fb_counters_t *cnt,
                    char *err, size_t errlen);
} fb_workload_t;

/* ---- Helpers for workloads (bench/fbutil.c) ------------------------------------------ */

/* Order-independent digest of records: the sum of a 64-bit hash of each
 * (key, value) (key NULL for none). */
uint64_t fb_rec_hash(const void *key, size_t klen, const void *val, size_t vlen);
/* Ordered digest step: d' = hash(d, record). */
uint64_t fb_chain(uint64_t d, const void *key, size_t klen, const void *val, size_t vlen);
/* splitmix64 for generators. */
uint64_t fb_rand(uint64_t *state);
/* Zeroed memory for a baseline's big hash table, probed at random: on huge
 * pages where the kernel has them, so that a probe misses the cache but not
 * also the TLB. NULL when out of memory; free() releases it. */
void *fb_table_alloc(size_t bytes);
/* Map a whole file read-only (NULL with err on failure); fb_unmap to release. */
const char *fb_map(const char *path, size_t *len, char *err, size_t errlen);
void fb_unmap(const char *p, size_t len);
/* Write len bytes to path (creating it). */
int fb_write_file(const char *path, const void *p, size_t len, char *err, size_t errlen);
/* Collect a dataset's records into the answer with fb_rec_hash. */
int fb_digest_dataset(flow_dataset_t *ds, fb_answer_t *out, char *err, size_t errlen);

/* A file written through a buffer, for generators: open, then reserve room
 * for a line, fill it and commit its bytes; close reports the first error. */
typedef struct fb_writer {
    FILE *f;          /* The open file, or NULL after a failed open. */
    char *buf;        /* Bytes not yet written. */
    size_t len;       /* Their number. */
    uint64_t written; /* Bytes committed so far (buffered or not). */
    int failed;       /* A write failed (errno kept in err at close). */
} fb_writer_t;
int fb_writer_open(fb_writer_t *w, const char *path, char *err, size_t errlen);
/* Room for at least n bytes (n at most 4096) at the end of the buffer. */
char *fb_writer_room(fb_writer_t *w, size_t n);
void fb_writer_commit(fb_writer_t *w, size_t n);
/* Flush and close; 0, or -1 with err set. Safe after a failed open. */
int fb_writer_close(fb_writer_t *w, const char *path, char *err, size_t errlen);
/* Write v in decimal at p; returns the number of digits. */
size_t fb_put_u64(char *p, uint64_t v);

#endif
