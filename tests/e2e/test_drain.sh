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
check "both executors serve io" wait_until 3 queue_is io executors 2

# 4 jobs of 800 ms fill both executors; 2 more wait in the gateway.
for i in 1 2 3 4 5 6; do
    http_bg "job$i" POST /v1/jobs/io/sleep --data-binary 800
done
check "both executors are busy" wait_until 2 queue_is io busy 4

kill -TERM "$ex_a"
check "the draining executor's slots leave the capacity at once" wait_until 2 queue_is io capacity 2
check_eq "io counts one executor while a drains" 1 "$(queue_field io executors)"

ok=0
for i in 1 2 3 4 5 6; do
    http_wait "job$i" 10 && [ "$HTTP_STATUS" = 200 ] && ok=$((ok + 1))
done
check_eq "all 6 jobs answer 200: none lost to the drain" 6 "$ok"

check "the drained executor exits" wait_until 5 all_gone "$ex_a"
wait "$ex_a" 2>/dev/null
check_eq "it exits 0" 0 "$?"
check "its log says it drained" grep -q 'reason="drained"' "$ex_a_log"

http POST /v1/jobs/io/echo --data-binary after-drain
check_eq "new jobs flow to the other executor" "200 after-drain" "$HTTP_STATUS $(cat "$HTTP_BODY")"
check_eq "executors_lost stays 0 (a goodbye after a drain loses nothing)" 0 \
    "$(http GET /v1/stats >/dev/null; json "$HTTP_BODY" .jobs_lost)"

# A drain that outlasts --drain-timeout ends with a goodbye; the job it still
# ran is answered by the gateway (executor_lost), never left hanging.
start_executor --connect "$GW_EXECUTORS" --queue slow=threads:1 --drain-timeout 300 ||
    abort "executor with a short drain starts"
ex_c=$EX_PID
http_bg long POST /v1/jobs/slow/sleep --data-binary 5000
check "the long job runs" wait_until 2 queue_is slow busy 1
kill -TERM "$ex_c"
http_wait long 5
check_error "a job past the drain timeout is answered 502 executor_lost" 502 executor_lost
check "that executor exits too" wait_until 5 all_gone "$ex_c"

finish
