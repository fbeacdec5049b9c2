/* wl_pagerank.c - pagerank: ten iterations of PageRank over a power-law graph
 * Input: edges.txt, an edge list as SNAP writes them: a header line
 * "# vertices V edges E", then E lines "src<TAB>dst" of vertex ids in [0, V).
 * Size: one edge per EDGE_BYTES (100) bytes of --size, so 1g is 10.7M edges
 * (the file itself holds some 15 bytes an edge), and V = E / 10 vertices.
 * Generator: for each edge, src = perm_s(floor(V x^2)) and dst =
 * perm_d(floor(V y^3)), x and y uniform in [0, 1) (integer arithmetic on
 * splitmix64 draws), perm_s and perm_d two bijections x -> (a x + b) mod V:
 * out-degrees and in-degrees follow power laws (rank-frequency exponents 1/2
 * and 2/3: the largest in-degree is about E / V^(1/3)), with the hubs spread
 * over the ids. Duplicate edges and self-loops are kept and count as edges.
 *
 * Semantics, the same on both sides: deg(u) is u's number of out-edges; every
 * vertex of [0, V) has a rank, r_0(v) = 1; an iteration computes
 *   c(u) = q(r(u) / deg(u))  for deg(u) > 0,
 *   r'(v) = 0.15 + 0.85 * (sum of c(u) over the edges u -> v),
 * so a vertex without in-edges gets 0.15 and a dangling vertex's (deg 0) rank
 * is dropped, not spread. q truncates to a multiple of 2^-g, g = 52 - bits(V)
 * (bits(V): V's length in bits). Why: every contribution and every partial
 * sum of contributions is then a multiple of 2^-g no larger than the sum of
 * all ranks, which is at most V (it starts at V, and ranks summing to at
 * most V give ranks summing to at most 0.15 V + 0.85 V), so below 2^(53-g):
 * a double holds each of them exactly, and the sums come out bit for bit
 * the same in any order and grouping (the engine's map-side combines and
 * reduce, the baseline's loop). r' is then computed from the
 * same double by the same two operations on both sides (flowbench is built
 * with -ffp-contract=off: no fused multiply-add in one place and not in the
 * other), so the ranks agree to the bit and the digest needs no rounding.
 * The truncation moves a rank by less than 2^-g per in-edge (2^-32 at 10M
 * edges): PageRank all the same.
 * The answer: the order-independent digest of the records (vertex as an
 * 8-byte key (flow_key_from_i64), r_10 as a native double), one per vertex,
 * and a summary naming the top vertex (ties: the smaller id).
 *
 * Engine (Spark's PageRank): edges parsed by text_file + flat_map to (src,
 * dst), every vertex added by range + map (so that dangling vertices have
 * links too), grouped by group_by_key into (vertex, out-neighbours' keys),
 * hash-partitioned by partition_by (group_by_key's function may emit any key,
 * so the engine does not take its output as partitioned) and cached. Ranks
 * start as map_values of the links, so they share the links' partitioning.
 * Each iteration cogroups links with ranks, co-partitioned, so neither is
 * shuffled and the cached links are read in place; the cogroup function
 * emits each vertex's contributions (and a 0 to the vertex itself, so that
 * every vertex stays); combine_builtin(FLOW_SUM_F64) sums them into the
 * links' partitioning and map_values damps them. (Spark writes join +
 * flatMap, its join being a cogroup; libflow's join would become a broadcast
 * join whenever the ranks look small, changing the plan with the size.) One
 * action at the end runs the ten iterations and digests the ranks in the
 * tasks.
 * Baseline: the edges parsed by hand into arrays, out-degrees counted, the
 * in-edges laid out by a counting sort (CSR by destination); each iteration
 * computes every vertex's contribution once, then pulls every vertex's sum
 * over its in-edges (sequential writes, reads of the contribution array).
 * The default suite runs 64m (671k edges, the engine some 2 s a run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flowbench.h"

#define EDGE_BYTES 100      /* Bytes of --size per edge. */
#define AVG_DEGREE 10       /* Edges per vertex. */
#define ITERATIONS 10
#define WRONG_MOD 101       /* The wrong-answer switch drops edges, (src + dst) % 101 == 0. */
/* The id permutations' multipliers: primes, so prime to any vertex count below them. */
#define PERM_S 2654435761u
#define PERM_D 4294967291u
#define SHOW_BYTES 80       /* Bytes of a malformed line quoted in its error. */

