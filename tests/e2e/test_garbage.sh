#!/usr/bin/env bash
# Hostile peers. A python DEALER sends garbage to the gateway's executors and
# clients sockets (random bytes, an empty frame, a truncated frame, a
# multi-frame message, another protocol version, a frame over the size
# limit); a python ROUTER posing as a second gateway sends garbage to an
# executor. Each frame is dropped and counted (or answered with a Refuse), and
# both processes keep serving real jobs.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

zmq_python || abort "a python3 with zmq (apt-get install python3-zmq)"

start_gateway --max-payload 64K || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 --max-payload 64K ||
    abort "executor starts"
check "io has 1 executor" wait_until 10 queue_is io executors 1

# hostile_dealer ENDPOINT SOCKET_NAME: sends the garbage, prints how many
# frames it sent that must count as frames_bad, and checks the answer to the
# version-3 frame (a Refuse, on the executors socket only). Exits 1 on a
# wrong answer.
hostile_dealer() {
    "$ZMQ_PY" - "$1" "$2" <<'EOF'
import random, sys, zmq

ep, kind = sys.argv[1], sys.argv[2]
ctx = zmq.Context()

def dealer(linger=2000):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, linger)
    s.connect(ep)
    return s

from pbwire import fields

# Protocol version 3 first (the gateway logs 5 bad frames a second, so its
# version_mismatch line comes before the garbage): the executors socket
# answers with a Refuse (field 12), REFUSE_VERSION (1), in version 2.
v2 = dealer()
v2.send(b"\x08\x03\x6a\x00")
rc = 0
if kind == "executors":
    if v2.poll(1000):
        frames = v2.recv_multipart()
        f = fields(frames[0])
        refuse = fields(f.get(12, b""))
        if not (len(frames) == 1 and frames[0][:2] == b"\x08\x02" and 12 in f
                and refuse.get(1) == 1 and refuse.get(2) == 2):
            print("bad answer to version 3: %r" % frames, file=sys.stderr)
            rc = 1
        else:
            print("refuse %r" % refuse.get(3, b"").decode(), file=sys.stderr)
    else:
        print("no answer to version 3 within 1 s", file=sys.stderr)
        rc = 1

# Every one of these must be dropped as frames_bad. The random frames come
# from a fixed seed (none of them decodes as a valid Envelope).
rnd = random.Random(20261124)
garbage = [bytes(rnd.getrandbits(8) for _ in range(n)) for n in (1, 3, 17, 256, 4000)]
garbage.append(b"")                                  # empty frame
garbage.append(b"\x08\x02\x52\x20\x0a\x05ex")        # Hello that claims 32 bytes, has 4
garbage.append(b"\x08\x02\x6a")                      # Heartbeat tag, no length
s = dealer()
for g in garbage:
    s.send(g)
s.send_multipart([b"\x08\x02\x6a\x00", b"\x08\x02\x6a\x00"])  # two body frames
nbad = len(garbage) + 1

# Over --max-payload + 64 KiB (ZMQ_MAXMSGSIZE): libzmq drops the connection.
big = dealer(linger=500)
big.send(b"\x08\x02" + b"\x00" * (1 << 20))

s.close(); v2.close(); big.close()
ctx.term()
print(nbad)
sys.exit(rc)
EOF
}

bad0=$(stat_field frames_bad)
version0=$(stat_field frames_version)
if [ -z "$bad0" ] || [ -z "$version0" ]; then abort "/v1/stats has frames_bad and frames_version"; fi

# ---- the gateway's executors socket ------------------------------------------
nbad=$(hostile_dealer "$GW_EXECUTORS" executors 2>"$E2E_TMP/dealer-executors.err")
check "executors socket: version 3 is answered with a Refuse (REFUSE_VERSION, in version 2)" \
    test $? -eq 0
echo "  info  $(tr '\n' ' ' <"$E2E_TMP/dealer-executors.err")"
want=$((bad0 + ${nbad:-1}))
check "executors socket: frames_bad >= $want" wait_until 10 stat_ge frames_bad "$want"
check "executors socket: frames_version >= $((version0 + 1))" \
    wait_until 10 stat_ge frames_version $((version0 + 1))
bad1=$(stat_field frames_bad)
version1=$(stat_field frames_version)

# ---- the gateway's clients socket ----------------------------------------------
nbad=$(hostile_dealer "$GW_CLIENTS" clients 2>"$E2E_TMP/dealer-clients.err")
check "clients socket: the hostile dealer ran" test $? -eq 0
want=$((bad1 + ${nbad:-1}))
check "clients socket: frames_bad >= $want" wait_until 10 stat_ge frames_bad "$want"
check "clients socket: frames_version >= $((version1 + 1))" \
    wait_until 10 stat_ge frames_version $((version1 + 1))
