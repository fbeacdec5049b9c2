/* pagerank_ref - single-threaded reference for examples/pagerank (tests only)
 *
 *   pagerank_ref ITERATIONS INPUT OUTFILE
 *
 * Reads the same edge lists (one "src dst" line each, ids in [0, 2^63),
 * spaces or tabs between and around them, blank and '#' lines skipped; any
 * other line is an error) and computes the same thing as the example, with
 * no libflow: duplicate edges count once, sources start at rank 1, and each
 * iteration gives a rank of 0.15 + 0.85 * (sum of rank / outdegree over its
 * ranked in-neighbours) to exactly the vertices that receive a contribution.
 * Writes "vertex rank" lines sorted by vertex, the rank printed with %.12g.
 * Vertices are numbered densely by sorting their ids; edges are sorted by
 * (src, dst) and de-duplicated, so each source's neighbours form a run. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct edge {
    int64_t src, dst;
} edge_t;

static int cmp_edge(const void *a, const void *b)
{
    const edge_t *x = a, *y = b;
    if (x->src != y->src)
        return (x->src > y->src) - (x->src < y->src);
    return (x->dst > y->dst) - (x->dst < y->dst);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Index of id in the sorted ids (present). */
static size_t index_of(const int64_t *ids, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] <= id)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* A decimal id in [0, 2^63) at *p (advanced past it); -1 when there is none. */
static int parse_id(const char **p, int64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (uint64_t)(INT64_MAX - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *out = (int64_t)v;
    return 0;
}

/* Parse one line (its '\n' and a '\r' before it removed): 1 with an edge, 0
 * for a skipped line, -1 when malformed. */
static int parse_line(const char *s, edge_t *e)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0' || *s == '#')
        return 0;
    if (parse_id(&s, &e->src) < 0 || (*s != ' ' && *s != '\t'))
        return -1;
    while (*s == ' ' || *s == '\t')
        s++;
    if (parse_id(&s, &e->dst) < 0)
        return -1;
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0' ? 1 : -1;
}

int main(int argc, char **argv)
{
    char *end;
    long iters = argc == 4 ? strtol(argv[1], &end, 10) : -1;
    if (argc != 4 || *end != '\0' || iters < 0) {
        fprintf(stderr, "usage: pagerank_ref ITERATIONS INPUT OUTFILE\n");
        return 2;
    }
    FILE *in = fopen(argv[2], "r");
    if (!in) {
        perror(argv[2]);
        return 1;
    }
    edge_t *e = NULL;
    size_t ne = 0, cap = 0, linecap = 0;
    char *line = NULL;
    ssize_t len;
    while ((len = getline(&line, &linecap, in)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (strlen(line) != (size_t)len) {
            fprintf(stderr, "pagerank_ref: malformed line (a NUL byte)\n");
            return 1;
        }
        if (ne == cap) {
            cap = cap ? 2 * cap : 1024;
            e = realloc(e, cap * sizeof *e);
            if (!e)
                return 1;
        }
        int rc = parse_line(line, &e[ne]);
        if (rc < 0) {
            fprintf(stderr, "pagerank_ref: malformed line '%s'\n", line);
            return 1;
        }
        ne += (size_t)rc;
    }
    free(line);
    fclose(in);

    /* Distinct edges, and the distinct vertex ids numbered densely. */
    qsort(e, ne, sizeof *e, cmp_edge);
    size_t m = 0;
    for (size_t i = 0; i < ne; i++)
        if (m == 0 || cmp_edge(&e[i], &e[m - 1]) != 0)
            e[m++] = e[i];
    ne = m;
    int64_t *ids = malloc((2 * ne + 1) * sizeof *ids);
    size_t nv = 0;
    for (size_t i = 0; i < ne; i++) {
        ids[nv++] = e[i].src;
        ids[nv++] = e[i].dst;
    }
    qsort(ids, nv, sizeof *ids, cmp_i64);
    m = 0;
    for (size_t i = 0; i < nv; i++)
        if (m == 0 || ids[i] != ids[m - 1])
            ids[m++] = ids[i];
    nv = m;

    size_t *deg = calloc(nv + 1, sizeof *deg), *src = malloc((ne + 1) * sizeof *src);
    size_t *dst = malloc((ne + 1) * sizeof *dst);
    double *rank = calloc(nv + 1, sizeof *rank), *sum = calloc(nv + 1, sizeof *sum);
    char *ranked = calloc(nv + 1, 1), *got = calloc(nv + 1, 1);
    if (!ids || !deg || !src || !dst || !rank || !sum || !ranked || !got) {
        fprintf(stderr, "pagerank_ref: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < ne; i++) {
        src[i] = index_of(ids, nv, e[i].src);
        dst[i] = index_of(ids, nv, e[i].dst);
        deg[src[i]]++;
    }
    for (size_t v = 0; v < nv; v++) {
        ranked[v] = deg[v] > 0;
        rank[v] = 1.0;
    }
    for (long it = 0; it < iters; it++) {
        memset(sum, 0, nv * sizeof *sum);
        memset(got, 0, nv);
        for (size_t i = 0; i < ne; i++)
            if (ranked[src[i]]) {
                sum[dst[i]] += rank[src[i]] / (double)deg[src[i]];
                got[dst[i]] = 1;
            }
        for (size_t v = 0; v < nv; v++) {
            ranked[v] = got[v];
            rank[v] = 0.15 + 0.85 * sum[v];
        }
    }

    FILE *out = fopen(argv[3], "w");
    if (!out) {
        perror(argv[3]);
        return 1;
    }
    for (size_t v = 0; v < nv; v++)
        if (ranked[v])
            fprintf(out, "%" PRId64 " %.12g\n", ids[v], rank[v]);
    if (fclose(out) != 0) {
        perror(argv[3]);
        return 1;
    }
    return 0;
}
