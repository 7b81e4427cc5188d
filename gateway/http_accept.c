/* http_accept.c -- the HTTP front's accepting: its listening socket (the
 * socket opened on the address http_start parsed, watched by the loop
 * while the front may accept), the new connections waiting for their first bytes
 * before MHD has them (the "hellos", closed at --header-timeout-ms), the
 * per-address connection counts (--max-connections-per-ip), the
 * connection limits (MHD's hard limit, the open-file limit, --turn-accepts)
 * and how many new connections each turn gives MHD. Owns the front's
 * listen_*, hello*, accept* and ips fields, hard_limit and turn_accepts;
 * struct http_hello and struct http_ip are its own. Loop thread only.
 *
 * MHD accepts a few connections per MHD_run step (10 in 0.9.75): under a
 * storm of reconnects a new connection (a /healthz) waited in the listen
 * backlog for many turns; and a step then did the first work of every
 * connection it had (the first read, the answer or a 503 and its close, a
 * TLS handshake), 15-20 ms for a burst of uploads. So MHD has no listening
 * socket (MHD_USE_NO_LISTEN_SOCKET): the front listens, and its socket is
 * one more source of the loop (through listen_watch_fd, an epoll the socket
 * leaves while at the connection limit, while out of descriptors, and once
 * quiesced). Each turn http_take_new accepts up to HTTP_TURN_ACCEPTS new
 * connections (fewer once the turn's time budget is spent; the rest wait
 * in the backlog for the next turn, which starts at once) into the
 * "hellos", where they wait for their first bytes (hello_fd; closed at
 * --header-timeout-ms). http_hand_over then gives MHD (MHD_add_connection:
 * the NOTIFY_CONNECTION callback sets the read deadlines) at most
 * accept_allow of those whose bytes came, which http_accept_adapt sizes
 * from how long the turns run (up to --turn-accepts, HTTP_TLS_TURN_ACCEPTS
 * by default with TLS, where each costs a handshake of about 1 ms of CPU
 * here), and beyond that the GETs and HEADs. --max-connections counts the
 * hellos, and --max-connections-per-ip is counted here (http_accept_ip_count),
 * for the hellos and MHD's connections together. */

#include "http_accept.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uthash.h>
#include <utlist.h>

#include "clock.h"
#include "log.h"

#define HTTP_LISTEN_BACKLOG 4096
#define HTTP_TURN_ACCEPTS 64     /* --turn-accepts default */
#define HTTP_TLS_TURN_ACCEPTS 2  /* --turn-accepts default with TLS: see http_accept */
#define HTTP_ACCEPT_PAUSE_MS 100 /* out of descriptors: accept again after */
#define HTTP_HELLO_EVENTS 512    /* readable hellos looked at per turn */
enum { HELLO_UNKNOWN, HELLO_CHEAP, HELLO_OTHER };

/* One client address's connections: its hellos and MHD's (the per-address
 * limit covers both: MHD only knows its own). */
struct http_ip {
    uint8_t key[16]; /* IPv6, or IPv4 mapped */
    unsigned n;
    UT_hash_handle hh;
};

/* A connection accepted but not yet given to MHD: it waits for its first
 * bytes (a request, or a TLS ClientHello) in front->hello_fd (see
 * http_accept). */
struct http_hello {
    int fd;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint64_t since_us;
    int kind;                       /* HELLO_UNKNOWN, HELLO_CHEAP (GET, HEAD), HELLO_OTHER */
    struct http_ip *ip;             /* its address's count, or NULL */
    struct http_hello *prev, *next; /* front->hellos, oldest first */
};

static log_limiter http_accept_limiter;

void http_accept_listen_watch(http_front *h, int on)
{
    if (h->listen_fd < 0 || h->listen_watched == on)
        return;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = h};
    if (epoll_ctl(h->listen_watch_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, h->listen_fd, &ev) == 0)
        h->listen_watched = on;
}

static void http_accept_resume(gw_timer *t, void *arg)
{
    (void)t;
    http_accept_listen_watch(arg, 1);
}

static void http_hello_fire(gw_timer *t, void *arg);

