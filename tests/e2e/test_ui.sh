#!/usr/bin/env bash
# The dashboard (GET /ui) in a real browser: headless Chromium driven by
# chromedriver through its WebDriver HTTP API, with curl and jq (no
# selenium). The gateway needs a token; the page gets it from /ui#token=...
# and sends it in the Authorization header. The page loads and goes live,
# shows each queue of /v1/queues by name and the executor; under a load
# from one curl process its numbers change between two reads of the DOM and
# agree with the server's counters (busy as the server says, completed
# between the server's counts before and after, a throughput above 0); a
# job that times out appears in the failures list; no script error or
# Content-Security-Policy violation in the browser's log. Then without a
# token the page asks for one, and the form connects it. Saves a screenshot
# to build/ui/dashboard.png (beside the binaries' build). Skips when
# chromium or chromedriver is missing (scripts/deps.sh installs both).
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
DRIVER=$(command -v chromedriver || true)
[ -n "$CHROMIUM" ] && [ -n "$DRIVER" ] ||
    skip "chromium and chromedriver are not installed (scripts/deps.sh: chromium, chromium-driver)"

SHOT_DIR=$(realpath -m "$OFFLOAD_BIN/../ui")
SHOT="$SHOT_DIR/dashboard.png"
mkdir -p "$SHOT_DIR"

TOKEN=$(openssl rand -hex 24)
echo "$TOKEN" >"$E2E_TMP/tokens"
chmod 600 "$E2E_TMP/tokens"
E2E_CURL=(-H "Authorization: Bearer $TOKEN")

start_gateway --http-token-file "$E2E_TMP/tokens" --queue cpu || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:4 --queue cpu=processes:1 \
    --id ui-exec || abort "executor starts"
wait_until 10 queue_is io capacity 4 || abort "io is served"

# ---- WebDriver ------------------------------------------------------------

# chromedriver picks a free port and says which. It takes a port free on
# ::1, then binds 127.0.0.1 to the same number, which another process may
# hold ("IPv4 port not available. Exiting..."): then it is started again.
driver_up() { grep -q 'started successfully on port' "$E2E_TMP/chromedriver.out"; }
driver_done() { driver_up || ! kill -0 "$1" 2>/dev/null; }
for attempt in 1 2 3 4 5; do
    "$DRIVER" --port=0 >"$E2E_TMP/chromedriver.out" 2>&1 &
    dp=$!
    PIDS+=("$dp")
    wait_until 30 driver_done "$dp"
    driver_up && break
    echo "  info  chromedriver attempt $attempt: $(tail -n 1 "$E2E_TMP/chromedriver.out")"
done
driver_up || abort "chromedriver starts: $(tail -c 300 "$E2E_TMP/chromedriver.out")"
WD="http://127.0.0.1:$(sed -n 's/.*started successfully on port \([0-9]*\).*/\1/p' \
    "$E2E_TMP/chromedriver.out")"
SESSION=""

# wd METHOD PATH [JSON]: one WebDriver command; its answer in WD_OUT (a
# file). Chromium starts slowly on a small VM: a generous deadline.
WD_OUT="$E2E_TMP/wd.json"
wd() {
    curl -s -m 90 -X "$1" -H 'Content-Type: application/json' ${3:+-d "$3"} \
        -o "$WD_OUT" "$WD$2"
}
# js SCRIPT: runs SCRIPT (a function body) in the page, prints its JSON value.
js() {
    wd POST "/session/$SESSION/execute/sync" "$(jq -nc --arg s "$1" '{script: $s, args: []}')" &&
        jq -c .value "$WD_OUT"
}
quit_browser() {
    [ -n "$SESSION" ] && curl -s -m 20 -X DELETE "$WD/session/$SESSION" >/dev/null
    SESSION=""
}
trap 'quit_browser; cleanup' EXIT

