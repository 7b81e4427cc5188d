#!/usr/bin/env bash
# Pool stats reach the gateway (PoolStats, docs/protocol.md) and show in
# /v1/queues' "executors": a real executor with a thread pool and two
# process pools; jobs that keep workers busy, a deadline, a cancel, a
# memory limit and recycling, each counted once under its reason; a thread
# pool's deadline and cancel kill nothing. A python gateway older than
# PoolStats (its Welcome does not say pool_stats) gets none and keeps the
# executor; one that says so gets them (unless --pool-stats-ms 0). A
# python executor's bad PoolStats are dropped (frames_bad, Refuse) and it
# stays registered. Every check polls the gateway's own JSON with a
# deadline.
# shellcheck source=tests/e2e/lib.sh disable=SC2016,SC2119,SC2317
source "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || abort "jq is installed (apt-get install jq)"
command -v promtool >/dev/null || abort "promtool is installed (scripts/deps.sh: prometheus)"
zmq_python || abort "a python3 with zmq (apt-get install python3-zmq)"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
WORKER="$PY $E2E_DIR/workers/testworker.py"
export PYTHONPATH="$REPO_ROOT/client/python:$PYTHONPATH"

start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --id pools-1 --drain-timeout 0 --kill-grace-ms 300 \
    --queue io=threads:2 --queue cpu=processes:2 --max-jobs-per-worker cpu=3 \
    --queue py=processes:1 --command "py=$WORKER" --max-rss-mb py=100 ||
    abort "executor with a thread pool and two process pools starts"

QJSON="$E2E_TMP/pools.json"
# pool_field EXECUTOR QUEUE FILTER: the jq FILTER on that executor's pool of
# QUEUE in /v1/queues (nothing until its first PoolStats).
pool_field() {
    curl -s -m 5 -o "$QJSON" "$GW_URL/v1/queues" || return 1
    json "$QJSON" '.executors[] | select(.id == $e) | .pools[] | select(.queue == $q) | '"$3" \
        --arg e "$1" --arg q "$2"
}
pool_is() { [ "$(pool_field "$1" "$2" "$3")" = "$4" ]; }
# pool_check NAME QUEUE FILTER WANT: waits (10 s) until pools-1's QUEUE
# shows WANT, and says what it showed last when it does not.
pool_check() {
    if wait_until 10 pool_is pools-1 "$2" "$3" "$4"; then
        pass "$1"
    else
        fail "$1" "want '$4', got '$(pool_field pools-1 "$2" "$3")'"
    fi
}
COUNTS='"\(.alive) \(.busy) \(.respawns) \(.kills.deadline) \(.kills.cancel) \(.kills.memory) \(.kills.recycle)"'

# ---- what an executor shows at rest -----------------------------------------
pool_check "cpu: 2 processes alive, none busy, nothing counted" cpu "$COUNTS" "2 0 0 0 0 0 0"
curl -s -m 5 -o "$QJSON" "$GW_URL/v1/queues"
check_eq "the executor's entry: id, queues, state" 'pools-1 io,cpu,py ready' \
    "$(json "$QJSON" '.executors[] | select(.id == "pools-1") | "\(.id) \(.queues | join(",")) \(.state)"')"
seen=$(json "$QJSON" '.executors[] | select(.id == "pools-1") | .last_seen_ms')
check "  last heard from within 10 heartbeats ($seen ms)" test "${seen:-99999}" -lt 2000
check_eq "  one pool per queue, of its kind and size" "io:threads:2 cpu:processes:2 py:processes:1" \
    "$(json "$QJSON" '[.executors[] | select(.id == "pools-1") | .pools[] | "\(.queue):\(.kind):\(.size)"] | join(" ")')"
check_eq "io: 2 threads alive, no memory of its own" "2 0 0" \
    "$(json "$QJSON" '.executors[].pools[] | select(.queue == "io") | "\(.alive) \(.busy) \(.rss_bytes)"')"
rss=$(json "$QJSON" '.executors[].pools[] | select(.queue == "cpu") | .rss_bytes')
check "cpu: its workers' resident memory is measured ($rss bytes)" test "${rss:-0}" -gt 1000000

