#!/usr/bin/env bash
# SIGTERM to an executor in the middle of jobs: it tells the gateway to send
# it no new jobs, finishes what it runs, says goodbye and exits 0; no job is
# lost and new jobs flow to the other executor.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 --id drain-a || abort "executor a starts"
ex_a=$EX_PID
ex_a_log=$EX_LOG
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 --id drain-b || abort "executor b starts"
check "both executors serve io" wait_until 10 queue_is io executors 2

# 4 jobs of 3 s fill both executors (they outlast the observation); 2 more
# wait in the gateway. One curl process sends all 6.
load_bg jobs 6 6 POST /v1/jobs/io/sleep --data-binary 3000
check "both executors are busy" wait_until 10 queue_is io busy 4

kill -TERM "$ex_a"
check "the draining executor's slots leave the capacity at once" wait_until 10 queue_is io capacity 2
check_eq "io counts one executor while a drains" 1 "$(queue_field io executors)"
check "the gateway saw it drain with its 2 jobs in flight" \
    grep -q 'event=executor_draining executor=drain-a jobs_in_flight=2' "$GW_LOG"

check "the 6 jobs finish" load_wait 60
check_eq "all 6 jobs answer 200: none lost to the drain" 6 "$(load_count jobs code 200)"

check "the drained executor exits" wait_until 10 all_gone "$ex_a"
wait "$ex_a" 2>/dev/null
check_eq "it exits 0" 0 "$?"
check "its log says it drained" grep -q 'reason="drained"' "$ex_a_log"

http POST /v1/jobs/io/echo --data-binary after-drain
check_eq "new jobs flow to the other executor" "200 after-drain" "$HTTP_STATUS $(cat "$HTTP_BODY")"
http GET /v1/stats
check_eq "jobs_lost stays 0 (a goodbye after a drain loses nothing)" 0 "$(json "$HTTP_BODY" .jobs_lost)"
check_eq "its goodbye counts as a clean leave (executors_left)" 1 "$(json "$HTTP_BODY" .executors_left)"
check_eq "not as a loss (executors_lost)" 0 "$(json "$HTTP_BODY" .executors_lost)"

# A drain that outlasts --drain-timeout ends with a goodbye; the job it still
# ran is answered by the gateway (executor_lost), never left hanging.
start_executor --connect "$GW_EXECUTORS" --queue slow=threads:1 --drain-timeout 300 ||
    abort "executor with a short drain starts"
ex_c=$EX_PID
http_bg long POST /v1/jobs/slow/sleep --data-binary 30000
check "the long job runs" wait_until 10 queue_is slow busy 1
kill -TERM "$ex_c"
http_wait long 30
check_error "a job past the drain timeout is answered 502 executor_lost" 502 executor_lost
check "that executor exits too" wait_until 10 all_gone "$ex_c"

finish
