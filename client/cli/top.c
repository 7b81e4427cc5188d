/* top.c -- `offload top`: polls the gateway's queue list (ListQueues over
 * liboffload) every --interval-ms and redraws a full-screen table of the
 * queues and executors with ncurses, like top(1); keys sort, pause and
 * change the interval. When stdout is not a terminal (or with --once), it
 * prints plain tables instead and exits. The tables themselves are
 * top_view's; this file owns the terminal, the signals and the polling. */
#include <curses.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "offload.h"
#include "parse.h"
#include "top_view.h"

#define TOP_INTERVAL_MIN 100
#define TOP_INTERVAL_MAX 60000
#define TOP_INTERVAL_DEFAULT 1000
/* The longest getch wait: how soon a signal, a resize or the clock is seen. */
#define TOP_TICK_MS 250

static const char top_help[] =
    "usage: offload top [--gateway EP] [--interval-ms MS] [--sort COLUMN]\n"
    "                   [--once | --iterations N]\n"
    "A live table of the fleet's queues and executors, redrawn every --interval-ms\n"
    "(default 1000, 100..60000): per queue its pool kind, capacity, busy and\n"
    "available slots, jobs waiting, executors, jobs completed, jobs/s and failed/s\n"
    "(from successive polls), and the wait and run p50/p99 when the gateway has\n"
    "them; then every executor's pools (alive, busy, respawns, kills as\n"
    "deadline/cancel/memory/recycle, RSS). When the gateway stops answering it\n"
    "says since when and keeps trying.\n"
    "Keys: q quit; s / S next / previous sort column (marked '*'); p pause;\n"
    "+ / - a longer / shorter interval.\n"
    "Not on a terminal, or with --once: prints the tables once, plainly, and exits\n"
    "(3 when the gateway does not answer). --iterations N: N polls, then exit (the\n"
    "plain output repeats the tables N times, rates from the second on).\n"
    "--sort COLUMN: name, kind, capacity, busy, available, waiting, executors,\n"
    "completed, jobs/s, failed/s, wait50, wait99, run50, run99 (default name).\n";

typedef struct top_opts {
    const char *gateway, *curve_key, *curve_server;
    long long interval_ms, iterations;
    int once, sort;
} top_opts;

/* The gateway side: a client made on demand, dropped after a failure (so
 * no stale request waits in it for a gateway that comes back). */
typedef struct top_src {
    offload_options opts;
    offload_client *c;
    int err;           /* enum offload_err of the last failure */
    char why[256];     /* and what it was */
    time_t down_since; /* 0: the last poll was answered */
} top_src;

static volatile sig_atomic_t top_signal;

static void top_on_signal(int sig)
{
    top_signal = sig;
}

static uint64_t top_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int top_number(const char *flag, const char *v, long long min, long long max, long long *out)
{
    if (parse_ll(v, out) < 0 || *out < min || *out > max) {
        fprintf(stderr, PROG " top: %s wants a number %lld..%lld, got '%s'\n", flag, min, max, v);
        return -1;
    }
    return 0;
}

/* Returns 0, 1 after --help, -1 on a usage error (said on stderr). */
static int top_parse(top_opts *o, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("%s\n%s", top_help,
                   "--gateway ENDPOINT: default $OFFLOAD_GATEWAY, else tcp://127.0.0.1:5555.\n"
                   "--curve-key PATH.key --curve-server GATEWAY.pub: CURVE keys for a gateway\n"
                   "with --curve-key (default $OFFLOAD_CURVE_KEY, $OFFLOAD_CURVE_SERVER).\n");
            return 1;
        } else if (!strcmp(a, "--gateway") && more) {
            o->gateway = argv[++i];
        } else if (!strcmp(a, "--curve-key") && more) {
            o->curve_key = argv[++i];
        } else if (!strcmp(a, "--curve-server") && more) {
            o->curve_server = argv[++i];
        } else if (!strcmp(a, "--interval-ms") && more) {
            if (top_number(a, argv[++i], TOP_INTERVAL_MIN, TOP_INTERVAL_MAX, &o->interval_ms) < 0)
                return -1;
        } else if (!strcmp(a, "--iterations") && more) {
            if (top_number(a, argv[++i], 1, 1000000000, &o->iterations) < 0)
                return -1;
        } else if (!strcmp(a, "--once")) {
            o->once = 1;
        } else if (!strcmp(a, "--sort") && more) {
            if ((o->sort = top_qcol_find(argv[++i])) < 0) {
                fprintf(stderr, PROG " top: no column '%s' to sort by (see offload top --help)\n",
                        argv[i]);
                return -1;
            }
        } else {
            fprintf(stderr, PROG " top: %s '%s' (see offload top --help)\n",
                    a[0] == '-' ? "unknown flag" : "unexpected argument", a);
            return -1;
        }
    }
    return 0;
}

