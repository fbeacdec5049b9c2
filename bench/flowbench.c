/* flowbench - libflow's benchmark suite
 *
 *   flowbench                      the default suite, small sizes, default master
 *   flowbench list                 the workloads, a line each
 *   flowbench run NAME... [--size SIZE] [--master URL] [--runs N] [--json FILE]
 *                 [--data-dir DIR] [--scale N1,N2,...]
 *   flowbench gen NAME --size SIZE --out DIR
 *
 * Every figure comes from a checked run: each measurement runs the workload on
 * libflow and its single-threaded C baseline, compares their answer digests,
 * and fails with a non-zero exit when they differ. A measurement runs in a
 * child process (this binary started again, never forked), so that its peak
 * resident memory is its own (wait4's ru_maxrss): one warm-up run, then the
 * timed runs, whose median is reported.
 *
 * Inputs are generated once per (workload, size) into the data directory
 * (default data/flowbench) and reused while the checksum recorded at
 * generation still matches the files. FLOWBENCH_WRONG_ANSWER=1 (a test-only
 * switch) makes every engine run drop a record, to prove the check works. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "flow_git_rev.h" /* FLOW_GIT_REV, written at build time. */
#include "flowbench.h"

extern char **environ;

#define FB_WORKLOADS(X)                                                                \
    X(grep) X(wordcount) X(sort) X(aggregation) X(join) X(pagerank) X(kmeans) X(cache_reuse)
#define FB_DECLARE(n) extern const fb_workload_t fb_wl_##n;
FB_WORKLOADS(FB_DECLARE)
#define FB_ENTRY(n) &fb_wl_##n,
static const fb_workload_t *const workloads[] = {FB_WORKLOADS(FB_ENTRY)};
#define NWORKLOADS (sizeof workloads / sizeof workloads[0])

#define MAX_RUNS 50

typedef struct options {
    const char *names[NWORKLOADS]; /* Workloads asked for. */
    int nnames;                    /* Their number. */
    uint64_t size;                 /* Input size; 0: each workload's default. */
    const char *master;            /* Master URL; NULL: libflow's default. */
    int runs;                      /* Timed runs per measurement. */
    const char *json;              /* --json output file, or NULL. */
    const char *data_dir;          /* Where inputs are cached. */
    int scale[16];                 /* --scale executor counts. */
    int nscale;                    /* Their number. */
} options_t;

/* One measurement: a workload on the engine (at a master) or its baseline. */
typedef struct measure {
    int ok;                    /* The child ran and reported. */
    double secs[MAX_RUNS];     /* Wall time of each timed run. */
    int nsecs;                 /* Their number. */
    double median;             /* Median of secs. */
    fb_answer_t answer;        /* The answer of the last run. */
    fb_counters_t cnt;         /* Input counters. */
    flow_stats_t stats;        /* Engine counters of the last run. */
    long peak_rss_kb;          /* Peak resident memory of the child. */
    char error[512];           /* Why it failed. */
} measure_t;

static int tty;

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
    if (!tty)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mult = 1;
    switch (*end) {
    case 'k': case 'K': mult = 1ull << 10; end++; break;
    case 'm': case 'M': mult = 1ull << 20; end++; break;
    case 'g': case 'G': mult = 1ull << 30; end++; break;
    default: break;
    }
    if (end == s || *end || errno || v == 0 || v > UINT64_MAX / mult)
        return -1;
    *out = v * mult;
    return 0;
}

static void format_size(uint64_t n, char *buf, size_t len)
{
    if (n % (1ull << 30) == 0)
        snprintf(buf, len, "%llug", (unsigned long long)(n >> 30));
    else if (n % (1ull << 20) == 0)
        snprintf(buf, len, "%llum", (unsigned long long)(n >> 20));
    else if (n % (1ull << 10) == 0)
        snprintf(buf, len, "%lluk", (unsigned long long)(n >> 10));
    else
        snprintf(buf, len, "%llu", (unsigned long long)n);
}

static const fb_workload_t *find_workload(const char *name)
{
    for (size_t i = 0; i < NWORKLOADS; i++)
        if (strcmp(workloads[i]->name, name) == 0)
            return workloads[i];
    return NULL;
}

