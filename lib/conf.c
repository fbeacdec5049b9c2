/* conf.c - configuration: known keys, three layers, validation (see conf.h)
 * Every key libflow understands is a row of the table below: its default, a
 * parser that checks a string value and stores it into a flow__settings_t,
 * what a good value looks like (for messages) and a line of documentation.
 * The file and code layers hold strings, each checked when it arrives; the
 * environment is read with getenv when the configuration is resolved (the
 * variable of a key is FLOW_ + the key in upper case, dots as underscores).
 * Resolving takes, for each key, the value of the highest layer that has it
 * (code, then environment, then file, then the default) and parses it into
 * the settings; a value that loses to a higher layer is never looked at.
 * Last, default.parallelism 0 becomes the number of executors.
 * A configuration file is a JSON object whose members are values (under
 * dotted keys) or objects whose members continue the key, so
 * {"task": {"max_attempts": 3}} and {"task.max_attempts": 3} are the same.
 * Nothing here is process-wide: two flow__conf_t are independent. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "conf.h"
#include "mem.h"

#define MAX_LOCAL_EXECUTORS 4096 /* Largest N of local[N]. */
#define MIN_CHUNK_SIZE 4096      /* Smallest wire.chunk_size. */
#define ENV_NAME_MAX 64          /* Room for the longest FLOW_* variable name. */

/* Check the value s and store it into *out; 0 when good, -1 when bad. */
typedef int conf_parse_fn(const char *s, flow__settings_t *out);

typedef struct conf_key {
    const char *key;      /* Dotted lower-case key. */
    const char *def;      /* Default value, as a string. */
    conf_parse_fn *parse; /* Checks a value and stores it into the settings. */
    const char *expect;   /* What a good value looks like, for messages. */
    const char *doc;      /* One line of documentation. */
} conf_key_t;

/* ---- Values -------------------------------------------------------------- */

/* Read the decimal digits at *sp into *out and advance *sp past them. Fails
 * when there are none or the number is larger than limit. */
static int read_uint(const char **sp, uint64_t limit, uint64_t *out)
{
    const char *s = *sp;
    uint64_t v = 0;

    if (!isdigit((unsigned char)*s))
        return -1;
    for (; isdigit((unsigned char)*s); s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (d > limit || v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *sp = s;
    *out = v;
    return 0;
}

/* Parse a whole string as a decimal int >= min (no sign, no spaces). */
static int parse_int(const char *s, int min, int *out)
{
    uint64_t v;

    if (read_uint(&s, INT_MAX, &v) < 0 || *s != '\0' || v < (uint64_t)min)
        return -1;
    *out = (int)v;
    return 0;
}

int flow__parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *suffix; /* Unit after the digits, compared ignoring case. */
        uint64_t mult;      /* Bytes per unit. */
    } units[] = {
        {"", 1},           {"b", 1},
        {"k", 1ull << 10}, {"kb", 1ull << 10}, {"kib", 1ull << 10},
        {"m", 1ull << 20}, {"mb", 1ull << 20}, {"mib", 1ull << 20},
        {"g", 1ull << 30}, {"gb", 1ull << 30}, {"gib", 1ull << 30},
    };
    uint64_t v;

    if (!s || read_uint(&s, UINT64_MAX, &v) < 0 || v == 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(s, units[i].suffix) != 0)
            continue;
        if (v > UINT64_MAX / units[i].mult)
            return -1;
        *out = v * units[i].mult;
        return 0;
    }
    return -1;
}

/* Number of online cores, between 1 and MAX_LOCAL_EXECUTORS. */
static int online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        return 1;
    return n > MAX_LOCAL_EXECUTORS ? MAX_LOCAL_EXECUTORS : (int)n;
}

static int parse_master(const char *s, flow__settings_t *out)
{
    const char *p = s;
    uint64_t n;

    if (strlen(s) >= sizeof out->master)
        return -1;
    if (strcmp(s, "local") == 0) {
        n = 1;
    } else if (strcmp(s, "local[*]") == 0) {
        n = (uint64_t)online_cores();
    } else {
        if (strncmp(p, "local[", 6) != 0)
            return -1;
        p += 6;
        if (read_uint(&p, MAX_LOCAL_EXECUTORS, &n) < 0 || n == 0 || strcmp(p, "]") != 0)
            return -1;
    }
    out->master_kind = FLOW_MASTER_LOCAL;
    out->executors = (int)n;
    snprintf(out->master, sizeof out->master, "%s", s);
    return 0;
}

