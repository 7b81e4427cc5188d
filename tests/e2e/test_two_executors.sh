#!/usr/bin/env bash
# Two executors share queue io: the gateway sums their capacity, uses both
# at once, and drops one that leaves.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 --id ex-a || abort "executor a starts"
ex_a=$EX_PID
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 --id ex-b || abort "executor b starts"

check "/v1/queues shows 2 executors on io" wait_until 10 queue_is io executors 2
check_eq "io capacity is the sum, 4" 4 "$(queue_field io capacity)"
check_eq "io available is 4" 4 "$(queue_field io available)"

# waited_us LOAD: each answer's X-Offload-Waited-Us (the gateway's own
# measure of the time a job waited for a slot), one per line.
waited_us() {
    local h
    for h in "$E2E_TMP/$1"/*.headers; do
        sed -n 's/^X-Offload-Waited-Us: *\([0-9]*\).*/\1/ip' "$h"
    done
}

# 4 sleeps of 2 s on 4 slots, from one curl process: one round, both
# executors busy at once (busy reaches 4 only if both executors' 2 slots are
# used), and no job waits for a slot (a wait would be a whole 2 s job).
load_bg one_round 4 4 POST /v1/jobs/io/sleep --data-binary 2000
check "busy reaches 4: both executors run jobs" wait_until 10 queue_is io busy 4
check "the 4 jobs finish" load_wait 30
check_eq "4 parallel sleeps answer 200" 4 "$(load_count one_round code 200)"
check_eq "none waited for a slot (X-Offload-Waited-Us < 0.5 s each)" 4 \
    "$(waited_us one_round | awk '$1 < 500000' | wc -l)"

# A 5th job on 4 slots waits for a second round: exactly one waits about a
# whole job (more than half of its 2 s, whatever the arrival skew).
load_bg two_rounds 5 5 POST /v1/jobs/io/sleep --data-binary 2000
check "the 5 jobs finish" load_wait 30
check_eq "5 parallel sleeps answer 200" 5 "$(load_count two_rounds code 200)"
check_eq "exactly one waited for a slot (X-Offload-Waited-Us > 1 s)" 1 \
    "$(waited_us two_rounds | awk '$1 > 1000000' | wc -l)"

# One executor leaves: the fleet shrinks, the other keeps serving.
stop_process "$ex_a"
check_eq "executor a exits 0 on SIGTERM" 0 "$STOP_RC"
check "/v1/queues drops to 1 executor" wait_until 10 queue_is io executors 1
check_eq "io capacity is 2" 2 "$(queue_field io capacity)"
http POST /v1/jobs/io/echo --data-binary still
check_eq "the remaining executor serves" "200 still" "$HTTP_STATUS $(cat "$HTTP_BODY")"

finish
