/* offload.h -- liboffload: run a function on an offload executor fleet
 * through a gateway's "clients" ZeroMQ socket.
 *
 * Synchronous:
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
 * thread safe); use one client per thread. Ownership: results of offload_call
 * are the caller's to free with offload_result_free; the client with
 * offload_free.
 *
 * Asynchronous: offload_submit sends a job and returns at once; the
 * callback runs later, from offload_dispatch, with the result (which the
 * library frees after the callback returns). The library never owns the
 * caller's loop: poll offload_fd() for input and call offload_dispatch(c,
 * 0) when it is readable, and at the latest after offload_timeout_ms(c)
 * (leases and transport deadlines run from there):
 *
 *   static void done(offload_client *c, offload_result *r, void *arg) {
 *       size_t len;
 *       const void *data = offload_result_data(r, &len);
 *       if (offload_result_status(r) == OFFLOAD_OK) use(data, len);
 *   }
 *   uint64_t id;
 *   if (offload_submit(c, "io", "echo", "hi", 2, NULL, done, NULL, &id) < 0)
 *       fprintf(stderr, "%s\n", offload_errstr(c));  // done will not run
 *   while (offload_pending(c) > 0)
 *       offload_dispatch(c, 1000);                  // or: poll offload_fd()
 *
 * Exactly once: a submit that fails (returns -1) never calls its callback;
 * every submit that succeeds gets exactly one callback -- the job's
 * outcome, an error refusing it, OFFLOAD_CANCELLED (offload_cancel, or
 * offload_free with jobs in flight), or OFFLOAD_NO_REPLY when the gateway
 * stayed silent past the job's deadline plus reply_grace_ms.
 *
 * Leases: a client with jobs in flight sends the gateway a heartbeat every
 * lease_ms / 3 (from offload_dispatch, offload_call or offload_timeout_ms's
 * schedule); a client silent for lease_ms (a crashed process, one that
 * stopped dispatching) has its jobs cancelled at the gateway, as an HTTP
 * caller that hangs up does. lease_ms 0 turns this off. */
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

#define OFFLOAD_VERSION "0.2.0"

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
    OFFLOAD_UNKNOWN_JOB = 13, /* no detached job of that id (never, or expired) */
    /* Not from the gateway: no reply came by the job's deadline plus
     * reply_grace_ms (the gateway is down or unreachable). */
    OFFLOAD_NO_REPLY = 100,
};

/* A detached job's state (offload_result.state; OFFLOAD_STATE_NONE for a
 * plain call). */
enum offload_state {
    OFFLOAD_STATE_NONE = 0,
    OFFLOAD_STATE_QUEUED = 1,
    OFFLOAD_STATE_RUNNING = 2,
    OFFLOAD_STATE_DONE = 3,
    OFFLOAD_STATE_FAILED = 4,
    OFFLOAD_STATE_CANCELLED = 5,
};

/* Transport errors, in client->err. */
enum offload_err {
    OFFLOAD_ERR_NONE = 0,
    OFFLOAD_ERR_IO = 1,       /* ZeroMQ failed (errstr says how) */
    OFFLOAD_ERR_TIMEOUT = 2,  /* no reply from the gateway in time */
    OFFLOAD_ERR_PROTOCOL = 3, /* the gateway's reply was not understood */
    OFFLOAD_ERR_OOM = 4,
    OFFLOAD_ERR_ARGS = 5, /* an invalid argument (a bad queue name, an unreadable
                             key file...) */
    OFFLOAD_ERR_AUTH = 6, /* the CURVE handshake failed: the gateway refused our
                             key, or curve_server is not the gateway's key */
};

typedef struct offload_options {
    const char *endpoint; /* gateway "clients" endpoint, or several comma-separated
                             (see offload_connect); NULL: $OFFLOAD_GATEWAY, else
                             tcp://127.0.0.1:5555 */
    int reply_grace_ms;   /* wait this long past a call's timeout for the reply
                             (default 5000) */
    int lease_ms;         /* the gateway cancels our jobs if it hears nothing from
                             us for this long (default 5000; -1: no lease) */
    /* CURVE (docs/security.md): both or neither. NULL: $OFFLOAD_CURVE_KEY
     * and $OFFLOAD_CURVE_SERVER, else no CURVE. */
    const char *curve_key;    /* this client's PATH.key (offload keygen) */
    const char *curve_server; /* the gateway's PATH.pub */
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
    uint64_t request_id;    /* offload_submit's */
    int state;              /* enum offload_state: detached jobs */
    uint32_t retry_after_s; /* with OFFLOAD_QUEUE_FULL: seconds the gateway asks the
                               caller to wait before trying again (0: not given) */
    /* The job's W3C trace context, as the gateway echoes it (the one sent
     * with offload_set_trace, or a trace the gateway started); NULL when
     * none (an older gateway, a result the library made). Freed with the
     * result. */
    char *traceparent;
    char *tracestate;
} offload_result;

