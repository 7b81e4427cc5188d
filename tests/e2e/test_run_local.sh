#!/usr/bin/env bash
# make run's script (scripts/run-local.sh) and Ctrl-C: the terminal sends
# SIGINT to the whole foreground process group; the gateway and the
# executor must see one SIGTERM (a drain), so a job in flight still gets its
# answer and both exit 0.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

command -v setsid >/dev/null || abort "setsid is installed (util-linux)"
log="$E2E_TMP/run-local.log"
# Its own process group, as a terminal's foreground job is; SIGINT back to
# its default (a background job of a script starts with SIGINT ignored, and
# bash cannot trap a signal ignored on entry).
OFFLOAD_HTTP=127.0.0.1:0 OFFLOAD_EXECUTORS='tcp://127.0.0.1:*' \
    OFFLOAD_CLIENTS='tcp://127.0.0.1:*' \
    setsid env --default-signal=INT "$REPO_ROOT/scripts/run-local.sh" "$OFFLOAD_BIN/.." \
    >"$log" 2>&1 </dev/null &
rl=$!
PIDS+=("$rl")
check "run-local says offload is running" wait_until 20 grep -q "offload is running" "$log" ||
    { cat "$log" >&2; finish; }
read -r gw_pid ex_pid url < <(sed -n \
    's/^offload is running: gateway pid \([0-9]*\) on \([^,]*\), executor pid \([0-9]*\).*/\1 \3 http:\/\/\2/p' "$log")
PIDS+=("$gw_pid" "$ex_pid")
url=${url/0.0.0.0/127.0.0.1}
check "the executor serves io" wait_until 10 sh -c "curl -s -m 2 '$url/v1/queues' | grep -q '\"executors\":1'"
check_eq "the Python example worker serves py (primes below 1000)" 168 \
    "$(curl -s -m 10 -X POST --data-binary 1000 "$url/v1/jobs/py/primes")"
check_eq "cpu is a process pool" processes \
    "$(curl -s -m 2 "$url/v1/queues" | jq -r '.queues[] | select(.name == "cpu") | .kind')"
# The client lines it prints run as printed.
check "it listens on loopback only: no insecure-endpoint warning" \
    sh -c "! grep -Eq 'event=(insecure|http_open)' '$log'"
check "it says HTTP is on 127.0.0.1" grep -q 'gateway pid [0-9]* on 127\.0\.0\.1:' "$log"
gateway_ep=$(sed -n 's/^  export OFFLOAD_GATEWAY=//p' "$log")
check "it prints the clients endpoint ($gateway_ep)" grep -Eq '^tcp://127\.0\.0\.1:[0-9]+$' \
    <<<"$gateway_ep"
cli_line=$(sed -n 's/^  \(.*offload call io echo hello\)$/\1/p' "$log")
check_eq "its offload call line answers" hello "$(OFFLOAD_GATEWAY=$gateway_ep eval "$cli_line")"

# A job that is running when Ctrl-C comes (5 s; the drain waits for it).
curl -s -m 30 -o "$E2E_TMP/job.body" -w '%{http_code}' -X POST --data-binary 5000 \
    "$url/v1/jobs/io/sleep" >"$E2E_TMP/job.code" &
curl_pid=$!
check "the job is running" wait_until 10 sh -c "curl -s -m 2 '$url/v1/queues' | jq -e '.queues[] | select(.name == \"io\") | .busy == 1' >/dev/null"

kill -INT -- "-$rl" # Ctrl-C: SIGINT to the process group
check "the gateway starts draining while the job runs" \
    wait_until 10 grep -q 'event=signal signal=Terminated action=drain' "$log"
check "the job was still running then (the drain waited for it)" \
    wait_until 10 grep -q 'event=executor_draining .* jobs_in_flight=1' "$log"
wait "$curl_pid"
check_eq "the job in flight is answered 200" 200 "$(cat "$E2E_TMP/job.code")"
check "run-local exits" wait_until 40 all_gone "$rl" "$gw_pid" "$ex_pid"
wait "$rl"
check_eq "run-local exits 0" 0 "$?"
check "and never took a second one" sh -c "! grep -q 'event=signal.*action=stop' '$log'"
check "the gateway stopped because it drained" grep -q 'event=drained action=stop' "$log"
[ "$FAILED" -eq 0 ] || tail -n 30 "$log" >&2

finish
