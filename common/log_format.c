/* log_format.c -- see log_format.h. */
#include "log_format.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LF_FIELDS_MAX 256 /* fields kept; words past them go to msg */

typedef struct lf_field {
    const char *key; /* into the message, klen bytes */
    size_t klen;
    const char *val; /* into lf_parsed.vals, vlen bytes */
    size_t vlen;
} lf_field;

/* A message parsed: its fields, and its other words joined into msg. */
typedef struct lf_parsed {
    lf_field fields[LF_FIELDS_MAX];
    size_t nfields;
    char msg[LOG_FORMAT_MSG_MAX + 1];
    size_t msglen;
    char vals[LOG_FORMAT_MSG_MAX + 1]; /* decoded values: never longer than their source */
    size_t used;
} lf_parsed;

int log_format_parse(const char *name)
{
    if (!strcasecmp(name, "text"))
        return LOG_FORMAT_TEXT;
    if (!strcasecmp(name, "logfmt"))
        return LOG_FORMAT_LOGFMT;
    if (!strcasecmp(name, "json"))
        return LOG_FORMAT_JSON;
    return -1;
}

static int lf_key_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static int lf_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the quoted value starting after its opening quote at s[*i] into
 * p->vals; leaves *i after the closing quote (or at the end). */
static void lf_quoted(const char *s, size_t len, size_t *i, lf_parsed *p)
{
    size_t j = *i;
    while (j < len) {
        unsigned char c = (unsigned char)s[j];
        if (c == '"' && (j + 1 == len || s[j + 1] == ' ')) {
            j++;
            break;
        }
        if (c == '\\' && j + 1 < len) {
            unsigned char e = (unsigned char)s[j + 1];
            int hi, lo;
            if (e == 'x' && j + 3 < len && (hi = lf_hex((unsigned char)s[j + 2])) >= 0 &&
                (lo = lf_hex((unsigned char)s[j + 3])) >= 0) {
                p->vals[p->used++] = (char)(hi << 4 | lo);
                j += 4;
                continue;
            }
            const char *from = "\"\\nrt", *to = "\"\\\n\r\t", *k = strchr(from, e);
            if (e && k) {
                p->vals[p->used++] = to[k - from];
                j += 2;
                continue;
            }
        }
        p->vals[p->used++] = (char)c;
        j++;
    }
    *i = j;
}

static void lf_parse(const char *s, size_t len, lf_parsed *p)
{
    p->nfields = p->msglen = p->used = 0;
    size_t i = 0;
    while (i < len) {
        if (s[i] == ' ') {
            i++;
            continue;
        }
        size_t k = i;
        while (k < len && lf_key_char((unsigned char)s[k]))
            k++;
        if (k > i && k < len && s[k] == '=' && p->nfields < LF_FIELDS_MAX) {
            lf_field *f = &p->fields[p->nfields++];
            f->key = s + i;
            f->klen = k - i;
            f->val = p->vals + p->used;
            i = k + 1;
            if (i < len && s[i] == '"') {
                i++;
                lf_quoted(s, len, &i, p);
            } else {
                while (i < len && s[i] != ' ')
                    p->vals[p->used++] = s[i++];
            }
            f->vlen = (size_t)(p->vals + p->used - f->val);
            continue;
        }
        /* A word: into msg, as it is. */
        if (p->msglen)
            p->msg[p->msglen++] = ' ';
        while (i < len && s[i] != ' ')
            p->msg[p->msglen++] = s[i++];
    }
}

/* Copies in (n bytes) into out as valid UTF-8: each byte that does not
 * start a well-formed sequence (no overlong forms, surrogates or code
 * points past U+10FFFF), and a NUL, becomes U+FFFD. out needs 3 * n bytes. Returns
 * the length written. */
static size_t lf_utf8(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = in[i];
        size_t need = 0;
        unsigned cp = c;
        int ok = c != 0; /* a NUL too: jansson, and many readers, refuse \u0000 */
        if (c >= 0x80) {
            if ((c & 0xe0) == 0xc0)
                need = 1, cp = c & 0x1f;
            else if ((c & 0xf0) == 0xe0)
                need = 2, cp = c & 0x0f;
            else if ((c & 0xf8) == 0xf0)
                need = 3, cp = c & 0x07;
            else
                ok = 0;
        }
        for (size_t k = 1; ok && k <= need; k++) {
            if (i + k >= n || (in[i + k] & 0xc0) != 0x80)
                ok = 0;
            else
                cp = cp << 6 | (in[i + k] & 0x3f);
        }
        if (ok && ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
                   (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
                   (cp >= 0xd800 && cp <= 0xdfff)))
            ok = 0;
        if (!ok) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, in + i, need + 1);
        o += need + 1;
        i += need + 1;
    }
    return o;
}

