/* test_text.c - the text_file source: listing, split sizing and line reading
 * Every test goes through the source interface only: flow__text_plan on the
 * driver side, then flow__src_text_ops.open -> next* -> metrics -> close on
 * each split, in order. What comes back is compared with a plain byte-by-byte
 * line splitter written here, independently of the reader's memchr loop. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "mem.h"
#include "source.h"
#include "testutil.h"

/* More lines than any test writes: a reader past it is running away. */
#define MAX_LINES (1u << 20)

static char *dir;

static void setup(void) { dir = test_tmpdir(); }
static void teardown(void)
{
    test_rmtree(dir);
    free(dir);
}

/* ---- Helpers ------------------------------------------------------------ */

/* A list of lines, each a malloc'd copy. */
typedef struct line_list {
    char **p;   /* Line bytes (malloc'd, not NUL-terminated). */
    size_t *n;  /* Line lengths. */
    size_t len; /* Number of lines. */
    size_t cap; /* Allocated entries. */
} line_list_t;

/* What reading all splits of a path gave. */
typedef struct read_out {
    line_list_t lines;     /* Lines in split order. */
    int nsplits;           /* Number of splits planned. */
    uint64_t split_bytes;  /* Sum of the splits' bytes. */
    flow__src_metrics_t m; /* Sum of the readers' counters. */
    flow__err_t err;       /* The planning error, if any. */
} read_out_t;

static void lines_add(line_list_t *l, const void *p, size_t n)
{
    if (l->len == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->p = realloc(l->p, l->cap * sizeof *l->p);
        l->n = realloc(l->n, l->cap * sizeof *l->n);
        ck_assert(l->p && l->n);
    }
    l->p[l->len] = malloc(n ? n : 1);
    memcpy(l->p[l->len], p, n);
    l->n[l->len++] = n;
}

static void lines_free(line_list_t *l)
{
    for (size_t i = 0; i < l->len; i++)
        free(l->p[i]);
    free(l->p);
    free(l->n);
    memset(l, 0, sizeof *l);
}

/* The reference splitter: scan byte by byte, cut at '\n', drop one '\r'
 * right before a '\n', keep an unterminated last line. */
static void ref_lines(line_list_t *l, const char *text, size_t len)
{
    size_t start = 0;
    while (start < len) {
        size_t i = start;
        while (i < len && text[i] != '\n')
            i++;
        size_t n = i - start;
        if (i < len && n > 0 && text[i - 1] == '\r')
            n--;
        lines_add(l, text + start, n);
        start = i + 1;
    }
}

static void check_lines(const line_list_t *got, const line_list_t *want,
                        const char *what)
{
    ck_assert_msg(got->len == want->len, "%s: %zu lines, want %zu", what,
                  got->len, want->len);
    for (size_t i = 0; i < want->len; i++)
        ck_assert_msg(got->n[i] == want->n[i] &&
                          memcmp(got->p[i], want->p[i], want->n[i]) == 0,
                      "%s: line %zu differs", what, i);
}

