#!/usr/bin/env bash
# Starts a gateway and one executor from BUILD_DIR/bin in the foreground
# (make run), prints what to try, and stops both on Ctrl-C.
#
#   scripts/run-local.sh [BUILD_DIR]
#
# The gateway listens on loopback (HTTP 127.0.0.1:8080, executors
# tcp://127.0.0.1:5556, clients tcp://127.0.0.1:5555), without keys, with two
# of the seed app's routes; OFFLOAD_* variables override them
# (OFFLOAD_HTTP=127.0.0.1:9090 make run). The executor serves
# io=threads:64, cpu=processes:<ncpu> and py=processes:2, whose workers run
# examples/python/worker.py (the seed's sleep and a CPU-bound function).
# Logs go to this terminal.
#
# Ctrl-C drains, like one SIGTERM: both processes run in their own session,
# so the terminal's SIGINT reaches this script alone, which sends each of
# them exactly one SIGTERM (jobs in flight finish, up to --drain-timeout).
# A second Ctrl-C stops them at once.
set -euo pipefail

build=${1:-build}
gateway="$build/bin/offload-gateway"
executor="$build/bin/offload-executor"
for b in "$gateway" "$executor"; do
    [ -x "$b" ] || { echo "run-local: $b is missing; run 'make' first" >&2; exit 1; }
done

