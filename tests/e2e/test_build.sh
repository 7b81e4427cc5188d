#!/usr/bin/env bash
# The build as a packager drives it: make CFLAGS=-O0 -j2 into a fresh build
# directory works (the flags the code needs are not in CFLAGS, so replacing
# CFLAGS keeps them), uses -O0 and not our -O2, and runs protoc-c once.
# shellcheck source=tests/e2e/lib.sh disable=SC2119,SC2317
source "$(dirname "$0")/lib.sh"

unset MAKEFLAGS MFLAGS MAKELEVEL # a make of our own, not a sub-make of make test
dir="$E2E_TMP/build"
make -C "$REPO_ROOT" --no-print-directory "BUILD=$dir" CFLAGS=-O0 -j2 all >"$E2E_TMP/make.log" 2>&1
check_eq "make CFLAGS=-O0 -j2 builds" 0 "$?" || tail -n 20 "$E2E_TMP/make.log" >&2
check_eq "protoc-c ran once under -j2" 1 "$(grep -c '^protoc-c ' "$E2E_TMP/make.log")"
check "the compiles use -O0" grep -q -- ' -O0 .*-c gateway/gateway.c' "$E2E_TMP/make.log"
check "and keep -std=c11 and the warnings" \
    grep -q -- '-std=c11 .*-Wall -Wextra -Werror.*-c gateway/gateway.c' "$E2E_TMP/make.log"
check "not our default -O2" sh -c "! grep -q -- '-O2' '$E2E_TMP/make.log'"
for b in offload-gateway offload-executor offload unit-tests; do
    check "builds $b" test -x "$dir/bin/$b"
done
make -C "$REPO_ROOT" --no-print-directory "BUILD=$dir" CFLAGS=-O0 all >"$E2E_TMP/make2.log" 2>&1
check "a second make has nothing to do" sh -c "! grep -q '^cc ' '$E2E_TMP/make2.log'"
make -C "$REPO_ROOT" --no-print-directory "BUILD=$dir" CFLAGS=-O1 "$dir/obj/common/log.o" \
    >"$E2E_TMP/make3.log" 2>&1
check "changing CFLAGS rebuilds the objects" grep -q -- ' -O1 .*common/log.c' "$E2E_TMP/make3.log"

finish
