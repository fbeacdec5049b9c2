/* src_text.c - the text_file source: lines of local files, cut into byte ranges
 * Driver side, flow__text_plan lists the files of a path: a regular file; the
 * regular files of a directory whose names do not start with '_' or '.' (not
 * recursive); or what a glob(3) pattern matches (a matched directory counts
 * as its files, a matched hidden or '_' name is kept). It sorts them by path
 * (strcmp), opens each to check it can be read, and cuts every non-empty file
 * into ranges of `size` bytes, the last one shorter, as Hadoop's
 * FileInputFormat does:
 *     goal = min_partitions > 0 ? ceil(total / min_partitions) : split_size
 *     size = max(1, min(goal, split_size))
 * Executor side, a reader maps its file read-only from the page below its
 * range to the END of the file (pages are touched lazily) and returns the
 * lines that START inside the range [off, off + len). When the byte before
 * off is not '\n' the line cut by off belongs to the previous split, so the
 * reader skips past the next '\n'; the last line it owns may run past
 * off + len. Concatenating the splits of a file in order therefore gives
 * every line exactly once. Lines end at '\n'; a '\r' right before it is
 * dropped (a lone '\r' is data); the last line needs no '\n', and a file that
 * ends with '\n' has no empty line after it. Records are unkeyed views into
 * the mapping, valid until the next call to next or close (close unmaps).
 * Split layout (little-endian, written and read with buf.h):
 *     +--------------------------+-----------+-----------+-----------+
 *     | path (u32 n, n bytes)    | u64 fsize | u64 off   | u64 len   |
 *     +--------------------------+-----------+-----------+-----------+
 * The path is absolute when the working directory could be read. fsize is
 * the file's size at planning time: a task that finds another size fails
 * (FLOW_EIO) rather than silently losing or repeating lines. A file that is
 * truncated while a task reads it is not detected (SIGBUS, as with any
 * mapped input).
 * Call order: flow__text_plan (driver) -> flow__splits_free;
 *             open -> next* -> metrics -> close (executor). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "mem.h"
#include "source.h"

/* One input file found at planning time. */
typedef struct text_file {
    char *path;    /* Path as listed (flow__malloc'd). */
    uint64_t size; /* Size seen when the file was opened. */
} text_file_t;

/* The files of a text_file path, growing as they are found. */
typedef struct file_list {
    text_file_t *files; /* Files found so far. */
    int n;              /* Number of files. */
    int cap;            /* Allocated entries. */
} file_list_t;

/* A decoded split. */
typedef struct text_split {
    char *path;     /* File to read (flow__malloc'd). */
    uint64_t fsize; /* File size at planning time. */
    uint64_t off;   /* First byte of the range. */
    uint64_t len;   /* Length of the range. */
} text_split_t;

/* An open reader on one split. */
typedef struct text_reader {
    char *path;            /* The file, for messages (flow__malloc'd). */
    void *map;             /* The mapping, or NULL when nothing is mapped. */
    size_t maplen;         /* Length of the mapping. */
    const char *pos;       /* Start of the next line to return. */
    const char *stop;      /* Lines starting here or later are not ours. */
    const char *end;       /* End of the file inside the mapping. */
    const char *dropped;   /* Pages below this were given back (see release_read). */
    flow__src_metrics_t m; /* Records returned and bytes consumed. */
} text_reader_t;

/* Record a failure that retrying the task cannot fix. */
static int fail_permanent(flow__err_t *err, int code, const char *what,
                          const char *path)
{
    flow__err_set(err, code, "text_file: %s: %s", path, what);
    if (err)
        err->permanent = 1;
    return code;
}

/* Record a failed system call on path at planning time. */
static int fail_errno(flow__err_t *err, const char *what, const char *path,
                      int e)
{
    if (e == ENOENT || e == ENOTDIR)
        return flow__err_set(err, FLOW_ENOENT,
                             "text_file: no such file or directory: %s", path);
    return flow__err_set(err, FLOW_EIO, "text_file: cannot %s %s: %s", what,
                         path, strerror(e));
}

/* ---- Planning: listing the files --------------------------------------- */

/* Append a file; the list takes ownership of path. */
static void list_add(file_list_t *l, char *path)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->files = flow__realloc(l->files, (size_t)l->cap * sizeof *l->files);
    }
    l->files[l->n].path = path;
    l->files[l->n].size = 0;
    l->n++;
}

static void list_free(file_list_t *l)
{
    for (int i = 0; i < l->n; i++)
        flow__free(l->files[i].path);
    flow__free(l->files);
}

/* dir + "/" + name, without doubling a trailing slash of dir. */
static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return flow__asprintf("%.*s%s%s", (int)n, dir,
                          dir[n - 1] == '/' ? "" : "/", name);
}

