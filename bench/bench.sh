#!/usr/bin/env bash
# offload benchmarks, in one run on loopback with ephemeral ports (make bench):
#
#   1. the seed scenario scaled down: ab -n 1000 -c 50 with the seed's headers
#      on a blocking route (a 100 ms sleep job on a 50-thread io queue) and on
#      an async route (a 100 ms gateway timer). Ideal: n/c x 100 ms = 2.0 s.
#      Beside it, the floor: the same ab command against hello-baseline
#      --delay-ms 100 (a bare C server answering after 100 ms), which shows
#      what ab itself adds on this machine.
#   2. echo round trips per second through HTTP at 50 connections beside
#      hello-baseline (a bare libmicrohttpd hello-world) with the same ab
#      command, with and without keep-alive: 3 runs each, alternating, median.
#   3. pools: 20 concurrent 200 ms spin jobs on cpu=processes:2 beside
#      threads:2 (ideal 20 x 0.2 / 2 = 2.0 s; sent by one curl --parallel);
#      and no-op (echo) round trips
#      per second through a 2-thread pool, a 2-process pool (serve-worker)
#      and 2 Python workers (client/python/offload_worker.py), keep-alive,
#      c=8, median of the runs.
#   4. clients: liboffload's asynchronous API (offload bench: one thread, 50
#      requests in flight on one socket) doing no-op echo jobs on io beside
#      Gearman (bench/gearman.sh: gearmand, a C worker, 50 C callers), and
#      one caller with one job at a time (p50 round trip); 3 alternating
#      runs, median. Skipped, said so, when Gearman is not installed.
#   5. the seed's FastAPI app (bench/fastapi_seed.sh): examples/fastapi_seed
#      under uvicorn, awaiting 100 ms jobs through the Python client, beside
#      the floor, the async control and the original blocking app.
#   6. loop fairness (bench/fairness.sh): /healthz p50/p99/max from ab -c 1
#      while one gateway socket is flooded with 1 MiB frames, beside idle.
#   7. multi-host (bench/multihost.sh): four executor hosts in network
#      namespaces; the seed's scenario at -c 100 (3 s jobs, 4 x 25 threads)
#      beside ab's floor, and echo round trips with 1, 2 and 4 hosts.
#      Says "skipped" without root or network namespaces.
#   8. the cost of /metrics (bench/metrics.sh): echo round trips with and
#      without a 1 Hz scraper (64 more queues make the body 170 KB), the
#      rate and the gateway's CPU per round trip, alternating, median.
#
# Prints a table; exits 1 if ab saw any failed or non-2xx request (missing a
# target is reported, not fatal). Every process started is stopped by pid.
#
#   OFFLOAD_BIN=build/bin bench/bench.sh
#   BENCH_ECHO_N=50000 BENCH_ECHO_NOKA_N=20000 BENCH_POOL_N=10000 BENCH_RUNS=3
#   BENCH_CLIENT_N=50000 BENCH_CLIENT1_N=10000 BENCH_FASTAPI=1 BENCH_MULTIHOST=1
#   BENCH_METRICS=1 (defaults)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${OFFLOAD_BIN:-build/bin}
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
echo_n=${BENCH_ECHO_N:-50000}
noka_n=${BENCH_ECHO_NOKA_N:-20000}
pool_n=${BENCH_POOL_N:-10000}
runs=${BENCH_RUNS:-3}
client_n=${BENCH_CLIENT_N:-50000}
client1_n=${BENCH_CLIENT1_N:-10000}

for b in offload-gateway offload-executor hello-baseline; do
    [ -x "$bin/$b" ] || { echo "bench: $bin/$b is missing; run 'make' first" >&2; exit 1; }
done
command -v ab >/dev/null || { echo "bench: ab is missing (apt-get install apache2-utils)" >&2; exit 1; }

# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_scrub_env
bench_init offload-bench

