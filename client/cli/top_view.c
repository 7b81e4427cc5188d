/* top_view.c -- offload top's model and rendering, see top_view.h: parses
 * the ListQueues document (jansson), keeps the rates between snapshots,
 * sorts, and lays the tables out for a width, leaving out the least needed
 * columns when it is narrow. */
#include "top_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

/* One cell's text, at most TOP_CELL - 1 characters (longer names are cut
 * with a '~'). */
#define TOP_CELL 64

typedef struct colspec {
    const char *label; /* the column's head (no spaces: a script splits on them) */
    const char *name;  /* its name for --sort */
    int left;          /* left-aligned (text) */
    int prio;          /* 0: always shown; the highest is left out first */
} colspec;

static const colspec qcols[TOP_Q_COLS] = {
    [TOP_Q_NAME] = {"QUEUE", "name", 1, 0},
    [TOP_Q_KIND] = {"KIND", "kind", 1, 5},
    [TOP_Q_CAPACITY] = {"CAP", "capacity", 0, 4},
    [TOP_Q_BUSY] = {"BUSY", "busy", 0, 0},
    [TOP_Q_AVAILABLE] = {"AVAIL", "available", 0, 7},
    [TOP_Q_WAITING] = {"WAITING", "waiting", 0, 1},
    [TOP_Q_EXECUTORS] = {"EXEC", "executors", 0, 6},
    [TOP_Q_COMPLETED] = {"COMPLETED", "completed", 0, 2},
    [TOP_Q_RATE] = {"JOBS/S", "jobs/s", 0, 0},
    [TOP_Q_FAIL_RATE] = {"FAIL/S", "failed/s", 0, 2},
    [TOP_Q_WAIT_P50] = {"WAIT50", "wait50", 0, 8},
    [TOP_Q_WAIT_P99] = {"WAIT99", "wait99", 0, 3},
    [TOP_Q_RUN_P50] = {"RUN50", "run50", 0, 8},
    [TOP_Q_RUN_P99] = {"RUN99", "run99", 0, 3},
};

enum {
    E_ID,
    E_STATE,
    E_SEEN,
    E_QUEUE,
    E_KIND,
    E_SIZE,
    E_ALIVE,
    E_BUSY,
    E_RESPAWNS,
    E_KILLS,
    E_RSS,
    E_COLS
};

static const colspec ecols[E_COLS] = {
    [E_ID] = {"EXECUTOR", "", 1, 0},       [E_STATE] = {"STATE", "", 1, 1},
    [E_SEEN] = {"SEEN", "", 0, 3},         [E_QUEUE] = {"QUEUE", "", 1, 0},
    [E_KIND] = {"KIND", "", 1, 4},         [E_SIZE] = {"SIZE", "", 0, 2},
    [E_ALIVE] = {"ALIVE", "", 0, 0},       [E_BUSY] = {"BUSY", "", 0, 0},
    [E_RESPAWNS] = {"RESPAWNS", "", 0, 1}, [E_KILLS] = {"KILLS", "", 0, 2},
    [E_RSS] = {"RSS", "", 0, 1},
};

/* ---- formats ------------------------------------------------------------------- */

char *top_fmt_us(double us, char *buf, size_t len)
{
    if (us < 0)
        snprintf(buf, len, "-");
    else if (us < 1000)
        snprintf(buf, len, "%.0fus", us);
    else if (us < 10000)
        snprintf(buf, len, "%.1fms", us / 1e3);
    else if (us < 1e6)
        snprintf(buf, len, "%.0fms", us / 1e3);
    else if (us < 1e7)
        snprintf(buf, len, "%.2fs", us / 1e6);
    else
        snprintf(buf, len, "%.0fs", us / 1e6);
    return buf;
}

char *top_fmt_rate(double r, char *buf, size_t len)
{
    if (r < 0)
        snprintf(buf, len, "-");
    else if (r < 1000)
        snprintf(buf, len, "%.1f", r);
    else
        snprintf(buf, len, "%.0f", r);
    return buf;
}