/* Polls once into m. Returns 0, or -1 with src->why (and down_since) set. */
static int top_fetch(top_src *src, top_model *m)
{
    if (!src->c) {
        src->c = offload_connect_with(&src->opts);
        if (!src->c || offload_err(src->c)) {
            src->err = src->c ? offload_err(src->c) : OFFLOAD_ERR_OOM;
            snprintf(src->why, sizeof(src->why), "%s",
                     src->c ? offload_errstr(src->c) : "out of memory");
            goto fail;
        }
    }
    offload_result *r;
    if (offload_queues(src->c, &r) < 0) {
        src->err = offload_err(src->c);
        snprintf(src->why, sizeof(src->why), "%s", offload_errstr(src->c));
        goto fail;
    }
    int rc = 0;
    if (r->code != OFFLOAD_OK) {
        src->err = OFFLOAD_ERR_PROTOCOL;
        snprintf(src->why, sizeof(src->why), "%s: %s", r->error, r->message);
        rc = -1;
    } else if (top_model_update(m, (const char *)r->payload, r->len, top_now_us(), time(NULL),
                                src->why, sizeof(src->why)) < 0) {
        src->err = OFFLOAD_ERR_PROTOCOL;
        rc = -1;
    }
    offload_result_free(r);
    if (rc < 0)
        goto fail;
    src->down_since = 0;
    return 0;
fail:
    offload_free(src->c);
    src->c = NULL;
    if (!src->down_since)
        src->down_since = time(NULL);
    return -1;
}

static void top_status_of(const top_opts *o, const top_src *src, top_status *st, int paused)
{
    const char *ep = o->gateway ? o->gateway : getenv("OFFLOAD_GATEWAY");
    *st = (top_status){.endpoint = ep && *ep ? ep : "tcp://127.0.0.1:5555",
                       .now = time(NULL),
                       .interval_ms = (int)o->interval_ms,
                       .paused = paused,
                       .down_since = src->down_since,
                       .down_why = src->why};
}

/* ---- not a terminal: plain tables ------------------------------------------------ */

static void plain_emit(void *arg, int style, const char *line)
{
    (void)style;
    fprintf(arg, "%s\n", line);
}

static int top_plain(const top_opts *o, top_src *src, top_model *m)
{
    long long n = o->once ? 1 : o->iterations ? o->iterations : 1;
    for (long long i = 0; i < n; i++) {
        if (i) {
            struct timespec ts = {o->interval_ms / 1000, (o->interval_ms % 1000) * 1000000};
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        }
        if (top_fetch(src, m) < 0) {
            fprintf(stderr, PROG " top: the gateway did not answer: %s\n", src->why);
            return src->err == OFFLOAD_ERR_AUTH   ? EXIT_AUTH
                   : src->err == OFFLOAD_ERR_ARGS ? EXIT_USAGE
                                                  : EXIT_NO_GATEWAY;
        }
        top_status st;
        top_status_of(o, src, &st, 0);
        if (i)
            printf("\n");
        top_render(m, &st, 0, 0, plain_emit, stdout);
        fflush(stdout);
    }
    return EXIT_OK_;
}

/* ---- a terminal: ncurses ---------------------------------------------------------- */

static int top_colors;

static void tty_emit(void *arg, int style, const char *line)
{
    int *row = arg;
    if (*row >= LINES)
        return;
    attr_t a = style == TOP_STYLE_TITLE   ? A_BOLD
               : style == TOP_STYLE_HEAD  ? A_REVERSE
               : style == TOP_STYLE_ALERT ? A_BOLD | (top_colors ? COLOR_PAIR(1) : A_REVERSE)
                                          : A_NORMAL;
    attron(a);
    mvaddnstr(*row, 0, line, COLS);
    attroff(a);
    (*row)++;
}

static void tty_draw(const top_opts *o, const top_src *src, const top_model *m, int paused)
{
    top_status st;
    top_status_of(o, src, &st, paused);
    st.interactive = 1;
    int row = 0;
    erase(); /* then only what changed goes out, at refresh: no flicker */
    top_render(m, &st, COLS, LINES, tty_emit, &row);
    refresh();
}