start gateway "$bin/offload-gateway" --http 127.0.0.1:0 \
    --executors 'tcp://127.0.0.1:*' --clients 'tcp://127.0.0.1:*' --log-level warn \
    --route 'GET /test/sync=job:io/sleep:100' --route 'GET /test/async=delay:100'
gw="http://$(field "$READY" http)"
executors=$(field "$READY" executors)
clients=$(field "$READY" clients)
start executor "$bin/offload-executor" --connect "$executors" \
    --queue io=threads:50 --log-level warn
python=/usr/bin/python3
[ -x "$python" ] || python=python3
start pools "$bin/offload-executor" --connect "$executors" --log-level warn \
    --queue p_threads=threads:2 --queue p_procs=processes:2 --queue p_py=processes:2 \
    --command "p_py=PYTHONPATH=$root/client/python $python $root/bench/noop_worker.py"
start hello "$bin/hello-baseline" --port 0
hello="http://$(field "$READY" http)"
start floor "$bin/hello-baseline" --port 0 --delay-ms 100
floor="http://$(field "$READY" http)"

printf 'x' >"$tmp/payload"

row() { printf '%-38s %14s %14s %7s  %s\n' "$@"; }
verdict() { # verdict VALUE OP LIMIT -> "ok" or "MISSED"
    python3 -c 'import sys, operator as o; v, op, l = sys.argv[1:]
print("ok" if {"<=": o.le, ">=": o.ge}[op](float(v or "nan"), float(l)) else "MISSED")' "$1" "$2" "$3"
}

seed_headers=(-H 'accept: application/json' -H 'x-data-origin: source')
echo_args=(-c 50 -p "$tmp/payload" -T application/octet-stream)

# Warm up both servers (connections, allocations, page faults).
ab_run warmup 2000 -k "${echo_args[@]}" "$gw/v1/jobs/io/echo"
ab_run warmup 2000 -k "${echo_args[@]}" "$hello/"

echo "offload bench: $(nproc) cores, $(uname -sr), loopback"
echo

# The floor first: the seed's ab command against a bare 100 ms server.
ab_run "seed floor" 1000 -c 50 "${seed_headers[@]}" "$floor/"
floor_s=$AB_SECONDS

seed_row() { printf '%-34s %9s %9s %9s %8s %8s  %s\n' "$@"; }
seed_row "seed, scaled: ab -n 1000 -c 50" result ideal "ab floor" /ideal /floor "target (/ideal)"
seed_row "" ------ ----- -------- ------ ------ ---------------
seed_row "bare C server, 100 ms" "$floor_s s" "2.000 s" "-" "$(ratio "$floor_s" 2.0)" "1.000" ""
# seed ROUTE LABEL: the seed's ab command shape on one route.
seed() {
    local r
    ab_run "$2" 1000 -c 50 "${seed_headers[@]}" "$gw$1"
    r=$(ratio "$AB_SECONDS" 2.0)
    seed_row "$2" "${AB_SECONDS:-?} s" "2.000 s" "$floor_s s" "$r" "$(ratio "$AB_SECONDS" "$floor_s")" \
        "<= 1.02 $(verdict "$r" '<=' 1.02)"
}
seed /test/sync "blocking: job:io/sleep:100"
seed /test/async "async: delay:100"

echo
row "echo round trips" gateway hello-baseline ratio target
row ---------------- ------- -------------- ----- ------
# echo_vs_hello LABEL N [AB FLAGS...]: the same ab command on the gateway's
# echo job and on hello-baseline, alternating, $runs times; medians.
detail=()
echo_vs_hello() {
    local label=$1 n=$2 g=() h=() i gm hm r
    shift 2
    for ((i = 0; i < runs; i++)); do
        ab_run "$label: gateway" "$n" "$@" "${echo_args[@]}" "$gw/v1/jobs/io/echo"
        g+=("${AB_RPS:-0}")
        ab_run "$label: hello" "$n" "$@" "${echo_args[@]}" "$hello/"
        h+=("${AB_RPS:-0}")
    done
    gm=$(median "${g[@]}")
    hm=$(median "${h[@]}")
    r=$(ratio "$gm" "$hm")
    row "$label" "$(printf '%.0f/s' "$gm")" "$(printf '%.0f/s' "$hm")" "$r" \
        ">= 0.70 $(verdict "$r" '>=' 0.7)"
    detail+=("$label (req/s): gateway ${g[*]} | hello ${h[*]}")
}
echo_vs_hello "echo 1 B POST, c=50, keep-alive" "$echo_n" -k
echo_vs_hello "echo 1 B POST, c=50, no keep-alive" "$noka_n"

