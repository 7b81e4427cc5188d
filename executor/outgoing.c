/* outgoing.c -- sending to a gateway, see outgoing.h: owns nothing but the
 * send_failures count. */
#include "outgoing.h"

#include <zmq.h>

#include "clock.h"

int outgoing_send(executor *x, exec_link *l, codec_envelope *env)
{
    int rc = link_send(l, env, clock_now_us());
    if (rc < 0) {
        x->stats.send_failures++;
        if (exec_log_allowed(x))
            log_warn("event=send_failed gateway=%s body=%s error=\"%s\"", l->endpoint,
                     codec_body_name(env->body_case), zmq_strerror(-rc));
    }
    return rc;
}
