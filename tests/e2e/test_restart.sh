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

# Kill it under load: 20 jobs of 10 s (from one curl process) in flight or
# waiting, far longer than it takes to see them running.
load_bg before 20 20 POST /v1/jobs/io/sleep --data-binary 10000
check "the load runs" wait_until 10 queue_is io busy 2
{ kill -KILL "$GW_PID" && wait "$GW_PID"; } 2>/dev/null # no "Killed" notice
check "the gateway is gone" all_gone "$GW_PID"
check "the load's callers see the connection drop" load_wait 30
check_eq "none of them got an answer" 0 "$(load_count before code 200)"

# Same ports, taken from the first gateway's ready line. The old sockets may
# linger a moment (TIME_WAIT is fine with SO_REUSEADDR; a bind that still
# fails is retried until the deadline).
restart() {
    start_gateway --http "$http_addr" --executors "$executors" --clients "$clients" 2>/dev/null
}
check "a new gateway starts on the same ports" wait_until 10 restart
check_eq "it serves the same HTTP address" "$http_addr" "$GW_HTTP"

check "the executor registers again" wait_until 10 queue_is io executors 1
# How long that took, by the new gateway's own clock: from its listening
# line to the registration. The executor's reconnect back-off is capped at
# one heartbeat interval (200 ms); 600 ms is 3x that.
listening=$(log_ms "$GW_LOG" 'event=listening')
registered=$(log_ms "$GW_LOG" 'event=executor_registered')
took=$((registered - listening))
check "... within 3 heartbeat intervals of the new gateway listening (gateway log: $took ms)" \
    test "$took" -ge 0 -a "$took" -le 600
check "io capacity is back (2, once its Credit arrives)" wait_until 10 queue_is io capacity 2
http POST /v1/jobs/io/echo --data-binary after
check_eq "a job runs after the restart" "200 after" "$HTTP_STATUS $(cat "$HTTP_BODY")"
load_bg after 20 20 POST /v1/jobs/io/sleep --data-binary 50
check "20 new concurrent requests finish" load_wait 30
check_eq "20 new concurrent requests all succeed" 20 "$(load_count after code 200)"
check "the executor is the same process" kill -0 "$executor"

finish