/* The async callback: r is the library's, freed after the callback
 * returns. The callback may submit, cancel and dispatch on c, but not
 * offload_free it. */
typedef void offload_callback(offload_client *c, offload_result *r, void *arg);

/* Connects (ZeroMQ connects lazily: a gateway that is not up yet is not an
 * error here). endpoint NULL: $OFFLOAD_GATEWAY, else tcp://127.0.0.1:5555;
 * CURVE keys from $OFFLOAD_CURVE_KEY and $OFFLOAD_CURVE_SERVER when set.
 * Returns NULL only when out of memory; unreadable key files are
 * OFFLOAD_ERR_ARGS on the client returned. With CURVE, a gateway that
 * refuses the key ends every request in flight with OFFLOAD_NO_REPLY (its
 * message says why) and offload_dispatch/offload_call return -1 with
 * OFFLOAD_ERR_AUTH, within about 100 ms of the refusal (ZeroMQ keeps
 * retrying the connection: a key the gateway admits later works then).
 *
 * Several gateways: endpoint "tcp://gw1:5555,tcp://gw2:5555" (at most 16)
 * connects the client's one socket to each (ZMQ_IMMEDIATE): every request
 * goes to one gateway whose connection is up, round robin; one that goes
 * down is skipped from the next request on, one that comes back is used
 * again. With none up, requests wait in the client (at most 1000; then
 * offload_submit fails, OFFLOAD_ERR_IO) for the first to come up, or end
 * OFFLOAD_NO_REPLY at their deadline plus reply_grace_ms. Requests in
 * flight on a gateway that dies end OFFLOAD_NO_REPLY at that time too (the
 * client does not know which gateway holds which). Heartbeats and Cancels
 * go to every gateway up. offload_call sends a call again, to another
 * gateway, when a draining one refuses it; offload_job asks each gateway
 * before answering OFFLOAD_UNKNOWN_JOB. All gateways share one CURVE key
 * (curve_server). docs/deploy.md, "Clients and several gateways". */
OFFLOAD_API offload_client *offload_connect(const char *endpoint);
OFFLOAD_API offload_client *offload_connect_with(const offload_options *opts);

/* Runs function on queue with payload and waits for its outcome. Returns 0
 * with *out set (the caller frees it), or -1 with c->err set and *out NULL.
 * opts may be NULL. */
OFFLOAD_API int offload_call(offload_client *c, const char *queue, const char *function,
                             const void *payload, size_t len, const offload_call_options *opts,
                             offload_result **out);

OFFLOAD_API void offload_result_free(offload_result *r);

/* The W3C Trace Context (https://www.w3.org/TR/trace-context/) of the
 * jobs this client submits from now on -- offload_call, offload_submit,
 * offload_submit_detached -- until it is set again: traceparent and
 * tracestate as an HTTP caller sends them in its headers (copied; NULL or
 * "": none). Forward the context of the request being served: set it
 * before each call, and clear it with (c, NULL, NULL). The gateway
 * judges it: an invalid traceparent is not an error (it counts it and
 * starts a new trace), and every result says the trace its job had
 * (offload_result.traceparent). Not a field of offload_call_options,
 * whose callers' copies have no room for one. Returns 0, or -1
 * (OFFLOAD_ERR_ARGS) when either is over 4096 bytes, or OFFLOAD_ERR_OOM. */
OFFLOAD_API int offload_set_trace(offload_client *c, const char *traceparent,
                                  const char *tracestate);

/* Frees c. Jobs still in flight are cancelled at the gateway (a Cancel
 * each) and their callbacks run with OFFLOAD_CANCELLED before it returns. */
OFFLOAD_API void offload_free(offload_client *c);

/* ---- asynchronous ----------------------------------------------------- */

