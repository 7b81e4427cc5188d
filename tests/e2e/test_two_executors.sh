#!/usr/bin/env bash
# Two executors share queue io: the gateway sums their capacity, uses both
# at once, and drops one that leaves.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 --id ex-a || abort "executor a starts"
ex_a=$EX_PID
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 --id ex-b || abort "executor b starts"

check "/v1/queues shows 2 executors on io" wait_until 3 queue_is io executors 2
check_eq "io capacity is the sum, 4" 4 "$(queue_field io capacity)"
check_eq "io available is 4" 4 "$(queue_field io available)"

# 4 sleeps of 500 ms on 4 slots: one round, both executors busy at once
# (busy reaches 4 only if both executors' 2 slots are used).
t0=$(now_ms)
for i in 1 2 3 4; do
    http_bg "job$i" POST /v1/jobs/io/sleep --data-binary 500
done
check "busy reaches 4: both executors run jobs" wait_until 2 queue_is io busy 4
ok=0
for i in 1 2 3 4; do
    http_wait "job$i" 5 && [ "$HTTP_STATUS" = 200 ] && ok=$((ok + 1))
done
elapsed=$(($(now_ms) - t0))
check_eq "4 parallel sleeps answer 200" 4 "$ok"
check "4 parallel 500 ms sleeps take one round (< 750 ms, took $elapsed)" test "$elapsed" -lt 750

# A 5th job on 4 slots takes a second round.
t0=$(now_ms)
for i in 1 2 3 4 5; do
    http_bg "round$i" POST /v1/jobs/io/sleep --data-binary 300
done
ok=0
for i in 1 2 3 4 5; do
    http_wait "round$i" 5 && [ "$HTTP_STATUS" = 200 ] && ok=$((ok + 1))
done
elapsed=$(($(now_ms) - t0))
check_eq "5 parallel sleeps answer 200" 5 "$ok"
check "5 jobs on 4 slots take two rounds (>= 600 ms, took $elapsed)" test "$elapsed" -ge 600

# One executor leaves: the fleet shrinks, the other keeps serving.
stop_process "$ex_a"
check_eq "executor a exits 0 on SIGTERM" 0 "$STOP_RC"
check "/v1/queues drops to 1 executor" wait_until 3 queue_is io executors 1
check_eq "io capacity is 2" 2 "$(queue_field io capacity)"
http POST /v1/jobs/io/echo --data-binary still
check_eq "the remaining executor serves" "200 still" "$HTTP_STATUS $(cat "$HTTP_BODY")"

finish
