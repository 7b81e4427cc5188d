#!/usr/bin/env bash
# The gateway-wide memory budget (--max-held-bytes). From one process each:
# 2,000 concurrent 1 MiB HTTP bodies and 4,000 1 MiB Submits on the clients
# socket against a 64M budget and a slow queue. Every request is answered
# (200, or 503 queue_full with Retry-After / Reply.retry_after_s), the
# gateway's peak RSS (VmHWM) stays near the budget instead of growing with
# the flood, /healthz answers meanwhile, and once the flood is over the idle
# RSS returns near where it started. Then, on a gateway with a 512K budget:
# Expect: 100-continue over the free budget gets 503 at once (no 100
# Continue), over --max-payload still 413, and a chunked body that grows
# past the budget gets 503.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

zmq_python || abort "a python3 with zmq (apt-get install python3-zmq)"
FLOOD="$E2E_DIR/memflood.py"
MIB=1048576
BUDGET=$((64 * MIB))

# vm FIELD: the gateway's VmRSS or VmHWM, in bytes.
vm() {
    echo $(($(awk -v f="$1:" '$1 == f { print $2 }' "/proc/$GW_PID/status") * 1024))
}
rss_below() {
    [ "$(vm VmRSS)" -lt "$1" ]
}

# The default liveness: with the loop's per-turn budgets a flood of 1 MiB
# Submits does not keep heartbeats unread for long (test_fairness), so the
# executor is not lost meanwhile (checked at the end: executors_lost 0).
start_gateway --max-held-bytes 64M --max-payload 1M --max-connections 4096 ||
    abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:4 || abort "executor starts"
