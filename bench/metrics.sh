#!/usr/bin/env bash
# The cost of /metrics on the job path (make bench, section 8): echo round
# trips per second through HTTP (ab -k -c 50, for BENCH_METRICS_S seconds
# each run) with and without a Prometheus-like scraper in the same run: one
# curl process (--rate 1/s) asking GET /metrics once a second, on a gateway
# whose body is not small (the io queue and BENCH_METRICS_QUEUES more, each
# with its gauges and two histograms). BENCH_RUNS alternating pairs; the
# median of each. Target: the scraped rate >= 0.98 x the unscraped one
# (under 2% cost). A shared machine's weather moves the rate by more than
# that, so the gateway's own CPU time per round trip (from /proc, beside
# ab's count) is compared too. Also prints the gateway's evidence: scrapes
# and renders during the scraped runs, and the time one render took
# (metrics_render_us).
#
#   OFFLOAD_BIN=build/bin bench/metrics.sh   BENCH_METRICS_S=10 BENCH_METRICS_QUEUES=64 BENCH_RUNS=3
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${OFFLOAD_BIN:-build/bin}
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
secs=${BENCH_METRICS_S:-10}
nqueues=${BENCH_METRICS_QUEUES:-64}
runs=${BENCH_RUNS:-3}
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_scrub_env
bench_init offload-metrics

queues=()
for ((q = 0; q < nqueues; q++)); do queues+=(--queue "q$q"); done
start gateway "$bin/offload-gateway" --http 127.0.0.1:0 --executors 'tcp://127.0.0.1:*' \
    --clients 'tcp://127.0.0.1:*' --log-level warn "${queues[@]}"
gw="http://$(field "$READY" http)"
gw_pid=${pids[-1]}
executors=$(field "$READY" executors)
start executor "$bin/offload-executor" --connect "$executors" --queue io=threads:50 \
    --log-level warn
printf 'x' >"$tmp/payload"
# The executor registers within a heartbeat or two.
for _ in $(seq 50); do
    curl -s "$gw/v1/queues" | grep -q '"name":"io","kind":"threads"' && break
    sleep 0.1
done

gw_stat() { curl -s "$gw/v1/stats" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

# The gateway's CPU time so far, in clock ticks (utime + stime).
gw_ticks() { awk '{ print $14 + $15 }' "/proc/$gw_pid/stat"; }

# echo_rps: ab -k -c 50 on io's echo for $secs seconds; prints req/s and
# the gateway's CPU microseconds per round trip.
echo_rps() {
    local out="$tmp/ab.out" failed non2xx t0 t1 n
    t0=$(gw_ticks)
    timeout $((secs + 60)) ab -q -k -c 50 -t "$secs" -n 100000000 -p "$tmp/payload" \
        -T application/octet-stream "$gw/v1/jobs/io/echo" >"$out" 2>&1
    failed=$(sed -n 's/^Failed requests: *\([0-9]*\).*/\1/p' "$out")
    non2xx=$(sed -n 's/^Non-2xx responses: *\([0-9]*\).*/\1/p' "$out")
    if [ "${failed:-1}" != 0 ] || [ "${non2xx:-0}" != 0 ]; then
        echo "bench: metrics: ab failed ${failed:-?}, non-2xx ${non2xx:-0}" >&2
        tail -n 5 "$out" >&2
        failures=$((failures + 1))
    fi
    t1=$(gw_ticks)
    n=$(sed -n 's/^Complete requests: *\([0-9]*\).*/\1/p' "$out")
    echo "$(sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p' "$out")" \
        "$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="${n:-0}" \
            'BEGIN { printf "%.2f", n ? t * 1e6 / hz / n : 0 }')"
}

# A scraper: one curl process, one GET /metrics a second, for the run.
scraper_start() {
    local i
    for ((i = 0; i < secs + 30; i++)); do
        printf 'url = "%s/metrics"\noutput = "/dev/null"\n' "$gw"
    done >"$tmp/scrape.cfg"
    curl -s --rate 1/s -K "$tmp/scrape.cfg" &
    SCRAPER=$!
    pids+=("$SCRAPER")
}
scraper_stop() {
    kill "$SCRAPER" 2>/dev/null
    wait "$SCRAPER" 2>/dev/null
}

echo_rps >/dev/null # warm-up (connections, allocations)
curl -s -o "$tmp/body" "$gw/metrics"
bytes=$(wc -c <"$tmp/body")

plain=() scraped=() plain_cpu=() scraped_cpu=()
s0=$(gw_stat metrics_scrapes) h0=$(gw_stat metrics_cache_hits) r0=$(gw_stat metrics_render_us)
for ((i = 0; i < runs; i++)); do
    read -r rps cpu <<<"$(echo_rps)"
    plain+=("$rps") plain_cpu+=("$cpu")
    sa=$(gw_stat metrics_scrapes)
    scraper_start
    read -r rps cpu <<<"$(echo_rps)"
    scraped+=("$rps") scraped_cpu+=("$cpu")
    scraper_stop
    sb=$(gw_stat metrics_scrapes)
    during=$((${during:-0} + sb - sa))
done
s1=$(gw_stat metrics_scrapes) h1=$(gw_stat metrics_cache_hits) r1=$(gw_stat metrics_render_us)
renders=$((s1 - s0 - (h1 - h0)))
pm=$(median "${plain[@]}")
sm=$(median "${scraped[@]}")
r=$(ratio "$sm" "$pm")
pc=$(median "${plain_cpu[@]}")
sc=$(median "${scraped_cpu[@]}")
rc=$(ratio "$sc" "$pc")
v=MISSED
awk -v r="$r" 'BEGIN { exit !(r >= 0.98) }' && v=ok

echo
printf '%-44s %12s %12s %7s  %s\n' "/metrics cost: echo, ab -k -c 50, ${secs} s" "scraped 1 Hz" unscraped ratio target
printf '%-44s %12s %12s %7s  %s\n' "--------------------------------------" ------------ --------- ----- ------
printf '%-44s %12s %12s %7s  %s\n' "round trips ($((nqueues + 1)) queues, ${bytes} B body)" \
    "$(printf '%.0f/s' "$sm")" "$(printf '%.0f/s' "$pm")" "$r" ">= 0.98 $v"
printf '%-44s %12s %12s %7s  %s\n' "gateway CPU per round trip" "$sc us" "$pc us" "$rc" \
    "<= 1.02 $(awk -v r="$rc" 'BEGIN { print (r <= 1.02 ? "ok" : "MISSED") }')"
echo "metrics: scraped runs (req/s): ${scraped[*]} | unscraped: ${plain[*]}"
echo "metrics: gateway CPU per round trip (us), scraped: ${scraped_cpu[*]} | unscraped: ${plain_cpu[*]}"
echo "metrics: $during scrapes during the scraped runs; $renders renders in all," \
    "$(awk -v u="$((r1 - r0))" -v n="$renders" 'BEGIN { printf "%.0f", n ? u / n : 0 }') us each"
[ "$failures" -eq 0 ]