/* The next interval up (dir 1) or down (-1) the steps, within the bounds. */
static long long top_interval_step(long long ms, int dir)
{
    static const long long steps[] = {100, 200, 250, 500, 1000, 2000, 5000, 10000, 30000, 60000};
    int n = (int)(sizeof(steps) / sizeof(steps[0]));
    if (dir > 0) {
        for (int i = 0; i < n; i++)
            if (steps[i] > ms)
                return steps[i];
        return TOP_INTERVAL_MAX;
    }
    for (int i = n - 1; i >= 0; i--)
        if (steps[i] < ms)
            return steps[i];
    return TOP_INTERVAL_MIN;
}

static int top_tty(top_opts *o, top_src *src, top_model *m, FILE *in)
{
    struct sigaction sa = {0};
    sa.sa_handler = top_on_signal; /* no SA_RESTART: a wait ends at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    SCREEN *scr = newterm(NULL, stdout, in);
    if (!scr) {
        const char *term = getenv("TERM");
        fprintf(stderr, PROG " top: cannot drive this terminal (TERM=%s); try --once\n",
                term ? term : "unset");
        return EXIT_USAGE;
    }
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    if (has_colors() && start_color() == OK) {
        use_default_colors();
        top_colors = init_pair(1, COLOR_RED, -1) == OK;
    }
    int paused = 0;
    long long polls = 0;
    uint64_t next = 0;
    while (!top_signal) {
        if (!paused && top_now_us() >= next) {
            top_fetch(src, m);
            polls++;
            next = top_now_us() + (uint64_t)o->interval_ms * 1000;
        }
        if (top_signal)
            break;
        tty_draw(o, src, m, paused);
        if (o->iterations && polls >= o->iterations)
            break;
        long long wait = paused ? TOP_TICK_MS : (long long)(next - top_now_us()) / 1000;
        timeout(wait < 0 ? 0 : wait > TOP_TICK_MS ? TOP_TICK_MS : (int)wait);
        int ch = getch();
        if (ch == 'q' || ch == 'Q') {
            break;
        } else if (ch == 's' || ch == 'S') {
            m->sort = top_sort_step(m->sort, ch == 's' ? 1 : -1);
            top_model_sort(m);
        } else if (ch == 'p' || ch == 'P') {
            paused = !paused;
            next = 0; /* resuming polls at once */
        } else if (ch == '+' || ch == '=' || ch == '-' || ch == '_') {
            o->interval_ms = top_interval_step(o->interval_ms, ch == '+' || ch == '=' ? 1 : -1);
            next = top_now_us() + (uint64_t)o->interval_ms * 1000;
        }
        /* KEY_RESIZE: ncurses took the new size; the next draw uses it. */
    }
    endwin();
    delscreen(scr);
    return EXIT_OK_;
}

int top_main(int argc, char **argv)
{
    top_opts o = {.interval_ms = TOP_INTERVAL_DEFAULT, .sort = TOP_Q_NAME};
    int rc = top_parse(&o, argc, argv);
    if (rc != 0)
        return rc > 0 ? EXIT_OK_ : EXIT_USAGE;
    top_src src = {.opts = {.endpoint = o.gateway,
                            .curve_key = o.curve_key,
                            .curve_server = o.curve_server,
                            .lease_ms = -1}};
    /* Wait for a reply about an interval, 1 to 5 s. */
    src.opts.reply_grace_ms = o.interval_ms < 1000   ? 1000
                              : o.interval_ms > 5000 ? 5000
                                                     : (int)o.interval_ms;
    /* A bad key file or endpoint is a usage error, said before the screen. */
    src.c = offload_connect_with(&src.opts);
    if (!src.c || offload_err(src.c)) {
        fprintf(stderr, PROG " top: %s\n", src.c ? offload_errstr(src.c) : "out of memory");
        rc = src.c && offload_err(src.c) == OFFLOAD_ERR_ARGS ? EXIT_USAGE : EXIT_NO_GATEWAY;
        offload_free(src.c);
        return rc;
    }
    top_model m;
    top_model_init(&m);
    m.sort = o.sort;
    FILE *in = NULL;
    if (!o.once && isatty(STDOUT_FILENO))
        in = isatty(STDIN_FILENO) ? stdin : fopen("/dev/tty", "r");
    rc = in ? top_tty(&o, &src, &m, in) : top_plain(&o, &src, &m);
    if (in && in != stdin)
        fclose(in);
    offload_free(src.c);
    top_model_close(&m);
    return rc;
}
