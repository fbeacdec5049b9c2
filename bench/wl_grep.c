/* wl_grep.c - grep: the lines of Zipf text that contain a rare word
 * Engine: text_chunks + flat_map: memmem of "needle" over each chunk of whole
 * lines, emitting the line around each hit (the per-line filter of text_file
 * costs a call per line, which is most of the time for a rare pattern),
 * answered with the order-independent digest of the matching lines.
 * Baseline: memmem over the whole mapped file, and for each hit the line
 * around it, hashed the same way; a line is counted once however many times
 * it holds the word. */
#include <stdio.h>
#include <string.h>

#include "flowbench.h"
#include "gentext.h"

#define NEEDLE "needle"

static int gen(const char *dir, uint64_t size, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/text.txt", dir);
    return fb_gen_text(path, size, 7, err, errlen);
}

/* The line of [p, end) that holds at: its start *s and end *e (without
 * "\r\n"); returns where the next line starts. */
static const char *line_around(const char *p, const char *end, const char *at,
                               const char **s, const char **e)
{
    const char *a = at, *z = memchr(at, '\n', (size_t)(end - at));
    const char *next = z ? z + 1 : end;
    while (a > p && a[-1] != '\n')
        a--;
    if (!z)
        z = end;
    if (z > a && z[-1] == '\r')
        z--;
    *s = a;
    *e = z;
    return next;
}

/* Emit each line of a chunk that holds the pattern (once per line). */
static int grep_chunk(flow_task_t *t, const flow_rec_t *chunk, flow_emit_t *out,
                      const flow_buf_t *pat)
{
    (void)t;
    const char *p = chunk->val, *end = p + chunk->vlen, *at = p;
    while (at < end && (at = memmem(at, (size_t)(end - at), pat->data, pat->len))) {
        const char *s, *e, *next = line_around(p, end, at, &s, &e);
        int rc = flow_emit_val(out, s, (size_t)(e - s));
        if (rc < 0)
            return rc;
        at = next;
    }
    return 0;
}

static int engine(flow_context_t *ctx, const char *dir, uint64_t size, int wrong,
                  fb_answer_t *out, fb_counters_t *cnt, char *err, size_t errlen)
{
    (void)size;
    char path[4096];
    snprintf(path, sizeof path, "%s/text.txt", dir);
    /* Test-only: a wrong pattern that matches far more lines. */
    const char *pattern = wrong ? "a" : NEEDLE;
    flow_dataset_t *lines = flow_dataset_text_chunks(ctx, path, 0);
    flow_dataset_t *hits = lines ? flow_dataset_flat_map(lines, grep_chunk, pattern,
                                                         strlen(pattern))
                                 : NULL;
    int rc = hits ? fb_digest_dataset(hits, out, err, errlen) : -1;
    if (!hits)
        snprintf(err, errlen, "%s", flow_last_error(ctx));
    snprintf(out->summary, sizeof out->summary, "%llu lines", (unsigned long long)out->records);
    cnt->input_bytes = size;
    cnt->input_records = 0; /* Lines are not counted separately by the engine. */
    flow_dataset_destroy(&hits);
    flow_dataset_destroy(&lines);
    return rc;
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
    const char *end = p + len, *at = p;
    out->digest = 0;
    out->records = 0;
    while (at < end && (at = memmem(at, (size_t)(end - at), NEEDLE, sizeof NEEDLE - 1))) {
        const char *s, *e, *next = line_around(p, end, at, &s, &e);
        out->digest += fb_rec_hash(NULL, 0, s, (size_t)(e - s));
        out->records++;
        at = next;
    }
    snprintf(out->summary, sizeof out->summary, "%llu lines", (unsigned long long)out->records);
    cnt->input_bytes = size;
    cnt->input_records = 0;
    fb_unmap(p, len);
    return 0;
}

const fb_workload_t fb_wl_grep = {
    "grep", "lines of Zipf text containing a rare word (text_chunks + flat_map)", "unordered",
    256ull << 20, gen, engine, baseline,
};
