/* test_log_format.c -- --log-format's renderings (log_format.c): a
 * message's fields, quoted values and their escapes, words into msg, keys
 * kept unique, JSON that jansson reads back whatever the bytes, logfmt
 * quoting, lines too long, the flag's values. */
#include <jansson.h>
#include <string.h>

#include "log_format.h"
#include "unit.h"

#define TS "2026-01-02T03:04:05.678Z"

static char line[LOG_FORMAT_LINE_MAX];

/* msg rendered as JSON and read back (NULL, with a failed assert, when
 * the line is not one JSON object). The caller decrefs it. */
static json_t *as_json(const char *msg, size_t len)
{
    size_t n = log_format_render(LOG_FORMAT_JSON, TS, "info", "gateway", msg, len, line,
                                 sizeof(line));
    CU_ASSERT_EQUAL(n, strlen(line));
    CU_ASSERT_PTR_NULL(memchr(line, '\n', n));
    json_error_t e;
    json_t *o = json_loads(line, 0, &e);
    CU_ASSERT_TRUE(json_is_object(o));
    return o;
}

static const char *field(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "(absent)";
}

static const char *as_logfmt(const char *msg)
{
    log_format_render(LOG_FORMAT_LOGFMT, TS, "warn", "executor", msg, strlen(msg), line,
                      sizeof(line));
    return line;
}

static void test_fields(void)
{
    const char *m = "event=listening id=gw-1 max_payload=1048576";
    json_t *o = as_json(m, strlen(m));
    CU_ASSERT_STRING_EQUAL(field(o, "ts"), TS);
    CU_ASSERT_STRING_EQUAL(field(o, "level"), "info");
    CU_ASSERT_STRING_EQUAL(field(o, "component"), "gateway");
    CU_ASSERT_STRING_EQUAL(field(o, "event"), "listening");
    CU_ASSERT_STRING_EQUAL(field(o, "id"), "gw-1");
    CU_ASSERT_STRING_EQUAL(field(o, "max_payload"), "1048576"); /* numbers stay strings */
    CU_ASSERT_PTR_NULL(json_object_get(o, "msg"));
    CU_ASSERT_EQUAL(json_object_size(o), 6);
    json_decref(o);
    /* In the message's order, after the line's own keys. */
    CU_ASSERT_STRING_EQUAL(line, "{\"ts\":\"" TS "\",\"level\":\"info\",\"component\":\"gateway\","
                                 "\"event\":\"listening\",\"id\":\"gw-1\","
                                 "\"max_payload\":\"1048576\"}");
}

static void test_quoted(void)
{
    /* text_quote's \xNN, the usual escapes, an unknown one kept, spaces
     * and a stray quote inside (a quote ends where a space follows it),
     * an empty value. */
    const char *m = "a=\"two words\" b=\"q\\x22x\\x5c\" c=\"\\\"\\\\\\n\\t\\q\" "
                    "d=\"say \"hi\" twice\" e=\"\" f=";
    json_t *o = as_json(m, strlen(m));
    CU_ASSERT_STRING_EQUAL(field(o, "a"), "two words");
    CU_ASSERT_STRING_EQUAL(field(o, "b"), "q\"x\\");
    CU_ASSERT_STRING_EQUAL(field(o, "c"), "\"\\\n\t\\q");
    CU_ASSERT_STRING_EQUAL(field(o, "d"), "say \"hi");
    CU_ASSERT_STRING_EQUAL(field(o, "msg"), "twice\"");
    CU_ASSERT_STRING_EQUAL(field(o, "e"), "");
    CU_ASSERT_STRING_EQUAL(field(o, "f"), "");
    json_decref(o);

    /* A quote never closed (a line cut at 2 KiB) runs to the end. */
    o = as_json("event=x why=\"cut here", 21);
    CU_ASSERT_STRING_EQUAL(field(o, "why"), "cut here");
    json_decref(o);
}

static void test_words_and_keys(void)
{
    /* Words without '=' go into msg, right after component; a msg= field
     * then, a key given twice, and the line's own keys get _2, _3. */
    const char *m = "listening now event=a level=debug event=b msg=m1 =x \"k\"=v ts=t";
    json_t *o = as_json(m, strlen(m));
    CU_ASSERT_STRING_EQUAL(field(o, "msg"), "listening now =x \"k\"=v");
    CU_ASSERT_STRING_EQUAL(field(o, "event"), "a");
    CU_ASSERT_STRING_EQUAL(field(o, "event_2"), "b");
    CU_ASSERT_STRING_EQUAL(field(o, "level"), "info");
    CU_ASSERT_STRING_EQUAL(field(o, "level_2"), "debug");
    CU_ASSERT_STRING_EQUAL(field(o, "msg_2"), "m1");
    CU_ASSERT_STRING_EQUAL(field(o, "ts"), TS);
    CU_ASSERT_STRING_EQUAL(field(o, "ts_2"), "t");
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "\"component\":\"gateway\",\"msg\":"));
    json_decref(o);

    /* Without words, msg= is msg. */
    o = as_json("event=x msg=hello", 17);
    CU_ASSERT_STRING_EQUAL(field(o, "msg"), "hello");
    json_decref(o);
    o = as_json("", 0);
    CU_ASSERT_EQUAL(json_object_size(o), 3);
    json_decref(o);
}

