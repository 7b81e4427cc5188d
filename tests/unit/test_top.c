/* test_top.c -- offload top's model and layout (client/cli/top_view.c):
 * the ListQueues document with and without the optional fields, rates
 * between snapshots, sorting, columns left out on a narrow screen, the
 * height limit, bad documents and the formats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top_view.h"
#include "unit.h"

#define SEC 1000000ull

/* The rendered screen: its lines and their styles. */
typedef struct screen {
    char lines[64][TOP_LINE_MAX + 1];
    int styles[64];
    int n;
} screen;

static void grab(void *arg, int style, const char *line)
{
    screen *s = arg;
    if (s->n < 64) {
        snprintf(s->lines[s->n], sizeof(s->lines[0]), "%s", line);
        s->styles[s->n++] = style;
    }
}

static void render(const top_model *m, int width, int height, screen *s)
{
    top_status st = {.endpoint = "tcp://gw:5555", .now = 1, .interval_ms = 1000, .interactive = 1};
    memset(s, 0, sizeof(*s));
    top_render(m, &st, width, height, grab, s);
}

/* The line (from its first word) whose first word is word, after the line starting with head
 * (the table's head), or NULL. */
static const char *row(const screen *s, const char *head, const char *word)
{
    int in = 0;
    size_t n = strlen(word);
    for (int i = 0; i < s->n; i++) {
        if (!strncmp(s->lines[i], head, strlen(head)))
            in = 1;
        else if (in && !s->lines[i][0])
            in = 0;
        else if (in) {
            const char *l = s->lines[i] + strspn(s->lines[i], " ");
            if (!strncmp(l, word, n) && l[n] == ' ')
                return l;
        }
    }
    return NULL;
}

/* Field k (from 0) of a line, split on spaces, into buf. */
static const char *field(const char *line, int k, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; line && *line; i++) {
        while (*line == ' ')
            line++;
        size_t n = strcspn(line, " ");
        if (i == k) {
            snprintf(buf, len, "%.*s", (int)n, line);
            break;
        }
        line += n;
    }
    return buf;
}

static int update(top_model *m, const char *doc, uint64_t at)
{
    char err[128];
    return top_model_update(m, doc, strlen(doc), at, 1000, err, sizeof(err));
}

static const char *plain_doc = "{\"queues\":[{\"name\":\"io\",\"kind\":\"threads\",\"capacity\":4,"
                               "\"busy\":1,\"available\":3,\"waiting\":2,\"executors\":1,"
                               "\"completed\":100,\"failed\":1,\"timeouts\":0},"
                               "{\"name\":\"cpu\",\"kind\":null,\"capacity\":0,\"busy\":0,"
                               "\"available\":0,\"waiting\":0,\"executors\":0,\"completed\":0,"
                               "\"failed\":0}]}";

