/* params.h -- validation of the values an HTTP request carries: query
 * numbers and the /v1/jobs/{queue}/{function} path. Pure functions, no
 * MHD, so every rule is unit tested. Every error message says what is
 * expected and quotes (a bounded, sanitised prefix of) what was given. */
#ifndef OFFLOAD_PARAMS_H
#define OFFLOAD_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

#define PARAMS_JOBS_PREFIX "/v1/jobs/"

/* Parses value as a whole number in [min, max]: decimal digits only (no
 * sign, space, or unit). `what` names the unit in the error message
 * ("milliseconds", "retries"). Returns 0, or -1 with err set. */
int params_uint(const char *name, const char *what, const char *value, long long min, long long max,
                long long *out, char *err, size_t errlen);

/* params_uint for milliseconds. */
int params_ms(const char *name, const char *value, long long min, long long max, long long *out,
              char *err, size_t errlen);

/* Splits a path under /v1/jobs/ into queue and function (buffers of
 * CODEC_NAME_MAX + 1). Returns 0; PARAMS_NOT_JOBS if the path is not exactly
 * /v1/jobs/QUEUE/FUNCTION (an unknown route); PARAMS_BAD_NAME with err set
 * if a segment is not a valid name (a bad request). */
#define PARAMS_NOT_JOBS (-1)
#define PARAMS_BAD_NAME (-2)
int params_job_path(const char *path, char *queue, char *function, char *err, size_t errlen);

/* Parses /v1/jobs/ID or /v1/jobs/ID/result (ID: 1..20 decimal digits, a
 * job id, 1..UINT64_MAX). Returns 0 with *id and *result set (1 for the
 * /result form), or PARAMS_NOT_JOBS. */
int params_job_ref(const char *path, uint64_t *id, int *result);

/* Parses a boolean query value: true, false, 1 or 0. Returns 0, or -1
 * with err set. */
int params_bool(const char *name, const char *value, int *out, char *err, size_t errlen);

/* A printable, truncated copy of s for messages (text_quote of at most
 * PARAMS_QUOTE_MAX bytes; out holds 4 * PARAMS_QUOTE_MAX + 4 for all). */
#define PARAMS_QUOTE_MAX 40
void params_quote(const char *s, char *out, size_t outlen);

#endif
