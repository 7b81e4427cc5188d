/* test_codec.c -- the wire codec without sockets: round trips of every
 * body, and hostile frames (garbage, every truncation, over the size
 * limit, other versions). What codec_validate refuses is in
 * test_codec_validate.c; the fixtures both share are in codec_fx.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "codec_fx.h"
#include "unit.h"

/* ---- helpers ---------------------------------------------------------- */

/* Encodes env (which must set the version), decodes it, returns the copy. */
static codec_envelope *roundtrip(codec_envelope *env)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    env->version = 0;
    CU_ASSERT_FATAL(codec_encode(env, &buf, &len) == 0);
    CU_ASSERT_EQUAL(env->version, OFFLOAD_PROTOCOL_VERSION);
    CU_ASSERT_EQUAL(len, codec_size(env));
    codec_envelope *out = NULL;
    char err[256];
    int rc = decode_exact(buf, len, 0, &out, NULL, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "\n  roundtrip of %s: %s\n", codec_body_name(env->body_case), err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(out->body_case, env->body_case);
    free(buf);
    return out;
}

/* Packs env as is (no version rewrite), for frames from other versions. */
static size_t pack_raw(const codec_envelope *env, uint8_t **buf)
{
    size_t n = offload__envelope__get_packed_size(env);
    *buf = malloc(n ? n : 1);
    CU_ASSERT_FATAL(*buf != NULL);
    return offload__envelope__pack(env, *buf);
}

/* A valid Job envelope (job_init) and its frame in *buf (free it);
 * returns the frame's length. */
static size_t job_frame(codec_envelope *env, Offload__Job *job, uint8_t **buf)
{
    size_t len;
    job_init(env, job);
    CU_ASSERT_FATAL(codec_encode(env, buf, &len) == 0);
    return len;
}

