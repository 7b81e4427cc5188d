/* log_format.h -- the structured renderings of a log line (--log-format):
 * the message, "key=value ..." as every log call site writes it, parsed
 * into fields and written as logfmt or as one JSON object.
 *
 * The message's grammar, read leniently (any bytes give a line):
 *   - fields are separated by spaces; a field is KEY=VALUE where KEY is
 *     [A-Za-z0-9_.-]+;
 *   - VALUE is bare (up to the next space) or quoted: "..." up to a '"'
 *     followed by a space or the end (so a stray '"' inside stays in),
 *     with \xNN (text_quote's escape), \", \\, \n, \r and \t decoded; an
 *     unknown escape is kept as it is; a quote never closed runs to the end;
 *   - anything else (a word without '=') goes, space-joined, into "msg".
 * Keys are unique in the output: ts, level, component and msg are the
 * line's own, so a message key of one of those names, or a key given
 * twice, becomes KEY_2, KEY_3, ... (msg, when there are words, comes
 * right after component, so a msg= field then becomes msg_2). Fields past
 * 256 stay in the message as words.
 *
 * Output: one line, no newline, always within outlen:
 *   logfmt  ts=... level=info component=gateway msg="..." key=value ...
 *           a value is bare when it is printable ASCII without space, '"',
 *           '=' or '\', else quoted as a JSON string (what logfmt parsers
 *           read: \" \\ \n \uXXXX);
 *   json    {"ts":...,"level":"info","component":"gateway","msg":...,"key":"value",...}
 *           every value a string (numbers too: a key keeps one type);
 *           control characters escaped, NULs and bytes that are not UTF-8
 *           replaced by U+FFFD.
 * A line that would not fit keeps ts, level and component and puts the
 * message, cut, in msg, with "truncated":"true" (logfmt truncated=true).
 * Encoding is jansson's. Thread safe: no state (about 21 KiB of stack). */
#ifndef OFFLOAD_LOG_FORMAT_H
#define OFFLOAD_LOG_FORMAT_H

#include <stddef.h>

typedef enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_LOGFMT, LOG_FORMAT_JSON } log_format;

#define LOG_FORMAT_MSG_MAX 2048 /* message bytes read; the rest is cut */
#define LOG_FORMAT_LINE_MAX 4096 /* a rendered line fits in this (with its newline) */

/* "text", "logfmt" or "json" (any case); returns the format or -1. */
int log_format_parse(const char *name);

/* Renders the event (ts and component: printable ASCII; level: "info",
 * ...; msg: len bytes, any) in format f (LOGFMT or JSON) into out, at
 * least 256 bytes: always terminated, without a newline. Returns the
 * line's length. */
size_t log_format_render(log_format f, const char *ts, const char *level, const char *component,
                         const char *msg, size_t len, char *out, size_t outlen);

#endif