# ---- a thread pool: busy, then a cancel and a deadline kill nothing ----------
http POST '/v1/jobs/io/sleep?wait=false&timeout_ms=60000' --data-binary 60000
io_job=$(json "$HTTP_BODY" .job_id)
check_eq "a 60 s job on io is accepted" 202 "$HTTP_STATUS"
pool_check "  io shows it busy" io .busy 1
http DELETE "/v1/jobs/$io_job"
check_eq "  DELETE cancels it" 200 "$HTTP_STATUS"
pool_check "  io is idle again, nothing killed (threads stop cooperatively)" io "$COUNTS" \
    "2 0 0 0 0 0 0"
http POST '/v1/jobs/io/sleep?timeout_ms=300' --data-binary 60000
check_error "an io job past its deadline: 504" 504 timeout
pool_check "  io is idle again, nothing killed" io "$COUNTS" "2 0 0 0 0 0 0"

# ---- a process pool: deadline, cancel, recycling ----------------------------
http POST '/v1/jobs/cpu/sleep?timeout_ms=1000' --data-binary 60000
check_error "a cpu job past its deadline: 504" 504 timeout
pool_check "  cpu counts one deadline kill and one respawn" cpu "$COUNTS" "2 0 1 1 0 0 0"

http POST '/v1/jobs/cpu/sleep?wait=false&timeout_ms=60000' --data-binary 60000
cpu_job=$(json "$HTTP_BODY" .job_id)
check_eq "a 60 s job on cpu is accepted" 202 "$HTTP_STATUS"
pool_check "  cpu shows it busy" cpu .busy 1
http DELETE "/v1/jobs/$cpu_job"
check_eq "  DELETE cancels it" 200 "$HTTP_STATUS"
pool_check "  cpu counts one cancel kill, one more respawn" cpu "$COUNTS" "2 0 2 1 1 0 0"

# Both workers are fresh (the two jobs so far killed theirs): of 5 jobs in
# a row one worker runs its 3rd, whatever the order, and none a 6th.
ok=0
for i in 1 2 3 4 5; do
    http POST /v1/jobs/cpu/echo --data-binary "e$i"
    [ "$HTTP_STATUS $(cat "$HTTP_BODY")" = "200 e$i" ] && ok=$((ok + 1))
done
check_eq "5 echo jobs on cpu (--max-jobs-per-worker cpu=3)" 5 "$ok"
pool_check "  cpu counts one recycling and its respawn" cpu "$COUNTS" "2 0 3 1 1 0 1"

# ---- memory: a worker past --max-rss-mb ------------------------------------
pool_check "py: 1 process alive" py "$COUNTS" "1 0 0 0 0 0 0"
http POST '/v1/jobs/py/alloc?timeout_ms=20000' --data-binary 200
check_error "a py job past --max-rss-mb 100: 502 crashed" 502 crashed
pool_check "  py counts one memory kill and its respawn" py "$COUNTS" "1 0 1 0 0 1 0"
check_eq "/v1/stats: PoolStats applied, none bad" "yes 0" \
    "$([ "$(stat_field pool_stats)" -gt 0 ] && echo yes) $(stat_field frames_bad)"

# ---- the same numbers in /metrics ------------------------------------------
METRICS="$E2E_TMP/metrics.txt"
curl -s -m 5 -o "$METRICS" "$GW_URL/metrics"
check "/metrics with pool series passes promtool check metrics" promtool_clean "$METRICS"
# sample NAME LABELS: the value of NAME{LABELS} in the scrape
sample() { awk -v s="$1{$2}" '$1 == s { print $2; exit }' "$METRICS"; }
check_eq "  offload_pool_kills_total: cpu deadline, cancel, recycle; py memory" "1 1 1 1 0" \
    "$(sample offload_pool_kills_total 'queue="cpu",executor="pools-1",reason="deadline"') $(
        sample offload_pool_kills_total 'queue="cpu",executor="pools-1",reason="cancel"') $(
        sample offload_pool_kills_total 'queue="cpu",executor="pools-1",reason="recycle"') $(
        sample offload_pool_kills_total 'queue="py",executor="pools-1",reason="memory"') $(
        sample offload_pool_kills_total 'queue="io",executor="pools-1",reason="deadline"')"
check_eq "  offload_pool_respawns_total cpu, offload_pool_workers cpu alive" "3 2" \
    "$(sample offload_pool_respawns_total 'queue="cpu",executor="pools-1"') $(
        sample offload_pool_workers 'queue="cpu",executor="pools-1",state="alive"')"
