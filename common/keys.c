/* keys.c -- see keys.h. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define KEYS_NAME_MAX 64 /* a queue name, as codec.h's CODEC_NAME_MAX */

static int keys_z85_valid(const char *z85)
{
    uint8_t bin[32];
    return strlen(z85) == KEYS_Z85_LEN && zmq_z85_decode(bin, z85) != NULL;
}

static int keys_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/* "io,cpu": 1..n names, no empty ones. Returns 0 or -1. */
static int keys_queues_valid(const char *v)
{
    size_t n = 0;
    if (!*v)
        return -1;
    for (const char *p = v;; p++) {
        if (*p == ',' || !*p) {
            if (n == 0)
                return -1;
            if (!*p)
                return 0;
            n = 0;
        } else if (!keys_name_char(*p) || ++n > KEYS_NAME_MAX)
            return -1;
    }
}

int keys_queue_listed(const char *queues, const char *queue)
{
    size_t len = strlen(queue);
    for (const char *p = queues; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && !strncmp(p, queue, n))
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

static char *keys_trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

int keys_parse(const char *name, const char *text, size_t len, int need_secret, keys_file *out,
               char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (len > KEYS_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %d bytes: not a key file", name, KEYS_FILE_MAX);
        return -1;
    }
    if (memchr(text, '\0', len)) {
        snprintf(err, errlen, "%s: contains a NUL byte: not a key file", name);
        return -1;
    }
    char buf[KEYS_FILE_MAX + 1];
    memcpy(buf, text, len);
    buf[len] = '\0';
    int line = 0, has_public = 0, has_secret = 0;
    /* strtok_r skips empty lines, so count them by hand. */
    for (char *p = buf; p && *p;) {
        char *nl = strchr(p, '\n');
        char *end = nl ? nl : p + strlen(p);
        line++;
        char *s = keys_trim(p, end);
        p = nl ? nl + 1 : NULL;
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s line %d: expected NAME = VALUE", name, line);
            return -1;
        }
        char *key = keys_trim(s, eq), *value = keys_trim(eq + 1, eq + 1 + strlen(eq + 1));
        if (!strcmp(key, "public") || !strcmp(key, "secret")) {
            int secret = key[0] == 's';
            int *seen = secret ? &has_secret : &has_public;
            if (secret && !need_secret) {
                snprintf(err, errlen,
                         "%s line %d: a secret key in a public key file (a .pub file must not "
                         "hold the secret)",
                         name, line);
                return -1;
            }
            if (*seen) {
                snprintf(err, errlen, "%s line %d: '%s' given twice", name, line, key);
                return -1;
            }
            if (!keys_z85_valid(value)) {
                snprintf(err, errlen, "%s line %d: the %s key is not %d characters of Z85", name,
                         line, key, KEYS_Z85_LEN);
                return -1;
            }
            *seen = 1;
            memcpy(secret ? out->secret_key : out->public_key, value, KEYS_Z85_LEN + 1);
        } else if (!strcmp(key, "queues") && !need_secret) {
            if (out->has_queues) {
                snprintf(err, errlen, "%s line %d: 'queues' given twice", name, line);
                return -1;
            }
            if (strlen(value) > KEYS_QUEUES_MAX || keys_queues_valid(value) < 0) {
                snprintf(err, errlen,
                         "%s line %d: queues = NAME[,NAME...], names of A-Z a-z 0-9 _ . - "
                         "(at most %d characters in all)",
                         name, line, KEYS_QUEUES_MAX);
                return -1;
            }
            out->has_queues = 1;
            snprintf(out->queues, sizeof(out->queues), "%s", value);
        } else {
            snprintf(err, errlen, "%s line %d: unknown name '%.32s' (expected public%s)", name,
                     line, key, need_secret ? ", secret" : " or queues");
            return -1;
        }
    }
    if (!has_public || (need_secret && !has_secret)) {
        snprintf(err, errlen, "%s: no '%s = ...' line (make key files with 'offload keygen')", name,
                 has_public ? "secret" : "public");
        return -1;
    }
    if (need_secret) {
        char derived[KEYS_Z85_LEN + 1];
        if (zmq_curve_public(derived, out->secret_key) != 0 ||
            strcmp(derived, out->public_key) != 0) {
            snprintf(err, errlen, "%s: the public key does not belong to the secret key", name);
            return -1;
        }
    }
    return 0;
}

