#!/usr/bin/env bash
# Loop fairness for new HTTP connections (see test_fairness.sh for the
# sockets' and the uploads' budgets): the front accepts from its own
# listening socket, at most --turn-accepts new connections a turn.
#   - a connection storm: 300 clients uploading 1 MiB bodies, many refused
#     503 by --max-held-bytes and reconnecting at once; /healthz (a new
#     connection each time) is answered, every upload too;
#   - 200 connections waiting in the backlog of a stopped gateway with
#     --turn-accepts 4 are taken 4 a turn (http_accept_budget_stops) and all
#     answered;
#   - TLS: 60 new TLS connections uploading, whose ClientHellos all wait;
#     then 60 accepted silent connections that send their ClientHellos at
#     once: MHD gets 2 a turn, so no turn runs the 60 handshakes at once.
# Asserted on the gateway's evidence (/v1/stats); client-side p99 loosely.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

command -v ab >/dev/null || abort "ab (apache2-utils)"
command -v ss >/dev/null || abort "ss (iproute2)"
command -v openssl >/dev/null || abort "openssl"

start_gateway --heartbeat-ms 200 || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:8 --heartbeat-ms 200 --liveness 3 ||
    abort "executor starts"
check "io has 1 executor" wait_until 10 queue_is io executors 1
MIB=1048576
head -c $MIB /dev/zero >"$E2E_TMP/mib.bin"
stats="$E2E_TMP/fair.json"

# parallel N FILE URL [CURL ARGS...]: one curl process makes N requests, one
# a connection, PARALLEL_MAX (default N) at once, opening them at once (ab
# opens one first and waits for its answer; and ab -r can stall for its -s
# timeout when a refusal closes a connection it is still sending on), at
# nice PARALLEL_NICE (default 0);
# their statuses go to FILE, one a line (000: no answer).
parallel() {
    local n=$1 out=$2 url=$3 i max=${PARALLEL_MAX:-$1}
    shift 3
    for ((i = 0; i < n; i++)); do printf 'url = "%s"\noutput = /dev/null\n' "$url"; done \
        >"$out.cfg"
    nice -n "${PARALLEL_NICE:-0}" curl -s --parallel --parallel-immediate --parallel-max "$max" -m 60 "$@" -K "$out.cfg" \
        -w '%{http_code}\n' >"$out" 2>/dev/null
}

# A connection storm: 300 clients uploading 1 MiB bodies, many refused 503
# by --max-held-bytes and reconnecting at once. The front accepts at most
# --turn-accepts (64) new connections a turn, from its own listening
# socket, so /healthz (a new connection each time) is not left behind in
# the backlog for many turns (MHD alone accepts 10 a step).
STORM_N=1200
upload_flood_mark
PARALLEL_MAX=300 PARALLEL_NICE=19 parallel $STORM_N "$E2E_TMP/storm.codes" "$GW_URL/v1/jobs/io/echo" \
    --data-binary "@$E2E_TMP/mib.bin" &
fp=$!
PIDS+=("$fp")
check "storm: the front reads the flood" wait_until 20 stat_ge http_requests $(($(stat_field http_requests) + 300))
healthz_during storm
upload_flood_end storm 90 "$fp" $STORM_N
echo "  info  storm: accept budget stops $(stat_field http_accept_budget_stops); curl saw" \
    "$(sort "$E2E_TMP/storm.codes" | uniq -c | tr -s ' \n' ' ')"
curl -s -m 5 -o "$stats" "$GW_URL/v1/stats"
cpu_max=$(json "$stats" .loop_turn_max_cpu_us)
echo "  info  loop: longest turn $(json "$stats" .loop_turn_max_us) us wall / $cpu_max us CPU," \
    "slow $(json "$stats" .loop_slow_turns)"
check_cpu "storm: no turn took 75 ms of CPU, the heap trim's aside (longest: $cpu_max us)" \
    test "$(json "$stats" .loop_overrun_turns)" -eq 0
check_eq "storm: /v1/stats executors_lost is 0" 0 "$(stat_field executors_lost)"
check_eq "storm: held_bytes back to 0" 0 "$(stat_field held_bytes)"
stop_process "$GW_PID"

# backlog_ge PORT N: the listening socket on PORT has N connections waiting
# to be accepted (ss's Recv-Q of a listening socket).
backlog_ge() {
    local q
    q=$(ss -Hltn "sport = :$1" | awk '{print $2; exit}')
    [ -n "$q" ] && [ "$q" -ge "$2" ]
}

