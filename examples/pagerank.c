/* pagerank - PageRank over an edge list, as Spark's SparkPageRank example
 *
 *   pagerank [--master URL] [--iterations N] [--partitions N] [--memory SIZE]
 *            [--storage LEVEL] [--checkpoint N] [--out FILE] INPUT
 *
 * INPUT holds one edge per line, "src dst": two decimal integers in
 * [0, 2^63) separated by spaces or tabs (leading and trailing ones allowed).
 * Blank lines and lines whose first non-blank byte is '#' are skipped; any
 * other line fails the job with a message that names the file, the partition
 * and the line. examples/gengraph writes such files.
 *
 * The job, Spark's classic one:
 *   links = text_file -> flat_map each line to (key(src), int64 dst)
 *           -> group_by_key into one record per source whose value is its
 *              sorted, distinct neighbours (an array of int64)
 *           -> partition_by (hash, N partitions) -> persist (--storage)
 *   ranks = map_values(links, 1.0)
 *   each iteration:
 *     contribs = join(links, ranks) -> flat_map each (src, (neighbours, rank))
 *                to (key(dst), rank / outdegree) for every neighbour
 *     ranks    = combine_builtin(contribs, FLOW_SUM_F64, N)
 *                -> map_values(0.15 + 0.85 * sum)
 *     persist the new ranks (--storage), count them (so the iteration runs
 *     now and is timed), unpersist the previous ones.
 * links and ranks are hash-partitioned alike (map_values and the combiner
 * keep the partitioning), so the join reads both sides narrowly: the links
 * are shuffled once, before the first iteration, never again. group_by_key's
 * function may emit any key, so the engine cannot know that its output is
 * still hash-partitioned: partition_by marks it (one more shuffle, of one
 * record per vertex). The join is a shuffle-free co-partitioned join: this
 * program sets join.broadcast_threshold to 0 (unless FLOW_JOIN_BROADCAST_
 * THRESHOLD is set in the environment), since broadcasting the ranks would
 * collect them on the driver in every iteration.
 *
 * Semantics, those of Spark's example: vertex ids are keys made with
 * flow_key_from_i64, ranks native doubles. Duplicate edges count once (Spark
 * applies distinct() to the edges; here the group function drops repeated
 * neighbours); self-loops count. Only vertices with out-links start with a
 * rank (1.0). After each iteration exactly the vertices that received a
 * contribution have a rank: a vertex that no ranked vertex links to drops
 * out, and a vertex without out-links keeps its rank but passes nothing on
 * (the rank "leaks"), so the ranks do not sum to the number of vertices. With
 * --iterations 0 the output is every source with rank 1.
 *
 * --out FILE writes "vertex rank" lines sorted by vertex id, the rank printed
 * with %.12g; without it the ten highest ranks go to stdout. --checkpoint N
 * checkpoints the ranks every N iterations (flow_dataset_checkpoint: files
 * in checkpoint.dir), which cuts their lineage, so the datasets and shuffle
 * outputs of earlier iterations are freed. Per-iteration and total wall
 * times go to stderr. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

#include "exutil.h"

static const char usage[] =
    "usage: pagerank [--master URL] [--iterations N] [--partitions N] [--memory SIZE]\n"
    "                [--storage LEVEL] [--checkpoint N] [--out FILE] INPUT\n"
    "  PageRank (Spark's example: 0.15 + 0.85 * sum of contributions) over the\n"
    "  edges of INPUT, one \"src dst\" line each ('#' lines and blank lines skipped).\n"
    "  --master URL      local, local[N] or local[*] (default: local[*])\n"
    "  --iterations N    iterations (default 10)\n"
    "  --partitions N    partitions of the links and ranks (default: the default\n"
    "                    parallelism)\n"
    "  --memory SIZE     executor memory budget, e.g. 64m (past it, data spills and\n"
    "                    cached blocks are evicted)\n"
    "  --storage LEVEL   how the links and ranks are cached: memory (default),\n"
    "                    memory_ser, memory_and_disk, disk or none\n"
    "  --checkpoint N    checkpoint the ranks every N iterations (default: never)\n"
    "  --out FILE        write \"vertex rank\" lines sorted by vertex (default: the\n"
    "                    ten highest ranks on stdout)\n";

#define SHOW_BYTES 80 /* Bytes of a malformed line quoted in its error. */
#define TOP_RANKS 10  /* Ranks printed without --out. */

