#!/usr/bin/env bash
# W3C Trace Context end to end: a traceparent (and tracestate) sent by an
# HTTP caller, the CLI, liboffload and the Python client reaches the
# function that runs the job -- a C plugin on a thread pool and in the
# executor's own worker processes, a Python worker program -- and comes
# back in the answer (HTTP headers, the Reply). An invalid one is counted
# and a new trace started, as is a missing one; a tracestate over 512
# characters is dropped, counted. The per-job log lines of both processes
# carry the trace_id. A worker program that does not take trace frames
# gets none.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
export PYTHONPATH="$REPO_ROOT/client/python"
CLI="$OFFLOAD_BIN/offload"
TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
TS=rojo=00f067aa0ba902b7,congo=t61rcWkgMzE
TRACE_ID=4bf92f3577b34da6a3ce929d0e0e4736

# A plugin function that answers with the trace context it was given.
cat >"$E2E_TMP/traceplugin.c" <<'C'
#include <stdio.h>
#include "offload_plugin.h"

static int trace(const void *payload, size_t len, offload_reply *reply)
{
    char out[1024];
    const char *tp = offload_traceparent(reply), *ts = offload_tracestate(reply);
    (void)payload;
    (void)len;
    int n = snprintf(out, sizeof(out), "%s %s", *tp ? tp : "-", *ts ? ts : "-");
    offload_reply_set(reply, out, (size_t)n);
    return 0;
}

int offload_plugin_init(offload_registry *reg)
{
    return offload_register(reg, "trace", trace);
}
C
cc -shared -fPIC -I"$REPO_ROOT/executor" "$E2E_TMP/traceplugin.c" -o "$E2E_TMP/traceplugin.so" ||
    abort "the trace plugin builds"

# A worker program of the protocol as it was before trace frames: it
# takes no feature, and fails its job if a frame other than a job comes.
cat >"$E2E_TMP/oldworker.py" <<'PY'
import os, struct, sys
out = os.dup(1)
def frame(t, body):
    os.write(out, struct.pack(">IB", len(body) + 1, ord(t)) + body)
def read(n):
    b = b""
    while len(b) < n:
        c = os.read(0, n - len(b))
        if not c:
            sys.exit(0)
        b += c
    return b
frame("H", b"offload-worker 1\nold\n")
while True:
    body = read(struct.unpack(">I", read(4))[0])
    frame("R", b"plain") if body[:1] == b"J" else frame("E", b"got a %r frame" % body[:1])
PY

start_gateway --log-level debug || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --log-level debug --drain-timeout 0 \
    --plugin "$E2E_TMP/traceplugin.so" --queue io=threads:2 --queue cpu=processes:1 \
    --queue py=processes:1 --command "py=$PY $E2E_DIR/workers/testworker.py" \
    --queue old=processes:1 --command "old=$PY $E2E_TMP/oldworker.py" ||
    abort "executor starts"
wait_until 10 queue_is old executors 1 || abort "the executor's queues are up"

# ---- HTTP: the context reaches each kind of function, and comes back ------
for q in io cpu py; do
    http POST "/v1/jobs/$q/trace" -H "traceparent: $TP" -H "tracestate: $TS"
    check_eq "$q: the function got the caller's traceparent and tracestate" \
        "200 $TP $TS" "$HTTP_STATUS $(cat "$HTTP_BODY")"
    check_eq "$q: the response echoes them" "$TP $TS" "$(header traceparent) $(header tracestate)"
done
check "the gateway logs the job with its trace_id" \
    grep -q "event=job_answered .*queue=py fn=trace code=ok .*trace_id=$TRACE_ID" "$GW_LOG"
check "the executor logs its start and end with the trace_id" eval \
    'grep -q "event=job_start .*fn=trace .*trace_id=$TRACE_ID" "$EX_LOG" &&
     grep -q "event=job_done .*queue=cpu fn=trace code=ok .*trace_id=$TRACE_ID" "$EX_LOG"'

# Several tracestate headers are one list; a later version is kept as its
# version-00 fields.
http POST /v1/jobs/py/trace -H "traceparent: 01-${TP:3:49}-03-future" \
    -H "tracestate: a=1" -H "tracestate: b=2"
