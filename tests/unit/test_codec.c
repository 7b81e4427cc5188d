/* test_codec.c -- the wire codec without sockets (round trips, hostile
 * frames, validation limits), plus the small shared helpers it leans on:
 * common/errors (code names and HTTP statuses) and common/flags (number
 * parsing and the four flag sources). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "errors.h"
#include "flags.h"
#include "unit.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---------------------------------------------------------- */

/* Decodes a copy of buf[0..len) held in a buffer of exactly len bytes (so
 * the sanitizers see any over-read), checks the error contract, and returns
 * the result; *out (when not NULL) receives the envelope on success,
 * otherwise it is freed here. */
static int decode_exact(const uint8_t *buf, size_t len, size_t max_len, codec_envelope **out,
                        uint32_t *peer_version, char *err, size_t errlen)
{
    uint8_t *copy = malloc(len ? len : 1);
    CU_ASSERT_FATAL(copy != NULL);
    if (len)
        memcpy(copy, buf, len);
    codec_envelope *env = (codec_envelope *)(uintptr_t)1; /* must be overwritten */
    err[0] = '\0';
    int rc = codec_decode(copy, len, max_len, &env, peer_version, err, errlen);
    free(copy);
    if (rc == 0) {
        CU_ASSERT_PTR_NOT_NULL(env);
        CU_ASSERT_EQUAL(env->version, OFFLOAD_PROTOCOL_VERSION);
        char verr[256];
        CU_ASSERT_EQUAL(codec_validate(env, verr, sizeof(verr)), 0);
    } else {
        CU_ASSERT_PTR_NULL(env);
        CU_ASSERT(rc == CODEC_ETOOBIG || rc == CODEC_EMALFORMED || rc == CODEC_EVERSION ||
                  rc == CODEC_EINVALID);
        CU_ASSERT(err[0] != '\0');
        env = NULL;
    }
    if (out)
        *out = env;
    else
        codec_free(env);
    return rc;
}

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

/* Encodes env with our version and returns codec_decode's result. */
static int encode_decode(codec_envelope *env, char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    CU_ASSERT_FATAL(codec_encode(env, &buf, &len) == 0);
    int rc = decode_exact(buf, len, 0, NULL, NULL, err, errlen);
    free(buf);
    return rc;
}

/* Packs env as is (no version rewrite), for frames from other versions. */
static size_t pack_raw(const codec_envelope *env, uint8_t **buf)
{
    size_t n = offload__envelope__get_packed_size(env);
    *buf = malloc(n ? n : 1);
    CU_ASSERT_FATAL(*buf != NULL);
    return offload__envelope__pack(env, *buf);
}

