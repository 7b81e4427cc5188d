# shellcheck shell=bash disable=SC2034
# Helpers for the end-to-end tests: start real gateway and executor processes
# on ephemeral loopback ports, talk HTTP to them, assert, and clean up.
#
# A test sources this file, starts what it needs, makes checks, and ends with
# `finish`. Everything it started is killed by pid on exit (trap), and stays
# on 127.0.0.1. Synchronisation is by --ready-fd handshakes and by polling a
# condition with a deadline (wait_until), never by a bare sleep.
#
#   start_gateway [FLAGS...]   sets GW_PID GW_HTTP GW_URL GW_EXECUTORS GW_CLIENTS GW_LOG
#   start_executor [FLAGS...]  sets EX_PID EX_LOG (pass --connect "$GW_EXECUTORS")
#   stop_process PID           SIGTERM and wait; sets STOP_RC
#   http METHOD PATH [CURL ARGS...]  sets HTTP_STATUS, HTTP_BODY (a file), HTTP_HEADERS, HTTP_MS
#   http_bg NAME METHOD PATH [CURL ARGS...] / http_wait NAME SECONDS: the same, in the background
#   json FILE FILTER           prints a jq filter over the JSON in FILE (.error)
#   check NAME COMMAND...      passes when COMMAND succeeds; returns the verdict
#   check_eq NAME WANT GOT     passes when the strings are equal; returns the verdict
#   wait_until SECONDS COMMAND...  polls COMMAND every 20 ms until it succeeds
#   load_bg NAME COUNT PAR METHOD PATH [CURL ARGS...]  COUNT requests from ONE
#                              curl process, PAR at a time; load_wait, load_count
#
# Rules that keep these tests honest on a slow, loaded machine: load comes
# from one process (load_bg, ab), never from a burst of separate curls
# assumed to arrive together; a job meant to be "still running" lasts far
# longer than the observation and is ended by a deadline, a hang-up or a
# kill; bounds are asserted on server-side evidence (counters, log
# timestamps, the X-Offload-* headers, curl's time_total for one request),
# and a wall-clock bound that must stay has at least 3x headroom. Polling
# runs no interpreter: JSON goes through jq.
#   abort WHAT                 counts a failure and ends the test (setup failed)
#   skip WHY                   ends the test as passed: it cannot run here
#   finish                     prints the tally and exits (1 on any failure)

