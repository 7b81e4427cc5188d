#!/usr/bin/env bash
# Detached jobs over HTTP: ?wait=false answers 202 with a Location; GET
# /v1/jobs/ID says the state; GET /v1/jobs/ID/result answers as the
# synchronous call would (or 202, long-polling up to wait_ms); DELETE
# cancels (a process pool's worker is killed); outcomes expire after
# --result-ttl and within --result-max-bytes; --max-detached bounds them;
# an Idempotency-Key returns the first job instead of running it again.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway --result-ttl 5000 --result-max-bytes 4096 --max-detached 6 || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --drain-timeout 0 --kill-grace-ms 300 \
    --queue io=threads:4 --queue cpu=processes:1 || abort "executor starts"

# ---- the life cycle -------------------------------------------------------------
http POST '/v1/jobs/io/sleep?wait=false' --data-binary 3000
check_eq "?wait=false answers 202" 202 "$HTTP_STATUS"
id=$(json "$HTTP_BODY" .job_id)
check "  with a job_id ($id)" test -n "$id" -a "$id" != null
check_eq "  and a Location header" "/v1/jobs/$id" "$(header Location)"
check "  answered at once, not after the job (took $HTTP_MS ms of 3000)" test "$HTTP_MS" -lt 2000
http GET "/v1/jobs/$id"
check_eq "GET /v1/jobs/ID: running" "200 running io sleep" \
    "$HTTP_STATUS $(json "$HTTP_BODY" '"\(.state) \(.queue) \(.function)"')"
http GET "/v1/jobs/$id/result"
check_eq "GET .../result while it runs: 202, state running" "202 running" \
    "$HTTP_STATUS $(json "$HTTP_BODY" .state)"
http GET "/v1/jobs/$id/result?wait_ms=300"
check_eq "a long poll that ends first: 202" "202 running" "$HTTP_STATUS $(json "$HTTP_BODY" .state)"
check "  after wait_ms (took $HTTP_MS ms, >= 300)" test "$HTTP_MS" -ge 300
http GET "/v1/jobs/$id/result?wait_ms=10000"
check_eq "a long poll until the job ends: its result" 200 "$HTTP_STATUS"
check_eq "  the X-Offload-Job-Id is the job's" "$id" "$(header X-Offload-Job-Id)"
http GET "/v1/jobs/$id"
check_eq "then: done, no error" "done null" "$(json "$HTTP_BODY" '"\(.state) \(.error)"')"
http POST '/v1/jobs/io/echo?wait=false' --data-binary 'the payload'
eid=$(json "$HTTP_BODY" .job_id)
http GET "/v1/jobs/$eid/result?wait_ms=10000"
check_eq "the result is the function's bytes" "200 the payload" "$HTTP_STATUS $(cat "$HTTP_BODY")"
http GET "/v1/jobs/$eid/result"
check_eq "and can be read again" "200 the payload" "$HTTP_STATUS $(cat "$HTTP_BODY")"
# (Soon: --result-ttl is 5 s, kept short for the expiry checks below; on
# a loaded machine each curl and jq here can take a few hundred ms.)
http DELETE "/v1/jobs/$eid"
check_eq "DELETE on an ended job changes nothing" "200 done" \
    "$HTTP_STATUS $(json "$HTTP_BODY" .state)"

# A failed job: its result is the synchronous call's error.
http POST '/v1/jobs/io/sleep?wait=false' --data-binary 'soon'
fid=$(json "$HTTP_BODY" .job_id)
http GET "/v1/jobs/$fid/result?wait_ms=10000"
check_error "a failed detached job: its result is 500 job_failed" 500 job_failed
http GET "/v1/jobs/$fid"
check_eq "  state failed, error job_failed" "failed job_failed" \
    "$(json "$HTTP_BODY" '"\(.state) \(.error)"')"
http POST '/v1/jobs/io/nosuch?wait=false'
check_error "a detached submit that is refused is answered at once (404 unknown_function)" \
    404 unknown_function

# ---- cancel -----------------------------------------------------------------------
http POST '/v1/jobs/cpu/sleep?wait=false' --data-binary 30000
cid=$(json "$HTTP_BODY" .job_id)
check "the process job runs" wait_until 10 eval \
    '[ "$(curl -s "$GW_URL/v1/jobs/$cid" | jq -r .state)" = running ]'
http DELETE "/v1/jobs/$cid"
check_eq "DELETE cancels it: 200, state cancelled" "200 cancelled" \
    "$HTTP_STATUS $(json "$HTTP_BODY" .state)"
check "  its worker process is killed" \
    wait_until 10 grep -q 'event=worker_failed queue=cpu .*code=cancelled' "$EX_LOG"
