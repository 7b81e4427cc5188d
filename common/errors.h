/* errors.h -- the job outcome codes of the wire protocol (Offload__Code) as
 * the names and HTTP statuses of the interface contract (docs/gateway.md, Errors). */
#ifndef OFFLOAD_ERRORS_H
#define OFFLOAD_ERRORS_H

/* "bad_request", "timeout", ...; "ok" for CODE_OK, "internal" if unknown. */
const char *code_name(int code);

/* The HTTP status the gateway answers with for a code (200 for CODE_OK). */
int code_http_status(int code);

#endif