rss=$(sample offload_pool_rss_bytes 'queue="cpu",executor="pools-1"')
check "  offload_pool_rss_bytes cpu is measured ($rss)" test "${rss:-0}" -gt 1000000

# ---- python gateways: one older than PoolStats, one that takes them --------
# It answers the Hello with a Welcome that says pool_stats or not (argv),
# heartbeats every 100 ms, and counts what comes for 20 of the executor's
# 100 ms intervals after the Welcome (an executor sends PoolStats at once to
# a gateway that takes them, and again every 10 intervals at the latest).
fake_gateway() {
    router_py_bg "$E2E_TMP/$1.ep" "$2" >"$E2E_TMP/$1.out" 2>"$E2E_TMP/$1.err" <<'PY'
import sys, time, zmq
from pbwire import envelope, fields, ld, vi

ep_file, takes = sys.argv[1], sys.argv[2] == "1"
ctx = zmq.Context()
s = bind_router(ctx, ep_file)
peer, welcomed, bodies, first, last_hb = None, None, {}, None, 0.0
end = time.monotonic() + 30
while time.monotonic() < end and (welcomed is None or time.monotonic() < welcomed + 2.0):
    if s.poll(20):
        frames = s.recv_multipart()
        f = fields(frames[-1])
        for body in f:
            if body >= 10:
                bodies[body] = bodies.get(body, 0) + 1
        if 10 in f:
            peer = frames[0]
            s.send_multipart([peer, envelope(11, ld(1, b"fake") + vi(2, 0) +
                                             (vi(3, 1) if takes else b""))])
            if welcomed is None:
                welcomed = time.monotonic()
        if 26 in f and first is None:
            ps = fields(f[26])
            p = fields(ps[1])
            first = "seq=%d queue=%s kind=%d size=%d alive=%d" % (
                ps.get(2, 0), p.get(1, b"").decode(), p.get(2, 0), p.get(3, 0), p.get(4, 0))
    if peer is not None and time.monotonic() - last_hb > 0.1:
        last_hb = time.monotonic()
        s.send_multipart([peer, envelope(13, b"")])
print("pool_stats=%d heartbeats=%d hellos=%d" % (bodies.get(26, 0), bodies.get(13, 0),
                                                bodies.get(10, 0)), flush=True)
print("first %s" % first, flush=True)
PY
    wait_until 10 test -s "$E2E_TMP/$1.ep" || abort "the python gateway $1 binds"
}
counted() { sed -n "s/.*\b$2=\([0-9]*\).*/\1/p" "$E2E_TMP/$1.out" | head -n 1; }

fake_gateway old 0
start_executor --connect "$(cat "$E2E_TMP/old.ep")" --heartbeat-ms 100 --id old-peer \
    --queue io=threads:1 || abort "an executor registers with the old gateway"
old_exec=$EX_PID
check "the old gateway's count is done" wait_until 20 grep -q '^pool_stats=' "$E2E_TMP/old.out"
check_eq "  it got no PoolStats" 0 "$(counted old pool_stats)"
check "  but heartbeats, >= 5 in 20 intervals ($(counted old heartbeats))" \
    test "$(counted old heartbeats)" -ge 5
check_eq "  and one Hello: the executor never had to register again" 1 "$(counted old hellos)"
check "  the executor logged it registered without pool_stats" \
    grep -q 'event=registered .* pool_stats=0' "$EX_LOG"
stop_process "$old_exec"

fake_gateway new 1
start_executor --connect "$(cat "$E2E_TMP/new.ep")" --heartbeat-ms 100 --id new-peer \
    --queue io=threads:1 || abort "an executor registers with the python gateway"
new_exec=$EX_PID
check "the python gateway's count is done" wait_until 20 grep -q '^pool_stats=' "$E2E_TMP/new.out"
check "  a gateway whose Welcome says pool_stats gets them ($(counted new pool_stats))" \
    test "$(counted new pool_stats)" -ge 1
check_eq "  the first at once, decoded by hand" "first seq=1 queue=io kind=1 size=1 alive=1" \
    "$(grep '^first' "$E2E_TMP/new.out")"
stop_process "$new_exec"

fake_gateway off 1
start_executor --connect "$(cat "$E2E_TMP/off.ep")" --heartbeat-ms 100 --id off-peer \
    --queue io=threads:1 --pool-stats-ms 0 || abort "an executor with --pool-stats-ms 0 registers"
