/* test_cache.c - persisted datasets, the memory budget, lineage recomputation,
 * checkpoints, broadcast variables and accumulators
 * Every case runs on each master of test_masters and checks answers against
 * plain C: a dataset of N int64 values v, mapped to v * 3 + 1 by a UDF that
 * also counts its calls per partition in an accumulator, so that a test can
 * tell how many partitions were computed. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "testutil.h"

#define NPARTS 8

/* ---- Shared UDFs -------------------------------------------------------------------- */

typedef struct calls_arg {
    uint64_t acc;       /* Accumulator counting calls (0: none). */
    int fail_first;     /* Fail attempt 0 of partitions where p % 3 == 0. */
    uint64_t pad;       /* Bytes of padding appended to each value. */
} calls_arg_t;

/* v -> v * 3 + 1 (then pad bytes of 'x' when asked), counting calls. */
static int times3(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                  const flow_buf_t *arg)
{
    const calls_arg_t *a = arg->data;
    if (a->fail_first && flow_task_attempt(t) == 0 && flow_task_partition(t) % 3 == 0)
        return flow_task_fail(t, 0, "injected failure in partition %d",
                              flow_task_partition(t));
    if (a->acc && flow_task_add_i64(t, a->acc, 1) < 0)
        return -1;
    uint8_t *v = flow_task_alloc(t, 8 + a->pad);
    if (!v)
        return -1;
    int64_t x = flow_i64(in->val) * 3 + 1;
    memcpy(v, &x, 8);
    memset(v + 8, 'x', a->pad);
    out->val = v;
    out->vlen = 8 + a->pad;
    return 0;
}

/* Sum of the first 8 bytes of each value, as int64. */
static int sum_first(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b,
                     flow_rec_t *out, const flow_buf_t *arg)
{
    (void)arg;
    int64_t *s = flow_task_alloc(t, 8);
    *s = flow_i64(a->val) + flow_i64(b->val);
    out->val = s;
    out->vlen = 8;
    return 0;
}

/* Key each record by its value (as an int64 key). */
static int key_of(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out, const flow_buf_t *arg)
{
    (void)arg;
    uint8_t *k = flow_task_alloc(t, 8);
    flow_key_from_i64(flow_i64(in->val), k);
    out->key = k;
    out->klen = 8;
    return 0;
}

static int64_t engine_sum(flow_dataset_t *ds)
{
    flow_result_t *res = NULL;
    int rc = flow_dataset_reduce(ds, sum_first, NULL, 0, &res);
    ck_assert_msg(rc == FLOW_OK, "reduce: %s", flow_last_error(flow_dataset_context(ds)));
    flow_rec_t r;
    size_t pos = 0;
    ck_assert_int_eq(flow_result_next(res, &pos, &r), 1);
    int64_t s = flow_i64(r.val);
    flow_result_destroy(&res);
    return s;
}

/* The plain-C answer: sum of v * 3 + 1 over v in [0, n). */
static int64_t model_sum(int64_t n)
{
    int64_t s = 0;
    for (int64_t v = 0; v < n; v++)
        s += v * 3 + 1;
    return s;
}

static flow_context_t *ctx_with(const char *master, const char *memory)
{
    flow_context_t *ctx = flow_context_new();
    ck_assert_int_eq(flow_context_set(ctx, "master", master), FLOW_OK);
    if (memory)
        ck_assert_int_eq(flow_context_set(ctx, "executor.memory", memory), FLOW_OK);
    ck_assert_msg(flow_context_start(ctx) == FLOW_OK, "%s", flow_last_error(ctx));
    return ctx;
}

/* range(0, n) mapped by times3 with pad bytes per value, counted in acc. */
static flow_dataset_t *mapped(flow_context_t *ctx, int64_t n, uint64_t acc, uint64_t pad)
{
    flow_dataset_t *r = flow_dataset_range(ctx, 0, n, 1, NPARTS);
    calls_arg_t a = {acc, 0, pad};
    flow_dataset_t *m = flow_dataset_map(r, times3, &a, sizeof a);
    flow_dataset_destroy(&r);
    ck_assert_ptr_nonnull(m);
    return m;
}

/* Every executor's memory, summed (disk, evictions), checking on the way that
 * each one keeps storage plus execution within its budget. */
static flow_executor_memory_t all_executors(flow_context_t *ctx)
{
    flow_executor_memory_t sum;
    memset(&sum, 0, sizeof sum);
    for (int e = 1; e <= flow_context_parallelism(ctx); e++) {
        flow_executor_memory_t mem;
        ck_assert_int_eq(flow_context_executor_memory(ctx, e, &mem), FLOW_OK);
        ck_assert_uint_le(mem.storage + mem.execution, mem.limit);
        sum.storage += mem.storage;
        sum.disk += mem.disk;
        sum.evictions += mem.evictions;
    }
    return sum;
}

static const flow_storage_level_t levels[] = {FLOW_MEMORY_ONLY, FLOW_MEMORY_ONLY_SER,
                                              FLOW_MEMORY_AND_DISK, FLOW_DISK_ONLY};

/* ---- Storage levels that fit ------------------------------------------------------------ */

