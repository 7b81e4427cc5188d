#!/usr/bin/env bash
# One executor (io=threads:4) serves two gateways: it shares its 4 slots
# between them by Credit, so it never holds more than 4 jobs (none waits in
# its pool's FIFO), the jobs wait in the gateways, and each gateway's
# /v1/queues capacity is what it may use now. A gateway alone with demand
# gets the whole pool.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway || abort "gateway A starts"
A_URL=$GW_URL A_EXECUTORS=$GW_EXECUTORS A_LOG=$GW_LOG
start_gateway || abort "gateway B starts"
B_URL=$GW_URL B_EXECUTORS=$GW_EXECUTORS B_LOG=$GW_LOG
# start_executor returns once both gateways applied a Credit.
start_executor --connect "$A_EXECUTORS" --connect "$B_EXECUTORS" --queue io=threads:4 \
    --id shared || abort "the executor starts"
ex=$EX_PID

# on GATEWAY_URL FIELD: that io field of the gateway's /v1/queues.
on() {
    local save=$GW_URL v
    GW_URL=$1
    v=$(queue_field io "$2")
    GW_URL=$save
    echo "$v"
}
on_is() { [ "$(on "$1" "$2")" = "$3" ]; }
on_ge() { [ "$(on "$1" "$2")" -ge "$3" ]; }
capacities_are() { [ $(($(on "$A_URL" capacity) + $(on "$B_URL" capacity))) -eq "$1" ]; }

check_eq "both gateways see the executor" "1 1" "$(on "$A_URL" executors) $(on "$B_URL" executors)"
check "idle, the pool is split: capacities add up to 4" \
    wait_until 10 capacities_are 4
check "  and each gateway has some" test "$(on "$A_URL" capacity)" -ge 1 -a "$(on "$B_URL" capacity)" -ge 1
check "both registered with credit" grep -q "executor_registered executor=shared.*credit=1" "$A_LOG" "$B_LOG"

# Samples of both gateways' io while the load runs, as JSON lines
# {"a1": A, "b": B, "a2": A again}: A is read before and after B, and a
# sample whose A changed between its two reads is not used (a job that
# ended on A and one that started on B between two reads would add up to a
# moment that never was).
SAMPLES="$E2E_TMP/samples.jsonl"
sampler() {
    local a1 b a2
    while [ ! -e "$E2E_TMP/stop-sampling" ]; do
        a1=$(curl -s -m 5 "$A_URL/v1/queues") || continue
        b=$(curl -s -m 5 "$B_URL/v1/queues") || continue
        a2=$(curl -s -m 5 "$A_URL/v1/queues") || continue
        printf '{"a1":%s,"b":%s,"a2":%s}\n' "${a1:-null}" "${b:-null}" "${a2:-null}" >>"$SAMPLES"
    done
}
sampler &
sampler_pid=$!
PIDS+=("$sampler_pid")

# 8 concurrent 2 s sleeps through each gateway, one load process each: 16
# jobs on 4 slots take 4 rounds, 8 s at the least.
t0=$(now_ms)
load_bg via_a 8 8 POST "$A_URL/v1/jobs/io/sleep" --data-binary 2000
load_bg via_b 8 8 POST "$B_URL/v1/jobs/io/sleep" --data-binary 2000
check "the 8 jobs through A finish" load_wait 60 via_a
check "the 8 jobs through B finish" load_wait 60 via_b
elapsed=$(($(now_ms) - t0))
touch "$E2E_TMP/stop-sampling"
wait_until 10 all_gone "$sampler_pid"
check_eq "all 8 through A answer 200" 8 "$(load_count via_a code 200)"
check_eq "all 8 through B answer 200" 8 "$(load_count via_b code 200)"
# 4 rounds of 2 s: never more than 4 at once, so at least about 8 s; 3x
# headroom above.
check "16 x 2 s on 4 slots took 4 rounds (>= 7.5 s, < 30 s): ${elapsed} ms" \
    test "$elapsed" -ge 7500 -a "$elapsed" -lt 30000

# The samples: io of each side, only where A did not change between reads.
io='(.queues[] | select(.name == "io"))'
jq -c "select(.a1 != null and .b != null and .a2 != null)
       | {a: (.a1 | $io), a2: (.a2 | $io), b: (.b | $io)}
       | select(.a.busy == .a2.busy and .a.capacity == .a2.capacity)
       | [.a.busy, .b.busy, .a.capacity, .b.capacity, .a.waiting, .b.waiting]" \
    "$SAMPLES" >"$E2E_TMP/kept" 2>/dev/null
kept=$(wc -l <"$E2E_TMP/kept")
check "at least 10 consistent samples during the load (got $kept of $(wc -l <"$SAMPLES"))" \
    test "$kept" -ge 10
max_busy=$(jq -s 'map(.[0] + .[1]) | max' "$E2E_TMP/kept")
max_cap=$(jq -s 'map(.[2] + .[3]) | max' "$E2E_TMP/kept")
max_waiting=$(jq -s 'map(.[4] + .[5]) | max' "$E2E_TMP/kept")
both_busy=$(jq -s 'map(select(.[0] > 0 and .[1] > 0)) | length' "$E2E_TMP/kept")
# A gateway holds max(busy, capacity) slots: a lowered capacity leaves the
# jobs over it running (busy > capacity on that side) and the other side
# gets those slots only once they end.
max_held=$(jq -s 'map(([.[0], .[2]] | max) + ([.[1], .[3]] | max)) | max' "$E2E_TMP/kept")
check "busy on A + busy on B never over 4 (max $max_busy)" test "$max_busy" -le 4
check "capacity on A + capacity on B never over 4 (max $max_cap)" test "$max_cap" -le 4
check "max(busy, capacity) on A + the same on B never over 4 (max $max_held)" \
    test "$max_held" -le 4
