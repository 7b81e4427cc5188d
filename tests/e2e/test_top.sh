#!/usr/bin/env bash
# offload top: the plain tables when stdout is not a terminal, and the live
# screen on a real terminal: tmux (a private server on its own socket, never
# the user's) runs it in a detached session of a fixed size, send-keys types
# and capture-pane reads the screen. Checks the queues' numbers, that they
# move under load (one bench process), the sort mark, pause, the interval
# keys, a resize, q / SIGTERM / Ctrl-C restoring the terminal, and the
# "gateway not answering" line once the gateway is killed.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

CLI="$OFFLOAD_BIN/offload"
[ -x "$CLI" ] || abort "the offload CLI is built ($CLI)"
command -v tmux >/dev/null || skip "no tmux (scripts/deps.sh installs it)"

start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue alpha=threads:2 --queue io=threads:4 \
    --queue zzz=threads:2 || abort "executor starts"
wait_until 10 queue_is zzz capacity 2 || abort "the executor's queues are listed"

# cell FILE ROW COLUMN: the value in COLUMN (its head, without the sort
# mark) of the queue table's row ROW in a screen or plain output FILE; the
# table starts at its head line (QUEUE ...) and ends at a blank line.
cell() {
    awk -v row="$2" -v col="$3" '
        /^QUEUE/ { idx = 0; n = split($0, h, " ")
                   for (i = 1; i <= n; i++) { c = h[i]; sub(/\*$/, "", c); if (c == col) idx = i }
                   on = 1; next }
        on && NF == 0 { on = 0 }
        on && $1 == row && idx { print $idx; exit }' "$1"
}

# ---- not a terminal ----------------------------------------------------------------

"$CLI" top --gateway "$GW_CLIENTS" >"$E2E_TMP/plain" 2>"$E2E_TMP/plain.err"
check_eq "top to a pipe prints once and exits 0" 0 "$?"
check "its first line names the gateway" grep -q "^offload top .*$GW_CLIENTS" "$E2E_TMP/plain"
check_eq "one table" 1 "$(grep -c '^QUEUE' "$E2E_TMP/plain")"
check_eq "io's capacity is 4" 4 "$(cell "$E2E_TMP/plain" io CAP)"
check_eq "zzz's capacity is 2" 2 "$(cell "$E2E_TMP/plain" zzz CAP)"
check_eq "alpha's kind is threads" threads "$(cell "$E2E_TMP/plain" alpha KIND)"
check_eq "no rate from one poll" - "$(cell "$E2E_TMP/plain" io JOBS/S)"
check "no key help in the plain output" sh -c "! grep -q 'q quit' '$E2E_TMP/plain'"

"$CLI" top --gateway "$GW_CLIENTS" --iterations 2 --interval-ms 100 --sort busy \
    >"$E2E_TMP/plain2" 2>&1
check_eq "--iterations 2 exits 0" 0 "$?"
check_eq "--iterations 2 prints two tables" 2 "$(grep -c '^QUEUE' "$E2E_TMP/plain2")"
check "--sort busy marks BUSY" grep -q '^QUEUE .* BUSY\*' "$E2E_TMP/plain2"
check "the second table has a rate (0.0 for idle io)" grep -Eq '^io .* 0\.0 ' "$E2E_TMP/plain2"

"$CLI" top --gateway tcp://127.0.0.1:1 --once >/dev/null 2>"$E2E_TMP/down.err"
check_eq "--once against no gateway exits 3" 3 "$?"
check "and says the gateway did not answer" grep -q "did not answer" "$E2E_TMP/down.err"
"$CLI" top --interval-ms 50 2>"$E2E_TMP/usage.err"
check_eq "--interval-ms under 100 is a usage error" 2 "$?"
check "it names the bounds" grep -q "100..60000" "$E2E_TMP/usage.err"
"$CLI" top --sort nosuch 2>/dev/null
check_eq "an unknown --sort column is a usage error" 2 "$?"
check "offload top --help lists the keys" sh -c "'$CLI' top --help | grep -q 'q quit'"
check "offload --help lists top" sh -c "'$CLI' --help | grep -q '^  top '"