set -uo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
OFFLOAD_BIN=${OFFLOAD_BIN:-build/bin}
case "$OFFLOAD_BIN" in /*) ;; *) OFFLOAD_BIN="$REPO_ROOT/$OFFLOAD_BIN" ;; esac
GATEWAY="$OFFLOAD_BIN/offload-gateway"
EXECUTOR="$OFFLOAD_BIN/offload-executor"
# What a program linking the build's liboffload needs on its cc line: a
# sanitizer build's library needs the sanitizer runtimes.
SAN_FLAGS=""
if nm "$OFFLOAD_BIN/../lib/liboffload.a" 2>/dev/null | grep __asan_ >/dev/null; then
    SAN_FLAGS="-fsanitize=address,undefined"
fi
TEST_NAME=$(basename "$0" .sh)

# Flags set in the caller's environment must not leak into the processes a
# test starts: every test says what it wants on the command line.
while IFS='=' read -r name _; do
    case "$name" in OFFLOAD_BIN | OFFLOAD_E2E_*) ;; OFFLOAD_*) unset "$name" ;; esac
done < <(env)
# Except one: the Python client's protobuf module comes from the build
# under test (make asan's build/asan/python, where no plain build/ exists).
export OFFLOAD_PB2_DIR="$OFFLOAD_BIN/../python"

E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/offload-e2e.XXXXXX")
PIDS=()
PASSED=0
FAILED=0
READY_TIMEOUT=${OFFLOAD_E2E_READY_TIMEOUT:-10}

# A test that starts no local gateway or executor (tests/deploy) sets
# E2E_NO_BINS=1 before sourcing this file.
for bin in "$GATEWAY" "$EXECUTOR"; do
    if [ "${E2E_NO_BINS:-0}" != 1 ] && [ ! -x "$bin" ]; then
        echo "$TEST_NAME: $bin is missing; run 'make' first" >&2
        exit 1
    fi
done

# Kills every process this test started, by pid: SIGTERM, then SIGKILL for
# whatever is still there a second later.
cleanup() {
    local pid live=()
    for pid in "${PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null && live+=("$pid")
    done
    if [ ${#live[@]} -gt 0 ]; then
        wait_until 2 all_gone "${live[@]}" ||
            for pid in "${live[@]}"; do kill -KILL "$pid" 2>/dev/null; done
        wait "${live[@]}" 2>/dev/null
    fi
    if [ "${OFFLOAD_E2E_KEEP:-0}" = 1 ] || [ "$FAILED" -gt 0 ]; then
        echo "$TEST_NAME: logs kept in $E2E_TMP" >&2
    else
        rm -rf "$E2E_TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

all_gone() {
    local pid
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && return 1; done
    return 0
}

now_ms() {
    local t=${EPOCHREALTIME//[!0-9]/}
    echo $((10#$t / 1000))
}

# to_ms SECONDS: "1.5" -> 1500
to_ms() {
    local int=${1%%.*} frac=000
    [[ $1 == *.* ]] && frac="${1#*.}000"
    echo $((10#${int:-0} * 1000 + 10#${frac:0:3}))
}

# wait_until SECONDS COMMAND... : runs COMMAND every 20 ms until it succeeds
# (returns 0) or SECONDS (may be fractional) pass (returns 1). A deadline,
# not a bound: give it room, it costs nothing when the condition comes soon.
wait_until() {
    local deadline=$(($(now_ms) + $(to_ms "$1")))
    shift
    while true; do
        "$@" && return 0
        [ "$(now_ms)" -ge "$deadline" ] && return 1
        sleep 0.02
    done
}

# start_process NAME LOG BINARY FLAGS... : starts BINARY in the background with
# --ready-fd 3 pointed at a FIFO and waits for its ready line. Sets
# STARTED_PID and READY_LINE; returns 1 (with the log on stderr) when the
# process dies or stays silent for READY_TIMEOUT seconds.
start_process() {
    local name=$1 log=$2 bin=$3 fifo
    shift 3
    fifo="$E2E_TMP/$name.ready"
    rm -f "$fifo"
    mkfifo "$fifo"
    # Opening a FIFO for writing blocks until a reader opens it, so the
    # process starts in the background and the read below unblocks it.
    "$bin" "$@" --ready-fd 3 3>"$fifo" 2>>"$log" &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
    READY_LINE=""
    if ! read -r -t "$READY_TIMEOUT" READY_LINE <"$fifo" || [ -z "$READY_LINE" ]; then
        echo "$TEST_NAME: $name did not become ready: $bin $*" >&2
        tail -n 20 "$log" >&2
        rm -f "$fifo"
        return 1
    fi
    rm -f "$fifo"
    return 0
}

GW_COUNT=0
EX_COUNT=0
# Extra curl arguments for the helpers' own requests (stat_field,
# queue_field): a token (-H 'Authorization: Bearer ...'), --cacert.
E2E_CURL=()

# start_gateway [FLAGS...]: a gateway on ephemeral loopback ports unless the
# flags say otherwise (later flags win). Sets GW_PID, GW_HTTP (host:port),
# GW_URL, GW_EXECUTORS, GW_CLIENTS, GW_LOG.
start_gateway() {
    GW_COUNT=$((GW_COUNT + 1))
    GW_LOG="$E2E_TMP/gateway$GW_COUNT.log"
    start_process "gateway$GW_COUNT" "$GW_LOG" "$GATEWAY" \
        --http 127.0.0.1:0 --executors 'tcp://127.0.0.1:*' --clients 'tcp://127.0.0.1:*' \
        --heartbeat-ms 200 "$@" || return 1
    GW_PID=$STARTED_PID
    local kv
    for kv in $READY_LINE; do
        case "$kv" in
        http=*) GW_HTTP=${kv#http=} ;;
        executors=*) GW_EXECUTORS=${kv#executors=} ;;
        clients=*) GW_CLIENTS=${kv#clients=} ;;
        esac
    done
    GW_URL="http://$GW_HTTP"
}

# start_executor [FLAGS...]: an executor; returns once every gateway it
# connects to has registered it. Sets EX_PID and EX_LOG.
start_executor() {
    EX_COUNT=$((EX_COUNT + 1))
    EX_LOG="$E2E_TMP/executor$EX_COUNT.log"
    start_process "executor$EX_COUNT" "$EX_LOG" "$EXECUTOR" --heartbeat-ms 200 "$@" || return 1
    EX_PID=$STARTED_PID
}

# stop_process PID: SIGTERM, then waits (SIGKILL after 5 s); sets STOP_RC to
# its exit status. Call it directly, not in $(...): only this shell can wait.
stop_process() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null
    if ! wait_until 5 all_gone "$pid"; then
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    STOP_RC=$?
}

# raw REQUEST: sends REQUEST (printf %b: write \r\n) on a new connection to
# the gateway's HTTP port and reads the answer (until the server closes, or
# 5 s) into RAW. RAW_STATUS is the first status code, RAW_FINAL the last
# (after a 100 Continue). The send runs in a subshell: a server that answers
# and closes before all is sent must not SIGPIPE the test.
raw() {
    RAW=""
    RAW_STATUS=""
    RAW_FINAL=""
    exec 5<>"/dev/tcp/127.0.0.1/${GW_HTTP##*:}" || return 1
    (printf '%b' "$1" >&5) 2>/dev/null
    RAW=$(timeout 5 cat <&5)
    exec 5<&- 5>&-
    RAW_STATUS=$(grep -a -m 1 '^HTTP/1' <<<"$RAW" | awk '{ print $2 }')
    RAW_FINAL=$(grep -a '^HTTP/1' <<<"$RAW" | tail -n 1 | awk '{ print $2 }')
}

HTTP_N=0
# http METHOD PATH [CURL ARGS...]: one request to the current gateway (or to
# an absolute URL). Sets HTTP_STATUS (000 when no answer), HTTP_BODY (file),
# HTTP_HEADERS (file), HTTP_MS (curl's own time_total for the request: the
# server's time plus loopback, not the time it took to start curl).
http() {
    local method=$1 path=$2 url out
    shift 2
    case "$path" in http://* | https://*) url=$path ;; *) url="$GW_URL$path" ;; esac
    HTTP_N=$((HTTP_N + 1))
    HTTP_BODY="$E2E_TMP/body.$HTTP_N"
    HTTP_HEADERS="$E2E_TMP/headers.$HTTP_N"
    out=$(curl -s -m 30 -X "$method" -o "$HTTP_BODY" -D "$HTTP_HEADERS" \
        -w '%{http_code} %{time_total}' "$@" "$url") || true
    HTTP_STATUS=${out%% *}
    HTTP_MS=$(to_ms "${out##* }")
    [ -n "$HTTP_STATUS" ] || HTTP_STATUS=000
}

# header NAME: the value of that header in the last http answer.
header() {
    sed -n "s/^$1: *\([^[:space:]]*\).*/\1/ip" "$HTTP_HEADERS" | head -n 1
}

