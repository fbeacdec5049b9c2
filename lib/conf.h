/* conf.h - configuration: keys, values, layering
 * A flow__conf_t holds three layers of string settings: from a JSON file,
 * from the environment, and from code. flow__conf_resolve merges them over the
 * defaults (code wins over environment, which wins over the file), validates
 * every value and fills a flow__settings_t of typed values.
 * Keys (dotted, lower case) and their environment variables (FLOW_ + upper
 * case, dots as underscores):
 *   master                 local | local[N] | local[*]      default local[*]
 *   app.name               any string                        default "libflow"
 *   default.parallelism    int >= 1, or 0 for the slots      default 0
 *   task.max_attempts      int >= 1                          default 4
 *   text.split_size        size >= 1 (k, m, g suffixes)      default 128m
 *   wire.chunk_size        size >= 4k                        default 1m
 *   executor.tasks_in_flight  int >= 1                       default 2
 *   log.level              error | warn | info | debug       default warn
 *   executor.memory        size >= 1m                        default 512m
 *   local.dir              path                              default /tmp
 *   shuffle.compress       true | false                      default false
 *   join.broadcast_threshold  size, or 0 to disable          default 10m
 * Call order: conf_init -> (conf_set | conf_load_file)* -> conf_resolve ->
 *             conf_free. */
#ifndef FLOW_CONF_H
#define FLOW_CONF_H

#include "err.h"

enum { FLOW_LOG_ERROR = 0, FLOW_LOG_WARN = 1, FLOW_LOG_INFO = 2, FLOW_LOG_DEBUG = 3 };

enum { FLOW_MASTER_LOCAL = 1 };

typedef struct flow__settings {
    int master_kind;         /* FLOW_MASTER_LOCAL. */
    int executors;           /* Executor threads for local modes (local[*]: cores). */
    char master[256];        /* The master URL as given. */
    char app_name[128];      /* Application name. */
    int default_parallelism; /* Partitions when none is asked for (>= 1). */
    int parallelism_set;     /* default.parallelism was given (not 0): shuffles take it
                              * too; else they take their parents' largest count. */
    int max_attempts;        /* Attempts per task before the job fails. */
    uint64_t split_size;     /* Text split size in bytes. */
    uint64_t chunk_size;     /* Largest wire message payload in bytes. */
    int tasks_in_flight;     /* Tasks sent ahead to each executor slot. */
    int log_level;           /* FLOW_LOG_*. */
    uint64_t executor_memory; /* Memory budget of one executor in bytes. */
    char local_dir[256];     /* Spill and shuffle directory. */
    int shuffle_compress;    /* Compress in-memory shuffle blocks. */
    uint64_t broadcast_threshold; /* Broadcast join below this size; 0: never. */
    double storage_fraction;  /* Share of executor.memory protected for cached blocks. */
    double shuffle_fraction;  /* Share of executor.memory new map outputs may hold. */
    char checkpoint_dir[256]; /* Where checkpoints go ("": the context's work dir). */
} flow__settings_t;

typedef struct flow__conf_entry {
    char *key;   /* Dotted key. */
    char *value; /* Value as a string. */
    char *where; /* Where it came from, for messages ("conf.json", "FLOW_MASTER"). */
} flow__conf_entry_t;

typedef struct flow__conf {
    flow__conf_entry_t *file; /* Settings from flow__conf_load_file. */
    int nfile;
    flow__conf_entry_t *code; /* Settings from flow__conf_set. */
    int ncode;
} flow__conf_t;

void flow__conf_init(flow__conf_t *c);
void flow__conf_free(flow__conf_t *c);
/* Set key from code. Unknown key or bad value: FLOW_EINVAL naming them. */
int flow__conf_set(flow__conf_t *c, const char *key, const char *value, flow__err_t *err);
/* Load a JSON file into the file layer (replacing an earlier one's keys).
 * Errors name the file, and the key or the JSON parse position. */
int flow__conf_load_file(flow__conf_t *c, const char *path, flow__err_t *err);
/* Defaults <- file <- environment <- code, validated, into *out. */
int flow__conf_resolve(const flow__conf_t *c, flow__settings_t *out, flow__err_t *err);
/* The effective value of key as a string after resolve, written into buf. */
int flow__conf_get(const flow__conf_t *c, const char *key, char *buf, size_t len);
/* Parse "64m", "1g", "4096" into bytes; -1 when malformed or zero. */
int flow__parse_size(const char *s, uint64_t *out);

#endif
