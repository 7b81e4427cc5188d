#!/usr/bin/env bash
# The seed's FastAPI app before and after offload, scaled down, on loopback
# with ephemeral ports: the seed's ab command shape (ab -n 1000 -c 50 and its
# two headers) on /test/sync of
#
#   floor     hello-baseline --delay-ms 100: a bare C server answering after
#             100 ms, what ab itself allows on this machine (ideal n/c x
#             100 ms = 2.0 s, plus ab's first request sent alone);
#   async     app.py's /test/async under uvicorn: the seed's async control,
#             asyncio.sleep(0.1), no job: what uvicorn + FastAPI allow;
#   offload   examples/fastapi_seed/app.py under uvicorn, each request
#             awaiting a 100 ms sleep job on a gateway + executor
#             (io=threads:50) through the Python client; target <= 1.05x
#             ab's floor. The seed calls its async route's time (63 s for
#             3 s sleeps) ab's floor: that is the async control here, the
#             same app and server doing no job. The bare C server is shown
#             as a second, stricter floor: the gap between the two is
#             uvicorn's and FastAPI's own cost per request (Debian's uvicorn
#             runs on h11 and asyncio unless python3-httptools and
#             python3-uvloop are installed);
#   original  examples/fastapi_seed/original.py under uvicorn: the seed's
#             blocking routes with a 100 ms time.sleep (anyio's 40 threads
#             for /test/sync).
#
# Runs alternate, median of BENCH_RUNS (default 3). Prints a table; exits 1
# if ab saw a failed or non-2xx request. Every process started is stopped by
# pid. Needs Debian's python3-fastapi and python3-uvicorn.
#
#   OFFLOAD_BIN=build/bin bench/fastapi_seed.sh
#   BENCH_RUNS=3 BENCH_FASTAPI_ROUTES="/test/sync /test/sync_async" (default /test/sync)
#   PYTHONPATH=... is kept, after client/python, for the apps.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${OFFLOAD_BIN:-build/bin}
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
runs=${BENCH_RUNS:-3}
routes=${BENCH_FASTAPI_ROUTES:-/test/sync}
py=/usr/bin/python3 # Debian's: the packages are for it (a python3 on PATH may be a slow shim)
ms=100

for b in offload-gateway offload-executor hello-baseline; do
    [ -x "$bin/$b" ] || { echo "bench: $bin/$b is missing; run 'make' first" >&2; exit 1; }
done
command -v ab >/dev/null ||
    { echo "bench: ab is missing (apt-get install apache2-utils)" >&2; exit 1; }
"$py" -c 'import fastapi, uvicorn' 2>/dev/null ||
    { echo "bench: $py cannot import fastapi and uvicorn" \
        "(apt-get install python3-fastapi python3-uvicorn)" >&2; exit 1; }

# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_scrub_env
bench_init offload-bench-fastapi