/* The grid that contributions are truncated to: scale = 2^g, inv = 2^-g. */
typedef struct grid {
    double scale; /* 2^g. */
    double inv;   /* 2^-g. */
} grid_t;

static grid_t grid_for(uint64_t vertices)
{
    int bits = 64 - __builtin_clzll(vertices | 1);
    grid_t g = {(double)(1ull << (52 - bits)), 1.0 / (double)(1ull << (52 - bits))};
    return g;
}

/* c(u) for a rank and an out-degree > 0. */
static inline double contribution(double rank, uint64_t deg, const grid_t *g)
{
    return (double)(int64_t)(rank / (double)deg * g->scale) * g->inv;
}

static inline double damp(double sum)
{
    return 0.15 + 0.85 * sum;
}

static void graph_shape(uint64_t size, uint64_t *edges, uint64_t *vertices)
{
    *edges = size / EDGE_BYTES > 16 ? size / EDGE_BYTES : 16;
    *vertices = *edges / AVG_DEGREE > 2 ? *edges / AVG_DEGREE : 2;
}

/* floor(n u^k) for u a 32-bit fraction x / 2^32, k = 2 or 3. */
static uint64_t skewed(uint64_t n, uint64_t x, int k)
{
    unsigned __int128 p = (unsigned __int128)x * x;
    if (k == 3)
        return (uint64_t)(((p >> 32) * x * n) >> 64);
    return (uint64_t)((p * n) >> 64);
}

static int gen(const char *dir, uint64_t size, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/edges.txt", dir);
    uint64_t edges, nv, rng = 0x9A6E7A4CBull ^ size;
    graph_shape(size, &edges, &nv);
    fb_writer_t w;
    if (fb_writer_open(&w, path, err, errlen) < 0)
        return -1;
    char *p = fb_writer_room(&w, 64);
    int n = snprintf(p, 64, "# vertices %llu edges %llu\n", (unsigned long long)nv,
                     (unsigned long long)edges);
    fb_writer_commit(&w, (size_t)n);
    for (uint64_t i = 0; i < edges; i++) {
        uint64_t r = fb_rand(&rng);
        uint64_t src = (skewed(nv, r >> 32, 2) * PERM_S + 12345) % nv;
        uint64_t dst = (skewed(nv, r & 0xFFFFFFFFu, 3) * PERM_D + 67890) % nv;
        size_t len = 0;
        p = fb_writer_room(&w, 48);
        len += fb_put_u64(p, src);
        p[len++] = '\t';
        len += fb_put_u64(p + len, dst);
        p[len++] = '\n';
        fb_writer_commit(&w, len);
    }
    return fb_writer_close(&w, path, err, errlen);
}

/* Parse "src<TAB>dst" in [p, end); the end of the parse, or NULL when malformed. */
static inline const char *parse_edge_line(const char *p, const char *end, uint64_t *src,
                                          uint64_t *dst)
{
    uint64_t v[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        const char *start = p;
        uint64_t x = 0;
        while (p < end && *p >= '0' && *p <= '9' && p - start < 18)
            x = x * 10 + (uint64_t)(*p++ - '0');
        if (p == start || (k == 0 && (p == end || *p++ != '\t')))
            return NULL;
        v[k] = x;
    }
    *src = v[0];
    *dst = v[1];
    return p;
}

/* The vertex and edge counts from the header line at [p, p + len); 0, or -1
 * when malformed. */
static int parse_header(const char *p, size_t len, uint64_t *vertices, uint64_t *edges)
{
    char line[128];
    size_t n = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, p, n);
    line[n] = '\0';
    unsigned long long v = 0, e = 0;
    if (sscanf(line, "# vertices %llu edges %llu", &v, &e) != 2 || v == 0 || v >= (1ull << 32))
        return -1;
    *vertices = v;
    *edges = e;
    return 0;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* The answer accumulator: the digest as fb_digest_dataset makes it, plus the top vertex. */
typedef struct pr_acc {
    uint64_t sum;     /* Sum of the records' fb_rec_hash. */
    uint64_t records; /* Vertices seen. */
    int64_t top;      /* The top vertex, -1 before any. */
    double top_rank;  /* Its rank. */
} pr_acc_t;

