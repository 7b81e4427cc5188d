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
