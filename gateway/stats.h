/* stats.h -- the gateway's counters, declared once.
 *
 * GATEWAY_COUNTERS is the one table: the enum, the names and the help text
 * below are generated from it, and every view (GET /v1/stats, a metrics
 * endpoint, logs) renders the same table, so a new counter is one line here.
 * Loop thread only. */
#ifndef OFFLOAD_STATS_H
#define OFFLOAD_STATS_H

#include <stdint.h>

#define GATEWAY_COUNTERS(X)                                                                        \
    X(http_requests, "HTTP requests received")                                                     \
    X(client_requests, "Submits received on the clients socket")                                   \
    X(frames_bad, "frames dropped as undecodable or invalid, both sockets")                        \
    X(frames_version, "frames dropped for another protocol version")                               \
    X(frames_unexpected, "valid frames that make no sense where they arrived")                     \
    X(results_unknown, "Results for jobs or executors the gateway does not know")                  \
    X(results_late, "Results for jobs whose caller was already answered")                          \
    X(executors_lost, "executors dropped: silent, unreachable, or gone mid-job")                   \
    X(executors_left, "executors that left cleanly with a Goodbye")                                \
    X(jobs_lost, "jobs answered executor_lost")                                                    \
    X(jobs_retried, "jobs sent again after their executor was lost")                               \
    X(jobs_over_executor_limit, "jobs answered payload_too_large because no executor of their "    \
                                "queue takes a payload that large (their --max-payload)")          \
    X(results_too_large, "Results over --max-payload (within --max-frame): their jobs answered "   \
                         "payload_too_large, the executor kept")                                   \
    X(send_failures, "messages that could not be sent (peer gone, queue full)")                    \
    X(callers_gone, "HTTP callers that hung up while waiting")                                     \
    X(submits_refused, "Submits answered with an error before a job was made")                     \
    X(http_rejected, "HTTP requests refused for their framing: two Content-Lengths, a "            \
                     "Transfer-Encoding, a control character in the path")                         \
    X(hello_refused_limit, "Hellos refused for a bound: --max-executors, --max-queues, "           \
                           "--max-functions, --max-silence-ms")                                    \
    X(queues_freed, "queues freed: no executor declared them, no job and no --route or "           \
                    "--queue named them")                                                          \
    X(clients_refused, "client Submits and Queries refused by --max-clients")                      \
    X(http_ip_refused, "new HTTP connections closed unanswered: their address was at "             \
                       "--max-connections-per-ip")                                                 \
    X(http_read_timeouts, "HTTP connections closed because a request's headers or body did not "   \
                          "arrive in time (--header-timeout-ms, --body-timeout-ms)")               \
    X(auth_denied, "ZeroMQ connections refused by the CURVE allow-list (--curve-allow)")           \
    X(handshakes_failed, "ZeroMQ handshakes that failed before authentication: no CURVE, "         \
                         "a wrong server key, garbage")                                            \
    X(hellos_forbidden, "executor Hellos refused: their key may not serve a queue they declared")  \
    X(http_unauthorized, "HTTP requests answered 401: no bearer token, or one not in "             \
                         "--http-token-file")                                                      \
    X(http_forbidden, "HTTP requests answered 403: the token may not use the job's queue")         \
    X(held_bytes_refused, "requests and Submits refused because the payloads held would pass "     \
                          "--max-held-bytes")                                                      \
    X(trace_invalid, "jobs whose traceparent (header or Submit field) was invalid: ignored, "      \
                     "a new trace started")                                                        \
    X(tracestate_dropped, "tracestates dropped with a valid traceparent: over 512 characters, "    \
                          "or not printable ASCII")                                                \
    X(traces_started, "traces the gateway started for jobs that came without a valid "             \
                      "traceparent")                                                               \
    X(credits, "Credit messages applied: an executor shared among gateways set this one's "        \
               "slots")                                                                            \
    X(demands_sent, "Demand messages sent to executors: jobs waiting, and Credit "                 \
                    "acknowledgements")                                                            \
    X(pool_stats, "PoolStats messages applied: executors told the state of their pools")           \
    X(readiness_changes, "times GET /readyz's verdict changed, ready to not ready or back "        \
                         "(checked every second and at each /readyz)")                             \
    X(loop_turns, "turns of the event loop")                                                       \
    X(loop_slow_turns, "loop turns that took over 10 ms of CPU")                                   \
    X(loop_long_turns, "loop turns that took over 5 ms of CPU")                                    \
    X(loop_long_turns_us, "the CPU time of those turns, microseconds")                             \
    X(loop_overrun_turns, "loop turns that took over 75 ms of CPU, the heap trim's aside "         \
                          "(3x the longest turn measured under the tests' floods)")                \
    X(loop_busy_us, "wall time the loop spent in turns (not waiting in its poll), microseconds")   \
    X(heap_trims, "times the heap's free pages went back to the system after a flood, in a "       \
                  "quiet second")                                                                  \
    X(heap_trim_us, "the time those trims took, microseconds (the loop waits for them)")           \
    X(loop_budget_stops, "times a socket's reading stopped for a turn with its budget spent "      \
                         "(--turn-budget-us, --turn-budget-bytes)")                                \
    X(http_budget_parks, "HTTP uploads paused until a next loop turn with HTTP's turn budget "     \
                         "spent (--turn-budget-us, --turn-budget-bytes)")                          \
    X(dispatch_budget_stops,                                                                       \
      "times a queue's dispatch stopped with the turn's budget of job bytes "                      \
      "sent (--turn-budget-bytes) and went on at the end of the turn")                             \
    X(http_accept_budget_stops, "loop turns that left new HTTP connections waiting: 64 accepted, " \
                                "--turn-accepts given to MHD, or the turn's time spent")           \
    X(loop_stalls, "times the loop woke over 100 ms late or a turn lasted that long "              \
                   "(event=loop_stall): peers' silence meanwhile is not held against them")        \
    X(metrics_scrapes, "GET /metrics requests answered")                                           \
    X(metrics_cache_hits, "of those, answered with the body rendered less than "                   \
                          "--metrics-cache-ms before")                                             \
    X(metrics_render_us, "the time rendering /metrics bodies took, microseconds")                  \
    X(metrics_series_folded, "jobs counted under function \"_other\" in offload_jobs_total: "      \
                             "their own series would pass --metrics-max-series")                   \
    X(jobs_failed, "jobs answered with an error (failed, timed out, executor lost, no executor; "  \
                   "not a caller's cancel): the last --recent-failures in GET /v1/failures")       \
    X(event_streams_opened, "GET /v1/events streams opened")                                       \
    X(event_streams_refused, "GET /v1/events requests refused with 503: --max-event-streams "      \
                             "streams were open")                                                  \
    X(event_streams_stalled, "event streams closed because their client took no bytes for "        \
                             "--event-stall-ms")                                                   \
    X(event_snapshots_sent, "snapshots written whole to event streams")                            \
    X(event_snapshots_skipped, "snapshots an event stream skipped: its client had not taken "      \
                               "the one before (a slow reader gets the latest only)")

typedef enum gateway_counter {
#define STATS_ENUM(name, help) STAT_##name,
    GATEWAY_COUNTERS(STATS_ENUM)
#undef STATS_ENUM
        STAT_COUNT
} gateway_counter;

typedef struct gateway_stats {
    uint64_t v[STAT_COUNT];
} gateway_stats;

/* "http_requests", ...; the help line of a counter. */
const char *stats_name(gateway_counter c);
const char *stats_help(gateway_counter c);

/* HTTP responses sent, by status code (100..599): offload_http_requests_total. */
#define STATS_HTTP_FIRST 100
#define STATS_HTTP_LAST 599
typedef struct http_status_counts {
    uint64_t v[STATS_HTTP_LAST - STATS_HTTP_FIRST + 1];
} http_status_counts;

static inline void stats_http_status(http_status_counts *s, unsigned status)
{
    if (status >= STATS_HTTP_FIRST && status <= STATS_HTTP_LAST)
        s->v[status - STATS_HTTP_FIRST]++;
}

static inline void stats_add(gateway_stats *s, gateway_counter c, uint64_t n)
{
    s->v[c] += n;
}

static inline void stats_inc(gateway_stats *s, gateway_counter c)
{
    s->v[c]++;
}

#endif
