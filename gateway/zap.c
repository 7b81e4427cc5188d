/* zap.c -- see zap.h. */
#include "zap.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "text.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_BATCH 256     /* requests answered per loop turn */
#define ZAP_FRAMES_MAX 16 /* a request has 7; more is not from libzmq */
#define ZAP_FRAME_MAX 256 /* bytes kept of one frame (a key is 32) */

static log_limiter zap_limiter;

static void zap_free_table(zap_key **by_key, zap_key **by_name)
{
    zap_key *k, *tmp;
    HASH_CLEAR(hh_name, *by_name);
    HASH_ITER(hh, *by_key, k, tmp)
    {
        HASH_DELETE(hh, *by_key, k);
        free(k);
    }
}

/* A .pub file's base name is the peer's User-Id in logs: printable, no
 * spaces or quotes. */
static int zap_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > ZAP_NAME_MAX || name[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (name[i] <= ' ' || name[i] > '~' || name[i] == '"' || name[i] == '\\' || name[i] == '=')
            return 0;
    return 1;
}

static int zap_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads dir into fresh tables. Returns 0, or -1 with err set. */
static int zap_load(const char *dir, zap_key **by_key, zap_key **by_name, size_t *count, char *err,
                    size_t errlen)
{
    char **names = NULL;
    size_t n = 0;
    int rc = -1;
    *by_key = *by_name = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "--curve-allow %s: cannot open the directory: %s", dir,
                 strerror(errno));
        return -1;
    }
    names = calloc(ZAP_KEYS_MAX, sizeof(*names));
    if (!names) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= 4 || strcmp(de->d_name + len - 4, ".pub") != 0)
            continue;
        if (!zap_name_valid(de->d_name, len - 4)) {
            snprintf(err, errlen,
                     "--curve-allow %s: file name '%.80s': use NAME.pub, NAME 1..%d printable "
                     "characters without spaces, quotes, '=' or a leading dot",
                     dir, de->d_name, ZAP_NAME_MAX);
            goto out;
        }
        if (n == ZAP_KEYS_MAX) {
            snprintf(err, errlen, "--curve-allow %s: more than %d .pub files", dir, ZAP_KEYS_MAX);
            goto out;
        }
        if (!(names[n] = strdup(de->d_name))) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        n++;
    }
    /* Sorted, so "the first file wins" for a key given twice is stable. */
    qsort(names, n, sizeof(*names), zap_cmp_names);
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        keys_file kf;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (keys_read(path, 0, &kf, err, errlen) < 0)
            goto out;
        zap_key *k = NULL;
        HASH_FIND(hh, *by_key, kf.public_key, KEYS_Z85_LEN, k);
        if (k) {
            log_warn("event=curve_key_duplicate file=%s same_as=%s.pub action=ignored", names[i],
                     k->name);
            continue;
        }
        if (!(k = calloc(1, sizeof(*k)))) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        memcpy(k->public_key, kf.public_key, sizeof(k->public_key));
        snprintf(k->name, sizeof(k->name), "%.*s", (int)(strlen(names[i]) - 4), names[i]);
        k->restricted = kf.has_queues;
        memcpy(k->queues, kf.queues, sizeof(k->queues));
        HASH_ADD(hh, *by_key, public_key, KEYS_Z85_LEN, k);
        HASH_ADD(hh_name, *by_name, name, strlen(k->name), k);
        (*count)++;
    }
    rc = 0;
out:
    closedir(d);
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    if (rc < 0)
        zap_free_table(by_key, by_name);
    return rc;
}

int zap_start(zap *z, void *zctx, const char *dir, gateway_stats *stats, char *err, size_t errlen)
{
    memset(z, 0, sizeof(*z));
    z->stats = stats;
    if (!(z->dir = strdup(dir))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (zap_load(dir, &z->by_key, &z->by_name, &z->count, err, errlen) < 0)
        goto err;
    int zero = 0;
    z->sock = zmq_socket(zctx, ZMQ_REP);
    if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
        zmq_bind(z->sock, ZAP_ENDPOINT) != 0) {
        snprintf(err, errlen, "ZAP handler %s: %s", ZAP_ENDPOINT, zmq_strerror(errno));
        goto err;
    }
    log_info("event=curve_allow_loaded keys=%zu dir=%s", z->count, dir);
    return 0;
err:
    zap_close(z);
    return -1;
}

