#!/usr/bin/env bash
# Basics: /healthz, an echo round trip of binary data, the delay route's
# timing, /v1/queues fields, --help of both binaries, clean exit on SIGTERM.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:4 --queue cpu=threads:1 || abort "executor starts"

http GET /healthz
check_eq "healthz answers 200" 200 "$HTTP_STATUS"

# Binary payload with NUL bytes comes back byte for byte.
payload="$E2E_TMP/payload.bin"
head -c 65536 /dev/urandom >"$payload"
printf 'a\0b\0\0c' >>"$payload"
http POST /v1/jobs/io/echo --data-binary @"$payload" -H 'Content-Type: application/octet-stream'
check_eq "echo answers 200" 200 "$HTTP_STATUS"
check "echo returns the payload byte for byte" cmp -s "$payload" "$HTTP_BODY"
check "job answer carries X-Offload-Job-Id" has_header X-Offload-Job-Id

# An empty payload is a valid payload.
http POST /v1/jobs/io/echo --data-binary ''
check_eq "echo of an empty body answers 200" 200 "$HTTP_STATUS"
check_eq "echo of an empty body returns nothing" 0 "$(wc -c <"$HTTP_BODY")"

http POST /v1/jobs/cpu/spin --data-binary 50
check_eq "spin on the cpu queue answers 200" 200 "$HTTP_STATUS"

http POST /v1/jobs/io/sleep --data-binary 200
check_eq "sleep answers 200" 200 "$HTTP_STATUS"
check "sleep 200 ran at least 200 ms (X-Offload-Run-Us $(header X-Offload-Run-Us))" \
    test "$(header X-Offload-Run-Us)" -ge 200000

http GET '/v1/delay?ms=300'
check_eq "delay answers 200" 200 "$HTTP_STATUS"
check_eq "delay answers its ms" 300 "$(json "$HTTP_BODY" .delayed_ms)"
check "delay 300 takes >= 300 ms and < 1000 ms (curl's time_total: $HTTP_MS ms)" \
    test "$HTTP_MS" -ge 300 -a "$HTTP_MS" -lt 1000

http GET /v1/queues
check_eq "queues answers 200" 200 "$HTTP_STATUS"
check_eq "queues lists io and cpu" "cpu io" \
    "$(json "$HTTP_BODY" '[.queues[].name] | sort | join(" ")')"
for field in name capacity busy available waiting executors; do
    check "every queue has '$field'" test "$(json "$HTTP_BODY" \
        '[.queues[] | has($f)] | all' --arg f "$field")" = true
done
check_eq "io capacity" 4 "$(queue_field io capacity)"
check_eq "io available" 4 "$(queue_field io available)"
check_eq "io busy" 0 "$(queue_field io busy)"
check_eq "io waiting" 0 "$(queue_field io waiting)"
check_eq "io executors" 1 "$(queue_field io executors)"
check_eq "cpu capacity" 1 "$(queue_field cpu capacity)"

# While a job runs, busy and available move. The job (30 s) cannot end by
# itself while it is observed: its caller hangs up, which cancels it.
curl -s -m 60 -o /dev/null -X POST --data-binary 30000 "$GW_URL/v1/jobs/io/sleep" &
caller=$!
PIDS+=("$caller")
check "busy shows a running job" wait_until 10 queue_is io busy 1
check_eq "available drops while it runs" 3 "$(queue_field io available)"
kill "$caller"
check "busy returns to 0 when its caller hangs up" wait_until 10 queue_is io busy 0

# --help lists every flag.
help_lists() {
    local bin=$1 out flag
    shift
    out=$("$bin" --help 2>&1) || return 1
    for flag in "$@"; do
        grep -q -- "$flag" <<<"$out" || {
            echo "    $(basename "$bin") --help lacks $flag"
            return 1
        }
    done
}
check "gateway --help lists every flag" help_lists "$GATEWAY" --config --http --executors \
    --clients --route --queue --max-payload --default-timeout-ms --max-timeout-ms \
    --max-connections --max-waiting --heartbeat-ms --liveness --id --log-level --ready-fd --help
check "executor --help lists every flag" help_lists "$EXECUTOR" --config --connect --queue \
    --id --heartbeat-ms --liveness --max-payload --log-level --ready-fd --help

# Bad flags are refused with status 2 (bounded and on loopback in case one
# is accepted by mistake and the process starts serving).
gw_flags=(--http 127.0.0.1:0 --executors 'tcp://127.0.0.1:*' --clients 'tcp://127.0.0.1:*')
timeout 5 "$GATEWAY" "${gw_flags[@]}" --no-such-flag >/dev/null 2>&1 </dev/null
check_eq "gateway refuses an unknown flag with status 2" 2 "$?"
timeout 5 "$GATEWAY" "${gw_flags[@]}" --max-payload lots >/dev/null 2>&1 </dev/null
check_eq "gateway refuses --max-payload lots with status 2" 2 "$?"
timeout 5 "$EXECUTOR" --connect "$GW_EXECUTORS" --no-such-flag >/dev/null 2>&1 </dev/null
check_eq "executor refuses an unknown flag with status 2" 2 "$?"
timeout 5 "$EXECUTOR" --connect "$GW_EXECUTORS" --queue io=threads:0 >/dev/null 2>&1 </dev/null
check_eq "executor refuses threads:0 with status 2" 2 "$?"
timeout 5 "$EXECUTOR" --connect tcp://:5556 >/dev/null 2>&1 </dev/null
check_eq "executor refuses --connect tcp://:5556 (no host) with status 2" 2 "$?"

# Both stop cleanly on SIGTERM.
stop_process "$EX_PID"
check_eq "executor exits 0 on SIGTERM" 0 "$STOP_RC"
stop_process "$GW_PID"
check_eq "gateway exits 0 on SIGTERM" 0 "$STOP_RC"

finish
