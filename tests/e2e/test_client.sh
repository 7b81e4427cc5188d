#!/usr/bin/env bash
# liboffload through the offload CLI: jobs over the gateway's clients socket
# (ZeroMQ, no HTTP), their results, their errors and the exit statuses.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

CLI="$OFFLOAD_BIN/offload"
[ -x "$CLI" ] || abort "the offload CLI is built ($CLI)"

start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:4 || abort "executor starts"

out=$("$CLI" call --gateway "$GW_CLIENTS" io echo hello-client)
check_eq "call io echo prints the payload" "hello-client" "$out"

# Binary payload from stdin, NUL bytes included, comes back byte for byte.
head -c 4096 /dev/urandom >"$E2E_TMP/blob"
"$CLI" call --gateway "$GW_CLIENTS" io echo - <"$E2E_TMP/blob" >"$E2E_TMP/blob.out"
check "binary payload from stdin round-trips" cmp -s "$E2E_TMP/blob" "$E2E_TMP/blob.out"

OFFLOAD_GATEWAY="$GW_CLIENTS" "$CLI" call io sleep 50 >/dev/null
check_eq "OFFLOAD_GATEWAY picks the endpoint; sleep exits 0" 0 "$?"

"$CLI" call --gateway "$GW_CLIENTS" --timeout-ms 100 io sleep 2000 2>"$E2E_TMP/err"
check_eq "a job past its deadline exits 6 (timeout)" 6 "$?"
check "its error says timeout" grep -q "offload: timeout:" "$E2E_TMP/err"

"$CLI" call --gateway "$GW_CLIENTS" nosuch echo x 2>"$E2E_TMP/err"
check_eq "an unknown queue exits 4 (refused)" 4 "$?"
check "its error says unknown_queue" grep -q "unknown_queue" "$E2E_TMP/err"

"$CLI" call --gateway "$GW_CLIENTS" io nosuchfn x 2>"$E2E_TMP/err"
check_eq "an unknown function exits 4 (refused)" 4 "$?"
check "its error says unknown_function" grep -q "unknown_function" "$E2E_TMP/err"

"$CLI" call --gateway "$GW_CLIENTS" io sleep abc 2>"$E2E_TMP/err"
check_eq "a failing function exits 1 (failed)" 1 "$?"
check "job_failed passes the function's message on" grep -q "job_failed: sleep: payload" "$E2E_TMP/err"

"$CLI" call --gateway "$GW_CLIENTS" 'bad name' echo x 2>"$E2E_TMP/err"
check_eq "an invalid queue name is a usage error (2)" 2 "$?"
"$CLI" call 2>/dev/null
check_eq "no arguments is a usage error (2)" 2 "$?"


# The library itself, built the way a user builds against it (pkg-config),
# running the example of docs/clients.md.
cat >"$E2E_TMP/example.c" <<'C'
#include <offload.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    offload_client *c = offload_connect(argv[1]);
    if (!c || c->err)
        return 3;
    offload_result *r;
    offload_call_options opts = {.timeout_ms = 2000};
    int status = 0;
    if (offload_call(c, "io", "echo", "hi", 2, &opts, &r) == 0) {
        if (r->code == OFFLOAD_OK)
            fwrite(r->payload, 1, r->len, stdout);
        else
            status = 1;
        offload_result_free(r);
    } else {
        status = 2;
    }
    /* An error comes back as a result with its name and message. */
    if (offload_call(c, "io", "sleep", "abc", 3, NULL, &r) == 0) {
        printf(" %s", r->error);
        offload_result_free(r);
    }
    offload_free(c);
    return status;
}
C
pc_dir="$OFFLOAD_BIN/../lib/pkgconfig"
if PKG_CONFIG_PATH="$pc_dir" pkg-config --exists offload; then
    # shellcheck disable=SC2046
    cc -std=c11 -Wall -Werror "$E2E_TMP/example.c" -o "$E2E_TMP/example" \
        $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs offload) $SAN_FLAGS 2>"$E2E_TMP/cc.err"
    check_eq "a program builds against liboffload with pkg-config" 0 "$?"
    check_eq "the docs example runs: echo, then a job_failed result" "hi job_failed" \
        "$("$E2E_TMP/example" "$GW_CLIENTS")"
else
    fail "pkg-config finds offload in $pc_dir"
fi

check_eq "the gateway counted the 9 client requests" 9 \
    "$(json "$(curl -s "$GW_URL/v1/stats" -o "$E2E_TMP/stats" && echo "$E2E_TMP/stats")" .client_requests)"


