#!/usr/bin/env bash
# Back-pressure: a full queue answers 503 queue_full with Retry-After at
# once, the gateway's own routes stay fast meanwhile, and connections past
# --max-connections get 503 too_many_connections instead of a reset.
#
# The slot is held by a job that cannot end while we look (30 s, ended by
# its caller hanging up), so "full" does not depend on how fast requests
# arrive; load comes from one curl process; what is asserted are invariants
# (served + refused = sent, refused = the queue's rejected counter, every 503
# has Retry-After).
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

start_gateway --max-waiting 5 --queue 'small:max-waiting=2' || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:1 --queue small=threads:1 ||
    abort "executor starts"

# fill QUEUE WAITING: holds QUEUE's one slot with a 30 s job (its curl's pid
# in BLOCKER) and queues WAITING short jobs behind it (load NAME fill_QUEUE).
fill() {
    curl -s -m 60 -o /dev/null -X POST --data-binary 30000 "$GW_URL/v1/jobs/$1/sleep" &
    BLOCKER=$!
    PIDS+=("$BLOCKER")
    check "$1: a 30 s job holds the slot" wait_until 10 queue_is "$1" busy 1
    load_bg "fill_$1" "$2" "$2" POST "/v1/jobs/$1/sleep?timeout_ms=60000" --data-binary 10
    check "$1: $2 jobs wait behind it" wait_until 10 queue_is "$1" waiting "$2"
}

# refused NAME: how many answers of load NAME are 503 with Retry-After and
# the JSON error queue_full.
refused() {
    local f n=0
    for f in "$E2E_TMP/$1"/*.code; do
        [ "$(cat "$f")" = 503 ] || continue
        grep -qi '^Retry-After: [0-9]' "${f%.code}.headers" || continue
        [ "$(json "${f%.code}.body" .error)" = queue_full ] || continue
        n=$((n + 1))
    done
    echo "$n"
}

# ---- io: 1 running, --max-waiting 5, then 44 more from one process --------
fill io 5
load_bg burst 44 44 POST /v1/jobs/io/sleep --data-binary 10
check "the burst is answered at once (the slot is held for 30 s)" load_wait 20
check_eq "all 44 are refused: 503 queue_full with Retry-After" 44 "$(refused burst)"
check_eq "refused = the queue's rejected counter" 44 "$(queue_field io rejected)"
check_eq "io still holds 5 waiting" 5 "$(queue_field io waiting)"

# The gateway's own routes stay fast while io is saturated: curl's
# time_total, 11 requests (typically under 1 ms each). The median is held
# to 50 ms and every answer to 1 s: far above what the gateway takes, far
# below the 30 s a route stuck behind the queue would, and not at the mercy
# of one slow moment on a shared machine.
times=()
for _ in $(seq 11); do
    times+=("$(to_ms "$(curl -s -m 5 -o /dev/null -w '%{time_total}' "$GW_URL/healthz")")")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 6p)
worst=$(printf '%s\n' "${times[@]}" | sort -n | tail -n 1)
check "/healthz answers fast while io is saturated (median $median ms < 50)" test "$median" -lt 50
check "every /healthz answer in under 1 s (worst $worst ms)" test "$worst" -lt 1000
ms=$(to_ms "$(curl -s -m 5 -o /dev/null -w '%{time_total}' "$GW_URL/v1/queues")")
check "/v1/queues stays fast too ($ms ms < 1000)" test "$ms" -lt 1000

# The blocker's caller hangs up: the 5 waiting jobs run.
kill "$BLOCKER"
check "the waiting jobs finish" load_wait 30 fill_io
check_eq "the 5 waiting jobs are served" 5 "$(load_count fill_io code 200)"
check_eq "served + refused + hung up = sent (5 + 44 + 1 = 50)" 50 \
    $(($(load_count fill_io code 200) + $(refused burst) + 1))
check_eq "io completed 5" 5 "$(queue_field io completed)"

# ---- the per-queue override: small holds 2 waiting ----------------------
fill small 2
load_bg small_burst 7 7 POST /v1/jobs/small/sleep --data-binary 10
check "the small burst is answered at once" load_wait 20
check_eq "--queue small:max-waiting=2 refuses the other 7" 7 "$(refused small_burst)"
check_eq "small's rejected counter agrees" 7 "$(queue_field small rejected)"
kill "$BLOCKER"
check "small's waiting jobs finish" load_wait 30 fill_small
check_eq "small serves its 2 waiting" 2 "$(load_count fill_small code 200)"
http POST /v1/jobs/io/sleep --data-binary 10
check_eq "after the bursts, io serves again" 200 "$HTTP_STATUS"

# ---- connections past --max-connections are answered 503, not reset -------
# 15 connections from one curl process, each a 3 s delay: they are all open
# at once whatever the machine's pace.
start_gateway --max-connections 5 || abort "gateway 2 starts"
load_bg conns 15 15 GET '/v1/delay?ms=3000'
check "the 15 requests finish" load_wait 30
check_eq "no connection was reset or refused (curl exit 0 for each)" 15 "$(load_count conns rc 0)"
served=$(load_count conns code 200)
over=$(load_count conns code 503)
check_eq "every request got 200 or 503 (200: $served, 503: $over)" 15 "$((served + over))"
check "some were over the limit (503: $over)" test "$over" -ge 1
check "up to the limit were served (200: $served)" test "$served" -ge 5
bad=0
for f in "$E2E_TMP"/conns/*.code; do
    [ "$(cat "$f")" = 503 ] || continue
    [ "$(json "${f%.code}.body" .error)" = too_many_connections ] || bad=$((bad + 1))
    grep -qi '^Retry-After: [0-9]' "${f%.code}.headers" || bad=$((bad + 1))
done
check_eq "every 503 is too_many_connections with Retry-After" 0 "$bad"
check "the gateway serves again once they closed" \
    wait_until 10 sh -c "curl -s '$GW_URL/healthz' | grep -q ok"

finish
