/* codec.h -- pack and unpack offload Envelopes; no sockets here.
 *
 * Every byte string handed to codec_decode is treated as hostile: size is
 * checked before unpacking, the protocol version before the body is used,
 * and every field a receiver relies on (names, sizes, enum values) is
 * validated, so callers can use a decoded envelope without further checks. */
#ifndef OFFLOAD_CODEC_H
#define OFFLOAD_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "offload.pb-c.h"

#define OFFLOAD_PROTOCOL_VERSION 2

#define CODEC_NAME_MAX 64         /* queue and function names */
#define CODEC_ID_MAX 128          /* executor and gateway ids */
#define CODEC_MESSAGE_MAX 4096    /* error messages */
#define CODEC_QUEUES_MAX 64       /* queues per executor */
#define CODEC_FUNCTIONS_MAX 256   /* functions per queue of an executor */
#define CODEC_POOL_MAX 4096       /* workers per queue */
#define CODEC_HEARTBEAT_MS_MIN 10 /* Hello.heartbeat_ms, when set */
#define CODEC_HEARTBEAT_MS_MAX 600000
#define CODEC_LIVENESS_MAX 1000 /* Hello.liveness */
#define CODEC_MS_MAX 86400000   /* longest timeout, delay or sleep: one day */
#define CODEC_LEASE_MS_MIN 100  /* Submit.lease_ms, when set */
#define CODEC_LEASE_MS_MAX 600000

typedef Offload__Envelope codec_envelope;

/* codec_decode results (negative errno values). */
#define CODEC_ETOOBIG (-7)     /* -E2BIG: frame over max_len */
#define CODEC_EMALFORMED (-74) /* -EBADMSG: not an Envelope (or no version) */
#define CODEC_EVERSION (-71)   /* -EPROTO: another protocol version */
#define CODEC_EINVALID (-22)   /* -EINVAL: a field fails validation */

/* Decodes one frame. On 0, *out is an envelope the caller frees with
 * codec_free. On error *out is NULL, err says why (one line, for logs), and
 * for CODEC_EVERSION *peer_version holds the version the peer spoke.
 * max_len 0 means no limit beyond the validation limits. */
int codec_decode(const void *data, size_t len, size_t max_len, codec_envelope **out,
                 uint32_t *peer_version, char *err, size_t errlen);

void codec_free(codec_envelope *env);

/* Takes the bytes of a field of a decoded envelope (b points into it) for
 * the caller to free(): no copy. b is left empty. Returns NULL only when out
 * of memory (an empty field gives a 1-byte block). */
uint8_t *codec_take_bytes(ProtobufCBinaryData *b);

/* Size of env packed, after setting env->version to ours. */
size_t codec_size(codec_envelope *env);

/* Packs env into buf, which holds codec_size(env) bytes. Returns bytes. */
size_t codec_pack(const codec_envelope *env, uint8_t *buf);

/* Packs into a fresh malloc'd buffer the caller frees. Returns 0 or -ENOMEM. */
int codec_encode(codec_envelope *env, uint8_t **buf, size_t *len);

/* True if s is a valid queue or function name: 1..CODEC_NAME_MAX chars of
 * [A-Za-z0-9_.-]. */
int codec_name_valid(const char *s);

/* True if s is a valid executor or gateway id: 1..max printable ASCII
 * characters, no spaces. */
int codec_id_valid(const char *s, size_t max);

/* Validates a decoded envelope's body; 0 or CODEC_EINVALID with err set.
 * codec_decode calls it; exposed for tests and for locally built messages. */
int codec_validate(const codec_envelope *env, char *err, size_t errlen);

/* Fills env with a Refuse (refuse is its body, both the caller's storage)
 * of reason (Offload__RefuseReason) and message, saying our version. */
void codec_refuse(codec_envelope *env, Offload__Refuse *refuse, int reason, const char *message);

/* Name of the body case ("hello", "job", ...), for logs. */
const char *codec_body_name(int body_case);

#endif
