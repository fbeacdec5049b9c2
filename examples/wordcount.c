/* wordcount - count the words of text files
 *
 *   wordcount [--master URL] [--memory SIZE] [--overwrite] INPUT... OUTDIR
 *
 * Writes OUTDIR/part-NNNNN files of "word<TAB>count" lines (in no particular
 * order) and an OUTDIR/_SUCCESS marker. A word is a maximal run of bytes
 * other than whitespace (space, \t, \n, \v, \f, \r).
 *
 * The job: one text_file per INPUT, union_all, flat_map each line to
 * (word, int64 1) records, combine_builtin(FLOW_SUM_I64) (which sums on the
 * map side before the shuffle, so each map task sends one record per distinct
 * word), map_values the int64 count to decimal text, save_as_text_file.
 * --memory sets executor.memory: past it, the aggregation spills to local.dir
 * and gives the same answer. An existing OUTDIR is an error unless
 * --overwrite. Prints the wall time, the input size and the engine's shuffle
 * and spill counters on stderr. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flow.h"

#include "exutil.h"

static const char usage[] =
    "usage: wordcount [--master URL] [--memory SIZE] [--overwrite] INPUT... OUTDIR\n"
    "  Count the words (runs of non-whitespace bytes) of the INPUT files into\n"
    "  OUTDIR/part-NNNNN files of word<TAB>count lines.\n"
    "  --master URL   local, local[N] or local[*] (default: local[*])\n"
    "  --memory SIZE  executor memory budget, e.g. 64m (past it, data spills)\n"
    "  --overwrite    replace an existing OUTDIR\n";

/* Command line options. */
typedef struct options {
    const char *master; /* --master, or NULL for the default. */
    const char *memory; /* --memory, or NULL for the default. */
    int overwrite;      /* --overwrite given. */
    int first_arg;      /* Index in argv of the first positional argument. */
} options_t;

static int is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* flat_map: one (word, int64 1) record per word of the line. */
static int split_words(flow_task_t *t, const flow_rec_t *line, flow_emit_t *out,
                       const flow_buf_t *arg)
{
    const int64_t one = 1;
    if (line->vlen == 0)
        return 0;
    const unsigned char *p = line->val, *end = p + line->vlen;
    while (p < end) {
        while (p < end && is_space(*p))
            p++;
        const unsigned char *w = p;
        while (p < end && !is_space(*p))
            p++;
        if (p > w) {
            int rc = flow_emit_kv(out, w, (size_t)(p - w), &one, sizeof one);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* map_values: the native int64 count as decimal text. */
static int count_to_text(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                         const flow_buf_t *arg)
{
    if (in->vlen != sizeof(int64_t))
        return flow_task_fail(t, 1, "count_to_text: a count of %zu bytes", in->vlen);
    char *s = flow_task_alloc(t, 24);
    if (!s)
        return -1;
    out->val = s;
    out->vlen = (size_t)snprintf(s, 24, "%" PRId64, flow_i64(in->val));
    return 0;
}

/* Parse the options; returns 0, 1 after --help, or -1 on a usage error. */
static int parse_options(int argc, char **argv, options_t *o)
{
    memset(o, 0, sizeof *o);
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "--help") == 0) {
            return 1;
        } else if (strcmp(a, "--overwrite") == 0) {
            o->overwrite = 1;
        } else if (strcmp(a, "--master") == 0 || strcmp(a, "--memory") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "wordcount: %s needs a value\n", a);
                return -1;
            }
            if (strcmp(a, "--master") == 0)
                o->master = argv[++i];
            else
                o->memory = argv[++i];
        } else {
            fprintf(stderr, "wordcount: unknown option %s\n", a);
            return -1;
        }
    }
    o->first_arg = i;
    if (argc - i < 2) {
        fprintf(stderr, "wordcount: expected INPUT... OUTDIR\n");
        return -1;
    }
    return 0;
}

/* Build the job over the inputs and save it into outdir. */
static int count_words(flow_context_t *ctx, char *const *inputs, int ninputs,
                       const char *outdir, int overwrite)
{
    int rc = -1;
    flow_dataset_t **files = calloc((size_t)ninputs, sizeof *files);
    flow_dataset_t *lines = NULL, *ones = NULL, *counts = NULL, *text = NULL;
    if (!files)
        return -1;
    for (int k = 0; k < ninputs; k++)
        if (!(files[k] = flow_dataset_text_file(ctx, inputs[k], 0)))
            goto done;
    if (!(lines = flow_dataset_union_all(files, ninputs)) ||
        !(ones = flow_dataset_flat_map(lines, split_words, NULL, 0)) ||
        !(counts = flow_dataset_combine_builtin(ones, FLOW_SUM_I64, 0)) ||
        !(text = flow_dataset_map_values(counts, count_to_text, NULL, 0)))
        goto done;
    rc = flow_dataset_save_as_text_file(text, outdir, overwrite);
done:
    if (rc < 0)
        fprintf(stderr, "wordcount: %s\n", flow_last_error(ctx));
    for (int k = 0; k < ninputs; k++)
        flow_dataset_destroy(&files[k]);
    flow_dataset_destroy(&lines);
    flow_dataset_destroy(&ones);
    flow_dataset_destroy(&counts);
    flow_dataset_destroy(&text);
    free(files);
    return rc;
}

int main(int argc, char **argv)
{
    options_t o;
    int prc = parse_options(argc, argv, &o);
    if (prc != 0) {
        fputs(usage, prc > 0 ? stdout : stderr);
        return prc > 0 ? 0 : 2;
    }
    char *const *inputs = argv + o.first_arg;
    int ninputs = argc - o.first_arg - 1;
    const char *outdir = argv[argc - 1];
    struct stat st;
    if (!o.overwrite && lstat(outdir, &st) == 0) {
        fprintf(stderr, "wordcount: %s already exists (use --overwrite)\n", outdir);
        return 1;
    }
    uint64_t in_bytes = 0;
    for (int k = 0; k < ninputs; k++)
        if (stat(inputs[k], &st) == 0 && S_ISREG(st.st_mode))
            in_bytes += (uint64_t)st.st_size;

    flow_context_t *ctx = ex_open_context("wordcount", o.master, o.memory);
    if (!ctx)
        return 1;
    double t0 = ex_now();
    int rc = count_words(ctx, inputs, ninputs, outdir, o.overwrite);
    double secs = ex_now() - t0;
    if (rc == 0) {
        flow_stats_t s;
        flow_context_stats(ctx, &s);
        fprintf(stderr,
                "wordcount: master %s, %.3f s, input %" PRIu64 " bytes (%.1f MB/s), "
                "read %" PRIu64 " bytes, %" PRIu64 " tasks\n"
                "wordcount: shuffle written %" PRIu64 " bytes, shuffle read %" PRIu64
                " bytes, spilled %" PRIu64 " bytes\n",
                flow_context_get(ctx, "master"), secs, in_bytes,
                secs > 0 ? (double)in_bytes / secs / 1e6 : 0.0, s.bytes_read, s.tasks,
                s.shuffle_bytes_written, s.shuffle_bytes_read, s.spill_bytes);
    }
    flow_context_destroy(&ctx);
    return rc == 0 ? 0 : 1;
}