/* Read one split through the source ops, appending its lines to out. */
static void read_split(const flow__split_t *s, read_out_t *out)
{
    flow__err_t err = {0};
    void *r = NULL;
    int rc = flow__src_text_ops.open(s->data, s->len, &err, &r);
    ck_assert_msg(rc == FLOW_OK, "open: %s", err.msg);
    flow_rec_t rec;
    while ((rc = flow__src_text_ops.next(r, &rec, &err)) == 1) {
        ck_assert_ptr_null(rec.key);
        ck_assert_uint_eq(rec.klen, 0);
        ck_assert_uint_lt(out->lines.len, MAX_LINES);
        lines_add(&out->lines, rec.val, rec.vlen);
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(flow__src_text_ops.next(r, &rec, &err), 0);
    flow__src_text_ops.metrics(r, &out->m);
    flow__src_text_ops.close(r);
    out->split_bytes += s->bytes;
}

/* Plan path and read every split in order; returns the planning status. */
static int read_text(const char *path, int min_parts, uint64_t split_size,
                     read_out_t *out)
{
    flow__split_t *s = NULL;
    int n = -1;
    memset(out, 0, sizeof *out);
    int rc = flow__text_plan(path, min_parts, split_size, &out->err, &s, &n);
    if (rc < 0)
        return rc;
    ck_assert_int_ge(n, 0);
    out->nsplits = n;
    for (int i = 0; i < n; i++)
        read_split(&s[i], out);
    flow__splits_free(s, n);
    return 0;
}

/* Read path and check it against the reference lines (those of the files in
 * path order) and total bytes; returns the number of splits. */
static int check_read(const char *path, int min_parts, uint64_t split_size,
                       const line_list_t *want, uint64_t total)
{
    read_out_t got;
    char what[128];
    snprintf(what, sizeof what, "split_size %llu, min_partitions %d",
             (unsigned long long)split_size, min_parts);
    ck_assert_msg(read_text(path, min_parts, split_size, &got) == FLOW_OK,
                  "%s: %s", what, got.err.msg);
    check_lines(&got.lines, want, what);
    ck_assert_uint_eq(got.split_bytes, total);
    ck_assert_uint_eq(got.m.bytes, total);
    ck_assert_uint_eq(got.m.records, want->len);
    lines_free(&got.lines);
    return got.nsplits;
}

static char *path_in(const char *name)
{
    char *p;
    ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

/* Write text into dir/name and return the path (free it). */
static char *write_in(const char *name, const char *text, size_t len)
{
    char *p = path_in(name);
    test_write_file(p, text, len);
    return p;
}

/* ---- Tests -------------------------------------------------------------- */

START_TEST(test_lines_end_at_newline_and_drop_cr)
{
    static const char text[] = "a\r\nb\rc\n\n\r\nd\r";
    static const char *const want[] = {"a", "b\rc", "", "", "d\r"};
    char *p = write_in("f.txt", text, sizeof text - 1);
    read_out_t got;
    ck_assert_int_eq(read_text(p, 0, 1000, &got), FLOW_OK);
    ck_assert_int_eq(got.nsplits, 1);
    ck_assert_uint_eq(got.lines.len, 5);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_uint_eq(got.lines.n[i], strlen(want[i]));
        ck_assert(memcmp(got.lines.p[i], want[i], got.lines.n[i]) == 0);
    }
    ck_assert_uint_eq(got.m.bytes, sizeof text - 1);
    lines_free(&got.lines);
    free(p);
}
END_TEST

START_TEST(test_every_split_size_reads_each_line_once)
{
    static const char text[] =
        "first\r\nsecond\n\nlone\rcarriage\n\r\n"
        "a line much longer than most of the small split sizes tried\r\n"
        "x\n\n\n\ry\r\nno newline at the end";
    size_t len = sizeof text - 1;
    char *p = write_in("small.txt", text, len);
    line_list_t want = {0};
    ref_lines(&want, text, len);
    for (uint64_t ss = 1; ss <= len; ss++)
        ck_assert_int_eq(check_read(p, 0, ss, &want, len),
                         (int)((len + ss - 1) / ss));
    lines_free(&want);
    free(p);
}
END_TEST

START_TEST(test_min_partitions_cuts_smaller_splits)
{
    char text[100];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = i % 10 == 9 ? '\n' : (char)('a' + i % 10);
    char *a = write_in("a.txt", text, 60), *b = write_in("b.txt", text, 40);
    flow__err_t err = {0};
    flow__split_t *s;
    int n;
    /* total 100, goal ceil(100 / 4) = 25: a gives 25 25 10, b gives 25 15. */
    ck_assert_int_eq(flow__text_plan(dir, 4, 1000, &err, &s, &n), FLOW_OK);
    static const uint64_t want[] = {25, 25, 10, 25, 15};
    ck_assert_int_eq(n, 5);
    for (int i = 0; i < n; i++)
        ck_assert_uint_eq(s[i].bytes, want[i]);
    flow__splits_free(s, n);
    /* split_size is a ceiling the hint never raises. */
    ck_assert_int_eq(flow__text_plan(a, 2, 7, &err, &s, &n), FLOW_OK);
    ck_assert_int_eq(n, 9);
    flow__splits_free(s, n);
    /* ceil(60 / 7) = 9 bytes each. */
    ck_assert_int_eq(flow__text_plan(a, 7, 1000, &err, &s, &n), FLOW_OK);
    ck_assert_int_eq(n, 7);
    ck_assert_uint_eq(s[0].bytes, 9);
    ck_assert_uint_eq(s[6].bytes, 6);
    flow__splits_free(s, n);
    line_list_t want_lines = {0};
    ref_lines(&want_lines, text, 60);
    ref_lines(&want_lines, text, 40);
    for (int k = 1; k <= 120; k += 7)
        check_read(dir, k, 1000, &want_lines, 100);
    lines_free(&want_lines);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_directory_lists_visible_files_in_path_order)
{
    char *files[] = {write_in("b.txt", "b1\nb2\n", 6),
                     write_in("a.txt", "a1\na2", 5),
                     write_in("10.txt", "ten\n", 4),
                     write_in("_SUCCESS", "no\n", 3),
                     write_in(".hidden", "no\n", 3)};
    char *sub = path_in("sub"), *fifo = path_in("pipe");
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    char *inner = write_in("sub/inner.txt", "no\n", 3);
    ck_assert_int_eq(mkfifo(fifo, 0644), 0);
    line_list_t want = {0};
    ref_lines(&want, "ten\n", 4);
    ref_lines(&want, "a1\na2", 5);
    ref_lines(&want, "b1\nb2\n", 6);
    check_read(dir, 0, 1000, &want, 15);
    check_read(dir, 0, 2, &want, 15);
    char *slash = path_in("");
    check_read(slash, 0, 3, &want, 15);
    lines_free(&want);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        free(files[i]);
    free(sub);
    free(fifo);
    free(inner);
    free(slash);
}
END_TEST

START_TEST(test_glob_matches_in_path_order)
{
    char *files[] = {write_in("part-2.txt", "two\n", 4),
                     write_in("part-10.txt", "ten\n", 4),
                     write_in("part-1.txt", "one\n", 4),
                     write_in("_tmp.txt", "tmp\n", 4),
                     write_in(".h.txt", "hidden\n", 7),
                     write_in("other.log", "log\n", 4)};
    char *pattern = path_in("*.txt");
    line_list_t want = {0};
    ref_lines(&want, "tmp\none\nten\ntwo\n", 16);
    check_read(pattern, 0, 1000, &want, 16);
    check_read(pattern, 0, 3, &want, 16);
    lines_free(&want);
    free(pattern);
    /* An explicitly matched hidden name is kept. */
    pattern = path_in(".*.txt");
    ref_lines(&want, "hidden\n", 7);
    check_read(pattern, 0, 1000, &want, 7);
    lines_free(&want);
    free(pattern);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        free(files[i]);
}
END_TEST

START_TEST(test_glob_matching_directory_reads_its_files)
{
    char *sub = path_in("logs");
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    char *a = write_in("logs/a", "in a\n", 5);
    char *b = write_in("logs/_b", "x\n", 2);
    char *pattern = path_in("lo?s");
    line_list_t want = {0};
    ref_lines(&want, "in a\n", 5);
    check_read(pattern, 0, 1000, &want, 5);
    lines_free(&want);
    free(pattern);
    free(sub);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_empty_file_gives_no_splits)
{
    char *p = write_in("empty.txt", "", 0);
    read_out_t got;
    ck_assert_int_eq(read_text(p, 0, 1, &got), FLOW_OK);
    ck_assert_int_eq(got.nsplits, 0);
    ck_assert_uint_eq(got.lines.len, 0);
    ck_assert_int_eq(read_text(p, 8, 1, &got), FLOW_OK);
    ck_assert_int_eq(got.nsplits, 0);
    /* Next to a non-empty file it adds nothing. */
    char *q = write_in("full.txt", "x\n", 2);
    ck_assert_int_eq(read_text(dir, 0, 1, &got), FLOW_OK);
    ck_assert_int_eq(got.nsplits, 2);
    ck_assert_uint_eq(got.lines.len, 1);
    lines_free(&got.lines);
    free(p);
    free(q);
}
END_TEST

START_TEST(test_empty_directory_gives_no_splits)
{
    read_out_t got;
    ck_assert_int_eq(read_text(dir, 3, 100, &got), FLOW_OK);
    ck_assert_int_eq(got.nsplits, 0);
}
END_TEST

START_TEST(test_newline_only_file_gives_one_empty_line)
{
    char *p = write_in("nl.txt", "\n", 1);
    read_out_t got;
    ck_assert_int_eq(read_text(p, 0, 1, &got), FLOW_OK);
    ck_assert_int_eq(got.nsplits, 1);
    ck_assert_uint_eq(got.lines.len, 1);
    ck_assert_uint_eq(got.lines.n[0], 0);
    ck_assert_uint_eq(got.m.bytes, 1);
    lines_free(&got.lines);
    free(p);
}
END_TEST

START_TEST(test_missing_path_fails_enoent_naming_it)
{
    char *p = path_in("no-such-file.txt");
    read_out_t got;
    ck_assert_int_eq(read_text(p, 0, 100, &got), FLOW_ENOENT);
    char want[512];
    snprintf(want, sizeof want, "text_file: no such file or directory: %s", p);
    ck_assert_str_eq(got.err.msg, want);
    free(p);
}
END_TEST

START_TEST(test_glob_matching_nothing_fails_enoent_naming_it)
{
    char *p = path_in("*.nothing");
    read_out_t got;
    ck_assert_int_eq(read_text(p, 0, 100, &got), FLOW_ENOENT);
    ck_assert_ptr_nonnull(strstr(got.err.msg, p));
    free(p);
}
END_TEST

START_TEST(test_fifo_path_fails_eio_naming_it)
{
    char *p = path_in("fifo");
    ck_assert_int_eq(mkfifo(p, 0644), 0);
    read_out_t got;
    ck_assert_int_eq(read_text(p, 0, 100, &got), FLOW_EIO);
    ck_assert_ptr_nonnull(strstr(got.err.msg, p));
    free(p);
}
END_TEST

START_TEST(test_unreadable_file_fails_eio_naming_it)
{
    if (geteuid() == 0)
        return; /* root reads mode 000 files: nothing to test. */
    char *p = write_in("secret.txt", "x\n", 2);
    ck_assert_int_eq(chmod(p, 0), 0);
    read_out_t got;
    ck_assert_int_eq(read_text(p, 0, 100, &got), FLOW_EIO);
    ck_assert_ptr_nonnull(strstr(got.err.msg, p));
    ck_assert_ptr_nonnull(strstr(got.err.msg, "ermission"));
    free(p);
}
END_TEST

/* A random text: letters, '\n' and '\r', lines short or long. */
static char *random_text(uint64_t *seed, size_t len)
{
    static const unsigned nl_odds[] = {2, 8, 40, 400, 5000};
    unsigned odds = nl_odds[test_rand(seed) % 5];
    char *t = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++) {
        uint64_t r = test_rand(seed);
        if (r % odds == 0)
            t[i] = '\n';
        else if (r % 13 == 1)
            t[i] = '\r';
        else
            t[i] = (char)('a' + (r >> 32) % 26);
    }
    return t;
}