START_TEST(test_levels_fit)
{
    const char *master = test_masters[_i % TEST_NMASTERS];
    flow_storage_level_t level = levels[_i / TEST_NMASTERS];
    flow_context_t *ctx = ctx_with(master, "64m");
    flow_accumulator_t *calls = flow_accumulator_new(ctx, FLOW_ACC_SUM_I64);
    const int64_t n = 20000;
    flow_dataset_t *m = mapped(ctx, n, flow_accumulator_id(calls), 0);
    ck_assert_ptr_eq(flow_dataset_persist(m, level), m);
    ck_assert_int_eq(flow_dataset_storage_level(m), level);
    flow_stats_t s0, s1, s2;
    flow_context_stats(ctx, &s0);
    ck_assert_int_eq(engine_sum(m), model_sum(n));
    flow_context_stats(ctx, &s1);
    ck_assert_uint_eq(s1.cache_misses - s0.cache_misses, NPARTS);
    ck_assert_uint_eq(s1.cache_hits - s0.cache_hits, 0);

    flow_cache_info_t info;
    ck_assert_int_eq(flow_dataset_cache_info(m, &info), FLOW_OK);
    ck_assert_int_eq(info.partitions, NPARTS);
    ck_assert_uint_eq(info.records, (uint64_t)n);
    if (level == FLOW_DISK_ONLY) {
        ck_assert_int_eq(info.disk_partitions, NPARTS);
        ck_assert_int_eq(info.mem_partitions, 0);
        ck_assert_uint_gt(info.disk_bytes, 0);
    } else {
        ck_assert_int_eq(info.mem_partitions, NPARTS);
        ck_assert_int_eq(info.disk_partitions, 0);
        ck_assert_uint_ge(info.mem_bytes, level == FLOW_MEMORY_ONLY_SER ? 1 : (uint64_t)n * 16);
    }

    /* Second and third actions read the stored partitions; the UDF never runs again. */
    uint64_t count = 0;
    ck_assert_int_eq(flow_dataset_count(m, &count), FLOW_OK);
    ck_assert_uint_eq(count, (uint64_t)n);
    ck_assert_int_eq(engine_sum(m), model_sum(n));
    flow_context_stats(ctx, &s2);
    ck_assert_uint_eq(s2.cache_hits - s1.cache_hits, 2 * NPARTS);
    ck_assert_uint_eq(s2.cache_misses - s1.cache_misses, 0);
    ck_assert_int_eq(flow_accumulator_i64(calls), n);

    /* unpersist drops every block; the next action computes again. */
    ck_assert_int_eq(flow_dataset_unpersist(m), FLOW_OK);
    ck_assert_int_eq(flow_dataset_cache_info(m, &info), FLOW_OK);
    ck_assert_int_eq(info.mem_partitions + info.disk_partitions, 0);
    ck_assert_int_eq(engine_sum(m), model_sum(n));
    flow_dataset_destroy(&m);
    flow_accumulator_destroy(&calls);
    flow_context_destroy(&ctx);
}
END_TEST

/* A take reads part of a partition: nothing is stored from it, and the
 * answer is the same. Persisting at another level is refused. */
START_TEST(test_partial_read_and_levels)
{
    flow_context_t *ctx = ctx_with(test_masters[_i], NULL);
    flow_dataset_t *m = mapped(ctx, 1000, 0, 0);
    flow_dataset_cache(m);
    ck_assert_ptr_null(flow_dataset_persist(m, FLOW_DISK_ONLY));
    ck_assert_ptr_nonnull(strstr(flow_last_error(ctx), "already persisted"));
    ck_assert_ptr_null(flow_dataset_persist(m, (flow_storage_level_t)9));
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_take(m, 3, &res), FLOW_OK);
    ck_assert_uint_eq(flow_result_count(res), 3);
    ck_assert_int_eq(flow_i64(flow_result_get(res, 2)->val), 7);
    flow_result_destroy(&res);
    flow_cache_info_t info;
    flow_dataset_cache_info(m, &info);
    ck_assert_int_eq(info.mem_partitions, 0);
    flow_dataset_destroy(&m);
    flow_context_destroy(&ctx);
}
END_TEST

/* ---- Budgets that force eviction and disk -------------------------------------------------- */

START_TEST(test_levels_evict)
{
    const char *master = test_masters[_i % TEST_NMASTERS];
    flow_storage_level_t level = levels[_i / TEST_NMASTERS];
    /* 8 partitions of 5000 records of 1 KiB: about 40 MiB, ten times the
     * 4 MiB budget of each executor. */
    flow_context_t *ctx = ctx_with(master, "4m");
    flow_accumulator_t *calls = flow_accumulator_new(ctx, FLOW_ACC_SUM_I64);
    const int64_t n = 40000;
    flow_dataset_t *m = mapped(ctx, n, flow_accumulator_id(calls), 1016);
    flow_dataset_persist(m, level);
    for (int round = 0; round < 3; round++)
        ck_assert_int_eq(engine_sum(m), model_sum(n));
    flow_cache_info_t info;
    flow_dataset_cache_info(m, &info);
    all_executors(ctx);
    switch (level) {
    case FLOW_MEMORY_ONLY:
    case FLOW_MEMORY_ONLY_SER:
        /* Partitions of 5 MiB never fit a 4 MiB budget (serialized, the x's
         * compress and all of them fit). */
        if (level == FLOW_MEMORY_ONLY)
            ck_assert_int_eq(info.mem_partitions, 0);
        ck_assert_int_eq(info.disk_partitions, 0);
        break;
    case FLOW_MEMORY_AND_DISK:
        ck_assert_int_eq(info.mem_partitions + info.disk_partitions, NPARTS);
        ck_assert_int_gt(info.disk_partitions, 0);
        break;
    default:
        ck_assert_int_eq(info.disk_partitions, NPARTS);
        break;
    }
    if (level == FLOW_MEMORY_AND_DISK || level == FLOW_DISK_ONLY)
        ck_assert_int_eq(flow_accumulator_i64(calls), n); /* Computed once. */
    flow_dataset_destroy(&m);
    flow_accumulator_destroy(&calls);
    flow_context_destroy(&ctx);
}
END_TEST

/* Two cached datasets, each several times the budget: a dataset never evicts
 * its own blocks (it would chase its tail), so the second one evicts the
 * first's, least recently used first, and the evictions are counted. */