check_eq "a version-01 traceparent arrives as its version-00 form, tracestates joined" \
    "$TP a=1,b=2" "$(cat "$HTTP_BODY")"

# ---- invalid or missing: counted, a new trace started ----------------------
invalid0=$(stat_field trace_invalid)
started0=$(stat_field traces_started)
dropped0=$(stat_field tracestate_dropped)
http POST /v1/jobs/py/trace -H "traceparent: ${TP^^}" -H "tracestate: $TS"
got=$(cat "$HTTP_BODY")
new=$(header traceparent)
check "an invalid (uppercase) traceparent: a new valid trace, another trace-id" \
    eval '[[ $new =~ ^00-[0-9a-f]{32}-[0-9a-f]{16}-00$ ]] && [ "${new:3:32}" != "$TRACE_ID" ]'
check_eq "  the function got the new one, and no tracestate" "$new -" "$got"
check_eq "  not an error for the job" 200 "$HTTP_STATUS"
http POST /v1/jobs/io/trace
none=$(header traceparent)
check "no traceparent: the gateway starts a trace, and the function gets it" \
    eval '[ -n "$none" ] && [ "$none" != "$new" ] && [ "$(cat "$HTTP_BODY")" = "$none -" ]'
http POST /v1/jobs/io/trace -H "traceparent: $TP" -H "traceparent: $TP"
check "two traceparent headers: invalid, a new trace" \
    eval '[ "$(header traceparent)" != "$TP" ] && [ -n "$(header traceparent)" ]'
http POST /v1/jobs/io/trace -H "traceparent: $TP" -H "tracestate: $(printf 'k%.0s' $(seq 513))"
check_eq "a tracestate of 513 characters is dropped, the traceparent kept" "$TP -" \
    "$(cat "$HTTP_BODY")"
check_eq "counted: trace_invalid +2, traces_started +3, tracestate_dropped +1" "2 3 1" \
    "$(($(stat_field trace_invalid) - invalid0)) $(($(stat_field traces_started) - started0)) $(($(stat_field tracestate_dropped) - dropped0))"
check "the new trace's trace_id is in the gateway's log" \
    grep -q "event=job_submitted .*queue=py fn=trace .*trace_id=${new:3:32}" "$GW_LOG"

# ---- errors and detached jobs carry it too -------------------------------------
http POST /v1/jobs/io/nosuch -H "traceparent: $TP"
check_eq "a refused job's error answer echoes the traceparent" "404 $TP" \
    "$HTTP_STATUS $(header traceparent)"
http POST '/v1/jobs/py/trace?wait=false' -H "traceparent: $TP" -H "tracestate: $TS"
id=$(json "$HTTP_BODY" .job_id)
check_eq "a detached job's 202 echoes it" "202 $TP" "$HTTP_STATUS $(header traceparent)"
http GET "/v1/jobs/$id/result?wait_ms=10000"
check_eq "  and so does its result, which the function computed with it" "200 $TP $TS $TS" \
    "$HTTP_STATUS $(header traceparent) $(header tracestate) $(cut -d' ' -f2 "$HTTP_BODY")"

# ---- a worker program that takes no trace frames gets none ----------------------
http POST /v1/jobs/old/old -H "traceparent: $TP"
check_eq "a worker without the trace feature runs the job, sent no trace frame" "200 plain" \
    "$HTTP_STATUS $(cat "$HTTP_BODY")"
check "the executor says which workers take trace frames" eval \
    'grep -q "event=worker_started queue=old .*trace=no" "$EX_LOG" &&
     grep -q "event=worker_started queue=py .*trace=yes" "$EX_LOG"'

# ---- the CLI, liboffload and the Python client -----------------------------------
got=$("$CLI" call --gateway "$GW_CLIENTS" --traceparent "$TP" --tracestate "$TS" py trace)
check_eq "offload call --traceparent --tracestate: the function got them" "$TP $TS" "$got"
got=$("$CLI" call --gateway "$GW_CLIENTS" --traceparent "$TP" cpu trace)
check_eq "  through a plugin in a worker process too" "$TP -" "$got"

cat >"$E2E_TMP/traced.c" <<'C'
#include <offload.h>
#include <stdio.h>
#include <string.h>