echo
row "pools" result ideal ratio target
row ----- ------ ----- ----- ------
# spin_round QUEUE LABEL [TARGET]: 20 spins of 200 ms sent at once by one
# curl process (ab sends its first request alone and would add a round);
# the time is the last answer's (the longest curl time_total).
spin_round() {
    local times=() i m r out bad
    for ((i = 1; i <= 20; i++)); do printf 'url = "%s"\n' "$gw/v1/jobs/$1/spin"; done >"$tmp/spin.cfg"
    for ((i = 0; i < runs; i++)); do
        out=$(curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max 20 -m 60 \
            --data-binary 200 -o /dev/null -w '%{http_code} %{time_total}\n' -K "$tmp/spin.cfg")
        bad=$(awk '$1 != 200' <<<"$out" | wc -l)
        if [ "$bad" -ne 0 ] || [ "$(wc -l <<<"$out")" -ne 20 ]; then
            echo "bench: $2: $bad of 20 not 200" >&2
            failures=$((failures + 1))
        fi
        times+=("$(awk '$2 > m { m = $2 } END { printf "%.3f", m }' <<<"$out")")
    done
    m=$(median "${times[@]}")
    r=$(ratio "$m" 2.0)
    row "$2" "$m s" "2.000 s" "$r" "${3:+<= 1.10 $(verdict "$r" '<=' 1.1)}"
    detail+=("$2 (s): ${times[*]}")
}
spin_round p_procs "cpu: 20 x spin 200 ms, processes:2" target
spin_round p_threads "cpu: 20 x spin 200 ms, threads:2"
# noop QUEUE LABEL: echo round trips per second (the pool's own cost).
noop() {
    local rps=() i
    for ((i = 0; i < runs; i++)); do
        ab_run "$2" "$pool_n" -k -c 8 -p "$tmp/payload" -T application/octet-stream \
            "$gw/v1/jobs/$1/echo"
        rps+=("${AB_RPS:-0}")
    done
    NOOP=$(median "${rps[@]}")
    detail+=("$2 (req/s): ${rps[*]}")
}
noop p_threads "no-op, threads:2"
t=$NOOP
noop p_procs "no-op, processes:2"
p=$NOOP
noop p_py "no-op, Python worker x2"
y=$NOOP
row "no-op round trips, threads:2" "$(printf '%.0f/s' "$t")" "" "1.000" ""
row "no-op round trips, processes:2" "$(printf '%.0f/s' "$p")" "" "$(ratio "$p" "$t")" ""
row "no-op round trips, Python x2" "$(printf '%.0f/s' "$y")" "" "$(ratio "$y" "$t")" ""

