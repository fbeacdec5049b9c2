/* fbutil.c - helpers shared by flowbench's workloads (see flowbench.h) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "flowbench.h"

uint64_t fb_rec_hash(const void *key, size_t klen, const void *val, size_t vlen)
{
    /* The key's hash seeds the value's, so (k, v) and an unkeyed k||v differ. */
    uint64_t seed = key ? XXH3_64bits(key, klen) ^ 0x9E3779B97F4A7C15ull : 0;
    return XXH3_64bits_withSeed(val, vlen, seed);
}

uint64_t fb_chain(uint64_t d, const void *key, size_t klen, const void *val, size_t vlen)
{
    uint64_t h = fb_rec_hash(key, klen, val, vlen);
    uint64_t pair[2] = {d, h};
    return XXH3_64bits(pair, sizeof pair);
}

uint64_t fb_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void *fb_table_alloc(size_t bytes)
{
    const size_t huge = 2u << 20;
    void *p = aligned_alloc(huge, (bytes + huge - 1) & ~(huge - 1));
    if (!p)
        return NULL;
    madvise(p, bytes, MADV_HUGEPAGE);
    /* Zeroed by writing: a first read would map the zero page, and the first
     * write then a second page. */
    memset(p, 0, bytes);
    return p;
}

const char *fb_map(const char *path, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    *len = (size_t)st.st_size;
    if (*len == 0) {
        close(fd);
        return "";
    }
    void *p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
        return NULL;
    }
    madvise(p, *len, MADV_SEQUENTIAL);
    return p;
}

void fb_unmap(const char *p, size_t len)
{
    if (len)
        munmap((void *)p, len);
}

int fb_write_file(const char *path, const void *p, size_t len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    return 0;
}

/* The digest accumulator: the sum of record hashes and the record count. */
typedef struct digest_acc {
    uint64_t sum;     /* Sum of record hashes. */
    uint64_t records; /* Records seen. */
} digest_acc_t;

static int digest_seq(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b,
                      flow_rec_t *out, const flow_buf_t *arg)
{
    (void)arg;
    digest_acc_t *acc = flow_task_alloc(t, sizeof *acc);
    memcpy(acc, a->val, sizeof *acc);
    acc->sum += fb_rec_hash(b->key, b->klen, b->val, b->vlen);
    acc->records++;
    *out = flow_rec(acc, sizeof *acc);
    return 0;
}

static int digest_comb(flow_task_t *t, const flow_rec_t *a, const flow_rec_t *b,
                       flow_rec_t *out, const flow_buf_t *arg)
{
    (void)arg;
    digest_acc_t *acc = flow_task_alloc(t, sizeof *acc), y;
    memcpy(acc, a->val, sizeof *acc);
    memcpy(&y, b->val, sizeof y);
    acc->sum += y.sum;
    acc->records += y.records;
    *out = flow_rec(acc, sizeof *acc);
    return 0;
}

int fb_digest_dataset(flow_dataset_t *ds, fb_answer_t *out, char *err, size_t errlen)
{
    digest_acc_t zero = {0, 0};
    flow_rec_t z = flow_rec(&zero, sizeof zero);
    flow_result_t *res = NULL;
    int rc = flow_dataset_aggregate(ds, &z, digest_seq, digest_comb, NULL, 0, &res);
    if (rc < 0) {
        snprintf(err, errlen, "%s", flow_last_error(flow_dataset_context(ds)));
        return rc;
    }
    digest_acc_t acc;
    memcpy(&acc, flow_result_get(res, 0)->val, sizeof acc);
    out->digest = acc.sum;
    out->records = acc.records;
    flow_result_destroy(&res);
    return 0;
}

/* ---- Buffered writer for generators -------------------------------------------------- */

#define WRITER_BYTES (1u << 20)

int fb_writer_open(fb_writer_t *w, const char *path, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->buf = malloc(WRITER_BYTES);
    w->f = w->buf ? fopen(path, "wb") : NULL;
    if (!w->f) {
        snprintf(err, errlen, "%s: %s", path, w->buf ? strerror(errno) : "out of memory");
        free(w->buf);
        w->buf = NULL;
        return -1;
    }
    return 0;
}

static void writer_flush(fb_writer_t *w)
{
    if (w->len && !w->failed && fwrite(w->buf, 1, w->len, w->f) != w->len)
        w->failed = errno ? errno : EIO;
    w->len = 0;
}

char *fb_writer_room(fb_writer_t *w, size_t n)
{
    if (w->len + n > WRITER_BYTES)
        writer_flush(w);
    return w->buf + w->len;
}

void fb_writer_commit(fb_writer_t *w, size_t n)
{
    w->len += n;
    w->written += n;
}

int fb_writer_close(fb_writer_t *w, const char *path, char *err, size_t errlen)
{
    if (!w->f)
        return -1;
    writer_flush(w);
    if (fclose(w->f) != 0 && !w->failed)
        w->failed = errno ? errno : EIO;
    free(w->buf);
    w->f = NULL;
    w->buf = NULL;
    if (w->failed)
        snprintf(err, errlen, "%s: %s", path, strerror(w->failed));
    return w->failed ? -1 : 0;
}

size_t fb_put_u64(char *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}