# New connections are spread over turns: 200 POSTs wait in the backlog of
# a stopped gateway (--turn-accepts 4); once it runs again MHD gets 4 a
# turn (at least 49 turns stop with the budget spent) and all are answered.
# GETs cost little and are not held to it: 200 /healthz in the backlog are
# all handed over at once (64 accepts a turn: a few stops).
start_gateway --turn-accepts 4 || abort "gateway --turn-accepts 4 starts"
# burst NAME [CURL ARGS...]: 200 connections to /healthz wait in the
# backlog of the stopped gateway, then it runs; sets stops.
burst() {
    local name=$1 stops0 fp
    shift
    stops0=$(stat_field http_accept_budget_stops)
    kill -STOP "$GW_PID"
    parallel 200 "$E2E_TMP/$name.codes" "$GW_URL/healthz" "$@" &
    fp=$!
    PIDS+=("$fp")
    check "$name: 200 connections wait in the backlog" wait_until 20 backlog_ge "${GW_HTTP##*:}" 200
    kill -CONT "$GW_PID"
    check "$name: the client ends" wait_until 60 all_gone "$fp"
    stops=$(($(stat_field http_accept_budget_stops) - stops0))
    echo "  info  $name: $(sort "$E2E_TMP/$name.codes" | uniq -c | tr -s ' \n' ' '), $stops budget stops"
}
burst posts --data-binary x
check_eq "posts: 200 answered (405: /healthz is GET only)" 200 "$(grep -c '^405$' "$E2E_TMP/posts.codes")"
check "posts: spread over turns: >= 49 accept budget stops ($stops)" test "${stops:-0}" -ge 49
burst gets
check_eq "gets: 200 /healthz answered 200" 200 "$(grep -c '^200$' "$E2E_TMP/gets.codes")"
check "gets: not held to --turn-accepts: < 20 accept budget stops ($stops)" test "${stops:-99}" -lt 20
stop_process "$GW_PID"

# TLS: a burst of 60 new TLS connections uploading 1 MiB bodies, their
# ClientHellos all waiting when the gateway runs again. A handshake costs
# about 1 ms of CPU; the front gives MHD 2 connections a turn (--turn-accepts
# with TLS), so no turn does the 60 handshakes at once (40-70 ms of CPU).
CERT="$E2E_TMP/cert.pem"
KEY="$E2E_TMP/key.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$KEY" \
    -out "$CERT" -days 2 -subj /CN=localhost 2>/dev/null || abort "openssl makes a certificate"
start_gateway --tls-cert "$CERT" --tls-key "$KEY" || abort "gateway starts with TLS"
GW_URL="https://$GW_HTTP"
E2E_CURL=(-k)
start_executor --connect "$GW_EXECUTORS" --queue io=threads:8 || abort "executor starts"
check "tls: io has 1 executor" wait_until 10 queue_is io executors 1
stops0=$(stat_field http_accept_budget_stops)
kill -STOP "$GW_PID"
parallel 60 "$E2E_TMP/tls.codes" "$GW_URL/v1/jobs/io/echo" -k --data-binary "@$E2E_TMP/mib.bin" &
fp=$!
PIDS+=("$fp")
check "tls: 60 connections wait in the backlog" wait_until 20 backlog_ge "${GW_HTTP##*:}" 60
kill -CONT "$GW_PID"
check "tls: the client ends" wait_until 60 all_gone "$fp"
check_eq "tls: 60 uploads answered 200" 60 "$(grep -c '^200$' "$E2E_TMP/tls.codes")"
check_eq "tls: all 60 echoed" 60 "$(queue_field io completed)"
curl -s -m 5 -k -o "$stats" "$GW_URL/v1/stats"
cpu_max=$(json "$stats" .loop_turn_max_cpu_us)
stops=$(($(json "$stats" .http_accept_budget_stops) - stops0))
echo "  info  tls: longest turn $(json "$stats" .loop_turn_max_us) us wall / $cpu_max us CPU," \
    "slow $(json "$stats" .loop_slow_turns), accept budget stops $stops"
check "tls: handshakes spread over turns: >= 20 accept budget stops ($stops)" \
    test "${stops:-0}" -ge 20
check_cpu "tls: no turn took 25 ms of CPU ($cpu_max us)" test "${cpu_max:-99999999}" -lt 25000
ab -n 200 -c 1 -k "$GW_URL/healthz" >"$E2E_TMP/tls.hz" 2>&1
check_eq "tls: /healthz answers on a kept-alive TLS connection" 200 \
    "$(ab_field "$E2E_TMP/tls.hz" 'Complete requests')"
stop_process "$GW_PID"

# TLS, the dear case: 60 connections accepted and silent, then their 60
# ClientHellos at once (tlsburst.py). MHD alone ran all 60 handshakes in one
# MHD_run (25 ms of CPU measured); the front gives MHD 2 a turn.
if zmq_python; then
    start_gateway --tls-cert "$CERT" --tls-key "$KEY" || abort "gateway starts with TLS"
    GW_URL="https://$GW_HTTP"
    out=$("$ZMQ_PY" "$E2E_DIR/tlsburst.py" "${GW_HTTP##*:}" 60 2>&1)
    check_eq "tls hellos: 60 handshakes, 60 /healthz answered" "ok=60 handshakes_left=0" "$out"
    curl -s -m 5 -k -o "$stats" "$GW_URL/v1/stats"
    cpu_max=$(json "$stats" .loop_turn_max_cpu_us)
    stops=$(json "$stats" .http_accept_budget_stops)
    echo "  info  tls hellos: longest turn $(json "$stats" .loop_turn_max_us) us wall / $cpu_max us" \
        "CPU, slow $(json "$stats" .loop_slow_turns), accept budget stops $stops"
    check_cpu "tls hellos: no turn took 10 ms of CPU ($cpu_max us)" test "${cpu_max:-99999999}" -lt 10000
fi

finish
