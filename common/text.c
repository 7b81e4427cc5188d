/* text.c -- see text.h. */
#include "text.h"

#include <stdint.h>
#include <string.h>

void text_quote(const void *p, size_t len, size_t max, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *b = p;
    size_t n = 0, take = len < max ? len : max, i = 0;
    for (; i < take; i++) {
        uint8_t c = b[i];
        int plain = c >= 0x20 && c < 0x7f && c != '\'' && c != '\\' && c != '"';
        if (n + (plain ? 1 : 4) + 4 > outlen)
            break;
        if (plain) {
            out[n++] = (char)c;
        } else {
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    if (i < len && n + 4 <= outlen) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* The length of the valid UTF-8 sequence at b (n bytes left), or 0. */
static size_t text_utf8_len(const uint8_t *b, size_t n)
{
    size_t need;
    uint32_t min;
    if (b[0] >= 0xc2 && b[0] <= 0xdf)
        need = 2, min = 0x80;
    else if (b[0] >= 0xe0 && b[0] <= 0xef)
        need = 3, min = 0x800;
    else if (b[0] >= 0xf0 && b[0] <= 0xf4)
        need = 4, min = 0x10000;
    else
        return 0;
    if (n < need)
        return 0;
    uint32_t cp = b[0] & (0x7f >> need);
    for (size_t i = 1; i < need; i++) {
        if ((b[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (b[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need;
}

void text_clean(const void *p, size_t len, char *out, size_t outlen)
{
    const uint8_t *b = p;
    size_t n = 0, i = 0;
    while (i < len) {
        size_t k = b[i] < 0x80 ? 1 : text_utf8_len(b + i, len - i);
        if (n + (k ? k : 1) + 4 > outlen)
            break;
        if (k > 1) {
            memcpy(out + n, b + i, k);
            n += k;
            i += k;
            continue;
        }
        uint8_t c = b[i++];
        out[n++] = k == 0 ? '?' : (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    if (i < len) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}