# Detached jobs: submit, status, result, cancel.
id=$("$CLI" submit --gateway "$GW_CLIENTS" io sleep 1500)
check_eq "submit prints a job id and exits 0" 0 "$?"
check "  a number ($id)" test "${id:-0}" -gt 0
check_eq "status says running" "$id running" "$("$CLI" status --gateway "$GW_CLIENTS" "$id")"
"$CLI" result --gateway "$GW_CLIENTS" "$id" 2>"$E2E_TMP/err"
check_eq "result before the end exits 8 (not ended)" 8 "$?"
check "  and says so" grep -q "is running" "$E2E_TMP/err"
check_eq "result --wait waits for it" "" "$("$CLI" result --gateway "$GW_CLIENTS" --wait "$id")"
check_eq "  (exit 0)" 0 "$?"
check_eq "status then says done" "$id done" "$("$CLI" status --gateway "$GW_CLIENTS" "$id")"
id=$("$CLI" submit --gateway "$GW_CLIENTS" io echo detached-bytes)
check_eq "result --wait prints the bytes" detached-bytes \
    "$("$CLI" result --gateway "$GW_CLIENTS" --wait "$id")"
id=$("$CLI" submit --gateway "$GW_CLIENTS" io sleep 30000)
check_eq "cancel prints the new state" "$id cancelled cancelled: cancelled by its caller" \
    "$("$CLI" cancel --gateway "$GW_CLIENTS" "$id")"
"$CLI" result --gateway "$GW_CLIENTS" "$id" 2>/dev/null
check_eq "the result of a cancelled job exits 7 (cancelled)" 7 "$?"
"$CLI" status --gateway "$GW_CLIENTS" 99999 2>"$E2E_TMP/err"
check_eq "an unknown job exits 4 (refused)" 4 "$?"
check "  saying unknown_job" grep -q unknown_job "$E2E_TMP/err"
a=$("$CLI" call --gateway "$GW_CLIENTS" --key cli-key-1 io echo first)
b=$("$CLI" call --gateway "$GW_CLIENTS" --key cli-key-1 io echo second)
check_eq "call --key: the second call gets the first job's result" "first first" "$a $b"
"$CLI" submit --gateway "$GW_CLIENTS" nosuch echo x 2>/dev/null
check_eq "a refused submit exits 4" 4 "$?"

# bench: the async API under load.
"$CLI" bench --gateway "$GW_CLIENTS" -c 20 -n 2000 io echo x >"$E2E_TMP/bench.out"
check_eq "bench exits 0" 0 "$?"
check "bench reports 2000 requests, all ok ($(head -n 1 "$E2E_TMP/bench.out"))" \
    grep -q "^2000 requests, 20 in flight, .* ok 2000, failed 0" "$E2E_TMP/bench.out"
check "bench reports p50, p90, p99 and max" grep -Eq "p50 [0-9.]+ +p90 [0-9.]+ +p99 [0-9.]+ +max [0-9.]+" "$E2E_TMP/bench.out"

# queues: the fleet's pools as a table, and as GET /v1/queues's JSON.
"$CLI" queues --gateway "$GW_CLIENTS" >"$E2E_TMP/queues.out"
check_eq "queues exits 0" 0 "$?"
check "queues prints a header row" grep -Eq "^QUEUE +KIND +CAPACITY +BUSY +WAITING +EXECUTORS" \
    "$E2E_TMP/queues.out"
want="io threads 4 0 0 1 $(queue_field io completed) $(queue_field io failed)"
check_eq "queues prints io's row (kind, capacity, busy, waiting, executors, completed, failed)" \
    "$want" "$(awk '$1 == "io" { print $1, $2, $3, $4, $5, $6, $7, $8 }' "$E2E_TMP/queues.out")"
"$CLI" queues --gateway "$GW_CLIENTS" --json >"$E2E_TMP/queues.json"
check_eq "queues --json is GET /v1/queues's document" "io 4 threads" \
    "$(json "$E2E_TMP/queues.json" '.queues[] | select(.name == "io") | "\(.name) \(.capacity) \(.kind)"')"
"$CLI" queues --gateway "$GW_CLIENTS" extra >/dev/null 2>&1
check_eq "queues with an argument exits 2" 2 "$?"

# --help on every command; unknown ones are usage errors.
for cmd in call submit status result cancel queues bench; do
    "$CLI" "$cmd" --help >"$E2E_TMP/help" 2>&1
    rc=$?
    check "offload $cmd --help says its usage" \
        grep -q "usage: offload $cmd" "$E2E_TMP/help"
    check_eq "offload $cmd --help exits 0" 0 "$rc"
done
"$CLI" frobnicate 2>/dev/null
check_eq "an unknown command exits 2" 2 "$?"
"$CLI" status --gateway "$GW_CLIENTS" notanumber 2>/dev/null
check_eq "a job id that is not a number exits 2" 2 "$?"

finish