static void test_bytes(void)
{
    /* Control characters, a NUL, bytes that are not UTF-8, an overlong
     * form and a surrogate: valid JSON; valid UTF-8 kept. */
    const char m[] = "a=\x01\x1f b=\"\\x00z\" c=\xff\xfe d=\xc0\xaf e=\xed\xa0\x80 f=\xc3\xa9 "
                     "g=\xf0\x9f\x98\x80 h=\xe2\x82";
    json_t *o = as_json(m, sizeof(m) - 1);
    CU_ASSERT_STRING_EQUAL(field(o, "a"), "\x01\x1f");
    CU_ASSERT_STRING_EQUAL(field(o, "b"), "\xef\xbf\xbdz"); /* a NUL */
    CU_ASSERT_STRING_EQUAL(field(o, "c"), "\xef\xbf\xbd\xef\xbf\xbd");
    CU_ASSERT_STRING_EQUAL(field(o, "d"), "\xef\xbf\xbd\xef\xbf\xbd");
    CU_ASSERT_STRING_EQUAL(field(o, "e"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    CU_ASSERT_STRING_EQUAL(field(o, "f"), "\xc3\xa9");
    CU_ASSERT_STRING_EQUAL(field(o, "g"), "\xf0\x9f\x98\x80");
    CU_ASSERT_STRING_EQUAL(field(o, "h"), "\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(o);
    /* A raw newline never ends the line. */
    o = as_json("a=x\ny z\r\n", 9);
    CU_ASSERT_STRING_EQUAL(field(o, "a"), "x\ny");
    json_decref(o);
}

static void test_long_lines(void)
{
    /* 2 KiB of control characters escape to 12 KiB: cut to fit, marked. */
    static char m[LOG_FORMAT_MSG_MAX + 100];
    memset(m, 0x01, sizeof(m));
    memcpy(m, "a=", 2);
    json_t *o = as_json(m, sizeof(m));
    CU_ASSERT_STRING_EQUAL(field(o, "truncated"), "true");
    CU_ASSERT_STRING_EQUAL(field(o, "level"), "info");
    CU_ASSERT_TRUE(json_string_length(json_object_get(o, "msg")) > 100);
    CU_ASSERT_TRUE(strlen(line) < LOG_FORMAT_LINE_MAX);
    json_decref(o);
    /* 300 fields: the ones past 256 stay, as words, in msg. */
    static char many[300 * 4 + 1];
    for (int i = 0; i < 300; i++)
        memcpy(many + 4 * i, "k=1 ", 4);
    o = as_json(many, 300 * 4);
    CU_ASSERT_STRING_EQUAL(field(o, "k_256"), "1");
    CU_ASSERT_PTR_NULL(json_object_get(o, "k_257"));
    CU_ASSERT_EQUAL(json_string_length(json_object_get(o, "msg")), 44 * 4 - 1);
    json_decref(o);
    /* A tiny buffer still gets a whole line. */
    char small[256];
    size_t w = log_format_render(LOG_FORMAT_JSON, TS, "info", "gateway", m, sizeof(m), small,
                                 sizeof(small));
    CU_ASSERT_EQUAL(w, strlen(small));
    json_t *s = json_loads(small, 0, NULL);
    CU_ASSERT_TRUE(json_is_object(s));
    json_decref(s);
}

static void test_logfmt(void)
{
    CU_ASSERT_STRING_EQUAL(as_logfmt("event=x id=gw-1 n=3"),
                           "ts=" TS " level=warn component=executor event=x id=gw-1 n=3");
    /* Spaces, quotes, '=', '\', control and non-ASCII bytes, empty: quoted
     * as JSON strings, which logfmt parsers read. */
    CU_ASSERT_STRING_EQUAL(as_logfmt("a=\"two words\" b=x=y c=\"q\\x22\" d=\"\\x5c\" e= f=\x01"),
                           "ts=" TS " level=warn component=executor a=\"two words\" b=\"x=y\" "
                           "c=\"q\\\"\" d=\"\\\\\" e=\"\" f=\"\\u0001\"");
    CU_ASSERT_STRING_EQUAL(as_logfmt("hello there event=x"),
                           "ts=" TS " level=warn component=executor msg=\"hello there\" event=x");
    CU_ASSERT_STRING_EQUAL(as_logfmt("v=\xc3\xa9\xff"),
                           "ts=" TS " level=warn component=executor v=\"\xc3\xa9\xef\xbf\xbd\"");
}

static void test_parse_flag(void)
{
    CU_ASSERT_EQUAL(log_format_parse("text"), LOG_FORMAT_TEXT);
    CU_ASSERT_EQUAL(log_format_parse("logfmt"), LOG_FORMAT_LOGFMT);
    CU_ASSERT_EQUAL(log_format_parse("JSON"), LOG_FORMAT_JSON);
    CU_ASSERT_EQUAL(log_format_parse("yaml"), -1);
    CU_ASSERT_EQUAL(log_format_parse(""), -1);
}

UNIT_SUITE(log_format, {"fields", test_fields}, {"quoted values", test_quoted},
           {"words into msg, keys unique", test_words_and_keys},
           {"any bytes give valid JSON", test_bytes}, {"long lines", test_long_lines},
           {"logfmt quoting", test_logfmt}, {"the flag's values", test_parse_flag})
