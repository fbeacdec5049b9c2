/* exutil.c - what the example programs share (see exutil.h) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exutil.h"

double ex_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int ex_parse_int(const char *s, int lo)
{
    char *end;
    long v = strtol(s, &end, 10);
    return end != s && *end == '\0' && v >= lo && v <= (1L << 20) ? (int)v : -1;
}

/* The --storage names, in the order of flow_storage_level_t. */
static const char *const storage_names[] = {"none", "memory", "memory_ser",
                                            "memory_and_disk", "disk"};

const char *ex_storage_name(flow_storage_level_t level)
{
    size_t i = (size_t)level;
    return i < sizeof storage_names / sizeof storage_names[0] ? storage_names[i] : "?";
}

int ex_parse_storage(const char *s)
{
    for (int i = 0; i < (int)(sizeof storage_names / sizeof storage_names[0]); i++)
        if (strcmp(s, storage_names[i]) == 0)
            return i;
    return -1;
}

int ex_parse_options(const char *prog, int argc, char **argv, const char *const *with_value,
                     size_t n, ex_set_fn *set, void *opts, int *first)
{
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i];
        int known = 0;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--help") == 0)
            return 1;
        for (size_t k = 0; k < n; k++)
            known |= strcmp(a, with_value[k]) == 0;
        if (!known) {
            fprintf(stderr, "%s: unknown option %s\n", prog, a);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\n", prog, a);
            return -1;
        }
        if (set(opts, a, argv[++i]) < 0)
            return -1;
    }
    *first = i;
    return 0;
}

flow_context_t *ex_open_context(const char *prog, const char *master, const char *memory)
{
    flow_context_t *ctx = flow_context_new();
    if (!ctx) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return NULL;
    }
    if ((master && flow_context_set(ctx, "master", master) < 0) ||
        (memory && flow_context_set(ctx, "executor.memory", memory) < 0) ||
        flow_context_start(ctx) < 0) {
        fprintf(stderr, "%s: %s\n", prog, flow_last_error(ctx));
        flow_context_destroy(&ctx);
    }
    return ctx;
}