static int parse_app_name(const char *s, flow__settings_t *out)
{
    if (strlen(s) >= sizeof out->app_name)
        return -1;
    snprintf(out->app_name, sizeof out->app_name, "%s", s);
    return 0;
}

static int parse_parallelism(const char *s, flow__settings_t *out)
{
    return parse_int(s, 0, &out->default_parallelism);
}

static int parse_max_attempts(const char *s, flow__settings_t *out)
{
    return parse_int(s, 1, &out->max_attempts);
}

static int parse_split_size(const char *s, flow__settings_t *out)
{
    return flow__parse_size(s, &out->split_size);
}

static int parse_chunk_size(const char *s, flow__settings_t *out)
{
    uint64_t v;

    if (flow__parse_size(s, &v) < 0 || v < MIN_CHUNK_SIZE)
        return -1;
    out->chunk_size = v;
    return 0;
}

static int parse_tasks_in_flight(const char *s, flow__settings_t *out)
{
    return parse_int(s, 1, &out->tasks_in_flight);
}

static int parse_log_level(const char *s, flow__settings_t *out)
{
    static const char *const names[] = {
        [FLOW_LOG_ERROR] = "error", [FLOW_LOG_WARN] = "warn",
        [FLOW_LOG_INFO] = "info",   [FLOW_LOG_DEBUG] = "debug",
    };

    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
        if (strcasecmp(s, names[i]) == 0) {
            out->log_level = i;
            return 0;
        }
    }
    return -1;
}

static int parse_executor_memory(const char *s, flow__settings_t *out)
{
    uint64_t v;

    if (flow__parse_size(s, &v) < 0 || v < (1u << 20))
        return -1;
    out->executor_memory = v;
    return 0;
}

static int parse_local_dir(const char *s, flow__settings_t *out)
{
    if (strlen(s) >= sizeof out->local_dir)
        return -1;
    snprintf(out->local_dir, sizeof out->local_dir, "%s", s);
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0) {
        *out = 1;
        return 0;
    }
    if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    return -1;
}

static int parse_shuffle_compress(const char *s, flow__settings_t *out)
{
    return parse_bool(s, &out->shuffle_compress);
}

static int parse_broadcast_threshold(const char *s, flow__settings_t *out)
{
    uint64_t v;

    if (strcmp(s, "0") == 0) {
        out->broadcast_threshold = 0;
        return 0;
    }
    if (flow__parse_size(s, &v) < 0)
        return -1;
    out->broadcast_threshold = v;
    return 0;
}

/* A number from 0 to 1 into *out. */
static int parse_fraction(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0.0 && v <= 1.0))
        return -1;
    *out = v;
    return 0;
}

static int parse_storage_fraction(const char *s, flow__settings_t *out)
{
    return parse_fraction(s, &out->storage_fraction);
}

static int parse_shuffle_fraction(const char *s, flow__settings_t *out)
{
    return parse_fraction(s, &out->shuffle_fraction);
}

static int parse_checkpoint_dir(const char *s, flow__settings_t *out)
{
    if (strlen(s) >= sizeof out->checkpoint_dir)
        return -1;
    snprintf(out->checkpoint_dir, sizeof out->checkpoint_dir, "%s", s);
    return 0;
}

/* ---- Keys ---------------------------------------------------------------- */