/* Offer vertex v of rank r to acc. */
static void acc_offer(pr_acc_t *acc, int64_t v, double r)
{
    if (acc->top < 0 || r > acc->top_rank || (r == acc->top_rank && v < acc->top)) {
        acc->top = v;
        acc->top_rank = r;
    }
}

static void summarize(fb_answer_t *out, const pr_acc_t *acc)
{
    out->digest = acc->sum;
    out->records = acc->records;
    snprintf(out->summary, sizeof out->summary, "%llu vertices, top %lld rank %.6f",
             (unsigned long long)acc->records, (long long)acc->top, acc->top_rank);
}

/* ---- Engine ---------------------------------------------------------------------------- */

/* parse_edge's argument. */
typedef struct edge_arg {
    uint64_t vertices; /* V: ids must be below. */
    uint64_t wrong;    /* Nonzero: the test-only wrong answer (drop some edges). */
} edge_arg_t;

static int malformed(flow_task_t *t, const flow_rec_t *line, const char *why)
{
    int show = line->vlen < SHOW_BYTES ? (int)line->vlen : SHOW_BYTES;
    return flow_task_fail(t, 1, "edges.txt: malformed line '%.*s%s': %s", show,
                          show ? (const char *)line->val : "",
                          line->vlen > SHOW_BYTES ? "..." : "", why);
}

/* flat_map over lines: (src key, dst key) per edge; '#' lines are comments. */
static int parse_edge(flow_task_t *t, const flow_rec_t *line, flow_emit_t *out,
                      const flow_buf_t *arg)
{
    const edge_arg_t *a = arg->data;
    const char *p = line->val, *end = p + line->vlen;
    if (line->vlen && *p == '#')
        return 0;
    uint64_t src = 0, dst = 0;
    if (parse_edge_line(p, end, &src, &dst) != end)
        return malformed(t, line, "expected src<TAB>dst");
    if (src >= a->vertices || dst >= a->vertices)
        return malformed(t, line, "a vertex id out of range");
    if (a->wrong && (src + dst) % WRONG_MOD == 0)
        return 0;
    uint8_t k[8], v[8];
    flow_key_from_i64((int64_t)src, k);
    flow_key_from_i64((int64_t)dst, v);
    return flow_emit_kv(out, k, sizeof k, v, sizeof v);
}

/* map over range(0, V): (vertex key, empty value), so that every vertex has links. */
static int vertex_marker(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                         const flow_buf_t *arg)
{
    uint8_t *k = flow_task_alloc(t, 8);
    if (!k)
        return -1;
    flow_key_from_i64(flow_i64(in->val), k);
    *out = flow_rec_kv(k, 8, "", 0);
    return 0;
}

/* group_by_key: (vertex key, its out-neighbours' keys back to back). */
static int build_links(flow_task_t *t, const void *key, size_t klen, flow_values_t *vals,
                       flow_emit_t *out, const flow_buf_t *arg)
{
    uint64_t n = flow_values_count(vals);
    uint8_t *adj = flow_task_alloc(t, n ? 8 * n : 8);
    if (!adj)
        return -1;
    size_t len = 0;
    flow_rec_t r;
    int rc;
    while ((rc = flow_values_next(vals, &r)) == 1) {
        if (r.vlen == 8 && len < 8 * n) {
            memcpy(adj + len, r.val, 8);
            len += 8;
        } else if (r.vlen != 0) {
            return flow_task_fail(t, 1, "build_links: a value of %zu bytes", r.vlen);
        }
    }
    return rc < 0 ? rc : flow_emit_kv(out, key, klen, adj, len);
}

static int init_rank(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                     const flow_buf_t *arg)
{
    static const double one = 1.0;
    out->val = &one;
    out->vlen = sizeof one;
    return 0;
}

/* cogroup of (links, ranks), per vertex: (neighbour, c) per link, and
 * (vertex, 0) so that a vertex without in-links keeps a rank. */