START_TEST(test_random_files_match_reference)
{
    uint64_t seed = 20240611;
    for (int round = 0; round < 12; round++) {
        int nfiles = 1 + (int)(test_rand(&seed) % 3);
        line_list_t want = {0};
        uint64_t total = 0;
        for (int f = 0; f < nfiles; f++) {
            size_t len = (size_t)(test_rand(&seed) % 12000);
            char *t = random_text(&seed, len), name[32];
            snprintf(name, sizeof name, "r%d-%d.txt", round, f);
            free(write_in(name, t, len));
            ref_lines(&want, t, len);
            total += len;
            free(t);
        }
        char pat[32];
        snprintf(pat, sizeof pat, "r%d-*.txt", round);
        char *pattern = path_in(pat);
        static const uint64_t sizes[] = {1, 2, 3, 7, 64, 4095, 4096, 4097,
                                         8192, 1 << 20};
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            check_read(pattern, 0, sizes[i], &want, total);
        for (int k = 0; k < 4; k++)
            check_read(pattern, 1 + (int)(test_rand(&seed) % 50),
                       1 + test_rand(&seed) % 5000, &want, total);
        lines_free(&want);
        free(pattern);
    }
}
END_TEST

/* Try to open hand-made split bytes; they must be refused as malformed. */
static void check_malformed(const void *data, size_t len)
{
    flow__err_t err = {0};
    void *r = (void *)1;
    ck_assert_int_eq(flow__src_text_ops.open(data, len, &err, &r), FLOW_EPROTO);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(err.msg, "text_file"));
}

