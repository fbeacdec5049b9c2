/* wl_wordcount.c - wordcount: the number of times each word occurs in Zipf text
 * A word is a maximal run of bytes other than whitespace (space, \t, \n, \v,
 * \f, \r). The answer is the order-independent digest of the (word, native
 * int64 count) records, one per distinct word, and a summary naming the most
 * frequent word (ties: the bytewise smaller word).
 * Engine: text_file + flat_map (each word to (word, int64 1)) +
 * combine_builtin(FLOW_SUM_I64), answered by one aggregate that sums the
 * record hashes as fb_digest_dataset does and also keeps the top word and the
 * total count (the input's words), so no second job runs for the summary.
 * Baseline: the mapped file scanned byte by byte with a whitespace table;
 * each word counted at once in an open-addressing table (power-of-two size,
 * linear probing, grown at half full, on huge pages) whose 32-byte entries
 * hold words of up to 16 bytes inline and longer ones as an offset into the
 * mapping, so no word is allocated. Words are hashed 16 ahead of the one being
 * counted, with their slots prefetched, so that the table's cache misses
 * overlap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "flowbench.h"
#include "gentext.h"

/* The top word kept for the summary is cut to this many bytes. */
#define TOP_MAX 47

static int gen(const char *dir, uint64_t size, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/text.txt", dir);
    return fb_gen_text(path, size, 11, err, errlen);
}

static int is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Whether (count, word) ranks above (tcount, top): a higher count, or the same
 * count and a bytewise smaller word. */
static int beats(int64_t count, const char *word, size_t len, int64_t tcount,
                 const char *top, size_t tlen)
{
    if (count != tcount)
        return count > tcount;
    int c = memcmp(word, top, len < tlen ? len : tlen);
    return c < 0 || (c == 0 && len < tlen);
}

static void format_summary(fb_answer_t *out, const char *top, size_t tlen, int64_t tcount)
{
    snprintf(out->summary, sizeof out->summary, "%llu distinct words, top: %.*s %lld",
             (unsigned long long)out->records, (int)tlen, top, (long long)tcount);
}

/* ---- Engine ---------------------------------------------------------------------------- */

/* The answer accumulator: the digest as fb_digest_dataset makes it, plus the
 * top word and the total of the counts. */
typedef struct wc_acc {
    uint64_t sum;           /* Sum of the records' fb_rec_hash. */
    uint64_t records;       /* Records (distinct words) seen. */
    int64_t words;          /* Sum of the counts: the words of the input. */
    int64_t top_count;      /* Count of the top word; 0 before any record. */
    uint32_t top_len;       /* Bytes of top_word used. */
    char top_word[TOP_MAX]; /* The top word, cut to TOP_MAX bytes. */
} wc_acc_t;

/* flat_map: one (word, int64 1) record per word of the line. With the
 * wrong-answer switch, words that start with 'a' are dropped. */
