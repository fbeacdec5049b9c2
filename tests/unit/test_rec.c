/* test_rec.c - block layout, arenas, key encodings */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "rec.h"
#include "suites.h"
#include "testutil.h"

START_TEST(test_block_round_trip_keeps_records_and_alignment)
{
    flow__wbuf_t b;
    flow__wbuf_init(&b);
    uint64_t seed = 7;
    char bytes[64][40];
    flow_rec_t in[64];
    for (int i = 0; i < 64; i++) {
        size_t kl = test_rand(&seed) % 20, vl = test_rand(&seed) % 40;
        for (size_t k = 0; k < 40; k++)
            bytes[i][k] = (char)test_rand(&seed);
        in[i] = i % 3 == 0 ? flow_rec(bytes[i], vl) : flow_rec_kv(bytes[i], kl, bytes[i], vl);
        flow__block_append(&b, &in[i]);
    }
    ck_assert_int_eq(flow__block_count(b.data, b.len), 64);
    size_t pos = 0;
    flow_rec_t r;
    for (int i = 0; i < 64; i++) {
        ck_assert_int_eq(flow__block_next(b.data, b.len, &pos, &r), 1);
        ck_assert_uint_eq((uintptr_t)r.val % 8, 0);
        ck_assert_uint_eq(r.vlen, in[i].vlen);
        ck_assert_int_eq(memcmp(r.val, in[i].val, r.vlen), 0);
        ck_assert_int_eq(r.key == NULL, in[i].key == NULL);
        if (r.key) {
            ck_assert_uint_eq((uintptr_t)r.key % 8, 0);
            ck_assert_uint_eq(r.klen, in[i].klen);
            ck_assert_int_eq(memcmp(r.key, in[i].key, r.klen), 0);
        }
    }
    ck_assert_int_eq(flow__block_next(b.data, b.len, &pos, &r), 0);
    flow__wbuf_free(&b);
}
END_TEST

/* flow__copy writes exactly n bytes, whatever n; the record writer pads each
 * field with zeros over whatever the memory held. */
START_TEST(test_copy_and_padding_are_exact)
{
    uint8_t src[48], dst[64];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i + 1);
    for (size_t n = 0; n <= 40; n++) {
        memset(dst, 0xAA, sizeof dst);
        flow__copy(dst + 8, src + 3, n);
        for (size_t i = 0; i < sizeof dst; i++)
            ck_assert_uint_eq(dst[i], i >= 8 && i < 8 + n ? src[3 + i - 8] : 0xAA);
    }
    uint8_t rec[8 + 32 + 32];
    for (size_t kl = 0; kl <= 24; kl++) {
        for (size_t vl = 0; vl <= 24; vl++) {
            memset(rec, 0xAA, sizeof rec);
            flow_rec_t r = flow_rec_kv(src, kl, src + 20, vl);
            size_t n = flow__rec_write(rec, &r);
            ck_assert_uint_eq(n, flow__rec_size(&r));
            size_t kp = flow__pad8(kl);
            for (size_t i = kl; i < kp; i++)
                ck_assert_uint_eq(rec[8 + i], 0);
            for (size_t i = vl; i < flow__pad8(vl); i++)
                ck_assert_uint_eq(rec[8 + kp + i], 0);
            ck_assert_int_eq(memcmp(rec + 8, src, kl), 0);
            ck_assert_int_eq(memcmp(rec + 8 + kp, src + 20, vl), 0);
            ck_assert_uint_eq(rec[n], 0xAA);
        }
    }
}
END_TEST

START_TEST(test_block_empty_key_differs_from_no_key)
{
    flow__wbuf_t b;
    flow__wbuf_init(&b);
    flow_rec_t a = flow_rec("", 0), k = flow_rec_kv("", 0, "", 0);
    flow__block_append(&b, &a);
    flow__block_append(&b, &k);
    size_t pos = 0;
    flow_rec_t r;
    ck_assert_int_eq(flow__block_next(b.data, b.len, &pos, &r), 1);
    ck_assert_ptr_null(r.key);
    ck_assert_int_eq(flow__block_next(b.data, b.len, &pos, &r), 1);
    ck_assert_ptr_nonnull(r.key);
    ck_assert_uint_eq(r.klen, 0);
    flow__wbuf_free(&b);
}
END_TEST