char *top_fmt_bytes(double b, char *buf, size_t len)
{
    static const char units[] = "KMGTP";
    if (b < 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    if (b < 1024) {
        snprintf(buf, len, "%.0fB", b);
        return buf;
    }
    int u = -1;
    while (b >= 1024 && u < (int)sizeof(units) - 2) {
        b /= 1024;
        u++;
    }
    snprintf(buf, len, b < 100 ? "%.1f%c" : "%.0f%c", b, units[u]);
    return buf;
}

static void fmt_count(double v, char *buf, size_t len)
{
    if (v < 0)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%lld", (long long)v);
}

/* A name into a cell: cut with a '~' when it does not fit. */
static void fmt_text(const char *s, char *buf, size_t len)
{
    size_t n = strlen(s);
    if (n < len) {
        memcpy(buf, s, n + 1);
    } else {
        memcpy(buf, s, len - 2);
        buf[len - 2] = '~';
        buf[len - 1] = '\0';
    }
}

/* ---- the model ------------------------------------------------------------------ */

void top_model_init(top_model *m)
{
    memset(m, 0, sizeof(*m));
    m->sort = TOP_Q_NAME;
}

static void queues_free(top_queue *qs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(qs[i].name);
        free(qs[i].kind);
    }
    free(qs);
}

static void execs_free(top_executor *es, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < es[i].npools; j++) {
            free(es[i].pools[j].queue);
            free(es[i].pools[j].kind);
        }
        free(es[i].pools);
        free(es[i].id);
        free(es[i].state);
        free(es[i].queues);
    }
    free(es);
}

void top_model_close(top_model *m)
{
    queues_free(m->queues, m->nqueues);
    execs_free(m->execs, m->nexecs);
    int sort = m->sort;
    top_model_init(m);
    m->sort = sort;
}

/* A number, or TOP_ABSENT when the key is missing, null or not a number. */
static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) && json_number_value(v) >= 0 ? json_number_value(v) : TOP_ABSENT;
}

/* A string copied (NULL when absent, or out of memory: *oom set). */
static char *str(json_t *o, const char *key, int *oom)
{
    const char *s = json_string_value(json_object_get(o, key));
    char *copy = s ? strdup(s) : NULL;
    if (s && !copy)
        *oom = 1;
    return copy;
}

static const top_queue *find_queue(const top_model *m, const char *name)
{
    for (size_t i = 0; i < m->nqueues; i++)
        if (!strcmp(m->queues[i].name, name))
            return &m->queues[i];
    return NULL;
}

/* Δ(now - then) / seconds, or TOP_ABSENT when either is unknown or the
 * counter went back. */
static double rate(double now, double then, double secs)
{
    if (now < 0 || then < 0 || now < then || secs <= 0)
        return TOP_ABSENT;
    return (now - then) / secs;
}

static int parse_queue(top_model *m, json_t *o, top_queue *q, double secs)
{
    int oom = 0;
    q->name = str(o, "name", &oom);
    q->kind = str(o, "kind", &oom);
    if (!q->name)
        q->name = strdup("?");
    if (oom || !q->name)
        return -1;
    static const struct {
        int col;
        const char *key;
    } fields[] = {{TOP_Q_CAPACITY, "capacity"},   {TOP_Q_BUSY, "busy"},
                  {TOP_Q_AVAILABLE, "available"}, {TOP_Q_WAITING, "waiting"},
                  {TOP_Q_EXECUTORS, "executors"}, {TOP_Q_COMPLETED, "completed"}};
    for (int c = 0; c < TOP_Q_COLS; c++)
        q->v[c] = TOP_ABSENT;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        q->v[fields[i].col] = num(o, fields[i].key);
    q->failed = num(o, "failed");
    q->timeouts = num(o, "timeouts");
    json_t *w = json_object_get(o, "wait_us"), *r = json_object_get(o, "run_us");
    q->v[TOP_Q_WAIT_P50] = num(w, "p50");
    q->v[TOP_Q_WAIT_P99] = num(w, "p99");
    q->v[TOP_Q_RUN_P50] = num(r, "p50");
    q->v[TOP_Q_RUN_P99] = num(r, "p99");
    const top_queue *prev = find_queue(m, q->name);
    if (prev) {
        q->v[TOP_Q_RATE] = rate(q->v[TOP_Q_COMPLETED], prev->v[TOP_Q_COMPLETED], secs);
        q->v[TOP_Q_FAIL_RATE] = rate(q->failed, prev->failed, secs);
    }
    return 0;
}

static int parse_pool(json_t *o, top_pool *p)
{
    int oom = 0;
    p->queue = str(o, "queue", &oom);
    p->kind = str(o, "kind", &oom);
    p->size = num(o, "size");
    p->alive = num(o, "alive");
    p->busy = num(o, "busy");
    p->respawns = num(o, "respawns");
    p->rss_bytes = num(o, "rss_bytes");
    static const char *kills[4] = {"deadline", "cancel", "memory", "recycle"};
    json_t *k = json_object_get(o, "kills");
    for (int i = 0; i < 4; i++)
        p->kills[i] = num(k, kills[i]);
    return oom ? -1 : 0;
}

