#!/usr/bin/env bash
# A gateway killed with SIGKILL and started again on the same ports: the
# executor notices and registers again by itself, and jobs run.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway || abort "gateway starts"
http_addr=$GW_HTTP
executors=$GW_EXECUTORS
clients=$GW_CLIENTS
start_executor --connect "$executors" --queue io=threads:2 --heartbeat-ms 200 --liveness 3 ||
    abort "executor starts"
executor=$EX_PID

http POST /v1/jobs/io/echo --data-binary before
check_eq "a job runs before the restart" "200 before" "$HTTP_STATUS $(cat "$HTTP_BODY")"

# Kill it under load: 20 jobs of 300 ms in flight or waiting.
seq 1 20 | xargs -P 20 -I{} curl -s -m 5 -o /dev/null -X POST --data-binary 300 \
    "http://$http_addr/v1/jobs/io/sleep" &
load=$!
PIDS+=("$load")
check "the load runs" wait_until 2 queue_is io busy 2
{ kill -KILL "$GW_PID" && wait "$GW_PID"; } 2>/dev/null # no "Killed" notice
wait "$load" 2>/dev/null
check "the gateway is gone" all_gone "$GW_PID"

# Same ports, taken from the first gateway's ready line. The old sockets may
# linger a moment (TIME_WAIT is fine with SO_REUSEADDR; a bind that still
# fails is retried until the deadline).
restart() {
    start_gateway --http "$http_addr" --executors "$executors" --clients "$clients" 2>/dev/null
}
check "a new gateway starts on the same ports" wait_until 5 restart
t0=$(now_ms)
check_eq "it serves the same HTTP address" "$http_addr" "$GW_HTTP"

check "the executor registers again" wait_until 5 queue_is io executors 1
elapsed=$(($(now_ms) - t0))
check "... within two heartbeat intervals of 200 ms (+400 ms for the polling itself): $elapsed ms" \
    test "$elapsed" -le 800
check_eq "io capacity is back" 2 "$(queue_field io capacity)"
http POST /v1/jobs/io/echo --data-binary after
check_eq "a job runs after the restart" "200 after" "$HTTP_STATUS $(cat "$HTTP_BODY")"
seq 1 20 | xargs -P 20 -I{} curl -s -m 10 -o /dev/null -w '%{http_code}\n' -X POST \
    --data-binary 50 "$GW_URL/v1/jobs/io/sleep" >"$E2E_TMP/after"
check_eq "20 new concurrent requests all succeed" 20 "$(grep -c '^200$' "$E2E_TMP/after")"
check "the executor is the same process" kill -0 "$executor"

finish