static int bin_equal(ProtobufCBinaryData a, ProtobufCBinaryData b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

#define EXPECT_INVALID(env, substr)                                                                \
    do {                                                                                           \
        char err_[256];                                                                            \
        CU_ASSERT_EQUAL(encode_decode((env), err_, sizeof(err_)), CODEC_EINVALID);                 \
        CU_ASSERT_PTR_NOT_NULL(strstr(err_, (substr)));                                            \
        CU_ASSERT_EQUAL(codec_validate((env), err_, sizeof(err_)), CODEC_EINVALID);                \
    } while (0)

#define EXPECT_VALID(env)                                                                          \
    do {                                                                                           \
        char err_[256];                                                                            \
        CU_ASSERT_EQUAL(encode_decode((env), err_, sizeof(err_)), 0);                              \
    } while (0)

/* A valid Hello (two queues, three functions) that tests mutate. */
typedef struct hello_fx {
    Offload__QueueDecl q[CODEC_QUEUES_MAX + 1];
    Offload__QueueDecl *qp[CODEC_QUEUES_MAX + 1];
    char qname[CODEC_QUEUES_MAX + 1][16];
    char *fn[CODEC_FUNCTIONS_MAX + 1];
    char fname[CODEC_FUNCTIONS_MAX + 1][16];
    Offload__Hello hello;
    codec_envelope env;
} hello_fx;

static void hello_fx_init(hello_fx *fx)
{
    memset(fx, 0, sizeof(*fx));
    for (size_t i = 0; i < ARRAY_LEN(fx->q); i++) {
        Offload__QueueDecl init = OFFLOAD__QUEUE_DECL__INIT;
        fx->q[i] = init;
        snprintf(fx->qname[i], sizeof(fx->qname[i]), "q%zu", i);
        fx->q[i].name = fx->qname[i];
        fx->q[i].kind = OFFLOAD__POOL_KIND__POOL_THREADS;
        fx->q[i].size = 1;
        fx->q[i].n_functions = 3;
        fx->q[i].functions = fx->fn;
        fx->qp[i] = &fx->q[i];
    }
    for (size_t i = 0; i < ARRAY_LEN(fx->fn); i++) {
        snprintf(fx->fname[i], sizeof(fx->fname[i]), "f%zu", i);
        fx->fn[i] = fx->fname[i];
    }
    fx->q[0].name = "io";
    fx->q[0].size = 64;
    fx->q[1].name = "cpu";
    fx->q[1].kind = OFFLOAD__POOL_KIND__POOL_PROCESSES;
    fx->q[1].size = 2;
    fx->fn[0] = "echo";
    fx->fn[1] = "sleep";
    fx->fn[2] = "spin";
    Offload__Hello hinit = OFFLOAD__HELLO__INIT;
    fx->hello = hinit;
    fx->hello.executor_id = "exec-1@host";
    fx->hello.n_queues = 2;
    fx->hello.queues = fx->qp;
    fx->hello.heartbeat_ms = 1000;
    fx->hello.liveness = 3;
    codec_envelope einit = OFFLOAD__ENVELOPE__INIT;
    fx->env = einit;
    fx->env.body_case = OFFLOAD__ENVELOPE__BODY_HELLO;
    fx->env.hello = &fx->hello;
}

static char *repeat_char(char c, size_t n)
{
    char *s = malloc(n + 1);
    CU_ASSERT_FATAL(s != NULL);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static const uint8_t job_payload[] = {'a', 0, 'b', 0, 0, 0xff, 0x00, 0x80, '\n', 0};

/* A valid Job envelope with a binary payload. */
static void job_init(codec_envelope *env, Offload__Job *job)
{
    Offload__Job jinit = OFFLOAD__JOB__INIT;
    *job = jinit;
    job->job_id = 0x123456789abcdefULL;
    job->queue = "io";
    job->function = "echo";
    job->payload.data = (uint8_t *)job_payload;
    job->payload.len = sizeof(job_payload);
    job->timeout_ms = 30000;
    job->waited_us = 1234567;
    codec_envelope einit = OFFLOAD__ENVELOPE__INIT;
    *env = einit;
    env->body_case = OFFLOAD__ENVELOPE__BODY_JOB;
    env->job = job;
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
    codec_envelope env = OFFLOAD__ENVELOPE__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_RESULT;
    env.result = &r;
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
    codec_envelope env = OFFLOAD__ENVELOPE__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_SUBMIT;
    env.submit = &s;
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
    codec_envelope renv = OFFLOAD__ENVELOPE__INIT;
    renv.body_case = OFFLOAD__ENVELOPE__BODY_REPLY;
    renv.reply = &r;
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
    codec_envelope env = OFFLOAD__ENVELOPE__INIT, *out;

    Offload__Heartbeat hb = OFFLOAD__HEARTBEAT__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    out = roundtrip(&env);
    CU_ASSERT_PTR_NOT_NULL(out->heartbeat);
    codec_free(out);

    Offload__Goodbye gb = OFFLOAD__GOODBYE__INIT;
    gb.reason = "shutting down";
    env.body_case = OFFLOAD__ENVELOPE__BODY_GOODBYE;
    env.goodbye = &gb;
    out = roundtrip(&env);
    CU_ASSERT_STRING_EQUAL(out->goodbye->reason, "shutting down");
    codec_free(out);

    Offload__Cancel c = OFFLOAD__CANCEL__INIT;
    c.job_id = 1ULL << 40;
    env.body_case = OFFLOAD__ENVELOPE__BODY_CANCEL;
    env.cancel = &c;
    out = roundtrip(&env);
    CU_ASSERT_EQUAL(out->cancel->job_id, 1ULL << 40);
    codec_free(out);

    Offload__Welcome w = OFFLOAD__WELCOME__INIT;
    w.gateway_id = "gw-1";
    env.body_case = OFFLOAD__ENVELOPE__BODY_WELCOME;
    env.welcome = &w;
    out = roundtrip(&env);
    CU_ASSERT_STRING_EQUAL(out->welcome->gateway_id, "gw-1");
    codec_free(out);

    Offload__Refuse r = OFFLOAD__REFUSE__INIT;
    r.reason = OFFLOAD__REFUSE_REASON__REFUSE_VERSION;
    r.version = 3;
    r.message = "this gateway speaks protocol version 1";
    env.body_case = OFFLOAD__ENVELOPE__BODY_REFUSE;
    env.refuse = &r;
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
    codec_envelope env = OFFLOAD__ENVELOPE__INIT;
    char err[256];
    qc.name = "io";
    qc.slots = 3;
    qcp[0] = &qc;
    c.queues = qcp;
    c.n_queues = 1;
    c.seq = 42;
    env.body_case = OFFLOAD__ENVELOPE__BODY_CREDIT;
    env.credit = &c;
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
    env.body_case = OFFLOAD__ENVELOPE__BODY_DEMAND;
    env.demand = &d;
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
    env.body_case = OFFLOAD__ENVELOPE__BODY_WELCOME;
    env.welcome = &w;
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
    job_init(&env, &job);
    uint8_t *buf;
    size_t len;
    CU_ASSERT_FATAL(codec_encode(&env, &buf, &len) == 0);
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
    job_init(&env, &job);
    uint8_t *buf;
    size_t len;
    CU_ASSERT_FATAL(codec_encode(&env, &buf, &len) == 0);
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

/* ---- codec: validation ------------------------------------------------ */

static void test_hello_valid_limits(void)
{
    hello_fx fx;
    hello_fx_init(&fx);
    EXPECT_VALID(&fx.env);
    fx.q[0].size = CODEC_POOL_MAX;
    fx.hello.heartbeat_ms = 0; /* 0: the gateway's default */
    fx.hello.liveness = 0;
    EXPECT_VALID(&fx.env);
    fx.hello.heartbeat_ms = 10;
    fx.hello.liveness = 1000;
    EXPECT_VALID(&fx.env);
    fx.hello.heartbeat_ms = 600000;
    EXPECT_VALID(&fx.env);
    fx.hello.n_queues = CODEC_QUEUES_MAX;
    fx.q[0].name = "io";
    fx.q[0].n_functions = CODEC_FUNCTIONS_MAX;
    EXPECT_VALID(&fx.env);
    char *id = repeat_char('x', CODEC_ID_MAX);
    fx.hello.executor_id = id;
    EXPECT_VALID(&fx.env);
    char *name = repeat_char('n', CODEC_NAME_MAX);
    fx.q[0].name = name;
    fx.fn[0] = name;
    EXPECT_VALID(&fx.env);
    free(name);
    free(id);
}

static void test_hello_rejects_queues(void)
{
    hello_fx fx;
    hello_fx_init(&fx);
    fx.hello.n_queues = 0;
    EXPECT_INVALID(&fx.env, "queues");
    fx.hello.queues = NULL;
    EXPECT_INVALID(&fx.env, "queues");

    hello_fx_init(&fx);
    fx.hello.n_queues = CODEC_QUEUES_MAX + 1;
    EXPECT_INVALID(&fx.env, "queues");

    hello_fx_init(&fx);
    fx.q[1].size = 0;
    EXPECT_INVALID(&fx.env, "size 0");
    fx.q[1].size = CODEC_POOL_MAX + 1;
    EXPECT_INVALID(&fx.env, "size");
    fx.q[1].size = UINT32_MAX;
    EXPECT_INVALID(&fx.env, "size");

    static const int kinds[] = {OFFLOAD__POOL_KIND__POOL_UNSPECIFIED, 3, 1000, -1};
    for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
        hello_fx_init(&fx);
        fx.q[0].kind = (Offload__PoolKind)kinds[i];
        EXPECT_INVALID(&fx.env, "pool kind");
    }

    hello_fx_init(&fx);
    fx.q[1].name = "io";
    EXPECT_INVALID(&fx.env, "declared twice");
    fx.hello.n_queues = 3;
    fx.q[1].name = "cpu";
    fx.q[2].name = "cpu";
    EXPECT_INVALID(&fx.env, "declared twice");

    char *n65 = repeat_char('q', CODEC_NAME_MAX + 1);
    const char *bad[] = {"a b", "a/b", "", n65, "io\n", "caf\xc3\xa9", "a:b", "?"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        hello_fx_init(&fx);
        fx.q[1].name = (char *)bad[i];
        EXPECT_INVALID(&fx.env, "invalid name");
    }
    free(n65);
}

static void test_hello_rejects_other(void)
{
    hello_fx fx;
    hello_fx_init(&fx);
    fx.q[1].n_functions = 0;
    EXPECT_INVALID(&fx.env, "queue 'cpu' has 0 functions");
    fx.q[1].n_functions = CODEC_FUNCTIONS_MAX + 1;
    EXPECT_INVALID(&fx.env, "functions");
    hello_fx_init(&fx);
    fx.fn[2] = "echo";
    EXPECT_INVALID(&fx.env, "function 'echo' declared twice");

    char *n65 = repeat_char('f', CODEC_NAME_MAX + 1);
    const char *badfn[] = {"", "a b", "x/y", n65, "tab\t"};
    for (size_t i = 0; i < ARRAY_LEN(badfn); i++) {
        hello_fx_init(&fx);
        fx.fn[2] = (char *)badfn[i];
        EXPECT_INVALID(&fx.env, "function 2 has an invalid name");
    }
    free(n65);

    char *id129 = repeat_char('e', CODEC_ID_MAX + 1);
    const char *badid[] = {"", "exec 1", " exec", "exec\n", "ex\x7f", "\xc3\xa9", id129};
    for (size_t i = 0; i < ARRAY_LEN(badid); i++) {
        hello_fx_init(&fx);
        fx.hello.executor_id = (char *)badid[i];
        EXPECT_INVALID(&fx.env, "executor_id");
    }
    free(id129);

    static const uint32_t badhb[] = {1, 9, 600001, UINT32_MAX};
    for (size_t i = 0; i < ARRAY_LEN(badhb); i++) {
        hello_fx_init(&fx);
        fx.hello.heartbeat_ms = badhb[i];
        EXPECT_INVALID(&fx.env, "heartbeat_ms");
    }
    hello_fx_init(&fx);
    fx.hello.liveness = 1001;
    EXPECT_INVALID(&fx.env, "liveness");
}

static void test_job_submit_names(void)
{
    char *n64 = repeat_char('j', CODEC_NAME_MAX);
    char *n65 = repeat_char('j', CODEC_NAME_MAX + 1);
    const char *bad[] = {"", "a b", "a/b", "../etc", n65, "x\ty", "\xff"};

    codec_envelope env;
    Offload__Job job;
    job_init(&env, &job);
    job.queue = n64;
    job.function = n64;
    EXPECT_VALID(&env);
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        job_init(&env, &job);
        job.queue = (char *)bad[i];
        EXPECT_INVALID(&env, "job: invalid");
        job_init(&env, &job);
        job.function = (char *)bad[i];
        EXPECT_INVALID(&env, "job: invalid");
    }

    Offload__Submit s = OFFLOAD__SUBMIT__INIT;
    codec_envelope senv = OFFLOAD__ENVELOPE__INIT;
    senv.body_case = OFFLOAD__ENVELOPE__BODY_SUBMIT;
    senv.submit = &s;
    s.queue = n64;
    s.function = "echo";
    EXPECT_VALID(&senv);
    /* A Submit's names are judged where it is answered (the gateway replies
     * bad_request with the client's request_id), so the codec passes them:
     * dropping the frame here would leave the client waiting. */
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        s.queue = (char *)bad[i];
        s.function = "echo";
        EXPECT_VALID(&senv);
        s.queue = "io";
        s.function = (char *)bad[i];
        EXPECT_VALID(&senv);
    }
    Offload__Submit empty = OFFLOAD__SUBMIT__INIT;
    senv.submit = &empty;
    EXPECT_VALID(&senv);
    free(n64);
    free(n65);
}

