#!/usr/bin/env bash
# ZeroMQ CURVE on both gateway sockets (docs/security.md): keys made with
# `offload keygen`, a keyed executor, CLI (liboffload) and Python client;
# the payload thief of issue 9 (a script registering `io` x 4096 slots),
# without keys and with an unlisted key, is never registered; executor keys
# limited to queues; SIGHUP admits a new key and revokes a removed one;
# clear errors for every refused peer.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

OFFLOAD="$OFFLOAD_BIN/offload"
zmq_python || abort "a python3 with zmq (apt-get install python3-zmq)"
K="$E2E_TMP/keys"
ALLOW="$E2E_TMP/allow"
mkdir -p "$K" "$ALLOW"

# ---- offload keygen ---------------------------------------------------------
for name in gw ex io_only cli thief late; do
    "$OFFLOAD" keygen "$K/$name" >/dev/null || abort "offload keygen $name"
done
check_eq "keygen: PATH.key is mode 600" 600 "$(stat -c %a "$K/gw.key")"
check "keygen: PATH.pub holds the public key only" \
    bash -c "grep -q '^public = ' '$K/gw.pub' && ! grep -q secret '$K/gw.pub'"
"$OFFLOAD" keygen "$K/gw" >/dev/null 2>"$E2E_TMP/keygen.err"
check_eq "keygen: an existing key is not replaced" 1 "$?"
check "  and says to use --force" grep -q -- "--force" "$E2E_TMP/keygen.err"
cp "$K/ex.pub" "$K/cli.pub" "$ALLOW/"
{
    cat "$K/io_only.pub"
    echo "queues = io"
} >"$ALLOW/io_only.pub"

# ---- bad start --------------------------------------------------------------
"$GATEWAY" --http 127.0.0.1:0 --executors 'tcp://127.0.0.1:*' --clients 'tcp://127.0.0.1:*' \
    --curve-key "$K/gw.key" 2>"$E2E_TMP/bad1.err"
check_eq "gateway: --curve-key without --curve-allow exits 2" 2 "$?"
check "  saying both go together" grep -q "go together" "$E2E_TMP/bad1.err"
"$GATEWAY" --http 127.0.0.1:0 --executors 'tcp://127.0.0.1:*' --clients 'tcp://127.0.0.1:*' \
    --curve-key "$K/gw.pub" --curve-allow "$ALLOW" 2>"$E2E_TMP/bad2.err"
check_eq "gateway: a .pub as --curve-key exits 2" 2 "$?"
check "  naming the file" grep -q "gw.pub: no 'secret" "$E2E_TMP/bad2.err"
mkdir -p "$E2E_TMP/badallow"
echo "public = nonsense" >"$E2E_TMP/badallow/x.pub"
"$GATEWAY" --http 127.0.0.1:0 --executors 'tcp://127.0.0.1:*' --clients 'tcp://127.0.0.1:*' \
    --curve-key "$K/gw.key" --curve-allow "$E2E_TMP/badallow" 2>"$E2E_TMP/bad3.err"
check_eq "gateway: a bad .pub in --curve-allow exits 2" 2 "$?"
check "  naming the file and line" grep -q "x.pub line 1: the public key is not" \
    "$E2E_TMP/bad3.err"

# ---- unauthenticated warning (bound to loopback by interface name, which the
# classifier cannot prove local: it warns) ------------------------------------
start_gateway --executors 'tcp://lo:*' || abort "unauthenticated gateway starts"
check "no CURVE on a non-loopback endpoint logs event=insecure" \
    grep -q "event=insecure socket=executors" "$GW_LOG"
check "  not for the loopback one" bash -c "! grep -q 'event=insecure socket=clients' '$GW_LOG'"
stop_process "$GW_PID"

# ---- the gateway with CURVE -------------------------------------------------
start_gateway --curve-key "$K/gw.key" --curve-allow "$ALLOW" || abort "CURVE gateway starts"
check "the allow-list is logged" grep -q "event=curve_allow_loaded keys=3 " "$GW_LOG"
check "no insecure warning with CURVE" bash -c "! grep -q event=insecure '$GW_LOG'"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 \
    --curve-key "$K/ex.key" --curve-server "$K/gw.pub" || abort "keyed executor registers"
REAL_EX=$EX_PID
check "a keyed executor registers" wait_until 10 queue_is io capacity 2

out=$("$OFFLOAD" call --gateway "$GW_CLIENTS" --curve-key "$K/cli.key" \
    --curve-server "$K/gw.pub" io echo hello-curve)
check_eq "a keyed CLI call (liboffload) works" hello-curve "$out"
out=$(OFFLOAD_CURVE_KEY="$K/cli.key" OFFLOAD_CURVE_SERVER="$K/gw.pub" \
    "$OFFLOAD" call --gateway "$GW_CLIENTS" io echo from-env)
