/* gengraph - write a deterministic edge list for the pagerank example
 *
 *   gengraph VERTICES EDGES SEED OUTFILE
 *
 * Writes a comment line ("# gengraph ...") and then EDGES lines "src dst" of
 * vertex ids in [0, VERTICES). Both ends are skewed, so that degrees follow a
 * power law of sorts: a source is V * x^2 and a destination V * x^3 for x
 * uniform in [0, 1), each then scattered over the ids by its own bijection
 * (v * a + b mod V), so that the busy vertices are not all small numbers and
 * a busy source is not also a busy destination. Duplicate edges and
 * self-loops occur, as in crawled graphs; not every vertex is a source. One
 * splitmix64 stream seeded by SEED draws everything, in integers only, so the
 * same arguments give the same bytes on every machine. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: gengraph VERTICES EDGES SEED OUTFILE\n"
    "  Write EDGES deterministic \"src dst\" lines over vertex ids 0 .. VERTICES-1,\n"
    "  with skewed (power-law-like) out- and in-degrees, for the pagerank example.\n";

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A number in [0, n) skewed towards 0: n * x^power for x uniform in [0, 1)
 * (20 bits of it), power 2 or 3, in integers. */
static uint64_t skewed(uint64_t *s, uint64_t n, int power)
{
    uint64_t x = next_rand(s) >> 44;
    unsigned __int128 v = (unsigned __int128)n * x * x;
    if (power == 3)
        return (uint64_t)((v * x) >> 60);
    return (uint64_t)(v >> 40);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* A bijection of [0, n): v -> (v * mul + add) mod n, mul coprime to n. */
typedef struct scatter {
    uint64_t mul; /* Multiplier, coprime to n. */
    uint64_t add; /* Offset, below n. */
    uint64_t n;   /* Size of the range. */
} scatter_t;

static scatter_t scatter_new(uint64_t *s, uint64_t n)
{
    scatter_t p = {1, 0, n};
    uint64_t m = n > 1 ? 1 + next_rand(s) % (n - 1) : 1;
    while (n > 1 && gcd(m, n) != 1)
        m = m + 1 < n ? m + 1 : 1;
    p.mul = m;
    p.add = next_rand(s) % n;
    return p;
}

static uint64_t scatter(const scatter_t *p, uint64_t v)
{
    return (uint64_t)(((unsigned __int128)v * p->mul + p->add) % p->n);
}

/* Parse a decimal count in [lo, 2^40]; -1 when it is not one. */
static int parse_count(const char *s, uint64_t lo, uint64_t *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || v < lo || v > (1ull << 40))
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    uint64_t nv, ne, seed;
    if (argc != 5 || parse_count(argv[1], 1, &nv) < 0 || parse_count(argv[2], 0, &ne) < 0 ||
        parse_count(argv[3], 0, &seed) < 0) {
        fputs(usage, stderr);
        return 2;
    }
    FILE *f = fopen(argv[4], "wb");
    if (!f) {
        perror(argv[4]);
        return 1;
    }
    uint64_t s = seed;
    scatter_t src_ids = scatter_new(&s, nv), dst_ids = scatter_new(&s, nv);
    fprintf(f, "# gengraph %" PRIu64 " vertices, %" PRIu64 " edges, seed %" PRIu64 "\n", nv,
            ne, seed);
    for (uint64_t i = 0; i < ne; i++) {
        /* One draw per statement, so the order of evaluation cannot matter. */
        uint64_t src = scatter(&src_ids, skewed(&s, nv, 2));
        uint64_t dst = scatter(&dst_ids, skewed(&s, nv, 3));
        fprintf(f, "%" PRIu64 " %" PRIu64 "\n", src, dst);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        perror(argv[4]);
        return 1;
    }
    return 0;
}