START_TEST(test_eviction_counted)
{
    flow_context_t *ctx = ctx_with(test_masters[_i], "2m");
    const int64_t n = 20000;
    flow_dataset_t *r = flow_dataset_range(ctx, 0, n, 1, 64);
    calls_arg_t a = {0, 0, 1016};
    flow_dataset_t *first = flow_dataset_map(r, times3, &a, sizeof a);
    flow_dataset_t *m = flow_dataset_map(r, times3, &a, sizeof a);
    flow_dataset_destroy(&r);
    flow_dataset_cache(first);
    flow_dataset_cache(m);
    ck_assert_int_eq(engine_sum(first), model_sum(n));
    flow_cache_info_t finfo;
    flow_dataset_cache_info(first, &finfo);
    ck_assert_int_gt(finfo.mem_partitions, 0);
    for (int round = 0; round < 2; round++)
        ck_assert_int_eq(engine_sum(m), model_sum(n));
    int first_before = finfo.mem_partitions;
    flow_dataset_cache_info(first, &finfo);
    ck_assert_int_lt(finfo.mem_partitions, first_before);
    ck_assert_uint_gt(all_executors(ctx).evictions, 0);
    flow_cache_info_t info;
    flow_dataset_cache_info(m, &info);
    ck_assert_int_gt(info.mem_partitions, 0);
    ck_assert_int_lt(info.mem_partitions, 64);
    flow_dataset_destroy(&first);
    flow_dataset_destroy(&m);
    flow_context_destroy(&ctx);
}
END_TEST

/* Execution takes memory back from cached blocks, down to the protected share. */
START_TEST(test_execution_evicts_storage)
{
    flow_context_t *ctx = ctx_with("local", "16m");
    const int64_t n = 14000; /* About 14 MiB cached: most of the budget. */
    flow_dataset_t *r = flow_dataset_range(ctx, 0, n, 1, 28);
    calls_arg_t a = {0, 0, 1016};
    flow_dataset_t *m = flow_dataset_map(r, times3, &a, sizeof a);
    flow_dataset_destroy(&r);
    flow_dataset_cache(m);
    ck_assert_int_eq(engine_sum(m), model_sum(n));
    flow_executor_memory_t before, after;
    flow_context_executor_memory(ctx, 1, &before);
    ck_assert_uint_gt(before.storage, before.limit / 2);
    /* A shuffle asks for execution memory (a quarter of the budget). */
    flow_dataset_t *k = flow_dataset_range(ctx, 0, 1000, 1, 2);
    flow_dataset_t *d = flow_dataset_distinct(k, 2);
    uint64_t cnt = 0;
    ck_assert_int_eq(flow_dataset_count(d, &cnt), FLOW_OK);
    ck_assert_uint_eq(cnt, 1000);
    flow_context_executor_memory(ctx, 1, &after);
    ck_assert_uint_gt(after.evictions, before.evictions);
    ck_assert_uint_ge(after.storage, after.storage_min);
    ck_assert_int_eq(engine_sum(m), model_sum(n));
    flow_dataset_destroy(&d);
    flow_dataset_destroy(&k);
    flow_dataset_destroy(&m);
    flow_context_destroy(&ctx);
}
END_TEST

/* Map outputs share the budget: cached blocks push them to disk, and the
 * shuffled dataset still reads right from there. */
