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
#include <string.h>
#include <time.h>
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

int flow__sched_start(flow_context_t *ctx)
{
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
    for (int i = 0; i < ctx->nexecs; i++) {
        flow__exec_slot_t *x = &ctx->execs[i];
        x->id = (uint32_t)i + 1;
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
    for (int i = 0; i < ctx->nexecs; i++)
        if (ctx->execs[i].started)
            pthread_join(ctx->execs[i].thread, NULL);
    flow__free(ctx->execs);
    ctx->execs = NULL;
    ctx->nexecs = 0;
    if (ctx->router) {
        zmq_close(ctx->router);
        flow__wire_rx_free(&ctx->rx);
    }
    ctx->router = NULL;
    if (ctx->zctx)
        zmq_ctx_term(ctx->zctx);
    ctx->zctx = NULL;
}

/* ---- Jobs ------------------------------------------------------------------------------ */

typedef struct job_task {
    int partition;   /* Partition of the dataset. */
    uint32_t attempt; /* Attempts launched so far. */
    int running;     /* An attempt is in flight. */
    int done;        /* Succeeded. */
} job_task_t;

typedef struct job {
    flow_context_t *ctx;          /* Context. */
    flow_dataset_t *ds;           /* Dataset of the stage. */
    const flow__sinkspec_t *sink; /* Per-partition action. */
    uint32_t id, stage;           /* Job and stage ids. */
    job_task_t *tasks;            /* One per partition asked for. */
    int ntasks;                   /* Their number. */
    int *queue;                   /* Tasks waiting for an executor (indices). */
    int qhead, qlen;              /* Ring of waiting tasks. */
    int remaining;                /* Tasks not yet done. */
    int inflight;                 /* Attempts in flight. */
    int failed;                   /* The job failed: status in ctx->err. */
    flow__merge_fn *merge;        /* Payload consumer. */
    void *ud;                     /* Its argument. */
} job_t;

static void enqueue(job_t *j, int i)
{
    j->queue[(j->qhead + j->qlen++) % j->ntasks] = i;
}

static int dequeue(job_t *j)
{
    int i = j->queue[j->qhead];
    j->qhead = (j->qhead + 1) % j->ntasks;
    j->qlen--;
    return i;
}

static int dispatch(job_t *j, int i, flow__exec_slot_t *x)
{
    flow_context_t *ctx = j->ctx;
    job_task_t *t = &j->tasks[i];
    flow__wbuf_t b;
    flow__wbuf_init(&b);
    flow__task_put_header(&b, j->id, j->stage, (uint32_t)i, (uint32_t)t->partition,
                          t->attempt);
    flow__task_put_sink(&b, j->sink);
    int rc = flow__ds_encode_partition(j->ds, t->partition, &b);
    flow__seal(&b, 0);
    flow__msg_hdr_t h = {0};
    h.type = FLOW_MSG_TASK;
    h.executor = x->id;
    h.job = j->id;
    h.stage = j->stage;
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

/* Send waiting tasks to executors with room, least loaded first. */
static int fill_slots(job_t *j)
{
    flow_context_t *ctx = j->ctx;
    for (int depth = 0; depth < ctx->set.tasks_in_flight; depth++)
        for (int e = 0; e < ctx->nexecs && j->qlen > 0 && !j->failed; e++) {
            flow__exec_slot_t *x = &ctx->execs[e];
            if (x->inflight > depth)
                continue;
            int rc = dispatch(j, dequeue(j), x);
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

/* Name a failed attempt: dataset, its transformation, stage, partition. */
static void fail_job(job_t *j, const flow__task_result_t *r, uint32_t attempts)
{
    flow_context_t *ctx = j->ctx;
    flow_dataset_t *d = flow__ds_find(ctx, r->err.dataset ? r->err.dataset : j->ds->id);
    const char *op = !d ? "?" : d->kind == FLOW_DS_OP ? flow__op_name(d->op)
                        : d->kind == FLOW_DS_SOURCE ? flow__source_ops(d->src_kind)->name
                        : d->kind == FLOW_DS_UNION ? "union" : "coalesce";
    flow__ctx_error(ctx, r->err.code,
                    "dataset %u '%s' (%s), job %u, stage %u, partition %u, attempt %u of "
                    "%d%s: %s",
                    d ? d->id : 0, d ? d->name : "?", op, j->id, j->stage, r->partition,
                    attempts, ctx->set.max_attempts,
                    r->err.permanent ? " (permanent failure)" : "", r->err.msg);
    j->failed = 1;
    cancel_job(j);
}

static void on_result(job_t *j, flow__exec_slot_t *x, const flow__msg_t *m)
{
    flow__task_result_t r;
    flow__err_t derr;
    flow__err_clear(&derr);
    if (m->hdr.job != j->id || m->hdr.task >= (uint32_t)j->ntasks)
        return; /* Not this job's: cannot happen once each job drains its own. */
    job_task_t *t = &j->tasks[m->hdr.task];
    if (!t->running || m->hdr.attempt + 1 != t->attempt)
        return;
    t->running = 0;
    x->inflight--;
    j->inflight--;
    if (flow__result_decode(m->payload, m->len, &r, &derr) < 0) {
        memset(&r, 0, sizeof r);
        r.partition = (uint32_t)t->partition;
        r.err = derr;
    }
    if (r.err.code == FLOW_OK) {
        t->done = 1;
        j->remaining--;
        int rc = j->failed ? FLOW_OK
                           : j->merge(j->ud, (int)m->hdr.task, t->partition, r.payload,
                                      r.payload_len);
        if (rc < 0) {
            j->failed = 1;
            cancel_job(j);
        }
        return;
    }
    if (j->failed)
        return;
    j->ctx->stats.tasks_failed++;
    if (r.err.permanent || r.err.code == FLOW_ECANCELED ||
        t->attempt >= (uint32_t)j->ctx->set.max_attempts)
        fail_job(j, &r, t->attempt);
    else
        enqueue(j, (int)m->hdr.task);
}

static flow__exec_slot_t *exec_of(flow_context_t *ctx, const flow__msg_t *m)
{
    for (int e = 0; e < ctx->nexecs; e++)
        if (ctx->execs[e].ident_len == m->peer_len &&
            memcmp(ctx->execs[e].ident, m->peer, m->peer_len) == 0)
            return &ctx->execs[e];
    return NULL;
}

static int job_loop(job_t *j)
{
    flow_context_t *ctx = j->ctx;
    int rc = FLOW_OK;
    while ((j->remaining > 0 && !j->failed) || j->inflight > 0) {
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
        if (rc == 0)
            continue;
        flow__exec_slot_t *x = exec_of(ctx, &m);
        if (x && m.hdr.type == FLOW_MSG_RESULT)
            on_result(j, x, &m);
        flow__msg_free(&m);
    }
    return j->failed ? (ctx->err.code ? ctx->err.code : FLOW_ETASK) : FLOW_OK;
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
    j.ds = ds;
    j.sink = sink;
    j.id = ctx->next_job++;
    j.stage = ctx->next_stage++;
    j.ntasks = parts ? nparts : ds->nparts;
    j.remaining = j.ntasks;
    j.merge = merge;
    j.ud = ud;
    ctx->stats.jobs++;
    ctx->stats.stages++;
    if (j.ntasks == 0)
        return FLOW_OK;
    j.tasks = flow__calloc((size_t)j.ntasks, sizeof *j.tasks);
    j.queue = flow__calloc((size_t)j.ntasks, sizeof *j.queue);
    for (int i = 0; i < j.ntasks; i++) {
        j.tasks[i].partition = parts ? parts[i] : i;
        enqueue(&j, i);
    }
    rc = job_loop(&j);
    flow__free(j.tasks);
    flow__free(j.queue);
    return rc;
}