static int send_contribs(flow_task_t *t, const void *key, size_t klen,
                         flow_values_t *const *vals, int n, flow_emit_t *out,
                         const flow_buf_t *arg)
{
    const grid_t *g = arg->data;
    flow_rec_t links, rank;
    int rc;
    if (n != 2 || flow_values_count(vals[0]) != 1 || flow_values_count(vals[1]) != 1 ||
        (rc = flow_values_next(vals[0], &links)) != 1 ||
        (rc = flow_values_next(vals[1], &rank)) != 1 || links.vlen % 8 || rank.vlen != 8)
        return flow_task_fail(t, 1, "send_contribs: vertex %lld has %llu links records and "
                              "%llu ranks", klen == 8 ? (long long)flow_key_to_i64(key) : -1,
                              n == 2 ? (unsigned long long)flow_values_count(vals[0]) : 0,
                              n == 2 ? (unsigned long long)flow_values_count(vals[1]) : 0);
    static const double zero = 0.0;
    rc = flow_emit_kv(out, key, klen, &zero, sizeof zero);
    uint64_t deg = links.vlen / 8;
    if (rc < 0 || deg == 0)
        return rc;
    double c = contribution(flow_f64(rank.val), deg, g);
    const uint8_t *k = links.val;
    for (uint64_t i = 0; i < deg && rc >= 0; i++)
        rc = flow_emit_kv(out, k + 8 * i, 8, &c, sizeof c);
    return rc < 0 ? rc : 0;
}

static int damp_sum(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                    const flow_buf_t *arg)
{
    double *r = flow_task_alloc(t, sizeof *r);
    if (!r)
        return -1;
    *r = damp(flow_f64(in->val));
    out->val = r;
    out->vlen = sizeof *r;
    return 0;
}

static int acc_seq(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b, flow_rec_t *out,
                   const flow_buf_t *arg)
{
    if (b->klen != 8 || b->vlen != 8)
        return flow_task_fail(t, 1, "pagerank: a rank record of %zu, %zu bytes", b->klen,
                              b->vlen);
    pr_acc_t *acc = flow_task_alloc(t, sizeof *acc);
    if (!acc)
        return -1;
    memcpy(acc, a->val, sizeof *acc);
    acc->sum += fb_rec_hash(b->key, b->klen, b->val, b->vlen);
    acc->records++;
    acc_offer(acc, flow_key_to_i64(b->key), flow_f64(b->val));
    *out = flow_rec(acc, sizeof *acc);
    return 0;
}

static int acc_comb(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b, flow_rec_t *out,
                    const flow_buf_t *arg)
{
    pr_acc_t *acc = flow_task_alloc(t, sizeof *acc), y;
    if (!acc)
        return -1;
    memcpy(acc, a->val, sizeof *acc);
    memcpy(&y, b->val, sizeof y);
    acc->sum += y.sum;
    acc->records += y.records;
    if (y.top >= 0)
        acc_offer(acc, y.top, y.top_rank);
    *out = flow_rec(acc, sizeof *acc);
    return 0;
}

/* The header of path, read on the driver; 0, or -1 with err set. */
static int read_header(const char *path, uint64_t *vertices, uint64_t *edges, char *err,
                       size_t errlen)
{
    char line[128] = "";
    FILE *f = fopen(path, "r");
    int rc = f && fgets(line, sizeof line, f) ? parse_header(line, strlen(line), vertices,
                                                               edges) : -1;
    if (f)
        fclose(f);
    if (rc < 0)
        snprintf(err, errlen, "%s: no '# vertices V edges E' header", path);
    return rc;
}

/* Datasets the engine builds, released together. */
#define NDS (6 + 3 * ITERATIONS)

/* Build the links, cached: ds[0..5]; NULL from the first failure on. */
static flow_dataset_t *build_links_ds(flow_context_t *ctx, const char *path,
                                      const edge_arg_t *ea, flow_dataset_t **ds)
{
    ds[0] = flow_dataset_text_file(ctx, path, 0);
    ds[1] = ds[0] ? flow_dataset_flat_map(ds[0], parse_edge, ea, sizeof *ea) : NULL;
    ds[2] = ds[1] ? flow_dataset_range(ctx, 0, (int64_t)ea->vertices, 1, 0) : NULL;
    ds[3] = ds[2] ? flow_dataset_map(ds[2], vertex_marker, NULL, 0) : NULL;
    flow_dataset_t *both = ds[3] ? flow_dataset_union(ds[1], ds[3]) : NULL;
    int nparts = ds[0] ? flow_dataset_npartitions(ds[0]) : 0;
    ds[4] = both ? flow_dataset_group_by_key(both, build_links, NULL, 0, nparts) : NULL;
    flow_dataset_destroy(&both);
    ds[5] = ds[4] ? flow_dataset_partition_by(ds[4], nparts, NULL, NULL, 0) : NULL;
    return ds[5] ? flow_dataset_cache(ds[5]) : NULL;
}

