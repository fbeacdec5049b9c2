/* test_buf.c - growable buffers and bounds-checked decoding */
#include <check.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "suites.h"

START_TEST(test_wbuf_rbuf_round_trip)
{
    flow__wbuf_t b;
    flow__wbuf_init(&b);
    flow__wbuf_u8(&b, 0xAB);
    flow__wbuf_u32(&b, 0xDEADBEEF);
    flow__wbuf_u64(&b, 0x0123456789ABCDEFull);
    flow__wbuf_f64(&b, -2.5);
    flow__wbuf_str(&b, "hello");
    flow__wbuf_align(&b, 8);
    ck_assert_uint_eq(b.len % 8, 0);
    flow__rbuf_t r;
    flow__rbuf_init(&r, b.data, b.len);
    ck_assert_uint_eq(flow__rbuf_u8(&r), 0xAB);
    ck_assert_uint_eq(flow__rbuf_u32(&r), 0xDEADBEEF);
    ck_assert(flow__rbuf_u64(&r) == 0x0123456789ABCDEFull);
    ck_assert(flow__rbuf_f64(&r) == -2.5);
    char *s = flow__rbuf_strdup(&r);
    ck_assert_str_eq(s, "hello");
    flow__free(s);
    flow__rbuf_align(&r, 8);
    ck_assert(flow__rbuf_ok(&r));
    ck_assert_uint_eq(flow__rbuf_left(&r), 0);
    flow__wbuf_free(&b);
}
END_TEST

START_TEST(test_rbuf_short_input_fails_without_overread)
{
    uint8_t bytes[3] = {1, 2, 3};
    flow__rbuf_t r;
    flow__rbuf_init(&r, bytes, sizeof bytes);
    ck_assert_uint_eq(flow__rbuf_u32(&r), 0);
    ck_assert(!flow__rbuf_ok(&r));
    ck_assert_uint_eq(flow__rbuf_u8(&r), 0); /* Stays failed. */
    /* A length prefix larger than what follows. */
    uint8_t lie[6] = {100, 0, 0, 0, 'a', 'b'};
    flow__rbuf_init(&r, lie, sizeof lie);
    size_t n;
    ck_assert_ptr_null(flow__rbuf_bytes(&r, &n));
    ck_assert(!flow__rbuf_ok(&r));
}
END_TEST

START_TEST(test_wbuf_take_hands_over_data)
{
    flow__wbuf_t b;
    flow__wbuf_init(&b);
    for (int i = 0; i < 100000; i++)
        flow__wbuf_u8(&b, (uint8_t)i);
    size_t len;
    uint8_t *p = flow__wbuf_take(&b, &len);
    ck_assert_uint_eq(len, 100000);
    ck_assert_uint_eq(p[99999], (uint8_t)99999);
    ck_assert_ptr_null(b.data);
    flow__free(p);
}
END_TEST

Suite *buf_suite(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_wbuf_rbuf_round_trip);
    tcase_add_test(tc, test_rbuf_short_input_fails_without_overread);
    tcase_add_test(tc, test_wbuf_take_hands_over_data);
    suite_add_tcase(s, tc);
    return s;
}
