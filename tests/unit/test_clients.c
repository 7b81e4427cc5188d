/* test_clients.c -- the clients front over the job life cycle, without
 * sockets (gateway_fx.h): every Submit answered with its request_id, a
 * client's Cancel, request ids in flight, and leases. */
#include <stdlib.h>
#include <string.h>

#include "gateway_fx.h"
#include "unit.h"

/* The clients front answers every Submit, bad names included, with the
 * client's request_id. */
static void test_clients_answer(void)
{
    harness_init();
    hello(1, 0, 1);
    Offload__Submit s = OFFLOAD__SUBMIT__INIT;
    s.request_id = 42;
    s.queue = "a b";
    s.function = "echo";
    client_submit(7, &s, clock_now_us());
    CU_ASSERT_EQUAL(H.replies, 1);
    CU_ASSERT_EQUAL(H.last_reply_request, 42);
    CU_ASSERT_EQUAL(H.last_reply_code, OFFLOAD__CODE__CODE_BAD_REQUEST);
    CU_ASSERT_EQUAL(stat(STAT_submits_refused), 1);
    s.request_id = 43;
    s.queue = "a";
    client_submit(7, &s, clock_now_us());
    CU_ASSERT_EQUAL(H.replies, 1); /* running */
    result(1, H.last_job[1], OFFLOAD__CODE__CODE_OK, "x");
    CU_ASSERT_EQUAL(H.replies, 2);
    CU_ASSERT_EQUAL(H.last_reply_request, 43);
    CU_ASSERT_EQUAL(H.last_reply_code, OFFLOAD__CODE__CODE_OK);
    CU_ASSERT_EQUAL(H.clients.pending, 0);
    harness_close();
}

/* A client's Cancel answers its Submit CODE_CANCELLED and cancels the job
 * on its executor; a request_id in flight cannot be reused; a leased
 * client that goes silent has its jobs cancelled, one that heartbeats
 * keeps them. */
static void test_clients_cancel_and_lease(void)
{
    harness_init();
    hello(1, 0, 4);
    Offload__Submit s = OFFLOAD__SUBMIT__INIT;
    const uint8_t a = 7, b = 8; /* two clients' rid bytes */
    uint64_t t0 = clock_now_us();
    s.queue = "a";
    s.function = "sleep";
    s.request_id = 1;
    client_submit(a, &s, t0);
    s.request_id = 1; /* again, while in flight */
    client_submit(a, &s, t0);
    CU_ASSERT_EQUAL(H.replies, 1);
    CU_ASSERT_EQUAL(H.last_reply_code, OFFLOAD__CODE__CODE_BAD_REQUEST);
    s.lease_ms = 50; /* under the minimum */
    s.request_id = 2;
    client_submit(a, &s, t0);
    CU_ASSERT_EQUAL(H.replies, 2);
    CU_ASSERT_EQUAL(H.last_reply_code, OFFLOAD__CODE__CODE_BAD_REQUEST);
    CU_ASSERT_EQUAL(H.clients.pending, 1);

    /* Cancel request 1: a Reply cancelled, a Cancel to the executor. */
    Offload__Cancel c = OFFLOAD__CANCEL__INIT;
    codec_envelope cenv;
    ENVELOPE_SET(&cenv, cancel, CANCEL, &c);
    c.request_id = 1;
    int cancels = H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL];
    from_client(a, &cenv, t0);
    CU_ASSERT_EQUAL(H.replies, 3);
    CU_ASSERT_EQUAL(H.last_reply_request, 1);
    CU_ASSERT_EQUAL(H.last_reply_code, OFFLOAD__CODE__CODE_CANCELLED);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL], cancels + 1);
    CU_ASSERT_EQUAL(H.clients.pending, 0);
    from_client(a, &cenv, t0); /* unknown now: ignored */
    CU_ASSERT_EQUAL(H.replies, 3);

    /* Leases of 1 s: a keeps heartbeating, b goes silent. */
    s.lease_ms = 1000;
    s.request_id = 10;
    client_submit(a, &s, t0);
    s.request_id = 11;
    client_submit(b, &s, t0);
    s.request_id = 12;
    client_submit(b, &s, t0);
    CU_ASSERT_EQUAL(H.clients.pending, 3);
    codec_envelope hb;
    Offload__Heartbeat beat = OFFLOAD__HEARTBEAT__INIT;
    ENVELOPE_SET(&hb, heartbeat, HEARTBEAT, &beat);
    CU_ASSERT_EQUAL(clients_check_leases(&H.clients, t0 + 900000), 0);
    from_client(a, &hb, t0 + 900000);
    cancels = H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL];
    uint64_t gone = stat(STAT_callers_gone);
    CU_ASSERT_EQUAL(clients_check_leases(&H.clients, t0 + 1500000), 1);
    CU_ASSERT_EQUAL(stat(STAT_callers_gone), gone + 2);
    CU_ASSERT_EQUAL(H.sent[1][OFFLOAD__ENVELOPE__BODY_CANCEL], cancels + 2);
    CU_ASSERT_EQUAL(H.clients.pending, 1); /* a's */
    CU_ASSERT_EQUAL(H.replies, 3);         /* nobody to answer */
    CU_ASSERT_EQUAL(clients_check_leases(&H.clients, t0 + 1800000), 0);
    CU_ASSERT_EQUAL(clients_check_leases(&H.clients, t0 + 2000000), 1); /* a, silent now */
    CU_ASSERT_EQUAL(H.clients.pending, 0);
    harness_close();
}