/* A jansson string of s (n bytes, any), made valid UTF-8; NULL when out
 * of memory. */
static json_t *lf_string(const char *s, size_t n)
{
    char clean[3 * LOG_FORMAT_MSG_MAX + 3];
    if (n > LOG_FORMAT_MSG_MAX)
        n = LOG_FORMAT_MSG_MAX;
    return json_stringn(clean, lf_utf8((const unsigned char *)s, n, clean));
}

/* Sets key (klen bytes) to v (taken) in o, as KEY_2, KEY_3, ... when o has
 * key already. Returns 0 or -1 (out of memory). */
static int lf_set(json_t *o, const char *key, size_t klen, json_t *v)
{
    char name[LOG_FORMAT_MSG_MAX + 16];
    if (!v)
        return -1;
    snprintf(name, sizeof(name), "%.*s", (int)klen, key);
    for (unsigned n = 2; json_object_get(o, name); n++)
        snprintf(name, sizeof(name), "%.*s_%u", (int)klen, key, n);
    return json_object_set_new(o, name, v);
}

/* The line's object: ts, level, component, msg (if any words), fields. */
static json_t *lf_object(const char *ts, const char *level, const char *component,
                         const lf_parsed *p)
{
    json_t *o = json_object();
    if (!o || lf_set(o, "ts", 2, json_string(ts)) < 0 ||
        lf_set(o, "level", 5, json_string(level)) < 0 ||
        lf_set(o, "component", 9, json_string(component)) < 0 ||
        (p->msglen && lf_set(o, "msg", 3, lf_string(p->msg, p->msglen)) < 0))
        goto err;
    for (size_t i = 0; i < p->nfields; i++) {
        const lf_field *f = &p->fields[i];
        if (lf_set(o, f->key, f->klen, lf_string(f->val, f->vlen)) < 0)
            goto err;
    }
    return o;

err:
    json_decref(o);
    return NULL;
}

static int lf_bare(const char *s, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '"' || c == '=' || c == '\\')
            return 0;
    }
    return 1;
}

/* o as logfmt into out (outlen); returns its length, or 0 when it does
 * not fit. */
static size_t lf_logfmt(json_t *o, char *out, size_t outlen)
{
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        const char *s = json_string_value(v);
        size_t sl = json_string_length(v), kl = strlen(key);
        if (n + kl + 2 >= outlen)
            return 0;
        if (n)
            out[n++] = ' ';
        memcpy(out + n, key, kl);
        n += kl;
        out[n++] = '=';
        if (lf_bare(s, sl)) {
            if (n + sl >= outlen)
                return 0;
            memcpy(out + n, s, sl);
            n += sl;
        } else {
            size_t w = json_dumpb(v, out + n, outlen - n - 1, JSON_ENCODE_ANY);
            if (!w || n + w >= outlen)
                return 0;
            n += w;
        }
    }
    out[n] = '\0';
    return n;
}

/* o as f into out; 0 when it does not fit (or failed). */
static size_t lf_dump(log_format f, json_t *o, char *out, size_t outlen)
{
    if (!o)
        return 0;
    size_t n = f == LOG_FORMAT_JSON ? json_dumpb(o, out, outlen - 1, JSON_COMPACT)
                                    : lf_logfmt(o, out, outlen);
    if (n >= outlen)
        return 0;
    out[n] = '\0';
    return n;
}

size_t log_format_render(log_format f, const char *ts, const char *level, const char *component,
                         const char *msg, size_t len, char *out, size_t outlen)
{
    lf_parsed p;
    if (len > LOG_FORMAT_MSG_MAX)
        len = LOG_FORMAT_MSG_MAX;
    lf_parse(msg, len, &p);
    json_t *o = lf_object(ts, level, component, &p);
    size_t n = lf_dump(f, o, out, outlen);
    json_decref(o);
    /* Too long: the message as it is, cut until it fits (6 bytes a byte
     * at worst: \u0001). */
    for (size_t cut = len; !n && cut; cut = cut > (outlen - 200) / 6 ? cut / 2 : 0) {
        p.nfields = 0;
        p.msglen = cut;
        memcpy(p.msg, msg, cut);
        o = lf_object(ts, level, component, &p);
        if (o && json_object_set_new(o, "truncated", json_string("true")) == 0)
            n = lf_dump(f, o, out, outlen);
        json_decref(o);
    }
    if (!n) /* out of memory: a line that says so, in the format */
        n = (size_t)snprintf(out, outlen,
                             f == LOG_FORMAT_JSON
                                 ? "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"%s\","
                                   "\"msg\":\"log line lost: out of memory\"}"
                                 : "ts=%s level=%s component=%s msg=\"log line lost: out of "
                                   "memory\"",
                             ts, level, component);
    return n < outlen ? n : outlen - 1;
}