echo
row "clients: no-op echo" offload Gearman ratio target
row ----------------- ------- ------- ----- ------
# offload_bench C N: the CLI's bench (the async API); sets OB_RPS, OB_P50_US.
offload_bench() {
    local out="$tmp/ob.out"
    OB_RPS=""
    OB_P50_US=""
    if ! timeout 120 "$bin/offload" bench --gateway "$clients" -c "$1" -n "$2" io echo x \
        >"$out" 2>&1 || ! grep -q ", failed 0$" "$out"; then
        echo "bench: offload bench -c $1 -n $2 failed:" >&2
        tail -n 3 "$out" >&2
        failures=$((failures + 1))
    fi
    OB_RPS=$(sed -n 's/.* s: \([0-9]*\) req\/s;.*/\1/p' "$out")
    OB_P50_US=$(sed -n 's/^latency ms: p50 \([0-9.]*\) .*/\1/p' "$out" |
        awk '{ printf "%.0f", $1 * 1000 }')
}
gearman_ok=0
if bash "$root/bench/gearman.sh" --check >/dev/null 2>&1; then gearman_ok=1; fi
o50=() o1=() g50=() g1=()
for ((i = 0; i < runs; i++)); do
    offload_bench 50 "$client_n"
    o50+=("${OB_RPS:-0}")
    offload_bench 1 "$client1_n"
    o1+=("${OB_P50_US:-0}")
    if [ "$gearman_ok" = 1 ]; then
        if BENCH_GEARMAN_N="$client_n" BENCH_GEARMAN_N1="$client1_n" \
            bash "$root/bench/gearman.sh" >"$tmp/gm.out" 2>&1; then
            g50+=("$(field "$(grep ' c=50 ' "$tmp/gm.out")" rps)")
            g1+=("$(field "$(grep ' c=1 ' "$tmp/gm.out")" p50_us)")
        else
            echo "bench: bench/gearman.sh failed:" >&2
            tail -n 5 "$tmp/gm.out" >&2
            failures=$((failures + 1))
        fi
    fi
done
om=$(median "${o50[@]}")
o1m=$(median "${o1[@]}")
detail+=("clients, offload async c=50 (req/s): ${o50[*]} | c=1 p50 (us): ${o1[*]}")
if [ "${#g50[@]}" -gt 0 ]; then
    gm=$(median "${g50[@]}")
    g1m=$(median "${g1[@]}")
    r=$(ratio "$om" "$gm")
    row "50 in flight, one socket (req/s)" "$om/s" "$gm/s" "$r" ">= 3.0 $(verdict "$r" '>=' 3.0)"
    row "one caller: p50 round trip" "$o1m us" "$g1m us" "$(ratio "$o1m" "$g1m")" \
        "<= 100 us $(verdict "$o1m" '<=' 100)"
    detail+=("clients, Gearman c=50 (req/s): ${g50[*]} | c=1 p50 (us): ${g1[*]}")
    detail+=("$(head -n 1 "$tmp/gm.out")")
else
    row "50 in flight, one socket (req/s)" "$om/s" "skipped" "" "(no Gearman)"
    row "one caller: p50 round trip" "$o1m us" "skipped" "" "<= 100 us $(verdict "$o1m" '<=' 100)"
    echo "(Gearman is not installed: apt-get install gearman-job-server libgearman-dev)"
fi

if [ "${BENCH_FASTAPI:-1}" = 1 ]; then
    echo
    if ! OFFLOAD_BIN="$bin" bash "$root/bench/fastapi_seed.sh"; then
        failures=$((failures + 1))
    fi
fi

if ! OFFLOAD_BIN="$bin" bash "$root/bench/fairness.sh"; then
    failures=$((failures + 1))
fi

if [ "${BENCH_MULTIHOST:-1}" = 1 ]; then
    if ! OFFLOAD_BIN="$bin" bash "$root/bench/multihost.sh"; then
        failures=$((failures + 1))
    fi
fi

if [ "${BENCH_METRICS:-1}" = 1 ]; then
    if ! OFFLOAD_BIN="$bin" bash "$root/bench/metrics.sh"; then
        failures=$((failures + 1))
    fi
fi

echo
printf '%s\n' "${detail[@]}"
echo "echo: ab -n $echo_n (keep-alive) / $noka_n (none), median of $runs alternating runs;" \
    "seed: ab -n 1000 -c 50 with the seed's headers, io=threads:50."
if [ "$failures" -gt 0 ]; then
    echo "bench: FAILED: $failures ab run(s) had failed or non-2xx requests" >&2
    exit 1
fi
echo "bench: every request succeeded"
