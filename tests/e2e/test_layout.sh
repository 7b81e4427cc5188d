#!/usr/bin/env bash
# The source layout (issue 16): no source file over 700 lines, no include
# cycle between the modules of a component, the gateway's core includes no
# front (scripts/check_layout.py); and README.md is a front door: under 300
# lines, linking every file of docs/. The checker is first shown to catch
# what it is for, on a small tree made here.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
CHECK="$REPO_ROOT/scripts/check_layout.py"

# A tree that breaks each rule once.
bad="$E2E_TMP/bad"
mkdir -p "$bad"/{gateway,executor,client,common,proto}
printf '#include "b.h"\n' >"$bad/gateway/a.c"
printf '#include "a.h"\n' >"$bad/gateway/b.h"
: >"$bad/gateway/a.h"
printf '#include "http.h"\n' >"$bad/gateway/core.h"
seq 701 | sed 's/^/int x/' >"$bad/executor/long.c"
out=$("$PY" "$CHECK" "$bad")
check_eq "the checker fails a bad tree" 1 "$?"
check "it names the cycle" grep -q 'gateway/: include cycle between modules a <-> b' <<<"$out"
check "it names the long file" grep -q 'executor/long.c: 701 lines' <<<"$out"
check "it names the core including a front" grep -q 'gateway/core.h includes http.h' <<<"$out"

out=$("$PY" "$CHECK" "$REPO_ROOT")
check_eq "this tree keeps the layout rules" 0 "$?" || echo "$out" | sed 's/^/        /'

lines=$(wc -l <"$REPO_ROOT/README.md")
check "README.md is under 300 lines ($lines)" test "$lines" -lt 300
for f in "$REPO_ROOT"/docs/*.md; do
    name=docs/$(basename "$f")
    check "README.md links $name" grep -q "($name" "$REPO_ROOT/README.md"
done

finish
