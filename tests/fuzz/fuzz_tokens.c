/* fuzz_tokens.c -- libFuzzer harness for gateway/tokens: any bytes as an
 * --http-token-file, parsed by tokens_parse (the file-based tokens_load
 * reads the same bytes from a memfd and must agree), then tokens looked
 * up in the table.
 *
 * Checked, when the file parses: it holds as many tokens as it has lines
 * with a first field (the fields cut here as tokens.h says, apart from the
 * parser); each of those tokens is found, at its line, and 16..256
 * characters long; a token with no queue may use any queue, one with queues
 * exactly the queues on its line; a token one byte shorter, one byte
 * longer or with a byte changed is found only if the file holds it too.
 * When it does not parse: the error is set and names a line or says there
 * is no token. Always: the input itself as a bearer token is found only
 * if it is one of the file's tokens; tokens_find on a NULL table is NULL. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "codec.h"
#include "tokens.h"

/* The model: what tokens.h says a line is. Only trusted on a file that
 * parsed (every field is then a token or a queue name, which hold no '\r'
 * and no byte of " \t,#"). */
typedef struct model_line {
    const char *p, *end; /* the line, its comment cut */
    int line;
} model_line;

typedef struct model_fields {
    const char *f[TOKENS_QUEUES_MAX + 2]; /* field starts; f[0] the token */
    size_t len[TOKENS_QUEUES_MAX + 2];
    size_t nf;
} model_fields;

static int model_sep(char c)
{
    return c == ' ' || c == '\t' || c == ',' || c == '\r';
}

/* Cuts a line into fields; returns their number (at most max). */
static size_t model_cut(const model_line *l, model_fields *m, size_t max)
{
    const char *p = l->p, *end = l->end;
    m->nf = 0;
    while (p < end && m->nf < max) {
        while (p < end && model_sep(*p))
            p++;
        if (p == end)
            break;
        const char *f = p;
        while (p < end && !model_sep(*p))
            p++;
        m->f[m->nf] = f;
        m->len[m->nf++] = (size_t)(p - f);
    }
    return m->nf;
}

/* The lines with a field (at most size / 2 + 1 of them: a malloc'd array
 * in *out). Returns their number. */
static size_t model_lines(const char *text, size_t size, model_line **out)
{
    const char *p = text, *end = text + size;
    model_line *lines = malloc((size / 2 + 1) * sizeof(*lines));
    model_fields m;
    size_t n = 0;
    int line = 0;
    CHECK(lines != NULL);
    while (p < end) {
        line++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *stop = eol ? eol : end;
        const char *cut = memchr(p, '#', (size_t)(stop - p));
        model_line *l = &lines[n];
        l->p = p;
        l->end = cut ? cut : stop;
        l->line = line;
        if (model_cut(l, &m, 1))
            n++;
        p = eol ? eol + 1 : end;
    }
    *out = lines;
    return n;
}

/* 1 when the token (len bytes) is the first field of one of lines. */
static int model_has(const model_line *lines, size_t n, const char *tok, size_t len)
{
    model_fields m;
    for (size_t i = 0; i < n; i++)
        if (model_cut(&lines[i], &m, 1) && m.len[0] == len && !memcmp(m.f[0], tok, len))
            return 1;
    return 0;
}

/* tokens_find(tok) agrees with the model. */
static void check_lookup(const token_table *t, const model_line *lines, size_t n, const char *tok,
                         size_t len)
{
    const token_entry *e = tokens_find(t, tok, len);
    CHECK(!e == !model_has(lines, n, tok, len));
}

/* 1 when name (len bytes) is one of m's queues. */
static int model_listed(const model_fields *m, const char *name, size_t len)
{
    for (size_t r = 1; r < m->nf; r++)
        if (m->len[r] == len && !memcmp(m->f[r], name, len))
            return 1;
    return 0;
}

/* The queues of a token's line: tokens_allow gives exactly them (or every
 * queue when there are none), tried with its own names, a name one byte
 * shorter, and the names of the first lines of the file. */
