#!/usr/bin/env bash
# Back-pressure: a full queue answers 503 queue_full with Retry-After at
# once, the gateway's own routes stay fast meanwhile, and connections past
# --max-connections get 503 too_many_connections instead of a reset.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway --max-waiting 5 --queue 'small:max-waiting=2' || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:1 --queue small=threads:1 ||
    abort "executor starts"

# 50 concurrent 300 ms jobs on one slot with --max-waiting 5.
seq 1 50 | xargs -P 50 -I{} curl -s -m 20 -o /dev/null -D "$E2E_TMP/h{}" \
    -w '%{http_code}\n' -X POST --data-binary 300 "$GW_URL/v1/jobs/io/sleep" \
    >"$E2E_TMP/codes" &
load=$!
PIDS+=("$load")
check "the queue fills: 1 running, 5 waiting" wait_until 5 queue_is io waiting 5
worst=0
for _ in 1 2 3 4 5; do
    t=$(curl -s -o /dev/null -w '%{time_total}' "$GW_URL/healthz")
    ms=$(python3 -c "print(int(float('$t') * 1000))")
    [ "$ms" -gt "$worst" ] && worst=$ms
done
check "/healthz answers in under 10 ms while io is saturated (worst $worst ms)" test "$worst" -lt 10
t=$(curl -s -o /dev/null -w '%{time_total}' "$GW_URL/v1/queues")
check "/v1/queues stays fast too ($t s)" python3 -c "import sys; sys.exit(float('$t') >= 0.01)"
wait "$load"
check_eq "6 jobs were served" 6 "$(grep -c '^200$' "$E2E_TMP/codes")"
check_eq "44 were refused 503" 44 "$(grep -c '^503$' "$E2E_TMP/codes")"
check_eq "every request got an answer" 50 "$(wc -l <"$E2E_TMP/codes")"
with_retry=$(grep -li '^Retry-After: [0-9]' "$E2E_TMP"/h* | wc -l)
check_eq "every 503 carries Retry-After" 44 "$with_retry"
check_eq "the queue counts 44 rejected" 44 "$(queue_field io rejected)"

# The per-queue override: small holds 2 waiting.
seq 1 10 | xargs -P 10 -I{} curl -s -m 20 -o /dev/null -w '%{http_code}\n' \
    -X POST --data-binary 200 "$GW_URL/v1/jobs/small/sleep" >"$E2E_TMP/small"
check_eq "--queue small:max-waiting=2 serves 3 of 10" 3 "$(grep -c '^200$' "$E2E_TMP/small")"
http POST /v1/jobs/io/sleep --data-binary 10
check_eq "after the burst, io serves again" 200 "$HTTP_STATUS"

# Connections past --max-connections are answered 503, not reset.
start_gateway --max-connections 5 || abort "gateway 2 starts"
seq 1 15 | xargs -P 15 -I{} sh -c \
    "curl -s -m 10 -o /dev/null -w '%{http_code}\n' '$GW_URL/v1/delay?ms=500'; echo \"exit \$?\"" \
    >"$E2E_TMP/conns"
check_eq "no connection was reset or refused (every curl exit 0)" 15 "$(grep -c '^exit 0$' "$E2E_TMP/conns")"
served=$(grep -c '^200$' "$E2E_TMP/conns")
refused=$(grep -c '^503$' "$E2E_TMP/conns")
check_eq "every request got 200 or 503" 15 "$((served + refused))"
check "some were over the limit (503: $refused)" test "$refused" -ge 1
check "up to the limit were served (200: $served)" test "$served" -ge 5
check "the gateway serves again once they closed" wait_until 2 sh -c "curl -s '$GW_URL/healthz' | grep -q ok"

finish