check_eq "  keys from OFFLOAD_CURVE_KEY/OFFLOAD_CURVE_SERVER" from-env "$out"

# ---- the payload thief: Hello io x 4096, without keys and with a key the
# gateway does not list ---------------------------------------------------------
thief() {
    "$ZMQ_PY" - "$GW_EXECUTORS" "$@" <<'EOF'
import sys, zmq
from pbwire import envelope, ld, vi
ep = sys.argv[1]
s = zmq.Context().socket(zmq.DEALER)
s.linger = 0
if len(sys.argv) > 2:
    def keys(path):
        d = {}
        for line in open(path):
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                d[k.strip()] = v.strip().encode()
        return d
    mine, srv = keys(sys.argv[2]), keys(sys.argv[3])
    s.curve_publickey, s.curve_secretkey = mine["public"], mine["secret"]
    s.curve_serverkey = srv["public"]
s.connect(ep)
hello = ld(1, b"thief") + ld(2, ld(1, b"io") + vi(2, 1) + vi(3, 4096) + ld(4, b"echo"))
s.send(envelope(10, hello))
# Nothing comes back: no Welcome, and never a Job.
print("got a reply" if s.poll(1500) else "nothing")
EOF
}
out=$(thief)
check_eq "thief without keys: no Welcome, no Job" nothing "$out"
check "  the gateway counts its failed handshake" wait_until 5 stat_ge handshakes_failed 1
check "  and logs it" grep -q "event=handshake_failed socket=executors" "$GW_LOG"
out=$(thief "$K/thief.key" "$K/gw.pub")
check_eq "thief with an unlisted key: no Welcome, no Job" nothing "$out"
check "  counted as auth_denied" wait_until 5 stat_ge auth_denied 1
thief_key=$(sed -n 's/^public = //p' "$K/thief.pub")
check "  logged with the key's first 8 characters" \
    grep -qF "event=auth_denied socket=executors key=${thief_key:0:8} " "$GW_LOG"
check_eq "/v1/queues: io capacity is the real executor's only" 2 "$(queue_field io capacity)"
check_eq "  one executor" 1 "$(queue_field io executors)"
done_before=$(queue_field io completed)
load_bg jobs 20 10 POST "/v1/jobs/io/echo" -d card=4111
load_wait 30 jobs || fail "the jobs finished"
check_eq "all 20 jobs answered 200 by the real executor" 20 "$(load_count jobs code 200)"
check_eq "  io completed 20 more" $((done_before + 20)) "$(queue_field io completed)"

# ---- refused executors exit with a clear message ------------------------------
timeout 20 "$EXECUTOR" --connect "$GW_EXECUTORS" --queue io=threads:1 \
    --curve-key "$K/thief.key" --curve-server "$K/gw.pub" 2>"$E2E_TMP/ex_thief.err"
rc=$?
check "an executor with an unlisted key exits non-zero (not by timeout)" \
    test "$rc" -ne 0 -a "$rc" -ne 124
check "  saying the gateway refused its key" \
    grep -q "refused this executor's CURVE key.*--curve-allow" "$E2E_TMP/ex_thief.err"
timeout 20 "$EXECUTOR" --connect "$GW_EXECUTORS" --queue io=threads:1 \
    2>"$E2E_TMP/ex_nokey.err"
rc=$?
check "an executor without keys exits non-zero" test "$rc" -ne 0 -a "$rc" -ne 124
check "  saying the handshake failed" grep -q "handshake with the gateway failed" \
    "$E2E_TMP/ex_nokey.err"
timeout 20 "$EXECUTOR" --connect "$GW_EXECUTORS" --queue io=threads:1 --queue cpu=threads:1 \
    --curve-key "$K/io_only.key" --curve-server "$K/gw.pub" 2>"$E2E_TMP/ex_cpu.err"
rc=$?
check "an io-only key declaring cpu exits non-zero" test "$rc" -ne 0 -a "$rc" -ne 124
check "  naming the queue" grep -q "may not serve queue 'cpu'" "$E2E_TMP/ex_cpu.err"
check "  the gateway counts hellos_forbidden" stat_ge hellos_forbidden 1
check_eq "  and cpu has no capacity" "" "$(queue_field cpu capacity | grep -v '^0$')"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:3 \
    --curve-key "$K/io_only.key" --curve-server "$K/gw.pub" || fail "io-only key serving io"
check "the io-only key may serve io" wait_until 10 queue_is io capacity 5
stop_process "$EX_PID"
check "  (stopped again)" wait_until 10 queue_is io capacity 2

# ---- clients refused ------------------------------------------------------------
"$OFFLOAD" call --gateway "$GW_CLIENTS" --curve-key "$K/cli.key" --curve-server "$K/thief.pub" \
    io echo x >/dev/null 2>"$E2E_TMP/cli_wrong.err"