wait_until 10 queue_is io capacity 4 || abort "executor registers"
port=${GW_HTTP##*:}
check_eq "/v1/stats shows max_held_bytes" "$BUDGET" "$(stat_field max_held_bytes)"
http POST /v1/jobs/io/echo -d warm-up
check_eq "a small job runs" 200 "$HTTP_STATUS"
base=$(vm VmRSS)
echo "  info  baseline VmRSS $((base / 1024)) kB"

# Where the peak may go: the budget, MHD's connection pools (up to 64K per
# connection for 2,000 connections), libzmq's receive queue (32 MiB per peer)
# and 64 MiB of headroom -- against about 2 GB without the budget.
bound=$((base + BUDGET + 2000 * 65536 + 32 * MIB + 64 * MIB))
# ASan keeps up to 256 MiB of freed memory in quarantine (measured: 420 MiB
# peak under the Submit flood with it, 113 MiB without).
[ -n "${OFFLOAD_E2E_SANITIZED:-}" ] && bound=$((bound + 256 * MIB))

# healthz_probe FILE: /healthz every 100 ms, one status per line, until killed.
healthz_probe() {
    while true; do
        curl -s -o /dev/null -m 5 -w '%{http_code}\n' "$GW_URL/healthz" >>"$1"
        sleep 0.1
    done
}

# ---- (a) 2,000 concurrent 1 MiB HTTP bodies --------------------------------
loop_mark
healthz_probe "$E2E_TMP/healthz.a" &
probe=$!
PIDS+=("$probe")
out=$(
    ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    "$ZMQ_PY" "$FLOOD" http 127.0.0.1 "$port" '/v1/jobs/io/sleep?timeout_ms=30000' 2000 $MIB
)
kill "$probe" 2>/dev/null
wait "$probe" 2>/dev/null
echo "  info  http flood: $out, VmHWM $(($(vm VmHWM) / 1024)) kB"
declare -A r
for kv in $out; do r[${kv%%=*}]=${kv#*=}; done
check_eq "HTTP: every body answered, 200 or 503 (ok + refused = sent)" 2000 \
    $((${r[ok]:-0} + ${r[refused]:-0}))
check "  some were served" test "${r[ok]:-0}" -gt 0
check "  some were refused queue_full" test "${r[refused]:-0}" -gt 0
check_eq "  every 503 carried Retry-After" "${r[refused]:-x}" "${r[retry_after]:-y}"
check "  the gateway counted them (held_bytes_refused)" stat_ge held_bytes_refused "${r[refused]:-1}"
peak=$(stat_field held_bytes_peak)
check "  held bytes never passed the budget (peak $peak)" test "${peak:-0}" -le $BUDGET
check "  VmHWM $(($(vm VmHWM) / MIB)) MiB stays under $((bound / MIB)) MiB" \
    test "$(vm VmHWM)" -le $bound
check "  /healthz was probed during the flood" test -s "$E2E_TMP/healthz.a"
check_eq "  and answered 200 each time" "" "$(grep -v '^200$' "$E2E_TMP/healthz.a")"
loop_check "  HTTP flood"
check "  held bytes back to 0 once the jobs end" wait_until 30 test "$(stat_field held_bytes)" = 0

# ---- (b) 4,000 x 1 MiB Submits on the clients socket -----------------------
loop_mark
healthz_probe "$E2E_TMP/healthz.b" &
probe=$!
PIDS+=("$probe")
out=$("$ZMQ_PY" "$FLOOD" submit "$GW_CLIENTS" 4000 $MIB)
kill "$probe" 2>/dev/null
wait "$probe" 2>/dev/null
echo "  info  submit flood: $out, VmHWM $(($(vm VmHWM) / 1024)) kB"
unset r
declare -A r
for kv in $out; do r[${kv%%=*}]=${kv#*=}; done
check_eq "Submits: every one answered" "4000 4000" "${r[sent]:-} ${r[got]:-}"
check_eq "  with OK or queue_full" 4000 $((${r[ok]:-0} + ${r[queue_full]:-0}))
check "  some were refused queue_full" test "${r[queue_full]:-0}" -gt 0
check_eq "  each refusal said when to retry (retry_after_s)" "${r[queue_full]:-x}" \
    "${r[retry_after]:-y}"
peak=$(stat_field held_bytes_peak)
check "  held bytes never passed the budget (peak $peak)" test "${peak:-0}" -le $BUDGET
check "  VmHWM $(($(vm VmHWM) / MIB)) MiB stays under $((bound / MIB)) MiB" \
    test "$(vm VmHWM)" -le $bound
check_eq "  /healthz answered 200 meanwhile" "" "$(grep -v '^200$' "$E2E_TMP/healthz.b")"
loop_check "  Submit flood"
check "  held bytes back to 0 once the jobs end" wait_until 30 test "$(stat_field held_bytes)" = 0
idle=$((base + 32 * MIB))
if [ -n "${OFFLOAD_E2E_SANITIZED:-}" ]; then
    # What this measures is glibc malloc giving memory back (the mmap
    # threshold, malloc_trim); ASan replaces malloc, keeps freed memory in
    # its quarantine and ignores malloc_trim (330 MiB idle measured).
    echo "  info  idle VmRSS not checked under ASan (its allocator keeps freed memory)"
else
    check "  idle VmRSS returns near the baseline (under $((idle / MIB)) MiB)" \
        wait_until 15 rss_below $idle
fi
echo "  info  idle VmRSS $(($(vm VmRSS) / 1024)) kB (baseline $((base / 1024)) kB)"
check "the refusals were logged (event=memory_full)" grep -q 'event=memory_full' "$GW_LOG"

# ---- (c) Expect: 100-continue and chunked bodies on a 512K budget -----------
start_gateway --max-held-bytes 512K --max-payload 1M --queue io || abort "second gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:1 || abort "executor starts"
wait_until 10 queue_is io capacity 1 || abort "executor registers"

before=$(stat_field held_bytes_refused)
raw 'POST /v1/jobs/io/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 800000\r\nExpect: 100-continue\r\n\r\n'
check_eq "Expect: 100-continue over the free budget: 503 at once" 503 "$RAW_FINAL"
check "  no 100 Continue" bash -c "! grep -q '100 Continue' <<<\"\$1\"" _ "$RAW"
check "  queue_full naming --max-held-bytes" grep -q '"error":"queue_full".*--max-held-bytes' \
    <<<"$RAW"
check "  with Retry-After" grep -qi '^Retry-After: [0-9]' <<<"$RAW"
raw 'POST /v1/jobs/io/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n'
check_eq "Expect: 100-continue over --max-payload: still 413" 413 "$RAW_FINAL"
raw 'POST /v1/jobs/io/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 800000\r\nConnection: close\r\n\r\n'
check_eq "Content-Length over the free budget, no Expect: 503 before the body" 503 "$RAW_FINAL"
raw 'POST /v1/jobs/io/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhello'
check_eq "a body that fits, with Expect: 200" 200 "$RAW_FINAL"
check "  after 100 Continue" grep -q '100 Continue' <<<"$RAW"
chunk=$(head -c 300000 /dev/zero | tr '\0' 'a')
raw "POST /v1/jobs/io/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n493e0\r\n$chunk\r\n493e0\r\n$chunk\r\n0\r\n\r\n"
check_eq "a chunked body that grows past the budget: 503" 503 "$RAW_FINAL"
check "  queue_full" grep -q '"error":"queue_full"' <<<"$RAW"
check_eq "the gateway counted 3 refusals" $((${before:-0} + 3)) "$(stat_field held_bytes_refused)"
check_eq "and holds nothing now" 0 "$(stat_field held_bytes)"
check_eq "no executor was lost during the floods" 0 "$(stat_field executors_lost)"

finish