/* Hand-encode a split in the layout of src_text.c's head comment. */
static void encode(flow__wbuf_t *b, const void *path, size_t plen,
                   uint64_t fsize, uint64_t off, uint64_t len)
{
    flow__wbuf_init(b);
    flow__wbuf_bytes(b, path, plen);
    flow__wbuf_u64(b, fsize);
    flow__wbuf_u64(b, off);
    flow__wbuf_u64(b, len);
}

START_TEST(test_malformed_split_fails_eproto)
{
    char *p = write_in("f.txt", "hello\nworld\n", 12);
    flow__err_t err = {0};
    flow__split_t *s;
    int n;
    ck_assert_int_eq(flow__text_plan(p, 0, 100, &err, &s, &n), FLOW_OK);
    ck_assert_int_eq(n, 1);
    for (size_t len = 0; len < s[0].len; len++)
        check_malformed(s[0].data, len);
    check_malformed(NULL, 0);
    uint8_t *longer = malloc(s[0].len + 1);
    memcpy(longer, s[0].data, s[0].len);
    longer[s[0].len] = 0;
    check_malformed(longer, s[0].len + 1);
    free(longer);
    flow__splits_free(s, n);
    flow__wbuf_t b;
    encode(&b, p, strlen(p), 12, 13, 0); /* Starts past the end. */
    check_malformed(b.data, b.len);
    flow__wbuf_free(&b);
    encode(&b, p, strlen(p), 12, 6, 7); /* Runs past the end. */
    check_malformed(b.data, b.len);
    flow__wbuf_free(&b);
    encode(&b, p, strlen(p), 12, 1, UINT64_MAX); /* Wraps around. */
    check_malformed(b.data, b.len);
    flow__wbuf_free(&b);
    encode(&b, "a\0b", 3, 12, 0, 12); /* A NUL inside the path. */
    check_malformed(b.data, b.len);
    flow__wbuf_free(&b);
    encode(&b, "", 0, 12, 0, 12); /* No path. */
    check_malformed(b.data, b.len);
    flow__wbuf_free(&b);
    free(p);
}
END_TEST