/* ---- Input data, generated once and checked by checksum ---------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hash a file's name and contents with read(2) into a small buffer: mapping
 * it would raise this process's peak resident memory, which a measuring
 * child started with posix_spawn (vfork) reports as its own. */
static int hash_file(XXH3_state_t *st, const char *path, const char *name, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    static char buf[1 << 20];
    size_t n;
    XXH3_64bits_update(st, name, strlen(name) + 1);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        XXH3_64bits_update(st, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        snprintf(err, errlen, "%s: read error", path);
    return bad ? -1 : 0;
}

/* XXH3 over the names and contents of a directory's files, in name order. */
static int dir_checksum(const char *dir, uint64_t *out, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    char *names[4096];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (rc == 0)
            rc = hash_file(&st, path, names[i], err, errlen);
        free(names[i]);
    }
    *out = XXH3_64bits_digest(&st);
    return rc;
}

static int mkdirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static void remove_dir_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

/* Make sure dir holds the workload's input for size: reuse it when the
 * recorded checksum matches, else generate it afresh. */
static int ensure_input(const fb_workload_t *w, uint64_t size, const char *dir, char *err,
                        size_t errlen)
{
    char sumfile[4200];
    snprintf(sumfile, sizeof sumfile, "%s.checksum", dir);
    FILE *f = fopen(sumfile, "r");
    unsigned long long want = 0;
    int have = f && fscanf(f, "%llx", &want) == 1;
    if (f)
        fclose(f);
    uint64_t got;
    if (have) {
        progress("%s: checking cached input %s", w->name, dir);
        if (dir_checksum(dir, &got, err, errlen) == 0 && got == want)
            return 0;
    }
    progress("%s: generating input in %s", w->name, dir);
    if (mkdirs(dir) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    remove_dir_files(dir);
    unlink(sumfile);
    if (w->gen(dir, size, err, errlen) < 0 || dir_checksum(dir, &got, err, errlen) < 0)
        return -1;
    if (!(f = fopen(sumfile, "w"))) {
        snprintf(err, errlen, "%s: %s", sumfile, strerror(errno));
        return -1;
    }
    fprintf(f, "%016llx\n", (unsigned long long)got);
    fclose(f);
    return 0;
}

static void input_dir(const options_t *o, const fb_workload_t *w, uint64_t size, char *out,
                      size_t len)
{
    char sz[32];
    format_size(size, sz, sizeof sz);
    snprintf(out, len, "%s/%s-%s", o->data_dir, w->name, sz);
}

/* ---- The measuring child -------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Run one measurement in this process and print it as one JSON line. */
static int child_measure(int argc, char **argv)
{
    if (argc != 8)
        return 2;
    const fb_workload_t *w = find_workload(argv[1]);
    uint64_t size = strtoull(argv[2], NULL, 10);
    const char *dir = argv[3], *mode = argv[4], *master = argv[5];
    int runs = atoi(argv[6]), wrong = atoi(argv[7]);
    int engine = strcmp(mode, "engine") == 0;
    char err[512] = "";
    flow_context_t *ctx = NULL;
    if (!w || runs < 1 || runs > MAX_RUNS)
        return 2;
    if (engine) {
        char *e = NULL;
        if (!(ctx = flow_context_open(*master ? master : NULL, &e))) {
            snprintf(err, sizeof err, "%s", e);
            flow_free(e);
        }
    }
    cJSON *out = cJSON_CreateObject(), *times = cJSON_AddArrayToObject(out, "secs");
    fb_answer_t ans;
    fb_counters_t cnt;
    flow_stats_t before, after;
    memset(&after, 0, sizeof after);
    int rc = err[0] ? -1 : 0;
    for (int r = 0; rc == 0 && r <= runs; r++) {
        memset(&ans, 0, sizeof ans);
        memset(&cnt, 0, sizeof cnt);
        if (ctx)
            flow_context_stats(ctx, &before);
        double t0 = now_s();
        rc = engine ? w->engine(ctx, dir, size, wrong, &ans, &cnt, err, sizeof err)
                    : w->baseline(dir, size, &ans, &cnt, err, sizeof err);
        double t = now_s() - t0;
        if (r > 0) /* Run 0 warms up. */
            cJSON_AddItemToArray(times, cJSON_CreateNumber(t));
        if (ctx)
            flow_context_stats(ctx, &after);
    }
    if (rc == 0) {
        char dig[32];
        snprintf(dig, sizeof dig, "%016llx", (unsigned long long)ans.digest);
        cJSON_AddStringToObject(out, "digest", dig);
        cJSON_AddNumberToObject(out, "records", (double)ans.records);
        cJSON_AddStringToObject(out, "summary", ans.summary);
        cJSON_AddNumberToObject(out, "input_bytes", (double)cnt.input_bytes);
        cJSON_AddNumberToObject(out, "input_records", (double)cnt.input_records);
        if (ctx) {
            cJSON_AddNumberToObject(out, "shuffle_written",
                                    (double)(after.shuffle_bytes_written -
                                             before.shuffle_bytes_written));
            cJSON_AddNumberToObject(out, "shuffle_read",
                                    (double)(after.shuffle_bytes_read -
                                             before.shuffle_bytes_read));
            cJSON_AddNumberToObject(out, "spill", (double)(after.spill_bytes -
                                                           before.spill_bytes));
        }
    } else {
        cJSON_AddStringToObject(out, "error", err);
    }
    char *s = cJSON_PrintUnformatted(out);
    printf("%s\n", s);
    free(s);
    cJSON_Delete(out);
    flow_context_destroy(&ctx);
    return rc == 0 ? 0 : 1;
}

/* Start this binary as a measuring child and read its report. */
static void measure(const fb_workload_t *w, uint64_t size, const char *dir, int engine,
                    const char *master, int runs, measure_t *m)
{
    memset(m, 0, sizeof *m);
    char szs[32], runs_s[16], wrong_s[4];
    snprintf(szs, sizeof szs, "%llu", (unsigned long long)size);
    snprintf(runs_s, sizeof runs_s, "%d", runs);
    const char *wr = getenv("FLOWBENCH_WRONG_ANSWER");
    snprintf(wrong_s, sizeof wrong_s, "%d", engine && wr && *wr == '1');
    char *argv[] = {"flowbench", "__measure", (char *)w->name, szs, (char *)dir,
                    engine ? "engine" : "baseline", (char *)(master ? master : ""),
                    runs_s, wrong_s, NULL};
    int pipefd[2];
    if (pipe(pipefd) < 0) {
        snprintf(m->error, sizeof m->error, "pipe: %s", strerror(errno));
        return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    pid_t pid;
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (rc != 0) {
        close(pipefd[0]);
        snprintf(m->error, sizeof m->error, "cannot start a measuring process: %s",
                 strerror(rc));
        return;
    }
    char buf[1 << 16];
    size_t n = 0;
    ssize_t got;
    while (n < sizeof buf - 1 && (got = read(pipefd[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)got;
    buf[n] = '\0';
    close(pipefd[0]);
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    m->peak_rss_kb = ru.ru_maxrss;
    cJSON *j = cJSON_Parse(buf);
    const cJSON *e = j ? cJSON_GetObjectItem(j, "error") : NULL;
    if (!j || e) {
        snprintf(m->error, sizeof m->error, "%s",
                 e ? e->valuestring
                   : WIFSIGNALED(status) ? "the measuring process was killed by a signal"
                                         : "the measuring process reported nothing");
        cJSON_Delete(j);
        return;
    }
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(j, "secs"))
        if (m->nsecs < MAX_RUNS)
            m->secs[m->nsecs++] = t->valuedouble;
    double sorted[MAX_RUNS];
    memcpy(sorted, m->secs, sizeof(double) * (size_t)m->nsecs);
    qsort(sorted, (size_t)m->nsecs, sizeof *sorted, cmp_double);
    m->median = m->nsecs ? sorted[m->nsecs / 2] : NAN;
    m->answer.digest = strtoull(cJSON_GetObjectItem(j, "digest")->valuestring, NULL, 16);
    m->answer.records = (uint64_t)cJSON_GetObjectItem(j, "records")->valuedouble;
    snprintf(m->answer.summary, sizeof m->answer.summary, "%s",
             cJSON_GetObjectItem(j, "summary")->valuestring);
    m->cnt.input_bytes = (uint64_t)cJSON_GetObjectItem(j, "input_bytes")->valuedouble;
    m->cnt.input_records = (uint64_t)cJSON_GetObjectItem(j, "input_records")->valuedouble;
    if ((t = cJSON_GetObjectItem(j, "shuffle_written")))
        m->stats.shuffle_bytes_written = (uint64_t)t->valuedouble;
    if ((t = cJSON_GetObjectItem(j, "shuffle_read")))
        m->stats.shuffle_bytes_read = (uint64_t)t->valuedouble;
    if ((t = cJSON_GetObjectItem(j, "spill")))
        m->stats.spill_bytes = (uint64_t)t->valuedouble;
    m->ok = 1;
    cJSON_Delete(j);
}

/* ---- Reporting --------------------------------------------------------------------------- */

static void machine_info(cJSON *o)
{
    cJSON_AddNumberToObject(o, "cores", (double)sysconf(_SC_NPROCESSORS_ONLN));
    struct sysinfo si;
    if (sysinfo(&si) == 0)
        cJSON_AddNumberToObject(o, "memory_bytes", (double)si.totalram * si.mem_unit);
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *v = strchr(line, ':');
            if (v) {
                v += 2;
                v[strcspn(v, "\n")] = '\0';
                cJSON_AddStringToObject(o, "cpu", v);
            }
            break;
        }
    if (f)
        fclose(f);
}

static void mib(char *buf, size_t len, double bytes)
{
    snprintf(buf, len, "%.1f", bytes / (1 << 20));
}

static void print_header(void)
{
    printf("%-12s %-10s %7s %9s %9s %10s %9s %9s %9s %9s %9s %6s\n", "workload", "master",
           "size", "time(s)", "MB/s", "Mrec/s", "peak MiB", "shufW MiB", "shufR MiB",
           "spill MiB", "base(s)", "COST");
}

static void print_row(const fb_workload_t *w, const char *master, uint64_t size,
                      const measure_t *e, const measure_t *b)
{
    char sz[32], pk[32], sw[32], sr[32], sp[32];
    format_size(size, sz, sizeof sz);
    mib(pk, sizeof pk, (double)e->peak_rss_kb * 1024);
    mib(sw, sizeof sw, (double)e->stats.shuffle_bytes_written);
    mib(sr, sizeof sr, (double)e->stats.shuffle_bytes_read);
    mib(sp, sizeof sp, (double)e->stats.spill_bytes);
    printf("%-12s %-10s %7s %9.3f %9.1f %10.2f %9s %9s %9s %9s %9.3f %6.2f\n", w->name,
           master, sz, e->median, (double)e->cnt.input_bytes / 1e6 / e->median,
           (double)e->cnt.input_records / 1e6 / e->median, pk, sw, sr, sp, b->median,
           e->median / b->median);
    fflush(stdout);
}

static cJSON *measure_json(const measure_t *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "secs", cJSON_CreateDoubleArray(m->secs, m->nsecs));
    cJSON_AddNumberToObject(o, "median_secs", m->median);
    cJSON_AddNumberToObject(o, "peak_rss_bytes", (double)m->peak_rss_kb * 1024);
    cJSON_AddNumberToObject(o, "input_bytes", (double)m->cnt.input_bytes);
    cJSON_AddNumberToObject(o, "input_records", (double)m->cnt.input_records);
    cJSON_AddNumberToObject(o, "mb_per_s", (double)m->cnt.input_bytes / 1e6 / m->median);
    cJSON_AddNumberToObject(o, "records_per_s", (double)m->cnt.input_records / m->median);
    cJSON_AddNumberToObject(o, "shuffle_bytes_written", (double)m->stats.shuffle_bytes_written);
    cJSON_AddNumberToObject(o, "shuffle_bytes_read", (double)m->stats.shuffle_bytes_read);
    cJSON_AddNumberToObject(o, "spill_bytes", (double)m->stats.spill_bytes);
    cJSON_AddStringToObject(o, "answer", m->answer.summary);
    return o;
}

/* ---- Commands ------------------------------------------------------------------------------ */

/* Measure one workload at one master against its baseline; 0 when checked. */
static int run_one(const options_t *o, const fb_workload_t *w, const char *master,
                   const measure_t *base, measure_t *eng, cJSON *jruns)
{
    uint64_t size = o->size ? o->size : w->default_size;
    char dir[4096];
    input_dir(o, w, size, dir, sizeof dir);
    progress("%s: libflow at %s, %d runs", w->name, master ? master : "default", o->runs);
    measure(w, size, dir, 1, master, o->runs, eng);
    progress("%s", "");
    if (!eng->ok) {
        fprintf(stderr, "flowbench: %s on %s: %s\n", w->name, master ? master : "default",
                eng->error);
        return 1;
    }
    if (eng->answer.digest != base->answer.digest || eng->answer.records != base->answer.records) {
        fprintf(stderr,
                "flowbench: %s: WRONG ANSWER at %s: libflow gave %llu records, digest "
                "%016llx (%s); the baseline %llu records, digest %016llx (%s)\n",
                w->name, master ? master : "default", (unsigned long long)eng->answer.records,
                (unsigned long long)eng->answer.digest, eng->answer.summary,
                (unsigned long long)base->answer.records,
                (unsigned long long)base->answer.digest, base->answer.summary);
        return 1;
    }
    print_row(w, master ? master : "default", size, eng, base);
    if (jruns) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "workload", w->name);
        cJSON_AddStringToObject(r, "master", master ? master : "default");
        cJSON_AddNumberToObject(r, "size_bytes", (double)size);
        cJSON_AddItemToObject(r, "engine", measure_json(eng));
        cJSON_AddItemToObject(r, "baseline", measure_json(base));
        cJSON_AddNumberToObject(r, "cost", eng->median / base->median);
        cJSON_AddItemToArray(jruns, r);
    }
    return 0;
}

