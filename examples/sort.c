/* sort - sort the lines of a text file bytewise
 *
 *   sort [--master URL] [--memory SIZE] [--partitions N] [--overwrite] INPUT OUTDIR
 *
 * Writes OUTDIR/part-NNNNN files whose concatenation in name order is the
 * lines of INPUT sorted bytewise (as LC_ALL=C sort), duplicates kept, each
 * line ending in '\n', and an OUTDIR/_SUCCESS marker. Lines are as text_file
 * reads them: a '\r' right before a '\n' is dropped.
 *
 * The job: text_file, map each line to (line, empty value) (key_by would keep
 * the line as the value too and shuffle it twice), sort_by_key (a sampling job
 * picks range bounds first, so partition i holds the lines below partition
 * i+1's), keys (each record back to just the line), save_as_text_file.
 * --partitions sets the number of output partitions (default: one per
 * executor); --memory sets executor.memory, past which the sort spills to
 * local.dir. An existing OUTDIR is an error unless --overwrite. Prints the
 * wall time, the input size and the engine's shuffle and spill counters on
 * stderr. */
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
    "usage: sort [--master URL] [--memory SIZE] [--partitions N] [--overwrite] INPUT OUTDIR\n"
    "  Sort the lines of INPUT bytewise into OUTDIR/part-NNNNN files (read them\n"
    "  in name order).\n"
    "  --master URL     local, local[N] or local[*] (default: local[*])\n"
    "  --memory SIZE    executor memory budget, e.g. 64m (past it, data spills)\n"
    "  --partitions N   output partitions (default: one per executor)\n"
    "  --overwrite      replace an existing OUTDIR\n";

/* Command line options. */
typedef struct options {
    const char *master; /* --master, or NULL for the default. */
    const char *memory; /* --memory, or NULL for the default. */
    int partitions;     /* --partitions, or 0 for the default. */
    int overwrite;      /* --overwrite given. */
    int first_arg;      /* Index in argv of the first positional argument. */
} options_t;

/* map: the line becomes the key (an empty line an empty key), the value empty. */
static int line_as_key(flow_task_t *t, const flow_rec_t *in, flow_rec_t *out,
                       const flow_buf_t *arg)
{
    out->key = in->vlen ? in->val : "";
    out->klen = in->vlen;
    out->val = "";
    out->vlen = 0;
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
        } else if (strcmp(a, "--master") == 0 || strcmp(a, "--memory") == 0 ||
                   strcmp(a, "--partitions") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "sort: %s needs a value\n", a);
                return -1;
            }
            const char *v = argv[++i];
            if (strcmp(a, "--master") == 0) {
                o->master = v;
            } else if (strcmp(a, "--memory") == 0) {
                o->memory = v;
            } else if ((o->partitions = ex_parse_int(v, 1)) < 0) {
                fprintf(stderr, "sort: --partitions: expected 1 to %ld, not '%s'\n",
                        1L << 20, v);
                return -1;
            }
        } else {
            fprintf(stderr, "sort: unknown option %s\n", a);
            return -1;
        }
    }
    o->first_arg = i;
    if (argc - i != 2) {
        fprintf(stderr, "sort: expected INPUT OUTDIR\n");
        return -1;
    }
    return 0;
}

/* Build the job over input and save it into outdir. */
static int sort_lines(flow_context_t *ctx, const char *input, const char *outdir,
                      const options_t *o)
{
    int rc = -1;
    flow_dataset_t *lines = NULL, *keyed = NULL, *sorted = NULL, *out = NULL;
    if (!(lines = flow_dataset_text_file(ctx, input, 0)) ||
        !(keyed = flow_dataset_map(lines, line_as_key, NULL, 0)) ||
        !(sorted = flow_dataset_sort_by_key(keyed, 1, NULL, NULL, 0, o->partitions)) ||
        !(out = flow_dataset_keys(sorted)))
        goto done;
    rc = flow_dataset_save_as_text_file(out, outdir, o->overwrite);
done:
    if (rc < 0)
        fprintf(stderr, "sort: %s\n", flow_last_error(ctx));
    flow_dataset_destroy(&lines);
    flow_dataset_destroy(&keyed);
    flow_dataset_destroy(&sorted);
    flow_dataset_destroy(&out);
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
    const char *input = argv[o.first_arg], *outdir = argv[o.first_arg + 1];
    struct stat st;
    if (!o.overwrite && lstat(outdir, &st) == 0) {
        fprintf(stderr, "sort: %s already exists (use --overwrite)\n", outdir);
        return 1;
    }
    uint64_t in_bytes = stat(input, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;

    flow_context_t *ctx = ex_open_context("sort", o.master, o.memory);
    if (!ctx)
        return 1;
    double t0 = ex_now();
    int rc = sort_lines(ctx, input, outdir, &o);
    double secs = ex_now() - t0;
    if (rc == 0) {
        flow_stats_t s;
        flow_context_stats(ctx, &s);
        fprintf(stderr,
                "sort: master %s, %.3f s, input %" PRIu64 " bytes (%.1f MB/s), "
                "read %" PRIu64 " bytes, %" PRIu64 " tasks\n"
                "sort: shuffle written %" PRIu64 " bytes, shuffle read %" PRIu64
                " bytes, spilled %" PRIu64 " bytes\n",
                flow_context_get(ctx, "master"), secs, in_bytes,
                secs > 0 ? (double)in_bytes / secs / 1e6 : 0.0, s.bytes_read, s.tasks,
                s.shuffle_bytes_written, s.shuffle_bytes_read, s.spill_bytes);
    }
    flow_context_destroy(&ctx);
    return rc == 0 ? 0 : 1;
}
