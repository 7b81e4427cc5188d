/* fuzz_codec.c -- libFuzzer harness for proto/codec: any bytes as one
 * frame from a peer. codec_decode must return one of its four errors or an
 * envelope that validates, and an accepted envelope must encode.
 *
 * Round trip: when no message in the envelope holds unknown fields, its
 * encoding decodes again to the same body, and encodes to the same size and
 * the same bytes (a frame is a fixed point after one round; the first
 * re-encoding may differ from the input, which can hold zero fields,
 * repeated fields or long varints). Unknown fields are left out because
 * protobuf-c 1.4 does not keep them round-trippable: it accepts field
 * number 0 when the tag is a long varint (81 00), keeps it as an unknown
 * field, and packs it back as a tag it then refuses (01). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "codec.h"

#define FUZZ_MAX_LEN (1u << 20)

/* True if m or any message inside it holds unknown fields. */
static int fuzz_has_unknown(const ProtobufCMessage *m)
{
    if (m->n_unknown_fields)
        return 1;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t j = 0; j < n; j++)
                if (fuzz_has_unknown(items[j]))
                    return 1;
            continue;
        }
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue; /* another member of the oneof holds the union */
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);
        if (sub && fuzz_has_unknown(sub))
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    codec_envelope *env = (codec_envelope *)(uintptr_t)1; /* must be overwritten */
    uint32_t peer = 1;
    char err[256] = "";
    int rc = codec_decode(data, size, FUZZ_MAX_LEN, &env, &peer, err, sizeof(err));
    if (rc < 0) {
        CHECK(env == NULL);
        CHECK(rc == CODEC_ETOOBIG || rc == CODEC_EMALFORMED || rc == CODEC_EVERSION ||
              rc == CODEC_EINVALID);
        CHECK(err[0] != '\0');
        CHECK(rc == CODEC_EVERSION ? peer != 0 && peer != OFFLOAD_PROTOCOL_VERSION : peer == 0);
        return 0;
    }
    CHECK(rc == 0 && env != NULL && env->version == OFFLOAD_PROTOCOL_VERSION);
    CHECK(codec_validate(env, err, sizeof(err)) == 0);
    const char *name = codec_body_name(env->body_case);
    CHECK(name && strcmp(name, "none") != 0);

    uint8_t *first = NULL, *second = NULL;
    size_t first_len = 0, second_len = 0;
    CHECK(codec_encode(env, &first, &first_len) == 0);
    CHECK(first_len == codec_size(env));
    if (fuzz_has_unknown(&env->base)) {
        free(first);
        codec_free(env);
        return 0;
    }

    codec_envelope *again = NULL;
    rc = codec_decode(first, first_len, 0, &again, NULL, err, sizeof(err));
    CHECK(rc == 0 && again != NULL);
    CHECK(again->body_case == env->body_case);
    CHECK(codec_size(again) == first_len);
    CHECK(codec_encode(again, &second, &second_len) == 0);
    CHECK(second_len == first_len && memcmp(first, second, first_len) == 0);

    free(first);
    free(second);
    codec_free(again);
    codec_free(env);
    return 0;
}
