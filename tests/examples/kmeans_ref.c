/* kmeans_ref - single-threaded reference for examples/kmeans (tests only)
 *
 *   kmeans_ref K ITERATIONS INPUT OUTFILE
 *
 * Reads the same point files (whitespace-separated numbers as strtod reads
 * them, finite, at most 255 bytes each; blank lines skipped; every other line
 * with as many numbers as the first) and runs the same Lloyd iterations with
 * no libflow: the initial centres are the first K points; each point goes to
 * the centre at the smallest squared distance (the lowest index among
 * equals); a centre becomes the mean of its points, or stays put when it has
 * none. Writes the centres one per line, coordinates separated by a space,
 * each printed with %.12g. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Parse the numbers of line s into x (room for cap); returns how many fields
 * the line has, or -1 when one is not a finite number of at most 255 bytes. */
static long parse_line(const char *s, double *x, long cap)
{
    long n = 0;
    for (;;) {
        while (is_space(*s))
            s++;
        if (*s == '\0')
            return n;
        const char *q = s;
        while (*q && !is_space(*q))
            q++;
        char tmp[256], *stop;
        size_t len = (size_t)(q - s);
        if (len > 255)
            return -1;
        memcpy(tmp, s, len);
        tmp[len] = '\0';
        double v = strtod(tmp, &stop);
        if (*stop != '\0' || !isfinite(v))
            return -1;
        if (n < cap)
            x[n] = v;
        n++;
        s = q;
    }
}

int main(int argc, char **argv)
{
    char *end1, *end2;
    long k = argc == 5 ? strtol(argv[1], &end1, 10) : -1;
    long iters = argc == 5 ? strtol(argv[2], &end2, 10) : -1;
    if (argc != 5 || *end1 != '\0' || *end2 != '\0' || k < 1 || iters < 0) {
        fprintf(stderr, "usage: kmeans_ref K ITERATIONS INPUT OUTFILE\n");
        return 2;
    }
    FILE *in = fopen(argv[3], "r");
    if (!in) {
        perror(argv[3]);
        return 1;
    }
    double *pts = NULL, *row = NULL;
    long d = 0, n = 0, cap = 0;
    size_t linecap = 0;
    char *line = NULL;
    ssize_t len;
    while ((len = getline(&line, &linecap, in)) >= 0) {
        if (strlen(line) != (size_t)len) {
            fprintf(stderr, "kmeans_ref: malformed line (a NUL byte)\n");
            return 1;
        }
        if (d == 0) {
            long f = parse_line(line, NULL, 0);
            if (f == 0)
                continue;
            if (f < 0) {
                fprintf(stderr, "kmeans_ref: malformed line '%s'\n", line);
                return 1;
            }
            d = f;
            row = malloc((size_t)d * sizeof *row);
        }
        long f = parse_line(line, row, d);
        if (f == 0)
            continue;
        if (f != d) {
            fprintf(stderr, "kmeans_ref: malformed line '%s'\n", line);
            return 1;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            pts = realloc(pts, (size_t)cap * (size_t)d * sizeof *pts);
            if (!pts)
                return 1;
        }
        memcpy(pts + n * d, row, (size_t)d * sizeof *row);
        n++;
    }
    free(line);
    fclose(in);
    if (n < k) {
        fprintf(stderr, "kmeans_ref: %ld points, fewer than k = %ld\n", n, k);
        return 1;
    }

    double *c = malloc((size_t)(k * d) * sizeof *c);
    double *sum = malloc((size_t)(k * d) * sizeof *sum);
    double *cnt = malloc((size_t)k * sizeof *cnt);
    if (!c || !sum || !cnt)
        return 1;
    memcpy(c, pts, (size_t)(k * d) * sizeof *c);
    for (long it = 0; it < iters; it++) {
        memset(sum, 0, (size_t)(k * d) * sizeof *sum);
        memset(cnt, 0, (size_t)k * sizeof *cnt);
        for (long p = 0; p < n; p++) {
            const double *x = pts + p * d;
            long best = 0;
            double best_d = 0;
            for (long i = 0; i < k; i++) {
                double dist = 0;
                for (long j = 0; j < d; j++) {
                    double diff = x[j] - c[i * d + j];
                    dist += diff * diff;
                }
                if (i == 0 || dist < best_d) {
                    best = i;
                    best_d = dist;
                }
            }
            for (long j = 0; j < d; j++)
                sum[best * d + j] += x[j];
            cnt[best] += 1.0;
        }
        for (long i = 0; i < k; i++)
            if (cnt[i] > 0)
                for (long j = 0; j < d; j++)
                    c[i * d + j] = sum[i * d + j] / cnt[i];
    }

    FILE *out = fopen(argv[4], "w");
    if (!out) {
        perror(argv[4]);
        return 1;
    }
    for (long i = 0; i < k; i++)
        for (long j = 0; j < d; j++)
            fprintf(out, "%.12g%c", c[i * d + j], j + 1 < d ? ' ' : '\n');
    if (fclose(out) != 0) {
        perror(argv[4]);
        return 1;
    }
    return 0;
}