int zap_reload(zap *z)
{
    zap_key *by_key, *by_name;
    size_t count;
    char err[512];
    if (zap_load(z->dir, &by_key, &by_name, &count, err, sizeof(err)) < 0) {
        log_error("event=curve_allow_reload_failed dir=%s error=\"%s\" action=\"kept the %zu "
                  "keys loaded before\"",
                  z->dir, err, z->count);
        return -1;
    }
    zap_free_table(&z->by_key, &z->by_name);
    z->by_key = by_key;
    z->by_name = by_name;
    z->count = count;
    log_info("event=curve_allow_loaded keys=%zu dir=%s reload=1", count, z->dir);
    return 0;
}

const zap_key *zap_find_name(const zap *z, const char *name)
{
    zap_key *k = NULL;
    if (z && name && *name)
        HASH_FIND(hh_name, z->by_name, name, strlen(name), k);
    return k;
}

int zap_key_allows(const zap_key *k, const char *queue)
{
    return !k->restricted || keys_queue_listed(k->queues, queue);
}

/* One request's frames (RFC 27): version, request id, domain, address,
 * routing id, mechanism, credentials. */
typedef struct zap_request {
    uint8_t frame[ZAP_FRAMES_MAX][ZAP_FRAME_MAX];
    size_t len[ZAP_FRAMES_MAX];
    int count;
} zap_request;

static int zap_recv(void *sock, zap_request *r)
{
    r->count = 0;
    int more = 1;
    while (more) {
        int n = zmq_recv(sock, r->frame[r->count < ZAP_FRAMES_MAX ? r->count : 0], ZAP_FRAME_MAX,
                         r->count ? 0 : ZMQ_DONTWAIT);
        if (n < 0)
            return r->count ? -EPROTO : -errno;
        if (r->count < ZAP_FRAMES_MAX)
            r->len[r->count] = (size_t)n > ZAP_FRAME_MAX ? ZAP_FRAME_MAX : (size_t)n;
        r->count++;
        size_t sz = sizeof(more);
        if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) != 0)
            more = 0;
    }
    return 0;
}

static void zap_reply(void *sock, const zap_request *r, const char *status, const char *text,
                      const char *user)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, r->count > 1 ? r->frame[1] : (const uint8_t *)"", r->count > 1 ? r->len[1] : 0,
             ZMQ_SNDMORE);
    zmq_send(sock, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

static void zap_answer(zap *z, zap_request *r)
{
    char domain[64], address[128], key[KEYS_Z85_LEN + 1] = "";
    if (r->count < 7 || r->len[0] != 3 || memcmp(r->frame[0], "1.0", 3) != 0) {
        zap_reply(z->sock, r, "500", "malformed ZAP request", "");
        return;
    }
    text_quote(r->frame[2], r->len[2], 32, domain, sizeof(domain));
    text_quote(r->frame[3], r->len[3], 64, address, sizeof(address));
    int curve = r->len[5] == 5 && !memcmp(r->frame[5], "CURVE", 5);
    if (curve && r->len[6] == 32)
        zmq_z85_encode(key, r->frame[6], 32);
    zap_key *k = NULL;
    if (*key)
        HASH_FIND(hh, z->by_key, key, KEYS_Z85_LEN, k);
    if (k) {
        zap_reply(z->sock, r, "200", "OK", k->name);
        log_debug("event=auth_allowed socket=%s user=%s address=%s", domain, k->name, address);
        return;
    }
    zap_reply(z->sock, r, "400", "key not in the gateway's allow-list", "");
    stats_inc(z->stats, STAT_auth_denied);
    if (log_limiter_allow(&zap_limiter, 5))
        log_warn("event=auth_denied socket=%s key=%.8s address=%s reason=\"%s\"", domain,
                 *key ? key : "-", address, curve ? "key not in --curve-allow" : "not CURVE");
}

void zap_on_readable(void *arg)
{
    zap *z = arg;
    for (int i = 0; i < ZAP_BATCH; i++) {
        zap_request r;
        int rc = zap_recv(z->sock, &r);
        if (rc == -EAGAIN || rc == -EINTR)
            return;
        if (rc < 0 && r.count == 0)
            return;
        zap_answer(z, &r);
    }
}

void zap_close(zap *z)
{
    if (z->sock) {
        zmq_unbind(z->sock, ZAP_ENDPOINT);
        zmq_close(z->sock);
    }
    zap_free_table(&z->by_key, &z->by_name);
    free(z->dir);
    memset(z, 0, sizeof(*z));
}
