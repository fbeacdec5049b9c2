/* test_plan.c - task descriptor and result encodings */
#include <check.h>
#include <string.h>

#include "mem.h"
#include "plan.h"
#include "runner.h"
#include "source.h"
#include "suites.h"
#include "testutil.h"

static int keep_all(flow_task_t *t, const flow_rec_t *in, const flow_buf_t *arg) { return 1; }

/* A task: filter(keep_all, arg "xyz") over a range split, collect sink. */
static void make_task(flow__wbuf_t *b)
{
    flow__split_t *splits;
    int n;
    ck_assert_int_eq(flow__range_plan(0, 10, 1, 1, NULL, &splits, &n), FLOW_OK);
    flow__wbuf_init(b);
    flow__task_put_header(b, 3, 4, 5, 6, 7);
    flow__sinkspec_t sink;
    memset(&sink, 0, sizeof sink);
    sink.kind = FLOW_SINK_COLLECT;
    flow__task_put_sink(b, &sink);
    flow__opnode_t f, src;
    memset(&f, 0, sizeof f);
    memset(&src, 0, sizeof src);
    f.kind = FLOW_OP_FILTER;
    f.dataset = 2;
    f.arg = "xyz";
    f.arg_len = 3;
    f.nchildren = 1;
    ck_assert_int_eq(flow__fnref_make((const void *)keep_all, &f.fn, NULL), FLOW_OK);
    src.kind = FLOW_OP_SOURCE;
    src.dataset = 1;
    src.src_kind = FLOW_SRC_RANGE;
    src.split = splits[0].data;
    src.split_len = splits[0].len;
    flow__task_put_node(b, &f);
    flow__task_put_node(b, &src);
    flow__seal(b, 0);
    flow__splits_free(splits, n);
}

START_TEST(test_task_round_trip)
{
    flow__wbuf_t b;
    make_task(&b);
    flow__arena_t a;
    flow__arena_init(&a, 4096);
    flow__task_desc_t d;
    flow__err_t err;
    flow__err_clear(&err);
    ck_assert_int_eq(flow__task_decode(b.data, b.len, &a, &d, &err), FLOW_OK);
    ck_assert_uint_eq(d.job, 3);
    ck_assert_uint_eq(d.stage, 4);
    ck_assert_uint_eq(d.task, 5);
    ck_assert_uint_eq(d.partition, 6);
    ck_assert_uint_eq(d.attempt, 7);
    ck_assert_uint_eq(d.sink.kind, FLOW_SINK_COLLECT);
    ck_assert_uint_eq(d.root->kind, FLOW_OP_FILTER);
    ck_assert_uint_eq(d.root->arg_len, 3);
    ck_assert_int_eq(memcmp(d.root->arg, "xyz", 3), 0);
    ck_assert_uint_eq((uintptr_t)d.root->arg % 8, 0);
    ck_assert_uint_eq(d.root->nchildren, 1);
    ck_assert_uint_eq(d.root->children[0]->kind, FLOW_OP_SOURCE);
    ck_assert_uint_eq(d.root->children[0]->src_kind, FLOW_SRC_RANGE);
    flow__arena_free(&a);
    flow__wbuf_free(&b);
}
END_TEST

START_TEST(test_task_every_truncation_is_protocol_error)
{
    flow__wbuf_t b;
    make_task(&b);
    for (size_t cut = 0; cut < b.len; cut++) {
        flow__arena_t a;
        flow__arena_init(&a, 4096);
        flow__task_desc_t d;
        flow__err_t err;
        flow__err_clear(&err);
        ck_assert_int_eq(flow__task_decode(b.data, cut, &a, &d, &err), FLOW_EPROTO);
        ck_assert_str_ne(err.msg, "");
        /* Also with a valid checksum over the cut bytes: the structure
         * itself must be checked. */
        if (cut >= b.len - 8)
            continue; /* Resealing the whole body gives the valid task. */
        flow__wbuf_t c;
        flow__wbuf_init(&c);
        flow__wbuf_put(&c, b.data, cut);
        flow__seal(&c, 0);
        flow__err_clear(&err);
        ck_assert_int_eq(flow__task_decode(c.data, c.len, &a, &d, &err), FLOW_EPROTO);
        flow__wbuf_free(&c);
        ck_assert_str_ne(err.msg, "");
        flow__arena_free(&a);
    }
    flow__wbuf_free(&b);
}
END_TEST

