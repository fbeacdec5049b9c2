/* plan.c - encoding and decoding of task descriptors and results (see plan.h) */
#include <string.h>

#include <xxhash.h>

#include "mem.h"
#include "plan.h"

#define TASK_MAGIC "FLTK"
#define RESULT_MAGIC "FLRS"
#define MAX_DEPTH 20000

void flow__seal(flow__wbuf_t *b, size_t start)
{
    flow__wbuf_u64(b, XXH3_64bits(b->data + start, b->len - start));
}

/* Check the trailing checksum of bytes; their length without it, or -1. */
static long unseal(const void *bytes, size_t len)
{
    if (len < 8)
        return -1;
    flow__rbuf_t r;
    flow__rbuf_init(&r, (const uint8_t *)bytes + len - 8, 8);
    return flow__rbuf_u64(&r) == XXH3_64bits(bytes, len - 8) ? (long)(len - 8) : -1;
}

static const char *const op_names[FLOW_OP_MAX] = {
    [FLOW_OP_SOURCE] = "source",
    [FLOW_OP_MAP] = "map",
    [FLOW_OP_FLAT_MAP] = "flat_map",
    [FLOW_OP_FILTER] = "filter",
    [FLOW_OP_MAP_PARTITIONS] = "map_partitions",
    [FLOW_OP_MAP_VALUES] = "map_values",
    [FLOW_OP_FLAT_MAP_VALUES] = "flat_map_values",
    [FLOW_OP_KEY_BY] = "key_by",
    [FLOW_OP_KEYS] = "keys",
    [FLOW_OP_VALUES] = "values",
    [FLOW_OP_SAMPLE] = "sample",
    [FLOW_OP_ZIP_INDEX] = "zip_with_index",
    [FLOW_OP_GLOM] = "glom",
    [FLOW_OP_CONCAT] = "coalesce",
    [FLOW_OP_SHUFFLE_READ] = "shuffle",
    [FLOW_OP_CARTESIAN] = "cartesian",
    [FLOW_OP_BCAST_JOIN] = "broadcast_join",
    [FLOW_OP_CACHED] = "persist",
};

const char *flow__op_name(uint8_t kind)
{
    return kind < FLOW_OP_MAX && op_names[kind] ? op_names[kind] : "unknown";
}

static int op_has_fn(uint8_t kind)
{
    switch (kind) {
    case FLOW_OP_MAP: case FLOW_OP_FLAT_MAP: case FLOW_OP_FILTER:
    case FLOW_OP_MAP_PARTITIONS: case FLOW_OP_MAP_VALUES:
    case FLOW_OP_FLAT_MAP_VALUES: case FLOW_OP_KEY_BY: case FLOW_OP_BCAST_JOIN:
        return 1;
    default:
        return 0;
    }
}

void flow__task_put_header(flow__wbuf_t *b, uint32_t job, uint32_t stage, uint32_t task,
                           uint32_t partition, uint32_t attempt)
{
    flow__wbuf_put(b, TASK_MAGIC, 4);
    flow__wbuf_u32(b, FLOW_TASK_VERSION);
    flow__wbuf_u32(b, job);
    flow__wbuf_u32(b, stage);
    flow__wbuf_u32(b, task);
    flow__wbuf_u32(b, partition);
    flow__wbuf_u32(b, attempt); /* At FLOW_TASK_OFF_ATTEMPT. */
}

static void put_part(flow__wbuf_t *b, const flow__partspec_t *p)
{
    flow__wbuf_u8(b, p->kind);
    flow__wbuf_u32(b, p->nparts);
    flow__fnref_encode(b, &p->fn);
    flow__wbuf_bytes(b, p->arg, p->arg_len);
    flow__wbuf_bytes(b, p->bounds, p->bounds_len);
    flow__wbuf_u8(b, p->descending);
}