# http_bg NAME METHOD PATH [CURL ARGS...]: the same request in the
# background; http_wait NAME SECONDS then waits for it and sets HTTP_STATUS,
# HTTP_BODY, HTTP_HEADERS and HTTP_MS as http does.
http_bg() {
    local name=$1 method=$2 path=$3 url
    shift 3
    case "$path" in http://*) url=$path ;; *) url="$GW_URL$path" ;; esac
    (
        out=$(curl -s -m 60 -X "$method" -o "$E2E_TMP/$name.body" -D "$E2E_TMP/$name.headers" \
            -w '%{http_code} %{time_total}' "$@" "$url")
        echo "${out%% *} $(to_ms "${out##* }")" >"$E2E_TMP/$name.status.tmp"
        mv "$E2E_TMP/$name.status.tmp" "$E2E_TMP/$name.status"
    ) &
    PIDS+=($!)
}

http_wait() {
    local name=$1
    HTTP_BODY="$E2E_TMP/$name.body"
    HTTP_HEADERS="$E2E_TMP/$name.headers"
    HTTP_STATUS=000
    HTTP_MS=0
    wait_until "$2" test -e "$E2E_TMP/$name.status" || return 1
    read -r HTTP_STATUS HTTP_MS <"$E2E_TMP/$name.status"
}

# json FILE FILTER [JQ ARGS...]: the jq filter over the JSON in FILE, raw
# (strings unquoted, null as "null"); prints nothing and fails on bad JSON.
json() {
    local f=$1 filter=$2
    shift 2
    jq -r "$@" "$filter" "$f" 2>/dev/null
}

# queue_field QUEUE FIELD: that field of QUEUE in the current gateway's
# /v1/queues, or nothing.
queue_field() {
    local f="$E2E_TMP/queues.json"
    curl -s -m 5 "${E2E_CURL[@]}" -o "$f" "$GW_URL/v1/queues" || return 1
    json "$f" '.queues[] | select(.name == $q) | .[$f]' --arg q "$1" --arg f "$2"
}

# queue_is QUEUE FIELD VALUE: for wait_until.
queue_is() {
    [ "$(queue_field "$1" "$2")" = "$3" ]
}

pass() {
    PASSED=$((PASSED + 1))
    echo "  ok    $1"
}

fail() {
    FAILED=$((FAILED + 1))
    echo "  FAIL  $1${2:+ -- $2}"
}

# check NAME COMMAND...: passes when COMMAND returns 0. Returns the verdict
# (0 passed, 1 failed), so `if check ...; then` branches on it.
check() {
    local name=$1
    shift
    if "$@"; then
        pass "$name"
        return 0
    fi
    fail "$name" "failed: $*"
    return 1
}

# check_eq NAME WANT GOT: passes when the strings are equal; returns the
# verdict.
check_eq() {
    if [ "$2" = "$3" ]; then
        pass "$1"
        return 0
    fi
    fail "$1" "want '$2', got '$3'"
    return 1
}

# check_error NAME STATUS CODE: the last http answer had STATUS and the JSON
# error CODE.
check_error() {
    local got_code
    got_code=$(json "$HTTP_BODY" .error)
    if [ "$HTTP_STATUS" = "$2" ] && [ "$got_code" = "$3" ]; then
        pass "$1"
        return 0
    fi
    fail "$1" "want $2 $3, got $HTTP_STATUS: $(head -c 300 "$HTTP_BODY" 2>/dev/null)"
    return 1
}

# has_header NAME: the last http answer carries that header.
has_header() {
    grep -qi "^$1:" "$HTTP_HEADERS"
}

# log_ms LOG PATTERN: the timestamp (ms since the epoch) of the first line
# of LOG matching PATTERN (grep -E), or nothing: server-side time, for
# bounds that must not include this script's own pace.
log_ms() {
    local ts
    ts=$(grep -E -m1 -- "$2" "$1" | cut -d' ' -f1)
    [ -n "$ts" ] || return 1
    ts=${ts%Z}
    echo $(($(date -u -d "${ts%.*}" +%s) * 1000 + 10#${ts##*.}))
}

# ab_field OUTPUT_FILE LABEL: the number after "LABEL:" in ab's report
# (0 when the line is absent, as "Non-2xx responses" is when there are none).
ab_field() {
    local v
    v=$(sed -n "s/^$2: *\([0-9.]*\).*/\1/p" "$1" | head -n 1)
    echo "${v:-0}"
}

# skip WHY: the test cannot run here (no root, a missing tool or kernel
# feature): says so and ends it as passed, with whatever it checked so far.
skip() {
    echo "$TEST_NAME: skipped: $1"
    finish
}

# abort WHAT: counts a failure and ends the test now (a setup step failed).
abort() {
    fail "$1"
    finish
}

# promtool_clean FILE: promtool check metrics exits 0 and prints nothing
# (it prints one line per lint problem).
promtool_clean() {
    local out rc
    out=$(promtool check metrics <"$1" 2>&1)
    rc=$?
    [ "$rc" -eq 0 ] && [ -z "$out" ] && return 0
    echo "    promtool (exit $rc): $(head -n 5 <<<"$out")"
    return 1
}

# finish: prints the test's tally, reports it to run.sh, exits 1 on failure.
finish() {
    echo "$TEST_NAME: $PASSED passed, $FAILED failed"
    if [ -n "${OFFLOAD_E2E_RESULTS:-}" ]; then
        echo "$TEST_NAME $PASSED $FAILED" >>"$OFFLOAD_E2E_RESULTS"
    fi
    [ "$FAILED" -eq 0 ] && exit 0
    exit 1
}

# ---- helpers added for the chaos, SIGSTOP and garbage tests ----------------

# stat_field NAME: that counter of the current gateway's /v1/stats, or nothing.
stat_field() {
    local f="$E2E_TMP/stats.json"
    curl -s -m 5 "${E2E_CURL[@]}" -o "$f" "$GW_URL/v1/stats" || return 1
    json "$f" '.[$k]' --arg k "$1"
}

# loop_mark, then loop_check NAME: the loop's share of a /healthz wait
# while something floods it, on the gateway's own evidence. A new
# connection's request takes two turns (accepted, then read and answered),
# so no request waits on the loop for more than two of its longest turns.
# loop_check asserts that no turn since loop_mark took over 75 ms of CPU
# (loop_overrun_turns: 3x the longest turn measured in these floods, 23 ms,
# mostly the first touch of the memory they make the gateway hold), the
# heap trim's aside (one
# turn of 20-40 ms by design, in a quiet second): the loop's own CPU time,
# which does not grow when the OS runs other processes, as a client's
# latency does on a busy machine. How much of the time turns over 5 ms
# took (the p99's share, against 1%) is printed, and measured by make
# bench: a share of time on a shared machine is weather. Info only under
# sanitizers (check_cpu).
loop_evidence() {
    local f="$E2E_TMP/loop.json"
    curl -s -m 5 "${E2E_CURL[@]}" -o "$f" "$GW_URL/v1/stats"
    jq -r '"\(.uptime_ms) \(.loop_turns) \(.loop_long_turns) \(.loop_long_turns_us) \(.heap_trim_us) \(.loop_overrun_turns)"' "$f"
}
loop_mark() {
    LOOP_MARK=$(loop_evidence)
}
loop_check() {
    local up0 t0 n0 us0 tr0 o0 up t n us tr o
    read -r up0 t0 n0 us0 tr0 o0 <<<"$LOOP_MARK"
    read -r up t n us tr o <<<"$(loop_evidence)"
    up=$(((up - up0) * 1000)) t=$((t - t0)) n=$((n - n0)) us=$((us - us0)) tr=$((tr - tr0))
    o=$((o - o0))
    us=$((us > tr ? us - tr : 0))
    echo "  info  $1: $n of $t turns took over 5 ms of CPU, $us us in all" \
        "($((us * 1000 / (up > 0 ? up : 1)))/1000 of $((up / 1000)) ms; heap trims: $tr us)"
    check_cpu "$1: no loop turn took over 75 ms of CPU ($o did)" test "$o" -eq 0
}

# check_cpu NAME COMMAND...: check, for a bound on the loop's CPU time per
# turn; info only under sanitizers, which slow every turn 3-10x (the bounds
# are set for the build users run).
check_cpu() {
    if [ -n "${OFFLOAD_E2E_SANITIZED:-}" ]; then
        if "${@:2}"; then echo "  info  $1: holds"; else echo "  info  $1: not under sanitizers"; fi
        return 0
    fi
    check "$@"
}

# healthz_during NAME: /healthz from one ab process (-n 300 -c 1, a new
# connection each) while something floods the gateway: prints p50/p99/max,
# checks all 300 answered and the p99 against a guard for gross failures
# only, 100 ms (10x the 10 ms target; 300 ms under sanitizers): on a busy
# 2-core machine the OS, not the gateway, decides a client's tail latency
# (loop_check holds the gateway's own part; make bench measures the p99).
healthz_during() {
    local out="$E2E_TMP/$1.ab" p99 guard=100
    [ -n "${OFFLOAD_E2E_SANITIZED:-}" ] && guard=300
    ab -n 300 -c 1 "$GW_URL/healthz" >"$out" 2>&1
    p99=$(sed -n 's/^ *99% *\([0-9]*\).*/\1/p' "$out")
    echo "  info  $1: /healthz p50 $(sed -n 's/^ *50% *\([0-9]*\).*/\1/p' "$out") ms," \
        "p99 ${p99:-?} ms, max $(sed -n 's/^ *100% *\([0-9]*\).*/\1/p' "$out") ms"
    check_eq "$1: 300 /healthz answered" 300 "$(ab_field "$out" 'Complete requests')"
    check "$1: /healthz p99 under $guard ms, 10x the target (${p99:-?} ms)" test "${p99:-999}" -lt $guard
}

# upload_flood_mark, then upload_flood_end NAME SECONDS PID SENT: a flood of
# SENT uploads to io's echo from the process PID, started between the two.
# The mark takes io's completed and held_bytes_refused, then loop_mark; the
# end checks that PID ends within SECONDS, runs loop_check NAME, sets served
# (echoed since the mark) and refused (refused by --max-held-bytes since),
# prints them and checks that every upload was answered.
upload_flood_mark() {
    FLOOD_COMPLETED0=$(queue_field io completed)
    FLOOD_REFUSED0=$(stat_field held_bytes_refused)
    loop_mark
}
upload_flood_end() {
    check "$1: the flood ends" wait_until "$2" all_gone "$3"
    loop_check "$1"
    served=$(($(queue_field io completed) - FLOOD_COMPLETED0))
    refused=$(($(stat_field held_bytes_refused) - FLOOD_REFUSED0))
    echo "  info  $1: $4 sent, $served echoed, $refused refused (--max-held-bytes)"
    check_eq "$1: every upload answered: echoed + refused = sent" "$4" $((served + refused))
}

# io_jobs_start: six detached jobs on io that sleep 4 minutes (far longer
# than any flood or freeze a test puts them through), their ids in
# IO_JOBS; checks that io runs them. io_jobs_kept [WHEN] then checks that
# io still runs all six, each still "running" (not lost, not sent again),
# cancels them (DELETE: 200 cancelled, io idle again), and that the gateway
# lost no executor (its log, /v1/stats executors_lost). Nothing here
# depends on how long the test took in between.
io_jobs_start() {
    local i
    IO_JOBS=()
    for i in 1 2 3 4 5 6; do
        http POST '/v1/jobs/io/sleep?wait=false&timeout_ms=300000' --data-binary 240000
        IO_JOBS+=("$(json "$HTTP_BODY" .job_id)")
    done
    check "the 6 jobs run" wait_until 10 queue_is io busy 6
}
io_jobs_kept() {
    local id n=0 running=0 cancelled=0
    check_eq "io still runs the 6 jobs${1:+ $1}" 6 "$(queue_field io busy)"
    for id in "${IO_JOBS[@]}"; do
        n=$((n + 1))
        http GET "/v1/jobs/$id"
        [ "$(json "$HTTP_BODY" .state)" = running ] && running=$((running + 1))
    done
    check_eq "  each still running${1:+ $1}, none lost or sent again" "6 6" "$n $running"
    for id in "${IO_JOBS[@]}"; do
        http DELETE "/v1/jobs/$id"
        [ "$HTTP_STATUS $(json "$HTTP_BODY" .state)" = "200 cancelled" ] &&
            cancelled=$((cancelled + 1))
    done
    check_eq "  then cancelled: 200 cancelled each" 6 "$cancelled"
    check "  and io is idle again" wait_until 20 queue_is io busy 0
    check "no executor_lost in the gateway's log" test "$(grep -c 'event=executor_lost' "$GW_LOG")" -eq 0
    check_eq "/v1/stats executors_lost is 0" 0 "$(stat_field executors_lost)"
}

# stat_ge NAME N: /v1/stats NAME >= N (for wait_until).
stat_ge() {
    local v
    v=$(stat_field "$1")
    [ -n "$v" ] && [ "$v" -ge "$2" ]
}

# queue_ge QUEUE FIELD N: that /v1/queues field >= N (for wait_until).
queue_ge() {
    local v
    v=$(queue_field "$1" "$2")
    [ -n "$v" ] && [ "$v" -ge "$3" ]
}

# load_bg NAME COUNT PARALLEL METHOD PATH [CURL ARGS...]: COUNT requests from
# one curl process (--parallel), PARALLEL connections at a time, in the
# background. Request i leaves $E2E_TMP/NAME/i.code (HTTP status, 000 when
# none), i.rc (curl's exit status for it), i.body, and i.headers with the
# headers tests look at (Retry-After and the X-Offload-* ones). Sets
# LOAD_PID; load_wait SECONDS [NAME] waits for the load (the last one, or
# NAME).
declare -A LOAD_PIDS
load_bg() {
    local name=$1 count=$2 par=$3 method=$4 path=$5 url dir i
    shift 5
    case "$path" in http://*) url=$path ;; *) url="$GW_URL$path" ;; esac
    dir="$E2E_TMP/$name"
    mkdir -p "$dir"
    for ((i = 1; i <= count; i++)); do
        printf 'url = "%s"\noutput = "%s/%d.body"\n' "$url" "$dir" "$i"
    done >"$dir/curl.config"
    (
        curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max "$par" \
            -m 60 -X "$method" "$@" -K "$dir/curl.config" \
            -w '%{filename_effective}|%{http_code}|%{exitcode}|%header{retry-after}|%header{x-offload-waited-us}|%header{x-offload-run-us}|%header{x-offload-job-id}|%{time_total}\n' \
            >"$dir/results" 2>/dev/null
        # '|' separates the fields: an absent header is an empty one.
        while IFS='|' read -r file code rc retry waited run job total; do
            i=${file%.body}
            echo "$code" >"$i.code"
            echo "$rc" >"$i.rc"
            to_ms "$total" >"$i.ms"
            {
                [ -n "$retry" ] && echo "Retry-After: $retry"
                [ -n "$waited" ] && echo "X-Offload-Waited-Us: $waited"
                [ -n "$run" ] && echo "X-Offload-Run-Us: $run"
                [ -n "$job" ] && echo "X-Offload-Job-Id: $job"
            } >"$i.headers"
        done <"$dir/results"
    ) &
    LOAD_PID=$!
    LOAD_PIDS[$name]=$LOAD_PID
    PIDS+=("$LOAD_PID")
}

load_wait() {
    local pid=${2:+${LOAD_PIDS[$2]}}
    pid=${pid:-$LOAD_PID}
    wait_until "$1" all_gone "$pid" || return 1
    wait "$pid" 2>/dev/null
    return 0
}

# load_count NAME code|rc VALUE: how many requests of load NAME ended with
# that HTTP status (code) or curl exit status (rc); VALUE '*' counts all.
load_count() {
    local f n=0
    for f in "$E2E_TMP/$1"/*."$2"; do
        [ -e "$f" ] || continue
        if [ "$3" = '*' ] || [ "$(cat "$f")" = "$3" ]; then n=$((n + 1)); fi
    done
    echo "$n"
}

# freeze PID / thaw PID: SIGSTOP and SIGCONT. A stopped process ignores
# SIGTERM until continued, so every frozen pid is continued on exit, before
# cleanup runs.
STOPPED_PIDS=()
freeze() {
    STOPPED_PIDS+=("$1")
    trap 'thaw_all; cleanup' EXIT
    kill -STOP "$1"
}

thaw() {
    kill -CONT "$1" 2>/dev/null
}

thaw_all() {
    local pid
    for pid in "${STOPPED_PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null; done
}

# zmq_python: sets ZMQ_PY to a python3 that can import zmq, chosen once:
# Debian's /usr/bin/python3 first (python3-zmq is for it, and it starts fast;
# the python3 first on PATH may be a slow shim); returns 1 when there is none.
zmq_python() {
    local py
    for py in /usr/bin/python3 python3; do
        py=$(command -v "$py") || continue
        if "$py" -c 'import zmq' 2>/dev/null; then
            ZMQ_PY=$py
            # pbwire.py, beside this file, speaks the protocol by hand.
            export PYTHONPATH="$E2E_DIR${PYTHONPATH:+:$PYTHONPATH}"
            return 0
        fi
    done
    return 1
}

# router_py_bg ARGS... <<'PY': runs the python script on stdin with ZMQ_PY
# (zmq_python first) in the background, ARGS as its sys.argv[1:], after
# ROUTER_PY, which gives it bind_router (the python ROUTERs that play a
# gateway); sets ROUTER_PID to python's pid and adds it to PIDS.
# Redirections on the call are python's.
ROUTER_PY='import os, zmq


def bind_router(ctx, ep_file, *options):
    """A ROUTER (LINGER 0, then each (option, value) of options) bound to a
    free 127.0.0.1 port; its endpoint is written to ep_file, through
    ep_file.tmp and a rename, so a reader sees all of it or none."""
    s = ctx.socket(zmq.ROUTER)
    s.setsockopt(zmq.LINGER, 0)
    for option, value in options:
        s.setsockopt(option, value)
    s.bind("tcp://127.0.0.1:*")
    with open(ep_file + ".tmp", "w") as f:
        f.write(s.getsockopt_string(zmq.LAST_ENDPOINT))
    os.rename(ep_file + ".tmp", ep_file)
    return s
'
router_py_bg() {
    local script
    script=$(cat)
    "$ZMQ_PY" -c "$ROUTER_PY
$script" "$@" &
    ROUTER_PID=$!
    PIDS+=("$ROUTER_PID")
}
