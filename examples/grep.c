/* grep - count the lines of text files that contain a string
 *
 *   grep [--master URL] [--runs N] PATTERN INPUT...
 *
 * A text_file + filter + count job: the filter's argument is the pattern,
 * copied into the plan, so the UDF finds it in its argument on whatever
 * executor runs it. Prints the count, then the wall time and throughput of
 * each run (and the median) on stderr. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

#include "exutil.h"

static int contains(flow_task_t *t, const flow_rec_t *line, const flow_buf_t *pattern)
{
    return memmem(line->val, line->vlen, pattern->data, pattern->len) != NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *master = NULL;
    int runs = 1, i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (i + 1 >= argc)
            break;
        if (strcmp(argv[i], "--master") == 0)
            master = argv[i + 1];
        else if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
    }
    if (argc - i < 2 || runs < 1 || runs > 100) {
        fprintf(stderr, "usage: grep [--master URL] [--runs N] PATTERN INPUT...\n");
        return 2;
    }
    const char *pattern = argv[i++];
    char *err = NULL;
    flow_context_t *ctx = flow_context_open(master, &err);
    if (!ctx) {
        fprintf(stderr, "grep: %s\n", err);
        flow_free(err);
        return 1;
    }
    int ninputs = argc - i;
    flow_dataset_t **files = calloc((size_t)ninputs, sizeof *files);
    for (int k = 0; k < ninputs; k++)
        if (!(files[k] = flow_dataset_text_file(ctx, argv[i + k], 0))) {
            fprintf(stderr, "grep: %s\n", flow_last_error(ctx));
            return 1;
        }
    flow_dataset_t *lines = flow_dataset_union_all(files, ninputs);
    flow_dataset_t *hits = flow_dataset_filter(lines, contains, pattern, strlen(pattern));
    double *secs = calloc((size_t)runs, sizeof *secs);
    uint64_t n = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = ex_now();
        if (flow_dataset_count(hits, &n) < 0) {
            fprintf(stderr, "grep: %s\n", flow_last_error(ctx));
            return 1;
        }
        secs[r] = ex_now() - t0;
    }
    qsort(secs, (size_t)runs, sizeof *secs, cmp_double);
    printf("%llu\n", (unsigned long long)n);
    fprintf(stderr, "grep: %d partitions, master %s, median of %d runs: %.3f s\n",
            flow_dataset_npartitions(lines), flow_context_get(ctx, "master"), runs,
            secs[runs / 2]);
    free(secs);
    free(files);
    flow_context_destroy(&ctx);
    return 0;
}
