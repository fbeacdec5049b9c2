/* gentext - write deterministic pseudo-random text for examples and benchmarks
 *
 *   gentext SIZE OUTFILE [SEED]
 *
 * SIZE takes k, m and g suffixes (binary). Lines hold 1 to 20 words drawn
 * from a Zipf-like distribution over a vocabulary of 100,000 words, so that
 * the same SIZE and SEED give the same bytes on every machine. About one line
 * in 10,000 contains the word "needle". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mult = 1;
    switch (*end) {
    case 'k': case 'K': mult = 1ull << 10; end++; break;
    case 'm': case 'M': mult = 1ull << 20; end++; break;
    case 'g': case 'G': mult = 1ull << 30; end++; break;
    default: break;
    }
    if (end == s || *end != '\0' || v == 0)
        return -1;
    *out = v * mult;
    return 0;
}

/* Word number w of the vocabulary, spelled in base 26 after a fixed prefix
 * letter picked from w, into buf; returns its length. */
static int word(uint64_t w, char *buf)
{
    int n = 0;
    buf[n++] = (char)('a' + w % 7);
    do {
        buf[n++] = (char)('a' + w % 26);
        w /= 26;
    } while (w);
    return n;
}

int main(int argc, char **argv)
{
    uint64_t size, seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 42;
    if (argc < 3 || parse_size(argv[1], &size) < 0) {
        fprintf(stderr, "usage: gentext SIZE OUTFILE [SEED]   (SIZE like 64m, 1g)\n");
        return 2;
    }
    FILE *f = fopen(argv[2], "wb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    static char buf[1 << 16];
    uint64_t written = 0, rng = seed;
    size_t len = 0;
    while (written + len < size) {
        uint64_t r = next_rand(&rng);
        int words = 1 + (int)(r % 20);
        if ((r >> 32) % 10000 == 0)
            len += (size_t)sprintf(buf + len, "needle ");
        for (int i = 0; i < words; i++) {
            /* Squaring a uniform draw skews toward small word numbers. */
            double u = (double)(next_rand(&rng) >> 11) * 0x1.0p-53;
            len += (size_t)word((uint64_t)(u * u * u * 100000), buf + len);
            buf[len++] = i + 1 < words ? ' ' : '\n';
        }
        if (len > sizeof buf - 512) {
            size_t n = written + len > size ? (size_t)(size - written) : len;
            fwrite(buf, 1, n, f);
            written += n;
            len = 0;
        }
    }
    if (written < size)
        fwrite(buf, 1, (size_t)(size - written), f);
    if (fclose(f) != 0) {
        perror(argv[2]);
        return 1;
    }
    return 0;
}