static void put_agg(flow__wbuf_t *b, const flow__aggspec_t *a)
{
    flow__wbuf_u8(b, a->kind);
    flow__wbuf_u8(b, a->builtin);
    flow__fnref_encode(b, &a->create);
    flow__fnref_encode(b, &a->merge_value);
    flow__fnref_encode(b, &a->merge_combiners);
    flow__wbuf_bytes(b, a->arg, a->arg_len);
    flow__wbuf_bytes(b, a->zero, a->zero_len);
    flow__wbuf_u8(b, a->has_zero);
}

static void put_read(flow__wbuf_t *b, const flow__shufread_t *r)
{
    flow__wbuf_u8(b, r->mode);
    flow__wbuf_u32(b, r->reduce);
    flow__wbuf_u32(b, r->ninputs);
    for (uint32_t i = 0; i < r->ninputs; i++) {
        flow__wbuf_u32(b, r->inputs[i].shuffle);
        flow__wbuf_u32(b, r->inputs[i].nmaps);
        for (uint32_t m = 0; r->inputs[i].shuffle && m < r->inputs[i].nmaps; m++)
            flow__wbuf_u32(b, r->inputs[i].execs[m]);
    }
    put_agg(b, &r->agg);
    flow__fnref_encode(b, &r->fn);
    flow__wbuf_bytes(b, r->arg, r->arg_len);
    flow__wbuf_u8(b, r->descending);
    flow__wbuf_u8(b, r->cogroup);
}

void flow__task_put_sink(flow__wbuf_t *b, const flow__sinkspec_t *s)
{
    flow__wbuf_u8(b, s->kind);
    flow__fnref_encode(b, &s->fn);
    flow__wbuf_bytes(b, s->arg, s->arg_len);
    flow__wbuf_bytes(b, s->zero, s->zero_len);
    flow__wbuf_u64(b, s->n);
    flow__wbuf_u8(b, s->descending);
    flow__wbuf_str(b, s->path ? s->path : "");
    flow__wbuf_u32(b, s->shuffle);
    put_part(b, &s->part);
    put_agg(b, &s->agg);
}

void flow__task_put_node(flow__wbuf_t *b, const flow__opnode_t *n)
{
    flow__wbuf_u8(b, n->kind);
    flow__wbuf_u32(b, n->dataset);
    flow__wbuf_u32(b, n->partition);
    if (n->kind == FLOW_OP_SOURCE) {
        flow__wbuf_u8(b, n->src_kind);
        flow__wbuf_u32(b, (uint32_t)n->split_len);
        flow__wbuf_align(b, 8); /* Block splits are read in place, aligned. */
        flow__wbuf_put(b, n->split, n->split_len);
    } else if (op_has_fn(n->kind)) {
        flow__fnref_encode(b, &n->fn);
        flow__wbuf_bytes(b, n->arg, n->arg_len);
    } else if (n->kind == FLOW_OP_SAMPLE) {
        flow__wbuf_u8(b, n->with_replacement);
        flow__wbuf_f64(b, n->fraction);
        flow__wbuf_u64(b, n->seed);
    } else if (n->kind == FLOW_OP_ZIP_INDEX) {
        flow__wbuf_u64(b, n->start_index);
    } else if (n->kind == FLOW_OP_SHUFFLE_READ) {
        put_read(b, n->read);
    } else if (n->kind == FLOW_OP_CACHED) {
        flow__wbuf_u8(b, n->level);
    }
    flow__wbuf_u32(b, n->nchildren);
}

/* Copy bytes into the arena so that UDFs can read them 8-aligned. */
static const void *aligned_copy(flow__arena_t *a, const void *p, size_t n)
{
    void *d = flow__arena_alloc(a, n);
    if (n)
        memcpy(d, p, n);
    return d;
}

static const void *get_bytes(flow__rbuf_t *r, flow__arena_t *a, size_t *len)
{
    const void *p = flow__rbuf_bytes(r, len);
    return aligned_copy(a, p, *len);
}

static void get_part(flow__rbuf_t *r, flow__arena_t *a, flow__partspec_t *p)
{
    p->kind = flow__rbuf_u8(r);
    p->nparts = flow__rbuf_u32(r);
    flow__fnref_decode(r, &p->fn);
    p->arg = get_bytes(r, a, &p->arg_len);
    p->bounds = get_bytes(r, a, &p->bounds_len);
    p->descending = flow__rbuf_u8(r);
}