caps=$(jq -nc --arg bin "$CHROMIUM" --arg dir "$E2E_TMP/chrome" '{capabilities: {alwaysMatch: {
    browserName: "chrome", "goog:loggingPrefs": {browser: "ALL"},
    "goog:chromeOptions": {binary: $bin, args: ["--headless", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
        "--window-size=1280,1300", ("--user-data-dir=" + $dir)]}}}}')
t0=$(now_ms)
wd POST /session "$caps"
SESSION=$(jq -r '.value.sessionId // empty' "$WD_OUT")
[ -n "$SESSION" ] || abort "a Chromium session starts: $(head -c 400 "$WD_OUT")"
browser_pid=$(jq -r '.value.capabilities["goog:processID"] // empty' "$WD_OUT")
[ -n "$browser_pid" ] && PIDS+=("$browser_pid")
echo "  info  Chromium session started in $(($(now_ms) - t0)) ms"

# The page's state, from its DOM: each queue card's fields by name, the
# tiles, the executors' and the failures' rows, the connection badge.
STATE_JS='const q = {};
for (const c of document.querySelectorAll("#queues .queue")) {
  const f = {};
  for (const d of c.querySelectorAll("[data-k]")) f[d.dataset.k] = d.textContent;
  q[c.dataset.queue] = f;
}
return {snapshots: +document.body.dataset.snapshots,
  conn: document.getElementById("conn").dataset.state,
  tput: document.getElementById("tput").textContent,
  queues: q,
  executors: [...document.querySelectorAll("#executors tbody tr[data-exec]")].map((r) => r.dataset.exec),
  failures: [...document.querySelectorAll("#failures tbody tr[data-job]")].map((r) => [r.dataset.job, r.textContent]),
  tokenForm: !document.getElementById("token-form").hidden,
  hash: location.hash};'
# dom FILE: the state into FILE.
dom() {
    js "$STATE_JS" >"$1"
}
# dom_num FILE QUEUE FIELD: a queue's number, thousands separators dropped.
dom_num() {
    jq -r --arg q "$2" --arg f "$3" '.queues[$q][$f] // "" | gsub(","; "")' "$1"
}
DOM="$E2E_TMP/dom.json"
snapshots_ge() {
    dom "$DOM" && [ "$(jq -r .snapshots "$DOM")" -ge "$1" ]
}

# ---- the page loads, with the token from its address ---------------------------

wd POST "/session/$SESSION/url" "$(jq -nc --arg u "$GW_URL/ui#token=$TOKEN" '{url: $u}')"
check "the page loads and takes two snapshots" wait_until 60 snapshots_ge 2
check_eq "  it is live" live "$(jq -r .conn "$DOM")"
check_eq "  the token left the address bar, no token form" "false" \
    "$(jq -r '.hash != "" or .tokenForm' "$DOM")"
want=$(curl -s "${E2E_CURL[@]}" "$GW_URL/v1/queues" | jq -c '[.queues[].name] | sort')
check_eq "it shows each queue by name" "$want" "$(jq -c '.queues | keys' "$DOM")"
check_eq "  with its capacity" "4 1" "$(dom_num "$DOM" io capacity) $(dom_num "$DOM" cpu capacity)"
check_eq "the executor appears" '["ui-exec"]' "$(jq -c .executors "$DOM")"

# ---- under load ------------------------------------------------------------------

# One ab process, 12 at a time on 4 slots, 250 ms each: io stays busy (4)
# with some 8 jobs waiting (a slot that frees takes a waiting job in the
# same loop turn) for up to 90 s, far longer than the reads below; it is
# killed once they are done.
printf 250 >"$E2E_TMP/250"
ab -q -t 90 -n 1000000 -c 12 -H "Authorization: Bearer $TOKEN" -p "$E2E_TMP/250" \
    -T text/plain "$GW_URL/v1/jobs/io/sleep" >"$E2E_TMP/ab.out" 2>&1 &
