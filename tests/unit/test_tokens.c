/* test_tokens.c -- --http-token-file parsing and lookup. */
#include <string.h>

#include "tokens.h"
#include "unit.h"

#define TA "0123456789abcdef0123456789abcdef"
#define TB "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA=="
#define TC "a-b.c_d~e+f/g0123456"

static token_table *parse(const char *text, char *err, size_t errlen)
{
    return tokens_parse(text, strlen(text), err, errlen);
}

static void test_parse_and_find(void)
{
    char err[256];
    const char *text = "# a comment\n"
                       "\n" TA "\n"
                       "  " TB "  io, cpu\t# the app\r\n" TC ",other";
    token_table *t = parse(text, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(tokens_count(t), 3);
    const token_entry *a = tokens_find(t, TA, strlen(TA));
    const token_entry *b = tokens_find(t, TB, strlen(TB));
    const token_entry *c = tokens_find(t, TC, strlen(TC));
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(tokens_line(a), 3);
    CU_ASSERT_EQUAL(tokens_line(b), 4);
    CU_ASSERT_TRUE(tokens_allow(a, "anything"));
    CU_ASSERT_TRUE(tokens_allow(b, "io"));
    CU_ASSERT_TRUE(tokens_allow(b, "cpu"));
    CU_ASSERT_FALSE(tokens_allow(b, "other"));
    CU_ASSERT_FALSE(tokens_allow(b, "i"));
    CU_ASSERT_TRUE(tokens_allow(c, "other"));
    CU_ASSERT_FALSE(tokens_allow(c, "io"));
    /* Not a prefix, not a longer one, not another case. */
    CU_ASSERT_PTR_NULL(tokens_find(t, TA, strlen(TA) - 1));
    CU_ASSERT_PTR_NULL(tokens_find(t, TA "0", strlen(TA) + 1));
    CU_ASSERT_PTR_NULL(tokens_find(t, "0123456789ABCDEF0123456789abcdef", 32));
    CU_ASSERT_PTR_NULL(tokens_find(t, "", 0));
    tokens_free(&t);
    CU_ASSERT_PTR_NULL(t);
    tokens_free(&t);
}

static void test_parse_rejects(void)
{
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"", "no token"},
        {"# nothing\n\n", "no token"},
        {TA "\nshort\n", "line 2: the token is too short"},
        {TA "\n" TA "\n", "line 2: the same token as line 1"},
        {TA " io io\n", "line 1: queue 'io' is named twice"},
        {TA " io/x\n", "line 1: 'io/x' is not a queue name"},
        {"0123456789abcdef01234567\"9abcdef\n", "line 1: the token holds a character"},
        {"=0123456789abcdef0123456789abcdef\n", "line 1: the token must start"},
        {"0123456789abcdef=0123456789abcdef\n", "line 1: the token holds"},
        {TA "\n" TB "\x01\n", "line 2: the token holds"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        token_table *t = parse(bad[i].text, err, sizeof(err));
        CU_ASSERT_PTR_NULL(t);
        if (!strstr(err, bad[i].want))
            CU_FAIL(bad[i].want);
        tokens_free(&t);
    }
    /* A NUL byte inside a line. */
    char err[256] = "";
    static const char nul[] = TA "\n" TA "\0x\n";
    CU_ASSERT_PTR_NULL(tokens_parse(nul, sizeof(nul) - 1, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2: a NUL byte"));
    /* 257 characters: too long; 256: fine. */
    char line[300];
    memset(line, 'a', 257);
    line[257] = '\0';
    CU_ASSERT_PTR_NULL(parse(line, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "too long"));
    line[256] = '\0';
    token_table *t = parse(line, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL(t);
    tokens_free(&t);
}

UNIT_SUITE(tokens, {"parse and find", test_parse_and_find}, {"parse rejects", test_parse_rejects})
