#!/usr/bin/env bash
# The protocol as docs/protocol.md writes it down, spoken by hand-written python
# peers (pbwire.py, no generated code): every Submit on the clients socket
# is answered (bad names with bad_request, another protocol version with a
# Refuse), a REQ socket works as well as a DEALER, an executor's Goodbye is a
# clean leave, and a gateway that stops says Goodbye to its executors.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

zmq_python || abort "a python3 with zmq (apt-get install python3-zmq)"
command -v jq >/dev/null || abort "jq is installed (apt-get install jq)"

# An id the codec would refuse in every Welcome is refused at start.
long_id=$(printf 'g%.0s' $(seq 129))
"$GATEWAY" --http 127.0.0.1:0 --executors 'tcp://127.0.0.1:*' --clients 'tcp://127.0.0.1:*' \
    --id "$long_id" 2>"$E2E_TMP/longid.err"
check_eq "a gateway --id over 128 characters exits 2" 2 "$?"
check "and says what ids may be" grep -q -- "--id .*1..128 printable characters" "$E2E_TMP/longid.err"

start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 || abort "executor starts"

# One python process asks everything and prints NAME=VALUE lines.
"$ZMQ_PY" - "$GW_CLIENTS" >"$E2E_TMP/clients.out" 2>"$E2E_TMP/clients.err" <<'PY'
import sys, zmq
from pbwire import envelope, fields, ld, vi

ep = sys.argv[1]
ctx = zmq.Context()

def sock(kind):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(ep)
    return s

def submit(request_id, queue, function, payload=b""):
    return envelope(20, vi(1, request_id) + ld(2, queue) + ld(3, function) + ld(4, payload))

def ask(s, frame, timeout_ms=5000):
    s.send(frame)
    if not s.poll(timeout_ms):
        return None
    parts = s.recv_multipart()
    return fields(parts[-1]) if len(parts) == 1 else {"frames": len(parts)}

def reply_of(env):
    if env is None:
        return "none"
    if 21 not in env:
        return "not-a-reply:%r" % sorted(env)
    r = fields(env[21])
    return "%d/%d/%s" % (r.get(1, 0), r.get(3, 0), r.get(4, b"").decode(errors="replace"))

d = sock(zmq.DEALER)
print("dealer_echo=%s" % reply_of(ask(d, submit(7, b"io", b"echo", b"hi"))))
print("bad_queue=%s" % reply_of(ask(d, submit(8, b"bad name", b"echo"))))
print("empty_function=%s" % reply_of(ask(d, submit(9, b"io", b""))))
print("unknown_queue=%s" % reply_of(ask(d, submit(10, b"nosuch", b"echo"))))
print("unknown_function=%s" % reply_of(ask(d, submit(11, b"io", b"nosuch"))))

# Another protocol version: a Refuse (field 12) saying REFUSE_VERSION (1)
# and our version (2).
env = ask(d, submit(12, b"io", b"echo")[:1] + b"\x03" + submit(12, b"io", b"echo")[2:])
if env is None or 12 not in env:
    print("version_refuse=none")
else:
    r = fields(env[12])
    print("version_refuse=%d/%d" % (r.get(1, 0), r.get(2, 0)))

# A REQ socket: the gateway answers after the REQ's empty delimiter.
r = sock(zmq.REQ)
print("req_echo=%s" % reply_of(ask(r, submit(13, b"io", b"echo", b"req"))))
print("req_again=%s" % reply_of(ask(r, submit(14, b"io", b"echo", b"again"))))
PY
echo "python exit $?" >>"$E2E_TMP/clients.err"
val() { sed -n "s/^$1=//p" "$E2E_TMP/clients.out"; }
check_eq "a DEALER Submit gets its Reply (request_id/code/payload)" "7/0/hi" "$(val dealer_echo)"
check_eq "a bad queue name gets bad_request, not silence" "8/1/" "$(val bad_queue)"
check_eq "an empty function name gets bad_request" "9/1/" "$(val empty_function)"
check_eq "an unknown queue gets unknown_queue" "10/2/" "$(val unknown_queue)"
check_eq "an unknown function gets unknown_function" "11/3/" "$(val unknown_function)"
check_eq "another protocol version gets a Refuse (VERSION, ours: 2)" "1/2" "$(val version_refuse)"
check_eq "a REQ socket gets its Reply" "13/0/req" "$(val req_echo)"
check_eq "and a second one (REQ's lock-step holds)" "14/0/again" "$(val req_again)"
[ "$FAILED" -eq 0 ] || cat "$E2E_TMP/clients.err" >&2

