/* context.c - the context: configuration, executors, errors (see flow.h)
 * new only allocates; set and load_conf fill the configuration layers; start
 * resolves them and starts the executors of the master; destroy stops them
 * and releases every dataset left. Nothing here is process-wide: two contexts
 * in one process have their own ZeroMQ context, executors and datasets. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "mem.h"

int flow__ctx_error(flow_context_t *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    ctx->err.code = code;
    va_start(ap, fmt);
    vsnprintf(ctx->err.msg, sizeof ctx->err.msg, fmt, ap);
    va_end(ap);
    return code;
}

flow_context_t *flow_context_new(void)
{
    flow_context_t *ctx = flow__calloc(1, sizeof *ctx);
    flow__conf_init(&ctx->conf);
    flow__err_clear(&ctx->err);
    ctx->next_dataset = 1;
    ctx->next_job = 1;
    ctx->next_stage = 1;
    ctx->next_shuffle = 1;
    return ctx;
}

int flow_context_set(flow_context_t *ctx, const char *key, const char *value)
{
    if (ctx->started)
        return flow__ctx_error(ctx, FLOW_EINVAL, "set %s: the context is already started",
                               key);
    int rc = flow__conf_set(&ctx->conf, key, value, &ctx->err);
    return rc;
}

int flow_context_load_conf(flow_context_t *ctx, const char *path)
{
    if (ctx->started)
        return flow__ctx_error(ctx, FLOW_EINVAL,
                               "load_conf %s: the context is already started", path);
    return flow__conf_load_file(&ctx->conf, path, &ctx->err);
}

int flow_context_start(flow_context_t *ctx)
{
    if (ctx->started)
        return FLOW_OK;
    int rc = flow__conf_resolve(&ctx->conf, &ctx->set, &ctx->err);
    if (rc < 0)
        return rc;
    if ((rc = flow__sched_start(ctx)) < 0) {
        flow__sched_stop(ctx);
        return rc;
    }
    ctx->started = 1;
    return FLOW_OK;
}

flow_context_t *flow_context_open(const char *master, char **out_err)
{
    flow_context_t *ctx = flow_context_new();
    int rc = master ? flow_context_set(ctx, "master", master) : FLOW_OK;
    if (rc == FLOW_OK)
        rc = flow_context_start(ctx);
    if (rc == FLOW_OK)
        return ctx;
    if (out_err)
        *out_err = flow__strdup(ctx->err.msg);
    flow_context_destroy(&ctx);
    return NULL;
}

void flow_context_destroy(flow_context_t **ctx_p)
{
    flow_context_t *ctx = *ctx_p;
    if (!ctx)
        return;
    flow__ds_release_all(ctx);
    flow__shared_release_all(ctx);
    flow__free(ctx->shuffles);
    flow__sched_stop(ctx);
    flow__conf_free(&ctx->conf);
    flow__free(ctx);
    *ctx_p = NULL;
}

const char *flow_last_error(const flow_context_t *ctx) { return ctx->err.msg; }

const char *flow_context_get(const flow_context_t *ctx, const char *key)
{
    flow_context_t *c = (flow_context_t *)ctx;
    if (flow__conf_get(&c->conf, key, c->value_buf, sizeof c->value_buf) < 0)
        return NULL;
    return c->value_buf;
}

int flow_context_parallelism(const flow_context_t *ctx)
{
    return ctx->started ? ctx->nexecs : 0;
}

void flow_context_stats(const flow_context_t *ctx, flow_stats_t *out) { *out = ctx->stats; }
