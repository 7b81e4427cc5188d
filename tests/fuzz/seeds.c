/* seeds.c -- writes the fuzzers' seed corpus (tests/fuzz/corpus/<name>/),
 * which is committed: `make fuzz-seeds` runs it again after a change here.
 *
 *   codec   one valid packed Envelope of every body kind (made by
 *           codec_encode), another version's, an invalid Hello and an
 *           invalid PoolStats
 *   wproto  worker streams (fuzz_wproto.c says the control byte): a hello,
 *           a whole conversation fed a byte at a time, jobs, an error
 *           text, a frame over the limit, stdout garbage, a traced job
 *   params  query values and /v1/jobs/ paths
 *   routes  a request's method and path, then --route specs
 *   parse   numbers and byte counts
 *   trace   traceparents of version 00 and later, invalid ones, a tracestate
 *   tokens  --http-token-file files: tokens with and without queues,
 *           comments, CRLF, the longest token, and refused ones (too
 *           short, a bad queue, the same token twice, a NUL byte)
 *   log_format  log messages as the call sites write them: fields, quoted
 *           values with text_quote's escapes, words, a key twice, a quote
 *           never closed, control bytes and bytes that are not UTF-8
 *   keys    CURVE key files: a .key and a .pub (made from a fixed secret
 *           key, so the seeds do not change), a .pub with queues, and
 *           refused ones (keys that do not match, a bad key, a name twice)
 *
 * Usage: fuzz-seeds DIR (the corpus directory; its subdirectories exist). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "codec.h"
#include "keys.h"
#include "wproto.h"

static const char *seeds_dir;
static int seeds_failed;

static void seed_write(const char *target, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s/%s", seeds_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "fuzz-seeds: cannot write %s: %s\n", path, strerror(errno));
        seeds_failed = 1;
    }
}

static void seed_text(const char *target, const char *name, const char *text)
{
    seed_write(target, name, text, strlen(text));
}

static void seed_envelope(const char *name, codec_envelope *env)
{
    uint8_t *buf;
    size_t len;
    if (codec_encode(env, &buf, &len) < 0) {
        fprintf(stderr, "fuzz-seeds: out of memory\n");
        exit(1);
    }
    seed_write("codec", name, buf, len);
    free(buf);
}

/* Seeds, as codec/NAME, an Envelope whose body is MSG (the oneof's field
 * FIELD, body case CASE). */
#define SEED_BODY(name, field, CASE, msg)                                                          \
    do {                                                                                           \
        codec_envelope env_ = OFFLOAD__ENVELOPE__INIT;                                             \
        env_.body_case = OFFLOAD__ENVELOPE__BODY_##CASE;                                           \
        env_.field = (msg);                                                                        \
        seed_envelope((name), &env_);                                                              \
    } while (0)