START_TEST(test_map_outputs_move_to_disk)
{
    flow_context_t *ctx = flow_context_new();
    ck_assert_int_eq(flow_context_set(ctx, "master", test_masters[_i]), FLOW_OK);
    ck_assert_int_eq(flow_context_set(ctx, "executor.memory", "8m"), FLOW_OK);
    /* Let the map outputs take memory first. */
    ck_assert_int_eq(flow_context_set(ctx, "memory.shuffle_fraction", "1"), FLOW_OK);
    ck_assert_msg(flow_context_start(ctx) == FLOW_OK, "%s", flow_last_error(ctx));
    const int64_t n = 6000;
    flow_dataset_t *r = flow_dataset_range(ctx, 0, n, 1, 6);
    calls_arg_t a = {0, 0, 504};
    flow_dataset_t *m = flow_dataset_map(r, times3, &a, sizeof a);
    flow_dataset_t *part = flow_dataset_repartition(m, 5);
    int64_t want = model_sum(n);
    ck_assert_int_eq(engine_sum(part), want);
    uint64_t disk0 = all_executors(ctx).disk;
    /* Cache another dataset of about the whole budget of every executor. */
    flow_dataset_t *big = mapped(ctx, 8000 * flow_context_parallelism(ctx), 0, 1016);
    flow_dataset_cache(big);
    ck_assert_int_eq(engine_sum(big), model_sum(8000 * flow_context_parallelism(ctx)));
    ck_assert_uint_gt(all_executors(ctx).disk, disk0);
    flow_stats_t s0, s1;
    flow_context_stats(ctx, &s0);
    ck_assert_int_eq(engine_sum(part), want);
    flow_context_stats(ctx, &s1);
    ck_assert_uint_eq(s1.map_tasks, s0.map_tasks); /* Read back, not recomputed. */
    flow_dataset_destroy(&big);
    flow_dataset_destroy(&part);
    flow_dataset_destroy(&m);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

/* Map outputs hold at most memory.shuffle_fraction of the budget, whatever
 * the input's size: the rest is written to disk and read back right. */
START_TEST(test_map_outputs_share)
{
    flow_context_t *ctx = ctx_with(test_masters[_i], "32m"); /* 2 MiB share. */
    const int64_t n = 40000;
    flow_dataset_t *r = flow_dataset_range(ctx, 0, n, 1, 8);
    calls_arg_t a = {0, 0, 504};
    flow_dataset_t *m = flow_dataset_map(r, times3, &a, sizeof a);
    flow_dataset_t *part = flow_dataset_repartition(m, 5); /* About 20 MiB. */
    ck_assert_int_eq(engine_sum(part), model_sum(n));
    uint64_t shuffled = 0;
    int nexec = flow_context_parallelism(ctx);
    for (int e = 1; e <= nexec; e++) {
        flow_executor_memory_t x;
        ck_assert_int_eq(flow_context_executor_memory(ctx, e, &x), FLOW_OK);
        ck_assert_uint_le(x.storage, (32u << 20) / 16);
        shuffled += x.disk;
    }
    ck_assert_uint_gt(shuffled, 0); /* All of it would fit in the budget. */
    flow_dataset_destroy(&part);
    flow_dataset_destroy(&m);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

static int key_mod100(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                      const flow_buf_t *arg)
{
    (void)arg;
    uint8_t *k = flow_task_alloc(t, 8);
    flow_key_from_i64(flow_i64(in->val) % 100, k);
    out->key = k;
    out->klen = 8;
    return 0;
}

static int pass_on(flow_task_t *t, const flow_rec_t *in, flow_emit_t *out, const flow_buf_t *arg)
{
    (void)t, (void)arg;
    int64_t one = 1;
    return flow_emit_kv(out, in->key, in->klen, &one, 8);
}

/* Tasks that read shuffles without buffering take no execution memory, and
 * a map task's combine table gives its grant back before its output is
 * stored: small outputs stay in memory when the store is nearly empty. */
START_TEST(test_small_outputs_stay_in_memory)
{
    flow_context_t *ctx = flow_context_new();
    flow_context_set(ctx, "master", "local");
    flow_context_set(ctx, "join.broadcast_threshold", "0");
    ck_assert_int_eq(flow_context_start(ctx), FLOW_OK);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 1000, 1, 2);
    flow_dataset_t *k = flow_dataset_key_by(r, key_mod100, NULL, 0);
    flow_dataset_t *a = flow_dataset_partition_by(k, 2, NULL, NULL, 0);
    flow_dataset_t *b = flow_dataset_combine_builtin(k, FLOW_SUM_I64, 2);
    flow_dataset_t *j = flow_dataset_join(a, b, 2);
    flow_dataset_t *f = flow_dataset_flat_map(j, pass_on, NULL, 0);
    flow_dataset_t *c = flow_dataset_combine_builtin(f, FLOW_SUM_I64, 2);
    uint64_t cnt = 0;
    ck_assert_int_eq(flow_dataset_count(c, &cnt), FLOW_OK);
    ck_assert_uint_eq(cnt, 100);
    flow_executor_memory_t mem;
    flow_context_executor_memory(ctx, 1, &mem);
    ck_assert_uint_eq(mem.disk, 0);
    ck_assert_uint_eq(mem.execution, 0);
    ck_assert_uint_gt(mem.storage, 0);
    flow_dataset_t *all[] = {r, k, a, b, j, f, c};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        flow_dataset_destroy(&all[i]);
    flow_context_destroy(&ctx);
}
END_TEST

/* Stored map outputs take about what was written, not their buffers'
 * doubling capacity (jemalloc's size classes, four per doubling, may still
 * round a buffer up by a quarter). */
START_TEST(test_outputs_stored_tight)
{
    flow_context_t *ctx = ctx_with("local", NULL);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 700000, 1, 1);
    flow_dataset_t *k = flow_dataset_key_by(r, key_of, NULL, 0);
    flow_dataset_t *p = flow_dataset_partition_by(k, 2, NULL, NULL, 0);
    uint64_t cnt = 0;
    ck_assert_int_eq(flow_dataset_count(p, &cnt), FLOW_OK);
    flow_stats_t st;
    flow_context_stats(ctx, &st);
    flow_executor_memory_t mem;
    flow_context_executor_memory(ctx, 1, &mem);
    ck_assert_msg(mem.storage < st.shuffle_bytes_written + st.shuffle_bytes_written / 10 * 3,
                  "storage %llu for %llu bytes written", (unsigned long long)mem.storage,
                  (unsigned long long)st.shuffle_bytes_written);
    flow_dataset_destroy(&p);
    flow_dataset_destroy(&k);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

/* Partitions that fit the budget once stored are all kept, though their
 * buffers' capacity doubled while they were built. */
START_TEST(test_fitting_partitions_all_kept)
{
    flow_context_t *ctx = ctx_with("local", "64m");
    const int64_t n = 3 * 17000; /* Three partitions of about 17 MiB: 51 of 64 MiB. */
    flow_dataset_t *r = flow_dataset_range(ctx, 0, n, 1, 3);
    calls_arg_t a = {0, 0, 1016};
    flow_dataset_t *m = flow_dataset_map(r, times3, &a, sizeof a);
    flow_dataset_destroy(&r);
    flow_dataset_cache(m);
    ck_assert_int_eq(engine_sum(m), model_sum(n));
    flow_cache_info_t info;
    flow_dataset_cache_info(m, &info);
    ck_assert_int_eq(info.mem_partitions, 3);
    flow_stats_t s0, s1;
    flow_context_stats(ctx, &s0);
    ck_assert_int_eq(engine_sum(m), model_sum(n));
    flow_context_stats(ctx, &s1);
    ck_assert_uint_eq(s1.cache_hits - s0.cache_hits, 3);
    flow_dataset_destroy(&m);
    flow_context_destroy(&ctx);
}
END_TEST

/* v -> 64 pseudo-random bytes (incompressible). */
static int noise(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out, const flow_buf_t *arg)
{
    (void)arg;
    uint64_t *v = flow_task_alloc(t, 64), st = (uint64_t)flow_i64(in->val);
    for (int i = 0; i < 8; i++)
        v[i] = test_rand(&st);
    out->val = v;
    out->vlen = 64;
    return 0;
}

/* Serialized blocks are compressed when that saves memory, and kept as they
 * are when it would not (random bytes): either way the answers are right. */
START_TEST(test_ser_compresses_what_shrinks)
{
    flow_context_t *ctx = ctx_with("local", NULL);
    const int64_t n = 20000;
    flow_dataset_t *pad = mapped(ctx, n, 0, 1016);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, n, 1, NPARTS);
    flow_dataset_t *rnd = flow_dataset_map(r, noise, NULL, 0);
    flow_dataset_persist(pad, FLOW_MEMORY_ONLY_SER);
    flow_dataset_persist(rnd, FLOW_MEMORY_ONLY_SER);
    for (int round = 0; round < 2; round++) {
        ck_assert_int_eq(engine_sum(pad), model_sum(n));
        uint64_t cnt = 0;
        ck_assert_int_eq(flow_dataset_count(rnd, &cnt), FLOW_OK);
        ck_assert_uint_eq(cnt, (uint64_t)n);
    }
    flow_cache_info_t ip, ir;
    flow_dataset_cache_info(pad, &ip);
    flow_dataset_cache_info(rnd, &ir);
    ck_assert_int_eq(ip.mem_partitions, NPARTS);
    ck_assert_int_eq(ir.mem_partitions, NPARTS);
    uint64_t raw = (uint64_t)n * (8 + 1024 + 8), raw_rnd = (uint64_t)n * (8 + 64);
    ck_assert_uint_lt(ip.mem_bytes, raw / 10);
    ck_assert_uint_le(ir.mem_bytes, raw_rnd + raw_rnd / 8 + NPARTS * 4096);
    /* Kept raw: LZ4 would save little, and every read would decompress. */
    flow__blockstore_t *bs = ctx->group.stores[0];
    flow__map_output_t *mo = flow__bs_cache_get(bs, flow_dataset_id(rnd), 0);
    ck_assert_ptr_nonnull(mo);
    ck_assert_int_eq(mo->compressed, 0);
    flow__bs_release(bs, mo);
    mo = flow__bs_cache_get(bs, flow_dataset_id(pad), 0);
    ck_assert_ptr_nonnull(mo);
    ck_assert_int_eq(mo->compressed, 1);
    flow__bs_release(bs, mo);
    /* The random values read back intact: the first one of the dataset. */
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_take(rnd, 1, &res), FLOW_OK);
    uint64_t st = 0, want = test_rand(&st);
    ck_assert_uint_eq(((const uint64_t *)flow_result_get(res, 0)->val)[0], want);
    flow_result_destroy(&res);
    flow_dataset_destroy(&rnd);
    flow_dataset_destroy(&r);
    flow_dataset_destroy(&pad);
    flow_context_destroy(&ctx);
}
END_TEST

