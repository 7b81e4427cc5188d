/* codec.c -- see codec.h. */
#include "codec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

int codec_name_valid(const char *s)
{
    if (!s)
        return 0;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= CODEC_NAME_MAX)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return n > 0;
}

int codec_id_valid(const char *s, size_t max)
{
    if (!s || !*s)
        return 0;
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max || s[n] < 0x21 || s[n] > 0x7e)
            return 0;
    return 1;
}

static int codec_text_valid(const char *s, size_t max)
{
    return !s || strnlen(s, max + 1) <= max;
}

static int codec_code_valid(int code)
{
    return code >= OFFLOAD__CODE__CODE_OK && code <= OFFLOAD__CODE__CODE_UNKNOWN_JOB;
}

#define INVALID(...)                                                                               \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return CODEC_EINVALID;                                                                     \
    } while (0)

static int codec_validate_hello(const Offload__Hello *h, char *err, size_t errlen)
{
    if (!codec_id_valid(h->executor_id, CODEC_ID_MAX))
        INVALID("hello: executor_id must be 1..%d printable characters", CODEC_ID_MAX);
    if (h->n_queues < 1 || h->n_queues > CODEC_QUEUES_MAX)
        INVALID("hello: %zu queues (1..%d allowed)", h->n_queues, CODEC_QUEUES_MAX);
    for (size_t i = 0; i < h->n_queues; i++) {
        const Offload__QueueDecl *q = h->queues[i];
        if (!codec_name_valid(q->name))
            INVALID("hello: queue %zu has an invalid name", i);
        if (q->kind != OFFLOAD__POOL_KIND__POOL_THREADS &&
            q->kind != OFFLOAD__POOL_KIND__POOL_PROCESSES)
            INVALID("hello: queue '%s' has an unknown pool kind %d", q->name, (int)q->kind);
        if (q->size < 1 || q->size > CODEC_POOL_MAX)
            INVALID("hello: queue '%s' size %u (1..%d allowed)", q->name, q->size, CODEC_POOL_MAX);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(h->queues[j]->name, q->name))
                INVALID("hello: queue '%s' declared twice", q->name);
        if (q->n_functions < 1 || q->n_functions > CODEC_FUNCTIONS_MAX)
            INVALID("hello: queue '%s' has %zu functions (1..%d allowed)", q->name, q->n_functions,
                    CODEC_FUNCTIONS_MAX);
        for (size_t f = 0; f < q->n_functions; f++) {
            if (!codec_name_valid(q->functions[f]))
                INVALID("hello: queue '%s': function %zu has an invalid name", q->name, f);
            for (size_t g = 0; g < f; g++)
                if (!strcmp(q->functions[g], q->functions[f]))
                    INVALID("hello: queue '%s': function '%s' declared twice", q->name,
                            q->functions[f]);
        }
    }
    if (h->heartbeat_ms &&
        (h->heartbeat_ms < CODEC_HEARTBEAT_MS_MIN || h->heartbeat_ms > CODEC_HEARTBEAT_MS_MAX))
        INVALID("hello: heartbeat_ms %u (%d..%d allowed)", h->heartbeat_ms, CODEC_HEARTBEAT_MS_MIN,
                CODEC_HEARTBEAT_MS_MAX);
    if (h->liveness > CODEC_LIVENESS_MAX)
        INVALID("hello: liveness %u (0..%d allowed)", h->liveness, CODEC_LIVENESS_MAX);
    return 0;
}

static int codec_validate_credit(const Offload__Credit *c, char *err, size_t errlen)
{
    if (c->n_queues < 1 || c->n_queues > CODEC_QUEUES_MAX)
        INVALID("credit: %zu queues (1..%d allowed)", c->n_queues, CODEC_QUEUES_MAX);
    for (size_t i = 0; i < c->n_queues; i++) {
        if (!codec_name_valid(c->queues[i]->name))
            INVALID("credit: queue %zu has an invalid name", i);
        if (c->queues[i]->slots > CODEC_POOL_MAX)
            INVALID("credit: queue '%s' slots %u (0..%d allowed)", c->queues[i]->name,
                    c->queues[i]->slots, CODEC_POOL_MAX);
    }
    return 0;
}

static int codec_validate_demand(const Offload__Demand *d, char *err, size_t errlen)
{
    if (d->n_queues > CODEC_QUEUES_MAX)
        INVALID("demand: %zu queues (0..%d allowed)", d->n_queues, CODEC_QUEUES_MAX);
    for (size_t i = 0; i < d->n_queues; i++)
        if (!codec_name_valid(d->queues[i]->name))
            INVALID("demand: queue %zu has an invalid name", i);
    return 0;
}

