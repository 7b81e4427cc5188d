#!/usr/bin/env bash
# One executor-socket peer must not hurt the others: Hellos past
# --max-queues, --max-executors, --max-functions or --max-silence-ms are
# refused with REFUSE_LIMIT naming the flag; queues declared by executors
# that left are freed (and a legit executor waiting for room gets in);
# --max-clients bounds the clients socket's identities. A real executor
# serves throughout. Attackers are python peers speaking the protocol by
# hand (pbwire.py); every check reads the gateway's answers, logs and
# counters.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

zmq_python || abort "a python3 with zmq (apt-get install python3-zmq)"
command -v jq >/dev/null || abort "jq is installed (apt-get install jq)"

# The gateway refuses a default heartbeat x liveness over its own cap.
"$GATEWAY" --http 127.0.0.1:0 --executors 'tcp://127.0.0.1:*' --clients 'tcp://127.0.0.1:*' \
    --heartbeat-ms 1000 --liveness 3 --max-silence-ms 2000 2>"$E2E_TMP/silence.err"
check_eq "--heartbeat-ms x --liveness over --max-silence-ms: exit 2" 2 "$?"
check "and says which flags" grep -q -- "--max-silence-ms 2000" "$E2E_TMP/silence.err"

# Queues: io (the real executor) + routed (a --route) + 2 x 64 = 130.
start_gateway --max-queues 130 --max-executors 6 --max-functions 64 --max-silence-ms 10000 \
    --max-clients 2 --route 'POST /r=job:routed/echo' || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 --id real || abort "executor starts"
real=$EX_PID

echo_ok() {
    http POST /v1/jobs/io/echo --data-binary "$1"
    [ "$HTTP_STATUS $(cat "$HTTP_BODY")" = "200 $1" ]
}
check "the real executor serves io" echo_ok before

# ---- 17 Hellos of 64 new queues each ---------------------------------------
# Two are welcomed (they fill the table), the other 15 are refused. Then the
# first says Goodbye when $E2E_TMP/leave appears, and the second stops
# heartbeating (lost after 3 x 200 ms).
"$ZMQ_PY" - "$GW_EXECUTORS" "$E2E_TMP/leave" >"$E2E_TMP/flood.out" 2>&1 <<'PY' &
import os, sys, time, zmq
from pbwire import envelope, fields, ld, vi
ep, leave = sys.argv[1], sys.argv[2]
ctx = zmq.Context()

def hello(eid, names):
    body = ld(1, eid)
    for q in names:
        body += ld(2, ld(1, q) + vi(2, 1) + vi(3, 1) + ld(4, b"echo"))
    return body + vi(4, 200) + vi(5, 3)

socks, kept = [], []
for i in range(17):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 1000)
    s.connect(ep)
    s.send(envelope(10, hello(b"flood-%d" % i, [b"f%d-%d" % (i, j) for j in range(64)])))
    if not s.poll(5000):
        print("hello %d: none" % i, flush=True)
        continue
    f = fields(s.recv())
    if 11 in f:
        print("hello %d: welcome" % i, flush=True)
        kept.append(s)
    elif 12 in f:
        r = fields(f[12])
        print("hello %d: refuse %d %s" % (i, r.get(1, 0), r.get(3, b"").decode()), flush=True)
    socks.append(s)
print("done", flush=True)
while not os.path.exists(leave):
    for s in kept:                       # heartbeats keep both registered
        while s.poll(0):
            s.recv()
        s.send(envelope(13, b""))
    time.sleep(0.05)
if kept:
    kept[0].send(envelope(14, ld(1, b"flood over")))