/* An aggregation that needs little memory asks for little: cached blocks
 * above the protected share stay where they are. */
START_TEST(test_small_aggregation_keeps_cache)
{
    flow_context_t *ctx = ctx_with("local", "64m");
    const int64_t n = 52000; /* About 51 MiB cached of a 64 MiB budget. */
    flow_dataset_t *m = mapped(ctx, n, 0, 1016);
    flow_dataset_cache(m);
    ck_assert_int_eq(engine_sum(m), model_sum(n));
    flow_executor_memory_t before, after;
    flow_context_executor_memory(ctx, 1, &before);
    ck_assert_uint_gt(before.storage, before.storage_min);
    flow_dataset_t *k = flow_dataset_key_by(m, key_mod100, NULL, 0);
    flow_dataset_t *c = flow_dataset_combine_builtin(k, FLOW_COUNT, 2);
    uint64_t cnt = 0;
    ck_assert_int_eq(flow_dataset_count(c, &cnt), FLOW_OK);
    ck_assert_uint_eq(cnt, 100);
    flow_context_executor_memory(ctx, 1, &after);
    ck_assert_uint_eq(after.evictions, before.evictions);
    flow_cache_info_t info;
    flow_dataset_cache_info(m, &info);
    ck_assert_int_eq(info.mem_partitions, NPARTS);
    flow_dataset_destroy(&c);
    flow_dataset_destroy(&k);
    flow_dataset_destroy(&m);
    flow_context_destroy(&ctx);
}
END_TEST

/* The executor's accounting agrees with jemalloc's statistics of its arena. */
START_TEST(test_accounting_matches_jemalloc)
{
    flow_context_t *ctx = ctx_with("local", "256m");
    flow_executor_memory_t m0;
    flow_context_executor_memory(ctx, 1, &m0);
    if (m0.arena < 0) {
        flow_context_destroy(&ctx);
        return; /* The system allocator (sanitizer builds) has no arena statistics. */
    }
    const int64_t n = 32000; /* 32 MiB of cached values. */
    flow_dataset_t *m = mapped(ctx, n, 0, 1016);
    flow_dataset_cache(m);
    ck_assert_int_eq(engine_sum(m), model_sum(n));
    flow_executor_memory_t m1;
    flow_context_executor_memory(ctx, 1, &m1);
    ck_assert_uint_ge(m1.storage, (uint64_t)n * 1032);
    /* What the store counts is in the arena; what else the arena holds (the
     * runner's arenas and thread caches) is small beside it. */
    ck_assert_msg(m1.arena_allocated >= m1.storage,
                  "arena %llu < storage %llu", (unsigned long long)m1.arena_allocated,
                  (unsigned long long)m1.storage);
    ck_assert_msg(m1.arena_allocated - m1.storage < m1.storage / 10 + (4u << 20),
                  "arena %llu vs storage %llu", (unsigned long long)m1.arena_allocated,
                  (unsigned long long)m1.storage);
    /* Dropping the blocks gives the memory back, in both views. */
    flow_dataset_unpersist(m);
    flow_executor_memory_t m2;
    flow_context_executor_memory(ctx, 1, &m2);
    ck_assert_uint_eq(m2.storage, 0);
    ck_assert_uint_lt(m2.arena_allocated, m1.arena_allocated - m1.storage + (1u << 20));
    flow_dataset_destroy(&m);
    flow_context_destroy(&ctx);
}
END_TEST

/* ---- Lineage --------------------------------------------------------------------------------- */

/* An iterative job over a cached dataset: blocks dropped in the middle come
 * back from lineage, only those partitions, and every answer is right. */
START_TEST(test_dropped_blocks_recomputed)
{
    flow_context_t *ctx = ctx_with(test_masters[_i], NULL);
    flow_accumulator_t *calls = flow_accumulator_new(ctx, FLOW_ACC_SUM_I64);
    const int64_t n = 8000;
    flow_dataset_t *base = mapped(ctx, n, flow_accumulator_id(calls), 0);
    flow_dataset_cache(base);
    int64_t want = model_sum(n);
    for (int it = 0; it < 6; it++) {
        if (it == 3) {
            /* Lose partitions 1 and 5 from whichever stores hold them. */
            for (int e = 0; e < ctx->group.n; e++) {
                flow__bs_cache_drop(ctx->group.stores[e], flow_dataset_id(base), 1);
                flow__bs_cache_drop(ctx->group.stores[e], flow_dataset_id(base), 5);
            }
        }
        flow_stats_t s0, s1;
        flow_context_stats(ctx, &s0);
        ck_assert_int_eq(engine_sum(base), want);
        flow_context_stats(ctx, &s1);
        uint64_t misses = s1.cache_misses - s0.cache_misses;
        ck_assert_uint_eq(misses, it == 0 ? NPARTS : it == 3 ? 2 : 0);
    }
    /* The UDF ran once per record of the first computation (the recomputed
     * partitions count once: accumulators apply each partition once). */
    ck_assert_int_eq(flow_accumulator_i64(calls), n);
    flow_dataset_destroy(&base);
    flow_accumulator_destroy(&calls);
    flow_context_destroy(&ctx);
}
END_TEST

