/* test_wire.c - chunked messages over ZeroMQ inproc sockets */
#include <check.h>
#include <string.h>
#include <zmq.h>

#include "mem.h"
#include "suites.h"
#include "wire.h"

static void *zctx, *router, *dealer;

static void setup(void)
{
    zctx = zmq_ctx_new();
    router = zmq_socket(zctx, ZMQ_ROUTER);
    dealer = zmq_socket(zctx, ZMQ_DEALER);
    ck_assert_int_eq(zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "exec-1", 6), 0);
    ck_assert_int_eq(zmq_bind(router, "inproc://wire-test"), 0);
    ck_assert_int_eq(zmq_connect(dealer, "inproc://wire-test"), 0);
}

static void teardown(void)
{
    zmq_close(dealer);
    zmq_close(router);
    zmq_ctx_term(zctx);
}

START_TEST(test_large_payload_is_chunked_and_reassembled)
{
    size_t len = 1000003;
    uint8_t *p = flow__malloc(len);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 31);
    flow__msg_hdr_t h = {0};
    h.type = FLOW_MSG_RESULT;
    h.executor = 1;
    h.job = 7;
    h.task = 3;
    ck_assert_int_eq(flow__wire_send(dealer, NULL, 0, &h, p, len, 4096, NULL), FLOW_OK);
    flow__wire_rx_t rx;
    flow__wire_rx_init(&rx, 1);
    flow__msg_t m;
    ck_assert_int_eq(flow__wire_recv(router, &rx, 5000, &m, NULL), 1);
    ck_assert_uint_eq(m.len, len);
    ck_assert_uint_eq((uintptr_t)m.payload % 8, 0);
    ck_assert_int_eq(memcmp(m.payload, p, len), 0);
    ck_assert_uint_eq(m.hdr.job, 7);
    ck_assert_uint_eq(m.hdr.task, 3);
    ck_assert_uint_eq(m.hdr.chunk, (len + 4095) / 4096 - 1);
    ck_assert_uint_eq(m.peer_len, 6);
    ck_assert_int_eq(memcmp(m.peer, "exec-1", 6), 0);
    flow__msg_free(&m);
    flow__wire_rx_free(&rx);
    flow__free(p);
}
END_TEST

START_TEST(test_empty_payload_and_reply_through_router)
{
    flow__msg_hdr_t h = {0};
    h.type = FLOW_MSG_CANCEL;
    h.job = 5;
    ck_assert_int_eq(flow__wire_send(dealer, NULL, 0, &h, NULL, 0, 4096, NULL), FLOW_OK);
    flow__wire_rx_t rx, drx;
    flow__wire_rx_init(&rx, 1);
    flow__wire_rx_init(&drx, 0);
    flow__msg_t m;
    ck_assert_int_eq(flow__wire_recv(router, &rx, 5000, &m, NULL), 1);
    ck_assert_uint_eq(m.len, 0);
    ck_assert_uint_eq(m.hdr.type, FLOW_MSG_CANCEL);
    h.type = FLOW_MSG_STOP;
    ck_assert_int_eq(flow__wire_send(router, m.peer, m.peer_len, &h, "x", 1, 4096, NULL),
                     FLOW_OK);
    flow__msg_free(&m);
    ck_assert_int_eq(flow__wire_recv(dealer, &drx, 5000, &m, NULL), 1);
    ck_assert_uint_eq(m.hdr.type, FLOW_MSG_STOP);
    ck_assert_uint_eq(m.len, 1);
    flow__msg_free(&m);
    ck_assert_int_eq(flow__wire_recv(dealer, &drx, 0, &m, NULL), 0);
    flow__wire_rx_free(&rx);
    flow__wire_rx_free(&drx);
}
END_TEST

START_TEST(test_malformed_message_is_dropped_with_error)
{
    ck_assert_int_eq(zmq_send(dealer, "garbage-header", 14, ZMQ_SNDMORE), 14);
    ck_assert_int_eq(zmq_send(dealer, "body", 4, 0), 4);
    flow__wire_rx_t rx;
    flow__wire_rx_init(&rx, 1);
    flow__msg_t m;
    flow__err_t err;
    flow__err_clear(&err);
    ck_assert_int_eq(flow__wire_recv(router, &rx, 5000, &m, &err), FLOW_EPROTO);
    ck_assert_ptr_nonnull(strstr(err.msg, "header"));
    /* A good message after it still arrives. */
    flow__msg_hdr_t h = {0};
    h.type = FLOW_MSG_REGISTER;
    ck_assert_int_eq(flow__wire_send(dealer, NULL, 0, &h, "abc", 3, 4096, NULL), FLOW_OK);
    ck_assert_int_eq(flow__wire_recv(router, &rx, 5000, &m, &err), 1);
    ck_assert_uint_eq(m.hdr.type, FLOW_MSG_REGISTER);
    flow__msg_free(&m);
    flow__wire_rx_free(&rx);
}
END_TEST

START_TEST(test_header_round_trip_and_rejects)
{
    flow__msg_hdr_t h = {FLOW_MSG_TASK, 1, 2, 3, 4, 5, 6, 7, 1ull << 40}, back;
    uint8_t raw[FLOW_WIRE_HDR_LEN];
    flow__wire_put_hdr(raw, &h);
    ck_assert_int_eq(flow__wire_get_hdr(raw, sizeof raw, &back), FLOW_OK);
    ck_assert(back.total == 1ull << 40);
    ck_assert_uint_eq(back.attempt, 6);
    ck_assert_int_eq(flow__wire_get_hdr(raw, sizeof raw - 1, &back), FLOW_EPROTO);
    raw[3] = 99; /* Unknown type. */
    ck_assert_int_eq(flow__wire_get_hdr(raw, sizeof raw, &back), FLOW_EPROTO);
}
END_TEST

Suite *wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("inproc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_large_payload_is_chunked_and_reassembled);
    tcase_add_test(tc, test_empty_payload_and_reply_through_router);
    tcase_add_test(tc, test_malformed_message_is_dropped_with_error);
    tcase_add_test(tc, test_header_round_trip_and_rejects);
    suite_add_tcase(s, tc);
    return s;
}