off_exec=$EX_PID
check "the third python gateway's count is done" wait_until 20 grep -q '^pool_stats=' "$E2E_TMP/off.out"
check_eq "  --pool-stats-ms 0: none, though the gateway takes them" 0 "$(counted off pool_stats)"
stop_process "$off_exec"
"$EXECUTOR" --connect "$GW_EXECUTORS" --heartbeat-ms 200 --pool-stats-ms 50 2>"$E2E_TMP/fast.err"
check_eq "--pool-stats-ms under --heartbeat-ms: exit 2" 2 "$?"
check "  saying so" grep -q -- "--pool-stats-ms 50: at least --heartbeat-ms (200)" "$E2E_TMP/fast.err"

# ---- a python executor's bad PoolStats ----------------------------------
bad_before=$(stat_field frames_bad)
"$ZMQ_PY" - "$GW_EXECUTORS" "$E2E_TMP/fake.leave" >"$E2E_TMP/fake.out" 2>&1 <<'PY' &
import os, sys, time, zmq
from pbwire import envelope, fields, ld, vi

ep, leave = sys.argv[1], sys.argv[2]
s = zmq.Context().socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 1000)
s.connect(ep)

def answer():
    """The next message that is not a heartbeat: {field: body}, or None."""
    end = time.monotonic() + 5
    while s.poll(max(1, int((end - time.monotonic()) * 1000))):
        f = fields(s.recv())
        if 13 not in f:
            return f
    return None

def pool(queue, alive=1, busy=0, deadline=0):
    return ld(1, ld(1, queue) + vi(2, 1) + vi(3, 1) + vi(4, alive) + vi(5, busy) +
              vi(7, deadline))

s.send(envelope(10, ld(1, b"fake-1") + ld(2, ld(1, b"fx") + vi(2, 1) + vi(3, 1) +
                                          ld(4, b"echo")) + vi(4, 200) + vi(5, 3)))
w = answer()
print("welcome pool_stats=%d" % fields(w[11]).get(3, 0) if w and 11 in w else "no welcome",
      flush=True)
for name, body in (("undeclared", pool(b"zz")), ("busy_over_size", pool(b"fx", busy=2))):
    s.send(envelope(26, body + vi(2, 1)))
    a = answer()
    print("%s: %s" % (name, "refuse %d" % fields(a[12]).get(1, 0) if a and 12 in a else a),
          flush=True)
s.send(envelope(26, pool(b"fx", deadline=4) + vi(2, 2)))
s.send(envelope(18, b""))
print("good sent", flush=True)
while not os.path.exists(leave):
    s.send(envelope(13, b""))
    time.sleep(0.05)
s.send(envelope(14, ld(1, b"done")))
PY
PIDS+=($!)
check "the python executor is answered" wait_until 10 grep -q '^good sent' "$E2E_TMP/fake.out"
check_eq "  its Welcome says pool_stats" "welcome pool_stats=1" "$(grep '^welcome' "$E2E_TMP/fake.out")"
check_eq "  a PoolStats naming a queue it did not declare: Refuse(INVALID)" "undeclared: refuse 3" \
    "$(grep '^undeclared' "$E2E_TMP/fake.out")"
check_eq "  one with more busy than its size: Refuse(INVALID)" "busy_over_size: refuse 3" \
    "$(grep '^busy_over_size' "$E2E_TMP/fake.out")"
check_eq "  both counted in frames_bad" $((bad_before + 2)) "$(stat_field frames_bad)"
check "  the gateway logged them" grep -q 'event=frame_dropped .*pool_stats' "$GW_LOG"
if wait_until 10 pool_is fake-1 fx '"\(.alive) \(.kills.deadline)"' "1 4"; then
    pass "  it stays registered, and its good PoolStats shows"
else
    fail "  it stays registered, and its good PoolStats shows" "$(cat "$QJSON")"
fi
check_eq "  its Drain shows as its state" draining \
    "$(json "$QJSON" '.executors[] | select(.id == "fake-1") | .state')"
check_eq "  the real executor's numbers did not move" "2 0 3 1 1 0 1" \
    "$(pool_field pools-1 cpu "$COUNTS")"
touch "$E2E_TMP/fake.leave"

finish
