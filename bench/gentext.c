/* gentext.c - deterministic Zipf-distributed text for flowbench's text workloads
 * Words are drawn from a vocabulary of FB_VOCAB words with Zipf(1) frequencies
 * (word i has weight 1 / (i + 1)), through a table of the cumulative weights and
 * a binary search; word i is spelled in base 26 after a letter taken from i,
 * so spellings are unique and 2 to 6 letters long. Lines hold 1 to 16 words.
 * One line in about every 100,000 has the word "needle" inserted (the grep
 * workload's rare substring). The same size and seed give the same bytes on
 * every machine: all randomness is splitmix64, all arithmetic integer or
 * IEEE double. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gentext.h"

/* Spell word number w into buf; returns its length. */
static int spell(uint32_t w, char *buf)
{
    int n = 0;
    buf[n++] = (char)('a' + w % 23);
    do {
        buf[n++] = (char)('a' + w % 26);
        w /= 26;
    } while (w);
    return n;
}

int fb_gen_text(const char *path, uint64_t size, uint64_t seed, char *err, size_t errlen)
{
    double *cdf = malloc(sizeof *cdf * FB_VOCAB);
    if (!cdf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    double total = 0;
    for (uint32_t i = 0; i < FB_VOCAB; i++)
        cdf[i] = (total += 1.0 / (i + 1));
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(cdf);
        return -1;
    }
    static char buf[1 << 20];
    uint64_t written = 0, rng = seed;
    size_t len = 0;
    while (written + len < size) {
        uint64_t r = fb_rand(&rng);
        int words = 1 + (int)(r % 16);
        if ((r >> 20) % 100000 == 0) {
            memcpy(buf + len, "needle ", 7);
            len += 7;
        }
        for (int i = 0; i < words; i++) {
            double u = (double)(fb_rand(&rng) >> 11) * 0x1.0p-53 * total;
            uint32_t lo = 0, hi = FB_VOCAB - 1;
            while (lo < hi) {
                uint32_t mid = (lo + hi) / 2;
                if (cdf[mid] < u)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            len += (size_t)spell(lo, buf + len);
            buf[len++] = i + 1 < words ? ' ' : '\n';
        }
        if (len > sizeof buf - 256 || written + len >= size) {
            size_t n = written + len > size ? (size_t)(size - written) : len;
            if (fwrite(buf, 1, n, f) != n)
                break;
            written += n;
            len = 0;
        }
    }
    free(cdf);
    if (fclose(f) != 0 || written != size) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