static int bin_equal(ProtobufCBinaryData a, ProtobufCBinaryData b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* ---- codec: round trips ----------------------------------------------- */

static void test_roundtrip_hello(void)
{
    hello_fx fx;
    hello_fx_init(&fx);
    codec_envelope *out = roundtrip(&fx.env);
    const Offload__Hello *h = out->hello;
    CU_ASSERT_STRING_EQUAL(h->executor_id, "exec-1@host");
    CU_ASSERT_EQUAL_FATAL(h->n_queues, 2);
    CU_ASSERT_STRING_EQUAL(h->queues[0]->name, "io");
    CU_ASSERT_EQUAL(h->queues[0]->kind, OFFLOAD__POOL_KIND__POOL_THREADS);
    CU_ASSERT_EQUAL(h->queues[0]->size, 64);
    CU_ASSERT_STRING_EQUAL(h->queues[1]->name, "cpu");
    CU_ASSERT_EQUAL(h->queues[1]->kind, OFFLOAD__POOL_KIND__POOL_PROCESSES);
    CU_ASSERT_EQUAL(h->queues[1]->size, 2);
    CU_ASSERT_EQUAL_FATAL(h->queues[1]->n_functions, 3);
    CU_ASSERT_STRING_EQUAL(h->queues[1]->functions[0], "echo");
    CU_ASSERT_STRING_EQUAL(h->queues[1]->functions[1], "sleep");
    CU_ASSERT_STRING_EQUAL(h->queues[1]->functions[2], "spin");
    CU_ASSERT_EQUAL(h->heartbeat_ms, 1000);
    CU_ASSERT_EQUAL(h->liveness, 3);
    codec_free(out);
}

static void test_roundtrip_job(void)
{
    codec_envelope env;
    Offload__Job job;
    job_init(&env, &job);
    codec_envelope *out = roundtrip(&env);
    CU_ASSERT_EQUAL(out->job->job_id, job.job_id);
    CU_ASSERT_STRING_EQUAL(out->job->queue, "io");
    CU_ASSERT_STRING_EQUAL(out->job->function, "echo");
    CU_ASSERT(bin_equal(out->job->payload, job.payload));
    CU_ASSERT_EQUAL(out->job->timeout_ms, 30000);
    CU_ASSERT_EQUAL(out->job->waited_us, 1234567);
    codec_free(out);

    /* An empty payload and extreme numbers survive too. */
    job.payload.data = NULL;
    job.payload.len = 0;
    job.job_id = UINT64_MAX;
    job.timeout_ms = UINT32_MAX;
    out = roundtrip(&env);
    CU_ASSERT_EQUAL(out->job->payload.len, 0);
    CU_ASSERT_EQUAL(out->job->job_id, UINT64_MAX);
    CU_ASSERT_EQUAL(out->job->timeout_ms, UINT32_MAX);
    codec_free(out);
}

static void test_roundtrip_result(void)
{
    Offload__Result r = OFFLOAD__RESULT__INIT;
    r.job_id = 42;
    r.code = OFFLOAD__CODE__CODE_JOB_FAILED;
    r.payload.data = (uint8_t *)job_payload;
    r.payload.len = sizeof(job_payload);
    r.message = "division by zero";
    r.run_us = 999;
    codec_envelope env;
    ENVELOPE_SET(&env, result, RESULT, &r);
    codec_envelope *out = roundtrip(&env);
    CU_ASSERT_EQUAL(out->result->job_id, 42);
    CU_ASSERT_EQUAL(out->result->code, OFFLOAD__CODE__CODE_JOB_FAILED);
    CU_ASSERT(bin_equal(out->result->payload, r.payload));
    CU_ASSERT_STRING_EQUAL(out->result->message, "division by zero");
    CU_ASSERT_EQUAL(out->result->run_us, 999);
    codec_free(out);

    /* Every code in range is accepted. */
    for (int c = OFFLOAD__CODE__CODE_OK; c <= OFFLOAD__CODE__CODE_INTERNAL; c++) {
        r.code = (Offload__Code)c;
        out = roundtrip(&env);
        CU_ASSERT_EQUAL(out->result->code, c);
        codec_free(out);
    }
}

static void test_roundtrip_submit_reply(void)
{
    Offload__Submit s = OFFLOAD__SUBMIT__INIT;
    s.request_id = 7;
    s.queue = "cpu";
    s.function = "spin";
    s.payload.data = (uint8_t *)job_payload;
    s.payload.len = sizeof(job_payload);
    s.timeout_ms = 500;
    s.retries = 2;
    codec_envelope env;
    ENVELOPE_SET(&env, submit, SUBMIT, &s);
    codec_envelope *out = roundtrip(&env);
    CU_ASSERT_EQUAL(out->submit->request_id, 7);
    CU_ASSERT_STRING_EQUAL(out->submit->queue, "cpu");
    CU_ASSERT_STRING_EQUAL(out->submit->function, "spin");
    CU_ASSERT(bin_equal(out->submit->payload, s.payload));
    CU_ASSERT_EQUAL(out->submit->timeout_ms, 500);
    CU_ASSERT_EQUAL(out->submit->retries, 2);
    codec_free(out);

    Offload__Reply r = OFFLOAD__REPLY__INIT;
    r.request_id = 7;
    r.job_id = 99;
    r.code = OFFLOAD__CODE__CODE_TIMEOUT;
    r.payload.data = (uint8_t *)job_payload;
    r.payload.len = sizeof(job_payload);
    r.message = "deadline passed";
    r.waited_us = 10;
    r.run_us = 20;
    codec_envelope renv;
    ENVELOPE_SET(&renv, reply, REPLY, &r);
    out = roundtrip(&renv);
    CU_ASSERT_EQUAL(out->reply->request_id, 7);
    CU_ASSERT_EQUAL(out->reply->job_id, 99);
    CU_ASSERT_EQUAL(out->reply->code, OFFLOAD__CODE__CODE_TIMEOUT);
    CU_ASSERT(bin_equal(out->reply->payload, r.payload));
    CU_ASSERT_STRING_EQUAL(out->reply->message, "deadline passed");
    CU_ASSERT_EQUAL(out->reply->waited_us, 10);
    CU_ASSERT_EQUAL(out->reply->run_us, 20);
    codec_free(out);
}

static void test_roundtrip_control(void)
{
    codec_envelope env, *out;

    Offload__Heartbeat hb = OFFLOAD__HEARTBEAT__INIT;
    ENVELOPE_SET(&env, heartbeat, HEARTBEAT, &hb);
    out = roundtrip(&env);
    CU_ASSERT_PTR_NOT_NULL(out->heartbeat);
    codec_free(out);

    Offload__Goodbye gb = OFFLOAD__GOODBYE__INIT;
    gb.reason = "shutting down";
    ENVELOPE_SET(&env, goodbye, GOODBYE, &gb);
    out = roundtrip(&env);
    CU_ASSERT_STRING_EQUAL(out->goodbye->reason, "shutting down");
    codec_free(out);

    Offload__Cancel c = OFFLOAD__CANCEL__INIT;
    c.job_id = 1ULL << 40;
    ENVELOPE_SET(&env, cancel, CANCEL, &c);
    out = roundtrip(&env);
    CU_ASSERT_EQUAL(out->cancel->job_id, 1ULL << 40);
    codec_free(out);

    Offload__Welcome w = OFFLOAD__WELCOME__INIT;
    w.gateway_id = "gw-1";
    ENVELOPE_SET(&env, welcome, WELCOME, &w);
    out = roundtrip(&env);
    CU_ASSERT_STRING_EQUAL(out->welcome->gateway_id, "gw-1");
    codec_free(out);

    Offload__Refuse r = OFFLOAD__REFUSE__INIT;
    r.reason = OFFLOAD__REFUSE_REASON__REFUSE_VERSION;
    r.version = 3;
    r.message = "this gateway speaks protocol version 1";
    ENVELOPE_SET(&env, refuse, REFUSE, &r);
    out = roundtrip(&env);
    CU_ASSERT_EQUAL(out->refuse->reason, OFFLOAD__REFUSE_REASON__REFUSE_VERSION);
    CU_ASSERT_EQUAL(out->refuse->version, 3);
    CU_ASSERT_STRING_EQUAL(out->refuse->message, "this gateway speaks protocol version 1");
    codec_free(out);
}

/* Credit and Demand: round trips, and what validation refuses. */
static void test_credit_demand(void)
{
    Offload__QueueCredit qc = OFFLOAD__QUEUE_CREDIT__INIT, *qcp[CODEC_QUEUES_MAX + 1];
    Offload__Credit c = OFFLOAD__CREDIT__INIT;
    codec_envelope env;
    char err[256];
    qc.name = "io";
    qc.slots = 3;
    qcp[0] = &qc;
    c.queues = qcp;
    c.n_queues = 1;
    c.seq = 42;
    ENVELOPE_SET(&env, credit, CREDIT, &c);
    codec_envelope *out = roundtrip(&env);
    CU_ASSERT_EQUAL(out->credit->seq, 42);
    CU_ASSERT_EQUAL(out->credit->n_queues, 1);
    CU_ASSERT_STRING_EQUAL(out->credit->queues[0]->name, "io");
    CU_ASSERT_EQUAL(out->credit->queues[0]->slots, 3);
    codec_free(out);
    qc.slots = 0; /* 0 is a valid allowance */
    CU_ASSERT_EQUAL(codec_validate(&env, err, sizeof(err)), 0);
    qc.slots = CODEC_POOL_MAX + 1;
    CU_ASSERT_EQUAL(codec_validate(&env, err, sizeof(err)), CODEC_EINVALID);
    qc.slots = 1;
    qc.name = "bad name";
    CU_ASSERT_EQUAL(codec_validate(&env, err, sizeof(err)), CODEC_EINVALID);
    qc.name = "io";
    c.n_queues = 0;
    CU_ASSERT_EQUAL(codec_validate(&env, err, sizeof(err)), CODEC_EINVALID);
    for (size_t i = 0; i <= CODEC_QUEUES_MAX; i++)
        qcp[i] = &qc;
    c.n_queues = CODEC_QUEUES_MAX + 1;
    CU_ASSERT_EQUAL(codec_validate(&env, err, sizeof(err)), CODEC_EINVALID);

    Offload__QueueDemand qd = OFFLOAD__QUEUE_DEMAND__INIT, *qdp[1] = {&qd};
    Offload__Demand d = OFFLOAD__DEMAND__INIT;
    qd.name = "io";
    qd.waiting = 12;
    d.queues = qdp;
    d.n_queues = 1;
    d.credit_seq = 7;
    ENVELOPE_SET(&env, demand, DEMAND, &d);
    out = roundtrip(&env);
    CU_ASSERT_EQUAL(out->demand->credit_seq, 7);
    CU_ASSERT_EQUAL(out->demand->queues[0]->waiting, 12);
    codec_free(out);
    d.n_queues = 0; /* an acknowledgement of an executor with no queue listed */
    CU_ASSERT_EQUAL(codec_validate(&env, err, sizeof(err)), 0);
    d.n_queues = 1;
    qd.name = "";
    CU_ASSERT_EQUAL(codec_validate(&env, err, sizeof(err)), CODEC_EINVALID);

    /* Hello.credit and Welcome.credit travel. */
    Offload__Welcome w = OFFLOAD__WELCOME__INIT;
    w.gateway_id = "gw";
    w.credit = 1;
    ENVELOPE_SET(&env, welcome, WELCOME, &w);
    out = roundtrip(&env);
    CU_ASSERT_TRUE(out->welcome->credit);
    codec_free(out);
}

static void test_size_and_pack(void)
{
    codec_envelope env;
    Offload__Job job;
    job_init(&env, &job);
    env.version = 77;
    size_t n = codec_size(&env);
    CU_ASSERT_EQUAL(env.version, OFFLOAD_PROTOCOL_VERSION);
    uint8_t *buf = malloc(n);
    CU_ASSERT_FATAL(buf != NULL);
    CU_ASSERT_EQUAL(codec_pack(&env, buf), n);
    char err[256];
    CU_ASSERT_EQUAL(decode_exact(buf, n, n, NULL, NULL, err, sizeof(err)), 0);
    free(buf);
    codec_free(NULL); /* harmless */
}

/* ---- codec: hostile frames -------------------------------------------- */

static void test_reject_empty_and_garbage(void)
{
    char err[256];
    uint32_t pv = 99;
    /* An empty frame carries no version: not an offload Envelope. */
    CU_ASSERT_EQUAL(decode_exact(NULL, 0, 0, NULL, &pv, err, sizeof(err)), CODEC_EMALFORMED);
    CU_ASSERT_EQUAL(pv, 0);

    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"\xff", 1},                                          /* truncated tag */
        {"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11}, /* varint overflow */
        {"\x08", 1},                                          /* tag without value */
        {"\x08\x81", 2},                                      /* unfinished varint */
        {"\x7a\x10\x01", 3},                                  /* job field claims 16 bytes, has 1 */
        {"\x08\x02\x7a\x05\x0a\x09io", 8},                    /* job's queue claims 9 bytes */
        {"\x0f\x00", 2},                                      /* field 1 with wire type 7 */
        {"\x00\x00\x00\x00", 4},                              /* field number 0 */
        {"\x08\x02\x6a\x01\x0a", 5},                          /* heartbeat with a truncated field */
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int rc = decode_exact((const uint8_t *)bad[i].bytes, bad[i].len, 0, NULL, NULL, err,
                              sizeof(err));
        if (rc != CODEC_EMALFORMED)
            fprintf(stderr, "\n  garbage #%zu: rc %d (%s)\n", i, rc, err);
        CU_ASSERT_EQUAL(rc, CODEC_EMALFORMED);
    }

    /* A right version with no body. */
    static const uint8_t nobody[] = {0x08, OFFLOAD_PROTOCOL_VERSION};
    CU_ASSERT_EQUAL(decode_exact(nobody, sizeof(nobody), 0, NULL, NULL, err, sizeof(err)),
                    CODEC_EINVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no body"));

    /* Random bytes: any outcome but a crash; a success is a valid envelope. */
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    uint8_t buf[300];
    int ok = 0;
    for (int i = 0; i < 20000; i++) {
        size_t len = 1 + (size_t)(i % (int)sizeof(buf));
        for (size_t j = 0; j < len; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[j] = (uint8_t)x;
        }
        if (i % 2) { /* half of them start with a right version */
            buf[0] = 0x08;
            if (len > 1)
                buf[1] = OFFLOAD_PROTOCOL_VERSION;
        }
        ok += decode_exact(buf, len, 0, NULL, NULL, err, sizeof(err)) == 0;
    }
    (void)ok;
}

static void test_reject_truncated(void)
{
    codec_envelope env;
    Offload__Job job;
    uint8_t *buf;
    size_t len = job_frame(&env, &job, &buf);
    char err[256];
    for (size_t n = 0; n < len; n++) {
        codec_envelope *out = NULL;
        int rc = decode_exact(buf, n, 0, &out, NULL, err, sizeof(err));
        /* version comes first (2 bytes), then the job: a prefix of exactly
         * the version is an envelope without a body; every other prefix cuts
         * a field. */
        int want = n == 2 ? CODEC_EINVALID : CODEC_EMALFORMED;
        if (rc != want)
            fprintf(stderr, "\n  prefix of %zu bytes: rc %d (%s)\n", n, rc, err);
        CU_ASSERT_EQUAL(rc, want);
        codec_free(out);
    }
    CU_ASSERT_EQUAL(decode_exact(buf, len, 0, NULL, NULL, err, sizeof(err)), 0);

    /* Every single-byte corruption of a valid Job: never a crash, never
     * anything but an error or a valid envelope. */
    uint8_t *mut = malloc(len);
    CU_ASSERT_FATAL(mut != NULL);
    for (size_t i = 0; i < len; i++)
        for (int v = 0; v < 256; v += 5) {
            memcpy(mut, buf, len);
            mut[i] = (uint8_t)v;
            decode_exact(mut, len, 0, NULL, NULL, err, sizeof(err));
        }
    free(mut);
    free(buf);
}

static void test_reject_too_big(void)
{
    codec_envelope env;
    Offload__Job job;
    uint8_t *buf;
    size_t len = job_frame(&env, &job, &buf);
    char err[256];
    CU_ASSERT_EQUAL(decode_exact(buf, len, len - 1, NULL, NULL, err, sizeof(err)), CODEC_ETOOBIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "exceeds"));
    CU_ASSERT_EQUAL(decode_exact(buf, len, len, NULL, NULL, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(decode_exact(buf, len, 0, NULL, NULL, err, sizeof(err)), 0);
    /* The size check comes before parsing: garbage over the limit is too big. */
    CU_ASSERT_EQUAL(
        decode_exact((const uint8_t *)"\xff\xff\xff", 3, 2, NULL, NULL, err, sizeof(err)),
        CODEC_ETOOBIG);
    free(buf);

    /* A 1 MiB payload, and a limit one byte short of its frame. */
    size_t big = 1 << 20;
    uint8_t *payload = calloc(1, big);
    CU_ASSERT_FATAL(payload != NULL);
    job.payload.data = payload;
    job.payload.len = big;
    CU_ASSERT_FATAL(codec_encode(&env, &buf, &len) == 0);
    CU_ASSERT_EQUAL(decode_exact(buf, len, len - 1, NULL, NULL, err, sizeof(err)), CODEC_ETOOBIG);
    codec_envelope *out;
    CU_ASSERT_EQUAL_FATAL(decode_exact(buf, len, len, &out, NULL, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(out->job->payload.len, big);
    codec_free(out);
    free(buf);
    free(payload);
}

static void test_reject_version(void)
{
    codec_envelope env;
    Offload__Job job;
    job_init(&env, &job);
    static const uint32_t versions[] = {1, OFFLOAD_PROTOCOL_VERSION + 1, 1000, UINT32_MAX};
    char err[256];
    for (size_t i = 0; i < ARRAY_LEN(versions); i++) {
        env.version = versions[i];
        uint8_t *buf;
        size_t len = pack_raw(&env, &buf);
        uint32_t pv = 0;
        CU_ASSERT_EQUAL(decode_exact(buf, len, 0, NULL, &pv, err, sizeof(err)), CODEC_EVERSION);
        CU_ASSERT_EQUAL(pv, versions[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "protocol version"));
        /* peer_version may be NULL */
        CU_ASSERT_EQUAL(decode_exact(buf, len, 0, NULL, NULL, err, sizeof(err)), CODEC_EVERSION);
        free(buf);
    }
    /* The version is checked before the body: an invalid body from another
     * version is still a version mismatch (so the peer learns why). */
    job.queue = "bad name";
    env.version = 1;
    uint8_t *buf;
    size_t len = pack_raw(&env, &buf);
    CU_ASSERT_EQUAL(decode_exact(buf, len, 0, NULL, NULL, err, sizeof(err)), CODEC_EVERSION);
    free(buf);
    /* A frame without a version field is not an offload Envelope. */
    job.queue = "io";
    env.version = 0;
    len = pack_raw(&env, &buf);
    uint32_t pv = 5;
    CU_ASSERT_EQUAL(decode_exact(buf, len, 0, NULL, &pv, err, sizeof(err)), CODEC_EMALFORMED);
    CU_ASSERT_EQUAL(pv, 0);
    free(buf);
}

static void test_odd_but_valid_frames(void)
{
    char err[256];
    codec_envelope *out;
    /* Unknown fields (a newer peer's additions) are skipped. */
    static const uint8_t unknown[] = {0x08, OFFLOAD_PROTOCOL_VERSION, 0x6a, 0x00, 0xf8, 0x06, 0x05};
    CU_ASSERT_EQUAL_FATAL(decode_exact(unknown, sizeof(unknown), 0, &out, NULL, err, sizeof(err)),
                          0);
    CU_ASSERT_EQUAL(out->body_case, OFFLOAD__ENVELOPE__BODY_HEARTBEAT);
    codec_free(out);

    /* Two bodies in one frame: the last one wins, nothing leaks. */
    codec_envelope jenv;
    Offload__Job job;
    job_init(&jenv, &job);
    hello_fx fx;
    hello_fx_init(&fx);
    uint8_t *a, *b;
    size_t alen, blen;
    CU_ASSERT_FATAL(codec_encode(&jenv, &a, &alen) == 0);
    CU_ASSERT_FATAL(codec_encode(&fx.env, &b, &blen) == 0);
    uint8_t *both = malloc(alen + blen);
    CU_ASSERT_FATAL(both != NULL);
    memcpy(both, a, alen);
    memcpy(both + alen, b, blen);
    CU_ASSERT_EQUAL_FATAL(decode_exact(both, alen + blen, 0, &out, NULL, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(out->body_case, OFFLOAD__ENVELOPE__BODY_HELLO);
    codec_free(out);
    memcpy(both, b, blen);
    memcpy(both + blen, a, alen);
    CU_ASSERT_EQUAL_FATAL(decode_exact(both, alen + blen, 0, &out, NULL, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(out->body_case, OFFLOAD__ENVELOPE__BODY_JOB);
    codec_free(out);
    /* The same body twice merges; an invalid second copy is caught. */
    memcpy(both, a, alen);
    memcpy(both + alen, a, alen);
    CU_ASSERT_EQUAL(decode_exact(both, 2 * alen, 0, NULL, NULL, err, sizeof(err)), 0);
    free(both);
    free(a);
    free(b);
}

/* ---- codec: body names ------------------------------------------------ */

static void test_body_name(void)
{
    static const struct {
        int body;
        const char *name;
    } want[] = {
        {OFFLOAD__ENVELOPE__BODY_HELLO, "hello"},
        {OFFLOAD__ENVELOPE__BODY_WELCOME, "welcome"},
        {OFFLOAD__ENVELOPE__BODY_REFUSE, "refuse"},
        {OFFLOAD__ENVELOPE__BODY_HEARTBEAT, "heartbeat"},
        {OFFLOAD__ENVELOPE__BODY_GOODBYE, "goodbye"},
        {OFFLOAD__ENVELOPE__BODY_JOB, "job"},
        {OFFLOAD__ENVELOPE__BODY_RESULT, "result"},
        {OFFLOAD__ENVELOPE__BODY_CANCEL, "cancel"},
        {OFFLOAD__ENVELOPE__BODY_SUBMIT, "submit"},
        {OFFLOAD__ENVELOPE__BODY_REPLY, "reply"},
        {OFFLOAD__ENVELOPE__BODY_CREDIT, "credit"},
        {OFFLOAD__ENVELOPE__BODY_DEMAND, "demand"},
        {OFFLOAD__ENVELOPE__BODY_POOL_STATS, "pool_stats"},
        {OFFLOAD__ENVELOPE__BODY__NOT_SET, "none"},
        {-1, "none"},
        {9999, "none"},
    };
    for (size_t i = 0; i < ARRAY_LEN(want); i++)
        CU_ASSERT_STRING_EQUAL(codec_body_name(want[i].body), want[i].name);
}

UNIT_SUITE(codec, {"round trip: hello", test_roundtrip_hello},
           {"round trip: job with binary payload", test_roundtrip_job},
           {"round trip: result", test_roundtrip_result},
           {"round trip: submit and reply", test_roundtrip_submit_reply},
           {"round trip: heartbeat goodbye cancel welcome refuse", test_roundtrip_control},
           {"round trip and validation: credit, demand", test_credit_demand},
           {"size sets version; pack fills size", test_size_and_pack},
           {"rejects empty and garbage frames", test_reject_empty_and_garbage},
           {"rejects every truncation and corruption", test_reject_truncated},
           {"rejects frames over max_len", test_reject_too_big},
           {"rejects other versions", test_reject_version},
           {"unknown fields and repeated bodies", test_odd_but_valid_frames},
           {"codec_body_name", test_body_name})
