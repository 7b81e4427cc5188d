/* offload.h -- liboffload: run a function on an offload executor fleet
 * through a gateway's "clients" ZeroMQ socket.
 *
 *   offload_client *c = offload_connect("tcp://127.0.0.1:5555");
 *   if (c->err) { fprintf(stderr, "%s\n", c->errstr); offload_free(c); ... }
 *   offload_result *r;
 *   if (offload_call(c, "io", "sleep", "100", 3, NULL, &r) == 0) {
 *       if (r->code == OFFLOAD_OK) use(r->payload, r->len);
 *       else fprintf(stderr, "%s: %s\n", r->error, r->message);
 *       offload_result_free(r);
 *   } else fprintf(stderr, "%s\n", c->errstr);
 *   offload_free(c);
 *
 * Errors, as in hiredis: a client is returned even when it failed, with
 * c->err and c->errstr saying why. Transport errors (no reply in time) set
 * them too; a job that ended badly is not a transport error, it is a result
 * whose code is not OFFLOAD_OK.
 *
 * Threads: a client belongs to one thread at a time (ZeroMQ sockets are not
 * thread safe); use one client per thread. Ownership: results are the
 * caller's to free with offload_result_free; the client with offload_free. */
#ifndef OFFLOAD_H
#define OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's exported functions; everything else in it is hidden (and
 * local in liboffload.a), so it cannot clash with an application's names. */
#if defined(__GNUC__)
#define OFFLOAD_API __attribute__((visibility("default")))
#else
#define OFFLOAD_API
#endif

#define OFFLOAD_VERSION "0.1.0"

/* Job outcome codes: the wire protocol's Code enum (proto/offload.proto). */
enum offload_code {
    OFFLOAD_OK = 0,
    OFFLOAD_BAD_REQUEST = 1,
    OFFLOAD_UNKNOWN_QUEUE = 2,
    OFFLOAD_UNKNOWN_FUNCTION = 3,
    OFFLOAD_PAYLOAD_TOO_LARGE = 4,
    OFFLOAD_QUEUE_FULL = 5,
    OFFLOAD_NO_EXECUTOR = 6,
    OFFLOAD_TIMEOUT = 7,
    OFFLOAD_CRASHED = 8,
    OFFLOAD_EXECUTOR_LOST = 9,
    OFFLOAD_JOB_FAILED = 10,
    OFFLOAD_CANCELLED = 11,
    OFFLOAD_INTERNAL = 12,
};

/* Transport errors, in client->err. */
enum offload_err {
    OFFLOAD_ERR_NONE = 0,
    OFFLOAD_ERR_IO = 1,       /* ZeroMQ failed (errstr says how) */
    OFFLOAD_ERR_TIMEOUT = 2,  /* no reply from the gateway in time */
    OFFLOAD_ERR_PROTOCOL = 3, /* the gateway's reply was not understood */
    OFFLOAD_ERR_OOM = 4,
    OFFLOAD_ERR_ARGS = 5, /* an invalid argument (a bad queue name...) */
};

typedef struct offload_options {
    const char *endpoint; /* gateway "clients" endpoint; default tcp://127.0.0.1:5555 */
    int reply_grace_ms;   /* wait this long past a call's timeout for the reply
                             (default 5000) */
} offload_options;

typedef struct offload_call_options {
    uint32_t timeout_ms; /* the job's deadline; 0: the gateway's default */
    uint32_t retries;    /* retries on executor loss (honoured by gateways that
                            support it) */
} offload_call_options;

typedef struct offload_client {
    int err; /* enum offload_err of the last call */
    char errstr[128];
    void *priv; /* private */
} offload_client;

typedef struct offload_result {
    int code;          /* enum offload_code */
    const char *error; /* the code's name: "ok", "timeout", ... (static) */
    char *message;     /* error message; "" when none */
    uint8_t *payload;  /* result bytes when code is OFFLOAD_OK */
    size_t len;
    uint64_t job_id, waited_us, run_us;
} offload_result;

/* Connects (ZeroMQ connects lazily: a gateway that is not up yet is not an
 * error here). Returns NULL only when out of memory. */
OFFLOAD_API offload_client *offload_connect(const char *endpoint);
OFFLOAD_API offload_client *offload_connect_with(const offload_options *opts);

/* Runs function on queue with payload and waits for its outcome. Returns 0
 * with *out set (the caller frees it), or -1 with c->err set and *out NULL.
 * opts may be NULL. */
OFFLOAD_API int offload_call(offload_client *c, const char *queue, const char *function,
                             const void *payload, size_t len, const offload_call_options *opts,
                             offload_result **out);

OFFLOAD_API void offload_result_free(offload_result *r);
OFFLOAD_API void offload_free(offload_client *c);

/* The name of an offload_code ("timeout"), "internal" if unknown. */
OFFLOAD_API const char *offload_code_name(int code);

#ifdef __cplusplus
}
#endif

#endif