static void test_existing_fields(void)
{
    top_model m;
    top_model_init(&m);
    CU_ASSERT_EQUAL_FATAL(update(&m, plain_doc, 5 * SEC), 0);
    CU_ASSERT_EQUAL(m.nqueues, 2);
    CU_ASSERT_FALSE(m.has_execs);
    CU_ASSERT_STRING_EQUAL(m.queues[0].name, "cpu"); /* sorted by name */
    CU_ASSERT_PTR_NULL(m.queues[0].kind);
    CU_ASSERT_EQUAL(m.queues[1].v[TOP_Q_WAITING], 2);
    CU_ASSERT_EQUAL(m.queues[1].v[TOP_Q_RATE], TOP_ABSENT); /* one snapshot: no rate */
    CU_ASSERT_EQUAL(m.queues[1].v[TOP_Q_WAIT_P99], TOP_ABSENT);
    screen s;
    render(&m, 160, 0, &s);
    char b[64];
    const char *io = row(&s, "QUEUE", "io"), *cpu = row(&s, "QUEUE", "cpu");
    CU_ASSERT_PTR_NOT_NULL_FATAL(io);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cpu);
    CU_ASSERT_STRING_EQUAL(field(io, 1, b, sizeof(b)), "threads");
    CU_ASSERT_STRING_EQUAL(field(io, 3, b, sizeof(b)), "1");   /* busy */
    CU_ASSERT_STRING_EQUAL(field(io, 7, b, sizeof(b)), "100"); /* completed */
    CU_ASSERT_STRING_EQUAL(field(io, 8, b, sizeof(b)), "-");   /* jobs/s */
    CU_ASSERT_STRING_EQUAL(field(io, 13, b, sizeof(b)), "-");  /* run p99 */
    CU_ASSERT_STRING_EQUAL(field(cpu, 1, b, sizeof(b)), "-");  /* no kind */
    CU_ASSERT_STRING_EQUAL(field(s.lines[0], 0, b, sizeof(b)), "offload");
    CU_ASSERT_PTR_NOT_NULL(strstr(s.lines[0], "tcp://gw:5555"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.lines[0], "busy 1/4"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.lines[0], "waiting 2"));
    CU_ASSERT_PTR_NULL(strstr(s.lines[0], "executors")); /* not reported */
    int note = 0;
    for (int i = 0; i < s.n; i++)
        note |= strstr(s.lines[i], "does not list its executors") != NULL;
    CU_ASSERT_TRUE(note);
    top_model_close(&m);
}

static void test_rates(void)
{
    top_model m;
    top_model_init(&m);
    CU_ASSERT_EQUAL_FATAL(
        update(&m, "{\"queues\":[{\"name\":\"a\",\"completed\":100,\"failed\":1}]}", 10 * SEC), 0);
    CU_ASSERT_EQUAL_FATAL(update(&m,
                                 "{\"queues\":[{\"name\":\"a\",\"completed\":200,\"failed\":3},"
                                 "{\"name\":\"b\",\"completed\":7}]}",
                                 10 * SEC + SEC / 2),
                          0);
    CU_ASSERT_DOUBLE_EQUAL(m.queues[0].v[TOP_Q_RATE], 200, 1e-9); /* 100 in 0.5 s */
    CU_ASSERT_DOUBLE_EQUAL(m.queues[0].v[TOP_Q_FAIL_RATE], 4, 1e-9);
    CU_ASSERT_EQUAL(m.queues[1].v[TOP_Q_RATE], TOP_ABSENT); /* new since */
    screen s;
    render(&m, 0, 0, &s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.lines[0], "jobs/s 200.0"));
    /* A counter that goes back (a restarted gateway) has no rate. */
    CU_ASSERT_EQUAL_FATAL(update(&m, "{\"queues\":[{\"name\":\"a\",\"completed\":5}]}", 11 * SEC),
                          0);
    CU_ASSERT_EQUAL(m.queues[0].v[TOP_Q_RATE], TOP_ABSENT);
    top_model_close(&m);
}

static const char *full_doc =
    "{\"queues\":[{\"name\":\"cpu\",\"kind\":\"processes\",\"capacity\":2,\"busy\":2,"
    "\"completed\":9,\"wait_us\":{\"p50\":120,\"p90\":900,\"p99\":2500},"
    "\"run_us\":{\"p50\":15000,\"p90\":1,\"p99\":2500000}},"
    "{\"name\":\"io\",\"busy\":0,\"wait_us\":null,\"run_us\":null}],"
    "\"executors\":[{\"id\":\"exec-2\",\"queues\":[\"io\"],\"state\":\"draining\","
    "\"last_seen_ms\":150,\"pools\":[]},"
    "{\"id\":\"exec-1\",\"queues\":[\"cpu\",\"io\"],\"state\":\"ready\",\"last_seen_ms\":20,"
    "\"pools\":[{\"queue\":\"cpu\",\"kind\":\"processes\",\"size\":2,\"alive\":2,\"busy\":1,"
    "\"respawns\":3,\"kills\":{\"deadline\":1,\"cancel\":0,\"memory\":2,\"recycle\":5},"
    "\"rss_bytes\":12897484},{\"queue\":\"io\",\"kind\":\"threads\",\"size\":8,\"alive\":8,"
    "\"busy\":0,\"respawns\":0,\"kills\":{\"deadline\":0,\"cancel\":0,\"memory\":0,"
    "\"recycle\":0},\"rss_bytes\":0}]}]}";