/* A Submit's trace context goes to its Job and comes back in its Reply;
 * an invalid one is counted and replaced by a new trace, as a missing one
 * is; a tracestate over the bound is dropped, counted. */
static void test_clients_trace(void)
{
    static const char tp[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    harness_init();
    hello(1, 0, 4);
    Offload__Submit s = OFFLOAD__SUBMIT__INIT;
    s.queue = "a";
    s.function = "echo";
    s.request_id = 1;
    s.traceparent = (char *)tp;
    s.tracestate = "congo=t61rcWkgMzE";
    client_submit(7, &s, clock_now_us());
    CU_ASSERT_STRING_EQUAL(H.job_traceparent, tp);
    CU_ASSERT_STRING_EQUAL(H.job_tracestate, "congo=t61rcWkgMzE");
    result(1, H.last_job[1], OFFLOAD__CODE__CODE_OK, "x");
    CU_ASSERT_EQUAL(H.last_reply_request, 1);
    CU_ASSERT_STRING_EQUAL(H.reply_traceparent, tp);
    CU_ASSERT_STRING_EQUAL(H.reply_tracestate, "congo=t61rcWkgMzE");
    CU_ASSERT_EQUAL(stat(STAT_trace_invalid) + stat(STAT_traces_started), 0);

    /* A later version: its version-00 fields. A tracestate too long. */
    char longs[TRACE_STATE_MAX + 2];
    memset(longs, 's', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = '\0';
    s.request_id = 2;
    s.traceparent = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more";
    s.tracestate = longs;
    client_submit(7, &s, clock_now_us());
    CU_ASSERT_STRING_EQUAL(H.job_traceparent, tp);
    CU_ASSERT_STRING_EQUAL(H.job_tracestate, "");
    CU_ASSERT_EQUAL(stat(STAT_tracestate_dropped), 1);
    result(1, H.last_job[1], OFFLOAD__CODE__CODE_OK, "x");

    /* Invalid, then none: new traces, every one its own. */
    s.request_id = 3;
    s.traceparent = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
    s.tracestate = "congo=t61rcWkgMzE";
    client_submit(7, &s, clock_now_us());
    CU_ASSERT_EQUAL(stat(STAT_trace_invalid), 1);
    CU_ASSERT_EQUAL(stat(STAT_traces_started), 1);
    CU_ASSERT_TRUE(trace_parent_valid00(H.job_traceparent) && H.job_traceparent[0]);
    CU_ASSERT_NOT_EQUAL(strcmp(H.job_traceparent, tp), 0);
    CU_ASSERT_STRING_EQUAL(H.job_tracestate, ""); /* dropped with its traceparent */
    char first[TRACE_PARENT_LEN + 1];
    memcpy(first, H.job_traceparent, sizeof(first));
    result(1, H.last_job[1], OFFLOAD__CODE__CODE_OK, "x");
    CU_ASSERT_STRING_EQUAL(H.reply_traceparent, first);
    s.request_id = 4;
    s.traceparent = NULL;
    s.tracestate = NULL;
    client_submit(7, &s, clock_now_us());
    CU_ASSERT_EQUAL(stat(STAT_trace_invalid), 1);
    CU_ASSERT_EQUAL(stat(STAT_traces_started), 2);
    CU_ASSERT_NOT_EQUAL(strcmp(H.job_traceparent, first), 0);
    result(1, H.last_job[1], OFFLOAD__CODE__CODE_OK, "x");

    /* A refused Submit says the trace it would have had. */
    s.request_id = 5;
    s.function = "nope";
    s.traceparent = (char *)tp;
    client_submit(7, &s, clock_now_us());
    CU_ASSERT_EQUAL(H.last_reply_code, OFFLOAD__CODE__CODE_UNKNOWN_FUNCTION);
    CU_ASSERT_STRING_EQUAL(H.reply_traceparent, tp);
    harness_close();
}

UNIT_SUITE(clients, {"clients: trace context to the Job and back", test_clients_trace},
           {"clients: cancel, request ids in flight, leases", test_clients_cancel_and_lease},
           {"clients front answers every submit", test_clients_answer})