print("left", flush=True)
time.sleep(30)                           # the second one stays, silent
PY
flood=$!
PIDS+=("$flood")
check "the flood's 17 Hellos are answered" wait_until 20 grep -q '^done' "$E2E_TMP/flood.out"
check_eq "2 of them are welcomed" 2 "$(grep -c ': welcome' "$E2E_TMP/flood.out")"
check_eq "15 are refused with REFUSE_LIMIT (4)" 15 "$(grep -c ': refuse 4 ' "$E2E_TMP/flood.out")"
check "the refusal names --max-queues" grep -q 'refuse 4 .*(--max-queues)' "$E2E_TMP/flood.out"
check_eq "hello_refused_limit counts 15" 15 "$(stat_field hello_refused_limit)"
check "the gateway logs event=hello_refused limit=queues" \
    grep -q 'event=hello_refused executor=flood-2 reason=limit limit=queues' "$GW_LOG"
check_eq "/v1/queues lists 130 queues" 130 "$(curl -s -m 5 "$GW_URL/v1/queues" | jq '.queues | length')"
check "the real executor still serves io" echo_ok during

# A legit executor with a new queue finds the table full: refused, it keeps
# asking (it is not stopped: queues may free up).
# (Started by hand: it writes "ready" to a plain file once welcomed.)
"$EXECUTOR" --connect "$GW_EXECUTORS" --queue fresh=threads:1 --id fresh --heartbeat-ms 100 \
    --liveness 3 --ready-fd 3 3>"$E2E_TMP/fresh.ready" 2>"$E2E_TMP/fresh.log" &
PIDS+=("$!")
check "the fresh executor is refused, naming --max-queues" \
    wait_until 10 grep -q 'event=refused .*reason=limit .*--max-queues.*action="retrying' \
    "$E2E_TMP/fresh.log"

# The attackers leave: one with a Goodbye, one by silence. Their 128
# queues are freed, the fresh executor gets in.
touch "$E2E_TMP/leave"
check "the first attacker's Goodbye is logged" \
    wait_until 10 grep -q 'event=executor_left executor=flood-' "$GW_LOG"
check "the silent one is lost" wait_until 10 grep -q 'event=executor_lost executor=flood-' "$GW_LOG"
check "128 queues are freed (queues_freed)" wait_until 10 stat_ge queues_freed 128
check "the gateway logs event=queue_freed" grep -q 'event=queue_freed queue=f' "$GW_LOG"
check "the fresh executor becomes ready" wait_until 10 grep -q ready "$E2E_TMP/fresh.ready"
check "fresh is served" wait_until 10 queue_is fresh executors 1
queues=$(curl -s -m 5 "$GW_URL/v1/queues" | jq -c '[.queues[].name] | sort')
check_eq "/v1/queues lists io, routed, fresh only" '["fresh","io","routed"]' "$queues"
http POST /v1/jobs/f0-1/echo --data-binary x
check_eq "a freed queue answers 404 unknown_queue" "404" "$HTTP_STATUS"
http POST '/v1/jobs/routed/echo?timeout_ms=200' --data-binary y
check_eq "the --route's queue stays known with no executor (503, not 404)" 503 "$HTTP_STATUS"
http POST /v1/jobs/fresh/echo --data-binary z
check_eq "a job runs on the fresh queue" "200 z" "$HTTP_STATUS $(cat "$HTTP_BODY")"
check "the real executor still serves io" echo_ok after-flood

# ---- ghosts, too many functions, too many executors ------------------------
refused0=$(stat_field hello_refused_limit)
"$ZMQ_PY" - "$GW_EXECUTORS" >"$E2E_TMP/ghosts.out" 2>&1 <<'PY'
import sys, zmq
from pbwire import envelope, fields, ld, vi
ctx = zmq.Context()

def decl(q, fns):
    return ld(2, ld(1, q) + vi(2, 1) + vi(3, 1) + b"".join(ld(4, f) for f in fns))

def ask(name, body):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(sys.argv[1])
    s.send(envelope(10, body))
    if not s.poll(5000):
        print("%s: none" % name)
    else:
        f = fields(s.recv())
        if 11 in f:
            print("%s: welcome" % name)
        else:
            r = fields(f.get(12, b""))
            print("%s: refuse %d %s" % (name, r.get(1, 0), r.get(3, b"").decode()))
    return s

