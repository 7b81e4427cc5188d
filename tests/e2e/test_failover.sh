#!/usr/bin/env bash
# Clients with several gateways: two gateways share one executor; liboffload
# (a long-lived C client and the offload CLI) and the Python client, given
# both clients endpoints, use both, move to the one left when the other is
# killed (without waiting for deadlines), use a restarted one again, and end
# the calls in flight on a killed gateway with no_reply instead of hanging.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

CLI="$OFFLOAD_BIN/offload"
[ -x "$CLI" ] || abort "the offload CLI is built ($CLI)"

start_gateway || abort "gateway A starts"
A_PID=$GW_PID A_URL=$GW_URL A_HTTP=$GW_HTTP A_EX=$GW_EXECUTORS A_CL=$GW_CLIENTS
start_gateway || abort "gateway B starts"
B_PID=$GW_PID B_URL=$GW_URL B_HTTP=$GW_HTTP B_EX=$GW_EXECUTORS B_CL=$GW_CLIENTS
start_executor --connect "$A_EX" --connect "$B_EX" --queue io=threads:16 ||
    abort "an executor of both gateways starts"
EPS="$A_CL,$B_CL"

# requests URL: a gateway's client_requests (Submits and Queries on its
# clients socket), 0 when it does not answer.
requests() {
    local v
    v=$(curl -s -m 5 "$1/v1/stats" | jq -r '.client_requests // 0' 2>/dev/null)
    echo "${v:-0}"
}
serves_io() { [ "$(curl -s -m 5 "$1/v1/queues" | jq -r '.queues[] | select(.name=="io") | .executors' 2>/dev/null)" = 1 ]; }

# restart_a / restart_b: the gateway again on its old addresses (--queue io:
# Submits that come before the executor's Hello wait for it; without the
# long-lived client's FIFOs, which would keep its stdin open).
restart_a() {
    start_gateway --http "$A_HTTP" --executors "$A_EX" --clients "$A_CL" --queue io 7>&- 8<&- || return 1
    A_PID=$GW_PID
    wait_until 10 serves_io "$A_URL"
}
restart_b() {
    start_gateway --http "$B_HTTP" --executors "$B_EX" --clients "$B_CL" --queue io 7>&- 8<&- || return 1
    B_PID=$GW_PID
    wait_until 10 serves_io "$B_URL"
}

