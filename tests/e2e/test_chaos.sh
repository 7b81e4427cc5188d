#!/usr/bin/env bash
# Executor death under load. Two executors share queue io; 40 jobs of 1 s run
# 8 at a time from one curl process (about 5 s of load, so the victim is
# running jobs whenever the kill comes); one executor is killed with SIGKILL
# while both are busy.
# With ?retries=1 every job still answers 200 (its lost jobs go back to the
# head of the queue and run on the other executor); with ?retries=0 each job
# answers 200 or 502 executor_lost, none is lost in between. Then bad retries
# values, and --default-retries with a late Result from a frozen executor.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

# chaos RETRIES: a fresh gateway and two executors io=threads:4, the load with
# ?retries=RETRIES, and a SIGKILL to executor a once busy >= 6 (both busy).
chaos() {
    local retries=$1 victim
    start_gateway || abort "gateway starts (retries=$retries)"
    start_executor --connect "$GW_EXECUTORS" --queue io=threads:4 --id "ex-a$retries" ||
        abort "executor a starts (retries=$retries)"
    victim=$EX_PID
    start_executor --connect "$GW_EXECUTORS" --queue io=threads:4 --id "ex-b$retries" ||
        abort "executor b starts (retries=$retries)"
    check "retries=$retries: io has 2 executors" wait_until 10 queue_is io executors 2

    load_bg "load$retries" 40 8 POST "/v1/jobs/io/sleep?retries=$retries" --data-binary 1000
    if check "retries=$retries: both executors busy (busy >= 6)" wait_until 10 queue_ge io busy 6; then
        { kill -KILL "$victim" && wait "$victim"; } 2>/dev/null
    fi
    check "retries=$retries: the killed executor is dropped" wait_until 10 queue_is io executors 1
    check "retries=$retries: the killed executor was running jobs (gateway log)" \
        grep -Eq "event=executor_lost executor=ex-a$retries .*jobs_lost=[0-9]+ jobs_retried=[0-9]+" "$GW_LOG"
    check "retries=$retries: the 40 requests finish" load_wait 60
}

# ---- retries=1: nothing is lost --------------------------------------------
chaos 1
check_eq "retries=1: every request got an answer from curl (exit 0)" 40 "$(load_count load1 rc 0)"
check_eq "retries=1: all 40 answer 200" 40 "$(load_count load1 code 200)"
check_eq "retries=1: none answers 502" 0 "$(load_count load1 code 502)"
check "retries=1: /v1/stats jobs_retried >= 1 (got $(stat_field jobs_retried))" stat_ge jobs_retried 1
check "retries=1: /v1/stats executors_lost >= 1 (got $(stat_field executors_lost))" stat_ge executors_lost 1
check_eq "retries=1: /v1/stats jobs_lost is 0" 0 "$(stat_field jobs_lost)"
check_eq "retries=1: io completed 40" 40 "$(queue_field io completed)"
stop_process "$GW_PID"

