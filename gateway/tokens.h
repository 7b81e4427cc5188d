/* tokens.h -- the HTTP bearer tokens of --http-token-file: who may call
 * the gateway over HTTP, and on which queues.
 *
 * The file holds one token per line, optionally followed by the queues it
 * may use, separated by spaces, tabs or commas; a token with no queue may
 * use every queue. '#' starts a comment; blank lines are skipped:
 *
 *   # the web app: io and cpu only
 *   3f9c0b1e5a7d4c2e9b8a6f1d0c3e5b7a  io, cpu
 *   # the operators' token: every queue
 *   0a1b2c3d4e5f60718293a4b5c6d7e8f9
 *
 * A token is 16..256 characters of RFC 6750's token68 alphabet (letters,
 * digits, - . _ ~ + /, then optional trailing =). Parsing is strict: the
 * first bad line makes the whole file refused, and the error names it.
 *
 * Tokens are kept only as SHA-256 digests and looked up by the digest of
 * the presented token, so the time a lookup takes says nothing an attacker
 * can use about a valid token. */
#ifndef OFFLOAD_TOKENS_H
#define OFFLOAD_TOKENS_H

#include <stddef.h>

#define TOKENS_LEN_MIN 16
#define TOKENS_LEN_MAX 256
#define TOKENS_COUNT_MAX 10000
#define TOKENS_QUEUES_MAX 256             /* queues named on one line */
#define TOKENS_FILE_MAX (4 * 1024 * 1024) /* bytes */

typedef struct token_table token_table;
typedef struct token_entry token_entry;

/* Parses a token file's text (len bytes; need not end in NUL). Returns a
 * table (the caller frees it with tokens_free), or NULL with err naming the
 * line and what is wrong. An empty file (no token) is an error: it would
 * lock every caller out. */
token_table *tokens_parse(const char *text, size_t len, char *err, size_t errlen);

/* Reads and parses the file at path. Returns a table or NULL with err set
 * (prefixed with the path). *loose is set when group or others may read
 * the file (the caller warns). */
token_table *tokens_load(const char *path, int *loose, char *err, size_t errlen);

/* The entry of token (len bytes), or NULL when it is not in t. */
const token_entry *tokens_find(const token_table *t, const char *token, size_t len);

/* 1 when e may use queue, else 0. */
int tokens_allow(const token_entry *e, const char *queue);

/* The entry's line in its file (for logs; never the token itself). */
int tokens_line(const token_entry *e);

/* The number of tokens in t. */
size_t tokens_count(const token_table *t);

/* Frees *t and sets it to NULL; safe on NULL. */
void tokens_free(token_table **t);

#endif
