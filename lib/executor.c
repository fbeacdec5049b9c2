/* executor.c - the executor loop over ZeroMQ, and the stdio executor (see executor.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "executor.h"
#include "mem.h"
#include "shared.h"
#include "wire.h"

#define CANCEL_MEMORY 16

typedef struct queued {
    struct queued *next; /* Next task in arrival order. */
    flow__msg_t msg;     /* The TASK message. */
} queued_t;

typedef struct executor {
    const flow__executor_cfg_t *cfg; /* Configuration. */
    void *sock;                      /* DEALER connected to the driver. */
    flow__wire_rx_t rx;              /* Reassembly state. */
    queued_t *head, *tail;           /* Tasks waiting to run. */
    uint32_t cancelled[CANCEL_MEMORY]; /* Recently cancelled jobs. */
    int ncancelled;                  /* Entries used (a ring). */
    uint32_t running_job;            /* Job of the running task, or 0. */
    int stopping;                    /* STOP received. */
    flow__err_t err;                 /* Transport errors. */
    flow__bcast_table_t bcasts;      /* Broadcast variables received. */
} executor_t;

static int job_cancelled(const executor_t *e, uint32_t job)
{
    int n = e->ncancelled < CANCEL_MEMORY ? e->ncancelled : CANCEL_MEMORY;
    for (int i = 0; i < n; i++)
        if (e->cancelled[i] == job)
            return 1;
    return 0;
}

/* File one incoming message: queue a task, note a cancel or a stop. */
static void handle(executor_t *e, flow__msg_t *m)
{
    switch (m->hdr.type) {
    case FLOW_MSG_TASK: {
        queued_t *q = flow__calloc(1, sizeof *q);
        q->msg = *m;
        m->payload = NULL;
        if (e->tail)
            e->tail->next = q;
        else
            e->head = q;
        e->tail = q;
        return;
    }
    case FLOW_MSG_CANCEL:
        e->cancelled[e->ncancelled++ % CANCEL_MEMORY] = m->hdr.job;
        break;
    case FLOW_MSG_STOP:
        e->stopping = 1;
        break;
    case FLOW_MSG_BCAST:
    case FLOW_MSG_BCAST_DROP: {
        flow__rbuf_t r;
        flow__rbuf_init(&r, m->payload, m->len);
        uint64_t id = flow__rbuf_u64(&r);
        if (!flow__rbuf_ok(&r))
            break;
        if (m->hdr.type == FLOW_MSG_BCAST)
            flow__bcast_put(&e->bcasts, id, (const uint8_t *)m->payload + 8, m->len - 8);
        else
            flow__bcast_drop(&e->bcasts, id);
        break;
    }
    default:
        break;
    }
    flow__msg_free(m);
}

/* Take in whatever has arrived, without waiting. */
static int drain(executor_t *e)
{
    flow__msg_t m;
    int rc;
    while ((rc = flow__wire_recv(e->sock, &e->rx, 0, &m, &e->err)) == 1)
        handle(e, &m);
    return rc == FLOW_EPROTO ? 0 : rc;
}

static int poll_cancel(void *ud)
{
    executor_t *e = ud;
    if (drain(e) < 0)
        return 1;
    return e->stopping || job_cancelled(e, e->running_job);
}

static int send_result(executor_t *e, const flow__msg_hdr_t *task, const flow__wbuf_t *res)
{
    flow__msg_hdr_t h = *task;
    h.type = FLOW_MSG_RESULT;
    h.flags = 0;
    h.executor = e->cfg->id;
    return flow__wire_send(e->sock, NULL, 0, &h, res->data, res->len, e->cfg->chunk_size,
                           &e->err);
}

/* Answer a task that will not run with a cancelled result. */
static void encode_cancelled(const flow__msg_hdr_t *h, flow__wbuf_t *out)
{
    flow__task_result_t r;
    memset(&r, 0, sizeof r);
    r.job = h->job;
    r.stage = h->stage;
    r.task = h->task;
    r.attempt = h->attempt;
    flow__err_set(&r.err, FLOW_ECANCELED, "task cancelled before it started");
    flow__result_encode(out, &r);
}