static void check_queues(const token_entry *e, const model_fields *m, const model_line *lines,
                         size_t n)
{
    char name[CODEC_NAME_MAX + 1];
    size_t nq = m->nf - 1;
    static model_fields other;
    CHECK(nq <= TOKENS_QUEUES_MAX);
    for (size_t q = 1; q < m->nf; q++) {
        CHECK(m->len[q] >= 1 && m->len[q] <= CODEC_NAME_MAX);
        memcpy(name, m->f[q], m->len[q]);
        name[m->len[q]] = '\0';
        CHECK(codec_name_valid(name));
        CHECK(tokens_allow(e, name));
        if (m->len[q] > 1) {
            name[m->len[q] - 1] = '\0';
            CHECK(tokens_allow(e, name) == model_listed(m, name, m->len[q] - 1));
        }
    }
    for (size_t j = 0; j < n && j < 8; j++) {
        model_cut(&lines[j], &other, TOKENS_QUEUES_MAX + 2);
        for (size_t q = 1; q < other.nf; q++) {
            memcpy(name, other.f[q], other.len[q]);
            name[other.len[q]] = '\0';
            CHECK(tokens_allow(e, name) == (nq == 0 || model_listed(m, name, other.len[q])));
        }
    }
    CHECK(tokens_allow(e, "") == (nq == 0));
    CHECK(tokens_allow(e, "no such queue") == (nq == 0));
}

/* The same bytes through tokens_load (a memfd under /proc/self/fd): the
 * same table size, or the same refusal. */
static void check_load(const uint8_t *data, size_t size, const token_table *parsed)
{
    char path[64], err[512];
    int loose = -1;
    int fd = fuzz_memfd(data, size, path, sizeof(path));
    if (fd < 0)
        return;
    err[0] = '\0';
    token_table *t = tokens_load(path, &loose, err, sizeof(err));
    close(fd);
    CHECK(loose == 0 || loose == 1);
    CHECK(tokens_count(t) == tokens_count(parsed));
    if (!t)
        CHECK(!strncmp(err, "'/proc/self/fd/", 15));
    tokens_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char err[512];
    err[0] = '\0';
    token_table *t = tokens_parse(text, size, err, sizeof(err));

    /* The input as a bearer token (the HTTP front passes the bytes after
     * "Bearer " as they are). */
    CHECK(tokens_find(NULL, text, size) == NULL);

    if (!t) {
        CHECK(err[0] != '\0');
        CHECK(!strncmp(err, "line ", 5) || !strncmp(err, "no token", 8) ||
              !strncmp(err, "out of memory", 13));
        CHECK(tokens_find(t, text, size) == NULL);
        check_load(data, size, t);
        return 0;
    }

    model_line *lines;
    size_t n = model_lines(text, size, &lines);
    CHECK(tokens_count(t) == n);
    CHECK(n > 0 && n <= TOKENS_COUNT_MAX);

    static model_fields m;
    for (size_t i = 0; i < n; i++) {
        /* A line with more fields than a token and its queues would not
         * have parsed. */
        CHECK(model_cut(&lines[i], &m, TOKENS_QUEUES_MAX + 2) <= TOKENS_QUEUES_MAX + 1);
        const char *tok = m.f[0];
        size_t len = m.len[0];
        CHECK(len >= TOKENS_LEN_MIN && len <= TOKENS_LEN_MAX);
        const token_entry *e = tokens_find(t, tok, len);
        CHECK(e != NULL);
        CHECK(tokens_line(e) == lines[i].line);
        check_queues(e, &m, lines, n);

        /* Near misses: shorter, longer, one byte changed. */
        char buf[TOKENS_LEN_MAX + 2];
        memcpy(buf, tok, len);
        check_lookup(t, lines, n, buf, len - 1);
        buf[len] = 'A';
        check_lookup(t, lines, n, buf, len + 1);
        buf[len] = '=';
        check_lookup(t, lines, n, buf, len + 1);
        buf[len - 1] ^= 0x20;
        check_lookup(t, lines, n, buf, len);
        buf[len - 1] ^= 0x20;
        buf[0] = buf[0] == 'x' ? 'y' : 'x';
        check_lookup(t, lines, n, buf, len);
    }
    check_lookup(t, lines, n, text, size);
    check_load(data, size, t);
    free(lines);
    tokens_free(&t);
    CHECK(t == NULL);
    return 0;
}