static void test_codes_and_long_text(void)
{
    Offload__Result r = OFFLOAD__RESULT__INIT;
    codec_envelope env = OFFLOAD__ENVELOPE__INIT;
    env.body_case = OFFLOAD__ENVELOPE__BODY_RESULT;
    env.result = &r;
    static const int badcodes[] = {OFFLOAD__CODE__CODE_UNKNOWN_JOB + 1, 100, -1, INT32_MIN};
    for (size_t i = 0; i < ARRAY_LEN(badcodes); i++) {
        r.code = (Offload__Code)badcodes[i];
        EXPECT_INVALID(&env, "result: unknown code");
    }
    Offload__Reply rep = OFFLOAD__REPLY__INIT;
    codec_envelope renv = OFFLOAD__ENVELOPE__INIT;
    renv.body_case = OFFLOAD__ENVELOPE__BODY_REPLY;
    renv.reply = &rep;
    for (size_t i = 0; i < ARRAY_LEN(badcodes); i++) {
        rep.code = (Offload__Code)badcodes[i];
        EXPECT_INVALID(&renv, "reply: unknown code");
    }
    r.code = rep.code = OFFLOAD__CODE__CODE_OK;

    char *m_ok = repeat_char('m', CODEC_MESSAGE_MAX);
    char *m_long = repeat_char('m', CODEC_MESSAGE_MAX + 1);
    char *id_ok = repeat_char('g', CODEC_ID_MAX);
    char *id_long = repeat_char('g', CODEC_ID_MAX + 1);

    r.message = m_ok;
    EXPECT_VALID(&env);
    r.message = m_long;
    EXPECT_INVALID(&env, "result: message too long");

    rep.message = m_ok;
    EXPECT_VALID(&renv);
    rep.message = m_long;
    EXPECT_INVALID(&renv, "reply: message too long");

    Offload__Refuse ref = OFFLOAD__REFUSE__INIT;
    codec_envelope fenv = OFFLOAD__ENVELOPE__INIT;
    fenv.body_case = OFFLOAD__ENVELOPE__BODY_REFUSE;
    fenv.refuse = &ref;
    ref.message = m_ok;
    EXPECT_VALID(&fenv);
    ref.message = m_long;
    EXPECT_INVALID(&fenv, "refuse: message too long");

    Offload__Goodbye gb = OFFLOAD__GOODBYE__INIT;
    codec_envelope genv = OFFLOAD__ENVELOPE__INIT;
    genv.body_case = OFFLOAD__ENVELOPE__BODY_GOODBYE;
    genv.goodbye = &gb;
    gb.reason = m_ok;
    EXPECT_VALID(&genv);
    gb.reason = m_long;
    EXPECT_INVALID(&genv, "goodbye: reason too long");

    Offload__Welcome w = OFFLOAD__WELCOME__INIT;
    codec_envelope wenv = OFFLOAD__ENVELOPE__INIT;
    wenv.body_case = OFFLOAD__ENVELOPE__BODY_WELCOME;
    wenv.welcome = &w;
    w.gateway_id = id_ok;
    EXPECT_VALID(&wenv);
    w.gateway_id = id_long;
    EXPECT_INVALID(&wenv, "welcome: gateway_id too long");

    free(m_ok);
    free(m_long);
    free(id_ok);
    free(id_long);
}

