/* http_suspend.h -- the HTTP front's suspended requests: suspending one
 * until its job, delay or detached job ends, resuming it with its answer,
 * and the activity count http_process reads (see http_suspend.c). Loop
 * thread only. */
#ifndef OFFLOAD_HTTP_SUSPEND_H
#define OFFLOAD_HTTP_SUSPEND_H

#include <stdint.h>

#include "http_int.h"

/* Bytes GnuTLS moved and callbacks MHD made: what http_process compares
 * before and after MHD_run to see whether it did anything. http.c and
 * http_tls.c count into it. */
extern uint64_t http_suspend_activity;

/* Suspends req, puts it on the front's suspended list and watches its
 * socket for the caller hanging up (see http_check_gone): MHD does not
 * poll a suspended connection. */
void http_suspend(http_request *req);

/* Stores the answer (status, r: req's from now on, freed when it ends)
 * and, when req is suspended, takes it off the suspended list and resumes
 * the connection; MHD then calls the access handler again, which queues
 * the answer (http_reply_answer). */
void http_suspend_resume(http_request *req, unsigned status, struct MHD_Response *r);

#endif
