/* http_suspend.c -- see http_suspend.h. Suspends a request that waits on
 * a job, a delay or a detached job (MHD_suspend_connection), watching its
 * socket in the front's watch_fd for the caller hanging up, and resumes it
 * with its answer from the loop thread, which kicks MHD for this turn.
 * Owns the front's suspended list and a request's watch_fd and suspended
 * flag, and the activity count. Loop thread only. */

#include "http_suspend.h"

#include <sys/epoll.h>

uint64_t http_suspend_activity;

void http_suspend(http_request *req)
{
    http_front *h = req->front;
    MHD_suspend_connection(req->conn);
    req->is_suspended = 1;
    req->prev = NULL;
    req->next = h->suspended;
    if (h->suspended)
        h->suspended->prev = req;
    h->suspended = req;
    req->watch_fd = -1;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci && h->watch_fd >= 0) {
        struct epoll_event ev = {.events = EPOLLRDHUP, .data.ptr = req};
        if (epoll_ctl(h->watch_fd, EPOLL_CTL_ADD, ci->connect_fd, &ev) == 0)
            req->watch_fd = ci->connect_fd;
    }
}

void http_suspend_resume(http_request *req, unsigned status, struct MHD_Response *r)
{
    http_front *h = req->front;
    req->response = r;
    req->resumed = 1;
    req->status = status;
    if (!req->is_suspended)
        return;
    if (req->watch_fd >= 0) {
        epoll_ctl(h->watch_fd, EPOLL_CTL_DEL, req->watch_fd, NULL);
        req->watch_fd = -1;
    }
    if (req->prev)
        req->prev->next = req->next;
    else
        h->suspended = req->next;
    if (req->next)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
    req->is_suspended = 0;
    h->kick = 1;
    MHD_resume_connection(req->conn);
}