check_eq "CLI with a wrong server key exits 9" 9 "$?"
check "  saying so" grep -q "wrong curve_server key" "$E2E_TMP/cli_wrong.err"
"$OFFLOAD" call --gateway "$GW_CLIENTS" --curve-key "$K/thief.key" --curve-server "$K/gw.pub" \
    io echo x >/dev/null 2>"$E2E_TMP/cli_thief.err"
check_eq "CLI with an unlisted key exits 9" 9 "$?"
check "  saying the gateway refused its key" grep -q "refused this client's CURVE key" \
    "$E2E_TMP/cli_thief.err"
"$OFFLOAD" call --gateway "$GW_CLIENTS" --timeout-ms 60000 io echo x >/dev/null \
    2>"$E2E_TMP/cli_nokey.err"
check_eq "CLI without keys exits 9 (not after the timeout)" 9 "$?"
"$OFFLOAD" call --gateway "$GW_CLIENTS" --curve-key "$K/cli.pub" --curve-server "$K/gw.pub" \
    io echo x >/dev/null 2>"$E2E_TMP/cli_bad.err"
check_eq "CLI with a .pub as --curve-key exits 2" 2 "$?"

# ---- SIGHUP: admit a new key, revoke a removed one ----------------------------------
timeout 20 "$EXECUTOR" --connect "$GW_EXECUTORS" --queue io=threads:1 \
    --curve-key "$K/late.key" --curve-server "$K/gw.pub" 2>/dev/null
rc=$?
check "before SIGHUP the new key is refused" test "$rc" -ne 0 -a "$rc" -ne 124
cp "$K/late.pub" "$ALLOW/"
kill -HUP "$GW_PID"
check "SIGHUP re-reads the directory" wait_until 5 grep -q "curve_allow_loaded keys=4 .*reload=1" \
    "$GW_LOG"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:4 \
    --curve-key "$K/late.key" --curve-server "$K/gw.pub" || fail "the new key registers"
LATE_EX=$EX_PID
check "  after it the new key registers" wait_until 10 queue_is io capacity 6
rm "$ALLOW/late.pub"
kill -HUP "$GW_PID"
check "removing its .pub and SIGHUP revokes the executor" wait_until 5 \
    grep -q "event=executor_revoked" "$GW_LOG"
check "  its capacity leaves" wait_until 10 queue_is io capacity 2
check "  and it exits" wait_until 10 all_gone "$LATE_EX"
wait "$LATE_EX" 2>/dev/null
check "  non-zero" test "$?" -ne 0
check "  with a clear message" grep -q "no longer in the gateway's --curve-allow" "$EX_LOG"
echo "public = broken" >"$ALLOW/broken.pub"
kill -HUP "$GW_PID"
check "a bad file on SIGHUP keeps the previous list" wait_until 5 \
    grep -q "event=curve_allow_reload_failed.*kept the 3 keys" "$GW_LOG"
rm "$ALLOW/broken.pub"
check "the gateway still serves" test "$(queue_field io capacity)" = 2
check "the real executor still runs" kill -0 "$REAL_EX"

# ---- the Python client --------------------------------------------------------------
out=$(PYTHONPATH="$REPO_ROOT/client/python" OFFLOAD_PB2_DIR="$OFFLOAD_BIN/../python" \
    "$ZMQ_PY" - "$GW_CLIENTS" "$K" <<'EOF'
import asyncio, sys
import offload
ep, k = sys.argv[1], sys.argv[2]
with offload.Client(ep, curve_key=k + "/cli.key", curve_server=k + "/gw.pub") as c:
    print(c.call("io", "echo", b"sync", timeout=5).decode())
async def main():
    async with offload.AsyncClient(ep, curve_key=k + "/cli.key",
                                   curve_server=k + "/gw.pub") as c:
        print((await c.call("io", "echo", b"async", timeout=5)).decode())
    async with offload.AsyncClient(ep, curve_key=k + "/thief.key",
                                   curve_server=k + "/gw.pub") as c:
        try:
            await c.call("io", "echo", b"x", timeout=30)
        except offload.AuthFailed as e:
            print("async-refused" if "--curve-allow" in str(e) else e)
asyncio.run(main())
try:
    with offload.Client(ep, curve_key=k + "/thief.key", curve_server=k + "/gw.pub") as c:
        c.call("io", "echo", b"x", timeout=30)
except offload.NoReply as e:  # AuthFailed is a NoReply
    print("sync-refused" if isinstance(e, offload.AuthFailed) else e)
try:
    offload.Client(ep, curve_key=k + "/cli.pub", curve_server=k + "/gw.pub")
except ValueError as e:
    print("bad-file" if "secret" in str(e) else e)
EOF
)
check_eq "Python: sync and async calls with keys; refused keys raise AuthFailed" \
    "sync async async-refused sync-refused bad-file" "$(echo $out)"

finish