static void test_name_valid(void)
{
    CU_ASSERT_FALSE(codec_name_valid(NULL));
    CU_ASSERT_FALSE(codec_name_valid(""));
    CU_ASSERT_TRUE(codec_name_valid("a"));
    CU_ASSERT_TRUE(codec_name_valid("Z"));
    CU_ASSERT_TRUE(codec_name_valid("0"));
    CU_ASSERT_TRUE(codec_name_valid("io"));
    CU_ASSERT_TRUE(codec_name_valid("A-z_0.9"));
    CU_ASSERT_TRUE(codec_name_valid("_"));
    CU_ASSERT_TRUE(codec_name_valid("-"));
    CU_ASSERT_TRUE(codec_name_valid(".")); /* the charset allows dots */
    char *s = repeat_char('a', CODEC_NAME_MAX + 1);
    CU_ASSERT_FALSE(codec_name_valid(s));
    s[CODEC_NAME_MAX] = '\0';
    CU_ASSERT_TRUE(codec_name_valid(s));
    s[CODEC_NAME_MAX - 1] = ' ';
    CU_ASSERT_FALSE(codec_name_valid(s));
    free(s);
    static const char *bad[] = {" ",        " a",  "a ",  "a b", "a/b",   "/",    "a\\b", "a\tb",
                                "a\nb",     "a:b", "a@b", "a+b", "a%20b", "\x7f", "\x01", "\xff",
                                "\xc3\xa9", "a,b", "a=b", "a?b", "a#b",   "a*b",  "(",    "~"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        CU_ASSERT_FALSE(codec_name_valid(bad[i]));
}

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
           {"hello: limits accepted", test_hello_valid_limits},
           {"hello: bad queues", test_hello_rejects_queues},
           {"hello: bad functions, id, heartbeat", test_hello_rejects_other},
           {"job and submit names", test_job_submit_names},
           {"codes and over-long text", test_codes_and_long_text},
           {"codec_name_valid", test_name_valid}, {"codec_body_name", test_body_name})