static int codec_validate_pool_stats(const Offload__PoolStats *ps, char *err, size_t errlen)
{
    if (ps->n_pools > CODEC_QUEUES_MAX)
        INVALID("pool_stats: %zu pools (0..%d allowed)", ps->n_pools, CODEC_QUEUES_MAX);
    for (size_t i = 0; i < ps->n_pools; i++) {
        const Offload__PoolStat *p = ps->pools[i];
        if (!codec_name_valid(p->queue))
            INVALID("pool_stats: pool %zu has an invalid queue name", i);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(ps->pools[j]->queue, p->queue))
                INVALID("pool_stats: queue '%s' listed twice", p->queue);
        if (p->kind != OFFLOAD__POOL_KIND__POOL_THREADS &&
            p->kind != OFFLOAD__POOL_KIND__POOL_PROCESSES)
            INVALID("pool_stats: queue '%s' has an unknown pool kind %d", p->queue, (int)p->kind);
        if (p->size < 1 || p->size > CODEC_POOL_MAX)
            INVALID("pool_stats: queue '%s' size %u (1..%d allowed)", p->queue, p->size,
                    CODEC_POOL_MAX);
        if (p->alive > p->size || p->busy > p->size)
            INVALID("pool_stats: queue '%s' has %u alive and %u busy of %u", p->queue, p->alive,
                    p->busy, p->size);
    }
    return 0;
}

int codec_validate(const codec_envelope *env, char *err, size_t errlen)
{
    switch (env->body_case) {
    case OFFLOAD__ENVELOPE__BODY_HELLO:
        return codec_validate_hello(env->hello, err, errlen);
    case OFFLOAD__ENVELOPE__BODY_WELCOME:
        if (!codec_text_valid(env->welcome->gateway_id, CODEC_ID_MAX))
            INVALID("welcome: gateway_id too long");
        return 0;
    case OFFLOAD__ENVELOPE__BODY_REFUSE:
        if (!codec_text_valid(env->refuse->message, CODEC_MESSAGE_MAX))
            INVALID("refuse: message too long");
        return 0;
    case OFFLOAD__ENVELOPE__BODY_HEARTBEAT:
    case OFFLOAD__ENVELOPE__BODY_CANCEL:
    case OFFLOAD__ENVELOPE__BODY_DRAIN:
        return 0;
    case OFFLOAD__ENVELOPE__BODY_GOODBYE:
        if (!codec_text_valid(env->goodbye->reason, CODEC_MESSAGE_MAX))
            INVALID("goodbye: reason too long");
        return 0;
    case OFFLOAD__ENVELOPE__BODY_JOB:
        if (!codec_name_valid(env->job->queue) || !codec_name_valid(env->job->function))
            INVALID("job: invalid queue or function name");
        if (!trace_parent_valid00(env->job->traceparent))
            INVALID("job: traceparent is not a version-00 W3C traceparent");
        if (env->job->tracestate && *env->job->tracestate &&
            !trace_state_valid(env->job->tracestate))
            INVALID("job: tracestate must be 1..%d printable characters", TRACE_STATE_MAX);
        return 0;
    case OFFLOAD__ENVELOPE__BODY_RESULT:
        if (!codec_code_valid(env->result->code))
            INVALID("result: unknown code %d", (int)env->result->code);
        if (!codec_text_valid(env->result->message, CODEC_MESSAGE_MAX))
            INVALID("result: message too long");
        return 0;
    case OFFLOAD__ENVELOPE__BODY_QUERY:
    case OFFLOAD__ENVELOPE__BODY_LIST_QUEUES:
        return 0;
    case OFFLOAD__ENVELOPE__BODY_CREDIT:
        return codec_validate_credit(env->credit, err, errlen);
    case OFFLOAD__ENVELOPE__BODY_DEMAND:
        return codec_validate_demand(env->demand, err, errlen);
    case OFFLOAD__ENVELOPE__BODY_POOL_STATS:
        return codec_validate_pool_stats(env->pool_stats, err, errlen);
    case OFFLOAD__ENVELOPE__BODY_SUBMIT:
        /* Names, the key and lease_ms are checked where the Submit is answered (a
         * Reply with bad_request and the client's request_id), not dropped
         * here; an invalid traceparent or tracestate is ignored there
         * (core_trace), as HTTP's headers are. */
        return 0;
    case OFFLOAD__ENVELOPE__BODY_REPLY:
        if (!codec_code_valid(env->reply->code))
            INVALID("reply: unknown code %d", (int)env->reply->code);
        if (env->reply->state < OFFLOAD__JOB_STATE__STATE_UNSPECIFIED ||
            env->reply->state > OFFLOAD__JOB_STATE__STATE_CANCELLED)
            INVALID("reply: unknown state %d", (int)env->reply->state);
        if (!codec_text_valid(env->reply->message, CODEC_MESSAGE_MAX))
            INVALID("reply: message too long");
        if (!codec_text_valid(env->reply->traceparent, TRACE_PARENT_LEN) ||
            !codec_text_valid(env->reply->tracestate, TRACE_STATE_MAX))
            INVALID("reply: traceparent or tracestate too long");
        return 0;
    default:
        INVALID("envelope has no body");
    }
}