static int parse_executor(json_t *o, top_executor *e)
{
    int oom = 0;
    e->id = str(o, "id", &oom);
    e->state = str(o, "state", &oom);
    e->seen_ms = num(o, "last_seen_ms");
    json_t *qs = json_object_get(o, "queues"), *v;
    size_t i, len = 1;
    json_array_foreach(qs, i, v) len +=
        strlen(json_string_value(v) ? json_string_value(v) : "") + 1;
    if (!(e->queues = calloc(1, len)))
        return -1;
    json_array_foreach(qs, i, v)
    {
        if (!json_string_value(v))
            continue;
        if (e->queues[0])
            strcat(e->queues, ",");
        strcat(e->queues, json_string_value(v));
    }
    json_t *pools = json_object_get(o, "pools");
    size_t n = json_array_size(pools);
    if (n && !(e->pools = calloc(n, sizeof(*e->pools))))
        return -1;
    json_array_foreach(pools, i, v)
    {
        if (!json_is_object(v))
            continue;
        if (parse_pool(v, &e->pools[e->npools++]) < 0)
            return -1;
    }
    return oom ? -1 : 0;
}

int top_model_update(top_model *m, const char *text, size_t len, uint64_t now_us, time_t now_wall,
                     char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    json_t *list = json_object_get(root, "queues");
    if (!json_is_array(list)) {
        snprintf(err, errlen, "the gateway's answer is not a queue list%s%s", root ? "" : ": ",
                 root ? "" : jerr.text);
        json_decref(root);
        return -1;
    }
    json_t *elist = json_object_get(root, "executors");
    size_t nq = json_array_size(list), ne = json_array_size(elist), i;
    top_queue *qs = calloc(nq ? nq : 1, sizeof(*qs));
    top_executor *es = calloc(ne ? ne : 1, sizeof(*es));
    size_t nq_done = 0, ne_done = 0;
    double secs = m->at_us && now_us > m->at_us ? (double)(now_us - m->at_us) / 1e6 : 0;
    json_t *v;
    if (!qs || !es)
        goto oom;
    json_array_foreach(list, i, v)
    {
        if (!json_is_object(v))
            continue;
        if (parse_queue(m, v, &qs[nq_done++], secs) < 0)
            goto oom;
    }
    json_array_foreach(elist, i, v)
    {
        if (!json_is_object(v))
            continue;
        if (parse_executor(v, &es[ne_done++]) < 0)
            goto oom;
    }
    int sort = m->sort;
    top_model_close(m);
    m->queues = qs;
    m->nqueues = nq_done;
    m->execs = es;
    m->nexecs = ne_done;
    m->has_execs = json_is_array(elist);
    m->at_us = now_us;
    m->at_wall = now_wall;
    m->sort = sort;
    top_model_sort(m);
    json_decref(root);
    return 0;
oom:
    if (qs)
        queues_free(qs, nq_done);
    if (es)
        execs_free(es, ne_done);
    json_decref(root);
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int sort_col; /* top_model_sort's column, for qsort's comparator */

static int queue_cmp(const void *a, const void *b)
{
    const top_queue *x = a, *y = b;
    int c = 0;
    if (sort_col == TOP_Q_KIND)
        c = strcmp(x->kind ? x->kind : "", y->kind ? y->kind : "");
    else if (sort_col != TOP_Q_NAME)
        c = x->v[sort_col] > y->v[sort_col] ? -1 : x->v[sort_col] < y->v[sort_col];
    return c ? c : strcmp(x->name, y->name);
}

static int exec_cmp(const void *a, const void *b)
{
    const top_executor *x = a, *y = b;
    return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

void top_model_sort(top_model *m)
{
    sort_col = m->sort >= 0 && m->sort < TOP_Q_COLS ? m->sort : TOP_Q_NAME;
    if (m->nqueues)
        qsort(m->queues, m->nqueues, sizeof(*m->queues), queue_cmp);
    if (m->nexecs)
        qsort(m->execs, m->nexecs, sizeof(*m->execs), exec_cmp);
}

int top_sort_step(int col, int dir)
{
    return ((col + dir) % TOP_Q_COLS + TOP_Q_COLS) % TOP_Q_COLS;
}

const char *top_qcol_name(int col)
{
    return col >= 0 && col < TOP_Q_COLS ? qcols[col].name : "?";
}

int top_qcol_find(const char *name)
{
    for (int c = 0; c < TOP_Q_COLS; c++)
        if (!strcasecmp(name, qcols[c].name) || !strcasecmp(name, qcols[c].label))
            return c;
    return -1;
}

/* ---- rendering ------------------------------------------------------------------ */

typedef struct out {
    top_emit_fn emit;
    void *arg;
    int width; /* 0: no limit */
    int left;  /* lines left; < 0: no limit */
} out;

static void put(out *o, int style, const char *line)
{
    if (o->left == 0)
        return;
    if (o->left > 0)
        o->left--;
    char buf[TOP_LINE_MAX + 1];
    int w = o->width > 0 && o->width < TOP_LINE_MAX ? o->width : TOP_LINE_MAX;
    snprintf(buf, sizeof(buf), "%.*s", w, line);
    o->emit(o->arg, style, buf);
}

/* Appends to line[TOP_LINE_MAX + 1] at *at, cut at the end. */
static void append(char *line, int *at, const char *fmt, int w, const char *s)
{
    if (*at >= TOP_LINE_MAX)
        return;
    int n = snprintf(line + *at, (size_t)(TOP_LINE_MAX + 1 - *at), fmt, w, s);
    *at = n < 0 ? *at : *at + n > TOP_LINE_MAX ? TOP_LINE_MAX : *at + n;
}

/* A table of nrows rows of ncols cells: its head, then at most maxrows
 * lines of rows (the last one saying how many more when they do not fit). */
static void table(out *o, const colspec *spec, int ncols, char (*cells)[TOP_CELL], size_t nrows,
                  int sort, size_t maxrows, const char *what)
{
    int w[16], shown[16];
    char head[16][TOP_CELL + 1];
    for (int c = 0; c < ncols; c++) {
        snprintf(head[c], sizeof(head[c]), "%s%s", spec[c].label, c == sort ? "*" : "");
        w[c] = (int)strlen(head[c]);
        for (size_t r = 0; r < nrows; r++) {
            int l = (int)strlen(cells[r * (size_t)ncols + (size_t)c]);
            w[c] = l > w[c] ? l : w[c];
        }
        shown[c] = 1;
    }
    /* Leave out the least needed columns until the rest fits. */
    for (;;) {
        int total = -2, drop = -1;
        for (int c = 0; c < ncols; c++)
            if (shown[c]) {
                total += w[c] + 2;
                if (spec[c].prio && (drop < 0 || spec[c].prio >= spec[drop].prio))
                    drop = c;
            }
        if (o->width <= 0 || total <= o->width || drop < 0)
            break;
        shown[drop] = 0;
    }
    char line[TOP_LINE_MAX + 1] = "";
    int at = 0;
    for (int c = 0; c < ncols; c++)
        if (shown[c])
            append(line, &at, spec[c].left ? "%-*s  " : "%*s  ", w[c], head[c]);
    while (at > 0 && line[at - 1] == ' ')
        line[--at] = '\0';
    while (o->width > 0 && at < o->width && at < TOP_LINE_MAX)
        line[at++] = ' '; /* the head's style fills the line */
    line[at] = '\0';
    put(o, TOP_STYLE_HEAD, line);
    size_t rows = nrows;
    if (rows > maxrows)
        rows = maxrows > 0 ? maxrows - 1 : 0;
    for (size_t r = 0; r < rows; r++) {
        at = 0;
        line[0] = '\0';
        for (int c = 0; c < ncols; c++)
            if (shown[c])
                append(line, &at, spec[c].left ? "%-*s  " : "%*s  ", w[c],
                       cells[r * (size_t)ncols + (size_t)c]);
        while (at > 0 && line[at - 1] == ' ')
            line[--at] = '\0';
        put(o, TOP_STYLE_ROW, line);
    }
    if (rows < nrows && maxrows > 0) {
        snprintf(line, sizeof(line), "... %zu more %s (a taller window shows them)", nrows - rows,
                 what);
        put(o, TOP_STYLE_NOTE, line);
    }
}

static void queue_cells(const top_queue *q, char (*cell)[TOP_CELL])
{
    for (int c = 0; c < TOP_Q_COLS; c++) {
        switch (c) {
        case TOP_Q_NAME:
            fmt_text(q->name, cell[c], TOP_CELL);
            break;
        case TOP_Q_KIND:
            fmt_text(q->kind ? q->kind : "-", cell[c], TOP_CELL);
            break;
        case TOP_Q_RATE:
        case TOP_Q_FAIL_RATE:
            top_fmt_rate(q->v[c], cell[c], TOP_CELL);
            break;
        case TOP_Q_WAIT_P50:
        case TOP_Q_WAIT_P99:
        case TOP_Q_RUN_P50:
        case TOP_Q_RUN_P99:
            top_fmt_us(q->v[c], cell[c], TOP_CELL);
            break;
        default:
            fmt_count(q->v[c], cell[c], TOP_CELL);
        }
    }
}

/* One row per pool of each executor (one for an executor with none yet). */
static size_t exec_rows(const top_model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nexecs; i++)
        n += m->execs[i].npools ? m->execs[i].npools : 1;
    return n;
}

static void exec_cells(const top_executor *e, size_t j, char (*cell)[TOP_CELL])
{
    for (int c = 0; c < E_COLS; c++)
        snprintf(cell[c], TOP_CELL, "%s", j ? "" : "-");
    if (!j) {
        fmt_text(e->id ? e->id : "?", cell[E_ID], TOP_CELL);
        fmt_text(e->state ? e->state : "-", cell[E_STATE], TOP_CELL);
        top_fmt_us(e->seen_ms < 0 ? TOP_ABSENT : e->seen_ms * 1000, cell[E_SEEN], TOP_CELL);
    }
    if (!e->npools) {
        fmt_text(e->queues[0] ? e->queues : "-", cell[E_QUEUE], TOP_CELL);
        return;
    }
    const top_pool *p = &e->pools[j];
    fmt_text(p->queue ? p->queue : "-", cell[E_QUEUE], TOP_CELL);
    fmt_text(p->kind ? p->kind : "-", cell[E_KIND], TOP_CELL);
    fmt_count(p->size, cell[E_SIZE], TOP_CELL);
    fmt_count(p->alive, cell[E_ALIVE], TOP_CELL);
    fmt_count(p->busy, cell[E_BUSY], TOP_CELL);
    fmt_count(p->respawns, cell[E_RESPAWNS], TOP_CELL);
    char k[4][12];
    for (int i = 0; i < 4; i++)
        fmt_count(p->kills[i], k[i], sizeof(k[i]));
    snprintf(cell[E_KILLS], TOP_CELL, "%s/%s/%s/%s", k[0], k[1], k[2], k[3]);
    top_fmt_bytes(p->rss_bytes, cell[E_RSS], TOP_CELL);
}

static void clock_text(time_t t, char *buf, size_t len)
{
    struct tm tm;
    if (!t || !localtime_r(&t, &tm) || !strftime(buf, len, "%H:%M:%S", &tm))
        snprintf(buf, len, "-");
}

/* Appends part to the title, two spaces after the last, when it fits in
 * width (0: always): a narrow window drops whole parts, not their ends. */
static void title_add(char *line, int *at, int width, const char *part)
{
    int n = (int)strlen(part), sep = *at ? 2 : 0;
    int room = width > 0 && width < TOP_LINE_MAX ? width : TOP_LINE_MAX;
    if (*at + sep + n > room)
        return;
    snprintf(line + *at, (size_t)(TOP_LINE_MAX + 1 - *at), "%s%s", sep ? "  " : "", part);
    *at += sep + n;
}

static void header(out *o, const top_model *m, const top_status *st)
{
    double cap = 0, busy = 0, waiting = 0, jobs = TOP_ABSENT;
    for (size_t i = 0; i < m->nqueues; i++) {
        const top_queue *q = &m->queues[i];
        cap += q->v[TOP_Q_CAPACITY] > 0 ? q->v[TOP_Q_CAPACITY] : 0;
        busy += q->v[TOP_Q_BUSY] > 0 ? q->v[TOP_Q_BUSY] : 0;
        waiting += q->v[TOP_Q_WAITING] > 0 ? q->v[TOP_Q_WAITING] : 0;
        if (q->v[TOP_Q_RATE] >= 0)
            jobs = (jobs < 0 ? 0 : jobs) + q->v[TOP_Q_RATE];
    }
    char now[16], since[16], part[96], r[32], line[TOP_LINE_MAX + 1] = "";
    int at = 0;
    clock_text(st->now, now, sizeof(now));
    title_add(line, &at, o->width, "offload top");
    if (st->paused)
        title_add(line, &at, o->width, "PAUSED");
    title_add(line, &at, o->width, now);
    title_add(line, &at, o->width, st->endpoint ? st->endpoint : "-");
    snprintf(part, sizeof(part), "queues %zu", m->nqueues);
    title_add(line, &at, o->width, part);
    if (m->has_execs) {
        snprintf(part, sizeof(part), "executors %zu", m->nexecs);
        title_add(line, &at, o->width, part);
    }
    snprintf(part, sizeof(part), "busy %lld/%lld", (long long)busy, (long long)cap);
    title_add(line, &at, o->width, part);
    snprintf(part, sizeof(part), "waiting %lld", (long long)waiting);
    title_add(line, &at, o->width, part);
    snprintf(part, sizeof(part), "jobs/s %s", top_fmt_rate(jobs, r, sizeof(r)));
    title_add(line, &at, o->width, part);
    snprintf(part, sizeof(part), "every %dms", st->interval_ms);
    title_add(line, &at, o->width, part);
    put(o, TOP_STYLE_TITLE, line);
    if (st->down_since) {
        clock_text(st->down_since, since, sizeof(since));
        clock_text(m->at_wall, now, sizeof(now));
        long long ago = st->now > st->down_since ? (long long)(st->now - st->down_since) : 0;
        snprintf(line, sizeof(line), "gateway not answering since %s (%llds), %s%s: %s", since, ago,
                 m->at_wall ? "the tables are from " : "no data yet", m->at_wall ? now : "",
                 st->down_why ? st->down_why : "no reply");
        put(o, TOP_STYLE_ALERT, line);
    } else if (st->interactive) {
        snprintf(line, sizeof(line), "%ssort: %s   keys: s/S sort  p pause  +/- interval  q quit",
                 st->paused ? "PAUSED (p resumes)   " : "", top_qcol_name(m->sort));
        put(o, st->paused ? TOP_STYLE_ALERT : TOP_STYLE_INFO, line);
    }
}

void top_render(const top_model *m, const top_status *st, int width, int height, top_emit_fn emit,
                void *arg)
{
    out o = {.emit = emit, .arg = arg, .width = width, .left = height > 0 ? height : -1};
    header(&o, m, st);
    size_t nq = m->nqueues, ne = exec_rows(m);
    /* The lines left after the blank line and the queue table's head, and
     * those the executors table keeps (a blank, its head or note, and up to
     * 3 rows) when the queues do not all fit. */
    size_t qmax = (size_t)-1, emax = (size_t)-1;
    if (o.left >= 0) {
        int avail = o.left - 2, keep = 2 + (ne < 3 ? (int)ne : 3);
        int q = avail - keep;
        if ((int)nq < q)
            q = (int)nq;
        qmax = q > 1 ? (size_t)q : 1;
        int rest = avail - (int)(qmax < nq ? qmax : nq) - 2;
        emax = rest > 1 ? (size_t)rest : 1;
    }
    put(&o, TOP_STYLE_NOTE, "");
    char(*cells)[TOP_CELL] = calloc((nq > ne ? nq : ne) + 1, sizeof(*cells) * TOP_Q_COLS);
    if (!cells) {
        put(&o, TOP_STYLE_ALERT, "out of memory");
        return;
    }
    for (size_t i = 0; i < nq; i++)
        queue_cells(&m->queues[i], &cells[i * TOP_Q_COLS]);
    table(&o, qcols, TOP_Q_COLS, cells, nq, m->sort, qmax, "queues");
    if (!nq)
        put(&o, TOP_STYLE_NOTE,
            "(no queues: no executor has connected, and no --queue or --route names one)");
    put(&o, TOP_STYLE_NOTE, "");
    if (!m->has_execs) {
        put(&o, TOP_STYLE_NOTE, m->at_us ? "(this gateway does not list its executors)" : "");
    } else {
        size_t r = 0;
        for (size_t i = 0; i < m->nexecs; i++)
            for (size_t j = 0; j < (m->execs[i].npools ? m->execs[i].npools : 1); j++)
                exec_cells(&m->execs[i], j, &cells[r++ * E_COLS]);
        table(&o, ecols, E_COLS, cells, ne, -1, emax, "executor pools");
        if (!ne)
            put(&o, TOP_STYLE_NOTE, "(no executor is connected)");
    }
    free(cells);
}
