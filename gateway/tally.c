/* tally.c -- see tally.h. */
#include "tally.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "errors.h"

#define TALLY_KEY_MAX (2 * (CODEC_NAME_MAX + 1) + 1)

void tally_init(tally *t, size_t max)
{
    memset(t, 0, sizeof(*t));
    t->max = max ? max : TALLY_MAX_DEFAULT;
}

void tally_free(tally *t)
{
    tally_series *s, *tmp;
    HASH_ITER(hh, t->by_key, s, tmp)
    {
        HASH_DEL(t->by_key, s);
        free(s);
    }
    t->count = 0;
}

/* Writes the key of (queue, function, code) into key; returns its length. */
static size_t tally_key(char *key, const char *queue, const char *function, int code)
{
    size_t q = strnlen(queue, CODEC_NAME_MAX), f = strnlen(function, CODEC_NAME_MAX);
    memcpy(key, queue, q);
    key[q] = '\0';
    memcpy(key + q + 1, function, f);
    key[q + 1 + f] = '\0';
    key[q + f + 2] = (char)code;
    return q + f + 3;
}

static tally_series *tally_find(const tally *t, const char *key, size_t len)
{
    tally_series *s = NULL;
    HASH_FIND(hh, t->by_key, key, len, s);
    return s;
}

static tally_series *tally_make(tally *t, const char *key, size_t len, int code)
{
    tally_series *s = malloc(sizeof(*s) + len);
    if (!s)
        return NULL;
    memset(s, 0, sizeof(*s));
    memcpy(s->key, key, len);
    s->keylen = len;
    s->code = code;
    s->queue = s->key;
    s->function = s->key + strlen(s->key) + 1;
    HASH_ADD_KEYPTR(hh, t->by_key, s->key, s->keylen, s);
    t->count++;
    return s;
}

void tally_add(tally *t, const char *queue, const char *function, int code)
{
    char key[TALLY_KEY_MAX];
    /* One series per outcome name: codes without a name of their own
     * (from a newer peer) are "internal", as code_name says. */
    if (code < 0 || code >= TALLY_CODES || !strcmp(code_name(code), "internal"))
        code = OFFLOAD__CODE__CODE_INTERNAL;
    size_t len = tally_key(key, queue, function, code);
    tally_series *s = tally_find(t, key, len);
    if (!s && t->count < t->max)
        s = tally_make(t, key, len, code);
    if (!s) {
        /* Past the bound (or out of memory): the queue's "_other". */
        t->folded++;
        len = tally_key(key, queue, TALLY_OTHER, code);
        s = tally_find(t, key, len);
        if (!s && t->count < t->max + t->max / 4 + TALLY_CODES)
            s = tally_make(t, key, len, code);
        if (!s) /* a real series of that name takes it (no label set twice) */
            s = tally_find(t, key, tally_key(key, TALLY_OTHER, TALLY_OTHER, code));
    }
    if (s)
        s->count++;
    else
        t->overflow[code]++;
}

void tally_each(const tally *t, tally_each_fn fn, void *arg)
{
    for (const tally_series *s = t->by_key; s; s = s->hh.next)
        fn(s->queue, s->function, s->code, s->count, arg);
    for (int c = 0; c < TALLY_CODES; c++)
        if (t->overflow[c])
            fn(TALLY_OTHER, TALLY_OTHER, c, t->overflow[c], arg);
}

uint64_t tally_get(const tally *t, const char *queue, const char *function, int code)
{
    char key[TALLY_KEY_MAX];
    if (!strcmp(queue, TALLY_OTHER) && !strcmp(function, TALLY_OTHER) && code >= 0 &&
        code < TALLY_CODES && t->overflow[code])
        return t->overflow[code];
    tally_series *s = tally_find(t, key, tally_key(key, queue, function, code));
    return s ? s->count : 0;
}