# start_app NAME MODULE [VAR=VALUE...]: uvicorn MODULE:app from
# examples/fastapi_seed on a port the kernel picks, read from its log once
# it listens (after the app's startup). Sets URL.
start_app() {
    local name=$1 module=$2 log="$tmp/$1.log" port i
    shift 2
    : >"$log"
    env PYTHONPATH="$root/client/python${PYTHONPATH:+:$PYTHONPATH}" OFFLOAD_PB2_DIR="$bin/../python" "$@" \
        "$py" -m uvicorn "$module:app" --app-dir "$root/examples/fastapi_seed" \
        --host 127.0.0.1 --port 0 --no-access-log >>"$log" 2>&1 &
    pids+=($!)
    for ((i = 0; i < 1500; i++)); do # up to 30 s
        port=$(sed -n 's|.*Uvicorn running on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log")
        [ -n "$port" ] && break
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.02
    done
    if [ -z "$port" ]; then
        echo "bench: $name did not start:" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
    URL="http://127.0.0.1:$port"
}

start gateway "$bin/offload-gateway" --http 127.0.0.1:0 \
    --executors 'tcp://127.0.0.1:*' --clients 'tcp://127.0.0.1:*' --log-level warn
clients=$(field "$READY" clients)
start executor "$bin/offload-executor" --connect "$(field "$READY" executors)" \
    --queue io=threads:50 --log-level warn
start floor "$bin/hello-baseline" --port 0 --delay-ms "$ms"
floor="http://$(field "$READY" http)"
start_app offload app OFFLOAD_GATEWAY="$clients" OFFLOAD_SEED_QUEUE=io OFFLOAD_SEED_MS="$ms"
offload=$URL
start_app original original OFFLOAD_SEED_MS="$ms"
original=$URL

seed_headers=(-H 'accept: application/json' -H 'x-data-origin: source')

# seed_ab LABEL N URL: the seed's ab command shape (ab_run); sets AB_SECONDS.
seed_ab() { ab_run "$1" "$2" -c 50 "${seed_headers[@]}" "$3"; }

verdict() { # verdict RATIO LIMIT -> "ok" or "MISSED"
    awk -v r="$1" -v l="$2" 'BEGIN { print (r != "" && r + 0 <= l + 0) ? "ok" : "MISSED" }'
}
row() { printf '%-42s %9s %7s %7s  %s\n' "$@"; }

# The targets, measured in turn in each run: NAME=URL.
targets=("floor=$floor/" "async=$offload/test/async")
for route in $routes; do
    targets+=("offload $route=$offload$route" "original $route=$original$route")
done

# Warm-up: connections, imports, first-request paths.
for t in "${targets[@]}"; do seed_ab "warm-up ${t%%=*}" 100 "${t#*=}"; done

declare -A times
for ((i = 0; i < runs; i++)); do
    for t in "${targets[@]}"; do
        seed_ab "${t%%=*}" 1000 "${t#*=}"
        times[${t%%=*}]+=" ${AB_SECONDS:-nan}"
    done
done
# shellcheck disable=SC2086 # the lists split on purpose
med() { median ${times[$1]}; }

server=$("$py" -c 'import importlib.util as u
print(("httptools" if u.find_spec("httptools") else "h11") + ", "
      + ("uvloop" if u.find_spec("uvloop") else "asyncio"))')
echo "fastapi_seed bench: $(nproc) cores, $(uname -sr), loopback, uvicorn on $server;" \
    "ab -n 1000 -c 50 (seed headers), $ms ms per request, median of $runs"
echo
fm=$(med floor)
am=$(med async)
row "" time /floor /async "target: /async (/floor)"
row "" ---- ------ ------ -----------------------
row "floor: hello-baseline --delay-ms $ms" "$fm s" 1.000 "" ""
row "async control: app.py /test/async" "$am s" "$(ratio "$am" "$fm")" 1.000 ""
for route in $routes; do
    om=$(med "offload $route")
    gm=$(med "original $route")
    r=$(ratio "$om" "$fm")
    ra=$(ratio "$om" "$am")
    row "offload: app.py $route" "$om s" "$r" "$ra" \
        "<= 1.05 $(verdict "$ra" 1.05) ($(verdict "$r" 1.05))"
    row "original: original.py $route" "$gm s" "$(ratio "$gm" "$fm")" "$(ratio "$gm" "$am")" ""
done
echo
echo "floor: a bare C server; async control: the same uvicorn + FastAPI app awaiting"
echo "asyncio.sleep, no job (the seed's 'ab floor', uvicorn's own cost included);"
echo "offload: each request awaits a job."
for t in "${targets[@]}"; do echo "${t%%=*} (s):${times[${t%%=*}]}"; done
if [ "$failures" -gt 0 ]; then
    echo "bench: FAILED: $failures ab run(s) had failed or non-2xx requests" >&2
    exit 1
fi
echo "bench: every request succeeded"
