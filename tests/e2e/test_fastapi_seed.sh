#!/usr/bin/env bash
# The FastAPI example (examples/fastapi_seed/app.py: the seed's app, its
# blocking work awaited through the Python client) under uvicorn, against a
# real gateway and executor. The seed's ab command shape (ab -n 1000 -c 50,
# its two headers) on the three routes that blocked a thread: every request
# answers 200, the gateway's io queue ran the 1000 jobs of each (100 ms
# sleeps on io=threads:50), and each run takes less than 3x the ideal of
# n/c x 100 ms = 2.0 s (bench/fastapi_seed.sh measures how close it gets).
# Then a second instance on a one-slot queue that refuses waiting jobs,
# with 30 s jobs: a full queue answers 503 with Retry-After, and a caller
# that hangs up has its job cancelled at the gateway and on the executor.
# Needs Debian's python3-fastapi and python3-uvicorn (scripts/deps.sh).
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

# Debian's python: the packages are for it, and it starts fast (the python3
# first on PATH may be a slow shim).
PY=/usr/bin/python3
if ! "$PY" -c 'import fastapi, uvicorn' 2>/dev/null; then
    [ "${CI:-}" = true ] &&
        abort "$PY imports fastapi and uvicorn (apt-get install python3-fastapi python3-uvicorn)"
    echo "$TEST_NAME: skipped: $PY cannot import fastapi and uvicorn" \
        "(apt-get install python3-fastapi python3-uvicorn, or scripts/deps.sh)"
    finish
fi

# 3x the ideal; bench/fastapi_seed.sh measures.
max_s=${OFFLOAD_E2E_FASTAPI_SEED_MAX_S:-6.0}

start_gateway --queue 'slow:max-waiting=0' || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:50 --queue slow=threads:1 ||
    abort "executor starts"

# start_app NAME [VAR=VALUE...]: the example under uvicorn on a port the
# kernel picks (read from uvicorn's log), with those environment variables;
# returns once it answers HTTP. Sets APP_PID, APP_URL and APP_LOG.
app_listening_or_gone() {
    grep -q 'Uvicorn running on' "$APP_LOG" || ! kill -0 "$APP_PID" 2>/dev/null
}
start_app() {
    local name=$1 port
    shift
    APP_LOG="$E2E_TMP/$name.log"
    env OFFLOAD_GATEWAY="$GW_CLIENTS" PYTHONPATH="$REPO_ROOT/client/python" \
        OFFLOAD_PB2_DIR="$OFFLOAD_BIN/../python" "$@" \
        "$PY" -m uvicorn app:app --app-dir "$REPO_ROOT/examples/fastapi_seed" \
        --host 127.0.0.1 --port 0 --no-access-log >>"$APP_LOG" 2>&1 &
    APP_PID=$!
    PIDS+=("$APP_PID")
    wait_until 30 app_listening_or_gone
    if ! grep -q 'Uvicorn running on' "$APP_LOG"; then
        tail -n 20 "$APP_LOG" >&2
        return 1
    fi
    port=$(sed -n 's|.*Uvicorn running on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$APP_LOG")
    APP_URL="http://127.0.0.1:$port"
    wait_until 10 curl -sf -o /dev/null -m 2 "$APP_URL/openapi.json"
}

start_app app OFFLOAD_SEED_MS=100 || abort "the app starts under uvicorn"
app_pid=$APP_PID
app_url=$APP_URL
app_log=$APP_LOG

# Every route answers what the seed's do: null.
for route in /test/sync /test/async /test/sync_async /test/sync_async_fastapi; do
    http GET "$app_url$route"
    check_eq "$route answers 200 null" "200 null" "$HTTP_STATUS $(cat "$HTTP_BODY")"
done

seed_ab() {
    local route=$1 out before after t
    out="$E2E_TMP/ab${route//\//_}.txt"
    before=$(queue_field io completed)
    ab -n 1000 -c 50 -s 30 -H 'accept: application/json' -H 'x-data-origin: source' \
        "$app_url$route" >"$out" 2>&1
    check_eq "$route: ab exits 0" 0 "$?"
    check_eq "$route: 1000 complete" 1000 "$(ab_field "$out" 'Complete requests')"
    check_eq "$route: 0 failed" 0 "$(ab_field "$out" 'Failed requests')"
    check_eq "$route: 0 non-2xx" 0 "$(ab_field "$out" 'Non-2xx responses')"
    after=$(queue_field io completed)
    check_eq "$route: io completed 1000 more jobs, none timed out, none running" "1000 0 0" \
        "$((${after:-0} - ${before:-0})) $(queue_field io timeouts) $(queue_field io busy)"
    t=$(ab_field "$out" 'Time taken for tests')
    check "$route: took $t s (ideal 2.0, limit $max_s)" \
        awk -v t="${t:-inf}" -v max="$max_s" 'BEGIN { exit !(t >= 2.0 && t <= max) }'
}

seed_ab /test/sync
seed_ab /test/sync_async
seed_ab /test/sync_async_fastapi

# The second instance: 30 s jobs on the queue "slow" (one slot, nothing
# may wait). One caller holds the slot; a second is refused at once.
start_app slow OFFLOAD_SEED_MS=30000 OFFLOAD_SEED_QUEUE=slow || abort "the slow app starts"
slow_pid=$APP_PID
slow_url=$APP_URL
slow_log=$APP_LOG
curl -s -m 60 -o /dev/null "$slow_url/test/sync" &
holder=$!
PIDS+=("$holder")
check "a 30 s job runs on slow" wait_until 10 queue_is slow busy 1
http GET "$slow_url/test/sync_async"
check_error "a full queue answers 503 queue_full" 503 queue_full
check "  with Retry-After" has_header Retry-After
check_eq "  refused by the gateway" 1 "$(queue_field slow rejected)"

# The holder hangs up: the app cancels its handler, the client sends a
# Cancel, the gateway cancels the job on the executor, whose sleep stops
# within its 20 ms slice. Nothing else frees the slot before 30 s.
late_before=$(stat_field results_late)
kill "$holder"
check "a caller that hangs up has its job cancelled: the slot is free again" \
    wait_until 10 queue_is slow busy 0
check_eq "  the job did not complete" 0 "$(queue_field slow completed)"
check "  its late result was dropped by the gateway" stat_ge results_late $((${late_before:-0} + 1))

# Both apps stop cleanly on SIGTERM (the lifespan closes the client), and
# neither logged an error.
stop_process "$slow_pid"
check_eq "the slow app exits 0 on SIGTERM" 0 "$STOP_RC"
stop_process "$app_pid"
check_eq "the app exits 0 on SIGTERM" 0 "$STOP_RC"
check "  after its shutdown" grep -q 'Application shutdown complete' "$app_log"
check "no error or traceback in the apps' logs" \
    bash -c '! grep -E "Traceback|ERROR" "$@"' _ "$app_log" "$slow_log"

finish