/* ---- common/errors ---------------------------------------------------- */

static void test_error_codes(void)
{
    static const struct {
        int code;
        const char *name;
        int http;
    } want[] = {
        {OFFLOAD__CODE__CODE_OK, "ok", 200},
        {OFFLOAD__CODE__CODE_BAD_REQUEST, "bad_request", 400},
        {OFFLOAD__CODE__CODE_UNKNOWN_QUEUE, "unknown_queue", 404},
        {OFFLOAD__CODE__CODE_UNKNOWN_FUNCTION, "unknown_function", 404},
        {OFFLOAD__CODE__CODE_PAYLOAD_TOO_LARGE, "payload_too_large", 413},
        {OFFLOAD__CODE__CODE_QUEUE_FULL, "queue_full", 503},
        {OFFLOAD__CODE__CODE_NO_EXECUTOR, "no_executor", 503},
        {OFFLOAD__CODE__CODE_TIMEOUT, "timeout", 504},
        {OFFLOAD__CODE__CODE_CRASHED, "crashed", 502},
        {OFFLOAD__CODE__CODE_EXECUTOR_LOST, "executor_lost", 502},
        {OFFLOAD__CODE__CODE_JOB_FAILED, "job_failed", 500},
        {OFFLOAD__CODE__CODE_CANCELLED, "cancelled", 409},
        {OFFLOAD__CODE__CODE_INTERNAL, "internal", 500},
        {OFFLOAD__CODE__CODE_UNKNOWN_JOB, "unknown_job", 404},
    };
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        CU_ASSERT_STRING_EQUAL(code_name(want[i].code), want[i].name);
        CU_ASSERT_EQUAL(code_http_status(want[i].code), want[i].http);
    }
    /* Every code the codec accepts has a name of its own (an unknown one
     * reads as internal). */
    for (int c = OFFLOAD__CODE__CODE_OK; c < OFFLOAD__CODE__CODE_INTERNAL; c++)
        CU_ASSERT_STRING_NOT_EQUAL(code_name(c), "internal");
    static const int out_of_range[] = {-1, OFFLOAD__CODE__CODE_UNKNOWN_JOB + 1, 1000, INT32_MIN,
                                       INT32_MAX};
    for (size_t i = 0; i < ARRAY_LEN(out_of_range); i++) {
        CU_ASSERT_STRING_EQUAL(code_name(out_of_range[i]), "internal");
        CU_ASSERT_EQUAL(code_http_status(out_of_range[i]), 500);
    }
}

