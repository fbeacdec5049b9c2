/* test_fnref.c - portable function references */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "fnref.h"
#include "mem.h"
#include "suites.h"

static int local_static_fn(int x) { return x * 7; }

START_TEST(test_static_function_round_trips)
{
    flow__fnref_t ref, back;
    flow__err_t err;
    flow__err_clear(&err);
    ck_assert_int_eq(flow__fnref_make((const void *)local_static_fn, &ref, &err), FLOW_OK);
    ck_assert_uint_gt(ref.idlen, 0);
    flow__wbuf_t b;
    flow__wbuf_init(&b);
    flow__fnref_encode(&b, &ref);
    flow__rbuf_t r;
    flow__rbuf_init(&r, b.data, b.len);
    flow__fnref_decode(&r, &back);
    ck_assert(flow__rbuf_ok(&r));
    int (*fn)(int) = (int (*)(int))flow__fnref_resolve(&back, &err);
    ck_assert_ptr_eq((void *)fn, (void *)local_static_fn);
    ck_assert_int_eq(fn(6), 42);
    flow__wbuf_free(&b);
}
END_TEST

START_TEST(test_shared_library_function_round_trips)
{
    /* zmq_version lives in libzmq, a module other than the test program
     * (and, unlike libc's functions, no sanitizer intercepts it). */
    flow__fnref_t ref;
    flow__err_t err;
    flow__err_clear(&err);
    ck_assert_int_eq(flow__fnref_make((const void *)zmq_version, &ref, &err), FLOW_OK);
    ck_assert_ptr_nonnull(strstr(ref.module, "libzmq"));
    ck_assert_ptr_eq(flow__fnref_resolve(&ref, &err), (void *)zmq_version);
}
END_TEST

START_TEST(test_unknown_build_id_is_clear_error)
{
    flow__fnref_t ref;
    flow__err_t err;
    flow__err_clear(&err);
    ck_assert_int_eq(flow__fnref_make((const void *)local_static_fn, &ref, &err), FLOW_OK);
    ref.build_id[0] ^= 0xFF;
    ck_assert_ptr_null(flow__fnref_resolve(&ref, &err));
    ck_assert_int_eq(err.code, FLOW_EINVAL);
    ck_assert(err.permanent);
    ck_assert_ptr_nonnull(strstr(err.msg, "different build"));
}
END_TEST

START_TEST(test_offset_outside_code_is_error)
{
    flow__fnref_t ref;
    flow__err_t err;
    flow__err_clear(&err);
    ck_assert_int_eq(flow__fnref_make((const void *)local_static_fn, &ref, &err), FLOW_OK);
    ref.offset = 0x7FFFFFFFFFFull;
    ck_assert_ptr_null(flow__fnref_resolve(&ref, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "outside its code"));
}
END_TEST

START_TEST(test_data_address_is_not_a_function)
{
    static int not_code = 3;
    flow__fnref_t ref;
    flow__err_t err;
    flow__err_clear(&err);
    ck_assert_int_eq(flow__fnref_make(&not_code, &ref, &err), FLOW_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "not in the code"));
}
END_TEST

START_TEST(test_null_function_is_empty_reference)
{
    flow__fnref_t ref;
    ck_assert_int_eq(flow__fnref_make(NULL, &ref, NULL), FLOW_OK);
    ck_assert_uint_eq(ref.idlen, 0);
    ck_assert_ptr_null(flow__fnref_resolve(&ref, NULL));
}
END_TEST

Suite *fnref_suite(void)
{
    Suite *s = suite_create("fnref");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_static_function_round_trips);
    tcase_add_test(tc, test_shared_library_function_round_trips);
    tcase_add_test(tc, test_unknown_build_id_is_clear_error);
    tcase_add_test(tc, test_offset_outside_code_is_error);
    tcase_add_test(tc, test_data_address_is_not_a_function);
    tcase_add_test(tc, test_null_function_is_empty_reference);
    suite_add_tcase(s, tc);
    return s;
}
