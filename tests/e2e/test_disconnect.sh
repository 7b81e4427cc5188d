#!/usr/bin/env bash
# A caller that hangs up while its job waits or runs: the waiting job leaves
# its queue, the running one is cancelled on its executor (its slot comes
# back early), and both are counted.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:1 || abort "executor starts"

# A 5 s job whose caller gives up after 1.2 s.
curl -s -m 1.2 -o /dev/null -X POST --data-binary 5000 "$GW_URL/v1/jobs/io/sleep" &
running=$!
PIDS+=("$running")
check "the job runs" wait_until 2 queue_is io busy 1
# A second caller waits behind it and gives up first.
curl -s -m 0.4 -o /dev/null -X POST --data-binary 10 "$GW_URL/v1/jobs/io/sleep" &
waiting=$!
PIDS+=("$waiting")
check "the second job waits" wait_until 2 queue_is io waiting 1
t0=$(now_ms)
check "the waiting job leaves the queue when its caller hangs up" wait_until 2 queue_is io waiting 0
check "the running job is cancelled: its slot is free long before 5 s" wait_until 2 queue_is io busy 0
elapsed=$(($(now_ms) - t0))
check "freed within 2 s of the hang-ups ($elapsed ms)" test "$elapsed" -lt 2000
http GET /v1/stats
check_eq "both hang-ups are counted" 2 "$(json "$HTTP_BODY" .callers_gone)"
check_eq "the cancelled job's late result is dropped, not delivered" 1 \
    "$(json "$HTTP_BODY" .results_late)"
http POST /v1/jobs/io/echo --data-binary still-here
check_eq "the queue serves the next caller at once" "200 still-here" "$HTTP_STATUS $(cat "$HTTP_BODY")"

finish