static void get_agg(flow__rbuf_t *r, flow__arena_t *a, flow__aggspec_t *g)
{
    g->kind = flow__rbuf_u8(r);
    g->builtin = flow__rbuf_u8(r);
    flow__fnref_decode(r, &g->create);
    flow__fnref_decode(r, &g->merge_value);
    flow__fnref_decode(r, &g->merge_combiners);
    g->arg = get_bytes(r, a, &g->arg_len);
    g->zero = get_bytes(r, a, &g->zero_len);
    g->has_zero = flow__rbuf_u8(r);
}

static flow__shufread_t *get_read(flow__rbuf_t *r, flow__arena_t *a)
{
    flow__shufread_t *sr = flow__arena_alloc(a, sizeof *sr);
    memset(sr, 0, sizeof *sr);
    sr->mode = flow__rbuf_u8(r);
    sr->reduce = flow__rbuf_u32(r);
    sr->ninputs = flow__rbuf_u32(r);
    if (sr->ninputs > flow__rbuf_left(r) / 8) {
        r->failed = 1;
        return sr;
    }
    sr->inputs = flow__arena_alloc(a, sizeof *sr->inputs * (sr->ninputs + 1));
    for (uint32_t i = 0; i < sr->ninputs; i++) {
        flow__shuf_input_t *in = &sr->inputs[i];
        in->shuffle = flow__rbuf_u32(r);
        in->nmaps = flow__rbuf_u32(r);
        if (in->shuffle == 0) {
            in->execs = NULL; /* A narrow child: nmaps is its index. */
            continue;
        }
        if (in->nmaps > flow__rbuf_left(r) / 4) {
            r->failed = 1;
            in->nmaps = 0;
            return sr;
        }
        uint32_t *ex = flow__arena_alloc(a, sizeof *ex * (in->nmaps + 1));
        for (uint32_t m = 0; m < in->nmaps; m++)
            ex[m] = flow__rbuf_u32(r);
        in->execs = ex;
    }
    get_agg(r, a, &sr->agg);
    flow__fnref_decode(r, &sr->fn);
    sr->arg = get_bytes(r, a, &sr->arg_len);
    sr->descending = flow__rbuf_u8(r);
    sr->cogroup = flow__rbuf_u8(r);
    return sr;
}

static flow__opnode_t *decode_node(flow__rbuf_t *r, flow__arena_t *a, int depth,
                                   flow__err_t *err)
{
    if (depth > MAX_DEPTH) {
        flow__err_set(err, FLOW_EPROTO, "task plan deeper than %d operators", MAX_DEPTH);
        return NULL;
    }
    flow__opnode_t *n = flow__arena_alloc(a, sizeof *n);
    memset(n, 0, sizeof *n);
    n->kind = flow__rbuf_u8(r);
    n->dataset = flow__rbuf_u32(r);
    n->partition = flow__rbuf_u32(r);
    if (n->kind == 0 || n->kind >= FLOW_OP_MAX) {
        flow__err_set(err, FLOW_EPROTO, "task plan: unknown operator kind %u", n->kind);
        return NULL;
    }
    size_t len;
    const void *p;
    if (n->kind == FLOW_OP_SOURCE) {
        n->src_kind = flow__rbuf_u8(r);
        n->split_len = flow__rbuf_u32(r);
        flow__rbuf_align(r, 8);
        n->split = flow__rbuf_raw(r, n->split_len);
    } else if (op_has_fn(n->kind)) {
        flow__fnref_decode(r, &n->fn);
        p = flow__rbuf_bytes(r, &len);
        n->arg = aligned_copy(a, p, len);
        n->arg_len = len;
    } else if (n->kind == FLOW_OP_SAMPLE) {
        n->with_replacement = flow__rbuf_u8(r);
        n->fraction = flow__rbuf_f64(r);
        n->seed = flow__rbuf_u64(r);
    } else if (n->kind == FLOW_OP_ZIP_INDEX) {
        n->start_index = flow__rbuf_u64(r);
    } else if (n->kind == FLOW_OP_SHUFFLE_READ) {
        n->read = get_read(r, a);
    } else if (n->kind == FLOW_OP_CACHED) {
        n->level = flow__rbuf_u8(r);
    }
    n->nchildren = flow__rbuf_u32(r);
    uint32_t want = n->kind == FLOW_OP_SOURCE || n->kind == FLOW_OP_SHUFFLE_READ ? 0
                    : n->kind == FLOW_OP_CARTESIAN                              ? 2
                                                                               : 1;
    int varying = n->kind == FLOW_OP_CONCAT || n->kind == FLOW_OP_SHUFFLE_READ;
    if (n->kind == FLOW_OP_CACHED)
        want = n->nchildren <= 1 ? n->nchildren : 1;
    if (!flow__rbuf_ok(r) || (n->kind == FLOW_OP_CACHED && (n->level < 1 || n->level > 4)) ||
        (varying ? n->nchildren > flow__rbuf_left(r) : n->nchildren != want)) {
        flow__err_set(err, FLOW_EPROTO, "task plan: malformed %s node",
                      flow__op_name(n->kind));
        return NULL;
    }
    n->children = flow__arena_alloc(a, sizeof *n->children * (n->nchildren + 1));
    for (uint32_t i = 0; i < n->nchildren; i++)
        if (!(n->children[i] = decode_node(r, a, depth + 1, err)))
            return NULL;
    return n;
}

