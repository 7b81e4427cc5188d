/* test_trace.c -- W3C Trace Context (common/trace.c): traceparents valid
 * and invalid as the spec's test suite has them, later versions reduced
 * to version 00, tracestate bounds, new traces; and the trace fields of
 * Job and Reply through the codec. */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "codec_fx.h"
#include "trace.h"
#include "unit.h"

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static void test_parent_valid(void)
{
    char out[TRACE_PARENT_LEN + 1];
    CU_ASSERT_EQUAL(trace_parent_parse(TP, out), 0);
    CU_ASSERT_STRING_EQUAL(out, TP);
    /* Any flags of version 00 pass as they are. */
    CU_ASSERT_EQUAL(
        trace_parent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", out), 0);
    CU_ASSERT_STRING_EQUAL(out + 53, "ff");
    /* A later version: its version-00 fields, the sampled flag only. */
    CU_ASSERT_EQUAL(
        trace_parent_parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", out), 0);
    CU_ASSERT_STRING_EQUAL(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    CU_ASSERT_EQUAL(trace_parent_parse(
                        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02-what-ever", out),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    CU_ASSERT_TRUE(trace_parent_valid00(TP));
    CU_ASSERT_TRUE(trace_parent_valid00(""));
    CU_ASSERT_TRUE(trace_parent_valid00(NULL));
    CU_ASSERT_FALSE(
        trace_parent_valid00("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}

static void test_parent_invalid(void)
{
    static const char *bad[] = {
        "",
        "00",
        TP "-", /* version 00 is 55 long */
        TP "0",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",  /* short flags */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", /* uppercase */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", /* uppercase */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", /* zero trace-id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", /* zero parent-id */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* version ff */
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* version not hex */
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", /* not hex */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01", /* not hex */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x", /* flags not hex */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* separators */
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
        "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01",  /* fields shifted */
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* whitespace */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  /* later: no dash after */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",    /* later: too short */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-\xc3", /* not ASCII */
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char out[TRACE_PARENT_LEN + 1] = "x";
        CU_ASSERT_EQUAL(trace_parent_parse(bad[i], out), -1);
        CU_ASSERT_STRING_EQUAL(out, "");
        if (bad[i][0])
            CU_ASSERT_FALSE(trace_parent_valid00(bad[i]));
    }
    char out[TRACE_PARENT_LEN + 1];
    CU_ASSERT_EQUAL(trace_parent_parse(NULL, out), -1);
}

static void test_state(void)
{
    CU_ASSERT_TRUE(trace_state_valid("congo=t61rcWkgMzE"));
    CU_ASSERT_TRUE(trace_state_valid("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE"));
    CU_ASSERT_FALSE(trace_state_valid(""));
    CU_ASSERT_FALSE(trace_state_valid(NULL));
    CU_ASSERT_FALSE(trace_state_valid("a=b\tc"));
    CU_ASSERT_FALSE(trace_state_valid("a=b\nc"));
    CU_ASSERT_FALSE(trace_state_valid("a=\x7f"));
    CU_ASSERT_FALSE(trace_state_valid("a=\xc3\xa9"));
    char s[TRACE_STATE_MAX + 2];
    memset(s, 'k', sizeof(s) - 1);
    s[TRACE_STATE_MAX + 1] = '\0';
    CU_ASSERT_FALSE(trace_state_valid(s));
    s[TRACE_STATE_MAX] = '\0';
    CU_ASSERT_TRUE(trace_state_valid(s));
}

static void test_new(void)
{
    trace_rng r;
    trace_rng_seed(&r);
    char a[TRACE_PARENT_LEN + 1], b[TRACE_PARENT_LEN + 1], out[TRACE_PARENT_LEN + 1];
    trace_parent_new(&r, a);
    trace_parent_new(&r, b);
    CU_ASSERT_EQUAL(strlen(a), TRACE_PARENT_LEN);
    CU_ASSERT_EQUAL(trace_parent_parse(a, out), 0);
    CU_ASSERT_STRING_EQUAL(out, a);
    CU_ASSERT_EQUAL(trace_parent_parse(b, out), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a + 3, b + 3, TRACE_ID_LEN), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a + 36, b + 36, 16), 0);
    CU_ASSERT_STRING_EQUAL(a + 52, "-00"); /* not sampled: offload records no spans */
    /* A state of 0 (splitmix's weakest seed) still gives valid ids. */
    r.s = 0;
    for (int i = 0; i < 100; i++) {
        trace_parent_new(&r, a);
        CU_ASSERT_EQUAL(trace_parent_parse(a, out), 0);
    }
    CU_ASSERT_STRING_EQUAL(trace_id(NULL), "-");
    CU_ASSERT_STRING_EQUAL(trace_id(""), "-");
    CU_ASSERT_EQUAL(strncmp(trace_id(TP), "4bf92f3577b34da6a3ce929d0e0e4736", TRACE_ID_LEN), 0);
}

/* Encodes env and returns codec_decode's result (err set). */
static int roundtrip(codec_envelope *env, char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    CU_ASSERT_FATAL(codec_encode(env, &buf, &len) == 0);
    codec_envelope *out = NULL;
    int rc = codec_decode(buf, len, 0, &out, NULL, err, errlen);
    codec_free(out);
    free(buf);
    return rc;
}

static void test_codec_fields(void)
{
    char err[256];
    char state_ok[TRACE_STATE_MAX + 1], state_long[TRACE_STATE_MAX + 2];
    memset(state_ok, 's', TRACE_STATE_MAX);
    state_ok[TRACE_STATE_MAX] = '\0';
    memset(state_long, 's', TRACE_STATE_MAX + 1);
    state_long[TRACE_STATE_MAX + 1] = '\0';

    codec_envelope env;
    Offload__Job job;
    job_init(&env, &job);
    CU_ASSERT_EQUAL(roundtrip(&env, err, sizeof(err)), 0); /* none: an older gateway */
    job.traceparent = TP;
    job.tracestate = state_ok;
    CU_ASSERT_EQUAL(roundtrip(&env, err, sizeof(err)), 0);
    job.tracestate = state_long;
    CU_ASSERT_EQUAL(roundtrip(&env, err, sizeof(err)), CODEC_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "tracestate"));
    job.tracestate = "a=\x01";
    CU_ASSERT_EQUAL(roundtrip(&env, err, sizeof(err)), CODEC_EINVALID);
    job.tracestate = "";
    /* The gateway sends the version-00 form only. */
    static const char *bad[] = {"garbage",
                                "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                "00-00000000000000000000000000000000-00f067aa0ba902b7-01"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        job.traceparent = (char *)bad[i];
        CU_ASSERT_EQUAL(roundtrip(&env, err, sizeof(err)), CODEC_EINVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "traceparent"));
    }

    /* A Reply's are only bounded (the client passes them on). */
    Offload__Reply rep = OFFLOAD__REPLY__INIT;
    ENVELOPE_SET(&env, reply, REPLY, &rep);
    rep.traceparent = TP;
    rep.tracestate = state_ok;
    CU_ASSERT_EQUAL(roundtrip(&env, err, sizeof(err)), 0);
    rep.tracestate = state_long;
    CU_ASSERT_EQUAL(roundtrip(&env, err, sizeof(err)), CODEC_EINVALID);
    rep.tracestate = "";
    rep.traceparent = TP "0";
    CU_ASSERT_EQUAL(roundtrip(&env, err, sizeof(err)), CODEC_EINVALID);

    /* A Submit's are judged by the gateway (ignored when invalid), so the
     * codec passes anything. */
    Offload__Submit s = OFFLOAD__SUBMIT__INIT;
    ENVELOPE_SET(&env, submit, SUBMIT, &s);
    s.queue = "io";
    s.function = "echo";
    s.traceparent = "not a traceparent";
    s.tracestate = state_long;
    CU_ASSERT_EQUAL(roundtrip(&env, err, sizeof(err)), 0);
}

UNIT_SUITE(trace, {"valid traceparents, later versions as version 00", test_parent_valid},
           {"invalid traceparents", test_parent_invalid}, {"tracestate bounds", test_state},
           {"new traces", test_new},
           {"trace fields of Job, Reply and Submit in the codec", test_codec_fields})
