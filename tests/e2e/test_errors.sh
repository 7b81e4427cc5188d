#!/usr/bin/env bash
# Every error of the design's table that HTTP can reach: the status code and
# the JSON `error` field of each, and Retry-After where the table says so.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway --max-payload 1K --max-waiting 1 \
    --route 'POST /ghost=job:ghost/echo' --route 'GET /slow=delay:10' ||
    abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:4 --queue one=threads:1 ||
    abort "executor starts"

# 404
http GET /no/such/path
check_error "unknown path: 404 unknown_route" 404 unknown_route
http POST /v1/jobs/nosuch/echo --data-binary x
check_error "unknown queue: 404 unknown_queue" 404 unknown_queue
http POST /v1/jobs/io/nosuch --data-binary x
check_error "function no executor offers: 404 unknown_function" 404 unknown_function
check_eq "an error before any job has job_id null" null "$(json "$HTTP_BODY" .job_id)"
check "an error is application/json" grep -qi '^content-type: *application/json' "$HTTP_HEADERS"

# 405
http GET /v1/jobs/io/echo
check_error "GET on a job path: 405 method_not_allowed" 405 method_not_allowed
check "405 carries Allow" has_header Allow
http GET /ghost
check_error "GET on a POST --route: 405 method_not_allowed" 405 method_not_allowed
check "405 on a --route path carries Allow" has_header Allow
http POST /v1/queues --data-binary x
check_error "POST on /v1/queues: 405 method_not_allowed" 405 method_not_allowed

# 400
http POST '/v1/jobs/io/echo?timeout_ms=abc' --data-binary x
check_error "timeout_ms=abc: 400 bad_request" 400 bad_request
http POST '/v1/jobs/io/echo?timeout_ms=-1' --data-binary x
check_error "timeout_ms=-1: 400 bad_request" 400 bad_request
http GET '/v1/delay?ms=-5'
check_error "delay ms=-5: 400 bad_request" 400 bad_request
http GET '/v1/delay?ms=abc'
check_error "delay ms=abc: 400 bad_request" 400 bad_request
http POST '/v1/jobs/a%20b/echo' --data-binary x
check_error "a queue name with a space: 400 bad_request" 400 bad_request

# 413
head -c 2048 /dev/zero | tr '\0' x >"$E2E_TMP/2k"
head -c 1024 /dev/zero | tr '\0' x >"$E2E_TMP/1k"
http POST /v1/jobs/io/echo --data-binary @"$E2E_TMP/2k"
check_error "2 KiB body over --max-payload 1K: 413 payload_too_large" 413 payload_too_large
http POST /v1/jobs/io/echo --data-binary @"$E2E_TMP/1k"
check_eq "a body of exactly --max-payload is accepted" 200 "$HTTP_STATUS"

# 500: the function's own error, message passed on.
http POST /v1/jobs/io/sleep --data-binary abc
check_error "sleep with payload 'abc': 500 job_failed" 500 job_failed
msg=$(json "$HTTP_BODY" .message)
check "job_failed carries the function's message ('$msg')" test -n "$msg"
check "job_failed carries a job_id" test "$(json "$HTTP_BODY" .job_id)" != null

# 504 while running: a 30 s sleep stops at its 200 ms deadline and frees
# its slot (curl's time_total: the answer came at the deadline, 7x under
# the bound, and nowhere near the job's end).
http POST '/v1/jobs/io/sleep?timeout_ms=200' --data-binary 30000
check_error "running past timeout_ms: 504 timeout" 504 timeout
check "504 comes at the deadline, not at the end of the job (took $HTTP_MS ms)" \
    test "$HTTP_MS" -ge 200 -a "$HTTP_MS" -lt 1500
check "the timed-out job's slot is freed" wait_until 10 queue_is io busy 0

# 504 while queued, then 503 queue_full: queue 'one' has one thread, held
# by a 30 s job that cannot end while we look; its caller hangs up at the
# end, which frees the slot.
curl -s -m 60 -o /dev/null -X POST --data-binary 30000 "$GW_URL/v1/jobs/one/sleep" &
blocker=$!
PIDS+=("$blocker")
check "a long job occupies queue one" wait_until 10 queue_is one busy 1
http POST '/v1/jobs/one/echo?timeout_ms=200' --data-binary x
check_error "queued past timeout_ms: 504 timeout" 504 timeout
check "queued 504 comes at the deadline (took $HTTP_MS ms)" \
    test "$HTTP_MS" -ge 200 -a "$HTTP_MS" -lt 1200
check "it waited in the queue, not on an executor (X-Offload-Run-Us $(header X-Offload-Run-Us))" \
    test "$(header X-Offload-Run-Us)" = 0
http_bg waiting POST '/v1/jobs/one/echo?timeout_ms=30000' --data-binary w
check "a second job waits behind it" wait_until 10 queue_is one waiting 1
http POST /v1/jobs/one/echo --data-binary x
check_error "past --max-waiting: 503 queue_full" 503 queue_full
check "queue_full carries Retry-After" has_header Retry-After
kill "$blocker"
http_wait waiting 30
check_eq "once the blocker's caller hangs up, the waiting job runs" 200 "$HTTP_STATUS"
check_eq "the waiting job's result" w "$(cat "$HTTP_BODY")"

# 503 no_executor: a queue known from a --route, with no executor.
http POST '/v1/jobs/ghost/echo?timeout_ms=300' --data-binary x
check_error "known queue without executors: 503 no_executor" 503 no_executor
check "no_executor carries Retry-After" has_header Retry-After
check "no_executor comes at the deadline (took $HTTP_MS ms)" \
    test "$HTTP_MS" -ge 300 -a "$HTTP_MS" -lt 1500
http POST '/ghost?timeout_ms=300' --data-binary x
check_error "the same through the --route: 503 no_executor" 503 no_executor

# 502 executor_lost: the executor running a job is killed.
start_executor --connect "$GW_EXECUTORS" --queue lost=threads:1 --heartbeat-ms 100 --liveness 3 ||
    abort "second executor starts"
lost_pid=$EX_PID
http_bg lost POST '/v1/jobs/lost/sleep?timeout_ms=20000' --data-binary 15000
check "a job runs on the doomed executor" wait_until 10 queue_is lost busy 1
{ kill -KILL "$lost_pid" && wait "$lost_pid"; } 2>/dev/null # no "Killed" notice
http_wait lost 30
check_error "executor killed mid-job: 502 executor_lost" 502 executor_lost
check "the gateway logs the loss of the executor running it" \
    grep -q 'event=executor_lost .*jobs_lost=1' "$GW_LOG"

# The gateway kept serving through all of it.
http GET /healthz
check_eq "the gateway still serves" 200 "$HTTP_STATUS"

finish