static int engine(flow_context_t *ctx, const char *dir, uint64_t size, int wrong,
                  fb_answer_t *out, fb_counters_t *cnt, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/edges.txt", dir);
    edge_arg_t ea = {0, wrong != 0};
    uint64_t edges;
    if (read_header(path, &ea.vertices, &edges, err, errlen) < 0)
        return -1;
    grid_t g = grid_for(ea.vertices);
    flow_dataset_t *ds[NDS] = {NULL};
    flow_dataset_t *links = build_links_ds(ctx, path, &ea, ds);
    flow_dataset_t *ranks = links ? flow_dataset_map_values(links, init_rank, NULL, 0) : NULL;
    int nparts = links ? flow_dataset_npartitions(links) : 0;
    for (int i = 0, at = 6; i < ITERATIONS && ranks; i++, at += 3) {
        flow_dataset_t *both[2] = {links, ranks};
        ds[at] = ranks;
        ds[at + 1] = flow_dataset_cogroup(both, 2, send_contribs, &g, sizeof g, nparts);
        ds[at + 2] = ds[at + 1] ? flow_dataset_combine_builtin(ds[at + 1], FLOW_SUM_F64,
                                                               nparts) : NULL;
        ranks = ds[at + 2] ? flow_dataset_map_values(ds[at + 2], damp_sum, NULL, 0) : NULL;
    }
    pr_acc_t zero = {0, 0, -1, 0.0};
    flow_rec_t z = flow_rec(&zero, sizeof zero);
    flow_result_t *res = NULL;
    int rc = ranks ? flow_dataset_aggregate(ranks, &z, acc_seq, acc_comb, NULL, 0, &res) : -1;
    if (rc < 0) {
        snprintf(err, errlen, "%s", flow_last_error(ctx));
    } else {
        pr_acc_t acc;
        memcpy(&acc, flow_result_get(res, 0)->val, sizeof acc);
        summarize(out, &acc);
        cnt->input_bytes = file_size(path);
        cnt->input_records = edges;
    }
    flow_result_destroy(&res);
    flow_dataset_destroy(&ranks);
    for (int i = NDS - 1; i >= 0; i--)
        flow_dataset_destroy(&ds[i]);
    return rc < 0 ? -1 : 0;
}

/* ---- Baseline -------------------------------------------------------------------------- */

/* The graph in CSR by destination. */
typedef struct csr {
    uint64_t nv;      /* Vertices. */
    uint64_t ne;      /* Edges. */
    uint32_t *deg;    /* Out-degree per vertex. */
    uint32_t *off;    /* In-edges of v: src[off[v] .. off[v + 1]) (E < 2^32). */
    uint32_t *src;    /* Sources of the in-edges, grouped by destination. */
} csr_t;

static void csr_free(csr_t *g)
{
    free(g->deg);
    free(g->off);
    free(g->src);
}

/* Parse the edges at [p, end) into g (nv and, from the header, at most ne
 * edges); 0, or -1 with err set. The edges go to a temporary array of (src,
 * dst), then are placed by destination. */
