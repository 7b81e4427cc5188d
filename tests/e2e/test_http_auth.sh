#!/usr/bin/env bash
# HTTP bearer tokens and HTTPS. Tokens: 401 (with WWW-Authenticate)
# without a token or with a wrong one, 403 for a queue the token may not
# use (POST /v1/jobs/QUEUE/FN, a --route to a job, a detached job's
# lookup), /healthz open, /v1/queues and /v1/stats closed, SIGHUP adds a
# token and a bad file keeps the old ones, counters and logs, clear start
# errors. TLS: a self-signed certificate made here; curl --cacert for
# /healthz, a job, a 1 MiB echo and suspended requests; plain HTTP to the
# TLS port fails; a connection that never starts its handshake costs no
# CPU and is closed at --header-timeout-ms; bad certificate flags refused
# at start. Then tokens over TLS together. Loopback only.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || abort "openssl is installed (scripts/deps.sh)"

T_ALL=$(openssl rand -hex 24)
T_IO=$(openssl rand -hex 24)
T_NEW=$(openssl rand -base64 30 | tr -d '\n')
T_BAD=$(openssl rand -hex 24)
TOKENS="$E2E_TMP/tokens"
{
    echo "# operators: every queue"
    echo "$T_ALL"
    echo
    echo "$T_IO   io, other   # the web app"
} >"$TOKENS"
chmod 600 "$TOKENS"

bearer() { echo "Authorization: Bearer $1"; }

# gateway_fails NAME PATTERN FLAGS...: the gateway refuses to start with FLAGS
# and says PATTERN (grep -E) on stderr.
gateway_fails() {
    local name=$1 pattern=$2 out rc
    shift 2
    out=$(timeout 10 "$GATEWAY" --http 127.0.0.1:0 --executors 'tcp://127.0.0.1:*' \
        --clients 'tcp://127.0.0.1:*' "$@" 2>&1)
    rc=$?
    if [ "$rc" -ne 0 ] && grep -qE -- "$pattern" <<<"$out"; then
        pass "$name"
    else
        fail "$name" "rc=$rc: $out"
    fi
}

# ---- tokens --------------------------------------------------------------

start_gateway --http-token-file "$TOKENS" --route 'GET /r/cpu=job:cpu/echo:from-route' \
    --route 'GET /r/io=job:io/echo:from-route' || abort "gateway starts with tokens"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 --queue cpu=threads:1 ||
    abort "executor starts"
E2E_CURL=(-H "$(bearer "$T_ALL")")

http GET /healthz
check_eq "/healthz needs no token" 200 "$HTTP_STATUS"
http GET /v1/queues
check_error "/v1/queues without a token: 401 unauthorized" 401 unauthorized
check "  with WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' "$HTTP_HEADERS"
http GET /v1/stats
check_error "/v1/stats without a token: 401" 401 unauthorized
http POST /v1/jobs/io/echo -d hello
check_error "a job without a token: 401" 401 unauthorized
http POST /v1/jobs/io/echo -d hello -H "$(bearer "$T_BAD")"
check_error "a job with an unknown token: 401" 401 unauthorized
check "  WWW-Authenticate says invalid_token" \
    grep -qi '^WWW-Authenticate: Bearer.*error="invalid_token"' "$HTTP_HEADERS"
http POST /v1/jobs/io/echo -d hello -H "Authorization: Basic $(echo -n a:b | base64)"
check_error "Basic instead of Bearer: 401" 401 unauthorized
http GET /no/such/route
check_error "an unknown path without a token: 401, not 404 (routes stay hidden)" 401 unauthorized
unauthorized=6
http GET /v1/queues -H "$(bearer "$T_IO")"
check_eq "/v1/queues with a token: 200" 200 "$HTTP_STATUS"

http POST /v1/jobs/io/echo -d hello -H "$(bearer "$T_IO")"
check_eq "the io token on io: 200" 200 "$HTTP_STATUS"
check_eq "  the payload echoed" hello "$(cat "$HTTP_BODY")"
http POST /v1/jobs/cpu/echo -d hello -H "$(bearer "$T_IO")"
check_error "the io token on cpu: 403 forbidden" 403 forbidden
check "  WWW-Authenticate says insufficient_scope" \
    grep -qi '^WWW-Authenticate: Bearer.*insufficient_scope' "$HTTP_HEADERS"
http GET /r/cpu -H "$(bearer "$T_IO")"
check_error "the io token on a --route to job:cpu/...: 403" 403 forbidden
http GET /r/io -H "$(bearer "$T_IO")"
check_eq "the io token on a --route to job:io/...: 200" "200 from-route" \
    "$HTTP_STATUS $(cat "$HTTP_BODY")"
http POST /v1/jobs/cpu/echo -d hello -H "$(bearer "$T_ALL")"
check_eq "the all-queues token on cpu: 200" 200 "$HTTP_STATUS"

