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

{ kill -KILL "$GW_PID" && wait "$GW_PID"; } 2>/dev/null # no "Killed" notice
check "the gateway is gone" all_gone "$GW_PID"

# Same ports, taken from the first gateway's ready line. The old sockets may
# linger a moment (TIME_WAIT is fine with SO_REUSEADDR; a bind that still
# fails is retried until the deadline).
restart() {
    start_gateway --http "$http_addr" --executors "$executors" --clients "$clients" 2>/dev/null
}
check "a new gateway starts on the same ports" wait_until 5 restart
check_eq "it serves the same HTTP address" "$http_addr" "$GW_HTTP"

check "the executor registers again (within 5 s)" wait_until 5 queue_is io executors 1
check_eq "io capacity is back" 2 "$(queue_field io capacity)"
http POST /v1/jobs/io/echo --data-binary after
check_eq "a job runs after the restart" "200 after" "$HTTP_STATUS $(cat "$HTTP_BODY")"
check "the executor is the same process" kill -0 "$executor"

finish
