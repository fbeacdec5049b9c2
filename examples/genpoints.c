/* genpoints - write deterministic clustered points for the kmeans example
 *
 *   genpoints NPOINTS DIMS K SEED OUTFILE
 *
 * Writes NPOINTS lines of DIMS space-separated numbers (six decimals): points
 * around K cluster centres. Each centre's coordinates are uniform in
 * [-50, 50] (in steps of 0.001) and each cluster has a spread of 1 to 4; a
 * point picks its cluster uniformly and adds to each coordinate the spread
 * times an approximately normal deviate (the sum of 12 uniforms, minus 6:
 * arithmetic only, so no libm rounding differs between machines). One
 * splitmix64 stream seeded by SEED draws everything, so the same arguments
 * give the same bytes on every machine. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: genpoints NPOINTS DIMS K SEED OUTFILE\n"
    "  Write NPOINTS deterministic points of DIMS coordinates around K gaussian\n"
    "  clusters, one point per line, for the kmeans example.\n";

#define MAX_DIMS 100000

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1), from 53 bits. */
static double uniform(uint64_t *s)
{
    return (double)(next_rand(s) >> 11) * 0x1.0p-53;
}

/* An approximately standard normal deviate (Irwin-Hall with 12 terms). */
static double normal(uint64_t *s)
{
    double sum = 0;
    for (int i = 0; i < 12; i++)
        sum += uniform(s);
    return sum - 6.0;
}

/* Parse a decimal count in [lo, hi]; -1 when it is not one. */
static int parse_count(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || v < lo || v > hi)
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
    uint64_t n, dims, k, seed;
    if (argc != 6 || parse_count(argv[1], 0, 1ull << 40, &n) < 0 ||
        parse_count(argv[2], 1, MAX_DIMS, &dims) < 0 ||
        parse_count(argv[3], 1, 1u << 20, &k) < 0 ||
        parse_count(argv[4], 0, UINT64_MAX, &seed) < 0) {
        fputs(usage, stderr);
        return 2;
    }
    double *centres = malloc(sizeof *centres * (size_t)(k * dims));
    double *spread = malloc(sizeof *spread * (size_t)k);
    if (!centres || !spread) {
        fprintf(stderr, "genpoints: out of memory\n");
        return 1;
    }
    uint64_t s = seed;
    for (uint64_t c = 0; c < k; c++) {
        for (uint64_t j = 0; j < dims; j++)
            centres[c * dims + j] = ((double)(next_rand(&s) % 100001) - 50000.0) / 1000.0;
        spread[c] = (double)(1 + next_rand(&s) % 4);
    }
    FILE *f = fopen(argv[5], "wb");
    if (!f) {
        perror(argv[5]);
        return 1;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t c = next_rand(&s) % k;
        for (uint64_t j = 0; j < dims; j++) {
            double x = centres[c * dims + j] + spread[c] * normal(&s);
            fprintf(f, j ? " %.6f" : "%.6f", x);
        }
        fputc('\n', f);
    }
    int bad = ferror(f);
    free(centres);
    free(spread);
    if (fclose(f) != 0 || bad) {
        perror(argv[5]);
        return 1;
    }
    return 0;
}