static const conf_key_t keys[] = {
    {"master", "local[*]", parse_master, "expected local, local[N] or local[*]",
     "Where tasks run: local (one executor thread), local[N] (N threads, "
     "1 to 4096) or local[*] (one thread per core)."},
    {"app.name", "libflow", parse_app_name, "expected at most 127 bytes",
     "Name of the application, for logs."},
    {"default.parallelism", "0", parse_parallelism,
     "expected an integer >= 0 (0: chosen per dataset)",
     "Partitions of a dataset when none is asked for. 0: a source gets one per executor, and a "
     "shuffle as many as the largest of its inputs (as Spark does)."},
    {"task.max_attempts", "4", parse_max_attempts, "expected an integer >= 1",
     "Attempts per task before its job fails."},
    {"text.split_size", "128m", parse_split_size,
     "expected a size >= 1 in bytes, or with a k, m or g suffix",
     "Bytes of a text file read by one task."},
    {"wire.chunk_size", "1m", parse_chunk_size,
     "expected a size >= 4k in bytes, or with a k, m or g suffix",
     "Largest payload of one wire message."},
    {"executor.tasks_in_flight", "2", parse_tasks_in_flight,
     "expected an integer >= 1", "Tasks sent ahead to each executor slot."},
    {"log.level", "warn", parse_log_level, "expected error, warn, info or debug",
     "Least severe level of the log lines that are kept."},
    {"executor.memory", "512m", parse_executor_memory,
     "expected a size >= 1m in bytes, or with a k, m or g suffix",
     "Memory budget of one executor, shared by cached partitions, shuffle outputs "
     "held in memory and the buffers of aggregation, sorting and joins; past it, "
     "blocks are evicted and data spills to local.dir."},
    {"memory.storage_fraction", "0.5", parse_storage_fraction,
     "expected a number from 0 to 1",
     "Share of executor.memory where cached blocks are safe from eviction by "
     "running aggregations and sorts (they may still evict each other)."},
    {"memory.shuffle_fraction", "0.0625", parse_shuffle_fraction,
     "expected a number from 0 to 1",
     "Share of executor.memory that shuffle map outputs may hold; later outputs "
     "are written to local.dir, so that a job's resident memory does not grow "
     "with its input."},
    {"checkpoint.dir", "", parse_checkpoint_dir, "expected a path of at most 255 bytes",
     "Directory for checkpoints; empty: the context's directory under local.dir "
     "(removed with the context)."},
    {"local.dir", "/tmp", parse_local_dir, "expected a path of at most 255 bytes",
     "Directory for spill files and shuffle outputs on disk."},
    {"shuffle.compress", "false", parse_shuffle_compress, "expected true or false",
     "Compress shuffle map outputs with LZ4, in memory and on disk (spills of "
     "sorts and aggregations always are)."},
    {"join.broadcast_threshold", "10m", parse_broadcast_threshold,
     "expected a size in bytes, or with a k, m or g suffix (0 disables)",
     "Joins whose smaller side is estimated below this size broadcast it "
     "instead of shuffling both sides."},
};

#define NKEYS (sizeof keys / sizeof keys[0])

static const conf_key_t *find_key(const char *key)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

/* Write the environment variable of key into out: FLOW_ + upper case, with
 * dots as underscores (task.max_attempts -> FLOW_TASK_MAX_ATTEMPTS). */
static const char *env_name(const char *key, char out[ENV_NAME_MAX])
{
    size_t n = 5;

    memcpy(out, "FLOW_", n);
    for (; *key && n + 1 < ENV_NAME_MAX; key++)
        out[n++] = *key == '.' ? '_' : (char)toupper((unsigned char)*key);
    out[n] = '\0';
    return out;
}

/* Record that value is bad for k; env names the variable it came from, or
 * is NULL. Returns FLOW_EINVAL. */
static int bad_value(flow__err_t *err, const conf_key_t *k, const char *value,
                     const char *env)
{
    if (k->parse == parse_master && env)
        return flow__err_set(err, FLOW_EINVAL, "bad master URL '%s' in %s: %s", value,
                             env, k->expect);
    if (k->parse == parse_master)
        return flow__err_set(err, FLOW_EINVAL, "bad master URL '%s': %s", value,
                             k->expect);
    if (env)
        return flow__err_set(err, FLOW_EINVAL, "bad value '%s' for %s (%s): %s", value,
                             env, k->key, k->expect);
    return flow__err_set(err, FLOW_EINVAL, "bad value '%s' for %s: %s", value, k->key,
                         k->expect);
}

/* Check that key is known and value is good for it. */
static int check_value(const char *key, const char *value, flow__err_t *err)
{
    const conf_key_t *k = find_key(key);
    flow__settings_t scratch;

    if (!k)
        return flow__err_set(err, FLOW_EINVAL, "unknown configuration key '%s'", key);
    if (k->parse(value, &scratch) < 0)
        return bad_value(err, k, value, NULL);
    return FLOW_OK;
}

/* ---- Layers -------------------------------------------------------------- */

static flow__conf_entry_t *layer_find(flow__conf_entry_t *e, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(e[i].key, key) == 0)
            return &e[i];
    return NULL;
}

/* Set key to value in a layer, replacing an earlier value of key. */
static void layer_put(flow__conf_entry_t **ep, int *np, const char *key,
                      const char *value, const char *where)
{
    flow__conf_entry_t *e = layer_find(*ep, *np, key);

    if (e) {
        flow__free(e->value);
        flow__free(e->where);
    } else {
        *ep = flow__realloc(*ep, (size_t)(*np + 1) * sizeof **ep);
        e = &(*ep)[(*np)++];
        e->key = flow__strdup(key);
    }
    e->value = flow__strdup(value);
    e->where = flow__strdup(where);
}

