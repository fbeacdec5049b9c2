/* shared.c - broadcast tables and accumulator logs (see shared.h) */
#include <string.h>

#include "mem.h"
#include "runner.h"
#include "shared.h"

/* ---- Broadcast variables ------------------------------------------------------------ */

void flow__bcast_put(flow__bcast_table_t *tb, uint64_t id, const void *data, size_t len)
{
    flow__bcast_drop(tb, id);
    if (tb->n == tb->cap) {
        tb->cap = tb->cap ? tb->cap * 2 : 8;
        tb->v = flow__realloc(tb->v, sizeof *tb->v * (size_t)tb->cap);
    }
    flow__bcast_t *b = &tb->v[tb->n++];
    b->id = id;
    b->len = len;
    b->data = flow__malloc(len);
    if (len)
        memcpy(b->data, data, len);
}

void flow__bcast_drop(flow__bcast_table_t *tb, uint64_t id)
{
    for (int i = 0; i < tb->n; i++)
        if (tb->v[i].id == id) {
            flow__free(tb->v[i].data);
            tb->v[i] = tb->v[--tb->n];
            return;
        }
}

void flow__bcast_free(flow__bcast_table_t *tb)
{
    for (int i = 0; i < tb->n; i++)
        flow__free(tb->v[i].data);
    flow__free(tb->v);
    memset(tb, 0, sizeof *tb);
}

int flow_task_broadcast(flow_task_t *t, uint64_t id, flow_buf_t *out)
{
    flow__bcast_table_t *tb = t->env ? t->env->bcasts : NULL;
    for (int i = 0; tb && i < tb->n; i++)
        if (tb->v[i].id == id) {
            out->data = tb->v[i].data;
            out->len = tb->v[i].len;
            return FLOW_OK;
        }
    out->data = NULL;
    out->len = 0;
    return flow__err_set(t->err, FLOW_ENOENT, "broadcast variable %llu is not on this executor",
                         (unsigned long long)id);
}

/* ---- Accumulator logs ---------------------------------------------------------------- */

typedef struct acc_entry {
    uint64_t id;        /* Accumulator. */
    uint32_t scope;     /* Dataset of the UDF, 0: the action's function. */
    uint32_t partition; /* Partition it computed. */
    uint32_t nvals;     /* Values (sums: 1). */
    union {
        int64_t i;
        double f;
    } sum;              /* Sums. */
    flow__wbuf_t vals;  /* User values: (len: u32, bytes) each. */
} acc_entry_t;

struct flow__acc_log {
    acc_entry_t *e; /* Entries. */
    int n, cap;     /* Used, allocated. */
};

/* The task's entry for (id, scope, partition); NULL outside a task (a UDF
 * the driver calls while merging results: such updates are not counted). */
static acc_entry_t *log_entry(flow_task_t *t, uint64_t id)
{
    if (!t->env)
        return NULL;
    struct flow__acc_log *log = t->accs;
    if (!log)
        log = t->accs = flow__calloc(1, sizeof *log);
    for (int i = log->n - 1; i >= 0; i--) {
        acc_entry_t *e = &log->e[i];
        if (e->id == id && e->scope == t->dataset && e->partition == t->partition)
            return e;
    }
    if (log->n == log->cap) {
        log->cap = log->cap ? log->cap * 2 : 4;
        log->e = flow__realloc(log->e, sizeof *log->e * (size_t)log->cap);
    }
    acc_entry_t *e = &log->e[log->n++];
    memset(e, 0, sizeof *e);
    e->id = id;
    e->scope = t->dataset;
    e->partition = t->partition;
    flow__wbuf_init(&e->vals);
    return e;
}

static int wrong_kind(flow_task_t *t, uint64_t id, const char *what)
{
    return flow__err_set(t->err, FLOW_EINVAL, "accumulator %llu does not take %s",
                         (unsigned long long)id, what);
}

int flow_task_add_i64(flow_task_t *t, uint64_t id, int64_t v)
{
    if (FLOW_ACC_KIND(id) != FLOW_ACC_SUM_I64)
        return wrong_kind(t, id, "int64 values");
    acc_entry_t *e = log_entry(t, id);
    if (!e)
        return FLOW_OK;
    e->sum.i = (int64_t)((uint64_t)e->sum.i + (uint64_t)v);
    e->nvals = 1;
    return FLOW_OK;
}

int flow_task_add_f64(flow_task_t *t, uint64_t id, double v)
{
    if (FLOW_ACC_KIND(id) != FLOW_ACC_SUM_F64)
        return wrong_kind(t, id, "double values");
    acc_entry_t *e = log_entry(t, id);
    if (!e)
        return FLOW_OK;
    e->sum.f += v;
    e->nvals = 1;
    return FLOW_OK;
}

int flow_task_accumulate(flow_task_t *t, uint64_t id, const void *val, size_t len)
{
    if (FLOW_ACC_KIND(id) != FLOW_ACC_USER)
        return wrong_kind(t, id, "user values");
    if (len > FLOW_REC_MAX)
        return flow__err_set(t->err, FLOW_EINVAL, "accumulator value of %zu bytes", len);
    acc_entry_t *e = log_entry(t, id);
    if (!e)
        return FLOW_OK;
    flow__wbuf_u32(&e->vals, (uint32_t)len);
    flow__wbuf_put(&e->vals, val, len);
    e->nvals++;
    return FLOW_OK;
}

void flow__acc_log_encode(flow_task_t *t, flow__wbuf_t *b)
{
    struct flow__acc_log *log = t->accs;
    flow__wbuf_u32(b, log ? (uint32_t)log->n : 0);
    for (int i = 0; log && i < log->n; i++) {
        acc_entry_t *e = &log->e[i];
        flow__wbuf_u64(b, e->id);
        flow__wbuf_u32(b, e->scope);
        flow__wbuf_u32(b, e->partition);
        flow__wbuf_u32(b, e->nvals);
        if (FLOW_ACC_KIND(e->id) == FLOW_ACC_USER) {
            flow__wbuf_put(b, e->vals.data, e->vals.len);
        } else {
            flow__wbuf_u32(b, 8);
            flow__wbuf_put(b, &e->sum, 8);
        }
    }
    flow__acc_log_free(t);
}

void flow__acc_log_free(flow_task_t *t)
{
    struct flow__acc_log *log = t->accs;
    if (!log)
        return;
    for (int i = 0; i < log->n; i++)
        flow__wbuf_free(&log->e[i].vals);
    flow__free(log->e);
    flow__free(log);
    t->accs = NULL;
}
