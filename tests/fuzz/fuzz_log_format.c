/* fuzz_log_format.c -- libFuzzer harness for common/log_format: the input
 * (any bytes) as a log message, rendered as JSON and as logfmt.
 *
 * Checked: the JSON line is one object that jansson reads back, with the
 * line's own ts, level and component, every value a string, no newline;
 * so is a line rendered into a buffer of only 256 bytes; the logfmt line
 * has no control byte below 0x20 (no newline) and reads back as KEY=VALUE pairs
 * separated by one space, each VALUE bare (printable ASCII without space,
 * '"', '=' or '\') or a JSON string that jansson reads. */
#include <jansson.h>
#include <string.h>

#include "fuzz.h"
#include "log_format.h"

#define TS "2026-01-02T03:04:05.678Z"

static void check_json(const char *line, size_t n)
{
    CHECK(n == strlen(line));
    CHECK(!memchr(line, '\n', n));
    json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
    CHECK(json_is_object(o));
    CHECK(!strcmp(json_string_value(json_object_get(o, "ts")), TS));
    CHECK(!strcmp(json_string_value(json_object_get(o, "level")), "info"));
    CHECK(!strcmp(json_string_value(json_object_get(o, "component")), "gateway"));
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) CHECK(json_is_string(v));
    json_decref(o);
}

static int key_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static void check_logfmt(const char *line, size_t n)
{
    CHECK(n == strlen(line));
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)line[i] >= 0x20); /* DEL and UTF-8 may stand in quotes */
    CHECK(!strncmp(line, "ts=" TS " level=info component=gateway", 42));
    size_t i = 0;
    while (i < n) {
        size_t k = i;
        while (k < n && key_char((unsigned char)line[k]))
            k++;
        CHECK(k > i && k < n && line[k] == '=');
        i = k + 1;
        if (i < n && line[i] == '"') {
            size_t j = i + 1;
            while (j < n && line[j] != '"')
                j += line[j] == '\\' ? 2 : 1;
            CHECK(j < n);
            json_t *s = json_loadb(line + i, j + 1 - i, JSON_DECODE_ANY, NULL);
            CHECK(json_is_string(s));
            json_decref(s);
            i = j + 1;
        } else {
            size_t j = i;
            while (j < n && line[j] != ' ') {
                CHECK(line[j] != '"' && line[j] != '=' && line[j] != '\\' &&
                      (unsigned char)line[j] < 0x7f);
                j++;
            }
            CHECK(j > i);
            i = j;
        }
        if (i < n) {
            CHECK(line[i] == ' ' && i + 1 < n);
            i++;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char line[LOG_FORMAT_LINE_MAX], small[256];
    const char *msg = (const char *)data;
    size_t n = log_format_render(LOG_FORMAT_JSON, TS, "info", "gateway", msg, size, line,
                                 sizeof(line));
    check_json(line, n);
    n = log_format_render(LOG_FORMAT_JSON, TS, "info", "gateway", msg, size, small, sizeof(small));
    check_json(small, n);
    n = log_format_render(LOG_FORMAT_LOGFMT, TS, "info", "gateway", msg, size, line,
                          sizeof(line));
    check_logfmt(line, n);
    return 0;
}
