#!/usr/bin/env bash
# The users' own code: process pools (the executor's own workers with a
# plugin, and Python worker programs), elastic thread pools and plugins,
# through HTTP. Crash, deadline, hang-up, garbage and memory limits each
# fail only their job and the worker is replaced; recycling happens after
# exactly --max-jobs-per-worker jobs; an elastic pool grows under load and
# shrinks when idle; broken plugins and worker programs stop the executor
# at start with a clear message.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
WORKER="$PY $E2E_DIR/workers/testworker.py"
export PYTHONPATH="$REPO_ROOT/client/python"

# The example plugin, built exactly as docs/executor.md (Plugins) says.
plugin="$E2E_TMP/example_plugin.so"
check "the example plugin builds with cc -shared -fPIC -Iexecutor" \
    cc -shared -fPIC -I"$REPO_ROOT/executor" "$REPO_ROOT/examples/plugin/example_plugin.c" \
    -o "$plugin" || abort "the example plugin builds"

start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --drain-timeout 0 --kill-grace-ms 300 \
    --thread-idle-ms 300 --plugin "$plugin" \
    --queue io=threads:1-4 --queue cpu=processes:2 \
    --queue py=processes:2 --command "py=$WORKER" --max-rss-mb py=100 \
    --queue recycle=processes:1 --command "recycle=$WORKER" --max-jobs-per-worker recycle=3 \
    --queue example=processes:1 --command "example=$PY $REPO_ROOT/examples/python/worker.py" ||
    abort "executor with every pool kind starts"

