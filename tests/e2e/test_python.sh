#!/usr/bin/env bash
# The Python client package (client/python/offload), under pytest against a
# real gateway and executor (tests/python/test_client.py), and installable
# with pip (into a temporary target, offline).
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
start_gateway || abort "gateway starts"
start_executor --connect "$GW_EXECUTORS" --drain-timeout 0 --kill-grace-ms 300 \
    --queue io=threads:64 --queue cpu=processes:1 || abort "executor starts"

OFFLOAD_TEST_CLIENTS="$GW_CLIENTS" OFFLOAD_TEST_HTTP="$GW_URL" \
    PYTHONPATH="$REPO_ROOT/client/python" OFFLOAD_PB2_DIR="$OFFLOAD_BIN/../python" \
    "$PY" -m pytest -q -p no:cacheprovider "$REPO_ROOT/tests/python" >"$E2E_TMP/pytest.out" 2>&1
rc=$?
tail -n 3 "$E2E_TMP/pytest.out" | sed 's/^/  info  /'
check_eq "pytest tests/python passes" 0 "$rc" || cat "$E2E_TMP/pytest.out" >&2

# pip install, offline (Debian's setuptools), into a scratch target: the
# installed package carries its generated offload_pb2.
if "$PY" -m pip --version >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-build-isolation --no-deps --target "$E2E_TMP/site" \
        "$REPO_ROOT/client/python" >"$E2E_TMP/pip.out" 2>&1
    check_eq "pip install client/python works offline" 0 "$?" || cat "$E2E_TMP/pip.out" >&2
    rm -rf "$REPO_ROOT/client/python/build" "$REPO_ROOT/client/python"/*.egg-info
    check "  with offload_pb2 inside the package" test -f "$E2E_TMP/site/offload/offload_pb2.py"
    out=$(cd "$E2E_TMP" && PYTHONPATH="$E2E_TMP/site" "$PY" -c "
import offload
with offload.Client('$GW_CLIENTS') as c:
    print(c.call('io', 'echo', b'installed').decode())")
    check_eq "  and the installed copy calls the gateway" installed "$out"
else
    echo "  info  pip is not installed: the install check is skipped"
fi

finish