static void test_optional_fields(void)
{
    top_model m;
    top_model_init(&m);
    CU_ASSERT_EQUAL_FATAL(update(&m, full_doc, SEC), 0);
    CU_ASSERT_TRUE(m.has_execs);
    CU_ASSERT_EQUAL_FATAL(m.nexecs, 2);
    CU_ASSERT_STRING_EQUAL(m.execs[0].id, "exec-1"); /* sorted by id */
    CU_ASSERT_STRING_EQUAL(m.execs[0].queues, "cpu,io");
    CU_ASSERT_EQUAL(m.execs[0].npools, 2);
    CU_ASSERT_EQUAL(m.execs[0].pools[0].kills[3], 5);
    CU_ASSERT_EQUAL(m.queues[0].v[TOP_Q_WAIT_P50], 120);
    CU_ASSERT_EQUAL(m.queues[0].v[TOP_Q_RUN_P99], 2500000);
    CU_ASSERT_EQUAL(m.queues[1].v[TOP_Q_WAIT_P50], TOP_ABSENT); /* null: no job yet */
    screen s;
    render(&m, 160, 0, &s);
    char b[64];
    const char *cpu = row(&s, "QUEUE", "cpu");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cpu);
    CU_ASSERT_STRING_EQUAL(field(cpu, 10, b, sizeof(b)), "120us");
    CU_ASSERT_STRING_EQUAL(field(cpu, 11, b, sizeof(b)), "2.5ms");
    CU_ASSERT_STRING_EQUAL(field(cpu, 12, b, sizeof(b)), "15ms");
    CU_ASSERT_STRING_EQUAL(field(cpu, 13, b, sizeof(b)), "2.50s");
    CU_ASSERT_PTR_NOT_NULL(strstr(s.lines[0], "executors 2"));
    const char *e1 = row(&s, "EXECUTOR", "exec-1"), *e2 = row(&s, "EXECUTOR", "exec-2");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e2);
    /* EXECUTOR STATE SEEN QUEUE KIND SIZE ALIVE BUSY RESPAWNS KILLS RSS */
    CU_ASSERT_STRING_EQUAL(field(e1, 1, b, sizeof(b)), "ready");
    CU_ASSERT_STRING_EQUAL(field(e1, 2, b, sizeof(b)), "20ms");
    CU_ASSERT_STRING_EQUAL(field(e1, 3, b, sizeof(b)), "cpu");
    CU_ASSERT_STRING_EQUAL(field(e1, 8, b, sizeof(b)), "3");
    CU_ASSERT_STRING_EQUAL(field(e1, 9, b, sizeof(b)), "1/0/2/5");
    CU_ASSERT_STRING_EQUAL(field(e1, 10, b, sizeof(b)), "12.3M");
    /* The second pool's row: no id again; its queue first. */
    const char *pool2 = row(&s, "EXECUTOR", "io");
    CU_ASSERT_PTR_NOT_NULL_FATAL(pool2);
    CU_ASSERT_STRING_EQUAL(field(pool2, 1, b, sizeof(b)), "threads");
    /* An executor with no pools yet: its queues, and "-". */
    CU_ASSERT_STRING_EQUAL(field(e2, 1, b, sizeof(b)), "draining");
    CU_ASSERT_STRING_EQUAL(field(e2, 3, b, sizeof(b)), "io");
    CU_ASSERT_STRING_EQUAL(field(e2, 4, b, sizeof(b)), "-");
    top_model_close(&m);
}