static int csr_load(const char *p, const char *end, csr_t *g, char *err, size_t errlen)
{
    uint64_t cap = g->ne;
    if (cap >= UINT32_MAX) {
        snprintf(err, errlen, "pagerank baseline: %llu edges, more than it counts in 32 bits",
                 (unsigned long long)cap);
        return -1;
    }
    uint32_t *pairs = malloc((cap ? cap : 1) * 2 * sizeof *pairs);
    g->deg = calloc(g->nv, sizeof *g->deg);
    g->off = calloc(g->nv + 1, sizeof *g->off);
    if (!pairs || !g->deg || !g->off) {
        free(pairs);
        snprintf(err, errlen, "pagerank baseline: out of memory");
        return -1;
    }
    uint64_t n = 0;
    while (p < end) {
        uint64_t s, d;
        if (*p == '#') { /* A comment, as in the engine. */
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            p = nl ? nl + 1 : end;
            continue;
        }
        const char *e = parse_edge_line(p, end, &s, &d);
        if (!e || (e < end && *e != '\n') || s >= g->nv || d >= g->nv || n == cap) {
            snprintf(err, errlen, "edges.txt: malformed edge %llu", (unsigned long long)n + 1);
            free(pairs);
            return -1;
        }
        pairs[2 * n] = (uint32_t)s;
        pairs[2 * n + 1] = (uint32_t)d;
        g->deg[s]++;
        g->off[d + 1]++;
        n++;
        p = e < end ? e + 1 : end;
    }
    g->ne = n;
    for (uint64_t v = 0; v < g->nv; v++)
        g->off[v + 1] += g->off[v];
    g->src = malloc((n ? n : 1) * sizeof *g->src);
    uint32_t *at = malloc(g->nv * sizeof *at);
    if (!g->src || !at) {
        free(pairs);
        free(at);
        snprintf(err, errlen, "pagerank baseline: out of memory");
        return -1;
    }
    memcpy(at, g->off, g->nv * sizeof *at);
    for (uint64_t i = 0; i < n; i++)
        g->src[at[pairs[2 * i + 1]]++] = pairs[2 * i];
    free(at);
    free(pairs);
    return 0;
}

/* Ten iterations from rank 1 into r (nv doubles); c is scratch of nv doubles. */
static void iterate(const csr_t *g, double *r, double *c)
{
    grid_t grid = grid_for(g->nv);
    for (uint64_t v = 0; v < g->nv; v++)
        r[v] = 1.0;
    for (int it = 0; it < ITERATIONS; it++) {
        for (uint64_t u = 0; u < g->nv; u++)
            c[u] = g->deg[u] ? contribution(r[u], g->deg[u], &grid) : 0.0;
        const uint32_t *src = g->src;
        for (uint64_t v = 0; v < g->nv; v++) {
            /* Two sums: the adds overlap; exact, so the order does not matter. */
            double s0 = 0.0, s1 = 0.0;
            uint32_t k = g->off[v], end = g->off[v + 1];
            for (; k + 1 < end; k += 2) {
                s0 += c[src[k]];
                s1 += c[src[k + 1]];
            }
            if (k < end)
                s0 += c[src[k]];
            r[v] = damp(s0 + s1);
        }
    }
}

static int baseline(const char *dir, uint64_t size, fb_answer_t *out, fb_counters_t *cnt,
                    char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/edges.txt", dir);
    size_t len;
    const char *p = fb_map(path, &len, err, errlen);
    if (!p)
        return -1;
    const char *end = p + len, *nl = memchr(p, '\n', len);
    csr_t g;
    memset(&g, 0, sizeof g);
    int rc = -1;
    double *r = NULL, *c = NULL;
    if (!nl || parse_header(p, (size_t)(nl - p), &g.nv, &g.ne) < 0)
        snprintf(err, errlen, "%s: no '# vertices V edges E' header", path);
    else if (csr_load(nl + 1, end, &g, err, errlen) == 0 &&
             (r = malloc(g.nv * sizeof *r)) && (c = malloc(g.nv * sizeof *c)))
        rc = 0;
    else if (!err[0])
        snprintf(err, errlen, "pagerank baseline: out of memory");
    if (rc == 0) {
        iterate(&g, r, c);
        pr_acc_t acc = {0, 0, -1, 0.0};
        for (uint64_t v = 0; v < g.nv; v++) {
            uint8_t k[8];
            flow_key_from_i64((int64_t)v, k);
            acc.sum += fb_rec_hash(k, sizeof k, &r[v], sizeof r[v]);
            acc.records++;
            acc_offer(&acc, (int64_t)v, r[v]);
        }
        summarize(out, &acc);
        cnt->input_bytes = len;
        cnt->input_records = g.ne;
    }
    free(r);
    free(c);
    csr_free(&g);
    fb_unmap(p, len);
    return rc;
}

const fb_workload_t fb_wl_pagerank = {
    "pagerank",
    "ten PageRank iterations over a power-law graph (group_by_key + partition_by + cache, "
    "co-partitioned cogroup + combine_builtin SUM_F64)",
    "unordered", 64ull << 20, gen, engine, baseline,
};