/* Calls io trace with the context set, then after clearing it: prints
 * what the function got and what the result echoes, one line each. */
int main(int argc, char **argv)
{
    offload_client *c = offload_connect(argv[1]);
    offload_result *r;
    char big[5000];
    if (!c || c->err)
        return 3;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    if (offload_set_trace(c, big, NULL) != -1 || offload_err(c) != OFFLOAD_ERR_ARGS)
        return 4;
    for (int i = 0; i < 2; i++) {
        if (offload_set_trace(c, i ? NULL : argv[2], i ? NULL : argv[3]) < 0 ||
            offload_call(c, "io", "trace", "", 0, NULL, &r) < 0)
            return 5;
        printf("%.*s|%s|%s\n", (int)r->len, (const char *)r->payload,
               r->traceparent ? r->traceparent : "-", r->tracestate ? r->tracestate : "-");
        offload_result_free(r);
    }
    offload_free(c);
    return 0;
}
C
pc_dir="$OFFLOAD_BIN/../lib/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror "$E2E_TMP/traced.c" -o "$E2E_TMP/traced" \
    $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs offload) $SAN_FLAGS ||
    abort "a liboffload program builds"
mapfile -t lines < <("$E2E_TMP/traced" "$GW_CLIENTS" "$TP" "$TS")
check_eq "liboffload: offload_set_trace reaches the function, the result echoes it" \
    "$TP $TS|$TP|$TS" "${lines[0]:-}"
IFS='|' read -r fn_got echoed _ <<<"${lines[1]:-}"
check "  cleared: a trace the gateway started, echoed in the result" \
    eval '[ "$fn_got" = "$echoed -" ] && [ "${echoed:3:32}" != "$TRACE_ID" ] && [ ${#echoed} = 55 ]'

out=$("$PY" - "$GW_CLIENTS" "$TP" "$TS" <<'PY' 2>&1
import asyncio, sys
import offload

ep, tp, ts = sys.argv[1:4]

async def main():
    async with offload.AsyncClient(ep) as c:
        print((await c.call("py", "trace", traceparent=tp, tracestate=ts)).decode())
        job = await c.submit("io", "trace", traceparent=tp)
        print((await c.job(job, wait=10)).result.decode())

asyncio.run(main())
with offload.Client(ep) as c:
    print(c.call("cpu", "trace", traceparent=tp, tracestate=ts).decode())
PY
)
check_eq "Python: AsyncClient.call, submit and Client.call pass the context" \
    "$TP $TS
$TP -
$TP $TS" "$out"

# ---- the worker protocol, alone ----------------------------------------------
# A T frame (traceparent) before the job frame for trace: the answer is
# what the function got; without OFFLOAD_WORKER_FEATURES a worker takes
# no feature.
tframe="\0\0\0\70T$TP"
jframe='\0\0\0\13J\0\0\0\0\5trace'
for side in python c; do
    if [ "$side" = python ]; then
        cmd=("$PY" "$E2E_DIR/workers/testworker.py")
    else
        cmd=("$EXECUTOR" serve-worker --plugin "$E2E_TMP/traceplugin.so")
    fi
    # shellcheck disable=SC2059
    printf "$tframe$jframe" | OFFLOAD_WORKER_FEATURES=trace "${cmd[@]}" >"$E2E_TMP/$side.out"
    check_eq "$side worker offered trace: takes it in its hello, answers with the T frame's" \
        "offload-worker 1 trace|$TP -" \
        "$(tail -c +6 "$E2E_TMP/$side.out" | head -n 1)|$(tail -c 57 "$E2E_TMP/$side.out")"
    printf '' | "${cmd[@]}" >"$E2E_TMP/$side.plain"
    check_eq "$side worker not offered it: the hello of before" "offload-worker 1" \
        "$(tail -c +6 "$E2E_TMP/$side.plain" | head -n 1)"
done

# Both exit cleanly (under the sanitizers: nothing leaked).
stop_process "$EX_PID"
check_eq "the executor exits 0" 0 "$STOP_RC"
stop_process "$GW_PID"
check_eq "the gateway exits 0" 0 "$STOP_RC"

finish