# ---- retries=0: 200 or 502 executor_lost ------------------------------------
chaos 0
ok=$(load_count load0 code 200)
lost=$(load_count load0 code 502)
check_eq "retries=0: every request got an answer from curl (exit 0)" 40 "$(load_count load0 rc 0)"
check_eq "retries=0: 200s + 502s = 40 (200: $ok, 502: $lost)" 40 $((ok + lost))
check "retries=0: at least one 502 ($lost)" test "$lost" -ge 1
bad=0
for f in "$E2E_TMP"/load0/*.code; do
    [ "$(cat "$f")" = 502 ] || continue
    [ "$(json "${f%.code}.body" .error)" = executor_lost ] || bad=$((bad + 1))
done
check_eq "retries=0: every 502 is executor_lost" 0 "$bad"
check_eq "retries=0: /v1/stats jobs_retried is 0" 0 "$(stat_field jobs_retried)"
check_eq "retries=0: /v1/stats jobs_lost equals the 502s" "$lost" "$(stat_field jobs_lost)"

# ---- bad retries values ------------------------------------------------------
for v in abc -1 101 1.5 ''; do
    http POST "/v1/jobs/io/echo?retries=$v" --data-binary x
    check_error "retries=$v answers 400 bad_request" 400 bad_request
done
http POST "/v1/jobs/io/echo?retries=100" --data-binary hundred
check_eq "retries=100 is accepted" "200 hundred" "$HTTP_STATUS $(cat "$HTTP_BODY")"
stop_process "$GW_PID"

# ---- --default-retries, and a late Result from a lost executor ----------------
# A python executor registers (Hello, hand-encoded), takes a 1.5 s sleep and
# goes silent. The gateway declares it lost and, with --default-retries 1,
# runs the job again on a real executor. Then the python executor sends its
# late Result ("late"): it must be dropped and counted in results_unknown,
# never answer the job (which the retry answers after its full 1.5 s).
zmq_python || abort "a python3 with zmq (apt-get install python3-zmq)"
start_gateway --default-retries 1 || abort "gateway with --default-retries 1 starts"
fake_out="$E2E_TMP/fake.out"
"$ZMQ_PY" - "$GW_EXECUTORS" "$fake_out" "$E2E_TMP/fake.go" <<'EOF' &
import os, sys, time, zmq

ep, out_file, go_file = sys.argv[1:4]
out = open(out_file, "w", buffering=1)

from pbwire import envelope, fields as parse, ld, vi

s = zmq.Context().socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 1000)
s.connect(ep)
# QueueDecl io, threads, size 1, functions sleep and echo
queue = ld(1, b"io") + vi(2, 1) + vi(3, 1) + ld(4, b"sleep") + ld(4, b"echo")
hello = ld(1, b"py-lost") + ld(2, queue) + vi(4, 200) + vi(5, 3)
s.send(envelope(10, hello))
job_id = None
deadline = time.monotonic() + 30
next_beat = 0
# Alive (a heartbeat every 100 ms, liveness 3 x 200 ms) until the job comes.
while time.monotonic() < deadline and job_id is None:
    if time.monotonic() >= next_beat:
        s.send(envelope(13, b""))
        next_beat = time.monotonic() + 0.1
    if s.poll(20):
        f = parse(s.recv())
        if 11 in f:
            print("welcome", file=out)
        elif 15 in f:
            job_id = parse(f[15])[1]
            print("job %d" % job_id, file=out)
# Silent (no heartbeat, no Result) until the test says the gateway dropped us.
while time.monotonic() < deadline and not os.path.exists(go_file):
    time.sleep(0.02)
s.send(envelope(16, vi(1, job_id) + ld(3, b"late")))
print("sent late", file=out)
# What comes back within 1 s (heartbeats queued before the drop, then the
# answer to the Result, if any).
names = {11: "welcome", 12: "refuse", 13: "heartbeat", 14: "goodbye", 15: "job", 17: "cancel"}
got = []
end = time.monotonic() + 1
while time.monotonic() < end:
    if s.poll(50):
        f = parse(s.recv())
        kind = next((names.get(n, str(n)) for n in f if n != 1), "empty")
        if kind == "refuse":
            kind += "(reason=%d)" % parse(f[12]).get(1, 0)
        got.append(kind)
print("answer " + (" ".join(got) or "none"), file=out)
EOF
PIDS+=($!)
check "the python executor registers" wait_until 10 grep -qs welcome "$fake_out"
check "io has 1 executor (python)" wait_until 10 queue_is io executors 1
http_bg late POST /v1/jobs/io/sleep --data-binary 1500
check "the python executor gets the job" wait_until 10 grep -q '^job ' "$fake_out"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:1 --id ex-spare || abort "real executor starts"
check "the silent python executor is declared lost" wait_until 10 stat_ge executors_lost 1
check "the gateway log says it was silent" \
    grep -q 'event=executor_lost executor=py-lost reason="silent for' "$GW_LOG"
check "the job is retried (jobs_retried >= 1, default retries 1)" wait_until 10 stat_ge jobs_retried 1
results_unknown0=$(stat_field results_unknown)
touch "$E2E_TMP/fake.go"
check "the python executor sends its late Result" wait_until 10 grep -q 'sent late' "$fake_out"
check "the job is answered" http_wait late 30
check_eq "the retry answers it: 200, not the late Result" "200 " "$HTTP_STATUS $(cat "$HTTP_BODY")"
check "the retry ran its full 1.5 s (X-Offload-Run-Us $(header X-Offload-Run-Us))" \
    test "$(header X-Offload-Run-Us)" -ge 1500000
check "the late Result is counted in results_unknown (was $results_unknown0)" \
    wait_until 10 stat_ge results_unknown $((results_unknown0 + 1))
check "the python executor listened for an answer" wait_until 10 grep -q '^answer ' "$fake_out"
echo "  info  the gateway answered the late Result with: $(sed -n 's/^answer //p' "$fake_out")"
check_eq "the job was answered once: io completed 1" 1 "$(queue_field io completed)"
http POST /v1/jobs/io/echo --data-binary after
check_eq "the gateway still serves" "200 after" "$HTTP_STATUS $(cat "$HTTP_BODY")"

finish