static int run_workload(const options_t *o, const fb_workload_t *w, cJSON *jruns)
{
    uint64_t size = o->size ? o->size : w->default_size;
    char dir[4096], err[512] = "";
    input_dir(o, w, size, dir, sizeof dir);
    if (ensure_input(w, size, dir, err, sizeof err) < 0) {
        progress("%s", "");
        fprintf(stderr, "flowbench: %s: %s\n", w->name, err);
        return 1;
    }
    progress("%s: baseline, %d runs", w->name, o->runs);
    measure_t base, eng;
    measure(w, size, dir, 0, NULL, o->runs, &base);
    if (!base.ok) {
        progress("%s", "");
        fprintf(stderr, "flowbench: %s baseline: %s\n", w->name, base.error);
        return 1;
    }
    if (o->nscale == 0)
        return run_one(o, w, o->master, &base, &eng, jruns);
    double first = 0;
    int bad = 0;
    for (int i = 0; i < o->nscale && !bad; i++) {
        char m[32];
        snprintf(m, sizeof m, "local[%d]", o->scale[i]);
        bad = run_one(o, w, m, &base, &eng, jruns);
        if (!bad && i == 0)
            first = eng.median;
        else if (!bad)
            printf("%-12s speed-up of local[%d] over local[%d]: %.2fx\n", w->name,
                   o->scale[i], o->scale[0], first / eng.median);
    }
    return bad;
}