static int split_words(flow_task_t *t, const flow_rec_t *line, flow_emit_t *out,
                       const flow_buf_t *arg)
{
    (void)t;
    const int64_t one = 1;
    const int wrong = arg->len > 0;
    const unsigned char *p = line->val, *end = p + line->vlen;
    while (p < end) {
        while (p < end && is_space(*p))
            p++;
        const unsigned char *w = p;
        while (p < end && !is_space(*p))
            p++;
        if (p > w && !(wrong && *w == 'a')) {
            int rc = flow_emit_kv(out, w, (size_t)(p - w), &one, sizeof one);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* Make word (len bytes, seen count times) acc's top word when it ranks higher. */
static void acc_offer(wc_acc_t *acc, const void *word, size_t len, int64_t count)
{
    size_t cut = len < TOP_MAX ? len : TOP_MAX;
    if (acc->top_count == 0 || beats(count, word, cut, acc->top_count, acc->top_word,
                                     acc->top_len)) {
        acc->top_count = count;
        acc->top_len = (uint32_t)cut;
        memcpy(acc->top_word, word, cut);
    }
}

static int acc_seq(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b, flow_rec_t *out,
                   const flow_buf_t *arg)
{
    (void)arg;
    if (b->vlen != sizeof(int64_t))
        return flow_task_fail(t, 1, "wordcount: a count of %zu bytes", b->vlen);
    wc_acc_t *acc = flow_task_alloc(t, sizeof *acc);
    if (!acc)
        return -1;
    memcpy(acc, a->val, sizeof *acc);
    int64_t count = flow_i64(b->val);
    acc->sum += fb_rec_hash(b->key, b->klen, b->val, b->vlen);
    acc->records++;
    acc->words += count;
    acc_offer(acc, b->key, b->klen, count);
    *out = flow_rec(acc, sizeof *acc);
    return 0;
}

static int acc_comb(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b, flow_rec_t *out,
                    const flow_buf_t *arg)
{
    (void)arg;
    wc_acc_t *acc = flow_task_alloc(t, sizeof *acc), y;
    if (!acc)
        return -1;
    memcpy(acc, a->val, sizeof *acc);
    memcpy(&y, b->val, sizeof y);
    acc->sum += y.sum;
    acc->records += y.records;
    acc->words += y.words;
    if (y.top_count > 0)
        acc_offer(acc, y.top_word, y.top_len, y.top_count);
    *out = flow_rec(acc, sizeof *acc);
    return 0;
}

static int engine(flow_context_t *ctx, const char *dir, uint64_t size, int wrong,
                  fb_answer_t *out, fb_counters_t *cnt, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/text.txt", dir);
    flow_dataset_t *lines = NULL, *ones = NULL, *counts = NULL;
    flow_result_t *res = NULL;
    wc_acc_t zero;
    memset(&zero, 0, sizeof zero);
    flow_rec_t z = flow_rec(&zero, sizeof zero);
    int rc = -1;
    if ((lines = flow_dataset_text_file(ctx, path, 0)) &&
        (ones = flow_dataset_flat_map(lines, split_words, "w", wrong ? 1 : 0)) &&
        (counts = flow_dataset_combine_builtin(ones, FLOW_SUM_I64, 0)))
        rc = flow_dataset_aggregate(counts, &z, acc_seq, acc_comb, NULL, 0, &res);
    if (rc < 0) {
        snprintf(err, errlen, "%s", flow_last_error(ctx));
    } else {
        wc_acc_t acc;
        memcpy(&acc, flow_result_get(res, 0)->val, sizeof acc);
        out->digest = acc.sum;
        out->records = acc.records;
        format_summary(out, acc.top_word, acc.top_len, acc.top_count);
        cnt->input_bytes = size;
        cnt->input_records = (uint64_t)acc.words;
    }
    flow_result_destroy(&res);
    flow_dataset_destroy(&counts);
    flow_dataset_destroy(&ones);
    flow_dataset_destroy(&lines);
    return rc < 0 ? -1 : 0;
}

/* ---- Baseline -------------------------------------------------------------------------- */

/* One slot of the baseline's table (32 bytes, two to a cache line). */
typedef struct wc_entry {
    uint64_t a;     /* Word bytes 0-7, zero-padded; for a long word its file offset. */
    uint64_t b;     /* Word bytes 8-15, zero-padded; 0 for a long word. */
    uint32_t len;   /* Word length; 0 marks an empty slot. */
    uint32_t hash;  /* Low 32 bits of the word's hash. */
    uint64_t count; /* Occurrences. */
} wc_entry_t;

/* The baseline's table over the mapped file. */
typedef struct wc_table {
    wc_entry_t *slots;  /* cap slots. */
    size_t cap;         /* A power of two. */
    size_t used;        /* Occupied slots. */
    const char *base;   /* The mapped file: long words are offsets into it. */
} wc_table_t;

#define SHORT_MAX 16
/* Words hashed ahead of the one being counted. */
#define AHEAD 16

static uint64_t load64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The low n bytes of v (n from 0 to 8). */
static uint64_t low_bytes(uint64_t v, size_t n)
{
    return n >= 8 ? v : v & ((1ull << (8 * n)) - 1);
}

static uint64_t hash_short(uint64_t a, uint64_t b, size_t len)
{
    uint64_t h = (a ^ 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
    h ^= (b + len) * 0x94D049BB133111EBull;
    h ^= h >> 31;
    h *= 0xD6E8FEB86659FD93ull;
    return h ^ (h >> 32);
}

static int table_grow(wc_table_t *t)
{
    size_t cap = t->cap * 2, mask = cap - 1;
    wc_entry_t *s = fb_table_alloc(cap * sizeof *s);
    if (!s)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        const wc_entry_t *e = &t->slots[i];
        if (!e->len)
            continue;
        uint64_t h = e->len <= SHORT_MAX ? hash_short(e->a, e->b, e->len)
                                         : XXH3_64bits(t->base + e->a, e->len);
        size_t j = h & mask;
        while (s[j].len)
            j = (j + 1) & mask;
        s[j] = *e;
    }
    free(t->slots);
    t->slots = s;
    t->cap = cap;
    return 0;
}

/* A word found by the scan and hashed, waiting for its slot's cache line. */
typedef struct wc_word {
    uint64_t a;     /* As wc_entry_t.a, for a short word. */
    uint64_t b;     /* As wc_entry_t.b, for a short word. */
    uint64_t h;     /* The word's hash. */
    const char *w;  /* The word in the mapping. */
    size_t len;     /* Its length. */
} wc_word_t;

/* Hash the word at w (len bytes, inside the mapping that ends at end) into x
 * and prefetch its first slot. */
static inline void word_hash(const wc_table_t *t, const char *w, size_t len, const char *end,
                             wc_word_t *x)
{
    uint64_t a = 0, b = 0, h;
    if (len <= SHORT_MAX) {
        if (end - w >= SHORT_MAX) {
            a = load64(w);
            b = load64(w + 8);
        } else {
            char buf[SHORT_MAX] = {0};
            memcpy(buf, w, len);
            a = load64(buf);
            b = load64(buf + 8);
        }
        if (len <= 8) {
            a = low_bytes(a, len);
            b = 0;
        } else {
            b = low_bytes(b, len - 8);
        }
        h = hash_short(a, b, len);
    } else {
        h = XXH3_64bits(w, len);
    }
    x->a = a;
    x->b = b;
    x->h = h;
    x->w = w;
    x->len = len;
    __builtin_prefetch(&t->slots[h & (t->cap - 1)], 1);
}

/* Count the hashed word x. */
static inline int table_add(wc_table_t *t, const wc_word_t *x)
{
    size_t len = x->len, mask = t->cap - 1, i = x->h & mask;
    for (;; i = (i + 1) & mask) {
        wc_entry_t *e = &t->slots[i];
        if (e->len == 0)
            break;
        if (e->len != len || e->hash != (uint32_t)x->h)
            continue;
        if (len <= SHORT_MAX ? e->a == x->a && e->b == x->b
                             : memcmp(t->base + e->a, x->w, len) == 0) {
            e->count++;
            return 0;
        }
    }
    wc_entry_t *e = &t->slots[i];
    e->a = len <= SHORT_MAX ? x->a : (uint64_t)(x->w - t->base);
    e->b = x->b;
    e->len = (uint32_t)len;
    e->hash = (uint32_t)x->h;
    e->count = 1;
    return ++t->used * 2 > t->cap ? table_grow(t) : 0;
}

/* The bytes of the word in e: inline, or in the mapping. */
static const char *entry_word(const wc_table_t *t, const wc_entry_t *e, char buf[SHORT_MAX])
{
    if (e->len > SHORT_MAX)
        return t->base + e->a;
    memcpy(buf, &e->a, 8);
    memcpy(buf + 8, &e->b, 8);
    return buf;
}

static int baseline(const char *dir, uint64_t size, fb_answer_t *out, fb_counters_t *cnt,
                    char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/text.txt", dir);
    size_t len;
    const char *p = fb_map(path, &len, err, errlen);
    if (!p)
        return -1;
    unsigned char space[256] = {0};
    for (int c = 0; c < 256; c++)
        space[c] = (unsigned char)is_space((unsigned char)c);
    wc_table_t t = {fb_table_alloc((1u << 16) * sizeof(wc_entry_t)), 1u << 16, 0, p};
    const char *at = p, *end = p + len;
    uint64_t words = 0;
    int rc = t.slots ? 0 : -1;
    /* A ring of words hashed ahead, so that their slots are in cache when
     * they are counted: the table's misses overlap instead of queueing. */
    wc_word_t ring[AHEAD];
    while (rc == 0 && at < end) {
        while (at < end && space[(unsigned char)*at])
            at++;
        const char *w = at;
        while (at < end && !space[(unsigned char)*at])
            at++;
        if (at > w) {
            wc_word_t *x = &ring[words % AHEAD];
            if (words >= AHEAD)
                rc = table_add(&t, x);
            word_hash(&t, w, (size_t)(at - w), end, x);
            words++;
        }
    }
    for (uint64_t k = words > AHEAD ? words - AHEAD : 0; rc == 0 && k < words; k++)
        rc = table_add(&t, &ring[k % AHEAD]);
    if (rc < 0) {
        snprintf(err, errlen, "wordcount baseline: out of memory");
    } else {
        out->digest = 0;
        out->records = t.used;
        const char *top = "";
        char topbuf[SHORT_MAX];
        size_t tlen = 0;
        int64_t tcount = 0;
        for (size_t i = 0; i < t.cap; i++) {
            const wc_entry_t *e = &t.slots[i];
            if (!e->len)
                continue;
            char buf[SHORT_MAX];
            const char *w = entry_word(&t, e, buf);
            int64_t count = (int64_t)e->count;
            out->digest += fb_rec_hash(w, e->len, &count, sizeof count);
            size_t cut = e->len < TOP_MAX ? e->len : TOP_MAX;
            if (tcount == 0 || beats(count, w, cut, tcount, top, tlen)) {
                top = e->len <= SHORT_MAX ? memcpy(topbuf, buf, SHORT_MAX) : w;
                tlen = cut;
                tcount = count;
            }
        }
        format_summary(out, top, tlen, tcount);
        cnt->input_bytes = size;
        cnt->input_records = words;
    }
    free(t.slots);
    fb_unmap(p, len);
    return rc;
}

const fb_workload_t fb_wl_wordcount = {
    "wordcount",
    "word counts of Zipf text (text_file + flat_map + combine_builtin SUM_I64)",
    "unordered",
    256ull << 20,
    gen,
    engine,
    baseline,
};