echo "  info  frames_bad=$(stat_field frames_bad) frames_version=$(stat_field frames_version)"

# ---- the gateway keeps serving -----------------------------------------------
check "the gateway is alive" kill -0 "$GW_PID"
http GET /healthz
check_eq "/healthz answers 200" 200 "$HTTP_STATUS"
check_eq "the real executor is still registered" 1 "$(queue_field io executors)"
http POST /v1/jobs/io/echo --data-binary real
check_eq "a real job through the real executor answers 200" "200 real" \
    "$HTTP_STATUS $(cat "$HTTP_BODY")"
check "the gateway logged frame_dropped" grep -q 'event=frame_dropped' "$GW_LOG"
check "the gateway logged version_mismatch" grep -q 'event=version_mismatch' "$GW_LOG"

# ---- an executor whose second gateway is hostile -------------------------------
# A python ROUTER answers the executor's Hello with a Welcome (version 2,
# field 11 empty) and heartbeats like a gateway, then sends it garbage and a
# Job for a queue it does not serve, and records what comes back. At most 4
# frames get a log line: the executor logs 5 bad-input lines a second.
router_out="$E2E_TMP/router.out"
router_py_bg "$E2E_TMP/router.endpoint" "$router_out" <<'EOF'
import random, sys, time, zmq

endpoint_file, out_file = sys.argv[1], sys.argv[2]
out = open(out_file, "w", buffering=1)
ctx = zmq.Context()
r = bind_router(ctx, endpoint_file)

from pbwire import fields

WELCOME = b"\x08\x02\x5a\x00"
HEARTBEAT = b"\x08\x02\x6a\x00"
# Job{job_id 7, queue "nope", function "echo"} as Envelope field 15.
job = b"\x08\x07\x12\x04nope\x1a\x04echo"
JOB = b"\x08\x02\x7a" + bytes([len(job)]) + job

peer, sent, next_hb = None, False, 0.0
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    if r.poll(50):
        frames = r.recv_multipart()
        rid, body = frames[0], b"".join(frames[1:])
        try:
            f = fields(body)
        except Exception:
            f = {}
        if 10 in f:
            r.send_multipart([rid, WELCOME])
            peer = rid
            print("hello", file=out)
        elif 16 in f:
            res = fields(f[16])
            print("result job_id=%d code=%d" % (res.get(1, 0), res.get(2, 0)), file=out)
    now = time.monotonic()
    if peer is not None and now >= next_hb:
        r.send_multipart([peer, HEARTBEAT])
        next_hb = now + 0.2
    if peer is not None and not sent:
        r.send_multipart([peer, b"\x08\x03\x6a\x00"])            # version 3
        r.send_multipart([peer, random.Random(7).randbytes(64)])  # random bytes
        r.send_multipart([peer, b"\x08\x02\x7a\x40\x08\x07"])    # truncated Job
        r.send_multipart([peer, HEARTBEAT, HEARTBEAT])           # two body frames
        r.send_multipart([peer, JOB])                            # unknown queue
        sent = True
        print("garbage sent", file=out)
EOF
check "the python router binds" wait_until 10 test -s "$E2E_TMP/router.endpoint"
router=$(cat "$E2E_TMP/router.endpoint")
echo "  info  python router on $router"

start_executor --connect "$GW_EXECUTORS" --connect "$router" --queue io=threads:2 --id ex-hostile ||
    abort "executor with a hostile second gateway starts"
hostile=$EX_PID
check "the router sent its garbage" wait_until 10 grep -q 'garbage sent' "$router_out"
check "the executor answers the unknown-queue Job with bad_request (code 1)" \
    wait_until 10 grep -q 'result job_id=7 code=1' "$router_out"
check "the executor logs frame_dropped" wait_until 10 grep -q 'event=frame_dropped' "$EX_LOG"
check "the executor logs version_mismatch" wait_until 10 grep -q 'event=version_mismatch' "$EX_LOG"
check "the executor is alive" kill -0 "$hostile"
check "io has 2 executors on the real gateway" wait_until 10 queue_is io executors 2
# 4 sleeps of 3 s on 2 + 2 slots: the hostile-connected executor runs real
# jobs too (busy reaches 4 only with both).
for i in 1 2 3 4; do
    http_bg "after$i" POST /v1/jobs/io/sleep --data-binary 3000
done
check "both executors run real jobs (busy reaches 4)" wait_until 10 queue_is io busy 4
ok=0
for i in 1 2 3 4; do
    http_wait "after$i" 30 && [ "$HTTP_STATUS" = 200 ] && ok=$((ok + 1))
done
check_eq "4 real jobs through the real gateway answer 200" 4 "$ok"

finish
