/* codec_fx.h -- what the codec's two suites share (test_codec.c,
 * test_codec_validate.c): decode_exact, which decodes a frame from a
 * buffer of exactly its size and checks the error contract, and valid
 * Hello and Job envelopes for the tests to mutate. Header-only: each
 * suite gets its own copy. */
#ifndef OFFLOAD_CODEC_FX_H
#define OFFLOAD_CODEC_FX_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "unit.h"

/* Decodes a copy of buf[0..len) held in a buffer of exactly len bytes (so
 * the sanitizers see any over-read), checks the error contract, and returns
 * the result; *out (when not NULL) receives the envelope on success,
 * otherwise it is freed here. */
static inline int decode_exact(const uint8_t *buf, size_t len, size_t max_len, codec_envelope **out,
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

static inline void hello_fx_init(hello_fx *fx)
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
    ENVELOPE_SET(&fx->env, hello, HELLO, &fx->hello);
}

static const uint8_t job_payload[] = {'a', 0, 'b', 0, 0, 0xff, 0x00, 0x80, '\n', 0};

/* A valid Job envelope with a binary payload. */
static inline void job_init(codec_envelope *env, Offload__Job *job)
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
    ENVELOPE_SET(env, job, JOB, job);
}

#endif