/* Add the regular files of dir, skipping names that start with '_' or '.'
 * and entries that vanished (or are dangling links) since readdir. */
static int list_dir(file_list_t *l, const char *dir, flow__err_t *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return fail_errno(err, "read directory", dir, errno);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || e->d_name[0] == '_')
            continue;
        char *p = join_path(dir, e->d_name);
        struct stat st;
        int src = stat(p, &st);
        if (src == 0 && S_ISREG(st.st_mode)) {
            list_add(l, p);
            continue;
        }
        if (src != 0 && errno != ENOENT)
            rc = fail_errno(err, "access", p, errno);
        flow__free(p);
        errno = 0;
    }
    if (rc == 0 && errno != 0)
        rc = fail_errno(err, "read directory", dir, errno);
    closedir(d);
    return rc;
}

/* Add path itself when it is a regular file, its files when a directory. */
static int list_path(file_list_t *l, const char *path, flow__err_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return fail_errno(err, "access", path, errno);
    if (S_ISDIR(st.st_mode))
        return list_dir(l, path, err);
    if (!S_ISREG(st.st_mode))
        return flow__err_set(err, FLOW_EIO,
                             "text_file: not a regular file: %s", path);
    list_add(l, flow__strdup(path));
    return 0;
}

/* Add every path a glob pattern matches; matching nothing is an error. */
static int list_glob(file_list_t *l, const char *pattern, flow__err_t *err)
{
    glob_t g;
    memset(&g, 0, sizeof g);
    int grc = glob(pattern, 0, NULL, &g), rc = 0;
    if (grc == GLOB_NOMATCH)
        rc = flow__err_set(err, FLOW_ENOENT,
                           "text_file: no files match the pattern: %s",
                           pattern);
    else if (grc == GLOB_NOSPACE)
        rc = flow__err_set(err, FLOW_ENOMEM,
                           "text_file: out of memory expanding %s", pattern);
    else if (grc != 0)
        rc = flow__err_set(err, FLOW_EIO,
                           "text_file: cannot expand the pattern %s", pattern);
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
        rc = list_path(l, g.gl_pathv[i], err);
    globfree(&g);
    return rc;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(((const text_file_t *)a)->path,
                  ((const text_file_t *)b)->path);
}

/* Open a listed file to check it can be read, and take its size. O_NONBLOCK
 * keeps a FIFO that replaced the file since listing from blocking us. */
static int check_file(text_file_t *f, flow__err_t *err)
{
    int fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return fail_errno(err, "open", f->path, errno);
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = fail_errno(err, "stat", f->path, errno);
    else if (!S_ISREG(st.st_mode))
        rc = flow__err_set(err, FLOW_EIO,
                           "text_file: not a regular file: %s", f->path);
    else
        f->size = (uint64_t)st.st_size;
    close(fd);
    return rc;
}

/* ---- Planning: cutting the files into splits --------------------------- */

/* The split size: Hadoop's computeSplitSize with the min_partitions goal. */
static uint64_t split_unit(const file_list_t *l, int min_partitions,
                           uint64_t split_size)
{
    uint64_t total = 0, goal = split_size;
    for (int i = 0; i < l->n; i++)
        total += l->files[i].size;
    if (min_partitions > 0) {
        uint64_t k = (uint64_t)min_partitions;
        goal = total / k + (total % k != 0);
    }
    uint64_t size = goal < split_size ? goal : split_size;
    return size ? size : 1;
}

/* Encode one split of path into *s. */
static void encode_split(flow__split_t *s, const char *path, uint64_t fsize,
                         uint64_t off, uint64_t len)
{
    flow__wbuf_t b;
    flow__wbuf_init(&b);
    flow__wbuf_str(&b, path);
    flow__wbuf_u64(&b, fsize);
    flow__wbuf_u64(&b, off);
    flow__wbuf_u64(&b, len);
    s->data = flow__wbuf_take(&b, &s->len);
    s->locations = NULL;
    s->nlocations = 0;
    s->bytes = len;
}

/* Cut every file into ranges of unit bytes; *out is NULL when none. */
static int make_splits(const file_list_t *l, uint64_t unit, const char *path,
                       flow__err_t *err, flow__split_t **out, int *out_n)
{
    uint64_t n = 0;
    for (int i = 0; i < l->n; i++)
        n += l->files[i].size / unit + (l->files[i].size % unit != 0);
    if (n > INT_MAX)
        return flow__err_set(err, FLOW_EINVAL,
                             "text_file: %s: %llu splits are too many; raise "
                             "text.split_size", path, (unsigned long long)n);
    char cwd[PATH_MAX];
    int have_cwd = getcwd(cwd, sizeof cwd) != NULL;
    flow__split_t *s = n ? flow__calloc((size_t)n, sizeof *s) : NULL;
    int k = 0;
    for (int i = 0; i < l->n; i++) {
        const text_file_t *f = &l->files[i];
        char *abs = NULL;
        if (f->path[0] != '/' && have_cwd)
            abs = flow__asprintf("%s/%s", cwd, f->path);
        for (uint64_t off = 0; off < f->size; off += unit) {
            uint64_t len = f->size - off < unit ? f->size - off : unit;
            encode_split(&s[k++], abs ? abs : f->path, f->size, off, len);
        }
        flow__free(abs);
    }
    *out = s;
    *out_n = k;
    return 0;
}

