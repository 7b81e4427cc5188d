#!/usr/bin/env bash
# The route table: --route targets (delay, job with a fixed payload, job with
# the body as payload), deploy/seed.ini's four routes, flags from the
# environment, and bad --route values refused at start with status 2.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway --route 'GET /test/async=delay:200' \
    --route 'GET /test/sync=job:io/sleep:200' \
    --route 'POST /upper/echo=job:io/echo' \
    --route 'GET /fixed=job:io/echo:fixed payload' ||
    abort "gateway with --route starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:4 || abort "executor starts"

http GET /test/async
check_eq "delay route answers 200" 200 "$HTTP_STATUS"
check_eq "delay route answers null" null "$(cat "$HTTP_BODY")"
check "delay route takes >= 200 ms (took $HTTP_MS)" test "$HTTP_MS" -ge 200
http GET /test/sync
check_eq "job route answers 200" 200 "$HTTP_STATUS"
check "job route takes >= 200 ms (took $HTTP_MS)" test "$HTTP_MS" -ge 200
http GET '/test/sync?timeout_ms=50'
check_error "timeout_ms works on a job route" 504 timeout
http POST /upper/echo --data-binary 'the body'
check_eq "a job route without payload passes the body" "200 the body" \
    "$HTTP_STATUS $(cat "$HTTP_BODY")"
http GET /fixed
check_eq "a job route with a payload sends it" "200 fixed payload" \
    "$HTTP_STATUS $(cat "$HTTP_BODY")"
http POST /test/async --data-binary x
check_error "POST on a GET route: 405" 405 method_not_allowed
http GET /test/async/more
check_error "routes match exactly" 404 unknown_route
check_eq "built-in routes still work" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$GW_URL/healthz")"
stop_process "$GW_PID"
stop_process "$EX_PID"

# deploy/seed.ini: the seed app's four routes, addresses overridden for the test.
seed="$REPO_ROOT/deploy/seed.ini"
check "deploy/seed.ini exists" test -f "$seed"
start_gateway --config "$seed" || abort "gateway starts with deploy/seed.ini"
start_executor --config "$seed" --connect "$GW_EXECUTORS" ||
    abort "executor starts with deploy/seed.ini"
check_eq "seed.ini: io has 64 threads" 64 "$(queue_field io capacity)"
for r in /test/async /test/sync /test/sync_async /test/sync_async_fastapi; do
    http_bg "seed${r//\//_}" GET "$r" -H 'accept: application/json' -H 'x-data-origin: source'
done
for r in /test/async /test/sync /test/sync_async /test/sync_async_fastapi; do
    http_wait "seed${r//\//_}" 30
    check "seed.ini: GET $r answers 200 after >= 3 s (got $HTTP_STATUS in $HTTP_MS ms)" \
        test "$HTTP_STATUS" = 200 -a "$HTTP_MS" -ge 3000
    # The job routes ran at once: none waited for a thread (the gateway's
    # X-Offload-Waited-Us); the delay routes are timers, never queued.
    case "$r" in
    /test/async) ;;
    *) check "seed.ini: $r did not wait for a thread (X-Offload-Waited-Us $(header X-Offload-Waited-Us))" \
        test "$(header X-Offload-Waited-Us)" -lt 1000000 ;;
    esac
done
stop_process "$GW_PID"
stop_process "$EX_PID"

# Flags from the environment (repeatable ones comma-separated).
OFFLOAD_MAX_PAYLOAD=16 OFFLOAD_ROUTE='GET /a=delay:1,GET /b=delay:2,POST /c=job:io/echo' \
    start_gateway ||
    abort "gateway starts with OFFLOAD_* flags"
http GET /b
check_eq "OFFLOAD_ROUTE adds routes" "200 null" "$HTTP_STATUS $(cat "$HTTP_BODY")"
http POST /c --data-binary 'seventeen bytes!!'
check_error "OFFLOAD_MAX_PAYLOAD applies" 413 payload_too_large
stop_process "$GW_PID"

# Bad --route values: status 2 and a message that names the route.
bad_route() {
    local out rc
    out=$(timeout 5 "$GATEWAY" --http 127.0.0.1:0 --executors 'tcp://127.0.0.1:*' \
        --clients 'tcp://127.0.0.1:*' --route "$1" 2>&1 </dev/null)
    rc=$?
    if [ "$rc" = 2 ] && grep -qi route <<<"$out"; then
        pass "bad --route '$1': exit 2 ($(head -n 1 <<<"$out"))"
    else
        fail "bad --route '$1'" "want exit 2 and a message, got $rc: $(head -n 2 <<<"$out")"
    fi
}
bad_route 'GET /x'
bad_route 'GET /x=delay:abc'
bad_route 'GET /x=delay:'
bad_route 'GET /x=sleep:100'
bad_route 'GET /x=job:io'
bad_route 'GET /x=job:/echo'
bad_route 'GET x=delay:10'
bad_route '/x=delay:10'
bad_route 'GET /healthz=delay:10'
bad_route 'GET /v1/queues=delay:10'

out=$(timeout 5 "$GATEWAY" --config "$E2E_TMP/no-such.ini" --http 127.0.0.1:0 \
    --executors 'tcp://127.0.0.1:*' --clients 'tcp://127.0.0.1:*' 2>&1 </dev/null)
rc=$?
check_eq "a missing --config file: exit 2" 2 "$rc"
check "a missing --config file: the message names it" grep -q no-such.ini <<<"$out"

finish
