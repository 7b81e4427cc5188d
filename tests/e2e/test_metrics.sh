#!/usr/bin/env bash
# GET /metrics: the Prometheus text exposition format 0.0.4 that promtool
# accepts without a word; counters equal to what was sent (jobs by queue,
# function and outcome, ok and failures; histogram counts, buckets
# monotonic, +Inf equal to _count; HTTP responses by code); the
# Content-Type whatever the Accept, HEAD, 405; /v1/queues' wait_us and
# run_us; token protection as /v1/stats; --metrics-max-series folding
# into "_other" with 64 queues; and a flood of scrapes from one ab
# process: every one answered 200, at most one render per
# --metrics-cache-ms, no loop turn over 75 ms of CPU.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || abort "promtool is installed (scripts/deps.sh: prometheus)"
command -v ab >/dev/null || abort "ab is installed (scripts/deps.sh: apache2-utils)"

CT='text/plain; version=0.0.4; charset=utf-8'

# scrape FILE [CURL ARGS...]: GET /metrics into FILE; sets HTTP_STATUS.
scrape() {
    local f=$1
    shift
    http GET /metrics "$@"
    cp "$HTTP_BODY" "$f"
}

# metric FILE SERIES: the value of the sample SERIES (name{labels} exactly
# as rendered), or nothing.
metric() {
    awk -v s="$2" 'substr($0, 1, length(s) + 1) == s " " { print $2; exit }' "$1"
}

