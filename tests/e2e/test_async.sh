#!/usr/bin/env bash
# liboffload's asynchronous API, driven by examples/client/epoll_async.c (a
# plain epoll loop, built here against the in-tree library): 1,000 submits
# with 100 in flight are each answered exactly once; a running job is
# cancelled (its worker process killed); offload_free with a job in flight
# cancels it; a client that exits with a job in flight has it cancelled
# when its lease runs out; a client started before its gateway gets its
# answers once the gateway comes up.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

san=()
[ -n "${OFFLOAD_E2E_SANITIZED:-}" ] && san=(-fsanitize=address,undefined)
prog="$E2E_TMP/epoll_async"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE "$REPO_ROOT/examples/client/epoll_async.c" \
    $(PKG_CONFIG_PATH="$OFFLOAD_BIN/../lib/pkgconfig" pkg-config --cflags --libs offload) \
    "${san[@]}" -o "$prog" 2>"$E2E_TMP/cc.err"
check_eq "the epoll example builds against liboffload" 0 "$?" || { cat "$E2E_TMP/cc.err" >&2; finish; }

start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --drain-timeout 0 --kill-grace-ms 300 \
    --queue io=threads:8 --queue cpu=processes:1 || abort "executor starts"

out=$("$prog" "$GW_CLIENTS" load io echo hello 1000 100 2>&1)
echo "  info  $out"
check_eq "1,000 async submits, 100 in flight: each answered exactly once, all ok" \
    "answered=1000 once=1000 ok=1000" "$(cut -d' ' -f1-3 <<<"$out")"
check "  the gateway saw 1,000 client requests" stat_ge client_requests 1000

out=$("$prog" "$GW_CLIENTS" cancel cpu sleep 30000 500 2>&1)
check_eq "offload_cancel on a running process job: its callback says cancelled" cancelled "$out"
check "  its worker process was killed" \
    wait_until 10 grep -q 'event=worker_failed queue=cpu .*code=cancelled' "$EX_LOG"
n=$(grep -c 'event=worker_failed queue=cpu .*code=cancelled' "$EX_LOG")

out=$("$prog" "$GW_CLIENTS" free cpu sleep 30000 2>&1)
check_eq "offload_free with a job in flight: its callback runs, cancelled" "cancelled answered=1" "$out"
check "  and the gateway cancelled the job on its executor" wait_until 10 eval \
    '[ "$(grep -c "event=worker_failed queue=cpu .*code=cancelled" "$EX_LOG")" -gt "$n" ]'
n=$(grep -c 'event=worker_failed queue=cpu .*code=cancelled' "$EX_LOG")

gone0=$(stat_field callers_gone)
out=$("$prog" "$GW_CLIENTS" exit cpu sleep 30000 500 2>&1)
check_eq "a client exits with a job in flight (lease 500 ms)" "exiting with 1 in flight" "$out"
check "  the gateway finds it gone when its lease runs out" \
    wait_until 10 grep -q 'event=client_gone .*lease_ms=500 jobs_cancelled=1' "$GW_LOG"
check "  counted in callers_gone" stat_ge callers_gone $((gone0 + 1))
check "  and its job was cancelled on the executor" wait_until 10 eval \
    '[ "$(grep -c "event=worker_failed queue=cpu .*code=cancelled" "$EX_LOG")" -gt "$n" ]'

# A gateway that is down when the client starts: the client's jobs go out
# when it comes up (same address), and are answered.
clients_ep=$GW_CLIENTS
stop_process "$EX_PID"
stop_process "$GW_PID"
"$prog" "$clients_ep" load io echo late 20 5 >"$E2E_TMP/late.out" 2>&1 &
late=$!
PIDS+=("$late")
# --queue io: the client's Submits may arrive before the executor's Hello;
# a queue named at start makes them wait for it instead of unknown_queue.
start_gateway --clients "$clients_ep" --queue io || abort "the gateway comes up on the same address"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 || abort "executor starts"
check "a client started before its gateway is answered once it is up" wait_until 20 all_gone "$late"
check_eq "  every job once, all ok" "answered=20 once=20 ok=20" "$(cut -d' ' -f1-3 <"$E2E_TMP/late.out")"

finish
