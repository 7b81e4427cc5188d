#!/usr/bin/env bash
# Horizontal scaling with executors on other hosts (make bench, section 7),
# the hosts being network namespaces on this machine (tests/e2e/netns.sh):
# the gateway in one namespace, holding a bridge, and four executor hosts,
# each joined to it by a veth pair (10.77.0.0/24, inside those namespaces
# only). ab runs in the gateway's namespace.
#
#   seed    the seed's scenario at -c 100: ab -n $BENCH_MH_N (default 1000)
#           -c 100 with the seed's headers on GET /test/sync, a route to a
#           3 s sleep job (job:io/sleep:3000), with four hosts of 25 threads
#           each (100 slots); beside it ab's floor, the same ab command on
#           hello-baseline --delay-ms 3000 (a bare C server answering after
#           3 s) in the same namespace, same run. Ideal n/c x 3 s (30 s for
#           1000); target <= 1.02x the floor.
#   echo    1 B echo round trips per second (ab -k -c 50) with 1, 2 and 4
#           executor hosts serving the queue (e1 on host 1, e2 on hosts 1-2,
#           e4 on hosts 1-4, threads:8 on each host), alternating, median of
#           $BENCH_RUNS (default 3).
#
# Needs root and iproute2; prints "(multi-host skipped: WHY)" and exits 0
# otherwise. Every process is stopped by pid and every namespace removed
# on exit. Exits 1 if ab saw a failed or non-2xx request.
#
#   OFFLOAD_BIN=build/bin bench/multihost.sh   BENCH_MH_N=1000 BENCH_MH_ECHO_N=20000 BENCH_RUNS=3
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${OFFLOAD_BIN:-build/bin}
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
seed_n=${BENCH_MH_N:-1000}
echo_n=${BENCH_MH_ECHO_N:-20000}
runs=${BENCH_RUNS:-3}
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
# shellcheck source=tests/e2e/netns.sh
source "$root/tests/e2e/netns.sh"
bench_scrub_env

if ! net_can; then
    echo "(multi-host skipped: $NET_WHY)"
    exit 0
fi
bench_init offload-multihost
trap 'bench_cleanup; net_down' EXIT

net_up 4 || { echo "bench: the namespaces could not be made" >&2; exit 1; }
gw_ns=$NET_GW
# ab_run calls ab by name: this one runs it in the gateway's namespace.
mkdir -p "$tmp/nsbin"
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$gw_ns" "$(command -v ab)" >"$tmp/nsbin/ab"
chmod +x "$tmp/nsbin/ab"
PATH="$tmp/nsbin:$PATH"

# ns_start NAME NS BINARY FLAGS...: lib.sh's start inside NS (ip netns exec
# execs the binary: the pid is the program's own).
ns_start() {
    local name=$1 ns=$2
    shift 2
    start "$name" ip netns exec "$ns" "$@"
}

ns_start gateway "$gw_ns" "$bin/offload-gateway" --http "$NET_GW_ADDR:8080" \
    --executors "tcp://$NET_GW_ADDR:5556" --clients 'tcp://127.0.0.1:*' --log-level warn \
    --route 'GET /test/sync=job:io/sleep:3000'
gw="http://$NET_GW_ADDR:8080"
for i in 1 2 3 4; do
    queues=(--queue io=threads:25 --queue e4=threads:8)
    [ "$i" -le 2 ] && queues+=(--queue e2=threads:8)
    [ "$i" = 1 ] && queues+=(--queue e1=threads:8)
    ns_start "executor$i" "${NET_HOST[i]}" "$bin/offload-executor" \
        --connect "tcp://$NET_GW_ADDR:5556" --id "host$i" "${queues[@]}" --log-level warn
done
ns_start floor "$gw_ns" "$bin/hello-baseline" --host "$NET_GW_ADDR" --port 0 --delay-ms 3000
floor="http://$(field "$READY" http)"

cap=$(ip netns exec "$gw_ns" curl -s "$gw/v1/queues" |
    jq -r '[.queues[] | "\(.name):\(.capacity)/\(.executors)"] | join(" ")')

printf 'x' >"$tmp/payload"
seed_headers=(-H 'accept: application/json' -H 'x-data-origin: source')
ab_run warmup 2000 -k -c 50 -p "$tmp/payload" -T application/octet-stream "$gw/v1/jobs/e4/echo"

ideal=$(awk -v n="$seed_n" 'BEGIN { printf "%.3f", n / 100 * 3 }')
echo
echo "multi-host: 4 executor hosts in network namespaces, gateway and ab in a fifth;" \
    "queues (capacity/executors): $cap"
row() { printf '%-44s %9s %9s %7s %7s  %s\n' "$@"; }
row "seed at -c 100: ab -n $seed_n -c 100, 3 s jobs" time ideal /ideal /floor "target (/floor)"
row "" ---- ----- ------ ------ ---------------
ab_run "multi-host floor" "$seed_n" -c 100 "${seed_headers[@]}" "$floor/"
fs=$AB_SECONDS
row "floor: hello-baseline --delay-ms 3000" "$fs s" "$ideal s" "$(ratio "$fs" "$ideal")" 1.000 ""
ab_run "multi-host seed" "$seed_n" -c 100 "${seed_headers[@]}" "$gw/test/sync"
s=$AB_SECONDS
r=$(ratio "$s" "$fs")
v=MISSED
awk -v r="$r" 'BEGIN { exit !(r <= 1.02) }' && v=ok
row "offload: 4 hosts x io=threads:25" "$s s" "$ideal s" "$(ratio "$s" "$ideal")" "$r" "<= 1.02 $v"

echo
row "echo round trips, ab -k -c 50, 1 B" req/s "vs 1 host" "" "" ""
row ---------------------------------- ----- --------- "" "" ""
declare -A rps
for ((k = 0; k < runs; k++)); do
    for h in 1 2 4; do
        ab_run "multi-host echo e$h" "$echo_n" -k -c 50 -p "$tmp/payload" \
            -T application/octet-stream "$gw/v1/jobs/e$h/echo"
        rps[$h]="${rps[$h]:-} ${AB_RPS:-0}"
    done
done
# shellcheck disable=SC2086
one=$(median ${rps[1]})
for h in 1 2 4; do
    # shellcheck disable=SC2086
    m=$(median ${rps[$h]})
    row "$h executor host(s), threads:8 each" "$(printf '%.0f/s' "$m")" "$(ratio "$m" "$one")" "" "" ""
done
echo "echo (req/s), runs alternating: 1 host:${rps[1]} | 2 hosts:${rps[2]} | 4 hosts:${rps[4]}"
echo "(one gateway on a $(nproc)-core machine: the hosts share its cores, so echo measures the" \
    "gateway's fan-out, not more CPU)"
if [ "$failures" -gt 0 ]; then
    echo "bench: multi-host: FAILED: $failures ab run(s) had failed or non-2xx requests" >&2
    exit 1
fi
