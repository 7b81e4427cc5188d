#!/usr/bin/env bash
# HTTP framing a proxy in front could read differently from us, refused
# before any body is read: two Content-Lengths that differ, Content-Length
# with Transfer-Encoding, a Transfer-Encoding other than chunked (501), a
# control character in the path (%00 no longer cuts it short); a body over
# --max-payload announced with Expect: 100-continue (413 before it is sent); and
# --max-connections-per-ip; slowloris headers and bodies closed at their read
# deadlines; and under a low ulimit -n, HTTP capped so that ZeroMQ
# keeps descriptors. Raw requests over bash's /dev/tcp (curl
# normalises what these tests need to send).
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway --max-connections-per-ip 4 || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 || abort "executor starts"
port=${GW_HTTP##*:}

before=$(stat_field http_rejected)
raw 'POST /v1/jobs/io/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'
check_eq "two different Content-Lengths: 400" 400 "$RAW_STATUS"
check "  bad_request, saying why" grep -q '"error":"bad_request".*Content-Length' <<<"$RAW"
raw 'POST /v1/jobs/io/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi'
check_eq "two equal Content-Lengths are one: 200" 200 "$RAW_STATUS"
raw 'POST /v1/jobs/io/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n'
check_eq "Transfer-Encoding gzip: 501 at once (no wait for a body)" 501 "$RAW_STATUS"
check "  not_implemented" grep -q '"error":"not_implemented"' <<<"$RAW"
raw 'POST /v1/jobs/io/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n'
check_eq "Content-Length with Transfer-Encoding: 400" 400 "$RAW_STATUS"
raw 'POST /v1/jobs/io/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nhi\r\n0\r\n\r\n'
check_eq "chunked alone still works: 200" 200 "$RAW_STATUS"
check "  and echoes" grep -q '^hi$' <<<"$RAW"
raw 'POST /v1/jobs/io%00zz/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx'
check_eq "%00 in the path: 400, not a job on io" 400 "$RAW_STATUS"
check "  says control character" grep -q 'control character' <<<"$RAW"
raw 'GET /v1/queues%0a HTTP/1.1\r\nHost: x\r\n\r\n'
check_eq "%0A in the path: 400" 400 "$RAW_STATUS"
raw 'GET /v1/jobs/io/echo%41 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
check "an ordinary escape is still decoded (%41 is A: no such function echoA)" \
    grep -q 'echoA' <<<"$RAW"
raw 'POST /v1/jobs/io/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n'
check_eq "Expect: 100-continue over --max-payload: 413 at once, no 100 Continue" 413 "$RAW_STATUS"
check "  payload_too_large" grep -q '"error":"payload_too_large"' <<<"$RAW"
check_eq "the gateway counted 5 rejected (http_rejected)" $((${before:-0} + 5)) \
    "$(stat_field http_rejected)"
check_eq "no job ran on io for them (2 echoes only)" 2 "$(queue_field io completed)"

# Per-IP: 4 connections held open (idle keep-alive); a fifth is closed at
# once, without an answer; when one closes, a new one is served.
for fd in 6 7 8 9; do
    eval "exec $fd<>/dev/tcp/127.0.0.1/$port"
done
exec 5<>"/dev/tcp/127.0.0.1/$port"
(printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&5) 2>/dev/null
fifth=$(timeout 5 cat <&5 2>/dev/null)
exec 5<&- 5>&-
check_eq "a fifth connection from 127.0.0.1 gets no answer (--max-connections-per-ip 4)" "" "$fifth"
exec 6<&- 6>&-
check "with one closed, a new one is served" \
    wait_until 10 sh -c "curl -s -m 2 '$GW_URL/healthz' | grep -q ok"
for fd in 7 8 9; do
    eval "exec $fd<&- $fd>&-"
done
check "the refusal was counted (http_ip_refused)" stat_ge http_ip_refused 1

# Slowloris: a request trickled one byte every 100 ms never completes its
# headers (or its body); the gateway closes the connection at the 1 s
# deadline, long before the 10 s the trickle would last.
start_gateway --header-timeout-ms 1000 --body-timeout-ms 1000 || abort "a gateway with 1 s read deadlines starts"
port=${GW_HTTP##*:}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
trickle() { # trickle HEAD BODY: sends HEAD at once, then BODY a byte per 100 ms; prints closed|open
    "$PY" - "$port" "$1" "$2" <<'PYEOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=12)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
rest = sys.argv[3].encode()
end = time.monotonic() + 10
s.settimeout(0.1)
while time.monotonic() < end:
    try:
        if s.recv(4096) == b"":
            print("closed"); sys.exit(0)
    except socket.timeout:
        pass
    except OSError:
        print("closed"); sys.exit(0)
    try:
        s.sendall(rest[:1] or b"x")
        rest = rest[1:]
    except OSError:
        print("closed"); sys.exit(0)
print("open")
PYEOF
}
before=$(stat_field http_read_timeouts)
check_eq "headers trickled a byte per 100 ms: closed at --header-timeout-ms" closed \
    "$(trickle 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')"
check_eq "a body trickled a byte per 100 ms: closed at --body-timeout-ms" closed \
    "$(trickle 'POST /v1/jobs/io/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n' '')"
check_eq "  both counted (http_read_timeouts)" $((${before:-0} + 2)) "$(stat_field http_read_timeouts)"
check "  and logged" grep -q "event=http_read_timeout phase=headers" "$GW_LOG"
check_eq "a request in time still works" 200 "$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$GW_URL/healthz")"

# A low open-file limit (ulimit -n 320, under what --max-connections 4096
# needs): the gateway says so at start and caps HTTP, so that with every
# HTTP slot taken ZeroMQ still finds descriptors: executors and clients
# keep working.
real_gateway=$GATEWAY
printf '#!/bin/sh\nulimit -n 320 || exit 1\nexec "%s" "$@"\n' "$real_gateway" >"$E2E_TMP/lowfd.sh"
chmod +x "$E2E_TMP/lowfd.sh"
GATEWAY="$E2E_TMP/lowfd.sh"
start_gateway || abort "a gateway under ulimit -n 320 starts"
GATEWAY=$real_gateway
check "it warns that the open-file limit caps HTTP" grep -q "event=nofile_low limit=320" "$GW_LOG"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 || abort "its executor starts"
low_port=${GW_HTTP##*:}
"$PY" -c '
import socket, sys, time
held = []
for _ in range(300):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never end
        held.append(s)
    except OSError:
        pass
time.sleep(60)
' "$low_port" &
holder=$!
PIDS+=("$holder")
fds() { find "/proc/$GW_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
check "the gateway fills its HTTP slots (open descriptors >= 64)" wait_until 20 \
    sh -c "[ \$(find /proc/$GW_PID/fd -mindepth 1 -maxdepth 1 | wc -l) -ge 64 ]"
check "  and stays under its limit ($(fds) open)" test "$(fds)" -lt 320
check_eq "with HTTP full, a client still calls over ZeroMQ" via-zmq \
    "$("$OFFLOAD_BIN/offload" call --gateway "$GW_CLIENTS" --timeout-ms 5000 io echo via-zmq)"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

finish
