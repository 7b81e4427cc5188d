/* top_view.h -- offload top's model and its rendering, with no terminal
 * and no socket: a snapshot of the ListQueues document (the JSON of GET
 * /v1/queues) goes in, rates come from successive snapshots, and the screen
 * comes out as lines of text, each with a style. The terminal front
 * (top.c) and the unit tests (tests/unit/test_top.c) drive it. A model owns
 * every string it parsed; one thread uses it. */
#ifndef OFFLOAD_TOP_VIEW_H
#define OFFLOAD_TOP_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The queue table's columns, in screen order (and the order s cycles). */
enum top_qcol {
    TOP_Q_NAME,
    TOP_Q_KIND,
    TOP_Q_CAPACITY,
    TOP_Q_BUSY,
    TOP_Q_AVAILABLE,
    TOP_Q_WAITING,
    TOP_Q_EXECUTORS,
    TOP_Q_COMPLETED,
    TOP_Q_RATE,      /* jobs/s: completed, from the last two snapshots */
    TOP_Q_FAIL_RATE, /* failed/s, the same way */
    TOP_Q_WAIT_P50,  /* "wait_us" {"p50", "p99"}, when the gateway reports them */
    TOP_Q_WAIT_P99,
    TOP_Q_RUN_P50, /* "run_us" */
    TOP_Q_RUN_P99,
    TOP_Q_COLS
};

/* A value the gateway did not report (or a rate not known yet). */
#define TOP_ABSENT (-1.0)

typedef struct top_queue {
    char *name, *kind;       /* kind: NULL when the gateway has none (no executor) */
    double v[TOP_Q_COLS];    /* numeric columns; TOP_ABSENT when absent */
    double failed, timeouts; /* counters the table does not show, for the rates */
} top_queue;

/* One pool of an executor ("executors"[i]."pools"[j]). */
typedef struct top_pool {
    char *queue, *kind;
    double size, alive, busy, respawns, rss_bytes;
    double kills[4]; /* deadline, cancel, memory, recycle */
} top_pool;

typedef struct top_executor {
    char *id, *state, *queues; /* queues: the names joined by ',' */
    double seen_ms;            /* "last_seen_ms": how long ago it was heard */
    top_pool *pools;
    size_t npools;
} top_executor;

typedef struct top_model {
    top_queue *queues;
    size_t nqueues;
    top_executor *execs;
    size_t nexecs;
    int has_execs;  /* the last document had "executors" */
    uint64_t at_us; /* when the last snapshot was taken (a monotonic clock); 0: none */
    time_t at_wall; /* the same, wall clock */
    int sort;       /* enum top_qcol */
} top_model;

void top_model_init(top_model *m);
void top_model_close(top_model *m);

/* Replaces the snapshot with the document text[len] taken at now_us
 * (monotonic) / now_wall; rates come from the previous snapshot (a queue
 * new since, or whose counter went back, as after a gateway restart, has
 * none). Sorts by m->sort. Returns 0, or -1 with err set and the model
 * unchanged when the text is not a queue list. */
int top_model_update(top_model *m, const char *text, size_t len, uint64_t now_us, time_t now_wall,
                     char *err, size_t errlen);

/* Sorts the queues by m->sort: names and kinds ascending, numbers
 * descending, ties by name. */
void top_model_sort(top_model *m);

/* The column after (dir 1) or before (dir -1) col, cycling. */
int top_sort_step(int col, int dir);

/* A column's name for --sort and the status line ("busy", "jobs/s"), and
 * the column of a name (-1 when none). */
const char *top_qcol_name(int col);
int top_qcol_find(const char *name);

/* What the header says besides the model. */
typedef struct top_status {
    const char *endpoint;
    time_t now; /* the clock shown */
    int interval_ms;
    int paused;
    int interactive;      /* show the keys line */
    time_t down_since;    /* 0: the gateway answers; else since when it does not */
    const char *down_why; /* why the last fetch failed */
} top_status;

enum top_style {
    TOP_STYLE_TITLE, /* the header line */
    TOP_STYLE_INFO,  /* the keys line */
    TOP_STYLE_ALERT, /* gateway not answering, paused */
    TOP_STYLE_HEAD,  /* a table's column names (padded to the width) */
    TOP_STYLE_ROW,
    TOP_STYLE_NOTE, /* blank lines, "... more" */
};

/* Called once per line, in order; line is the renderer's until return. */
typedef void (*top_emit_fn)(void *arg, int style, const char *line);

/* The longest line top_render makes. */
#define TOP_LINE_MAX 1024

/* Renders the screen: the header, the queue table, the executors table.
 * width: columns (0: as wide as the widest row, up to TOP_LINE_MAX; when
 * narrower, the least needed columns are left out, then lines are cut);
 * height: lines (0: every row; else at most height lines, the tables cut
 * with a "... more" line). */
void top_render(const top_model *m, const top_status *st, int width, int height, top_emit_fn emit,
                void *arg);

/* Formats (for the tables, exposed for the tests): microseconds as "850us",
 * "1.2ms", "45ms", "1.50s", "12s"; a rate as "0.0", "12.5", "1234"; bytes as
 * "512K", "12.3M"; TOP_ABSENT as "-". Each returns buf. */
char *top_fmt_us(double us, char *buf, size_t len);
char *top_fmt_rate(double r, char *buf, size_t len);
char *top_fmt_bytes(double b, char *buf, size_t len);

#endif