# workers QUEUE: the live worker processes of QUEUE (children of the
# executor started for it, by its log's worker_started lines minus those
# since ended).
alive_pids() {
    local pid
    for pid in $(sed -n "s/.*event=worker_started queue=$1 slot=[0-9]* pid=\([0-9]*\).*/\1/p" "$EX_LOG"); do
        [ "$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$EX_PID" ] && echo "$pid"
    done
}
workers_are() { [ "$(alive_pids "$1" | wc -l)" -eq "$2" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }

check "py starts 2 worker processes" workers_are py 2
check "cpu starts 2 worker processes" workers_are cpu 2
check_eq "/v1/queues: cpu is a process pool of 2" "processes 2" \
    "$(queue_field cpu kind) $(queue_field cpu capacity)"
check_eq "/v1/queues: io declares its elastic MAX, 4" 4 "$(queue_field io capacity)"

# ---- plugins, in both pool kinds -------------------------------------------
http POST /v1/jobs/io/upper --data-binary 'hello plugin'
check_eq "a plugin function in a thread pool" "200 HELLO PLUGIN" "$HTTP_STATUS $(cat "$HTTP_BODY")"
http POST /v1/jobs/cpu/wordcount --data-binary 'one two  three'
check_eq "a plugin function in a process pool" "200 3" "$HTTP_STATUS $(cat "$HTTP_BODY")"
http POST /v1/jobs/cpu/fail --data-binary 'on purpose'
check_error "a plugin's failure is 500 job_failed" 500 job_failed
check_eq "  with its message" "fail: on purpose" "$(json "$HTTP_BODY" .message)"
cpu_before=$(alive_pids cpu | sort | tr '\n' ' ')
http POST /v1/jobs/cpu/crash
check_error "a plugin that aborts in a process pool: 502 crashed" 502 crashed
check "  the message names the signal ($(json "$HTTP_BODY" .message))" \
    grep -q SIGABRT "$HTTP_BODY"
check "  cpu is back to 2 workers" wait_until 10 workers_are cpu 2
check "  one of them new" test "$(alive_pids cpu | sort | tr '\n' ' ')" != "$cpu_before"
http POST /v1/jobs/cpu/echo --data-binary after
check_eq "  and the next job succeeds" "200 after" "$HTTP_STATUS $(cat "$HTTP_BODY")"

# ---- functions are per queue --------------------------------------------------
http POST /v1/jobs/io/pid
check_error "a worker program's function is not offered on another queue" 404 unknown_function
http POST /v1/jobs/py/upper
check_error "nor a plugin's on a --command queue" 404 unknown_function

# ---- Python workers ---------------------------------------------------------
http POST /v1/jobs/example/sleep --data-binary 200
check_eq "the Python example: the seed's blocking sleep" "200 slept 200 ms" \
    "$HTTP_STATUS $(cat "$HTTP_BODY")"
http POST /v1/jobs/example/primes --data-binary 100000
check_eq "the Python example: a CPU-bound function" "200 9592" "$HTTP_STATUS $(cat "$HTTP_BODY")"
http POST /v1/jobs/py/boom --data-binary 'x'
check_error "a Python exception is 500 job_failed" 500 job_failed
check_eq "  with the exception's message" "ValueError: bad input: x" "$(json "$HTTP_BODY" .message)"
http POST /v1/jobs/py/big --data-binary 2
check_error "a Python result over the frame limit is 500 job_failed, not a broken worker" 500 job_failed
check "  saying so ($(json "$HTTP_BODY" .message))" grep -q "over the frame limit" "$HTTP_BODY"
http POST /v1/jobs/py/noisy
check_eq "print() in a function does not break the protocol" "200 fine" \
    "$HTTP_STATUS $(cat "$HTTP_BODY")"
check "  it went to the executor's stderr" grep -q "a print in a function goes to stderr" "$EX_LOG"

# crash: 502, and the next job succeeds with the worker count restored.
http POST /v1/jobs/py/crash
check_error "a worker that dies mid-job: 502 crashed" 502 crashed
check "  the message names the signal ($(json "$HTTP_BODY" .message))" grep -q SIGSEGV "$HTTP_BODY"
check "  py is back to 2 workers" wait_until 10 workers_are py 2
http POST /v1/jobs/py/pid
check_eq "  the next job succeeds" 200 "$HTTP_STATUS"

# deadline: 504 at the deadline; the worker is killed and replaced.
http POST '/v1/jobs/py/sleep?timeout_ms=500' --data-binary 20000
check_error "a Python job past its deadline: 504 timeout" 504 timeout
check "  answered within deadline + grace + 100 ms = 900 ms (took $HTTP_MS ms)" \
    test "$HTTP_MS" -le 900
check "  the executor killed its worker" \
    wait_until 10 grep -Eq 'event=worker_failed queue=py .*code=(timeout|cancelled)' "$EX_LOG"
victim=$(grep -E 'event=worker_failed queue=py .*code=(timeout|cancelled)' "$EX_LOG" | tail -n 1 |
    sed 's/.* pid=\([0-9]*\) .*/\1/')
check "  worker pid $victim is gone" wait_until 10 gone "$victim"
check "  and replaced: 2 workers, $victim not among them" \
    wait_until 10 eval 'workers_are py 2 && ! alive_pids py | grep -qx "$victim"'

# hang-up: the caller goes away; the running process job is killed.
n_failed=$(grep -c 'event=worker_failed queue=py ' "$EX_LOG")
curl -s -m 1 -o /dev/null -X POST --data-binary 30000 "$GW_URL/v1/jobs/py/sleep?timeout_ms=60000"
check "a caller that hangs up gets its process job killed (cancelled)" \
    wait_until 10 eval '[ "$(grep -c "event=worker_failed queue=py .*code=cancelled" "$EX_LOG")" -ge 1 ] &&
        [ "$(grep -c "event=worker_failed queue=py " "$EX_LOG")" -gt "$n_failed" ]'
victim=$(grep 'event=worker_failed queue=py .*code=cancelled' "$EX_LOG" | tail -n 1 |
    sed 's/.* pid=\([0-9]*\) .*/\1/')
check "  worker pid $victim is gone" wait_until 10 gone "$victim"
check "  py is back to 2 workers" wait_until 10 workers_are py 2

# garbage on stdout: a clear 502, not a hang.
http POST '/v1/jobs/py/garbage?timeout_ms=20000'
check_error "a worker that writes garbage: 502 crashed" 502 crashed
check "  the message says what came ($(json "$HTTP_BODY" .message))" \
    grep -q "this is not a" "$HTTP_BODY"
check "  at once, not at the deadline (took $HTTP_MS ms of 20000)" test "$HTTP_MS" -lt 10000

# memory: a job that allocates past --max-rss-mb is killed while it runs.
http POST '/v1/jobs/py/alloc?timeout_ms=20000' --data-binary 400
check_error "a job past --max-rss-mb 100: 502 crashed" 502 crashed
check "  the message says so ($(json "$HTTP_BODY" .message))" grep -q "max-rss-mb" "$HTTP_BODY"
check "  killed while it ran, not at its 30 s end (took $HTTP_MS ms)" test "$HTTP_MS" -lt 10000
check "  py is back to 2 workers" wait_until 10 workers_are py 2

# recycling: --max-jobs-per-worker recycle=3 -> pids a a a b b b c.
pids=()
for _ in 1 2 3 4 5 6 7; do
    http POST /v1/jobs/recycle/pid
    pids+=("$(cat "$HTTP_BODY")")
done
echo "  info  recycle pids: ${pids[*]}"
check "a worker serves exactly 3 jobs, then is replaced" \
    test "${pids[0]}" = "${pids[1]}" -a "${pids[1]}" = "${pids[2]}" -a "${pids[3]}" != "${pids[2]}" \
    -a "${pids[3]}" = "${pids[4]}" -a "${pids[4]}" = "${pids[5]}" -a "${pids[6]}" != "${pids[5]}"
check "  retired with reason max_jobs after 3 jobs" \
    test "$(grep -c 'event=worker_retired queue=recycle .*jobs=3 reason=max_jobs' "$EX_LOG")" -ge 2

# ---- elastic thread pool -----------------------------------------------------
# io=threads:1-4: 4 sleeps of 3 s at once (one curl process). The gateway
# sends all 4 at once (capacity 4); had the executor run them on fewer
# than 4 threads, the last would end after 2 rounds, 6 s.
load_bg grow 4 4 POST /v1/jobs/io/sleep --data-binary 3000
load_wait 60 grow
check_eq "an elastic pool serves 4 at once" 4 "$(load_count grow code 200)"
check "  it grew to 4 threads" grep -q 'event=pool_grow queue=io threads=4 ' "$EX_LOG"
longest=$(cat "$E2E_TMP"/grow/*.ms | sort -n | tail -n 1)
check "  in one round: the last answer after $longest ms, under 2 rounds (6000)" \
    test "${longest:-999999}" -lt 6000
check "  and shrinks back to 1 when idle (--thread-idle-ms 300)" \
    wait_until 10 grep -q 'event=pool_shrink queue=io threads=1 ' "$EX_LOG"

# A thread-pool job whose caller hangs up: its result is dropped, its
# cooperative function sees offload_cancelled() and ends early.
gone0=$(stat_field callers_gone)
curl -s -m 0.5 -o /dev/null -X POST --data-binary 20000 "$GW_URL/v1/jobs/io/wait"
check "the gateway saw the caller go (callers_gone)" wait_until 10 stat_ge callers_gone $((gone0 + 1))
check "a cancelled plugin function polls offload_cancelled and ends early" \
    wait_until 10 eval '[ "$(queue_field io busy)" = 0 ]'

stop_process "$EX_PID"
check_eq "the executor stops cleanly (exit 0)" 0 "$STOP_RC"
check "its worker processes are gone" wait_until 5 eval '! pgrep -f testworker.py -P '"$EX_PID"' >/dev/null'

# ---- the worker side alone, fed by hand ------------------------------------------
# worker_alone NAME INPUT CMD...: runs CMD with INPUT (printf format) on
# stdin; sets W_RC, W_OUT (stdout file) and W_ERR (stderr text).
worker_alone() {
    local name=$1 input=$2
    shift 2
    W_OUT="$E2E_TMP/$name.out"
    # shellcheck disable=SC2059
    printf "$input" | "$@" >"$W_OUT" 2>"$E2E_TMP/$name.err"
    W_RC=$?
    W_ERR=$(cat "$E2E_TMP/$name.err")
}
hello_line() { tail -c +6 "$W_OUT" | head -n 1; }
for side in python c; do
    if [ "$side" = python ]; then cmd=($PY "$E2E_DIR/workers/testworker.py"); else cmd=("$EXECUTOR" serve-worker); fi
    worker_alone "$side-eof" '' "${cmd[@]}"
    check_eq "$side worker: says hello, exits 0 at the end of stdin" "0 offload-worker 1" \
        "$W_RC $(hello_line)"
    worker_alone "$side-zero" '\0\0\0\0' "${cmd[@]}"
    check "$side worker: a frame length of 0 is an error, exit 2 ($W_ERR)" \
        test "$W_RC" = 2 -a -n "$W_ERR"
    worker_alone "$side-cut" '\0\0\0\20J\0\0' "${cmd[@]}"
    check "$side worker: stdin ending inside a frame is an error, exit 2 ($W_ERR)" \
        eval '[ "$W_RC" = 2 ] && grep -q "inside a frame" <<<"$W_ERR"'
    worker_alone "$side-type" '\0\0\0\1R' "${cmd[@]}"
    check "$side worker: a frame that is not a job is an error, exit 2 ($W_ERR)" \
        eval '[ "$W_RC" = 2 ] && grep -q "not a job" <<<"$W_ERR"'
    # A whole job for echo ("hi"), then the end: one R frame, exit 0.
    worker_alone "$side-job" '\0\0\0\14J\0\0\0\0\4echohi' "${cmd[@]}"
    got=$(tail -c 3 "$W_OUT" | od -An -c | tr -s ' ' | sed 's/^ //')
    check_eq "$side worker: a job is answered with one result frame" "0 R h i" "$W_RC $got"
done

# ---- refused at start ---------------------------------------------------------
refused() { # WANT_TEXT FLAGS...: the executor exits 2 and says WANT_TEXT
    local want=$1 out rc
    shift
    out=$("$EXECUTOR" --connect "$GW_EXECUTORS" "$@" 2>&1 </dev/null)
    rc=$?
    [ "$rc" = 2 ] && grep -q -- "$want" <<<"$out" || {
        echo "    rc=$rc: $out" >&2
        return 1
    }
}
printf 'int f(void) { return 1; }\n' >"$E2E_TMP/noinit.c"
cc -shared -fPIC "$E2E_TMP/noinit.c" -o "$E2E_TMP/noinit.so"
cat >"$E2E_TMP/abi.c" <<'CEOF'
#define OFFLOAD_PLUGIN_NO_ABI_SYMBOL
#include "offload_plugin.h"
OFFLOAD_PLUGIN_EXPORT const int offload_plugin_abi = 99;
static int f(const void *p, size_t n, offload_reply *r) { (void)p; (void)n; (void)r; return 0; }
int offload_plugin_init(offload_registry *reg) { return offload_register(reg, "f", f); }
CEOF
cc -shared -fPIC -I"$REPO_ROOT/executor" "$E2E_TMP/abi.c" -o "$E2E_TMP/abi.so"
cat >"$E2E_TMP/dup.c" <<'CEOF'
#include "offload_plugin.h"
static int f(const void *p, size_t n, offload_reply *r) { (void)p; (void)n; (void)r; return 0; }
int offload_plugin_init(offload_registry *reg) { return offload_register(reg, "echo", f); }
CEOF
cc -shared -fPIC -I"$REPO_ROOT/executor" "$E2E_TMP/dup.c" -o "$E2E_TMP/dup.so"
check "a plugin that does not load: refused" refused "cannot load" --plugin "$E2E_TMP/missing.so"
check "a plugin without offload_plugin_init: refused" refused "no offload_plugin_init" \
    --plugin "$E2E_TMP/noinit.so"
check "a plugin of another ABI: refused" refused "built for plugin ABI 99" --plugin "$E2E_TMP/abi.so"
check "a plugin registering a taken name: refused" refused "'echo' is registered already" \
    --plugin "$E2E_TMP/dup.so"
check "the same plugin twice: refused" refused "registered already" \
    --plugin "$plugin" --plugin "$plugin"
check "--command on a thread queue: refused" refused "not a process pool" \
    --queue io=threads:2 --command "io=$WORKER"
check "--command on an unknown queue: refused" refused "no --queue named 'nope'" \
    --queue io=threads:2 --command "nope=$WORKER"
check "a worker program that exits at start: refused" refused "exited with code 3 before announcing" \
    --queue p=processes:1 --command "p=sh -c 'exit 3'"
check "a worker program that prints text: refused" refused "not a frame" \
    --queue p=processes:1 --command "p=echo hello; sleep 30"
check "processes:0 is refused" refused "1..4096" --queue p=processes:0
check "threads:4-2 is refused" refused "MIN <= MAX" --queue p=threads:4-2
check "an unknown pool kind is refused" refused "NAME=processes:N" --queue p=fibers:2

finish
