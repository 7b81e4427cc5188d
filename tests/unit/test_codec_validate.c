/* test_codec_validate.c -- what codec_validate accepts and refuses, through
 * a full encode and decode: the Hello's limits and its bad queues,
 * functions, id and heartbeat; job and submit names; unknown codes and
 * over-long text; PoolStats; codec_name_valid. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "codec_fx.h"
#include "unit.h"

/* ---- helpers ---------------------------------------------------------- */

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

/* EXPECT_INVALID: refused by the decoder and by codec_validate alike, with
 * substr in the message. EXPECT_VALID: decoded. */
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

static char *repeat_char(char c, size_t n)
{
    char *s = malloc(n + 1);
    CU_ASSERT_FATAL(s != NULL);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

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
    codec_envelope senv;
    ENVELOPE_SET(&senv, submit, SUBMIT, &s);
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

/* Unknown codes in a Result and a Reply; every bounded text at its limit,
 * then one byte over. */
static void test_codes_and_long_text(void)
{
    Offload__Result r = OFFLOAD__RESULT__INIT;
    Offload__Reply rep = OFFLOAD__REPLY__INIT;
    Offload__Refuse ref = OFFLOAD__REFUSE__INIT;
    Offload__Goodbye gb = OFFLOAD__GOODBYE__INIT;
    Offload__Welcome w = OFFLOAD__WELCOME__INIT;
    codec_envelope env, renv, fenv, genv, wenv;
    ENVELOPE_SET(&env, result, RESULT, &r);
    ENVELOPE_SET(&renv, reply, REPLY, &rep);
    ENVELOPE_SET(&fenv, refuse, REFUSE, &ref);
    ENVELOPE_SET(&genv, goodbye, GOODBYE, &gb);
    ENVELOPE_SET(&wenv, welcome, WELCOME, &w);

    static const int badcodes[] = {OFFLOAD__CODE__CODE_UNKNOWN_JOB + 1, 100, -1, INT32_MIN};
    const struct {
        codec_envelope *env;
        Offload__Code *code;
        const char *why;
    } coded[] = {
        {&env, &r.code, "result: unknown code"},
        {&renv, &rep.code, "reply: unknown code"},
    };
    for (size_t c = 0; c < ARRAY_LEN(coded); c++)
        for (size_t i = 0; i < ARRAY_LEN(badcodes); i++) {
            *coded[c].code = (Offload__Code)badcodes[i];
            EXPECT_INVALID(coded[c].env, coded[c].why);
        }
    r.code = rep.code = OFFLOAD__CODE__CODE_OK;

    char *m_ok = repeat_char('m', CODEC_MESSAGE_MAX);
    char *m_long = repeat_char('m', CODEC_MESSAGE_MAX + 1);
    char *id_ok = repeat_char('g', CODEC_ID_MAX);
    char *id_long = repeat_char('g', CODEC_ID_MAX + 1);
    const struct {
        codec_envelope *env;
        char **text;
        char *ok, *over;
        const char *why;
    } texts[] = {
        {&env, &r.message, m_ok, m_long, "result: message too long"},
        {&renv, &rep.message, m_ok, m_long, "reply: message too long"},
        {&fenv, &ref.message, m_ok, m_long, "refuse: message too long"},
        {&genv, &gb.reason, m_ok, m_long, "goodbye: reason too long"},
        {&wenv, &w.gateway_id, id_ok, id_long, "welcome: gateway_id too long"},
    };
    for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
        *texts[i].text = texts[i].ok;
        EXPECT_VALID(texts[i].env);
        *texts[i].text = texts[i].over;
        EXPECT_INVALID(texts[i].env, texts[i].why);
    }

    free(m_ok);
    free(m_long);
    free(id_ok);
    free(id_long);
}

/* PoolStats: every field travels (with Welcome.pool_stats and
 * Cancel.deadline), and the bounds on counts, names, kinds and sizes. */