int codec_decode(const void *data, size_t len, size_t max_len, codec_envelope **out,
                 uint32_t *peer_version, char *err, size_t errlen)
{
    *out = NULL;
    if (peer_version)
        *peer_version = 0;
    if (max_len && len > max_len) {
        snprintf(err, errlen, "frame of %zu bytes exceeds the limit of %zu", len, max_len);
        return CODEC_ETOOBIG;
    }
    codec_envelope *env = offload__envelope__unpack(NULL, len, data);
    if (!env) {
        snprintf(err, errlen, "malformed frame of %zu bytes (not an offload Envelope)", len);
        return CODEC_EMALFORMED;
    }
    if (env->version == 0) {
        /* proto3 omits a zero field: no version at all, so not one of ours
         * (an empty frame, or bytes that happen to parse) */
        snprintf(err, errlen, "malformed frame of %zu bytes (no protocol version)", len);
        offload__envelope__free_unpacked(env, NULL);
        return CODEC_EMALFORMED;
    }
    if (env->version != OFFLOAD_PROTOCOL_VERSION) {
        if (peer_version)
            *peer_version = env->version;
        snprintf(err, errlen, "protocol version %u, this side speaks %d", env->version,
                 OFFLOAD_PROTOCOL_VERSION);
        offload__envelope__free_unpacked(env, NULL);
        return CODEC_EVERSION;
    }
    int rc = codec_validate(env, err, errlen);
    if (rc < 0) {
        offload__envelope__free_unpacked(env, NULL);
        return rc;
    }
    *out = env;
    return 0;
}

void codec_free(codec_envelope *env)
{
    if (env)
        offload__envelope__free_unpacked(env, NULL);
}

uint8_t *codec_take_bytes(ProtobufCBinaryData *b)
{
    /* Decoding uses protobuf-c's default allocator: malloc. */
    uint8_t *p = b->len && b->data ? b->data : malloc(1);
    if (b->len && b->data)
        b->data = NULL;
    b->len = 0;
    return p;
}

size_t codec_size(codec_envelope *env)
{
    env->version = OFFLOAD_PROTOCOL_VERSION;
    return offload__envelope__get_packed_size(env);
}

size_t codec_pack(const codec_envelope *env, uint8_t *buf)
{
    return offload__envelope__pack(env, buf);
}

int codec_encode(codec_envelope *env, uint8_t **buf, size_t *len)
{
    size_t n = codec_size(env);
    *buf = malloc(n ? n : 1);
    if (!*buf)
        return -ENOMEM;
    *len = codec_pack(env, *buf);
    return 0;
}

const char *codec_body_name(int body_case)
{
    switch (body_case) {
    case OFFLOAD__ENVELOPE__BODY_HELLO:
        return "hello";
    case OFFLOAD__ENVELOPE__BODY_WELCOME:
        return "welcome";
    case OFFLOAD__ENVELOPE__BODY_REFUSE:
        return "refuse";
    case OFFLOAD__ENVELOPE__BODY_HEARTBEAT:
        return "heartbeat";
    case OFFLOAD__ENVELOPE__BODY_GOODBYE:
        return "goodbye";
    case OFFLOAD__ENVELOPE__BODY_JOB:
        return "job";
    case OFFLOAD__ENVELOPE__BODY_RESULT:
        return "result";
    case OFFLOAD__ENVELOPE__BODY_CANCEL:
        return "cancel";
    case OFFLOAD__ENVELOPE__BODY_DRAIN:
        return "drain";
    case OFFLOAD__ENVELOPE__BODY_SUBMIT:
        return "submit";
    case OFFLOAD__ENVELOPE__BODY_QUERY:
        return "query";
    case OFFLOAD__ENVELOPE__BODY_LIST_QUEUES:
        return "list_queues";
    case OFFLOAD__ENVELOPE__BODY_REPLY:
        return "reply";
    case OFFLOAD__ENVELOPE__BODY_CREDIT:
        return "credit";
    case OFFLOAD__ENVELOPE__BODY_DEMAND:
        return "demand";
    case OFFLOAD__ENVELOPE__BODY_POOL_STATS:
        return "pool_stats";
    default:
        return "none";
    }
}

void codec_refuse(codec_envelope *env, Offload__Refuse *refuse, int reason, const char *message)
{
    offload__envelope__init(env);
    offload__refuse__init(refuse);
    refuse->reason = (Offload__RefuseReason)reason;
    refuse->version = OFFLOAD_PROTOCOL_VERSION;
    refuse->message = (char *)message;
    env->body_case = OFFLOAD__ENVELOPE__BODY_REFUSE;
    env->refuse = refuse;
}
