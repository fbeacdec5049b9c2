/* gencsv - write deterministic CSV inputs for the join example
 *
 *   gencsv ROWS_RANKINGS ROWS_VISITS RANKINGS.csv USERVISITS.csv [SEED]
 *
 * Two tables in the layout of the Big Data Benchmark, comma-separated,
 * without a header or quoting:
 *   rankings:   pageURL,pageRank,avgDuration
 *               pageURL is "url<i>" for i = 0 .. ROWS_RANKINGS-1 (each once);
 *               pageRank is 0 .. 999, skewed towards small ranks.
 *   uservisits: sourceIP,destURL,visitDate,adRevenue,userAgent,countryCode,
 *               languageCode,searchWord,duration
 *               destURL names a ranked page (popular ones more often) in about
 *               nine visits out of ten, else a page with no ranking
 *               ("nourl<j>"); adRevenue has two decimals (0.00 .. 999.99).
 * One splitmix64 stream seeded by SEED (default 42) draws every field, so the
 * same arguments give the same bytes on every machine. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: gencsv ROWS_RANKINGS ROWS_VISITS RANKINGS.csv USERVISITS.csv [SEED]\n"
    "  Write deterministic rankings and uservisits tables for the join example.\n";

static const char *const agents[] = {
    "Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/4.0 (compatible; MSIE 7.0)",
    "Opera/9.80 (Windows NT 6.1)",     "Safari/533.20.27",
    "Googlebot/2.1",                   "curl/7.68.0",
};
static const char *const countries[] = {"USA", "DEU", "FRA", "GBR", "JPN", "BRA", "IND", "CHN"};
static const char *const languages[] = {"en-US", "de-DE", "fr-FR", "en-GB",
                                        "ja-JP", "pt-BR", "hi-IN", "zh-CN"};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A number in [0, n), n > 0. */
static uint64_t below(uint64_t *s, uint64_t n)
{
    return next_rand(s) % n;
}

/* A number in [0, n) skewed towards 0: n * x^3 for x uniform in [0, 1), in
 * integers so that every machine draws the same. */
static uint64_t skewed(uint64_t *s, uint64_t n)
{
    uint64_t x = below(s, 1u << 20);
    unsigned __int128 v = (unsigned __int128)n * x * x * x;
    return (uint64_t)(v >> 60);
}

static int parse_rows(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end != '\0' || s[0] == '-' || v > (1ull << 40))
        return -1;
    *out = v;
    return 0;
}

static int parse_seed(const char *s, uint64_t *out)
{
    char *end;
    *out = strtoull(s, &end, 10);
    return end == s || *end != '\0' || s[0] == '-' ? -1 : 0;
}

static void write_rankings(FILE *f, uint64_t rows, uint64_t *s)
{
    for (uint64_t i = 0; i < rows; i++) {
        uint64_t rank = skewed(s, 1000);
        uint64_t dur = 1 + below(s, 100);
        fprintf(f, "url%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", i, rank, dur);
    }
}

static void write_visits(FILE *f, uint64_t rows, uint64_t nurls, uint64_t *s)
{
    for (uint64_t i = 0; i < rows; i++) {
        uint64_t ip = next_rand(s);
        fprintf(f, "%u.%u.%u.%u,", (unsigned)(ip >> 24 & 255), (unsigned)(ip >> 16 & 255),
                (unsigned)(ip >> 8 & 255), (unsigned)(ip & 255));
        if (nurls && below(s, 10) != 0)
            fprintf(f, "url%" PRIu64 ",", skewed(s, nurls));
        else
            fprintf(f, "nourl%" PRIu64 ",", below(s, 1000000));
        /* One draw per statement: the order of evaluation of function
         * arguments is unspecified, and the output must not depend on it. */
        uint64_t cents = below(s, 100000);
        unsigned year = 1980 + (unsigned)below(s, 30);
        unsigned month = 1 + (unsigned)below(s, 12);
        unsigned day = 1 + (unsigned)below(s, 28);
        fprintf(f, "%04u-%02u-%02u,%" PRIu64 ".%02u,", year, month, day, cents / 100,
                (unsigned)(cents % 100));
        uint64_t c = below(s, COUNT_OF(countries));
        uint64_t agent = below(s, COUNT_OF(agents));
        fprintf(f, "%s,%s,%s,", agents[agent], countries[c], languages[c]);
        char word[12];
        int len = 3 + (int)below(s, 8);
        for (int k = 0; k < len; k++)
            word[k] = (char)('a' + below(s, 26));
        word[len] = '\0';
        fprintf(f, "%s,%u\n", word, 1 + (unsigned)below(s, 100));
    }
}

/* Write one table into path; 0, or -1 after printing why. */
static int write_table(const char *path, uint64_t rows, uint64_t nurls, int visits,
                       uint64_t *s)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return -1;
    }
    if (visits)
        write_visits(f, rows, nurls, s);
    else
        write_rankings(f, rows, s);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        perror(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    uint64_t nrank, nvisit, seed = 42;
    if (argc < 5 || argc > 6 || parse_rows(argv[1], &nrank) < 0 ||
        parse_rows(argv[2], &nvisit) < 0 || (argc == 6 && parse_seed(argv[5], &seed) < 0)) {
        fputs(usage, stderr);
        return 2;
    }
    uint64_t s = seed;
    if (write_table(argv[3], nrank, 0, 0, &s) < 0 ||
        write_table(argv[4], nvisit, nrank, 1, &s) < 0)
        return 1;
    return 0;
}