static void test_pool_stats(void)
{
    Offload__PoolStat st[CODEC_QUEUES_MAX + 1], *sp[CODEC_QUEUES_MAX + 1];
    char names[CODEC_QUEUES_MAX + 1][16];
    for (size_t i = 0; i <= CODEC_QUEUES_MAX; i++) {
        offload__pool_stat__init(&st[i]);
        snprintf(names[i], sizeof(names[i]), "q%zu", i);
        st[i].queue = names[i];
        st[i].kind = OFFLOAD__POOL_KIND__POOL_THREADS;
        st[i].size = 4;
        sp[i] = &st[i];
    }
    st[0].queue = "cpu";
    st[0].kind = OFFLOAD__POOL_KIND__POOL_PROCESSES;
    st[0].size = 2;
    st[0].alive = 2;
    st[0].busy = 1;
    st[0].respawns = 1ULL << 40;
    st[0].kills_deadline = 3;
    st[0].kills_cancel = 4;
    st[0].kills_memory = 5;
    st[0].kills_recycle = 6;
    st[0].rss_bytes = 123456789012ULL;
    Offload__PoolStats ps = OFFLOAD__POOL_STATS__INIT;
    ps.pools = sp;
    ps.n_pools = 2;
    ps.seq = 9;
    codec_envelope env;
    ENVELOPE_SET(&env, pool_stats, POOL_STATS, &ps);
    uint8_t *buf;
    size_t len;
    char err[256];
    CU_ASSERT_FATAL(codec_encode(&env, &buf, &len) == 0);
    codec_envelope *out = NULL;
    CU_ASSERT_EQUAL_FATAL(decode_exact(buf, len, 0, &out, NULL, err, sizeof(err)), 0);
    free(buf);
    CU_ASSERT_EQUAL_FATAL(out->body_case, OFFLOAD__ENVELOPE__BODY_POOL_STATS);
    const Offload__PoolStats *got = out->pool_stats;
    CU_ASSERT_EQUAL(got->seq, 9);
    CU_ASSERT_EQUAL_FATAL(got->n_pools, 2);
    const Offload__PoolStat *g = got->pools[0];
    CU_ASSERT_STRING_EQUAL(g->queue, "cpu");
    CU_ASSERT_EQUAL(g->kind, OFFLOAD__POOL_KIND__POOL_PROCESSES);
    CU_ASSERT(g->size == 2 && g->alive == 2 && g->busy == 1);
    CU_ASSERT_EQUAL(g->respawns, 1ULL << 40);
    CU_ASSERT(g->kills_deadline == 3 && g->kills_cancel == 4 && g->kills_memory == 5 &&
              g->kills_recycle == 6);
    CU_ASSERT_EQUAL(g->rss_bytes, 123456789012ULL);
    CU_ASSERT_STRING_EQUAL(got->pools[1]->queue, "q1");
    codec_free(out);

    ps.n_pools = 0; /* an executor may have nothing to say yet */
    EXPECT_VALID(&env);
    ps.n_pools = CODEC_QUEUES_MAX;
    EXPECT_VALID(&env);
    ps.n_pools = CODEC_QUEUES_MAX + 1;
    EXPECT_INVALID(&env, "65 pools");
    ps.n_pools = 2;
    st[1].queue = "bad name";
    EXPECT_INVALID(&env, "invalid queue name");
    st[1].queue = "cpu";
    EXPECT_INVALID(&env, "listed twice");
    st[1].queue = names[1];
    st[1].kind = OFFLOAD__POOL_KIND__POOL_UNSPECIFIED;
    EXPECT_INVALID(&env, "unknown pool kind");
    st[1].kind = 7;
    EXPECT_INVALID(&env, "unknown pool kind");
    st[1].kind = OFFLOAD__POOL_KIND__POOL_THREADS;
    st[1].size = 0;
    EXPECT_INVALID(&env, "size 0");
    st[1].size = CODEC_POOL_MAX + 1;
    EXPECT_INVALID(&env, "size 4097");
    st[1].size = CODEC_POOL_MAX;
    st[1].alive = st[1].busy = CODEC_POOL_MAX;
    EXPECT_VALID(&env);
    st[1].size = 4;
    st[1].alive = 5;
    st[1].busy = 0;
    EXPECT_INVALID(&env, "5 alive");
    st[1].alive = 0;
    st[1].busy = 5;
    EXPECT_INVALID(&env, "5 busy");
    st[1].busy = 4;
    EXPECT_VALID(&env);

    /* The flags that go with it travel. */
    Offload__Welcome w = OFFLOAD__WELCOME__INIT;
    w.gateway_id = "gw";
    w.pool_stats = 1;
    ENVELOPE_SET(&env, welcome, WELCOME, &w);
    CU_ASSERT_FATAL(codec_encode(&env, &buf, &len) == 0);
    CU_ASSERT_EQUAL_FATAL(decode_exact(buf, len, 0, &out, NULL, err, sizeof(err)), 0);
    CU_ASSERT_TRUE(out->welcome->pool_stats);
    codec_free(out);
    free(buf);
    Offload__Cancel c = OFFLOAD__CANCEL__INIT;
    c.job_id = 5;
    c.deadline = 1;
    ENVELOPE_SET(&env, cancel, CANCEL, &c);
    CU_ASSERT_FATAL(codec_encode(&env, &buf, &len) == 0);
    CU_ASSERT_EQUAL_FATAL(decode_exact(buf, len, 0, &out, NULL, err, sizeof(err)), 0);
    CU_ASSERT_TRUE(out->cancel->deadline);
    codec_free(out);
    free(buf);
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

UNIT_SUITE(codec_validate, {"hello: limits accepted", test_hello_valid_limits},
           {"hello: bad queues", test_hello_rejects_queues},
           {"hello: bad functions, id, heartbeat", test_hello_rejects_other},
           {"job and submit names", test_job_submit_names},
           {"codes and over-long text", test_codes_and_long_text},
           {"pool_stats: round trip and bounds", test_pool_stats},
           {"codec_name_valid", test_name_valid})