START_TEST(test_file_changed_after_planning_fails_eio)
{
    char *p = write_in("grow.txt", "one\ntwo\n", 8);
    flow__err_t err = {0};
    flow__split_t *s;
    int n;
    ck_assert_int_eq(flow__text_plan(p, 0, 4, &err, &s, &n), FLOW_OK);
    ck_assert_int_eq(n, 2);
    test_write_file(p, "one\ntwo\nthree\n", 14);
    void *r = (void *)1;
    ck_assert_int_eq(flow__src_text_ops.open(s[1].data, s[1].len, &err, &r),
                     FLOW_EIO);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(err.msg, p));
    ck_assert_ptr_nonnull(strstr(err.msg, "changed size"));
    /* A file removed since planning cannot be read either. */
    ck_assert_int_eq(unlink(p), 0);
    ck_assert_int_eq(flow__src_text_ops.open(s[0].data, s[0].len, &err, &r),
                     FLOW_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, p));
    flow__splits_free(s, n);
    free(p);
}
END_TEST

START_TEST(test_relative_path_reads_from_any_directory)
{
    char *p = write_in("rel.txt", "r1\r\nr2\n", 7);
    char old[4096];
    ck_assert_ptr_nonnull(getcwd(old, sizeof old));
    ck_assert_int_eq(chdir(dir), 0);
    flow__err_t err = {0};
    flow__split_t *s;
    int n;
    int rc = flow__text_plan("rel.txt", 0, 3, &err, &s, &n);
    ck_assert_int_eq(chdir("/"), 0);
    ck_assert_int_eq(rc, FLOW_OK);
    read_out_t got;
    memset(&got, 0, sizeof got);
    for (int i = 0; i < n; i++)
        read_split(&s[i], &got);
    flow__splits_free(s, n);
    ck_assert_int_eq(chdir(old), 0);
    line_list_t want = {0};
    ref_lines(&want, "r1\r\nr2\n", 7);
    check_lines(&got.lines, &want, "relative");
    lines_free(&want);
    lines_free(&got.lines);
    free(p);
}
END_TEST

