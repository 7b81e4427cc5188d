#!/usr/bin/env bash
# A gateway stopped (SIGSTOP) for 5 s, far past its executor's liveness
# window (3 x 200 ms), keeps that executor and the jobs it runs: on resume
# it does not count its own stall against the executor (event=loop_stall,
# event=liveness_paused), and the executor keeps its connection (ZeroMQ's
# heartbeat gives up only after --link-timeout-ms, 10 s by default) and its
# jobs. Evidence is the gateway's log and counters, not this script's clock.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway --heartbeat-ms 200 || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:8 --heartbeat-ms 200 --liveness 3 ||
    abort "executor starts"
check "io has 1 executor" wait_until 10 queue_is io executors 1

# Six jobs that outlast the freeze and the checks after it (cancelled
# after them).
io_jobs_start

freeze "$GW_PID"
# The freeze must outlast the liveness window many times over: wait for the
# executor to notice the silence (its log), then 5 s in all.
check "the executor notices the silent gateway" wait_until 10 grep -q 'event=gateway_silent' "$EX_LOG"
sleep 4.4
thaw "$GW_PID"

check "the gateway logs its stall" wait_until 10 grep -q 'event=loop_stall ms=[0-9]* where=late' "$GW_LOG"
stall=$(sed -n 's/.*event=loop_stall ms=\([0-9]*\) where=late.*/\1/p' "$GW_LOG" | sort -n | tail -n 1)
check "the stall it logs is the freeze: >= 4000 ms ($stall)" test "${stall:-0}" -ge 4000
check "it pauses liveness for it" grep -q 'event=liveness_paused' "$GW_LOG"
check_eq "/v1/stats loop_stalls >= 1" 1 "$(($(stat_field loop_stalls) >= 1))"
check_eq "/v1/stats loop_stall_max_ms >= 4000" 1 "$(($(stat_field loop_stall_max_ms) >= 4000))"
# Well past a liveness window after the resume, the executor is still there.
sleep 1
check_eq "io has 1 executor" 1 "$(queue_field io executors)"
io_jobs_kept "after the freeze"
check_eq "/v1/stats jobs_lost is 0" 0 "$(stat_field jobs_lost)"
check "the executor kept its connection (no gateway_disconnected)" \
    test "$(grep -c 'event=gateway_disconnected' "$EX_LOG")" -eq 0
check "the executor orphaned no job" test "$(grep -c 'event=jobs_orphaned' "$EX_LOG")" -eq 0
check_eq "executors in /v1/stats is 1" 1 "$(stat_field executors)"
http POST /v1/jobs/io/echo --data-binary after
check_eq "a new job runs" "200 after" "$HTTP_STATUS $(cat "$HTTP_BODY")"

finish