# histograms_sane FILE: for every histogram series, the buckets never go
# down, there are 19 of them, and +Inf equals _count.
histograms_sane() {
    awk '
        /^#/ { next }
        /_bucket\{/ {
            key = $1; sub(/,le="[^"]*"\}$/, "", key); sub(/_bucket\{/, "{", key)
            v = $2 + 0
            if ((key in last) && v < last[key]) { print "    down: " $0; bad = 1 }
            last[key] = v; n[key]++
            if ($1 ~ /le="\+Inf"/) inf[key] = v
            next
        }
        /_count\{/ { key = $1; sub(/_count\{/, "{", key); sub(/\}$/, "", key); count[key] = $2 + 0 }
        END {
            for (k in n) {
                if (n[k] != 19) { print "    " k ": " n[k] " buckets"; bad = 1 }
                if (inf[k] != count[k]) { print "    " k ": +Inf " inf[k] " != _count " count[k]; bad = 1 }
            }
            if (length(n) == 0) { print "    no histogram"; bad = 1 }
            exit bad
        }' "$1"
}

# ---- one gateway, no cache: every number exact ---------------------------

start_gateway --metrics-cache-ms 0 --queue idle || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:4 || abort "executor starts"

N=20
load_bg echo $N 4 POST /v1/jobs/io/echo --data-binary hello
load_wait 60 || abort "the echo load ends"
check_eq "$N echo jobs answered 200" $N "$(load_count echo code 200)"
for i in 1 2 3; do http POST /v1/jobs/io/sleep --data-binary abc; done
check_eq "sleep with a bad payload answers 500 job_failed" "500 job_failed" \
    "$HTTP_STATUS $(json "$HTTP_BODY" .error)"
for i in 1 2; do http POST '/v1/jobs/io/sleep?timeout_ms=100' --data-binary 5000; done
check_eq "a job past its deadline answers 504" 504 "$HTTP_STATUS"
for i in 1 2; do http POST /v1/jobs/io/nope --data-binary x; done
check_eq "an unknown function answers 404" 404 "$HTTP_STATUS"
for i in 1 2; do http POST '/v1/jobs/idle/echo?timeout_ms=100' --data-binary x; done
check_eq "a queue nobody serves answers 503 at the deadline" 503 "$HTTP_STATUS"
for i in 1 2 3; do http GET /nothing; done
http POST /metrics --data-binary x
check_eq "POST /metrics answers 405" "405 method_not_allowed" \
    "$HTTP_STATUS $(json "$HTTP_BODY" .error)"
check "405 says Allow: GET, HEAD" grep -qi '^Allow: GET, HEAD' "$HTTP_HEADERS"

M="$E2E_TMP/m1.txt"
scrape "$M" -H 'Accept: application/openmetrics-text; version=1.0.0; charset=utf-8'
check_eq "GET /metrics answers 200" 200 "$HTTP_STATUS"
check_eq "Content-Type is the text format 0.0.4, whatever the Accept" "$CT" \
    "$(sed -n 's/^Content-Type: *//ip' "$HTTP_HEADERS" | tr -d '\r')"
check "promtool check metrics: clean" promtool_clean "$M"
check "histograms: 19 buckets, monotonic, +Inf == _count" histograms_sane "$M"

j() { metric "$M" "offload_jobs_total{queue=\"$1\",function=\"$2\",outcome=\"$3\"}"; }
check_eq "jobs_total io/echo ok == $N" $N "$(j io echo ok)"
check_eq "jobs_total io/sleep job_failed == 3" 3 "$(j io sleep job_failed)"
check_eq "jobs_total io/sleep timeout == 2" 2 "$(j io sleep timeout)"
check_eq "jobs_total io/_unknown unknown_function == 2" 2 "$(j io _unknown unknown_function)"
check_eq "jobs_total idle/echo no_executor == 2" 2 "$(j idle echo no_executor)"
check_eq "jobs_total sums to the $((N + 9)) jobs sent" $((N + 9)) \
    "$(awk '/^offload_jobs_total\{/ { s += $2 } END { print s }' "$M")"
# io answered N + 3 + 2 jobs that ran; idle's 2 waited and never ran.
check_eq "io wait histogram _count == $((N + 5))" $((N + 5)) \
    "$(metric "$M" 'offload_job_wait_seconds_count{queue="io"}')"
check_eq "io run histogram _count == $((N + 5))" $((N + 5)) \
    "$(metric "$M" 'offload_job_run_seconds_count{queue="io"}')"
check_eq "idle wait histogram _count == 2" 2 "$(metric "$M" 'offload_job_wait_seconds_count{queue="idle"}')"
check_eq "idle run histogram _count == 0" 0 "$(metric "$M" 'offload_job_run_seconds_count{queue="idle"}')"
# The two timeouts ran 100 ms or more: past the 0.1 bucket.
check "io run: at least 2 jobs over 0.05 s" test \
    $(($(metric "$M" 'offload_job_run_seconds_count{queue="io"}') - \
        $(metric "$M" 'offload_job_run_seconds_bucket{queue="io",le="0.05"}'))) -ge 2
check_eq "idle's waits (100 ms deadlines) are all in (0.05, 0.25]" "0 2" \
    "$(metric "$M" 'offload_job_wait_seconds_bucket{queue="idle",le="0.05"}') $(metric "$M" \
        'offload_job_wait_seconds_bucket{queue="idle",le="0.25"}')"
h() { metric "$M" "offload_http_requests_total{code=\"$1\"}"; }
check_eq "HTTP 200s counted: the $N echos" $N "$(h 200)"
check_eq "HTTP 500s counted" 3 "$(h 500)"
check_eq "HTTP 504s counted" 2 "$(h 504)"
check_eq "HTTP 404s counted (2 functions, 3 routes)" 5 "$(h 404)"
check_eq "HTTP 503s counted" 2 "$(h 503)"
check_eq "HTTP 405s counted" 1 "$(h 405)"
check_eq "queue gauges: io capacity" 4 "$(metric "$M" 'offload_queue_capacity{queue="io"}')"
check_eq "queue gauges: idle capacity" 0 "$(metric "$M" 'offload_queue_capacity{queue="idle"}')"
check_eq "executors ready" 1 "$(metric "$M" 'offload_executors{state="ready"}')"
check_eq "offload_up" 1 "$(metric "$M" offload_up)"
check "offload_build_info has a version" grep -q '^offload_build_info{version="[0-9][^"]*"} 1$' "$M"
check "process_resident_memory_bytes > 0" test "$(metric "$M" process_resident_memory_bytes)" -gt 0
check "process_open_fds > 0" test "$(metric "$M" process_open_fds)" -gt 0
check "process_max_fds >= open fds" test "$(metric "$M" process_max_fds)" -ge \
    "$(metric "$M" process_open_fds)"
check "process_start_time_seconds is within a minute of now" awk -v t="$(metric "$M" \
    process_start_time_seconds)" -v now="$(date +%s)" 'BEGIN { exit !(t > now - 60 && t <= now + 1) }'
check "every stats.h counter is there (loop_overrun_turns)" test -n \
    "$(metric "$M" offload_loop_overrun_turns_total)"
check_eq "a _us counter is in seconds (loop_busy_us)" 1 \
    "$(grep -c '^offload_loop_busy_seconds_total [0-9]*\.[0-9]\{6\}$' "$M")"

http HEAD /metrics -I
check_eq "HEAD /metrics answers 200" 200 "$HTTP_STATUS"
# (with -I, curl writes the headers where the body would go)
check "HEAD has no body" test "$(grep -c "^offload_up" "$HTTP_BODY")" -eq 0

http GET /v1/queues
check "/v1/queues: io wait_us has p50 <= p90 <= p99" test "$(json "$HTTP_BODY" \
    '.queues[] | select(.name=="io") | .wait_us | .p50 <= .p90 and .p90 <= .p99')" = true
check "/v1/queues: io run_us p99 >= 100 ms (the timeouts)" test "$(json "$HTTP_BODY" \
    '.queues[] | select(.name=="io") | .run_us.p99')" -ge 50000
check_eq "/v1/queues: idle run_us is null (nothing ran)" null \
    "$(json "$HTTP_BODY" '.queues[] | select(.name=="idle") | .run_us')"
check "/v1/queues: idle wait_us p50 ~ its 100 ms deadline" test "$(json "$HTTP_BODY" \
    '.queues[] | select(.name=="idle") | .wait_us.p50')" -ge 90000
check_eq "/v1/stats counts the scrapes (no cache: each rendered)" "2 0" \
    "$(stat_field metrics_scrapes) $(stat_field metrics_cache_hits)"
stop_process "$EX_PID"
stop_process "$GW_PID"
check_eq "gateway 1 exits 0 (no leak under LeakSanitizer)" 0 "$STOP_RC"

# ---- 64 queues, tokens, the bound, a flood -------------------------------

TOKEN=$(openssl rand -hex 24 2>/dev/null || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$TOKEN" >"$E2E_TMP/tokens"
chmod 600 "$E2E_TMP/tokens"
queues=()
for ((q = 0; q < 64; q++)); do queues+=(--queue "q$q"); done
start_gateway --http-token-file "$E2E_TMP/tokens" --metrics-max-series 100 "${queues[@]}" ||
    abort "gateway 2 starts"
AUTH="Authorization: Bearer $TOKEN"
E2E_CURL=(-H "$AUTH")

http GET /metrics
check_eq "without a token /metrics answers 401 (as /v1/stats)" "401 unauthorized" \
    "$HTTP_STATUS $(json "$HTTP_BODY" .error)"
http GET /metrics -H "Authorization: Bearer nottherightoneatallreally"
check_eq "a wrong token: 401" 401 "$HTTP_STATUS"
http GET /metrics -H "$AUTH"
check_eq "with the token: 200" 200 "$HTTP_STATUS"

# 64 queues x 4 functions, no executor: every job answered no_executor at
# its 1 ms deadline, from one curl process.
cfg="$E2E_TMP/many.cfg"
for ((q = 0; q < 64; q++)); do
    for f in a b c d; do
        printf 'url = "%s/v1/jobs/q%d/%s?timeout_ms=1"\noutput = "/dev/null"\n' "$GW_URL" "$q" "$f"
    done
done >"$cfg"
curl -s --no-progress-meter --parallel --parallel-max 16 -X POST -H "$AUTH" --data-binary x \
    -w '%{http_code}\n' -K "$cfg" >"$E2E_TMP/many.codes"
check_eq "256 jobs on 64 queues answered 503 no_executor" 256 "$(grep -c '^503$' "$E2E_TMP/many.codes")"
sleep 0.2 # past --metrics-cache-ms (100): the next scrape renders anew
M="$E2E_TMP/m2.txt"
scrape "$M" -H "$AUTH"
check "64 queues: promtool check metrics: clean" promtool_clean "$M"
check "64 queues: histograms sane" histograms_sane "$M"
check_eq "64 queues: a wait histogram each" 64 "$(grep -c '^offload_job_wait_seconds_count{' "$M")"
series=$(grep -c '^offload_jobs_total{' "$M")
check "offload_jobs_total stays bounded: $series series <= 100 + 25 + 16" test "$series" -le 141
check_eq "offload_jobs_total still sums to the 256 jobs" 256 \
    "$(awk '/^offload_jobs_total\{/ { s += $2 } END { print s }' "$M")"
folded=$(metric "$M" offload_metrics_series_folded_total)
check "past --metrics-max-series 100: jobs folded into _other ($folded)" test "$folded" -ge 156
check "folded series say function=\"_other\"" grep -q 'function="_other",outcome="no_executor"' "$M"
check_eq "no job id is a label" 0 "$(grep -c 'job_id\|job=' "$M")"

# A flood of scrapes from one ab process: 5000 at 20 at a time.
scrapes0=$(stat_field metrics_scrapes)
hits0=$(stat_field metrics_cache_hits)
up0=$(stat_field uptime_ms)
loop_mark
out="$E2E_TMP/flood.ab"
# -l: the bodies differ in length as the counters grow.
ab -q -l -s 60 -n 5000 -c 20 -H "$AUTH" "$GW_URL/metrics" >"$out" 2>&1
check_eq "flood: 5000 scrapes complete" 5000 "$(ab_field "$out" 'Complete requests')"
check_eq "flood: none failed" 0 "$(ab_field "$out" 'Failed requests')"
check_eq "flood: all 200" 0 "$(ab_field "$out" 'Non-2xx responses')"
scrapes=$(($(stat_field metrics_scrapes) - scrapes0))
hits=$(($(stat_field metrics_cache_hits) - hits0))
up=$(($(stat_field uptime_ms) - up0))
renders=$((scrapes - hits))
echo "  info  flood: $scrapes scrapes, $renders renders in $up ms" \
    "($(ab_field "$out" 'Requests per second') req/s)"
check_eq "flood: every scrape counted" 5000 "$scrapes"
check "flood: at most one render per 100 ms ($renders in $up ms)" test "$renders" -le $((up / 100 + 2))
check "flood: renders << scrapes ($renders of $scrapes)" test $((renders * 20)) -le "$scrapes"
loop_check "flood of scrapes"
sleep 0.2 # past --metrics-cache-ms
scrape "$M" -H "$AUTH"
ok=$(metric "$M" 'offload_http_requests_total{code="200"}')
check "flood: its 5000 200s counted, and the few around it ($ok)" test "$ok" -ge 5000 -a "$ok" -le 5020
stop_process "$GW_PID"
check_eq "gateway 2 exits 0" 0 "$STOP_RC"
finish