static void seeds_codec(void)
{
    uint8_t payload[] = "3000";

    char *io_functions[] = {"echo", "sleep"}, *cpu_functions[] = {"primes"};
    Offload__QueueDecl io = OFFLOAD__QUEUE_DECL__INIT, cpu = OFFLOAD__QUEUE_DECL__INIT;
    io.name = "io";
    io.kind = OFFLOAD__POOL_KIND__POOL_THREADS;
    io.size = 64;
    io.n_functions = 2;
    io.functions = io_functions;
    cpu.name = "cpu";
    cpu.kind = OFFLOAD__POOL_KIND__POOL_PROCESSES;
    cpu.size = 2;
    cpu.n_functions = 1;
    cpu.functions = cpu_functions;
    Offload__QueueDecl *queues[] = {&io, &cpu};
    Offload__Hello hello = OFFLOAD__HELLO__INIT;
    hello.executor_id = "exec-1";
    hello.n_queues = 2;
    hello.queues = queues;
    hello.heartbeat_ms = 1000;
    hello.liveness = 3;
    SEED_BODY("hello", hello, HELLO, &hello);

    Offload__Welcome welcome = OFFLOAD__WELCOME__INIT;
    welcome.gateway_id = "gw-1";
    SEED_BODY("welcome", welcome, WELCOME, &welcome);

    codec_envelope env;
    Offload__Refuse refuse;
    codec_refuse(&env, &refuse, OFFLOAD__REFUSE_REASON__REFUSE_INVALID, "hello: 0 queues");
    seed_envelope("refuse", &env);

    Offload__Heartbeat heartbeat = OFFLOAD__HEARTBEAT__INIT;
    SEED_BODY("heartbeat", heartbeat, HEARTBEAT, &heartbeat);

    Offload__Goodbye goodbye = OFFLOAD__GOODBYE__INIT;
    goodbye.reason = "drained";
    SEED_BODY("goodbye", goodbye, GOODBYE, &goodbye);

    Offload__Job job = OFFLOAD__JOB__INIT;
    job.job_id = 0x123456789abcULL;
    job.queue = "io";
    job.function = "sleep";
    job.payload.data = payload;
    job.payload.len = 4;
    job.timeout_ms = 5000;
    job.waited_us = 42;
    SEED_BODY("job", job, JOB, &job);
    job.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    job.tracestate = "congo=t61rcWkgMzE";
    SEED_BODY("job-traced", job, JOB, &job);

    Offload__Result result = OFFLOAD__RESULT__INIT;
    result.job_id = 0x123456789abcULL;
    result.code = OFFLOAD__CODE__CODE_JOB_FAILED;
    result.message = "no such file";
    result.run_us = 1500;
    SEED_BODY("result", result, RESULT, &result);

    Offload__Cancel cancel = OFFLOAD__CANCEL__INIT;
    cancel.job_id = 7;
    cancel.request_id = 9;
    SEED_BODY("cancel", cancel, CANCEL, &cancel);

    Offload__Drain drain = OFFLOAD__DRAIN__INIT;
    drain.timeout_ms = 30000;
    SEED_BODY("drain", drain, DRAIN, &drain);

    Offload__Submit submit = OFFLOAD__SUBMIT__INIT;
    submit.request_id = 1;
    submit.queue = "io";
    submit.function = "echo";
    submit.payload.data = payload;
    submit.payload.len = 4;
    submit.timeout_ms = 2000;
    submit.retries = 1;
    submit.lease_ms = 1000;
    submit.detach = 1;
    submit.idempotency_key = "order-17";
    SEED_BODY("submit", submit, SUBMIT, &submit);

    Offload__Query query = OFFLOAD__QUERY__INIT;
    query.request_id = 2;
    query.job_id = 7;
    query.wait_ms = 100;
    query.cancel = 1;
    SEED_BODY("query", query, QUERY, &query);

    Offload__ListQueues list = OFFLOAD__LIST_QUEUES__INIT;
    list.request_id = 3;
    SEED_BODY("list_queues", list_queues, LIST_QUEUES, &list);

    Offload__Reply reply = OFFLOAD__REPLY__INIT;
    reply.request_id = 1;
    reply.job_id = 7;
    reply.code = OFFLOAD__CODE__CODE_OK;
    reply.payload.data = payload;
    reply.payload.len = 4;
    reply.waited_us = 10;
    reply.run_us = 3000000;
    reply.state = OFFLOAD__JOB_STATE__STATE_DONE;
    SEED_BODY("reply", reply, REPLY, &reply);

    Offload__PoolStat cpu_pool = OFFLOAD__POOL_STAT__INIT, io_pool = OFFLOAD__POOL_STAT__INIT;
    cpu_pool.queue = "cpu";
    cpu_pool.kind = OFFLOAD__POOL_KIND__POOL_PROCESSES;
    cpu_pool.size = 2;
    cpu_pool.alive = 2;
    cpu_pool.busy = 1;
    cpu_pool.respawns = 3;
    cpu_pool.kills_deadline = 1;
    cpu_pool.kills_cancel = 1;
    cpu_pool.kills_recycle = 1;
    cpu_pool.rss_bytes = 9310208;
    io_pool.queue = "io";
    io_pool.kind = OFFLOAD__POOL_KIND__POOL_THREADS;
    io_pool.size = 64;
    io_pool.alive = 64;
    Offload__PoolStat *pools[] = {&io_pool, &cpu_pool};
    Offload__PoolStats pool_stats = OFFLOAD__POOL_STATS__INIT;
    pool_stats.n_pools = 2;
    pool_stats.pools = pools;
    pool_stats.seq = 4;
    SEED_BODY("pool_stats", pool_stats, POOL_STATS, &pool_stats);

    /* Not accepted: another version (codec_encode sets ours, so by hand:
     * version 1, an empty Heartbeat), and a Hello with a bad queue name. */
    static const uint8_t version1[] = {0x08, 0x01, 0x6a, 0x00};
    seed_write("codec", "version1", version1, sizeof(version1));
    io.name = "i o";
    SEED_BODY("hello-bad-name", hello, HELLO, &hello);
    /* And a PoolStats with more busy than its size. */
    cpu_pool.busy = 3;
    SEED_BODY("pool_stats-busy-over-size", pool_stats, POOL_STATS, &pool_stats);
}

