#!/usr/bin/env bash
# SIGTERM to the gateway: it stops accepting, lets the jobs in progress
# finish (up to --drain-timeout), answers what remains with 503, exits 0.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway || abort "gateway starts"
gw=$GW_PID
start_executor --connect "$GW_EXECUTORS" --queue io=threads:4 || abort "executor starts"

# 3 jobs of 5 s (one curl process) and a 5 s delay: still running when the
# signal comes, whatever the machine's pace.
load_bg jobs 3 3 POST /v1/jobs/io/sleep --data-binary 5000
http_bg delayed GET '/v1/delay?ms=5000'
check "the jobs run" wait_until 10 queue_is io busy 3

kill -TERM "$gw"
check "the gateway stops accepting connections" wait_until 10 sh -c "! curl -s -o /dev/null '$GW_URL/healthz'"
check "the jobs finish" load_wait 60 jobs
check_eq "the 3 jobs in progress finish with 200" 3 "$(load_count jobs code 200)"
http_wait delayed 30
check_eq "a /v1/delay in progress finishes with 200" 200 "$HTTP_STATUS"
check "the gateway exits once drained" wait_until 10 all_gone "$gw"
wait "$gw" 2>/dev/null
check_eq "it exits 0" 0 "$?"
check "its log says drained" grep -q 'event=drained' "$GW_LOG"

# A drain that outlasts --drain-timeout: what remains gets 503.
start_gateway --drain-timeout 300 || abort "gateway 2 starts"
gw=$GW_PID
start_executor --connect "$GW_EXECUTORS" --queue io=threads:1 || abort "executor 2 starts"
http_bg long POST /v1/jobs/io/sleep --data-binary 30000
check "the long job runs" wait_until 10 queue_is io busy 1
http_bg waiting POST /v1/jobs/io/sleep --data-binary 10
check "a second job waits behind it" wait_until 10 queue_is io waiting 1
kill -TERM "$gw"
http_wait long 30
check_error "the running job past the drain timeout gets 503 (long before its 30 s)" 503 no_executor
check "503 carries Retry-After" has_header Retry-After
http_wait waiting 30
check_error "the waiting job gets 503 too" 503 no_executor
signal=$(log_ms "$GW_LOG" 'event=signal .*action=drain')
timeout=$(log_ms "$GW_LOG" 'event=drain_timeout')
check "the drain ended at --drain-timeout 300 ms (gateway log: $((timeout - signal)) ms)" \
    test "$((timeout - signal))" -ge 300 -a "$((timeout - signal))" -le 900
check "gateway 2 exits" wait_until 10 all_gone "$gw"
wait "$gw" 2>/dev/null
check_eq "it exits 0" 0 "$?"

finish