static void http_hello_arm(http_front *h)
{
    loop_timer_stop(h->loop, &h->hello_deadline);
    if (h->hellos)
        loop_timer_start(h->loop, &h->hello_deadline,
                         h->hellos->since_us + (uint64_t)h->cfg.header_timeout_ms * 1000,
                         http_hello_fire, h);
}

http_ip *http_accept_ip_count(http_front *h, const struct sockaddr *sa, int delta)
{
    if (!h->cfg.max_connections_per_ip)
        return NULL;
    uint8_t key[16] = {0};
    if (sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    } else if (sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else {
        return NULL;
    }
    http_ip *ip;
    HASH_FIND(hh, h->ips, key, sizeof(key), ip);
    if (!ip) {
        if (delta <= 0 || !(ip = calloc(1, sizeof(*ip))))
            return NULL;
        memcpy(ip->key, key, sizeof(key));
        HASH_ADD(hh, h->ips, key, sizeof(ip->key), ip);
    }
    ip->n = delta < 0 && ip->n < (unsigned)-delta ? 0 : ip->n + (unsigned)delta;
    if (ip->n == 0) {
        HASH_DEL(h->ips, ip);
        free(ip);
        return NULL;
    }
    return ip;
}

void http_accept_ip_put(http_front *h, http_ip *ip)
{
    if (ip && --ip->n == 0) {
        HASH_DEL(h->ips, ip);
        free(ip);
    }
}

/* Forgets w: closes its socket, or gives it to MHD (give). */
static void http_hello_end(http_front *h, http_hello *w, int give)
{
    epoll_ctl(h->hello_fd, EPOLL_CTL_DEL, w->fd, NULL);
    DL_DELETE(h->hellos, w);
    h->nhellos--;
    http_accept_ip_put(h, w->ip);
    /* MHD closes the fd itself when it refuses it (no memory, a limit). */
    if (!give ||
        MHD_add_connection(h->daemon, w->fd, (struct sockaddr *)&w->addr, w->addrlen) != MHD_YES) {
        if (!give)
            close(w->fd);
        /* One fewer: a front at the connection limit accepts again. */
        if (!h->listen_watched && !timer_active(&h->accept_pause))
            http_accept_listen_watch(h, 1);
    }
    free(w);
}

/* Ends the hellos past --header-timeout-ms: closes those that sent
 * nothing; one that did but waited for its turn (a storm of uploads, of
 * TLS handshakes) goes to MHD now rather than be closed unanswered. */
static void http_hello_fire(gw_timer *t, void *arg)
{
    http_front *h = arg;
    (void)t;
    uint64_t limit = (uint64_t)h->cfg.header_timeout_ms * 1000, now = clock_now_us();
    while (h->hellos && h->hellos->since_us + limit <= now) {
        char b;
        int sent = recv(h->hellos->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
        if (sent)
            h->kick = 1;
        else
            core_count(h->core, STAT_http_read_timeouts);
        http_hello_end(h, h->hellos, sent);
    }
    http_hello_arm(h);
}

/* Keeps a new connection until its first bytes (a request, a TLS
 * ClientHello) arrive. */
static void http_hello_add(http_front *h, int fd, const struct sockaddr_storage *ss, socklen_t len)
{
    http_hello *w = calloc(1, sizeof(*w));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
    if (!w || (ev.data.ptr = w, epoll_ctl(h->hello_fd, EPOLL_CTL_ADD, fd, &ev) < 0)) {
        free(w);
        close(fd);
        return;
    }
    w->fd = fd;
    w->addr = *ss;
    w->addrlen = len;
    w->since_us = clock_now_us();
    w->ip = http_accept_ip_count(h, (const struct sockaddr *)ss, 1);
    DL_APPEND(h->hellos, w);
    if (h->nhellos++ == 0)
        http_hello_arm(h);
}

/* Accepts this turn's new TCP connections into the hellos (cheap: the
 * dear part is MHD's, http_hand_over). */
static void http_take_new(http_front *h)
{
    unsigned taken = 0;
    unsigned limit = h->turn_accepts > HTTP_TURN_ACCEPTS ? h->turn_accepts : HTTP_TURN_ACCEPTS;
    while (h->listen_watched) {
        if (taken >= limit || (taken && clock_now_us() >= h->turn.until_us)) {
            core_count(h->core, STAT_http_accept_budget_stops);
            return;
        }
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (info && info->num_connections + h->nhellos >= h->hard_limit) {
            /* As MHD does at its limit: new ones wait in the backlog
             * until a connection closes (http_notify_connection). */
            http_accept_listen_watch(h, 0);
            return;
        }
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(h->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the backlog stays
                 * readable, so pause rather than spin. */
                if (log_limiter_allow(&http_accept_limiter, 1))
                    log_warn("event=http_accept_failed error=\"%s\" pause_ms=%d msg=\"cannot "
                             "accept HTTP connections (out of descriptors or memory?): "
                             "accepting again in %d ms\"",
                             strerror(errno), HTTP_ACCEPT_PAUSE_MS, HTTP_ACCEPT_PAUSE_MS);
                http_accept_listen_watch(h, 0);
                loop_timer_stop(h->loop, &h->accept_pause);
                loop_timer_start(h->loop, &h->accept_pause,
                                 clock_now_us() + HTTP_ACCEPT_PAUSE_MS * 1000, http_accept_resume,
                                 h);
            }
            return;
        }
        taken++;
        http_ip *ip = http_accept_ip_count(h, (struct sockaddr *)&ss, 0);
        if (ip && ip->n >= h->cfg.max_connections_per_ip) {
            /* As MHD did at its own accept: closed, no answer. */
            close(fd);
            core_count(h->core, STAT_http_ip_refused);
            if (log_limiter_allow(&http_accept_limiter, 1))
                log_warn("event=http_ip_refused connections=%u msg=\"a client address is at "
                         "--max-connections-per-ip\"",
                         ip->n);
            continue;
        }
        http_hello_add(h, fd, &ss, len);
    }
}

/* A plain HTTP hello whose request is a GET or a HEAD (peeked, not read):
 * no body, so it costs MHD little. */
static int http_hello_cheap(http_front *h, http_hello *w)
{
    if (h->tls_cert)
        return 0; /* the request is inside the TLS session */
    if (w->kind == HELLO_UNKNOWN) {
        char b[5];
        ssize_t r = recv(w->fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
        size_t n = r > 0 ? (size_t)r : 0;
        if ((n >= 4 && memcmp(b, "GET ", 4) == 0) || (n == 5 && memcmp(b, "HEAD ", 5) == 0))
            w->kind = HELLO_CHEAP;
        else if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
            w->kind = HELLO_OTHER; /* closed: MHD finds out in its turn */
        else if (n && !(n < 4 && memcmp(b, "GET ", n) == 0) &&
                 !(n < 5 && memcmp(b, "HEAD ", n) == 0))
            w->kind = HELLO_OTHER;
        /* else too few bytes to tell yet: asked again next turn */
    }
    return w->kind == HELLO_CHEAP;
}

/* Gives MHD the hellos whose first bytes came: at most h->accept_allow a
 * turn (each costs its first read and its answer in this turn's MHD_run,
 * and with TLS a handshake's first step), and beyond that up to
 * HTTP_TURN_ACCEPTS GETs or HEADs, which cost little: /healthz and the
 * other reads are not left behind a storm of uploads. */
static void http_hand_over(http_front *h)
{
    struct epoll_event evs[HTTP_HELLO_EVENTS];
    int n = epoll_wait(h->hello_fd, evs, HTTP_HELLO_EVENTS, 0);
    unsigned given = 0, cheap = 0, left = 0;
    for (int i = 0; i < n; i++) {
        http_hello *w = evs[i].data.ptr;
        if (given < h->accept_allow) {
            given++;
        } else if (cheap < HTTP_TURN_ACCEPTS && http_hello_cheap(h, w)) {
            cheap++;
        } else {
            left++;
            continue;
        }
        http_hello_end(h, w, 1);
        h->kick = 1;
    }
    h->accepted = given;
    if (left)
        core_count(h->core, STAT_http_accept_budget_stops);
    http_hello_arm(h);
}

void http_accept(http_front *h)
{
    if (!h->accept_ready)
        return;
    h->accept_ready = 0;
    http_take_new(h);
    http_hand_over(h);
}

void http_accept_free(http_front *h)
{
    loop_timer_stop(h->loop, &h->accept_pause);
    while (h->hellos)
        http_hello_end(h, h->hellos, 0);
    loop_timer_stop(h->loop, &h->hello_deadline);
    http_ip *ip, *tmp;
    HASH_ITER(hh, h->ips, ip, tmp)
    {
        HASH_DEL(h->ips, ip);
        free(ip);
    }
}

/* After a turn's HTTP work: a new connection costs its first read, its
 * answer and often its close in that turn's MHD_run (100-250 us for a 503
 * refused before a 1 MiB body: the kernel frees what the client had
 * already sent), which --turn-budget-us cannot stop once MHD has it. So a
 * turn whose HTTP work took over 4 times the time budget while it gave MHD
 * new connections halves what the next turn gives (at least one), and a
 * turn under twice the budget doubles it again, up to --turn-accepts: a
 * burst of 2,000 uploads made turns of 15-20 ms at 64 a turn. */
void http_accept_adapt(http_front *h)
{
    uint64_t spent = clock_now_us() - h->turn_start_us, budget = h->loop->budget_us;
    if (spent > 4 * budget && h->accepted > 1)
        h->accept_allow = h->accepted / 2;
    else if (spent < 2 * budget && h->accept_allow < h->turn_accepts)
        h->accept_allow =
            h->accept_allow * 2 < h->turn_accepts ? h->accept_allow * 2 : h->turn_accepts;
    h->accepted = 0;
}

/* MHD's own limit, past which it resets new connections: above
 * --max-connections, so that the connections between the two are answered
 * 503 too_many_connections instead. */
static unsigned http_hard_limit(long long max_connections)
{
    long long slack = max_connections / 8 > 64 ? max_connections / 8 : 64;
    return (unsigned)(max_connections + slack);
}

/* Descriptors kept out of HTTP's reach: ZeroMQ's sockets, its I/O thread,
 * executors and clients connecting, logs. */
#define HTTP_FD_RESERVE 256

/* Raises the open-file limit toward what want connections need, and
 * returns how many HTTP connections fit in it while HTTP_FD_RESERVE stay
 * free (want, or fewer when the hard limit does not allow it). */
static long long http_raise_nofile(long long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    rlim_t need = (rlim_t)want + HTTP_FD_RESERVE;
    if (rl.rlim_cur < need) {
        rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= need)
        return want;
    long long fit = (long long)rl.rlim_cur - HTTP_FD_RESERVE;
    return fit > 16 ? fit : 16;
}

void http_accept_limits(http_front *h)
{
    const http_config *cfg = &h->cfg;
    long long hard = http_hard_limit(cfg->max_connections);
    long long fit = http_raise_nofile(hard);
    if (fit < hard) {
        /* The open-file limit cannot hold --max-connections: cap HTTP so
         * that ZeroMQ, executors and clients always find a descriptor. */
        long long soft = fit - fit / 9;
        log_warn("event=nofile_low limit=%lld max_connections=%lld capped_to=%lld "
                 "msg=\"the open-file limit (ulimit -n) cannot hold --max-connections %lld: HTTP "
                 "is capped at %lld connections (%lld answered), keeping %d descriptors for "
                 "ZeroMQ; raise ulimit -n to %lld\"",
                 fit + HTTP_FD_RESERVE, cfg->max_connections, soft, cfg->max_connections, fit, soft,
                 HTTP_FD_RESERVE, hard + HTTP_FD_RESERVE);
        hard = fit;
        h->cfg.max_connections = soft > 1 ? soft : 1;
    }
    h->hard_limit = (unsigned)hard;
    h->turn_accepts = (unsigned)(cfg->turn_accepts > 0 ? cfg->turn_accepts
                                 : h->tls_cert         ? HTTP_TLS_TURN_ACCEPTS
                                                       : HTTP_TURN_ACCEPTS);
    h->accept_allow = h->turn_accepts;
}

int http_accept_listen_socket(const struct sockaddr_storage *ss)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    socklen_t len =
        ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, HTTP_LISTEN_BACKLOG) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
