#!/usr/bin/env bash
# The dashboard's routes without a browser (test_ui.sh drives one): GET /ui
# and its files (types, ETag and 304, the Content-Security-Policy, no other
# host named), GET /v1/failures, GET /v1/events (its headers and a
# snapshot's members). Then the stream's bounds: clients that never read
# (tests/e2e/stuckstream.py, one process) fill their sockets; /healthz
# still answers fast, event_snapshots_skipped grows, a stream past
# --max-event-streams gets 503 too_many_streams, the stuck ones are closed
# after --event-stall-ms (event_streams_stalled) and no loop turn overran.
# Then tokens: /v1/events needs one like /v1/stats (the header, never the
# query string), /ui does not. Then a drain with a reading and a stuck
# stream: both end and the gateway stops at once, not at --drain-timeout.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || abort "python3 is installed (scripts/deps.sh)"

# 40 queues make a snapshot of some 8 KiB: a few fill a stuck socket.
QUEUES=()
for i in $(seq -w 1 40); do QUEUES+=(--queue "q$i"); done

start_gateway --max-event-streams 3 --event-stall-ms 3000 "${QUEUES[@]}" || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 --id events-exec || abort "executor starts"
wait_until 10 queue_is io capacity 2 || abort "io is served"

# ---- the dashboard's files -------------------------------------------------

http GET /ui
check_eq "GET /ui: 200" 200 "$HTTP_STATUS"
check "  text/html" grep -qi '^Content-Type: text/html; charset=utf-8' "$HTTP_HEADERS"
check "  a Content-Security-Policy of this origin only, no inline script" \
    grep -qi "^Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'" \
    "$HTTP_HEADERS"
check "  nosniff and no framing" grep -qi '^X-Frame-Options: DENY' "$HTTP_HEADERS"
check "  Cache-Control no-cache" grep -qi '^Cache-Control: no-cache' "$HTTP_HEADERS"
etag=$(header ETag)
check "  an ETag" test -n "$etag"
check "  it loads /ui/app.js and /ui/style.css" \
    grep -q 'src="/ui/app.js"' "$HTTP_BODY"
check "  no inline script" test "$(grep -c '<script>' "$HTTP_BODY")" -eq 0
http GET /ui -H "If-None-Match: $etag"
check_eq "If-None-Match with its ETag: 304" 304 "$HTTP_STATUS"
http GET /ui/app.js
check_eq "GET /ui/app.js: 200" 200 "$HTTP_STATUS"
check "  text/javascript" grep -qi '^Content-Type: text/javascript' "$HTTP_HEADERS"
app_js=$HTTP_BODY
http GET /ui/style.css
check_eq "GET /ui/style.css: 200" 200 "$HTTP_STATUS"
check "  text/css" grep -qi '^Content-Type: text/css' "$HTTP_HEADERS"
check "the files name no other host (no CDN, no external fetch)" \
    test "$(cat "$app_js" "$HTTP_BODY" | grep -cE 'https?://|//[a-z0-9.-]+\.[a-z]{2,}/')" -eq 0
http GET /ui/
check_eq "GET /ui/ is the page too" "200 $etag" "$HTTP_STATUS $(header ETag)"
http GET /ui/nope
check_error "an unknown file under /ui/: 404" 404 unknown_route
http POST /ui --data-binary x
check_error "POST /ui: 405" 405 method_not_allowed

# ---- /v1/failures and one snapshot -----------------------------------------

http POST '/v1/jobs/io/sleep?timeout_ms=100' --data-binary 5000
check_error "a job past its deadline: 504" 504 timeout
failed_id=$(json "$HTTP_BODY" .job_id)
http GET /v1/failures
check_eq "GET /v1/failures lists it first" "$failed_id io sleep timeout events-exec" \
    "$(json "$HTTP_BODY" '.failures[0] | "\(.job_id) \(.queue) \(.function) \(.error) \(.executor)"')"
check_eq "  total counts it" 1 "$(json "$HTTP_BODY" .total)"
check_eq "  /v1/stats jobs_failed too" 1 "$(stat_field jobs_failed)"

out="$E2E_TMP/events.out"
curl -s -N -m 2.5 -D "$E2E_TMP/events.headers" -o "$out" "$GW_URL/v1/events"
check "GET /v1/events: text/event-stream" \
    grep -qi '^Content-Type: text/event-stream' "$E2E_TMP/events.headers"
check "  event: snapshot lines, with ids" grep -q '^event: snapshot' "$out"
grep -m 1 '^data: ' "$out" | cut -c 7- >"$E2E_TMP/snap.json"
check_eq "  a snapshot holds t, queues, executors, stats, failures" "true 41 events-exec true 1" \
    "$(json "$E2E_TMP/snap.json" '"\(.t > 1600000000000) \(.queues | length) \(.executors[0].id) \(.stats | has("http_requests")) \(.failures | length)"')"