kill_gateway() {
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# A long-lived client (failover_client.c or .py) on a pair of FIFOs:
# client_start NAME COMMAND...; ask LINE sets ANSWER (its one-line reply).
client_start() {
    local name=$1
    shift
    mkfifo "$E2E_TMP/$name.in" "$E2E_TMP/$name.out"
    "$@" <"$E2E_TMP/$name.in" >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" &
    CLIENT_PID=$!
    PIDS+=("$CLIENT_PID")
    exec 7>"$E2E_TMP/$name.in" 8<"$E2E_TMP/$name.out"
}
client_stop() {
    exec 7>&- 8<&-
    wait_until 10 all_gone "$CLIENT_PID" || kill -KILL "$CLIENT_PID"
    wait "$CLIENT_PID" 2>/dev/null
}
ask() {
    ANSWER=""
    echo "$1" >&7
    read -r -t 60 ANSWER <&8
}
field() { # field NAME: NAME=VALUE in ANSWER
    local kv
    for kv in $ANSWER; do [ "${kv%%=*}" = "$1" ] && echo "${kv#*=}"; done
}

# scenario LABEL: the same story for whichever long-lived client runs.
scenario() {
    local label=$1 a0 b0
    ask "calls 20 3000"
    check_eq "$label: 20 calls over both gateways succeed" "ok=20 other=0" \
        "$(field ok | sed 's/^/ok=/') $(field other | sed 's/^/other=/')"
    a0=$(requests "$A_URL") b0=$(requests "$B_URL")
    # 6 sleeps of 1.5 s (deadline 5 s) dealt over both gateways.
    ask "sleeps 6 1500 5000"
    check_eq "$label: 6 sleeps submitted" "submitted 6" "$ANSWER"
    check "$label: both gateways hold some of them" wait_until 10 \
        eval '[ "$(requests "$A_URL")" -gt "$a0" ] && [ "$(requests "$B_URL")" -gt "$b0" ]'
    kill_gateway "$A_PID"
    b0=$(requests "$B_URL")
    # With A gone, each call goes to B: far below its 3 s deadline (3x).
    ask "calls 20 3000"
    check_eq "$label: with A killed, 20 new calls succeed" "20 0" "$(field ok) $(field other)"
    check "$label: ... each far below its deadline (max $(field max_ms) ms < 1000)" \
        [ "$(field max_ms)" -lt 1000 ]
    check "$label: ... and B took them" [ "$(requests "$B_URL")" -ge $((b0 + 20)) ]
    # The sleeps B holds end ok; those A held end no_reply at their deadline
    # plus the 1 s grace (6 s), not never.
    ask "wait"
    check "$label: the sleeps in flight all end ($ANSWER)" \
        [ $(($(field ok) + $(field no_reply))) -eq 6 ]
    check "$label: ... those on the killed gateway with no_reply" [ "$(field no_reply)" -ge 1 ]
    check "$label: ... those on B with their result" [ "$(field ok)" -ge 1 ]
    check "$label: ... by their deadline plus the grace (max $(field max_ms) ms < 18000)" \
        [ "$(field max_ms)" -lt 18000 ]
    restart_a || abort "gateway A restarts on its addresses"
    # ZeroMQ reconnects on its own: calls reach A again.
    used_again() {
        ask "calls 10 3000"
        [ "$(field ok)" = 10 ] && [ "$(requests "$A_URL")" -gt 0 ]
    }
    check "$label: the restarted A is used again" wait_until 10 used_again
    # SIGTERM on an idle gateway: it exits at once; calls go to A.
    stop_process "$B_PID"
    a0=$(requests "$A_URL")
    ask "calls 20 3000"
    check_eq "$label: with B stopped (SIGTERM), 20 calls succeed" "20 0" \
        "$(field ok) $(field other)"
    check "$label: ... each far below its deadline (max $(field max_ms) ms < 1000)" \
        [ "$(field max_ms)" -lt 1000 ]
    check "$label: ... on A" [ "$(requests "$A_URL")" -ge $((a0 + 20)) ]
    restart_b || abort "gateway B restarts on its addresses"
}

# ---- the offload CLI ----------------------------------------------------------
check_eq "offload call --gateway A,B works" "hi" "$("$CLI" call --gateway "$EPS" io echo hi)"
"$CLI" bench --gateway "$EPS" -c 8 -n 400 io echo x >"$E2E_TMP/bench" 2>&1
check_eq "offload bench --gateway A,B: every job ok" 0 "$?"
check "... A took some of them" [ "$(requests "$A_URL")" -gt 0 ]
check "... B took some of them" [ "$(requests "$B_URL")" -gt 0 ]
ids=()
for _ in 1 2 3 4; do ids+=("$("$CLI" submit --gateway "$EPS" io echo detached)"); done
found=0
for id in "${ids[@]}"; do
    [ "$("$CLI" result --gateway "$EPS" --wait "$id")" = detached ] && found=$((found + 1))
done
check_eq "detached jobs are found on whichever gateway holds them" 4 "$found"

# ---- liboffload, a long-lived client ------------------------------------------
pc_dir="$OFFLOAD_BIN/../lib/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror "$E2E_DIR/failover_client.c" -o "$E2E_TMP/failover_client" \
    $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs offload) $SAN_FLAGS 2>"$E2E_TMP/cc.err" ||
    abort "failover_client.c builds against liboffload"
client_start c "$E2E_TMP/failover_client" "$EPS"
scenario "C"
client_stop

# ---- the CLI with one gateway down, then with none up ---------------------------
kill_gateway "$A_PID"
t0=$(now_ms)
check_eq "A down: offload call --gateway A,B works" "down" \
    "$("$CLI" call --gateway "$EPS" --timeout-ms 10000 io echo down)"
check "... far below its deadline ($(($(now_ms) - t0)) ms < 3000)" [ $(($(now_ms) - t0)) -lt 3000 ]
stop_process "$B_PID"
"$CLI" call --gateway "$EPS" --timeout-ms 20000 io echo late >"$E2E_TMP/late" 2>&1 &
late_pid=$!
PIDS+=("$late_pid")
restart_b || abort "gateway B restarts"
wait "$late_pid"
check_eq "none up: a call waits in the client and goes to the first gateway up" "0 late" \
    "$? $(cat "$E2E_TMP/late")"
restart_a || abort "gateway A restarts"

# ---- the Python client ----------------------------------------------------------
if zmq_python; then
    client_start py env PYTHONPATH="$REPO_ROOT/client/python:$PYTHONPATH" "$ZMQ_PY" \
        "$E2E_DIR/failover_client.py" "$EPS"
    ask "synccalls 10 3000"
    check_eq "Python Client: 10 calls over both gateways succeed" "10 0" \
        "$(field ok) $(field other)"
    scenario "Python"
    kill_gateway "$A_PID"
    ask "synccalls 10 3000"
    check_eq "Python Client: with A killed, 10 calls succeed" "10 0" "$(field ok) $(field other)"
    check "... each far below its deadline (max $(field max_ms) ms < 1000)" \
        [ "$(field max_ms)" -lt 1000 ]
    client_stop
else
    fail "a python3 with zmq (python3-zmq) runs the Python client"
fi

finish
