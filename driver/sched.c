/* sched.c - the task scheduler: executors, dispatch, retries, cancellation
 * The driver binds a ROUTER socket; each executor connects a DEALER and
 * registers. A job is one stage of tasks, one per partition asked for (later
 * issues cut jobs into several stages at shuffle boundaries). Tasks are
 * encoded when they are dispatched, so only tasks_in_flight tasks per
 * executor exist as bytes at once. Each result is matched to its attempt by
 * (job, stage, task, attempt); a success is merged, a failure is retried on
 * the next free executor until task.max_attempts attempts have failed or the
 * failure is permanent. Then the job fails: every executor gets a CANCEL for
 * it, and the scheduler waits for all attempts in flight to answer before it
 * returns, so no stray result can reach a later job. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "driver.h"
#include "mem.h"

#define REGISTER_TIMEOUT_MS 30000

/* ---- Executors ---------------------------------------------------------------------- */

static int wait_registrations(flow_context_t *ctx)
{
    int waiting = ctx->nexecs;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (waiting > 0) {
        flow__msg_t m;
        int rc = flow__wire_recv(ctx->router, &ctx->rx, 1000, &m, &ctx->err);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            uint32_t id = m.hdr.executor;
            if (m.hdr.type == FLOW_MSG_REGISTER && id >= 1 && id <= (uint32_t)ctx->nexecs &&
                !ctx->execs[id - 1].registered) {
                flow__exec_slot_t *x = &ctx->execs[id - 1];
                x->registered = 1;
                memcpy(x->ident, m.peer, m.peer_len);
                x->ident_len = m.peer_len;
                waiting--;
            }
            flow__msg_free(&m);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if ((t1.tv_sec - t0.tv_sec) * 1000 > REGISTER_TIMEOUT_MS)
            return flow__ctx_error(ctx, FLOW_ETIMEDOUT,
                                   "%d of %d executors did not register within %d s",
                                   waiting, ctx->nexecs, REGISTER_TIMEOUT_MS / 1000);
    }
    return FLOW_OK;
}

/* Spill files and shuffle outputs of this context go into a directory of its
 * own under local.dir, removed when the context is destroyed. */
static int make_work_dir(flow_context_t *ctx)
{
    snprintf(ctx->work_dir, sizeof ctx->work_dir, "%s/flow-%d-XXXXXX", ctx->set.local_dir,
             (int)getpid());
    if (!mkdtemp(ctx->work_dir)) {
        int e = errno;
        ctx->work_dir[0] = '\0';
        return flow__ctx_error(ctx, FLOW_EIO, "local.dir %s: cannot create a directory: %s",
                               ctx->set.local_dir, strerror(e));
    }
    return FLOW_OK;
}