static void decode_sink(flow__rbuf_t *r, flow__arena_t *a, flow__sinkspec_t *s)
{
    size_t len;
    const void *p;
    memset(s, 0, sizeof *s);
    s->kind = flow__rbuf_u8(r);
    flow__fnref_decode(r, &s->fn);
    p = flow__rbuf_bytes(r, &len);
    s->arg = aligned_copy(a, p, len);
    s->arg_len = len;
    p = flow__rbuf_bytes(r, &len);
    s->zero = aligned_copy(a, p, len);
    s->zero_len = len;
    s->n = flow__rbuf_u64(r);
    s->descending = flow__rbuf_u8(r);
    p = flow__rbuf_bytes(r, &len);
    char *path = flow__arena_alloc(a, len + 1);
    if (p)
        memcpy(path, p, len);
    path[p ? len : 0] = '\0';
    s->path = path;
    s->shuffle = flow__rbuf_u32(r);
    get_part(r, a, &s->part);
    get_agg(r, a, &s->agg);
}

int flow__task_decode(const void *bytes, size_t len, flow__arena_t *arena,
                      flow__task_desc_t *out, flow__err_t *err)
{
    long body = unseal(bytes, len);
    if (body < 0)
        return flow__err_set(err, FLOW_EPROTO, "task: checksum mismatch (%zu bytes)", len);
    flow__rbuf_t r;
    flow__rbuf_init(&r, bytes, (size_t)body);
    const void *magic = flow__rbuf_raw(&r, 4);
    if (!magic || memcmp(magic, TASK_MAGIC, 4) != 0)
        return flow__err_set(err, FLOW_EPROTO, "not a libflow task (bad magic)");
    uint32_t version = flow__rbuf_u32(&r);
    if (version != FLOW_TASK_VERSION)
        return flow__err_set(err, FLOW_EPROTO, "task format version %u, expected %u",
                             version, FLOW_TASK_VERSION);
    out->job = flow__rbuf_u32(&r);
    out->stage = flow__rbuf_u32(&r);
    out->task = flow__rbuf_u32(&r);
    out->partition = flow__rbuf_u32(&r);
    out->attempt = flow__rbuf_u32(&r);
    decode_sink(&r, arena, &out->sink);
    if (!flow__rbuf_ok(&r) || out->sink.kind == 0 || out->sink.kind >= FLOW_SINK_MAX)
        return flow__err_set(err, FLOW_EPROTO, "task: malformed sink");
    out->root = decode_node(&r, arena, 0, err);
    if (!out->root)
        return err ? err->code : FLOW_EPROTO;
    if (flow__rbuf_left(&r) != 0)
        return flow__err_set(err, FLOW_EPROTO, "task: %zu trailing bytes",
                             flow__rbuf_left(&r));
    return FLOW_OK;
}

