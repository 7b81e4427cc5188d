#!/usr/bin/env bash
# An executor frozen with SIGSTOP stops heartbeating: the gateway declares it
# dead after liveness x interval (3 x 200 ms, plus at most one tick), and
# when it is continued it registers again by itself and serves. How long it
# took is read from the gateway's own log, not from this script's clock.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

# --queue io keeps io known while no executor serves it (else it is freed).
start_gateway --heartbeat-ms 200 --queue io || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 --heartbeat-ms 200 --liveness 3 ||
    abort "executor starts"
executor=$EX_PID
check "io has 1 executor" wait_until 10 queue_is io executors 1
http POST /v1/jobs/io/echo --data-binary before
check_eq "a job runs before the freeze" "200 before" "$HTTP_STATUS $(cat "$HTTP_BODY")"

# freeze continues the process on exit, whatever happens below.
freeze "$executor"
check "the frozen executor is declared dead (executors 0)" wait_until 10 queue_is io executors 0
# The gateway says how long it heard nothing: more than liveness x interval
# (600 ms), and at most that plus a tick (50 ms) and the loop's scheduling;
# 1200 ms leaves that slack more than 3x over.
silent=$(sed -n 's/.*event=executor_lost .*reason="silent for \([0-9]*\) ms".*/\1/p' "$GW_LOG" | head -n 1)
check "the gateway logs why: silent for N ms (N=$silent)" test -n "$silent"
# (The log rounds down to whole ms: 600.3 ms of silence reads "600".)
check "not declared dead early: silent >= 600 ms ($silent)" test "${silent:-0}" -ge 600
check "declared dead promptly: silent <= 1200 ms ($silent)" test "${silent:-99999}" -le 1200
check_eq "io capacity drops to 0" 0 "$(queue_field io capacity)"

thaw "$executor"
check "the continued executor comes back by itself" wait_until 10 queue_is io executors 1
check "the gateway logs its registration again" \
    grep -q 'event=executor_registered' <(sed -n '/event=executor_lost/,$p' "$GW_LOG")
check "io capacity is back (2, once its Credit arrives)" wait_until 10 queue_is io capacity 2
check "it is the same process" kill -0 "$executor"
http POST /v1/jobs/io/echo --data-binary after
check_eq "a job runs after the thaw" "200 after" "$HTTP_STATUS $(cat "$HTTP_BODY")"
http POST /v1/jobs/io/sleep --data-binary 100
check_eq "a sleep runs after the thaw" 200 "$HTTP_STATUS"
check_eq "/v1/stats executors_lost is 1" 1 "$(stat_field executors_lost)"

finish
