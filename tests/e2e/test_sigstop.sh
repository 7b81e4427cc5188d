#!/usr/bin/env bash
# An executor frozen with SIGSTOP stops heartbeating: the gateway declares it
# dead after liveness x interval (3 x 200 ms, plus at most one interval), and
# when it is continued it registers again by itself and serves.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway --heartbeat-ms 200 || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 --heartbeat-ms 200 --liveness 3 ||
    abort "executor starts"
executor=$EX_PID
check "io has 1 executor" wait_until 3 queue_is io executors 1
http POST /v1/jobs/io/echo --data-binary before
check_eq "a job runs before the freeze" "200 before" "$HTTP_STATUS $(cat "$HTTP_BODY")"

# freeze continues the process on exit, whatever happens below.
t0=$(now_ms)
freeze "$executor"
check "the frozen executor is declared dead (executors 0)" wait_until 3 queue_is io executors 0
elapsed=$(($(now_ms) - t0))
check "declared dead within 1200 ms of SIGSTOP (took $elapsed ms)" test "$elapsed" -le 1200
# Its last message was at most one interval before the freeze, so it cannot
# be dead before 3 x 200 - 200 = 400 ms (less a tick of slack).
check "not declared dead early (>= 300 ms, took $elapsed ms)" test "$elapsed" -ge 300
check_eq "io capacity drops to 0" 0 "$(queue_field io capacity)"

thaw "$executor"
t0=$(now_ms)
check "the continued executor comes back by itself (within 3 s)" wait_until 3 queue_is io executors 1
elapsed=$(($(now_ms) - t0))
echo "  info  back after $elapsed ms"
check_eq "io capacity is back" 2 "$(queue_field io capacity)"
check "it is the same process" kill -0 "$executor"
http POST /v1/jobs/io/echo --data-binary after
check_eq "a job runs after the thaw" "200 after" "$HTTP_STATUS $(cat "$HTTP_BODY")"
http POST /v1/jobs/io/sleep --data-binary 100
check_eq "a sleep runs after the thaw" 200 "$HTTP_STATUS"
check_eq "/v1/stats executors_lost is 1" 1 "$(stat_field executors_lost)"

finish