void flow__result_encode(flow__wbuf_t *b, const flow__task_result_t *r)
{
    size_t start = b->len;
    flow__wbuf_put(b, RESULT_MAGIC, 4);
    flow__wbuf_u32(b, FLOW_TASK_VERSION);
    flow__wbuf_u32(b, r->job);
    flow__wbuf_u32(b, r->stage);
    flow__wbuf_u32(b, r->task);
    flow__wbuf_u32(b, r->partition);
    flow__wbuf_u32(b, r->attempt);
    flow__wbuf_u32(b, (uint32_t)r->err.code);
    flow__wbuf_u8(b, (uint8_t)r->err.permanent);
    flow__wbuf_u32(b, r->err.dataset);
    flow__wbuf_str(b, r->err.msg);
    flow__wbuf_u32(b, r->fetch_shuffle);
    flow__wbuf_u32(b, r->fetch_map);
    flow__wbuf_u32(b, r->fetch_exec);
    const uint64_t *m = &r->metrics.wall_ns;
    for (int i = 0; i < FLOW_NMETRICS; i++)
        flow__wbuf_u64(b, m[i]);
    flow__wbuf_bytes(b, r->accs, r->accs_len);
    flow__wbuf_u64(b, r->payload_len);
    flow__wbuf_align(b, 8);
    flow__wbuf_put(b, r->payload, r->payload_len);
    flow__seal(b, start);
}

int flow__result_decode(const void *bytes, size_t len, flow__task_result_t *out,
                        flow__err_t *err)
{
    long body = unseal(bytes, len);
    if (body < 0)
        return flow__err_set(err, FLOW_EPROTO, "task result: checksum mismatch");
    flow__rbuf_t r;
    flow__rbuf_init(&r, bytes, (size_t)body);
    const void *magic = flow__rbuf_raw(&r, 4);
    if (!magic || memcmp(magic, RESULT_MAGIC, 4) != 0 ||
        flow__rbuf_u32(&r) != FLOW_TASK_VERSION)
        return flow__err_set(err, FLOW_EPROTO, "not a libflow task result");
    out->job = flow__rbuf_u32(&r);
    out->stage = flow__rbuf_u32(&r);
    out->task = flow__rbuf_u32(&r);
    out->partition = flow__rbuf_u32(&r);
    out->attempt = flow__rbuf_u32(&r);
    flow__err_clear(&out->err);
    out->err.code = (int32_t)flow__rbuf_u32(&r);
    out->err.permanent = flow__rbuf_u8(&r);
    out->err.dataset = flow__rbuf_u32(&r);
    size_t n;
    const void *msg = flow__rbuf_bytes(&r, &n);
    if (n >= sizeof out->err.msg)
        n = sizeof out->err.msg - 1;
    if (msg)
        memcpy(out->err.msg, msg, n);
    out->err.msg[msg ? n : 0] = '\0';
    out->fetch_shuffle = flow__rbuf_u32(&r);
    out->fetch_map = flow__rbuf_u32(&r);
    out->fetch_exec = flow__rbuf_u32(&r);
    uint64_t *m = &out->metrics.wall_ns;
    for (int i = 0; i < FLOW_NMETRICS; i++)
        m[i] = flow__rbuf_u64(&r);
    out->accs = flow__rbuf_bytes(&r, &out->accs_len);
    out->payload_len = flow__rbuf_u64(&r);
    flow__rbuf_align(&r, 8);
    out->payload = flow__rbuf_raw(&r, out->payload_len);
    if (!flow__rbuf_ok(&r) || flow__rbuf_left(&r) != 0 || out->err.code > 0)
        return flow__err_set(err, FLOW_EPROTO, "malformed task result");
    return FLOW_OK;
}