/* Command line options. */
typedef struct options {
    const char *master;          /* --master, or NULL for the default. */
    const char *memory;          /* --memory, or NULL for the default. */
    const char *out;             /* --out, or NULL for stdout. */
    int iterations;              /* --iterations. */
    int partitions;              /* --partitions, or 0 for the default. */
    int checkpoint;              /* --checkpoint, or 0 for never. */
    flow_storage_level_t level;  /* --storage. */
    const char *input;           /* The edge list. */
} options_t;

/* One vertex's final rank, on the driver. */
typedef struct vertex_rank {
    int64_t vertex; /* Vertex id. */
    double rank;    /* Its rank. */
} vertex_rank_t;

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Fail the task over a malformed line of the file named by arg. */
static int malformed(flow_task_t *t, const flow_rec_t *line, const flow_buf_t *file,
                     const char *why)
{
    int show = line->vlen < SHOW_BYTES ? (int)line->vlen : SHOW_BYTES;
    return flow_task_fail(t, 1, "%.*s, partition %d: malformed line '%.*s%s': %s",
                          (int)file->len, (const char *)file->data, flow_task_partition(t),
                          show, show ? (const char *)line->val : "",
                          line->vlen > SHOW_BYTES ? "..." : "", why);
}

/* Parse [p, end) as a decimal integer in [0, 2^63); 0, or -1. */
static int parse_vertex(const char *p, const char *end, int64_t *out)
{
    uint64_t v = 0;
    if (p == end)
        return -1;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9' || v > (uint64_t)(INT64_MAX - (*p - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = (int64_t)v;
    return 0;
}

/* flat_map over lines: (key(src), int64 dst) per edge line, nothing for a
 * blank or '#' line. arg: the file name, for errors. */