ask("ghost", ld(1, b"ghost") + decl(b"spare", [b"echo"]) + vi(4, 600000) + vi(5, 1000))
ask("functions", ld(1, b"fns") + decl(b"spare", [b"f%d" % i for i in range(40)])
    + decl(b"spare2", [b"g%d" % i for i in range(40)]))
# Registered now: real, fresh. 4 more fit under --max-executors 6.
keep = [ask("extra-%d" % i, ld(1, b"extra-%d" % i) + decl(b"spare", [b"echo"])
            + vi(4, 1000) + vi(5, 5)) for i in range(6)]
PY
check "a 600000 x 1000 ghost is refused (REFUSE_LIMIT)" \
    grep -q '^ghost: refuse 4 .*(--max-silence-ms)' "$E2E_TMP/ghosts.out"
check "80 functions are refused, naming --max-functions" \
    grep -q '^functions: refuse 4 .*(--max-functions)' "$E2E_TMP/ghosts.out"
check_eq "4 extra executors are welcomed" 4 "$(grep -c '^extra-.: welcome' "$E2E_TMP/ghosts.out")"
check_eq "2 are refused, naming --max-executors" 2 \
    "$(grep -c '^extra-.: refuse 4 .*(--max-executors' "$E2E_TMP/ghosts.out")"
check_eq "hello_refused_limit counts these 4" $((refused0 + 4)) "$(stat_field hello_refused_limit)"
check "the real executor still serves io" echo_ok after-ghosts

# A real executor over --max-silence-ms says so and exits 1.
start_process ghostexec "$E2E_TMP/ghostexec.log" "$EXECUTOR" --connect "$GW_EXECUTORS" \
    --queue io=threads:1 --id slow --heartbeat-ms 5000 --liveness 3
check_eq "an executor over --max-silence-ms never becomes ready" 1 "$?"
wait "$STARTED_PID"
check_eq "and exits 1" 1 "$?"
check "it logs the gateway's reason and action=exit" \
    grep -q 'event=refused .*reason=limit .*--max-silence-ms.*action=exit' \
    "$E2E_TMP/ghostexec.log"

# ---- --max-clients ---------------------------------------------------------
"$ZMQ_PY" - "$GW_CLIENTS" >"$E2E_TMP/clients.out" 2>&1 <<'PY'
import sys, zmq
from pbwire import envelope, fields, ld, vi
ctx = zmq.Context()
socks = []
for i in range(3):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(sys.argv[1])
    # Jobs long enough that the first two are still in flight when the
    # third arrives, however slowly the connections come up.
    s.send(envelope(20, vi(1, i + 1) + ld(2, b"io") + ld(3, b"sleep") + ld(4, b"5000")))
    socks.append(s)
for i, s in enumerate(socks):
    if not s.poll(10000):
        print("client %d: none" % i)
        continue
    r = fields(fields(s.recv())[21])
    print("client %d: %d %s" % (i, r.get(3, 0), r.get(5, b"").decode()))
PY
check_eq "2 clients' jobs run" 2 "$(grep -c '^client .: 0 ' "$E2E_TMP/clients.out")"
# Which of the three arrives last is up to the connections' order.
check_eq "the third identity gets queue_full naming --max-clients" 1 \
    "$(grep -c '^client .: 5 .*(--max-clients 2)' "$E2E_TMP/clients.out")"
check_eq "clients_refused counts 1" 1 "$(stat_field clients_refused)"

check "the real executor is the same process" kill -0 "$real"
check_eq "no executor_lost for the real one" 0 "$(grep -c 'event=executor_lost executor=real' "$GW_LOG")"
[ "$FAILED" -eq 0 ] || tail -n 5 "$E2E_TMP"/*.out >&2

finish