/* Appends one frame (type, body) to buf at *len. */
static void frame_put(uint8_t *buf, size_t *len, uint8_t type, const void *body, size_t blen)
{
    uint32_t l = (uint32_t)blen + 1;
    uint8_t *p = buf + *len;
    p[0] = (uint8_t)(l >> 24);
    p[1] = (uint8_t)(l >> 16);
    p[2] = (uint8_t)(l >> 8);
    p[3] = (uint8_t)l;
    p[4] = type;
    memcpy(p + 5, body, blen);
    *len += 5 + blen;
}

/* Appends a job frame. */
static void job_put(uint8_t *buf, size_t *len, uint32_t timeout_ms, const char *name,
                    const char *payload)
{
    size_t plen = strlen(payload);
    *len += wp_job_header(buf + *len, timeout_ms, name, plen);
    memcpy(buf + *len, payload, plen);
    *len += plen;
}

/* Control bytes (fuzz_wproto.c): the largest frame 1 MiB, 256 names, and
 * the number of chunk-size bytes that follow. */
#define WP_CONTROL(chunks) (0x03 | (chunks) << 2 | 0x60)

/* Seeds, as wproto/NAME, a stream of one control byte and one frame. */
static void seed_frame(const char *name, uint8_t control, uint8_t type, const char *body,
                       size_t blen)
{
    uint8_t buf[1024];
    size_t len = 0;
    buf[len++] = control;
    frame_put(buf, &len, type, body, blen);
    seed_write("wproto", name, buf, len);
}

static void seeds_wproto(void)
{
    static const char hello[] = "offload-worker 1\necho\nsleep\nprimes\n";
    uint8_t buf[1024];
    size_t len;

    seed_frame("hello", WP_CONTROL(0), WP_HELLO, hello, strlen(hello));

    /* The executor's side and the worker's, one byte at a time. */
    len = 0;
    buf[len++] = WP_CONTROL(1);
    buf[len++] = 1;
    frame_put(buf, &len, WP_HELLO, hello, strlen(hello));
    job_put(buf, &len, 5000, "echo", "hi");
    frame_put(buf, &len, WP_RESULT, "hi", 2);
    job_put(buf, &len, 100, "sleep", "3000");
    frame_put(buf, &len, WP_ERROR, "timed out", 9);
    seed_write("wproto", "conversation-bytewise", buf, len);

    /* Jobs in chunks of 3 and 7 bytes: an empty payload, a 64-byte name. */
    len = 0;
    buf[len++] = WP_CONTROL(2);
    buf[len++] = 3;
    buf[len++] = 7;
    job_put(buf, &len, 1, "primes", "");
    job_put(buf, &len, 86400000, "a234567890123456789012345678901234567890123456789012345678901234",
            "x");
    seed_write("wproto", "jobs-chunked", buf, len);

    /* An error text with UTF-8, a control byte and a byte that is not
     * UTF-8, as text_clean sees it. */
    static const char failed[] = "bad input: caf\xc3\xa9 \x01 \xff\xfe end";
    seed_frame("error-text", WP_CONTROL(0), WP_ERROR, failed, strlen(failed));

    /* A frame over a 16-byte limit (control: the first size). */
    seed_frame("over-limit", 0x60, WP_RESULT, "0123456789abcdefghij", 20);

    /* A worker printing to stdout, and a hello naming a function twice. */
    len = 0;
    buf[len++] = WP_CONTROL(0);
    memcpy(buf + len, "Hello, world!\n", 14);
    len += 14;
    seed_write("wproto", "stdout-garbage", buf, len);
    static const char twice[] = "offload-worker 1\necho\necho\n";
    seed_frame("hello-twice", WP_CONTROL(0), WP_HELLO, twice, strlen(twice));

    /* A worker that takes trace frames, and a traced job. */
    static const char traced[] = "offload-worker 1 trace\necho\n";
    len = 0;
    buf[len++] = WP_CONTROL(0);
    frame_put(buf, &len, WP_HELLO, traced, strlen(traced));
    len += wp_trace_frame(buf + len, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "congo=t61rcWkgMzE");
    job_put(buf, &len, 5000, "echo", "hi");
    seed_write("wproto", "traced-job", buf, len);
}

