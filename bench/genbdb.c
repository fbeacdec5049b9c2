/* genbdb.c - deterministic tables of the Big Data Benchmark (AMPLab) for flowbench
 * Two comma-separated files without a header or quoting, each line ending in '\n':
 *   rankings.csv    pageURL,pageRank,avgDuration
 *   uservisits.csv  sourceIP,destURL,visitDate,adRevenue,userAgent,countryCode,
 *                   languageCode,searchWord,duration
 * Rankings get about a tenth of the size asked and uservisits the rest; files
 * hold whole lines, so together they exceed the size by less than two lines.
 * Every table has at least one line.
 *   pageURL of page i: 8 to 32 letters drawn from a generator seeded with i,
 *       then i in decimal, so page i's URL is unique and can be made again
 *       from i alone; pageRank 0 .. 9999 (skewed towards small ranks);
 *       avgDuration 1 .. 100.
 *   sourceIP: a dotted quad; one visit in eight comes from a pool of 4096
 *       frequent visitors (skewed, so a few addresses visit often), the others
 *       from uniformly random addresses.
 *   destURL: nineteen visits in twenty name a ranked page (pages with small
 *       indices more often); the others an unranked page, whose URL holds a
 *       '-' and so never equals a pageURL.
 *   visitDate: YYYY-MM-DD, uniform over the days FB_BDB_FIRST_DATE ..
 *       FB_BDB_LAST_DATE.
 *   adRevenue: 0.00 .. 999.99, always with two decimals.
 *   userAgent, countryCode, languageCode: from short lists (no commas);
 *       searchWord: 3 to 10 letters; duration 1 .. 100.
 * All randomness is splitmix64 (fb_rand) and all arithmetic is integer, so the
 * same size gives the same bytes on every machine. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "genbdb.h"

#define POOL_IPS 4096u        /* Frequent visitors. */
#define BUF_BYTES (1u << 20)  /* Output buffer of a table. */
#define LINE_MAX_BYTES 512    /* More than any generated line. */

static const char *const agents[] = {
    "Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/4.0 (compatible; MSIE 7.0)",
    "Opera/9.80 (Windows NT 6.1)",     "Safari/533.20.27",
    "Googlebot/2.1",                   "curl/7.68.0",
};
static const char *const countries[] = {"USA", "DEU", "FRA", "GBR", "JPN", "BRA", "IND", "CHN"};
static const char *const languages[] = {"en-US", "de-DE", "fr-FR", "en-GB",
                                        "ja-JP", "pt-BR", "hi-IN", "zh-CN"};
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A table being written: a file behind a buffer. */
typedef struct table {
    FILE *f;             /* The open file. */
    const char *path;    /* Its path, for messages. */
    char buf[BUF_BYTES]; /* Bytes not yet written. */
    size_t len;          /* Their number. */
    uint64_t written;    /* Bytes of whole lines so far (buffered or not). */
} table_t;

static uint64_t below(uint64_t *s, uint64_t n)
{
    return fb_rand(s) % n;
}

/* A number in [0, n) skewed towards 0: n * x^2 for x uniform in [0, 1). */
static uint64_t skewed(uint64_t *s, uint64_t n)
{
    uint64_t x = below(s, 1u << 20);
    return (uint64_t)(((unsigned __int128)n * x * x) >> 40);
}

static size_t put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return n;
}