check_eq "  its queues carry GET /v1/queues's fields" "2 threads" \
    "$(json "$E2E_TMP/snap.json" '.queues[] | select(.name == "io") | "\(.capacity) \(.kind)"')"
# A stream waiting for its next snapshot finds its client gone when it
# writes that one: within a second or two.
stat_is() { [ "$(stat_field "$1")" = "$2" ]; }
check "  the stream ends with its client: none open" wait_until 10 stat_is event_streams 0

# ---- clients that never read ------------------------------------------------

loop_mark
"$PY" "$E2E_DIR/stuckstream.py" "${GW_HTTP##*:}" 3 120 "$E2E_TMP/stuck.ready" &
stuck=$!
PIDS+=("$stuck")
check "three streams that never read are open" wait_until 10 stat_ge event_streams 3
http GET /v1/events
check_error "a fourth: 503 too_many_streams (--max-event-streams 3)" 503 too_many_streams
check "  with Retry-After" has_header Retry-After
check_eq "  counted in event_streams_refused" 1 "$(stat_field event_streams_refused)"
healthz_during "three stuck streams"
check "their snapshots are skipped, not queued (event_snapshots_skipped grows)" \
    wait_until 30 stat_ge event_snapshots_skipped 3
check "the stuck streams are closed after --event-stall-ms (event_streams_stalled)" \
    wait_until 30 stat_ge event_streams_stalled 3
check_eq "  none open then" 0 "$(stat_field event_streams)"
check "  logged event=event_stream_stalled" grep -q 'event=event_stream_stalled' "$GW_LOG"
loop_check "three stuck streams"
curl -s -N -m 1.5 -o "$out" "$GW_URL/v1/events"
check "a new stream gets its snapshot again" grep -q '^event: snapshot' "$out"
kill "$stuck" 2>/dev/null
stop_process "$GW_PID"

# ---- tokens -------------------------------------------------------------------

TOKEN=$(openssl rand -hex 24)
echo "$TOKEN" >"$E2E_TMP/tokens"
chmod 600 "$E2E_TMP/tokens"
start_gateway --http-token-file "$E2E_TMP/tokens" --drain-timeout 20000 ||
    abort "gateway starts with tokens"
http GET /v1/events
check_error "with tokens, /v1/events without one: 401" 401 unauthorized
http GET "/v1/events?token=$TOKEN"
check_error "  a token in the query string is not taken: 401" 401 unauthorized
http GET /v1/failures
check_error "  /v1/failures without one: 401" 401 unauthorized
http GET /ui
check_eq "  /ui needs none (it holds no data)" 200 "$HTTP_STATUS"
http GET /ui/nope
check_error "  an unknown /ui/ path without one: 401 (routes stay hidden)" 401 unauthorized
curl -s -N -m 1.5 -o "$out" -H "Authorization: Bearer $TOKEN" "$GW_URL/v1/events"
check "  /v1/events with the bearer header streams" grep -q '^event: snapshot' "$out"

# ---- a drain with streams open ---------------------------------------------------

(
    curl -s -N -m 60 -o "$E2E_TMP/drain.out" -H "Authorization: Bearer $TOKEN" "$GW_URL/v1/events"
    echo $? >"$E2E_TMP/drain.rc"
) &
PIDS+=($!)
"$PY" "$E2E_DIR/stuckstream.py" "${GW_HTTP##*:}" 1 120 "$E2E_TMP/stuck2.ready" "$TOKEN" &
stuck=$!
PIDS+=("$stuck")
E2E_CURL=(-H "Authorization: Bearer $TOKEN")
check "a reading and a stuck stream are open" wait_until 10 stat_ge event_streams 2
wait_until 10 grep -q '^event: snapshot' "$E2E_TMP/drain.out"
kill -TERM "$GW_PID"
check "SIGTERM: the gateway stops with streams open" wait_until 10 all_gone "$GW_PID"
signal_ms=$(log_ms "$GW_LOG" 'event=signal')
stopped_ms=$(log_ms "$GW_LOG" 'event=stopped')
check "  within 3 s of the signal, not at --drain-timeout 20 s ($((stopped_ms - signal_ms)) ms)" \
    test $((stopped_ms - signal_ms)) -lt 3000
check "  drained, no drain_timeout" test "$(grep -c 'event=drain_timeout' "$GW_LOG")" -eq 0
check "the reading stream ends cleanly (curl exits 0)" wait_until 10 test -s "$E2E_TMP/drain.rc"
check_eq "  its status" 0 "$(cat "$E2E_TMP/drain.rc")"
kill "$stuck" 2>/dev/null

finish