# ---- a terminal: tmux --------------------------------------------------------------

TMUX_SOCK="offload-e2e-top-$$"
TM=(tmux -L "$TMUX_SOCK" -f "$E2E_TMP/tmux.conf")
# Panes stay after their program ends (capture-pane reads what it left);
# bash runs each pane's command, so Ctrl-C ends only the program in it.
printf '%s\n' 'set -g remain-on-exit on' 'set -g default-shell /bin/bash' \
    'set -g default-terminal screen' >"$E2E_TMP/tmux.conf"
top_cleanup() {
    "${TM[@]}" kill-server 2>/dev/null
    cleanup
}
trap top_cleanup EXIT

# pane_cmd [FLAGS]: what runs in a pane: top (with FLAGS), then its exit
# status and the terminal's modes once it ended (a program that left the
# terminal raw shows -icanon -echo).
pane_cmd() {
    # shellcheck disable=SC2028 # the \n are tr's, in the pane
    echo "'$CLI' top --gateway '$GW_CLIENTS' --interval-ms 200 $*; echo EXITED \$?;" \
        "stty -a | tr ' ;' '\n\n' | grep -E '^-?(icanon|echo)\$' | tr '\n' ' '; echo MODES"
}

# cap SESSION: its screen into $E2E_TMP/SESSION.screen, with the history
# above it (once the program ended, tmux's "Pane is dead" line at the bottom
# may scroll the first line there; a full-screen program draws on the
# alternate screen, which has none).
cap() {
    "${TM[@]}" capture-pane -p -S - -t "$1" >"$E2E_TMP/$1.screen" 2>/dev/null
}
# shows SESSION PATTERN: the screen has a line matching PATTERN (grep -E).
shows() {
    cap "$1" && grep -Eq -- "$2" "$E2E_TMP/$1.screen"
}
# cell_is SESSION ROW COLUMN OP N: that cell compares to N (test OP).
cell_is() {
    local v
    cap "$1" && v=$(cell "$E2E_TMP/$1.screen" "$2" "$3") && [[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]] &&
        awk -v v="$v" -v n="$5" -v op="$4" 'BEGIN { exit !(op == "-gt" ? v > n : op == "-ge" ? v >= n : v == n) }'
}
# line_of SESSION WORD: the number of the first screen line starting with WORD.
line_of() {
    grep -n -m1 "^$2 " "$E2E_TMP/$1.screen" | cut -d: -f1
}
# top_pid SESSION: the pid of top in that pane (the pane's bash's child).
top_pid() {
    ps -o pid= --ppid "$("${TM[@]}" display -p -t "$1" '#{pane_pid}')" | tr -d ' '
}

"${TM[@]}" new-session -d -s top -x 160 -y 40 "$(pane_cmd)" || abort "tmux starts a session"
PIDS+=("$("${TM[@]}" display -p '#{pid}')")
check "the table comes up with io's capacity" wait_until 15 cell_is top io CAP -eq 4
check "zzz's capacity" cell_is top zzz CAP -eq 2
check "the header names the gateway" shows top "^offload top .*$GW_CLIENTS"
check "the key line says the sort" shows top "^sort: name .*q quit"
check "the sort mark is on QUEUE" shows top '^QUEUE\* '
check "the executors table or its note is there" shows top '^EXECUTOR|does not list its executors'

# Two jobs that outlast the test hold zzz's two slots: busy 2, steadily.
for _ in 1 2; do
    "$CLI" submit --gateway "$GW_CLIENTS" zzz sleep 600000 >/dev/null || abort "submit a holding job"
done
check "zzz shows busy 2" wait_until 15 cell_is top zzz BUSY -eq 2
check "the header's total counts them" shows top 'busy [2-9]/8'

