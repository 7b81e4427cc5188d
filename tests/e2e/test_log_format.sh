#!/usr/bin/env bash
# --log-format: a gateway and executors started with json (one by the flag,
# one by OFFLOAD_LOG_FORMAT) write only lines that each parse as a JSON
# object with ts, level and component, whatever the events (start,
# registration, jobs, a drain, a lost executor, readiness, stop); with
# logfmt, only lines that parse as logfmt; text stays the default; a bad
# value stops the program with a clear error.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

# check_lines FORMAT FILE...: every line of every FILE parses in FORMAT,
# with ts, level and component; prints the number of lines checked and the
# events seen, or the first bad line. One interpreter for all the files.
check_lines() {
    /usr/bin/python3 - "$@" <<'EOF'
import json, re, sys
fmt, files = sys.argv[1], sys.argv[2:]
pair = re.compile(r'([A-Za-z0-9_.-]+)=("(?:[^"\\]|\\.)*"|[^ "=\\]+)(?: |$)')
def logfmt(line):
    fields, i = {}, 0
    while i < len(line):
        m = pair.match(line, i)
        if not m:
            raise ValueError("not logfmt at column %d" % i)
        k, v = m.group(1), m.group(2)
        fields[k] = json.loads(v) if v.startswith('"') else v
        i = m.end()
    return fields
n, events = 0, set()
for name in files:
    with open(name, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8").rstrip("\n")
            try:
                o = json.loads(line) if fmt == "json" else logfmt(line)
                assert isinstance(o, dict), "not an object"
                for k in ("ts", "level", "component"):
                    assert isinstance(o.get(k), str), "no " + k
                assert o["level"] in ("error", "warn", "info", "debug"), o["level"]
                assert all(isinstance(v, str) for v in o.values()), "a value not a string"
            except Exception as e:
                print("%s: bad line (%s): %r" % (name, e, line))
                sys.exit(1)
            n += 1
            events.add(o.get("component", "") + ":" + o.get("event", ""))
print(n, " ".join(sorted(events)))
EOF
}

# ---- json ---------------------------------------------------------------
start_gateway --log-format json --queue io --queue gone || abort "gateway (json) starts"
gw=$GW_PID
gw_log=$GW_LOG
OFFLOAD_LOG_FORMAT=json start_executor --connect "$GW_EXECUTORS" --queue io=threads:2 ||
    abort "executor (OFFLOAD_LOG_FORMAT=json) starts"
ex1=$EX_PID
ex1_log=$EX_LOG
start_executor --log-format json --connect "$GW_EXECUTORS" --queue gone=threads:1 \
    --heartbeat-ms 100 || abort "executor 2 (json) starts"
ex2=$EX_PID
ex2_log=$EX_LOG
http POST /v1/jobs/io/echo --data-binary 'hello "world"'
check_eq "a job runs" 200 "$HTTP_STATUS"
http GET /readyz
check_eq "ready" 200 "$HTTP_STATUS"
http POST /v1/jobs/io/nope
check_error "an unknown function" 404 unknown_function
# A lost executor: a line with a quoted reason; then not ready.
kill -STOP "$ex2"
check "the stopped executor is declared lost" \
    wait_until 10 grep -q '"event":"executor_lost"' "$gw_log"
{ kill -KILL "$ex2" && wait "$ex2"; } 2>/dev/null
check "readiness changes are logged" wait_until 5 grep -q '"event":"not_ready"' "$gw_log"
stop_process "$ex1"
stop_process "$gw"
check_eq "the gateway stops (0)" 0 "$STOP_RC"
if out=$(check_lines json "$gw_log" "$ex1_log" "$ex2_log"); then
    pass "every json line parses: $(cut -d' ' -f1 <<<"$out") lines"
else
    fail "every json line parses" "$out"
fi
for ev in gateway:listening gateway:executor_registered gateway:executor_lost gateway:not_ready \
    gateway:ready gateway:stopped executor:started executor:registered executor:stopped; do
    check "json has event $ev" grep -qw -- "$ev" <<<"$out"
done
check "a quoted value is decoded (reason=\"silent for N ms\")" \
    grep -qE '"reason":"silent for [0-9]+ ms"' "$gw_log"
check "numbers stay strings" grep -q '"max_payload":"1048576"' "$gw_log"

# ---- logfmt -------------------------------------------------------------
start_gateway --log-format logfmt --queue io || abort "gateway (logfmt) starts"
gw=$GW_PID
start_executor --log-format logfmt --connect "$GW_EXECUTORS" --queue io=threads:1 ||
    abort "executor (logfmt) starts"
http POST /v1/jobs/io/echo --data-binary x
check_eq "a job runs" 200 "$HTTP_STATUS"
stop_process "$EX_PID"
stop_process "$GW_PID"
if out=$(check_lines logfmt "$GW_LOG" "$EX_LOG"); then
    pass "every logfmt line parses: $(cut -d' ' -f1 <<<"$out") lines"
else
    fail "every logfmt line parses" "$out"
fi
check "logfmt quotes what needs it" \
    grep -q 'reason="goodbye: drained"' "$GW_LOG"
check "logfmt lines start with ts= level= component=" \
    grep -qE '^ts=[0-9T:.-]+Z level=info component=gateway event=listening ' "$GW_LOG"

# ---- text, the default, and a bad value -----------------------------------
start_gateway || abort "gateway (text) starts"
check "text is the default" grep -qE '^[0-9T:.-]+Z INFO gateway event=listening ' "$GW_LOG"
stop_process "$GW_PID"
"$GATEWAY" --log-format yaml 2>"$E2E_TMP/bad.err"
check_eq "--log-format yaml: exit 2" 2 "$?"
check "... saying what to use" grep -q "use text, logfmt or json" "$E2E_TMP/bad.err"
OFFLOAD_LOG_FORMAT=xml "$EXECUTOR" 2>"$E2E_TMP/bad.err"
check_eq "OFFLOAD_LOG_FORMAT=xml on the executor: exit 2" 2 "$?"
check "... saying what to use" grep -q "use text, logfmt or json" "$E2E_TMP/bad.err"

finish