UNIT_SUITE(errors, {"code names and HTTP statuses", test_error_codes})

/* ---- common/flags ----------------------------------------------------- */

static void test_parse_ll(void)
{
    static const struct {
        const char *s;
        long long v;
    } good[] = {
        {"0", 0},
        {"-5", -5},
        {"+5", 5},
        {"007", 7},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
    };
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        long long v = 42;
        CU_ASSERT_EQUAL(parse_ll(good[i].s, &v), 0);
        CU_ASSERT_EQUAL(v, good[i].v);
    }
    static const char *bad[] = {"",
                                " 5",
                                "5 ",
                                "5x",
                                "0x10",
                                "1.5",
                                "1e3",
                                "--5",
                                "abc",
                                "\t1",
                                "-",
                                "+",
                                "9223372036854775808",
                                "-9223372036854775809",
                                "99999999999999999999"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        long long v = 42;
        CU_ASSERT_EQUAL(parse_ll(bad[i], &v), -1);
        CU_ASSERT_EQUAL(v, 42);
    }
    long long v = 42;
    CU_ASSERT_EQUAL(parse_ll(NULL, &v), -1);
    CU_ASSERT_EQUAL(v, 42);
}

static void test_parse_size(void)
{
    static const struct {
        const char *s;
        long long v;
    } good[] = {
        {"0", 0},
        {"1048576", 1048576},
        {"1K", 1024},
        {"1k", 1024},
        {"512KiB", 512 * 1024},
        {"512kib", 512 * 1024},
        {"1KB", 1024},
        {"1M", 1 << 20},
        {"3MB", 3 << 20},
        {"2G", 2LL << 30},
        {"1GiB", 1LL << 30},
        {"4294967296G", 1LL << 62}, /* the largest accepted */
        {"4611686018427387904", 1LL << 62},
    };
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        long long v = 42;
        CU_ASSERT_EQUAL(parse_size(good[i].s, &v), 0);
        CU_ASSERT_EQUAL(v, good[i].v);
    }
    static const char *bad[] = {"",
                                "-1",
                                "+1",
                                " 1",
                                "1 ",
                                "K",
                                "1T",
                                "1Ki",
                                "1 K",
                                "1KK",
                                "1.5M",
                                "1MiBs",
                                "1b",
                                "0x10",
                                "4294967297G",
                                "4611686018427387905",
                                "99999999999999999999"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        long long v = 42;
        int rc = parse_size(bad[i], &v);
        if (rc != -1)
            fprintf(stderr, "\n  parse_size('%s') accepted: %lld\n", bad[i], v);
        CU_ASSERT_EQUAL(rc, -1);
        CU_ASSERT_EQUAL(v, 42);
    }
    long long v = 42;
    CU_ASSERT_EQUAL(parse_size(NULL, &v), -1);
}