# Load from one process, far longer than the test looks at it.
"$CLI" bench --gateway "$GW_CLIENTS" -c 4 -n 5000000 io echo x >/dev/null 2>&1 &
BENCH_PID=$!
PIDS+=("$BENCH_PID")
check "io's completed count moves on screen" wait_until 20 cell_is top io COMPLETED -gt 0
cap top
done0=$(cell "$E2E_TMP/top.screen" io COMPLETED)
check "and moves again, on the next polls" wait_until 20 cell_is top io COMPLETED -gt "$done0"
check "io shows a throughput (JOBS/S > 0)" wait_until 20 cell_is top io JOBS/S -gt 0
check "io shows a busy slot under load" wait_until 20 cell_is top io BUSY -ge 1
check "the header's jobs/s is a number" shows top 'jobs/s [0-9]'

# The fields other gateways may lack: shown when /v1/queues has them, "-"
# or a note when it does not.
curl -s -m 5 -o "$E2E_TMP/queues.json" "$GW_URL/v1/queues"
wait99=$(json "$E2E_TMP/queues.json" '.queues[] | select(.name == "io") | .wait_us.p99')
cap top
if [[ $wait99 =~ ^[0-9]+$ ]]; then
    check "io's WAIT99 is a duration (the gateway says $wait99 us)" \
        grep -Eq '^[0-9.]+(us|ms|s)$' <<<"$(cell "$E2E_TMP/top.screen" io WAIT99)"
else
    check_eq "io's WAIT99 is - (the gateway has no wait_us)" - "$(cell "$E2E_TMP/top.screen" io WAIT99)"
fi
exec_id=$(json "$E2E_TMP/queues.json" '.executors[0].id // empty')
if [ -n "$exec_id" ]; then
    check "the executors table lists $exec_id" grep -Eq "^$exec_id " "$E2E_TMP/top.screen"
else
    check "no executors listed: a note says so" grep -q 'does not list its executors' \
        "$E2E_TMP/top.screen"
fi

# s cycles the sort column: QUEUE, KIND, CAP, BUSY.
"${TM[@]}" send-keys -t top s
check "s moves the sort mark to KIND" wait_until 10 shows top '^QUEUE +KIND\* '
"${TM[@]}" send-keys -t top s s
check "two more to BUSY" wait_until 10 shows top '^QUEUE .* BUSY\* '
check "the key line says busy" shows top '^sort: busy'
cap top
check "sorted by busy: zzz (2) above alpha (0)" \
    test "$(line_of top zzz)" -lt "$(line_of top alpha)"
"${TM[@]}" send-keys -t top S S S
check "S goes back to QUEUE" wait_until 10 shows top '^QUEUE\* '
cap top
check "sorted by name: alpha above zzz" test "$(line_of top alpha)" -lt "$(line_of top zzz)"

# p pauses the polls (the screen is still redrawn: its clock goes on).
"${TM[@]}" send-keys -t top p
check "p: the header says PAUSED" wait_until 10 shows top '^offload top +PAUSED'
cap top
paused_done=$(cell "$E2E_TMP/top.screen" io COMPLETED)
clock() { cap top && awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]$/) print $i }' "$E2E_TMP/top.screen"; }
t0=$(clock)
clock_moved() { local t; t=$(clock); [ -n "$t" ] && [ "$t" != "$1" ]; }
# Two ticks of the clock: over a second, 5 polls had it not paused.
wait_until 10 clock_moved "$t0"
t1=$(clock)
wait_until 10 clock_moved "$t1"
check "the gateway's count went on meanwhile" test "$(queue_field io completed)" -gt "$paused_done"
check "paused: io's completed stays on screen" cell_is top io COMPLETED -eq "$paused_done"
"${TM[@]}" send-keys -t top p
check "p again resumes: the count moves" wait_until 10 cell_is top io COMPLETED -gt "$paused_done"
check "PAUSED is gone" sh -c "! grep -q PAUSED '$E2E_TMP/top.screen'"