static int parse_edge(flow_task_t *t, const flow_rec_t *line, flow_emit_t *out,
                      const flow_buf_t *arg)
{
    const char *p = line->vlen ? line->val : "", *end = p + line->vlen;
    int64_t v[2];
    int n = 0;
    while (p < end && is_blank(*p))
        p++;
    if (p == end || *p == '#')
        return 0;
    while (p < end) {
        const char *q = p;
        while (q < end && !is_blank(*q))
            q++;
        if (n == 2)
            return malformed(t, line, arg, "more than two fields (expected 'src dst')");
        if (parse_vertex(p, q, &v[n++]) < 0)
            return malformed(t, line, arg,
                             "a vertex id is not a decimal integer in [0, 2^63)");
        while (q < end && is_blank(*q))
            q++;
        p = q;
    }
    if (n != 2)
        return malformed(t, line, arg, "one field (expected 'src dst')");
    uint8_t key[8];
    flow_key_from_i64(v[0], key);
    return flow_emit_kv(out, key, sizeof key, &v[1], sizeof v[1]);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* group_by_key over (key(src), int64 dst): (key(src), its distinct
 * neighbours in increasing order, as int64s). */
static int adjacency(flow_task_t *t, const void *key, size_t klen, flow_values_t *vals,
                     flow_emit_t *out, const flow_buf_t *arg)
{
    uint64_t n = flow_values_count(vals);
    int64_t *nb = flow_task_alloc(t, (size_t)n * sizeof *nb);
    if (!nb)
        return -1;
    flow_rec_t r;
    size_t k = 0;
    int rc;
    while ((rc = flow_values_next(vals, &r)) > 0) {
        if (r.vlen != sizeof *nb || k == n)
            return flow_task_fail(t, 1, "adjacency: a neighbour of %zu bytes, or more "
                                  "than %" PRIu64 " of them", r.vlen, n);
        nb[k++] = flow_i64(r.val);
    }
    if (rc < 0)
        return rc;
    qsort(nb, k, sizeof *nb, cmp_i64);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (m == 0 || nb[i] != nb[m - 1])
            nb[m++] = nb[i];
    return flow_emit_kv(out, key, klen, nb, m * sizeof *nb);
}

/* map_values: every value becomes the 8 bytes of arg (the initial rank). */
static int constant_value(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                          const flow_buf_t *arg)
{
    out->val = arg->data;
    out->vlen = arg->len;
    return 0;
}

/* flat_map over joined (key(src), pair(neighbours, rank)): one
 * (key(dst), rank / outdegree) per neighbour. */
static int contributions(flow_task_t *t, const flow_rec_t *in, flow_emit_t *out,
                         const flow_buf_t *arg)
{
    flow_buf_t adj, rank;
    if (flow_pair_decode(in->val, in->vlen, &adj, &rank) < 0 || !adj.data || !rank.data ||
        rank.len != sizeof(double) || adj.len == 0 || adj.len % sizeof(int64_t) != 0)
        return flow_task_fail(t, 1, "contributions: a malformed joined value of %zu bytes",
                              in->vlen);
    size_t deg = adj.len / sizeof(int64_t);
    double share = flow_f64(rank.data) / (double)deg;
    const char *nb = adj.data;
    uint8_t key[8];
    for (size_t i = 0; i < deg; i++) {
        flow_key_from_i64(flow_i64(nb + i * sizeof(int64_t)), key);
        int rc = flow_emit_kv(out, key, sizeof key, &share, sizeof share);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* map_values over summed contributions: the new rank, 0.15 + 0.85 * sum. */
static int damp(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                const flow_buf_t *arg)
{
    if (in->vlen != sizeof(double))
        return flow_task_fail(t, 1, "damp: a sum of %zu bytes", in->vlen);
    double *rank = flow_task_alloc(t, sizeof *rank);
    if (!rank)
        return -1;
    *rank = 0.15 + 0.85 * flow_f64(in->val);
    out->val = rank;
    out->vlen = sizeof *rank;
    return 0;
}

/* Store the value v of option name in the options; 0, or -1 after printing why. */
static int option_value(void *opts, const char *name, const char *v)
{
    options_t *o = opts;
    int n = 0;
    if (strcmp(name, "--master") == 0)
        o->master = v;
    else if (strcmp(name, "--memory") == 0)
        o->memory = v;
    else if (strcmp(name, "--out") == 0)
        o->out = v;
    else if (strcmp(name, "--iterations") == 0 && (n = ex_parse_int(v, 0)) >= 0)
        o->iterations = n;
    else if (strcmp(name, "--partitions") == 0 && (n = ex_parse_int(v, 1)) >= 0)
        o->partitions = n;
    else if (strcmp(name, "--checkpoint") == 0 && (n = ex_parse_int(v, 0)) >= 0)
        o->checkpoint = n;
    else if (strcmp(name, "--storage") == 0 && (n = ex_parse_storage(v)) >= 0)
        o->level = (flow_storage_level_t)n;
    else {
        fprintf(stderr, "pagerank: bad value '%s' for %s\n", v, name);
        return -1;
    }
    return 0;
}

/* Parse the options; returns 0, 1 after --help, or -1 on a usage error. */
static int parse_options(int argc, char **argv, options_t *o)
{
    static const char *const with_value[] = {"--master",     "--memory",     "--out",
                                             "--iterations", "--partitions", "--checkpoint",
                                             "--storage"};
    memset(o, 0, sizeof *o);
    o->iterations = 10;
    o->level = FLOW_MEMORY_ONLY;
    int i, rc = ex_parse_options("pagerank", argc, argv, with_value,
                                 sizeof with_value / sizeof with_value[0], option_value, o, &i);
    if (rc != 0)
        return rc;
    if (argc - i != 1) {
        fprintf(stderr, "pagerank: expected one INPUT\n");
        return -1;
    }
    o->input = argv[i];
    return 0;
}

/* What the cache holds of ds, on stderr. */
static void print_cached(flow_dataset_t *ds)
{
    flow_cache_info_t ci;
    if (flow_dataset_storage_level(ds) == FLOW_STORAGE_NONE ||
        flow_dataset_cache_info(ds, &ci) != FLOW_OK)
        return;
    fprintf(stderr, "cached: %d of %d partitions in memory (%.1f MiB), %d on disk "
            "(%.1f MiB), %" PRIu64 " records\n", ci.mem_partitions, ci.partitions,
            ci.mem_bytes / 1048576.0, ci.disk_partitions, ci.disk_bytes / 1048576.0,
            ci.records);
}

/* Build the links: (key(src), distinct int64 neighbours), hash-partitioned
 * and persisted, and compute them now. NULL after printing why. */
static flow_dataset_t *build_links(flow_context_t *ctx, const options_t *o)
{
    flow_dataset_t *lines = NULL, *edges = NULL, *adj = NULL, *links = NULL;
    uint64_t n = 0;
    double t0 = ex_now();
    int ok = (lines = flow_dataset_text_file(ctx, o->input, 0)) &&
             (edges = flow_dataset_flat_map(lines, parse_edge, o->input,
                                            strlen(o->input))) &&
             (adj = flow_dataset_group_by_key(edges, adjacency, NULL, 0, o->partitions)) &&
             (links = flow_dataset_partition_by(adj, o->partitions, NULL, NULL, 0));
    if (ok) {
        flow_dataset_set_name(edges, "parse_edge");
        flow_dataset_set_name(adj, "adjacency");
        flow_dataset_set_name(links, "links");
        ok = (o->level == FLOW_STORAGE_NONE || flow_dataset_persist(links, o->level)) &&
             flow_dataset_count(links, &n) == FLOW_OK;
    }
    if (!ok) {
        fprintf(stderr, "pagerank: %s\n", flow_last_error(ctx));
        flow_dataset_destroy(&links);
    } else {
        fprintf(stderr, "links: %" PRIu64 " vertices with out-links, %d partitions, "
                "%.3f s\n", n, flow_dataset_npartitions(links), ex_now() - t0);
        print_cached(links);
    }
    flow_dataset_destroy(&lines);
    flow_dataset_destroy(&edges);
    flow_dataset_destroy(&adj);
    return links;
}

/* One iteration: the ranks that follow *ranks_p, computed now; they replace
 * *ranks_p. 0, or -1 after printing why. */
static int iterate(flow_dataset_t *links, flow_dataset_t **ranks_p, const options_t *o,
                   uint64_t *out_ranked)
{
    flow_context_t *ctx = flow_dataset_context(links);
    int nparts = flow_dataset_npartitions(links);
    flow_dataset_t *joined = NULL, *contribs = NULL, *sums = NULL, *next = NULL;
    int ok = (joined = flow_dataset_join(links, *ranks_p, nparts)) &&
             (contribs = flow_dataset_flat_map(joined, contributions, NULL, 0)) &&
             (sums = flow_dataset_combine_builtin(contribs, FLOW_SUM_F64, nparts)) &&
             (next = flow_dataset_map_values(sums, damp, NULL, 0));
    if (ok) {
        flow_dataset_set_name(contribs, "contributions");
        flow_dataset_set_name(next, "ranks");
        ok = (o->level == FLOW_STORAGE_NONE || flow_dataset_persist(next, o->level)) &&
             flow_dataset_count(next, out_ranked) == FLOW_OK;
    }
    flow_dataset_destroy(&joined);
    flow_dataset_destroy(&contribs);
    flow_dataset_destroy(&sums);
    if (!ok) {
        fprintf(stderr, "pagerank: %s\n", flow_last_error(ctx));
        flow_dataset_destroy(&next);
        return -1;
    }
    /* The new ranks are computed (and stored): the old ones are not needed. */
    if (flow_dataset_storage_level(*ranks_p) != FLOW_STORAGE_NONE)
        flow_dataset_unpersist(*ranks_p);
    flow_dataset_destroy(ranks_p);
    *ranks_p = next;
    return 0;
}

static int by_vertex(const void *a, const void *b)
{
    const vertex_rank_t *x = a, *y = b;
    return (x->vertex > y->vertex) - (x->vertex < y->vertex);
}

static int by_rank_desc(const void *a, const void *b)
{
    const vertex_rank_t *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? 1 : -1;
    return by_vertex(a, b);
}

/* Collect the ranks and write them as the options ask; 0, or -1 after printing why. */
static int write_ranks(flow_dataset_t *ranks, const options_t *o)
{
    flow_context_t *ctx = flow_dataset_context(ranks);
    flow_result_t *res = NULL;
    if (flow_dataset_collect(ranks, &res) < 0) {
        fprintf(stderr, "pagerank: %s\n", flow_last_error(ctx));
        return -1;
    }
    size_t n = flow_result_count(res), k = 0, pos = 0;
    vertex_rank_t *v = malloc((n ? n : 1) * sizeof *v);
    flow_rec_t r;
    int rc = v ? 0 : -1;
    while (v && flow_result_next(res, &pos, &r) == 1) {
        v[k].vertex = flow_key_to_i64(r.key);
        v[k++].rank = flow_f64(r.val);
    }
    flow_result_destroy(&res);
    if (!v) {
        fprintf(stderr, "pagerank: out of memory\n");
        return -1;
    }
    FILE *f = o->out ? fopen(o->out, "w") : stdout;
    if (!f) {
        perror(o->out);
        free(v);
        return -1;
    }
    qsort(v, n, sizeof *v, o->out ? by_vertex : by_rank_desc);
    for (size_t i = 0; i < n && (o->out || i < TOP_RANKS); i++)
        fprintf(f, "%" PRId64 " %.12g\n", v[i].vertex, v[i].rank);
    int bad = ferror(f);
    if ((o->out && fclose(f) != 0) || bad) {
        perror(o->out ? o->out : "stdout");
        rc = -1;
    }
    free(v);
    return rc;
}

/* Blocks evicted (dropped or moved to disk) by all the executors so far. */
static uint64_t evictions(flow_context_t *ctx)
{
    uint64_t n = 0;
    flow_executor_memory_t m;
    for (int e = 1; e <= flow_context_parallelism(ctx); e++)
        if (flow_context_executor_memory(ctx, e, &m) == FLOW_OK)
            n += m.evictions;
    return n;
}

/* The whole job; 0, or -1 after printing why. */
static int pagerank(flow_context_t *ctx, const options_t *o)
{
    double t0 = ex_now();
    flow_dataset_t *links = build_links(ctx, o), *ranks = NULL;
    const double one = 1.0;
    if (!links)
        return -1;
    if (!(ranks = flow_dataset_map_values(links, constant_value, &one, sizeof one))) {
        fprintf(stderr, "pagerank: %s\n", flow_last_error(ctx));
        flow_dataset_destroy(&links);
        return -1;
    }
    int rc = 0;
    for (int it = 1; it <= o->iterations && rc == 0; it++) {
        double t1 = ex_now();
        flow_stats_t before, after;
        uint64_t ranked = 0;
        flow_context_stats(ctx, &before);
        rc = iterate(links, &ranks, o, &ranked);
        if (rc == 0 && o->checkpoint && it % o->checkpoint == 0 && it < o->iterations &&
            flow_dataset_checkpoint(ranks) < 0) {
            fprintf(stderr, "pagerank: checkpoint: %s\n", flow_last_error(ctx));
            rc = -1;
        }
        flow_context_stats(ctx, &after);
        if (rc == 0)
            fprintf(stderr, "iteration %d: %.3f s, %" PRIu64 " vertices ranked, shuffle "
                    "written %" PRIu64 " bytes, cache hits %" PRIu64 "\n", it, ex_now() - t1,
                    ranked, after.shuffle_bytes_written - before.shuffle_bytes_written,
                    after.cache_hits - before.cache_hits);
    }
    if (rc == 0)
        rc = write_ranks(ranks, o);
    flow_dataset_destroy(&ranks);
    flow_dataset_destroy(&links);
    if (rc == 0) {
        flow_stats_t s;
        flow_context_stats(ctx, &s);
        fprintf(stderr, "total: %.3f s, master %s, %d iterations, storage %s; shuffle "
                "written %" PRIu64 " bytes, spilled %" PRIu64 " bytes, cache hits %" PRIu64
                ", misses %" PRIu64 ", evicted %" PRIu64 " blocks\n", ex_now() - t0,
                flow_context_get(ctx, "master"), o->iterations, ex_storage_name(o->level),
                s.shuffle_bytes_written, s.spill_bytes, s.cache_hits, s.cache_misses,
                evictions(ctx));
    }
    return rc;
}

int main(int argc, char **argv)
{
    options_t o;
    int prc = parse_options(argc, argv, &o);
    if (prc != 0) {
        fputs(usage, prc > 0 ? stdout : stderr);
        return prc > 0 ? 0 : 2;
    }
    flow_context_t *ctx = ex_open_context("pagerank", o.master, o.memory);
    if (!ctx)
        return 1;
    int rc = pagerank(ctx, &o);
    flow_context_destroy(&ctx);
    return rc == 0 ? 0 : 1;
}