/* Read every split of path as chunks and concatenate them. */
static size_t read_chunks(const char *path, uint64_t split_size, char *out, size_t cap)
{
    flow__split_t *splits;
    int n;
    flow__err_t err;
    flow__err_clear(&err);
    ck_assert_int_eq(flow__text_plan(path, 0, split_size, &err, &splits, &n), FLOW_OK);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        void *r;
        ck_assert_int_eq(flow__src_text_chunk_ops.open(splits[i].data, splits[i].len, &err, &r),
                         FLOW_OK);
        flow_rec_t rec;
        while (flow__src_text_chunk_ops.next(r, &rec, &err) == 1) {
            ck_assert_uint_le(len + rec.vlen, cap);
            /* A chunk is whole lines: it ends with '\n' unless the file does not. */
            ck_assert_uint_gt(rec.vlen, 0);
            memcpy(out + len, rec.val, rec.vlen);
            len += rec.vlen;
        }
        flow__src_text_chunk_ops.close(r);
    }
    flow__splits_free(splits, n);
    return len;
}

START_TEST(test_chunks_tile_the_file_at_every_split_size)
{
    uint64_t seed = 5;
    size_t len = 3000;
    char *text = random_text(&seed, len);
    char *path = write_in("chunks.txt", text, len);
    char *got = malloc(len + 1);
    for (uint64_t split = 1; split <= len; split += (split < 64 ? 1 : 37)) {
        size_t n = read_chunks(path, split, got, len);
        ck_assert_uint_eq(n, len);
        ck_assert_int_eq(memcmp(got, text, len), 0);
    }
    free(got);
    free(path);
    free(text);
}
END_TEST

START_TEST(test_chunks_hold_a_line_longer_than_a_chunk)
{
    size_t len = (3u << 20) + 10;
    char *text = malloc(len);
    memset(text, 'x', len);
    text[5] = '\n';
    text[(2u << 20) + 3] = '\n';
    char *path = write_in("long.txt", text, len);
    char *got = malloc(len);
    ck_assert_uint_eq(read_chunks(path, 1u << 20, got, len), len);
    ck_assert_int_eq(memcmp(got, text, len), 0);
    free(got);
    free(path);
    free(text);
}
END_TEST

Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("text");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_lines_end_at_newline_and_drop_cr);
    tcase_add_test(tc, test_every_split_size_reads_each_line_once);
    tcase_add_test(tc, test_min_partitions_cuts_smaller_splits);
    tcase_add_test(tc, test_directory_lists_visible_files_in_path_order);
    tcase_add_test(tc, test_glob_matches_in_path_order);
    tcase_add_test(tc, test_glob_matching_directory_reads_its_files);
    tcase_add_test(tc, test_empty_file_gives_no_splits);
    tcase_add_test(tc, test_empty_directory_gives_no_splits);
    tcase_add_test(tc, test_newline_only_file_gives_one_empty_line);
    tcase_add_test(tc, test_missing_path_fails_enoent_naming_it);
    tcase_add_test(tc, test_glob_matching_nothing_fails_enoent_naming_it);
    tcase_add_test(tc, test_fifo_path_fails_eio_naming_it);
    tcase_add_test(tc, test_unreadable_file_fails_eio_naming_it);
    tcase_add_test(tc, test_random_files_match_reference);
    tcase_add_test(tc, test_malformed_split_fails_eproto);
    tcase_add_test(tc, test_file_changed_after_planning_fails_eio);
    tcase_add_test(tc, test_relative_path_reads_from_any_directory);
    tcase_add_test(tc, test_chunks_tile_the_file_at_every_split_size);
    tcase_add_test(tc, test_chunks_hold_a_line_longer_than_a_chunk);
    suite_add_tcase(s, tc);
    return s;
}
