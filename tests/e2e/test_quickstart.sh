#!/usr/bin/env bash
# README.md's quick starts run as written: the C and Python programs it
# shows are examples/quickstart/hello.{c,py} verbatim, built and run with
# the commands it shows (build/ swapped for this build's directory) against
# a real gateway and executor.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
QS="$REPO_ROOT/examples/quickstart"
README="$REPO_ROOT/README.md"

# in_readme FILE: README holds FILE's text, whole, as one block.
in_readme() {
    "$PY" - "$README" "$1" <<'PY'
import sys
readme, text = (open(p).read() for p in sys.argv[1:3])
sys.exit(0 if "\n" + text + "```" in readme else 1)
PY
}
check "README shows examples/quickstart/hello.c verbatim" in_readme "$QS/hello.c"
check "README shows examples/quickstart/hello.py verbatim" in_readme "$QS/hello.py"
for line in 'cc examples/quickstart/hello.c -o build/hello \' \
    '$(PKG_CONFIG_PATH=build/lib/pkgconfig pkg-config --cflags --libs offload)' \
    'build/hello' 'PYTHONPATH=client/python python3 examples/quickstart/hello.py'; do
    check "README says: $line" grep -qxF -- "$line" <(sed 's/^ *//' "$README")
done

start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --queue io=threads:4 || abort "executor starts"
export OFFLOAD_GATEWAY="$GW_CLIENTS"

cd "$REPO_ROOT" || abort "cd $REPO_ROOT"
build=$(cd "$OFFLOAD_BIN/.." && pwd)
# shellcheck disable=SC2046,SC2086
cc examples/quickstart/hello.c -o "$E2E_TMP/hello" \
    $(PKG_CONFIG_PATH="$build/lib/pkgconfig" pkg-config --cflags --libs offload) $SAN_FLAGS \
    2>"$E2E_TMP/cc.err"
check_eq "hello.c builds as the README says" 0 "$?" || cat "$E2E_TMP/cc.err" >&2
check_eq "hello (C) prints the echo" "hello from C" "$("$E2E_TMP/hello" 2>&1)"

PYTHONPATH=client/python OFFLOAD_PB2_DIR="$build/python" "$PY" examples/quickstart/hello.py \
    >"$E2E_TMP/py.out" 2>&1
check_eq "hello.py exits 0" 0 "$?" || cat "$E2E_TMP/py.out" >&2
check_eq "hello.py prints the echo" "hello from Python" "$(head -n 1 "$E2E_TMP/py.out")"
check "hello.py catches offload.Timeout" grep -q "^timeout: " "$E2E_TMP/py.out"
check_eq "the gateway answered 2 echoes and 1 timeout on io" "2 1" \
    "$(queue_field io completed) $(queue_field io timeouts)"

finish
