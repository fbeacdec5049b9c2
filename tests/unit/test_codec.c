/* test_codec.c - LZ4 frames and spill files */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "mem.h"
#include "suites.h"
#include "testutil.h"

static char *dir;
static flow__err_t err;
/* write_spill stores its chunks as they are (flow__spill_store_raw); off
 * unless a test sets it. */
static int stored_chunks;

/* A check inside a loop over many records. Check's ck_assert reports every
 * passing check to the parent process, so hot loops only report failures. */
#define EXPECT(cond, ...)                                                    \
    do {                                                                     \
        if (!(cond))                                                         \
            ck_abort_msg(__VA_ARGS__);                                       \
    } while (0)

static void setup(void)
{
    dir = test_tmpdir();
    flow__err_clear(&err);
    stored_chunks = 0;
}

static void teardown(void)
{
    test_rmtree(dir);
    free(dir);
}

/* n bytes: random, or text-like with long repeats when compressible. */
static uint8_t *make_data(size_t n, int compressible, uint64_t seed)
{
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t x = test_rand(&seed);
        p[i] = compressible ? (uint8_t)("flow data "[i % 10] + (x % 64 == 0)) : (uint8_t)x;
    }
    return p;
}

static size_t count_files(const char *path)
{
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static const size_t lz4_sizes[] = {0, 1, 100000, 10u << 20};

START_TEST(test_lz4_round_trip_returns_same_bytes)
{
    size_t n = lz4_sizes[_i / 2];
    int compressible = _i % 2;
    uint8_t *src = make_data(n, compressible, 42 + (uint64_t)_i);
    flow__wbuf_t frame, out;
    flow__wbuf_init(&frame);
    flow__wbuf_init(&out);
    flow__lz4_compress(src, n, &frame);
    if (compressible && n >= 100000)
        ck_assert_uint_lt(frame.len, n / 4);
    flow__wbuf_put(&out, "prefix..", 8); /* Decompression appends. */
    ck_assert_int_eq(flow__lz4_decompress(frame.data, frame.len, &out, "test", &err), FLOW_OK);
    ck_assert_uint_eq(out.len, 8 + n);
    ck_assert_int_eq(memcmp(out.data, "prefix..", 8), 0);
    ck_assert(n == 0 || memcmp(out.data + 8, src, n) == 0);
    flow__wbuf_free(&frame);
    flow__wbuf_free(&out);
    free(src);
}
END_TEST

START_TEST(test_lz4_flipped_byte_is_protocol_error)
{
    /* Half compressible, half random, so that the frame has compressed and
     * stored blocks; 70 KB, so that it has two blocks. */
    size_t n = 70000;
    uint8_t *src = make_data(n, 1, 5), *rnd = make_data(n / 2, 0, 6);
    memcpy(src + n / 2, rnd, n / 2);
    flow__wbuf_t frame, out;
    flow__wbuf_init(&frame);
    flow__wbuf_init(&out);
    flow__lz4_compress(src, n, &frame);
    static const uint8_t masks[] = {0x01, 0x80, 0xFF};
    size_t step = frame.len / 3000 + 1;
    for (size_t pos = 0; pos < frame.len; pos += (pos < 64 || frame.len - pos < 64) ? 1 : step) {
        for (int m = 0; m < 3; m++) {
            frame.data[pos] ^= masks[m];
            flow__err_clear(&err);
            int rc = flow__lz4_decompress(frame.data, frame.len, &out, "frame-x", &err);
            EXPECT(rc == FLOW_EPROTO, "flip at %zu/%zu (mask %x) gave %d", pos, frame.len,
                   masks[m], rc);
            EXPECT(out.len == 0, "flip at %zu returned data", pos);
            EXPECT(strstr(err.msg, "frame-x"), "flip at %zu: %s", pos, err.msg);
            frame.data[pos] ^= masks[m];
        }
    }
    /* A flip inside a block is a checksum mismatch. */
    frame.data[frame.len / 2] ^= 0x10;
    ck_assert_int_eq(flow__lz4_decompress(frame.data, frame.len, &out, "frame-y", &err),
                     FLOW_EPROTO);
    ck_assert_msg(strstr(err.msg, "checksum") && strstr(err.msg, "frame-y"), "%s", err.msg);
    flow__wbuf_free(&frame);
    flow__wbuf_free(&out);
    free(src);
    free(rnd);
}
END_TEST

START_TEST(test_lz4_truncated_or_extended_frame_is_protocol_error)
{
    size_t n = 100000;
    uint8_t *src = make_data(n, 0, 9);
    flow__wbuf_t frame, out;
    flow__wbuf_init(&frame);
    flow__wbuf_init(&out);
    flow__lz4_compress(src, n, &frame);
    for (size_t len = 0; len < frame.len; len += len < 32 || frame.len - len < 32 ? 1 : 997) {
        int rc = flow__lz4_decompress(frame.data, len, &out, "cut", &err);
        EXPECT(rc == FLOW_EPROTO && out.len == 0, "cut at %zu: rc %d", len, rc);
    }
    ck_assert_ptr_nonnull(strstr(err.msg, "truncated"));
    flow__wbuf_u8(&frame, 0);
    ck_assert_int_eq(flow__lz4_decompress(frame.data, frame.len, &out, "long", &err),
                     FLOW_EPROTO);
    ck_assert_ptr_nonnull(strstr(err.msg, "after the end"));
    flow__wbuf_free(&frame);
    flow__wbuf_free(&out);
    free(src);
}
END_TEST

/* ---- Spill files ------------------------------------------------------ */

#define NRECS 30000
#define BIG (1u << 20)

/* Record i of a deterministic set: keyed, unkeyed, empty key, 0-byte values,
 * and one 1 MB value. The bytes come from pool. */
static flow_rec_t rec_at(int i, const uint8_t *pool)
{
    uint64_t st = (uint64_t)i * 7919;
    size_t klen = test_rand(&st) % 24, vlen = test_rand(&st) % 200;
    size_t off = test_rand(&st) % 4096;
    if (i % 7 == 0)
        vlen = 0;
    if (i == NRECS / 2)
        vlen = BIG;
    switch (i % 3) {
    case 0: return flow_rec(pool + off, vlen);
    case 1: return flow_rec_kv(pool + off + 1, klen, pool + off + 3, vlen);
    default: return flow_rec_kv(pool, 0, pool + off + 5, vlen);
    }
}

static int same(const flow_rec_t *got, const flow_rec_t *want)
{
    if (!got->key != !want->key || (uintptr_t)got->val % 8 || got->vlen != want->vlen)
        return 0;
    if (want->key && (got->klen != want->klen || (uintptr_t)got->key % 8 ||
                      (want->klen && memcmp(got->key, want->key, want->klen))))
        return 0;
    return want->vlen == 0 || memcmp(got->val, want->val, want->vlen) == 0;
}

/* Write records [0, n) to a new spill file; segment s starts at record
 * seg_start[s] with id 2 * s (unless seg_start is NULL). */
static void write_spill(const uint8_t *pool, int n, const int *seg_start, int nsegs,
                        flow__spill_file_t *f)
{
    flow__spill_writer_t *w;
    ck_assert_int_eq(flow__spill_create(dir, &w, &err), FLOW_OK);
    if (stored_chunks)
        flow__spill_store_raw(w);
    int s = 0;
    for (int i = 0; i < n; i++) {
        while (s < nsegs && seg_start[s] == i)
            ck_assert_int_eq(flow__spill_segment(w, 2 * (uint32_t)s++, &err), FLOW_OK);
        flow_rec_t r = rec_at(i, pool);
        EXPECT(flow__spill_put(w, &r, &err) == FLOW_OK, "put %d: %s", i, err.msg);
    }
    while (s < nsegs)
        ck_assert_int_eq(flow__spill_segment(w, 2 * (uint32_t)s++, &err), FLOW_OK);
    ck_assert_int_eq(flow__spill_finish(w, f, &err), FLOW_OK);
}

/* Read records [lo, hi) back from segment seg (or all when seg < 0). */
static void read_spill(const flow__spill_file_t *f, int64_t seg, const uint8_t *pool, int lo,
                       int hi)
{
    flow__spill_reader_t *r;
    ck_assert_int_eq(flow__spill_open(f, seg, &r, &err), FLOW_OK);
    flow_rec_t got;
    for (int i = lo; i < hi; i++) {
        EXPECT(flow__spill_next(r, &got, &err) == 1, "record %d: %s", i, err.msg);
        flow_rec_t want = rec_at(i, pool);
        EXPECT(same(&got, &want), "record %d differs", i);
    }
    ck_assert_msg(flow__spill_next(r, &got, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(flow__spill_next(r, &got, &err), 0);
    flow__spill_close(r);
}

static uint8_t *make_pool(void) { return make_data(BIG + 8192, 0, 77); }

START_TEST(test_spill_round_trip_keeps_records)
{
    stored_chunks = _i;
    uint8_t *pool = make_pool();
    flow__spill_file_t f;
    write_spill(pool, NRECS, NULL, 0, &f);
    ck_assert_uint_eq(f.records, NRECS);
    ck_assert_uint_eq(f.nsegs, 0);
    uint64_t raw = 0;
    for (int i = 0; i < NRECS; i++) {
        flow_rec_t r = rec_at(i, pool);
        raw += flow__rec_size(&r);
    }
    ck_assert_uint_eq(f.raw_bytes, raw);
    if (stored_chunks) /* Every record as it is, plus headers and checksums. */
        ck_assert_uint_gt(f.file_bytes, raw);
    size_t len;
    char *bytes = test_read_file(f.path, &len);
    ck_assert_uint_eq(len, f.file_bytes);
    free(bytes);
    ck_assert_ptr_nonnull(strstr(f.path, dir));
    read_spill(&f, -1, pool, 0, NRECS);
    read_spill(&f, 0, pool, 0, 0); /* No segments: every id is empty. */
    flow__spill_remove(&f);
    ck_assert_uint_eq(count_files(dir), 0);
    free(pool);
}
END_TEST

START_TEST(test_spill_empty_file_reads_nothing)
{
    flow__spill_file_t f;
    write_spill(NULL, 0, NULL, 0, &f);
    ck_assert_uint_eq(f.records, 0);
    read_spill(&f, -1, NULL, 0, 0);
    flow__spill_remove(&f);
    flow__spill_remove(&f); /* Safe when repeated. */
}
END_TEST

START_TEST(test_spill_segments_read_alone)
{
    stored_chunks = _i;
    uint8_t *pool = make_pool();
    /* Segment 0 starts late (records before it belong to no segment), segment
     * 2 (id 4) is empty and the last one (id 8) is empty at the end. */
    static const int start[] = {100, 5000, 5000, NRECS - 10, NRECS};
    flow__spill_file_t f;
    write_spill(pool, NRECS, start, 5, &f);
    ck_assert_uint_eq(f.nsegs, 5);
    ck_assert_uint_eq(f.seg_off[5], f.file_bytes - 28);
    for (int s = 0; s < 5; s++) {
        ck_assert_uint_eq(f.seg_id[s], 2 * (uint32_t)s);
        read_spill(&f, 2 * s, pool, start[s], s < 4 ? start[s + 1] : NRECS);
    }
    read_spill(&f, 1, pool, 0, 0); /* Missing ids are empty. */
    read_spill(&f, 99, pool, 0, 0);
    read_spill(&f, -1, pool, 0, NRECS);
    flow__spill_remove(&f);
    free(pool);
}
END_TEST

START_TEST(test_spill_names_are_unique_and_abort_removes)
{
    flow__spill_writer_t *w[64];
    for (int i = 0; i < 64; i++)
        ck_assert_int_eq(flow__spill_create(dir, &w[i], &err), FLOW_OK);
    ck_assert_uint_eq(count_files(dir), 64);
    for (int i = 0; i < 64; i++)
        flow__spill_abort(w[i]);
    ck_assert_uint_eq(count_files(dir), 0);
}
END_TEST

START_TEST(test_spill_create_in_missing_dir_is_io_error)
{
    char *missing = flow__asprintf("%s/nope", dir);
    flow__spill_writer_t *w = NULL;
    ck_assert_int_eq(flow__spill_create(missing, &w, &err), FLOW_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, missing));
    ck_assert_ptr_null(w);
    flow__free(missing);
}
END_TEST

/* Damage the file of f in one way (_i) and read it: FLOW_EPROTO naming it. */
START_TEST(test_spill_corrupt_file_is_protocol_error)
{
    stored_chunks = _i >= 9;
    uint8_t *pool = make_pool();
    static const int start[] = {0, 10000};
    flow__spill_file_t f;
    write_spill(pool, 20000, start, 2, &f);
    size_t len;
    uint8_t *b = (uint8_t *)test_read_file(f.path, &len);
    size_t mid = (size_t)f.seg_off[1] + 8 + 1000; /* Inside segment 1's first frame. */
    int64_t seg = -1;
    switch (_i % 9) {
    case 0: b[mid] ^= 0x04; break;                           /* Flipped data. */
    case 1: b[mid] ^= 0x04; seg = 2; break;                  /* ... read by segment. */
    case 2: len -= 100; break;                               /* Truncated. */
    case 3: b[len - 28] = 'X'; break;                        /* Bad trailer magic. */
    case 4: b[len - 10] ^= 1; break;                         /* Bad trailer counts. */
    case 5: b[f.seg_off[1] + 6] = 0x7F; seg = 2; break;      /* Frame length too big. */
    case 6: b[f.seg_off[1]] += 8; seg = 2; break;            /* Raw length mismatch. */
    case 7: b[f.seg_off[1] + 3] = 0x7F; seg = 2; break;      /* Raw length implausible. */
    case 8: memset(b + f.seg_off[1], 0, 8); seg = 2; break;  /* Zeroed chunk header. */
    }
    test_write_file(f.path, b, len);
    free(b);
    flow__spill_reader_t *r = NULL;
    int rc = flow__spill_open(&f, seg, &r, &err);
    flow_rec_t rec;
    int64_t n = 0;
    if (rc == FLOW_OK)
        while ((rc = flow__spill_next(r, &rec, &err)) == 1)
            n++;
    ck_assert_msg(rc == FLOW_EPROTO, "damage %d: rc %d after %lld records", _i, rc,
                  (long long)n);
    ck_assert_msg(strstr(err.msg, f.path) && strstr(err.msg, "offset"), "%s", err.msg);
    if (_i % 9 == 0 || _i % 9 == 1)
        ck_assert_ptr_nonnull(strstr(err.msg, "checksum"));
    flow__spill_close(r);
    flow__spill_remove(&f);
    free(pool);
}
END_TEST

START_TEST(test_spill_huge_record_is_invalid)
{
    flow__spill_writer_t *w;
    ck_assert_int_eq(flow__spill_create(dir, &w, &err), FLOW_OK);
    flow_rec_t r = flow_rec("x", (size_t)FLOW_REC_MAX + 1);
    ck_assert_int_eq(flow__spill_put(w, &r, &err), FLOW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "too large"));
    flow__spill_abort(w);
}
END_TEST

Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_lz4_round_trip_returns_same_bytes, 0, 8);
    tcase_add_test(tc, test_lz4_flipped_byte_is_protocol_error);
    tcase_add_test(tc, test_lz4_truncated_or_extended_frame_is_protocol_error);
    tcase_add_loop_test(tc, test_spill_round_trip_keeps_records, 0, 2);
    tcase_add_test(tc, test_spill_empty_file_reads_nothing);
    tcase_add_loop_test(tc, test_spill_segments_read_alone, 0, 2);
    tcase_add_test(tc, test_spill_names_are_unique_and_abort_removes);
    tcase_add_test(tc, test_spill_create_in_missing_dir_is_io_error);
    tcase_add_loop_test(tc, test_spill_corrupt_file_is_protocol_error, 0, 18);
    tcase_add_test(tc, test_spill_huge_record_is_invalid);
    suite_add_tcase(s, tc);
    return s;
}