http POST '/v1/jobs/cpu/echo?wait=false' -d detached -H "$(bearer "$T_ALL")"
job=$(json "$HTTP_BODY" .job_id)
check_eq "a detached job on cpu: 202" 202 "$HTTP_STATUS"
http GET "/v1/jobs/$job" -H "$(bearer "$T_IO")"
check_error "  the io token may not look it up: 403" 403 forbidden
http GET "/v1/jobs/$job/result" -H "$(bearer "$T_IO")"
check_error "  nor read its result: 403" 403 forbidden
http DELETE "/v1/jobs/$job" -H "$(bearer "$T_IO")"
check_error "  nor cancel it: 403" 403 forbidden
http GET "/v1/jobs/$job/result?wait_ms=5000" -H "$(bearer "$T_ALL")"
check_eq "  the all-queues token reads its result" "200 detached" \
    "$HTTP_STATUS $(cat "$HTTP_BODY")"
forbidden=5

check_eq "http_unauthorized counted every 401" "$unauthorized" "$(stat_field http_unauthorized)"
check_eq "http_forbidden counted every 403" "$forbidden" "$(stat_field http_forbidden)"
check "logged: event=http_unauthorized reason=unknown_token" \
    grep -q 'event=http_unauthorized reason=unknown_token peer=127.0.0.1' "$GW_LOG"
check "logged: event=http_forbidden queue=cpu token_line=4" \
    grep -q 'event=http_forbidden queue=cpu token_line=4' "$GW_LOG"
check "no token is ever written to the log" \
    bash -c "! grep -qF -e '$T_ALL' -e '$T_IO' -e '$T_BAD' '$GW_LOG'"

# SIGHUP: a token added to the file works once the gateway re-reads it.
http GET /v1/queues -H "$(bearer "$T_NEW")"
check_error "a token not yet in the file: 401" 401 unauthorized
echo "$T_NEW,cpu" >>"$TOKENS"
kill -HUP "$GW_PID"
check "SIGHUP re-reads the file (event=http_tokens_loaded tokens=3)" \
    wait_until 10 grep -q 'event=http_tokens_loaded file=.* tokens=3' "$GW_LOG"
http POST /v1/jobs/cpu/echo -d again -H "$(bearer "$T_NEW")"
check_eq "  the new token works on its queue" "200 again" "$HTTP_STATUS $(cat "$HTTP_BODY")"
http POST /v1/jobs/io/echo -d again -H "$(bearer "$T_NEW")"
check_error "  and only there" 403 forbidden
cp "$TOKENS" "$TOKENS.good"
echo "short-token" >>"$TOKENS"
kill -HUP "$GW_PID"
check "a bad file on SIGHUP: event=http_tokens_reload_failed naming line 6" \
    wait_until 10 grep -q 'event=http_tokens_reload_failed.*line 6: the token is too short' "$GW_LOG"
http POST /v1/jobs/cpu/echo -d kept -H "$(bearer "$T_NEW")"
check_eq "  the tokens loaded before stay in force" 200 "$HTTP_STATUS"
check "  and the gateway still serves" kill -0 "$GW_PID"
stop_process "$GW_PID"
stop_process "$EX_PID"

# Start errors name the file and the line; a loose mode is warned about.
printf '%s\n%s io cpu io\n' "$T_ALL" "$T_IO" >"$E2E_TMP/dup-queue"
gateway_fails "a queue named twice: start refused, naming line 2" \
    "dup-queue' line 2: queue 'io' is named twice" --http-token-file "$E2E_TMP/dup-queue"
printf '%s\n\n%s\n' "$T_ALL" "$T_ALL" >"$E2E_TMP/dup-token"
gateway_fails "a token twice: refused, naming both lines" "line 3: the same token as line 1" \
    --http-token-file "$E2E_TMP/dup-token"
printf '%s io bad/queue\n' "$T_ALL" >"$E2E_TMP/bad-queue"
gateway_fails "a bad queue name: refused" "line 1: 'bad/queue' is not a queue name" \
    --http-token-file "$E2E_TMP/bad-queue"
printf '# only a comment\n\n' >"$E2E_TMP/empty"
gateway_fails "a file without a token: refused" "no token in it" --http-token-file "$E2E_TMP/empty"
gateway_fails "a missing file: refused" "cannot open: No such file" \
    --http-token-file "$E2E_TMP/missing"
cp "$TOKENS.good" "$E2E_TMP/loose"
chmod 644 "$E2E_TMP/loose"
start_gateway --http-token-file "$E2E_TMP/loose" || abort "gateway starts with a 0644 file"
check "a file others may read: event=http_token_file_readable" \
    grep -q 'event=http_token_file_readable' "$GW_LOG"
stop_process "$GW_PID"

# ---- TLS -------------------------------------------------------------------

CERT="$E2E_TMP/cert.pem"
KEY="$E2E_TMP/key.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$KEY" \
    -out "$CERT" -days 2 -subj /CN=localhost -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
    2>/dev/null || abort "openssl makes a self-signed certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$E2E_TMP/other.key" -out "$E2E_TMP/other.pem" -days 2 -subj /CN=other 2>/dev/null