static int write_json(const options_t *o, cJSON *jruns)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "libflow_revision", FLOW_GIT_REV);
    cJSON *mach = cJSON_AddObjectToObject(root, "machine");
    machine_info(mach);
    cJSON_AddStringToObject(root, "master", o->master ? o->master : "default (local[*])");
    cJSON_AddNumberToObject(root, "runs", o->runs);
    cJSON_AddItemToObject(root, "results", jruns);
    char *s = cJSON_Print(root);
    FILE *f = fopen(o->json, "w");
    int rc = f && fputs(s, f) >= 0 && fclose(f) == 0 ? 0 : 1;
    if (rc)
        fprintf(stderr, "flowbench: cannot write %s: %s\n", o->json, strerror(errno));
    free(s);
    cJSON_Delete(root);
    return rc;
}

static int cmd_run(options_t *o)
{
    cJSON *jruns = o->json ? cJSON_CreateArray() : NULL;
    print_header();
    int bad = 0;
    for (int i = 0; i < o->nnames; i++)
        bad |= run_workload(o, find_workload(o->names[i]), jruns);
    if (jruns)
        bad |= write_json(o, jruns);
    return bad;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: flowbench                       the default suite\n"
            "       flowbench list\n"
            "       flowbench run NAME... [--size SIZE] [--master URL] [--runs N]\n"
            "                 [--json FILE] [--data-dir DIR] [--scale N1,N2,...]\n"
            "       flowbench gen NAME --size SIZE --out DIR\n"
            "SIZE takes k, m and g suffixes (64m, 2g).\n");
    return 2;
}