static void test_sort(void)
{
    top_model m;
    top_model_init(&m);
    m.sort = TOP_Q_BUSY;
    CU_ASSERT_EQUAL_FATAL(update(&m,
                                 "{\"queues\":[{\"name\":\"c\",\"busy\":1},{\"name\":\"a\","
                                 "\"busy\":1},{\"name\":\"b\",\"busy\":5},{\"name\":\"d\"}]}",
                                 SEC),
                          0);
    const char *want[] = {"b", "a", "c", "d"}; /* descending, ties by name, absent last */
    for (int i = 0; i < 4; i++)
        CU_ASSERT_STRING_EQUAL(m.queues[i].name, want[i]);
    screen s;
    render(&m, 160, 0, &s);
    int head = -1;
    for (int i = 0; i < s.n; i++)
        if (!strncmp(s.lines[i], "QUEUE", 5))
            head = i;
    CU_ASSERT_FATAL(head >= 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.lines[head], "BUSY*"));
    CU_ASSERT_PTR_NULL(strstr(s.lines[head], "QUEUE*"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.lines[1], "sort: busy"));
    m.sort = top_sort_step(m.sort, 1);
    CU_ASSERT_EQUAL(m.sort, TOP_Q_AVAILABLE);
    CU_ASSERT_EQUAL(top_sort_step(TOP_Q_RUN_P99, 1), TOP_Q_NAME);
    CU_ASSERT_EQUAL(top_sort_step(TOP_Q_NAME, -1), TOP_Q_RUN_P99);
    m.sort = TOP_Q_NAME;
    top_model_sort(&m);
    CU_ASSERT_STRING_EQUAL(m.queues[0].name, "a");
    CU_ASSERT_EQUAL(top_qcol_find("jobs/s"), TOP_Q_RATE);
    CU_ASSERT_EQUAL(top_qcol_find("BUSY"), TOP_Q_BUSY);
    CU_ASSERT_EQUAL(top_qcol_find("run99"), TOP_Q_RUN_P99);
    CU_ASSERT_EQUAL(top_qcol_find("nosuch"), -1);
    top_model_close(&m);
}

static void test_width_and_height(void)
{
    top_model m;
    top_model_init(&m);
    char doc[8192] = "{\"queues\":[";
    for (int i = 0; i < 30; i++)
        snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc),
                 "%s{\"name\":\"queue-%02d\",\"kind\":\"threads\",\"capacity\":4,\"busy\":%d}",
                 i ? "," : "", i, i % 4);
    strcat(doc, "],\"executors\":[]}");
    CU_ASSERT_EQUAL_FATAL(update(&m, doc, SEC), 0);
    screen s;
    render(&m, 160, 0, &s);
    CU_ASSERT_EQUAL(s.n, 2 + 1 + 1 + 30 + 1 + 1 + 1); /* header, tables, "no executor" */
    int head = 3;
    CU_ASSERT_PTR_NOT_NULL(strstr(s.lines[head], "RUN50"));
    CU_ASSERT_EQUAL(s.styles[head], TOP_STYLE_HEAD);
    CU_ASSERT_EQUAL((int)strlen(s.lines[head]), 160); /* the head fills the line */
    render(&m, 70, 12, &s);
    CU_ASSERT(s.n <= 12);
    CU_ASSERT_PTR_NULL(strstr(s.lines[head], "RUN50")); /* left out first */
    CU_ASSERT_PTR_NULL(strstr(s.lines[head], "AVAIL"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.lines[head], "QUEUE*"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.lines[head], "BUSY"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.lines[head], "JOBS/S"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s.lines[head], "WAITING"));
    int more = 0;
    for (int i = 0; i < s.n; i++) {
        CU_ASSERT((int)strlen(s.lines[i]) <= 70);
        more |= strstr(s.lines[i], "more queues") != NULL;
    }
    CU_ASSERT_TRUE(more);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.lines[0], "offload top")); /* whole parts only */
    CU_ASSERT_PTR_NULL(strstr(s.lines[0], "every 1000m"));
    /* Narrower than the columns that always stay: cut, never longer. */
    render(&m, 20, 5, &s);
    CU_ASSERT_EQUAL(s.n, 5);
    for (int i = 0; i < s.n; i++)
        CU_ASSERT((int)strlen(s.lines[i]) <= 20);
    top_model_close(&m);
}