stats=$(curl -s -m 5 "$GW_URL/v1/stats")
check_eq "refused Submits are counted (submits_refused)" 4 "$(jq -r .submits_refused <<<"$stats")"
check_eq "the version-3 frame is counted (frames_version)" 1 "$(jq -r .frames_version <<<"$stats")"

# ---- an executor's Goodbye is a clean leave --------------------------------
"$ZMQ_PY" - "$GW_EXECUTORS" >"$E2E_TMP/bye.out" 2>&1 <<'PY'
import sys, zmq
from pbwire import envelope, fields, ld, vi
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 2000)
s.connect(sys.argv[1])
hello = ld(1, b"py-exec") + ld(2, ld(1, b"py") + vi(2, 1) + vi(3, 1) + ld(4, b"echo"))
s.send(envelope(10, hello))
ok = s.poll(5000) and 11 in fields(s.recv())
print("welcome=%s" % ("yes" if ok else "no"))
s.send(envelope(14, ld(1, b"done for today")))
s.close()
ctx.term()
PY
check_eq "a python executor is welcomed" "welcome=yes" "$(cat "$E2E_TMP/bye.out")"
check "the gateway logs its Goodbye as executor_left" \
    wait_until 10 grep -q 'event=executor_left executor=py-exec reason="goodbye: done for today"' "$GW_LOG"
stats=$(curl -s -m 5 "$GW_URL/v1/stats")
check_eq "counted in executors_left" 1 "$(jq -r .executors_left <<<"$stats")"
check_eq "not in executors_lost" 0 "$(jq -r .executors_lost <<<"$stats")"
check "no executor_lost warning for it" sh -c "! grep -q 'event=executor_lost executor=py-exec' '$GW_LOG'"

# ---- a gateway that stops says Goodbye ---------------------------------------
# A python executor waits for the gateway's Goodbye (field 14) while the
# gateway is stopped; the real executor logs the one it got.
"$ZMQ_PY" - "$GW_EXECUTORS" >"$E2E_TMP/gwbye.out" 2>&1 <<'PY' &
import sys, zmq
from pbwire import envelope, fields, ld, vi
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 0)
s.connect(sys.argv[1])
hello = ld(1, b"py-exec-2") + ld(2, ld(1, b"py") + vi(2, 1) + vi(3, 1) + ld(4, b"echo")) + vi(4, 200)
s.send(envelope(10, hello))
got = "none"
while s.poll(20000):
    f = fields(s.recv())
    if 11 in f:
        print("welcomed", flush=True)
    elif 13 in f:
        s.send(envelope(13, b""))  # heartbeat back
    elif 14 in f:
        got = fields(f[14]).get(1, b"").decode()
        break
print("goodbye=%s" % got, flush=True)
PY
py_pid=$!
PIDS+=("$py_pid")
check "the second python executor is welcomed" wait_until 10 grep -q welcomed "$E2E_TMP/gwbye.out"
stop_process "$GW_PID"
check_eq "the gateway exits 0" 0 "$STOP_RC"
wait "$py_pid"
check_eq "the python executor got the gateway's Goodbye" \
    "goodbye=the gateway is shutting down" "$(grep goodbye= "$E2E_TMP/gwbye.out")"
check "the real executor logs the gateway's Goodbye" \
    wait_until 10 grep -q 'event=gateway_goodbye' "$EX_LOG"

finish