static void layer_free(flow__conf_entry_t **ep, int *np)
{
    for (int i = 0; i < *np; i++) {
        flow__free((*ep)[i].key);
        flow__free((*ep)[i].value);
        flow__free((*ep)[i].where);
    }
    flow__free(*ep);
    *ep = NULL;
    *np = 0;
}

/* The value of k that wins, and where it comes from. */
typedef struct conf_value {
    const char *value; /* The string value. */
    const char *env;   /* The environment variable it came from, or NULL. */
    const char *file;  /* The file it came from, or NULL. */
} conf_value_t;

static conf_value_t effective(const flow__conf_t *c, const conf_key_t *k,
                              char env[ENV_NAME_MAX])
{
    conf_value_t v = {k->def, NULL, NULL};
    const flow__conf_entry_t *e;
    const char *s;

    if ((e = layer_find(c->code, c->ncode, k->key))) {
        v.value = e->value;
    } else if ((s = getenv(env_name(k->key, env)))) {
        v.value = s;
        v.env = env;
    } else if ((e = layer_find(c->file, c->nfile, k->key))) {
        v.value = e->value;
        v.file = e->where;
    }
    return v;
}

/* ---- Configuration files ------------------------------------------------- */

/* Read the whole file at path into *out, NUL-terminated (the NUL is counted
 * in out->len). */
static int read_file(const char *path, flow__wbuf_t *out, flow__err_t *err)
{
    FILE *f = fopen(path, "rb");
    size_t got;

    if (!f)
        return flow__err_set(err, FLOW_EIO, "cannot open configuration file '%s': %s",
                             path, strerror(errno));
    flow__wbuf_init(out);
    do {
        flow__wbuf_reserve(out, 4096);
        got = fread(out->data + out->len, 1, out->cap - out->len, f);
        out->len += got;
    } while (got > 0);
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        flow__wbuf_free(out);
        return flow__err_set(err, FLOW_EIO, "cannot read configuration file '%s': %s",
                             path, strerror(e));
    }
    fclose(f);
    flow__wbuf_u8(out, 0);
    return FLOW_OK;
}

/* Record a JSON syntax error at pos in text (len bytes without the NUL),
 * with its line, column and the text around it on its line (cJSON's position
 * can be a byte past the culprit, so a few bytes before it are shown too).
 * Returns FLOW_EINVAL. */
static int json_error(const char *path, const char *text, size_t len, const char *pos,
                      flow__err_t *err)
{
    size_t off = pos && pos >= text ? (size_t)(pos - text) : 0, from = off;
    int line = 1, col = 1;
    char near[40];
    size_t n = 0;

    if (off >= len)
        return flow__err_set(err, FLOW_EINVAL,
                             "%s: JSON syntax error: unexpected end of file at byte %zu",
                             path, len);
    for (size_t i = 0; i < off; i++, col++)
        if (text[i] == '\n')
            line++, col = 0;
    while (from > 0 && off - from < 8 && text[from - 1] != '\n')
        from--;
    for (; n + 1 < sizeof near && from + n < len && text[from + n] != '\n'; n++)
        near[n] = isprint((unsigned char)text[from + n]) ? text[from + n] : ' ';
    near[n] = '\0';
    return flow__err_set(err, FLOW_EINVAL,
                         "%s: JSON syntax error at byte %zu (line %d, column %d) "
                         "near '%s'",
                         path, off, line, col, near);
}

/* Parse text (len bytes, the last one the NUL) as a JSON object. */
static int parse_json(const char *path, const char *text, size_t len, cJSON **out,
                      flow__err_t *err)
{
    const char *end = NULL;

    if (memchr(text, '\0', len - 1))
        return flow__err_set(err, FLOW_EINVAL, "%s: not JSON (the file has a NUL byte)",
                             path);
    *out = cJSON_ParseWithLengthOpts(text, len, &end, 1);
    if (!*out)
        return json_error(path, text, len - 1, end, err);
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return flow__err_set(err, FLOW_EINVAL,
                             "%s: expected a JSON object of settings at the top level",
                             path);
    }
    return FLOW_OK;
}

/* The string form of a JSON scalar (num holds a number's text), or NULL when v
 * is not a string, number or boolean. Integers are printed without decimals. */