int flow__text_plan(const char *path, int min_partitions, uint64_t split_size,
                    flow__err_t *err, flow__split_t **out, int *out_n)
{
    file_list_t l = {NULL, 0, 0};
    struct stat st;
    int rc;
    *out = NULL;
    *out_n = 0;
    if (stat(path, &st) != 0 && strpbrk(path, "*?["))
        rc = list_glob(&l, path, err);
    else
        rc = list_path(&l, path, err);
    if (rc == 0 && l.n > 1)
        qsort(l.files, (size_t)l.n, sizeof *l.files, cmp_path);
    for (int i = 0; rc == 0 && i < l.n; i++)
        rc = check_file(&l.files[i], err);
    if (rc == 0)
        rc = make_splits(&l, split_unit(&l, min_partitions, split_size), path,
                         err, out, out_n);
    list_free(&l);
    return rc;
}

/* ---- Reading ------------------------------------------------------------ */

/* Decode a split, checking that its range lies inside the file. */
static int decode_split(const void *data, size_t len, text_split_t *s,
                        flow__err_t *err)
{
    flow__rbuf_t r;
    flow__rbuf_init(&r, data, len);
    s->path = flow__rbuf_strdup(&r);
    s->fsize = flow__rbuf_u64(&r);
    s->off = flow__rbuf_u64(&r);
    s->len = flow__rbuf_u64(&r);
    if (flow__rbuf_ok(&r) && flow__rbuf_left(&r) == 0 && s->path[0] != '\0' &&
        s->off <= s->fsize && s->len <= s->fsize - s->off)
        return 0;
    flow__free(s->path);
    s->path = NULL;
    flow__err_set(err, FLOW_EPROTO, "text_file: malformed split (%zu bytes)",
                  len);
    if (err)
        err->permanent = 1;
    return FLOW_EPROTO;
}