/* A small program's flag table, its targets reset for each test. */
typedef struct flags_fx {
    char *config;
    char *name;
    long long workers;
    long long max_size;
    flag_list items;
    int verbose;
    flag_spec specs[7];
} flags_fx;

static const char *const flags_env_names[] = {"OFFLOAD_CONFIG",  "OFFLOAD_UT_NAME",
                                              "OFFLOAD_WORKERS", "OFFLOAD_MAX_SIZE",
                                              "OFFLOAD_ITEM",    "OFFLOAD_VERBOSE"};

static void flags_fx_init(flags_fx *fx)
{
    for (size_t i = 0; i < ARRAY_LEN(flags_env_names); i++)
        unsetenv(flags_env_names[i]);
    memset(fx, 0, sizeof(*fx));
    fx->name = strdup("default");
    fx->workers = 4;
    fx->max_size = 1024;
    char err[64];
    flag_set_list(&fx->items, "default-item", err, sizeof(err));
    const flag_spec specs[] = {
        {"config", "FILE", "config file", flag_set_string, &fx->config, 0, 0, 0},
        {"ut-name", "NAME", "a name", flag_set_string, &fx->name, 0, 0, 0},
        {"workers", "N", "workers (1..64)", flag_set_int, &fx->workers, 1, 64, 0},
        {"max-size", "BYTES", "a size", flag_set_size, &fx->max_size, 0, 1 << 20, 0},
        {"item", "X", "repeatable", flag_set_list, &fx->items, 0, 0, 1},
        {"verbose", NULL, "a switch", flag_set_switch, &fx->verbose, 0, 0, 0},
        {0},
    };
    memcpy(fx->specs, specs, sizeof(specs));
}

static void flags_fx_free(flags_fx *fx)
{
    free(fx->config);
    free(fx->name);
    flag_list_clear(&fx->items);
    for (size_t i = 0; i < ARRAY_LEN(flags_env_names); i++)
        unsetenv(flags_env_names[i]);
}

/* Runs flags_parse on a NULL-terminated argument list. */
static int flags_run(flags_fx *fx, char *err, size_t errlen, ...)
{
    char *argv[16] = {"prog"};
    int argc = 1;
    va_list ap;
    va_start(ap, errlen);
    for (char *a; argc < 15 && (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    memset(err, 'X', errlen); /* the caller need not clear err */
    int rc = flags_parse(fx->specs, "test", "usage: prog", argc, argv, err, errlen);
    if (rc < 0)
        CU_ASSERT(memchr(err, '\0', errlen) != NULL);
    return rc;
}

/* Writes text to a fresh temporary file; returns its path (free it). */
static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/offload-ut-flags-XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    size_t n = strlen(text);
    CU_ASSERT_FATAL(write(fd, text, n) == (ssize_t)n);
    close(fd);
    return path;
}

static void test_flags_sources(void)
{
    flags_fx fx;
    char err[256];

    /* Defaults stay when nothing is set. */
    flags_fx_init(&fx);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), NULL), 0);
    CU_ASSERT_STRING_EQUAL(fx.name, "default");
    CU_ASSERT_EQUAL(fx.workers, 4);
    CU_ASSERT_EQUAL_FATAL(fx.items.count, 1);
    CU_ASSERT_STRING_EQUAL(fx.items.items[0], "default-item");
    flags_fx_free(&fx);

    /* The environment overrides defaults; argv overrides the environment. */
    flags_fx_init(&fx);
    setenv("OFFLOAD_UT_NAME", "from-env", 1);
    setenv("OFFLOAD_WORKERS", "8", 1);
    setenv("OFFLOAD_ITEM", "e1,e2", 1);
    setenv("OFFLOAD_VERBOSE", "yes", 1);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--ut-name=from-argv", NULL), 0);
    CU_ASSERT_STRING_EQUAL(fx.name, "from-argv");
    CU_ASSERT_EQUAL(fx.workers, 8);
    CU_ASSERT_EQUAL(fx.verbose, 1);
    CU_ASSERT_EQUAL_FATAL(fx.items.count, 2);
    CU_ASSERT_STRING_EQUAL(fx.items.items[0], "e1");
    CU_ASSERT_STRING_EQUAL(fx.items.items[1], "e2");
    flags_fx_free(&fx);

    /* Config file over defaults; env and argv over the file; a repeatable
     * flag from argv replaces the file's list. */
    char *path = write_temp("; a comment\n"
                            "[other]\n"
                            "bogus = 1\n"
                            "[test]\n"
                            "ut-name = from-file\n"
                            "workers = 16\n"
                            "max-size = 2K\n"
                            "item = f1\n"
                            "item = f2\n"
                            "verbose = true\n");
    flags_fx_init(&fx);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--config", path, NULL), 0);
    CU_ASSERT_STRING_EQUAL(fx.config, path);
    CU_ASSERT_STRING_EQUAL(fx.name, "from-file");
    CU_ASSERT_EQUAL(fx.workers, 16);
    CU_ASSERT_EQUAL(fx.max_size, 2048);
    CU_ASSERT_EQUAL(fx.verbose, 1);
    CU_ASSERT_EQUAL_FATAL(fx.items.count, 2);
    CU_ASSERT_STRING_EQUAL(fx.items.items[0], "f1");
    CU_ASSERT_STRING_EQUAL(fx.items.items[1], "f2");
    flags_fx_free(&fx);

    flags_fx_init(&fx);
    setenv("OFFLOAD_CONFIG", path, 1);
    setenv("OFFLOAD_WORKERS", "32", 1);
    CU_ASSERT_EQUAL(
        flags_run(&fx, err, sizeof(err), "--item", "a1", "--item=a2", "--verbose=off", NULL), 0);
    CU_ASSERT_STRING_EQUAL(fx.name, "from-file");
    CU_ASSERT_EQUAL(fx.workers, 32);
    CU_ASSERT_EQUAL(fx.verbose, 0);
    CU_ASSERT_EQUAL_FATAL(fx.items.count, 2);
    CU_ASSERT_STRING_EQUAL(fx.items.items[0], "a1");
    CU_ASSERT_STRING_EQUAL(fx.items.items[1], "a2");
    flags_fx_free(&fx);

    unlink(path);
    free(path);
}