static int parse_scale(const char *s, options_t *o)
{
    char *end;
    while (*s && o->nscale < 16) {
        long n = strtol(s, &end, 10);
        if (end == s || n < 1 || n > 4096)
            return -1;
        o->scale[o->nscale++] = (int)n;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return o->nscale ? 0 : -1;
}

/* Options after the command; workload names are the bare words. */
static int parse_options(int argc, char **argv, options_t *o, const char **out_dir)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-') {
            if (!find_workload(a)) {
                fprintf(stderr, "flowbench: unknown workload '%s' (see flowbench list)\n", a);
                return -1;
            }
            if (o->nnames < (int)NWORKLOADS)
                o->names[o->nnames++] = a;
            continue;
        }
        if (!v) {
            fprintf(stderr, "flowbench: %s needs a value\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--size") == 0 && parse_size(v, &o->size) == 0)
            continue;
        if (strcmp(a, "--master") == 0 && (o->master = v))
            continue;
        if (strcmp(a, "--runs") == 0 && (o->runs = atoi(v)) >= 1 && o->runs <= MAX_RUNS)
            continue;
        if (strcmp(a, "--json") == 0 && (o->json = v))
            continue;
        if (strcmp(a, "--data-dir") == 0 && (o->data_dir = v))
            continue;
        if (strcmp(a, "--scale") == 0 && parse_scale(v, o) == 0)
            continue;
        if (strcmp(a, "--out") == 0 && out_dir && (*out_dir = v))
            continue;
        fprintf(stderr, "flowbench: bad option %s %s\n", a, v);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "__measure") == 0)
        return child_measure(argc - 1, argv + 1);
    tty = isatty(2);
    options_t o;
    memset(&o, 0, sizeof o);
    o.runs = 3;
    o.data_dir = "data/flowbench";
    const char *cmd = argc > 1 ? argv[1] : "";
    if (argc == 1) {
        for (size_t i = 0; i < NWORKLOADS; i++)
            o.names[o.nnames++] = workloads[i]->name;
        return cmd_run(&o);
    }
    if (strcmp(cmd, "list") == 0) {
        for (size_t i = 0; i < NWORKLOADS; i++)
            printf("%-12s %s\n", workloads[i]->name, workloads[i]->about);
        return 0;
    }
    if (strcmp(cmd, "run") == 0) {
        if (parse_options(argc - 2, argv + 2, &o, NULL) < 0 || o.nnames == 0)
            return usage();
        return cmd_run(&o);
    }
    if (strcmp(cmd, "gen") == 0) {
        const char *out = NULL;
        char err[512] = "";
        if (parse_options(argc - 2, argv + 2, &o, &out) < 0 || o.nnames != 1 || !out ||
            !o.size)
            return usage();
        const fb_workload_t *w = find_workload(o.names[0]);
        if (mkdirs(out) < 0 || w->gen(out, o.size, err, sizeof err) < 0) {
            fprintf(stderr, "flowbench: gen %s: %s\n", w->name, err[0] ? err : strerror(errno));
            return 1;
        }
        return 0;
    }
    return usage();
}