/* Check that the open file is still the regular file of the planned size. */
static int check_open_file(int fd, const text_split_t *s, flow__err_t *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return flow__err_set(err, FLOW_EIO, "text_file: cannot stat %s: %s",
                             s->path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail_permanent(err, FLOW_EIO, "not a regular file", s->path);
    if ((uint64_t)st.st_size != s->fsize)
        return fail_permanent(err, FLOW_EIO,
                              "changed size since the job was planned",
                              s->path);
    return 0;
}

/* Position the reader on the first line that starts at or after s->off.
 * Only [off, off + len) is searched: a '\n' found later would make the next
 * line start at or after the end of the range, so the split has no lines. */
static void seek_first_line(text_reader_t *r, const char *p,
                            const text_split_t *s)
{
    r->pos = p;
    r->stop = p + s->len;
    if (s->off == 0 || p[-1] == '\n')
        return;
    const char *nl = memchr(p, '\n', (size_t)s->len);
    r->pos = nl ? nl + 1 : r->stop;
}

/* Map the file from the page holding byte off - 1 (so that the byte before
 * the range can be looked at) to its end. */
static int map_split(text_reader_t *r, int fd, const text_split_t *s,
                     flow__err_t *err)
{
    static const char nothing[1];
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t base = s->off ? (s->off - 1) & ~(page - 1) : 0;
    if (s->fsize - base > SIZE_MAX)
        return fail_permanent(err, FLOW_EIO, "too large to map", s->path);
    r->maplen = (size_t)(s->fsize - base);
    if (r->maplen == 0) {
        r->pos = r->stop = r->end = nothing;
        return 0;
    }
    void *m = mmap(NULL, r->maplen, PROT_READ, MAP_PRIVATE, fd, (off_t)base);
    if (m == MAP_FAILED)
        return flow__err_set(err, FLOW_EIO, "text_file: cannot map %s: %s",
                             s->path, strerror(errno));
    madvise(m, r->maplen, MADV_SEQUENTIAL);
    r->map = m;
    r->end = (const char *)m + r->maplen;
    r->dropped = (const char *)m;
    seek_first_line(r, (const char *)m + (s->off - base), s);
    return 0;
}

static void text_close(void *reader)
{
    text_reader_t *r = reader;
    if (!r)
        return;
    if (r->map)
        munmap(r->map, r->maplen);
    flow__free(r->path);
    flow__free(r);
}

static int text_open(const void *split, size_t len, flow__err_t *err,
                     void **out_reader)
{
    text_split_t s;
    *out_reader = NULL;
    if (decode_split(split, len, &s, err) < 0)
        return FLOW_EPROTO;
    text_reader_t *r = flow__calloc(1, sizeof *r);
    r->path = s.path;
    int rc, fd = open(s.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        rc = flow__err_set(err, FLOW_EIO, "text_file: cannot open %s: %s",
                           s.path, strerror(errno));
    } else {
        rc = check_open_file(fd, &s, err);
        if (rc == 0)
            rc = map_split(r, fd, &s, err);
        close(fd);
    }
    if (rc < 0) {
        text_close(r);
        return rc;
    }
    *out_reader = r;
    return 0;
}

/* Give back the pages of what has been read, every 16 MiB: a record is valid
 * only until the next call, so nothing below s is needed any more. Without
 * this a task's resident memory would grow with its split (the page cache
 * keeps the data; only this process's mapping of it goes). */
#define RELEASE_STEP (16u << 20)

static inline void release_read(text_reader_t *r, const char *s)
{
    if ((size_t)(s - r->dropped) < RELEASE_STEP)
        return;
    uintptr_t lo = (uintptr_t)r->dropped & ~(uintptr_t)4095;
    uintptr_t hi = (uintptr_t)s & ~(uintptr_t)4095;
    if (lo < (uintptr_t)r->map)
        lo = (uintptr_t)r->map;
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
    r->dropped = (const char *)hi;
}

/* The hot path: one memchr per line, no copy. */
static int text_next(void *reader, flow_rec_t *out, flow__err_t *err)
{
    text_reader_t *r = reader;
    const char *s = r->pos, *e, *next;
    if (s >= r->stop)
        return 0;
    release_read(r, s);
    const char *nl = memchr(s, '\n', (size_t)(r->end - s));
    if (nl) {
        next = nl + 1;
        e = (nl > s && nl[-1] == '\r') ? nl - 1 : nl;
    } else {
        next = e = r->end;
    }
    r->pos = next;
    r->m.records++;
    r->m.bytes += (uint64_t)(next - s);
    *out = flow_rec(s, (size_t)(e - s));
    return 1;
}

static void text_metrics(void *reader, flow__src_metrics_t *m)
{
    const text_reader_t *r = reader;
    m->records += r->m.records;
    m->bytes += r->m.bytes;
}

const flow__source_ops_t flow__src_text_ops = {
    .kind = FLOW_SRC_TEXT,
    .name = "text_file",
    .open = text_open,
    .next = text_next,
    .close = text_close,
    .metrics = text_metrics,
};

/* ---- Chunks of whole lines (text_chunks) ------------------------------------
 * The same splits, read as runs of whole lines of up to FLOW_TEXT_CHUNK bytes
 * (a longer line is a chunk of its own), raw: every '\n' and '\r' kept. The
 * split owns the bytes from its first line's start to the end of the line
 * holding its last byte, so chunks of consecutive splits tile the file. */

#define FLOW_TEXT_CHUNK (1u << 20)

static int chunk_next(void *reader, flow_rec_t *out, flow__err_t *err)
{
    text_reader_t *r = reader;
    const char *s = r->pos;
    if (s >= r->stop)
        return 0;
    release_read(r, s);
    /* The end of what this split owns: the end of the line holding stop - 1. */
    const char *nl = memchr(r->stop - 1, '\n', (size_t)(r->end - (r->stop - 1)));
    const char *own_end = nl ? nl + 1 : r->end, *e;
    if ((size_t)(own_end - s) <= FLOW_TEXT_CHUNK) {
        e = own_end;
    } else {
        const char *last = memrchr(s, '\n', FLOW_TEXT_CHUNK);
        if (last) {
            e = last + 1;
        } else {
            nl = memchr(s + FLOW_TEXT_CHUNK, '\n', (size_t)(own_end - s) - FLOW_TEXT_CHUNK);
            e = nl ? nl + 1 : own_end;
        }
    }
    r->pos = e >= own_end ? r->stop : e;
    r->m.records++;
    r->m.bytes += (uint64_t)(e - s);
    *out = flow_rec(s, (size_t)(e - s));
    return 1;
}

const flow__source_ops_t flow__src_text_chunk_ops = {
    .kind = FLOW_SRC_TEXT_CHUNKS,
    .name = "text_chunks",
    .open = text_open,
    .next = chunk_next,
    .close = text_close,
    .metrics = text_metrics,
};