check "jobs waited in the gateways (up to $max_waiting at once)" test "$max_waiting" -ge 6
check "both gateways ran jobs at the same time ($both_busy samples)" test "$both_busy" -ge 1

# A alone with demand gets the whole pool: 4 sleeps through A run in one
# round, and B's capacity goes to 0 meanwhile.
load_bg a_alone 4 4 POST "$A_URL/v1/jobs/io/sleep" --data-binary 3000
check "busy on A reaches 4" wait_until 10 on_is "$A_URL" busy 4
check_eq "B may use nothing meanwhile" 0 "$(on "$B_URL" capacity)"
check "the 4 jobs through A finish" load_wait 30 a_alone
check_eq "all 4 answer 200" 4 "$(load_count a_alone code 200)"
check "idle again, the pool is split again" \
    wait_until 10 on_ge "$B_URL" capacity 1

# The executor's own account, in its event=stopped line.
stop_process "$ex"
check_eq "the executor exits 0" 0 "$STOP_RC"
stopped=$(grep "event=stopped" "$EX_LOG")
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$stopped"; }
check_eq "the executor ran 20 jobs" 20 "$(field jobs)"
check "it never held more than 4 jobs at once (held_max=$(field held_max))" \
    test "$(field held_max)" -le 4 -a "$(field held_max)" -ge 4
check_eq "no job waited in its pool's FIFO (fifo_waits)" 0 "$(field fifo_waits)"
check_eq "none refused queue_full (refused_pending)" 0 "$(field refused_pending)"
check_eq "no gateway sent past its allowance (credit_overruns)" 0 "$(field credit_overruns)"
check "it sent Credits and got Demands" test "$(field credits_sent)" -ge 2 -a "$(field demands)" -ge 2

# ---- an older gateway beside a new one ---------------------------------------
# A python ROUTER plays a gateway older than credit: its Welcome says
# nothing of credit. The executor must send it no Credit (it would drop
# one as malformed), count the jobs it sends against the pool, and give
# the new gateway only what is left.
zmq_python || abort "python3 with zmq"
router_py_bg "$E2E_TMP/old.ep" "$E2E_TMP/old.go" >"$E2E_TMP/old.out" 2>"$E2E_TMP/old.err" <<'PY'
import os, sys, time, zmq
from pbwire import envelope, fields, ld, vi

ep_file, go_file = sys.argv[1:3]
ctx = zmq.Context()
s = bind_router(ctx, ep_file)
peer, bodies, results, last_hb = None, {}, {}, 0.0

def pump(ms):
    global peer, last_hb
    if s.poll(ms):
        while True:
            try:
                frames = s.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            f = fields(frames[-1])
            for body in f:
                if body >= 10:
                    bodies[body] = bodies.get(body, 0) + 1
            if 10 in f:
                peer = frames[0]
                s.send_multipart([peer, envelope(11, ld(1, b"old"))])
            elif 16 in f:
                r = fields(f[16])
                results[r.get(1, 0)] = r.get(2, 0)
    if peer is not None and time.monotonic() - last_hb > 0.1:
        last_hb = time.monotonic()
        s.send_multipart([peer, envelope(13, b"")])

def wait_for(cond, secs):
    end = time.monotonic() + secs
    while not cond() and time.monotonic() < end:
        pump(20)
    return cond()

wait_for(lambda: peer is not None and os.path.exists(go_file), 30)
for jid in (1, 2):
    s.send_multipart([peer, envelope(15, vi(1, jid) + ld(2, b"io") + ld(3, b"sleep") +
                                     ld(4, b"1500") + vi(5, 20000))])
print("sent=2", flush=True)
wait_for(lambda: len(results) == 2, 20)
print("results=%s" % ",".join(str(results.get(j, -1)) for j in (1, 2)), flush=True)
wait_for(lambda: os.path.exists(go_file + ".end"), 30)
print("credit_frames=%d" % bodies.get(24, 0), flush=True)
print("hellos=%d" % bodies.get(10, 0), flush=True)
PY
old_pid=$ROUTER_PID
wait_until 10 test -s "$E2E_TMP/old.ep" || abort "the old gateway binds"
start_gateway || abort "a new gateway starts"
start_executor --connect "$GW_EXECUTORS" --connect "$(cat "$E2E_TMP/old.ep")" \
    --queue io=threads:2 --id mixed || abort "the executor serves a new and an old gateway"
mixed=$EX_PID
check "the new gateway, the only one sharing by credit, gets the pool" \
    wait_until 10 queue_is io capacity 2
touch "$E2E_TMP/old.go"
check "the old gateway sent 2 jobs" wait_until 10 grep -q '^sent=2' "$E2E_TMP/old.out"
check "while they run, the new gateway may use nothing" wait_until 5 queue_is io capacity 0
check "the old gateway's jobs answer ok" wait_until 20 grep -q '^results=0,0' "$E2E_TMP/old.out"
check "then the new gateway gets the pool back" wait_until 10 queue_is io capacity 2
http POST /v1/jobs/io/echo --data-binary new
check_eq "and runs jobs" "200 new" "$HTTP_STATUS $(cat "$HTTP_BODY")"
touch "$E2E_TMP/old.go.end"
wait_until 10 all_gone "$old_pid"
check_eq "the old gateway got no Credit" "credit_frames=0" "$(grep credit_frames "$E2E_TMP/old.out")"
stop_process "$mixed"
stopped=$(grep "event=stopped" "$EX_LOG")
check_eq "the executor took nothing from the old gateway as unexpected" 0 "$(field frames_unexpected)"
check_eq "nor malformed" 0 "$(field frames_bad)"

finish