static void test_bad_documents(void)
{
    top_model m;
    top_model_init(&m);
    CU_ASSERT_EQUAL_FATAL(update(&m, plain_doc, SEC), 0);
    char err[128] = "";
    CU_ASSERT_EQUAL(top_model_update(&m, "not json", 8, 2 * SEC, 0, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a queue list"));
    CU_ASSERT_EQUAL(update(&m, "{\"queues\":3}", 2 * SEC), -1);
    CU_ASSERT_EQUAL(update(&m, "[]", 2 * SEC), -1);
    CU_ASSERT_EQUAL(m.nqueues, 2); /* unchanged */
    CU_ASSERT_EQUAL(m.at_us, SEC);
    /* Wrong types are absent values, not crashes. */
    CU_ASSERT_EQUAL_FATAL(update(&m,
                                 "{\"queues\":[7,{\"name\":5,\"busy\":\"x\",\"wait_us\":[1]}],"
                                 "\"executors\":[{\"queues\":[1,\"io\"],\"pools\":[3,{}]}]}",
                                 3 * SEC),
                          0);
    CU_ASSERT_EQUAL(m.nqueues, 1);
    CU_ASSERT_STRING_EQUAL(m.queues[0].name, "?");
    CU_ASSERT_EQUAL(m.queues[0].v[TOP_Q_BUSY], TOP_ABSENT);
    CU_ASSERT_STRING_EQUAL(m.execs[0].queues, "io");
    CU_ASSERT_EQUAL(m.execs[0].npools, 1);
    screen s;
    render(&m, 0, 0, &s);
    CU_ASSERT(s.n > 4);
    top_model_close(&m);
}

static void test_formats(void)
{
    char b[32];
    CU_ASSERT_STRING_EQUAL(top_fmt_us(TOP_ABSENT, b, sizeof(b)), "-");
    CU_ASSERT_STRING_EQUAL(top_fmt_us(850, b, sizeof(b)), "850us");
    CU_ASSERT_STRING_EQUAL(top_fmt_us(1234, b, sizeof(b)), "1.2ms");
    CU_ASSERT_STRING_EQUAL(top_fmt_us(45000, b, sizeof(b)), "45ms");
    CU_ASSERT_STRING_EQUAL(top_fmt_us(1.5e6, b, sizeof(b)), "1.50s");
    CU_ASSERT_STRING_EQUAL(top_fmt_us(12e6, b, sizeof(b)), "12s");
    CU_ASSERT_STRING_EQUAL(top_fmt_rate(TOP_ABSENT, b, sizeof(b)), "-");
    CU_ASSERT_STRING_EQUAL(top_fmt_rate(12.54, b, sizeof(b)), "12.5");
    CU_ASSERT_STRING_EQUAL(top_fmt_rate(1234.4, b, sizeof(b)), "1234");
    CU_ASSERT_STRING_EQUAL(top_fmt_bytes(512, b, sizeof(b)), "512B");
    CU_ASSERT_STRING_EQUAL(top_fmt_bytes(512 * 1024, b, sizeof(b)), "512K");
    CU_ASSERT_STRING_EQUAL(top_fmt_bytes(12897484, b, sizeof(b)), "12.3M");
    CU_ASSERT_STRING_EQUAL(top_fmt_bytes(3.0 * 1024 * 1024 * 1024, b, sizeof(b)), "3.0G");
}

UNIT_SUITE(top, {"the existing fields, nothing optional", test_existing_fields},
           {"rates between snapshots", test_rates},
           {"wait/run percentiles and executors' pools", test_optional_fields},
           {"sorting and the sort mark", test_sort},
           {"columns left out when narrow, rows when short", test_width_and_height},
           {"bad documents", test_bad_documents}, {"formats", test_formats})
