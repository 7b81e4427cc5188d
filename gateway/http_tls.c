/* http_tls.c -- the HTTP front's TLS: reads --tls-cert and --tls-key
 * and checks them with GnuTLS at start, gives MHD's TLS sessions socket
 * I/O that counts into http_suspend_activity (http_process's stall
 * check), and watches sockets still in their handshake (tls_watch_fd),
 * which MHD does not. Owns the front's tls_cert and tls_key (freed by http_free) and each
 * connection's tls_fd. MHD serves TLS itself. Loop thread only. */
#include "http_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_suspend.h"

#define HTTP_PEM_MAX (1024 * 1024) /* --tls-cert, --tls-key: bytes */

/* GnuTLS's socket I/O for MHD's TLS sessions, as GnuTLS's own does it,
 * counting the bytes moved (http_process). */
static ssize_t http_tls_pull(gnutls_transport_ptr_t fd, void *buf, size_t len)
{
    ssize_t n = recv((int)(intptr_t)fd, buf, len, 0);
    if (n > 0)
        http_suspend_activity++;
    return n;
}

static ssize_t http_tls_push(gnutls_transport_ptr_t fd, const void *buf, size_t len)
{
    ssize_t n = send((int)(intptr_t)fd, buf, len, MSG_NOSIGNAL);
    if (n > 0)
        http_suspend_activity++;
    return n;
}

void http_tls_watch(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session)
        return;
    gnutls_session_t s = ci->tls_session;
    gnutls_transport_set_pull_function(s, http_tls_pull);
    gnutls_transport_set_push_function(s, http_tls_push);
}

void http_tls_watch_fd(http_front *h, http_conn *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (ci && epoll_ctl(h->tls_watch_fd, EPOLL_CTL_ADD, ci->connect_fd, &ev) == 0)
        c->tls_fd = ci->connect_fd;
}

void http_tls_unwatch_fd(http_front *h, http_conn *c)
{
    if (c->tls_fd < 0)
        return;
    epoll_ctl(h->tls_watch_fd, EPOLL_CTL_DEL, c->tls_fd, NULL);
    c->tls_fd = -1;
}

/* Reads a PEM file (--tls-cert, --tls-key) into a malloc'd string. Returns
 * it, or NULL with err set. */
static char *http_read_pem(const char *flag, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *text = NULL;
    if (fd < 0) {
        snprintf(err, errlen, "--%s '%s': cannot open: %s", flag, path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > HTTP_PEM_MAX) {
        snprintf(err, errlen, "--%s '%s': not a regular file of at most %d bytes", flag, path,
                 HTTP_PEM_MAX);
        goto out;
    }
    text = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (text && got < (size_t)st.st_size) {
        ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (!text || got != (size_t)st.st_size) {
        snprintf(err, errlen, "--%s '%s': cannot read: %s", flag, path,
                 text ? strerror(errno) : "out of memory");
        free(text);
        text = NULL;
        goto out;
    }
    text[got] = '\0';
    if (!strstr(text, "-----BEGIN ")) {
        snprintf(err, errlen, "--%s '%s': not a PEM file (no -----BEGIN line)", flag, path);
        free(text);
        text = NULL;
    }
out:
    close(fd);
    return text;
}

int http_tls_load(http_front *h, char *err, size_t errlen)
{
    const http_config *cfg = &h->cfg;
    if (!cfg->tls_cert && !cfg->tls_key)
        return 0;
    if (!cfg->tls_cert || !cfg->tls_key) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together: give both, or neither");
        return -1;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, errlen, "this libmicrohttpd was built without TLS: --tls-cert cannot work");
        return -1;
    }
    h->tls_cert = http_read_pem("tls-cert", cfg->tls_cert, err, errlen);
    if (!h->tls_cert)
        return -1;
    h->tls_key = http_read_pem("tls-key", cfg->tls_key, err, errlen);
    if (!h->tls_key)
        return -1;
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    gnutls_datum_t cert = {(unsigned char *)h->tls_cert, (unsigned)strlen(h->tls_cert)};
    gnutls_datum_t key = {(unsigned char *)h->tls_key, (unsigned)strlen(h->tls_key)};
    int rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
    gnutls_certificate_free_credentials(cred);
    if (rc < 0) {
        snprintf(err, errlen,
                 "--tls-cert '%s' and --tls-key '%s': %s (want a PEM certificate and its "
                 "unencrypted PEM private key)",
                 cfg->tls_cert, cfg->tls_key, gnutls_strerror(rc));
        return -1;
    }
    return 0;
}