static int run_one(executor_t *e, flow__runner_t *runner)
{
    queued_t *q = e->head;
    e->head = q->next;
    if (!e->head)
        e->tail = NULL;
    flow__wbuf_t res;
    flow__wbuf_init(&res);
    if (e->stopping || job_cancelled(e, q->msg.hdr.job)) {
        encode_cancelled(&q->msg.hdr, &res);
    } else {
        e->running_job = q->msg.hdr.job;
        flow__task_execute(runner, q->msg.payload, q->msg.len, &res);
        e->running_job = 0;
    }
    int rc = send_result(e, &q->msg.hdr, &res);
    flow__wbuf_free(&res);
    flow__msg_free(&q->msg);
    flow__free(q);
    return rc;
}

static int connect_and_register(executor_t *e)
{
    char ident[32];
    int n = snprintf(ident, sizeof ident, "exec-%u", e->cfg->id);
    int linger = 0;
    if (!(e->sock = zmq_socket(e->cfg->zctx, ZMQ_DEALER)) ||
        zmq_setsockopt(e->sock, ZMQ_ROUTING_ID, ident, (size_t)n) < 0 ||
        zmq_setsockopt(e->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_connect(e->sock, e->cfg->endpoint) < 0)
        return flow__err_set(&e->err, FLOW_ENET, "executor %u: connect %s: %s", e->cfg->id,
                             e->cfg->endpoint, zmq_strerror(zmq_errno()));
    flow__msg_hdr_t h = {0};
    h.type = FLOW_MSG_REGISTER;
    h.executor = e->cfg->id;
    uint8_t slots[4] = {1, 0, 0, 0};
    return flow__wire_send(e->sock, NULL, 0, &h, slots, sizeof slots, e->cfg->chunk_size,
                           &e->err);
}

int flow__executor_run(const flow__executor_cfg_t *cfg)
{
    executor_t e;
    memset(&e, 0, sizeof e);
    e.cfg = cfg;
    flow__wire_rx_init(&e.rx, 0);
    flow__mem_thread_arena(cfg->env.store ? cfg->env.store->arena : -1);
    flow__runner_t runner;
    flow__runner_init(&runner, poll_cancel, &e, &cfg->env);
    runner.env.bcasts = &e.bcasts;
    int rc = connect_and_register(&e);
    while (rc >= 0 && !e.stopping) {
        if (!e.head) {
            flow__msg_t m;
            rc = flow__wire_recv(e.sock, &e.rx, -1, &m, &e.err);
            if (rc == 1)
                handle(&e, &m);
            if (rc == FLOW_EPROTO)
                rc = 0; /* A malformed message is dropped. */
            continue;
        }
        rc = run_one(&e, &runner);
        if (rc >= 0)
            rc = drain(&e);
    }
    while (e.head) { /* Stopping: answer what is left, then go. */
        e.stopping = 1;
        if (run_one(&e, &runner) < 0)
            break;
    }
    flow__runner_free(&runner);
    flow__bcast_free(&e.bcasts);
    flow__wire_rx_free(&e.rx);
    if (e.sock)
        zmq_close(e.sock);
    return rc < 0 ? rc : 0;
}

void *flow__executor_thread(void *cfg)
{
    flow__executor_run(cfg);
    return NULL;
}

/* ---- The stdio executor ------------------------------------------------------------ */

static int read_full(int fd, void *p, size_t n)
{
    uint8_t *c = p;
    while (n > 0) {
        ssize_t r = read(fd, c, n);
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *p, size_t n)
{
    const uint8_t *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int stdio_executor(void)
{
    for (;;) {
        uint8_t lenb[8];
        if (read_full(0, lenb, 8) < 0)
            return 0; /* End of input. */
        uint64_t len = 0;
        for (int i = 0; i < 8; i++)
            len |= (uint64_t)lenb[i] << (8 * i);
        void *task = flow__malloc(len);
        if (read_full(0, task, len) < 0) {
            flow__free(task);
            return 1;
        }
        void *res;
        size_t res_len;
        flow_run_encoded_task(task, len, &res, &res_len);
        flow__free(task);
        for (int i = 0; i < 8; i++)
            lenb[i] = (uint8_t)((uint64_t)res_len >> (8 * i));
        int bad = write_full(1, lenb, 8) < 0 || write_full(1, res, res_len) < 0;
        flow__free(res);
        if (bad)
            return 1;
    }
}

__attribute__((constructor)) static void flow_executor_takeover(void)
{
    const char *mode = getenv("FLOW_EXECUTOR_STDIO");
    if (!mode || strcmp(mode, "1") != 0)
        return;
    unsetenv("FLOW_EXECUTOR_STDIO");
    _exit(stdio_executor());
}
