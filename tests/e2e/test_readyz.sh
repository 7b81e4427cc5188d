#!/usr/bin/env bash
# GET /readyz: 503 naming every queue a --queue or --route names that has
# no live executor, and 200 once each has one; an executor draining
# (SIGTERM with a job running) or killed makes it 503 again; a gateway
# with nothing configured wants any executor; a draining gateway answers
# 503 "gateway draining" on a connection it already had; with
# --http-token-file it stays open but names queues to a known token only.
# /healthz answers 200 throughout; the changes are logged and counted.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

# ready_is STATUS JQ-FILTER [CURL ARGS...]: /readyz answers STATUS and
# FILTER holds over its body (for wait_until: one curl and one jq a poll).
ready_is() {
    local status=$1 filter=$2 f="$E2E_TMP/readyz.json" got
    shift 2
    got=$(curl -s -m 5 -o "$f" -w '%{http_code}' "$@" "$GW_URL/readyz") || return 1
    [ "$got" = "$status" ] && jq -e "$filter" "$f" >/dev/null 2>&1
}
why_is() { # why_is JSON-ARRAY [CURL ARGS...]: 503 with exactly these reasons
    ready_is 503 ".ready == false and .why == $1" "${@:2}"
}
healthz_ok() {
    [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$GW_URL/healthz")" = 200 ]
}

# ---- two queues: one from --queue, one from --route --------------------
start_gateway --queue a --route 'GET /b=job:b/echo:x' || abort "gateway starts"
gw=$GW_PID
check "503 naming both queues" \
    why_is '["queue '"'a'"': no executor","queue '"'b'"': no executor"]'
check "/healthz is 200 meanwhile" healthz_ok
check "its log says why at start" \
    grep -q "event=not_ready reasons=2 why=\"queue 'a': no executor; queue 'b': no executor\"" \
    "$GW_LOG"

start_executor --connect "$GW_EXECUTORS" --queue a=threads:1 || abort "executor a starts"
ex_a=$EX_PID
check "one executor for a: 503 naming b only" \
    wait_until 10 why_is '["queue '"'b'"': no executor"]'
# An executor of a queue nobody configured does not make b served.
start_executor --connect "$GW_EXECUTORS" --queue other=threads:1 || abort "executor other starts"
check "an executor of another queue changes nothing" why_is '["queue '"'b'"': no executor"]'

start_executor --connect "$GW_EXECUTORS" --queue b=threads:1 || abort "executor b starts"
ex_b=$EX_PID
check "a second executor, for b: 200 {\"ready\":true}" \
    wait_until 10 ready_is 200 '. == {"ready": true}'
check "/healthz is 200" healthz_ok
check "the log says ready" wait_until 5 grep -q 'event=ready queues=2' "$GW_LOG"

# b's executor drains (SIGTERM with a job running: it finishes the job
# first), then is killed: 503 each time, and why says which.
http_bg long POST /v1/jobs/b/sleep --data-binary 60000
check "b's job runs" wait_until 10 queue_is b busy 1
kill -TERM "$ex_b"
check "b's executor draining: 503 'every executor draining'" \
    wait_until 10 why_is '["queue '"'b'"': every executor draining"]'
check "the flip to not ready is logged as a warning" \
    wait_until 5 grep -q "WARN gateway event=not_ready reasons=1 why=\"queue 'b': every executor draining\"" "$GW_LOG"
check "/healthz is 200 while it drains" healthz_ok
{ kill -KILL "$ex_b" && wait "$ex_b"; } 2>/dev/null
check "b's executor killed: 503 'no executor'" \
    wait_until 10 why_is '["queue '"'b'"': no executor"]'
http_wait long 30
check_error "its job is answered executor_lost" 502 executor_lost
check "/healthz is 200" healthz_ok
check_eq "readiness_changes counts the two flips" 2 "$(stat_field readiness_changes)"
stop_process "$ex_a"
stop_process "$gw"
check_eq "gateway 1 exits 0" 0 "$STOP_RC"

