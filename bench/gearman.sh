#!/usr/bin/env bash
# A Gearman baseline for the client benchmark (`offload bench`), on loopback:
# gearmand, Gearman workers with an "echo" function (bench/gearman_worker.c)
# and a load generator of synchronous C callers (bench/gearman_client.c), one
# gearman_client_st and one connection each. Prints two machine-readable lines:
#
#   gearman: n=100000 c=50 rps=... p50_us=... p90_us=... p99_us=... max_us=... failed=0
#   gearman: n=10000 c=1 rps=... p50_us=... p90_us=... p99_us=... max_us=... failed=0
#
# The counterparts are `offload bench -c 50 -n 100000 io echo x` and
# `-c 1 -n 10000` against a gateway with one executor --queue io=threads:2.
# Fairness: a Gearman worker connection runs one job at a time, so
# BENCH_GEARMAN_WORKERS (default 2) worker connections are the counterpart of
# io=threads:2's two slots; they run as one worker process with that many
# threads (own gearman_worker_st and connection each), as the executor is one
# process with two pool threads (2 processes x 1 thread measured the same).
# gearmand gets --threads=BENCH_GEARMAN_THREADS (default 1): on a 2-core box
# it did best with 1 (c=50: about 10.6k req/s, against 8.1k with 2 and 6.0k
# with 4; 4 workers instead of 2 changed little), and a baseline should run
# at its best. --backlog=1024: with the default 32, 50 callers connecting at
# once overflow the listen queue and a dropped SYN costs 1 s (max_us ~1000000).
#
# The programs are built with cc into build/bench/ when missing or older than
# their source. Every process started is stopped by pid on exit.
#
#   bench/gearman.sh
#   BENCH_GEARMAN_N=100000 BENCH_GEARMAN_N1=10000 BENCH_GEARMAN_C=50
#   BENCH_GEARMAN_WORKERS=2 BENCH_GEARMAN_THREADS=1 (defaults)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_BUILD:-$root/build/bench}
n=${BENCH_GEARMAN_N:-100000}
n1=${BENCH_GEARMAN_N1:-10000}
conc=${BENCH_GEARMAN_C:-50}
workers=${BENCH_GEARMAN_WORKERS:-2}
threads=${BENCH_GEARMAN_THREADS:-1}
cc=${CC:-cc}

die() { echo "gearman bench: $*" >&2; exit 1; }

gearmand=$(PATH="$PATH:/usr/sbin:/usr/local/sbin" command -v gearmand) ||
    die "gearmand is missing (apt-get install gearman-job-server libgearman-dev, or scripts/deps.sh)"
read -r -a ccv <<<"$cc" # CC may carry words (ccache cc)
command -v "${ccv[0]}" >/dev/null || die "${ccv[0]} is missing (apt-get install build-essential)"
echo '#include <libgearman-1.0/gearman.h>' | "${ccv[@]}" -E -x c - >/dev/null 2>&1 ||
    die "libgearman's headers are missing (apt-get install libgearman-dev)"

mkdir -p "$out" || die "cannot create $out"
for p in gearman_worker gearman_client; do
    if [ ! -x "$out/$p" ] || [ "$root/bench/$p.c" -nt "$out/$p" ]; then
        "${ccv[@]}" -O2 -Wall -Wextra -Werror "$root/bench/$p.c" -o "$out/$p" -lgearman -lpthread ||
            die "building $out/$p failed"
    fi
done

# --check: the tools are here and the programs build; nothing runs.
[ "${1:-}" = --check ] && exit 0

# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench_init gearman-bench

# until_ok SECONDS CMD...: runs CMD every 20 ms until it succeeds (0); 1 after
# about SECONDS (counted in tries: the wall clock, and so $SECONDS, may step),
# or at once when CMD returns 2 (hopeless).
until_ok() {
    local tries=$(($1 * 50)) rc
    shift
    for (( ; tries > 0; tries--)); do
        "$@"
        rc=$?
        [ "$rc" -eq 0 ] && return 0
        [ "$rc" -eq 2 ] && return 1
        sleep 0.02
    done
    return 1
}

# gearmand in the foreground (no --daemon), on an ephemeral loopback port:
# the kernel picks it (--port=0), so no other process can take it between a
# test and the bind; it is read back from the listening socket gearmand holds.
"$gearmand" --listen=127.0.0.1 --port=0 --threads="$threads" --backlog=1024 \
    --log-file="$tmp/gearmand.log" --pid-file="$tmp/gearmand.pid" --verbose=WARNING \
    </dev/null >>"$tmp/gearmand.log" 2>&1 &
gpid=$!
pids+=("$gpid")

port=""
find_port() { # sets port from gearmand's listening TCP socket
    local f l inodes=" " _l laddr st inode
    kill -0 "$gpid" 2>/dev/null || return 2 # gearmand exited
    for f in /proc/"$gpid"/fd/*; do
        l=$(readlink "$f" 2>/dev/null) || continue
        case $l in socket:\[*\]) l=${l#socket:[}; inodes+="${l%]} " ;; esac
    done
    while read -r _l laddr _l st _l _l _l _l _l inode _l; do
        if [ "$st" = 0A ] && [[ $inodes == *" $inode "* ]]; then
            port=$((16#${laddr#*:}))
            return 0
        fi
    done </proc/"$gpid"/net/tcp
    return 1
}
until_ok 10 find_port || {
    tail -n 20 "$tmp/gearmand.log" >&2
    die "gearmand did not start listening"
}
server=127.0.0.1:$port

"$out/gearman_worker" -t "$workers" "$server" 2>>"$tmp/worker.log" &
wpid=$!
pids+=("$wpid")

# Ready when gearmand's admin "status" lists echo with every worker available
# (FUNCTION TOTAL RUNNING AVAILABLE), then one echo round trip.
workers_ready() {
    local name _l avail ok=1
    kill -0 "$wpid" 2>/dev/null || return 2 # the worker exited
    exec 5<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'status\n' >&5
    while IFS=$'\t' read -r -t 2 name _l _l avail <&5; do
        [ "$name" = . ] && break
        [ "$name" = echo ] && [ "${avail:-0}" -ge "$workers" ] && ok=0
    done
    exec 5<&- 5>&-
    return $ok
}
until_ok 10 workers_ready 2>/dev/null || {
    tail -n 20 "$tmp/worker.log" "$tmp/gearmand.log" >&2
    die "the workers did not register echo with gearmand"
}
"$out/gearman_client" --probe -t 5000 "$server" || die "no echo round trip through gearmand"

echo "# gearman $("$gearmand" --version 2>/dev/null | awk 'NF {print $2; exit}'): gearmand" \
    "--threads=$threads, 1 worker process x $workers connections, $(nproc) cores, loopback"
# run ARGS...: one client run, in the background so a signal's trap (and the
# cleanup) runs at once rather than after it; its pid is stopped there too.
status=0
run() {
    "$out/gearman_client" "$@" "$server" &
    pids+=($!)
    wait $! || status=1
}
run -c "$conc" -n "$n"
run -c 1 -n "$n1"
[ "$status" -eq 0 ] || die "some requests failed"