int keys_read(const char *path, int need_secret, keys_file *out, char *err, size_t errlen)
{
    char buf[KEYS_FILE_MAX + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ELOOP) /* a symlink: allowed, but not a FIFO behind it */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (n == 0 || (len += (size_t)n) == sizeof(buf))
            break;
    }
    close(fd);
    return keys_parse(path, buf, len, need_secret, out, err, errlen);
}

/* Writes text to path, created new (O_EXCL unless force) with mode. */
static int keys_write(const char *path, const char *text, mode_t mode, int force, char *err,
                      size_t errlen)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (force ? O_TRUNC : O_EXCL), mode);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create: %s%s", path, strerror(errno),
                 errno == EEXIST ? " (use --force to replace it)" : "");
        return -1;
    }
    /* An existing file opened with --force keeps its mode: set ours. */
    size_t len = strlen(text);
    if (fchmod(fd, mode) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    return 0;
}

int keys_generate(const char *path, int force, char *err, size_t errlen)
{
    char pub[KEYS_Z85_LEN + 1], sec[KEYS_Z85_LEN + 1];
    char keypath[4096], pubpath[4096], text[256];
    if (!path || !*path || strlen(path) > sizeof(keypath) - 5) {
        snprintf(err, errlen, "a key path of 1..%zu characters is required", sizeof(keypath) - 5);
        return -1;
    }
    if (zmq_curve_keypair(pub, sec) != 0) {
        snprintf(err, errlen, "cannot make a CURVE key pair: %s (is libzmq built with CURVE?)",
                 zmq_strerror(errno));
        return -1;
    }
    snprintf(keypath, sizeof(keypath), "%s.key", path);
    snprintf(pubpath, sizeof(pubpath), "%s.pub", path);
    snprintf(text, sizeof(text),
             "# offload CURVE key pair: keep this file secret (offload keygen)\n"
             "public = %s\nsecret = %s\n",
             pub, sec);
    if (keys_write(keypath, text, 0600, force, err, errlen) < 0)
        return -1;
    snprintf(text, sizeof(text),
             "# offload CURVE public key (offload keygen)\n"
             "# in a gateway's --curve-allow directory, a line 'queues = io,cpu'\n"
             "# limits an executor with this key to those queues\n"
             "public = %s\n",
             pub);
    if (keys_write(pubpath, text, 0644, force, err, errlen) < 0) {
        unlink(keypath);
        return -1;
    }
    memset(sec, 0, sizeof(sec));
    memset(text, 0, sizeof(text));
    return 0;
}

/* host (len bytes) is 127.x, ::1 or localhost. */
static int keys_host_loopback(const char *h, size_t len)
{
    if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
        h++;
        len -= 2;
    }
    if ((len == 3 && !strncmp(h, "::1", 3)) || (len == 9 && !strncasecmp(h, "localhost", 9)))
        return 1;
    if (len < 4 || strncmp(h, "127.", 4) != 0)
        return 0;
    int dots = 0, digits = 0;
    for (size_t i = 3; i < len; i++) {
        if (h[i] == '.') {
            if (i > 3 && !digits)
                return 0;
            dots++;
            digits = 0;
        } else if (h[i] >= '0' && h[i] <= '9' && ++digits <= 3)
            continue;
        else
            return 0;
    }
    return dots == 3 && digits > 0;
}

int keys_endpoint_is_loopback(const char *ep)
{
    if (!ep)
        return 0;
    if (!strncmp(ep, "ipc://", 6) || !strncmp(ep, "inproc://", 9))
        return 1;
    const char *h;
    if (!strncmp(ep, "tcp://", 6))
        h = ep + 6;
    else if (!strncmp(ep, "ws://", 5))
        h = ep + 5;
    else
        return 0;
    /* tcp://[source;]host:port: a source address binds nothing here. */
    const char *semi = strchr(h, ';');
    if (semi)
        h = semi + 1;
    const char *colon = strrchr(h, ':');
    if (!colon)
        return 0;
    return keys_host_loopback(h, (size_t)(colon - h));
}