# ---- nothing configured: any executor ----------------------------------
start_gateway || abort "gateway 2 starts"
gw=$GW_PID
check "no queue configured, no executor: 503 'no executor connected'" \
    why_is '["no executor connected"]'
start_executor --connect "$GW_EXECUTORS" --queue mine=threads:2 || abort "executor 2 starts"
ex=$EX_PID
check "any executor: 200" wait_until 10 ready_is 200 '.ready == true'

# A draining gateway closes its listener; a connection it had gets 503
# "gateway draining" from /readyz (other paths get no_executor).
http_bg held POST /v1/jobs/mine/sleep --data-binary 60000
check "a job holds the drain open" wait_until 10 queue_is mine busy 1
exec 7<>"/dev/tcp/127.0.0.1/${GW_HTTP##*:}" || abort "a connection to gateway 2"
# read_answer FD: one HTTP/1.1 answer on FD; sets ANS_STATUS and ANS_BODY.
read_answer() {
    local line len=0
    ANS_STATUS="" ANS_BODY=""
    IFS=' ' read -r -t 5 _ ANS_STATUS _ <&"$1" || return 1
    while IFS= read -r -t 5 line <&"$1"; do
        line=${line%$'\r'}
        [ -z "$line" ] && break
        case "${line,,}" in content-length:*) len=${line#*:} len=${len// /} ;; esac
    done
    [ "$len" -eq 0 ] || IFS= read -r -t 5 -N "$len" ANS_BODY <&"$1"
}
printf 'GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n' >&7
read_answer 7
check_eq "on a kept-alive connection, /readyz is 200 before the signal" 200 "$ANS_STATUS"
kill -TERM "$gw"
check "the gateway drains" wait_until 10 grep -q 'action=drain' "$GW_LOG"
printf 'GET /readyz HTTP/1.1\r\nHost: t\r\n\r\n' >&7
read_answer 7
check_eq "draining: /readyz on that connection is 503" 503 "$ANS_STATUS"
check_eq "... saying 'gateway draining'" '["gateway draining"]' "$(jq -c .why <<<"$ANS_BODY")"
check "the flip is logged" grep -q 'event=not_ready reasons=1 why="gateway draining"' "$GW_LOG"
exec 7<&- 7>&-
kill -TERM "$gw" # a second signal stops at once
check "gateway 2 stops" wait_until 10 all_gone "$gw"
stop_process "$ex"

# ---- with --http-token-file: open, but queue names need a token --------
TOKEN=$(openssl rand -hex 24)
echo "$TOKEN" >"$E2E_TMP/tokens"
chmod 600 "$E2E_TMP/tokens"
start_gateway --http-token-file "$E2E_TMP/tokens" --queue a --queue b || abort "gateway 3 starts"
check "without a token: 503, how many queues but not which" \
    why_is '["2 queues without a live executor (a bearer token shows which)"]'
check "with a wrong token: the same (no 401)" \
    why_is '["2 queues without a live executor (a bearer token shows which)"]' \
    -H "Authorization: Bearer $(openssl rand -hex 24)"
check "with a known token: the queues named" \
    why_is '["queue '"'a'"': no executor","queue '"'b'"': no executor"]' \
    -H "Authorization: Bearer $TOKEN"
http GET /v1/queues
check_eq "/v1/queues still needs the token" 401 "$HTTP_STATUS"
E2E_CURL=(-H "Authorization: Bearer $TOKEN")
check_eq "a /readyz without a token is not counted as a 401 (only /v1/queues is)" 1 \
    "$(stat_field http_unauthorized)"
start_executor --connect "$GW_EXECUTORS" --queue a=threads:1 --queue b=threads:1 ||
    abort "executor 3 starts"
check "served: 200 without a token too" wait_until 10 ready_is 200 '.ready == true'

finish
