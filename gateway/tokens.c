/* tokens.c -- see tokens.h. */
#include "tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "codec.h"

#define TOKENS_DIGEST_LEN 32 /* SHA-256 */

struct token_entry {
    unsigned char digest[TOKENS_DIGEST_LEN];
    int line;
    size_t nqueues; /* 0: every queue */
    char (*queues)[CODEC_NAME_MAX + 1];
    UT_hash_handle hh;
};

struct token_table {
    token_entry *by_digest;
    size_t count;
};

static int tokens_digest(const char *token, size_t len, unsigned char out[TOKENS_DIGEST_LEN])
{
    return gnutls_hash_fast(GNUTLS_DIG_SHA256, token, len, out) == 0 ? 0 : -1;
}

/* RFC 6750's b64token (token68): 1*( ALPHA / DIGIT / "-" / "." / "_" /
 * "~" / "+" / "/" ) *"=". Returns 0, or -1 with why set. */
static int tokens_check(const char *s, size_t len, const char **why)
{
    size_t i = 0;
    if (len < TOKENS_LEN_MIN) {
        *why = "is too short (at least 16 characters; make one with: openssl rand -hex 32)";
        return -1;
    }
    if (len > TOKENS_LEN_MAX) {
        *why = "is too long (at most 256 characters)";
        return -1;
    }
    while (i < len && (strchr("-._~+/", s[i]) || (s[i] >= 'a' && s[i] <= 'z') ||
                       (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
        i++;
    if (i == 0) {
        *why = "must start with a letter, a digit or one of - . _ ~ + /";
        return -1;
    }
    while (i < len && s[i] == '=')
        i++;
    if (i != len) {
        *why = "holds a character outside letters, digits, - . _ ~ + / and trailing =";
        return -1;
    }
    return 0;
}

static void tokens_entry_free(token_entry *e)
{
    free(e->queues);
    free(e);
}

void tokens_free(token_table **tp)
{
    token_table *t = *tp;
    if (!t)
        return;
    token_entry *e, *tmp;
    HASH_ITER(hh, t->by_digest, e, tmp)
    {
        HASH_DEL(t->by_digest, e);
        tokens_entry_free(e);
    }
    free(t);
    *tp = NULL;
}

/* The next field of [*p, end) separated by spaces, tabs or commas: sets
 * *start and *flen and moves *p past it. Returns 0 when none is left. */
static int tokens_field(const char **p, const char *end, const char **start, size_t *flen)
{
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t' || *s == ','))
        s++;
    if (s == end) {
        *p = s;
        return 0;
    }
    const char *f = s;
    while (s < end && *s != ' ' && *s != '\t' && *s != ',')
        s++;
    *start = f;
    *flen = (size_t)(s - f);
    *p = s;
    return 1;
}

/* Parses one line's fields (comment and line end already cut) into a new
 * entry. Returns 0 (*out NULL for a blank line) or -1 with err set. */
static int tokens_parse_line(const char *s, const char *end, int line, token_entry **out, char *err,
                             size_t errlen)
{
    const char *f, *why;
    size_t flen;
    *out = NULL;
    if (!tokens_field(&s, end, &f, &flen))
        return 0;
    if (tokens_check(f, flen, &why) < 0) {
        snprintf(err, errlen, "line %d: the token %s", line, why);
        return -1;
    }
    token_entry *e = calloc(1, sizeof(*e));
    if (!e || tokens_digest(f, flen, e->digest) < 0)
        goto nomem;
    e->line = line;
    const char *q;
    size_t qlen;
    while (tokens_field(&s, end, &q, &qlen)) {
        char name[CODEC_NAME_MAX + 1];
        if (qlen > CODEC_NAME_MAX) {
            snprintf(err, errlen, "line %d: queue name '%.*s...' is longer than %d characters",
                     line, 20, q, CODEC_NAME_MAX);
            goto err;
        }
        memcpy(name, q, qlen);
        name[qlen] = '\0';
        if (!codec_name_valid(name)) {
            snprintf(err, errlen,
                     "line %d: '%s' is not a queue name (letters, digits, '.', '_', '-')", line,
                     name);
            goto err;
        }
        for (size_t i = 0; i < e->nqueues; i++)
            if (!strcmp(e->queues[i], name)) {
                snprintf(err, errlen, "line %d: queue '%s' is named twice", line, name);
                goto err;
            }
        if (e->nqueues == TOKENS_QUEUES_MAX) {
            snprintf(err, errlen, "line %d: more than %d queues for one token", line,
                     TOKENS_QUEUES_MAX);
            goto err;
        }
        void *grown = realloc(e->queues, (e->nqueues + 1) * sizeof(*e->queues));
        if (!grown)
            goto nomem;
        e->queues = grown;
        memcpy(e->queues[e->nqueues++], name, qlen + 1);
    }
    *out = e;
    return 0;

nomem:
    snprintf(err, errlen, "line %d: out of memory", line);
err:
    if (e)
        tokens_entry_free(e);
    return -1;
}

token_table *tokens_parse(const char *text, size_t len, char *err, size_t errlen)
{
    token_table *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *p = text, *end = text + len;
    int line = 0;
    while (p < end) {
        line++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *stop = eol ? eol : end;
        const char *cut = memchr(p, '#', (size_t)(stop - p));
        if (!cut)
            cut = stop;
        if (memchr(p, '\0', (size_t)(stop - p))) {
            snprintf(err, errlen, "line %d: a NUL byte (is this a text file?)", line);
            goto err;
        }
        if (cut > p && cut == stop && cut[-1] == '\r')
            cut--; /* CRLF line ends */
        token_entry *e;
        if (tokens_parse_line(p, cut, line, &e, err, errlen) < 0)
            goto err;
        p = eol ? eol + 1 : end;
        if (!e)
            continue;
        token_entry *dup;
        HASH_FIND(hh, t->by_digest, e->digest, TOKENS_DIGEST_LEN, dup);
        if (dup) {
            snprintf(err, errlen, "line %d: the same token as line %d", line, dup->line);
            tokens_entry_free(e);
            goto err;
        }
        if (t->count == TOKENS_COUNT_MAX) {
            snprintf(err, errlen, "line %d: more than %d tokens", line, TOKENS_COUNT_MAX);
            tokens_entry_free(e);
            goto err;
        }
        HASH_ADD(hh, t->by_digest, digest, TOKENS_DIGEST_LEN, e);
        t->count++;
    }
    if (!t->count) {
        snprintf(err, errlen,
                 "no token in it (one token per line, optionally followed by the "
                 "queues it may use)");
        goto err;
    }
    return t;

err:
    tokens_free(&t);
    return NULL;
}

token_table *tokens_load(const char *path, int *loose, char *err, size_t errlen)
{
    char why[256];
    char *text = NULL;
    *loose = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "'%s': cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "'%s': not a regular file", path);
        goto err;
    }
    if (st.st_size > TOKENS_FILE_MAX) {
        snprintf(err, errlen, "'%s': %lld bytes, over the limit of %d", path, (long long)st.st_size,
                 TOKENS_FILE_MAX);
        goto err;
    }
    *loose = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
    text = malloc((size_t)st.st_size + 1);
    if (!text) {
        snprintf(err, errlen, "'%s': out of memory", path);
        goto err;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "'%s': cannot read: %s", path, strerror(errno));
            goto err;
        }
        if (n == 0)
            break; /* shrank while read: parse what is there */
        got += (size_t)n;
    }
    close(fd);
    fd = -1;
    token_table *t = tokens_parse(text, got, why, sizeof(why));
    /* The text holds every token: leave no copy behind. */
    explicit_bzero(text, got);
    free(text);
    if (!t)
        snprintf(err, errlen, "'%s' %s", path, why);
    return t;

err:
    free(text);
    if (fd >= 0)
        close(fd);
    return NULL;
}

const token_entry *tokens_find(const token_table *t, const char *token, size_t len)
{
    unsigned char d[TOKENS_DIGEST_LEN];
    token_entry *e = NULL;
    if (!t || len < TOKENS_LEN_MIN || len > TOKENS_LEN_MAX || tokens_digest(token, len, d) < 0)
        return NULL;
    HASH_FIND(hh, t->by_digest, d, TOKENS_DIGEST_LEN, e);
    return e;
}

int tokens_allow(const token_entry *e, const char *queue)
{
    if (!e->nqueues)
        return 1;
    for (size_t i = 0; i < e->nqueues; i++)
        if (!strcmp(e->queues[i], queue))
            return 1;
    return 0;
}

int tokens_line(const token_entry *e)
{
    return e->line;
}

size_t tokens_count(const token_table *t)
{
    return t ? t->count : 0;
}