http GET "/v1/jobs/$cid/result"
check_error "  its result is 409 cancelled" 409 cancelled
http GET /v1/jobs/123456789/result
check_eq "an unknown id: 404 unknown_job" "404 unknown_job" "$HTTP_STATUS $(json "$HTTP_BODY" .error)"
http PUT "/v1/jobs/$eid"
check_error "PUT on a job: 405" 405 method_not_allowed
check_eq "  Allow: GET, HEAD, DELETE" "GET, HEAD, DELETE" "$(sed -n 's/^Allow: *//Ip' "$HTTP_HEADERS" | tr -d '\r')"
http POST '/v1/jobs/io/echo?wait=maybe'
check_error "wait=maybe: 400" 400 bad_request
http GET "/v1/jobs/$eid/result?wait_ms=soon"
check_error "wait_ms=soon: 400" 400 bad_request

# ---- expiry: TTL and byte budget ------------------------------------------------
check "an ended job expires after --result-ttl (5 s)" \
    wait_until 20 eval '[ "$(curl -s -o /dev/null -w "%{http_code}" "$GW_URL/v1/jobs/$eid")" = 404 ]'
head -c 3000 /dev/zero | tr '\0' a >"$E2E_TMP/3k"
http POST '/v1/jobs/io/echo?wait=false' --data-binary @"$E2E_TMP/3k"
b1=$(json "$HTTP_BODY" .job_id)
wait_until 10 eval '[ "$(curl -s "$GW_URL/v1/jobs/$b1" | jq -r .state)" = done ]'
http POST '/v1/jobs/io/echo?wait=false' --data-binary @"$E2E_TMP/3k"
b2=$(json "$HTTP_BODY" .job_id)
wait_until 10 eval '[ "$(curl -s "$GW_URL/v1/jobs/$b2" | jq -r .state)" = done ]'
http GET "/v1/jobs/$b1"
check_eq "past --result-max-bytes (4096) the oldest ended result goes" 404 "$HTTP_STATUS"
http GET "/v1/jobs/$b2/result"
check_eq "  the newest stays" "200 3000" "$HTTP_STATUS $(wc -c <"$HTTP_BODY")"

# ---- the limit on detached jobs ---------------------------------------------------
wait_until 20 eval '[ "$(curl -s -o /dev/null -w "%{http_code}" "$GW_URL/v1/jobs/$b2")" = 404 ]'
for _ in 1 2 3 4 5 6; do curl -s -o /dev/null -X POST --data-binary 20000 "$GW_URL/v1/jobs/io/sleep?wait=false"; done
http POST '/v1/jobs/io/sleep?wait=false' --data-binary 20000
check_error "past --max-detached (6): 503 queue_full" 503 queue_full
check "  with Retry-After" test -n "$(header Retry-After)"
stop_process "$EX_PID"
stop_process "$GW_PID"

# ---- idempotency keys ------------------------------------------------------------------
start_gateway --result-ttl 60000 || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:4 || abort "executor starts"
http POST /v1/jobs/io/echo --data-binary first -H 'Idempotency-Key: order-42'
check_eq "a keyed call answers like a synchronous one" "200 first" "$HTTP_STATUS $(cat "$HTTP_BODY")"
kid=$(header X-Offload-Job-Id)
http POST /v1/jobs/io/echo --data-binary second -H 'Idempotency-Key: order-42'
check_eq "the same key again: the first job's answer, not run again" "200 first $kid" \
    "$HTTP_STATUS $(cat "$HTTP_BODY") $(header X-Offload-Job-Id)"
http POST '/v1/jobs/io/echo?wait=false' --data-binary third -H 'Idempotency-Key: order-42'
check_eq "  and with ?wait=false: 202, the same job, marked a replay" "202 $kid true" \
    "$HTTP_STATUS $(json "$HTTP_BODY" .job_id) $(header X-Offload-Idempotent-Replay)"
check_eq "the queue ran one job for the three calls" 1 "$(queue_field io submitted)"
http POST /v1/jobs/io/echo --data-binary x -H 'Idempotency-Key: two words'
check_error "a key with a space: 400" 400 bad_request
# A keyed caller that hangs up: the job runs on, and the key finds it.
curl -s -m 0.5 -o /dev/null -X POST --data-binary 1500 -H 'Idempotency-Key: slow-1' "$GW_URL/v1/jobs/io/sleep"
http POST /v1/jobs/io/sleep --data-binary 1500 -H 'Idempotency-Key: slow-1'
check_eq "a keyed job outlives its caller; the retry gets its result" 200 "$HTTP_STATUS"
check_eq "  one sleep ran, not two (io ran 2 jobs: the echo and the sleep)" 2 \
    "$(queue_field io submitted)"

finish