static void seeds_text(void)
{
    seed_text("params", "ms", "3000");
    seed_text("params", "zero", "0");
    seed_text("params", "twelve-digits", "999999999999");
    seed_text("params", "true", "true");
    seed_text("params", "false", "false");
    seed_text("params", "job-path", "/v1/jobs/io/sleep");
    seed_text("params", "job-path-bad", "/v1/jobs/i o/sl\xffp");
    seed_text("params", "job-ref", "/v1/jobs/12345");
    seed_text("params", "job-ref-result", "/v1/jobs/18446744073709551615/result");

    seed_text("routes", "job-and-delay",
              "GET\n/test/sync\nGET /test/sync=job:io/sleep:3000\nPOST /test/sync=delay:10");
    seed_text("routes", "body-payload", "POST\n/resize\nPOST /resize=job:cpu/resize");
    seed_text("routes", "duplicate",
              "PUT\n/test/async\nGET /test/async=delay:3000\nGET /test/async=delay:5");
    seed_text("routes", "reserved", "GET\n/healthz\nGET /healthz=delay:1\nGET /v1/x=delay:1");
    seed_text("routes", "bad-specs",
              "get\n/a\nget /a=delay:1\nGET a=delay:1\nGET /a=delay:-1\nGET /a=job:io\n"
              "GET /a?b=delay:1\nGET /a=sleep:1");

    seed_text("parse", "bytes", "1048576");
    seed_text("parse", "mebibyte", "1M");
    seed_text("parse", "kibibytes", "512KiB");
    seed_text("parse", "gigabytes", "4GB");
    seed_text("parse", "negative", "-42");
    seed_text("parse", "max", "9223372036854775807");

    seed_text("trace", "v00", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    seed_text("trace", "v01-longer",
              "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-extra");
    seed_text("trace", "zero-id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01");
    seed_text("trace", "version-ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    seed_text("trace", "uppercase", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01");
    seed_text("trace", "state", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    seed_text("log_format", "listening",
              "event=listening id=gw-1 http=127.0.0.1:8080 max_payload=1048576 routes=0");
    seed_text("log_format", "quoted",
              "event=executor_lost executor=x reason=\"silent for 600 ms\" jobs_lost=2 "
              "message=\"a \\x22quoted\\x22 \\x5c value\\x0a\"");
    seed_text("log_format", "words-and-keys",
              "listening now event=a level=debug event=b msg=m1 =x ts=t");
    seed_text("log_format", "unclosed", "event=x why=\"cut he");
    seed_text("log_format", "bytes", "a=\x01\x1f c=\xff\xfe d=\xc0\xaf e=\xed\xa0\x80 f=\xc3\xa9 "
                                     "g=\xf0\x9f\x98\x80 h=\xe2\x82 \"x\"=\" \\");
}

static void seeds_tokens(void)
{
#define TA "0123456789abcdef0123456789abcdef"
#define TB "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA=="
    seed_text("tokens", "one", TA "\n");
    seed_text("tokens", "queues",
              "# the web app: io and cpu only\n" TA "  io, cpu\n"
              "# the operators' token: every queue\n" TB "\n");
    seed_text("tokens", "crlf-comments",
              "\r\n  " TA "\tio,cpu\t# the app\r\n\n" TB ",other # x\r\n"
              "a-b.c_d~e+f/g0123456\n");
    char longest[300];
    memset(longest, 'z', 255);
    memcpy(longest + 255, "=\n", 3);
    seed_text("tokens", "longest", longest);
    seed_text("tokens", "many-queues",
              TA " a b c d e f g h i j k l m n o p q r s t u v w x y z a.b a_b a-b "
                 "a234567890123456789012345678901234567890123456789012345678901234\n");
    seed_text("tokens", "too-short", TA "\nshort\n");
    seed_text("tokens", "bad-queue", TA " io/x\n");
    seed_text("tokens", "twice", TA "\n" TB "\n" TA " io\n");
    seed_text("tokens", "empty", "# nothing\n\n");
    seed_write("tokens", "nul", TA "\n" TB "\0\n", strlen(TA) + strlen(TB) + 3);
#undef TA
#undef TB
}

static void seeds_keys(void)
{
    /* A fixed secret key: the bytes 1..32. */
    uint8_t secret[32];
    char sec[KEYS_Z85_LEN + 1], pub[KEYS_Z85_LEN + 1], other[KEYS_Z85_LEN + 1];
    char text[512];
    for (int i = 0; i < 32; i++)
        secret[i] = (uint8_t)(i + 1);
    if (!zmq_z85_encode(sec, secret, sizeof(secret)) || zmq_curve_public(pub, sec) != 0) {
        fprintf(stderr, "fuzz-seeds: libzmq has no CURVE\n");
        exit(1);
    }
    secret[0] ^= 0xff;
    if (!zmq_z85_encode(other, secret, sizeof(secret))) {
        fprintf(stderr, "fuzz-seeds: cannot encode\n");
        exit(1);
    }

    snprintf(text, sizeof(text),
             "# offload CURVE key pair: keep this file secret (offload keygen)\n"
             "public = %s\nsecret = %s\n",
             pub, sec);
    seed_text("keys", "key", text);
    snprintf(text, sizeof(text), "# offload CURVE public key (offload keygen)\npublic = %s\n", pub);
    seed_text("keys", "pub", text);
    snprintf(text, sizeof(text), "\r\n  public=%s \t\r\n# limited\nqueues = io,cpu,a.b-c_d\n", pub);
    seed_text("keys", "pub-queues", text);
    snprintf(text, sizeof(text), "public = %s\nsecret = %s\n", pub, other);
    seed_text("keys", "key-mismatch", text);
    snprintf(text, sizeof(text), "public = %.39s\n", pub);
    seed_text("keys", "pub-short", text);
    snprintf(text, sizeof(text), "public = %s\npublic = %s\n", pub, pub);
    seed_text("keys", "pub-twice", text);
    snprintf(text, sizeof(text), "public = %s\nqueues = io,,cpu\n", pub);
    seed_text("keys", "pub-bad-queues", text);
    seed_text("keys", "endpoint", "tcp://127.0.0.1:5555");

    /* A .pub of exactly KEYS_FILE_MAX bytes (a long comment first), and
     * one byte more (refused; it also lets the fuzzer make inputs that
     * long). */
    static char big[KEYS_FILE_MAX + 2];
    int n = snprintf(text, sizeof(text), "public = %s\n", pub);
    size_t pad = KEYS_FILE_MAX - (size_t)n;
    big[0] = '#';
    memset(big + 1, 'x', pad - 2);
    big[pad - 1] = '\n';
    memcpy(big + pad, text, (size_t)n);
    seed_write("keys", "pub-at-limit", big, KEYS_FILE_MAX);
    memmove(big + 1, big, KEYS_FILE_MAX);
    seed_write("keys", "pub-over-limit", big, KEYS_FILE_MAX + 1);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz-seeds DIR\n");
        return 2;
    }
    seeds_dir = argv[1];
    seeds_codec();
    seeds_wproto();
    seeds_text();
    seeds_tokens();
    seeds_keys();
    return seeds_failed;
}