AB_PID=$!
PIDS+=("$AB_PID")
check "the load runs: io busy 4, jobs waiting (server)" wait_until 20 queue_ge io waiting 4
n=$(jq -r .snapshots "$DOM")
wait_until 20 snapshots_ge $((n + 3))
cp "$DOM" "$E2E_TMP/dom1.json"
n=$(jq -r .snapshots "$DOM")
wait_until 20 snapshots_ge $((n + 3))
s1=$(queue_field io completed)
dom "$E2E_TMP/dom2.json"
s2=$(queue_field io completed)
server_busy=$(queue_field io busy)
c1=$(dom_num "$E2E_TMP/dom1.json" io completed)
c2=$(dom_num "$E2E_TMP/dom2.json" io completed)
echo "  info  DOM io completed $c1 then $c2; server $s1 and $s2 around the second read"
check "under load the numbers change: completed grows ($c1 -> $c2)" test "${c2:-0}" -gt "${c1:-0}"
check "  and agree with the server's: at most its count after the read, within 100 of it" \
    test "${c2:-0}" -le "$s2" -a $((s2 - ${c2:-0})) -lt 100
check_eq "  busy 4 as the server says" "4 4" "$server_busy $(dom_num "$E2E_TMP/dom2.json" io busy)"
check "  jobs waiting ($(dom_num "$E2E_TMP/dom2.json" io waiting))" \
    test "$(dom_num "$E2E_TMP/dom2.json" io waiting)" -gt 0
check "  a throughput above 0 (io $(dom_num "$E2E_TMP/dom2.json" io tput) jobs/s, all $(jq -r .tput "$E2E_TMP/dom2.json"))" \
    test "$(dom_num "$E2E_TMP/dom2.json" io tput | tr -d .)" -gt 0
check_eq "  cpu stayed idle" 0 "$(dom_num "$E2E_TMP/dom2.json" cpu completed)"

# ---- a failure ---------------------------------------------------------------------

http POST '/v1/jobs/io/sleep?timeout_ms=100' "${E2E_CURL[@]}" --data-binary 5000
check_error "a job past its deadline: 504 timeout" 504 timeout
failed=$(json "$HTTP_BODY" .job_id)
has_failure() {
    dom "$DOM" && jq -e --arg id "$1" 'any(.failures[]; .[0] == $id)' "$DOM" >/dev/null
}
check "it appears in the failures list" wait_until 20 has_failure "$failed"
# jq_true FILTER FILE [JQ ARGS...]: the filter holds on the JSON in FILE.
jq_true() {
    jq -e "${@:3}" "$1" "$2" >/dev/null
}
check "  with its queue, function and error" jq_true \
    'any(.failures[]; .[0] == $id and (.[1] | test("io") and test("sleep") and test("timeout")))' \
    "$DOM" --arg id "$failed"

wd GET "/session/$SESSION/screenshot" && jq -r .value "$WD_OUT" | base64 -d >"$SHOT"
check "a screenshot is saved: $SHOT" test "$(head -c 4 "$SHOT" | od -An -c | tr -d ' ')" = '211PNG'

# The browser's log: no script error, no Content-Security-Policy violation.
BROWSER_LOG=0
if wd POST "/session/$SESSION/se/log" '{"type":"browser"}' && jq -e '.value | arrays' "$WD_OUT" >/dev/null; then
    BROWSER_LOG=1
    check_eq "no error in the browser's log" "" \
        "$(jq -r '.value[] | select(.level == "SEVERE" or (.message | test("Content Security Policy"))) | .message' "$WD_OUT")"
else
    echo "  info  chromedriver gives no browser log: not checked"
fi
kill "$AB_PID" 2>/dev/null
check "the load ends: io idle again" wait_until 30 queue_is io busy 0

# ---- fields other parts of the gateway add ---------------------------------------

# Latency percentiles per queue and pools per executor (GET /v1/queues's
# wait_us, run_us and executors[].pools): a snapshot that has them and one
# that has not, drawn by the page's own renderer (the next live snapshot
# replaces them).
FIELDS_JS='const q = (wait, run) => Object.assign({name: "io", kind: "threads", capacity: 4,
  busy: 1, waiting: 0, executors: 1, submitted: 10, completed: 9, failed: 1, timeouts: 0,
  rejected: 0, max_payload: 1048576}, wait ? {wait_us: wait, run_us: run} : {});
