#!/usr/bin/env bash
# A caller that hangs up while its job waits or runs: the waiting job leaves
# its queue, the running one is cancelled on its executor (its slot comes
# back early), and both are counted.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:1 || abort "executor starts"

# A 30 s job, and a second caller waiting behind it; both hang up (killed)
# once they are seen running and waiting. Nothing but a cancellation can
# free the slot before 30 s.
curl -s -m 60 -o /dev/null -X POST --data-binary 30000 "$GW_URL/v1/jobs/io/sleep" &
running=$!
PIDS+=("$running")
check "the job runs" wait_until 10 queue_is io busy 1
curl -s -m 60 -o /dev/null -X POST --data-binary 10 "$GW_URL/v1/jobs/io/sleep" &
waiting=$!
PIDS+=("$waiting")
check "the second job waits" wait_until 10 queue_is io waiting 1
kill "$waiting"
check "the waiting job leaves the queue when its caller hangs up" wait_until 10 queue_is io waiting 0
check_eq "the running job still runs" 1 "$(queue_field io busy)"
kill "$running"
check "the running job is cancelled when its caller hangs up: its slot is free" \
    wait_until 10 queue_is io busy 0
http GET /v1/stats
check_eq "both hang-ups are counted" 2 "$(json "$HTTP_BODY" .callers_gone)"
check_eq "the cancelled job's late result is dropped, not delivered" 1 \
    "$(json "$HTTP_BODY" .results_late)"
http POST /v1/jobs/io/echo --data-binary still-here
check_eq "the queue serves the next caller at once" "200 still-here" "$HTTP_STATUS $(cat "$HTTP_BODY")"

finish