/* A cached dataset downstream of a shuffle: once cached, the shuffle is not
 * needed; if its blocks are lost, the shuffle's map outputs serve again. */
START_TEST(test_cached_shuffle_output)
{
    flow_context_t *ctx = ctx_with(test_masters[_i], NULL);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 5000, 1, 4);
    static const uint8_t k[8];
    (void)k;
    flow_dataset_t *d = flow_dataset_repartition(r, 6);
    flow_dataset_cache(d);
    uint64_t cnt = 0;
    ck_assert_int_eq(flow_dataset_count(d, &cnt), FLOW_OK);
    ck_assert_uint_eq(cnt, 5000);
    flow_stats_t s0, s1;
    flow_context_stats(ctx, &s0);
    ck_assert_int_eq(flow_dataset_count(d, &cnt), FLOW_OK);
    flow_context_stats(ctx, &s1);
    ck_assert_uint_eq(s1.map_tasks, s0.map_tasks);
    ck_assert_uint_eq(s1.cache_hits - s0.cache_hits, 6);
    for (int e = 0; e < ctx->group.n; e++)
        flow__bs_cache_drop(ctx->group.stores[e], flow_dataset_id(d), 2);
    ck_assert_int_eq(flow_dataset_count(d, &cnt), FLOW_OK);
    ck_assert_uint_eq(cnt, 5000);
    flow_dataset_destroy(&d);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

/* Sum m (range(0, n) mapped) again after one of its blocks was damaged: the
 * right answer, with that one partition recomputed. The task failures it
 * took. */
static uint64_t resum_after_damage(flow_context_t *ctx, flow_dataset_t *m, int64_t n)
{
    flow_stats_t s0, s1;
    flow_context_stats(ctx, &s0);
    ck_assert_int_eq(engine_sum(m), model_sum(n));
    flow_context_stats(ctx, &s1);
    ck_assert_uint_eq(s1.cache_misses - s0.cache_misses, 1);
    return s1.tasks_failed - s0.tasks_failed;
}

/* A corrupt cached block is dropped and recomputed, never read. */
START_TEST(test_corrupt_block_recomputed)
{
    flow_context_t *ctx = ctx_with("local", NULL);
    const int64_t n = 4000;
    flow_dataset_t *m = mapped(ctx, n, 0, 0);
    flow_dataset_cache(m);
    ck_assert_int_eq(engine_sum(m), model_sum(n));
    flow__blockstore_t *bs = ctx->group.stores[0];
    flow__map_output_t *mo = flow__bs_cache_get(bs, flow_dataset_id(m), 3);
    ck_assert_ptr_nonnull(mo);
    mo->segs[0].data[mo->segs[0].len / 2] ^= 0x40;
    flow__bs_release(bs, mo);
    ck_assert_uint_eq(resum_after_damage(ctx, m, n), 0); /* Found at open. */
    flow_dataset_destroy(&m);
    flow_context_destroy(&ctx);
}
END_TEST

/* A cached block found corrupt past its first piece, in memory or in its
 * file on disk: the read stops there, the task's retry recomputes the
 * partition, and the answer is right. */
START_TEST(test_corrupt_block_late_recomputed)
{
    static const flow_storage_level_t levels[] = {FLOW_MEMORY_ONLY, FLOW_DISK_ONLY};
    flow_context_t *ctx = ctx_with("local", "256m");
    const int64_t n = 40000; /* With 200 pad bytes: about 1 MiB per partition. */
    flow_dataset_t *m = mapped(ctx, n, 0, 200);
    ck_assert_ptr_eq(flow_dataset_persist(m, levels[_i]), m);
    ck_assert_int_eq(engine_sum(m), model_sum(n));
    flow__blockstore_t *bs = ctx->group.stores[0];
    flow__map_output_t *mo = flow__bs_cache_get(bs, flow_dataset_id(m), 3);
    ck_assert_ptr_nonnull(mo);
    if (!mo->on_disk) {
        ck_assert_uint_gt(mo->segs[0].len, 2 * FLOW_SEG_CHUNK);
        mo->segs[0].data[mo->segs[0].len - 100] ^= 0x40; /* In the last piece. */
    } else {
        FILE *f = fopen(mo->file.path, "r+b");
        ck_assert_ptr_nonnull(f);
        long at = (long)(mo->file.file_bytes * 3 / 4); /* In a later chunk. */
        ck_assert_int_eq(fseek(f, at, SEEK_SET), 0);
        int c = fgetc(f);
        ck_assert_int_eq(fseek(f, at, SEEK_SET), 0);
        fputc(c ^ 0x40, f);
        fclose(f);
    }
    flow__bs_release(bs, mo);
    ck_assert_uint_ge(resum_after_damage(ctx, m, n), 1); /* Found late: a retry. */
    flow_dataset_destroy(&m);
    flow_context_destroy(&ctx);
}
END_TEST

/* ---- Checkpoints --------------------------------------------------------------------------- */

static int add_one(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out, const flow_buf_t *arg)
{
    (void)arg;
    int64_t *v = flow_task_alloc(t, 8);
    *v = flow_i64(in->val) + 1;
    out->val = v;
    out->vlen = 8;
    return 0;
}

/* A 100-step iteration checkpointed every 10 steps: right answer, and a task
 * never carries more than 10 steps of lineage. */