START_TEST(test_block_truncated_is_protocol_error)
{
    flow__wbuf_t b;
    flow__wbuf_init(&b);
    flow_rec_t a = flow_rec("hello world", 11);
    flow__block_append(&b, &a);
    for (size_t cut = 1; cut < b.len; cut++) {
        size_t pos = 0;
        flow_rec_t r;
        int rc = flow__block_next(b.data, cut, &pos, &r);
        ck_assert_int_eq(rc, FLOW_EPROTO);
    }
    /* A header claiming a huge value. */
    uint32_t hdr[2] = {FLOW_NOKEY, 0xFFFFFFF8u};
    memcpy(b.data, hdr, 8);
    ck_assert_int_eq(flow__block_count(b.data, b.len), -1);
    flow__wbuf_free(&b);
}
END_TEST

START_TEST(test_arena_alignment_and_reset)
{
    flow__arena_t a;
    flow__arena_init(&a, 4096);
    for (int i = 1; i < 2000; i++) {
        uint8_t *p = flow__arena_alloc(&a, (size_t)(i % 37));
        ck_assert_uint_eq((uintptr_t)p % 8, 0);
        memset(p, 0xAB, (size_t)(i % 37));
    }
    void *big = flow__arena_alloc(&a, 1 << 20);
    memset(big, 1, 1 << 20);
    ck_assert_uint_ge(a.peak, (size_t)1 << 20);
    flow__arena_reset(&a);
    ck_assert_uint_eq(a.allocated, 4096);
    flow__arena_free(&a);
    ck_assert_uint_eq(a.allocated, 0);
}
END_TEST

static int sign(int c) { return (c > 0) - (c < 0); }

START_TEST(test_i64_keys_order_as_numbers)
{
    uint64_t seed = 1;
    int64_t special[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX};
    for (int i = 0; i < 2000; i++) {
        int64_t x = i < 6 ? special[i] : (int64_t)test_rand(&seed);
        int64_t y = i < 6 ? special[(i + 1) % 6] : (int64_t)test_rand(&seed) >> (i % 60);
        uint8_t kx[8], ky[8];
        flow_key_from_i64(x, kx);
        flow_key_from_i64(y, ky);
        ck_assert_int_eq(flow_key_to_i64(kx), x);
        ck_assert_int_eq(sign(memcmp(kx, ky, 8)), (x > y) - (x < y));
    }
}
END_TEST

START_TEST(test_f64_keys_order_as_numbers)
{
    double v[] = {-INFINITY, -1e300, -2.5, -1e-300, -0.0, 0.0, 1e-300, 3.0, 1e300, INFINITY};
    int n = (int)(sizeof v / sizeof v[0]);
    for (int i = 0; i < n; i++) {
        uint8_t ki[8];
        flow_key_from_f64(v[i], ki);
        double back = flow_key_to_f64(ki);
        ck_assert_int_eq(memcmp(&back, &v[i], 8), 0);
        for (int j = 0; j < n; j++) {
            uint8_t kj[8];
            flow_key_from_f64(v[j], kj);
            ck_assert_int_eq(sign(memcmp(ki, kj, 8)), (i > j) - (i < j));
        }
    }
    uint8_t knan[8], kinf[8];
    flow_key_from_f64(NAN, knan);
    flow_key_from_f64(INFINITY, kinf);
    ck_assert_int_gt(memcmp(knan, kinf, 8), 0);
}
END_TEST

START_TEST(test_rec_cmp_orders_by_key_then_value)
{
    flow_rec_t a = flow_rec_kv("a", 1, "z", 1), b = flow_rec_kv("ab", 2, "a", 1);
    flow_rec_t c = flow_rec("zz", 2);
    ck_assert_int_lt(flow__rec_cmp_bytes(&a, &b), 0);
    ck_assert_int_lt(flow__rec_cmp_bytes(&c, &a), 0); /* Unkeyed first. */
    ck_assert_int_eq(flow__rec_cmp_bytes(&a, &a), 0);
}
END_TEST

Suite *rec_suite(void)
{
    Suite *s = suite_create("rec");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_block_round_trip_keeps_records_and_alignment);
    tcase_add_test(tc, test_copy_and_padding_are_exact);
    tcase_add_test(tc, test_block_empty_key_differs_from_no_key);
    tcase_add_test(tc, test_block_truncated_is_protocol_error);
    tcase_add_test(tc, test_arena_alignment_and_reset);
    tcase_add_test(tc, test_i64_keys_order_as_numbers);
    tcase_add_test(tc, test_f64_keys_order_as_numbers);
    tcase_add_test(tc, test_rec_cmp_orders_by_key_then_value);
    suite_add_tcase(s, tc);
    return s;
}
