/* exutil.h - what the example programs share: timing, option parsing and a
 * context opened on --master and --memory. Each function that can fail
 * prints why on stderr, after the program's name. */
#ifndef EXUTIL_H
#define EXUTIL_H

#include <stddef.h>

#include <flow.h>

/* Seconds on a monotonic clock. */
double ex_now(void);

/* s as an integer in [lo, 1 << 20], or -1 when it is not one. */
int ex_parse_int(const char *s, int lo);

/* A --storage name (none, memory, memory_ser, memory_and_disk, disk) as a
 * flow_storage_level_t (FLOW_STORAGE_NONE for none), or -1 when unknown. */
int ex_parse_storage(const char *s);
/* The --storage name of a level. */
const char *ex_storage_name(flow_storage_level_t level);

/* Store the value v of option name; 0, or -1 after printing why. */
typedef int ex_set_fn(void *opts, const char *name, const char *v);

/* Parse the options before the positional arguments: "--" ends them,
 * --help returns 1, each of the n names in with_value takes the next
 * argument, handed to set. 0 with *first the index of the first positional
 * argument, or -1 after printing the usage error. */
int ex_parse_options(const char *prog, int argc, char **argv, const char *const *with_value,
                     size_t n, ex_set_fn *set, void *opts, int *first);

/* A started context on master and executor.memory (each NULL: the default);
 * NULL after printing why. */
flow_context_t *ex_open_context(const char *prog, const char *master, const char *memory);

#endif
