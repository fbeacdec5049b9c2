/* runner.c - decode, run and answer one task (see runner.h) */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aggtable.h"
#include "mem.h"
#include "runner.h"
#include "shared.h"

void flow__runner_init(flow__runner_t *r, flow__poll_fn *poll, void *poll_ud,
                       const flow__exec_env_t *env)
{
    flow__arena_init(&r->arena, 256 * 1024);
    r->poll = poll;
    r->poll_ud = poll_ud;
    r->own_store = NULL;
    if (env) {
        r->env = *env;
        return;
    }
    r->own_store = flow__bs_new("/tmp", 1024u << 20, 0.5, 1.0, 0);
    memset(&r->env, 0, sizeof r->env);
    r->env.store = r->own_store;
    r->env.mem_limit = 256u << 20;
    r->env.local_dir = "/tmp";
}

void flow__runner_free(flow__runner_t *r)
{
    flow__agg_release_spare();
    flow__arena_free(&r->arena);
    flow__bs_free(r->own_store);
}

#define FIRST_GRANT (4u << 20)

uint64_t flow__task_exec_memory(flow_task_t *t)
{
    uint64_t want = t->env->mem_limit < FIRST_GRANT ? t->env->mem_limit : FIRST_GRANT;
    if (!t->env->store)
        return want;
    uint64_t grant = flow__bs_exec_acquire(t->env->store, want);
    t->exec_held += grant;
    return grant;
}

int flow__task_exec_grow_slow(flow_task_t *t, uint64_t *grant, uint64_t need)
{
    uint64_t max = t->env->mem_limit;
    if (*grant >= max || !t->env->store)
        return 0;
    /* Ask for twice what is needed, so that a growing table asks rarely. */
    uint64_t target = need > max / 2 ? max : need * 2;
    if (target <= *grant)
        return 0;
    uint64_t got = flow__bs_exec_acquire(t->env->store, target - *grant);
    *grant += got;
    t->exec_held += got;
    return need <= *grant;
}

void flow__task_exec_return(flow_task_t *t, uint64_t n)
{
    if (n > t->exec_held)
        n = t->exec_held;
    if (n && t->env->store)
        flow__bs_exec_release(t->env->store, n);
    t->exec_held -= n;
}

void flow__task_init_local(flow_task_t *t, flow__err_t *err, flow__arena_t *scratch)
{
    memset(t, 0, sizeof *t);
    t->err = err;
    t->scratch = scratch;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int flow__task_execute(flow__runner_t *r, const void *task, size_t len, flow__wbuf_t *out)
{
    uint64_t t0 = now_ns();
    flow__task_result_t res;
    memset(&res, 0, sizeof res);
    flow__err_clear(&res.err);
    flow__arena_reset(&r->arena);
    flow__wbuf_t accs;
    flow__wbuf_init(&accs);

    flow__task_desc_t desc;
    memset(&desc, 0, sizeof desc);
    flow_iter_t *root = NULL;
    uint64_t peak = 0;
    flow__wbuf_t payload;
    flow__wbuf_init(&payload);
    int rc = flow__task_decode(task, len, &r->arena, &desc, &res.err);
    res.job = desc.job;
    res.stage = desc.stage;
    res.task = desc.task;
    res.partition = desc.partition;
    res.attempt = desc.attempt;
    if (rc == FLOW_OK) {
        flow_task_t t;
        memset(&t, 0, sizeof t);
        t.job = desc.job;
        t.stage = desc.stage;
        t.partition = desc.partition;
        t.attempt = desc.attempt;
        t.err = &res.err;
        t.poll = r->poll;
        t.poll_ud = r->poll_ud;
        t.env = &r->env;
        rc = flow__iter_build(&t, &r->arena, desc.root, &root);
        if (rc == FLOW_OK)
            rc = flow__sink_run(&t, &desc.sink, root, &payload, &res.metrics);
        res.fetch_shuffle = t.fetch_shuffle;
        res.fetch_map = t.fetch_map;
        res.fetch_exec = t.fetch_exec;
        peak = flow__iter_peak(root);
        flow__iter_close(root, &res.metrics);
        if (t.exec_held)
            flow__bs_exec_release(r->env.store, t.exec_held);
        res.metrics.cache_hits = t.cache_hits;
        res.metrics.cache_misses = t.cache_misses;
        if (rc == FLOW_OK && res.err.code == FLOW_OK) {
            flow__acc_log_encode(&t, &accs);
            res.accs = accs.data;
            res.accs_len = accs.len;
        }
        flow__acc_log_free(&t);
    } else {
        res.err.permanent = 1; /* A malformed task stays malformed. */
    }
    res.metrics.peak_mem = peak + payload.cap + r->arena.peak;
    if (rc < 0 && res.err.code == FLOW_OK)
        flow__err_set(&res.err, rc, "%s", flow_strerror(rc));
    if (res.err.code == FLOW_OK) {
        res.payload = payload.data;
        res.payload_len = payload.len;
    }
    res.metrics.bytes_out = res.payload_len;
    res.metrics.wall_ns = now_ns() - t0;
    flow__result_encode(out, &res);
    flow__wbuf_free(&payload);
    flow__wbuf_free(&accs);
    return res.err.code;
}

int flow_run_encoded_task(const void *task, size_t len, void **out, size_t *out_len)
{
    flow__runner_t r;
    flow__runner_init(&r, NULL, NULL, NULL);
    flow__wbuf_t b;
    flow__wbuf_init(&b);
    int rc = flow__task_execute(&r, task, len, &b);
    flow__runner_free(&r);
    *out = flow__wbuf_take(&b, out_len);
    return rc;
}

/* ---- The task context API (flow.h) -------------------------------------------------- */

int flow_task_partition(const flow_task_t *t) { return (int)t->partition; }

int flow_task_attempt(const flow_task_t *t) { return (int)t->attempt; }

int flow_task_fail(flow_task_t *t, int permanent, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err->msg, sizeof t->err->msg, fmt, ap);
    va_end(ap);
    t->err->code = FLOW_ETASK;
    t->err->permanent = permanent != 0;
    t->err->dataset = t->dataset;
    return -1;
}

void *flow_task_alloc(flow_task_t *t, size_t n)
{
    if (n > FLOW_REC_MAX)
        return NULL;
    return flow__arena_alloc(t->scratch, n);
}