chmod 600 "$KEY"

gateway_fails "--tls-cert without --tls-key: refused" "go together" --tls-cert "$CERT"
gateway_fails "an unreadable --tls-key: refused, naming it" "--tls-key '.*nope': cannot open" \
    --tls-cert "$CERT" --tls-key "$E2E_TMP/nope"
gateway_fails "a --tls-cert that is not PEM: refused" "not a PEM file" --tls-cert "$TOKENS" \
    --tls-key "$KEY"
gateway_fails "a key that is not the certificate's: refused" "tls-cert .* and --tls-key .*: " \
    --tls-cert "$CERT" --tls-key "$E2E_TMP/other.key"

start_gateway --tls-cert "$CERT" --tls-key "$KEY" --header-timeout-ms 1000 ||
    abort "gateway starts with TLS"
GW_URL="https://$GW_HTTP"
E2E_CURL=(--cacert "$CERT")
start_executor --connect "$GW_EXECUTORS" --queue io=threads:4 || abort "executor starts"
check "logged: event=http_security tls=on" grep -q 'event=http_security tls=on' "$GW_LOG"

http GET /healthz --cacert "$CERT"
check_eq "https /healthz with --cacert: 200" 200 "$HTTP_STATUS"
http POST /v1/jobs/io/echo -d secret-payload --cacert "$CERT"
check_eq "https job: 200 with the payload echoed" "200 secret-payload" \
    "$HTTP_STATUS $(cat "$HTTP_BODY")"
http GET /healthz
check_eq "https without the CA: curl refuses the certificate" 000 "$HTTP_STATUS"
http GET "http://$GW_HTTP/healthz"
check_eq "plain http to the TLS port: no answer" 000 "$HTTP_STATUS"
check "  logged as event=http_library (libmicrohttpd's message, rate-limited)" \
    wait_until 5 grep -q 'event=http_library msg=.*handshake' "$GW_LOG"
head -c 1048000 /dev/urandom >"$E2E_TMP/big"
http POST /v1/jobs/io/echo --data-binary "@$E2E_TMP/big" --cacert "$CERT"
check "a 1 MiB body echoed intact over TLS" cmp -s "$E2E_TMP/big" "$HTTP_BODY"

# Suspended requests resume over TLS: a job that sleeps and a timer route,
# while /healthz answers at once.
http_bg slow POST /v1/jobs/io/sleep -d 1500 --cacert "$CERT"
http_bg delay GET '/v1/delay?ms=1000' --cacert "$CERT"
check "both suspended (a job running, a timer waiting)" wait_until 10 queue_is io busy 1
http GET /healthz --cacert "$CERT"
check "/healthz answers meanwhile, under 500 ms" test "$HTTP_STATUS" = 200 -a "$HTTP_MS" -lt 500
http_wait slow 20
check_eq "the sleeping job completes over TLS" 200 "$HTTP_STATUS"
check "  after its 1.5 s" test "$(header X-Offload-Run-Us)" -ge 1400000
http_wait delay 20
check_eq "the delay completes over TLS" 200 "$HTTP_STATUS"

# A connection that never starts its handshake: no busy loop (MHD keeps it
# "ready"; the front runs MHD only on events), closed at the header deadline.
before=$(stat_field http_read_timeouts)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$GW_PID/stat"; }
exec 7<>"/dev/tcp/127.0.0.1/${GW_HTTP##*:}"
t0=$(cpu_ticks)
sleep 0.5 # a measurement window, not a synchronisation
spent=$(($(cpu_ticks) - t0))
check "an idle handshake costs no CPU (${spent} ticks in 0.5 s, under 15)" test "$spent" -lt 15
check "it is closed at --header-timeout-ms (http_read_timeouts)" \
    wait_until 10 stat_ge http_read_timeouts $((${before:-0} + 1))
exec 7<&- 7>&-
http GET /healthz --cacert "$CERT"
check_eq "  and the gateway serves on" 200 "$HTTP_STATUS"
stop_process "$GW_PID"
stop_process "$EX_PID"

# ---- tokens over TLS -------------------------------------------------------

start_gateway --tls-cert "$CERT" --tls-key "$KEY" --http-token-file "$TOKENS.good" ||
    abort "gateway starts with TLS and tokens"
GW_URL="https://$GW_HTTP"
E2E_CURL=(--cacert "$CERT" -H "$(bearer "$T_ALL")")
start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 || abort "executor starts"
http POST /v1/jobs/io/echo -d hi --cacert "$CERT"
check_error "TLS + tokens: no token, 401" 401 unauthorized
http POST /v1/jobs/io/echo -d hi --cacert "$CERT" -H "$(bearer "$T_IO")"
check_eq "TLS + tokens: the io token, 200" "200 hi" "$HTTP_STATUS $(cat "$HTTP_BODY")"
http GET /v1/stats --cacert "$CERT" -H "$(bearer "$T_IO")"
check_eq "TLS + tokens: /v1/stats with a token" 1 "$(json "$HTTP_BODY" .http_unauthorized)"

finish