START_TEST(test_checkpoint_cuts_lineage)
{
    flow_context_t *ctx = ctx_with(test_masters[_i], NULL);
    const int64_t n = 3000;
    flow_dataset_t *cur = flow_dataset_range(ctx, 0, n, 1, 4);
    size_t max_task = 0;
    for (int step = 1; step <= 100; step++) {
        flow_dataset_t *next = flow_dataset_map(cur, add_one, NULL, 0);
        flow_dataset_destroy(&cur);
        cur = next;
        if (step % 10 == 0) {
            ck_assert_int_eq(flow_dataset_checkpoint(cur), FLOW_OK);
            ck_assert(flow_dataset_is_checkpointed(cur));
        }
        void *task;
        size_t len;
        ck_assert_int_eq(flow_dataset_encode_task(cur, 1, &task, &len), FLOW_OK);
        flow_free(task);
        if (len > max_task)
            max_task = len;
    }
    ck_assert_uint_lt(max_task, 1500);
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_collect(cur, &res), FLOW_OK);
    ck_assert_uint_eq(flow_result_count(res), (uint64_t)n);
    for (size_t i = 0; i < (size_t)n; i++)
        ck_assert_int_eq(flow_i64(flow_result_get(res, i)->val), (int64_t)i + 100);
    flow_result_destroy(&res);
    /* A shuffled dataset keeps its partitioning through a checkpoint. */
    flow_dataset_t *keyed = flow_dataset_key_by(cur, key_of, NULL, 0);
    flow_dataset_t *red = flow_dataset_combine_builtin(keyed, FLOW_COUNT, 3);
    ck_assert_int_eq(flow_dataset_checkpoint(red), FLOW_OK);
    uint64_t cnt = 0;
    ck_assert_int_eq(flow_dataset_count(red, &cnt), FLOW_OK);
    ck_assert_uint_eq(cnt, (uint64_t)n);
    ck_assert_int_eq(flow_dataset_npartitions(red), 3);
    flow_dataset_destroy(&red);
    flow_dataset_destroy(&keyed);
    flow_dataset_destroy(&cur);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_checkpoint_bad_dir)
{
    flow_context_t *ctx = flow_context_new();
    flow_context_set(ctx, "master", "local");
    flow_context_set(ctx, "checkpoint.dir", "/nonexistent/flow-ckpt");
    ck_assert_int_eq(flow_context_start(ctx), FLOW_OK);
    flow_dataset_t *r = flow_dataset_range(ctx, 0, 10, 1, 2);
    ck_assert_int_eq(flow_dataset_checkpoint(r), FLOW_EIO);
    ck_assert_ptr_nonnull(strstr(flow_last_error(ctx), "/nonexistent/flow-ckpt"));
    ck_assert(!flow_dataset_is_checkpointed(r));
    uint64_t cnt;
    ck_assert_int_eq(flow_dataset_count(r, &cnt), FLOW_OK);
    ck_assert_uint_eq(cnt, 10);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

START_TEST(test_local_checkpoint)
{
    flow_context_t *ctx = ctx_with(test_masters[_i], NULL);
    const int64_t n = 5000;
    flow_dataset_t *m = mapped(ctx, n, 0, 0);
    ck_assert_int_eq(flow_dataset_local_checkpoint(m), FLOW_OK);
    ck_assert(flow_dataset_is_checkpointed(m));
    ck_assert_int_eq(flow_dataset_storage_level(m), FLOW_MEMORY_AND_DISK);
    flow_dataset_t *p = flow_dataset_map(m, add_one, NULL, 0);
    int64_t want = model_sum(n) + n;
    ck_assert_int_eq(engine_sum(p), want);
    /* Lost blocks of a local checkpoint cannot come back: a clear error. */
    for (int e = 0; e < ctx->group.n; e++)
        flow__bs_cache_drop(ctx->group.stores[e], flow_dataset_id(m), 2);
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_reduce(p, sum_first, NULL, 0, &res), FLOW_ENOENT);
    ck_assert_ptr_nonnull(strstr(flow_last_error(ctx), "locally checkpointed"));
    flow_dataset_destroy(&p);
    flow_dataset_destroy(&m);
    flow_context_destroy(&ctx);
}
END_TEST

/* ---- Broadcast variables ----------------------------------------------------------------- */

/* v -> table[v % len] from the broadcast whose id is the argument. */
static int lookup(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out, const flow_buf_t *arg)
{
    uint64_t id = flow_i64(arg->data);
    flow_buf_t b;
    if (flow_task_broadcast(t, id, &b) < 0)
        return flow_task_fail(t, 1, "no broadcast %llu", (unsigned long long)id);
    const int64_t *table = b.data;
    size_t len = b.len / 8;
    int64_t *v = flow_task_alloc(t, 8);
    *v = table[(size_t)flow_i64(in->val) % len];
    out->val = v;
    out->vlen = 8;
    return 0;
}

START_TEST(test_broadcast)
{
    flow_context_t *ctx = ctx_with(test_masters[_i], NULL);
    enum { LEN = 100000 };
    int64_t *table = malloc(sizeof *table * LEN);
    uint64_t seed = 42;
    for (size_t i = 0; i < LEN; i++)
        table[i] = (int64_t)(test_rand(&seed) % 1000);
    flow_broadcast_t *b = flow_broadcast_new(ctx, table, sizeof *table * LEN);
    ck_assert_ptr_nonnull(b);
    uint64_t id = flow_broadcast_id(b);
    const int64_t n = 30000;
    flow_dataset_t *r = flow_dataset_range(ctx, 0, n, 7, 6);
    flow_dataset_t *m = flow_dataset_map(r, lookup, &id, sizeof id);
    int64_t want = 0;
    for (int64_t v = 0; v < n; v += 7)
        want += table[v % LEN];
    flow_stats_t s0, s1;
    flow_context_stats(ctx, &s0);
    for (int round = 0; round < 3; round++)
        ck_assert_int_eq(engine_sum(m), want);
    /* Sent once to each executor, however many tasks and jobs use it. */
    flow_context_stats(ctx, &s1);
    ck_assert_uint_eq(s1.broadcasts_sent - s0.broadcasts_sent,
                      (uint64_t)flow_context_parallelism(ctx));
    /* Destroyed: gone from every executor. */
    flow_broadcast_destroy(&b);
    ck_assert_ptr_null(b);
    flow_result_t *res = NULL;
    ck_assert_int_eq(flow_dataset_reduce(m, sum_first, NULL, 0, &res), FLOW_ETASK);
    ck_assert_ptr_nonnull(strstr(flow_last_error(ctx), "no broadcast"));
    free(table);
    flow_dataset_destroy(&m);
    flow_dataset_destroy(&r);
    flow_context_destroy(&ctx);
}
END_TEST

