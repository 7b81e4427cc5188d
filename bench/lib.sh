# shellcheck shell=bash disable=SC2034
# What the benchmark scripts share (bench.sh, fastapi_seed.sh, gearman.sh):
# a scratch directory, every process they start stopped by pid on exit,
# --ready-fd start-up, ab runs checked for failures, and small number
# helpers.
#
#   bench_init NAME        sets tmp (a scratch dir), pids=(), failures=0; traps
#   start NAME BIN FLAGS...   starts BIN with --ready-fd; its ready line in READY
#   field LINE KEY         the value of KEY=value in LINE
#   ab_run LABEL N ARGS... ab -n N ARGS; AB_SECONDS, AB_RPS; failures counted
#   median V..., ratio A B

# The benchmark's processes must not pick up flags from the caller's shell.
bench_scrub_env() {
    local name _
    while IFS='=' read -r name _; do
        case "$name" in OFFLOAD_BIN) ;; OFFLOAD_*) unset "$name" ;; esac
    done < <(env)
}

bench_cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$tmp"
}

bench_init() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    pids=()
    failures=0
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# start NAME BINARY FLAGS...: starts it with --ready-fd 3 on a FIFO and reads
# its ready line into READY (the read unblocks the process's open of the FIFO).
start() {
    local name=$1 b=$2 fifo="$tmp/$1.ready"
    shift 2
    mkfifo "$fifo"
    "$b" "$@" --ready-fd 3 3>"$fifo" 2>>"$tmp/$name.log" &
    pids+=($!)
    READY=""
    if ! read -r -t 10 READY <"$fifo" || [ -z "$READY" ]; then
        echo "bench: $name did not start:" >&2
        tail -n 20 "$tmp/$name.log" >&2
        exit 1
    fi
}

field() { # field LINE KEY -> value of KEY=value in LINE
    local kv
    for kv in $1; do [ "${kv%%=*}" = "$2" ] && echo "${kv#*=}"; done
}

# ab_run LABEL N ARGS...: runs ab -n N ARGS; sets AB_SECONDS and AB_RPS; counts a run
# with failed or non-2xx requests (or fewer complete than asked) in failures.
ab_run() {
    local label=$1 want=$2 out="$tmp/ab.out" rc complete failed non2xx
    shift 2
    timeout 300 ab -q -s 60 -n "$want" "$@" >"$out" 2>&1
    rc=$?
    complete=$(sed -n 's/^Complete requests: *\([0-9]*\).*/\1/p' "$out")
    failed=$(sed -n 's/^Failed requests: *\([0-9]*\).*/\1/p' "$out")
    non2xx=$(sed -n 's/^Non-2xx responses: *\([0-9]*\).*/\1/p' "$out")
    if [ "$rc" -ne 0 ] || [ "${complete:-0}" != "$want" ] || [ "${failed:-1}" != 0 ] ||
        [ "${non2xx:-0}" != 0 ]; then
        echo "bench: $label: ab exit $rc, complete ${complete:-?}/$want," \
            "failed ${failed:-?}, non-2xx ${non2xx:-0}" >&2
        tail -n 5 "$out" >&2
        failures=$((failures + 1))
    fi
    AB_SECONDS=$(sed -n 's/^Time taken for tests: *\([0-9.]*\).*/\1/p' "$out")
    AB_RPS=$(sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' "$out")
}

median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }
ratio() { awk -v a="${1:-nan}" -v b="${2:-nan}" 'BEGIN { printf "%.3f", a / b }'; }
