#!/usr/bin/env bash
# Every error code reaches a liboffload caller: each is provoked for real
# through the offload CLI (liboffload over the clients socket) and arrives
# with its name on stderr and its exit status (docs/clients.md, "The CLI"). The
# one left out is `internal` (the gateway out of memory), which no real
# setup provokes; the codec's unit tests map it.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

CLI="$OFFLOAD_BIN/offload"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
WORKER="$PY $E2E_DIR/workers/testworker.py"
export PYTHONPATH="$REPO_ROOT/client/python"

start_gateway --max-payload 1024 --max-timeout-ms 60000 --queue lonely \
    --queue tight:max-waiting=1 || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --drain-timeout 0 --kill-grace-ms 300 \
    --queue io=threads:4 --queue tight=threads:1 \
    --queue py=processes:1 --command "py=$WORKER" || abort "executor starts"
export OFFLOAD_GATEWAY="$GW_CLIENTS"

# expect NAME EXIT CODE_NAME CLI-ARGS...: runs the CLI; its exit status and
# the error name on stderr ("offload: NAME: message").
expect() {
    local name=$1 want_rc=$2 code=$3 rc
    shift 3
    "$CLI" "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err" </dev/null
    rc=$?
    check_eq "$name: exit $want_rc" "$want_rc" "$rc"
    check "$name: says $code ($(head -c 160 "$E2E_TMP/err"))" grep -q "^offload: $code: " "$E2E_TMP/err"
}

expect "a timeout over --max-timeout-ms" 4 bad_request call --timeout-ms 70000 io echo x
expect "an unknown queue" 4 unknown_queue call nosuch echo x
expect "an unknown function" 4 unknown_function call io nosuch x
head -c 2000 /dev/zero | tr '\0' x >"$E2E_TMP/big"
"$CLI" call io echo - <"$E2E_TMP/big" >/dev/null 2>"$E2E_TMP/err"
check_eq "a payload over --max-payload: exit 4" 4 "$?"
check "  says payload_too_large" grep -q "^offload: payload_too_large: " "$E2E_TMP/err"
expect "a function that fails" 1 job_failed call io sleep abc
expect "a deadline that passes while running" 6 timeout call --timeout-ms 200 io sleep 5000
expect "a queue no executor serves" 5 no_executor call --timeout-ms 300 lonely echo x
expect "a worker process that dies" 1 crashed call py crash x
expect "an unknown job id" 4 unknown_job status 123456789

# queue_full: tight's one thread runs a job, one waits (max-waiting=1).
running=$("$CLI" submit --timeout-ms 30000 tight sleep 30000)
wait_until 10 queue_is tight busy 1 || fail "tight is busy"
waiting=$("$CLI" submit --timeout-ms 30000 tight sleep 30000)
wait_until 10 queue_is tight waiting 1 || fail "one job waits on tight"
expect "a full queue" 5 queue_full call tight echo x
check "  with the gateway's Retry-After (retry_after_s)" grep -Eq "retry after [1-9][0-9]* s" "$E2E_TMP/err"
# cancelled: both detached jobs, cancelled, answer cancelled.
"$CLI" cancel "$waiting" >/dev/null
"$CLI" cancel "$running" >/dev/null
expect "a cancelled job's result" 7 cancelled result --wait-ms 5000 "$running"
wait_until 10 queue_is tight busy 0 || fail "tight is idle after the cancels"

# executor_lost: the executor running a job dies (SIGKILL); it answers no
# more heartbeats, and the job (no retries) fails executor_lost.
start_executor --connect "$GW_EXECUTORS" --heartbeat-ms 100 --liveness 3 \
    --queue fragile=threads:1 || abort "the fragile executor starts"
fragile=$EX_PID
"$CLI" call --timeout-ms 30000 fragile sleep 30000 >/dev/null 2>"$E2E_TMP/lost.err" &
lost_pid=$!
wait_until 10 queue_is fragile busy 1 || fail "fragile is busy"
{ kill -KILL "$fragile" && wait "$fragile"; } 2>/dev/null
wait "$lost_pid"
check_eq "an executor lost mid-job: exit 1" 1 "$?"
check "  says executor_lost ($(head -c 160 "$E2E_TMP/lost.err"))" \
    grep -q "^offload: executor_lost: " "$E2E_TMP/lost.err"

# no reply at all: a gateway that does not exist (library-local NO_REPLY).
"$CLI" call --gateway tcp://127.0.0.1:1 --timeout-ms 100 io echo x >/dev/null 2>"$E2E_TMP/err"
check_eq "no gateway: exit 3" 3 "$?"

finish