const snap = (all) => ({t: Date.now(), stats: {id: "synthetic"}, failures: [],
  queues: [all ? q({p50: 850, p90: 12000, p99: 2500000}, {p50: 250000, p90: 300000, p99: 1200000})
               : q(null, null)],
  executors: [{id: "pool-exec", queues: ["io"], state: "draining", last_seen_ms: 120,
    pools: all ? [{queue: "io", kind: "processes", size: 4, alive: 3, busy: 1, respawns: 2,
      kills: {deadline: 1, cancel: 0, memory: 0, recycle: 3}, rss_bytes: 10485760}] : []}]});
const read = () => {
  const card = document.querySelector("#queues .queue[data-queue=io]");
  const f = (k) => card.querySelector("[data-k=" + k + "]").textContent;
  const row = document.querySelector("#executors tbody tr[data-exec=pool-exec]");
  return {wait: [f("wait_p50"), f("wait_p90"), f("wait_p99")], run: [f("run_p50"), f("run_p99")],
    state: row.children[1].textContent, pools: row.children[4].textContent,
    cells: [...row.querySelectorAll("table.pools td")].map((c) => c.textContent)};
};
window.offloadDashboard.render(snap(true));
const present = read();
window.offloadDashboard.render(snap(false));
return {present: present, absent: read()};'
js "$FIELDS_JS" >"$E2E_TMP/fields.json"
check_eq "latency percentiles are shown when the gateway sends them" \
    "850 µs|12.0 ms|2.50 s|250.0 ms|1.20 s" \
    "$(jq -r '.present | .wait + .run | join("|")' "$E2E_TMP/fields.json")"
check_eq "  and pools: queue, kind, size, alive, busy, respawns, kills, rss" \
    "io|processes|4|3|1|2|4|10.0 MiB|draining" \
    "$(jq -r '.present | .cells + [.state] | join("|")' "$E2E_TMP/fields.json")"
check_eq "  absent: – for each, and no pool stats yet" "–|–|–|–|–|no pool stats yet" \
    "$(jq -r '.absent | .wait + .run + [.pools] | join("|")' "$E2E_TMP/fields.json")"

# ---- no token: the page asks for one --------------------------------------------

js 'sessionStorage.clear(); return 1;' >/dev/null
wd POST "/session/$SESSION/url" "$(jq -nc --arg u "$GW_URL/ui" '{url: $u}')"
asks_token() {
    dom "$DOM" && [ "$(jq -r '"\(.conn) \(.tokenForm)"' "$DOM")" = "token true" ]
}
check "without a token the page asks for one" wait_until 30 asks_token
wd POST "/session/$SESSION/element" '{"using": "css selector", "value": "#token"}'
field=$(jq -r '.value | to_entries[0].value' "$WD_OUT")
wd POST "/session/$SESSION/element/$field/value" "$(jq -nc --arg t "$TOKEN" '{text: $t}')"
wd POST "/session/$SESSION/element" '{"using": "css selector", "value": "#token-form button"}'
wd POST "/session/$SESSION/element/$(jq -r '.value | to_entries[0].value' "$WD_OUT")/click" '{}'
live_again() {
    dom "$DOM" && [ "$(jq -r '"\(.conn) \(.tokenForm) \(.snapshots > 0)"' "$DOM")" = "live false true" ]
}
check "the token form connects it" wait_until 30 live_again
check "the 401 was counted on the gateway" stat_ge http_unauthorized 1
if [ "$BROWSER_LOG" = 1 ]; then
    wd POST "/session/$SESSION/se/log" '{"type":"browser"}'
    check "  the browser's log has it (so the check for errors above can fail)" jq_true \
        'any(.value[]; .level == "SEVERE" and (.message | test("/v1/events.* 401")))' "$WD_OUT"
fi

finish