static const char *json_scalar(const cJSON *v, char *num, size_t len)
{
    double d = v->valuedouble;

    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "true" : "false";
    if (!cJSON_IsNumber(v))
        return NULL;
    if (d >= -9e15 && d <= 9e15 && d == (double)(long long)d)
        snprintf(num, len, "%lld", (long long)d);
    else
        snprintf(num, len, "%.15g", d);
    return num;
}

/* Check one member of a configuration file and add it to the layer. */
static int load_value(const cJSON *v, const char *key, const char *path,
                      flow__conf_entry_t **ep, int *np, flow__err_t *err)
{
    char num[64];
    const char *s;

    if (!find_key(key))
        return flow__err_set(err, FLOW_EINVAL, "%s: unknown configuration key '%s'",
                             path, key);
    if (!(s = json_scalar(v, num, sizeof num)))
        return flow__err_set(err, FLOW_EINVAL,
                             "%s: bad value for %s: expected a string, number or boolean",
                             path, key);
    if (check_value(key, s, err) < 0) {
        flow__err_prefix(err, "%s", path);
        return FLOW_EINVAL;
    }
    layer_put(ep, np, key, s, path);
    return FLOW_OK;
}

/* Add the members of obj to the layer; prefix (or NULL) and a dot go before
 * their names. */
static int load_object(const cJSON *obj, const char *prefix, const char *path,
                       flow__conf_entry_t **ep, int *np, flow__err_t *err)
{
    const cJSON *m;
    int rc = FLOW_OK;

    cJSON_ArrayForEach(m, obj) {
        char *key = prefix ? flow__asprintf("%s.%s", prefix, m->string)
                           : flow__strdup(m->string);
        if (cJSON_IsObject(m))
            rc = load_object(m, key, path, ep, np, err);
        else
            rc = load_value(m, key, path, ep, np, err);
        flow__free(key);
        if (rc < 0)
            break;
    }
    return rc;
}

/* ---- Interface ----------------------------------------------------------- */

void flow__conf_init(flow__conf_t *c)
{
    memset(c, 0, sizeof *c);
}

void flow__conf_free(flow__conf_t *c)
{
    layer_free(&c->file, &c->nfile);
    layer_free(&c->code, &c->ncode);
}

int flow__conf_set(flow__conf_t *c, const char *key, const char *value, flow__err_t *err)
{
    int rc;

    assert(c && key && value);
    if ((rc = check_value(key, value, err)) < 0)
        return rc;
    layer_put(&c->code, &c->ncode, key, value, "code");
    return FLOW_OK;
}

int flow__conf_load_file(flow__conf_t *c, const char *path, flow__err_t *err)
{
    flow__conf_entry_t *layer = NULL;
    int n = 0, rc;
    flow__wbuf_t text;
    cJSON *root;

    assert(c && path);
    if ((rc = read_file(path, &text, err)) < 0)
        return rc;
    rc = parse_json(path, (const char *)text.data, text.len, &root, err);
    flow__wbuf_free(&text);
    if (rc < 0)
        return rc;
    rc = load_object(root, NULL, path, &layer, &n, err);
    cJSON_Delete(root);
    if (rc < 0) {
        layer_free(&layer, &n);
        return rc;
    }
    layer_free(&c->file, &c->nfile);
    c->file = layer;
    c->nfile = n;
    return FLOW_OK;
}

int flow__conf_resolve(const flow__conf_t *c, flow__settings_t *out, flow__err_t *err)
{
    flow__settings_t s;

    memset(&s, 0, sizeof s);
    for (size_t i = 0; i < NKEYS; i++) {
        char env[ENV_NAME_MAX];
        conf_value_t v = effective(c, &keys[i], env);
        if (keys[i].parse(v.value, &s) == 0)
            continue;
        bad_value(err, &keys[i], v.value, v.env);
        if (v.file)
            flow__err_prefix(err, "%s", v.file);
        return FLOW_EINVAL;
    }
    s.parallelism_set = s.default_parallelism != 0;
    if (s.default_parallelism == 0)
        s.default_parallelism = s.executors;
    *out = s;
    return FLOW_OK;
}

int flow__conf_get(const flow__conf_t *c, const char *key, char *buf, size_t len)
{
    const conf_key_t *k = find_key(key);
    char env[ENV_NAME_MAX];

    if (!k)
        return FLOW_EINVAL;
    snprintf(buf, len, "%s", effective(c, k, env).value);
    return FLOW_OK;
}