/* Sends a job and returns at once: 0 with *request_id set (may be NULL),
 * or -1 with the error in offload_err/offload_errstr (cb will not run).
 * cb runs once, from offload_dispatch (or offload_call, offload_free). */
OFFLOAD_API int offload_submit(offload_client *c, const char *queue, const char *function,
                               const void *payload, size_t len, const offload_call_options *opts,
                               offload_callback *cb, void *arg, uint64_t *request_id);

/* Asks the gateway to cancel a job in flight (it cancels it on its
 * executor; a process pool's worker is killed). Its callback then runs
 * with OFFLOAD_CANCELLED, or with the outcome if the job ended first.
 * Returns 0, or -1 (OFFLOAD_ERR_ARGS) when no such request is in flight. */
OFFLOAD_API int offload_cancel(offload_client *c, uint64_t request_id);

/* A file descriptor that becomes readable when offload_dispatch has work
 * (ZeroMQ's ZMQ_FD: edge-triggered, so call offload_dispatch(c, 0) every
 * time it polls readable, and after offload_timeout_ms). -1 on error. */
OFFLOAD_API int offload_fd(offload_client *c);

/* Milliseconds until offload_dispatch must run again (a heartbeat, or a
 * request past its reply time), -1 when nothing is in flight. */
OFFLOAD_API int offload_timeout_ms(offload_client *c);

/* Waits up to timeout_ms (0: not at all; -1: until one callback ran) for
 * replies, runs the callbacks of finished jobs, ends requests past their
 * reply time with OFFLOAD_NO_REPLY, and heartbeats. Returns how many
 * callbacks ran, or -1 on a transport error (offload_err). */
OFFLOAD_API int offload_dispatch(offload_client *c, int timeout_ms);

/* Requests in flight (submitted, callback not yet run). */
OFFLOAD_API size_t offload_pending(const offload_client *c);

/* ---- detached jobs -------------------------------------------------------- */

/* Submits a detached job (HTTP's ?wait=false): 0 with *job_id set, once the
 * gateway took it; -1 with offload_err set. key: an idempotency key (1..128
 * printable characters, no spaces) or NULL: a second submit with the key of
 * a job the gateway still keeps returns that job's id and runs nothing. A
 * refusal (a full queue, an unknown function) is returned as *refused (the
 * caller frees it) with 0 and *job_id 0; refused may be NULL. */
OFFLOAD_API int offload_submit_detached(offload_client *c, const char *queue, const char *function,
                                        const void *payload, size_t len,
                                        const offload_call_options *opts, const char *key,
                                        uint64_t *job_id, offload_result **refused);

/* A detached job: its state, and once it ended its outcome (code, payload,
 * message) in *out (the caller frees it). wait_ms > 0 waits up to that long
 * for it to end (a long poll); cancel cancels it first. An unknown or
 * expired id is a result with code OFFLOAD_UNKNOWN_JOB (with several
 * gateways: after each gateway up was asked). Returns 0, or -1 on a
 * transport error. */
OFFLOAD_API int offload_job(offload_client *c, uint64_t job_id, int wait_ms, int cancel,
                            offload_result **out);

/* The fleet's queues, as the gateway's GET /v1/queues shows them: *out
 * (the caller frees it) holds the JSON document {"queues": [{"name",
 * "kind", "capacity", "busy", "available", "waiting", "executors",
 * "submitted", "completed", "failed", "timeouts", "rejected"}, ...]} as its
 * data. Returns 0, or -1 on a transport error or no reply (offload_err). */
OFFLOAD_API int offload_queues(offload_client *c, offload_result **out);

/* The name of an offload_state ("queued"), "" for none. */
OFFLOAD_API const char *offload_state_name(int state);

/* The last error: enum offload_err, and a message ("" when none). */
OFFLOAD_API int offload_err(const offload_client *c);
OFFLOAD_API const char *offload_errstr(const offload_client *c);

/* A result's code (enum offload_code) and its bytes (the payload when
 * OFFLOAD_OK; *len may be NULL). */
OFFLOAD_API int offload_result_status(const offload_result *r);
OFFLOAD_API const void *offload_result_data(const offload_result *r, size_t *len);

/* The name of an offload_code ("timeout"), "internal" if unknown. */
OFFLOAD_API const char *offload_code_name(int code);

#ifdef __cplusplus
}
#endif

#endif
