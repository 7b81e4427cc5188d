/* strbuf.h -- a growing text buffer for documents built in one go (the
 * gateway's /metrics body): appends never fail at the call site; running
 * out of memory (or past the buffer's max) sets a flag the builder checks
 * once at the end. Not thread-safe; one owner. */
#ifndef OFFLOAD_STRBUF_H
#define OFFLOAD_STRBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct strbuf {
    char *p;    /* malloc'd, always NUL-terminated once anything was added */
    size_t len; /* bytes of text, without the NUL */
    size_t cap;
    size_t max; /* the most bytes it may hold; 0: no bound */
    int failed; /* an append ran out of memory or past max: the text is cut */
} strbuf;

/* An empty buffer of at most max bytes (0: no bound); nothing allocated
 * until the first append. */
void strbuf_init(strbuf *b, size_t max);

/* Frees the text; the buffer is empty again (and may be reused). */
void strbuf_free(strbuf *b);

/* Takes the text (malloc'd, the caller frees it) and empties the buffer;
 * *len (if not NULL) is its length. NULL when the buffer failed or holds
 * nothing. */
char *strbuf_take(strbuf *b, size_t *len);

/* Makes room for n more bytes; returns 0, or -1 (and sets failed). */
int strbuf_reserve(strbuf *b, size_t n);

void strbuf_add(strbuf *b, const void *p, size_t n);
void strbuf_adds(strbuf *b, const char *s);
void strbuf_addc(strbuf *b, char c);

/* The decimal digits of v (no snprintf: the hot part of a /metrics body). */
void strbuf_u64(strbuf *b, uint64_t v);

/* printf-style; one vsnprintf, a second one if the text did not fit. */
void strbuf_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