int flow__sched_start(flow_context_t *ctx)
{
    if (make_work_dir(ctx) < 0)
        return ctx->err.code;
    ctx->zctx = zmq_ctx_new();
    if (!ctx->zctx)
        return flow__ctx_error(ctx, FLOW_ENET, "zmq_ctx_new: %s", zmq_strerror(errno));
    ctx->router = zmq_socket(ctx->zctx, ZMQ_ROUTER);
    int one = 1, linger = 0;
    snprintf(ctx->endpoint, sizeof ctx->endpoint, "inproc://flow-scheduler");
    if (!ctx->router ||
        zmq_setsockopt(ctx->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) < 0 ||
        zmq_setsockopt(ctx->router, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_bind(ctx->router, ctx->endpoint) < 0)
        return flow__ctx_error(ctx, FLOW_ENET, "scheduler socket %s: %s", ctx->endpoint,
                               zmq_strerror(zmq_errno()));
    flow__wire_rx_init(&ctx->rx, 1);
    ctx->nexecs = ctx->set.executors;
    ctx->execs = flow__calloc((size_t)ctx->nexecs, sizeof *ctx->execs);
    ctx->group.n = ctx->nexecs;
    ctx->group.stores = flow__calloc((size_t)ctx->nexecs, sizeof *ctx->group.stores);
    for (int i = 0; i < ctx->nexecs; i++) {
        flow__blockstore_t *bs = flow__bs_new(ctx->work_dir, ctx->set.executor_memory,
                                              ctx->set.storage_fraction,
                                              ctx->set.shuffle_fraction,
                                              ctx->set.shuffle_compress);
        bs->arena = flow__mem_arena_acquire();
        ctx->group.stores[i] = bs;
    }
    for (int i = 0; i < ctx->nexecs; i++) {
        flow__exec_slot_t *x = &ctx->execs[i];
        x->id = (uint32_t)i + 1;
        x->cfg.env.exec_id = x->id;
        x->cfg.env.store = ctx->group.stores[i];
        x->cfg.env.group = &ctx->group;
        x->cfg.env.mem_limit = ctx->set.executor_memory / 4;
        x->cfg.env.local_dir = ctx->work_dir;
        x->cfg.zctx = ctx->zctx;
        snprintf(x->cfg.endpoint, sizeof x->cfg.endpoint, "%s", ctx->endpoint);
        x->cfg.id = x->id;
        x->cfg.chunk_size = ctx->set.chunk_size;
        int rc = pthread_create(&x->thread, NULL, flow__executor_thread, &x->cfg);
        if (rc != 0)
            return flow__ctx_error(ctx, FLOW_ENOMEM, "cannot start executor thread %d: %s",
                                   i + 1, strerror(rc));
        x->started = 1;
    }
    return wait_registrations(ctx);
}

void flow__sched_stop(flow_context_t *ctx)
{
    flow__msg_hdr_t h = {0};
    h.type = FLOW_MSG_STOP;
    for (int i = 0; i < ctx->nexecs; i++) {
        flow__exec_slot_t *x = &ctx->execs[i];
        if (x->registered)
            flow__wire_send(ctx->router, x->ident, x->ident_len, &h, NULL, 0,
                            ctx->set.chunk_size, NULL);
    }
    /* An executor that never registered cannot be told to stop: shutting the
     * ZeroMQ context down makes its blocking receive return. */
    for (int i = 0; i < ctx->nexecs; i++)
        if (ctx->execs[i].started && !ctx->execs[i].registered && ctx->zctx) {
            zmq_ctx_shutdown(ctx->zctx);
            break;
        }
    for (int i = 0; i < ctx->nexecs; i++)
        if (ctx->execs[i].started)
            pthread_join(ctx->execs[i].thread, NULL);
    flow__free(ctx->execs);
    ctx->execs = NULL;
    ctx->nexecs = 0;
    for (int i = 0; i < ctx->group.n; i++) {
        int arena = ctx->group.stores[i]->arena;
        flow__bs_free(ctx->group.stores[i]);
        flow__mem_arena_release(arena);
    }
    flow__free(ctx->group.stores);
    ctx->group.stores = NULL;
    ctx->group.n = 0;
    if (ctx->work_dir[0])
        flow__remove_tree(ctx->work_dir);
    ctx->work_dir[0] = '\0';
    if (ctx->router) {
        zmq_close(ctx->router);
        flow__wire_rx_free(&ctx->rx);
    }
    ctx->router = NULL;
    if (ctx->zctx)
        zmq_ctx_term(ctx->zctx);
    ctx->zctx = NULL;
}

/* ---- Shuffle registry ----------------------------------------------------------------- */

flow__shuffle_t *flow__shuffle_find(flow_context_t *ctx, uint32_t id)
{
    for (int i = 0; i < ctx->nshuffles; i++)
        if (ctx->shuffles[i]->id == id)
            return ctx->shuffles[i];
    return NULL;
}

void flow__shuffle_done(flow__shuffle_t *sh, int map, uint32_t exec)
{
    if (sh->execs[map] == 0)
        sh->missing--;
    sh->execs[map] = exec;
}

void flow__shuffle_lost(flow_context_t *ctx, uint32_t shuffle, int map)
{
    flow__shuffle_t *sh = flow__shuffle_find(ctx, shuffle);
    if (!sh || map < 0 || map >= sh->nmaps || sh->execs[map] == 0)
        return;
    uint32_t exec = sh->execs[map];
    sh->execs[map] = 0;
    sh->missing++;
    if (exec >= 1 && exec <= (uint32_t)ctx->group.n) {
        /* Drop the bad copy so that nothing reads it again. */
        flow__blockstore_t *bs = ctx->group.stores[exec - 1];
        flow__map_output_t *mo = flow__bs_get(bs, shuffle, (uint32_t)map);
        if (mo) {
            flow__bs_forget(bs, mo);
            flow__bs_release(bs, mo);
        }
    }
}

/* ---- Stages and jobs ------------------------------------------------------------------- */

typedef struct job_task {
    int partition;    /* Partition of the stage's dataset. */
    uint32_t attempt; /* Attempts launched so far. */
    int running;      /* An attempt is in flight. */
    int done;         /* Succeeded. */
} job_task_t;

/* A stage: the tasks that compute partitions of one dataset into one sink
 * (a shuffle's map outputs, or the action's payloads). */
typedef struct stage {
    uint32_t id;               /* Stage id. */
    flow_dataset_t *ds;        /* Dataset its tasks compute. */
    flow__sinkspec_t sink;     /* What consumes each partition. */
    flow__shuffle_t *shuf;     /* Map stage: the shuffle written; NULL: the final stage. */
    job_task_t *tasks;         /* One per partition asked for. */
    int ntasks;                /* Their number. */
    int *queue;                /* Tasks waiting for an executor (indices). */
    int qhead, qlen;           /* Ring of waiting tasks. */
    int remaining;             /* Tasks not yet done. */
    int nfailed;               /* Attempts that failed. */
} stage_t;

#define MAX_ACTIVE 64

typedef struct job {
    flow_context_t *ctx;          /* Context. */
    uint32_t id;                  /* Job id. */
    stage_t final;                /* The action's stage. */
    stage_t *active[MAX_ACTIVE];  /* Stages running in this round. */
    int nactive;                  /* Their number. */
    int inflight;                 /* Attempts in flight. */
    int failed;                   /* The job failed: status in ctx->err. */
    int refetch;                  /* A fetch failed: end the round, redo map outputs. */
    flow__merge_fn *merge;        /* Payload consumer of the final stage. */
    void *ud;                     /* Its argument. */
    uint64_t started_ns;          /* When the round started. */
    uint64_t shown_ns;            /* When the progress line was last drawn, or 0. */
} job_t;

static void stage_init(job_t *j, stage_t *st, flow_dataset_t *ds, const int *parts, int n)
{
    memset(st, 0, sizeof *st);
    st->id = j->ctx->next_stage++;
    st->ds = ds;
    st->ntasks = n;
    st->remaining = n;
    st->tasks = flow__calloc((size_t)(n ? n : 1), sizeof *st->tasks);
    st->queue = flow__calloc((size_t)(n ? n : 1), sizeof *st->queue);
    for (int i = 0; i < n; i++) {
        st->tasks[i].partition = parts ? parts[i] : i;
        st->queue[st->qlen++] = i;
    }
}

static void stage_free(stage_t *st)
{
    flow__free(st->tasks);
    flow__free(st->queue);
}

/* A retry goes to the front, as in Spark: a task that keeps failing fails the
 * job at once instead of after every other task of the stage has run. */
static void enqueue_front(stage_t *st, int i)
{
    st->qhead = (st->qhead + st->ntasks - 1) % st->ntasks;
    st->queue[st->qhead] = i;
    st->qlen++;
}

static int dequeue(stage_t *st)
{
    int i = st->queue[st->qhead];
    st->qhead = (st->qhead + 1) % st->ntasks;
    st->qlen--;
    return i;
}

static int dispatch(job_t *j, stage_t *st, int i, flow__exec_slot_t *x)
{
    flow_context_t *ctx = j->ctx;
    job_task_t *t = &st->tasks[i];
    flow__wbuf_t b;
    flow__wbuf_init(&b);
    flow__task_put_header(&b, j->id, st->id, (uint32_t)i, (uint32_t)t->partition,
                          t->attempt);
    flow__task_put_sink(&b, &st->sink);
    int rc = flow__ds_encode_partition(st->ds, t->partition, &b);
    flow__seal(&b, 0);
    if (rc == FLOW_OK)
        rc = flow__bcast_sync(ctx, x);
    flow__msg_hdr_t h = {0};
    h.type = FLOW_MSG_TASK;
    h.executor = x->id;
    h.job = j->id;
    h.stage = st->id;
    h.task = (uint32_t)i;
    h.attempt = t->attempt;
    if (rc == FLOW_OK)
        rc = flow__wire_send(ctx->router, x->ident, x->ident_len, &h, b.data, b.len,
                             ctx->set.chunk_size, &ctx->err);
    flow__wbuf_free(&b);
    if (rc < 0)
        return rc;
    if (t->attempt > 0)
        ctx->stats.tasks_retried++;
    ctx->stats.tasks++;
    t->attempt++;
    t->running = 1;
    x->inflight++;
    j->inflight++;
    return FLOW_OK;
}

/* The next waiting task of any active stage, or NULL. */
static stage_t *waiting_stage(job_t *j)
{
    for (int s = 0; s < j->nactive; s++)
        if (j->active[s]->qlen > 0)
            return j->active[s];
    return NULL;
}

/* Send waiting tasks to executors with room, least loaded first. */
static int fill_slots(job_t *j)
{
    flow_context_t *ctx = j->ctx;
    if (j->refetch)
        return FLOW_OK; /* The round is ending: map outputs must be redone first. */
    for (int depth = 0; depth < ctx->set.tasks_in_flight; depth++)
        for (int e = 0; e < ctx->nexecs && !j->failed; e++) {
            stage_t *st = waiting_stage(j);
            if (!st)
                return FLOW_OK;
            flow__exec_slot_t *x = &ctx->execs[e];
            if (x->inflight > depth)
                continue;
            int rc = dispatch(j, st, dequeue(st), x);
            if (rc < 0)
                return rc;
        }
    return FLOW_OK;
}

static void cancel_job(job_t *j)
{
    flow_context_t *ctx = j->ctx;
    flow__msg_hdr_t h = {0};
    h.type = FLOW_MSG_CANCEL;
    h.job = j->id;
    for (int e = 0; e < ctx->nexecs; e++)
        flow__wire_send(ctx->router, ctx->execs[e].ident, ctx->execs[e].ident_len, &h, NULL,
                        0, ctx->set.chunk_size, NULL);
}

static const char *ds_kind_name(const flow_dataset_t *d)
{
    switch (d->kind) {
    case FLOW_DS_OP: return flow__op_name(d->op);
    case FLOW_DS_SOURCE:
        return d->ckpt == FLOW_CKPT_LOCAL ? "local_checkpoint"
                                          : flow__source_ops(d->src_kind)->name;
    case FLOW_DS_UNION: return "union";
    case FLOW_DS_COALESCE: return "coalesce";
    case FLOW_DS_CARTESIAN: return "cartesian";
    default: return "shuffle";
    }
}

/* Name a failed attempt: dataset, its transformation, stage, partition. */
static void fail_job(job_t *j, stage_t *st, const flow__task_result_t *r, uint32_t attempts)
{
    flow_context_t *ctx = j->ctx;
    /* A failure no operator claimed comes from the stage's sink: in a map
     * stage, that is the shuffle (its combiner, partitioner or records). */
    uint32_t id = r->err.dataset ? r->err.dataset
                  : st->shuf     ? st->shuf->red_ds->id
                                 : st->ds->id;
    flow_dataset_t *d = flow__ds_find(ctx, id);
    flow__ctx_error(ctx, r->err.code,
                    "dataset %u '%s' (%s), job %u, stage %u, partition %u, attempt %u of "
                    "%d%s: %s",
                    d ? d->id : 0, d ? d->name : "?", d ? ds_kind_name(d) : "?", j->id,
                    st->id, r->partition, attempts, ctx->set.max_attempts,
                    r->err.permanent ? " (permanent failure)" : "", r->err.msg);
    j->failed = 1;
    cancel_job(j);
}

static void add_metrics(flow_stats_t *s, const flow__metrics_t *m)
{
    s->records_read += m->records_in;
    s->bytes_read += m->bytes_in;
    s->shuffle_bytes_written += m->shuffle_write;
    s->shuffle_bytes_read += m->shuffle_read;
    s->spill_bytes += m->spill_bytes;
    s->cache_hits += m->cache_hits;
    s->cache_misses += m->cache_misses;
    if (m->peak_mem > s->peak_task_memory)
        s->peak_task_memory = m->peak_mem;
}

static void on_success(job_t *j, stage_t *st, int i, uint32_t exec,
                       const flow__task_result_t *r)
{
    job_task_t *t = &st->tasks[i];
    add_metrics(&j->ctx->stats, &r->metrics);
    flow__acc_apply(j->ctx, j->id, (uint32_t)t->partition, r->accs, r->accs_len);
    t->done = 1;
    st->remaining--;
    if (j->failed)
        return;
    if (st->shuf) {
        j->ctx->stats.map_tasks++;
        flow__shuffle_done(st->shuf, t->partition, exec);
        return;
    }
    int rc = j->merge(j->ud, i, t->partition, r->payload, r->payload_len);
    if (rc < 0) {
        j->failed = 1;
        cancel_job(j);
    }
}

static void on_result(job_t *j, flow__exec_slot_t *x, const flow__msg_t *m)
{
    stage_t *st = NULL;
    for (int s = 0; s < j->nactive; s++)
        if (j->active[s]->id == m->hdr.stage)
            st = j->active[s];
    if (m->hdr.job != j->id || !st || m->hdr.task >= (uint32_t)st->ntasks)
        return; /* Not this round's: cannot happen once each round drains its own. */
    job_task_t *t = &st->tasks[m->hdr.task];
    if (!t->running || m->hdr.attempt + 1 != t->attempt)
        return;
    t->running = 0;
    x->inflight--;
    j->inflight--;
    flow__task_result_t r;
    flow__err_t derr;
    flow__err_clear(&derr);
    if (flow__result_decode(m->payload, m->len, &r, &derr) < 0) {
        memset(&r, 0, sizeof r);
        r.partition = (uint32_t)t->partition;
        r.err = derr;
    }
    if (r.err.code == FLOW_OK) {
        on_success(j, st, (int)m->hdr.task, x->id, &r);
        return;
    }
    if (j->failed)
        return;
    j->ctx->stats.tasks_failed++;
    st->nfailed++;
    if (r.fetch_shuffle) {
        /* Its input is gone: redo that map output, then this task. */
        flow__shuffle_lost(j->ctx, r.fetch_shuffle, (int)r.fetch_map);
        j->ctx->stats.fetch_failures++;
        j->refetch = 1;
    }
    if (r.err.permanent || r.err.code == FLOW_ECANCELED ||
        t->attempt >= (uint32_t)j->ctx->set.max_attempts)
        fail_job(j, st, &r, t->attempt);
    else
        enqueue_front(st, (int)m->hdr.task);
}

static flow__exec_slot_t *exec_of(flow_context_t *ctx, const flow__msg_t *m)
{
    for (int e = 0; e < ctx->nexecs; e++)
        if (ctx->execs[e].ident_len == m->peer_len &&
            memcmp(ctx->execs[e].ident, m->peer, m->peer_len) == 0)
            return &ctx->execs[e];
    return NULL;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A progress line per running stage on stderr when it is a terminal, for
 * rounds that run longer than half a second, redrawn at most five times a
 * second: [Stage 3: 41/200 tasks, 2 failed]. */
static void show_progress(job_t *j, int last)
{
    uint64_t now = now_ns();
    if (!last && (now - j->started_ns < 500000000ull || now - j->shown_ns < 200000000ull))
        return;
    if (!isatty(2) || (last && !j->shown_ns))
        return;
    if (last) {
        fputs("\r\033[K", stderr);
        return;
    }
    fputs("\r", stderr);
    for (int s = 0; s < j->nactive; s++) {
        stage_t *st = j->active[s];
        fprintf(stderr, "[Stage %u: %d/%d tasks", st->id, st->ntasks - st->remaining,
                st->ntasks);
        if (st->nfailed)
            fprintf(stderr, ", %d failed", st->nfailed);
        fputs("] ", stderr);
    }
    j->shown_ns = now;
}

static int stages_left(const job_t *j)
{
    for (int s = 0; s < j->nactive; s++)
        if (j->active[s]->remaining > 0)
            return 1;
    return 0;
}

/* Run the active stages until they finish, the job fails, or a fetch failure
 * ends the round; every attempt in flight has answered when it returns. */
static int run_round(job_t *j)
{
    flow_context_t *ctx = j->ctx;
    int rc = FLOW_OK;
    j->refetch = 0;
    j->started_ns = now_ns();
    j->shown_ns = 0;
    ctx->stats.stages += (uint64_t)j->nactive;
    while ((stages_left(j) && !j->failed && !j->refetch) || j->inflight > 0) {
        if (!j->failed && (rc = fill_slots(j)) < 0) {
            j->failed = 1;
            cancel_job(j);
        }
        flow__msg_t m;
        flow__err_t werr;
        rc = flow__wire_recv(ctx->router, &ctx->rx, 1000, &m, &werr);
        if (rc == FLOW_EPROTO)
            continue; /* A malformed message was dropped. */
        if (rc < 0)
            return flow__ctx_error(ctx, rc, "scheduler: %s", werr.msg);
        show_progress(j, 0);
        if (rc == 0)
            continue;
        flow__exec_slot_t *x = exec_of(ctx, &m);
        if (x && m.hdr.type == FLOW_MSG_RESULT)
            on_result(j, x, &m);
        flow__msg_free(&m);
    }
    show_progress(j, 1);
    return j->failed ? (ctx->err.code ? ctx->err.code : FLOW_ETASK) : FLOW_OK;
}

/* ---- Finding the stages a job needs ----------------------------------------------------- */

/* Add to out the missing shuffles of ds's stage whose own inputs are all
 * present (their map stages can run now); returns how many shuffles of the
 * stage's lineage are missing, runnable or not. */
static int runnable_shuffles(flow_dataset_t *ds, flow__shuffle_t **out, int *nout)
{
    int missing = 0;
    if (ds->level && flow__cache_complete(ds))
        return 0; /* Its tasks read the stored partitions. */
    if (ds->kind == FLOW_DS_SHUFFLED) {
        for (int i = 0; i < ds->nparents; i++) {
            flow__shuffle_t *sh = ds->shuffles[i];
            if (!sh) { /* Read narrowly: its own lineage is part of this stage. */
                missing += runnable_shuffles(ds->parents[i], out, nout);
                continue;
            }
            if (sh->missing == 0)
                continue;
            missing++;
            int below = runnable_shuffles(sh->map_ds, out, nout);
            int dup = 0;
            for (int k = 0; k < *nout; k++)
                dup |= out[k] == sh;
            if (below == 0 && !dup && *nout < MAX_ACTIVE)
                out[(*nout)++] = sh;
        }
        return missing;
    }
    for (int i = 0; i < ds->nparents; i++)
        missing += runnable_shuffles(ds->parents[i], out, nout);
    return missing;
}

/* A map stage writing the missing outputs of sh. */
static stage_t *map_stage_new(job_t *j, flow__shuffle_t *sh)
{
    int *parts = flow__malloc(sizeof *parts * (size_t)(sh->nmaps ? sh->nmaps : 1)), n = 0;
    for (int m = 0; m < sh->nmaps; m++)
        if (sh->execs[m] == 0)
            parts[n++] = m;
    stage_t *st = flow__calloc(1, sizeof *st);
    stage_init(j, st, sh->map_ds, parts, n);
    flow__free(parts);
    flow_dataset_t *red = sh->red_ds;
    st->shuf = sh;
    st->sink.kind = FLOW_SINK_SHUFFLE;
    st->sink.shuffle = sh->id;
    st->sink.part = red->part;
    if (red->map_combine)
        st->sink.agg = red->agg;
    return st;
}

/* Run the map stages of missing shuffles, round by round, until ds's stage
 * has every input it needs. */
static int run_map_stages(job_t *j, flow_dataset_t *ds)
{
    for (;;) {
        flow__shuffle_t *ready[MAX_ACTIVE];
        int nready = 0;
        if (runnable_shuffles(ds, ready, &nready) == 0)
            return FLOW_OK;
        if (nready == 0)
            return flow__ctx_error(j->ctx, FLOW_EPROTO, "job %u: no runnable stage", j->id);
        j->nactive = 0;
        for (int i = 0; i < nready; i++)
            j->active[j->nactive++] = map_stage_new(j, ready[i]);
        int rc = run_round(j);
        for (int i = 0; i < j->nactive; i++) {
            stage_free(j->active[i]);
            flow__free(j->active[i]);
        }
        j->nactive = 0;
        if (rc < 0)
            return rc;
    }
}

int flow__job_run(flow_dataset_t *ds, const flow__sinkspec_t *sink, const int *parts,
                  int nparts, flow__merge_fn *merge, void *ud)
{
    flow_context_t *ctx = ds->ctx;
    int rc = flow__ds_prepare(ds);
    if (rc < 0)
        return rc;
    job_t j;
    memset(&j, 0, sizeof j);
    j.ctx = ctx;
    j.id = ctx->next_job++;
    j.merge = merge;
    j.ud = ud;
    ctx->stats.jobs++;
    stage_init(&j, &j.final, ds, parts, parts ? nparts : ds->nparts);
    j.final.sink = *sink;
    while (j.final.remaining > 0) {
        if ((rc = run_map_stages(&j, ds)) < 0)
            break;
        j.active[0] = &j.final;
        j.nactive = 1;
        rc = run_round(&j);
        j.nactive = 0;
        if (rc < 0)
            break;
    }
    stage_free(&j.final);
    return rc;
}