/* The URL of ranked page i; returns its length. */
static size_t page_url(uint64_t i, char *p)
{
    uint64_t s = i * 0xD1B54A32D192ED03ull + 0x8BB84B93962EACC9ull;
    uint64_t r = fb_rand(&s);
    size_t n = 8 + (size_t)(r % 25), len = 0;
    while (len < n) {
        r = fb_rand(&s);
        for (int k = 0; k < 12 && len < n; k++, r /= 26)
            p[len++] = (char)('a' + r % 26);
    }
    return len + fb_put_u64(p + len, i);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Write the date of day z (since 1970-01-01) as YYYY-MM-DD; returns 10. */
static size_t put_date(char *p, int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    unsigned y = (unsigned)((int64_t)yoe + era * 400 + (m <= 2));
    snprintf(p, 11, "%04u-%02u-%02u", y, m, d);
    return FB_BDB_DATE_LEN;
}

static size_t put_ip(char *p, uint32_t ip)
{
    size_t n = 0;
    for (int k = 3; k >= 0; k--) {
        n += fb_put_u64(p + n, ip >> (8 * k) & 255);
        if (k)
            p[n++] = '.';
    }
    return n;
}

/* Append one line to t, flushing the buffer when it fills; 0 or -1. */
static int table_put(table_t *t, size_t n, char *err, size_t errlen)
{
    t->len += n;
    t->written += n;
    if (t->len > BUF_BYTES - LINE_MAX_BYTES) {
        if (fwrite(t->buf, 1, t->len, t->f) != t->len) {
            snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
            return -1;
        }
        t->len = 0;
    }
    return 0;
}

static int table_open(table_t *t, const char *path, char *err, size_t errlen)
{
    t->path = path;
    t->len = 0;
    t->written = 0;
    if (!(t->f = fopen(path, "wb"))) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int table_close(table_t *t, int rc, char *err, size_t errlen)
{
    if (rc == 0 && fwrite(t->buf, 1, t->len, t->f) != t->len)
        rc = -1;
    if (fclose(t->f) != 0)
        rc = -1;
    if (rc < 0 && !err[0])
        snprintf(err, errlen, "%s: %s", t->path, strerror(errno));
    return rc;
}

/* Rankings lines until target bytes; sets *pages to their number. */
static int write_rankings(table_t *t, uint64_t target, uint64_t *rng, uint64_t *pages,
                          char *err, size_t errlen)
{
    uint64_t i = 0;
    do {
        char *p = t->buf + t->len;
        size_t n = page_url(i, p);
        p[n++] = ',';
        n += fb_put_u64(p + n, skewed(rng, 10000));
        p[n++] = ',';
        n += fb_put_u64(p + n, 1 + below(rng, 100));
        p[n++] = '\n';
        if (table_put(t, n, err, errlen) < 0)
            return -1;
        i++;
    } while (t->written < target);
    *pages = i;
    return 0;
}

/* One uservisits line into p; returns its length. */
static size_t visit_line(char *p, uint64_t pages, int64_t day0, uint64_t ndays, uint64_t *rng)
{
    uint64_t r = fb_rand(rng);
    uint32_t ip;
    if (r % 8 == 0) {
        uint64_t s = skewed(rng, POOL_IPS) * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
        ip = (uint32_t)fb_rand(&s);
    } else {
        ip = (uint32_t)(r >> 32);
    }
    size_t n = put_ip(p, ip);
    p[n++] = ',';
    if (below(rng, 20) != 0) {
        n += page_url(skewed(rng, pages), p + n);
    } else {
        n += put_str(p + n, "unranked-");
        n += fb_put_u64(p + n, below(rng, 1000000));
    }
    p[n++] = ',';
    n += put_date(p + n, day0 + (int64_t)below(rng, ndays));
    p[n++] = ',';
    uint64_t cents = below(rng, 100000);
    n += fb_put_u64(p + n, cents / 100);
    p[n++] = '.';
    p[n++] = (char)('0' + cents / 10 % 10);
    p[n++] = (char)('0' + cents % 10);
    p[n++] = ',';
    n += put_str(p + n, agents[below(rng, COUNT_OF(agents))]);
    p[n++] = ',';
    uint64_t c = below(rng, COUNT_OF(countries));
    n += put_str(p + n, countries[c]);
    p[n++] = ',';
    n += put_str(p + n, languages[c]);
    p[n++] = ',';
    for (uint64_t k = 0, len = 3 + below(rng, 8); k < len; k++)
        p[n++] = (char)('a' + below(rng, 26));
    p[n++] = ',';
    n += fb_put_u64(p + n, 1 + below(rng, 100));
    p[n++] = '\n';
    return n;
}

static int write_visits(table_t *t, uint64_t target, uint64_t pages, uint64_t *rng, char *err,
                        size_t errlen)
{
    int64_t day0 = days_from_civil(1980, 1, 1), day1 = days_from_civil(2010, 12, 31);
    uint64_t ndays = (uint64_t)(day1 - day0 + 1);
    do {
        size_t n = visit_line(t->buf + t->len, pages, day0, ndays, rng);
        if (table_put(t, n, err, errlen) < 0)
            return -1;
    } while (t->written < target);
    return 0;
}

int fb_gen_bdb(const char *dir, uint64_t size, char *err, size_t errlen)
{
    static table_t t;
    char rpath[4096], vpath[4096];
    snprintf(rpath, sizeof rpath, "%s/rankings.csv", dir);
    snprintf(vpath, sizeof vpath, "%s/uservisits.csv", dir);
    uint64_t rng = 0x42D0F00Dull ^ size, pages = 0;
    err[0] = '\0';
    if (table_open(&t, rpath, err, errlen) < 0)
        return -1;
    int rc = write_rankings(&t, size / 10, &rng, &pages, err, errlen);
    if (table_close(&t, rc, err, errlen) < 0)
        return -1;
    uint64_t rest = size > t.written ? size - t.written : 0;
    if (table_open(&t, vpath, err, errlen) < 0)
        return -1;
    rc = write_visits(&t, rest, pages, &rng, err, errlen);
    return table_close(&t, rc, err, errlen);
}

/* ---- Parsing -------------------------------------------------------------------------- */

/* Cents of "D+" or "D+.D" or "D+.DD" in [p, p + n); 0, or -1 when malformed. */
int fb_bdb_cents(const char *p, size_t n, int64_t *out)
{
    int64_t v = 0;
    size_t i = 0, dec = 0;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        v = v * 10 + (p[i] - '0');
    if (i == 0 || i > 15)
        return -1;
    if (i < n && p[i] == '.')
        for (i++; i < n && dec < 2 && p[i] >= '0' && p[i] <= '9'; i++, dec++)
            v = v * 10 + (p[i] - '0');
    if (i != n || (dec == 0 && p[n - 1] == '.'))
        return -1;
    *out = dec == 2 ? v : dec == 1 ? v * 10 : v * 100;
    return 0;
}

/* Split a line at commas into exactly n fields; 0, or -1 for another count. */
int fb_bdb_split(const flow_rec_t *line, flow_buf_t *fields, int n)
{
    const char *p = line->vlen ? line->val : "", *end = p + line->vlen;
    for (int k = 0;; k++) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        if (k == n)
            return -1;
        fields[k].data = p;
        fields[k].len = (size_t)((c ? c : end) - p);
        if (!c)
            return k + 1 == n ? 0 : -1;
        p = c + 1;
    }
}
