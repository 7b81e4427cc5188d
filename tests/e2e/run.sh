#!/usr/bin/env bash
# Runs every tests/e2e/test_*.sh (or the ones named on the command line) one
# after another and prints the total number of checks as its last line:
# "N passed, M failed". A test that dies before it reports, or runs past its
# time limit, counts as one more failure. Exits 1 if anything failed.
#
#   OFFLOAD_BIN=build/bin tests/e2e/run.sh [tests/e2e/test_x.sh ...]
set -uo pipefail

dir=$(cd "$(dirname "$0")" && pwd)
limit=${OFFLOAD_E2E_TEST_TIMEOUT:-120}
results=$(mktemp "${TMPDIR:-/tmp}/offload-e2e-results.XXXXXX")
trap 'rm -f "$results"' EXIT

if [ $# -gt 0 ]; then
    tests=("$@")
else
    tests=("$dir"/test_*.sh)
fi

passed=0
failed=0
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    echo "== $name"
    : >"$results"
    OFFLOAD_E2E_RESULTS="$results" timeout -k 5 "$limit" bash "$t" </dev/null
    rc=$?
    if read -r _ p f <"$results"; then
        passed=$((passed + p))
        failed=$((failed + f))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            echo "  FAIL  $name exited with status $rc"
            failed=$((failed + 1))
        fi
    else
        case $rc in
        124 | 137) echo "  FAIL  $name ran past ${limit}s" ;;
        *) echo "  FAIL  $name exited with status $rc before reporting" ;;
        esac
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