# + and - step the interval: 200 -> 250 -> 200.
"${TM[@]}" send-keys -t top +
check "+ lengthens the interval to 250 ms" wait_until 10 shows top 'every 250ms'
"${TM[@]}" send-keys -t top -
check "- shortens it back to 200 ms" wait_until 10 shows top 'every 200ms'

# A narrower window: the least needed columns go, the table fits the width.
check "at 160 columns RUN50 is shown" shows top '^QUEUE.* RUN50'
"${TM[@]}" resize-window -t top -x 80 -y 24
head_without_run50() {
    cap top && grep '^QUEUE' "$E2E_TMP/top.screen" | grep -vq RUN50
}
check "at 80 columns RUN50 is left out" wait_until 10 head_without_run50
check "and BUSY, WAITING, COMPLETED, JOBS/S stay" \
    grep -Eq '^QUEUE.* BUSY .*WAITING .*COMPLETED +JOBS/S' "$E2E_TMP/top.screen"
check "io's row is still read right" cell_is top io CAP -eq 4
head_len=$("${TM[@]}" capture-pane -p -N -t top | grep '^QUEUE' | awk '{ print length($0) }')
check_eq "the column head fills the 80 columns" 80 "$head_len"
"${TM[@]}" resize-window -t top -x 160 -y 40
check "back at 160 columns RUN50 returns" wait_until 10 shows top '^QUEUE.* RUN50'

# q quits: exit 0, the terminal as it was (line mode, echo; the table gone).
"${TM[@]}" send-keys -t top q
check "q: top exits 0" wait_until 15 shows top '^EXITED 0$'
wait_until 5 shows top 'MODES$'
check "the terminal is restored (icanon echo)" shows top '^icanon echo MODES$'
check "the full-screen table is gone" sh -c "! grep -q '^QUEUE' '$E2E_TMP/top.screen'"

# Ctrl-C ends it the same way.
"${TM[@]}" new-session -d -s intr -x 120 -y 30 "$(pane_cmd)"
check "a second top comes up" wait_until 15 cell_is intr io CAP -eq 4
"${TM[@]}" send-keys -t intr C-c
check "Ctrl-C: top exits 0" wait_until 15 shows intr '^EXITED 0$'
wait_until 5 shows intr 'MODES$'
check "the terminal is restored after Ctrl-C" shows intr '^icanon echo MODES$'

# --iterations N on a terminal: N polls, then exit 0.
"${TM[@]}" new-session -d -s iter -x 120 -y 30 "$(pane_cmd --iterations 3)"
check "--iterations 3 on a terminal ends by itself, 0" wait_until 15 shows iter '^EXITED 0$'
wait_until 5 shows iter 'MODES$'
check "the terminal is restored after it" shows iter '^icanon echo MODES$'

# The gateway killed: top keeps drawing and says since when it is gone;
# SIGTERM then ends it cleanly.
"${TM[@]}" new-session -d -s down -x 120 -y 30 "$(pane_cmd)"
check "a third top comes up" wait_until 15 cell_is down zzz CAP -eq 2
kill -KILL "$BENCH_PID" 2>/dev/null
wait "$BENCH_PID" 2>/dev/null
kill -KILL "$GW_PID"
wait "$GW_PID" 2>/dev/null
check "the gateway killed: 'gateway not answering since'" \
    wait_until 20 shows down '^gateway not answering since [0-9:]+ \([0-9]+s\)'
check "the last tables stay, with their time" shows down 'the tables are from [0-9:]+'
check "top is still running" test "$("${TM[@]}" display -p -t down '#{pane_dead}')" = 0
pid=$(top_pid down)
check "top's pid is found" test -n "$pid"
[ -n "$pid" ] && kill -TERM "$pid"
check "SIGTERM: top exits 0" wait_until 15 shows down '^EXITED 0$'
wait_until 5 shows down 'MODES$'
check "the terminal is restored after SIGTERM" shows down '^icanon echo MODES$'

finish