# Loopback only: this is the unauthenticated development mode (no CURVE
# keys, no tokens; docs/security.md). Exported, so the gateway takes them.
export OFFLOAD_HTTP=${OFFLOAD_HTTP:-127.0.0.1:8080}
export OFFLOAD_EXECUTORS=${OFFLOAD_EXECUTORS:-tcp://127.0.0.1:5556}
export OFFLOAD_CLIENTS=${OFFLOAD_CLIENTS:-tcp://127.0.0.1:5555}
http=$OFFLOAD_HTTP
http_port=${http##*:}
executors=$OFFLOAD_EXECUTORS
executors_port=${executors##*:}

# A port someone already listens on makes the gateway exit; say which and why
# before it does.
port_taken() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
for p in "$http_port" "$executors_port" "$OFFLOAD_CLIENTS"; do
    p=${p##*:}
    if [ "$p" != 0 ] && [ "$p" != '*' ] && port_taken "$p"; then
        echo "run-local: port $p is already taken on this machine (another offload, or another" >&2
        echo "  server). Stop it, or pick other ports, e.g.:" >&2
        echo "  OFFLOAD_HTTP=127.0.0.1:9090 OFFLOAD_EXECUTORS=tcp://127.0.0.1:6556 OFFLOAD_CLIENTS=tcp://127.0.0.1:6555 make run" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/offload-run.XXXXXX")
pids=()

# stop: one SIGTERM each (a drain), then waits for both. A signal while
# waiting (a second Ctrl-C) sends the second SIGTERM: stop at once.
stopping=0
stop() {
    trap - EXIT
    local pid
    stopping=1
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        while kill -0 "$pid" 2>/dev/null; do wait "$pid" 2>/dev/null || true; done
    done
    rm -rf "$tmp"
}
on_signal() {
    if [ "$stopping" = 1 ]; then
        echo "run-local: stopping at once" >&2
        for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
        return
    fi
    echo
    echo "run-local: draining: jobs in flight finish (Ctrl-C again to stop at once)" >&2
    stop
    exit 0
}
trap on_signal INT TERM
trap stop EXIT

# start NAME BINARY FLAGS...: starts it in the background with --ready-fd 3
# on a FIFO and waits for its ready line (EOF: it died; its log says why).
# Opening a FIFO for writing blocks until a reader opens it, so the process
# starts first and the read opens the other end.
start() {
    local name=$1 fifo="$tmp/$1.ready"
    shift
    mkfifo "$fifo"
    # Its own session: Ctrl-C's SIGINT to the terminal's process group
    # reaches only this script (see stop).
    setsid "$@" --ready-fd 3 3>"$fifo" &
    pids+=($!)
    READY=""
    if ! read -r -t 10 READY <"$fifo" || [ -z "$READY" ]; then
        echo "run-local: $name did not start (see its message above)" >&2
        exit 1
    fi
}

start gateway "$gateway" \
    --route 'GET /test/async=delay:3000' --route 'GET /test/sync=job:io/sleep:3000'
for kv in $READY; do # the bound addresses (port 0 or * resolved)
    case "$kv" in
    http=*) http=${kv#http=} ;;
    executors=*) bound=${kv#executors=} ;;
    clients=*) clients=${kv#clients=} ;;
    esac
done
bound=${bound/\/\/0.0.0.0:/\/\/127.0.0.1:}
connect=${OFFLOAD_CONNECT:-$bound}
root=$(cd "$(dirname "$0")/.." && pwd)
# The CLI and the Python protobuf module of the build that runs (make asan's
# is build/asan); the default build needs no OFFLOAD_PB2_DIR.
builddir=$(cd "$build" && pwd)
pb2=
[ "$builddir" = "$root/build" ] || pb2=" OFFLOAD_PB2_DIR=$builddir/python"
python=/usr/bin/python3
[ -x "$python" ] || python=python3
start executor "$executor" --connect "$connect" \
    --queue io=threads:64 --queue "cpu=processes:$(nproc)" --queue py=processes:2 \
    --command "py=PYTHONPATH=$root/client/python $python $root/examples/python/worker.py"

url="http://localhost:${http##*:}"
cat <<EOF

offload is running: gateway pid ${pids[0]} on $http, executor pid ${pids[1]}
(queues io=threads:64, cpu=processes:$(nproc), py=processes:2 running
examples/python/worker.py). Try, from another terminal:

  curl -s $url/healthz
  curl -s $url/readyz                                    # ready: every queue served
  curl -s $url/v1/queues
  curl -s $url/metrics                                   # Prometheus text
  open $url/ui in a browser                              # the live dashboard
  curl -s --data-binary 'hello' $url/v1/jobs/io/echo
  curl -s --data-binary 1000 $url/v1/jobs/io/sleep        # a 1 s blocking job
  curl -s --data-binary 500 $url/v1/jobs/cpu/spin         # 0.5 s of CPU, in a worker process
  curl -s --data-binary 3000 $url/v1/jobs/py/sleep        # the seed's time.sleep(3), in Python
  curl -s --data-binary 2000000 $url/v1/jobs/py/primes    # CPU-bound Python
  curl -s '$url/v1/delay?ms=1000'                         # the gateway's timer, no thread
  curl -s $url/test/sync                                   # the seed's routes (3 s each)
  curl -s $url/test/async
  curl -s -i -X POST '$url/v1/jobs/io/sleep?timeout_ms=200' --data-binary 2000   # 504

  ab -n 1000 -c 50 -p /dev/null -T application/octet-stream $url/v1/jobs/io/echo
  ab -n 1000 -c 50 $url/test/sync                          # floor: 1000/50 x 3 s = 60 s

From the clients (liboffload, the CLI, Python; README "Quick start"):

  export OFFLOAD_GATEWAY=${clients/\/\/0.0.0.0:/\/\/127.0.0.1:}
  $builddir/bin/offload queues                        # the fleet's pools
  $builddir/bin/offload top                           # live, like htop (q quits)
  $builddir/bin/offload call io echo hello
  $builddir/bin/offload bench -c 50 -n 100000 io echo x
  PYTHONPATH=$root/client/python$pb2 $python $root/examples/quickstart/hello.py

Ctrl-C stops both.
EOF

# Wait until Ctrl-C (the trap) or until one of them exits on its own.
set +e
wait -n "${pids[@]}"
rc=$?
echo "run-local: a process exited on its own (status $rc); stopping the other" >&2
stop
exit 1