static void test_flags_errors(void)
{
    flags_fx fx;
    char err[256];

    flags_fx_init(&fx);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--nope", NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--nope"));
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--nope=1", NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--nope"));
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "positional", NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "positional"));
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--ut-name", NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs a value"));
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--verbose=maybe", NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--verbose"));
    flags_fx_free(&fx);

    static const char *bad_workers[] = {"65", "0", "-1", "abc", "", "9999999999999999999999"};
    for (size_t i = 0; i < ARRAY_LEN(bad_workers); i++) {
        flags_fx_init(&fx);
        CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--workers", bad_workers[i], NULL), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "--workers"));
        CU_ASSERT_EQUAL(fx.workers, 4);
        flags_fx_free(&fx);
    }
    flags_fx_init(&fx);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--workers", "65", NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "out of range"));
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--workers=64", "--max-size", "1M", NULL), 0);
    CU_ASSERT_EQUAL(fx.workers, 64);
    CU_ASSERT_EQUAL(fx.max_size, 1 << 20);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--max-size", "2M", NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--max-size"));
    flags_fx_free(&fx);

    flags_fx_init(&fx);
    setenv("OFFLOAD_WORKERS", "100", 1);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "OFFLOAD_WORKERS"));
    flags_fx_free(&fx);

    /* Config file errors name the file's key; a missing file says so; a
     * line that is not KEY = VALUE gives its number. */
    char *path = write_temp("[test]\nworkers = 99\n");
    flags_fx_init(&fx);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--config", path, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "workers"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "out of range"));
    flags_fx_free(&fx);
    unlink(path);
    free(path);

    path = write_temp("[test]\nunknown-key = 1\n");
    flags_fx_init(&fx);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--config", path, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown-key"));
    flags_fx_free(&fx);
    unlink(path);
    free(path);

    path = write_temp("[test]\nworkers = 2\nthis line has no equals sign\n");
    flags_fx_init(&fx);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--config", path, NULL), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 3"));
    flags_fx_free(&fx);
    unlink(path);
    free(path);

    flags_fx_init(&fx);
    CU_ASSERT_EQUAL(flags_run(&fx, err, sizeof(err), "--config=/nonexistent/offload.ini", NULL),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/offload.ini"));
    flags_fx_free(&fx);
}

UNIT_SUITE(flags, {"parse_ll", test_parse_ll}, {"parse_size", test_parse_size},
           {"flags_parse: defaults, config, env, argv", test_flags_sources},
           {"flags_parse: errors", test_flags_errors})