/* ---- Accumulators -------------------------------------------------------------------------- */

static int count_foreach(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg)
{
    const uint64_t *ids = arg->data;
    if (flow_task_add_f64(t, ids[0], 0.5) < 0)
        return -1;
    int64_t v = flow_i64(in->val);
    return flow_task_accumulate(t, ids[1], &v, 8);
}

/* User accumulator: the maximum int64. */
static int max_merge(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b,
                     flow_rec_t *out, const flow_buf_t *arg)
{
    (void)t, (void)arg;
    *out = flow_i64(a->val) >= flow_i64(b->val) ? *a : *b;
    return 0;
}

START_TEST(test_accumulators_exactly_once)
{
    flow_context_t *ctx = ctx_with(test_masters[_i], NULL);
    flow_accumulator_t *calls = flow_accumulator_new(ctx, FLOW_ACC_SUM_I64);
    const int64_t n = 9000;
    flow_dataset_t *r = flow_dataset_range(ctx, 0, n, 1, 9);
    calls_arg_t a = {flow_accumulator_id(calls), 1, 0};
    flow_dataset_t *m = flow_dataset_map(r, times3, &a, sizeof a);
    /* Partitions 0, 3 and 6 fail their first attempt after... before adding:
     * the retried attempts count, the failed ones never do. */
    flow_stats_t s0, s1;
    flow_context_stats(ctx, &s0);
    ck_assert_int_eq(engine_sum(m), model_sum(n));
    flow_context_stats(ctx, &s1);
    ck_assert_uint_eq(s1.tasks_failed - s0.tasks_failed, 3);
    ck_assert_int_eq(flow_accumulator_i64(calls), n);
    /* Computing the (uncached) dataset again adds nothing. */
    ck_assert_int_eq(engine_sum(m), model_sum(n));
    ck_assert_int_eq(flow_accumulator_i64(calls), n);
    /* Through a shuffle whose map stage is re-run after a lost output. */
    flow_dataset_t *kd = flow_dataset_key_by(m, key_of, NULL, 0);
    flow_dataset_t *red = flow_dataset_combine_builtin(kd, FLOW_COUNT, 4);
    uint64_t cnt;
    ck_assert_int_eq(flow_dataset_count(red, &cnt), FLOW_OK);
    ck_assert_uint_eq(cnt, (uint64_t)n);
    ck_assert_int_eq(flow_accumulator_i64(calls), n);

    /* An action's function counts once per action; wrong kinds fail. */
    flow_accumulator_t *half = flow_accumulator_new(ctx, FLOW_ACC_SUM_F64);
    int64_t zero = INT64_MIN;
    flow_accumulator_t *mx = flow_accumulator_new_user(ctx, &zero, 8, max_merge, NULL, 0);
    ck_assert_ptr_null(flow_accumulator_new(ctx, FLOW_ACC_USER));
    uint64_t ids[2] = {flow_accumulator_id(half), flow_accumulator_id(mx)};
    ck_assert_int_eq(flow_dataset_foreach(r, count_foreach, ids, sizeof ids), FLOW_OK);
    ck_assert_int_eq(flow_dataset_foreach(r, count_foreach, ids, sizeof ids), FLOW_OK);
    ck_assert(flow_accumulator_f64(half) == (double)n);
    flow_buf_t v = flow_accumulator_value(mx);
    ck_assert_uint_eq(v.len, 8);
    ck_assert_int_eq(flow_i64(v.data), n - 1);
    uint64_t swapped[2] = {ids[1], ids[0]};
    ck_assert_int_eq(flow_dataset_foreach(r, count_foreach, swapped, sizeof swapped),
                     FLOW_EINVAL);
    ck_assert_ptr_nonnull(strstr(flow_last_error(ctx), "does not take"));
    flow_dataset_destroy(&red);
    flow_dataset_destroy(&kd);
    flow_dataset_destroy(&m);
    flow_dataset_destroy(&r);
    flow_accumulator_destroy(&calls);
    flow_accumulator_destroy(&half);
    flow_accumulator_destroy(&mx);
    flow_context_destroy(&ctx);
}
END_TEST

Suite *cache_suite(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("cache");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_levels_fit, 0, TEST_NMASTERS * 4);
    tcase_add_loop_test(tc, test_partial_read_and_levels, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_levels_evict, 0, TEST_NMASTERS * 4);
    tcase_add_loop_test(tc, test_eviction_counted, 0, TEST_NMASTERS);
    tcase_add_test(tc, test_execution_evicts_storage);
    tcase_add_loop_test(tc, test_map_outputs_move_to_disk, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_map_outputs_share, 0, TEST_NMASTERS);
    tcase_add_test(tc, test_accounting_matches_jemalloc);
    tcase_add_test(tc, test_small_outputs_stay_in_memory);
    tcase_add_test(tc, test_small_aggregation_keeps_cache);
    tcase_add_test(tc, test_fitting_partitions_all_kept);
    tcase_add_test(tc, test_ser_compresses_what_shrinks);
    tcase_add_test(tc, test_outputs_stored_tight);
    tcase_add_loop_test(tc, test_dropped_blocks_recomputed, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_cached_shuffle_output, 0, TEST_NMASTERS);
    tcase_add_test(tc, test_corrupt_block_recomputed);
    tcase_add_loop_test(tc, test_corrupt_block_late_recomputed, 0, 2);
    tcase_add_loop_test(tc, test_checkpoint_cuts_lineage, 0, TEST_NMASTERS);
    tcase_add_test(tc, test_checkpoint_bad_dir);
    tcase_add_loop_test(tc, test_local_checkpoint, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_broadcast, 0, TEST_NMASTERS);
    tcase_add_loop_test(tc, test_accumulators_exactly_once, 0, TEST_NMASTERS);
    suite_add_tcase(s, tc);
    return s;
}
