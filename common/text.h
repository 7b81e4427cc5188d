/* text.h -- untrusted bytes made safe to put in a log line or an error
 * message. */
#ifndef OFFLOAD_TEXT_H
#define OFFLOAD_TEXT_H

#include <stddef.h>

/* Writes at most max bytes of p (len bytes) into out as printable ASCII:
 * quotes, backslashes and bytes outside 0x20..0x7e as "\xNN", and "..."
 * when p was cut. out (outlen bytes, at least 8) is always terminated;
 * 4 * max + 4 bytes hold any input. */
void text_quote(const void *p, size_t len, size_t max, char *out, size_t outlen);

/* Copies p (len bytes) into out as one line of valid UTF-8 for a message
 * a person reads: valid UTF-8 kept, control characters as spaces, bytes
 * that are not UTF-8 as '?', "..." when cut. out (outlen >= 8) is always
 * terminated. */
void text_clean(const void *p, size_t len, char *out, size_t outlen);

#endif