START_TEST(test_task_random_corruption_is_refused)
{
    flow__wbuf_t b;
    make_task(&b);
    uint64_t seed = 99;
    for (int i = 0; i < 3000; i++) {
        uint8_t *copy = flow__malloc(b.len);
        memcpy(copy, b.data, b.len);
        for (int k = 0; k < 1 + i % 4; k++)
            copy[test_rand(&seed) % (b.len - 8)] ^= (uint8_t)(1 + test_rand(&seed) % 255);
        /* The checksum refuses it before anything runs. */
        flow__runner_t r;
        flow__runner_init(&r, NULL, NULL, NULL);
        flow__wbuf_t out;
        flow__wbuf_init(&out);
        flow__task_execute(&r, copy, b.len, &out);
        flow__task_result_t res;
        ck_assert_int_eq(flow__result_decode(out.data, out.len, &res, NULL), FLOW_OK);
        ck_assert_int_eq(res.err.code, FLOW_EPROTO);
        ck_assert(res.err.permanent);
        flow__wbuf_free(&out);
        flow__runner_free(&r);
        flow__free(copy);
    }
    flow__wbuf_free(&b);
}
END_TEST

START_TEST(test_result_round_trip)
{
    flow__task_result_t r, back;
    memset(&r, 0, sizeof r);
    r.job = 1;
    r.stage = 2;
    r.task = 3;
    r.partition = 4;
    r.attempt = 5;
    flow__err_set(&r.err, FLOW_ETASK, "boom at %d", 12);
    r.err.permanent = 1;
    r.err.dataset = 9;
    r.metrics.wall_ns = 111;
    r.metrics.peak_mem = 222;
    r.payload = "payload!";
    r.payload_len = 8;
    flow__wbuf_t b;
    flow__wbuf_init(&b);
    flow__result_encode(&b, &r);
    ck_assert_int_eq(flow__result_decode(b.data, b.len, &back, NULL), FLOW_OK);
    ck_assert_uint_eq(back.partition, 4);
    ck_assert_int_eq(back.err.code, FLOW_ETASK);
    ck_assert_str_eq(back.err.msg, "boom at 12");
    ck_assert_int_eq(back.err.permanent, 1);
    ck_assert_uint_eq(back.err.dataset, 9);
    ck_assert_uint_eq(back.metrics.peak_mem, 222);
    ck_assert_uint_eq(back.payload_len, 8);
    ck_assert_int_eq(memcmp(back.payload, "payload!", 8), 0);
    ck_assert_int_eq(flow__result_decode(b.data, b.len - 1, &back, NULL), FLOW_EPROTO);
    flow__wbuf_free(&b);
}
END_TEST

START_TEST(test_executed_task_reports_metrics)
{
    flow__wbuf_t b;
    make_task(&b);
    flow__runner_t r;
    flow__runner_init(&r, NULL, NULL, NULL);
    flow__wbuf_t out;
    flow__wbuf_init(&out);
    ck_assert_int_eq(flow__task_execute(&r, b.data, b.len, &out), FLOW_OK);
    flow__task_result_t res;
    ck_assert_int_eq(flow__result_decode(out.data, out.len, &res, NULL), FLOW_OK);
    ck_assert_uint_eq(res.metrics.records_in, 10);
    ck_assert_uint_eq(res.metrics.bytes_in, 80);
    ck_assert_uint_eq(res.metrics.records_out, 10);
    ck_assert_uint_eq(res.metrics.bytes_out, res.payload_len);
    ck_assert_uint_gt(res.metrics.peak_mem, 0);
    ck_assert_int_eq(flow__block_count(res.payload, res.payload_len), 10);
    flow__wbuf_free(&out);
    flow__runner_free(&r);
    flow__wbuf_free(&b);
}
END_TEST

Suite *plan_suite(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_task_round_trip);
    tcase_add_test(tc, test_task_every_truncation_is_protocol_error);
    tcase_add_test(tc, test_task_random_corruption_is_refused);
    tcase_add_test(tc, test_result_round_trip);
    tcase_add_test(tc, test_executed_task_reports_metrics);
    suite_add_tcase(s, tc);
    return s;
}
